/* sample.h — text generation with a model and its tokenizer: greedy,
 * temperature, top-k and top-p sampling, stop strings and a token limit, run
 * on the model's KV cache (rk_model_step). */
#ifndef RAFTKIT_SAMPLE_H
#define RAFTKIT_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/buf.h"
#include "raftkit/model.h"
#include "raftkit/tokenizer.h"

typedef struct rk_sample_opts {
    int max_new_tokens;
    float temperature;       /* 0: greedy (argmax) */
    int top_k;               /* 0: off */
    float top_p;             /* 1: off */
    const char *const *stop; /* strings that end the text (not included); may be NULL */
    size_t nstop;
    uint64_t seed;
    int no_cache; /* recompute the whole prefix at each token (the benchmark's baseline) */
} rk_sample_opts;

/* The next token from logits[0..V) (modified in place), drawing from *rng
 * when sampling. Top-k then top-p are applied to the tempered distribution,
 * as transformers' TopK/TopP logits warpers do. */
int32_t rk_sample_next(float *logits, int V, const rk_sample_opts *o, uint64_t *rng);

/* Continues prompt[0..n) until EOS (the tokenizer's or the model's), a stop
 * string, or max_new_tokens. Appends the new ids to out_ids (when not NULL)
 * and their text, cut before a stop string, to out_text. Fails with
 * RK_EINVAL when the prompt is empty or does not fit max_pos. */
rk_status rk_generate(rk_model *m, const rk_tokenizer *tok, const int32_t *prompt, size_t n,
                      const rk_sample_opts *o, rk_ids *out_ids, rk_buf *out_text, rk_error *err);

#endif
