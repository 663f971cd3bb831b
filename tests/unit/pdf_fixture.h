/* pdf_fixture.h — PDFs drawn with cairo for the tests of the PDF reader and
 * of ingest; only when the build reads PDF. */
#ifndef RAFTKIT_TEST_PDF_FIXTURE_H
#define RAFTKIT_TEST_PDF_FIXTURE_H
#ifdef RK_HAVE_PDF

#include <cairo-pdf.h>
#include <cairo.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

typedef struct bytes {
    char *p;
    size_t n;
} bytes;

static inline cairo_status_t pdf_append(void *closure, const unsigned char *data, unsigned int len) {
    bytes *b = closure;
    b->p = realloc(b->p, b->n + len);
    cr_assert(b->p);
    memcpy(b->p + b->n, data, len);
    b->n += len;
    return CAIRO_STATUS_SUCCESS;
}

/* A PDF with one line of text per page, and title metadata when title is set. */
static inline bytes draw_pdf(const char *const *pages, size_t n_pages, const char *title) {
    bytes b = {0};
    cairo_surface_t *surface = cairo_pdf_surface_create_for_stream(pdf_append, &b, 595, 842);
    if (title) cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title);
    cairo_t *cr = cairo_create(surface);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 14);
    for (size_t i = 0; i < n_pages; i++) {
        cairo_move_to(cr, 72, 100);
        cairo_show_text(cr, pages[i]);
        cairo_show_page(cr);
    }
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    cr_assert_eq(cairo_surface_status(surface), CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(surface);
    return b;
}

#endif
#endif
