/* dataset.h — training data for raft-train: JSONL records turned into token
 * sequences with a loss mask, padded into batches of shifted targets.
 *
 * Record formats, recognized per line by their fields (first match wins):
 *   messages          {"messages": [{"role", "content"}, ...]}      a chat
 *   raft              {"instruction", "cot_answer", ...}            raft-assemble's raft format:
 *                                                                   one user turn, one assistant turn
 *   prompt/completion {"prompt", "completion"}                      the two strings joined as they are
 *                                                                   (TRL's prompt-completion format)
 *   alpaca            {"instruction", "input"?, "output"}           one user turn (instruction, a blank
 *                                                                   line, input), one assistant turn
 *   text              {"text"}                                      plain language modelling
 * Chats go through the chat template (template.h). With the sft
 * objective only assistant turns and completions count in the loss (TRL's
 * completion-only loss), each with the token that ends it (<|im_end|>,
 * <|eot_id|>, or EOS); with the lm objective every token counts. BOS is
 * prepended when the tokenizer has one distinct from EOS (as Llama's
 * tokenizers do and GPT-2's and Qwen2's do not); records that end in free text
 * get EOS appended. */
#ifndef RAFTKIT_DATASET_H
#define RAFTKIT_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/status.h"
#include "raftkit/template.h"
#include "raftkit/tokenizer.h"

typedef enum rk_objective { RK_OBJ_LM = 0, RK_OBJ_SFT = 1 } rk_objective;

typedef struct rk_data_opts {
    rk_objective objective;
    rk_template tpl;
    int max_len;   /* tokens per sequence */
    int drop_long; /* drop longer examples instead of truncating them */
    int packing;   /* concatenate examples and cut into max_len blocks */
} rk_data_opts;

/* One sequence: ids[0..n) and mask[0..n), mask[i] = 1 when predicting ids[i]
 * counts in the loss. */
typedef struct rk_example {
    int32_t *ids;
    uint8_t *mask;
    size_t n;
} rk_example;

typedef struct rk_dataset {
    rk_example *ex;
    size_t n;
    size_t records;   /* lines read */
    size_t truncated; /* examples cut to max_len */
    size_t dropped;   /* examples dropped: too long with drop_long, or nothing left to learn */
    size_t tokens;    /* tokens over all examples */
    size_t targets;   /* tokens counted in the loss */
} rk_dataset;

/* Reads path (JSONL) into d. A line that is not JSON, or has none of the
 * formats' fields, fails with RK_EFORMAT naming "path:line" and what is
 * wrong; a dpo record ("chosen"/"rejected") is refused the same way. Blank
 * lines are skipped. d is zeroed on failure. */
rk_status rk_dataset_load(const char *path, const rk_tokenizer *tok, const rk_data_opts *o, rk_dataset *d,
                          rk_error *err);
void rk_dataset_free(rk_dataset *d);

/* Lays examples rows[0..B) out as a [B, T] batch, T = the longest of them:
 * tokens padded with pad, targets[b][t] = ids[t+1] where mask[t+1] is set and
 * -1 elsewhere (the last position, padding, masked tokens). Returns T. tokens
 * and targets hold B * max_len entries. */
int rk_dataset_batch(const rk_dataset *d, const size_t *rows, int B, int32_t pad, int32_t *tokens,
                     int32_t *targets);

/* A permutation of [0, n) drawn from (seed, epoch): the order of an epoch,
 * the same whenever it is asked for again (resume). */
void rk_dataset_order(size_t *order, size_t n, uint64_t seed, uint64_t epoch);

#endif
