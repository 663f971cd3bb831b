/* test_metrics.c — eval/metrics.c against the official SQuAD v1.1 script run
 * by Python, and against numpy for the bootstrap (tests/parity/make_squad.py
 * → fixtures/squad.json). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "raftkit/metrics.h"

#define F1_TOL 1e-12
#define CI_TOL 1e-9

static json_t *fixture(void) {
    json_error_t je;
    json_t *j = json_load_file(RK_SOURCE_DIR "/tests/parity/fixtures/squad.json", 0, &je);
    cr_assert(j, "fixtures/squad.json:%d: %s", je.line, je.text);
    return j;
}

static const char *str(json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    cr_assert(s, "fixture: no string \"%s\"", key);
    return s;
}

/* rk_squad_normalize of s[0..n) as a NUL-terminated string (caller frees). */
static char *norm_n(const char *s, size_t n) {
    rk_buf b = {0};
    rk_squad_normalize(s, n, &b);
    cr_assert(!b.oom);
    return b.p ? b.p : strdup("");
}

static char *norm(const char *s) { return norm_n(s, strlen(s)); }

/* One scored case of the fixture: the normalized prediction and golds, and
 * EM and F1 both as the maximum over the golds and gold by gold. Returns the
 * largest F1 difference. */
static double check_scored(json_t *c, const char *what, size_t i) {
    const char *pred = str(c, "pred");
    json_t *golds = json_object_get(c, "golds"), *gn = json_object_get(c, "gold_norms");
    size_t ng = json_array_size(golds);
    cr_assert(ng > 0 && ng <= 8 && json_array_size(gn) == ng, "%s %zu: golds", what, i);
    const char *g[8];
    for (size_t k = 0; k < ng; k++)
        g[k] = json_string_value(json_array_get(golds, k));

    char *n = norm(pred);
    cr_assert_str_eq(n, str(c, "norm"), "%s %zu: normalize(\"%s\")", what, i, pred);
    free(n);
    for (size_t k = 0; k < ng; k++) {
        n = norm(g[k]);
        cr_assert_str_eq(n, json_string_value(json_array_get(gn, k)), "%s %zu: normalize(gold \"%s\")", what,
                         i, g[k]);
        free(n);
    }

    int em, want_em = (int)json_integer_value(json_object_get(c, "em"));
    double f1, want_f1 = json_number_value(json_object_get(c, "f1"));
    rk_squad_score(pred, g, ng, &em, &f1);
    cr_assert_eq(em, want_em, "%s %zu: EM of \"%s\"", what, i, pred);
    double diff = fabs(f1 - want_f1);
    cr_assert(diff <= F1_TOL, "%s %zu: F1 of \"%s\": got %.17g, want %.17g", what, i, pred, f1, want_f1);

    int em_max = 0;
    double f1_max = 0;
    for (size_t k = 0; k < ng; k++) {
        em_max |= rk_squad_em(pred, g[k]);
        f1_max = fmax(f1_max, rk_squad_f1(pred, g[k]));
    }
    cr_assert_eq(em_max, want_em, "%s %zu: rk_squad_em gold by gold", what, i);
    cr_assert(fabs(f1_max - want_f1) <= F1_TOL, "%s %zu: rk_squad_f1 gold by gold: %.17g", what, i, f1_max);
    return diff;
}

static void check_scored_list(const char *key) {
    json_t *j = fixture(), *a = json_object_get(j, key);
    cr_assert(json_array_size(a) > 0, "fixture: no \"%s\"", key);
    double worst = 0;
    for (size_t i = 0; i < json_array_size(a); i++)
        worst = fmax(worst, check_scored(json_array_get(a, i), key, i));
    cr_log_info("%s: %zu cases, largest F1 difference %.3g", key, json_array_size(a), worst);
    json_decref(j);
}

Test(metrics, tricky_cases_score_as_the_squad_script) { check_scored_list("cases"); }

Test(metrics, random_strings_score_as_the_squad_script) { check_scored_list("random"); }

Test(metrics, contains_matches_its_definition_over_normalized_text) {
    json_t *j = fixture(), *a = json_object_get(j, "contains");
    cr_assert(json_array_size(a) > 0);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *c = json_array_get(a, i);
        const char *text = str(c, "text"), *gold = str(c, "gold");
        int want = (int)json_integer_value(json_object_get(c, "want"));
        cr_assert_eq(rk_squad_contains(text, strlen(text), gold), want, "contains(\"%s\", \"%s\")", text,
                     gold);
    }
    json_decref(j);
}

static size_t encode(int32_t c, char *out) {
    return (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)out);
}

Test(metrics, every_code_point_that_changes_alone_changes_as_in_python) {
    json_t *j = fixture(), *a = json_object_get(j, "single");
    cr_assert(json_array_size(a) > 1000, "the fixture lists every code point lower-casing changes");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *e = json_array_get(a, i);
        int32_t c = (int32_t)json_integer_value(json_array_get(e, 0));
        char s[8];
        size_t l = encode(c, s);
        char *n = norm_n(s, l);
        cr_assert_str_eq(n, json_string_value(json_array_get(e, 1)), "normalize(U+%04X)", (unsigned)c);
        free(n);
    }
    json_decref(j);
}

/* Template t with every "{c}" replaced by the code point's bytes. */
static char *fill(const char *t, const char *cp, size_t cl, size_t *len) {
    size_t n = strlen(t), at = 0;
    char *out = malloc(n * (cl + 1) + 1);
    for (size_t i = 0; i < n;) {
        if (!strncmp(t + i, "{c}", 3)) {
            memcpy(out + at, cp, cl);
            at += cl;
            i += 3;
        } else {
            out[at++] = t[i++];
        }
    }
    out[at] = 0;
    *len = at;
    return out;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001B3ULL;
    return h;
}

typedef struct block {
    int present;
    size_t count;
    uint64_t hash;
} block;

/* Every code point of Unicode, in the probe strings around it, against
 * Python: per block, the hash of the outputs for the code points Python's
 * Unicode database assigns, and for the ones it does not, the outputs every
 * unassigned code point gives. Code points assigned only in utf8proc's newer
 * Unicode have no Python answer to compare with and are counted aside. */
Test(metrics, every_code_point_in_context_matches_python) {
    json_t *j = fixture(), *sw = json_object_get(j, "sweep");
    json_t *probes = json_object_get(sw, "probes"), *shared = json_object_get(sw, "unassigned_outputs");
    json_t *un = json_object_get(sw, "unassigned"), *hashes = json_object_get(sw, "hashes");
    size_t np = json_array_size(probes), bsize = (size_t)json_integer_value(json_object_get(sw, "block"));
    cr_assert(np > 0 && json_array_size(shared) == np && bsize > 0 && json_array_size(hashes) > 0);

    size_t nblocks = (0x110000 + bsize - 1) / bsize;
    block *want = calloc(nblocks, sizeof *want);
    for (size_t i = 0; i < json_array_size(hashes); i++) {
        json_t *h = json_array_get(hashes, i);
        size_t b = (size_t)json_integer_value(json_array_get(h, 0)) / bsize;
        cr_assert(b < nblocks);
        want[b] = (block){1, (size_t)json_integer_value(json_array_get(h, 1)),
                          strtoull(json_string_value(json_array_get(h, 2)), NULL, 16)};
    }

    size_t nun = json_array_size(un), u = 0, checked = 0, shared_checked = 0, newer = 0, bad = 0;
    char first_bad[512] = "";
    for (size_t b = 0; b < nblocks; b++) {
        uint64_t h = 0xCBF29CE484222325ULL;
        size_t count = 0;
        for (int32_t c = (int32_t)(b * bsize); c < (int32_t)((b + 1) * bsize) && c < 0x110000; c++) {
            if (c >= 0xD800 && c <= 0xDFFF) continue;
            while (u < nun && json_integer_value(json_array_get(json_array_get(un, u), 1)) < c)
                u++;
            int unassigned = u < nun && json_integer_value(json_array_get(json_array_get(un, u), 0)) <= c;
            if (unassigned && utf8proc_category(c) != UTF8PROC_CATEGORY_CN) {
                newer++;
                continue;
            }
            char cp[8];
            size_t cl = encode(c, cp);
            for (size_t k = 0; k < np; k++) {
                size_t len, wl;
                char *s = fill(json_string_value(json_array_get(probes, k)), cp, cl, &len);
                rk_buf out = {0};
                rk_squad_normalize(s, len, &out);
                cr_assert(!out.oom);
                if (unassigned) {
                    char *w = fill(json_string_value(json_array_get(shared, k)), cp, cl, &wl);
                    cr_assert(out.n == wl && (!wl || !memcmp(out.p, w, wl)),
                              "unassigned U+%04X in \"%s\": got \"%.*s\", want \"%s\"", (unsigned)c, s,
                              (int)out.n, out.p ? out.p : "", w);
                    free(w);
                } else {
                    h = fnv1a(h, out.p, out.n);
                    h = fnv1a(h, "\xff", 1);
                }
                free(out.p);
                free(s);
            }
            if (unassigned)
                shared_checked++;
            else
                count++;
        }
        checked += count;
        if (count != (want[b].present ? want[b].count : 0) || (count && h != want[b].hash)) {
            if (!bad++)
                snprintf(first_bad, sizeof first_bad,
                         "U+%04zX..U+%04zX: %zu code points hash %016llx, want %zu %016llx", b * bsize,
                         (b + 1) * bsize - 1, count, (unsigned long long)h, want[b].count,
                         (unsigned long long)want[b].hash);
        }
    }
    cr_log_info(
        "%zu assigned code points checked, %zu unassigned ones checked, %zu assigned only in utf8proc's "
        "Unicode %s (not in Python's %s) skipped",
        checked, shared_checked, newer, utf8proc_unicode_version(),
        json_string_value(json_object_get(j, "unidata_version")));
    cr_assert_eq(bad, 0, "%zu blocks differ from Python; the first: %s", bad, first_bad);
    cr_assert_gt(checked, 280000, "the sweep covered the assigned code points");
    free(want);
    json_decref(j);
}

static double num(json_t *o, const char *key) { return json_number_value(json_object_get(o, key)); }

Test(metrics, bootstrap_intervals_match_numpy_over_the_same_draws) {
    json_t *j = fixture(), *a = json_object_get(j, "bootstrap");
    cr_assert(json_array_size(a) > 0);
    double worst = 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *c = json_array_get(a, i), *xs = json_object_get(c, "x");
        size_t n = json_array_size(xs);
        double *x = malloc(n * sizeof *x), lo, hi;
        for (size_t k = 0; k < n; k++)
            x[k] = json_number_value(json_array_get(xs, k));
        uint64_t seed = strtoull(str(c, "seed"), NULL, 16);
        rk_bootstrap_ci(x, n, (int)json_integer_value(json_object_get(c, "B")), num(c, "level"), seed, &lo,
                        &hi);
        double dl = fabs(lo - num(c, "lo")), dh = fabs(hi - num(c, "hi"));
        cr_assert(dl <= CI_TOL && dh <= CI_TOL, "case %zu: got [%.17g, %.17g], want [%.17g, %.17g]", i, lo,
                  hi, num(c, "lo"), num(c, "hi"));
        worst = fmax(worst, fmax(dl, dh));
        free(x);
    }
    cr_log_info("bootstrap: %zu cases, largest difference %.3g", json_array_size(a), worst);
    json_decref(j);
}

Test(metrics, bootstrap_interval_brackets_the_mean_and_is_reproducible) {
    double x[40], mean = 0;
    for (int i = 0; i < 40; i++)
        mean += x[i] = (i * 7 % 10) < 6 ? 1.0 : 0.0;
    mean /= 40;
    double lo, hi, lo2, hi2, lo50, hi50;
    rk_bootstrap_ci(x, 40, 1000, 0.95, 42, &lo, &hi);
    cr_assert(lo < mean && mean < hi, "[%g, %g] around %g", lo, hi, mean);
    cr_assert(lo >= 0 && hi <= 1);
    rk_bootstrap_ci(x, 40, 1000, 0.95, 42, &lo2, &hi2);
    cr_assert(lo == lo2 && hi == hi2, "same seed, same interval");
    rk_bootstrap_ci(x, 40, 1000, 0.5, 42, &lo50, &hi50);
    cr_assert(lo <= lo50 && lo50 <= mean && mean <= hi50 && hi50 <= hi,
              "a 50%% interval inside the 95%% one");
    rk_bootstrap_ci(x, 40, 1000, 0.95, 43, &lo2, &hi2);
    cr_assert(lo2 < mean && mean < hi2);
    cr_assert(lo != lo2 || hi != hi2, "another seed draws other resamples");

    rk_bootstrap_ci(x, 0, 1000, 0.95, 42, &lo, &hi);
    cr_assert(lo == 0 && hi == 0, "no data: 0, 0");
    rk_bootstrap_ci(x, 40, 0, 0.95, 42, &lo, &hi);
    cr_assert(lo == mean && hi == mean, "no resample: the mean twice");
    double c[5] = {0.5, 0.5, 0.5, 0.5, 0.5};
    rk_bootstrap_ci(c, 5, 100, 0.95, 1, &lo, &hi);
    cr_assert(lo == 0.5 && hi == 0.5, "a constant has a zero-width interval");
}

Test(metrics, direct_cases) {
    const char *ctx = "The RV Ingrid Maelstad was launched in 2004, the year of the storm.";
    cr_assert(rk_squad_contains(ctx, strlen(ctx), "2004"));
    cr_assert(rk_squad_contains(ctx, strlen(ctx), "The Year"), "case and articles do not matter");
    cr_assert(rk_squad_contains(ctx, strlen(ctx), "ingrid maelstad!"));
    cr_assert(!rk_squad_contains(ctx, strlen(ctx), "200"), "whole tokens only");
    cr_assert(!rk_squad_contains(ctx, strlen(ctx), "maelstad launched"), "contiguous tokens only");
    cr_assert(!rk_squad_contains(ctx, strlen(ctx), "the"), "an empty normalized gold is never contained");
    cr_assert(!rk_squad_contains(ctx, strlen(ctx), ""));
    cr_assert(!rk_squad_contains("", 0, "x"));
    cr_assert(rk_squad_contains("x", 1, "x"));
    /* n bounds the text: "20" then is not "2004". */
    cr_assert(!rk_squad_contains("2004", 2, "2004"));

    int em = 7;
    double f1 = 7;
    rk_squad_score("anything", NULL, 0, &em, &f1);
    cr_assert(em == 0 && f1 == 0, "no gold: 0 and 0");
    cr_assert_eq(rk_squad_em("", ""), 1, "empty equals empty");
    cr_assert_eq(rk_squad_f1("", ""), 0.0, "but shares no token");
    cr_assert(fabs(rk_squad_f1("cat cat cat", "cat cat") - 0.8) < 1e-15, "tokens count with repeats");
    cr_assert(fabs(rk_squad_f1("x b", "b c") - 0.5) < 1e-15);
    cr_assert(fabs(rk_squad_f1("a b", "b c") - 2.0 / 3) < 1e-15, "the article is not a token");

    /* Appends, as rk_buf builders do. */
    rk_buf b = {0};
    rk_buf_put(&b, "x:", 2);
    rk_squad_normalize(" The  End. ", 11, &b);
    cr_assert_str_eq(b.p, "x:end");
    cr_assert_eq(b.n, 5);
    free(b.p);
}

/* Bytes that are not UTF-8 (which no Python str holds) are kept, one unit
 * each, neither word characters nor whitespace nor cased. */
Test(metrics, invalid_utf8_is_kept_byte_for_byte) {
    char *n = norm("Caf\xc3 OK");
    cr_assert_str_eq(n, "caf\xc3 ok", "a truncated sequence");
    free(n);
    n = norm("A\xffTHE\xfe"
             "AN");
    cr_assert_str_eq(n, "\xff \xfe", "a stray byte is a word boundary: the articles around it go");
    free(n);
    n = norm("\xed\xa0\x80x");
    cr_assert_str_eq(n, "\xed\xa0\x80x", "an encoded surrogate is three stray bytes");
    free(n);
    n = norm("B\x80\xce\xa3");
    cr_assert_str_eq(n, "b\x80\xcf\x83", "a stray byte is not cased: the sigma after it is not final");
    free(n);
    n = norm_n("x\0b", 3);
    cr_assert(!memcmp(n, "x\0b", 4), "NUL is a character like any other");
    free(n);
    cr_assert_eq(rk_squad_em("x\xff", "X\xff"), 1);
    cr_assert_eq(rk_squad_em("x\xff", "x\xfe"), 0);
}
