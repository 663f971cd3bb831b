/* idmap.h — an in-memory map from 128-bit content hashes to nonzero ids, for
 * the KB's chunk hashes not yet folded into chunk_hash (kb.c). Open
 * addressing with linear probing on the hash's low word (already uniform),
 * at most half full; deletion shifts entries back instead of leaving
 * tombstones, so a map that sees many deletes stays as fast. */
#ifndef RAFTKIT_INDEX_IDMAP_H
#define RAFTKIT_INDEX_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/hash.h"

typedef struct rk_idmap_slot {
    rk_hash128 h;
    uint64_t id; /* 0: empty */
} rk_idmap_slot;

typedef struct rk_idmap {
    rk_idmap_slot *slots;
    size_t cap, n; /* cap: 0 or a power of two */
} rk_idmap;

/* Maps h to id (nonzero), replacing any id it had; -1 when out of memory. */
int rk_idmap_put(rk_idmap *m, rk_hash128 h, uint64_t id);
/* The id of h, 0 when none. */
uint64_t rk_idmap_get(const rk_idmap *m, rk_hash128 h);
void rk_idmap_del(rk_idmap *m, rk_hash128 h);
void rk_idmap_clear(rk_idmap *m);
void rk_idmap_free(rk_idmap *m);

#endif
