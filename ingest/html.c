/* html.c — HTML to paragraphs of text with libxml2.
 *
 * The page goes through libxml2's HTML parser as SAX events, with no tree
 * built: the parser still repairs the markup (implied and auto-closed
 * elements arrive as events like any other), and building and freeing the
 * tree was half the time of reading a page. A stack of open elements says
 * what each end tag closes. */
#include "raftkit/html.h"

#include <libxml/HTMLparser.h>
#include <libxml/parserInternals.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/buf.h"

/* A text being written: the body, the heading being read, or the title. */
typedef struct out {
    rk_buf b;
    int pending_space; /* whitespace seen since the last character written */
} out;

/* What an open element is, kept on the stack until its end tag. */
enum { F_SKIP = 1, F_BLOCK = 2, F_HEADING = 4, F_TITLE = 8 };

typedef struct reader {
    out body;      /* the part being written */
    out heading;   /* the text of the heading open at the top level */
    out title;     /* the text of the <title> open */
    int level;     /* the level of that heading; 0 when none is open */
    int skip;      /* dropped elements open */
    int title_at;  /* with a <title> open, skip at its start + 1; else 0 */
    char *titled;  /* the first <title> with text */
    uint8_t *open; /* the flags of each open element */
    size_t depth, cap;
    rk_parts *parts;
    char *path[6];     /* the text of the enclosing heading of each level */
    rk_buf path_title; /* the path joined */
    char *h1;          /* the first level-1 heading read */
    rk_status st;
    rk_error *err;
} reader;

/* Ends the current paragraph: a blank line, unless one is already there. */
static void paragraph_break(out *o) {
    rk_buf *b = &o->b;
    o->pending_space = 0;
    if (b->n == 0 || (b->n >= 2 && b->p[b->n - 1] == '\n' && b->p[b->n - 2] == '\n')) return;
    rk_buf_put(b, b->p[b->n - 1] == '\n' ? "\n" : "\n\n", b->p[b->n - 1] == '\n' ? 1 : 2);
}

/* HTML's whitespace: space, tab, LF, FF and CR. A byte above the space
 * is text, which makes the common test one comparison. */
static int is_space(char c) {
    return (unsigned char)c <= ' ' && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f');
}

/* Whether the 8 bytes of w are text that put_text copies as it is, when it
 * follows a character and the space is not its last byte: no byte below the
 * space, and no two spaces side by side. Exact for the 8 bytes as a whole. */
static int plain8(uint64_t w) {
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull, low = ~high;
    uint64_t ctrl = (w - 0x20 * ones) & ~w & high;
    uint64_t s = w ^ (0x20 * ones), spaces = ~(((s & low) + low) | s | low);
    return !(ctrl | (spaces & (spaces >> 8)));
}

/* Appends s[0..n) with whitespace runs collapsed to one space; a run may
 * span calls, as the parser hands text over in pieces. */
static void put_text(out *o, const char *s, size_t n) {
    rk_buf *b = &o->b;
    /* Collapsing never lengthens the text but for one space in front. */
    char *w = rk_buf_reserve(b, n + 1), *start = w;
    if (!w) return;
    const char *end = s + n;
    while (s < end) {
        if (is_space(*s)) {
            o->pending_space = 1;
            s++;
            continue;
        }
        if (o->pending_space && w > b->p && w[-1] != '\n') *w++ = ' ';
        o->pending_space = 0;
        do { /* a word, and the text after it eight bytes at a time while it allows */
            *w++ = *s++;
            for (uint64_t x; end - s >= 8 && s[7] != ' '; s += 8, w += 8) {
                memcpy(&x, s, 8); /* memcpy: s need not be aligned */
                if (!plain8(x)) break;
                memcpy(w, &x, 8);
            }
        } while (s < end && ((unsigned char)*s > ' ' || !is_space(*s)));
    }
    b->n += (size_t)(w - start);
    b->p[b->n] = 0;
}

/* The text of o on one line, as a new string; o is emptied. */
static char *one_line(out *o) {
    rk_buf *b = &o->b;
    size_t w = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->p[i] != '\n')
            b->p[w++] = b->p[i];
        else if (w && b->p[w - 1] != ' ')
            b->p[w++] = ' ';
    while (w && b->p[w - 1] == ' ')
        w--;
    char *t = b->oom ? NULL : strndup(b->p ? b->p : "", w);
    free(b->p);
    *o = (out){0};
    return t;
}

/* The names the parser gives are lower case. */
static int is_named(const char *name, const char *const *names) {
    for (; *names; names++)
        if (name[0] == (*names)[0] && !strcmp(name, *names)) return 1;
    return 0;
}

static const char *const SKIPPED[] = {"script", "style",  "noscript", "template", "nav",  "footer",
                                      "head",   "iframe", "svg",      "button",   "form", NULL};
static const char *const BLOCKS[] = {
    "p",          "div", "section", "article", "main",    "header",  "aside",      "h1",
    "h2",         "h3",  "h4",      "h5",      "h6",      "li",      "ul",         "ol",
    "dl",         "dt",  "dd",      "tr",      "table",   "pre",     "blockquote", "figure",
    "figcaption", "hr",  "br",      "address", "details", "summary", "body",       NULL};

static int heading_level(const char *name) {
    if (name[0] != 'h' || name[1] < '1' || name[1] > '6' || name[2]) return 0;
    return name[1] - '0';
}

/* The texts that the element or text at hand belongs to: the open <title>
 * (when no dropped element opened inside it) and, outside dropped elements,
 * the heading being read or else the body. At most two. */
static int targets(reader *r, out **t) {
    int n = 0;
    if (r->title_at && r->skip == r->title_at - 1) t[n++] = &r->title;
    if (!r->skip) t[n++] = r->level ? &r->heading : &r->body;
    return n;
}

static void fail_oom(reader *r) {
    if (!r->st) r->st = rk_fail(r->err, RK_ENOMEM, "out of memory");
}

/* Closes the part being written and opens the one of the heading of the
 * given level, whose text is t (taken). */
static void start_part(reader *r, int level, char *t) {
    if (!t) return fail_oom(r);
    if (r->body.b.n && !r->st)
        r->st = rk_parts_add(r->parts, r->path_title.n ? r->path_title.p : "", 0, r->body.b.p, r->body.b.n,
                             r->err);
    r->body.b.n = 0;
    r->body.pending_space = 0;
    for (int i = level - 1; i < 6; i++) {
        free(r->path[i]);
        r->path[i] = NULL;
    }
    r->path[level - 1] = t;
    if (level == 1 && *t && !r->h1 && !(r->h1 = strdup(t))) fail_oom(r);
    r->path_title.n = 0;
    for (int i = 0; i < 6; i++) {
        if (!r->path[i] || !*r->path[i]) continue;
        if (r->path_title.n) rk_buf_put(&r->path_title, " > ", 3);
        rk_buf_put(&r->path_title, r->path[i], strlen(r->path[i]));
    }
    put_text(&r->body, t, strlen(t));
    paragraph_break(&r->body);
}

static void on_start(void *ctx, const xmlChar *xname, const xmlChar **atts) {
    (void)atts;
    reader *r = ctx;
    const char *name = (const char *)xname;
    if (r->depth == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        uint8_t *v = realloc(r->open, cap);
        if (!v) return fail_oom(r); /* the page fails; what follows is not read right */
        r->open = v;
        r->cap = cap;
    }
    uint8_t f = 0;
    if (!r->titled && !r->title_at && !strcmp(name, "title")) {
        r->title_at = r->skip + 1;
        f |= F_TITLE;
    }
    if (is_named(name, SKIPPED)) {
        f |= F_SKIP;
        r->skip++;
    } else {
        int level = r->skip || r->level ? 0 : heading_level(name);
        out *t[2];
        int n = level ? 0 : targets(r, t);
        if (level) {
            r->level = level;
            f |= F_HEADING;
        } else if (is_named(name, BLOCKS)) {
            f |= F_BLOCK;
        } else if (!strcmp(name, "td") || !strcmp(name, "th")) {
            for (int i = 0; i < n; i++)
                t[i]->pending_space = 1; /* cells of a row stay on one line, apart */
        }
        if (f & F_BLOCK)
            for (int i = 0; i < n; i++)
                paragraph_break(t[i]);
    }
    r->open[r->depth++] = f;
}

static void on_end(void *ctx, const xmlChar *name) {
    (void)name;
    reader *r = ctx;
    if (!r->depth) return;
    uint8_t f = r->open[--r->depth];
    if (f & F_SKIP) r->skip--;
    if (f & F_HEADING) {
        int level = r->level;
        r->level = 0;
        start_part(r, level, one_line(&r->heading));
    }
    if (f & F_BLOCK) {
        out *t[2];
        int n = targets(r, t);
        for (int i = 0; i < n; i++)
            paragraph_break(t[i]);
    }
    if (f & F_TITLE) {
        r->title_at = 0;
        char *t = one_line(&r->title);
        if (!t) return fail_oom(r);
        if (*t)
            r->titled = t;
        else
            free(t);
    }
}

static void on_text(void *ctx, const xmlChar *ch, int len) {
    reader *r = ctx;
    out *t[2];
    int n = targets(r, t);
    for (int i = 0; i < n; i++)
        put_text(t[i], (const char *)ch, (size_t)len);
}

rk_status rk_html_parts(const char *html, size_t n, const char *charset, const char *uri, rk_parts *out,
                        rk_error *err) {
    if (n > INT32_MAX) return rk_fail(err, RK_EFORMAT, "%s: HTML page of %zu bytes is too large", uri, n);
    if (!n) return RK_OK; /* no text */
    htmlParserCtxtPtr ctxt = htmlCreateMemoryParserCtxt(html, (int)n);
    if (!ctxt) return rk_fail(err, RK_ENOMEM, "%s: out of memory", uri);
    reader r = {.parts = out, .err = err};
    /* Script and style content comes as CDATA; both are dropped, but the
     * handler is the same so that nothing depends on it. Whitespace the
     * parser finds ignorable goes to the no-op that NOBLANKS installs. */
    *ctxt->sax = (htmlSAXHandler){
        .startElement = on_start, .endElement = on_end, .characters = on_text, .cdataBlock = on_text};
    ctxt->userData = &r;
    /* What htmlReadMemory does, but with these handlers. NONET: never fetch
     * a DTD. Without a charset given, the page's <meta charset> is honoured,
     * else UTF-8 read. */
    htmlCtxtUseOptions(ctxt, HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                 HTML_PARSE_NONET | HTML_PARSE_NOBLANKS);
    xmlCharEncodingHandlerPtr enc = charset ? xmlFindCharEncodingHandler(charset) : NULL;
    if (enc) {
        xmlSwitchToEncoding(ctxt, enc);
        xmlFree((xmlChar *)ctxt->input->encoding);
        ctxt->input->encoding = xmlStrdup((const xmlChar *)charset);
    } else {
        ctxt->charset = XML_CHAR_ENCODING_UTF8; /* as htmlReadMemory's context has: else Latin-1 is guessed */
    }
    ctxt->input->filename = (char *)xmlStrdup((const xmlChar *)uri);
    htmlParseDocument(ctxt);
    htmlFreeParserCtxt(ctxt);
    rk_status s = r.st;
    if (!s && (r.body.b.oom || r.path_title.oom)) s = rk_fail(err, RK_ENOMEM, "%s: out of memory", uri);
    if (!s && r.body.b.n)
        s = rk_parts_add(out, r.path_title.n ? r.path_title.p : "", 0, r.body.b.p, r.body.b.n, err);
    char *title = r.titled ? r.titled : r.h1, *unused = r.titled ? r.h1 : NULL;
    if (!s && !out->title) {
        out->title = title;
        title = NULL;
    }
    free(title);
    free(unused);
    free(r.body.b.p);
    free(r.heading.b.p);
    free(r.title.b.p);
    free(r.path_title.p);
    free(r.open);
    for (int i = 0; i < 6; i++)
        free(r.path[i]);
    return s;
}
