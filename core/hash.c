/* hash.c — thin, stable wrappers over XXH3 so the rest of raftkit never
 * depends on xxHash's types. */
#include "raftkit/hash.h"

#include <stdio.h>
#include <xxhash.h>

rk_hash128 rk_hash128_of(const void *data, size_t n) {
    XXH128_hash_t h = XXH3_128bits(data, n);
    return (rk_hash128){h.low64, h.high64};
}

uint64_t rk_hash64_of(const void *data, size_t n, uint64_t seed) {
    return XXH3_64bits_withSeed(data, n, seed);
}

int rk_hash128_equal(rk_hash128 a, rk_hash128 b) { return a.lo == b.lo && a.hi == b.hi; }

void rk_hash128_hex(rk_hash128 h, char out[33]) {
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.hi, (unsigned long long)h.lo);
}
