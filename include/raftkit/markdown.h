/* markdown.h — the text of a Markdown (CommonMark/GFM) file, for ingest.
 * Syntax is removed and what a reader reads is kept: ATX and Setext headings
 * start a new part titled by the heading path ("Guide > Install"), and the
 * heading's own text opens that part as a line; emphasis, code spans, links
 * (their text; the URL dropped), images (their alt text), HTML tags, list
 * markers, block quote markers, table pipes and delimiter rows, and front
 * matter (--- YAML ---) are removed; fenced and indented code blocks keep
 * their contents (without the fences); paragraphs stay separated by blank
 * lines, list items and table rows each on their own line.
 * Not for rendering HTML. */
#ifndef RAFTKIT_MARKDOWN_H
#define RAFTKIT_MARKDOWN_H

#include <stddef.h>

#include "raftkit/reader.h"

/* Appends the parts of src[0..n) to *out and sets out->title to the first
 * level-1 heading (else the first heading, else leaves it NULL). The bytes
 * need not be valid UTF-8 (invalid ones pass through for normalization to
 * repair). Fails only with RK_ENOMEM. */
rk_status rk_markdown_parts(const char *src, size_t n, rk_parts *out, rk_error *err);

#endif
