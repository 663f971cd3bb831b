/* chat.h — one request to an OpenAI-compatible /v1/chat/completions
 * endpoint (llama.cpp server, vLLM, Ollama, OpenAI) through rk_http_request,
 * which retries 429, 5xx and timeouts with backoff. The request body is built
 * here in a canonical form, so that a caller can key a cache by its hash.
 * Used by raft-assemble's remote generator and raft-eval's remote models.
 * Not for streaming or tool calls. */
#ifndef RAFTKIT_CHAT_H
#define RAFTKIT_CHAT_H

#include <stddef.h>

#include "raftkit/status.h"

typedef struct rk_chat_opts {
    const char *url;         /* "http://host:port" or ".../v1" or ".../v1/chat/completions" */
    const char *model;       /* the "model" field; NULL or "": not sent */
    const char *api_key_env; /* the environment variable holding the key; NULL: no Authorization */
    double temperature;      /* sent as given (0 = greedy) */
    int max_tokens;          /* 0: not sent */
    int retries;             /* after the first attempt; 0: 5; negative: none */
    long timeout_ms;         /* one request; 0: 120000 */
    long backoff_ms;         /* the first wait between attempts, doubling after each; 0: 500 */
} rk_chat_opts;

typedef struct rk_chat_msg {
    const char *role; /* "system", "user", "assistant" */
    const char *content;
} rk_chat_msg;

/* The JSON body of the request (compact, keys in a fixed order: model,
 * messages, temperature, max_tokens; temperature with at most 15
 * significant digits, so 0.7 reads "0.7"): what rk_chat_complete sends and
 * what a cache is keyed by. NULL when out of memory, when a string is not
 * valid UTF-8 (jansson refuses it) or when temperature is not finite. The
 * caller frees. */
char *rk_chat_body(const rk_chat_opts *o, const rk_chat_msg *msgs, size_t n);

/* Posts body (from rk_chat_body) and puts the first choice's
 * message.content in *content (NUL-terminated; the caller frees).
 * RK_ENET: unreachable, or a status other than 2xx after the retries (the
 * message has the status and the start of the server's explanation, never
 * the key). RK_EFORMAT: a 2xx reply that is not a chat completion (not
 * JSON, no choices, no string content), with the start of the reply.
 * RK_EINVAL: a URL that is not http:// or https://, or the key's variable
 * named but unset or empty. Messages start with the endpoint URL. The key
 * is read from the environment at each call. Thread-safe. */
rk_status rk_chat_complete(const rk_chat_opts *o, const char *body, char **content, rk_error *err);

#endif
