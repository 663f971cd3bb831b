/* neardup.h — near-duplicate detection of chunks by MinHash with
 * locality-sensitive hashing over word shingles. Two texts are near
 * duplicates when the estimated Jaccard similarity of their sets of word
 * 3-shingles (words as rk_text_next_word finds them; texts of fewer than 3
 * words use their single words) is at least the threshold. Deterministic:
 * the permutations are fixed hash seeds. Not for exact duplicates (the KB's
 * chunk hash does those). */
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
 * sets *match to that text's id (the most similar of the candidates);
 * otherwise returns 0. Does not add. */
int rk_neardup_find(const rk_neardup *d, const char *text, size_t n, uint64_t *match);
/* Adds text under id. RK_ENOMEM. */
rk_status rk_neardup_add(rk_neardup *d, const char *text, size_t n, uint64_t id, rk_error *err);
/* Forgets id (a chunk deleted by a re-ingest). Unknown ids are ignored. */
void rk_neardup_remove(rk_neardup *d, uint64_t id);

/* The estimated Jaccard similarity of two texts' shingle sets (for tests and
 * for reports). */
double rk_neardup_similarity(const char *a, size_t na, const char *b, size_t nb);

#endif
