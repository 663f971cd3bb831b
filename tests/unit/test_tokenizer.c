/* Unit tests for model/tokenizer.c: the ids and decodes of the Python
 * `tokenizers` library on tokenizers it trained (tests/parity/
 * make_tokenizers.py writes them and what the library made of the texts),
 * one per family (gpt2, llama3, qwen2, smollm, llama2, mistral); added
 * tokens; bos/eos from tokenizer_config.json; both merge encodings;
 * ignore_merges; bytes that are not UTF-8; BPE against a plain reference
 * loop; every refusal of a file; and the speed on 1 MB of English. */
#include "helpers.h" /* first: it defines _GNU_SOURCE */

#include <jansson.h>
#include <stdint.h>

#include "raftkit/tokenizer.h"

#define FIXTURES RK_SOURCE_DIR "/tests/parity/fixtures/tokenizers"

static const char *const FAMILIES[] = {"gpt2", "llama3", "qwen2", "smollm", "llama2", "mistral"};
#define N_FAMILIES (sizeof FAMILIES / sizeof *FAMILIES)

/* ---- helpers ---- */

static char *fixture_path(const char *family, const char *file) {
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s%s%s", FIXTURES, family, file ? "/" : "", file ? file : "") > 0);
    return p;
}

static json_t *load_json(const char *path) {
    json_error_t je;
    json_t *v = json_load_file(path, JSON_ALLOW_NUL, &je);
    cr_assert_not_null(v, "%s: line %d: %s", path, je.line, je.text);
    return v;
}

static rk_tokenizer *load_ok(const char *path) {
    rk_tokenizer *t = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_tok_load(path, &t, &e), RK_OK, "%s", e.msg);
    cr_assert_not_null(t);
    return t;
}

static rk_tokenizer *load_family(const char *family) {
    char *dir = fixture_path(family, NULL);
    rk_tokenizer *t = load_ok(dir);
    free(dir);
    return t;
}

static rk_ids encode(const rk_tokenizer *t, const char *s, size_t n) {
    rk_ids ids = {0};
    rk_error e = {0};
    cr_assert_eq(rk_tok_encode(t, s, n, &ids, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(ids.oom, 0);
    return ids;
}

/* The decode as a NUL-terminated string (the caller frees it). */
static char *decode(const rk_tokenizer *t, const int32_t *ids, size_t n, int skip) {
    rk_buf b = {0};
    rk_error e = {0};
    cr_assert_eq(rk_tok_decode(t, ids, n, skip, &b, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(b.oom, 0);
    return b.p ? b.p : strdup("");
}

static void put_escaped(rk_buf *b, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[8];
        if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, sizeof tmp, "\\x%02x", c);
            rk_buf_put(b, tmp, strlen(tmp));
        } else
            rk_buf_put(b, s, 1);
    }
}

/* Fails, when the ids differ, at the first differing position, with the
 * pieces around it: Python's tokens and ours (each id decoded alone). */
static void expect_ids(const rk_tokenizer *t, const char *what, const json_t *want, const json_t *tokens,
                       const rk_ids *got) {
    size_t n = json_array_size(want), i = 0;
    while (i < n && i < got->n && got->v[i] == json_integer_value(json_array_get(want, i)))
        i++;
    if (i == n && i == got->n) return;
    rk_buf m = {0};
    char line[256];
    snprintf(line, sizeof line, "%s: ids differ at %zu (python has %zu ids, we have %zu)\n  python:", what, i,
             n, got->n);
    rk_buf_put(&m, line, strlen(line));
    size_t lo = i >= 4 ? i - 4 : 0;
    for (size_t k = lo; k < i + 5 && k < n; k++) {
        snprintf(line, sizeof line, " %s%lld", k == i ? ">" : "",
                 (long long)json_integer_value(json_array_get(want, k)));
        rk_buf_put(&m, line, strlen(line));
        if (tokens) {
            rk_buf_put(&m, "'", 1);
            put_escaped(&m, json_string_value(json_array_get(tokens, k)));
            rk_buf_put(&m, "'", 1);
        }
    }
    rk_buf_put(&m, "\n  ours:  ", 10);
    for (size_t k = lo; k < i + 5 && k < got->n; k++) {
        snprintf(line, sizeof line, " %s%d'", k == i ? ">" : "", got->v[k]);
        rk_buf_put(&m, line, strlen(line));
        char *d = decode(t, &got->v[k], 1, 0);
        put_escaped(&m, d);
        free(d);
        rk_buf_put(&m, "'", 1);
    }
    cr_assert_fail("%s", m.p);
    free(m.p);
}

/* decode(ids) and decode(ids, skipping specials) are k's "decode" and
 * "decode_skip", byte for byte (NULs included). */
static void expect_decodes(const rk_tokenizer *t, const int32_t *ids, size_t n, const json_t *k,
                           const char *what) {
    const char *keys[2] = {"decode", "decode_skip"};
    for (int skip = 0; skip < 2; skip++) {
        json_t *want = json_object_get(k, keys[skip]);
        cr_assert(json_is_string(want), "%s: no %s", what, keys[skip]);
        rk_buf b = {0};
        rk_error e = {0};
        cr_assert_eq(rk_tok_decode(t, ids, n, skip, &b, &e), RK_OK, "%s", e.msg);
        if (b.n == json_string_length(want) && (!b.n || !memcmp(b.p, json_string_value(want), b.n))) {
            free(b.p);
            continue;
        }
        rk_buf m = {0};
        rk_buf_put(&m, "\n  python: [", 12);
        put_escaped(&m, json_string_value(want));
        rk_buf_put(&m, "]\n  ours:   [", 13);
        put_escaped(&m, b.p ? b.p : "");
        rk_buf_put(&m, "]", 1);
        cr_assert_fail("%s: %s differs (%zu bytes, python %zu):%s", what, keys[skip], b.n,
                       json_string_length(want), m.p);
    }
}

/* ---- parity with the Python library ---- */

static void check_cases(const char *family) {
    rk_tokenizer *t = load_family(family);
    char *path = fixture_path(family, "expected.json");
    json_t *x = load_json(path);
    json_t *cases = json_object_get(x, "cases");
    cr_assert_gt(json_array_size(cases), 10);
    size_t n_roundtrip = 0;
    for (size_t c = 0; c < json_array_size(cases); c++) {
        json_t *k = json_array_get(cases, c), *jt = json_object_get(k, "text");
        const char *name = json_string_value(json_object_get(k, "name"));
        const char *text = json_string_value(jt);
        size_t len = json_string_length(jt);
        char what[128];
        snprintf(what, sizeof what, "%s case %s", family, name);
        rk_ids ids = encode(t, text, len);
        expect_ids(t, what, json_object_get(k, "ids"), json_object_get(k, "tokens"), &ids);
        expect_decodes(t, ids.v, ids.n, k, what);
        if (json_is_true(json_object_get(k, "roundtrip"))) {
            char *d = decode(t, ids.v, ids.n, 0);
            cr_assert(strlen(d) == len && memcmp(d, text, len) == 0, "%s: decode(encode(x)) != x: [%s]", what,
                      d);
            n_roundtrip++;
            free(d);
        }
        rk_ids_free(&ids);
    }
    /* Most texts come back whole: all but one the normalizer changes (NFC),
     * those whose leading space the SentencePiece decoder strips, and those
     * whose special tokens take white space with them (lstrip, rstrip) or
     * get "▁" around them (the Prepend normalizer). */
    cr_assert_geq(n_roundtrip, json_array_size(cases) - 3, "%s: %zu round trips", family, n_roundtrip);
    json_decref(x);
    free(path);
    rk_tok_free(t);
}

static void check_random(const char *family) {
    rk_tokenizer *t = load_family(family);
    char *path = fixture_path(family, "expected.json");
    json_t *x = load_json(path);
    json_t *r = json_object_get(x, "random");
    cr_assert_geq(json_array_size(r), 100);
    for (size_t i = 0; i < json_array_size(r); i++) {
        json_t *k = json_array_get(r, i), *jt = json_object_get(k, "text");
        char what[128];
        snprintf(what, sizeof what, "%s random text %zu", family, i);
        rk_ids ids = encode(t, json_string_value(jt), json_string_length(jt));
        expect_ids(t, what, json_object_get(k, "ids"), NULL, &ids);
        rk_ids_free(&ids);
    }
    json_decref(x);
    free(path);
    rk_tok_free(t);
}

static void check_decodes(const char *family) {
    rk_tokenizer *t = load_family(family);
    char *path = fixture_path(family, "expected.json");
    json_t *x = load_json(path);
    json_t *r = json_object_get(x, "decodes");
    cr_assert_geq(json_array_size(r), 100);
    size_t n_fffd = 0;
    for (size_t i = 0; i < json_array_size(r); i++) {
        json_t *k = json_array_get(r, i), *jids = json_object_get(k, "ids");
        int32_t ids[64];
        size_t n = json_array_size(jids);
        cr_assert_leq(n, 64);
        for (size_t j = 0; j < n; j++)
            ids[j] = (int32_t)json_integer_value(json_array_get(jids, j));
        char what[128];
        snprintf(what, sizeof what, "%s decode %zu", family, i);
        expect_decodes(t, ids, n, k, what);
        n_fffd += strstr(json_string_value(json_object_get(k, "decode")), "\xef\xbf\xbd") != NULL;
    }
    cr_assert_gt(n_fffd, 5, "%s: the sequences include invalid UTF-8", family);
    json_decref(x);
    free(path);
    rk_tok_free(t);
}

/* vocab size, bos, eos and the special ids as Python saw them */
static void check_meta(const char *family) {
    rk_tokenizer *t = load_family(family);
    char *path = fixture_path(family, "expected.json");
    json_t *x = load_json(path);
    cr_assert_eq(rk_tok_vocab_size(t), (size_t)json_integer_value(json_object_get(x, "vocab_size")), "%s",
                 family);
    cr_assert_eq(rk_tok_bos(t), json_integer_value(json_object_get(x, "bos")), "%s bos", family);
    cr_assert_eq(rk_tok_eos(t), json_integer_value(json_object_get(x, "eos")), "%s eos", family);
    json_t *sp = json_object_get(x, "special");
    size_t n_special = 0;
    for (int32_t id = 0; id < (int32_t)rk_tok_vocab_size(t); id++) {
        int want = 0;
        for (size_t j = 0; j < json_array_size(sp); j++)
            want |= json_integer_value(json_array_get(sp, j)) == id;
        cr_assert_eq(!!rk_tok_is_special(t, id), want, "%s: is_special(%d)", family, id);
        n_special += want;
    }
    cr_assert_eq(n_special, json_array_size(sp));
    cr_assert_not(rk_tok_is_special(t, -1));
    cr_assert_not(rk_tok_is_special(t, (int32_t)rk_tok_vocab_size(t)));
    json_decref(x);
    free(path);
    rk_tok_free(t);
}

/* Writes j as dir/tokenizer.json (and returns dir/tokenizer.json). */
static char *write_tokenizer(const char *dir, const json_t *j) {
    char *text = json_dumps(j, JSON_COMPACT);
    cr_assert_not_null(text);
    char *path = write_text(dir, "tokenizer.json", text);
    free(text);
    return path;
}

/* Sets the member at path ("a.b": objects only) of j to v (stolen). */
static void set_path(json_t *j, const char *path, json_t *v) {
    char *dup = strdup(path), *key = dup, *dot;
    while ((dot = strchr(key, '.'))) {
        *dot = 0;
        j = json_object_get(j, key);
        cr_assert(json_is_object(j), "%s: no object %s", path, key);
        key = dot + 1;
    }
    json_object_set_new(j, key, v);
    free(dup);
}

/* The family's tokenizer with the options no family uses, edited as the
 * script edited it, against what the library did with the edited file. */
static void check_variants(const char *family) {
    char *path = fixture_path(family, "tokenizer.json"), *xpath = fixture_path(family, "expected.json");
    json_t *x = load_json(xpath), *vars = json_object_get(x, "variants");
    cr_assert_gt(json_array_size(vars), 0);
    for (size_t v = 0; v < json_array_size(vars); v++) {
        json_t *var = json_array_get(vars, v), *edits = json_object_get(var, "edits");
        const char *vname = json_string_value(json_object_get(var, "name"));
        json_t *j = load_json(path);
        for (size_t k = 0; k < json_array_size(edits); k++) {
            json_t *ed = json_array_get(edits, k);
            set_path(j, json_string_value(json_array_get(ed, 0)), json_deep_copy(json_array_get(ed, 1)));
        }
        char *dir = tmpdir_new(), *p2 = write_tokenizer(dir, j);
        rk_tokenizer *t = load_ok(p2);
        json_t *cases = json_object_get(var, "cases");
        cr_assert_gt(json_array_size(cases), 50);
        for (size_t c = 0; c < json_array_size(cases); c++) {
            json_t *k = json_array_get(cases, c), *jt = json_object_get(k, "text");
            char what[160];
            snprintf(what, sizeof what, "%s variant %s text %zu", family, vname, c);
            rk_ids ids = encode(t, json_string_value(jt), json_string_length(jt));
            expect_ids(t, what, json_object_get(k, "ids"), NULL, &ids);
            expect_decodes(t, ids.v, ids.n, k, what);
            rk_ids_free(&ids);
        }
        json_t *decs = json_object_get(var, "decodes");
        for (size_t c = 0; c < json_array_size(decs); c++) {
            json_t *k = json_array_get(decs, c), *jids = json_object_get(k, "ids");
            int32_t ids[64];
            size_t n = json_array_size(jids);
            cr_assert_leq(n, 64);
            for (size_t i = 0; i < n; i++)
                ids[i] = (int32_t)json_integer_value(json_array_get(jids, i));
            char what[160];
            snprintf(what, sizeof what, "%s variant %s decode %zu", family, vname, c);
            expect_decodes(t, ids, n, k, what);
        }
        rk_tok_free(t);
        free(p2);
        tmpdir_free(dir);
        json_decref(j);
    }
    json_decref(x);
    free(xpath);
    free(path);
}

#define FAMILY_TESTS(f)                                                                                      \
    Test(parity_##f, cases) { check_cases(#f); }                                                             \
    Test(parity_##f, random) { check_random(#f); }                                                           \
    Test(parity_##f, decodes) { check_decodes(#f); }                                                         \
    Test(parity_##f, meta) { check_meta(#f); }                                                               \
    Test(parity_##f, variants) { check_variants(#f); }

FAMILY_TESTS(gpt2)
FAMILY_TESTS(llama3)
FAMILY_TESTS(qwen2)
FAMILY_TESTS(smollm)
FAMILY_TESTS(llama2)
FAMILY_TESTS(mistral)

/* ---- added tokens ---- */

/* Every added token of every family: its id by name, one id when encoded
 * alone, and whole between words. */
Test(added, matched_whole_never_split) {
    for (size_t f = 0; f < N_FAMILIES; f++) {
        rk_tokenizer *t = load_family(FAMILIES[f]);
        char *path = fixture_path(FAMILIES[f], "tokenizer.json");
        json_t *j = load_json(path);
        json_t *added = json_object_get(j, "added_tokens");
        cr_assert_gt(json_array_size(added), 0);
        for (size_t i = 0; i < json_array_size(added); i++) {
            json_t *a = json_array_get(added, i);
            const char *content = json_string_value(json_object_get(a, "content"));
            int32_t id = (int32_t)json_integer_value(json_object_get(a, "id"));
            cr_assert_eq(rk_tok_id(t, content), id, "%s: id of %s", FAMILIES[f], content);
            if (json_is_true(json_object_get(a, "normalized"))) continue; /* matched after normalizing */
            char text[256];
            snprintf(text, sizeof text, "hello%sworld", content);
            rk_ids ids = encode(t, text, strlen(text));
            size_t hits = 0;
            for (size_t k = 0; k < ids.n; k++)
                hits += ids.v[k] == id;
            cr_assert_eq(hits, 1, "%s: %s found %zu times in \"%s\"", FAMILIES[f], content, hits, text);
            rk_ids_free(&ids);
            ids = encode(t, content, strlen(content));
            cr_assert_eq(ids.n, 1, "%s: %s alone gives %zu ids", FAMILIES[f], content, ids.n);
            cr_assert_eq(ids.v[0], id);
            rk_ids_free(&ids);
        }
        json_decref(j);
        free(path);
        rk_tok_free(t);
    }
}

/* Leftmost, then longest: "<|reserved_special_token_3|>" wins over a shorter
 * prefix that is no token, and a token cut short is plain text. */
Test(added, longest_and_partial) {
    rk_tokenizer *t = load_family("llama3");
    int32_t eot = rk_tok_id(t, "<|eot_id|>"), r3 = rk_tok_id(t, "<|reserved_special_token_3|>");
    cr_assert_geq(eot, 0);
    cr_assert_geq(r3, 0);
    const char *text = "<|eot_id|<|eot_id|><|reserved_special_token_3|><|reserved_special_token_3";
    rk_ids ids = encode(t, text, strlen(text));
    size_t n_eot = 0, n_r3 = 0;
    for (size_t k = 0; k < ids.n; k++)
        n_eot += ids.v[k] == eot, n_r3 += ids.v[k] == r3;
    cr_assert_eq(n_eot, 1);
    cr_assert_eq(n_r3, 1);
    char *d = decode(t, ids.v, ids.n, 0);
    cr_assert_str_eq(d, text);
    free(d);
    d = decode(t, ids.v, ids.n, 1);
    cr_assert_str_eq(d, "<|eot_id|<|reserved_special_token_3");
    free(d);
    rk_ids_free(&ids);
    rk_tok_free(t);
}

Test(added, ids_of_vocab_and_unknown) {
    rk_tokenizer *t = load_family("gpt2");
    cr_assert_geq(rk_tok_id(t, "e"), 0);
    cr_assert_eq(rk_tok_id(t, "no such token at all"), -1);
    cr_assert_eq(rk_tok_id(t, ""), -1);
    cr_assert_eq(rk_tok_id(t, NULL), -1);
    int32_t id = rk_tok_id(t, "Ġthe");
    cr_assert_geq(id, 0);
    char *d = decode(t, &id, 1, 0);
    cr_assert_str_eq(d, " the");
    free(d);
    rk_tok_free(t);
}

/* ---- bos and eos ---- */

Test(config, bos_eos_from_the_directory) {
    struct {
        const char *family, *bos, *eos;
    } want[] = {{"gpt2", "<|endoftext|>", "<|endoftext|>"},
                {"llama3", "<|begin_of_text|>", "<|eot_id|>"}, /* eos as {"content": ...} */
                {"smollm", "<|im_start|>", "<|im_end|>"},
                {"llama2", "<s>", "</s>"},
                {"mistral", "<s>", "</s>"}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        rk_tokenizer *t = load_family(want[i].family);
        cr_assert_geq(rk_tok_bos(t), 0, "%s", want[i].family);
        cr_assert_eq(rk_tok_bos(t), rk_tok_id(t, want[i].bos), "%s", want[i].family);
        cr_assert_eq(rk_tok_eos(t), rk_tok_id(t, want[i].eos), "%s", want[i].family);
        cr_assert(rk_tok_is_special(t, rk_tok_bos(t)));
        /* encoding adds neither */
        rk_ids ids = encode(t, "hi", 2);
        for (size_t k = 0; k < ids.n; k++)
            cr_assert(ids.v[k] != rk_tok_bos(t) && ids.v[k] != rk_tok_eos(t));
        rk_ids_free(&ids);
        rk_tok_free(t);
    }
    /* no tokenizer_config.json: none */
    rk_tokenizer *t = load_family("qwen2");
    cr_assert_eq(rk_tok_bos(t), -1);
    cr_assert_eq(rk_tok_eos(t), -1);
    rk_tok_free(t);
    /* the file alone: the configuration is the directory's */
    char *path = fixture_path("llama2", "tokenizer.json");
    t = load_ok(path);
    cr_assert_eq(rk_tok_bos(t), -1);
    cr_assert_eq(rk_tok_eos(t), -1);
    rk_tok_free(t);
    free(path);
}

/* ---- files rewritten: merge encodings, ignore_merges, refusals ---- */

/* gpt2 has "a b" merges and the others ["a", "b"]: each rewritten in the
 * other encoding gives the same ids on every case. */
Test(files, merge_encodings_agree) {
    const char *fams[] = {"gpt2", "llama3", "llama2"};
    for (size_t f = 0; f < 3; f++) {
        char *path = fixture_path(fams[f], "tokenizer.json");
        json_t *j = load_json(path);
        json_t *merges = json_object_get(json_object_get(j, "model"), "merges");
        cr_assert_gt(json_array_size(merges), 100);
        int was_string = json_is_string(json_array_get(merges, 0));
        cr_assert_eq(was_string, f == 0, "%s: the fixtures hold both encodings", fams[f]);
        json_t *other = json_array();
        for (size_t i = 0; i < json_array_size(merges); i++) {
            json_t *m = json_array_get(merges, i);
            if (was_string) {
                const char *s = json_string_value(m), *sp = strchr(s, ' ');
                json_array_append_new(other, json_pack("[s#s]", s, (int)(sp - s), sp + 1));
            } else {
                char *s = NULL;
                cr_assert(asprintf(&s, "%s %s", json_string_value(json_array_get(m, 0)),
                                   json_string_value(json_array_get(m, 1))) > 0);
                json_array_append_new(other, json_string(s));
                free(s);
            }
        }
        json_object_set_new(json_object_get(j, "model"), "merges", other);
        char *dir = tmpdir_new();
        char *p2 = write_tokenizer(dir, j);
        rk_tokenizer *a = load_ok(path), *b = load_ok(p2);
        char *xpath = fixture_path(fams[f], "expected.json");
        json_t *x = load_json(xpath);
        json_t *cases = json_object_get(x, "cases");
        for (size_t c = 0; c < json_array_size(cases); c++) {
            json_t *jt = json_object_get(json_array_get(cases, c), "text");
            rk_ids ia = encode(a, json_string_value(jt), json_string_length(jt));
            rk_ids ib = encode(b, json_string_value(jt), json_string_length(jt));
            cr_assert_eq(ia.n, ib.n, "%s case %zu", fams[f], c);
            if (ia.n) cr_assert_arr_eq(ia.v, ib.v, ia.n * sizeof *ia.v, "%s case %zu", fams[f], c);
            rk_ids_free(&ia);
            rk_ids_free(&ib);
        }
        json_decref(x);
        rk_tok_free(a);
        rk_tok_free(b);
        json_decref(j);
        free(xpath);
        free(p2);
        free(path);
        tmpdir_free(dir);
    }
}

/* llama3's vocab has "Ġunreachable", which no merge sequence builds: with
 * ignore_merges it is one id, without it several that spell the same. */
Test(files, ignore_merges) {
    rk_tokenizer *t = load_family("llama3");
    int32_t whole = rk_tok_id(t, "Ġunreachable");
    cr_assert_geq(whole, 0);
    rk_ids ids = encode(t, " unreachable", 12);
    cr_assert_eq(ids.n, 1);
    cr_assert_eq(ids.v[0], whole);
    rk_ids_free(&ids);
    rk_tok_free(t);

    char *path = fixture_path("llama3", "tokenizer.json");
    json_t *j = load_json(path);
    json_object_set_new(json_object_get(j, "model"), "ignore_merges", json_false());
    char *dir = tmpdir_new();
    char *p2 = write_tokenizer(dir, j);
    t = load_ok(p2);
    ids = encode(t, " unreachable", 12);
    cr_assert_gt(ids.n, 1);
    for (size_t k = 0; k < ids.n; k++)
        cr_assert_neq(ids.v[k], whole);
    char *d = decode(t, ids.v, ids.n, 0);
    cr_assert_str_eq(d, " unreachable");
    free(d);
    rk_ids_free(&ids);
    rk_tok_free(t);
    json_decref(j);
    free(p2);
    free(path);
    tmpdir_free(dir);
}

/* Loading fails with code and a message naming the file and the words in
 * why[] (a NULL-terminated list). */
static void expect_load_fails(const char *path, rk_status code, const char *const *why) {
    rk_tokenizer *t = (rk_tokenizer *)1;
    rk_error e = {0};
    cr_assert_eq(rk_tok_load(path, &t, &e), code, "status for %s: %s", path, e.msg);
    cr_assert_null(t);
    cr_assert(strstr(e.msg, path), "message names the file: %s", e.msg);
    for (; why && *why; why++)
        cr_assert(strstr(e.msg, *why), "message says \"%s\": %s", *why, e.msg);
}

/* The gpt2 fixture with one member replaced (path.to.member, value as JSON
 * text) fails to load, its message naming the file and why. */
static void expect_edit_fails(const char *member, const char *value, const char *const *why) {
    char *path = fixture_path("gpt2", "tokenizer.json");
    json_t *j = load_json(path);
    json_error_t je;
    json_t *v = json_loads(value, JSON_DECODE_ANY, &je);
    cr_assert_not_null(v, "%s", value);
    set_path(j, member, v);
    char *dir = tmpdir_new();
    char *p2 = write_tokenizer(dir, j);
    expect_load_fails(p2, RK_EFORMAT, why);
    free(p2);
    tmpdir_free(dir);
    json_decref(j);
    free(path);
}

Test(files, unknown_model_types) {
    expect_edit_fails("model.type", "\"Unigram\"", (const char *[]){"Unigram", "BPE", NULL});
    expect_edit_fails("model.type", "\"WordLevel\"", (const char *[]){"WordLevel", "supported", "BPE", NULL});
    expect_edit_fails("model", "{\"vocab\": {}}", (const char *[]){"model type", NULL});
}

Test(files, unknown_parts) {
    expect_edit_fails("pre_tokenizer",
                      "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\p{L}+|\\\\s+\"}, \"behavior\": "
                      "\"Isolated\", \"invert\": false}",
                      (const char *[]){"\\p{L}+|\\s+", "Llama 3", "Qwen2", NULL});
    expect_edit_fails("pre_tokenizer", "{\"type\": \"Whitespace\"}",
                      (const char *[]){"Whitespace", "ByteLevel", NULL});
    expect_edit_fails("pre_tokenizer",
                      "{\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"Isolated\"}",
                      (const char *[]){"Split", NULL});
    expect_edit_fails("normalizer", "{\"type\": \"Lowercase\"}", (const char *[]){"Lowercase", "NFC", NULL});
    expect_edit_fails("decoder", "{\"type\": \"WordPiece\"}",
                      (const char *[]){"WordPiece", "ByteLevel", NULL});
    expect_edit_fails("model.merges", "[\"Ġ zzzzqqq\"]", (const char *[]){"merges[0]", "zzzzqqq", NULL});
    expect_edit_fails("model.merges", "[\"a b c\"]", (const char *[]){"merges[0]", NULL});
    expect_edit_fails("model.vocab", "{\"a\": -1}", (const char *[]){"\"a\"", NULL});
    expect_edit_fails("model.vocab", "{\"a\": 0, \"b\": 0}", (const char *[]){"id 0", NULL});
    expect_edit_fails("model.dropout", "0.1", (const char *[]){"dropout", NULL});
    expect_edit_fails("model.end_of_word_suffix", "\"</w>\"", (const char *[]){"end_of_word_suffix", NULL});
    expect_edit_fails("added_tokens", "[{\"id\": 5}]", (const char *[]){"added_tokens[0]", NULL});
}

Test(files, malformed_missing) {
    char *dir = tmpdir_new();
    char *p = write_text(dir, "tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {,}}");
    expect_load_fails(p, RK_EFORMAT, (const char *[]){"line 1", NULL});
    free(p);
    p = write_text(dir, "tokenizer.json", "[1, 2]");
    expect_load_fails(p, RK_EFORMAT, (const char *[]){"object", NULL});
    free(p);

    /* the directory form names the file it looked for */
    rk_tokenizer *t = (rk_tokenizer *)1;
    rk_error e = {0};
    cr_assert_eq(rk_tok_load(dir, &t, &e), RK_EFORMAT, "%s", e.msg);
    cr_assert_null(t);
    cr_assert(strstr(e.msg, "tokenizer.json"), "%s", e.msg);
    char *sub = NULL;
    cr_assert(asprintf(&sub, "%s/empty", dir) > 0);
    cr_assert_eq(mkdir(sub, 0700), 0);
    cr_assert_eq(rk_tok_load(sub, &t, &e), RK_ENOTFOUND, "%s", e.msg);
    cr_assert(strstr(e.msg, "tokenizer.json"), "%s", e.msg);
    free(sub);
    cr_assert(asprintf(&sub, "%s/nothing.json", dir) > 0);
    expect_load_fails(sub, RK_ENOTFOUND, NULL);
    free(sub);
    cr_assert_eq(rk_tok_load(NULL, &t, &e), RK_EINVAL);
    tmpdir_free(dir);
}

/* A tokenizer_config.json naming a token the vocab lacks, or unreadable. */
Test(files, bad_config) {
    char *src = fixture_path("gpt2", "tokenizer.json");
    json_t *j = load_json(src);
    char *dir = tmpdir_new();
    char *p = write_tokenizer(dir, j);
    char *c = write_text(dir, "tokenizer_config.json", "{\"bos_token\": \"<nope>\"}");
    rk_tokenizer *t = (rk_tokenizer *)1;
    rk_error e = {0};
    cr_assert_eq(rk_tok_load(dir, &t, &e), RK_EFORMAT, "%s", e.msg);
    cr_assert_null(t);
    cr_assert(strstr(e.msg, "tokenizer_config.json") && strstr(e.msg, "<nope>"), "%s", e.msg);
    free(c);
    c = write_text(dir, "tokenizer_config.json", "{\"bos_token\": ");
    cr_assert_eq(rk_tok_load(dir, &t, &e), RK_EFORMAT, "%s", e.msg);
    cr_assert(strstr(e.msg, "tokenizer_config.json"), "%s", e.msg);
    free(c);
    c = write_text(dir, "tokenizer_config.json",
                   "{\"bos_token\": null, \"eos_token\": {\"content\": \"<sep>\"}}");
    t = load_ok(dir);
    cr_assert_eq(rk_tok_bos(t), -1);
    cr_assert_eq(rk_tok_eos(t), rk_tok_id(t, "<sep>"));
    rk_tok_free(t);
    free(c);
    free(p);
    tmpdir_free(dir);
    json_decref(j);
    free(src);
}

Test(files, older_metaspace_forms) {
    /* {"add_prefix_space": true} (no prepend_scheme) is "always" with a
     * split: "a b" is "▁a" "▁b" whatever the merges. */
    char *src = fixture_path("mistral", "tokenizer.json");
    json_t *j = load_json(src);
    json_error_t je;
    json_object_set_new(
        j, "pre_tokenizer",
        json_loads("{\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", \"add_prefix_space\": true}", 0,
                   &je));
    char *dir = tmpdir_new();
    char *p = write_tokenizer(dir, j);
    rk_tokenizer *t = load_ok(p);
    rk_ids ids = encode(t, "a b", 3);
    cr_assert_eq(ids.n, 2);
    cr_assert_eq(ids.v[0], rk_tok_id(t, "\xe2\x96\x81"
                                        "a"));
    cr_assert_eq(ids.v[1], rk_tok_id(t, "\xe2\x96\x81"
                                        "b"));
    rk_ids_free(&ids);
    rk_tok_free(t);
    free(p);
    tmpdir_free(dir);
    json_decref(j);
    free(src);
}

/* ---- bytes, ids and arguments ---- */

/* GPT-2's byte -> code point map, written out here as the reference. */
static int gpt2_cp(int b) {
    int n = 0;
    for (int c = 0; c < 256; c++) {
        int keep = (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255);
        if (c == b) return keep ? c : 256 + n;
        if (!keep) n++;
    }
    return -1;
}

Test(bytes, invalid_utf8_byte_level) {
    rk_tokenizer *t = load_family("gpt2");
    const unsigned char in[] = {0xff, 'x', 0x80, 'x', 0xe2, 0x82, 'x', 0xc0, 'x'};
    rk_ids ids = encode(t, (const char *)in, sizeof in);
    /* no merges exist between these: one id per byte, the mapped character's */
    cr_assert_eq(ids.n, sizeof in);
    for (size_t i = 0; i < sizeof in; i++) {
        char name[8] = {0};
        int cp = gpt2_cp(in[i]);
        if (cp < 0x80)
            name[0] = (char)cp;
        else {
            name[0] = (char)(0xc0 | cp >> 6);
            name[1] = (char)(0x80 | (cp & 0x3f));
        }
        cr_assert_eq(ids.v[i], rk_tok_id(t, name), "byte %zu (0x%02x)", i, in[i]);
    }
    char *d = decode(t, ids.v, ids.n, 0);
    /* one U+FFFD per maximal invalid subsequence: E2 82 is one */
    cr_assert_str_eq(d, "\xef\xbf\xbdx\xef\xbf\xbdx\xef\xbf\xbdx\xef\xbf\xbdx");
    free(d);
    rk_ids_free(&ids);
    rk_tok_free(t);
}

Test(bytes, invalid_utf8_byte_fallback) {
    rk_tokenizer *t = load_family("llama2");
    rk_ids ids = encode(t, "\xff", 1);
    /* "▁" then the byte */
    cr_assert_eq(ids.n, 2);
    cr_assert_eq(ids.v[0], rk_tok_id(t, "\xe2\x96\x81"));
    cr_assert_eq(ids.v[1], rk_tok_id(t, "<0xFF>"));
    char *d = decode(t, ids.v, ids.n, 0);
    cr_assert_str_eq(d, "\xef\xbf\xbd");
    free(d);
    rk_ids_free(&ids);
    /* a valid run of byte pieces is its text; an invalid one one U+FFFD per byte */
    int32_t e9[] = {rk_tok_id(t, "<0xC3>"), rk_tok_id(t, "<0xA9>"), rk_tok_id(t, "<0xC3>")};
    d = decode(t, e9, 2, 0);
    cr_assert_str_eq(d, "\xc3\xa9");
    free(d);
    d = decode(t, e9, 3, 0);
    cr_assert_str_eq(d, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    free(d);
    rk_tok_free(t);
}

Test(bytes, empty_and_arguments) {
    rk_tokenizer *t = load_family("gpt2");
    rk_ids ids = encode(t, "", 0);
    cr_assert_eq(ids.n, 0);
    rk_ids_free(&ids);
    ids = encode(t, NULL, 0);
    cr_assert_eq(ids.n, 0);
    char *d = decode(t, NULL, 0, 0);
    cr_assert_str_eq(d, "");
    free(d);
    rk_error e = {0};
    rk_buf b = {0};
    int32_t bad[] = {5, (int32_t)rk_tok_vocab_size(t)};
    cr_assert_eq(rk_tok_decode(t, bad, 2, 0, &b, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "id"), "%s", e.msg);
    int32_t neg = -1;
    cr_assert_eq(rk_tok_decode(t, &neg, 1, 0, &b, &e), RK_EINVAL);
    cr_assert_eq(rk_tok_encode(t, NULL, 3, &ids, &e), RK_EINVAL);
    cr_assert_eq(rk_tok_encode(NULL, "x", 1, &ids, &e), RK_EINVAL);
    free(b.p);
    /* encoding appends */
    ids = encode(t, "a", 1);
    rk_error e2 = {0};
    cr_assert_eq(rk_tok_encode(t, "a", 1, &ids, &e2), RK_OK);
    cr_assert_eq(ids.n, 2);
    cr_assert_eq(ids.v[0], ids.v[1]);
    rk_ids_free(&ids);
    cr_assert_null(ids.v);
    rk_ids_free(NULL);
    rk_tok_free(t);
    rk_tok_free(NULL);
}

Test(ids, put_grows) {
    rk_ids ids = {0};
    for (int32_t i = 0; i < 1000; i++)
        rk_ids_put(&ids, &i, 1);
    int32_t more[3] = {7, 8, 9};
    rk_ids_put(&ids, more, 3);
    cr_assert_eq(ids.n, 1003);
    cr_assert_eq(ids.oom, 0);
    for (int32_t i = 0; i < 1000; i++)
        cr_assert_eq(ids.v[i], i);
    cr_assert_eq(ids.v[1002], 9);
    rk_ids_free(&ids);
}

/* ---- BPE against a plain reference loop ---- */

/* The textbook merge loop: while some adjacent pair has a merge, merge the
 * pair of lowest rank, leftmost among equals, over token strings. ranks maps
 * "a b" to its rank. */
static void reference_bpe(json_t *ranks, json_t *vocab, const char *word, rk_ids *out) {
    size_t n = strlen(word);
    char **sym = malloc(n * sizeof *sym);
    size_t ns = 0;
    for (size_t i = 0; i < n; i++)
        sym[ns++] = strndup(word + i, 1); /* ASCII letters only */
    for (;;) {
        json_int_t best = -1;
        size_t at = 0;
        for (size_t i = 0; i + 1 < ns; i++) {
            char *key = NULL;
            cr_assert(asprintf(&key, "%s %s", sym[i], sym[i + 1]) > 0);
            json_t *r = json_object_get(ranks, key);
            free(key);
            if (r && (best < 0 || json_integer_value(r) < best)) best = json_integer_value(r), at = i;
        }
        if (best < 0) break;
        char *joined = NULL;
        cr_assert(asprintf(&joined, "%s%s", sym[at], sym[at + 1]) > 0);
        free(sym[at]);
        free(sym[at + 1]);
        sym[at] = joined;
        memmove(sym + at + 1, sym + at + 2, (ns - at - 2) * sizeof *sym);
        ns--;
    }
    for (size_t i = 0; i < ns; i++) {
        json_t *id = json_object_get(vocab, sym[i]);
        cr_assert_not_null(id, "%s", sym[i]);
        int32_t v = (int32_t)json_integer_value(id);
        rk_ids_put(out, &v, 1);
        free(sym[i]);
    }
    free(sym);
}

Test(bpe, matches_reference_loop) {
    char *path = fixture_path("gpt2", "tokenizer.json");
    json_t *j = load_json(path);
    json_t *model = json_object_get(j, "model");
    json_t *merges = json_object_get(model, "merges"), *vocab = json_object_get(model, "vocab");
    json_t *ranks = json_object();
    for (size_t r = 0; r < json_array_size(merges); r++)
        if (!json_object_get(ranks, json_string_value(json_array_get(merges, r))))
            json_object_set_new(ranks, json_string_value(json_array_get(merges, r)),
                                json_integer((json_int_t)r));
    rk_tokenizer *t = load_ok(path);
    const char *frags[] = {"the", "th", "e",  "ing", "in", "g", "a", "an",    "and", "o",  "on", "ion",
                           "t",   "s",  "er", "re",  "q",  "x", "z", "model", "tok", "en", "iz"};
    uint64_t seed = 42;
    for (int w = 0; w < 300; w++) {
        char word[2048];
        size_t n = 0;
        /* lengths up to ~1000 letters: past the word cache's limit too */
        int parts = 1 + (int)((seed = seed * 6364136223846793005ULL + 1442695040888963407ULL) >> 33) %
                            (w % 10 == 0 ? 300 : 8);
        for (int p = 0; p < parts; p++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *f = frags[(seed >> 33) % (sizeof frags / sizeof *frags)];
            memcpy(word + n, f, strlen(f));
            n += strlen(f);
        }
        word[n] = 0;
        rk_ids want = {0};
        reference_bpe(ranks, vocab, word, &want);
        rk_ids got = encode(t, word, n);
        cr_assert_eq(got.n, want.n, "word %d (%zu letters): %zu ids, reference %zu", w, n, got.n, want.n);
        if (got.n) cr_assert_arr_eq(got.v, want.v, got.n * sizeof *got.v, "word %d: %s", w, word);
        rk_ids_free(&want);
        rk_ids_free(&got);
    }
    rk_tok_free(t);
    json_decref(ranks);
    json_decref(j);
    free(path);
}

/* ---- speed ---- */

static char *english(size_t n) {
    static const char *const words[] = {
        "the",      "of",       "and",      "to",        "in",       "is",       "that",     "for",
        "it",       "as",       "was",      "with",      "be",       "by",       "on",       "not",
        "he",       "I",        "this",     "are",       "or",       "his",      "from",     "at",
        "which",    "but",      "have",     "an",        "had",      "they",     "you",      "were",
        "their",    "one",      "all",      "we",        "can",      "her",      "has",      "there",
        "been",     "if",       "more",     "when",      "will",     "would",    "who",      "so",
        "no",       "model",    "training", "retrieval", "document", "answer",   "question", "generation",
        "language", "pipeline", "data",     "2024",      "vectors",  "tokenizer"};
    char *s = malloc(n + 32);
    size_t at = 0;
    uint64_t seed = 7;
    int in_sentence = 0;
    while (at < n) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        const char *w = words[(seed >> 33) % (sizeof words / sizeof *words)];
        size_t l = strlen(w);
        memcpy(s + at, w, l);
        if (!in_sentence && w[0] >= 'a') s[at] = (char)(w[0] - 32);
        at += l;
        in_sentence++;
        if (in_sentence > 8 + (int)((seed >> 20) % 10)) {
            memcpy(s + at, (seed >> 40) % 5 ? ". " : ".\n\n", 3);
            at += (seed >> 40) % 5 ? 2 : 3;
            in_sentence = 0;
        } else if ((seed >> 45) % 13 == 0) {
            memcpy(s + at, ", ", 2);
            at += 2;
        } else
            s[at++] = ' ';
    }
    s[n] = 0;
    return s;
}

Test(large, one_megabyte_of_english_round_trips, .timeout = 120) {
    size_t n = 1 << 20;
    char *text = english(n);
    const char *fams[] = {"gpt2", "llama3", "llama2"};
    for (size_t f = 0; f < 3; f++) {
        rk_tokenizer *t = load_family(fams[f]);
        rk_ids ids = encode(t, text, n);
        char *d = decode(t, ids.v, ids.n, 0);
        /* llama2's decoder strips the space its normalizer put first */
        cr_assert(strlen(d) == n && memcmp(d, text, n) == 0, "%s: 1 MB does not round-trip", fams[f]);
        free(d);
        rk_ids_free(&ids);
        rk_tok_free(t);
    }
    free(text);
}
