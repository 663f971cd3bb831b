/* file.c — whole-file reads and write-sync-rename. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raftkit/buf.h"
#include "raftkit/file.h"

rk_status rk_file_read(const char *path, char **out, size_t *n, rk_error *err) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return rk_fail(err, errno == ENOENT ? RK_ENOTFOUND : RK_EIO, "%s: %s", path, strerror(errno));
    rk_buf b = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        rk_buf_put(&b, chunk, got);
    int failed = ferror(f), why = errno;
    fclose(f);
    if (failed) {
        free(b.p);
        return rk_fail(err, RK_EIO, "%s: %s", path, strerror(why));
    }
    if (b.oom || (!b.p && !(b.p = strdup("")))) {
        free(b.p);
        return rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
    }
    *out = b.p;
    if (n) *n = b.n;
    return RK_OK;
}

rk_status rk_atomic_open(rk_atomic *a, const char *path, rk_error *err) {
    memset(a, 0, sizeof *a);
    size_t n = strlen(path);
    a->path = strdup(path);
    a->tmp = malloc(n + 5);
    if (!a->path || !a->tmp) {
        rk_atomic_abort(a);
        return rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
    }
    memcpy(a->tmp, path, n);
    memcpy(a->tmp + n, ".tmp", 5);
    if (!(a->f = fopen(a->tmp, "wb"))) {
        rk_status s = rk_fail(err, RK_EIO, "%s: %s", a->tmp, strerror(errno));
        rk_atomic_abort(a);
        return s;
    }
    return RK_OK;
}

/* Makes a rename in path's directory durable; best effort (some file systems
 * refuse fsync on a directory, and the data itself is already synced). */
static void sync_dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (n >= sizeof dir) return;
    if (slash && n == 0) n = 1; /* "/file" */
    memcpy(dir, slash ? path : ".", n);
    dir[n] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

rk_status rk_atomic_commit(rk_atomic *a, rk_error *err) {
    int bad = fflush(a->f) != 0 || fsync(fileno(a->f)) != 0 || ferror(a->f);
    int e = errno;
    bad = (fclose(a->f) != 0) || bad;
    a->f = NULL;
    rk_status s = RK_OK;
    if (bad)
        s = rk_fail(err, RK_EIO, "%s: write failed: %s", a->tmp, strerror(e ? e : errno));
    else if (rename(a->tmp, a->path) != 0)
        s = rk_fail(err, RK_EIO, "%s: rename to %s: %s", a->tmp, a->path, strerror(errno));
    else
        sync_dir_of(a->path);
    if (s) unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof *a);
    return s;
}

void rk_atomic_abort(rk_atomic *a) {
    if (a->f) {
        fclose(a->f);
        unlink(a->tmp);
    }
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof *a);
}

rk_status rk_file_write_atomic(const char *path, const void *data, size_t n, rk_error *err) {
    rk_atomic a;
    rk_status s = rk_atomic_open(&a, path, err);
    if (s) return s;
    if (n && fwrite(data, 1, n, a.f) != n) {
        s = rk_fail(err, RK_EIO, "%s: write failed: %s", a.tmp, strerror(errno));
        rk_atomic_abort(&a);
        return s;
    }
    return rk_atomic_commit(&a, err);
}

rk_status rk_file_copy(const char *src, const char *dst, rk_error *err) {
    char *data;
    size_t n;
    rk_status s = rk_file_read(src, &data, &n, err);
    if (!s) s = rk_file_write_atomic(dst, data, n, err);
    free(data);
    return s;
}

char *rk_path_join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

rk_status rk_mkdir_p(const char *dir, rk_error *err) {
    char *p = strdup(dir);
    if (!p) return rk_fail(err, RK_ENOMEM, "out of memory");
    rk_status s = RK_OK;
    /* each prefix ending before a '/', then the whole path */
    for (char *c = p + 1; !s; c++) {
        if (*c && *c != '/') continue;
        char end = *c;
        *c = 0;
        if (c[-1] != '/' && mkdir(p, 0777) && errno != EEXIST)
            s = rk_fail(err, RK_EIO, "%s: mkdir: %s", p, strerror(errno));
        *c = end;
        if (!end) break;
    }
    free(p);
    /* mkdir's EEXIST also covers a file of that name */
    struct stat sb;
    if (!s && (stat(dir, &sb) || !S_ISDIR(sb.st_mode))) s = rk_fail(err, RK_EIO, "%s: not a directory", dir);
    return s;
}
