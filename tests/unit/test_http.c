/* Unit tests for core/http.c against the loopback server of httpd.h. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpd.h"
#include "raftkit/http.h"

#define LAST_MODIFIED "Wed, 21 Oct 2015 07:28:00 GMT"

/* gzip -n of 2000 'a' bytes (Python gzip.compress(b"a" * 2000, mtime=0)): 35 bytes on the wire. */
static const char gz_2000a[] =
    "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\x4b\x4c\x1c\x05\xa3\x60\x14\x8c\x82\x51"
    "\x30\x0a\x46\xc1\x50\x07\x00\x39\x3e\x13\xa8\xd0\x07\x00\x00";

/* What the server saw of the last request, and what the test tells it. */
typedef struct ctx {
    int hits;
    httpd_request last; /* its body is in last_body */
    char last_body[4096];
    const char *retry_after; /* for /busy */
    char big[1000];          /* for /big */
} ctx;

static void capture(ctx *c, const httpd_request *req) {
    c->hits++;
    c->last = *req;
    c->last.body = NULL;
    size_t n = req->body_len < sizeof c->last_body - 1 ? req->body_len : sizeof c->last_body - 1;
    if (n) memcpy(c->last_body, req->body, n);
    c->last_body[n] = '\0';
}

static void add_header(httpd_reply *rep, const char *line) {
    size_t n = strlen(rep->headers);
    snprintf(rep->headers + n, sizeof rep->headers - n, "%s\r\n", line);
}

static void route(const httpd_request *req, httpd_reply *rep, void *ud) {
    ctx *c = ud;
    capture(c, req);
    const char *p = req->path;
    char v[256];
    if (!strcmp(p, "/hello")) {
        httpd_text(rep, 200, "Text/HTML ; Charset=\"UTF-8\"", "<p>hi</p>");
    } else if (!strcmp(p, "/json")) {
        httpd_text(rep, 200, "application/json", "{}");
    } else if (!strcmp(p, "/plain") || !strcmp(p, "/echo")) {
        httpd_text(rep, 200, NULL, "raw");
    } else if (!strcmp(p, "/r301")) {
        httpd_text(rep, 301, "text/plain", "moved");
        add_header(rep, "Location: /r302");
        add_header(rep, "ETag: \"hop\"");
    } else if (!strcmp(p, "/r302")) {
        httpd_text(rep, 302, NULL, "");
        add_header(rep, "Location: /final");
    } else if (!strcmp(p, "/final")) {
        httpd_text(rep, 200, "text/html", "final");
    } else if (!strcmp(p, "/loop")) {
        httpd_text(rep, 302, NULL, "");
        add_header(rep, "Location: /loop");
    } else if (!strcmp(p, "/toftp")) {
        httpd_text(rep, 302, NULL, "");
        add_header(rep, "Location: ftp://127.0.0.1/x");
    } else if (!strcmp(p, "/flaky")) {
        httpd_text(rep, c->hits <= 2 ? 503 : 200, "text/plain", c->hits <= 2 ? "busy" : "ok");
    } else if (!strcmp(p, "/busy")) {
        httpd_text(rep, c->hits == 1 ? 429 : 200, "text/plain", c->hits == 1 ? "slow down" : "ok");
        if (c->hits == 1) snprintf(rep->headers, sizeof rep->headers, "Retry-After: %s\r\n", c->retry_after);
    } else if (!strcmp(p, "/broken")) {
        httpd_text(rep, 500, "text/plain", "boom");
    } else if (!strcmp(p, "/slow")) {
        httpd_text(rep, 200, "text/plain", "late");
        rep->delay_ms = 1500;
    } else if (!strcmp(p, "/hangup")) {
        rep->close_without_reply = 1;
    } else if (!strcmp(p, "/big")) {
        memset(c->big, 'x', sizeof c->big);
        rep->body = c->big;
        rep->body_len = sizeof c->big;
    } else if (!strcmp(p, "/gzip")) {
        rep->body = gz_2000a;
        rep->body_len = sizeof gz_2000a - 1;
        add_header(rep, "Content-Encoding: gzip");
    } else if (!strcmp(p, "/cached")) {
        const char *inm = httpd_header(req, "If-None-Match", v, sizeof v);
        int fresh = inm ? !strcmp(inm, "\"v1\"")
                        : httpd_header(req, "If-Modified-Since", v, sizeof v) && !strcmp(v, LAST_MODIFIED);
        httpd_text(rep, fresh ? 304 : 200, "text/plain", fresh ? "" : "cached body");
        add_header(rep, "ETag: \"v1\"");
        add_header(rep, "Last-Modified: " LAST_MODIFIED);
    } else if (!strncmp(p, "/n/", 3)) {
        rep->body = strdup(p + 3);
        rep->body_len = strlen(p + 3);
        rep->free_body = 1;
    } else {
        httpd_text(rep, 404, "text/plain", "no such page");
    }
}

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Requests path on s; returns the status and leaves the URL in *url (caller frees). */
static rk_status request(httpd *s, const char *path, const rk_http_opts *o, rk_http_response *r, rk_error *e,
                         char **url) {
    char *u = httpd_url(s, path);
    rk_status st = rk_http_request(u, o, r, e);
    if (url)
        *url = u;
    else
        free(u);
    return st;
}

static void request_ok(httpd *s, const char *path, const rk_http_opts *o, rk_http_response *r) {
    rk_error e = {0};
    cr_assert_eq(request(s, path, o, r, &e, NULL), RK_OK, "%s", e.msg);
}

Test(http, get_returns_body_and_parsed_content_type) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    rk_http_response r;
    request_ok(s, "/hello", NULL, &r);
    char *url = httpd_url(s, "/hello"), ua[64];
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "<p>hi</p>");
    cr_assert_eq(r.len, 9);
    cr_assert_str_eq(r.content_type, "text/html");
    cr_assert_str_eq(r.charset, "utf-8");
    cr_assert_str_eq(r.url, url);
    cr_assert_eq(r.attempts, 1);
    cr_assert_eq(r.not_modified, 0);
    cr_assert_null(r.etag);
    cr_assert_null(r.last_modified);
    cr_assert_str_eq(c.last.method, "GET");
    cr_assert_str_eq(httpd_header(&c.last, "User-Agent", ua, sizeof ua), "raftkit/" RK_VERSION);
    rk_http_response_free(&r);
    cr_assert_null(r.body);
    free(url);
    httpd_stop(s);
}

Test(http, content_type_without_charset_or_absent) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    rk_http_response r;
    request_ok(s, "/json", NULL, &r);
    cr_assert_str_eq(r.content_type, "application/json");
    cr_assert_null(r.charset);
    rk_http_response_free(&r);
    request_ok(s, "/plain", NULL, &r);
    cr_assert_null(r.content_type);
    cr_assert_null(r.charset);
    cr_assert_str_eq(r.body, "raw");
    rk_http_response_free(&r);
    httpd_stop(s);
}

Test(http, post_sends_body_and_extra_headers) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    const char *body = "{\"input\": [\"a b\"]}";
    const char *const headers[] = {"Content-Type: application/json", "Authorization: Bearer k1", NULL};
    rk_http_opts o = {.body = body, .body_len = strlen(body), .headers = headers};
    rk_http_response r;
    request_ok(s, "/echo", &o, &r);
    char v[64];
    cr_assert_str_eq(c.last.method, "POST");
    cr_assert_str_eq(c.last.path, "/echo");
    cr_assert_eq(c.last.body_len, 18);
    cr_assert_str_eq(c.last_body, body);
    cr_assert_str_eq(httpd_header(&c.last, "content-type", v, sizeof v), "application/json");
    cr_assert_str_eq(httpd_header(&c.last, "Authorization", v, sizeof v), "Bearer k1");
    cr_assert_str_eq(httpd_header(&c.last, "Content-Length", v, sizeof v), "18");
    cr_assert_null(httpd_header(&c.last, "Expect", v, sizeof v));
    cr_assert_str_eq(r.body, "raw");
    rk_http_response_free(&r);
    httpd_stop(s);
}

Test(http, method_overrides_get_and_post) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    rk_http_opts put = {.method = "PUT", .body = "x=1", .body_len = 3};
    rk_http_response r;
    request_ok(s, "/echo", &put, &r);
    cr_assert_str_eq(c.last.method, "PUT");
    cr_assert_str_eq(c.last_body, "x=1");
    rk_http_response_free(&r);
    rk_http_opts del = {.method = "DELETE"};
    request_ok(s, "/echo?id=7", &del, &r);
    cr_assert_str_eq(c.last.method, "DELETE");
    cr_assert_str_eq(c.last.path, "/echo?id=7");
    cr_assert_eq(c.last.body_len, 0);
    rk_http_response_free(&r);
    rk_http_opts post = {.method = "POST"};
    request_ok(s, "/echo", &post, &r);
    char v[16];
    cr_assert_str_eq(c.last.method, "POST");
    cr_assert_str_eq(httpd_header(&c.last, "Content-Length", v, sizeof v), "0");
    rk_http_response_free(&r);
    httpd_stop(s);
}

/* A caller's Expect line wins over the default that disables it; the server's
 * 100 Continue spares libcurl its one-second wait. */
Test(http, caller_expect_header_is_honoured) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    const char *const headers[] = {"Expect: 100-continue", NULL};
    rk_http_opts o = {.body = "abc", .body_len = 3, .headers = headers};
    rk_http_response r;
    long t0 = now_ms();
    request_ok(s, "/echo", &o, &r);
    long took = now_ms() - t0;
    char v[32];
    cr_assert_str_eq(httpd_header(&c.last, "Expect", v, sizeof v), "100-continue");
    cr_assert_str_eq(c.last_body, "abc");
    cr_assert_eq(r.status, 200);
    cr_assert_lt(took, 900, "took %ld ms", took);
    rk_http_response_free(&r);
    httpd_stop(s);
}

Test(http, redirects_are_followed_to_the_final_response) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    rk_http_response r;
    request_ok(s, "/r301", NULL, &r);
    char *final = httpd_url(s, "/final");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "final");
    cr_assert_str_eq(r.url, final);
    cr_assert_str_eq(r.content_type, "text/html");
    cr_assert_null(r.etag, "the ETag of a redirect hop leaked: %s", r.etag);
    cr_assert_eq(r.attempts, 1);
    cr_assert_eq(c.hits, 3);
    free(final);
    rk_http_response_free(&r);
    httpd_stop(s);
}

Test(http, redirects_not_followed_when_disabled) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    rk_http_opts o = {.max_redirects = -1};
    rk_http_response r;
    char *url;
    rk_error e = {0};
    cr_assert_eq(request(s, "/r301", &o, &r, &e, &url), RK_OK, "%s", e.msg);
    cr_assert_eq(r.status, 301);
    cr_assert_str_eq(r.url, url);
    cr_assert_str_eq(r.body, "moved");
    cr_assert_str_eq(r.etag, "\"hop\"");
    cr_assert_str_eq(r.content_type, "text/plain");
    cr_assert_eq(c.hits, 1);
    free(url);
    rk_http_response_free(&r);
    httpd_stop(s);
}

Test(http, too_many_redirects_fail) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    rk_http_opts o = {.max_redirects = 3};
    rk_http_response r;
    char *url;
    rk_error e = {0};
    cr_assert_eq(request(s, "/loop", &o, &r, &e, &url), RK_ENET);
    cr_assert(strstr(e.msg, url), "%s", e.msg);
    cr_assert_eq(c.hits, 4); /* the request and three redirects */
    cr_assert_null(r.body);
    free(url);
    rk_http_response_free(&r);
    httpd_stop(s);
}

Test(http, redirect_to_another_scheme_is_refused) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    rk_http_response r;
    char *url;
    rk_error e = {0};
    cr_assert_eq(request(s, "/toftp", NULL, &r, &e, &url), RK_EINVAL, "%s", e.msg);
    cr_assert(strstr(e.msg, url), "%s", e.msg);
    free(url);
    rk_http_response_free(&r);
    httpd_stop(s);
}

Test(http, server_errors_are_retried_with_backoff) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    rk_http_opts o = {.max_retries = 3, .backoff_ms = 10};
    rk_http_response r;
    long t0 = now_ms();
    request_ok(s, "/flaky", &o, &r);
    long took = now_ms() - t0;
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "ok");
    cr_assert_eq(r.attempts, 3);
    cr_assert_eq(httpd_requests(s), 3);
    cr_assert_geq(took, 30, "waited %ld ms, not 10 + 20", took);
    rk_http_response_free(&r);
    httpd_stop(s);
}

/* A 429 once, then 200: returns how long the request took. */
static long busy_once(const char *retry_after, long backoff_ms) {
    ctx c = {.retry_after = retry_after};
    httpd *s = httpd_start(route, &c);
    rk_http_opts o = {.max_retries = 1, .backoff_ms = backoff_ms};
    rk_http_response r;
    long t0 = now_ms();
    request_ok(s, "/busy", &o, &r);
    long took = now_ms() - t0;
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.attempts, 2);
    cr_assert_eq(c.hits, 2);
    rk_http_response_free(&r);
    httpd_stop(s);
    return took;
}

Test(http, retry_after_replaces_the_backoff) {
    long took = busy_once("0", 5000);
    cr_assert_lt(took, 2000, "took %ld ms: Retry-After: 0 ignored", took);
    took = busy_once(LAST_MODIFIED, 5000); /* an HTTP-date in the past */
    cr_assert_lt(took, 2000, "took %ld ms: a past Retry-After date ignored", took);
    took = busy_once("1", 10);
    cr_assert_geq(took, 1000, "took %ld ms: Retry-After: 1 not waited", took);
}

Test(http, retry_after_above_a_minute_is_ignored) {
    long took = busy_once("120", 10);
    cr_assert_lt(took, 1000, "took %ld ms", took);
}

Test(http, exhausted_retries_return_the_last_status) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    rk_http_opts o = {.max_retries = 2, .backoff_ms = 1};
    rk_http_response r;
    request_ok(s, "/broken", &o, &r);
    cr_assert_eq(r.status, 500);
    cr_assert_str_eq(r.body, "boom");
    cr_assert_eq(r.attempts, 3);
    cr_assert_eq(c.hits, 3);
    rk_http_response_free(&r);
    request_ok(s, "/broken", NULL, &r); /* no retries by default */
    cr_assert_eq(r.attempts, 1);
    cr_assert_eq(c.hits, 4);
    rk_http_response_free(&r);
    httpd_stop(s);
}

Test(http, client_errors_are_not_retried) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    rk_http_opts o = {.max_retries = 3, .backoff_ms = 1};
    rk_http_response r;
    request_ok(s, "/missing", &o, &r);
    cr_assert_eq(r.status, 404);
    cr_assert_str_eq(r.body, "no such page");
    cr_assert_eq(r.attempts, 1);
    cr_assert_eq(c.hits, 1);
    rk_http_response_free(&r);
    httpd_stop(s);
}

Test(http, timeout_fails_naming_the_url) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    rk_http_opts o = {.timeout_ms = 300};
    rk_http_response r;
    char *url;
    rk_error e = {0};
    long t0 = now_ms();
    cr_assert_eq(request(s, "/slow", &o, &r, &e, &url), RK_ENET);
    long took = now_ms() - t0;
    cr_assert_lt(took, 1400, "took %ld ms", took);
    cr_assert(strstr(e.msg, url) == e.msg, "%s", e.msg);
    cr_assert(strstr(e.msg, "(1 attempt)"), "%s", e.msg);
    cr_assert_eq(r.attempts, 1);
    free(url);
    rk_http_response_free(&r);
    o.max_retries = 1;
    o.backoff_ms = 10;
    cr_assert_eq(request(s, "/slow", &o, &r, &e, NULL), RK_ENET);
    cr_assert(strstr(e.msg, "(2 attempts)"), "%s", e.msg);
    cr_assert_eq(r.attempts, 2);
    cr_assert_eq(c.hits, 3);
    rk_http_response_free(&r);
    httpd_stop(s);
}

Test(http, empty_replies_are_retried_then_fail) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    rk_http_opts o = {.max_retries = 2, .backoff_ms = 1};
    rk_http_response r;
    char *url;
    rk_error e = {0};
    cr_assert_eq(request(s, "/hangup", &o, &r, &e, &url), RK_ENET);
    cr_assert(strstr(e.msg, url), "%s", e.msg);
    cr_assert_eq(r.attempts, 3);
    cr_assert_eq(c.hits, 3);
    free(url);
    rk_http_response_free(&r);
    httpd_stop(s);
}

Test(http, refused_connection_fails) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    char *url = httpd_url(s, "/hello");
    httpd_stop(s); /* nothing listens on its port any more */
    rk_http_opts o = {.max_retries = 1, .backoff_ms = 1};
    rk_http_response r;
    rk_error e = {0};
    cr_assert_eq(rk_http_request(url, &o, &r, &e), RK_ENET);
    cr_assert(strstr(e.msg, url) == e.msg, "%s", e.msg);
    cr_assert(strstr(e.msg, "(2 attempts)"), "%s", e.msg);
    cr_assert_eq(r.attempts, 2);
    cr_assert_null(r.body);
    free(url);
    rk_http_response_free(&r);
}

Test(http, size_limit_from_content_length) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    rk_http_opts o = {.max_bytes = 999};
    rk_http_response r;
    char *url, want[256];
    rk_error e = {0};
    cr_assert_eq(request(s, "/big", &o, &r, &e, &url), RK_EFORMAT);
    snprintf(want, sizeof want, "%s: response larger than 999 bytes", url);
    cr_assert_str_eq(e.msg, want);
    cr_assert_null(r.body);
    rk_http_response_free(&r);
    o.max_bytes = 1000;
    request_ok(s, "/big", &o, &r);
    cr_assert_eq(r.len, 1000);
    cr_assert_eq(r.body[0], 'x');
    cr_assert_eq(r.body[999], 'x');
    cr_assert_eq(r.body[1000], '\0');
    free(url);
    rk_http_response_free(&r);
    httpd_stop(s);
}

/* 35 bytes on the wire pass the Content-Length check; the limit still holds
 * for the 2000 decoded bytes. */
Test(http, size_limit_on_decoded_body) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    rk_http_opts o = {.max_bytes = 1999};
    rk_http_response r;
    rk_error e = {0};
    cr_assert_eq(request(s, "/gzip", &o, &r, &e, NULL), RK_EFORMAT);
    cr_assert(strstr(e.msg, ": response larger than 1999 bytes"), "%s", e.msg);
    rk_http_response_free(&r);
    o.max_bytes = 2000;
    request_ok(s, "/gzip", &o, &r);
    cr_assert_eq(r.len, 2000);
    cr_assert_eq(strspn(r.body, "a"), 2000);
    char v[64];
    cr_assert(httpd_header(&c.last, "Accept-Encoding", v, sizeof v) && strstr(v, "gzip"), "no gzip offered");
    rk_http_response_free(&r);
    httpd_stop(s);
}

Test(http, conditional_requests_get_not_modified) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    rk_http_response first, r;
    request_ok(s, "/cached", NULL, &first);
    cr_assert_eq(first.status, 200);
    cr_assert_str_eq(first.body, "cached body");
    cr_assert_str_eq(first.etag, "\"v1\"");
    cr_assert_str_eq(first.last_modified, LAST_MODIFIED);
    char v[64];

    rk_http_opts by_etag = {.if_none_match = first.etag};
    request_ok(s, "/cached", &by_etag, &r);
    cr_assert_eq(r.status, 304);
    cr_assert_eq(r.not_modified, 1);
    cr_assert_eq(r.len, 0);
    cr_assert_str_eq(r.body, "");
    cr_assert_str_eq(r.etag, "\"v1\"");
    cr_assert_str_eq(httpd_header(&c.last, "If-None-Match", v, sizeof v), "\"v1\"");
    cr_assert_null(httpd_header(&c.last, "If-Modified-Since", v, sizeof v));
    rk_http_response_free(&r);

    rk_http_opts by_date = {.if_modified_since = first.last_modified};
    request_ok(s, "/cached", &by_date, &r);
    cr_assert_eq(r.not_modified, 1);
    cr_assert_str_eq(httpd_header(&c.last, "If-Modified-Since", v, sizeof v), LAST_MODIFIED);
    cr_assert_null(httpd_header(&c.last, "If-None-Match", v, sizeof v));
    rk_http_response_free(&r);

    rk_http_opts stale = {.if_none_match = "\"v0\""};
    request_ok(s, "/cached", &stale, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.not_modified, 0);
    cr_assert_str_eq(r.body, "cached body");
    rk_http_response_free(&r);
    rk_http_response_free(&first);
    httpd_stop(s);
}

Test(http, other_schemes_and_bad_urls_are_refused) {
    const char *bad[] = {"ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/", "not a url", "",
                         "http://[::1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rk_http_response r;
        rk_error e = {0};
        cr_assert_eq(rk_http_request(bad[i], NULL, &r, &e), RK_EINVAL, "%s: %s", bad[i], e.msg);
        cr_assert(strncmp(e.msg, bad[i], strlen(bad[i])) == 0, "%s", e.msg);
        cr_assert_eq(r.attempts, *bad[i] == 'h' ? 1 : 0, "%s", bad[i]);
        cr_assert_null(r.body);
        rk_http_response_free(&r);
    }
}

Test(http, is_url) {
    cr_assert(rk_http_is_url("http://example.org/"));
    cr_assert(rk_http_is_url("https://example.org"));
    cr_assert(rk_http_is_url("HTTPS://EXAMPLE.ORG"));
    cr_assert(rk_http_is_url("Http://x"));
    cr_assert_not(rk_http_is_url("ftp://example.org"));
    cr_assert_not(rk_http_is_url("http:/example.org"));
    cr_assert_not(rk_http_is_url("httpx://example.org"));
    cr_assert_not(rk_http_is_url(" http://example.org"));
    cr_assert_not(rk_http_is_url("docs/http://a.md"));
    cr_assert_not(rk_http_is_url("http"));
    cr_assert_not(rk_http_is_url(""));
    cr_assert_not(rk_http_is_url(NULL));
}

#define THREADS 8
#define PER_THREAD 5

typedef struct job {
    httpd *s;
    int id, ok;
} job;

static void *fetch_many(void *arg) {
    job *j = arg;
    for (int k = 0; k < PER_THREAD; k++) {
        char path[48], want[32];
        snprintf(want, sizeof want, "%d-%d", j->id, k);
        snprintf(path, sizeof path, "/n/%s", want);
        char *url = httpd_url(j->s, path);
        rk_http_response r;
        rk_error e = {0};
        if (rk_http_request(url, NULL, &r, &e) == RK_OK && r.status == 200 && !strcmp(r.body, want)) j->ok++;
        rk_http_response_free(&r);
        free(url);
    }
    return NULL;
}

Test(http, requests_from_several_threads) {
    ctx c = {0};
    httpd *s = httpd_start(route, &c);
    pthread_t t[THREADS];
    job jobs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (job){s, i, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, fetch_many, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(jobs[i].ok, PER_THREAD, "thread %d: %d of %d right", i, jobs[i].ok, PER_THREAD);
    }
    cr_assert_eq(httpd_requests(s), THREADS * PER_THREAD);
    httpd_stop(s);
}
