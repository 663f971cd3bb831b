/* vindex.c — FAISS glue. Only FAISS's C API is called here. */
#define _GNU_SOURCE /* fopencookie */
#include "raftkit/vindex.h"

#include <ctype.h>
#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/IndexPreTransform_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* The min_train of a loaded index: worked out when asked (rk_vindex_min_train). */
#define MIN_TRAIN_UNKNOWN SIZE_MAX

struct rk_vindex {
    FaissIndex *index;
    char *factory;    /* as the caller gave it: for messages, and to load the index again */
    size_t min_train; /* see rk_vindex_min_train, or MIN_TRAIN_UNKNOWN */
};

static rk_status faiss_fail(rk_error *err, rk_status code, const char *what) {
    const char *msg = faiss_get_last_error();
    return rk_fail(err, code, "%s: %s", what, msg ? msg : "FAISS failed");
}

static FaissMetricType faiss_metric(rk_metric m) {
    return m == RK_METRIC_IP ? METRIC_INNER_PRODUCT : METRIC_L2;
}

/* Builds the FAISS index of a factory string. Flat and graph indexes keep no
 * ids of their own, nor does a refining wrapper (",RFlat", ",Refine(...)":
 * FAISS's IndexRefine cannot add with ids, even around an IVF), so they go
 * inside an IDMap; IVF ones store ids in their lists. The map is wrapped
 * here rather than named in the factory string, where FAISS would put it
 * inside the refining wrapper. */
static rk_status make_index(const char *factory, int dim, FaissMetricType metric, FaissIndex **out,
                            rk_error *err) {
    if (dim <= 0) return rk_fail(err, RK_EINVAL, "index dimension must be positive, got %d", dim);
    int refine = strstr(factory, "RFlat") || strstr(factory, "Refine(");
    int need_map = (refine || !strstr(factory, "IVF")) && !strstr(factory, "IDMap");
    FaissIndex *index;
    if (faiss_index_factory(&index, dim, factory, metric)) return faiss_fail(err, RK_EINVAL, factory);
    if (!need_map) {
        *out = index;
        return RK_OK;
    }
    FaissIndexIDMap *map;
    if (faiss_IndexIDMap_new(&map, index)) {
        faiss_Index_free(index);
        return faiss_fail(err, RK_ENOMEM, factory);
    }
    faiss_IndexIDMap_set_own_fields(map, 1);
    *out = map;
    return RK_OK;
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

/* The centroids per sub-space of a product quantizer "<M>[x<bits>]" at p:
 * 2^bits, bits = dflt unless given (4 for fast-scan "fs" ones). */
static size_t subspace_centroids(const char *p, unsigned dflt) {
    char *end;
    strtoull(p, &end, 10);
    unsigned long long bits = dflt;
    if (*end == 'x')
        bits = strtoull(end + 1, NULL, 10);
    else if (!strncmp(end, "fs", 2))
        bits = 4;
    return bits < 32 ? (size_t)1 << bits : 0;
}

/* The training floor of a factory string's parts, as FAISS 1.7.3 enforces it
 * (Clustering::train needs as many vectors as centroids; PCAMatrix::train as
 * many as output dimensions); the unit tests hold these against FAISS. At
 * least 1: the caller asks only for indexes that need training. */
static size_t training_floor(const char *f) {
    size_t need = 1;
    for (const char *p = f; *p; p++) {
        if (!strncmp(p, "IVF", 3) && isdigit((unsigned char)p[3])) { /* IVF<nlist> */
            need = max_size(need, strtoull(p + 3, NULL, 10));
        } else if (!strncmp(p, "PQ", 2) && isdigit((unsigned char)p[2])) { /* PQ<M>x<bits>, also OPQ<M> */
            need = max_size(need, subspace_centroids(p + 2, 8));
        } else if (!strncmp(p, "IMI", 3) && isdigit((unsigned char)p[3])) { /* IMI2x<bits> */
            need = max_size(need, subspace_centroids(p + 3, 0));
        } else if (!strncmp(p, "PCA", 3) || !strncmp(p, "ITQ", 3)) { /* PCA[W][R]<d>, ITQ<d> */
            const char *d = p + 3;
            while (*d == 'W' || *d == 'R')
                d++;
            if (isdigit((unsigned char)*d)) need = max_size(need, strtoull(d, NULL, 10));
        }
    }
    return need;
}

/* Takes ownership of index; copies factory. */
static rk_status wrap(FaissIndex *index, const char *factory, size_t min_train, rk_vindex **out,
                      rk_error *err) {
    rk_vindex *ix = malloc(sizeof *ix);
    char *f = strdup(factory);
    if (!ix || !f) {
        free(ix);
        free(f);
        faiss_Index_free(index);
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    *ix = (rk_vindex){index, f, min_train};
    *out = ix;
    return RK_OK;
}

rk_status rk_vindex_create(const char *factory, int dim, rk_metric metric, rk_vindex **out, rk_error *err) {
    FaissIndex *index = NULL;
    rk_status s = make_index(factory, dim, faiss_metric(metric), &index, err);
    if (s) return s;
    return wrap(index, factory, faiss_Index_is_trained(index) ? 0 : training_floor(factory), out, err);
}

void rk_vindex_free(rk_vindex *ix) {
    if (!ix) return;
    faiss_Index_free(ix->index);
    free(ix->factory);
    free(ix);
}

int rk_vindex_dim(const rk_vindex *ix) { return faiss_Index_d(ix->index); }
uint64_t rk_vindex_size(const rk_vindex *ix) { return (uint64_t)faiss_Index_ntotal(ix->index); }
int rk_vindex_is_trained(const rk_vindex *ix) { return faiss_Index_is_trained(ix->index); }
const char *rk_vindex_factory(const rk_vindex *ix) { return ix->factory; }

size_t rk_vindex_min_train(const rk_vindex *ix) {
    if (ix->min_train != MIN_TRAIN_UNKNOWN) return ix->min_train;
    /* A loaded index is trained: whether its kind trains at all, only a
     * fresh one tells, and index_factory takes a millisecond, too long to
     * pay on every load. */
    FaissIndex *fresh;
    if (make_index(ix->factory, faiss_Index_d(ix->index), faiss_Index_metric_type(ix->index), &fresh, NULL))
        return training_floor(ix->factory);
    size_t min = faiss_Index_is_trained(fresh) ? 0 : training_floor(ix->factory);
    faiss_Index_free(fresh);
    return min;
}

rk_status rk_vindex_train(rk_vindex *ix, size_t n, const float *x, rk_error *err) {
    size_t min = rk_vindex_min_train(ix);
    if (n < min)
        return rk_fail(err, RK_EINVAL, "index %s needs at least %zu training vectors, got %zu", ix->factory,
                       min, n);
    if (faiss_Index_train(ix->index, (idx_t)n, x)) return faiss_fail(err, RK_EFAISS, "training the index");
    return RK_OK;
}

rk_status rk_vindex_add(rk_vindex *ix, size_t n, const float *x, const uint64_t *ids, rk_error *err) {
    /* FAISS ids are int64; chunk ids stay far below 2^63. */
    if (faiss_Index_add_with_ids(ix->index, (idx_t)n, x, (const idx_t *)ids))
        return faiss_fail(err, RK_EFAISS, "adding vectors");
    return RK_OK;
}

rk_status rk_vindex_search(const rk_vindex *ix, size_t nq, const float *q, size_t k, float *scores,
                           int64_t *ids, rk_error *err) {
    if (faiss_Index_search(ix->index, (idx_t)nq, q, (idx_t)k, scores, ids))
        return faiss_fail(err, RK_EFAISS, "searching");
    return RK_OK;
}

/* ---- search parameters ---- */

/* One item "name=value" of params[0..len); RK_EINVAL when malformed. */
static rk_status parse_param(const char *item, size_t len, char *name, size_t cap, double *value,
                             rk_error *err) {
    const char *eq = memchr(item, '=', len), *a = item, *b = eq;
    if (!eq) return rk_fail(err, RK_EINVAL, "search parameter \"%.*s\": expected name=value", (int)len, item);
    while (a < b && isspace((unsigned char)*a))
        a++;
    while (b > a && isspace((unsigned char)b[-1]))
        b--;
    if (a == b) return rk_fail(err, RK_EINVAL, "search parameter \"%.*s\": empty name", (int)len, item);
    if ((size_t)(b - a) >= cap)
        return rk_fail(err, RK_EINVAL, "search parameter \"%.*s\": name too long", (int)len, item);
    memcpy(name, a, (size_t)(b - a));
    name[b - a] = 0;
    /* strtod would read past the item into the next one: parse a copy. */
    char num[64], *end = num;
    size_t vlen = len - (size_t)(eq + 1 - item);
    double v = 0;
    if (vlen < sizeof num) {
        memcpy(num, eq + 1, vlen);
        num[vlen] = 0;
        v = strtod(num, &end);
        while (isspace((unsigned char)*end))
            end++;
    }
    if (end == num || *end || !isfinite(v))
        return rk_fail(err, RK_EINVAL, "search parameter \"%.*s\": the value is not a number", (int)len,
                       item);
    *value = v;
    return RK_OK;
}

rk_status rk_vindex_set_params(rk_vindex *ix, const char *params, rk_error *err) {
    FaissParameterSpace *ps = NULL;
    if (faiss_ParameterSpace_new(&ps)) return faiss_fail(err, RK_ENOMEM, "search parameters");
    rk_status s = RK_OK;
    /* The whole list is parsed before anything is set, so a malformed one changes nothing. */
    for (int set = 0; set < 2 && !s; set++) {
        for (const char *p = params; *p && !s;) {
            size_t len = strcspn(p, ",");
            char name[128];
            double value = 0;
            s = parse_param(p, len, name, sizeof name, &value, err);
            if (!s && set && faiss_ParameterSpace_set_index_parameter(ps, ix->index, name, value)) {
                const char *msg = faiss_get_last_error();
                s = rk_fail(err, RK_EINVAL, "%s: not a parameter of this index (%s): %s", name, ix->factory,
                            msg ? msg : "FAISS failed");
            }
            p += len;
            if (*p == ',' && !*++p)
                s = rk_fail(err, RK_EINVAL, "search parameters \"%s\" end in a comma", params);
        }
    }
    faiss_ParameterSpace_free(ps);
    return s;
}

/* ---- ids: removing, listing, merging ---- */

rk_status rk_vindex_remove(rk_vindex *ix, size_t n, const uint64_t *ids, size_t *removed, rk_error *err) {
    size_t got = 0;
    if (n) {
        FaissIDSelectorBatch *sel = NULL;
        if (faiss_IDSelectorBatch_new(&sel, n, (const idx_t *)ids))
            return faiss_fail(err, RK_ENOMEM, "removing vectors");
        int rc = faiss_Index_remove_ids(ix->index, (const FaissIDSelector *)sel, &got);
        faiss_IDSelector_free((FaissIDSelector *)sel);
        /* FAISS refuses before changing anything, and only for kinds that
         * cannot remove at all (HNSW's graph has no deletion). */
        if (rc) {
            const char *msg = faiss_get_last_error();
            return rk_fail(err, RK_EINVAL,
                           "%s indexes cannot remove vectors; rebuild the index without them (%s)",
                           ix->factory, msg ? msg : "FAISS failed");
        }
    }
    if (removed) *removed = got;
    return RK_OK;
}

/* The IVF index of index: itself, or the one behind a transform (OPQ, PCA),
 * whose wrapper goes to *wrapper; NULL when it is no IVF index. */
static FaissIndexIVF *ivf_of(FaissIndex *index, FaissIndexPreTransform **wrapper) {
    *wrapper = faiss_IndexPreTransform_cast(index);
    return faiss_IndexIVF_cast(*wrapper ? faiss_IndexPreTransform_index(*wrapper) : index);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

rk_status rk_vindex_ids(const rk_vindex *ix, uint64_t **ids, size_t *n, rk_error *err) {
    /* The C API's casts and getters take non-const indexes; nothing here writes. */
    FaissIndex *index = ix->index;
    size_t total = (size_t)faiss_Index_ntotal(index);
    *ids = NULL;
    *n = 0;
    if (!total) return RK_OK;
    uint64_t *out = malloc(total * sizeof *out);
    if (!out) return rk_fail(err, RK_ENOMEM, "out of memory for %zu ids", total);
    FaissIndexIDMap *map = faiss_IndexIDMap_cast(index);
    FaissIndexPreTransform *wrapper;
    FaissIndexIVF *ivf = map ? NULL : ivf_of(index, &wrapper);
    if (map) {
        idx_t *id_map;
        size_t len;
        faiss_IndexIDMap_id_map(map, &id_map, &len);
        memcpy(out, id_map, len * sizeof *out);
    } else if (ivf) {
        size_t at = 0;
        for (size_t list = 0, nlist = faiss_IndexIVF_nlist(ivf); list < nlist; list++) {
            faiss_IndexIVF_invlists_get_ids(ivf, list, (idx_t *)out + at);
            at += faiss_IndexIVF_get_list_size(ivf, list);
        }
    } else { /* an index that maps no ids labels vectors by position */
        for (size_t i = 0; i < total; i++)
            out[i] = i;
    }
    qsort(out, total, sizeof *out, cmp_u64);
    *ids = out;
    *n = total;
    return RK_OK;
}

rk_status rk_vindex_merge(rk_vindex *ix, rk_vindex *from, rk_error *err) {
    if (ix == from) return rk_fail(err, RK_EINVAL, "cannot merge an index into itself");
    FaissIndexPreTransform *wrap_to, *wrap_from;
    FaissIndexIVF *to = ivf_of(ix->index, &wrap_to), *src = ivf_of(from->index, &wrap_from);
    if (!to || !src)
        return rk_fail(err, RK_EINVAL,
                       "cannot merge %s into %s: only IVF indexes can be merged (FAISS moves their inverted "
                       "lists); add the vectors instead",
                       from->factory, ix->factory);
    if (!wrap_to != !wrap_from || faiss_Index_metric_type(ix->index) != faiss_Index_metric_type(from->index))
        return rk_fail(err, RK_EINVAL, "cannot merge %s into %s: the indexes are built differently",
                       from->factory, ix->factory);
    /* FAISS checks the kind, sizes and coarse quantizer before moving anything. */
    if (faiss_IndexIVF_merge_from(to, src, 0)) {
        const char *msg = faiss_get_last_error();
        return rk_fail(err, RK_EINVAL,
                       "cannot merge %s into %s: they must be trained alike, e.g. shards made by "
                       "rk_vindex_clone_empty of one trained index (%s)",
                       from->factory, ix->factory, msg ? msg : "FAISS failed");
    }
    /* A transform's wrapper keeps its own count, which the C API cannot set
     * but which every add refreshes from the IVF inside: add nothing. */
    float none_x = 0;
    idx_t none_id = 0;
    if (wrap_to && (faiss_Index_add_with_ids(wrap_to, 0, &none_x, &none_id) ||
                    faiss_Index_add_with_ids(wrap_from, 0, &none_x, &none_id)))
        return faiss_fail(err, RK_EFAISS, "merging");
    return RK_OK;
}

/* ---- serialization ---- */

/* Writes index in FAISS's format into a new buffer *buf[*n] (caller frees). */
static rk_status serialize(const FaissIndex *index, char **buf, size_t *n, rk_error *err) {
    *buf = NULL;
    *n = 0;
    FILE *f = open_memstream(buf, n);
    if (!f) return rk_fail(err, RK_ENOMEM, "out of memory serializing the index");
    int rc = faiss_write_index(index, f);
    rk_status s = rc ? faiss_fail(err, RK_EFAISS, "serializing the index") : RK_OK;
    if (fclose(f) != 0 && !s) s = rk_fail(err, RK_ENOMEM, "out of memory serializing the index");
    if (s) {
        free(*buf);
        *buf = NULL;
    }
    return s;
}

rk_status rk_vindex_clone_empty(const rk_vindex *ix, rk_vindex **out, rk_error *err) {
    char *buf;
    size_t n;
    rk_status s = serialize(ix->index, &buf, &n, err);
    if (s) return s;
    FILE *f = fmemopen(buf, n, "rb");
    FaissIndex *copy = NULL;
    if (!f) {
        s = rk_fail(err, RK_ENOMEM, "out of memory copying the index");
    } else {
        if (faiss_read_index(f, 0, &copy)) s = faiss_fail(err, RK_EFAISS, "copying the index");
        fclose(f);
    }
    free(buf);
    if (!s && faiss_Index_reset(copy)) s = faiss_fail(err, RK_EFAISS, "emptying the copy");
    if (s) {
        faiss_Index_free(copy);
        return s;
    }
    return wrap(copy, ix->factory, ix->min_train, out, err);
}

rk_status rk_vindex_save(const rk_vindex *ix, rk_kb_txn *txn, const char *name, size_t *bytes,
                         rk_error *err) {
    char *buf;
    rk_status s = serialize(ix->index, &buf, bytes, err);
    if (!s) s = rk_kb_blob_put(txn, RK_BLOB_FAISS, name, buf, *bytes, err);
    free(buf);
    return s;
}

/* A FILE reading a blob's pieces where they lie in the map, one after
 * another. glibc passes a cookie stream's bytes through its buffer of a few
 * KiB, which stays in cache; joining the pieces first would copy the whole
 * index once more and hold it twice. (Unbuffered is far slower: glibc then
 * reads a cookie stream a byte at a time.) */
typedef struct blob_reader {
    rk_kb_txn *txn;
    const char *name;
    uint32_t next;  /* the piece after the current one */
    const char *at; /* the unread bytes of the current piece */
    size_t left;
    int end;          /* no piece `next`: the blob is read */
    rk_status status; /* why a read failed */
    rk_error err;
} blob_reader;

static ssize_t blob_read(void *cookie, char *buf, size_t size) {
    blob_reader *r = cookie;
    size_t done = 0;
    while (done < size && (r->left || !r->end)) {
        if (!r->left) {
            const void *data;
            rk_status s = rk_kb_blob_piece(r->txn, RK_BLOB_FAISS, r->name, r->next, &data, &r->left, &r->err);
            if (s == RK_ENOTFOUND) {
                r->end = 1;
                break;
            }
            if (s) {
                r->status = s;
                return -1;
            }
            r->at = data;
            r->next++;
            continue;
        }
        size_t k = r->left < size - done ? r->left : size - done;
        memcpy(buf + done, r->at, k);
        r->at += k;
        r->left -= k;
        done += k;
    }
    return (ssize_t)done;
}

rk_status rk_vindex_load(rk_kb_txn *txn, const char *name, const char *factory, rk_vindex **out,
                         rk_error *err) {
    if (!factory) return rk_fail(err, RK_EINVAL, "index \"%s\": no factory string given", name);
    blob_reader r = {.txn = txn, .name = name, .next = 1};
    const void *first;
    rk_status s = rk_kb_blob_piece(txn, RK_BLOB_FAISS, name, 0, &first, &r.left, err);
    if (s) return s;
    if (!r.left) return rk_fail(err, RK_EFORMAT, "index \"%s\" is empty", name);
    r.at = first;
    FILE *f = fopencookie(&r, "rb", (cookie_io_functions_t){.read = blob_read});
    if (!f) return rk_fail(err, RK_ENOMEM, "out of memory reading index \"%s\"", name);
    FaissIndex *index = NULL;
    int rc = faiss_read_index(f, 0, &index);
    fclose(f);
    if (rc && r.status) {
        if (err) *err = r.err;
        return r.status;
    }
    if (rc) {
        s = faiss_fail(err, RK_EFORMAT, "reading the index");
        rk_fail_prefix(err, "%s: index \"%s\"", rk_kb_txn_path(txn), name);
        return s;
    }
    return wrap(index, factory, MIN_TRAIN_UNKNOWN, out, err);
}
