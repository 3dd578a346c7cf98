/*
 * test_merge.c - `ctxsim merge`: shard databases of one sweep merged into
 * one run equal, seed for seed and in every aggregate, to the whole sweep.
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

#include "reports/merge.h"
#include "reports/query.h"
#include "reports/store.h"
#include "reports/synth.h"
#include "tests/lib/rep_fixture.h"

static void setup(void)
{
    fx_tmp_setup("merge");
}

static char out[1 << 16];

#define NSEEDS 45

/* The sweeps of the test suite: 3 scenarios x 2 profiles + one ablation. */
static const rep_synth_spec specs[] = {
    {.scenario = "message_before_thread",
     .profile = "fixed",
     .rate = 0.995,
     .events_per_seed = 50,
     .expect_rate = 0.99,
     .latency_ns = 20000000,
     .salt = 11},
    {.scenario = "message_before_thread",
     .profile = "legacy",
     .rate = 0.82,
     .events_per_seed = 50,
     .expect_rate = 0.99,
     .latency_ns = 30000000,
     .salt = 11},
    {.scenario = "rapid_thread_switching",
     .profile = "fixed",
     .rate = 0.99,
     .events_per_seed = 80,
     .expect_rate = 0.98,
     .latency_ns = 15000000,
     .salt = 11},
    {.scenario = "rapid_thread_switching",
     .profile = "legacy",
     .rate = 0.75,
     .events_per_seed = 80,
     .expect_rate = 0.98,
     .latency_ns = 25000000,
     .salt = 11},
    {.scenario = "message_flood",
     .profile = "fixed",
     .policy = "pending_max=8",
     .rate = 0.97,
     .events_per_seed = 30,
     .expect_rate = -1,
     .latency_ns = 5000000,
     .salt = 11},
    {.scenario = "message_flood",
     .profile = "legacy",
     .rate = 0.6,
     .events_per_seed = 30,
     .expect_rate = 0.9,
     .latency_ns = 8000000,
     .salt = 11},
    {.scenario = "message_before_thread",
     .profile = "fixed",
     .policy = "verify_before_notify=0",
     .ablated_fix = 3,
     .rate = 0.9,
     .events_per_seed = 50,
     .expect_rate = 0.99,
     .latency_ns = 20000000,
     .salt = 11},
};
#define NSPECS (sizeof specs / sizeof specs[0])

/*
 * Records a database with the seeds s of 0..NSEEDS-1 where s % n == k - 1
 * (all of them when n == 0), in one run with the given args and shard.
 */
static void make_db(const char *path, const char *args, unsigned k, unsigned n, const char *status)
{
    rep_store *s = fx_store_open(path);
    char shard[32];
    snprintf(shard, sizeof shard, "%u/%u", k, n);
    rep_run_meta m = {.label = "nightly",
                      .git_rev = "0123abc",
                      .tool_version = "0.1.0",
                      .args = args,
                      .shard = n ? shard : NULL,
                      .started_at = 1700000000 + k};
    int64_t run = 0;
    ck_assert_int_eq(rep_run_begin(s, &m, &run), 0);
    uint64_t seeds[NSEEDS];
    uint32_t ns = 0;
    for (uint64_t x = 0; x < NSEEDS; x++)
        if (n == 0 || x % n == k - 1)
            seeds[ns++] = x;
    /* the shards record their sweeps in a different order than the whole */
    for (size_t j = 0; j < NSPECS; j++) {
        size_t i = n ? (j + k) % NSPECS : j;
        fx_add_sweep(s, run, &specs[i], seeds, ns);
    }
    if (status)
        ck_assert_int_eq(rep_run_finish(s, run, status), 0);
    rep_store_close(s);
}

static void shard_args(char *buf, size_t len, unsigned k, unsigned n)
{
    snprintf(buf, len,
             "ctxsim run scenarios --seeds %d --shard %u/%u --db out/shard-%u.db "
             "--label nightly --jobs 4",
             NSEEDS, k, n, k);
}

static void load_latest(rep_store *s, rep_run_info *ri, rep_sweep **v, size_t *n)
{
    int64_t id = 0;
    ck_assert_int_eq(rep_run_resolve(s, NULL, &id), 0);
    ck_assert_int_eq(rep_run_get(s, id, ri), 0);
    ck_assert_int_eq(rep_sweeps_load(s, id, REP_LOAD_SEEDS | REP_LOAD_HIST, v, n), 0);
}

START_TEST(test_merge_shards_equal_the_whole_sweep)
{
    char whole[512], merged[512], sh[3][512], args[256];
    fx_path(whole, sizeof whole, "whole.db");
    fx_path(merged, sizeof merged, "out/merged.db");
    make_db(whole, "ctxsim run scenarios --seeds 45 --db out/whole.db --label nightly", 1, 0,
            "complete");
    for (unsigned k = 1; k <= 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "shard-%u.db", k);
        fx_path(sh[k - 1], sizeof sh[k - 1], name);
        shard_args(args, sizeof args, k, 3);
        make_db(sh[k - 1], args, k, 3, "complete");
    }
    /* shards given out of order */
    const char *a[] = {"merge", merged, sh[2], sh[0], sh[1], NULL};
    ck_assert_msg(fx_run_cmd(rep_cmd_merge, a, NULL, out, sizeof out) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "(complete)"));

    rep_store *ws = fx_store_open_existing(whole), *ms = fx_store_open_existing(merged);
    rep_run_info wr, mr;
    rep_sweep *w = NULL, *m = NULL;
    size_t nw = 0, nm = 0;
    load_latest(ws, &wr, &w, &nw);
    load_latest(ms, &mr, &m, &nm);
    ck_assert_str_eq(mr.status, "complete");
    ck_assert_str_eq(mr.shard, "");
    ck_assert_str_eq(mr.label, "nightly");
    ck_assert_str_eq(mr.git_rev, "0123abc");
    ck_assert_ptr_null(strstr(mr.args, "--shard"));
    ck_assert_int_eq(mr.started_at, 1700000001);
    ck_assert_uint_eq(nm, NSPECS);
    ck_assert_uint_eq(nw, nm);
    for (size_t i = 0; i < nm; i++) {
        const sim_sweep_result *x = &w[i].r, *y = &m[i].r;
        ck_assert_str_eq(y->scenario, x->scenario);
        ck_assert_str_eq(y->profile, x->profile);
        ck_assert_str_eq(y->policy, x->policy);
        ck_assert_str_eq(y->path, x->path);
        ck_assert_int_eq(y->ablated_fix, x->ablated_fix);
        ck_assert_uint_eq(y->nseeds, NSEEDS);
        ck_assert_uint_eq(y->nseeds, x->nseeds);
        /* seed for seed */
        for (uint32_t j = 0; j < x->nseeds; j++) {
            ck_assert_uint_eq(y->seeds[j].seed, x->seeds[j].seed);
            ck_assert_uint_eq(y->seeds[j].trace_hash, x->seeds[j].trace_hash);
            ck_assert_uint_eq(y->seeds[j].steps, x->seeds[j].steps);
            ck_assert_uint_eq(y->seeds[j].events, x->seeds[j].events);
            ck_assert_int_eq(y->seeds[j].pass, x->seeds[j].pass);
            ck_assert_str_eq(y->seeds[j].reason, x->seeds[j].reason);
            for (int c = 0; c < SIM_COUNT__N; c++)
                ck_assert_uint_eq(y->seeds[j].c[c], x->seeds[j].c[c]);
        }
        /* aggregates */
        for (int c = 0; c < SIM_COUNT__N; c++)
            ck_assert_uint_eq(y->c[c], x->c[c]);
        ck_assert(y->delivery_rate == x->delivery_rate);
        ck_assert(y->rate_lo == x->rate_lo);
        ck_assert(y->rate_hi == x->rate_hi);
        ck_assert(y->expect_rate == x->expect_rate);
        ck_assert_uint_eq(y->p50, x->p50);
        ck_assert_uint_eq(y->p90, x->p90);
        ck_assert_uint_eq(y->p99, x->p99);
        ck_assert_uint_eq(y->pmax, x->pmax);
        ck_assert_uint_eq(y->failed_seeds, x->failed_seeds);
        ck_assert_int_eq(m[i].stored_pass, w[i].stored_pass);
        ck_assert_str_eq(y->reason, x->reason);
        ck_assert_uint_eq(y->latency.count, x->latency.count);
        for (int b = 0; b < SIM_HIST_BUCKETS; b++)
            ck_assert_uint_eq(y->latency.b[b], x->latency.b[b]);
        /* the failures, replay lines included */
        rep_failure *fx = NULL, *fy = NULL;
        size_t nx = 0, ny = 0, tx = 0, ty = 0;
        ck_assert_int_eq(rep_failures_load(ws, w[i].id, 1000, &fx, &nx, &tx), 0);
        ck_assert_int_eq(rep_failures_load(ms, m[i].id, 1000, &fy, &ny, &ty), 0);
        ck_assert_uint_eq(ty, tx);
        ck_assert_uint_eq(ty, y->failed_seeds + y->worst_seeds);
        for (size_t j = 0; j < nx; j++) {
            ck_assert_uint_eq(fy[j].seed, fx[j].seed);
            ck_assert_str_eq(fy[j].kind, fx[j].kind);
            ck_assert_str_eq(fy[j].replay, fx[j].replay);
        }
        free(fx);
        free(fy);
    }
    /* the suite has both verdicts, so pass was recomputed, not copied */
    int passes = 0;
    for (size_t i = 0; i < nm; i++)
        passes += m[i].stored_pass;
    ck_assert(passes > 0 && passes < (int)nm);
    rep_sweeps_free(w, nw);
    rep_sweeps_free(m, nm);
    rep_store_close(ws);

    /* the stored aggregates are the sums of the stored seeds */
    sqlite3 *db = rep_store_db(ms);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM scenario_results r WHERE "
                                        "delivered != (SELECT sum(delivered) FROM seed_results "
                                        "WHERE scenario_result_id = r.id) OR expected != (SELECT "
                                        "sum(expected) FROM seed_results WHERE "
                                        "scenario_result_id = r.id) OR seeds != (SELECT count(*) "
                                        "FROM seed_results WHERE scenario_result_id = r.id)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    rep_store_close(ms);
}
END_TEST

START_TEST(test_merge_missing_shard_marks_the_run_interrupted)
{
    char merged[512], sh[2][512], args[256];
    fx_path(merged, sizeof merged, "merged.db");
    for (unsigned k = 1; k <= 2; k++) {
        char name[32];
        snprintf(name, sizeof name, "s%u.db", k);
        fx_path(sh[k - 1], sizeof sh[k - 1], name);
        shard_args(args, sizeof args, k, 3);
        make_db(sh[k - 1], args, k, 3, "complete");
    }
    const char *a[] = {"merge", merged, sh[0], sh[1], NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_merge, a, NULL, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "missing: 3/3") != NULL, "%s", out);
    rep_store *s = fx_store_open_existing(merged);
    rep_run_info ri;
    rep_sweep *v = NULL;
    size_t n = 0;
    load_latest(s, &ri, &v, &n);
    ck_assert_str_eq(ri.status, "interrupted");
    ck_assert_int_eq(ri.incomplete, 1);
    ck_assert_uint_eq(v[0].r.nseeds, 30); /* 2 of 3 shards of 45 seeds */
    rep_sweeps_free(v, n);
    rep_store_close(s);
}
END_TEST

START_TEST(test_merge_rejects_what_is_not_one_sweep)
{
    char merged[512], s1[512], s2[512], s2b[512], other[512], whole[512], args[256];
    fx_path(merged, sizeof merged, "merged.db");
    fx_path(s1, sizeof s1, "s1.db");
    fx_path(s2, sizeof s2, "s2.db");
    fx_path(s2b, sizeof s2b, "s2b.db");
    fx_path(other, sizeof other, "other.db");
    fx_path(whole, sizeof whole, "whole.db");
    shard_args(args, sizeof args, 1, 2);
    make_db(s1, args, 1, 2, "complete");
    shard_args(args, sizeof args, 2, 2);
    make_db(s2, args, 2, 2, "complete");
    make_db(s2b, args, 2, 2, "complete");
    make_db(other, "ctxsim run scenarios --seeds 10 --shard 2/2", 2, 2, "complete");
    make_db(whole, "ctxsim run scenarios --seeds 45", 1, 0, "complete");
    const char *const bad[][6] = {
        {"merge", merged, s1, s2b, s2, NULL}, /* shard 2/2 twice */
        {"merge", merged, s1, other, NULL},   /* different arguments */
        {"merge", merged, s1, whole, NULL},   /* a whole run with a shard */
        {"merge", merged, s1, "/nonexistent/x.db", NULL},
        {"merge", merged, NULL},
        {"merge", s1, s1, s2, NULL}, /* output is an input */
        {"merge", merged, "--frob", s1, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(fx_run_cmd(rep_cmd_merge, bad[i], NULL, out, sizeof out) == 2, "case %zu: %s",
                      i, out);
        struct stat st;
        ck_assert_msg(stat(merged, &st) != 0, "case %zu wrote the output", i);
    }
    const char *h[] = {"merge", "--help", NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_merge, h, NULL, out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: ctxsim merge"));
    /* a single whole database is a copy */
    const char *one[] = {"merge", merged, whole, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_merge, one, NULL, out, sizeof out), 0);
}
END_TEST

START_TEST(test_merge_seed_in_two_shards_is_an_error)
{
    char merged[512], s1[512], s2[512];
    fx_path(merged, sizeof merged, "merged.db");
    fx_path(s1, sizeof s1, "s1.db");
    fx_path(s2, sizeof s2, "s2.db");
    /* both claim different shards but hold the same seeds */
    make_db(s1, "ctxsim run --shard 1/2", 1, 2, "complete");
    make_db(s2, "ctxsim run --shard 2/2", 1, 2, "complete");
    rep_store *s = fx_store_open_existing(s2);
    ck_assert_int_eq(
        sqlite3_exec(rep_store_db(s), "UPDATE runs SET shard = '2/2'", NULL, NULL, NULL),
        SQLITE_OK);
    rep_store_close(s);
    const char *a[] = {"merge", merged, s1, s2, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_merge, a, NULL, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "seed") && strstr(out, "two shards"), "%s", out);
}
END_TEST

START_TEST(test_merge_into_an_existing_database_adds_a_run)
{
    char merged[512], s1[512], s2[512], args[256];
    fx_path(merged, sizeof merged, "results.db");
    fx_path(s1, sizeof s1, "s1.db");
    fx_path(s2, sizeof s2, "s2.db");
    make_db(merged, "ctxsim run earlier", 1, 0, "complete");
    shard_args(args, sizeof args, 1, 2);
    make_db(s1, args, 1, 2, "complete");
    shard_args(args, sizeof args, 2, 2);
    make_db(s2, args, 2, 2, "failed");
    const char *a[] = {"merge", merged, s1, s2, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_merge, a, NULL, out, sizeof out), 0);
    rep_store *s = fx_store_open_existing(merged);
    int64_t id = 0;
    ck_assert_int_eq(rep_run_resolve(s, NULL, &id), 0);
    ck_assert_int_eq(id, 2);
    rep_run_info ri;
    ck_assert_int_eq(rep_run_get(s, id, &ri), 0);
    ck_assert_str_eq(ri.status, "failed"); /* one shard failed */
    rep_store_close(s);
}
END_TEST

START_TEST(test_merge_args_equal_ignores_slice_and_output_options)
{
    int eq = -1;
    ck_assert_int_eq(rep_merge_args_equal("ctxsim run a --shard 1/4 --db x.db --seeds 9",
                                          "ctxsim run a --seeds 9 --shard=2/4 --db=y.db", &eq),
                     0);
    ck_assert_int_eq(eq, 1);
    rep_merge_args_equal("ctxsim run a --seeds 9 --profile fixed",
                         "ctxsim run a --profile fixed --seeds 9", &eq);
    ck_assert_int_eq(eq, 0); /* word for word: a different order is not trusted */
    rep_merge_args_equal("ctxsim run a --shard 1/4 --db x.db --seeds 9 --jobs 2 --junit j.xml",
                         "ctxsim run a --shard=2/4 --db=y.db --seeds 9", &eq);
    ck_assert_int_eq(eq, 1);
    rep_merge_args_equal("ctxsim run a --seeds 9", "ctxsim run a --seeds 10", &eq);
    ck_assert_int_eq(eq, 0);
    rep_merge_args_equal(NULL, "", &eq);
    ck_assert_int_eq(eq, 1);
    rep_merge_args_equal("ctxsim  run\ta", "ctxsim run a", &eq);
    ck_assert_int_eq(eq, 1);
}
END_TEST

START_TEST(test_merge_sweeps_checks_the_parts)
{
    sim_sweep_result *p = calloc(3, sizeof *p);
    ck_assert_ptr_nonnull(p);
    uint64_t odd[] = {1, 3, 5}, even[] = {0, 2, 4};
    ck_assert_int_eq(rep_synth_sweep(&specs[0], odd, 3, &p[0]), 0);
    ck_assert_int_eq(rep_synth_sweep(&specs[0], even, 3, &p[1]), 0);
    const sim_sweep_result *parts[2] = {&p[0], &p[1]};
    char err[256];
    ck_assert_int_eq(rep_merge_sweeps(parts, 2, &p[2], err, sizeof err), 0);
    ck_assert_uint_eq(p[2].nseeds, 6);
    for (uint32_t i = 0; i < 6; i++)
        ck_assert_uint_eq(p[2].seeds[i].seed, i);
    ck_assert_uint_eq(p[2].c[SIM_COUNT_EXPECTED],
                      p[0].c[SIM_COUNT_EXPECTED] + p[1].c[SIM_COUNT_EXPECTED]);
    free(p[2].seeds);
    /* different expectations: not the same sweep */
    p[1].expect_rate = 0.5;
    ck_assert_int_eq(rep_merge_sweeps(parts, 2, &p[2], err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "expectations"));
    p[1].expect_rate = p[0].expect_rate;
    strcpy(p[1].profile, "legacy");
    ck_assert_int_eq(rep_merge_sweeps(parts, 2, &p[2], err, sizeof err), -EINVAL);
    free(p[0].seeds);
    free(p[1].seeds);
    free(p);
}
END_TEST

static Suite *merge_suite(void)
{
    Suite *s = suite_create("merge");
    TCase *tc = tcase_create("merge");
    tcase_add_checked_fixture(tc, setup, fx_tmp_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_merge_shards_equal_the_whole_sweep);
    tcase_add_test(tc, test_merge_missing_shard_marks_the_run_interrupted);
    tcase_add_test(tc, test_merge_rejects_what_is_not_one_sweep);
    tcase_add_test(tc, test_merge_seed_in_two_shards_is_an_error);
    tcase_add_test(tc, test_merge_into_an_existing_database_adds_a_run);
    tcase_add_test(tc, test_merge_args_equal_ignores_slice_and_output_options);
    tcase_add_test(tc, test_merge_sweeps_checks_the_parts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(merge_suite());
}
