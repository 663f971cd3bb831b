/* Unit tests for core/chunk.c: each chunker against chunks worked out by
 * hand, and the invariants of every chunking on generated texts, checked
 * against grapheme boundaries computed here from utf8proc alone. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "raftkit/chunk.h"

#define CHUNKS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *const KIND_NAMES[] = {"recursive", "sentence", "fixed"};
static const char *const UNIT_NAMES[] = {"chars", "words"};

static int is_space(char c) { return c == ' ' || c == '\n'; }

static rk_span *chunk_ok(const char *t, size_t n, rk_chunk_opts o, size_t *count) {
    rk_span *s = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_chunk_text(t, n, &o, &s, count, &e), RK_OK, "%s", e.msg);
    return s;
}

/* Asserts that the chunks of t are exactly `want` (NULL-terminated). */
static void expect_chunks(const char *t, rk_chunk_opts o, const char *const *want) {
    size_t n;
    rk_span *s = chunk_ok(t, strlen(t), o, &n);
    char got[4096] = "";
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(got);
        snprintf(got + l, sizeof got - l, "[%.*s]", (int)(s[i].end - s[i].start), t + s[i].start);
    }
    size_t k = 0;
    while (want[k])
        k++;
    cr_assert_eq(n, k, "%s %s %zu/%zu: %zu chunks, want %zu: %s", KIND_NAMES[o.kind], UNIT_NAMES[o.unit],
                 o.size, o.overlap, n, k, got);
    for (size_t i = 0; i < n; i++)
        cr_assert(s[i].end - s[i].start == strlen(want[i]) &&
                      !memcmp(t + s[i].start, want[i], strlen(want[i])),
                  "chunk %zu is not [%s]: %s", i, want[i], got);
    free(s);
}

/* Asserts that s is one sentence and that one ends after it. Packing and
 * cutting at words can hide both a sentence end too many and one missing,
 * but the overlap shows them: it is the longest run of whole sentences
 * ending a chunk (here "Zz." when s is one sentence, nothing when "s Zz." is,
 * and the rest of s before "Zz." when a sentence starts inside s). */
static void expect_one_sentence(const char *s) {
    char t[512], first[512];
    snprintf(t, sizeof t, "%s Zz. Yy.", s);
    snprintf(first, sizeof first, "%s Zz.", s);
    size_t u = rk_chunk_units(s, strlen(s), RK_UNIT_CHARS);
    rk_chunk_opts o = {.kind = RK_CHUNKER_SENTENCE, .size = u + 4, .overlap = u + 3};
    expect_chunks(t, o, CHUNKS(first, "Zz. Yy."));
}

/* The sentence chunks of t are `want`, each a sentence (the last may go on). */
static void expect_sentences(const char *t, size_t size, const char *const *want) {
    expect_chunks(t, (rk_chunk_opts){.kind = RK_CHUNKER_SENTENCE, .size = size}, want);
    for (size_t i = 0; want[i] && want[i + 1]; i++)
        expect_one_sentence(want[i]);
}

/* b[i] is 1 where byte offset i is a grapheme cluster boundary. */
static char *grapheme_boundaries(const char *t, size_t n) {
    char *b = calloc(n + 1, 1);
    int32_t prev = -1, state = 0;
    for (size_t i = 0; i < n;) {
        int32_t c;
        utf8proc_ssize_t l = utf8proc_iterate((const uint8_t *)t + i, (utf8proc_ssize_t)(n - i), &c);
        cr_assert_gt(l, 0, "invalid UTF-8 in a test text at %zu", i);
        if (prev < 0 || utf8proc_grapheme_break_stateful(prev, c, &state)) b[i] = 1;
        prev = c;
        i += (size_t)l;
    }
    b[n] = 1;
    return b;
}

/* A space or newline that is a cluster by itself: one carrying a combining
 * mark is text. */
static int is_ws(const char *t, const char *gb, size_t i) { return is_space(t[i]) && gb[i] && gb[i + 1]; }

/* Whether the code point that ends at t[p] is part of a word. */
static int word_before(const char *t, size_t p) {
    size_t j = p - 1;
    while (j > 0 && ((unsigned char)t[j] & 0xC0) == 0x80)
        j--;
    return rk_chunk_units(t + j, p - j, RK_UNIT_WORDS) == 1;
}

/* t without its spaces and newlines. */
static char *squeeze(const char *t, size_t n, char *out) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!is_space(t[i])) out[k++] = t[i];
    out[k] = '\0';
    return out;
}

/* Chunks t[0, n) and checks what every chunking must keep; returns the count. */
static size_t check_invariants(const char *t, size_t n, rk_chunk_opts o, const char *what) {
    size_t count;
    rk_span *s = chunk_ok(t, n, o, &count);
    char *gb = grapheme_boundaries(t, n);
    for (size_t i = 0; i < count; i++) {
        size_t a = s[i].start, b = s[i].end;
        cr_assert(a < b && b <= n, "%s: chunk %zu is [%zu, %zu) of %zu bytes", what, i, a, b, n);
        cr_assert(gb[a] && gb[b], "%s: chunk %zu [%zu, %zu) cuts a grapheme cluster", what, i, a, b);
        cr_assert(!is_ws(t, gb, a) && !is_ws(t, gb, b - 1), "%s: chunk %zu is not trimmed", what, i);
        size_t units = rk_chunk_units(t + a, b - a, o.unit);
        if (units > o.size) { /* only a single cluster bigger than the size */
            size_t next = a + 1;
            while (!gb[next])
                next++;
            cr_assert_eq(next, b, "%s: chunk %zu has %zu units: [%.*s]", what, i, units, (int)(b - a), t + a);
        }
        if (!i) continue;
        rk_span p = s[i - 1];
        cr_assert_gt(a, p.start, "%s: chunk %zu does not start after the one before", what, i);
        cr_assert_gt(b, p.end, "%s: chunk %zu does not end after the one before", what, i);
        if (a >= p.end) continue;
        cr_assert_gt(o.overlap, 0, "%s: chunks %zu and %zu overlap", what, i - 1, i);
        if (o.kind == RK_CHUNKER_FIXED) continue; /* exact, tested on its own */
        size_t shared = rk_chunk_units(t + a, p.end - a, o.unit);
        cr_assert_leq(shared, o.overlap, "%s: chunk %zu repeats %zu units", what, i, shared);
        cr_assert(!word_before(t, a), "%s: the overlap of chunk %zu starts inside a word", what, i);
    }
    /* Every byte but whitespace is in a chunk. */
    for (size_t b = 0, i = 0; b < n; b++) {
        if (is_ws(t, gb, b)) continue;
        while (i < count && s[i].end <= b)
            i++;
        cr_assert(i < count && s[i].start <= b, "%s: byte %zu is in no chunk", what, b);
    }
    if (o.overlap == 0) { /* the chunks put together are the text, but for whitespace */
        char *all = malloc(n + 1), *want = malloc(n + 1), *got = malloc(n + 1);
        size_t k = 0;
        for (size_t i = 0; i < count; i++) {
            memcpy(all + k, t + s[i].start, s[i].end - s[i].start);
            k += s[i].end - s[i].start;
        }
        cr_assert_str_eq(squeeze(all, k, got), squeeze(t, n, want), "%s", what);
        free(all);
        free(want);
        free(got);
    }
    free(gb);
    free(s);
    return count;
}

/* A deterministic text of words in many scripts, clusters of several code
 * points, sentence ends and all the kinds of whitespace. */
static char *generate(uint32_t seed, size_t tokens) {
    /* In rows, not in a column of 28. */
    /* clang-format off */
    static const char *const words[] = {
        "the", "quick", "Brown", "fox", "jumps", "wörd", "e\u0301te", "naïve", "3.14", "v1.2", "e.g.", "Dr.", "J.",
        "\"quoted\"", "(aside)", "\U0001F469\u200D\U0001F469\u200D\U0001F467", "\U0001F1F3\U0001F1F4", "漢字",
        "かな", "\u1100\u1161\u11A8", "한국어", "state-of-the-art", "x", "a\u200D\u0301b", "\u06003", " \u0301",
        "\u0915\u094D\u0937", "supercalifragilisticexpialidocious-and-more"};
    /* clang-format on */
    static const char *const seps[] = {" ",  " ",  " ",   " ",    "  ", "\n", "\n\n", " \n  \n", ". ",
                                       "! ", "? ", "?! ", ".\" ", "。", "！", ", ",   "\n- ",    "    "};
    char *t = malloc(tokens * 80 + 16);
    size_t k = 0;
    if (seed % 3 == 0) k += (size_t)sprintf(t, " \n ");
    for (size_t i = 0; i < tokens; i++) {
        seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
        k += (size_t)sprintf(t + k, "%s", words[seed % (sizeof words / sizeof *words)]);
        seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
        k += (size_t)sprintf(t + k, "%s", seps[seed % (sizeof seps / sizeof *seps)]);
    }
    t[k] = '\0';
    return t;
}

Test(chunk, every_chunking_of_generated_texts_keeps_the_invariants) {
    static const size_t chars[][2] = {{1, 0},   {2, 1},   {3, 0},    {7, 3},   {16, 0},
                                      {16, 15}, {50, 10}, {200, 60}, {1000, 0}};
    static const size_t words[][2] = {{1, 0}, {2, 1}, {3, 0}, {5, 4}, {12, 3}, {60, 20}};
    for (uint32_t text = 1; text <= 30; text++) {
        char *t = generate(text * 2654435761u, 20 + text * 13);
        size_t n = strlen(t);
        for (int kind = 0; kind < 3; kind++)
            for (int unit = 0; unit < 2; unit++) {
                size_t m = unit ? sizeof words / sizeof *words : sizeof chars / sizeof *chars;
                for (size_t j = 0; j < m; j++) {
                    rk_chunk_opts o = {.kind = kind, .unit = unit};
                    o.size = unit ? words[j][0] : chars[j][0];
                    o.overlap = unit ? words[j][1] : chars[j][1];
                    char what[128];
                    snprintf(what, sizeof what, "text %u, %s %s %zu/%zu", text, KIND_NAMES[kind],
                             UNIT_NAMES[unit], o.size, o.overlap);
                    cr_assert_gt(check_invariants(t, n, o, what), 0, "%s", what);
                }
            }
        free(t);
    }
}

Test(chunk, sentences_end_at_terminators_but_not_abbreviations_initials_or_decimals) {
    expect_sentences(
        "Dr. Smith met J. R. Tolkien at 3.14 p.m. today. The weather was fine, e.g. the sun shone. "
        "Then they left.",
        48,
        CHUNKS("Dr. Smith met J. R. Tolkien at 3.14 p.m. today.", "The weather was fine, e.g. the sun shone.",
               "Then they left."));
    expect_sentences(
        "We sell fruit, etc. But not all. See fig. Two and no. Five here. Mr. Jones vs. MRS. Smith. "
        "Prof. X agrees.",
        40,
        CHUNKS("We sell fruit, etc. But not all.", "See fig. Two and no. Five here.",
               "Mr. Jones vs. MRS. Smith.", "Prof. X agrees."));
    expect_sentences("Version v1.2 costs 3.14 dollars. Next one is 2.5. Then the end came.", 32,
                     CHUNKS("Version v1.2 costs 3.14 dollars.", "Next one is 2.5.", "Then the end came."));
    /* A lower-case letter after the terminator goes on. */
    expect_sentences("He said e.g. the thing. and then. More", 33,
                     CHUNKS("He said e.g. the thing. and then.", "More"));
    expect_one_sentence("The U.S. Army and I. Newton met at approx. Noon in the St. Kilda Co. Inc. Offices.");
    expect_one_sentence("Wait... and then?! he said.");
    expect_one_sentence("Then they left.");
}

Test(chunk, closing_quotes_and_brackets_stay_with_their_sentence) {
    expect_sentences("He asked \"Why?!\" Nobody knew. 'Stop.' She left (quietly.) Done.", 19,
                     CHUNKS("He asked \"Why?!\"", "Nobody knew.", "'Stop.'", "She left (quietly.)", "Done."));
    expect_sentences("«Oui.» Then “Yes.” Fine.", 11, CHUNKS("«Oui.»", "Then “Yes.”", "Fine."));
}

Test(chunk, unicode_terminators_end_sentences_without_a_space) {
    expect_sentences("今天天气很好。我们去公园吧！你来吗？好的", 8,
                     CHUNKS("今天天气很好。", "我们去公园吧！", "你来吗？好的"));
    expect_one_sentence("你来吗？");
    /* Sizes where cutting between clusters would give other chunks. */
    expect_sentences("「はい。」次です", 6, CHUNKS("「はい。」", "次です"));
    expect_sentences("ماذا؟ نعم", 6, CHUNKS("ماذا؟", "نعم"));
    expect_sentences("Wait‼Go", 6, CHUNKS("Wait‼", "Go"));
    expect_sentences("Why⁉Now⁈Ok", 5, CHUNKS("Why⁉", "Now⁈", "Ok"));
}

Test(chunk, a_line_break_is_no_sentence_end_but_a_blank_line_is) {
    rk_chunk_opts o = {.kind = RK_CHUNKER_SENTENCE, .size = 23};
    expect_chunks("First line\nsecond line.\n\nHeading\n\nBody text here.", o,
                  CHUNKS("First line\nsecond line.", "Heading", "Body text here."));
    /* Were "Gamma" a sentence start, the overlap would repeat "Gamma delta.". */
    o.size = 24;
    o.overlap = 12;
    expect_chunks("Alpha beta\nGamma delta. Epsilon.", o, CHUNKS("Alpha beta\nGamma delta.", "Epsilon."));
    o.kind = RK_CHUNKER_RECURSIVE; /* which cuts at the line first */
    expect_chunks("Alpha beta\nGamma delta. Epsilon.", o, CHUNKS("Alpha beta", "Gamma delta. Epsilon."));
}

/* Asserts that rk_text_sentences splits t into exactly `want`. */
static void expect_split(const char *t, const char *const *want) {
    rk_span *s = NULL;
    size_t n = 0, k = 0;
    rk_error e = {0};
    cr_assert_eq(rk_text_sentences(t, strlen(t), &s, &n, &e), RK_OK, "%s", e.msg);
    for (; want[k]; k++) {
        cr_assert_lt(k, n, "%s: only %zu sentences", t, n);
        cr_assert_eq(s[k].end - s[k].start, strlen(want[k]), "%s: sentence %zu is [%.*s]", t, k,
                     (int)(s[k].end - s[k].start), t + s[k].start);
        cr_assert(!memcmp(t + s[k].start, want[k], strlen(want[k])), "%s: sentence %zu", t, k);
    }
    cr_assert_eq(n, k, "%s: %zu sentences, want %zu", t, n, k);
    free(s);
}

Test(chunk, text_splits_into_the_sentences_the_sentence_chunker_finds) {
    expect_split("  Dr. Smith met J. R. Tolkien at 3.14 p.m. today.  The weather was fine, e.g. the sun "
                 "shone.\n\nHeading\n\nThen they left",
                 CHUNKS("Dr. Smith met J. R. Tolkien at 3.14 p.m. today.",
                        "The weather was fine, e.g. the sun shone.", "Heading", "Then they left"));
    expect_split("He asked \"Why?!\" Nobody knew.", CHUNKS("He asked \"Why?!\"", "Nobody knew."));
    expect_split("今天天气很好。我们去公园吧！", CHUNKS("今天天气很好。", "我们去公园吧！"));
    expect_split("First line\nsecond line.", CHUNKS("First line\nsecond line."));
    expect_split(" \n\n ", (const char *const[]){NULL});
    expect_split("", (const char *const[]){NULL});
}

Test(chunk, sentence_chunks_pack_whole_sentences_and_overlap_by_whole_sentences) {
    rk_chunk_opts o = {.kind = RK_CHUNKER_SENTENCE, .size = 35, .overlap = 20};
    /* The second overlap would be "Seven eight nine." (17), but "Ten eleven
     * twelve." (18) then no longer fits: no overlap. */
    expect_chunks(
        "One two three. Four five six. Seven eight nine. Ten eleven twelve.", o,
        CHUNKS("One two three. Four five six.", "Four five six. Seven eight nine.", "Ten eleven twelve."));
    o = (rk_chunk_opts){.kind = RK_CHUNKER_SENTENCE, .size = 20};
    expect_chunks("Short one. This sentence is far too long to fit in one chunk. End.", o,
                  CHUNKS("Short one. This", "sentence is far too", "long to fit in one", "chunk. End."));
}

Test(chunk, recursive_cuts_at_paragraphs_then_sentences_then_words) {
    rk_chunk_opts o = {.size = 40};
    expect_chunks(
        "Para one is short.\n\nPara two has two sentences. The second one is here.\n\n"
        "A very long paragraph without any sentence end that must be cut at words because it is long",
        o,
        CHUNKS("Para one is short.", "Para two has two sentences.", "The second one is here.\n\nA very long",
               "paragraph without any sentence end that", "must be cut at words because it is long"));
    expect_chunks("Line one of a list\nLine two of the list\nLine three", o,
                  CHUNKS("Line one of a list\nLine two of the list", "Line three"));
    o.size = 30; /* the line break wins over the sentence end */
    expect_chunks("Alpha beta. Gamma delta\nEpsilon zeta eta theta", o,
                  CHUNKS("Alpha beta. Gamma delta", "Epsilon zeta eta theta"));
    /* A piece that fits is kept whole, though a finer cut would pack more. */
    o.size = 12;
    expect_chunks("Xxxxxx\n\nAaa\nBbbbbbb", o, CHUNKS("Xxxxxx", "Aaa\nBbbbbbb"));
    o.size = 14;
    expect_chunks("Aaaa bbbb. Cc dddddddd.", o, CHUNKS("Aaaa bbbb.", "Cc dddddddd."));
    o.size = 10;
    expect_chunks("abc defghijkl", o, CHUNKS("abc", "defghijkl"));
    /* A word longer than the size is cut between clusters. */
    expect_chunks("abcdefghijklmnopqrstuvwxyz", o, CHUNKS("abcdefghij", "klmnopqrst", "uvwxyz"));
}

Test(chunk, recursive_overlap_is_the_longest_sentence_suffix_that_leaves_room) {
    rk_chunk_opts o = {.size = 24, .overlap = 12};
    expect_chunks("One two. Three four. Five six. Seven eight.", o,
                  CHUNKS("One two. Three four.", "Three four. Five six.", "Five six. Seven eight."));
    /* "Bb cc." is within the overlap of 11, but with " Dd ee." it would be 13. */
    o = (rk_chunk_opts){.size = 12, .overlap = 11};
    expect_chunks("Aa. Bb cc. Dd ee.", o, CHUNKS("Aa. Bb cc.", "Dd ee."));
    /* No overlap starts mid-sentence, and none in a word cut at the grapheme level. */
    o = (rk_chunk_opts){.size = 20, .overlap = 8};
    expect_chunks("one two three four five six seven eight", o,
                  CHUNKS("one two three four", "five six seven eight"));
    o = (rk_chunk_opts){.size = 10, .overlap = 3};
    expect_chunks("abcdefghijklmnopqrstuvwxyz", o, CHUNKS("abcdefghij", "klmnopqrst", "uvwxyz"));
}

Test(chunk, words_are_counted_as_rk_text_next_word_finds_them) {
    cr_assert_eq(rk_chunk_units("Hello, world! It's 3.14.", 24, RK_UNIT_WORDS), 6);
    cr_assert_eq(rk_chunk_units("e\u0301te 漢字 かな", strlen("e\u0301te 漢字 かな"), RK_UNIT_WORDS), 3);
    cr_assert_eq(rk_chunk_units(" -- ", 4, RK_UNIT_WORDS), 0);
    /* rk_text_next_word finds "a" and "\u0301b", but the joiner and the mark
     * are one cluster with "a": no cut can part them, so they are one word. */
    cr_assert_eq(rk_chunk_units("a\u200D\u0301b", strlen("a\u200D\u0301b"), RK_UNIT_WORDS), 1);
    /* In "a-\u0301b" the mark goes with the cluster of "-", so "\u0301b" is a word. */
    cr_assert_eq(rk_chunk_units("a-\u0301b", strlen("a-\u0301b"), RK_UNIT_WORDS), 2);
    cr_assert_eq(rk_chunk_units("e\u0301", 3, RK_UNIT_CHARS), 2);
    const char *family = "\U0001F469\u200D\U0001F469\u200D\U0001F467";
    cr_assert_eq(rk_chunk_units(family, strlen(family), RK_UNIT_CHARS), 5);
    cr_assert_eq(rk_chunk_units("", 0, RK_UNIT_CHARS), 0);

    rk_chunk_opts o = {.unit = RK_UNIT_WORDS, .size = 3};
    expect_chunks("One two three. Four five six. Seven", o,
                  CHUNKS("One two three.", "Four five six.", "Seven"));
    o.size = 4; /* "Hello, world!" is 2 words, "It's 3.14." 4 */
    expect_chunks("Hello, world! It's 3.14.", o, CHUNKS("Hello, world!", "It's 3.14."));
    /* Overlap "Dd ee." (2 words), then none: "Ff gg hh." (3) is above it; the
     * last sentence (6 words) is cut at words. */
    o.size = 2; /* words in other scripts, with combining marks, and split by punctuation */
    const char *intl = "wörd café e\u0301te naïve 漢字 한국어 co-op x";
    expect_chunks(intl, o, CHUNKS("wörd café", "e\u0301te naïve", "漢字 한국어", "co-op", "x"));
    o.kind = RK_CHUNKER_FIXED;
    expect_chunks(intl, o, CHUNKS("wörd café", "e\u0301te naïve", "漢字 한국어", "co-op", "x"));
    o = (rk_chunk_opts){.kind = RK_CHUNKER_SENTENCE, .unit = RK_UNIT_WORDS, .size = 5, .overlap = 2};
    expect_chunks("Aa bb cc. Dd ee. Ff gg hh. Ii jj kk ll mm nn.", o,
                  CHUNKS("Aa bb cc. Dd ee.", "Dd ee. Ff gg hh.", "Ii jj kk ll mm", "nn."));
}

Test(chunk, fixed_windows_of_chars) {
    rk_chunk_opts o = {.kind = RK_CHUNKER_FIXED, .size = 4, .overlap = 1};
    expect_chunks("abcdefghij", o, CHUNKS("abcd", "defg", "ghij"));
    expect_chunks("abcdefg", o, CHUNKS("abcd", "defg"));
    expect_chunks("ééééééé", o, CHUNKS("éééé", "éééé"));
    o = (rk_chunk_opts){.kind = RK_CHUNKER_FIXED, .size = 3};
    expect_chunks("ab cd ef", o, CHUNKS("ab", "cd", "ef")); /* trimmed: "ab ", "cd " */
    /* Trimmed, "b" adds nothing to "ab" and goes; "c" is a prefix of "cd". */
    o.overlap = 2;
    expect_chunks("ab   cd", o, CHUNKS("ab", "cd"));
    o.overlap = 0;
    /* A window end inside "e\u0301" moves back, and the next starts there. */
    o.size = 2;
    expect_chunks("ae\u0301bc", o, CHUNKS("a", "e\u0301", "bc"));
    o.overlap = 1; /* a cluster of 5 code points is kept whole */
    expect_chunks("a\U0001F469\u200D\U0001F469\u200D\U0001F467b", o,
                  CHUNKS("a", "\U0001F469\u200D\U0001F469\u200D\U0001F467", "b"));
}

Test(chunk, fixed_windows_of_words) {
    rk_chunk_opts o = {.kind = RK_CHUNKER_FIXED, .unit = RK_UNIT_WORDS, .size = 3, .overlap = 1};
    expect_chunks("a b c d e f g", o, CHUNKS("a b c", "c d e", "e f g"));
    expect_chunks("a b c d e f", o, CHUNKS("a b c", "c d e", "e f"));
    o = (rk_chunk_opts){.kind = RK_CHUNKER_FIXED, .unit = RK_UNIT_WORDS, .size = 2};
    /* Punctuation goes with the word it touches, so nothing is left out. */
    expect_chunks("Hi, you. Go now!", o, CHUNKS("Hi, you.", "Go now!"));
    o.size = 1;
    expect_chunks("(one) two -- three...", o, CHUNKS("(one)", "two --", "three..."));
    expect_chunks("-- ...", o, CHUNKS("-- ..."));
}

/* Consecutive fixed windows share exactly `overlap` units and start `size -
 * overlap` units apart, wherever no whitespace is trimmed and no cluster has
 * more than one code point. */
Test(chunk, fixed_overlap_is_exact) {
    char t[4000] = "";
    for (int i = 0; strlen(t) < 3000; i++)
        strcat(t, (const char *[]){"a", "é", "漢", "\U0001F600", "Z"}[i * 7 % 5]);
    for (size_t size = 1; size <= 40; size += 3)
        for (size_t overlap = 0; overlap < size; overlap += 1 + size / 4) {
            rk_chunk_opts o = {.kind = RK_CHUNKER_FIXED, .size = size, .overlap = overlap};
            size_t n;
            rk_span *s = chunk_ok(t, strlen(t), o, &n);
            cr_assert_eq(s[0].start, 0);
            cr_assert_eq(s[n - 1].end, strlen(t));
            for (size_t i = 0; i + 1 < n; i++) {
                cr_assert_eq(rk_chunk_units(t + s[i].start, s[i].end - s[i].start, RK_UNIT_CHARS), size);
                cr_assert_eq(rk_chunk_units(t + s[i].start, s[i + 1].start - s[i].start, RK_UNIT_CHARS),
                             size - overlap);
                cr_assert_eq(rk_chunk_units(t + s[i + 1].start, s[i].end - s[i + 1].start, RK_UNIT_CHARS),
                             overlap);
            }
            free(s);
        }
    const char *w =
        "Alpha, beta gamma! (delta) epsilon... zeta eta-theta iota kappa lambda. Mu nu xi omicron";
    for (size_t size = 1; size <= 8; size++)
        for (size_t overlap = 0; overlap < size; overlap++) {
            rk_chunk_opts o = {
                .kind = RK_CHUNKER_FIXED, .unit = RK_UNIT_WORDS, .size = size, .overlap = overlap};
            size_t n;
            rk_span *s = chunk_ok(w, strlen(w), o, &n);
            for (size_t i = 0; i + 1 < n; i++) {
                cr_assert_eq(rk_chunk_units(w + s[i].start, s[i].end - s[i].start, RK_UNIT_WORDS), size);
                if (!overlap) {
                    cr_assert_geq(s[i + 1].start, s[i].end);
                    continue;
                }
                cr_assert_eq(rk_chunk_units(w + s[i + 1].start, s[i].end - s[i + 1].start, RK_UNIT_WORDS),
                             overlap, "%zu/%zu: chunks %zu and %zu", size, overlap, i, i + 1);
            }
            free(s);
        }
}

Test(chunk, bad_options_are_refused) {
    rk_span *s = NULL;
    size_t n = 9;
    rk_error e = {0};
    rk_chunk_opts o = {.size = 100, .overlap = 100};
    cr_assert_eq(rk_chunk_text("abc", 3, &o, &s, &n, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "overlap (100)"), "%s", e.msg);
    o.overlap = 101;
    cr_assert_eq(rk_chunk_text("abc", 3, &o, &s, &n, &e), RK_EINVAL);
    o = (rk_chunk_opts){.size = 0};
    cr_assert_eq(rk_chunk_text("abc", 3, &o, &s, &n, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "size"), "%s", e.msg);
    o = (rk_chunk_opts){.kind = 3, .size = 10};
    cr_assert_eq(rk_chunk_text("abc", 3, &o, &s, &n, &e), RK_EINVAL);
    o = (rk_chunk_opts){.unit = 2, .size = 10};
    cr_assert_eq(rk_chunk_text("abc", 3, &o, &s, &n, &e), RK_EINVAL);
    cr_assert_null(s);
    cr_assert_eq(n, 9);
}

Test(chunk, whitespace_gives_no_chunk) {
    for (int kind = 0; kind < 3; kind++)
        for (int unit = 0; unit < 2; unit++) {
            rk_chunk_opts o = {.kind = kind, .unit = unit, .size = 5};
            size_t n = 9;
            free(chunk_ok(" \n\n  \n", 6, o, &n));
            cr_assert_eq(n, 0);
            free(chunk_ok("", 0, o, &n));
            cr_assert_eq(n, 0);
        }
}

Test(chunk, names_parse) {
    cr_assert_eq(rk_chunker_parse("recursive"), RK_CHUNKER_RECURSIVE);
    cr_assert_eq(rk_chunker_parse("sentence"), RK_CHUNKER_SENTENCE);
    cr_assert_eq(rk_chunker_parse("fixed"), RK_CHUNKER_FIXED);
    cr_assert_eq(rk_chunker_parse("Fixed"), -1);
    cr_assert_eq(rk_chunker_parse(""), -1);
    cr_assert_eq(rk_chunk_unit_parse("chars"), RK_UNIT_CHARS);
    cr_assert_eq(rk_chunk_unit_parse("words"), RK_UNIT_WORDS);
    cr_assert_eq(rk_chunk_unit_parse("tokens"), -1);
}

/* Megabytes in one line: chunking is linear (a quadratic chunker would not
 * finish), and the invariants hold there too. */
Test(chunk, megabytes_in_one_line) {
    size_t n = 8u << 20;
    char *t = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        t[i] = (char)('a' + i % 26);
    t[n] = '\0';
    for (int kind = 0; kind < 3; kind++) {
        rk_chunk_opts o = {.kind = kind, .size = 1000, .overlap = kind == RK_CHUNKER_FIXED ? 100 : 0};
        size_t count = check_invariants(t, n, o, KIND_NAMES[kind]);
        cr_assert_eq(count, kind == RK_CHUNKER_FIXED ? (n - 100 + 899) / 900 : (n + 999) / 1000);
    }
    for (size_t i = 5; i < n; i += 6)
        t[i] = ' ';
    for (int kind = 0; kind < 3; kind++)
        for (int unit = 0; unit < 2; unit++) {
            rk_chunk_opts o = {.kind = kind, .unit = unit, .size = 1000, .overlap = 100};
            check_invariants(t, n, o, KIND_NAMES[kind]);
        }
    free(t);
}
