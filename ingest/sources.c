/* sources.c — inputs to sources: folder walks, patterns, shards, formats. */
#define _GNU_SOURCE
#include "raftkit/sources.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "raftkit/hash.h"

static const char *extension(const char *path) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

rk_format rk_format_of_path(const char *path) {
    static const struct {
        const char *ext;
        rk_format f;
    } map[] = {{"txt", RK_FMT_TXT},     {"md", RK_FMT_MD},        {"markdown", RK_FMT_MD},
               {"html", RK_FMT_HTML},   {"htm", RK_FMT_HTML},     {"json", RK_FMT_JSON},
               {"jsonl", RK_FMT_JSONL}, {"ndjson", RK_FMT_JSONL}, {"pdf", RK_FMT_PDF}};
    const char *e = extension(path);
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (!strcasecmp(e, map[i].ext)) return map[i].f;
    return RK_FMT_NONE;
}

rk_format rk_format_of_type(const char *ct, const char *url) {
    static const struct {
        const char *type;
        rk_format f;
    } map[] = {{"text/html", RK_FMT_HTML},          {"application/xhtml+xml", RK_FMT_HTML},
               {"text/markdown", RK_FMT_MD},        {"text/x-markdown", RK_FMT_MD},
               {"application/json", RK_FMT_JSON},   {"application/x-ndjson", RK_FMT_JSONL},
               {"application/jsonl", RK_FMT_JSONL}, {"application/x-jsonlines", RK_FMT_JSONL},
               {"application/pdf", RK_FMT_PDF}};
    if (ct)
        for (size_t i = 0; i < sizeof map / sizeof *map; i++)
            if (!strcmp(ct, map[i].type)) return map[i].f;
    if (ct && strcmp(ct, "text/plain") && strcmp(ct, "application/octet-stream")) return RK_FMT_NONE;
    /* The path of the URL, without query or fragment, decides; a bare page is HTML
     * when untyped, text when typed text/plain. */
    char path[2048];
    snprintf(path, sizeof path, "%s", url);
    path[strcspn(path, "?#")] = 0;
    const char *host = strstr(path, "://");
    rk_format f = host && strchr(host + 3, '/') ? rk_format_of_path(strchr(host + 3, '/')) : RK_FMT_NONE;
    if (f != RK_FMT_NONE) return f;
    return ct ? RK_FMT_TXT : RK_FMT_HTML;
}

unsigned rk_source_shard(const char *uri, unsigned nshards) {
    return nshards <= 1 ? 0 : (unsigned)(rk_hash64_of(uri, strlen(uri), 0x5eed) % nshards);
}

static void notice(const rk_ingest_opts *o, rk_notice_level level, const char *fmt, ...) {
    if (!o->notice) return;
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    o->notice(level, msg, o->ctx);
}

static rk_status add(rk_sources *s, const rk_ingest_opts *o, char *uri, rk_format f, int is_url,
                     rk_error *err) {
    if (!uri) return rk_fail(err, RK_ENOMEM, "out of memory");
    if (rk_source_shard(uri, o->nshards) != o->shard) {
        free(uri);
        return RK_OK;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        rk_source *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv) {
            free(uri);
            return rk_fail(err, RK_ENOMEM, "out of memory");
        }
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = (rk_source){.uri = uri, .format = f, .is_url = is_url};
    return RK_OK;
}

void rk_sources_free(rk_sources *s) {
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].uri);
        free(s->v[i].etag);
        free(s->v[i].last_modified);
    }
    free(s->v);
    *s = (rk_sources){0};
}

static int matches(const char *const *patterns, const char *rel) {
    const char *name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    for (; patterns && *patterns; patterns++)
        if (!fnmatch(*patterns, strchr(*patterns, '/') ? rel : name, 0)) return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The folders being walked, from the input down: a symlink back to one of
 * them is a loop. */
typedef struct ancestors {
    dev_t dev[256];
    ino_t ino[256];
    size_t n;
} ancestors;

typedef struct walker {
    const rk_ingest_opts *o;
    rk_sources *out;
    size_t root_len; /* of the input folder's path, to make paths relative to it */
    ancestors up;
} walker;

static rk_status walk(walker *w, const char *dir, rk_error *err);

static rk_status visit(walker *w, char *path, rk_error *err) {
    const rk_ingest_opts *o = w->o;
    const char *rel = path + w->root_len + 1;
    struct stat lst, st;
    if (lstat(path, &lst) != 0) return RK_OK; /* gone since readdir */
    if (stat(path, &st) != 0) {
        notice(o, RK_NOTICE_WARN, "%s: %s", path,
               errno == ELOOP ? "symlink loop, not followed" : "broken symlink, skipped");
        w->out->failed++;
        return RK_OK;
    }
    if (S_ISDIR(st.st_mode)) {
        if (o->exclude && matches(o->exclude, rel)) return RK_OK;
        for (size_t i = 0; i < w->up.n; i++)
            if (w->up.dev[i] == st.st_dev && w->up.ino[i] == st.st_ino) {
                notice(o, RK_NOTICE_WARN, "%s: symlink loop, not followed", path);
                w->out->failed++;
                return RK_OK;
            }
        if (w->up.n == sizeof w->up.dev / sizeof *w->up.dev) {
            notice(o, RK_NOTICE_WARN, "%s: folders nested too deep, not entered", path);
            w->out->failed++;
            return RK_OK;
        }
        w->up.dev[w->up.n] = st.st_dev;
        w->up.ino[w->up.n++] = st.st_ino;
        rk_status s = walk(w, path, err);
        w->up.n--;
        return s;
    }
    rk_format f = rk_format_of_path(path);
    if (!S_ISREG(st.st_mode) || f == RK_FMT_NONE) return RK_OK;
    if ((o->include && *o->include && !matches(o->include, rel)) || (o->exclude && matches(o->exclude, rel)))
        return RK_OK;
    return add(w->out, o, strdup(path), f, 0, err);
}

static rk_status walk(walker *w, const char *dir, rk_error *err) {
    DIR *d = opendir(dir);
    if (!d) {
        notice(w->o, RK_NOTICE_WARN, "%s: cannot open folder: %s", dir, strerror(errno));
        w->out->failed++;
        return RK_OK;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    rk_status s = RK_OK;
    struct dirent *e;
    while (!s && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nv = realloc(names, cap * sizeof *nv);
            if (!nv) {
                s = rk_fail(err, RK_ENOMEM, "out of memory");
                break;
            }
            names = nv;
        }
        size_t dl = strlen(dir);
        if (asprintf(&names[n], "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", e->d_name) < 0)
            s = rk_fail(err, RK_ENOMEM, "out of memory");
        else
            n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str); /* a deterministic order */
    for (size_t i = 0; i < n; i++) {
        if (!s) s = visit(w, names[i], err);
        free(names[i]);
    }
    free(names);
    return s;
}

rk_status rk_sources_collect(const char *const *inputs, size_t n, const rk_ingest_opts *o, rk_sources *out,
                             rk_error *err) {
    *out = (rk_sources){0};
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (!rk_http_is_url(inputs[i]) && stat(inputs[i], &st) != 0)
            return rk_fail(err, RK_ENOTFOUND, "%s: %s", inputs[i], strerror(errno));
    }
    rk_status s = RK_OK;
    for (size_t i = 0; !s && i < n; i++) {
        const char *in = inputs[i];
        struct stat st;
        if (rk_http_is_url(in)) {
            s = add(out, o, strdup(in), RK_FMT_NONE, 1, err);
        } else if (stat(in, &st) == 0 && S_ISDIR(st.st_mode)) {
            size_t len = strlen(in);
            while (len > 1 && in[len - 1] == '/')
                len--;
            walker w = {.o = o, .out = out, .root_len = len, .up = {.n = 1}};
            w.up.dev[0] = st.st_dev;
            w.up.ino[0] = st.st_ino;
            char *root = strndup(in, len);
            s = root ? walk(&w, root, err) : rk_fail(err, RK_ENOMEM, "out of memory");
            free(root);
        } else if (rk_format_of_path(in) == RK_FMT_NONE) {
            notice(o, RK_NOTICE_WARN,
                   "%s: skipped (unsupported file type; .txt, .md, .html, .json, .jsonl and .pdf are read)",
                   in);
            out->skipped++;
        } else {
            s = add(out, o, strdup(in), rk_format_of_path(in), 0, err);
        }
    }
    if (s) rk_sources_free(out);
    return s;
}
