/* search.h — what raft-index does with a KB: build named indexes over the
 * chunks (embed what has no vector yet, train, add, store the FAISS index and
 * its spec in meta "index:NAME"), keep them in step with ingest, check them,
 * and answer queries from them, alone or fused.
 * Not for the FAISS calls themselves (vindex.h) or embedding (embed.h). */
#ifndef RAFTKIT_SEARCH_H
#define RAFTKIT_SEARCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "raftkit/embed.h"
#include "raftkit/kb.h"
#include "raftkit/status.h"
#include "raftkit/vindex.h"

typedef struct rk_build_opts {
    const char *name;    /* index name; NULL: "default" */
    const char *factory; /* FAISS factory string; NULL: "Flat" */
    rk_metric metric;
    rk_embed_opts embed;
    size_t train_sample; /* vectors an index that needs training is trained on; 0: all, up to 100000 */
    uint64_t seed;       /* picks the training sample */
    int rebuild;         /* replace an index of another factory or embedder; make a new hash embedder */
    int shard, nshards;  /* build index NAME.shard over the chunk ids with id % nshards == shard - 1;
                            0: all, as NAME */
} rk_build_opts;

typedef struct rk_build_report {
    uint64_t embedded;   /* vectors computed in this run */
    uint64_t reused;     /* vectors already stored */
    uint64_t added;      /* vectors added to the index */
    uint64_t removed;    /* update: ids of deleted chunks taken out */
    uint64_t vectors;    /* in the index after the run */
    uint64_t trained_on; /* training vectors, 0 when the index needs none */
    uint64_t bytes;      /* serialized index */
    char embedder[64];   /* rk_embedder_describe */
} rk_build_report;

/* Builds index o->name: the embedding runs in transactions of a batch each,
 * so a run that fails keeps what it embedded and the next one embeds only
 * what is missing; the index lands in one transaction, whole or not at all.
 * An existing index of another factory, metric or embedder is replaced only
 * with o->rebuild (RK_ESTATE otherwise, saying what differs). RK_ESTATE when
 * the KB has no chunks (in the shard); RK_EINVAL when the index needs more
 * training vectors than there are, with both numbers. */
rk_status rk_index_build(rk_kb *kb, const rk_build_opts *o, rk_build_report *rep, rk_error *err);

/* Brings index name up to date with the chunks: embeds and adds those
 * ingested since it was built, takes out the ids of those removed since, and
 * leaves the rest untouched. o gives what the embedder needs at run time
 * (api_key_env, batch, retries, timeout); a spec in o that names another
 * embedder than the index's is refused (RK_ESTATE). */
rk_status rk_index_update(rk_kb *kb, const char *name, const rk_embed_opts *o, rk_build_report *rep,
                          rk_error *err);

/* Joins the shard indexes NAME.1 .. NAME.nshards (rk_build_opts.shard) into
 * index name, in one transaction, and removes the shards. They must be of
 * the IVF family and built alike: the same factory, embedder, seed, training
 * sample and KB state (RK_ESTATE naming what differs otherwise), so that
 * they trained to the same coarse quantizer. */
rk_status rk_index_merge(rk_kb *kb, const char *name, int nshards, rk_build_report *rep, rk_error *err);

/* Checks the KB's vectors and indexes: every chunk has a vector of each
 * embedder an index uses, every vector belongs to a chunk and a recorded
 * embedder, and every index holds exactly the ids of its embedder's vectors
 * (in its shard). *report gets {"indexes": N, "vectors": N, "problems":
 * ["...", ...]}, each problem in words with counts and example ids. */
rk_status rk_index_verify(rk_kb *kb, json_t **report, rk_error *err);

typedef struct rk_searcher rk_searcher;

typedef struct rk_hit {
    uint64_t chunk_id;
    float score; /* inner product (higher is better), squared L2 (lower), or fused RRF (higher) */
} rk_hit;

/* Loads index name and its embedder. o as for rk_index_update. RK_ESTATE
 * when there is no such index. kb is borrowed and must outlive the searcher. */
rk_status rk_searcher_open(rk_kb *kb, const char *name, const rk_embed_opts *o, rk_searcher **out,
                           rk_error *err);
void rk_searcher_close(rk_searcher *s); /* accepts NULL */
/* Search-time parameters, "nprobe=32,efSearch=128" (vindex.h). */
rk_status rk_searcher_set_params(rk_searcher *s, const char *params, rk_error *err);
/* True when chunks were added or removed after the index was last built or updated. */
int rk_searcher_stale(const rk_searcher *s);
/* Answers nq queries in one FAISS search: query i gets counts[i] <= k hits,
 * best first, in hits[i * k ...]. Chunks deleted since the index was built
 * are left out. */
rk_status rk_searcher_query(rk_searcher *s, size_t nq, const char *const *texts, size_t k, rk_hit *hits,
                            size_t *counts, rk_error *err);

/* Reciprocal-rank fusion of nlists ranked lists (Cormack et al. 2009): each
 * chunk scores the sum of 1 / (60 + rank) over the lists holding it (rank
 * from 1); the k best go to out, ties by chunk id. */
rk_status rk_fuse_rrf(size_t nlists, const rk_hit *const *lists, const size_t *counts, size_t k, rk_hit *out,
                      size_t *n, rk_error *err);

/* The cut-offs of rk_rank_score's recall, and of its reciprocal rank. */
enum { RK_RECALL_AT = 4, RK_MRR_AT = 10 };
extern const size_t rk_recall_cutoffs[RK_RECALL_AT]; /* 1, 5, 10, 100 */

/* Scores one ranking (ids best first, distinct) against the relevant ids:
 * recall[i] = |relevant in the first rk_recall_cutoffs[i]| / nrel, and *rr
 * = 1 / the rank of the first relevant id within RK_MRR_AT (0 when none). */
void rk_rank_score(const uint64_t *ranked, size_t n, const uint64_t *relevant, size_t nrel,
                   double recall[RK_RECALL_AT], double *rr);

#endif
