/*
 * gate.c - `ctxsim gate`: expectations and regressions against a baseline.
 */
#include "reports/gate.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "reports/cmdline.h"
#include "reports/text.h"
#include "sim/coverage.h"
#include "sim/verdict.h"

const char *rep_verdict_name(rep_verdict v)
{
    static const char *const names[] = {"ok", "improved", "noise", "regression", "new", "missing"};
    return (unsigned)v < sizeof names / sizeof names[0] ? names[v] : "?";
}

/* Key order: scenario, profile, policy, ablated_fix. */
static int key_cmp(const sim_sweep_result *a, const sim_sweep_result *b)
{
    int c = strcmp(a->scenario, b->scenario);
    if (!c)
        c = strcmp(a->profile, b->profile);
    if (!c)
        c = strcmp(a->policy, b->policy);
    if (!c)
        c = (a->ablated_fix > b->ablated_fix) - (a->ablated_fix < b->ablated_fix);
    return c;
}

static int ptr_cmp(const void *a, const void *b)
{
    const rep_sweep *x = *(const rep_sweep *const *)a, *y = *(const rep_sweep *const *)b;
    int c = key_cmp(&x->r, &y->r);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

/* A sorted array of pointers to v[0..n). */
static const rep_sweep **sorted(const rep_sweep *v, size_t n)
{
    const rep_sweep **p = malloc((n ? n : 1) * sizeof *p);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = &v[i];
    qsort(p, n, sizeof *p, ptr_cmp);
    return p;
}

static void set_key(rep_gate_row *g, const sim_sweep_result *r)
{
    snprintf(g->scenario, sizeof g->scenario, "%s", r->scenario);
    snprintf(g->profile, sizeof g->profile, "%s", r->profile);
    snprintf(g->policy, sizeof g->policy, "%s", r->policy);
    g->ablated_fix = r->ablated_fix;
}

static uint64_t coverage_union(const rep_sweep *v, size_t n, int *any)
{
    uint64_t c = 0;
    *any = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].has_coverage) {
            *any = 1;
            c |= v[i].r.coverage;
        }
    return c;
}

int rep_gate_coverage(const rep_sweep *now, size_t nnow, const rep_sweep *base, size_t nbase,
                      uint64_t *lost)
{
    int any_now, any_base;
    uint64_t n = coverage_union(now, nnow, &any_now);
    uint64_t b = coverage_union(base, nbase, &any_base);
    *lost = any_now && any_base ? b & ~n : 0;
    return any_now && any_base;
}

int rep_gate_compare(const rep_sweep *now, size_t nnow, const rep_sweep *base, size_t nbase,
                     double tolerance, rep_gate_row **rows, size_t *n)
{
    if (!rows || !n || (!now && nnow) || (!base && nbase) || !(tolerance >= 0 && tolerance <= 1))
        return -EINVAL;
    *rows = NULL;
    *n = 0;
    const rep_sweep **a = sorted(now, nnow), **b = sorted(base, nbase);
    rep_gate_row *out = calloc(nnow + nbase + 1, sizeof *out);
    char *used = calloc(nbase + 1, 1);
    if (!a || !b || !out || !used) {
        free(a);
        free(b);
        free(out);
        free(used);
        return -ENOMEM;
    }
    size_t k = 0, j = 0;
    /* Merge-join the two sorted lists; a key recorded twice in one run is
     * paired in order, extra copies count as new/missing. */
    for (size_t i = 0; i < nnow; i++) {
        const sim_sweep_result *r = &a[i]->r;
        rep_gate_row *g = &out[k++];
        set_key(g, r);
        g->has_now = 1;
        g->now_id = a[i]->id;
        g->now_rate = r->delivery_rate;
        g->now_lo = r->rate_lo;
        g->now_hi = r->rate_hi;
        /* The verdict record, as rep_sweeps_load judged it (sim/verdict.h). */
        g->expect_checked = 1;
        g->role = r->role;
        g->matrix = r->matrix;
        g->sweep_verdict = r->verdict;
        snprintf(g->outcome, sizeof g->outcome, "%s", sim_sweep_outcome(r));
        g->expect_pass = !r->fails_ci;
        snprintf(g->reason, sizeof g->reason, "%s",
                 r->role == SIM_ROLE_GATE || !r->note[0] ? r->reason : r->note);
        while (j < nbase && key_cmp(&b[j]->r, r) < 0)
            j++;
        if (j < nbase && key_cmp(&b[j]->r, r) == 0) {
            const sim_sweep_result *q = &b[j]->r;
            used[j++] = 1;
            g->has_base = 1;
            g->base_rate = q->delivery_rate;
            g->base_lo = q->rate_lo;
            g->base_hi = q->rate_hi;
            g->delta = g->now_rate - g->base_rate;
            if (-g->delta > tolerance) {
                int overlap = g->now_hi >= g->base_lo && g->base_hi >= g->now_lo;
                g->verdict = overlap ? REP_VERDICT_NOISE : REP_VERDICT_REGRESSION;
            } else if (g->delta > tolerance) {
                g->verdict = REP_VERDICT_IMPROVED;
            } else {
                g->verdict = REP_VERDICT_OK;
            }
        } else {
            g->verdict = REP_VERDICT_NEW;
        }
        /* informational sweeps never fail on their rate */
        g->fails =
            !g->expect_pass || (g->verdict == REP_VERDICT_REGRESSION && g->role == SIM_ROLE_GATE);
    }
    for (size_t i = 0; i < nbase; i++) {
        if (used[i])
            continue;
        const sim_sweep_result *q = &b[i]->r;
        rep_gate_row *g = &out[k++];
        set_key(g, q);
        g->has_base = 1;
        g->base_rate = q->delivery_rate;
        g->base_lo = q->rate_lo;
        g->base_hi = q->rate_hi;
        g->expect_pass = 1;
        g->role = q->role;
        g->matrix = q->matrix;
        snprintf(g->outcome, sizeof g->outcome, "-");
        g->verdict = REP_VERDICT_MISSING;
        g->fails = q->role == SIM_ROLE_GATE; /* a gate sweep that vanished */
    }
    free(a);
    free(b);
    free(used);
    *rows = out;
    *n = k;
    return 0;
}

/* ---- the command --------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ctxsim gate [--db PATH] [--run ID|LABEL] [--baseline ID|LABEL] "
            "[--tolerance X]\n"
            "                   [--profile P] [--format text|json]\n"
            "\n"
            "Fails (exit 1) when a sweep of the run misses its scenario's expect:, when\n"
            "its delivery rate fell by more than X against the baseline with 95%% Wilson\n"
            "intervals that do not overlap (a drop within overlapping intervals is shown\n"
            "as noise and does not fail), when a baseline sweep is missing, when a core\n"
            "behaviour the baseline exercised is exercised by no sweep of the run (both\n"
            "recorded coverage, schema v5), or when the run is incomplete.  Prints a\n"
            "table of every sweep.  Ablation sweeps (one fix\n"
            "switched off) are compared with the baseline but not held to expect:.\n"
            "\n"
            "  --format text|json the table (default), or one JSON object on stdout with the\n"
            "                     same verdict, rows, failures and coverage\n"
            "  --db PATH          results database (default %s)\n"
            "  --run ID|LABEL     the run to gate (default: the latest)\n"
            "  --baseline ID|LABEL  compare with (default: the latest complete run before it)\n"
            "  --tolerance X      allowed drop of delivery rate, 0..1 (default %.2f)\n"
            "  --profile P        gate only the sweeps of profile P (e.g. fixed)\n"
            "\n"
            "The database is opened read-only (it may be on a read-only mount) and checked\n"
            "with PRAGMA quick_check first.\n"
            "\n"
            "Exit: 0 pass, 1 fail, 2 bad usage or input, 3 the database could not be read\n"
            "(I/O error, damaged, unreadable; SQLite's reason is printed).\n",
            REP_DEFAULT_DB, REP_GATE_DEFAULT_TOLERANCE);
}

/* Formats "97.50 [96.12, 98.43]" (percent) or "-". */
static void fmt_rate(char *buf, size_t len, int has, double r, double lo, double hi)
{
    if (!has)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.2f [%.2f, %.2f]", 100 * r, 100 * lo, 100 * hi);
}

static void fmt_policy(char *buf, size_t len, const rep_gate_row *g)
{
    if (g->policy[0] && g->ablated_fix > 0)
        snprintf(buf, len, "%s (F%d off)", g->policy, g->ablated_fix);
    else if (g->policy[0])
        snprintf(buf, len, "%s", g->policy);
    else if (g->ablated_fix > 0)
        snprintf(buf, len, "F%d off", g->ablated_fix);
    else
        snprintf(buf, len, "-");
}

enum { NCOL = 8 };

/* Prints rows as an aligned table; O(rows * columns). */
static void print_table(const rep_gate_row *rows, size_t n)
{
    static const char *const head[NCOL] = {
        "scenario",       "profile",  "policy", "baseline % [95% CI]",
        "now % [95% CI]", "delta pp", "expect", "verdict"};
    char(*cell)[NCOL][320] = calloc(n + 1, sizeof *cell);
    if (!cell)
        return;
    size_t w[NCOL] = {0};
    for (int c = 0; c < NCOL; c++)
        snprintf(cell[0][c], sizeof cell[0][c], "%s", head[c]);
    for (size_t i = 0; i < n; i++) {
        const rep_gate_row *g = &rows[i];
        char(*r)[320] = cell[i + 1];
        snprintf(r[0], 320, "%s", g->scenario);
        snprintf(r[1], 320, "%s", g->profile);
        fmt_policy(r[2], 320, g);
        fmt_rate(r[3], 320, g->has_base, g->base_rate, g->base_lo, g->base_hi);
        fmt_rate(r[4], 320, g->has_now, g->now_rate, g->now_lo, g->now_hi);
        if (g->has_now && g->has_base)
            snprintf(r[5], 320, "%+.2f", fabs(g->delta) < 5e-5 ? 0.0 : 100 * g->delta);
        else
            snprintf(r[5], 320, "-");
        snprintf(r[6], 320, "%s", !g->has_now ? "-" : g->outcome);
        snprintf(r[7], 320, "%s", rep_verdict_name(g->verdict));
    }
    for (size_t i = 0; i <= n; i++)
        for (int c = 0; c < NCOL; c++)
            if (strlen(cell[i][c]) > w[c])
                w[c] = strlen(cell[i][c]);
    for (size_t i = 0; i <= n; i++) {
        for (int c = 0; c < NCOL; c++) {
            int right = c >= 3 && c <= 5; /* numbers right-aligned */
            if (c == NCOL - 1)
                printf("%s\n", cell[i][c]);
            else if (right)
                printf("%*s  ", (int)w[c], cell[i][c]);
            else
                printf("%-*s  ", (int)w[c], cell[i][c]);
        }
        if (i == 0) {
            size_t total = 0;
            for (int c = 0; c < NCOL; c++)
                total += w[c] + (c + 1 < NCOL ? 2 : 0);
            for (size_t k = 0; k < total; k++)
                putchar('-');
            putchar('\n');
        }
    }
    free(cell);
}

/* Describes a run for messages: "#12 (label)". */
static void run_name(char *buf, size_t len, const rep_run_info *r)
{
    if (r->label[0])
        snprintf(buf, len, "#%" PRId64 " (%s)", r->id, r->label);
    else
        snprintf(buf, len, "#%" PRId64, r->id);
}

/* Prints why each failing row fails, and the noise. */
static void print_details(rep_store *s, const rep_gate_row *rows, size_t n, const char *base_name)
{
    int header = 0;
    for (size_t i = 0; i < n; i++) {
        const rep_gate_row *g = &rows[i];
        if (!g->fails)
            continue;
        if (!header++)
            printf("\nfailed:\n");
        char pol[320];
        fmt_policy(pol, sizeof pol, g);
        printf("  %s / %s / %s:", g->scenario, g->profile, pol);
        if (g->verdict == REP_VERDICT_MISSING) {
            printf(" missing: in baseline %s, absent from this run\n", base_name);
            continue;
        }
        if (g->verdict == REP_VERDICT_REGRESSION && g->role == SIM_ROLE_GATE)
            printf(" regression: %.2f%% -> %.2f%% (%+.2f pp, tolerance exceeded, 95%% intervals "
                   "do not overlap)%s",
                   100 * g->base_rate, 100 * g->now_rate, 100 * g->delta,
                   g->expect_pass ? "" : ";");
        if (!g->expect_pass)
            printf(" %s: %s",
                   g->role == SIM_ROLE_GATE ? sim_verdict_name(g->sweep_verdict) : "ablation",
                   g->reason);
        printf("\n");
        rep_failure *f = NULL;
        size_t nf = 0, total = 0;
        if (!g->expect_pass && g->role == SIM_ROLE_GATE &&
            rep_failures_load(s, g->now_id, 3, &f, &nf, &total) == 0) {
            for (size_t k = 0; k < nf; k++)
                printf("    %s   # %s\n", f[k].replay, rep_comment_line(f[k].detail));
            if (total > nf)
                printf("    ... %zu failing and worst seeds in all (sqlite3: SELECT replay FROM "
                       "failures "
                       "WHERE scenario_result_id = %" PRId64 ")\n",
                       total, g->now_id);
        }
        free(f);
    }
    header = 0;
    for (size_t i = 0; i < n; i++) {
        const rep_gate_row *g = &rows[i];
        if (g->verdict != REP_VERDICT_NOISE)
            continue;
        if (!header++)
            printf("\nnoise (not failing):\n");
        printf("  %s / %s: %.2f%% -> %.2f%% (%+.2f pp) but the 95%% intervals overlap: rerun "
               "with more seeds to tell\n",
               g->scenario, g->profile, 100 * g->base_rate, 100 * g->now_rate, 100 * g->delta);
    }
}

static json_t *run_json(const rep_run_info *r)
{
    return json_pack("{s:I, s:s, s:s, s:b}", "id", (json_int_t)r->id, "label", r->label, "status",
                     r->status, "incomplete", r->incomplete || r->live);
}

static json_t *rate_json(int has, double rate, double lo, double hi)
{
    return has ? json_pack("{s:f, s:f, s:f}", "rate", rate, "lo", lo, "hi", hi) : json_null();
}

/* print_json prints the gate's decision as one JSON object (docs in
 * usage): the same rows, failures and verdict as the table.  Returns 0 or
 * -ENOMEM. */
static int print_json(rep_store *s, const rep_gate_row *rows, size_t n, const rep_gate_decision *g)
{
    json_t *o = json_object(), *arr = json_array();
    if (!o || !arr) {
        json_decref(o);
        json_decref(arr);
        return -ENOMEM;
    }
    json_object_set_new(o, "verdict", json_string(g->fail ? "FAIL" : "PASS"));
    json_object_set_new(o, "run", run_json(&g->run));
    json_object_set_new(o, "baseline", g->has_base ? run_json(&g->base) : json_null());
    json_object_set_new(o, "tolerance", json_real(g->tolerance));
    json_object_set_new(o, "profile", g->profile ? json_string(g->profile) : json_null());
    json_object_set_new(o, "run_problem", g->why ? json_string(g->why) : json_null());
    json_t *counts = json_object();
    for (int v = REP_VERDICT_OK; v <= REP_VERDICT_MISSING; v++)
        json_object_set_new(counts, rep_verdict_name((rep_verdict)v),
                            json_integer((json_int_t)g->cnt[v]));
    json_object_set_new(counts, "expectation_failed", json_integer((json_int_t)g->expect_failed));
    json_object_set_new(counts, "sweeps", json_integer((json_int_t)g->nnow));
    json_object_set_new(o, "counts", counts);
    json_object_set_new(o, "coverage",
                        g->cov_checked
                            ? json_pack("{s:b, s:i, s:s}", "pass", !g->cov_lost, "lost",
                                        g->cov_lost, "lost_behaviours", g->cov_lost_names)
                            : json_null());
    for (size_t i = 0; i < n; i++) {
        const rep_gate_row *r = &rows[i];
        json_t *row = json_pack(
            "{s:s, s:s, s:s, s:i, s:s, s:b, s:o, s:o, s:o, s:s, s:s, s:b, s:s, s:b}", "scenario",
            r->scenario, "profile", r->profile, "policy", r->policy, "ablated_fix", r->ablated_fix,
            "role", r->role == SIM_ROLE_GATE ? "gate" : "informational", "matrix", r->matrix, "now",
            rate_json(r->has_now, r->now_rate, r->now_lo, r->now_hi), "baseline",
            rate_json(r->has_base, r->base_rate, r->base_lo, r->base_hi), "delta",
            r->has_now && r->has_base ? json_real(r->delta) : json_null(), "verdict",
            rep_verdict_name(r->verdict), "outcome", r->has_now ? r->outcome : "-", "expect_pass",
            r->expect_pass, "reason", r->reason, "fails", r->fails);
        if (!row)
            continue;
        json_t *reps = json_array();
        rep_failure *f = NULL;
        size_t nf = 0, total = 0;
        if (r->fails && !r->expect_pass && r->role == SIM_ROLE_GATE &&
            rep_failures_load(s, r->now_id, 3, &f, &nf, &total) == 0)
            for (size_t k = 0; k < nf; k++)
                json_array_append_new(
                    reps, json_pack("{s:I, s:s, s:s, s:s}", "seed", (json_int_t)f[k].seed, "kind",
                                    f[k].kind, "detail", f[k].detail, "replay", f[k].replay));
        free(f);
        json_object_set_new(row, "replays", reps);
        json_object_set_new(row, "replays_total", json_integer((json_int_t)total));
        json_array_append_new(arr, row);
    }
    json_object_set_new(o, "rows", arr);
    char *txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!txt)
        return -ENOMEM;
    puts(txt);
    free(txt);
    return 0;
}

/* Keeps the sweeps of one profile (frees the others' seeds; O(n)). */
static void keep_profile(rep_sweep *v, size_t *n, const char *profile)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(v[i].r.profile, profile) == 0)
            v[k++] = v[i];
        else
            free(v[i].r.seeds);
    }
    *n = k;
}

void rep_gate_decision_free(rep_gate_decision *d)
{
    if (!d)
        return;
    free(d->rows);
    rep_sweeps_free(d->now, d->nnow);
    rep_sweeps_free(d->bsw, d->nbase);
    memset(d, 0, sizeof *d);
}

int rep_gate_decide(rep_store *s, int64_t run_id, int64_t base_id, double tolerance,
                    const char *profile, rep_gate_decision *d)
{
    if (!s || !d)
        return -EINVAL;
    memset(d, 0, sizeof *d);
    if (!(tolerance >= 0 && tolerance <= 1))
        return -EINVAL;
    d->tolerance = tolerance;
    d->profile = profile;
    int rc = 0;
    if (base_id == REP_GATE_DEFAULT_BASELINE)
        rc = rep_run_baseline(s, run_id, &base_id);
    if (rc == 0)
        rc = rep_run_get(s, run_id, &d->run);
    if (rc == 0 && base_id > 0) {
        rc = rep_run_get(s, base_id, &d->base);
        d->has_base = rc == 0;
    }
    if (rc == 0)
        rc = rep_sweeps_load(s, run_id, 0, &d->now, &d->nnow);
    if (rc == 0 && d->has_base)
        rc = rep_sweeps_load(s, base_id, 0, &d->bsw, &d->nbase);
    if (rc == 0 && profile) {
        keep_profile(d->now, &d->nnow, profile);
        keep_profile(d->bsw, &d->nbase, profile);
    }
    if (rc == 0)
        rc = rep_gate_compare(d->now, d->nnow, d->bsw, d->nbase, tolerance, &d->rows, &d->nrows);
    if (rc != 0) {
        rep_gate_decision_free(d);
        return rc;
    }
    uint64_t lost = 0;
    d->cov_checked = d->has_base && rep_gate_coverage(d->now, d->nnow, d->bsw, d->nbase, &lost);
    if (d->cov_checked && lost) {
        d->cov_lost = __builtin_popcountll(lost);
        sim_coverage_missing(lost, 0, d->cov_lost_names, sizeof d->cov_lost_names);
    }
    for (size_t i = 0; i < d->nrows; i++) {
        d->cnt[d->rows[i].verdict]++;
        d->expect_failed += !d->rows[i].expect_pass;
        d->failing += d->rows[i].fails;
    }
    const rep_run_info *run = &d->run;
    if (run->live)
        d->why = "is still running";
    else if (run->incomplete)
        d->why = strcmp(run->status, "interrupted") == 0
                     ? "is incomplete (interrupted)"
                     : "is incomplete (status running, its process is gone)";
    else if (strcmp(run->status, "failed") == 0)
        d->why = "failed (stopped on an error)";
    else if (d->nnow == 0)
        d->why = "recorded no sweeps";
    d->fail = d->failing > 0 || d->why != NULL || d->cov_lost;
    return 0;
}

int rep_cmd_gate(int argc, char **argv)
{
    const char *db = REP_DEFAULT_DB, *run_spec = NULL, *base_spec = NULL, *tol_s = NULL,
               *profile = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (rep_is_help(argv[i])) {
            usage(stdout);
            return REP_EXIT_OK;
        }
        if ((m = rep_opt(argc, argv, &i, "--db", &v)) != 0) {
            if (m < 0)
                return REP_EXIT_USAGE;
            db = v;
        } else if ((m = rep_opt(argc, argv, &i, "--run", &v)) != 0) {
            if (m < 0)
                return REP_EXIT_USAGE;
            run_spec = v;
        } else if ((m = rep_opt(argc, argv, &i, "--baseline", &v)) != 0) {
            if (m < 0)
                return REP_EXIT_USAGE;
            base_spec = v;
        } else if ((m = rep_opt(argc, argv, &i, "--tolerance", &v)) != 0) {
            if (m < 0)
                return REP_EXIT_USAGE;
            tol_s = v;
        } else if ((m = rep_opt(argc, argv, &i, "--profile", &v)) != 0) {
            if (m < 0)
                return REP_EXIT_USAGE;
            profile = v;
        } else if ((m = rep_opt(argc, argv, &i, "--format", &v)) != 0) {
            if (m < 0)
                return REP_EXIT_USAGE;
            if (strcmp(v, "json") && strcmp(v, "text")) {
                fprintf(stderr, "ctxsim gate: --format expects text or json, got '%s'\n", v);
                return REP_EXIT_USAGE;
            }
            json = !strcmp(v, "json");
        } else {
            fprintf(stderr, "ctxsim gate: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return REP_EXIT_USAGE;
        }
    }
    double tol = REP_GATE_DEFAULT_TOLERANCE;
    if (tol_s) {
        char *end = NULL;
        errno = 0;
        tol = strtod(tol_s, &end);
        if (errno || end == tol_s || *end || !(tol >= 0 && tol <= 1)) {
            fprintf(stderr, "ctxsim gate: --tolerance '%s' is not a number in [0, 1]\n", tol_s);
            return REP_EXIT_USAGE;
        }
    }
    char err[512];
    rep_store *s = NULL;
    int orc = rep_store_open_readonly(db, &s, err, sizeof err);
    if (orc != 0) {
        fprintf(stderr, "ctxsim gate: %s\n", err);
        return rep_store_exit_code(orc);
    }
    int code = REP_EXIT_USAGE;
    rep_gate_decision d;
    memset(&d, 0, sizeof d);
    int64_t run_id = 0, base_id = REP_GATE_DEFAULT_BASELINE;
    int rc = rep_run_resolve(s, run_spec, &run_id);
    if (rc == -ENOENT) {
        if (run_spec)
            fprintf(stderr, "ctxsim gate: no run '%s' in %s\n", run_spec, db);
        else
            fprintf(stderr, "ctxsim gate: no runs recorded in %s (run `ctxsim run` first)\n", db);
        goto out;
    }
    if (rc == 0 && base_spec) {
        rc = rep_run_resolve(s, base_spec, &base_id);
        if (rc == -ENOENT) {
            fprintf(stderr, "ctxsim gate: no baseline run '%s' in %s\n", base_spec, db);
            goto out;
        }
    }
    if (rc == 0)
        rc = rep_gate_decide(s, run_id, base_id, tol, profile, &d);
    if (rc != 0) {
        fprintf(stderr, "ctxsim gate: %s: cannot read the results: %s\n", db,
                rc == -ENOMEM ? "out of memory" : rep_store_errmsg(s));
        code = rep_store_exit_code(rc);
        goto out;
    }
    char rname[200], bname[200] = "(none)";
    run_name(rname, sizeof rname, &d.run);
    if (d.has_base)
        run_name(bname, sizeof bname, &d.base);
    const rep_gate_row *rows = d.rows;
    size_t nrows = d.nrows;
    if (json) {
        if (print_json(s, rows, nrows, &d) != 0) {
            fprintf(stderr, "ctxsim gate: out of memory\n");
            goto out;
        }
    } else {
        printf("gate: run %s vs baseline %s, tolerance %.4g%s%s\n", rname, bname, tol,
               profile ? ", profile " : "", profile ? profile : "");
        if (!d.has_base)
            printf("no baseline: no complete run before %s; checking expectations only\n", rname);
        if (d.has_base && d.base.incomplete)
            printf("warning: baseline %s is incomplete\n", bname);
        printf("\n");
        print_table(rows, nrows);
        print_details(s, rows, nrows, bname);
        if (d.cov_lost)
            printf("\ncoverage: FAIL: %d behaviour(s) the baseline exercised are no longer "
                   "exercised: %s\n",
                   d.cov_lost, d.cov_lost_names);
        else if (d.cov_checked)
            printf("\ncoverage: every behaviour the baseline exercised is still exercised\n");
        if (d.why)
            printf("\nrun %s %s: the sweeps it finished are shown above\n", rname, d.why);
        printf("\ngate: %s: %zu sweeps; %zu regression, %zu missing, %zu expectation failed; "
               "%zu noise, %zu ok, %zu improved, %zu new%s%s\n",
               d.fail ? "FAIL" : "PASS", d.nnow, d.cnt[REP_VERDICT_REGRESSION],
               d.cnt[REP_VERDICT_MISSING], d.expect_failed, d.cnt[REP_VERDICT_NOISE],
               d.cnt[REP_VERDICT_OK], d.cnt[REP_VERDICT_IMPROVED], d.cnt[REP_VERDICT_NEW],
               d.why ? "; run " : "", d.why ? d.why : "");
    }
    code = d.fail ? REP_EXIT_FAIL : REP_EXIT_OK;
out:
    fflush(stdout);
    rep_gate_decision_free(&d);
    rep_store_close(s);
    return code;
}
