/* Unit tests for ingesting URLs: real HTTP over loopback to a server the
 * test starts (tests/unit/httpd.h). */
#include "helpers.h"
#include "httpd.h"

#include "raftkit/ingest.h"

static char *dir, *kbdir;
static char notices[8192];

/* The site: what each path answers, changed by the tests between runs. */
static struct site {
    const char *page; /* /page.html */
    const char *etag; /* of /page.html */
    int notes_status; /* /notes.md: 200, or 404 once removed */
    int flaky_left;   /* /flaky.txt answers 503 this many more times */
    int conditional;  /* requests that came with If-None-Match */
} site;

static void handler(const httpd_request *req, httpd_reply *rep, void *ctx) {
    (void)ctx;
    char buf[256];
    if (!strcmp(req->path, "/page.html")) {
        if (httpd_header(req, "If-None-Match", buf, sizeof buf)) {
            site.conditional++;
            if (!strcmp(buf, site.etag)) {
                rep->status = 304;
                return;
            }
        }
        rep->status = 200;
        rep->content_type = "text/html; charset=utf-8";
        snprintf(rep->headers, sizeof rep->headers, "ETag: %s\r\n", site.etag);
        rep->body = site.page;
        rep->body_len = strlen(site.page);
    } else if (!strcmp(req->path, "/notes.md")) {
        rep->status = site.notes_status;
        rep->content_type = "text/markdown";
        rep->body = site.notes_status == 200 ? "# Notes\n\nThe *ferry* leaves at nine.\n" : "gone";
        rep->body_len = strlen(rep->body);
    } else if (!strcmp(req->path, "/flaky.txt")) {
        if (site.flaky_left > 0) {
            site.flaky_left--;
            rep->status = 503;
            rep->body = "busy";
            rep->body_len = 4;
            return;
        }
        rep->status = 200;
        rep->content_type = "text/plain";
        rep->body = "Flaky but eventually fine.";
        rep->body_len = strlen(rep->body);
    } else if (!strcmp(req->path, "/moved.txt")) {
        rep->status = 200;
        rep->content_type = "text/plain";
        rep->body = "Moved here for good.";
        rep->body_len = strlen(rep->body);
    } else if (!strcmp(req->path, "/old")) {
        rep->status = 301;
        snprintf(rep->headers, sizeof rep->headers, "Location: /moved.txt\r\n");
    } else {
        rep->status = 404;
    }
}

static void on_notice(rk_notice_level level, const char *msg, void *ctx) {
    (void)ctx;
    size_t n = strlen(notices);
    snprintf(notices + n, sizeof notices - n, "%s %s\n", level == RK_NOTICE_WARN ? "W" : "I", msg);
}

static httpd *server;

static void setup(void) {
    dir = tmpdir_new();
    kbdir = malloc(strlen(dir) + 4);
    snprintf(kbdir, strlen(dir) + 4, "%s/kb", dir);
    notices[0] = 0;
    site = (struct site){.page = "<html><head><title>Tides</title></head><body><h1>Tides</h1>"
                                 "<p>High water is at noon.</p><script>x()</script></body></html>",
                         .etag = "\"v1\"",
                         .notes_status = 200,
                         .flaky_left = 2};
    server = httpd_start(handler, NULL);
}

static void teardown(void) {
    httpd_stop(server);
    free(kbdir);
    tmpdir_free(dir);
}
TestSuite(url, .init = setup, .fini = teardown);

static rk_ingest_report ingest(const char *const *urls, size_t n, int prune) {
    rk_kb *kb;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(kbdir, RK_KB_CREATE, 0, &kb, &e), RK_OK, "%s", e.msg);
    rk_ingest_opts o = {.chunk = {.size = 300, .overlap = 30},
                        .prune = prune,
                        .threads = 2,
                        .http = {.timeout_ms = 5000, .max_retries = 3, .backoff_ms = 10},
                        .notice = on_notice};
    rk_ingest_report r;
    cr_assert_eq(rk_ingest(kb, urls, n, &o, &r, &e), RK_OK, "%s", e.msg);
    rk_kb_close(kb);
    return r;
}

static void chunk_text(const char *uri, char *out, size_t cap) {
    rk_kb *kb;
    rk_kb_txn *t;
    rk_error e = {0};
    cr_assert_eq(rk_kb_open(kbdir, RK_KB_READONLY, 0, &kb, &e), RK_OK);
    cr_assert_eq(rk_kb_read_begin(kb, &t, &e), RK_OK);
    uint64_t id;
    rk_doc d;
    rk_chunk c;
    cr_assert_eq(rk_kb_doc_find(t, uri, &id, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(rk_kb_doc_get(t, id, &d, &e), RK_OK);
    cr_assert_eq(rk_kb_chunk_get(t, d.first_chunk, &c, &e), RK_OK);
    snprintf(out, cap, "%s|%s", d.title, c.text);
    rk_kb_read_end(t);
    rk_kb_close(kb);
}

Test(url, pages_are_read_by_content_type_and_reruns_are_conditional) {
    char *page = httpd_url(server, "/page.html"), *notes = httpd_url(server, "/notes.md"),
         *flaky = httpd_url(server, "/flaky.txt"), *old = httpd_url(server, "/old");
    const char *urls[] = {page, notes, flaky, old};
    rk_ingest_report r = ingest(urls, 4, 0);
    cr_assert_eq(r.docs_new, 4, "%s", notices);
    char got[600];
    chunk_text(page, got, sizeof got);
    cr_assert_str_eq(got, "Tides|Tides\n\nHigh water is at noon.");
    chunk_text(notes, got, sizeof got);
    cr_assert_str_eq(got, "Notes|Notes\n\nThe ferry leaves at nine.");
    chunk_text(flaky, got, sizeof got);
    cr_assert_str_eq(got, "Flaky but eventually fine.|Flaky but eventually fine.", "retried past two 503s");
    chunk_text(old, got, sizeof got);
    cr_assert_str_eq(got, "Moved here for good.|Moved here for good.", "the redirect was followed");

    /* A re-run asks with the stored ETag and the page answers 304. */
    r = ingest(urls, 4, 0);
    cr_assert_eq(site.conditional, 1);
    cr_assert_eq(r.docs_unchanged, 4);
    cr_assert_eq(r.chunks_added, 0);

    /* The page changes (new ETag): it is fetched and replaced. */
    site.page = "<html><body><p>High water moved to one o'clock.</p></body></html>";
    site.etag = "\"v2\"";
    r = ingest(urls, 1, 0);
    cr_assert_eq(r.docs_changed, 1);
    chunk_text(page, got, sizeof got);
    cr_assert_str_eq(got, "page.html|High water moved to one o'clock.");
    free(page);
    free(notes);
    free(flaky);
    free(old);
}

Test(url, a_gone_page_is_reported_and_pruned_only_when_asked) {
    char *notes = httpd_url(server, "/notes.md"), *missing = httpd_url(server, "/nothing-here.txt");
    const char *urls[] = {notes, missing};
    rk_ingest_report r = ingest(urls, 2, 0);
    cr_assert_eq(r.docs_new, 1);
    cr_assert_eq(r.docs_failed, 1);
    char want[400];
    snprintf(want, sizeof want, "W %s: HTTP 404", missing);
    cr_assert(strstr(notices, want), "%s", notices);
    site.notes_status = 404;
    r = ingest(urls, 1, 0);
    cr_assert_eq(r.docs_removed, 0, "without --prune a 404 keeps the document");
    r = ingest(urls, 1, 1);
    cr_assert_eq(r.docs_removed, 1);
    free(notes);
    free(missing);
}
