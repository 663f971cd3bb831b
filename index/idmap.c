/* idmap.c — see idmap.h. */
#include "idmap.h"

#include <string.h>
#include <sys/mman.h>

static size_t home(const rk_idmap *m, rk_hash128 h) { return (size_t)h.lo & (m->cap - 1); }

/* The slot holding h, or the empty slot where it would go. */
static size_t find(const rk_idmap *m, rk_hash128 h) {
    size_t i = home(m, h);
    while (m->slots[i].id && !rk_hash128_equal(m->slots[i].h, h))
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* Slots come from mmap, in huge pages where the kernel has them (probes
 * land at random, and miss the TLB less: 400,000 hashes put and looked up
 * twice took 91 ms against 125 ms in 4 KiB pages), and are written before
 * they are read. calloc's fresh pages would map to the shared zero page on
 * the first probe and be copied on the first put, and each copy interrupts
 * every other core running the process to flush its TLB: a fifth of
 * raft-ingest's writer time went there. (malloc and memset are no way
 * round it: compilers make them a calloc.) */
static rk_idmap_slot *slots_new(size_t cap) {
    size_t bytes = cap * sizeof(rk_idmap_slot);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    madvise(p, bytes, MADV_HUGEPAGE); /* advice only: without it, 4 KiB pages */
    memset(p, 0, bytes);
    return p;
}

static void slots_free(rk_idmap_slot *slots, size_t cap) {
    if (slots) munmap(slots, cap * sizeof *slots);
}

static int grow(rk_idmap *m) {
    size_t cap = m->cap ? 2 * m->cap : 1024;
    rk_idmap_slot *slots = slots_new(cap);
    if (!slots) return -1;
    rk_idmap old = *m;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].id) m->slots[find(m, old.slots[i].h)] = old.slots[i];
    slots_free(old.slots, old.cap);
    return 0;
}

int rk_idmap_put(rk_idmap *m, rk_hash128 h, uint64_t id) {
    if (2 * (m->n + 1) > m->cap && grow(m)) return -1;
    size_t i = find(m, h);
    if (!m->slots[i].id) m->n++;
    m->slots[i] = (rk_idmap_slot){h, id};
    return 0;
}

uint64_t rk_idmap_get(const rk_idmap *m, rk_hash128 h) { return m->cap ? m->slots[find(m, h)].id : 0; }

void rk_idmap_del(rk_idmap *m, rk_hash128 h) {
    if (!m->cap) return;
    size_t mask = m->cap - 1, i = find(m, h);
    if (!m->slots[i].id) return;
    /* Backward shift: an entry after the hole moves into it unless its home
     * lies cyclically in (hole, entry], where a lookup would no longer pass
     * the hole to reach it. */
    for (size_t j = (i + 1) & mask; m->slots[j].id; j = (j + 1) & mask) {
        size_t k = home(m, m->slots[j].h);
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].id = 0;
    m->n--;
}

void rk_idmap_clear(rk_idmap *m) {
    if (m->cap) memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->n = 0;
}

void rk_idmap_free(rk_idmap *m) {
    slots_free(m->slots, m->cap);
    *m = (rk_idmap){0};
}
