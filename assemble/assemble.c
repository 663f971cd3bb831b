/* assemble.c — the RAFT example builder of assemble.h.
 *
 * The run, in order:
 *  1. load: every document (uri, title) and chunk (text copied, so that the
 *     cache writes of the remote generator never meet a long read
 *     transaction) of the KB;
 *  2. split: documents sorted by a seeded hash of their uri, cut by shares;
 *  3. questions: from the offline generator (in parallel over chunks), the
 *     remote one, or the --qa file; repeated questions are dropped;
 *  4. context: K distractors (K + 1 when the oracle is left out) from the
 *     oracle's split, by the chosen source, and the documents shuffled;
 *  5. answers: the offline generator writes its own; the remote one is asked
 *     now (and for a distractor-grounded rejected answer, for dpo); every
 *     answer is checked against its oracle (cot.h);
 *  6. files: one per split and format, written whole then renamed.
 * Randomness per example comes from (seed, chunk id, question number), so
 * the output does not depend on threads or on what other chunks yielded. */
#define _GNU_SOURCE /* memmem, strcasestr */
#include "raftkit/assemble.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raftkit/buf.h"
#include "raftkit/chunk.h"
#include "raftkit/cot.h"
#include "raftkit/file.h"
#include "raftkit/hash.h"
#include "raftkit/json.h"
#include "raftkit/log.h"
#include "raftkit/qgen.h"
#include "raftkit/rng.h"
#include "raftkit/search.h"
#include "raftkit/text.h"

enum { TRAIN, VAL, TEST, NSPLITS };
static const char *const SPLIT_NAMES[NSPLITS] = {"train", "val", "test"};
static const char *const FORMAT_NAMES[RK_FORMAT_COUNT] = {"raft", "chat", "completion", "dpo", "eval"};

/* Why a question was dropped; the summary counts each. */
enum {
    DROP_DUPLICATE,
    DROP_NOT_IN_ORACLE,
    DROP_NO_ANSWER,
    DROP_UNCLOSED_QUOTE,
    DROP_BAD_QUOTE,
    DROP_GENERATOR,
    DROP_UNKNOWN_SOURCE,
    NDROPS
};
static const char *const DROP_NAMES[NDROPS] = {
    "duplicate question",      "answer not in the oracle", "no final answer",          "unclosed quote",
    "quote not in the oracle", "generator failed",         "unknown document or chunk"};

typedef struct doc_rec {
    uint64_t id;
    char *uri, *title;
    int split;
    uint32_t nchunks;
} doc_rec;

typedef struct chunk_rec {
    uint64_t id;
    uint32_t doc;  /* index into docs */
    size_t off, n; /* text in the arena */
} chunk_rec;

typedef struct item {
    uint32_t oracle;  /* index into chunks */
    uint32_t ordinal; /* the question's number among its chunk's (or the --qa line) */
    char *question, *answer, *cot, *rejected;
    int kind;      /* rk_answer_kind, -1 when not known */
    uint32_t *ctx; /* context chunk indices, shuffled */
    uint32_t nctx;
    int oracle_in;
    uint32_t nhard, nfallback;
    uint64_t rng;
    int drop; /* a DROP_ reason, or -1 */
} item;

typedef struct run {
    const rk_assemble_opts *o;
    rk_kb *kb;
    doc_rec *docs;
    size_t ndocs;
    chunk_rec *chunks;
    size_t nchunks;
    rk_buf arena;            /* the chunks' texts, each NUL-terminated */
    uint32_t *pool[NSPLITS]; /* chunk indices of each split */
    size_t npool[NSPLITS];
    item *items;
    size_t nitems, items_cap;
    uint64_t *seen; /* hashes of questions kept: an open-addressing set */
    size_t seen_cap, seen_n;
    uint64_t dropped[NDROPS];
    uint64_t asked_chunks;
    uint64_t hard, random, fallback;
    rk_gen_stats gen;
    json_t *problems;
    rk_searcher *searcher; /* the index, once something needs it */
} run;

static const char *text_of(const run *r, uint32_t c) { return r->arena.p + r->chunks[c].off; }

/* Opens the index (o->index, or "default") the first time something needs it. */
static rk_status need_searcher(run *r, const char *why, rk_error *err) {
    if (r->searcher) return RK_OK;
    const char *name = r->o->index ? r->o->index : "default";
    rk_status s = rk_searcher_open(r->kb, name, &r->o->embed, &r->searcher, err);
    if (s == RK_ESTATE)
        return rk_fail(err, RK_ESTATE,
                       "%s: no index \"%s\": %s; build one first (raft-index build --kb %s%s%s)",
                       rk_kb_path(r->kb), name, why, rk_kb_path(r->kb), r->o->index ? " --name " : "",
                       r->o->index ? r->o->index : "");
    if (!s && r->o->params) s = rk_searcher_set_params(r->searcher, r->o->params, err);
    if (!s && rk_searcher_stale(r->searcher))
        rk_log_warn("index \"%s\" is older than the KB's chunks; run raft-index update", name);
    return s;
}

/* ---- formats ---- */

unsigned rk_format_parse(const char *list, const char **bad, size_t *bad_len) {
    unsigned bits = 0;
    for (const char *p = list;;) {
        size_t n = strcspn(p, ",");
        int k = 0;
        while (k < RK_FORMAT_COUNT && (strlen(FORMAT_NAMES[k]) != n || strncmp(FORMAT_NAMES[k], p, n)))
            k++;
        if (k == RK_FORMAT_COUNT) {
            *bad = p;
            *bad_len = n;
            return 0;
        }
        bits |= 1u << k;
        if (!p[n]) return bits;
        p += n + 1;
    }
}

/* ---- 1. load ---- */

static rk_status add_doc(const rk_doc *d, void *ctx, rk_error *err) {
    run *r = ctx;
    if (r->ndocs % 256 == 0) {
        doc_rec *nd = realloc(r->docs, (r->ndocs + 256) * sizeof *nd);
        if (!nd) return rk_fail(err, RK_ENOMEM, "out of memory loading documents");
        r->docs = nd;
    }
    doc_rec *x = &r->docs[r->ndocs];
    *x = (doc_rec){.id = d->id, .uri = strdup(d->uri), .title = strdup(d->title ? d->title : "")};
    if (!x->uri || !x->title) {
        free(x->uri);
        free(x->title);
        return rk_fail(err, RK_ENOMEM, "out of memory loading documents");
    }
    r->ndocs++;
    return RK_OK;
}

/* Binary search for id among n records of the given size in id order,
 * each starting with its uint64_t id (doc_rec, chunk_rec). */
static int find_id(const void *base, size_t n, size_t size, uint64_t id, uint32_t *out) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint64_t at;
        memcpy(&at, (const char *)base + mid * size, sizeof at);
        if (at < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint64_t at = 0;
    if (lo < n) memcpy(&at, (const char *)base + lo * size, sizeof at);
    if (lo == n || at != id) return 0;
    *out = (uint32_t)lo;
    return 1;
}

static int doc_index(const run *r, uint64_t id, uint32_t *out) {
    return find_id(r->docs, r->ndocs, sizeof *r->docs, id, out);
}

static int chunk_index(const run *r, uint64_t id, uint32_t *out) {
    return find_id(r->chunks, r->nchunks, sizeof *r->chunks, id, out);
}

static rk_status add_chunk(const rk_chunk *c, void *ctx, rk_error *err) {
    run *r = ctx;
    uint32_t d;
    if (!doc_index(r, c->doc_id, &d)) return RK_OK; /* cannot happen in a consistent KB */
    if (r->nchunks % 1024 == 0) {
        chunk_rec *nc = realloc(r->chunks, (r->nchunks + 1024) * sizeof *nc);
        if (!nc) return rk_fail(err, RK_ENOMEM, "out of memory loading chunks");
        r->chunks = nc;
    }
    size_t off = r->arena.n;
    rk_buf_put(&r->arena, c->text, c->text_len);
    rk_buf_put(&r->arena, "", 1); /* each text NUL-terminated in place */
    if (r->arena.oom) return rk_fail(err, RK_ENOMEM, "out of memory loading chunk texts (%zu bytes)", off);
    r->chunks[r->nchunks++] = (chunk_rec){c->id, d, off, c->text_len};
    r->docs[d].nchunks++;
    return RK_OK;
}

static rk_status load(run *r, rk_error *err) {
    rk_kb_txn *t;
    rk_status s = rk_kb_read_begin(r->kb, &t, err);
    if (s) return s;
    s = rk_kb_doc_foreach(t, add_doc, r, err);
    if (!s) s = rk_kb_chunk_foreach(t, add_chunk, r, err);
    rk_kb_read_end(t);
    return s;
}

/* ---- 2. split ---- */

typedef struct keyed {
    uint64_t key, id;
    uint32_t i;
} keyed;

static int by_key(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static rk_status split_docs(run *r, rk_error *err) {
    keyed *k = malloc((r->ndocs ? r->ndocs : 1) * sizeof *k);
    if (!k) return rk_fail(err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->ndocs; i++)
        k[i] = (keyed){rk_hash64_of(r->docs[i].uri, strlen(r->docs[i].uri), r->o->seed), r->docs[i].id,
                       (uint32_t)i};
    qsort(k, r->ndocs, sizeof *k, by_key);
    size_t ntrain = (size_t)llround(r->o->split[TRAIN] * (double)r->ndocs);
    size_t nval = (size_t)llround(r->o->split[VAL] * (double)r->ndocs);
    if (ntrain > r->ndocs) ntrain = r->ndocs;
    if (nval > r->ndocs - ntrain) nval = r->ndocs - ntrain;
    if (r->o->split[TEST] == 0) nval = r->ndocs - ntrain; /* rounding leaves nothing to a 0 share */
    for (size_t i = 0; i < r->ndocs; i++)
        r->docs[k[i].i].split = i < ntrain ? TRAIN : i < ntrain + nval ? VAL : TEST;
    free(k);
    for (int s = 0; s < NSPLITS; s++)
        if (!(r->pool[s] = malloc((r->nchunks ? r->nchunks : 1) * sizeof **r->pool)))
            return rk_fail(err, RK_ENOMEM, "out of memory");
    for (size_t c = 0; c < r->nchunks; c++) {
        int s = r->docs[r->chunks[c].doc].split;
        r->pool[s][r->npool[s]++] = (uint32_t)c;
    }
    return RK_OK;
}

/* ---- 3. questions ---- */

/* Lower-cased words of s, hashed: questions that differ only in case,
 * spacing or punctuation are the same question. */
static uint64_t question_key(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            continue;
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        h = (h ^ c) * 1099511628211ULL;
    }
    return h ? h : 1;
}

/* Adds the question's key to the set; 0 when it was there already. */
static int first_time(run *r, const char *question) {
    if (2 * (r->seen_n + 1) > r->seen_cap) {
        size_t cap = r->seen_cap ? 2 * r->seen_cap : 1024;
        uint64_t *ns = calloc(cap, sizeof *ns);
        if (!ns) return -1;
        for (size_t i = 0; i < r->seen_cap; i++)
            if (r->seen[i])
                for (size_t j = r->seen[i] & (cap - 1);; j = (j + 1) & (cap - 1))
                    if (!ns[j]) {
                        ns[j] = r->seen[i];
                        break;
                    }
        free(r->seen);
        r->seen = ns;
        r->seen_cap = cap;
    }
    uint64_t k = question_key(question);
    for (size_t j = k & (r->seen_cap - 1);; j = (j + 1) & (r->seen_cap - 1)) {
        if (r->seen[j] == k) return 0;
        if (!r->seen[j]) {
            r->seen[j] = k;
            r->seen_n++;
            return 1;
        }
    }
}

/* Appends an item that owns question (and answer, cot when given), or drops
 * it as a repeat. */
static rk_status push_item(run *r, uint32_t oracle, uint32_t ordinal, char *question, char *answer, char *cot,
                           int kind, rk_error *err) {
    int fresh = question ? first_time(r, question) : -1;
    if (fresh <= 0) {
        free(question);
        free(answer);
        free(cot);
        if (fresh < 0) return rk_fail(err, RK_ENOMEM, "out of memory");
        r->dropped[DROP_DUPLICATE]++;
        return RK_OK;
    }
    if (r->nitems == r->items_cap) {
        size_t cap = r->items_cap ? 2 * r->items_cap : 1024;
        item *ni = realloc(r->items, cap * sizeof *ni);
        if (!ni) {
            free(question);
            free(answer);
            free(cot);
            return rk_fail(err, RK_ENOMEM, "out of memory");
        }
        r->items = ni;
        r->items_cap = cap;
    }
    uint64_t key[2] = {r->chunks[oracle].id, ordinal};
    uint64_t rng = rk_hash64_of(key, sizeof key, r->o->seed);
    r->items[r->nitems++] = (item){.oracle = oracle,
                                   .ordinal = ordinal,
                                   .question = question,
                                   .answer = answer,
                                   .cot = cot,
                                   .kind = kind,
                                   .rng = rng,
                                   .drop = -1};
    return RK_OK;
}

static int by_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The chunks to ask about: all, or a seeded sample of max_chunks, in id order. */
static rk_status chunks_to_ask(run *r, uint32_t **out, size_t *n, rk_error *err) {
    keyed *k = malloc((r->nchunks ? r->nchunks : 1) * sizeof *k);
    uint32_t *c = malloc((r->nchunks ? r->nchunks : 1) * sizeof *c);
    if (!k || !c) {
        free(k);
        free(c);
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->nchunks; i++) {
        uint64_t id = r->chunks[i].id;
        k[i] = (keyed){r->o->max_chunks ? rk_hash64_of(&id, sizeof id, r->o->seed) : i, id, (uint32_t)i};
    }
    size_t m = r->o->max_chunks && r->o->max_chunks < r->nchunks ? r->o->max_chunks : r->nchunks;
    if (m < r->nchunks) qsort(k, r->nchunks, sizeof *k, by_key);
    for (size_t i = 0; i < m; i++)
        c[i] = k[i].i;
    free(k);
    qsort(c, m, sizeof *c, by_u32); /* back to id order: chunk indices are in id order */
    *out = c;
    *n = m;
    return RK_OK;
}

static rk_status offline_questions(run *r, const uint32_t *ask, size_t nask, rk_error *err) {
    rk_qa **qa = calloc(nask ? nask : 1, sizeof *qa);
    size_t *nqa = calloc(nask ? nask : 1, sizeof *nqa);
    if (!qa || !nqa) {
        free(qa);
        free(nqa);
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 64) reduction(| : failed)
    for (size_t i = 0; i < nask; i++) {
        const chunk_rec *c = &r->chunks[ask[i]];
        if (rk_qgen_offline(r->arena.p + c->off, c->n, r->o->questions, &qa[i], &nqa[i], NULL)) failed = 1;
    }
    rk_status s = failed ? rk_fail(err, RK_ENOMEM, "out of memory generating questions") : RK_OK;
    for (size_t i = 0; i < nask && !s; i++) {
        r->asked_chunks++;
        const char *t = text_of(r, ask[i]);
        for (size_t j = 0; j < nqa[i] && !s; j++) {
            const rk_qa *q = &qa[i][j];
            char *question = strdup(q->question), *answer = strdup(q->answer);
            size_t before = r->nitems;
            s = push_item(r, ask[i], (uint32_t)j, question, answer, NULL, (int)q->kind, err);
            if (!s && r->nitems > before) {
                r->items[before].cot =
                    rk_cot_write(q->question, t + q->sent_start, q->sent_end - q->sent_start, q->answer);
                if (!r->items[before].cot) s = rk_fail(err, RK_ENOMEM, "out of memory");
            }
        }
    }
    for (size_t i = 0; i < nask; i++)
        rk_qa_free(qa[i], nqa[i]);
    free(qa);
    free(nqa);
    return s;
}

static rk_status remote_questions(run *r, const rk_prompts *p, const uint32_t *ask, size_t nask,
                                  rk_error *err) {
    rk_gen_job *jobs = calloc(nask ? nask : 1, sizeof *jobs);
    if (!jobs) return rk_fail(err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; i < nask; i++)
        jobs[i] = (rk_gen_job){.kind = RK_GEN_QUESTIONS,
                               .text = text_of(r, ask[i]),
                               .text_len = r->chunks[ask[i]].n,
                               .n = r->o->questions};
    rk_gen_stats st = {0};
    rk_status s = rk_gen_run(r->kb, &r->o->gen, p, jobs, nask, &st, err);
    r->gen.requests += st.requests;
    r->gen.cached += st.cached;
    r->gen.failed += st.failed;
    char **qs = malloc((r->o->questions ? r->o->questions : 1) * sizeof *qs);
    if (!s && !qs) s = rk_fail(err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; i < nask && !s; i++) {
        r->asked_chunks++;
        if (!jobs[i].reply) {
            rk_log_warn("chunk %llu: %s", (unsigned long long)r->chunks[ask[i]].id, jobs[i].error);
            r->dropped[DROP_GENERATOR]++;
            continue;
        }
        size_t nq = rk_gen_parse_questions(jobs[i].reply, r->o->questions, qs);
        for (size_t j = 0; j < nq && !s; j++)
            s = push_item(r, ask[i], (uint32_t)j, qs[j], NULL, NULL, -1, err);
        for (size_t j = s ? 0 : nq; j < nq; j++) /* after a failure, those not handed over */
            free(qs[j]);
    }
    free(qs);
    for (size_t i = 0; i < nask; i++)
        free(jobs[i].reply);
    free(jobs);
    return s;
}

/* ---- --qa: the team's own questions ---- */

/* How many of the words of a (of three letters or more) occur in t,
 * ignoring case. */
static size_t shared_words(const char *a, const char *t) {
    size_t pos = 0, start, hits = 0, n = strlen(a);
    char w[64];
    while (rk_text_next_word(a, n, &pos, &start, w, sizeof w))
        hits += strlen(w) >= 3 && strcasestr(t, w);
    return hits;
}

/* The chunk of document d that holds the answer verbatim, else the one
 * sharing most words with question and answer. */
static uint32_t best_chunk_of_doc(const run *r, uint32_t d, const char *question, const char *answer) {
    uint32_t best = UINT32_MAX;
    size_t best_score = 0;
    for (size_t c = 0; c < r->nchunks; c++) {
        if (r->chunks[c].doc != d) continue;
        const char *t = text_of(r, (uint32_t)c);
        if (strstr(t, answer)) return (uint32_t)c;
        size_t score = shared_words(question, t) + shared_words(answer, t) + 1;
        if (score > best_score) {
            best_score = score;
            best = (uint32_t)c;
        }
    }
    return best;
}

/* The sentence of t that holds answer, else the one sharing most words with
 * question and answer: what an offline answer to a --qa line quotes. */
static void quote_for(const char *t, size_t n, const char *question, const char *answer, size_t *qs,
                      size_t *qe) {
    rk_span *sp = NULL;
    size_t ns = 0;
    *qs = 0;
    *qe = n;
    if (rk_text_sentences(t, n, &sp, &ns, NULL) || !ns) {
        free(sp);
        return;
    }
    size_t best = 0, best_score = 0;
    for (size_t i = 0; i < ns; i++) {
        char *s = strndup(t + sp[i].start, sp[i].end - sp[i].start);
        if (!s) break;
        size_t score = strstr(s, answer) ? SIZE_MAX : shared_words(question, s) + shared_words(answer, s);
        free(s);
        if (score > best_score) {
            best_score = score;
            best = i;
        }
        if (score == SIZE_MAX) break;
    }
    *qs = sp[best].start;
    *qe = sp[best].end;
    free(sp);
}

static const char *json_str(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Records a --qa line that cannot be used, with its place. */
static void qa_problem(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void qa_problem(run *r, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rk_log_warn("%s", msg);
    json_array_append_new(r->problems, json_string(msg));
}

static rk_status qa_questions(run *r, rk_error *err) {
    char *text;
    size_t len;
    rk_status s = rk_file_read(r->o->qa_path, &text, &len, err);
    if (s) return s;
    rk_jsonl lines;
    rk_jsonl_init(&lines, r->o->qa_path, text, len);
    for (json_t *j; !s && !(s = rk_jsonl_next(&lines, &j, err)) && j;) {
        const char *what = lines.where;
        const char *question = json_str(j, "question"), *answer = json_str(j, "answer");
        const char *doc = json_str(j, "doc"), *cot = json_str(j, "cot_answer");
        json_t *cid = json_object_get(j, "chunk_id");
        if (!question || !*question || !answer || !*answer) {
            json_decref(j);
            s = rk_fail(err, RK_EFORMAT, "%s: needs \"question\" and \"answer\" strings", what);
            break;
        }
        uint32_t oracle = UINT32_MAX, d;
        if (json_is_integer(cid)) {
            if (!chunk_index(r, (uint64_t)json_integer_value(cid), &oracle))
                qa_problem(r, "%s: unknown chunk %lld; line skipped", what,
                           (long long)json_integer_value(cid));
        } else if (doc) {
            uint64_t id = 0;
            rk_kb_txn *t;
            if (!(s = rk_kb_read_begin(r->kb, &t, err))) {
                rk_status fs = rk_kb_doc_find(t, doc, &id, NULL);
                rk_kb_read_end(t);
                if (fs || !doc_index(r, id, &d))
                    qa_problem(r, "%s: unknown document \"%s\"; line skipped", what, doc);
                else
                    oracle = best_chunk_of_doc(r, d, question, answer);
            }
        } else { /* no source: the chunk the KB's index ranks first */
            s = need_searcher(r, "a --qa line without \"doc\" or \"chunk_id\" is looked up in it", err);
            rk_hit hit;
            size_t got = 0;
            if (!s) s = rk_searcher_query(r->searcher, 1, &question, 1, &hit, &got, err);
            if (!s && got) {
                if (!chunk_index(r, hit.chunk_id, &oracle))
                    qa_problem(r, "%s: the index found chunk %llu, which the KB no longer has", what,
                               (unsigned long long)hit.chunk_id);
            } else if (!s) {
                qa_problem(r, "%s: the index found no chunk for the question; line skipped", what);
            }
            if (s) rk_fail_prefix(err, "%s", what);
        }
        if (!s && oracle == UINT32_MAX) r->dropped[DROP_UNKNOWN_SOURCE]++;
        if (!s && oracle != UINT32_MAX) {
            size_t before = r->nitems;
            s = push_item(r, oracle, (uint32_t)lines.line, strdup(question), strdup(answer),
                          cot ? strdup(cot) : NULL, -1, err);
            /* the remote generator answers later; offline, the line's answer quoting its sentence */
            if (!s && r->nitems > before && !cot && r->o->generator == RK_GENERATOR_OFFLINE) {
                size_t qs, qe;
                quote_for(text_of(r, oracle), r->chunks[oracle].n, question, answer, &qs, &qe);
                if (!(r->items[before].cot =
                          rk_cot_write(question, text_of(r, oracle) + qs, qe - qs, answer)))
                    s = rk_fail(err, RK_ENOMEM, "out of memory");
            }
        }
        json_decref(j);
    }
    free(text);
    return s;
}

/* ---- 4. context ---- */

static int in_ctx(const item *it, uint32_t c) {
    for (uint32_t i = 0; i < it->nctx; i++)
        if (it->ctx[i] == c) return 1;
    return 0;
}

/* Adds random distractors from the split until it->nctx reaches want;
 * other_doc: only chunks of other documents than the oracle's. Returns how
 * many it added. Sampling by rejection when the pool is large, by a walk
 * from a random start otherwise, so it always ends. */
static uint32_t add_random(const run *r, item *it, const uint32_t *pool, size_t npool, uint32_t want,
                           int other_doc) {
    uint32_t added = 0, odoc = r->chunks[it->oracle].doc;
    for (int tries = 0; it->nctx < want && tries < 64; tries++) {
        uint32_t c = pool[rk_rng_below(&it->rng, npool)];
        if (c == it->oracle || (other_doc && r->chunks[c].doc == odoc) || in_ctx(it, c)) continue;
        it->ctx[it->nctx++] = c;
        added++;
    }
    size_t start = npool ? rk_rng_below(&it->rng, npool) : 0;
    for (size_t k = 0; k < npool && it->nctx < want; k++) {
        uint32_t c = pool[(start + k) % npool];
        if (c == it->oracle || (other_doc && r->chunks[c].doc == odoc) || in_ctx(it, c)) continue;
        it->ctx[it->nctx++] = c;
        added++;
    }
    return added;
}

/* The hard distractors of the items of split sp: each question's nearest
 * chunks in the index, in the split, from other documents than the oracle's,
 * found in batched searches deep enough that the split's share of the
 * index still yields them. */
static rk_status hard_distractors(run *r, int sp, const uint32_t *want_hard, rk_error *err) {
    size_t maxdoc = 0, k;
    for (size_t d = 0; d < r->ndocs; d++)
        if (r->docs[d].nchunks > maxdoc) maxdoc = r->docs[d].nchunks;
    double share = r->npool[sp] ? (double)r->nchunks / (double)r->npool[sp] : 1;
    k = (size_t)ceil((double)(r->o->distractors + 1 + maxdoc) * share * 1.5) + 8;
    if (k > r->nchunks) k = r->nchunks;
    enum { BATCH = 1024 };
    const char **texts = malloc(BATCH * sizeof *texts);
    size_t *which = malloc(BATCH * sizeof *which), *counts = malloc(BATCH * sizeof *counts);
    rk_hit *hits = malloc(BATCH * k * sizeof *hits);
    rk_status s = texts && which && counts && hits ? RK_OK : rk_fail(err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->nitems && !s;) {
        size_t nq = 0;
        for (; i < r->nitems && nq < BATCH; i++)
            if (r->docs[r->chunks[r->items[i].oracle].doc].split == sp && want_hard[i]) {
                which[nq] = i;
                texts[nq++] = r->items[i].question;
            }
        if (!nq) break;
        if ((s = rk_searcher_query(r->searcher, nq, texts, k, hits, counts, err))) break;
        for (size_t q = 0; q < nq; q++) {
            item *it = &r->items[which[q]];
            uint32_t odoc = r->chunks[it->oracle].doc, goal = it->nctx + want_hard[which[q]];
            for (size_t h = 0; h < counts[q] && it->nctx < goal; h++) {
                uint32_t c;
                if (!chunk_index(r, hits[q * k + h].chunk_id, &c) || r->chunks[c].doc == odoc ||
                    r->docs[r->chunks[c].doc].split != sp || in_ctx(it, c))
                    continue;
                it->ctx[it->nctx++] = c;
                it->nhard++;
            }
        }
    }
    free(texts);
    free(which);
    free(counts);
    free(hits);
    return s;
}

static rk_status choose_contexts(run *r, rk_error *err) {
    size_t K = r->o->distractors;
    int hard = r->o->source != RK_DISTRACT_RANDOM;
    size_t in_split[NSPLITS] = {0}, docs[NSPLITS] = {0};
    for (size_t i = 0; i < r->nitems; i++)
        in_split[r->docs[r->chunks[r->items[i].oracle].doc].split]++;
    for (size_t d = 0; d < r->ndocs; d++)
        docs[r->docs[d].split]++;
    for (int sp = 0; sp < NSPLITS; sp++)
        if (in_split[sp] && r->npool[sp] < K + 1)
            return rk_fail(
                err, RK_EINVAL,
                "split %s has %zu chunks (from %zu documents): %zu distractors and the oracle need at "
                "least %zu; use fewer --distractors or larger shares in --split",
                SPLIT_NAMES[sp], r->npool[sp], docs[sp], K, K + 1);
    uint32_t *want_hard = calloc(r->nitems ? r->nitems : 1, sizeof *want_hard);
    if (!want_hard) return rk_fail(err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->nitems; i++) {
        item *it = &r->items[i];
        int sp = r->docs[r->chunks[it->oracle].doc].split;
        it->oracle_in = sp == TEST || rk_rng_unit(&it->rng) < r->o->p_oracle;
        uint32_t nd = (uint32_t)K + !it->oracle_in;
        if (!(it->ctx = malloc((nd + 1) * sizeof *it->ctx))) {
            free(want_hard);
            return rk_fail(err, RK_ENOMEM, "out of memory");
        }
        if (it->oracle_in) it->ctx[it->nctx++] = it->oracle;
        want_hard[i] = r->o->source == RK_DISTRACT_HARD    ? nd
                       : r->o->source == RK_DISTRACT_MIXED ? (nd + 1) / 2
                                                           : 0;
    }
    rk_status s = RK_OK;
    for (int sp = 0; hard && sp < NSPLITS && !s; sp++)
        s = hard_distractors(r, sp, want_hard, err);
    for (size_t i = 0; i < r->nitems && !s; i++) {
        item *it = &r->items[i];
        int sp = r->docs[r->chunks[it->oracle].doc].split;
        uint32_t nd = (uint32_t)K + !it->oracle_in, goal = nd + (uint32_t)it->oracle_in;
        uint32_t before = it->nctx;
        /* what the search did not find comes from the split's other documents, then from anywhere in it */
        uint32_t short_hard = want_hard[i] > it->nhard ? want_hard[i] - it->nhard : 0;
        if (short_hard)
            it->nfallback = add_random(r, it, r->pool[sp], r->npool[sp], it->nctx + short_hard, 1);
        add_random(r, it, r->pool[sp], r->npool[sp], goal, 0);
        r->hard += it->nhard;
        r->fallback += it->nfallback;
        r->random += it->nctx - before - it->nfallback;
        for (uint32_t j = it->nctx; j > 1; j--) { /* Fisher-Yates */
            uint32_t k = (uint32_t)rk_rng_below(&it->rng, j), t = it->ctx[j - 1];
            it->ctx[j - 1] = it->ctx[k];
            it->ctx[k] = t;
        }
    }
    free(want_hard);
    return s;
}

/* ---- 5. answers ---- */

/* A wrong answer for dpo's rejected: one grounded in a distractor of the
 * context (a fact the offline generator finds there, of the same kind when
 * it can), else a closed-book guess (another example's answer, quoting
 * nothing). */
static char *offline_rejected(const run *r, const item *it, size_t idx) {
    for (uint32_t k = 0; k < it->nctx; k++) {
        uint32_t c = it->ctx[k];
        if (c == it->oracle) continue;
        rk_qa *qa = NULL;
        size_t n = 0;
        if (rk_qgen_offline(text_of(r, c), r->chunks[c].n, 8, &qa, &n, NULL)) return NULL;
        size_t pick = n;
        for (size_t j = 0; j < n && pick == n; j++)
            if ((int)qa[j].kind == it->kind && strcmp(qa[j].answer, it->answer)) pick = j;
        for (size_t j = 0; j < n && pick == n; j++)
            if (strcmp(qa[j].answer, it->answer)) pick = j;
        char *cot = NULL;
        if (pick < n)
            cot = rk_cot_write(it->question, text_of(r, c) + qa[pick].sent_start,
                               qa[pick].sent_end - qa[pick].sent_start, qa[pick].answer);
        rk_qa_free(qa, n);
        if (pick < n) return cot;
    }
    const char *guess = "I do not know";
    for (size_t j = 1; j < r->nitems; j++) {
        const item *o = &r->items[(idx + j) % r->nitems];
        if (o->answer && strcmp(o->answer, it->answer) && (o->kind == it->kind || j + 1 == r->nitems)) {
            guess = o->answer;
            break;
        }
    }
    const char *fmt =
        "##Reason: The documents are not needed; from memory, the answer is %s.\n" RK_COT_ANSWER " %s";
    int n = snprintf(NULL, 0, fmt, guess, guess);
    char *cot = malloc((size_t)n + 1);
    if (cot) snprintf(cot, (size_t)n + 1, fmt, guess, guess);
    return cot;
}

/* The first distractor of the context, the one a remote rejected answer is grounded in. */
static int first_distractor(const item *it, uint32_t *c) {
    for (uint32_t k = 0; k < it->nctx; k++)
        if (it->ctx[k] != it->oracle) {
            *c = it->ctx[k];
            return 1;
        }
    return 0;
}

static rk_status remote_answers(run *r, const rk_prompts *p, rk_error *err) {
    int dpo = (r->o->formats & RK_FORMAT_DPO) != 0;
    rk_gen_job *jobs = calloc(2 * r->nitems + 1, sizeof *jobs);
    size_t *owner = calloc(2 * r->nitems + 1, sizeof *owner);
    if (!jobs || !owner) {
        free(jobs);
        free(owner);
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < r->nitems; i++) {
        item *it = &r->items[i];
        uint32_t d;
        if (!it->cot) {
            owner[n] = i;
            jobs[n++] = (rk_gen_job){.kind = RK_GEN_ANSWER,
                                     .text = text_of(r, it->oracle),
                                     .text_len = r->chunks[it->oracle].n,
                                     .question = it->question};
        }
        if (dpo && first_distractor(it, &d)) {
            owner[n] = i | ((size_t)1 << (sizeof(size_t) * 8 - 1));
            jobs[n++] = (rk_gen_job){.kind = RK_GEN_ANSWER,
                                     .text = text_of(r, d),
                                     .text_len = r->chunks[d].n,
                                     .question = it->question};
        }
    }
    rk_gen_stats st = {0};
    rk_status s = rk_gen_run(r->kb, &r->o->gen, p, jobs, n, &st, err);
    r->gen.requests += st.requests;
    r->gen.cached += st.cached;
    r->gen.failed += st.failed;
    size_t high = (size_t)1 << (sizeof(size_t) * 8 - 1);
    for (size_t j = 0; j < n; j++) {
        item *it = &r->items[owner[j] & ~high];
        if (s) {
            free(jobs[j].reply);
        } else if (owner[j] & high) {
            it->rejected = jobs[j].reply; /* NULL when it failed: the offline one is used */
        } else if (!jobs[j].reply) {
            rk_log_warn("chunk %llu, \"%s\": %s", (unsigned long long)r->chunks[it->oracle].id, it->question,
                        jobs[j].error);
            it->drop = DROP_GENERATOR;
        } else {
            it->cot = jobs[j].reply;
        }
    }
    free(jobs);
    free(owner);
    return s;
}

/* Checks every answer against its oracle, takes remote answers' final
 * answer, and writes the rejected answers dpo needs. */
static rk_status check_answers(run *r, rk_error *err) {
    for (size_t i = 0; i < r->nitems; i++) {
        item *it = &r->items[i];
        if (it->drop >= 0) continue;
        const char *t = text_of(r, it->oracle);
        size_t tn = r->chunks[it->oracle].n;
        switch (rk_cot_verify(it->cot, strlen(it->cot), t, tn)) {
        case RK_COT_OK: break;
        case RK_COT_NO_ANSWER: it->drop = DROP_NO_ANSWER; continue;
        case RK_COT_UNCLOSED_QUOTE: it->drop = DROP_UNCLOSED_QUOTE; continue;
        case RK_COT_BAD_QUOTE: it->drop = DROP_BAD_QUOTE; continue;
        }
        if (!it->answer) {
            size_t a, len;
            rk_cot_answer(it->cot, strlen(it->cot), &a, &len);
            if (!(it->answer = strndup(it->cot + a, len))) return rk_fail(err, RK_ENOMEM, "out of memory");
        } else if (r->o->generator == RK_GENERATOR_OFFLINE && !r->o->qa_path &&
                   !memmem(t, tn, it->answer, strlen(it->answer))) {
            it->drop = DROP_NOT_IN_ORACLE;
            continue;
        }
    }
    for (size_t i = 0; i < r->nitems; i++) {
        item *it = &r->items[i];
        if (it->drop >= 0) {
            r->dropped[it->drop]++;
            continue;
        }
        if ((r->o->formats & RK_FORMAT_DPO) && !it->rejected && !(it->rejected = offline_rejected(r, it, i)))
            return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    return RK_OK;
}

/* ---- 6. files ---- */

static const char *DEFAULT_INSTRUCTION = "{documents}{question}";

/* The instruction: the template with {documents} (each context chunk as
 * "<DOCUMENT>text</DOCUMENT>\n", as the reference writes them) and {question}. */
static char *instruction(const run *r, const item *it) {
    rk_buf docs = {0};
    rk_buf_put(&docs, "", 0);
    for (uint32_t k = 0; k < it->nctx; k++) {
        rk_buf_put(&docs, "<DOCUMENT>", 10);
        rk_buf_put(&docs, text_of(r, it->ctx[k]), r->chunks[it->ctx[k]].n);
        rk_buf_put(&docs, "</DOCUMENT>\n", 12);
    }
    rk_prompt_slot slots[2] = {{"{documents}", docs.p, docs.n},
                               {"{question}", it->question, strlen(it->question)}};
    char *ins = docs.oom
                    ? NULL
                    : rk_prompt_fill(r->o->instruction ? r->o->instruction : DEFAULT_INSTRUCTION, slots, 2);
    free(docs.p);
    return ins;
}

static json_t *example_id(const run *r, const item *it) {
    char id[64];
    if (r->o->qa_path)
        snprintf(id, sizeof id, "qa%u", it->ordinal);
    else
        snprintf(id, sizeof id, "c%llu-q%u", (unsigned long long)r->chunks[it->oracle].id, it->ordinal);
    return json_string(id);
}

/* The record of item it in format f (an RK_FORMAT_ bit's index). */
static json_t *record(const run *r, const item *it, int f, const char *ins) {
    const chunk_rec *oc = &r->chunks[it->oracle];
    json_t *titles = json_array(), *texts = json_array(), *docs = json_array(), *ids = json_array();
    for (uint32_t k = 0; k < it->nctx; k++) {
        const chunk_rec *c = &r->chunks[it->ctx[k]];
        json_array_append_new(titles, json_string(r->docs[c->doc].title));
        json_array_append_new(texts, json_stringn(text_of(r, it->ctx[k]), c->n));
        json_array_append_new(docs, json_integer((json_int_t)r->docs[c->doc].id));
        json_array_append_new(ids, json_integer((json_int_t)c->id));
    }
    json_t *j = json_object();
    json_object_set_new(j, "id", example_id(r, it));
    switch (1 << f) {
    case RK_FORMAT_RAFT:
        json_object_set_new(j, "type", json_string("general"));
        json_object_set_new(j, "question", json_string(it->question));
        json_object_set_new(j, "context", json_pack("{s[o]s[o]}", "title", titles, "sentences", texts));
        json_object_set_new(j, "oracle_context", json_stringn(text_of(r, it->oracle), oc->n));
        json_object_set_new(j, "cot_answer", json_string(it->cot));
        json_object_set_new(j, "instruction", json_string(ins));
        json_object_set_new(j, "answer", json_string(it->answer));
        json_object_set_new(j, "oracle_chunk", json_integer((json_int_t)oc->id));
        json_object_set_new(j, "doc_ids", docs);
        json_object_set_new(j, "chunk_ids", ids);
        return j;
    case RK_FORMAT_CHAT: {
        json_t *m = json_array();
        if (r->o->system_prompt)
            json_array_append_new(m, json_pack("{ssss}", "role", "system", "content", r->o->system_prompt));
        json_array_append_new(m, json_pack("{ssss}", "role", "user", "content", ins));
        json_array_append_new(m, json_pack("{ssss}", "role", "assistant", "content", it->cot));
        json_object_set_new(j, "messages", m);
        break;
    }
    case RK_FORMAT_COMPLETION:
        json_object_set_new(j, "prompt", json_string(ins));
        json_object_set_new(j, "completion", json_string(it->cot));
        break;
    case RK_FORMAT_DPO:
        json_object_set_new(j, "prompt", json_string(ins));
        json_object_set_new(j, "chosen", json_string(it->cot));
        json_object_set_new(j, "rejected", json_string(it->rejected));
        break;
    default: /* RK_FORMAT_EVAL */
        json_object_set_new(j, "question", json_string(it->question));
        json_object_set_new(j, "answer", json_string(it->answer));
        json_object_set_new(j, "oracle_chunk_ids", json_pack("[I]", (json_int_t)oc->id));
        json_object_set_new(j, "oracle_in_context", json_boolean(it->oracle_in));
        json_object_set_new(j, "doc_ids", docs);
        json_object_set_new(j, "chunk_ids", ids);
        json_object_set_new(j, "titles", titles);
        json_object_set_new(j, "context", texts);
        json_object_set_new(j, "instruction", json_string(ins));
        return j;
    }
    json_decref(titles);
    json_decref(texts);
    json_decref(docs);
    json_decref(ids);
    return j;
}

static rk_status write_files(run *r, uint64_t examples[NSPLITS], uint64_t with_oracle[NSPLITS], json_t *files,
                             rk_error *err) {
    const char *dir = r->o->out_dir;
    rk_status s = rk_mkdir_p(dir, err);
    if (s) return s;
    unsigned formats = r->o->formats ? r->o->formats : RK_FORMAT_RAFT;
    FILE *f[NSPLITS][RK_FORMAT_COUNT] = {{0}};
    char path[NSPLITS][RK_FORMAT_COUNT][4096], tmp[NSPLITS][RK_FORMAT_COUNT][4096];
    for (int sp = 0; sp < NSPLITS && !s; sp++)
        for (int k = 0; k < RK_FORMAT_COUNT && !s; k++) {
            if (!(formats & (1u << k))) continue;
            snprintf(path[sp][k], sizeof path[sp][k], "%s/%s.%s.jsonl", dir, SPLIT_NAMES[sp],
                     FORMAT_NAMES[k]);
            snprintf(tmp[sp][k], sizeof tmp[sp][k], "%s/.%s.%s.jsonl.tmp", dir, SPLIT_NAMES[sp],
                     FORMAT_NAMES[k]);
            if (!(f[sp][k] = fopen(tmp[sp][k], "w")))
                s = rk_fail(err, RK_EIO, "%s: %s", tmp[sp][k], strerror(errno));
        }
    for (size_t i = 0; i < r->nitems && !s; i++) {
        const item *it = &r->items[i];
        if (it->drop >= 0) continue;
        int sp = r->docs[r->chunks[it->oracle].doc].split;
        examples[sp]++;
        with_oracle[sp] += it->oracle_in;
        char *ins = instruction(r, it);
        if (!ins) s = rk_fail(err, RK_ENOMEM, "out of memory");
        for (int k = 0; k < RK_FORMAT_COUNT && !s; k++) {
            if (!f[sp][k]) continue;
            json_t *j = record(r, it, k, ins);
            if (!j || rk_json_print_line(f[sp][k], j))
                s = rk_fail(err, RK_EIO, "%s: %s", tmp[sp][k], j ? strerror(errno) : "out of memory");
            json_decref(j);
        }
        free(ins);
    }
    for (int sp = 0; sp < NSPLITS; sp++)
        for (int k = 0; k < RK_FORMAT_COUNT; k++) {
            if (!f[sp][k]) continue;
            if (fclose(f[sp][k]) && !s) s = rk_fail(err, RK_EIO, "%s: %s", tmp[sp][k], strerror(errno));
            if (s) unlink(tmp[sp][k]);
        }
    for (int sp = 0; sp < NSPLITS && !s; sp++)
        for (int k = 0; k < RK_FORMAT_COUNT && !s; k++) {
            if (!(formats & (1u << k))) continue;
            if (rename(tmp[sp][k], path[sp][k]))
                s = rk_fail(err, RK_EIO, "%s: %s", path[sp][k], strerror(errno));
            json_array_append_new(files, json_string(path[sp][k]));
        }
    return s;
}

/* ---- the run ---- */

static json_t *summary_of(const run *r, const uint64_t examples[NSPLITS], const uint64_t with_oracle[NSPLITS],
                          json_t *files) {
    json_t *dropped = json_object(), *ex = json_object(), *docs = json_object(), *share = json_object();
    uint64_t dropped_total = 0;
    for (int d = 0; d < NDROPS; d++) {
        dropped_total += r->dropped[d];
        if (r->dropped[d])
            json_object_set_new(dropped, DROP_NAMES[d], json_integer((json_int_t)r->dropped[d]));
    }
    for (int sp = 0; sp < NSPLITS; sp++) {
        size_t nd = 0;
        for (size_t d = 0; d < r->ndocs; d++)
            nd += r->docs[d].split == sp;
        json_object_set_new(ex, SPLIT_NAMES[sp], json_integer((json_int_t)examples[sp]));
        json_object_set_new(docs, SPLIT_NAMES[sp], json_integer((json_int_t)nd));
        json_object_set_new(share, SPLIT_NAMES[sp],
                            examples[sp] ? json_real((double)with_oracle[sp] / (double)examples[sp])
                                         : json_null());
    }
    return json_pack("{sIsIsIsIsososososos{sIsIsI}s{sIsIsI}so}", "chunks", (json_int_t)r->nchunks,
                     "chunks_used", (json_int_t)r->asked_chunks, "questions",
                     (json_int_t)(r->nitems + r->dropped[DROP_DUPLICATE]), "dropped_total",
                     (json_int_t)dropped_total, "dropped", dropped, "examples", ex, "documents", docs,
                     "oracle_share", share, "problems", json_incref(r->problems), "distractors", "hard",
                     (json_int_t)r->hard, "random", (json_int_t)r->random, "hard_fallback",
                     (json_int_t)r->fallback, "generator", "requests", (json_int_t)r->gen.requests, "cached",
                     (json_int_t)r->gen.cached, "failed", (json_int_t)r->gen.failed, "files", files);
}

static void run_free(run *r) {
    for (size_t i = 0; i < r->ndocs; i++) {
        free(r->docs[i].uri);
        free(r->docs[i].title);
    }
    for (size_t i = 0; i < r->nitems; i++) {
        item *it = &r->items[i];
        free(it->question);
        free(it->answer);
        free(it->cot);
        free(it->rejected);
        free(it->ctx);
    }
    for (int s = 0; s < NSPLITS; s++)
        free(r->pool[s]);
    free(r->docs);
    free(r->chunks);
    free(r->arena.p);
    free(r->items);
    free(r->seen);
    json_decref(r->problems);
    rk_searcher_close(r->searcher);
}

static rk_status check_opts(const rk_assemble_opts *o, rk_error *err) {
    if (!o->out_dir) return rk_fail(err, RK_EINVAL, "no output directory");
    if (!(o->p_oracle >= 0 && o->p_oracle <= 1))
        return rk_fail(err, RK_EINVAL, "the oracle probability must be in [0, 1], not %g", o->p_oracle);
    double sum = 0;
    for (int i = 0; i < NSPLITS; i++) {
        if (!(o->split[i] >= 0)) return rk_fail(err, RK_EINVAL, "split shares must not be negative");
        sum += o->split[i];
    }
    if (fabs(sum - 1) > 1e-6) return rk_fail(err, RK_EINVAL, "split shares sum to %g, not 1", sum);
    if (!o->questions) return rk_fail(err, RK_EINVAL, "at least one question per chunk");
    return RK_OK;
}

rk_status rk_assemble(rk_kb *kb, const rk_assemble_opts *o, json_t **summary, rk_error *err) {
    *summary = NULL;
    rk_status s = check_opts(o, err);
    if (s) return s;
    run r = {.o = o, .kb = kb, .problems = json_array()};
    rk_prompts prompts = {0};
    uint32_t *ask = NULL;
    size_t nask = 0;
    s = load(&r, err);
    if (!s && !r.nchunks)
        s = rk_fail(err, RK_ESTATE, "%s: the KB has no chunks; run raft-ingest first", rk_kb_path(kb));
    if (!s && r.nchunks < o->distractors + 1)
        s = rk_fail(err, RK_EINVAL,
                    "%s: the KB has %zu chunks, but %zu distractors and the oracle need at least %zu",
                    rk_kb_path(kb), r.nchunks, o->distractors, o->distractors + 1);
    if (!s && o->source != RK_DISTRACT_RANDOM)
        s = need_searcher(
            &r,
            "hard distractors are the question's nearest chunks in it (or use --distractor-source random)",
            err);
    if (!s) s = split_docs(&r, err);
    if (!s && o->generator == RK_GENERATOR_HTTP) s = rk_prompts_load(o->prompt_dir, &prompts, err);
    if (!s && o->qa_path) {
        s = qa_questions(&r, err);
    } else if (!s) {
        s = chunks_to_ask(&r, &ask, &nask, err);
        if (!s)
            s = o->generator == RK_GENERATOR_HTTP ? remote_questions(&r, &prompts, ask, nask, err)
                                                  : offline_questions(&r, ask, nask, err);
    }
    if (!s) s = choose_contexts(&r, err);
    if (!s && o->generator == RK_GENERATOR_HTTP) s = remote_answers(&r, &prompts, err);
    if (!s) s = check_answers(&r, err);
    uint64_t examples[NSPLITS] = {0}, with_oracle[NSPLITS] = {0};
    json_t *files = json_array();
    if (!s) s = write_files(&r, examples, with_oracle, files, err);
    if (!s)
        *summary = summary_of(&r, examples, with_oracle, files);
    else
        json_decref(files);
    free(ask);
    rk_prompts_free(&prompts);
    run_free(&r);
    return s;
}
