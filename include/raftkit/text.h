/* text.h — UTF-8 text handling through utf8proc: normalization of whole
 * documents and the word segmentation shared by the chunker and the embedders.
 * Not for tokenization of model inputs (that is model/'s tokenizers). */
#ifndef RAFTKIT_TEXT_H
#define RAFTKIT_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/status.h"

typedef enum rk_norm_form {
    RK_NORM_NFC = 0,
    RK_NORM_NFKC = 1,
} rk_norm_form;

/* What normalization had to repair. */
typedef struct rk_text_report {
    size_t invalid;       /* invalid UTF-8 sequences replaced by U+FFFD */
    size_t first_invalid; /* byte offset in the input of the first one */
} rk_text_report;

/* Normalizes n bytes of (possibly invalid) UTF-8 into a new NUL-terminated
 * string *out of *out_n bytes, which the caller frees:
 *  - each invalid byte sequence becomes U+FFFD and is counted in rep;
 *  - CRLF, CR, NEL, LS and PS become LF; a tab becomes a space;
 *  - other control characters, the BOM and zero-width spaces are removed;
 *  - the result is in the given normalization form;
 *  - whitespace is collapsed: each run of spaces (any Zs character) becomes
 *    one space, lines lose their leading and trailing spaces, runs of blank
 *    lines become one blank line (paragraph breaks are kept), and the text
 *    neither starts nor ends with whitespace.
 * Fails only with RK_ENOMEM. */
rk_status rk_text_normalize(const char *in, size_t n, rk_norm_form form, char **out, size_t *out_n,
                            rk_text_report *rep, rk_error *err);

/* Finds the next word of s[0..n) at or after *pos: a maximal run of letters,
 * digits and combining marks. Writes its lower-cased UTF-8 (truncated to a
 * whole code point within cap-1 bytes, NUL-terminated) into buf, sets *start
 * and *pos to its byte span [*start, *pos) and returns the bytes written, or
 * 0 when no word is left. s must be valid UTF-8 (normalized text is). */
size_t rk_text_next_word(const char *s, size_t n, size_t *pos, size_t *start, char *buf, size_t cap);

/* The number of words rk_text_next_word would find in s[0..n). */
size_t rk_text_count_words(const char *s, size_t n);

/* The number of invalid UTF-8 sequences in s[0..n) (counted as
 * rk_text_normalize counts them); *first_invalid (may be NULL) gets the byte
 * offset of the first one. */
size_t rk_utf8_check(const char *s, size_t n, size_t *first_invalid);

/* Number of code points in valid UTF-8. */
size_t rk_utf8_length(const char *s, size_t n);

/* The length of the run of ASCII bytes that s[0..n) starts with: the fast
 * paths of the text passes skip such runs eight bytes at a time. */
size_t rk_ascii_prefix(const char *s, size_t n);

#endif
