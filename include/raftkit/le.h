/* le.h — little-endian integers in byte buffers, for the file formats that
 * fix their byte order (safetensors, raft-train checkpoints). LMDB records
 * are host order and do not use these. */
#ifndef RAFTKIT_LE_H
#define RAFTKIT_LE_H

#include <stdint.h>

/* Writes the low n bytes of v to p, least significant first. */
static inline void rk_le_put(unsigned char *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Reads n bytes at p, least significant first. */
static inline uint64_t rk_le_get(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

#endif
