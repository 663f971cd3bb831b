/* Unit tests for eval/run.c and eval/score.c: runs in each mode against a
 * real OpenAI-compatible endpoint on loopback that records the prompt it was
 * sent and answers from a script, over a real KB and FAISS index of the demo
 * corpus: prompt assembly, answer extraction, grounding, retrieval figures,
 * resumption, and `score` on the RAFT reference's prediction format. */
#include "helpers.h"

#include <sys/stat.h>

#include "httpd.h"
#include "raftkit/evalrun.h"
#include "raftkit/file.h"
#include "raftkit/ingest.h"
#include "raftkit/json.h"
#include "raftkit/search.h"

enum { NQ = 3 };

static const char *const QUESTIONS[NQ] = {
    "When was the Old Bess turbine decommissioned?",
    "How long is the research vessel RV Ingrid Maelstad?",
    "When was Maelstad's goby first described?",
};
static const char *const GOLDS[NQ] = {"2009", "31.5 metres", "1971"};
/* What the chunk answering each question holds. */
static const char *const EVIDENCE[NQ] = {"decommissioned in 2009", "31.5 metres long",
                                         "first described in 1971"};

typedef struct server {
    char *prompts[NQ]; /* the last user message seen for each question */
    char *system;      /* the last system message */
    int requests;
} server;

/* Answers question 0 right with a verbatim quote, question 1 wrong with an
 * answer tag, and question 2 with a made-up quote and no tag. */
static void handler(const httpd_request *req, httpd_reply *rep, void *ctx) {
    server *s = ctx;
    s->requests++;
    json_t *body = json_loads(req->body ? req->body : "", 0, NULL), *m;
    size_t i;
    const char *user = NULL;
    json_array_foreach(json_object_get(body, "messages"), i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        const char *content = json_string_value(json_object_get(m, "content"));
        if (role && !strcmp(role, "user")) user = content;
        if (role && !strcmp(role, "system")) free(s->system), s->system = strdup(content);
    }
    int q = -1;
    for (int k = 0; user && k < NQ; k++)
        if (strstr(user, QUESTIONS[k])) q = k;
    if (q < 0) {
        httpd_text(rep, 400, "text/plain", "unknown question");
    } else {
        free(s->prompts[q]);
        s->prompts[q] = strdup(user);
        char text[512];
        if (q == 0)
            snprintf(text, sizeof text, "##Reason: ##begin_quote## %s ##end_quote##\n<ANSWER>: %s.",
                     EVIDENCE[0], GOLDS[0]);
        else if (q == 1)
            snprintf(text, sizeof text, "<ANSWER>: forty metres");
        else
            snprintf(text, sizeof text, "##begin_quote## no document says this ##end_quote## it was %s",
                     GOLDS[2]);
        httpd_chat(rep, json_string(text));
    }
    json_decref(body);
}

static char *dir, *kbdir, *data;
static uint64_t oracle[NQ], other[NQ];
static char *texts[NQ];
static httpd *srv;
static server state;
static char *url;

typedef struct finder {
    uint64_t found[NQ];
    char *text[NQ];
} finder;

static rk_status find_evidence(const rk_chunk *c, void *ctx, rk_error *err) {
    (void)err;
    finder *f = ctx;
    for (int q = 0; q < NQ; q++)
        if (!f->found[q] && memmem(c->text, c->text_len, EVIDENCE[q], strlen(EVIDENCE[q]))) {
            f->found[q] = c->id;
            f->text[q] = strndup(c->text, c->text_len);
        }
    return RK_OK;
}

/* The demo corpus in a KB with a Flat index, and eval data in raft-assemble's
 * eval format: each question with its oracle chunk and one distractor. */
static void setup(void) {
    dir = tmpdir_new();
    kbdir = malloc(strlen(dir) + 8);
    sprintf(kbdir, "%s/kb", dir);
    rk_error e = {0};
    rk_kb *kb;
    cr_assert_eq(rk_kb_open(kbdir, RK_KB_CREATE, 0, &kb, &e), RK_OK, "%s", e.msg);
    char docs[1024];
    snprintf(docs, sizeof docs, "%s/pipelines/demo/docs", RK_SOURCE_DIR);
    const char *paths[] = {docs};
    rk_ingest_opts io = {.chunk = {.size = 400, .overlap = 0}}; /* each fact in one chunk */
    rk_ingest_report ir;
    cr_assert_eq(rk_ingest(kb, paths, 1, &io, &ir, &e), RK_OK, "%s", e.msg);
    rk_build_opts bo = {.embed = {.b = -1}};
    rk_build_report br;
    cr_assert_eq(rk_index_build(kb, &bo, &br, &e), RK_OK, "%s", e.msg);
    rk_kb_txn *t;
    finder f = {{0}, {0}};
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_chunk_foreach(t, find_evidence, &f, &e), RK_OK, "%s", e.msg);
    rk_kb_read_end(t);
    rk_kb_close(kb);
    json_t *lines = json_array();
    for (int q = 0; q < NQ; q++) {
        cr_assert(f.found[q], "no chunk holds \"%s\"", EVIDENCE[q]);
        oracle[q] = f.found[q];
        texts[q] = f.text[q];
    }
    rk_buf b = {0};
    for (int q = 0; q < NQ; q++) {
        int d = (q + 1) % NQ; /* another question's oracle is this one's distractor */
        other[q] = oracle[d];
        char ins[8192];
        snprintf(ins, sizeof ins, "<DOCUMENT>%s</DOCUMENT>\n<DOCUMENT>%s</DOCUMENT>\n%s", texts[d], texts[q],
                 QUESTIONS[q]);
        json_t *r =
            json_pack("{s:s#, s:s, s:s, s:[I], s:[I, I], s:[s, s], s:[s, s], s:s}", "id", "q", (size_t)1,
                      "question", QUESTIONS[q], "answer", GOLDS[q], "oracle_chunk_ids", (json_int_t)oracle[q],
                      "chunk_ids", (json_int_t)oracle[d], (json_int_t)oracle[q], "titles", "D", "O",
                      "context", texts[d], texts[q], "instruction", ins);
        char id[8];
        snprintf(id, sizeof id, "q%d", q);
        json_object_set_new(r, "id", json_string(id));
        char *line = json_dumps(r, JSON_COMPACT);
        rk_buf_put(&b, line, strlen(line));
        rk_buf_put(&b, "\n", 1);
        free(line);
        json_decref(r);
    }
    json_decref(lines);
    data = write_text(dir, "test.eval.jsonl", b.p);
    free(b.p);
    memset(&state, 0, sizeof state);
    srv = httpd_start(handler, &state);
    url = httpd_url(srv, "");
}

static void teardown(void) {
    httpd_stop(srv);
    free(url);
    for (int q = 0; q < NQ; q++)
        free(state.prompts[q]), free(texts[q]);
    free(state.system);
    free(data);
    free(kbdir);
    tmpdir_free(dir);
}
TestSuite(evalrun, .init = setup, .fini = teardown);

static char *model_spec(void) {
    char *m = malloc(strlen(url) + 8);
    sprintf(m, "http:%s", url);
    return m;
}

static char *run_dir(const char *name) {
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static rk_eval_opts opts(rk_eval_mode mode, const char *out, char *model) {
    rk_eval_opts o = {.model = model, .data = data, .out = out, .mode = mode, .batch = 2, .threads = 2};
    o.gen.top_p = 1;
    if (mode == RK_EVAL_RAG) o.kb = kbdir, o.k = 2;
    return o;
}

static json_t *run_ok(const rk_eval_opts *o) {
    rk_error e = {0};
    json_t *m = NULL;
    cr_assert_eq(rk_eval_run(o, &m, &e), RK_OK, "%s", e.msg);
    return m;
}

static json_t **read_preds(const char *out, size_t *n) {
    char path[1024], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/predictions.jsonl", out);
    cr_assert_eq(rk_file_read(path, &text, &len, NULL), RK_OK);
    json_t **v = calloc(16, sizeof *v);
    *n = 0;
    for (char *p = text; p < text + len && *n < 16;) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        cr_assert(nl, "%s: a line without its newline", path);
        v[(*n)++] = json_loadb(p, (size_t)(nl - p), 0, NULL);
        p = nl + 1;
    }
    free(text);
    return v;
}

static void free_preds(json_t **v, size_t n) {
    for (size_t i = 0; i < n; i++)
        json_decref(v[i]);
    free(v);
}

static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

Test(evalrun, closed_book_sends_the_question_alone_and_scores_the_final_answer) {
    char *model = model_spec(), *out = run_dir("closed");
    rk_eval_opts o = opts(RK_EVAL_CLOSED, out, model);
    o.system = "Answer briefly.";
    json_t *m = run_ok(&o);
    for (int q = 0; q < NQ; q++)
        cr_expect_str_eq(state.prompts[q], QUESTIONS[q]);
    cr_expect_str_eq(state.system, "Answer briefly.");
    size_t n;
    json_t **p = read_preds(out, &n);
    cr_assert_eq(n, NQ);
    cr_expect_str_eq(json_string_value(json_object_get(p[0], "answer")), "2009.");
    cr_expect(json_is_true(json_object_get(p[0], "answer_tag")));
    cr_expect_eq(num(p[0], "em"), 1, "\"2009.\" normalizes to the gold");
    cr_expect_str_eq(json_string_value(json_object_get(p[1], "answer")), "forty metres");
    cr_expect_eq(num(p[1], "em"), 0);
    cr_expect_float_eq(num(p[1], "f1"), 0.5, 1e-12, "one of two tokens shared with \"31.5 metres\"");
    cr_expect(json_is_false(json_object_get(p[2], "answer_tag")),
              "no <ANSWER>: the whole output is the answer");
    cr_expect(json_is_null(json_object_get(p[0], "answer_in_context")), "closed book: no context");
    cr_expect_eq(json_array_size(json_object_get(p[0], "documents")), 0);
    cr_expect_eq(num(m, "n"), NQ);
    cr_expect(json_is_null(json_object_get(m, "recall")));
    cr_expect_str_eq(json_string_value(json_object_get(m, "mode")), "closed");
    free_preds(p, n);
    json_decref(m);
    free(out), free(model);
}

Test(evalrun, oracle_mode_sends_the_assembled_instruction_and_checks_grounding) {
    char *model = model_spec(), *out = run_dir("oracle");
    rk_eval_opts o = opts(RK_EVAL_ORACLE, out, model);
    json_t *m = run_ok(&o);
    size_t n;
    json_t **p = read_preds(out, &n);
    cr_assert_eq(n, NQ);
    for (int q = 0; q < NQ; q++) {
        char want[8192];
        snprintf(want, sizeof want, "<DOCUMENT>%s</DOCUMENT>\n<DOCUMENT>%s</DOCUMENT>\n%s",
                 texts[(q + 1) % NQ], texts[q], QUESTIONS[q]);
        cr_expect_str_eq(state.prompts[q], want);
        json_t *docs = json_object_get(p[q], "documents");
        cr_expect_eq(json_array_size(docs), 2);
        cr_expect(json_is_false(json_object_get(json_array_get(docs, 0), "oracle")));
        cr_expect(json_is_true(json_object_get(json_array_get(docs, 1), "oracle")));
        cr_expect(json_is_true(json_object_get(p[q], "answer_in_context")), "q%d: the gold is in its oracle",
                  q);
    }
    /* q0 quotes its oracle verbatim; q2's quote is in no document */
    cr_expect_eq(num(p[0], "quotes"), 1);
    cr_expect_eq(num(p[0], "quotes_found"), 1);
    cr_expect_eq(num(p[0], "quotes_oracle"), 1);
    cr_expect_eq(num(p[2], "quotes"), 1);
    cr_expect_eq(num(p[2], "quotes_found"), 0);
    cr_expect_eq(num(p[1], "quotes"), 0);
    cr_expect_float_eq(num(m, "grounded"), 100.0 / 3, 1e-9,
                       "one answer of three quotes only what it was given");
    cr_expect_float_eq(num(m, "quoting"), 200.0 / 3, 1e-9);
    cr_expect_float_eq(num(m, "quotes_oracle"), 100.0 / 3, 1e-9);
    cr_expect_float_eq(num(m, "answer_in_context"), 100, 1e-9);
    cr_expect_float_eq(num(m, "answer_tag"), 200.0 / 3, 1e-9);
    const json_t *ci = json_object_get(m, "f1_ci");
    cr_expect(json_number_value(json_array_get(ci, 0)) <= num(m, "f1") &&
                  num(m, "f1") <= json_number_value(json_array_get(ci, 1)),
              "the interval holds the mean");
    free_preds(p, n);
    json_decref(m);
    free(out), free(model);
}

Test(evalrun, rag_mode_retrieves_k_chunks_and_measures_recall) {
    char *model = model_spec(), *out = run_dir("rag");
    rk_eval_opts o = opts(RK_EVAL_RAG, out, model);
    json_t *m = run_ok(&o);
    size_t n;
    json_t **p = read_preds(out, &n);
    cr_assert_eq(n, NQ);
    double recall1 = 0, mrr = 0;
    for (int q = 0; q < NQ; q++) {
        json_t *docs = json_object_get(p[q], "documents");
        cr_assert_eq(json_array_size(docs), 2, "-k 2");
        /* the prompt is the retrieved documents, best first, then the question */
        char want[8192];
        snprintf(want, sizeof want, "<DOCUMENT>%s</DOCUMENT>\n<DOCUMENT>%s</DOCUMENT>\n%s",
                 json_string_value(json_object_get(json_array_get(docs, 0), "text")),
                 json_string_value(json_object_get(json_array_get(docs, 1), "text")), QUESTIONS[q]);
        cr_expect_str_eq(state.prompts[q], want);
        /* rank and recall as the documents say; the index is searched 10
         * deep for recall@10, so a rank beyond k is possible */
        json_t *rank = json_object_get(p[q], "rank");
        int want_rank = 0;
        for (int d = 1; d >= 0; d--)
            if ((uint64_t)num(json_array_get(docs, d), "chunk_id") == oracle[q]) want_rank = d + 1;
        for (int d = 0; d < 2; d++)
            cr_expect_eq(json_is_true(json_object_get(json_array_get(docs, d), "oracle")),
                         want_rank == d + 1);
        if (want_rank)
            cr_expect_eq(json_integer_value(rank), want_rank, "q%d", q);
        else
            cr_expect(json_is_null(rank) || json_integer_value(rank) > 2, "q%d", q);
        double r1 = num(json_object_get(p[q], "recall"), "1");
        cr_expect_float_eq(r1, want_rank == 1, 1e-12, "q%d", q);
        recall1 += r1 / NQ;
        mrr += json_is_integer(rank) ? 1.0 / (double)json_integer_value(rank) / NQ : 0;
    }
    cr_expect_float_eq(num(json_object_get(m, "recall"), "1"), 100 * recall1, 1e-9);
    cr_expect_float_eq(num(m, "mrr"), mrr, 1e-12);
    cr_expect_eq(num(p[0], "rank"), 1, "the lexical index finds the turbine's oracle first");
    cr_expect_eq(num(p[0], "quotes_found"), 1, "the quote is in the retrieved oracle");
    cr_expect_str_eq(json_string_value(json_object_get(m, "kb")), kbdir);
    free_preds(p, n);
    json_decref(m);
    free(out), free(model);
}

Test(evalrun, a_killed_run_continues_where_it_stopped) {
    char *model = model_spec(), *out = run_dir("resume"), *full = run_dir("full");
    rk_eval_opts o = opts(RK_EVAL_ORACLE, full, model);
    json_decref(run_ok(&o));
    /* what a kill in the middle of the second line leaves */
    char src[1024], dst[1024], *text;
    size_t len;
    snprintf(src, sizeof src, "%s/predictions.jsonl", full);
    cr_assert_eq(rk_file_read(src, &text, &len, NULL), RK_OK);
    char *second = strchr(text, '\n') + 1;
    cr_assert_eq(mkdir(out, 0777), 0);
    snprintf(dst, sizeof dst, "%s/predictions.jsonl", out);
    free(write_file(out, "predictions.jsonl", text, (size_t)(second - text) + 20));
    snprintf(src, sizeof src, "%s/run.json", full);
    char *settings;
    size_t sn;
    cr_assert_eq(rk_file_read(src, &settings, &sn, NULL), RK_OK);
    free(write_file(out, "run.json", settings, sn));
    free(settings);
    o.out = out;
    state.requests = 0;
    json_decref(run_ok(&o));
    cr_expect_eq(state.requests, NQ - 1, "only the examples not committed are asked again");
    char *again;
    size_t an;
    cr_assert_eq(rk_file_read(dst, &again, &an, NULL), RK_OK);
    cr_expect(an == len && !memcmp(again, text, len), "the resumed run's predictions are the whole run's");
    free(again);
    /* a rerun with other settings is refused, naming the setting */
    o.mode = RK_EVAL_CLOSED;
    rk_error e = {0};
    cr_expect_eq(rk_eval_run(&o, NULL, &e), RK_ESTATE);
    cr_expect(strstr(e.msg, "mode") && strstr(e.msg, "oracle"), "%s", e.msg);
    free(text);
    free(out), free(full), free(model);
}

Test(evalrun, data_without_gold_answers_is_refused_naming_the_line) {
    char *model = model_spec(), *out = run_dir("bad");
    char *bad = write_text(dir, "bad.jsonl",
                           "{\"id\": \"a\", \"question\": \"Q?\", \"answer\": \"x\"}\n\n"
                           "{\"id\": \"b\", \"question\": \"Q2?\"}\n");
    rk_eval_opts o = opts(RK_EVAL_CLOSED, out, model);
    o.data = bad;
    rk_error e = {0};
    cr_expect_eq(rk_eval_run(&o, NULL, &e), RK_EFORMAT);
    cr_expect(strstr(e.msg, "bad.jsonl:3") && strstr(e.msg, "no gold answer"), "%s", e.msg);
    cr_expect_eq(state.requests, 0, "nothing is asked before the data is known good");
    free(bad), free(out), free(model);
}

Test(evalrun, score_reads_the_raft_reference_format_and_reports_unknown_ids) {
    /* RAFT's eval.py output: the question, the gold, the model's answer */
    char *pred =
        write_text(dir, "raft_pred.jsonl",
                   "{\"question\": \"Q1\", \"gold_final_answer\": \"the Lantern Tide\", \"answer\": "
                   "\"##Reason: ... <ANSWER>: Lantern tide.\"}\n"
                   "{\"question\": \"Q2\", \"gold_final_answer\": \"1967\", \"answer\": \"in 1968\"}\n");
    char *out = run_dir("scored");
    rk_score_opts so = {.pred = pred, .out = out};
    json_t *m = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_eval_score(&so, &m, &e), RK_OK, "%s", e.msg);
    cr_expect_eq(num(m, "n"), 2);
    cr_expect_float_eq(num(m, "em"), 50, 1e-9, "\"Lantern tide.\" matches \"the Lantern Tide\"");
    cr_expect_float_eq(num(m, "f1"), 50, 1e-9);
    json_decref(m);
    /* against eval data by id: an unknown id is reported, not counted; a
     * missing one counts as wrong */
    char *ids =
        write_text(dir, "ids.jsonl",
                   "{\"id\": \"q0\", \"prediction\": \"2009\"}\n{\"id\": \"zz\", \"prediction\": \"x\"}\n");
    so = (rk_score_opts){.pred = ids, .data = data, .out = out, .name = "elsewhere"};
    cr_assert_eq(rk_eval_score(&so, &m, &e), RK_OK, "%s", e.msg);
    cr_expect_eq(num(m, "n"), NQ);
    cr_expect_eq(num(m, "unknown_ids"), 1);
    cr_expect_eq(num(m, "missing"), NQ - 1);
    cr_expect_float_eq(num(m, "em"), 100.0 / NQ, 1e-9);
    cr_expect_str_eq(json_string_value(json_object_get(m, "name")), "elsewhere");
    json_decref(m);
    /* predictions without golds and no data to take them from */
    so = (rk_score_opts){.pred = ids, .out = out};
    cr_expect_eq(rk_eval_score(&so, NULL, &e), RK_EFORMAT);
    cr_expect(strstr(e.msg, "ids.jsonl:1"), "%s", e.msg);
    free(ids), free(pred), free(out);
}
