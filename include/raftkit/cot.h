/* cot.h — the chain-of-thought answer format of the RAFT paper: reasoning
 * that copies sentences of the context between ##begin_quote## and
 * ##end_quote##, ending in "<ANSWER>: " and the short final answer. Written
 * by raft-assemble, read back by raft-eval (final answer, grounding). */
#ifndef RAFTKIT_COT_H
#define RAFTKIT_COT_H

#include <stddef.h>

#define RK_COT_BEGIN_QUOTE "##begin_quote##"
#define RK_COT_END_QUOTE "##end_quote##"
#define RK_COT_ANSWER "<ANSWER>:"

/* A reasoning in the reference's form that quotes quote[0..qlen) and
 * concludes answer: "##Reason: The document says ##begin_quote## ...
 * ##end_quote## ... ##Answer: ...\n<ANSWER>: answer". NULL when out of memory. */
char *rk_cot_write(const char *question, const char *quote, size_t qlen, const char *answer);

/* The final answer: the text after the last "<ANSWER>:", trimmed of
 * whitespace, into *start and *len within cot. Returns 0 when cot has no
 * "<ANSWER>:" (then the span is the whole cot, trimmed). */
int rk_cot_answer(const char *cot, size_t n, size_t *start, size_t *len);

typedef enum rk_cot_check {
    RK_COT_OK = 0,
    RK_COT_NO_ANSWER = 1,      /* no "<ANSWER>:", or nothing after it */
    RK_COT_UNCLOSED_QUOTE = 2, /* a ##begin_quote## without its ##end_quote## */
    RK_COT_BAD_QUOTE = 3,      /* a quote (trimmed of whitespace) that is not in the text */
} rk_cot_check;

/* Calls fn for each quote of cot, trimmed of whitespace, in order; stops
 * and returns fn's non-zero value. Returns -1 for an unclosed quote (after
 * the quotes before it). */
int rk_cot_quotes(const char *cot, size_t n, int (*fn)(const char *q, size_t len, void *ctx), void *ctx);

/* Checks an answer for the training set: a final answer, and every quote
 * found verbatim in text[0..tn). */
rk_cot_check rk_cot_verify(const char *cot, size_t n, const char *text, size_t tn);

/* "ok", "no final answer", "unclosed quote", "quote not in the oracle". */
const char *rk_cot_check_name(rk_cot_check c);

#endif
