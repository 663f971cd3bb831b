/* html.c — HTML to paragraphs of text with libxml2. */
#include "raftkit/html.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

typedef struct buf {
    char *p;
    size_t n, cap;
    int oom;
    int pending_space; /* whitespace seen since the last character written */
} buf;

static void put(buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = 2 * (b->n + n + 1);
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

/* Ends the current paragraph: a blank line, unless one is already there. */
static void paragraph_break(buf *b) {
    b->pending_space = 0;
    if (b->n == 0 || (b->n >= 2 && b->p[b->n - 1] == '\n' && b->p[b->n - 2] == '\n')) return;
    put(b, b->p[b->n - 1] == '\n' ? "\n" : "\n\n", b->p[b->n - 1] == '\n' ? 1 : 2);
}

/* Appends text with whitespace runs collapsed to one space. */
static void put_text(buf *b, const char *s) {
    for (; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f') {
            b->pending_space = 1;
            continue;
        }
        if (b->pending_space && b->n && b->p[b->n - 1] != '\n') put(b, " ", 1);
        b->pending_space = 0;
        put(b, s, 1);
    }
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

static void walk(const xmlNode *n, buf *b) {
    for (; n; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content) put_text(b, (const char *)n->content);
        } else if (n->type == XML_ELEMENT_NODE && !is_named(n, SKIPPED)) {
            int block = is_named(n, BLOCKS);
            if (block)
                paragraph_break(b);
            else if (!xmlStrcasecmp(n->name, (const xmlChar *)"td") ||
                     !xmlStrcasecmp(n->name, (const xmlChar *)"th"))
                b->pending_space = 1; /* cells of a row stay on one line, apart */
            walk(n->children, b);
            if (block) paragraph_break(b);
        }
    }
}

/* The text of the first element called name, trimmed; NULL when none. */
static char *first_text(xmlNode *n, const char *name) {
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        if (!xmlStrcasecmp(n->name, (const xmlChar *)name)) {
            buf b = {0};
            walk(n->children, &b);
            if (b.oom || b.n == 0) {
                free(b.p);
                return NULL;
            }
            size_t end = b.n;
            while (end && b.p[end - 1] == '\n')
                end--;
            b.p[end] = 0;
            return b.p;
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
    buf b = {0};
    walk(root, &b);
    char *t = first_text(root, "title");
    if (!t) t = first_text(root, "h1");
    xmlFreeDoc(doc);
    if (b.oom) {
        free(b.p);
        free(t);
        return rk_fail(err, RK_ENOMEM, "%s: out of memory", uri);
    }
    rk_status s = b.n ? rk_parts_add(out, NULL, 0, b.p, b.n, err) : RK_OK;
    free(b.p);
    if (!out->title) out->title = t;
    else free(t);
    return s;
}
