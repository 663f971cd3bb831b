/* assemble.h — raft-assemble's library: the RAFT training, validation and
 * test sets built from a KB (Zhang et al., 2024, and the reference script
 * raft.py of the Gorilla project). Each example is a question about an
 * oracle chunk, a context of K distractor chunks plus the oracle (kept with
 * probability P, else replaced by one more distractor), shuffled, and a
 * chain-of-thought answer that quotes the oracle (cot.h).
 *
 * Questions come from the offline generator (qgen.h), a remote chat model
 * (gen.h) or the team's own question/answer file. Documents are split
 * between train, val and test whole: every chunk of an example — oracle and
 * distractors — comes from documents of its own split, so no document's text
 * appears in two splits. Examples come out in chunk id order; each draws its
 * randomness from (seed, its id), so the same KB, options and seed give
 * byte-identical files.
 *
 * Files: OUT/SPLIT.FORMAT.jsonl for each split (train, val, test) and each
 * format asked for, written whole (to a temporary name, then renamed). */
#ifndef RAFTKIT_ASSEMBLE_H
#define RAFTKIT_ASSEMBLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "raftkit/embed.h"
#include "raftkit/gen.h"
#include "raftkit/kb.h"
#include "raftkit/status.h"

typedef enum rk_generator {
    RK_GENERATOR_OFFLINE = 0, /* qgen.h: no model, deterministic */
    RK_GENERATOR_HTTP = 1,    /* gen.h: an OpenAI-compatible chat endpoint */
} rk_generator;

typedef enum rk_distractors {
    RK_DISTRACT_RANDOM = 0, /* uniform over the split's chunks, as the reference */
    RK_DISTRACT_HARD = 1,   /* the question's nearest neighbours in the KB's index, from other documents */
    RK_DISTRACT_MIXED = 2,  /* the first half (rounded up) hard, the rest random */
} rk_distractors;

/* Output formats, as bits of rk_assemble_opts.formats. */
enum {
    RK_FORMAT_RAFT = 1, /* the reference dataset's fields, plus answer, oracle_chunk, doc_ids, chunk_ids */
    RK_FORMAT_CHAT = 2, /* {"messages": [system?, user, assistant]} */
    RK_FORMAT_COMPLETION = 4, /* {"prompt", "completion"} */
    RK_FORMAT_DPO = 8,        /* {"prompt", "chosen", "rejected"} */
    RK_FORMAT_EVAL = 16,      /* question, gold answer, oracle chunk ids, context */
};
enum { RK_FORMAT_COUNT = 5 };

/* Parses "raft,chat,dpo" into format bits; 0 for an unknown name (named in
 * *bad, which points into list). */
unsigned rk_format_parse(const char *list, const char **bad, size_t *bad_len);

typedef struct rk_assemble_opts {
    const char *out_dir;    /* created when missing */
    unsigned formats;       /* RK_FORMAT_* bits; 0: raft */
    rk_generator generator; /* where questions and answers come from */
    rk_gen_opts gen;        /* RK_GENERATOR_HTTP: endpoint, model, key, workers */
    const char *prompt_dir; /* RK_GENERATOR_HTTP: NULL for the built-in prompts */
    const char *qa_path;    /* the team's own questions (JSONL) instead of generated ones, or NULL */
    size_t questions;       /* asked for per chunk */
    size_t max_chunks;      /* chunks to ask about, a seeded sample; 0: all */
    size_t distractors;     /* K */
    double p_oracle;        /* P, in [0, 1] */
    rk_distractors source;  /* how distractors are chosen */
    const char *index;      /* RK_DISTRACT_HARD/MIXED and --qa lines without a source: NULL: "default" */
    const char *params;     /* the index's search parameters ("nprobe=16"), or NULL */
    rk_embed_opts embed;    /* what the index's embedder needs at run time (api_key_env) */
    double split[3];        /* shares of documents for train, val, test; they sum to 1 */
    uint64_t seed;
    const char *system_prompt; /* chat format: a system message first, or NULL */
    const char *instruction; /* the instruction template: {documents} and {question}; NULL: the reference's */
} rk_assemble_opts;

/* Builds the examples and writes the files. *summary (a new reference, may
 * be NULL on failure) tells chunks used, questions made, dropped and why,
 * examples, documents and oracle share per split, distractor sources and
 * generator requests. RK_ESTATE: hard distractors without the index, or no
 * chunks; RK_EINVAL: fewer chunks than K + 1 in the KB or in a split that
 * has examples (with the numbers); RK_EFORMAT: a malformed --qa file. */
rk_status rk_assemble(rk_kb *kb, const rk_assemble_opts *o, json_t **summary, rk_error *err);

#endif
