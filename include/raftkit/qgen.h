/* qgen.h — the offline question generator of raft-assemble: factoid
 * questions made from a chunk's own sentences, with no model. For each
 * sentence an answer span is chosen — a number (with its unit), a date, a
 * proper-noun phrase, a defined term — and the sentence is rewritten into a
 * question with the fitting wh-word ("The RV Ingrid Maelstad was launched in
 * 2004." -> "When was the RV Ingrid Maelstad launched?", answer "2004").
 * Deterministic: the same text gives the same questions, in the same order.
 * Not for remote generation (gen.h) or the answer format (cot.h). */
#ifndef RAFTKIT_QGEN_H
#define RAFTKIT_QGEN_H

#include <stddef.h>

#include "raftkit/status.h"

typedef enum rk_answer_kind {
    RK_ANSWER_NUMBER = 0, /* "31.5 metres", "twelve scientists", "40%" */
    RK_ANSWER_DATE = 1,   /* "2004", "12 March 1998", "March 1998" */
    RK_ANSWER_NAME = 2,   /* a proper-noun phrase: "Hask & Sons", "Marta Lindqvist" */
    RK_ANSWER_TERM = 3,   /* the term a sentence defines: "Slack water" in "Slack water: the short ..." */
} rk_answer_kind;

typedef struct rk_qa {
    char *question;              /* one line, ends with '?' */
    char *answer;                /* text[ans_start, ans_end): verbatim from the chunk */
    size_t ans_start, ans_end;   /* byte span of the answer in the chunk */
    size_t sent_start, sent_end; /* byte span of the sentence holding it */
    rk_answer_kind kind;
} rk_qa;

/* Makes at most max questions from text[0..n) (a chunk: valid UTF-8,
 * normalized; no NUL needed after it), best first, into *out (free with
 * rk_qa_free) and *count; a chunk that offers none, or max 0, gives
 * *out = NULL, *count = 0 and RK_OK. Best first: questions about dates,
 * numbers and proper-noun subjects before weaker patterns (terms, names
 * after a copula or as objects), then in sentence order, and every
 * sentence's best question before any sentence's second. Every answer
 * occurs in text at its span, no two questions are the same (ignoring
 * case), no question contains its own answer, and each question is one
 * line of at least four words ending with '?'. RK_ENOMEM. Thread-safe: no
 * state outlives a call. */
rk_status rk_qgen_offline(const char *text, size_t n, size_t max, rk_qa **out, size_t *count, rk_error *err);
void rk_qa_free(rk_qa *qa, size_t count); /* accepts NULL */

/* "number", "date", "name", "term". */
const char *rk_answer_kind_name(rk_answer_kind k);

#endif
