/* ingest.c — sources -> prepared documents -> KB.
 *
 * The run has three steps. The inputs are expanded, on the calling thread,
 * into a list of sources (files and URLs) in a deterministic order. Worker
 * threads then prepare sources (read or fetch, parse, normalize, chunk),
 * while the calling thread takes the prepared sources in list order and
 * writes their documents in transactions of whole documents, so the KB and
 * every notice come out the same whatever the thread count. Last, with
 * prune, the documents whose source is gone are removed. */
#define _GNU_SOURCE
#include "raftkit/ingest.h"

#include <errno.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "raftkit/hash.h"
#include "raftkit/html.h"
#include "raftkit/markdown.h"
#include "raftkit/neardup.h"
#include "raftkit/pdf.h"
#include "raftkit/sources.h"

/* A batch commits after this many documents or normalized bytes, whichever
 * comes first: few enough fsyncs, bounded memory. */
enum { BATCH_DOCS = 256, BATCH_BYTES = 8 << 20 };
/* Workers prepare items ahead of the writer while those waiting for it
 * hold fewer source bytes than this (and one item per worker whatever its
 * size): enough to keep them busy while the writer commits or folds
 * chunk_tail. On 2 cores, 2 threads kept 1.91 cores busy against 1.74 with a
 * window of 4·threads+4 items (3 runs each, the 200 MB bench corpus). */
enum { AHEAD_BYTES = 32 << 20 };
/* Files are refused above this size: they are read whole. */
#define MAX_FILE_BYTES ((size_t)1 << 30)

/* ---- prepared documents ---- */

typedef struct note {
    rk_notice_level level;
    char *msg;
} note;

typedef struct span_info {
    rk_hash128 hash; /* rk_kb_chunk_hash of the span's text */
    uint32_t part;
    uint32_t words;
} span_info;

/* A document read, normalized and chunked, waiting to be written. */
typedef struct prepared {
    char *uri, *title, *etag, *last_modified;
    rk_hash128 hash;
    uint64_t size;
    int64_t mtime;
    int unchanged; /* found unchanged in the KB: nothing to write */
    char *text;    /* normalized: the parts joined by blank lines */
    size_t n;
    rk_span *spans;
    span_info *info; /* per span, worked out on the worker to spare the single writer */
    size_t nspans;
    char **sections; /* per part */
    uint32_t *pages;
    size_t nparts;
} prepared;

static void prepared_free(prepared *p) {
    free(p->uri);
    free(p->title);
    free(p->etag);
    free(p->last_modified);
    free(p->text);
    free(p->spans);
    free(p->info);
    for (size_t i = 0; i < p->nparts; i++)
        free(p->sections[i]);
    free(p->sections);
    free(p->pages);
}

/* One source and, once a worker is done with it, what came of it. */
typedef struct item {
    rk_source src;
    /* results */
    prepared *docs;
    size_t ndocs, capdocs;
    note *notes;
    size_t nnotes, capnotes;
    uint64_t bytes, failed, skipped;
    int gone;         /* a URL answered 404 or 410 */
    int records_read; /* a JSON source read whole: its records not seen are gone */
    rk_status fatal;  /* out of memory: the run stops */
    rk_error err;
} item;

static void item_clear(item *it) {
    for (size_t i = 0; i < it->ndocs; i++)
        prepared_free(&it->docs[i]);
    free(it->docs);
    for (size_t i = 0; i < it->nnotes; i++)
        free(it->notes[i].msg);
    free(it->notes);
    it->docs = NULL;
    it->notes = NULL;
    it->ndocs = it->nnotes = it->capdocs = it->capnotes = 0;
}

/* Context shared by the workers; read-only while they run. */
typedef struct run {
    rk_kb *kb;
    const rk_ingest_opts *o;
    char params[256]; /* the ingest parameters, folded into every document hash */
} run;

static void add_note(item *it, rk_notice_level level, const char *fmt, ...) {
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (it->nnotes == it->capnotes) {
        size_t cap = it->capnotes ? 2 * it->capnotes : 4;
        note *nv = realloc(it->notes, cap * sizeof *nv);
        if (!nv) return; /* a lost notice is not worth failing the run */
        it->notes = nv;
        it->capnotes = cap;
    }
    char *m = strdup(msg);
    if (m) it->notes[it->nnotes++] = (note){level, m};
}

static prepared *new_doc(item *it) {
    if (it->ndocs == it->capdocs) {
        size_t cap = it->capdocs ? 2 * it->capdocs : 1;
        prepared *nv = realloc(it->docs, cap * sizeof *nv);
        if (!nv) return NULL;
        it->docs = nv;
        it->capdocs = cap;
    }
    prepared *p = &it->docs[it->ndocs++];
    *p = (prepared){0};
    return p;
}

/* The document hash: its raw content and the parameters that shape its
 * chunks, so that changing either re-chunks it. */
static rk_hash128 doc_hash(const run *r, const void *data, size_t n) {
    rk_hash128 h = rk_hash128_of(data, n);
    h.lo ^= rk_hash64_of(r->params, strlen(r->params), 1);
    h.hi ^= rk_hash64_of(r->params, strlen(r->params), 2);
    return h;
}

/* Whether the KB already holds uri with this hash. */
static int stored_unchanged(const run *r, const char *uri, rk_hash128 h) {
    rk_kb_txn *t;
    if (rk_kb_read_begin(r->kb, &t, NULL)) return 0;
    uint64_t id;
    rk_doc d;
    int same =
        !rk_kb_doc_find(t, uri, &id, NULL) && !rk_kb_doc_get(t, id, &d, NULL) && rk_hash128_equal(d.hash, h);
    rk_kb_read_end(t);
    return same;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

/* A plain-text document's title: its first line, when short. */
static char *first_line_title(const char *t, size_t n) {
    size_t e = 0;
    while (e < n && t[e] != '\n')
        e++;
    return e && rk_utf8_length(t, e) <= 100 ? strndup(t, e) : NULL;
}

/* Appends normalized text t[0..n) to p as its next part, with its chunks. */
static rk_status append_part(const run *r, prepared *p, const char *t, size_t n, rk_error *err) {
    rk_span *sp = NULL;
    size_t ns = 0;
    rk_status s = rk_chunk_text(t, n, &r->o->chunk, &sp, &ns, err);
    if (s) return s;
    size_t base = p->n ? p->n + 2 : 0;
    char *text = realloc(p->text, base + n + 1);
    if (text) p->text = text;
    rk_span *spans = realloc(p->spans, (p->nspans + ns) * sizeof *spans);
    if (spans) p->spans = spans;
    span_info *info = realloc(p->info, (p->nspans + ns) * sizeof *info);
    if (info) p->info = info;
    if (!text || !spans || !info) {
        free(sp);
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    if (base) memcpy(text + p->n, "\n\n", 2);
    memcpy(text + base, t, n + 1);
    p->n = base + n;
    for (size_t k = 0; k < ns; k++) {
        const char *c = t + sp[k].start;
        size_t len = sp[k].end - sp[k].start;
        spans[p->nspans + k] = (rk_span){sp[k].start + base, sp[k].end + base};
        info[p->nspans + k] =
            (span_info){rk_kb_chunk_hash(c, len), (uint32_t)p->nparts, (uint32_t)rk_text_count_words(c, len)};
    }
    p->nspans += ns;
    free(sp);
    return RK_OK;
}

/* Whether a part's text is nothing but its own heading (the last step of its
 * title path): a heading followed at once by a sub-heading. Such a part
 * would be a chunk of a few words that a lexical retriever ranks above the
 * sections that hold the answer, and its words live on in the title paths
 * of the parts below it. */
static int heading_only(const char *title, const char *t, size_t n) {
    const char *last = title;
    for (const char *q = strstr(title, " > "); q; q = strstr(q + 3, " > "))
        last = q + 3;
    return *last && strlen(last) == n && !memcmp(last, t, n);
}

/* Normalizes and chunks the parts into p (whose uri, hash and size are set),
 * taking their titles. Leaves p->nspans 0 when there is no text. */
static rk_status chunk_parts(const run *r, rk_parts *parts, prepared *p, rk_error *err) {
    if (parts->n) {
        p->sections = calloc(parts->n, sizeof *p->sections);
        p->pages = calloc(parts->n, sizeof *p->pages);
        if (!p->sections || !p->pages) return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    rk_status s = RK_OK;
    for (size_t i = 0; !s && i < parts->n; i++) {
        char *t;
        size_t n;
        if ((s = rk_text_normalize(parts->v[i].text, parts->v[i].len, r->o->form, &t, &n, NULL, err))) break;
        if (n && !heading_only(parts->v[i].title, t, n) && !(s = append_part(r, p, t, n, err))) {
            p->sections[p->nparts] = parts->v[i].title;
            parts->v[i].title = NULL;
            p->pages[p->nparts++] = parts->v[i].page;
        }
        free(t);
    }
    if (s) return s;
    p->title = parts->title;
    parts->title = NULL;
    return RK_OK;
}

/* Sets p's title when the reader gave none: a text file's first line, else
 * the name. */
static rk_status finish_title(prepared *p, int plain, const char *name, rk_error *err) {
    if (!p->title && plain) p->title = first_line_title(p->text, p->n);
    if (!p->title) p->title = strdup(name);
    return p->title ? RK_OK : rk_fail(err, RK_ENOMEM, "out of memory");
}

/* ---- JSON records ---- */

typedef struct records_ctx {
    const run *r;
    item *it;
    const char *source;
    int64_t mtime;
} records_ctx;

static rk_status on_record(const char *id, rk_parts *doc, void *vctx, rk_error *err) {
    records_ctx *c = vctx;
    prepared *p = new_doc(c->it);
    if (!p) return rk_fail(err, RK_ENOMEM, "out of memory");
    if (asprintf(&p->uri, "%s#%s", c->source, id) < 0) {
        p->uri = NULL;
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    /* The record's own content: title and text, each ended by a NUL. */
    size_t total = doc->title ? strlen(doc->title) + 1 : 0;
    for (size_t i = 0; i < doc->n; i++)
        total += doc->v[i].len + 1;
    char *buf = malloc(total + 1);
    if (!buf) return rk_fail(err, RK_ENOMEM, "out of memory");
    size_t at = 0;
    if (doc->title) at = (size_t)(stpcpy(buf, doc->title) - buf) + 1;
    for (size_t i = 0; i < doc->n; i++) {
        memcpy(buf + at, doc->v[i].text, doc->v[i].len + 1);
        at += doc->v[i].len + 1;
    }
    rk_hash128 h = doc_hash(c->r, buf, at);
    free(buf);
    p->hash = h;
    p->size = total;
    p->mtime = c->mtime;
    if (stored_unchanged(c->r, p->uri, h)) {
        p->unchanged = 1;
        return RK_OK;
    }
    rk_status s = chunk_parts(c->r, doc, p, err);
    if (!s && !p->nspans) {
        add_note(c->it, RK_NOTICE_INFO, "%s: skipped (no text)", p->uri);
        c->it->skipped++;
        prepared_free(p);
        c->it->ndocs--;
        return RK_OK;
    }
    return s ? s : finish_title(p, 1, p->uri, err);
}

static void on_record_skip(const char *msg, void *vctx) {
    records_ctx *c = vctx;
    add_note(c->it, RK_NOTICE_WARN, "%s", msg);
    c->it->failed++;
}

/* ---- reading one source ---- */

static const char *format_name(rk_format f) {
    switch (f) {
    case RK_FMT_TXT: return "text";
    case RK_FMT_MD: return "Markdown";
    case RK_FMT_HTML: return "HTML";
    case RK_FMT_JSON: return "JSON";
    case RK_FMT_JSONL: return "JSON Lines";
    case RK_FMT_PDF: return "PDF";
    case RK_FMT_NONE: break;
    }
    return "unknown";
}

/* Turns raw bytes of a known format into prepared documents of it. */
static rk_status read_bytes(const run *r, item *it, const char *uri, rk_format fmt, const char *raw, size_t n,
                            const char *charset, const char *etag, const char *lm, int64_t mtime,
                            rk_error *err) {
    const rk_ingest_opts *o = r->o;
    if (n == 0) {
        add_note(it, RK_NOTICE_INFO, "%s: skipped (empty)", uri);
        it->skipped++;
        return RK_OK;
    }
    if (fmt != RK_FMT_PDF && memchr(raw, 0, n < 8192 ? n : 8192)) {
        add_note(it, RK_NOTICE_WARN, "%s: skipped (binary data in a %s file)", uri, format_name(fmt));
        it->skipped++;
        return RK_OK;
    }
    if (fmt != RK_FMT_HTML && fmt != RK_FMT_PDF) { /* those two decode their own bytes */
        size_t first = 0, bad = rk_utf8_check(raw, n, &first);
        if (bad && o->strict) {
            add_note(it, RK_NOTICE_WARN, "%s: invalid UTF-8 at byte %zu (refused: --strict)", uri, first);
            it->failed++;
            return RK_OK;
        }
        if (bad)
            add_note(it, RK_NOTICE_WARN,
                     "%s: invalid UTF-8 at byte %zu (%zu invalid sequence%s replaced with U+FFFD)", uri,
                     first, bad, bad == 1 ? "" : "s");
    }
    if (fmt == RK_FMT_JSON || fmt == RK_FMT_JSONL) {
        records_ctx c = {r, it, uri, mtime};
        rk_status s =
            rk_records_read(raw, n, fmt == RK_FMT_JSONL, uri, &o->fields, on_record, on_record_skip, &c, err);
        if (s == RK_EFORMAT) {
            add_note(it, RK_NOTICE_WARN, "%s", err->msg);
            it->failed++;
            return RK_OK;
        }
        if (!s) it->records_read = 1;
        return s;
    }
    rk_hash128 h = doc_hash(r, raw, n);
    prepared *p = new_doc(it);
    if (!p || !(p->uri = strdup(uri))) return rk_fail(err, RK_ENOMEM, "out of memory");
    p->hash = h;
    p->size = n;
    p->mtime = mtime;
    if ((etag && !(p->etag = strdup(etag))) || (lm && !(p->last_modified = strdup(lm))))
        return rk_fail(err, RK_ENOMEM, "out of memory");
    if (stored_unchanged(r, uri, h)) {
        p->unchanged = 1;
        return RK_OK;
    }
    rk_parts parts = {0};
    rk_status s = RK_OK;
    switch (fmt) {
    case RK_FMT_MD: s = rk_markdown_parts(raw, n, &parts, err); break;
    case RK_FMT_HTML: s = rk_html_parts(raw, n, charset, uri, &parts, err); break;
    case RK_FMT_PDF: s = rk_pdf_parts(raw, n, uri, &parts, err); break;
    default: s = rk_parts_add(&parts, NULL, 0, raw, n, err); break;
    }
    if (!s) s = chunk_parts(r, &parts, p, err);
    rk_parts_free(&parts);
    if (s == RK_EFORMAT || s == RK_EINVAL) { /* a damaged file, or PDF not built in */
        add_note(it, RK_NOTICE_WARN, "%s", err->msg);
        if (s == RK_EFORMAT)
            it->failed++;
        else
            it->skipped++;
        prepared_free(p);
        it->ndocs--;
        return RK_OK;
    }
    if (s) return s;
    if (!p->nspans) {
        add_note(it, RK_NOTICE_INFO, "%s: skipped (no text)", uri);
        it->skipped++;
        prepared_free(p);
        it->ndocs--;
        return RK_OK;
    }
    return finish_title(p, fmt == RK_FMT_TXT, base_name(uri), err);
}

static rk_status read_file(const run *r, item *it, rk_error *err) {
    const char *path = it->src.uri;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        add_note(it, RK_NOTICE_WARN, "%s: cannot read: %s", path, strerror(errno));
        if (f) fclose(f);
        it->failed++;
        return RK_OK;
    }
    if (!S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_FILE_BYTES) {
        add_note(it, RK_NOTICE_WARN, "%s: skipped (%s)", path,
                 S_ISREG(st.st_mode) ? "larger than 1 GiB" : "not a regular file");
        fclose(f);
        it->skipped++;
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
        add_note(it, RK_NOTICE_WARN, "%s: read error", path);
        free(raw);
        it->failed++;
        return RK_OK;
    }
    raw[size] = 0;
    it->bytes += size;
    rk_status s =
        read_bytes(r, it, path, it->src.format, raw, size, NULL, NULL, NULL, (int64_t)st.st_mtime, err);
    free(raw);
    return s;
}

static rk_status read_url(const run *r, item *it, rk_error *err) {
    const char *url = it->src.uri;
    rk_http_opts ho = r->o->http;
    ho.if_none_match = it->src.etag;
    ho.if_modified_since = it->src.last_modified;
    rk_http_response resp;
    rk_error herr = {0};
    rk_status s = rk_http_request(url, &ho, &resp, &herr);
    if (s == RK_ENOMEM) {
        rk_http_response_free(&resp);
        return rk_fail(err, RK_ENOMEM, "%s", herr.msg);
    }
    if (s) {
        add_note(it, RK_NOTICE_WARN, "%s", herr.msg);
        it->failed++;
    } else if (resp.not_modified) {
        prepared *p = new_doc(it);
        if (!p || !(p->uri = strdup(url)))
            s = rk_fail(err, RK_ENOMEM, "out of memory");
        else
            p->unchanged = 1;
        add_note(it, RK_NOTICE_INFO, "%s: not modified", url);
    } else if (resp.status == 404 || resp.status == 410) {
        add_note(it, RK_NOTICE_WARN, "%s: HTTP %ld%s", url, resp.status,
                 r->o->prune ? " (removed: --prune)" : "");
        it->gone = 1;
        it->failed++;
    } else if (resp.status < 200 || resp.status > 299) {
        add_note(it, RK_NOTICE_WARN, "%s: HTTP %ld after %d attempt%s", url, resp.status, resp.attempts,
                 resp.attempts == 1 ? "" : "s");
        it->failed++;
    } else {
        rk_format fmt = rk_format_of_type(resp.content_type, url);
        it->bytes += resp.len;
        if (fmt == RK_FMT_NONE) {
            add_note(it, RK_NOTICE_WARN, "%s: skipped (unsupported Content-Type %s)", url,
                     resp.content_type ? resp.content_type : "(none)");
            it->skipped++;
        } else {
            s = read_bytes(r, it, url, fmt, resp.body, resp.len, resp.charset, resp.etag, resp.last_modified,
                           0, err);
        }
    }
    rk_http_response_free(&resp);
    return s;
}

static void prepare(const run *r, item *it) {
    rk_status s = it->src.is_url ? read_url(r, it, &it->err) : read_file(r, it, &it->err);
    if (s) {
        it->fatal = s;
        rk_fail_prefix(&it->err, "%s", it->src.uri);
    }
}

/* ---- writing ---- */

typedef struct writer {
    const run *r;
    rk_neardup *nd; /* NULL when near-dup detection is off */
    prepared **docs;
    size_t n;
    int attempts;         /* of the current batch: a retry (the map grew) rebuilds nd */
    rk_ingest_report rep; /* of the current batch: counted anew on every attempt */
} writer;

static rk_status forget_chunk(uint64_t chunk_id, void *nd, rk_error *err) {
    (void)err;
    rk_neardup_remove(nd, chunk_id);
    return RK_OK;
}

/* Forgets the chunks of document id in the near-dup index. Chunks handed to
 * another document by the delete that follows are forgotten too: a rare,
 * harmless miss of a near duplicate later. */
static rk_status forget_chunks(rk_kb_txn *txn, rk_neardup *nd, uint64_t id, rk_error *err) {
    return rk_kb_doc_chunks(txn, id, forget_chunk, nd, err);
}

static rk_status write_doc(rk_kb_txn *txn, writer *w, const prepared *p, rk_error *err) {
    rk_ingest_report *rep = &w->rep;
    uint64_t id = 0;
    rk_status s = rk_kb_doc_find(txn, p->uri, &id, err);
    if (s == RK_OK) {
        rk_doc old;
        if ((s = rk_kb_doc_get(txn, id, &old, err))) return s;
        if (p->unchanged || rk_hash128_equal(old.hash, p->hash)) {
            rep->docs_unchanged++;
            return RK_OK;
        }
        if (w->nd && (s = forget_chunks(txn, w->nd, id, err))) return s;
        if ((s = rk_kb_doc_delete(txn, id, err))) return s;
        rep->docs_changed++;
    } else if (s == RK_ENOTFOUND) {
        if (p->unchanged) { /* removed by another process since a worker looked */
            rep->docs_unchanged++;
            return RK_OK;
        }
        if ((s = rk_kb_doc_new_id(txn, &id, err))) return s;
        rep->docs_new++;
    } else {
        return s;
    }
    rk_doc d = {.id = id,
                .uri = p->uri,
                .title = p->title,
                .etag = p->etag,
                .last_modified = p->last_modified,
                .hash = p->hash,
                .size = p->size,
                .mtime = p->mtime};
    for (size_t i = 0; i < p->nspans; i++) {
        const char *text = p->text + p->spans[i].start;
        size_t len = p->spans[i].end - p->spans[i].start;
        const span_info *in = &p->info[i];
        rk_chunk c = {.doc_id = d.id,
                      .ordinal = (uint32_t)i,
                      .ntokens = in->words,
                      .start = p->spans[i].start,
                      .end = p->spans[i].end,
                      .page = p->pages[in->part],
                      .section = p->sections[in->part],
                      .text = text,
                      .text_len = len};
        /* Without near-dup detection, one lookup (rk_kb_chunk_add's) finds an
         * exact duplicate or stores the chunk; near duplicates are looked for
         * only when no exact one is stored. */
        int added = 0;
        if (!w->nd) {
            s = rk_kb_chunk_add(txn, &c, in->hash, &added, err);
        } else if ((s = rk_kb_chunk_find(txn, in->hash, &c.id, err)) == RK_ENOTFOUND) {
            uint64_t near;
            if (rk_neardup_find(w->nd, text, len, &near)) {
                rep->chunks_near_duplicate++;
                continue;
            }
            s = rk_kb_chunk_add(txn, &c, in->hash, &added, err);
        }
        if (s) return s;
        if (added) {
            if (w->nd && (s = rk_neardup_add(w->nd, text, len, c.id, err))) return s;
            if (d.nchunks++ == 0) d.first_chunk = c.id;
            rep->chunks_added++;
            continue;
        }
        rep->chunks_duplicate++;
        /* Stored once, but held by this document too, so that it outlives its owner. */
        rk_chunk owner;
        if ((s = rk_kb_chunk_get(txn, c.id, &owner, err))) return s;
        if (owner.doc_id != d.id && (s = rk_kb_chunk_ref_add(txn, &c, err))) return s;
    }
    return rk_kb_doc_put(txn, &d, err);
}

static rk_status add_to_neardup(const rk_chunk *c, void *ctx, rk_error *err) {
    return rk_neardup_add(ctx, c->text, c->text_len, c->id, err);
}

/* Rebuilds the near-dup index from the chunks the transaction sees. */
static rk_status load_neardup(rk_kb_txn *txn, double threshold, rk_neardup **nd, rk_error *err) {
    rk_neardup_free(*nd);
    *nd = NULL;
    rk_status s = rk_neardup_new(threshold, nd, err);
    if (!s) s = rk_kb_chunk_foreach(txn, add_to_neardup, *nd, err);
    return s;
}

static rk_status write_batch(rk_kb_txn *txn, void *vctx, rk_error *err) {
    writer *w = vctx;
    w->rep = (rk_ingest_report){0};
    /* The near-dup index learnt this batch's chunks on the failed attempt. */
    if (w->attempts++ && w->nd) {
        rk_status s = load_neardup(txn, w->r->o->near_dup, &w->nd, err);
        if (s) return s;
    }
    for (size_t i = 0; i < w->n; i++) {
        rk_status s = write_doc(txn, w, w->docs[i], err);
        if (s) return rk_fail_prefix(err, "%s", w->docs[i]->uri);
    }
    return RK_OK;
}

static void add_report(rk_ingest_report *to, const rk_ingest_report *b) {
    to->docs_new += b->docs_new;
    to->docs_changed += b->docs_changed;
    to->docs_unchanged += b->docs_unchanged;
    to->docs_removed += b->docs_removed;
    to->chunks_added += b->chunks_added;
    to->chunks_duplicate += b->chunks_duplicate;
    to->chunks_near_duplicate += b->chunks_near_duplicate;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static rk_status flush(writer *w, rk_ingest_report *rep, rk_error *err) {
    if (!w->n) return RK_OK;
    w->attempts = 0;
    double t0 = now();
    rk_status s = rk_kb_write(w->r->kb, write_batch, w, err);
    rep->write_seconds += now() - t0;
    if (!s) add_report(rep, &w->rep);
    for (size_t i = 0; i < w->n; i++) {
        prepared_free(w->docs[i]);
        free(w->docs[i]);
    }
    w->n = 0;
    return s;
}

/* ---- the pipeline ---- */

typedef struct pipeline {
    const run *r;
    item *items;
    size_t n;
    size_t next;     /* the next item a worker takes */
    size_t consumed; /* items the writer is done with */
    size_t workers;
    uint64_t ahead; /* source bytes of the items prepared and not yet consumed */
    int *ready;
    int stop;
    pthread_mutex_t mu;
    pthread_cond_t cond;
} pipeline;

static void *worker(void *arg) {
    pipeline *pl = arg;
    pthread_mutex_lock(&pl->mu);
    for (;;) {
        while (!pl->stop && pl->next < pl->n && pl->next >= pl->consumed + pl->workers &&
               pl->ahead >= AHEAD_BYTES)
            pthread_cond_wait(&pl->cond, &pl->mu);
        if (pl->stop || pl->next >= pl->n) break;
        size_t i = pl->next++;
        pthread_mutex_unlock(&pl->mu);
        prepare(pl->r, &pl->items[i]);
        pthread_mutex_lock(&pl->mu);
        pl->ahead += pl->items[i].bytes;
        pl->ready[i] = 1;
        pthread_cond_broadcast(&pl->cond);
    }
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

/* What consume_all keeps for prune: every uri read, the JSON sources read
 * whole, and the stored ids of URLs that are gone. */
typedef struct seen seen;
static rk_status note_seen(const run *r, seen *sn, const item *it, uint64_t **gone, size_t *ngone,
                           rk_error *err);

/* Takes the items in order as the workers finish them and writes them. */
static rk_status consume_all(pipeline *pl, writer *w, seen *sn, uint64_t **gone, size_t *ngone,
                             rk_ingest_report *rep, rk_error *err) {
    const rk_ingest_opts *o = pl->r->o;
    size_t pending = 0;
    rk_status s = RK_OK;
    for (size_t i = 0; !s && i < pl->n; i++) {
        pthread_mutex_lock(&pl->mu);
        while (!pl->ready[i])
            pthread_cond_wait(&pl->cond, &pl->mu);
        pthread_mutex_unlock(&pl->mu);
        item *it = &pl->items[i];
        for (size_t k = 0; k < it->nnotes; k++)
            if (o->notice) o->notice(it->notes[k].level, it->notes[k].msg, o->ctx);
        rep->bytes += it->bytes;
        rep->docs_failed += it->failed;
        rep->files_skipped += it->skipped;
        if (it->fatal) {
            *err = it->err;
            s = it->fatal;
            break;
        }
        if (o->prune) s = note_seen(pl->r, sn, it, gone, ngone, err);
        for (size_t k = 0; !s && k < it->ndocs; k++) {
            prepared *p = malloc(sizeof *p);
            if (!p) {
                s = rk_fail(err, RK_ENOMEM, "out of memory");
                break;
            }
            *p = it->docs[k];
            it->docs[k] = (prepared){0};
            w->docs[w->n++] = p;
            pending += p->n;
            if (w->n == BATCH_DOCS || pending >= BATCH_BYTES) {
                s = flush(w, rep, err);
                pending = 0;
            }
        }
        uint64_t bytes = it->bytes;
        item_clear(it);
        pthread_mutex_lock(&pl->mu);
        pl->ahead -= bytes;
        pl->consumed = i + 1;
        pthread_cond_broadcast(&pl->cond);
        pthread_mutex_unlock(&pl->mu);
        if (!s && o->progress) o->progress(i + 1, pl->n, o->ctx);
    }
    if (!s) s = flush(w, rep, err);
    pthread_mutex_lock(&pl->mu); /* on failure, workers stop taking items */
    pl->stop = 1;
    pthread_cond_broadcast(&pl->cond);
    pthread_mutex_unlock(&pl->mu);
    return s;
}

/* ---- prune ---- */

/* What the run saw, for deciding which stored documents lost their source. */
struct seen {
    uint64_t *uris; /* hashes of the uris of documents read, sorted */
    size_t n, cap;
    char **record_files; /* JSON sources read whole */
    size_t nrec, caprec;
};

static int push_u64(seen *s, uint64_t h) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        uint64_t *nv = realloc(s->uris, cap * sizeof *nv);
        if (!nv) return -1;
        s->uris = nv;
        s->cap = cap;
    }
    s->uris[s->n++] = h;
    return 0;
}

static int push_str(seen *s, const char *str) {
    if (s->nrec == s->caprec) {
        size_t cap = s->caprec ? 2 * s->caprec : 16;
        char **nv = realloc(s->record_files, cap * sizeof *nv);
        if (!nv) return -1;
        s->record_files = nv;
        s->caprec = cap;
    }
    return (s->record_files[s->nrec] = strdup(str)) ? (s->nrec++, 0) : -1;
}

static uint64_t uri_key(const char *uri) { return rk_hash64_of(uri, strlen(uri), 0); }

static rk_status note_seen(const run *r, seen *sn, const item *it, uint64_t **gone, size_t *ngone,
                           rk_error *err) {
    for (size_t k = 0; k < it->ndocs; k++)
        if (push_u64(sn, uri_key(it->docs[k].uri))) return rk_fail(err, RK_ENOMEM, "out of memory");
    if (it->records_read && push_str(sn, it->src.uri)) return rk_fail(err, RK_ENOMEM, "out of memory");
    if (!it->gone) return RK_OK;
    rk_kb_txn *t;
    rk_status s = rk_kb_read_begin(r->kb, &t, err);
    if (s) return s;
    uint64_t id;
    if (!rk_kb_doc_find(t, it->src.uri, &id, NULL)) {
        uint64_t *nv = realloc(*gone, (*ngone + 1) * sizeof *nv);
        if (!nv)
            s = rk_fail(err, RK_ENOMEM, "out of memory");
        else
            (*gone = nv)[(*ngone)++] = id;
    }
    rk_kb_read_end(t);
    return s;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct prune_ctx {
    const rk_ingest_opts *o;
    const char *const *inputs;
    size_t ninputs;
    seen *seen;
    uint64_t *ids; /* documents to remove */
    size_t n, cap;
} prune_ctx;

/* Whether path is an input file, or lies below an input folder. */
static int in_scope(const prune_ctx *c, const char *path) {
    for (size_t i = 0; i < c->ninputs; i++) {
        const char *in = c->inputs[i];
        size_t len = strlen(in);
        while (len > 1 && in[len - 1] == '/')
            len--;
        if (!strncmp(path, in, len) && (path[len] == 0 || path[len] == '/')) return 1;
    }
    return 0;
}

static rk_status prune_check(const rk_doc *d, void *vctx, rk_error *err) {
    prune_ctx *c = vctx;
    if (rk_http_is_url(d->uri)) return RK_OK; /* gone when the server says so */
    char *source = strdup(d->uri);
    if (!source) return rk_fail(err, RK_ENOMEM, "out of memory");
    /* "PATH#ID" is a record of a JSON source. */
    char *hash = strrchr(source, '#');
    int record = 0;
    if (hash) {
        *hash = 0;
        record = rk_format_of_path(source) == RK_FMT_JSON || rk_format_of_path(source) == RK_FMT_JSONL;
        if (!record) *hash = '#';
    }
    int gone = 0;
    if (in_scope(c, source) && rk_source_shard(source, c->o->nshards) == c->o->shard) {
        struct stat st;
        if (stat(source, &st) != 0) {
            gone = 1;
        } else if (record) {
            int read_whole = 0;
            for (size_t i = 0; i < c->seen->nrec && !read_whole; i++)
                read_whole = !strcmp(c->seen->record_files[i], source);
            uint64_t k = uri_key(d->uri);
            gone = read_whole && !bsearch(&k, c->seen->uris, c->seen->n, sizeof k, cmp_u64);
        }
    }
    free(source);
    if (!gone) return RK_OK;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        uint64_t *nv = realloc(c->ids, cap * sizeof *nv);
        if (!nv) return rk_fail(err, RK_ENOMEM, "out of memory");
        c->ids = nv;
        c->cap = cap;
    }
    c->ids[c->n++] = d->id;
    return RK_OK;
}

typedef struct remove_batch {
    const uint64_t *ids;
    size_t n;
    rk_neardup *nd;
} remove_batch;

static rk_status remove_docs(rk_kb_txn *txn, void *vctx, rk_error *err) {
    remove_batch *b = vctx;
    for (size_t i = 0; i < b->n; i++) {
        rk_status s = b->nd ? forget_chunks(txn, b->nd, b->ids[i], err) : RK_OK;
        if (!s) s = rk_kb_doc_delete(txn, b->ids[i], err);
        if (s == RK_ENOTFOUND) continue; /* removed by another process meanwhile */
        if (s) return s;
    }
    return RK_OK;
}

/* Removes the documents whose source is gone, and the URLs that are. */
static rk_status prune(const run *r, const char *const *inputs, size_t ninputs, seen *sn, uint64_t *gone_ids,
                       size_t ngone, rk_ingest_report *rep, rk_error *err) {
    prune_ctx c = {.o = r->o, .inputs = inputs, .ninputs = ninputs, .seen = sn};
    if (sn->n) qsort(sn->uris, sn->n, sizeof *sn->uris, cmp_u64);
    rk_kb_txn *t;
    rk_status s = rk_kb_read_begin(r->kb, &t, err);
    if (s) return s;
    s = rk_kb_doc_foreach(t, prune_check, &c, err);
    rk_kb_read_end(t);
    for (size_t i = 0; !s && i < ngone; i++) { /* URLs answering 404/410 */
        if (c.n == c.cap) {
            size_t cap = c.cap ? 2 * c.cap : 64;
            uint64_t *nv = realloc(c.ids, cap * sizeof *nv);
            if (!nv) {
                s = rk_fail(err, RK_ENOMEM, "out of memory");
                break;
            }
            c.ids = nv;
            c.cap = cap;
        }
        c.ids[c.n++] = gone_ids[i];
    }
    for (size_t at = 0; !s && at < c.n; at += BATCH_DOCS) {
        remove_batch b = {c.ids + at, c.n - at < BATCH_DOCS ? c.n - at : BATCH_DOCS, NULL};
        s = rk_kb_write(r->kb, remove_docs, &b, err);
        if (!s) rep->docs_removed += b.n;
    }
    free(c.ids);
    return s;
}

/* ---- the run ---- */

/* Looks up the stored ETag / Last-Modified of each URL source, and the ids
 * of stored URLs (for prune). */
static rk_status load_url_state(rk_kb *kb, rk_sources *src, rk_error *err) {
    rk_kb_txn *t;
    rk_status s = rk_kb_read_begin(kb, &t, err);
    for (size_t i = 0; !s && i < src->n; i++) {
        rk_source *x = &src->v[i];
        uint64_t id;
        rk_doc d;
        if (!x->is_url || rk_kb_doc_find(t, x->uri, &id, NULL) || rk_kb_doc_get(t, id, &d, NULL)) continue;
        if ((*d.etag && !(x->etag = strdup(d.etag))) ||
            (*d.last_modified && !(x->last_modified = strdup(d.last_modified))))
            s = rk_fail(err, RK_ENOMEM, "out of memory");
    }
    rk_kb_read_end(t);
    return s;
}

static rk_status save_params(rk_kb_txn *txn, void *ctx, rk_error *err) {
    const rk_ingest_opts *o = ctx;
    static const char *const chunkers[] = {"recursive", "sentence", "fixed"};
    json_t *j = json_pack("{sssssIsIsssf}", "chunker", chunkers[o->chunk.kind], "unit",
                          o->chunk.unit == RK_UNIT_WORDS ? "words" : "chars", "chunk_size",
                          (json_int_t)o->chunk.size, "overlap", (json_int_t)o->chunk.overlap, "normalize",
                          o->form == RK_NORM_NFKC ? "nfkc" : "nfc", "near_dup", o->near_dup);
    if (!j) return rk_fail(err, RK_ENOMEM, "out of memory");
    rk_status s = rk_kb_meta_put(txn, "ingest", j, err);
    json_decref(j);
    return s;
}

rk_status rk_ingest(rk_kb *kb, const char *const *inputs, size_t ninputs, const rk_ingest_opts *o,
                    rk_ingest_report *rep, rk_error *err) {
    double t0 = now();
    *rep = (rk_ingest_report){0};
    if (o->chunk.size == 0 || o->chunk.overlap >= o->chunk.size)
        return rk_fail(err, RK_EINVAL, "chunk overlap (%zu) must be smaller than the chunk size (%zu)",
                       o->chunk.overlap, o->chunk.size);
    if (o->nshards > 1 && o->shard >= o->nshards)
        return rk_fail(err, RK_EINVAL, "shard %u of %u does not exist", o->shard, o->nshards);
    if (o->near_dup < 0 || o->near_dup > 1)
        return rk_fail(err, RK_EINVAL, "near-duplicate threshold %g is not in (0, 1]", o->near_dup);
    run r = {.kb = kb, .o = o};
    snprintf(r.params, sizeof r.params, "v1 %d %d %zu %zu %d %s|%s|%s", (int)o->chunk.kind,
             (int)o->chunk.unit, o->chunk.size, o->chunk.overlap, (int)o->form,
             o->fields.text ? o->fields.text : "", o->fields.title ? o->fields.title : "",
             o->fields.id ? o->fields.id : "");
    rk_sources src;
    rk_status s = rk_sources_collect(inputs, ninputs, o, &src, err);
    if (s) return s;
    rep->docs_failed += src.failed;
    rep->files_skipped += src.skipped;
    xmlInitParser(); /* once, before threads use libxml2 */
    writer w = {.r = &r, .docs = calloc(BATCH_DOCS, sizeof *w.docs)};
    item *items = calloc(src.n ? src.n : 1, sizeof *items);
    int *ready = calloc(src.n ? src.n : 1, sizeof *ready);
    seen sn = {0};
    uint64_t *gone = NULL;
    size_t ngone = 0;
    if (!w.docs || !items || !ready) s = rk_fail(err, RK_ENOMEM, "out of memory");
    if (!s) s = load_url_state(kb, &src, err);
    if (!s) s = rk_kb_write(kb, save_params, (void *)o, err);
    if (!s && o->near_dup > 0) {
        rk_kb_txn *t;
        if (!(s = rk_kb_read_begin(kb, &t, err))) {
            s = load_neardup(t, o->near_dup, &w.nd, err);
            rk_kb_read_end(t);
        }
    }
    int nthreads = o->threads > 0 ? o->threads : 1;
    pipeline pl = {.r = &r, .items = items, .n = src.n, .workers = (size_t)nthreads, .ready = ready};
    pthread_t *th = calloc((size_t)nthreads, sizeof *th);
    int started = 0;
    if (!s && !th) s = rk_fail(err, RK_ENOMEM, "out of memory");
    if (!s) {
        for (size_t i = 0; i < src.n; i++)
            items[i].src = src.v[i];
        pthread_mutex_init(&pl.mu, NULL);
        pthread_cond_init(&pl.cond, NULL);
        for (; started < nthreads; started++)
            if (pthread_create(&th[started], NULL, worker, &pl)) break;
        if (!started) s = rk_fail(err, RK_ENOMEM, "cannot start a thread");
    }
    if (!s) s = consume_all(&pl, &w, &sn, &gone, &ngone, rep, err);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (started) {
        pthread_mutex_destroy(&pl.mu);
        pthread_cond_destroy(&pl.cond);
    }
    if (!s && o->prune) s = prune(&r, inputs, ninputs, &sn, gone, ngone, rep, err);
    for (size_t i = 0; i < src.n; i++) {
        item_clear(&items[i]);
        items[i].src = (rk_source){0}; /* owned by src */
    }
    free(th);
    free(items);
    free(ready);
    free(w.docs);
    rk_neardup_free(w.nd);
    free(sn.uris);
    for (size_t i = 0; i < sn.nrec; i++)
        free(sn.record_files[i]);
    free(sn.record_files);
    free(gone);
    rk_sources_free(&src);
    rep->seconds = now() - t0;
    if (!s && o->strict && rep->docs_failed)
        s = rk_fail(err, RK_EFORMAT, "%llu source%s failed (--strict); the others were stored",
                    (unsigned long long)rep->docs_failed, rep->docs_failed == 1 ? "" : "s");
    return s;
}
