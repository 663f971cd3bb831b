/* chunk.h — splitting one part of a normalized document into chunks.
 *
 * Three chunkers, as users of LangChain and LlamaIndex know them:
 *  - RK_CHUNKER_RECURSIVE (the default; LangChain's
 *    RecursiveCharacterTextSplitter): the text is split at the coarsest
 *    boundary that makes pieces fit — paragraphs (blank lines), then lines,
 *    then sentences, then words, then grapheme clusters — and neighbouring
 *    pieces are packed greedily into chunks of at most `size` units.
 *  - RK_CHUNKER_SENTENCE (LlamaIndex's SentenceSplitter): whole sentences
 *    packed into chunks; a sentence longer than `size` is cut at words.
 *  - RK_CHUNKER_FIXED: windows of exactly `size` units (the last may be
 *    shorter), each starting `size - overlap` units after the previous one.
 *
 * Units: RK_UNIT_CHARS counts code points; RK_UNIT_WORDS counts words as
 * rk_text_next_word finds them. A cut is only ever made at a grapheme
 * cluster boundary, so no chunk splits a UTF-8 sequence or a cluster (one
 * cluster longer than `size` is kept whole: the only case of a chunk above
 * the size).
 *
 * Sentences end at . ! ? and the Unicode sentence terminators (。！？ etc.)
 * with any closing quotes and brackets after them, and for ASCII terminators
 * only before whitespace followed by something that is not a lower-case
 * letter; decimals ("3.14"), known abbreviations ("e.g.", "i.e.", "Dr.",
 * "etc.", "vs.", ...) and single-letter initials ("J. Smith") do not end one.
 *
 * Overlap: consecutive chunks share text. Fixed: exactly `overlap` units.
 * Recursive: the longest run of whole words that ends the previous chunk and
 * has at most `overlap` units. Sentence: the longest run of whole sentences
 * that ends the previous chunk and has at most `overlap` units (none when the
 * last sentence alone is longer). Overlap 0 means chunks are disjoint.
 *
 * A chunk is a byte span with no leading or trailing whitespace, so its text
 * is exactly text[start, end). Chunking is linear in the text length (a
 * 50 MB line without spaces is fine). */
#ifndef RAFTKIT_CHUNK_H
#define RAFTKIT_CHUNK_H

#include <stddef.h>

#include "raftkit/status.h"

typedef struct rk_span {
    size_t start, end; /* bytes */
} rk_span;

typedef enum rk_chunker {
    RK_CHUNKER_RECURSIVE = 0,
    RK_CHUNKER_SENTENCE = 1,
    RK_CHUNKER_FIXED = 2,
} rk_chunker;

typedef enum rk_chunk_unit {
    RK_UNIT_CHARS = 0, /* code points */
    RK_UNIT_WORDS = 1,
} rk_chunk_unit;

typedef struct rk_chunk_opts {
    rk_chunker kind;
    rk_chunk_unit unit;
    size_t size;    /* units, > 0 */
    size_t overlap; /* units, < size */
} rk_chunk_opts;

/* Parses "recursive", "sentence", "fixed" / "chars", "words"; -1 when unknown. */
int rk_chunker_parse(const char *name);
int rk_chunk_unit_parse(const char *name);

/* Chunks text[0..n) (valid UTF-8, NUL-terminated) into *spans (the caller
 * frees) and *count; text with nothing but whitespace gives no chunk.
 * RK_EINVAL when size is 0 or overlap >= size; RK_ENOMEM. */
rk_status rk_chunk_text(const char *text, size_t n, const rk_chunk_opts *o, rk_span **spans, size_t *count,
                        rk_error *err);

/* The size of text[0..n) in unit u. */
size_t rk_chunk_units(const char *text, size_t n, rk_chunk_unit u);

#endif
