/* data.c — JSONL records to masked token sequences, and batches of them.
 *
 * A record is first rendered as a list of text runs, each marked as counted
 * in the loss or not; each run is then tokenized on its own, so the mask
 * falls exactly on token boundaries. Runs are cut where the template puts a
 * special token or a newline, so tokenizing them apart gives the ids that
 * tokenizing the whole text would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/buf.h"
#include "raftkit/dataset.h"
#include "raftkit/file.h"
#include "raftkit/json.h"
#include "raftkit/rng.h"

static const char *const TEMPLATE_NAMES[] = {"plain", "chatml", "llama3"};

rk_status rk_template_parse(const char *name, rk_template *out, rk_error *err) {
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, TEMPLATE_NAMES[i])) {
            *out = (rk_template)i;
            return RK_OK;
        }
    return rk_fail(err, RK_EINVAL, "unknown chat template \"%s\" (choose plain, chatml or llama3)", name);
}

const char *rk_template_name(rk_template t) { return (unsigned)t < 3 ? TEMPLATE_NAMES[t] : "?"; }

rk_status rk_template_detect(const char *model_dir, rk_template *out, rk_error *err) {
    char path[4096];
    char *text = NULL;
    size_t n;
    json_t *cfg = NULL;
    const char *tpl = NULL;
    rk_error e;
    *out = RK_TPL_PLAIN;
    /* transformers 4.43 and later save the template in its own file. */
    snprintf(path, sizeof path, "%s/chat_template.jinja", model_dir);
    rk_status s = rk_file_read(path, &text, &n, &e);
    if (!s) {
        tpl = text;
    } else if (s != RK_ENOTFOUND) {
        return rk_fail(err, s, "%s", e.msg);
    } else {
        snprintf(path, sizeof path, "%s/tokenizer_config.json", model_dir);
        if ((s = rk_file_read(path, &text, &n, &e)) == RK_ENOTFOUND) return RK_OK;
        if (s) return rk_fail(err, s, "%s", e.msg);
        s = rk_json_parse(text, n, path, &cfg, err);
        if (s) {
            free(text);
            return s;
        }
        json_t *ct = json_object_get(cfg, "chat_template"), *v;
        tpl = json_string_value(ct);
        size_t i;
        /* Some files keep a list of named templates; the "default" one counts. */
        json_array_foreach(ct, i, v) {
            const char *name = json_string_value(json_object_get(v, "name"));
            if (name && !strcmp(name, "default")) tpl = json_string_value(json_object_get(v, "template"));
        }
    }
    if (!tpl)
        *out = RK_TPL_PLAIN;
    else if (strstr(tpl, "<|im_start|>"))
        *out = RK_TPL_CHATML;
    else if (strstr(tpl, "<|start_header_id|>"))
        *out = RK_TPL_LLAMA3;
    else
        s = rk_fail(err, RK_EINVAL,
                    "%s: the chat template is neither chatml nor llama3; choose one with --template "
                    "(plain, chatml, llama3)",
                    path);
    json_decref(cfg);
    free(text);
    return s;
}

/* ---- rendering: text runs with a loss flag ---- */

typedef struct run {
    rk_buf text;
    int counted;
} run;

typedef struct runs {
    run *v;
    size_t n, cap;
    int oom;
} runs;

/* Appends text to the last run when it has the same flag, else starts one. */
static void put(runs *r, const char *s, size_t n, int counted) {
    if (!r->n || r->v[r->n - 1].counted != counted) {
        if (r->n == r->cap) {
            size_t cap = r->cap ? 2 * r->cap : 8;
            run *v = realloc(r->v, cap * sizeof *v);
            if (!v) {
                r->oom = 1;
                return;
            }
            r->v = v, r->cap = cap;
        }
        r->v[r->n++] = (run){{0}, counted};
    }
    rk_buf_put(&r->v[r->n - 1].text, s, n);
}
static void puts_(runs *r, const char *s, int counted) { put(r, s, strlen(s), counted); }

static void runs_free(runs *r) {
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].text.p);
    free(r->v);
}

/* One chat turn in the template's markup; assistant content and the token
 * that closes it count under sft. eos is the tokenizer's EOS text, used by
 * the plain template. */
static void render_turn(runs *r, rk_template tpl, const char *role, const char *content, int sft,
                        const char *eos) {
    int asst = !strcmp(role, "assistant"), counted = asst || !sft;
    switch (tpl) {
    case RK_TPL_CHATML:
        puts_(r, "<|im_start|>", !sft);
        puts_(r, role, !sft);
        puts_(r, "\n", !sft);
        puts_(r, content, counted);
        puts_(r, "<|im_end|>", counted);
        puts_(r, "\n", !sft);
        break;
    case RK_TPL_LLAMA3: {
        puts_(r, "<|start_header_id|>", !sft);
        puts_(r, role, !sft);
        puts_(r, "<|end_header_id|>\n\n", !sft);
        /* The llama3 template trims each message. */
        while (*content == ' ' || *content == '\n' || *content == '\t' || *content == '\r')
            content++;
        size_t n = strlen(content);
        while (n && strchr(" \n\t\r", content[n - 1]))
            n--;
        put(r, content, n, counted);
        puts_(r, "<|eot_id|>", counted);
        break;
    }
    case RK_TPL_PLAIN:
        if (asst) {
            puts_(r, content, counted);
            if (eos) puts_(r, eos, counted);
        } else {
            puts_(r, content, counted);
            puts_(r, !strcmp(role, "system") ? "\n\n" : "\n", counted);
        }
        break;
    }
}

static const char *str_field(json_t *j, const char *k) { return json_string_value(json_object_get(j, k)); }

/* Renders one record; a non-NULL return is what is wrong with it. */
static const char *render(json_t *j, const rk_data_opts *o, const char *eos, runs *r) {
    int sft = o->objective == RK_OBJ_SFT;
    json_t *msgs = json_object_get(j, "messages");
    if (json_object_get(j, "chosen") || json_object_get(j, "rejected"))
        return "a preference (dpo) record: lm and sft train on messages, prompt/completion, alpaca, raft or "
               "text records";
    if (msgs) {
        if (!json_is_array(msgs) || !json_array_size(msgs)) return "\"messages\" is not a non-empty array";
        json_t *m;
        size_t i;
        int asst = 0;
        json_array_foreach(msgs, i, m) {
            const char *role = str_field(m, "role"), *content = str_field(m, "content");
            if (!role || !content) return "a message lacks a string \"role\" or \"content\"";
            if (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant"))
                return "a message's role is not system, user or assistant";
            asst |= !strcmp(role, "assistant");
            render_turn(r, o->tpl, role, content, sft, eos);
        }
        return asst || !sft ? NULL : "no assistant message to learn";
    }
    const char *ins = str_field(j, "instruction"), *cot = str_field(j, "cot_answer");
    const char *prompt = str_field(j, "prompt"), *completion = str_field(j, "completion");
    const char *output = str_field(j, "output"), *text = str_field(j, "text");
    if (ins && (cot || output)) { /* raft, alpaca */
        const char *input = cot ? NULL : str_field(j, "input");
        rk_buf user = {0};
        rk_buf_put(&user, ins, strlen(ins));
        if (input && *input) {
            rk_buf_put(&user, "\n\n", 2);
            rk_buf_put(&user, input, strlen(input));
        }
        if (user.oom) return "out of memory";
        render_turn(r, o->tpl, "user", user.p, sft, eos);
        render_turn(r, o->tpl, "assistant", cot ? cot : output, sft, eos);
        free(user.p);
        return NULL;
    }
    if (prompt && completion) {
        puts_(r, prompt, !sft);
        puts_(r, completion, 1);
        if (eos) puts_(r, eos, 1);
        return NULL;
    }
    if (text) {
        puts_(r, text, 1);
        if (eos) puts_(r, eos, 1);
        return NULL;
    }
    return "none of the fields of a known format (messages; instruction + cot_answer; prompt + completion; "
           "instruction + output; text)";
}

/* ---- examples ---- */

typedef struct seqbuf {
    rk_ids ids;
    rk_buf mask;
} seqbuf;

static rk_status tokenize(const rk_tokenizer *tok, const runs *r, int32_t bos, seqbuf *s, rk_error *err) {
    if (bos >= 0) {
        rk_ids_put(&s->ids, &bos, 1);
        rk_buf_put(&s->mask, "\0", 1);
    }
    for (size_t i = 0; i < r->n; i++) {
        size_t before = s->ids.n;
        rk_status st = rk_tok_encode(tok, r->v[i].text.p ? r->v[i].text.p : "", r->v[i].text.n, &s->ids, err);
        if (st) return st;
        char *m = rk_buf_reserve(&s->mask, s->ids.n - before);
        if (!m) break;
        memset(m, r->v[i].counted, s->ids.n - before);
        s->mask.n += s->ids.n - before;
    }
    return s->ids.oom || s->mask.oom ? rk_fail(err, RK_ENOMEM, "out of memory") : RK_OK;
}

static rk_status add_example(rk_dataset *d, size_t *cap, const int32_t *ids, const uint8_t *mask, size_t n,
                             rk_error *err) {
    size_t counted = 0;
    for (size_t i = 1; i < n; i++)
        counted += mask[i];
    if (!counted) { /* nothing to learn: a batch of these would have no loss */
        d->dropped++;
        return RK_OK;
    }
    if (d->n == *cap) {
        size_t c = *cap ? 2 * *cap : 256;
        rk_example *v = realloc(d->ex, c * sizeof *v);
        if (!v) return rk_fail(err, RK_ENOMEM, "out of memory");
        d->ex = v, *cap = c;
    }
    rk_example *e = &d->ex[d->n];
    e->ids = malloc(n * sizeof *e->ids);
    e->mask = malloc(n);
    if (!e->ids || !e->mask) {
        free(e->ids), free(e->mask);
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    memcpy(e->ids, ids, n * sizeof *ids);
    memcpy(e->mask, mask, n);
    e->n = n;
    d->n++;
    d->tokens += n;
    d->targets += counted;
    return RK_OK;
}

/* BOS is prepended when the tokenizer has one that is not also its EOS. */
static int32_t bos_of(const rk_tokenizer *tok) {
    int32_t bos = rk_tok_bos(tok);
    return bos == rk_tok_eos(tok) ? -1 : bos;
}

rk_status rk_dataset_prompt(const rk_tokenizer *tok, rk_template tpl, int chat, const char *text, rk_ids *out,
                            rk_error *err) {
    runs r = {0};
    if (!chat)
        puts_(&r, text, 0);
    else {
        render_turn(&r, tpl, "user", text, 1, NULL);
        static const char *const OPEN[] = {"", "<|im_start|>assistant\n",
                                           "<|start_header_id|>assistant<|end_header_id|>\n\n"};
        puts_(&r, OPEN[tpl], 0);
    }
    seqbuf sb = {{0}, {0}};
    rk_status s = r.oom ? rk_fail(err, RK_ENOMEM, "out of memory") : tokenize(tok, &r, bos_of(tok), &sb, err);
    if (!s) rk_ids_put(out, sb.ids.v, sb.ids.n);
    runs_free(&r);
    rk_ids_free(&sb.ids);
    free(sb.mask.p);
    return s;
}

rk_status rk_dataset_load(const char *path, const rk_tokenizer *tok, const rk_data_opts *o, rk_dataset *d,
                          rk_error *err) {
    memset(d, 0, sizeof *d);
    if (o->max_len < 2) return rk_fail(err, RK_EINVAL, "--max-len must be at least 2");
    char *text;
    size_t len;
    rk_status s = rk_file_read(path, &text, &len, err);
    if (s) return s;
    int32_t bos = bos_of(tok), eos_id = rk_tok_eos(tok);
    rk_buf eos = {0};
    if (eos_id >= 0 && (s = rk_tok_decode(tok, &eos_id, 1, 0, &eos, err))) {
        free(text);
        return s;
    }
    size_t cap = 0, line = 0;
    seqbuf pack = {{0}, {0}}; /* packing: the stream not yet cut into blocks */
    for (char *p = text; !s && p < text + len;) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p)), *end = nl ? nl : text + len;
        line++;
        char *q = p;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q == end) {
            p = end + 1;
            continue;
        }
        char what[4200];
        snprintf(what, sizeof what, "%s:%zu", path, line);
        json_t *j;
        if ((s = rk_json_parse(p, (size_t)(end - p), what, &j, err))) break;
        d->records++;
        runs r = {0};
        const char *bad = json_is_object(j) ? render(j, o, eos.p, &r) : "not a JSON object";
        if (!bad && r.oom) bad = "out of memory";
        json_decref(j);
        seqbuf sb = {{0}, {0}};
        if (bad)
            s = rk_fail(err, RK_EFORMAT, "%s: %s", what, bad);
        else if (!(s = tokenize(tok, &r, bos, &sb, err))) {
            const uint8_t *mask = (const uint8_t *)sb.mask.p;
            if (o->packing) {
                rk_ids_put(&pack.ids, sb.ids.v, sb.ids.n);
                rk_buf_put(&pack.mask, sb.mask.p, sb.mask.n);
            } else if (sb.ids.n <= (size_t)o->max_len) {
                s = add_example(d, &cap, sb.ids.v, mask, sb.ids.n, err);
            } else if (o->drop_long) {
                d->dropped++;
            } else {
                d->truncated++;
                s = add_example(d, &cap, sb.ids.v, mask, (size_t)o->max_len, err);
            }
        }
        runs_free(&r);
        rk_ids_free(&sb.ids);
        free(sb.mask.p);
        p = end + 1;
    }
    /* Packing cuts the stream into max_len blocks; the last may be shorter. */
    if (!s && (pack.ids.oom || pack.mask.oom)) s = rk_fail(err, RK_ENOMEM, "out of memory");
    for (size_t at = 0; !s && at < pack.ids.n; at += (size_t)o->max_len) {
        size_t n = pack.ids.n - at < (size_t)o->max_len ? pack.ids.n - at : (size_t)o->max_len;
        s = add_example(d, &cap, pack.ids.v + at, (const uint8_t *)pack.mask.p + at, n, err);
    }
    rk_ids_free(&pack.ids);
    free(pack.mask.p);
    free(eos.p);
    free(text);
    if (!s && !d->n) s = rk_fail(err, RK_EFORMAT, "%s: no examples to train on", path);
    if (s) rk_dataset_free(d);
    return s;
}

void rk_dataset_free(rk_dataset *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++)
        free(d->ex[i].ids), free(d->ex[i].mask);
    free(d->ex);
    memset(d, 0, sizeof *d);
}

int rk_dataset_batch(const rk_dataset *d, const size_t *rows, int B, int32_t pad, int32_t *tokens,
                     int32_t *targets) {
    size_t T = 1;
    for (int b = 0; b < B; b++)
        if (d->ex[rows[b]].n > T) T = d->ex[rows[b]].n;
    for (int b = 0; b < B; b++) {
        const rk_example *e = &d->ex[rows[b]];
        int32_t *tk = tokens + (size_t)b * T, *tg = targets + (size_t)b * T;
        for (size_t t = 0; t < T; t++) {
            tk[t] = t < e->n ? e->ids[t] : pad;
            tg[t] = t + 1 < e->n && e->mask[t + 1] ? e->ids[t + 1] : -1;
        }
    }
    return (int)T;
}

void rk_dataset_order(size_t *order, size_t n, uint64_t seed, uint64_t epoch) {
    uint64_t rng = rk_rng_derive(seed, epoch);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) { /* Fisher-Yates */
        size_t k = rk_rng_below(&rng, i), t = order[i - 1];
        order[i - 1] = order[k];
        order[k] = t;
    }
}
