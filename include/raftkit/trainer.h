/* trainer.h — raft-train's training loop: a model directory and JSONL data
 * in, a fine-tuned Hugging Face directory or a PEFT adapter out, with a
 * JSONL log and checkpoints a killed run resumes from exactly.
 *
 * The output directory holds, when the run ends:
 *   full fine-tuning   config.json, model.safetensors, the tokenizer files
 *   lora               adapter_config.json, adapter_model.safetensors, the
 *                      tokenizer files (with merge: a full directory instead)
 *   always             train_log.jsonl, and checkpoint/state.bin while
 *                      save_every is set
 *
 * checkpoint/state.bin, all little-endian:
 *   0   char[8]  "RKCKPT\0\0"
 *   8   u32      version (1)
 *   12  u32      method (0 full, 1 lora)
 *   16  u64      optimizer steps taken
 *   24  u64      epoch of the data position
 *   32  u64      examples of that epoch consumed
 *   40  u64      n: trainable parameters
 *   48  u64      hash of the options a resumed run must share
 *   56  u64      AdamW step count
 *   64  f32[n]   parameters, then f32[n] AdamW m, then f32[n] AdamW v
 * Its size must be exactly 64 + 12 n. It is written to state.bin.tmp, synced
 * and renamed, so a kill at any moment leaves the previous one whole. */
#ifndef RAFTKIT_TRAINER_H
#define RAFTKIT_TRAINER_H

#include <stdint.h>

#include "raftkit/dataset.h"
#include "raftkit/model.h"
#include "raftkit/optim.h"

typedef enum rk_method { RK_METHOD_FULL = 0, RK_METHOD_LORA = 1 } rk_method;

typedef struct rk_train_opts {
    const char *model_dir;
    const char *data;      /* JSONL */
    const char *eval_data; /* JSONL or NULL */
    const char *out;       /* created when missing */
    rk_method method;
    rk_lora_opts lora;
    int merge; /* lora: write the merged model instead of the adapter */
    rk_data_opts data_opts;
    int template_given; /* data_opts.tpl was set by the user; else detected */
    float lr;
    rk_schedule schedule;
    long warmup; /* optimizer steps */
    int epochs;
    long max_steps; /* > 0: stop there (overrides epochs) */
    int batch;      /* sequences per micro-batch */
    int grad_accum; /* micro-batches per optimizer step */
    float clip;     /* max gradient norm; <= 0: off */
    float weight_decay;
    uint64_t seed;
    long eval_every; /* optimizer steps; 0: only at the end */
    long save_every; /* optimizer steps; 0: no checkpoints */
    int resume;      /* continue from out/checkpoint when there is one */
    int progress;    /* draw a progress bar */
} rk_train_opts;

typedef struct rk_train_result {
    long steps;        /* optimizer steps in total */
    long resumed_from; /* the checkpoint's step, or -1 */
    double last_loss;
    double eval_loss; /* NaN without eval data */
    double tokens_per_s;
    size_t examples, truncated, dropped;
} rk_train_result;

/* Runs the whole training. Fails with what went wrong and where: the model
 * or data (file and line), a checkpoint that does not match the options, a
 * NaN loss (naming the step; the last checkpoint is kept and nothing else is
 * written). */
rk_status rk_train(const rk_train_opts *o, rk_train_result *res, rk_error *err);

#endif
