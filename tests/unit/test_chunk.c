/* Unit tests for ingest/chunk.c: the invariants every chunking must keep. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/chunk.h"
#include "raftkit/text.h"

static int is_space(char c) { return c == ' ' || c == '\n'; }

/* Checks the invariants of chunks of t, returns the spans. */
static rk_span *chunk_checked(const char *t, size_t size, size_t overlap, size_t *count) {
    rk_chunk_opts o = {.size = size, .overlap = overlap};
    rk_span *s = NULL;
    rk_error e = {0};
    size_t n = strlen(t);
    cr_assert_eq(rk_chunk_text(t, n, &o, &s, count, &e), RK_OK, "%s", e.msg);
    for (size_t i = 0; i < *count; i++) {
        cr_assert_lt(s[i].start, s[i].end);
        cr_assert_leq(s[i].end, n);
        cr_assert_leq(rk_utf8_length(t + s[i].start, s[i].end - s[i].start), size, "chunk %zu is too long",
                      i);
        cr_assert(!is_space(t[s[i].start]) && !is_space(t[s[i].end - 1]), "chunk %zu is not trimmed", i);
        cr_assert_neq((unsigned char)t[s[i].start] & 0xC0, 0x80, "chunk %zu starts inside a code point", i);
        cr_assert(s[i].end == n || ((unsigned char)t[s[i].end] & 0xC0) != 0x80, "chunk %zu ends inside one",
                  i);
        if (i) {
            cr_assert_gt(s[i].start, s[i - 1].start, "chunks advance");
            cr_assert_gt(s[i].end, s[i - 1].end, "chunks advance");
            if (s[i].start < s[i - 1].end) { /* an overlap: whole sentences, at most `overlap` long */
                cr_assert_leq(rk_utf8_length(t + s[i].start, s[i - 1].end - s[i].start), overlap);
                cr_assert(is_space(t[s[i].start - 1]));
            }
        }
    }
    /* Every non-space byte is in some chunk. */
    for (size_t b = 0, i = 0; b < n; b++) {
        if (is_space(t[b])) continue;
        while (i < *count && s[i].end <= b)
            i++;
        cr_assert(i < *count && s[i].start <= b, "byte %zu is in no chunk", b);
    }
    return s;
}

Test(chunk, paragraphs_are_packed_up_to_the_size) {
    const char *t = "First para one.\n\nSecond para two.\n   \nThird para three.\n\n\nFourth.";
    size_t n;
    rk_span *s = chunk_checked(t, 40, 0, &n);
    cr_assert_eq(n, 2);
    cr_assert_eq(s[0].start, 0);
    cr_assert_eq(strncmp(t + s[0].start, "First para one.\n\nSecond para two.", s[0].end - s[0].start), 0);
    cr_assert_eq(strncmp(t + s[1].start, "Third para three.\n\n\nFourth.", s[1].end - s[1].start), 0);
    free(s);
}

Test(chunk, a_paragraph_line_break_is_not_a_boundary) {
    const char *t = "one line\ncontinues here\n\nnext";
    size_t n;
    rk_span *s = chunk_checked(t, 23, 0, &n);
    cr_assert_eq(n, 2, "the two-line paragraph fits in 23 and stays whole");
    cr_assert_eq(s[0].end, strlen("one line\ncontinues here"));
    free(s);
}

Test(chunk, long_paragraphs_are_cut_at_sentences_then_words) {
    const char *t =
        "Alpha beta gamma. Delta epsilon zeta eta. Theta iota kappa lambda mu nu xi omicron pi rho.";
    size_t n;
    rk_span *s = chunk_checked(t, 45, 0, &n);
    cr_assert_geq(n, 3);
    cr_assert_eq(t[s[0].end - 1], '.', "the first cut is at a sentence end");
    free(s);
    const char *nospace = "abcdefghijklmnopqrstuvwxyz";
    s = chunk_checked(nospace, 10, 0, &n);
    cr_assert_eq(n, 3, "a word longer than the size is cut hard");
    free(s);
}

Test(chunk, multibyte_text_is_cut_on_code_points) {
    /* 30 four-byte emoji and 2-byte letters with no spaces. */
    char t[400] = "";
    for (int i = 0; i < 30; i++)
        snprintf(t + strlen(t), sizeof t - strlen(t), "%s", i % 2 ? "\xf0\x9f\x98\x80" : "\xc3\xa9");
    size_t n;
    rk_span *s = chunk_checked(t, 7, 0, &n);
    cr_assert_eq(n, 5);
    free(s);
}

Test(chunk, overlap_repeats_whole_sentences) {
    const char *t = "One two three. Four five six. Seven eight nine. Ten eleven twelve. Thirteen fourteen.";
    size_t n;
    rk_span *s = chunk_checked(t, 60, 32, &n);
    cr_assert_geq(n, 2);
    cr_assert_lt(s[1].start, s[0].end, "consecutive chunks overlap");
    cr_assert_eq(strncmp(t + s[1].start, "Seven eight nine.", 17), 0, "%.*s", (int)(s[0].end - s[1].start),
                 t + s[1].start);
    free(s);
}

Test(chunk, generated_text_keeps_every_invariant) {
    char *t = malloc(200000);
    size_t at = 0;
    unsigned seed = 7;
    for (int para = 0; para < 300; para++) {
        int sentences = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 8;
        for (int k = 0; k < sentences; k++) {
            int words = 3 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 20;
            for (int w = 0; w < words; w++)
                at += (size_t)snprintf(t + at, 200000 - at, "%s%s", w ? " " : "",
                                       (seed = seed * 1103515245 + 12345) & 0x100 ? "wörd" : "x");
            at += (size_t)snprintf(t + at, 200000 - at, ". ");
        }
        at += (size_t)snprintf(t + at, 200000 - at, "\n\n");
    }
    size_t sizes[] = {20, 100, 500, 1000};
    for (int i = 0; i < 4; i++) {
        size_t n;
        free(chunk_checked(t, sizes[i], sizes[i] / 5, &n));
        cr_assert_gt(n, 0);
    }
    free(t);
}

Test(chunk, bad_options_and_empty_text) {
    rk_chunk_opts o = {.size = 100, .overlap = 100};
    rk_span *s = NULL;
    size_t n = 9;
    rk_error e = {0};
    cr_assert_eq(rk_chunk_text("abc", 3, &o, &s, &n, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "overlap"), "%s", e.msg);
    o.overlap = 0;
    cr_assert_eq(rk_chunk_text(" \n\n  \n", 6, &o, &s, &n, &e), RK_OK);
    cr_assert_eq(n, 0);
    free(s);
}
