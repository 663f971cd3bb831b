/* text.c — document normalization and word segmentation on utf8proc. */
#include "raftkit/text.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Appends code point c as UTF-8; buf has room (4 bytes per input byte at most). */
static size_t put_cp(uint8_t *buf, size_t at, int32_t c) {
    return at + (size_t)utf8proc_encode_char(c, buf + at);
}

static int is_removed(int32_t c) {
    if (c == 0xFEFF || c == 0x200B || c == 0x2060) return 1; /* BOM, zero-width spaces */
    return utf8proc_category(c) == UTF8PROC_CATEGORY_CC;
}

rk_status rk_text_normalize(const char *in, size_t n, rk_norm_form form, char **out, size_t *out_n,
                            rk_text_report *rep, rk_error *err) {
    rk_text_report r = {0, 0};
    /* U+FFFD is 3 bytes and replaces at least one input byte. */
    uint8_t *clean = malloc(3 * n + 1);
    if (!clean) return rk_fail(err, RK_ENOMEM, "out of memory normalizing %zu bytes", n);
    const uint8_t *p = (const uint8_t *)in;
    size_t i = 0, o = 0;
    while (i < n) {
        int32_t c;
        utf8proc_ssize_t len = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &c);
        if (len < 0) {
            if (r.invalid++ == 0) r.first_invalid = i;
            o = put_cp(clean, o, 0xFFFD);
            i++;
            continue;
        }
        i += (size_t)len;
        if (c == '\r') {
            if (i < n && p[i] == '\n') i++;
            c = '\n';
        } else if (c == 0x85 || c == 0x2028 || c == 0x2029) {
            c = '\n';
        } else if (c == '\t') {
            c = ' ';
        }
        if (c != '\n' && is_removed(c)) continue;
        o = put_cp(clean, o, c);
    }
    utf8proc_uint8_t *normed = NULL;
    int opts = UTF8PROC_STABLE | UTF8PROC_COMPOSE | (form == RK_NORM_NFKC ? UTF8PROC_COMPAT : 0);
    utf8proc_ssize_t m = utf8proc_map(clean, (utf8proc_ssize_t)o, &normed, (utf8proc_option_t)opts);
    free(clean);
    if (m < 0) /* input is valid by construction, so only memory can fail */
        return rk_fail(err, RK_ENOMEM, "normalizing text: %s", utf8proc_errmsg(m));
    *out = (char *)normed;
    *out_n = (size_t)m;
    if (rep) *rep = r;
    return RK_OK;
}

static int is_word_cp(int32_t c) {
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return 1;
    default: return 0;
    }
}

size_t rk_text_next_word(const char *s, size_t n, size_t *pos, size_t *start, char *buf, size_t cap) {
    const uint8_t *p = (const uint8_t *)s;
    size_t i = *pos, len = 0;
    int32_t c;
    while (i < n) { /* skip separators */
        utf8proc_ssize_t l = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &c);
        if (l < 0) l = 1, c = 0;
        if (is_word_cp(c)) break;
        i += (size_t)l;
    }
    if (i >= n) {
        *pos = n;
        return 0;
    }
    *start = i;
    while (i < n) {
        utf8proc_ssize_t l = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &c);
        if (l < 0 || !is_word_cp(c)) break;
        uint8_t enc[4];
        size_t el = (size_t)utf8proc_encode_char(utf8proc_tolower(c), enc);
        if (len + el < cap) {
            memcpy(buf + len, enc, el);
            len += el;
        }
        i += (size_t)l;
    }
    buf[len] = '\0';
    *pos = i;
    return len;
}

size_t rk_utf8_length(const char *s, size_t n) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += ((uint8_t)s[i] & 0xC0) != 0x80;
    return count;
}
