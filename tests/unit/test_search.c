/* Unit tests for index/embed.c and index/search.c on the demo corpus:
 * ingest it into a real KB, build the real FAISS index, query. */
#include "helpers.h"

#include <math.h>

#include "raftkit/embed.h"
#include "raftkit/ingest.h"
#include "raftkit/search.h"

static char *dir;
static rk_kb *kb;

/* A KB holding the demo corpus, chunked small so there are many chunks. */
static void setup(void) {
    dir = tmpdir_new();
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(dir, RK_KB_CREATE, 0, &kb, &e), RK_OK, "%s", e.msg);
    char docs[1024];
    snprintf(docs, sizeof docs, "%s/pipelines/demo/docs", RK_SOURCE_DIR);
    const char *paths[] = {docs};
    rk_ingest_opts o = {.chunk = {.size = 400, .overlap = 120}};
    rk_ingest_report r;
    cr_assert_eq(rk_ingest(kb, paths, 1, &o, &r, &e), RK_OK, "%s", e.msg);
    cr_assert_geq(r.chunks_added, 60);
}

static void teardown(void) {
    rk_kb_close(kb);
    tmpdir_free(dir);
}
TestSuite(search, .init = setup, .fini = teardown);

static void build(int dim) {
    rk_build_opts o = {.name = "default", .factory = "Flat", .dim = dim, .metric = RK_METRIC_IP};
    rk_build_report r;
    rk_error e = {0};
    cr_assert_eq(rk_index_build(kb, &o, &r, &e), RK_OK, "%s", e.msg);
    cr_assert_gt(r.chunks, 0);
}

typedef struct sentence_ctx {
    rk_searcher *sr;
    int tried, found;
    char failures[4096];
} sentence_ctx;

/* Queries every sentence of 6 words or more of a chunk; the chunk ranked
 * first must contain it (the same sentence may stand in an overlap). */
static rk_status check_chunk(const rk_chunk *c, void *vctx, rk_error *err) {
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
            size_t n;
            rk_status s = rk_searcher_query(ctx->sr, sentence, 1, hits, &n, err);
            if (s) return s;
            rk_chunk top;
            rk_kb_txn *t;
            if ((s = rk_kb_read_begin(kb, &t, err))) return s;
            if (n == 1 && !rk_kb_chunk_get(t, hits[0].chunk_id, &top, err) && strstr(top.text, sentence))
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
    sentence_ctx ctx = {0};
    rk_error e = {0};
    cr_assert_eq(rk_searcher_open(kb, "default", &ctx.sr, &e), RK_OK, "%s", e.msg);
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

Test(search, the_index_loaded_from_the_kb_answers_like_the_built_one) {
    build(256);
    const char *queries[] = {"Old Bess turbine", "ferry schedule and ticket prices", "Lantern Tide festival",
                             "weather station wind gust", "zzzz qqqq"};
    rk_hit first[5][8], again[5][8];
    size_t n1[5], n2[5];
    rk_error e = {0};
    rk_searcher *sr;
    cr_assert_eq(rk_searcher_open(kb, "default", &sr, &e), RK_OK, "%s", e.msg);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(rk_searcher_query(sr, queries[i], 8, first[i], &n1[i], &e), RK_OK);
    rk_searcher_close(sr);
    /* Close and reopen the KB itself: everything comes from disk. */
    rk_kb_close(kb);
    cr_assert_eq(rk_kb_open(dir, RK_KB_READONLY, 0, &kb, &e), RK_OK);
    cr_assert_eq(rk_searcher_open(kb, "default", &sr, &e), RK_OK, "%s", e.msg);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(rk_searcher_query(sr, queries[i], 8, again[i], &n2[i], &e), RK_OK);
        cr_assert_eq(n2[i], n1[i]);
        for (size_t k = 0; k < n1[i]; k++) {
            cr_assert_eq(first[i][k].chunk_id, again[i][k].chunk_id, "query %d rank %zu", i, k);
            cr_assert_eq(first[i][k].score, again[i][k].score, "query %d rank %zu", i, k);
        }
    }
    cr_assert_eq(n1[0], 8);
    for (int i = 0; i < 5; i++)
        for (size_t k = 1; k < n1[i]; k++)
            cr_assert_geq(first[i][k - 1].score, first[i][k].score, "best first");
    rk_searcher_close(sr);
}

Test(search, querying_before_build_is_a_clear_error) {
    rk_searcher *sr = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_searcher_open(kb, "default", &sr, &e), RK_ESTATE);
    cr_assert(strstr(e.msg, "raft-index build"), "%s", e.msg);
    cr_assert_null(sr);
}

Test(search, building_an_empty_kb_is_a_clear_error) {
    char *empty = tmpdir_new();
    rk_kb *ekb;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(empty, RK_KB_CREATE, 0, &ekb, &e), RK_OK);
    rk_build_opts o = {.name = "default", .factory = "Flat", .dim = 64, .metric = RK_METRIC_IP};
    cr_assert_eq(rk_index_build(ekb, &o, NULL, &e), RK_ESTATE);
    cr_assert(strstr(e.msg, "no chunks"), "%s", e.msg);
    rk_kb_txn *t;
    json_t *v;
    cr_assert_eq(rk_kb_read_begin(ekb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_meta_get(t, "embedder", &v, &e), RK_ENOTFOUND, "the failed build wrote nothing");
    rk_kb_read_end(t);
    rk_kb_close(ekb);
    tmpdir_free(empty);
}

Test(search, an_index_is_stale_after_documents_change) {
    build(128);
    char *extra = write_text(dir, "extra.md", "# Extra\n\nA brand new paragraph about quokkas.\n");
    const char *paths[] = {extra};
    rk_ingest_opts o = {.chunk = {.size = 400, .overlap = 120}};
    rk_ingest_report r;
    rk_error e = {0};
    cr_assert_eq(rk_ingest(kb, paths, 1, &o, &r, &e), RK_OK);
    rk_searcher *sr;
    cr_assert_eq(rk_searcher_open(kb, "default", &sr, &e), RK_OK);
    cr_assert(rk_searcher_stale(sr));
    rk_searcher_close(sr);
    build(128);
    cr_assert_eq(rk_searcher_open(kb, "default", &sr, &e), RK_OK);
    cr_assert(!rk_searcher_stale(sr));
    rk_hit h[1];
    size_t n;
    cr_assert_eq(rk_searcher_query(sr, "quokkas", 1, h, &n, &e), RK_OK);
    rk_kb_txn *t;
    rk_chunk c;
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_kb_chunk_get(t, h[0].chunk_id, &c, &e), RK_OK);
    cr_assert(strstr(c.text, "quokkas"));
    rk_kb_read_end(t);
    rk_searcher_close(sr);
    free(extra);
}

Test(search, embeddings_are_unit_length_deterministic_and_reloadable) {
    build(64);
    rk_kb_txn *t;
    rk_embedder *emb;
    rk_error e = {0};
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_embedder_load(t, &emb, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_embedder_dim(emb), 64);
    const char *text = "The turbines of Greyhound Sound turn with the tide";
    float a[64], b[64], stored[64];
    cr_assert_eq(rk_embedder_embed(emb, text, strlen(text), a, &e), RK_OK);
    cr_assert_eq(rk_embedder_embed(emb, text, strlen(text), b, &e), RK_OK);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    double norm = 0;
    for (int i = 0; i < 64; i++)
        norm += a[i] * a[i];
    cr_assert_float_eq(norm, 1.0, 1e-5);
    cr_assert_eq(rk_embedder_embed(emb, "  ,;. ", 6, a, &e), RK_OK);
    for (int i = 0; i < 64; i++)
        cr_assert_eq(a[i], 0.0f, "no words, zero vector");
    /* The stored vector of chunk 1 is what the reloaded embedder computes. */
    rk_chunk c;
    cr_assert_eq(rk_kb_chunk_get(t, 1, &c, &e), RK_OK);
    cr_assert_eq(rk_embedder_embed(emb, c.text, c.text_len, a, &e), RK_OK);
    cr_assert_eq(rk_kb_vector_get(t, 1, stored, 64, &e), RK_OK);
    cr_assert_eq(memcmp(a, stored, sizeof a), 0);
    rk_embedder_free(emb);
    rk_kb_read_end(t);
}

Test(search, rare_words_weigh_more_than_common_ones) {
    build(4096); /* wide enough that the two words below do not share a bucket */
    rk_kb_txn *t;
    rk_embedder *emb;
    rk_error e = {0};
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    cr_assert_eq(rk_embedder_load(t, &emb, &e), RK_OK);
    rk_kb_read_end(t);
    float v[4096];
    cr_assert_eq(rk_embedder_embed(emb, "the quokka", 10, v, &e), RK_OK);
    float big = 0, small = INFINITY;
    int nonzero = 0;
    for (int i = 0; i < 4096; i++) {
        float m = fabsf(v[i]);
        if (m == 0) continue;
        nonzero++;
        if (m > big) big = m;
        if (m < small) small = m;
    }
    cr_assert_eq(nonzero, 3, "two unigrams and one bigram");
    cr_assert_gt(big, 1.5f * small, "'the' is in most chunks, 'quokka' in none");
    rk_embedder_free(emb);
}
