/* Unit tests for assemble/gen.c: prompt loading, the question parser, and
 * runs against the loopback server of httpd.h answering like an
 * OpenAI-compatible /v1/chat/completions endpoint, with a real KB in a temp
 * directory as the cache. */
#include "helpers.h"

#include <jansson.h>
#include <sys/stat.h>
#include <time.h>

#include "httpd.h"
#include "raftkit/gen.h"

#define KEY "sk-test-gen-0123456789"
#define KEY_ENV "RK_TEST_GEN_KEY"

/* The server reads the user message of each request: text holding "FLAKY"
 * gets a 500 while flaky is set, "BADJSON" a 200 that is no JSON, "BUSY" a
 * 429 the first time, "SLOW" its reply three seconds late, "LIST" a list of
 * questions; anything else "reply to: " and the user message. A text
 * "DELAY<d>" waits d ms first, to shuffle the order replies arrive in. */
typedef struct srv {
    int hits, flaky, busy_seen, has_auth;
    char auth[256];
    json_t *users;   /* the user messages, in the order they came */
    json_t *systems; /* the system messages, likewise */
    json_t *last;    /* the last request body */
} srv;

static const char list_reply[] = "Here are 3 questions:\n"
                                 "1. When was the RV Ingrid Maelstad launched?\n"
                                 "2) Who built it?\n"
                                 "- \"How long is it?\"\n"
                                 "---\n";

static void handler(const httpd_request *req, httpd_reply *rep, void *ud) {
    srv *s = ud;
    s->hits++;
    s->has_auth = httpd_header(req, "Authorization", s->auth, sizeof s->auth) != NULL;
    json_t *r = req->body ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
    const json_t *msgs = json_object_get(r, "messages");
    const char *sys = json_string_value(json_object_get(json_array_get(msgs, 0), "content"));
    const char *user = json_string_value(json_object_get(json_array_get(msgs, 1), "content"));
    if (!user) user = "";
    json_array_append_new(s->users, json_string(user));
    json_array_append_new(s->systems, json_string(sys ? sys : ""));
    json_decref(s->last);
    s->last = r;
    const char *d = strstr(user, "DELAY");
    if (d) rep->delay_ms = atoi(d + 5);
    if (strstr(user, "FLAKY") && s->flaky) {
        httpd_text(rep, 500, "application/json", "{\"error\": {\"message\": \"flaky backend\"}}");
        snprintf(rep->headers, sizeof rep->headers, "Retry-After: 0\r\n");
    } else if (strstr(user, "BADJSON")) {
        httpd_text(rep, 200, "text/plain", "oops, not JSON");
    } else if (strstr(user, "BUSY") && s->busy_seen++ == 0) {
        httpd_text(rep, 429, "text/plain", "slow down");
        snprintf(rep->headers, sizeof rep->headers, "Retry-After: 0\r\n");
    } else if (strstr(user, "LIST")) {
        httpd_chat(rep, json_string(list_reply));
    } else {
        if (strstr(user, "SLOW")) rep->delay_ms = 3000;
        size_t n = strlen(user) + 32;
        char *content = malloc(n);
        snprintf(content, n, "reply to: %s", user);
        httpd_chat(rep, json_string(content));
        free(content);
    }
}

static char *dir;
static srv server;
static httpd *http;
static char url[64];

static void setup(void) {
    dir = tmpdir_new();
    server = (srv){.users = json_array(), .systems = json_array()};
    http = httpd_start(handler, &server);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", httpd_port(http));
}

static void teardown(void) {
    httpd_stop(http);
    json_decref(server.users);
    json_decref(server.systems);
    json_decref(server.last);
    tmpdir_free(dir);
}

TestSuite(gen, .init = setup, .fini = teardown);

static rk_kb *kb_open(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    rk_kb *kb = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(path, RK_KB_CREATE, 0, &kb, &e), RK_OK, "%s", e.msg);
    return kb;
}

static rk_gen_opts opts(void) {
    return (rk_gen_opts){.chat = {.url = url, .model = "test-model", .retries = 1, .backoff_ms = 5}};
}

static rk_prompts builtin(void) {
    rk_prompts p;
    rk_error e = {0};
    cr_assert_eq(rk_prompts_load(NULL, &p, &e), RK_OK, "%s", e.msg);
    return p;
}

static rk_gen_job qjob(const char *text, size_t n) {
    return (rk_gen_job){.kind = RK_GEN_QUESTIONS, .text = text, .text_len = strlen(text), .n = n};
}

static rk_gen_job ajob(const char *question, const char *context) {
    return (rk_gen_job){
        .kind = RK_GEN_ANSWER, .text = context, .text_len = strlen(context), .question = question};
}

static void jobs_free(rk_gen_job *jobs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(jobs[i].reply);
        jobs[i].reply = NULL;
    }
}

/* Runs the jobs expecting RK_OK; returns the stats. */
static rk_gen_stats run_ok(rk_kb *kb, const rk_gen_opts *o, const rk_prompts *p, rk_gen_job *jobs, size_t n) {
    rk_gen_stats st;
    rk_error e = {0};
    cr_assert_eq(rk_gen_run(kb, o, p, jobs, n, &st, &e), RK_OK, "%s", e.msg);
    return st;
}

/* The user message of request k. */
static const char *user_of(size_t k) { return json_string_value(json_array_get(server.users, k)); }

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s", path);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Writes the four prompt files to dir/name (NULL: that file is left out). */
static char *prompt_dir(const char *name, const char *qs, const char *qu, const char *as, const char *au) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *d = malloc(n);
    snprintf(d, n, "%s/%s", dir, name);
    cr_assert_eq(mkdir(d, 0755), 0);
    const char *files[4] = {"questions.system.txt", "questions.user.txt", "answer.system.txt",
                            "answer.user.txt"};
    const char *texts[4] = {qs, qu, as, au};
    for (int i = 0; i < 4; i++)
        if (texts[i]) free(write_text(d, files[i], texts[i]));
    return d;
}

/* ---- prompts ---- */

Test(gen, builtin_prompts_are_the_files) {
    rk_prompts p = builtin();
    char path[1024];
    const char *files[4] = {"questions.system", "questions.user", "answer.system", "answer.user"};
    const char *got[4] = {p.questions_system, p.questions_user, p.answer_system, p.answer_user};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/assemble/prompts/%s.txt", RK_SOURCE_DIR, files[i]);
        cr_assert_str_eq(got[i], slurp(path), "%s", files[i]);
    }
    cr_assert(strstr(p.questions_system, "{n}"));
    cr_assert(strstr(p.questions_user, "{chunk}"));
    rk_prompts_free(&p);
    rk_prompts_free(&p); /* twice: the first zeroed it */
    rk_prompts_free(NULL);
}

Test(gen, prompts_from_a_directory) {
    char *d = prompt_dir("p", "QS {n}", "QU {chunk}", "AS", "AU {question} {context}");
    rk_prompts p;
    rk_error e = {0};
    cr_assert_eq(rk_prompts_load(d, &p, &e), RK_OK, "%s", e.msg);
    cr_assert_str_eq(p.questions_system, "QS {n}");
    cr_assert_str_eq(p.questions_user, "QU {chunk}");
    cr_assert_str_eq(p.answer_system, "AS");
    cr_assert_str_eq(p.answer_user, "AU {question} {context}");
    rk_prompts_free(&p);
    free(d);
}

Test(gen, missing_prompt_file_is_named) {
    char *d = prompt_dir("p", "QS", "{chunk}", "AS", NULL), want[1200];
    rk_prompts p;
    rk_error e = {0};
    cr_assert_eq(rk_prompts_load(d, &p, &e), RK_ENOTFOUND);
    snprintf(want, sizeof want, "%s/answer.user.txt: No such file or directory", d);
    cr_assert_str_eq(e.msg, want);
    cr_assert_null(p.questions_system, "nothing is left to free");
    free(d);
}

Test(gen, missing_placeholders_are_refused) {
    static const struct {
        const char *qu, *au, *file, *what;
    } cases[] = {
        {"Text: {text}", "{question} {context}", "questions.user.txt", "{chunk}"},
        {"{chunk}", "Q: {question}", "answer.user.txt", "{context}"},
        {"{chunk}", "C: {context}", "answer.user.txt", "{question}"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char name[16], want[1200];
        snprintf(name, sizeof name, "p%zu", k);
        char *d = prompt_dir(name, "QS", cases[k].qu, "AS", cases[k].au);
        rk_prompts p;
        rk_error e = {0};
        cr_assert_eq(rk_prompts_load(d, &p, &e), RK_EFORMAT, "case %zu", k);
        snprintf(want, sizeof want, "%s/%s: no %s placeholder", d, cases[k].file, cases[k].what);
        cr_assert_str_eq(e.msg, want);
        free(d);
    }
}

Test(gen, invalid_utf8_prompt_is_refused) {
    char *d = prompt_dir("p", "caf\xe9 {n}", "{chunk}", "AS", "{question} {context}");
    rk_prompts p;
    rk_error e = {0};
    cr_assert_eq(rk_prompts_load(d, &p, &e), RK_EFORMAT);
    cr_assert(strstr(e.msg, "questions.system.txt: invalid UTF-8 at byte 3"), "%s", e.msg);
    free(d);
}

/* ---- runs ---- */

Test(gen, questions_and_answer_jobs) {
    rk_kb *kb = kb_open("kb");
    rk_gen_opts o = opts();
    rk_prompts p = builtin();
    const char *chunk = "LIST The RV Ingrid Maelstad was launched in 2004 by Hask & Sons.";
    rk_gen_job jobs[] = {qjob(chunk, 3),
                         ajob("When was it launched?", "The RV Ingrid Maelstad was launched in 2004.")};
    rk_gen_stats st = run_ok(kb, &o, &p, jobs, 2);
    cr_assert_eq(st.requests, 2);
    cr_assert_eq(st.cached, 0);
    cr_assert_eq(st.failed, 0);
    cr_assert_eq(server.hits, 2);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(jobs[i].status, RK_OK, "job %d: %s", i, jobs[i].error);
        cr_assert_eq(jobs[i].cached, 0);
        cr_assert_str_eq(jobs[i].error, "");
    }
    cr_assert_str_eq(jobs[0].reply, list_reply);
    char *q[8];
    size_t nq = rk_gen_parse_questions(jobs[0].reply, 8, q);
    cr_assert_eq(nq, 3);
    cr_assert_str_eq(q[0], "When was the RV Ingrid Maelstad launched?");
    cr_assert_str_eq(q[1], "Who built it?");
    cr_assert_str_eq(q[2], "How long is it?");
    for (size_t k = 0; k < nq; k++)
        free(q[k]);
    /* The answer's request carried the question and the context. */
    const char *want_user =
        "Question: When was it launched?\nContext: The RV Ingrid Maelstad was launched in 2004.\n\n"
        "Answer this question";
    size_t a = strncmp(user_of(0), "Question:", 9) == 0 ? 0 : 1; /* the requests came in either order */
    cr_assert(strncmp(user_of(a), want_user, strlen(want_user)) == 0, "%s", user_of(a));
    cr_assert(strncmp(jobs[1].reply, "reply to: ", 10) == 0);
    cr_assert_str_eq(jobs[1].reply + 10, user_of(a));
    cr_assert_str_eq(json_string_value(json_array_get(server.systems, a)), p.answer_system);
    /* The questions' request: {n} and {chunk} filled. */
    const char *qs = json_string_value(json_array_get(server.systems, 1 - a));
    cr_assert(strstr(qs, "generate 3 example questions"), "%s", qs);
    cr_assert_null(strstr(qs, "{n}"));
    char want_chunk[256];
    snprintf(want_chunk, sizeof want_chunk, "%s\n", chunk);
    cr_assert_str_eq(user_of(1 - a), want_chunk);
    jobs_free(jobs, 2);
    rk_prompts_free(&p);
    rk_kb_close(kb);
}

Test(gen, request_has_model_and_options) {
    rk_kb *kb = kb_open("kb");
    rk_gen_opts o = opts();
    o.chat.temperature = 0.5;
    o.chat.max_tokens = 100;
    rk_prompts p = builtin();
    rk_gen_job job = qjob("a chunk", 2);
    run_ok(kb, &o, &p, &job, 1);
    cr_assert_str_eq(json_string_value(json_object_get(server.last, "model")), "test-model");
    cr_assert_eq(json_real_value(json_object_get(server.last, "temperature")), 0.5);
    cr_assert_eq(json_integer_value(json_object_get(server.last, "max_tokens")), 100);
    cr_assert_eq(server.has_auth, 0);
    jobs_free(&job, 1);
    rk_prompts_free(&p);
    rk_kb_close(kb);
}

Test(gen, custom_prompts_fill_every_placeholder) {
    char *d = prompt_dir("p", "Ask {n} about: {chunk}", "[{chunk}] again [{chunk}] {n} {question}",
                         "AS {context}", "{question}|{context}|{n}|{chunk}");
    rk_prompts p;
    rk_error e = {0};
    cr_assert_eq(rk_prompts_load(d, &p, &e), RK_OK, "%s", e.msg);
    rk_kb *kb = kb_open("kb");
    rk_gen_opts o = opts();
    o.workers = 1; /* the requests in job order */
    const char *text = "chunk {question} text, and more";
    rk_gen_job jobs[] = {qjob(text, 5), ajob("Why?", "ctx {n}")};
    jobs[0].text_len = 16; /* "chunk {question}": a text need not end at its NUL */
    run_ok(kb, &o, &p, jobs, 2);
    cr_assert_eq(server.hits, 2);
    /* Questions: {n} and {chunk}, each occurrence, and nothing inside the text. */
    cr_assert_str_eq(json_string_value(json_array_get(server.systems, 0)), "Ask 5 about: chunk {question}");
    cr_assert_str_eq(user_of(0), "[chunk {question}] again [chunk {question}] 5 {question}");
    /* Answers: {question} and {context}; the others stay as written. */
    cr_assert_str_eq(json_string_value(json_array_get(server.systems, 1)), "AS ctx {n}");
    cr_assert_str_eq(user_of(1), "Why?|ctx {n}|{n}|{chunk}");
    jobs_free(jobs, 2);
    rk_prompts_free(&p);
    rk_kb_close(kb);
    free(d);
}

Test(gen, malformed_reply_fails_that_job_only) {
    rk_kb *kb = kb_open("kb");
    rk_gen_opts o = opts();
    rk_prompts p = builtin();
    rk_gen_job jobs[] = {qjob("first chunk", 2), qjob("BADJSON chunk", 2), qjob("third chunk", 2)};
    rk_gen_stats st = run_ok(kb, &o, &p, jobs, 3);
    cr_assert_eq(st.requests, 2);
    cr_assert_eq(st.failed, 1);
    cr_assert_eq(jobs[1].status, RK_EFORMAT);
    cr_assert_null(jobs[1].reply);
    cr_assert(strstr(jobs[1].error, "/v1/chat/completions: reply is not JSON"), "%s", jobs[1].error);
    cr_assert(strstr(jobs[1].error, "oops, not JSON"), "%s", jobs[1].error);
    cr_assert_eq(jobs[0].status, RK_OK);
    cr_assert_str_eq(jobs[0].reply, "reply to: first chunk\n");
    cr_assert_str_eq(jobs[2].reply, "reply to: third chunk\n");
    /* Nothing was cached for the failed job: a second run asks for it alone. */
    jobs_free(jobs, 3);
    int before = server.hits;
    st = run_ok(kb, &o, &p, jobs, 3);
    cr_assert_eq(server.hits, before + 1);
    cr_assert_str_eq(user_of((size_t)before), "BADJSON chunk\n");
    cr_assert_eq(st.cached, 2);
    cr_assert_eq(st.failed, 1);
    jobs_free(jobs, 3);
    rk_prompts_free(&p);
    rk_kb_close(kb);
}

Test(gen, busy_then_ok_is_retried) {
    rk_kb *kb = kb_open("kb");
    rk_gen_opts o = opts();
    rk_prompts p = builtin();
    rk_gen_job job = qjob("BUSY chunk", 2);
    rk_gen_stats st = run_ok(kb, &o, &p, &job, 1);
    cr_assert_eq(job.status, RK_OK, "%s", job.error);
    cr_assert_str_eq(job.reply, "reply to: BUSY chunk\n");
    cr_assert_eq(server.hits, 2);
    cr_assert_eq(st.requests, 1);
    jobs_free(&job, 1);
    rk_prompts_free(&p);
    rk_kb_close(kb);
}

Test(gen, timeout_fails_the_job_with_enet) {
    rk_kb *kb = kb_open("kb");
    rk_gen_opts o = opts();
    o.chat.retries = -1; /* none */
    o.chat.timeout_ms = 300;
    rk_prompts p = builtin();
    rk_gen_job jobs[] = {qjob("SLOW chunk", 2), qjob("quick chunk", 2)};
    rk_gen_stats st = run_ok(kb, &o, &p, jobs, 2);
    cr_assert_eq(jobs[0].status, RK_ENET);
    cr_assert(strstr(jobs[0].error, "(1 attempt)"), "%s", jobs[0].error);
    cr_assert_null(jobs[0].reply);
    cr_assert_eq(jobs[1].status, RK_OK, "%s", jobs[1].error);
    cr_assert_eq(st.failed, 1);
    cr_assert_eq(st.requests, 1);
    jobs_free(jobs, 2);
    rk_prompts_free(&p);
    rk_kb_close(kb);
}

/* A second run, even in a new process (the KB reopened), sends nothing. */
Test(gen, second_run_is_answered_from_the_cache) {
    rk_kb *kb = kb_open("kb");
    rk_gen_opts o = opts();
    rk_prompts p = builtin();
    rk_gen_job jobs[] = {qjob("alpha", 2), qjob("beta", 3), ajob("Q?", "gamma"), ajob("Q2?", "gamma"),
                         qjob("caf\xc3\xa9", 1)};
    size_t n = sizeof jobs / sizeof *jobs;
    rk_gen_stats st = run_ok(kb, &o, &p, jobs, n);
    cr_assert_eq(st.requests, n);
    cr_assert_eq(server.hits, (int)n);
    char *first[5];
    for (size_t i = 0; i < n; i++)
        first[i] = jobs[i].reply, jobs[i].reply = NULL;
    rk_kb_close(kb);
    kb = kb_open("kb");
    st = run_ok(kb, &o, &p, jobs, n);
    cr_assert_eq(server.hits, (int)n, "no request the second time");
    cr_assert_eq(st.requests, 0);
    cr_assert_eq(st.cached, n);
    cr_assert_eq(st.failed, 0);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(jobs[i].cached, 1);
        cr_assert_eq(jobs[i].status, RK_OK);
        cr_assert_str_eq(jobs[i].reply, first[i]);
        free(first[i]);
    }
    jobs_free(jobs, n);
    rk_prompts_free(&p);
    rk_kb_close(kb);
}

/* The cache key covers the model, the options and the prompts. */
Test(gen, another_model_or_prompt_is_not_a_hit) {
    rk_kb *kb = kb_open("kb");
    rk_gen_opts o = opts();
    rk_prompts p = builtin();
    rk_gen_job job = qjob("alpha", 2);
    run_ok(kb, &o, &p, &job, 1);
    jobs_free(&job, 1);
    o.chat.model = "other-model";
    run_ok(kb, &o, &p, &job, 1);
    cr_assert_eq(server.hits, 2);
    cr_assert_eq(job.cached, 0);
    jobs_free(&job, 1);
    o.chat.temperature = 0.3;
    run_ok(kb, &o, &p, &job, 1);
    cr_assert_eq(server.hits, 3);
    jobs_free(&job, 1);
    char *d = prompt_dir("p", "QS {n}", "{chunk}", "AS", "{question} {context}");
    rk_prompts custom;
    rk_error e = {0};
    cr_assert_eq(rk_prompts_load(d, &custom, &e), RK_OK, "%s", e.msg);
    run_ok(kb, &o, &custom, &job, 1);
    cr_assert_eq(server.hits, 4);
    jobs_free(&job, 1);
    /* and each one is a hit now */
    run_ok(kb, &o, &custom, &job, 1);
    cr_assert_eq(server.hits, 4);
    cr_assert_eq(job.cached, 1);
    jobs_free(&job, 1);
    rk_prompts_free(&custom);
    rk_prompts_free(&p);
    rk_kb_close(kb);
    free(d);
}

/* A run that fails part of its jobs (as one killed midway would leave
 * them) is resumed by a second that requests only those. */
Test(gen, a_resumed_run_requests_only_what_is_missing) {
    rk_kb *kb = kb_open("kb");
    rk_gen_opts o = opts();
    o.chat.retries = -1;
    rk_prompts p = builtin();
    rk_gen_job jobs[] = {qjob("one", 2), qjob("FLAKY two", 2), qjob("three", 2), ajob("FLAKY?", "four"),
                         qjob("five", 2)};
    size_t n = sizeof jobs / sizeof *jobs;
    server.flaky = 1;
    rk_gen_stats st = run_ok(kb, &o, &p, jobs, n);
    cr_assert_eq(st.requests, 3);
    cr_assert_eq(st.failed, 2);
    cr_assert_eq(jobs[1].status, RK_ENET);
    cr_assert(strstr(jobs[1].error, ": HTTP 500 (1 attempt): flaky backend"), "%s", jobs[1].error);
    cr_assert_eq(jobs[3].status, RK_ENET);
    jobs_free(jobs, n);
    server.flaky = 0;
    int before = server.hits;
    st = run_ok(kb, &o, &p, jobs, n);
    cr_assert_eq(server.hits, before + 2);
    cr_assert_eq(st.requests, 2);
    cr_assert_eq(st.cached, 3);
    cr_assert_eq(st.failed, 0);
    for (size_t k = (size_t)before; k < (size_t)server.hits; k++)
        cr_assert(strstr(user_of(k), "FLAKY"), "request %zu: %s", k, user_of(k));
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(jobs[i].status, RK_OK);
        cr_assert_eq(jobs[i].cached, i != 1 && i != 3, "job %zu", i);
    }
    jobs_free(jobs, n);
    rk_prompts_free(&p);
    rk_kb_close(kb);
}

/* Replies arrive out of order (delays vary); each lands on its own job. */
Test(gen, workers_give_the_same_replies_as_one) {
    enum { N = 24 };
    char texts[N][32];
    rk_gen_job one[N], many[N];
    for (int i = 0; i < N; i++) {
        snprintf(texts[i], sizeof texts[i], "chunk %d DELAY%d", i, (i * 7) % 5 * 10);
        one[i] = many[i] = i % 3 ? qjob(texts[i], (size_t)i) : ajob("Why?", texts[i]);
    }
    rk_prompts p = builtin();
    rk_kb *kb1 = kb_open("kb1"), *kb8 = kb_open("kb8");
    rk_gen_opts o = opts();
    o.workers = 1;
    run_ok(kb1, &o, &p, one, N);
    o.workers = 8;
    rk_gen_stats st = run_ok(kb8, &o, &p, many, N);
    cr_assert_eq(st.requests, N);
    cr_assert_eq(server.hits, 2 * N);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(many[i].status, RK_OK, "%s", many[i].error);
        cr_assert_str_eq(many[i].reply, one[i].reply, "job %d", i);
        cr_assert(strstr(one[i].reply, texts[i]), "job %d: %s", i, one[i].reply);
    }
    /* and the second KB cached every one of them */
    jobs_free(many, N);
    run_ok(kb8, &o, &p, many, N);
    cr_assert_eq(server.hits, 2 * N);
    for (int i = 0; i < N; i++)
        cr_assert_str_eq(many[i].reply, one[i].reply, "job %d", i);
    jobs_free(one, N);
    jobs_free(many, N);
    rk_prompts_free(&p);
    rk_kb_close(kb1);
    rk_kb_close(kb8);
}

Test(gen, api_key_is_checked_once_and_sent) {
    rk_kb *kb = kb_open("kb");
    rk_gen_opts o = opts();
    o.chat.api_key_env = KEY_ENV;
    rk_prompts p = builtin();
    rk_gen_job jobs[] = {qjob("alpha", 2), qjob("beta", 2)};
    unsetenv(KEY_ENV);
    rk_error e = {0};
    char want[256];
    cr_assert_eq(rk_gen_run(kb, &o, &p, jobs, 2, NULL, &e), RK_EINVAL);
    snprintf(want, sizeof want, "%s: --api-key-env " KEY_ENV ": the variable is not set", url);
    cr_assert_str_eq(e.msg, want);
    cr_assert_eq(server.hits, 0);
    cr_assert_null(jobs[0].reply);
    setenv(KEY_ENV, KEY, 1);
    run_ok(kb, &o, &p, jobs, 2);
    cr_assert_eq(server.hits, 2);
    cr_assert_str_eq(server.auth, "Bearer " KEY);
    jobs_free(jobs, 2);
    unsetenv(KEY_ENV);
    rk_prompts_free(&p);
    rk_kb_close(kb);
}

Test(gen, bad_options_are_refused) {
    rk_kb *kb = kb_open("kb");
    rk_prompts p = builtin();
    rk_gen_job job = qjob("alpha", 2);
    rk_error e = {0};
    rk_gen_opts o = opts();
    o.chat.url = "ftp://example.org/";
    cr_assert_eq(rk_gen_run(kb, &o, &p, &job, 1, NULL, &e), RK_EINVAL);
    cr_assert_str_eq(e.msg, "ftp://example.org/: not an http:// or https:// URL");
    o = opts();
    o.workers = -1;
    cr_assert_eq(rk_gen_run(kb, &o, &p, &job, 1, NULL, &e), RK_EINVAL);
    cr_assert_eq(server.hits, 0);
    /* No jobs: nothing to do. */
    o = opts();
    rk_gen_stats st = run_ok(kb, &o, &p, NULL, 0);
    cr_assert_eq(st.requests + st.cached + st.failed, 0);
    rk_prompts_free(&p);
    rk_kb_close(kb);
}

Test(gen, text_that_is_not_utf8_fails_unsent) {
    rk_kb *kb = kb_open("kb");
    rk_gen_opts o = opts();
    rk_prompts p = builtin();
    rk_gen_job jobs[] = {qjob("caf\xe9", 2), ajob("caf\xe9?", "fine"), qjob("fine", 2)};
    rk_gen_stats st = run_ok(kb, &o, &p, jobs, 3);
    cr_assert_eq(jobs[0].status, RK_EFORMAT);
    cr_assert_str_eq(jobs[0].error, "job 0: the text is not valid UTF-8");
    cr_assert_eq(jobs[1].status, RK_EFORMAT);
    cr_assert_str_eq(jobs[1].error, "job 1: the question is not valid UTF-8");
    cr_assert_eq(jobs[2].status, RK_OK);
    cr_assert_eq(st.failed, 2);
    cr_assert_eq(server.hits, 1);
    jobs_free(jobs, 3);
    rk_prompts_free(&p);
    rk_kb_close(kb);
}

/* ---- parsing questions ---- */

static void expect_questions(const char *reply, size_t max, const char *const *want, size_t nwant) {
    char *q[16];
    size_t n = rk_gen_parse_questions(reply, max, q);
    cr_assert_eq(n, nwant, "%zu questions from \"%s\"", n, reply);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(q[i], want[i], "question %zu of \"%s\"", i, reply);
        free(q[i]);
    }
}

Test(gen_parse, list_markers_are_removed) {
    const char *want[] = {"What is A?", "What is B?", "What is C?", "What is D?", "What is E?",
                          "What is F?", "What is G?", "What is H?", "What is I?", "What is J?"};
    expect_questions(
        "1. What is A?\n2) What is B?\n- What is C?\n* What is D?\n\xe2\x80\xa2 What is E?\n"
        "Q: What is F?\nQuestion: What is G?\nQ1: What is H?\nQuestion 2: What is I?\n10. What is J?",
        16, want, 10);
}

Test(gen_parse, whitespace_quotes_and_bold) {
    const char *want[] = {"Who?",  "Where is it?", "Why not?",    "How so?",
                          "When?", "Which one?",   "What's that?"};
    expect_questions("  \tWho?  \r\n"
                     "\"Where is it?\"\n"
                     "1. \"Why not?\"\n"
                     "- \xe2\x80\x9cHow so?\xe2\x80\x9d\n"
                     "**Q1:** When?\n"
                     "1. **Which one?**\n"
                     "'What's that?'\n",
                     16, want, 7);
}

Test(gen_parse, lines_without_letters_and_lead_ins_are_dropped) {
    const char *want[] = {"What is X?", "\xc3\x89t\xc3\xa9 or winter?"};
    expect_questions(
        "Here are 2 questions:\n\n---\n1.\n42?\n- \n1. What is X?\n2. \xc3\x89t\xc3\xa9 or winter?\n***", 16,
        want, 2);
}

Test(gen_parse, numbers_that_are_no_markers_stay) {
    const char *want[] = {"3.5 metres is how long?", "2004: what happened then?", "Q.E.D. means what?",
                          "-5 degrees is cold?", "Quick: is it?"};
    expect_questions(
        "3.5 metres is how long?\n2004: what happened then?\nQ.E.D. means what?\n-5 degrees is cold?\n"
        "Quick: is it?",
        16, want, 5);
}

Test(gen_parse, at_most_max) {
    const char *want[] = {"One?", "Two?"};
    expect_questions("1. One?\n2. Two?\n3. Three?\n", 2, want, 2);
    expect_questions("1. One?\n", 0, want, 0);
    expect_questions("", 4, want, 0);
    expect_questions("no newline at the end", 4, (const char *[]){"no newline at the end"}, 1);
}
