/* raft-assemble — RAFT training data from a KB. Parses options and calls
 * rk_assemble. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/assemble.h"
#include "raftkit/cli.h"
#include "raftkit/json.h"
#include "raftkit/log.h"

static const char HELP[] =
    "Usage: raft-assemble --kb KB --out DIR [options]\n"
    "\n"
    "Writes the RAFT training, validation and test sets of the KB (Zhang et al.,\n"
    "2024): each example is a question about an oracle chunk, a context of K\n"
    "distractor chunks and the oracle (kept with probability P, else replaced by\n"
    "one more distractor), shuffled, and a chain-of-thought answer that quotes\n"
    "the oracle between ##begin_quote## and ##end_quote## and ends in\n"
    "\"<ANSWER>: ...\". Every quote is checked to be in the oracle. Documents are\n"
    "split whole: an example's chunks all come from documents of its split.\n"
    "Files: DIR/SPLIT.FORMAT.jsonl for SPLIT in train, val, test.\n"
    "\n"
    "Questions and answers:\n"
    "  --generator G       offline (default: factoid questions from the chunk's own\n"
    "                      sentences, no model, deterministic) or http:URL (an\n"
    "                      OpenAI-compatible /v1/chat/completions endpoint)\n"
    "  --questions N       questions per chunk (default 5; offline makes at most N)\n"
    "  --max-chunks N      ask about a seeded sample of N chunks (default: all)\n"
    "  --qa FILE           the team's own questions instead, JSONL lines with\n"
    "                      \"question\", \"answer\" and \"doc\" (a document uri) or\n"
    "                      \"chunk_id\" (neither: the chunk the index ranks first),\n"
    "                      optionally \"cot_answer\"\n"
    "  --gen-model NAME    the model to ask (http)\n"
    "  --api-key-env VAR   the environment variable holding the endpoint's key\n"
    "  --workers N         concurrent requests (default 4)\n"
    "  --prompt-dir DIR    replace the built-in prompts: questions.system.txt,\n"
    "                      questions.user.txt ({n}, {chunk}), answer.system.txt,\n"
    "                      answer.user.txt ({question}, {context})\n"
    "  --temperature T     sampling temperature sent (default 0)\n"
    "  --retries N         retries of a request on 429, 5xx, timeouts (default 5)\n"
    "  --timeout S         seconds per request (default 120)\n"
    "Every reply is cached in the KB by the hash of its request, so a re-run or a\n"
    "resumed run sends nothing for work already done.\n"
    "\n"
    "Context:\n"
    "  --distractors K     distractor chunks per example (default 4)\n"
    "  --p-oracle P        probability that the oracle is in the context (default\n"
    "                      0.8; the test split always keeps it)\n"
    "  --distractor-source random (default, as the reference), hard (the\n"
    "                      question's nearest chunks in the KB's index, never from\n"
    "                      the oracle's document) or mixed (half hard, half random)\n"
    "  --index NAME        the index hard distractors come from (default \"default\")\n"
    "  --param P           its search parameters, as raft-index query takes them\n"
    "                      (nprobe=32,efSearch=128)\n"
    "  --embed-key-env VAR the key variable of that index's http embedder\n"
    "  --template FILE     the instruction template, with {documents} and\n"
    "                      {question} (default: the reference's \"{documents}{question}\",\n"
    "                      each document as <DOCUMENT>text</DOCUMENT> and a newline)\n"
    "\n"
    "Output:\n"
    "  --out DIR           where the files go (created when missing)\n"
    "  --format LIST       comma-separated: raft (default; the reference dataset's\n"
    "                      fields), chat (messages), completion (prompt/completion),\n"
    "                      dpo (prompt/chosen/rejected; rejected is grounded in a\n"
    "                      distractor, or a closed-book guess), eval\n"
    "  --split A,B,C       shares of documents for train, val, test (default\n"
    "                      0.8,0.1,0.1)\n"
    "  --system-prompt S   a system message first in chat records\n"
    "\n"
    "Common:\n"
    "  --seed N            the same KB, options and seed give byte-identical files\n"
    "  --threads N         threads for the offline generator (default: all cores)\n"
    "  --json              print the summary as JSON on stdout\n"
    "  --quiet             warnings and errors only\n"
    "  -h, --help          this text;  --version\n"
    "\n"
    "Example:\n"
    "  raft-ingest --kb kb docs/ && raft-index build --kb kb\n"
    "  raft-assemble --kb kb --out data --distractor-source hard \\\n"
    "      --format raft,chat,dpo,eval --seed 1\n";

enum {
    OPT_KB = RK_OPT_USER,
    OPT_OUT,
    OPT_FORMAT,
    OPT_GENERATOR,
    OPT_GEN_MODEL,
    OPT_API_KEY_ENV,
    OPT_WORKERS,
    OPT_PROMPT_DIR,
    OPT_TEMPERATURE,
    OPT_RETRIES,
    OPT_TIMEOUT,
    OPT_QUESTIONS,
    OPT_MAX_CHUNKS,
    OPT_QA,
    OPT_DISTRACTORS,
    OPT_P_ORACLE,
    OPT_SOURCE,
    OPT_INDEX,
    OPT_EMBED_KEY_ENV,
    OPT_PARAM,
    OPT_TEMPLATE,
    OPT_SPLIT,
    OPT_SYSTEM_PROMPT,
};

static void parse_split(const rk_cli *cli, const char *arg, double out[3]) {
    const char *p = arg;
    for (int i = 0; i < 3; i++) {
        char *end;
        out[i] = strtod(p, &end);
        if (end == p || !(out[i] >= 0) || (i < 2 && *end != ',') || (i == 2 && *end))
            rk_cli_usage(cli, "--split: expected three shares A,B,C (train, val, test), got '%s'", arg);
        p = end + 1;
    }
    double sum = out[0] + out[1] + out[2];
    if (sum < 1 - 1e-6 || sum > 1 + 1e-6) rk_cli_usage(cli, "--split: the shares sum to %g, not 1", sum);
}

static void print_summary(const rk_cli *cli, json_t *j) {
    if (cli->json) {
        rk_json_print_line(stdout, j);
        return;
    }
    json_t *ex = json_object_get(j, "examples"), *share = json_object_get(j, "oracle_share");
    rk_log_info("%lld chunks asked about, %lld questions made, %lld dropped",
                (long long)json_integer_value(json_object_get(j, "chunks_used")),
                (long long)json_integer_value(json_object_get(j, "questions")),
                (long long)json_integer_value(json_object_get(j, "dropped_total")));
    const char *why;
    json_t *v;
    json_object_foreach(json_object_get(j, "dropped"), why, v)
        rk_log_info("  dropped, %s: %lld", why, (long long)json_integer_value(v));
    const char *split;
    json_object_foreach(ex, split, v) {
        json_t *sh = json_object_get(share, split);
        rk_log_info("  %s: %lld examples, oracle in %.1f%% of them", split, (long long)json_integer_value(v),
                    json_is_real(sh) ? 100 * json_real_value(sh) : 0.0);
    }
    json_t *d = json_object_get(j, "distractors"), *g = json_object_get(j, "generator");
    rk_log_info(
        "distractors: %lld hard, %lld random, %lld random in place of hard ones the index did not give",
        (long long)json_integer_value(json_object_get(d, "hard")),
        (long long)json_integer_value(json_object_get(d, "random")),
        (long long)json_integer_value(json_object_get(d, "hard_fallback")));
    if (json_integer_value(json_object_get(g, "requests")) ||
        json_integer_value(json_object_get(g, "cached")))
        rk_log_info("generator: %lld requests, %lld replies from the cache, %lld failed",
                    (long long)json_integer_value(json_object_get(g, "requests")),
                    (long long)json_integer_value(json_object_get(g, "cached")),
                    (long long)json_integer_value(json_object_get(g, "failed")));
    size_t i;
    json_array_foreach(json_object_get(j, "files"), i, v) printf("%s\n", json_string_value(v));
}

int main(int argc, char **argv) {
    rk_cli cli;
    rk_cli_init(&cli, "raft-assemble", HELP);
    static const struct option longopts[] = {RK_CLI_COMMON_LONGOPTS,
                                             {"kb", required_argument, 0, OPT_KB},
                                             {"out", required_argument, 0, OPT_OUT},
                                             {"format", required_argument, 0, OPT_FORMAT},
                                             {"generator", required_argument, 0, OPT_GENERATOR},
                                             {"gen-model", required_argument, 0, OPT_GEN_MODEL},
                                             {"api-key-env", required_argument, 0, OPT_API_KEY_ENV},
                                             {"workers", required_argument, 0, OPT_WORKERS},
                                             {"prompt-dir", required_argument, 0, OPT_PROMPT_DIR},
                                             {"temperature", required_argument, 0, OPT_TEMPERATURE},
                                             {"retries", required_argument, 0, OPT_RETRIES},
                                             {"timeout", required_argument, 0, OPT_TIMEOUT},
                                             {"questions", required_argument, 0, OPT_QUESTIONS},
                                             {"max-chunks", required_argument, 0, OPT_MAX_CHUNKS},
                                             {"qa", required_argument, 0, OPT_QA},
                                             {"distractors", required_argument, 0, OPT_DISTRACTORS},
                                             {"p-oracle", required_argument, 0, OPT_P_ORACLE},
                                             {"distractor-source", required_argument, 0, OPT_SOURCE},
                                             {"index", required_argument, 0, OPT_INDEX},
                                             {"embed-key-env", required_argument, 0, OPT_EMBED_KEY_ENV},
                                             {"param", required_argument, 0, OPT_PARAM},
                                             {"template", required_argument, 0, OPT_TEMPLATE},
                                             {"split", required_argument, 0, OPT_SPLIT},
                                             {"system-prompt", required_argument, 0, OPT_SYSTEM_PROMPT},
                                             {0, 0, 0, 0}};
    const char *kb_path = NULL, *template_path = NULL;
    rk_assemble_opts o = {.formats = RK_FORMAT_RAFT,
                          .questions = 5,
                          .distractors = 4,
                          .p_oracle = 0.8,
                          .split = {0.8, 0.1, 0.1}};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (rk_cli_common(&cli, opt, optarg)) continue;
        switch (opt) {
        case OPT_KB: kb_path = optarg; break;
        case OPT_OUT: o.out_dir = optarg; break;
        case OPT_FORMAT: {
            const char *bad;
            size_t n;
            if (!(o.formats = rk_format_parse(optarg, &bad, &n)))
                rk_cli_usage(&cli, "--format: unknown format '%.*s' (raft, chat, completion, dpo, eval)",
                             (int)n, bad);
            break;
        }
        case OPT_GENERATOR:
            if (!strcmp(optarg, "offline")) {
                o.generator = RK_GENERATOR_OFFLINE;
            } else if (!strncmp(optarg, "http:", 5) && optarg[5]) {
                o.generator = RK_GENERATOR_HTTP;
                o.gen.chat.url = optarg + 5;
            } else {
                rk_cli_usage(&cli, "--generator: expected offline or http:URL, got '%s'", optarg);
            }
            break;
        case OPT_GEN_MODEL: o.gen.chat.model = optarg; break;
        case OPT_API_KEY_ENV: o.gen.chat.api_key_env = optarg; break;
        case OPT_WORKERS: o.gen.workers = (int)rk_cli_long(&cli, "--workers", optarg, 1, 256); break;
        case OPT_PROMPT_DIR: o.prompt_dir = optarg; break;
        case OPT_TEMPERATURE:
            o.gen.chat.temperature = rk_cli_real(&cli, "--temperature", optarg, 0, 2);
            break;
        case OPT_RETRIES: o.gen.chat.retries = (int)rk_cli_long(&cli, "--retries", optarg, 0, 100); break;
        case OPT_TIMEOUT:
            o.gen.chat.timeout_ms = 1000 * rk_cli_long(&cli, "--timeout", optarg, 1, 86400);
            break;
        case OPT_QUESTIONS: o.questions = (size_t)rk_cli_long(&cli, "--questions", optarg, 1, 1000); break;
        case OPT_MAX_CHUNKS:
            o.max_chunks = (size_t)rk_cli_long(&cli, "--max-chunks", optarg, 1, 1L << 40);
            break;
        case OPT_QA: o.qa_path = optarg; break;
        case OPT_DISTRACTORS:
            o.distractors = (size_t)rk_cli_long(&cli, "--distractors", optarg, 0, 1000);
            break;
        case OPT_P_ORACLE: o.p_oracle = rk_cli_real(&cli, "--p-oracle", optarg, 0, 1); break;
        case OPT_SOURCE:
            if (!strcmp(optarg, "random"))
                o.source = RK_DISTRACT_RANDOM;
            else if (!strcmp(optarg, "hard"))
                o.source = RK_DISTRACT_HARD;
            else if (!strcmp(optarg, "mixed"))
                o.source = RK_DISTRACT_MIXED;
            else
                rk_cli_usage(&cli, "--distractor-source: expected random, hard or mixed, got '%s'", optarg);
            break;
        case OPT_INDEX: o.index = optarg; break;
        case OPT_EMBED_KEY_ENV: o.embed.api_key_env = optarg; break;
        case OPT_PARAM: o.params = optarg; break;
        case OPT_TEMPLATE: template_path = optarg; break;
        case OPT_SPLIT: parse_split(&cli, optarg, o.split); break;
        case OPT_SYSTEM_PROMPT: o.system_prompt = optarg; break;
        }
    }
    if (optind != argc) rk_cli_usage(&cli, "unexpected argument '%s'", argv[optind]);
    if (!kb_path) rk_cli_usage(&cli, "--kb is required");
    if (!o.out_dir) rk_cli_usage(&cli, "--out is required");
    if (o.generator != RK_GENERATOR_HTTP && (o.gen.chat.model || o.prompt_dir))
        rk_cli_usage(&cli, "--gen-model and --prompt-dir need --generator http:URL");
    if (cli.threads) omp_set_num_threads(cli.threads);
    o.seed = cli.seed;
    rk_error err = {0};
    char *tpl = NULL;
    if (template_path && rk_prompt_read(template_path, &tpl, &err)) rk_cli_fail(&cli, &err);
    if (tpl && !strstr(tpl, "{question}"))
        rk_cli_usage(&cli, "--template: %s has no {question} placeholder", template_path);
    o.instruction = tpl;

    rk_kb *kb;
    /* Only the remote generator writes (its cache). */
    if (rk_kb_open(kb_path, o.generator == RK_GENERATOR_HTTP ? RK_KB_WRITE : RK_KB_READONLY, 0, &kb, &err))
        rk_cli_fail(&cli, &err);
    json_t *summary;
    rk_status s = rk_assemble(kb, &o, &summary, &err);
    rk_kb_close(kb);
    free(tpl);
    if (s) rk_cli_fail(&cli, &err);
    print_summary(&cli, summary);
    json_decref(summary);
    return RK_EXIT_OK;
}
