/* metrics.c — answer scoring as the official SQuAD v1.1 script computes it,
 * with Python's str semantics reproduced code point for code point, and
 * percentile bootstrap intervals.
 *
 * The script's normalize_answer runs, on a Python 3 str:
 *   lower        str.lower(): full Unicode lower-casing with Final_Sigma;
 *   remove_punc  drops the 32 characters of string.punctuation (ASCII only);
 *   remove_articles  re.sub(r'\b(a|an|the)\b', ' ', ...): a match needs a
 *                word boundary on both sides, so it is exactly a maximal run
 *                of word characters (str.isalnum() or '_') spelling a, an or
 *                the, and each such run becomes one space;
 *   white_space_fix  ' '.join(text.split()), split on str.isspace().
 * We run the same steps over an array of code points. The character
 * properties come from utf8proc; where Python's definition is not a
 * utf8proc property (Cased, Case_Ignorable, isspace) it is rebuilt from
 * utf8proc's categories and bidi classes plus the few code points PropList.txt
 * and WordBreakProperty.txt add. tests/parity/make_squad.py checks every code
 * point against Python.
 *
 * Invalid UTF-8 (which a Python str cannot hold): each byte that does not
 * start a valid sequence is one unit of its own, kept as it is in the output,
 * and counts as neither a word character, nor whitespace, nor cased, nor
 * case-ignorable. So it splits words (it is a \b boundary) but not tokens. */
#define _GNU_SOURCE /* memmem */
#include "raftkit/metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "raftkit/rng.h"

/* A unit of text: a code point (>= 0) or, negated minus one, a byte that is
 * not valid UTF-8. */
typedef int32_t unit;
#define RAW(b) (-1 - (unit)(b))

static int is_ascii_punct(unit c) {
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
           (c >= 0x7B && c <= 0x7E);
}

/* str.isalnum() or '_': what \w and so \b mean for a str pattern. Python's
 * isalnum is isalpha (categories L*) or isdecimal, isdigit or isnumeric,
 * which cover exactly the N* categories; combining marks are not in it. */
static int is_word(unit c) {
    if (c < 0) return 0;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return 1;
    default: return c == '_';
    }
}

/* str.isspace(): the ASCII separators \t..\r and \x1c..\x1f plus space, and
 * beyond ASCII category Zs or bidi class B, S or WS (so U+0085, U+2028 and
 * U+2029 too, which are not Zs). */
static int is_space(unit c) {
    if (c < 0) return 0;
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
    if (utf8proc_category(c) == UTF8PROC_CATEGORY_ZS) return 1;
    switch (utf8proc_get_property(c)->bidi_class) {
    case UTF8PROC_BIDI_CLASS_B:
    case UTF8PROC_BIDI_CLASS_S:
    case UTF8PROC_BIDI_CLASS_WS: return 1;
    default: return 0;
    }
}

/* Unicode's Case_Ignorable: categories Mn, Me, Cf, Lm, Sk, and the code
 * points whose Word_Break is MidLetter, MidNumLet or Single_Quote. */
static int case_ignorable(unit c) {
    if (c < 0) return 0;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK: return 1;
    default: break;
    }
    switch (c) {
    case 0x0027:
    case 0x002E:
    case 0x003A:
    case 0x00B7:
    case 0x0387:
    case 0x055F:
    case 0x05F4:
    case 0x2018:
    case 0x2019:
    case 0x2024:
    case 0x2027:
    case 0xFE13:
    case 0xFE52:
    case 0xFE55:
    case 0xFF07:
    case 0xFF0E:
    case 0xFF1A: return 1;
    default: return 0;
    }
}

/* Unicode's Cased (Lowercase, Uppercase or Lt), asked only of code points
 * that are not case-ignorable: categories Lu, Ll, Lt and the
 * Other_Lowercase / Other_Uppercase code points of PropList.txt that are not
 * Lm or Mn (those are case-ignorable, which the sigma rule tests first). */
static int cased(unit c) {
    if (c < 0) return 0;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT: return 1;
    default: break;
    }
    return c == 0xAA || c == 0xBA || (c >= 0x2160 && c <= 0x217F) || (c >= 0x24B6 && c <= 0x24E9) ||
           (c >= 0x1F130 && c <= 0x1F149) || (c >= 0x1F150 && c <= 0x1F169) || (c >= 0x1F170 && c <= 0x1F189);
}

/* Python's handle_capital_sigma: U+03A3 lowers to final U+03C2 when a cased
 * letter comes before it and none after, case-ignorable code points skipped
 * on both sides. */
static unit lower_sigma(const unit *u, size_t n, size_t i) {
    size_t j = i;
    while (j > 0 && case_ignorable(u[j - 1]))
        j--;
    int final = j > 0 && cased(u[j - 1]);
    if (final) {
        for (j = i + 1; j < n && case_ignorable(u[j]); j++)
            ;
        final = j == n || !cased(u[j]);
    }
    return final ? 0x3C2 : 0x3C3;
}

/* str.lower() of u[i] in its context, written to out; returns how many code
 * points. U+0130 is the one unconditional full lower-casing in
 * SpecialCasing.txt (to i and a combining dot), which Python applies and
 * utf8proc's simple mapping does not. */
static size_t lower_at(const unit *u, size_t n, size_t i, unit *out) {
    unit c = u[i];
    if (c < 0) {
        out[0] = c;
        return 1;
    }
    if (c == 0x130) {
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = c == 0x3A3 ? lower_sigma(u, n, i) : utf8proc_tolower(c);
    return 1;
}

/* Decodes s[0..n) into u (room for n units); returns the count. */
static size_t decode(const char *s, size_t n, unit *u) {
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
        if (l > 0) {
            u[m++] = c;
            i += (size_t)l;
        } else {
            u[m++] = RAW((unsigned char)s[i]);
            i++;
        }
    }
    return m;
}

static int is_article(const unit *w, size_t len) {
    return (len == 1 && w[0] == 'a') || (len == 2 && w[0] == 'a' && w[1] == 'n') ||
           (len == 3 && w[0] == 't' && w[1] == 'h' && w[2] == 'e');
}

void rk_squad_normalize(const char *s, size_t n, rk_buf *out) {
    /* u holds the decoded text, v the lowered one (U+0130 doubles). */
    unit *u = n < SIZE_MAX / (3 * sizeof *u) ? malloc((3 * n + 1) * sizeof *u) : NULL;
    if (!u) {
        out->oom = 1;
        return;
    }
    unit *v = u + n;
    size_t m = decode(s, n, u), k = 0;
    unit low[2];
    for (size_t i = 0; i < m; i++) {
        size_t l = lower_at(u, m, i, low);
        for (size_t j = 0; j < l; j++)
            if (!is_ascii_punct(low[j])) v[k++] = low[j];
    }
    /* Articles, in place: a run never grows. */
    size_t w = 0;
    for (size_t i = 0; i < k;) {
        if (!is_word(v[i])) {
            v[w++] = v[i++];
            continue;
        }
        size_t j = i;
        while (j < k && is_word(v[j]))
            j++;
        if (is_article(v + i, j - i)) {
            v[w++] = ' ';
        } else {
            memmove(v + w, v + i, (j - i) * sizeof *v);
            w += j - i;
        }
        i = j;
    }
    char *o = rk_buf_reserve(out, 4 * w);
    if (o) {
        size_t at = 0;
        int gap = 0;
        for (size_t i = 0; i < w; i++) {
            if (is_space(v[i])) {
                gap = at > 0;
                continue;
            }
            if (gap) o[at++] = ' ';
            gap = 0;
            if (v[i] < 0)
                o[at++] = (char)(-1 - v[i]);
            else
                at += (size_t)utf8proc_encode_char(v[i], (utf8proc_uint8_t *)o + at);
        }
        out->n += at;
        out->p[out->n] = 0;
    }
    free(u);
}

/* A normalized answer and its tokens, sorted so that the multiset
 * intersection of two is one merge. */
typedef struct tok {
    const char *p;
    size_t n;
} tok;

typedef struct toks {
    rk_buf text;
    tok *v;
    size_t n;
} toks;

static int tok_cmp(const void *a, const void *b) {
    const tok *x = a, *y = b;
    int r = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
    return r ? r : (x->n > y->n) - (x->n < y->n);
}

/* 0, or -1 when memory is out. */
static int toks_make(toks *t, const char *s) {
    memset(t, 0, sizeof *t);
    rk_squad_normalize(s, strlen(s), &t->text);
    if (t->text.oom) return -1;
    const char *p = t->text.p, *end = p + t->text.n;
    size_t cap = 0;
    for (const char *q = p; q < end; q++)
        cap += *q == ' ';
    t->v = malloc((cap + 1) * sizeof *t->v);
    if (!t->v) return -1;
    while (p < end) {
        const char *q = memchr(p, ' ', (size_t)(end - p));
        if (!q) q = end;
        t->v[t->n++] = (tok){p, (size_t)(q - p)};
        p = q + 1;
    }
    qsort(t->v, t->n, sizeof *t->v, tok_cmp);
    return 0;
}

static void toks_free(toks *t) {
    free(t->text.p);
    free(t->v);
}

static int em_of(const toks *a, const toks *b) {
    return a->text.n == b->text.n && (!a->text.n || !memcmp(a->text.p, b->text.p, a->text.n));
}

/* f1_score's arithmetic, operation for operation, so the double is the one
 * Python prints. */
static double f1_of(const toks *p, const toks *g) {
    size_t same = 0;
    for (size_t i = 0, j = 0; i < p->n && j < g->n;) {
        int r = tok_cmp(p->v + i, g->v + j);
        if (r < 0) {
            i++;
        } else if (r > 0) {
            j++;
        } else {
            same++, i++, j++;
        }
    }
    if (!same) return 0;
    double precision = 1.0 * (double)same / (double)p->n;
    double recall = 1.0 * (double)same / (double)g->n;
    return (2 * precision * recall) / (precision + recall);
}

int rk_squad_em(const char *pred, const char *gold) {
    int em;
    double f1;
    rk_squad_score(pred, &gold, 1, &em, &f1);
    return em;
}

double rk_squad_f1(const char *pred, const char *gold) {
    int em;
    double f1;
    rk_squad_score(pred, &gold, 1, &em, &f1);
    return f1;
}

void rk_squad_score(const char *pred, const char *const *golds, size_t ngolds, int *em, double *f1) {
    *em = 0;
    *f1 = 0;
    if (!ngolds) return;
    toks p;
    if (toks_make(&p, pred)) goto done;
    for (size_t i = 0; i < ngolds; i++) {
        toks g;
        if (!toks_make(&g, golds[i])) {
            if (em_of(&p, &g)) *em = 1;
            double f = f1_of(&p, &g);
            if (f > *f1) *f1 = f;
        }
        toks_free(&g);
    }
done:
    toks_free(&p);
}

int rk_squad_contains(const char *text, size_t n, const char *gold) {
    rk_buf t = {0}, g = {0};
    rk_buf_put(&t, " ", 1);
    rk_squad_normalize(text, n, &t);
    rk_buf_put(&t, " ", 1);
    rk_buf_put(&g, " ", 1);
    rk_squad_normalize(gold, strlen(gold), &g);
    rk_buf_put(&g, " ", 1);
    int found = !t.oom && !g.oom && g.n > 2 && memmem(t.p, t.n, g.p, g.n);
    free(t.p);
    free(g.p);
    return found;
}

static int dbl_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.quantile's default ('linear') on sorted a[0..n): the virtual index
 * (n-1)*q, and numpy's _lerp, which interpolates from the upper neighbour
 * when the weight is at least one half. */
static double quantile(const double *a, size_t n, double q) {
    double v = (double)(n - 1) * q;
    if (v >= (double)(n - 1)) return a[n - 1];
    size_t i = (size_t)floor(v);
    double t = v - (double)i, d = a[i + 1] - a[i];
    return t >= 0.5 ? a[i + 1] - d * (1 - t) : a[i] + d * t;
}

void rk_bootstrap_ci(const double *x, size_t n, int B, double level, uint64_t seed, double *lo, double *hi) {
    *lo = *hi = 0;
    if (!n) return;
    if (B < 1) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += x[i];
        *lo = *hi = s / (double)n;
        return;
    }
    double *means = malloc((size_t)B * sizeof *means);
    if (!means) {
        *lo = *hi = NAN;
        return;
    }
    uint64_t state = seed;
    int nan = 0;
    for (int b = 0; b < B; b++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += x[rk_rng_below(&state, n)];
        means[b] = s / (double)n;
        nan |= isnan(means[b]);
    }
    if (nan) {
        /* numpy's answer too: a NaN sorts last and poisons every quantile. */
        *lo = *hi = NAN;
    } else {
        qsort(means, (size_t)B, sizeof *means, dbl_cmp);
        level = fmax(0, fmin(1, level));
        double qlo = (1 - level) / 2, qhi = (1 + level) / 2;
        *lo = quantile(means, (size_t)B, qlo);
        *hi = quantile(means, (size_t)B, qhi);
    }
    free(means);
}
