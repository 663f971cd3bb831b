/* Unit tests for assemble/qgen.c: one sentence per rule against the
 * question and answer worked out by hand, sentences the generator must
 * leave alone, and the invariants of every generation on the demo
 * documents (read from the source tree), on non-ASCII text, on text
 * without a terminating NUL and on large inputs, from several threads. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "raftkit/qgen.h"
#include "raftkit/text.h"

static rk_qa *gen(const char *text, size_t n, size_t max, size_t *count) {
    rk_qa *qa = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_qgen_offline(text, n, max, &qa, count, &e), RK_OK, "%s", e.msg);
    return qa;
}

/* All the questions of text, one per line, for failure messages. */
static void describe(const rk_qa *qa, size_t n, char *buf, size_t cap) {
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, cap - l, "\n  %s -> %s", qa[i].question, qa[i].answer);
    }
}

/* Some question of text is `question`, with answer `answer` of kind k. */
static void expect_qa(const char *text, const char *question, const char *answer, rk_answer_kind k) {
    size_t n;
    rk_qa *qa = gen(text, strlen(text), 64, &n);
    char got[8192];
    describe(qa, n, got, sizeof got);
    size_t i = 0;
    while (i < n && strcmp(qa[i].question, question))
        i++;
    cr_assert_lt(i, n, "no \"%s\" from \"%s\"; got:%s", question, text, got);
    cr_assert_str_eq(qa[i].answer, answer, "answer of \"%s\"", question);
    cr_assert_eq(qa[i].kind, k, "kind of \"%s\": %s", question, rk_answer_kind_name(qa[i].kind));
    cr_assert(!memcmp(text + qa[i].ans_start, answer, strlen(answer)) &&
              qa[i].ans_end - qa[i].ans_start == strlen(answer));
    rk_qa_free(qa, n);
}

/* No question of text has this answer (or, with answer NULL, text gives none). */
static void expect_none(const char *text, const char *answer) {
    size_t n;
    rk_qa *qa = gen(text, strlen(text), 64, &n);
    char got[8192];
    describe(qa, n, got, sizeof got);
    for (size_t i = 0; i < n; i++)
        cr_assert(answer && strcmp(qa[i].answer, answer), "unexpected from \"%s\":%s", text, got);
    rk_qa_free(qa, n);
}

Test(qgen, kind_names) {
    cr_assert_str_eq(rk_answer_kind_name(RK_ANSWER_NUMBER), "number");
    cr_assert_str_eq(rk_answer_kind_name(RK_ANSWER_DATE), "date");
    cr_assert_str_eq(rk_answer_kind_name(RK_ANSWER_NAME), "name");
    cr_assert_str_eq(rk_answer_kind_name(RK_ANSWER_TERM), "term");
}

Test(qgen, nothing_to_ask) {
    const char *texts[] = {"", "   \n\n  \n", "The Research Vessel\n\nRV Ingrid Maelstad", "Yes.",
                           "Why not?"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        size_t n = 99;
        rk_qa *qa = gen(texts[i], strlen(texts[i]), 10, &n);
        cr_assert_eq(n, 0, "\"%s\" gave %zu", texts[i], n);
        cr_assert_null(qa);
    }
    size_t n = 99;
    const char *t = "The island covers 31 square kilometres.";
    cr_assert_null(gen(t, strlen(t), 0, &n));
    cr_assert_eq(n, 0);
    rk_qa_free(NULL, 0);
}

Test(qgen, subject_names) {
    expect_qa("Marta Lindqvist founded the observatory in 1961.", "Who founded the observatory in 1961?",
              "Marta Lindqvist", RK_ANSWER_NAME);
    expect_qa("Tomas Revik, a hydrographer from Brennmouth, served as director from 1979 to 1994.",
              "Who served as director from 1979 to 1994?", "Tomas Revik", RK_ANSWER_NAME);
    expect_qa("Fenna Strom is the archivist and manages the data archive.", "Who is the archivist?",
              "Fenna Strom", RK_ANSWER_NAME);
    expect_qa("The Lantern Tide is Halvard's best-loved celebration.",
              "What is Halvard's best-loved celebration?", "Lantern Tide", RK_ANSWER_NAME);
    expect_qa(
        "The Skarra kelp (Laminaria skarrensis) forms dense forests on the rocky ledges off Little Skarra.",
        "What forms dense forests on the rocky ledges off Little Skarra?", "Skarra kelp", RK_ANSWER_NAME);
}

Test(qgen, other_names) {
    expect_qa("The capital of Halvard is Sørvik.", "What is the capital of Halvard?", "Sørvik",
              RK_ANSWER_NAME);
    expect_qa("The most famous landmark is the Black Stack, a sea stack of dark dolerite.",
              "What is the most famous landmark?", "Black Stack", RK_ANSWER_NAME);
    expect_qa("The first lantern is lit by the Keeper of the Lamp.", "Who is the first lantern lit by?",
              "Keeper of the Lamp", RK_ANSWER_NAME);
    expect_qa("The visitor centre stands on Harbour Row.", "Where does the visitor centre stand?",
              "Harbour Row", RK_ANSWER_NAME);
}

Test(qgen, dates) {
    expect_qa("The RV Ingrid Maelstad was launched in 2004 at the Hask & Sons shipyard.",
              "When was the RV Ingrid Maelstad launched at the Hask & Sons shipyard?", "2004",
              RK_ANSWER_DATE);
    expect_qa("The consortium added a laboratory wing in 1981 and a lecture hall in 1985.",
              "When did the consortium add a laboratory wing?", "1981", RK_ANSWER_DATE);
    expect_qa("Dr. Kasimir Oduya has led the marine biology programme since 2003.",
              "Since when has Dr. Kasimir Oduya led the marine biology programme?", "2003", RK_ANSWER_DATE);
    expect_qa("In 1971 the station moved into the stone building on Harbour Row.",
              "When did the station move into the stone building on Harbour Row?", "1971", RK_ANSWER_DATE);
    expect_qa("Marie Curie was born in Warsaw on 7 November 1867.", "When was Marie Curie born in Warsaw?",
              "7 November 1867", RK_ANSWER_DATE);
    expect_qa("Python 3.0 was released on December 3, 2008.", "When was Python 3.0 released?",
              "December 3, 2008", RK_ANSWER_DATE);
    expect_qa("Interest in tidal power arrived in the late 1980s.",
              "When did interest in tidal power arrive?", "the late 1980s", RK_ANSWER_DATE);
    expect_qa("The peat was cut for fuel until the 1950s.", "Until when was the peat cut for fuel?",
              "the 1950s", RK_ANSWER_DATE);
    /* the verb after "and" */
    expect_qa("The first turbine was designed and built in the workshop and installed in 1991.",
              "When was the first turbine installed?", "1991", RK_ANSWER_DATE);
    expect_qa("Old Bess ran for eighteen years and was decommissioned in 2009.",
              "When was Old Bess decommissioned?", "2009", RK_ANSWER_DATE);
}

Test(qgen, numbers) {
    expect_qa("The RV Ingrid Maelstad is 31.5 metres long.", "How long is the RV Ingrid Maelstad?",
              "31.5 metres", RK_ANSWER_NUMBER);
    expect_qa("The island covers 31 square kilometres.", "How many square kilometres does the island cover?",
              "31 square kilometres", RK_ANSWER_NUMBER);
    expect_qa("The archive holds about 41 terabytes of data in total.",
              "How many terabytes of data does the archive hold in total?", "about 41 terabytes",
              RK_ANSWER_NUMBER);
    expect_qa("A return ferry fare for a foot passenger costs 38 euros.",
              "How much does a return ferry fare for a foot passenger cost?", "38 euros", RK_ANSWER_NUMBER);
    expect_qa("Evacuation drills are held four times a year.", "How often are evacuation drills held?",
              "four times a year", RK_ANSWER_NUMBER);
    expect_qa("Each turbine is raised every three years.", "How often is each turbine raised?",
              "every three years", RK_ANSWER_NUMBER);
    expect_qa("Below deck there are two laboratories.", "How many laboratories are there below deck?",
              "two laboratories", RK_ANSWER_NUMBER);
    expect_qa("The channel reaches a maximum depth of 38 metres.",
              "What maximum depth does the channel reach?", "38 metres", RK_ANSWER_NUMBER);
    expect_qa("The mean annual temperature is 5.2 degrees Celsius.", "What is the mean annual temperature?",
              "5.2 degrees Celsius", RK_ANSWER_NUMBER);
    expect_qa("The crossing takes 1 hour and 50 minutes.", "How long does the crossing take?",
              "1 hour and 50 minutes", RK_ANSWER_NUMBER);
    expect_qa("Old Bess ran for eighteen years.", "For how many years did Old Bess run?", "eighteen years",
              RK_ANSWER_NUMBER);
    expect_qa("The present fleet consists of six turbines from three manufacturers.",
              "How many turbines does the present fleet consist of?", "six turbines", RK_ANSWER_NUMBER);
    expect_qa("The new plant will cost $2 billion.", "How much will the new plant cost?", "$2 billion",
              RK_ANSWER_NUMBER);
}

/* A pronoun subject stands for the previous subject of its paragraph when
 * they agree; otherwise the clause gives nothing. */
Test(qgen, pronouns) {
    expect_qa("The RV Ingrid Maelstad is a research vessel. She carries a crew of seven.",
              "How many crew does the RV Ingrid Maelstad carry?", "seven", RK_ANSWER_NUMBER);
    expect_qa("The Lantern Tide is Halvard's best-loved celebration. It was first held in 1967.",
              "When was the Lantern Tide first held?", "1967", RK_ANSWER_DATE);
    expect_qa("The island covers 31 square kilometres. Its highest point is the summit of Kvarn Hill.",
              "What is the island's highest point?", "summit of Kvarn Hill", RK_ANSWER_NAME);
    expect_none("It was first held in 1967.", NULL);
    expect_none("The Lantern Tide is Halvard's best-loved celebration.\n\nIt was first held in 1967.",
                "1967");
    expect_none("The Tern was a fishing boat. He was retired in 2003.", "2003");
}

Test(qgen, terms) {
    expect_qa(
        "Slack water: the short period around high and low water when the current almost stops.",
        "What is the term for the short period around high and low water when the current almost stops?",
        "Slack water", RK_ANSWER_TERM);
    expect_qa("Kvarn Gale: the storm that produced the strongest gust on record.",
              "What is the name of the storm that produced the strongest gust on record?", "Kvarn Gale",
              RK_ANSWER_TERM);
    expect_qa("A mutex is a lock that protects shared data from concurrent access.",
              "What is a lock that protects shared data from concurrent access called?", "mutex",
              RK_ANSWER_TERM);
    expect_qa("Retrieval-augmented generation (RAG) combines a retriever with a generator.",
              "What does RAG stand for?", "Retrieval-augmented generation", RK_ANSWER_TERM);
}

/* What the rules are unsure of gives no question. */
Test(qgen, skips) {
    expect_none("Porpoises steer around the rotors at a distance of ten to twenty metres.", NULL);
    expect_none("The consortium added a laboratory wing in 1981 and a lecture hall in 1985.", "1985");
    expect_none("The team pivoted the design in 2019.", NULL); /* pivot or pivote? */
    expect_none("Ingrid Maelstad directed it until her retirement in 1979.",
                "1979"); /* bound to "retirement" */
    expect_none("Apple was founded by Steve Jobs, Steve Wozniak and Ronald Wayne.", "Steve Jobs");
    expect_none("The Tide Board shows the slack waters, the current speed and the diving flag.",
                "Tide Board");
    expect_none("Staff nicknamed it Old Bess after the harbour crane.", NULL);
    expect_none("Halvard has one cash machine.", NULL); /* "How many cash machine" */
    size_t n;
    const char *t = "Old Bess ran for eighteen years.";
    rk_qa *qa = gen(t, strlen(t), 10, &n);
    for (size_t i = 0; i < n; i++) /* a person or a machine? */
        cr_assert(strncmp(qa[i].question, "Who ", 4) && strncmp(qa[i].question, "What ", 5), "%s",
                  qa[i].question);
    rk_qa_free(qa, n);
}

/* ---- invariants ---- */

typedef struct corpus {
    char *text[64];
    size_t len[64];
    size_t n;
} corpus;

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)size + 1);
    cr_assert_eq(fread(s, 1, (size_t)size, f), (size_t)size);
    s[size] = 0;
    fclose(f);
    *n = (size_t)size;
    return s;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The demo documents of pipelines/demo/docs, sorted by name. */
static void load_demo(corpus *c) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/pipelines/demo/docs", RK_SOURCE_DIR);
    DIR *d = opendir(dir);
    cr_assert(d, "cannot open %s", dir);
    char *names[64];
    size_t k = 0;
    for (struct dirent *e; (e = readdir(d)) && k < 64;) {
        size_t l = strlen(e->d_name);
        if (l > 3 && (!strcmp(e->d_name + l - 3, ".md") || !strcmp(e->d_name + l - 4, ".txt")))
            names[k++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, k, sizeof *names, cmp_str);
    c->n = 0;
    for (size_t i = 0; i < k; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        c->text[c->n] = slurp(path, &c->len[c->n]);
        c->n++;
        free(names[i]);
    }
    cr_assert_geq(c->n, 10, "the demo documents are missing");
}

static void free_corpus(corpus *c) {
    for (size_t i = 0; i < c->n; i++)
        free(c->text[i]);
}

static size_t words(const char *s) {
    size_t w = 0;
    for (size_t i = 0; s[i]; i++)
        w += s[i] != ' ' && (i == 0 || s[i - 1] == ' ');
    return w;
}

static int utf8_boundary(const char *t, size_t n, size_t i) {
    return i == 0 || i == n || ((unsigned char)t[i] & 0xC0) != 0x80;
}

/* Every invariant of qgen.h on the questions of text[0..n) (max asked). */
static void check_invariants(const char *text, size_t n, size_t max, const rk_qa *qa, size_t count) {
    cr_assert_leq(count, max);
    for (size_t i = 0; i < count; i++) {
        const rk_qa *a = &qa[i];
        const char *q = a->question;
        size_t ql = strlen(q);
        cr_assert(ql > 1 && q[ql - 1] == '?', "no question mark: %s", q);
        cr_assert(q[0] >= 'A' && q[0] <= 'Z', "no capital: %s", q);
        cr_assert_null(strchr(q, '\n'), "two lines: %s", q);
        cr_assert_geq(words(q), 4, "too short: %s", q);
        cr_assert_eq(rk_utf8_check(q, ql, NULL), 0, "invalid UTF-8: %s", q);
        cr_assert(a->ans_start < a->ans_end && a->ans_end <= n, "span of %s", q);
        cr_assert(utf8_boundary(text, n, a->ans_start) && utf8_boundary(text, n, a->ans_end), "span of %s",
                  q);
        cr_assert_eq(strlen(a->answer), a->ans_end - a->ans_start);
        cr_assert(!memcmp(text + a->ans_start, a->answer, strlen(a->answer)), "answer of %s", q);
        cr_assert_leq(words(a->answer), 8, "long answer: %s", a->answer);
        cr_assert(a->sent_start <= a->ans_start && a->ans_end <= a->sent_end && a->sent_end <= n,
                  "sentence of %s", q);
        cr_assert_null(strcasestr(q, a->answer), "\"%s\" holds its answer \"%s\"", q, a->answer);
        cr_assert(a->kind >= RK_ANSWER_NUMBER && a->kind <= RK_ANSWER_TERM);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(qa[j].question, q, "twice: %s", q);
    }
    /* different sentences first: once a sentence gives its second question,
     * no new sentence comes */
    int repeated = 0;
    for (size_t i = 0; i < count; i++) {
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= qa[j].sent_start == qa[i].sent_start;
        if (seen)
            repeated = 1;
        else
            cr_assert(!repeated, "a new sentence after a repeated one: %s", qa[i].question);
    }
}

/* The same questions, in the same order. */
static void expect_same(const rk_qa *a, size_t na, const rk_qa *b, size_t nb) {
    cr_assert_eq(na, nb);
    for (size_t i = 0; i < na; i++) {
        cr_assert_str_eq(a[i].question, b[i].question);
        cr_assert_eq(a[i].ans_start, b[i].ans_start);
        cr_assert_eq(a[i].ans_end, b[i].ans_end);
    }
}

/* Each paragraph of each document, and each document whole. */
Test(qgen, demo_invariants) {
    corpus c;
    load_demo(&c);
    size_t total = 0, kinds[4] = {0};
    for (size_t d = 0; d < c.n; d++) {
        const char *t = c.text[d];
        for (size_t a = 0; a < c.len[d];) {
            const char *e = strstr(t + a, "\n\n");
            size_t b = e ? (size_t)(e - t) : c.len[d];
            size_t n;
            rk_qa *qa = gen(t + a, b - a, 100, &n);
            check_invariants(t + a, b - a, 100, qa, n);
            total += n;
            for (size_t i = 0; i < n; i++)
                kinds[qa[i].kind]++;
            rk_qa_free(qa, n);
            a = b;
            while (a < c.len[d] && t[a] == '\n')
                a++;
        }
        size_t n, n2;
        rk_qa *qa = gen(t, c.len[d], 100, &n);
        check_invariants(t, c.len[d], 100, qa, n);
        rk_qa *again = gen(t, c.len[d], 100, &n2);
        expect_same(qa, n, again, n2); /* deterministic */
        rk_qa_free(qa, n);
        rk_qa_free(again, n2);
    }
    /* a floor, so that a rule that stops firing shows */
    cr_assert_geq(total, 90, "only %zu questions from the demo documents", total);
    for (int k = 0; k < 4; k++)
        cr_assert_geq(kinds[k], 5, "only %zu of kind %s", kinds[k], rk_answer_kind_name((rk_answer_kind)k));
    free_corpus(&c);
}

/* At most max, and the first max of the ranking. */
Test(qgen, max_respected) {
    corpus c;
    load_demo(&c);
    for (size_t d = 0; d < c.n; d++) {
        size_t all;
        rk_qa *full = gen(c.text[d], c.len[d], 1000, &all);
        for (size_t max = 1; max <= all + 1; max++) {
            size_t n;
            rk_qa *qa = gen(c.text[d], c.len[d], max, &n);
            cr_assert_eq(n, max < all ? max : all);
            expect_same(qa, n, full, n);
            check_invariants(c.text[d], c.len[d], max, qa, n);
            rk_qa_free(qa, n);
        }
        rk_qa_free(full, all);
    }
    free_corpus(&c);
}

/* Best first: a proper-noun subject or a date before a weaker pattern, and
 * the first question of every sentence before a second one. */
Test(qgen, ranking) {
    const char *t = "Before 2004 the observatory relied on the MV Tern. The MV Tern was built in 1966.";
    size_t n;
    rk_qa *qa = gen(t, strlen(t), 10, &n);
    cr_assert_geq(n, 3);
    cr_assert_str_eq(qa[0].question, "When was the MV Tern built?");
    cr_assert_str_eq(qa[1].question, "What did the observatory rely on before 2004?");
    cr_assert_str_eq(qa[2].question, "What was built in 1966?");
    rk_qa_free(qa, n);
}

Test(qgen, non_ascii) {
    const char *t = "Østerby Station opened in 1911. The capital of Ærø is Sørvik Harbour. "
                    "The harbour at Sørvik was rebuilt in 1901 by Åsa Ekström.";
    expect_qa(t, "When did Østerby Station open?", "1911", RK_ANSWER_DATE);
    expect_qa(t, "What opened in 1911?", "Østerby Station", RK_ANSWER_NAME);
    expect_qa(t, "What is the capital of Ærø?", "Sørvik Harbour", RK_ANSWER_NAME);
    expect_qa(t, "When was the harbour at Sørvik rebuilt by Åsa Ekström?", "1901", RK_ANSWER_DATE);
    size_t n;
    rk_qa *qa = gen(t, strlen(t), 10, &n);
    check_invariants(t, strlen(t), 10, qa, n);
    rk_qa_free(qa, n);
}

/* text[0..n) need not be followed by a NUL: a copy of exactly n bytes. */
Test(qgen, not_nul_terminated) {
    const char *src = "The island covers 31 square kilometres. The capital of Halvard is Sørvik";
    size_t len = strlen(src);
    char *t = malloc(len);
    memcpy(t, src, len);
    size_t n;
    rk_qa *qa = gen(t, len, 10, &n);
    cr_assert_eq(n, 1); /* the last sentence has no period */
    cr_assert_str_eq(qa[0].question, "How many square kilometres does the island cover?");
    check_invariants(t, len, 10, qa, n);
    rk_qa_free(qa, n);
    free(t);
    /* a number at the very end */
    src = "The lecture hall was converted into the visitor centre in 1997";
    len = strlen(src);
    t = malloc(len);
    memcpy(t, src, len);
    qa = gen(t, len, 10, &n);
    cr_assert_eq(n, 0);
    free(t);
}

/* Inputs far larger than a chunk: a sentence of 20,000 words and 2 MB of
 * repeated documents. The work is linear, so these finish quickly; the
 * test asserts only what comes out. */
Test(qgen, large_inputs) {
    size_t len = 20000 * 6;
    char *t = malloc(len + 2);
    for (size_t i = 0; i < 20000; i++)
        memcpy(t + 6 * i, i % 7 ? "words " : "Sound ", 6);
    t[len - 1] = '.';
    t[len] = 0;
    size_t n;
    rk_qa *qa = gen(t, len, 10, &n);
    cr_assert_eq(n, 0);
    free(t);

    corpus c;
    load_demo(&c);
    size_t cap = 2 << 20, m = 0;
    char *big = malloc(cap + 1);
    for (size_t d = 0; m + c.len[d % c.n] + 2 < cap; d++) {
        memcpy(big + m, c.text[d % c.n], c.len[d % c.n]);
        m += c.len[d % c.n];
        big[m++] = '\n';
        big[m++] = '\n';
    }
    qa = gen(big, m, 500, &n);
    cr_assert_geq(n, 100); /* the questions of the documents, once each */
    check_invariants(big, m, 500, qa, n);
    rk_qa_free(qa, n);
    free(big);
    free_corpus(&c);
}

typedef struct job {
    const corpus *c;
    size_t total;
    char first[64][256]; /* the first question of each document */
} job;

static void *run_job(void *arg) {
    job *j = arg;
    for (int rep = 0; rep < 20; rep++)
        for (size_t d = 0; d < j->c->n; d++) {
            rk_qa *qa = NULL;
            size_t n = 0;
            rk_error e;
            if (rk_qgen_offline(j->c->text[d], j->c->len[d], 20, &qa, &n, &e)) continue;
            j->total += n;
            if (n) snprintf(j->first[d], sizeof j->first[d], "%s", qa[0].question);
            rk_qa_free(qa, n);
        }
    return NULL;
}

/* Threads share nothing: four at once give what one gives. */
Test(qgen, threads) {
    corpus c;
    load_demo(&c);
    static job jobs[5];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < 5; i++)
        jobs[i].c = &c;
    run_job(&jobs[4]);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(jobs[i].total, jobs[4].total);
        for (size_t d = 0; d < c.n; d++)
            cr_assert_str_eq(jobs[i].first[d], jobs[4].first[d]);
    }
    free_corpus(&c);
}
