/* embed.h — the KB's embedder: text -> float[dim]. Every vector in a KB comes
 * from the one embedder recorded in its meta "embedder", and queries must be
 * embedded by the same one.
 *
 * The built-in `hash` embedder is a lexical retriever: word unigrams and
 * bigrams (rk_text_next_word's words) are feature-hashed into dim signed
 * buckets, weighted by (1 + ln tf) * idf, and L2-normalized, so inner product
 * is cosine similarity of TF-IDF vectors. Document frequencies are counted
 * over 2^20 hashed terms (independent of dim, so IDF barely suffers from
 * collisions) across the KB's chunks; idf = ln((1 + N) / (1 + df)) + 1. */
#ifndef RAFTKIT_EMBED_H
#define RAFTKIT_EMBED_H

#include <stddef.h>

#include "raftkit/kb.h"
#include "raftkit/status.h"

typedef struct rk_embedder rk_embedder;

/* Counts document frequencies over every chunk of the KB and records a hash
 * embedder of dim dimensions in it (meta "embedder", embedder blob "idf"),
 * replacing any earlier one; txn must be a write transaction. */
rk_status rk_embedder_fit_hash(rk_kb_txn *txn, int dim, rk_embedder **out, rk_error *err);
/* The embedder recorded in the KB; RK_ESTATE when none was fitted yet. */
rk_status rk_embedder_load(rk_kb_txn *txn, rk_embedder **out, rk_error *err);
void rk_embedder_free(rk_embedder *e); /* accepts NULL */

int rk_embedder_dim(const rk_embedder *e);
/* Embeds text[0..n) into out[dim]. Text without words gives the zero vector. */
rk_status rk_embedder_embed(const rk_embedder *e, const char *text, size_t n, float *out, rk_error *err);

#endif
