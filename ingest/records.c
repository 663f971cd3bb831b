/* records.c — documents from JSON and JSON Lines exports through jansson. */
#include "raftkit/records.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/json.h"

typedef struct walk {
    const char *uri;
    const char *place; /* "line" in a .jsonl file, "record" in a .json file */
    const char *text_path, *title_path, *id_path;
    rk_record_fn fn;
    void (*skip)(const char *msg, void *ctx);
    void *ctx;
} walk;

__attribute__((format(printf, 2, 3))) static void skipf(const walk *w, const char *fmt, ...) {
    if (!w->skip) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    w->skip(msg, w->ctx);
}

/* An array index: decimal digits only, so "01x" or "-1" name nothing. */
static int parse_index(const char *s, size_t len, size_t *out) {
    if (len == 0) return 0;
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        if (v > (SIZE_MAX - 9) / 10) return 0;
        v = 10 * v + (size_t)(s[i] - '0');
    }
    *out = v;
    return 1;
}

/* The value at a dotted path, or NULL when some step names nothing. */
static json_t *lookup(json_t *v, const char *path) {
    for (const char *p = path;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        size_t i;
        if (json_is_object(v))
            v = json_object_getn(v, p, len);
        else if (json_is_array(v) && parse_index(p, len, &i))
            v = json_array_get(v, i);
        else
            v = NULL;
        if (!v || !dot) return v;
        p = dot + 1;
    }
}

/* Fills doc from the text field; 0 when the field is unusable (reported). */
static int add_text(const walk *w, size_t at, json_t *rec, rk_parts *doc, rk_status *s, rk_error *err) {
    json_t *t = lookup(rec, w->text_path);
    if (json_is_string(t)) {
        *s = rk_parts_add(doc, "", 0, json_string_value(t), json_string_length(t), err);
        return 1;
    }
    if (!json_is_array(t)) {
        skipf(w, "%s: %s %zu: no string field '%s'", w->uri, w->place, at, w->text_path);
        return 0;
    }
    size_t i;
    json_t *e;
    json_array_foreach(t, i, e) {
        if (!json_is_string(e)) {
            skipf(w, "%s: %s %zu: field '%s' holds a non-string at index %zu", w->uri, w->place, at,
                  w->text_path, i);
            return 0;
        }
    }
    json_array_foreach(t, i, e) {
        *s = rk_parts_add(doc, "", 0, json_string_value(e), json_string_length(e), err);
        if (*s) break;
    }
    return 1;
}

/* The record's id into buf; 0 when the id field is unusable (reported). */
static int record_id(const walk *w, size_t at, size_t number, json_t *rec, char *buf, size_t cap,
                     const char **id) {
    if (!w->id_path) {
        snprintf(buf, cap, "%zu", number);
        *id = buf;
        return 1;
    }
    json_t *v = lookup(rec, w->id_path);
    if (json_is_string(v)) {
        *id = json_string_value(v);
        return 1;
    }
    if (json_is_integer(v)) {
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *id = buf;
        return 1;
    }
    skipf(w, "%s: %s %zu: no string or integer field '%s'", w->uri, w->place, at, w->id_path);
    return 0;
}

/* Hands one record to the callback. at is its line (.jsonl) or record
 * number (.json) for messages; number is its default id. */
static rk_status deliver(const walk *w, size_t at, size_t number, json_t *rec, rk_error *err) {
    if (!json_is_object(rec)) {
        skipf(w, "%s: %s %zu: not a JSON object", w->uri, w->place, at);
        return RK_OK;
    }
    char buf[32];
    const char *id;
    if (!record_id(w, at, number, rec, buf, sizeof buf, &id)) return RK_OK;
    rk_parts doc = {0};
    rk_status s = RK_OK;
    if (!add_text(w, at, rec, &doc, &s, err)) return RK_OK;
    json_t *title = w->title_path ? lookup(rec, w->title_path) : NULL;
    if (!s && json_is_string(title) && !(doc.title = strdup(json_string_value(title))))
        s = rk_fail(err, RK_ENOMEM, "out of memory");
    if (!s) s = w->fn(id, &doc, w->ctx, err);
    rk_parts_free(&doc);
    return s;
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

static rk_status read_jsonl(const walk *w, const char *data, size_t n, rk_error *err) {
    size_t line = 0, number = 0;
    for (size_t pos = 0; pos < n;) {
        const char *start = data + pos;
        const char *nl = memchr(start, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - start) : n - pos;
        pos += len + (nl != NULL);
        line++;
        if (is_blank(start, len)) continue;
        number++;
        json_error_t je;
        json_t *rec = json_loadb(start, len, JSON_DECODE_ANY, &je);
        if (!rec) {
            skipf(w, "%s: line %zu, column %d: %s", w->uri, line, je.column, je.text);
            continue;
        }
        rk_status s = deliver(w, line, number, rec, err);
        json_decref(rec);
        if (s) return s;
    }
    return RK_OK;
}

static rk_status read_json(const walk *w, const char *data, size_t n, rk_error *err) {
    json_t *root;
    rk_status s = rk_json_parse(data, n, w->uri, &root, err);
    if (s) return s;
    if (json_is_object(root)) {
        s = deliver(w, 1, 1, root, err);
    } else if (json_is_array(root)) {
        size_t i;
        json_t *rec;
        json_array_foreach(root, i, rec) {
            if ((s = deliver(w, i + 1, i + 1, rec, err))) break;
        }
    } else {
        s = rk_fail(err, RK_EFORMAT, "%s: not a JSON object or array of objects", w->uri);
    }
    json_decref(root);
    return s;
}

rk_status rk_records_read(const char *data, size_t n, int jsonl, const char *uri, const rk_record_fields *f,
                          rk_record_fn fn, void (*skip)(const char *msg, void *ctx), void *ctx,
                          rk_error *err) {
    walk w = {.uri = uri,
              .place = jsonl ? "line" : "record",
              .text_path = f && f->text ? f->text : "text",
              .title_path = f ? f->title : NULL,
              .id_path = f ? f->id : NULL,
              .fn = fn,
              .skip = skip,
              .ctx = ctx};
    /* Exports written on Windows often start with a byte order mark, which
     * jansson rejects. */
    if (n >= 3 && !memcmp(data, "\xef\xbb\xbf", 3)) {
        data += 3;
        n -= 3;
    }
    return jsonl ? read_jsonl(&w, data, n, err) : read_json(&w, data, n, err);
}
