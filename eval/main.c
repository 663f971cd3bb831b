/* raft-eval — factual accuracy of a model on an eval set, offline: runs in
 * the closed-book, RAG and oracle settings, scores as the SQuAD script does,
 * and reports. Parses options and calls the library (evalrun.h, report.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/cli.h"
#include "raftkit/evalrun.h"
#include "raftkit/json.h"
#include "raftkit/log.h"
#include "raftkit/report.h"

static const char HELP[] =
    "Usage: raft-eval run    --model DIR|http:URL [--adapter DIR] --data FILE --out RUN_DIR\n"
    "                        --mode closed|rag|oracle [--kb KB [--index NAME] [-k N]] [generation options]\n"
    "       raft-eval score  --pred FILE [--data FILE] --out RUN_DIR [--name NAME]\n"
    "       raft-eval report RUN_DIR... --out DIR [--samples N]\n"
    "       raft-eval ask    --model DIR|http:URL [--adapter DIR] --kb KB [--index NAME] [-k N] QUESTION\n"
    "\n"
    "run     answers every example of FILE (raft-assemble's eval or raft format) and\n"
    "        scores it: closed gives the question alone; rag the k chunks the index\n"
    "        retrieves for it, as <DOCUMENT> blocks before the question; oracle the\n"
    "        documents assembled with the example (its instruction, as trained on).\n"
    "        Writes RUN_DIR/predictions.jsonl (a batch at a time: a killed run, rerun\n"
    "        with the same options, continues where it stopped) and metrics.json:\n"
    "        SQuAD v1.1 EM and F1 of the final answer (after <ANSWER>:) with 95%\n"
    "        bootstrap intervals, grounding of the ##begin_quote## quotes, answer in\n"
    "        context, and in rag mode recall@1/5/10 and MRR of the oracle chunk.\n"
    "score   scores predictions made elsewhere: lines with \"id\" (or \"question\") and\n"
    "        the model's text in \"model_answer\", \"prediction\", \"output\" or \"answer\";\n"
    "        without --data the golds come from each line's \"gold_final_answer\"\n"
    "        (the RAFT reference's eval format). Unknown ids are reported, not counted;\n"
    "        examples without a prediction count as wrong.\n"
    "report  writes DIR/report.html (self-contained: every run side by side, bar\n"
    "        charts of EM, F1 and grounding with 95% intervals, training loss curves,\n"
    "        right and wrong answers with their documents) and DIR/report.md.\n"
    "ask     retrieves, answers one question, and prints the answer with the\n"
    "        documents it quoted.\n"
    "\n"
    "Options:\n"
    "  --model DIR         a Hugging Face model directory, or http:URL for an\n"
    "                      OpenAI-compatible /v1/chat/completions endpoint\n"
    "  --adapter DIR       a PEFT LoRA adapter for the model (raft-train's --out)\n"
    "  --gen-model NAME    http: the \"model\" sent\n"
    "  --api-key-env VAR   http: the environment variable holding the API key\n"
    "  --data FILE         the eval set (JSONL)\n"
    "  --out DIR           run: the run directory; report: the output directory\n"
    "  --name NAME         the run's label in reports (default: adapter or model\n"
    "                      name and mode)\n"
    "  --mode M            closed, rag or oracle\n"
    "  --kb KB, --index N  rag and ask: the KB and its index (default \"default\")\n"
    "  -k N                rag and ask: chunks given to the model (default 5)\n"
    "  --template T        chatml, llama3 or plain (default: the model's own)\n"
    "  --system TEXT       a system message before each question\n"
    "  --max-new-tokens N  (default 256)\n"
    "  --temperature X     0 (default) is greedy\n"
    "  --top-k N, --top-p X\n"
    "  --stop S            a string that ends the answer (repeatable, up to 16)\n"
    "  --batch N           examples answered between commits (default 8)\n"
    "  --threads N         kernel threads for a local model; requests in flight for\n"
    "                      an endpoint (default 4)\n"
    "  --pred FILE         score: the predictions\n"
    "  --samples N         report: right and wrong answers shown per run (default 3)\n"
    "  --json, --quiet, --seed N, -h, --help, --version\n"
    "\n"
    "Example:\n"
    "  raft-eval run --model base --data data/test.eval.jsonl --mode closed --out runs/base-closed\n"
    "  raft-eval run --model base --adapter out --data data/test.eval.jsonl --mode oracle --out runs/raft\n"
    "  raft-eval run --model base --adapter out --data data/test.eval.jsonl --mode rag --kb kb --out "
    "runs/raft-rag\n"
    "  raft-eval report runs/base-closed runs/raft runs/raft-rag --out report\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

enum {
    OPT_OUT = RK_OPT_USER,
    OPT_SAMPLES,
    OPT_MODEL,
    OPT_ADAPTER,
    OPT_GEN_MODEL,
    OPT_KEY_ENV,
    OPT_DATA,
    OPT_NAME,
    OPT_MODE,
    OPT_KB,
    OPT_INDEX,
    OPT_TEMPLATE,
    OPT_SYSTEM,
    OPT_MAX_NEW,
    OPT_TEMPERATURE,
    OPT_TOP_K,
    OPT_TOP_P,
    OPT_STOP,
    OPT_BATCH,
    OPT_PRED
};

static const struct option LONGOPTS[] = {RK_CLI_COMMON_LONGOPTS,
                                         {"out", required_argument, 0, OPT_OUT},
                                         {"samples", required_argument, 0, OPT_SAMPLES},
                                         {"model", required_argument, 0, OPT_MODEL},
                                         {"adapter", required_argument, 0, OPT_ADAPTER},
                                         {"gen-model", required_argument, 0, OPT_GEN_MODEL},
                                         {"api-key-env", required_argument, 0, OPT_KEY_ENV},
                                         {"data", required_argument, 0, OPT_DATA},
                                         {"name", required_argument, 0, OPT_NAME},
                                         {"mode", required_argument, 0, OPT_MODE},
                                         {"kb", required_argument, 0, OPT_KB},
                                         {"index", required_argument, 0, OPT_INDEX},
                                         {"template", required_argument, 0, OPT_TEMPLATE},
                                         {"system", required_argument, 0, OPT_SYSTEM},
                                         {"max-new-tokens", required_argument, 0, OPT_MAX_NEW},
                                         {"temperature", required_argument, 0, OPT_TEMPERATURE},
                                         {"top-k", required_argument, 0, OPT_TOP_K},
                                         {"top-p", required_argument, 0, OPT_TOP_P},
                                         {"stop", required_argument, 0, OPT_STOP},
                                         {"batch", required_argument, 0, OPT_BATCH},
                                         {"pred", required_argument, 0, OPT_PRED},
                                         {0, 0, 0, 0}};

typedef struct args {
    rk_eval_opts run;
    const char *stops[16];
    const char *pred;
    int mode_set;
    rk_report_opts report;
} args;

/* Parses every subcommand's options (each checks those it needs); returns
 * the index of the first operand. */
static int parse(rk_cli *cli, int argc, char **argv, args *a) {
    memset(a, 0, sizeof *a);
    a->run.gen.top_p = 1;
    a->run.gen.stop = a->stops;
    int opt;
    rk_error err;
    while ((opt = getopt_long(argc, argv, "hk:", LONGOPTS, NULL)) != -1) {
        if (rk_cli_common(cli, opt, optarg)) continue;
        rk_eval_opts *r = &a->run;
        switch (opt) {
        case OPT_OUT: r->out = optarg; break;
        case OPT_SAMPLES: a->report.samples = (size_t)rk_cli_long(cli, "--samples", optarg, 1, 1000); break;
        case OPT_MODEL: r->model = optarg; break;
        case OPT_ADAPTER: r->adapter = optarg; break;
        case OPT_GEN_MODEL: r->gen_model = optarg; break;
        case OPT_KEY_ENV: r->api_key_env = optarg; break;
        case OPT_DATA: r->data = optarg; break;
        case OPT_NAME: r->name = optarg; break;
        case OPT_MODE:
            if (rk_eval_mode_parse(optarg, &r->mode, &err)) rk_cli_usage(cli, "--mode: %s", err.msg);
            a->mode_set = 1;
            break;
        case OPT_KB: r->kb = optarg; break;
        case OPT_INDEX: r->index = optarg; break;
        case 'k': r->k = (size_t)rk_cli_long(cli, "-k", optarg, 1, 128); break;
        case OPT_TEMPLATE: r->tpl = optarg; break;
        case OPT_SYSTEM: r->system = optarg; break;
        case OPT_MAX_NEW:
            r->gen.max_new_tokens = (int)rk_cli_long(cli, "--max-new-tokens", optarg, 1, 1 << 20);
            break;
        case OPT_TEMPERATURE:
            r->gen.temperature = (float)rk_cli_real(cli, "--temperature", optarg, 0, 100);
            break;
        case OPT_TOP_K: r->gen.top_k = (int)rk_cli_long(cli, "--top-k", optarg, 0, 1 << 30); break;
        case OPT_TOP_P: r->gen.top_p = (float)rk_cli_real(cli, "--top-p", optarg, 0, 1); break;
        case OPT_STOP:
            if (r->gen.nstop == 16) rk_cli_usage(cli, "--stop: at most 16 stop strings");
            a->stops[r->gen.nstop++] = optarg;
            break;
        case OPT_BATCH: r->batch = (size_t)rk_cli_long(cli, "--batch", optarg, 1, 256); break;
        case OPT_PRED: a->pred = optarg; break;
        default: rk_cli_usage(cli, "unexpected option");
        }
    }
    a->run.gen.seed = cli->seed;
    a->run.threads = cli->threads;
    a->run.progress = !cli->quiet;
    a->report.seed = cli->seed;
    return optind;
}

/* The headline of a run's metrics, on stderr (or the object on stdout). */
static void print_metrics(const rk_cli *cli, const json_t *m) {
    if (cli->json) {
        rk_json_print_line(stdout, m);
        return;
    }
    const json_t *em = json_object_get(m, "em_ci"), *f1 = json_object_get(m, "f1_ci");
    printf("%s: %lld examples, EM %.1f [%.1f, %.1f], F1 %.1f [%.1f, %.1f], grounded %.1f%%\n",
           json_string_value(json_object_get(m, "name")),
           (long long)json_integer_value(json_object_get(m, "n")),
           json_number_value(json_object_get(m, "em")), json_number_value(json_array_get(em, 0)),
           json_number_value(json_array_get(em, 1)), json_number_value(json_object_get(m, "f1")),
           json_number_value(json_array_get(f1, 0)), json_number_value(json_array_get(f1, 1)),
           json_number_value(json_object_get(m, "grounded")));
}

static int cmd_run(rk_cli *cli, int argc, char **argv) {
    args a;
    if (parse(cli, argc, argv, &a) != argc) rk_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    rk_eval_opts *o = &a.run;
    if (!o->model || !o->data || !o->out || !a.mode_set)
        rk_cli_usage(cli, "--model, --data, --out and --mode are required");
    if (o->mode == RK_EVAL_RAG && !o->kb) rk_cli_usage(cli, "--mode rag needs --kb");
    if (o->mode != RK_EVAL_RAG && (o->kb || o->index || o->k))
        rk_cli_usage(cli, "--kb, --index and -k are for --mode rag");
    if (!strncmp(o->model, "http:", 5) && o->adapter) rk_cli_usage(cli, "--adapter is for a local --model");
    rk_error err;
    json_t *m = NULL;
    if (rk_eval_run(o, &m, &err)) rk_cli_fail(cli, &err);
    print_metrics(cli, m);
    json_decref(m);
    return RK_EXIT_OK;
}

static int cmd_score(rk_cli *cli, int argc, char **argv) {
    args a;
    if (parse(cli, argc, argv, &a) != argc) rk_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (!a.pred || !a.run.out) rk_cli_usage(cli, "--pred and --out are required");
    rk_score_opts so = {a.pred, a.run.data, a.run.out, a.run.name, cli->seed};
    rk_error err;
    json_t *m = NULL;
    if (rk_eval_score(&so, &m, &err)) rk_cli_fail(cli, &err);
    print_metrics(cli, m);
    json_decref(m);
    return RK_EXIT_OK;
}

static int cmd_ask(rk_cli *cli, int argc, char **argv) {
    args a;
    int first = parse(cli, argc, argv, &a);
    if (!a.run.model || !a.run.kb) rk_cli_usage(cli, "--model and --kb are required");
    if (first != argc - 1) rk_cli_usage(cli, "give one question");
    rk_error err;
    json_t *r = NULL;
    if (rk_eval_ask(&a.run, argv[first], &r, &err)) rk_cli_fail(cli, &err);
    if (cli->json) {
        rk_json_print_line(stdout, r);
    } else {
        printf("%s\n", json_string_value(json_object_get(r, "answer")));
        size_t i;
        json_t *v;
        const json_t *docs = json_object_get(r, "documents");
        json_array_foreach(json_object_get(r, "quoted"), i, v) {
            const json_t *d = json_array_get(docs, (size_t)json_integer_value(v));
            const char *title = json_string_value(json_object_get(d, "title"));
            printf("\n[chunk %lld%s%s]\n%s\n", (long long)json_integer_value(json_object_get(d, "chunk_id")),
                   title ? ", " : "", title ? title : "", json_string_value(json_object_get(d, "text")));
        }
        if (!json_array_size(json_object_get(r, "quoted"))) printf("\n(no document quoted)\n");
    }
    json_decref(r);
    return RK_EXIT_OK;
}

static int cmd_report(rk_cli *cli, int argc, char **argv) {
    args a;
    int first = parse(cli, argc, argv, &a);
    if (!a.run.out) rk_cli_usage(cli, "--out DIR is required");
    if (first >= argc) rk_cli_usage(cli, "no run directory given");
    rk_error err;
    if (rk_report_write((const char *const *)argv + first, (size_t)(argc - first), a.run.out, &a.report,
                        &err))
        rk_cli_fail(cli, &err);
    rk_log_info("wrote %s/report.html and %s/report.md", a.run.out, a.run.out);
    return RK_EXIT_OK;
}

int main(int argc, char **argv) {
    rk_cli cli;
    rk_cli_init(&cli, "raft-eval", HELP);
    static const rk_cli_cmd cmds[] = {
        {"run", cmd_run}, {"score", cmd_score}, {"report", cmd_report}, {"ask", cmd_ask}};
    return rk_cli_dispatch(&cli, argc, argv, cmds, sizeof cmds / sizeof *cmds);
}
