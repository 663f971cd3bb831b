/* buf.c — the growable byte string. */
#include "raftkit/buf.h"

#include <stdlib.h>
#include <string.h>

char *rk_buf_reserve(rk_buf *b, size_t n) {
    if (b->oom) return NULL;
    if (b->n + n + 1 > b->cap) {
        size_t cap = 2 * (b->n + n + 1);
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return NULL;
        }
        b->p = np;
        b->cap = cap;
    }
    return b->p + b->n;
}

void rk_buf_put(rk_buf *b, const void *s, size_t n) {
    char *w = n ? rk_buf_reserve(b, n) : NULL;
    if (!w) return;
    memcpy(w, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
