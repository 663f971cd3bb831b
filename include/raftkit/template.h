/* template.h — the chat templates raftkit renders (chatml, llama3, plain),
 * how a model directory's own template is recognized, and the text a
 * conversation becomes: runs of text, each marked as counted in a training
 * loss or not, tokenized run by run. Training (dataset.h) and generation
 * prompts (raft-train generate, raft-eval) render through the same code, so
 * a model is asked in exactly the markup it was trained on. */
#ifndef RAFTKIT_TEMPLATE_H
#define RAFTKIT_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/buf.h"
#include "raftkit/status.h"
#include "raftkit/tokenizer.h"

typedef enum rk_template { RK_TPL_PLAIN = 0, RK_TPL_CHATML = 1, RK_TPL_LLAMA3 = 2 } rk_template;

/* "plain", "chatml", "llama3" → *out; RK_EINVAL naming the choices otherwise. */
rk_status rk_template_parse(const char *name, rk_template *out, rk_error *err);
const char *rk_template_name(rk_template t);

/* The template the model directory's chat template (chat_template.jinja, else
 * tokenizer_config.json's "chat_template") is: chatml when it
 * writes <|im_start|>, llama3 when it writes <|start_header_id|>, plain when
 * the model directory has no chat template. RK_EINVAL when it has one of
 * another kind (the message asks for --template). */
rk_status rk_template_detect(const char *model_dir, rk_template *out, rk_error *err);

/* Rendered text: runs, each counted in the loss or not. Runs are cut where
 * the template puts a special token or a newline, so tokenizing them apart
 * gives the ids that tokenizing the whole text would. */
typedef struct rk_run {
    rk_buf text;
    int counted;
} rk_run;

typedef struct rk_runs {
    rk_run *v;
    size_t n, cap;
    int oom; /* an append failed */
} rk_runs;

/* Appends s[0..n) to the last run when it has the same flag, else starts one. */
void rk_runs_put(rk_runs *r, const char *s, size_t n, int counted);
void rk_runs_free(rk_runs *r);

/* One chat turn (role "system", "user" or "assistant") in the template's
 * markup. With sft only the assistant's content and the token that closes
 * it count; without, everything does. eos is the tokenizer's EOS text, which
 * closes an assistant turn in the plain template (NULL: nothing). */
void rk_template_turn(rk_runs *r, rk_template tpl, const char *role, const char *content, int sft,
                      const char *eos);

/* The BOS id a sequence starts with: the tokenizer's when it has one
 * distinct from EOS (as Llama's tokenizers do and GPT-2's and Qwen2's do
 * not), else -1. */
int32_t rk_template_bos(const rk_tokenizer *tok);

/* Appends bos (when >= 0) and the tokens of each run to ids, and one mask
 * byte per token (the run's flag, 0 for BOS) to mask. */
rk_status rk_runs_encode(const rk_tokenizer *tok, const rk_runs *r, int32_t bos, rk_ids *ids, rk_buf *mask,
                         rk_error *err);

/* Appends to ids a generation prompt encoded as training encodes its
 * records: BOS by the same rule, then with chat a system turn (when system
 * is not NULL), a user turn of text and the opening of the assistant's turn,
 * else text as it is. */
rk_status rk_template_prompt(const rk_tokenizer *tok, rk_template tpl, int chat, const char *system,
                             const char *text, rk_ids *ids, rk_error *err);

#endif
