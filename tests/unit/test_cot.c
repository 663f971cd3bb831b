/* Unit tests for core/cot.c: the chain-of-thought answers of the RAFT
 * reference, written, read back and checked against their oracle. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/cot.h"

static const char *ORACLE = "The RV Ingrid Maelstad was launched in 2004. She carries a crew of seven.";

static char *answer_of(const char *cot) {
    size_t a, n;
    rk_cot_answer(cot, strlen(cot), &a, &n);
    return strndup(cot + a, n);
}

Test(cot, a_written_answer_reads_back_and_passes_its_check) {
    const char *q = "She carries a crew of seven.";
    char *cot = rk_cot_write("How many crew does she carry?", q, strlen(q), "seven");
    cr_assert_not_null(cot);
    cr_assert(strstr(cot, RK_COT_BEGIN_QUOTE " She carries a crew of seven. " RK_COT_END_QUOTE), "%s", cot);
    cr_assert(strstr(cot, "\n" RK_COT_ANSWER " seven"), "%s", cot);
    char *a = answer_of(cot);
    cr_assert_str_eq(a, "seven");
    cr_assert_eq(rk_cot_verify(cot, strlen(cot), ORACLE, strlen(ORACLE)), RK_COT_OK);
    free(a);
    free(cot);
}

Test(cot, the_final_answer_is_after_the_last_tag_or_the_whole_text) {
    size_t a, n;
    const char *t = "<ANSWER>: draft\nthinking more <ANSWER>:  2004 \n";
    cr_assert_eq(rk_cot_answer(t, strlen(t), &a, &n), 1);
    cr_assert(n == 4 && !memcmp(t + a, "2004", 4));
    t = "  just the answer \n";
    cr_assert_eq(rk_cot_answer(t, strlen(t), &a, &n), 0, "no tag is flagged");
    cr_assert(n == 15 && !memcmp(t + a, "just the answer", 15));
}

static int collect(const char *q, size_t len, void *ctx) {
    char *buf = ctx;
    size_t at = strlen(buf);
    snprintf(buf + at, 256 - at, "[%.*s]", (int)len, q);
    return 0;
}

Test(cot, quotes_are_found_in_order_and_trimmed) {
    char got[256] = "";
    const char *t = "a ##begin_quote##  one ##end_quote## b ##begin_quote##two##end_quote## c";
    cr_assert_eq(rk_cot_quotes(t, strlen(t), collect, got), 0);
    cr_assert_str_eq(got, "[one][two]");
    got[0] = 0;
    t = "##begin_quote## one ##end_quote## ##begin_quote## never closed";
    cr_assert_eq(rk_cot_quotes(t, strlen(t), collect, got), -1);
    cr_assert_str_eq(got, "[one]", "the quotes before the unclosed one are seen");
}

Test(cot, answers_that_do_not_hold_are_named) {
    struct {
        const char *cot;
        rk_cot_check want;
    } cases[] = {
        {"##begin_quote## launched in 2004 ##end_quote##\n<ANSWER>: 2004", RK_COT_OK},
        {"no quote at all <ANSWER>: seven", RK_COT_OK},
        {"##begin_quote## launched in 2005 ##end_quote## <ANSWER>: 2005", RK_COT_BAD_QUOTE},
        {"##begin_quote## launched  in 2004 ##end_quote## <ANSWER>: 2004", RK_COT_BAD_QUOTE},
        {"##begin_quote## ##end_quote## <ANSWER>: 2004", RK_COT_BAD_QUOTE},
        {"##begin_quote## launched in 2004 <ANSWER>: 2004", RK_COT_UNCLOSED_QUOTE},
        {"##begin_quote## launched in 2004 ##end_quote## so 2004", RK_COT_NO_ANSWER},
        {"##begin_quote## launched in 2004 ##end_quote## <ANSWER>:   ", RK_COT_NO_ANSWER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rk_cot_check c = rk_cot_verify(cases[i].cot, strlen(cases[i].cot), ORACLE, strlen(ORACLE));
        cr_assert_eq(c, cases[i].want, "case %zu: %s, want %s", i, rk_cot_check_name(c),
                     rk_cot_check_name(cases[i].want));
    }
}
