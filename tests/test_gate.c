/*
 * test_gate.c - `ctxsim gate`: expectations, regressions against a
 * baseline (with the Wilson intervals telling regression from noise),
 * missing sweeps, incomplete runs, usage.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reports/gate.h"
#include "reports/query.h"
#include "reports/store.h"
#include "reports/synth.h"
#include "sim/coverage.h"
#include "sim/verdict.h"
#include "tests/lib/rep_fixture.h"

static char db[512];

static void setup(void)
{
    fx_tmp_setup("gate");
    snprintf(db, sizeof db, "%s/results.db", fx_tmp);
}

/* The output line holding every one of the given words, or NULL. */
static const char *line_with(const char *out, const char *a, const char *b)
{
    static char line[1024];
    const char *p = out;
    while (*p) {
        size_t n = strcspn(p, "\n");
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        if (strstr(line, a) && (!b || strstr(line, b)))
            return line;
        p += n;
        if (*p)
            p++;
    }
    return NULL;
}

typedef struct sw {
    const char *scenario, *profile;
    double rate, expect;
    uint32_t seeds, events;
    int ablated;
    int role; /* sim_role; an ablated sweep is a sweep of the matrix */
} sw;

static rep_store *open_db(void)
{
    return fx_store_open(db);
}

static int64_t record_run(const char *label, const sw *v, size_t n, const char *status)
{
    rep_store *s = open_db();
    rep_run_meta m = {.label = label, .args = "ctxsim run", .started_at = 1};
    int64_t run = 0;
    ck_assert_int_eq(rep_run_begin(s, &m, &run), 0);
    for (size_t i = 0; i < n; i++) {
        rep_synth_spec sp = {.scenario = v[i].scenario,
                             .profile = v[i].profile,
                             .rate = v[i].rate,
                             .events_per_seed = v[i].events,
                             .expect_rate = v[i].expect,
                             .ablated_fix = v[i].ablated,
                             .policy = v[i].ablated ? "knob=0" : NULL,
                             .latency_ns = 20000000,
                             .salt = 5,
                             .role = v[i].ablated ? SIM_ROLE_INFORMATIONAL : v[i].role,
                             .matrix = v[i].ablated > 0};
        fx_add_sweep(s, run, &sp, NULL, v[i].seeds);
    }
    if (status)
        ck_assert_int_eq(rep_run_finish(s, run, status), 0);
    rep_store_close(s);
    return run;
}

static void sql(const char *text)
{
    sqlite3 *h = NULL;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    char *msg = NULL;
    ck_assert_msg(sqlite3_exec(h, text, NULL, NULL, &msg) == SQLITE_OK, "%s", msg);
    sqlite3_close(h);
}

/* Three scenarios, fixed profile, large samples, lenient expectations. */
static const sw three[] = {
    {"alpha", "fixed", 0.995, 0.5, 30, 400, 0, 0},
    {"bravo", "fixed", 0.995, 0.5, 30, 400, 0, 0},
    {"charlie", "fixed", 0.995, 0.5, 30, 400, 0, 0},
};

static char out[1 << 16];

START_TEST(test_gate_unchanged_rerun_passes)
{
    record_run("base", three, 3, "complete");
    record_run("now", three, 3, "complete");
    const char *a[] = {"gate", "--db", db, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, a, NULL, out, sizeof out), 0);
    for (int i = 0; i < 3; i++) {
        const char *l = line_with(out, three[i].scenario, "fixed");
        ck_assert_msg(l && strstr(l, " ok"), "%s", out);
        ck_assert_ptr_nonnull(strstr(l, "+0.00"));
    }
    ck_assert_ptr_nonnull(strstr(out, "gate: PASS"));
}
END_TEST

START_TEST(test_gate_doctored_regression_fails_and_names_it)
{
    record_run("base", three, 3, "complete");
    int64_t now = record_run("now", three, 3, "complete");
    /* 5 percentage points fewer delivered in bravo: far outside both
     * intervals with ~12000 expected events */
    char q[256];
    snprintf(q, sizeof q,
             "UPDATE scenario_results SET delivered = delivered - expected / 20 "
             "WHERE run_id = %lld AND scenario = 'bravo'",
             (long long)now);
    sql(q);
    const char *a[] = {"gate", "--db", db, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, a, NULL, out, sizeof out), 1);
    const char *l = line_with(out, "bravo", "fixed");
    ck_assert_msg(l && strstr(l, "regression"), "%s", out);
    ck_assert_ptr_nonnull(strstr(l, "PASS")); /* its own expectation still holds */
    ck_assert_ptr_nonnull(line_with(out, "alpha", " ok"));
    ck_assert_ptr_nonnull(line_with(out, "charlie", " ok"));
    ck_assert_ptr_nonnull(line_with(out, "bravo / fixed", "regression:"));
    ck_assert_ptr_nonnull(strstr(out, "gate: FAIL"));
    ck_assert_ptr_nonnull(strstr(out, "1 regression"));
    /* a tolerance above the drop lets it through */
    const char *b[] = {"gate", "--db", db, "--tolerance", "0.06", NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, b, NULL, out, sizeof out), 0);
    ck_assert_ptr_nonnull(line_with(out, "bravo", " ok"));
}
END_TEST

START_TEST(test_gate_missing_scenario_fails)
{
    record_run("base", three, 3, "complete");
    record_run("now", three, 2, "complete"); /* charlie not run */
    const char *a[] = {"gate", "--db", db, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, a, NULL, out, sizeof out), 1);
    const char *l = line_with(out, "charlie", "fixed");
    ck_assert_msg(l && strstr(l, "missing"), "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "1 missing"));
}
END_TEST

START_TEST(test_gate_noise_does_not_fail)
{
    const sw small[] = {{"delta", "fixed", 0.96, 0.5, 5, 10, 0, 0}};
    int64_t base = record_run("base", small, 1, "complete");
    int64_t now = record_run("now", small, 1, "complete");
    char q[256];
    snprintf(q, sizeof q,
             "UPDATE scenario_results SET delivered = delivered - 3 WHERE run_id = %lld",
             (long long)now);
    sql(q);
    /* the premise: a drop above the tolerance within overlapping intervals */
    rep_store *s = open_db();
    rep_sweep *b = NULL, *n = NULL;
    size_t nb = 0, nn = 0;
    ck_assert_int_eq(rep_sweeps_load(s, base, 0, &b, &nb), 0);
    ck_assert_int_eq(rep_sweeps_load(s, now, 0, &n, &nn), 0);
    ck_assert(b[0].r.delivery_rate - n[0].r.delivery_rate > 0.01);
    ck_assert(n[0].r.rate_hi >= b[0].r.rate_lo);
    rep_sweeps_free(b, nb);
    rep_sweeps_free(n, nn);
    rep_store_close(s);

    const char *a[] = {"gate", "--db", db, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, a, NULL, out, sizeof out), 0);
    const char *l = line_with(out, "delta", "fixed");
    ck_assert_msg(l && strstr(l, "noise"), "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "noise (not failing)"));
    ck_assert_ptr_nonnull(strstr(out, "gate: PASS"));
}
END_TEST

START_TEST(test_gate_expectation_failure_fails)
{
    const sw v[] = {{"echo", "fixed", 0.95, 0.99, 10, 100, 0, 0}, three[0]};
    record_run("only", v, 2, "complete");
    const char *a[] = {"gate", "--db", db, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, a, NULL, out, sizeof out), 1);
    const char *l = line_with(out, "echo", "fixed");
    ck_assert_msg(l && strstr(l, "FAIL") && strstr(l, "new"), "%s", out);
    ck_assert_ptr_nonnull(line_with(out, "echo / fixed", "fail: delivery_rate"));
    ck_assert_ptr_nonnull(line_with(out, "ctxsim replay scenarios/echo.yaml", "--seed"));
    ck_assert_ptr_nonnull(strstr(out, "no baseline"));
}
END_TEST

START_TEST(test_gate_first_run_without_baseline_passes)
{
    record_run("first", three, 3, "complete");
    const char *a[] = {"gate", "--db", db, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, a, NULL, out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "no baseline"));
    ck_assert_ptr_nonnull(line_with(out, "alpha", "new"));
}
END_TEST

START_TEST(test_gate_incomplete_run_fails)
{
    record_run("base", three, 3, "complete");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        record_run("killed", three, 2, NULL); /* never finished */
        _exit(0);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    const char *a[] = {"gate", "--db", db, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, a, NULL, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "incomplete") != NULL, "%s", out);
    /* an explicitly interrupted run too */
    record_run("stopped", three, 3, "interrupted");
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, a, NULL, out, sizeof out), 1);
    ck_assert_ptr_nonnull(strstr(out, "incomplete (interrupted)"));
    /* and one that stopped on an error */
    record_run("broke", three, 3, "failed");
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, a, NULL, out, sizeof out), 1);
    ck_assert_ptr_nonnull(strstr(out, "failed (stopped on an error)"));
}
END_TEST

START_TEST(test_gate_explicit_run_and_baseline)
{
    int64_t r1 = record_run("one", three, 3, "complete");
    int64_t r2 = record_run("two", three, 3, "complete");
    char q[256];
    snprintf(q, sizeof q,
             "UPDATE scenario_results SET delivered = delivered - expected / 10 "
             "WHERE run_id = %lld AND scenario = 'alpha'",
             (long long)r1);
    sql(q);
    record_run("three", three, 3, "complete");
    /* two vs one: alpha improved */
    char id2[32], id1[32];
    snprintf(id2, sizeof id2, "%lld", (long long)r2);
    snprintf(id1, sizeof id1, "%lld", (long long)r1);
    const char *a[] = {"gate", "--db", db, "--run", id2, "--baseline", id1, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, a, NULL, out, sizeof out), 0);
    ck_assert_msg(line_with(out, "alpha", "improved") != NULL, "%s", out);
    /* one vs three (by label): alpha fell */
    const char *b[] = {"gate", "--db", db, "--run=one", "--baseline=three", NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, b, NULL, out, sizeof out), 1);
    ck_assert_ptr_nonnull(line_with(out, "alpha", "regression"));
}
END_TEST

START_TEST(test_gate_profile_filter_and_ablation)
{
    const sw v[] = {
        {"alpha", "fixed", 0.995, 0.99, 20, 200, 0, SIM_ROLE_GATE},
        {"alpha", "legacy", 0.80, 0.99, 20, 200, 0, SIM_ROLE_INFORMATIONAL}, /* misses expect */
        {"alpha", "fixed", 0.70, 0.99, 20, 200, 4, 0}, /* F4 off: misses expect: caught */
    };
    record_run("mixed", v, 3, "complete");
    const char *a[] = {"gate", "--db", db, NULL};
    /* informational sweeps never fail the gate: legacy misses by design,
     * the ablation sweep catches its fix */
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, a, NULL, out, sizeof out), 0);
    ck_assert_msg(line_with(out, "legacy", "fail (info)") != NULL, "%s", out);
    const char *l = line_with(out, "F4 off", NULL);
    ck_assert_msg(l && strstr(l, "caught"), "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "0 expectation failed"));
    const char *b[] = {"gate", "--db", db, "--profile", "fixed", NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, b, NULL, out, sizeof out), 0);
    ck_assert_ptr_null(line_with(out, "legacy", NULL));
    /* a fix no sweep of the matrix catches fails the gate, named */
    const sw w[] = {
        {"alpha", "fixed", 0.995, 0.99, 20, 200, 0, SIM_ROLE_GATE},
        {"alpha", "fixed", 0.995, 0.99, 20, 200, 6, 0}, /* F6 off: meets expect */
    };
    record_run("uncaught", w, 2, "complete");
    const char *c[] = {"gate", "--db", db, "--run", "uncaught", NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, c, NULL, out, sizeof out), 1);
    ck_assert_msg(line_with(out, "F6 off", "NOT CAUGHT") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "fix F6 (cache_preauth) not caught") != NULL, "%s", out);
}
END_TEST

/* A behaviour the baseline exercised (in any sweep) and no sweep of the
 * run does is lost; runs that did not record coverage are not compared. */
START_TEST(test_gate_coverage_lost_behaviour)
{
    rep_sweep base[2], now[2];
    memset(base, 0, sizeof base);
    memset(now, 0, sizeof now);
    uint64_t a = SIM_COV_BIT(SIM_BEH_TIMER_PENDING), b = SIM_COV_BIT(SIM_BEH_REPLAY_GAP),
             c = SIM_COV_BIT(SIM_BEH_SAME_THREAD_TABS);
    base[0].has_coverage = base[1].has_coverage = 1;
    base[0].r.coverage = a;
    base[1].r.coverage = b | c;
    now[0].has_coverage = now[1].has_coverage = 1;
    now[0].r.coverage = b;     /* a moved to the other sweep: not lost */
    now[1].r.coverage = a | b; /* c no longer exercised */
    uint64_t lost = 0;
    ck_assert_int_eq(rep_gate_coverage(now, 2, base, 2, &lost), 1);
    ck_assert_uint_eq(lost, c);
    now[1].r.coverage |= c;
    ck_assert_int_eq(rep_gate_coverage(now, 2, base, 2, &lost), 1);
    ck_assert_uint_eq(lost, 0);
    /* a baseline recorded before coverage was: nothing to compare */
    base[0].has_coverage = base[1].has_coverage = 0;
    now[1].r.coverage = 0;
    ck_assert_int_eq(rep_gate_coverage(now, 2, base, 2, &lost), 0);
    ck_assert_uint_eq(lost, 0);
}
END_TEST

START_TEST(test_gate_usage_and_bad_input)
{
    const char *h[] = {"gate", "--help", NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, h, NULL, out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: ctxsim gate"));
    /* no database: exit 2, and none is created */
    const char *m[] = {"gate", "--db", db, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, m, NULL, out, sizeof out), 2);
    ck_assert_ptr_nonnull(strstr(out, "no database"));
    struct stat st;
    ck_assert_int_ne(stat(db, &st), 0);
    /* an empty database */
    rep_store_close(open_db());
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, m, NULL, out, sizeof out), 2);
    ck_assert_ptr_nonnull(strstr(out, "no runs"));
    record_run("x", three, 1, "complete");
    const char *const bad[][8] = {
        {"gate", "--db", db, "--tolerance", "abc", NULL},
        {"gate", "--db", db, "--tolerance", "2", NULL},
        {"gate", "--db", db, "--tolerance", NULL},
        {"gate", "--db", db, "--run", "nosuch", NULL},
        {"gate", "--db", db, "--baseline", "424242", NULL},
        {"gate", "--db", db, "--frobnicate", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(fx_run_cmd(rep_cmd_gate, bad[i], NULL, out, sizeof out) == 2, "case %zu: %s",
                      i, out);
}
END_TEST

/* Sweeps with given counts for rep_gate_compare. */
static void mk(rep_sweep *w, const char *scenario, uint64_t delivered, uint64_t expected)
{
    memset(w, 0, sizeof *w);
    snprintf(w->r.scenario, sizeof w->r.scenario, "%s", scenario);
    strcpy(w->r.profile, "fixed");
    w->r.c[SIM_COUNT_EXPECTED] = expected;
    w->r.c[SIM_COUNT_DELIVERED] = delivered;
    w->r.delivery_rate = (double)delivered / (double)expected;
    sim_wilson(delivered, expected, &w->r.rate_lo, &w->r.rate_hi);
    w->r.expect_rate = -1;
    for (int i = 0; i < SIM_COUNT__N; i++)
        w->r.expect_max[i] = -1;
    w->stored_pass = 1;
    w->r.pass = 1;
}

static const rep_gate_row *row_of(const rep_gate_row *rows, size_t n, const char *scenario)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].scenario, scenario) == 0)
            return &rows[i];
    return NULL;
}

START_TEST(test_gate_compare_classifies_with_wilson_intervals)
{
    rep_sweep base[5], now[5];
    mk(&base[0], "same", 990, 1000);
    mk(&now[0], "same", 985, 1000); /* -0.5 pp: within tolerance */
    mk(&base[1], "better", 900, 1000);
    mk(&now[1], "better", 980, 1000);
    mk(&base[2], "worse", 990, 1000);
    mk(&now[2], "worse", 900, 1000);
    mk(&base[3], "shaky", 48, 50);
    mk(&now[3], "shaky", 45, 50); /* -6 pp on 50 events */
    mk(&base[4], "gone", 10, 10);
    mk(&now[4], "fresh", 10, 10);
    rep_gate_row *rows = NULL;
    size_t n = 0;
    ck_assert_int_eq(rep_gate_compare(now, 5, base, 5, 0.01, &rows, &n), 0);
    ck_assert_uint_eq(n, 6);
    struct {
        const char *s;
        rep_verdict v;
        int fails;
    } want[] = {{"same", REP_VERDICT_OK, 0},          {"better", REP_VERDICT_IMPROVED, 0},
                {"worse", REP_VERDICT_REGRESSION, 1}, {"shaky", REP_VERDICT_NOISE, 0},
                {"gone", REP_VERDICT_MISSING, 1},     {"fresh", REP_VERDICT_NEW, 0}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const rep_gate_row *g = row_of(rows, n, want[i].s);
        ck_assert_ptr_nonnull(g);
        ck_assert_msg(g->verdict == want[i].v, "%s: %s", want[i].s, rep_verdict_name(g->verdict));
        ck_assert_int_eq(g->fails, want[i].fails);
    }
    /* the premises of noise and regression */
    const rep_gate_row *sh = row_of(rows, n, "shaky"), *wo = row_of(rows, n, "worse");
    ck_assert(sh->now_hi >= sh->base_lo);
    ck_assert(wo->now_hi < wo->base_lo);
    ck_assert_double_eq_tol(wo->delta, -0.09, 1e-12);
    free(rows);
    ck_assert_int_eq(rep_gate_compare(now, 5, base, 5, -0.5, &rows, &n), -EINVAL);
    ck_assert_str_eq(rep_verdict_name(REP_VERDICT_NOISE), "noise");
}
END_TEST

static Suite *gate_suite(void)
{
    Suite *s = suite_create("gate");
    TCase *tc = tcase_create("gate");
    tcase_add_checked_fixture(tc, setup, fx_tmp_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gate_unchanged_rerun_passes);
    tcase_add_test(tc, test_gate_doctored_regression_fails_and_names_it);
    tcase_add_test(tc, test_gate_missing_scenario_fails);
    tcase_add_test(tc, test_gate_noise_does_not_fail);
    tcase_add_test(tc, test_gate_expectation_failure_fails);
    tcase_add_test(tc, test_gate_first_run_without_baseline_passes);
    tcase_add_test(tc, test_gate_incomplete_run_fails);
    tcase_add_test(tc, test_gate_explicit_run_and_baseline);
    tcase_add_test(tc, test_gate_profile_filter_and_ablation);
    tcase_add_test(tc, test_gate_usage_and_bad_input);
    tcase_add_test(tc, test_gate_coverage_lost_behaviour);
    tcase_add_test(tc, test_gate_compare_classifies_with_wilson_intervals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(gate_suite());
}
