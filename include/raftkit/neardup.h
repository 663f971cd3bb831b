/* neardup.h — near-duplicate detection of chunks by MinHash with
 * locality-sensitive hashing over word shingles. Two texts are near
 * duplicates when the estimated Jaccard similarity of their sets of word
 * 3-shingles (words as rk_text_next_word finds them, so case and punctuation
 * do not count; texts of fewer than 3 words use the set of their words) is at
 * least the threshold. The estimate is the share of 128 MinHash values that
 * agree (standard deviation sqrt(J(1-J)/128), at most 0.045); a text without
 * words is never a near duplicate of anything. Lookups verify only the texts
 * that share an LSH band with the query; the bands are chosen so that a pair
 * exactly at the threshold shares one with probability >= 0.99 (closer pairs
 * more). Deterministic: the permutations are fixed constants. Memory: the
 * 1 KiB signature and about 48 bytes per band per text (21 bands at 0.8, so
 * some 2 KiB a text). Not for exact duplicates (the KB's chunk hash does those).
 * Not thread-safe, except concurrent finds with no add or remove. */
#ifndef RAFTKIT_NEARDUP_H
#define RAFTKIT_NEARDUP_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/status.h"

typedef struct rk_neardup rk_neardup;

/* threshold in (0, 1]. RK_EINVAL outside; RK_ENOMEM. */
rk_status rk_neardup_new(double threshold, rk_neardup **out, rk_error *err);
void rk_neardup_free(rk_neardup *d);

/* When text[0..n) is a near duplicate of a text added before, returns 1 and
 * sets *match to that text's id (the most similar of the candidates, the
 * smallest id among equals); otherwise returns 0 and leaves *match alone.
 * Does not add. */
int rk_neardup_find(const rk_neardup *d, const char *text, size_t n, uint64_t *match);
/* Adds text under id, replacing the text id had (a text without words only
 * forgets it). RK_ENOMEM, and then nothing changed. */
rk_status rk_neardup_add(rk_neardup *d, const char *text, size_t n, uint64_t id, rk_error *err);
/* Forgets id (a chunk deleted by a re-ingest). Unknown ids are ignored. */
void rk_neardup_remove(rk_neardup *d, uint64_t id);

/* The estimated Jaccard similarity of two texts' shingle sets, a multiple of
 * 1/128 (for tests and for reports); 0 when either text has no words. */
double rk_neardup_similarity(const char *a, size_t na, const char *b, size_t nb);

#endif
