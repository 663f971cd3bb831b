/* markdown.c — Markdown to the text a reader reads, by hand. A line pass finds
 * the blocks (front matter, headings, fences, indented code, quotes, lists,
 * tables, comments, reference definitions); an inline pass over each
 * paragraph, list item, table cell and heading removes emphasis, backticks,
 * links, tags and escapes and decodes entities. A file with a definition in
 * it is read twice: the first pass only gathers the reference definitions,
 * which decide whether "[text]" is a link or text in brackets.
 *
 * Everything stays linear in the input: a look-ahead either consumes what it
 * scanned or leaves a mark that keeps the same bytes from being scanned again
 * for the same reason (matching brackets and backtick runs are paired up front,
 * emphasis keeps per-kind floors, failed link and comment scans a high-water
 * mark). */
#define _GNU_SOURCE /* memmem */
#include "raftkit/markdown.h"

#include <libxml/HTMLparser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/buf.h"

#define NONE SIZE_MAX
enum { LABEL_MAX = 999, CLASSES = 18 };

static void putc1(rk_buf *b, char c) { rk_buf_put(b, &c, 1); }

/* v with room for need elements of size bytes; v itself (and *oom set) when
 * that fails. */
static void *grow(void *v, size_t *cap, size_t need, size_t size, int *oom) {
    if (need <= *cap) return v;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *nv = realloc(v, c * size);
    if (!nv) {
        *oom = 1;
        return v;
    }
    *cap = c;
    return nv;
}

static int is_sp(int c) { return c == ' ' || c == '\t'; }
static int is_ws(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_alnum(int c) { return is_alpha(c) || is_digit(c); }
static int is_punct(int c) {
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
           (c >= '{' && c <= '~');
}

static int blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_ws((unsigned char)s[i])) return 0;
    return 1;
}

/* The reference definitions' labels, normalized; sorted after the first pass. */
typedef struct defs {
    char **v;
    size_t n, cap;
    int oom;
} defs;

/* Folds ASCII case and collapses whitespace, so "[Foo  Bar]" finds "[foo bar]";
 * 0 when the label is blank or too long to be one. */
static size_t label_norm(const char *s, size_t n, char out[LABEL_MAX + 1]) {
    if (n > LABEL_MAX) return 0;
    size_t k = 0;
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_ws(c)) {
            space = k > 0;
            continue;
        }
        if (space) out[k++] = ' ';
        space = 0;
        out[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[k] = 0;
    return k;
}

static void defs_add(defs *d, const char *label, size_t n) {
    char norm[LABEL_MAX + 1];
    if (!label_norm(label, n, norm)) return;
    d->v = grow(d->v, &d->cap, d->n + 1, sizeof *d->v, &d->oom);
    char *copy = d->oom ? NULL : strdup(norm);
    if (!copy) {
        d->oom = 1;
        return;
    }
    d->v[d->n++] = copy;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int defs_has(const defs *d, const char *label, size_t n) {
    char norm[LABEL_MAX + 1];
    if (!d->n || !label_norm(label, n, norm)) return 0;
    const char *key = norm;
    return bsearch(&key, d->v, d->n, sizeof *d->v, cmp_str) != NULL;
}

static void defs_free(defs *d) {
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i]);
    free(d->v);
}

static void put_utf8(rk_buf *b, uint32_t cp) {
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    char u[4];
    size_t k;
    if (cp < 0x80) {
        u[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    rk_buf_put(b, u, k);
}

/* ---- inline ---------------------------------------------------------- */

/* A run of *, _ or ~~. Its characters are written out as they come; once
 * matched, only rem of them stay. */
typedef struct delim {
    size_t off, len, rem;
    char ch;
    unsigned char open, close;
} delim;

/* A link or image whose text is being read: at close (its "]") the reader
 * jumps to resume, past the destination or label. Emphasis does not match
 * across the brackets, so the frame keeps the delimiter stack's bottom. */
typedef struct frame {
    size_t close, resume, bottom;
    size_t floor[CLASSES];
} frame;

enum { T_COMMENT, T_PI, T_CDATA, T_DECL, T_DQUOTE, T_SQUOTE, TERMS };

typedef struct inl {
    const char *s;
    size_t m;
    size_t *match; /* at a "[": its "]"; at a backtick run: the next run as long; else NONE */
    size_t cmatch;
    const defs *defs;
    rk_buf out;
    delim *runs;
    size_t nruns, cruns;
    size_t *stack; /* runs that may still open */
    size_t nstack, cstack;
    frame *frames;
    size_t nframes, cframes;
    size_t floor[CLASSES]; /* below these, no opener suits a closer of that class */
    size_t hw;             /* a failed link destination scan reached here */
    size_t clear[TERMS];   /* no terminator of that kind starts before here */
    int oom;
} inl;

static size_t run_len(const char *s, size_t m, size_t i) {
    size_t j = i;
    while (j < m && s[j] == s[i])
        j++;
    return j - i;
}

/* Pairs each backtick run with the next run of the same length, from the
 * right, remembering the last run seen of each length. */
static void pair_backticks(inl *x) {
    const char *s = x->s;
    size_t maxk = 0;
    for (const char *b = memchr(s, '`', x->m); b; b = memchr(b, '`', x->m - (size_t)(b - s))) {
        size_t k = run_len(s, x->m, (size_t)(b - s));
        if (k > maxk) maxk = k;
        if ((b += k) == s + x->m) break;
    }
    if (!maxk) return;
    size_t *last = malloc((maxk + 1) * sizeof *last);
    if (!last) {
        x->oom = 1;
        return;
    }
    for (size_t k = 0; k <= maxk; k++)
        last[k] = NONE;
    for (size_t i = x->m; i > 0;) {
        if (s[i - 1] != '`') {
            i--;
            continue;
        }
        size_t j = i - 1;
        while (j > 0 && s[j - 1] == '`')
            j--;
        x->match[j] = last[i - j];
        last[i - j] = j;
        i = j;
    }
    free(last);
}

static const unsigned char BRACKET_SPECIAL[256] = {['\\'] = 1, ['`'] = 1, ['['] = 1, [']'] = 1};

/* Pairs brackets with a stack, skipping escapes and code spans the way the
 * main scan does. */
static void pair_brackets(inl *x) {
    const char *s = x->s;
    size_t *st = NULL, n = 0, cap = 0;
    for (size_t i = 0; i < x->m && !x->oom;) {
        while (i < x->m && !BRACKET_SPECIAL[(unsigned char)s[i]])
            i++;
        if (i == x->m) break;
        char c = s[i];
        if (c == '\\' && i + 1 < x->m && is_punct((unsigned char)s[i + 1])) {
            i += 2;
        } else if (c == '`') {
            size_t k = run_len(s, x->m, i);
            int start = i == 0 || s[i - 1] != '`';
            i = start && x->match[i] != NONE ? x->match[i] + k : i + k;
        } else if (c == '[') {
            st = grow(st, &cap, n + 1, sizeof *st, &x->oom);
            if (!x->oom) st[n++] = i;
            i++;
        } else {
            if (c == ']' && n) x->match[st[--n]] = i;
            i++;
        }
    }
    free(st);
}

static size_t cls(char ch, int open, size_t len) {
    return (size_t)(ch == '*' ? 0 : ch == '_' ? 1 : 2) * 6 + (size_t)(open ? 3 : 0) + len % 3;
}

/* CommonMark's rule of 3: "*foo**bar*" is one emphasis, not two. */
static int suits(const delim *o, const delim *c) {
    if (o->ch != c->ch) return 0;
    if (c->ch == '~') return o->len == c->len;
    return !((o->close || c->open) && (o->len + c->len) % 3 == 0 && !(o->len % 3 == 0 && c->len % 3 == 0));
}

static void clamp_floors(inl *x) {
    for (size_t k = 0; k < CLASSES; k++)
        if (x->floor[k] > x->nstack) x->floor[k] = x->nstack;
}

/* Matches closer run ci with the nearest suitable openers, as CommonMark's
 * process_emphasis does; openers between a pair are dropped. */
static void close_run(inl *x, size_t ci) {
    delim *c = &x->runs[ci];
    size_t k = cls(c->ch, c->open, c->len);
    size_t bottom = x->nframes ? x->frames[x->nframes - 1].bottom : 0;
    while (c->rem) {
        size_t lo = x->floor[k] > bottom ? x->floor[k] : bottom, j = x->nstack;
        while (j > lo && !suits(&x->runs[x->stack[j - 1]], c))
            j--;
        if (j == lo) {
            x->floor[k] = x->nstack;
            return;
        }
        delim *o = &x->runs[x->stack[j - 1]];
        size_t use = c->ch == '~' ? c->len : o->rem >= 2 && c->rem >= 2 ? 2 : 1;
        o->rem -= use;
        c->rem -= use;
        x->nstack = o->rem ? j : j - 1;
        clamp_floors(x);
    }
}

static size_t delim_run(inl *x, size_t i, size_t lim) {
    const char *s = x->s;
    char ch = s[i];
    size_t j = i;
    while (j < lim && s[j] == ch)
        j++;
    size_t len = j - i;
    rk_buf_put(&x->out, s + i, len);
    if (ch == '~' && len != 2) return j; /* only ~~ strikes through */
    int before = i ? (unsigned char)s[i - 1] : ' ', after = j < x->m ? (unsigned char)s[j] : ' ';
    int lf = !is_ws(after) && (!is_punct(after) || is_ws(before) || is_punct(before));
    int rf = !is_ws(before) && (!is_punct(before) || is_ws(after) || is_punct(after));
    /* snake_case: an underscore inside a word neither opens nor closes */
    int open = ch == '_' ? lf && (!rf || is_punct(before)) : lf;
    int close = ch == '_' ? rf && (!lf || is_punct(after)) : rf;
    if (!open && !close) return j;
    x->runs = grow(x->runs, &x->cruns, x->nruns + 1, sizeof *x->runs, &x->oom);
    if (x->oom) return j;
    size_t ri = x->nruns++;
    x->runs[ri] = (delim){x->out.n - len, len, len, ch, (unsigned char)open, (unsigned char)close};
    if (close) close_run(x, ri);
    if (x->runs[ri].rem && open) {
        x->stack = grow(x->stack, &x->cstack, x->nstack + 1, sizeof *x->stack, &x->oom);
        if (!x->oom) x->stack[x->nstack++] = ri;
    }
    return j;
}

static size_t code_span(inl *x, size_t i, size_t lim) {
    const char *s = x->s;
    size_t k = run_len(s, x->m, i), c = (i == 0 || s[i - 1] != '`') ? x->match[i] : NONE;
    if (c == NONE || c + k > lim) {
        rk_buf_put(&x->out, s + i, k);
        return i + k;
    }
    size_t a = i + k, b = c;
    if (b - a >= 2 && (s[a] == ' ' || s[a] == '\n') && (s[b - 1] == ' ' || s[b - 1] == '\n') &&
        !blank(s + a, b - a)) {
        a++;
        b--;
    }
    for (size_t p = a; p < b; p++)
        putc1(&x->out, s[p] == '\n' ? ' ' : s[p]);
    return c + k;
}

/* The end of a link's "(destination "title")" that starts at p, after the
 * "(": the position after the ")", or 0 with *reached where the scan stopped. */
static size_t link_tail(const char *s, size_t lim, size_t p, size_t *reached) {
    size_t i = p;
    while (i < lim && is_ws((unsigned char)s[i]))
        i++;
    if (i < lim && s[i] == '<') {
        for (i++; i < lim && s[i] != '>' && s[i] != '<' && s[i] != '\n'; i++)
            if (s[i] == '\\' && i + 1 < lim) i++;
        if (i >= lim || s[i] != '>') goto fail;
        i++;
    } else {
        size_t depth = 0;
        while (i < lim && (unsigned char)s[i] > ' ') {
            if (s[i] == '\\' && i + 1 < lim && is_punct((unsigned char)s[i + 1])) {
                i += 2;
                continue;
            }
            if (s[i] == '(') depth++;
            if (s[i] == ')' && depth-- == 0) break;
            i++;
        }
        if (depth && !(i < lim && s[i] == ')')) goto fail;
    }
    size_t j = i;
    while (j < lim && is_ws((unsigned char)s[j]))
        j++;
    if (j > i && j < lim && (s[j] == '"' || s[j] == '\'' || s[j] == '(')) {
        char q = s[j] == '(' ? ')' : s[j];
        for (i = j + 1; i < lim && s[i] != q; i++) {
            if (s[i] == '\\' && i + 1 < lim)
                i++;
            else if (q == ')' && s[i] == '(')
                goto fail;
        }
        if (i >= lim) goto fail;
        for (i++; i < lim && is_ws((unsigned char)s[i]);)
            i++;
    } else {
        i = j;
    }
    if (i < lim && s[i] == ')') return i + 1;
fail:
    *reached = i;
    return 0;
}

static int push_frame(inl *x, size_t close, size_t resume) {
    x->frames = grow(x->frames, &x->cframes, x->nframes + 1, sizeof *x->frames, &x->oom);
    if (x->oom) return 0;
    frame *f = &x->frames[x->nframes++];
    f->close = close;
    f->resume = resume;
    f->bottom = x->nstack;
    memcpy(f->floor, x->floor, sizeof f->floor);
    return 1;
}

/* Whether the "[" at p opens a link (inline, full, collapsed or shortcut
 * reference) wholly before lim; if so a frame is pushed for its text. */
static int try_link(inl *x, size_t p, size_t lim) {
    const char *s = x->s;
    size_t e = x->match[p];
    if (e == NONE || e >= lim) return 0;
    if (e + 1 < lim && s[e + 1] == '(' && e + 1 >= x->hw) {
        size_t reached = 0, end = link_tail(s, lim, e + 2, &reached);
        if (end) return push_frame(x, e, end);
        if (reached > x->hw) x->hw = reached;
    }
    if (e + 1 < lim && s[e + 1] == '[') {
        size_t f = x->match[e + 1];
        if (f != NONE && f < lim) {
            int hit = f == e + 2 ? defs_has(x->defs, s + p + 1, e - p - 1)
                                 : defs_has(x->defs, s + e + 2, f - e - 2);
            if (hit) return push_frame(x, e, f + 1);
        }
    }
    return defs_has(x->defs, s + p + 1, e - p - 1) && push_frame(x, e, e + 1);
}

/* The position after the first term at or after from and wholly before lim,
 * or 0. A miss is remembered, since the scan only moves forward. */
static size_t find_term(inl *x, int kind, size_t from, size_t lim, const char *term) {
    size_t tl = strlen(term), i = from > x->clear[kind] ? from : x->clear[kind];
    for (; i + tl <= lim; i++)
        if (!memcmp(x->s + i, term, tl)) return i + tl;
    if (lim >= tl && lim - tl + 1 > x->clear[kind]) x->clear[kind] = lim - tl + 1;
    return 0;
}

static int starts(const char *s, size_t i, size_t lim, const char *w) {
    size_t n = strlen(w);
    return i + n <= lim && !memcmp(s + i, w, n);
}

/* <scheme:...> or <user@host>: the position of the ">", else 0. */
static size_t autolink(const char *s, size_t i, size_t lim) {
    size_t j = i + 1, k = j;
    while (k < lim && k - j <= 32 &&
           (is_alnum((unsigned char)s[k]) || s[k] == '+' || s[k] == '.' || s[k] == '-'))
        k++;
    if (k < lim && s[k] == ':' && k - j >= 2 && k - j <= 32 && is_alpha((unsigned char)s[j])) {
        for (k++; k < lim && s[k] != '>' && s[k] != '<' && (unsigned char)s[k] > ' ';)
            k++;
        return k < lim && s[k] == '>' ? k : 0;
    }
    for (k = j; k < lim && (is_alnum((unsigned char)s[k]) || (s[k] && strchr(".!#$%&'*+/=?^_`{|}~-", s[k])));)
        k++;
    if (k == j || k >= lim || s[k] != '@') return 0;
    size_t d = ++k;
    while (k < lim && (is_alnum((unsigned char)s[k]) || s[k] == '-' || s[k] == '.'))
        k++;
    return k > d && k < lim && s[k] == '>' ? k : 0;
}

/* An HTML tag, comment, processing instruction, declaration or CDATA at i:
 * the position after it, else 0. *br tells a <br> apart. */
static size_t html_tag(inl *x, size_t i, size_t lim, int *br) {
    const char *s = x->s;
    *br = 0;
    if (starts(s, i, lim, "<!--")) return find_term(x, T_COMMENT, i + 4, lim, "-->");
    if (starts(s, i, lim, "<?")) return find_term(x, T_PI, i + 2, lim, "?>");
    if (starts(s, i, lim, "<![CDATA[")) return find_term(x, T_CDATA, i + 9, lim, "]]>");
    if (starts(s, i, lim, "<!") && i + 2 < lim && is_alpha((unsigned char)s[i + 2]))
        return find_term(x, T_DECL, i + 2, lim, ">");
    size_t j = i + 1 + (i + 1 < lim && s[i + 1] == '/');
    if (j >= lim || !is_alpha((unsigned char)s[j])) return 0;
    size_t name = j;
    while (j < lim && (is_alnum((unsigned char)s[j]) || s[j] == '-'))
        j++;
    if (j >= lim || !(is_ws((unsigned char)s[j]) || s[j] == '/' || s[j] == '>')) return 0;
    *br = j - name == 2 && (s[name] | 32) == 'b' && (s[name + 1] | 32) == 'r';
    while (j < lim && s[j] != '>' && s[j] != '<') {
        if (s[j] == '"' || s[j] == '\'') { /* a quoted attribute value may hold < and > */
            j = find_term(x, s[j] == '"' ? T_DQUOTE : T_SQUOTE, j + 1, lim, s[j] == '"' ? "\"" : "'");
            if (!j) return 0;
        } else {
            j++;
        }
    }
    return j < lim && s[j] == '>' ? j + 1 : 0;
}

static size_t angle(inl *x, size_t i, size_t lim) {
    size_t e = autolink(x->s, i, lim);
    if (e) {
        rk_buf_put(&x->out, x->s + i + 1, e - i - 1);
        return e + 1;
    }
    int br;
    if ((e = html_tag(x, i, lim, &br))) {
        if (br) putc1(&x->out, '\n');
        return e;
    }
    putc1(&x->out, '<');
    return i + 1;
}

static int digit(char ch, unsigned base) {
    int c = (unsigned char)ch | (base == 16 ? 32 : 0);
    if (is_digit(c)) return c - '0';
    return base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static size_t entity(inl *x, size_t i, size_t lim) {
    const char *s = x->s;
    size_t j = i + 1;
    uint32_t cp = 0;
    if (j < lim && s[j] == '#') {
        unsigned base = j + 1 < lim && (s[j + 1] | 32) == 'x' ? 16 : 10;
        size_t d = j + (base == 16 ? 2 : 1);
        int v;
        for (j = d; j < lim && j - d < (base == 16 ? 6u : 7u) && (v = digit(s[j], base)) >= 0; j++)
            cp = cp * base + (uint32_t)v;
        if (j == d || j >= lim || s[j] != ';') goto literal;
    } else {
        char name[33];
        while (j < lim && j - i <= 32 && is_alnum((unsigned char)s[j]))
            j++;
        if (j == i + 1 || j - i > 32 || j >= lim || s[j] != ';') goto literal;
        memcpy(name, s + i + 1, j - i - 1);
        name[j - i - 1] = 0;
        const htmlEntityDesc *e = htmlEntityLookup((const xmlChar *)name);
        if (!e) goto literal;
        cp = e->value;
    }
    put_utf8(&x->out, cp);
    return j + 1;
literal:
    putc1(&x->out, '&');
    return i + 1;
}

static const unsigned char SPECIAL[256] = {
    ['\\'] = 1, ['`'] = 1, ['*'] = 1, ['_'] = 1, ['~'] = 1, ['!'] = 1, ['['] = 1, ['<'] = 1, ['&'] = 1};

static void scan(inl *x) {
    const char *s = x->s;
    size_t i = 0;
    while (i < x->m && !x->oom) {
        size_t lim = x->nframes ? x->frames[x->nframes - 1].close : x->m;
        if (i >= lim) { /* the end of a link's text: skip its destination */
            frame *f = &x->frames[--x->nframes];
            x->nstack = f->bottom;
            memcpy(x->floor, f->floor, sizeof x->floor);
            i = f->resume;
            continue;
        }
        size_t j = i;
        while (j < lim && !SPECIAL[(unsigned char)s[j]])
            j++;
        if (j > i) {
            rk_buf_put(&x->out, s + i, j - i);
            i = j;
            continue;
        }
        switch (s[i]) {
        case '\\':
            if (i + 1 < lim && is_punct((unsigned char)s[i + 1])) {
                putc1(&x->out, s[i + 1]);
                i += 2;
            } else {
                if (!(i + 1 < lim && s[i + 1] == '\n')) putc1(&x->out, '\\'); /* else a hard break */
                i++;
            }
            break;
        case '`': i = code_span(x, i, lim); break;
        case '*':
        case '_':
        case '~': i = delim_run(x, i, lim); break;
        case '!':
            if (i + 1 < lim && s[i + 1] == '[') {
                if (!try_link(x, i + 1, lim)) rk_buf_put(&x->out, "![", 2);
                i += 2;
            } else {
                putc1(&x->out, '!');
                i++;
            }
            break;
        case '[':
            if (!try_link(x, i, lim)) putc1(&x->out, '[');
            i++;
            break;
        case '<': i = angle(x, i, lim); break;
        default: i = entity(x, i, lim); break;
        }
    }
}

/* Drops the matched delimiter characters from out, keeping each run's rem. */
static void compact(inl *x) {
    char *p = x->out.p;
    size_t w = 0, r = 0;
    if (!p) return;
    for (size_t k = 0; k < x->nruns; k++) {
        const delim *d = &x->runs[k];
        memmove(p + w, p + r, d->off + d->rem - r);
        w += d->off + d->rem - r;
        r = d->off + d->len;
    }
    memmove(p + w, p + r, x->out.n - r);
    x->out.n = w + x->out.n - r;
    p[x->out.n] = 0;
}

/* The text of the inline Markdown s[0..m), in x->out until the next call;
 * x->oom says whether it is whole. x keeps its buffers from call to call,
 * so that a paragraph costs no allocation. */
static rk_buf *inline_text(inl *x, const char *s, size_t m) {
    x->s = s;
    x->m = m;
    x->out.n = 0;
    if (x->out.p) x->out.p[0] = 0;
    x->nruns = x->nstack = x->nframes = 0;
    memset(x->floor, 0, sizeof x->floor);
    memset(x->clear, 0, sizeof x->clear);
    x->hw = 0;
    /* Only a "[" or a backtick reads match: text with neither (most
     * paragraphs) needs no pairing. */
    if (m && (memchr(s, '[', m) || memchr(s, '`', m))) {
        x->match = grow(x->match, &x->cmatch, m, sizeof *x->match, &x->oom);
        if (x->oom) return &x->out;
        for (size_t i = 0; i < m; i++) /* a "[" the pairing never reached is text */
            x->match[i] = NONE;
        pair_backticks(x);
        pair_brackets(x);
    }
    scan(x);
    compact(x);
    x->oom |= x->out.oom;
    return &x->out;
}

static void inl_free(inl *x) {
    free(x->out.p);
    free(x->match);
    free(x->runs);
    free(x->stack);
    free(x->frames);
}

/* ---- blocks ---------------------------------------------------------- */

enum { BRK_LINE, BRK_PARA };
enum { U_PARA, U_ITEM };
enum { C_NONE, C_FENCED, C_INDENTED };

typedef struct md {
    defs *collect; /* the first pass: gathers definitions, writes nothing */
    inl inl;       /* the inline pass, its defs the definitions gathered */
    rk_parts *out;
    int oom;
    rk_buf part, title; /* the current part and its heading path */
    char *path[6];
    char *h1, *h_any; /* the first level-1 heading and the first heading */
    int brk;          /* what separates the next line written from the last */
    rk_buf pend;      /* the paragraph or list item being read, raw lines */
    size_t pend_last; /* where its last line starts */
    int pend_kind, para_open, item_start;
    rk_buf code;
    int code_kind;
    char fence_ch;
    size_t fence_len, fence_ind, fence_base, icode_blank;
    int fence_q;
    int table;
    size_t ncols;
    int comment;   /* inside an HTML comment that spans lines */
    size_t *lists; /* content columns of the open list items, outermost first */
    size_t nlists, clists;
    int quote;
} md;

static const char *skip_indent(const char *l, size_t n, size_t *cols) {
    size_t c = 0, i = 0;
    for (; i < n && is_sp(l[i]); i++)
        c = l[i] == '\t' ? c + 4 - c % 4 : c + 1;
    *cols = c;
    return l + i;
}

/* l without its first cols columns of indentation (a tab that straddles goes). */
static const char *strip_cols(const char *l, size_t *n, size_t cols) {
    size_t c = 0, i = 0;
    for (; i < *n && c < cols && is_sp(l[i]); i++)
        c = l[i] == '\t' ? c + 4 - c % 4 : c + 1;
    *n -= i;
    return l + i;
}

static size_t trim_end(const char *s, size_t n) {
    while (n && is_ws((unsigned char)s[n - 1]))
        n--;
    return n;
}

/* Writes t line by line, each trimmed, blank ones left out. */
static void emit_lines(md *d, const char *t, size_t n) {
    if (d->collect) return;
    int first = 1;
    for (size_t i = 0; i < n;) {
        const char *e = memchr(t + i, '\n', n - i);
        size_t end = e ? (size_t)(e - t) : n, a = i, b = end;
        while (a < b && is_ws((unsigned char)t[a]))
            a++;
        b = a + trim_end(t + a, b - a);
        if (b > a) {
            if (!first)
                putc1(&d->part, '\n');
            else if (d->part.n)
                rk_buf_put(&d->part, "\n\n", d->brk == BRK_PARA ? 2 : 1);
            rk_buf_put(&d->part, t + a, b - a);
            first = 0;
        }
        i = end + 1;
    }
    if (!first) d->brk = BRK_LINE;
}

static void flush_pend(md *d) {
    if (d->pend.n && !d->collect) {
        const rk_buf *t = inline_text(&d->inl, d->pend.p, d->pend.n);
        d->oom |= d->inl.oom;
        emit_lines(d, t->p, t->n);
    }
    d->pend.n = 0;
    d->para_open = 0;
}

/* Code goes out verbatim as one paragraph, without blank lines around it. */
static void flush_code(md *d) {
    const char *c = d->code.p;
    size_t a = 0, b = d->code.n;
    while (a < b) {
        const char *e = memchr(c + a, '\n', b - a);
        size_t end = e ? (size_t)(e - c) : b;
        if (!blank(c + a, end - a)) break;
        a = end + 1;
    }
    while (b > a && blank(c + b - 1, 1))
        b--;
    if (b > a && !d->collect) {
        if (d->part.n) rk_buf_put(&d->part, "\n\n", 2);
        /* the last line keeps its trailing spaces: they are code */
        while (b < d->code.n && c[b] != '\n')
            b++;
        rk_buf_put(&d->part, c + a, b - a);
    }
    d->code.n = 0;
    d->code_kind = C_NONE;
    d->brk = BRK_PARA;
}

static void flush_all(md *d) {
    flush_pend(d);
    if (d->code_kind) flush_code(d);
    d->table = 0;
    d->item_start = 0;
    d->brk = BRK_PARA;
}

static void finish_part(md *d) {
    if (d->part.n && rk_parts_add(d->out, d->title.n ? d->title.p : "", 0, d->part.p, d->part.n, NULL))
        d->oom = 1;
    d->part.n = 0;
}

/* Collapses whitespace in place: a heading is one line. */
static size_t one_line(char *s, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_ws((unsigned char)s[i])) {
            if (w && s[w - 1] != ' ') s[w++] = ' ';
        } else {
            s[w++] = s[i];
        }
    }
    if (w && s[w - 1] == ' ') w--;
    return w;
}

static void heading(md *d, int level, const char *t, size_t n) {
    flush_all(d);
    if (d->collect) return;
    rk_buf *h = inline_text(&d->inl, t, n);
    h->n = h->p ? one_line(h->p, h->n) : 0;
    char *text = strndup(h->p ? h->p : "", h->n);
    if (!text || d->inl.oom) {
        free(text);
        d->oom = 1;
        return;
    }
    finish_part(d);
    for (int k = level - 1; k < 6; k++) {
        free(d->path[k]);
        d->path[k] = NULL;
    }
    d->path[level - 1] = text;
    d->title.n = 0;
    for (int k = 0; k < 6; k++) {
        if (!d->path[k] || !*d->path[k]) continue;
        if (d->title.n) rk_buf_put(&d->title, " > ", 3);
        rk_buf_put(&d->title, d->path[k], strlen(d->path[k]));
    }
    d->oom |= d->title.oom;
    if (*text && !d->h_any && !(d->h_any = strdup(text))) d->oom = 1;
    if (*text && level == 1 && !d->h1 && !(d->h1 = strdup(text))) d->oom = 1;
    emit_lines(d, text, strlen(text));
    d->brk = BRK_PARA;
}

static int is_hr(const char *b, size_t n) {
    char c = n ? b[0] : 0;
    if (c != '-' && c != '*' && c != '_') return 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (b[i] == c)
            k++;
        else if (!is_ws((unsigned char)b[i]))
            return 0;
    }
    return k >= 3;
}

/* An ATX heading's level, with its text in *t, *tn; else 0. */
static int atx(const char *b, size_t n, const char **t, size_t *tn) {
    size_t k = 0;
    while (k < n && b[k] == '#')
        k++;
    if (k == 0 || k > 6 || (k < n && !is_sp(b[k]))) return 0;
    const char *s = b + k;
    size_t len = n - k;
    while (len && is_sp(*s))
        s++, len--;
    len = trim_end(s, len);
    size_t e = len;
    while (e && s[e - 1] == '#')
        e--;
    if (e == 0 || is_sp(s[e - 1])) len = trim_end(s, e); /* the optional closing #s */
    *t = s;
    *tn = len;
    return (int)k;
}

static int fence_open(const char *b, size_t n, char *ch, size_t *len) {
    if (n < 3 || (b[0] != '`' && b[0] != '~')) return 0;
    size_t k = run_len(b, n, 0);
    if (k < 3 || (b[0] == '`' && memchr(b + k, '`', n - k))) return 0;
    *ch = b[0];
    *len = k;
    return 1;
}

/* A list marker's width ("-", "12.", "3)") when b starts with one followed by
 * a space or the end of the line; *first tells whether it may start a list
 * in the middle of a paragraph. */
static size_t list_marker(const char *b, size_t n, int *first) {
    size_t w = 0;
    if (n && (b[0] == '-' || b[0] == '*' || b[0] == '+')) {
        w = 1;
        *first = 1;
    } else {
        while (w < n && w < 9 && is_digit(b[w]))
            w++;
        if (w == 0 || w >= n || (b[w] != '.' && b[w] != ')')) return 0;
        *first = w == 1 && b[0] == '1';
        w++;
    }
    if (w < n && !is_sp(b[w])) return 0;
    if (blank(b + w, n - w)) *first = 0; /* an empty item does not interrupt a paragraph */
    return w;
}

/* Whether b starts a block even where a paragraph could go on lazily. */
static int interrupts(const md *d, const char *b, size_t n) {
    const char *t;
    size_t tn;
    char ch;
    int first;
    if (is_hr(b, n) || atx(b, n, &t, &tn) || fence_open(b, n, &ch, &tn) || (n >= 4 && !memcmp(b, "<!--", 4)))
        return 1;
    return list_marker(b, n, &first) && (d->nlists || first);
}

static int setext(const char *b, size_t n) {
    size_t k = run_len(b, n, 0);
    if ((b[0] != '=' && b[0] != '-') || !blank(b + k, n - k)) return 0;
    return b[0] == '=' ? 1 : 2;
}

/* The next cell of a table row from *i: its text trimmed, 0 when none is left. */
static int next_cell(const char *b, size_t n, size_t *i, const char **c, size_t *cn) {
    size_t p = *i;
    if (p == 0) {
        while (p < n && is_sp(b[p]))
            p++;
        if (p < n && b[p] == '|') p++;
    }
    if (p >= n || blank(b + p, n - p)) return 0;
    size_t a = p;
    while (p < n && b[p] != '|')
        p += b[p] == '\\' && p + 1 < n ? 2 : 1;
    size_t e = p;
    while (a < e && is_sp(b[a]))
        a++;
    *c = b + a;
    *cn = trim_end(b + a, e - a);
    *i = p + 1;
    return 1;
}

static size_t count_cells(const char *b, size_t n) {
    size_t i = 0, k = 0, cn;
    const char *c;
    while (next_cell(b, n, &i, &c, &cn))
        k++;
    return k;
}

/* The number of columns when b is a delimiter row ("|---|:--:|"), else 0. */
static size_t delimiter_row(const char *b, size_t n) {
    if (!memchr(b, '|', n)) return 0;
    size_t i = 0, k = 0, cn;
    const char *c;
    while (next_cell(b, n, &i, &c, &cn)) {
        if (!cn) return 0;
        size_t a = c[0] == ':', e = cn - (cn > a && c[cn - 1] == ':');
        if (e <= a) return 0;
        for (size_t j = a; j < e; j++)
            if (c[j] != '-') return 0;
        k++;
    }
    return k;
}

/* A table row on one line: its cells' text, one space apart. */
static void table_row(md *d, const char *b, size_t n) {
    if (d->collect) return;
    rk_buf row = {0};
    size_t i = 0, cn, k = 0;
    const char *c;
    while (k++ < d->ncols && next_cell(b, n, &i, &c, &cn)) {
        rk_buf cell = {0};
        for (size_t j = 0; j < cn; j++) /* GFM: \| is a pipe even in a code span */
            if (!(c[j] == '\\' && j + 1 < cn && c[j + 1] == '|')) putc1(&cell, c[j]);
        rk_buf *t = inline_text(&d->inl, cell.p, cell.n);
        d->oom |= cell.oom | d->inl.oom;
        free(cell.p);
        size_t tn = t->p ? one_line(t->p, t->n) : 0;
        if (tn && row.n) putc1(&row, ' ');
        rk_buf_put(&row, t->p, tn);
    }
    d->oom |= row.oom;
    emit_lines(d, row.p, row.n);
    free(row.p);
}

/* A delimiter row under a paragraph whose last line has as many cells turns
 * that line into a table header. */
static int table_start(md *d, const char *b, size_t n) {
    size_t cols = delimiter_row(b, n);
    const char *h = d->pend.p + d->pend_last;
    size_t hn = d->pend.n - d->pend_last;
    if (!cols || count_cells(h, hn) != cols) return 0;
    rk_buf header = {0};
    rk_buf_put(&header, h, hn);
    d->pend.n = d->pend_last ? d->pend_last - 1 : 0;
    flush_all(d);
    d->table = 1;
    d->ncols = cols;
    table_row(d, header.p, header.n);
    d->oom |= header.oom;
    free(header.p);
    return 1;
}

static void setext_heading(md *d, int level) {
    rk_buf t = d->pend; /* the whole paragraph is the heading */
    d->pend = (rk_buf){0};
    heading(d, level, t.p ? t.p : "", t.n);
    free(t.p);
}

static void text(md *d, const char *b, size_t n) {
    n = trim_end(b, n);
    if (!d->para_open) {
        flush_pend(d);
        d->pend_kind = d->item_start ? U_ITEM : U_PARA;
        if (d->pend_kind == U_PARA) d->brk = BRK_PARA;
    } else {
        putc1(&d->pend, '\n');
    }
    d->pend_last = d->pend.n;
    rk_buf_put(&d->pend, b, n);
    d->oom |= d->pend.oom;
    d->para_open = 1;
    d->item_start = 0;
}

/* "[label]: destination 'title'" on one line; the label in *l, *ln. Footnote
 * definitions ("[^1]: ...") are text. */
static int refdef(const char *b, size_t n, const char **l, size_t *ln) {
    size_t i = 1;
    if (n < 4 || b[0] != '[' || b[1] == '^') return 0;
    while (i < n && b[i] != ']' && b[i] != '[')
        i += b[i] == '\\' && i + 1 < n ? 2 : 1;
    if (i + 1 >= n || b[i] != ']' || b[i + 1] != ':' || i - 1 > LABEL_MAX || blank(b + 1, i - 1)) return 0;
    *l = b + 1;
    *ln = i - 1;
    for (i += 2; i < n && is_sp(b[i]);)
        i++;
    if (i == n) return 0;
    if (b[i] == '<') {
        while (i < n && b[i] != '>')
            i++;
        if (i++ == n) return 0;
    } else {
        while (i < n && !is_sp(b[i]))
            i++;
    }
    size_t j = i;
    while (j < n && is_sp(b[j]))
        j++;
    if (j == n) return 1;
    if (j == i || (b[j] != '"' && b[j] != '\'' && b[j] != '(')) return 0;
    char q = b[j] == '(' ? ')' : b[j];
    for (j++; j < n && b[j] != q;)
        j += b[j] == '\\' && j + 1 < n ? 2 : 1;
    return j < n && blank(b + j + 1, n - j - 1);
}

/* Whatever follows the end of a comment: the rest of the line, unless it
 * opens another comment that does not end on it. */
static void after_comments(md *d, const char *b, size_t n) {
    for (;;) {
        const char *e = memmem(b, n, "-->", 3);
        if (!e) {
            d->comment = 1;
            return;
        }
        n -= (size_t)(e + 3 - b);
        b = e + 3;
        while (n && is_sp(*b))
            b++, n--;
        if (n < 4 || memcmp(b, "<!--", 4)) break;
        b += 4;
        n -= 4;
    }
    d->comment = 0;
    if (n) text(d, b, n);
}

/* Blocks that hold no other blocks. */
static void leaf(md *d, const char *b, size_t n, size_t ind, size_t base) {
    const char *t;
    size_t tn;
    int level;
    if (is_hr(b, n)) {
        flush_all(d);
    } else if ((level = atx(b, n, &t, &tn))) {
        heading(d, level, t, tn);
    } else if (fence_open(b, n, &d->fence_ch, &d->fence_len)) {
        flush_all(d);
        d->code_kind = C_FENCED;
        d->fence_ind = ind;
        d->fence_base = base;
        d->fence_q = d->quote;
    } else if (n >= 4 && !memcmp(b, "<!--", 4)) {
        flush_all(d);
        after_comments(d, b + 4, n - 4);
    } else if (!d->para_open && refdef(b, n, &t, &tn)) {
        if (d->collect) defs_add(d->collect, t, tn);
        d->item_start = 0;
    } else {
        text(d, b, n);
    }
}

/* List items around leaf blocks; popped tells that the line closed items. */
static void container(md *d, const char *b, size_t n, size_t ind, int popped) {
    if (d->para_open && d->pend_kind == U_PARA) {
        int level = setext(b, n);
        if (table_start(d, b, n)) return;
        if (level) {
            setext_heading(d, level);
            return;
        }
    }
    if (d->table) {
        if (!interrupts(d, b, n)) {
            table_row(d, b, n);
            return;
        }
        flush_all(d);
    }
    int item = 0, first;
    size_t w;
    while (!is_hr(b, n) && (w = list_marker(b, n, &first))) {
        if (!item && !popped && d->para_open && !first) break;
        size_t pad;
        const char *r = skip_indent(b + w, n - w, &pad);
        size_t rest = (size_t)(r - b);
        if (rest == n)
            pad = 1;
        else if (pad > 4)
            pad = 1, rest = w + 1;
        if (!item) {
            flush_pend(d);
            if (!d->nlists && !popped) d->brk = BRK_PARA; /* a new list */
        }
        d->lists = grow(d->lists, &d->clists, d->nlists + 1, sizeof *d->lists, &d->oom);
        if (d->oom) return;
        d->lists[d->nlists++] = ind + w + pad;
        ind += w + pad;
        b += rest;
        n -= rest;
        item = 1;
    }
    if (item) {
        d->item_start = 1;
        if (n >= 3 && b[0] == '[' && (b[1] == ' ' || b[1] == 'x' || b[1] == 'X') && b[2] == ']' &&
            (n == 3 || is_sp(b[3]))) { /* a task box */
            size_t c;
            const char *r = skip_indent(b + 3, n - 3, &c);
            n -= (size_t)(r - b);
            b = r;
        }
        if (!n) return;
    }
    leaf(d, b, n, ind, d->nlists ? d->lists[d->nlists - 1] : 0);
}

static void blank_line(md *d) {
    if (d->code_kind == C_INDENTED) {
        d->icode_blank++;
        return;
    }
    flush_pend(d);
    d->table = 0;
    d->brk = BRK_PARA;
}

static void icode_line(md *d, const char *r, size_t n, size_t cols) {
    for (; d->icode_blank; d->icode_blank--)
        putc1(&d->code, '\n');
    r = strip_cols(r, &n, cols);
    rk_buf_put(&d->code, r, n);
    putc1(&d->code, '\n');
}

/* A line of a block, with its quote markers removed. */
static void block_line(md *d, const char *r, size_t rn, int q) {
    size_t ind;
    const char *b = skip_indent(r, rn, &ind);
    size_t n = rn - (size_t)(b - r);
    if (blank(b, n)) {
        blank_line(d);
        return;
    }
    if (q != d->quote) {
        if (q < d->quote && d->para_open && !interrupts(d, b, n)) { /* lazy continuation */
            text(d, b, n);
            return;
        }
        flush_all(d);
        d->nlists = 0;
        d->quote = q;
    }
    int popped = 0;
    if (d->nlists && ind < d->lists[d->nlists - 1]) {
        if (d->para_open && !interrupts(d, b, n)) {
            text(d, b, n);
            return;
        }
        while (d->nlists && ind < d->lists[d->nlists - 1])
            d->nlists--;
        popped = 1;
    }
    size_t base = d->nlists ? d->lists[d->nlists - 1] : 0, e = ind - base;
    if (d->code_kind == C_INDENTED) {
        if (e >= 4) {
            icode_line(d, r, rn, base + 4);
            return;
        }
        flush_code(d);
        d->icode_blank = 0;
    }
    if (e >= 4 && !d->para_open && !d->table) {
        flush_all(d);
        d->code_kind = C_INDENTED;
        icode_line(d, r, rn, base + 4);
    } else if (e >= 4) {
        if (d->table)
            table_row(d, b, n);
        else
            text(d, b, n);
    } else {
        container(d, b, n, ind, popped);
    }
}

static int strip_quotes(const char **l, size_t *n, int max) {
    int q = 0;
    while (q < max) {
        size_t i = 0;
        while (i < 3 && i < *n && (*l)[i] == ' ')
            i++;
        if (i >= *n || (*l)[i] != '>') break;
        i++;
        if (i < *n && is_sp((*l)[i])) i++;
        *l += i;
        *n -= i;
        q++;
    }
    return q;
}

/* A line inside a fenced code block: 0 when it ends the block's container
 * and must be read again as an ordinary line. */
static int fence_line(md *d, const char *r, size_t rn) {
    size_t ind;
    const char *b = skip_indent(r, rn, &ind);
    size_t n = rn - (size_t)(b - r);
    if (n && ind < d->fence_base) return 0;
    if (n && ind - d->fence_base <= 3 && b[0] == d->fence_ch) {
        size_t k = run_len(b, n, 0);
        if (k >= d->fence_len && blank(b + k, n - k)) {
            flush_code(d);
            return 1;
        }
    }
    r = strip_cols(r, &rn, d->fence_ind);
    rk_buf_put(&d->code, r, rn);
    putc1(&d->code, '\n');
    return 1;
}

static void line(md *d, const char *l, size_t n) {
    if (d->comment) {
        after_comments(d, l, n);
        return;
    }
    const char *r = l;
    size_t rn = n;
    if (d->code_kind == C_FENCED) {
        int q = strip_quotes(&r, &rn, d->fence_q);
        if (q == d->fence_q && fence_line(d, r, rn)) return;
        flush_code(d);
        r = l;
        rn = n;
    }
    int q = strip_quotes(&r, &rn, 1 << 30);
    block_line(d, r, rn, q);
}

static int fm_fence(const char *l, size_t n, const char *w) {
    return n >= 3 && !memcmp(l, w, 3) && blank(l + 3, n - 3);
}

/* Where the text starts after YAML front matter (--- ... --- or ...). */
static size_t front_matter(const char *s, size_t n, size_t i) {
    const char *e = memchr(s + i, '\n', n - i);
    if (!e || !fm_fence(s + i, (size_t)(e - s) - i, "---")) return i;
    for (size_t j = (size_t)(e - s) + 1; j < n;) {
        const char *f = memchr(s + j, '\n', n - j);
        size_t end = f ? (size_t)(f - s) : n;
        if (fm_fence(s + j, end - j, "---") || fm_fence(s + j, end - j, "...")) return end < n ? end + 1 : n;
        j = end + 1;
    }
    return i;
}

static void run(md *d, const char *src, size_t n) {
    size_t i = n >= 3 && !memcmp(src, "\xEF\xBB\xBF", 3) ? 3 : 0;
    for (i = front_matter(src, n, i); i < n && !d->oom;) {
        const char *e = memchr(src + i, '\n', n - i);
        size_t end = e ? (size_t)(e - src) : n, len = end - i;
        if (len && src[i + len - 1] == '\r') len--;
        line(d, src + i, len);
        i = end + 1;
    }
    flush_all(d);
    finish_part(d);
    d->oom |= d->part.oom | d->title.oom | d->code.oom | d->pend.oom;
}

static void md_free(md *d) {
    free(d->part.p);
    free(d->title.p);
    for (int k = 0; k < 6; k++)
        free(d->path[k]);
    free(d->h1);
    free(d->h_any);
    free(d->pend.p);
    free(d->code.p);
    free(d->lists);
    inl_free(&d->inl);
}

/* Whether "]:" occurs in s[0..n): memchr for the rarer ':' is many times
 * faster than memmem. */
static int holds_colon_after_bracket(const char *s, size_t n) {
    for (const char *c = n ? memchr(s + 1, ':', n - 1) : NULL; c;
         c = memchr(c + 1, ':', (size_t)(s + n - c - 1)))
        if (c[-1] == ']') return 1;
    return 0;
}

rk_status rk_markdown_parts(const char *src, size_t n, rk_parts *out, rk_error *err) {
    defs labels = {0};
    int oom = 0;
    /* A definition holds "]:" (refdef): without one, no first pass is needed. */
    if (holds_colon_after_bracket(src, n)) {
        md first = {.collect = &labels};
        run(&first, src, n);
        md_free(&first);
        oom = first.oom || labels.oom;
    }
    if (labels.n) qsort(labels.v, labels.n, sizeof *labels.v, cmp_str);
    md d = {.inl = {.defs = &labels}, .out = out};
    if (!oom) run(&d, src, n);
    oom |= d.oom;
    if (!oom && !out->title) {
        out->title = d.h1 ? d.h1 : d.h_any;
        if (d.h1)
            d.h1 = NULL;
        else
            d.h_any = NULL;
    }
    md_free(&d);
    defs_free(&labels);
    return oom ? rk_fail(err, RK_ENOMEM, "out of memory reading Markdown") : RK_OK;
}
