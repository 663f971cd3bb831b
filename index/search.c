/* search.c — building a KB's vector index and querying it. */
#include "raftkit/search.h"

#include <stdlib.h>
#include <string.h>

#include "raftkit/embed.h"

/* Vectors go to FAISS in batches so memory stays bounded by the batch. */
enum { BATCH = 4096, TRAIN_MAX = 100000 };

typedef struct build_ctx {
    const rk_build_opts *o;
    rk_build_report rep;
    rk_kb_txn *txn;
    rk_embedder *emb;
    float *vec;    /* [BATCH][dim] scratch */
    uint64_t *ids; /* every chunk id, in order */
    size_t nids, cap;
} build_ctx;

static rk_status embed_chunk(const rk_chunk *c, void *vctx, rk_error *err) {
    build_ctx *b = vctx;
    rk_status s = rk_embedder_embed(b->emb, c->text, c->text_len, b->vec, err);
    if (s) return s;
    if (b->nids == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 1024;
        uint64_t *n = realloc(b->ids, cap * sizeof *n);
        if (!n) return rk_fail(err, RK_ENOMEM, "out of memory");
        b->ids = n;
        b->cap = cap;
    }
    b->ids[b->nids++] = c->id;
    return rk_kb_vector_put(b->txn, c->id, b->vec, (size_t)b->o->dim, err);
}

/* Reads the stored vectors of ids[0..n) into b->vec. */
static rk_status read_vectors(build_ctx *b, const uint64_t *ids, size_t n, rk_error *err) {
    size_t dim = (size_t)b->o->dim;
    for (size_t i = 0; i < n; i++) {
        rk_status s = rk_kb_vector_get(b->txn, ids[i], b->vec + i * dim, dim, err);
        if (s) return s;
    }
    return RK_OK;
}

/* Trains on at most TRAIN_MAX vectors spread evenly over the KB. */
static rk_status train(build_ctx *b, rk_vindex *ix, rk_error *err) {
    size_t n = b->nids < TRAIN_MAX ? b->nids : TRAIN_MAX, dim = (size_t)b->o->dim;
    float *x = malloc(n * dim * sizeof *x);
    if (!x) return rk_fail(err, RK_ENOMEM, "out of memory for %zu training vectors", n);
    rk_status s = RK_OK;
    for (size_t i = 0; i < n && !s; i++)
        s = rk_kb_vector_get(b->txn, b->ids[i * b->nids / n], x + i * dim, dim, err);
    if (!s) s = rk_vindex_train(ix, n, x, err);
    free(x);
    return s;
}

static rk_status build_txn(rk_kb_txn *txn, void *vctx, rk_error *err) {
    build_ctx *b = vctx;
    const rk_build_opts *o = b->o;
    rk_vindex *ix = NULL;
    b->txn = txn;
    b->nids = 0;
    rk_status s = rk_embedder_fit_hash(txn, o->dim, &b->emb, err);
    if (!s) s = rk_kb_vector_clear(txn, err);
    if (!s) s = rk_kb_chunk_foreach(txn, embed_chunk, b, err);
    if (!s && b->nids == 0)
        s = rk_fail(err, RK_ESTATE, "%s: the KB has no chunks; run 'raft-ingest' first", rk_kb_txn_path(txn));
    if (!s) s = rk_vindex_create(o->factory, o->dim, o->metric, &ix, err);
    if (!s && !rk_vindex_is_trained(ix)) s = train(b, ix, err);
    for (size_t at = 0; !s && at < b->nids; at += BATCH) {
        size_t n = b->nids - at < BATCH ? b->nids - at : BATCH;
        s = read_vectors(b, b->ids + at, n, err);
        if (!s) s = rk_vindex_add(ix, n, b->vec, b->ids + at, err);
    }
    size_t bytes = 0;
    if (!s) s = rk_vindex_save(ix, txn, o->name, &bytes, err);
    uint64_t gen = 0;
    if (!s) s = rk_kb_generation(txn, &gen, err);
    if (!s) {
        char key[300];
        snprintf(key, sizeof key, "index:%s", o->name);
        json_t *spec =
            json_pack("{sssssisIsIsIss}", "factory", o->factory, "metric",
                      o->metric == RK_METRIC_IP ? "ip" : "l2", "dim", o->dim, "ntotal", (json_int_t)b->nids,
                      "bytes", (json_int_t)bytes, "kb_generation", (json_int_t)gen, "embedder", "hash");
        s = spec ? rk_kb_meta_put(txn, key, spec, err) : rk_fail(err, RK_ENOMEM, "out of memory");
        json_decref(spec);
    }
    b->rep = (rk_build_report){.chunks = b->nids, .bytes = bytes};
    rk_vindex_free(ix);
    rk_embedder_free(b->emb);
    b->emb = NULL;
    return s;
}

rk_status rk_index_build(rk_kb *kb, const rk_build_opts *o, rk_build_report *rep, rk_error *err) {
    if (strlen(o->name) == 0 || strlen(o->name) > 200)
        return rk_fail(err, RK_EINVAL, "index name must have 1 to 200 bytes");
    build_ctx b = {.o = o, .vec = malloc((size_t)BATCH * (size_t)(o->dim > 0 ? o->dim : 1) * sizeof(float))};
    if (!b.vec) return rk_fail(err, RK_ENOMEM, "out of memory");
    rk_status s = rk_kb_write(kb, build_txn, &b, err);
    free(b.vec);
    free(b.ids);
    if (!s && rep) *rep = b.rep;
    return s;
}

struct rk_searcher {
    rk_kb *kb;
    rk_embedder *emb;
    rk_vindex *ix;
    int stale;
    float *q; /* [dim] */
};

rk_status rk_searcher_open(rk_kb *kb, const char *name, rk_searcher **out, rk_error *err) {
    rk_searcher *sr = calloc(1, sizeof *sr);
    if (!sr) return rk_fail(err, RK_ENOMEM, "out of memory");
    rk_kb_txn *txn = NULL;
    json_t *spec = NULL;
    char key[300];
    snprintf(key, sizeof key, "index:%s", name);
    sr->kb = kb;
    rk_status s = rk_kb_read_begin(kb, &txn, err);
    if (!s && (s = rk_kb_meta_get(txn, key, &spec, err)) == RK_ENOTFOUND)
        s = rk_fail(err, RK_ESTATE, "%s: no index \"%s\"; run 'raft-index build --kb %s' first",
                    rk_kb_path(kb), name, rk_kb_path(kb));
    if (!s) s = rk_embedder_load(txn, &sr->emb, err);
    if (!s) s = rk_vindex_load(txn, name, &sr->ix, err);
    uint64_t gen = 0;
    if (!s) s = rk_kb_generation(txn, &gen, err);
    if (!s) {
        sr->stale = (uint64_t)json_integer_value(json_object_get(spec, "kb_generation")) != gen;
        if (rk_vindex_dim(sr->ix) != rk_embedder_dim(sr->emb))
            s = rk_fail(err, RK_EFORMAT, "%s: index \"%s\" has dimension %d but the embedder %d",
                        rk_kb_path(kb), name, rk_vindex_dim(sr->ix), rk_embedder_dim(sr->emb));
    }
    if (!s && !(sr->q = malloc((size_t)rk_embedder_dim(sr->emb) * sizeof *sr->q)))
        s = rk_fail(err, RK_ENOMEM, "out of memory");
    json_decref(spec);
    rk_kb_read_end(txn);
    if (s) {
        rk_searcher_close(sr);
        return s;
    }
    *out = sr;
    return RK_OK;
}

void rk_searcher_close(rk_searcher *sr) {
    if (!sr) return;
    rk_embedder_free(sr->emb);
    rk_vindex_free(sr->ix);
    free(sr->q);
    free(sr);
}

int rk_searcher_stale(const rk_searcher *sr) { return sr->stale; }

rk_status rk_searcher_query(rk_searcher *sr, const char *text, size_t k, rk_hit *hits, size_t *n,
                            rk_error *err) {
    *n = 0;
    if (k == 0) return RK_OK;
    float *scores = malloc(k * sizeof *scores);
    int64_t *ids = malloc(k * sizeof *ids);
    rk_status s = scores && ids ? RK_OK : rk_fail(err, RK_ENOMEM, "out of memory");
    if (!s) s = rk_embedder_embed(sr->emb, text, strlen(text), sr->q, err);
    if (!s) s = rk_vindex_search(sr->ix, 1, sr->q, k, scores, ids, err);
    /* A stale index may still hold chunks that a later ingest deleted. */
    rk_kb_txn *txn = NULL;
    if (!s && sr->stale) s = rk_kb_read_begin(sr->kb, &txn, err);
    for (size_t i = 0; !s && i < k; i++) {
        rk_chunk c;
        if (ids[i] < 0 || (txn && rk_kb_chunk_get(txn, (uint64_t)ids[i], &c, NULL) == RK_ENOTFOUND)) continue;
        hits[(*n)++] = (rk_hit){(uint64_t)ids[i], scores[i]};
    }
    rk_kb_read_end(txn);
    free(scores);
    free(ids);
    return s;
}
