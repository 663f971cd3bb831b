/* html.c — HTML to paragraphs of text with libxml2. */
#include "raftkit/html.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/buf.h"

/* Where the text goes: with parts set, headings close the part being written
 * and open one titled by the heading path; without, text just accumulates. */
typedef struct sink {
    rk_buf b;
    int pending_space; /* whitespace seen since the last character written */
    rk_parts *parts;
    char *path[6]; /* the text of the enclosing heading of each level */
    rk_buf title;  /* the path joined */
    char *h1;      /* the first level-1 heading read */
    rk_status st;
    rk_error *err;
} sink;

/* Ends the current paragraph: a blank line, unless one is already there. */
static void paragraph_break(sink *k) {
    rk_buf *b = &k->b;
    k->pending_space = 0;
    if (b->n == 0 || (b->n >= 2 && b->p[b->n - 1] == '\n' && b->p[b->n - 2] == '\n')) return;
    rk_buf_put(b, b->p[b->n - 1] == '\n' ? "\n" : "\n\n", b->p[b->n - 1] == '\n' ? 1 : 2);
}

/* Appends text with whitespace runs collapsed to one space. */
/* HTML's whitespace: space, tab, LF, FF and CR. A byte above the space
 * is text, which makes the common test one comparison. */
static int is_space(char c) {
    return (unsigned char)c <= ' ' && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f');
}

static void put_text(sink *k, const char *s) {
    rk_buf *b = &k->b;
    /* Collapsing never lengthens the text but for one space in front. */
    char *w = rk_buf_reserve(b, strlen(s) + 1), *start = w;
    if (!w) return;
    while (*s) {
        if (is_space(*s)) {
            k->pending_space = 1;
            s++;
            continue;
        }
        if (k->pending_space && w > b->p && w[-1] != '\n') *w++ = ' ';
        k->pending_space = 0;
        do
            *w++ = *s++;
        while ((unsigned char)*s > ' ' || (*s && !is_space(*s)));
    }
    b->n += (size_t)(w - start);
    b->p[b->n] = 0;
}

static int is_named(const xmlNode *n, const char *const *names) {
    for (; *names; names++)
        if (!xmlStrcasecmp(n->name, (const xmlChar *)*names)) return 1;
    return 0;
}

static const char *const SKIPPED[] = {"script", "style",  "noscript", "template", "nav",  "footer",
                                      "head",   "iframe", "svg",      "button",   "form", NULL};
static const char *const BLOCKS[] = {
    "p",          "div", "section", "article", "main",    "header",  "aside",      "h1",
    "h2",         "h3",  "h4",      "h5",      "h6",      "li",      "ul",         "ol",
    "dl",         "dt",  "dd",      "tr",      "table",   "pre",     "blockquote", "figure",
    "figcaption", "hr",  "br",      "address", "details", "summary", "body",       NULL};

static void walk(const xmlNode *n, sink *k);

static int heading_level(const xmlNode *n) {
    const char *name = (const char *)n->name;
    if ((name[0] != 'h' && name[0] != 'H') || name[1] < '1' || name[1] > '6' || name[2]) return 0;
    return name[1] - '0';
}

/* The text of n's children on one line. */
static char *text_of(const xmlNode *n) {
    sink k = {0};
    walk(n->children, &k);
    if (k.b.oom) {
        free(k.b.p);
        return NULL;
    }
    size_t w = 0;
    for (size_t i = 0; i < k.b.n; i++)
        if (k.b.p[i] != '\n')
            k.b.p[w++] = k.b.p[i];
        else if (w && k.b.p[w - 1] != ' ')
            k.b.p[w++] = ' ';
    while (w && k.b.p[w - 1] == ' ')
        w--;
    char *t = strndup(k.b.p ? k.b.p : "", w);
    free(k.b.p);
    return t;
}

/* Closes the part being written and opens the one of heading n. */
static void start_part(const xmlNode *n, int level, sink *k) {
    char *t = text_of(n);
    if (!t) {
        k->st = rk_fail(k->err, RK_ENOMEM, "out of memory");
        return;
    }
    if (k->b.n && !k->st)
        k->st = rk_parts_add(k->parts, k->title.n ? k->title.p : "", 0, k->b.p, k->b.n, k->err);
    k->b.n = 0;
    k->pending_space = 0;
    for (int i = level - 1; i < 6; i++) {
        free(k->path[i]);
        k->path[i] = NULL;
    }
    k->path[level - 1] = t;
    if (level == 1 && *t && !k->h1 && !(k->h1 = strdup(t)))
        k->st = rk_fail(k->err, RK_ENOMEM, "out of memory");
    k->title.n = 0;
    for (int i = 0; i < 6; i++) {
        if (!k->path[i] || !*k->path[i]) continue;
        if (k->title.n) rk_buf_put(&k->title, " > ", 3);
        rk_buf_put(&k->title, k->path[i], strlen(k->path[i]));
    }
    put_text(k, t);
    paragraph_break(k);
}

static void walk(const xmlNode *n, sink *k) {
    for (; n; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content) put_text(k, (const char *)n->content);
        } else if (n->type == XML_ELEMENT_NODE && !is_named(n, SKIPPED)) {
            int level = k->parts ? heading_level(n) : 0;
            if (level) {
                start_part(n, level, k);
                continue;
            }
            int block = is_named(n, BLOCKS);
            if (block)
                paragraph_break(k);
            else if (!xmlStrcasecmp(n->name, (const xmlChar *)"td") ||
                     !xmlStrcasecmp(n->name, (const xmlChar *)"th"))
                k->pending_space = 1; /* cells of a row stay on one line, apart */
            walk(n->children, k);
            if (block) paragraph_break(k);
        }
    }
}

/* The text of the first element called name, trimmed; NULL when none. */
static char *first_text(xmlNode *n, const char *name) {
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        if (!xmlStrcasecmp(n->name, (const xmlChar *)name)) {
            char *t = text_of(n);
            if (t && !*t) {
                free(t);
                t = NULL;
            }
            return t;
        }
        char *t = first_text(n->children, name);
        if (t) return t;
    }
    return NULL;
}

rk_status rk_html_parts(const char *html, size_t n, const char *charset, const char *uri, rk_parts *out,
                        rk_error *err) {
    if (n > INT32_MAX) return rk_fail(err, RK_EFORMAT, "%s: HTML page of %zu bytes is too large", uri, n);
    /* NONET: never fetch a DTD; the page's own <meta charset> wins over the given one. */
    htmlDocPtr doc = htmlReadMemory(html, (int)n, uri, charset,
                                    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                        HTML_PARSE_NONET | HTML_PARSE_NOBLANKS);
    if (!doc) return rk_fail(err, RK_EFORMAT, "%s: not parseable as HTML", uri);
    xmlNode *root = xmlDocGetRootElement(doc);
    sink k = {.parts = out, .err = err};
    walk(root, &k);
    char *t = first_text(root, "title");
    if (!t) {
        t = k.h1;
        k.h1 = NULL;
    }
    xmlFreeDoc(doc);
    rk_status s = k.st;
    if (!s && (k.b.oom || k.title.oom)) s = rk_fail(err, RK_ENOMEM, "%s: out of memory", uri);
    if (!s && k.b.n) s = rk_parts_add(out, k.title.n ? k.title.p : "", 0, k.b.p, k.b.n, err);
    free(k.b.p);
    free(k.title.p);
    free(k.h1);
    for (int i = 0; i < 6; i++)
        free(k.path[i]);
    if (!s && !out->title)
        out->title = t;
    else
        free(t);
    return s;
}
