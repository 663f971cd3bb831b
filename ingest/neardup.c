/* neardup.c — MinHash signatures of word 3-shingles, cut into LSH bands so a
 * lookup only verifies texts that share a whole band with the query. */
#include "raftkit/neardup.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/hash.h"
#include "raftkit/text.h"

enum {
    PERMS = 128,   /* signature length: the estimate's std is sqrt(J(1-J)/128) <= 0.045 */
    WORD_CAP = 64, /* longer words are cut (the same way on both sides of a comparison) */
    SHINGLE = 3,
    BATCH = 256, /* shingle hashes folded at a time */
};

/* The candidate probability a pair exactly at the threshold must reach. */
#define BAND_RECALL 0.99

#define NIL UINT32_MAX

/* The i-th permutation is x -> mul[i] * x + add[i] (mod 2^64) on the XXH3
 * hash of a shingle: the hash already spreads the shingles, so one multiply
 * and add per permutation orders them independently enough, at a fraction of
 * the cost of rehashing each shingle 128 times. */
typedef struct perms {
    uint64_t mul[PERMS], add[PERMS];
} perms;

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Fixed constants: signatures from any instance or run are comparable. */
static void perms_init(perms *p) {
    uint64_t state = 0x6E65617264757021ull;
    for (int i = 0; i < PERMS; i++) {
        p->mul[i] = splitmix64(&state) | 1; /* odd: a bijection mod 2^64 */
        p->add[i] = splitmix64(&state);
    }
}

/* Shingle hashes wait in a batch that is folded permutation by permutation:
 * the running minimum then stays in a register, instead of a load and a
 * compare-and-store per shingle and permutation. */
typedef struct minhash {
    const perms *p;
    uint64_t *sig;
    uint64_t batch[BATCH];
    size_t n;
} minhash;

static void mh_flush(minhash *m) {
    for (int i = 0; i < PERMS; i += 4) { /* four independent minima keep the pipeline busy */
        const uint64_t *mul = m->p->mul + i, *add = m->p->add + i;
        uint64_t lo[4] = {m->sig[i], m->sig[i + 1], m->sig[i + 2], m->sig[i + 3]};
        for (size_t k = 0; k < m->n; k++)
            for (int j = 0; j < 4; j++) {
                uint64_t v = mul[j] * m->batch[k] + add[j];
                lo[j] = v < lo[j] ? v : lo[j];
            }
        memcpy(m->sig + i, lo, sizeof lo);
    }
    m->n = 0;
}

/* Adds the shingle of words w[0..k) joined by spaces (never part of a word,
 * so shingles of different lengths cannot coincide). */
static void mh_add(minhash *m, const char *const *w, const size_t *len, size_t k) {
    char joined[SHINGLE * WORD_CAP];
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
        if (i) joined[n++] = ' ';
        memcpy(joined + n, w[i], len[i]);
        n += len[i];
    }
    m->batch[m->n++] = rk_hash64_of(joined, n, 0);
    if (m->n == BATCH) mh_flush(m);
}

/* Fills sig with the MinHash signature of text's shingles; returns 0 when the
 * text has no words (its signature is then meaningless). */
static int signature(const char *text, size_t n, const perms *p, uint64_t *sig) {
    char ring[SHINGLE][WORD_CAP]; /* the last SHINGLE words */
    size_t ring_len[SHINGLE], pos = 0, start, count = 0, l;
    minhash m = {.p = p, .sig = sig};
    for (int i = 0; i < PERMS; i++)
        sig[i] = UINT64_MAX;
    while ((l = rk_text_next_word(text, n, &pos, &start, ring[count % SHINGLE], WORD_CAP))) {
        ring_len[count++ % SHINGLE] = l;
        if (count < SHINGLE) continue;
        const char *w[SHINGLE];
        size_t len[SHINGLE];
        for (size_t i = 0; i < SHINGLE; i++) { /* oldest word first */
            w[i] = ring[(count + i) % SHINGLE];
            len[i] = ring_len[(count + i) % SHINGLE];
        }
        mh_add(&m, w, len, SHINGLE);
    }
    for (size_t i = 0; count < SHINGLE && i < count; i++) {
        const char *w = ring[i];
        mh_add(&m, &w, &ring_len[i], 1);
    }
    mh_flush(&m);
    return count > 0;
}

static size_t agreement(const uint64_t *a, const uint64_t *b) {
    size_t same = 0;
    for (int i = 0; i < PERMS; i++)
        same += a[i] == b[i];
    return same;
}

/* Open addressing with linear probing from a 64-bit key to a 32-bit value;
 * val == NIL marks a free entry. Deletion shifts back the entries after the
 * hole, so there are no tombstones to pile up under re-ingest churn. */
typedef struct entry {
    uint64_t key;
    uint32_t val;
} entry;

typedef struct map {
    entry *e;
    size_t cap, n; /* cap is 0 or a power of two */
} map;

/* Ids can be sequential and band keys are already hashes; mix both. */
static size_t home(const map *m, uint64_t key) {
    key ^= key >> 33;
    key *= 0xFF51AFD7ED558CCDull;
    key ^= key >> 33;
    return (size_t)key & (m->cap - 1);
}

/* The index of key's entry, or m->cap when it is absent. */
static size_t map_find(const map *m, uint64_t key) {
    if (!m->cap) return 0;
    for (size_t i = home(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->e[i].val == NIL) return m->cap;
        if (m->e[i].key == key) return i;
    }
}

static uint32_t *map_get(const map *m, uint64_t key) {
    size_t i = map_find(m, key);
    return i < m->cap ? &m->e[i].val : NULL;
}

/* key must be absent and room reserved. */
static void map_put(map *m, uint64_t key, uint32_t val) {
    size_t i = home(m, key);
    while (m->e[i].val != NIL)
        i = (i + 1) & (m->cap - 1);
    m->e[i] = (entry){key, val};
    m->n++;
}

/* Makes room for extra more keys at a load of at most 3/4. */
static int map_reserve(map *m, size_t extra) {
    size_t want = m->n + extra, cap = m->cap ? m->cap : 16;
    while (want > cap / 4 * 3)
        cap *= 2;
    if (cap == m->cap) return 0;
    entry *e = malloc(cap * sizeof *e);
    if (!e) return -1;
    for (size_t i = 0; i < cap; i++)
        e[i].val = NIL;
    map old = *m;
    *m = (map){e, cap, 0};
    for (size_t i = 0; i < old.cap; i++)
        if (old.e[i].val != NIL) map_put(m, old.e[i].key, old.e[i].val);
    free(old.e);
    return 0;
}

static void map_del(map *m, uint64_t key) {
    size_t mask = m->cap - 1, hole = map_find(m, key);
    if (hole == m->cap) return;
    /* An entry may fill the hole when its home is cyclically outside (hole, j]. */
    for (size_t j = (hole + 1) & mask; m->e[j].val != NIL; j = (j + 1) & mask) {
        size_t h = home(m, m->e[j].key);
        if (((j - h) & mask) >= ((j - hole) & mask)) {
            m->e[hole] = m->e[j];
            hole = j;
        }
    }
    m->e[hole].val = NIL;
    m->n--;
}

/* A bucket's ids, linked through a pool with a free list. */
typedef struct node {
    uint64_t id;
    uint32_t next;
} node;

struct rk_neardup {
    size_t need;        /* the least agreeing signature values that reach the threshold */
    size_t bands, rows; /* bands * rows <= PERMS; left-over rows only refine the estimate */
    perms perm;
    map by_id;   /* id -> slot */
    map buckets; /* band key -> first node */
    node *nodes;
    size_t n_nodes, cap_nodes, n_free;
    uint32_t free_node;
    uint64_t *ids, *sigs; /* per slot: the id and its PERMS values; slots are dense */
    size_t n, cap;
};

/* The most rows per band (fewest chance candidates to verify) with which a
 * pair whose true similarity is exactly t still shares at least one band with
 * probability BAND_RECALL: 1 - (1 - t^r)^b for b = PERMS / r. At t = 0.8 that
 * is 21 bands of 6 rows; at 0.9, 12 of 10; at 1, one band of all 128. The
 * S-curve midpoint (1/b)^(1/r) lands well below t, which is the point:
 * verification on the full signature rejects what the bands let through. */
static void choose_bands(double t, size_t *bands, size_t *rows) {
    for (size_t r = PERMS; r > 1; r--) {
        size_t b = PERMS / r;
        if (1 - pow(1 - pow(t, (double)r), (double)b) >= BAND_RECALL) {
            *bands = b;
            *rows = r;
            return;
        }
    }
    *bands = PERMS;
    *rows = 1;
}

rk_status rk_neardup_new(double threshold, rk_neardup **out, rk_error *err) {
    if (!(threshold > 0 && threshold <= 1)) /* also catches NaN */
        return rk_fail(err, RK_EINVAL, "near-duplicate threshold %g is not in (0, 1]", threshold);
    rk_neardup *d = calloc(1, sizeof *d);
    if (!d) return rk_fail(err, RK_ENOMEM, "out of memory creating a near-duplicate index");
    d->need = (size_t)ceil(threshold * PERMS); /* exact: scaling by a power of two */
    choose_bands(threshold, &d->bands, &d->rows);
    perms_init(&d->perm);
    d->free_node = NIL;
    *out = d;
    return RK_OK;
}

void rk_neardup_free(rk_neardup *d) {
    if (!d) return;
    free(d->by_id.e);
    free(d->buckets.e);
    free(d->nodes);
    free(d->ids);
    free(d->sigs);
    free(d);
}

/* The band index seeds the hash, so equal rows in different bands never meet. */
static uint64_t band_key(const rk_neardup *d, const uint64_t *sig, size_t band) {
    return rk_hash64_of(sig + band * d->rows, d->rows * sizeof *sig, band);
}

int rk_neardup_find(const rk_neardup *d, const char *text, size_t n, uint64_t *match) {
    uint64_t sig[PERMS];
    if (!signature(text, n, &d->perm, sig)) return 0;
    size_t best = 0;
    uint64_t best_id = 0;
    for (size_t b = 0; b < d->bands; b++) {
        const uint32_t *head = map_get(&d->buckets, band_key(d, sig, b));
        for (uint32_t k = head ? *head : NIL; k != NIL; k = d->nodes[k].next) {
            uint64_t id = d->nodes[k].id;
            size_t same = agreement(sig, d->sigs + (size_t)*map_get(&d->by_id, id) * PERMS);
            if (same < d->need) continue;
            if (same > best || (same == best && id < best_id)) {
                best = same;
                best_id = id;
            }
        }
    }
    if (!best) return 0;
    *match = best_id;
    return 1;
}

static int reserve(rk_neardup *d) {
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 64;
        if (cap >= NIL) return -1;
        uint64_t *ids = realloc(d->ids, cap * sizeof *ids);
        if (!ids) return -1;
        d->ids = ids;
        uint64_t *sigs = realloc(d->sigs, cap * PERMS * sizeof *sigs);
        if (!sigs) return -1;
        d->sigs = sigs;
        d->cap = cap;
    }
    size_t fresh = d->n_free >= d->bands ? 0 : d->bands - d->n_free;
    if (d->n_nodes + fresh > d->cap_nodes) {
        size_t cap = d->cap_nodes ? d->cap_nodes : 256;
        while (cap < d->n_nodes + fresh)
            cap *= 2;
        if (cap >= NIL) return -1;
        node *nodes = realloc(d->nodes, cap * sizeof *nodes);
        if (!nodes) return -1;
        d->nodes = nodes;
        d->cap_nodes = cap;
    }
    return map_reserve(&d->by_id, 1) || map_reserve(&d->buckets, d->bands) ? -1 : 0;
}

static uint32_t node_new(rk_neardup *d, uint64_t id, uint32_t next) {
    uint32_t k;
    if (d->free_node != NIL) {
        k = d->free_node;
        d->free_node = d->nodes[k].next;
        d->n_free--;
    } else {
        k = (uint32_t)d->n_nodes++;
    }
    d->nodes[k] = (node){id, next};
    return k;
}

rk_status rk_neardup_add(rk_neardup *d, const char *text, size_t n, uint64_t id, rk_error *err) {
    uint64_t sig[PERMS];
    int has_words = signature(text, n, &d->perm, sig);
    /* Reserve before forgetting a previous text under id: failing changes nothing. */
    if (has_words && reserve(d))
        return rk_fail(err, RK_ENOMEM, "out of memory adding text %llu to the near-duplicate index",
                       (unsigned long long)id);
    rk_neardup_remove(d, id);
    if (!has_words) return RK_OK; /* it can never match, so it needs no place */
    size_t slot = d->n++;
    d->ids[slot] = id;
    memcpy(d->sigs + slot * PERMS, sig, sizeof sig);
    map_put(&d->by_id, id, (uint32_t)slot);
    for (size_t b = 0; b < d->bands; b++) {
        uint64_t key = band_key(d, sig, b);
        uint32_t *head = map_get(&d->buckets, key);
        if (head)
            *head = node_new(d, id, *head);
        else
            map_put(&d->buckets, key, node_new(d, id, NIL));
    }
    return RK_OK;
}

static void unlink_from_band(rk_neardup *d, uint64_t key, uint64_t id) {
    uint32_t *link = map_get(&d->buckets, key);
    if (!link) return;
    uint32_t *head = link;
    while (*link != NIL && d->nodes[*link].id != id)
        link = &d->nodes[*link].next;
    if (*link == NIL) return;
    uint32_t k = *link;
    if (link == head && d->nodes[k].next == NIL)
        map_del(&d->buckets, key); /* before the entry would read as free */
    else
        *link = d->nodes[k].next;
    d->nodes[k].next = d->free_node;
    d->free_node = k;
    d->n_free++;
}

void rk_neardup_remove(rk_neardup *d, uint64_t id) {
    const uint32_t *at = map_get(&d->by_id, id);
    if (!at) return;
    size_t slot = *at;
    for (size_t b = 0; b < d->bands; b++)
        unlink_from_band(d, band_key(d, d->sigs + slot * PERMS, b), id);
    map_del(&d->by_id, id);
    size_t last = --d->n;
    if (slot != last) { /* keep slots dense: the last one fills the hole */
        d->ids[slot] = d->ids[last];
        memcpy(d->sigs + slot * PERMS, d->sigs + last * PERMS, PERMS * sizeof *d->sigs);
        *map_get(&d->by_id, d->ids[slot]) = (uint32_t)slot;
    }
}

double rk_neardup_similarity(const char *a, size_t na, const char *b, size_t nb) {
    perms p;
    perms_init(&p);
    uint64_t sa[PERMS], sb[PERMS];
    if (!signature(a, na, &p, sa) || !signature(b, nb, &p, sb)) return 0;
    return (double)agreement(sa, sb) / PERMS;
}
