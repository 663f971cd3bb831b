/* chunk.c — paragraph-packing chunker with overlap. */
#include "raftkit/chunk.h"

#include <stdlib.h>

#include "raftkit/text.h"

static int is_space(char c) { return c == ' ' || c == '\n'; }
static int is_cont(char c) { return ((unsigned char)c & 0xC0) == 0x80; }

typedef struct spans {
    rk_span *v;
    size_t n, cap;
} spans;

static int push(spans *s, size_t start, size_t end) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        rk_span *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv) return -1;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = (rk_span){start, end};
    return 0;
}

/* The byte offset after `limit` code points from `start` (or end). */
static size_t advance(const char *t, size_t start, size_t end, size_t limit) {
    size_t i = start;
    while (i < end && limit) {
        i++;
        while (i < end && is_cont(t[i]))
            i++;
        limit--;
    }
    return i;
}

/* Cuts an over-long paragraph [a, b) into pieces of at most size code points. */
static int cut_paragraph(const char *t, size_t a, size_t b, size_t size, spans *out) {
    while (a < b) {
        size_t lim = advance(t, a, b, size);
        size_t cut = lim;
        if (lim < b) {
            size_t sentence = 0, space = 0;
            for (size_t i = a + 1; i < lim; i++) {
                if (!is_space(t[i])) continue;
                if (!space || i > space) space = i;
                char p = t[i - 1];
                if (p == '.' || p == '!' || p == '?') sentence = i;
            }
            /* t[lim] being a space means the whole window ends on a word. */
            cut = is_space(t[lim]) ? lim : sentence ? sentence : space ? space : lim;
        }
        size_t e = cut;
        while (e > a && is_space(t[e - 1]))
            e--;
        if (e > a && push(out, a, e)) return -1;
        a = cut;
        while (a < b && is_space(t[a]))
            a++;
    }
    return 0;
}

/* Splits text into trimmed paragraphs (ended by a line of nothing but
 * spaces), cutting those longer than size. */
static int pieces_of(const char *t, size_t n, size_t size, spans *out) {
    size_t i = 0;
    while (i < n) {
        while (i < n && is_space(t[i]))
            i++;
        if (i >= n) break;
        size_t a = i, b = i;
        while (i < n) { /* i is at the start of a line of the paragraph */
            size_t eol = i;
            while (eol < n && t[eol] != '\n')
                eol++;
            b = eol;
            size_t j = eol + 1;
            while (j < n && t[j] == ' ')
                j++;
            if (eol >= n || j >= n || t[j] == '\n') { /* the end, or a blank line */
                i = eol >= n ? n : j;
                break;
            }
            i = eol + 1;
        }
        while (b > a && is_space(t[b - 1]))
            b--;
        if (rk_utf8_length(t + a, b - a) <= size) {
            if (push(out, a, b)) return -1;
        } else if (cut_paragraph(t, a, b, size, out)) {
            return -1;
        }
    }
    return 0;
}

/* The first sentence or line start in [from, end), or end. */
static size_t sentence_start(const char *t, size_t from, size_t end) {
    for (size_t i = from; i < end; i++) {
        if (i == 0 || is_space(t[i]) || !is_space(t[i - 1])) continue;
        size_t j = i - 1;
        while (j > 0 && t[j] == ' ')
            j--;
        if (t[j] == '\n' || t[j] == '.' || t[j] == '!' || t[j] == '?') return i;
    }
    return end;
}

/* Where the overlap after a chunk [from, end) may start: the first sentence
 * start within its last `overlap` code points, so that the overlap repeats
 * whole sentences (as LlamaIndex's SentenceSplitter does); SIZE_MAX when none. */
static size_t overlap_start(const char *t, size_t from, size_t end, size_t overlap) {
    if (!overlap) return SIZE_MAX;
    size_t len = rk_utf8_length(t + from, end - from);
    size_t w = len <= overlap ? from : advance(t, from, end, len - overlap);
    /* Never the whole chunk again: that would make it redundant. */
    size_t s = sentence_start(t, w > from ? w : from + 1, end);
    return s < end ? s : SIZE_MAX;
}

rk_status rk_chunk_text(const char *t, size_t n, const rk_chunk_opts *o, rk_span **out, size_t *count,
                        rk_error *err) {
    if (o->size == 0 || o->overlap >= o->size)
        return rk_fail(err, RK_EINVAL, "chunk overlap (%zu) must be smaller than the chunk size (%zu)",
                       o->overlap, o->size);
    spans p = {0}, c = {0};
    if (pieces_of(t, n, o->size, &p)) goto oom;
    size_t i = 0;
    size_t carry = SIZE_MAX; /* where the overlap of the next chunk may start */
    while (i < p.n) {
        size_t start = p.v[i].start;
        /* The longest overlap that still lets the next piece fit. */
        for (size_t c = carry; c < start; c = sentence_start(t, c + 1, start))
            if (rk_utf8_length(t + c, p.v[i].end - c) <= o->size) {
                start = c;
                break;
            }
        size_t j = i + 1;
        while (j < p.n && rk_utf8_length(t + start, p.v[j].end - start) <= o->size)
            j++;
        size_t end = p.v[j - 1].end;
        if (push(&c, start, end)) goto oom;
        carry = overlap_start(t, start, end, o->overlap);
        i = j;
    }
    free(p.v);
    *out = c.v;
    *count = c.n;
    return RK_OK;
oom:
    free(p.v);
    free(c.v);
    return rk_fail(err, RK_ENOMEM, "out of memory chunking %zu bytes", n);
}
