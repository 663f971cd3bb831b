/* httpd.h — a small HTTP/1.1 server on 127.0.0.1 for tests that need a real
 * peer (libcurl talking to loopback instead of a mock). Header-only.
 *
 *     static void handler(const httpd_request *req, httpd_reply *rep, void *ctx) {
 *         int *hits = ctx;
 *         ++*hits;
 *         httpd_text(rep, 200, "text/plain", "hello");
 *     }
 *     int hits = 0;
 *     httpd *s = httpd_start(handler, &hits);
 *     char *url = httpd_url(s, "/page?x=1");   // http://127.0.0.1:PORT/page?x=1
 *     ... request url, then assert on the result and on hits ...
 *     free(url);
 *     httpd_stop(s);
 *
 * - The port is chosen by the kernel, so tests can run side by side.
 * - One thread accepts; each connection gets its own thread, serves one request
 *   and ends (every reply says "Connection: close").
 * - A request is its line, its headers (at most 8 KiB) and a body of
 *   Content-Length bytes. "Expect: 100-continue" is answered; chunked request
 *   bodies are not supported (400, handler not called).
 * - The handler runs under the server's mutex, so it may count and capture
 *   requests in ctx without locking; the test reads ctx once its client call
 *   has returned. It runs on a server thread: no cr_assert there — capture
 *   what it saw and assert in the test.
 * - rep starts as 200 with no content type and an empty body. delay_ms waits
 *   before replying, outside the mutex; the wait ends early when the client
 *   hangs up or the server stops. close_without_reply closes the connection
 *   instead of answering (clients see an empty reply).
 * - 1xx, 204 and 304 replies and replies to HEAD carry no body; others carry
 *   Content-Length: body_len.
 * - httpd_stop stops accepting, unblocks and joins every thread, frees all. */
#ifndef RAFTKIT_TEST_HTTPD_H
#define RAFTKIT_TEST_HTTPD_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct httpd_request {
    char method[16];
    char path[2048];    /* with the query string */
    char headers[8192]; /* the raw "Name: value\r\n" lines */
    char *body;         /* NUL-terminated; NULL when the request had none */
    size_t body_len;
} httpd_request;

typedef struct httpd_reply {
    int status;
    const char *content_type; /* NULL: no Content-Type header */
    char headers[2048];       /* extra raw "Name: value\r\n" lines */
    const char *body;
    size_t body_len;
    int free_body;           /* free(body) once sent */
    int delay_ms;            /* wait before replying (to provoke client timeouts) */
    int close_without_reply; /* hang up instead of answering */
} httpd_reply;

typedef void (*httpd_handler)(const httpd_request *req, httpd_reply *rep, void *ctx);

typedef struct httpd_conn {
    struct httpd *s;
    int fd; /* closed only once the thread is joined, so shutdown() never hits a reused fd */
    int done;
    pthread_t thread;
    struct httpd_conn *next;
} httpd_conn;

typedef struct httpd {
    int fd, port;
    httpd_handler handler;
    void *ctx;
    pthread_mutex_t lock; /* the handler, requests, stopping, conn->done */
    int requests, stopping;
    pthread_t acceptor;
    httpd_conn *conns; /* the acceptor's until it is joined */
} httpd;

#define HTTPD_MAX_BODY ((size_t)256 << 20)

/* Sets a reply with a static NUL-terminated body. */
static inline void httpd_text(httpd_reply *rep, int status, const char *content_type, const char *body) {
    rep->status = status;
    rep->content_type = content_type;
    rep->body = body;
    rep->body_len = strlen(body);
}

/* Replies v (taken: the reply owns it) as compact JSON. */
static inline void httpd_json(httpd_reply *rep, int status, json_t *v) {
    rep->status = status;
    rep->content_type = "application/json";
    rep->body = json_dumps(v, JSON_COMPACT);
    rep->body_len = strlen(rep->body);
    rep->free_body = 1;
    json_decref(v);
}

/* Replies an OpenAI chat completion whose message content is content (any
 * JSON value, taken), as /v1/chat/completions answers. */
static inline void httpd_chat(httpd_reply *rep, json_t *content) {
    httpd_json(rep, 200,
               json_pack("{s:s, s:s, s:[{s:i, s:{s:s, s:o}, s:s}]}", "id", "chatcmpl-1", "object",
                         "chat.completion", "choices", "index", 0, "message", "role", "assistant", "content",
                         content, "finish_reason", "stop"));
}

/* The value of header name (case-insensitive) copied into buf; NULL when absent. */
static inline const char *httpd_header(const httpd_request *req, const char *name, char *buf, size_t cap) {
    size_t n = strlen(name);
    for (const char *l = req->headers; *l;) {
        const char *eol = strstr(l, "\r\n");
        if (!eol) eol = l + strlen(l);
        if ((size_t)(eol - l) > n && l[n] == ':' && strncasecmp(l, name, n) == 0) {
            const char *v = l + n + 1, *e = eol;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            size_t m = (size_t)(e - v) < cap - 1 ? (size_t)(e - v) : cap - 1;
            memcpy(buf, v, m);
            buf[m] = '\0';
            return buf;
        }
        l = *eol ? eol + 2 : eol;
    }
    return NULL;
}

static inline int httpd_send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return 0;
        p += k;
        n -= (size_t)k;
    }
    return 1;
}

/* Reads until the blank line ending the head. Returns the head's length with
 * its blank line, 0 when the peer went away, -1 when the head does not fit. */
static inline long httpd_read_head(int fd, char *buf, size_t cap, size_t *have) {
    *have = 0;
    for (;;) {
        buf[*have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end) return end + 4 - buf;
        if (*have == cap - 1) return -1;
        ssize_t k = recv(fd, buf + *have, cap - 1 - *have, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return 0;
        *have += (size_t)k;
    }
}

/* Fills req from the connection. Returns 1 for a request to hand to the
 * handler, 0 when the peer went away, or -1 with rep set to an error reply. */
static inline int httpd_read_request(int fd, httpd_request *req, httpd_reply *rep) {
    char buf[sizeof req->method + sizeof req->path + sizeof req->headers + 64];
    size_t have;
    long head = httpd_read_head(fd, buf, sizeof buf, &have);
    if (head == 0) return 0;
    if (head < 0) return httpd_text(rep, 431, "text/plain", "head too large"), -1;
    char *line_end = strstr(buf, "\r\n"), *sp1 = memchr(buf, ' ', (size_t)(line_end - buf));
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1)) : NULL;
    if (!sp2 || (size_t)(sp1 - buf) >= sizeof req->method || (size_t)(sp2 - sp1 - 1) >= sizeof req->path)
        return httpd_text(rep, 400, "text/plain", "bad request line"), -1;
    memcpy(req->method, buf, (size_t)(sp1 - buf));
    memcpy(req->path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    size_t hn = (size_t)(buf + head - 2 - (line_end + 2)); /* the header lines without the blank one */
    if (hn >= sizeof req->headers) return httpd_text(rep, 431, "text/plain", "headers too large"), -1;
    memcpy(req->headers, line_end + 2, hn);
    char v[64];
    if (httpd_header(req, "Transfer-Encoding", v, sizeof v))
        return httpd_text(rep, 400, "text/plain", "chunked bodies are not supported"), -1;
    size_t len = httpd_header(req, "Content-Length", v, sizeof v) ? strtoull(v, NULL, 10) : 0;
    if (len > HTTPD_MAX_BODY) return httpd_text(rep, 413, "text/plain", "body too large"), -1;
    size_t got = have - (size_t)head;
    if (got > len) got = len; /* a pipelined request behind this one is ignored */
    if (len == 0) return 1;
    if (got < len && httpd_header(req, "Expect", v, sizeof v) && strcasecmp(v, "100-continue") == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (!httpd_send_all(fd, cont, sizeof cont - 1)) return 0;
    }
    req->body = malloc(len + 1);
    if (!req->body) return httpd_text(rep, 500, "text/plain", "out of memory"), -1;
    memcpy(req->body, buf + head, got);
    while (got < len) {
        ssize_t k = recv(fd, req->body + got, len - got, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return 0;
        got += (size_t)k;
    }
    req->body[len] = '\0';
    req->body_len = len;
    return 1;
}

static inline const char *httpd_reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

static inline void httpd_send_reply(int fd, const httpd_request *req, const httpd_reply *rep) {
    int bodiless = rep->status < 200 || rep->status == 204 || rep->status == 304;
    char head[sizeof rep->headers + 512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nConnection: close\r\n", rep->status,
                     httpd_reason(rep->status));
    if (rep->content_type)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Type: %s\r\n", rep->content_type);
    if (!bodiless) n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n", rep->body_len);
    snprintf(head + n, sizeof head - (size_t)n, "%s\r\n", rep->headers);
    if (!httpd_send_all(fd, head, strlen(head))) return;
    if (!bodiless && strcmp(req->method, "HEAD") != 0 && rep->body_len)
        httpd_send_all(fd, rep->body, rep->body_len);
}

/* Sleeps up to ms, waking early when the peer hangs up or httpd_stop shuts the socket. */
static inline void httpd_wait(int fd, int ms) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int left = ms; left > 0;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left) != -1 || errno != EINTR) return;
        clock_gettime(CLOCK_MONOTONIC, &t);
        left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
    }
}

static inline void *httpd_serve(void *arg) {
    httpd_conn *c = arg;
    httpd *s = c->s;
    httpd_request *req = calloc(1, sizeof *req);
    httpd_reply rep = {.status = 200};
    int got = req ? httpd_read_request(c->fd, req, &rep) : 0;
    if (got == 1) {
        pthread_mutex_lock(&s->lock);
        s->requests++;
        s->handler(req, &rep, s->ctx);
        pthread_mutex_unlock(&s->lock);
    }
    if (got && rep.delay_ms > 0) httpd_wait(c->fd, rep.delay_ms);
    if (got && !rep.close_without_reply) httpd_send_reply(c->fd, req, &rep);
    if (rep.free_body) free((void *)rep.body);
    if (req) free(req->body);
    free(req);
    shutdown(c->fd, SHUT_WR); /* the client sees the end of the reply */
    pthread_mutex_lock(&s->lock);
    c->done = 1;
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Joins and frees the connections that have finished. */
static inline void httpd_reap(httpd *s) {
    for (httpd_conn **p = &s->conns; *p;) {
        httpd_conn *c = *p;
        pthread_mutex_lock(&s->lock);
        int done = c->done;
        pthread_mutex_unlock(&s->lock);
        if (!done) {
            p = &c->next;
            continue;
        }
        pthread_join(c->thread, NULL);
        close(c->fd);
        *p = c->next;
        free(c);
    }
}

static inline int httpd_stopping(httpd *s) {
    pthread_mutex_lock(&s->lock);
    int stopping = s->stopping;
    pthread_mutex_unlock(&s->lock);
    return stopping;
}

static inline void *httpd_accept_loop(void *arg) {
    httpd *s = arg;
    for (;;) {
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0) {
            if (httpd_stopping(s)) return NULL;
            if (errno != EINTR && errno != ECONNABORTED) poll(NULL, 0, 10); /* EMFILE and the like */
            continue;
        }
        httpd_reap(s);
        httpd_conn *c = calloc(1, sizeof *c);
        if (c) {
            c->s = s;
            c->fd = fd;
        }
        if (!c || pthread_create(&c->thread, NULL, httpd_serve, c) != 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = s->conns;
        s->conns = c;
    }
}

static inline httpd *httpd_start(httpd_handler h, void *ctx) {
    httpd *s = calloc(1, sizeof *s);
    cr_assert(s, "httpd: out of memory");
    s->handler = h;
    s->ctx = ctx;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(s->fd >= 0, "httpd: socket: %s", strerror(errno));
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    cr_assert(bind(s->fd, (struct sockaddr *)&a, sizeof a) == 0, "httpd: bind: %s", strerror(errno));
    cr_assert(listen(s->fd, 64) == 0, "httpd: listen: %s", strerror(errno));
    cr_assert(getsockname(s->fd, (struct sockaddr *)&a, &alen) == 0, "httpd: getsockname: %s",
              strerror(errno));
    s->port = ntohs(a.sin_port);
    cr_assert(pthread_mutex_init(&s->lock, NULL) == 0);
    cr_assert(pthread_create(&s->acceptor, NULL, httpd_accept_loop, s) == 0, "httpd: cannot start a thread");
    return s;
}

static inline int httpd_port(const httpd *s) { return s->port; }

/* "http://127.0.0.1:PORT/path"; the caller frees. */
static inline char *httpd_url(const httpd *s, const char *path) {
    size_t n = strlen(path) + 40;
    char *u = malloc(n);
    cr_assert(u);
    snprintf(u, n, "http://127.0.0.1:%d%s%s", s->port, path[0] == '/' ? "" : "/", path);
    return u;
}

/* Requests handed to the handler so far. */
static inline int httpd_requests(const httpd *s) {
    pthread_mutex_lock((pthread_mutex_t *)&s->lock);
    int n = s->requests;
    pthread_mutex_unlock((pthread_mutex_t *)&s->lock);
    return n;
}

static inline void httpd_stop(httpd *s) {
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_mutex_unlock(&s->lock);
    shutdown(s->fd, SHUT_RDWR); /* wakes accept() */
    pthread_join(s->acceptor, NULL);
    close(s->fd);
    for (httpd_conn *c = s->conns; c; c = c->next)
        shutdown(c->fd, SHUT_RDWR); /* wakes recv() and waits */
    while (s->conns) {
        httpd_conn *c = s->conns;
        s->conns = c->next;
        pthread_join(c->thread, NULL);
        close(c->fd);
        free(c);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

#endif
