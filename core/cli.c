/* cli.c — common option handling for the raft-* executables. */
#include "raftkit/cli.h"

#include <errno.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raftkit/log.h"

void rk_cli_init(rk_cli *c, const char *prog, const char *help) {
    *c = (rk_cli){.prog = prog, .help = help};
    rk_log_set_program(prog);
}

_Noreturn void rk_cli_usage(const rk_cli *c, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: error: %s\nTry '%s --help' for more information.\n", c->prog, msg, c->prog);
    exit(RK_EXIT_USAGE);
}

int rk_cli_dispatch(rk_cli *c, int argc, char **argv, const rk_cli_cmd *cmds, size_t n) {
    char names[512] = "";
    for (size_t i = 0, at = 0; i < n && at < sizeof names; i++)
        at += (size_t)snprintf(names + at, sizeof names - at, "%s%s",
                               i == 0      ? ""
                               : i + 1 < n ? ", "
                                           : " or ",
                               cmds[i].name);
    if (argc < 2) rk_cli_usage(c, "missing subcommand (%s)", names);
    const char *sub = argv[1];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) rk_cli_common(c, 'h', NULL);
    if (!strcmp(sub, "--version")) rk_cli_common(c, RK_OPT_VERSION, NULL);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(sub, cmds[i].name)) continue;
        static char prog[256]; /* messages name it for the rest of the run */
        snprintf(prog, sizeof prog, "%s %s", c->prog, sub);
        c->prog = prog;
        rk_log_set_program(prog);
        return cmds[i].fn(c, argc - 1, argv + 1);
    }
    rk_cli_usage(c, "unknown subcommand '%s' (expected %s)", sub, names);
}

_Noreturn void rk_cli_fail(const rk_cli *c, const rk_error *err) {
    fprintf(stderr, "%s: error: %s\n", c->prog, err->msg);
    exit(RK_EXIT_FAIL);
}

long rk_cli_long(const rk_cli *c, const char *opt, const char *arg, long min, long max) {
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max)
        rk_cli_usage(c, "%s: expected an integer in [%ld, %ld], got '%s'", opt, min, max, arg);
    return v;
}

double rk_cli_real(const rk_cli *c, const char *opt, const char *arg, double min, double max) {
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v >= min && v <= max))
        rk_cli_usage(c, "%s: expected a number in [%g, %g], got '%s'", opt, min, max, arg);
    return v;
}

int rk_cli_common(rk_cli *c, int opt, const char *arg) {
    switch (opt) {
    case 'h': fputs(c->help, stdout); exit(RK_EXIT_OK);
    case RK_OPT_VERSION:
        printf("%s (raftkit) %s\n", c->prog, RK_VERSION);
        if (c->features) printf("%s\n", c->features);
        exit(RK_EXIT_OK);
    case RK_OPT_JSON: c->json = 1; return 1;
    case RK_OPT_QUIET:
        c->quiet = 1;
        rk_log_set_level(RK_LOG_WARN);
        return 1;
    case RK_OPT_SEED: {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(arg, &end, 10);
        if (errno || end == arg || *end || arg[0] == '-')
            rk_cli_usage(c, "--seed: expected a non-negative integer, got '%s'", arg);
        c->seed = v;
        return 1;
    }
    case RK_OPT_THREADS:
        c->threads = (int)rk_cli_long(c, "--threads", arg, 1, 4096);
        omp_set_num_threads(c->threads);
        return 1;
    case '?': /* getopt already said what was wrong */
        fprintf(stderr, "Try '%s --help' for more information.\n", c->prog);
        exit(RK_EXIT_USAGE);
    default: return 0;
    }
}
