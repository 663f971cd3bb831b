/* evalrun.h — raft-eval's runs: a model (local, with an optional adapter, or
 * an OpenAI-compatible endpoint) answering an eval set in one of three
 * settings, scored per example and in total.
 *
 * A run directory holds:
 *
 * predictions.jsonl — one line per example, in the data file's order:
 *   {"id": "c12-q0", "question": "...", "golds": ["..."],
 *    "output": the model's whole text, "answer": the final answer (after the
 *    last "<ANSWER>:", else the whole output), "answer_tag": true when the
 *    output had "<ANSWER>:",
 *    "em": 0|1, "f1": 0..1 (SQuAD v1.1, best over golds),
 *    "quotes": quotes in the output, "quotes_found": of them verbatim in the
 *    documents given, "quotes_oracle": of them inside an oracle document,
 *    "answer_in_context": a gold occurs in the documents given (null in
 *    closed mode),
 *    "documents": [{"chunk_id": id|null, "title": "..."|null, "text": "...",
 *                   "oracle": bool}, ...] (the documents given, in order),
 *    "rank": the 1-based rank of the first oracle chunk among those
 *    retrieved (null when none was), "recall": {"1", "5", "10"}: the share
 *    of the oracle chunks among the first 1, 5, 10 retrieved (both only in
 *    rag mode)}
 *
 * metrics.json — the run's settings and totals (shares in percent, as the
 * SQuAD script prints them; intervals are 95% percentile bootstrap):
 *   {"name": label, "model": dir or "http:URL", "adapter": dir|null,
 *    "mode": "closed"|"rag"|"oracle", or "scored" for predictions made
 *    elsewhere (raft-eval score), "data": path, "kb": path|null,
 *    "index": name|null, "k": n|null, "train_log": path|null (the
 *    train_log.jsonl beside the adapter or model, when there is one),
 *    "n": examples scored, "unknown_ids": predictions for ids not in the data
 *    (score only; reported, not counted), "missing": examples without a
 *    prediction (score only),
 *    "em": x, "em_ci": [lo, hi], "f1": x, "f1_ci": [lo, hi],
 *    "answer_tag": share of outputs with "<ANSWER>:",
 *    "quoting": share of answers with at least one quote,
 *    "grounded": share of all answers that quote and whose every quote is
 *    verbatim in the documents given, "grounded_ci": [lo, hi],
 *    "quotes_oracle": share of answers quoting an oracle document,
 *    "answer_in_context": share of examples whose documents hold a gold
 *    answer (null in closed mode),
 *    "recall": {"1": x, "5": x, "10": x} (percent) and "mrr": 0..1 of the oracle chunk
 *    among those retrieved (rag mode; null otherwise)}
 *
 * run.json — the settings a rerun must match to continue where the last
 * one stopped.
 *
 * Eval data (JSONL, one example a line) is what raft-assemble writes in its
 * eval format ({"id", "question", "answer", "context": [texts], "chunk_ids",
 * "titles", "oracle_chunk_ids", "instruction"}) or its raft format (the RAFT
 * reference's: "context": {"title", "sentences"}, "oracle_context",
 * "cot_answer"). Gold answers are read from "answers" (a list),
 * "gold_final_answer", "answer" or the final answer of "cot_answer", the
 * first found. */
#ifndef RAFTKIT_EVALRUN_H
#define RAFTKIT_EVALRUN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "raftkit/sample.h"
#include "raftkit/status.h"

typedef enum rk_eval_mode { RK_EVAL_CLOSED = 0, RK_EVAL_RAG = 1, RK_EVAL_ORACLE = 2 } rk_eval_mode;

/* "closed", "rag", "oracle" → *out; RK_EINVAL naming the choices otherwise. */
rk_status rk_eval_mode_parse(const char *name, rk_eval_mode *out, rk_error *err);
const char *rk_eval_mode_name(rk_eval_mode m);

/* ---- examples and their scores (score.c) ---- */

/* One example of an eval set: its record, its id ("id" as a string, else
 * "line-N"), its gold answers (a JSON array of strings) and the documents
 * assembled with it (an array as in predictions.jsonl; empty when the
 * record has none). */
typedef struct rk_eval_example {
    json_t *rec, *golds, *docs;
    char *id;
    size_t line;
} rk_eval_example;

typedef struct rk_eval_set {
    rk_eval_example *ex;
    size_t n;
} rk_eval_set;

/* Reads JSONL records: lines that are not JSON objects and repeated ids
 * fail with RK_EFORMAT naming "path:line". With examples set (an eval set,
 * not predictions) so does a record without a "question" or gold answers. */
rk_status rk_eval_load(const char *path, int examples, rk_eval_set *set, rk_error *err);
void rk_eval_free(rk_eval_set *set);

/* The prediction record of one answer (predictions.jsonl's fields but rank
 * and recall): output scored against golds and grounded in docs (NULL or
 * empty: none given; null answer_in_context when closed is set). NULL when
 * out of memory. */
json_t *rk_eval_score_one(const char *id, const char *question, const json_t *golds, const char *output,
                          const json_t *docs, int closed);

/* metrics.json's totals over preds[0..n) (predictions.jsonl records), put
 * into settings (which gets "n" and the totals; rag-only figures are null
 * unless the records have "recall"). Intervals are drawn with seed. */
rk_status rk_eval_totals(json_t *const *preds, size_t n, uint64_t seed, json_t *settings, rk_error *err);

typedef struct rk_score_opts {
    const char *pred; /* predictions made elsewhere (JSONL) */
    const char *data; /* the eval set they answer; NULL: golds in the predictions ("gold_final_answer") */
    const char *out;  /* the run directory to write */
    const char *name; /* the run's label; NULL: the predictions' file name */
    uint64_t seed;
} rk_score_opts;

/* Scores predictions made elsewhere and writes a run directory. A
 * prediction line has an "id" (or, without one, the "question" it answers)
 * and the model's text in "model_answer", "prediction", "output" or (RAFT's
 * eval format, and raft-eval's own) "answer". Predictions for ids not in the
 * data are counted in "unknown_ids" and left out; examples without a
 * prediction count as wrong, as in the SQuAD script, and in "missing". */
rk_status rk_eval_score(const rk_score_opts *o, json_t **metrics, rk_error *err);

/* Writes dir/metrics.json (indented) atomically. */
rk_status rk_eval_write_metrics(const char *dir, const json_t *metrics, rk_error *err);

/* ---- running a model (run.c) ---- */

typedef struct rk_eval_opts {
    const char *model;       /* a model directory, or "http:URL" (OpenAI-compatible chat endpoint) */
    const char *adapter;     /* a PEFT adapter directory, or NULL */
    const char *gen_model;   /* http: the "model" sent */
    const char *api_key_env; /* http: the variable holding the key, or NULL */
    const char *tpl;         /* the chat template's name; NULL: the model's (template.h) */
    const char *system;      /* a system message before each question, or NULL */
    const char *data;        /* the eval set */
    const char *out;         /* the run directory */
    const char *name;        /* the run's label; NULL: the adapter's or model's name and the mode */
    rk_eval_mode mode;
    const char *kb, *index; /* rag and ask: the KB and its index (NULL: "default") */
    size_t k;               /* rag and ask: documents in the prompt; 0: 5 */
    rk_sample_opts gen;     /* max_new_tokens (0: 256), temperature, top_k, top_p, stop, seed */
    size_t batch;           /* examples answered between commits to predictions.jsonl; 0: 8 */
    int threads;            /* http: requests in flight; 0: 4 */
    int progress;           /* draw a progress bar */
} rk_eval_opts;

/* Answers the eval set and writes the run directory. A run directory that
 * holds part of a run with the same settings is continued (RK_ESTATE when
 * its settings differ, naming the first that does); predictions are
 * appended and synced a batch at a time, so a killed run loses at most the
 * batch in progress. *metrics (may be NULL) gets metrics.json's object. */
rk_status rk_eval_run(const rk_eval_opts *o, json_t **metrics, rk_error *err);

/* Retrieves o->k chunks for question from o->kb and answers from them:
 * *answer gets {"question", "output", "answer", "documents": [...], "quoted":
 * [indexes of the documents quoted]}. */
rk_status rk_eval_ask(const rk_eval_opts *o, const char *question, json_t **answer, rk_error *err);

#endif
