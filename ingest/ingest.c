/* ingest.c — paths -> files -> normalized text -> chunks -> KB. */
#include "raftkit/ingest.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "raftkit/hash.h"
#include "raftkit/html.h"

/* A batch commits after this many documents or normalized bytes, whichever
 * comes first: few enough fsyncs, bounded memory. */
enum { BATCH_DOCS = 256, BATCH_BYTES = 8 << 20 };

typedef struct strlist {
    char **v;
    size_t n, cap;
} strlist;

static int strlist_push(strlist *l, char *s) {
    if (!s) return -1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) {
            free(s);
            return -1;
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

static void strlist_free(strlist *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
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

static const char *extension(const char *path) {
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

static int is_markdown(const char *path) {
    const char *e = extension(path);
    return !strcmp(e, "md") || !strcmp(e, "markdown");
}

static int is_html(const char *path) {
    const char *e = extension(path);
    return !strcasecmp(e, "html") || !strcasecmp(e, "htm");
}

static int supported(const char *path) {
    return is_markdown(path) || is_html(path) || !strcmp(extension(path), "txt");
}

static char *join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    size_t at = a;
    if (a && dir[a - 1] != '/') p[at++] = '/';
    memcpy(p + at, name, b + 1);
    return p;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Adds the supported files under dir (recursively) to files. Symlinked
 * folders are not followed, so a symlink loop cannot trap the walk. */
static rk_status walk(const char *dir, const rk_ingest_opts *o, strlist *files, rk_error *err) {
    DIR *d = opendir(dir);
    if (!d) {
        notice(o, RK_NOTICE_WARN, "%s: cannot open folder: %s", dir, strerror(errno));
        return RK_OK;
    }
    strlist names = {0};
    struct dirent *e;
    rk_status s = RK_OK;
    while (!s && (e = readdir(d)))
        if (e->d_name[0] != '.' && strlist_push(&names, join(dir, e->d_name)))
            s = rk_fail(err, RK_ENOMEM, "out of memory");
    closedir(d);
    if (names.n) qsort(names.v, names.n, sizeof *names.v, cmp_str); /* a deterministic order */
    for (size_t i = 0; !s && i < names.n; i++) {
        struct stat st;
        if (lstat(names.v[i], &st) != 0) continue;
        if (S_ISLNK(st.st_mode) && stat(names.v[i], &st) == 0 && S_ISDIR(st.st_mode)) continue;
        if (S_ISDIR(st.st_mode)) {
            s = walk(names.v[i], o, files, err);
        } else if (supported(names.v[i])) {
            if (strlist_push(files, names.v[i])) s = rk_fail(err, RK_ENOMEM, "out of memory");
            names.v[i] = NULL;
        }
    }
    strlist_free(&names);
    return s;
}

/* A document read and chunked, waiting for its batch to be written. */
typedef struct prepared {
    const char *uri; /* borrowed from the file list */
    char *title;
    rk_hash128 hash;
    uint64_t size;
    int64_t mtime;
    char *text; /* normalized */
    size_t n;
    rk_span *spans;
    size_t nspans;
} prepared;

static void prepared_free(prepared *p) {
    free(p->title);
    free(p->text);
    free(p->spans);
}

/* The document's title: a Markdown file's first "# " heading, a text file's
 * first line when it is short, else the file name. */
static char *title_of(const char *path, const char *t, size_t n) {
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && t[e] != '\n')
            e++;
        if (e > i) {
            if (is_markdown(path)) {
                if (e - i > 2 && t[i] == '#' && t[i + 1] == ' ') return strndup(t + i + 2, e - i - 2);
            } else {
                return e - i <= 100 ? strndup(t + i, e - i) : NULL;
            }
        }
        i = e + 1;
    }
    return NULL;
}

/* Reads, normalizes and chunks one file. Returns RK_OK with p->text NULL when
 * the file is skipped (a notice says why); fails only when out of memory. */
static rk_status prepare(const char *path, const rk_ingest_opts *o, rk_ingest_report *rep, prepared *p,
                         rk_error *err) {
    *p = (prepared){.uri = path};
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        notice(o, RK_NOTICE_WARN, "%s: cannot read: %s", path, strerror(errno));
        if (f) fclose(f);
        rep->files_failed++;
        return RK_OK;
    }
    size_t size = (size_t)st.st_size;
    char *raw = malloc(size + 1);
    if (!raw) {
        fclose(f);
        return rk_fail(err, RK_ENOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = fread(raw, 1, size, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != size) {
        notice(o, RK_NOTICE_WARN, "%s: read error", path);
        free(raw);
        rep->files_failed++;
        return RK_OK;
    }
    rep->bytes += size;
    p->hash = rk_hash128_of(raw, size);
    p->size = size;
    char *text = raw, *html_title = NULL;
    size_t len = size;
    rk_status s;
    if (is_html(path) && size) { /* an empty page is skipped below like any empty file */
        rk_parts parts = {0};
        s = rk_html_parts(raw, size, NULL, path, &parts, err);
        free(raw);
        text = NULL;
        len = 0;
        if (!s && parts.n) {
            text = parts.v[0].text;
            len = parts.v[0].len;
            parts.v[0].text = NULL;
        }
        html_title = parts.title;
        parts.title = NULL;
        rk_parts_free(&parts);
        if (!s && !text && !(text = strdup(""))) s = rk_fail(err, RK_ENOMEM, "out of memory");
        if (s == RK_EFORMAT) {
            notice(o, RK_NOTICE_WARN, "%s", err->msg);
            rep->files_failed++;
            return RK_OK;
        }
        if (s) return s;
    }
    rk_text_report tr;
    s = rk_text_normalize(text, len, o->form, &p->text, &p->n, &tr, err);
    free(text);
    if (s) {
        free(html_title);
        return s;
    }
    if (tr.invalid)
        notice(o, RK_NOTICE_WARN,
               "%s: invalid UTF-8 at byte %zu (%zu invalid sequence%s replaced with U+FFFD)", path,
               tr.first_invalid, tr.invalid, tr.invalid == 1 ? "" : "s");
    p->title = html_title;
    if ((s = rk_chunk_text(p->text, p->n, &o->chunk, &p->spans, &p->nspans, err))) {
        prepared_free(p);
        return s;
    }
    if (p->nspans == 0) {
        notice(o, RK_NOTICE_INFO, "%s: skipped (empty)", path);
        prepared_free(p);
        *p = (prepared){.uri = path};
        rep->files_skipped++;
        return RK_OK;
    }
    p->mtime = (int64_t)st.st_mtime;
    const char *slash = strrchr(path, '/');
    if (!p->title) p->title = title_of(path, p->text, p->n);
    if (!p->title) p->title = strdup(slash ? slash + 1 : path);
    if (!p->title) {
        prepared_free(p);
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    return RK_OK;
}

static uint32_t count_words(const char *t, size_t n) {
    char word[64];
    size_t pos = 0, start;
    uint32_t count = 0;
    while (rk_text_next_word(t, n, &pos, &start, word, sizeof word))
        count++;
    return count;
}

typedef struct batch {
    prepared *docs;
    size_t n;
    rk_ingest_report rep; /* of this batch: counted anew on every attempt */
} batch;

static rk_status write_doc(rk_kb_txn *txn, const prepared *p, rk_ingest_report *rep, rk_error *err) {
    uint64_t id = 0;
    rk_status s = rk_kb_doc_find(txn, p->uri, &id, NULL);
    if (s == RK_OK) {
        rk_doc old;
        if ((s = rk_kb_doc_get(txn, id, &old, err))) return s;
        if (rk_hash128_equal(old.hash, p->hash)) {
            rep->docs_unchanged++;
            return RK_OK;
        }
        if ((s = rk_kb_doc_delete(txn, id, err))) return s;
        rep->docs_changed++;
    } else if (s == RK_ENOTFOUND) {
        rep->docs_new++;
    } else {
        return rk_kb_doc_find(txn, p->uri, &id, err);
    }
    rk_doc d = {
        .id = id, .uri = p->uri, .title = p->title, .hash = p->hash, .size = p->size, .mtime = p->mtime};
    if ((s = rk_kb_doc_put(txn, &d, err))) return s;
    for (size_t i = 0; i < p->nspans; i++) {
        const char *text = p->text + p->spans[i].start;
        size_t len = p->spans[i].end - p->spans[i].start;
        uint64_t dup;
        if (rk_kb_chunk_find(txn, rk_kb_chunk_hash(text, len), &dup, NULL) == RK_OK) {
            rep->chunks_duplicate++;
            continue;
        }
        rk_chunk c = {.doc_id = d.id,
                      .ordinal = d.nchunks,
                      .ntokens = count_words(text, len),
                      .start = p->spans[i].start,
                      .end = p->spans[i].end,
                      .text = text,
                      .text_len = len};
        if ((s = rk_kb_chunk_add(txn, &c, err))) return s;
        if (d.nchunks++ == 0) d.first_chunk = c.id;
        rep->chunks_added++;
    }
    return rk_kb_doc_put(txn, &d, err);
}

static rk_status write_batch(rk_kb_txn *txn, void *vctx, rk_error *err) {
    batch *b = vctx;
    b->rep = (rk_ingest_report){0};
    for (size_t i = 0; i < b->n; i++) {
        rk_status s = write_doc(txn, &b->docs[i], &b->rep, err);
        if (s) return rk_fail_prefix(err, "%s", b->docs[i].uri);
    }
    return RK_OK;
}

static rk_status flush(rk_kb *kb, batch *b, rk_ingest_report *rep, rk_error *err) {
    rk_status s = b->n ? rk_kb_write(kb, write_batch, b, err) : RK_OK;
    if (!s) {
        rep->docs_new += b->rep.docs_new;
        rep->docs_changed += b->rep.docs_changed;
        rep->docs_unchanged += b->rep.docs_unchanged;
        rep->chunks_added += b->rep.chunks_added;
        rep->chunks_duplicate += b->rep.chunks_duplicate;
    }
    for (size_t i = 0; i < b->n; i++)
        prepared_free(&b->docs[i]);
    b->n = 0;
    return s;
}

rk_status rk_ingest_paths(rk_kb *kb, const char *const *paths, size_t npaths, const rk_ingest_opts *o,
                          rk_ingest_report *rep, rk_error *err) {
    *rep = (rk_ingest_report){0};
    if (o->chunk.size == 0 || o->chunk.overlap >= o->chunk.size)
        return rk_fail(err, RK_EINVAL, "chunk overlap (%zu) must be smaller than the chunk size (%zu)",
                       o->chunk.overlap, o->chunk.size);
    for (size_t i = 0; i < npaths; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0) return rk_fail(err, RK_ENOTFOUND, "%s: %s", paths[i], strerror(errno));
    }
    strlist files = {0};
    rk_status s = RK_OK;
    for (size_t i = 0; !s && i < npaths; i++) {
        struct stat st;
        stat(paths[i], &st);
        if (S_ISDIR(st.st_mode)) {
            s = walk(paths[i], o, &files, err);
        } else if (!supported(paths[i])) {
            notice(o, RK_NOTICE_WARN, "%s: skipped (unsupported file type; .txt, .md and .html are read)",
                   paths[i]);
            rep->files_skipped++;
        } else if (strlist_push(&files, strdup(paths[i]))) {
            s = rk_fail(err, RK_ENOMEM, "out of memory");
        }
    }
    batch b = {.docs = calloc(BATCH_DOCS, sizeof(prepared))};
    if (!s && !b.docs) s = rk_fail(err, RK_ENOMEM, "out of memory");
    size_t pending = 0;
    for (size_t i = 0; !s && i < files.n; i++) {
        prepared *p = &b.docs[b.n];
        if ((s = prepare(files.v[i], o, rep, p, err))) break;
        if (!p->text) continue;
        pending += p->n;
        if (++b.n == BATCH_DOCS || pending >= BATCH_BYTES) {
            s = flush(kb, &b, rep, err);
            pending = 0;
            if (!s && o->progress) o->progress(i + 1, files.n, o->ctx);
        }
    }
    if (!s) s = flush(kb, &b, rep, err);
    if (!s && o->progress) o->progress(files.n, files.n, o->ctx);
    for (size_t i = 0; i < b.n; i++)
        prepared_free(&b.docs[i]);
    free(b.docs);
    strlist_free(&files);
    return s;
}
