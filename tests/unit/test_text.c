/* Unit tests for core/text.c: normalization and words. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

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

Test(text, utf8_check_counts_like_normalize) {
    const char in[] = "ok \xff\xfe then \xc3 end \xed\xa0\x80";
    size_t first = 99;
    cr_assert_eq(rk_utf8_check(in, sizeof in - 1, &first), 6);
    cr_assert_eq(first, 3);
    first = 99;
    cr_assert_eq(rk_utf8_check("caf\xc3\xa9", 5, &first), 0);
    cr_assert_eq(first, 99, "untouched when valid");
}
