/* chat.c — one request to an OpenAI-compatible /v1/chat/completions
 * endpoint through rk_http_request (which retries 429, 5xx and timeouts),
 * and the first choice's content taken from a reply checked to be a chat
 * completion.
 *
 * Failures follow index/embed_http.c: RK_ENET when the server cannot be
 * reached or answers with a status other than 2xx after the retries (the
 * message has the status and the start of the server's own explanation);
 * RK_EFORMAT when a 2xx reply is not a chat completion (the message has the
 * start of the reply); RK_EINVAL for a bad URL or an unset key variable.
 * The key never appears in a message: what the server echoes is scrubbed. */
#include "raftkit/chat.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/http.h"
#include "raftkit/openai.h"

#define DEFAULT_RETRIES 5
#define DEFAULT_TIMEOUT_MS 120000L

char *rk_chat_body(const rk_chat_opts *o, const rk_chat_msg *msgs, size_t n) {
    json_t *req = json_object(), *list = json_array();
    int bad = !req || !list;
    if (!bad && o->model && *o->model) bad = json_object_set_new(req, "model", json_string(o->model)) != 0;
    for (size_t i = 0; !bad && i < n; i++) /* json_pack fails on a string that is not UTF-8 */
        bad = json_array_append_new(
                  list, json_pack("{s:s, s:s}", "role", msgs[i].role, "content", msgs[i].content)) != 0;
    if (!bad) bad = json_object_set(req, "messages", list) != 0;
    if (!bad) bad = json_object_set_new(req, "temperature", json_real(o->temperature)) != 0; /* NaN: NULL */
    if (!bad && o->max_tokens) bad = json_object_set_new(req, "max_tokens", json_integer(o->max_tokens)) != 0;
    /* 15 digits: 0.7 is written "0.7", not "0.69999999999999996" */
    char *body = bad ? NULL : json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(list);
    json_decref(req);
    return body;
}

/* Takes choices[0].message.content from a 2xx reply into *content. */
static rk_status parse_reply(const char *url, const rk_http_response *r, char **content, rk_error *err) {
    char start[RK_OPENAI_EXCERPT + 8];
    rk_openai_excerpt(r->body ? r->body : "", r->len, start, sizeof start);
    json_error_t je;
    json_t *reply = json_loadb(r->body ? r->body : "", r->len, JSON_DECODE_ANY, &je);
    if (!reply)
        return rk_fail(err, RK_EFORMAT, "%s: reply is not JSON (line %d, column %d: %s): %s", url, je.line,
                       je.column, je.text, start);
    rk_status st = RK_OK;
    const json_t *choices = json_object_get(reply, "choices");
    const json_t *text = json_object_get(json_object_get(json_array_get(choices, 0), "message"), "content");
    if (!json_is_array(choices) || json_array_size(choices) == 0)
        st = rk_fail(err, RK_EFORMAT, "%s: reply is not a chat completion (no choices): %s", url, start);
    else if (!json_is_string(text))
        st = rk_fail(err, RK_EFORMAT, "%s: reply's first choice has no string message.content: %s", url,
                     start);
    else if (!(*content = strndup(json_string_value(text), json_string_length(text))))
        st = rk_fail(err, RK_ENOMEM, "%s: out of memory reading the reply", url);
    json_decref(reply);
    return st;
}

/* The request itself, once the endpoint and Authorization line are known. */
static rk_status post(const rk_chat_opts *o, const char *url, const char *auth, const char *body,
                      char **content, rk_error *err) {
    const char *headers[] = {"Content-Type: application/json", auth, NULL}; /* no key: auth ends the list */
    rk_http_opts ho = {.body = body,
                       .body_len = strlen(body),
                       .headers = headers,
                       .timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS,
                       .max_retries = o->retries < 0 ? 0
                                      : o->retries   ? o->retries
                                                     : DEFAULT_RETRIES,
                       .backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : 0}; /* 0: http.c's 500 */
    rk_http_response r = {0};
    rk_status st = rk_http_request(url, &ho, &r, err);
    if (!st && (r.status < 200 || r.status > 299)) {
        char said[RK_OPENAI_EXCERPT + 8];
        rk_openai_explanation(r.body, r.len, said, sizeof said);
        st = rk_fail(err, RK_ENET, "%s: HTTP %ld (%d attempt%s)%s%s", url, r.status, r.attempts,
                     r.attempts == 1 ? "" : "s", said[0] ? ": " : "", said);
    }
    if (!st) st = parse_reply(url, &r, content, err);
    rk_http_response_free(&r);
    return st;
}

rk_status rk_chat_complete(const rk_chat_opts *o, const char *body, char **content, rk_error *err) {
    *content = NULL;
    if (!body) return rk_fail(err, RK_EINVAL, "%s: no request body", o->url ? o->url : "(null)");
    if (!rk_http_is_url(o->url))
        return rk_fail(err, RK_EINVAL, "%s: not an http:// or https:// URL", o->url ? o->url : "(null)");
    char *url = rk_openai_url(o->url, "/chat/completions"), *auth = NULL;
    if (!url) return rk_fail(err, RK_ENOMEM, "%s: out of memory", o->url);
    rk_status st = rk_openai_auth(o->api_key_env, &auth, err);
    if (st) rk_fail_prefix(err, "%s", url);
    if (!st) st = post(o, url, auth, body, content, err);
    if (st) rk_openai_scrub(auth, err);
    free(auth);
    free(url);
    return st;
}
