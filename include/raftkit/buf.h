/* buf.h — a growable byte string, the one the readers and the normalizer
 * build their text in. Not for binary records (kb.c writes those in place). */
#ifndef RAFTKIT_BUF_H
#define RAFTKIT_BUF_H

#include <stddef.h>

typedef struct rk_buf {
    char *p; /* NUL-terminated once anything was put; NULL before; the owner frees it */
    size_t n, cap;
    int oom; /* an append failed: later ones do nothing, and the contents are incomplete */
} rk_buf;

/* Appends s[0..n). Out of memory sets b->oom, so that a builder checks once
 * at the end instead of after every append. */
void rk_buf_put(rk_buf *b, const void *s, size_t n);

/* Makes room for n more bytes and a NUL, and returns where they go (NULL,
 * with b->oom set, when memory is out): a writer that makes its bytes one
 * at a time puts them there and then adds their count to b->n itself. */
char *rk_buf_reserve(rk_buf *b, size_t n);

#endif
