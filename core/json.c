/* json.c — jansson helpers shared by every stage. */
#include "raftkit/json.h"

#include <stdlib.h>

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

int rk_json_print_line(FILE *f, const json_t *v) {
    if (json_dumpf(v, f, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) != 0) return -1;
    return fputc('\n', f) == EOF ? -1 : 0;
}

char *rk_json_text(const json_t *v) {
    return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}
