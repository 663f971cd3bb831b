/* status.h — the one status type of raftkit and the error record that goes
 * with it. Library functions never print or exit: a failing function returns
 * a non-zero rk_status and fills an rk_error whose message names the input and
 * the place ("docs/a.md: invalid UTF-8 at byte 12"). Only main() prints it. */
#ifndef RAFTKIT_STATUS_H
#define RAFTKIT_STATUS_H

#include <stdarg.h>

/* Values are explicit and only ever grow at the end. */
typedef enum rk_status {
    RK_OK = 0,
    RK_EINVAL = 1,    /* a bad argument or option */
    RK_ENOMEM = 2,    /* out of memory */
    RK_EIO = 3,       /* a file system call failed */
    RK_EFORMAT = 4,   /* malformed input data */
    RK_ENOTFOUND = 5, /* the thing asked for does not exist */
    RK_EVERSION = 6,  /* data written by a newer raftkit */
    RK_ENOTKB = 7,    /* a path that is not a raftkit KB */
    RK_EDB = 8,       /* LMDB failed */
    RK_EFAISS = 9,    /* FAISS failed */
    RK_ESTATE = 10,   /* an operation out of order (query before build) */
    RK_ENET = 11,     /* a network request failed (after its retries) */
} rk_status;

/* A short, static description of a status code. */
const char *rk_strerror(rk_status s);

/* The error record filled by a failing function. */
typedef struct rk_error {
    rk_status code;
    char msg[1024];
} rk_error;

/* Sets e (when not NULL) to code and the printf-style message; returns code so
 * callers can write `return rk_fail(err, RK_EIO, "%s: %s", path, why);`. */
rk_status rk_fail(rk_error *e, rk_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an already-set message (adds context on the way up). */
rk_status rk_fail_prefix(rk_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
