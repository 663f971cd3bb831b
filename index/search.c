/* search.c — building, updating, checking and querying a KB's indexes.
 *
 * meta "index:NAME" = {"factory", "metric": "ip"|"l2", "dim", "embedder": ID,
 *   "ntotal", "bytes", "kb_generation": G, "last_chunk": C, "shard": [I, N]
 *   (absent when whole), "train_sample", "seed"}: the index covers the chunks
 * up to id C that existed at generation G, so an update adds the chunks above
 * C and takes out the ids removed after G. */
#define _GNU_SOURCE
#include "raftkit/search.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Vectors go to FAISS, and into the KB, in groups, so memory stays bounded
 * and a failed embedding run keeps what it did. */
enum { GROUP = 4096, TRAIN_DEFAULT = 100000, EXAMPLES = 5 };

static void index_key(char *key, size_t cap, const char *name) { snprintf(key, cap, "index:%s", name); }

static const char *metric_name(rk_metric m) { return m == RK_METRIC_IP ? "ip" : "l2"; }

/* ---- chunk ids ---- */

typedef struct ids {
    uint64_t *v;
    size_t n, cap;
} ids;

static rk_status ids_push(ids *a, uint64_t id, rk_error *err) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 1024;
        uint64_t *nv = realloc(a->v, cap * sizeof *nv);
        if (!nv) return rk_fail(err, RK_ENOMEM, "out of memory");
        a->v = nv;
        a->cap = cap;
    }
    a->v[a->n++] = id;
    return RK_OK;
}

/* The chunks a build or update works on: those in the shard above `after`. */
typedef struct scan {
    ids all, shard;
    uint64_t after;
    int shard_i, nshards;
    uint64_t last; /* the largest chunk id seen */
} scan;

static int in_shard(const scan *c, uint64_t id) {
    return c->nshards <= 1 || id % (uint64_t)c->nshards == (uint64_t)(c->shard_i - 1);
}

static rk_status scan_chunk(const rk_chunk *c, void *vctx, rk_error *err) {
    scan *sc = vctx;
    if (c->id > sc->last) sc->last = c->id;
    if (c->id <= sc->after) return RK_OK;
    rk_status s = ids_push(&sc->all, c->id, err);
    if (!s && in_shard(sc, c->id)) s = ids_push(&sc->shard, c->id, err);
    return s;
}

/* ---- embedding what has no vector yet ---- */

/* Embeds the chunks of ids[0..n) that have no vector of e, GROUP at a time,
 * each group's vectors committed with e's record, so that a failure keeps the
 * groups before it (and the part of its own group before the failed text). */
static rk_status embed_missing(rk_kb *kb, rk_embedder *e, const uint64_t *ids, size_t n, rk_build_report *rep,
                               rk_error *err);

typedef struct group {
    rk_embedder *e;
    uint64_t *ids;
    float *vec;
    size_t n;
    int save; /* the run's first group also records the embedder (its tables are megabytes) */
} group;

static rk_status write_group(rk_kb_txn *txn, void *vctx, rk_error *err) {
    group *g = vctx;
    rk_status s = g->save ? rk_embedder_save(g->e, txn, err) : RK_OK;
    for (size_t i = 0; !s && i < g->n; i++)
        s = rk_kb_vector_put(txn, rk_embedder_key(g->e), g->ids[i],
                             g->vec + i * (size_t)rk_embedder_dim(g->e), (size_t)rk_embedder_dim(g->e), err);
    return s;
}

static rk_status embed_missing(rk_kb *kb, rk_embedder *e, const uint64_t *ids, size_t n, rk_build_report *rep,
                               rk_error *err) {
    size_t dim = (size_t)rk_embedder_dim(e);
    uint64_t key = rk_embedder_key(e);
    uint64_t *miss = malloc(GROUP * sizeof *miss);
    char **texts = calloc(GROUP, sizeof *texts);
    size_t *lens = malloc(GROUP * sizeof *lens);
    float *vec = malloc(GROUP * dim * sizeof *vec);
    rk_status s = miss && texts && lens && vec ? RK_OK : rk_fail(err, RK_ENOMEM, "out of memory");
    int saved = 0;
    for (size_t at = 0; !s && at < n; at += GROUP) {
        size_t m = n - at < GROUP ? n - at : GROUP, nmiss = 0;
        rk_kb_txn *txn;
        if ((s = rk_kb_read_begin(kb, &txn, err))) break;
        for (size_t i = 0; !s && i < m; i++) {
            rk_status g = rk_kb_vector_get(txn, key, ids[at + i], vec, dim, NULL);
            if (g == RK_OK) {
                rep->reused++;
                continue;
            }
            rk_chunk c;
            if ((s = rk_kb_chunk_get(txn, ids[at + i], &c, err)) == RK_ENOTFOUND) {
                s = RK_OK; /* removed since the ids were listed: nothing to embed */
                continue;
            }
            if (s) break;
            if (!(texts[nmiss] = strndup(c.text, c.text_len))) s = rk_fail(err, RK_ENOMEM, "out of memory");
            lens[nmiss] = c.text_len;
            miss[nmiss++] = ids[at + i];
        }
        rk_kb_read_end(txn);
        size_t failed = nmiss;
        if (!s && nmiss) {
            s = rk_embedder_embed(e, nmiss, (const char *const *)texts, lens, vec, &failed, err);
            if (s) s = rk_fail_prefix(err, "chunk %llu", (unsigned long long)miss[failed]);
            group g = {e, miss, vec, s ? failed : nmiss, !saved};
            rk_error werr = {0};
            rk_status w = g.n ? rk_kb_write(kb, write_group, &g, s ? &werr : err) : RK_OK;
            if (!s) s = w;
            if (!w && g.n) {
                rep->embedded += g.n;
                saved = 1;
            }
        }
        for (size_t i = 0; i < nmiss; i++) {
            free(texts[i]);
            texts[i] = NULL;
        }
    }
    free(miss);
    free(texts);
    free(lens);
    free(vec);
    return s;
}

/* ---- reading vectors back ---- */

/* Reads the vectors of ids[0..n) into x, dropping (in place, from ids too)
 * the chunks deleted since the ids were listed; *kept gets how many stay. */
static rk_status read_vectors(rk_kb_txn *txn, uint64_t key, size_t dim, uint64_t *ids, size_t n, float *x,
                              size_t *kept, rk_error *err) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        rk_status s = rk_kb_vector_get(txn, key, ids[i], x + k * dim, dim, err);
        if (s == RK_ENOTFOUND) continue; /* its chunk went (the vector goes with it) */
        if (s) return s;
        ids[k++] = ids[i];
    }
    *kept = k;
    return RK_OK;
}

/* Adds the vectors of ids[0..n) to ix, GROUP at a time; *added gets how many. */
static rk_status add_vectors(rk_kb_txn *txn, rk_vindex *ix, uint64_t key, const uint64_t *ids, size_t n,
                             uint64_t *added, rk_error *err) {
    size_t dim = (size_t)rk_vindex_dim(ix);
    float *x = malloc(GROUP * dim * sizeof *x);
    uint64_t *batch = malloc(GROUP * sizeof *batch);
    rk_status s = x && batch ? RK_OK : rk_fail(err, RK_ENOMEM, "out of memory");
    *added = 0;
    for (size_t at = 0; !s && at < n; at += GROUP) {
        size_t m = n - at < GROUP ? n - at : GROUP, kept;
        memcpy(batch, ids + at, m * sizeof *batch);
        s = read_vectors(txn, key, dim, batch, m, x, &kept, err);
        if (!s && kept) s = rk_vindex_add(ix, kept, x, batch, err);
        if (!s) *added += kept;
    }
    free(x);
    free(batch);
    return s;
}

/* ---- build ---- */

typedef struct build {
    const rk_build_opts *o;
    const char *name, *factory;
    rk_embedder *e;
    scan sc;
    uint64_t generation;
    uint64_t *train; /* the seeded training sample, over every chunk */
    size_t ntrain;
    const char *replaced; /* the embedder the index had, when --rebuild changes it */
    rk_build_report *rep;
} build;

/* Picks min(want, n) of ids with a seeded Fisher-Yates shuffle (splitmix64),
 * so the same KB and seed train the same index. */
static uint64_t *sample(const uint64_t *v, size_t n, size_t want, uint64_t seed, size_t *out_n) {
    uint64_t *a = malloc((n ? n : 1) * sizeof *a);
    if (!a) return NULL;
    memcpy(a, v, n * sizeof *a);
    size_t m = want < n ? want : n;
    uint64_t z = seed;
    for (size_t i = 0; i < m; i++) {
        z += 0x9e3779b97f4a7c15ull;
        uint64_t r = z;
        r = (r ^ (r >> 30)) * 0xbf58476d1ce4e5b9ull;
        r = (r ^ (r >> 27)) * 0x94d049bb133111ebull;
        r ^= r >> 31;
        size_t j = i + (size_t)(r % (n - i));
        uint64_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
    *out_n = m;
    return a;
}

static rk_status put_spec(rk_kb_txn *txn, const char *name, const char *factory, rk_metric metric,
                          const rk_embedder *e, const rk_vindex *ix, size_t bytes, uint64_t generation,
                          uint64_t last, int shard, int nshards, json_t *extra, rk_error *err) {
    char key[300];
    index_key(key, sizeof key, name);
    json_t *spec = json_pack("{sssssisssIsIsIsI}", "factory", factory, "metric", metric_name(metric), "dim",
                             rk_vindex_dim(ix), "embedder", rk_embedder_id(e), "ntotal",
                             (json_int_t)rk_vindex_size(ix), "bytes", (json_int_t)bytes, "kb_generation",
                             (json_int_t)generation, "last_chunk", (json_int_t)last);
    if (spec && nshards > 1) json_object_set_new(spec, "shard", json_pack("[ii]", shard, nshards));
    if (spec && extra) json_object_update(spec, extra);
    rk_status s = spec ? rk_kb_meta_put(txn, key, spec, err) : rk_fail(err, RK_ENOMEM, "out of memory");
    json_decref(spec);
    return s;
}

/* Deletes embedder id's record and vectors when no index uses it any more. */
typedef struct uses {
    const char *id;
    int used;
} uses;

static rk_status count_use(const char *key, json_t *spec, void *ctx, rk_error *err) {
    (void)key, (void)err;
    uses *u = ctx;
    const char *id = json_string_value(json_object_get(spec, "embedder"));
    if (id && !strcmp(id, u->id)) u->used = 1;
    return RK_OK;
}

typedef struct drop_ctx {
    uint64_t key;
    ids ids;
} drop_ctx;

static rk_status list_vector(uint64_t embedder, uint64_t id, size_t dim, void *ctx, rk_error *err) {
    (void)dim;
    drop_ctx *d = ctx;
    return embedder == d->key ? ids_push(&d->ids, id, err) : RK_OK;
}

static rk_status drop_if_unused(rk_kb_txn *txn, const char *id, rk_error *err) {
    uses u = {id, 0};
    rk_status s = rk_kb_meta_foreach(txn, "index:", count_use, &u, err);
    if (s || u.used) return s;
    drop_ctx d = {strtoull(id, NULL, 16), {0}};
    s = rk_kb_vector_foreach(txn, list_vector, &d, err);
    for (size_t i = 0; !s && i < d.ids.n; i++)
        s = rk_kb_vector_delete(txn, d.key, d.ids.v[i], err);
    free(d.ids.v);
    return s ? s : rk_embedder_delete(txn, id, err);
}

static rk_status build_txn(rk_kb_txn *txn, void *vctx, rk_error *err) {
    build *b = vctx;
    const rk_build_opts *o = b->o;
    uint64_t key = rk_embedder_key(b->e);
    size_t dim = (size_t)rk_embedder_dim(b->e);
    rk_vindex *ix = NULL;
    float *x = NULL;
    rk_status s = rk_vindex_create(b->factory, (int)dim, o->metric, &ix, err);
    b->rep->trained_on = 0;
    if (!s && !rk_vindex_is_trained(ix)) {
        uint64_t *t = malloc((b->ntrain ? b->ntrain : 1) * sizeof *t);
        size_t kept = 0;
        if (!t || !(x = malloc((b->ntrain ? b->ntrain : 1) * dim * sizeof *x)))
            s = rk_fail(err, RK_ENOMEM, "out of memory for %zu training vectors", b->ntrain);
        if (!s) {
            memcpy(t, b->train, b->ntrain * sizeof *t);
            s = read_vectors(txn, key, dim, t, b->ntrain, x, &kept, err);
        }
        size_t need = ix ? rk_vindex_min_train(ix) : 0;
        if (!s && kept < need)
            s = rk_fail(err, RK_EINVAL,
                        "index %s needs at least %zu training vectors, but the KB has %zu chunks%s",
                        b->factory, need, kept,
                        o->train_sample && o->train_sample < need ? " (and --train-sample is lower)" : "");
        if (!s) s = rk_vindex_train(ix, kept, x, err);
        b->rep->trained_on = kept;
        free(t);
    }
    if (!s) s = add_vectors(txn, ix, key, b->sc.shard.v, b->sc.shard.n, &b->rep->added, err);
    size_t bytes = 0;
    if (!s) s = rk_vindex_save(ix, txn, b->name, &bytes, err);
    json_t *extra =
        json_pack("{sIsI}", "train_sample", (json_int_t)b->rep->trained_on, "seed", (json_int_t)o->seed);
    if (!s)
        s = put_spec(txn, b->name, b->factory, o->metric, b->e, ix, bytes, b->generation, b->sc.last,
                     o->shard, o->nshards, extra, err);
    json_decref(extra);
    if (!s && b->replaced) s = drop_if_unused(txn, b->replaced, err);
    if (!s) {
        b->rep->vectors = rk_vindex_size(ix);
        b->rep->bytes = bytes;
    }
    free(x);
    rk_vindex_free(ix);
    return s;
}

/* An embedder recorded in the KB that makes what o asks for. */
typedef struct find_ctx {
    const rk_embed_opts *o;
    char id[17];
} find_ctx;

static rk_status match_embedder(const char *key, json_t *spec, void *vctx, rk_error *err) {
    (void)err;
    find_ctx *f = vctx;
    const rk_embed_opts *o = f->o;
    const char *name = json_string_value(json_object_get(spec, "name"));
    const char *want = o->spec ? o->spec : "hash";
    json_int_t dim = json_integer_value(json_object_get(spec, "dim"));
    int same = 0;
    if (name && !strcmp(name, "hash") && !strcmp(want, "hash"))
        same = dim == (o->dim ? o->dim : 1024) &&
               json_real_value(json_object_get(spec, "k1")) == (o->k1 > 0 ? o->k1 : 1.2) &&
               json_real_value(json_object_get(spec, "b")) == (o->b >= 0 ? o->b : 0.75);
    if (name && !strcmp(name, "http") && !strncmp(want, "http:", 5)) {
        const char *url = json_string_value(json_object_get(spec, "url"));
        const char *model = json_string_value(json_object_get(spec, "model"));
        same = url && !strcmp(url, want + 5) && (!o->dim || dim == o->dim) &&
               (model && o->model ? !strcmp(model, o->model) : !model && !o->model);
    }
    if (same && !f->id[0]) snprintf(f->id, sizeof f->id, "%s", key + strlen("embedder:"));
    return RK_OK;
}

/* What the build starts from: the index as it stands, and the embedder. */
static rk_status prepare(rk_kb *kb, build *b, rk_error *err) {
    const rk_build_opts *o = b->o;
    rk_kb_txn *txn;
    rk_status s = rk_kb_read_begin(kb, &txn, err);
    if (s) return s;
    char key[300];
    index_key(key, sizeof key, b->name);
    json_t *old = NULL;
    find_ctx f = {&o->embed, ""};
    s = rk_kb_meta_get(txn, key, &old, err);
    if (s == RK_ENOTFOUND) s = RK_OK;
    if (!s && !o->rebuild) s = rk_kb_meta_foreach(txn, "embedder:", match_embedder, &f, err);
    if (!s)
        s = f.id[0] ? rk_embedder_load(txn, f.id, &o->embed, &b->e, err)
                    : rk_embedder_new(txn, &o->embed, &b->e, err);
    if (!s && old) {
        const char *factory = json_string_value(json_object_get(old, "factory"));
        const char *metric = json_string_value(json_object_get(old, "metric"));
        const char *emb = json_string_value(json_object_get(old, "embedder"));
        int same = factory && !strcmp(factory, b->factory) && metric &&
                   !strcmp(metric, metric_name(o->metric)) && emb && !strcmp(emb, rk_embedder_id(b->e));
        if (!same && !o->rebuild)
            s = rk_fail(err, RK_ESTATE,
                        "%s: index \"%s\" was built as %s (%s) with embedder %s; this build asks for %s (%s) "
                        "with %s; pass --rebuild to replace it",
                        rk_kb_path(kb), b->name, factory ? factory : "?", metric ? metric : "?",
                        emb ? emb : "?", b->factory, metric_name(o->metric), rk_embedder_id(b->e));
        if (!s && emb && strcmp(emb, rk_embedder_id(b->e)) && !(b->replaced = strdup(emb)))
            s = rk_fail(err, RK_ENOMEM, "out of memory");
    }
    if (!s) s = rk_kb_generation(txn, &b->generation, err);
    b->sc.shard_i = o->shard;
    b->sc.nshards = o->nshards;
    if (!s) s = rk_kb_chunk_foreach(txn, scan_chunk, &b->sc, err);
    json_decref(old);
    rk_kb_read_end(txn);
    if (!s && b->sc.shard.n == 0)
        s = rk_fail(err, RK_ESTATE, "%s: the KB has no chunks%s; run 'raft-ingest' first", rk_kb_path(kb),
                    o->nshards > 1 ? " in this shard" : "");
    return s;
}

rk_status rk_index_build(rk_kb *kb, const rk_build_opts *o, rk_build_report *rep, rk_error *err) {
    build b = {.o = o,
               .name = o->name ? o->name : "default",
               .factory = o->factory ? o->factory : "Flat",
               .rep = rep};
    *rep = (rk_build_report){0};
    if (strlen(b.name) == 0 || strlen(b.name) > 200)
        return rk_fail(err, RK_EINVAL, "index name must have 1 to 200 bytes");
    if (o->nshards > 1 && (o->shard < 1 || o->shard > o->nshards))
        return rk_fail(err, RK_EINVAL, "shard %d of %d: must be in 1..%d", o->shard, o->nshards, o->nshards);
    char shard_name[220];
    if (o->nshards > 1) {
        snprintf(shard_name, sizeof shard_name, "%s.%d", b.name, o->shard);
        b.name = shard_name;
    }
    rk_status s = prepare(kb, &b, err);
    /* Training draws on every chunk, so that the shards of one index train alike. */
    if (!s && !(b.train = sample(b.sc.all.v, b.sc.all.n, o->train_sample ? o->train_sample : TRAIN_DEFAULT,
                                 o->seed, &b.ntrain)))
        s = rk_fail(err, RK_ENOMEM, "out of memory");
    if (!s) snprintf(rep->embedder, sizeof rep->embedder, "%s", rk_embedder_describe(b.e));
    if (!s) s = embed_missing(kb, b.e, b.sc.shard.v, b.sc.shard.n, rep, err);
    if (!s && o->nshards > 1) s = embed_missing(kb, b.e, b.train, b.ntrain, &(rk_build_report){0}, err);
    if (!s) s = rk_kb_write(kb, build_txn, &b, err);
    rk_embedder_free(b.e);
    free(b.sc.all.v);
    free(b.sc.shard.v);
    free(b.train);
    free((char *)b.replaced);
    return s;
}

/* ---- update ---- */

typedef struct update {
    const char *name;
    json_t *spec;
    rk_embedder *e;
    scan sc;
    uint64_t generation;
    ids gone;
    rk_build_report *rep;
} update;

static rk_status note_removed(uint64_t id, uint64_t generation, void *vctx, rk_error *err) {
    update *u = vctx;
    json_int_t since = json_integer_value(json_object_get(u->spec, "kb_generation"));
    return generation > (uint64_t)since && in_shard(&u->sc, id) ? ids_push(&u->gone, id, err) : RK_OK;
}

static rk_status update_txn(rk_kb_txn *txn, void *vctx, rk_error *err) {
    update *u = vctx;
    const char *factory = json_string_value(json_object_get(u->spec, "factory"));
    rk_metric metric =
        strcmp(json_string_value(json_object_get(u->spec, "metric")), "l2") ? RK_METRIC_IP : RK_METRIC_L2;
    rk_vindex *ix = NULL;
    size_t removed = 0, bytes = 0;
    rk_status s = rk_vindex_load(txn, u->name, factory, &ix, err);
    if (!s && u->gone.n) s = rk_vindex_remove(ix, u->gone.n, u->gone.v, &removed, err);
    if (!s)
        s = add_vectors(txn, ix, rk_embedder_key(u->e), u->sc.shard.v, u->sc.shard.n, &u->rep->added, err);
    if (!s) s = rk_vindex_save(ix, txn, u->name, &bytes, err);
    json_t *shard = json_object_get(u->spec, "shard");
    json_t *extra = json_pack("{sOsO}", "train_sample", json_object_get(u->spec, "train_sample"), "seed",
                              json_object_get(u->spec, "seed"));
    if (!s)
        s = put_spec(txn, u->name, factory, metric, u->e, ix, bytes, u->generation, u->sc.last,
                     (int)json_integer_value(json_array_get(shard, 0)),
                     (int)json_integer_value(json_array_get(shard, 1)), extra, err);
    json_decref(extra);
    if (!s) {
        u->rep->removed = removed;
        u->rep->vectors = rk_vindex_size(ix);
        u->rep->bytes = bytes;
    }
    rk_vindex_free(ix);
    return s;
}

/* Loads index name's spec and embedder, refusing an embedder o names that is another one. */
static rk_status open_index(rk_kb_txn *txn, const char *name, const rk_embed_opts *o, json_t **spec,
                            rk_embedder **e, rk_error *err) {
    char key[300];
    index_key(key, sizeof key, name);
    rk_status s = rk_kb_meta_get(txn, key, spec, err);
    if (s == RK_ENOTFOUND)
        return rk_fail(err, RK_ESTATE, "%s: no index \"%s\"; run 'raft-index build --kb %s --name %s' first",
                       rk_kb_txn_path(txn), name, rk_kb_txn_path(txn), name);
    if (s) return s;
    const char *id = json_string_value(json_object_get(*spec, "embedder"));
    s = id ? rk_embedder_load(txn, id, o, e, err)
           : rk_fail(err, RK_EFORMAT, "%s: index \"%s\" names no embedder", rk_kb_txn_path(txn), name);
    if (!s && o && o->spec) {
        const char *kind = json_string_value(json_object_get(rk_embedder_spec(*e), "name"));
        const char *url = json_string_value(json_object_get(rk_embedder_spec(*e), "url"));
        int same = !strncmp(o->spec, "http:", 5) ? url && !strcmp(o->spec + 5, url) : !strcmp(kind, o->spec);
        if (!same)
            s = rk_fail(err, RK_ESTATE, "%s: index \"%s\" holds vectors of embedder %s, not %s; use that one",
                        rk_kb_txn_path(txn), name, rk_embedder_describe(*e), o->spec);
    }
    if (s) {
        rk_embedder_free(*e);
        *e = NULL;
        json_decref(*spec);
        *spec = NULL;
    }
    return s;
}

rk_status rk_index_update(rk_kb *kb, const char *name, const rk_embed_opts *o, rk_build_report *rep,
                          rk_error *err) {
    update u = {.name = name, .rep = rep};
    *rep = (rk_build_report){0};
    rk_kb_txn *txn;
    rk_status s = rk_kb_read_begin(kb, &txn, err);
    if (s) return s;
    s = open_index(txn, name, o, &u.spec, &u.e, err);
    if (!s) {
        json_t *shard = json_object_get(u.spec, "shard");
        u.sc.shard_i = (int)json_integer_value(json_array_get(shard, 0));
        u.sc.nshards = (int)json_integer_value(json_array_get(shard, 1));
        u.sc.after = (uint64_t)json_integer_value(json_object_get(u.spec, "last_chunk"));
        s = rk_kb_generation(txn, &u.generation, err);
    }
    if (!s) s = rk_kb_chunk_foreach(txn, scan_chunk, &u.sc, err);
    if (!s) s = rk_kb_removed_foreach(txn, note_removed, &u, err);
    rk_kb_read_end(txn);
    if (u.sc.last < u.sc.after) u.sc.last = u.sc.after;
    if (!s) snprintf(rep->embedder, sizeof rep->embedder, "%s", rk_embedder_describe(u.e));
    if (!s) s = embed_missing(kb, u.e, u.sc.shard.v, u.sc.shard.n, rep, err);
    if (!s) s = rk_kb_write(kb, update_txn, &u, err);
    rk_embedder_free(u.e);
    json_decref(u.spec);
    free(u.sc.all.v);
    free(u.sc.shard.v);
    free(u.gone.v);
    return s;
}

/* ---- merge ---- */

typedef struct merge {
    const char *name;
    int nshards;
    json_t *specs; /* of the shards, in order */
    rk_build_report *rep;
} merge;

/* The fields every shard of one index shares: then they trained alike. */
static const char *const SHARED[] = {"factory",    "metric",       "dim",  "embedder", "kb_generation",
                                     "last_chunk", "train_sample", "seed", NULL};

static rk_status merge_txn(rk_kb_txn *txn, void *vctx, rk_error *err) {
    merge *m = vctx;
    json_t *first = json_array_get(m->specs, 0);
    const char *factory = json_string_value(json_object_get(first, "factory"));
    rk_vindex *ix = NULL, *part = NULL;
    char shard[220], key[300];
    rk_status s = RK_OK;
    for (int i = 1; !s && i <= m->nshards; i++) {
        snprintf(shard, sizeof shard, "%s.%d", m->name, i);
        s = rk_vindex_load(txn, shard, factory, i == 1 ? &ix : &part, err);
        if (!s && i > 1) s = rk_vindex_merge(ix, part, err);
        if (s) s = rk_fail_prefix(err, "index \"%s\"", shard);
        rk_vindex_free(part);
        part = NULL;
        index_key(key, sizeof key, shard);
        if (!s) s = rk_kb_meta_delete(txn, key, err);
        if (!s) s = rk_kb_blob_delete(txn, RK_BLOB_FAISS, shard, err);
    }
    size_t bytes = 0;
    if (!s) s = rk_vindex_save(ix, txn, m->name, &bytes, err);
    json_t *spec = json_deep_copy(first);
    if (!s && !spec) s = rk_fail(err, RK_ENOMEM, "out of memory");
    if (!s) {
        json_object_del(spec, "shard");
        json_object_set_new(spec, "ntotal", json_integer((json_int_t)rk_vindex_size(ix)));
        json_object_set_new(spec, "bytes", json_integer((json_int_t)bytes));
        index_key(key, sizeof key, m->name);
        s = rk_kb_meta_put(txn, key, spec, err);
    }
    if (!s) {
        m->rep->vectors = m->rep->added = rk_vindex_size(ix);
        m->rep->bytes = bytes;
    }
    json_decref(spec);
    rk_vindex_free(ix);
    return s;
}

rk_status rk_index_merge(rk_kb *kb, const char *name, int nshards, rk_build_report *rep, rk_error *err) {
    *rep = (rk_build_report){0};
    if (nshards < 2) return rk_fail(err, RK_EINVAL, "merging needs at least 2 shards, got %d", nshards);
    merge m = {name, nshards, json_array(), rep};
    rk_kb_txn *txn;
    rk_status s = m.specs ? rk_kb_read_begin(kb, &txn, err) : rk_fail(err, RK_ENOMEM, "out of memory");
    if (s) {
        json_decref(m.specs);
        return s;
    }
    char key[300];
    for (int i = 1; !s && i <= nshards; i++) {
        json_t *spec = NULL;
        snprintf(key, sizeof key, "index:%s.%d", name, i);
        s = rk_kb_meta_get(txn, key, &spec, err);
        if (s == RK_ENOTFOUND)
            s = rk_fail(err, RK_ESTATE, "%s: no shard \"%s.%d\"; build it with --name %s --shard %d/%d",
                        rk_kb_path(kb), name, i, name, i, nshards);
        json_t *sh = json_object_get(spec, "shard");
        if (!s && (json_integer_value(json_array_get(sh, 0)) != i ||
                   json_integer_value(json_array_get(sh, 1)) != nshards))
            s = rk_fail(err, RK_ESTATE, "%s: index \"%s.%d\" is not shard %d of %d", rk_kb_path(kb), name, i,
                        i, nshards);
        for (const char *const *f = SHARED; !s && *f; f++)
            if (i > 1 &&
                !json_equal(json_object_get(spec, *f), json_object_get(json_array_get(m.specs, 0), *f)))
                s = rk_fail(err, RK_ESTATE,
                            "%s: shards \"%s.1\" and \"%s.%d\" differ in %s: they were built from different "
                            "KB states or settings; build them again",
                            rk_kb_path(kb), name, name, i, *f);
        if (spec) json_array_append_new(m.specs, spec);
    }
    rk_kb_read_end(txn);
    if (!s) s = rk_kb_write(kb, merge_txn, &m, err);
    json_decref(m.specs);
    return s;
}

/* ---- verify ---- */

typedef struct verify {
    rk_kb_txn *txn;
    json_t *problems;
    json_t *embedders; /* id -> {"dim", "vectors": [ids]} of the embedders the KB records */
    size_t vectors;
    ids orphans, strays; /* vectors without a chunk; vectors of an unrecorded embedder */
} verify;

static rk_status problem(verify *v, rk_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static rk_status problem(verify *v, rk_error *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0 || json_array_append_new(v->problems, json_string(text))) {
        free(n < 0 ? NULL : text);
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    free(text);
    return RK_OK;
}

/* " (ids 3, 7, 9, ...)" for the first EXAMPLES ids. */
static void examples(char *buf, size_t cap, const uint64_t *v, size_t n) {
    size_t at = (size_t)snprintf(buf, cap, " (id%s", n > 1 ? "s" : "");
    for (size_t i = 0; i < n && i < EXAMPLES && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s %llu", i ? "," : "", (unsigned long long)v[i]);
    if (at < cap) snprintf(buf + at, cap - at, "%s)", n > EXAMPLES ? ", ..." : "");
}

static rk_status note_embedder(const char *key, json_t *spec, void *vctx, rk_error *err) {
    verify *v = vctx;
    json_t *e = json_pack("{sOs[]}", "dim", json_object_get(spec, "dim"), "vectors");
    if (!e || json_object_set_new(v->embedders, key + strlen("embedder:"), e))
        return rk_fail(err, RK_ENOMEM, "out of memory");
    return RK_OK;
}

static rk_status check_vector(uint64_t embedder, uint64_t id, size_t dim, void *vctx, rk_error *err) {
    verify *v = vctx;
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)embedder);
    json_t *e = json_object_get(v->embedders, hex);
    rk_chunk c;
    rk_status s = rk_kb_chunk_get(v->txn, id, &c, err);
    v->vectors++;
    if (s == RK_ENOTFOUND) return ids_push(&v->orphans, id, err);
    if (s) return s;
    if (!e) return ids_push(&v->strays, id, err);
    if ((json_int_t)dim != json_integer_value(json_object_get(e, "dim")))
        return problem(v, err, "vector of chunk %llu for embedder %s has %zu numbers, the embedder %lld",
                       (unsigned long long)id, hex, dim,
                       (long long)json_integer_value(json_object_get(e, "dim")));
    return json_array_append_new(json_object_get(e, "vectors"), json_integer((json_int_t)id))
               ? rk_fail(err, RK_ENOMEM, "out of memory")
               : RK_OK;
}

typedef struct index_check {
    verify *v;
    ids chunks; /* every chunk id */
    size_t indexes;
} index_check;

static rk_status list_chunk(const rk_chunk *c, void *vctx, rk_error *err) {
    return ids_push(&((index_check *)vctx)->chunks, c->id, err);
}

/* Compares sorted a (what should be) with sorted b (what is): counts and examples both ways. */
static rk_status compare(verify *v, const char *what, const char *missing_from, const uint64_t *a, size_t na,
                         const uint64_t *b, size_t nb, rk_error *err) {
    ids miss = {0}, extra = {0};
    rk_status s = RK_OK;
    size_t i = 0, j = 0;
    while (!s && (i < na || j < nb)) {
        if (j >= nb || (i < na && a[i] < b[j]))
            s = ids_push(&miss, a[i++], err);
        else if (i >= na || b[j] < a[i])
            s = ids_push(&extra, b[j++], err);
        else
            i++, j++;
    }
    char ex[128];
    if (!s && miss.n) {
        examples(ex, sizeof ex, miss.v, miss.n);
        s = problem(v, err, "%s: %zu %s%s", what, miss.n, missing_from, ex);
    }
    if (!s && extra.n) {
        examples(ex, sizeof ex, extra.v, extra.n);
        s = problem(v, err, "%s: %zu ids that should not be there%s", what, extra.n, ex);
    }
    free(miss.v);
    free(extra.v);
    return s;
}

static rk_status check_index(const char *key, json_t *spec, void *vctx, rk_error *err) {
    index_check *c = vctx;
    verify *v = c->v;
    const char *name = key + strlen("index:");
    c->indexes++;
    const char *id = json_string_value(json_object_get(spec, "embedder"));
    json_t *e = id ? json_object_get(v->embedders, id) : NULL;
    if (!e) return problem(v, err, "index \"%s\": its embedder %s is not recorded", name, id ? id : "(none)");
    json_t *shard = json_object_get(spec, "shard");
    scan sc = {.shard_i = (int)json_integer_value(json_array_get(shard, 0)),
               .nshards = (int)json_integer_value(json_array_get(shard, 1))};
    /* What the index should hold: the vectors of its embedder in its shard. */
    ids want = {0}, chunks = {0};
    rk_status s = RK_OK;
    size_t i;
    json_t *jid;
    json_array_foreach(json_object_get(e, "vectors"), i, jid) {
        if (!s && in_shard(&sc, (uint64_t)json_integer_value(jid)))
            s = ids_push(&want, (uint64_t)json_integer_value(jid), err);
    }
    for (size_t k = 0; !s && k < c->chunks.n; k++)
        if (in_shard(&sc, c->chunks.v[k])) s = ids_push(&chunks, c->chunks.v[k], err);
    char what[300];
    snprintf(what, sizeof what, "index \"%s\" (embedder %s)", name, id);
    if (!s)
        s = compare(v, what, "chunks without a vector (run 'raft-index update')", chunks.v, chunks.n, want.v,
                    want.n, err);
    rk_vindex *ix = NULL;
    uint64_t *held = NULL;
    size_t nheld = 0;
    if (!s) {
        rk_error lerr = {0};
        if (rk_vindex_load(v->txn, name, json_string_value(json_object_get(spec, "factory")), &ix, &lerr) ||
            rk_vindex_ids(ix, &held, &nheld, &lerr))
            s = problem(v, err, "index \"%s\": cannot be read: %s", name, lerr.msg);
        else
            s = compare(v, what, "vector ids missing from the FAISS index", want.v, want.n, held, nheld, err);
    }
    free(held);
    rk_vindex_free(ix);
    free(want.v);
    free(chunks.v);
    return s;
}

rk_status rk_index_verify(rk_kb *kb, json_t **report, rk_error *err) {
    verify v = {.problems = json_array(), .embedders = json_object()};
    index_check c = {&v, {0}, 0};
    if (!v.problems || !v.embedders) return rk_fail(err, RK_ENOMEM, "out of memory");
    rk_status s = rk_kb_read_begin(kb, &v.txn, err);
    if (!s) s = rk_kb_meta_foreach(v.txn, "embedder:", note_embedder, &v, err);
    if (!s) s = rk_kb_vector_foreach(v.txn, check_vector, &v, err);
    char ex[128];
    if (!s && v.orphans.n) {
        examples(ex, sizeof ex, v.orphans.v, v.orphans.n);
        s = problem(&v, err, "%zu vectors of chunks that do not exist%s", v.orphans.n, ex);
    }
    if (!s && v.strays.n) {
        examples(ex, sizeof ex, v.strays.v, v.strays.n);
        s = problem(&v, err, "%zu vectors of an embedder the KB does not record%s", v.strays.n, ex);
    }
    if (!s) s = rk_kb_chunk_foreach(v.txn, list_chunk, &c, err);
    if (!s) s = rk_kb_meta_foreach(v.txn, "index:", check_index, &c, err);
    rk_kb_read_end(v.txn);
    free(c.chunks.v);
    free(v.orphans.v);
    free(v.strays.v);
    json_decref(v.embedders);
    if (s) {
        json_decref(v.problems);
        return s;
    }
    *report = json_pack("{sIsIso}", "indexes", (json_int_t)c.indexes, "vectors", (json_int_t)v.vectors,
                        "problems", v.problems);
    return *report ? RK_OK : rk_fail(err, RK_ENOMEM, "out of memory");
}

/* ---- queries ---- */

struct rk_searcher {
    rk_kb *kb;
    rk_embedder *e;
    rk_vindex *ix;
    int stale;
};

rk_status rk_searcher_open(rk_kb *kb, const char *name, const rk_embed_opts *o, rk_searcher **out,
                           rk_error *err) {
    rk_searcher *sr = calloc(1, sizeof *sr);
    if (!sr) return rk_fail(err, RK_ENOMEM, "out of memory");
    sr->kb = kb;
    rk_kb_txn *txn = NULL;
    json_t *spec = NULL;
    rk_status s = rk_kb_read_begin(kb, &txn, err);
    if (!s) s = open_index(txn, name, o, &spec, &sr->e, err);
    if (!s) s = rk_vindex_load(txn, name, json_string_value(json_object_get(spec, "factory")), &sr->ix, err);
    uint64_t gen = 0;
    if (!s) s = rk_kb_generation(txn, &gen, err);
    if (!s) {
        sr->stale = (uint64_t)json_integer_value(json_object_get(spec, "kb_generation")) != gen;
        if (rk_vindex_dim(sr->ix) != rk_embedder_dim(sr->e))
            s = rk_fail(err, RK_EFORMAT, "%s: index \"%s\" has dimension %d but its embedder %d",
                        rk_kb_path(kb), name, rk_vindex_dim(sr->ix), rk_embedder_dim(sr->e));
    }
    json_decref(spec);
    rk_kb_read_end(txn);
    if (s) {
        rk_searcher_close(sr);
        return s;
    }
    *out = sr;
    return RK_OK;
}

void rk_searcher_close(rk_searcher *sr) {
    if (!sr) return;
    rk_embedder_free(sr->e);
    rk_vindex_free(sr->ix);
    free(sr);
}

rk_status rk_searcher_set_params(rk_searcher *sr, const char *params, rk_error *err) {
    return rk_vindex_set_params(sr->ix, params, err);
}

int rk_searcher_stale(const rk_searcher *sr) { return sr->stale; }

rk_status rk_searcher_query(rk_searcher *sr, size_t nq, const char *const *texts, size_t k, rk_hit *hits,
                            size_t *counts, rk_error *err) {
    for (size_t i = 0; i < nq; i++)
        counts[i] = 0;
    if (k == 0 || nq == 0) return RK_OK;
    size_t dim = (size_t)rk_embedder_dim(sr->e);
    float *q = malloc(nq * dim * sizeof *q), *scores = malloc(nq * k * sizeof *scores);
    int64_t *ids = malloc(nq * k * sizeof *ids);
    size_t *lens = malloc(nq * sizeof *lens);
    rk_status s = q && scores && ids && lens ? RK_OK : rk_fail(err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; !s && i < nq; i++)
        lens[i] = strlen(texts[i]);
    size_t failed = 0;
    if (!s && (s = rk_embedder_embed(sr->e, nq, texts, lens, q, &failed, err)))
        s = rk_fail_prefix(err, "query %zu", failed + 1);
    if (!s) s = rk_vindex_search(sr->ix, nq, q, k, scores, ids, err);
    /* A stale index may still hold chunks that a later ingest deleted. */
    rk_kb_txn *txn = NULL;
    if (!s && sr->stale) s = rk_kb_read_begin(sr->kb, &txn, err);
    for (size_t i = 0; !s && i < nq; i++)
        for (size_t j = 0; j < k; j++) {
            int64_t id = ids[i * k + j];
            rk_chunk c;
            if (id < 0 || (txn && rk_kb_chunk_get(txn, (uint64_t)id, &c, NULL) == RK_ENOTFOUND)) continue;
            hits[i * k + counts[i]++] = (rk_hit){(uint64_t)id, scores[i * k + j]};
        }
    rk_kb_read_end(txn);
    free(q);
    free(scores);
    free(ids);
    free(lens);
    return s;
}

/* ---- fusion ---- */

static int by_id(const void *a, const void *b) {
    uint64_t x = ((const rk_hit *)a)->chunk_id, y = ((const rk_hit *)b)->chunk_id;
    return (x > y) - (x < y);
}

static int by_score(const void *a, const void *b) {
    const rk_hit *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return by_id(a, b);
}

rk_status rk_fuse_rrf(size_t nlists, const rk_hit *const *lists, const size_t *counts, size_t k, rk_hit *out,
                      size_t *n, rk_error *err) {
    size_t total = 0;
    for (size_t l = 0; l < nlists; l++)
        total += counts[l];
    *n = 0;
    rk_hit *all = malloc((total ? total : 1) * sizeof *all);
    if (!all) return rk_fail(err, RK_ENOMEM, "out of memory");
    size_t m = 0;
    for (size_t l = 0; l < nlists; l++)
        for (size_t r = 0; r < counts[l]; r++)
            all[m++] = (rk_hit){lists[l][r].chunk_id, 1.0f / (float)(60 + r + 1)};
    qsort(all, m, sizeof *all, by_id);
    size_t u = 0;
    for (size_t i = 0; i < m; i++) {
        if (u && all[u - 1].chunk_id == all[i].chunk_id)
            all[u - 1].score += all[i].score;
        else
            all[u++] = all[i];
    }
    qsort(all, u, sizeof *all, by_score);
    *n = u < k ? u : k;
    memcpy(out, all, *n * sizeof *out);
    free(all);
    return RK_OK;
}

/* ---- scoring ---- */

const size_t rk_recall_cutoffs[RK_RECALL_AT] = {1, 5, 10, 100};

void rk_rank_score(const uint64_t *ranked, size_t n, const uint64_t *relevant, size_t nrel,
                   double recall[RK_RECALL_AT], double *rr) {
    size_t found = 0, c = 0;
    *rr = 0;
    for (size_t r = 0; r < n; r++) {
        int hit = 0;
        for (size_t j = 0; j < nrel && !hit; j++)
            hit = ranked[r] == relevant[j];
        if (hit && *rr == 0 && r < RK_MRR_AT) *rr = 1.0 / (double)(r + 1);
        found += (size_t)hit;
        for (; c < RK_RECALL_AT && r + 1 == rk_recall_cutoffs[c]; c++)
            recall[c] = nrel ? (double)found / (double)nrel : 0;
    }
    for (; c < RK_RECALL_AT; c++) /* a ranking shorter than the cut-off */
        recall[c] = nrel ? (double)found / (double)nrel : 0;
}
