/* model.c — decoder-only transformers on float32, built from a Hugging Face
 * model directory: GPT-2, and the Llama family (llama, mistral, qwen2).
 * Forward to logits and loss, backward to every trainable parameter, LoRA
 * adapters in PEFT's layout (add, load, save, merge), KV-cache decoding and
 * saving back to a Hugging Face directory.
 *
 * Laid out as llm.c's train_gpt2.c: the base weights are one allocation
 * carved by a size table of parameter groups (a per-layer group holds its L
 * tensors back to back), the activations of a forward are one allocation
 * carved by acts_layout() with a shape comment per field, and backward calls
 * the kernels.h pairs in the mirror order of forward. Gradients exist only for
 * what trains: the base grads block is freed when LoRA adapters are attached,
 * so a frozen base costs neither memory nor dW products.
 *
 * Not for: tokenization, optimizers, sampling, training checkpoints. */
#define _GNU_SOURCE
#include "raftkit/model.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raftkit/file.h"
#include "raftkit/json.h"
#include "raftkit/rng.h"
#include "raftkit/safetensors.h"

/* OpenBLAS's cblas.h includes <complex.h>, whose I would shadow our
 * intermediate-size locals. */
#undef I

/* Sizes beyond these are not models this engine can hold; refusing them early
 * keeps every int product in the kernels' arguments far from overflow. */
#define MAX_DIM (1 << 20)
#define MAX_VOCAB (1 << 23)
/* Loops shorter than this run on one thread: spawning costs more. */
#define PAR_MIN (1 << 15)

/* Parameter groups, each one run of the flat base array. Per-layer groups
 * hold L tensors back to back. GPT-2 maps its modules onto the same slots:
 * c_attn -> Q (fused q|k|v), attn.c_proj -> O, mlp.c_fc -> FC, mlp.c_proj ->
 * DOWN; Llama's gate_proj is FC. */
enum {
    P_WTE,    /* (V, C) */
    P_WPE,    /* (maxpos, C) gpt2 */
    P_LN1W,   /* (L, C) */
    P_LN1B,   /* (L, C) gpt2 */
    P_QW,     /* (L, QD, C) llama; (L, C, 3C) gpt2 */
    P_QB,     /* (L, QD) llama with bias; (L, 3C) gpt2 */
    P_KW,     /* (L, KVD, C) llama */
    P_KB,     /* (L, KVD) */
    P_VW,     /* (L, KVD, C) */
    P_VB,     /* (L, KVD) */
    P_OW,     /* (L, C, QD) llama; (L, C, C) gpt2 */
    P_OB,     /* (L, C) gpt2, llama with attention_bias */
    P_LN2W,   /* (L, C) */
    P_LN2B,   /* (L, C) gpt2 */
    P_FCW,    /* (L, I, C) llama gate; (L, C, I) gpt2 c_fc */
    P_FCB,    /* (L, I) gpt2 */
    P_UPW,    /* (L, I, C) llama */
    P_DOWNW,  /* (L, C, I) llama; (L, I, C) gpt2 */
    P_DOWNB,  /* (L, C) gpt2 */
    P_LNFW,   /* (C) */
    P_LNFB,   /* (C) gpt2 */
    P_LMHEAD, /* (V, C) when not tied */
    NP
};

/* The linear modules of a block, in Hugging Face's module order (which is
 * also PEFT's tensor order). GPT-2 uses Q (c_attn), O, GATE (c_fc), DOWN. */
enum { K_Q, K_K, K_V, K_O, K_GATE, K_UP, K_DOWN, NK };

typedef struct pgroup {
    const char *fmt; /* HF name, "%d" = layer; NULL = absent in this model */
    int per_layer;
    int ndim;
    int64_t d[2];
    size_t off; /* into the base array */
    size_t n1;  /* floats per tensor */
} pgroup;

typedef struct lin_spec {
    int present;
    int w, b; /* parameter groups; b = -1 without bias */
    int in, out;
    const char *path;   /* HF module path, "%d" = layer */
    const char *target; /* PEFT target_modules name */
} lin_spec;

typedef struct lmod {
    int layer, kind, in, out;
    size_t a, b; /* offsets of A (r, in) and B (out, r) in the LoRA array */
} lmod;

/* Forward activations, one block carved by acts_layout(); N = B*T. */
typedef struct acts {
    float *encoded;  /* (N, C) */
    float *ln1;      /* (L, N, C) */
    float *ln1_mean; /* (L, N) gpt2 */
    float *ln1_rstd; /* (L, N) */
    float *q;        /* (L, N, QW): llama q after rope (QW = QD); gpt2 qkv (QW = 3C) */
    float *k;        /* (L, N, KVD) llama, after rope */
    float *v;        /* (L, N, KVD) llama */
    float *att;      /* (L, B, NH, T, T) */
    float *atty;     /* (L, N, QD) */
    float *res1;     /* (L, N, C) */
    float *ln2;      /* (L, N, C) */
    float *ln2_mean; /* (L, N) gpt2 */
    float *ln2_rstd; /* (L, N) */
    float *fch;      /* (L, N, I) gate (llama) or c_fc output (gpt2) */
    float *up;       /* (L, N, I) llama */
    float *act;      /* (L, N, I) swiglu or gelu output */
    float *res2;     /* (L, N, C) */
    float *lnf;      /* (N, C) */
    float *lnf_mean; /* (N) gpt2 */
    float *lnf_rstd; /* (N) */
    float *logits;   /* (N, V); dlogits after backward */
    float *losses;   /* (N) */
    float *lora_h;   /* (nmods, N, r): scale * A·dropout(x) */
    float *tmp;      /* (N, C) projection outputs before the residual add */
    float *xdrop;    /* (N, maxin) dropped LoRA input; only with dropout */
} acts;

/* Backward scratch, reused by every layer. */
typedef struct bwd {
    float *dres;  /* (N, C) gradient of the residual stream */
    float *dln;   /* (N, C) */
    float *dq;    /* (N, QW) */
    float *dk;    /* (N, KVD) */
    float *dv;    /* (N, KVD) */
    float *datty; /* (N, QD) */
    float *datt;  /* (B, NH, T, T) */
    float *dfch;  /* (N, I) */
    float *dup;   /* (N, I) */
    float *dact;  /* (N, I) */
    float *dh;    /* (N, r) */
    float *dxl;   /* (N, maxin) LoRA input gradient before the dropout mask */
} bwd;

/* KV-cache decoding scratch for n rows (B = 1). */
typedef struct stepbuf {
    float *x;    /* (n, C) residual stream */
    float *ln;   /* (n, C) */
    float *mean; /* (n) */
    float *rstd; /* (n) */
    float *q;    /* (n, QW) */
    float *k;    /* (n, KVD) */
    float *v;    /* (n, KVD) */
    float *atty; /* (n, QD) */
    float *tmp;  /* (n, C) */
    float *fch;  /* (n, I) */
    float *up;   /* (n, I) */
    float *act;  /* (n, I) */
    float *h;    /* (n, r) */
} stepbuf;
struct rk_model {
    rk_model_config cfg;
    json_t *config; /* config.json as loaded, written back by rk_model_save */
    char *dir;      /* the directory it was loaded from, resolved: adapters name their base by it */
    int o_bias;     /* llama attention_bias: o_proj has a bias too */
    int window;     /* sliding-window attention span, 0 = none */
    int QD, KVD, QW, maxin;

    pgroup g[NP];
    lin_spec lin[NK];
    float *params; /* base weights, n_params floats */
    float *grads;  /* same layout; NULL while frozen (LoRA) */
    size_t n_params;
    rk_param *plist; /* one per base tensor */
    size_t n_plist;

    /* LoRA: set while adapters are attached */
    int lora;
    int r;
    float alpha, dropout, lscale;
    int rslora;
    lmod *mods;
    size_t n_mods;
    int *lidx; /* (L, NK): index into mods, or -1 */
    float *lparams, *lgrads;
    size_t n_lparams;
    rk_param *llist;
    size_t n_llist;

    /* training mode, and the dropout of the last forward (its masks are
     * drawn again, not stored, by backward) */
    int train;
    uint64_t seed, n_fwd, stream;
    int drop;

    /* activations of the last forward */
    float *acts_mem;
    size_t acts_cap;
    acts a;
    float *bwd_mem;
    size_t bwd_cap;
    bwd d;
    int B, T;
    int32_t *tokens, *targets; /* copies, (N) */
    size_t tok_cap;
    int have_logits, can_backward;
    size_t count; /* counted targets of the last forward */

    /* rope tables for positions [0, rope_n) */
    float *inv_freq, *rope_cos, *rope_sin;
    int rope_n;

    /* generation */
    float **kc, **vc; /* (L) caches of (kv_cap, KVD) */
    int kv_cap, kv_len;
    float *step_mem;
    size_t step_cap;
    stepbuf s;
};

/* ---- small helpers ---------------------------------------------------------- */

/* A 64-bit hash: one splitmix64 step from state z. */
static uint64_t mix64(uint64_t z) { return rk_rng_next(&z); }

/* Uniform in [0, 1) with 53 random bits. */
static double u01(uint64_t bits) { return (double)(bits >> 11) * 0x1.0p-53; }

/* Dropout's mask is a hash of (stream, module, element), so backward draws
 * the forward's mask again instead of keeping it: no memory, any thread
 * order. */
static int keep(uint64_t stream, int j, size_t i, float p) {
    return u01(mix64(stream ^ mix64(((uint64_t)(unsigned)j << 48) ^ (uint64_t)i))) >= (double)p;
}

static void dropout_apply(float *out, const float *in, size_t n, uint64_t stream, int j, float p) {
    float inv = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++)
        out[i] = keep(stream, j, i, p) ? in[i] * inv : 0.0f;
}

/* dinp += mask * dx / (1 - p): the transpose of dropout_apply. */
static void dropout_backward(float *dinp, const float *dx, size_t n, uint64_t stream, int j, float p) {
    float inv = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++)
        if (keep(stream, j, i, p)) dinp[i] += dx[i] * inv;
}

static void add_inplace(float *a, const float *b, size_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++)
        a[i] += b[i];
}

static void scale_inplace(float *a, size_t n, float s) {
    for (size_t i = 0; i < n; i++)
        a[i] *= s;
}

/* dir + "/" + name, malloc'd; NULL when out of memory. */
static rk_status read_json(const char *path, json_t **out, rk_error *err) {
    char *text;
    size_t n;
    rk_status s = rk_file_read(path, &text, &n, err);
    if (s) return s;
    s = rk_json_parse(text, n, path, out, err);
    free(text);
    if (s) return s;
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return rk_fail(err, RK_EFORMAT, "%s: not a JSON object", path);
    }
    return RK_OK;
}

static rk_status write_json(const char *path, const json_t *v, rk_error *err) {
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) return rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
    size_t n = strlen(text);
    char *t = realloc(text, n + 2);
    if (!t) {
        free(text);
        return rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    rk_status s = rk_file_write_atomic(path, t, n + 1, err);
    free(t);
    return s;
}

static void shape_text(char *buf, size_t n, int ndim, const int64_t *d) {
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)d[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
}

/* ---- config.json ------------------------------------------------------------ */

#define REQUIRED INT_MIN

static rk_status cfg_int(const char *what, const json_t *o, const char *key, int dflt, int *out,
                         rk_error *err) {
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (dflt == REQUIRED) return rk_fail(err, RK_EFORMAT, "%s: \"%s\" is missing", what, key);
        *out = dflt;
        return RK_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < INT_MIN + 1 || json_integer_value(v) > INT_MAX)
        return rk_fail(err, RK_EFORMAT, "%s: \"%s\" is not an integer", what, key);
    *out = (int)json_integer_value(v);
    return RK_OK;
}

/* A positive dimension no larger than max. */
static rk_status cfg_dim(const char *what, const json_t *o, const char *key, int dflt, int max, int *out,
                         rk_error *err) {
    rk_status s = cfg_int(what, o, key, dflt, out, err);
    if (s) return s;
    if (*out <= 0 || *out > max)
        return rk_fail(err, RK_EFORMAT, "%s: \"%s\" = %d is out of range (1..%d)", what, key, *out, max);
    return RK_OK;
}

static rk_status cfg_num(const char *what, const json_t *o, const char *key, double dflt, int required,
                         double *out, rk_error *err) {
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required) return rk_fail(err, RK_EFORMAT, "%s: \"%s\" is missing", what, key);
        *out = dflt;
        return RK_OK;
    }
    if (!json_is_number(v)) return rk_fail(err, RK_EFORMAT, "%s: \"%s\" is not a number", what, key);
    *out = json_number_value(v);
    if (!isfinite(*out)) return rk_fail(err, RK_EFORMAT, "%s: \"%s\" is not finite", what, key);
    return RK_OK;
}

static rk_status cfg_bool(const char *what, const json_t *o, const char *key, int dflt, int *out,
                          rk_error *err) {
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return RK_OK;
    }
    if (!json_is_boolean(v)) return rk_fail(err, RK_EFORMAT, "%s: \"%s\" is not true or false", what, key);
    *out = json_is_true(v);
    return RK_OK;
}

/* bos/eos: an integer, null, or (Llama 3) a list whose first entry counts. */
static int cfg_token(const json_t *o, const char *key) {
    const json_t *v = json_object_get(o, key);
    if (json_is_array(v)) v = json_array_get(v, 0);
    return json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= INT_MAX
               ? (int)json_integer_value(v)
               : -1;
}

/* rope_theta and rope scaling: transformers 5 writes both inside
 * "rope_parameters"; 4.x wrote "rope_theta" at the top and "rope_scaling"
 * (null, or {"rope_type" or "type": ...}). */
static rk_status parse_rope(const char *what, const json_t *root, rk_rope_cfg *rope, rk_error *err) {
    const json_t *params = json_object_get(root, "rope_parameters");
    const json_t *sc = json_is_object(params) ? params : json_object_get(root, "rope_scaling");
    double theta = 0;
    rk_status s =
        cfg_num(what, json_is_object(params) && json_object_get(params, "rope_theta") ? params : root,
                "rope_theta", 10000.0, 0, &theta, err);
    if (s) return s;
    if (theta <= 1.0) return rk_fail(err, RK_EFORMAT, "%s: \"rope_theta\" = %g must be above 1", what, theta);
    rope->theta = (float)theta;
    rope->llama3 = 0;
    if (!sc || json_is_null(sc)) return RK_OK;
    if (!json_is_object(sc)) return rk_fail(err, RK_EFORMAT, "%s: \"rope_scaling\" is not an object", what);
    const char *type = json_string_value(json_object_get(sc, "rope_type"));
    if (!type) type = json_string_value(json_object_get(sc, "type"));
    if (!type || !strcmp(type, "default")) return RK_OK;
    if (strcmp(type, "llama3"))
        return rk_fail(err, RK_EFORMAT,
                       "%s: rope scaling \"%s\" is not supported (supported: default, llama3)", what, type);
    double factor = 0, low = 0, high = 0;
    int orig = 0;
    if ((s = cfg_num(what, sc, "factor", 0, 1, &factor, err)) ||
        (s = cfg_num(what, sc, "low_freq_factor", 0, 1, &low, err)) ||
        (s = cfg_num(what, sc, "high_freq_factor", 0, 1, &high, err)) ||
        (s = cfg_dim(what, sc, "original_max_position_embeddings", REQUIRED, INT_MAX, &orig, err)))
        return s;
    if (factor <= 0 || low <= 0 || high <= low)
        return rk_fail(err, RK_EFORMAT,
                       "%s: llama3 rope scaling needs factor > 0 and 0 < low_freq_factor < high_freq_factor",
                       what);
    rope->llama3 = 1;
    rope->factor = (float)factor;
    rope->low_freq_factor = (float)low;
    rope->high_freq_factor = (float)high;
    rope->original_max_pos = orig;
    return RK_OK;
}

static rk_status parse_gpt2(rk_model *m, const char *what, const json_t *o, rk_error *err) {
    rk_model_config *c = &m->cfg;
    rk_status s;
    int n_ctx = 0, scale_w = 1, inv_layer = 0;
    double eps = 0;
    if ((s = cfg_dim(what, o, "vocab_size", REQUIRED, MAX_VOCAB, &c->vocab_size, err)) ||
        (s = cfg_dim(what, o, "n_embd", REQUIRED, MAX_DIM, &c->hidden, err)) ||
        (s = cfg_dim(what, o, "n_layer", REQUIRED, 4096, &c->n_layer, err)) ||
        (s = cfg_dim(what, o, "n_head", REQUIRED, 4096, &c->n_head, err)) ||
        (s = cfg_dim(what, o, "n_ctx", 1024, MAX_DIM, &n_ctx, err)) ||
        (s = cfg_dim(what, o, "n_positions", n_ctx, MAX_DIM, &c->max_pos, err)) ||
        (s = cfg_num(what, o, "layer_norm_epsilon", 1e-5, 0, &eps, err)) ||
        (s = cfg_bool(what, o, "scale_attn_weights", 1, &scale_w, err)) ||
        (s = cfg_bool(what, o, "scale_attn_by_inverse_layer_idx", 0, &inv_layer, err)) ||
        (s = cfg_bool(what, o, "tie_word_embeddings", 1, &c->tie_embeddings, err)))
        return s;
    if (c->hidden > MAX_DIM / 4)
        return rk_fail(err, RK_EFORMAT, "%s: \"n_embd\" = %d is too large", what, c->hidden);
    if ((s = cfg_dim(what, o, "n_inner", 4 * c->hidden, MAX_DIM, &c->intermediate, err))) return s;
    const json_t *act = json_object_get(o, "activation_function");
    const char *a = act ? json_string_value(act) : "gelu_new";
    if (!a || (strcmp(a, "gelu_new") && strcmp(a, "gelu_pytorch_tanh")))
        return rk_fail(
            err, RK_EFORMAT,
            "%s: activation_function \"%s\" is not supported (supported: gelu_new, gelu_pytorch_tanh)", what,
            a ? a : "(not a string)");
    if (!scale_w || inv_layer)
        return rk_fail(err, RK_EFORMAT,
                       "%s: attention scaled other than by 1/sqrt(head_dim) (scale_attn_weights false or "
                       "scale_attn_by_inverse_layer_idx true) is not supported",
                       what);
    if (c->hidden % c->n_head)
        return rk_fail(err, RK_EFORMAT, "%s: n_embd %d is not a multiple of n_head %d", what, c->hidden,
                       c->n_head);
    c->arch = RK_ARCH_GPT2;
    c->n_kv_head = c->n_head;
    c->head_dim = c->hidden / c->n_head;
    c->norm_eps = (float)eps;
    c->attn_bias = 1; /* c_attn's bias covers q, k and v */
    return RK_OK;
}

static rk_status parse_llama(rk_model *m, const char *what, const json_t *o, rk_error *err) {
    rk_model_config *c = &m->cfg;
    const char *mt = c->model_type;
    int qwen2 = !strcmp(mt, "qwen2"), mistral = !strcmp(mt, "mistral");
    int max_pos_default = qwen2 ? 32768 : mistral ? 4096 * 32 : 2048, mlp_bias = 0, attn_bias = 0;
    double eps = 0;
    rk_status s;
    if ((s = cfg_dim(what, o, "vocab_size", REQUIRED, MAX_VOCAB, &c->vocab_size, err)) ||
        (s = cfg_dim(what, o, "hidden_size", REQUIRED, MAX_DIM, &c->hidden, err)) ||
        (s = cfg_dim(what, o, "num_hidden_layers", REQUIRED, 4096, &c->n_layer, err)) ||
        (s = cfg_dim(what, o, "num_attention_heads", REQUIRED, 4096, &c->n_head, err)) ||
        (s = cfg_dim(what, o, "num_key_value_heads", c->n_head, 4096, &c->n_kv_head, err)) ||
        (s = cfg_dim(what, o, "intermediate_size", REQUIRED, MAX_DIM, &c->intermediate, err)) ||
        (s = cfg_dim(what, o, "max_position_embeddings", max_pos_default, INT_MAX, &c->max_pos, err)) ||
        (s = cfg_num(what, o, "rms_norm_eps", 1e-6, 0, &eps, err)) ||
        (s = cfg_bool(what, o, "tie_word_embeddings", 0, &c->tie_embeddings, err)) ||
        (s = cfg_bool(what, o, "mlp_bias", 0, &mlp_bias, err)))
        return s;
    if (!qwen2 && !mistral && (s = cfg_bool(what, o, "attention_bias", 0, &attn_bias, err))) return s;
    if (c->hidden % c->n_head && !json_is_integer(json_object_get(o, "head_dim")))
        return rk_fail(err, RK_EFORMAT, "%s: hidden_size %d is not a multiple of num_attention_heads %d",
                       what, c->hidden, c->n_head);
    if ((s = cfg_dim(what, o, "head_dim", c->hidden / c->n_head ? c->hidden / c->n_head : 1, 65536,
                     &c->head_dim, err)))
        return s;
    if (c->head_dim % 2)
        return rk_fail(err, RK_EFORMAT, "%s: head_dim %d is odd (rotary needs pairs)", what, c->head_dim);
    if (c->n_head % c->n_kv_head)
        return rk_fail(err, RK_EFORMAT,
                       "%s: num_attention_heads %d is not a multiple of num_key_value_heads %d", what,
                       c->n_head, c->n_kv_head);
    if ((int64_t)c->n_head * c->head_dim > MAX_DIM)
        return rk_fail(err, RK_EFORMAT, "%s: num_attention_heads * head_dim is too large", what);
    const json_t *act = json_object_get(o, "hidden_act");
    const char *a = act ? json_string_value(act) : "silu";
    if (!a || strcmp(a, "silu"))
        return rk_fail(err, RK_EFORMAT, "%s: hidden_act \"%s\" is not supported (supported: silu)", what,
                       a ? a : "(not a string)");
    if (mlp_bias) return rk_fail(err, RK_EFORMAT, "%s: \"mlp_bias\": true is not supported", what);
    if ((s = parse_rope(what, o, &c->rope, err))) return s;
    /* Sliding-window attention equals full attention while sequences fit in
     * the window; longer ones are refused at run time. */
    int use_window = 1, window = 0;
    if (qwen2 && (s = cfg_bool(what, o, "use_sliding_window", 0, &use_window, err))) return s;
    if ((qwen2 || mistral) && use_window && (s = cfg_int(what, o, "sliding_window", 0, &window, err)))
        return s;
    m->window = window > 0 && window < c->max_pos ? window : 0;
    c->arch = RK_ARCH_LLAMA;
    c->norm_eps = (float)eps;
    c->rope.head_dim = c->head_dim;
    c->attn_bias = qwen2 || attn_bias;
    m->o_bias = attn_bias;
    return RK_OK;
}

static rk_status parse_config(rk_model *m, const char *what, const json_t *o, rk_error *err) {
    const char *mt = json_string_value(json_object_get(o, "model_type"));
    if (!mt) return rk_fail(err, RK_EFORMAT, "%s: no \"model_type\" string", what);
    if (strcmp(mt, "gpt2") && strcmp(mt, "llama") && strcmp(mt, "mistral") && strcmp(mt, "qwen2"))
        return rk_fail(err, RK_EFORMAT,
                       "%s: unsupported architecture \"%s\" (supported: gpt2, llama, mistral, qwen2)", what,
                       mt);
    snprintf(m->cfg.model_type, sizeof m->cfg.model_type, "%s", mt);
    rk_status s = strcmp(mt, "gpt2") ? parse_llama(m, what, o, err) : parse_gpt2(m, what, o, err);
    if (s) return s;
    m->cfg.bos_id = cfg_token(o, "bos_token_id");
    m->cfg.eos_id = cfg_token(o, "eos_token_id");
    return RK_OK;
}

/* ---- parameters ---------------------------------------------------------- */

static void set_group(rk_model *m, int g, const char *fmt, int per_layer, int ndim, int64_t d0, int64_t d1) {
    pgroup *p = &m->g[g];
    p->fmt = fmt;
    p->per_layer = per_layer;
    p->ndim = ndim;
    p->d[0] = d0;
    p->d[1] = ndim == 2 ? d1 : 0;
    p->n1 = (size_t)d0 * (size_t)(ndim == 2 ? d1 : 1);
}

static void set_lin(rk_model *m, int k, int w, int b, int in, int out, const char *path, const char *target) {
    m->lin[k] = (lin_spec){1, w, b, in, out, path, target};
}

/* The size table: every group's shape from the config, then offsets. */
static void layout_params(rk_model *m) {
    const rk_model_config *c = &m->cfg;
    int64_t V = c->vocab_size, C = c->hidden, I = c->intermediate;
    m->QD = c->n_head * c->head_dim;
    m->KVD = c->n_kv_head * c->head_dim;
    if (c->arch == RK_ARCH_GPT2) {
        m->QW = 3 * c->hidden;
        set_group(m, P_WTE, "transformer.wte.weight", 0, 2, V, C);
        set_group(m, P_WPE, "transformer.wpe.weight", 0, 2, c->max_pos, C);
        set_group(m, P_LN1W, "transformer.h.%d.ln_1.weight", 1, 1, C, 0);
        set_group(m, P_LN1B, "transformer.h.%d.ln_1.bias", 1, 1, C, 0);
        set_group(m, P_QW, "transformer.h.%d.attn.c_attn.weight", 1, 2, C, 3 * C);
        set_group(m, P_QB, "transformer.h.%d.attn.c_attn.bias", 1, 1, 3 * C, 0);
        set_group(m, P_OW, "transformer.h.%d.attn.c_proj.weight", 1, 2, C, C);
        set_group(m, P_OB, "transformer.h.%d.attn.c_proj.bias", 1, 1, C, 0);
        set_group(m, P_LN2W, "transformer.h.%d.ln_2.weight", 1, 1, C, 0);
        set_group(m, P_LN2B, "transformer.h.%d.ln_2.bias", 1, 1, C, 0);
        set_group(m, P_FCW, "transformer.h.%d.mlp.c_fc.weight", 1, 2, C, I);
        set_group(m, P_FCB, "transformer.h.%d.mlp.c_fc.bias", 1, 1, I, 0);
        set_group(m, P_DOWNW, "transformer.h.%d.mlp.c_proj.weight", 1, 2, I, C);
        set_group(m, P_DOWNB, "transformer.h.%d.mlp.c_proj.bias", 1, 1, C, 0);
        set_group(m, P_LNFW, "transformer.ln_f.weight", 0, 1, C, 0);
        set_group(m, P_LNFB, "transformer.ln_f.bias", 0, 1, C, 0);
        set_lin(m, K_Q, P_QW, P_QB, c->hidden, 3 * c->hidden, "transformer.h.%d.attn.c_attn", "c_attn");
        set_lin(m, K_O, P_OW, P_OB, c->hidden, c->hidden, "transformer.h.%d.attn.c_proj", "c_proj");
        set_lin(m, K_GATE, P_FCW, P_FCB, c->hidden, c->intermediate, "transformer.h.%d.mlp.c_fc", "c_fc");
        set_lin(m, K_DOWN, P_DOWNW, P_DOWNB, c->intermediate, c->hidden, "transformer.h.%d.mlp.c_proj",
                "c_proj");
    } else {
        int64_t QD = m->QD, KVD = m->KVD;
        m->QW = m->QD;
        set_group(m, P_WTE, "model.embed_tokens.weight", 0, 2, V, C);
        set_group(m, P_LN1W, "model.layers.%d.input_layernorm.weight", 1, 1, C, 0);
        set_group(m, P_QW, "model.layers.%d.self_attn.q_proj.weight", 1, 2, QD, C);
        set_group(m, P_KW, "model.layers.%d.self_attn.k_proj.weight", 1, 2, KVD, C);
        set_group(m, P_VW, "model.layers.%d.self_attn.v_proj.weight", 1, 2, KVD, C);
        if (c->attn_bias) {
            set_group(m, P_QB, "model.layers.%d.self_attn.q_proj.bias", 1, 1, QD, 0);
            set_group(m, P_KB, "model.layers.%d.self_attn.k_proj.bias", 1, 1, KVD, 0);
            set_group(m, P_VB, "model.layers.%d.self_attn.v_proj.bias", 1, 1, KVD, 0);
        }
        set_group(m, P_OW, "model.layers.%d.self_attn.o_proj.weight", 1, 2, C, QD);
        if (m->o_bias) set_group(m, P_OB, "model.layers.%d.self_attn.o_proj.bias", 1, 1, C, 0);
        set_group(m, P_LN2W, "model.layers.%d.post_attention_layernorm.weight", 1, 1, C, 0);
        set_group(m, P_FCW, "model.layers.%d.mlp.gate_proj.weight", 1, 2, I, C);
        set_group(m, P_UPW, "model.layers.%d.mlp.up_proj.weight", 1, 2, I, C);
        set_group(m, P_DOWNW, "model.layers.%d.mlp.down_proj.weight", 1, 2, C, I);
        set_group(m, P_LNFW, "model.norm.weight", 0, 1, C, 0);
        int bq = c->attn_bias ? P_QB : -1, bk = c->attn_bias ? P_KB : -1, bv = c->attn_bias ? P_VB : -1;
        set_lin(m, K_Q, P_QW, bq, c->hidden, m->QD, "model.layers.%d.self_attn.q_proj", "q_proj");
        set_lin(m, K_K, P_KW, bk, c->hidden, m->KVD, "model.layers.%d.self_attn.k_proj", "k_proj");
        set_lin(m, K_V, P_VW, bv, c->hidden, m->KVD, "model.layers.%d.self_attn.v_proj", "v_proj");
        set_lin(m, K_O, P_OW, m->o_bias ? P_OB : -1, m->QD, c->hidden, "model.layers.%d.self_attn.o_proj",
                "o_proj");
        set_lin(m, K_GATE, P_FCW, -1, c->hidden, c->intermediate, "model.layers.%d.mlp.gate_proj",
                "gate_proj");
        set_lin(m, K_UP, P_UPW, -1, c->hidden, c->intermediate, "model.layers.%d.mlp.up_proj", "up_proj");
        set_lin(m, K_DOWN, P_DOWNW, -1, c->intermediate, c->hidden, "model.layers.%d.mlp.down_proj",
                "down_proj");
    }
    if (!c->tie_embeddings) set_group(m, P_LMHEAD, "lm_head.weight", 0, 2, V, C);
    size_t off = 0;
    for (int g = 0; g < NP; g++) {
        m->g[g].off = off;
        if (m->g[g].fmt) off += m->g[g].n1 * (size_t)(m->g[g].per_layer ? c->n_layer : 1);
    }
    m->n_params = off;
    m->maxin = c->hidden > c->intermediate ? c->hidden : c->intermediate;
    if (m->QD > m->maxin) m->maxin = m->QD;
}

static float *wptr(const rk_model *m, int g, int l) {
    return m->params + m->g[g].off + (size_t)l * m->g[g].n1;
}

static float *gptr(const rk_model *m, int g, int l) {
    return m->grads ? m->grads + m->g[g].off + (size_t)l * m->g[g].n1 : NULL;
}

static void group_name(const rk_model *m, int g, int l, char *out, size_t n) {
    if (m->g[g].per_layer)
        snprintf(out, n, m->g[g].fmt, l);
    else
        snprintf(out, n, "%s", m->g[g].fmt);
}

static rk_status build_plist(rk_model *m, rk_error *err) {
    size_t n = 0;
    for (int g = 0; g < NP; g++)
        if (m->g[g].fmt) n += m->g[g].per_layer ? (size_t)m->cfg.n_layer : 1;
    m->plist = calloc(n, sizeof *m->plist);
    if (!m->plist) return rk_fail(err, RK_ENOMEM, "out of memory");
    m->n_plist = n;
    size_t i = 0;
    for (int g = 0; g < NP; g++) {
        const pgroup *p = &m->g[g];
        if (!p->fmt) continue;
        for (int l = 0; l < (p->per_layer ? m->cfg.n_layer : 1); l++) {
            rk_param *q = &m->plist[i++];
            group_name(m, g, l, q->name, sizeof q->name);
            q->ndim = p->ndim;
            q->shape[0] = p->d[0];
            q->shape[1] = p->d[1];
            q->offset = p->off + (size_t)l * p->n1;
            q->n = p->n1;
            q->decay = p->ndim >= 2;
            q->data = m->params + q->offset;
            q->grad = m->grads ? m->grads + q->offset : NULL;
        }
    }
    return RK_OK;
}

/* Gives the base weights gradient buffers (on) or takes them away (off).
 * calloc maps fresh zero pages, so a block no backward has touched costs no
 * resident memory either. */
static rk_status base_trainable(rk_model *m, int on, rk_error *err) {
    free(m->grads);
    m->grads = NULL;
    if (on && !(m->grads = calloc(m->n_params ? m->n_params : 1, sizeof *m->grads)))
        return rk_fail(err, RK_ENOMEM, "out of memory for %zu gradients", m->n_params);
    for (size_t i = 0; i < m->n_plist; i++)
        m->plist[i].grad = m->grads ? m->grads + m->plist[i].offset : NULL;
    return RK_OK;
}

static rk_status load_weights(rk_model *m, const char *dir, rk_error *err) {
    rk_safetensors *st = NULL;
    rk_status s = rk_st_open(dir, &st, err);
    if (s) return s;
    char name[160], alt[160];
    for (int g = 0; g < NP && !s; g++) {
        const pgroup *p = &m->g[g];
        if (!p->fmt) continue;
        for (int l = 0; l < (p->per_layer ? m->cfg.n_layer : 1) && !s; l++) {
            group_name(m, g, l, name, sizeof name);
            const rk_st_tensor *t = rk_st_find(st, name);
            /* Old GPT-2 checkpoints on the hub name GPT2Model's tensors,
             * without the "transformer." of GPT2LMHeadModel. */
            if (!t && !strncmp(name, "transformer.", 12)) {
                snprintf(alt, sizeof alt, "%s", name + 12);
                t = rk_st_find(st, alt);
            }
            if (!t) {
                s = rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\" is missing from the weights", dir, name);
                break;
            }
            if (t->ndim != p->ndim || t->shape[0] != p->d[0] || (p->ndim == 2 && t->shape[1] != p->d[1])) {
                char want[64], got[160];
                shape_text(want, sizeof want, p->ndim, p->d);
                shape_text(got, sizeof got, t->ndim, t->shape);
                s = rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\" has shape %s, expected %s from config.json",
                            t->file, t->name, got, want);
                break;
            }
            s = rk_st_read_f32(t, wptr(m, g, l), p->n1, err);
        }
    }
    rk_st_close(st);
    return s;
}

rk_status rk_model_load(const char *dir, rk_model **out, rk_error *err) {
    *out = NULL;
    char *cpath = rk_path_join(dir, "config.json");
    if (!cpath) return rk_fail(err, RK_ENOMEM, "out of memory");
    rk_model *m = calloc(1, sizeof *m);
    rk_status s = m ? RK_OK : rk_fail(err, RK_ENOMEM, "out of memory");
    if (!s && !(m->dir = realpath(dir, NULL)) && !(m->dir = strdup(dir)))
        s = rk_fail(err, RK_ENOMEM, "out of memory");
    if (!s) s = read_json(cpath, &m->config, err);
    if (!s) s = parse_config(m, cpath, m->config, err);
    free(cpath);
    if (!s) {
        layout_params(m);
        m->params = malloc((m->n_params ? m->n_params : 1) * sizeof *m->params);
        if (!m->params) s = rk_fail(err, RK_ENOMEM, "%s: out of memory for %zu parameters", dir, m->n_params);
    }
    if (!s) s = load_weights(m, dir, err);
    if (!s) s = build_plist(m, err);
    if (!s) s = base_trainable(m, 1, err);
    if (!s && m->cfg.arch == RK_ARCH_LLAMA) {
        m->inv_freq = malloc((size_t)(m->cfg.head_dim / 2) * sizeof *m->inv_freq);
        if (!m->inv_freq)
            s = rk_fail(err, RK_ENOMEM, "out of memory");
        else
            rk_rope_inv_freq(m->inv_freq, &m->cfg.rope);
    }
    if (s) {
        rk_model_free(m);
        return s;
    }
    *out = m;
    return RK_OK;
}

static void drop_lora(rk_model *m) {
    free(m->mods);
    free(m->lidx);
    free(m->lparams);
    free(m->lgrads);
    free(m->llist);
    m->mods = NULL;
    m->lidx = NULL;
    m->lparams = m->lgrads = NULL;
    m->llist = NULL;
    m->n_mods = m->n_lparams = m->n_llist = 0;
    m->lora = 0;
}

void rk_model_free(rk_model *m) {
    if (!m) return;
    json_decref(m->config);
    free(m->dir);
    free(m->params);
    free(m->grads);
    free(m->plist);
    drop_lora(m);
    free(m->acts_mem);
    free(m->bwd_mem);
    free(m->tokens);
    free(m->targets);
    free(m->inv_freq);
    free(m->rope_cos);
    free(m->rope_sin);
    if (m->kc)
        for (int l = 0; l < m->cfg.n_layer; l++) {
            free(m->kc[l]);
            free(m->vc[l]);
        }
    free(m->kc);
    free(m->vc);
    free(m->step_mem);
    free(m);
}

const rk_model_config *rk_model_cfg(const rk_model *m) { return &m->cfg; }

size_t rk_model_nparams(const rk_model *m) { return m->lora ? m->n_llist : m->n_plist; }

const rk_param *rk_model_param(const rk_model *m, size_t i) {
    if (i >= rk_model_nparams(m)) return NULL;
    return m->lora ? &m->llist[i] : &m->plist[i];
}

float *rk_model_params(rk_model *m, size_t *n) {
    if (n) *n = m->lora ? m->n_lparams : m->n_params;
    return m->lora ? m->lparams : m->params;
}

float *rk_model_grads(rk_model *m, size_t *n) {
    if (n) *n = m->lora ? m->n_lparams : m->n_params;
    return m->lora ? m->lgrads : m->grads;
}

void rk_model_zero_grad(rk_model *m) {
    size_t n;
    float *g = rk_model_grads(m, &n);
    if (g) memset(g, 0, n * sizeof *g);
}

void rk_model_train_mode(rk_model *m, int on, uint64_t seed) {
    m->train = on;
    m->seed = seed;
    m->n_fwd = 0;
}

/* ---- activations ------------------------------------------------------------ */

/* The layouts below carve one float block into named arrays: CARVE points
 * p->field at the next count floats of base (NULL when base is NULL or count
 * is 0, so a NULL base only counts) and advances off. */
#define CARVE(p, field, count)                                                                               \
    do {                                                                                                     \
        size_t cnt_ = (count);                                                                               \
        (p)->field = base && cnt_ ? base + off : NULL;                                                       \
        off += cnt_;                                                                                         \
    } while (0)

/* Carves base into the forward activations of a (B, T) batch, or with base
 * NULL only counts; returns the number of floats. */
static size_t acts_layout(const rk_model *m, int B, int T, acts *a, float *base) {
    const rk_model_config *c = &m->cfg;
    int gpt2 = c->arch == RK_ARCH_GPT2;
    size_t N = (size_t)B * T, L = (size_t)c->n_layer, C = (size_t)c->hidden, I = (size_t)c->intermediate;
    size_t QW = (size_t)m->QW, QD = (size_t)m->QD, KVD = (size_t)m->KVD, NH = (size_t)c->n_head;
    size_t off = 0;
    acts dummy;
    if (!a) a = &dummy;
    CARVE(a, encoded, N * C);
    CARVE(a, ln1, L * N * C);
    CARVE(a, ln1_mean, gpt2 ? L * N : 0);
    CARVE(a, ln1_rstd, L * N);
    CARVE(a, q, L * N * QW);
    CARVE(a, k, gpt2 ? 0 : L * N * KVD);
    CARVE(a, v, gpt2 ? 0 : L * N * KVD);
    CARVE(a, att, L * (size_t)B * NH * (size_t)T * (size_t)T);
    CARVE(a, atty, L * N * QD);
    CARVE(a, res1, L * N * C);
    CARVE(a, ln2, L * N * C);
    CARVE(a, ln2_mean, gpt2 ? L * N : 0);
    CARVE(a, ln2_rstd, L * N);
    CARVE(a, fch, L * N * I);
    CARVE(a, up, gpt2 ? 0 : L * N * I);
    CARVE(a, act, L * N * I);
    CARVE(a, res2, L * N * C);
    CARVE(a, lnf, N * C);
    CARVE(a, lnf_mean, gpt2 ? N : 0);
    CARVE(a, lnf_rstd, N);
    CARVE(a, logits, N * (size_t)c->vocab_size);
    CARVE(a, losses, N);
    CARVE(a, lora_h, m->lora ? m->n_mods * N * (size_t)m->r : 0);
    CARVE(a, tmp, N * C);
    CARVE(a, xdrop, m->lora && m->dropout > 0 ? N * (size_t)m->maxin : 0);
    return off;
}

static size_t bwd_layout(const rk_model *m, int B, int T, bwd *d, float *base) {
    const rk_model_config *c = &m->cfg;
    size_t N = (size_t)B * T, C = (size_t)c->hidden, I = (size_t)c->intermediate;
    size_t off = 0;
    bwd dummy;
    if (!d) d = &dummy;
    CARVE(d, dres, N * C);
    CARVE(d, dln, N * C);
    CARVE(d, dq, N * (size_t)m->QW);
    CARVE(d, dk, c->arch == RK_ARCH_GPT2 ? 0 : N * (size_t)m->KVD);
    CARVE(d, dv, c->arch == RK_ARCH_GPT2 ? 0 : N * (size_t)m->KVD);
    CARVE(d, datty, N * (size_t)m->QD);
    CARVE(d, datt, (size_t)B * (size_t)c->n_head * (size_t)T * (size_t)T);
    CARVE(d, dfch, N * I);
    CARVE(d, dup, c->arch == RK_ARCH_GPT2 ? 0 : N * I);
    CARVE(d, dact, N * I);
    CARVE(d, dh, m->lora ? N * (size_t)m->r : 0);
    CARVE(d, dxl, m->lora && m->dropout > 0 ? N * (size_t)m->maxin : 0);
    return off;
}

static size_t step_layout(const rk_model *m, int n, stepbuf *s, float *base) {
    const rk_model_config *c = &m->cfg;
    size_t N = (size_t)n, C = (size_t)c->hidden, I = (size_t)c->intermediate;
    size_t off = 0;
    CARVE(s, x, N * C);
    CARVE(s, ln, N * C);
    CARVE(s, mean, N);
    CARVE(s, rstd, N);
    CARVE(s, q, N * (size_t)m->QW);
    CARVE(s, k, N * (size_t)m->KVD);
    CARVE(s, v, N * (size_t)m->KVD);
    CARVE(s, atty, N * (size_t)m->QD);
    CARVE(s, tmp, N * C);
    CARVE(s, fch, N * I);
    CARVE(s, up, N * I);
    CARVE(s, act, N * I);
    CARVE(s, h, m->lora ? N * (size_t)m->r : 0);
    return off;
}
#undef CARVE

/* Grows *mem to hold n floats; the contents are not kept. */
static rk_status reserve(float **mem, size_t *cap, size_t n, rk_error *err) {
    if (n <= *cap && *mem) return RK_OK;
    free(*mem);
    *mem = malloc((n ? n : 1) * sizeof **mem);
    *cap = *mem ? n : 0;
    if (!*mem) return rk_fail(err, RK_ENOMEM, "out of memory for %zu activations", n);
    return RK_OK;
}

/* The rotary tables cover positions [0, npos). */
static rk_status ensure_rope(rk_model *m, int npos, rk_error *err) {
    if (m->cfg.arch != RK_ARCH_LLAMA || npos <= m->rope_n) return RK_OK;
    int n = m->rope_n ? 2 * m->rope_n : 64;
    if (n < npos) n = npos;
    if (n > m->cfg.max_pos) n = m->cfg.max_pos;
    size_t half = (size_t)m->cfg.head_dim / 2;
    float *c = malloc((size_t)n * half * sizeof *c), *s = malloc((size_t)n * half * sizeof *s);
    if (!c || !s) {
        free(c);
        free(s);
        return rk_fail(err, RK_ENOMEM, "out of memory for the rotary tables");
    }
    rk_rope_table(c, s, m->inv_freq, n, m->cfg.head_dim);
    free(m->rope_cos);
    free(m->rope_sin);
    m->rope_cos = c;
    m->rope_sin = s;
    m->rope_n = n;
    return RK_OK;
}

/* ---- linear layers with their LoRA adapters --------------------------------- */

static int lora_index(const rk_model *m, int l, int k) { return m->lora ? m->lidx[l * NK + k] : -1; }

/* out = inp · Wᵀ + b, plus scale · B·A·dropout(inp) when module (l, k) has an
 * adapter. h receives scale · A·dropout(inp) (N, r), kept for backward;
 * xdrop is (N, in) scratch, used when drop. */
static void linear_forward(const rk_model *m, int l, int k, float *out, const float *inp, int N, float *h,
                           float *xdrop, int drop) {
    const lin_spec *li = &m->lin[k];
    int conv1d = m->cfg.arch == RK_ARCH_GPT2;
    rk_matmul_forward(out, inp, wptr(m, li->w, l), li->b >= 0 ? wptr(m, li->b, l) : NULL, N, li->in, li->out,
                      conv1d);
    int j = lora_index(m, l, k);
    if (j < 0) return;
    const lmod *md = &m->mods[j];
    const float *x = inp;
    if (drop) {
        dropout_apply(xdrop, inp, (size_t)N * li->in, m->stream, j, m->dropout);
        x = xdrop;
    }
    /* PEFT's A and B are nn.Linear weights, [r, in] and [out, r], for Conv1D
     * bases too. */
    rk_matmul_forward(h, x, m->lparams + md->a, NULL, N, li->in, m->r, 0);
    scale_inplace(h, (size_t)N * m->r, m->lscale);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, li->out, m->r, 1.0f, h, m->r, m->lparams + md->b,
                m->r, 1.0f, out, li->out);
}

/* Adds to dinp the gradient through module (l, k), and to the trainable
 * weights theirs. */
static void linear_backward(rk_model *m, int l, int k, float *dinp, const float *dout, const float *inp,
                            int N) {
    const lin_spec *li = &m->lin[k];
    int conv1d = m->cfg.arch == RK_ARCH_GPT2;
    rk_matmul_backward(dinp, gptr(m, li->w, l), li->b >= 0 ? gptr(m, li->b, l) : NULL, dout, inp,
                       wptr(m, li->w, l), N, li->in, li->out, conv1d);
    int j = lora_index(m, l, k);
    if (j < 0) return;
    const lmod *md = &m->mods[j];
    const float *h = m->a.lora_h + (size_t)j * N * m->r;
    float *dh = m->d.dh;
    memset(dh, 0, (size_t)N * m->r * sizeof *dh);
    rk_matmul_backward(dh, m->lgrads + md->b, NULL, dout, h, m->lparams + md->b, N, m->r, li->out, 0);
    scale_inplace(dh, (size_t)N * m->r, m->lscale);
    if (m->drop) {
        size_t n = (size_t)N * li->in;
        dropout_apply(m->a.xdrop, inp, n, m->stream, j, m->dropout);
        memset(m->d.dxl, 0, n * sizeof *m->d.dxl);
        rk_matmul_backward(m->d.dxl, m->lgrads + md->a, NULL, dh, m->a.xdrop, m->lparams + md->a, N, li->in,
                           m->r, 0);
        dropout_backward(dinp, m->d.dxl, n, m->stream, j, m->dropout);
    } else {
        rk_matmul_backward(dinp, m->lgrads + md->a, NULL, dh, inp, m->lparams + md->a, N, li->in, m->r, 0);
    }
}

static float *lora_h(const rk_model *m, int l, int k, int N) {
    int j = lora_index(m, l, k);
    return j < 0 ? NULL : m->a.lora_h + (size_t)j * N * m->r;
}

/* ---- forward ------------------------------------------------------------------ */

static void norm_forward(const rk_model *m, float *out, float *mean, float *rstd, const float *inp, int gw,
                         int gb, int l, int N) {
    const rk_model_config *c = &m->cfg;
    if (c->arch == RK_ARCH_GPT2)
        rk_layernorm_forward(out, mean, rstd, inp, wptr(m, gw, l), wptr(m, gb, l), N, c->hidden, c->norm_eps);
    else
        rk_rmsnorm_forward(out, rstd, inp, wptr(m, gw, l), N, c->hidden, c->norm_eps);
}

static void norm_backward(const rk_model *m, float *dinp, const float *dout, const float *inp,
                          const float *mean, const float *rstd, int gw, int gb, int l, int N) {
    const rk_model_config *c = &m->cfg;
    if (c->arch == RK_ARCH_GPT2)
        rk_layernorm_backward(dinp, gptr(m, gw, l), gptr(m, gb, l), dout, inp, wptr(m, gw, l), mean, rstd, N,
                              c->hidden);
    else
        rk_rmsnorm_backward(dinp, gptr(m, gw, l), dout, inp, wptr(m, gw, l), rstd, N, c->hidden);
}

static const float *lm_head_w(const rk_model *m) {
    return wptr(m, m->cfg.tie_embeddings ? P_WTE : P_LMHEAD, 0);
}

static rk_status check_tokens(const rk_model *m, const int32_t *tokens, const int32_t *targets, int B, int T,
                              rk_error *err) {
    int V = m->cfg.vocab_size;
    for (int i = 0; i < B * T; i++) {
        if (tokens[i] < 0 || tokens[i] >= V)
            return rk_fail(err, RK_EINVAL, "token %d at [%d, %d] is outside the vocabulary [0, %d)",
                           (int)tokens[i], i / T, i % T, V);
        if (targets && targets[i] >= V)
            return rk_fail(err, RK_EINVAL, "target %d at [%d, %d] is outside the vocabulary [0, %d)",
                           (int)targets[i], i / T, i % T, V);
    }
    return RK_OK;
}

rk_status rk_model_forward(rk_model *m, const int32_t *tokens, const int32_t *targets, int B, int T,
                           float *loss, rk_error *err) {
    const rk_model_config *c = &m->cfg;
    if (loss) *loss = NAN;
    m->have_logits = m->can_backward = 0;
    if (B <= 0 || T <= 0 || (int64_t)B * T > INT_MAX / 4)
        return rk_fail(err, RK_EINVAL, "batch of %d x %d tokens is empty or too large", B, T);
    if (T > c->max_pos)
        return rk_fail(err, RK_EINVAL, "sequences of %d tokens are longer than the model's %d positions", T,
                       c->max_pos);
    if (m->window && T > m->window)
        return rk_fail(err, RK_EINVAL,
                       "sequences of %d tokens exceed the sliding window of %d, which is not implemented", T,
                       m->window);
    rk_status s = check_tokens(m, tokens, targets, B, T, err);
    if (!s) s = ensure_rope(m, T, err);
    if (!s) s = reserve(&m->acts_mem, &m->acts_cap, acts_layout(m, B, T, NULL, NULL), err);
    size_t N = (size_t)B * T;
    if (!s && N > m->tok_cap) {
        int32_t *a = realloc(m->tokens, N * sizeof *a);
        if (a) m->tokens = a;
        int32_t *b = a ? realloc(m->targets, N * sizeof *b) : NULL;
        if (b) m->targets = b;
        if (!a || !b)
            s = rk_fail(err, RK_ENOMEM, "out of memory");
        else
            m->tok_cap = N;
    }
    if (s) return s;
    acts_layout(m, B, T, &m->a, m->acts_mem);
    m->B = B;
    m->T = T;
    memcpy(m->tokens, tokens, N * sizeof *tokens);
    if (targets) memcpy(m->targets, targets, N * sizeof *targets);
    m->drop = m->lora && m->train && m->dropout > 0;
    if (m->drop) m->stream = mix64(m->seed ^ mix64(++m->n_fwd));

    acts *a = &m->a;
    int n = (int)N, L = c->n_layer, C = c->hidden, I = c->intermediate, NH = c->n_head, NKV = c->n_kv_head,
        HD = c->head_dim, QD = m->QD, KVD = m->KVD, QW = m->QW, gpt2 = c->arch == RK_ARCH_GPT2;
    rk_embedding_forward(a->encoded, tokens, wptr(m, P_WTE, 0), gpt2 ? wptr(m, P_WPE, 0) : NULL, B, T, C, 0);
    for (int l = 0; l < L; l++) {
        const float *in = l ? a->res2 + (size_t)(l - 1) * N * C : a->encoded;
        float *ln1 = a->ln1 + (size_t)l * N * C, *ln2 = a->ln2 + (size_t)l * N * C;
        float *ln1_mean = gpt2 ? a->ln1_mean + (size_t)l * N : NULL, *ln1_rstd = a->ln1_rstd + (size_t)l * N;
        float *ln2_mean = gpt2 ? a->ln2_mean + (size_t)l * N : NULL, *ln2_rstd = a->ln2_rstd + (size_t)l * N;
        float *q = a->q + (size_t)l * N * QW, *att = a->att + (size_t)l * B * NH * T * T;
        float *atty = a->atty + (size_t)l * N * QD, *res1 = a->res1 + (size_t)l * N * C;
        float *fch = a->fch + (size_t)l * N * I, *act = a->act + (size_t)l * N * I;
        float *res2 = a->res2 + (size_t)l * N * C;

        norm_forward(m, ln1, ln1_mean, ln1_rstd, in, P_LN1W, P_LN1B, l, n);
        linear_forward(m, l, K_Q, q, ln1, n, lora_h(m, l, K_Q, n), a->xdrop, m->drop);
        if (gpt2) {
            rk_attention_forward(atty, att, q, QW, q + C, q + 2 * C, QW, B, T, NH, NH, HD);
        } else {
            float *k = a->k + (size_t)l * N * KVD, *v = a->v + (size_t)l * N * KVD;
            linear_forward(m, l, K_K, k, ln1, n, lora_h(m, l, K_K, n), a->xdrop, m->drop);
            linear_forward(m, l, K_V, v, ln1, n, lora_h(m, l, K_V, n), a->xdrop, m->drop);
            rk_rope_forward(q, B, T, NH, HD, QD, m->rope_cos, m->rope_sin, 0);
            rk_rope_forward(k, B, T, NKV, HD, KVD, m->rope_cos, m->rope_sin, 0);
            rk_attention_forward(atty, att, q, QD, k, v, KVD, B, T, NH, NKV, HD);
        }
        linear_forward(m, l, K_O, a->tmp, atty, n, lora_h(m, l, K_O, n), a->xdrop, m->drop);
        memcpy(res1, in, N * C * sizeof *res1);
        add_inplace(res1, a->tmp, N * C);

        norm_forward(m, ln2, ln2_mean, ln2_rstd, res1, P_LN2W, P_LN2B, l, n);
        linear_forward(m, l, K_GATE, fch, ln2, n, lora_h(m, l, K_GATE, n), a->xdrop, m->drop);
        if (gpt2) {
            rk_gelu_forward(act, fch, N * I);
        } else {
            float *up = a->up + (size_t)l * N * I;
            linear_forward(m, l, K_UP, up, ln2, n, lora_h(m, l, K_UP, n), a->xdrop, m->drop);
            rk_swiglu_forward(act, fch, up, N * I);
        }
        linear_forward(m, l, K_DOWN, a->tmp, act, n, lora_h(m, l, K_DOWN, n), a->xdrop, m->drop);
        memcpy(res2, res1, N * C * sizeof *res2);
        add_inplace(res2, a->tmp, N * C);
    }
    norm_forward(m, a->lnf, a->lnf_mean, a->lnf_rstd, a->res2 + (size_t)(L - 1) * N * C, P_LNFW, P_LNFB, 0,
                 n);
    rk_matmul_forward(a->logits, a->lnf, lm_head_w(m), NULL, n, C, c->vocab_size, 0);
    m->have_logits = 1;
    if (!targets) return RK_OK;
    m->count = rk_crossentropy_forward(a->losses, a->logits, targets, n, c->vocab_size);
    double sum = 0.0;
    for (size_t i = 0; i < N; i++)
        sum += a->losses[i];
    if (loss) *loss = m->count ? (float)(sum / (double)m->count) : NAN;
    m->can_backward = 1;
    return RK_OK;
}

const float *rk_model_logits(const rk_model *m) { return m->have_logits ? m->a.logits : NULL; }

/* ---- backward ----------------------------------------------------------------- */

rk_status rk_model_backward(rk_model *m, float scale, rk_error *err) {
    if (!m->can_backward)
        return rk_fail(err, RK_ESTATE,
                       "backward needs a forward with targets since the last backward or change");
    const rk_model_config *c = &m->cfg;
    int B = m->B, T = m->T;
    rk_status s = reserve(&m->bwd_mem, &m->bwd_cap, bwd_layout(m, B, T, NULL, NULL), err);
    if (s) return s;
    bwd_layout(m, B, T, &m->d, m->bwd_mem);
    m->can_backward = 0;
    m->have_logits = 0; /* the logits become their gradient in place */
    if (!m->count) return RK_OK;

    acts *a = &m->a;
    bwd *d = &m->d;
    size_t N = (size_t)B * T;
    int n = (int)N, L = c->n_layer, C = c->hidden, I = c->intermediate, NH = c->n_head, NKV = c->n_kv_head,
        HD = c->head_dim, QD = m->QD, KVD = m->KVD, QW = m->QW, V = c->vocab_size,
        gpt2 = c->arch == RK_ARCH_GPT2;

    float *dlogits = a->logits;
    rk_crossentropy_backward(dlogits, a->logits, m->targets, n, V, scale / (float)m->count);
    memset(d->dln, 0, N * C * sizeof *d->dln);
    rk_matmul_backward(d->dln, gptr(m, c->tie_embeddings ? P_WTE : P_LMHEAD, 0), NULL, dlogits, a->lnf,
                       lm_head_w(m), n, C, V, 0);
    memset(d->dres, 0, N * C * sizeof *d->dres);
    norm_backward(m, d->dres, d->dln, a->res2 + (size_t)(L - 1) * N * C, a->lnf_mean, a->lnf_rstd, P_LNFW,
                  P_LNFB, 0, n);

    for (int l = L - 1; l >= 0; l--) {
        const float *in = l ? a->res2 + (size_t)(l - 1) * N * C : a->encoded;
        float *ln1 = a->ln1 + (size_t)l * N * C, *ln2 = a->ln2 + (size_t)l * N * C;
        float *ln1_mean = gpt2 ? a->ln1_mean + (size_t)l * N : NULL, *ln1_rstd = a->ln1_rstd + (size_t)l * N;
        float *ln2_mean = gpt2 ? a->ln2_mean + (size_t)l * N : NULL, *ln2_rstd = a->ln2_rstd + (size_t)l * N;
        float *q = a->q + (size_t)l * N * QW, *att = a->att + (size_t)l * B * NH * T * T;
        float *atty = a->atty + (size_t)l * N * QD, *res1 = a->res1 + (size_t)l * N * C;
        float *fch = a->fch + (size_t)l * N * I, *act = a->act + (size_t)l * N * I;

        /* MLP: d->dres holds d(res2) and becomes d(res1) */
        memset(d->dact, 0, N * I * sizeof *d->dact);
        linear_backward(m, l, K_DOWN, d->dact, d->dres, act, n);
        memset(d->dfch, 0, N * I * sizeof *d->dfch);
        memset(d->dln, 0, N * C * sizeof *d->dln);
        if (gpt2) {
            rk_gelu_backward(d->dfch, d->dact, fch, N * I);
        } else {
            float *up = a->up + (size_t)l * N * I;
            memset(d->dup, 0, N * I * sizeof *d->dup);
            rk_swiglu_backward(d->dfch, d->dup, d->dact, fch, up, N * I);
            linear_backward(m, l, K_UP, d->dln, d->dup, ln2, n);
        }
        linear_backward(m, l, K_GATE, d->dln, d->dfch, ln2, n);
        norm_backward(m, d->dres, d->dln, res1, ln2_mean, ln2_rstd, P_LN2W, P_LN2B, l, n);

        /* attention: d->dres holds d(res1) and becomes d(in) */
        memset(d->datty, 0, N * QD * sizeof *d->datty);
        linear_backward(m, l, K_O, d->datty, d->dres, atty, n);
        memset(d->dq, 0, N * QW * sizeof *d->dq);
        memset(d->dln, 0, N * C * sizeof *d->dln);
        if (gpt2) {
            rk_attention_backward(d->dq, d->dq + C, d->dq + 2 * C, d->datt, d->datty, att, q, QW, q + C,
                                  q + 2 * C, QW, B, T, NH, NH, HD);
        } else {
            float *k = a->k + (size_t)l * N * KVD, *v = a->v + (size_t)l * N * KVD;
            memset(d->dk, 0, N * KVD * sizeof *d->dk);
            memset(d->dv, 0, N * KVD * sizeof *d->dv);
            rk_attention_backward(d->dq, d->dk, d->dv, d->datt, d->datty, att, q, QD, k, v, KVD, B, T, NH,
                                  NKV, HD);
            rk_rope_backward(d->dq, B, T, NH, HD, QD, m->rope_cos, m->rope_sin, 0);
            rk_rope_backward(d->dk, B, T, NKV, HD, KVD, m->rope_cos, m->rope_sin, 0);
            linear_backward(m, l, K_K, d->dln, d->dk, ln1, n);
            linear_backward(m, l, K_V, d->dln, d->dv, ln1, n);
        }
        linear_backward(m, l, K_Q, d->dln, d->dq, ln1, n);
        norm_backward(m, d->dres, d->dln, in, ln1_mean, ln1_rstd, P_LN1W, P_LN1B, l, n);
    }
    if (m->grads)
        rk_embedding_backward(gptr(m, P_WTE, 0), gpt2 ? gptr(m, P_WPE, 0) : NULL, d->dres, m->tokens, B, T, C,
                              0);
    return RK_OK;
}

/* ---- generation with a KV cache --------------------------------------------- */

/* The caches hold at least npos positions; rows already there are kept. */
static rk_status ensure_kv(rk_model *m, int npos, rk_error *err) {
    int L = m->cfg.n_layer;
    if (!m->kc) {
        m->kc = calloc((size_t)L, sizeof *m->kc);
        m->vc = calloc((size_t)L, sizeof *m->vc);
        if (!m->kc || !m->vc) return rk_fail(err, RK_ENOMEM, "out of memory for the KV cache");
    }
    if (npos <= m->kv_cap) return RK_OK;
    /* Doubling keeps the copies amortized; max_pos can be far beyond what a
     * session uses (131072 for Llama 3), so the cache grows on demand. */
    int cap = m->kv_cap ? 2 * m->kv_cap : 256;
    if (cap < npos) cap = npos;
    if (cap > m->cfg.max_pos) cap = m->cfg.max_pos;
    size_t bytes = (size_t)cap * (size_t)m->KVD * sizeof(float);
    for (int l = 0; l < L; l++) {
        float *k = realloc(m->kc[l], bytes);
        if (k) m->kc[l] = k;
        float *v = k ? realloc(m->vc[l], bytes) : NULL;
        if (v) m->vc[l] = v;
        if (!k || !v) {
            /* Layers before l already have the larger size; kv_cap stays the
             * smaller one, which all of them hold. */
            return rk_fail(err, RK_ENOMEM, "out of memory for a KV cache of %d positions", cap);
        }
    }
    m->kv_cap = cap;
    return RK_OK;
}

/* Attention of n new queries (at positions pos..pos+n-1) over the cached keys
 * 0..pos+i, one pass with a running maximum (online softmax), written
 * straight into out (n, NH*HD). */
static void decode_attention(float *out, const float *q, int q_stride, const float *kc, const float *vc,
                             int kv_stride, int n, int pos, int NH, int NKV, int HD) {
    int group = NH / NKV;
    float scale = (float)(1.0 / sqrt((double)HD));
    long work = (long)n * NH * (pos + n) * HD;
#pragma omp parallel for collapse(2) schedule(dynamic) if (work > PAR_MIN)
    for (int i = 0; i < n; i++) {
        for (int h = 0; h < NH; h++) {
            const float *qi = q + (size_t)i * q_stride + (size_t)h * HD;
            float *o = out + (size_t)i * NH * HD + (size_t)h * HD;
            size_t kvo = (size_t)(h / group) * HD;
            float mx = -INFINITY, sum = 0.0f;
            for (int e = 0; e < HD; e++)
                o[e] = 0.0f;
            for (int t = 0; t <= pos + i; t++) {
                const float *kt = kc + (size_t)t * kv_stride + kvo, *vt = vc + (size_t)t * kv_stride + kvo;
                float sc = 0.0f;
                for (int e = 0; e < HD; e++)
                    sc += qi[e] * kt[e];
                sc *= scale;
                if (sc > mx) {
                    float corr = expf(mx - sc);
                    sum *= corr;
                    for (int e = 0; e < HD; e++)
                        o[e] *= corr;
                    mx = sc;
                }
                float w = expf(sc - mx);
                sum += w;
                for (int e = 0; e < HD; e++)
                    o[e] += w * vt[e];
            }
            float inv = 1.0f / sum;
            for (int e = 0; e < HD; e++)
                o[e] *= inv;
        }
    }
}

rk_status rk_model_step(rk_model *m, const int32_t *tokens, int n, int pos, float *logits, rk_error *err) {
    const rk_model_config *c = &m->cfg;
    if (n <= 0 || pos < 0) return rk_fail(err, RK_EINVAL, "step of %d tokens at position %d", n, pos);
    if (n > c->max_pos || pos > c->max_pos - n)
        return rk_fail(err, RK_EINVAL, "positions %d..%d are past the model's %d positions", pos, pos + n - 1,
                       c->max_pos);
    if (m->window && pos + n > m->window)
        return rk_fail(err, RK_EINVAL,
                       "position %d is past the sliding window of %d, which is not implemented", pos + n - 1,
                       m->window);
    if (pos > m->kv_len)
        return rk_fail(err, RK_EINVAL, "step at position %d, but the cache holds positions 0..%d only", pos,
                       m->kv_len - 1);
    rk_status s = check_tokens(m, tokens, NULL, 1, n, err);
    if (!s) s = ensure_rope(m, pos + n, err);
    if (!s) s = ensure_kv(m, pos + n, err);
    if (!s) s = reserve(&m->step_mem, &m->step_cap, step_layout(m, n, &m->s, NULL), err);
    if (s) return s;
    stepbuf *b = &m->s;
    step_layout(m, n, b, m->step_mem);
    m->kv_len = pos; /* positions from pos on are rewritten below */

    int L = c->n_layer, C = c->hidden, I = c->intermediate, NH = c->n_head, NKV = c->n_kv_head,
        HD = c->head_dim, QD = m->QD, KVD = m->KVD, QW = m->QW, gpt2 = c->arch == RK_ARCH_GPT2;
    size_t N = (size_t)n;
    rk_embedding_forward(b->x, tokens, wptr(m, P_WTE, 0), gpt2 ? wptr(m, P_WPE, 0) : NULL, 1, n, C, pos);
    for (int l = 0; l < L; l++) {
        float *kc = m->kc[l], *vc = m->vc[l];
        norm_forward(m, b->ln, b->mean, b->rstd, b->x, P_LN1W, P_LN1B, l, n);
        linear_forward(m, l, K_Q, b->q, b->ln, n, b->h, NULL, 0);
        const float *k, *v;
        int kv_stride;
        if (gpt2) {
            k = b->q + C;
            v = b->q + 2 * C;
            kv_stride = QW;
        } else {
            linear_forward(m, l, K_K, b->k, b->ln, n, b->h, NULL, 0);
            linear_forward(m, l, K_V, b->v, b->ln, n, b->h, NULL, 0);
            rk_rope_forward(b->q, 1, n, NH, HD, QD, m->rope_cos, m->rope_sin, pos);
            rk_rope_forward(b->k, 1, n, NKV, HD, KVD, m->rope_cos, m->rope_sin, pos);
            k = b->k;
            v = b->v;
            kv_stride = KVD;
        }
        for (int i = 0; i < n; i++) {
            memcpy(kc + (size_t)(pos + i) * KVD, k + (size_t)i * kv_stride, (size_t)KVD * sizeof *kc);
            memcpy(vc + (size_t)(pos + i) * KVD, v + (size_t)i * kv_stride, (size_t)KVD * sizeof *vc);
        }
        decode_attention(b->atty, b->q, QW, kc, vc, KVD, n, pos, NH, NKV, HD);
        linear_forward(m, l, K_O, b->tmp, b->atty, n, b->h, NULL, 0);
        add_inplace(b->x, b->tmp, N * C);
        norm_forward(m, b->ln, b->mean, b->rstd, b->x, P_LN2W, P_LN2B, l, n);
        linear_forward(m, l, K_GATE, b->fch, b->ln, n, b->h, NULL, 0);
        if (gpt2) {
            rk_gelu_forward(b->act, b->fch, N * I);
        } else {
            linear_forward(m, l, K_UP, b->up, b->ln, n, b->h, NULL, 0);
            rk_swiglu_forward(b->act, b->fch, b->up, N * I);
        }
        linear_forward(m, l, K_DOWN, b->tmp, b->act, n, b->h, NULL, 0);
        add_inplace(b->x, b->tmp, N * C);
    }
    /* Only the last position's logits are asked for. */
    const float *last = b->x + (N - 1) * C;
    norm_forward(m, b->ln, b->mean, b->rstd, last, P_LNFW, P_LNFB, 0, 1);
    rk_matmul_forward(logits, b->ln, lm_head_w(m), NULL, 1, C, c->vocab_size, 0);
    m->kv_len = pos + n;
    return RK_OK;
}

/* ---- saving ---------------------------------------------------------------------- */

static const char *const st_meta[] = {"format", "pt", NULL};

/* Writes params as F32 tensors named as in list to path. */
static rk_status write_tensors(const char *path, const rk_param *list, size_t n, rk_error *err) {
    rk_st_out *t = calloc(n ? n : 1, sizeof *t);
    if (!t) return rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        t[i].name = list[i].name;
        t[i].dtype = RK_F32;
        t[i].ndim = list[i].ndim;
        t[i].shape[0] = list[i].shape[0];
        t[i].shape[1] = list[i].shape[1];
        t[i].data = list[i].data;
    }
    rk_status s = rk_st_write(path, t, n, st_meta, err);
    free(t);
    return s;
}

rk_status rk_model_save(const rk_model *m, const char *dir, rk_error *err) {
    rk_status s = rk_mkdir_p(dir, err);
    if (s) return s;
    char *cpath = rk_path_join(dir, "config.json"), *wpath = rk_path_join(dir, "model.safetensors");
    if (!cpath || !wpath) s = rk_fail(err, RK_ENOMEM, "out of memory");
    /* The loaded JSON object, not one rebuilt from rk_model_config, so every
     * field transformers reads (and those raftkit ignores) survives. */
    if (!s) s = write_json(cpath, m->config, err);
    if (!s) s = write_tensors(wpath, m->plist, m->n_plist, err);
    free(cpath);
    free(wpath);
    return s;
}

/* ---- LoRA --------------------------------------------------------------------------- */

/* The family's target names, comma-separated, for messages. */
static void target_names(const rk_model *m, char *out, size_t n) {
    size_t used = 0;
    out[0] = '\0';
    for (int k = 0; k < NK; k++) {
        if (!m->lin[k].present) continue;
        int dup = 0;
        for (int j = 0; j < k; j++)
            dup |= m->lin[j].present && !strcmp(m->lin[j].target, m->lin[k].target);
        if (dup || used >= n) continue;
        used += (size_t)snprintf(out + used, n - used, "%s%s", used ? ", " : "", m->lin[k].target);
    }
}

/* Marks in kinds[] the modules the target name s[0..len) selects; 0 when it
 * names none. GPT-2's "c_proj" selects both attn.c_proj and mlp.c_proj, as
 * PEFT's suffix match does. */
static int match_target(const rk_model *m, const char *s, size_t len, int *kinds) {
    int any = 0;
    for (int k = 0; k < NK; k++)
        if (m->lin[k].present && strlen(m->lin[k].target) == len && !strncmp(m->lin[k].target, s, len)) {
            kinds[k] = 1;
            any = 1;
        }
    return any;
}

/* The module path after "<layers>.%d." of kind k: "self_attn.q_proj". */
static const char *kind_suffix(const rk_model *m, int k) { return strstr(m->lin[k].path, "%d.") + 3; }

/* Attaches adapters of rank r to the modules marked in mask (L, NK), with
 * zero weights; the base loses its gradients. */
static rk_status lora_setup(rk_model *m, int r, float alpha, int rslora, float dropout,
                            const unsigned char *mask, rk_error *err) {
    int L = m->cfg.n_layer;
    size_t nm = 0, nf = 0;
    for (int i = 0; i < L * NK; i++)
        if (mask[i]) {
            nm++;
            nf += (size_t)r * (size_t)(m->lin[i % NK].in + m->lin[i % NK].out);
        }
    m->mods = calloc(nm ? nm : 1, sizeof *m->mods);
    m->lidx = malloc((size_t)L * NK * sizeof *m->lidx);
    m->lparams = calloc(nf ? nf : 1, sizeof *m->lparams);
    m->lgrads = calloc(nf ? nf : 1, sizeof *m->lgrads);
    m->llist = calloc(nm ? 2 * nm : 1, sizeof *m->llist);
    if (!m->mods || !m->lidx || !m->lparams || !m->lgrads || !m->llist) {
        drop_lora(m);
        return rk_fail(err, RK_ENOMEM, "out of memory for LoRA adapters");
    }
    m->lora = 1;
    m->r = r;
    m->alpha = alpha;
    m->rslora = rslora;
    m->dropout = dropout;
    m->lscale = rslora ? alpha / sqrtf((float)r) : alpha / (float)r;
    m->n_mods = nm;
    m->n_lparams = nf;
    m->n_llist = 2 * nm;
    size_t j = 0, off = 0;
    char path[96];
    for (int l = 0; l < L; l++)
        for (int k = 0; k < NK; k++) {
            m->lidx[l * NK + k] = -1;
            if (!mask[l * NK + k]) continue;
            lmod *md = &m->mods[j];
            md->layer = l;
            md->kind = k;
            md->in = m->lin[k].in;
            md->out = m->lin[k].out;
            md->a = off;
            md->b = off + (size_t)r * md->in;
            off = md->b + (size_t)md->out * r;
            snprintf(path, sizeof path, m->lin[k].path, l);
            for (int w = 0; w < 2; w++) {
                rk_param *p = &m->llist[2 * j + w];
                snprintf(p->name, sizeof p->name, "base_model.model.%s.lora_%c.weight", path, w ? 'B' : 'A');
                p->ndim = 2;
                p->shape[0] = w ? md->out : r;
                p->shape[1] = w ? r : md->in;
                p->offset = w ? md->b : md->a;
                p->n = (size_t)md->in * r * !w + (size_t)md->out * r * w;
                p->decay = 1;
                p->data = m->lparams + p->offset;
                p->grad = m->lgrads + p->offset;
            }
            m->lidx[l * NK + k] = (int)j++;
        }
    base_trainable(m, 0, err);
    /* The last forward has no adapter activations, and cached keys were
     * computed without the adapters. */
    m->can_backward = 0;
    m->kv_len = 0;
    return RK_OK;
}

rk_status rk_model_lora_add(rk_model *m, const rk_lora_opts *o, rk_error *err) {
    if (m->lora) return rk_fail(err, RK_ESTATE, "the model already has LoRA adapters");
    if (o->r <= 0 || o->r > 65536)
        return rk_fail(err, RK_EINVAL, "LoRA rank r = %d is out of range (1..65536)", o->r);
    if (!isfinite(o->alpha)) return rk_fail(err, RK_EINVAL, "LoRA alpha is not finite");
    if (!(o->dropout >= 0.0f && o->dropout < 1.0f))
        return rk_fail(err, RK_EINVAL, "LoRA dropout %g is outside [0, 1)", (double)o->dropout);
    char names[160];
    target_names(m, names, sizeof names);
    int kinds[NK] = {0}, any = 0;
    const char *t = o->targets ? o->targets : "";
    while (*t) {
        size_t len = strcspn(t, ",");
        const char *s = t;
        size_t n = len;
        while (n && (*s == ' ' || *s == '\t'))
            s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n) {
            if (!match_target(m, s, n, kinds))
                return rk_fail(err, RK_EINVAL,
                               "LoRA target \"%.*s\" is not a module of %s models (supported: %s)",
                               (int)(n > 64 ? 64 : n), s, m->cfg.model_type, names);
            any = 1;
        }
        t += len + (t[len] == ',');
    }
    if (!any) return rk_fail(err, RK_EINVAL, "no LoRA targets given (supported: %s)", names);
    int L = m->cfg.n_layer;
    unsigned char *mask = malloc((size_t)L * NK);
    if (!mask) return rk_fail(err, RK_ENOMEM, "out of memory");
    for (int i = 0; i < L * NK; i++)
        mask[i] = (unsigned char)kinds[i % NK];
    rk_status s = lora_setup(m, o->r, o->alpha, o->rslora, o->dropout, mask, err);
    free(mask);
    if (s) return s;
    /* A as nn.Linear's default init, kaiming_uniform_(a=sqrt(5)): bound
     * sqrt(6 / ((1 + 5) * fan_in)) = 1/sqrt(in). B stays 0, so the adapted
     * model starts equal to the base. */
    uint64_t rng = o->seed;
    for (size_t j = 0; j < m->n_mods; j++) {
        const lmod *md = &m->mods[j];
        double bound = 1.0 / sqrt((double)md->in);
        float *A = m->lparams + md->a;
        for (size_t i = 0; i < (size_t)m->r * md->in; i++)
            A[i] = (float)((2.0 * rk_rng_unit(&rng) - 1.0) * bound);
    }
    return RK_OK;
}

/* Reads "base_model.model.<module path>.lora_A[.<adapter>].weight" into the
 * layer, kind and which (0 = A, 1 = B); 0 when the name is not of a LoRA
 * weight of this model's modules. */
static int parse_lora_name(const rk_model *m, const char *name, int *layer, int *kind, int *which) {
    const char *p = name;
    if (!strncmp(p, "base_model.model.", 17)) p += 17;
    const char *lo = NULL;
    for (const char *q = strstr(p, ".lora_"); q; q = strstr(q + 1, ".lora_"))
        lo = q;
    if (!lo || (lo[6] != 'A' && lo[6] != 'B')) return 0;
    const char *rest = lo + 7;
    if (strcmp(rest, ".weight")) { /* ".<adapter>.weight", as PEFT's state_dict names it */
        if (*rest != '.') return 0;
        const char *dot = strchr(rest + 1, '.');
        if (!dot || dot == rest + 1 || strcmp(dot, ".weight")) return 0;
    }
    *which = lo[6] == 'B';
    /* the module path p[0..lo): "<layers prefix><layer>.<suffix>" */
    const char *prefix = m->cfg.arch == RK_ARCH_GPT2 ? "transformer.h." : "model.layers.";
    size_t np = strlen(prefix);
    if (strncmp(p, prefix, np)) {
        if (m->cfg.arch == RK_ARCH_GPT2 && !strncmp(p, "h.", 2))
            np = 2;
        else
            return 0;
    }
    p += np;
    if (*p < '0' || *p > '9') return 0;
    long l = 0;
    while (*p >= '0' && *p <= '9' && l < 100000)
        l = l * 10 + (*p++ - '0');
    if (*p != '.' || l >= m->cfg.n_layer) return 0;
    p++;
    for (int k = 0; k < NK; k++) {
        if (!m->lin[k].present) continue;
        const char *suf = kind_suffix(m, k);
        size_t ns = strlen(suf);
        if ((size_t)(lo - p) == ns && !strncmp(p, suf, ns)) {
            *layer = (int)l;
            *kind = k;
            return 1;
        }
    }
    return 0;
}

/* Settings of adapter_config.json that would change the adapter's math and
 * that raftkit does not implement: refused rather than half-applied. */
static rk_status check_unsupported(const char *what, const json_t *o, rk_error *err) {
    static const char *const must_be_empty[] = {
        "rank_pattern",      "alpha_pattern",     "layers_to_transform",    "modules_to_save",
        "layer_replication", "target_parameters", "trainable_token_indices"};
    static const char *const must_be_false[] = {"use_dora", "lora_bias", "use_qalora"};
    for (size_t i = 0; i < sizeof must_be_empty / sizeof *must_be_empty; i++) {
        const json_t *v = json_object_get(o, must_be_empty[i]);
        if (v && !json_is_null(v) && !(json_is_object(v) && !json_object_size(v)) &&
            !(json_is_array(v) && !json_array_size(v)))
            return rk_fail(err, RK_EFORMAT, "%s: \"%s\" is set, which raftkit does not support", what,
                           must_be_empty[i]);
    }
    for (size_t i = 0; i < sizeof must_be_false / sizeof *must_be_false; i++)
        if (json_is_true(json_object_get(o, must_be_false[i])))
            return rk_fail(err, RK_EFORMAT, "%s: \"%s\": true is not supported", what, must_be_false[i]);
    const json_t *bias = json_object_get(o, "bias");
    if (bias && !json_is_null(bias) && (!json_is_string(bias) || strcmp(json_string_value(bias), "none")))
        return rk_fail(err, RK_EFORMAT, "%s: \"bias\" other than \"none\" is not supported", what);
    const char *pt = json_string_value(json_object_get(o, "peft_type"));
    if (pt && strcmp(pt, "LORA"))
        return rk_fail(err, RK_EFORMAT, "%s: peft_type \"%s\" is not LORA", what, pt);
    return RK_OK;
}

/* The last component of a path or hub id ("meta-llama/Llama-3.2-1B" ->
 * "Llama-3.2-1B"), without trailing slashes, as s[0..*n). */
static const char *last_component(const char *p, size_t *n) {
    size_t e = strlen(p);
    while (e > 1 && p[e - 1] == '/')
        e--;
    size_t b = e;
    while (b && p[b - 1] != '/')
        b--;
    *n = e - b;
    return p + b;
}

/* An adapter whose base_model_name_or_path names another model than m is
 * refused, even when its shapes fit (a base and its instruct variant share
 * them): the model is known by its directory's name and by the
 * "_name_or_path" transformers records in config.json. */
static rk_status check_base(const rk_model *m, const char *cpath, const json_t *o, rk_error *err) {
    const char *base = json_string_value(json_object_get(o, "base_model_name_or_path"));
    if (!base || !*base) return RK_OK;
    const char *names[2] = {m->dir, json_string_value(json_object_get(m->config, "_name_or_path"))};
    size_t bn, n;
    const char *b = last_component(base, &bn);
    for (int i = 0; i < 2; i++) {
        const char *c = names[i] && *names[i] ? last_component(names[i], &n) : NULL;
        if (c && n == bn && !memcmp(c, b, n)) return RK_OK;
    }
    return rk_fail(
        err, RK_EFORMAT,
        "%s: the adapter was trained on base model \"%s\", not on the model loaded from %s; a copy of "
        "that model under another name needs base_model_name_or_path set to this directory",
        cpath, base, m->dir);
}

rk_status rk_model_lora_load(rk_model *m, const char *adir, rk_error *err) {
    if (m->lora) return rk_fail(err, RK_ESTATE, "the model already has LoRA adapters");
    char *cpath = rk_path_join(adir, "adapter_config.json"),
         *wpath = rk_path_join(adir, "adapter_model.safetensors");
    char *bpath = rk_path_join(adir, "adapter_model.bin");
    json_t *o = NULL;
    rk_safetensors *st = NULL;
    int L = m->cfg.n_layer;
    unsigned char *mask = calloc((size_t)L * NK, 1);
    const rk_st_tensor **ten = calloc((size_t)L * NK * 2, sizeof *ten);
    rk_status s = cpath && wpath && bpath && mask && ten ? RK_OK : rk_fail(err, RK_ENOMEM, "out of memory");
    int r = 0, rslora = 0;
    double alpha = 0, dropout = 0;
    int allowed[NK] = {0};
    char names[160];
    target_names(m, names, sizeof names);
    if (!s) s = read_json(cpath, &o, err);
    if (!s) s = check_unsupported(cpath, o, err);
    if (!s) s = check_base(m, cpath, o, err);
    if (!s && !(s = cfg_dim(cpath, o, "r", REQUIRED, 65536, &r, err)) &&
        !(s = cfg_num(cpath, o, "lora_alpha", 0, 1, &alpha, err)) &&
        !(s = cfg_num(cpath, o, "lora_dropout", 0, 0, &dropout, err)) &&
        !(s = cfg_bool(cpath, o, "use_rslora", 0, &rslora, err)) && !(dropout >= 0 && dropout < 1))
        s = rk_fail(err, RK_EFORMAT, "%s: lora_dropout %g is outside [0, 1)", cpath, dropout);
    if (!s) {
        /* A list must name modules of this family; a string is PEFT's regex
         * form, and then the tensors alone say which modules are adapted. */
        const json_t *tm = json_object_get(o, "target_modules");
        if (json_is_array(tm)) {
            size_t i;
            const json_t *v;
            json_array_foreach(tm, i, v) {
                const char *t = json_string_value(v);
                if (!t || !match_target(m, t, strlen(t), allowed)) {
                    s = rk_fail(err, RK_EFORMAT,
                                "%s: target_modules names \"%s\", which is not a module of this %s model "
                                "(supported: %s)",
                                cpath, t ? t : "(not a string)", m->cfg.model_type, names);
                    break;
                }
            }
        } else {
            for (int k = 0; k < NK; k++)
                allowed[k] = m->lin[k].present;
        }
    }
    if (!s && access(wpath, F_OK) != 0) {
        if (access(bpath, F_OK) == 0)
            s = rk_fail(err, RK_EFORMAT,
                        "%s: adapter_model.bin (a pickle) is not supported; save the adapter with "
                        "safe_serialization=True",
                        adir);
        else
            s = rk_fail(err, RK_ENOTFOUND, "%s: no such file", wpath);
    }
    if (!s) s = rk_st_open(wpath, &st, err);
    for (size_t i = 0; !s && i < rk_st_count(st); i++) {
        const rk_st_tensor *t = rk_st_get(st, i);
        int l, k, w;
        if (!parse_lora_name(m, t->name, &l, &k, &w))
            s = rk_fail(err, RK_EFORMAT,
                        "%s: tensor \"%s\" is not a LoRA weight of any module of this %s model", wpath,
                        t->name, m->cfg.model_type);
        else if (!allowed[k])
            s = rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\" adapts %s, which target_modules does not name",
                        wpath, t->name, m->lin[k].target);
        else if (ten[(l * NK + k) * 2 + w])
            s = rk_fail(err, RK_EFORMAT, "%s: tensors \"%s\" and \"%s\" are the same weight", wpath,
                        ten[(l * NK + k) * 2 + w]->name, t->name);
        else {
            ten[(l * NK + k) * 2 + w] = t;
            mask[l * NK + k] = 1;
        }
    }
    int any = 0;
    for (int i = 0; !s && i < L * NK; i++) {
        if (!mask[i]) continue;
        any = 1;
        const lin_spec *li = &m->lin[i % NK];
        char path[128];
        snprintf(path, sizeof path, li->path, i / NK);
        for (int w = 0; w < 2 && !s; w++) {
            const rk_st_tensor *t = ten[i * 2 + w];
            int64_t want[2] = {w ? li->out : r, w ? r : li->in};
            if (!t)
                s = rk_fail(err, RK_EFORMAT, "%s: %s has lora_%c but no lora_%c weight", wpath, path,
                            w ? 'A' : 'B', w ? 'B' : 'A');
            else if (t->ndim != 2 || t->shape[0] != want[0] || t->shape[1] != want[1]) {
                char a[64], b[160];
                shape_text(a, sizeof a, 2, want);
                shape_text(b, sizeof b, t->ndim, t->shape);
                s = rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\" has shape %s, expected %s for r = %d", wpath,
                            t->name, b, a, r);
            }
        }
    }
    if (!s && !any) s = rk_fail(err, RK_EFORMAT, "%s: no LoRA weights", wpath);
    if (!s) s = lora_setup(m, r, (float)alpha, rslora, (float)dropout, mask, err);
    for (size_t j = 0; !s && j < m->n_mods; j++) {
        const lmod *md = &m->mods[j];
        int i = md->layer * NK + md->kind;
        s = rk_st_read_f32(ten[i * 2], m->lparams + md->a, (size_t)m->r * md->in, err);
        if (!s) s = rk_st_read_f32(ten[i * 2 + 1], m->lparams + md->b, (size_t)md->out * m->r, err);
    }
    if (s && m->lora) {
        drop_lora(m);
        base_trainable(m, 1, NULL);
    }
    rk_st_close(st);
    json_decref(o);
    free(ten);
    free(mask);
    free(cpath);
    free(wpath);
    free(bpath);
    return s;
}

rk_status rk_model_lora_save(const rk_model *m, const char *dir, const char *base_model, rk_error *err) {
    if (!m->lora) return rk_fail(err, RK_ESTATE, "the model has no LoRA adapters to save");
    rk_status s = rk_mkdir_p(dir, err);
    if (s) return s;
    char *cpath = rk_path_join(dir, "adapter_config.json"),
         *wpath = rk_path_join(dir, "adapter_model.safetensors");
    json_t *o = json_object(), *targets = json_array();
    if (!cpath || !wpath || !o || !targets) s = rk_fail(err, RK_ENOMEM, "out of memory");
    if (!s) {
        /* The target names of the adapted kinds, each once. */
        int seen[NK] = {0};
        for (size_t j = 0; j < m->n_mods; j++)
            seen[m->mods[j].kind] = 1;
        for (int k = 0; k < NK; k++) {
            int dup = 0;
            for (int i = 0; i < k && seen[k]; i++)
                dup |= seen[i] && !strcmp(m->lin[i].target, m->lin[k].target);
            if (seen[k] && !dup) json_array_append_new(targets, json_string(m->lin[k].target));
        }
        char dropout_text[32];
        snprintf(dropout_text, sizeof dropout_text, "%.7g", (double)m->dropout);
        float a = m->alpha;
        json_t *alpha = a == floorf(a) && fabsf(a) < 1e9f ? json_integer((json_int_t)a) : json_real(a);
        /* The keys peft's LoraConfig reads, with the values that say "plain
         * LoRA"; the rest take peft's defaults. */
        json_object_set_new(o, "alpha_pattern", json_object());
        json_object_set_new(o, "auto_mapping", json_null());
        json_object_set_new(o, "base_model_name_or_path", base_model ? json_string(base_model) : json_null());
        json_object_set_new(o, "bias", json_string("none"));
        json_object_set_new(o, "fan_in_fan_out", json_boolean(m->cfg.arch == RK_ARCH_GPT2));
        json_object_set_new(o, "inference_mode", json_true());
        json_object_set_new(o, "init_lora_weights", json_true());
        json_object_set_new(o, "layers_pattern", json_null());
        json_object_set_new(o, "layers_to_transform", json_null());
        json_object_set_new(o, "lora_alpha", alpha);
        json_object_set_new(o, "lora_bias", json_false());
        /* the float's shortest decimal, not 0.10000000149011612 */
        json_object_set_new(o, "lora_dropout", json_real(strtod(dropout_text, NULL)));
        json_object_set_new(o, "modules_to_save", json_null());
        json_object_set_new(o, "peft_type", json_string("LORA"));
        json_object_set_new(o, "r", json_integer(m->r));
        json_object_set_new(o, "rank_pattern", json_object());
        json_object_set_new(o, "revision", json_null());
        json_object_set_new(o, "target_modules", targets);
        targets = NULL;
        json_object_set_new(o, "task_type", json_string("CAUSAL_LM"));
        json_object_set_new(o, "use_dora", json_false());
        json_object_set_new(o, "use_rslora", json_boolean(m->rslora));
        s = write_tensors(wpath, m->llist, m->n_llist, err);
    }
    if (!s) s = write_json(cpath, o, err);
    json_decref(targets);
    json_decref(o);
    free(cpath);
    free(wpath);
    return s;
}

rk_status rk_model_lora_merge(rk_model *m, rk_error *err) {
    if (!m->lora) return rk_fail(err, RK_ESTATE, "the model has no LoRA adapters to merge");
    /* The base trains again after the merge: its gradients come first, so
     * that running out of memory leaves the model as it was. */
    float *grads = calloc(m->n_params ? m->n_params : 1, sizeof *grads);
    if (!grads) return rk_fail(err, RK_ENOMEM, "out of memory for %zu gradients", m->n_params);
    for (size_t j = 0; j < m->n_mods; j++) {
        const lmod *md = &m->mods[j];
        float *W = wptr(m, m->lin[md->kind].w, md->layer);
        const float *A = m->lparams + md->a, *B = m->lparams + md->b;
        if (m->cfg.arch == RK_ARCH_GPT2) /* Conv1D W [in, out] += s (B·A)ᵀ = s Aᵀ·Bᵀ */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, md->in, md->out, m->r, m->lscale, A, md->in, B,
                        m->r, 1.0f, W, md->out);
        else /* nn.Linear W [out, in] += s B·A */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, md->out, md->in, m->r, m->lscale, B, m->r,
                        A, md->in, 1.0f, W, md->in);
    }
    drop_lora(m);
    m->grads = grads;
    for (size_t i = 0; i < m->n_plist; i++)
        m->plist[i].grad = m->grads + m->plist[i].offset;
    m->can_backward = 0;
    m->kv_len = 0;
    return RK_OK;
}
