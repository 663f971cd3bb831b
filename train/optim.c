/* optim.c — AdamW, clipping and schedules, with torch's and transformers'
 * arithmetic so a run matches theirs step for step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/optim.h"

static const char *const SCHED_NAMES[] = {"constant", "linear", "cosine"};

rk_status rk_schedule_parse(const char *name, rk_schedule *out, rk_error *err) {
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, SCHED_NAMES[i])) {
            *out = (rk_schedule)i;
            return RK_OK;
        }
    return rk_fail(err, RK_EINVAL, "unknown schedule \"%s\" (choose constant, linear or cosine)", name);
}

double rk_schedule_lr(rk_schedule s, long step, long warmup, long total) {
    if (step < warmup) return (double)step / (double)(warmup > 1 ? warmup : 1);
    double left = (double)(total - step), span = (double)(total - warmup > 1 ? total - warmup : 1);
    switch (s) {
    case RK_SCHED_CONSTANT: return 1.0;
    case RK_SCHED_LINEAR: return left / span > 0 ? left / span : 0.0;
    case RK_SCHED_COSINE: {
        double progress = (double)(step - warmup) / span, f = 0.5 * (1.0 + cos(M_PI * progress));
        return f > 0 ? f : 0.0;
    }
    }
    return 1.0;
}

double rk_clip_grad_norm(float *g, size_t n, double max_norm) {
    double sq = 0;
    for (size_t i = 0; i < n; i++)
        sq += (double)g[i] * g[i];
    double norm = sqrt(sq);
    if (max_norm > 0) {
        double coef = max_norm / (norm + 1e-6);
        if (coef < 1.0)
            for (size_t i = 0; i < n; i++)
                g[i] = (float)(g[i] * coef);
    }
    return norm;
}

rk_status rk_adamw_init(rk_adamw *o, size_t n, rk_error *err) {
    *o = (rk_adamw){.n = n, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    o->m = calloc(n ? n : 1, sizeof *o->m);
    o->v = calloc(n ? n : 1, sizeof *o->v);
    if (!o->m || !o->v) {
        rk_adamw_free(o);
        return rk_fail(err, RK_ENOMEM, "out of memory for the optimizer state (%zu parameters)", n);
    }
    return RK_OK;
}

void rk_adamw_free(rk_adamw *o) {
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

void rk_adamw_step(rk_adamw *o, float *p, const float *g, const uint8_t *decay_mask, float lr, float wd) {
    o->t++;
    /* torch computes the corrections in double, then the step in float. */
    double bc1 = 1.0 - pow(o->beta1, (double)o->t), bc2 = 1.0 - pow(o->beta2, (double)o->t);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < o->n; i++) {
        if (wd != 0 && (!decay_mask || decay_mask[i])) p[i] *= 1.0f - lr * wd;
        /* torch's exp_avg.lerp_(grad, 1 - beta1) */
        float m = o->m[i] = o->m[i] + (1.0f - b1) * (g[i] - o->m[i]);
        float v = o->v[i] = b2 * o->v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] -= step_size * m / (sqrtf(v) / bc2_sqrt + eps);
    }
}
