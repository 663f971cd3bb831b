/* Unit tests for model/model.c, against the PyTorch fixtures written by
 * tests/parity/make_models.py (tiny random GPT-2, Llama with GQA and Llama 3
 * rope scaling, Qwen2 with q/k/v bias and tied embeddings): logits, loss and
 * every gradient, full and LoRA; ten AdamW steps; KV-cache decoding and
 * greedy generation; LoRA and model save/load round trips and merging;
 * dropout against finite differences; and the refusals of bad inputs.
 *
 * With RK_PARITY_OUT=dir set, test parity_out also writes, for each model, a
 * LoRA adapter made and trained here plus the logits it gives, for
 * tests/parity/check_adapter.py to load with peft. */
#include "helpers.h" /* first: it defines _GNU_SOURCE */

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>

#include "raftkit/model.h"
#include "raftkit/safetensors.h"

#define FIXTURES RK_SOURCE_DIR "/tests/parity/fixtures/models"
static const char *const MODELS[] = {"gpt2", "llama_gqa", "qwen2_bias"};

/* ---- fixtures ---- */

typedef struct fixture {
    char dir[512];
    rk_safetensors *st; /* expected.safetensors */
    int B, T;
    int32_t *tokens;  /* (B, T) */
    int32_t *targets; /* (B, T): the labels shifted left, -1 at the end and where HF has -100 */
} fixture;

static float *fx_get(const fixture *f, const char *name, size_t *n) {
    const rk_st_tensor *t = rk_st_find(f->st, name);
    cr_assert(t, "%s: expected.safetensors has no \"%s\"", f->dir, name);
    size_t cnt = 1;
    for (int i = 0; i < t->ndim; i++)
        cnt *= (size_t)t->shape[i];
    float *v = malloc(cnt * sizeof *v);
    rk_error e = {0};
    cr_assert_eq(rk_st_read_f32(t, v, cnt, &e), RK_OK, "%s", e.msg);
    if (n) *n = cnt;
    return v;
}

static int32_t *fx_ids(const fixture *f, const char *name, size_t *n) {
    float *v = fx_get(f, name, n);
    int32_t *ids = malloc(*n * sizeof *ids);
    for (size_t i = 0; i < *n; i++)
        ids[i] = (int32_t)v[i];
    free(v);
    return ids;
}

static fixture fx_open(const char *name) {
    fixture f = {0};
    snprintf(f.dir, sizeof f.dir, "%s/%s", FIXTURES, name);
    char path[600];
    snprintf(path, sizeof path, "%s/expected.safetensors", f.dir);
    rk_error e = {0};
    cr_assert_eq(rk_st_open(path, &f.st, &e), RK_OK, "%s", e.msg);
    const rk_st_tensor *t = rk_st_find(f.st, "input_ids");
    cr_assert(t && t->ndim == 2);
    f.B = (int)t->shape[0];
    f.T = (int)t->shape[1];
    size_t n;
    f.tokens = fx_ids(&f, "input_ids", &n);
    int32_t *labels = fx_ids(&f, "labels", &n);
    f.targets = malloc(n * sizeof *f.targets);
    for (int b = 0; b < f.B; b++)
        for (int t2 = 0; t2 < f.T; t2++)
            f.targets[b * f.T + t2] = t2 + 1 < f.T ? labels[b * f.T + t2 + 1] : -1;
    free(labels);
    return f;
}

static void fx_close(fixture *f) {
    rk_st_close(f->st);
    free(f->tokens);
    free(f->targets);
}

static rk_model *load_ok(const char *dir) {
    rk_model *m = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_model_load(dir, &m, &e), RK_OK, "%s: %s", dir, e.msg);
    return m;
}

static void lora_load_ok(rk_model *m, const char *dir) {
    rk_error e = {0};
    cr_assert_eq(rk_model_lora_load(m, dir, &e), RK_OK, "%s: %s", dir, e.msg);
}

static float forward_ok(rk_model *m, const fixture *f) {
    float loss = NAN;
    rk_error e = {0};
    cr_assert_eq(rk_model_forward(m, f->tokens, f->targets, f->B, f->T, &loss, &e), RK_OK, "%s", e.msg);
    return loss;
}

/* max |a - ref| / max |ref|: differences measured against the tensor's scale,
 * so that elements near zero do not dominate. */
static double rel_diff(const float *a, const float *ref, size_t n) {
    double md = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - ref[i]);
        if (d > md || isnan(d)) md = isnan(d) ? INFINITY : d;
        if (fabs(ref[i]) > mx) mx = fabs(ref[i]);
    }
    return md / (mx > 0 ? mx : 1.0);
}

static void expect_close(const char *what, const char *name, const float *a, const float *ref, size_t n,
                         double tol) {
    double d = rel_diff(a, ref, n);
    printf("  %-10s %-62s rel diff %.2e\n", what, name, d);
    cr_expect(d <= tol, "%s %s: relative difference %.3e above %.0e", what, name, d, tol);
}

/* ---- logits, loss and gradients ---- */

/* Forward and backward on the fixture batch against PyTorch's numbers under
 * prefix ("" for the base model, "lora." with the fixture's PEFT adapter). */
static void check_parity(const char *name, int lora) {
    fixture f = fx_open(name);
    rk_model *m = load_ok(f.dir);
    const char *pre = lora ? "lora." : "";
    char key[256], adir[600];
    if (lora) {
        snprintf(adir, sizeof adir, "%s/adapter", f.dir);
        lora_load_ok(m, adir);
    }
    printf("%s%s:\n", name, lora ? " + LoRA" : "");
    float loss = forward_ok(m, &f);
    size_t n;
    snprintf(key, sizeof key, "%slogits", pre);
    float *want = fx_get(&f, key, &n);
    cr_assert_eq(n, (size_t)f.B * f.T * rk_model_cfg(m)->vocab_size);
    expect_close("logits", key, rk_model_logits(m), want, n, 1e-4);
    free(want);
    snprintf(key, sizeof key, "%sloss", pre);
    want = fx_get(&f, key, &n);
    expect_close("loss", key, &loss, want, 1, 1e-4);
    free(want);

    rk_model_zero_grad(m);
    rk_error e = {0};
    cr_assert_eq(rk_model_backward(m, 1.0f, &e), RK_OK, "%s", e.msg);
    size_t n_grads = 0;
    for (size_t i = 0; i < rk_st_count(f.st); i++)
        n_grads += !strncmp(rk_st_get(f.st, i)->name, lora ? "lora.grad." : "grad.", lora ? 10 : 5);
    cr_assert_eq(rk_model_nparams(m), n_grads, "%zu trainable tensors, PyTorch has %zu", rk_model_nparams(m),
                 n_grads);
    for (size_t i = 0; i < rk_model_nparams(m); i++) {
        const rk_param *p = rk_model_param(m, i);
        snprintf(key, sizeof key, "%sgrad.%s", pre, p->name);
        want = fx_get(&f, key, &n);
        cr_assert_eq(n, p->n, "%s: %zu elements, PyTorch has %zu", p->name, p->n, n);
        cr_assert_not_null(p->grad);
        expect_close("grad", p->name, p->grad, want, n, 1e-3);
        free(want);
    }
    rk_model_free(m);
    fx_close(&f);
}

Test(model, parity_gpt2) { check_parity("gpt2", 0); }
Test(model, parity_llama_gqa) { check_parity("llama_gqa", 0); }
Test(model, parity_qwen2_bias) { check_parity("qwen2_bias", 0); }
Test(model, parity_lora_gpt2) { check_parity("gpt2", 1); }
Test(model, parity_lora_llama_gqa) { check_parity("llama_gqa", 1); }
Test(model, parity_lora_qwen2_bias) { check_parity("qwen2_bias", 1); }

/* ---- ten AdamW steps ---- */

/* torch.optim.AdamW (lr 3e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.1 on
 * matrices) after clip_grad_norm_(1.0), in its own formulas; the optimizer
 * raftkit trains with lives in train/ and is tested there. */
typedef struct adamw {
    float *m, *v;
    int t;
} adamw;

static double clip_and_step(adamw *o, rk_model *mdl, float lr, float wd) {
    size_t n;
    float *p = rk_model_params(mdl, &n), *g = rk_model_grads(mdl, &n);
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (double)g[i] * g[i];
    double norm = sqrt(ss), coef = 1.0 / (norm + 1e-6);
    if (coef < 1.0)
        for (size_t i = 0; i < n; i++)
            g[i] = (float)(g[i] * coef);
    o->t++;
    double bc1 = 1.0 - pow(0.9, o->t), bc2 = 1.0 - pow(0.999, o->t);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    for (size_t k = 0; k < rk_model_nparams(mdl); k++) {
        const rk_param *q = rk_model_param(mdl, k);
        float decay = q->decay ? wd : 0.0f;
        for (size_t j = q->offset; j < q->offset + q->n; j++) {
            p[j] *= 1.0f - lr * decay;
            o->m[j] += (g[j] - o->m[j]) * (1.0f - 0.9f);
            o->v[j] = o->v[j] * 0.999f + (1.0f - 0.999f) * g[j] * g[j];
            float denom = sqrtf(o->v[j]) / bc2_sqrt + 1e-8f;
            p[j] -= step_size * o->m[j] / denom;
        }
    }
    return norm;
}

static void check_training(const char *name, int lora) {
    fixture f = fx_open(name);
    rk_model *m = load_ok(f.dir);
    char adir[600];
    if (lora) {
        snprintf(adir, sizeof adir, "%s/adapter", f.dir);
        lora_load_ok(m, adir);
    }
    size_t n, steps;
    rk_model_params(m, &n);
    adamw o = {calloc(n, sizeof(float)), calloc(n, sizeof(float)), 0};
    float *losses = fx_get(&f, lora ? "train.lora.losses" : "train.full.losses", &steps);
    float *norms = fx_get(&f, lora ? "train.lora.gradnorm" : "train.full.gradnorm", &steps);
    printf("%s%s, %zu AdamW steps:\n", name, lora ? " + LoRA" : "", steps);
    double worst_loss = 0, worst_norm = 0;
    for (size_t s = 0; s < steps; s++) {
        rk_model_zero_grad(m);
        float loss = forward_ok(m, &f);
        rk_error e = {0};
        cr_assert_eq(rk_model_backward(m, 1.0f, &e), RK_OK, "%s", e.msg);
        double norm = clip_and_step(&o, m, 3e-3f, 0.1f);
        double dl = fabs(loss - losses[s]) / fabs(losses[s]), dn = fabs(norm - norms[s]) / fabs(norms[s]);
        printf("  step %zu: loss %.6f (torch %.6f, rel %.1e)  grad norm %.5f (torch %.5f, rel %.1e)\n", s,
               loss, losses[s], dl, norm, norms[s], dn);
        worst_loss = fmax(worst_loss, dl);
        worst_norm = fmax(worst_norm, dn);
    }
    cr_expect(worst_loss <= 1e-4, "%s: loss relative difference %.2e", name, worst_loss);
    cr_expect(worst_norm <= 1e-3, "%s: grad norm relative difference %.2e", name, worst_norm);
    /* the run learned: the last loss is well below the first */
    cr_expect(losses[steps - 1] < 0.9f * losses[0]);
    free(losses);
    free(norms);
    free(o.m);
    free(o.v);
    rk_model_free(m);
    fx_close(&f);
}

Test(model, adamw_full_gpt2) { check_training("gpt2", 0); }
Test(model, adamw_full_llama_gqa) { check_training("llama_gqa", 0); }
Test(model, adamw_full_qwen2_bias) { check_training("qwen2_bias", 0); }
Test(model, adamw_lora_gpt2) { check_training("gpt2", 1); }
Test(model, adamw_lora_llama_gqa) { check_training("llama_gqa", 1); }
Test(model, adamw_lora_qwen2_bias) { check_training("qwen2_bias", 1); }

/* ---- KV-cache decoding ---- */

/* Row 0 of the batch fed as a prefill of 5 tokens, then one token at a time:
 * each step's logits equal the full forward's at that position. */
static void check_step(const char *name, int lora) {
    fixture f = fx_open(name);
    rk_model *m = load_ok(f.dir);
    char adir[600];
    if (lora) {
        snprintf(adir, sizeof adir, "%s/adapter", f.dir);
        lora_load_ok(m, adir);
    }
    int T = f.T, V = rk_model_cfg(m)->vocab_size;
    rk_error e = {0};
    cr_assert_eq(rk_model_forward(m, f.tokens, NULL, 1, T, NULL, &e), RK_OK, "%s", e.msg);
    float *full = malloc((size_t)T * V * sizeof *full), *logits = malloc((size_t)V * sizeof *logits);
    memcpy(full, rk_model_logits(m), (size_t)T * V * sizeof *full);
    double worst = 0;
    for (int round = 0; round < 2; round++) { /* the second round starts over at pos 0 on a used cache */
        int pre = 5;
        cr_assert_eq(rk_model_step(m, f.tokens, pre, 0, logits, &e), RK_OK, "%s", e.msg);
        worst = fmax(worst, rel_diff(logits, full + (size_t)(pre - 1) * V, (size_t)V));
        for (int t = pre; t < T; t++) {
            cr_assert_eq(rk_model_step(m, f.tokens + t, 1, t, logits, &e), RK_OK, "%s", e.msg);
            worst = fmax(worst, rel_diff(logits, full + (size_t)t * V, (size_t)V));
        }
    }
    printf("%s%s: KV-cache step vs forward, largest rel diff %.2e\n", name, lora ? " + LoRA" : "", worst);
    cr_expect(worst <= 1e-4, "%s: step logits differ by %.2e", name, worst);
    /* rewinding to an earlier position recomputes from there */
    cr_assert_eq(rk_model_step(m, f.tokens + 3, 2, 3, logits, &e), RK_OK, "%s", e.msg);
    cr_expect(rel_diff(logits, full + 4 * (size_t)V, (size_t)V) <= 1e-4);
    /* a gap in the cache is refused */
    cr_expect_eq(rk_model_step(m, f.tokens, 1, 7, logits, &e), RK_EINVAL);
    free(full);
    free(logits);
    rk_model_free(m);
    fx_close(&f);
}

Test(model, step_gpt2) { check_step("gpt2", 0); }
Test(model, step_llama_gqa) { check_step("llama_gqa", 0); }
Test(model, step_qwen2_bias) { check_step("qwen2_bias", 0); }
Test(model, step_lora_llama_gqa) { check_step("llama_gqa", 1); }
Test(model, step_lora_gpt2) { check_step("gpt2", 1); }

static int argmax(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* model.generate(do_sample=False)'s ten tokens, by argmax over step. */
static void check_greedy(const char *name) {
    fixture f = fx_open(name);
    rk_model *m = load_ok(f.dir);
    size_t np, ng;
    int32_t *prompt = fx_ids(&f, "generate.prompt", &np), *want = fx_ids(&f, "generate.greedy", &ng);
    int V = rk_model_cfg(m)->vocab_size;
    float *logits = malloc((size_t)V * sizeof *logits);
    rk_error e = {0};
    cr_assert_eq(rk_model_step(m, prompt, (int)np, 0, logits, &e), RK_OK, "%s", e.msg);
    for (size_t i = 0; i < ng; i++) {
        int32_t id = argmax(logits, V);
        cr_expect_eq(id, want[i], "%s: token %zu is %d, transformers generated %d", name, i, id, want[i]);
        cr_assert_eq(rk_model_step(m, &id, 1, (int)(np + i), logits, &e), RK_OK, "%s", e.msg);
    }
    free(logits);
    free(prompt);
    free(want);
    rk_model_free(m);
    fx_close(&f);
}

Test(model, greedy_gpt2) { check_greedy("gpt2"); }
Test(model, greedy_llama_gqa) { check_greedy("llama_gqa"); }
Test(model, greedy_qwen2_bias) { check_greedy("qwen2_bias"); }

/* ---- round trips ---- */

static float *logits_of(rk_model *m, const fixture *f) {
    forward_ok(m, f);
    size_t n = (size_t)f->B * f->T * rk_model_cfg(m)->vocab_size;
    float *v = malloc(n * sizeof *v);
    memcpy(v, rk_model_logits(m), n * sizeof *v);
    return v;
}

static void copy_file(const char *src, const char *dir, const char *name) {
    FILE *f = fopen(src, "rb");
    cr_assert(f, "%s", src);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    free(write_file(dir, name, buf, (size_t)n));
    free(buf);
}

static json_t *json_file(const char *dir, const char *name) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_error_t je;
    json_t *v = json_load_file(path, 0, &je);
    cr_assert(v, "%s: %s", path, je.text);
    return v;
}

/* lora_save -> lora_load gives the same logits bit for bit; merging gives
 * the unmerged logits; rk_model_save -> rk_model_load of the merged model,
 * too. */
static void check_round_trips(const char *name) {
    fixture f = fx_open(name);
    rk_model *m = load_ok(f.dir);
    char adir[600];
    snprintf(adir, sizeof adir, "%s/adapter", f.dir);
    lora_load_ok(m, adir);
    size_t n = (size_t)f.B * f.T * rk_model_cfg(m)->vocab_size;
    float *unmerged = logits_of(m, &f);
    char *tmp = tmpdir_new(), out[600];
    rk_error e = {0};

    snprintf(out, sizeof out, "%s/adapter", tmp);
    cr_assert_eq(rk_model_lora_save(m, out, f.dir, &e), RK_OK, "%s", e.msg);
    json_t *cfg = json_file(out, "adapter_config.json"), *orig = json_file(adir, "adapter_config.json");
    cr_expect_str_eq(json_string_value(json_object_get(cfg, "peft_type")), "LORA");
    cr_expect(json_equal(json_object_get(cfg, "r"), json_object_get(orig, "r")));
    cr_expect(json_equal(json_object_get(cfg, "use_rslora"), json_object_get(orig, "use_rslora")));
    cr_expect(json_equal(json_object_get(cfg, "fan_in_fan_out"), json_object_get(orig, "fan_in_fan_out")));
    cr_expect_eq(json_array_size(json_object_get(cfg, "target_modules")),
                 json_array_size(json_object_get(orig, "target_modules")));
    cr_expect_str_eq(json_string_value(json_object_get(cfg, "base_model_name_or_path")), f.dir);
    json_decref(cfg);
    json_decref(orig);
    rk_model *m2 = load_ok(f.dir);
    lora_load_ok(m2, out);
    float *reloaded = logits_of(m2, &f);
    cr_expect_eq(memcmp(reloaded, unmerged, n * sizeof *reloaded), 0, "%s: reloaded adapter changes logits",
                 name);
    rk_model_free(m2);
    free(reloaded);

    cr_assert_eq(rk_model_lora_merge(m, &e), RK_OK, "%s", e.msg);
    float *merged = logits_of(m, &f);
    double d = rel_diff(merged, unmerged, n);
    printf("%s: merged vs unmerged logits, rel diff %.2e\n", name, d);
    cr_expect(d <= 1e-4, "%s: merge changes logits by %.2e", name, d);
    /* merged, the model is a plain one again: every base tensor trains */
    for (size_t i = 0; i < rk_model_nparams(m); i++)
        cr_expect_not_null(rk_model_param(m, i)->grad);
    cr_expect_null(strstr(rk_model_param(m, 0)->name, "lora"));

    snprintf(out, sizeof out, "%s/merged", tmp);
    cr_assert_eq(rk_model_save(m, out, &e), RK_OK, "%s", e.msg);
    rk_model *m3 = load_ok(out);
    float *saved = logits_of(m3, &f);
    cr_expect_eq(memcmp(saved, merged, n * sizeof *saved), 0, "%s: save/load changes logits", name);
    /* config.json keeps every field of the original */
    json_t *c1 = json_file(f.dir, "config.json"), *c2 = json_file(out, "config.json");
    cr_expect(json_equal(c1, c2), "%s: config.json changed on save", name);
    json_decref(c1);
    json_decref(c2);
    /* a tied lm_head is not written */
    rk_safetensors *st = NULL;
    snprintf(out, sizeof out, "%s/merged/model.safetensors", tmp);
    cr_assert_eq(rk_st_open(out, &st, &e), RK_OK, "%s", e.msg);
    cr_expect_eq(rk_st_find(st, "lm_head.weight") != NULL, !rk_model_cfg(m)->tie_embeddings);
    cr_expect_eq(rk_st_count(st), rk_model_nparams(m));
    rk_st_close(st);
    rk_model_free(m3);
    free(saved);
    free(merged);
    free(unmerged);
    rk_model_free(m);
    tmpdir_free(tmp);
    fx_close(&f);
}

Test(model, round_trips_gpt2) { check_round_trips("gpt2"); }
Test(model, round_trips_llama_gqa) { check_round_trips("llama_gqa"); }
Test(model, round_trips_qwen2_bias) { check_round_trips("qwen2_bias"); }

/* GPT-2 checkpoints from before GPT2LMHeadModel's names (no "transformer.")
 * load the same, and save with the prefix. */
Test(model, gpt2_names_without_prefix) {
    fixture f = fx_open("gpt2");
    char *tmp = tmpdir_new(), src[600], dst[600];
    rk_safetensors *st = NULL;
    rk_error e = {0};
    snprintf(src, sizeof src, "%s/model.safetensors", f.dir);
    cr_assert_eq(rk_st_open(src, &st, &e), RK_OK, "%s", e.msg);
    size_t n = rk_st_count(st);
    rk_st_out *out = calloc(n, sizeof *out);
    float **data = calloc(n, sizeof *data);
    for (size_t i = 0; i < n; i++) {
        const rk_st_tensor *t = rk_st_get(st, i);
        size_t cnt = 1;
        for (int k = 0; k < t->ndim; k++)
            cnt *= (size_t)t->shape[k];
        data[i] = malloc(cnt * sizeof(float));
        cr_assert_eq(rk_st_read_f32(t, data[i], cnt, &e), RK_OK);
        cr_assert(!strncmp(t->name, "transformer.", 12));
        out[i] = (rk_st_out){.name = t->name + 12, .dtype = RK_F32, .ndim = t->ndim, .data = data[i]};
        memcpy(out[i].shape, t->shape, sizeof out[i].shape);
    }
    snprintf(dst, sizeof dst, "%s/model.safetensors", tmp);
    cr_assert_eq(rk_st_write(dst, out, n, NULL, &e), RK_OK, "%s", e.msg);
    char cfg[700];
    snprintf(cfg, sizeof cfg, "%s/config.json", f.dir);
    json_t *c = json_load_file(cfg, 0, NULL);
    snprintf(cfg, sizeof cfg, "%s/config.json", tmp);
    cr_assert_eq(json_dump_file(c, cfg, 0), 0);
    json_decref(c);
    rk_model *a = load_ok(f.dir), *b = load_ok(tmp);
    float *la = logits_of(a, &f), *lb = logits_of(b, &f);
    cr_expect_eq(memcmp(la, lb, (size_t)f.B * f.T * rk_model_cfg(a)->vocab_size * sizeof *la), 0);
    cr_expect_str_eq(rk_model_param(b, 0)->name, "transformer.wte.weight");
    for (size_t i = 0; i < n; i++)
        free(data[i]);
    free(data);
    free(out);
    free(la);
    free(lb);
    rk_st_close(st);
    rk_model_free(a);
    rk_model_free(b);
    tmpdir_free(tmp);
    fx_close(&f);
}

/* Config spellings other than the fixtures': transformers 4.x's top-level
 * rope_theta with rope_scaling {"type": "llama3"}, and the same weights as a
 * Mistral model, whose sliding window is refused past its span. */
Test(model, config_variants) {
    fixture f = fx_open("llama_gqa");
    rk_model *m = load_ok(f.dir);
    size_t n = (size_t)f.B * f.T * rk_model_cfg(m)->vocab_size;
    float *want = logits_of(m, &f);
    rk_model_free(m);
    char *tmp = tmpdir_new(), src[600];
    snprintf(src, sizeof src, "%s/model.safetensors", f.dir);
    copy_file(src, tmp, "model.safetensors");
    json_t *c = json_file(f.dir, "config.json");
    json_t *rp = json_deep_copy(json_object_get(c, "rope_parameters"));
    json_object_del(c, "rope_parameters");
    json_object_set(c, "rope_theta", json_object_get(rp, "rope_theta"));
    json_object_del(rp, "rope_theta");
    json_object_del(rp, "rope_type");
    json_object_set_new(rp, "type", json_string("llama3"));
    json_object_set_new(c, "rope_scaling", rp);
    char path[700];
    snprintf(path, sizeof path, "%s/config.json", tmp);
    cr_assert_eq(json_dump_file(c, path, 0), 0);
    m = load_ok(tmp);
    cr_expect(rk_model_cfg(m)->rope.llama3);
    cr_expect_eq(rk_model_cfg(m)->rope.original_max_pos, 16);
    float *got = logits_of(m, &f);
    cr_expect_eq(memcmp(got, want, n * sizeof *got), 0, "4.x rope keys give other logits");
    free(got);
    rk_model_free(m);

    json_object_set_new(c, "model_type", json_string("mistral"));
    json_object_set_new(c, "sliding_window", json_integer(8));
    cr_assert_eq(json_dump_file(c, path, 0), 0);
    m = load_ok(tmp);
    cr_expect_eq(rk_model_cfg(m)->arch, RK_ARCH_LLAMA);
    cr_expect_str_eq(rk_model_cfg(m)->model_type, "mistral");
    rk_error e = {0};
    cr_expect_eq(rk_model_forward(m, f.tokens, NULL, f.B, f.T, NULL, &e), RK_EINVAL);
    cr_expect(strstr(e.msg, "sliding window"), "%s", e.msg);
    cr_expect_eq(rk_model_forward(m, f.tokens, NULL, 1, 8, NULL, &e), RK_OK, "%s", e.msg);
    rk_model_free(m);
    json_object_set_new(c, "sliding_window", json_null());
    cr_assert_eq(json_dump_file(c, path, 0), 0);
    m = load_ok(tmp);
    got = logits_of(m, &f);
    cr_expect_eq(memcmp(got, want, n * sizeof *got), 0, "as mistral, other logits");
    free(got);
    rk_model_free(m);
    json_decref(c);
    free(want);
    tmpdir_free(tmp);
    fx_close(&f);
}

/* ---- rk_model_lora_add ---- */

Test(model, lora_add_freezes_base) {
    fixture f = fx_open("llama_gqa");
    rk_model *m = load_ok(f.dir);
    float *base = logits_of(m, &f);
    size_t n_base = rk_model_nparams(m);
    const rk_param *first = rk_model_param(m, 0); /* stays valid: the model owns it */
    cr_assert_not_null(first->grad);
    rk_lora_opts o = {.r = 4, .alpha = 8, .targets = "q_proj, v_proj,down_proj", .seed = 7};
    rk_error e = {0};
    cr_assert_eq(rk_model_lora_add(m, &o, &e), RK_OK, "%s", e.msg);
    const rk_model_config *c = rk_model_cfg(m);
    cr_expect_eq(rk_model_nparams(m), (size_t)c->n_layer * 3 * 2);
    cr_expect_null(first->grad, "the base keeps a gradient buffer");
    size_t n;
    cr_expect_not_null(rk_model_grads(m, &n));
    size_t want_n = 0;
    for (size_t i = 0; i < rk_model_nparams(m); i++) {
        const rk_param *p = rk_model_param(m, i);
        want_n += p->n;
        cr_expect(strstr(p->name, ".lora_A.weight") || strstr(p->name, ".lora_B.weight"), "%s", p->name);
        cr_expect(!strncmp(p->name, "base_model.model.model.layers.", 30), "%s", p->name);
        cr_expect_eq(p->decay, 1);
    }
    cr_expect_eq(n, want_n);
    cr_expect_str_eq(rk_model_param(m, 0)->name,
                     "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
    cr_expect_eq(rk_model_param(m, 0)->shape[0], 4);
    cr_expect_eq(rk_model_param(m, 0)->shape[1], c->hidden);
    /* A: kaiming-uniform within 1/sqrt(in), not constant; B: zero */
    const rk_param *A = rk_model_param(m, 0), *B = rk_model_param(m, 1);
    float bound = 1.0f / sqrtf((float)c->hidden), lo = 1, hi = -1;
    for (size_t i = 0; i < A->n; i++) {
        cr_assert(fabsf(A->data[i]) <= bound);
        lo = fminf(lo, A->data[i]);
        hi = fmaxf(hi, A->data[i]);
    }
    cr_expect(hi - lo > bound, "A spans its range: [%g, %g]", lo, hi);
    for (size_t i = 0; i < B->n; i++)
        cr_assert_eq(B->data[i], 0.0f);
    /* B = 0: the adapted model equals the base, and only B gets a gradient */
    float *adapted = logits_of(m, &f);
    cr_expect_eq(memcmp(adapted, base, (size_t)f.B * f.T * c->vocab_size * sizeof *base), 0);
    rk_model_zero_grad(m);
    cr_assert_eq(rk_model_backward(m, 1.0f, &e), RK_OK, "%s", e.msg);
    double ga = 0, gb = 0;
    for (size_t i = 0; i < A->n; i++)
        ga += fabs(A->grad[i]);
    for (size_t i = 0; i < B->n; i++)
        gb += fabs(B->grad[i]);
    cr_expect_eq(ga, 0.0);
    cr_expect_gt(gb, 0.0);
    /* the same seed draws the same A, another seed another */
    rk_model *m2 = load_ok(f.dir), *m3 = load_ok(f.dir);
    cr_assert_eq(rk_model_lora_add(m2, &o, &e), RK_OK);
    o.seed = 8;
    cr_assert_eq(rk_model_lora_add(m3, &o, &e), RK_OK);
    cr_expect_eq(memcmp(rk_model_param(m2, 0)->data, A->data, A->n * sizeof(float)), 0);
    cr_expect_neq(memcmp(rk_model_param(m3, 0)->data, A->data, A->n * sizeof(float)), 0);
    /* a second set of adapters is refused */
    cr_expect_eq(rk_model_lora_add(m, &o, &e), RK_ESTATE);
    cr_expect_gt(n_base, rk_model_nparams(m));
    free(base);
    free(adapted);
    rk_model_free(m);
    rk_model_free(m2);
    rk_model_free(m3);
    fx_close(&f);
}

Test(model, lora_add_unknown_target) {
    rk_model *m = load_ok(FIXTURES "/gpt2");
    rk_lora_opts o = {.r = 4, .alpha = 8, .targets = "c_attn,q_proj", .seed = 1};
    rk_error e = {0};
    cr_assert_eq(rk_model_lora_add(m, &o, &e), RK_EINVAL);
    cr_expect(strstr(e.msg, "\"q_proj\""), "%s", e.msg);
    cr_expect(strstr(e.msg, "c_attn, c_proj, c_fc"), "names the supported modules: %s", e.msg);
    o.targets = "";
    cr_expect_eq(rk_model_lora_add(m, &o, &e), RK_EINVAL);
    o.targets = "c_proj";
    o.r = 0;
    cr_expect_eq(rk_model_lora_add(m, &o, &e), RK_EINVAL);
    /* nothing was attached by the failures */
    cr_expect_null(strstr(rk_model_param(m, 0)->name, "lora"));
    rk_model_free(m);
    m = load_ok(FIXTURES "/qwen2_bias");
    o = (rk_lora_opts){.r = 4, .alpha = 8, .targets = "c_attn", .seed = 1};
    cr_assert_eq(rk_model_lora_add(m, &o, &e), RK_EINVAL);
    cr_expect(strstr(e.msg, "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj"), "%s", e.msg);
    rk_model_free(m);
    /* GPT-2's c_proj adapts both attn.c_proj and mlp.c_proj, as in PEFT */
    m = load_ok(FIXTURES "/gpt2");
    o = (rk_lora_opts){.r = 2, .alpha = 4, .targets = "c_proj", .seed = 1};
    cr_assert_eq(rk_model_lora_add(m, &o, &e), RK_OK, "%s", e.msg);
    cr_expect_eq(rk_model_nparams(m), (size_t)rk_model_cfg(m)->n_layer * 2 * 2);
    cr_expect_str_eq(rk_model_param(m, 0)->name,
                     "base_model.model.transformer.h.0.attn.c_proj.lora_A.weight");
    cr_expect_str_eq(rk_model_param(m, 2)->name, "base_model.model.transformer.h.0.mlp.c_proj.lora_A.weight");
    cr_expect_eq(rk_model_param(m, 3)->shape[0], rk_model_cfg(m)->hidden); /* mlp.c_proj's B: [out, r] */
    cr_expect_eq(rk_model_param(m, 2)->shape[1], rk_model_cfg(m)->intermediate);
    rk_model_free(m);
}

/* ---- dropout ---- */

/* Dropout is off in eval mode, changes the loss in training mode, draws the
 * same masks after rk_model_train_mode with the same seed, and its backward
 * matches central differences of the loss under those masks. */
Test(model, lora_dropout_gradients) {
    fixture f = fx_open("qwen2_bias");
    rk_model *m = load_ok(f.dir);
    rk_lora_opts o = {
        .r = 4, .alpha = 8, .dropout = 0.3f, .targets = "q_proj,o_proj,up_proj,down_proj", .seed = 3};
    rk_error e = {0};
    cr_assert_eq(rk_model_lora_add(m, &o, &e), RK_OK, "%s", e.msg);
    size_t n;
    float *p = rk_model_params(m, &n);
    uint64_t s = 99;
    for (size_t i = 0; i < n; i++) { /* B away from 0, so every path carries signal */
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        if (p[i] == 0.0f) p[i] = 0.2f * (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
    }
    float eval1 = forward_ok(m, &f), eval2 = forward_ok(m, &f);
    cr_expect_eq(eval1, eval2);
    rk_model_train_mode(m, 1, 42);
    float tr1 = forward_ok(m, &f);
    float tr2 = forward_ok(m, &f); /* the next forward draws new masks */
    rk_model_train_mode(m, 1, 42);
    float tr3 = forward_ok(m, &f);
    cr_expect_neq(tr1, eval1);
    cr_expect_neq(tr1, tr2);
    cr_expect_eq(tr1, tr3);
    rk_model_zero_grad(m);
    cr_assert_eq(rk_model_backward(m, 1.0f, &e), RK_OK, "%s", e.msg);
    float *g = rk_model_grads(m, &n);
    float *grad = malloc(n * sizeof *grad);
    memcpy(grad, g, n * sizeof *grad);
    /* the 12 largest gradients (ties resolved by index) against differences */
    double worst = 0;
    for (int k = 0; k < 12; k++) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (fabsf(grad[i]) > fabsf(grad[best])) best = i;
        float keep = p[best], h = 1e-2f;
        p[best] = keep + h;
        rk_model_train_mode(m, 1, 42);
        float up = forward_ok(m, &f);
        p[best] = keep - h;
        rk_model_train_mode(m, 1, 42);
        float down = forward_ok(m, &f);
        p[best] = keep;
        double fd = ((double)up - down) / (2.0 * h), rel = fabs(fd - grad[best]) / fabs(grad[best]);
        worst = fmax(worst, rel);
        grad[best] = 0; /* next largest */
    }
    printf("qwen2_bias + LoRA, dropout 0.3: backward vs central differences, rel diff %.2e\n", worst);
    cr_expect(worst < 2e-2, "dropout gradients off by %.2e", worst);
    free(grad);
    rk_model_free(m);
    fx_close(&f);
}

/* ---- bad input ---- */

static rk_status load_fails(const char *dir, rk_error *e) {
    rk_model *m = (rk_model *)1;
    rk_status s = rk_model_load(dir, &m, e);
    cr_expect_null(m);
    return s;
}

/* The fixture's config.json with key set to value (JSON text), in dir. */
static void write_config(const char *dir, const char *model, const char *key, const char *value) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s/config.json", FIXTURES, model);
    json_t *c = json_load_file(path, 0, NULL);
    cr_assert(c);
    if (key) json_object_set_new(c, key, json_loads(value, JSON_DECODE_ANY, NULL));
    char *text = json_dumps(c, JSON_INDENT(2));
    free(write_text(dir, "config.json", text));
    free(text);
    json_decref(c);
}

Test(model, bad_model_dirs) {
    char *tmp = tmpdir_new(), weights[600];
    rk_error e = {0};
    snprintf(weights, sizeof weights, "%s/gpt2/model.safetensors", FIXTURES);

    cr_expect_eq(load_fails(tmp, &e), RK_ENOTFOUND);
    cr_expect(strstr(e.msg, "config.json"), "%s", e.msg);
    cr_expect(strstr(e.msg, tmp), "%s", e.msg);

    write_config(tmp, "gpt2", NULL, NULL);
    cr_expect_eq(load_fails(tmp, &e), RK_ENOTFOUND);
    cr_expect(strstr(e.msg, "model.safetensors"), "%s", e.msg);

    write_config(tmp, "gpt2", "model_type", "\"bert\"");
    cr_expect_eq(load_fails(tmp, &e), RK_EFORMAT);
    cr_expect(strstr(e.msg, "\"bert\""), "%s", e.msg);
    cr_expect(strstr(e.msg, "gpt2, llama, mistral, qwen2"), "%s", e.msg);
    cr_expect(strstr(e.msg, "config.json"), "%s", e.msg);

    copy_file(weights, tmp, "model.safetensors");
    write_config(tmp, "gpt2", "n_inner", "100"); /* c_fc is [32, 128] */
    cr_expect_eq(load_fails(tmp, &e), RK_EFORMAT);
    cr_expect(strstr(e.msg, "\"transformer.h.0.mlp.c_fc.weight\""), "%s", e.msg);
    cr_expect(strstr(e.msg, "[32, 128]") && strstr(e.msg, "[32, 100]"), "%s", e.msg);

    write_config(tmp, "gpt2", "n_layer", "3");
    cr_expect_eq(load_fails(tmp, &e), RK_EFORMAT);
    cr_expect(strstr(e.msg, "\"transformer.h.2."), "%s", e.msg);

    write_config(tmp, "gpt2", "activation_function", "\"relu\"");
    cr_expect_eq(load_fails(tmp, &e), RK_EFORMAT);
    cr_expect(strstr(e.msg, "relu"), "%s", e.msg);

    write_config(tmp, "gpt2", "n_embd", "\"32\"");
    cr_expect_eq(load_fails(tmp, &e), RK_EFORMAT);
    cr_expect(strstr(e.msg, "n_embd"), "%s", e.msg);

    snprintf(weights, sizeof weights, "%s/llama_gqa/model.safetensors", FIXTURES);
    copy_file(weights, tmp, "model.safetensors");
    write_config(tmp, "llama_gqa", "rope_parameters", "{\"rope_type\": \"yarn\", \"factor\": 4.0}");
    cr_expect_eq(load_fails(tmp, &e), RK_EFORMAT);
    cr_expect(strstr(e.msg, "\"yarn\""), "%s", e.msg);
    write_config(tmp, "llama_gqa", "num_key_value_heads", "3");
    cr_expect_eq(load_fails(tmp, &e), RK_EFORMAT);
    /* untied llama without lm_head.weight */
    write_config(tmp, "llama_gqa", "tie_word_embeddings", "true");
    rk_model *m = load_ok(tmp); /* tied: lm_head.weight in the file is ignored */
    rk_model_free(m);
    tmpdir_free(tmp);
}

Test(model, bad_adapters) {
    char *tmp = tmpdir_new(), src[600];
    rk_error e = {0};
    rk_model *m = load_ok(FIXTURES "/llama_gqa");
    /* a GPT-2 adapter on a Llama model */
    cr_expect_eq(rk_model_lora_load(m, FIXTURES "/gpt2/adapter", &e), RK_EFORMAT);
    cr_expect(strstr(e.msg, "c_attn"), "%s", e.msg);
    cr_expect_eq(rk_model_nparams(m), 3 + 9 * (size_t)rk_model_cfg(m)->n_layer, "the base is left trainable");
    cr_expect_not_null(rk_model_param(m, 0)->grad);
    /* no such directory, and a pickle adapter */
    cr_expect_eq(rk_model_lora_load(m, tmp, &e), RK_ENOTFOUND);
    cr_expect(strstr(e.msg, "adapter_config.json"), "%s", e.msg);
    snprintf(src, sizeof src, "%s/llama_gqa/adapter/adapter_config.json", FIXTURES);
    copy_file(src, tmp, "adapter_config.json");
    free(write_text(tmp, "adapter_model.bin", "PK"));
    cr_expect_eq(rk_model_lora_load(m, tmp, &e), RK_EFORMAT);
    cr_expect(strstr(e.msg, "adapter_model.bin"), "%s", e.msg);
    /* r disagreeing with the tensors' shapes */
    snprintf(src, sizeof src, "%s/llama_gqa/adapter/adapter_model.safetensors", FIXTURES);
    copy_file(src, tmp, "adapter_model.safetensors");
    json_t *c = json_file(tmp, "adapter_config.json");
    json_object_set_new(c, "r", json_integer(8));
    char path[700];
    snprintf(path, sizeof path, "%s/adapter_config.json", tmp);
    json_dump_file(c, path, 0);
    cr_expect_eq(rk_model_lora_load(m, tmp, &e), RK_EFORMAT);
    cr_expect(strstr(e.msg, "lora_A.weight\" has shape [4, 32], expected [8, 32]"), "%s", e.msg);
    /* target_modules that leave out adapted modules */
    json_object_set_new(c, "r", json_integer(4));
    json_object_set_new(c, "target_modules", json_pack("[s]", "q_proj"));
    json_dump_file(c, path, 0);
    cr_expect_eq(rk_model_lora_load(m, tmp, &e), RK_EFORMAT);
    cr_expect(strstr(e.msg, "target_modules"), "%s", e.msg);
    /* DoRA is another method */
    json_object_set_new(c, "target_modules",
                        json_pack("[s,s,s,s,s,s,s]", "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                  "up_proj", "down_proj"));
    json_object_set_new(c, "use_dora", json_true());
    json_dump_file(c, path, 0);
    cr_expect_eq(rk_model_lora_load(m, tmp, &e), RK_EFORMAT);
    cr_expect(strstr(e.msg, "use_dora"), "%s", e.msg);
    json_object_set_new(c, "use_dora", json_false());
    /* an adapter trained on another base model, though its shapes fit */
    json_object_set_new(c, "base_model_name_or_path", json_string("Qwen/Qwen2-0.5B-Instruct"));
    json_dump_file(c, path, 0);
    cr_expect_eq(rk_model_lora_load(m, tmp, &e), RK_EFORMAT);
    cr_expect(strstr(e.msg, "\"Qwen/Qwen2-0.5B-Instruct\"") && strstr(e.msg, "/llama_gqa"), "%s", e.msg);
    /* the base named by a hub id or another path ending in the model's name */
    json_object_set_new(c, "base_model_name_or_path", json_string("someone/llama_gqa/"));
    json_dump_file(c, path, 0);
    lora_load_ok(m, tmp); /* and now it is right */
    json_decref(c);
    rk_model_free(m);
    tmpdir_free(tmp);
}

Test(model, bad_calls) {
    fixture f = fx_open("gpt2");
    rk_model *m = load_ok(f.dir);
    rk_error e = {0};
    float loss = 0;
    cr_expect_eq(rk_model_backward(m, 1.0f, &e), RK_ESTATE);
    int32_t bad[2] = {1, 96};
    cr_expect_eq(rk_model_forward(m, bad, NULL, 1, 2, &loss, &e), RK_EINVAL);
    cr_expect(strstr(e.msg, "96"), "%s", e.msg);
    cr_expect(isnan(loss));
    int32_t *longer = calloc(65, sizeof *longer);
    cr_expect_eq(rk_model_forward(m, longer, NULL, 1, 65, NULL, &e), RK_EINVAL);
    float *logits = malloc(96 * sizeof *logits);
    cr_expect_eq(rk_model_step(m, longer, 1, 64, logits, &e), RK_EINVAL);
    cr_expect_eq(rk_model_step(m, longer, 2, 63, logits, &e), RK_EINVAL);
    cr_expect_eq(rk_model_step(m, longer, 64, 0, logits, &e), RK_OK, "%s", e.msg);
    /* logits only, then backward is refused; all targets ignored gives NaN */
    cr_expect_eq(rk_model_forward(m, f.tokens, NULL, f.B, f.T, &loss, &e), RK_OK);
    cr_expect(isnan(loss));
    cr_expect_eq(rk_model_backward(m, 1.0f, &e), RK_ESTATE);
    int32_t *none = malloc((size_t)f.B * f.T * sizeof *none);
    for (int i = 0; i < f.B * f.T; i++)
        none[i] = -100;
    cr_expect_eq(rk_model_forward(m, f.tokens, none, f.B, f.T, &loss, &e), RK_OK);
    cr_expect(isnan(loss));
    /* a grown batch after a small one reallocates and still matches */
    forward_ok(m, &f);
    cr_expect_eq(rk_model_lora_merge(m, &e), RK_ESTATE);
    cr_expect_eq(rk_model_lora_save(m, "/nonexistent", NULL, &e), RK_ESTATE);
    free(none);
    free(logits);
    free(longer);
    rk_model_free(m);
    fx_close(&f);
}

/* ---- output for tests/parity/check_adapter.py ---- */

/* With RK_PARITY_OUT=dir: for each model, an adapter added here (rslora on
 * llama_gqa, r = 8), trained three AdamW steps so B is not zero, saved to
 * dir/<model>/adapter, the logits it gives on the fixture batch in
 * dir/<model>/expected.safetensors, and the model with the adapter merged
 * saved to dir/<model>/merged. */
Test(model, parity_out) {
    const char *out = getenv("RK_PARITY_OUT");
    if (!out || !*out) cr_skip_test("RK_PARITY_OUT is not set");
    mkdir(out, 0777);
    for (size_t k = 0; k < sizeof MODELS / sizeof *MODELS; k++) {
        fixture f = fx_open(MODELS[k]);
        rk_model *m = load_ok(f.dir);
        int gpt2 = rk_model_cfg(m)->arch == RK_ARCH_GPT2;
        rk_lora_opts o = {.r = 8,
                          .alpha = 16,
                          .rslora = k == 1,
                          .targets = gpt2 ? "c_attn,c_proj,c_fc"
                                          : "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
                          .seed = 5 + k};
        rk_error e = {0};
        cr_assert_eq(rk_model_lora_add(m, &o, &e), RK_OK, "%s", e.msg);
        size_t n;
        rk_model_params(m, &n);
        adamw opt = {calloc(n, sizeof(float)), calloc(n, sizeof(float)), 0};
        for (int s = 0; s < 3; s++) {
            rk_model_zero_grad(m);
            forward_ok(m, &f);
            cr_assert_eq(rk_model_backward(m, 1.0f, &e), RK_OK);
            clip_and_step(&opt, m, 1e-2f, 0.0f);
        }
        char dir[600], adir[700], path[700];
        snprintf(dir, sizeof dir, "%s/%s", out, MODELS[k]);
        mkdir(dir, 0777);
        snprintf(adir, sizeof adir, "%s/adapter", dir);
        cr_assert_eq(rk_model_lora_save(m, adir, f.dir, &e), RK_OK, "%s", e.msg);
        float *logits = logits_of(m, &f);
        float *ids = malloc((size_t)f.B * f.T * sizeof *ids);
        for (int i = 0; i < f.B * f.T; i++)
            ids[i] = (float)f.tokens[i];
        rk_st_out t[2] = {{.name = "input_ids", .dtype = RK_F32, .ndim = 2, .shape = {f.B, f.T}, .data = ids},
                          {.name = "logits",
                           .dtype = RK_F32,
                           .ndim = 3,
                           .shape = {f.B, f.T, rk_model_cfg(m)->vocab_size},
                           .data = logits}};
        snprintf(path, sizeof path, "%s/expected.safetensors", dir);
        cr_assert_eq(rk_st_write(path, t, 2, NULL, &e), RK_OK, "%s", e.msg);
        snprintf(path, sizeof path, "%s/merged", dir);
        cr_assert_eq(rk_model_lora_merge(m, &e), RK_OK, "%s", e.msg);
        cr_assert_eq(rk_model_save(m, path, &e), RK_OK, "%s", e.msg);
        printf("%s: adapter, merged model and logits written to %s\n", MODELS[k], dir);
        free(ids);
        free(logits);
        free(opt.m);
        free(opt.v);
        rk_model_free(m);
        fx_close(&f);
    }
}
