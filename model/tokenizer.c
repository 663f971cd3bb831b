/* tokenizer.c — Hugging Face tokenizer.json (BPE models) read and run, text
 * to ids and back, giving what the Python `tokenizers` library gives.
 *
 * The parts of tokenizer.json this reads (everything else, post_processor,
 * truncation and padding included, is ignored: encoding adds nothing):
 *
 *   "added_tokens": [{"id": 128000, "content": "<|begin_of_text|>",
 *                     "single_word": false, "lstrip": false, "rstrip": false,
 *                     "normalized": false, "special": true}, ...]
 *                   ("id" is not what counts: the library numbers them again,
 *                   see load_added, and so does this)
 *   "normalizer":   null | {"type": "Sequence", "normalizers": [...]}
 *                   | {"type": "NFC"} (NFD, NFKC, NFKD)
 *                   | {"type": "Prepend", "prepend": "▁"}
 *                   | {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}
 *   "pre_tokenizer": null | {"type": "Sequence", "pretokenizers": [...]}
 *                   | {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true, ...}
 *                   | {"type": "Split", "pattern": {"Regex": "..."}, "behavior": "Isolated",
 *                      "invert": false}   (the GPT-2, Llama 3 and Qwen2 patterns)
 *                   | {"type": "Digits", "individual_digits": true}
 *                   | {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first",
 *                      "split": false}   (or the older "add_prefix_space": true)
 *   "decoder":      null | {"type": "Sequence", "decoders": [...]} | {"type": "ByteLevel"}
 *                   | {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}
 *                   | {"type": "ByteFallback"} | {"type": "Fuse"}
 *                   | {"type": "Strip", "content": " ", "start": 1, "stop": 0}
 *                   | {"type": "Metaspace", ...}
 *   "model":        {"type": "BPE", "vocab": {"token": id, ...},
 *                    "merges": ["a b", ...] or [["a", "b"], ...],
 *                    "unk_token": null | "<unk>", "byte_fallback": false, "fuse_unk": false,
 *                    "ignore_merges": false, "dropout": null,
 *                    "continuing_subword_prefix": null, "end_of_word_suffix": null}
 *
 * Encoding follows the library step by step:
 *   1. added tokens whose "normalized" is false are found in the raw text
 *      (leftmost, then longest; single_word, lstrip and rstrip as the library
 *      applies them) and emitted whole;
 *   2. each text between them is normalized, and the "normalized" added
 *      tokens (their content normalized too) are found in the result;
 *   3. each remaining text runs through the pre-tokenizer steps, each step
 *      cutting its input into pieces for the next (recursively, so nothing is
 *      kept longer than one piece needs); empty pieces are dropped;
 *   4. each final piece is one BPE word: characters looked up in the vocab
 *      (byte fallback, then the fused unknown token, for the ones that are
 *      not), then pairs merged lowest rank first, leftmost among equal ranks,
 *      through a heap over a linked list of symbols. Words seen earlier in
 *      the same call come from a cache (and a SentencePiece-style text, one
 *      word, is cut where no merge can cross; see model()).
 * Split patterns are not run by a regex engine: each known pattern is a
 * scanner written for it over Unicode general categories (utf8proc), with
 * the backtracking of the regex worked out by hand (see scan_gpt2 and
 * scan_llama3). Unicode White_Space stands for \s, as in Oniguruma.
 *
 * Decoding maps ids to token strings (an added token's content wins over
 * the vocab), drops those whose string is a special token's when asked, and runs the decoder steps over
 * the list of strings as the library does (ByteLevel joins everything and
 * turns invalid UTF-8 into U+FFFD per maximal invalid subsequence, like
 * Rust's from_utf8_lossy; ByteFallback turns a run of <0xNN> pieces that is
 * not valid UTF-8 into one U+FFFD per byte).
 *
 * Known differences: character classes and normalization come from
 * utf8proc's Unicode tables, which may be older or newer than the library's
 * (the library's NFKC differs from utf8proc's on about 130 code points, most
 * added in Unicode 14; \p{L} and \p{N} on characters added in Unicode 16);
 * NFC agrees on every code point. */
#define _GNU_SOURCE
#include "raftkit/tokenizer.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

#include "raftkit/file.h"
#include "raftkit/hash.h"
#include "raftkit/json.h"

#define MAX_STEPS 16       /* pre-tokenizer, normalizer or decoder steps after flattening */
#define CACHE_MAX_WORD 256 /* longer words are merged every time */
#define CACHE_MAX_BYTES ((size_t)64 << 20)

/* ---- ids ---- */

void rk_ids_put(rk_ids *ids, const int32_t *v, size_t n) {
    if (ids->oom || !n) return;
    if (ids->n + n > ids->cap) {
        size_t cap = ids->cap ? ids->cap : 64;
        while (cap < ids->n + n)
            cap *= 2;
        int32_t *nv = realloc(ids->v, cap * sizeof *nv);
        if (!nv) {
            ids->oom = 1;
            return;
        }
        ids->v = nv;
        ids->cap = cap;
    }
    memcpy(ids->v + ids->n, v, n * sizeof *v);
    ids->n += n;
}

void rk_ids_free(rk_ids *ids) {
    if (!ids) return;
    free(ids->v);
    memset(ids, 0, sizeof *ids);
}

/* ---- the tokenizer ---- */

enum { N_UNICODE, N_PREPEND, N_REPLACE };
typedef struct nstep {
    int kind;
    int uopts;   /* N_UNICODE: utf8proc options */
    char *a, *b; /* N_PREPEND: a; N_REPLACE: a -> b */
    size_t na, nb;
} nstep;

enum { PAT_GPT2, PAT_LLAMA3, PAT_QWEN2 };
enum { P_SPLIT, P_BYTELEVEL, P_DIGITS, P_METASPACE };
enum { PREPEND_NEVER, PREPEND_FIRST, PREPEND_ALWAYS };
typedef struct pstep {
    int kind;
    int pattern;                     /* P_SPLIT */
    int add_prefix_space, use_regex; /* P_BYTELEVEL */
    int individual;                  /* P_DIGITS */
    int prepend, split;              /* P_METASPACE */
    char rep[5];                     /* P_METASPACE: the replacement character, UTF-8 */
    size_t nrep;
} pstep;

enum { D_BYTELEVEL, D_REPLACE, D_BYTEFALLBACK, D_FUSE, D_STRIP, D_METASPACE };
typedef struct dstep {
    int kind;
    char *a, *b; /* D_REPLACE: a -> b */
    size_t na, nb;
    int32_t ch;         /* D_STRIP: the character; D_METASPACE: the replacement */
    size_t start, stop; /* D_STRIP */
    int prepend;        /* D_METASPACE */
} dstep;

typedef struct added {
    char *content; /* as written: what rk_tok_id() and the special check go by */
    size_t len;
    /* what is searched for and what decoding gives: content, normalized when
     * "normalized" and there is a normalizer (the library's normalized_cache) */
    char *match;
    size_t mlen;
    int32_t id;
    unsigned char special, single_word, lstrip, rstrip, normalized;
} added;

/* Open addressing over indices of an array of strings; slot = index + 1. */
typedef struct strtab {
    uint32_t *slot;
    size_t mask;
} strtab;

typedef struct merge {
    uint64_t key; /* a << 32 | b; UINT64_MAX when empty */
    uint32_t rank;
    int32_t id;
} merge;

struct rk_tokenizer {
    char *path; /* for messages */
    /* model vocab: id -> string (NULL where the vocab has no such id) */
    const char **vtok;
    uint32_t *vlen;
    char *arena;    /* the vocab strings, NUL-terminated */
    size_t n_ids;   /* the largest id of the vocab or an added token, plus one */
    size_t n_vocab; /* entries in the vocab */
    strtab vocab;
    merge *merges;
    size_t merge_mask;
    int32_t unk_id, byte_id[256];
    int byte_fallback, fuse_unk, ignore_merges;
    int meta_cut; /* no merge joins a character to a following "▁" (see model()) */
    /* added tokens, and per id the index of the one with that id (or -1) */
    added *added;
    size_t n_added;
    int32_t *added_of;
    strtab added_tab;
    const char **added_key; /* content of added[i], for added_tab */
    uint32_t *added_klen;
    /* per pass (0: raw text, 1: normalized), indices into added sorted by
     * first byte, then longest first; first[pass][c] .. first[pass][c + 1] */
    uint32_t *order[2];
    uint32_t first[2][257];
    nstep norm[MAX_STEPS];
    size_t n_norm;
    pstep pre[MAX_STEPS];
    size_t n_pre;
    dstep dec[MAX_STEPS];
    size_t n_dec;
    int has_decoder;
    /* GPT-2's byte <-> printable code point mapping */
    char bl_enc[256][2];
    unsigned char bl_enc_len[256];
    int16_t bl_dec[324];
    int32_t bos, eos;
};

/* ---- UTF-8 ---- */

/* The code point at s[i] (i < n) and its length in *len; -1 with length 1
 * for a byte that does not begin a well-formed sequence (Unicode table 3-7:
 * no overlongs, surrogates or values past U+10FFFF). */
static int32_t utf8_at(const unsigned char *s, size_t n, size_t i, size_t *len) {
    unsigned b = s[i];
    *len = 1;
    if (b < 0x80) return (int32_t)b;
    int need;
    unsigned lo = 0x80, hi = 0xbf;
    int32_t cp;
    if (b >= 0xc2 && b <= 0xdf)
        need = 1, cp = b & 0x1f;
    else if (b == 0xe0)
        need = 2, lo = 0xa0, cp = b & 0x0f;
    else if (b == 0xed)
        need = 2, hi = 0x9f, cp = b & 0x0f;
    else if (b >= 0xe1 && b <= 0xef)
        need = 2, cp = b & 0x0f;
    else if (b == 0xf0)
        need = 3, lo = 0x90, cp = b & 0x07;
    else if (b == 0xf4)
        need = 3, hi = 0x8f, cp = b & 0x07;
    else if (b >= 0xf1 && b <= 0xf3)
        need = 3, cp = b & 0x07;
    else
        return -1;
    if (n - i <= (size_t)need) return -1;
    for (int k = 1; k <= need; k++) {
        unsigned c = s[i + (size_t)k];
        if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xbf)) return -1;
        cp = cp << 6 | (int32_t)(c & 0x3f);
    }
    *len = (size_t)need + 1;
    return cp;
}

static size_t utf8_put(char *out, int32_t cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int utf8_valid(const char *s, size_t n) {
    for (size_t i = 0, l; i < n; i += l)
        if (utf8_at((const unsigned char *)s, n, i, &l) < 0) return 0;
    return 1;
}

/* Appends s[0..n) with each maximal invalid subsequence replaced by U+FFFD:
 * Rust's String::from_utf8_lossy, which the library's decoders use. */
static void put_lossy(rk_buf *out, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < n) {
        size_t l;
        if (utf8_at(u, n, i, &l) >= 0) {
            i += l;
            continue;
        }
        rk_buf_put(out, s + run, i - run);
        rk_buf_put(out, "\xef\xbf\xbd", 3);
        /* The invalid part is the lead byte and the continuation bytes that
         * still fit its sequence. */
        unsigned b = u[i];
        size_t need = b >= 0xc2 && b <= 0xdf   ? 1
                      : b >= 0xe0 && b <= 0xef ? 2
                      : b >= 0xf0 && b <= 0xf4 ? 3
                                               : 0;
        unsigned lo = b == 0xe0 ? 0xa0 : b == 0xf0 ? 0x90 : 0x80;
        unsigned hi = b == 0xed ? 0x9f : b == 0xf4 ? 0x8f : 0xbf;
        size_t j = i + 1;
        for (size_t k = 0; k < need && j < n; k++, j++) {
            unsigned c = u[j];
            if (c < (k == 0 ? lo : 0x80) || c > (k == 0 ? hi : 0xbf)) break;
        }
        i = run = j;
    }
    rk_buf_put(out, s + run, n - run);
}

/* ---- character classes ---- */

enum { CL_L, CL_N, CL_S, CL_O }; /* \p{L}, \p{N}, \s, anything else */

static int is_space(int32_t c) {
    /* Unicode White_Space (Oniguruma's and Rust's \s). */
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
           c == 0x3000;
}

static int class_of(int32_t c) {
    if (c < 0) return CL_O;
    if (c < 0x80) {
        if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return CL_L;
        if (c >= '0' && c <= '9') return CL_N;
        return is_space(c) ? CL_S : CL_O;
    }
    if (is_space(c)) return CL_S;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: return CL_L;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return CL_N;
    default: return CL_O;
    }
}

/* Rust regex's \w: Alphabetic, marks, decimal digits, connector
 * punctuation, joiners (the letter-like symbols of Other_Alphabetic too). */
static int is_word(int32_t c) {
    if (c < 0) return 0;
    if (c < 0x80) return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (c == 0x200c || c == 0x200d || (c >= 0x24b6 && c <= 0x24e9) || (c >= 0x1f130 && c <= 0x1f149) ||
        (c >= 0x1f150 && c <= 0x1f169) || (c >= 0x1f170 && c <= 0x1f189))
        return 1;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC: return 1;
    default: return 0;
    }
}

typedef struct chr {
    int32_t cp;
    int cl;
    size_t len;
} chr;

static chr chr_at(const unsigned char *s, size_t n, size_t i) {
    chr c;
    c.cp = utf8_at(s, n, i, &c.len);
    c.cl = class_of(c.cp);
    return c;
}

/* End of the run of class cl starting at j. */
static size_t run_of(const unsigned char *s, size_t n, size_t j, int cl) {
    while (j < n) {
        chr c = chr_at(s, n, j);
        if (c.cl != cl) break;
        j += c.len;
    }
    return j;
}

/* `\s+(?!\S)|\s+` at i, a white space character: the whole run when it ends
 * the text; else the run less its last character (which then starts the
 * next piece, " word"); else, for a single character, that character. */
static size_t ws_tail(const unsigned char *s, size_t n, size_t i) {
    size_t k = i, last = i;
    while (k < n) {
        chr c = chr_at(s, n, k);
        if (c.cl != CL_S) break;
        last = k;
        k += c.len;
    }
    if (k == n) return n;
    return last > i ? last : k;
}

/* The contraction after an apostrophe at j ('s 't 're 've 'm 'll 'd): its
 * length in bytes, or 0. icase: (?i:...), where U+017F (long s) folds to s. */
static size_t contraction(const unsigned char *s, size_t n, size_t j, int icase) {
    if (j >= n) return 0;
    chr a = chr_at(s, n, j);
    int32_t c1 = a.cp;
    if (icase) {
        if (c1 >= 'A' && c1 <= 'Z') c1 |= 0x20;
        if (c1 == 0x17f) c1 = 's';
    }
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return a.len;
    if (j + a.len >= n) return 0;
    int32_t c2 = s[j + a.len];
    if (icase && c2 >= 'A' && c2 <= 'Z') c2 |= 0x20;
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return a.len + 1;
    return 0;
}

/* GPT-2's pattern at i, returning the end of the match:
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * The classes are disjoint, so after the contractions the first character
 * (or the one after a single space) decides the alternative. */
static size_t scan_gpt2(const unsigned char *s, size_t n, size_t i) {
    chr a = chr_at(s, n, i);
    if (a.cp == '\'') {
        size_t k = contraction(s, n, i + 1, 0);
        if (k) return i + 1 + k;
    }
    if (a.cp == ' ' && i + 1 < n) {
        chr b = chr_at(s, n, i + 1);
        if (b.cl != CL_S) return run_of(s, n, i + 1, b.cl);
    }
    if (a.cl != CL_S) return run_of(s, n, i, a.cl);
    return ws_tail(s, n, i);
}

/* Llama 3's pattern (max_digits 3) and Qwen2's (max_digits 1) at i:
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
 *   | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * `\s*[\r\n]+` backtracks its greedy \s* to the last line break of the
 * white space run: the match ends just after it. */
static size_t scan_llama3(const unsigned char *s, size_t n, size_t i, int max_digits) {
    chr a = chr_at(s, n, i);
    if (a.cp == '\'') {
        size_t k = contraction(s, n, i + 1, 1);
        if (k) return i + 1 + k;
    }
    if (a.cl == CL_L) return run_of(s, n, i, CL_L);
    if (a.cp != '\r' && a.cp != '\n' && a.cl != CL_N && i + a.len < n) {
        chr b = chr_at(s, n, i + a.len);
        if (b.cl == CL_L) return run_of(s, n, i + a.len, CL_L);
    }
    if (a.cl == CL_N) {
        size_t j = i;
        for (int d = 0; d < max_digits && j < n; d++) {
            chr c = chr_at(s, n, j);
            if (c.cl != CL_N) break;
            j += c.len;
        }
        return j;
    }
    size_t j = i;
    if (a.cl == CL_O)
        j = run_of(s, n, i, CL_O);
    else if (a.cp == ' ' && i + 1 < n && chr_at(s, n, i + 1).cl == CL_O)
        j = run_of(s, n, i + 1, CL_O);
    if (j > i) {
        while (j < n && (s[j] == '\r' || s[j] == '\n'))
            j++;
        return j;
    }
    /* a is white space */
    size_t k = i, nl = 0;
    int have_nl = 0;
    while (k < n) {
        chr c = chr_at(s, n, k);
        if (c.cl != CL_S) break;
        if (c.cp == '\r' || c.cp == '\n') nl = k, have_nl = 1;
        k += c.len;
    }
    if (have_nl) return nl + 1;
    return ws_tail(s, n, i);
}

static size_t scan(int pattern, const unsigned char *s, size_t n, size_t i) {
    switch (pattern) {
    case PAT_GPT2: return scan_gpt2(s, n, i);
    case PAT_LLAMA3: return scan_llama3(s, n, i, 3);
    case PAT_QWEN2: return scan_llama3(s, n, i, 1);
    }
    return i;
}

/* ---- hash tables ---- */

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static int strtab_init(strtab *t, size_t n) {
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    t->slot = calloc(cap, sizeof *t->slot);
    t->mask = cap - 1;
    return t->slot ? 0 : -1;
}

/* The index whose key is s[0..n), or -1. */
static int32_t strtab_find(const strtab *t, const char *const *key, const uint32_t *klen, const char *s,
                           size_t n) {
    if (!t->slot) return -1;
    for (size_t h = rk_hash64_of(s, n, 0) & t->mask;; h = (h + 1) & t->mask) {
        uint32_t v = t->slot[h];
        if (!v) return -1;
        if (klen[v - 1] == n && memcmp(key[v - 1], s, n) == 0) return (int32_t)(v - 1);
    }
}

/* Adds index i (its key must be absent). */
static void strtab_add(strtab *t, const char *const *key, const uint32_t *klen, uint32_t i) {
    size_t h = rk_hash64_of(key[i], klen[i], 0) & t->mask;
    while (t->slot[h])
        h = (h + 1) & t->mask;
    t->slot[h] = i + 1;
}

static const merge *merge_find(const rk_tokenizer *t, int32_t a, int32_t b) {
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    for (size_t h = mix64(key) & t->merge_mask;; h = (h + 1) & t->merge_mask) {
        const merge *m = &t->merges[h];
        if (m->key == key) return m;
        if (m->key == UINT64_MAX) return NULL;
    }
}

static int32_t vocab_find(const rk_tokenizer *t, const char *s, size_t n) {
    return strtab_find(&t->vocab, t->vtok, t->vlen, s, n);
}

static int meta_cut_safe(const rk_tokenizer *t);

/* ---- loading: helpers ---- */

static const char *jstr(const json_t *o, const char *key) {
    return json_string_value(json_object_get(o, key));
}

/* A boolean member: def when absent or null; -1 when of another type. */
static int jbool(const json_t *o, const char *key, int def) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return def;
    return json_is_boolean(v) ? json_is_true(v) : -1;
}

static char *dup_n(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* The one character of a JSON string, or -1. */
static int32_t one_char(const json_t *v) {
    const char *s = json_string_value(v);
    if (!s) return -1;
    size_t n = json_string_length(v), l;
    if (!n) return -1;
    int32_t c = utf8_at((const unsigned char *)s, n, 0, &l);
    return l == n ? c : -1;
}

/* {"String": "..."} as a pattern; Regex patterns are refused. */
static rk_status string_pattern(const rk_tokenizer *t, const json_t *v, const char *where, char **out,
                                size_t *n, rk_error *err) {
    json_t *p = json_object_get(v, "pattern");
    json_t *s = json_object_get(p, "String");
    if (!json_is_string(s) || !json_string_length(s)) {
        if (json_object_get(p, "Regex"))
            return rk_fail(err, RK_EFORMAT, "%s: %s: a Regex pattern is not supported (supported: String)",
                           t->path, where);
        return rk_fail(err, RK_EFORMAT, "%s: %s: \"pattern\" is not {\"String\": \"...\"}", t->path, where);
    }
    *n = json_string_length(s);
    *out = dup_n(json_string_value(s), *n);
    return *out ? RK_OK : rk_fail(err, RK_ENOMEM, "%s: out of memory", t->path);
}

static rk_status content_string(const rk_tokenizer *t, const json_t *v, const char *key, const char *where,
                                char **out, size_t *n, rk_error *err) {
    json_t *s = json_object_get(v, key);
    if (!json_is_string(s))
        return rk_fail(err, RK_EFORMAT, "%s: %s: \"%s\" is not a string", t->path, where, key);
    *n = json_string_length(s);
    *out = dup_n(json_string_value(s), *n);
    return *out ? RK_OK : rk_fail(err, RK_ENOMEM, "%s: out of memory", t->path);
}

/* ---- loading: normalizer ---- */

static rk_status load_normalizer(rk_tokenizer *t, const json_t *v, int depth, rk_error *err) {
    if (!v || json_is_null(v)) return RK_OK;
    const char *type = jstr(v, "type");
    if (!type) return rk_fail(err, RK_EFORMAT, "%s: normalizer without a \"type\"", t->path);
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(v, "normalizers");
        if (!json_is_array(list) || depth > 4)
            return rk_fail(err, RK_EFORMAT, "%s: normalizer Sequence without a \"normalizers\" array",
                           t->path);
        for (size_t i = 0; i < json_array_size(list); i++) {
            rk_status s = load_normalizer(t, json_array_get(list, i), depth + 1, err);
            if (s) return s;
        }
        return RK_OK;
    }
    if (t->n_norm == MAX_STEPS)
        return rk_fail(err, RK_EFORMAT, "%s: more than %d normalizers", t->path, MAX_STEPS);
    nstep *st = &t->norm[t->n_norm];
    memset(st, 0, sizeof *st);
    rk_status s = RK_OK;
    if (!strcmp(type, "NFC"))
        st->kind = N_UNICODE, st->uopts = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    else if (!strcmp(type, "NFD"))
        st->kind = N_UNICODE, st->uopts = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE;
    else if (!strcmp(type, "NFKC"))
        st->kind = N_UNICODE, st->uopts = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    else if (!strcmp(type, "NFKD"))
        st->kind = N_UNICODE, st->uopts = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
    else if (!strcmp(type, "Prepend")) {
        st->kind = N_PREPEND;
        s = content_string(t, v, "prepend", "normalizer Prepend", &st->a, &st->na, err);
    } else if (!strcmp(type, "Replace")) {
        st->kind = N_REPLACE;
        s = string_pattern(t, v, "normalizer Replace", &st->a, &st->na, err);
        if (!s) s = content_string(t, v, "content", "normalizer Replace", &st->b, &st->nb, err);
    } else
        return rk_fail(err, RK_EFORMAT,
                       "%s: normalizer \"%s\" is not supported (supported: NFC, NFD, NFKC, NFKD, Prepend, "
                       "Replace, Sequence)",
                       t->path, type);
    t->n_norm++; /* counted even on failure, so that rk_tok_free frees what was set */
    return s;
}

/* ---- loading: pre-tokenizer ---- */

static const char *const PATTERNS[] = {
    [PAT_GPT2] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
    [PAT_LLAMA3] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                   "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                   "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    [PAT_QWEN2] =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
        "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};

/* Metaspace's "prepend_scheme", or the older "add_prefix_space". */
static rk_status metaspace_scheme(const rk_tokenizer *t, const json_t *v, const char *where, int *out,
                                  rk_error *err) {
    const char *ps = jstr(v, "prepend_scheme");
    int aps = jbool(v, "add_prefix_space", -2);
    if (aps == -1)
        return rk_fail(err, RK_EFORMAT, "%s: %s: \"add_prefix_space\" is not a boolean", t->path, where);
    if (!ps)
        *out = aps == 0 ? PREPEND_NEVER : PREPEND_ALWAYS;
    else if (!strcmp(ps, "first"))
        *out = PREPEND_FIRST;
    else if (!strcmp(ps, "always"))
        *out = PREPEND_ALWAYS;
    else if (!strcmp(ps, "never"))
        *out = PREPEND_NEVER;
    else
        return rk_fail(err, RK_EFORMAT, "%s: %s: unknown prepend_scheme \"%s\"", t->path, where, ps);
    if (aps == 0) *out = PREPEND_NEVER;
    return RK_OK;
}

static rk_status load_pretok(rk_tokenizer *t, const json_t *v, int depth, rk_error *err) {
    if (!v || json_is_null(v)) return RK_OK;
    const char *type = jstr(v, "type");
    if (!type) return rk_fail(err, RK_EFORMAT, "%s: pre_tokenizer without a \"type\"", t->path);
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(v, "pretokenizers");
        if (!json_is_array(list) || depth > 4)
            return rk_fail(err, RK_EFORMAT, "%s: pre_tokenizer Sequence without a \"pretokenizers\" array",
                           t->path);
        for (size_t i = 0; i < json_array_size(list); i++) {
            rk_status s = load_pretok(t, json_array_get(list, i), depth + 1, err);
            if (s) return s;
        }
        return RK_OK;
    }
    if (t->n_pre == MAX_STEPS)
        return rk_fail(err, RK_EFORMAT, "%s: more than %d pre-tokenizers", t->path, MAX_STEPS);
    pstep *st = &t->pre[t->n_pre];
    memset(st, 0, sizeof *st);
    if (!strcmp(type, "ByteLevel")) {
        st->kind = P_BYTELEVEL;
        st->add_prefix_space = jbool(v, "add_prefix_space", 1);
        st->use_regex = jbool(v, "use_regex", 1);
        if (st->add_prefix_space < 0 || st->use_regex < 0)
            return rk_fail(err, RK_EFORMAT, "%s: pre_tokenizer ByteLevel: a flag is not a boolean", t->path);
    } else if (!strcmp(type, "Split")) {
        st->kind = P_SPLIT;
        json_t *re = json_object_get(json_object_get(v, "pattern"), "Regex");
        const char *pat = json_string_value(re);
        if (!pat)
            return rk_fail(err, RK_EFORMAT,
                           "%s: pre_tokenizer Split: only Regex patterns are supported, and only the GPT-2, "
                           "Llama 3 and Qwen2 ones",
                           t->path);
        st->pattern = -1;
        for (int k = 0; k < (int)(sizeof PATTERNS / sizeof *PATTERNS); k++)
            if (!strcmp(pat, PATTERNS[k])) st->pattern = k;
        if (st->pattern < 0)
            return rk_fail(
                err, RK_EFORMAT,
                "%s: pre_tokenizer Split: unknown pattern \"%.200s\" (supported: the GPT-2, Llama 3 "
                "and Qwen2 patterns)",
                t->path, pat);
        const char *beh = jstr(v, "behavior");
        if (!beh || strcmp(beh, "Isolated"))
            return rk_fail(err, RK_EFORMAT,
                           "%s: pre_tokenizer Split: behavior \"%s\" is not supported (supported: "
                           "Isolated)",
                           t->path, beh ? beh : "(none)");
        if (jbool(v, "invert", 0) != 0)
            return rk_fail(err, RK_EFORMAT, "%s: pre_tokenizer Split: invert is not supported", t->path);
    } else if (!strcmp(type, "Digits")) {
        st->kind = P_DIGITS;
        st->individual = jbool(v, "individual_digits", 0);
        if (st->individual < 0)
            return rk_fail(err, RK_EFORMAT, "%s: pre_tokenizer Digits: individual_digits is not a boolean",
                           t->path);
    } else if (!strcmp(type, "Metaspace")) {
        st->kind = P_METASPACE;
        int32_t c = one_char(json_object_get(v, "replacement"));
        if (c < 0)
            return rk_fail(err, RK_EFORMAT, "%s: pre_tokenizer Metaspace: replacement is not one character",
                           t->path);
        st->nrep = utf8_put(st->rep, c);
        rk_status s = metaspace_scheme(t, v, "pre_tokenizer Metaspace", &st->prepend, err);
        if (s) return s;
        st->split = jbool(v, "split", 1);
        if (st->split < 0)
            return rk_fail(err, RK_EFORMAT, "%s: pre_tokenizer Metaspace: split is not a boolean", t->path);
    } else
        return rk_fail(
            err, RK_EFORMAT,
            "%s: pre_tokenizer \"%s\" is not supported (supported: ByteLevel, Split, Digits, Metaspace, "
            "Sequence)",
            t->path, type);
    t->n_pre++;
    return RK_OK;
}

/* ---- loading: decoder ---- */

static rk_status load_decoder(rk_tokenizer *t, const json_t *v, int depth, rk_error *err) {
    if (!v || json_is_null(v)) return RK_OK;
    t->has_decoder = 1;
    const char *type = jstr(v, "type");
    if (!type) return rk_fail(err, RK_EFORMAT, "%s: decoder without a \"type\"", t->path);
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(v, "decoders");
        if (!json_is_array(list) || depth > 4)
            return rk_fail(err, RK_EFORMAT, "%s: decoder Sequence without a \"decoders\" array", t->path);
        for (size_t i = 0; i < json_array_size(list); i++) {
            rk_status s = load_decoder(t, json_array_get(list, i), depth + 1, err);
            if (s) return s;
        }
        return RK_OK;
    }
    if (t->n_dec == MAX_STEPS)
        return rk_fail(err, RK_EFORMAT, "%s: more than %d decoders", t->path, MAX_STEPS);
    dstep *st = &t->dec[t->n_dec];
    memset(st, 0, sizeof *st);
    rk_status s = RK_OK;
    if (!strcmp(type, "ByteLevel"))
        st->kind = D_BYTELEVEL;
    else if (!strcmp(type, "ByteFallback"))
        st->kind = D_BYTEFALLBACK;
    else if (!strcmp(type, "Fuse"))
        st->kind = D_FUSE;
    else if (!strcmp(type, "Replace")) {
        st->kind = D_REPLACE;
        s = string_pattern(t, v, "decoder Replace", &st->a, &st->na, err);
        if (!s) s = content_string(t, v, "content", "decoder Replace", &st->b, &st->nb, err);
    } else if (!strcmp(type, "Strip")) {
        st->kind = D_STRIP;
        st->ch = one_char(json_object_get(v, "content"));
        json_t *a = json_object_get(v, "start"), *b = json_object_get(v, "stop");
        if (st->ch < 0 || !json_is_integer(a) || !json_is_integer(b) || json_integer_value(a) < 0 ||
            json_integer_value(b) < 0)
            return rk_fail(err, RK_EFORMAT,
                           "%s: decoder Strip: needs a one-character content, start and stop", t->path);
        st->start = (size_t)json_integer_value(a);
        st->stop = (size_t)json_integer_value(b);
    } else if (!strcmp(type, "Metaspace")) {
        st->kind = D_METASPACE;
        st->ch = one_char(json_object_get(v, "replacement"));
        if (st->ch < 0)
            return rk_fail(err, RK_EFORMAT, "%s: decoder Metaspace: replacement is not one character",
                           t->path);
        s = metaspace_scheme(t, v, "decoder Metaspace", &st->prepend, err);
    } else
        return rk_fail(
            err, RK_EFORMAT,
            "%s: decoder \"%s\" is not supported (supported: ByteLevel, Replace, ByteFallback, Fuse, "
            "Strip, Metaspace, Sequence)",
            t->path, type);
    t->n_dec++;
    return s;
}

/* ---- loading: model ---- */

static rk_status load_model(rk_tokenizer *t, const json_t *m, rk_error *err) {
    const char *type = jstr(m, "type");
    if (!json_is_object(m)) return rk_fail(err, RK_EFORMAT, "%s: no \"model\" object", t->path);
    if (!type || strcmp(type, "BPE"))
        return rk_fail(err, RK_EFORMAT, "%s: model type \"%s\" is not supported (supported: BPE)", t->path,
                       type ? type : "(none)");
    json_t *vocab = json_object_get(m, "vocab"), *merges = json_object_get(m, "merges");
    if (!json_is_object(vocab)) return rk_fail(err, RK_EFORMAT, "%s: model.vocab is not an object", t->path);
    if (merges && !json_is_null(merges) && !json_is_array(merges))
        return rk_fail(err, RK_EFORMAT, "%s: model.merges is not an array", t->path);
    json_t *dropout = json_object_get(m, "dropout");
    if (dropout && !json_is_null(dropout) && !(json_is_number(dropout) && json_number_value(dropout) == 0))
        return rk_fail(err, RK_EFORMAT, "%s: model.dropout is not supported (encoding would be random)",
                       t->path);
    const char *opt[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int k = 0; k < 2; k++) {
        json_t *o = json_object_get(m, opt[k]);
        if (o && !json_is_null(o) && !(json_is_string(o) && !json_string_length(o)))
            return rk_fail(err, RK_EFORMAT, "%s: model.%s is not supported", t->path, opt[k]);
    }
    t->byte_fallback = jbool(m, "byte_fallback", 0);
    t->fuse_unk = jbool(m, "fuse_unk", 0);
    t->ignore_merges = jbool(m, "ignore_merges", 0);
    if (t->byte_fallback < 0 || t->fuse_unk < 0 || t->ignore_merges < 0)
        return rk_fail(err, RK_EFORMAT,
                       "%s: model: byte_fallback, fuse_unk or ignore_merges is not a boolean", t->path);

    /* ids and the strings' total size */
    size_t n_vocab = json_object_size(vocab), bytes = 0, n_ids = 0;
    size_t limit = 8 * n_vocab + 65536; /* ids as sparse as that are no vocab */
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val) {
        json_int_t id = json_integer_value(val);
        if (!json_is_integer(val) || id < 0 || (size_t)id >= limit || id > INT32_MAX - 1)
            return rk_fail(err, RK_EFORMAT, "%s: model.vocab: \"%.100s\" has id %s", t->path, key,
                           json_is_integer(val) ? "out of range" : "that is not an integer");
        if ((size_t)id + 1 > n_ids) n_ids = (size_t)id + 1;
        bytes += strlen(key) + 1;
    }
    t->n_ids = n_ids;
    t->n_vocab = n_vocab;
    t->vtok = calloc(n_ids ? n_ids : 1, sizeof *t->vtok);
    t->vlen = calloc(n_ids ? n_ids : 1, sizeof *t->vlen);
    t->arena = malloc(bytes ? bytes : 1);
    if (!t->vtok || !t->vlen || !t->arena || strtab_init(&t->vocab, n_vocab))
        return rk_fail(err, RK_ENOMEM, "%s: out of memory", t->path);
    size_t at = 0;
    json_object_foreach(vocab, key, val) {
        size_t n = strlen(key), id = (size_t)json_integer_value(val);
        if (t->vtok[id])
            return rk_fail(err, RK_EFORMAT, "%s: model.vocab: id %zu is given to two tokens", t->path, id);
        memcpy(t->arena + at, key, n + 1);
        t->vtok[id] = t->arena + at;
        t->vlen[id] = (uint32_t)n;
        at += n + 1;
        strtab_add(&t->vocab, t->vtok, t->vlen, (uint32_t)id);
    }

    /* merges: (a, b) -> (rank, id of a+b) */
    size_t n_merges = merges ? json_array_size(merges) : 0, cap = 16;
    while (cap < 2 * n_merges)
        cap *= 2;
    t->merges = malloc(cap * sizeof *t->merges);
    if (!t->merges) return rk_fail(err, RK_ENOMEM, "%s: out of memory", t->path);
    t->merge_mask = cap - 1;
    for (size_t h = 0; h < cap; h++)
        t->merges[h].key = UINT64_MAX;
    char *tmp = NULL;
    size_t tmp_cap = 0;
    rk_status s = RK_OK;
    for (size_t r = 0; r < n_merges && !s; r++) {
        json_t *e = json_array_get(merges, r);
        const char *a, *b;
        size_t na, nb;
        if (json_is_string(e)) {
            /* "a b": the older encoding; tokens hold no spaces there */
            a = json_string_value(e);
            if (!strncmp(a, "#version", 8)) continue; /* a merges.txt header, skipped as the library does */
            const char *sp = memchr(a, ' ', json_string_length(e));
            if (!sp || memchr(sp + 1, ' ', json_string_length(e) - (size_t)(sp + 1 - a))) {
                s = rk_fail(err, RK_EFORMAT, "%s: model.merges[%zu] \"%.100s\" is not two tokens", t->path, r,
                            a);
                break;
            }
            na = (size_t)(sp - a);
            b = sp + 1;
            nb = json_string_length(e) - na - 1;
        } else if (json_is_array(e) && json_array_size(e) == 2 && json_is_string(json_array_get(e, 0)) &&
                   json_is_string(json_array_get(e, 1))) {
            a = json_string_value(json_array_get(e, 0));
            na = json_string_length(json_array_get(e, 0));
            b = json_string_value(json_array_get(e, 1));
            nb = json_string_length(json_array_get(e, 1));
        } else {
            s = rk_fail(err, RK_EFORMAT, "%s: model.merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]",
                        t->path, r);
            break;
        }
        if (na + nb > tmp_cap) {
            char *nt = realloc(tmp, na + nb + 64);
            if (!nt) {
                s = rk_fail(err, RK_ENOMEM, "%s: out of memory", t->path);
                break;
            }
            tmp = nt;
            tmp_cap = na + nb + 64;
        }
        memcpy(tmp, a, na);
        memcpy(tmp + na, b, nb);
        int32_t ia = vocab_find(t, a, na), ib = vocab_find(t, b, nb), ic = vocab_find(t, tmp, na + nb);
        if (ia < 0 || ib < 0 || ic < 0) {
            s = rk_fail(err, RK_EFORMAT, "%s: model.merges[%zu]: \"%.*s\" is not in the vocab", t->path, r,
                        ia < 0   ? (int)na
                        : ib < 0 ? (int)nb
                                 : (int)(na + nb),
                        ia < 0   ? a
                        : ib < 0 ? b
                                 : tmp);
            break;
        }
        /* A pair listed twice keeps its last rank, as the library's map does. */
        uint64_t k = (uint64_t)(uint32_t)ia << 32 | (uint32_t)ib;
        size_t h = mix64(k) & t->merge_mask;
        while (t->merges[h].key != UINT64_MAX && t->merges[h].key != k)
            h = (h + 1) & t->merge_mask;
        t->merges[h].key = k;
        t->merges[h].rank = (uint32_t)r;
        t->merges[h].id = ic;
    }
    free(tmp);
    if (s) return s;

    t->unk_id = -1;
    const char *unk = jstr(m, "unk_token");
    if (unk) t->unk_id = vocab_find(t, unk, strlen(unk));
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->byte_id[b] = vocab_find(t, name, 6);
    }
    return RK_OK;
}

/* ---- loading: added tokens ---- */

static void normalize(const rk_tokenizer *t, const char *s, size_t n, rk_buf *out, rk_buf *tmp);

static int cmp_order(const void *pa, const void *pb, void *ctx) {
    const rk_tokenizer *t = ctx;
    const added *a = &t->added[*(const uint32_t *)pa], *b = &t->added[*(const uint32_t *)pb];
    unsigned ca = (unsigned char)a->match[0], cb = (unsigned char)b->match[0];
    if (ca != cb) return ca < cb ? -1 : 1;
    if (a->mlen != b->mlen) return a->mlen > b->mlen ? -1 : 1;
    return *(const uint32_t *)pa < *(const uint32_t *)pb ? -1 : 1;
}

/* After the model: the added tokens, with the ids the library gives them.
 * It does not read their "id": in the array's order, a token whose content
 * is in the vocab takes the vocab's id, and the others take the ids from
 * the vocab's size (its number of entries) up. Files the library wrote
 * agree with that. */
static rk_status load_added(rk_tokenizer *t, const json_t *list, rk_error *err) {
    if (!list || json_is_null(list)) return RK_OK;
    if (!json_is_array(list)) return rk_fail(err, RK_EFORMAT, "%s: added_tokens is not an array", t->path);
    size_t n = json_array_size(list), next_id = t->n_vocab;
    t->added = calloc(n ? n : 1, sizeof *t->added);
    t->added_key = calloc(n ? n : 1, sizeof *t->added_key);
    t->added_klen = calloc(n ? n : 1, sizeof *t->added_klen);
    if (!t->added || !t->added_key || !t->added_klen || strtab_init(&t->added_tab, n))
        return rk_fail(err, RK_ENOMEM, "%s: out of memory", t->path);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i), *c = json_object_get(e, "content");
        if (!json_is_string(c) || !json_is_integer(json_object_get(e, "id")))
            return rk_fail(err, RK_EFORMAT, "%s: added_tokens[%zu] needs a \"content\" and an \"id\"",
                           t->path, i);
        size_t len = json_string_length(c);
        if (!len) continue; /* the library ignores empty ones */
        int special = jbool(e, "special", 0);
        int flags[4] = {jbool(e, "single_word", 0), jbool(e, "lstrip", 0), jbool(e, "rstrip", 0),
                        jbool(e, "normalized", !special)};
        if (special < 0 || flags[0] < 0 || flags[1] < 0 || flags[2] < 0 || flags[3] < 0)
            return rk_fail(err, RK_EFORMAT, "%s: added_tokens[%zu]: a flag is not a boolean", t->path, i);
        /* the same content again: the same token, with the later flags */
        int32_t k = strtab_find(&t->added_tab, t->added_key, t->added_klen, json_string_value(c), len);
        added *a = k >= 0 ? &t->added[k] : NULL;
        if (!a) {
            a = &t->added[t->n_added];
            a->len = len;
            a->content = dup_n(json_string_value(c), len);
            if (!a->content) return rk_fail(err, RK_ENOMEM, "%s: out of memory", t->path);
            t->added_key[t->n_added] = a->content;
            t->added_klen[t->n_added] = (uint32_t)len;
            strtab_add(&t->added_tab, t->added_key, t->added_klen, (uint32_t)t->n_added);
            t->n_added++;
            a->id = vocab_find(t, a->content, len);
            if (a->id < 0) {
                if (next_id > INT32_MAX - 1)
                    return rk_fail(err, RK_EFORMAT, "%s: too many added tokens", t->path);
                a->id = (int32_t)next_id++;
            }
        }
        a->special = (unsigned char)special;
        a->single_word = (unsigned char)flags[0];
        a->lstrip = (unsigned char)flags[1];
        a->rstrip = (unsigned char)flags[2];
        a->normalized = (unsigned char)flags[3];
    }
    /* ids past the vocab's: no vocab string there */
    size_t n_ids = t->n_ids;
    for (size_t i = 0; i < t->n_added; i++)
        if ((size_t)t->added[i].id + 1 > n_ids) n_ids = (size_t)t->added[i].id + 1;
    if (n_ids > t->n_ids) {
        const char **vt = realloc(t->vtok, n_ids * sizeof *vt);
        if (vt) t->vtok = vt;
        uint32_t *vl = realloc(t->vlen, n_ids * sizeof *vl);
        if (vl) t->vlen = vl;
        if (!vt || !vl) return rk_fail(err, RK_ENOMEM, "%s: out of memory", t->path);
        for (size_t i = t->n_ids; i < n_ids; i++)
            t->vtok[i] = NULL, t->vlen[i] = 0;
        t->n_ids = n_ids;
    }
    return RK_OK;
}

/* After the normalizer: ids to added tokens, normalized contents and the
 * per-pass matching order. */
static rk_status index_added(rk_tokenizer *t, rk_error *err) {
    size_t n = t->n_added;
    t->added_of = malloc((t->n_ids ? t->n_ids : 1) * sizeof *t->added_of);
    t->order[0] = malloc((n ? n : 1) * sizeof *t->order[0]);
    t->order[1] = malloc((n ? n : 1) * sizeof *t->order[1]);
    if (!t->added_of || !t->order[0] || !t->order[1])
        return rk_fail(err, RK_ENOMEM, "%s: out of memory", t->path);
    for (size_t i = 0; i < t->n_ids; i++)
        t->added_of[i] = -1;
    rk_buf nb = {0}, tmp = {0};
    size_t k[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        added *a = &t->added[i];
        t->added_of[a->id] = (int32_t)i;
        a->match = a->content;
        a->mlen = a->len;
        if (a->normalized && t->n_norm) {
            /* The library searches the normalized text for the normalized content. */
            nb.n = 0;
            normalize(t, a->content, a->len, &nb, &tmp);
            if (nb.oom || tmp.oom) {
                free(nb.p);
                free(tmp.p);
                return rk_fail(err, RK_ENOMEM, "%s: out of memory", t->path);
            }
            a->mlen = nb.n;
            a->match = a->mlen ? dup_n(nb.p, nb.n) : NULL;
            if (a->mlen && !a->match) {
                free(nb.p);
                free(tmp.p);
                return rk_fail(err, RK_ENOMEM, "%s: out of memory", t->path);
            }
        }
        if (a->mlen) t->order[a->normalized][k[a->normalized]++] = (uint32_t)i;
    }
    free(nb.p);
    free(tmp.p);
    for (int p = 0; p < 2; p++) {
        qsort_r(t->order[p], k[p], sizeof *t->order[p], cmp_order, t);
        size_t j = 0;
        for (int c = 0; c <= 256; c++) {
            while (j < k[p] && (unsigned char)t->added[t->order[p][j]].match[0] < c)
                j++;
            t->first[p][c] = (uint32_t)j;
        }
        t->first[p][256] = (uint32_t)k[p];
    }
    return RK_OK;
}

/* ---- loading ---- */

static void bytes_to_unicode(rk_tokenizer *t) {
    /* GPT-2: printable Latin-1 bytes stand for themselves; the others, in
     * order, for U+0100 onwards. */
    int next = 256;
    for (int b = 0; b < 324; b++)
        t->bl_dec[b] = -1;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
        int cp = keep ? b : next++;
        char u[4];
        size_t l = utf8_put(u, cp);
        memcpy(t->bl_enc[b], u, l);
        t->bl_enc_len[b] = (unsigned char)l;
        t->bl_dec[cp] = (int16_t)b;
    }
}

/* The id of tokenizer_config.json's key ("x" or {"content": "x"}), -1 when
 * absent or null. */
static rk_status config_token(rk_tokenizer *t, const json_t *cfg, const char *key, const char *cpath,
                              int32_t *out, rk_error *err) {
    json_t *v = json_object_get(cfg, key);
    *out = -1;
    if (!v || json_is_null(v)) return RK_OK;
    if (json_is_object(v)) v = json_object_get(v, "content");
    const char *s = json_string_value(v);
    if (!s)
        return rk_fail(err, RK_EFORMAT, "%s: \"%s\" is neither a string nor {\"content\": ...}", cpath, key);
    *out = rk_tok_id(t, s);
    if (*out < 0)
        return rk_fail(err, RK_EFORMAT, "%s: %s \"%s\" is not a token of %s", cpath, key, s, t->path);
    return RK_OK;
}

static rk_status load_config(rk_tokenizer *t, const char *dir, rk_error *err) {
    size_t n = strlen(dir) + 32;
    char *cpath = malloc(n);
    if (!cpath) return rk_fail(err, RK_ENOMEM, "%s: out of memory", dir);
    snprintf(cpath, n, "%s/tokenizer_config.json", dir);
    char *text = NULL;
    size_t len = 0;
    rk_status s = rk_file_read(cpath, &text, &len, err);
    if (s == RK_ENOTFOUND) {
        free(cpath);
        return RK_OK;
    }
    json_t *cfg = NULL;
    if (!s) s = rk_json_parse(text, len, cpath, &cfg, err);
    if (!s && !json_is_object(cfg)) s = rk_fail(err, RK_EFORMAT, "%s: not a JSON object", cpath);
    if (!s) s = config_token(t, cfg, "bos_token", cpath, &t->bos, err);
    if (!s) s = config_token(t, cfg, "eos_token", cpath, &t->eos, err);
    json_decref(cfg);
    free(text);
    free(cpath);
    return s;
}

rk_status rk_tok_load(const char *path, rk_tokenizer **out, rk_error *err) {
    if (!out) return rk_fail(err, RK_EINVAL, "rk_tok_load: no output pointer");
    *out = NULL;
    if (!path) return rk_fail(err, RK_EINVAL, "rk_tok_load: no path");
    struct stat st;
    if (stat(path, &st) != 0)
        return rk_fail(err, errno == ENOENT ? RK_ENOTFOUND : RK_EIO, "%s: %s", path, strerror(errno));
    int is_dir = S_ISDIR(st.st_mode);
    rk_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
    t->bos = t->eos = -1;
    t->unk_id = -1;
    size_t n = strlen(path) + 32;
    t->path = malloc(n);
    if (!t->path) {
        free(t);
        return rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
    }
    if (is_dir)
        snprintf(t->path, n, "%s/tokenizer.json", path);
    else
        memcpy(t->path, path, strlen(path) + 1);
    bytes_to_unicode(t);

    char *text = NULL;
    size_t len = 0;
    json_t *root = NULL;
    rk_status s = rk_file_read(t->path, &text, &len, err);
    if (!s) s = rk_json_parse(text, len, t->path, &root, err);
    free(text);
    if (!s && !json_is_object(root)) s = rk_fail(err, RK_EFORMAT, "%s: not a JSON object", t->path);
    if (!s) s = load_model(t, json_object_get(root, "model"), err);
    if (!s) s = load_added(t, json_object_get(root, "added_tokens"), err);
    if (!s) s = load_normalizer(t, json_object_get(root, "normalizer"), 0, err);
    if (!s) s = load_pretok(t, json_object_get(root, "pre_tokenizer"), 0, err);
    if (!s) s = load_decoder(t, json_object_get(root, "decoder"), 0, err);
    if (!s) s = index_added(t, err);
    if (!s) t->meta_cut = meta_cut_safe(t);
    if (!s && is_dir) s = load_config(t, path, err);
    json_decref(root);
    if (s) {
        rk_tok_free(t);
        return s;
    }
    *out = t;
    return RK_OK;
}

void rk_tok_free(rk_tokenizer *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n_added; i++) {
        if (t->added[i].match != t->added[i].content) free(t->added[i].match);
        free(t->added[i].content);
    }
    free(t->added);
    free(t->added_of);
    free(t->added_key);
    free(t->added_klen);
    free(t->added_tab.slot);
    free(t->order[0]);
    free(t->order[1]);
    for (size_t i = 0; i < t->n_norm; i++) {
        free(t->norm[i].a);
        free(t->norm[i].b);
    }
    for (size_t i = 0; i < t->n_dec; i++) {
        free(t->dec[i].a);
        free(t->dec[i].b);
    }
    free(t->vtok);
    free(t->vlen);
    free(t->arena);
    free(t->vocab.slot);
    free(t->merges);
    free(t->path);
    free(t);
}

/* ---- queries ---- */

size_t rk_tok_vocab_size(const rk_tokenizer *t) { return t ? t->n_ids : 0; }

int32_t rk_tok_id(const rk_tokenizer *t, const char *token) {
    if (!t || !token) return -1;
    size_t n = strlen(token);
    int32_t i = strtab_find(&t->added_tab, t->added_key, t->added_klen, token, n);
    if (i >= 0) return t->added[i].id;
    return vocab_find(t, token, n);
}

int32_t rk_tok_bos(const rk_tokenizer *t) { return t ? t->bos : -1; }
int32_t rk_tok_eos(const rk_tokenizer *t) { return t ? t->eos : -1; }

int rk_tok_is_special(const rk_tokenizer *t, int32_t id) {
    if (!t || id < 0 || (size_t)id >= t->n_ids || t->added_of[id] < 0) return 0;
    return t->added[t->added_of[id]].special;
}

/* ---- normalizing ---- */

/* Appends s[0..n) normalized by utf8proc options, keeping bytes that are
 * not UTF-8 as they are (the library never sees those: its strings are
 * valid). */
static void put_unicode(rk_buf *out, const char *s, size_t n, int opts) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t j = i, l;
        while (j < n && utf8_at(u, n, j, &l) >= 0)
            j += l;
        if (j > i) {
            utf8proc_uint8_t *d = NULL;
            utf8proc_ssize_t m = utf8proc_map(u + i, (utf8proc_ssize_t)(j - i), &d, (utf8proc_option_t)opts);
            if (m < 0) {
                out->oom = 1;
                free(d);
                return;
            }
            rk_buf_put(out, d, (size_t)m);
            free(d);
        }
        if (j < n) rk_buf_put(out, s + j, 1);
        i = j + 1;
    }
}

/* Runs the normalizer steps over s[0..n) into out (emptied first); tmp is
 * scratch. */
static void normalize(const rk_tokenizer *t, const char *s, size_t n, rk_buf *out, rk_buf *tmp) {
    out->n = 0;
    rk_buf_put(out, s, n);
    for (size_t k = 0; k < t->n_norm; k++) {
        const nstep *st = &t->norm[k];
        tmp->n = 0;
        switch (st->kind) {
        case N_UNICODE: put_unicode(tmp, out->p, out->n, st->uopts); break;
        case N_PREPEND:
            if (out->n) rk_buf_put(tmp, st->a, st->na);
            rk_buf_put(tmp, out->p, out->n);
            break;
        case N_REPLACE: {
            size_t i = 0, run = 0;
            while (i + st->na <= out->n) {
                if (memcmp(out->p + i, st->a, st->na) == 0) {
                    rk_buf_put(tmp, out->p + run, i - run);
                    rk_buf_put(tmp, st->b, st->nb);
                    i = run = i + st->na;
                } else
                    i++;
            }
            rk_buf_put(tmp, out->p + run, out->n - run);
            break;
        }
        }
        rk_buf t2 = *out;
        *out = *tmp;
        *tmp = t2;
        if (out->oom || tmp->oom) {
            out->oom = 1;
            return;
        }
    }
}

/* ---- encoding ---- */

typedef struct sym {
    int32_t id, prev, next;
} sym;

typedef struct mq {
    uint32_t rank, pos;
    int32_t id;
} mq;

typedef struct centry {
    uint64_t h;
    uint32_t koff, klen, ioff, in;
} centry;

typedef struct enc {
    const rk_tokenizer *t;
    rk_ids *out;
    int oom;
    rk_buf a[MAX_STEPS], b[MAX_STEPS]; /* per pre-tokenizer step */
    rk_buf norm, ntmp;
    sym *sy;
    size_t nsy, capsy;
    mq *heap;
    size_t nheap, capheap;
    rk_ids word;
    /* words seen in this call: key bytes in ckeys, ids in cids */
    centry *ce;
    size_t cmask, cn;
    rk_buf ckeys;
    rk_ids cids;
} enc;

/* p with room for need elements of size bytes (capacity *cap, updated);
 * NULL when memory is out, p then unchanged and still the caller's. */
static void *grow(void *p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *np = realloc(p, c * size);
    if (np) *cap = c;
    return np;
}

static int mq_less(const mq *a, const mq *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(enc *e, mq m) {
    mq *h = grow(e->heap, &e->capheap, e->nheap + 1, sizeof *e->heap);
    if (!h) {
        e->oom = 1;
        return;
    }
    e->heap = h;
    size_t i = e->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!mq_less(&m, &e->heap[p])) break;
        e->heap[i] = e->heap[p];
        i = p;
    }
    e->heap[i] = m;
}

static mq heap_pop(enc *e) {
    mq top = e->heap[0], last = e->heap[--e->nheap];
    size_t i = 0, n = e->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && mq_less(&e->heap[c + 1], &e->heap[c])) c++;
        if (!mq_less(&e->heap[c], &last)) break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (n) e->heap[i] = last;
    return top;
}

static void sym_add(enc *e, int32_t id) {
    sym *sy = grow(e->sy, &e->capsy, e->nsy + 1, sizeof *e->sy);
    if (!sy) {
        e->oom = 1;
        return;
    }
    e->sy = sy;
    e->sy[e->nsy].id = id;
    e->nsy++;
}

static void push_pair(enc *e, size_t pos) {
    sym *a = &e->sy[pos];
    if (a->next < 0) return;
    const merge *m = merge_find(e->t, a->id, e->sy[a->next].id);
    if (m) heap_push(e, (mq){m->rank, (uint32_t)pos, m->id});
}

/* The BPE of one word into e->word: the library's merge_word and merge_all. */
static void merge_word(enc *e, const char *s, size_t n) {
    const rk_tokenizer *t = e->t;
    const unsigned char *u = (const unsigned char *)s;
    e->nsy = 0;
    e->word.n = 0;
    int32_t unk = -1;
    for (size_t i = 0, l; i < n; i += l) {
        utf8_at(u, n, i, &l);
        int32_t id = vocab_find(t, s + i, l);
        if (id >= 0) {
            if (unk >= 0) sym_add(e, unk), unk = -1;
            sym_add(e, id);
            continue;
        }
        if (t->byte_fallback) {
            size_t k = 0;
            while (k < l && t->byte_id[u[i + k]] >= 0)
                k++;
            if (k == l) {
                /* As in the library, a pending unknown is not flushed here. */
                for (k = 0; k < l; k++)
                    sym_add(e, t->byte_id[u[i + k]]);
                continue;
            }
        }
        if (t->unk_id >= 0) {
            if (unk >= 0 && !t->fuse_unk) sym_add(e, unk);
            unk = t->unk_id;
        }
    }
    if (unk >= 0) sym_add(e, unk);
    if (e->oom) return;
    for (size_t i = 0; i < e->nsy; i++) {
        e->sy[i].prev = (int32_t)i - 1;
        e->sy[i].next = i + 1 < e->nsy ? (int32_t)i + 1 : -1;
    }
    e->nheap = 0;
    for (size_t i = 0; i + 1 < e->nsy; i++)
        push_pair(e, i);
    while (e->nheap && !e->oom) {
        mq top = heap_pop(e);
        sym *a = &e->sy[top.pos];
        if (a->id < 0 || a->next < 0) continue;
        sym *b = &e->sy[a->next];
        /* Entries made stale by earlier merges no longer name this pair's result. */
        const merge *m = merge_find(t, a->id, b->id);
        if (!m || m->id != top.id) continue;
        a->id = top.id;
        a->next = b->next;
        b->id = -1;
        if (a->next >= 0) e->sy[a->next].prev = (int32_t)top.pos;
        if (a->prev >= 0) push_pair(e, (size_t)a->prev);
        push_pair(e, top.pos);
    }
    for (int32_t i = e->nsy ? 0 : -1; i >= 0; i = e->sy[i].next)
        rk_ids_put(&e->word, &e->sy[i].id, 1);
}

static int cache_grow(enc *e) {
    size_t cap = e->cmask ? 2 * (e->cmask + 1) : 1024;
    centry *ne = calloc(cap, sizeof *ne);
    if (!ne) return -1;
    for (size_t i = 0; e->cmask && i <= e->cmask; i++) {
        if (!e->ce[i].klen) continue;
        size_t h = e->ce[i].h & (cap - 1);
        while (ne[h].klen)
            h = (h + 1) & (cap - 1);
        ne[h] = e->ce[i];
    }
    free(e->ce);
    e->ce = ne;
    e->cmask = cap - 1;
    return 0;
}

/* The BPE of one word (or a part no merge crosses), from the cache when
 * this call has seen it. */
static void bpe(enc *e, const char *s, size_t n) {
    int cached = n <= CACHE_MAX_WORD && e->ckeys.n < CACHE_MAX_BYTES;
    uint64_t h = 0;
    size_t slot = 0;
    if (cached) {
        h = rk_hash64_of(s, n, 0);
        if (e->cmask) {
            for (slot = h & e->cmask; e->ce[slot].klen; slot = (slot + 1) & e->cmask) {
                const centry *c = &e->ce[slot];
                if (c->h == h && c->klen == n && memcmp(e->ckeys.p + c->koff, s, n) == 0) {
                    rk_ids_put(e->out, e->cids.v + c->ioff, c->in);
                    return;
                }
            }
        }
    }
    merge_word(e, s, n);
    if (e->oom || e->word.oom) {
        e->oom = 1;
        return;
    }
    rk_ids_put(e->out, e->word.v, e->word.n);
    if (!cached) return;
    if (2 * (e->cn + 1) > (e->cmask ? e->cmask + 1 : 0)) {
        if (cache_grow(e)) return; /* the cache is an optimization: go on without it */
        for (slot = h & e->cmask; e->ce[slot].klen; slot = (slot + 1) & e->cmask)
            ;
    }
    size_t koff = e->ckeys.n, ioff = e->cids.n;
    rk_buf_put(&e->ckeys, s, n);
    rk_ids_put(&e->cids, e->word.v, e->word.n);
    if (e->ckeys.oom || e->cids.oom) {
        e->oom = 1;
        return;
    }
    e->ce[slot] = (centry){h, (uint32_t)koff, (uint32_t)n, (uint32_t)ioff, (uint32_t)e->word.n};
    e->cn++;
}

#define META "\xe2\x96\x81" /* U+2581, SentencePiece's space */

/* One pre-token through the model. Without a pre-tokenizer (SentencePiece
 * style) the whole text is one word; when no merge result holds "x▁" (x not
 * "▁"), no symbol can ever span such a place, so the word is cut there and
 * the parts, mostly repeated words, go through the cache: the same ids,
 * without merging a megabyte as one heap. */
static void model(enc *e, const char *s, size_t n) {
    const rk_tokenizer *t = e->t;
    if (t->ignore_merges) {
        int32_t id = vocab_find(t, s, n);
        if (id >= 0) {
            rk_ids_put(e->out, &id, 1);
            return;
        }
    }
    if (n <= CACHE_MAX_WORD || !t->meta_cut) {
        bpe(e, s, n);
        return;
    }
    size_t start = 0;
    for (size_t i = 1; i + 3 <= n; i++)
        if (!memcmp(s + i, META, 3) && (i < 3 || memcmp(s + i - 3, META, 3))) {
            bpe(e, s + start, i - start);
            start = i;
        }
    bpe(e, s + start, n - start);
}

/* Whether model() may cut words before a "▁" that follows another
 * character: "▁" is a token (so it never fuses into an unknown run) and no
 * merge result holds another character followed by "▁". */
static int meta_cut_safe(const rk_tokenizer *t) {
    if (vocab_find(t, META, 3) < 0) return 0;
    for (size_t h = 0; h <= t->merge_mask; h++) {
        if (t->merges[h].key == UINT64_MAX) continue;
        const char *r = t->vtok[t->merges[h].id];
        size_t n = t->vlen[t->merges[h].id];
        for (size_t i = 1; i + 3 <= n; i++)
            if (!memcmp(r + i, META, 3) && (i < 3 || memcmp(r + i - 3, META, 3))) return 0;
    }
    return 1;
}

static void pre(enc *e, size_t k, const char *s, size_t n, int first);

/* Cuts s[0..n) with a split pattern (Isolated: matches and the text between
 * them are pieces) and passes the pieces to step k + 1. */
static void split_pattern(enc *e, size_t k, int pattern, const char *s, size_t n, int first) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, gap = 0;
    while (i < n) {
        size_t end = scan(pattern, u, n, i);
        if (end > i) {
            if (gap < i) pre(e, k + 1, s + gap, i - gap, first && gap == 0);
            pre(e, k + 1, s + i, end - i, first && i == 0);
            i = gap = end;
        } else {
            size_t l;
            utf8_at(u, n, i, &l);
            i += l;
        }
    }
    if (gap < n) pre(e, k + 1, s + gap, n - gap, first && gap == 0);
}

/* Step k of the pre-tokenizer over a non-empty piece; past the last step,
 * the model. first: the piece starts the text (Metaspace's "first"). */
static void pre(enc *e, size_t k, const char *s, size_t n, int first) {
    const rk_tokenizer *t = e->t;
    if (e->oom || !n) return;
    if (k == t->n_pre) {
        model(e, s, n);
        return;
    }
    const pstep *st = &t->pre[k];
    const unsigned char *u = (const unsigned char *)s;
    switch (st->kind) {
    case P_SPLIT: split_pattern(e, k, st->pattern, s, n, first); return;
    case P_DIGITS: {
        size_t i = 0, start = 0;
        int in_num = 0;
        while (i < n) {
            size_t l;
            int num = class_of(utf8_at(u, n, i, &l)) == CL_N;
            if (i > start && (num != in_num || (num && st->individual))) {
                pre(e, k + 1, s + start, i - start, first && start == 0);
                start = i;
            }
            in_num = num;
            i += l;
        }
        pre(e, k + 1, s + start, n - start, first && start == 0);
        return;
    }
    case P_METASPACE: {
        rk_buf *w = &e->a[k];
        w->n = 0;
        /* whether the piece starts with the replacement once spaces are replaced */
        int starts = s[0] == ' ' || (n >= st->nrep && memcmp(s, st->rep, st->nrep) == 0);
        if (!starts && (st->prepend == PREPEND_ALWAYS || (st->prepend == PREPEND_FIRST && first)))
            rk_buf_put(w, st->rep, st->nrep);
        for (size_t i = 0, run = 0; i <= n; i++) {
            if (i == n || s[i] == ' ') {
                rk_buf_put(w, s + run, i - run);
                if (i < n) rk_buf_put(w, st->rep, st->nrep);
                run = i + 1;
            }
        }
        if (w->oom) {
            e->oom = 1;
            return;
        }
        if (!st->split) {
            pre(e, k + 1, w->p, w->n, first);
            return;
        }
        /* MergedWithNext: each replacement starts a piece. */
        size_t start = 0;
        for (size_t i = 1; i + st->nrep <= w->n; i++) {
            if (memcmp(w->p + i, st->rep, st->nrep) == 0) {
                pre(e, k + 1, w->p + start, i - start, first && start == 0);
                start = i;
            }
        }
        pre(e, k + 1, w->p + start, w->n - start, first && start == 0);
        return;
    }
    case P_BYTELEVEL: {
        const char *p = s;
        size_t m = n;
        if (st->add_prefix_space && s[0] != ' ') {
            rk_buf *w = &e->a[k];
            w->n = 0;
            rk_buf_put(w, " ", 1);
            rk_buf_put(w, s, n);
            if (w->oom) {
                e->oom = 1;
                return;
            }
            p = w->p;
            m = w->n;
        }
        /* The pieces of the regex (or the whole), each mapped byte by byte. */
        const unsigned char *pu = (const unsigned char *)p;
        size_t i = 0;
        while (i < m) {
            size_t end = m;
            if (st->use_regex) {
                end = scan_gpt2(pu, m, i);
                if (end == i) { /* no match: cannot happen with this pattern, whose classes cover all */
                    size_t l;
                    utf8_at(pu, m, i, &l);
                    end = i + l;
                }
            }
            rk_buf *w = &e->b[k];
            w->n = 0;
            char *o = rk_buf_reserve(w, 2 * (end - i));
            if (!o) {
                e->oom = 1;
                return;
            }
            for (size_t j = i; j < end; j++) {
                memcpy(o, t->bl_enc[pu[j]], t->bl_enc_len[pu[j]]);
                o += t->bl_enc_len[pu[j]];
            }
            w->n = (size_t)(o - w->p);
            pre(e, k + 1, w->p, w->n, first && i == 0);
            i = end;
        }
        return;
    }
    }
}

/* The next added token of a pass in s[0..n), searching from *scan and
 * keeping the library's rules: leftmost, then longest; a single_word token
 * only between non-word characters; lstrip/rstrip take the white space
 * around it (lstrip not before pos, the end of the previous match). */
static int next_added(const rk_tokenizer *t, int pass, const char *s, size_t n, size_t *scanp, size_t pos,
                      size_t *ms, size_t *me, int32_t *id) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = *scanp; i < n; i++) {
        unsigned c = u[i];
        const added *hit = NULL;
        for (uint32_t j = t->first[pass][c]; j < t->first[pass][c + 1]; j++) {
            const added *a = &t->added[t->order[pass][j]];
            if (a->mlen <= n - i && memcmp(s + i, a->match, a->mlen) == 0) {
                hit = a;
                break;
            }
        }
        if (!hit) continue;
        size_t a = i, b = i + hit->mlen;
        *scanp = b;
        if (hit->single_word) {
            /* word characters just before a or just after b disqualify it */
            int before = 0, after = 0;
            if (a > 0) {
                size_t k = a - 1, l;
                while (k > 0 && (u[k] & 0xc0) == 0x80 && a - k < 4)
                    k--;
                int32_t cp = utf8_at(u, n, k, &l);
                before = k + l == a && is_word(cp);
            }
            if (b < n) {
                size_t l;
                after = is_word(utf8_at(u, n, b, &l));
            }
            if (before || after) {
                i = b - 1;
                continue;
            }
        }
        if (hit->lstrip) {
            size_t k = a;
            while (k > pos) {
                size_t j = k - 1, l;
                while (j > pos && (u[j] & 0xc0) == 0x80 && k - j < 4)
                    j--;
                int32_t cp = utf8_at(u, n, j, &l);
                if (j + l != k || !is_space(cp)) break;
                k = j;
            }
            a = k;
        }
        if (hit->rstrip) {
            while (b < n) {
                size_t l;
                int32_t cp = utf8_at(u, n, b, &l);
                if (!is_space(cp)) break;
                b += l;
            }
        }
        *ms = a;
        *me = b;
        *id = hit->id;
        return 1;
    }
    *scanp = n;
    return 0;
}

/* The text between normalized added tokens: to the pre-tokenizer. */
static void pass_normalized(enc *e, const char *s, size_t n, int first) {
    const rk_tokenizer *t = e->t;
    size_t pos = 0, scanp = 0, ms, me;
    int32_t id;
    if (t->first[1][256]) {
        while (!e->oom && next_added(t, 1, s, n, &scanp, pos, &ms, &me, &id)) {
            if (pos < ms) pre(e, 0, s + pos, ms - pos, first && pos == 0);
            rk_ids_put(e->out, &id, 1);
            pos = me;
        }
    }
    if (pos < n) pre(e, 0, s + pos, n - pos, first && pos == 0);
}

/* The text between raw added tokens: normalized, then searched again. */
static void pass_raw_text(enc *e, const char *s, size_t n, int first) {
    const rk_tokenizer *t = e->t;
    if (!t->n_norm) {
        pass_normalized(e, s, n, first);
        return;
    }
    normalize(t, s, n, &e->norm, &e->ntmp);
    if (e->norm.oom) {
        e->oom = 1;
        return;
    }
    /* pass_normalized does not touch e->norm, so the text stays put. */
    if (e->norm.n) pass_normalized(e, e->norm.p, e->norm.n, first);
}

rk_status rk_tok_encode(const rk_tokenizer *t, const char *text, size_t len, rk_ids *out, rk_error *err) {
    if (!t || !out || (!text && len))
        return rk_fail(err, RK_EINVAL, "rk_tok_encode: no tokenizer, text or output");
    enc e;
    memset(&e, 0, sizeof e);
    e.t = t;
    e.out = out;
    size_t pos = 0, scanp = 0, ms, me;
    int32_t id;
    if (t->first[0][256]) {
        while (!e.oom && next_added(t, 0, text, len, &scanp, pos, &ms, &me, &id)) {
            if (pos < ms) pass_raw_text(&e, text + pos, ms - pos, pos == 0);
            rk_ids_put(out, &id, 1);
            pos = me;
        }
    }
    if (pos < len) pass_raw_text(&e, text + pos, len - pos, pos == 0);
    for (size_t k = 0; k < MAX_STEPS; k++) {
        free(e.a[k].p);
        free(e.b[k].p);
    }
    free(e.norm.p);
    free(e.ntmp.p);
    free(e.sy);
    free(e.heap);
    rk_ids_free(&e.word);
    free(e.ce);
    free(e.ckeys.p);
    rk_ids_free(&e.cids);
    if (e.oom || out->oom) return rk_fail(err, RK_ENOMEM, "%s: out of memory while encoding", t->path);
    return RK_OK;
}

/* ---- decoding ---- */

/* A list of strings: spans of one buffer. */
typedef struct span {
    size_t off, len;
} span;

typedef struct strs {
    rk_buf b;
    span *v;
    size_t n, cap;
    int oom;
} strs;

static void strs_begin(strs *l) {
    l->b.n = 0;
    l->n = 0;
}

/* Ends the string being built from b[start..). */
static void strs_end(strs *l, size_t start) {
    span *v = grow(l->v, &l->cap, l->n + 1, sizeof *l->v);
    if (!v) {
        l->oom = 1;
        return;
    }
    l->v = v;
    l->v[l->n++] = (span){start, l->b.n - start};
}

static void strs_add(strs *l, const char *s, size_t n) {
    size_t start = l->b.n;
    rk_buf_put(&l->b, s, n);
    strs_end(l, start);
}

static const char *str_at(const strs *l, size_t i) { return l->b.p ? l->b.p + l->v[i].off : ""; }

/* One decoder step from in to out. */
static void decode_step(const rk_tokenizer *t, const dstep *st, const strs *in, strs *out, rk_buf *tmp) {
    strs_begin(out);
    switch (st->kind) {
    case D_BYTELEVEL: {
        /* Every token back to bytes (a token with a character outside the
         * map stays as its own bytes), then all of them as one string. */
        tmp->n = 0;
        for (size_t i = 0; i < in->n; i++) {
            const unsigned char *u = (const unsigned char *)str_at(in, i);
            size_t n = in->v[i].len, l, j;
            char *o = rk_buf_reserve(tmp, n);
            if (!o) return;
            size_t m = 0;
            for (j = 0; j < n; j += l) {
                int32_t cp = utf8_at(u, n, j, &l);
                if (cp < 0 || cp >= 324 || t->bl_dec[cp] < 0) break;
                o[m++] = (char)t->bl_dec[cp];
            }
            if (j < n) memcpy(o, u, m = n);
            tmp->n += m;
        }
        size_t start = out->b.n;
        put_lossy(&out->b, tmp->p ? tmp->p : "", tmp->n);
        strs_end(out, start);
        return;
    }
    case D_REPLACE:
        for (size_t i = 0; i < in->n; i++) {
            const char *s = str_at(in, i);
            size_t n = in->v[i].len, start = out->b.n, j = 0, run = 0;
            while (j + st->na <= n) {
                if (memcmp(s + j, st->a, st->na) == 0) {
                    rk_buf_put(&out->b, s + run, j - run);
                    rk_buf_put(&out->b, st->b, st->nb);
                    j = run = j + st->na;
                } else
                    j++;
            }
            rk_buf_put(&out->b, s + run, n - run);
            strs_end(out, start);
        }
        return;
    case D_BYTEFALLBACK: {
        tmp->n = 0; /* the pending <0xNN> bytes */
        for (size_t i = 0; i <= in->n; i++) {
            const char *s = i < in->n ? str_at(in, i) : "";
            size_t n = i < in->n ? in->v[i].len : 0;
            int byte = -1;
            if (i < in->n && n == 6 && !memcmp(s, "<0x", 3) && s[5] == '>') {
                /* Rust's u8::from_str_radix(.., 16): two hex digits, or a
                 * '+' and one */
                char h[3] = {s[3], s[4], 0}, *end;
                const char *hp = h[0] == '+' ? h + 1 : h;
                if (isxdigit((unsigned char)hp[0]) && (hp[1] == 0 || isxdigit((unsigned char)hp[1]))) {
                    long v = strtol(hp, &end, 16);
                    if (*end == 0) byte = (int)v;
                }
            }
            if (byte >= 0) {
                char c = (char)byte;
                rk_buf_put(tmp, &c, 1);
                continue;
            }
            if (tmp->n) {
                if (utf8_valid(tmp->p, tmp->n))
                    strs_add(out, tmp->p, tmp->n);
                else
                    for (size_t k = 0; k < tmp->n; k++)
                        strs_add(out, "\xef\xbf\xbd", 3);
                tmp->n = 0;
            }
            if (i < in->n) strs_add(out, s, n);
        }
        return;
    }
    case D_FUSE: {
        size_t start = out->b.n;
        for (size_t i = 0; i < in->n; i++)
            rk_buf_put(&out->b, str_at(in, i), in->v[i].len);
        strs_end(out, start);
        return;
    }
    case D_STRIP:
        for (size_t i = 0; i < in->n; i++) {
            const unsigned char *u = (const unsigned char *)str_at(in, i);
            size_t n = in->v[i].len, a = 0, b = n, l;
            for (size_t c = 0; c < st->start && a < n; c++) {
                if (utf8_at(u, n, a, &l) != st->ch) break;
                a += l;
            }
            for (size_t c = 0; c < st->stop && b > a; c++) {
                size_t j = b - 1;
                while (j > a && (u[j] & 0xc0) == 0x80)
                    j--;
                if (utf8_at(u, n, j, &l) != st->ch) break;
                b = j;
            }
            strs_add(out, (const char *)u + a, b - a);
        }
        return;
    case D_METASPACE:
        for (size_t i = 0; i < in->n; i++) {
            const unsigned char *u = (const unsigned char *)str_at(in, i);
            size_t n = in->v[i].len, start = out->b.n, l;
            for (size_t j = 0; j < n; j += l) {
                int32_t cp = utf8_at(u, n, j, &l);
                if (cp != st->ch)
                    rk_buf_put(&out->b, u + j, l);
                else if (i > 0 || st->prepend == PREPEND_NEVER)
                    rk_buf_put(&out->b, " ", 1);
            }
            strs_end(out, start);
        }
        return;
    }
}

rk_status rk_tok_decode(const rk_tokenizer *t, const int32_t *ids, size_t n, int skip_special, rk_buf *out,
                        rk_error *err) {
    if (!t || !out || (!ids && n))
        return rk_fail(err, RK_EINVAL, "rk_tok_decode: no tokenizer, ids or output");
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= t->n_ids)
            return rk_fail(err, RK_EINVAL, "%s: id %d (at %zu) is not in [0, %zu)", t->path, (int)ids[i], i,
                           t->n_ids);
    strs l[2];
    memset(l, 0, sizeof l);
    rk_buf tmp = {0};
    for (size_t i = 0; i < n; i++) {
        /* An added token decodes as what was searched for: its content,
         * normalized when it is matched normalized (the library's
         * normalized_cache). An id the vocab skips decodes to nothing. */
        int32_t a = t->added_of[ids[i]];
        const char *s = a >= 0 ? t->added[a].match : t->vtok[ids[i]];
        size_t len = a >= 0 ? t->added[a].mlen : t->vlen[ids[i]];
        if (a < 0 && !s) continue;
        if (skip_special) {
            /* The library skips a token whose string is a special token's. */
            int32_t k = strtab_find(&t->added_tab, t->added_key, t->added_klen, s ? s : "", len);
            if (k >= 0 && t->added[k].special) continue;
        }
        strs_add(&l[0], s, len);
    }
    int cur = 0;
    if (t->has_decoder) {
        for (size_t k = 0; k < t->n_dec; k++) {
            decode_step(t, &t->dec[k], &l[cur], &l[!cur], &tmp);
            cur = !cur;
        }
    }
    int oom = l[0].oom || l[1].oom || l[0].b.oom || l[1].b.oom || tmp.oom;
    for (size_t i = 0; i < l[cur].n && !oom; i++) {
        if (i && !t->has_decoder) rk_buf_put(out, " ", 1);
        rk_buf_put(out, str_at(&l[cur], i), l[cur].v[i].len);
    }
    for (int k = 0; k < 2; k++) {
        free(l[k].b.p);
        free(l[k].v);
    }
    free(tmp.p);
    if (oom || out->oom) return rk_fail(err, RK_ENOMEM, "%s: out of memory while decoding", t->path);
    return RK_OK;
}
