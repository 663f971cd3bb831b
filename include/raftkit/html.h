/* html.h — the text of an HTML page, through libxml2's HTML parser, for
 * ingest. What a reader would not read is dropped (script, style, noscript,
 * template, nav, footer, head but its title, ...); block elements
 * (paragraphs, headings, list items, table rows, ...) become paragraphs
 * separated by blank lines, so the chunker keeps them apart; runs of
 * whitespace inside a block become one space. Each heading (h1..h6) starts a
 * new part titled by the heading path ("Guide > Install": a heading of level
 * L replaces levels L and deeper), with the heading's text as the part's
 * first paragraph; text before the first heading is a part titled "".
 * Headings inside dropped elements (a <nav>'s) start no part. */
#ifndef RAFTKIT_HTML_H
#define RAFTKIT_HTML_H

#include <stddef.h>

#include "raftkit/reader.h"

/* Appends the parts of n bytes of HTML to *out and, when out->title is NULL,
 * sets it (<title>, else the first <h1> outside dropped elements, else left
 * NULL). A charset given (e.g. from an HTTP Content-Type; NULL for none)
 * wins, as in browsers; without one, the page's declared charset is
 * honoured, else UTF-8. uri names the page in errors. Broken markup is
 * repaired the way browsers do: only a page over 2 GiB (RK_EFORMAT) or
 * memory (RK_ENOMEM) fails. */
rk_status rk_html_parts(const char *html, size_t n, const char *charset, const char *uri, rk_parts *out,
                        rk_error *err);

#endif
