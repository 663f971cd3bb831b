/* http.h — one HTTP(S) request through libcurl, with the policy every raftkit
 * stage wants: timeouts, redirects, a size limit, retries with exponential
 * backoff on 429/5xx and transient network errors (honouring Retry-After),
 * and conditional GETs. Used by ingest (fetching pages) and by the remote
 * embedders and generators (POSTing JSON to OpenAI-compatible endpoints).
 * Not for servers; not for streaming. */
#ifndef RAFTKIT_HTTP_H
#define RAFTKIT_HTTP_H

#include <stddef.h>

#include "raftkit/status.h"

typedef struct rk_http_opts {
    const char *method; /* NULL: GET, or POST when body is set */
    const char *body;   /* request body, may be NULL */
    size_t body_len;
    const char *const *headers;    /* extra "Name: value" lines, NULL-terminated; may be NULL */
    long timeout_ms;               /* whole request; 0: 30000 */
    long connect_timeout_ms;       /* 0: 10000 */
    size_t max_bytes;              /* larger bodies fail with RK_EFORMAT; 0: 64 MiB */
    int max_redirects;             /* 0: 5; -1: do not follow */
    int max_retries;               /* after the first attempt, on 429, 5xx, timeouts, refused
                                      connections; 0: none */
    long backoff_ms;               /* first wait; doubles each retry; 0: 500. A Retry-After
                                      (seconds or HTTP-date) of at most 60 s replaces the wait. */
    const char *if_none_match;     /* an ETag from an earlier response, or NULL */
    const char *if_modified_since; /* a Last-Modified value from an earlier response, or NULL */
} rk_http_opts;

typedef struct rk_http_response {
    long status;      /* the final HTTP status, after redirects and retries */
    int not_modified; /* 304 to a conditional request: body is empty */
    char *body;       /* NUL-terminated, len bytes; the caller frees */
    size_t len;
    char *content_type;  /* without parameters, lower-case ("text/html"); NULL when absent */
    char *charset;       /* the Content-Type charset parameter, lower-case; NULL when absent */
    char *etag;          /* NULL when absent */
    char *last_modified; /* NULL when absent */
    char *url;           /* the URL after redirects */
    int attempts;        /* requests made, retries included */
} rk_http_response;

/* Makes the request. A completed exchange returns RK_OK whatever its status
 * (the caller judges 404 or 500 after the retries ran out) except as below.
 * Fails with RK_ENET (DNS, connection, TLS, timeout, too many redirects,
 * after the retries; the message ends with "(N attempts)"), RK_EFORMAT (body
 * above max_bytes, decoded size), RK_EINVAL (a URL libcurl refuses, a scheme
 * other than http/https, a redirect to one), RK_ENOMEM. Messages start with
 * the URL. The response is zeroed first and freed with rk_http_response_free
 * whatever the result; on failure only attempts (and status) are left set.
 * Safe to call from several threads. */
rk_status rk_http_request(const char *url, const rk_http_opts *o, rk_http_response *r, rk_error *err);
void rk_http_response_free(rk_http_response *r);

/* Whether s starts with http:// or https:// (case-insensitive). */
int rk_http_is_url(const char *s);

#endif
