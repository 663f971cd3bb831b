/* raft-eval — factual accuracy of a model on an eval set, offline: runs in
 * the closed-book, RAG and oracle settings, scores as the SQuAD script does,
 * and reports. Parses options and calls the library (evalrun.h, report.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/cli.h"
#include "raftkit/log.h"
#include "raftkit/report.h"

static const char HELP[] =
    "Usage: raft-eval report RUN_DIR... --out DIR [--samples N] [--seed N]\n"
    "\n"
    "report  writes DIR/report.html (self-contained: every run side by side, bar\n"
    "        charts of EM, F1 and grounding with 95% intervals, training loss curves,\n"
    "        right and wrong answers with their documents) and DIR/report.md.\n"
    "\n"
    "Options:\n"
    "  --out DIR           report: the output directory\n"
    "  --samples N         report: right and wrong answers shown per run (default 3)\n"
    "  --quiet, --seed N, --threads N, -h, --help, --version\n"
    "\n"
    "Example:\n"
    "  raft-eval report runs/base-closed runs/raft-oracle --out report\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

enum { OPT_OUT = RK_OPT_USER, OPT_SAMPLES };

static int cmd_report(rk_cli *cli, int argc, char **argv) {
    static const struct option longopts[] = {RK_CLI_COMMON_LONGOPTS,
                                             {"out", required_argument, 0, OPT_OUT},
                                             {"samples", required_argument, 0, OPT_SAMPLES},
                                             {0, 0, 0, 0}};
    const char *out = NULL;
    rk_report_opts o = {0};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (rk_cli_common(cli, opt, optarg)) continue;
        if (opt == OPT_OUT)
            out = optarg;
        else if (opt == OPT_SAMPLES)
            o.samples = (size_t)rk_cli_long(cli, "--samples", optarg, 1, 1000);
    }
    if (!out) rk_cli_usage(cli, "--out DIR is required");
    if (optind >= argc) rk_cli_usage(cli, "no run directory given");
    o.seed = cli->seed;
    rk_error err;
    if (rk_report_write((const char *const *)argv + optind, (size_t)(argc - optind), out, &o, &err))
        rk_cli_fail(cli, &err);
    rk_log_info("wrote %s/report.html and %s/report.md", out, out);
    return RK_EXIT_OK;
}

int main(int argc, char **argv) {
    rk_cli cli;
    rk_cli_init(&cli, "raft-eval", HELP);
    if (argc < 2) rk_cli_usage(&cli, "missing subcommand (run, score, report or ask)");
    const char *sub = argv[1];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) rk_cli_common(&cli, 'h', NULL);
    if (!strcmp(sub, "--version")) rk_cli_common(&cli, RK_OPT_VERSION, NULL);
    static const struct {
        const char *name, *prog;
        int (*fn)(rk_cli *, int, char **);
    } cmds[] = {{"report", "raft-eval report", cmd_report}};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        if (strcmp(sub, cmds[i].name)) continue;
        cli.prog = cmds[i].prog;
        rk_log_set_program(cmds[i].prog);
        return cmds[i].fn(&cli, argc - 1, argv + 1);
    }
    rk_cli_usage(&cli, "unknown subcommand '%s' (expected run, score, report or ask)", sub);
}
