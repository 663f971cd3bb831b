/* vindex.h — a FAISS vector index keyed by chunk id, through FAISS's C API
 * only, and its (de)serialization into the KB's `faiss` blobs (written
 * through open_memstream, read back by streaming the blob's pieces from the
 * map into FAISS's reader). The blob holds FAISS's own format and nothing
 * else, so the factory string lives beside it (the index spec in `meta`).
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
 * "IVF1024,Flat", "PCA64,IVF1024,Flat,RFlat", ...). Indexes that cannot take
 * ids themselves (Flat, HNSW, any with a refining ",RFlat") are wrapped in
 * an IDMap. An unknown string fails with RK_EINVAL and FAISS's own message. */
rk_status rk_vindex_create(const char *factory, int dim, rk_metric metric, rk_vindex **out, rk_error *err);
void rk_vindex_free(rk_vindex *ix); /* accepts NULL */

int rk_vindex_dim(const rk_vindex *ix);
uint64_t rk_vindex_size(const rk_vindex *ix);
int rk_vindex_is_trained(const rk_vindex *ix);
/* The factory string the index was created (or loaded) with, as the caller
 * gave it (without the IDMap that rk_vindex_create may add); borrowed for the
 * index's lifetime. */
const char *rk_vindex_factory(const rk_vindex *ix);

/* The fewest training vectors this index accepts; 0 when it needs no
 * training (Flat, HNSW). FAISS's own limits: k-means refuses fewer vectors
 * than centroids, so IVF<n> needs n, a product quantizer (PQ<M>x<b>, OPQ,
 * IMI2x<b>) 2^b (b = 8 unless given), and PCA<d> needs d. Any other index
 * that trains (SQ8) needs 1: FAISS would accept none and learn nothing. */
size_t rk_vindex_min_train(const rk_vindex *ix);
/* Trains on x[n][dim]. Fewer than rk_vindex_min_train vectors fail with
 * RK_EINVAL before FAISS is called; a FAISS failure is RK_EFAISS. */
rk_status rk_vindex_train(rk_vindex *ix, size_t n, const float *x, rk_error *err);
/* Adds n vectors x[n][dim] under ids[n]. */
rk_status rk_vindex_add(rk_vindex *ix, size_t n, const float *x, const uint64_t *ids, rk_error *err);
/* For each of nq queries writes k (score, id) pairs, best first, into
 * scores[nq][k] and ids[nq][k]; missing results have id -1. */
rk_status rk_vindex_search(const rk_vindex *ix, size_t nq, const float *q, size_t k, float *scores,
                           int64_t *ids, rk_error *err);

/* Sets search-time parameters from a list of name=number separated by
 * commas, "nprobe=32,efSearch=128", through FAISS's ParameterSpace. A
 * malformed list (an item without '=', an empty name, a value that is not a
 * number) fails with RK_EINVAL and sets nothing; a parameter the index does
 * not have fails with RK_EINVAL naming it and FAISS's message ("efSearch: not
 * a parameter of this index (IVF64,Flat): ..."), the ones before it being
 * set. */
rk_status rk_vindex_set_params(rk_vindex *ix, const char *params, rk_error *err);

/* Removes the vectors with ids[0..n); *removed (may be NULL) gets how many
 * the index held. Indexes that FAISS cannot remove from (HNSW, refining) fail with
 * RK_EINVAL, unchanged: "HNSW32 indexes cannot remove vectors; rebuild ...". */
rk_status rk_vindex_remove(rk_vindex *ix, size_t n, const uint64_t *ids, size_t *removed, rk_error *err);
/* Every id the index holds, sorted ascending, into a new array ids[n] that
 * the caller frees (NULL when n = 0). */
rk_status rk_vindex_ids(const rk_vindex *ix, uint64_t **ids, size_t *n, rk_error *err);

/* Creates an empty index with the same structure, training and search
 * parameters as ix: a serialized copy with the vectors cleared, so it costs
 * one serialization of ix (make shards from the trained index before adding
 * to it). Shards made this way can be merged by rk_vindex_merge. */
rk_status rk_vindex_clone_empty(const rk_vindex *ix, rk_vindex **out, rk_error *err);
/* Moves every vector of `from` into ix, leaving from empty, as FAISS's
 * IndexIVF::merge_from: both must be IVF indexes (OPQ/PCA in front
 * allowed) of the same kind, metric and trained alike (the same coarse
 * quantizer: shards from rk_vindex_clone_empty of one trained index). Anything
 * else fails with RK_EINVAL, both unchanged. Ids are kept as they are: ids
 * held by both end up twice. */
rk_status rk_vindex_merge(rk_vindex *ix, rk_vindex *from, rk_error *err);

/* Serializes the index into the KB blob `name` (replacing it) in txn and
 * sets *bytes to its serialized size. */
rk_status rk_vindex_save(const rk_vindex *ix, rk_kb_txn *txn, const char *name, size_t *bytes, rk_error *err);
/* Reads the index stored as blob `name`, created from `factory`, which the
 * blob does not hold: pass the string rk_vindex_factory gave when it was
 * saved (it is kept for messages and rk_vindex_min_train, not checked).
 * RK_ENOTFOUND when there is no such blob; RK_EINVAL when factory is NULL;
 * RK_EFORMAT when FAISS cannot read the blob. */
rk_status rk_vindex_load(rk_kb_txn *txn, const char *name, const char *factory, rk_vindex **out,
                         rk_error *err);

#endif
