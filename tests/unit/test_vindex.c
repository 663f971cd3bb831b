/* Unit tests for index/vindex.c: real FAISS indexes, stored in a real KB. */
#include "helpers.h"

#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <math.h>

#include "raftkit/vindex.h"

enum { D = 16, N = 500 };

static float *random_unit_vectors(size_t n, unsigned seed) {
    float *x = malloc(n * D * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        double norm = 0;
        for (int d = 0; d < D; d++) {
            seed = seed * 1103515245u + 12345u;
            x[i * D + d] = (float)((seed >> 8) & 0xFFFF) / 65535.0f - 0.5f;
            norm += x[i * D + d] * x[i * D + d];
        }
        for (int d = 0; d < D; d++)
            x[i * D + d] /= (float)sqrt(norm);
    }
    return x;
}

static rk_vindex *flat_with(const float *x, uint64_t *ids) {
    rk_vindex *ix = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_vindex_create("Flat", D, RK_METRIC_IP, &ix, &e), RK_OK, "%s", e.msg);
    for (size_t i = 0; i < N; i++)
        ids[i] = 1000 + 3 * i; /* ids are not positions */
    cr_assert_eq(rk_vindex_add(ix, N, x, ids, &e), RK_OK, "%s", e.msg);
    return ix;
}

Test(vindex, flat_search_returns_ids_best_first) {
    float *x = random_unit_vectors(N, 1);
    uint64_t ids[N];
    rk_vindex *ix = flat_with(x, ids);
    cr_assert_eq(rk_vindex_size(ix), N);
    cr_assert_eq(rk_vindex_dim(ix), D);
    float scores[5];
    int64_t got[5];
    rk_error e = {0};
    for (size_t q = 0; q < N; q += 37) {
        cr_assert_eq(rk_vindex_search(ix, 1, x + q * D, 5, scores, got, &e), RK_OK);
        cr_assert_eq(got[0], (int64_t)ids[q], "a vector finds itself first");
        cr_assert_float_eq(scores[0], 1.0f, 1e-5);
        for (int k = 1; k < 5; k++)
            cr_assert_geq(scores[k - 1], scores[k]);
    }
    /* More results asked for than vectors: the rest are -1. */
    rk_vindex *small = NULL;
    cr_assert_eq(rk_vindex_create("Flat", D, RK_METRIC_L2, &small, &e), RK_OK);
    uint64_t one = 42;
    cr_assert_eq(rk_vindex_add(small, 1, x, &one, &e), RK_OK);
    cr_assert_eq(rk_vindex_search(small, 1, x, 3, scores, got, &e), RK_OK);
    cr_assert_eq(got[0], 42);
    cr_assert_float_eq(scores[0], 0.0f, 1e-6, "squared L2 to itself");
    cr_assert_eq(got[1], -1);
    rk_vindex_free(small);
    rk_vindex_free(ix);
    free(x);
}

Test(vindex, unknown_factory_surfaces_faiss_message) {
    rk_vindex *ix = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_vindex_create("NoSuchIndex42", D, RK_METRIC_IP, &ix, &e), RK_EINVAL);
    cr_assert_null(ix);
    cr_assert(strstr(e.msg, "NoSuchIndex42"), "%s", e.msg);
    cr_assert_gt(strlen(e.msg), strlen("NoSuchIndex42: "), "FAISS's own explanation follows: %s", e.msg);
}

typedef struct save_ctx {
    rk_vindex *ix;
    size_t bytes;
} save_ctx;
static rk_status save(rk_kb_txn *t, void *ctx, rk_error *err) {
    save_ctx *s = ctx;
    return rk_vindex_save(s->ix, t, "main", &s->bytes, err);
}

/* Saves ix as "main" into a new KB in dir, in pieces of at most `piece`
 * bytes (0: the default), and loads it back with its factory string. */
static rk_vindex *save_and_load(const char *dir, rk_vindex *ix, size_t piece, size_t *bytes) {
    rk_kb_set_blob_piece_size(piece);
    rk_kb *kb;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(dir, RK_KB_CREATE, 0, &kb, &e), RK_OK, "%s", e.msg);
    save_ctx sc = {ix, 0};
    cr_assert_eq(rk_kb_write(kb, save, &sc, &e), RK_OK, "%s", e.msg);
    rk_kb_close(kb);
    rk_kb_set_blob_piece_size(0);
    cr_assert_eq(rk_kb_open(dir, RK_KB_READONLY, 0, &kb, &e), RK_OK);
    rk_kb_txn *t;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    rk_vindex *loaded = NULL;
    cr_assert_eq(rk_vindex_load(t, "main", rk_vindex_factory(ix), &loaded, &e), RK_OK, "%s", e.msg);
    rk_kb_read_end(t);
    rk_kb_close(kb);
    if (bytes) *bytes = sc.bytes;
    return loaded;
}

static void save_load_compare(size_t piece) {
    char *dir = tmpdir_new();
    float *x = random_unit_vectors(N, 2);
    uint64_t ids[N];
    rk_vindex *ix = flat_with(x, ids);
    size_t bytes;
    rk_vindex *loaded = save_and_load(dir, ix, piece, &bytes);
    cr_assert_gt(bytes, (size_t)N * D * sizeof(float));
    rk_kb *kb;
    rk_kb_txn *t;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(dir, RK_KB_READONLY, 0, &kb, &e), RK_OK);
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    rk_vindex *none = NULL;
    cr_assert_eq(rk_vindex_load(t, "other", "Flat", &none, &e), RK_ENOTFOUND);
    cr_assert_eq(rk_vindex_load(t, "main", NULL, &none, &e), RK_EINVAL, "the blob holds no factory");
    cr_assert_null(none);
    rk_kb_read_end(t);
    rk_kb_close(kb);
    cr_assert_eq(rk_vindex_size(loaded), N);
    cr_assert_str_eq(rk_vindex_factory(loaded), "Flat");
    float s1[10], s2[10];
    int64_t i1[10], i2[10];
    cr_assert_eq(rk_vindex_search(ix, 1, x + 7 * D, 10, s1, i1, &e), RK_OK);
    cr_assert_eq(rk_vindex_search(loaded, 1, x + 7 * D, 10, s2, i2, &e), RK_OK);
    cr_assert_eq(memcmp(i1, i2, sizeof i1), 0, "same ids");
    cr_assert_eq(memcmp(s1, s2, sizeof s1), 0, "same scores, bit for bit");
    rk_vindex_free(loaded);
    rk_vindex_free(ix);
    free(x);
    tmpdir_free(dir);
}

Test(vindex, stored_in_the_kb_and_loaded_back_identical) { save_load_compare(0); }
Test(vindex, stored_in_many_pieces_and_loaded_back_identical) { save_load_compare(4096); }

typedef struct blob_in {
    const void *data;
    size_t n;
} blob_in;
static rk_status put_blob(rk_kb_txn *t, void *ctx, rk_error *err) {
    blob_in *b = ctx;
    return rk_kb_blob_put(t, RK_BLOB_FAISS, "main", b->data, b->n, err);
}

/* A blob FAISS cannot read, in one piece or several, or an empty one. */
Test(vindex, a_blob_that_is_no_index_is_a_format_error) {
    char *dir = tmpdir_new();
    rk_kb *kb;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(dir, RK_KB_CREATE, 0, &kb, &e), RK_OK, "%s", e.msg);
    char junk[300];
    memset(junk, 'j', sizeof junk);
    const blob_in blobs[] = {{junk, sizeof junk}, {junk, sizeof junk}, {junk, 0}};
    const size_t pieces[] = {0, 64, 0};
    for (int i = 0; i < 3; i++) {
        rk_kb_set_blob_piece_size(pieces[i]);
        cr_assert_eq(rk_kb_write(kb, put_blob, (void *)&blobs[i], &e), RK_OK, "%s", e.msg);
        rk_kb_txn *t;
        rk_vindex *ix = NULL;
        cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
        cr_assert_eq(rk_vindex_load(t, "main", "Flat", &ix, &e), RK_EFORMAT, "blob %d", i);
        cr_assert_null(ix);
        cr_assert(strstr(e.msg, i < 2 ? "index \"main\": reading the index: " : "index \"main\" is empty"),
                  "%s", e.msg);
        rk_kb_read_end(t);
    }
    rk_kb_set_blob_piece_size(0);
    rk_kb_close(kb);
    tmpdir_free(dir);
}

Test(vindex, an_index_that_needs_training) {
    float *x = random_unit_vectors(N, 3);
    uint64_t ids[N];
    for (size_t i = 0; i < N; i++)
        ids[i] = i + 1;
    rk_vindex *ix = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_vindex_create("IVF4,Flat", D, RK_METRIC_IP, &ix, &e), RK_OK, "%s", e.msg);
    cr_assert(!rk_vindex_is_trained(ix));
    cr_assert_eq(rk_vindex_add(ix, N, x, ids, &e), RK_EFAISS, "adding before training fails cleanly");
    cr_assert_eq(rk_vindex_train(ix, N, x, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_vindex_add(ix, N, x, ids, &e), RK_OK, "%s", e.msg);
    float s[1];
    int64_t got[1];
    cr_assert_eq(rk_vindex_search(ix, 1, x + 11 * D, 1, s, got, &e), RK_OK);
    cr_assert_eq(got[0], 12, "the nearest list holds the vector itself");
    rk_vindex_free(ix);
    free(x);
}

/* ---- a clustered set: every index family against Flat ---- */

enum { CD = 32, CN = 5000, CQ = 200, CLUSTERS = 50, K = 10 };

static uint64_t rng_state;
static double uniform(void) { /* splitmix64: the same set on every run */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

/* n unit vectors x[n][CD] around CLUSTERS fixed centres (those of seed 1);
 * `seed` picks which points, so queries (another seed) come from the same
 * distribution as the data. */
static float *clustered(size_t n, uint64_t seed) {
    static float centres[CLUSTERS][CD];
    rng_state = 1;
    for (int c = 0; c < CLUSTERS; c++)
        for (int d = 0; d < CD; d++)
            centres[c][d] = (float)(2 * uniform() - 1);
    rng_state = seed;
    float *x = malloc(n * CD * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        const float *c = centres[(size_t)(uniform() * CLUSTERS)];
        double norm = 0;
        for (int d = 0; d < CD; d++) {
            x[i * CD + d] = c[d] + (float)(0.6 * (uniform() - 0.5));
            norm += x[i * CD + d] * x[i * CD + d];
        }
        for (int d = 0; d < CD; d++)
            x[i * CD + d] /= (float)sqrt(norm);
    }
    return x;
}

static uint64_t *clustered_ids(size_t n) {
    uint64_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = 7 + 5 * i;
    return ids;
}

/* An index of factory over the first n vectors of x, trained on the first
 * 1000, or 256 for OPQ, whose training costs ~1 ms a vector. */
static rk_vindex *build(const char *factory, rk_metric metric, const float *x, const uint64_t *ids,
                        size_t n) {
    rk_vindex *ix = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_vindex_create(factory, CD, metric, &ix, &e), RK_OK, "%s: %s", factory, e.msg);
    size_t ntrain = strstr(factory, "OPQ") ? 256 : 1000;
    if (!rk_vindex_is_trained(ix))
        cr_assert_eq(rk_vindex_train(ix, ntrain, x, &e), RK_OK, "%s: %s", factory, e.msg);
    cr_assert_eq(rk_vindex_add(ix, n, x, ids, &e), RK_OK, "%s: %s", factory, e.msg);
    return ix;
}

typedef struct results {
    float s[CQ * K];
    int64_t id[CQ * K];
} results;

static void search_all(const rk_vindex *ix, const float *q, results *r) {
    rk_error e = {0};
    cr_assert_eq(rk_vindex_search(ix, CQ, q, K, r->s, r->id, &e), RK_OK, "%s", e.msg);
}

static double recall(const results *got, const results *truth) {
    size_t hits = 0;
    for (size_t q = 0; q < CQ; q++)
        for (size_t i = 0; i < K; i++)
            for (size_t j = 0; j < K; j++)
                hits += got->id[q * K + i] == truth->id[q * K + j];
    return (double)hits / (CQ * K);
}

Test(vindex, every_family_is_stored_and_loaded_back_answering_identically) {
    const char *factories[] = {"Flat",
                               "HNSW32",
                               "IVF16,Flat",
                               "IVF16,PQ8x4np",
                               "SQ8",
                               "OPQ4,IVF16,PQ4x4np",
                               "PCA16,IVF16,Flat,RFlat"};
    float *x = clustered(CN, 2), *q = clustered(CQ, 3);
    uint64_t *ids = clustered_ids(CN);
    static results a, b;
    for (size_t f = 0; f < sizeof factories / sizeof *factories; f++) {
        char *dir = tmpdir_new();
        rk_vindex *ix = build(factories[f], RK_METRIC_IP, x, ids, CN);
        /* Pieces of 64 KiB: every index spans several, read as one stream. */
        rk_vindex *loaded = save_and_load(dir, ix, 64 << 10, NULL);
        cr_assert_str_eq(rk_vindex_factory(loaded), factories[f]);
        cr_assert_eq(rk_vindex_size(loaded), CN, "%s", factories[f]);
        cr_assert_eq(rk_vindex_min_train(loaded), rk_vindex_min_train(ix), "%s", factories[f]);
        search_all(ix, q, &a);
        search_all(loaded, q, &b);
        cr_assert_eq(memcmp(a.id, b.id, sizeof a.id), 0, "%s: same ids", factories[f]);
        cr_assert_eq(memcmp(a.s, b.s, sizeof a.s), 0, "%s: same scores, bit for bit", factories[f]);
        uint64_t *held;
        size_t n;
        rk_error e = {0};
        cr_assert_eq(rk_vindex_ids(loaded, &held, &n, &e), RK_OK, "%s", e.msg);
        cr_assert_eq(n, CN);
        cr_assert_eq(memcmp(held, ids, CN * sizeof *ids), 0, "%s: every id, ascending", factories[f]);
        free(held);
        rk_vindex_free(loaded);
        rk_vindex_free(ix);
        tmpdir_free(dir);
    }
    free(ids);
    free(q);
    free(x);
}

/* recall@10 against Flat on 200 held-out queries, with the documented
 * settings: HNSW32 at efSearch=64, IVF64 at nprobe=8, and an IVF64 over a
 * PCA16 projection (of these 32 dimensions) re-ranked on the full vectors at
 * nprobe=8,k_factor_rf=16. */
Test(vindex, approximate_indexes_reach_the_recall_of_their_settings) {
    float *x = clustered(CN, 4), *q = clustered(CQ, 5);
    uint64_t *ids = clustered_ids(CN);
    static results truth, got;
    rk_vindex *flat = build("Flat", RK_METRIC_IP, x, ids, CN);
    search_all(flat, q, &truth);
    rk_error e = {0};
    rk_vindex *hnsw = build("HNSW32", RK_METRIC_IP, x, ids, CN);
    cr_assert_eq(rk_vindex_set_params(hnsw, "efSearch=64", &e), RK_OK, "%s", e.msg);
    search_all(hnsw, q, &got);
    double r = recall(&got, &truth);
    cr_assert_geq(r, 0.95, "HNSW32, efSearch=64: recall@10 %.3f", r);
    rk_vindex *ivf = build("IVF64,Flat", RK_METRIC_IP, x, ids, CN);
    cr_assert_eq(rk_vindex_set_params(ivf, "nprobe=1", &e), RK_OK, "%s", e.msg);
    search_all(ivf, q, &got);
    double r1 = recall(&got, &truth);
    cr_assert_eq(rk_vindex_set_params(ivf, " nprobe = 8 ", &e), RK_OK, "%s", e.msg);
    search_all(ivf, q, &got);
    r = recall(&got, &truth);
    cr_assert_geq(r, 0.95, "IVF64, nprobe=8: recall@10 %.3f", r);
    cr_assert_lt(r1, r, "nprobe takes effect: %.3f at 1, %.3f at 8", r1, r);
    /* Re-ranking k_factor_rf * k candidates of the projection is what
     * recovers its recall: the parameter reaches the wrapper through the
     * IDMap, and nprobe the IVF inside both. */
    rk_vindex *refine = build("PCA16,IVF64,Flat,RFlat", RK_METRIC_IP, x, ids, CN);
    cr_assert_eq(rk_vindex_set_params(refine, "nprobe=8,k_factor_rf=1", &e), RK_OK, "%s", e.msg);
    search_all(refine, q, &got);
    r1 = recall(&got, &truth);
    cr_assert_eq(rk_vindex_set_params(refine, "k_factor_rf=16", &e), RK_OK, "%s", e.msg);
    search_all(refine, q, &got);
    r = recall(&got, &truth);
    cr_assert_geq(r, 0.95, "PCA16,IVF64,Flat,RFlat, nprobe=8,k_factor_rf=16: recall@10 %.3f", r);
    cr_assert_lt(r1, r, "k_factor_rf takes effect: %.3f at 1, %.3f at 16", r1, r);
    for (size_t i = 0; i < CQ * K; i++) /* scores are the full vectors' inner products */
        for (size_t j = 0; j < CN; j++)
            if (got.id[i] == (int64_t)ids[j]) {
                double ip = 0;
                for (int d = 0; d < CD; d++)
                    ip += (double)q[i / K * CD + d] * x[j * CD + d];
                cr_assert_float_eq(got.s[i], ip, 1e-5, "query %zu rank %zu", i / K, i % K);
            }
    rk_vindex_free(refine);
    rk_vindex_free(ivf);
    rk_vindex_free(hnsw);
    rk_vindex_free(flat);
    free(ids);
    free(q);
    free(x);
}

Test(vindex, search_parameters_are_checked) {
    float *x = clustered(CN, 6), *q = clustered(CQ, 7);
    uint64_t *ids = clustered_ids(CN);
    rk_vindex *ivf = build("IVF64,Flat", RK_METRIC_IP, x, ids, CN);
    rk_error e = {0};
    cr_assert_eq(rk_vindex_set_params(ivf, "nprobe=32,efSearch=128", &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "efSearch: not a parameter of this index (IVF64,Flat): "), "%s", e.msg);
    cr_assert(strstr(e.msg, "could not set parameter efSearch"), "FAISS's message: %s", e.msg);
    const char *malformed[] = {"nprobe",     "=4",        " =4",
                               "nprobe=",    "nprobe=x",  "nprobe=4x",
                               "nprobe=inf", "nprobe=4,", "nprobe=4,,nprobe=2",
                               ",nprobe=4"};
    static results before, after;
    cr_assert_eq(rk_vindex_set_params(ivf, "nprobe=1", &e), RK_OK, "%s", e.msg);
    search_all(ivf, q, &before);
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        char list[64];
        /* A good item first: a malformed list sets nothing at all. */
        snprintf(list, sizeof list, "nprobe=16,%s", malformed[i]);
        cr_assert_eq(rk_vindex_set_params(ivf, list, &e), RK_EINVAL, "\"%s\"", list);
        cr_assert(strstr(e.msg, "search parameter"), "%s", e.msg);
        cr_assert_eq(rk_vindex_set_params(ivf, malformed[i], &e), RK_EINVAL, "\"%s\"", malformed[i]);
    }
    search_all(ivf, q, &after);
    cr_assert_eq(memcmp(before.id, after.id, sizeof before.id), 0, "nprobe is still 1");
    cr_assert_eq(rk_vindex_set_params(ivf, "", &e), RK_OK, "an empty list sets nothing");
    rk_vindex *hnsw = build("HNSW32", RK_METRIC_IP, x, ids, 100);
    cr_assert_eq(rk_vindex_set_params(hnsw, "nprobe=4", &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "nprobe: not a parameter of this index (HNSW32)"), "%s", e.msg);
    cr_assert_eq(rk_vindex_set_params(hnsw, "efSearch=32", &e), RK_OK, "through the IDMap: %s", e.msg);
    rk_vindex_free(hnsw);
    rk_vindex_free(ivf);
    free(ids);
    free(q);
    free(x);
}

/* rk_vindex_min_train, held against FAISS itself: one vector fewer fails
 * inside FAISS, as many succeed. ("np": no polysemous training, which takes
 * FAISS tens of seconds for 256 centroids whatever the number of vectors.) */
Test(vindex, training_needs_what_faiss_needs) {
    const struct {
        const char *factory;
        size_t min;
    } cases[] = {
        {"Flat", 0},
        {"HNSW32", 0},
        {"SQ8", 1},
        {"IVF16,Flat", 16},
        {"IVF16,PQ8np", 256},
        {"IVF16,PQ8x4np", 16},
        {"PQ4np", 256},
        {"PQ8x4fs", 16},
        {"IMI2x5,Flat", 32},
        {"OPQ4,IVF16,PQ4x4np", 256},
        {"PCA8,Flat", 8},
        {"IVF40_HNSW8,SQ8", 40},
        {"PCA8,IVF16,Flat,RFlat", 16},
    };
    float *x = clustered(CN, 8);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const char *f = cases[c].factory;
        size_t min = cases[c].min;
        rk_vindex *ix = NULL;
        rk_error e = {0};
        cr_assert_eq(rk_vindex_create(f, CD, RK_METRIC_L2, &ix, &e), RK_OK, "%s: %s", f, e.msg);
        cr_assert_eq(rk_vindex_min_train(ix), min, "%s: %zu", f, rk_vindex_min_train(ix));
        if (min) {
            cr_assert_eq(rk_vindex_train(ix, min - 1, x, &e), RK_EINVAL, "%s", f);
            char want[128];
            snprintf(want, sizeof want, "index %s needs at least %zu training vectors, got %zu", f, min,
                     min - 1);
            cr_assert_str_eq(e.msg, want);
        }
        cr_assert_eq(rk_vindex_train(ix, min, x, &e), RK_OK, "%s: %s", f, e.msg);
        cr_assert(rk_vindex_is_trained(ix), "%s", f);
        rk_vindex_free(ix);
        if (min > 1) { /* FAISS accepts 0 for SQ8; one below the rest fails */
            FaissIndex *raw = NULL;
            cr_assert_eq(faiss_index_factory(&raw, CD, f, METRIC_L2), 0, "%s", f);
            cr_assert_neq(faiss_Index_train(raw, (idx_t)(min - 1), x), 0, "%s: FAISS takes %zu", f, min - 1);
            faiss_Index_free(raw);
        }
    }
    free(x);
}

static int holds(const uint64_t *ids, size_t n, int64_t id) {
    for (size_t i = 0; i < n; i++)
        if ((int64_t)ids[i] == id) return 1;
    return 0;
}

Test(vindex, removed_vectors_are_gone_from_ids_and_results) {
    const char *factories[] = {"Flat", "IVF16,Flat", "SQ8", "PCA16,IVF16,PQ4x4np"};
    float *x = clustered(CN, 9), *q = clustered(CQ, 10);
    uint64_t *ids = clustered_ids(CN);
    enum { NR = 1000 };
    uint64_t gone[NR + 1];
    for (size_t i = 0; i < NR; i++)
        gone[i] = ids[(i * 7919) % CN]; /* scattered, no repeats: 7919 is prime to 5000 */
    gone[NR] = 3;                       /* an id never added */
    static results r;
    for (size_t f = 0; f < sizeof factories / sizeof *factories; f++) {
        rk_vindex *ix = build(factories[f], RK_METRIC_IP, x, ids, CN);
        size_t removed = 0;
        rk_error e = {0};
        cr_assert_eq(rk_vindex_remove(ix, NR + 1, gone, &removed, &e), RK_OK, "%s: %s", factories[f], e.msg);
        cr_assert_eq(removed, NR, "%s", factories[f]);
        cr_assert_eq(rk_vindex_size(ix), CN - NR);
        uint64_t *held;
        size_t n;
        cr_assert_eq(rk_vindex_ids(ix, &held, &n, &e), RK_OK);
        cr_assert_eq(n, CN - NR);
        for (size_t i = 0, j = 0; i < CN; i++)
            if (!holds(gone, NR, (int64_t)ids[i])) cr_assert_eq(held[j++], ids[i], "%s", factories[f]);
        free(held);
        search_all(ix, x, &r); /* the removed vectors themselves as queries */
        for (size_t i = 0; i < CQ * K; i++)
            cr_assert(!holds(gone, NR, r.id[i]), "%s returned removed id %lld", factories[f],
                      (long long)r.id[i]);
        cr_assert_eq(rk_vindex_remove(ix, 0, NULL, NULL, &e), RK_OK, "removing nothing");
        rk_vindex_free(ix);
    }
    rk_error e = {0};
    rk_vindex *refine = build("PCA16,IVF16,Flat,RFlat", RK_METRIC_IP, x, ids, 200);
    cr_assert_eq(rk_vindex_remove(refine, 1, ids, NULL, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "PCA16,IVF16,Flat,RFlat indexes cannot remove vectors; rebuild"), "%s", e.msg);
    cr_assert_eq(rk_vindex_size(refine), 200, "unchanged");
    rk_vindex_free(refine);
    rk_vindex *hnsw = build("HNSW32", RK_METRIC_IP, x, ids, 200);
    cr_assert_eq(rk_vindex_remove(hnsw, 1, ids, NULL, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "HNSW32 indexes cannot remove vectors; rebuild"), "%s", e.msg);
    cr_assert_eq(rk_vindex_size(hnsw), 200, "unchanged");
    uint64_t *held;
    size_t n;
    cr_assert_eq(rk_vindex_ids(hnsw, &held, &n, &e), RK_OK);
    cr_assert_eq(n, 200);
    cr_assert_eq(memcmp(held, ids, n * sizeof *ids), 0);
    free(held);
    rk_vindex_free(hnsw);
    rk_vindex *empty = NULL;
    cr_assert_eq(rk_vindex_create("Flat", CD, RK_METRIC_IP, &empty, &e), RK_OK);
    cr_assert_eq(rk_vindex_ids(empty, &held, &n, &e), RK_OK);
    cr_assert_eq(n, 0);
    cr_assert_null(held);
    rk_vindex_free(empty);
    free(ids);
    free(q);
    free(x);
}

/* Two shards of one trained index, merged, answer like one index of all. */
static void merge_shards(const char *factory) {
    float *x = clustered(CN, 11), *q = clustered(CQ, 12);
    uint64_t *ids = clustered_ids(CN);
    rk_vindex *trained = build(factory, RK_METRIC_IP, x, ids, 0), *a, *b, *whole;
    rk_error e = {0};
    cr_assert_eq(rk_vindex_set_params(trained, "nprobe=4", &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_vindex_clone_empty(trained, &a, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_vindex_clone_empty(trained, &b, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_vindex_clone_empty(trained, &whole, &e), RK_OK, "%s", e.msg);
    cr_assert(rk_vindex_is_trained(a));
    cr_assert_eq(rk_vindex_size(a), 0);
    cr_assert_str_eq(rk_vindex_factory(a), factory);
    cr_assert_eq(rk_vindex_min_train(a), rk_vindex_min_train(trained));
    cr_assert_eq(rk_vindex_add(a, CN / 2, x, ids, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_vindex_add(b, CN - CN / 2, x + CN / 2 * CD, ids + CN / 2, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_vindex_add(whole, CN, x, ids, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_vindex_merge(a, b, &e), RK_OK, "%s: %s", factory, e.msg);
    cr_assert_eq(rk_vindex_size(a), CN, "%s", factory);
    cr_assert_eq(rk_vindex_size(b), 0, "%s: from is left empty", factory);
    static results ra, rw;
    search_all(a, q, &ra);
    search_all(whole, q, &rw);
    cr_assert_eq(memcmp(ra.id, rw.id, sizeof ra.id), 0, "%s: same ids", factory);
    cr_assert_eq(memcmp(ra.s, rw.s, sizeof ra.s), 0, "%s: same scores", factory);
    uint64_t *held;
    size_t n;
    cr_assert_eq(rk_vindex_ids(a, &held, &n, &e), RK_OK);
    cr_assert_eq(n, CN);
    cr_assert_eq(memcmp(held, ids, CN * sizeof *ids), 0);
    free(held);
    rk_vindex_free(whole);
    rk_vindex_free(b);
    rk_vindex_free(a);
    rk_vindex_free(trained);
    free(ids);
    free(q);
    free(x);
}

Test(vindex, ivf_shards_merge_into_one_index) { merge_shards("IVF16,Flat"); }
Test(vindex, ivf_shards_behind_a_transform_merge_into_one_index) { merge_shards("PCA16,IVF16,PQ4x4np"); }

Test(vindex, only_ivf_indexes_trained_alike_merge) {
    float *x = clustered(CN, 13);
    uint64_t *ids = clustered_ids(CN);
    rk_error e = {0};
    rk_vindex *f1 = build("Flat", RK_METRIC_IP, x, ids, 100), *f2 = build("Flat", RK_METRIC_IP, x, ids, 100);
    cr_assert_eq(rk_vindex_merge(f1, f2, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "cannot merge Flat into Flat: only IVF indexes can be merged"), "%s", e.msg);
    rk_vindex *i1 = build("IVF16,Flat", RK_METRIC_IP, x, ids, 100), *i2 = NULL;
    cr_assert_eq(rk_vindex_merge(i1, f2, &e), RK_EINVAL);
    cr_assert_eq(rk_vindex_merge(i1, i1, &e), RK_EINVAL, "into itself");
    /* Trained on other vectors: another quantizer. */
    cr_assert_eq(rk_vindex_create("IVF16,Flat", CD, RK_METRIC_IP, &i2, &e), RK_OK);
    cr_assert_eq(rk_vindex_train(i2, CN / 2, x + CN / 2 * CD, &e), RK_OK);
    cr_assert_eq(rk_vindex_add(i2, 100, x + 100 * CD, ids + 100, &e), RK_OK);
    cr_assert_eq(rk_vindex_merge(i1, i2, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "must be trained alike"), "%s", e.msg);
    cr_assert(strstr(e.msg, "coarse quantizers should be the same"), "FAISS's reason: %s", e.msg);
    rk_vindex *i32 = build("IVF32,Flat", RK_METRIC_IP, x, ids, 100);
    cr_assert_eq(rk_vindex_merge(i1, i32, &e), RK_EINVAL);
    cr_assert_eq(rk_vindex_size(i1), 100, "unchanged");
    cr_assert_eq(rk_vindex_size(i2), 100, "unchanged");
    cr_assert_eq(rk_vindex_size(i32), 100, "unchanged");
    rk_vindex_free(i32);
    rk_vindex_free(i2);
    rk_vindex_free(i1);
    rk_vindex_free(f2);
    rk_vindex_free(f1);
    free(ids);
    free(x);
}
