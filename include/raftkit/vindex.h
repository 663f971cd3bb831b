/* vindex.h — a FAISS vector index keyed by chunk id, through FAISS's C API
 * only, and its (de)serialization into the KB's `faiss` blobs (written
 * through open_memstream, read back through fmemopen).
 * Not for choosing what to index or embedding: see search.h and embed.h. */
#ifndef RAFTKIT_VINDEX_H
#define RAFTKIT_VINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/kb.h"
#include "raftkit/status.h"

typedef enum rk_metric {
    RK_METRIC_IP = 0, /* inner product: higher is closer (cosine on unit vectors) */
    RK_METRIC_L2 = 1, /* squared Euclidean distance: lower is closer */
} rk_metric;

typedef struct rk_vindex rk_vindex;

/* Creates an empty index from a FAISS factory string ("Flat", "HNSW32",
 * "IVF1024,Flat", ...). Indexes that cannot take ids themselves are wrapped in
 * an IDMap. An unknown string fails with RK_EINVAL and FAISS's own message. */
rk_status rk_vindex_create(const char *factory, int dim, rk_metric metric, rk_vindex **out, rk_error *err);
void rk_vindex_free(rk_vindex *ix); /* accepts NULL */

int rk_vindex_dim(const rk_vindex *ix);
uint64_t rk_vindex_size(const rk_vindex *ix);
int rk_vindex_is_trained(const rk_vindex *ix);

rk_status rk_vindex_train(rk_vindex *ix, size_t n, const float *x, rk_error *err);
/* Adds n vectors x[n][dim] under ids[n]. */
rk_status rk_vindex_add(rk_vindex *ix, size_t n, const float *x, const uint64_t *ids, rk_error *err);
/* For each of nq queries writes k (score, id) pairs, best first, into
 * scores[nq][k] and ids[nq][k]; missing results have id -1. */
rk_status rk_vindex_search(const rk_vindex *ix, size_t nq, const float *q, size_t k, float *scores,
                           int64_t *ids, rk_error *err);

/* Serializes the index into the KB blob `name` (replacing it) in txn and
 * sets *bytes to its serialized size. */
rk_status rk_vindex_save(const rk_vindex *ix, rk_kb_txn *txn, const char *name, size_t *bytes, rk_error *err);
/* Reads the index stored as blob `name`; RK_ENOTFOUND when there is none. */
rk_status rk_vindex_load(rk_kb_txn *txn, const char *name, rk_vindex **out, rk_error *err);

#endif
