/* log.c — stderr logging with levels. */
#include "raftkit/log.h"

#include <stdarg.h>
#include <stdio.h>

static const char *g_program = "raftkit";
static rk_log_level g_level = RK_LOG_INFO;

void rk_log_set_program(const char *name) { g_program = name; }
void rk_log_set_level(rk_log_level level) { g_level = level; }
rk_log_level rk_log_get_level(void) { return g_level; }

void rk_log(rk_log_level level, const char *fmt, ...) {
    if (level > g_level) return;
    static const char *const tags[] = {"error: ", "warning: ", "", "debug: "};
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fputs per line so lines from concurrent shards do not interleave. */
    char out[2200];
    snprintf(out, sizeof out, "%s: %s%s\n", g_program, tags[level], line);
    fputs(out, stderr);
}
