/* html.h — the text of an HTML page, through libxml2's HTML parser, for
 * ingest. What a reader would not read is dropped (script, style, noscript,
 * template, nav, footer, head but its title); block elements (paragraphs,
 * headings, list items, table rows, ...) become paragraphs separated by blank
 * lines, so the chunker keeps them apart; runs of whitespace inside a block
 * become one space. */
#ifndef RAFTKIT_HTML_H
#define RAFTKIT_HTML_H

#include <stddef.h>

#include "raftkit/status.h"

/* Extracts the text of n bytes of HTML into *text (*len bytes, UTF-8,
 * NUL-terminated) and its title (<title>, else the first <h1>, else NULL)
 * into *title; the caller frees both. The page's declared charset is
 * honoured; without one UTF-8 is assumed. uri names the page in errors.
 * Broken markup is repaired the way browsers do; only an unparseable
 * document (or no memory) fails, with RK_EFORMAT. */
rk_status rk_html_text(const char *html, size_t n, const char *uri, char **text, size_t *len, char **title,
                       rk_error *err);

#endif
