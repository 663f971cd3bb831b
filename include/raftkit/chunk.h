/* chunk.h — splitting a normalized document into chunks.
 * Paragraphs (separated by blank lines) are packed greedily into chunks of at
 * most `size` code points; a paragraph longer than that is cut at the last
 * sentence end, else the last space, else the last code point that fits.
 * Consecutive chunks share the whole sentences that end the first chunk
 * within its last `overlap` code points (none when no sentence starts there).
 * A chunk is a byte span of the text with no leading or trailing whitespace,
 * so its text is exactly text[start, end). */
#ifndef RAFTKIT_CHUNK_H
#define RAFTKIT_CHUNK_H

#include <stddef.h>

#include "raftkit/status.h"

typedef struct rk_span {
    size_t start, end; /* bytes */
} rk_span;

typedef struct rk_chunk_opts {
    size_t size;    /* code points, > 0 */
    size_t overlap; /* code points, < size */
} rk_chunk_opts;

/* Chunks text[0..n) (valid UTF-8) into *spans (the caller frees) and *count.
 * RK_EINVAL when size is 0 or overlap >= size. */
rk_status rk_chunk_text(const char *text, size_t n, const rk_chunk_opts *o, rk_span **spans, size_t *count,
                        rk_error *err);

#endif
