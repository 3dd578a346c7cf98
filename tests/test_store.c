/*
 * test_store.c - the results store: open, migrations, recording sweeps
 * atomically, kill safety, reading back, replay lines.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reports/query.h"
#include "reports/replay.h"
#include "reports/store.h"
#include "reports/synth.h"
#include "reports/verdict.h"
#include "sim/coverage.h"
#include "tests/lib/rep_fixture.h"

static void setup(void)
{
    fx_tmp_setup("store");
}

/* One integer from a SQL query (bound: nothing). */
static int64_t sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void sql_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(buf, len, "%s", t ? (const char *)t : "");
    sqlite3_finalize(st);
}

static int has_column(sqlite3 *db, const char *table, const char *col)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pragma_table_info('%s') WHERE name = '%s'",
             table, col);
    return sql_int(db, sql) == 1;
}

static rep_synth_spec spec_of(const char *scenario, const char *profile, double rate)
{
    rep_synth_spec sp = {.scenario = scenario,
                         .profile = profile,
                         .rate = rate,
                         .events_per_seed = 40,
                         .expect_rate = 0.99,
                         .latency_ns = 30000000,
                         .salt = 1};
    return sp;
}

static int64_t begin(rep_store *s, const char *label)
{
    rep_run_meta m = {.label = label,
                      .git_rev = "deadbeef",
                      .tool_version = "test",
                      .args = "ctxsim run",
                      .started_at = 1};
    int64_t id = 0;
    ck_assert_int_eq(rep_run_begin(s, &m, &id), 0);
    ck_assert_int_gt(id, 0);
    return id;
}

START_TEST(test_store_open_creates_parent_dir_and_wal)
{
    char p[512];
    fx_path(p, sizeof p, "a/b/results.db");
    rep_store *s = fx_store_open(p);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    sqlite3 *db = rep_store_db(s);
    char mode[32];
    sql_text(db, "PRAGMA journal_mode", mode, sizeof mode);
    ck_assert_str_eq(mode, "wal");
    ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), REP_SCHEMA_VERSION);
    ck_assert_int_eq(sql_int(db, "PRAGMA foreign_keys"), 1);
    rep_store_close(s);
}
END_TEST

START_TEST(test_store_schema_has_every_count_column)
{
    char p[512];
    fx_path(p, sizeof p, "results.db");
    rep_store *s = fx_store_open(p);
    sqlite3 *db = rep_store_db(s);
    for (int i = 0; i < SIM_COUNT__N; i++) {
        ck_assert_msg(has_column(db, "scenario_results", sim_count_name(i)), "%s",
                      sim_count_name(i));
        ck_assert_msg(has_column(db, "seed_results", sim_count_name(i)), "%s", sim_count_name(i));
    }
    static const char *const other[][2] = {{"runs", "label"},
                                           {"runs", "status"},
                                           {"runs", "shard"},
                                           {"runs", "pid"},
                                           {"scenario_results", "expect_json"},
                                           {"scenario_results", "rate_lo"},
                                           {"scenario_results", "p99_ns"},
                                           {"seed_results", "trace_hash"},
                                           {"failures", "replay"},
                                           {"latency_hist", "bucket_low_ns"}};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        ck_assert_msg(has_column(db, other[i][0], other[i][1]), "%s.%s", other[i][0], other[i][1]);
    rep_store_close(s);
}
END_TEST

/* reports/schema.sql documents the schema: every column must be in it. */
START_TEST(test_store_schema_doc_lists_every_column)
{
    FILE *f = fopen("reports/schema.sql", "r");
    ck_assert_msg(f != NULL, "reports/schema.sql (tests run from the repository root)");
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    doc[n] = '\0';
    fclose(f);
    char p[512];
    fx_path(p, sizeof p, "results.db");
    rep_store *s = fx_store_open(p);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(rep_store_db(s),
                                        "SELECT m.name, c.name FROM sqlite_schema m, "
                                        "pragma_table_info(m.name) c WHERE m.type = 'table'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int checked = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *table = (const char *)sqlite3_column_text(st, 0);
        const char *col = (const char *)sqlite3_column_text(st, 1);
        char head[128];
        snprintf(head, sizeof head, "CREATE TABLE %s (", table);
        const char *t = strstr(doc, head);
        ck_assert_msg(t != NULL, "schema.sql lacks table %s", table);
        const char *end = strstr(t, ");");
        ck_assert_ptr_nonnull(end);
        char word[96];
        snprintf(word, sizeof word, "\n  %s ", col);
        const char *w = strstr(t, word);
        ck_assert_msg(w != NULL && w < end, "schema.sql lacks %s.%s", table, col);
        checked++;
    }
    sqlite3_finalize(st);
    ck_assert_int_gt(checked, 2 * SIM_COUNT__N);
    rep_store_close(s);
}
END_TEST

START_TEST(test_store_migrates_v0_empty_file)
{
    char p[512], err[256];
    fx_path(p, sizeof p, "v0.db");
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    rep_store *s = NULL;
    ck_assert_int_eq(rep_store_open_existing(p, &s, err, sizeof err), 0);
    sqlite3 *db = rep_store_db(s);
    ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), REP_SCHEMA_VERSION);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"),
                     8); /* v6: sweep_runs, sweeps, sweep_knees */
    rep_store_close(s);
}
END_TEST

START_TEST(test_store_migrates_v1_keeping_data)
{
    char p[512], err[256];
    fx_path(p, sizeof p, "v1.db");
    ck_assert_int_eq(rep_store_create_at_version(p, 1, err, sizeof err), 0);
    sqlite3 *raw = NULL;
    ck_assert_int_eq(sqlite3_open(p, &raw), SQLITE_OK);
    ck_assert_int_eq(sql_int(raw, "PRAGMA user_version"), 1);
    ck_assert_int_eq(has_column(raw, "runs", "pid"), 0);
    ck_assert_int_eq(sqlite3_exec(raw,
                                  "INSERT INTO runs (id, started_at, label, status) VALUES (7, 1, "
                                  "'old', 'complete');"
                                  "INSERT INTO scenario_results (run_id, scenario, path, profile, "
                                  "seeds, expected, delivered, delivery_rate, rate_lo, rate_hi, "
                                  "p50_ns, p90_ns, p99_ns, max_ns, failed_seeds, pass) VALUES (7, "
                                  "'s', 's.yaml', 'fixed', 3, 100, 97, 0.97, 0.9, 0.99, 1, 2, 3, "
                                  "4, 0, 1);"
                                  "INSERT INTO seed_results (scenario_result_id, seed, trace_hash, "
                                  "steps, pass) VALUES (1, 5, '00000000000000ab', 9, 1);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(raw);

    rep_store *s = NULL;
    ck_assert_int_eq(rep_store_open_existing(p, &s, err, sizeof err), 0);
    sqlite3 *db = rep_store_db(s);
    ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), REP_SCHEMA_VERSION);
    ck_assert(has_column(db, "runs", "pid"));
    ck_assert(has_column(db, "runs", "host"));
    ck_assert(has_column(db, "seed_results", "queue_peak"));
    ck_assert(has_column(db, "seed_results", "queue_mean"));
    ck_assert(has_column(db, "scenario_results", "coverage")); /* v5 */
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM scenario_results WHERE coverage IS NULL"),
                     1);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND "
                                 "name = 'scenario_results_run'"),
                     1);
    /* the old data reads back through the current code */
    rep_sweep *v = NULL;
    size_t n = 0;
    ck_assert_int_eq(rep_sweeps_load(s, 7, REP_LOAD_SEEDS, &v, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(v[0].r.c[SIM_COUNT_DELIVERED], 97);
    ck_assert_int_eq(v[0].has_coverage, 0); /* recorded before v5: no coverage */
    ck_assert_uint_eq(v[0].r.coverage, 0);
    /* a seed recorded before v3 reads back with no queue depth */
    ck_assert_uint_eq(v[0].r.nseeds, 1);
    ck_assert_uint_eq(v[0].r.seeds[0].trace_hash, 0xab);
    ck_assert_uint_eq(v[0].r.seeds[0].queue_peak, 0);
    ck_assert_uint_eq(v[0].r.seeds[0].queue_mean, 0);
    ck_assert_double_eq_tol(v[0].r.delivery_rate, 0.97, 1e-12);
    ck_assert(v[0].r.expect_rate < 0); /* '{}': no expectation */
    rep_sweeps_free(v, n);
    rep_run_info ri;
    ck_assert_int_eq(rep_run_get(s, 7, &ri), 0);
    ck_assert_str_eq(ri.label, "old");
    ck_assert_int_eq(ri.incomplete, 0);
    rep_store_close(s);
}
END_TEST

START_TEST(test_store_rejects_newer_schema)
{
    char p[512], err[256] = "";
    fx_path(p, sizeof p, "future.db");
    sqlite3 *raw = NULL;
    ck_assert_int_eq(sqlite3_open(p, &raw), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", REP_SCHEMA_VERSION + 1);
    ck_assert_int_eq(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    rep_store *s = NULL;
    ck_assert_int_eq(rep_store_open(p, &s, err, sizeof err), -EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, "newer") != NULL, "%s", err);
}
END_TEST

START_TEST(test_store_open_existing_does_not_create)
{
    char p[512], err[256] = "";
    fx_path(p, sizeof p, "nope/results.db");
    rep_store *s = NULL;
    ck_assert_int_eq(rep_store_open_existing(p, &s, err, sizeof err), -ENOENT);
    ck_assert_msg(strstr(err, "no database") != NULL, "%s", err);
    struct stat st;
    ck_assert_int_ne(stat(p, &st), 0);
}
END_TEST

START_TEST(test_store_not_a_database_is_an_error)
{
    char p[512], err[256] = "";
    fx_path(p, sizeof p, "junk.db");
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not sqlite ", f);
    fclose(f);
    rep_store *s = NULL;
    ck_assert_int_eq(rep_store_open(p, &s, err, sizeof err), -EINVAL);
    ck_assert_msg(strlen(err) > 0, "an error message");
}
END_TEST

START_TEST(test_store_adds_count_column_missing_from_an_old_database)
{
    char p[512];
    fx_path(p, sizeof p, "results.db");
    rep_store_close(fx_store_open(p));
    sqlite3 *raw = NULL;
    ck_assert_int_eq(sqlite3_open(p, &raw), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_exec(raw, "ALTER TABLE seed_results DROP COLUMN stranded", NULL, NULL, NULL),
        SQLITE_OK);
    ck_assert_int_eq(has_column(raw, "seed_results", "stranded"), 0);
    sqlite3_close(raw);
    rep_store *s = fx_store_open(p);
    ck_assert(has_column(rep_store_db(s), "seed_results", "stranded"));
    rep_store_close(s);
}
END_TEST

START_TEST(test_store_sweep_round_trips)
{
    char p[512];
    fx_path(p, sizeof p, "results.db");
    rep_store *s = fx_store_open(p);
    int64_t run = begin(s, "rt");
    rep_synth_spec sp = spec_of("message_before_thread", "legacy", 0.9);
    sp.policy = "exec_grace=5000000000,verify_before_notify=0";
    sim_sweep_result r;
    ck_assert_int_eq(rep_synth_sweep(&sp, NULL, 30, &r), 0);
    ck_assert_int_gt(r.failed_seeds, 0); /* legacy: some seeds fail */
    r.coverage = SIM_COV_BIT(SIM_BEH_TIMER_PENDING) | SIM_COV_BIT(SIM_BEH_QUEUED) |
                 SIM_COV_BIT(SIM_BEH_SAME_THREAD_TABS);
    ck_assert_int_eq(rep_run_add_sweep(s, run, &r), 0);
    ck_assert_int_eq(rep_run_finish(s, run, "complete"), 0);

    rep_sweep *v = NULL;
    size_t n = 0;
    ck_assert_int_eq(rep_sweeps_load(s, run, REP_LOAD_SEEDS | REP_LOAD_HIST, &v, &n), 0);
    ck_assert_uint_eq(n, 1);
    const sim_sweep_result *q = &v[0].r;
    ck_assert_str_eq(q->scenario, r.scenario);
    ck_assert_str_eq(q->path, r.path);
    ck_assert_str_eq(q->policy, r.policy);
    ck_assert_uint_eq(q->nseeds, r.nseeds);
    for (int i = 0; i < SIM_COUNT__N; i++)
        ck_assert_uint_eq(q->c[i], r.c[i]);
    ck_assert_double_eq(q->delivery_rate, r.delivery_rate);
    ck_assert_double_eq(q->rate_lo, r.rate_lo);
    ck_assert_double_eq(q->expect_rate, r.expect_rate);
    for (int i = 0; i < SIM_COUNT__N; i++)
        ck_assert_int_eq(q->expect_max[i], r.expect_max[i]);
    ck_assert_uint_eq(q->p99, r.p99);
    ck_assert_uint_eq(q->pmax, r.pmax);
    ck_assert_int_eq(q->pass, r.pass);
    ck_assert_str_eq(q->reason, r.reason);
    ck_assert_int_eq(v[0].has_coverage, 1);
    ck_assert_uint_eq(q->coverage, r.coverage);
    ck_assert_uint_eq(q->latency.count, r.latency.count);
    for (int i = 0; i < SIM_HIST_BUCKETS; i++)
        ck_assert_uint_eq(q->latency.b[i], r.latency.b[i]);
    ck_assert_uint_eq(sim_hist_quantile(&q->latency, 0.5), sim_hist_quantile(&r.latency, 0.5));
    for (uint32_t i = 0; i < r.nseeds; i++) {
        ck_assert_uint_eq(q->seeds[i].seed, r.seeds[i].seed);
        ck_assert_uint_eq(q->seeds[i].trace_hash, r.seeds[i].trace_hash);
        ck_assert_uint_eq(q->seeds[i].steps, r.seeds[i].steps);
        ck_assert_uint_eq(q->seeds[i].events, r.seeds[i].events);
        ck_assert_uint_eq(q->seeds[i].end_time, r.seeds[i].end_time);
        ck_assert_uint_gt(r.seeds[i].queue_peak, 0);
        ck_assert_uint_eq(q->seeds[i].queue_peak, r.seeds[i].queue_peak);
        ck_assert_uint_eq(q->seeds[i].queue_mean, r.seeds[i].queue_mean);
        ck_assert_int_eq(q->seeds[i].pass, r.seeds[i].pass);
        ck_assert_str_eq(q->seeds[i].reason, r.seeds[i].reason);
        for (int k = 0; k < SIM_COUNT__N; k++)
            ck_assert_uint_eq(q->seeds[i].c[k], r.seeds[i].c[k]);
    }
    /* one failures row per failing seed, with its replay line, then one
     * per worst seed (kind 'worst') */
    rep_failure *f = NULL;
    size_t nf = 0, total = 0;
    ck_assert_int_eq(rep_failures_load(s, v[0].id, 1000, &f, &nf, &total), 0);
    ck_assert_uint_eq(total, r.failed_seeds + r.worst_seeds);
    ck_assert_uint_eq(nf, total);
    for (size_t j = r.failed_seeds; j < nf; j++)
        ck_assert_str_eq(f[j].kind, "worst");
    size_t k = 0;
    for (uint32_t i = 0; i < r.nseeds; i++) {
        if (r.seeds[i].pass)
            continue;
        char line[1024];
        ck_assert_int_eq(rep_replay_command(&r, r.seeds[i].seed, line, sizeof line), 0);
        ck_assert_uint_eq(f[k].seed, r.seeds[i].seed);
        ck_assert_str_eq(f[k].replay, line);
        ck_assert_str_eq(f[k].detail, r.seeds[i].reason);
        ck_assert_str_eq(f[k].kind, rep_seed_failure_kind(&r, &r.seeds[i]));
        k++;
    }
    free(f);
    rep_sweeps_free(v, n);
    free(r.seeds);
    rep_store_close(s);
}
END_TEST

START_TEST(test_store_add_sweep_is_all_or_nothing)
{
    char p[512];
    fx_path(p, sizeof p, "results.db");
    rep_store *s = fx_store_open(p);
    sqlite3 *db = rep_store_db(s);
    int64_t run = begin(s, NULL);
    /* the last insert of the transaction (the histogram) fails */
    ck_assert_int_eq(sqlite3_exec(db,
                                  "CREATE TEMP TRIGGER boom BEFORE INSERT ON latency_hist BEGIN "
                                  "SELECT RAISE(ABORT, 'injected'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    rep_synth_spec sp = spec_of("agent_before_ready", "legacy", 0.8);
    sim_sweep_result r;
    ck_assert_int_eq(rep_synth_sweep(&sp, NULL, 12, &r), 0);
    ck_assert_int_gt(r.failed_seeds, 0);
    ck_assert_int_eq(rep_run_add_sweep(s, run, &r), -EIO);
    ck_assert_ptr_nonnull(strstr(rep_store_errmsg(s), "injected"));
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM scenario_results"), 0);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM seed_results"), 0);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM failures"), 0);
    ck_assert_int_eq(sqlite3_exec(db, "DROP TRIGGER boom", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(rep_run_add_sweep(s, run, &r), 0);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM scenario_results"), 1);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM seed_results"), r.nseeds);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM failures"), r.failed_seeds);
    free(r.seeds);
    rep_store_close(s);
}
END_TEST

START_TEST(test_store_run_status_life_cycle)
{
    char p[512];
    fx_path(p, sizeof p, "results.db");
    rep_store *s = fx_store_open(p);
    int64_t run = begin(s, "life");
    rep_run_info ri;
    ck_assert_int_eq(rep_run_get(s, run, &ri), 0);
    ck_assert_str_eq(ri.status, "running");
    ck_assert_int_eq(ri.live, 1); /* this process */
    ck_assert_int_eq(ri.incomplete, 0);
    ck_assert_int_eq(ri.pid, (int64_t)getpid());
    ck_assert_int_eq(rep_run_finish(s, run, "done"), -EINVAL);
    ck_assert_int_eq(rep_run_finish(s, run + 100, "complete"), -EINVAL);
    ck_assert_int_eq(rep_run_finish(s, run, "complete"), 0);
    ck_assert_int_eq(rep_run_get(s, run, &ri), 0);
    ck_assert_str_eq(ri.status, "complete");
    ck_assert_int_gt(ri.finished_at, 0);
    ck_assert_int_eq(ri.live, 0);
    /* a finished run takes no more sweeps */
    rep_synth_spec sp = spec_of("x", "fixed", 0.99);
    sim_sweep_result r;
    ck_assert_int_eq(rep_synth_sweep(&sp, NULL, 2, &r), 0);
    ck_assert_int_eq(rep_run_add_sweep(s, run, &r), -EINVAL);
    ck_assert_int_eq(rep_run_add_sweep(s, run + 100, &r), -EINVAL);
    free(r.seeds);
    /* bad shard strings */
    rep_run_meta m = {.shard = "3/2"};
    int64_t id;
    ck_assert_int_eq(rep_run_begin(s, &m, &id), -EINVAL);
    m.shard = "1/x";
    ck_assert_int_eq(rep_run_begin(s, &m, &id), -EINVAL);
    m.shard = "2/3";
    ck_assert_int_eq(rep_run_begin(s, &m, &id), 0);
    ck_assert_int_eq(rep_run_get(s, id, &ri), 0);
    ck_assert_str_eq(ri.shard, "2/3");
    rep_store_close(s);
}
END_TEST

START_TEST(test_store_run_of_a_dead_process_is_incomplete)
{
    char p[512];
    fx_path(p, sizeof p, "results.db");
    rep_store_close(fx_store_open(p));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        rep_store *s = NULL;
        char err[256];
        if (rep_store_open(p, &s, err, sizeof err) != 0)
            _exit(3);
        rep_run_meta m = {.label = "dies"};
        int64_t id;
        _exit(rep_run_begin(s, &m, &id) == 0 ? 0 : 4); /* never finished */
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    rep_store *s = fx_store_open(p);
    int64_t id = 0;
    ck_assert_int_eq(rep_run_resolve(s, "dies", &id), 0);
    rep_run_info ri;
    ck_assert_int_eq(rep_run_get(s, id, &ri), 0);
    ck_assert_str_eq(ri.status, "running");
    ck_assert_int_eq(ri.live, 0);
    ck_assert_int_eq(ri.incomplete, 1);
    rep_store_close(s);
}
END_TEST

/* A child records sweeps of `seeds` seeds into one run forever, writing a
 * byte to fd after each commit. */
static void record_forever(const char *path, int fd, uint32_t seeds)
{
    rep_store *s = NULL;
    char err[256];
    if (rep_store_open(path, &s, err, sizeof err) != 0)
        _exit(3);
    rep_run_meta m = {.label = "killed"};
    int64_t run;
    if (rep_run_begin(s, &m, &run) != 0)
        _exit(4);
    for (int i = 0;; i++) {
        char name[32];
        snprintf(name, sizeof name, "scenario_%03d", i);
        rep_synth_spec sp = spec_of(name, i % 2 ? "legacy" : "fixed", 0.9);
        sp.events_per_seed = 10;
        sim_sweep_result r;
        if (rep_synth_sweep(&sp, NULL, seeds, &r) != 0 || rep_run_add_sweep(s, run, &r) != 0)
            _exit(5);
        free(r.seeds);
        if (write(fd, "x", 1) != 1)
            _exit(6);
    }
}

START_TEST(test_store_sigkill_keeps_finished_sweeps)
{
    static const int after[] = {1, 3, 6};
    for (size_t t = 0; t < sizeof after / sizeof after[0]; t++) {
        char p[512];
        char name[32];
        snprintf(name, sizeof name, "killed%zu.db", t);
        fx_path(p, sizeof p, name);
        int fds[2];
        ck_assert_int_eq(pipe(fds), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(fds[0]);
            record_forever(p, fds[1], 400);
        }
        close(fds[1]);
        /* wait for N commits, then kill: the child is then inside the
         * next sweep's transaction or just past it */
        for (int k = 0; k < after[t]; k++) {
            char c;
            ck_assert_int_eq(read(fds[0], &c, 1), 1);
        }
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        int st = 0;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        close(fds[0]);

        rep_store *s = fx_store_open(p);
        sqlite3 *db = rep_store_db(s);
        char ok[64];
        sql_text(db, "PRAGMA integrity_check", ok, sizeof ok);
        ck_assert_str_eq(ok, "ok");
        int64_t n = sql_int(db, "SELECT count(*) FROM scenario_results");
        ck_assert_msg(n == after[t] || n == after[t] + 1, "%lld sweeps after %d commits",
                      (long long)n, after[t]);
        /* every recorded sweep is whole */
        ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM scenario_results r WHERE seeds != "
                                     "(SELECT count(*) FROM seed_results WHERE "
                                     "scenario_result_id = r.id)"),
                         0);
        ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM scenario_results r WHERE failed_seeds "
                                     "!= (SELECT count(*) FROM failures WHERE "
                                     "scenario_result_id = r.id AND kind <> 'worst')"),
                         0);
        int64_t run = 0;
        ck_assert_int_eq(rep_run_resolve(s, "killed", &run), 0);
        rep_run_info ri;
        ck_assert_int_eq(rep_run_get(s, run, &ri), 0);
        ck_assert_str_ne(ri.status, "complete");
        ck_assert_int_eq(ri.incomplete, 1);
        rep_store_close(s);
    }
}
END_TEST

START_TEST(test_store_two_processes_write_at_once)
{
    char p[512];
    fx_path(p, sizeof p, "shared.db");
    rep_store_close(fx_store_open(p));
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] == 0) {
            rep_store *s = NULL;
            char err[256];
            if (rep_store_open(p, &s, err, sizeof err) != 0)
                _exit(3);
            rep_run_meta m = {.label = k ? "b" : "a"};
            int64_t run;
            if (rep_run_begin(s, &m, &run) != 0)
                _exit(4);
            for (int i = 0; i < 15; i++) {
                rep_synth_spec sp = spec_of(k ? "b" : "a", "fixed", 0.99);
                sp.salt = (uint64_t)i;
                sim_sweep_result r;
                if (rep_synth_sweep(&sp, NULL, 20, &r) != 0 || rep_run_add_sweep(s, run, &r) != 0)
                    _exit(5);
                free(r.seeds);
            }
            _exit(rep_run_finish(s, run, "complete") == 0 ? 0 : 6);
        }
    }
    for (int k = 0; k < 2; k++) {
        int st = 0;
        ck_assert_int_eq(waitpid(kids[k], &st, 0), kids[k]);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d failed (%d)", k,
                      WEXITSTATUS(st));
    }
    rep_store *s = fx_store_open(p);
    ck_assert_int_eq(sql_int(rep_store_db(s), "SELECT count(*) FROM scenario_results"), 30);
    ck_assert_int_eq(sql_int(rep_store_db(s), "SELECT count(*) FROM seed_results"), 600);
    rep_store_close(s);
}
END_TEST

START_TEST(test_store_resolve_run_and_baseline)
{
    char p[512];
    fx_path(p, sizeof p, "results.db");
    rep_store *s = fx_store_open(p);
    int64_t id = 0, base = -1;
    ck_assert_int_eq(rep_run_resolve(s, NULL, &id), -ENOENT);
    int64_t a = begin(s, "nightly");
    rep_run_finish(s, a, "complete");
    int64_t b = begin(s, "pr");
    rep_run_finish(s, b, "interrupted");
    int64_t c = begin(s, "nightly");
    rep_run_finish(s, c, "failed");
    int64_t d = begin(s, "pr");
    ck_assert_int_eq(rep_run_resolve(s, NULL, &id), 0);
    ck_assert_int_eq(id, d);
    ck_assert_int_eq(rep_run_resolve(s, "", &id), 0);
    ck_assert_int_eq(id, d);
    ck_assert_int_eq(rep_run_resolve(s, "nightly", &id), 0);
    ck_assert_int_eq(id, c);
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)b);
    ck_assert_int_eq(rep_run_resolve(s, num, &id), 0);
    ck_assert_int_eq(id, b);
    ck_assert_int_eq(rep_run_resolve(s, "999", &id), -ENOENT);
    ck_assert_int_eq(rep_run_resolve(s, "nosuchlabel", &id), -ENOENT);
    /* baseline: the latest 'complete' run before */
    ck_assert_int_eq(rep_run_baseline(s, d, &base), 0);
    ck_assert_int_eq(base, a);
    ck_assert_int_eq(rep_run_baseline(s, a, &base), 0);
    ck_assert_int_eq(base, 0);
    rep_store_close(s);
}
END_TEST

START_TEST(test_store_replay_command_lines)
{
    sim_sweep_result *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    strcpy(r->scenario, "message_before_thread");
    strcpy(r->path, "scenarios/message_before_thread.yaml");
    strcpy(r->profile, "fixed");
    strcpy(r->policy, "exec_grace=5s,verify_before_notify=0");
    char buf[512];
    ck_assert_int_eq(rep_replay_command(r, 42, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "ctxsim replay scenarios/message_before_thread.yaml --seed 42 "
                          "--profile fixed --policy exec_grace=5s --policy "
                          "verify_before_notify=0");
    /* no policy, the largest seed */
    r->policy[0] = '\0';
    ck_assert_int_eq(rep_replay_command(r, UINT64_MAX, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "ctxsim replay scenarios/message_before_thread.yaml --seed "
                          "18446744073709551615 --profile fixed");
    /* a path a shell would split is quoted */
    strcpy(r->path, "my scenarios/it's.yaml");
    ck_assert_int_eq(rep_replay_command(r, 1, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "ctxsim replay 'my scenarios/it'\\''s.yaml' --seed 1 --profile fixed");
    /* too small: -ENOSPC and an empty buffer */
    ck_assert_int_eq(rep_replay_command(r, 1, buf, 20), -ENOSPC);
    ck_assert_str_eq(buf, "");
    ck_assert_int_eq(rep_replay_command(NULL, 1, buf, sizeof buf), -EINVAL);
    free(r);
}
END_TEST

START_TEST(test_store_expect_json_round_trips)
{
    sim_sweep_result *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    r->expect_rate = 0.99;
    for (int i = 0; i < SIM_COUNT__N; i++)
        r->expect_max[i] = -1;
    r->expect_max[SIM_COUNT_MISROUTED] = 0;
    r->expect_max[SIM_COUNT_DUPLICATED] = 3;
    char *js = NULL;
    ck_assert_int_eq(rep_expect_json(r, &js), 0);
    double rate;
    int64_t max[SIM_COUNT__N];
    ck_assert_int_eq(rep_expect_parse(js, &rate, max), 0);
    ck_assert(rate == r->expect_rate); /* bit for bit */
    for (int i = 0; i < SIM_COUNT__N; i++)
        ck_assert_int_eq(max[i], r->expect_max[i]);
    free(js);
    r->expect_rate = -1;
    r->expect_max[SIM_COUNT_MISROUTED] = -1;
    r->expect_max[SIM_COUNT_DUPLICATED] = -1;
    ck_assert_int_eq(rep_expect_json(r, &js), 0);
    ck_assert_str_eq(js, "{}");
    free(js);
    ck_assert_int_eq(rep_expect_parse("{\"max\":{\"no_such_count\":1}}", &rate, max), 0);
    ck_assert_int_eq(rep_expect_parse("{\"delivery_rate\":\"x\"}", &rate, max), -EINVAL);
    ck_assert_int_eq(rep_expect_parse("not json", &rate, max), -EINVAL);
    free(r);
}
END_TEST

START_TEST(test_store_verdict_rule)
{
    sim_sweep_result *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    for (int i = 0; i < SIM_COUNT__N; i++)
        r->expect_max[i] = -1;
    r->expect_rate = 0.9;
    r->c[SIM_COUNT_EXPECTED] = 100;
    r->c[SIM_COUNT_DELIVERED] = 90;
    int pass = -1;
    char why[256];
    ck_assert_int_eq(rep_sweep_evaluate(r, &pass, why, sizeof why), 0);
    ck_assert_int_eq(pass, 1);
    ck_assert_str_eq(why, "");
    r->c[SIM_COUNT_DELIVERED] = 89;
    rep_sweep_evaluate(r, &pass, why, sizeof why);
    ck_assert_int_eq(pass, 0);
    ck_assert_ptr_nonnull(strstr(why, "delivery_rate"));
    r->c[SIM_COUNT_DELIVERED] = 95;
    r->expect_max[SIM_COUNT_MISROUTED] = 0;
    r->c[SIM_COUNT_MISROUTED] = 1;
    rep_sweep_evaluate(r, &pass, why, sizeof why);
    ck_assert_int_eq(pass, 0);
    ck_assert_ptr_nonnull(strstr(why, "misrouted"));
    /* liveness fails with no maximum written */
    r->c[SIM_COUNT_MISROUTED] = 0;
    r->c[SIM_COUNT_STRANDED] = 2;
    rep_sweep_evaluate(r, &pass, why, sizeof why);
    ck_assert_int_eq(pass, 0);
    ck_assert_ptr_nonnull(strstr(why, "liveness: stranded"));
    /* nothing expected: inconclusive, never a pass... */
    memset(r->c, 0, sizeof r->c);
    rep_sweep_evaluate(r, &pass, why, sizeof why);
    ck_assert_int_eq(pass, 0);
    ck_assert_ptr_nonnull(strstr(why, "inconclusive"));
    /* ...unless the scenario declares it expects none */
    r->expect_max[SIM_COUNT_EXPECTED] = 0;
    rep_sweep_evaluate(r, &pass, why, sizeof why);
    ck_assert_int_eq(pass, 1);
    ck_assert_str_eq(why, "");
    /* every miss is listed */
    r->expect_max[SIM_COUNT_EXPECTED] = -1;
    r->c[SIM_COUNT_EXPECTED] = 100;
    r->c[SIM_COUNT_DELIVERED] = 50;
    r->c[SIM_COUNT_MISROUTED] = 1;
    r->c[SIM_COUNT_STRANDED] = 3;
    rep_sweep_evaluate(r, &pass, why, sizeof why);
    ck_assert_int_eq(pass, 0);
    ck_assert_ptr_nonnull(strstr(why, "delivery_rate 0.5000"));
    ck_assert_ptr_nonnull(strstr(why, "; misrouted 1 > 0"));
    ck_assert_ptr_nonnull(strstr(why, "; liveness: stranded 3 > 0"));
    free(r);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, fx_tmp_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_store_open_creates_parent_dir_and_wal);
    tcase_add_test(tc, test_store_schema_has_every_count_column);
    tcase_add_test(tc, test_store_schema_doc_lists_every_column);
    tcase_add_test(tc, test_store_migrates_v0_empty_file);
    tcase_add_test(tc, test_store_migrates_v1_keeping_data);
    tcase_add_test(tc, test_store_rejects_newer_schema);
    tcase_add_test(tc, test_store_open_existing_does_not_create);
    tcase_add_test(tc, test_store_not_a_database_is_an_error);
    tcase_add_test(tc, test_store_adds_count_column_missing_from_an_old_database);
    tcase_add_test(tc, test_store_sweep_round_trips);
    tcase_add_test(tc, test_store_add_sweep_is_all_or_nothing);
    tcase_add_test(tc, test_store_run_status_life_cycle);
    tcase_add_test(tc, test_store_run_of_a_dead_process_is_incomplete);
    tcase_add_test(tc, test_store_sigkill_keeps_finished_sweeps);
    tcase_add_test(tc, test_store_two_processes_write_at_once);
    tcase_add_test(tc, test_store_resolve_run_and_baseline);
    tcase_add_test(tc, test_store_replay_command_lines);
    tcase_add_test(tc, test_store_expect_json_round_trips);
    tcase_add_test(tc, test_store_verdict_rule);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(store_suite());
}
