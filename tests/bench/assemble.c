/* bench/assemble — raft-assemble's throughput with the offline generator and
 * hard distractors on a KB of at least 100,000 chunks, against the time the
 * same questions take to retrieve alone (embedding and batched FAISS search,
 * measured in the same run): the target is 2,000 examples a second.
 *
 * The KB is generated, seeded, so every run measures the same data: 10,000
 * documents of ten paragraphs, each a chunk with a year, a count and a name
 * in it, about one of 200 subjects, so that nearest neighbours mean
 * something. The index is IVF1024,Flat over the hash embedder (dim 256),
 * searched with nprobe 16.
 *
 * Usage: bench-assemble [--docs N]  (default 10000; chunks = 10 N) */
#define _GNU_SOURCE
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "raftkit/assemble.h"
#include "raftkit/ingest.h"
#include "raftkit/search.h"

enum { PARAS = 10, K = 4 };

static const char *const WORDS[] = {"granite", "harbour", "turbine", "kelp",     "archive",
                                    "lantern", "ferry",   "glacier", "orchard",  "foundry",
                                    "meadow",  "beacon",  "quarry",  "estuary",  "mill",
                                    "chapel",  "signal",  "tideway", "boatyard", "causeway"};
static const char *const NAMES[] = {"Agnes Thorne", "Walter Pryce", "Ida Marsh",   "Hugo Fenwick",
                                    "Clara Voss",   "Edwin Hale",   "Maud Keller", "Rufus Lang"};

static void die(const char *what, const rk_error *e) {
    fprintf(stderr, "bench-assemble: %s%s%s\n", what, e ? ": " : "", e ? e->msg : "");
    exit(1);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* One JSONL file of ndocs records: ingesting it is the quickest way to a
 * KB of many documents (one per record). */
static void write_corpus(const char *path, int ndocs) {
    FILE *f = fopen(path, "w");
    if (!f) die(path, NULL);
    char text[16384];
    for (int d = 0; d < ndocs; d++) {
        int subject = (int)(next() % 200);
        const char *a = WORDS[subject % 20], *b = WORDS[(subject / 20 + subject) % 20];
        size_t n = 0;
        for (int p = 0; p < PARAS; p++)
            n += (size_t)snprintf(text + n, sizeof text - n,
                                  "The %s %s of site %d was surveyed in %d by %s. "
                                  "It holds %d %s stones and %d %s posts, and the %s crew logged it in "
                                  "record %d.\\n\\n",
                                  a, b, d, 1700 + (int)(next() % 320), NAMES[next() % 8],
                                  10 + (int)(next() % 900), WORDS[next() % 20], 2 + (int)(next() % 90),
                                  WORDS[next() % 20], b, (int)(next() % 100000));
        fprintf(f, "{\"id\": \"site-%d\", \"title\": \"The %s %s of site %d\", \"text\": \"%s\"}\n", d, a, b,
                d, text);
    }
    fclose(f);
}

int main(int argc, char **argv) {
    int ndocs = 10000;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--docs"))
            ndocs = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench-assemble [--docs N]\n");
            return 2;
        }
    }
    if (ndocs < 100) die("--docs must be at least 100", NULL);
    const char *base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char root[600], corpus[700], kbdir[700], out[700];
    snprintf(root, sizeof root, "%s/rk-bench-assemble-XXXXXX", base);
    if (!mkdtemp(root)) die(root, NULL);
    snprintf(corpus, sizeof corpus, "%s/corpus.jsonl", root);
    snprintf(kbdir, sizeof kbdir, "%s/kb", root);
    snprintf(out, sizeof out, "%s/data", root);

    double t0 = now();
    write_corpus(corpus, ndocs);
    rk_error e = {0};
    rk_kb *kb;
    if (rk_kb_open(kbdir, RK_KB_CREATE, (size_t)1 << 30, &kb, &e)) die("open", &e);
    rk_ingest_opts io = {
        .chunk = {.size = 250, .overlap = 0}, .threads = 2, .fields = {.title = "title", .id = "id"}};
    const char *inputs[] = {corpus};
    rk_ingest_report ir;
    if (rk_ingest(kb, inputs, 1, &io, &ir, &e)) die("ingest", &e);
    double t_ingest = now() - t0;
    t0 = now();
    rk_build_opts bo = {.factory = "IVF1024,Flat", .embed = {.dim = 256}, .train_sample = 50000, .seed = 1};
    rk_build_report br;
    if (rk_index_build(kb, &bo, &br, &e)) die("index build", &e);
    double t_index = now() - t0;
    printf("KB: %d documents, %llu chunks (ingested in %.1f s); index IVF1024,Flat over hash dim 256 "
           "(built in %.1f s)\n",
           ndocs, (unsigned long long)ir.chunks_added, t_ingest, t_index);
    if (ir.chunks_added < 100000 && ndocs >= 10000) die("fewer than 100,000 chunks", NULL);

    rk_assemble_opts o = {.out_dir = out,
                          .formats = RK_FORMAT_RAFT,
                          .questions = 1,
                          .distractors = K,
                          .p_oracle = 0.8,
                          .source = RK_DISTRACT_HARD,
                          .params = "nprobe=16",
                          .split = {0.8, 0.1, 0.1},
                          .seed = 1};
    json_t *summary = NULL;
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        json_decref(summary);
        t0 = now();
        if (rk_assemble(kb, &o, &summary, &e)) die("assemble", &e);
        double t = now() - t0;
        if (t < best) best = t;
    }
    json_t *ex = json_object_get(summary, "examples");
    json_int_t examples = json_integer_value(json_object_get(ex, "train")) +
                          json_integer_value(json_object_get(ex, "val")) +
                          json_integer_value(json_object_get(ex, "test"));

    /* The retrieval alone: the same questions, embedded and searched in
     * batches of 1024 at the depth the train split's search uses. */
    char path[800];
    snprintf(path, sizeof path, "%s/train.raft.jsonl", out);
    FILE *f = fopen(path, "r");
    if (!f) die(path, NULL);
    size_t nq = 0, cap = 1024;
    char **qs = malloc(cap * sizeof *qs), *line = NULL;
    size_t lcap = 0;
    while (getline(&line, &lcap, f) > 0) {
        json_t *j = json_loads(line, 0, NULL);
        if (nq == cap) qs = realloc(qs, (cap *= 2) * sizeof *qs);
        qs[nq++] = strdup(json_string_value(json_object_get(j, "question")));
        json_decref(j);
    }
    free(line);
    fclose(f);
    rk_searcher *s;
    if (rk_searcher_open(kb, "default", &(rk_embed_opts){0}, &s, &e)) die("searcher", &e);
    if (rk_searcher_set_params(s, "nprobe=16", &e)) die("params", &e);
    size_t k = 48;
    rk_hit *hits = malloc(1024 * k * sizeof *hits);
    size_t *counts = malloc(1024 * sizeof *counts);
    double search_best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        t0 = now();
        for (size_t i = 0; i < nq; i += 1024) {
            size_t n = nq - i < 1024 ? nq - i : 1024;
            if (rk_searcher_query(s, n, (const char *const *)qs + i, k, hits, counts, &e)) die("query", &e);
        }
        double t = now() - t0;
        if (t < search_best) search_best = t;
    }
    double per_q = search_best / (double)nq;
    printf(
        "\nraft-assemble, offline generator, hard distractors (K = %d), one question a chunk, best of 3:\n",
        K);
    printf("  %lld examples in %.2f s: %.0f examples/s\n", (long long)examples, best,
           (double)examples / best);
    printf("  retrieval alone (embed + FAISS, batched, k = %zu): %.0f queries/s over %zu train questions\n",
           k, 1 / per_q, nq);
    printf("  assemble time / retrieval time of as many questions: %.2f\n",
           best / (per_q * (double)examples));
    printf("target: at least 2,000 examples/s: %s\n", (double)examples / best >= 2000 ? "met" : "NOT MET");
    char *text = json_dumps(summary, JSON_COMPACT);
    printf("summary: %s\n", text);
    free(text);
    json_decref(summary);
    for (size_t i = 0; i < nq; i++)
        free(qs[i]);
    free(qs);
    free(hits);
    free(counts);
    rk_searcher_close(s);
    rk_kb_close(kb);
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
