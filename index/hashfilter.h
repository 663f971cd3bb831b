/* hashfilter.h — a Bloom filter over 128-bit content hashes, for the hashes
 * in the KB's chunk_hash (kb.c): a writer asks it before each lookup there,
 * and most new chunks then cost no B-tree search. Blocked to one 64-bit word
 * per hash (four bits set in it), so a query is one cache miss; with 16 bits
 * per hash about 1 query in 400 for an absent hash says "maybe". */
#ifndef RAFTKIT_INDEX_HASHFILTER_H
#define RAFTKIT_INDEX_HASHFILTER_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/hash.h"

typedef struct rk_hashfilter {
    uint64_t *words;
    size_t nwords; /* 0 or a power of two */
} rk_hashfilter;

/* Empties f and sizes it for n hashes; -1 when out of memory. */
int rk_hashfilter_reset(rk_hashfilter *f, size_t n);
void rk_hashfilter_add(rk_hashfilter *f, rk_hash128 h);
/* 0: h was never added; 1: it may have been. */
int rk_hashfilter_maybe(const rk_hashfilter *f, rk_hash128 h);
void rk_hashfilter_free(rk_hashfilter *f);

#endif
