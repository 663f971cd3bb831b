/* status.c — rk_status descriptions and the error record. */
#include "raftkit/status.h"

#include <stdio.h>
#include <string.h>

const char *rk_strerror(rk_status s) {
    /* No default: the compiler flags a status added without a description. */
    switch (s) {
    case RK_OK: return "success";
    case RK_EINVAL: return "invalid argument";
    case RK_ENOMEM: return "out of memory";
    case RK_EIO: return "input/output error";
    case RK_EFORMAT: return "malformed data";
    case RK_ENOTFOUND: return "not found";
    case RK_EVERSION: return "written by a newer raftkit";
    case RK_ENOTKB: return "not a raftkit KB";
    case RK_EDB: return "database error";
    case RK_EFAISS: return "FAISS error";
    case RK_ESTATE: return "operation out of order";
    case RK_ENET: return "network error";
    }
    return "unknown status";
}

rk_status rk_fail(rk_error *e, rk_status code, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

rk_status rk_fail_prefix(rk_error *e, const char *fmt, ...) {
    if (!e) return RK_OK;
    char prefix[512], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    /* Truncation keeps the start of the message, which names the input. */
    size_t n = strlen(prefix);
    if (n > sizeof e->msg - 3) n = sizeof e->msg - 3;
    memcpy(e->msg, prefix, n);
    memcpy(e->msg + n, ": ", 2);
    size_t rest = sizeof e->msg - n - 3;
    size_t m = strnlen(old, rest);
    memcpy(e->msg + n + 2, old, m);
    e->msg[n + 2 + m] = '\0';
    return e->code;
}
