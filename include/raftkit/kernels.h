/* kernels.h — the transformer's compute kernels, each a forward/backward pair
 * on float32 row-major arrays, in the style of llm.c. Matrix products go
 * through cblas; the rest are loops parallelized with OpenMP across rows,
 * batch and heads. Every kernel with a fast path has a plain reference loop
 * beside it (rk_ref_*), used by the tests to check the fast one.
 *
 * Conventions:
 *   - N is a number of rows (batch * time), C a row width.
 *   - Backward functions ACCUMULATE (+=) into every gradient they are given,
 *     so several paths can add into one buffer (residuals, tied embeddings,
 *     LoRA beside its base layer). A NULL gradient pointer is skipped, which
 *     is how frozen weights cost nothing. The one exception is
 *     rk_crossentropy_backward, which overwrites (it may work in place).
 *   - Attention tensors are addressed by a row stride: element (b, t, h, i)
 *     of q lives at q[(b*T + t)*q_stride + h*hd + i], so GPT-2's fused qkv
 *     rows ([q | k | v], stride 3C) and Llama's separate q, k, v (stride
 *     nh*hd or nkv*hd) are read in place. */
#ifndef RAFTKIT_KERNELS_H
#define RAFTKIT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* --- matmul ---------------------------------------------------------------
 * out[N,OC] = inp[N,C] · Wᵀ + bias, where W is stored
 *   w_in_out = 0: [OC, C] (torch nn.Linear), or
 *   w_in_out = 1: [C, OC] (GPT-2's Conv1D).
 * bias may be NULL. Overwrites out. */
void rk_matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N, int C, int OC,
                       int w_in_out);
/* dinp[N,C] += dout·W; dw += doutᵀ·inp (in W's own layout); dbias[OC] +=
 * column sums of dout. Any of dinp, dw, dbias may be NULL. */
void rk_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                        const float *w, int N, int C, int OC, int w_in_out);

/* --- embeddings -----------------------------------------------------------
 * out[b,t,:] = wte[tokens[b,t]] + (wpe ? wpe[pos0 + t] : 0). Token ids must be
 * in [0, vocab); the caller checks. */
void rk_embedding_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe, int B, int T,
                          int C, int pos0);
void rk_embedding_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int B, int T,
                           int C, int pos0);

/* --- norms ----------------------------------------------------------------
 * LayerNorm (torch.nn.LayerNorm, biased variance). mean and rstd [N] are
 * saved for the backward pass. b may be NULL. */
void rk_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, int N, int C, float eps);
void rk_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int N, int C);
/* RMSNorm as Hugging Face's LlamaRMSNorm: out = w * x / sqrt(mean(x²) + eps).
 * rstd [N] is saved for the backward pass. */
void rk_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int N, int C, float eps);
void rk_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp, const float *w,
                         const float *rstd, int N, int C);

/* --- rotary position embeddings ------------------------------------------
 * Hugging Face's convention (rotate_half: element i pairs with i + hd/2). */
typedef struct rk_rope_cfg {
    int head_dim;
    float theta;  /* rope_theta, 10000 by default */
    int llama3;   /* rope_scaling.rope_type == "llama3" */
    float factor; /* llama3 only: */
    float low_freq_factor;
    float high_freq_factor;
    int original_max_pos; /* original_max_position_embeddings */
} rk_rope_cfg;
/* inv_freq[head_dim/2], with Llama 3's frequency scaling when cfg->llama3. */
void rk_rope_inv_freq(float *inv_freq, const rk_rope_cfg *cfg);
/* cos_t, sin_t [npos, hd/2]: angle = pos * inv_freq[i], as float32 products. */
void rk_rope_table(float *cos_t, float *sin_t, const float *inv_freq, int npos, int hd);
/* Rotates x in place: x is [B, T, nh, hd] with row stride `stride` (see the
 * top), the position of (b, t) being pos0 + t. The tables cover those
 * positions. Backward rotates the gradient by the opposite angle. */
void rk_rope_forward(float *x, int B, int T, int nh, int hd, int stride, const float *cos_t,
                     const float *sin_t, int pos0);
void rk_rope_backward(float *dx, int B, int T, int nh, int hd, int stride, const float *cos_t,
                      const float *sin_t, int pos0);

/* --- causal self-attention with grouped-query heads ------------------------
 * q: nh heads; k, v: nkv heads (nh % nkv == 0; query head h reads kv head
 * h / (nh/nkv)). out[b,t,h,:] = Σ_{s<=t} softmax_s(q·k / sqrt(hd)) v, written
 * with row stride nh*hd. att [B, nh, T, T] keeps the probabilities for the
 * backward pass (entries above the diagonal are 0). */
void rk_attention_forward(float *out, float *att, const float *q, int q_stride, const float *k,
                          const float *v, int kv_stride, int B, int T, int nh, int nkv, int hd);
/* dq, dk, dv share the strides of q, k, v. scratch holds B*nh*T*T floats. */
void rk_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                           const float *att, const float *q, int q_stride, const float *k, const float *v,
                           int kv_stride, int B, int T, int nh, int nkv, int hd);

/* --- activations ------------------------------------------------------------
 * GELU, tanh approximation (GPT-2's "gelu_new"). */
void rk_gelu_forward(float *out, const float *inp, size_t n);
void rk_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n);
/* SwiGLU: out = silu(gate) * up (Llama's MLP). */
void rk_swiglu_forward(float *out, const float *gate, const float *up, size_t n);
void rk_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                        size_t n);

/* --- softmax + cross-entropy -----------------------------------------------
 * logits [N, V]; targets [N], where a negative target (Hugging Face's -100)
 * is ignored. Writes losses[N] (0 where ignored) and returns the number of
 * targets counted; the mean loss is Σ losses / count. */
size_t rk_crossentropy_forward(float *losses, const float *logits, const int32_t *targets, int N, int V);
/* dlogits = scale * (softmax(logits) - onehot(target)) on counted rows, 0 on
 * ignored rows. Overwrites; dlogits may be logits itself. */
void rk_crossentropy_backward(float *dlogits, const float *logits, const int32_t *targets, int N, int V,
                              float scale);

/* --- plain reference loops, for the tests ------------------------------------ */
void rk_ref_matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N, int C,
                           int OC, int w_in_out);
void rk_ref_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                            const float *w, int N, int C, int OC, int w_in_out);
void rk_ref_attention_forward(float *out, float *att, const float *q, int q_stride, const float *k,
                              const float *v, int kv_stride, int B, int T, int nh, int nkv, int hd);
void rk_ref_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *att,
                               const float *q, int q_stride, const float *k, const float *v, int kv_stride,
                               int B, int T, int nh, int nkv, int hd);

#endif
