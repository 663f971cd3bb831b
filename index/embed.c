/* embed.c — the feature-hashing TF-IDF embedder and its record in the KB.
 *
 * Embedder blob "idf", little-endian:
 *   char magic[8] = "RKIDF\0\0\1" | u32 version = 1 | u32 nbuckets |
 *   u64 ndocs | u32 df[nbuckets]
 * and meta "embedder" = {"name": "hash", "dim": D, "idf_buckets": B,
 *   "ngrams": 2, "weighting": "log-tf-idf"}. */
#include "raftkit/embed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/hash.h"
#include "raftkit/text.h"

enum { IDF_BITS = 20, IDF_BUCKETS = 1 << IDF_BITS, IDF_HDR = 8 + 4 + 4 + 8 };
static const char IDF_MAGIC[8] = {'R', 'K', 'I', 'D', 'F', 0, 0, 1};
static const uint64_t TERM_SEED = 0x52414654ULL; /* "RAFT": part of the format */

struct rk_embedder {
    int dim;
    float *idf; /* [IDF_BUCKETS] */
};

/* A growable list of term hashes. */
typedef struct terms {
    uint64_t *h;
    size_t n, cap;
} terms;

static int push(terms *t, uint64_t h) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        uint64_t *nh = realloc(t->h, cap * sizeof *nh);
        if (!nh) return -1;
        t->h = nh;
        t->cap = cap;
    }
    t->h[t->n++] = h;
    return 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Hashes the unigrams and bigrams of text into t (unsorted, with repeats). */
static rk_status collect_terms(const char *text, size_t n, terms *t, rk_error *err) {
    char word[256], prev[256], pair[520];
    size_t pos = 0, start, len, plen = 0;
    t->n = 0;
    while ((len = rk_text_next_word(text, n, &pos, &start, word, sizeof word))) {
        if (push(t, rk_hash64_of(word, len, TERM_SEED))) goto oom;
        if (plen) {
            memcpy(pair, prev, plen);
            pair[plen] = ' ';
            memcpy(pair + plen + 1, word, len);
            if (push(t, rk_hash64_of(pair, plen + 1 + len, TERM_SEED))) goto oom;
        }
        memcpy(prev, word, len);
        plen = len;
    }
    return RK_OK;
oom:
    return rk_fail(err, RK_ENOMEM, "out of memory embedding text");
}

static uint32_t df_bucket(uint64_t h) { return (uint32_t)(h >> (64 - IDF_BITS)); }

typedef struct fit_ctx {
    uint32_t *df;
    uint64_t ndocs;
    terms t;
} fit_ctx;

static rk_status count_chunk(const rk_chunk *c, void *vctx, rk_error *err) {
    fit_ctx *ctx = vctx;
    rk_status s = collect_terms(c->text, c->text_len, &ctx->t, err);
    if (s) return s;
    if (ctx->t.n) qsort(ctx->t.h, ctx->t.n, sizeof *ctx->t.h, cmp_u64);
    for (size_t i = 0; i < ctx->t.n; i++)
        if (i == 0 || ctx->t.h[i] != ctx->t.h[i - 1]) ctx->df[df_bucket(ctx->t.h[i])]++;
    ctx->ndocs++;
    return RK_OK;
}

static rk_status make(int dim, const uint32_t *df, uint64_t ndocs, rk_embedder **out, rk_error *err) {
    rk_embedder *e = malloc(sizeof *e);
    float *idf = malloc(IDF_BUCKETS * sizeof *idf);
    if (!e || !idf) {
        free(e);
        free(idf);
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < IDF_BUCKETS; i++) {
        uint32_t d;
        memcpy(&d, df + i, sizeof d); /* df may point into an unaligned LMDB page */
        idf[i] = (float)(log((1.0 + (double)ndocs) / (1.0 + d)) + 1.0);
    }
    e->dim = dim;
    e->idf = idf;
    *out = e;
    return RK_OK;
}

rk_status rk_embedder_fit_hash(rk_kb_txn *txn, int dim, rk_embedder **out, rk_error *err) {
    if (dim < 1 || dim > 65536)
        return rk_fail(err, RK_EINVAL, "embedder dimension %d not in [1, 65536]", dim);
    size_t bytes = IDF_HDR + (size_t)IDF_BUCKETS * 4;
    uint8_t *blob = calloc(1, bytes);
    if (!blob) return rk_fail(err, RK_ENOMEM, "out of memory");
    fit_ctx ctx = {.df = (uint32_t *)(blob + IDF_HDR)};
    rk_status s = rk_kb_chunk_foreach(txn, count_chunk, &ctx, err);
    free(ctx.t.h);
    if (!s) {
        uint32_t version = 1, nb = IDF_BUCKETS;
        memcpy(blob, IDF_MAGIC, 8);
        memcpy(blob + 8, &version, 4);
        memcpy(blob + 12, &nb, 4);
        memcpy(blob + 16, &ctx.ndocs, 8);
        s = rk_kb_blob_put(txn, RK_BLOB_EMBEDDER, "idf", blob, bytes, err);
    }
    if (!s) {
        json_t *spec = json_pack("{sssisisiss}", "name", "hash", "dim", dim, "idf_buckets", IDF_BUCKETS,
                                 "ngrams", 2, "weighting", "log-tf-idf");
        s = spec ? rk_kb_meta_put(txn, "embedder", spec, err) : rk_fail(err, RK_ENOMEM, "out of memory");
        json_decref(spec);
    }
    if (!s) s = make(dim, ctx.df, ctx.ndocs, out, err);
    free(blob);
    return s;
}

rk_status rk_embedder_load(rk_kb_txn *txn, rk_embedder **out, rk_error *err) {
    json_t *spec;
    rk_status s = rk_kb_meta_get(txn, "embedder", &spec, err);
    if (s == RK_ENOTFOUND)
        return rk_fail(err, RK_ESTATE, "%s: the KB has no embedder yet; run 'raft-index build' first",
                       rk_kb_txn_path(txn));
    if (s) return s;
    const char *name = json_string_value(json_object_get(spec, "name"));
    int dim = (int)json_integer_value(json_object_get(spec, "dim"));
    int is_hash = name && !strcmp(name, "hash");
    json_decref(spec);
    if (!is_hash || dim < 1)
        return rk_fail(err, RK_EFORMAT, "%s: meta \"embedder\": unknown embedder", rk_kb_txn_path(txn));
    const void *data;
    size_t n;
    void *owned;
    if ((s = rk_kb_blob_get(txn, RK_BLOB_EMBEDDER, "idf", &data, &n, &owned, err))) return s;
    const uint8_t *p = data;
    uint32_t version, nb;
    uint64_t ndocs;
    if (n >= IDF_HDR) {
        memcpy(&version, p + 8, 4);
        memcpy(&nb, p + 12, 4);
        memcpy(&ndocs, p + 16, 8);
    }
    if (n < IDF_HDR || memcmp(p, IDF_MAGIC, 8) || version != 1 || nb != IDF_BUCKETS ||
        n != IDF_HDR + (size_t)nb * 4)
        s = rk_fail(err, RK_EFORMAT, "%s: embedder \"idf\" table is damaged", rk_kb_txn_path(txn));
    else
        s = make(dim, (const uint32_t *)(p + IDF_HDR), ndocs, out, err);
    free(owned);
    return s;
}

void rk_embedder_free(rk_embedder *e) {
    if (!e) return;
    free(e->idf);
    free(e);
}

int rk_embedder_dim(const rk_embedder *e) { return e->dim; }

rk_status rk_embedder_embed(const rk_embedder *e, const char *text, size_t n, float *out, rk_error *err) {
    terms t = {0};
    rk_status s = collect_terms(text, n, &t, err);
    memset(out, 0, (size_t)e->dim * sizeof *out);
    if (!s) {
        if (t.n) qsort(t.h, t.n, sizeof *t.h, cmp_u64);
        for (size_t i = 0; i < t.n;) {
            size_t j = i;
            while (j < t.n && t.h[j] == t.h[i])
                j++;
            uint64_t h = t.h[i];
            float w = (1.0f + logf((float)(j - i))) * e->idf[df_bucket(h)];
            out[(uint32_t)h % (uint32_t)e->dim] += (h >> 32) & 1 ? -w : w;
            i = j;
        }
        double norm = 0;
        for (int d = 0; d < e->dim; d++)
            norm += (double)out[d] * out[d];
        if (norm > 0) {
            float inv = (float)(1.0 / sqrt(norm));
            for (int d = 0; d < e->dim; d++)
                out[d] *= inv;
        }
    }
    free(t.h);
    return s;
}
