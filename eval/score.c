/* score.c — eval sets, the score of one answer (SQuAD EM/F1, final answer,
 * grounding of its quotes), the totals of a run, and `raft-eval score` for
 * predictions made elsewhere. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/buf.h"
#include "raftkit/cot.h"
#include "raftkit/evalrun.h"
#include "raftkit/file.h"
#include "raftkit/json.h"
#include "raftkit/log.h"
#include "raftkit/metrics.h"

static const char *const MODE_NAMES[] = {"closed", "rag", "oracle"};

rk_status rk_eval_mode_parse(const char *name, rk_eval_mode *out, rk_error *err) {
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, MODE_NAMES[i])) {
            *out = (rk_eval_mode)i;
            return RK_OK;
        }
    return rk_fail(err, RK_EINVAL, "unknown mode \"%s\" (choose closed, rag or oracle)", name);
}

const char *rk_eval_mode_name(rk_eval_mode m) { return (unsigned)m < 3 ? MODE_NAMES[m] : "?"; }

/* ---- eval sets ---- */

static const char *str_field(const json_t *j, const char *k) {
    return json_string_value(json_object_get(j, k));
}

/* The gold answers of a record, as a new array (empty when it has none). */
static json_t *golds_of(const json_t *rec) {
    json_t *g = json_array();
    json_t *answers = json_object_get(rec, "answers"), *v;
    size_t i;
    /* SQuAD's own files nest them: {"answers": {"text": [...]}} */
    if (json_is_object(answers)) answers = json_object_get(answers, "text");
    json_array_foreach(answers, i, v) {
        if (json_is_string(v))
            json_array_append(g, v);
        else if (json_is_string(json_object_get(v, "text")))
            json_array_append(g, json_object_get(v, "text"));
    }
    if (json_array_size(g)) return g;
    /* RAFT's eval files keep the model's text in "answer": the gold field
     * that means nothing else comes first. */
    const char *a = str_field(rec, "gold_final_answer");
    if (!a) a = str_field(rec, "answer");
    if (a) {
        json_array_append_new(g, json_string(a));
        return g;
    }
    const char *cot = str_field(rec, "cot_answer");
    if (cot) {
        size_t s, n;
        if (rk_cot_answer(cot, strlen(cot), &s, &n)) json_array_append_new(g, json_stringn(cot + s, n));
    }
    return g;
}

static json_t *doc_json(json_int_t chunk_id, int has_id, const char *title, const char *text, int oracle) {
    return json_pack("{s:o, s:o, s:s, s:b}", "chunk_id", has_id ? json_integer(chunk_id) : json_null(),
                     "title", title ? json_string(title) : json_null(), "text", text, "oracle", oracle);
}

/* The documents assembled with a record: raft-assemble's eval format
 * (context: [texts], chunk_ids, titles, oracle_chunk_ids) or the RAFT
 * reference's (context: {title: [[...]], sentences: [[...]]},
 * oracle_context). */
static json_t *docs_of(const json_t *rec) {
    json_t *docs = json_array();
    const json_t *ctx = json_object_get(rec, "context");
    const json_t *ids = json_object_get(rec, "chunk_ids"), *titles = json_object_get(rec, "titles");
    const json_t *oracle_ids = json_object_get(rec, "oracle_chunk_ids");
    const json_t *oracle_one = json_object_get(rec, "oracle_chunk");
    const char *oracle_text = str_field(rec, "oracle_context");
    if (json_is_object(ctx)) { /* the reference's nesting: one list per example */
        const json_t *s = json_object_get(ctx, "sentences"), *t = json_object_get(ctx, "title");
        if (json_is_array(json_array_get(s, 0))) s = json_array_get(s, 0);
        if (json_is_array(json_array_get(t, 0))) t = json_array_get(t, 0);
        titles = t;
        ctx = s;
    }
    size_t i, j;
    const json_t *v, *w;
    json_array_foreach(ctx, i, v) {
        const char *text = json_string_value(v);
        if (!text) continue;
        const json_t *id = json_array_get(ids, i);
        int oracle = oracle_text && !strcmp(text, oracle_text);
        if (json_is_integer(id)) {
            json_array_foreach(oracle_ids, j, w) oracle |= json_integer_value(w) == json_integer_value(id);
            oracle |= json_is_integer(oracle_one) && json_integer_value(oracle_one) == json_integer_value(id);
        }
        json_array_append_new(docs, doc_json(json_integer_value(id), json_is_integer(id),
                                             json_string_value(json_array_get(titles, i)), text, oracle));
    }
    return docs;
}

void rk_eval_free(rk_eval_set *set) {
    for (size_t i = 0; i < set->n; i++) {
        json_decref(set->ex[i].rec);
        json_decref(set->ex[i].golds);
        json_decref(set->ex[i].docs);
        free(set->ex[i].id);
    }
    free(set->ex);
    memset(set, 0, sizeof *set);
}

rk_status rk_eval_load(const char *path, int examples, rk_eval_set *set, rk_error *err) {
    memset(set, 0, sizeof *set);
    char *text;
    size_t len, cap = 0;
    rk_status s = rk_file_read(path, &text, &len, err);
    if (s) return s;
    json_t *seen = json_object();
    rk_jsonl lines;
    rk_jsonl_init(&lines, path, text, len);
    for (json_t *rec; !s && !(s = rk_jsonl_next(&lines, &rec, err)) && rec;) {
        const char *what = lines.where;
        size_t line = lines.line;
        if (!json_is_object(rec) || (examples && !str_field(rec, "question"))) {
            s = rk_fail(err, RK_EFORMAT, "%s: %s", what,
                        json_is_object(rec) ? "no \"question\" string" : "not a JSON object");
            json_decref(rec);
            break;
        }
        if (set->n == cap) {
            size_t c = cap ? 2 * cap : 64;
            rk_eval_example *v = realloc(set->ex, c * sizeof *v);
            if (!v) {
                json_decref(rec);
                s = rk_fail(err, RK_ENOMEM, "out of memory");
                break;
            }
            set->ex = v, cap = c;
        }
        rk_eval_example *e = &set->ex[set->n++];
        memset(e, 0, sizeof *e);
        e->rec = rec;
        e->line = line;
        e->golds = golds_of(rec);
        e->docs = docs_of(rec);
        const json_t *id = json_object_get(rec, "id");
        char buf[64];
        if (json_is_integer(id))
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(id));
        else if (!json_is_string(id))
            snprintf(buf, sizeof buf, "line-%zu", line);
        e->id = strdup(json_is_string(id) ? json_string_value(id) : buf);
        if (!e->id || !e->golds || !e->docs)
            s = rk_fail(err, RK_ENOMEM, "out of memory");
        else if (examples && !json_array_size(e->golds))
            s = rk_fail(
                err, RK_EFORMAT,
                "%s: no gold answer (\"answers\", \"answer\", \"gold_final_answer\" or \"cot_answer\")",
                what);
        else if (json_object_get(seen, e->id))
            s = rk_fail(err, RK_EFORMAT, "%s: id \"%s\" again (first on line %zu)", what, e->id,
                        (size_t)json_integer_value(json_object_get(seen, e->id)));
        else
            json_object_set_new(seen, e->id, json_integer((json_int_t)line));
    }
    json_decref(seen);
    free(text);
    if (!s && !set->n) s = rk_fail(err, RK_EFORMAT, "%s: no examples", path);
    if (s) rk_eval_free(set);
    return s;
}

/* ---- one answer ---- */

typedef struct grounding {
    const json_t *docs;
    int quotes, found, oracle;
} grounding;

static int count_quote(const char *q, size_t n, void *ctx) {
    grounding *g = ctx;
    g->quotes++;
    int found = 0, oracle = 0;
    size_t i;
    const json_t *d;
    json_array_foreach(g->docs, i, d) {
        const char *t = str_field(d, "text");
        if (n && t && memmem(t, strlen(t), q, n)) {
            found = 1;
            oracle |= json_is_true(json_object_get(d, "oracle"));
        }
    }
    g->found += found;
    g->oracle += oracle;
    return 0;
}

json_t *rk_eval_score_one(const char *id, const char *question, const json_t *golds, const char *output,
                          const json_t *docs, int closed) {
    size_t n = strlen(output), as, an;
    int tagged = rk_cot_answer(output, n, &as, &an);
    char *answer = strndup(output + as, an);
    size_t ng = json_array_size(golds);
    const char **g = malloc((ng ? ng : 1) * sizeof *g);
    if (!answer || !g) {
        free(answer), free(g);
        return NULL;
    }
    for (size_t i = 0; i < ng; i++)
        g[i] = json_string_value(json_array_get(golds, i));
    int em;
    double f1;
    rk_squad_score(answer, g, ng, &em, &f1);
    /* Quotes are looked for verbatim; an unclosed last one still counts as a
     * quote that was not found. */
    grounding gr = {docs, 0, 0, 0};
    if (rk_cot_quotes(output, n, count_quote, &gr) < 0) gr.quotes++;
    int in_context = 0;
    size_t i, j;
    const json_t *d;
    json_array_foreach(docs, i, d) {
        const char *t = str_field(d, "text");
        for (j = 0; t && j < ng && !in_context; j++)
            in_context = rk_squad_contains(t, strlen(t), g[j]);
    }
    json_t *r =
        json_pack("{s:s, s:s, s:O, s:s, s:s, s:b, s:i, s:f, s:i, s:i, s:i, s:o, s:o}", "id", id, "question",
                  question, "golds", golds, "output", output, "answer", answer, "answer_tag", tagged, "em",
                  em, "f1", f1, "quotes", gr.quotes, "quotes_found", gr.found, "quotes_oracle", gr.oracle,
                  "answer_in_context", closed ? json_null() : json_boolean(in_context), "documents",
                  docs ? json_incref((json_t *)docs) : json_array());
    free(answer);
    free(g);
    return r;
}

/* ---- totals ---- */

static json_t *pct(double share) { return json_real(100.0 * share); }

static json_t *ci_json(const double *x, size_t n, uint64_t seed) {
    double lo, hi;
    rk_bootstrap_ci(x, n, 1000, 0.95, seed, &lo, &hi);
    return json_pack("[f, f]", 100.0 * lo, 100.0 * hi);
}

rk_status rk_eval_totals(json_t *const *preds, size_t n, uint64_t seed, json_t *settings, rk_error *err) {
    double *em = calloc(n ? n : 1, sizeof *em), *f1 = calloc(n ? n : 1, sizeof *f1),
           *grounded = calloc(n ? n : 1, sizeof *grounded);
    if (!em || !f1 || !grounded) {
        free(em), free(f1), free(grounded);
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    double tag = 0, quoting = 0, oracle = 0, in_ctx = 0, rr = 0, recall[3] = {0};
    size_t ctx_n = 0, rag_n = 0;
    static const char *const AT[3] = {"1", "5", "10"};
    for (size_t i = 0; i < n; i++) {
        const json_t *p = preds[i];
        em[i] = (double)json_integer_value(json_object_get(p, "em"));
        f1[i] = json_real_value(json_object_get(p, "f1"));
        json_int_t q = json_integer_value(json_object_get(p, "quotes"));
        grounded[i] = q > 0 && json_integer_value(json_object_get(p, "quotes_found")) == q;
        tag += json_is_true(json_object_get(p, "answer_tag"));
        quoting += q > 0;
        oracle += json_integer_value(json_object_get(p, "quotes_oracle")) > 0;
        const json_t *c = json_object_get(p, "answer_in_context");
        if (json_is_boolean(c)) ctx_n++, in_ctx += json_is_true(c);
        const json_t *rec = json_object_get(p, "recall");
        if (json_is_object(rec)) {
            rag_n++;
            for (int k = 0; k < 3; k++)
                recall[k] += json_number_value(json_object_get(rec, AT[k]));
            json_int_t rank = json_integer_value(json_object_get(p, "rank"));
            if (rank > 0 && rank <= 10) rr += 1.0 / (double)rank;
        }
    }
    double N = n ? (double)n : 1;
    double sum_em = 0, sum_f1 = 0, sum_g = 0;
    for (size_t i = 0; i < n; i++)
        sum_em += em[i], sum_f1 += f1[i], sum_g += grounded[i];
    json_object_set_new(settings, "n", json_integer((json_int_t)n));
    json_object_set_new(settings, "em", pct(sum_em / N));
    json_object_set_new(settings, "em_ci", ci_json(em, n, seed));
    json_object_set_new(settings, "f1", pct(sum_f1 / N));
    json_object_set_new(settings, "f1_ci", ci_json(f1, n, seed + 1));
    json_object_set_new(settings, "answer_tag", pct(tag / N));
    json_object_set_new(settings, "quoting", pct(quoting / N));
    json_object_set_new(settings, "grounded", pct(sum_g / N));
    json_object_set_new(settings, "grounded_ci", ci_json(grounded, n, seed + 2));
    json_object_set_new(settings, "quotes_oracle", pct(oracle / N));
    json_object_set_new(settings, "answer_in_context", ctx_n ? pct(in_ctx / (double)ctx_n) : json_null());
    if (rag_n) {
        json_t *r = json_object();
        for (int k = 0; k < 3; k++)
            json_object_set_new(r, AT[k], pct(recall[k] / (double)rag_n));
        json_object_set_new(settings, "recall", r);
        json_object_set_new(settings, "mrr", json_real(rr / (double)rag_n));
    } else {
        json_object_set_new(settings, "recall", json_null());
        json_object_set_new(settings, "mrr", json_null());
    }
    free(em), free(f1), free(grounded);
    return RK_OK;
}

/* ---- raft-eval score ---- */

/* The model's text in a prediction line. "answer" is the model's in RAFT's
 * eval format and raft-eval's own, and the gold in eval data: it is read as
 * the model's only after the fields that can mean nothing else. */
static const char *prediction_text(const json_t *p) {
    static const char *const FIELDS[] = {"model_answer", "prediction", "output", "answer"};
    for (size_t i = 0; i < sizeof FIELDS / sizeof *FIELDS; i++)
        if (str_field(p, FIELDS[i])) return str_field(p, FIELDS[i]);
    return NULL;
}

static rk_status write_run(const char *dir, json_t *const *preds, size_t n, const json_t *metrics,
                           rk_error *err) {
    rk_status s = rk_mkdir_p(dir, err);
    if (s) return s;
    char path[4200];
    snprintf(path, sizeof path, "%s/predictions.jsonl", dir);
    rk_atomic a = {0};
    s = rk_atomic_open(&a, path, err);
    for (size_t i = 0; !s && i < n; i++)
        if (rk_json_print_line(a.f, preds[i])) s = rk_fail(err, RK_EIO, "%s: %s", path, strerror(errno));
    if (s) {
        rk_atomic_abort(&a);
        return s;
    }
    if ((s = rk_atomic_commit(&a, err))) return s;
    return rk_eval_write_metrics(dir, metrics, err);
}

rk_status rk_eval_write_metrics(const char *dir, const json_t *metrics, rk_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    rk_status s;
    char *text = json_dumps(metrics, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    if (!text) return rk_fail(err, RK_ENOMEM, "out of memory");
    rk_buf b = {0};
    rk_buf_put(&b, text, strlen(text));
    rk_buf_put(&b, "\n", 1);
    free(text);
    s = b.oom ? rk_fail(err, RK_ENOMEM, "out of memory") : rk_file_write_atomic(path, b.p, b.n, err);
    free(b.p);
    return s;
}

rk_status rk_eval_score(const rk_score_opts *o, json_t **metrics, rk_error *err) {
    rk_eval_set data = {0}, pred = {0};
    rk_status s = o->data ? rk_eval_load(o->data, 1, &data, err) : RK_OK;
    /* Without --data every prediction line carries its golds (RAFT's eval format). */
    if (!s) s = rk_eval_load(o->pred, !o->data, &pred, err);
    if (s) {
        rk_eval_free(&data);
        return s;
    }
    const rk_eval_set *gold = o->data ? &data : &pred;
    json_t **out = calloc(gold->n, sizeof *out);
    json_t *by_id = json_object(), *by_q = json_object();
    size_t unknown = 0, missing = 0;
    for (size_t i = 0; i < gold->n; i++) {
        json_object_set_new(by_id, gold->ex[i].id, json_integer((json_int_t)i));
        json_object_set_new(by_q, str_field(gold->ex[i].rec, "question"), json_integer((json_int_t)i));
    }
    if (!out) s = rk_fail(err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; !s && i < pred.n; i++) {
        const rk_eval_example *p = &pred.ex[i];
        const char *text = prediction_text(p->rec);
        if (!text) {
            s = rk_fail(err, RK_EFORMAT,
                        "%s:%zu: no prediction (\"model_answer\", \"prediction\", \"output\" or \"answer\")",
                        o->pred, p->line);
            break;
        }
        const json_t *at = json_object_get(p->rec, "id")
                               ? json_object_get(by_id, p->id)
                               : json_object_get(by_q, str_field(p->rec, "question"));
        if (!at) {
            if (unknown++ < 5)
                rk_log_warn("%s:%zu: no example with id \"%s\" in the data", o->pred, p->line, p->id);
            continue;
        }
        size_t k = (size_t)json_integer_value(at);
        const rk_eval_example *g = &gold->ex[k];
        json_decref(out[k]);
        out[k] = rk_eval_score_one(g->id, str_field(g->rec, "question"), g->golds, text,
                                   json_array_size(g->docs) ? g->docs : p->docs,
                                   !json_array_size(g->docs) && !json_array_size(p->docs));
        if (!out[k]) s = rk_fail(err, RK_ENOMEM, "out of memory");
    }
    for (size_t k = 0; !s && k < gold->n; k++) {
        if (out[k]) continue;
        missing++;
        const rk_eval_example *g = &gold->ex[k];
        if (!(out[k] = rk_eval_score_one(g->id, str_field(g->rec, "question"), g->golds, "", g->docs,
                                         !json_array_size(g->docs))))
            s = rk_fail(err, RK_ENOMEM, "out of memory");
    }
    if (!s && unknown) rk_log_warn("%zu predictions for ids not in the data: reported, not counted", unknown);
    if (!s && missing) rk_log_warn("%zu examples without a prediction: counted as wrong", missing);
    json_t *m = NULL;
    if (!s) {
        const char *base = strrchr(o->pred, '/');
        m = json_pack("{s:s, s:s, s:n, s:s, s:s?, s:n, s:n, s:n, s:n, s:i, s:i}", "name",
                      o->name ? o->name
                      : base  ? base + 1
                              : o->pred,
                      "model", o->pred, "adapter", "mode", "scored", "data", o->data, "kb", "index", "k",
                      "train_log", "unknown_ids", (json_int_t)unknown, "missing", (json_int_t)missing);
        s = m ? rk_eval_totals(out, gold->n, o->seed, m, err) : rk_fail(err, RK_ENOMEM, "out of memory");
    }
    if (!s) s = write_run(o->out, out, gold->n, m, err);
    if (!s && metrics)
        *metrics = m;
    else
        json_decref(m);
    for (size_t k = 0; out && k < gold->n; k++)
        json_decref(out[k]);
    free(out);
    json_decref(by_id);
    json_decref(by_q);
    rk_eval_free(&data);
    rk_eval_free(&pred);
    return s;
}
