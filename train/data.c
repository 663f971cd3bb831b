/* data.c — JSONL records to masked token sequences, and batches of them.
 * A record is rendered as text runs through its chat template (template.h),
 * each marked as counted in the loss or not, and tokenized run by run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/buf.h"
#include "raftkit/dataset.h"
#include "raftkit/file.h"
#include "raftkit/json.h"
#include "raftkit/rng.h"

static void put_str(rk_runs *r, const char *s, int counted) { rk_runs_put(r, s, strlen(s), counted); }

static const char *str_field(json_t *j, const char *k) { return json_string_value(json_object_get(j, k)); }

/* Renders one record; a non-NULL return is what is wrong with it. */
static const char *render(json_t *j, const rk_data_opts *o, const char *eos, rk_runs *r) {
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
            rk_template_turn(r, o->tpl, role, content, sft, eos);
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
        rk_template_turn(r, o->tpl, "user", user.p, sft, eos);
        rk_template_turn(r, o->tpl, "assistant", cot ? cot : output, sft, eos);
        free(user.p);
        return NULL;
    }
    if (prompt && completion) {
        put_str(r, prompt, !sft);
        put_str(r, completion, 1);
        if (eos) put_str(r, eos, 1);
        return NULL;
    }
    if (text) {
        put_str(r, text, 1);
        if (eos) put_str(r, eos, 1);
        return NULL;
    }
    return "none of the fields of a known format (messages; instruction + cot_answer; prompt + completion; "
           "instruction + output; text)";
}

/* ---- examples ---- */

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

rk_status rk_dataset_load(const char *path, const rk_tokenizer *tok, const rk_data_opts *o, rk_dataset *d,
                          rk_error *err) {
    memset(d, 0, sizeof *d);
    if (o->max_len < 2) return rk_fail(err, RK_EINVAL, "--max-len must be at least 2");
    char *text;
    size_t len;
    rk_status s = rk_file_read(path, &text, &len, err);
    if (s) return s;
    int32_t bos = rk_template_bos(tok), eos_id = rk_tok_eos(tok);
    rk_buf eos = {0};
    if (eos_id >= 0 && (s = rk_tok_decode(tok, &eos_id, 1, 0, &eos, err))) {
        free(text);
        return s;
    }
    size_t cap = 0;
    rk_ids pack = {0}; /* packing: the stream not yet cut into blocks, and its mask */
    rk_buf pack_mask = {0};
    rk_jsonl lines;
    rk_jsonl_init(&lines, path, text, len);
    for (json_t *j; !s && !(s = rk_jsonl_next(&lines, &j, err)) && j;) {
        const char *what = lines.where;
        d->records++;
        rk_runs r = {0};
        const char *bad = json_is_object(j) ? render(j, o, eos.p, &r) : "not a JSON object";
        if (!bad && r.oom) bad = "out of memory";
        json_decref(j);
        rk_ids ids = {0};
        rk_buf mask = {0};
        if (bad)
            s = rk_fail(err, RK_EFORMAT, "%s: %s", what, bad);
        else if (!(s = rk_runs_encode(tok, &r, bos, &ids, &mask, err))) {
            const uint8_t *m = (const uint8_t *)mask.p;
            if (o->packing) {
                rk_ids_put(&pack, ids.v, ids.n);
                rk_buf_put(&pack_mask, mask.p, mask.n);
            } else if (ids.n <= (size_t)o->max_len) {
                s = add_example(d, &cap, ids.v, m, ids.n, err);
            } else if (o->drop_long) {
                d->dropped++;
            } else {
                d->truncated++;
                s = add_example(d, &cap, ids.v, m, (size_t)o->max_len, err);
            }
        }
        rk_runs_free(&r);
        rk_ids_free(&ids);
        free(mask.p);
    }
    /* Packing cuts the stream into max_len blocks; the last may be shorter. */
    if (!s && (pack.oom || pack_mask.oom)) s = rk_fail(err, RK_ENOMEM, "out of memory");
    for (size_t at = 0; !s && at < pack.n; at += (size_t)o->max_len) {
        size_t n = pack.n - at < (size_t)o->max_len ? pack.n - at : (size_t)o->max_len;
        s = add_example(d, &cap, pack.v + at, (const uint8_t *)pack_mask.p + at, n, err);
    }
    rk_ids_free(&pack);
    free(pack_mask.p);
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
