/* model.h — decoder-only transformers built from a Hugging Face model
 * directory (config.json + safetensors): forward to logits and loss, backward
 * to every trainable parameter, LoRA adapters in PEFT's layout, and a KV-cache
 * step for generation.
 *
 * Families:
 *   - gpt2: learned positions, LayerNorm, GELU (tanh), fused c_attn, Conv1D
 *     weights stored [in, out]; lm_head tied to wte.
 *   - llama (model_type llama, mistral, qwen2): RMSNorm, RoPE (with Llama 3
 *     rope scaling), SwiGLU, grouped-query attention, optional q/k/v bias
 *     (Qwen2, or attention_bias), tied or untied embeddings.
 *
 * Parameters keep Hugging Face's names, shapes and layouts, so loading,
 * saving and comparing with PyTorch are one-to-one. All parameters of a kind
 * (base weights, or LoRA weights) live in one flat float32 array, with their
 * gradients in a second one of the same layout: optimizers and checkpoints see
 * a single vector. */
#ifndef RAFTKIT_MODEL_H
#define RAFTKIT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/kernels.h"
#include "raftkit/status.h"

typedef enum rk_arch { RK_ARCH_GPT2 = 0, RK_ARCH_LLAMA = 1 } rk_arch;

typedef struct rk_model_config {
    rk_arch arch;
    char model_type[32]; /* config.json's: "gpt2", "llama", "mistral", "qwen2" */
    int vocab_size;
    int hidden; /* d_model */
    int n_layer;
    int n_head;
    int n_kv_head;      /* = n_head without GQA */
    int head_dim;       /* hidden / n_head unless config.json says */
    int intermediate;   /* MLP width (4 * hidden for gpt2 unless n_inner) */
    int max_pos;        /* n_positions / max_position_embeddings */
    float norm_eps;     /* layer_norm_epsilon / rms_norm_eps */
    rk_rope_cfg rope;   /* llama only */
    int tie_embeddings; /* lm_head shares the token embedding */
    int attn_bias;      /* q/k/v projections have biases (Qwen2) */
    int bos_id, eos_id; /* from config.json, -1 when absent */
} rk_model_config;

/* One parameter tensor, named as in the Hugging Face checkpoint (for LoRA
 * tensors: as in PEFT's adapter_model.safetensors). data and grad point into
 * the model's flat arrays; grad is NULL for frozen parameters. */
typedef struct rk_param {
    char name[128];
    int ndim;
    int64_t shape[2];
    size_t offset; /* into the flat array of its kind */
    size_t n;
    int decay; /* weight decay applies: matrices and embeddings, not norms or biases */
    float *data;
    float *grad;
} rk_param;

typedef struct rk_model rk_model;

/* Loads dir/config.json and the weights (rk_st_open: model.safetensors or the
 * sharded index), converted to float32. Fails with RK_ENOTFOUND (no config or
 * no weights, naming what is missing), RK_EFORMAT (an unsupported
 * architecture, naming it and the supported ones; a missing tensor or a shape
 * that disagrees with the config, naming both), RK_EIO, RK_ENOMEM. */
rk_status rk_model_load(const char *dir, rk_model **out, rk_error *err);
void rk_model_free(rk_model *m);
const rk_model_config *rk_model_cfg(const rk_model *m);

/* --- LoRA (PEFT's semantics) --------------------------------------------- */
typedef struct rk_lora_opts {
    int r;
    float alpha;
    float dropout;       /* on the adapter's input, in training mode only */
    int rslora;          /* scale alpha/sqrt(r) instead of alpha/r */
    const char *targets; /* comma-separated module names: q_proj,k_proj,... or c_attn,c_proj,c_fc */
    uint64_t seed;       /* A's init (PEFT's kaiming-uniform bounds); B starts at 0 */
} rk_lora_opts;

/* Adds adapters to every target module and freezes the base: afterwards the
 * trainable parameters are the LoRA A and B matrices only, and base weights
 * get no gradient buffers. Fails with RK_EINVAL on an unknown target name
 * (naming the family's module names). */
rk_status rk_model_lora_add(rk_model *m, const rk_lora_opts *o, rk_error *err);
/* Loads a PEFT adapter directory (adapter_config.json +
 * adapter_model.safetensors or adapter_model.bin is refused), as written by
 * peft or by rk_model_lora_save; same effect as rk_model_lora_add with the
 * adapter's weights. An adapter whose base_model_name_or_path names another
 * model (its last component is neither the model directory's name nor
 * config.json's _name_or_path's) is refused with both names. */
rk_status rk_model_lora_load(rk_model *m, const char *adapter_dir, rk_error *err);
/* Writes adapter_config.json and adapter_model.safetensors to dir, atomically
 * per file. base_model names the base in adapter_config.json. */
rk_status rk_model_lora_save(const rk_model *m, const char *dir, const char *base_model, rk_error *err);
/* Folds B·A·scale into the base weights and drops the adapters. */
rk_status rk_model_lora_merge(rk_model *m, rk_error *err);

/* Writes a Hugging Face model directory: config.json (the loaded one, with
 * the same fields) and model.safetensors (F32, HF names; a tied lm_head is not
 * written). Atomic per file. Tokenizer files are the caller's. */
rk_status rk_model_save(const rk_model *m, const char *dir, rk_error *err);

/* --- trainable parameters ------------------------------------------------- */
/* The trainable tensors (all base weights, or the LoRA ones after
 * rk_model_lora_add/load), in a fixed order; their data and grads are the
 * flat arrays below. */
size_t rk_model_nparams(const rk_model *m);
const rk_param *rk_model_param(const rk_model *m, size_t i);
/* The flat arrays of the trainable parameters and their gradients, n floats
 * each. */
float *rk_model_params(rk_model *m, size_t *n);
float *rk_model_grads(rk_model *m, size_t *n);
void rk_model_zero_grad(rk_model *m);
/* Training mode turns LoRA dropout on; rng seeds it deterministically. */
void rk_model_train_mode(rk_model *m, int on, uint64_t seed);

/* --- forward / backward ----------------------------------------------------
 * tokens [B, T], positions 0..T-1 in each row (T <= max_pos). targets [B, T]
 * is the token to predict at each position (already shifted by the caller),
 * negative to ignore; NULL computes logits only. *loss = mean cross-entropy
 * over the counted targets (NaN when none are counted). */
rk_status rk_model_forward(rk_model *m, const int32_t *tokens, const int32_t *targets, int B, int T,
                           float *loss, rk_error *err);
/* The logits [B, T, vocab] of the last forward (before any backward). */
const float *rk_model_logits(const rk_model *m);
/* Adds d(scale * loss)/dθ of the last forward (which had targets) to the
 * gradients of the trainable parameters. */
rk_status rk_model_backward(rk_model *m, float scale, rk_error *err);

/* --- generation --------------------------------------------------------------
 * Runs tokens[0..n) at positions pos..pos+n-1 against the KV cache (which
 * holds positions 0..pos-1 from earlier calls; pos = 0 starts over) and
 * writes the logits of the last one to logits[vocab]. Fails with RK_EINVAL
 * past max_pos. */
rk_status rk_model_step(rk_model *m, const int32_t *tokens, int n, int pos, float *logits, rk_error *err);

#endif
