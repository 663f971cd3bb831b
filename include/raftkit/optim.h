/* optim.h — what turns gradients into updates: AdamW with torch's formulas,
 * global-norm gradient clipping, and Hugging Face's learning-rate schedules.
 * Works on the flat parameter and gradient arrays of rk_model (model.h). */
#ifndef RAFTKIT_OPTIM_H
#define RAFTKIT_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/status.h"

typedef enum rk_schedule { RK_SCHED_CONSTANT = 0, RK_SCHED_LINEAR = 1, RK_SCHED_COSINE = 2 } rk_schedule;

/* "constant", "linear", "cosine" → *out; RK_EINVAL naming the choices. */
rk_status rk_schedule_parse(const char *name, rk_schedule *out, rk_error *err);

/* The learning-rate multiplier at optimizer step `step` (0-based) of `total`,
 * as transformers' get_{constant,linear,cosine}_schedule_with_warmup give it:
 * step / warmup during warmup (so 0 at the first step), then 1, or a linear
 * decay to 0 at `total`, or a half cosine to 0 at `total`. */
double rk_schedule_lr(rk_schedule s, long step, long warmup, long total);

/* Scales g[0..n) so that its L2 norm is at most max_norm (torch's
 * clip_grad_norm_: coefficient max_norm / (norm + 1e-6), applied when below
 * 1); max_norm <= 0 leaves g alone. Returns the norm before clipping. */
double rk_clip_grad_norm(float *g, size_t n, double max_norm);

/* AdamW state for n parameters: m and v, both zero at the start. */
typedef struct rk_adamw {
    size_t n;
    float *m, *v;
    long t; /* steps taken */
    float beta1, beta2, eps;
} rk_adamw;

/* Allocates m and v (zeroed); RK_ENOMEM when out of memory. */
rk_status rk_adamw_init(rk_adamw *o, size_t n, rk_error *err);
void rk_adamw_free(rk_adamw *o);

/* One step of torch.optim.AdamW on p[0..n) with gradients g: decoupled weight
 * decay p -= lr*wd*p first, then the bias-corrected Adam update. decay_mask
 * (n bytes, may be NULL for "all") says which elements get weight decay. */
void rk_adamw_step(rk_adamw *o, float *p, const float *g, const uint8_t *decay_mask, float lr, float wd);

#endif
