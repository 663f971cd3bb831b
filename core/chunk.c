/* chunk.c — the recursive, sentence and fixed-window chunkers of chunk.h,
 * and its sentence splitter.
 *
 * One pass per kind of boundary marks the byte offsets of the text (grapheme
 * cluster boundaries, words, sentence ends and starts) in an array of flags;
 * everything after reads the flags and only moves forward (or back over at
 * most one chunk), which keeps chunking linear in the text length. */
#include "raftkit/chunk.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#include "raftkit/text.h"

enum {
    F_GB = 1,     /* a grapheme cluster boundary: the only places a cut is made */
    F_WORD = 2,   /* a word starts here */
    F_MID = 4,    /* strictly inside a word: a span starting here begins with part of one */
    F_SEND = 8,   /* a sentence or a paragraph ends here */
    F_SSTART = 16 /* a sentence or a paragraph starts here */
};

/* The levels of the recursive chunker, coarsest first; each splits the pieces
 * of the previous one that are too big. The sentence chunker starts at SENTENCE. */
enum { PARAGRAPH, LINE, SENTENCE, WORD, GRAPHEME };

typedef struct spans {
    rk_span *v;
    size_t n, cap;
} spans;

typedef struct ctx {
    const char *t;
    size_t n;
    const rk_chunk_opts *o;
    uint8_t *f; /* n + 1 flags, one per byte offset */
    spans out;
    /* The chunk being packed: [start, end) of `units` units. */
    int open;
    size_t start, end, units;
} ctx;

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

static int is_cont(char c) { return ((unsigned char)c & 0xC0) == 0x80; }

/* The code point at t[i], its length in *len. */
static int32_t cp_at(const char *t, size_t n, size_t i, size_t *len) {
    const uint8_t *p = (const uint8_t *)t + i;
    if (*p < 0x80) {
        *len = 1;
        return *p;
    }
    int32_t c;
    utf8proc_ssize_t l = utf8proc_iterate(p, (utf8proc_ssize_t)(n - i), &c);
    *len = l > 0 ? (size_t)l : 1;
    return l > 0 ? c : 0xFFFD;
}

/* The code point that ends at t[i] (i > 0), its start in *at. */
static int32_t cp_before(const char *t, size_t n, size_t i, size_t *at) {
    size_t j = i - 1, len;
    while (j > 0 && is_cont(t[j]))
        j--;
    *at = j;
    return cp_at(t, n, j, &len);
}

/* A space or newline that is a cluster of its own: one carrying a combining
 * mark is text, and trimming it would cut the cluster. */
static int is_ws(const ctx *c, size_t i) {
    return (c->t[i] == ' ' || c->t[i] == '\n') && (c->f[i] & F_GB) && (c->f[i + 1] & F_GB);
}

static size_t skip_ws(const ctx *c, size_t i, size_t end) {
    while (i < end && is_ws(c, i))
        i++;
    return i;
}

static size_t trim_back(const ctx *c, size_t start, size_t end) {
    while (end > start && is_ws(c, end - 1))
        end--;
    return end;
}

/* Whether a grapheme cluster boundary comes before cp, after prev (-1 at
 * the start). Between two ASCII characters there always is one but in CR LF,
 * and utf8proc's state after an ASCII character is its fresh state. */
static int grapheme_break(int32_t prev, int32_t cp, int32_t *state) {
    if (prev < 0 || (prev < 0x80 && cp < 0x80)) {
        *state = 0;
        return prev != '\r' || cp != '\n';
    }
    return utf8proc_grapheme_break_stateful(prev, cp, state);
}

/* The first pass, so it may set flags with = (they are all clear). */
static void mark_graphemes(ctx *c) {
    const uint8_t *t = (const uint8_t *)c->t;
    int32_t prev = -1, state = 0;
    for (size_t i = 0, len; i < c->n; i += len) {
        /* Runs of ASCII after ASCII (most text) without a call: a boundary
         * before each byte but an LF after a CR. */
        if (prev >= 0 && prev < 0x80) {
            size_t run = rk_ascii_prefix(c->t + i, c->n - i), end = i + run;
            memset(c->f + i, F_GB, run);
            for (const uint8_t *cr = memchr(t + i - 1, '\r', end - i + 1); cr && (size_t)(cr - t) + 1 < end;
                 cr = memchr(cr + 1, '\r', end - (size_t)(cr - t) - 1))
                if (cr[1] == '\n') c->f[cr - t + 1] = 0;
            if (run) prev = t[end - 1];
            state = 0;
            if ((i = end) >= c->n) break;
        }
        int32_t cp = cp_at(c->t, c->n, i, &len);
        if (grapheme_break(prev, cp, &state)) c->f[i] |= F_GB;
        prev = cp;
    }
    c->f[c->n] |= F_GB;
}

static int is_ascii_alnum(uint8_t b) {
    return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
}

/* Whether the code point t[i, i + len) is a word character, as
 * rk_text_next_word decides (a word of its own when alone); ASCII is
 * classified here, as text.c does, for speed. */
static int is_word_cp(const char *t, size_t i, size_t len) {
    if (len == 1) return is_ascii_alnum((uint8_t)t[i]);
    char buf[8];
    size_t pos = i, start;
    return rk_text_next_word(t, i + len, &pos, &start, buf, sizeof buf) > 0;
}

/* Words as rk_text_next_word finds them, but for one that starts inside the
 * grapheme cluster where the word before ends (a mark after a zero-width
 * joiner): no cut can part them, so it continues that word. */
typedef struct word_state {
    int in_word, any; /* in a word; past one */
    int apart;        /* a cluster boundary since the last word ended */
} word_state;

/* F_WORD when a word starts at the next code point, F_MID when it goes on
 * in one, 0 outside; gb: a cluster boundary comes before it. */
static int word_step(word_state *w, int word_cp, int gb) {
    if (!word_cp) {
        w->apart = (w->in_word ? 0 : w->apart) | gb;
        w->in_word = 0;
        return 0;
    }
    int starts = !w->in_word && (!w->any || w->apart || gb);
    int flag = w->in_word || !starts ? F_MID : F_WORD;
    w->in_word = w->any = 1;
    return flag;
}

static void mark_words(ctx *c) {
    word_state w = {0, 0, 0};
    for (size_t i = 0, len; i < c->n; i += len) {
        cp_at(c->t, c->n, i, &len);
        int flag = word_step(&w, is_word_cp(c->t, i, len), c->f[i] & F_GB);
        for (size_t j = i; flag && j < i + len; j++)
            c->f[j] |= j == i ? flag : F_MID;
    }
}

static int is_letter(int32_t cp) {
    utf8proc_category_t k = utf8proc_category(cp);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

static int is_alnum_or_mark(int32_t cp) {
    utf8proc_category_t k = utf8proc_category(cp);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_NO;
}

/* Terminators that end a sentence whatever follows: CJK and other scripts
 * write the next sentence without a space. */
static int is_unicode_terminator(int32_t cp) {
    return cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F || cp == 0xFF0E || cp == 0x0964 || cp == 0x061F ||
           cp == 0x203C || (cp >= 0x2047 && cp <= 0x2049);
}

static int is_closer(int32_t cp) {
    if (cp == '\'' || cp == '"') return 1;
    utf8proc_category_t k = utf8proc_category(cp);
    return k == UTF8PROC_CATEGORY_PE || k == UTF8PROC_CATEGORY_PF;
}

/* Lower-case, without their final dot, with their lengths. */
#define ABBR(s)                                                                                              \
    { s, sizeof s - 1 }
static const struct {
    const char *s;
    size_t n;
} ABBREVIATIONS[] = {ABBR("e.g"), ABBR("i.e"), ABBR("etc"),    ABBR("vs"),  ABBR("mr"),  ABBR("mrs"),
                     ABBR("ms"),  ABBR("dr"),  ABBR("prof"),   ABBR("st"),  ABBR("jr"),  ABBR("sr"),
                     ABBR("no"),  ABBR("fig"), ABBR("approx"), ABBR("inc"), ABBR("ltd"), ABBR("co"),
                     ABBR("cf"),  ABBR("al"),  ABBR("ca")};
#undef ABBR

/* Whether the '.' at t[i] (i > 0) closes an abbreviation or an initial
 * ("J.", the "S." of "U.S.") rather than a sentence. */
static int closes_abbreviation(const char *t, size_t n, size_t i) {
    size_t at;
    int32_t last = cp_before(t, n, i, &at);
    if (is_letter(last)) {
        size_t before;
        if (at == 0 || !is_alnum_or_mark(cp_before(t, n, at, &before))) return 1;
    }
    /* The token before the dot, without the opening punctuation in front of
     * it; the longest abbreviation is 6 letters, so looking 8 bytes back is enough. */
    size_t s = i;
    while (s > 0 && i - s < 8 && t[s - 1] != ' ' && t[s - 1] != '\n')
        s--;
    if (s > 0 && t[s - 1] != ' ' && t[s - 1] != '\n') return 0;
    while (s < i && !((t[s] >= 'a' && t[s] <= 'z') || (t[s] >= 'A' && t[s] <= 'Z')))
        s++;
    for (size_t k = 0; k < sizeof ABBREVIATIONS / sizeof *ABBREVIATIONS; k++)
        if (ABBREVIATIONS[k].n == i - s && !strncasecmp(ABBREVIATIONS[k].s, t + s, i - s)) return 1;
    return 0;
}

static void mark_sentence_end(ctx *c, size_t q) {
    size_t r = skip_ws(c, q, c->n);
    if (r >= c->n || !(c->f[q] & F_GB)) return;
    c->f[q] |= F_SEND;
    c->f[r] |= F_SSTART;
}

/* Handles the run of terminators starting at t[i]; returns where it ends. */
static size_t sentence_end(ctx *c, size_t i) {
    size_t q = i, len, terminators = 0;
    int unicode = 0;
    for (int32_t cp; q < c->n; q += len, terminators++) {
        cp = cp_at(c->t, c->n, q, &len);
        if (cp != '.' && cp != '!' && cp != '?' && !is_unicode_terminator(cp)) break;
        unicode |= cp >= 0x80;
    }
    while (q < c->n && is_closer(cp_at(c->t, c->n, q, &len)))
        q += len;
    if (unicode) {
        mark_sentence_end(c, q);
        return q;
    }
    /* An ASCII terminator needs whitespace, then something other than a
     * lower-case letter ("e.g. the" goes on), and not to close an abbreviation. */
    if (q >= c->n || !is_ws(c, q)) return q;
    size_t r = skip_ws(c, q, c->n);
    if (r >= c->n || utf8proc_category(cp_at(c->t, c->n, r, &len)) == UTF8PROC_CATEGORY_LL) return q;
    if (terminators == 1 && c->t[i] == '.' && i > 0 && closes_abbreviation(c->t, c->n, i)) return q;
    mark_sentence_end(c, q);
    return q;
}

/* The bytes that may end a sentence or a paragraph: the ASCII terminators,
 * the newline (a space alone cannot, and a run of whitespace is looked at
 * from its first newline) and the lead bytes of is_unicode_terminator's
 * code points; other bytes, continuation bytes among them, are text. */
static const uint8_t SENTENCE_BYTE[256] = {
    ['\n'] = 1, ['.'] = 1, ['!'] = 1, ['?'] = 1, [0xD8] = 1, [0xE0] = 1, [0xE2] = 1, [0xE3] = 1, [0xEF] = 1};

/* Sentence ends, and paragraph ends (blank lines) as sentence ends too. */
static void mark_sentences(ctx *c) {
    const uint8_t *t = (const uint8_t *)c->t;
    size_t i = 0, n = c->n;
    while (i < n) {
        unsigned char b = t[i];
        if (is_ws(c, i)) {
            size_t r = i, newlines = 0;
            while (r < n && is_ws(c, r))
                newlines += t[r++] == '\n';
            if (newlines >= 2 && i > 0) mark_sentence_end(c, i);
            i = r;
        } else if (b == '.' || b == '!' || b == '?') {
            i = sentence_end(c, i);
        } else if (!SENTENCE_BYTE[b]) { /* on to the next byte that may end something */
            for (i++; i + 4 <= n; i += 4)
                if (SENTENCE_BYTE[t[i]] | SENTENCE_BYTE[t[i + 1]] | SENTENCE_BYTE[t[i + 2]] |
                    SENTENCE_BYTE[t[i + 3]])
                    break;
            while (i < n && !SENTENCE_BYTE[t[i]])
                i++;
        } else {
            size_t len;
            i = is_unicode_terminator(cp_at(c->t, n, i, &len)) ? sentence_end(c, i) : i + len;
        }
    }
}

/* The units of t[a, b) that are not a word continuing from before a. */
static size_t raw_units(const ctx *c, size_t a, size_t b, size_t limit) {
    size_t u = 0;
    if (c->o->unit == RK_UNIT_WORDS) {
        for (size_t i = a; i < b && u <= limit; i++)
            u += (c->f[i] & F_WORD) != 0;
    } else { /* in blocks, which may count a block past limit */
        for (size_t i = a; i < b && u <= limit; i += 256)
            u += rk_utf8_length(c->t + i, b - i < 256 ? b - i : 256);
    }
    return u;
}

/* The size of t[a, b) (a < b), counted only up to a little past limit. */
static size_t units(const ctx *c, size_t a, size_t b, size_t limit) {
    return raw_units(c, a, b, limit) + (c->o->unit == RK_UNIT_WORDS && (c->f[a] & F_MID));
}

/* Overlaps are whole sentences: an overlap of whole words that starts
 * mid-sentence makes a chunk that opens with most of a sentence, which a
 * lexical retriever then ranks above the chunk holding all of it. */
static int overlap_may_start(const ctx *c, size_t p) {
    return (c->f[p] & F_GB) && !is_ws(c, p) && (c->f[p] & F_SSTART);
}

/* The start of the longest overlap of at most limit units that ends the chunk
 * [s, e) and starts after s; e when there is none. Its size goes to *size. */
static size_t overlap_start(const ctx *c, size_t s, size_t e, size_t limit, size_t *size) {
    size_t best = e, u = 0;
    for (size_t p = e; p-- > s + 1;) {
        u += c->o->unit == RK_UNIT_WORDS ? (c->f[p] & F_WORD) != 0 : !is_cont(c->t[p]);
        if (u > limit) break;
        if (overlap_may_start(c, p)) {
            best = p;
            *size = u;
        }
    }
    return best;
}

/* Packs the piece [x, y) into the open chunk, or closes that and opens the
 * next with an overlap that leaves room for the piece. */
static int merge(ctx *c, size_t x, size_t y) {
    const rk_chunk_opts *o = c->o;
    if (c->open) {
        size_t add = raw_units(c, c->end, y, SIZE_MAX);
        if (c->units + add <= o->size) {
            c->end = y;
            c->units += add;
            return 0;
        }
        if (push(&c->out, c->start, c->end)) return -1;
        /* Without a unit to spare no overlap is tried: in words, whitespace and
         * punctuation would otherwise make one of 0 units. */
        size_t room = add < o->size ? o->size - add : 0, limit = o->overlap < room ? o->overlap : room,
               size = 0;
        size_t w = limit ? overlap_start(c, c->start, c->end, limit, &size) : c->end;
        if (w < c->end) {
            c->start = w;
            c->end = y;
            c->units = size + add;
            return 0;
        }
    }
    c->open = 1;
    c->start = x;
    c->end = y;
    c->units = units(c, x, y, SIZE_MAX);
    return 0;
}

/* Where the piece starting at x in [x, b) ends at `level`; the separator
 * after it ends at *next. Not for the grapheme level. */
static size_t piece_end(const ctx *c, int level, size_t x, size_t b, size_t *next) {
    size_t p = x + 1;
    if (level == SENTENCE) {
        while (p < b && !(c->f[p] & F_SEND))
            p++;
        *next = p;
        return p;
    }
    /* A run of whitespace with enough newlines: 2 for a blank line. */
    size_t need = level == PARAGRAPH ? 2 : level == LINE ? 1 : 0;
    while (p < b) {
        if (need) {
            const char *nl = memchr(c->t + p, '\n', b - p);
            if (!nl) break;
            p = (size_t)(nl - c->t);
            while (p > x + 1 && is_ws(c, p - 1))
                p--;
        } else {
            while (p < b && c->t[p] != ' ' && c->t[p] != '\n')
                p++;
        }
        if (p >= b || !is_ws(c, p)) {
            p++;
            continue;
        }
        size_t r = p, newlines = 0;
        while (r < b && is_ws(c, r))
            newlines += c->t[r++] == '\n';
        if (newlines >= need) {
            *next = r;
            return p;
        }
        p = r;
    }
    *next = b;
    return b;
}

static size_t next_cluster(const ctx *c, size_t p) {
    do
        p++;
    while (!(c->f[p] & F_GB));
    return p;
}

/* The grapheme level: [x, y) has no whitespace and may be cut between any two
 * clusters; as many clusters go at once as the open chunk has room for. */
static int merge_clusters(ctx *c, size_t x, size_t y) {
    int words = c->o->unit == RK_UNIT_WORDS;
    if (merge(c, x, next_cluster(c, x))) return -1;
    while (c->end < y) {
        size_t fit = c->end, fit_units = 0;
        for (size_t q = c->end, u = 0; q < y;) {
            u += words ? (c->f[q] & F_WORD) != 0 : !is_cont(c->t[q]);
            if (c->units + u > c->o->size) break; /* so nothing joins a cluster above the size */
            if (c->f[++q] & F_GB) {
                fit = q;
                fit_units = u;
            }
        }
        if (fit > c->end) {
            c->end = fit;
            c->units += fit_units;
        } else if (merge(c, c->end, next_cluster(c, c->end))) {
            return -1;
        }
    }
    return 0;
}

/* Splits the trimmed span [a, b) at `level`, the pieces too big at the next. */
static int split(ctx *c, size_t a, size_t b, int level) {
    if (level == GRAPHEME) return merge_clusters(c, a, b);
    for (size_t x = a, next; x < b; x = skip_ws(c, next, b)) {
        size_t y = trim_back(c, x, piece_end(c, level, x, b, &next));
        if (y <= x) continue;
        if (units(c, x, y, c->o->size) <= c->o->size ? merge(c, x, y) : split(c, x, y, level + 1)) return -1;
    }
    return 0;
}

/* Adds the window [x, y) trimmed. Trimming can leave a window that adds
 * nothing to the one before (dropped) or that starts where it does (which
 * then is a prefix of this one, and replaced). */
static int add_window(ctx *c, size_t x, size_t y) {
    x = skip_ws(c, x, y);
    y = trim_back(c, x, y);
    if (x >= y) return 0;
    if (c->out.n) {
        rk_span *last = &c->out.v[c->out.n - 1];
        if (y <= last->end) return 0;
        if (x <= last->start) {
            last->end = y;
            return 0;
        }
    }
    return push(&c->out, x, y);
}

/* A position counted in code points from the start of the text, and the
 * last grapheme boundary at or before it. */
typedef struct cp_cursor {
    size_t pos, units;
    size_t cluster, cluster_units;
} cp_cursor;

static void cp_advance(const ctx *c, cp_cursor *k, size_t target, size_t b) {
    while (k->units < target && k->pos < b) {
        do
            k->pos++;
        while (k->pos < b && is_cont(c->t[k->pos]));
        k->units++;
        if (c->f[k->pos] & F_GB) {
            k->cluster = k->pos;
            k->cluster_units = k->units;
        }
    }
}

/* Both ends of a window move back to a grapheme boundary when they fall
 * inside a cluster, so a window never exceeds the size and the next one
 * never starts after it ends; a cluster longer than the window is whole. */
static int fixed_chars(ctx *c, size_t a, size_t b) {
    size_t size = c->o->size, step = size - c->o->overlap;
    cp_cursor s = {a, 0, a, 0}, e = s;
    for (;;) {
        cp_advance(c, &e, s.units + size, b);
        size_t y = e.pos == b ? b : e.cluster;
        if (y <= s.pos) y = next_cluster(c, s.pos);
        if (add_window(c, s.pos, y)) return -1;
        if (y >= b) return 0;
        cp_cursor next = s;
        cp_advance(c, &next, s.units + step, b);
        if (next.cluster > s.pos) {
            s = (cp_cursor){next.cluster, next.cluster_units, next.cluster, next.cluster_units};
        } else { /* the cluster at the start is longer than the step */
            do
                cp_advance(c, &s, s.units + 1, b);
            while (!(c->f[s.pos] & F_GB));
        }
    }
}

/* Word `index` of the text, and where a window starting with it starts. */
typedef struct word_cursor {
    size_t index, start, end;
    size_t cut; /* after the whitespace before the word, so punctuation in front goes with it */
    int past;   /* past the last word */
} word_cursor;

static void word_next(const ctx *c, word_cursor *w, size_t b) {
    size_t s = w->end;
    while (s < b && !(c->f[s] & F_WORD))
        s++;
    w->index++;
    if (s >= b) {
        w->past = 1;
        return;
    }
    size_t cut = s;
    while (cut > w->end && !is_ws(c, cut - 1))
        cut--;
    if (cut == w->end) /* no whitespace between the words */
        for (cut = s; !(c->f[cut] & F_GB);)
            cut--;
    w->start = s;
    w->cut = cut;
    for (w->end = s + 1; w->end < b && (c->f[w->end] & F_MID);)
        w->end++;
}

static void word_advance(const ctx *c, word_cursor *w, size_t by, size_t b) {
    for (size_t target = w->index + by; !w->past && w->index < target;)
        word_next(c, w, b);
}

static int fixed_words(ctx *c, size_t a, size_t b) {
    word_cursor s = {.end = a, .index = (size_t)-1};
    word_next(c, &s, b);
    if (s.past) return add_window(c, a, b); /* no word at all: one window of 0 words */
    s.cut = a;
    word_cursor e = s;
    word_advance(c, &e, c->o->size, b);
    for (size_t step = c->o->size - c->o->overlap;;
         word_advance(c, &s, step, b), word_advance(c, &e, step, b)) {
        if (add_window(c, s.cut, e.past ? b : e.cut)) return -1;
        if (e.past) return 0;
    }
}

static int chunk(ctx *c) {
    size_t a = skip_ws(c, 0, c->n), b = trim_back(c, a, c->n);
    if (a >= b) return 0;
    switch (c->o->kind) {
    case RK_CHUNKER_FIXED: return c->o->unit == RK_UNIT_WORDS ? fixed_words(c, a, b) : fixed_chars(c, a, b);
    case RK_CHUNKER_SENTENCE:
        if (split(c, a, b, SENTENCE)) return -1;
        break;
    default:
        if (split(c, a, b, PARAGRAPH)) return -1;
    }
    return c->open ? push(&c->out, c->start, c->end) : 0;
}

rk_status rk_chunk_text(const char *t, size_t n, const rk_chunk_opts *o, rk_span **out, size_t *count,
                        rk_error *err) {
    if (o->size == 0) return rk_fail(err, RK_EINVAL, "chunk size must be at least 1");
    if (o->overlap >= o->size)
        return rk_fail(err, RK_EINVAL, "chunk overlap (%zu) must be smaller than the chunk size (%zu)",
                       o->overlap, o->size);
    if ((unsigned)o->kind > RK_CHUNKER_FIXED || (unsigned)o->unit > RK_UNIT_WORDS)
        return rk_fail(err, RK_EINVAL, "unknown chunker (%d) or chunk unit (%d)", (int)o->kind, (int)o->unit);
    ctx c = {.t = t, .n = n, .o = o, .f = calloc(n + 1, 1)};
    if (!c.f) return rk_fail(err, RK_ENOMEM, "out of memory chunking %zu bytes", n);
    mark_graphemes(&c);
    if (o->unit == RK_UNIT_WORDS) mark_words(&c);
    if (o->kind != RK_CHUNKER_FIXED) mark_sentences(&c);
    int failed = chunk(&c);
    free(c.f);
    if (failed) {
        free(c.out.v);
        return rk_fail(err, RK_ENOMEM, "out of memory chunking %zu bytes", n);
    }
    *out = c.out.v;
    *count = c.out.n;
    return RK_OK;
}

rk_status rk_text_sentences(const char *t, size_t n, rk_span **out, size_t *count, rk_error *err) {
    ctx c = {.t = t, .n = n, .f = calloc(n + 1, 1)};
    if (!c.f) return rk_fail(err, RK_ENOMEM, "out of memory splitting %zu bytes into sentences", n);
    mark_graphemes(&c);
    mark_sentences(&c);
    int failed = 0;
    size_t a = skip_ws(&c, 0, n);
    for (size_t i = a; a < n && !failed; i++) {
        if (i < n && !(c.f[i] & F_SEND)) continue;
        size_t b = trim_back(&c, a, i);
        if (b > a) failed = push(&c.out, a, b);
        a = skip_ws(&c, i, n); /* the next sentence (n after the last) */
    }
    free(c.f);
    if (failed) {
        free(c.out.v);
        return rk_fail(err, RK_ENOMEM, "out of memory splitting %zu bytes into sentences", n);
    }
    *out = c.out.v;
    *count = c.out.n;
    return RK_OK;
}

size_t rk_chunk_units(const char *text, size_t n, rk_chunk_unit u) {
    if (u != RK_UNIT_WORDS) return rk_utf8_length(text, n);
    word_state w = {0, 0, 0};
    int32_t prev = -1, state = 0;
    size_t words = 0;
    for (size_t i = 0, len; i < n; i += len) {
        int32_t cp = cp_at(text, n, i, &len);
        words += word_step(&w, is_word_cp(text, i, len), grapheme_break(prev, cp, &state)) == F_WORD;
        prev = cp;
    }
    return words;
}

int rk_chunker_parse(const char *name) {
    static const char *const names[] = {"recursive", "sentence", "fixed"};
    for (int i = 0; name && i < 3; i++)
        if (!strcmp(name, names[i])) return i;
    return -1;
}

int rk_chunk_unit_parse(const char *name) {
    if (name && !strcmp(name, "chars")) return RK_UNIT_CHARS;
    if (name && !strcmp(name, "words")) return RK_UNIT_WORDS;
    return -1;
}
