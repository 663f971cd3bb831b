/* openai.h — what the clients of OpenAI-compatible endpoints (llama.cpp
 * server, vLLM, Ollama, OpenAI) share: the endpoint URL from a base URL, the
 * Authorization line from a key variable, the key scrubbed from messages,
 * and excerpts of what a server said. Used by the http embedder
 * (index/embed_http.c) and chat completions (core/chat.c). Not for the
 * requests themselves (http.h). */
#ifndef RAFTKIT_OPENAI_H
#define RAFTKIT_OPENAI_H

#include <stddef.h>

#include "raftkit/status.h"

/* The most bytes of a server's text a message quotes. */
#define RK_OPENAI_EXCERPT 200

/* base + path, path being "/embeddings" or "/chat/completions":
 * "http://h:8080/" -> "http://h:8080/v1" + path, "http://h/v1" -> "http://h/v1"
 * + path, a URL already ending in path kept as it is. NULL when out of memory;
 * the caller frees. */
char *rk_openai_url(const char *base, const char *path);

/* "Authorization: Bearer KEY" for the key in the environment variable env,
 * into *line (the caller frees); *line = NULL when env is NULL. RK_EINVAL
 * when the variable is unset or empty ("--api-key-env VAR: the variable is
 * not set"), RK_ENOMEM. */
rk_status rk_openai_auth(const char *env, char **line, rk_error *err);

/* Replaces every occurrence of the key of an Authorization line (from
 * rk_openai_auth; NULL: nothing to do) in err's message by "***" (fewer
 * stars for a shorter key, so the message never grows), in case a server
 * echoed the header into its text. */
void rk_openai_scrub(const char *auth_line, rk_error *err);

/* At most RK_OPENAI_EXCERPT bytes of s[0..len) on one line (control
 * characters as spaces), never cutting a UTF-8 sequence, "..." when cut. */
void rk_openai_excerpt(const char *s, size_t len, char *buf, size_t cap);

/* The excerpt of what a failing server said: OpenAI and llama.cpp send
 * {"error": {"message": ...}}, Ollama {"error": "..."}, vLLM {"message":
 * ...} or {"detail": ...}; anything else is quoted raw. */
void rk_openai_explanation(const char *body, size_t len, char *buf, size_t cap);

#endif
