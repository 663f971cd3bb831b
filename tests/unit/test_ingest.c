/* Unit tests for ingest/ingest.c: real files into a real KB. */
#include "helpers.h"

#include "pdf_fixture.h"
#include "raftkit/ingest.h"

static char *dir, *kbdir;
static char notices[8192];

static void on_notice(rk_notice_level level, const char *msg, void *ctx) {
    (void)ctx;
    size_t n = strlen(notices);
    snprintf(notices + n, sizeof notices - n, "%s %s\n", level == RK_NOTICE_WARN ? "W" : "I", msg);
}

static void setup(void) {
    dir = tmpdir_new();
    kbdir = malloc(strlen(dir) + 4);
    snprintf(kbdir, strlen(dir) + 4, "%s/kb", dir);
    notices[0] = 0;
}
static void teardown(void) {
    free(kbdir);
    tmpdir_free(dir);
}
TestSuite(ingest, .init = setup, .fini = teardown);

static rk_ingest_report ingest_with(const char *const *paths, size_t n, rk_ingest_opts o, rk_status want) {
    rk_kb *kb;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(kbdir, RK_KB_CREATE, 0, &kb, &e), RK_OK, "%s", e.msg);
    o.notice = on_notice;
    rk_ingest_report r;
    rk_status s = rk_ingest(kb, paths, n, &o, &r, &e);
    cr_assert_eq(s, want, "%s", e.msg);
    rk_kb_close(kb);
    return r;
}

static rk_ingest_report ingest(const char *const *paths, size_t n, rk_status want) {
    return ingest_with(paths, n, (rk_ingest_opts){.chunk = {.size = 200, .overlap = 40}}, want);
}

/* Opens the KB read-only with a read transaction; close with read_done. */
static rk_kb_txn *read_kb(rk_kb **kb) {
    rk_kb_txn *t;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(kbdir, RK_KB_READONLY, 0, kb, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_kb_read_begin(*kb, &t, &e), RK_OK, "%s", e.msg);
    return t;
}

static void read_done(rk_kb *kb, rk_kb_txn *t) {
    rk_kb_read_end(t);
    rk_kb_close(kb);
}

static rk_kb_stats stats(void) {
    rk_kb *kb;
    rk_kb_stats st;
    rk_error e = {0};
    rk_kb_txn *t = read_kb(&kb);
    cr_assert_eq(rk_kb_stats_get(t, &st, &e), RK_OK);
    read_done(kb, t);
    return st;
}

static const char DOC_A[] = "# Alpha Guide\n\nThe alpha paragraph talks about apples.\n\n"
                            "A second paragraph mentions avocados and apricots at length.\n";
static const char DOC_B[] = "Beta notes\n\nThe beta paragraph covers bananas.\n\nShared boilerplate line.\n";
static const char DOC_C[] = "Gamma\n\nShared boilerplate line.\n";

Test(ingest, folders_are_walked_and_reruns_add_nothing) {
    char sub[600];
    snprintf(sub, sizeof sub, "%s/docs", dir);
    mkdir(sub, 0777);
    free(write_text(sub, "a.md", DOC_A));
    free(write_text(sub, "b.txt", DOC_B));
    free(write_text(sub, "c.txt", DOC_C));
    free(write_text(sub, "image.png", "\x89PNG"));
    const char *paths[] = {sub};
    rk_ingest_report r = ingest(paths, 1, RK_OK);
    cr_assert_eq(r.docs_new, 3);
    cr_assert_eq(r.chunks_duplicate, 0, "chunks of 200 characters pack each small file whole");
    cr_assert(r.write_seconds > 0 && r.write_seconds <= r.seconds, "writing is part of the run: %g of %g s",
              r.write_seconds, r.seconds);
    rk_kb_stats st = stats();
    cr_assert_eq(st.docs, 3);
    cr_assert_eq(st.chunks, r.chunks_added);
    r = ingest(paths, 1, RK_OK);
    cr_assert_eq(r.docs_new, 0);
    cr_assert_eq(r.docs_unchanged, 3);
    cr_assert_eq(r.chunks_added, 0);
    rk_kb_stats st2 = stats();
    cr_assert_eq(st2.docs, st.docs);
    cr_assert_eq(st2.chunks, st.chunks);
}

Test(ingest, duplicate_chunks_are_stored_once) {
    free(write_text(dir, "one.txt", "Same words here.\n\nFirst file only.\n"));
    free(write_text(dir, "two.txt", "Same words here.\n\nSecond file only.\n"));
    free(write_text(dir, "three.txt", "Same words here.\n\nFirst file only.\n"));
    char paths_buf[3][600];
    const char *paths[3];
    const char *names[] = {"one.txt", "two.txt", "three.txt"};
    for (int i = 0; i < 3; i++) {
        snprintf(paths_buf[i], sizeof paths_buf[i], "%s/%s", dir, names[i]);
        paths[i] = paths_buf[i];
    }
    rk_kb *kb;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(kbdir, RK_KB_CREATE, 0, &kb, &e), RK_OK);
    rk_ingest_opts o = {.chunk = {.size = 20, .overlap = 0}}; /* one paragraph per chunk */
    rk_ingest_report r;
    cr_assert_eq(rk_ingest(kb, paths, 3, &o, &r, &e), RK_OK, "%s", e.msg);
    rk_kb_close(kb);
    cr_assert_eq(r.docs_new, 3);
    cr_assert_eq(r.chunks_added, 3, "same / first / second");
    cr_assert_eq(r.chunks_duplicate, 3);
    cr_assert_eq(stats().chunks, 3);
}

Test(ingest, a_changed_file_replaces_its_chunks_and_keeps_its_id) {
    char *a = write_text(dir, "a.md", DOC_A);
    const char *paths[] = {a};
    ingest(paths, 1, RK_OK);
    free(write_text(dir, "a.md", "# Alpha Guide\n\nEntirely new content about apricots.\n"));
    rk_ingest_report r = ingest(paths, 1, RK_OK);
    cr_assert_eq(r.docs_changed, 1);
    cr_assert_eq(r.docs_new, 0);
    rk_kb *kb;
    rk_error e = {0};
    rk_kb_txn *t = read_kb(&kb);
    uint64_t id, cid;
    rk_doc d;
    rk_chunk c;
    cr_assert_eq(rk_kb_doc_find(t, a, &id, &e), RK_OK);
    cr_assert_eq(id, 1, "the document keeps its id");
    cr_assert_eq(rk_kb_doc_get(t, id, &d, &e), RK_OK);
    cr_assert_str_eq(d.title, "Alpha Guide");
    cr_assert_eq(d.nchunks, 1);
    cr_assert_eq(rk_kb_chunk_get(t, d.first_chunk, &c, &e), RK_OK);
    cr_assert(strstr(c.text, "apricots"));
    const char *old = "The alpha paragraph talks about apples.";
    cr_assert_eq(rk_kb_chunk_find(t, rk_kb_chunk_hash(old, strlen(old)), &cid, &e), RK_ENOTFOUND);
    read_done(kb, t);
    cr_assert_eq(stats().chunks, 1);
    free(a);
}

Test(ingest, missing_path_fails_before_writing_anything) {
    char *a = write_text(dir, "a.md", DOC_A);
    const char *first[] = {a};
    ingest(first, 1, RK_OK);
    rk_kb_stats before = stats();
    char *b = write_text(dir, "b.txt", DOC_B);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope.md", dir);
    const char *paths[] = {b, missing};
    rk_kb *kb;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(kbdir, RK_KB_WRITE, 0, &kb, &e), RK_OK);
    rk_ingest_opts o = {.chunk = {.size = 200, .overlap = 40}};
    rk_ingest_report r;
    cr_assert_eq(rk_ingest(kb, paths, 2, &o, &r, &e), RK_ENOTFOUND);
    rk_kb_close(kb);
    cr_assert(strstr(e.msg, missing), "the message names the path: %s", e.msg);
    rk_kb_stats after = stats();
    cr_assert_eq(after.docs, before.docs);
    cr_assert_eq(after.chunks, before.chunks);
    free(a);
    free(b);
}

Test(ingest, bad_files_are_reported_and_the_rest_stored) {
    char *good = write_text(dir, "good.md", DOC_A);
    char *bad = write_text(dir, "bad.txt", "hello w\xffrld\n\nsecond paragraph\n");
    char *empty = write_text(dir, "empty.txt", "");
    char *blank = write_text(dir, "blank.md", "  \n\n \t\n");
    char *other = write_text(dir, "data.csv", "a,b\n");
    const char *paths[] = {good, bad, empty, blank, other};
    rk_ingest_report r = ingest(paths, 5, RK_OK);
    cr_assert_eq(r.docs_new, 2, "good and bad (repaired) are stored");
    cr_assert_eq(r.files_skipped, 3);
    char want[700];
    snprintf(want, sizeof want, "W %s: invalid UTF-8 at byte 7", bad);
    cr_assert(strstr(notices, want), "%s", notices);
    snprintf(want, sizeof want, "I %s: skipped (empty)", empty);
    cr_assert(strstr(notices, want), "%s", notices);
    snprintf(want, sizeof want, "I %s: skipped (no text)", blank);
    cr_assert(strstr(notices, want), "%s", notices);
    snprintf(want, sizeof want, "W %s: skipped (unsupported", other);
    cr_assert(strstr(notices, want), "%s", notices);
    cr_assert_eq(stats().docs, 2);
    free(good);
    free(bad);
    free(empty);
    free(blank);
    free(other);
}

Test(ingest, overlap_not_below_size_is_refused) {
    rk_kb *kb;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(kbdir, RK_KB_CREATE, 0, &kb, &e), RK_OK);
    rk_ingest_opts o = {.chunk = {.size = 100, .overlap = 100}};
    rk_ingest_report r;
    const char *paths[] = {dir};
    cr_assert_eq(rk_ingest(kb, paths, 1, &o, &r, &e), RK_EINVAL);
    rk_kb_close(kb);
}

typedef struct texts {
    char all[4096];
} texts;

static rk_status gather(const rk_chunk *c, void *ctx, rk_error *err) {
    (void)err;
    texts *t = ctx;
    size_t n = strlen(t->all);
    snprintf(t->all + n, sizeof t->all - n, "%s|", c->text);
    return RK_OK;
}

Test(ingest, html_pages_are_read_as_text) {
    char *page =
        write_text(dir, "ferry.HTML",
                   "<html><head><title>Ferry</title><script>var hidden = 'script text';</script></head>"
                   "<body><nav>Home | About</nav><h2>Timetable</h2><p>The morning ferry leaves at 07:15."
                   "</p><ul><li>Adults 12 euros</li><li>Children 6 euros</li></ul></body></html>");
    const char *paths[] = {page};
    rk_ingest_report r = ingest(paths, 1, RK_OK);
    cr_assert_eq(r.docs_new, 1);
    rk_kb *kb;
    rk_error e = {0};
    rk_kb_txn *t = read_kb(&kb);
    rk_doc d;
    cr_assert_eq(rk_kb_doc_get(t, 1, &d, &e), RK_OK);
    cr_assert_str_eq(d.title, "Ferry");
    texts all = {{0}};
    cr_assert_eq(rk_kb_chunk_foreach(t, gather, &all, &e), RK_OK);
    cr_assert_str_eq(
        all.all, "Timetable\n\nThe morning ferry leaves at 07:15.\n\nAdults 12 euros\n\nChildren 6 euros|");
    read_done(kb, t);
    free(page);
}

static rk_status gather_line(const rk_chunk *c, void *ctx, rk_error *err) {
    (void)err;
    char **at = ctx;
    *at += sprintf(*at, "%s|%u|%s\n", c->section, c->page, c->text);
    return RK_OK;
}

/* Every chunk as "section|page|text" lines, in chunk id order. */
static void chunk_lines(char *out) {
    rk_kb *kb;
    rk_error e = {0};
    rk_kb_txn *t = read_kb(&kb);
    char *at = out;
    *at = 0;
    cr_assert_eq(rk_kb_chunk_foreach(t, gather_line, &at, &e), RK_OK, "%s", e.msg);
    read_done(kb, t);
}

static char big[1 << 16];

Test(ingest, markdown_headings_become_chunk_sections) {
    char *md =
        write_text(dir, "guide.md",
                   "# Guide\n\nIntro **bold** text.\n\n## Install\n\nRun `make`, see [docs](http://x/).\n\n"
                   "## Use\n\n- one\n- two\n");
    const char *paths[] = {md};
    ingest(paths, 1, RK_OK);
    chunk_lines(big);
    cr_assert_str_eq(big, "Guide|0|Guide\n\nIntro bold text.\n"
                          "Guide > Install|0|Install\n\nRun make, see docs.\n"
                          "Guide > Use|0|Use\n\none\ntwo\n");
    free(md);
}

Test(ingest, jsonl_records_are_documents_and_prune_drops_removed_ones) {
    char *j = write_text(
        dir, "export.jsonl",
        "{\"meta\":{\"id\":\"a1\",\"title\":\"First\"},\"body\":{\"text\":\"Alpha record text.\"}}\n"
        "{\"meta\":{\"id\":\"b2\",\"title\":\"Second\"},\"body\":{\"text\":\"Beta record text.\"}}\n"
        "{\"meta\":{\"id\":\"c3\"},\"body\":{}}\n");
    const char *paths[] = {j};
    rk_ingest_opts o = {.chunk = {.size = 200, .overlap = 40},
                        .fields = {.text = "body.text", .title = "meta.title", .id = "meta.id"}};
    rk_ingest_report r = ingest_with(paths, 1, o, RK_OK);
    cr_assert_eq(r.docs_new, 2);
    cr_assert_eq(r.docs_failed, 1, "the record without text");
    cr_assert(strstr(notices, "line 3"), "%s", notices);
    rk_kb *kb;
    rk_error e = {0};
    rk_kb_txn *t = read_kb(&kb);
    char uri[700];
    snprintf(uri, sizeof uri, "%s#b2", j);
    uint64_t id;
    rk_doc d;
    cr_assert_eq(rk_kb_doc_find(t, uri, &id, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_kb_doc_get(t, id, &d, &e), RK_OK);
    cr_assert_str_eq(d.title, "Second");
    read_done(kb, t);
    /* b2 leaves the export: a plain re-run keeps it, --prune removes it. */
    free(write_text(
        dir, "export.jsonl",
        "{\"meta\":{\"id\":\"a1\",\"title\":\"First\"},\"body\":{\"text\":\"Alpha record text.\"}}\n"));
    r = ingest_with(paths, 1, o, RK_OK);
    cr_assert_eq(r.docs_unchanged, 1);
    cr_assert_eq(r.docs_removed, 0);
    cr_assert_eq(stats().docs, 2);
    o.prune = 1;
    r = ingest_with(paths, 1, o, RK_OK);
    cr_assert_eq(r.docs_removed, 1);
    cr_assert_eq(stats().docs, 1);
    free(j);
}

static rk_status collect_removed(uint64_t id, uint64_t gen, void *ctx, rk_error *err) {
    (void)gen, (void)err;
    char **at = ctx;
    *at += sprintf(*at, "%llu ", (unsigned long long)id);
    return RK_OK;
}

Test(ingest, prune_removes_deleted_files_and_marks_their_chunks_removed) {
    char sub[600];
    snprintf(sub, sizeof sub, "%s/docs", dir);
    mkdir(sub, 0777);
    char *a = write_text(sub, "a.md", DOC_A), *b = write_text(sub, "b.txt", DOC_B);
    char *outside = write_text(dir, "outside.txt", DOC_C);
    const char *both[] = {sub, outside};
    ingest(both, 2, RK_OK);
    cr_assert_eq(stats().docs, 3);
    remove(a);
    remove(outside);
    const char *only_sub[] = {sub};
    rk_ingest_report r =
        ingest_with(only_sub, 1, (rk_ingest_opts){.chunk = {.size = 200, .overlap = 40}, .prune = 1}, RK_OK);
    cr_assert_eq(r.docs_removed, 1, "a.md; outside.txt is not below an input");
    rk_kb_stats st = stats();
    cr_assert_eq(st.docs, 2);
    cr_assert_eq(st.removed, 1, "a.md had one chunk");
    rk_kb *kb;
    rk_error e = {0};
    rk_kb_txn *t = read_kb(&kb);
    char ids[100], *at = ids;
    cr_assert_eq(rk_kb_removed_foreach(t, collect_removed, &at, &e), RK_OK);
    cr_assert_str_eq(ids, "1 ", "the first chunk, a.md's");
    read_done(kb, t);
    free(a);
    free(b);
    free(outside);
}

Test(ingest, include_and_exclude_patterns_and_symlink_loops) {
    char sub[600], deep[700], link[800], skip[700];
    snprintf(sub, sizeof sub, "%s/docs", dir);
    snprintf(deep, sizeof deep, "%s/guides", sub);
    snprintf(skip, sizeof skip, "%s/drafts", sub);
    mkdir(sub, 0777);
    mkdir(deep, 0777);
    mkdir(skip, 0777);
    free(write_text(sub, "a.md", DOC_A));
    free(write_text(sub, "b.txt", DOC_B));
    free(write_text(deep, "c.md", DOC_C));
    free(write_text(skip, "d.md", "Draft text.\n"));
    snprintf(link, sizeof link, "%s/loop", deep);
    cr_assert_eq(symlink("..", link), 0);
    const char *paths[] = {sub};
    const char *include[] = {"*.md", NULL}, *exclude[] = {"drafts", NULL};
    rk_ingest_report r = ingest_with(
        paths, 1,
        (rk_ingest_opts){.chunk = {.size = 200, .overlap = 40}, .include = include, .exclude = exclude},
        RK_OK);
    cr_assert_eq(r.docs_new, 2, "a.md and guides/c.md");
    cr_assert_eq(r.docs_failed, 1, "the loop");
    char want[900];
    snprintf(want, sizeof want, "W %s: symlink loop, not followed", link);
    cr_assert(strstr(notices, want), "%s", notices);
}

Test(ingest, near_duplicates_are_dropped_when_asked) {
    const char *base = "The observatory tide gauge records the height of the water every six minutes and the "
                       "readings are published each morning on the harbour notice board for the fishermen.";
    char near[400];
    snprintf(near, sizeof near, "%s", base);
    memcpy(strstr(near, "six"), "ten", 3);
    char *a = write_text(dir, "a.txt", base), *b = write_text(dir, "b.txt", near);
    const char *paths[] = {a, b};
    rk_ingest_report r = ingest(paths, 2, RK_OK);
    cr_assert_eq(r.chunks_added, 2, "off by default");
    snprintf(kbdir, strlen(dir) + 4, "%s/k2", dir);
    r = ingest_with(paths, 2, (rk_ingest_opts){.chunk = {.size = 400, .overlap = 40}, .near_dup = 0.7},
                    RK_OK);
    cr_assert_eq(r.chunks_added, 1);
    cr_assert_eq(r.chunks_near_duplicate, 1);
    free(a);
    free(b);
}

Test(ingest, strict_refuses_invalid_utf8_and_fails_the_run) {
    char *good = write_text(dir, "good.md", DOC_A);
    char *bad = write_text(dir, "bad.txt", "hello w\xffrld\n");
    const char *paths[] = {good, bad};
    rk_ingest_report r = ingest_with(
        paths, 2, (rk_ingest_opts){.chunk = {.size = 200, .overlap = 40}, .strict = 1}, RK_EFORMAT);
    cr_assert_eq(r.docs_new, 1, "the good file is still stored");
    cr_assert_eq(r.docs_failed, 1);
    char want[700];
    snprintf(want, sizeof want, "W %s: invalid UTF-8 at byte 7 (refused: --strict)", bad);
    cr_assert(strstr(notices, want), "%s", notices);
    free(good);
    free(bad);
}

/* The KB's documents and chunks as text, for comparing runs. */
static rk_status doc_line(const rk_doc *d, void *ctx, rk_error *err) {
    (void)err;
    char **at = ctx;
    *at += sprintf(*at, "%s|%s|%u\n", d->uri, d->title, d->nchunks);
    return RK_OK;
}

static void kb_listing(char *out) {
    rk_kb *kb;
    rk_error e = {0};
    rk_kb_txn *t = read_kb(&kb);
    char *at = out;
    cr_assert_eq(rk_kb_doc_foreach(t, doc_line, &at, &e), RK_OK);
    cr_assert_eq(rk_kb_chunk_foreach(t, gather_line, &at, &e), RK_OK);
    read_done(kb, t);
}

static void many_files(const char *sub) {
    mkdir(sub, 0777);
    for (int i = 0; i < 40; i++) {
        char name[32], text[600];
        snprintf(name, sizeof name, "f%02d.%s", i, i % 3 ? "txt" : "md");
        snprintf(text, sizeof text,
                 "# File %d\n\nParagraph one of file %d talks about tides number %d.\n\n"
                 "Paragraph two of file %d is about boats and %d harbours. Shared line.\n",
                 i, i, i * 7, i, i % 5);
        free(write_text(sub, name, text));
    }
}

Test(ingest, threads_and_shards_give_the_same_kb) {
    char sub[600];
    snprintf(sub, sizeof sub, "%s/docs", dir);
    many_files(sub);
    const char *paths[] = {sub};
    rk_ingest_opts o = {.chunk = {.size = 80, .overlap = 20}, .threads = 1};
    ingest_with(paths, 1, o, RK_OK);
    static char one[1 << 16], four[1 << 16];
    kb_listing(one);
    snprintf(kbdir, strlen(dir) + 4, "%s/k4", dir);
    o.threads = 4;
    ingest_with(paths, 1, o, RK_OK);
    kb_listing(four);
    cr_assert_str_eq(four, one, "four threads write what one does");
    snprintf(kbdir, strlen(dir) + 4, "%s/ks", dir);
    o.nshards = 2;
    o.shard = 0;
    rk_ingest_report r0 = ingest_with(paths, 1, o, RK_OK);
    o.shard = 1;
    rk_ingest_report r1 = ingest_with(paths, 1, o, RK_OK);
    cr_assert_eq(r0.docs_new + r1.docs_new, 40);
    cr_assert(r0.docs_new > 5 && r1.docs_new > 5, "both shards get work: %llu %llu",
              (unsigned long long)r0.docs_new, (unsigned long long)r1.docs_new);
    cr_assert_eq(stats().docs, 40);
}

#ifdef RK_HAVE_PDF
Test(ingest, pdf_pages_are_kept_on_chunks) {
    const char *pages[] = {"The harbour light is green.", "The quay light is red."};
    bytes pdf = draw_pdf(pages, 2, "Lights");
    char *path = write_file(dir, "lights.pdf", pdf.p, pdf.n);
    free(pdf.p);
    const char *paths[] = {path};
    rk_ingest_report r = ingest(paths, 1, RK_OK);
    cr_assert_eq(r.docs_new, 1);
    chunk_lines(big);
    cr_assert_str_eq(big, "|1|The harbour light is green.\n|2|The quay light is red.\n");
    free(path);
}
#endif

/* A paragraph two files share is stored once; changing the file that owns
 * it leaves it with the other file. */
Test(ingest, a_shared_chunk_survives_a_change_of_its_owner) {
    char *one = write_text(dir, "one.txt", "Shared disclaimer paragraph.\n\nOnly in one.\n");
    char *two = write_text(dir, "two.txt", "Only in two.\n\nShared disclaimer paragraph.\n");
    const char *paths[] = {one, two};
    rk_ingest_opts o = {.chunk = {.size = 30, .overlap = 0}};
    rk_ingest_report r = ingest_with(paths, 2, o, RK_OK);
    cr_assert_eq(r.chunks_duplicate, 1);
    free(write_text(dir, "one.txt", "Only in one, now rewritten.\n"));
    r = ingest_with(paths, 2, o, RK_OK);
    cr_assert_eq(r.docs_changed, 1);
    rk_kb *kb;
    rk_error e = {0};
    rk_kb_txn *t = read_kb(&kb);
    uint64_t cid, two_id;
    rk_chunk c;
    const char *shared = "Shared disclaimer paragraph.";
    cr_assert_eq(rk_kb_chunk_find(t, rk_kb_chunk_hash(shared, strlen(shared)), &cid, &e), RK_OK,
                 "the shared paragraph is still in the KB");
    cr_assert_eq(rk_kb_chunk_get(t, cid, &c, &e), RK_OK);
    cr_assert_eq(rk_kb_doc_find(t, two, &two_id, &e), RK_OK);
    cr_assert_eq(c.doc_id, two_id, "now two.txt's");
    cr_assert_eq(c.ordinal, 1);
    cr_assert_eq(c.start, strlen("Only in two.\n\n"));
    read_done(kb, t);
    free(one);
    free(two);
}
