/* Unit tests for index/embed_http.c against the loopback server of httpd.h,
 * which answers like an OpenAI-compatible /v1/embeddings endpoint. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../index/embed_backend.h"
#include "httpd.h"

#define KEY "sk-test-0123456789abcdef"
#define KEY_ENV "RK_TEST_EMBED_KEY"
#define DIM 6

/* What the server replies. */
typedef enum mode {
    OK,         /* the embeddings, data in the order of the input */
    REVERSED,   /* the same, data in reverse order */
    BUSY_ONCE,  /* 429 with Retry-After: 0 to the first request, then OK */
    SLOW,       /* OK, but three seconds late */
    WRONG_DIM,  /* the last embedding has DIM + 1 numbers */
    NOT_JSON,   /* 200 with an HTML page */
    NO_DATA,    /* 200 with {"object": "list"} */
    DUP_INDEX,  /* every item says index 0 */
    BAD_INDEX,  /* the last item's index is n */
    NOT_NUMBER, /* a string among the numbers */
    BROKEN,     /* 500 with an OpenAI error object, Retry-After: 0 */
    BAD_KEY,    /* 401 whose message repeats the key */
    EMPTY_EMB,  /* every embedding is [] */
} mode;

/* What the server saw of the last request, and what the test tells it. */
typedef struct srv {
    mode mode;
    int hits;
    char path[2048], auth[256], content_type[64];
    int has_auth;
    json_t *req; /* the last request body, parsed; NULL when it was not JSON */
} srv;

/* Component j of the embedding of text t: exact in a float, and different for
 * texts with different first bytes, so values show which text went where. */
static float value(const char *t, size_t len, int j) {
    return len ? (float)((unsigned char)t[(size_t)j % len] * 10 + j) : -1.0f;
}

static json_t *embedding(const char *t, size_t len, int dim) {
    json_t *a = json_array();
    for (int j = 0; j < dim; j++)
        json_array_append_new(a, json_real(value(t, len, j)));
    return a;
}

static void add_header(httpd_reply *rep, const char *line) {
    size_t n = strlen(rep->headers);
    snprintf(rep->headers + n, sizeof rep->headers - n, "%s\r\n", line);
}

static void handler(const httpd_request *req, httpd_reply *rep, void *ud) {
    srv *s = ud;
    s->hits++;
    snprintf(s->path, sizeof s->path, "%s", req->path);
    s->has_auth = httpd_header(req, "Authorization", s->auth, sizeof s->auth) != NULL;
    if (!httpd_header(req, "Content-Type", s->content_type, sizeof s->content_type))
        s->content_type[0] = '\0';
    json_decref(s->req);
    s->req = req->body ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
    switch (s->mode) {
    case BUSY_ONCE:
        if (s->hits > 1) break;
        httpd_text(rep, 429, "text/plain", "slow down");
        add_header(rep, "Retry-After: 0");
        return;
    case SLOW: rep->delay_ms = 3000; break;
    case NOT_JSON: httpd_text(rep, 200, "text/html", "<html>gateway</html>"); return;
    case NO_DATA: httpd_text(rep, 200, "application/json", "{\"object\": \"list\"}"); return;
    case BROKEN:
        httpd_text(rep, 500, "application/json", "{\"error\": {\"message\": \"model overloaded\"}}");
        add_header(rep, "Retry-After: 0");
        return;
    case BAD_KEY:
        httpd_text(rep, 401, "application/json",
                   "{\"error\": {\"message\": \"Incorrect API key provided: " KEY "\"}}");
        return;
    default: break;
    }
    const json_t *input = json_object_get(s->req, "input");
    size_t n = json_array_size(input);
    json_t *data = json_array();
    for (size_t k = 0; k < n; k++) {
        size_t i = s->mode == REVERSED ? n - 1 - k : k;
        const json_t *t = json_array_get(input, i);
        int dim = s->mode == EMPTY_EMB ? 0 : s->mode == WRONG_DIM && i == n - 1 ? DIM + 1 : DIM;
        json_t *emb = embedding(json_string_value(t), json_string_length(t), dim);
        if (s->mode == NOT_NUMBER && i == n - 1) json_array_set_new(emb, 2, json_string("x"));
        size_t index = s->mode == DUP_INDEX ? 0 : s->mode == BAD_INDEX && i == n - 1 ? n : i;
        json_array_append_new(data, json_pack("{s:s, s:I, s:o}", "object", "embedding", "index",
                                              (json_int_t)index, "embedding", emb));
    }
    httpd_json(rep, 200, json_pack("{s:s, s:o, s:s}", "object", "list", "data", data, "model", "m"));
}

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static const char *const texts[] = {"alpha", "beta gamma", "\xc3\xa9t\xc3\xa9"}; /* "été" */
static const size_t lens[] = {5, 10, 5};

/* Opens an embedder for s's base URL with dimension DIM (no probe). */
static rk_embed_http *open_dim(httpd *s, const rk_embed_opts *o) {
    char *url = httpd_url(s, "");
    int dim = DIM;
    rk_embed_http *h = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_embed_http_open(url, o, &dim, &h, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(dim, DIM);
    free(url);
    return h;
}

/* Embeds the three texts expecting failure st; e gets the error. */
static void embed_fails(rk_embed_http *h, rk_status st, rk_error *e) {
    float out[3 * DIM];
    cr_assert_eq(rk_embed_http_embed(h, 3, texts, lens, DIM, out, e), st, "%s", e->msg);
}

/* The endpoint URL of s, for comparing error messages; the caller frees. */
static char *endpoint_of(httpd *s) { return httpd_url(s, "/v1/embeddings"); }

static void assert_starts_with_url(httpd *s, const rk_error *e) {
    char *url = endpoint_of(s);
    cr_assert(strncmp(e->msg, url, strlen(url)) == 0 && e->msg[strlen(url)] == ':', "%s", e->msg);
    free(url);
}

static void stop(httpd *s, srv *c) {
    httpd_stop(s);
    json_decref(c->req);
}

Test(embed_http, base_urls_get_v1_embeddings) {
    srv c = {.mode = OK};
    httpd *s = httpd_start(handler, &c);
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", httpd_port(s));
    const char *tails[][2] = {{"", "/v1/embeddings"},
                              {"/", "/v1/embeddings"},
                              {"/v1", "/v1/embeddings"},
                              {"/v1//", "/v1/embeddings"},
                              {"/api/v1/", "/api/v1/embeddings"},
                              {"/x/embeddings", "/x/embeddings"}};
    for (size_t k = 0; k < sizeof tails / sizeof *tails; k++) {
        char url[128];
        snprintf(url, sizeof url, "%s%s", base, tails[k][0]);
        int dim = 0;
        rk_embed_http *h;
        rk_error e = {0};
        cr_assert_eq(rk_embed_http_open(url, NULL, &dim, &h, &e), RK_OK, "%s: %s", url, e.msg);
        cr_assert_str_eq(c.path, tails[k][1], "%s", url);
        rk_embed_http_free(h);
    }
    stop(s, &c);
}

Test(embed_http, probe_learns_the_dimension) {
    srv c = {.mode = OK};
    httpd *s = httpd_start(handler, &c);
    char *url = httpd_url(s, "/v1");
    int dim = 0;
    rk_embed_http *h;
    rk_error e = {0};
    cr_assert_eq(rk_embed_http_open(url, NULL, &dim, &h, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(dim, DIM);
    cr_assert_eq(c.hits, 1);
    const json_t *input = json_object_get(c.req, "input");
    cr_assert_eq(json_array_size(input), 1);
    cr_assert_str_eq(json_string_value(json_array_get(input, 0)), "raftkit");
    rk_embed_http_free(h);
    /* A known dimension needs no request. */
    h = open_dim(s, NULL);
    cr_assert_eq(c.hits, 1);
    rk_embed_http_free(h);
    free(url);
    stop(s, &c);
}

Test(embed_http, request_fields_and_values_in_index_order) {
    srv c = {.mode = REVERSED};
    httpd *s = httpd_start(handler, &c);
    rk_embed_opts o = {.model = "nomic-embed-text", .retries = -1};
    rk_embed_http *h = open_dim(s, &o);
    cr_assert_eq(rk_embed_http_batch(h), 64);
    float out[3 * DIM];
    rk_error e = {0};
    cr_assert_eq(rk_embed_http_embed(h, 3, texts, lens, DIM, out, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(c.hits, 1);
    cr_assert_str_eq(c.path, "/v1/embeddings");
    cr_assert_str_eq(c.content_type, "application/json");
    cr_assert_eq(c.has_auth, 0, "Authorization: %s", c.auth);
    cr_assert_str_eq(json_string_value(json_object_get(c.req, "model")), "nomic-embed-text");
    cr_assert_str_eq(json_string_value(json_object_get(c.req, "encoding_format")), "float");
    const json_t *input = json_object_get(c.req, "input");
    cr_assert_eq(json_array_size(input), 3);
    for (size_t i = 0; i < 3; i++) {
        const json_t *t = json_array_get(input, i);
        cr_assert_eq(json_string_length(t), lens[i]);
        cr_assert(memcmp(json_string_value(t), texts[i], lens[i]) == 0, "input %zu", i);
        for (int j = 0; j < DIM; j++)
            cr_assert_eq(out[i * DIM + (size_t)j], value(texts[i], lens[i], j), "out[%zu][%d]", i, j);
    }
    rk_embed_http_free(h);
    stop(s, &c);
}

Test(embed_http, model_is_omitted_when_null) {
    srv c = {.mode = OK};
    httpd *s = httpd_start(handler, &c);
    rk_embed_http *h = open_dim(s, NULL);
    float out[DIM];
    rk_error e = {0};
    cr_assert_eq(rk_embed_http_embed(h, 1, texts, lens, DIM, out, &e), RK_OK, "%s", e.msg);
    cr_assert_null(json_object_get(c.req, "model"));
    cr_assert_eq(out[0], value(texts[0], lens[0], 0));
    rk_embed_http_free(h);
    stop(s, &c);
}

Test(embed_http, batch_bounds) {
    srv c = {.mode = OK};
    httpd *s = httpd_start(handler, &c);
    rk_embed_opts o = {.batch = 2};
    rk_embed_http *h = open_dim(s, &o);
    cr_assert_eq(rk_embed_http_batch(h), 2);
    rk_error e = {0};
    embed_fails(h, RK_EINVAL, &e);
    assert_starts_with_url(s, &e);
    cr_assert(strstr(e.msg, "batch of 2"), "%s", e.msg);
    cr_assert_eq(rk_embed_http_embed(h, 0, NULL, NULL, DIM, NULL, &e), RK_OK);
    cr_assert_eq(c.hits, 0);
    rk_embed_http_free(h);
    stop(s, &c);
}

Test(embed_http, api_key_is_sent_as_bearer) {
    srv c = {.mode = OK};
    httpd *s = httpd_start(handler, &c);
    setenv(KEY_ENV, KEY, 1);
    rk_embed_opts o = {.api_key_env = KEY_ENV};
    rk_embed_http *h = open_dim(s, &o);
    float out[DIM];
    rk_error e = {0};
    cr_assert_eq(rk_embed_http_embed(h, 1, texts, lens, DIM, out, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(c.has_auth, 1);
    cr_assert_str_eq(c.auth, "Bearer " KEY);
    cr_assert_str_eq(c.content_type, "application/json");
    rk_embed_http_free(h);
    stop(s, &c);
}

Test(embed_http, unset_or_empty_key_variable_is_named) {
    srv c = {.mode = OK};
    httpd *s = httpd_start(handler, &c);
    char *url = httpd_url(s, "");
    rk_embed_opts o = {.api_key_env = "RK_TEST_NO_SUCH_KEY"};
    unsetenv(o.api_key_env);
    int dim = 0;
    rk_embed_http *h = (rk_embed_http *)&c; /* set to NULL on failure */
    rk_error e = {0};
    cr_assert_eq(rk_embed_http_open(url, &o, &dim, &h, &e), RK_EINVAL);
    cr_assert_str_eq(e.msg, "--api-key-env RK_TEST_NO_SUCH_KEY: the variable is not set");
    cr_assert_null(h);
    setenv(o.api_key_env, "", 1);
    cr_assert_eq(rk_embed_http_open(url, &o, &dim, &h, &e), RK_EINVAL);
    cr_assert_str_eq(e.msg, "--api-key-env RK_TEST_NO_SUCH_KEY: the variable is empty");
    cr_assert_eq(c.hits, 0);
    cr_assert_eq(rk_embed_http_open("ftp://127.0.0.1/", NULL, &dim, &h, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "not an http:// or https:// URL"), "%s", e.msg);
    free(url);
    stop(s, &c);
}

Test(embed_http, busy_then_ok_is_retried) {
    srv c = {.mode = BUSY_ONCE};
    httpd *s = httpd_start(handler, &c);
    rk_embed_http *h = open_dim(s, NULL); /* default retries */
    float out[3 * DIM];
    rk_error e = {0};
    long t0 = now_ms();
    cr_assert_eq(rk_embed_http_embed(h, 3, texts, lens, DIM, out, &e), RK_OK, "%s", e.msg);
    long took = now_ms() - t0;
    cr_assert_eq(c.hits, 2);
    cr_assert_lt(took, 400, "took %ld ms: Retry-After: 0 ignored", took);
    cr_assert_eq(out[2 * DIM + 1], value(texts[2], lens[2], 1));
    rk_embed_http_free(h);
    stop(s, &c);
}

Test(embed_http, timeout_fails_with_enet) {
    srv c = {.mode = SLOW};
    httpd *s = httpd_start(handler, &c);
    setenv(KEY_ENV, KEY, 1);
    rk_embed_opts o = {.api_key_env = KEY_ENV, .retries = 0, .timeout_ms = 200};
    rk_embed_http *h = open_dim(s, &o);
    rk_error e = {0};
    long t0 = now_ms();
    embed_fails(h, RK_ENET, &e);
    long took = now_ms() - t0;
    cr_assert_lt(took, 2000, "took %ld ms", took);
    cr_assert_eq(c.hits, 1);
    assert_starts_with_url(s, &e);
    cr_assert(strstr(e.msg, "(1 attempt)"), "%s", e.msg);
    cr_assert_null(strstr(e.msg, KEY), "%s", e.msg);
    rk_embed_http_free(h);
    stop(s, &c);
}

Test(embed_http, wrong_dimension_is_caught) {
    srv c = {.mode = WRONG_DIM};
    httpd *s = httpd_start(handler, &c);
    rk_embed_http *h = open_dim(s, NULL);
    rk_error e = {0};
    embed_fails(h, RK_EFORMAT, &e);
    char *url = endpoint_of(s), want[256];
    snprintf(want, sizeof want, "%s: reply embedding 2 has %d numbers, expected %d", url, DIM + 1, DIM);
    cr_assert_str_eq(e.msg, want);
    /* The dimension the caller expects, not the one it was opened with, is checked. */
    float out[8];
    c.mode = OK;
    cr_assert_eq(rk_embed_http_embed(h, 1, texts, lens, 8, out, &e), RK_EFORMAT);
    snprintf(want, sizeof want, "%s: reply embedding 0 has %d numbers, expected 8", url, DIM);
    cr_assert_str_eq(e.msg, want);
    free(url);
    rk_embed_http_free(h);
    stop(s, &c);
}

/* Each malformed 2xx reply fails with RK_EFORMAT, the URL and the phrase. */
Test(embed_http, malformed_replies_fail_with_eformat) {
    static const struct {
        mode mode;
        const char *phrase;
    } cases[] = {
        {NOT_JSON, ": reply is not JSON: line 1, column 1: "},
        {NO_DATA, ": reply has no \"data\" array"},
        {DUP_INDEX, ": reply has index 0 twice"},
        {BAD_INDEX, ": reply item 2 has no integer \"index\" in [0, 3)"},
        {NOT_NUMBER, ": reply embedding 2 has no float at 2"},
        {EMPTY_EMB, ": reply embedding 0 has 0 numbers, expected 6"},
    };
    srv c = {.mode = OK};
    httpd *s = httpd_start(handler, &c);
    setenv(KEY_ENV, KEY, 1);
    rk_embed_opts o = {.api_key_env = KEY_ENV};
    rk_embed_http *h = open_dim(s, &o);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        c.mode = cases[k].mode;
        rk_error e = {0};
        embed_fails(h, RK_EFORMAT, &e);
        assert_starts_with_url(s, &e);
        cr_assert(strstr(e.msg, cases[k].phrase), "case %zu: %s", k, e.msg);
        cr_assert_null(strstr(e.msg, KEY), "%s", e.msg);
    }
    cr_assert_eq(c.hits, (int)(sizeof cases / sizeof *cases));
    rk_embed_http_free(h);
    stop(s, &c);
}

Test(embed_http, probe_of_empty_embedding_fails) {
    srv c = {.mode = EMPTY_EMB};
    httpd *s = httpd_start(handler, &c);
    char *url = httpd_url(s, ""), *ep = endpoint_of(s), want[256];
    int dim = 0;
    rk_embed_http *h;
    rk_error e = {0};
    cr_assert_eq(rk_embed_http_open(url, NULL, &dim, &h, &e), RK_EFORMAT);
    snprintf(want, sizeof want, "%s: reply embedding 0 has 0 numbers", ep);
    cr_assert_str_eq(e.msg, want);
    cr_assert_null(h);
    free(url);
    free(ep);
    stop(s, &c);
}

Test(embed_http, server_error_after_retries) {
    srv c = {.mode = BROKEN};
    httpd *s = httpd_start(handler, &c);
    setenv(KEY_ENV, KEY, 1);
    rk_embed_opts o = {.api_key_env = KEY_ENV, .retries = 2};
    rk_embed_http *h = open_dim(s, &o);
    rk_error e = {0};
    embed_fails(h, RK_ENET, &e);
    char *url = endpoint_of(s), want[256];
    snprintf(want, sizeof want, "%s: HTTP 500 (3 attempts): model overloaded", url);
    cr_assert_str_eq(e.msg, want);
    cr_assert_eq(c.hits, 3);
    free(url);
    rk_embed_http_free(h);
    stop(s, &c);
}

/* A 401 is not retried, and the key the server echoes is scrubbed. */
Test(embed_http, key_never_appears_in_errors) {
    srv c = {.mode = BAD_KEY};
    httpd *s = httpd_start(handler, &c);
    setenv(KEY_ENV, KEY, 1);
    rk_embed_opts o = {.api_key_env = KEY_ENV};
    rk_embed_http *h = open_dim(s, &o);
    rk_error e = {0};
    embed_fails(h, RK_ENET, &e);
    char *url = endpoint_of(s), want[256];
    snprintf(want, sizeof want, "%s: HTTP 401 (1 attempt): Incorrect API key provided: ***", url);
    cr_assert_str_eq(e.msg, want);
    cr_assert_eq(c.hits, 1);
    cr_assert_str_eq(c.auth, "Bearer " KEY);
    free(url);
    rk_embed_http_free(h);
    stop(s, &c);
}
