/* raft-index — embed a KB's chunks, build and store its FAISS index, query it.
 * Parses options and calls the library (search.h, kb.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/cli.h"
#include "raftkit/json.h"
#include "raftkit/log.h"
#include "raftkit/search.h"

static const char HELP[] =
    "Usage: raft-index build --kb KB [--name NAME] [--dim N]\n"
    "       raft-index query --kb KB [--name NAME] [-k N] [--json] TEXT...\n"
    "       raft-index stats --kb KB [--json]\n"
    "\n"
    "build  embeds every chunk with the built-in `hash` embedder (word unigrams and\n"
    "       bigrams, feature-hashed, TF-IDF weighted with IDF from the KB,\n"
    "       L2-normalized), stores the vectors, builds a FAISS Flat inner-product\n"
    "       index keyed by chunk id and stores it in the KB, all in one transaction.\n"
    "query  embeds TEXT with the KB's embedder and prints the k best chunks:\n"
    "       rank, score (cosine), document and chunk text; --json prints JSON lines.\n"
    "stats  prints the numbers of documents, chunks and vectors, the indexes and sizes.\n"
    "\n"
    "Options:\n"
    "  --kb DIR      the KB directory (required)\n"
    "  --name NAME   index name (default \"default\")\n"
    "  --dim N       embedding dimension for build (default 1024)\n"
    "  -k N          results per query (default 5)\n"
    "  --json        machine-readable output on stdout\n"
    "  --quiet       only warnings and errors on stderr\n"
    "  --threads N, --seed N   accepted by every raft-* tool\n"
    "  -h, --help, --version\n"
    "\n"
    "Example:\n"
    "  raft-ingest --kb kb pipelines/demo/docs\n"
    "  raft-index build --kb kb\n"
    "  raft-index query --kb kb -k 3 \"When was the Old Bess turbine decommissioned?\"\n"
    "  raft-index stats --kb kb --json\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

enum { OPT_KB = RK_OPT_USER, OPT_NAME, OPT_DIM };

typedef struct args {
    const char *kb, *name;
    int dim;
    long k;
} args;

/* Parses the options of one subcommand; returns the index of the first operand. */
static int parse(rk_cli *cli, int argc, char **argv, args *a) {
    static const struct option longopts[] = {RK_CLI_COMMON_LONGOPTS,
                                             {"kb", required_argument, 0, OPT_KB},
                                             {"name", required_argument, 0, OPT_NAME},
                                             {"dim", required_argument, 0, OPT_DIM},
                                             {0, 0, 0, 0}};
    *a = (args){.name = "default", .dim = 1024, .k = 5};
    int opt;
    while ((opt = getopt_long(argc, argv, "hk:", longopts, NULL)) != -1) {
        if (rk_cli_common(cli, opt, optarg)) continue;
        switch (opt) {
        case OPT_KB: a->kb = optarg; break;
        case OPT_NAME: a->name = optarg; break;
        case OPT_DIM: a->dim = (int)rk_cli_long(cli, "--dim", optarg, 1, 65536); break;
        case 'k': a->k = rk_cli_long(cli, "-k", optarg, 1, 10000); break;
        }
    }
    if (!a->kb) rk_cli_usage(cli, "--kb is required");
    return optind;
}

static rk_kb *open_kb(const rk_cli *cli, const char *path, rk_kb_mode mode) {
    rk_error err = {0};
    rk_kb *kb;
    if (rk_kb_open(path, mode, 0, &kb, &err)) rk_cli_fail(cli, &err);
    return kb;
}

static int cmd_build(rk_cli *cli, int argc, char **argv) {
    args a;
    if (parse(cli, argc, argv, &a) != argc) rk_cli_usage(cli, "build takes no operands");
    rk_kb *kb = open_kb(cli, a.kb, RK_KB_WRITE);
    rk_build_opts o = {.name = a.name, .factory = "Flat", .dim = a.dim, .metric = RK_METRIC_IP};
    rk_build_report r;
    rk_error err = {0};
    rk_status s = rk_index_build(kb, &o, &r, &err);
    rk_kb_close(kb);
    if (s) rk_cli_fail(cli, &err);
    if (cli->json) {
        json_t *j = json_pack("{sssssisIsI}", "name", a.name, "factory", "Flat", "dim", a.dim, "vectors",
                              (json_int_t)r.chunks, "bytes", (json_int_t)r.bytes);
        rk_json_print_line(stdout, j);
        json_decref(j);
    } else {
        rk_log_info("index \"%s\": %llu chunks embedded (hash, dim %d), Flat index of %llu bytes stored",
                    a.name, (unsigned long long)r.chunks, a.dim, (unsigned long long)r.bytes);
    }
    return RK_EXIT_OK;
}

/* Prints one hit, as text or as a JSON line. */
static rk_status print_hit(const rk_cli *cli, rk_kb_txn *txn, size_t rank, const rk_hit *h, rk_error *err) {
    rk_chunk c;
    rk_doc d;
    rk_status s = rk_kb_chunk_get(txn, h->chunk_id, &c, err);
    if (!s) s = rk_kb_doc_get(txn, c.doc_id, &d, err);
    if (s) return s;
    if (cli->json) {
        json_t *j = json_pack("{sIsfsIsIsssssIsIss%}", "rank", (json_int_t)rank, "score", (double)h->score,
                              "chunk_id", (json_int_t)c.id, "doc_id", (json_int_t)d.id, "uri", d.uri, "title",
                              d.title, "start", (json_int_t)c.start, "end", (json_int_t)c.end, "text", c.text,
                              c.text_len);
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

static int cmd_query(rk_cli *cli, int argc, char **argv) {
    args a;
    int first = parse(cli, argc, argv, &a);
    if (first >= argc) rk_cli_usage(cli, "no query TEXT");
    size_t len = 0;
    for (int i = first; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *text = malloc(len);
    if (!text) return RK_EXIT_FAIL;
    text[0] = '\0';
    for (int i = first, at = 0; i < argc; i++)
        at += snprintf(text + at, len - (size_t)at, "%s%s", i > first ? " " : "", argv[i]);

    rk_kb *kb = open_kb(cli, a.kb, RK_KB_READONLY);
    rk_error err = {0};
    rk_searcher *sr = NULL;
    rk_kb_txn *txn = NULL;
    rk_hit *hits = malloc((size_t)a.k * sizeof *hits);
    size_t n = 0;
    rk_status s = hits ? RK_OK : rk_fail(&err, RK_ENOMEM, "out of memory");
    if (!s) s = rk_searcher_open(kb, a.name, &sr, &err);
    if (!s && rk_searcher_stale(sr))
        rk_log_warn("%s: documents changed since index \"%s\" was built; run 'raft-index build' again", a.kb,
                    a.name);
    if (!s) s = rk_searcher_query(sr, text, (size_t)a.k, hits, &n, &err);
    if (!s) s = rk_kb_read_begin(kb, &txn, &err);
    for (size_t i = 0; !s && i < n; i++)
        s = print_hit(cli, txn, i + 1, &hits[i], &err);
    rk_kb_read_end(txn);
    rk_searcher_close(sr);
    rk_kb_close(kb);
    free(hits);
    free(text);
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
            printf("  %s: %s, %s, dim %lld, %lld vectors, %lld bytes%s\n",
                   json_string_value(json_object_get(ix, "name")),
                   json_string_value(json_object_get(ix, "factory")),
                   json_string_value(json_object_get(ix, "metric")),
                   (long long)json_integer_value(json_object_get(ix, "dim")),
                   (long long)json_integer_value(json_object_get(ix, "ntotal")),
                   (long long)json_integer_value(json_object_get(ix, "bytes")),
                   json_is_true(json_object_get(ix, "stale")) ? " (stale: rebuild)" : "");
        }
    }
    json_decref(indexes);
    return RK_EXIT_OK;
}

int main(int argc, char **argv) {
    rk_cli cli;
    rk_cli_init(&cli, "raft-index", HELP);
    if (argc < 2) rk_cli_usage(&cli, "missing subcommand (build, query or stats)");
    const char *sub = argv[1];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) rk_cli_common(&cli, 'h', NULL);
    if (!strcmp(sub, "--version")) rk_cli_common(&cli, RK_OPT_VERSION, NULL);
    static const struct {
        const char *name, *prog;
        int (*fn)(rk_cli *, int, char **);
    } cmds[] = {{"build", "raft-index build", cmd_build},
                {"query", "raft-index query", cmd_query},
                {"stats", "raft-index stats", cmd_stats}};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        if (strcmp(sub, cmds[i].name)) continue;
        cli.prog = cmds[i].prog;
        rk_log_set_program(cmds[i].prog);
        return cmds[i].fn(&cli, argc - 1, argv + 1);
    }
    rk_cli_usage(&cli, "unknown subcommand '%s' (expected build, query or stats)", sub);
}
