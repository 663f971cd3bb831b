/* rng.h — the one pseudo-random generator of raftkit: splitmix64, a 64-bit
 * state that the caller owns and seeds. Small, fast and reproducible on every
 * platform, which is all sampling, shuffling and dropout need; not for
 * anything secret. */
#ifndef RAFTKIT_RNG_H
#define RAFTKIT_RNG_H

#include <stddef.h>
#include <stdint.h>

/* The next 64 random bits; advances *s. */
static inline uint64_t rk_rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1), 53 bits. */
static inline double rk_rng_unit(uint64_t *s) { return (double)(rk_rng_next(s) >> 11) / 9007199254740992.0; }

/* Uniform in [0, n) for n > 0 (modulo bias below 2^-40 for n < 2^24). */
static inline size_t rk_rng_below(uint64_t *s, size_t n) { return (size_t)(rk_rng_next(s) % n); }

/* A state derived from a seed and a counter (an epoch, a step), so that a
 * resumed run draws what an uninterrupted one would have. */
static inline uint64_t rk_rng_derive(uint64_t seed, uint64_t counter) {
    uint64_t s = seed ^ (counter * 0xD1B54A32D192ED03ULL);
    return rk_rng_next(&s);
}

#endif
