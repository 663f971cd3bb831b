/* log.h — leveled logging and a progress bar, both on stderr.
 * stdout belongs to a program's results (--json); everything a person reads
 * while a stage runs goes here. Lines are prefixed with the program name:
 * "raft-ingest: warning: docs/a.md: invalid UTF-8 at byte 12". */
#ifndef RAFTKIT_LOG_H
#define RAFTKIT_LOG_H

#include <stdint.h>

typedef enum rk_log_level {
    RK_LOG_ERROR = 0,
    RK_LOG_WARN = 1,
    RK_LOG_INFO = 2,
    RK_LOG_DEBUG = 3,
} rk_log_level;

/* Program name used as the line prefix; the string is borrowed and must
 * outlive all logging (pass a literal or argv[0]'s basename). */
void rk_log_set_program(const char *name);
/* Messages above level are dropped; the default is RK_LOG_INFO. */
void rk_log_set_level(rk_log_level level);
rk_log_level rk_log_get_level(void);
void rk_log(rk_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define rk_log_error(...) rk_log(RK_LOG_ERROR, __VA_ARGS__)
#define rk_log_warn(...) rk_log(RK_LOG_WARN, __VA_ARGS__)
#define rk_log_info(...) rk_log(RK_LOG_INFO, __VA_ARGS__)
#define rk_log_debug(...) rk_log(RK_LOG_DEBUG, __VA_ARGS__)

/* A progress bar with rate and ETA. It draws only when stderr is a terminal
 * and the log level is at least INFO (so --quiet and pipelines see nothing),
 * and redraws at most ten times a second. */
typedef struct rk_progress rk_progress;

/* total may be 0 when unknown (no ETA then). unit names what is counted
 * ("docs", "chunks"); both strings are borrowed for the bar's lifetime.
 * Returns NULL when out of memory; every function accepts NULL. */
rk_progress *rk_progress_new(const char *label, const char *unit, uint64_t total);
void rk_progress_set(rk_progress *p, uint64_t done);
/* Sets the total once it is known (0: unknown, no bar or ETA). */
void rk_progress_total(rk_progress *p, uint64_t total);
/* Clears the bar's line and frees it. */
void rk_progress_done(rk_progress *p);

#endif
