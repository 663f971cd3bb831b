/* search.h — what raft-index does with a KB: build a named index over every
 * chunk (embed, store vectors, build and store the FAISS index, record its
 * spec in meta "index:NAME"), and answer queries from a stored index.
 * Not for the FAISS calls themselves (vindex.h) or embedding (embed.h). */
#ifndef RAFTKIT_SEARCH_H
#define RAFTKIT_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/kb.h"
#include "raftkit/status.h"
#include "raftkit/vindex.h"

typedef struct rk_build_opts {
    const char *name;    /* index name, e.g. "default" */
    const char *factory; /* FAISS factory string, e.g. "Flat" */
    int dim;             /* embedder dimension */
    rk_metric metric;
} rk_build_opts;

typedef struct rk_build_report {
    uint64_t chunks; /* vectors embedded and indexed */
    uint64_t bytes;  /* serialized index size */
} rk_build_report;

/* Builds index o->name in one write transaction: all of it lands or none.
 * Fails with RK_ESTATE when the KB has no chunks. */
rk_status rk_index_build(rk_kb *kb, const rk_build_opts *o, rk_build_report *rep, rk_error *err);

typedef struct rk_searcher rk_searcher;

typedef struct rk_hit {
    uint64_t chunk_id;
    float score; /* inner product (higher is better) or squared L2 (lower is better) */
} rk_hit;

/* Loads the KB's embedder and index `name`. RK_ESTATE when it was never built.
 * kb is borrowed and must outlive the searcher. */
rk_status rk_searcher_open(rk_kb *kb, const char *name, rk_searcher **out, rk_error *err);
void rk_searcher_close(rk_searcher *s); /* accepts NULL */
/* True when docs or chunks changed after the index was built. */
int rk_searcher_stale(const rk_searcher *s);
/* Writes up to k hits, best first, into hits[k] and their number to *n.
 * Chunks deleted since the index was built are left out. */
rk_status rk_searcher_query(rk_searcher *s, const char *text, size_t k, rk_hit *hits, size_t *n,
                            rk_error *err);

#endif
