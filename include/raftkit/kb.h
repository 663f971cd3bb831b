/* kb.h — the knowledge base: one LMDB environment (a directory) holding the
 * documents, chunks, vectors and serialized FAISS indexes of DESIGN.md. This
 * module is the only code that calls LMDB.
 *
 * Reads happen in read transactions; what a getter returns may point into the
 * memory map and stays valid until that transaction ends (said at each
 * declaration). Writes happen inside rk_kb_write(), which runs a callback in
 * one write transaction and commits it whole: a crash at any point leaves the
 * previous committed state. When the map is full the transaction is aborted,
 * the map doubled, and the callback run again, so a callback must do nothing
 * but KB calls (or be safe to repeat).
 *
 * Records start with a version byte; ids are u64, allocated from counters in
 * `meta`, never reused, and chunk ids are the FAISS ids. */
#ifndef RAFTKIT_KB_H
#define RAFTKIT_KB_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "raftkit/hash.h"
#include "raftkit/status.h"

/* The KB layout this raftkit writes; a KB with a larger number is refused. */
#define RK_KB_SCHEMA 3

typedef struct rk_kb rk_kb;
typedef struct rk_kb_txn rk_kb_txn;

typedef enum rk_kb_mode {
    RK_KB_READONLY = 0, /* an existing KB, read transactions only */
    RK_KB_WRITE = 1,    /* an existing KB */
    RK_KB_CREATE = 2,   /* create the directory and KB when missing */
} rk_kb_mode;

/* Opens the KB in directory path. initial_map_size is the first LMDB map size
 * in bytes (0 = 1 GiB: address space, the file grows as it fills); it only
 * matters for a new KB, which keeps the size it grows to on demand.
 * Fails with RK_ENOTFOUND (no such directory), RK_ENOTKB (a file, a directory
 * without a KB, a non-empty directory that is no KB in CREATE mode, a corrupt
 * environment), RK_EVERSION (a newer schema), RK_EDB. */
rk_status rk_kb_open(const char *path, rk_kb_mode mode, size_t initial_map_size, rk_kb **out, rk_error *err);
/* Closes the KB; no transaction may be open. Accepts NULL. */
void rk_kb_close(rk_kb *kb);
/* The directory given to rk_kb_open, borrowed for the KB's lifetime. */
const char *rk_kb_path(const rk_kb *kb);

/* ---- transactions ---- */

/* The KB directory of the transaction's KB (for messages). */
const char *rk_kb_txn_path(const rk_kb_txn *txn);

rk_status rk_kb_read_begin(rk_kb *kb, rk_kb_txn **out, rk_error *err);
/* Ends a read transaction; everything it returned becomes invalid. Accepts NULL. */
void rk_kb_read_end(rk_kb_txn *txn);

typedef rk_status (*rk_kb_write_fn)(rk_kb_txn *txn, void *ctx, rk_error *err);
/* Runs fn in one write transaction and commits when it returns RK_OK; aborts
 * and returns its status otherwise. Grows the map and reruns fn on a full map. */
rk_status rk_kb_write(rk_kb *kb, rk_kb_write_fn fn, void *ctx, rk_error *err);

/* ---- meta: string key -> JSON ---- */

/* *out is a new reference. RK_ENOTFOUND when the key is absent. */
rk_status rk_kb_meta_get(rk_kb_txn *txn, const char *key, json_t **out, rk_error *err);
rk_status rk_kb_meta_put(rk_kb_txn *txn, const char *key, const json_t *value, rk_error *err);
rk_status rk_kb_meta_delete(rk_kb_txn *txn, const char *key, rk_error *err);
/* Calls fn for every meta key starting with prefix, in key order; the key and
 * value are only valid during the call. A non-OK return from fn stops the walk
 * and is returned. */
rk_status rk_kb_meta_foreach(rk_kb_txn *txn, const char *prefix,
                             rk_status (*fn)(const char *key, json_t *value, void *ctx, rk_error *err),
                             void *ctx, rk_error *err);

/* A counter that rises with every committed change to docs or chunks: an
 * index built at an older generation is stale. */
rk_status rk_kb_generation(rk_kb_txn *txn, uint64_t *out, rk_error *err);

/* ---- documents ---- */

typedef struct rk_doc {
    uint64_t id;               /* from rk_kb_doc_new_id, or of the document replaced */
    const char *uri;           /* the source: a path as given, or a URL */
    const char *title;         /* may be "" */
    const char *etag;          /* a fetched page's ETag and Last-Modified, for conditional */
    const char *last_modified; /* requests on the next run; "" (or NULL when writing) if none */
    rk_hash128 hash;           /* of the raw content and the ingest parameters: detects changes */
    uint64_t size;             /* raw bytes */
    int64_t mtime;             /* seconds since the epoch */
    uint64_t first_chunk;      /* the document's own chunks: ids [first_chunk, first_chunk + nchunks) */
    uint32_t nchunks;
} rk_doc;

/* A document id never given before: chunks can name it before the
 * document is put. */
rk_status rk_kb_doc_new_id(rk_kb_txn *txn, uint64_t *id, rk_error *err);
/* Writes doc under doc->id, and its uri entry. */
rk_status rk_kb_doc_put(rk_kb_txn *txn, const rk_doc *doc, rk_error *err);
/* Strings in *out point into the map: valid until the transaction ends.
 * RK_ENOTFOUND when there is no such document. */
rk_status rk_kb_doc_get(rk_kb_txn *txn, uint64_t id, rk_doc *out, rk_error *err);
rk_status rk_kb_doc_find(rk_kb_txn *txn, const char *uri, uint64_t *id, rk_error *err);
/* Removes the document and its uri entry. Each chunk it owns is handed to
 * another document that holds the same text (see rk_kb_chunk_ref_add),
 * keeping its id and vector; a chunk no other document holds is removed with
 * its hash entry and vector, and its id recorded in `removed` (with the
 * generation of the removal) so that indexes can drop it. */
rk_status rk_kb_doc_delete(rk_kb_txn *txn, uint64_t id, rk_error *err);
/* The ids of the chunks document id owns: those it was created with
 * (first_chunk, nchunks), then those handed to it when their first owner was
 * deleted. */
rk_status rk_kb_doc_chunks(rk_kb_txn *txn, uint64_t id,
                           rk_status (*fn)(uint64_t chunk_id, void *ctx, rk_error *err), void *ctx,
                           rk_error *err);
/* Every document in id order; *doc is valid during the call only. */
rk_status rk_kb_doc_foreach(rk_kb_txn *txn, rk_status (*fn)(const rk_doc *doc, void *ctx, rk_error *err),
                            void *ctx, rk_error *err);

/* ---- chunks ---- */

typedef struct rk_chunk {
    uint64_t id; /* set by rk_kb_chunk_add */
    uint64_t doc_id;
    uint32_t ordinal;    /* position among the document's chunks */
    uint32_t ntokens;    /* words, as rk_text_next_word counts them */
    uint64_t start, end; /* byte span in the normalized document */
    uint32_t page;       /* 1-based page of a paged format (PDF), else 0 */
    const char *section; /* the section title path ("Guide > Install"), "" (or NULL when adding) if none */
    const char *text;    /* NUL-terminated; from a getter, valid until the transaction ends */
    size_t text_len;
} rk_chunk;

/* The 128-bit hash identifying a chunk's text for exact dedup. */
rk_hash128 rk_kb_chunk_hash(const char *text, size_t len);
/* Stores c under a new id (written to c->id) and sets *added, unless a chunk
 * with the same text is stored: then stores nothing and writes that chunk's
 * id to c->id. h is rk_kb_chunk_hash of c's text, taken as an argument so
 * that callers can work it out on other threads. */
rk_status rk_kb_chunk_add(rk_kb_txn *txn, rk_chunk *c, rk_hash128 h, int *added, rk_error *err);
rk_status rk_kb_chunk_get(rk_kb_txn *txn, uint64_t id, rk_chunk *out, rk_error *err);
/* The chunk whose text has this hash; RK_ENOTFOUND when none. Fast in a
 * write transaction; a read transaction also reads the chunks added since
 * the last fold (at most a third of them) one by one. */
rk_status rk_kb_chunk_find(rk_kb_txn *txn, rk_hash128 h, uint64_t *id, rk_error *err);
/* Records that document ref->doc_id holds the text of chunk ref->id, which
 * another document owns (an exact duplicate stored once), at ref->ordinal,
 * start, end, page and section: when the owner is deleted, the chunk is
 * handed to this document with those. */
rk_status rk_kb_chunk_ref_add(rk_kb_txn *txn, const rk_chunk *ref, rk_error *err);
rk_status rk_kb_chunk_foreach(rk_kb_txn *txn, rk_status (*fn)(const rk_chunk *c, void *ctx, rk_error *err),
                              void *ctx, rk_error *err);

/* Every chunk id removed by rk_kb_doc_delete, in id order, with the
 * generation of its removal. */
rk_status rk_kb_removed_foreach(rk_kb_txn *txn,
                                rk_status (*fn)(uint64_t id, uint64_t generation, void *ctx, rk_error *err),
                                void *ctx, rk_error *err);

/* ---- vectors: (chunk id, embedder key) -> float[dim] ----
 * One vector per chunk and embedder (embed.h: the key is the embedder id's
 * 64-bit value). Removing a chunk removes its vectors. */

rk_status rk_kb_vector_put(rk_kb_txn *txn, uint64_t embedder, uint64_t id, const float *v, size_t dim,
                           rk_error *err);
/* Copies the vector into out[dim]; RK_ENOTFOUND when there is none,
 * RK_EFORMAT when its stored size is not dim. */
rk_status rk_kb_vector_get(rk_kb_txn *txn, uint64_t embedder, uint64_t id, float *out, size_t dim,
                           rk_error *err);
/* Calls fn for every stored vector, by chunk id, then embedder key. */
rk_status rk_kb_vector_foreach(rk_kb_txn *txn,
                               rk_status (*fn)(uint64_t embedder, uint64_t id, size_t dim, void *ctx,
                                               rk_error *err),
                               void *ctx, rk_error *err);
rk_status rk_kb_vector_delete(rk_kb_txn *txn, uint64_t embedder, uint64_t id, rk_error *err);

/* ---- blobs: named byte strings stored in pieces of at most 64 MiB ---- */

typedef enum rk_kb_blobs {
    RK_BLOB_FAISS = 0,    /* serialized FAISS indexes, by index name */
    RK_BLOB_EMBEDDER = 1, /* embedder state (the hash embedder's IDF table) */
} rk_kb_blobs;

/* Replaces blob name with n bytes from data. */
rk_status rk_kb_blob_put(rk_kb_txn *txn, rk_kb_blobs db, const char *name, const void *data, size_t n,
                         rk_error *err);
/* Reads blob name into *data, *n. A blob of one piece points into the map
 * (valid until the transaction ends, *owned = NULL); one of several pieces is
 * joined into a new buffer that the caller frees (*owned = that buffer).
 * RK_ENOTFOUND when there is no such blob. */
rk_status rk_kb_blob_get(rk_kb_txn *txn, rk_kb_blobs db, const char *name, const void **data, size_t *n,
                         void **owned, rk_error *err);
/* Piece i (from 0) of blob name, in place: *data points into the map and
 * stays valid until the transaction ends. RK_ENOTFOUND when the blob has no
 * piece i (for i = 0: no such blob). Reads a blob of many pieces without
 * joining them, as rk_vindex_load streams an index into FAISS. */
rk_status rk_kb_blob_piece(rk_kb_txn *txn, rk_kb_blobs db, const char *name, uint32_t i, const void **data,
                           size_t *n, rk_error *err);
rk_status rk_kb_blob_delete(rk_kb_txn *txn, rk_kb_blobs db, const char *name, rk_error *err);

/* ---- generation cache: 128-bit request hash -> reply bytes ----
 * The replies of remote generators (gen.h), so that a re-run sends nothing
 * for work already done. */

rk_status rk_kb_cache_put(rk_kb_txn *txn, rk_hash128 key, const void *data, size_t n, rk_error *err);
/* *data points into the map: valid until the transaction ends. RK_ENOTFOUND
 * when nothing is cached under key. */
rk_status rk_kb_cache_get(rk_kb_txn *txn, rk_hash128 key, const void **data, size_t *n, rk_error *err);

/* ---- sizes ---- */

typedef struct rk_kb_stats {
    uint64_t docs, chunks, vectors;
    uint64_t removed;    /* chunk ids in `removed` */
    uint64_t file_bytes; /* data.mdb on disk */
    uint64_t map_bytes;  /* the current map size */
} rk_kb_stats;

rk_status rk_kb_stats_get(rk_kb_txn *txn, rk_kb_stats *out, rk_error *err);

/* Test hook: the largest piece rk_kb_blob_put writes (default 64 MiB), so the
 * multi-piece path can be tested with small blobs. */
void rk_kb_set_blob_piece_size(size_t bytes);
/* Test hook: the fewest new chunk hashes folded into chunk_hash at a time
 * (default 65536; 0 restores it), so folds can be tested on a few chunks. */
void rk_kb_set_fold_min(size_t entries);

#endif
