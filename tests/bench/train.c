/* bench-train — the training and generation targets of issue 6, each as a
 * ratio to a baseline measured in the same run:
 *   1. full fine-tuning of a GPT-2-style model (d=768, 6 layers, T=256,
 *      batch 4): tokens/s, and achieved FLOP/s (6·params·tokens plus
 *      attention, PaLM's count) as a fraction of OpenBLAS sgemm throughput on
 *      the model's own largest product (target ≥ 40%);
 *   2. the same with LoRA (r=8 on c_attn, c_proj, c_fc): tokens/s and peak RSS
 *      as a fraction of full fine-tuning's (target ≤ 0.6); each configuration
 *      runs in its own child process so peak RSS is its own;
 *   3. generation of 256 new tokens with the KV cache against recomputing the
 *      prefix at each token (target ≥ 5×), on a 2-layer model of the same
 *      width so the baseline finishes in reasonable time.
 * With RK_TORCH_PYTHON set to a Python that has torch, the same model is
 * trained by PyTorch (tests/bench/train_torch.py) on the same thread count
 * and its tokens/s is printed as a ratio (target ≥ 1.0×).
 * The model is random: written as a Hugging Face directory under $TMPDIR and
 * loaded like any other. */
#define _GNU_SOURCE
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "raftkit/model.h"
#include "raftkit/optim.h"
#include "raftkit/safetensors.h"

enum { V = 50257, C = 768, NPOS = 1024, B = 4, T = 256, STEPS = 4 };

static void die(const char *what, const rk_error *e) {
    fprintf(stderr, "bench-train: %s: %s\n", what, e ? e->msg : "");
    exit(1);
}

static float *randn(size_t n, float scale) {
    float *v = malloc(n * sizeof *v);
    if (!v) die("out of memory", NULL);
    for (size_t i = 0; i < n; i++)
        v[i] = scale * ((float)(next() >> 40) / (float)(1 << 24) - 0.5f);
    return v;
}

/* A random GPT-2 model directory with L layers. */
static void write_gpt2(const char *dir, int L) {
    char path[600];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) die(path, NULL);
    fprintf(f,
            "{\"model_type\": \"gpt2\", \"vocab_size\": %d, \"n_embd\": %d, \"n_layer\": %d, \"n_head\": 12, "
            "\"n_positions\": %d, \"n_inner\": null, \"layer_norm_epsilon\": 1e-5, "
            "\"activation_function\": \"gelu_new\", \"bos_token_id\": 50256, \"eos_token_id\": 50256}\n",
            V, C, L, NPOS);
    fclose(f);
    rk_st_out *t = calloc((size_t)(4 + 12 * L), sizeof *t);
    char(*names)[96] = calloc((size_t)(4 + 12 * L), 96);
    size_t n = 0;
#define ADD(nm, d0, d1)                                                                                      \
    do {                                                                                                     \
        snprintf(names[n], 96, "%s", nm);                                                                    \
        t[n] = (rk_st_out){names[n], RK_F32, (d1) ? 2 : 1, {(d0), (d1)}, NULL};                              \
        t[n].data = randn((size_t)(d0) * (size_t)((d1) ? (d1) : 1), 0.04f);                                  \
        n++;                                                                                                 \
    } while (0)
    ADD("transformer.wte.weight", V, C);
    ADD("transformer.wpe.weight", NPOS, C);
    ADD("transformer.ln_f.weight", C, 0);
    ADD("transformer.ln_f.bias", C, 0);
    for (int l = 0; l < L; l++) {
        char nm[96];
        const struct {
            const char *name;
            int d0, d1;
        } p[12] = {{"ln_1.weight", C, 0},
                   {"ln_1.bias", C, 0},
                   {"attn.c_attn.weight", C, 3 * C},
                   {"attn.c_attn.bias", 3 * C, 0},
                   {"attn.c_proj.weight", C, C},
                   {"attn.c_proj.bias", C, 0},
                   {"ln_2.weight", C, 0},
                   {"ln_2.bias", C, 0},
                   {"mlp.c_fc.weight", C, 4 * C},
                   {"mlp.c_fc.bias", 4 * C, 0},
                   {"mlp.c_proj.weight", 4 * C, C},
                   {"mlp.c_proj.bias", C, 0}};
        for (int k = 0; k < 12; k++) {
            snprintf(nm, sizeof nm, "transformer.h.%d.%s", l, p[k].name);
            ADD(nm, p[k].d0, p[k].d1);
        }
    }
#undef ADD
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    rk_error e;
    if (rk_st_write(path, t, n, NULL, &e)) die("write model", &e);
    for (size_t i = 0; i < n; i++)
        free((void *)t[i].data);
    free(t);
    free(names);
}

/* OpenBLAS sgemm GFLOP/s on the MLP's up-projection: [B*T, C] x [C, 4C]. */
static double sgemm_gflops(void) {
    int M = B * T, K = C, N = 4 * C;
    float *a = randn((size_t)M * K, 1), *b = randn((size_t)K * N, 1), *c = calloc((size_t)M * N, sizeof *c);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a, K, b, N, 0, c, N);
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a, K, b, N, 0, c, N);
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    free(a), free(b), free(c);
    return 2.0 * M * N * K / best / 1e9;
}

typedef struct result {
    double tokens_per_s, gflops, params, peak_rss_mb;
} result;

/* Trains STEPS steps (after one warm-up step) in this process. */
static result train(const char *dir, int lora) {
    rk_model *m;
    rk_error e;
    if (rk_model_load(dir, &m, &e)) die("load", &e);
    size_t total_params = 0;
    for (size_t i = 0; i < rk_model_nparams(m); i++)
        total_params += rk_model_param(m, i)->n;
    if (lora) {
        rk_lora_opts o = {.r = 8, .alpha = 16, .targets = "c_attn,c_proj,c_fc", .seed = 1};
        if (rk_model_lora_add(m, &o, &e)) die("lora", &e);
    }
    size_t n;
    float *p = rk_model_params(m, &n), *g = rk_model_grads(m, &n);
    rk_adamw opt;
    if (rk_adamw_init(&opt, n, &e)) die("adamw", &e);
    int32_t *tok = malloc(sizeof(int32_t) * B * T), *tgt = malloc(sizeof(int32_t) * B * T);
    for (int i = 0; i < B * T; i++)
        tok[i] = (int32_t)(next() % V), tgt[i] = (int32_t)(next() % V);
    double t0 = 0;
    for (int s = 0; s <= STEPS; s++) {
        if (s == 1) t0 = now(); /* step 0 allocates and warms up */
        float loss;
        rk_model_zero_grad(m);
        if (rk_model_forward(m, tok, tgt, B, T, &loss, &e) || rk_model_backward(m, 1, &e)) die("step", &e);
        rk_clip_grad_norm(g, n, 1.0);
        rk_adamw_step(&opt, p, g, NULL, 1e-4f, 0);
    }
    double dt = now() - t0, tokens = (double)STEPS * B * T;
    const rk_model_config *cfg = rk_model_cfg(m);
    /* PaLM's count: 6 FLOPs per parameter per token, plus attention's 12·L·C·T. */
    double flops_per_token = 6.0 * (double)total_params + 12.0 * cfg->n_layer * cfg->hidden * T;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    result r = {tokens / dt, flops_per_token * tokens / dt / 1e9, (double)total_params,
                ru.ru_maxrss / 1024.0};
    rk_adamw_free(&opt);
    rk_model_free(m);
    free(tok), free(tgt);
    return r;
}

/* Runs train() in a child so that its peak RSS is its own. */
static result train_child(const char *dir, int lora) {
    int fd[2];
    if (pipe(fd)) die("pipe", NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        result r = train(dir, lora);
        ssize_t w = write(fd[1], &r, sizeof r);
        _exit(w == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fd[1]);
    result r = {0};
    ssize_t got = read(fd[0], &r, sizeof r);
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    if (got != (ssize_t)sizeof r || !WIFEXITED(st) || WEXITSTATUS(st)) die("training child failed", NULL);
    return r;
}

/* Seconds to generate `gen` tokens greedily after a 16-token prompt. */
static double generate_s(rk_model *m, int gen, int cached) {
    float *logits = malloc(sizeof(float) * V);
    int32_t seq[NPOS];
    for (int i = 0; i < 16; i++)
        seq[i] = (int32_t)(next() % V);
    rk_error e;
    double t0 = now();
    int n = 16;
    for (int k = 0; k < gen; k++) {
        if (cached) {
            if (rk_model_step(m, k ? seq + n - 1 : seq, k ? 1 : n, k ? n - 1 : 0, logits, &e))
                die("step", &e);
        } else {
            if (rk_model_forward(m, seq, NULL, 1, n, NULL, &e)) die("forward", &e);
            memcpy(logits, rk_model_logits(m) + (size_t)(n - 1) * V, sizeof(float) * V);
        }
        int best = 0;
        for (int i = 1; i < V; i++)
            if (logits[i] > logits[best]) best = i;
        seq[n++] = best;
    }
    free(logits);
    return now() - t0;
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    char dir[512], small[600];
    snprintf(dir, sizeof dir, "%s/rk-bench-train-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) die("mkdtemp", NULL);
    snprintf(small, sizeof small, "%s/small", dir);
    if (mkdir(small, 0777)) die(small, NULL);
    printf("bench-train: %d threads; GPT-2-style d=%d, 6 layers, vocab %d, T=%d, batch %d\n",
           omp_get_max_threads(), C, V, T, B);
    write_gpt2(dir, 6);
    write_gpt2(small, 2);

    /* The children first: libgomp cannot fork once this process has run a
     * parallel region (sgemm's), the child's threads would never start. */
    result full = train_child(dir, 0), lora = train_child(dir, 1);
    double blas = sgemm_gflops();
    printf("OpenBLAS sgemm [%d x %d] x [%d x %d]: %.1f GFLOP/s\n", B * T, C, C, 4 * C, blas);
    printf("%-6s %12s %10s %14s %12s\n", "method", "tokens/s", "GFLOP/s", "of sgemm", "peak RSS MB");
    printf("%-6s %12.0f %10.1f %13.0f%% %12.0f\n", "full", full.tokens_per_s, full.gflops,
           100 * full.gflops / blas, full.peak_rss_mb);
    printf("%-6s %12.0f %10.1f %13.0f%% %12.0f\n", "lora", lora.tokens_per_s, lora.gflops,
           100 * lora.gflops / blas, lora.peak_rss_mb);
    printf("full fine-tuning at %.0f%% of sgemm: %s (target >= 40%%)\n", 100 * full.gflops / blas,
           full.gflops / blas >= 0.4 ? "met" : "NOT MET");
    double rss = lora.peak_rss_mb / full.peak_rss_mb;
    printf("LoRA peak RSS %.2fx full: %s (target <= 0.6x)\n", rss, rss <= 0.6 ? "met" : "NOT MET");

    const char *py = getenv("RK_TORCH_PYTHON");
    if (py && *py) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd,
                 "%s %s/tests/bench/train_torch.py --model %s --batch %d --seq %d --steps %d", py,
                 RK_SOURCE_DIR, dir, B, T, STEPS);
        FILE *p = popen(cmd, "r");
        double torch_tps = 0;
        if (p && fscanf(p, "%lf", &torch_tps) == 1 && torch_tps > 0)
            printf("PyTorch: %.0f tokens/s; raftkit %.2fx: %s (target >= 1.0x)\n", torch_tps,
                   full.tokens_per_s / torch_tps, full.tokens_per_s >= torch_tps ? "met" : "NOT MET");
        else
            printf("PyTorch: %s did not report tokens/s\n", py);
        if (p) pclose(p);
    } else {
        printf("PyTorch: not measured (set RK_TORCH_PYTHON to a Python with torch)\n");
    }

    rk_model *m;
    rk_error e;
    if (rk_model_load(small, &m, &e)) die("load", &e);
    generate_s(m, 4, 1); /* warm up */
    double cached = generate_s(m, 256, 1), uncached = generate_s(m, 256, 0);
    printf("generation, 256 new tokens (2 layers): KV cache %.2f s, recomputing the prefix %.2f s: %.1fx %s "
           "(target >= 5x)\n",
           cached, uncached, uncached / cached, uncached / cached >= 5 ? "met" : "NOT MET");
    rk_model_free(m);
    char rm[600];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    return system(rm) != 0;
}
