/* hashfilter.c — see hashfilter.h. The hashes are XXH3 outputs, already
 * uniform: the word comes from hi, the four bits from four 6-bit fields of
 * lo's top half (idmap.c probes with lo's low bits). */
#include "hashfilter.h"

#include <stdlib.h>

static uint64_t bits(rk_hash128 h) {
    uint64_t x = h.lo >> 32;
    return (1ull << (x & 63)) | (1ull << (x >> 6 & 63)) | (1ull << (x >> 12 & 63)) | (1ull << (x >> 18 & 63));
}

int rk_hashfilter_reset(rk_hashfilter *f, size_t n) {
    size_t nwords = 64;
    while (nwords * 4 < n) /* 16 bits per hash */
        nwords *= 2;
    if (nwords != f->nwords) {
        free(f->words);
        f->nwords = 0;
        if (!(f->words = malloc(nwords * sizeof *f->words))) return -1;
        f->nwords = nwords;
    }
    for (size_t i = 0; i < nwords; i++)
        f->words[i] = 0;
    return 0;
}

void rk_hashfilter_add(rk_hashfilter *f, rk_hash128 h) { f->words[h.hi & (f->nwords - 1)] |= bits(h); }

int rk_hashfilter_maybe(const rk_hashfilter *f, rk_hash128 h) {
    uint64_t b = bits(h);
    return (f->words[h.hi & (f->nwords - 1)] & b) == b;
}

void rk_hashfilter_free(rk_hashfilter *f) {
    free(f->words);
    *f = (rk_hashfilter){0};
}
