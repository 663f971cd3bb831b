/* Unit tests for index/embed.c and index/search.c on the demo corpus:
 * ingest it into a real KB, build real FAISS indexes, update, verify, query. */
#include "helpers.h"

#include <math.h>

#include "httpd.h"
#include "raftkit/embed.h"
#include "raftkit/ingest.h"
#include "raftkit/search.h"

static char *dir;
static rk_kb *kb;
static const rk_chunk_opts CHUNKS = {.size = 400, .overlap = 120};

static void ingest(const char *path) {
    const char *paths[] = {path};
    rk_ingest_opts o = {.chunk = CHUNKS, .prune = 0};
    rk_ingest_report r;
    rk_error e = {0};
    cr_assert_eq(rk_ingest(kb, paths, 1, &o, &r, &e), RK_OK, "%s", e.msg);
}

/* A KB holding the demo corpus, chunked small so there are many chunks. */
static void setup(void) {
    dir = tmpdir_new();
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(dir, RK_KB_CREATE, 0, &kb, &e), RK_OK, "%s", e.msg);
    char docs[1024];
    snprintf(docs, sizeof docs, "%s/pipelines/demo/docs", RK_SOURCE_DIR);
    ingest(docs);
}

static void teardown(void) {
    rk_kb_close(kb);
    tmpdir_free(dir);
}
TestSuite(search, .init = setup, .fini = teardown);

static rk_build_report build_as(const char *name, const char *factory, int dim, int rebuild) {
    rk_build_opts o = {.name = name, .factory = factory, .embed = {.dim = dim, .b = -1}, .rebuild = rebuild};
    rk_build_report r;
    rk_error e = {0};
    cr_assert_eq(rk_index_build(kb, &o, &r, &e), RK_OK, "%s", e.msg);
    cr_assert_gt(r.vectors, 0);
    return r;
}

static void build(int dim) { build_as("default", "Flat", dim, 1); }

static uint64_t chunk_count(void) {
    rk_kb_txn *t;
    rk_kb_stats st;
    cr_assert_eq(rk_kb_read_begin(kb, &t, NULL), RK_OK);
    cr_assert_eq(rk_kb_stats_get(t, &st, NULL), RK_OK);
    rk_kb_read_end(t);
    return st.chunks;
}

static size_t query1(rk_searcher *sr, const char *text, size_t k, rk_hit *hits) {
    size_t n;
    rk_error e = {0};
    cr_assert_eq(rk_searcher_query(sr, 1, &text, k, hits, &n, &e), RK_OK, "%s", e.msg);
    return n;
}

static rk_searcher *open_searcher(const char *name) {
    rk_searcher *sr;
    rk_error e = {0};
    cr_assert_eq(rk_searcher_open(kb, name, NULL, &sr, &e), RK_OK, "%s", e.msg);
    return sr;
}

static rk_status count_key(const char *key, json_t *v, void *ctx, rk_error *err) {
    (void)key, (void)v, (void)err;
    ++*(int *)ctx;
    return RK_OK;
}

typedef struct sentence_ctx {
    rk_searcher *sr;
    int tried, found;
    char failures[4096];
} sentence_ctx;

/* Queries every sentence of 6 words or more of a chunk; the chunk ranked
 * first must contain it (the same sentence may stand in an overlap). */
static rk_status check_chunk(const rk_chunk *c, void *vctx, rk_error *err) {
    (void)err;
    sentence_ctx *ctx = vctx;
    const char *p = c->text, *end = c->text + c->text_len;
    while (p < end) {
        const char *q = p;
        while (q < end &&
               !((*q == '.' || *q == '?' || *q == '!') && (q + 1 == end || q[1] == ' ' || q[1] == '\n')) &&
               *q != '\n')
            q++;
        if (q < end && *q != '\n') q++;
        int words = 0;
        for (const char *w = p; w < q; w++)
            words += *w == ' ';
        if (words >= 5 && *p != '#') {
            char sentence[2000];
            snprintf(sentence, sizeof sentence, "%.*s", (int)(q - p), p);
            rk_hit hits[1];
            size_t n = query1(ctx->sr, sentence, 1, hits);
            rk_chunk top;
            rk_kb_txn *t;
            cr_assert_eq(rk_kb_read_begin(kb, &t, NULL), RK_OK);
            if (n == 1 && !rk_kb_chunk_get(t, hits[0].chunk_id, &top, NULL) && strstr(top.text, sentence))
                ctx->found++;
            else {
                size_t l = strlen(ctx->failures);
                snprintf(ctx->failures + l, sizeof ctx->failures - l, "chunk %llu: %.60s\n",
                         (unsigned long long)c->id, sentence);
            }
            rk_kb_read_end(t);
            ctx->tried++;
        }
        p = q;
        while (p < end && (*p == ' ' || *p == '\n'))
            p++;
    }
    return RK_OK;
}

Test(search, a_sentence_from_any_chunk_finds_that_chunk_first) {
    build(1024);
    sentence_ctx ctx = {.sr = open_searcher("default")};
    rk_error e = {0};
    cr_assert(!rk_searcher_stale(ctx.sr));
    rk_kb_txn *t;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_chunk_foreach(t, check_chunk, &ctx, &e), RK_OK, "%s", e.msg);
    rk_kb_read_end(t);
    rk_searcher_close(ctx.sr);
    cr_assert_geq(ctx.tried, 200);
    cr_assert_eq(ctx.found, ctx.tried, "%d of %d sentences missed:\n%s", ctx.tried - ctx.found, ctx.tried,
                 ctx.failures);
}

Test(search, a_batch_answers_like_queries_one_by_one_and_like_the_reloaded_kb) {
    build(256);
    const char *queries[] = {"Old Bess turbine", "ferry schedule and ticket prices", "Lantern Tide festival",
                             "weather station wind gust", "zzzz qqqq"};
    rk_hit batch[5 * 8], one[8];
    size_t counts[5];
    rk_error e = {0};
    rk_searcher *sr = open_searcher("default");
    cr_assert_eq(rk_searcher_query(sr, 5, queries, 8, batch, counts, &e), RK_OK, "%s", e.msg);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(query1(sr, queries[i], 8, one), counts[i]);
        for (size_t k = 0; k < counts[i]; k++)
            cr_assert_eq(one[k].chunk_id, batch[i * 8 + k].chunk_id, "query %d rank %zu", i, k);
    }
    rk_searcher_close(sr);
    /* Close and reopen the KB itself: everything comes from disk. */
    rk_kb_close(kb);
    cr_assert_eq(rk_kb_open(dir, RK_KB_READONLY, 0, &kb, &e), RK_OK);
    sr = open_searcher("default");
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(query1(sr, queries[i], 8, one), counts[i]);
        for (size_t k = 0; k < counts[i]; k++) {
            cr_assert_eq(one[k].chunk_id, batch[i * 8 + k].chunk_id, "query %d rank %zu", i, k);
            cr_assert_eq(one[k].score, batch[i * 8 + k].score, "query %d rank %zu", i, k);
        }
    }
    cr_assert_eq(counts[0], 8);
    for (size_t k = 1; k < counts[0]; k++)
        cr_assert_geq(batch[k - 1].score, batch[k].score, "best first");
    rk_searcher_close(sr);
}

Test(search, querying_before_build_is_a_clear_error) {
    rk_searcher *sr = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_searcher_open(kb, "default", NULL, &sr, &e), RK_ESTATE);
    cr_assert(strstr(e.msg, "raft-index build"), "%s", e.msg);
    cr_assert_null(sr);
}

Test(search, building_an_empty_kb_is_a_clear_error_and_writes_nothing) {
    char *empty = tmpdir_new();
    rk_kb *ekb;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(empty, RK_KB_CREATE, 0, &ekb, &e), RK_OK);
    rk_build_opts o = {.embed = {.dim = 64, .b = -1}};
    rk_build_report r;
    cr_assert_eq(rk_index_build(ekb, &o, &r, &e), RK_ESTATE);
    cr_assert(strstr(e.msg, "no chunks"), "%s", e.msg);
    rk_kb_txn *t;
    int n = 0;
    cr_assert_eq(rk_kb_read_begin(ekb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_meta_foreach(t, "embedder:", count_key, &n, &e), RK_OK);
    cr_assert_eq(rk_kb_meta_foreach(t, "index:", count_key, &n, &e), RK_OK);
    cr_assert_eq(n, 0, "the failed build wrote nothing");
    rk_kb_read_end(t);
    rk_kb_close(ekb);
    tmpdir_free(empty);
}

/* The ids index name holds, sorted. */
static uint64_t *index_ids(const char *name, size_t *n) {
    rk_kb_txn *t;
    json_t *spec;
    rk_vindex *ix;
    uint64_t *ids;
    char key[64];
    rk_error e = {0};
    snprintf(key, sizeof key, "index:%s", name);
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_meta_get(t, key, &spec, &e), RK_OK);
    cr_assert_eq(rk_vindex_load(t, name, json_string_value(json_object_get(spec, "factory")), &ix, &e), RK_OK,
                 "%s", e.msg);
    cr_assert_eq(rk_vindex_ids(ix, &ids, n, &e), RK_OK, "%s", e.msg);
    rk_vindex_free(ix);
    json_decref(spec);
    rk_kb_read_end(t);
    return ids;
}

static rk_status collect_id(const rk_chunk *c, void *ctx, rk_error *err) {
    (void)err;
    uint64_t **p = ctx;
    *(*p)++ = c->id;
    return RK_OK;
}

/* Every chunk id, sorted (chunk_foreach goes in id order). */
static uint64_t *chunk_ids(size_t *n) {
    *n = chunk_count();
    uint64_t *ids = malloc(*n * sizeof *ids), *at = ids;
    rk_kb_txn *t;
    cr_assert_eq(rk_kb_read_begin(kb, &t, NULL), RK_OK);
    cr_assert_eq(rk_kb_chunk_foreach(t, collect_id, &at, NULL), RK_OK);
    rk_kb_read_end(t);
    return ids;
}

Test(search, update_adds_and_removes_exactly_the_changed_chunks) {
    build_as("default", "Flat", 128, 0);
    size_t n0, nc;
    uint64_t *before = index_ids("default", &n0), *chunks = chunk_ids(&nc);
    cr_assert_eq(n0, nc);
    cr_assert_eq(memcmp(before, chunks, n0 * sizeof *before), 0);
    free(chunks);
    /* A new document, and one of the demo documents changed: its chunks go, new ones come. */
    char *extra = write_text(dir, "extra.md", "# Extra\n\nA brand new paragraph about quokkas.\n");
    ingest(extra);
    rk_searcher *sr = open_searcher("default");
    cr_assert(rk_searcher_stale(sr));
    rk_searcher_close(sr);
    char *changed =
        write_text(dir, "extra.md", "# Extra\n\nQuokkas moved to the island of Skarra in 1962.\n");
    ingest(changed);
    rk_build_report r;
    rk_error e = {0};
    cr_assert_eq(rk_index_update(kb, "default", NULL, &r, &e), RK_OK, "%s", e.msg);
    size_t n1;
    uint64_t *after = index_ids("default", &n1);
    chunks = chunk_ids(&nc);
    cr_assert_eq(n1, nc, "the index holds every chunk and nothing else");
    cr_assert_eq(memcmp(after, chunks, n1 * sizeof *after), 0);
    cr_assert_eq(r.added, 1,
                 "only the chunk of the changed document is new (the first version came and went)");
    cr_assert_eq(r.embedded, 1);
    cr_assert_eq(r.removed, 0, "the first version was never in the index");
    sr = open_searcher("default");
    cr_assert(!rk_searcher_stale(sr));
    rk_hit h[3];
    size_t n = query1(sr, "quokkas Skarra", 3, h);
    rk_searcher_close(sr);
    rk_kb_txn *t;
    rk_chunk c;
    cr_assert_geq(n, 1);
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_chunk_get(t, h[0].chunk_id, &c, &e), RK_OK);
    cr_assert(strstr(c.text, "Skarra"), "%s", c.text);
    rk_kb_read_end(t);
    /* Changing the document again after the update: now its indexed chunk goes. */
    free(changed);
    changed = write_text(dir, "extra.md", "# Extra\n\nNo more marsupials here.\n");
    ingest(changed);
    cr_assert_eq(rk_index_update(kb, "default", NULL, &r, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(r.removed, 1);
    cr_assert_eq(r.added, 1);
    free(after);
    free(chunks);
    after = index_ids("default", &n1);
    chunks = chunk_ids(&nc);
    cr_assert_eq(n1, nc);
    cr_assert_eq(memcmp(after, chunks, n1 * sizeof *after), 0);
    free(before);
    free(after);
    free(chunks);
    free(extra);
    free(changed);
}

Test(search, a_second_index_reuses_the_vectors_and_a_different_one_needs_rebuild) {
    rk_build_report a = build_as("exact", "Flat", 128, 0);
    cr_assert_eq(a.embedded, chunk_count());
    rk_build_report b = build_as("fast", "HNSW32", 128, 0);
    cr_assert_eq(b.embedded, 0, "same embedder, same vectors");
    cr_assert_eq(b.reused, chunk_count());
    rk_build_opts o = {.name = "fast", .factory = "Flat", .embed = {.dim = 128, .b = -1}};
    rk_build_report r;
    rk_error e = {0};
    cr_assert_eq(rk_index_build(kb, &o, &r, &e), RK_ESTATE);
    cr_assert(strstr(e.msg, "HNSW32") && strstr(e.msg, "--rebuild"), "%s", e.msg);
    o.rebuild = 1;
    cr_assert_eq(rk_index_build(kb, &o, &r, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(r.embedded, 0,
                 "the KB did not change, so a new hash embedder is the same one: same id, same vectors");
    cr_assert_eq(r.reused, chunk_count());
    /* The old embedder still serves "exact"; both indexes answer. */
    rk_hit h[1];
    rk_searcher *x = open_searcher("exact"), *f = open_searcher("fast");
    cr_assert_eq(query1(x, "Old Bess turbine", 1, h), 1);
    cr_assert_eq(query1(f, "Old Bess turbine", 1, h), 1);
    rk_searcher_close(x);
    rk_searcher_close(f);
    json_t *report;
    cr_assert_eq(rk_index_verify(kb, &report, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(json_array_size(json_object_get(report, "problems")), 0, "%s",
                 json_dumps(json_object_get(report, "problems"), 0));
    cr_assert_eq(json_integer_value(json_object_get(report, "indexes")), 2);
    json_decref(report);
    /* After an ingest, --rebuild fits a new hash embedder; the old one goes
     * with its vectors once no index uses it. */
    char *extra = write_text(dir, "extra.md", "# Extra\n\nA brand new paragraph about quokkas.\n");
    ingest(extra);
    free(extra);
    a = build_as("exact", "Flat", 128, 1);
    cr_assert_eq(a.embedded, chunk_count(), "new statistics, new vectors");
    rk_kb_txn *t;
    rk_kb_stats st;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_stats_get(t, &st, &e), RK_OK);
    rk_kb_read_end(t);
    cr_assert_eq(st.vectors, 2 * st.chunks - 1, "the old embedder still serves fast (all but the new chunk)");
    b = build_as("fast", "HNSW32", 128, 1);
    cr_assert_eq(b.embedded, 0);
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_stats_get(t, &st, &e), RK_OK);
    int embedders = 0;
    cr_assert_eq(rk_kb_meta_foreach(t, "embedder:", count_key, &embedders, &e), RK_OK);
    rk_kb_read_end(t);
    cr_assert_eq(st.vectors, st.chunks, "the old embedder's vectors went with it");
    cr_assert_eq(embedders, 1);
}

Test(search, an_index_needing_more_training_vectors_than_chunks_says_both_numbers) {
    rk_build_opts o = {.name = "ivf", .factory = "IVF4096,Flat", .embed = {.dim = 32, .b = -1}};
    rk_build_report r;
    rk_error e = {0};
    cr_assert_eq(rk_index_build(kb, &o, &r, &e), RK_EINVAL);
    char chunks[32];
    snprintf(chunks, sizeof chunks, "%llu", (unsigned long long)chunk_count());
    cr_assert(strstr(e.msg, "4096") && strstr(e.msg, chunks), "%s", e.msg);
    o.factory = "IVF8,Flat";
    o.train_sample = 50;
    cr_assert_eq(rk_index_build(kb, &o, &r, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(r.trained_on, 50);
    cr_assert_eq(r.vectors, chunk_count());
}

typedef struct tamper {
    uint64_t key, victim;
} tamper;

static rk_status tamper_vectors(rk_kb_txn *t, void *vctx, rk_error *err) {
    tamper *x = vctx;
    float v[64] = {1};
    rk_status s = rk_kb_vector_delete(t, x->key, x->victim, err);
    if (!s) s = rk_kb_vector_put(t, x->key ^ 1, x->victim, v, 64, err); /* an embedder no one recorded */
    return s;
}

Test(search, verify_finds_a_missing_vector_and_a_stray_one) {
    build(64);
    json_t *report;
    rk_error e = {0};
    cr_assert_eq(rk_index_verify(kb, &report, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(json_array_size(json_object_get(report, "problems")), 0);
    json_decref(report);
    rk_kb_txn *t;
    json_t *spec;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_meta_get(t, "index:default", &spec, &e), RK_OK);
    rk_kb_read_end(t);
    tamper x = {strtoull(json_string_value(json_object_get(spec, "embedder")), NULL, 16), 7};
    json_decref(spec);
    cr_assert_eq(rk_kb_write(kb, tamper_vectors, &x, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_index_verify(kb, &report, &e), RK_OK, "%s", e.msg);
    char *text = json_dumps(report, 0);
    cr_assert(strstr(text, "1 chunks without a vector (run 'raft-index update') (id 7)"), "%s", text);
    cr_assert(strstr(text, "1 ids that should not be there (id 7)"), "the FAISS index still has it: %s",
              text);
    cr_assert(strstr(text, "1 vectors of an embedder the KB does not record (id 7)"), "%s", text);
    free(text);
    json_decref(report);
}

Test(search, embeddings_are_unit_length_deterministic_and_reloadable) {
    build(64);
    rk_kb_txn *t;
    rk_embedder *emb;
    rk_error e = {0};
    json_t *spec;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_meta_get(t, "index:default", &spec, &e), RK_OK);
    cr_assert_eq(rk_embedder_load(t, json_string_value(json_object_get(spec, "embedder")), NULL, &emb, &e),
                 RK_OK, "%s", e.msg);
    json_decref(spec);
    cr_assert_eq(rk_embedder_dim(emb), 64);
    const char *text = "The turbines of Greyhound Sound turn with the tide";
    size_t len = strlen(text);
    float a[64], b[64], stored[64];
    cr_assert_eq(rk_embedder_embed(emb, 1, &text, &len, a, NULL, &e), RK_OK);
    cr_assert_eq(rk_embedder_embed(emb, 1, &text, &len, b, NULL, &e), RK_OK);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    double norm = 0;
    for (int i = 0; i < 64; i++)
        norm += a[i] * a[i];
    cr_assert_float_eq(norm, 1.0, 1e-5);
    const char *none = "  ,;. ";
    len = strlen(none);
    cr_assert_eq(rk_embedder_embed(emb, 1, &none, &len, a, NULL, &e), RK_OK);
    for (int i = 0; i < 64; i++)
        cr_assert_eq(a[i], 0.0f, "no words, zero vector");
    /* The stored vector of chunk 1 is what the reloaded embedder computes. */
    rk_chunk c;
    cr_assert_eq(rk_kb_chunk_get(t, 1, &c, &e), RK_OK);
    const char *ct = c.text;
    len = c.text_len;
    cr_assert_eq(rk_embedder_embed(emb, 1, &ct, &len, a, NULL, &e), RK_OK);
    cr_assert_eq(rk_kb_vector_get(t, rk_embedder_key(emb), 1, stored, 64, &e), RK_OK);
    cr_assert_eq(memcmp(a, stored, sizeof a), 0);
    rk_embedder_free(emb);
    rk_kb_read_end(t);
}

/* The embedding of text at dim 4096 (wide enough that the terms below do not
 * share a bucket): the magnitudes of its nonzero entries, largest first. */
static int weights(rk_embedder *emb, const char *text, float *w) {
    float v[4096];
    size_t len = strlen(text);
    cr_assert_eq(rk_embedder_embed(emb, 1, &text, &len, v, NULL, NULL), RK_OK);
    int n = 0;
    for (int i = 0; i < 4096; i++)
        if (v[i] != 0) w[n++] = fabsf(v[i]);
    for (int i = 0; i < n; i++) /* insertion sort, descending */
        for (int j = i; j > 0 && w[j] > w[j - 1]; j--) {
            float x = w[j];
            w[j] = w[j - 1];
            w[j - 1] = x;
        }
    return n;
}

Test(search, bm25_weights_rare_words_up_and_saturates_repeats) {
    rk_kb_txn *t;
    rk_embedder *emb;
    rk_error e = {0};
    rk_embed_opts o = {.dim = 4096, .k1 = 1.2, .b = 0.75};
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_embedder_new(t, &o, &emb, &e), RK_OK, "%s", e.msg);
    rk_kb_read_end(t);
    float w[16];
    cr_assert_eq(weights(emb, "the quokka", w), 3, "two unigrams and one bigram");
    cr_assert_gt(w[0], 1.5f * w[2], "'the' is in most chunks, 'quokka' in none");
    /* tf 1 -> 3 of one word beside another: the ratio of their weights grows, but less than 3x (k1). */
    float one[16], three[16];
    cr_assert_eq(weights(emb, "quokka wombat", one), 3);
    cr_assert_eq(weights(emb, "quokka quokka quokka wombat", three), 4);
    float r3 = three[0] / three[2];
    cr_assert_gt(three[0], three[1]);
    cr_assert_lt(r3, 3.0f, "BM25 saturates term frequency");
    cr_assert_gt(r3, 1.2f);
    cr_assert_str_eq(rk_embedder_describe(emb), "hash (dim 4096, k1 1.2, b 0.75)");
    rk_embedder_free(emb);
}

Test(search, rrf_fuses_by_rank) {
    rk_hit a[] = {{1, 0.9f}, {2, 0.8f}, {3, 0.7f}}, b[] = {{3, 10}, {4, 9}, {1, 8}};
    const rk_hit *lists[] = {a, b};
    size_t counts[] = {3, 3}, n;
    rk_hit out[4];
    cr_assert_eq(rk_fuse_rrf(2, lists, counts, 4, out, &n, NULL), RK_OK);
    cr_assert_eq(n, 4);
    /* 1: 1/61 + 1/63; 3: 1/63 + 1/61 (a tie, broken by id); 2: 1/62; 4: 1/62. */
    cr_assert_eq(out[0].chunk_id, 1);
    cr_assert_eq(out[1].chunk_id, 3);
    cr_assert_eq(out[2].chunk_id, 2);
    cr_assert_eq(out[3].chunk_id, 4);
    cr_assert_float_eq(out[0].score, 1.0f / 61 + 1.0f / 63, 1e-6);
}

/* ---- the http embedder through build ---- */

typedef struct server {
    int requests, fail_from; /* requests from fail_from on answer 500 (0: never) */
} server;

/* Embeds each input text as 8 numbers made from its bytes. */
static void embeddings(const httpd_request *req, httpd_reply *rep, void *ctx) {
    server *s = ctx;
    s->requests++;
    json_t *body = json_loads(req->body ? req->body : "", 0, NULL), *data = json_array();
    if (s->fail_from && s->requests >= s->fail_from) {
        httpd_text(rep, 500, "application/json", "{\"error\": {\"message\": \"overloaded\"}}");
        json_decref(body);
        json_decref(data);
        return;
    }
    size_t i;
    json_t *in;
    json_array_foreach(json_object_get(body, "input"), i, in) {
        const char *t = json_string_value(in);
        json_t *v = json_array();
        for (int j = 0; j < 8; j++) {
            unsigned h = 2166136261u + (unsigned)j;
            for (const char *p = t; *p; p++)
                h = (h ^ (unsigned char)*p) * 16777619u;
            json_array_append_new(v, json_real((double)(h % 1000) / 1000.0));
        }
        json_array_append_new(data, json_pack("{sisO}", "index", (int)i, "embedding", v));
        json_decref(v);
    }
    json_t *reply = json_pack("{so}", "data", data);
    char *text = json_dumps(reply, 0);
    json_decref(reply);
    rep->status = 200;
    rep->content_type = "application/json";
    rep->body = text;
    rep->body_len = strlen(text);
    rep->free_body = 1;
    json_decref(body);
}

Test(search, an_http_embedder_that_fails_mid_build_resumes_with_what_is_missing) {
    server s = {.fail_from = 3};
    httpd *h = httpd_start(embeddings, &s);
    char *url = httpd_url(h, ""), spec[300];
    snprintf(spec, sizeof spec, "http:%s", url);
    /* 10 texts a request: the first is the probe, the next carries chunks 1..10, the third fails. */
    rk_build_opts o = {.name = "dense", .embed = {.spec = spec, .model = "tiny", .batch = 10, .retries = 0}};
    rk_build_report r;
    rk_error e = {0};
    cr_assert_eq(rk_index_build(kb, &o, &r, &e), RK_ENET);
    cr_assert(strstr(e.msg, "chunk 11") && strstr(e.msg, "500"), "%s", e.msg);
    cr_assert_eq(r.embedded, 10, "the vectors of the request that succeeded are kept");
    s.fail_from = 0;
    cr_assert_eq(rk_index_build(kb, &o, &r, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(r.reused, 10);
    cr_assert_eq(r.embedded, chunk_count() - 10, "only what was missing");
    cr_assert_eq(r.vectors, chunk_count());
    /* Hybrid: the lexical index and the dense one, fused. */
    build_as("lexical", "Flat", 256, 0);
    rk_searcher *d = open_searcher("dense"), *l = open_searcher("lexical");
    rk_hit hd[5], hl[5], fused[5];
    size_t nd = query1(d, "Old Bess turbine", 5, hd), nl = query1(l, "Old Bess turbine", 5, hl), n;
    const rk_hit *lists[] = {hd, hl};
    size_t counts[] = {nd, nl};
    cr_assert_eq(rk_fuse_rrf(2, lists, counts, 5, fused, &n, &e), RK_OK);
    cr_assert_eq(n, 5);
    rk_searcher_close(d);
    rk_searcher_close(l);
    /* Asking the dense index for the hash embedder is refused. */
    rk_searcher *sr = NULL;
    rk_embed_opts other = {.spec = "hash"};
    cr_assert_eq(rk_searcher_open(kb, "dense", &other, &sr, &e), RK_ESTATE);
    cr_assert(strstr(e.msg, "http"), "%s", e.msg);
    json_t *report;
    cr_assert_eq(rk_index_verify(kb, &report, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(json_array_size(json_object_get(report, "problems")), 0);
    json_decref(report);
    free(url);
    httpd_stop(h);
}
