/* Unit tests for core/: status, json, hash. */
#include <criterion/criterion.h>
#include <string.h>

#include "raftkit/hash.h"
#include "raftkit/json.h"
#include "raftkit/status.h"

Test(status, fail_sets_code_and_message) {
    rk_error e = {0};
    cr_assert_eq(rk_fail(&e, RK_EIO, "%s: %s", "docs/a.md", "gone"), RK_EIO);
    cr_assert_eq(e.code, RK_EIO);
    cr_assert_str_eq(e.msg, "docs/a.md: gone");
    cr_assert_eq(rk_fail_prefix(&e, "batch %d", 3), RK_EIO);
    cr_assert_str_eq(e.msg, "batch 3: docs/a.md: gone");
    cr_assert_eq(rk_fail(NULL, RK_EDB, "x"), RK_EDB, "a NULL record is allowed");
}

Test(status, prefix_truncates_at_the_end_not_the_start) {
    rk_error e = {0};
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    rk_fail(&e, RK_EFORMAT, "%s", big);
    rk_fail_prefix(&e, "file.txt");
    cr_assert_eq(strncmp(e.msg, "file.txt: xxx", 13), 0);
    cr_assert_eq(strlen(e.msg), sizeof e.msg - 1);
}

Test(status, every_code_has_a_description) {
    for (int s = RK_OK; s <= RK_ENET; s++)
        cr_assert_str_neq(rk_strerror((rk_status)s), "unknown status");
}

Test(json, parse_error_names_input_line_and_column) {
    rk_error e = {0};
    json_t *v = NULL;
    const char *text = "{\"a\": 1,\n \"b\": }";
    cr_assert_eq(rk_json_parse(text, strlen(text), "cfg.json", &v, &e), RK_EFORMAT);
    cr_assert_null(v);
    cr_assert(strstr(e.msg, "cfg.json: line 2, column"), "%s", e.msg);
}

Test(json, integers_beyond_64_bits_read_as_reals) {
    /* as in every tokenizer_config.json transformers writes */
    const char *text = "{\"model_max_length\": 1000000000000000019884624838656, \"eos_token\": \"</s>\"}";
    json_t *v;
    rk_error e = {0};
    cr_assert_eq(rk_json_parse(text, strlen(text), "tokenizer_config.json", &v, &e), RK_OK, "%s", e.msg);
    cr_assert_float_eq(json_real_value(json_object_get(v, "model_max_length")), 1e30, 1e16);
    cr_assert_str_eq(json_string_value(json_object_get(v, "eos_token")), "</s>");
    json_decref(v);
}

/* JSON Lines: blank lines (spaces, tabs, CRLF) are skipped but counted, a
 * last line without a newline is read, and a bad line is named by place. */
Test(json, lines_are_read_one_record_at_a_time) {
    const char *text = "{\"n\": 1}\r\n\n \t\r\n[2]\n  \n\"three\"";
    rk_jsonl r;
    rk_jsonl_init(&r, "data.jsonl", text, strlen(text));
    rk_error e = {0};
    json_t *v;
    cr_assert_eq(rk_jsonl_next(&r, &v, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(json_integer_value(json_object_get(v, "n")), 1);
    cr_assert_str_eq(r.where, "data.jsonl:1");
    json_decref(v);
    cr_assert_eq(rk_jsonl_next(&r, &v, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(json_integer_value(json_array_get(v, 0)), 2);
    cr_assert_eq(r.line, 4);
    json_decref(v);
    cr_assert_eq(rk_jsonl_next(&r, &v, &e), RK_OK, "%s", e.msg);
    cr_assert_str_eq(json_string_value(v), "three");
    cr_assert_str_eq(r.where, "data.jsonl:6");
    json_decref(v);
    cr_assert_eq(rk_jsonl_next(&r, &v, &e), RK_OK);
    cr_assert_null(v, "the end");
    cr_assert_eq(rk_jsonl_next(&r, &v, &e), RK_OK);
    cr_assert_null(v, "still the end");

    const char *bad = "{}\n{\"a\": }\n{}\n";
    rk_jsonl_init(&r, "bad.jsonl", bad, strlen(bad));
    cr_assert_eq(rk_jsonl_next(&r, &v, &e), RK_OK);
    json_decref(v);
    cr_assert_eq(rk_jsonl_next(&r, &v, &e), RK_EFORMAT);
    cr_assert_null(v);
    cr_assert(strstr(e.msg, "bad.jsonl:2: line 1, column"), "%s", e.msg);
}

Test(json, print_line_is_compact_and_ordered) {
    json_t *v = json_pack("{sisssb}", "z", 1, "a", "x", "m", 1);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    cr_assert_eq(rk_json_print_line(f, v), 0);
    fclose(f);
    cr_assert_str_eq(buf, "{\"z\":1,\"a\":\"x\",\"m\":true}\n");
    free(buf);
    json_decref(v);
}

Test(hash, matches_xxh3_reference_values) {
    /* XXH3_64bits("") = 0x2D06800538D394C2 (xxHash's own test vectors). */
    cr_assert_eq(rk_hash64_of("", 0, 0), 0x2D06800538D394C2ULL);
    rk_hash128 a = rk_hash128_of("chunk text", 10), b = rk_hash128_of("chunk text", 10),
               c = rk_hash128_of("chunk texT", 10);
    cr_assert(rk_hash128_equal(a, b));
    cr_assert(!rk_hash128_equal(a, c));
    char hex[33];
    rk_hash128_hex(a, hex);
    cr_assert_eq(strlen(hex), 32);
}
