/* run.c — raft-eval's runs: the prompt of each mode, generation by a local
 * model (with its adapter) or an OpenAI-compatible endpoint, retrieval from
 * the KB, and the run directory, written a batch at a time so a killed run
 * continues where it stopped. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raftkit/buf.h"
#include "raftkit/chat.h"
#include "raftkit/cot.h"
#include "raftkit/evalrun.h"
#include "raftkit/file.h"
#include "raftkit/json.h"
#include "raftkit/kb.h"
#include "raftkit/log.h"
#include "raftkit/model.h"
#include "raftkit/rng.h"
#include "raftkit/search.h"
#include "raftkit/template.h"

/* ---- the answering model ---- */

typedef struct gen {
    const rk_eval_opts *o;
    rk_model *m; /* local */
    rk_tokenizer *tok;
    rk_template tpl;
    rk_chat_opts chat; /* http */
    int http;
} gen;

static void gen_close(gen *g) {
    rk_model_free(g->m);
    rk_tok_free(g->tok);
    g->m = NULL, g->tok = NULL;
}

static rk_status gen_open(const rk_eval_opts *o, gen *g, rk_error *err) {
    memset(g, 0, sizeof *g);
    g->o = o;
    if (!strncmp(o->model, "http:", 5)) {
        if (o->adapter) return rk_fail(err, RK_EINVAL, "--adapter is for local models, not %s", o->model);
        g->http = 1;
        g->chat = (rk_chat_opts){.url = o->model + 5,
                                 .model = o->gen_model,
                                 .api_key_env = o->api_key_env,
                                 .temperature = o->gen.temperature,
                                 .max_tokens = o->gen.max_new_tokens};
        return RK_OK;
    }
    rk_status s = rk_model_load(o->model, &g->m, err);
    if (!s) s = rk_tok_load(o->model, &g->tok, err);
    if (!s && o->adapter) s = rk_model_lora_load(g->m, o->adapter, err);
    if (!s) s = o->tpl ? rk_template_parse(o->tpl, &g->tpl, err) : rk_template_detect(o->model, &g->tpl, err);
    if (s) gen_close(g);
    return s;
}

/* Cuts text before the first stop string (an endpoint is not sent them). */
static void cut_at_stop(char *text, const rk_sample_opts *so) {
    for (size_t i = 0; i < so->nstop; i++) {
        char *at = *so->stop[i] ? strstr(text, so->stop[i]) : NULL;
        if (at) *at = 0;
    }
}

/* The model's answer to prompt, the example's index drawing its own
 * sampling seed so that a resumed run answers as an uninterrupted one.
 * *out is the caller's to free. */
static rk_status gen_answer(gen *g, const char *prompt, size_t index, const char *id, char **out,
                            rk_error *err) {
    *out = NULL;
    const rk_eval_opts *o = g->o;
    if (g->http) {
        rk_chat_msg msgs[2];
        size_t n = 0;
        if (o->system) msgs[n++] = (rk_chat_msg){"system", o->system};
        msgs[n++] = (rk_chat_msg){"user", prompt};
        char *body = rk_chat_body(&g->chat, msgs, n);
        if (!body) return rk_fail(err, RK_EFORMAT, "example %s: the prompt is not valid UTF-8", id);
        rk_status s = rk_chat_complete(&g->chat, body, out, err);
        free(body);
        if (!s) cut_at_stop(*out, &o->gen);
        return s;
    }
    rk_ids ids = {0};
    rk_buf text = {0};
    rk_sample_opts so = o->gen;
    so.seed = rk_rng_derive(o->gen.seed, index);
    rk_status s = rk_template_prompt(g->tok, g->tpl, 1, o->system, prompt, &ids, err);
    int max_pos = rk_model_cfg(g->m)->max_pos;
    if (!s && ids.n >= (size_t)max_pos)
        s = rk_fail(err, RK_EINVAL, "example %s: the prompt is %zu tokens, more than the model's %d", id,
                    ids.n, max_pos);
    if (!s) s = rk_generate(g->m, g->tok, ids.v, ids.n, &so, NULL, &text, err);
    rk_ids_free(&ids);
    if (!s && !(*out = strdup(text.p ? text.p : ""))) s = rk_fail(err, RK_ENOMEM, "out of memory");
    free(text.p);
    return s;
}

/* ---- retrieval ---- */

typedef struct retriever {
    rk_kb *kb;
    rk_searcher *s;
} retriever;

static void retriever_close(retriever *r) {
    rk_searcher_close(r->s);
    rk_kb_close(r->kb);
    r->s = NULL, r->kb = NULL;
}

static rk_status retriever_open(const rk_eval_opts *o, retriever *r, rk_error *err) {
    memset(r, 0, sizeof *r);
    if (!o->kb) return rk_fail(err, RK_EINVAL, "retrieval needs --kb");
    rk_embed_opts eo = {.api_key_env = o->api_key_env, .retries = -1};
    rk_status s = rk_kb_open(o->kb, RK_KB_READONLY, 0, &r->kb, err);
    if (!s) s = rk_searcher_open(r->kb, o->index ? o->index : "default", &eo, &r->s, err);
    if (!s && rk_searcher_stale(r->s))
        rk_log_warn("%s: chunks changed since index %s was built; run raft-index update", o->kb,
                    o->index ? o->index : "default");
    if (s) retriever_close(r);
    return s;
}

/* The documents of hits[0..n) in predictions.jsonl's form, oracle flags from
 * the oracle chunk ids. */
static rk_status hit_docs(retriever *r, const rk_hit *hits, size_t n, const json_t *oracle, json_t **out,
                          rk_error *err) {
    rk_kb_txn *txn;
    rk_status s = rk_kb_read_begin(r->kb, &txn, err);
    if (s) return s;
    json_t *docs = json_array();
    for (size_t i = 0; !s && i < n; i++) {
        rk_chunk c;
        rk_doc d;
        if ((s = rk_kb_chunk_get(txn, hits[i].chunk_id, &c, err))) break;
        const char *title = rk_kb_doc_get(txn, c.doc_id, &d, NULL) ? NULL : d.title;
        int is_oracle = 0;
        size_t j;
        const json_t *v;
        json_array_foreach(oracle, j, v) is_oracle |= (uint64_t)json_integer_value(v) == hits[i].chunk_id;
        json_array_append_new(docs,
                              json_pack("{s:I, s:o, s:s%, s:b}", "chunk_id", (json_int_t)hits[i].chunk_id,
                                        "title", title && *title ? json_string(title) : json_null(), "text",
                                        c.text, c.text_len, "oracle", is_oracle));
    }
    rk_kb_read_end(txn);
    if (s)
        json_decref(docs);
    else
        *out = docs;
    return s;
}

/* The oracle chunk ids of an example (eval format, or raft format's one). */
static json_t *oracle_ids(const json_t *rec) {
    const json_t *ids = json_object_get(rec, "oracle_chunk_ids"), *one = json_object_get(rec, "oracle_chunk");
    if (json_is_array(ids)) return json_deep_copy(ids);
    json_t *a = json_array();
    if (json_is_integer(one)) json_array_append(a, (json_t *)one);
    return a;
}

/* rank and recall of the oracle chunks among the retrieved, into pred. */
static void put_ranking(json_t *pred, const rk_hit *hits, size_t n, const json_t *oracle) {
    size_t nrel = json_array_size(oracle);
    if (!nrel) return;
    uint64_t ranked[128], rel[128];
    size_t nr = n < 128 ? n : 128, nl = nrel < 128 ? nrel : 128;
    for (size_t i = 0; i < nr; i++)
        ranked[i] = hits[i].chunk_id;
    for (size_t i = 0; i < nl; i++)
        rel[i] = (uint64_t)json_integer_value(json_array_get(oracle, i));
    double recall[RK_RECALL_AT], rr;
    rk_rank_score(ranked, nr, rel, nl, recall, &rr);
    json_t *rank = json_null();
    for (size_t i = 0; i < nr && json_is_null(rank); i++)
        for (size_t j = 0; j < nl; j++)
            if (ranked[i] == rel[j]) {
                rank = json_integer((json_int_t)i + 1);
                break;
            }
    json_object_set_new(pred, "rank", rank);
    json_object_set_new(pred, "recall",
                        json_pack("{s:f, s:f, s:f}", "1", recall[0], "5", recall[1], "10", recall[2]));
}

/* The documents as the RAFT reference lays them out in a prompt, then the
 * question (raft-assemble's default instruction). */
static char *docs_prompt(const json_t *docs, const char *question) {
    rk_buf b = {0};
    size_t i;
    const json_t *d;
    json_array_foreach(docs, i, d) {
        const char *t = json_string_value(json_object_get(d, "text"));
        rk_buf_put(&b, "<DOCUMENT>", 10);
        rk_buf_put(&b, t, strlen(t));
        rk_buf_put(&b, "</DOCUMENT>\n", 12);
    }
    rk_buf_put(&b, question, strlen(question));
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- the run directory ---- */

/* The last path component of p, without trailing slashes, into buf. */
static const char *base_name(const char *p, char *buf, size_t cap) {
    char full[PATH_MAX];
    if (realpath(p, full)) p = full;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    size_t b = n;
    while (b && p[b - 1] != '/')
        b--;
    snprintf(buf, cap, "%.*s", (int)(n - b), p + b);
    return buf;
}

/* What a rerun must match to continue the run. */
static json_t *settings_of(const rk_eval_opts *o, size_t k) {
    json_t *stop = json_array();
    for (size_t i = 0; i < o->gen.nstop; i++)
        json_array_append_new(stop, json_string(o->gen.stop[i]));
    int rag = o->mode == RK_EVAL_RAG;
    return json_pack(
        "{s:s, s:s?, s:s?, s:s, s:s, s:s?, s:s?, s:o, s:s?, s:s?, s:i, s:f, s:i, s:f, s:o, s:I}", "model",
        o->model, "adapter", o->adapter, "gen_model", o->gen_model, "mode", rk_eval_mode_name(o->mode),
        "data", o->data, "kb", rag ? o->kb : NULL, "index", rag ? (o->index ? o->index : "default") : NULL,
        "k", rag ? json_integer((json_int_t)k) : json_null(), "template", o->tpl, "system", o->system,
        "max_new_tokens", o->gen.max_new_tokens, "temperature", (double)o->gen.temperature, "top_k",
        o->gen.top_k, "top_p", (double)o->gen.top_p, "stop", stop, "seed", (json_int_t)o->gen.seed);
}

/* Checks that a run directory's earlier run had these settings; *fresh is
 * set when there is none, for record_settings once the model has loaded (a
 * run that fails to start leaves nothing that would refuse its rerun). */
static rk_status check_settings(const char *dir, const json_t *settings, int *fresh, rk_error *err) {
    char *path = rk_path_join(dir, "run.json"), *preds = rk_path_join(dir, "predictions.jsonl");
    if (!path || !preds) {
        free(path), free(preds);
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    char *text;
    size_t n;
    rk_error e;
    *fresh = 0;
    rk_status s = rk_file_read(path, &text, &n, &e);
    if (s == RK_ENOTFOUND) {
        s = RK_OK;
        if (access(preds, F_OK) == 0)
            s = rk_fail(err, RK_ESTATE,
                        "%s: predictions.jsonl without run.json: not a raft-eval run to continue", dir);
        *fresh = 1;
    } else if (s) {
        s = rk_fail(err, s, "%s", e.msg);
    } else {
        json_t *old;
        if (!(s = rk_json_parse(text, n, path, &old, err)) && !json_equal(old, settings)) {
            const char *key;
            json_t *v;
            json_object_foreach((json_t *)settings, key, v) {
                if (json_equal(v, json_object_get(old, key))) continue;
                char *a = rk_json_text(json_object_get(old, key)), *b = rk_json_text(v);
                s = rk_fail(err, RK_ESTATE,
                            "%s holds a run with other settings (%s: %s, now %s): use a new --out to start "
                            "another",
                            dir, key, a ? a : "null", b ? b : "null");
                free(a), free(b);
                break;
            }
        }
        json_decref(old);
        free(text);
    }
    free(path), free(preds);
    return s;
}

/* Makes the run directory and records the settings in run.json. */
static rk_status record_settings(const char *dir, const json_t *settings, rk_error *err) {
    char *path = rk_path_join(dir, "run.json"), *t = json_dumps(settings, JSON_INDENT(2));
    rk_status s = path && t ? rk_mkdir_p(dir, err) : rk_fail(err, RK_ENOMEM, "out of memory");
    if (!s) s = rk_file_write_atomic(path, t, strlen(t), err);
    free(path), free(t);
    return s;
}

/* Reads the predictions an earlier run committed (checking they answer the
 * data's examples in order) and cuts off a line a kill left half-written. */
static rk_status read_done(const char *path, const rk_eval_set *data, json_t ***preds, size_t *done,
                           rk_error *err) {
    *done = 0;
    char *text;
    size_t n;
    rk_error e;
    rk_status s = rk_file_read(path, &text, &n, &e);
    if (s == RK_ENOTFOUND) return RK_OK;
    if (s) return rk_fail(err, s, "%s", e.msg);
    size_t keep = 0;
    for (char *p = text; !s && p < text + n;) {
        char *nl = memchr(p, '\n', (size_t)(text + n - p));
        if (!nl) break; /* a line a kill cut short */
        json_t *j = json_loadb(p, (size_t)(nl - p), 0, NULL);
        const char *id = json_string_value(json_object_get(j, "id"));
        if (!j || !id)
            s = rk_fail(err, RK_EFORMAT, "%s:%zu: not a prediction record", path, *done + 1);
        else if (*done >= data->n || strcmp(id, data->ex[*done].id))
            s = rk_fail(err, RK_ESTATE,
                        "%s:%zu: answers \"%s\" where the data's example is \"%s\": the data changed", path,
                        *done + 1, id, *done < data->n ? data->ex[*done].id : "(none)");
        if (s) {
            json_decref(j);
            break;
        }
        (*preds)[(*done)++] = j;
        p = nl + 1;
        keep = (size_t)(p - text);
    }
    free(text);
    if (!s && keep < n && truncate(path, (off_t)keep))
        s = rk_fail(err, RK_EIO, "%s: %s", path, strerror(errno));
    return s;
}

/* The train_log.jsonl beside the adapter, or the model (full fine-tuning). */
static json_t *train_log_of(const rk_eval_opts *o) {
    const char *dirs[2] = {o->adapter, o->model};
    for (int i = 0; i < 2; i++) {
        if (!dirs[i] || !strncmp(dirs[i], "http:", 5)) continue;
        char *p = rk_path_join(dirs[i], "train_log.jsonl");
        if (p && access(p, R_OK) == 0) {
            json_t *j = json_string(p);
            free(p);
            return j;
        }
        free(p);
    }
    return json_null();
}

static rk_status put_line(FILE *f, const char *path, const json_t *j, rk_error *err) {
    return rk_json_print_line(f, j) ? rk_fail(err, RK_EIO, "%s: %s", path, strerror(errno)) : RK_OK;
}

static rk_status sync_file(FILE *f, const char *path, rk_error *err) {
    if (fflush(f) || fsync(fileno(f))) return rk_fail(err, RK_EIO, "%s: %s", path, strerror(errno));
    return RK_OK;
}

/* ---- one batch ---- */

typedef struct item {
    char *prompt, *output;
    json_t *docs, *pred;
    rk_hit hits[128];
    size_t nhits;
    rk_status st;
    rk_error err;
} item;

/* The prompts and documents of examples [from, to). */
static rk_status prepare(const rk_eval_opts *o, const rk_eval_set *data, retriever *rt, size_t from,
                         size_t to, size_t K, size_t k, item *it, rk_error *err) {
    size_t nb = to - from;
    rk_status s = RK_OK;
    if (o->mode == RK_EVAL_RAG) {
        const char *qs[256];
        size_t counts[256];
        rk_hit *hits = malloc(nb * K * sizeof *hits);
        if (!hits) return rk_fail(err, RK_ENOMEM, "out of memory");
        for (size_t i = 0; i < nb; i++)
            qs[i] = json_string_value(json_object_get(data->ex[from + i].rec, "question"));
        s = rk_searcher_query(rt->s, nb, qs, K, hits, counts, err);
        for (size_t i = 0; !s && i < nb; i++) {
            it[i].nhits = counts[i];
            memcpy(it[i].hits, hits + i * K, counts[i] * sizeof *hits);
            json_t *oracle = oracle_ids(data->ex[from + i].rec);
            s = hit_docs(rt, it[i].hits, counts[i] < k ? counts[i] : k, oracle, &it[i].docs, err);
            json_decref(oracle);
        }
        free(hits);
    }
    for (size_t i = 0; !s && i < nb; i++) {
        const json_t *rec = data->ex[from + i].rec;
        const char *q = json_string_value(json_object_get(rec, "question"));
        const char *ins = json_string_value(json_object_get(rec, "instruction"));
        if (o->mode == RK_EVAL_ORACLE) it[i].docs = json_incref(data->ex[from + i].docs);
        if (o->mode == RK_EVAL_CLOSED)
            it[i].prompt = strdup(q);
        else if (o->mode == RK_EVAL_ORACLE && ins) /* exactly what training saw */
            it[i].prompt = strdup(ins);
        else
            it[i].prompt = docs_prompt(it[i].docs, q);
        if (!it[i].prompt)
            s = rk_fail(err, RK_ENOMEM, "out of memory");
        else if (o->mode == RK_EVAL_ORACLE && !json_array_size(it[i].docs) && !ins)
            s = rk_fail(err, RK_EFORMAT,
                        "%s:%zu: oracle mode needs the documents assembled with the example "
                        "(\"context\" or \"instruction\")",
                        o->data, data->ex[from + i].line);
    }
    return s;
}

static void items_free(item *it, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(it[i].prompt);
        free(it[i].output);
        json_decref(it[i].docs);
        json_decref(it[i].pred);
    }
    memset(it, 0, n * sizeof *it);
}

/* ---- runs ---- */

rk_status rk_eval_run(const rk_eval_opts *o, json_t **metrics, rk_error *err) {
    size_t k = o->k ? o->k : 5, K = k > 10 ? k : 10; /* recall@10 needs 10 retrieved */
    size_t batch = o->batch ? o->batch : 8;
    if (batch > 256) batch = 256;
    if (K > 128) return rk_fail(err, RK_EINVAL, "-k %zu: at most 128 documents", k);
    rk_eval_opts eo = *o;
    if (!eo.gen.max_new_tokens) eo.gen.max_new_tokens = 256;
    rk_eval_set data = {0};
    gen g = {0};
    retriever rt = {0};
    json_t *settings = settings_of(&eo, k), *m = NULL;
    json_t **preds = NULL;
    item *it = calloc(batch, sizeof *it);
    char *ppath = rk_path_join(o->out, "predictions.jsonl");
    FILE *f = NULL;
    size_t done = 0;
    int fresh = 0;
    rk_status s = settings && it && ppath ? RK_OK : rk_fail(err, RK_ENOMEM, "out of memory");
    if (!s) s = rk_eval_load(o->data, 1, &data, err);
    if (!s && !(preds = calloc(data.n, sizeof *preds))) s = rk_fail(err, RK_ENOMEM, "out of memory");
    if (!s) s = check_settings(o->out, settings, &fresh, err);
    if (!s) s = read_done(ppath, &data, &preds, &done, err);
    if (!s && done < data.n) {
        if (done) rk_log_info("%s: %zu of %zu examples answered before; continuing", o->out, done, data.n);
        s = gen_open(&eo, &g, err);
        if (!s && o->mode == RK_EVAL_RAG) s = retriever_open(o, &rt, err);
        if (!s && fresh) s = record_settings(o->out, settings, err);
        if (!s && !(f = fopen(ppath, "a"))) s = rk_fail(err, RK_EIO, "%s: %s", ppath, strerror(errno));
    }
    rk_progress *bar = !s && o->progress ? rk_progress_new("answering", "examples", data.n) : NULL;
    rk_progress_set(bar, done);
    for (size_t from = done; !s && from < data.n; from += batch) {
        size_t to = from + batch < data.n ? from + batch : data.n, nb = to - from;
        s = prepare(&eo, &data, &rt, from, to, K, k, it, err);
        /* A local model answers one example at a time (its kernels use every
         * thread); requests to an endpoint go out in parallel. */
        int nt = g.http ? (o->threads > 0 ? o->threads : 4) : 1;
#pragma omp parallel for num_threads(nt) schedule(dynamic) if (!s && nt > 1)
        for (size_t i = 0; i < nb; i++)
            if (!s)
                it[i].st =
                    gen_answer(&g, it[i].prompt, from + i, data.ex[from + i].id, &it[i].output, &it[i].err);
        for (size_t i = 0; !s && i < nb; i++) {
            const rk_eval_example *e = &data.ex[from + i];
            if (it[i].st) {
                s = rk_fail(err, it[i].st, "%s", it[i].err.msg);
                break;
            }
            json_t *p = rk_eval_score_one(e->id, json_string_value(json_object_get(e->rec, "question")),
                                          e->golds, it[i].output, it[i].docs, o->mode == RK_EVAL_CLOSED);
            if (!p) {
                s = rk_fail(err, RK_ENOMEM, "out of memory");
                break;
            }
            if (o->mode == RK_EVAL_RAG) {
                json_t *oracle = oracle_ids(e->rec);
                put_ranking(p, it[i].hits, it[i].nhits, oracle);
                json_decref(oracle);
            }
            s = put_line(f, ppath, p, err);
            preds[from + i] = p;
        }
        if (!s) s = sync_file(f, ppath, err);
        items_free(it, nb);
        if (!s) rk_progress_set(bar, to);
    }
    rk_progress_done(bar);
    if (f && fclose(f) && !s) s = rk_fail(err, RK_EIO, "%s: %s", ppath, strerror(errno));
    if (!s) {
        char name[256], base[200];
        if (o->name)
            snprintf(name, sizeof name, "%s", o->name);
        else if (!strncmp(o->model, "http:", 5))
            snprintf(name, sizeof name, "%s-%s", o->gen_model ? o->gen_model : "http",
                     rk_eval_mode_name(o->mode));
        else
            snprintf(name, sizeof name, "%s-%s",
                     base_name(o->adapter ? o->adapter : o->model, base, sizeof base),
                     rk_eval_mode_name(o->mode));
        m = json_pack("{s:s, s:s, s:O, s:s, s:s, s:O, s:O, s:O, s:o, s:i, s:i}", "name", name, "model",
                      o->model, "adapter", json_object_get(settings, "adapter"), "mode",
                      rk_eval_mode_name(o->mode), "data", o->data, "kb", json_object_get(settings, "kb"),
                      "index", json_object_get(settings, "index"), "k", json_object_get(settings, "k"),
                      "train_log", train_log_of(o), "unknown_ids", 0, "missing", 0);
        s = m ? rk_eval_totals(preds, data.n, o->gen.seed, m, err) : rk_fail(err, RK_ENOMEM, "out of memory");
        if (!s) s = rk_eval_write_metrics(o->out, m, err);
    }
    if (!s && metrics)
        *metrics = m;
    else
        json_decref(m);
    for (size_t i = 0; preds && i < data.n; i++)
        json_decref(preds[i]);
    free(preds);
    free(it);
    free(ppath);
    json_decref(settings);
    retriever_close(&rt);
    gen_close(&g);
    rk_eval_free(&data);
    return s;
}

/* ---- ask ---- */

typedef struct quoted {
    const json_t *docs;
    json_t *which;
} quoted;

static int mark_quoted(const char *q, size_t n, void *ctx) {
    quoted *x = ctx;
    size_t i;
    const json_t *d;
    json_array_foreach(x->docs, i, d) {
        const char *t = json_string_value(json_object_get(d, "text"));
        if (!n || !memmem(t, strlen(t), q, n)) continue;
        int seen = 0;
        size_t j;
        json_t *v;
        json_array_foreach(x->which, j, v) seen |= (size_t)json_integer_value(v) == i;
        if (!seen) json_array_append_new(x->which, json_integer((json_int_t)i));
    }
    return 0;
}

rk_status rk_eval_ask(const rk_eval_opts *o, const char *question, json_t **answer, rk_error *err) {
    size_t k = o->k ? o->k : 5;
    if (k > 128) return rk_fail(err, RK_EINVAL, "-k %zu: at most 128 documents", k);
    rk_eval_opts eo = *o;
    if (!eo.gen.max_new_tokens) eo.gen.max_new_tokens = 256;
    gen g = {0};
    retriever rt = {0};
    rk_hit hits[128];
    size_t count = 0;
    json_t *docs = NULL, *none = json_array();
    char *prompt = NULL, *output = NULL;
    rk_status s = retriever_open(o, &rt, err);
    if (!s) s = rk_searcher_query(rt.s, 1, &question, k, hits, &count, err);
    if (!s) s = hit_docs(&rt, hits, count, none, &docs, err);
    if (!s && !(prompt = docs_prompt(docs, question))) s = rk_fail(err, RK_ENOMEM, "out of memory");
    if (!s) s = gen_open(&eo, &g, err);
    if (!s) s = gen_answer(&g, prompt, 0, "(question)", &output, err);
    if (!s) {
        size_t as, an;
        rk_cot_answer(output, strlen(output), &as, &an);
        quoted x = {docs, json_array()};
        rk_cot_quotes(output, strlen(output), mark_quoted, &x);
        *answer = json_pack("{s:s, s:s, s:s%, s:O, s:o}", "question", question, "output", output, "answer",
                            output + as, an, "documents", docs, "quoted", x.which);
        if (!*answer) s = rk_fail(err, RK_ENOMEM, "out of memory");
    }
    json_decref(docs);
    json_decref(none);
    free(prompt);
    free(output);
    gen_close(&g);
    retriever_close(&rt);
    return s;
}
