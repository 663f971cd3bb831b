/* ingest.h — turning sources into KB documents and chunks: walking folders,
 * fetching URLs, reading each format (.txt, .md, .html, .json/.jsonl, .pdf),
 * normalizing, chunking, dropping exact and near duplicates, and writing to
 * the KB so that it stays in step with the sources on every re-run.
 * Not for embedding or indexing (search.h). */
#ifndef RAFTKIT_INGEST_H
#define RAFTKIT_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/chunk.h"
#include "raftkit/http.h"
#include "raftkit/kb.h"
#include "raftkit/records.h"
#include "raftkit/text.h"

typedef enum rk_notice_level {
    RK_NOTICE_WARN = 0, /* a source that failed, or was repaired */
    RK_NOTICE_INFO = 1, /* a source skipped on purpose (empty, unchanged page) */
} rk_notice_level;

typedef struct rk_ingest_opts {
    rk_chunk_opts chunk;
    rk_norm_form form;
    int strict;              /* invalid UTF-8 fails the file instead of being repaired, and any
                                failed source makes the run return RK_EFORMAT once the rest is stored */
    double near_dup;         /* drop chunks this similar to a stored one (rk_neardup); 0: off */
    int prune;               /* remove documents whose source is gone (see rk_ingest) */
    unsigned shard, nshards; /* ingest only shard `shard` (0-based) of nshards; nshards <= 1: all */
    int threads;             /* sources read and chunked in parallel; <= 0: 1 */
    /* Folder walks: a file is taken when it matches an include pattern (all
     * files when there is none) and no exclude pattern; excluded folders are
     * not entered. fnmatch(3) patterns: one without '/' is matched against
     * the name, one with '/' against the path below the walked folder.
     * NULL-terminated lists; may be NULL. */
    const char *const *include;
    const char *const *exclude;
    rk_record_fields fields; /* for .json and .jsonl sources */
    rk_http_opts http;       /* for URLs: timeouts, size limit, retries */
    /* Called for each problem with a single source, with a message that names
     * it ("docs/a.md: invalid UTF-8 at byte 12 ..."); NULL to ignore. Called
     * from the calling thread, in source order. The library never prints. */
    void (*notice)(rk_notice_level level, const char *msg, void *ctx);
    /* Called after each source is stored, with sources done and in all; may be NULL. */
    void (*progress)(uint64_t done, uint64_t total, void *ctx);
    void *ctx;
} rk_ingest_opts;

typedef struct rk_ingest_report {
    uint64_t docs_new, docs_changed, docs_unchanged, docs_removed;
    uint64_t docs_failed;   /* sources or records that could not be read */
    uint64_t files_skipped; /* empty, binary or of an unsupported type */
    uint64_t chunks_added, chunks_duplicate, chunks_near_duplicate;
    uint64_t bytes; /* raw bytes read or fetched */
    double seconds; /* wall time of the run */
    /* Of seconds, the time the calling thread spent in the transactions that
     * write the documents read: what no number of threads takes off, so that
     * bytes / write_seconds is the rate more threads approach. */
    double write_seconds;
} rk_ingest_report;

/* The text of a normalized document is its parts, each normalized, joined
 * by blank lines; chunk spans index that text. */

/* Ingests every input: a file, a folder (walked recursively in name order;
 * hidden entries skipped; symlinked folders followed unless they loop), or an
 * http(s) URL. Every local path is checked before anything is written: a
 * missing one fails with RK_ENOTFOUND and leaves the KB untouched. Problems
 * with single sources (unreadable, binary, empty, invalid UTF-8, a bad JSON
 * record, an HTTP error, a symlink loop) are reported through notice and
 * counted, and the other sources are still ingested.
 *
 * A document is identified by its uri: the path as reached from the input,
 * the URL, or "PATH#ID" for a JSON record. One whose content and ingest
 * parameters are unchanged is skipped (a URL is asked with If-None-Match /
 * If-Modified-Since); a changed one replaces its old chunks and vectors,
 * whose ids are recorded as removed. With prune, documents below an input
 * folder or from an input file whose source no longer exists, records no
 * longer in their file, and URLs answering 404 or 410 are removed.
 * Documents are written in transactions of whole documents, so a run killed
 * at any moment leaves a KB that opens and a re-run completes the work;
 * several processes (shards) may ingest into one KB at once. */
rk_status rk_ingest(rk_kb *kb, const char *const *inputs, size_t ninputs, const rk_ingest_opts *o,
                    rk_ingest_report *rep, rk_error *err);

#endif
