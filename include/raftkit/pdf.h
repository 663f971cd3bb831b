/* pdf.h — the text of a PDF, page by page, through poppler-glib, for ingest.
 * Optional at build time: without poppler-glib (RK_HAVE_PDF undefined) every
 * call fails with RK_EINVAL saying PDF support is not built in. */
#ifndef RAFTKIT_PDF_H
#define RAFTKIT_PDF_H

#include <stddef.h>

#include "raftkit/reader.h"

/* 1 when this build reads PDF. */
int rk_pdf_available(void);

/* Appends one part per page of the n-byte PDF (page = its 1-based number,
 * title "" — PDF has no reliable headings; text as poppler lays it out, one
 * line per text line) to *out, and sets out->title from the document's Title
 * metadata when set and out->title is still NULL. Pages without text are
 * skipped.
 * uri names the file in errors. RK_EFORMAT for a damaged, truncated or
 * encrypted file ("URI: encrypted", else poppler's reason), RK_EINVAL when PDF
 * is not built in, RK_ENOMEM. */
rk_status rk_pdf_parts(const void *pdf, size_t n, const char *uri, rk_parts *out, rk_error *err);

#endif
