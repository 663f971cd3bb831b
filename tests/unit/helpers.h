/* helpers.h — temp directories and files for the unit tests (each test makes
 * its own directory under $TMPDIR and removes it), and the check of a
 * reader's parts. */
#ifndef RAFTKIT_TEST_HELPERS_H
#define RAFTKIT_TEST_HELPERS_H

#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raftkit/reader.h"

static inline char *tmpdir_new(void) {
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/raftkit-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    cr_assert(d, "mkdtemp failed");
    return strdup(d);
}

static inline int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static inline void tmpdir_free(char *d) {
    if (!d) return;
    nftw(d, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

/* Writes n bytes to dir/name and returns the path (caller frees). */
static inline char *write_file(const char *dir, const char *name, const void *data, size_t n) {
    size_t n_path = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n_path);
    snprintf(path, n_path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
    return path;
}

static inline char *write_text(const char *dir, const char *name, const char *text) {
    return write_file(dir, name, text, strlen(text));
}

/* Part i of p has this title and text, and no page. */
static inline void expect_part(const rk_parts *p, size_t i, const char *title, const char *text) {
    cr_assert_lt(i, p->n, "part %zu of %zu", i, p->n);
    cr_assert_str_eq(p->v[i].title, title, "title of part %zu", i);
    cr_assert_str_eq(p->v[i].text, text, "text of part %zu", i);
    cr_assert_eq(p->v[i].len, strlen(text));
    cr_assert_eq(p->v[i].page, 0);
}

#endif
