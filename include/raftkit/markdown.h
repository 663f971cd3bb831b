/* markdown.h — the text of a Markdown (CommonMark/GFM) file, for ingest.
 * Syntax is removed and what a reader reads is kept: ATX and Setext headings
 * start a new part titled by the heading path ("Guide > Install": a heading
 * of level L replaces levels L and deeper), and the heading's own text opens
 * that part as its own paragraph; text before the first heading is a part
 * titled "". Emphasis, code span backticks, links (their text kept; the URL
 * dropped), images (their alt text kept), HTML tags, list markers and task
 * boxes, block quote markers, table pipes and delimiter rows, reference
 * definitions, HTML comments (with what they hold) and front matter
 * (--- YAML --- at the top) are removed; autolinks keep their URL, a <br> is
 * a line break, backslash escapes and HTML entities are decoded. Fenced and
 * indented code blocks keep their lines verbatim (without the fences), as one
 * paragraph. Paragraphs stay separated by blank lines and keep their lines;
 * list items and table rows are each a line, a row's cells one space apart.
 * "[text]" alone is a link only when a definition of "text" exists, else it
 * stays as typed; definitions must fit on one line. Linear in the input, so
 * hostile files cost no more than long ones. Not for rendering HTML. */
#ifndef RAFTKIT_MARKDOWN_H
#define RAFTKIT_MARKDOWN_H

#include <stddef.h>

#include "raftkit/reader.h"

/* Appends the parts of src[0..n) to *out and, when out->title is NULL, sets
 * it to the first level-1 heading (else the first heading, else leaves it
 * NULL). The bytes need not be valid UTF-8 (invalid ones pass through for
 * normalization to repair). Fails only with RK_ENOMEM. */
rk_status rk_markdown_parts(const char *src, size_t n, rk_parts *out, rk_error *err);

#endif
