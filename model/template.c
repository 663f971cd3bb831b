/* template.c — chat templates: recognizing a model's, and rendering
 * conversations as text runs with a loss flag, tokenized run by run so the
 * flag falls exactly on token boundaries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/file.h"
#include "raftkit/json.h"
#include "raftkit/template.h"

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

void rk_runs_put(rk_runs *r, const char *s, size_t n, int counted) {
    if (!r->n || r->v[r->n - 1].counted != counted) {
        if (r->n == r->cap) {
            size_t cap = r->cap ? 2 * r->cap : 8;
            rk_run *v = realloc(r->v, cap * sizeof *v);
            if (!v) {
                r->oom = 1;
                return;
            }
            r->v = v, r->cap = cap;
        }
        r->v[r->n++] = (rk_run){{0}, counted};
    }
    rk_buf_put(&r->v[r->n - 1].text, s, n);
}
static void puts_(rk_runs *r, const char *s, int counted) { rk_runs_put(r, s, strlen(s), counted); }

void rk_runs_free(rk_runs *r) {
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].text.p);
    free(r->v);
}

void rk_template_turn(rk_runs *r, rk_template tpl, const char *role, const char *content, int sft,
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
        rk_runs_put(r, content, n, counted);
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

int32_t rk_template_bos(const rk_tokenizer *tok) {
    int32_t bos = rk_tok_bos(tok);
    return bos == rk_tok_eos(tok) ? -1 : bos;
}

rk_status rk_runs_encode(const rk_tokenizer *tok, const rk_runs *r, int32_t bos, rk_ids *ids, rk_buf *mask,
                         rk_error *err) {
    if (bos >= 0) {
        rk_ids_put(ids, &bos, 1);
        rk_buf_put(mask, "\0", 1);
    }
    for (size_t i = 0; i < r->n; i++) {
        size_t before = ids->n;
        rk_status st = rk_tok_encode(tok, r->v[i].text.p ? r->v[i].text.p : "", r->v[i].text.n, ids, err);
        if (st) return st;
        char *m = rk_buf_reserve(mask, ids->n - before);
        if (!m) break;
        memset(m, r->v[i].counted, ids->n - before);
        mask->n += ids->n - before;
    }
    return ids->oom || mask->oom ? rk_fail(err, RK_ENOMEM, "out of memory") : RK_OK;
}

rk_status rk_template_prompt(const rk_tokenizer *tok, rk_template tpl, int chat, const char *system,
                             const char *text, rk_ids *ids, rk_error *err) {
    rk_runs r = {0};
    if (!chat)
        puts_(&r, text, 0);
    else {
        if (system) rk_template_turn(&r, tpl, "system", system, 1, NULL);
        rk_template_turn(&r, tpl, "user", text, 1, NULL);
        static const char *const OPEN[] = {"", "<|im_start|>assistant\n",
                                           "<|start_header_id|>assistant<|end_header_id|>\n\n"};
        puts_(&r, OPEN[tpl], 0);
    }
    rk_buf mask = {0};
    rk_status s = r.oom ? rk_fail(err, RK_ENOMEM, "out of memory")
                        : rk_runs_encode(tok, &r, rk_template_bos(tok), ids, &mask, err);
    rk_runs_free(&r);
    free(mask.p);
    return s;
}
