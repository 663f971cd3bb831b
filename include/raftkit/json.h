/* json.h — JSON through jansson: parsing with errors that name the input and
 * place, and the one-line output of --json. Everything else uses jansson's
 * own API on the json_t values these return. */
#ifndef RAFTKIT_JSON_H
#define RAFTKIT_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "raftkit/status.h"

/* Parses n bytes of JSON text. On failure the message reads
 * "WHAT: line L, column C: cause". *out is a new reference (json_decref it).
 * A document holding an integer beyond 64 bits is read with every integer as
 * a real (as Hugging Face's tokenizer_config.json needs). */
rk_status rk_json_parse(const char *text, size_t n, const char *what, json_t **out, rk_error *err);

/* JSON Lines held in memory (text[0..len), as rk_file_read gives it), read a
 * record at a time. Lines of only spaces, tabs and CR are skipped. A line
 * that is not JSON fails as rk_json_parse does, with WHAT "PATH:LINE". */
typedef struct rk_jsonl {
    const char *path;
    const char *at, *end;
    size_t line;      /* of the record last read, from 1 */
    char where[4200]; /* "PATH:LINE" of the record last read, for messages */
} rk_jsonl;

void rk_jsonl_init(rk_jsonl *r, const char *path, const char *text, size_t len);

/* The next record into *out, a new reference; *out is NULL at the end. */
rk_status rk_jsonl_next(rk_jsonl *r, json_t **out, rk_error *err);

/* Writes v compactly on one line followed by '\n' (JSON Lines); keys keep
 * their insertion order so output is stable. Returns 0 or -1 on write error. */
int rk_json_print_line(FILE *f, const json_t *v);

/* Compact text of v; the caller frees it. NULL when out of memory. */
char *rk_json_text(const json_t *v);

#endif
