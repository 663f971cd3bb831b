/* Unit tests for core/text.c: normalization and words. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "raftkit/text.h"

static char *norm(const char *in, size_t n, rk_norm_form form, rk_text_report *rep) {
    char *out = NULL;
    size_t m = 0;
    rk_error e = {0};
    cr_assert_eq(rk_text_normalize(in, n, form, &out, &m, rep, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(strlen(out), m);
    return out;
}

Test(text, nfc_composes) {
    char *s = norm("Cafe\xcc\x81", 6, RK_NORM_NFC, NULL); /* e + COMBINING ACUTE */
    cr_assert_str_eq(s, "Caf\xc3\xa9");
    free(s);
}

Test(text, nfkc_folds_compatibility_forms) {
    const char *in = "\xef\xac\x81nd \xe2\x91\xa0"; /* LATIN SMALL LIGATURE FI, CIRCLED DIGIT ONE */
    char *c = norm(in, strlen(in), RK_NORM_NFC, NULL), *k = norm(in, strlen(in), RK_NORM_NFKC, NULL);
    cr_assert_str_eq(c, in);
    cr_assert_str_eq(k, "find 1");
    free(c);
    free(k);
}

Test(text, line_endings_controls_and_invisibles) {
    const char in[] = "\xef\xbb\xbf"
                      "a\r\nb\rc\x0b"
                      "d\te\xe2\x80\xa8"
                      "f\xe2\x80\x8bg\x07";
    char *s = norm(in, sizeof in - 1, RK_NORM_NFC, NULL);
    cr_assert_str_eq(s, "a\nb\ncd e\nfg");
    free(s);
}

Test(text, invalid_utf8_is_replaced_and_reported) {
    const char in[] = "ok \xff\xfe then \xc3 end \xed\xa0\x80"; /* bad bytes, truncated seq, surrogate */
    rk_text_report rep;
    char *s = norm(in, sizeof in - 1, RK_NORM_NFC, &rep);
    cr_assert_eq(rep.first_invalid, 3);
    cr_assert_eq(rep.invalid, 6); /* 2 + 1 + 3: each bad byte is one replacement */
    cr_assert(strstr(s, "ok \xef\xbf\xbd\xef\xbf\xbd then"), "%s", s);
    free(s);
    rk_text_report clean;
    free(norm("fine", 4, RK_NORM_NFC, &clean));
    cr_assert_eq(clean.invalid, 0);
}

Test(text, words_are_lowercased_runs_of_letters_and_digits) {
    const char *t = "Ünïcode-Text, 42 times; O'Brien";
    const char *want[] = {"ünïcode", "text", "42", "times", "o", "brien"};
    size_t pos = 0, start, len, i = 0;
    char w[64];
    while ((len = rk_text_next_word(t, strlen(t), &pos, &start, w, sizeof w))) {
        cr_assert_lt(i, 6);
        cr_assert_str_eq(w, want[i]);
        cr_assert_eq(len, strlen(want[i]));
        i++;
    }
    cr_assert_eq(i, 6);
    pos = 0;
    rk_text_next_word(t, strlen(t), &pos, &start, w, sizeof w);
    rk_text_next_word(t, strlen(t), &pos, &start, w, sizeof w);
    cr_assert_eq(start, strlen("Ünïcode-"), "span of the second word");
}

/* Counting takes a fast path over ASCII runs; it must agree with walking
 * the words one by one, wherever the non-ASCII pieces fall. */
Test(text, count_words_agrees_with_next_word) {
    static const char *const pieces[] = {
        "a",    "Z", "9", " ", ".", "-", "'", "\n", "\xc3\xa9", "\xcc\x81", "\xe4\xb8\xad", "\xe2\x80\x94",
        "word", "x1"};
    uint64_t rng = 7;
    for (int round = 0; round < 2000; round++) {
        char t[256];
        size_t n = 0;
        for (int k = (int)(rng % 40); k >= 0; k--) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            const char *p = pieces[(rng >> 33) % (sizeof pieces / sizeof *pieces)];
            memcpy(t + n, p, strlen(p));
            n += strlen(p);
        }
        size_t pos = 0, start, words = 0;
        char w[64];
        while (rk_text_next_word(t, n, &pos, &start, w, sizeof w))
            words++;
        cr_assert_eq(rk_text_count_words(t, n), words, "round %d: %.*s", round, (int)n, t);
    }
}

Test(text, ascii_prefix_stops_at_the_first_high_byte) {
    char t[64];
    memset(t, 'a', sizeof t);
    cr_assert_eq(rk_ascii_prefix(t, sizeof t), sizeof t);
    for (size_t at = 0; at < sizeof t; at++) {
        t[at] = (char)0xC3;
        cr_assert_eq(rk_ascii_prefix(t, sizeof t), at);
        cr_assert_eq(rk_ascii_prefix(t + 1, at ? at - 1 : 0), at ? at - 1 : 0, "stops at n");
        t[at] = 'a';
    }
}

Test(text, utf8_length_counts_code_points) {
    cr_assert_eq(rk_utf8_length("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10), 4);
}

Test(text, whitespace_runs_collapse_and_paragraph_breaks_stay) {
    /* NBSP, EM SPACE and IDEOGRAPHIC SPACE are space separators too. */
    const char in[] =
        "  \n\nTitle  line \t here\xc2\xa0\xe2\x80\x83x  \n  next line\n\n\n\n  para\xe3\x80\x80two \n \n";
    char *s = norm(in, sizeof in - 1, RK_NORM_NFC, NULL);
    cr_assert_str_eq(s, "Title line here x\nnext line\n\npara two");
    free(s);
    char *empty = norm(" \n \t\n", 5, RK_NORM_NFC, NULL);
    cr_assert_str_eq(empty, "");
    free(empty);
}

/* Printable ASCII is copied eight bytes at a time where it can be: what
 * stops that copy (a double space, a tab, a control character, DEL, a line
 * end, a space last in the eight) must act wherever it falls, at each of the
 * sixteen offsets into a long run of text. */
Test(text, long_ascii_runs_collapse_at_every_offset) {
    const char *breaks[] = {"  ", "\t", "\x01", "\x7f", "\n", " \n ", "\xe2\x80\x8b", "\xc3\xa9"};
    const char *kept[] = {" ", " ", "", "", "\n", "\n", "", "\xc3\xa9"};
    /* No space in the first 17 bytes, so that each break stands alone; single
     * spaces after them, which the eight-byte copy keeps. */
    const char *text = "Tidetables:3.5m/gauge;(Table2)&notes! The tide turns at noon, see notes.";
    for (size_t b = 0; b < sizeof breaks / sizeof *breaks; b++)
        for (size_t at = 1; at <= 16; at++) {
            char in[256], want[256];
            snprintf(in, sizeof in, "%.*s%s%s", (int)at, text, breaks[b], text + at);
            snprintf(want, sizeof want, "%.*s%s%s", (int)at, text, kept[b], text + at);
            char *s = norm(in, strlen(in), RK_NORM_NFC, NULL);
            cr_assert_str_eq(s, want, "break %zu at %zu", b, at);
            free(s);
        }
}

Test(text, utf8_check_counts_like_normalize) {
    const char in[] = "ok \xff\xfe then \xc3 end \xed\xa0\x80";
    size_t first = 99;
    cr_assert_eq(rk_utf8_check(in, sizeof in - 1, &first), 6);
    cr_assert_eq(first, 3);
    first = 99;
    cr_assert_eq(rk_utf8_check("caf\xc3\xa9", 5, &first), 0);
    cr_assert_eq(first, 99, "untouched when valid");
}

/* Every code point between two letters comes out as utf8proc itself puts
 * it, in both forms: the normalizer copies some ranges without calling
 * utf8proc, and this holds those shortcuts to utf8proc's tables. Spaces,
 * controls and invisibles are left out: the normalizer changes them on
 * purpose. */
Test(text, each_code_point_as_utf8proc_puts_it) {
    for (int form = RK_NORM_NFC; form <= RK_NORM_NFKC; form++) {
        int opts = UTF8PROC_STABLE | UTF8PROC_COMPOSE | (form == RK_NORM_NFKC ? UTF8PROC_COMPAT : 0);
        for (int32_t c = 0x80; c < 0x30000; c++) {
            utf8proc_category_t k = utf8proc_category(c);
            if ((c >= 0xD800 && c < 0xE000) || k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_ZS ||
                k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP || c == 0xFEFF || c == 0x200B ||
                c == 0x2060 || k == UTF8PROC_CATEGORY_CN)
                continue;
            uint8_t in[8] = {'x'};
            size_t n = 1 + (size_t)utf8proc_encode_char(c, in + 1);
            in[n++] = 'y';
            utf8proc_uint8_t *want = NULL;
            utf8proc_ssize_t wn = utf8proc_map(in, (utf8proc_ssize_t)n, &want, (utf8proc_option_t)opts);
            cr_assert_geq(wn, 0);
            char *got = norm((const char *)in, n, (rk_norm_form)form, NULL);
            if (!memchr(want, ' ', (size_t)wn)) /* NFKC makes spaces of some; those are collapsed */
                cr_assert_str_eq(got, (const char *)want, "U+%04X in form %d", (unsigned)c, form);
            free(want);
            free(got);
        }
    }
}
