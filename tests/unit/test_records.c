/* Unit tests for ingest/records.c: documents from JSON and JSON Lines
 * exports, fields named by dotted paths. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/records.h"

/* What a walk delivered: one log line per record ("ID|TITLE|[part][part]")
 * and one per skip message. */
typedef struct seen {
    FILE *records, *skips;
    int delivered, stop_after; /* stop_after: fail on that record (0: never) */
} seen;

static rk_status on_record(const char *id, rk_parts *doc, void *ctx, rk_error *err) {
    seen *s = ctx;
    fprintf(s->records, "%s|%s|", id, doc->title ? doc->title : "(none)");
    for (size_t i = 0; i < doc->n; i++) {
        cr_assert_str_eq(doc->v[i].title, "");
        cr_assert_eq(doc->v[i].page, 0);
        fprintf(s->records, "[%s]", doc->v[i].text);
    }
    fputc('\n', s->records);
    if (++s->delivered == s->stop_after) return rk_fail(err, RK_EIO, "stopped at %s", id);
    return RK_OK;
}

static void on_skip(const char *msg, void *ctx) { fprintf(((seen *)ctx)->skips, "%s\n", msg); }

typedef struct walk_result {
    rk_status status;
    rk_error err;
    char *records, *skips;
} walk_result;

static walk_result walk(const char *data, int jsonl, const rk_record_fields *f, int stop_after) {
    walk_result r = {0};
    size_t n_records, n_skips;
    seen s = {.records = open_memstream(&r.records, &n_records),
              .skips = open_memstream(&r.skips, &n_skips),
              .stop_after = stop_after};
    r.status = rk_records_read(data, strlen(data), jsonl, jsonl ? "x.jsonl" : "x.json", f, on_record, on_skip,
                               &s, &r.err);
    fclose(s.records);
    fclose(s.skips);
    return r;
}

static void walk_free(walk_result *r) {
    free(r->records);
    free(r->skips);
}

static const char NESTED[] =
    "{\"meta\":{\"id\":\"a-1\",\"title\":\"Tides\",\"authors\":[{\"name\":\"Ada\"},{\"name\":\"Bo\"}]},"
    "\"body\":{\"text\":\"High water  at noon.\\n\\tcaf\\u00e9 \"}}\n"
    "{\"meta\":{\"id\":\"a-2\",\"authors\":[]},\"body\":{\"text\":\"Second\"}}\n";

Test(records, nested_fields_by_dotted_paths_and_text_kept_exactly) {
    rk_record_fields f = {.text = "body.text", .title = "meta.title", .id = "meta.id"};
    walk_result r = walk(NESTED, 1, &f, 0);
    cr_assert_eq(r.status, RK_OK, "%s", r.err.msg);
    cr_assert_str_eq(r.records, "a-1|Tides|[High water  at noon.\n\tcaf\xc3\xa9 ]\na-2|(none)|[Second]\n");
    cr_assert_str_eq(r.skips, "");
    walk_free(&r);
}

Test(records, array_indexes_in_paths) {
    rk_record_fields f = {.text = "body.text", .title = "meta.authors.1.name", .id = "meta.id"};
    walk_result r = walk(NESTED, 1, &f, 0);
    cr_assert_str_eq(r.records, "a-1|Bo|[High water  at noon.\n\tcaf\xc3\xa9 ]\na-2|(none)|[Second]\n");
    walk_free(&r);

    /* Only decimal indexes step into arrays; an index is no key of an object. */
    static const char *const misses[] = {
        "meta.authors.x.name", "meta.authors.-1.name", "meta.authors.2.name", "meta.0",
        "meta.title.0",        "meta..title",          "meta.title."};
    for (size_t i = 0; i < sizeof misses / sizeof *misses; i++) {
        f.title = misses[i];
        r = walk(NESTED, 1, &f, 0);
        cr_assert_str_eq(r.records,
                         "a-1|(none)|[High water  at noon.\n\tcaf\xc3\xa9 ]\na-2|(none)|[Second]\n", "%s",
                         misses[i]);
        walk_free(&r);
    }

    rk_record_fields g = {.text = "paras.1", .title = "0"};
    r = walk("{\"paras\":[\"first\",\"second\"],\"0\":\"key zero\"}", 1, &g, 0);
    cr_assert_str_eq(r.records, "1|key zero|[second]\n");
    walk_free(&r);
}

Test(records, a_text_array_becomes_one_part_per_string) {
    walk_result r = walk("{\"text\":[\"one\",\"two\",\"  \\n\",\"three\"]}\n"
                         "{\"text\":[\"fine\",3,\"also fine\"]}\n"
                         "{\"text\":[]}\n",
                         1, NULL, 0);
    cr_assert_eq(r.status, RK_OK, "%s", r.err.msg);
    cr_assert_str_eq(r.records, "1|(none)|[one][two][three]\n3|(none)|\n", "blank strings give no part");
    cr_assert_str_eq(r.skips, "x.jsonl: line 2: field 'text' holds a non-string at index 1\n");
    walk_free(&r);
}

Test(records, unusable_lines_are_skipped_by_line_number) {
    const char *data = "{\"text\":\"first\"}\n"
                       "\n"
                       "{\"text\": \"broken\",}\n"
                       "{\"body\":\"no text\"}\r\n"
                       "{\"text\": 42}\n"
                       "[\"text\",\"an array\"]\n"
                       "   \t\r\n"
                       "{\"text\":\"last\"}";
    walk_result r = walk(data, 1, NULL, 0);
    cr_assert_eq(r.status, RK_OK, "%s", r.err.msg);
    /* Default ids count records, not blank lines; skipped records count. */
    cr_assert_str_eq(r.records, "1|(none)|[first]\n6|(none)|[last]\n");
    const char *syntax = "x.jsonl: line 3, column 19: ";
    cr_assert(!strncmp(r.skips, syntax, strlen(syntax)), "%s", r.skips);
    const char *rest = strchr(r.skips, '\n');
    cr_assert_str_eq(rest, "\nx.jsonl: line 4: no string field 'text'\n"
                           "x.jsonl: line 5: no string field 'text'\n"
                           "x.jsonl: line 6: not a JSON object\n");
    walk_free(&r);
}

Test(records, ids_are_strings_or_integers) {
    rk_record_fields f = {.id = "n"};
    walk_result r = walk("{\"n\":17,\"text\":\"a\"}\n"
                         "{\"n\":-3,\"text\":\"b\"}\n"
                         "{\"n\":\"s-1\",\"text\":\"c\"}\n"
                         "{\"n\":1.5,\"text\":\"d\"}\n"
                         "{\"text\":\"e\"}\n"
                         "{\"n\":9223372036854775807,\"text\":\"f\"}\n",
                         1, &f, 0);
    cr_assert_str_eq(r.records,
                     "17|(none)|[a]\n-3|(none)|[b]\ns-1|(none)|[c]\n9223372036854775807|(none)|[f]\n");
    cr_assert_str_eq(r.skips, "x.jsonl: line 4: no string or integer field 'n'\n"
                              "x.jsonl: line 5: no string or integer field 'n'\n");
    walk_free(&r);
}

Test(records, a_json_array_or_single_object) {
    rk_record_fields f = {.title = "t"};
    walk_result r =
        walk("[{\"text\":\"a\",\"t\":\"A\"},\n 5,\n {\"text\":\"b\",\"t\":7},\n {\"x\":1}]", 0, &f, 0);
    cr_assert_eq(r.status, RK_OK, "%s", r.err.msg);
    cr_assert_str_eq(r.records, "1|A|[a]\n3|(none)|[b]\n", "a title that is no string is no title");
    cr_assert_str_eq(r.skips,
                     "x.json: record 2: not a JSON object\nx.json: record 4: no string field 'text'\n");
    walk_free(&r);

    r = walk("\xef\xbb\xbf{\"text\":\"only\",\"t\":\"One\"}\n", 0, &f, 0);
    cr_assert_eq(r.status, RK_OK, "%s", r.err.msg);
    cr_assert_str_eq(r.records, "1|One|[only]\n", "a byte order mark is skipped");
    walk_free(&r);

    r = walk("\"just a string\"", 0, &f, 0);
    cr_assert_eq(r.status, RK_EFORMAT);
    cr_assert_str_eq(r.err.msg, "x.json: not a JSON object or array of objects");
    walk_free(&r);
}

Test(records, a_broken_json_file_fails_whole_naming_line_and_column) {
    walk_result r = walk("[\n  {\"text\": \"a\"},\n  {\"text\" \"b\"}\n]\n", 0, NULL, 0);
    cr_assert_eq(r.status, RK_EFORMAT);
    /* jansson places the error at the last character of the offending token. */
    const char *where = "x.json: line 3, column 13: ";
    cr_assert(!strncmp(r.err.msg, where, strlen(where)), "%s", r.err.msg);
    cr_assert_str_eq(r.records, "", "nothing is delivered from a file that does not parse");
    walk_free(&r);
}

Test(records, a_callback_error_stops_the_walk) {
    const char *lines = "{\"text\":\"a\"}\n{\"text\":\"b\"}\n{\"text\":\"c\"}\n";
    walk_result r = walk(lines, 1, NULL, 2);
    cr_assert_eq(r.status, RK_EIO);
    cr_assert_str_eq(r.err.msg, "stopped at 2");
    cr_assert_str_eq(r.records, "1|(none)|[a]\n2|(none)|[b]\n");
    walk_free(&r);

    r = walk("[{\"text\":\"a\"},{\"text\":\"b\"},{\"text\":\"c\"}]", 0, NULL, 1);
    cr_assert_eq(r.status, RK_EIO);
    cr_assert_str_eq(r.records, "1|(none)|[a]\n");
    walk_free(&r);
}

static rk_status on_big(const char *id, rk_parts *doc, void *ctx, rk_error *err) {
    (void)err;
    size_t *lens = ctx;
    cr_assert_eq(doc->n, 1);
    lens[strcmp(id, "big") ? 1 : 0] = doc->v[0].len;
    cr_assert_eq(strspn(doc->v[0].text, "x"), doc->v[0].len);
    return RK_OK;
}

Test(records, a_three_megabyte_line) {
    const size_t big = 3u << 20;
    const char *head = "{\"id\":\"big\",\"text\":\"", *tail = "\"}\n{\"id\":\"small\",\"text\":\"xxx\"}\n";
    size_t n = strlen(head) + big + strlen(tail);
    char *data = malloc(n);
    memcpy(data, head, strlen(head));
    memset(data + strlen(head), 'x', big);
    memcpy(data + strlen(head) + big, tail, strlen(tail));
    size_t lens[2] = {0};
    rk_record_fields f = {.id = "id"};
    rk_error e = {0};
    cr_assert_eq(rk_records_read(data, n, 1, "big.jsonl", &f, on_big, NULL, lens, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(lens[0], big);
    cr_assert_eq(lens[1], 3);
    free(data);
}
