/* Unit tests for assemble/assemble.c: RAFT examples from a real KB (ingested
 * from generated documents, with a real FAISS index), checked record by
 * record — the oracle share against the binomial, distinct distractors, hard
 * ones from other documents and nearer to the question, splits that share no
 * document, byte-identical files for a seed, every quote in its oracle — and
 * the inputs that are refused. */
#include "helpers.h" /* first: it defines _GNU_SOURCE */

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "httpd.h"
#include "raftkit/assemble.h"
#include "raftkit/cot.h"
#include "raftkit/ingest.h"
#include "raftkit/search.h"

extern char **environ;

static char *dir;
static void setup(void) { dir = tmpdir_new(); }
static void teardown(void) { tmpdir_free(dir); }
TestSuite(assemble, .init = setup, .fini = teardown);

enum { NDOCS = 40, NPARAS = 6 };

static const char *const PLACES[] = {"Kestrel Point", "Marlow Bay", "Ashcombe", "Dunmere",    "Holloway Fen",
                                     "Redcliff",      "Tarn Ridge", "Wexley",   "Brackwater", "Elderholm"};
static const char *const THINGS[] = {"lighthouse",  "mill",   "bridge", "library",     "harbour wall",
                                     "observatory", "chapel", "school", "market hall", "pumping station"};
static const char *const PEOPLE[] = {"Agnes Thorne", "Walter Pryce", "Ida Marsh",   "Hugo Fenwick",
                                     "Clara Voss",   "Edwin Hale",   "Maud Keller", "Rufus Lang"};

/* Document d: paragraphs about one thing in one place, with years, numbers
 * and names, so that a question's nearest chunks are its document's own. */
static void write_docs(const char *docs) {
    char name[64], text[8192];
    for (int d = 0; d < NDOCS; d++) {
        const char *place = PLACES[d % 10], *thing = THINGS[(d / 10 + d) % 10];
        size_t n = (size_t)snprintf(text, sizeof text, "# The %s of %s %d\n\n", thing, place, d);
        for (int p = 0; p < NPARAS; p++)
            n += (size_t)snprintf(
                text + n, sizeof text - n,
                "Wing %d of the %s of %s %d was rebuilt in %d after the storm of that winter. "
                "%s designed wing %d of the %s of %s %d, which holds %d visitors. "
                "Records of %s %d mention the %s often.\n\n",
                p, thing, place, d, 1800 + 7 * d + p, PEOPLE[(d + p) % 8], p, thing, place, d, 20 + d * 3 + p,
                place, d, thing);
        snprintf(name, sizeof name, "doc%02d.md", d);
        free(write_text(docs, name, text));
    }
}

/* A KB of the generated documents, one chunk a paragraph, and a Flat index. */
static rk_kb *make_kb(int with_index) {
    char docs[600], path[600];
    snprintf(docs, sizeof docs, "%s/docs", dir);
    snprintf(path, sizeof path, "%s/kb", dir);
    mkdir(docs, 0777);
    write_docs(docs);
    rk_kb *kb;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(path, RK_KB_CREATE, 0, &kb, &e), RK_OK, "%s", e.msg);
    rk_ingest_opts io = {.chunk = {.size = 300, .overlap = 0}, .threads = 1};
    const char *inputs[] = {docs};
    rk_ingest_report ir;
    cr_assert_eq(rk_ingest(kb, inputs, 1, &io, &ir, &e), RK_OK, "%s", e.msg);
    if (with_index) {
        rk_build_opts bo = {.embed = {.dim = 256}};
        rk_build_report br;
        cr_assert_eq(rk_index_build(kb, &bo, &br, &e), RK_OK, "%s", e.msg);
    }
    return kb;
}

static rk_assemble_opts opts(const char *out) {
    static char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, out);
    return (rk_assemble_opts){.out_dir = path,
                              .formats = RK_FORMAT_RAFT | RK_FORMAT_EVAL | RK_FORMAT_DPO,
                              .questions = 3,
                              .distractors = 4,
                              .p_oracle = 0.8,
                              .split = {0.6, 0.2, 0.2},
                              .seed = 7};
}

static json_t *run_ok(rk_kb *kb, const rk_assemble_opts *o) {
    json_t *summary;
    rk_error e = {0};
    cr_assert_eq(rk_assemble(kb, o, &summary, &e), RK_OK, "%s", e.msg);
    return summary;
}

/* The records of out/SPLIT.FORMAT.jsonl, as a JSON array. */
static json_t *records(const char *out, const char *split, const char *format) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s/%s.%s.jsonl", dir, out, split, format);
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s is missing", path);
    json_t *all = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        cr_assert(j, "%s: %s", path, je.text);
        json_array_append_new(all, j);
    }
    free(line);
    fclose(f);
    return all;
}

static const char *const SPLITS[] = {"train", "val", "test"};

static int has(json_t *ids, json_int_t v) {
    size_t i;
    json_t *x;
    json_array_foreach(ids, i, x) if (json_integer_value(x) == v) return 1;
    return 0;
}

Test(assemble, contexts_hold_k_distinct_distractors_and_the_oracle_at_rate_p) {
    rk_kb *kb = make_kb(0);
    rk_assemble_opts o = opts("out");
    o.p_oracle = 0.7;
    json_t *summary = run_ok(kb, &o);
    size_t kept = 0, total = 0;
    for (int s = 0; s < 3; s++) {
        json_t *recs = records("out", SPLITS[s], "raft");
        size_t i, kept_here = 0;
        json_t *r;
        json_array_foreach(recs, i, r) {
            json_t *ids = json_object_get(r, "chunk_ids");
            json_int_t oracle = json_integer_value(json_object_get(r, "oracle_chunk"));
            int in = has(ids, oracle);
            cr_assert_eq(json_array_size(ids), 5, "K + 1 documents whether or not the oracle is in");
            for (size_t a = 0; a < 5; a++)
                for (size_t b = a + 1; b < 5; b++)
                    cr_assert_neq(json_integer_value(json_array_get(ids, a)),
                                  json_integer_value(json_array_get(ids, b)), "distinct documents");
            json_t *sentences =
                json_array_get(json_object_get(json_object_get(r, "context"), "sentences"), 0);
            cr_assert_eq(json_array_size(sentences), 5);
            const char *ins = json_string_value(json_object_get(r, "instruction"));
            cr_assert(strstr(ins, json_string_value(json_object_get(r, "question"))), "the question ends it");
            cr_assert_eq(in, strstr(ins, json_string_value(json_object_get(r, "oracle_context"))) != NULL);
            kept_here += (size_t)in;
        }
        if (s == 2) {
            cr_assert_eq(kept_here, json_array_size(recs), "the test split always keeps the oracle");
        } else {
            kept += kept_here;
            total += json_array_size(recs);
        }
        json_decref(recs);
    }
    /* Within 4 standard deviations of the binomial. */
    double sd = sqrt(total * 0.7 * 0.3);
    cr_assert_gt(total, 150, "enough examples to judge: %zu", total);
    cr_assert(fabs((double)kept - 0.7 * (double)total) < 4 * sd, "oracle kept in %zu of %zu", kept, total);
    json_decref(summary);
    rk_kb_close(kb);
}

Test(assemble, splits_share_no_document_and_quotes_are_in_their_oracle) {
    rk_kb *kb = make_kb(0);
    rk_assemble_opts o = opts("out");
    json_decref(run_ok(kb, &o));
    json_t *docs[3];
    size_t nexamples = 0;
    for (int s = 0; s < 3; s++) {
        docs[s] = json_object();
        json_t *recs = records("out", SPLITS[s], "raft");
        size_t i, k;
        json_t *r, *d;
        json_array_foreach(recs, i, r) {
            json_array_foreach(json_object_get(r, "doc_ids"), k, d) {
                char key[32];
                snprintf(key, sizeof key, "%lld", (long long)json_integer_value(d));
                json_object_set_new(docs[s], key, json_true());
            }
            const char *cot = json_string_value(json_object_get(r, "cot_answer"));
            const char *oracle = json_string_value(json_object_get(r, "oracle_context"));
            cr_assert_eq(rk_cot_verify(cot, strlen(cot), oracle, strlen(oracle)), RK_COT_OK, "%s", cot);
            cr_assert(strstr(cot, RK_COT_BEGIN_QUOTE), "the answer quotes: %s", cot);
            cr_assert(strstr(oracle, json_string_value(json_object_get(r, "answer"))),
                      "answer in the oracle");
            nexamples++;
        }
        json_decref(recs);
    }
    cr_assert_gt(nexamples, 100);
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++) {
            const char *key;
            json_t *v;
            json_object_foreach(docs[a], key, v) cr_assert_null(
                json_object_get(docs[b], key), "document %s is in %s and %s", key, SPLITS[a], SPLITS[b]);
        }
    for (int s = 0; s < 3; s++) {
        cr_assert_gt(json_object_size(docs[s]), 0, "split %s has documents", SPLITS[s]);
        json_decref(docs[s]);
    }
    rk_kb_close(kb);
}

static char *slurp(const char *out, const char *split, const char *format, size_t *n) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s/%s.%s.jsonl", dir, out, split, format);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    char *s = malloc(*n + 1);
    cr_assert_eq(fread(s, 1, *n, f), *n);
    fclose(f);
    return s;
}

Test(assemble, the_same_seed_gives_byte_identical_files) {
    rk_kb *kb = make_kb(1);
    rk_assemble_opts a = opts("a");
    a.source = RK_DISTRACT_MIXED;
    json_decref(run_ok(kb, &a));
    rk_assemble_opts b = opts("b");
    b.source = RK_DISTRACT_MIXED;
    json_decref(run_ok(kb, &b));
    rk_assemble_opts c = opts("c");
    c.source = RK_DISTRACT_MIXED;
    c.seed = 8;
    json_decref(run_ok(kb, &c));
    for (int s = 0; s < 3; s++)
        for (int f = 0; f < 3; f++) {
            const char *format = (const char *[]){"raft", "eval", "dpo"}[f];
            size_t na, nb, nc;
            char *x = slurp("a", SPLITS[s], format, &na), *y = slurp("b", SPLITS[s], format, &nb),
                 *z = slurp("c", SPLITS[s], format, &nc);
            cr_assert(na == nb && !memcmp(x, y, na), "%s.%s differs between runs", SPLITS[s], format);
            cr_assert(na != nc || memcmp(x, z, na), "%s.%s: another seed, the same file", SPLITS[s], format);
            free(x);
            free(y);
            free(z);
        }
    rk_kb_close(kb);
}

/* The mean score the index gives to the context's distractors for each
 * example's question; hard: and that none is from the oracle's document. */
static double mean_distractor_score(rk_kb *kb, const char *out, int hard) {
    rk_searcher *s;
    rk_error e = {0};
    cr_assert_eq(rk_searcher_open(kb, "default", &(rk_embed_opts){0}, &s, &e), RK_OK, "%s", e.msg);
    json_t *recs = records(out, "train", "eval");
    size_t nchunks = NDOCS * NPARAS + NDOCS, i, counted = 0;
    rk_hit *hits = malloc(nchunks * sizeof *hits);
    double sum = 0;
    json_t *r;
    json_array_foreach(recs, i, r) {
        const char *q = json_string_value(json_object_get(r, "question"));
        size_t got;
        cr_assert_eq(rk_searcher_query(s, 1, &q, nchunks, hits, &got, &e), RK_OK, "%s", e.msg);
        json_t *ids = json_object_get(r, "chunk_ids"), *docs = json_object_get(r, "doc_ids");
        json_int_t oracle = json_integer_value(json_array_get(json_object_get(r, "oracle_chunk_ids"), 0));
        json_int_t odoc = -1;
        for (size_t k = 0; k < json_array_size(ids); k++)
            if (json_integer_value(json_array_get(ids, k)) == oracle)
                odoc = json_integer_value(json_array_get(docs, k));
        for (size_t k = 0; k < json_array_size(ids); k++) {
            json_int_t id = json_integer_value(json_array_get(ids, k));
            if (id == oracle) continue;
            if (hard && odoc >= 0)
                cr_assert_neq(json_integer_value(json_array_get(docs, k)), odoc,
                              "a hard distractor from the oracle's document");
            for (size_t h = 0; h < got; h++)
                if ((json_int_t)hits[h].chunk_id == id) {
                    sum += hits[h].score; /* a chunk with no shared term is not a hit: 0 */
                    break;
                }
            counted++;
        }
    }
    free(hits);
    json_decref(recs);
    rk_searcher_close(s);
    cr_assert_gt(counted, 100);
    return sum / (double)counted;
}

Test(assemble, hard_distractors_are_nearer_to_the_question_than_random_ones) {
    rk_kb *kb = make_kb(1);
    rk_assemble_opts h = opts("hard");
    h.source = RK_DISTRACT_HARD;
    json_t *sh = run_ok(kb, &h);
    rk_assemble_opts r = opts("random");
    json_t *sr = run_ok(kb, &r);
    double hard = mean_distractor_score(kb, "hard", 1), random = mean_distractor_score(kb, "random", 0);
    cr_assert_gt(hard, random * 1.2, "mean similarity: hard %.3f, random %.3f", hard, random);
    json_t *d = json_object_get(sh, "distractors");
    cr_assert_gt(json_integer_value(json_object_get(d, "hard")), 0);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(sr, "distractors"), "hard")), 0);
    json_decref(sh);
    json_decref(sr);
    rk_kb_close(kb);
}

Test(assemble, formats_carry_the_same_example) {
    rk_kb *kb = make_kb(0);
    rk_assemble_opts o = opts("out");
    o.formats = RK_FORMAT_RAFT | RK_FORMAT_CHAT | RK_FORMAT_COMPLETION | RK_FORMAT_DPO | RK_FORMAT_EVAL;
    o.system_prompt = "Answer from the documents.";
    json_decref(run_ok(kb, &o));
    json_t *raft = records("out", "val", "raft"), *chat = records("out", "val", "chat"),
           *comp = records("out", "val", "completion"), *dpo = records("out", "val", "dpo"),
           *ev = records("out", "val", "eval");
    cr_assert_gt(json_array_size(raft), 0);
    for (size_t i = 0; i < json_array_size(raft); i++) {
        json_t *r = json_array_get(raft, i);
        const char *ins = json_string_value(json_object_get(r, "instruction"));
        const char *cot = json_string_value(json_object_get(r, "cot_answer"));
        json_t *m = json_object_get(json_array_get(chat, i), "messages");
        cr_assert_eq(json_array_size(m), 3);
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 0), "content")),
                         "Answer from the documents.");
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 1), "content")), ins);
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 2), "role")), "assistant");
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(m, 2), "content")), cot);
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(comp, i), "prompt")), ins);
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(comp, i), "completion")), cot);
        json_t *p = json_array_get(dpo, i);
        cr_assert_str_eq(json_string_value(json_object_get(p, "chosen")), cot);
        const char *rej = json_string_value(json_object_get(p, "rejected"));
        size_t a, n, b, k;
        rk_cot_answer(rej, strlen(rej), &a, &n);
        rk_cot_answer(cot, strlen(cot), &b, &k);
        cr_assert(n != k || memcmp(rej + a, cot + b, n), "rejected gives another answer: %s", rej);
        json_t *e = json_array_get(ev, i);
        cr_assert_str_eq(json_string_value(json_object_get(e, "answer")),
                         json_string_value(json_object_get(r, "answer")));
        cr_assert_eq(json_integer_value(json_array_get(json_object_get(e, "oracle_chunk_ids"), 0)),
                     json_integer_value(json_object_get(r, "oracle_chunk")));
        cr_assert_str_eq(json_string_value(json_object_get(e, "id")),
                         json_string_value(json_object_get(r, "id")));
    }
    json_decref(raft);
    json_decref(chat);
    json_decref(comp);
    json_decref(dpo);
    json_decref(ev);
    rk_kb_close(kb);
}

Test(assemble, hard_distractors_without_an_index_are_refused) {
    rk_kb *kb = make_kb(0);
    rk_assemble_opts o = opts("out");
    o.source = RK_DISTRACT_HARD;
    json_t *summary;
    rk_error e = {0};
    cr_assert_eq(rk_assemble(kb, &o, &summary, &e), RK_ESTATE);
    cr_assert(strstr(e.msg, "no index \"default\"") && strstr(e.msg, "raft-index build"), "%s", e.msg);
    char path[700];
    snprintf(path, sizeof path, "%s/out/train.raft.jsonl", dir);
    cr_assert_neq(access(path, F_OK), 0, "no file is written");
    rk_kb_close(kb);
}

Test(assemble, too_few_chunks_for_k_distractors_are_refused_with_the_numbers) {
    rk_kb *kb = make_kb(0);
    rk_assemble_opts o = opts("out");
    o.distractors = 1000;
    json_t *summary;
    rk_error e = {0};
    cr_assert_eq(rk_assemble(kb, &o, &summary, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "1000 distractors") && strstr(e.msg, "at least 1001"), "%s", e.msg);
    /* Enough in the KB, not in a small split. */
    o.distractors = 40;
    o.split[0] = 0.95, o.split[1] = 0.025, o.split[2] = 0.025;
    cr_assert_eq(rk_assemble(kb, &o, &summary, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "split val has") && strstr(e.msg, "at least 41"), "%s", e.msg);
    rk_kb_close(kb);
}

Test(assemble, qa_lines_find_their_oracle_and_unknown_documents_are_reported) {
    rk_kb *kb = make_kb(1);
    char docs[600], qa[8192];
    snprintf(docs, sizeof docs, "%s/docs", dir);
    snprintf(
        qa, sizeof qa,
        "{\"question\": \"When was wing 0 of the lighthouse of Kestrel Point 0 rebuilt?\", \"answer\": "
        "\"1800\", "
        "\"doc\": \"%s/doc00.md\"}\n"
        "{\"question\": \"Who wrote the missing book?\", \"answer\": \"Nobody\", \"doc\": \"nowhere.md\"}\n"
        "\n"
        "{\"question\": \"How many visitors does wing 2 of the lighthouse of Kestrel Point 0 hold?\", "
        "\"answer\": \"22\"}\n",
        docs);
    char *qa_path = write_text(dir, "qa.jsonl", qa);
    rk_assemble_opts o = opts("out");
    o.qa_path = qa_path;
    o.distractors = 2;
    o.split[0] = 1, o.split[1] = 0, o.split[2] = 0;
    json_t *summary = run_ok(kb, &o);
    json_t *problems = json_object_get(summary, "problems");
    cr_assert_eq(json_array_size(problems), 1);
    const char *p = json_string_value(json_array_get(problems, 0));
    cr_assert(strstr(p, "qa.jsonl:2") && strstr(p, "unknown document \"nowhere.md\""), "%s", p);
    json_t *recs = records("out", "train", "raft");
    cr_assert_eq(json_array_size(recs), 2, "the other lines are used");
    json_t *r = json_array_get(recs, 0);
    cr_assert_str_eq(json_string_value(json_object_get(r, "id")), "qa1");
    cr_assert(strstr(json_string_value(json_object_get(r, "oracle_context")), "rebuilt in 1800"));
    const char *cot = json_string_value(json_object_get(r, "cot_answer"));
    cr_assert(strstr(cot, "##begin_quote## Wing 0 of the lighthouse of Kestrel Point 0 was rebuilt in 1800"),
              "%s", cot);
    r = json_array_get(recs, 1);
    cr_assert_str_eq(json_string_value(json_object_get(r, "id")), "qa4", "ids are line numbers");
    cr_assert(strstr(json_string_value(json_object_get(r, "oracle_context")), "Kestrel Point 0"),
              "the search finds the document: %s", json_string_value(json_object_get(r, "oracle_context")));
    json_decref(recs);
    json_decref(summary);
    /* A malformed line stops the run with its place. */
    free(qa_path);
    qa_path = write_text(dir, "bad.jsonl", "{\"question\": \"x?\", \"answer\": \"y\"}\n{\"question\": \n");
    o.qa_path = qa_path;
    rk_error e = {0};
    cr_assert_eq(rk_assemble(kb, &o, &summary, &e), RK_EFORMAT);
    cr_assert(strstr(e.msg, "bad.jsonl:2"), "%s", e.msg);
    free(qa_path);
    rk_kb_close(kb);
}

/* ---- the remote generator, against a chat server on 127.0.0.1 ----
 * Questions: two per chunk, numbered by the server so they never repeat.
 * Answers quote the first 40 bytes of the context; every 5th answer quotes
 * text that is not there and every 7th is not JSON at all. */
typedef struct chat_srv {
    int questions, answers, hits;
} chat_srv;

static void chat_handler(const httpd_request *req, httpd_reply *rep, void *ctx) {
    chat_srv *s = ctx;
    s->hits++;
    json_t *r = json_loadb(req->body, req->body_len, 0, NULL);
    json_t *msgs = json_object_get(r, "messages");
    const char *sys = json_string_value(json_object_get(json_array_get(msgs, 0), "content"));
    const char *user = json_string_value(json_object_get(json_array_get(msgs, 1), "content"));
    char buf[512];
    if (sys && strstr(sys, "question-answer pair generator")) {
        int a = ++s->questions, b = ++s->questions;
        snprintf(buf, sizeof buf,
                 "Here are the questions:\n1. What is fact number %d?\n2. What is fact number %d?\n", a, b);
        httpd_chat(rep, json_string(buf));
    } else if (user && strstr(user, "Context: ")) {
        int n = ++s->answers;
        const char *ctx_text = strstr(user, "Context: ") + 9;
        if (n % 7 == 0)
            httpd_text(rep, 200, "application/json", "{\"choices\": oops");
        else {
            snprintf(buf, sizeof buf,
                     "##Reason: the context says ##begin_quote## %.40s%s ##end_quote##.\n<ANSWER>: fact %d",
                     ctx_text, n % 5 == 0 ? " (made up)" : "", n);
            httpd_chat(rep, json_string(buf));
        }
    } else {
        httpd_text(rep, 400, "text/plain", "unexpected request");
    }
    json_decref(r);
}

Test(assemble, remote_questions_and_answers_are_checked_cached_and_resumed) {
    chat_srv srv = {0};
    httpd *h = httpd_start(chat_handler, &srv);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", httpd_port(h));
    rk_kb *kb = make_kb(0);
    rk_assemble_opts o = opts("out");
    o.generator = RK_GENERATOR_HTTP;
    o.gen = (rk_gen_opts){.chat = {.url = url, .model = "m", .retries = -1}, .workers = 3};
    o.max_chunks = 20;
    o.questions = 2;
    o.formats = RK_FORMAT_RAFT | RK_FORMAT_DPO;
    json_t *sum = run_ok(kb, &o);
    json_t *dropped = json_object_get(sum, "dropped"), *gen = json_object_get(sum, "generator");
    cr_assert_eq(json_integer_value(json_object_get(sum, "chunks_used")), 20);
    cr_assert_eq(json_integer_value(json_object_get(sum, "questions")), 40);
    cr_assert_gt(json_integer_value(json_object_get(dropped, "quote not in the oracle")), 0);
    json_int_t failed = json_integer_value(json_object_get(gen, "failed"));
    cr_assert_gt(failed, 0, "the malformed replies fail their jobs");
    cr_assert_eq(json_integer_value(json_object_get(gen, "requests")) + failed, srv.hits);
    size_t examples = 0;
    for (int sp = 0; sp < 3; sp++) {
        json_t *recs = records("out", SPLITS[sp], "raft");
        size_t i;
        json_t *r;
        json_array_foreach(recs, i, r) {
            const char *cot = json_string_value(json_object_get(r, "cot_answer"));
            const char *oracle = json_string_value(json_object_get(r, "oracle_context"));
            cr_assert_eq(rk_cot_verify(cot, strlen(cot), oracle, strlen(oracle)), RK_COT_OK, "%s", cot);
            cr_assert(!strncmp(json_string_value(json_object_get(r, "answer")), "fact ", 5),
                      "the final answer is taken");
            cr_assert(strstr(json_string_value(json_object_get(r, "question")), "What is fact number"));
            examples++;
        }
        json_decref(recs);
    }
    cr_assert_gt(examples, 20);
    /* Again: every reply that came is cached; only the failed jobs are asked again. */
    int before = srv.hits;
    json_t *again = run_ok(kb, &o);
    gen = json_object_get(again, "generator");
    cr_assert_eq(srv.hits - before, failed, "a second run sends only what failed in the first");
    cr_assert_gt(json_integer_value(json_object_get(gen, "cached")), 40);
    json_decref(again);
    json_decref(sum);
    rk_kb_close(kb);
    httpd_stop(h);
}

/* A slow chat server: every reply waits 20 ms, so a run can be killed midway. */
static void slow_handler(const httpd_request *req, httpd_reply *rep, void *ctx) {
    chat_handler(req, rep, ctx);
    rep->delay_ms = 20;
}

Test(assemble, a_remote_run_killed_midway_resumes_from_the_cache) {
    chat_srv srv = {0};
    httpd *h = httpd_start(slow_handler, &srv);
    char url[80], gen[100], kbpath[600], out[600];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", httpd_port(h));
    snprintf(gen, sizeof gen, "http:%s", url);
    rk_kb_close(make_kb(0));
    snprintf(kbpath, sizeof kbpath, "%s/kb", dir);
    snprintf(out, sizeof out, "%s/killed", dir);
    char *argv[] = {RK_BIN_DIR "/raft-assemble",
                    "--kb",
                    kbpath,
                    "--out",
                    out,
                    "--generator",
                    gen,
                    "--max-chunks",
                    "20",
                    "--questions",
                    "2",
                    "--workers",
                    "1",
                    "--retries",
                    "0",
                    "--seed",
                    "7",
                    "--quiet",
                    NULL};
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, argv[0], NULL, NULL, argv, environ), 0, "cannot start %s", argv[0]);
    for (int waited = 0; __atomic_load_n(&srv.hits, __ATOMIC_SEQ_CST) < 30 && waited < 3000; waited++)
        usleep(10000);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFSIGNALED(status), "the run was killed before it ended");
    int first = __atomic_load_n(&srv.hits, __ATOMIC_SEQ_CST);
    cr_assert_geq(first, 30);

    rk_kb *kb;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(kbpath, RK_KB_WRITE, 0, &kb, &e), RK_OK, "the killed run's KB opens: %s", e.msg);
    rk_assemble_opts o = opts("resumed");
    o.generator = RK_GENERATOR_HTTP;
    o.gen = (rk_gen_opts){.chat = {.url = url, .retries = -1}, .workers = 1};
    o.max_chunks = 20;
    o.questions = 2;
    o.formats = RK_FORMAT_RAFT;
    json_t *sum = run_ok(kb, &o);
    json_t *g = json_object_get(sum, "generator");
    json_int_t cached = json_integer_value(json_object_get(g, "cached"));
    cr_assert_gt(cached, 0, "replies the killed run got are not asked again");
    cr_assert_leq(cached, first);
    cr_assert_eq(srv.hits - first, json_integer_value(json_object_get(g, "requests")) +
                                       json_integer_value(json_object_get(g, "failed")));
    /* 20 question jobs and one answer job per question: asked once, between both runs, save what failed. */
    cr_assert_eq(cached + json_integer_value(json_object_get(g, "requests")) +
                     json_integer_value(json_object_get(g, "failed")),
                 20 + 40);
    json_decref(sum);
    rk_kb_close(kb);
    httpd_stop(h);
}
