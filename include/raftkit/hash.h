/* hash.h — content hashing through xxHash (XXH3). 128-bit hashes identify
 * normalized chunk texts and documents (exact dedup, change detection);
 * 64-bit seeded hashes feed the feature-hashing embedder. Not cryptographic. */
#ifndef RAFTKIT_HASH_H
#define RAFTKIT_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct rk_hash128 {
    uint64_t lo, hi;
} rk_hash128;

rk_hash128 rk_hash128_of(const void *data, size_t n);
uint64_t rk_hash64_of(const void *data, size_t n, uint64_t seed);
int rk_hash128_equal(rk_hash128 a, rk_hash128 b);
/* Writes the 32 hex digits (hi then lo) and a NUL into out. */
void rk_hash128_hex(rk_hash128 h, char out[33]);

#endif
