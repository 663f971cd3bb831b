/* embed.h — embedders: text -> float[dim], behind one interface.
 *
 * A KB may hold several embedders (a lexical one and a dense one, say, for
 * hybrid retrieval). Each is recorded in meta "embedder:ID" with its spec
 * (name, parameters, dimension), where ID is 16 hex digits of a hash of that
 * spec, so an embedder with other parameters is another embedder. Vectors
 * are stored per embedder (kb.h), and every index names the embedder its
 * vectors came from (search.h).
 *
 * Implementations:
 *  - `hash` (built in, the offline default): a lexical retriever. Word
 *    unigrams and bigrams (rk_text_next_word's words) are feature-hashed into
 *    dim signed buckets with BM25 weights,
 *        idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen)),
 *    idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)), document frequencies
 *    counted over 2^20 hashed terms across the KB's chunks when the embedder
 *    is created, and the vector L2-normalized; a query is weighted with its
 *    own length (queries and chunks alike). The statistics are part of the embedder: chunks added later
 *    are embedded with the same ones, and `build --rebuild` makes a new one.
 *  - `http:URL`: any OpenAI-compatible embeddings endpoint (llama.cpp server,
 *    vLLM, Ollama, OpenAI): POST {"model", "input": [...]} to URL (a base URL
 *    gets "/v1/embeddings" appended), in batches, with retries (http.h); the
 *    key comes from the environment variable named by api_key_env and is
 *    never stored. The dimension is the server's, checked on every reply.
 * A native neural encoder joins later through the same interface. */
#ifndef RAFTKIT_EMBED_H
#define RAFTKIT_EMBED_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "raftkit/kb.h"
#include "raftkit/status.h"

typedef struct rk_embedder rk_embedder;

typedef struct rk_embed_opts {
    const char *spec;        /* "hash" or "http:URL"; NULL: "hash" */
    int dim;                 /* hash: 0 means 1024; http: the expected dimension, 0 to take the server's */
    double k1, b;            /* hash: BM25 parameters; k1 <= 0 means 1.2, b < 0 means 0.75 */
    const char *model;       /* http: the "model" field; NULL: none sent */
    const char *api_key_env; /* http: variable holding the bearer key; NULL: no key */
    size_t batch;            /* http: texts per request; 0: 64 */
    int retries;             /* http: retries after the first attempt; < 0: 5 */
    long timeout_ms;         /* http: per request; 0: 60000 */
} rk_embed_opts;

/* Makes the embedder o describes, ready to embed, without recording it:
 * hash counts its statistics over the chunks txn sees; http asks the server
 * for one embedding when o->dim is 0, to learn the dimension. */
rk_status rk_embedder_new(rk_kb_txn *txn, const rk_embed_opts *o, rk_embedder **out, rk_error *err);
/* Records e in the KB: meta "embedder:ID" and its tables (write txn). */
rk_status rk_embedder_save(const rk_embedder *e, rk_kb_txn *txn, rk_error *err);
/* Loads embedder id from the KB. o (may be NULL) gives what is never stored:
 * api_key_env, batch, retries, timeout_ms. RK_ENOTFOUND when there is none. */
rk_status rk_embedder_load(rk_kb_txn *txn, const char *id, const rk_embed_opts *o, rk_embedder **out,
                           rk_error *err);
/* Removes embedder id's record and tables (not its vectors: kb.h). */
rk_status rk_embedder_delete(rk_kb_txn *txn, const char *id, rk_error *err);
void rk_embedder_free(rk_embedder *e); /* accepts NULL */

const char *rk_embedder_id(const rk_embedder *e); /* 16 hex digits */
/* The id's value: the key of the embedder's vectors (kb.h). */
uint64_t rk_embedder_key(const rk_embedder *e);
const json_t *rk_embedder_spec(const rk_embedder *e); /* {"name": "hash"|"http", ...}, borrowed */
/* The spec as a user reads it: "hash (dim 1024, k1 1.2, b 0.75)", "http URL (model M, dim D)". */
const char *rk_embedder_describe(const rk_embedder *e);
int rk_embedder_dim(const rk_embedder *e);
/* Embeds n texts into out[n][dim]. Text without words gives the zero vector
 * (hash). Fails with RK_ENET (the server, after the retries), RK_EFORMAT (a
 * reply that is not an embeddings response or has another dimension),
 * RK_ENOMEM; *failed (may be NULL) then gets the index of the first text of
 * the request that failed. */
rk_status rk_embedder_embed(rk_embedder *e, size_t n, const char *const *texts, const size_t *lens,
                            float *out, size_t *failed, rk_error *err);
#endif
