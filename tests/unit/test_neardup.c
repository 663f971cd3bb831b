/* Unit tests for ingest/neardup.c: MinHash estimates against exact shingle
 * Jaccard, LSH lookups, removal, and the edge cases of the contract. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/neardup.h"

/* --- An independent reference: exact Jaccard of word 3-shingle sets, for
 * ASCII text (words are runs of letters and digits, lower-cased). --- */

typedef struct strs {
    char **v;
    size_t n;
} strs;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static strs words_of(const char *t) {
    strs w = {malloc((strlen(t) / 2 + 1) * sizeof(char *)), 0};
    for (size_t i = 0; t[i];) {
        if (!isalnum((unsigned char)t[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (isalnum((unsigned char)t[j]))
            j++;
        char *s = strndup(t + i, j - i);
        for (char *c = s; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        w.v[w.n++] = s;
        i = j;
    }
    return w;
}

static void strs_free(strs s) {
    for (size_t i = 0; i < s.n; i++)
        free(s.v[i]);
    free(s.v);
}

/* The sorted, distinct shingles of t. */
static strs shingles_of(const char *t) {
    strs w = words_of(t), sh = {malloc((w.n + 1) * sizeof(char *)), 0};
    if (w.n < 3) {
        for (size_t i = 0; i < w.n; i++)
            sh.v[sh.n++] = strdup(w.v[i]);
    } else {
        for (size_t i = 0; i + 2 < w.n; i++) {
            size_t len = strlen(w.v[i]) + strlen(w.v[i + 1]) + strlen(w.v[i + 2]) + 3;
            sh.v[sh.n] = malloc(len);
            snprintf(sh.v[sh.n++], len, "%s %s %s", w.v[i], w.v[i + 1], w.v[i + 2]);
        }
    }
    strs_free(w);
    if (sh.n) qsort(sh.v, sh.n, sizeof *sh.v, cmp_str);
    size_t m = 0;
    for (size_t i = 0; i < sh.n; i++) {
        if (m && !strcmp(sh.v[m - 1], sh.v[i]))
            free(sh.v[i]);
        else
            sh.v[m++] = sh.v[i];
    }
    sh.n = m;
    return sh;
}

static double exact_jaccard(const char *a, const char *b) {
    strs x = shingles_of(a), y = shingles_of(b);
    size_t both = 0;
    for (size_t i = 0, j = 0; i < x.n && j < y.n;) {
        int c = strcmp(x.v[i], y.v[j]);
        both += c == 0;
        i += c <= 0;
        j += c >= 0;
    }
    size_t either = x.n + y.n - both;
    strs_free(x);
    strs_free(y);
    return either ? (double)both / (double)either : 0;
}

/* --- Random texts over a vocabulary of letters a..y, so "zzzz" is never in
 * one. --- */

static uint64_t next_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

enum { VOCAB = 1000, WORD_MAX = 8 };
static char vocab[VOCAB][WORD_MAX + 1];

static void vocab_init(void) {
    uint64_t s = 0x5EED;
    for (int i = 0; i < VOCAB; i++) {
        int len = 3 + (int)(next_rand(&s) % (WORD_MAX - 2));
        for (int j = 0; j < len; j++)
            vocab[i][j] = (char)('a' + next_rand(&s) % 25);
        vocab[i][len] = '\0';
    }
}

/* Word indices to text; word w < 0 stands for "zzzz". */
static char *text_of(const int *w, size_t n) {
    char *t = malloc(n * (WORD_MAX + 1) + 1), *p = t;
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? " " : "", w[i] < 0 ? "zzzz" : vocab[w[i]]);
    *p = '\0';
    return t;
}

static void random_words(uint64_t *s, int *w, size_t n) {
    for (size_t i = 0; i < n; i++)
        w[i] = (int)(next_rand(s) % VOCAB);
}

static rk_neardup *new_index(double threshold) {
    rk_neardup *d = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_neardup_new(threshold, &d, &e), RK_OK, "%s", e.msg);
    cr_assert_not_null(d);
    return d;
}

static void add(rk_neardup *d, const char *t, uint64_t id) {
    rk_error e = {0};
    cr_assert_eq(rk_neardup_add(d, t, strlen(t), id, &e), RK_OK, "%s", e.msg);
}

/* The id find reports, or -1 for none. */
static long long found(const rk_neardup *d, const char *t) {
    uint64_t m = 12345678;
    int r = rk_neardup_find(d, t, strlen(t), &m);
    cr_assert(r == 0 || r == 1);
    if (!r) cr_assert_eq(m, 12345678, "find wrote *match without a match");
    return r ? (long long)m : -1;
}

static double similarity(const char *a, const char *b) {
    return rk_neardup_similarity(a, strlen(a), b, strlen(b));
}

enum { LEN = 100 };

TestSuite(neardup, .init = vocab_init);

Test(neardup, identical_texts_have_similarity_one) {
    uint64_t s = 1;
    int w[LEN];
    random_words(&s, w, LEN);
    char *a = text_of(w, LEN);
    cr_assert_eq(similarity(a, a), 1.0);
    cr_assert_eq(exact_jaccard(a, a), 1.0);
    free(a);
}

Test(neardup, one_word_changed_is_a_near_duplicate) {
    uint64_t s = 2;
    int w[LEN];
    random_words(&s, w, LEN);
    char *a = text_of(w, LEN);
    w[LEN / 2] = -1;
    char *b = text_of(w, LEN);
    double j = exact_jaccard(a, b);
    cr_assert_float_eq(j, 95.0 / 101.0, 1e-12, "3 of 98 shingles differ: %f", j);
    cr_assert_geq(similarity(a, b), 0.8);

    rk_neardup *d = new_index(0.8);
    add(d, a, 42);
    cr_assert_eq(found(d, b), 42);
    cr_assert_eq(found(d, a), 42);
    rk_neardup_free(d);
    free(a);
    free(b);
}

Test(neardup, unrelated_texts_are_not) {
    uint64_t s = 3;
    int w[LEN];
    random_words(&s, w, LEN);
    char *a = text_of(w, LEN);
    random_words(&s, w, LEN);
    char *b = text_of(w, LEN);
    cr_assert_eq(exact_jaccard(a, b), 0);
    cr_assert_lt(similarity(a, b), 0.1);
    rk_neardup *d = new_index(0.8);
    add(d, a, 1);
    cr_assert_eq(found(d, b), -1);
    rk_neardup_free(d);
    free(a);
    free(b);
}

/* Each pair's estimate is within 0.15 of the exact Jaccard (more than 3 of
 * the estimator's standard deviations, at most 0.045 with 128 values), and
 * over many pairs the estimate is unbiased. */
Test(neardup, estimates_follow_exact_jaccard) {
    uint64_t s = 4;
    const int changes[] = {0, 1, 3, 6, 10, 15, 25, 40, 60, 100};
    double bias = 0, abs_err = 0;
    int pairs = 0;
    for (int round = 0; round < 20; round++) {
        for (size_t c = 0; c < sizeof changes / sizeof *changes; c++) {
            int w[LEN];
            random_words(&s, w, LEN);
            char *a = text_of(w, LEN);
            for (int k = 0; k < changes[c]; k++)
                w[next_rand(&s) % LEN] = (int)(next_rand(&s) % VOCAB);
            char *b = text_of(w, LEN);
            double j = exact_jaccard(a, b), est = similarity(a, b);
            cr_assert_lt(fabs(est - j), 0.15, "%d changes: estimate %f, exact %f", changes[c], est, j);
            bias += est - j;
            abs_err += fabs(est - j);
            pairs++;
            free(a);
            free(b);
        }
    }
    cr_assert_lt(fabs(bias / pairs), 0.01, "bias %f", bias / pairs);
    cr_assert_lt(abs_err / pairs, 0.04, "mean error %f", abs_err / pairs);
}

Test(neardup, find_honours_the_threshold) {
    uint64_t s = 5;
    int w[LEN];
    random_words(&s, w, LEN);
    char *a = text_of(w, LEN);
    for (int k = 0; k < 7; k++) /* 7 words 14 apart: 21 of 98 shingles differ */
        w[7 + 14 * k] = -1;
    char *b = text_of(w, LEN);
    cr_assert_float_eq(exact_jaccard(a, b), 77.0 / 119.0, 1e-12);
    rk_neardup *lax = new_index(0.5), *strict = new_index(0.8);
    add(lax, a, 1);
    add(strict, a, 1);
    cr_assert_eq(found(lax, b), 1);
    cr_assert_eq(found(strict, b), -1);
    rk_neardup_free(lax);
    rk_neardup_free(strict);
    free(a);
    free(b);
}

Test(neardup, threshold_one_finds_only_copies) {
    uint64_t s = 6;
    int w[LEN];
    random_words(&s, w, LEN);
    char *a = text_of(w, LEN);
    w[LEN / 2] = -1; /* 3 of 98 shingles differ */
    char *b = text_of(w, LEN);
    rk_neardup *d = new_index(1.0);
    add(d, a, 9);
    cr_assert_eq(found(d, a), 9);
    cr_assert_eq(found(d, b), -1);
    rk_neardup_free(d);
    free(a);
    free(b);
}

Test(neardup, the_most_similar_candidate_wins_and_ties_go_to_the_smallest_id) {
    uint64_t s = 7;
    int w[LEN];
    random_words(&s, w, LEN);
    char *a = text_of(w, LEN);
    w[LEN / 2] = -1;
    char *b = text_of(w, LEN);
    rk_neardup *d = new_index(0.8);
    add(d, b, 5);
    add(d, a, 7);
    cr_assert_eq(found(d, a), 7);
    cr_assert_eq(found(d, b), 5);
    add(d, a, 3);
    add(d, a, 8);
    cr_assert_eq(found(d, a), 3);
    rk_neardup_free(d);
    free(a);
    free(b);
}

Test(neardup, adding_an_id_again_replaces_its_text) {
    uint64_t s = 8;
    int w[LEN];
    random_words(&s, w, LEN);
    char *a = text_of(w, LEN);
    random_words(&s, w, LEN);
    char *b = text_of(w, LEN);
    rk_neardup *d = new_index(0.8);
    add(d, a, 5);
    add(d, b, 5);
    cr_assert_eq(found(d, a), -1);
    cr_assert_eq(found(d, b), 5);
    add(d, "", 5); /* a text without words replaces it too, and never matches */
    cr_assert_eq(found(d, b), -1);
    rk_neardup_free(d);
    free(a);
    free(b);
}

Test(neardup, remove_makes_a_text_undetectable) {
    uint64_t s = 9;
    int w[LEN];
    random_words(&s, w, LEN);
    char *a = text_of(w, LEN);
    w[10] = -1;
    char *b = text_of(w, LEN);
    rk_neardup *d = new_index(0.8);
    add(d, a, 1);
    add(d, b, 2);
    rk_neardup_remove(d, 1);
    cr_assert_eq(found(d, a), 2);
    rk_neardup_remove(d, 77); /* unknown: ignored */
    rk_neardup_remove(d, 1);
    cr_assert_eq(found(d, a), 2);
    rk_neardup_remove(d, 2);
    cr_assert_eq(found(d, a), -1);
    cr_assert_eq(found(d, b), -1);
    add(d, a, 1);
    cr_assert_eq(found(d, b), 1);
    rk_neardup_free(d);
    free(a);
    free(b);
}

/* Removing half of many texts leaves the other half findable under their own
 * ids (the storage moves texts around as it fills holes). */
Test(neardup, removal_keeps_the_others) {
    enum { N = 600 };
    uint64_t s = 10;
    char *t[N];
    rk_neardup *d = new_index(0.8);
    for (int i = 0; i < N; i++) {
        int w[40];
        random_words(&s, w, 40);
        t[i] = text_of(w, 40);
        add(d, t[i], (uint64_t)i * 1000);
    }
    for (int i = 0; i < N; i += 2)
        rk_neardup_remove(d, (uint64_t)i * 1000);
    for (int i = 0; i < N; i++)
        cr_assert_eq(found(d, t[i]), i % 2 ? i * 1000 : -1, "text %d", i);
    for (int i = 0; i < N; i += 2)
        add(d, t[i], (uint64_t)i);
    for (int i = 0; i < N; i++)
        cr_assert_eq(found(d, t[i]), i % 2 ? i * 1000 : i, "text %d", i);
    for (int i = 0; i < N; i++)
        free(t[i]);
    rk_neardup_free(d);
}

Test(neardup, case_and_punctuation_are_ignored) {
    const char *a = "The quick brown fox jumps over the lazy dog near the river bank.";
    const char *b = "THE QUICK, brown fox -- jumps over; the LAZY dog (near the river) bank!!!";
    cr_assert_eq(exact_jaccard(a, b), 1.0);
    cr_assert_eq(similarity(a, b), 1.0);
    rk_neardup *d = new_index(1.0);
    add(d, a, 4);
    cr_assert_eq(found(d, b), 4);
    rk_neardup_free(d);
}

Test(neardup, short_texts_compare_their_words) {
    cr_assert_eq(similarity("Hello", "hello!"), 1.0);
    cr_assert_eq(similarity("hello world", "world, hello"), 1.0); /* sets of single words */
    cr_assert_eq(similarity("hello world", "goodbye moon"), 0.0);
    double j = exact_jaccard("hello world", "hello there");
    cr_assert_float_eq(j, 1.0 / 3.0, 1e-12);
    cr_assert_lt(fabs(similarity("hello world", "hello there") - j), 0.15);
    /* A single word is no 3-shingle of a longer text. */
    cr_assert_eq(similarity("hello", "hello hello hello"), 0.0);
}

Test(neardup, texts_without_words_never_match) {
    cr_assert_eq(similarity("", ""), 0.0);
    cr_assert_eq(similarity(" ,.; -- ", " ,.; -- "), 0.0);
    cr_assert_eq(similarity("", "hello"), 0.0);
    cr_assert_eq(rk_neardup_similarity(NULL, 0, NULL, 0), 0.0);
    rk_neardup *d = new_index(0.5);
    add(d, "", 1);
    add(d, " ,.; -- ", 2);
    cr_assert_eq(found(d, ""), -1);
    cr_assert_eq(found(d, " ,.; -- "), -1);
    add(d, "hello", 3);
    cr_assert_eq(found(d, ""), -1);
    cr_assert_eq(found(d, "hello"), 3);
    rk_neardup_remove(d, 1);
    rk_neardup_free(d);
}

Test(neardup, invalid_thresholds) {
    const double bad[] = {0, -0.0, -1, 1.5, 1.0000001, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rk_neardup *d = NULL;
        rk_error e = {0};
        cr_assert_eq(rk_neardup_new(bad[i], &d, &e), RK_EINVAL, "threshold %g", bad[i]);
        cr_assert_eq(e.code, RK_EINVAL);
        cr_assert(strstr(e.msg, "threshold"), "%s", e.msg);
        cr_assert_null(d);
    }
    rk_neardup_free(NULL);
    rk_neardup_free(new_index(1e-9));
}

Test(neardup, deterministic) {
    uint64_t s = 11;
    enum { N = 200 };
    char *t[N], *near[N];
    rk_neardup *d1 = new_index(0.7), *d2 = new_index(0.7);
    for (int i = 0; i < N; i++) {
        int w[30];
        random_words(&s, w, 30);
        t[i] = text_of(w, 30);
        w[next_rand(&s) % 30] = -1;
        near[i] = text_of(w, 30);
        add(d1, t[i], (uint64_t)i);
        add(d2, t[i], (uint64_t)i);
    }
    int hits = 0;
    for (int i = 0; i < N; i++) {
        long long f = found(d1, near[i]);
        cr_assert_eq(f, found(d2, near[i]));
        cr_assert_eq(similarity(t[i], near[i]), similarity(t[i], near[i]));
        hits += f == i;
    }
    cr_assert_gt(hits, N / 2, "%d", hits); /* the answers compared are real matches, mostly */
    for (int i = 0; i < N; i++) {
        free(t[i]);
        free(near[i]);
    }
    rk_neardup_free(d1);
    rk_neardup_free(d2);
}

/* 20000 random texts: none is a near duplicate of any other (each is looked
 * up before it is added), and near copies of 100 of them are all found under
 * the right id, while texts sharing only their first half are not. */
Test(neardup, many_texts_no_false_positives_full_recall) {
    enum { N = 20000, COPIES = 100 };
    uint64_t s = 12;
    static int words[N][LEN];
    rk_neardup *d = new_index(0.8);
    for (int i = 0; i < N; i++) {
        random_words(&s, words[i], LEN);
        char *t = text_of(words[i], LEN);
        cr_assert_eq(found(d, t), -1, "text %d", i);
        add(d, t, (uint64_t)i + 1);
        free(t);
    }
    for (int c = 0; c < COPIES; c++) {
        int i = c * (N / COPIES), w[LEN];
        memcpy(w, words[i], sizeof w);
        w[next_rand(&s) % LEN] = -1;
        char *near = text_of(w, LEN);
        cr_assert_eq(found(d, near), i + 1, "near copy of text %d", i);
        for (int k = LEN / 2; k < LEN; k++)
            w[k] = (int)(next_rand(&s) % VOCAB);
        char *half = text_of(w, LEN);
        cr_assert_eq(found(d, half), -1, "half copy of text %d", i);
        free(near);
        free(half);
    }
    rk_neardup_free(d);
}
