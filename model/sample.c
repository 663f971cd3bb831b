/* sample.c — the decoding loop over rk_model_step and the sampling rules. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/rng.h"
#include "raftkit/sample.h"

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

typedef struct cand {
    float p;
    int32_t id;
} cand;

static int by_prob_desc(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id; /* ties by id: deterministic */
}

int32_t rk_sample_next(float *logits, int V, const rk_sample_opts *o, uint64_t *rng) {
    if (o->temperature <= 0) return argmax(logits, V);
    cand *c = malloc((size_t)V * sizeof *c);
    if (!c) return argmax(logits, V); /* out of memory: the most likely token is still a sound answer */
    float mx = logits[argmax(logits, V)];
    double sum = 0;
    for (int i = 0; i < V; i++) {
        c[i] = (cand){expf((logits[i] - mx) / o->temperature), i};
        sum += c[i].p;
    }
    qsort(c, (size_t)V, sizeof *c, by_prob_desc);
    int keep = o->top_k > 0 && o->top_k < V ? o->top_k : V;
    if (o->top_p > 0 && o->top_p < 1) {
        /* The smallest prefix whose mass reaches top_p, renormalized after top-k. */
        double kept = 0, mass = 0;
        for (int i = 0; i < keep; i++)
            kept += c[i].p;
        int i = 0;
        while (i < keep && (mass += c[i].p) < o->top_p * kept)
            i++;
        keep = i + 1 < keep ? i + 1 : keep;
    }
    sum = 0;
    for (int i = 0; i < keep; i++)
        sum += c[i].p;
    double r = rk_rng_unit(rng) * sum;
    int32_t id = c[keep - 1].id;
    for (int i = 0; i < keep; i++)
        if ((r -= c[i].p) < 0) {
            id = c[i].id;
            break;
        }
    free(c);
    return id;
}

/* Where the earliest stop string starts in text, or -1. */
static long stop_at(const char *text, size_t n, const rk_sample_opts *o) {
    long best = -1;
    for (size_t i = 0; i < o->nstop; i++) {
        size_t k = strlen(o->stop[i]);
        for (size_t at = 0; k && at + k <= n; at++)
            if (!memcmp(text + at, o->stop[i], k)) {
                if (best < 0 || (long)at < best) best = (long)at;
                break;
            }
    }
    return best;
}

rk_status rk_generate(rk_model *m, const rk_tokenizer *tok, const int32_t *prompt, size_t n,
                      const rk_sample_opts *o, rk_ids *out_ids, rk_buf *out_text, rk_error *err) {
    const rk_model_config *cfg = rk_model_cfg(m);
    if (!n) return rk_fail(err, RK_EINVAL, "the prompt has no tokens");
    if (n >= (size_t)cfg->max_pos)
        return rk_fail(err, RK_EINVAL, "the prompt has %zu tokens; the model takes at most %d", n,
                       cfg->max_pos);
    int V = cfg->vocab_size;
    int32_t eos1 = rk_tok_eos(tok), eos2 = cfg->eos_id;
    rk_ids seq = {0}, gen = {0};
    rk_buf text = {0};
    float *logits = malloc((size_t)V * sizeof *logits);
    uint64_t rng = o->seed;
    rk_ids_put(&seq, prompt, n);
    rk_status s = logits && !seq.oom ? RK_OK : rk_fail(err, RK_ENOMEM, "out of memory");
    size_t done = 0; /* tokens of seq already in the KV cache */
    for (int k = 0; !s && k < o->max_new_tokens && seq.n < (size_t)cfg->max_pos; k++) {
        if (o->no_cache) {
            s = rk_model_forward(m, seq.v, NULL, 1, (int)seq.n, NULL, err);
            if (!s) memcpy(logits, rk_model_logits(m) + (seq.n - 1) * (size_t)V, (size_t)V * sizeof *logits);
        } else {
            s = rk_model_step(m, seq.v + done, (int)(seq.n - done), (int)done, logits, err);
            done = seq.n;
        }
        if (s) break;
        int32_t id = rk_sample_next(logits, V, o, &rng);
        if (id == eos1 || id == eos2) break;
        rk_ids_put(&seq, &id, 1);
        rk_ids_put(&gen, &id, 1);
        if (o->nstop) { /* stop strings may span tokens: look at the whole text so far */
            text.n = 0;
            if ((s = rk_tok_decode(tok, gen.v, gen.n, 1, &text, err))) break;
            if (stop_at(text.p, text.n, o) >= 0) break;
        }
    }
    if (!s && (seq.oom || gen.oom)) s = rk_fail(err, RK_ENOMEM, "out of memory");
    if (!s) {
        text.n = 0;
        s = rk_tok_decode(tok, gen.v, gen.n, 1, &text, err);
    }
    if (!s) {
        long cut = stop_at(text.p ? text.p : "", text.n, o);
        if (out_ids) rk_ids_put(out_ids, gen.v, gen.n);
        if (out_text) rk_buf_put(out_text, text.p ? text.p : "", cut >= 0 ? (size_t)cut : text.n);
    }
    free(logits);
    free(text.p);
    rk_ids_free(&seq);
    rk_ids_free(&gen);
    return s;
}
