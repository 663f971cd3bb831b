/* progress.c — a terminal progress bar: count, rate and ETA on one line. */
#include "raftkit/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct rk_progress {
    const char *label, *unit;
    uint64_t total, done;
    double start, last_draw;
    int visible; /* drawing at all: a terminal and not --quiet */
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

rk_progress *rk_progress_new(const char *label, const char *unit, uint64_t total) {
    rk_progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->start = now_s();
    p->visible = isatty(STDERR_FILENO) && rk_log_get_level() >= RK_LOG_INFO;
    return p;
}

static void draw(rk_progress *p, double t) {
    double el = t - p->start, rate = el > 0 ? (double)p->done / el : 0;
    char eta[32] = "";
    if (p->total && rate > 0 && p->done <= p->total) {
        double left = (double)(p->total - p->done) / rate;
        snprintf(eta, sizeof eta, " ETA %02d:%02d", (int)left / 60, (int)left % 60);
    }
    if (p->total) {
        int width = 30, fill = (int)(width * (double)p->done / (double)p->total);
        if (fill > width) fill = width;
        fprintf(stderr, "\r%s [%.*s%*s] %llu/%llu %s %.1f/s%s\033[K", p->label, fill,
                "##############################", width - fill, "", (unsigned long long)p->done,
                (unsigned long long)p->total, p->unit, rate, eta);
    } else {
        fprintf(stderr, "\r%s %llu %s %.1f/s\033[K", p->label, (unsigned long long)p->done, p->unit, rate);
    }
    p->last_draw = t;
}

void rk_progress_total(rk_progress *p, uint64_t total) {
    if (p) p->total = total;
}

void rk_progress_set(rk_progress *p, uint64_t done) {
    if (!p) return;
    p->done = done;
    if (!p->visible) return;
    double t = now_s();
    if (t - p->last_draw >= 0.1) draw(p, t);
}

void rk_progress_done(rk_progress *p) {
    if (!p) return;
    if (p->visible && p->last_draw > 0) fputs("\r\033[K", stderr);
    free(p);
}
