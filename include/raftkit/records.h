/* records.h — documents from a JSON or JSON Lines export: one document per
 * record. A .jsonl file holds one JSON object per line (blank lines
 * skipped); a .json file holds one object or an array of objects.
 * Fields are named by dotted paths into the record ("body.text",
 * "meta.authors.0.name": object keys, and decimal indexes into arrays). */
#ifndef RAFTKIT_RECORDS_H
#define RAFTKIT_RECORDS_H

#include <stddef.h>

#include "raftkit/reader.h"

typedef struct rk_record_fields {
    const char *text;  /* path to the document's text; NULL means "text" */
    const char *title; /* path to its title; NULL: no title */
    const char *id;    /* path to its id (a string or integer); NULL: the record's
                          1-based number in the file (blank lines of a .jsonl
                          file do not count, skipped records do) */
} rk_record_fields;

/* One record turned into a document: its id (as text) and its parts (a
 * single part holding the text field exactly as in the record; a text field
 * that is an array of strings becomes one part per element; parts have title
 * "" and page 0, and whitespace-only texts give no part, so doc->n may be 0),
 * with doc->title the title field when that is a string. Both are valid
 * during the call; the parts are freed after it. */
typedef rk_status (*rk_record_fn)(const char *id, rk_parts *doc, void *ctx, rk_error *err);

/* A record that cannot be used (not an object, no text field or one that is
 * not a string or an array of strings, an id field that is neither string nor
 * integer, a JSON syntax error on a line of a .jsonl file) is reported
 * through skip (when not NULL) with a message naming the file and line
 * ("export.jsonl: line 7: no string field 'body.text'"; in a .json file
 * "record N", its 1-based place in the array) and skipped. A .json file that
 * does not parse fails whole with RK_EFORMAT, naming line and column; so does
 * one whose top level is neither an object nor an array. jsonl says which of
 * the two formats data[0..n) is (lines end in LF or CRLF; a leading UTF-8
 * byte order mark is ignored); uri names it in messages. A non-OK status from
 * fn stops the walk and is returned. */
rk_status rk_records_read(const char *data, size_t n, int jsonl, const char *uri, const rk_record_fields *f,
                          rk_record_fn fn, void (*skip)(const char *msg, void *ctx), void *ctx,
                          rk_error *err);

#endif
