/* embed_http.c — the `http:URL` embedder: one POST to an OpenAI-compatible
 * /v1/embeddings endpoint per batch, through rk_http_request (which retries
 * 429, 5xx and timeouts), and a reply checked in full before a number of it
 * is used.
 *
 * Failures: RK_ENET when the server cannot be reached or answers with a
 * status other than 2xx (after the retries) — whether 500 or 401, it is the
 * server saying no, not data we misread; the message has the status and the
 * start of the server's own explanation. RK_EFORMAT when a 2xx reply is not
 * an embeddings response for these texts (not JSON, no "data", an index
 * missing or repeated, another dimension) and for a text that is not UTF-8.
 * RK_EINVAL for bad options and arguments. The key never appears in a
 * message: what the server echoes is scrubbed of it. */
#include "embed_backend.h"

#include <float.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/http.h"
#include "raftkit/openai.h"

#define DEFAULT_BATCH 64
#define DEFAULT_RETRIES 5
#define DEFAULT_TIMEOUT_MS 60000L

struct rk_embed_http {
    char *url;     /* the endpoint, ".../embeddings" */
    json_t *model; /* the "model" string, or NULL: none sent */
    char *auth;    /* the Authorization line, or NULL */
    const char *headers[3];
    size_t batch;
    int retries;
    long timeout_ms;
};

/* {"model": M, "input": [texts], "encoding_format": "float"} as compact text; the caller frees. */
static rk_status make_body(const rk_embed_http *h, size_t n, const char *const *texts, const size_t *lens,
                           char **out, rk_error *err) {
    json_t *req = json_object(), *input = json_array();
    rk_status st = req && input ? RK_OK : RK_ENOMEM;
    if (!st && h->model && json_object_set(req, "model", h->model)) st = RK_ENOMEM;
    for (size_t i = 0; !st && i < n; i++) {
        /* jansson refuses invalid UTF-8 here (and fails when out of memory, too rare to tell apart) */
        json_t *s = json_stringn(texts[i], lens[i]);
        if (!s)
            st = rk_fail(err, RK_EFORMAT, "%s: text %zu is not valid UTF-8", h->url, i);
        else if (json_array_append_new(input, s))
            st = RK_ENOMEM;
    }
    if (!st && json_object_set(req, "input", input)) st = RK_ENOMEM;
    if (!st && json_object_set_new(req, "encoding_format", json_string("float"))) st = RK_ENOMEM;
    if (!st && !(*out = json_dumps(req, JSON_COMPACT))) st = RK_ENOMEM;
    json_decref(input);
    json_decref(req);
    if (st == RK_ENOMEM) rk_fail(err, st, "%s: out of memory building the request", h->url);
    return st;
}

/* Checks a reply against n texts and *dim (0: the first embedding's length
 * becomes *dim), leaving text i's embedding array in by[i] (borrowed). */
static rk_status check_reply(const rk_embed_http *h, const json_t *reply, size_t n, int *dim, json_t **by,
                             rk_error *err) {
    const json_t *data = json_object_get(reply, "data");
    if (!json_is_array(data)) return rk_fail(err, RK_EFORMAT, "%s: reply has no \"data\" array", h->url);
    if (json_array_size(data) != n)
        return rk_fail(err, RK_EFORMAT, "%s: reply has %zu embeddings for %zu texts", h->url,
                       json_array_size(data), n);
    for (size_t k = 0; k < n; k++) {
        const json_t *item = json_array_get(data, k), *index = json_object_get(item, "index");
        json_int_t i = json_integer_value(index);
        if (!json_is_integer(index) || i < 0 || (size_t)i >= n)
            return rk_fail(err, RK_EFORMAT, "%s: reply item %zu has no integer \"index\" in [0, %zu)", h->url,
                           k, n);
        if (by[i]) return rk_fail(err, RK_EFORMAT, "%s: reply has index %zu twice", h->url, (size_t)i);
        json_t *emb = json_object_get(item, "embedding");
        size_t len = json_array_size(emb);
        if (!json_is_array(emb))
            return rk_fail(err, RK_EFORMAT, "%s: reply embedding %zu is not an array", h->url, (size_t)i);
        if (*dim == 0 && (len == 0 || len > INT_MAX))
            return rk_fail(err, RK_EFORMAT, "%s: reply embedding %zu has %zu numbers", h->url, (size_t)i,
                           len);
        if (*dim == 0) *dim = (int)len;
        if (len != (size_t)*dim)
            return rk_fail(err, RK_EFORMAT, "%s: reply embedding %zu has %zu numbers, expected %d", h->url,
                           (size_t)i, len, *dim);
        for (size_t j = 0; j < len; j++) {
            const json_t *x = json_array_get(emb, j);
            double v = json_number_value(x);
            if (!json_is_number(x) || v > FLT_MAX || v < -FLT_MAX) /* a float cast beyond is undefined */
                return rk_fail(err, RK_EFORMAT, "%s: reply embedding %zu has no float at %zu", h->url,
                               (size_t)i, j);
        }
        by[i] = emb;
    }
    return RK_OK;
}

/* One request for n texts: checks the reply and, when out is set, fills out[n][*dim]. */
static rk_status run(rk_embed_http *h, size_t n, const char *const *texts, const size_t *lens, int *dim,
                     float *out, rk_error *err) {
    char *body = NULL, said[RK_OPENAI_EXCERPT + 8] = "";
    json_t *reply = NULL, **by = NULL;
    rk_http_response r = {0};
    rk_status st = make_body(h, n, texts, lens, &body, err);
    if (!st) {
        rk_http_opts o = {.body = body,
                          .body_len = strlen(body),
                          .headers = h->headers,
                          .timeout_ms = h->timeout_ms,
                          .max_retries = h->retries};
        st = rk_http_request(h->url, &o, &r, err);
    }
    if (!st && (r.status < 200 || r.status > 299)) {
        rk_openai_explanation(r.body, r.len, said, sizeof said);
        st = rk_fail(err, RK_ENET, "%s: HTTP %ld (%d attempt%s)%s%s", h->url, r.status, r.attempts,
                     r.attempts == 1 ? "" : "s", said[0] ? ": " : "", said);
    }
    json_error_t je;
    if (!st && !(reply = json_loadb(r.body, r.len, JSON_DECODE_ANY, &je)))
        st = rk_fail(err, RK_EFORMAT, "%s: reply is not JSON: line %d, column %d: %s", h->url, je.line,
                     je.column, je.text);
    if (!st && !(by = calloc(n, sizeof *by)))
        st = rk_fail(err, RK_ENOMEM, "%s: out of memory reading the reply", h->url);
    if (!st) st = check_reply(h, reply, n, dim, by, err);
    for (size_t i = 0; !st && out && i < n; i++)
        for (int j = 0; j < *dim; j++)
            out[i * (size_t)*dim + (size_t)j] = (float)json_number_value(json_array_get(by[i], (size_t)j));
    free(by);
    json_decref(reply);
    rk_http_response_free(&r);
    free(body);
    if (st) rk_openai_scrub(h->auth, err);
    return st;
}

rk_status rk_embed_http_open(const char *url, const rk_embed_opts *o, int *dim, rk_embed_http **out,
                             rk_error *err) {
    static const rk_embed_opts defaults = {.retries = -1};
    if (!o) o = &defaults;
    *out = NULL;
    if (!rk_http_is_url(url))
        return rk_fail(err, RK_EINVAL, "%s: not an http:// or https:// URL", url ? url : "(null)");
    if (*dim < 0) return rk_fail(err, RK_EINVAL, "%s: dimension %d", url, *dim);
    char *auth;
    rk_status st = rk_openai_auth(o->api_key_env, &auth, err);
    if (st) return st;
    rk_embed_http *h = calloc(1, sizeof *h);
    if (h) h->auth = auth;
    if (!h || !(h->url = rk_openai_url(url, "/embeddings"))) {
        if (!h) free(auth);
        rk_embed_http_free(h);
        return rk_fail(err, RK_ENOMEM, "%s: out of memory", url);
    }
    /* jansson refuses a model name that is not UTF-8 (or when out of memory) */
    if (o->model && !(h->model = json_string(o->model))) {
        rk_embed_http_free(h);
        return rk_fail(err, RK_EINVAL, "%s: the model name is not valid UTF-8", url);
    }
    h->headers[0] = "Content-Type: application/json";
    h->headers[1] = h->auth; /* NULL ends the list when there is no key */
    h->batch = o->batch ? o->batch : DEFAULT_BATCH;
    h->retries = o->retries < 0 ? DEFAULT_RETRIES : o->retries;
    h->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    if (*dim == 0) { /* the server's dimension, from one probe */
        static const char *const probe[] = {"raftkit"};
        static const size_t probe_len[] = {7};
        if ((st = run(h, 1, probe, probe_len, dim, NULL, err))) {
            rk_embed_http_free(h);
            return st;
        }
    }
    *out = h;
    return RK_OK;
}

rk_status rk_embed_http_embed(rk_embed_http *h, size_t n, const char *const *texts, const size_t *lens,
                              int dim, float *out, rk_error *err) {
    if (n == 0) return RK_OK;
    if (n > h->batch)
        return rk_fail(err, RK_EINVAL, "%s: %zu texts in one request, more than the batch of %zu", h->url, n,
                       h->batch);
    if (dim < 1) return rk_fail(err, RK_EINVAL, "%s: dimension %d", h->url, dim);
    return run(h, n, texts, lens, &dim, out, err);
}

size_t rk_embed_http_batch(const rk_embed_http *h) { return h->batch; }

void rk_embed_http_free(rk_embed_http *h) {
    if (!h) return;
    free(h->url);
    json_decref(h->model);
    free(h->auth);
    free(h);
}
