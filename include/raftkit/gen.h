/* gen.h — raft-assemble's remote generator: questions about a chunk and
 * chain-of-thought answers from an OpenAI-compatible chat endpoint
 * (chat.h), with prompts read from files a user can replace, and every reply
 * cached in the KB keyed by the hash of its request (model and prompt), so
 * that a re-run or a resumed run sends nothing for work already done.
 * Not for the offline generator (qgen.h). */
#ifndef RAFTKIT_GEN_H
#define RAFTKIT_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/chat.h"
#include "raftkit/kb.h"
#include "raftkit/status.h"

/* The four prompt templates: files questions.system.txt,
 * questions.user.txt, answer.system.txt, answer.user.txt, used as they are
 * (a final newline included). In them {n} becomes the number of questions
 * asked, {chunk} the chunk's text (question prompts), {question} the
 * question and {context} the document's text (answer prompts): each
 * occurrence, literally, in one pass (a chunk that holds "{question}" keeps
 * it); other braces stay as written. */
typedef struct rk_prompts {
    char *questions_system, *questions_user, *answer_system, *answer_user;
} rk_prompts;

/* Reads the four files from dir, or the built-in ones (assemble/prompts/,
 * compiled in) when dir is NULL. RK_EIO naming a missing or unreadable
 * file; RK_EFORMAT for a template that lacks a placeholder it needs
 * ({chunk} in questions.user.txt, {question} and {context} in
 * answer.user.txt) or that is not UTF-8 text (a NUL byte, invalid UTF-8).
 * On failure *out is left empty. Free with rk_prompts_free (accepts NULL,
 * and a freed or failed rk_prompts). */
rk_status rk_prompts_load(const char *dir, rk_prompts *out, rk_error *err);
void rk_prompts_free(rk_prompts *p);

/* Reads a template file into a new NUL-terminated string (the caller
 * frees). RK_ENOTFOUND when it does not exist, RK_EIO when it cannot be read; RK_EFORMAT when it holds a NUL
 * byte or invalid UTF-8 (no request could carry it). */
rk_status rk_prompt_read(const char *path, char **out, rk_error *err);

typedef struct rk_prompt_slot {
    const char *name; /* "{chunk}" */
    const char *val;  /* val[0..len) replaces it */
    size_t len;
} rk_prompt_slot;

/* tmpl with each occurrence of a slot's name replaced by its value, in one
 * pass (a value that holds "{question}" stays as it is). NULL when out of
 * memory; the caller frees. Fills the prompts here and raft-assemble's
 * instruction template. */
char *rk_prompt_fill(const char *tmpl, const rk_prompt_slot *s, size_t ns);

typedef enum rk_gen_kind {
    RK_GEN_QUESTIONS = 0, /* n questions about text */
    RK_GEN_ANSWER = 1,    /* a chain-of-thought answer to question from text */
} rk_gen_kind;

typedef struct rk_gen_job {
    /* in */
    rk_gen_kind kind;
    const char *text; /* the chunk (questions) or the context document (answer) */
    size_t text_len;
    const char *question; /* RK_GEN_ANSWER only */
    size_t n;             /* RK_GEN_QUESTIONS only: how many to ask for */
    /* out */
    char *reply;      /* the reply's content (the caller frees), NULL when the job failed */
    rk_status status; /* RK_OK, or why it failed after the retries */
    char error[256];  /* the failure's message */
    int cached;       /* 1: the reply came from the KB's cache */
} rk_gen_job;

typedef struct rk_gen_opts {
    rk_chat_opts chat;
    int workers; /* concurrent requests; 0: 4 */
} rk_gen_opts;

typedef struct rk_gen_stats {
    uint64_t requests; /* replies fetched in this run (and cached, unless the KB failed) */
    uint64_t cached;   /* jobs answered from the cache */
    uint64_t failed;   /* jobs that failed after their retries */
} rk_gen_stats;

/* Runs the jobs: those whose request is cached in kb are answered from it;
 * the others go to o->workers threads that make the requests, and each reply
 * is cached in kb as it comes (in small write transactions on the calling
 * thread, the only one that touches the KB), so a run killed midway keeps
 * what it fetched. The cache key is the hash of the request body (model,
 * temperature, max_tokens, the filled prompts; not the URL). A job that
 * fails (an endpoint error after the retries, a malformed reply, a text or
 * question that is not UTF-8, sent nowhere) gets its status and message,
 * nothing is cached for it, and the others go on. Returns non-OK only for
 * what stops everything: the KB failing, out of memory, or RK_EINVAL, before
 * any request, for options that would fail every one (a URL that is not
 * http:// or https://, the key variable named but unset or empty, negative
 * workers, a temperature that is not finite, a template that is not UTF-8).
 * Every job's out fields are set afresh (free an earlier run's replies
 * first); each job's result depends on its request only, not on the number
 * of workers. st may be NULL. kb must be open for writing. */
rk_status rk_gen_run(rk_kb *kb, const rk_gen_opts *o, const rk_prompts *p, rk_gen_job *jobs, size_t n,
                     rk_gen_stats *st, rk_error *err);

/* Splits a questions reply into questions: one per line, list markers
 * ("1.", "1)", "-", "*", "•", "Q:", "Q1:", "Question:", "Question 2:",
 * bold "**Q1:**"), surrounding whitespace, quotes and "**" removed; lines
 * without a letter dropped, and lead-ins ending in ':' ("Here are 3
 * questions:"); at most max. Returns the count; each out[i] is a new string
 * the caller frees (out of memory ends the list early). */
size_t rk_gen_parse_questions(const char *reply, size_t max, char **out);

#endif
