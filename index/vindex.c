/* vindex.c — FAISS glue. Only FAISS's C API is called here. */
#include "raftkit/vindex.h"

#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rk_vindex {
    FaissIndex *index;
};

static rk_status faiss_fail(rk_error *err, rk_status code, const char *what) {
    const char *msg = faiss_get_last_error();
    return rk_fail(err, code, "%s: %s", what, msg ? msg : "FAISS failed");
}

rk_status rk_vindex_create(const char *factory, int dim, rk_metric metric, rk_vindex **out, rk_error *err) {
    if (dim <= 0) return rk_fail(err, RK_EINVAL, "index dimension must be positive, got %d", dim);
    /* Flat and graph indexes keep no ids of their own; IVF ones do. */
    char desc[512];
    int need_map = !strstr(factory, "IVF") && strncmp(factory, "IDMap", 5) != 0;
    snprintf(desc, sizeof desc, "%s%s", need_map ? "IDMap," : "", factory);
    FaissIndex *index = NULL;
    if (faiss_index_factory(&index, dim, desc, metric == RK_METRIC_IP ? METRIC_INNER_PRODUCT : METRIC_L2))
        return faiss_fail(err, RK_EINVAL, factory);
    rk_vindex *ix = malloc(sizeof *ix);
    if (!ix) {
        faiss_Index_free(index);
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    ix->index = index;
    *out = ix;
    return RK_OK;
}

void rk_vindex_free(rk_vindex *ix) {
    if (!ix) return;
    faiss_Index_free(ix->index);
    free(ix);
}

int rk_vindex_dim(const rk_vindex *ix) { return faiss_Index_d(ix->index); }
uint64_t rk_vindex_size(const rk_vindex *ix) { return (uint64_t)faiss_Index_ntotal(ix->index); }
int rk_vindex_is_trained(const rk_vindex *ix) { return faiss_Index_is_trained(ix->index); }

rk_status rk_vindex_train(rk_vindex *ix, size_t n, const float *x, rk_error *err) {
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

rk_status rk_vindex_save(const rk_vindex *ix, rk_kb_txn *txn, const char *name, size_t *bytes,
                         rk_error *err) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return rk_fail(err, RK_ENOMEM, "cannot serialize index \"%s\"", name);
    int rc = faiss_write_index(ix->index, f);
    if (fclose(f) != 0 && !rc) rc = -1;
    rk_status s = rc ? faiss_fail(err, RK_EFAISS, "serializing the index")
                     : rk_kb_blob_put(txn, RK_BLOB_FAISS, name, buf, n, err);
    free(buf);
    *bytes = n;
    return s;
}

rk_status rk_vindex_load(rk_kb_txn *txn, const char *name, rk_vindex **out, rk_error *err) {
    const void *data;
    size_t n;
    void *owned;
    rk_status s = rk_kb_blob_get(txn, RK_BLOB_FAISS, name, &data, &n, &owned, err);
    if (s) return s;
    FILE *f = n ? fmemopen((void *)data, n, "rb") : NULL;
    FaissIndex *index = NULL;
    if (!f) {
        s = rk_fail(err, RK_EFORMAT, "index \"%s\": empty or unreadable", name);
    } else {
        if (faiss_read_index(f, 0, &index)) s = faiss_fail(err, RK_EFORMAT, "reading the index");
        fclose(f);
    }
    free(owned);
    if (s) return s;
    if (!(*out = malloc(sizeof **out))) {
        faiss_Index_free(index);
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    (*out)->index = index;
    return RK_OK;
}
