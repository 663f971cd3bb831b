/* cli.h — what every raft-* main.c shares: the common options (--help,
 * --version, --json, --quiet, --seed, --threads), number parsing, and the exit
 * codes (0 success, 1 runtime failure, 2 usage error). These helpers print and
 * exit, so only main() may call them. */
#ifndef RAFTKIT_CLI_H
#define RAFTKIT_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "raftkit/status.h"

enum { RK_EXIT_OK = 0, RK_EXIT_FAIL = 1, RK_EXIT_USAGE = 2 };

/* getopt_long values of the common options; a program's own long-only
 * options start at RK_OPT_USER. */
enum {
    RK_OPT_VERSION = 0x100,
    RK_OPT_JSON,
    RK_OPT_QUIET,
    RK_OPT_SEED,
    RK_OPT_THREADS,
    RK_OPT_USER = 0x200,
};

#define RK_CLI_COMMON_LONGOPTS                                                                               \
    {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, RK_OPT_VERSION},                              \
        {"json", no_argument, 0, RK_OPT_JSON}, {"quiet", no_argument, 0, RK_OPT_QUIET},                      \
        {"seed", required_argument, 0, RK_OPT_SEED}, {                                                       \
        "threads", required_argument, 0, RK_OPT_THREADS                                                      \
    }

typedef struct rk_cli {
    const char *prog;     /* "raft-index" or "raft-index query": prefixes messages */
    const char *help;     /* the whole --help text, with a worked example */
    int json;             /* --json: machine-readable results on stdout */
    int quiet;            /* --quiet: warnings and errors only, no progress */
    uint64_t seed;        /* --seed, default 0 */
    int threads;          /* --threads, 0 = the OpenMP default */
    const char *features; /* printed by --version after the version line; may be NULL */
} rk_cli;

/* Sets up logging for prog; help is borrowed for the program's lifetime. */
void rk_cli_init(rk_cli *c, const char *prog, const char *help);

/* Handles a common option: --help and --version print and exit 0, '?' (an
 * unknown option) exits 2; returns 1 when opt was a common option, 0 when it is
 * the caller's to handle. */
int rk_cli_common(rk_cli *c, int opt, const char *arg);

/* A subcommand: "raft-index build" is {"build", cmd_build}. */
typedef struct rk_cli_cmd {
    const char *name;
    int (*fn)(rk_cli *c, int argc, char **argv); /* argv[0] is the subcommand's name */
} rk_cli_cmd;

/* Runs the subcommand named by argv[1] with c->prog "PROG NAME" and returns
 * its exit code. --help and --version there are the program's; a missing or
 * unknown subcommand exits 2, naming the n there are. */
int rk_cli_dispatch(rk_cli *c, int argc, char **argv, const rk_cli_cmd *cmds, size_t n);

/* Prints "PROG: error: MESSAGE" and a hint to --help, then exits 2. */
_Noreturn void rk_cli_usage(const rk_cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "PROG: error: " and err's message, then exits 1. */
_Noreturn void rk_cli_fail(const rk_cli *c, const rk_error *err);

/* Parses a whole decimal integer within [min, max], or exits 2 naming opt. */
long rk_cli_long(const rk_cli *c, const char *opt, const char *arg, long min, long max);

/* Parses a whole decimal number within [min, max], or exits 2 naming opt. */
double rk_cli_real(const rk_cli *c, const char *opt, const char *arg, double min, double max);

#endif
