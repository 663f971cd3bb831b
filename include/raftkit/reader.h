/* reader.h — what every ingest reader (Markdown, HTML, PDF, JSON) hands to
 * ingest: a document as a list of parts, each a run of text with the section
 * title and page it belongs to. Ingest normalizes each part, joins them with
 * blank lines into the document text and chunks each part on its own, so a
 * chunk never spans two sections or pages and carries its part's title and
 * page. Not for reading files or normalizing (ingest.h, text.h). */
#ifndef RAFTKIT_READER_H
#define RAFTKIT_READER_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/status.h"

typedef struct rk_part {
    char *title;   /* the section title ("" when none), NUL-terminated */
    uint32_t page; /* 1-based page number, 0 when the format has no pages */
    char *text;    /* UTF-8, NUL-terminated, len bytes */
    size_t len;
} rk_part;

typedef struct rk_parts {
    char *title; /* the document's title, NULL when the reader found none */
    rk_part *v;
    size_t n, cap;
} rk_parts;

/* Appends a part with copies of title (NULL means "") and text[0..len).
 * Parts with no text but whitespace are dropped, so readers need not check.
 * RK_ENOMEM on failure. */
rk_status rk_parts_add(rk_parts *p, const char *title, uint32_t page, const char *text, size_t len,
                       rk_error *err);
/* Frees every part and the title, and zeroes *p. */
void rk_parts_free(rk_parts *p);

#endif
