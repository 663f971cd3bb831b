/* file.h — whole-file reads and crash-safe writes. Every file raftkit writes
 * that a later run reads (weights, adapters, checkpoints, configs) goes
 * through rk_atomic: written to PATH.tmp, synced, then renamed over PATH, so a
 * kill at any moment leaves either the old file or the new one, never half. */
#ifndef RAFTKIT_FILE_H
#define RAFTKIT_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "raftkit/status.h"

/* Reads the whole of path into *out (NUL-terminated; the caller frees it)
 * and its length into *n (may be NULL). Fails with RK_ENOTFOUND when path
 * does not exist, RK_EIO, RK_ENOMEM; *out is NULL then. */
rk_status rk_file_read(const char *path, char **out, size_t *n, rk_error *err);

/* A file being written in place of path. */
typedef struct rk_atomic {
    FILE *f; /* write here */
    char *path, *tmp;
} rk_atomic;

/* Opens path.tmp for writing. RK_EIO naming it, RK_ENOMEM. */
rk_status rk_atomic_open(rk_atomic *a, const char *path, rk_error *err);
/* Flushes, syncs and closes the file and renames it over path; on any
 * failure removes the temporary and leaves path as it was. Frees a. */
rk_status rk_atomic_commit(rk_atomic *a, rk_error *err);
/* Removes the temporary; path is untouched. Frees a. Accepts a zeroed a. */
void rk_atomic_abort(rk_atomic *a);

/* Writes data[0..n) to path atomically. */
rk_status rk_file_write_atomic(const char *path, const void *data, size_t n, rk_error *err);

/* Copies src to dst atomically. */
rk_status rk_file_copy(const char *src, const char *dst, rk_error *err);

/* "dir/name", NULL when out of memory; the caller frees. */
char *rk_path_join(const char *dir, const char *name);

/* Creates directory dir and its missing parents (mkdir -p). RK_EIO naming
 * the one that could not be made, or dir when it is not a directory. */
rk_status rk_mkdir_p(const char *dir, rk_error *err);

#endif
