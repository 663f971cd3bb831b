/* sources.h — expanding ingest inputs (files, folders, URLs) into the list
 * of sources to read, each with its format: the folder walk with its
 * include/exclude patterns and symlink-loop detection, the shard filter, and
 * the choice of reader by file extension or HTTP Content-Type.
 * Not for reading the sources (ingest.h). */
#ifndef RAFTKIT_SOURCES_H
#define RAFTKIT_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/ingest.h"

typedef enum rk_format {
    RK_FMT_NONE = 0, /* not a format raftkit reads */
    RK_FMT_TXT,
    RK_FMT_MD,
    RK_FMT_HTML,
    RK_FMT_JSON,
    RK_FMT_JSONL,
    RK_FMT_PDF,
} rk_format;

/* The format of a file by its extension (case-insensitive): .txt, .md and
 * .markdown, .html and .htm, .json, .jsonl and .ndjson, .pdf. */
rk_format rk_format_of_path(const char *path);
/* The format of a fetched page by its Content-Type (without parameters),
 * falling back on the URL's extension when the type is absent or generic
 * (text/plain, application/octet-stream). */
rk_format rk_format_of_type(const char *content_type, const char *url);

typedef struct rk_source {
    char *uri;        /* a path as reached from its input, or a URL */
    rk_format format; /* RK_FMT_NONE for a URL: known once fetched */
    int is_url;
    char *etag, *last_modified; /* of a URL's stored document, for a conditional GET */
} rk_source;

typedef struct rk_sources {
    rk_source *v;
    size_t n, cap;
    uint64_t failed;  /* folders that could not be read, symlink loops, broken links */
    uint64_t skipped; /* inputs of an unsupported type */
} rk_sources;

/* Expands the inputs in order; a folder's entries in name order. Hidden
 * entries are skipped; symlinks are followed, but one that leads back to a
 * folder being walked is reported as a loop and not entered. Problems are
 * reported through o->notice and counted. Only the sources of shard
 * o->shard of o->nshards are kept (by rk_source_shard). Every local input
 * must exist: RK_ENOTFOUND otherwise, before anything else. RK_ENOMEM. */
rk_status rk_sources_collect(const char *const *inputs, size_t n, const rk_ingest_opts *o, rk_sources *out,
                             rk_error *err);
void rk_sources_free(rk_sources *s);

/* The shard (0-based, of nshards) that the source named uri belongs to: a
 * hash of the uri, so shards are stable across runs and machines. */
unsigned rk_source_shard(const char *uri, unsigned nshards);

#endif
