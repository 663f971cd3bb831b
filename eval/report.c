/* report.c — `raft-eval report`: runs of raft-eval side by side, as one
 * self-contained HTML page and a Markdown summary (formats in evalrun.h). */
#define _GNU_SOURCE /* memmem */
#include "raftkit/report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "raftkit/buf.h"
#include "raftkit/cot.h"
#include "raftkit/file.h"
#include "raftkit/json.h"
#include "raftkit/rng.h"

#define DASH "\xe2\x80\x94" /* U+2014, shown where a value is null */

enum { RIGHT = 0, WRONG = 1 };

/* One line of predictions.jsonl: where it lies in the file, so that only
 * the sampled lines are parsed a second time (the documents make up most of
 * a line, and most lines are never shown). */
typedef struct pline {
    size_t off, len, lineno;
    int right;
} pline;

typedef struct run {
    const char *dir;
    char *mpath, *ppath; /* DIR/metrics.json, DIR/predictions.jsonl */
    json_t *m;           /* metrics.json; the strings below are borrowed from it */
    const char *name, *model, *adapter, *mode, *train_log;
    double n, missing, unknown, k;
    double em, em_ci[2], f1, f1_ci[2], tag, grounded, gr_ci[2], qoracle, aic, recall[3], mrr;
    char *ptext; /* predictions.jsonl, NULL when there is none */
    pline *lines;
    size_t nlines, count[2];
    size_t *pick[2], npick[2]; /* the sampled lines, in file order */
} run;

/* A training log and the runs whose model it trained. */
typedef struct curve {
    const char *given; /* metrics.json's "train_log" */
    char *path;        /* the file read; NULL when not found */
    const run **runs;  /* borrowed */
    size_t nruns;
    double *step, *loss; /* train loss by step */
    size_t n;
    double *estep, *eloss; /* eval loss by step, where logged */
    size_t ne;
} curve;

/* ---- text -------------------------------------------------------------------- */

static void puts_(rk_buf *b, const char *s) { rk_buf_put(b, s, strlen(s)); }

static void putf(rk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(rk_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *w = n > 0 ? rk_buf_reserve(b, (size_t)n) : NULL;
    if (!w) return;
    va_start(ap, fmt);
    vsnprintf(w, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

/* Text for HTML, in content and in attribute values alike. Control
 * characters other than tab and newlines are not allowed in an HTML document,
 * so they become U+FFFD rather than a parse error. */
static void put_html(rk_buf *b, const char *s, size_t n) {
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *rep = NULL;
        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) rep = "&#xFFFD;";
        }
        if (!rep) continue;
        rk_buf_put(b, s + from, i - from);
        puts_(b, rep);
        from = i + 1;
    }
    rk_buf_put(b, s + from, n - from);
}

static void put_htmls(rk_buf *b, const char *s) { put_html(b, s, strlen(s)); }

/* Text for a Markdown table cell or list item, on one line: whitespace runs
 * become one space, and the characters Markdown (or the HTML that GitHub lets
 * through) would read as syntax are escaped with a backslash, which
 * CommonMark allows before any ASCII punctuation. */
static void put_md(rk_buf *b, const char *s, size_t n) {
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            space = 1;
            continue;
        }
        if (space && b->n && b->p[b->n - 1] != ' ') rk_buf_put(b, " ", 1);
        space = 0;
        if (c && strchr("\\`*_[]<>|~&#!", c)) rk_buf_put(b, "\\", 1);
        rk_buf_put(b, &c, 1);
    }
}

static void put_mds(rk_buf *b, const char *s) { put_md(b, s, s ? strlen(s) : 0); }

/* Shares and losses are shown with one decimal; NaN stands for null. */
static void put_num(rk_buf *b, double v) {
    if (isnan(v))
        puts_(b, DASH);
    else
        putf(b, "%.1f", v);
}

/* "41.2 [37.0, 45.5]"; the interval is left out when null. */
static void put_ci(rk_buf *b, double v, const double ci[2], int html) {
    put_num(b, v);
    if (isnan(v) || isnan(ci[0]) || isnan(ci[1])) return;
    putf(b, html ? " <span class=\"ci\">[%.1f, %.1f]</span>" : " [%.1f, %.1f]", ci[0], ci[1]);
}

static size_t utf8_len(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* The first max characters of s (whole UTF-8 sequences), with an ellipsis
 * when cut; into out[size]. */
static const char *shorten(const char *s, size_t max, char *out, size_t size) {
    size_t i = 0, chars = 0;
    while (s[i] && chars < max) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    if (!s[i]) return s;
    if (i + 4 > size) i = 0;
    memcpy(out, s, i);
    memcpy(out + i, "\xe2\x80\xa6", 4); /* U+2026 and the NUL */
    return out;
}

/* ---- reading a run ------------------------------------------------------------ */

static rk_status get_num(const char *path, const json_t *o, const char *key, double *out, rk_error *err) {
    const json_t *v = json_object_get(o, key);
    *out = NAN;
    if (!v || json_is_null(v)) return RK_OK;
    if (!json_is_number(v)) return rk_fail(err, RK_EFORMAT, "%s: \"%s\" is not a number", path, key);
    *out = json_number_value(v);
    return RK_OK;
}

static rk_status get_ci(const char *path, const json_t *o, const char *key, double out[2], rk_error *err) {
    const json_t *v = json_object_get(o, key);
    out[0] = out[1] = NAN;
    if (!v || json_is_null(v)) return RK_OK;
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_number(json_array_get(v, 0)) ||
        !json_is_number(json_array_get(v, 1)))
        return rk_fail(err, RK_EFORMAT, "%s: \"%s\" is not a pair of numbers [lo, hi]", path, key);
    out[0] = json_number_value(json_array_get(v, 0));
    out[1] = json_number_value(json_array_get(v, 1));
    return RK_OK;
}

static rk_status get_str(const char *path, const json_t *o, const char *key, const char **out,
                         rk_error *err) {
    const json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v)) return RK_OK;
    if (!json_is_string(v)) return rk_fail(err, RK_EFORMAT, "%s: \"%s\" is not a string", path, key);
    *out = json_string_value(v);
    return RK_OK;
}

static rk_status read_metrics(run *r, rk_error *err) {
    char *text;
    size_t len;
    rk_status s = rk_file_read(r->mpath, &text, &len, err);
    if (s == RK_ENOTFOUND) {
        struct stat sb;
        if (stat(r->dir, &sb) != 0) return rk_fail(err, RK_ENOTFOUND, "%s: no such run directory", r->dir);
        return rk_fail(err, RK_ENOTFOUND, "%s: no metrics.json (not a raft-eval run directory)", r->dir);
    }
    if (s) return s;
    s = rk_json_parse(text, len, r->mpath, &r->m, err);
    free(text);
    if (s) return s;
    const char *path = r->mpath;
    const json_t *m = r->m;
    if (!json_is_object(m)) return rk_fail(err, RK_EFORMAT, "%s: not a JSON object", path);
    static const char *const CI[] = {"em_ci", "f1_ci", "grounded_ci"};
    double *ci[] = {r->em_ci, r->f1_ci, r->gr_ci};
    static const char *const NUM[] = {
        "n",        "missing",       "unknown_ids",       "k",  "em", "f1", "answer_tag",
        "grounded", "quotes_oracle", "answer_in_context", "mrr"};
    double *num[] = {&r->n,   &r->missing,  &r->unknown, &r->k,   &r->em, &r->f1,
                     &r->tag, &r->grounded, &r->qoracle, &r->aic, &r->mrr};
    static const char *const STR[] = {"name", "model", "adapter", "mode", "train_log"};
    const char **str[] = {&r->name, &r->model, &r->adapter, &r->mode, &r->train_log};
    for (size_t i = 0; !s && i < sizeof NUM / sizeof *NUM; i++)
        s = get_num(path, m, NUM[i], num[i], err);
    for (size_t i = 0; !s && i < sizeof CI / sizeof *CI; i++)
        s = get_ci(path, m, CI[i], ci[i], err);
    for (size_t i = 0; !s && i < sizeof STR / sizeof *STR; i++)
        s = get_str(path, m, STR[i], str[i], err);
    const json_t *rec = json_object_get(m, "recall");
    static const char *const AT[] = {"1", "5", "10"};
    r->recall[0] = r->recall[1] = r->recall[2] = NAN;
    if (!s && rec && !json_is_null(rec)) {
        if (!json_is_object(rec)) return rk_fail(err, RK_EFORMAT, "%s: \"recall\" is not an object", path);
        for (size_t i = 0; !s && i < 3; i++)
            if ((s = get_num(path, rec, AT[i], &r->recall[i], err))) rk_fail_prefix(err, "\"recall\"");
    }
    if (s) return s;
    /* A run is named by its label; a directory is the next best thing. */
    if (!r->name || !*r->name) r->name = r->dir;
    return RK_OK;
}

/* What is wrong with a parsed predictions line; NULL when it is one
 * raft-eval writes. */
static const char *check_pred(const json_t *j) {
    if (!json_is_object(j)) return "not a JSON object";
    static const char *const STR[] = {"id", "question", "output", "answer"};
    static const char *const WHY[] = {"\"id\" is not a string", "\"question\" is not a string",
                                      "\"output\" is not a string", "\"answer\" is not a string"};
    for (size_t i = 0; i < 4; i++)
        if (!json_is_string(json_object_get(j, STR[i]))) return WHY[i];
    const json_t *golds = json_object_get(j, "golds"), *v;
    size_t i;
    if (!json_is_array(golds)) return "\"golds\" is not an array";
    json_array_foreach(golds, i, v) {
        if (!json_is_string(v)) return "\"golds\" holds something other than strings";
    }
    if (!json_is_number(json_object_get(j, "em"))) return "\"em\" is not a number";
    if (!json_is_number(json_object_get(j, "f1"))) return "\"f1\" is not a number";
    const json_t *docs = json_object_get(j, "documents");
    if (!docs || json_is_null(docs)) return NULL;
    if (!json_is_array(docs)) return "\"documents\" is not an array";
    json_array_foreach(docs, i, v) {
        const json_t *title = json_object_get(v, "title"), *oracle = json_object_get(v, "oracle");
        if (!json_is_object(v) || !json_is_string(json_object_get(v, "text")))
            return "a document is not an object with a \"text\" string";
        if (title && !json_is_null(title) && !json_is_string(title))
            return "a document's \"title\" is not a string";
        if (oracle && !json_is_boolean(oracle)) return "a document's \"oracle\" is not true or false";
    }
    return NULL;
}

static rk_status read_predictions(run *r, rk_error *err) {
    size_t len;
    rk_status s = rk_file_read(r->ppath, &r->ptext, &len, err);
    if (s == RK_ENOTFOUND) return RK_OK; /* the table needs only metrics.json */
    if (s) return s;
    size_t cap = 0, lineno = 0;
    for (char *p = r->ptext; p < r->ptext + len;) {
        char *nl = memchr(p, '\n', (size_t)(r->ptext + len - p)), *end = nl ? nl : r->ptext + len;
        lineno++;
        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q < end) {
            char what[4200];
            snprintf(what, sizeof what, "%s:%zu", r->ppath, lineno);
            json_t *j;
            if ((s = rk_json_parse(p, (size_t)(end - p), what, &j, err))) return s;
            const char *bad = check_pred(j);
            int right = !bad && json_number_value(json_object_get(j, "em")) == 1.0;
            json_decref(j);
            if (bad) return rk_fail(err, RK_EFORMAT, "%s: %s", what, bad);
            if (r->nlines == cap) {
                cap = cap ? 2 * cap : 256;
                pline *nl2 = realloc(r->lines, cap * sizeof *nl2);
                if (!nl2) return rk_fail(err, RK_ENOMEM, "%s: out of memory", r->ppath);
                r->lines = nl2;
            }
            r->lines[r->nlines++] = (pline){(size_t)(p - r->ptext), (size_t)(end - p), lineno, right};
            r->count[right ? RIGHT : WRONG]++;
        }
        p = end + 1;
    }
    return RK_OK;
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* k right and k wrong answers drawn without replacement. The draw depends on
 * the seed and the run's own lines only, so a run shows the same examples
 * whatever runs it is reported beside. */
static rk_status pick_samples(run *r, size_t k, uint64_t seed, rk_error *err) {
    for (int c = RIGHT; c <= WRONG; c++) {
        size_t n = r->count[c];
        if (!n) continue;
        size_t *all = malloc(n * sizeof *all);
        if (!all) return rk_fail(err, RK_ENOMEM, "out of memory");
        for (size_t i = 0, j = 0; i < r->nlines; i++)
            if (r->lines[i].right == (c == RIGHT)) all[j++] = i;
        size_t take = k < n ? k : n;
        uint64_t st = rk_rng_derive(seed, (uint64_t)c);
        for (size_t i = 0; i < take; i++) { /* the first steps of a Fisher-Yates shuffle */
            size_t j = i + rk_rng_below(&st, n - i), t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        qsort(all, take, sizeof *all, cmp_size);
        r->pick[c] = all;
        r->npick[c] = take;
    }
    return RK_OK;
}

static void run_free(run *r) {
    free(r->mpath);
    free(r->ppath);
    json_decref(r->m);
    free(r->ptext);
    free(r->lines);
    free(r->pick[0]);
    free(r->pick[1]);
}

/* ---- training logs --------------------------------------------------------------- */

static int push2(double **xs, double **ys, size_t *n, double x, double y) {
    /* Grows by doubling: the count is a power of two exactly when full. */
    if ((*n & (*n - 1)) == 0) {
        size_t cap = *n ? 2 * *n : 1;
        double *nx = realloc(*xs, cap * sizeof *nx);
        if (!nx) return -1;
        *xs = nx;
        double *ny = realloc(*ys, cap * sizeof *ny);
        if (!ny) return -1;
        *ys = ny;
    }
    (*xs)[*n] = x;
    (*ys)[*n] = y;
    (*n)++;
    return 0;
}

/* Reads the log a run names: as given (relative to where raft-eval runs),
 * else relative to the run directory, since a run directory may have been
 * moved together with what it points to. Not finding it is not an error: the
 * page says so. */
static rk_status read_curve(curve *c, const char *run_dir, rk_error *err) {
    char *text = NULL;
    size_t len;
    char *path = strdup(c->given);
    if (!path) return rk_fail(err, RK_ENOMEM, "out of memory");
    rk_status s = rk_file_read(path, &text, &len, err);
    if (s == RK_ENOTFOUND && c->given[0] != '/') {
        free(path);
        if (!(path = rk_path_join(run_dir, c->given))) return rk_fail(err, RK_ENOMEM, "out of memory");
        s = rk_file_read(path, &text, &len, err);
    }
    if (s == RK_ENOTFOUND) {
        free(path);
        return RK_OK;
    }
    if (s) {
        free(path);
        return s;
    }
    c->path = path;
    size_t lineno = 0;
    for (char *p = text; !s && p < text + len;) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p)), *end = nl ? nl : text + len;
        lineno++;
        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q < end) {
            char what[4200];
            snprintf(what, sizeof what, "%s:%zu", path, lineno);
            json_t *j;
            /* The trainer appends a line a step; a kill in the middle of a
             * write leaves the last line cut short, which its --resume drops
             * too. */
            if (!nl && !(j = json_loadb(p, (size_t)(end - p), 0, NULL))) break;
            if (!nl) json_decref(j);
            if (!(s = rk_json_parse(p, (size_t)(end - p), what, &j, err))) {
                const json_t *step = json_object_get(j, "step"), *loss = json_object_get(j, "loss"),
                             *eval = json_object_get(j, "eval_loss");
                if (!json_is_object(j))
                    s = rk_fail(err, RK_EFORMAT, "%s: not a JSON object", what);
                else if (json_is_number(step)) {
                    double x = json_number_value(step);
                    /* A loss that is not a number (null) has no point. */
                    if ((json_is_number(loss) &&
                         push2(&c->step, &c->loss, &c->n, x, json_number_value(loss))) ||
                        (json_is_number(eval) &&
                         push2(&c->estep, &c->eloss, &c->ne, x, json_number_value(eval))))
                        s = rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
                }
                json_decref(j);
            }
        }
        p = end + 1;
    }
    free(text);
    return s;
}

static void curve_free(curve *c) {
    free(c->path);
    free(c->runs);
    free(c->step);
    free(c->loss);
    free(c->estep);
    free(c->eloss);
}

/* ---- charts -------------------------------------------------------------------- */

static const char *const COLOR[] = {"#4e79a7", "#f28e2b", "#59a14f"};

/* A round step for about `target` ticks over range (1, 2 or 5 times a power
 * of ten; whole when the axis counts, as steps do), and the axis bounds it
 * gives around [lo, hi]. */
static void axis(double lo, double hi, int target, int whole, double *a, double *b, double *step) {
    if (!(hi > lo)) {
        double pad = whole || fabs(lo) < 1e-12 ? 1.0 : fabs(lo) * 0.1;
        lo -= pad;
        hi += pad;
    }
    double raw = (hi - lo) / target, p = pow(10, floor(log10(raw))), f = raw / p;
    *step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
    if (whole && *step < 1) *step = 1;
    *a = floor(lo / *step + 1e-9) * *step;
    *b = ceil(hi / *step - 1e-9) * *step;
}

static int decimals(double step) {
    int d = (int)-floor(log10(step) + 1e-9);
    return d > 0 ? d : 0;
}

static void bar(rk_buf *b, const run *r, const char *what, int color, double v, const double ci[2], double x,
                double w, double y0, double h) {
    if (isnan(v)) {
        putf(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"na\" text-anchor=\"middle\">n/a</text>\n", x + w / 2,
             y0 - 4);
        return;
    }
    double cv = v < 0 ? 0 : v > 100 ? 100 : v, top = y0 - h * cv / 100, lab = top;
    putf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>", x, top, w,
         y0 - top, COLOR[color]);
    put_htmls(b, r->name);
    putf(b, " \xe2\x80\x94 %s ", what);
    put_ci(b, v, ci, 0);
    puts_(b, "</title></rect>\n");
    if (!isnan(ci[0]) && !isnan(ci[1])) {
        double lo = y0 - h * fmax(0, fmin(100, ci[0])) / 100, hi = y0 - h * fmax(0, fmin(100, ci[1])) / 100;
        double cx = x + w / 2;
        putf(b,
             "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\" stroke=\"#24292f\" "
             "stroke-width=\"1.2\" "
             "fill=\"none\"/>\n",
             cx, lo, hi, cx - 4, lo, cx + 4, cx - 4, hi, cx + 4);
        lab = fmin(lab, hi);
    }
    putf(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"val\" text-anchor=\"middle\">%.1f</text>\n", x + w / 2,
         lab - 4, v);
}

/* EM, F1 and grounded per run, grouped by run, on a 0..100 scale. */
static void bar_chart(rk_buf *b, const run *runs, size_t n) {
    const double R = 20, T = 44, B = 110, bw = 24, gap = 4, group = 3 * bw + 2 * gap + 34, h = 260;
    enum { LABEL = 26 }; /* characters of a run's name under its bars */
    /* The first run's slanted name reaches left of its bars: room for it, at
     * about 7 px a character. */
    char label[128];
    double L = fmax(58, 0.87 * 7 * (double)utf8_len(shorten(runs[0].name, LABEL, label, sizeof label)) - 50);
    double W = L + R + group * (double)n;
    if (W < 560) W = 560;
    double H = T + h + B, y0 = T + h;
    putf(
        b,
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
        "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"EM, F1 and grounded per run, percent, with 95%% "
        "intervals\">\n",
        W, H, W, H);
    for (int t = 0; t <= 100; t += 20) {
        double y = y0 - h * t / 100.0;
        putf(b,
             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
             "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%d</text>\n",
             L, y, W - R, y, t ? "#eaeef2" : "#57606a", L - 6, y + 4, t);
    }
    putf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#57606a\"/>\n", L, T, L, y0);
    putf(b,
         "<text transform=\"translate(%.1f %.1f) rotate(-90)\" class=\"axis\" text-anchor=\"middle\">percent "
         "(error bars: 95%% interval)</text>\n",
         L - 40, T + h / 2);
    static const char *const WHAT[] = {"EM", "F1", "grounded"};
    for (int k = 0; k < 3; k++) {
        double x = L + 8 + k * 110;
        putf(b,
             "<rect x=\"%.1f\" y=\"14\" width=\"12\" height=\"12\" fill=\"%s\"/>"
             "<text x=\"%.1f\" y=\"24\" class=\"legend\">%s</text>\n",
             x, COLOR[k], x + 18, WHAT[k]);
    }
    for (size_t i = 0; i < n; i++) {
        const run *r = &runs[i];
        double gx = L + 17 + group * (double)i;
        double v[3] = {r->em, r->f1, r->grounded};
        const double *ci[3] = {r->em_ci, r->f1_ci, r->gr_ci};
        for (int k = 0; k < 3; k++)
            bar(b, r, WHAT[k], k, v[k], ci[k], gx + k * (bw + gap), bw, y0, h);
        double cx = gx + (3 * bw + 2 * gap) / 2;
        putf(b,
             "<text transform=\"translate(%.1f %.1f) rotate(-30)\" class=\"label\" text-anchor=\"end\">"
             "<title>",
             cx + 4, y0 + 16);
        put_htmls(b, r->name);
        puts_(b, "</title>");
        put_htmls(b, shorten(r->name, LABEL, label, sizeof label));
        puts_(b, "</text>\n");
    }
    puts_(b, "</svg>\n");
}

static void polyline(rk_buf *b, const double *xs, const double *ys, size_t n, double ax, double bx, double ay,
                     double by, double L, double T, double w, double h, const char *color, int dashed) {
    if (n > 1) {
        putf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color,
             dashed ? " stroke-dasharray=\"5 3\"" : "");
        for (size_t i = 0; i < n; i++)
            putf(b, "%s%.1f,%.1f", i ? " " : "", L + w * (xs[i] - ax) / (bx - ax),
                 T + h * (by - ys[i]) / (by - ay));
        puts_(b, "\"/>\n");
    }
    /* Points too where they are few (eval loss, or a one-step log). */
    if (dashed || n == 1)
        for (size_t i = 0; i < n; i++)
            putf(b,
                 "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>step %g: "
                 "%.3f</title></circle>\n",
                 L + w * (xs[i] - ax) / (bx - ax), T + h * (by - ys[i]) / (by - ay), color, xs[i], ys[i]);
}

/* Training loss and eval loss by step. */
static void line_chart(rk_buf *b, const curve *c) {
    const double L = 62, R = 24, T = 40, B = 52, w = 700, h = 260, W = L + w + R, H = T + h + B;
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (size_t i = 0; i < c->n; i++) {
        xlo = fmin(xlo, c->step[i]), xhi = fmax(xhi, c->step[i]);
        ylo = fmin(ylo, c->loss[i]), yhi = fmax(yhi, c->loss[i]);
    }
    for (size_t i = 0; i < c->ne; i++) {
        xlo = fmin(xlo, c->estep[i]), xhi = fmax(xhi, c->estep[i]);
        ylo = fmin(ylo, c->eloss[i]), yhi = fmax(yhi, c->eloss[i]);
    }
    double ax, bx, sx, ay, by, sy;
    axis(xlo, xhi, 8, 1, &ax, &bx, &sx);
    axis(ylo, yhi, 5, 0, &ay, &by, &sy);
    putf(b,
         "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
         "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"training and eval loss by step\">\n",
         W, H, W, H);
    int dy = decimals(sy), dx = decimals(sx);
    for (long i = 0, m = lround((by - ay) / sy); i <= m; i++) {
        double t = ay + (double)i * sy, y = T + h * (by - t) / (by - ay);
        putf(b,
             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
             "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%.*f</text>\n",
             L, y, L + w, y, i ? "#eaeef2" : "#57606a", L - 6, y + 4, dy, t);
    }
    for (long i = 0, m = lround((bx - ax) / sx); i <= m; i++) {
        double t = ax + (double)i * sx, x = L + w * (t - ax) / (bx - ax);
        putf(b,
             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#57606a\"/>"
             "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">%.*f</text>\n",
             x, T + h, x, T + h + 5, x, T + h + 19, dx, t);
    }
    putf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#57606a\"/>\n", L, T, L, T + h);
    putf(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"axis\" text-anchor=\"middle\">step</text>\n", L + w / 2,
         H - 10);
    putf(b,
         "<text transform=\"translate(16 %.1f) rotate(-90)\" class=\"axis\" "
         "text-anchor=\"middle\">loss</text>\n",
         T + h / 2);
    polyline(b, c->step, c->loss, c->n, ax, bx, ay, by, L, T, w, h, COLOR[0], 0);
    polyline(b, c->estep, c->eloss, c->ne, ax, bx, ay, by, L, T, w, h, COLOR[1], 1);
    putf(b,
         "<line x1=\"%.1f\" y1=\"18\" x2=\"%.1f\" y2=\"18\" stroke=\"%s\" stroke-width=\"2\"/>"
         "<text x=\"%.1f\" y=\"22\" class=\"legend\">training loss</text>\n",
         L + 8, L + 32, COLOR[0], L + 38);
    putf(b,
         "<line x1=\"%.1f\" y1=\"18\" x2=\"%.1f\" y2=\"18\" stroke=\"%s\" stroke-width=\"2\" "
         "stroke-dasharray=\"5 3\"/><circle cx=\"%.1f\" cy=\"18\" r=\"3.5\" fill=\"%s\"/>"
         "<text x=\"%.1f\" y=\"22\" class=\"legend\">eval loss</text>\n",
         L + 158, L + 182, COLOR[1], L + 170, COLOR[1], L + 188);
    puts_(b, "</svg>\n");
}

/* ---- the page ------------------------------------------------------------------- */

static const char CSS[] =
    ":root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--ok:#1a7f37;--bad:#cf222e}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;color:var(--fg);background:#fff;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,"
    "'Helvetica Neue',Arial,sans-serif}\n"
    "main{max-width:1360px;margin:0 auto;padding:28px 28px 64px}\n"
    "h1{font-size:26px;margin:0 0 2px}\n"
    "h2{font-size:20px;margin:40px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}\n"
    "h3{font-size:16px;margin:26px 0 8px}\n"
    "h4{font-size:14px;margin:16px 0 6px;color:var(--muted);font-weight:600}\n"
    ".muted{color:var(--muted)}\n"
    ".scroll{overflow-x:auto}\n"
    "table{border-collapse:collapse;font-size:13px;width:100%}\n"
    "th,td{padding:7px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}\n"
    "th{background:var(--soft);font-weight:600;vertical-align:bottom}\n"
    "th.num,td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "td.num{white-space:nowrap}\n"
    "td.run{min-width:10em}\n"
    "td.model{min-width:10em;max-width:15em;overflow-wrap:anywhere}\n"
    "tbody tr:nth-child(even){background:#fafbfc}\n"
    "td .sub{display:block;color:var(--muted);font-size:12px;overflow-wrap:anywhere}\n"
    ".ci{display:block;color:var(--muted);font-size:11.5px}\n"
    "svg.chart{display:block;max-width:100%;height:auto;margin:8px 0 16px}\n"
    "svg text{font-family:inherit;fill:#1f2328}\n"
    "svg .tick,svg .val,svg .na{font-size:11px;fill:#59636e}\n"
    "svg .axis,svg .legend,svg .label{font-size:12.5px}\n"
    ".note{background:#fff8c5;border:1px solid #d4a72c66;padding:8px 12px;border-radius:6px;margin:8px 0}\n"
    ".sample{border:1px solid var(--line);border-left:4px solid var(--ok);border-radius:6px;padding:10px "
    "14px;"
    "margin:10px 0}\n"
    ".sample.wrong{border-left-color:var(--bad)}\n"
    ".sample header{display:flex;flex-wrap:wrap;gap:8px;align-items:center;font-size:13px}\n"
    ".id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--muted)}\n"
    ".badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;"
    "background:var(--soft);border:1px solid var(--line)}\n"
    ".badge.ok{background:#dafbe1;color:var(--ok);border-color:#aceebb}\n"
    ".badge.bad{background:#ffebe9;color:var(--bad);border-color:#ffcecb}\n"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:8px 0}\n"
    "dt{color:var(--muted)}\n"
    "dd{margin:0;min-width:0}\n"
    ".gold{display:inline-block;background:var(--soft);border:1px solid var(--line);border-radius:4px;"
    "padding:0 6px;margin:0 4px 2px 0}\n"
    "pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--soft);padding:8px "
    "10px;border-radius:6px;"
    "margin:4px 0;font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}\n"
    "mark.quote{background:#fff1a8;border-radius:2px}\n"
    ".qm{color:#9a6700;font-size:11px}\n"
    ".tag{color:#0969da;font-weight:700}\n"
    "details{margin-top:6px}\n"
    "summary{cursor:pointer;color:var(--muted);font-size:13px}\n"
    ".doc{margin:8px 0}\n"
    ".doc .head{font-size:12.5px;color:var(--muted)}\n"
    ".doc.oracle pre{border-left:3px solid var(--ok)}\n";

static void put_model(rk_buf *b, const run *r, int html) {
    const char *model = r->model ? r->model : DASH;
    if (html)
        put_htmls(b, model);
    else
        put_mds(b, model);
    if (!r->adapter) return;
    if (html) {
        puts_(b, "<span class=\"sub\">+ ");
        put_htmls(b, r->adapter);
        puts_(b, "</span>");
    } else {
        puts_(b, " + ");
        put_mds(b, r->adapter);
    }
}

static void put_mode(rk_buf *b, const run *r, int html) {
    const char *mode = r->mode ? r->mode : DASH;
    if (html)
        put_htmls(b, mode);
    else
        put_mds(b, mode);
    if (!isnan(r->k)) putf(b, " (k=%.0f)", r->k);
}

static void put_count(rk_buf *b, double v) {
    if (isnan(v))
        puts_(b, DASH);
    else
        putf(b, "%.0f", v);
}

/* MRR is 0..1, where one decimal would hide most differences. */
static void put_mrr(rk_buf *b, double v) {
    if (isnan(v))
        puts_(b, DASH);
    else
        putf(b, "%.3f", v);
}

static const char *const HEAD[] = {"Run",           "Model",
                                   "Mode",          "n",
                                   "EM [95% CI]",   "F1 [95% CI]",
                                   "Answer tag",    "Grounded [95% CI]",
                                   "Quotes oracle", "Answer in context",
                                   "Recall@1",      "Recall@5",
                                   "Recall@10",     "MRR"};
#define NHEAD (sizeof HEAD / sizeof *HEAD)

/* A run's figures, the table's columns from EM on, each cell opened by
 * the format's separator. */
static void put_figures(rk_buf *b, const run *r, int html) {
    const char *sep = html ? "</td><td class=\"num\">" : " | ";
    puts_(b, sep), put_ci(b, r->em, r->em_ci, html);
    puts_(b, sep), put_ci(b, r->f1, r->f1_ci, html);
    puts_(b, sep), put_num(b, r->tag);
    puts_(b, sep), put_ci(b, r->grounded, r->gr_ci, html);
    puts_(b, sep), put_num(b, r->qoracle);
    puts_(b, sep), put_num(b, r->aic);
    for (int k = 0; k < 3; k++)
        puts_(b, sep), put_num(b, r->recall[k]);
    puts_(b, sep), put_mrr(b, r->mrr);
}

static void html_table(rk_buf *b, const run *runs, size_t n) {
    puts_(b, "<div class=\"scroll\"><table id=\"runs\">\n<thead><tr>");
    for (size_t i = 0; i < NHEAD; i++) {
        /* "EM [95% CI]" breaks before its interval, as the cells below do. */
        const char *ci = strstr(HEAD[i], " [");
        int n0 = ci ? (int)(ci - HEAD[i]) : (int)strlen(HEAD[i]);
        putf(b, "<th%s>%.*s%s%s</th>", i < 3 ? "" : " class=\"num\"", n0, HEAD[i], ci ? "<br>" : "",
             ci ? ci + 1 : "");
    }
    puts_(b, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < n; i++) {
        const run *r = &runs[i];
        puts_(b, "<tr><td class=\"run\"><strong>");
        put_htmls(b, r->name);
        puts_(b, "</strong><span class=\"sub\">");
        put_htmls(b, r->dir);
        puts_(b, "</span></td><td class=\"model\">");
        put_model(b, r, 1);
        puts_(b, "</td><td>");
        put_mode(b, r, 1);
        puts_(b, "</td><td class=\"num\">");
        put_count(b, r->n);
        if (r->missing > 0) putf(b, "<span class=\"sub\">%.0f missing</span>", r->missing);
        if (r->unknown > 0) putf(b, "<span class=\"sub\">%.0f unknown ids</span>", r->unknown);
        put_figures(b, r, 1);
        puts_(b, "</td></tr>\n");
    }
    puts_(b, "</tbody>\n</table></div>\n");
}

/* Output text with "<ANSWER>:" picked out. */
static void put_tagged(rk_buf *b, const char *s, size_t n) {
    const size_t tl = strlen(RK_COT_ANSWER);
    while (n) {
        const char *t = memmem(s, n, RK_COT_ANSWER, tl);
        size_t upto = t ? (size_t)(t - s) : n;
        put_html(b, s, upto);
        if (!t) return;
        puts_(b, "<span class=\"tag\">");
        put_html(b, t, tl);
        puts_(b, "</span>");
        s = t + tl;
        n -= upto + tl;
    }
}

/* The model's output with its ##begin_quote##...##end_quote## spans marked;
 * the markers stay, dimmed, so the text reads as the model wrote it. An
 * unclosed quote is marked to the end. */
static void put_output(rk_buf *b, const char *s, size_t n) {
    const size_t bl = strlen(RK_COT_BEGIN_QUOTE), el = strlen(RK_COT_END_QUOTE);
    while (n) {
        const char *q = memmem(s, n, RK_COT_BEGIN_QUOTE, bl);
        if (!q) {
            put_tagged(b, s, n);
            return;
        }
        put_tagged(b, s, (size_t)(q - s));
        n -= (size_t)(q - s) + bl;
        s = q + bl;
        const char *e = memmem(s, n, RK_COT_END_QUOTE, el);
        size_t in = e ? (size_t)(e - s) : n;
        puts_(b, "<span class=\"qm\">" RK_COT_BEGIN_QUOTE "</span><mark class=\"quote\">");
        put_html(b, s, in);
        puts_(b, "</mark>");
        if (e) puts_(b, "<span class=\"qm\">" RK_COT_END_QUOTE "</span>");
        s += in + (e ? el : 0);
        n -= in + (e ? el : 0);
    }
}

static void put_jstr(rk_buf *b, const json_t *v) { put_html(b, json_string_value(v), json_string_length(v)); }

static void html_sample(rk_buf *b, const json_t *j, int right) {
    double em = json_number_value(json_object_get(j, "em")), f1 = json_number_value(json_object_get(j, "f1"));
    putf(b, "<article class=\"sample %s\"><header><span class=\"id\">", right ? "right" : "wrong");
    put_jstr(b, json_object_get(j, "id"));
    putf(b, "</span><span class=\"badge %s\">EM %.0f</span><span class=\"badge\">F1 %.1f</span>",
         right ? "ok" : "bad", em, 100 * f1);
    const json_t *rank = json_object_get(j, "rank"), *aic = json_object_get(j, "answer_in_context");
    if (json_is_number(rank)) putf(b, "<span class=\"badge\">oracle rank %g</span>", json_number_value(rank));
    if (json_is_boolean(aic))
        putf(b, "<span class=\"badge\">gold %s the documents</span>", json_is_true(aic) ? "in" : "not in");
    puts_(b, "</header>\n<dl><dt>Question</dt><dd>");
    put_jstr(b, json_object_get(j, "question"));
    puts_(b, "</dd><dt>Gold</dt><dd>");
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(j, "golds"), i, v) {
        puts_(b, "<span class=\"gold\">");
        put_jstr(b, v);
        puts_(b, "</span>");
    }
    puts_(b, "</dd><dt>Answer</dt><dd><strong>");
    put_jstr(b, json_object_get(j, "answer"));
    puts_(b, "</strong></dd></dl>\n<div class=\"muted\">Output</div><pre class=\"output\">");
    const json_t *out = json_object_get(j, "output");
    put_output(b, json_string_value(out), json_string_length(out));
    puts_(b, "</pre>\n");
    const json_t *docs = json_object_get(j, "documents");
    size_t nd = json_is_array(docs) ? json_array_size(docs) : 0;
    if (nd) {
        putf(b, "<details><summary>Documents (%zu)</summary>\n", nd);
        json_array_foreach(docs, i, v) {
            const json_t *title = json_object_get(v, "title"), *id = json_object_get(v, "chunk_id");
            int oracle = json_is_true(json_object_get(v, "oracle"));
            putf(b, "<div class=\"doc%s\"><div class=\"head\">%zu. ", oracle ? " oracle" : "", i + 1);
            if (json_is_string(title))
                put_jstr(b, title);
            else
                puts_(b, "(untitled)");
            if (json_is_integer(id)) putf(b, " \xc2\xb7 chunk %lld", (long long)json_integer_value(id));
            if (oracle) puts_(b, " <span class=\"badge ok\">oracle</span>");
            puts_(b, "</div><pre>");
            put_jstr(b, json_object_get(v, "text"));
            puts_(b, "</pre></div>\n");
        }
        puts_(b, "</details>\n");
    }
    puts_(b, "</article>\n");
}

/* The sampled line i of a run, parsed again (it parsed the first time). */
static json_t *sample_json(const run *r, size_t i) {
    const pline *l = &r->lines[i];
    json_t *j;
    return rk_json_parse(r->ptext + l->off, l->len, r->ppath, &j, NULL) ? NULL : j;
}

static void html_samples(rk_buf *b, const run *r) {
    puts_(b, "<h3>");
    put_htmls(b, r->name);
    puts_(b, "</h3>\n");
    if (!r->ptext) {
        puts_(b, "<p class=\"note\">No predictions.jsonl in ");
        put_htmls(b, r->dir);
        puts_(b, ".</p>\n");
        return;
    }
    static const char *const TITLE[] = {"Right", "Wrong"};
    for (int c = RIGHT; c <= WRONG; c++) {
        putf(b, "<h4>%s answers <span class=\"muted\">(%zu of %zu)</span></h4>\n", TITLE[c], r->npick[c],
             r->count[c]);
        for (size_t i = 0; i < r->npick[c]; i++) {
            json_t *j = sample_json(r, r->pick[c][i]);
            if (!j) {
                b->oom = 1; /* it parsed before: only memory can fail now */
                return;
            }
            html_sample(b, j, c == RIGHT);
            json_decref(j);
        }
    }
}

static void html_curves(rk_buf *b, const curve *cs, size_t nc, const run *runs, size_t n) {
    size_t without = 0;
    for (size_t i = 0; i < n; i++)
        without += !runs[i].train_log;
    if (!nc) {
        puts_(b, "<p class=\"note\">No run names a training log (\"train_log\" is null in every "
                 "metrics.json).</p>\n");
        return;
    }
    for (size_t i = 0; i < nc; i++) {
        const curve *c = &cs[i];
        puts_(b, "<h3>");
        for (size_t k = 0; k < c->nruns; k++) {
            if (k) puts_(b, ", ");
            put_htmls(b, c->runs[k]->name);
        }
        puts_(b, "</h3>\n<p class=\"muted\">");
        put_htmls(b, c->path ? c->path : c->given);
        puts_(b, "</p>\n");
        if (!c->path) {
            puts_(b, "<p class=\"note\">Training log not found: ");
            put_htmls(b, c->given);
            puts_(b, "</p>\n");
        } else if (!c->n && !c->ne)
            puts_(b, "<p class=\"note\">The training log holds no loss.</p>\n");
        else
            line_chart(b, c);
    }
    if (without) {
        puts_(b, "<p class=\"muted\">No training log for ");
        for (size_t i = 0, k = 0; i < n; i++) {
            if (runs[i].train_log) continue;
            if (k++) puts_(b, ", ");
            put_htmls(b, runs[i].name);
        }
        puts_(b, " (\"train_log\" is null).</p>\n");
    }
}

static void html_page(rk_buf *b, const run *runs, size_t n, const curve *cs, size_t nc) {
    puts_(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
             /* Nothing is fetched: a stray reference is blocked, and shows in
              * the console, instead of loading. */
             "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
             "style-src 'unsafe-inline'; img-src data:\">\n"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
             "<title>raft-eval report</title>\n<style>\n");
    puts_(b, CSS);
    puts_(b, "</style>\n</head>\n<body>\n<main>\n<h1>raft-eval report</h1>\n");
    putf(b,
         "<p class=\"muted\">%zu run%s \xc2\xb7 shares in percent with 95%% bootstrap intervals \xc2\xb7 "
         "written by "
         "raftkit %s</p>\n",
         n, n == 1 ? "" : "s", RK_VERSION);
    puts_(b, "<h2>Runs</h2>\n");
    html_table(b, runs, n);
    puts_(b, "<h2>Accuracy and grounding</h2>\n");
    bar_chart(b, runs, n);
    puts_(b, "<h2>Training</h2>\n");
    html_curves(b, cs, nc, runs, n);
    puts_(b, "<h2>Answers</h2>\n");
    for (size_t i = 0; i < n; i++)
        html_samples(b, &runs[i]);
    puts_(b, "</main>\n</body>\n</html>\n");
}

/* ---- Markdown --------------------------------------------------------------------- */

static void md_table(rk_buf *b, const run *runs, size_t n) {
    puts_(b, "|");
    for (size_t i = 0; i < NHEAD; i++)
        putf(b, " %s |", HEAD[i]);
    puts_(b, "\n|");
    for (size_t i = 0; i < NHEAD; i++)
        puts_(b, i < 3 ? "---|" : "---:|");
    puts_(b, "\n");
    for (size_t i = 0; i < n; i++) {
        const run *r = &runs[i];
        puts_(b, "| ");
        put_mds(b, r->name);
        puts_(b, " | ");
        put_model(b, r, 0);
        puts_(b, " | ");
        put_mode(b, r, 0);
        puts_(b, " | ");
        put_count(b, r->n);
        put_figures(b, r, 0);
        puts_(b, " |\n");
    }
}

static void md_jstr(rk_buf *b, const json_t *v) { put_md(b, json_string_value(v), json_string_length(v)); }

static void md_samples(rk_buf *b, const run *r) {
    puts_(b, "### ");
    put_mds(b, r->name);
    puts_(b, "\n\n");
    if (!r->ptext) {
        puts_(b, "No predictions.jsonl.\n\n");
        return;
    }
    static const char *const TITLE[] = {"Right", "Wrong"};
    for (int c = RIGHT; c <= WRONG; c++) {
        putf(b, "%s answers (%zu of %zu):%s\n", TITLE[c], r->npick[c], r->count[c],
             r->npick[c] ? "\n" : " none.\n");
        if (!r->npick[c]) continue;
        for (size_t i = 0; i < r->npick[c]; i++) {
            json_t *j = sample_json(r, r->pick[c][i]);
            if (!j) {
                b->oom = 1;
                return;
            }
            puts_(b, "- ");
            md_jstr(b, json_object_get(j, "id"));
            putf(b, " \xe2\x80\x94 EM %.0f, F1 %.1f\n  - Question: ",
                 json_number_value(json_object_get(j, "em")),
                 100 * json_number_value(json_object_get(j, "f1")));
            md_jstr(b, json_object_get(j, "question"));
            puts_(b, "\n  - Gold: ");
            size_t k;
            const json_t *g;
            json_array_foreach(json_object_get(j, "golds"), k, g) {
                if (k) puts_(b, " \xc2\xb7 ");
                md_jstr(b, g);
            }
            puts_(b, "\n  - Answer: ");
            md_jstr(b, json_object_get(j, "answer"));
            puts_(b, "\n");
            json_decref(j);
        }
        puts_(b, "\n");
    }
}

static void md_page(rk_buf *b, const run *runs, size_t n) {
    putf(b, "# raft-eval report\n\n%zu run%s; shares in percent with 95%% bootstrap intervals.\n\n", n,
         n == 1 ? "" : "s");
    md_table(b, runs, n);
    puts_(b, "\n## Answers\n\n");
    for (size_t i = 0; i < n; i++)
        md_samples(b, &runs[i]);
}

/* ---- writing ------------------------------------------------------------------------ */

static rk_status write_out(const char *dir, const char *name, const rk_buf *b, rk_error *err) {
    if (b->oom) return rk_fail(err, RK_ENOMEM, "%s/%s: out of memory", dir, name);
    char *path = rk_path_join(dir, name);
    if (!path) return rk_fail(err, RK_ENOMEM, "out of memory");
    rk_status s = rk_file_write_atomic(path, b->p ? b->p : "", b->n, err);
    free(path);
    return s;
}

rk_status rk_report_write(const char *const *run_dirs, size_t n, const char *out_dir, const rk_report_opts *o,
                          rk_error *err) {
    if (!n) return rk_fail(err, RK_EINVAL, "no run directory given");
    size_t k = o && o->samples ? o->samples : 3;
    uint64_t seed = o ? o->seed : 0;
    run *runs = calloc(n, sizeof *runs);
    curve *cs = calloc(n, sizeof *cs);
    size_t nc = 0;
    rk_status s = RK_OK;
    if (!runs || !cs) s = rk_fail(err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; !s && i < n; i++) {
        run *r = &runs[i];
        r->dir = run_dirs[i];
        if (!(r->mpath = rk_path_join(r->dir, "metrics.json")) ||
            !(r->ppath = rk_path_join(r->dir, "predictions.jsonl")))
            s = rk_fail(err, RK_ENOMEM, "out of memory");
        else if (!(s = read_metrics(r, err)) && !(s = read_predictions(r, err)))
            s = pick_samples(r, k, seed, err);
    }
    /* One chart per log, however many runs were evaluated from its model. */
    for (size_t i = 0; !s && i < n; i++) {
        const run *r = &runs[i];
        if (!r->train_log) continue;
        size_t c = 0;
        while (c < nc && strcmp(cs[c].given, r->train_log))
            c++;
        if (c == nc) {
            cs[nc].given = r->train_log;
            if (!(cs[nc].runs = malloc(n * sizeof *cs[nc].runs))) {
                s = rk_fail(err, RK_ENOMEM, "out of memory");
                break;
            }
            nc++;
            s = read_curve(&cs[c], r->dir, err);
        }
        cs[c].runs[cs[c].nruns++] = r;
    }
    rk_buf html = {0}, md = {0};
    if (!s) {
        html_page(&html, runs, n, cs, nc);
        md_page(&md, runs, n);
        if (!(s = rk_mkdir_p(out_dir, err)) && !(s = write_out(out_dir, "report.html", &html, err)))
            s = write_out(out_dir, "report.md", &md, err);
    }
    free(html.p);
    free(md.p);
    for (size_t i = 0; runs && i < n; i++)
        run_free(&runs[i]);
    for (size_t i = 0; i < nc; i++)
        curve_free(&cs[i]);
    free(runs);
    free(cs);
    return s;
}
