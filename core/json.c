/* json.c — jansson helpers shared by every stage. */
#include "raftkit/json.h"

#include <stdlib.h>
#include <string.h>

rk_status rk_json_parse(const char *text, size_t n, const char *what, json_t **out, rk_error *err) {
    json_error_t je;
    json_t *v = json_loadb(text, n, JSON_DECODE_ANY, &je);
    /* Hugging Face's tokenizer_config.json writes model_max_length as 1e30
     * spelled out in digits; such a document is read with its integers as
     * reals rather than refused. */
    if (!v && json_error_code(&je) == json_error_numeric_overflow)
        v = json_loadb(text, n, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &je);
    if (!v) return rk_fail(err, RK_EFORMAT, "%s: line %d, column %d: %s", what, je.line, je.column, je.text);
    *out = v;
    return RK_OK;
}

void rk_jsonl_init(rk_jsonl *r, const char *path, const char *text, size_t len) {
    *r = (rk_jsonl){.path = path, .at = text, .end = text + len};
}

rk_status rk_jsonl_next(rk_jsonl *r, json_t **out, rk_error *err) {
    *out = NULL;
    while (r->at < r->end) {
        const char *p = r->at, *nl = memchr(p, '\n', (size_t)(r->end - p)), *eol = nl ? nl : r->end;
        r->at = eol + (nl != NULL);
        r->line++;
        const char *q = p;
        while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q == eol) continue;
        snprintf(r->where, sizeof r->where, "%s:%zu", r->path, r->line);
        return rk_json_parse(p, (size_t)(eol - p), r->where, out, err);
    }
    return RK_OK;
}

int rk_json_print_line(FILE *f, const json_t *v) {
    if (json_dumpf(v, f, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) != 0) return -1;
    return fputc('\n', f) == EOF ? -1 : 0;
}

char *rk_json_text(const json_t *v) {
    return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}
