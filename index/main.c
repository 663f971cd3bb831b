/* raft-index — embed a KB's chunks, build, update and check its FAISS indexes,
 * query them. Parses options and calls the library (search.h, kb.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/cli.h"
#include "raftkit/file.h"
#include "raftkit/json.h"
#include "raftkit/log.h"
#include "raftkit/search.h"

static const char HELP[] =
    "Usage: raft-index build  --kb KB [--name NAME] [--factory F] [--metric ip|l2] [embedder options]\n"
    "                         [--train-sample N] [--seed N] [--rebuild] [--shard I/N]\n"
    "       raft-index update --kb KB [--name NAME] [runtime embedder options]\n"
    "       raft-index merge  --kb KB [--name NAME] --shards N\n"
    "       raft-index query  --kb KB [--name NAME | --fuse A,B] [-k N] [--param P] [--json]\n"
    "                         (TEXT... | --queries FILE)\n"
    "       raft-index verify --kb KB [--json]\n"
    "       raft-index eval   --kb KB --qrels FILE [--name A,B...] [--param P] [--json]\n"
    "       raft-index stats  --kb KB [--json]\n"
    "\n"
    "build   embeds the chunks that have no vector of the embedder yet (a failed run\n"
    "        keeps what it embedded), trains the index on a seeded sample when its\n"
    "        factory needs training, adds every chunk under its chunk id, and stores\n"
    "        the index in the KB in one transaction. Several named indexes may live\n"
    "        in one KB. Another factory, metric or embedder for an existing NAME\n"
    "        needs --rebuild, which also makes a new hash embedder (fresh statistics).\n"
    "merge   joins the shard indexes NAME.1..NAME.N that build --shard I/N made\n"
    "        (IVF family, built alike) into NAME, and removes them.\n"
    "update  adds the chunks ingested since the index was built or updated, takes out\n"
    "        the ids of the chunks ingest removed since, and leaves the rest.\n"
    "query   embeds each query with the index's embedder and prints the k best\n"
    "        chunks: rank, score, document, chunk; all queries go to FAISS as one\n"
    "        batch. --fuse A,B merges two indexes by reciprocal-rank fusion (each\n"
    "        searched 2k deep, at least 20).\n"
    "verify  checks that every chunk has a vector of each embedder in use, every\n"
    "        vector a chunk, and every index exactly the ids of its vectors; prints\n"
    "        each problem and exits 1 when there is one.\n"
    "eval    measures each index (or those --name lists) on the queries of --qrels,\n"
    "        JSONL {\"query\": \"...\", \"relevant\": [chunk ids] or [doc uris]}:\n"
    "        recall@1/5/10/100 and MRR@10, and for an approximate index the share of\n"
    "        the exact (Flat) index's top 10 it finds, when one with its embedder exists.\n"
    "stats   prints the numbers of documents, chunks and vectors, the indexes, sizes.\n"
    "\n"
    "Options:\n"
    "  --kb DIR            the KB directory (required)\n"
    "  --name NAME         index name (default \"default\")\n"
    "  --factory F         any FAISS factory string: Flat (default), HNSW32, IVF1024,Flat,\n"
    "                      IVF4096,PQ32, OPQ16,IVF1024,PQ16, SQ8, PCA64,IVF1024,Flat,RFlat, ...\n"
    "  --metric ip|l2      inner product (default; cosine on unit vectors) or L2\n"
    "  --train-sample N    training vectors, picked with --seed (default all, up to 100000)\n"
    "  --rebuild           replace an index built differently\n"
    "  --shard I/N         build index NAME.I over the chunk ids i with i % N == I-1\n"
    "                      (training samples every chunk, so the shards train alike)\n"
    "  --shards N          merge: how many shards\n"
    "  -k N                results per query (default 5)\n"
    "  --param P           search parameters, e.g. nprobe=32,efSearch=128,k_factor_rf=2\n"
    "  --fuse A,B          query indexes A and B and fuse their rankings\n"
    "  --qrels FILE        eval: queries with their relevant chunks or documents\n"
    "  --queries FILE      queries, one per line: JSONL {\"id\": .., \"query\": \"..\"},\n"
    "                      or TSV \"ID<TAB>QUERY\", or plain text (id = line number)\n"
    "  --json              JSON lines on stdout\n"
    "Embedder options:\n"
    "  --embedder E        hash (default: lexical, BM25-weighted feature hashing of\n"
    "                      word unigrams and bigrams, L2-normalized) or http:URL (an\n"
    "                      OpenAI-compatible /v1/embeddings endpoint)\n"
    "  --dim N             hash: dimension (default 1024); http: the expected one\n"
    "  --k1 X, --b X       hash: BM25 parameters (default 1.2 and 0.75)\n"
    "  --embed-model M     http: the model name sent\n"
    "  --api-key-env VAR   http: the environment variable holding the API key\n"
    "  --batch N           http: texts per request (default 64)\n"
    "  --retries N         http: retries on 429, 5xx and timeouts (default 5)\n"
    "  --timeout S         http: seconds per request (default 60)\n"
    "  --quiet, --seed N, --threads N, -h, --help, --version\n"
    "\n"
    "Example:\n"
    "  raft-ingest --kb kb pipelines/demo/docs\n"
    "  raft-index build --kb kb\n"
    "  raft-index build --kb kb --name fast --factory IVF64,Flat\n"
    "  raft-index query --kb kb --name fast --param nprobe=8 -k 3 \"When was Old Bess decommissioned?\"\n"
    "  raft-index update --kb kb && raft-index verify --kb kb\n"
    "\n"
    "Exit status: 0 success, 1 failure (verify: a problem found), 2 usage error.\n";

enum {
    OPT_KB = RK_OPT_USER,
    OPT_NAME,
    OPT_DIM,
    OPT_FACTORY,
    OPT_METRIC,
    OPT_EMBEDDER,
    OPT_K1,
    OPT_B,
    OPT_MODEL,
    OPT_KEY_ENV,
    OPT_BATCH,
    OPT_RETRIES,
    OPT_TIMEOUT,
    OPT_TRAIN,
    OPT_REBUILD,
    OPT_SHARD,
    OPT_PARAM,
    OPT_FUSE,
    OPT_QUERIES,
    OPT_QRELS,
    OPT_SHARDS
};

typedef struct args {
    const char *kb, *name, *param, *fuse, *queries, *qrels;
    long k;
    int name_set, shards;
    rk_build_opts build;
} args;

/* Parses the options of one subcommand; returns the index of the first operand. */
static int parse(rk_cli *cli, int argc, char **argv, args *a) {
    static const struct option longopts[] = {RK_CLI_COMMON_LONGOPTS,
                                             {"kb", required_argument, 0, OPT_KB},
                                             {"name", required_argument, 0, OPT_NAME},
                                             {"dim", required_argument, 0, OPT_DIM},
                                             {"factory", required_argument, 0, OPT_FACTORY},
                                             {"metric", required_argument, 0, OPT_METRIC},
                                             {"embedder", required_argument, 0, OPT_EMBEDDER},
                                             {"k1", required_argument, 0, OPT_K1},
                                             {"b", required_argument, 0, OPT_B},
                                             {"embed-model", required_argument, 0, OPT_MODEL},
                                             {"api-key-env", required_argument, 0, OPT_KEY_ENV},
                                             {"batch", required_argument, 0, OPT_BATCH},
                                             {"retries", required_argument, 0, OPT_RETRIES},
                                             {"timeout", required_argument, 0, OPT_TIMEOUT},
                                             {"train-sample", required_argument, 0, OPT_TRAIN},
                                             {"rebuild", no_argument, 0, OPT_REBUILD},
                                             {"shard", required_argument, 0, OPT_SHARD},
                                             {"param", required_argument, 0, OPT_PARAM},
                                             {"fuse", required_argument, 0, OPT_FUSE},
                                             {"queries", required_argument, 0, OPT_QUERIES},
                                             {"qrels", required_argument, 0, OPT_QRELS},
                                             {"shards", required_argument, 0, OPT_SHARDS},
                                             {0, 0, 0, 0}};
    *a = (args){.name = "default", .k = 5, .build = {.embed = {.k1 = 0, .b = -1, .retries = -1}}};
    rk_embed_opts *e = &a->build.embed;
    int opt;
    while ((opt = getopt_long(argc, argv, "hk:", longopts, NULL)) != -1) {
        if (rk_cli_common(cli, opt, optarg)) continue;
        switch (opt) {
        case OPT_KB: a->kb = optarg; break;
        case OPT_NAME:
            a->name = optarg;
            a->name_set = 1;
            break;
        case OPT_DIM: e->dim = (int)rk_cli_long(cli, "--dim", optarg, 1, 65536); break;
        case OPT_FACTORY: a->build.factory = optarg; break;
        case OPT_METRIC:
            if (strcmp(optarg, "ip") && strcmp(optarg, "l2"))
                rk_cli_usage(cli, "--metric: expected ip or l2, got '%s'", optarg);
            a->build.metric = strcmp(optarg, "ip") ? RK_METRIC_L2 : RK_METRIC_IP;
            break;
        case OPT_EMBEDDER:
            if (strcmp(optarg, "hash") && strncmp(optarg, "http:", 5))
                rk_cli_usage(cli, "--embedder: expected hash or http:URL, got '%s'", optarg);
            e->spec = optarg;
            break;
        case OPT_K1: e->k1 = rk_cli_real(cli, "--k1", optarg, 0.001, 100); break;
        case OPT_B: e->b = rk_cli_real(cli, "--b", optarg, 0, 1); break;
        case OPT_MODEL: e->model = optarg; break;
        case OPT_KEY_ENV: e->api_key_env = optarg; break;
        case OPT_BATCH: e->batch = (size_t)rk_cli_long(cli, "--batch", optarg, 1, 100000); break;
        case OPT_RETRIES: e->retries = (int)rk_cli_long(cli, "--retries", optarg, 0, 100); break;
        case OPT_TIMEOUT: e->timeout_ms = 1000 * rk_cli_long(cli, "--timeout", optarg, 1, 86400); break;
        case OPT_TRAIN:
            a->build.train_sample = (size_t)rk_cli_long(cli, "--train-sample", optarg, 1, 1L << 40);
            break;
        case OPT_REBUILD: a->build.rebuild = 1; break;
        case OPT_SHARD: {
            unsigned i, n;
            char tail;
            if (sscanf(optarg, "%u/%u%c", &i, &n, &tail) != 2 || n == 0 || i == 0 || i > n)
                rk_cli_usage(cli, "--shard: expected I/N with 1 <= I <= N, got '%s'", optarg);
            a->build.shard = (int)i;
            a->build.nshards = (int)n;
            break;
        }
        case OPT_PARAM: a->param = optarg; break;
        case OPT_FUSE: a->fuse = optarg; break;
        case OPT_QUERIES: a->queries = optarg; break;
        case OPT_QRELS: a->qrels = optarg; break;
        case OPT_SHARDS: a->shards = (int)rk_cli_long(cli, "--shards", optarg, 2, 4096); break;
        case 'k': a->k = rk_cli_long(cli, "-k", optarg, 1, 10000); break;
        }
    }
    if (!a->kb) rk_cli_usage(cli, "--kb is required");
    a->build.name = a->name;
    a->build.seed = cli->seed;
    return optind;
}

static rk_kb *open_kb(const rk_cli *cli, const char *path, rk_kb_mode mode) {
    rk_error err = {0};
    rk_kb *kb;
    if (rk_kb_open(path, mode, 0, &kb, &err)) rk_cli_fail(cli, &err);
    return kb;
}

static void print_report(const rk_cli *cli, const char *verb, const char *name, const rk_build_report *r) {
    if (cli->json) {
        json_t *j = json_pack("{sssssssIsIsIsIsIsIsI}", "index", name, "action", verb, "embedder",
                              r->embedder, "embedded", (json_int_t)r->embedded, "reused",
                              (json_int_t)r->reused, "added", (json_int_t)r->added, "removed",
                              (json_int_t)r->removed, "vectors", (json_int_t)r->vectors, "trained_on",
                              (json_int_t)r->trained_on, "bytes", (json_int_t)r->bytes);
        rk_json_print_line(stdout, j);
        json_decref(j);
    } else {
        rk_log_info("index \"%s\" %s: %llu vectors (%llu embedded now, %llu stored already; %llu added, %llu "
                    "removed), trained on %llu, %llu bytes; embedder %s",
                    name, verb, (unsigned long long)r->vectors, (unsigned long long)r->embedded,
                    (unsigned long long)r->reused, (unsigned long long)r->added,
                    (unsigned long long)r->removed, (unsigned long long)r->trained_on,
                    (unsigned long long)r->bytes, r->embedder);
    }
}

static int cmd_build(rk_cli *cli, int argc, char **argv) {
    args a;
    if (parse(cli, argc, argv, &a) != argc) rk_cli_usage(cli, "build takes no operands");
    rk_build_report r;
    rk_error err = {0};
    /* A factory string FAISS does not know is a usage error; the dimension
     * matters to some (PQm needs m to divide it), so the embedder's is used
     * where it is known before embedding. */
    const char *spec = a.build.embed.spec;
    if (a.build.factory && (!spec || a.build.embed.dim)) {
        rk_vindex *ix;
        int dim = a.build.embed.dim ? a.build.embed.dim : 1024;
        if (rk_vindex_create(a.build.factory, dim, a.build.metric, &ix, &err))
            rk_cli_usage(cli, "--factory %s", err.msg);
        rk_vindex_free(ix);
    }
    rk_kb *kb = open_kb(cli, a.kb, RK_KB_WRITE);
    rk_status s = rk_index_build(kb, &a.build, &r, &err);
    rk_kb_close(kb);
    if (s) rk_cli_fail(cli, &err);
    print_report(cli, "built", a.name, &r);
    return RK_EXIT_OK;
}

static int cmd_update(rk_cli *cli, int argc, char **argv) {
    args a;
    if (parse(cli, argc, argv, &a) != argc) rk_cli_usage(cli, "update takes no operands");
    rk_kb *kb = open_kb(cli, a.kb, RK_KB_WRITE);
    rk_build_report r;
    rk_error err = {0};
    rk_status s = rk_index_update(kb, a.name, &a.build.embed, &r, &err);
    rk_kb_close(kb);
    if (s) rk_cli_fail(cli, &err);
    print_report(cli, "updated", a.name, &r);
    return RK_EXIT_OK;
}

static int cmd_merge(rk_cli *cli, int argc, char **argv) {
    args a;
    if (parse(cli, argc, argv, &a) != argc) rk_cli_usage(cli, "merge takes no operands");
    if (!a.shards) rk_cli_usage(cli, "merge needs --shards N");
    rk_kb *kb = open_kb(cli, a.kb, RK_KB_WRITE);
    rk_build_report r;
    rk_error err = {0};
    rk_status s = rk_index_merge(kb, a.name, a.shards, &r, &err);
    rk_kb_close(kb);
    if (s) rk_cli_fail(cli, &err);
    print_report(cli, "merged", a.name, &r);
    return RK_EXIT_OK;
}

/* ---- queries ---- */

typedef struct queries {
    char **id, **text;
    size_t n, cap;
} queries;

static int add_query(queries *q, char *id, char *text) {
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 64;
        char **ni = realloc(q->id, cap * sizeof *ni);
        if (ni) q->id = ni;
        char **nt = realloc(q->text, cap * sizeof *nt);
        if (nt) q->text = nt;
        if (!ni || !nt) return -1;
        q->cap = cap;
    }
    if (!id || !text) return -1;
    q->id[q->n] = id;
    q->text[q->n++] = text;
    return 0;
}

/* Reads --queries FILE: JSONL when it ends in .jsonl or .json, else TSV or plain lines. */
static rk_status read_queries(const char *path, queries *q, rk_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return rk_fail(err, RK_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t len = strlen(path);
    int jsonl =
        (len > 6 && !strcmp(path + len - 6, ".jsonl")) || (len > 5 && !strcmp(path + len - 5, ".json"));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    rk_status s = RK_OK;
    for (size_t lineno = 1; !s && (n = getline(&line, &cap, f)) >= 0; lineno++) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (n == 0) continue;
        char num[32];
        snprintf(num, sizeof num, "%zu", lineno);
        if (jsonl) {
            json_error_t je;
            json_t *j = json_loadb(line, (size_t)n, 0, &je);
            const char *text = json_string_value(json_object_get(j, "query"));
            json_t *jid = json_object_get(j, "id");
            if (!text) {
                s = rk_fail(err, RK_EFORMAT, "%s:%zu: %s", path, lineno,
                            j ? "expected an object with a string \"query\"" : je.text);
            } else {
                /* The id: a string as it is, a number as written, else the line number. */
                if (json_is_integer(jid))
                    snprintf(num, sizeof num, "%lld", (long long)json_integer_value(jid));
                char *id = strdup(json_is_string(jid) ? json_string_value(jid) : num);
                if (add_query(q, id, strdup(text))) s = rk_fail(err, RK_ENOMEM, "out of memory");
            }
            json_decref(j);
        } else {
            char *tab = strchr(line, '\t');
            if (tab) *tab = 0;
            if (add_query(q, strdup(tab ? line : num), strdup(tab ? tab + 1 : line)))
                s = rk_fail(err, RK_ENOMEM, "out of memory");
        }
    }
    free(line);
    fclose(f);
    if (!s && q->n == 0) s = rk_fail(err, RK_EFORMAT, "%s: no queries", path);
    return s;
}

/* Prints one hit, as text or as a JSON line. */
static rk_status print_hit(const rk_cli *cli, rk_kb_txn *txn, const char *qid, size_t rank, const rk_hit *h,
                           rk_error *err) {
    rk_chunk c;
    rk_doc d;
    rk_status s = rk_kb_chunk_get(txn, h->chunk_id, &c, err);
    if (!s) s = rk_kb_doc_get(txn, c.doc_id, &d, err);
    if (s) return s;
    if (cli->json) {
        json_t *j =
            json_pack("{sssIsfsIsIsssssIsIsssIss%}", "query", qid, "rank", (json_int_t)rank, "score",
                      (double)h->score, "chunk_id", (json_int_t)c.id, "doc_id", (json_int_t)d.id, "uri",
                      d.uri, "title", d.title, "start", (json_int_t)c.start, "end", (json_int_t)c.end,
                      "section", c.section, "page", (json_int_t)c.page, "text", c.text, c.text_len);
        if (!j)
            return rk_fail(err, RK_EFORMAT, "chunk %llu: text is not valid UTF-8", (unsigned long long)c.id);
        rk_json_print_line(stdout, j);
        json_decref(j);
    } else {
        printf("%zu\t%.4f\t%s\t(chunk %llu)\n", rank, h->score, d.uri, (unsigned long long)c.id);
        /* Indent the text so results stay apart. */
        fputs("    ", stdout);
        for (size_t i = 0; i < c.text_len; i++) {
            putchar(c.text[i]);
            if (c.text[i] == '\n') fputs("    ", stdout);
        }
        putchar('\n');
    }
    return RK_OK;
}

/* Opens the searcher of index name, warning when it is stale. A --param
 * the index does not have is a usage error. */
static rk_status open_searcher(const rk_cli *cli, rk_kb *kb, const args *a, const char *name,
                               rk_searcher **sr, rk_error *err) {
    rk_status s = rk_searcher_open(kb, name, &a->build.embed, sr, err);
    if (!s && a->param && rk_searcher_set_params(*sr, a->param, err))
        rk_cli_usage(cli, "--param (index \"%s\"): %s", name, err->msg);
    if (!s && rk_searcher_stale(*sr))
        rk_log_warn("%s: chunks changed since index \"%s\" was built; run 'raft-index update'", a->kb, name);
    return s;
}

static rk_status run_queries(const rk_cli *cli, rk_kb *kb, const args *a, const queries *q, rk_error *err) {
    char *names[2] = {NULL, NULL};
    size_t nidx = 1, k = (size_t)a->k, depth = k;
    if (a->fuse) {
        const char *comma = strchr(a->fuse, ',');
        if (!comma || comma == a->fuse || !comma[1] || strchr(comma + 1, ','))
            return rk_fail(err, RK_EINVAL, "--fuse: expected two index names A,B, got '%s'", a->fuse);
        names[0] = strndup(a->fuse, (size_t)(comma - a->fuse));
        names[1] = strdup(comma + 1);
        nidx = 2;
        depth = 2 * k > 20 ? 2 * k : 20;
    } else {
        names[0] = strdup(a->name);
    }
    rk_searcher *sr[2] = {NULL, NULL};
    rk_hit *hits[2] = {malloc(q->n * depth * sizeof(rk_hit)), malloc(q->n * depth * sizeof(rk_hit))};
    size_t *counts[2] = {malloc(q->n * sizeof(size_t)), malloc(q->n * sizeof(size_t))};
    rk_hit *fused = malloc(k * sizeof *fused);
    rk_status s = names[0] && (nidx == 1 || names[1]) && hits[0] && hits[1] && counts[0] && counts[1] && fused
                      ? RK_OK
                      : rk_fail(err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; !s && i < nidx; i++)
        if (!(s = open_searcher(cli, kb, a, names[i], &sr[i], err)))
            s = rk_searcher_query(sr[i], q->n, (const char *const *)q->text, depth, hits[i], counts[i], err);
    rk_kb_txn *txn = NULL;
    if (!s) s = rk_kb_read_begin(kb, &txn, err);
    for (size_t i = 0; !s && i < q->n; i++) {
        const rk_hit *res = hits[0] + i * depth;
        size_t n = counts[0][i];
        if (nidx == 2) {
            const rk_hit *lists[2] = {hits[0] + i * depth, hits[1] + i * depth};
            size_t c[2] = {counts[0][i], counts[1][i]};
            s = rk_fuse_rrf(2, lists, c, k, fused, &n, err);
            res = fused;
        }
        if (!cli->json && q->n > 1) printf("query %s: %s\n", q->id[i], q->text[i]);
        for (size_t r = 0; !s && r < n; r++)
            s = print_hit(cli, txn, q->id[i], r + 1, &res[r], err);
    }
    rk_kb_read_end(txn);
    for (size_t i = 0; i < 2; i++) {
        rk_searcher_close(sr[i]);
        free(names[i]);
        free(hits[i]);
        free(counts[i]);
    }
    free(fused);
    return s;
}

static int cmd_query(rk_cli *cli, int argc, char **argv) {
    args a;
    int first = parse(cli, argc, argv, &a);
    if (a.fuse && a.name_set) rk_cli_usage(cli, "--fuse and --name exclude each other");
    if ((first >= argc) == !a.queries)
        rk_cli_usage(cli, "give the query as TEXT or --queries FILE (one of them)");
    queries q = {0};
    rk_error err = {0};
    rk_status s = RK_OK;
    if (a.queries) {
        s = read_queries(a.queries, &q, &err);
    } else {
        size_t len = 0;
        for (int i = first; i < argc; i++)
            len += strlen(argv[i]) + 1;
        char *text = malloc(len + 1);
        if (text) {
            text[0] = 0;
            for (int i = first, at = 0; i < argc; i++)
                at += snprintf(text + at, len + 1 - (size_t)at, "%s%s", i > first ? " " : "", argv[i]);
        }
        if (add_query(&q, strdup("1"), text)) s = rk_fail(&err, RK_ENOMEM, "out of memory");
    }
    rk_kb *kb = s ? NULL : open_kb(cli, a.kb, RK_KB_READONLY);
    if (!s) s = run_queries(cli, kb, &a, &q, &err);
    rk_kb_close(kb);
    for (size_t i = 0; i < q.n; i++) {
        free(q.id[i]);
        free(q.text[i]);
    }
    free(q.id);
    free(q.text);
    if (s) rk_cli_fail(cli, &err);
    return RK_EXIT_OK;
}

static int cmd_verify(rk_cli *cli, int argc, char **argv) {
    args a;
    if (parse(cli, argc, argv, &a) != argc) rk_cli_usage(cli, "verify takes no operands");
    rk_kb *kb = open_kb(cli, a.kb, RK_KB_READONLY);
    rk_error err = {0};
    json_t *report = NULL;
    rk_status s = rk_index_verify(kb, &report, &err);
    rk_kb_close(kb);
    if (s) rk_cli_fail(cli, &err);
    json_t *problems = json_object_get(report, "problems");
    size_t n = json_array_size(problems), i;
    json_t *p;
    if (cli->json) {
        json_object_set_new(report, "ok", json_boolean(n == 0));
        rk_json_print_line(stdout, report);
    } else {
        json_array_foreach(problems, i, p) { printf("problem: %s\n", json_string_value(p)); }
        printf("%s: %lld indexes, %lld vectors: %s\n", a.kb,
               (long long)json_integer_value(json_object_get(report, "indexes")),
               (long long)json_integer_value(json_object_get(report, "vectors")),
               n ? "INCONSISTENT" : "consistent");
    }
    json_decref(report);
    return n ? RK_EXIT_FAIL : RK_EXIT_OK;
}

/* ---- eval ---- */

typedef struct qrel {
    char *query;
    int docs;           /* relevant holds doc ids (from uris), else chunk ids */
    uint64_t *relevant; /* UINT64_MAX for a uri the KB does not hold */
    size_t nrel;
} qrel;

/* Reads --qrels: one JSON object a line, {"query": "...", "relevant": [...]}. */
static rk_status read_qrels(const char *path, rk_kb_txn *txn, qrel **out, size_t *n, rk_error *err) {
    char *text;
    size_t len, count = 0, room = 0;
    rk_status s = rk_file_read(path, &text, &len, err);
    if (s) return s;
    qrel *v = NULL;
    rk_jsonl lines;
    rk_jsonl_init(&lines, path, text, len);
    for (json_t *j; !s && !(s = rk_jsonl_next(&lines, &j, err)) && j;) {
        json_t *rel = json_object_get(j, "relevant");
        const char *query = json_string_value(json_object_get(j, "query"));
        if (!query || !json_is_array(rel) || json_array_size(rel) == 0) {
            s = rk_fail(err, RK_EFORMAT,
                        "%s: expected {\"query\": \"...\", \"relevant\": [chunk ids or doc uris]}",
                        lines.where);
            json_decref(j);
            break;
        }
        if (count == room) {
            room = room ? 2 * room : 64;
            qrel *nv = realloc(v, room * sizeof *nv);
            if (!nv) {
                s = rk_fail(err, RK_ENOMEM, "out of memory");
                json_decref(j);
                break;
            }
            v = nv;
        }
        qrel *q = &v[count++];
        *q = (qrel){.query = strdup(query),
                    .docs = json_is_string(json_array_get(rel, 0)),
                    .relevant = malloc(json_array_size(rel) * sizeof *q->relevant),
                    .nrel = json_array_size(rel)};
        if (!q->query || !q->relevant) s = rk_fail(err, RK_ENOMEM, "out of memory");
        size_t i;
        json_t *r;
        json_array_foreach(rel, i, r) {
            if (s) break;
            if (q->docs ? !json_is_string(r) : !json_is_integer(r) || json_integer_value(r) < 1) {
                s = rk_fail(err, RK_EFORMAT,
                            "%s: \"relevant\" item %zu: expected all chunk ids (positive "
                            "integers) or all doc uris (strings)",
                            lines.where, i + 1);
                break;
            }
            q->relevant[i] = UINT64_MAX;
            if (!q->docs)
                q->relevant[i] = (uint64_t)json_integer_value(r);
            else if (rk_kb_doc_find(txn, json_string_value(r), &q->relevant[i], NULL))
                q->relevant[i] = UINT64_MAX; /* relevant, but not in the KB: it counts and cannot be found */
        }
        json_decref(j);
    }
    free(text);
    if (!s && count == 0) s = rk_fail(err, RK_EFORMAT, "%s: no queries", path);
    *out = v;
    *n = count;
    return s;
}

/* Turns hits into ranked doc ids, each document once, at its best rank. */
static size_t doc_ranking(rk_kb_txn *txn, const rk_hit *h, size_t n, uint64_t *out) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        rk_chunk c;
        if (rk_kb_chunk_get(txn, h[i].chunk_id, &c, NULL)) continue;
        size_t j = 0;
        while (j < m && out[j] != c.doc_id)
            j++;
        if (j == m) out[m++] = c.doc_id;
    }
    return m;
}

enum { EVAL_DEPTH = 100, EXACT_AT = 10 };

/* The top-EVAL_DEPTH hits of every query on index name. */
static rk_status eval_search(const rk_cli *cli, rk_kb *kb, const args *a, const char *name, const qrel *q,
                             size_t nq, rk_hit *hits, size_t *counts, rk_error *err) {
    const char **texts = malloc(nq * sizeof *texts);
    if (!texts) return rk_fail(err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; i < nq; i++)
        texts[i] = q[i].query;
    rk_searcher *sr = NULL;
    rk_status s = open_searcher(cli, kb, a, name, &sr, err);
    if (!s) s = rk_searcher_query(sr, nq, texts, EVAL_DEPTH, hits, counts, err);
    rk_searcher_close(sr);
    free(texts);
    return s;
}

typedef struct eval_index {
    const char *name, *factory, *embedder;
    int whole; /* not a shard */
    rk_hit *hits;
    size_t *counts;
} eval_index;

static rk_status list_index(const char *key, json_t *spec, void *ctx, rk_error *err) {
    json_t *all = ctx;
    json_object_set_new(spec, "name", json_string(key + strlen("index:")));
    return json_array_append(all, spec) ? rk_fail(err, RK_ENOMEM, "out of memory") : RK_OK;
}

static int is_exact(const char *factory) {
    return !strcmp(factory, "Flat") || !strcmp(factory, "IDMap,Flat");
}

static int cmd_eval(rk_cli *cli, int argc, char **argv) {
    args a;
    if (parse(cli, argc, argv, &a) != argc) rk_cli_usage(cli, "eval takes no operands");
    if (!a.qrels) rk_cli_usage(cli, "eval needs --qrels FILE");
    rk_kb *kb = open_kb(cli, a.kb, RK_KB_READONLY);
    rk_error err = {0};
    rk_kb_txn *txn = NULL;
    qrel *q = NULL;
    size_t nq = 0;
    json_t *all = json_array(), *spec;
    rk_status s = rk_kb_read_begin(kb, &txn, &err);
    if (!s) s = read_qrels(a.qrels, txn, &q, &nq, &err);
    if (!s) s = rk_kb_meta_foreach(txn, "index:", list_index, all, &err);
    /* The indexes to measure: --name's list, or all. */
    size_t n = 0, i;
    eval_index *ix = calloc(json_array_size(all) + 1, sizeof *ix);
    if (!ix) s = rk_fail(&err, RK_ENOMEM, "out of memory");
    json_array_foreach(all, i, spec) {
        const char *name = json_string_value(json_object_get(spec, "name"));
        size_t len = strlen(name);
        const char *hit = a.name_set ? strstr(a.name, name) : a.name;
        while (a.name_set && hit && ((hit > a.name && hit[-1] != ',') || (hit[len] && hit[len] != ',')))
            hit = strstr(hit + 1, name);
        if (!hit || s) continue;
        ix[n++] = (eval_index){name,
                               json_string_value(json_object_get(spec, "factory")),
                               json_string_value(json_object_get(spec, "embedder")),
                               !json_object_get(spec, "shard"),
                               NULL,
                               NULL};
    }
    if (!s && n == 0)
        s = rk_fail(&err, RK_ESTATE, "%s: no index to measure%s", a.kb,
                    a.name_set ? " by that name" : "; run 'raft-index build' first");
    for (size_t k = 0; !s && k < n; k++) {
        ix[k].hits = malloc(nq * EVAL_DEPTH * sizeof *ix[k].hits);
        ix[k].counts = malloc(nq * sizeof *ix[k].counts);
        s = ix[k].hits && ix[k].counts
                ? eval_search(cli, kb, &a, ix[k].name, q, nq, ix[k].hits, ix[k].counts, &err)
                : rk_fail(&err, RK_ENOMEM, "out of memory");
    }
    if (!s && !cli->json)
        printf("%-16s %-22s %7s %6s %6s %6s %6s %7s %s\n", "index", "factory", "queries", "R@1", "R@5",
               "R@10", "R@100", "MRR@10", "R@10 vs exact");
    uint64_t ranked[EVAL_DEPTH];
    for (size_t k = 0; !s && k < n; k++) {
        double recall[RK_RECALL_AT] = {0}, mrr = 0, vs = 0, r[RK_RECALL_AT], rr;
        /* The first whole exact index of the same embedder, if any (not itself). */
        const eval_index *exact = NULL;
        for (size_t x = 0; x < n && !exact && !is_exact(ix[k].factory); x++)
            if (is_exact(ix[x].factory) && ix[x].whole && !strcmp(ix[x].embedder, ix[k].embedder))
                exact = &ix[x];
        for (size_t j = 0; j < nq; j++) {
            const rk_hit *h = ix[k].hits + j * EVAL_DEPTH;
            size_t m = q[j].docs ? doc_ranking(txn, h, ix[k].counts[j], ranked) : ix[k].counts[j];
            for (size_t t = 0; !q[j].docs && t < m; t++)
                ranked[t] = h[t].chunk_id;
            rk_rank_score(ranked, m, q[j].relevant, q[j].nrel, r, &rr);
            for (size_t c = 0; c < RK_RECALL_AT; c++)
                recall[c] += r[c];
            mrr += rr;
            if (exact) { /* the share of the exact top 10 found in this top 10 */
                const rk_hit *e = exact->hits + j * EVAL_DEPTH;
                size_t ne = exact->counts[j] < EXACT_AT ? exact->counts[j] : EXACT_AT, got = 0;
                size_t na = ix[k].counts[j] < EXACT_AT ? ix[k].counts[j] : EXACT_AT;
                for (size_t u = 0; u < ne; u++)
                    for (size_t w = 0; w < na; w++)
                        got += e[u].chunk_id == h[w].chunk_id;
                vs += ne ? (double)got / (double)ne : 1;
            }
        }
        for (size_t c = 0; c < RK_RECALL_AT; c++)
            recall[c] /= (double)nq;
        mrr /= (double)nq;
        vs /= (double)nq;
        if (cli->json) {
            json_t *j = json_pack("{sssssIsfsfsfsfsf}", "index", ix[k].name, "factory", ix[k].factory,
                                  "queries", (json_int_t)nq, "recall@1", recall[0], "recall@5", recall[1],
                                  "recall@10", recall[2], "recall@100", recall[3], "mrr@10", mrr);
            json_object_set_new(j, "recall@10_vs_exact", exact ? json_real(vs) : json_null());
            rk_json_print_line(stdout, j);
            json_decref(j);
        } else {
            char vsbuf[32] = "-";
            if (exact) snprintf(vsbuf, sizeof vsbuf, "%.3f (%s)", vs, exact->name);
            printf("%-16s %-22s %7zu %6.3f %6.3f %6.3f %6.3f %7.3f %s\n", ix[k].name, ix[k].factory, nq,
                   recall[0], recall[1], recall[2], recall[3], mrr, vsbuf);
        }
    }
    rk_kb_read_end(txn);
    rk_kb_close(kb);
    for (size_t k = 0; ix && k < n; k++) {
        free(ix[k].hits);
        free(ix[k].counts);
    }
    free(ix);
    for (size_t j = 0; j < nq; j++) {
        free(q[j].query);
        free(q[j].relevant);
    }
    free(q);
    json_decref(all);
    if (s) rk_cli_fail(cli, &err);
    return RK_EXIT_OK;
}

static rk_status add_index(const char *key, json_t *spec, void *ctx, rk_error *err) {
    (void)err;
    json_object_set_new(spec, "name", json_string(key + strlen("index:")));
    json_array_append(ctx, spec);
    return RK_OK;
}

static int cmd_stats(rk_cli *cli, int argc, char **argv) {
    args a;
    if (parse(cli, argc, argv, &a) != argc) rk_cli_usage(cli, "stats takes no operands");
    rk_kb *kb = open_kb(cli, a.kb, RK_KB_READONLY);
    rk_error err = {0};
    rk_kb_txn *txn = NULL;
    rk_kb_stats st;
    uint64_t gen = 0;
    json_t *indexes = json_array();
    rk_status s = rk_kb_read_begin(kb, &txn, &err);
    if (!s) s = rk_kb_stats_get(txn, &st, &err);
    if (!s) s = rk_kb_generation(txn, &gen, &err);
    if (!s) s = rk_kb_meta_foreach(txn, "index:", add_index, indexes, &err);
    rk_kb_read_end(txn);
    rk_kb_close(kb);
    if (s) rk_cli_fail(cli, &err);
    size_t i;
    json_t *ix;
    json_array_foreach(indexes, i, ix) {
        json_object_set_new(
            ix, "stale",
            json_boolean(json_integer_value(json_object_get(ix, "kb_generation")) != (json_int_t)gen));
    }
    if (cli->json) {
        json_t *j =
            json_pack("{sssIsIsIsIsIsO}", "kb", a.kb, "docs", (json_int_t)st.docs, "chunks",
                      (json_int_t)st.chunks, "vectors", (json_int_t)st.vectors, "file_bytes",
                      (json_int_t)st.file_bytes, "map_bytes", (json_int_t)st.map_bytes, "indexes", indexes);
        rk_json_print_line(stdout, j);
        json_decref(j);
    } else {
        printf("kb:         %s\ndocs:       %llu\nchunks:     %llu\nvectors:    %llu\n"
               "file size:  %llu bytes (map %llu)\nindexes:    %zu\n",
               a.kb, (unsigned long long)st.docs, (unsigned long long)st.chunks,
               (unsigned long long)st.vectors, (unsigned long long)st.file_bytes,
               (unsigned long long)st.map_bytes, json_array_size(indexes));
        json_array_foreach(indexes, i, ix) {
            printf("  %s: %s, %s, dim %lld, %lld vectors, %lld bytes, embedder %s%s\n",
                   json_string_value(json_object_get(ix, "name")),
                   json_string_value(json_object_get(ix, "factory")),
                   json_string_value(json_object_get(ix, "metric")),
                   (long long)json_integer_value(json_object_get(ix, "dim")),
                   (long long)json_integer_value(json_object_get(ix, "ntotal")),
                   (long long)json_integer_value(json_object_get(ix, "bytes")),
                   json_string_value(json_object_get(ix, "embedder")),
                   json_is_true(json_object_get(ix, "stale")) ? " (stale: run update)" : "");
        }
    }
    json_decref(indexes);
    return RK_EXIT_OK;
}

int main(int argc, char **argv) {
    rk_cli cli;
    rk_cli_init(&cli, "raft-index", HELP);
    static const rk_cli_cmd cmds[] = {{"build", cmd_build}, {"update", cmd_update}, {"merge", cmd_merge},
                                      {"query", cmd_query}, {"verify", cmd_verify}, {"eval", cmd_eval},
                                      {"stats", cmd_stats}};
    return rk_cli_dispatch(&cli, argc, argv, cmds, sizeof cmds / sizeof *cmds);
}
