/* Unit tests for model/kernels.c. Three kinds of reference:
 *   - the plain loops rk_ref_* beside the fast paths (cblas, OpenMP), on
 *     random inputs of odd sizes, both weight layouts and fused qkv strides;
 *   - double-precision forwards written here, from the definitions: each
 *     float forward is compared with them, and each backward with central
 *     finite differences of the scalar loss L = Σ out · R (R fixed, random)
 *     taken in double, so the differences measure the kernel alone;
 *   - numbers printed by PyTorch and transformers (the script is quoted above
 *     them), for the conventions a formula cannot pin down: rotate_half, the
 *     Llama 3 frequency scaling, float32 rope angles, gelu_new, LlamaRMSNorm.
 * Run with --verbose to see the largest difference of every comparison. */
#include "helpers.h" /* first: it defines _GNU_SOURCE */

#include <math.h>
#include <stdint.h>

#include "raftkit/kernels.h"

/* ---- helpers ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* Uniform in [-1, 1), xorshift64*: the same stream on every platform. */
static float frand(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    uint64_t r = rng * 0x2545f4914f6cdd1dull;
    return (float)((double)(r >> 40) / (double)(1u << 24) * 2.0 - 1.0);
}

static float *frand_new(size_t n, float scale) {
    float *a = malloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = scale * frand();
    return a;
}

static float *fcopy(const float *a, size_t n) {
    float *c = malloc((n ? n : 1) * sizeof *c);
    memcpy(c, a, n * sizeof *c);
    return c;
}

static double *dcopy(const float *a, size_t n) {
    double *d = malloc((n ? n : 1) * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = a[i];
    return d;
}

static double *dzeros(size_t n) { return calloc(n ? n : 1, sizeof(double)); }

static double max_abs(const double *a, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

/* Every |got - ref| <= afrac * max|ref| + rtol * |ref|. Logs the largest
 * absolute difference and the largest relative to max|ref|. */
static void check_close(const char *what, const float *got, const double *ref, size_t n, double rtol,
                        double afrac) {
    double scale = max_abs(ref, n), atol = afrac * scale, worst = 0.0, maxdiff = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]), allowed = atol + rtol * fabs(ref[i]);
        cr_assert(!isnan(got[i]), "%s: NaN at %zu", what, i);
        if (d > maxdiff) maxdiff = d;
        double ratio = allowed > 0 ? d / allowed : (d > 0 ? INFINITY : 0.0);
        if (ratio > worst) worst = ratio, at = i;
    }
    cr_log_info("%s: n=%zu max|diff|=%.3g max|ref|=%.3g (rel %.3g)", what, n, maxdiff, scale,
                scale > 0 ? maxdiff / scale : 0.0);
    cr_assert(worst <= 1.0, "%s: element %zu is %.9g, expected %.9g (rtol %g, atol %g)", what, at,
              (double)got[at], ref[at], rtol, atol);
}

/* The same with a float reference. */
static void check_close_f(const char *what, const float *got, const float *ref, size_t n, double rtol,
                          double afrac) {
    double *r = dcopy(ref, n);
    check_close(what, got, r, n, rtol, afrac);
    free(r);
}

/* Element-wise exact equality. */
static void check_equal(const char *what, const float *got, const float *ref, size_t n) {
    for (size_t i = 0; i < n; i++)
        cr_assert(got[i] == ref[i], "%s: element %zu is %.9g, expected %.9g", what, i, (double)got[i],
                  (double)ref[i]);
}

static double dot_d(const double *a, const double *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* grad[i] = (L(x + h e_i) - L(x - h e_i)) / 2h, in double; x is one of the
 * arrays ctx's loss reads, perturbed and restored in place. */
typedef double (*loss_fn)(const void *ctx);
static void fd_grad(double *grad, double *x, size_t n, loss_fn loss, const void *ctx) {
    for (size_t i = 0; i < n; i++) {
        double save = x[i], h = 1e-6 * fmax(1.0, fabs(save));
        x[i] = save + h;
        double lp = loss(ctx);
        x[i] = save - h;
        double lm = loss(ctx);
        x[i] = save;
        grad[i] = (lp - lm) / (2 * h);
    }
}

/* Backward against finite differences: float kernels on float data, whose
 * exact double images the differences are taken at. */
#define FD_RTOL 1e-5
#define FD_AFRAC 1e-6

/* ---- matmul ---- */

static void matmul_d(double *out, const double *inp, const double *w, const double *bias, int N, int C,
                     int OC, int w_in_out) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            double s = bias ? bias[o] : 0.0;
            for (int c = 0; c < C; c++)
                s += inp[n * C + c] * (w_in_out ? w[c * OC + o] : w[o * C + c]);
            out[n * OC + o] = s;
        }
}

typedef struct mm_ctx {
    double *inp, *w, *bias, *R, *out;
    int N, C, OC, w_in_out;
} mm_ctx;

static double mm_loss(const void *p) {
    const mm_ctx *c = p;
    matmul_d(c->out, c->inp, c->w, c->bias, c->N, c->C, c->OC, c->w_in_out);
    return dot_d(c->out, c->R, (size_t)c->N * c->OC);
}

Test(matmul, fast_matches_reference) {
    static const int sizes[][3] = {{7, 13, 5}, {1, 1, 1}, {33, 64, 96}, {64, 48, 130}, {3, 200, 2}};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int N = sizes[si][0], C = sizes[si][1], OC = sizes[si][2];
        for (int layout = 0; layout < 2; layout++) {
            for (int with_bias = 0; with_bias < 2; with_bias++) {
                size_t nin = (size_t)N * C, nw = (size_t)C * OC, nout = (size_t)N * OC;
                float *inp = frand_new(nin, 1), *w = frand_new(nw, 0.5f),
                      *bias = with_bias ? frand_new(OC, 1) : NULL;
                float *out = frand_new(nout, 9), *ref = frand_new(nout, 9);
                rk_matmul_forward(out, inp, w, bias, N, C, OC, layout);
                rk_ref_matmul_forward(ref, inp, w, bias, N, C, OC, layout);
                char what[96];
                snprintf(what, sizeof what, "matmul fwd N=%d C=%d OC=%d layout=%d bias=%d", N, C, OC, layout,
                         with_bias);
                check_close_f(what, out, ref, nout, 1e-5, 1e-6);

                /* Backward into gradients that already hold values: both add. */
                float *dout = frand_new(nout, 1);
                float *dinp = frand_new(nin, 1), *dw = frand_new(nw, 1), *db = frand_new(OC, 1);
                float *rdinp = fcopy(dinp, nin), *rdw = fcopy(dw, nw), *rdb = fcopy(db, OC);
                rk_matmul_backward(dinp, dw, db, dout, inp, w, N, C, OC, layout);
                rk_ref_matmul_backward(rdinp, rdw, rdb, dout, inp, w, N, C, OC, layout);
                snprintf(what, sizeof what, "matmul dinp N=%d C=%d OC=%d layout=%d", N, C, OC, layout);
                check_close_f(what, dinp, rdinp, nin, 1e-5, 1e-6);
                snprintf(what, sizeof what, "matmul dw N=%d C=%d OC=%d layout=%d", N, C, OC, layout);
                check_close_f(what, dw, rdw, nw, 1e-5, 1e-6);
                snprintf(what, sizeof what, "matmul dbias N=%d C=%d OC=%d layout=%d", N, C, OC, layout);
                check_close_f(what, db, rdb, OC, 1e-5, 1e-6);
                free(inp), free(w), free(bias), free(out), free(ref), free(dout);
                free(dinp), free(dw), free(db), free(rdinp), free(rdw), free(rdb);
            }
        }
    }
}

Test(matmul, backward_matches_finite_differences) {
    int N = 5, C = 7, OC = 3;
    for (int layout = 0; layout < 2; layout++) {
        size_t nin = (size_t)N * C, nw = (size_t)C * OC, nout = (size_t)N * OC;
        float *inp = frand_new(nin, 1), *w = frand_new(nw, 1), *bias = frand_new(OC, 1),
              *R = frand_new(nout, 1);
        mm_ctx c = {dcopy(inp, nin), dcopy(w, nw), dcopy(bias, OC), dcopy(R, nout), dzeros(nout), N, C, OC,
                    layout};
        float *out = malloc(nout * sizeof *out);
        rk_matmul_forward(out, inp, w, bias, N, C, OC, layout);
        mm_loss(&c);
        check_close("matmul fwd vs double", out, c.out, nout, 1e-6, 1e-6);

        float *dinp = calloc(nin, sizeof *dinp), *dw = calloc(nw, sizeof *dw), *db = calloc(OC, sizeof *db);
        rk_matmul_backward(dinp, dw, db, R, inp, w, N, C, OC, layout);
        double *g = dzeros(nin);
        fd_grad(g, c.inp, nin, mm_loss, &c);
        check_close(layout ? "matmul dinp vs fd (Conv1D)" : "matmul dinp vs fd (Linear)", dinp, g, nin,
                    FD_RTOL, FD_AFRAC);
        fd_grad(g, c.w, nw, mm_loss, &c);
        check_close(layout ? "matmul dw vs fd (Conv1D)" : "matmul dw vs fd (Linear)", dw, g, nw, FD_RTOL,
                    FD_AFRAC);
        fd_grad(g, c.bias, OC, mm_loss, &c);
        check_close("matmul dbias vs fd", db, g, OC, FD_RTOL, FD_AFRAC);
        free(g), free(dinp), free(dw), free(db), free(out);
        free(c.inp), free(c.w), free(c.bias), free(c.R), free(c.out);
        free(inp), free(w), free(bias), free(R);
    }
}

Test(matmul, backward_accumulates_and_skips_null) {
    int N = 9, C = 70, OC = 11;
    for (int layout = 0; layout < 2; layout++) {
        size_t nin = (size_t)N * C, nw = (size_t)C * OC;
        float *inp = frand_new(nin, 1), *w = frand_new(nw, 1), *dout = frand_new((size_t)N * OC, 1);
        float *dinp = calloc(nin, 4), *dw = calloc(nw, 4), *db = calloc(OC, 4);
        rk_matmul_backward(dinp, dw, db, dout, inp, w, N, C, OC, layout);
        float *once_inp = fcopy(dinp, nin), *once_w = fcopy(dw, nw), *once_b = fcopy(db, OC);
        rk_matmul_backward(dinp, dw, db, dout, inp, w, N, C, OC, layout);
        double *twice = dzeros(nw > nin ? nw : nin);
        for (size_t i = 0; i < nin; i++)
            twice[i] = 2.0 * once_inp[i];
        check_close("matmul dinp twice", dinp, twice, nin, 1e-6, 1e-7);
        for (size_t i = 0; i < nw; i++)
            twice[i] = 2.0 * once_w[i];
        check_close("matmul dw twice", dw, twice, nw, 1e-6, 1e-7);
        for (int i = 0; i < OC; i++)
            twice[i] = 2.0 * once_b[i];
        check_close("matmul dbias twice", db, twice, OC, 1e-6, 1e-7);

        /* Each gradient alone is what it was beside the others. */
        float *only = calloc(nw > nin ? nw : nin, 4);
        rk_matmul_backward(NULL, only, NULL, dout, inp, w, N, C, OC, layout);
        check_equal("matmul dw alone", only, once_w, nw);
        memset(only, 0, nin * 4);
        rk_matmul_backward(only, NULL, NULL, dout, inp, w, N, C, OC, layout);
        check_equal("matmul dinp alone", only, once_inp, nin);
        memset(only, 0, OC * 4);
        rk_matmul_backward(NULL, NULL, only, dout, inp, w, N, C, OC, layout);
        check_equal("matmul dbias alone", only, once_b, OC);
        rk_matmul_backward(NULL, NULL, NULL, dout, inp, w, N, C, OC, layout);
        free(inp), free(w), free(dout), free(dinp), free(dw), free(db), free(once_inp), free(once_w);
        free(once_b), free(twice), free(only);
    }
}

/* ---- embeddings ---- */

Test(embedding, forward_gathers_and_backward_scatters) {
    int B = 2, T = 5, C = 7, V = 6, P = 12, pos0 = 3;
    int32_t tokens[10] = {1, 4, 1, 0, 5, 4, 4, 2, 1, 3}; /* repeats: their gradients must add */
    float *wte = frand_new((size_t)V * C, 1), *wpe = frand_new((size_t)P * C, 1);
    float *out = malloc((size_t)B * T * C * 4), *out_nopos = malloc((size_t)B * T * C * 4);
    rk_embedding_forward(out, tokens, wte, wpe, B, T, C, pos0);
    rk_embedding_forward(out_nopos, tokens, wte, NULL, B, T, C, pos0);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++) {
                size_t i = ((size_t)b * T + t) * C + c;
                float e = wte[tokens[b * T + t] * C + c];
                cr_assert_eq(out[i], e + wpe[(pos0 + t) * C + c], "out[%d,%d,%d]", b, t, c);
                cr_assert_eq(out_nopos[i], e, "out without wpe [%d,%d,%d]", b, t, c);
            }

    /* The scatter, summed by hand, onto gradients that already hold values. */
    float *dout = frand_new((size_t)B * T * C, 1);
    float *dwte = frand_new((size_t)V * C, 1), *dwpe = frand_new((size_t)P * C, 1);
    double *ewte = dcopy(dwte, (size_t)V * C), *ewpe = dcopy(dwpe, (size_t)P * C);
    for (int bt = 0; bt < B * T; bt++)
        for (int c = 0; c < C; c++) {
            ewte[tokens[bt] * C + c] += dout[bt * C + c];
            ewpe[(pos0 + bt % T) * C + c] += dout[bt * C + c];
        }
    rk_embedding_backward(dwte, dwpe, dout, tokens, B, T, C, pos0);
    check_close("embedding dwte", dwte, ewte, (size_t)V * C, 1e-6, 1e-7);
    check_close("embedding dwpe", dwpe, ewpe, (size_t)P * C, 1e-6, 1e-7);
    /* NULL dwpe: dwte alone moves, by the same amounts again. */
    float *dwpe1 = fcopy(dwpe, (size_t)P * C);
    for (int bt = 0; bt < B * T; bt++)
        for (int c = 0; c < C; c++)
            ewte[tokens[bt] * C + c] += dout[bt * C + c];
    rk_embedding_backward(dwte, NULL, dout, tokens, B, T, C, pos0);
    check_close("embedding dwte again", dwte, ewte, (size_t)V * C, 1e-6, 1e-7);
    check_equal("embedding dwpe untouched", dwpe, dwpe1, (size_t)P * C);
    free(dwpe1), free(wte), free(wpe), free(out), free(out_nopos), free(dout), free(dwte), free(dwpe),
        free(ewte), free(ewpe);
}

Test(embedding, backward_in_parallel_adds_every_row) {
    /* Large enough for the threads to split the columns. */
    int B = 4, T = 64, C = 200, V = 3;
    int32_t *tokens = malloc((size_t)B * T * sizeof *tokens);
    for (int i = 0; i < B * T; i++)
        tokens[i] = (i * 7) % V;
    float *dout = frand_new((size_t)B * T * C, 1), *dwte = calloc((size_t)V * C, 4),
          *dwpe = calloc((size_t)T * C, 4);
    double *ewte = dzeros((size_t)V * C), *ewpe = dzeros((size_t)T * C);
    for (int bt = 0; bt < B * T; bt++)
        for (int c = 0; c < C; c++) {
            ewte[tokens[bt] * C + c] += dout[bt * C + c];
            ewpe[(bt % T) * C + c] += dout[bt * C + c];
        }
    rk_embedding_backward(dwte, dwpe, dout, tokens, B, T, C, 0);
    check_close("embedding dwte (parallel)", dwte, ewte, (size_t)V * C, 1e-5, 1e-6);
    check_close("embedding dwpe (parallel)", dwpe, ewpe, (size_t)T * C, 1e-5, 1e-6);
    free(tokens), free(dout), free(dwte), free(dwpe), free(ewte), free(ewpe);
}

/* ---- LayerNorm ---- */

typedef struct ln_ctx {
    double *inp, *w, *b, *R, *out;
    int N, C;
    double eps;
} ln_ctx;

static double ln_loss(const void *p) {
    const ln_ctx *c = p;
    for (int n = 0; n < c->N; n++) {
        const double *x = c->inp + (size_t)n * c->C;
        double m = 0.0, v = 0.0;
        for (int i = 0; i < c->C; i++)
            m += x[i] / c->C;
        for (int i = 0; i < c->C; i++)
            v += (x[i] - m) * (x[i] - m) / c->C; /* biased, as torch */
        for (int i = 0; i < c->C; i++)
            c->out[n * c->C + i] = (x[i] - m) / sqrt(v + c->eps) * c->w[i] + (c->b ? c->b[i] : 0.0);
    }
    return dot_d(c->out, c->R, (size_t)c->N * c->C);
}

Test(layernorm, forward_and_backward_match_double) {
    static const int sizes[][2] = {{5, 7}, {3, 64}, {40, 130}};
    for (size_t si = 0; si < 3; si++) {
        int N = sizes[si][0], C = sizes[si][1];
        size_t n = (size_t)N * C;
        float *inp = frand_new(n, 2), *w = frand_new(C, 1), *b = frand_new(C, 1), *R = frand_new(n, 1);
        for (size_t i = 0; i < n; i++) /* an offset the mean must remove */
            inp[i] += 3.0f;
        ln_ctx c = {dcopy(inp, n), dcopy(w, C), dcopy(b, C), dcopy(R, n), dzeros(n), N, C, 1e-5f};
        float *out = malloc(n * 4), *mean = malloc(N * 4), *rstd = malloc(N * 4);
        rk_layernorm_forward(out, mean, rstd, inp, w, b, N, C, 1e-5f);
        ln_loss(&c);
        check_close("layernorm fwd vs double", out, c.out, n, 1e-5, 1e-6);
        for (int r = 0; r < N; r++) {
            double m = 0.0, v = 0.0;
            for (int i = 0; i < C; i++)
                m += c.inp[r * C + i] / C;
            for (int i = 0; i < C; i++)
                v += (c.inp[r * C + i] - m) * (c.inp[r * C + i] - m) / C;
            cr_assert(fabs(mean[r] - m) <= 1e-6 * fabs(m), "mean[%d] %.9g vs %.9g", r, (double)mean[r], m);
            cr_assert(fabs(rstd[r] - 1.0 / sqrt(v + 1e-5f)) <= 1e-6 / sqrt(v + 1e-5f), "rstd[%d]", r);
        }

        /* No bias: the same less b. */
        float *out_nb = malloc(n * 4);
        rk_layernorm_forward(out_nb, mean, rstd, inp, w, NULL, N, C, 1e-5f);
        for (size_t i = 0; i < n; i++)
            c.out[i] = (double)out[i] - b[i % C];
        check_close("layernorm fwd without bias", out_nb, c.out, n, 1e-5, 1e-6);

        float *dinp = calloc(n, 4), *dw = calloc(C, 4), *db = calloc(C, 4);
        rk_layernorm_backward(dinp, dw, db, R, inp, w, mean, rstd, N, C);
        double *g = dzeros(n);
        fd_grad(g, c.inp, n, ln_loss, &c);
        check_close("layernorm dinp vs fd", dinp, g, n, FD_RTOL, FD_AFRAC);
        fd_grad(g, c.w, C, ln_loss, &c);
        check_close("layernorm dw vs fd", dw, g, C, FD_RTOL, FD_AFRAC);
        fd_grad(g, c.b, C, ln_loss, &c);
        check_close("layernorm db vs fd", db, g, C, FD_RTOL, FD_AFRAC);

        /* Accumulates: a second call doubles; NULL gradients are skipped. */
        float *dinp1 = fcopy(dinp, n), *dw1 = fcopy(dw, C), *db1 = fcopy(db, C);
        rk_layernorm_backward(dinp, NULL, NULL, R, inp, w, mean, rstd, N, C);
        rk_layernorm_backward(NULL, dw, NULL, R, inp, w, mean, rstd, N, C);
        rk_layernorm_backward(NULL, NULL, db, R, inp, w, mean, rstd, N, C);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(dinp[i], 2 * dinp1[i], "layernorm dinp twice at %zu", i);
        for (int i = 0; i < C; i++) {
            cr_assert_eq(dw[i], 2 * dw1[i], "layernorm dw twice at %d", i);
            cr_assert_eq(db[i], 2 * db1[i], "layernorm db twice at %d", i);
        }
        free(inp), free(w), free(b), free(R), free(out), free(mean), free(rstd), free(out_nb);
        free(dinp), free(dw), free(db), free(g), free(dinp1), free(dw1), free(db1);
        free(c.inp), free(c.w), free(c.b), free(c.R), free(c.out);
    }
}

/* ---- RMSNorm ---- */

typedef struct rms_ctx {
    double *inp, *w, *R, *out;
    int N, C;
    double eps;
} rms_ctx;

static double rms_loss(const void *p) {
    const rms_ctx *c = p;
    for (int n = 0; n < c->N; n++) {
        const double *x = c->inp + (size_t)n * c->C;
        double ms = 0.0;
        for (int i = 0; i < c->C; i++)
            ms += x[i] * x[i] / c->C;
        for (int i = 0; i < c->C; i++)
            c->out[n * c->C + i] = c->w[i] * x[i] / sqrt(ms + c->eps);
    }
    return dot_d(c->out, c->R, (size_t)c->N * c->C);
}

Test(rmsnorm, forward_and_backward_match_double) {
    static const int sizes[][2] = {{5, 7}, {3, 64}, {40, 130}};
    for (size_t si = 0; si < 3; si++) {
        int N = sizes[si][0], C = sizes[si][1];
        size_t n = (size_t)N * C;
        float *inp = frand_new(n, 2), *w = frand_new(C, 1), *R = frand_new(n, 1);
        rms_ctx c = {dcopy(inp, n), dcopy(w, C), dcopy(R, n), dzeros(n), N, C, 1e-6f};
        float *out = malloc(n * 4), *rstd = malloc(N * 4);
        rk_rmsnorm_forward(out, rstd, inp, w, N, C, 1e-6f);
        rms_loss(&c);
        check_close("rmsnorm fwd vs double", out, c.out, n, 1e-5, 1e-6);

        float *dinp = calloc(n, 4), *dw = calloc(C, 4);
        rk_rmsnorm_backward(dinp, dw, R, inp, w, rstd, N, C);
        double *g = dzeros(n);
        fd_grad(g, c.inp, n, rms_loss, &c);
        check_close("rmsnorm dinp vs fd", dinp, g, n, FD_RTOL, FD_AFRAC);
        fd_grad(g, c.w, C, rms_loss, &c);
        check_close("rmsnorm dw vs fd", dw, g, C, FD_RTOL, FD_AFRAC);

        float *dinp1 = fcopy(dinp, n), *dw1 = fcopy(dw, C);
        rk_rmsnorm_backward(dinp, NULL, R, inp, w, rstd, N, C);
        rk_rmsnorm_backward(NULL, dw, R, inp, w, rstd, N, C);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(dinp[i], 2 * dinp1[i], "rmsnorm dinp twice at %zu", i);
        for (int i = 0; i < C; i++)
            cr_assert_eq(dw[i], 2 * dw1[i], "rmsnorm dw twice at %d", i);
        free(inp), free(w), free(R), free(out), free(rstd), free(dinp), free(dw), free(g), free(dinp1),
            free(dw1);
        free(c.inp), free(c.w), free(c.R), free(c.out);
    }
}

/* ---- activations ---- */

static double gelu_d(double x) {
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}
static double silu_d(double x) { return x / (1.0 + exp(-x)); }

typedef struct act_ctx {
    double *a, *b, *R;
    size_t n;
    int swiglu;
} act_ctx;

static double act_loss(const void *p) {
    const act_ctx *c = p;
    double s = 0.0;
    for (size_t i = 0; i < c->n; i++)
        s += (c->swiglu ? silu_d(c->a[i]) * c->b[i] : gelu_d(c->a[i])) * c->R[i];
    return s;
}

Test(activations, gelu_forward_and_backward) {
    size_t n = 301;
    float *x = frand_new(n, 6), *R = frand_new(n, 1), *out = malloc(n * 4), *dx = calloc(n, 4);
    act_ctx c = {dcopy(x, n), NULL, dcopy(R, n), n, 0};
    double *ref = dzeros(n), *g = dzeros(n);
    for (size_t i = 0; i < n; i++)
        ref[i] = gelu_d(c.a[i]);
    rk_gelu_forward(out, x, n);
    check_close("gelu fwd vs double", out, ref, n, 1e-5, 1e-6);
    rk_gelu_backward(dx, R, x, n);
    fd_grad(g, c.a, n, act_loss, &c);
    check_close("gelu dinp vs fd", dx, g, n, FD_RTOL, FD_AFRAC);
    float *dx1 = fcopy(dx, n);
    rk_gelu_backward(dx, R, x, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(dx[i], 2 * dx1[i], "gelu accumulates at %zu", i);
    /* Large enough for the parallel path. */
    size_t big = 10007;
    float *xb = frand_new(big, 5), *ob = malloc(big * 4);
    double *rb = dzeros(big);
    for (size_t i = 0; i < big; i++)
        rb[i] = gelu_d(xb[i]);
    rk_gelu_forward(ob, xb, big);
    check_close("gelu fwd (parallel)", ob, rb, big, 1e-5, 1e-6);
    free(x), free(R), free(out), free(dx), free(dx1), free(ref), free(g), free(c.a), free(c.R);
    free(xb), free(ob), free(rb);
}

Test(activations, swiglu_forward_and_backward) {
    size_t n = 301;
    float *gate = frand_new(n, 6), *up = frand_new(n, 2), *R = frand_new(n, 1), *out = malloc(n * 4);
    act_ctx c = {dcopy(gate, n), dcopy(up, n), dcopy(R, n), n, 1};
    double *ref = dzeros(n), *g = dzeros(n);
    for (size_t i = 0; i < n; i++)
        ref[i] = silu_d(c.a[i]) * c.b[i];
    rk_swiglu_forward(out, gate, up, n);
    check_close("swiglu fwd vs double", out, ref, n, 1e-5, 1e-6);
    float *dgate = calloc(n, 4), *dup = calloc(n, 4);
    rk_swiglu_backward(dgate, dup, R, gate, up, n);
    fd_grad(g, c.a, n, act_loss, &c);
    check_close("swiglu dgate vs fd", dgate, g, n, FD_RTOL, FD_AFRAC);
    fd_grad(g, c.b, n, act_loss, &c);
    check_close("swiglu dup vs fd", dup, g, n, FD_RTOL, FD_AFRAC);
    float *dgate1 = fcopy(dgate, n), *dup1 = fcopy(dup, n);
    rk_swiglu_backward(dgate, NULL, R, gate, up, n);
    rk_swiglu_backward(NULL, dup, R, gate, up, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(dgate[i], 2 * dgate1[i], "swiglu dgate accumulates at %zu", i);
        cr_assert_eq(dup[i], 2 * dup1[i], "swiglu dup accumulates at %zu", i);
    }
    free(gate), free(up), free(R), free(out), free(ref), free(g), free(dgate), free(dup), free(dgate1),
        free(dup1);
    free(c.a), free(c.b), free(c.R);
}

/* ---- cross-entropy ---- */

typedef struct ce_ctx {
    double *logits;
    const int32_t *targets;
    int N, V;
    double scale;
} ce_ctx;

static double ce_row_d(const double *x, int V, int target) {
    double mx = x[0], s = 0.0;
    for (int j = 1; j < V; j++)
        mx = fmax(mx, x[j]);
    for (int j = 0; j < V; j++)
        s += exp(x[j] - mx);
    return log(s) + mx - x[target];
}

static double ce_loss(const void *p) {
    const ce_ctx *c = p;
    double s = 0.0;
    for (int n = 0; n < c->N; n++)
        if (c->targets[n] >= 0) s += ce_row_d(c->logits + (size_t)n * c->V, c->V, c->targets[n]);
    return c->scale * s;
}

Test(crossentropy, forward_backward_and_ignored_rows) {
    int N = 9, V = 37;
    int32_t targets[9] = {3, -100, 0, 36, -1, 17, 17, -100, 5};
    size_t n = (size_t)N * V;
    float *logits = frand_new(n, 4), *losses = frand_new(N, 9);
    size_t count = rk_crossentropy_forward(losses, logits, targets, N, V);
    cr_assert_eq(count, 6, "counted %zu targets", count);
    double *ref = dzeros(N);
    for (int r = 0; r < N; r++) {
        double *row = dcopy(logits + (size_t)r * V, V);
        ref[r] = targets[r] < 0 ? 0.0 : ce_row_d(row, V, targets[r]);
        free(row);
    }
    check_close("crossentropy losses vs double", losses, ref, N, 1e-5, 1e-6);
    for (int r = 0; r < N; r++)
        if (targets[r] < 0) cr_assert_eq(losses[r], 0.0f, "ignored row %d has loss %g", r, (double)losses[r]);

    /* Backward overwrites (garbage first), matches d(scale · Σ loss). */
    float scale = 1.0f / (float)count;
    float *dlogits = frand_new(n, 9);
    rk_crossentropy_backward(dlogits, logits, targets, N, V, scale);
    ce_ctx c = {dcopy(logits, n), targets, N, V, scale};
    double *g = dzeros(n);
    fd_grad(g, c.logits, n, ce_loss, &c);
    check_close("crossentropy dlogits vs fd", dlogits, g, n, FD_RTOL, FD_AFRAC);
    for (int r = 0; r < N; r++) {
        double rowsum = 0.0;
        for (int j = 0; j < V; j++) {
            rowsum += dlogits[(size_t)r * V + j];
            if (targets[r] < 0) cr_assert_eq(dlogits[(size_t)r * V + j], 0.0f, "ignored row %d grad", r);
        }
        cr_assert(fabs(rowsum) < 1e-6, "row %d: gradient sums to %g, not 0", r, rowsum);
    }

    /* In place: the logits become their own gradient, bit for bit. */
    float *inplace = fcopy(logits, n);
    rk_crossentropy_backward(inplace, inplace, targets, N, V, scale);
    check_equal("crossentropy in place", inplace, dlogits, n);
    free(logits), free(losses), free(ref), free(dlogits), free(g), free(c.logits), free(inplace);
}

Test(crossentropy, large_logits_stay_finite) {
    int V = 5;
    float logits[10] = {1000.0f, 999.0f, -1000.0f, 998.0f, 0.0f, -500.0f, -501.0f, -499.0f, -502.0f, -500.0f};
    int32_t targets[2] = {1, 2};
    float losses[2], d[10];
    cr_assert_eq(rk_crossentropy_forward(losses, logits, targets, 2, V), 2);
    double lse0 = 1000.0 + log(1.0 + exp(-1.0) + exp(-2.0)),
           lse1 = -499.0 + log(1 + 2 * exp(-1.0) + exp(-2.0) + exp(-3.0));
    cr_assert(fabs(losses[0] - (lse0 - 999.0)) < 1e-5, "loss %g", (double)losses[0]);
    cr_assert(fabs(losses[1] - (lse1 + 499.0)) < 1e-5, "loss %g", (double)losses[1]);
    rk_crossentropy_backward(d, logits, targets, 2, V, 1.0f);
    for (int i = 0; i < 10; i++)
        cr_assert(isfinite(d[i]), "gradient %d is %g", i, (double)d[i]);
    cr_assert(fabs(d[1] - (exp(999.0 - lse0) - 1.0)) < 1e-6);
}

Test(crossentropy, parallel_rows) {
    int N = 64, V = 301;
    size_t n = (size_t)N * V;
    int32_t *targets = malloc(N * sizeof *targets);
    for (int r = 0; r < N; r++)
        targets[r] = r % 5 == 0 ? -100 : (r * 31) % V;
    float *logits = frand_new(n, 3), *losses = malloc(N * 4), *d = malloc(n * 4);
    cr_assert_eq(rk_crossentropy_forward(losses, logits, targets, N, V), (size_t)(N - 13));
    double *ref = dzeros(n);
    for (int r = 0; r < N; r++) {
        if (targets[r] < 0) continue;
        double *row = dcopy(logits + (size_t)r * V, V);
        double mx = row[0], s = 0.0;
        for (int j = 1; j < V; j++)
            mx = fmax(mx, row[j]);
        for (int j = 0; j < V; j++)
            s += exp(row[j] - mx);
        for (int j = 0; j < V; j++)
            ref[(size_t)r * V + j] = 0.5 * (exp(row[j] - mx) / s - (j == targets[r]));
        free(row);
    }
    rk_crossentropy_backward(d, logits, targets, N, V, 0.5f);
    check_close("crossentropy dlogits (parallel)", d, ref, n, 1e-5, 1e-6);
    free(targets), free(logits), free(losses), free(d), free(ref);
}

/* ---- rotary position embeddings ---- */

/* The formula of transformers' _compute_llama3_parameters, in double. */
static double llama3_inv_freq_d(int i, const rk_rope_cfg *cfg) {
    double f = 1.0 / pow(cfg->theta, 2.0 * i / cfg->head_dim);
    double wavelen = 2 * M_PI / f;
    double low = (double)cfg->original_max_pos / cfg->low_freq_factor;
    double high = (double)cfg->original_max_pos / cfg->high_freq_factor;
    if (wavelen > low) return f / cfg->factor;
    if (wavelen < high) return f;
    double smooth = (cfg->original_max_pos / wavelen - cfg->low_freq_factor) /
                    (cfg->high_freq_factor - cfg->low_freq_factor);
    return (1 - smooth) * f / cfg->factor + smooth * f;
}

Test(rope, inv_freq_follows_the_formulas) {
    rk_rope_cfg plain = {.head_dim = 64, .theta = 10000.0f};
    float inv[64];
    rk_rope_inv_freq(inv, &plain);
    for (int i = 0; i < 32; i++) {
        double e = 1.0 / pow(10000.0, 2.0 * i / 64);
        cr_assert(fabs(inv[i] - e) <= 2.5e-7 * e, "plain inv_freq[%d] = %.9g, expected %.9g", i,
                  (double)inv[i], e);
    }
    /* Llama 3.1's own configuration: all three bands occur at head_dim 128. */
    rk_rope_cfg l3 = {.head_dim = 128,
                      .theta = 500000.0f,
                      .llama3 = 1,
                      .factor = 8.0f,
                      .low_freq_factor = 1.0f,
                      .high_freq_factor = 4.0f,
                      .original_max_pos = 8192};
    rk_rope_inv_freq(inv, &l3);
    int bands[3] = {0};
    for (int i = 0; i < 64; i++) {
        double f = 1.0 / pow(500000.0, 2.0 * i / 128), e = llama3_inv_freq_d(i, &l3);
        bands[e == f ? 0 : e == f / 8 ? 2 : 1]++;
        cr_assert(fabs(inv[i] - e) <= 5e-7 * e, "llama3 inv_freq[%d] = %.9g, expected %.9g", i,
                  (double)inv[i], e);
    }
    cr_assert(bands[0] > 0 && bands[1] > 0 && bands[2] > 0, "bands %d %d %d", bands[0], bands[1], bands[2]);
}

/* The numbers below were printed by this script (torch 2.15, transformers
 * 5.24), with dy(n, a, b, m, s) = [((3i² + ai + b) mod m - m//2) / s], values
 * exact in float32, and dy_f() below its C twin:
 *
 *   import types, torch, torch.nn.functional as F
 *   from transformers import LlamaConfig
 *   from transformers.activations import NewGELUActivation
 *   from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
 *   from transformers.models.llama.modeling_llama import (LlamaRMSNorm,
 *       LlamaRotaryEmbedding, apply_rotary_pos_emb, eager_attention_forward)
 *   def dy(n, a, b, m, s): return torch.tensor([((i * i * 3 + i * a + b) % m - m // 2) / s
 *                                               for i in range(n)], dtype=torch.float32)
 *   x = dy(12, 5, 3, 17, 8).view(2, 6); w = dy(6, 3, 1, 7, 16) + 1; b = dy(6, 2, 5, 9, 16)
 *   T_LN = F.layer_norm(x, (6,), w, b, 1e-5)
 *   rms = LlamaRMSNorm(6, eps=1e-6); rms.weight.data = w.clone(); T_RMS = rms(x)
 *   g = dy(12, 7, 2, 29, 4); T_GELU = NewGELUActivation()(g)
 *   u = dy(12, 5, 1, 13, 8); T_SWIGLU = F.silu(g) * u
 *   lg = dy(15, 7, 4, 19, 4).view(3, 5); tg = torch.tensor([2, -100, 4])
 *   T_CE = F.cross_entropy(lg, tg, ignore_index=-100, reduction="none")
 *   lg.requires_grad_(True); F.cross_entropy(lg, tg, ignore_index=-100).backward(); T_CE_GRAD = lg.grad
 *   cfg = LlamaConfig(hidden_size=64, num_attention_heads=4, head_dim=16, rope_theta=500000.0,
 *       max_position_embeddings=131072, rope_scaling={"rope_type": "llama3", "factor": 8.0,
 *       "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})
 *   T_INV_LLAMA3, _ = ROPE_INIT_FUNCTIONS["llama3"](cfg, "cpu")
 *   cos, sin = LlamaRotaryEmbedding(cfg)(torch.zeros(1), torch.tensor([[0, 1, 7, 1000, 8191]]))
 *   T_COS_LLAMA3 = cos[0, :, :8]; T_SIN_LLAMA3 = sin[0, :, :8]
 *   cfg8 = LlamaConfig(hidden_size=16, num_attention_heads=2, head_dim=8, rope_theta=10000.0)
 *   cos, sin = LlamaRotaryEmbedding(cfg8)(torch.zeros(1), torch.tensor([[5, 6, 7]]))
 *   q = dy(48, 5, 2, 23, 8).view(1, 3, 2, 8).transpose(1, 2)
 *   qr, _ = apply_rotary_pos_emb(q, q, cos, sin); T_ROPE = qr.transpose(1, 2)
 *   B, T, nh, nkv, hd = 1, 3, 2, 1, 4
 *   q = dy(24, 5, 1, 19, 8).view(B, T, nh, hd).transpose(1, 2).requires_grad_(True)
 *   k = dy(12, 7, 3, 17, 8).view(B, T, nkv, hd).transpose(1, 2).requires_grad_(True)
 *   v = dy(12, 3, 2, 13, 8).view(B, T, nkv, hd).transpose(1, 2).requires_grad_(True)
 *   R = dy(24, 11, 5, 23, 8).view(B, T, nh, hd)
 *   mask = torch.full((T, T), float("-inf")).triu(1)[None, None]
 *   T_ATT_OUT, T_ATT_P = eager_attention_forward(types.SimpleNamespace(num_key_value_groups=2,
 *       training=False), q, k, v, mask, scaling=hd ** -0.5)
 *   (T_ATT_OUT * R).sum().backward()   # T_ATT_DQ/DK/DV = q/k/v.grad.transpose(1, 2)
 *
 * each tensor flattened and printed with "%.9g". */
static const float T_LN[12] = {-0.627207518f, 0.790017664f, 0.450891256f,  1.00290501f,
                               -0.699266791f, -1.29493284f, -0.879229546f, 0.577655375f,
                               0.76992166f,   -1.70155621f, 0.792897642f,  0.18723163f};
static const float T_RMS[12] = {-0.990740716f, 0.551984131f, 0.0f,          0.636904776f,
                                -1.27380943f,  -1.28796303f, -0.479256749f, 1.03838956f,
                                1.23237443f,   -1.02697873f, 1.02697873f,   0.741706848f};
static const float T_GELU[12] = {-0.00363743305f, -0.154285997f, 3.49938369f,    1.67979538f,
                                 1.39957154f,     2.74227667f,   -0.0702045858f, 2.48491573f,
                                 0.841192007f,    0.841192007f,  2.48491573f,    -0.0702045858f};
static const float T_SWIGLU[12] = {0.0889235064f, -0.0707888752f, 1.69870365f,    -0.372729331f,
                                   -0.306590408f, 1.29238081f,    -0.0971559733f, -1.44397151f,
                                   0.548293948f,  -0.274146974f,  -1.73276591f,   0.0971559733f};
static const float T_CE[3] = {1.71946609f, 0.0f, 2.71318746f};
static const float T_CE_GRAD[15] = {0.0155668221f, 0.189642742f,  -0.410419106f, 0.189642742f, 0.0155668221f,
                                    0.0f,          0.0f,          0.0f,          0.0f,         0.0f,
                                    0.19083719f,   0.0425815322f, 0.0425815322f, 0.19083719f,  -0.466837466f};
static const float T_INV_LLAMA3[8] = {1.0f,
                                      0.193922758f,
                                      0.0376060307f,
                                      0.00729266508f,
                                      0.000524846022f,
                                      3.42810235e-05f,
                                      6.64786967e-06f,
                                      1.28917316e-06f};
/* The same for Llama 3.1 8B's rope (head_dim=128, hidden_size=4096, num_attention_heads=32). */
static const float T_INV_LLAMA31[64] = {1.0f,
                                        0.814617217f,
                                        0.663601279f,
                                        0.540580988f,
                                        0.440366626f,
                                        0.358730227f,
                                        0.292227834f,
                                        0.238053814f,
                                        0.193922758f,
                                        0.157972813f,
                                        0.128687382f,
                                        0.10483095f,
                                        0.0853971019f,
                                        0.0695659518f,
                                        0.0566696189f,
                                        0.0461640507f,
                                        0.0376060307f,
                                        0.0306345206f,
                                        0.0249554086f,
                                        0.0203291047f,
                                        0.0165604409f,
                                        0.0134904198f,
                                        0.0109895291f,
                                        0.00895225909f,
                                        0.00729266508f,
                                        0.00594073068f,
                                        0.00483942125f,
                                        0.00394227589f,
                                        0.00321144611f,
                                        0.00216657063f,
                                        0.00137189368f,
                                        0.00085675146f,
                                        0.000524846022f,
                                        0.00031269365f,
                                        0.000178507791f,
                                        9.55621217e-05f,
                                        7.78465546e-05f,
                                        6.34151438e-05f,
                                        5.16590699e-05f,
                                        4.20823671e-05f,
                                        3.42810235e-05f,
                                        2.79259093e-05f,
                                        2.2748929e-05f,
                                        1.85316694e-05f,
                                        1.50962178e-05f,
                                        1.22976389e-05f,
                                        1.00178686e-05f,
                                        8.1607277e-06f,
                                        6.64786967e-06f,
                                        5.41546933e-06f,
                                        4.41153452e-06f,
                                        3.59371188e-06f,
                                        2.92749974e-06f,
                                        2.38479174e-06f,
                                        1.94269251e-06f,
                                        1.58255079e-06f,
                                        1.28917316e-06f,
                                        1.05018262e-06f,
                                        8.55496921e-07f,
                                        6.96902532e-07f,
                                        5.6770881e-07f,
                                        4.6246538e-07f,
                                        3.7673226e-07f,
                                        3.06892588e-07f};
static const float T_COS_LLAMA3[40] = {
    1.0f,          1.0f,          1.0f,         1.0f,         1.0f,          1.0f,         1.0f,
    1.0f,          0.540302336f,  0.981255829f, 0.99929297f,  0.999973416f,  0.999999881f, 1.0f,
    1.0f,          1.0f,          0.753902256f, 0.211722448f, 0.965551376f,  0.998697281f, 0.999993265f,
    1.0f,          1.0f,          1.0f,         0.562379062f, 0.655475318f,  0.995670974f, 0.532301247f,
    0.865401089f,  0.999412477f,  0.999977887f, 0.999999166f, -0.646390498f, 0.339305282f, 0.988022983f,
    -0.999033988f, -0.401702672f, 0.960835218f, 0.998517811f, 0.99994427f};
static const float T_SIN_LLAMA3[40] = {0.0f,
                                       0.0f,
                                       0.0f,
                                       0.0f,
                                       0.0f,
                                       0.0f,
                                       0.0f,
                                       0.0f,
                                       0.841470957f,
                                       0.192709595f,
                                       0.0375971682f,
                                       0.00729260035f,
                                       0.000524846022f,
                                       3.42810235e-05f,
                                       6.64786967e-06f,
                                       1.28917316e-06f,
                                       0.656986594f,
                                       0.97732985f,
                                       0.260212451f,
                                       0.0510264859f,
                                       0.00367391412f,
                                       0.000239967165f,
                                       4.65350895e-05f,
                                       9.02421198e-06f,
                                       0.826879561f,
                                       -0.755216599f,
                                       -0.0929479748f,
                                       0.846554995f,
                                       0.501079738f,
                                       0.0342743099f,
                                       0.00664782058f,
                                       0.0012891728f,
                                       -0.763006806f,
                                       -0.940676332f,
                                       0.154306799f,
                                       -0.0439440235f,
                                       -0.915770173f,
                                       0.277120441f,
                                       0.0544257946f,
                                       0.010559421f};
static const float T_ROPE[48] = {
    -1.5177753f,   -0.0497696251f, -1.19221127f,   1.2568593f,    0.72421205f,    -0.169626012f,
    -1.18606806f,  -1.36873281f,   -0.248204425f,  -0.330116689f, -0.530612111f,  -0.628117204f,
    0.839058757f,  1.38646054f,    0.599229336f,   0.62186718f,   1.42501485f,    0.494062185f,
    -0.541424811f, -0.493241042f,  -0.0241324306f, -0.722168684f, -1.41000319f,   -1.12797976f,
    -0.15494822f,  -0.396446705f,  1.33020115f,    -1.24472749f,  -0.0850943476f, -1.63430572f,
    -1.29757071f,  -0.882484198f,  -0.620643198f,  -0.785057187f, -0.667183697f,  -0.00962492172f,
    1.28298557f,   0.155917555f,   0.579755127f,   1.37496626f,   0.574863255f,   0.407772899f,
    -0.420089811f, 0.375865817f,   -0.659664452f,  -1.45429409f,  -1.15721643f,   -0.122371957f};
static const float T_ATT_OUT[24] = {
    -0.5f,         0.25f,         0.125f,        0.75f,           -0.5f,        0.25f,
    0.125f,        0.75f,         -0.215424001f, 0.000996008515f, 0.267287999f, 0.358707994f,
    0.0926665962f, -0.268583298f, 0.421333313f,  -0.0649165511f,  0.250298798f, 0.526781082f,
    0.160770297f,  0.312252581f,  0.273722589f,  -0.0115923136f,  0.360801309f, -0.0495136082f};
static const float T_ATT_P[18] = {
    1.0f, 0.0f, 0.0f, 0.715424001f, 0.284575999f, 0.0f, 0.249701202f, 0.0715405867f, 0.678758204f,
    1.0f, 0.0f, 0.0f, 0.407333434f, 0.592666626f, 0.0f, 0.226277396f, 0.471602619f,  0.30211997f};
static const float T_ATT_DQ[24] = {
    0.0f,           0.0f,           0.0f,          0.0f,           0.0f,          0.0f,
    0.0f,           0.0f,           0.0986151248f, -0.0246537924f, -0.14792268f,  0.147922695f,
    -0.0339486897f, 0.00848717056f, 0.0509230383f, -0.0509230345f, -0.12528345f,  0.151996285f,
    -0.117785923f,  0.0373356491f,  0.210737705f,  -0.121739566f,  -0.141166866f, 0.187203646f};
static const float T_ATT_DK[12] = {0.134051502f,   0.08654733f,   0.21787706f,   -0.0623657256f,
                                   -0.069691278f,  -0.137050882f, -0.036237184f, -0.0939767361f,
                                   -0.0643602312f, 0.0505035855f, -0.18163994f,  0.156342521f};
static const float T_ATT_DV[12] = {-1.21828771f,    1.20601416f,   0.579368234f,  2.00122666f,
                                   0.977096677f,    0.0030785501f, 0.0943497717f, -0.10494712f,
                                   -0.00880891085f, -0.584092736f, -0.423718005f, -0.396279514f};

/* The script's dy(): multiples of a power of two, so exact in float. */
static void dy_f(float *out, int n, int a, int b, int m, float s) {
    for (int i = 0; i < n; i++)
        out[i] = (float)((3 * i * i + a * i + b) % m - m / 2) / s;
}

Test(torch, norms_activations_and_crossentropy) {
    float x[12], w[6], b[6], out[12], mean[2], rstd[2];
    dy_f(x, 12, 5, 3, 17, 8);
    dy_f(w, 6, 3, 1, 7, 16);
    for (int i = 0; i < 6; i++)
        w[i] += 1.0f;
    dy_f(b, 6, 2, 5, 9, 16);
    rk_layernorm_forward(out, mean, rstd, x, w, b, 2, 6, 1e-5f);
    check_close_f("torch layer_norm", out, T_LN, 12, 1e-6, 1e-6);
    rk_rmsnorm_forward(out, rstd, x, w, 2, 6, 1e-6f);
    check_close_f("transformers LlamaRMSNorm", out, T_RMS, 12, 1e-6, 1e-6);

    float g[12], u[12];
    dy_f(g, 12, 7, 2, 29, 4);
    dy_f(u, 12, 5, 1, 13, 8);
    rk_gelu_forward(out, g, 12);
    check_close_f("transformers NewGELUActivation", out, T_GELU, 12, 1e-6, 1e-6);
    rk_swiglu_forward(out, g, u, 12);
    check_close_f("torch silu(g) * u", out, T_SWIGLU, 12, 1e-6, 1e-6);

    float lg[15], losses[3], dl[15];
    int32_t tg[3] = {2, -100, 4};
    dy_f(lg, 15, 7, 4, 19, 4);
    size_t count = rk_crossentropy_forward(losses, lg, tg, 3, 5);
    cr_assert_eq(count, 2);
    check_close_f("torch cross_entropy (none)", losses, T_CE, 3, 1e-6, 1e-6);
    rk_crossentropy_backward(dl, lg, tg, 3, 5, 1.0f / (float)count);
    check_close_f("torch cross_entropy grad (mean)", dl, T_CE_GRAD, 15, 1e-6, 1e-6);
}

Test(torch, rope_llama3_tables_and_rotation) {
    rk_rope_cfg cfg = {.head_dim = 16,
                       .theta = 500000.0f,
                       .llama3 = 1,
                       .factor = 8.0f,
                       .low_freq_factor = 1.0f,
                       .high_freq_factor = 4.0f,
                       .original_max_pos = 8192};
    float inv[8];
    rk_rope_inv_freq(inv, &cfg);
    check_equal("transformers llama3 inv_freq (head_dim 16)", inv, T_INV_LLAMA3, 8);
    cfg.head_dim = 128;
    float inv128[64];
    rk_rope_inv_freq(inv128, &cfg);
    check_equal("transformers llama3 inv_freq (Llama 3.1 8B)", inv128, T_INV_LLAMA31, 64);
    cfg.head_dim = 16;

    /* Tables at positions up to 8191: the angle is a float32 product, whose
     * rounding at large positions shows in cos and sin. */
    static const int positions[5] = {0, 1, 7, 1000, 8191};
    float *cos_t = malloc(8192 * 8 * 4), *sin_t = malloc(8192 * 8 * 4), got_c[40], got_s[40];
    rk_rope_table(cos_t, sin_t, inv, 8192, 16);
    for (int p = 0; p < 5; p++) {
        memcpy(got_c + p * 8, cos_t + positions[p] * 8, 8 * 4);
        memcpy(got_s + p * 8, sin_t + positions[p] * 8, 8 * 4);
    }
    check_close_f("transformers llama3 cos", got_c, T_COS_LLAMA3, 40, 0, 1e-6);
    check_close_f("transformers llama3 sin", got_s, T_SIN_LLAMA3, 40, 0, 1e-6);

    /* rotate_half on [B=1, T=3, nh=2, hd=8] at positions 5, 6, 7. */
    rk_rope_cfg plain = {.head_dim = 8, .theta = 10000.0f};
    float inv8[4], c8[8 * 4], s8[8 * 4], q[48];
    rk_rope_inv_freq(inv8, &plain);
    rk_rope_table(c8, s8, inv8, 8, 8);
    dy_f(q, 48, 5, 2, 23, 8);
    rk_rope_forward(q, 1, 3, 2, 8, 16, c8, s8, 5);
    check_close_f("transformers apply_rotary_pos_emb", q, T_ROPE, 48, 1e-6, 1e-6);
    free(cos_t), free(sin_t);
}

Test(torch, gqa_attention_forward_and_backward) {
    int B = 1, T = 3, nh = 2, nkv = 1, hd = 4;
    float q[24], k[12], v[12], R[24], out[24], att[18], scratch[18];
    float dq[24] = {0}, dk[12] = {0}, dv[12] = {0};
    dy_f(q, 24, 5, 1, 19, 8);
    dy_f(k, 12, 7, 3, 17, 8);
    dy_f(v, 12, 3, 2, 13, 8);
    dy_f(R, 24, 11, 5, 23, 8);
    rk_attention_forward(out, att, q, nh * hd, k, v, nkv * hd, B, T, nh, nkv, hd);
    check_close_f("transformers eager attention out", out, T_ATT_OUT, 24, 1e-6, 1e-6);
    check_close_f("transformers eager attention probs", att, T_ATT_P, 18, 1e-6, 1e-6);
    rk_attention_backward(dq, dk, dv, scratch, R, att, q, nh * hd, k, v, nkv * hd, B, T, nh, nkv, hd);
    check_close_f("torch autograd attention dq", dq, T_ATT_DQ, 24, 1e-5, 1e-6);
    check_close_f("torch autograd attention dk", dk, T_ATT_DK, 12, 1e-5, 1e-6);
    check_close_f("torch autograd attention dv", dv, T_ATT_DV, 12, 1e-5, 1e-6);
}

typedef struct rope_ctx {
    double *x, *R, *out;
    const float *cos_t, *sin_t;
    int B, T, nh, hd, stride, pos0;
} rope_ctx;

/* The rotation from its definition: pairs (i, i + hd/2), angle pos·inv_freq. */
static double rope_loss(const void *p) {
    const rope_ctx *c = p;
    int half = c->hd / 2;
    double L = 0.0;
    for (int bt = 0; bt < c->B * c->T; bt++)
        for (int h = 0; h < c->nh; h++)
            for (int i = 0; i < half; i++) {
                size_t at = (size_t)bt * c->stride + (size_t)h * c->hd + i;
                int pos = c->pos0 + bt % c->T;
                double cs = c->cos_t[pos * half + i], sn = c->sin_t[pos * half + i];
                double x1 = c->x[at], x2 = c->x[at + half];
                c->out[at] = x1 * cs - x2 * sn;
                c->out[at + half] = x2 * cs + x1 * sn;
                L += c->out[at] * c->R[at] + c->out[at + half] * c->R[at + half];
            }
    return L;
}

Test(rope, forward_backward_and_strides) {
    /* q of a fused row [q | k | v] with stride 3·nh·hd: k and v stay as they were. */
    int B = 2, T = 5, nh = 3, hd = 6, stride = 3 * nh * hd, pos0 = 4, npos = 16;
    size_t n = (size_t)B * T * stride;
    rk_rope_cfg cfg = {.head_dim = hd, .theta = 10000.0f};
    float inv[3], cos_t[16 * 3], sin_t[16 * 3];
    rk_rope_inv_freq(inv, &cfg);
    rk_rope_table(cos_t, sin_t, inv, npos, hd);
    for (int p = 0; p < npos; p++)
        for (int i = 0; i < 3; i++) {
            float angle = (float)p * inv[i];
            cr_assert(fabs(cos_t[p * 3 + i] - cos((double)angle)) < 1e-7, "cos table");
            cr_assert(fabs(sin_t[p * 3 + i] - sin((double)angle)) < 1e-7, "sin table");
        }
    float *x = frand_new(n, 1), *R = frand_new(n, 1), *x0 = fcopy(x, n);
    rope_ctx c = {dcopy(x, n), dcopy(R, n), dzeros(n), cos_t, sin_t, B, T, nh, hd, stride, pos0};
    rope_loss(&c);
    rk_rope_forward(x, B, T, nh, hd, stride, cos_t, sin_t, pos0);
    for (size_t i = 0; i < n; i++)
        if (i % stride >= (size_t)nh * hd) {
            c.out[i] = x0[i];
            cr_assert_eq(x[i], x0[i], "element %zu outside q changed", i);
        }
    check_close("rope fwd vs double", x, c.out, n, 1e-6, 1e-6);

    /* Backward: the transpose of the rotation, i.e. the loss's gradient. */
    float *dx = fcopy(R, n);
    rk_rope_backward(dx, B, T, nh, hd, stride, cos_t, sin_t, pos0);
    double *g = dzeros(n);
    fd_grad(g, c.x, n, rope_loss, &c);
    for (size_t i = 0; i < n; i++) /* outside q the gradient passes through */
        if (i % stride >= (size_t)nh * hd) g[i] = R[i];
    check_close("rope backward vs fd", dx, g, n, FD_RTOL, FD_AFRAC);

    /* Forward then backward is the identity. */
    rk_rope_backward(x, B, T, nh, hd, stride, cos_t, sin_t, pos0);
    check_close_f("rope forward then backward", x, x0, n, 1e-6, 1e-6);
    free(x), free(R), free(x0), free(dx), free(g), free(c.x), free(c.R), free(c.out);
}

/* ---- attention ---- */

typedef struct attn_case {
    int B, T, nh, nkv, hd;
    int fused; /* q, k, v in one [B, T, 3C] buffer (GPT-2's c_attn), nh = nkv */
} attn_case;

/* q, k, v of a case, in one buffer either way, with their strides. */
typedef struct attn_bufs {
    float *qkv;
    size_t n;
    size_t q_off, k_off, v_off;
    int q_stride, kv_stride;
} attn_bufs;

static attn_bufs attn_layout(const attn_case *a) {
    attn_bufs l;
    size_t rows = (size_t)a->B * a->T, C = (size_t)a->nh * a->hd, KC = (size_t)a->nkv * a->hd;
    if (a->fused) {
        l.q_stride = l.kv_stride = (int)(3 * C);
        l.q_off = 0, l.k_off = C, l.v_off = 2 * C;
        l.n = rows * 3 * C;
    } else {
        l.q_stride = (int)C, l.kv_stride = (int)KC;
        l.q_off = 0, l.k_off = rows * C, l.v_off = rows * (C + KC);
        l.n = rows * (C + 2 * KC);
    }
    l.qkv = NULL;
    return l;
}

typedef struct attn_ctx {
    const attn_case *a;
    attn_bufs l;
    double *qkv, *R, *out;
} attn_ctx;

/* Causal attention from its definition, in double. */
static double attn_loss(const void *p) {
    const attn_ctx *c = p;
    const attn_case *a = c->a;
    int group = a->nh / a->nkv, C = a->nh * a->hd;
    double *sc = malloc((size_t)a->T * sizeof *sc), L = 0.0;
    for (int b = 0; b < a->B; b++)
        for (int h = 0; h < a->nh; h++)
            for (int t = 0; t < a->T; t++) {
                const double *q = c->qkv + c->l.q_off + ((size_t)b * a->T + t) * c->l.q_stride + h * a->hd;
                double mx = -INFINITY, sum = 0.0;
                for (int s = 0; s <= t; s++) {
                    const double *k =
                        c->qkv + c->l.k_off + ((size_t)b * a->T + s) * c->l.kv_stride + (h / group) * a->hd;
                    sc[s] = dot_d(q, k, a->hd) / sqrt(a->hd);
                    mx = fmax(mx, sc[s]);
                }
                for (int s = 0; s <= t; s++)
                    sum += sc[s] = exp(sc[s] - mx);
                for (int i = 0; i < a->hd; i++) {
                    double o = 0.0;
                    for (int s = 0; s <= t; s++)
                        o += sc[s] / sum *
                             c->qkv[c->l.v_off + ((size_t)b * a->T + s) * c->l.kv_stride +
                                    (h / group) * a->hd + i];
                    size_t at = ((size_t)b * a->T + t) * C + h * a->hd + i;
                    c->out[at] = o;
                    L += o * c->R[at];
                }
            }
    free(sc);
    return L;
}

static void attn_fwd(const attn_case *a, const attn_bufs *l, float *out, float *att, int ref) {
    (ref ? rk_ref_attention_forward : rk_attention_forward)(out, att, l->qkv + l->q_off, l->q_stride,
                                                            l->qkv + l->k_off, l->qkv + l->v_off,
                                                            l->kv_stride, a->B, a->T, a->nh, a->nkv, a->hd);
}

static void attn_bwd(const attn_case *a, const attn_bufs *l, float *dqkv, int which, float *scratch,
                     const float *dout, const float *att, int ref) {
    /* which: bit 0 dq, bit 1 dk, bit 2 dv; the rest NULL. */
    float *dq = which & 1 ? dqkv + l->q_off : NULL, *dk = which & 2 ? dqkv + l->k_off : NULL;
    float *dv = which & 4 ? dqkv + l->v_off : NULL;
    const float *q = l->qkv + l->q_off, *k = l->qkv + l->k_off, *v = l->qkv + l->v_off;
    if (ref)
        rk_ref_attention_backward(dq, dk, dv, dout, att, q, l->q_stride, k, v, l->kv_stride, a->B, a->T,
                                  a->nh, a->nkv, a->hd);
    else
        rk_attention_backward(dq, dk, dv, scratch, dout, att, q, l->q_stride, k, v, l->kv_stride, a->B, a->T,
                              a->nh, a->nkv, a->hd);
}

static const attn_case CASES[] = {
    {2, 7, 4, 2, 8, 0},   /* grouped-query */
    {2, 5, 3, 3, 5, 1},   /* GPT-2: fused qkv, odd head size */
    {1, 9, 4, 1, 6, 0},   /* multi-query */
    {3, 1, 2, 2, 4, 1},   /* one position */
    {2, 48, 8, 2, 16, 0}, /* big enough for the parallel paths */
    {2, 33, 6, 6, 8, 1},
};

Test(attention, fast_matches_reference) {
    for (size_t ci = 0; ci < sizeof CASES / sizeof CASES[0]; ci++) {
        const attn_case *a = &CASES[ci];
        attn_bufs l = attn_layout(a);
        l.qkv = frand_new(l.n, 1.5f);
        size_t nout = (size_t)a->B * a->T * a->nh * a->hd, natt = (size_t)a->B * a->nh * a->T * a->T;
        float *out = frand_new(nout, 9), *att = frand_new(natt, 9), *rout = frand_new(nout, 9);
        float *ratt = frand_new(natt, 9);
        attn_fwd(a, &l, out, att, 0);
        attn_fwd(a, &l, rout, ratt, 1);
        char what[128];
        snprintf(what, sizeof what, "attention out B=%d T=%d nh=%d nkv=%d hd=%d fused=%d", a->B, a->T, a->nh,
                 a->nkv, a->hd, a->fused);
        check_close_f(what, out, rout, nout, 1e-5, 1e-6);
        snprintf(what, sizeof what, "attention probs B=%d T=%d nh=%d nkv=%d", a->B, a->T, a->nh, a->nkv);
        check_close_f(what, att, ratt, natt, 1e-5, 1e-6);
        for (size_t r = 0; r < (size_t)a->B * a->nh * a->T; r++) {
            int t = (int)(r % a->T);
            double sum = 0.0;
            for (int s = 0; s < a->T; s++) {
                float pr = att[r * a->T + s];
                if (s > t) cr_assert_eq(pr, 0.0f, "probability above the diagonal: row %zu col %d", r, s);
                sum += pr;
            }
            cr_assert(fabs(sum - 1.0) < 1e-5, "row %zu sums to %.9g", r, sum);
        }

        /* Backward into one dqkv buffer that already holds values. */
        float *dout = frand_new(nout, 1), *dqkv = frand_new(l.n, 1), *scratch = malloc(natt * 4);
        float *rdqkv = fcopy(dqkv, l.n);
        attn_bwd(a, &l, dqkv, 7, scratch, dout, att, 0);
        attn_bwd(a, &l, rdqkv, 7, NULL, dout, ratt, 1);
        snprintf(what, sizeof what, "attention dqkv B=%d T=%d nh=%d nkv=%d hd=%d fused=%d", a->B, a->T, a->nh,
                 a->nkv, a->hd, a->fused);
        check_close_f(what, dqkv, rdqkv, l.n, 1e-5, 1e-6);
        free(l.qkv), free(out), free(att), free(rout), free(ratt), free(dout), free(dqkv), free(scratch),
            free(rdqkv);
    }
}

Test(attention, backward_matches_finite_differences) {
    for (size_t ci = 0; ci < 4; ci++) {
        const attn_case *a = &CASES[ci];
        attn_bufs l = attn_layout(a);
        l.qkv = frand_new(l.n, 1.5f);
        size_t nout = (size_t)a->B * a->T * a->nh * a->hd, natt = (size_t)a->B * a->nh * a->T * a->T;
        float *R = frand_new(nout, 1), *out = malloc(nout * 4), *att = malloc(natt * 4);
        attn_ctx c = {a, l, dcopy(l.qkv, l.n), dcopy(R, nout), dzeros(nout)};
        attn_fwd(a, &l, out, att, 0);
        attn_loss(&c);
        char what[128];
        snprintf(what, sizeof what, "attention fwd vs double B=%d T=%d nh=%d nkv=%d fused=%d", a->B, a->T,
                 a->nh, a->nkv, a->fused);
        check_close(what, out, c.out, nout, 1e-5, 1e-6);

        float *dqkv = calloc(l.n, 4), *scratch = malloc(natt * 4);
        attn_bwd(a, &l, dqkv, 7, scratch, R, att, 0);
        double *g = dzeros(l.n);
        fd_grad(g, c.qkv, l.n, attn_loss, &c);
        snprintf(what, sizeof what, "attention dq,dk,dv vs fd B=%d T=%d nh=%d nkv=%d fused=%d", a->B, a->T,
                 a->nh, a->nkv, a->fused);
        check_close(what, dqkv, g, l.n, FD_RTOL, FD_AFRAC);
        free(l.qkv), free(R), free(out), free(att), free(c.qkv), free(c.R), free(c.out), free(dqkv),
            free(scratch);
        free(g);
    }
}

Test(attention, backward_accumulates_and_skips_null) {
    const attn_case *a = &CASES[0];
    attn_bufs l = attn_layout(a);
    l.qkv = frand_new(l.n, 1.5f);
    size_t nout = (size_t)a->B * a->T * a->nh * a->hd, natt = (size_t)a->B * a->nh * a->T * a->T;
    float *out = malloc(nout * 4), *att = malloc(natt * 4), *scratch = malloc(natt * 4),
          *dout = frand_new(nout, 1);
    attn_fwd(a, &l, out, att, 0);
    float *all = calloc(l.n, 4);
    attn_bwd(a, &l, all, 7, scratch, dout, att, 0);
    /* Each subset of {dq, dk, dv} fills exactly its own part. */
    for (int which = 0; which < 8; which++) {
        float *part = calloc(l.n, 4);
        attn_bwd(a, &l, part, which, scratch, dout, att, 0);
        for (size_t i = 0; i < l.n; i++) {
            int bit = i < l.k_off ? 1 : i < l.v_off ? 2 : 4;
            float e = which & bit ? all[i] : 0.0f;
            cr_assert(fabs(part[i] - e) <= 1e-6 * (1 + fabs(e)), "subset %d: element %zu is %g, expected %g",
                      which, i, (double)part[i], (double)e);
        }
        free(part);
    }
    /* A second call doubles. */
    float *once = fcopy(all, l.n);
    attn_bwd(a, &l, all, 7, scratch, dout, att, 0);
    double *twice = dzeros(l.n);
    for (size_t i = 0; i < l.n; i++)
        twice[i] = 2.0 * once[i];
    check_close("attention grads twice", all, twice, l.n, 1e-6, 1e-7);
    free(l.qkv), free(out), free(att), free(scratch), free(dout), free(all), free(once), free(twice);
}
