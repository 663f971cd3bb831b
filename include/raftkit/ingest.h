/* ingest.h — turning files into KB documents and chunks: walking paths,
 * reading .txt, .md and .html files, normalizing, chunking, exact dedup, and writing
 * to the KB in batches of whole documents.
 * Not for embedding or indexing (search.h). */
#ifndef RAFTKIT_INGEST_H
#define RAFTKIT_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/chunk.h"
#include "raftkit/kb.h"
#include "raftkit/text.h"

typedef enum rk_notice_level {
    RK_NOTICE_WARN = 0, /* a file that was skipped or repaired */
    RK_NOTICE_INFO = 1, /* a file that was skipped on purpose (empty) */
} rk_notice_level;

typedef struct rk_ingest_opts {
    rk_chunk_opts chunk;
    rk_norm_form form;
    /* Called for each problem with a single file, with a message that names
     * it ("docs/a.md: invalid UTF-8 at byte 12 ..."); NULL to ignore. The
     * library never prints: main() decides where notices go. */
    void (*notice)(rk_notice_level level, const char *msg, void *ctx);
    /* Called after each batch is committed with files done so far; may be NULL. */
    void (*progress)(uint64_t done, uint64_t total, void *ctx);
    void *ctx;
} rk_ingest_opts;

typedef struct rk_ingest_report {
    uint64_t docs_new, docs_changed, docs_unchanged;
    uint64_t files_skipped; /* empty or of an unsupported type */
    uint64_t files_failed;  /* unreadable */
    uint64_t chunks_added, chunks_duplicate;
    uint64_t bytes; /* raw bytes read */
} rk_ingest_report;

/* Ingests every path (a file, or a folder walked recursively). Every path is
 * checked before anything is written: a missing one fails with RK_ENOTFOUND
 * and leaves the KB untouched. Problems with single files (unreadable, empty,
 * invalid UTF-8) are logged as warnings naming the file and counted, and the
 * other files are still ingested. A document whose content is unchanged is
 * skipped; a changed one replaces its old chunks and vectors. */
rk_status rk_ingest_paths(rk_kb *kb, const char *const *paths, size_t npaths, const rk_ingest_opts *o,
                          rk_ingest_report *rep, rk_error *err);

#endif
