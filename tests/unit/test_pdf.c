/* Unit tests for ingest/pdf.c: page text and title through poppler-glib, on
 * PDFs drawn with cairo in the test. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/pdf.h"

#ifdef RK_HAVE_PDF

#include "pdf_fixture.h"

/* text without the line breaks and spaces poppler puts around it. */
static char *trimmed(const char *text) {
    while (*text == ' ' || *text == '\n')
        text++;
    size_t n = strlen(text);
    while (n && (text[n - 1] == ' ' || text[n - 1] == '\n'))
        n--;
    return strndup(text, n);
}

static const char *const PAGES[] = {"Harbour tides turn at noon", "Ferries leave at dawn"};

Test(pdf, one_part_per_page_with_its_number_and_the_title) {
    cr_assert_eq(rk_pdf_available(), 1);
    bytes pdf = draw_pdf(PAGES, 2, "Tide Tables");
    rk_parts p = {0};
    rk_error e = {0};
    cr_assert_eq(rk_pdf_parts(pdf.p, pdf.n, "tides.pdf", &p, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(p.n, 2);
    for (size_t i = 0; i < 2; i++) {
        char *t = trimmed(p.v[i].text);
        cr_assert_str_eq(t, PAGES[i]);
        cr_assert_eq(p.v[i].page, i + 1);
        cr_assert_str_eq(p.v[i].title, "");
        cr_assert_eq(p.v[i].len, strlen(p.v[i].text));
        free(t);
    }
    cr_assert_str_eq(p.title, "Tide Tables");
    rk_parts_free(&p);
    free(pdf.p);
}

Test(pdf, blank_pages_are_skipped_and_no_metadata_means_no_title) {
    static const char *const pages[] = {"First words", "", "Last words"};
    bytes pdf = draw_pdf(pages, 3, NULL);
    rk_parts p = {0};
    rk_error e = {0};
    cr_assert_eq(rk_pdf_parts(pdf.p, pdf.n, "gaps.pdf", &p, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(p.n, 2);
    cr_assert_eq(p.v[0].page, 1);
    cr_assert_eq(p.v[1].page, 3);
    char *t = trimmed(p.v[1].text);
    cr_assert_str_eq(t, "Last words");
    free(t);
    cr_assert_null(p.title);
    rk_parts_free(&p);
    free(pdf.p);
}

Test(pdf, a_title_already_found_is_kept) {
    bytes pdf = draw_pdf(PAGES, 1, "From metadata");
    rk_parts p = {.title = strdup("From the caller")};
    rk_error e = {0};
    cr_assert_eq(rk_pdf_parts(pdf.p, pdf.n, "t.pdf", &p, &e), RK_OK, "%s", e.msg);
    cr_assert_str_eq(p.title, "From the caller");
    rk_parts_free(&p);
    free(pdf.p);
}

static void assert_format_error(const void *data, size_t n, const char *uri) {
    rk_parts p = {0};
    rk_error e = {0};
    cr_assert_eq(rk_pdf_parts(data, n, uri, &p, &e), RK_EFORMAT, "%s", e.msg);
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s: ", uri);
    cr_assert(!strncmp(e.msg, prefix, strlen(prefix)) && strlen(e.msg) > strlen(prefix), "%s", e.msg);
    cr_assert_eq(p.n, 0);
    cr_assert_null(p.title);
}

Test(pdf, truncated_and_garbage_bytes_are_format_errors) {
    bytes pdf = draw_pdf(PAGES, 2, "Tide Tables");
    assert_format_error(pdf.p, pdf.n * 2 / 5, "cut.pdf");
    static const char garbage[] = "this is not a PDF, only words\n\x01\x02\x03";
    assert_format_error(garbage, sizeof garbage - 1, "junk.pdf");
    assert_format_error("", 0, "empty.pdf");
    free(pdf.p);
}

/* A one-page PDF whose standard security handler wants a user password:
 * the /U entry matches no password, so nothing opens it. */
static bytes encrypted_pdf(void) {
    static const char *const objects[] = {
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        "<< /Filter /Standard /V 1 /R 2 /P -4"
        " /O <0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef>"
        " /U <fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210> >>",
    };
    bytes b = {0};
    FILE *f = open_memstream(&b.p, &b.n);
    long offsets[4];
    fputs("%PDF-1.4\n", f);
    for (int i = 0; i < 4; i++) {
        offsets[i] = ftell(f);
        fprintf(f, "%d 0 obj\n%s\nendobj\n", i + 1, objects[i]);
    }
    long xref = ftell(f);
    fputs("xref\n0 5\n0000000000 65535 f \n", f);
    for (int i = 0; i < 4; i++)
        fprintf(f, "%010ld 00000 n \n", offsets[i]);
    fprintf(f,
            "trailer\n<< /Size 5 /Root 1 0 R /Encrypt 4 0 R"
            " /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>] >>\n"
            "startxref\n%ld\n%%%%EOF\n",
            xref);
    fclose(f);
    return b;
}

Test(pdf, encrypted_documents_are_refused) {
    bytes pdf = encrypted_pdf();
    rk_parts p = {0};
    rk_error e = {0};
    cr_assert_eq(rk_pdf_parts(pdf.p, pdf.n, "locked.pdf", &p, &e), RK_EFORMAT);
    cr_assert_str_eq(e.msg, "locked.pdf: encrypted");
    cr_assert_eq(p.n, 0);
    free(pdf.p);
}

#else

Test(pdf, without_poppler_every_call_fails_with_einval) {
    cr_assert_eq(rk_pdf_available(), 0);
    rk_parts p = {0};
    rk_error e = {0};
    cr_assert_eq(rk_pdf_parts("%PDF-1.4", 8, "a.pdf", &p, &e), RK_EINVAL);
    cr_assert_str_eq(e.msg, "a.pdf: PDF support is not built in (install libpoppler-glib-dev and rebuild)");
    cr_assert_eq(p.n, 0);
}

#endif
