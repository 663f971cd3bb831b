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
 *    retrieved, null when not retrieved or not in rag mode}
 *
 * metrics.json — the run's settings and totals (shares in percent, as the
 * SQuAD script prints them; intervals are 95% percentile bootstrap):
 *   {"name": label, "model": dir or "http:URL", "adapter": dir|null,
 *    "mode": "closed"|"rag"|"oracle", "data": path, "kb": path|null,
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
 *    "recall": {"1": x, "5": x, "10": x} and "mrr": 0..1 of the oracle chunk
 *    among those retrieved (rag mode; null otherwise)}
 *
 * run.json (resumption) — the settings a rerun must match to continue. */
#ifndef RAFTKIT_EVALRUN_H
#define RAFTKIT_EVALRUN_H

#endif
