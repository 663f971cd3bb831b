/* Unit tests for index/kb.c on real LMDB environments in temp directories. */
#include "helpers.h"

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../index/hashfilter.h"
#include "../../index/idmap.h"
#include "raftkit/kb.h"

static char *dir;
static void setup(void) { dir = tmpdir_new(); }
static void teardown(void) {
    tmpdir_free(dir);
    rk_kb_set_blob_piece_size(0);
    rk_kb_set_fold_min(0);
}
TestSuite(kb, .init = setup, .fini = teardown);

static rk_kb *open_kb(const char *path, rk_kb_mode mode, size_t map) {
    rk_kb *kb = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(path, mode, map, &kb, &e), RK_OK, "%s", e.msg);
    return kb;
}

static char *kb_path(void) {
    char *p = malloc(strlen(dir) + 4);
    snprintf(p, strlen(dir) + 4, "%s/kb", dir);
    return p;
}

typedef struct doc_in {
    const char *uri;
    const char *texts[4];
    uint64_t doc_id, chunk_ids[4];
} doc_in;

static rk_status add_doc(rk_kb_txn *t, void *ctx, rk_error *err) {
    doc_in *in = ctx;
    rk_doc d = {
        .uri = in->uri, .title = "T", .hash = rk_hash128_of(in->uri, strlen(in->uri)), .size = 7, .mtime = 9};
    rk_status s = rk_kb_doc_new_id(t, &d.id, err);
    for (int i = 0; !s && in->texts[i]; i++) {
        rk_chunk c = {.doc_id = d.id,
                      .ordinal = (uint32_t)i,
                      .start = (uint64_t)i * 10,
                      .end = (uint64_t)i * 10 + 5,
                      .text = in->texts[i],
                      .text_len = strlen(in->texts[i])};
        int added;
        s = rk_kb_chunk_add(t, &c, rk_kb_chunk_hash(c.text, c.text_len), &added, err);
        in->chunk_ids[i] = c.id;
        if (i == 0) d.first_chunk = c.id;
        d.nchunks++;
        float v[3] = {(float)i, 1, 2};
        if (!s) s = rk_kb_vector_put(t, 1, c.id, v, 3, err);
    }
    if (!s) s = rk_kb_doc_put(t, &d, err);
    in->doc_id = d.id;
    return s;
}

static void write_doc(rk_kb *kb, doc_in *in) {
    rk_error e = {0};
    cr_assert_eq(rk_kb_write(kb, add_doc, in, &e), RK_OK, "%s", e.msg);
}

Test(kb, records_survive_reopen) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    doc_in in = {.uri = "docs/a.md", .texts = {"first chunk", "second chunk"}};
    write_doc(kb, &in);
    rk_kb_close(kb);

    kb = open_kb(p, RK_KB_READONLY, 0);
    rk_kb_txn *t;
    rk_error e = {0};
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    uint64_t id;
    cr_assert_eq(rk_kb_doc_find(t, "docs/a.md", &id, &e), RK_OK);
    cr_assert_eq(id, in.doc_id);
    rk_doc d;
    cr_assert_eq(rk_kb_doc_get(t, id, &d, &e), RK_OK);
    cr_assert_str_eq(d.uri, "docs/a.md");
    cr_assert_str_eq(d.title, "T");
    cr_assert_eq(d.size, 7);
    cr_assert_eq(d.mtime, 9);
    cr_assert_eq(d.nchunks, 2);
    cr_assert_eq(d.first_chunk, in.chunk_ids[0]);
    rk_chunk c;
    cr_assert_eq(rk_kb_chunk_get(t, in.chunk_ids[1], &c, &e), RK_OK);
    cr_assert_str_eq(c.text, "second chunk");
    cr_assert_eq(c.text_len, 12);
    cr_assert_eq(c.doc_id, id);
    cr_assert_eq(c.ordinal, 1);
    cr_assert_eq(c.start, 10);
    cr_assert_eq(c.end, 15);
    uint64_t found;
    cr_assert_eq(rk_kb_chunk_find(t, rk_kb_chunk_hash("first chunk", 11), &found, &e), RK_OK);
    cr_assert_eq(found, in.chunk_ids[0]);
    float v[3];
    cr_assert_eq(rk_kb_vector_get(t, 1, in.chunk_ids[1], v, 3, &e), RK_OK);
    cr_assert_eq(v[0], 1.0f);
    cr_assert_eq(rk_kb_vector_get(t, 1, in.chunk_ids[1], v, 2, &e), RK_EFORMAT, "wrong dimension is refused");
    rk_kb_stats st;
    cr_assert_eq(rk_kb_stats_get(t, &st, &e), RK_OK);
    cr_assert_eq(st.docs, 1);
    cr_assert_eq(st.chunks, 2);
    cr_assert_eq(st.vectors, 2);
    rk_kb_read_end(t);
    rk_kb_close(kb);
    free(p);
}

static rk_status del(rk_kb_txn *txn, void *ctx, rk_error *err) {
    return rk_kb_doc_delete(txn, *(uint64_t *)ctx, err);
}

Test(kb, delete_removes_chunks_hashes_vectors_and_ids_are_not_reused) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    doc_in a = {.uri = "a", .texts = {"alpha", "beta"}}, b = {.uri = "b", .texts = {"gamma"}};
    write_doc(kb, &a);
    write_doc(kb, &b);
    rk_error e = {0};
    rk_kb_txn *t;
    /* Delete a inside a write transaction. */
    cr_assert_eq(rk_kb_write(kb, del, &a.doc_id, &e), RK_OK, "%s", e.msg);
    doc_in c = {.uri = "c", .texts = {"alpha"}};
    write_doc(kb, &c);
    cr_assert_gt(c.chunk_ids[0], b.chunk_ids[0], "a new chunk gets a new id");
    cr_assert_gt(c.doc_id, b.doc_id);
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    rk_chunk ch;
    uint64_t id;
    float v[3];
    cr_assert_eq(rk_kb_chunk_get(t, a.chunk_ids[1], &ch, &e), RK_ENOTFOUND);
    cr_assert_eq(rk_kb_vector_get(t, 1, a.chunk_ids[1], v, 3, &e), RK_ENOTFOUND);
    cr_assert_eq(rk_kb_doc_find(t, "a", &id, &e), RK_ENOTFOUND);
    cr_assert_eq(rk_kb_chunk_find(t, rk_kb_chunk_hash("beta", 4), &id, &e), RK_ENOTFOUND);
    cr_assert_eq(rk_kb_chunk_find(t, rk_kb_chunk_hash("alpha", 5), &id, &e), RK_OK);
    cr_assert_eq(id, c.chunk_ids[0], "the hash now names c's chunk");
    cr_assert_eq(rk_kb_chunk_get(t, b.chunk_ids[0], &ch, &e), RK_OK, "other documents are untouched");
    rk_kb_read_end(t);
    rk_kb_close(kb);
    free(p);
}

static rk_status put_without_id(rk_kb_txn *t, void *ctx, rk_error *err) {
    (void)ctx;
    rk_doc d = {.uri = "no-id"};
    return rk_kb_doc_put(t, &d, err);
}

Test(kb, a_document_is_put_under_an_id_it_was_given) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    rk_error e = {0};
    cr_assert_eq(rk_kb_write(kb, put_without_id, NULL, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "no-id"), "%s", e.msg);
    rk_kb_close(kb);
    free(p);
}

/* The same text added again is not stored again: the stored chunk's id comes back. */
Test(kb, adding_a_stored_text_gives_the_stored_chunk) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    doc_in a = {.uri = "a", .texts = {"alpha", "beta"}},
           b = {.uri = "b", .texts = {"gamma", "alpha", "gamma"}};
    write_doc(kb, &a);
    write_doc(kb, &b);
    cr_assert_eq(b.chunk_ids[1], a.chunk_ids[0]);
    cr_assert_eq(b.chunk_ids[2], b.chunk_ids[0], "within one transaction too");
    cr_assert_gt(b.chunk_ids[0], a.chunk_ids[1]);
    rk_error e = {0};
    rk_kb_txn *t;
    rk_kb_stats st;
    rk_chunk c;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_stats_get(t, &st, &e), RK_OK);
    cr_assert_eq(st.chunks, 3);
    cr_assert_eq(rk_kb_chunk_get(t, a.chunk_ids[0], &c, &e), RK_OK);
    cr_assert_eq(c.doc_id, a.doc_id, "the stored chunk keeps its owner");
    cr_assert_eq(rk_kb_chunk_get(t, b.chunk_ids[0] + 1, &c, &e), RK_ENOTFOUND,
                 "no id was spent on a duplicate");
    rk_kb_read_end(t);
    rk_kb_close(kb);
    free(p);
}

static rk_status add_then_fail(rk_kb_txn *t, void *ctx, rk_error *err) {
    rk_status s = add_doc(t, ctx, err);
    return s ? s : rk_fail(err, RK_EIO, "simulated failure after writing");
}

Test(kb, failed_write_leaves_previous_state) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    doc_in a = {.uri = "a", .texts = {"alpha"}}, b = {.uri = "b", .texts = {"beta"}};
    write_doc(kb, &a);
    rk_error e = {0};
    rk_kb_txn *t;
    uint64_t gen0, gen1, id;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    rk_kb_generation(t, &gen0, &e);
    rk_kb_read_end(t);
    cr_assert_eq(rk_kb_write(kb, add_then_fail, &b, &e), RK_EIO);
    cr_assert_str_eq(e.msg, "simulated failure after writing");
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_doc_find(t, "b", &id, &e), RK_ENOTFOUND);
    rk_kb_generation(t, &gen1, &e);
    cr_assert_eq(gen1, gen0);
    rk_kb_read_end(t);
    write_doc(kb, &b);
    cr_assert_eq(b.chunk_ids[0], a.chunk_ids[0] + 1, "the failed run allocated no ids");
    rk_chunk c;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_chunk_get(t, b.chunk_ids[0], &c, &e), RK_OK,
                 "stored anew, not taken for the chunk the failed run added: %s", e.msg);
    cr_assert_str_eq(c.text, "beta");
    rk_kb_read_end(t);
    rk_kb_close(kb);
    free(p);
}

/* Writes one meta key; ctx is a put_meta_ctx. */
typedef struct put_meta_ctx {
    const char *key;
    json_t *value;
} put_meta_ctx;

static rk_status put_meta(rk_kb_txn *txn, void *ctx, rk_error *err) {
    put_meta_ctx *m = ctx;
    return rk_kb_meta_put(txn, m->key, m->value, err);
}

Test(kb, generation_rises_only_with_doc_or_chunk_changes) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    rk_error e = {0};
    rk_kb_txn *t;
    uint64_t g[3];
    doc_in a = {.uri = "a", .texts = {"x", "y"}};
    write_doc(kb, &a);
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    rk_kb_generation(t, &g[0], &e);
    rk_kb_read_end(t);
    put_meta_ctx m = {"something", json_integer(5)};
    cr_assert_eq(rk_kb_write(kb, put_meta, &m, &e), RK_OK);
    json_decref(m.value);
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    rk_kb_generation(t, &g[1], &e);
    rk_kb_read_end(t);
    doc_in b = {.uri = "b", .texts = {"z"}};
    write_doc(kb, &b);
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    rk_kb_generation(t, &g[2], &e);
    rk_kb_read_end(t);
    cr_assert_eq(g[0], 1, "one change per transaction, however many records");
    cr_assert_eq(g[1], g[0]);
    cr_assert_eq(g[2], g[0] + 1);
    rk_kb_close(kb);
    free(p);
}

/* Writes 3 MB of chunks numbered from first in one transaction into a map
 * of 128 KiB. */
typedef struct big {
    int attempts, first;
} big;

static rk_status big_write(rk_kb_txn *t, void *ctx, rk_error *err) {
    big *b = ctx;
    b->attempts++;
    static char text[3000];
    rk_status s = RK_OK;
    for (int i = 0; !s && i < 1000; i++) {
        memset(text, 'a' + i % 26, sizeof text - 1);
        snprintf(text, 12, "%010d", b->first + i); /* distinct texts */
        text[10] = ' ';
        rk_chunk c = {.doc_id = 1, .text = text, .text_len = sizeof text - 1};
        int added;
        s = rk_kb_chunk_add(t, &c, rk_kb_chunk_hash(c.text, c.text_len), &added, err);
        if (!s && !added) s = rk_fail(err, RK_EINVAL, "chunk %d was taken for a duplicate", b->first + i);
    }
    return s;
}

Test(kb, map_grows_when_full) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 128 << 10);
    rk_error e = {0};
    big b = {0};
    cr_assert_eq(rk_kb_write(kb, big_write, &b, &e), RK_OK, "%s", e.msg);
    cr_assert_gt(b.attempts, 1, "the map was full at least once");
    rk_kb_txn *t;
    rk_kb_stats st;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    rk_kb_stats_get(t, &st, &e);
    rk_kb_read_end(t);
    cr_assert_eq(st.chunks, 1000);
    cr_assert_gt(st.map_bytes, 3 << 20);
    uint64_t grown = st.map_bytes;
    rk_kb_close(kb);
    /* Reopened at the grown size, not cut to the data's (so that the next
     * write would grow it again) nor set to a default. */
    kb = open_kb(p, RK_KB_WRITE, 0);
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    rk_kb_stats_get(t, &st, &e);
    rk_kb_read_end(t);
    cr_assert_eq(st.map_bytes, grown);
    rk_kb_close(kb);
    kb = open_kb(p, RK_KB_READONLY, 0);
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    rk_chunk c;
    cr_assert_eq(rk_kb_chunk_get(t, 1000, &c, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(strncmp(c.text, "0000000999 ", 11), 0);
    rk_kb_read_end(t);
    rk_kb_close(kb);
    free(p);
}

/* Readers in other threads while rk_kb_write grows the map: LMDB forbids
 * resizing under an open transaction of the process, so the KB must wait
 * for them (it crashed the reader before it did). */
typedef struct reader_arg {
    rk_kb *kb;
    atomic_int *stop;
    long reads, bad;
} reader_arg;

static void *read_loop(void *arg) {
    reader_arg *a = arg;
    while (!atomic_load(a->stop)) {
        rk_kb_txn *t;
        rk_chunk c;
        rk_error e = {0};
        if (rk_kb_read_begin(a->kb, &t, &e)) {
            a->bad++;
            continue;
        }
        if (rk_kb_chunk_get(t, 1, &c, &e) || c.text_len != 5 || memcmp(c.text, "first", 5)) a->bad++;
        rk_kb_read_end(t);
        a->reads++;
    }
    return NULL;
}

Test(kb, map_grows_while_other_threads_read) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 128 << 10);
    doc_in first = {.uri = "file:///first", .texts = {"first"}};
    write_doc(kb, &first);
    atomic_int stop = 0;
    reader_arg a[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        a[i] = (reader_arg){kb, &stop, 0, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, read_loop, &a[i]), 0);
    }
    rk_error e = {0};
    big b = {0};
    for (b.first = 0; b.first < 4000; b.first += 1000) /* 12 MB: the map doubles about seven times */
        cr_assert_eq(rk_kb_write(kb, big_write, &b, &e), RK_OK, "%s", e.msg);
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(a[i].bad, 0, "reader %d: %ld of %ld reads failed", i, a[i].bad, a[i].reads);
    }
    cr_assert_gt(b.attempts, 4, "the map was full at least once");
    rk_kb_close(kb);
    free(p);
}

Test(kb, a_full_map_does_not_wait_for_the_writers_own_read) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 128 << 10);
    rk_kb_txn *t;
    rk_error e = {0};
    big b = {0};
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_write(kb, big_write, &b, &e), RK_EDB, "refused, not a wait on itself");
    cr_assert(strstr(e.msg, "cannot grow while this thread holds a transaction"), "%s", e.msg);
    rk_kb_read_end(t);
    cr_assert_eq(rk_kb_write(kb, big_write, &b, &e), RK_OK, "%s", e.msg);
    rk_kb_close(kb);
    free(p);
}

typedef struct blob_in {
    const char *name;
    const void *data;
    size_t n;
} blob_in;

static rk_status put_blob(rk_kb_txn *t, void *ctx, rk_error *err) {
    blob_in *b = ctx;
    return rk_kb_blob_put(t, RK_BLOB_FAISS, b->name, b->data, b->n, err);
}

Test(kb, blobs_in_pieces) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    rk_kb_set_blob_piece_size(1000);
    char big[4500], small[300];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    memset(small, 's', sizeof small);
    rk_error e = {0};
    blob_in b = {"idx", big, sizeof big};
    cr_assert_eq(rk_kb_write(kb, put_blob, &b, &e), RK_OK, "%s", e.msg);
    rk_kb_txn *t;
    const void *data;
    size_t n;
    void *owned;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_blob_get(t, RK_BLOB_FAISS, "idx", &data, &n, &owned, &e), RK_OK);
    cr_assert_eq(n, sizeof big);
    cr_assert_not_null(owned, "5 pieces are joined into a new buffer");
    cr_assert_eq(memcmp(data, big, n), 0);
    free(owned);
    cr_assert_eq(rk_kb_blob_get(t, RK_BLOB_EMBEDDER, "idx", &data, &n, &owned, &e), RK_ENOTFOUND,
                 "blob stores are separate");
    rk_kb_read_end(t);
    /* Replacing with a one-piece blob leaves none of the old pieces behind. */
    b = (blob_in){"idx", small, sizeof small};
    cr_assert_eq(rk_kb_write(kb, put_blob, &b, &e), RK_OK);
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_blob_get(t, RK_BLOB_FAISS, "idx", &data, &n, &owned, &e), RK_OK);
    cr_assert_null(owned, "one piece is read in place");
    cr_assert_eq(n, sizeof small);
    cr_assert_eq(memcmp(data, small, n), 0);
    rk_kb_read_end(t);
    rk_kb_close(kb);
    free(p);
}

Test(kb, blob_pieces_read_in_place) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    rk_kb_set_blob_piece_size(1000);
    char big[2500];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 13);
    rk_error e = {0};
    blob_in b = {"idx", big, sizeof big};
    cr_assert_eq(rk_kb_write(kb, put_blob, &b, &e), RK_OK, "%s", e.msg);
    rk_kb_txn *t;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    const size_t sizes[] = {1000, 1000, 500};
    size_t at = 0;
    for (uint32_t i = 0; i < 3; i++) {
        const void *data;
        size_t n;
        cr_assert_eq(rk_kb_blob_piece(t, RK_BLOB_FAISS, "idx", i, &data, &n, &e), RK_OK, "%s", e.msg);
        cr_assert_eq(n, sizes[i], "piece %u", i);
        cr_assert_eq(memcmp(data, big + at, n), 0, "piece %u holds the next bytes", i);
        at += n;
    }
    const void *data;
    size_t n;
    cr_assert_eq(rk_kb_blob_piece(t, RK_BLOB_FAISS, "idx", 3, &data, &n, &e), RK_ENOTFOUND, "past the last");
    cr_assert(strstr(e.msg, "no piece 3"), "%s", e.msg);
    cr_assert_eq(rk_kb_blob_piece(t, RK_BLOB_FAISS, "other", 0, &data, &n, &e), RK_ENOTFOUND);
    cr_assert(strstr(e.msg, "no faiss \"other\""), "%s", e.msg);
    char long_name[400];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    cr_assert_eq(rk_kb_blob_piece(t, RK_BLOB_FAISS, long_name, 0, &data, &n, &e), RK_EINVAL);
    rk_kb_read_end(t);
    rk_kb_close(kb);
    free(p);
}

/* Every text of docs[0..n) is found under its chunk's id, in a read and in a
 * write transaction, and adding it again adds nothing. */
typedef struct expect {
    doc_in *docs;
    int n;
} expect;

static rk_status readd_all(rk_kb_txn *t, void *ctx, rk_error *err) {
    expect *x = ctx;
    for (int d = 0; d < x->n; d++)
        for (int i = 0; x->docs[d].texts[i]; i++) {
            const char *text = x->docs[d].texts[i];
            uint64_t id = 0;
            rk_status s = rk_kb_chunk_find(t, rk_kb_chunk_hash(text, strlen(text)), &id, err);
            if (s) return s;
            cr_assert_eq(id, x->docs[d].chunk_ids[i], "%s (write transaction)", text);
            rk_chunk c = {.doc_id = 99, .text = text, .text_len = strlen(text)};
            int added = 1;
            if ((s = rk_kb_chunk_add(t, &c, rk_kb_chunk_hash(text, strlen(text)), &added, err))) return s;
            cr_assert(!added && c.id == id, "%s is stored once", text);
        }
    return RK_OK;
}

static void expect_stored(rk_kb *kb, doc_in *docs, int n) {
    rk_error e = {0};
    rk_kb_txn *t;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    for (int d = 0; d < n; d++)
        for (int i = 0; docs[d].texts[i]; i++) {
            uint64_t id = 0;
            const char *text = docs[d].texts[i];
            cr_assert_eq(rk_kb_chunk_find(t, rk_kb_chunk_hash(text, strlen(text)), &id, &e), RK_OK, "%s",
                         text);
            cr_assert_eq(id, docs[d].chunk_ids[i], "%s (read transaction)", text);
        }
    rk_kb_read_end(t);
    expect x = {docs, n};
    cr_assert_eq(rk_kb_write(kb, readd_all, &x, &e), RK_OK, "%s", e.msg);
}

static void expect_gone(rk_kb *kb, const char *text) {
    rk_error e = {0};
    rk_kb_txn *t;
    uint64_t id;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_chunk_find(t, rk_kb_chunk_hash(text, strlen(text)), &id, &e), RK_ENOTFOUND, "%s",
                 text);
    rk_kb_read_end(t);
}

Test(kb, chunks_are_found_before_and_after_their_hashes_fold) {
    rk_kb_set_fold_min(4);
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    /* Folds come after docs[1] (4 new hashes), docs[3] (4 more, half of 4)
     * and docs[5] (6 more, half of 8), with docs[6] left unfolded. */
    doc_in docs[7] = {{.uri = "a", .texts = {"a1", "a2"}},       {.uri = "b", .texts = {"b1", "b2"}},
                      {.uri = "c", .texts = {"c1", "a1", "c2"}}, {.uri = "d", .texts = {"d1", "d2"}},
                      {.uri = "e", .texts = {"e1", "e2", "e3"}}, {.uri = "f", .texts = {"f1", "f2", "f3"}},
                      {.uri = "g", .texts = {"g1", "b2"}}};
    for (int d = 0; d < 7; d++) {
        write_doc(kb, &docs[d]);
        expect_stored(kb, docs, d + 1);
    }
    /* Removing a document takes its hashes out of whichever table holds them. */
    rk_error e = {0};
    cr_assert_eq(rk_kb_write(kb, del, &docs[1].doc_id, &e), RK_OK, "%s", e.msg); /* folded */
    cr_assert_eq(rk_kb_write(kb, del, &docs[6].doc_id, &e), RK_OK, "%s", e.msg); /* in the tail */
    expect_gone(kb, "b1");
    expect_gone(kb, "g1");
    expect_gone(kb, "b2"); /* handed from b to g, then gone with g */
    doc_in again = {.uri = "h", .texts = {"b1", "g1", "b2"}};
    write_doc(kb, &again);
    cr_assert_gt(again.chunk_ids[0], docs[6].chunk_ids[0], "a removed text is stored anew");
    cr_assert_gt(again.chunk_ids[1], again.chunk_ids[0]);
    expect_stored(kb, &again, 1);
    rk_kb_close(kb);
    /* Another handle reads the tail from the KB. */
    kb = open_kb(p, RK_KB_WRITE, 0);
    expect_stored(kb, docs, 1);
    expect_stored(kb, &again, 1);
    rk_kb_close(kb);
    free(p);
}

Test(kb, a_writer_sees_what_another_process_added_and_removed) {
    rk_kb_set_fold_min(2);
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    doc_in a = {.uri = "a", .texts = {"alpha", "alpha2"}};
    write_doc(kb, &a);        /* folded into chunk_hash */
    expect_stored(kb, &a, 1); /* this handle's filter and tail map are now current */
    pid_t pid = fork();
    if (pid == 0) {
        rk_kb *other;
        rk_error e = {0};
        doc_in b = {.uri = "b", .texts = {"beta", "beta2", "beta3"}}, d = {.uri = "d", .texts = {"delta"}};
        int ok = !rk_kb_open(p, RK_KB_WRITE, 0, &other, &e) && !rk_kb_write(other, add_doc, &b, &e) &&
                 !rk_kb_write(other, add_doc, &d, &e) && !rk_kb_write(other, del, &a.doc_id, &e);
        rk_kb_close(other);
        _exit(ok ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    doc_in c = {.uri = "c", .texts = {"beta", "delta", "alpha"}};
    write_doc(kb, &c);
    uint64_t first = a.chunk_ids[0];
    cr_assert_eq(c.chunk_ids[0], first + 2, "beta: the other process's chunk, folded there");
    cr_assert_eq(c.chunk_ids[1], first + 5, "delta: the other process's chunk, in the tail");
    cr_assert_eq(c.chunk_ids[2], first + 6, "alpha, removed there, is stored anew");
    rk_kb_close(kb);
    free(p);
}

/* Without a fold in between, a writer reads only what another process
 * appended to chunk_tail; what that process removed stays in its map
 * until a lookup or a fold meets it. */
Test(kb, a_writer_catches_up_on_another_process_without_a_fold) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    doc_in a = {.uri = "a", .texts = {"alpha", "alpha2"}};
    write_doc(kb, &a);
    expect_stored(kb, &a, 1);
    pid_t pid = fork();
    if (pid == 0) {
        rk_kb *other;
        rk_error e = {0};
        doc_in b = {.uri = "b", .texts = {"beta"}};
        int ok = !rk_kb_open(p, RK_KB_WRITE, 0, &other, &e) && !rk_kb_write(other, add_doc, &b, &e) &&
                 !rk_kb_write(other, del, &a.doc_id, &e);
        rk_kb_close(other);
        _exit(ok ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    uint64_t first = a.chunk_ids[0];
    doc_in c = {.uri = "c", .texts = {"beta", "alpha", "gamma"}};
    write_doc(kb, &c);
    cr_assert_eq(c.chunk_ids[0], first + 2, "beta: appended by the other process");
    cr_assert_eq(c.chunk_ids[1], first + 3, "alpha, removed there, is stored anew");
    rk_kb_set_fold_min(1);
    doc_in d = {.uri = "d", .texts = {"delta"}};
    write_doc(kb, &d); /* folds the tail, without alpha2, removed there */
    expect_gone(kb, "alpha2");
    doc_in c_and_d[] = {c, d};
    expect_stored(kb, c_and_d, 2);
    rk_kb_close(kb);
    free(p);
}

Test(kb, a_schema_2_kb_is_read_and_upgraded) {
    rk_kb_set_fold_min(1); /* every hash folded: what schema 2 held */
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    doc_in a = {.uri = "a", .texts = {"alpha", "beta"}};
    write_doc(kb, &a);
    put_meta_ctx m = {"schema", json_pack("{si}", "version", 2)};
    rk_error e = {0};
    cr_assert_eq(rk_kb_write(kb, put_meta, &m, &e), RK_OK);
    json_decref(m.value);
    rk_kb_close(kb);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    cr_assert_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    cr_assert_eq(mdb_env_open(env, p, 0, 0666), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    cr_assert_eq(mdb_dbi_open(txn, "chunk_tail", 0, &dbi), 0);
    cr_assert_eq(mdb_drop(txn, dbi, 1), 0);
    cr_assert_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    kb = open_kb(p, RK_KB_READONLY, 0);
    expect_gone(kb, "gamma");
    rk_kb_txn *t;
    uint64_t id;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_chunk_find(t, rk_kb_chunk_hash("beta", 4), &id, &e), RK_OK);
    cr_assert_eq(id, a.chunk_ids[1]);
    rk_kb_read_end(t);
    rk_kb_close(kb);

    kb = open_kb(p, RK_KB_WRITE, 0);
    doc_in b = {.uri = "b", .texts = {"gamma", "alpha"}};
    write_doc(kb, &b);
    cr_assert_eq(b.chunk_ids[1], a.chunk_ids[0]);
    expect_stored(kb, &b, 1);
    json_t *schema;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_meta_get(t, "schema", &schema, &e), RK_OK);
    cr_assert_eq(json_integer_value(json_object_get(schema, "version")), RK_KB_SCHEMA);
    json_decref(schema);
    rk_kb_read_end(t);
    rk_kb_close(kb);
    free(p);
}

/* Entries whose homes crowd into the last 16 slots of 1024, so that their
 * run wraps around the end of the table; deleting from the wrapped part
 * first leaves entries there whose homes lie before the end, which a later
 * hole before the end must not pull in. */
static int deleted(int i) { return i >= 16 ? (i - 16) % 3 == 0 : i % 3 == 0; }

Test(kb, idmap_keeps_every_entry_through_deletes) {
    rk_idmap m = {0};
    enum { N = 400 };
    rk_hash128 h[N];
    for (int i = 0; i < N; i++) {
        h[i] = (rk_hash128){(uint64_t)(1008 + i % 16) + ((uint64_t)i << 32), (uint64_t)i * 7919};
        cr_assert_eq(rk_idmap_put(&m, h[i], (uint64_t)i + 1), 0);
    }
    cr_assert_eq(m.n, N);
    cr_assert_eq(m.cap, 1024);
    for (int i = 16; i < N; i++)
        if (deleted(i)) rk_idmap_del(&m, h[i]);
    for (int i = 0; i < 16; i++)
        if (deleted(i)) rk_idmap_del(&m, h[i]);
    size_t left = 0;
    for (int i = 0; i < N; i++) {
        cr_assert_eq(rk_idmap_get(&m, h[i]), deleted(i) ? 0 : (uint64_t)i + 1, "entry %d", i);
        left += !deleted(i);
    }
    rk_idmap_del(&m, (rk_hash128){5, 5}); /* absent: nothing happens */
    cr_assert_eq(m.n, left);
    rk_idmap_clear(&m);
    cr_assert_eq(rk_idmap_get(&m, h[1]), 0);
    rk_idmap_free(&m);
}

Test(kb, hashfilter_has_no_false_negatives_and_few_false_positives) {
    rk_hashfilter f = {0};
    enum { N = 20000 };
    cr_assert_eq(rk_hashfilter_reset(&f, N), 0);
    for (uint32_t i = 0; i < N; i++)
        rk_hashfilter_add(&f, rk_hash128_of(&i, sizeof i));
    size_t maybe = 0;
    for (uint32_t i = 0; i < 2 * N; i++)
        if (i < N)
            cr_assert(rk_hashfilter_maybe(&f, rk_hash128_of(&i, sizeof i)), "hash %u was added", i);
        else
            maybe += (size_t)rk_hashfilter_maybe(&f, rk_hash128_of(&i, sizeof i));
    cr_assert_lt(maybe, N / 200, "%zu of %d absent hashes pass", maybe, N);
    cr_assert_eq(rk_hashfilter_reset(&f, N), 0);
    uint32_t one = 1;
    cr_assert(!rk_hashfilter_maybe(&f, rk_hash128_of(&one, sizeof one)), "reset empties it");
    rk_hashfilter_free(&f);
}

Test(kb, newer_schema_is_refused) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    put_meta_ctx m = {"schema", json_pack("{si}", "version", RK_KB_SCHEMA + 1)};
    rk_error e = {0};
    cr_assert_eq(rk_kb_write(kb, put_meta, &m, &e), RK_OK);
    json_decref(m.value);
    rk_kb_close(kb);
    cr_assert_eq(rk_kb_open(p, RK_KB_READONLY, 0, &kb, &e), RK_EVERSION);
    cr_assert_null(kb);
    cr_assert(strstr(e.msg, "newer raftkit"), "%s", e.msg);
    cr_assert(strstr(e.msg, p), "the message names the KB: %s", e.msg);
    free(p);
}

Test(kb, things_that_are_not_a_kb) {
    rk_kb *kb = NULL;
    rk_error e = {0};
    char path[600];
    snprintf(path, sizeof path, "%s/missing", dir);
    cr_assert_eq(rk_kb_open(path, RK_KB_READONLY, 0, &kb, &e), RK_ENOTFOUND);
    cr_assert_eq(rk_kb_open(dir, RK_KB_READONLY, 0, &kb, &e), RK_ENOTKB, "an empty directory");
    cr_assert(strstr(e.msg, "not a raftkit KB"), "%s", e.msg);
    free(write_text(dir, "notes.txt", "hello"));
    cr_assert_eq(rk_kb_open(dir, RK_KB_CREATE, 0, &kb, &e), RK_ENOTKB,
                 "a non-empty directory is not taken over");
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    cr_assert_neq(stat(path, &st), 0, "nothing was created");
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    cr_assert_eq(rk_kb_open(path, RK_KB_CREATE, 0, &kb, &e), RK_ENOTKB, "a file");
    char junk[8192];
    memset(junk, 'x', sizeof junk);
    free(write_file(dir, "data.mdb", junk, sizeof junk));
    cr_assert_eq(rk_kb_open(dir, RK_KB_WRITE, 0, &kb, &e), RK_ENOTKB, "a corrupt data.mdb");
    cr_assert(strstr(e.msg, "not a raftkit KB"), "%s", e.msg);
    cr_assert_null(kb);
}

static rk_status collect_key(const char *key, json_t *v, void *ctx, rk_error *err) {
    (void)err;
    json_array_append_new(ctx, json_pack("{sO}", key, v));
    return RK_OK;
}

static rk_status put3(rk_kb_txn *t, void *ctx, rk_error *err) {
    (void)ctx;
    const char *keys[] = {"index:a", "index:b", "indexer", "other"};
    rk_status s = RK_OK;
    for (int i = 0; !s && i < 4; i++) {
        json_t *j = json_integer(i);
        s = rk_kb_meta_put(t, keys[i], j, err);
        json_decref(j);
    }
    return s ? s : rk_kb_meta_delete(t, "other", err);
}

Test(kb, meta_round_trip_and_prefix_walk) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    rk_error e = {0};
    cr_assert_eq(rk_kb_write(kb, put3, NULL, &e), RK_OK);
    rk_kb_txn *t;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    json_t *all = json_array(), *v;
    cr_assert_eq(rk_kb_meta_foreach(t, "index:", collect_key, all, &e), RK_OK);
    char *text = json_dumps(all, JSON_COMPACT);
    cr_assert_str_eq(text, "[{\"index:a\":0},{\"index:b\":1}]");
    free(text);
    cr_assert_eq(rk_kb_meta_get(t, "other", &v, &e), RK_ENOTFOUND);
    cr_assert_eq(rk_kb_meta_get(t, "indexer", &v, &e), RK_OK);
    cr_assert_eq(json_integer_value(v), 2);
    json_decref(v);
    json_decref(all);
    rk_kb_read_end(t);
    rk_kb_close(kb);
    free(p);
}

typedef struct ref_in {
    uint64_t chunk, doc;
} ref_in;

static rk_status add_ref(rk_kb_txn *t, void *ctx, rk_error *err) {
    const ref_in *r = ctx;
    rk_chunk ref = {.id = r->chunk,
                    .doc_id = r->doc,
                    .ordinal = 3,
                    .start = 40,
                    .end = 45,
                    .page = 2,
                    .section = "B > Shared"};
    return rk_kb_chunk_ref_add(t, &ref, err);
}

static rk_status collect_id(uint64_t id, void *ctx, rk_error *err) {
    (void)err;
    uint64_t *ids = ctx;
    ids[++ids[0]] = id;
    return RK_OK;
}

static rk_status note_removed(uint64_t id, uint64_t gen, void *ctx, rk_error *err) {
    (void)gen, (void)err;
    uint64_t *ids = ctx;
    ids[++ids[0]] = id;
    return RK_OK;
}

/* A chunk stored once for two documents outlives its owner: it is handed to
 * the other one, with that one's place, and removed only with the last. */
Test(kb, a_shared_chunk_is_handed_over_when_its_owner_goes) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    doc_in a = {.uri = "a", .texts = {"shared text", "only in a"}}, b = {.uri = "b", .texts = {"only in b"}};
    write_doc(kb, &a);
    write_doc(kb, &b);
    rk_error e = {0};
    ref_in r = {a.chunk_ids[0], b.doc_id};
    cr_assert_eq(rk_kb_write(kb, add_ref, &r, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_kb_write(kb, del, &a.doc_id, &e), RK_OK, "%s", e.msg);

    rk_kb_txn *t;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    rk_chunk c;
    cr_assert_eq(rk_kb_chunk_get(t, a.chunk_ids[0], &c, &e), RK_OK, "the shared chunk keeps its id");
    cr_assert_str_eq(c.text, "shared text");
    cr_assert_eq(c.doc_id, b.doc_id);
    cr_assert_eq(c.ordinal, 3);
    cr_assert_eq(c.start, 40);
    cr_assert_eq(c.end, 45);
    cr_assert_eq(c.page, 2);
    cr_assert_str_eq(c.section, "B > Shared");
    float v[3];
    cr_assert_eq(rk_kb_vector_get(t, 1, a.chunk_ids[0], v, 3, &e), RK_OK, "and its vector");
    cr_assert_eq(rk_kb_chunk_get(t, a.chunk_ids[1], &c, &e), RK_ENOTFOUND);
    uint64_t ids[8] = {0};
    cr_assert_eq(rk_kb_doc_chunks(t, b.doc_id, collect_id, ids, &e), RK_OK);
    cr_assert_eq(ids[0], 2);
    cr_assert_eq(ids[1], b.chunk_ids[0]);
    cr_assert_eq(ids[2], a.chunk_ids[0], "b now owns the handed chunk");
    uint64_t removed[8] = {0};
    cr_assert_eq(rk_kb_removed_foreach(t, note_removed, removed, &e), RK_OK);
    cr_assert_eq(removed[0], 1);
    cr_assert_eq(removed[1], a.chunk_ids[1], "only the chunk nobody else holds is removed");
    rk_kb_read_end(t);

    cr_assert_eq(rk_kb_write(kb, del, &b.doc_id, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    uint64_t id;
    cr_assert_eq(rk_kb_chunk_get(t, a.chunk_ids[0], &c, &e), RK_ENOTFOUND, "gone with its last holder");
    cr_assert_eq(rk_kb_chunk_find(t, rk_kb_chunk_hash("shared text", 11), &id, &e), RK_ENOTFOUND);
    rk_kb_stats st;
    cr_assert_eq(rk_kb_stats_get(t, &st, &e), RK_OK);
    cr_assert_eq(st.chunks, 0);
    cr_assert_eq(st.removed, 3);
    rk_kb_read_end(t);
    rk_kb_close(kb);
    free(p);
}

/* A document that only holds a shared chunk lets go of it when deleted: the
 * owner's later deletion then removes the chunk. */
Test(kb, a_holder_deleted_first_leaves_the_owner_alone) {
    char *p = kb_path();
    rk_kb *kb = open_kb(p, RK_KB_CREATE, 0);
    doc_in a = {.uri = "a", .texts = {"shared text"}}, b = {.uri = "b", .texts = {"only in b"}};
    write_doc(kb, &a);
    write_doc(kb, &b);
    rk_error e = {0};
    ref_in r = {a.chunk_ids[0], b.doc_id};
    cr_assert_eq(rk_kb_write(kb, add_ref, &r, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_kb_write(kb, del, &b.doc_id, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_kb_write(kb, del, &a.doc_id, &e), RK_OK, "%s", e.msg);
    rk_kb_txn *t;
    rk_chunk c;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_chunk_get(t, a.chunk_ids[0], &c, &e), RK_ENOTFOUND,
                 "not handed to a deleted document");
    rk_kb_read_end(t);
    rk_kb_close(kb);
    free(p);
}

static rk_status put_cached(rk_kb_txn *t, void *ctx, rk_error *err) {
    (void)ctx;
    rk_status s = rk_kb_cache_put(t, rk_hash128_of("request one", 11), "reply one", 9, err);
    return s ? s : rk_kb_cache_put(t, rk_hash128_of("request two", 11), "", 0, err);
}

Test(kb, cached_replies_survive_reopen_by_their_request_hash) {
    char *path = kb_path();
    rk_kb *kb = open_kb(path, RK_KB_CREATE, 0);
    rk_error e = {0};
    cr_assert_eq(rk_kb_write(kb, put_cached, NULL, &e), RK_OK, "%s", e.msg);
    rk_kb_close(kb);
    kb = open_kb(path, RK_KB_READONLY, 0);
    rk_kb_txn *t;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK, "%s", e.msg);
    const void *data;
    size_t n;
    cr_assert_eq(rk_kb_cache_get(t, rk_hash128_of("request one", 11), &data, &n, &e), RK_OK, "%s", e.msg);
    cr_assert(n == 9 && !memcmp(data, "reply one", 9));
    cr_assert_eq(rk_kb_cache_get(t, rk_hash128_of("request two", 11), &data, &n, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(n, 0, "an empty reply is cached too");
    cr_assert_eq(rk_kb_cache_get(t, rk_hash128_of("request 3", 9), &data, &n, &e), RK_ENOTFOUND);
    rk_kb_read_end(t);
    rk_kb_close(kb);
    free(path);
}
