/* Unit tests for ingest/ingest.c: real files into a real KB. */
#include "helpers.h"

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

static rk_ingest_report ingest(const char *const *paths, size_t n, rk_status want) {
    rk_kb *kb;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(kbdir, RK_KB_CREATE, 0, &kb, &e), RK_OK, "%s", e.msg);
    rk_ingest_opts o = {.chunk = {.size = 200, .overlap = 40}, .notice = on_notice};
    rk_ingest_report r;
    rk_status s = rk_ingest_paths(kb, paths, n, &o, &r, &e);
    cr_assert_eq(s, want, "%s", e.msg);
    rk_kb_close(kb);
    return r;
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
    cr_assert_eq(rk_ingest_paths(kb, paths, 3, &o, &r, &e), RK_OK, "%s", e.msg);
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
    cr_assert_eq(rk_ingest_paths(kb, paths, 2, &o, &r, &e), RK_ENOTFOUND);
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
    snprintf(want, sizeof want, "I %s: skipped (empty)", blank);
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
    cr_assert_eq(rk_ingest_paths(kb, paths, 1, &o, &r, &e), RK_EINVAL);
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
