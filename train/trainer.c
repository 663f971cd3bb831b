/* trainer.c — the loop: batches from the dataset, forward and backward over
 * micro-batches, clipping, AdamW at the scheduled learning rate, logging,
 * evaluation, checkpoints, and the outputs. The checkpoint format is
 * documented in trainer.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "raftkit/file.h"
#include "raftkit/hash.h"
#include "raftkit/json.h"
#include "raftkit/le.h"
#include "raftkit/log.h"
#include "raftkit/rng.h"
#include "raftkit/tokenizer.h"
#include "raftkit/trainer.h"

#define CKPT_MAGIC "RKCKPT\0\0"
#define CKPT_VERSION 1u
#define CKPT_HEADER 64

/* The files of a model directory that describe its tokenizer and generation;
 * copied to every output so the output loads on its own. */
static const char *const TOKENIZER_FILES[] = {
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
    "merges.txt",     "tokenizer.model",       "generation_config.json",  "chat_template.jinja"};

typedef struct trainer {
    const rk_train_opts *o;
    rk_model *m;
    rk_tokenizer *tok;
    rk_dataset data, eval;
    rk_adamw opt;
    uint8_t *decay; /* per trainable element */
    float *params, *grads;
    size_t n;
    int32_t *tokens, *targets; /* [batch, max_len] */
    size_t *order;             /* this epoch's permutation */
    uint64_t epoch, pos;       /* the next example: order[pos] of epoch */
    long step;                 /* optimizer steps done */
    uint64_t opts_hash;
    int32_t pad;
    char path[4096], tmp[4096];
} trainer;

static const char *out_path(trainer *t, const char *name) {
    snprintf(t->path, sizeof t->path, "%s/%s", t->o->out, name);
    return t->path;
}

/* The options a resumed run must share with the run that saved. */
static uint64_t hash_opts(const rk_train_opts *o, size_t n, size_t nex) {
    char buf[1024];
    int k = snprintf(buf, sizeof buf, "%d|%d|%g|%g|%d|%s|%d|%d|%d|%d|%d|%d|%d|%llu|%zu|%zu", (int)o->method,
                     o->lora.r, (double)o->lora.alpha, (double)o->lora.dropout, o->lora.rslora,
                     o->lora.targets ? o->lora.targets : "", (int)o->data_opts.objective,
                     (int)o->data_opts.tpl, o->data_opts.max_len, o->data_opts.packing,
                     o->data_opts.drop_long, o->batch, o->grad_accum, (unsigned long long)o->seed, n, nex);
    return rk_hash64_of(buf, (size_t)k, 0);
}

/* ---- checkpoints ---- */

static rk_status save_checkpoint(trainer *t, rk_error *err) {
    snprintf(t->tmp, sizeof t->tmp, "%s/checkpoint", t->o->out);
    rk_status s = rk_mkdir_p(t->tmp, err);
    if (s) return s;
    snprintf(t->tmp, sizeof t->tmp, "%s/checkpoint/state.bin", t->o->out);
    unsigned char h[CKPT_HEADER] = {0};
    memcpy(h, CKPT_MAGIC, 8);
    rk_le_put(h + 8, CKPT_VERSION, 4);
    rk_le_put(h + 12, (uint32_t)t->o->method, 4);
    rk_le_put(h + 16, (uint64_t)t->step, 8);
    rk_le_put(h + 24, t->epoch, 8);
    rk_le_put(h + 32, t->pos, 8);
    rk_le_put(h + 40, t->n, 8);
    rk_le_put(h + 48, t->opts_hash, 8);
    rk_le_put(h + 56, (uint64_t)t->opt.t, 8);
    rk_atomic a;
    s = rk_atomic_open(&a, t->tmp, err);
    if (s) return s;
    if (fwrite(h, 1, sizeof h, a.f) != sizeof h || fwrite(t->params, sizeof(float), t->n, a.f) != t->n ||
        fwrite(t->opt.m, sizeof(float), t->n, a.f) != t->n ||
        fwrite(t->opt.v, sizeof(float), t->n, a.f) != t->n) {
        s = rk_fail(err, RK_EIO, "%s: write failed: %s", a.tmp, strerror(errno));
        rk_atomic_abort(&a);
        return s;
    }
    return rk_atomic_commit(&a, err);
}

/* Loads out/checkpoint/state.bin when there is one; *found says whether. */
static rk_status load_checkpoint(trainer *t, int *found, rk_error *err) {
    snprintf(t->tmp, sizeof t->tmp, "%s/checkpoint/state.bin", t->o->out);
    *found = 0;
    FILE *f = fopen(t->tmp, "rb");
    if (!f) return errno == ENOENT ? RK_OK : rk_fail(err, RK_EIO, "%s: %s", t->tmp, strerror(errno));
    unsigned char h[CKPT_HEADER];
    struct stat st;
    rk_status s = RK_OK;
    if (fstat(fileno(f), &st) || fread(h, 1, sizeof h, f) != sizeof h || memcmp(h, CKPT_MAGIC, 8))
        s = rk_fail(err, RK_EFORMAT, "%s: not a raft-train checkpoint", t->tmp);
    else if ((uint32_t)rk_le_get(h + 8, 4) != CKPT_VERSION)
        s = rk_fail(err, RK_EVERSION, "%s: checkpoint version %u (this raft-train reads %u)", t->tmp,
                    (uint32_t)rk_le_get(h + 8, 4), CKPT_VERSION);
    else if (rk_le_get(h + 40, 8) != t->n || rk_le_get(h + 48, 8) != t->opts_hash ||
             (uint32_t)rk_le_get(h + 12, 4) != (uint32_t)t->o->method)
        s = rk_fail(
            err, RK_EINVAL,
            "%s: the checkpoint was made with other options or data (method, LoRA settings, template, "
            "lengths, batch, seed or dataset size differ); resume with the same ones, or remove it",
            t->tmp);
    else if ((uint64_t)st.st_size != CKPT_HEADER + 12 * (uint64_t)t->n)
        s = rk_fail(err, RK_EFORMAT, "%s: %lld bytes; a checkpoint of %zu parameters has %llu", t->tmp,
                    (long long)st.st_size, t->n, (unsigned long long)(CKPT_HEADER + 12 * (uint64_t)t->n));
    else if (fread(t->params, sizeof(float), t->n, f) != t->n ||
             fread(t->opt.m, sizeof(float), t->n, f) != t->n ||
             fread(t->opt.v, sizeof(float), t->n, f) != t->n)
        s = rk_fail(err, RK_EIO, "%s: read failed", t->tmp);
    fclose(f);
    if (s) return s;
    t->step = (long)rk_le_get(h + 16, 8);
    t->epoch = rk_le_get(h + 24, 8);
    t->pos = rk_le_get(h + 32, 8);
    t->opt.t = (long)rk_le_get(h + 56, 8);
    *found = 1;
    return RK_OK;
}

/* Keeps the log lines of steps up to the resumed one, so the log reads as
 * one run. */
static rk_status trim_log(trainer *t, rk_error *err) {
    char *text;
    size_t n;
    rk_error e;
    const char *path = out_path(t, "train_log.jsonl");
    if (rk_file_read(path, &text, &n, &e)) return RK_OK;
    rk_buf keep = {0};
    for (char *p = text; p < text + n;) {
        char *nl = memchr(p, '\n', (size_t)(text + n - p)), *end = nl ? nl + 1 : text + n;
        json_t *j = json_loadb(p, (size_t)(end - p), 0, NULL);
        if (j && json_integer_value(json_object_get(j, "step")) <= t->step)
            rk_buf_put(&keep, p, (size_t)(end - p));
        json_decref(j);
        p = end;
    }
    rk_status s = keep.oom ? rk_fail(err, RK_ENOMEM, "out of memory")
                           : rk_file_write_atomic(path, keep.p ? keep.p : "", keep.n, err);
    free(keep.p);
    free(text);
    return s;
}

static rk_status log_line(trainer *t, json_t *j, rk_error *err) {
    FILE *f = fopen(out_path(t, "train_log.jsonl"), "a");
    rk_status s = RK_OK;
    if (!f || rk_json_print_line(f, j) || fclose(f))
        s = rk_fail(err, RK_EIO, "%s: %s", t->path, strerror(errno));
    json_decref(j);
    return s;
}

/* ---- the loop ---- */

/* The next micro-batch's rows, moving through epochs; returns T. */
static int next_batch(trainer *t) {
    size_t rows[4096];
    int B = t->o->batch;
    for (int b = 0; b < B; b++) {
        if (t->pos == t->data.n) {
            t->epoch++;
            t->pos = 0;
            rk_dataset_order(t->order, t->data.n, t->o->seed, t->epoch);
        }
        rows[b] = t->order[t->pos++];
    }
    return rk_dataset_batch(&t->data, rows, B, t->pad, t->tokens, t->targets);
}

/* Mean loss per counted token over the whole eval set. */
static rk_status eval_loss(trainer *t, double *out, rk_error *err) {
    double sum = 0;
    size_t count = 0;
    rk_model_train_mode(t->m, 0, 0);
    for (size_t i = 0; i < t->eval.n; i += (size_t)t->o->batch) {
        size_t rows[4096];
        int B = (int)(t->eval.n - i < (size_t)t->o->batch ? t->eval.n - i : (size_t)t->o->batch);
        for (int b = 0; b < B; b++)
            rows[b] = i + (size_t)b;
        int T = rk_dataset_batch(&t->eval, rows, B, t->pad, t->tokens, t->targets);
        size_t c = 0;
        for (size_t k = 0; k < (size_t)B * (size_t)T; k++)
            c += t->targets[k] >= 0;
        float loss;
        rk_status s = rk_model_forward(t->m, t->tokens, t->targets, B, T, &loss, err);
        if (s) return s;
        if (c) sum += (double)loss * (double)c, count += c;
    }
    *out = count ? sum / (double)count : NAN;
    return RK_OK;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static rk_status write_outputs(trainer *t, rk_error *err) {
    const rk_train_opts *o = t->o;
    rk_status s = RK_OK;
    if (o->method == RK_METHOD_LORA && o->merge) s = rk_model_lora_merge(t->m, err);
    if (!s)
        s = o->method == RK_METHOD_LORA && !o->merge ? rk_model_lora_save(t->m, o->out, o->model_dir, err)
                                                     : rk_model_save(t->m, o->out, err);
    for (size_t i = 0; !s && i < sizeof TOKENIZER_FILES / sizeof *TOKENIZER_FILES; i++) {
        char src[4096];
        snprintf(src, sizeof src, "%s/%s", o->model_dir, TOKENIZER_FILES[i]);
        struct stat st;
        if (!stat(src, &st)) s = rk_file_copy(src, out_path(t, TOKENIZER_FILES[i]), err);
    }
    return s;
}

static rk_status setup(trainer *t, rk_train_result *res, rk_error *err) {
    const rk_train_opts *o = t->o;
    if (o->batch < 1 || o->batch > 4096 || o->grad_accum < 1)
        return rk_fail(err, RK_EINVAL, "--batch must be in 1..4096 and --grad-accum at least 1");
    rk_status s = rk_model_load(o->model_dir, &t->m, err);
    if (!s) s = rk_tok_load(o->model_dir, &t->tok, err);
    if (s) return s;
    const rk_model_config *cfg = rk_model_cfg(t->m);
    rk_data_opts dopt = o->data_opts;
    if (!o->template_given && (s = rk_template_detect(o->model_dir, &dopt.tpl, err))) return s;
    if (dopt.max_len > cfg->max_pos) {
        rk_log_info("--max-len %d is above the model's %d positions; using %d", dopt.max_len, cfg->max_pos,
                    cfg->max_pos);
        dopt.max_len = cfg->max_pos;
    }
    if ((size_t)cfg->vocab_size < rk_tok_vocab_size(t->tok))
        return rk_fail(err, RK_EFORMAT, "%s: the tokenizer has %zu ids but the model only %d embeddings",
                       o->model_dir, rk_tok_vocab_size(t->tok), cfg->vocab_size);
    if ((s = rk_dataset_load(o->data, t->tok, &dopt, &t->data, err))) return s;
    if (o->eval_data && (s = rk_dataset_load(o->eval_data, t->tok, &dopt, &t->eval, err))) return s;
    res->examples = t->data.n, res->truncated = t->data.truncated, res->dropped = t->data.dropped;
    if (t->data.truncated)
        rk_log_warn("%s: %zu examples longer than %d tokens were truncated (--drop-long drops them)", o->data,
                    t->data.truncated, dopt.max_len);
    int32_t eos = rk_tok_eos(t->tok);
    t->pad = eos >= 0 ? eos : 0;
    rk_lora_opts lora = o->lora;
    if (!lora.targets)
        lora.targets = cfg->arch == RK_ARCH_GPT2 ? "c_attn" : "q_proj,v_proj"; /* PEFT's defaults */
    if (o->method == RK_METHOD_LORA && (s = rk_model_lora_add(t->m, &lora, err))) return s;
    t->params = rk_model_params(t->m, &t->n);
    t->grads = rk_model_grads(t->m, &t->n);
    if ((s = rk_adamw_init(&t->opt, t->n, err))) return s;
    t->decay = malloc(t->n ? t->n : 1);
    t->tokens = malloc((size_t)o->batch * (size_t)dopt.max_len * sizeof *t->tokens);
    t->targets = malloc((size_t)o->batch * (size_t)dopt.max_len * sizeof *t->targets);
    t->order = malloc(t->data.n * sizeof *t->order);
    if (!t->decay || !t->tokens || !t->targets || !t->order) return rk_fail(err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; i < rk_model_nparams(t->m); i++) {
        const rk_param *p = rk_model_param(t->m, i);
        memset(t->decay + p->offset, p->decay, p->n);
    }
    t->opts_hash = hash_opts(o, t->n, t->data.n);
    return rk_mkdir_p(o->out, err);
}

static rk_status train_loop(trainer *t, rk_train_result *res, rk_error *err) {
    const rk_train_opts *o = t->o;
    long per_epoch =
        (long)((t->data.n + (size_t)o->batch * o->grad_accum - 1) / ((size_t)o->batch * o->grad_accum));
    long total = o->max_steps > 0 ? o->max_steps : per_epoch * o->epochs;
    res->resumed_from = -1;
    rk_status s = RK_OK;
    if (o->resume) {
        int found;
        if ((s = load_checkpoint(t, &found, err))) return s;
        if (found) {
            res->resumed_from = t->step;
            rk_log_info("resuming from %s/checkpoint at step %ld", o->out, t->step);
            if ((s = trim_log(t, err))) return s;
        }
    }
    if (res->resumed_from < 0) remove(out_path(t, "train_log.jsonl"));
    rk_dataset_order(t->order, t->data.n, o->seed, t->epoch);
    char label[64] = "train";
    rk_progress *bar = o->progress ? rk_progress_new(label, "steps", (uint64_t)total) : NULL;
    double t_start = now_s(), tokens_all = 0;
    res->last_loss = NAN;
    for (; t->step < total; t->step++) {
        double t0 = now_s(), loss_sum = 0;
        size_t ntok = 0;
        rk_model_zero_grad(t->m);
        for (int a = 0; a < o->grad_accum; a++) {
            int T = next_batch(t);
            size_t counted = 0;
            for (size_t k = 0; k < (size_t)o->batch * (size_t)T; k++)
                counted += t->targets[k] >= 0;
            ntok += (size_t)o->batch * (size_t)T;
            float loss;
            rk_model_train_mode(t->m, 1, rk_rng_derive(o->seed, (uint64_t)t->step * 1024 + (uint64_t)a));
            if ((s = rk_model_forward(t->m, t->tokens, t->targets, o->batch, T, &loss, err))) break;
            if (!counted) continue; /* every row here is prompt only: nothing to learn from it */
            if (!isfinite(loss)) {
                char kept[160] = "no checkpoint was written";
                if (o->save_every > 0 && t->step >= o->save_every)
                    snprintf(kept, sizeof kept, "the last checkpoint (step %ld) is kept in %s/checkpoint",
                             t->step / o->save_every * o->save_every, o->out);
                s = rk_fail(err, RK_EINVAL, "step %ld: the loss is %s; stopping (%s)", t->step + 1,
                            isnan(loss) ? "NaN" : "infinite", kept);
                break;
            }
            loss_sum += loss;
            if ((s = rk_model_backward(t->m, 1.0f / (float)o->grad_accum, err))) break;
        }
        if (s) break;
        double norm = rk_clip_grad_norm(t->grads, t->n, o->clip);
        double lr = o->lr * rk_schedule_lr(o->schedule, t->step, o->warmup, total);
        rk_adamw_step(&t->opt, t->params, t->grads, t->decay, (float)lr, o->weight_decay);
        double dt = now_s() - t0;
        tokens_all += (double)ntok;
        res->last_loss = loss_sum / o->grad_accum;
        json_t *j = json_object();
        json_object_set_new(j, "step", json_integer(t->step + 1));
        json_object_set_new(j, "epoch", json_real((double)t->epoch + (double)t->pos / (double)t->data.n));
        json_object_set_new(j, "loss", json_real(res->last_loss));
        json_object_set_new(j, "lr", json_real(lr));
        json_object_set_new(j, "grad_norm", json_real(norm));
        json_object_set_new(j, "tokens_per_s", json_real(dt > 0 ? (double)ntok / dt : 0));
        int last = t->step + 1 == total;
        if (t->eval.n && ((o->eval_every > 0 && (t->step + 1) % o->eval_every == 0) || last)) {
            double el;
            if ((s = eval_loss(t, &el, err))) {
                json_decref(j);
                break;
            }
            json_object_set_new(j, "eval_loss", json_real(el));
            res->eval_loss = el;
        }
        if ((s = log_line(t, j, err))) break;
        snprintf(label, sizeof label, "train loss %.4f", res->last_loss);
        rk_progress_set(bar, (uint64_t)t->step + 1);
        if (o->save_every > 0 && (t->step + 1) % o->save_every == 0) {
            t->step++; /* the checkpoint records steps done */
            s = save_checkpoint(t, err);
            t->step--;
            if (s) break;
        }
    }
    rk_progress_done(bar);
    res->steps = t->step;
    double wall = now_s() - t_start;
    res->tokens_per_s = wall > 0 ? tokens_all / wall : 0;
    return s;
}

rk_status rk_train(const rk_train_opts *o, rk_train_result *res, rk_error *err) {
    trainer t = {.o = o};
    memset(res, 0, sizeof *res);
    res->eval_loss = NAN;
    rk_status s = setup(&t, res, err);
    if (!s) s = train_loop(&t, res, err);
    if (!s) s = write_outputs(&t, err);
    rk_model_free(t.m);
    rk_tok_free(t.tok);
    rk_dataset_free(&t.data);
    rk_dataset_free(&t.eval);
    rk_adamw_free(&t.opt);
    free(t.decay);
    free(t.tokens);
    free(t.targets);
    free(t.order);
    return s;
}
