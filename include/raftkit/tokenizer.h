/* tokenizer.h — text to token ids and back, from a Hugging Face
 * tokenizer.json, giving the ids the Python `tokenizers` library gives.
 *
 * Two model kinds are read:
 *   - byte-level BPE (GPT-2, Llama 3, Qwen2, SmolLM): the pre-tokenizer's
 *     split pattern is recognized among the known ones and run as a scanner
 *     over utf8proc categories (no regex library); bytes are mapped to
 *     GPT-2's printable code points; merges in either encoding ("a b" or
 *     ["a", "b"]); ignore_merges.
 *   - SentencePiece-style BPE (Llama 2, Mistral): the "▁" normalizer and
 *     prepend, byte fallback to <0xNN> pieces.
 * Added tokens (special or not) are matched in the text first, longest
 * first, and never split.
 *
 * Encoding adds nothing: no BOS or EOS (Python's add_special_tokens=False).
 * Callers that want them add rk_tok_bos()/rk_tok_eos() themselves. */
#ifndef RAFTKIT_TOKENIZER_H
#define RAFTKIT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/buf.h"
#include "raftkit/status.h"

/* A growable vector of token ids. Zero-initialize; free with rk_ids_free(). */
typedef struct rk_ids {
    int32_t *v; /* the owner frees it, with rk_ids_free() */
    size_t n, cap;
    int oom; /* an append failed, as in rk_buf: later ones do nothing */
} rk_ids;

/* Appends v[0..n); out of memory sets ids->oom (checked once at the end). */
void rk_ids_put(rk_ids *ids, const int32_t *v, size_t n);
/* Frees the array and zeroes ids. */
void rk_ids_free(rk_ids *ids);

typedef struct rk_tokenizer rk_tokenizer;

/* Loads path: a tokenizer.json file, or a model directory holding one. From a
 * directory, tokenizer_config.json (when present) names the BOS and EOS
 * tokens ("bos_token"/"eos_token", a string or {"content": ...}).
 * Fails with RK_ENOTFOUND (no tokenizer.json), RK_EFORMAT (malformed, or a
 * model type or pre-tokenizer pattern this module does not know: the message
 * names the file, what it found and what is supported), RK_EIO, RK_ENOMEM. */
rk_status rk_tok_load(const char *path, rk_tokenizer **out, rk_error *err);
void rk_tok_free(rk_tokenizer *t);

/* Appends the ids of text[0..len) to out. Invalid UTF-8 bytes are encoded as
 * the bytes they are (byte-level) or through byte fallback. */
rk_status rk_tok_encode(const rk_tokenizer *t, const char *text, size_t len, rk_ids *out, rk_error *err);

/* Appends the text of ids[0..n) to out, as the Python library's
 * decode(ids, skip_special_tokens=skip_special). Byte sequences that do not
 * form valid UTF-8 decode to U+FFFD. Fails with RK_EINVAL on an id out of
 * range. */
rk_status rk_tok_decode(const rk_tokenizer *t, const int32_t *ids, size_t n, int skip_special, rk_buf *out,
                        rk_error *err);

/* Number of ids (the model vocabulary plus added tokens): ids are in
 * [0, rk_tok_vocab_size). */
size_t rk_tok_vocab_size(const rk_tokenizer *t);

/* The id of a token's exact string (vocabulary or added token), or -1. */
int32_t rk_tok_id(const rk_tokenizer *t, const char *token);

/* BOS and EOS ids, -1 when the tokenizer has none. */
int32_t rk_tok_bos(const rk_tokenizer *t);
int32_t rk_tok_eos(const rk_tokenizer *t);

/* Whether id is a special added token (skipped by skip_special decoding). */
int rk_tok_is_special(const rk_tokenizer *t, int32_t id);

#endif
