/* kernels.c — the transformer's compute kernels (see kernels.h): forward and
 * backward pairs on float32 row-major arrays. Matrix products, including the
 * per-head products of attention, go through cblas_sgemm; everything else is
 * plain loops, parallel across rows with OpenMP where a row is independent.
 *
 * Numerics follow PyTorch's float32 results to about 1e-5 relative: softmaxes
 * subtract the row maximum, and every reduction over a row (means, variances,
 * softmax denominators, bias and norm-weight gradients) accumulates in double
 * so that long rows lose nothing to the summation order.
 *
 * Not here: model structure, allocation (callers own every buffer, kernels
 * never allocate), and input validation beyond what the header promises
 * (token ids and targets are checked by the caller). */
#include "raftkit/kernels.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* Below this much work per call, starting the OpenMP team costs more than
 * the loop; the clauses below keep small calls (tests, tiny models) serial. */
#define PAR_MIN 4096

/* Column blocks for the gradient reductions over rows (dbias, dw of the
 * norms): each thread owns whole columns, so no two threads add into one
 * element, and a block of double accumulators stays on the stack. */
#define COL_BLOCK 64

/* Adds the column sums of a[N, C] to out[C], accumulating in double. */
static void add_column_sums(float *out, const float *a, int N, int C) {
    int nblocks = (C + COL_BLOCK - 1) / COL_BLOCK;
#pragma omp parallel for schedule(static) if ((long)N * C > PAR_MIN)
    for (int blk = 0; blk < nblocks; blk++) {
        int c0 = blk * COL_BLOCK, c1 = c0 + COL_BLOCK < C ? c0 + COL_BLOCK : C;
        double acc[COL_BLOCK] = {0};
        for (int n = 0; n < N; n++) {
            const float *row = a + (size_t)n * C;
            for (int c = c0; c < c1; c++)
                acc[c - c0] += row[c];
        }
        for (int c = c0; c < c1; c++)
            out[c] += (float)acc[c - c0];
    }
}

/* dw += the column sums of dout * the normalized input, (x - mean) * rstd
 * (LayerNorm) or x * rstd (RMSNorm: mean NULL; x - 0 is x exactly), in
 * column blocks summed in double as add_column_sums does. */
static void add_norm_weight_grad(float *dw, const float *dout, const float *inp, const float *mean,
                                 const float *rstd, int N, int C) {
    int nblocks = (C + COL_BLOCK - 1) / COL_BLOCK;
#pragma omp parallel for schedule(static) if ((long)N * C > PAR_MIN)
    for (int blk = 0; blk < nblocks; blk++) {
        int c0 = blk * COL_BLOCK, c1 = c0 + COL_BLOCK < C ? c0 + COL_BLOCK : C;
        double acc[COL_BLOCK] = {0};
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
            float m = mean ? mean[n] : 0.0f, s = rstd[n];
            for (int c = c0; c < c1; c++)
                acc[c - c0] += (double)d[c] * ((x[c] - m) * s);
        }
        for (int c = c0; c < c1; c++)
            dw[c] += (float)acc[c - c0];
    }
}

/* ---- matmul ---- */

void rk_matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N, int C, int OC,
                       int w_in_out) {
    if (N <= 0 || OC <= 0) return;
    if (C <= 0) {
        /* An empty inner dimension is a product of zeros; BLAS would reject lda = 0. */
        memset(out, 0, (size_t)N * OC * sizeof *out);
    } else if (w_in_out) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, OC, C, 1.0f, inp, C, w, OC, 0.0f, out, OC);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, w, C, 0.0f, out, OC);
    }
    if (bias) {
#pragma omp parallel for schedule(static) if ((long)N * OC > PAR_MIN)
        for (int n = 0; n < N; n++) {
            float *row = out + (size_t)n * OC;
            for (int o = 0; o < OC; o++)
                row[o] += bias[o];
        }
    }
}

void rk_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                        const float *w, int N, int C, int OC, int w_in_out) {
    if (N <= 0 || OC <= 0) return;
    if (C > 0) {
        if (dinp) {
            if (w_in_out) /* W [C, OC]: dinp += dout · Wᵀ */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, C, OC, 1.0f, dout, OC, w, OC, 1.0f,
                            dinp, C);
            else /* W [OC, C]: dinp += dout · W */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, w, C, 1.0f,
                            dinp, C);
        }
        if (dw) {
            if (w_in_out) /* dW [C, OC] += inpᵀ · dout */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, OC, N, 1.0f, inp, C, dout, OC, 1.0f,
                            dw, OC);
            else /* dW [OC, C] += doutᵀ · inp */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f,
                            dw, C);
        }
    }
    if (dbias) add_column_sums(dbias, dout, N, OC);
}

void rk_ref_matmul_forward(float *out, const float *inp, const float *w, const float *bias, int N, int C,
                           int OC, int w_in_out) {
    for (int n = 0; n < N; n++) {
        for (int o = 0; o < OC; o++) {
            double s = bias ? bias[o] : 0.0;
            for (int c = 0; c < C; c++) {
                float wv = w_in_out ? w[(size_t)c * OC + o] : w[(size_t)o * C + c];
                s += (double)inp[(size_t)n * C + c] * wv;
            }
            out[(size_t)n * OC + o] = (float)s;
        }
    }
}

void rk_ref_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                            const float *w, int N, int C, int OC, int w_in_out) {
    for (int n = 0; n < N && dinp; n++) {
        for (int c = 0; c < C; c++) {
            double s = 0.0;
            for (int o = 0; o < OC; o++) {
                float wv = w_in_out ? w[(size_t)c * OC + o] : w[(size_t)o * C + c];
                s += (double)dout[(size_t)n * OC + o] * wv;
            }
            dinp[(size_t)n * C + c] += (float)s;
        }
    }
    for (int o = 0; o < OC && (dw || dbias); o++) {
        for (int c = 0; c < C && dw; c++) {
            double s = 0.0;
            for (int n = 0; n < N; n++)
                s += (double)dout[(size_t)n * OC + o] * inp[(size_t)n * C + c];
            dw[w_in_out ? (size_t)c * OC + o : (size_t)o * C + c] += (float)s;
        }
        if (dbias) {
            double s = 0.0;
            for (int n = 0; n < N; n++)
                s += dout[(size_t)n * OC + o];
            dbias[o] += (float)s;
        }
    }
}

/* ---- embeddings ---- */

void rk_embedding_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe, int B, int T,
                          int C, int pos0) {
#pragma omp parallel for schedule(static) if ((long)B * T * C > PAR_MIN)
    for (int bt = 0; bt < B * T; bt++) {
        float *o = out + (size_t)bt * C;
        const float *e = wte + (size_t)tokens[bt] * C;
        if (wpe) {
            const float *p = wpe + (size_t)(pos0 + bt % T) * C;
            for (int c = 0; c < C; c++)
                o[c] = e[c] + p[c];
        } else {
            memcpy(o, e, (size_t)C * sizeof *o);
        }
    }
}

void rk_embedding_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int B, int T,
                           int C, int pos0) {
    /* Rows that share a token (or a position) add into one row of the table:
     * the threads split the columns, never the rows. */
    int nblocks = (C + COL_BLOCK - 1) / COL_BLOCK;
#pragma omp parallel for schedule(static) if ((long)B * T * C > PAR_MIN)
    for (int blk = 0; blk < nblocks; blk++) {
        int c0 = blk * COL_BLOCK, c1 = c0 + COL_BLOCK < C ? c0 + COL_BLOCK : C;
        for (int bt = 0; bt < B * T; bt++) {
            const float *d = dout + (size_t)bt * C;
            if (dwte) {
                float *g = dwte + (size_t)tokens[bt] * C;
                for (int c = c0; c < c1; c++)
                    g[c] += d[c];
            }
            if (dwpe) {
                float *g = dwpe + (size_t)(pos0 + bt % T) * C;
                for (int c = c0; c < c1; c++)
                    g[c] += d[c];
            }
        }
    }
}

/* ---- LayerNorm ---- */

void rk_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, int N, int C, float eps) {
#pragma omp parallel for schedule(static) if ((long)N * C > PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        double m = 0.0, v = 0.0;
        for (int c = 0; c < C; c++)
            m += x[c];
        m /= C;
        /* Two passes: the variance of the centred values does not cancel. */
        for (int c = 0; c < C; c++) {
            double d = x[c] - m;
            v += d * d;
        }
        v /= C;
        float mf = (float)m, s = (float)(1.0 / sqrt(v + eps));
        for (int c = 0; c < C; c++)
            o[c] = (x[c] - mf) * s * w[c] + (b ? b[c] : 0.0f);
        mean[n] = mf;
        rstd[n] = s;
    }
}

void rk_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int N, int C) {
    if (dinp) {
#pragma omp parallel for schedule(static) if ((long)N * C > PAR_MIN)
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
            float m = mean[n], s = rstd[n];
            double dmean = 0.0, dnorm_mean = 0.0;
            for (int c = 0; c < C; c++) {
                double dn = (double)d[c] * w[c];
                dmean += dn;
                dnorm_mean += dn * ((x[c] - m) * s);
            }
            dmean /= C;
            dnorm_mean /= C;
            float *g = dinp + (size_t)n * C;
            for (int c = 0; c < C; c++) {
                double norm = (x[c] - m) * s;
                double dn = (double)d[c] * w[c];
                g[c] += (float)((dn - dmean - norm * dnorm_mean) * s);
            }
        }
    }
    if (db) add_column_sums(db, dout, N, C);
    if (dw) add_norm_weight_grad(dw, dout, inp, mean, rstd, N, C);
}

/* ---- RMSNorm ---- */

void rk_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int N, int C, float eps) {
#pragma omp parallel for schedule(static) if ((long)N * C > PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        double ss = 0.0;
        for (int c = 0; c < C; c++)
            ss += (double)x[c] * x[c];
        float s = (float)(1.0 / sqrt(ss / C + eps));
        /* LlamaRMSNorm's order: normalize, then scale by the weight. */
        for (int c = 0; c < C; c++)
            o[c] = w[c] * (x[c] * s);
        rstd[n] = s;
    }
}

void rk_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp, const float *w,
                         const float *rstd, int N, int C) {
    if (dinp) {
#pragma omp parallel for schedule(static) if ((long)N * C > PAR_MIN)
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
            double s = rstd[n], dot = 0.0;
            for (int c = 0; c < C; c++)
                dot += (double)d[c] * w[c] * x[c];
            /* d/dx_j of w_i x_i s, with ds/dx_j = -s³ x_j / C. */
            double k = s * s * dot / C;
            float *g = dinp + (size_t)n * C;
            for (int c = 0; c < C; c++)
                g[c] += (float)(s * ((double)d[c] * w[c] - x[c] * k));
        }
    }
    if (dw) add_norm_weight_grad(dw, dout, inp, NULL, rstd, N, C);
}

/* ---- rotary position embeddings ---- */

/* float32 arithmetic, one rounding per operation, as torch does it: the
 * operation in double, then rounded, is the correctly rounded float result
 * for + - * / (double has more than twice float's precision), and unlike
 * plain float code it cannot be contracted into an fma that skips a rounding. */
static float f32_mul(float a, float b) { return (float)((double)a * b); }
static float f32_div(float a, float b) { return (float)((double)a / b); }
static float f32_add(float a, float b) { return (float)((double)a + b); }

void rk_rope_inv_freq(float *inv_freq, const rk_rope_cfg *cfg) {
    int hd = cfg->head_dim, half = hd / 2;
    /* Python scalars meet float32 tensors as float32 values. */
    float two_pi = (float)6.283185307179586476925286766559;
    float factor = cfg->factor, low = cfg->low_freq_factor;
    float old_len = (float)cfg->original_max_pos;
    float low_wavelen = (float)((double)cfg->original_max_pos / cfg->low_freq_factor);
    float high_wavelen = (float)((double)cfg->original_max_pos / cfg->high_freq_factor);
    float band = (float)((double)cfg->high_freq_factor - cfg->low_freq_factor);
    for (int i = 0; i < half; i++) {
        /* 1.0 / (base ** (arange(0, dim, 2).float() / dim)): a float32
         * exponent, the power rounded to float32, then its reciprocal. This
         * reproduces transformers' inv_freq bit for bit where computing it all
         * in double is off by an ulp for about one value in four. */
        float e = f32_div((float)(2 * i), (float)hd);
        float f = f32_div(1.0f, (float)pow((double)cfg->theta, (double)e));
        if (cfg->llama3) {
            /* _compute_llama3_parameters: wavelengths longer than the original
             * context are slowed by factor, short ones kept, the band between
             * blended. torch writes 2π / f and n / wavelen as reciprocal times. */
            float wavelen = f32_mul(f32_div(1.0f, f), two_pi);
            if (wavelen > low_wavelen) {
                f = f32_div(f, factor);
            } else if (!(wavelen < high_wavelen)) {
                float smooth = f32_div(f32_add(f32_mul(f32_div(1.0f, wavelen), old_len), -low), band);
                f = f32_add(f32_div(f32_mul(f32_add(1.0f, -smooth), f), factor), f32_mul(smooth, f));
            }
        }
        inv_freq[i] = f;
    }
}

void rk_rope_table(float *cos_t, float *sin_t, const float *inv_freq, int npos, int hd) {
    int half = hd / 2;
    for (int p = 0; p < npos; p++) {
        for (int i = 0; i < half; i++) {
            /* The angle is rounded to float32 first, as torch forms it. */
            float angle = (float)p * inv_freq[i];
            cos_t[(size_t)p * half + i] = (float)cos((double)angle);
            sin_t[(size_t)p * half + i] = (float)sin((double)angle);
        }
    }
}

/* Rotates every head of every row by the table's angle at its position, or
 * by the opposite angle when sign = -1 (the transpose of the rotation). */
static void rope_apply(float *x, int B, int T, int nh, int hd, int stride, const float *cos_t,
                       const float *sin_t, int pos0, float sign) {
    int half = hd / 2;
#pragma omp parallel for schedule(static) if ((long)B * T * nh * hd > PAR_MIN)
    for (int bt = 0; bt < B * T; bt++) {
        int pos = pos0 + bt % T;
        const float *cs = cos_t + (size_t)pos * half, *sn = sin_t + (size_t)pos * half;
        for (int h = 0; h < nh; h++) {
            float *v = x + (size_t)bt * stride + (size_t)h * hd;
            for (int i = 0; i < half; i++) {
                float c = cs[i], s = sign * sn[i];
                float x1 = v[i], x2 = v[i + half];
                /* q*cos + rotate_half(q)*sin, rotate_half(q) = [-q2, q1]. */
                v[i] = x1 * c - x2 * s;
                v[i + half] = x2 * c + x1 * s;
            }
        }
    }
}

void rk_rope_forward(float *x, int B, int T, int nh, int hd, int stride, const float *cos_t,
                     const float *sin_t, int pos0) {
    rope_apply(x, B, T, nh, hd, stride, cos_t, sin_t, pos0, 1.0f);
}

void rk_rope_backward(float *dx, int B, int T, int nh, int hd, int stride, const float *cos_t,
                      const float *sin_t, int pos0) {
    rope_apply(dx, B, T, nh, hd, stride, cos_t, sin_t, pos0, -1.0f);
}

/* ---- attention ---- */

/* Row t of a [T, T] score matrix becomes the causal softmax of its first
 * t + 1 entries; the rest are zeroed so P·V may run over full rows. */
static void causal_softmax_rows(float *s, int T) {
    for (int t = 0; t < T; t++) {
        float *row = s + (size_t)t * T;
        float mx = row[0];
        for (int j = 1; j <= t; j++)
            mx = row[j] > mx ? row[j] : mx;
        double sum = 0.0;
        for (int j = 0; j <= t; j++) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j <= t; j++)
            row[j] *= inv;
        for (int j = t + 1; j < T; j++)
            row[j] = 0.0f;
    }
}

void rk_attention_forward(float *out, float *att, const float *q, int q_stride, const float *k,
                          const float *v, int kv_stride, int B, int T, int nh, int nkv, int hd) {
    if (B <= 0 || T <= 0 || nh <= 0 || hd <= 0) return;
    int group = nh / nkv, C = nh * hd;
    float scale = (float)(1.0 / sqrt((double)hd));
    /* One (batch, head) pair per iteration: its own slice of att and its own
     * columns of out, so the iterations share nothing they write. OpenBLAS
     * (its OpenMP build) runs single-threaded inside the parallel region. */
#pragma omp parallel for schedule(dynamic) if ((long)B * nh * T * T * hd > PAR_MIN * 16)
    for (int bh = 0; bh < B * nh; bh++) {
        int b = bh / nh, h = bh % nh, kvh = h / group;
        const float *qb = q + (size_t)b * T * q_stride + (size_t)h * hd;
        const float *kb = k + (size_t)b * T * kv_stride + (size_t)kvh * hd;
        const float *vb = v + (size_t)b * T * kv_stride + (size_t)kvh * hd;
        float *p = att + (size_t)bh * T * T;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, scale, qb, q_stride, kb, kv_stride,
                    0.0f, p, T);
        causal_softmax_rows(p, T);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, p, T, vb, kv_stride, 0.0f,
                    out + (size_t)b * T * C + (size_t)h * hd, C);
    }
}

void rk_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                           const float *att, const float *q, int q_stride, const float *k, const float *v,
                           int kv_stride, int B, int T, int nh, int nkv, int hd) {
    if (B <= 0 || T <= 0 || nh <= 0 || hd <= 0) return;
    if (!dq && !dk && !dv) return;
    int group = nh / nkv, C = nh * hd;
    float scale = (float)(1.0 / sqrt((double)hd));
    long work = (long)B * nh * T * T * hd;

    /* Phase 1, per (batch, query head): the score gradient dS into scratch,
     * and dq, which belongs to that head alone. */
    if (dq || dk) {
#pragma omp parallel for schedule(dynamic) if (work > PAR_MIN * 16)
        for (int bh = 0; bh < B * nh; bh++) {
            int b = bh / nh, h = bh % nh, kvh = h / group;
            const float *kb = k + (size_t)b * T * kv_stride + (size_t)kvh * hd;
            const float *vb = v + (size_t)b * T * kv_stride + (size_t)kvh * hd;
            const float *dob = dout + (size_t)b * T * C + (size_t)h * hd;
            const float *p = att + (size_t)bh * T * T;
            float *ds = scratch + (size_t)bh * T * T;
            /* dP = dout · Vᵀ */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, 1.0f, dob, C, vb, kv_stride, 0.0f,
                        ds, T);
            /* Softmax backward: dS = P ⊙ (dP - Σ_j P·dP) · scale, causal. */
            for (int t = 0; t < T; t++) {
                const float *pr = p + (size_t)t * T;
                float *dr = ds + (size_t)t * T;
                double dot = 0.0;
                for (int j = 0; j <= t; j++)
                    dot += (double)pr[j] * dr[j];
                float fdot = (float)dot;
                for (int j = 0; j <= t; j++)
                    dr[j] = pr[j] * (dr[j] - fdot) * scale;
                for (int j = t + 1; j < T; j++)
                    dr[j] = 0.0f;
            }
            if (dq) /* dQ += dS · K */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, ds, T, kb, kv_stride,
                            1.0f, dq + (size_t)b * T * q_stride + (size_t)h * hd, q_stride);
        }
    }

    /* Phase 2, per (batch, kv head): the query heads of a group all add into
     * one dk and dv slice, so one iteration takes the whole group in turn. */
    if (dk || dv) {
#pragma omp parallel for schedule(dynamic) if (work > PAR_MIN * 16)
        for (int bk = 0; bk < B * nkv; bk++) {
            int b = bk / nkv, kvh = bk % nkv;
            float *dkb = dk ? dk + (size_t)b * T * kv_stride + (size_t)kvh * hd : NULL;
            float *dvb = dv ? dv + (size_t)b * T * kv_stride + (size_t)kvh * hd : NULL;
            for (int h = kvh * group; h < (kvh + 1) * group; h++) {
                size_t bh = (size_t)b * nh + h;
                const float *qb = q + (size_t)b * T * q_stride + (size_t)h * hd;
                const float *dob = dout + (size_t)b * T * C + (size_t)h * hd;
                if (dkb) /* dK += dSᵀ · Q */
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, scratch + bh * T * T,
                                T, qb, q_stride, 1.0f, dkb, kv_stride);
                if (dvb) /* dV += Pᵀ · dout */
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, att + bh * T * T, T,
                                dob, C, 1.0f, dvb, kv_stride);
            }
        }
    }
}

void rk_ref_attention_forward(float *out, float *att, const float *q, int q_stride, const float *k,
                              const float *v, int kv_stride, int B, int T, int nh, int nkv, int hd) {
    int group = nh / nkv, C = nh * hd;
    float scale = (float)(1.0 / sqrt((double)hd));
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < nh; h++) {
            int kvh = h / group;
            for (int t = 0; t < T; t++) {
                const float *qt = q + ((size_t)b * T + t) * q_stride + (size_t)h * hd;
                float *p = att + (((size_t)b * nh + h) * T + t) * T;
                float mx = -INFINITY;
                for (int s = 0; s <= t; s++) {
                    const float *ks = k + ((size_t)b * T + s) * kv_stride + (size_t)kvh * hd;
                    double dot = 0.0;
                    for (int i = 0; i < hd; i++)
                        dot += (double)qt[i] * ks[i];
                    p[s] = (float)dot * scale;
                    if (p[s] > mx) mx = p[s];
                }
                double sum = 0.0;
                for (int s = 0; s <= t; s++) {
                    p[s] = expf(p[s] - mx);
                    sum += p[s];
                }
                for (int s = 0; s <= t; s++)
                    p[s] = (float)(p[s] / sum);
                for (int s = t + 1; s < T; s++)
                    p[s] = 0.0f;
                float *o = out + ((size_t)b * T + t) * C + (size_t)h * hd;
                for (int i = 0; i < hd; i++) {
                    double acc = 0.0;
                    for (int s = 0; s <= t; s++)
                        acc += (double)p[s] * v[((size_t)b * T + s) * kv_stride + (size_t)kvh * hd + i];
                    o[i] = (float)acc;
                }
            }
        }
    }
}

void rk_ref_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *att,
                               const float *q, int q_stride, const float *k, const float *v, int kv_stride,
                               int B, int T, int nh, int nkv, int hd) {
    int group = nh / nkv, C = nh * hd;
    float scale = (float)(1.0 / sqrt((double)hd));
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < nh; h++) {
            int kvh = h / group;
            for (int t = 0; t < T; t++) {
                const float *p = att + (((size_t)b * nh + h) * T + t) * T;
                const float *dot_ = dout + ((size_t)b * T + t) * C + (size_t)h * hd;
                const float *qt = q + ((size_t)b * T + t) * q_stride + (size_t)h * hd;
                /* dP[s] = dout_t · v_s, then the softmax's Jacobian. */
                double pdp = 0.0;
                for (int s = 0; s <= t; s++) {
                    const float *vs = v + ((size_t)b * T + s) * kv_stride + (size_t)kvh * hd;
                    double dp = 0.0;
                    for (int i = 0; i < hd; i++)
                        dp += (double)dot_[i] * vs[i];
                    pdp += p[s] * dp;
                }
                for (int s = 0; s <= t; s++) {
                    size_t ks = ((size_t)b * T + s) * kv_stride + (size_t)kvh * hd;
                    double dp = 0.0;
                    for (int i = 0; i < hd; i++)
                        dp += (double)dot_[i] * v[ks + i];
                    double dsc = p[s] * (dp - pdp) * scale;
                    for (int i = 0; i < hd; i++) {
                        if (dq)
                            dq[((size_t)b * T + t) * q_stride + (size_t)h * hd + i] +=
                                (float)(dsc * k[ks + i]);
                        if (dk) dk[ks + i] += (float)(dsc * qt[i]);
                        if (dv) dv[ks + i] += p[s] * dot_[i];
                    }
                }
            }
        }
    }
}

/* ---- activations ---- */

void rk_gelu_forward(float *out, const float *inp, size_t n) {
    const float s2pi = 0.7978845608028654f; /* sqrt(2/pi) */
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        /* NewGELUActivation's order of float32 operations. */
        out[i] = 0.5f * x * (1.0f + tanhf(s2pi * (x + 0.044715f * (x * x * x))));
    }
}

void rk_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    const double s2pi = 0.79788456080286535588;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        double x = inp[i];
        double u = s2pi * (x + 0.044715 * x * x * x);
        double th = tanh(u);
        double sech2 = 1.0 - th * th;
        double g = 0.5 * (1.0 + th) + 0.5 * x * sech2 * s2pi * (1.0 + 3.0 * 0.044715 * x * x);
        dinp[i] += (float)(g * dout[i]);
    }
}

void rk_swiglu_forward(float *out, const float *gate, const float *up, size_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void rk_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                        size_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        double g = gate[i];
        double sig = 1.0 / (1.0 + exp(-g));
        double silu = g * sig;
        if (dgate) dgate[i] += (float)((double)dout[i] * up[i] * sig * (1.0 + g * (1.0 - sig)));
        if (dup) dup[i] += (float)((double)dout[i] * silu);
    }
}

/* ---- softmax + cross-entropy ---- */

/* The stable softmax's normaliser of row x[0..V): Σ exp(x - max) in double,
 * with the max in *mx. */
static double sum_exp(const float *x, int V, float *mx) {
    float m = x[0];
    for (int j = 1; j < V; j++)
        m = x[j] > m ? x[j] : m;
    double sum = 0.0;
    for (int j = 0; j < V; j++)
        sum += exp((double)x[j] - m);
    *mx = m;
    return sum;
}

size_t rk_crossentropy_forward(float *losses, const float *logits, const int32_t *targets, int N, int V) {
    size_t count = 0;
#pragma omp parallel for schedule(static) reduction(+ : count) if ((long)N * V > PAR_MIN)
    for (int n = 0; n < N; n++) {
        if (targets[n] < 0) {
            losses[n] = 0.0f;
            continue;
        }
        const float *x = logits + (size_t)n * V;
        float mx;
        double sum = sum_exp(x, V, &mx);
        /* -log softmax = log Σ exp(x - max) + max - x_target */
        losses[n] = (float)(log(sum) + mx - x[targets[n]]);
        count++;
    }
    return count;
}

void rk_crossentropy_backward(float *dlogits, const float *logits, const int32_t *targets, int N, int V,
                              float scale) {
#pragma omp parallel for schedule(static) if ((long)N * V > PAR_MIN)
    for (int n = 0; n < N; n++) {
        float *d = dlogits + (size_t)n * V;
        if (targets[n] < 0) {
            memset(d, 0, (size_t)V * sizeof *d);
            continue;
        }
        /* Each element is read before its own slot is written, never after,
         * so d may be the logits row itself. */
        const float *x = logits + (size_t)n * V;
        float mx;
        double sum = sum_exp(x, V, &mx);
        double inv = 1.0 / sum;
        for (int j = 0; j < V; j++)
            d[j] = (float)(scale * (exp((double)x[j] - mx) * inv - (j == targets[n] ? 1.0 : 0.0)));
    }
}
