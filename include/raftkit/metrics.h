/* metrics.h — answer scoring as the official SQuAD v1.1 evaluation script
 * (evaluate-v1.1.py) defines it, and bootstrap confidence intervals.
 * Used by raft-eval for every run and for `raft-eval score`. */
#ifndef RAFTKIT_METRICS_H
#define RAFTKIT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/buf.h"

/* The script's normalize_answer: Python's str.lower() (full Unicode
 * lower-casing, final sigma included), ASCII punctuation (string.punctuation)
 * removed, the words a, an, the removed where they stand alone (Python's
 * \b(a|an|the)\b over Unicode word characters), whitespace runs (str.split's
 * Unicode whitespace) collapsed to one space and trimmed. Appends to out.
 * s[0..n) is UTF-8; invalid bytes are kept as they are. Out of memory sets
 * out->oom. */
void rk_squad_normalize(const char *s, size_t n, rk_buf *out);

/* exact_match_score and f1_score of the script for one gold answer: EM is 1
 * when the normalized strings are equal; F1 is the harmonic mean of token
 * precision and recall over the multiset of normalized tokens (0 when no
 * token is shared, so also when either side is empty). Out of memory scores
 * 0. */
int rk_squad_em(const char *pred, const char *gold);
double rk_squad_f1(const char *pred, const char *gold);

/* metric_max_over_ground_truths for both metrics: the best EM and F1 of pred
 * against golds[0..ngolds). ngolds == 0 gives 0 and 0. */
void rk_squad_score(const char *pred, const char *const *golds, size_t ngolds, int *em, double *f1);

/* True when the normalized gold occurs in the normalized text as whole
 * tokens (the answer-in-context check). An empty normalized gold never does. */
int rk_squad_contains(const char *text, size_t n, const char *gold);

/* The percentile bootstrap interval of the mean of x[0..n): B resamples of n
 * drawn with replacement from rk_rng seeded with seed, and the
 * (1-level)/2 and (1+level)/2 quantiles of their means (linear interpolation
 * between order statistics, numpy's default). n == 0 gives 0, 0; B < 1 the
 * mean twice; a level outside [0, 1] is clamped; a NaN drawn into a resample,
 * or memory running out, gives NaN twice. */
void rk_bootstrap_ci(const double *x, size_t n, int B, double level, uint64_t seed, double *lo, double *hi);

#endif
