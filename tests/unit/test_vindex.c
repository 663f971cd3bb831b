/* Unit tests for index/vindex.c: real FAISS indexes, stored in a real KB. */
#include "helpers.h"

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

static void save_load_compare(size_t piece) {
    char *dir = tmpdir_new();
    rk_kb_set_blob_piece_size(piece);
    float *x = random_unit_vectors(N, 2);
    uint64_t ids[N];
    rk_vindex *ix = flat_with(x, ids);
    rk_kb *kb;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(dir, RK_KB_CREATE, 0, &kb, &e), RK_OK, "%s", e.msg);
    save_ctx sc = {ix, 0};
    cr_assert_eq(rk_kb_write(kb, save, &sc, &e), RK_OK, "%s", e.msg);
    cr_assert_gt(sc.bytes, (size_t)N * D * sizeof(float));
    rk_kb_close(kb);
    cr_assert_eq(rk_kb_open(dir, RK_KB_READONLY, 0, &kb, &e), RK_OK);
    rk_kb_txn *t;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    rk_vindex *loaded = NULL;
    cr_assert_eq(rk_vindex_load(t, "main", &loaded, &e), RK_OK, "%s", e.msg);
    rk_vindex *none = NULL;
    cr_assert_eq(rk_vindex_load(t, "other", &none, &e), RK_ENOTFOUND);
    rk_kb_read_end(t);
    rk_kb_close(kb);
    cr_assert_eq(rk_vindex_size(loaded), N);
    float s1[10], s2[10];
    int64_t i1[10], i2[10];
    cr_assert_eq(rk_vindex_search(ix, 1, x + 7 * D, 10, s1, i1, &e), RK_OK);
    cr_assert_eq(rk_vindex_search(loaded, 1, x + 7 * D, 10, s2, i2, &e), RK_OK);
    cr_assert_eq(memcmp(i1, i2, sizeof i1), 0, "same ids");
    cr_assert_eq(memcmp(s1, s2, sizeof s1), 0, "same scores, bit for bit");
    rk_vindex_free(loaded);
    rk_vindex_free(ix);
    free(x);
    rk_kb_set_blob_piece_size(0);
    tmpdir_free(dir);
}

Test(vindex, stored_in_the_kb_and_loaded_back_identical) { save_load_compare(0); }
Test(vindex, stored_in_many_pieces_and_loaded_back_identical) { save_load_compare(4096); }

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
