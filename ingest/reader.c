/* reader.c — the parts list every reader fills. */
#include "raftkit/reader.h"

#include <stdlib.h>
#include <string.h>

rk_status rk_parts_add(rk_parts *p, const char *title, uint32_t page, const char *text, size_t len,
                       rk_error *err) {
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r'))
        i++;
    if (i == len) return RK_OK;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        rk_part *nv = realloc(p->v, cap * sizeof *nv);
        if (!nv) return rk_fail(err, RK_ENOMEM, "out of memory");
        p->v = nv;
        p->cap = cap;
    }
    rk_part *q = &p->v[p->n];
    q->title = strdup(title ? title : "");
    q->text = malloc(len + 1);
    if (!q->title || !q->text) {
        free(q->title);
        free(q->text);
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    memcpy(q->text, text, len);
    q->text[len] = '\0';
    q->len = len;
    q->page = page;
    p->n++;
    return RK_OK;
}

void rk_parts_free(rk_parts *p) {
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].title);
        free(p->v[i].text);
    }
    free(p->v);
    free(p->title);
    *p = (rk_parts){0};
}
