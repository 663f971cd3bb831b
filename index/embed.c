/* embed.c — the embedder interface of embed.h, the `hash` embedder, and the
 * record of an embedder in the KB.
 *
 * meta "embedder:ID" = the spec, e.g.
 *   {"name": "hash", "dim": 1024, "k1": 1.2, "b": 0.75, "ngrams": 2,
 *    "buckets": 1048576, "chunks": N, "avglen": L, "df": "HEX"}
 *   {"name": "http", "url": URL, "model": M, "dim": D}
 * where ID is the hex of the 64-bit hash of the spec's compact, key-sorted
 * JSON, and "df" that of the hash embedder's document-frequency table, which
 * is embedder blob "df:ID", little-endian:
 *   char magic[8] = "RKDF\0\0\0\1" | u32 buckets | u32 df[buckets] */
#define _GNU_SOURCE
#include "raftkit/embed.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed_backend.h"
#include "raftkit/hash.h"
#include "raftkit/text.h"

enum { DF_BITS = 20, DF_BUCKETS = 1 << DF_BITS, DF_HDR = 8 + 4 };
static const char DF_MAGIC[8] = {'R', 'K', 'D', 'F', 0, 0, 0, 1};
static const uint64_t TERM_SEED = 0x52414654ULL; /* "RAFT": part of the format */
static const uint64_t SPEC_SEED = 0x454d42ULL;   /* "EMB": part of the format */

struct rk_embedder {
    json_t *spec;
    char id[17];
    char *desc;
    int dim;
    /* hash */
    double k1, b, avglen;
    uint32_t *df; /* [DF_BUCKETS] */
    float *idf;   /* [DF_BUCKETS] */
    /* http */
    rk_embed_http *http;
};

/* ---- hash: terms ---- */

/* A growable list of term hashes. */
typedef struct terms {
    uint64_t *h;
    size_t n, cap;
    size_t words; /* the unigrams among them: the text's length for BM25 */
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

/* Hashes the unigrams and bigrams of text into t, sorted, with repeats. */
static rk_status collect_terms(const char *text, size_t n, terms *t, rk_error *err) {
    char word[256], prev[256], pair[520];
    size_t pos = 0, start, len, plen = 0;
    t->n = t->words = 0;
    while ((len = rk_text_next_word(text, n, &pos, &start, word, sizeof word))) {
        t->words++;
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
    if (t->n) qsort(t->h, t->n, sizeof *t->h, cmp_u64);
    return RK_OK;
oom:
    return rk_fail(err, RK_ENOMEM, "out of memory embedding text");
}

static uint32_t df_bucket(uint64_t h) { return (uint32_t)(h >> (64 - DF_BITS)); }

/* ---- hash: fitting ---- */

typedef struct fit_ctx {
    uint32_t *df;
    uint64_t chunks, words;
    terms t;
} fit_ctx;

static rk_status count_chunk(const rk_chunk *c, void *vctx, rk_error *err) {
    fit_ctx *ctx = vctx;
    rk_status s = collect_terms(c->text, c->text_len, &ctx->t, err);
    if (s) return s;
    for (size_t i = 0; i < ctx->t.n; i++)
        if (i == 0 || ctx->t.h[i] != ctx->t.h[i - 1]) ctx->df[df_bucket(ctx->t.h[i])]++;
    ctx->chunks++;
    ctx->words += ctx->t.words;
    return RK_OK;
}

/* BM25's idf, which stays positive for terms in most chunks. */
static rk_status make_idf(rk_embedder *e, uint64_t chunks, rk_error *err) {
    if (!(e->idf = malloc(DF_BUCKETS * sizeof *e->idf))) return rk_fail(err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; i < DF_BUCKETS; i++)
        e->idf[i] = (float)log(1.0 + ((double)chunks - e->df[i] + 0.5) / (e->df[i] + 0.5));
    return RK_OK;
}

/* Sets e's id and description from its spec. */
static rk_status finish(rk_embedder *e, rk_error *err) {
    char *text = json_dumps(e->spec, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) return rk_fail(err, RK_ENOMEM, "out of memory");
    snprintf(e->id, sizeof e->id, "%016" PRIx64, rk_hash64_of(text, strlen(text), SPEC_SEED));
    free(text);
    const char *name = json_string_value(json_object_get(e->spec, "name"));
    int n = !strcmp(name, "hash") ? asprintf(&e->desc, "hash (dim %d, k1 %g, b %g)", e->dim, e->k1, e->b)
                                  : asprintf(&e->desc, "http %s (model %s, dim %d)",
                                             json_string_value(json_object_get(e->spec, "url")),
                                             json_string_value(json_object_get(e->spec, "model"))
                                                 ? json_string_value(json_object_get(e->spec, "model"))
                                                 : "none",
                                             e->dim);
    if (n < 0) {
        e->desc = NULL;
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    return RK_OK;
}

static rk_status hash_spec(rk_embedder *e, uint64_t chunks, rk_error *err) {
    char df[17];
    snprintf(df, sizeof df, "%016" PRIx64, rk_hash64_of(e->df, DF_BUCKETS * sizeof *e->df, SPEC_SEED));
    e->spec =
        json_pack("{sssisfsfsisisIsfss}", "name", "hash", "dim", e->dim, "k1", e->k1, "b", e->b, "ngrams", 2,
                  "buckets", DF_BUCKETS, "chunks", (json_int_t)chunks, "avglen", e->avglen, "df", df);
    return e->spec ? RK_OK : rk_fail(err, RK_ENOMEM, "out of memory");
}

static rk_status new_hash(rk_kb_txn *txn, const rk_embed_opts *o, rk_embedder *e, rk_error *err) {
    e->dim = o->dim ? o->dim : 1024;
    e->k1 = o->k1 > 0 ? o->k1 : 1.2;
    e->b = o->b >= 0 ? o->b : 0.75;
    if (e->dim < 1 || e->dim > 65536)
        return rk_fail(err, RK_EINVAL, "embedder dimension %d not in [1, 65536]", e->dim);
    if (e->b > 1) return rk_fail(err, RK_EINVAL, "BM25 b must be in [0, 1], got %g", e->b);
    if (!(e->df = calloc(DF_BUCKETS, sizeof *e->df))) return rk_fail(err, RK_ENOMEM, "out of memory");
    fit_ctx ctx = {.df = e->df};
    rk_status s = rk_kb_chunk_foreach(txn, count_chunk, &ctx, err);
    free(ctx.t.h);
    if (s) return s;
    e->avglen = ctx.chunks ? (double)ctx.words / (double)ctx.chunks : 1;
    s = make_idf(e, ctx.chunks, err);
    return s ? s : hash_spec(e, ctx.chunks, err);
}

/* Fills out[dim] with the BM25-weighted, L2-normalized hashed terms of text. */
static rk_status hash_embed(const rk_embedder *e, const char *text, size_t n, float *out, terms *t,
                            rk_error *err) {
    rk_status s = collect_terms(text, n, t, err);
    memset(out, 0, (size_t)e->dim * sizeof *out);
    if (s) return s;
    double norm_len = e->k1 * (1 - e->b + e->b * (double)t->words / (e->avglen > 0 ? e->avglen : 1));
    for (size_t i = 0; i < t->n;) {
        size_t j = i;
        while (j < t->n && t->h[j] == t->h[i])
            j++;
        uint64_t h = t->h[i];
        double tf = (double)(j - i);
        float w = (float)(e->idf[df_bucket(h)] * tf * (e->k1 + 1) / (tf + norm_len));
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
    return RK_OK;
}

/* ---- the interface ---- */

static int is_http(const char *spec) { return !strncmp(spec, "http:", 5); }

rk_status rk_embedder_new(rk_kb_txn *txn, const rk_embed_opts *o, rk_embedder **out, rk_error *err) {
    const char *spec = o->spec ? o->spec : "hash";
    if (strcmp(spec, "hash") && !is_http(spec))
        return rk_fail(err, RK_EINVAL, "unknown embedder '%s' (expected hash or http:URL)", spec);
    rk_embedder *e = calloc(1, sizeof *e);
    if (!e) return rk_fail(err, RK_ENOMEM, "out of memory");
    rk_status s;
    if (!is_http(spec)) {
        s = new_hash(txn, o, e, err);
    } else {
        const char *url = spec + 5;
        e->dim = o->dim;
        s = rk_embed_http_open(url, o, &e->dim, &e->http, err);
        if (!s) {
            e->spec = json_pack("{sssssi}", "name", "http", "url", url, "dim", e->dim);
            if (e->spec && o->model) json_object_set_new(e->spec, "model", json_string(o->model));
            if (!e->spec) s = rk_fail(err, RK_ENOMEM, "out of memory");
        }
    }
    if (!s) s = finish(e, err);
    if (s) {
        rk_embedder_free(e);
        return s;
    }
    *out = e;
    return RK_OK;
}

static void meta_key(char *key, size_t cap, const char *id) { snprintf(key, cap, "embedder:%s", id); }
static void df_name(char *name, size_t cap, const char *id) { snprintf(name, cap, "df:%s", id); }

rk_status rk_embedder_save(const rk_embedder *e, rk_kb_txn *txn, rk_error *err) {
    char key[64];
    meta_key(key, sizeof key, e->id);
    rk_status s = rk_kb_meta_put(txn, key, e->spec, err);
    if (s || !e->df) return s;
    size_t bytes = DF_HDR + (size_t)DF_BUCKETS * 4;
    uint8_t *blob = malloc(bytes);
    if (!blob) return rk_fail(err, RK_ENOMEM, "out of memory");
    uint32_t nb = DF_BUCKETS;
    memcpy(blob, DF_MAGIC, 8);
    memcpy(blob + 8, &nb, 4);
    memcpy(blob + DF_HDR, e->df, (size_t)DF_BUCKETS * 4);
    df_name(key, sizeof key, e->id);
    s = rk_kb_blob_put(txn, RK_BLOB_EMBEDDER, key, blob, bytes, err);
    free(blob);
    return s;
}

/* The hash embedder's tables from blob "df:ID". */
static rk_status load_hash(rk_kb_txn *txn, rk_embedder *e, rk_error *err) {
    e->k1 = json_real_value(json_object_get(e->spec, "k1"));
    e->b = json_real_value(json_object_get(e->spec, "b"));
    e->avglen = json_real_value(json_object_get(e->spec, "avglen"));
    json_int_t chunks = json_integer_value(json_object_get(e->spec, "chunks"));
    char name[64];
    df_name(name, sizeof name, e->id);
    const void *data;
    size_t n;
    void *owned;
    rk_status s = rk_kb_blob_get(txn, RK_BLOB_EMBEDDER, name, &data, &n, &owned, err);
    if (s) return s;
    uint32_t nb = 0;
    if (n >= DF_HDR) memcpy(&nb, (const uint8_t *)data + 8, 4);
    if (n < DF_HDR || memcmp(data, DF_MAGIC, 8) || nb != DF_BUCKETS || n != DF_HDR + (size_t)nb * 4)
        s = rk_fail(err, RK_EFORMAT, "%s: embedder %s: its table \"%s\" is damaged", rk_kb_txn_path(txn),
                    e->id, name);
    else if (!(e->df = malloc((size_t)nb * 4)))
        s = rk_fail(err, RK_ENOMEM, "out of memory");
    else
        memcpy(e->df, (const uint8_t *)data + DF_HDR, (size_t)nb * 4); /* the map aligns values to 2 only */
    free(owned);
    return s ? s : make_idf(e, (uint64_t)chunks, err);
}

rk_status rk_embedder_load(rk_kb_txn *txn, const char *id, const rk_embed_opts *o, rk_embedder **out,
                           rk_error *err) {
    char key[64];
    meta_key(key, sizeof key, id);
    rk_embedder *e = calloc(1, sizeof *e);
    if (!e) return rk_fail(err, RK_ENOMEM, "out of memory");
    snprintf(e->id, sizeof e->id, "%s", id); /* names its tables; finish() checks it against the spec */
    rk_status s = rk_kb_meta_get(txn, key, &e->spec, err);
    const char *name = s ? NULL : json_string_value(json_object_get(e->spec, "name"));
    if (!s) {
        e->dim = (int)json_integer_value(json_object_get(e->spec, "dim"));
        if (!name || (strcmp(name, "hash") && strcmp(name, "http")) || e->dim < 1)
            s = rk_fail(err, RK_EFORMAT, "%s: meta \"%s\": not an embedder spec", rk_kb_txn_path(txn), key);
    }
    if (!s && !strcmp(name, "hash")) s = load_hash(txn, e, err);
    if (!s && !strcmp(name, "http")) {
        rk_embed_opts ho = o ? *o : (rk_embed_opts){.retries = -1};
        ho.model = json_string_value(json_object_get(e->spec, "model"));
        int dim = e->dim;
        s = rk_embed_http_open(json_string_value(json_object_get(e->spec, "url")), &ho, &dim, &e->http, err);
    }
    if (!s) s = finish(e, err);
    if (!s && strcmp(e->id, id))
        s = rk_fail(err, RK_EFORMAT, "%s: meta \"%s\" holds the spec of embedder %s", rk_kb_txn_path(txn),
                    key, e->id);
    if (s) {
        rk_embedder_free(e);
        return s;
    }
    *out = e;
    return RK_OK;
}

rk_status rk_embedder_delete(rk_kb_txn *txn, const char *id, rk_error *err) {
    char key[64];
    meta_key(key, sizeof key, id);
    rk_status s = rk_kb_meta_delete(txn, key, err);
    df_name(key, sizeof key, id);
    if (!s) s = rk_kb_blob_delete(txn, RK_BLOB_EMBEDDER, key, err);
    return s == RK_ENOTFOUND ? RK_OK : s;
}

void rk_embedder_free(rk_embedder *e) {
    if (!e) return;
    json_decref(e->spec);
    free(e->desc);
    free(e->df);
    free(e->idf);
    rk_embed_http_free(e->http);
    free(e);
}

const char *rk_embedder_id(const rk_embedder *e) { return e->id; }
const json_t *rk_embedder_spec(const rk_embedder *e) { return e->spec; }
const char *rk_embedder_describe(const rk_embedder *e) { return e->desc; }
int rk_embedder_dim(const rk_embedder *e) { return e->dim; }

uint64_t rk_embedder_key(const rk_embedder *e) { return strtoull(e->id, NULL, 16); }

rk_status rk_embedder_embed(rk_embedder *e, size_t n, const char *const *texts, const size_t *lens,
                            float *out, size_t *failed, rk_error *err) {
    rk_status s = RK_OK;
    if (e->http) {
        size_t batch = rk_embed_http_batch(e->http);
        for (size_t at = 0; !s && at < n; at += batch) {
            size_t m = n - at < batch ? n - at : batch;
            s = rk_embed_http_embed(e->http, m, texts + at, lens + at, e->dim, out + at * (size_t)e->dim,
                                    err);
            if (s && failed) *failed = at;
        }
        return s;
    }
    terms t = {0};
    for (size_t i = 0; !s && i < n; i++) {
        s = hash_embed(e, texts[i], lens[i], out + i * (size_t)e->dim, &t, err);
        if (s && failed) *failed = i;
    }
    free(t.h);
    return s;
}
