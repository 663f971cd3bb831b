/* openai.c — the shared pieces of OpenAI-compatible clients (openai.h). */
#include "raftkit/openai.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_PREFIX "Authorization: Bearer "

static int ends_with(const char *s, size_t n, const char *tail) {
    size_t t = strlen(tail);
    return n >= t && memcmp(s + n - t, tail, t) == 0;
}

char *rk_openai_url(const char *base, const char *path) {
    size_t n = strlen(base);
    if (ends_with(base, n, path)) return strdup(base);
    while (n && base[n - 1] == '/')
        n--;
    const char *v1 = ends_with(base, n, "/v1") ? "" : "/v1";
    size_t cap = n + strlen(v1) + strlen(path) + 1;
    char *s = malloc(cap);
    if (s) snprintf(s, cap, "%.*s%s%s", (int)n, base, v1, path);
    return s;
}

rk_status rk_openai_auth(const char *env, char **line, rk_error *err) {
    *line = NULL;
    if (!env) return RK_OK;
    const char *key = getenv(env);
    if (!key || !*key)
        return rk_fail(err, RK_EINVAL, "--api-key-env %s: the variable is %s", env,
                       key ? "empty" : "not set");
    size_t n = strlen(AUTH_PREFIX) + strlen(key) + 1;
    if (!(*line = malloc(n))) return rk_fail(err, RK_ENOMEM, "out of memory");
    snprintf(*line, n, "%s%s", AUTH_PREFIX, key);
    return RK_OK;
}

void rk_openai_scrub(const char *auth_line, rk_error *err) {
    if (!auth_line || !err) return;
    const char *key = auth_line + strlen(AUTH_PREFIX);
    size_t k = strlen(key), stars = k < 3 ? k : 3;
    if (!k) return;
    for (char *p = err->msg; (p = strstr(p, key)); p += stars) { /* past the stars: a key of '*' ends */
        memset(p, '*', stars);
        memmove(p + stars, p + k, strlen(p + k) + 1);
    }
}

void rk_openai_excerpt(const char *s, size_t len, char *buf, size_t cap) {
    size_t n = len < RK_OPENAI_EXCERPT ? len : RK_OPENAI_EXCERPT;
    while (n < len && n && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    snprintf(buf, cap, "%.*s%s", (int)n, s, n < len ? "..." : "");
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F) *p = ' ';
}

void rk_openai_explanation(const char *body, size_t len, char *buf, size_t cap) {
    json_t *j = json_loadb(body ? body : "", body ? len : 0, 0, NULL), *e = json_object_get(j, "error");
    const char *m = json_string_value(json_is_object(e) ? json_object_get(e, "message") : e);
    if (!m) m = json_string_value(json_object_get(j, "message"));
    if (!m) m = json_string_value(json_object_get(j, "detail"));
    if (m) body = m, len = strlen(m);
    rk_openai_excerpt(body ? body : "", body ? len : 0, buf, cap);
    json_decref(j);
}
