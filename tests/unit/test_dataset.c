/* test_dataset.c — record formats, chat templates, the loss mask, packing,
 * truncation and bad lines. The tokenizer is a byte-level BPE with no merges
 * (every byte one token, id = byte value) and three added tokens, so every
 * expected id sequence can be spelled out from the text. */
#include "helpers.h"

#include <jansson.h>

#include "raftkit/dataset.h"

enum { ENDOFTEXT = 256, IM_START = 257, IM_END = 258 };

/* GPT-2's byte-to-code-point table. */
static unsigned byte_cp(unsigned b) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return b;
    unsigned n = 0;
    for (unsigned c = 0; c < b; c++)
        if (!((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF))) n++;
    return 256 + n;
}

/* A model directory holding only the tokenizer files. */
static char *tokenizer_dir(const char *chat_template) {
    char *d = tmpdir_new();
    json_t *vocab = json_object();
    for (unsigned b = 0; b < 256; b++) {
        char s[4];
        unsigned cp = byte_cp(b);
        if (cp < 0x80)
            s[0] = (char)cp, s[1] = 0;
        else
            s[0] = (char)(0xC0 | cp >> 6), s[1] = (char)(0x80 | (cp & 0x3F)), s[2] = 0;
        json_object_set_new(vocab, s, json_integer(b));
    }
    json_t *added = json_array();
    const char *names[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    for (int i = 0; i < 3; i++)
        json_array_append_new(added, json_pack("{s:i,s:s,s:b,s:b,s:b,s:b,s:b}", "id", 256 + i, "content",
                                               names[i], "single_word", 0, "lstrip", 0, "rstrip", 0,
                                               "normalized", 0, "special", 1));
    json_t *tok =
        json_pack("{s:s,s:n,s:o,s:n,s:{s:s,s:b,s:b,s:b},s:n,s:{s:s,s:b,s:b,s:b},s:{s:s,s:n,s:n,s:n,s:n,s:b,s:"
                  "b,s:o,s:[]}}",
                  "version", "1.0", "truncation", "added_tokens", added, "normalizer", "pre_tokenizer",
                  "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 1,
                  "post_processor", "decoder", "type", "ByteLevel", "add_prefix_space", 1, "trim_offsets", 1,
                  "use_regex", 1, "model", "type", "BPE", "dropout", "unk_token", "continuing_subword_prefix",
                  "end_of_word_suffix", "fuse_unk", 0, "byte_fallback", 0, "vocab", vocab, "merges");
    char path[600];
    snprintf(path, sizeof path, "%s/tokenizer.json", d);
    cr_assert_eq(json_dump_file(tok, path, 0), 0);
    json_decref(tok);
    json_t *cfg = json_pack("{s:s}", "eos_token", "<|endoftext|>");
    if (chat_template) json_object_set_new(cfg, "chat_template", json_string(chat_template));
    snprintf(path, sizeof path, "%s/tokenizer_config.json", d);
    cr_assert_eq(json_dump_file(cfg, path, 0), 0);
    json_decref(cfg);
    return d;
}

static rk_tokenizer *load_tok(const char *dir) {
    rk_tokenizer *t;
    rk_error e = {0};
    cr_assert_eq(rk_tok_load(dir, &t, &e), RK_OK, "%s", e.msg);
    return t;
}

/* Expected sequence builder: text bytes or added tokens, each with a flag. */
typedef struct seq {
    int32_t ids[4096];
    uint8_t mask[4096];
    size_t n;
} seq;
static void add_text(seq *s, const char *t, int counted) {
    for (; *t; t++)
        s->ids[s->n] = (unsigned char)*t, s->mask[s->n++] = (uint8_t)counted;
}
static void add_tok(seq *s, int32_t id, int counted) {
    s->ids[s->n] = id, s->mask[s->n++] = (uint8_t)counted;
}

static void expect_example(const rk_example *e, const seq *want) {
    cr_assert_eq(e->n, want->n, "length %zu, want %zu", e->n, want->n);
    for (size_t i = 0; i < e->n; i++) {
        cr_assert_eq(e->ids[i], want->ids[i], "id %zu: %d, want %d", i, e->ids[i], want->ids[i]);
        cr_assert_eq(e->mask[i], want->mask[i], "mask %zu: %d, want %d", i, e->mask[i], want->mask[i]);
    }
}

static rk_dataset load(const char *dir, const char *jsonl, rk_data_opts o) {
    rk_tokenizer *t = load_tok(dir);
    char *path = write_text(dir, "data.jsonl", jsonl);
    rk_dataset d;
    rk_error e = {0};
    cr_assert_eq(rk_dataset_load(path, t, &o, &d, &e), RK_OK, "%s", e.msg);
    free(path);
    rk_tok_free(t);
    return d;
}

static const rk_data_opts SFT_CHATML = {.objective = RK_OBJ_SFT, .tpl = RK_TPL_CHATML, .max_len = 1024};

Test(dataset, chatml_sft_counts_only_assistant_turns_and_their_end) {
    char *d = tokenizer_dir(NULL);
    rk_dataset ds =
        load(d,
             "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
             "{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}\n",
             SFT_CHATML);
    cr_assert_eq(ds.n, 1);
    seq w = {0};
    const char *turns[][2] = {{"system", "Be brief."}, {"user", "hi"}, {"assistant", "yo"}};
    for (int i = 0; i < 3; i++) {
        int asst = i == 2;
        add_tok(&w, IM_START, 0);
        add_text(&w, turns[i][0], 0);
        add_text(&w, "\n", 0);
        add_text(&w, turns[i][1], asst);
        add_tok(&w, IM_END, asst);
        add_text(&w, "\n", 0);
    }
    expect_example(&ds.ex[0], &w);
    cr_assert_eq(ds.targets, 3, "y, o and <|im_end|>");
    rk_dataset_free(&ds);
    tmpdir_free(d);
}

Test(dataset, lm_objective_counts_every_token) {
    char *d = tokenizer_dir(NULL);
    rk_data_opts o = SFT_CHATML;
    o.objective = RK_OBJ_LM;
    rk_dataset ds = load(d, "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}]}\n", o);
    for (size_t i = 0; i < ds.ex[0].n; i++)
        cr_assert_eq(ds.ex[0].mask[i], 1);
    rk_dataset_free(&ds);
    tmpdir_free(d);
}

Test(dataset, llama3_template_trims_and_ends_turns_with_eot) {
    /* The tokenizer has no <|eot_id|>, so the template's markup is spelled in bytes;
     * what matters here is the layout and the mask. */
    char *d = tokenizer_dir(NULL);
    rk_data_opts o = SFT_CHATML;
    o.tpl = RK_TPL_LLAMA3;
    rk_dataset ds =
        load(d, "{\"prompt\": \"unused\", \"instruction\": \"Q?\", \"cot_answer\": \"  A.\\n\"}\n", o);
    seq w = {0};
    add_text(&w, "<|start_header_id|>user<|end_header_id|>\n\nQ?<|eot_id|>", 0);
    add_text(&w, "<|start_header_id|>assistant<|end_header_id|>\n\n", 0);
    add_text(&w, "A.<|eot_id|>", 1);
    expect_example(&ds.ex[0], &w);
    rk_dataset_free(&ds);
    tmpdir_free(d);
}

Test(dataset, prompt_completion_joins_as_is_and_appends_eos) {
    char *d = tokenizer_dir(NULL);
    rk_dataset ds = load(d, "{\"prompt\": \"2+2=\", \"completion\": \"4\"}\n", SFT_CHATML);
    seq w = {0};
    add_text(&w, "2+2=", 0);
    add_text(&w, "4", 1);
    add_tok(&w, ENDOFTEXT, 1);
    expect_example(&ds.ex[0], &w);
    rk_dataset_free(&ds);
    tmpdir_free(d);
}

Test(dataset, alpaca_and_text_records) {
    char *d = tokenizer_dir(NULL);
    rk_data_opts o = SFT_CHATML;
    o.tpl = RK_TPL_PLAIN;
    rk_dataset ds = load(d,
                         "{\"instruction\": \"Add.\", \"input\": \"1 1\", \"output\": \"2\"}\n"
                         "\n"
                         "{\"text\": \"free text\"}\n",
                         o);
    cr_assert_eq(ds.n, 2);
    cr_assert_eq(ds.records, 2, "the blank line is not a record");
    seq w = {0};
    add_text(&w, "Add.\n\n1 1\n", 0);
    add_text(&w, "2", 1);
    add_tok(&w, ENDOFTEXT, 1);
    expect_example(&ds.ex[0], &w);
    seq t = {0};
    add_text(&t, "free text", 1);
    add_tok(&t, ENDOFTEXT, 1);
    expect_example(&ds.ex[1], &t);
    rk_dataset_free(&ds);
    tmpdir_free(d);
}

Test(dataset, batches_shift_targets_and_pad) {
    char *d = tokenizer_dir(NULL);
    rk_dataset ds =
        load(d, "{\"prompt\": \"ab\", \"completion\": \"c\"}\n{\"prompt\": \"\", \"completion\": \"xyzw\"}\n",
             SFT_CHATML);
    size_t rows[2] = {0, 1};
    int32_t tokens[2 * 1024], targets[2 * 1024];
    int T = rk_dataset_batch(&ds, rows, 2, 99, tokens, targets);
    cr_assert_eq(T, 5, "the longer row: x y z w <eos>");
    int32_t want_tok[10] = {'a', 'b', 'c', ENDOFTEXT, 99, 'x', 'y', 'z', 'w', ENDOFTEXT};
    int32_t want_tg[10] = {-1, 'c', ENDOFTEXT, -1, -1, 'y', 'z', 'w', ENDOFTEXT, -1};
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(tokens[i], want_tok[i], "token %d", i);
        cr_assert_eq(targets[i], want_tg[i], "target %d", i);
    }
    rk_dataset_free(&ds);
    tmpdir_free(d);
}

Test(dataset, truncation_counts_and_drop_long_drops) {
    char *d = tokenizer_dir(NULL);
    const char *data = "{\"text\": \"0123456789\"}\n{\"text\": \"ab\"}\n";
    rk_data_opts o = {.objective = RK_OBJ_LM, .tpl = RK_TPL_PLAIN, .max_len = 6};
    rk_dataset ds = load(d, data, o);
    cr_assert_eq(ds.n, 2);
    cr_assert_eq(ds.truncated, 1);
    cr_assert_eq(ds.ex[0].n, 6);
    rk_dataset_free(&ds);
    o.drop_long = 1;
    ds = load(d, data, o);
    cr_assert_eq(ds.n, 1);
    cr_assert_eq(ds.dropped, 1);
    cr_assert_eq(ds.ex[0].n, 3, "a b <eos>");
    rk_dataset_free(&ds);
    tmpdir_free(d);
}

Test(dataset, packing_cuts_the_stream_into_blocks) {
    char *d = tokenizer_dir(NULL);
    rk_data_opts o = {.objective = RK_OBJ_LM, .tpl = RK_TPL_PLAIN, .max_len = 4, .packing = 1};
    rk_dataset ds = load(d, "{\"text\": \"abc\"}\n{\"text\": \"de\"}\n{\"text\": \"f\"}\n", o);
    /* a b c E d e E f E: blocks of 4, 4 and 1; a block of one token has
     * nothing to predict and is dropped */
    cr_assert_eq(ds.n, 2);
    cr_assert_eq(ds.dropped, 1);
    int32_t want[9] = {'a', 'b', 'c', ENDOFTEXT, 'd', 'e', ENDOFTEXT, 'f', ENDOFTEXT};
    size_t k = 0;
    for (size_t i = 0; i < ds.n; i++)
        for (size_t j = 0; j < ds.ex[i].n; j++)
            cr_assert_eq(ds.ex[i].ids[j], want[k++]);
    cr_assert_eq(k, 8);
    cr_assert_eq(ds.truncated, 0);
    rk_dataset_free(&ds);
    tmpdir_free(d);
}

static void expect_bad(const char *jsonl, const char *where, const char *what) {
    char *d = tokenizer_dir(NULL);
    rk_tokenizer *t = load_tok(d);
    char *path = write_text(d, "bad.jsonl", jsonl), want[700];
    rk_dataset ds;
    rk_error e = {0};
    cr_assert_eq(rk_dataset_load(path, t, &SFT_CHATML, &ds, &e), RK_EFORMAT, "%s", e.msg);
    snprintf(want, sizeof want, "%s:%s", path, where);
    cr_assert(strstr(e.msg, want) == e.msg, "message \"%s\" should start with %s", e.msg, want);
    cr_assert(strstr(e.msg, what), "message \"%s\" should say %s", e.msg, what);
    cr_assert_eq(ds.n, 0);
    free(path);
    rk_tok_free(t);
    tmpdir_free(d);
}

Test(dataset, bad_lines_name_file_and_line) {
    expect_bad("{\"text\": \"ok\"}\n{not json\n", "2", "line 1");
    expect_bad("{\"text\": \"ok\"}\n\n{\"question\": \"q\"}\n", "3", "none of the fields");
    expect_bad("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n", "1", "dpo");
    expect_bad("[1, 2]\n", "1", "not a JSON object");
    expect_bad("{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}]}\n", "1", "no assistant message");
}

Test(dataset, missing_file_and_empty_file) {
    char *d = tokenizer_dir(NULL);
    rk_tokenizer *t = load_tok(d);
    rk_dataset ds;
    rk_error e = {0};
    cr_assert_eq(rk_dataset_load("/nonexistent/x.jsonl", t, &SFT_CHATML, &ds, &e), RK_ENOTFOUND);
    char *path = write_text(d, "empty.jsonl", "\n\n");
    cr_assert_eq(rk_dataset_load(path, t, &SFT_CHATML, &ds, &e), RK_EFORMAT);
    cr_assert(strstr(e.msg, "no examples"), "%s", e.msg);
    free(path);
    rk_tok_free(t);
    tmpdir_free(d);
}

Test(dataset, template_detected_from_tokenizer_config) {
    rk_template tpl;
    rk_error e = {0};
    char *d = tokenizer_dir("{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}");
    cr_assert_eq(rk_template_detect(d, &tpl, &e), RK_OK, "%s", e.msg);
    cr_assert_eq(tpl, RK_TPL_CHATML);
    tmpdir_free(d);
    d = tokenizer_dir("<|start_header_id|>{{ role }}");
    cr_assert_eq(rk_template_detect(d, &tpl, &e), RK_OK);
    cr_assert_eq(tpl, RK_TPL_LLAMA3);
    tmpdir_free(d);
    d = tokenizer_dir(NULL);
    cr_assert_eq(rk_template_detect(d, &tpl, &e), RK_OK);
    cr_assert_eq(tpl, RK_TPL_PLAIN);
    tmpdir_free(d);
    d = tokenizer_dir(NULL); /* transformers >= 4.43 writes the template to its own file */
    free(write_text(d, "chat_template.jinja", "{{ '<|im_start|>' + message['role'] }}"));
    cr_assert_eq(rk_template_detect(d, &tpl, &e), RK_OK);
    cr_assert_eq(tpl, RK_TPL_CHATML);
    tmpdir_free(d);
    d = tokenizer_dir("[INST] {{ m }} [/INST]");
    cr_assert_eq(rk_template_detect(d, &tpl, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "--template"), "%s", e.msg);
    tmpdir_free(d);
}

Test(dataset, generation_prompt_opens_the_assistant_turn) {
    char *d = tokenizer_dir(NULL);
    rk_tokenizer *t = load_tok(d);
    rk_ids ids = {0};
    cr_assert_eq(rk_template_prompt(t, RK_TPL_CHATML, 1, NULL, "q", &ids, NULL), RK_OK);
    seq w = {0};
    add_tok(&w, IM_START, 0);
    add_text(&w, "user\nq", 0);
    add_tok(&w, IM_END, 0);
    add_text(&w, "\n", 0);
    add_tok(&w, IM_START, 0);
    add_text(&w, "assistant\n", 0);
    cr_assert_eq(ids.n, w.n);
    for (size_t i = 0; i < w.n; i++)
        cr_assert_eq(ids.v[i], w.ids[i], "id %zu", i);
    rk_ids_free(&ids);
    rk_tok_free(t);
    tmpdir_free(d);
}

Test(dataset, epoch_order_is_a_seeded_permutation) {
    size_t a[100], b[100], c[100];
    rk_dataset_order(a, 100, 7, 0);
    rk_dataset_order(b, 100, 7, 0);
    rk_dataset_order(c, 100, 7, 1);
    cr_assert_arr_eq(a, b, sizeof a);
    cr_assert(memcmp(a, c, sizeof a), "another epoch, another order");
    int seen[100] = {0};
    for (int i = 0; i < 100; i++)
        seen[a[i]]++;
    for (int i = 0; i < 100; i++)
        cr_assert_eq(seen[i], 1);
}
