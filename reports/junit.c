/*
 * junit.c - JUnit XML with libxml2's xmlTextWriter.
 */
#include "reports/junit.h"

#include <errno.h>
#include <inttypes.h>
#include <libxml/xmlwriter.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/fsutil.h"
#include "reports/replay.h"
#include "reports/text.h"
#include "sim/verdict.h"

/* A growing string for element text. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t nc = b->cap ? b->cap * 2 : 1024;
        while (nc < b->n + (size_t)k + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
}

/* Writes an attribute after cleaning it to valid UTF-8. */
static int attr(xmlTextWriterPtr w, const char *name, const char *value)
{
    size_t len = strlen(value) + 1;
    char *clean = malloc(len);
    if (!clean)
        return -1;
    rep_utf8_clean(value, clean, len);
    int rc = xmlTextWriterWriteAttribute(w, BAD_CAST name, BAD_CAST clean);
    free(clean);
    return rc < 0 ? -1 : 0;
}

static int attr_u(xmlTextWriterPtr w, const char *name, uint64_t v)
{
    char num[32];
    snprintf(num, sizeof num, "%" PRIu64, v);
    return attr(w, name, num);
}

/* Writes element text after cleaning it. */
static int text(xmlTextWriterPtr w, const char *s)
{
    size_t len = strlen(s) + 1;
    char *clean = malloc(len);
    if (!clean)
        return -1;
    rep_utf8_clean(s, clean, len);
    int rc = xmlTextWriterWriteString(w, BAD_CAST clean);
    free(clean);
    return rc < 0 ? -1 : 0;
}

static void counts_text(sbuf *b, const sim_sweep_result *r)
{
    sb_printf(b, "role %s, verdict %s (%s)\n", sim_role_name(r->role), sim_verdict_name(r->verdict),
              sim_sweep_outcome(r));
    sb_printf(b,
              "delivery_rate %.4f [%.4f, %.4f] over %" PRIu32 " seeds (%" PRIu32 " failed, %" PRIu32
              " worst)",
              r->delivery_rate, r->rate_lo, r->rate_hi, r->nseeds, r->failed_seeds, r->worst_seeds);
    if (r->expect_rate >= 0)
        sb_printf(b, ", expected >= %.4g", r->expect_rate);
    sb_printf(b, "\n");
    for (int i = 0; i < SIM_COUNT__N; i++)
        sb_printf(b, "%s=%" PRIu64 "%s", sim_count_name(i), r->c[i],
                  i + 1 < SIM_COUNT__N ? " " : "\n");
    sb_printf(b, "delivery latency ms: p50=%.3f p90=%.3f p99=%.3f max=%.3f\n", (double)r->p50 / 1e6,
              (double)r->p90 / 1e6, (double)r->p99 / 1e6, (double)r->pmax / 1e6);
}

/* The replay lines of r: failing seeds, then the worst, at most
 * REP_JUNIT_REPLAYS, then "and N more".  A '#' comment never holds a
 * newline, so a pasted block runs only the replay lines. */
static void replays_text(sbuf *f, const sim_sweep_result *r)
{
    uint32_t idx[REP_JUNIT_REPLAYS];
    size_t total = 0, k = r->seeds ? sim_sweep_replay_seeds(r, idx, REP_JUNIT_REPLAYS, &total) : 0;
    char line[2048], why[300];
    for (size_t i = 0; i < k; i++) {
        const sim_seed_result *s = &r->seeds[idx[i]];
        if (rep_replay_command(r, s->seed, line, sizeof line) != 0)
            snprintf(line, sizeof line, "(replay line too long) seed %" PRIu64, s->seed);
        if (s->pass)
            snprintf(why, sizeof why, "worst seed #%d (not a failure)", s->worst);
        else
            snprintf(why, sizeof why, "%s", s->reason);
        sb_printf(f, "%s   # %s\n", line, rep_comment_line(why));
    }
    if (total > k)
        sb_printf(f,
                  "# ... and %zu more (%" PRIu32 " failing, %" PRIu32
                  " worst in all: sqlite3 ... SELECT replay FROM failures)\n",
                  total - k, r->failed_seeds, r->worst_seeds);
}

static int testcase(xmlTextWriterPtr w, const sim_sweep_result *r)
{
    char cls[64], name[sizeof r->scenario + sizeof r->policy + 16];
    snprintf(cls, sizeof cls, "ctxsim.%s", r->profile);
    if (r->ablated_fix > 0)
        snprintf(name, sizeof name, "%s F%d-off%s%s", r->scenario, r->ablated_fix,
                 r->policy[0] ? " " : "", r->policy);
    else if (r->policy[0])
        snprintf(name, sizeof name, "%s %s", r->scenario, r->policy);
    else
        snprintf(name, sizeof name, "%s", r->scenario);
    if (xmlTextWriterStartElement(w, BAD_CAST "testcase") < 0 || attr(w, "classname", cls) ||
        attr(w, "name", name))
        return -1;
    sbuf b = {0};
    counts_text(&b, r);
    int rc = 0;
    if (r->fails_ci) {
        /* gate: its reasons; a fix the matrix does not catch: the note */
        const char *msg = r->role == SIM_ROLE_GATE ? r->reason : r->note;
        char type[32];
        snprintf(type, sizeof type, "%s",
                 r->role == SIM_ROLE_GATE ? sim_verdict_name(r->verdict) : "not_caught");
        rc = xmlTextWriterStartElement(w, BAD_CAST "failure") < 0 ||
             attr(w, "message", msg[0] ? msg : "expectation not met") || attr(w, "type", type);
        sbuf f = {0};
        sb_printf(&f, "%s\n%s", msg, b.p ? b.p : "");
        if (r->role == SIM_ROLE_GATE)
            replays_text(&f, r);
        if (!rc)
            rc = f.oom || text(w, f.p ? f.p : "") || xmlTextWriterEndElement(w) < 0;
        free(f.p);
    } else if (r->role != SIM_ROLE_GATE) {
        /* informational: skipped, the numbers in the message */
        sbuf m = {0};
        sb_printf(&m, "informational, %s: delivery_rate %.4f [%.4f, %.4f] over %" PRIu32 " seeds",
                  sim_sweep_outcome(r), r->delivery_rate, r->rate_lo, r->rate_hi, r->nseeds);
        if (r->note[0])
            sb_printf(&m, "; %s", r->note);
        if (r->reason[0])
            sb_printf(&m, "; missed: %s", r->reason);
        rc = m.oom || xmlTextWriterStartElement(w, BAD_CAST "skipped") < 0 ||
             attr(w, "message", m.p ? m.p : "") || xmlTextWriterEndElement(w) < 0;
        free(m.p);
    }
    if (!rc)
        rc = xmlTextWriterStartElement(w, BAD_CAST "system-out") < 0 || b.oom ||
             text(w, b.p ? b.p : "") || xmlTextWriterEndElement(w) < 0;
    free(b.p);
    if (!rc)
        rc = xmlTextWriterEndElement(w) < 0;
    return rc ? -1 : 0;
}

int rep_junit_write(const char *path, const sim_sweep_result *const *results, size_t n,
                    const char *suite, char *err, size_t errlen)
{
    if (!path || (!results && n)) {
        snprintf(err, errlen, "junit: bad arguments");
        return -1;
    }
    if (!suite)
        suite = "ctxsim";
    int rc = rep_mkdir_parent(path);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return -1;
    }
    size_t failures = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        failures += results[i]->fails_ci != 0;
        skipped += !results[i]->fails_ci && results[i]->role != SIM_ROLE_GATE;
    }
    /* Write to a temporary name and rename, so a reader never sees half a file. */
    size_t tl = strlen(path) + 8;
    char *tmp = malloc(tl);
    if (!tmp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(tmp, tl, "%s.tmp", path);
    xmlTextWriterPtr w = xmlNewTextWriterFilename(tmp, 0);
    if (!w) {
        snprintf(err, errlen, "%s: cannot write", tmp);
        free(tmp);
        return -1;
    }
    int bad =
        xmlTextWriterSetIndent(w, 1) < 0 || xmlTextWriterSetIndentString(w, BAD_CAST "  ") < 0 ||
        xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL) < 0 ||
        xmlTextWriterStartElement(w, BAD_CAST "testsuites") < 0 || attr(w, "name", suite) ||
        attr_u(w, "tests", n) || attr_u(w, "failures", failures) || attr_u(w, "errors", 0) ||
        attr_u(w, "skipped", skipped) || xmlTextWriterStartElement(w, BAD_CAST "testsuite") < 0 ||
        attr(w, "name", suite) || attr_u(w, "tests", n) || attr_u(w, "failures", failures) ||
        attr_u(w, "errors", 0) || attr_u(w, "skipped", skipped);
    for (size_t i = 0; !bad && i < n; i++)
        bad = testcase(w, results[i]) != 0;
    if (!bad)
        bad = xmlTextWriterEndDocument(w) < 0 || xmlTextWriterFlush(w) < 0;
    xmlFreeTextWriter(w); /* closes the file */
    if (!bad && rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        remove(tmp);
        free(tmp);
        return -1;
    }
    if (bad) {
        snprintf(err, errlen, "%s: write error", tmp);
        remove(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}
