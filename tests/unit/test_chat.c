/* Unit tests for core/chat.c: the canonical request body, and requests to the
 * loopback server of httpd.h answering like an OpenAI-compatible
 * /v1/chat/completions endpoint. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpd.h"
#include "raftkit/chat.h"

#define KEY "sk-test-chat-0123456789abcdef"
#define KEY_ENV "RK_TEST_CHAT_KEY"

/* What the server replies. */
typedef enum mode {
    OK,           /* a chat completion whose content echoes the last message: "echo: ..." */
    BROKEN_ONCE,  /* 500 with Retry-After: 0 to the first request, then OK */
    BROKEN,       /* 500 with an OpenAI error object, always */
    BAD_KEY,      /* 401 whose message repeats the key */
    SLOW,         /* OK, three seconds late */
    NOT_JSON,     /* 200 with an HTML page */
    NO_CHOICES,   /* 200 with {"object": "chat.completion"} */
    EMPTY,        /* 200 with "choices": [] */
    NULL_CONTENT, /* 200 with content null */
    NUM_CONTENT,  /* 200 with content 42 */
    LONG_JUNK,    /* 200 with 1000 bytes of "x" */
} mode;

typedef struct srv {
    mode mode;
    int hits;
    char path[2048], auth[256], content_type[64];
    int has_auth;
    char *body; /* the last request body */
    char junk[1001];
} srv;

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
    free(s->body);
    s->body = req->body ? strdup(req->body) : NULL;
    switch (s->mode) {
    case BROKEN_ONCE:
        if (s->hits > 1) break;
        /* fall through */
    case BROKEN:
        httpd_text(rep, 500, "application/json", "{\"error\": {\"message\": \"model overloaded\"}}");
        add_header(rep, "Retry-After: 0");
        return;
    case BAD_KEY:
        httpd_text(rep, 401, "application/json",
                   "{\"error\": {\"message\": \"Incorrect API key provided: " KEY "\"}}");
        return;
    case SLOW: rep->delay_ms = 3000; break;
    case NOT_JSON: httpd_text(rep, 200, "text/html", "<html>gateway</html>"); return;
    case NO_CHOICES: httpd_text(rep, 200, "application/json", "{\"object\": \"chat.completion\"}"); return;
    case EMPTY: httpd_text(rep, 200, "application/json", "{\"choices\": []}"); return;
    case NULL_CONTENT: httpd_chat(rep, json_null()); return;
    case NUM_CONTENT: httpd_chat(rep, json_integer(42)); return;
    case LONG_JUNK:
        memset(s->junk, 'x', sizeof s->junk - 1);
        httpd_text(rep, 200, "text/plain", s->junk);
        return;
    default: break;
    }
    json_t *r = req->body ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
    const json_t *msgs = json_object_get(r, "messages");
    const char *last =
        json_string_value(json_object_get(json_array_get(msgs, json_array_size(msgs) - 1), "content"));
    char text[512];
    snprintf(text, sizeof text, "echo: %s", last ? last : "(none)");
    httpd_chat(rep, json_string(text));
    json_decref(r);
}

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static const rk_chat_msg msgs[] = {{"system", "You answer."}, {"user", "Is it \"été\"?\nYes."}};

/* A request to s's base URL with o's other fields; returns the status. */
static rk_status complete(httpd *s, rk_chat_opts o, char **content, rk_error *e) {
    char *url = httpd_url(s, "");
    o.url = url;
    char *body = rk_chat_body(&o, msgs, 2);
    cr_assert(body);
    rk_status st = rk_chat_complete(&o, body, content, e);
    free(body);
    free(url);
    return st;
}

static void assert_starts_with_endpoint(httpd *s, const rk_error *e) {
    char *url = httpd_url(s, "/v1/chat/completions");
    cr_assert(strncmp(e->msg, url, strlen(url)) == 0 && e->msg[strlen(url)] == ':', "%s", e->msg);
    free(url);
}

static void stop(httpd *s, srv *c) {
    httpd_stop(s);
    free(c->body);
}

Test(chat, body_is_canonical) {
    rk_chat_opts o = {.model = "llama-3-8b", .temperature = 0.7, .max_tokens = 256};
    char *b = rk_chat_body(&o, msgs, 2);
    cr_assert_str_eq(b, "{\"model\":\"llama-3-8b\",\"messages\":[{\"role\":\"system\",\"content\":\"You "
                        "answer.\"},{\"role\":\"user\",\"content\":\"Is it \\\"\xc3\xa9t\xc3\xa9\\\"?\\nYes."
                        "\"}],\"temperature\":0.7,\"max_tokens\":256}");
    /* The same options give the same bytes. */
    char *again = rk_chat_body(&o, msgs, 2);
    cr_assert_str_eq(again, b);
    free(again);
    free(b);
    /* No model (NULL or ""), no max_tokens: both left out; a temperature of 0 is sent. */
    rk_chat_opts bare = {.model = ""};
    b = rk_chat_body(&bare, msgs, 1);
    cr_assert_str_eq(
        b, "{\"messages\":[{\"role\":\"system\",\"content\":\"You answer.\"}],\"temperature\":0.0}");
    free(b);
    bare.model = NULL;
    bare.temperature = 1;
    b = rk_chat_body(&bare, msgs, 1);
    cr_assert_str_eq(
        b, "{\"messages\":[{\"role\":\"system\",\"content\":\"You answer.\"}],\"temperature\":1.0}");
    free(b);
}

Test(chat, body_refuses_invalid_utf8) {
    rk_chat_opts o = {0};
    rk_chat_msg bad[] = {{"user", "caf\xe9"}};
    cr_assert_null(rk_chat_body(&o, bad, 1));
}

Test(chat, base_urls_get_v1_chat_completions) {
    srv c = {.mode = OK};
    httpd *s = httpd_start(handler, &c);
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", httpd_port(s));
    const char *tails[][2] = {{"", "/v1/chat/completions"},
                              {"/", "/v1/chat/completions"},
                              {"/v1", "/v1/chat/completions"},
                              {"/v1//", "/v1/chat/completions"},
                              {"/api/v1/", "/api/v1/chat/completions"},
                              {"/x/chat/completions", "/x/chat/completions"}};
    for (size_t k = 0; k < sizeof tails / sizeof *tails; k++) {
        char url[128];
        snprintf(url, sizeof url, "%s%s", base, tails[k][0]);
        rk_chat_opts o = {.url = url};
        char *body = rk_chat_body(&o, msgs, 2), *content;
        rk_error e = {0};
        cr_assert_eq(rk_chat_complete(&o, body, &content, &e), RK_OK, "%s: %s", url, e.msg);
        cr_assert_str_eq(c.path, tails[k][1], "%s", url);
        free(content);
        free(body);
    }
    stop(s, &c);
}

Test(chat, reply_content_is_returned) {
    srv c = {.mode = OK};
    httpd *s = httpd_start(handler, &c);
    char *url = httpd_url(s, "/v1");
    rk_chat_opts o = {.url = url, .model = "m", .temperature = 0.2, .max_tokens = 16};
    char *body = rk_chat_body(&o, msgs, 2), *content = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_chat_complete(&o, body, &content, &e), RK_OK, "%s", e.msg);
    cr_assert_str_eq(content, "echo: Is it \"\xc3\xa9t\xc3\xa9\"?\nYes.");
    cr_assert_eq(c.hits, 1);
    cr_assert_str_eq(c.body, body, "the server got the body as built");
    cr_assert_str_eq(c.content_type, "application/json");
    cr_assert_eq(c.has_auth, 0, "Authorization: %s", c.auth);
    free(content);
    free(body);
    free(url);
    stop(s, &c);
}

Test(chat, api_key_is_sent_as_bearer) {
    srv c = {.mode = OK};
    httpd *s = httpd_start(handler, &c);
    setenv(KEY_ENV, KEY, 1);
    char *content;
    rk_error e = {0};
    cr_assert_eq(complete(s, (rk_chat_opts){.api_key_env = KEY_ENV}, &content, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(c.has_auth, 1);
    cr_assert_str_eq(c.auth, "Bearer " KEY);
    free(content);
    stop(s, &c);
}

Test(chat, unset_or_empty_key_variable_is_named) {
    srv c = {.mode = OK};
    httpd *s = httpd_start(handler, &c);
    rk_chat_opts o = {.api_key_env = "RK_TEST_NO_SUCH_CHAT_KEY"};
    unsetenv(o.api_key_env);
    char *content = (char *)&c, *ep = httpd_url(s, "/v1/chat/completions"), want[256];
    rk_error e = {0};
    cr_assert_eq(complete(s, o, &content, &e), RK_EINVAL);
    snprintf(want, sizeof want, "%s: --api-key-env RK_TEST_NO_SUCH_CHAT_KEY: the variable is not set", ep);
    cr_assert_str_eq(e.msg, want);
    cr_assert_null(content);
    setenv(o.api_key_env, "", 1);
    cr_assert_eq(complete(s, o, &content, &e), RK_EINVAL);
    snprintf(want, sizeof want, "%s: --api-key-env RK_TEST_NO_SUCH_CHAT_KEY: the variable is empty", ep);
    cr_assert_str_eq(e.msg, want);
    cr_assert_eq(c.hits, 0);
    unsetenv(o.api_key_env);
    free(ep);
    stop(s, &c);
}

Test(chat, not_a_url_is_refused) {
    rk_chat_opts o = {.url = "ftp://127.0.0.1/"};
    char *body = rk_chat_body(&o, msgs, 1), *content;
    rk_error e = {0};
    cr_assert_eq(rk_chat_complete(&o, body, &content, &e), RK_EINVAL);
    cr_assert_str_eq(e.msg, "ftp://127.0.0.1/: not an http:// or https:// URL");
    cr_assert_null(content);
    free(body);
}

Test(chat, server_error_then_ok_is_retried) {
    srv c = {.mode = BROKEN_ONCE};
    httpd *s = httpd_start(handler, &c);
    char *content = NULL;
    rk_error e = {0};
    long t0 = now_ms();
    cr_assert_eq(complete(s, (rk_chat_opts){.retries = 2, .backoff_ms = 10}, &content, &e), RK_OK, "%s",
                 e.msg);
    long took = now_ms() - t0;
    cr_assert_eq(c.hits, 2);
    cr_assert_lt(took, 1000, "took %ld ms", took);
    cr_assert_str_eq(content, "echo: Is it \"\xc3\xa9t\xc3\xa9\"?\nYes.");
    free(content);
    stop(s, &c);
}

Test(chat, server_error_after_retries) {
    srv c = {.mode = BROKEN};
    httpd *s = httpd_start(handler, &c);
    char *content, *ep = httpd_url(s, "/v1/chat/completions"), want[256];
    rk_error e = {0};
    cr_assert_eq(complete(s, (rk_chat_opts){.retries = 2, .backoff_ms = 10}, &content, &e), RK_ENET);
    snprintf(want, sizeof want, "%s: HTTP 500 (3 attempts): model overloaded", ep);
    cr_assert_str_eq(e.msg, want);
    cr_assert_eq(c.hits, 3);
    cr_assert_null(content);
    free(ep);
    stop(s, &c);
}

/* A 401 is not retried, and the key the server echoes is scrubbed. */
Test(chat, key_never_appears_in_errors) {
    srv c = {.mode = BAD_KEY};
    httpd *s = httpd_start(handler, &c);
    setenv(KEY_ENV, KEY, 1);
    char *content, *ep = httpd_url(s, "/v1/chat/completions"), want[256];
    rk_error e = {0};
    cr_assert_eq(complete(s, (rk_chat_opts){.api_key_env = KEY_ENV, .backoff_ms = 10}, &content, &e),
                 RK_ENET);
    snprintf(want, sizeof want, "%s: HTTP 401 (1 attempt): Incorrect API key provided: ***", ep);
    cr_assert_str_eq(e.msg, want);
    cr_assert_null(strstr(e.msg, KEY));
    cr_assert_eq(c.hits, 1);
    cr_assert_str_eq(c.auth, "Bearer " KEY);
    free(ep);
    stop(s, &c);
}

Test(chat, timeout_fails_with_enet) {
    srv c = {.mode = SLOW};
    httpd *s = httpd_start(handler, &c);
    char *content;
    rk_error e = {0};
    long t0 = now_ms();
    cr_assert_eq(complete(s, (rk_chat_opts){.retries = 1, .timeout_ms = 200, .backoff_ms = 10}, &content, &e),
                 RK_ENET, "%s", e.msg);
    long took = now_ms() - t0;
    cr_assert_lt(took, 2000, "took %ld ms", took);
    cr_assert_eq(c.hits, 2);
    assert_starts_with_endpoint(s, &e);
    cr_assert(strstr(e.msg, "(2 attempts)"), "%s", e.msg);
    cr_assert_null(content);
    stop(s, &c);
}

/* Each 2xx reply that is no chat completion fails with RK_EFORMAT, the
 * endpoint, the phrase and the start of the reply; none is retried. */
Test(chat, malformed_replies_fail_with_eformat) {
    static const struct {
        mode mode;
        const char *phrase;
    } cases[] = {
        {NOT_JSON, ": reply is not JSON (line 1, column 1: "},
        {NO_CHOICES, ": reply is not a chat completion (no choices): {\"object\": \"chat.completion\"}"},
        {EMPTY, ": reply is not a chat completion (no choices): {\"choices\": []}"},
        {NULL_CONTENT, ": reply's first choice has no string message.content: {\"id\":\"chatcmpl-1\""},
        {NUM_CONTENT, ": reply's first choice has no string message.content: {"},
    };
    srv c = {.mode = OK};
    httpd *s = httpd_start(handler, &c);
    setenv(KEY_ENV, KEY, 1);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        c.mode = cases[k].mode;
        char *content = (char *)&c;
        rk_error e = {0};
        cr_assert_eq(complete(s, (rk_chat_opts){.api_key_env = KEY_ENV}, &content, &e), RK_EFORMAT,
                     "case %zu", k);
        assert_starts_with_endpoint(s, &e);
        cr_assert(strstr(e.msg, cases[k].phrase), "case %zu: %s", k, e.msg);
        cr_assert_null(content);
    }
    cr_assert_eq(c.hits, (int)(sizeof cases / sizeof *cases));
    stop(s, &c);
}

/* The start of a long reply is shown, cut with "...". */
Test(chat, long_bad_reply_is_cut) {
    srv c = {.mode = LONG_JUNK};
    httpd *s = httpd_start(handler, &c);
    char *content;
    rk_error e = {0};
    cr_assert_eq(complete(s, (rk_chat_opts){0}, &content, &e), RK_EFORMAT);
    const char *start = strstr(e.msg, "): x");
    cr_assert(start, "%s", e.msg);
    cr_assert_eq(strlen(start + 3), 200 + 3, "%s", e.msg);
    cr_assert_str_eq(start + 3 + 200, "...");
    stop(s, &c);
}
