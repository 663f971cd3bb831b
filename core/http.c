/* http.c — rk_http_request on the libcurl easy interface: one easy handle per
 * call (reused across retries so a kept-alive connection serves them), the
 * response collected by the write and header callbacks. */
#include "raftkit/http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_BYTES ((size_t)64 << 20)
#define DEFAULT_MAX_REDIRECTS 5
#define DEFAULT_BACKOFF_MS 500L
#define MAX_RETRY_AFTER_MS 60000L

/* curl_global_init is not thread-safe and must run once before any handle. */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc;

static void global_init(void) { init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* What the callbacks of one request share. */
typedef struct fetch {
    rk_http_response *r;
    size_t cap; /* allocated bytes of r->body */
    size_t max_bytes;
    int too_big, nomem;
    long retry_after_ms; /* -1: the response had none */
} fetch;

int rk_http_is_url(const char *s) {
    return s && (strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0);
}

void rk_http_response_free(rk_http_response *r) {
    if (!r) return;
    free(r->body);
    free(r->content_type);
    free(r->charset);
    free(r->etag);
    free(r->last_modified);
    free(r->url);
    memset(r, 0, sizeof *r);
}

/* Forgets what an earlier response (a redirect hop, a failed attempt) left, so
 * that headers and body describe the final response only. The body buffer is
 * kept for reuse. */
static void start_response(fetch *f) {
    rk_http_response *r = f->r;
    r->len = 0;
    if (r->body) r->body[0] = '\0';
    free(r->content_type);
    free(r->charset);
    free(r->etag);
    free(r->last_modified);
    r->content_type = r->charset = r->etag = r->last_modified = NULL;
    f->retry_after_ms = -1;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
    fetch *f = ud;
    rk_http_response *r = f->r;
    size_t len = size * n;
    if (len > f->max_bytes - r->len) {
        f->too_big = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (r->len + len + 1 > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < r->len + len + 1)
            cap *= 2;
        if (cap - 1 > f->max_bytes) cap = f->max_bytes + 1; /* no room beyond the limit */
        char *b = realloc(r->body, cap);
        if (!b) {
            f->nomem = 1;
            return 0;
        }
        r->body = b;
        f->cap = cap;
    }
    memcpy(r->body + r->len, data, len);
    r->len += len;
    r->body[r->len] = '\0';
    return len;
}

static void trim(const char **v, const char **end) {
    while (*v < *end && isspace((unsigned char)**v))
        (*v)++;
    while (*end > *v && isspace((unsigned char)(*end)[-1]))
        (*end)--;
}

/* Replaces *dst by a copy of [v, end), lower-cased when asked; 0 when out of memory. */
static int set_str(char **dst, const char *v, const char *end, int lower) {
    size_t n = (size_t)(end - v);
    char *s = malloc(n + 1);
    if (!s) return 0;
    for (size_t i = 0; i < n; i++)
        s[i] = lower ? (char)tolower((unsigned char)v[i]) : v[i];
    s[n] = '\0';
    free(*dst);
    *dst = s;
    return 1;
}

/* "Text/HTML; charset="UTF-8"" -> "text/html" and "utf-8". */
static int parse_content_type(rk_http_response *r, const char *v, const char *end) {
    const char *semi = memchr(v, ';', (size_t)(end - v));
    const char *tend = semi ? semi : end;
    trim(&v, &tend);
    if (v < tend && !set_str(&r->content_type, v, tend, 1)) return 0;
    while (semi) {
        const char *p = semi + 1;
        semi = memchr(p, ';', (size_t)(end - p));
        const char *pend = semi ? semi : end;
        trim(&p, &pend);
        if (pend - p <= 8 || strncasecmp(p, "charset=", 8) != 0) continue;
        p += 8;
        if (pend - p >= 2 && *p == '"' && pend[-1] == '"') p++, pend--;
        if (p < pend && !set_str(&r->charset, p, pend, 1)) return 0;
    }
    return 1;
}

/* Retry-After as delay-seconds or an HTTP-date, in milliseconds from now; -1 when unreadable. */
static long parse_retry_after(const char *v, const char *end) {
    char buf[64];
    size_t n = (size_t)(end - v);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    if (isdigit((unsigned char)buf[0])) {
        char *e;
        errno = 0;
        unsigned long long s = strtoull(buf, &e, 10);
        if (*e || errno) return -1;
        /* Anything above the cap is ignored by the caller; clamping avoids overflow. */
        return s > 86400 ? 86400000L : (long)s * 1000;
    }
    time_t t = curl_getdate(buf, NULL);
    if (t == -1) return -1;
    time_t now = time(NULL);
    if (t <= now) return 0;
    return t - now > 86400 ? 86400000L : (long)(t - now) * 1000;
}

static int header_is(const char *name, size_t n, const char *want) {
    return n == strlen(want) && strncasecmp(name, want, n) == 0;
}

static size_t on_header(char *line, size_t size, size_t n, void *ud) {
    fetch *f = ud;
    rk_http_response *r = f->r;
    size_t len = size * n;
    /* Each response (redirect hop, 100 Continue, retry) starts with its status line. */
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        start_response(f);
        return len;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon) return len;
    size_t name_n = (size_t)(colon - line);
    const char *v = colon + 1, *end = line + len;
    trim(&v, &end);
    int ok = 1;
    if (header_is(line, name_n, "content-type"))
        ok = parse_content_type(r, v, end);
    else if (header_is(line, name_n, "etag"))
        ok = set_str(&r->etag, v, end, 0);
    else if (header_is(line, name_n, "last-modified"))
        ok = set_str(&r->last_modified, v, end, 0);
    else if (header_is(line, name_n, "retry-after"))
        f->retry_after_ms = parse_retry_after(v, end);
    if (!ok) {
        f->nomem = 1;
        return 0;
    }
    return len;
}

/* Appends "name: value" to *list; 0 when out of memory. */
static int add_header(struct curl_slist **list, const char *name, const char *value) {
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line) return 0;
    snprintf(line, n, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(*list, line);
    free(line);
    if (!l) return 0;
    *list = l;
    return 1;
}

static struct curl_slist *build_headers(const rk_http_opts *o, int *nomem) {
    struct curl_slist *list = NULL, *l;
    for (const char *const *h = o->headers; h && *h; h++) {
        if (!(l = curl_slist_append(list, *h))) goto fail;
        list = l;
    }
    if (o->if_none_match && !add_header(&list, "If-None-Match", o->if_none_match)) goto fail;
    if (o->if_modified_since && !add_header(&list, "If-Modified-Since", o->if_modified_since)) goto fail;
    /* libcurl sends Expect: 100-continue with large bodies and then waits a
     * second for servers that never answer it; an empty value disables it. A
     * caller's own Expect line comes first and wins. */
    if (!(l = curl_slist_append(list, "Expect:"))) goto fail;
    return l;
fail:
    curl_slist_free_all(list);
    *nomem = 1;
    return NULL;
}

static void set_method(CURL *h, const rk_http_opts *o) {
    const char *m = o->method;
    if (o->body || (m && strcasecmp(m, "POST") == 0)) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(o->body ? o->body_len : 0));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, o->body ? o->body : "");
    }
    if (!m || strcasecmp(m, "GET") == 0 || strcasecmp(m, "POST") == 0) return;
    if (strcasecmp(m, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
}

static void set_options(CURL *h, const rk_http_opts *o, fetch *f, struct curl_slist *headers, char *errbuf) {
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the _STR forms; the bitmask forms are deprecated */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (o->max_redirects >= 0) {
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS,
                         (long)(o->max_redirects ? o->max_redirects : DEFAULT_MAX_REDIRECTS));
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     o->connect_timeout_ms ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS);
    /* Signals are process-wide; the threaded resolver times out without them. */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* every encoding this libcurl decodes */
    curl_easy_setopt(h, CURLOPT_USERAGENT, "raftkit/" RK_VERSION);
    /* Refuses a too-large Content-Length before any body arrives; on_body
     * catches bodies without one and compressed bodies that grow. */
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_bytes);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    set_method(h, o);
}

static int retryable_status(long status) { return status == 429 || (status >= 500 && status <= 599); }

static int retryable_error(CURLcode rc) {
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE: return 1;
    default: return 0;
    }
}

/* The wait before retry k (0-based): the server's Retry-After when it is short
 * enough to honour, else backoff doubled k times. */
static long wait_ms(const rk_http_opts *o, int k, long retry_after_ms) {
    if (retry_after_ms >= 0 && retry_after_ms <= MAX_RETRY_AFTER_MS) return retry_after_ms;
    long backoff = o->backoff_ms ? o->backoff_ms : DEFAULT_BACKOFF_MS;
    for (int i = 0; i < k && backoff < 86400000L; i++)
        backoff *= 2; /* a day bounds the doubling */
    return backoff;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static rk_status transfer_failure(const char *url, CURLcode rc, const fetch *f, const char *errbuf,
                                  int attempts, rk_error *err) {
    if (f->nomem) return rk_fail(err, RK_ENOMEM, "%s: out of memory reading the response", url);
    if (f->too_big || rc == CURLE_FILESIZE_EXCEEDED)
        return rk_fail(err, RK_EFORMAT, "%s: response larger than %zu bytes", url, f->max_bytes);
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    /* A redirect to another scheme lands here too: its target is the refused URL. */
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
        return rk_fail(err, RK_EINVAL, "%s: %s", url, why);
    return rk_fail(err, RK_ENET, "%s: %s (%d attempt%s)", url, why, attempts, attempts == 1 ? "" : "s");
}

/* Performs the request until it succeeds, fails for good or runs out of retries. */
static rk_status perform(CURL *h, const char *url, const rk_http_opts *o, fetch *f, char *errbuf,
                         rk_error *err) {
    rk_http_response *r = f->r;
    for (;;) {
        errbuf[0] = '\0';
        start_response(f);
        CURLcode rc = curl_easy_perform(h);
        r->attempts++;
        r->status = 0;
        if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        int again = rc == CURLE_OK ? retryable_status(r->status) : retryable_error(rc);
        if (!again || r->attempts > o->max_retries) {
            if (rc != CURLE_OK) return transfer_failure(url, rc, f, errbuf, r->attempts, err);
            return RK_OK;
        }
        sleep_ms(wait_ms(o, r->attempts - 1, f->retry_after_ms));
    }
}

static rk_status finish(CURL *h, const char *url, const rk_http_opts *o, rk_http_response *r, rk_error *err) {
    char *eff = NULL;
    curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff);
    r->url = strdup(eff ? eff : url);
    if (!r->body) r->body = calloc(1, 1);
    if (!r->url || !r->body) return rk_fail(err, RK_ENOMEM, "%s: out of memory", url);
    r->not_modified = r->status == 304 && (o->if_none_match || o->if_modified_since);
    return RK_OK;
}

rk_status rk_http_request(const char *url, const rk_http_opts *o, rk_http_response *r, rk_error *err) {
    static const rk_http_opts defaults;
    memset(r, 0, sizeof *r);
    if (!o) o = &defaults;
    if (!rk_http_is_url(url))
        return rk_fail(err, RK_EINVAL, "%s: not an http:// or https:// URL", url ? url : "(null)");
    pthread_once(&init_once, global_init);
    if (init_rc != CURLE_OK)
        return rk_fail(err, RK_ENET, "%s: cannot initialize libcurl: %s", url, curl_easy_strerror(init_rc));
    int nomem = 0;
    struct curl_slist *headers = build_headers(o, &nomem);
    CURL *h = nomem ? NULL : curl_easy_init();
    if (!h) {
        curl_slist_free_all(headers);
        return rk_fail(err, RK_ENOMEM, "%s: out of memory setting up the request", url);
    }
    char errbuf[CURL_ERROR_SIZE];
    fetch f = {.r = r, .max_bytes = o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES, .retry_after_ms = -1};
    set_options(h, o, &f, headers, errbuf);
    CURLcode rc = curl_easy_setopt(h, CURLOPT_URL, url);
    rk_status st = rc == CURLE_OK
                       ? perform(h, url, o, &f, errbuf, err)
                       : rk_fail(err, RK_EINVAL, "%s: libcurl refuses it: %s", url, curl_easy_strerror(rc));
    if (st == RK_OK) st = finish(h, url, o, r, err);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    if (st != RK_OK) { /* nothing half-filled; attempts and status stay for diagnostics */
        int attempts = r->attempts;
        long status = r->status;
        rk_http_response_free(r);
        r->attempts = attempts;
        r->status = status;
    }
    return st;
}
