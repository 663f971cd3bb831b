/* cot.c — writing and reading the chain-of-thought answers of cot.h. */
#define _GNU_SOURCE /* memmem */
#include "raftkit/cot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BEGIN_LEN (sizeof RK_COT_BEGIN_QUOTE - 1)
#define END_LEN (sizeof RK_COT_END_QUOTE - 1)
#define ANSWER_LEN (sizeof RK_COT_ANSWER - 1)

static int is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

/* Trims whitespace from both ends of s[*a, *b). */
static void trim(const char *s, size_t *a, size_t *b) {
    while (*a < *b && is_space(s[*a]))
        ++*a;
    while (*b > *a && is_space(s[*b - 1]))
        --*b;
}

/* memmem over bounded, not NUL-terminated, ranges. */
static const char *find(const char *h, size_t hn, const char *needle, size_t nn) {
    return nn ? memmem(h, hn, needle, nn) : h;
}

char *rk_cot_write(const char *question, const char *quote, size_t qlen, const char *answer) {
    const char *fmt =
        "##Reason: The question is \"%s\". The document that answers it says " RK_COT_BEGIN_QUOTE
        " %.*s " RK_COT_END_QUOTE " so the answer is %s.\n" RK_COT_ANSWER " %s";
    int n = snprintf(NULL, 0, fmt, question, (int)qlen, quote, answer, answer);
    char *s = n < 0 ? NULL : malloc((size_t)n + 1);
    if (s) snprintf(s, (size_t)n + 1, fmt, question, (int)qlen, quote, answer, answer);
    return s;
}

int rk_cot_answer(const char *cot, size_t n, size_t *start, size_t *len) {
    const char *last = NULL;
    for (const char *p = cot; (p = find(p, n - (size_t)(p - cot), RK_COT_ANSWER, ANSWER_LEN));
         p += ANSWER_LEN)
        last = p;
    size_t a = last ? (size_t)(last - cot) + ANSWER_LEN : 0, b = n;
    trim(cot, &a, &b);
    *start = a;
    *len = b - a;
    return last != NULL;
}

int rk_cot_quotes(const char *cot, size_t n, int (*fn)(const char *q, size_t len, void *ctx), void *ctx) {
    const char *p = cot, *end = cot + n;
    for (const char *b; (b = find(p, (size_t)(end - p), RK_COT_BEGIN_QUOTE, BEGIN_LEN));) {
        const char *q = b + BEGIN_LEN, *e = find(q, (size_t)(end - q), RK_COT_END_QUOTE, END_LEN);
        if (!e) return -1;
        size_t a = (size_t)(q - cot), z = (size_t)(e - cot);
        trim(cot, &a, &z);
        int r = fn(cot + a, z - a, ctx);
        if (r) return r;
        p = e + END_LEN;
    }
    return 0;
}

typedef struct in_text {
    const char *t;
    size_t n;
} in_text;

static int quote_missing(const char *q, size_t len, void *ctx) {
    const in_text *x = ctx;
    return !len || !find(x->t, x->n, q, len);
}

rk_cot_check rk_cot_verify(const char *cot, size_t n, const char *text, size_t tn) {
    in_text x = {text, tn};
    int r = rk_cot_quotes(cot, n, quote_missing, &x);
    if (r < 0) return RK_COT_UNCLOSED_QUOTE;
    if (r) return RK_COT_BAD_QUOTE;
    size_t a, len;
    if (!rk_cot_answer(cot, n, &a, &len) || !len) return RK_COT_NO_ANSWER;
    return RK_COT_OK;
}

const char *rk_cot_check_name(rk_cot_check c) {
    switch (c) {
    case RK_COT_OK: return "ok";
    case RK_COT_NO_ANSWER: return "no final answer";
    case RK_COT_UNCLOSED_QUOTE: return "unclosed quote";
    case RK_COT_BAD_QUOTE: return "quote not in the oracle";
    }
    return "?";
}
