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
#include "reports/gate.h"
#include "reports/replay.h"
#include "reports/svg.h"
#include "reports/text.h"
#include "sim/verdict.h"

#define FAILURES_SHOWN   10 /* replay lines per sweep in the report */
#define REP_SWEEPS_SHOWN 16 /* parameter sweeps drawn by default */

/* Output to HTML and Markdown at once: each helper writes both. */
typedef struct out2 {
    FILE *h, *md;
    const char *dir; /* where the charts are */
} out2;

/* out2_open creates DIR/html and DIR/md for writing into *o: 0, or -1
 * with the reason in err (neither file is left open). */
static int out2_open(out2 *o, const char *dir, const char *html, const char *md, char *err,
                     size_t errlen)
{
    char hp[4096], mp[4096];
    snprintf(hp, sizeof hp, "%s/%s", dir, html);
    snprintf(mp, sizeof mp, "%s/%s", dir, md);
    *o = (out2){fopen(hp, "w"), fopen(mp, "w"), dir};
    if (o->h && o->md)
        return 0;
    snprintf(err, errlen, "%s: %s", o->h ? mp : hp, strerror(errno));
    if (o->h)
        fclose(o->h);
    if (o->md)
        fclose(o->md);
    return -1;
}

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
    hf(o, "<div class=\"scroll\"><table>\n<tr>");
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
    if (cls && strncmp(cls, "fail", 4) == 0) {
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
    hf(o, "</table></div>\n");
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

/* A collapsed block in HTML (open when `open`), a bold line in Markdown. */
static void details_begin(const out2 *o, int open, const char *summary)
{
    hf(o, "<details%s><summary>", open ? " open=\"open\"" : "");
    h(o, summary);
    hf(o, "</summary>\n");
    mf(o, "\n**");
    md(o, summary);
    mf(o, "**\n");
}

static void details_end(const out2 *o)
{
    hf(o, "</details>\n");
}

/*
 * The chart inline (its SVG, ids prefixed with its name: the page needs no
 * other file) and, in Markdown, the PNG beside summary.md.
 */
static void figure(const out2 *o, const rep_chart *c)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s.svg", o->dir, c->name);
    hf(o, "<figure id=\"fig-%s\">\n", c->name);
    if (rep_svg_inline(o->h, p, c->name) != 0) {
        hf(o, "<p class=\"warn\">");
        h(o, "The chart could not be embedded: ");
        h(o, p);
        hf(o, "</p>\n");
    }
    hf(o, "<figcaption>");
    h(o, c->title);
    hf(o,
       ".%s Beside this page: %s.png, %s.svg, %s.dat (the numbers), %s.gp (redraw: gnuplot "
       "%s.gp).</figcaption></figure>\n",
       strncmp(c->name, "outcomes", 8) ? " Hover a point or cell for its numbers." : "", c->name,
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

/* The longest run of backticks in s. */
static size_t backtick_run(const char *s);

/* ---- the verdict ---------------------------------------------------------- */

/* The sweep of a gate row, NULL when it is missing from the run. */
static const sim_sweep_result *row_sweep(const rep_gate_decision *g, const rep_gate_row *r)
{
    for (size_t i = 0; r->has_now && i < g->nnow; i++)
        if (g->now[i].id == r->now_id)
            return &g->now[i].r;
    return NULL;
}

/* "scenario / profile[ / policy][ / F3 knob off]" */
static void row_name(char *buf, size_t len, const rep_gate_row *r)
{
    char fix[96] = "";
    if (r->ablated_fix > 0)
        snprintf(fix, sizeof fix, " / F%d %s off", r->ablated_fix, sim_fix_knob(r->ablated_fix));
    snprintf(buf, len, "%s / %s%s%.200s%s", r->scenario, r->profile, r->policy[0] ? " / " : "",
             r->policy, fix);
}

/* Why a failing row fails, in the gate's words. */
static void row_why(char *buf, size_t len, const rep_gate_decision *g, const rep_gate_row *r)
{
    size_t o = 0;
    buf[0] = '\0';
    if (r->verdict == REP_VERDICT_MISSING) {
        snprintf(buf, len, "missing: in baseline #%" PRId64 ", absent from this run", g->base.id);
        return;
    }
    if (r->verdict == REP_VERDICT_REGRESSION && r->role == SIM_ROLE_GATE) {
        int k = snprintf(buf, len,
                         "regression: %.2f%% -> %.2f%% (%+.2f pp; more than the tolerance, 95%% "
                         "intervals apart)%s",
                         100 * r->base_rate, 100 * r->now_rate, 100 * r->delta,
                         r->expect_pass ? "" : "; ");
        o = k > 0 && (size_t)k < len ? (size_t)k : len - 1;
    }
    if (!r->expect_pass)
        snprintf(buf + o, len - o, "%s: %s",
                 r->role == SIM_ROLE_GATE ? sim_verdict_name(r->sweep_verdict) : "ablation",
                 r->reason);
}

/*
 * The key ranking failing rows, most negative first: the distance of the
 * rate to the gate (pp), else the drop against the baseline, else 0.
 */
static double row_miss(const rep_gate_decision *g, const rep_gate_row *r)
{
    const sim_sweep_result *w = row_sweep(g, r);
    if (w && w->expect_rate >= 0 && w->c[SIM_COUNT_EXPECTED] > 0 &&
        w->delivery_rate < w->expect_rate)
        return 100 * (w->delivery_rate - w->expect_rate);
    if (r->verdict == REP_VERDICT_REGRESSION)
        return 100 * r->delta;
    return 0;
}

/* What the verdict block and the summary headline say, computed once. */
typedef struct headline {
    char title[400]; /* "FAIL: run #3 (x) fails the gate" */
    char gate[400];  /* how the gate was asked */
    char counts[400];
    char worst[1600]; /* the worst miss, or the smallest margin on a pass */
    char replay[1100];
    char replay_why[300];
} headline;

static void run_text(char *buf, size_t len, const rep_run_info *r)
{
    if (r->label[0])
        snprintf(buf, len, "#%" PRId64 " (%.128s)", r->id, r->label);
    else
        snprintf(buf, len, "#%" PRId64, r->id);
}

static void headline_build(rep_store *s, const rep_gate_decision *g, headline *hl)
{
    memset(hl, 0, sizeof *hl);
    char rn[200], bn[200];
    run_text(rn, sizeof rn, &g->run);
    run_text(bn, sizeof bn, &g->base);
    snprintf(hl->title, sizeof hl->title, "%s: run %s %s the gate", g->fail ? "FAIL" : "PASS", rn,
             g->fail ? "fails" : "passes");
    if (g->has_base)
        snprintf(hl->gate, sizeof hl->gate,
                 "As `ctxsim gate --run %" PRId64 " --baseline %" PRId64
                 " --tolerance %.4g` decides (exit %d): against baseline %s, every profile.",
                 g->run.id, g->base.id, g->tolerance, g->fail ? 1 : 0, bn);
    else
        snprintf(hl->gate, sizeof hl->gate,
                 "As `ctxsim gate --run %" PRId64 "` decides (exit %d): no baseline (no complete "
                 "run before it), expectations only.",
                 g->run.id, g->fail ? 1 : 0);
    size_t gp = 0, gf = 0, gi = 0, info = 0;
    for (size_t i = 0; i < g->nnow; i++) {
        const sim_sweep_result *r = &g->now[i].r;
        if (r->role != SIM_ROLE_GATE)
            info++;
        else if (r->verdict == SIM_VERDICT_PASS)
            gp++;
        else if (r->verdict == SIM_VERDICT_FAIL)
            gf++;
        else
            gi++;
    }
    snprintf(hl->counts, sizeof hl->counts,
             "%zu sweeps: %zu gate (%zu pass, %zu fail, %zu inconclusive), %zu informational; "
             "%zu failing the gate (%zu regression, %zu missing, %zu expectation failed), %zu "
             "noise",
             g->nnow, gp + gf + gi, gp, gf, gi, info, g->failing, g->cnt[REP_VERDICT_REGRESSION],
             g->cnt[REP_VERDICT_MISSING], g->expect_failed, g->cnt[REP_VERDICT_NOISE]);
    /* the worst miss; on a pass, the gate sweep closest to its gate */
    const rep_gate_row *best = NULL;
    double bk = INFINITY;
    for (size_t i = 0; i < g->nrows; i++) {
        const rep_gate_row *r = &g->rows[i];
        double k;
        if (g->failing) {
            if (!r->fails)
                continue;
            k = row_miss(g, r);
        } else {
            const sim_sweep_result *w = row_sweep(g, r);
            if (!w || w->role != SIM_ROLE_GATE || w->expect_rate < 0 ||
                w->c[SIM_COUNT_EXPECTED] == 0)
                continue;
            k = 100 * (w->delivery_rate - w->expect_rate);
        }
        if (!best || k < bk) {
            best = r;
            bk = k;
        }
    }
    char name[400], why[1100];
    if (best)
        row_name(name, sizeof name, best);
    const sim_sweep_result *bw = best ? row_sweep(g, best) : NULL;
    if (best && g->failing) {
        row_why(why, sizeof why, g, best);
        if (bw && bw->expect_rate >= 0 && bw->c[SIM_COUNT_EXPECTED] > 0)
            snprintf(hl->worst, sizeof hl->worst,
                     "%.400s: %.2f%% against a gate of %.4g%% (%+.2f pp); %.1000s", name,
                     100 * bw->delivery_rate, 100 * bw->expect_rate,
                     100 * (bw->delivery_rate - bw->expect_rate), why);
        else
            snprintf(hl->worst, sizeof hl->worst, "%.400s: %.1000s", name, why);
    } else if (g->failing) {
        snprintf(hl->worst, sizeof hl->worst, "none: no sweep fails; the run %s",
                 g->why ? g->why : "lost coverage");
    } else if (best && bw) {
        snprintf(hl->worst, sizeof hl->worst,
                 "none; the smallest margin: %s, %.2f%% against a gate of %.4g%% (%+.2f pp)", name,
                 100 * bw->delivery_rate, 100 * bw->expect_rate,
                 100 * (bw->delivery_rate - bw->expect_rate));
    } else {
        snprintf(hl->worst, sizeof hl->worst, "none");
    }
    /* the replay line of the worst miss, else of the first failing sweep with one */
    for (int pass = 0; pass < 2 && !hl->replay[0] && g->failing; pass++) {
        for (size_t i = 0; i < g->nrows && !hl->replay[0]; i++) {
            const rep_gate_row *r = &g->rows[i];
            if (pass == 0 ? r != best : !r->fails || r == best || !r->has_now)
                continue;
            rep_failure *f = NULL;
            size_t n = 0, total = 0;
            if (r->has_now && rep_failures_load(s, r->now_id, 1, &f, &n, &total) == 0 && n > 0) {
                snprintf(hl->replay, sizeof hl->replay, "%s", f[0].replay);
                snprintf(hl->replay_why, sizeof hl->replay_why, "%s: %s", f[0].kind, f[0].detail);
            }
            free(f);
        }
    }
}

/* The one-screen verdict that opens index.html. */
static void section_verdict(const out2 *o, const rep_gate_decision *g, const headline *hl)
{
    hf(o, "<section id=\"verdict\" class=\"verdict %s\">\n<h2 class=\"big\">",
       g->fail ? "v-fail" : "v-pass");
    h(o, hl->title);
    hf(o, "</h2>\n<p>");
    h(o, hl->gate);
    hf(o, "</p>\n<p><b>Counts</b>: ");
    h(o, hl->counts);
    hf(o, "</p>\n");
    if (g->fail) {
        hf(o, "<h3>What failed and why</h3>\n<ul class=\"why\">\n");
        if (g->why) {
            hf(o, "<li><b>the run</b> ");
            h(o, g->why);
            hf(o, "</li>\n");
        }
        if (g->cov_lost) {
            char t[1200];
            snprintf(t, sizeof t,
                     "%d behaviour(s) the baseline exercised are no longer exercised: %s",
                     g->cov_lost, g->cov_lost_names);
            hf(o, "<li><b>coverage</b>: ");
            h(o, t);
            hf(o, "</li>\n");
        }
        size_t shown = 0;
        for (size_t i = 0; i < g->nrows; i++) {
            const rep_gate_row *r = &g->rows[i];
            if (!r->fails || shown++ >= 8)
                continue;
            char name[400], why[1100];
            row_name(name, sizeof name, r);
            row_why(why, sizeof why, g, r);
            hf(o, "<li><b>");
            h(o, name);
            hf(o, "</b>: ");
            h(o, why);
            hf(o, "</li>\n");
        }
        if (shown > 8)
            hf(o, "<li>and %zu more: see the open groups of the table below</li>\n", shown - 8);
        hf(o, "</ul>\n");
    }
    hf(o, "<p><b>Worst miss</b>: ");
    h(o, hl->worst);
    hf(o, "</p>\n<p><b>Replay</b>%s</p>\n",
       hl->replay[0] ? " (paste it in the directory of the run):"
                     : ": none, no failing sweep has a seed to replay");
    if (hl->replay[0]) {
        hf(o, "<pre class=\"replay\" id=\"replay\">");
        h(o, hl->replay);
        hf(o, "</pre>\n<p class=\"small\"># ");
        h(o, hl->replay_why);
        hf(o, "</p>\n");
    }
    hf(o, "</section>\n");
}

/* The five lines that open summary.md. */
static void md_headline(const out2 *o, const headline *hl)
{
    mf(o, "# ");
    md(o, hl->title);
    mf(o, "\n- **Counts**: ");
    md(o, hl->counts);
    mf(o, "\n- **Worst miss**: ");
    md(o, hl->worst);
    if (hl->replay[0]) {
        size_t fence = backtick_run(hl->replay) + 1;
        mf(o, "\n- **Replay**: ");
        for (size_t k = 0; k < fence; k++)
            mf(o, "`");
        mf(o, " %s ", hl->replay);
        for (size_t k = 0; k < fence; k++)
            mf(o, "`");
    } else {
        mf(o, "\n- **Replay**: none, no failing sweep has a seed to replay");
    }
    mf(o, "\n- **Full report**: index.html beside this file (one self-contained page: the "
          "verdict, the charts, every sweep); the charts as PNG and SVG beside it\n");
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
    static const char *const cols[] = {"run",          "label",   "mode",
                                       "status",       "started", "git revision",
                                       "tool version", "shard",   "arguments"};
    table_head(o, cols, 9, "nllllllll");
    row_begin(o);
    cellf(o, 1, NULL, "#%" PRId64, r->id);
    cell(o, 0, NULL, r->label[0] ? r->label : "-");
    /* real: ctxsim drive, real WebSocket clients against a server */
    cell(o, 0, NULL, strcmp(r->mode, "real") == 0 ? "real (ctxsim drive)" : "simulated");
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

/* The group of the full table a sweep belongs to: its profile, and whether
 * a fix is switched off (the ablation matrix). */
static int same_group(const sim_sweep_result *a, const sim_sweep_result *b)
{
    return strcmp(a->profile, b->profile) == 0 && (a->ablated_fix > 0) == (b->ablated_fix > 0);
}

static void results_table(const out2 *o, const rep_model *m, const sim_sweep_result *g)
{
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
        if (!same_group(r, g))
            continue;
        const uint64_t *c = r->c;
        row_begin(o);
        cell(o, 0, NULL, r->scenario);
        cell(o, 0, NULL, r->profile);
        policy_text(b, sizeof b, r);
        cell(o, 0, NULL, b);
        if (r->ablated_fix > 0)
            cellf(o, 0, NULL, "F%d %s", r->ablated_fix, sim_fix_knob(r->ablated_fix));
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
            cellf(o, 0, cls ? "fail wrap" : "wrap", "%s: %s", sim_sweep_outcome(r), r->reason);
        else if (r->role == SIM_ROLE_GATE)
            cell(o, 0, cls, sim_sweep_outcome(r));
        else
            cellf(o, 0, cls && !strcmp(cls, "fail") ? "fail wrap" : "wrap", "%s: %s%s%s",
                  sim_sweep_outcome(r), r->note, r->reason[0] ? "; missed: " : "", r->reason);
        row_end(o);
    }
    table_end(o);
}

/*
 * Every sweep, one collapsed table per group (profile, and the ablation
 * matrix apart); a group holding a sweep that fails CI is open.
 */
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
             "with the 95%% Wilson interval; latency in ms. Grouped by profile; a group with a "
             "sweep that fails CI is open.",
             m->nsw, failing, info);
    para(o, text);
    /* groups in order: without a fix off first, then the ablation sweeps */
    for (int abl = 0; abl < 2; abl++) {
        for (size_t i = 0; i < m->nsw; i++) {
            const sim_sweep_result *r = &m->sw[i].r;
            if ((r->ablated_fix > 0) != abl)
                continue;
            size_t j = 0;
            while (j < i && !same_group(&m->sw[j].r, r))
                j++;
            if (j < i)
                continue; /* not the group's first sweep */
            size_t n = 0, nf = 0, ng = 0;
            for (size_t k = i; k < m->nsw; k++) {
                if (!same_group(&m->sw[k].r, r))
                    continue;
                n++;
                nf += m->sw[k].r.fails_ci != 0;
                ng += m->sw[k].r.role == SIM_ROLE_GATE;
            }
            char sum[200];
            snprintf(sum, sizeof sum, "%s%s: %zu sweeps (%zu gate, %zu informational), %zu %s",
                     r->profile, abl ? ", one fix off (ablation matrix)" : "", n, ng, n - ng, nf,
                     nf ? "FAIL CI" : "failing CI");
            details_begin(o, nf > 0, sum);
            results_table(o, m, r);
            details_end(o);
        }
    }
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
    details_begin(o, 0, "The numbers behind the chart");
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
    details_end(o);
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
    details_begin(o, 0, "The numbers behind the chart");
    table_head(o, cols, t->nscen + 1, num);
    for (size_t r = 0; r < t->nruns; r++) {
        const rep_run_info *ri = &t->runs[r];
        row_begin(o);
        cellf(o, 0, NULL, "#%" PRId64 "%s%s%s%s", ri->id, ri->label[0] ? " " : "", ri->label,
              strcmp(ri->mode, "real") == 0 ? " (real)" : "",
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
    details_end(o);
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
        details_begin(o, 0, "The numbers behind the chart");
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
        details_end(o);
    }
}

static void section_latency(const out2 *o, const rep_model *m, const rep_chart *c)
{
    heading(o, 2, "latency", "4. Delivery latency (fixed and legacy)");
    if (!c) {
        para(o, "No delivery latencies recorded for the fixed profile.");
        return;
    }
    para(o, "Cumulative distribution of the delay from emission to reception, one panel per "
            "scenario: fixed solid blue, legacy dashed orange, the scenario's deadline (from its "
            "file) dotted red; from the log-bucketed histograms (relative error <= 12.5%). The "
            "table: the fixed profile.");
    figure(o, c);
    static const char *const cols[] = {"scenario", "received", "p50 ms",
                                       "p90 ms",   "p99 ms",   "max ms"};
    details_begin(o, 0, "The numbers behind the chart");
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
    details_end(o);
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
    char knob[REP_FIXES + 1][80];
    cols[0] = "scenario";
    cols[1] = "none";
    for (int k = 1; k <= REP_FIXES; k++) {
        snprintf(knob[k], sizeof knob[k], "F%d %s", k, sim_fix_knob(k));
        cols[k + 1] = knob[k];
    }
    details_begin(o, 0, "The numbers behind the chart");
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
    details_end(o);
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
            rep_comment_line(l[k].why);
            for (char *p = l[k].why; *p; p++)
                if (*p == '`')
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

int rep_report_write(rep_store *s, const rep_model *m, const rep_gate_decision *g,
                     const rep_chart *charts, size_t ncharts, const char *dir, char *err,
                     size_t errlen)
{
    out2 o;
    if (out2_open(&o, dir, "index.html", "summary.md", err, errlen) != 0)
        return -1;
    headline hl;
    headline_build(s, g, &hl);
    char title[256];
    snprintf(title, sizeof title, "ctxsim report: run #%" PRId64 "%s%.128s", m->run.id,
             m->run.label[0] ? ", " : "", m->run.label);
    hf(&o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>");
    h(&o, g->fail ? "FAIL - " : "PASS - ");
    h(&o, title);
    hf(&o, "</title>\n<style>\n"
           "body { font-family: sans-serif; margin: 0 auto; max-width: 1400px; padding: 0 1em; "
           "color: #222; box-sizing: border-box; }\n"
           "h1 { font-size: 1.3em; margin: .6em 0 .3em; overflow-wrap: anywhere; }\n"
           ".verdict { border: 3px solid; border-radius: 6px; padding: .2em 1em .6em; "
           "margin: .5em 0 1em; overflow-wrap: anywhere; }\n"
           ".verdict.v-fail { border-color: #b00; background: #fff5f5; }\n"
           ".verdict.v-pass { border-color: #070; background: #f4fff4; }\n"
           ".verdict .big { font-size: 1.6em; margin: .3em 0; }\n"
           ".verdict.v-fail .big { color: #b00; }\n.verdict.v-pass .big { color: #070; }\n"
           ".verdict h3 { margin: .6em 0 .2em; font-size: 1em; }\n"
           ".verdict ul { margin: .2em 0; padding-left: 1.4em; }\n"
           ".verdict p { margin: .35em 0; }\n"
           "pre.replay { background: #222; color: #fff; padding: .5em .7em; white-space: pre-wrap; "
           "overflow-wrap: anywhere; font-size: 14px; margin: .2em 0; }\n"
           ".small { font-size: 12px; color: #555; }\n"
           ".scroll { overflow-x: auto; max-width: 100%; }\n"
           "table { border-collapse: collapse; font-size: 13px; margin: .5em 0 1.5em; }\n"
           "th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; "
           "white-space: nowrap; }\n"
           "th { background: #f2f2f2; }\n"
           ".l { text-align: left; }\n"
           "td.wrap { white-space: normal; min-width: 22em; max-width: 40em; }\n"
           ".fail { color: #b00; font-weight: bold; }\n"
           ".pass { color: #070; }\n"
           ".inconclusive { color: #a60; font-weight: bold; }\n"
           ".warn { background: #fee; border: 1px solid #b00; padding: .5em; }\n"
           "figure { margin: 1em 0; }\n"
           "svg.chart { display: block; width: 100%; height: auto; }\n"
           "figcaption { font-size: 12px; color: #555; }\n"
           "details { margin: .4em 0; }\n"
           "summary { cursor: pointer; font-weight: bold; }\n"
           "pre { background: #f6f6f6; padding: .5em; overflow-x: auto; }\n"
           "nav { display: flex; flex-wrap: wrap; gap: .3em 1em; margin: .5em 0; }\n"
           "</style>\n</head>\n<body>\n<h1>");
    h(&o, title);
    hf(&o, "</h1>\n");
    section_verdict(&o, g, &hl);
    hf(&o,
       "<nav><a href=\"#rate\">delivery rate</a><a href=\"#trend\">trend</a>"
       "<a href=\"#outcomes\">outcomes</a><a href=\"#latency\">latency</a>"
       "<a href=\"#ablation\">ablation</a><a href=\"#results\">every sweep</a>"
       "<a href=\"#failures\">failing seeds</a>%s</nav>\n",
       m->sweeps_page ? "<a href=\"sweeps.html\">parameter sweeps</a>" : "");
    md_headline(&o, &hl);
    if (m->sweeps_page)
        mf(&o, "\nParameter sweeps: [sweeps.md](sweeps.md)\n");
    mf(&o, "\n## ");
    md(&o, title);
    mf(&o, "\n");
    section_run(&o, m);
    section_rate(&o, m, find_chart(charts, ncharts, "rate"));
    section_trend(&o, m, find_chart(charts, ncharts, "trend"));
    section_outcomes(&o, m, find_chart(charts, ncharts, "outcomes_legacy"),
                     find_chart(charts, ncharts, "outcomes_fixed"));
    section_latency(&o, m, find_chart(charts, ncharts, "latency_cdf"));
    section_ablation(&o, m, find_chart(charts, ncharts, "ablation"));
    section_results(&o, m);
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
            "usage: ctxsim report [--db PATH] [--out DIR] [--run ID|LABEL] [--baseline ID|LABEL]\n"
            "                     [--tolerance X] [--sweep ID]\n"
            "\n"
            "Draws the charts of a recorded run with gnuplot (PNG and SVG): delivery rate per\n"
            "scenario (legacy beside fixed, with the gate line), delivery rate across runs,\n"
            "outcome breakdown, delivery-latency CDF and the ablation matrix; then writes\n"
            "DIR/index.html (one self-contained page: it opens with the gate's verdict, what\n"
            "failed and why and the replay line to paste, then the charts inline and every\n"
            "sweep) and DIR/summary.md (a five-line headline, then the same in Markdown).\n"
            "\n"
            "  --db PATH        results database (default %s)\n"
            "  --out DIR        output directory (default %s)\n"
            "  --run ID|LABEL   the run to report (default: the latest)\n"
            "  --baseline ID|LABEL, --tolerance X\n"
            "                   the verdict as `ctxsim gate` with these decides (default: its\n"
            "                   defaults, the latest complete run before and %.2f)\n"
            "  --sweep ID       the parameter sweep to draw (default: the latest of every\n"
            "                   scenario and parameter), into DIR/sweeps.html and sweeps.md\n"
            "\n"
            "Needs gnuplot (Debian/Ubuntu package %s).\n"
            "The database is opened read-only and checked with PRAGMA quick_check first.\n"
            "Exit: 0 written, 2 bad usage or input, or the report could not be produced,\n"
            "3 the database could not be read (I/O error, damaged, unreadable).\n",
            REP_DEFAULT_DB, REP_DEFAULT_REPORT_DIR, REP_GATE_DEFAULT_TOLERANCE,
            REP_GNUPLOT_PACKAGE);
}

int rep_cmd_report(int argc, char **argv)
{
    const char *db = REP_DEFAULT_DB, *dir = REP_DEFAULT_REPORT_DIR, *run_spec = NULL,
               *base_spec = NULL, *tol_s = NULL;
    const char *sweep_spec = NULL;
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
        } else if ((mt = rep_opt(argc, argv, &i, "--sweep", &v)) != 0) {
            if (mt < 0)
                return REP_EXIT_USAGE;
            sweep_spec = v;
        } else if ((mt = rep_opt(argc, argv, &i, "--baseline", &v)) != 0) {
            if (mt < 0)
                return REP_EXIT_USAGE;
            base_spec = v;
        } else if ((mt = rep_opt(argc, argv, &i, "--tolerance", &v)) != 0) {
            if (mt < 0)
                return REP_EXIT_USAGE;
            tol_s = v;
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
    double tol = REP_GATE_DEFAULT_TOLERANCE;
    if (tol_s) {
        char *end = NULL;
        errno = 0;
        tol = strtod(tol_s, &end);
        if (errno || end == tol_s || *end || !(tol >= 0 && tol <= 1)) {
            fprintf(stderr, "ctxsim report: --tolerance '%s' is not a number in [0, 1]\n", tol_s);
            return REP_EXIT_USAGE;
        }
    }
    char err[1024];
    char gp[4096];
    rep_gate_decision gd;
    memset(&gd, 0, sizeof gd);
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
    int64_t sweep_ids[REP_SWEEPS_SHOWN];
    size_t nps = 0;
    rep_psweep *ps = NULL;
    rep_chart(*pch)[REP_SWEEP_CHART_MAX] = NULL;
    size_t *pnch = NULL;
    if (sweep_spec) {
        char *end;
        long long x = strtoll(sweep_spec, &end, 10);
        if (*end || x <= 0) {
            fprintf(stderr, "ctxsim report: --sweep expects a sweep id, got '%s'\n", sweep_spec);
            goto out;
        }
        sweep_ids[nps++] = x;
    } else if (rep_psweep_list(s, sweep_ids, REP_SWEEPS_SHOWN, &nps) != 0) {
        fprintf(stderr, "ctxsim report: %s: cannot read the parameter sweeps\n", db);
        goto out;
    }
    int64_t run = 0;
    int rc = rep_run_resolve(s, run_spec, &run);
    int runs = 1;
    if (rc == -ENOENT && !run_spec && nps) {
        runs = 0;
    } else if (rc == -ENOENT) {
        if (run_spec)
            fprintf(stderr, "ctxsim report: no run '%s' in %s\n", run_spec, db);
        else
            fprintf(stderr,
                    "ctxsim report: %s is empty: no runs recorded (record one with "
                    "`ctxsim run` first)\n",
                    db);
        goto out;
    }
    int64_t base = REP_GATE_DEFAULT_BASELINE;
    if (runs && rc == 0 && base_spec && rep_run_resolve(s, base_spec, &base) == -ENOENT) {
        fprintf(stderr, "ctxsim report: no baseline run '%s' in %s\n", base_spec, db);
        goto out;
    }
    if (runs && rc == 0)
        rc = rep_model_load(s, run, &m);
    if (runs && rc == 0)
        rc = rep_gate_decide(s, run, base, tol, NULL, &gd);
    if (runs && rc != 0) {
        fprintf(stderr, "ctxsim report: %s: cannot read the results: %s\n", db,
                rc == -ENOMEM ? "out of memory" : rep_store_errmsg(s));
        code = rep_store_exit_code(rc);
        goto out;
    }
    if (runs && m.nsw == 0 && !nps) {
        fprintf(stderr,
                "ctxsim report: run #%" PRId64 " in %s recorded no sweeps: nothing to "
                "report\n",
                run, db);
        goto out;
    }
    if (runs && m.nsw == 0)
        runs = 0;
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
    if (nps) {
        ps = calloc(nps, sizeof *ps);
        pch = calloc(nps, sizeof *pch);
        pnch = calloc(nps, sizeof *pnch);
        if (!ps || !pch || !pnch) {
            fprintf(stderr, "ctxsim report: out of memory\n");
            goto out;
        }
        size_t drawn = 0;
        for (size_t i = 0; i < nps; i++) {
            char stem[32];
            rc = rep_psweep_load(s, sweep_ids[i], &ps[i]);
            if (rc != 0) {
                fprintf(stderr, "ctxsim report: no parameter sweep %" PRId64 " in %s\n",
                        sweep_ids[i], db);
                goto out;
            }
            snprintf(stem, sizeof stem, "sweep%" PRId64, sweep_ids[i]);
            if (rep_sweep_charts_render(&ps[i].r, dir, stem, pch[i], &pnch[i], err, sizeof err) !=
                0) {
                fprintf(stderr, "ctxsim report: %s\n", err);
                goto out;
            }
            for (size_t k = 0; k < pnch[i]; k++)
                drawn += pch[i][k].drawn;
        }
        if (rep_sweep_report_write(dir, ps, nps, (const rep_chart(*)[REP_SWEEP_CHART_MAX])pch, pnch,
                                   err, sizeof err) != 0) {
            fprintf(stderr, "ctxsim report: %s\n", err);
            goto out;
        }
        printf("report: %s/sweeps.html (%zu parameter sweeps, %zu charts)\n", dir, nps, drawn);
        m.sweeps_page = 1;
    }
    if (runs) {
        rep_chart charts[REP_CHART_MAX];
        size_t nch = 0;
        if (rep_charts_render(&m, dir, charts, &nch, err, sizeof err) != 0) {
            fprintf(stderr, "ctxsim report: %s\n", err);
            goto out;
        }
        if (rep_report_write(s, &m, &gd, charts, nch, dir, err, sizeof err) != 0) {
            fprintf(stderr, "ctxsim report: %s\n", err);
            goto out;
        }
        size_t drawn = 0;
        for (size_t i = 0; i < nch; i++)
            drawn += charts[i].drawn;
        printf("report: %s/index.html (run #%" PRId64 ", %zu sweeps, %zu charts, gate %s)%s\n", dir,
               run, m.nsw, drawn, gd.fail ? "FAIL" : "PASS",
               m.run.incomplete ? " - run incomplete" : "");
    }
    code = REP_EXIT_OK;
out:
    fflush(stdout);
    for (size_t i = 0; ps && i < nps; i++)
        rep_psweep_free(&ps[i]);
    free(ps);
    free(pch);
    free(pnch);
    rep_model_free(&m);
    rep_gate_decision_free(&gd);
    rep_store_close(s);
    return code;
}

/* ---- parameter sweeps (sweeps.html, sweeps.md) ----------------------------------- */

static void sweep_section(const out2 *o, const rep_psweep *w, const rep_chart *ch, size_t nch)
{
    const sim_psweep_result *r = &w->r;
    char t[512], id[32];
    snprintf(id, sizeof id, "sweep%" PRId64, w->id);
    if (r->nvary == 2)
        snprintf(t, sizeof t, "Sweep #%" PRId64 ": %.63s, %.95s x %.95s", w->id, r->scenario,
                 r->vary[0].p.path, r->vary[1].p.path);
    else
        snprintf(t, sizeof t, "Sweep #%" PRId64 ": %.63s, %.95s", w->id, r->scenario,
                 r->vary[0].p.path);
    heading(o, 2, id, t);
    snprintf(t, sizeof t, "Recorded at git %.63s with: %.400s", w->git_rev, w->args);
    para(o, t);
    for (size_t i = 0; i < r->nknees; i++)
        para(o, r->knees[i].sentence);
    for (size_t i = 0; i < nch; i++)
        if (ch[i].drawn)
            figure(o, &ch[i]);
    const char *cols[] = {r->vary[0].p.path,
                          r->nvary > 1 ? r->vary[1].p.path : "",
                          "profile",
                          "seeds",
                          "expected",
                          "delivered",
                          "rate",
                          "95% interval",
                          "dominant loss"};
    const char num[] = "llllnnnnll";
    if (r->nvary > 1) {
        table_head(o, cols, 9, num);
    } else {
        const char *c1[] = {cols[0], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8]};
        table_head(o, c1, 8, "llnnnnll");
    }
    for (size_t i = 0; i < r->npts; i++) {
        const sim_psweep_point *p = &r->pts[i];
        char v[48];
        row_begin(o);
        sim_vary_format(&r->vary[0].p, p->v[0], v, sizeof v);
        cellf(o, 0, NULL, "%s%s", v, p->refined && r->nvary == 1 ? " (bisection)" : "");
        if (r->nvary > 1) {
            sim_vary_format(&r->vary[1].p, p->v[1], v, sizeof v);
            cellf(o, 0, NULL, "%s%s", v, p->refined ? " (bisection)" : "");
        }
        cell(o, 0, NULL, sim_profile_name(p->profile));
        cellf(o, 1, NULL, "%" PRIu32, p->seeds);
        cellf(o, 1, NULL, "%" PRIu64, p->c[SIM_COUNT_EXPECTED]);
        cellf(o, 1, NULL, "%" PRIu64, p->c[SIM_COUNT_DELIVERED]);
        cellf(o, 1, p->lo >= r->target ? "pass" : "fail", "%.3f%%", 100 * p->rate);
        cellf(o, 1, NULL, "[%.2f%%, %.2f%%]", 100 * p->lo, 100 * p->hi);
        cell(o, 0, NULL, sim_psweep_cause_name(p->cause));
        row_end(o);
    }
    table_end(o);
}

int rep_sweep_report_write(const char *dir, const rep_psweep *ws, size_t n,
                           const rep_chart (*charts)[REP_SWEEP_CHART_MAX], const size_t *nch,
                           char *err, size_t errlen)
{
    out2 o;
    if (out2_open(&o, dir, "sweeps.html", "sweeps.md", err, errlen) != 0)
        return -1;
    hf(&o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
           "<title>ctxsim report: parameter sweeps</title>\n<style>\n"
           "body { font-family: sans-serif; margin: 1em auto; max-width: 1400px; padding: 0 1em; "
           "color: #222; }\n"
           "table { border-collapse: collapse; font-size: 13px; margin: .5em 0 1.5em; }\n"
           "th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; "
           "white-space: nowrap; }\n"
           "th { background: #f2f2f2; }\n.l { text-align: left; }\n"
           ".fail { color: #b00; }\n.pass { color: #070; }\n"
           "img { max-width: 100%%; border: 1px solid #eee; }\n"
           "</style>\n</head>\n<body>\n<h1>ctxsim report: parameter sweeps</h1>\n"
           "<p><a href=\"index.html\">the run report</a></p>\n");
    mf(&o, "# ctxsim report: parameter sweeps\n");
    para(&o, "The latest parameter sweep of every scenario and parameter (ctxsim sweep; "
             "docs/sweep.md). Each knee is the smallest (or largest) value whose lower 95% "
             "Wilson bound reaches the target; a rate in red misses it.");
    for (size_t i = 0; i < n; i++)
        sweep_section(&o, &ws[i], charts[i], nch[i]);
    hf(&o, "</body>\n</html>\n");
    int bad = ferror(o.h) || ferror(o.md);
    bad |= fclose(o.h) != 0;
    bad |= fclose(o.md) != 0;
    if (bad) {
        snprintf(err, errlen, "%s: write error", dir);
        return -1;
    }
    return 0;
}
