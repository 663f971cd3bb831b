/* pdf.c — the text of a PDF, page by page, through poppler-glib. */
#include "raftkit/pdf.h"

#include <stdlib.h>
#include <string.h>

#ifdef RK_HAVE_PDF

#include <poppler.h>

int rk_pdf_available(void) { return 1; }

static rk_status open_document(const void *pdf, size_t n, const char *uri, PopplerDocument **out,
                               rk_error *err) {
    /* Static bytes: poppler reads the caller's buffer in place, no copy. */
    GBytes *bytes = g_bytes_new_static(pdf, n);
    GError *gerr = NULL;
    *out = poppler_document_new_from_bytes(bytes, NULL, &gerr);
    g_bytes_unref(bytes);
    if (*out) return RK_OK;
    rk_status s;
    if (gerr && g_error_matches(gerr, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
        s = rk_fail(err, RK_EFORMAT, "%s: encrypted", uri);
    else
        s = rk_fail(err, RK_EFORMAT, "%s: %s", uri, gerr ? gerr->message : "not a readable PDF");
    g_clear_error(&gerr);
    return s;
}

static rk_status take_title(PopplerDocument *doc, rk_parts *out, rk_error *err) {
    if (out->title) return RK_OK;
    gchar *t = poppler_document_get_title(doc);
    rk_status s = RK_OK;
    if (t && *t) {
        out->title = strdup(t);
        if (!out->title) s = rk_fail(err, RK_ENOMEM, "out of memory");
    }
    g_free(t);
    return s;
}

rk_status rk_pdf_parts(const void *pdf, size_t n, const char *uri, rk_parts *out, rk_error *err) {
    PopplerDocument *doc;
    rk_status s = open_document(pdf, n, uri, &doc, err);
    if (s) return s;
    int pages = poppler_document_get_n_pages(doc);
    for (int i = 0; i < pages && !s; i++) {
        PopplerPage *page = poppler_document_get_page(doc, i);
        if (!page) continue;
        gchar *text = poppler_page_get_text(page);
        if (text) s = rk_parts_add(out, "", (uint32_t)i + 1, text, strlen(text), err);
        g_free(text);
        g_object_unref(page);
    }
    if (!s) s = take_title(doc, out, err);
    g_object_unref(doc);
    return s;
}

#else

int rk_pdf_available(void) { return 0; }

rk_status rk_pdf_parts(const void *pdf, size_t n, const char *uri, rk_parts *out, rk_error *err) {
    (void)pdf, (void)n, (void)out;
    return rk_fail(err, RK_EINVAL,
                   "%s: PDF support is not built in (install libpoppler-glib-dev and rebuild)", uri);
}

#endif
