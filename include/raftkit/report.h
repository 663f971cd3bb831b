/* report.h — `raft-eval report`: runs of raft-eval side by side, for people.
 *
 * Reads each run directory's metrics.json and predictions.jsonl (the formats
 * are described in evalrun.h) and the training log named by metrics.json's
 * "train_log", and writes into out_dir:
 *   report.html  one self-contained page (inline CSS, inline SVG, no script
 *                or font or image fetched from anywhere): a table of every
 *                run, SVG bar charts of EM, F1 and grounding with their 95%
 *                intervals, each model's training and eval loss curves, and
 *                a sample of right and wrong answers with their documents;
 *   report.md    the table and the samples, for terminals and pull requests.
 * Both are written atomically. */
#ifndef RAFTKIT_REPORT_H
#define RAFTKIT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/status.h"

typedef struct rk_report_opts {
    size_t samples; /* right and wrong answers shown per run; 0: 3 of each */
    uint64_t seed;  /* which ones */
} rk_report_opts;

/* RK_EFORMAT naming the file and line when a run's files are not raft-eval's;
 * RK_ENOTFOUND naming the directory when it has no metrics.json. */
rk_status rk_report_write(const char *const *run_dirs, size_t n, const char *out_dir, const rk_report_opts *o,
                          rk_error *err);

#endif
