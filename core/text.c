/* text.c — document normalization and word segmentation on utf8proc. */
#include "raftkit/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "raftkit/buf.h"

/* Appends code point c as UTF-8; buf has room (4 bytes per input byte at most). */
static size_t put_cp(uint8_t *buf, size_t at, int32_t c) {
    return at + (size_t)utf8proc_encode_char(c, buf + at);
}

static int is_removed(int32_t c) {
    if (c == 0xFEFF || c == 0x200B || c == 0x2060) return 1; /* BOM, zero-width spaces */
    return utf8proc_category(c) == UTF8PROC_CATEGORY_CC;
}

/* Whether code point c is a space separator (category Zs: the space, NBSP,
 * the en/em spaces, the ideographic space, ...). */
static int is_space_sep(int32_t c) { return c == ' ' || utf8proc_category(c) == UTF8PROC_CATEGORY_ZS; }

/* Writes at t[o] what a collapsed run of whitespace becomes before the next
 * character: a paragraph break, a line break, a space, or nothing at the
 * start of the text. */
static size_t put_break(uint8_t *t, size_t o, size_t newlines, int space) {
    if (!o) return o;
    if (newlines) {
        t[o++] = '\n';
        if (newlines > 1) t[o++] = '\n';
    } else if (space) {
        t[o++] = ' ';
    }
    return o;
}

/* Collapses whitespace in place and returns the new length: every run of
 * space separators becomes one ASCII space, spaces at the start and end of
 * lines go, runs of blank lines become one blank line (the paragraph break),
 * and the text starts and ends with no whitespace. */
static size_t collapse_space(uint8_t *t, size_t n) {
    size_t o = 0, newlines = 0;
    int space = 0;
    for (size_t i = 0; i < n;) {
        int32_t c = t[i];
        size_t len = 1;
        if (c >= 0x80) {
            int32_t u; /* apart from c, so that c can live in a register */
            len = (size_t)utf8proc_iterate(t + i, (utf8proc_ssize_t)(n - i), &u);
            c = u;
        }
        if (c == '\n') {
            newlines++;
            space = 0;
        } else if (c == ' ' || (c >= 0x80 && is_space_sep(c))) {
            space = 1;
        } else {
            o = put_break(t, o, newlines, space);
            newlines = 0;
            space = 0;
            for (size_t k = 0; k < len; k++)
                t[o++] = t[i + k];
        }
        i += len;
    }
    t[o] = 0;
    return o;
}

/* Whether the composed code point c (not ASCII, not removed, not a space) is
 * unchanged by normalization whatever surrounds it: it is in the form
 * (quick check Yes), has combining class 0 and never composes with what
 * precedes it. Latin-1 to the spacing modifiers, the CJK ideographs and
 * the Hangul syllables are, which covers most non-ASCII text; for NFKC a
 * compatibility decomposition must be absent too. tests/unit/test_text.c
 * checks these ranges against utf8proc itself. */
static int form_stable(int32_t c, rk_norm_form form) {
    int in_range = (c >= 0xA0 && c < 0x300) || (c >= 0x4E00 && c < 0xA000) || (c >= 0xAC00 && c < 0xD7A4);
    return in_range && (form == RK_NORM_NFC || utf8proc_get_property(c)->decomp_type == 0);
}

/* Whether the 8 bytes of w are printable ASCII or spaces with no two spaces
 * side by side: text that cleaning copies as it is, when it follows such a
 * character and is followed by one. Eight bytes at a time, each test exact
 * or catching at least the lowest byte that fails it. */
static int plain_ascii8(uint64_t w) {
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull, low = ~high;
    uint64_t ctrl = (w - 0x20 * ones) & ~w & high; /* a byte below the space */
    uint64_t t = w ^ (0x7f * ones), del = (t - ones) & ~t & high;
    uint64_t s = w ^ (0x20 * ones), spaces = ~(((s & low) + low) | s | low);
    return !((w & high) | ctrl | del | (spaces & (spaces >> 8)));
}

/* Cleans and collapses n bytes into buf (room for 3n + 1) in one pass:
 * invalid sequences become U+FFFD, line ends LF, tabs spaces, control and
 * invisible characters go, whitespace is collapsed as collapse_space does.
 * Returns the bytes written; *stable says whether every code point is
 * form_stable, so the text is in the form already. */
static size_t clean_text(const uint8_t *p, size_t n, rk_norm_form form, uint8_t *buf, int *stable,
                         rk_text_report *r) {
    size_t i = 0, o = 0, newlines = 0;
    int space = 0;
    *stable = 1;
    while (i < n) {
        int32_t c = p[i];
        if (c > 0x20 && c < 0x7f) { /* a run of printable ASCII: most text */
            o = put_break(buf, o, newlines, space);
            newlines = 0;
            space = 0;
            /* A single space between two such characters is copied as is;
             * eight bytes at a time where they allow it, else one. */
            do {
                buf[o++] = p[i++];
                for (uint64_t w; i + 8 <= n && p[i + 7] != ' '; i += 8, o += 8) {
                    memcpy(&w, p + i, 8); /* memcpy: p need not be aligned */
                    if (!plain_ascii8(w)) break;
                    memcpy(buf + o, &w, 8);
                }
            } while (i < n && ((p[i] > 0x20 && p[i] < 0x7f) ||
                               (p[i] == ' ' && i + 1 < n && p[i + 1] > 0x20 && p[i + 1] < 0x7f)));
            continue;
        }
        size_t len = 1;
        if (c >= 0x80) {
            int32_t u; /* apart from c, so that c can live in a register */
            utf8proc_ssize_t l = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &u);
            if (l < 0) {
                if (r->invalid++ == 0) r->first_invalid = i;
                u = 0xFFFD;
                l = 1;
            }
            c = u;
            len = (size_t)l;
        } else if (c == '\r' && i + 1 < n && p[i + 1] == '\n') {
            len = 2;
        }
        i += len;
        if (c == '\r' || c == 0x85 || c == 0x2028 || c == 0x2029) c = '\n';
        if (c == '\n') {
            newlines++;
            space = 0;
        } else if (c == ' ' || c == '\t' || (c >= 0x80 && is_space_sep(c))) {
            space = 1;
        } else if (!is_removed(c)) {
            o = put_break(buf, o, newlines, space);
            newlines = 0;
            space = 0;
            o = put_cp(buf, o, c);
            *stable &= form_stable(c, form);
        }
    }
    buf[o] = 0;
    return o;
}

/* Puts clean valid UTF-8 t[0..n) into the normalization form. ASCII is in
 * every form already and never composes with what precedes it, so only the
 * runs of non-ASCII code points go through utf8proc, each with the ASCII
 * character before it (a base that a combining mark may compose with). */
static rk_status compose(const uint8_t *t, size_t n, rk_norm_form form, rk_buf *out, rk_error *err) {
    int opts = UTF8PROC_STABLE | UTF8PROC_COMPOSE | (form == RK_NORM_NFKC ? UTF8PROC_COMPAT : 0);
    size_t i = 0;
    while (i < n) {
        size_t a = i;
        while (i < n && t[i] < 0x80)
            i++;
        if (i == n) {
            rk_buf_put(out, t + a, i - a);
            break;
        }
        size_t run = i > a ? i - 1 : i; /* the ASCII base goes with the run */
        rk_buf_put(out, t + a, run - a);
        while (i < n && t[i] >= 0x80)
            i++;
        utf8proc_uint8_t *m = NULL;
        utf8proc_ssize_t len =
            utf8proc_map(t + run, (utf8proc_ssize_t)(i - run), &m, (utf8proc_option_t)opts);
        if (len < 0) /* the input is valid by construction, so only memory can fail */
            return rk_fail(err, RK_ENOMEM, "normalizing text: %s", utf8proc_errmsg(len));
        rk_buf_put(out, m, (size_t)len);
        free(m);
    }
    return out->oom ? rk_fail(err, RK_ENOMEM, "out of memory normalizing %zu bytes", n) : RK_OK;
}

rk_status rk_text_normalize(const char *in, size_t n, rk_norm_form form, char **out, size_t *out_n,
                            rk_text_report *rep, rk_error *err) {
    rk_text_report r = {0, 0};
    /* U+FFFD is 3 bytes and replaces at least one input byte. */
    uint8_t *clean = malloc(3 * n + 1);
    if (!clean) return rk_fail(err, RK_ENOMEM, "out of memory normalizing %zu bytes", n);
    int stable;
    size_t o = clean_text((const uint8_t *)in, n, form, clean, &stable, &r);
    if (rep) *rep = r;
    if (stable) {
        *out = (char *)clean;
        *out_n = o;
        return RK_OK;
    }
    rk_buf b = {0};
    rk_status s = compose(clean, o, form, &b, err);
    free(clean);
    if (!s && !b.p && !(b.p = calloc(1, 1))) s = rk_fail(err, RK_ENOMEM, "out of memory");
    if (s) {
        free(b.p);
        return s;
    }
    /* Composition can make spaces again: NFKC turns U+00A8 into a space and a mark. */
    *out_n = collapse_space((uint8_t *)b.p, b.n);
    *out = b.p;
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

/* Branch-free, so that the loop of rk_text_count_words vectorizes. */
static unsigned ascii_word(uint8_t c) { return ((uint8_t)(c - '0') < 10) | ((uint8_t)((c | 32) - 'a') < 26); }

/* The code point at p[0..n) into *c and its length; an invalid byte is one
 * non-word unit. ASCII without a utf8proc call: it is most text. */
static size_t next_cp(const uint8_t *p, size_t n, int32_t *c) {
    if (p[0] < 0x80) {
        *c = p[0];
        return 1;
    }
    utf8proc_ssize_t l = utf8proc_iterate(p, (utf8proc_ssize_t)n, c);
    if (l < 0) {
        *c = 0;
        return 1;
    }
    return (size_t)l;
}

static int word_cp(int32_t c) { return c < 0x80 ? (int)ascii_word((uint8_t)c) : is_word_cp(c); }

size_t rk_text_next_word(const char *s, size_t n, size_t *pos, size_t *start, char *buf, size_t cap) {
    const uint8_t *p = (const uint8_t *)s;
    size_t i = *pos, len = 0;
    int32_t c;
    size_t l;
    while (i < n) { /* skip separators */
        l = next_cp(p + i, n - i, &c);
        if (word_cp(c)) break;
        i += l;
    }
    if (i >= n) {
        *pos = n;
        return 0;
    }
    *start = i;
    int full = 0; /* the buffer is full: the rest of the word is only skipped */
    while (i < n) {
        l = next_cp(p + i, n - i, &c);
        if (!word_cp(c)) break;
        if (!full) {
            uint8_t enc[4];
            size_t el = 1;
            if (c < 0x80)
                enc[0] = (uint8_t)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            else
                el = (size_t)utf8proc_encode_char(utf8proc_tolower(c), enc);
            if (len + el < cap) {
                memcpy(buf + len, enc, el);
                len += el;
            } else {
                full = 1;
            }
        }
        i += l;
    }
    buf[len] = '\0';
    *pos = i;
    return len;
}

size_t rk_text_count_words(const char *s, size_t n) {
    const uint8_t *p = (const uint8_t *)s;
    size_t count = 0;
    int in_word = 0;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) { /* an ASCII run: a word starts where a word byte follows another byte */
            size_t e = i + rk_ascii_prefix(s + i, n - i);
            unsigned starts = ascii_word(p[i]) && !in_word;
            for (size_t k = i + 1; k < e; k++)
                starts += ascii_word(p[k]) & ~ascii_word(p[k - 1]);
            count += starts;
            in_word = ascii_word(p[e - 1]);
            i = e;
            continue;
        }
        int32_t c;
        i += next_cp(p + i, n - i, &c);
        int w = word_cp(c);
        count += w && !in_word;
        in_word = w;
    }
    return count;
}

size_t rk_utf8_check(const char *s, size_t n, size_t *first_invalid) {
    const uint8_t *p = (const uint8_t *)s;
    size_t count = 0;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            i += rk_ascii_prefix(s + i, n - i);
            continue;
        }
        int32_t c;
        utf8proc_ssize_t len = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &c);
        if (len < 0) {
            if (count++ == 0 && first_invalid) *first_invalid = i;
            len = 1;
        }
        i += (size_t)len;
    }
    return count;
}

size_t rk_utf8_length(const char *s, size_t n) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += ((uint8_t)s[i] & 0xC0) != 0x80;
    return count;
}

size_t rk_ascii_prefix(const char *s, size_t n) {
    size_t i = 0;
    for (uint64_t w; i + 8 <= n; i += 8) { /* memcpy: s need not be aligned */
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ull) break;
    }
    while (i < n && (uint8_t)s[i] < 0x80)
        i++;
    return i;
}
