/*
 * report.c - index.html and summary.md, and the `ctxsim report` command.
 */
#include "reports/report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reports/cmdline.h"
#include "reports/fsutil.h"
#include "reports/text.h"
#include "reports/replay.h"
#include "sim/verdict.h"

#define FAILURES_SHOWN 10 /* replay lines per sweep in the report */

static const char *const fix_names[REP_FIXES + 1] = {
    "none",
    "F1 associate_before_execute",
    "F2 exec_grace",
    "F3 verify_before_notify",
    "F4 buffer_until_ready",
    "F5 queue_until_context",
    "F6 cache_preauth",
    "F7 pool_pending_marking",
    "F8 update_retries",
    "F9 report_undeliverable + fallback_notify",
};

/* Output to HTML and Markdown at once: each helper writes both. */
typedef struct out2 {
    FILE *h, *md;
} out2;

static void h(const out2 *o, const char *s)
{
    rep_html_escape(o->h, s);
}

static void md(const out2 *o, const char *s)
{
    rep_md_escape(o->md, s);
}

/* printf to the HTML file (markup, no escaping). */
static void hf(const out2 *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(o->h, fmt, ap);
    va_end(ap);
}

static void mf(const out2 *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(o->md, fmt, ap);
    va_end(ap);
}

/* A table: header cells; numeric columns are right-aligned in both formats. */
static void table_head(const out2 *o, const char *const *cols, size_t n, const char *num)
{
    hf(o, "<table>\n<tr>");
    for (size_t i = 0; i < n; i++) {
        hf(o, "<th%s>", num[i] == 'n' ? "" : " class=\"l\"");
        h(o, cols[i]);
        hf(o, "</th>");
    }
    hf(o, "</tr>\n");
    mf(o, "\n|");
    for (size_t i = 0; i < n; i++) {
        mf(o, " ");
        md(o, cols[i]);
        mf(o, " |");
    }
    mf(o, "\n|");
    for (size_t i = 0; i < n; i++)
        mf(o, "%s|", num[i] == 'n' ? "---:" : ":---");
    mf(o, "\n");
}

static void row_begin(const out2 *o)
{
    hf(o, "<tr>");
    mf(o, "|");
}

/* One cell; cls is an extra CSS class or NULL; num != 0 right-aligns. */
static void cell(const out2 *o, int num, const char *cls, const char *text)
{
    if (num && cls)
        hf(o, "<td class=\"%s\">", cls);
    else if (cls)
        hf(o, "<td class=\"l %s\">", cls);
    else
        hf(o, num ? "<td>" : "<td class=\"l\">");
    h(o, text);
    hf(o, "</td>");
    mf(o, " ");
    if (cls && strcmp(cls, "fail") == 0) {
        mf(o, "**");
        md(o, text);
        mf(o, "**");
    } else {
        md(o, text);
    }
    mf(o, " |");
}

static void cellf(const out2 *o, int num, const char *cls, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cell(o, num, cls, buf);
}

static void row_end(const out2 *o)
{
    hf(o, "</tr>\n");
    mf(o, "\n");
}

static void table_end(const out2 *o)
{
    hf(o, "</table>\n");
    mf(o, "\n");
}

static void heading(const out2 *o, int level, const char *id, const char *text)
{
    hf(o, "<h%d id=\"%s\">", level, id);
    h(o, text);
    hf(o, "</h%d>\n", level);
    mf(o, "\n%.*s ", level, "######");
    md(o, text);
    mf(o, "\n");
}

static void para(const out2 *o, const char *text)
{
    hf(o, "<p>");
    h(o, text);
    hf(o, "</p>\n");
    mf(o, "\n");
    md(o, text);
    mf(o, "\n");
}

static const rep_chart *find_chart(const rep_chart *c, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0 && c[i].drawn)
            return &c[i];
    return NULL;
}

static void figure(const out2 *o, const rep_chart *c)
{
    hf(o, "<figure><a href=\"%s.svg\"><img src=\"%s.svg\" alt=\"", c->name, c->name);
    h(o, c->title);
    hf(o, "\"/></a><figcaption>");
    h(o, c->title);
    hf(o,
       ": <a href=\"%s.png\">PNG</a> | <a href=\"%s.svg\">SVG</a> | <a href=\"%s.dat\">data</a> "
       "| <a href=\"%s.gp\">gnuplot script</a></figcaption></figure>\n",
       c->name, c->name, c->name, c->name);
    mf(o, "\n![%s](%s.png)\n", c->title, c->name);
}

static void rate_text(char *buf, size_t len, const sim_sweep_result *r)
{
    if (r->c[SIM_COUNT_EXPECTED] == 0) {
        snprintf(buf, len, "n/a (no expected event)");
        return;
    }
    snprintf(buf, len, "%.2f [%.2f, %.2f]", 100 * r->delivery_rate, 100 * r->rate_lo,
             100 * r->rate_hi);
}

static void gate_text(char *buf, size_t len, const sim_sweep_result *r)
{
    if (r->expect_rate >= 0)
        snprintf(buf, len, "%.2f", 100 * r->expect_rate);
    else
        snprintf(buf, len, "-");
}

static void ms_text(char *buf, size_t len, uint64_t ns)
{
    snprintf(buf, len, "%.2f", (double)ns / 1e6);
}

static void policy_text(char *buf, size_t len, const sim_sweep_result *r)
{
    snprintf(buf, len, "%s", r->policy[0] ? r->policy : "-");
}

/* ---- sections ------------------------------------------------------------ */

static void section_run(const out2 *o, const rep_model *m)
{
    const rep_run_info *r = &m->run;
    char when[64] = "-";
    if (r->started_at > 0) {
        time_t t = (time_t)r->started_at;
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    }
    const char *state = r->live         ? "running (in progress)"
                        : r->incomplete ? (strcmp(r->status, "interrupted") == 0
                                               ? "incomplete (interrupted)"
                                               : "incomplete (status running, its process is gone)")
                                        : r->status;
    static const char *const cols[] = {"run",          "label",        "status", "started",
                                       "git revision", "tool version", "shard",  "arguments"};
    table_head(o, cols, 8, "nlllllll");
    row_begin(o);
    cellf(o, 1, NULL, "#%" PRId64, r->id);
    cell(o, 0, NULL, r->label[0] ? r->label : "-");
    cell(o, 0, r->incomplete || strcmp(r->status, "failed") == 0 ? "fail" : NULL, state);
    cell(o, 0, NULL, when);
    cell(o, 0, NULL, r->git_rev[0] ? r->git_rev : "-");
    cell(o, 0, NULL, r->tool_version[0] ? r->tool_version : "-");
    cell(o, 0, NULL, r->shard[0] ? r->shard : "whole");
    cell(o, 0, NULL, r->args[0] ? r->args : "-");
    row_end(o);
    table_end(o);
    if (r->incomplete || r->live) {
        hf(o, "<p class=\"warn\">");
        h(o, r->live ? "This run is still in progress: the results below are partial."
                     : "This run is incomplete: it did not finish, only the sweeps it "
                       "completed are shown.");
        hf(o, "</p>\n");
        mf(o, "\n> **%s**\n",
           r->live ? "This run is still in progress: the results below are partial."
                   : "This run is incomplete: it did not finish, only the sweeps it completed "
                     "are shown.");
    }
}

static void section_results(const out2 *o, const rep_model *m)
{
    heading(o, 2, "results", "Results of every sweep");
    size_t failing = 0, info = 0;
    for (size_t i = 0; i < m->nsw; i++) {
        failing += m->sw[i].r.fails_ci != 0;
        info += m->sw[i].r.role != SIM_ROLE_GATE;
    }
    char text[600];
    snprintf(text, sizeof text,
             "%zu sweeps, %zu failing CI. Every sweep has one verdict (pass, fail, or "
             "inconclusive: no expected event) and a role: gate (what was asked for) or "
             "informational (%zu here: legacy beside fixed, the ablation matrix), which never "
             "fails CI except a fix that no sweep of the ablation matrix catches. Rates in %%, "
             "with the 95%% Wilson interval; latency in ms.",
             m->nsw, failing, info);
    para(o, text);
    static const char *const cols[] = {
        "scenario",    "profile",          "policy",     "fix off",
        "seeds",       "expected",         "delivered",  "late",
        "lost",        "misrouted",        "duplicated", "out of order",
        "silent loss", "stuck / stranded", "accounting", "rate % [95% CI]",
        "gate %",      "p50 ms",           "p99 ms",     "failed seeds",
        "role",        "verdict"};
    table_head(o, cols, 22, "llllnnnnnnnnnnnnnnnnll");
    char b[256];
    for (size_t i = 0; i < m->nsw; i++) {
        const sim_sweep_result *r = &m->sw[i].r;
        const uint64_t *c = r->c;
        row_begin(o);
        cell(o, 0, NULL, r->scenario);
        cell(o, 0, NULL, r->profile);
        policy_text(b, sizeof b, r);
        cell(o, 0, NULL, b);
        if (r->ablated_fix > 0)
            cellf(o, 0, NULL, "F%d", r->ablated_fix);
        else
            cell(o, 0, NULL, "-");
        cellf(o, 1, NULL, "%" PRIu32, r->nseeds);
        cellf(o, 1, NULL, "%" PRIu64, c[SIM_COUNT_EXPECTED]);
        cellf(o, 1, NULL, "%" PRIu64, c[SIM_COUNT_DELIVERED]);
        cellf(o, 1, NULL, "%" PRIu64, c[SIM_COUNT_LATE]);
        cellf(o, 1, NULL, "%" PRIu64, c[SIM_COUNT_LOST]);
        cellf(o, 1, c[SIM_COUNT_MISROUTED] ? "fail" : NULL, "%" PRIu64, c[SIM_COUNT_MISROUTED]);
        cellf(o, 1, NULL, "%" PRIu64, c[SIM_COUNT_DUPLICATED]);
        cellf(o, 1, NULL, "%" PRIu64, c[SIM_COUNT_OUT_OF_ORDER]);
        cellf(o, 1, NULL, "%" PRIu64, c[SIM_COUNT_SILENT_LOSS]);
        cellf(o, 1, c[SIM_COUNT_STUCK_PENDING] || c[SIM_COUNT_STRANDED] ? "fail" : NULL,
              "%" PRIu64 " / %" PRIu64, c[SIM_COUNT_STUCK_PENDING], c[SIM_COUNT_STRANDED]);
        cellf(o, 1, c[SIM_COUNT_ACCOUNTING] ? "fail" : NULL, "%" PRIu64, c[SIM_COUNT_ACCOUNTING]);
        rate_text(b, sizeof b, r);
        cell(o, 1, NULL, b);
        gate_text(b, sizeof b, r);
        cell(o, 1, NULL, b);
        ms_text(b, sizeof b, r->p50);
        cell(o, 1, NULL, b);
        ms_text(b, sizeof b, r->p99);
        cell(o, 1, NULL, b);
        cellf(o, 1, NULL, "%" PRIu32, r->failed_seeds);
        cell(o, 0, NULL, sim_role_name(r->role));
        /* The verdict record as the table, JSON and JUnit show it. */
        const char *cls = r->fails_ci                              ? "fail"
                          : r->verdict == SIM_VERDICT_INCONCLUSIVE ? "inconclusive"
                          : r->role != SIM_ROLE_GATE               ? NULL
                                                                   : "pass";
        if (r->role == SIM_ROLE_GATE && r->reason[0])
            cellf(o, 0, cls, "%s: %s", sim_sweep_outcome(r), r->reason);
        else if (r->role == SIM_ROLE_GATE)
            cell(o, 0, cls, sim_sweep_outcome(r));
        else
            cellf(o, 0, cls, "%s: %s%s%s", sim_sweep_outcome(r), r->note,
                  r->reason[0] ? "; missed: " : "", r->reason);
        row_end(o);
    }
    table_end(o);
}

static void section_rate(const out2 *o, const rep_model *m, const rep_chart *c)
{
    heading(o, 2, "rate", "1. Delivery rate per scenario");
    if (!c) {
        para(o, "No sweeps without an ablated fix in this run: nothing to draw.");
        return;
    }
    para(o, "Legacy (every fix off) beside fixed (every fix on); error bars: 95% Wilson "
            "interval; dashed line: the scenario's gate (expect delivery_rate).");
    figure(o, c);
    static const char *const cols[] = {"scenario", "legacy % [95% CI]", "fixed % [95% CI]",
                                       "gate %",   "legacy seeds",      "fixed seeds"};
    table_head(o, cols, 6, "lnnnnn");
    char b[128];
    for (size_t i = 0; i < m->nscen; i++) {
        const rep_sweep *l = m->legacy[i], *f = m->fixed[i];
        row_begin(o);
        cell(o, 0, NULL, m->scen[i]);
        if (l)
            rate_text(b, sizeof b, &l->r);
        cell(o, 1, NULL, l ? b : "-");
        if (f)
            rate_text(b, sizeof b, &f->r);
        cell(o, 1, NULL, f ? b : "-");
        const sim_sweep_result *g = f ? &f->r : l ? &l->r : NULL;
        if (g)
            gate_text(b, sizeof b, g);
        cell(o, 1, NULL, g ? b : "-");
        if (l)
            cellf(o, 1, NULL, "%" PRIu32, l->r.nseeds);
        else
            cell(o, 1, NULL, "-");
        if (f)
            cellf(o, 1, NULL, "%" PRIu32, f->r.nseeds);
        else
            cell(o, 1, NULL, "-");
        row_end(o);
    }
    table_end(o);
}

static void section_trend(const out2 *o, const rep_model *m, const rep_chart *c)
{
    heading(o, 2, "trend", "2. Delivery rate across runs");
    const rep_trend *t = &m->trend;
    if (!c) {
        para(o, "No sweeps to follow across runs.");
        return;
    }
    char text[200];
    snprintf(text, sizeof text,
             "The last %zu recorded runs, %s profile, delivery rate in %% per scenario.", t->nruns,
             m->trend_profile);
    para(o, text);
    figure(o, c);
    const char **cols = calloc(t->nscen + 1, sizeof *cols);
    char *num = calloc(t->nscen + 2, 1);
    if (!cols || !num) {
        free(cols);
        free(num);
        return;
    }
    cols[0] = "run";
    num[0] = 'l';
    for (size_t s = 0; s < t->nscen; s++) {
        cols[s + 1] = t->scen[s];
        num[s + 1] = 'n';
    }
    table_head(o, cols, t->nscen + 1, num);
    for (size_t r = 0; r < t->nruns; r++) {
        const rep_run_info *ri = &t->runs[r];
        row_begin(o);
        cellf(o, 0, NULL, "#%" PRId64 "%s%s%s", ri->id, ri->label[0] ? " " : "", ri->label,
              ri->incomplete ? " (incomplete)" : "");
        for (size_t s = 0; s < t->nscen; s++) {
            double v = t->rate[r * t->nscen + s];
            if (isnan(v))
                cell(o, 1, NULL, "-");
            else
                cellf(o, 1, NULL, "%.2f", 100 * v);
        }
        row_end(o);
    }
    table_end(o);
    free(cols);
    free(num);
}

static void section_outcomes(const out2 *o, const rep_model *m, const rep_chart *cl,
                             const rep_chart *cf)
{
    heading(o, 2, "outcomes", "3. Outcome of expected events");
    if (!cl && !cf) {
        para(o, "No sweeps to break down.");
        return;
    }
    para(o, "What happened to every event a client had to receive, in % of expected: "
            "delivered within the deadline, late, or lost and how the core accounted for it "
            "(silent loss: never reported).");
    const rep_chart *cs[2] = {cl, cf};
    const char *prof[2] = {"legacy", "fixed"};
    for (int p = 0; p < 2; p++) {
        if (!cs[p])
            continue;
        char t[64];
        snprintf(t, sizeof t, "%s profile", prof[p]);
        heading(o, 3, prof[p], t);
        figure(o, cs[p]);
        static const char *const cols[] = {
            "scenario",        "expected",        "delivered %",      "late %",
            "client told %",   "core reported %", "transport lost %", "in flight at close %",
            "never started %", "silent %"};
        _Static_assert(SIM_CAUSE__N == 6, "one column per loss cause");
        table_head(o, cols, 10, "lnnnnnnnnn");
        for (size_t i = 0; i < m->nscen; i++) {
            const rep_sweep *w = p ? m->fixed[i] : m->legacy[i];
            if (!w)
                continue;
            const uint64_t *c = w->r.c;
            double e = c[SIM_COUNT_EXPECTED] ? (double)c[SIM_COUNT_EXPECTED] : 1.0;
            uint64_t v[2 + SIM_CAUSE__N] = {c[SIM_COUNT_DELIVERED], c[SIM_COUNT_LATE]};
            for (int x = 0; x < SIM_CAUSE__N; x++)
                v[2 + x] = c[sim_cause_count(x)];
            row_begin(o);
            cell(o, 0, NULL, m->scen[i]);
            cellf(o, 1, NULL, "%" PRIu64, c[SIM_COUNT_EXPECTED]);
            for (int x = 0; x < 2 + SIM_CAUSE__N; x++)
                cellf(o, 1, x == 1 + SIM_CAUSE__N && v[x] ? "fail" : NULL, "%.2f",
                      100.0 * (double)v[x] / e);
            row_end(o);
        }
        table_end(o);
    }
}

static void section_latency(const out2 *o, const rep_model *m, const rep_chart *c)
{
    heading(o, 2, "latency", "4. Delivery latency (fixed profile)");
    if (!c) {
        para(o, "No delivery latencies recorded for the fixed profile.");
        return;
    }
    para(o, "Cumulative distribution of the delay from emission to reception, per scenario, "
            "from the log-bucketed histograms (relative error <= 12.5%).");
    figure(o, c);
    static const char *const cols[] = {"scenario", "received", "p50 ms",
                                       "p90 ms",   "p99 ms",   "max ms"};
    table_head(o, cols, 6, "lnnnnn");
    char b[64];
    for (size_t i = 0; i < m->nscen; i++) {
        const rep_sweep *w = m->fixed[i];
        if (!w)
            continue;
        row_begin(o);
        cell(o, 0, NULL, m->scen[i]);
        cellf(o, 1, NULL, "%" PRIu64, w->r.latency.count);
        ms_text(b, sizeof b, w->r.p50);
        cell(o, 1, NULL, b);
        ms_text(b, sizeof b, w->r.p90);
        cell(o, 1, NULL, b);
        ms_text(b, sizeof b, w->r.p99);
        cell(o, 1, NULL, b);
        ms_text(b, sizeof b, w->r.pmax);
        cell(o, 1, NULL, b);
        row_end(o);
    }
    table_end(o);
}

static void section_ablation(const out2 *o, const rep_model *m, const rep_chart *c)
{
    heading(o, 2, "ablation", "5. Ablation matrix");
    if (!c) {
        para(o, "No ablation sweeps recorded (sweeps with one fix switched off).");
        return;
    }
    char text[256];
    if (m->abl_run != m->run.id)
        snprintf(text, sizeof text,
                 "From run #%" PRId64 ", the latest run with ablation sweeps. Delivery rate in "
                 "%% with each fix switched off in turn (none: every fix on).",
                 m->abl_run);
    else
        snprintf(text, sizeof text,
                 "Delivery rate in %% with each fix switched off in turn "
                 "(none: every fix on).");
    para(o, text);
    figure(o, c);
    const char *cols[REP_FIXES + 2];
    cols[0] = "scenario";
    for (int k = 0; k <= REP_FIXES; k++)
        cols[k + 1] = fix_names[k];
    table_head(o, cols, REP_FIXES + 2, "lnnnnnnnnnn");
    for (size_t s = 0; s < m->abl_nscen; s++) {
        row_begin(o);
        cell(o, 0, NULL, m->abl_scen[s]);
        for (int k = 0; k <= REP_FIXES; k++) {
            const rep_sweep *w = m->abl[s * (REP_FIXES + 1) + (size_t)k];
            if (w)
                cellf(o, 1, NULL, "%.2f", 100 * w->r.delivery_rate);
            else
                cell(o, 1, NULL, "-");
        }
        row_end(o);
    }
    table_end(o);
}

/* One listed seed: its replay line and why it is listed. */
typedef struct listed {
    char replay[1400];
    char why[400];
} listed;

/* The longest run of backticks in s. */
static size_t backtick_run(const char *s)
{
    size_t best = 0, cur = 0;
    for (; *s; s++) {
        cur = *s == '`' ? cur + 1 : 0;
        if (cur > best)
            best = cur;
    }
    return best;
}

static void section_failures(const out2 *o, rep_store *s, const rep_model *m)
{
    heading(o, 2, "failures", "Failing and worst seeds");
    int any = 0;
    size_t info = 0;
    listed *l = calloc(FAILURES_SHOWN, sizeof *l);
    if (!l)
        return;
    for (size_t i = 0; i < m->nsw; i++) {
        const rep_sweep *w = &m->sw[i];
        if (w->r.role != SIM_ROLE_GATE) {
            info += w->r.failed_seeds > 0;
            continue; /* informational: in the failures table */
        }
        rep_failure *f = NULL;
        size_t n = 0, total = 0, nworst = 0, wtotal = 0;
        if (rep_failures_load(s, w->id, FAILURES_SHOWN, &f, &n, &total) != 0)
            n = total = 0;
        for (size_t k = 0; k < n; k++) {
            snprintf(l[k].replay, sizeof l[k].replay, "%s", f[k].replay);
            if (strncmp(f[k].detail, f[k].kind, strlen(f[k].kind)) == 0)
                snprintf(l[k].why, sizeof l[k].why, "%s", f[k].detail);
            else
                snprintf(l[k].why, sizeof l[k].why, "%s: %s", f[k].kind, f[k].detail);
        }
        free(f);
        wtotal = w->r.worst_seeds;
        total = total > wtotal ? total - wtotal : 0;
        (void)nworst;
        size_t shown = n;
        if (shown == 0)
            continue;
        if (!any++) {
            para(o, "Each line reproduces one seed of a gate sweep: failing seeds first, then "
                    "the worst (lowest delivery rate; not failures: the rate is judged per "
                    "sweep). sqlite3: SELECT replay FROM failures lists every failing seed.");
        }
        char t[400];
        snprintf(t, sizeof t, "%s / %s%s%s: %zu failing, %zu worst seeds%s", w->r.scenario,
                 w->r.profile, w->r.policy[0] ? " / " : "", w->r.policy, total, wtotal,
                 total + wtotal > shown ? " (first ones shown)" : "");
        hf(o, "<h3>");
        h(o, t);
        hf(o, "</h3>\n<pre>");
        mf(o, "\n**");
        md(o, t);
        mf(o, "**\n\n");
        /* A fence longer than any run of backticks inside: the lines are
         * copied verbatim, so a pasted line is the command itself. */
        size_t fence = 3;
        for (size_t k = 0; k < shown; k++) {
            size_t r = backtick_run(l[k].replay);
            if (r + 1 > fence)
                fence = r + 1;
        }
        for (size_t k = 0; k < fence; k++)
            mf(o, "`");
        mf(o, "sh\n");
        for (size_t k = 0; k < shown; k++) {
            /* the comment stays on its line: no newline, no backtick fence */
            for (char *p = l[k].why; *p; p++)
                if (*p == '\n' || *p == '\r' || *p == '`')
                    *p = ' ';
            h(o, l[k].replay);
            hf(o, "   # ");
            h(o, l[k].why);
            hf(o, "\n");
            mf(o, "%s   # %s\n", l[k].replay, l[k].why);
        }
        hf(o, "</pre>\n");
        for (size_t k = 0; k < fence; k++)
            mf(o, "`");
        mf(o, "\n");
    }
    free(l);
    if (!any)
        para(o, "No seed of a gate sweep failed or fell below its scenario's rate.");
    if (info) {
        char t[200];
        snprintf(t, sizeof t,
                 "Not listed: the failing seeds of %zu informational sweeps (legacy, ablation); "
                 "they are in the failures table.",
                 info);
        para(o, t);
    }
}

int rep_report_write(rep_store *s, const rep_model *m, const rep_chart *charts, size_t ncharts,
                     const char *dir, char *err, size_t errlen)
{
    char hp[4096], mp[4096];
    snprintf(hp, sizeof hp, "%s/index.html", dir);
    snprintf(mp, sizeof mp, "%s/summary.md", dir);
    out2 o = {fopen(hp, "w"), fopen(mp, "w")};
    if (!o.h || !o.md) {
        snprintf(err, errlen, "%s: %s", o.h ? mp : hp, strerror(errno));
        if (o.h)
            fclose(o.h);
        if (o.md)
            fclose(o.md);
        return -1;
    }
    char title[256];
    snprintf(title, sizeof title, "ctxsim report: run #%" PRId64 "%s%.128s", m->run.id,
             m->run.label[0] ? ", " : "", m->run.label);
    hf(&o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>");
    h(&o, title);
    hf(&o, "</title>\n<style>\n"
           "body { font-family: sans-serif; margin: 1em auto; max-width: 1400px; padding: 0 1em; "
           "color: #222; }\n"
           "table { border-collapse: collapse; font-size: 13px; margin: .5em 0 1.5em; }\n"
           "th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; "
           "white-space: nowrap; }\n"
           "th { background: #f2f2f2; }\n"
           ".l { text-align: left; }\n"
           ".fail { color: #b00; font-weight: bold; }\n"
           ".pass { color: #070; }\n"
           ".inconclusive { color: #a60; font-weight: bold; }\n"
           ".warn { background: #fee; border: 1px solid #b00; padding: .5em; }\n"
           "figure { margin: 1em 0; }\n"
           "img { max-width: 100%%; border: 1px solid #eee; }\n"
           "pre { background: #f6f6f6; padding: .5em; overflow-x: auto; }\n"
           "nav a { margin-right: 1em; }\n"
           "</style>\n</head>\n<body>\n<h1>");
    h(&o, title);
    hf(&o, "</h1>\n<nav><a href=\"#results\">results</a><a href=\"#rate\">delivery rate</a>"
           "<a href=\"#trend\">trend</a><a href=\"#outcomes\">outcomes</a>"
           "<a href=\"#latency\">latency</a><a href=\"#ablation\">ablation</a>"
           "<a href=\"#failures\">failing seeds</a></nav>\n");
    mf(&o, "# ");
    md(&o, title);
    mf(&o, "\n");
    section_run(&o, m);
    section_results(&o, m);
    section_rate(&o, m, find_chart(charts, ncharts, "rate"));
    section_trend(&o, m, find_chart(charts, ncharts, "trend"));
    section_outcomes(&o, m, find_chart(charts, ncharts, "outcomes_legacy"),
                     find_chart(charts, ncharts, "outcomes_fixed"));
    section_latency(&o, m, find_chart(charts, ncharts, "latency_cdf"));
    section_ablation(&o, m, find_chart(charts, ncharts, "ablation"));
    section_failures(&o, s, m);
    hf(&o, "<p><small>Written by ctxsim report. Query the numbers with: sqlite3 "
           "results.db</small></p>\n</body>\n</html>\n");
    int bad = ferror(o.h) || ferror(o.md);
    bad |= fclose(o.h) != 0;
    bad |= fclose(o.md) != 0;
    if (bad) {
        snprintf(err, errlen, "%s: write error", dir);
        return -1;
    }
    return 0;
}

/* ---- the command --------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ctxsim report [--db PATH] [--out DIR] [--run ID|LABEL]\n"
            "\n"
            "Draws the charts of a recorded run with gnuplot (PNG and SVG): delivery rate per\n"
            "scenario (legacy beside fixed, with the gate line), delivery rate across runs,\n"
            "outcome breakdown, delivery-latency CDF and the ablation matrix; then writes\n"
            "DIR/index.html and DIR/summary.md with the numbers behind every chart.\n"
            "\n"
            "  --db PATH        results database (default %s)\n"
            "  --out DIR        output directory (default %s)\n"
            "  --run ID|LABEL   the run to report (default: the latest)\n"
            "\n"
            "Needs gnuplot (Debian/Ubuntu package %s).\n"
            "The database is opened read-only and checked with PRAGMA quick_check first.\n"
            "Exit: 0 written, 2 bad usage or input, or the report could not be produced,\n"
            "3 the database could not be read (I/O error, damaged, unreadable).\n",
            REP_DEFAULT_DB, REP_DEFAULT_REPORT_DIR, REP_GNUPLOT_PACKAGE);
}

int rep_cmd_report(int argc, char **argv)
{
    const char *db = REP_DEFAULT_DB, *dir = REP_DEFAULT_REPORT_DIR, *run_spec = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int mt;
        if (rep_is_help(argv[i])) {
            usage(stdout);
            return REP_EXIT_OK;
        }
        if ((mt = rep_opt(argc, argv, &i, "--db", &v)) != 0) {
            if (mt < 0)
                return REP_EXIT_USAGE;
            db = v;
        } else if ((mt = rep_opt(argc, argv, &i, "--out", &v)) != 0) {
            if (mt < 0)
                return REP_EXIT_USAGE;
            dir = v;
        } else if ((mt = rep_opt(argc, argv, &i, "--run", &v)) != 0) {
            if (mt < 0)
                return REP_EXIT_USAGE;
            run_spec = v;
        } else {
            fprintf(stderr, "ctxsim report: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return REP_EXIT_USAGE;
        }
    }
    if (!*dir || !*db) {
        fprintf(stderr, "ctxsim report: empty --db or --out\n");
        return REP_EXIT_USAGE;
    }
    char err[1024];
    char gp[4096];
    rep_store *s = NULL;
    int orc = rep_store_open_readonly(db, &s, err, sizeof err);
    if (orc != 0) {
        fprintf(stderr, "ctxsim report: %s%s\n", err,
                orc == -ENOENT ? " (record one with `ctxsim run` first)" : "");
        return rep_store_exit_code(orc);
    }
    int code = REP_EXIT_USAGE;
    rep_model m;
    memset(&m, 0, sizeof m);
    int64_t run = 0;
    int rc = rep_run_resolve(s, run_spec, &run);
    if (rc == -ENOENT) {
        if (run_spec)
            fprintf(stderr, "ctxsim report: no run '%s' in %s\n", run_spec, db);
        else
            fprintf(stderr,
                    "ctxsim report: %s is empty: no runs recorded (record one with "
                    "`ctxsim run` first)\n",
                    db);
        goto out;
    }
    if (rc == 0)
        rc = rep_model_load(s, run, &m);
    if (rc != 0) {
        fprintf(stderr, "ctxsim report: %s: cannot read the results: %s\n", db,
                rc == -ENOMEM ? "out of memory" : rep_store_errmsg(s));
        code = rep_store_exit_code(rc);
        goto out;
    }
    if (m.nsw == 0) {
        fprintf(stderr,
                "ctxsim report: run #%" PRId64 " in %s recorded no sweeps: nothing to "
                "report\n",
                run, db);
        goto out;
    }
    if (rep_gnuplot_find(gp, sizeof gp) != 0) {
        fprintf(stderr,
                "ctxsim report: gnuplot is not installed (not found in PATH); install it, on "
                "Debian/Ubuntu: apt-get install %s\n",
                REP_GNUPLOT_PACKAGE);
        goto out;
    }
    rc = rep_mkdir_p(dir);
    if (rc != 0) {
        fprintf(stderr, "ctxsim report: cannot create %s: %s\n", dir, strerror(-rc));
        goto out;
    }
    rep_chart charts[REP_CHART_MAX];
    size_t nch = 0;
    if (rep_charts_render(&m, dir, charts, &nch, err, sizeof err) != 0) {
        fprintf(stderr, "ctxsim report: %s\n", err);
        goto out;
    }
    if (rep_report_write(s, &m, charts, nch, dir, err, sizeof err) != 0) {
        fprintf(stderr, "ctxsim report: %s\n", err);
        goto out;
    }
    size_t drawn = 0;
    for (size_t i = 0; i < nch; i++)
        drawn += charts[i].drawn;
    printf("report: %s/index.html (run #%" PRId64 ", %zu sweeps, %zu charts)%s\n", dir, run, m.nsw,
           drawn, m.run.incomplete ? " - run incomplete" : "");
    code = REP_EXIT_OK;
out:
    fflush(stdout);
    rep_model_free(&m);
    rep_store_close(s);
    return code;
}
