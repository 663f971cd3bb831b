/* chunk.h — splitting one part of a normalized document into chunks, and
 * text into sentences.
 *
 * Three chunkers, as users of LangChain and LlamaIndex know them:
 *  - RK_CHUNKER_RECURSIVE (the default; LangChain's
 *    RecursiveCharacterTextSplitter): the text is split at the coarsest
 *    boundary that makes pieces fit — paragraphs (blank lines), then lines,
 *    then sentences, then words (whitespace), then grapheme clusters; only a
 *    piece above `size` is split at the next level. All pieces are then
 *    packed greedily, left to right, into chunks of at most `size` units,
 *    counted over the text from the chunk start to the piece end (the
 *    whitespace between pieces included).
 *  - RK_CHUNKER_SENTENCE (LlamaIndex's SentenceSplitter): sentences packed
 *    the same way; a sentence longer than `size` is cut at words (then
 *    between clusters, for one giant word).
 *  - RK_CHUNKER_FIXED: windows of `size` units (the last may be shorter),
 *    each starting `size - overlap` units after the previous one.
 *    In chars, a window end that falls inside a grapheme cluster moves back
 *    to its start, and so does the start of the next window; then windows
 *    are trimmed of whitespace, which can make them shorter. A window that
 *    trimming leaves with nothing new is dropped, and one that starts where
 *    the previous one does replaces it. Sizes and overlaps are exact where
 *    no cluster has several code points and no whitespace is trimmed.
 *    In words, a window holds exactly `size` words and starts after the
 *    whitespace before its first word (where words touch, at the word), so
 *    punctuation goes with the words it touches and every character is in a
 *    window; consecutive windows share exactly `overlap` words.
 *
 * Units: RK_UNIT_CHARS counts code points; RK_UNIT_WORDS counts words as
 * rk_text_next_word finds them in the chunk's own text (a chunk cut inside a
 * giant word counts its part as one), except that a word starting inside
 * the grapheme cluster where the one before ends (a mark after a zero-width
 * joiner) counts as part of it, since no cut can part them. A cut is only
 * ever made at a grapheme cluster boundary, so no chunk splits a UTF-8
 * sequence or a cluster (one cluster longer than `size` is kept whole: the
 * only case of a chunk above the size). Whitespace is a space or a newline
 * that is a cluster by itself (a space carrying a combining mark is text).
 *
 * Sentences end at . ! ? and the Unicode terminators 。！？．।؟‼⁇⁈⁉, with any
 * closing quotes and brackets after them (' " and the categories Pe and
 * Pf). The Unicode ones always end a sentence; the ASCII ones only before
 * whitespace followed by something other than a lower-case letter ("e.g.
 * the" goes on), and a single '.' neither after one of the abbreviations
 * e.g. i.e. etc. vs. mr. mrs. ms. dr. prof. st. jr. sr. no. fig. approx.
 * inc. ltd. co. cf. al. ca. (in any case) nor after a single letter
 * ("J. Smith", "U.S. Army", "plan B. Then" too). Decimals ("3.14") never
 * end one: no whitespace follows the dot. A blank line ends a sentence; a
 * single line break does not.
 *
 * Overlap: the next chunk starts inside the previous one. Fixed: `overlap`
 * units, as above. Recursive and sentence: the longest run of whole
 * sentences that ends the previous chunk and has at most `overlap` units
 * (none when the last sentence alone is longer, as LlamaIndex's
 * SentenceSplitter does: an overlap starting mid-sentence makes chunks that
 * retrieval confuses with the one holding the whole sentence). The overlap
 * shrinks until the piece that did not fit in the previous chunk fits with
 * it. Overlap 0 means chunks are disjoint.
 *
 * A chunk is a byte span with no leading or trailing whitespace, so its text
 * is exactly text[start, end); chunks start in increasing order and end in
 * increasing order, and every character but whitespace is in one. Chunking
 * is linear in the text length (a 50 MB line without spaces is fine). */
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
 * RK_EINVAL when size is 0, overlap >= size or the kind or unit is unknown;
 * RK_ENOMEM. */
rk_status rk_chunk_text(const char *text, size_t n, const rk_chunk_opts *o, rk_span **spans, size_t *count,
                        rk_error *err);

/* The sentences of text[0..n) (valid UTF-8, NUL-terminated) as the
 * sentence chunker finds them (rules above; a blank line ends one too), each
 * span trimmed of whitespace, into *spans (the caller frees) and *count.
 * Used by the offline question generator. RK_ENOMEM. */
rk_status rk_text_sentences(const char *text, size_t n, rk_span **spans, size_t *count, rk_error *err);

/* The size of text[0..n) in unit u. */
size_t rk_chunk_units(const char *text, size_t n, rk_chunk_unit u);

#endif
