/* raft-ingest — documents into a KB, and a look at what a KB holds.
 * Parses options and calls rk_ingest, or reads the KB for ls and show. */
#define _GNU_SOURCE
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/cli.h"
#include "raftkit/ingest.h"
#include "raftkit/json.h"
#include "raftkit/log.h"
#include "raftkit/pdf.h"

static const char HELP[] = "Usage: raft-ingest --kb KB [options] INPUT...\n"
                           "       raft-ingest ls --kb KB [--json]\n"
                           "       raft-ingest show --kb KB URI|doc:ID|chunk:ID [--json]\n"
                           "\n"
                           "Reads documents into the KB (an LMDB directory, created when missing). An\n"
                           "INPUT is a file, a folder (walked recursively, hidden entries skipped), or an\n"
                           "http:// or https:// URL. Formats: .txt, .md (Markdown syntax removed, headings\n"
                           "kept as section titles), .html (libxml2; scripts, styles, navigation and\n"
                           "footers dropped), .json/.jsonl (one document per record), .pdf (text per\n"
                           "page, when built with poppler-glib; see --version). Text is normalized\n"
                           "(Unicode NFC, line endings, control characters, whitespace runs), split\n"
                           "into chunks, and exact duplicate chunks are stored once. A re-run skips\n"
                           "unchanged documents and replaces changed ones; each document is committed\n"
                           "whole, so a killed run is completed by the next one.\n"
                           "\n"
                           "Chunking:\n"
                           "  --chunker KIND     recursive (default: paragraphs, then lines, sentences,\n"
                           "                     words), sentence (whole sentences) or fixed (windows)\n"
                           "  --chunk-size N     at most N units per chunk (default 1000)\n"
                           "  --overlap N        units shared by consecutive chunks (default 100; < size)\n"
                           "  --unit UNIT        chars (code points, default) or words\n"
                           "  --normalize FORM   nfc (default) or nfkc\n"
                           "  --near-dup T       drop chunks whose word-shingle similarity to a stored\n"
                           "                     chunk is at least T in (0, 1] (MinHash); off by default\n"
                           "Sources:\n"
                           "  --include GLOB     in folders, read only matching files (repeatable); a\n"
                           "                     pattern without '/' matches names, with '/' paths below\n"
                           "                     the folder\n"
                           "  --exclude GLOB     in folders, skip matching files and folders (repeatable)\n"
                           "  --url-list FILE    read URLs from FILE, one per line ('#' comments)\n"
                           "  --text-field P     JSON: the text field, a dotted path (default text)\n"
                           "  --title-field P    JSON: the title field\n"
                           "  --id-field P       JSON: the id field (default: the record number)\n"
                           "  --timeout S        HTTP: seconds per request (default 30)\n"
                           "  --max-bytes N      HTTP: largest page accepted (default 67108864)\n"
                           "  --retries N        HTTP: retries on 429, 5xx and timeouts (default 3)\n"
                           "Runs:\n"
                           "  --prune            remove documents whose source is gone (files deleted\n"
                           "                     below an input, records gone from their file, URLs\n"
                           "                     answering 404/410)\n"
                           "  --shard I/N        ingest only the I-th (1..N) of N shards of the sources;\n"
                           "                     shards may run at the same time on one KB\n"
                           "  --strict           refuse invalid UTF-8, and exit 1 when any source failed\n"
                           "  --threads N        sources read in parallel (default: the CPU count)\n"
                           "  --json             print the summary (or ls / show) as JSON on stdout\n"
                           "  --quiet            only warnings and errors on stderr\n"
                           "  --seed N           accepted by every raft-* tool\n"
                           "  -h, --help, --version\n"
                           "\n"
                           "Examples:\n"
                           "  raft-ingest --kb kb pipelines/demo/docs\n"
                           "  raft-ingest --kb kb --chunker sentence --chunk-size 200 --unit words notes/\n"
                           "  raft-ingest --kb kb --text-field body.text --id-field meta.id export.jsonl\n"
                           "  raft-ingest --kb kb --url-list urls.txt --prune\n"
                           "  raft-ingest show --kb kb chunk:12\n"
                           "\n"
                           "Exit status: 0 success, 1 failure, 2 usage error.\n";

enum {
    OPT_KB = RK_OPT_USER,
    OPT_CHUNKER,
    OPT_CHUNK_SIZE,
    OPT_OVERLAP,
    OPT_UNIT,
    OPT_NORMALIZE,
    OPT_NEAR_DUP,
    OPT_INCLUDE,
    OPT_EXCLUDE,
    OPT_URL_LIST,
    OPT_TEXT_FIELD,
    OPT_TITLE_FIELD,
    OPT_ID_FIELD,
    OPT_TIMEOUT,
    OPT_MAX_BYTES,
    OPT_RETRIES,
    OPT_PRUNE,
    OPT_SHARD,
    OPT_STRICT,
};

static void on_notice(rk_notice_level level, const char *msg, void *ctx) {
    (void)ctx;
    rk_log(level == RK_NOTICE_WARN ? RK_LOG_WARN : RK_LOG_INFO, "%s", msg);
}

static void on_progress(uint64_t done, uint64_t total, void *ctx) {
    rk_progress_total(ctx, total); /* known once the inputs are expanded */
    rk_progress_set(ctx, done);
}

/* A growing NULL-terminated list of strings (borrowed or owned by the caller). */
typedef struct list {
    const char **v;
    size_t n;
} list;

static _Noreturn void out_of_memory(const rk_cli *cli) {
    rk_error e;
    rk_fail(&e, RK_ENOMEM, "out of memory");
    rk_cli_fail(cli, &e);
}

static void list_push(const rk_cli *cli, list *l, const char *s) {
    const char **nv = realloc(l->v, (l->n + 2) * sizeof *nv);
    if (!nv) out_of_memory(cli);
    l->v = nv;
    l->v[l->n++] = s;
    l->v[l->n] = NULL;
}

/* Adds the URLs of a --url-list file: one per line, blank lines and '#' comments skipped. */
static void read_url_list(const rk_cli *cli, const char *path, list *inputs) {
    FILE *f = fopen(path, "r");
    if (!f) {
        rk_error e;
        rk_fail(&e, RK_EIO, "%s: %s", path, strerror(errno));
        rk_cli_fail(cli, &e);
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        char *s = line, *e = line + len;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            e--;
        *e = 0;
        if (!*s || *s == '#') continue;
        if (!rk_http_is_url(s)) {
            rk_error err;
            rk_fail(&err, RK_EFORMAT, "%s: line %zu: not an http(s) URL: %s", path, lineno, s);
            rk_cli_fail(cli, &err);
        }
        char *url = strdup(s);
        if (!url) out_of_memory(cli);
        list_push(cli, inputs, url); /* lives until exit */
    }
    free(line);
    fclose(f);
}

static rk_kb *open_kb(const rk_cli *cli, const char *path, rk_kb_mode mode) {
    rk_error err = {0};
    rk_kb *kb;
    if (rk_kb_open(path, mode, 0, &kb, &err)) rk_cli_fail(cli, &err);
    return kb;
}

/* ---- ls ---- */

static rk_status ls_doc(const rk_doc *d, void *ctx, rk_error *err) {
    const rk_cli *cli = ctx;
    (void)err;
    if (cli->json) {
        json_t *j =
            json_pack("{sIsssssIsIsI}", "id", (json_int_t)d->id, "uri", d->uri, "title", d->title, "chunks",
                      (json_int_t)d->nchunks, "bytes", (json_int_t)d->size, "mtime", (json_int_t)d->mtime);
        rk_json_print_line(stdout, j);
        json_decref(j);
    } else {
        printf("%llu\t%u\t%llu\t%s\t%s\n", (unsigned long long)d->id, d->nchunks, (unsigned long long)d->size,
               d->uri, d->title);
    }
    return RK_OK;
}

/* ---- show ---- */

static json_t *chunk_json(const rk_chunk *c) {
    return json_pack("{sIsIsIsIsIsIsssIss}", "id", (json_int_t)c->id, "doc_id", (json_int_t)c->doc_id,
                     "ordinal", (json_int_t)c->ordinal, "start", (json_int_t)c->start, "end",
                     (json_int_t)c->end, "words", (json_int_t)c->ntokens, "section", c->section, "page",
                     (json_int_t)c->page, "text", c->text);
}

static void print_chunk(const rk_chunk *c) {
    printf("--- chunk %llu (document %llu, #%u, bytes %llu-%llu, %u words", (unsigned long long)c->id,
           (unsigned long long)c->doc_id, c->ordinal, (unsigned long long)c->start,
           (unsigned long long)c->end, c->ntokens);
    if (c->page) printf(", page %u", c->page);
    if (*c->section) printf(", section \"%s\"", c->section);
    printf(")\n%s\n", c->text);
}

typedef struct show_ctx {
    rk_kb_txn *t;
    json_t *chunks; /* NULL: print as text */
} show_ctx;

static rk_status show_chunk(uint64_t id, void *vctx, rk_error *err) {
    show_ctx *c = vctx;
    rk_chunk ch;
    rk_status s = rk_kb_chunk_get(c->t, id, &ch, err);
    if (s) return s;
    if (c->chunks)
        json_array_append_new(c->chunks, chunk_json(&ch));
    else
        print_chunk(&ch);
    return RK_OK;
}

static rk_status show_doc(const rk_cli *cli, rk_kb_txn *t, uint64_t id, rk_error *err) {
    rk_doc d;
    rk_status s = rk_kb_doc_get(t, id, &d, err);
    if (s) return s;
    char hex[33];
    rk_hash128_hex(d.hash, hex);
    show_ctx c = {t, cli->json ? json_array() : NULL};
    if (!cli->json)
        printf("document %llu\nuri: %s\ntitle: %s\nbytes: %llu\nhash: %s\n", (unsigned long long)id, d.uri,
               d.title, (unsigned long long)d.size, hex);
    s = rk_kb_doc_chunks(t, id, show_chunk, &c, err);
    if (!s && cli->json) {
        json_t *j = json_pack("{sIsssssIsssO}", "id", (json_int_t)id, "uri", d.uri, "title", d.title, "bytes",
                              (json_int_t)d.size, "hash", hex, "chunks", c.chunks);
        rk_json_print_line(stdout, j);
        json_decref(j);
    }
    json_decref(c.chunks);
    return s;
}

static int parse_id(const char *s, uint64_t *id) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-') return -1;
    *id = v;
    return 0;
}

static int cmd_ls_show(int show, int argc, char **argv) {
    rk_cli cli;
    rk_cli_init(&cli, show ? "raft-ingest show" : "raft-ingest ls", HELP);
    static const struct option longopts[] = {
        RK_CLI_COMMON_LONGOPTS, {"kb", required_argument, 0, OPT_KB}, {0, 0, 0, 0}};
    const char *kb_path = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
        if (!rk_cli_common(&cli, opt, optarg) && opt == OPT_KB) kb_path = optarg;
    if (!kb_path) rk_cli_usage(&cli, "--kb is required");
    if (show && optind != argc - 1) rk_cli_usage(&cli, "expected one URI, doc:ID or chunk:ID");
    if (!show && optind != argc) rk_cli_usage(&cli, "unexpected argument '%s'", argv[optind]);
    const char *what = show ? argv[optind] : NULL;
    uint64_t id = 0;
    int is_doc = 0, is_chunk = 0;
    if (what && !strncmp(what, "doc:", 4)) {
        is_doc = 1;
        if (parse_id(what + 4, &id)) rk_cli_usage(&cli, "bad document id in '%s'", what);
    } else if (what && !strncmp(what, "chunk:", 6)) {
        is_chunk = 1;
        if (parse_id(what + 6, &id)) rk_cli_usage(&cli, "bad chunk id in '%s'", what);
    }
    rk_kb *kb = open_kb(&cli, kb_path, RK_KB_READONLY);
    rk_error err = {0};
    rk_kb_txn *t;
    rk_status s = rk_kb_read_begin(kb, &t, &err);
    if (!s && !show) {
        s = rk_kb_doc_foreach(t, ls_doc, &cli, &err);
    } else if (!s && is_chunk) {
        rk_chunk c;
        if (!(s = rk_kb_chunk_get(t, id, &c, &err))) {
            if (cli.json) {
                json_t *j = chunk_json(&c);
                rk_json_print_line(stdout, j);
                json_decref(j);
            } else {
                print_chunk(&c);
            }
        }
    } else if (!s) {
        if (!is_doc) s = rk_kb_doc_find(t, what, &id, &err);
        if (!s) s = show_doc(&cli, t, id, &err);
    }
    rk_kb_read_end(t);
    rk_kb_close(kb);
    if (s) rk_cli_fail(&cli, &err);
    return RK_EXIT_OK;
}

/* ---- ingest ---- */

static void print_summary(const rk_cli *cli, const rk_ingest_report *r) {
    double mb = (double)r->bytes / 1e6, rate = r->seconds > 0 ? mb / r->seconds : 0;
    if (cli->json) {
        json_t *j = json_pack("{sIsIsIsIsIsIsIsIsIsIsfsfsf}", "docs_new", (json_int_t)r->docs_new,
                              "docs_changed", (json_int_t)r->docs_changed, "docs_unchanged",
                              (json_int_t)r->docs_unchanged, "docs_removed", (json_int_t)r->docs_removed,
                              "docs_failed", (json_int_t)r->docs_failed, "files_skipped",
                              (json_int_t)r->files_skipped, "chunks_added", (json_int_t)r->chunks_added,
                              "chunks_duplicate", (json_int_t)r->chunks_duplicate, "chunks_near_duplicate",
                              (json_int_t)r->chunks_near_duplicate, "bytes", (json_int_t)r->bytes, "seconds",
                              r->seconds, "write_seconds", r->write_seconds, "mb_per_s", rate);
        rk_json_print_line(stdout, j);
        json_decref(j);
        return;
    }
    rk_log_info("documents: %llu new, %llu changed, %llu unchanged, %llu removed, %llu failed; %llu files "
                "skipped; chunks: %llu added, %llu duplicates and %llu near duplicates dropped; %.1f MB in "
                "%.2f s (%.1f MB/s)",
                (unsigned long long)r->docs_new, (unsigned long long)r->docs_changed,
                (unsigned long long)r->docs_unchanged, (unsigned long long)r->docs_removed,
                (unsigned long long)r->docs_failed, (unsigned long long)r->files_skipped,
                (unsigned long long)r->chunks_added, (unsigned long long)r->chunks_duplicate,
                (unsigned long long)r->chunks_near_duplicate, mb, r->seconds, rate);
}

int main(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "ls") || !strcmp(argv[1], "show")))
        return cmd_ls_show(!strcmp(argv[1], "show"), argc - 1, argv + 1);
    rk_cli cli;
    rk_cli_init(&cli, "raft-ingest", HELP);
    cli.features =
        rk_pdf_available() ? "PDF: built in (poppler-glib)" : "PDF: not built in (no poppler-glib)";
    static const struct option longopts[] = {RK_CLI_COMMON_LONGOPTS,
                                             {"kb", required_argument, 0, OPT_KB},
                                             {"chunker", required_argument, 0, OPT_CHUNKER},
                                             {"chunk-size", required_argument, 0, OPT_CHUNK_SIZE},
                                             {"overlap", required_argument, 0, OPT_OVERLAP},
                                             {"unit", required_argument, 0, OPT_UNIT},
                                             {"normalize", required_argument, 0, OPT_NORMALIZE},
                                             {"near-dup", required_argument, 0, OPT_NEAR_DUP},
                                             {"include", required_argument, 0, OPT_INCLUDE},
                                             {"exclude", required_argument, 0, OPT_EXCLUDE},
                                             {"url-list", required_argument, 0, OPT_URL_LIST},
                                             {"text-field", required_argument, 0, OPT_TEXT_FIELD},
                                             {"title-field", required_argument, 0, OPT_TITLE_FIELD},
                                             {"id-field", required_argument, 0, OPT_ID_FIELD},
                                             {"timeout", required_argument, 0, OPT_TIMEOUT},
                                             {"max-bytes", required_argument, 0, OPT_MAX_BYTES},
                                             {"retries", required_argument, 0, OPT_RETRIES},
                                             {"prune", no_argument, 0, OPT_PRUNE},
                                             {"shard", required_argument, 0, OPT_SHARD},
                                             {"strict", no_argument, 0, OPT_STRICT},
                                             {0, 0, 0, 0}};
    const char *kb_path = NULL;
    rk_ingest_opts o = {.chunk = {.size = 1000, .overlap = 100},
                        .form = RK_NORM_NFC,
                        .notice = on_notice,
                        .http = {.timeout_ms = 30000, .max_retries = 3}};
    list include = {0}, exclude = {0}, inputs = {0};
    const char *url_list = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (rk_cli_common(&cli, opt, optarg)) continue;
        switch (opt) {
        case OPT_KB: kb_path = optarg; break;
        case OPT_CHUNKER: {
            int k = rk_chunker_parse(optarg);
            if (k < 0)
                rk_cli_usage(&cli, "--chunker: expected recursive, sentence or fixed, got '%s'", optarg);
            o.chunk.kind = (rk_chunker)k;
            break;
        }
        case OPT_CHUNK_SIZE:
            o.chunk.size = (size_t)rk_cli_long(&cli, "--chunk-size", optarg, 1, 1 << 24);
            break;
        case OPT_OVERLAP: o.chunk.overlap = (size_t)rk_cli_long(&cli, "--overlap", optarg, 0, 1 << 24); break;
        case OPT_UNIT: {
            int u = rk_chunk_unit_parse(optarg);
            if (u < 0) rk_cli_usage(&cli, "--unit: expected chars or words, got '%s'", optarg);
            o.chunk.unit = (rk_chunk_unit)u;
            break;
        }
        case OPT_NORMALIZE:
            if (!strcmp(optarg, "nfc"))
                o.form = RK_NORM_NFC;
            else if (!strcmp(optarg, "nfkc"))
                o.form = RK_NORM_NFKC;
            else
                rk_cli_usage(&cli, "--normalize: expected nfc or nfkc, got '%s'", optarg);
            break;
        case OPT_NEAR_DUP: {
            char *end;
            errno = 0;
            o.near_dup = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o.near_dup > 0 && o.near_dup <= 1))
                rk_cli_usage(&cli, "--near-dup: expected a number in (0, 1], got '%s'", optarg);
            break;
        }
        case OPT_INCLUDE: list_push(&cli, &include, optarg); break;
        case OPT_EXCLUDE: list_push(&cli, &exclude, optarg); break;
        case OPT_URL_LIST: url_list = optarg; break;
        case OPT_TEXT_FIELD: o.fields.text = optarg; break;
        case OPT_TITLE_FIELD: o.fields.title = optarg; break;
        case OPT_ID_FIELD: o.fields.id = optarg; break;
        case OPT_TIMEOUT: o.http.timeout_ms = 1000 * rk_cli_long(&cli, "--timeout", optarg, 1, 86400); break;
        case OPT_MAX_BYTES:
            o.http.max_bytes = (size_t)rk_cli_long(&cli, "--max-bytes", optarg, 1, (long)1 << 40);
            break;
        case OPT_RETRIES: o.http.max_retries = (int)rk_cli_long(&cli, "--retries", optarg, 0, 100); break;
        case OPT_PRUNE: o.prune = 1; break;
        case OPT_SHARD: {
            unsigned i, n;
            char tail;
            if (sscanf(optarg, "%u/%u%c", &i, &n, &tail) != 2 || n == 0 || i == 0 || i > n)
                rk_cli_usage(&cli, "--shard: expected I/N with 1 <= I <= N, got '%s'", optarg);
            o.shard = i - 1;
            o.nshards = n;
            break;
        }
        case OPT_STRICT: o.strict = 1; break;
        }
    }
    if (!kb_path) rk_cli_usage(&cli, "--kb is required");
    for (int i = optind; i < argc; i++)
        list_push(&cli, &inputs, argv[i]);
    if (url_list) read_url_list(&cli, url_list, &inputs);
    if (inputs.n == 0) rk_cli_usage(&cli, "no INPUT to ingest");
    if (o.chunk.overlap >= o.chunk.size)
        rk_cli_usage(&cli, "--overlap (%zu) must be smaller than --chunk-size (%zu)", o.chunk.overlap,
                     o.chunk.size);
    o.include = include.v;
    o.exclude = exclude.v;
    o.threads = cli.threads ? cli.threads : omp_get_num_procs();

    rk_kb *kb = open_kb(&cli, kb_path, RK_KB_CREATE);
    rk_progress *bar = rk_progress_new("ingest", "sources", 0);
    o.progress = on_progress;
    o.ctx = bar;
    rk_ingest_report r;
    rk_error err = {0};
    rk_status s = rk_ingest(kb, inputs.v, inputs.n, &o, &r, &err);
    rk_progress_done(bar);
    rk_kb_close(kb);
    free(include.v);
    free(exclude.v);
    int strict_failure = s == RK_EFORMAT && o.strict && r.docs_failed; /* reported after the summary */
    if (s && !strict_failure) rk_cli_fail(&cli, &err);
    print_summary(&cli, &r);
    if (s) rk_cli_fail(&cli, &err);
    free(inputs.v);
    return RK_EXIT_OK;
}
