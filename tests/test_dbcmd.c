/*
 * test_dbcmd.c - `ctxsim db upgrade|check PATH` (reports/dbcmd.h).
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "reports/cmdline.h"
#include "reports/dbcmd.h"
#include "reports/store.h"
#include "tests/lib/rep_fixture.h"

static const rep_synth_spec spec = {.scenario = "alpha",
                                    .profile = "fixed",
                                    .rate = 0.99,
                                    .events_per_seed = 40,
                                    .expect_rate = 0.9,
                                    .latency_ns = 4000000,
                                    .salt = 1};

static void setup(void)
{
    fx_tmp_setup("dbcmd");
}

static int user_version(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

START_TEST(test_dbcmd_upgrade_migrates_in_place)
{
    char p[512], err[512], out[4096];
    fx_path(p, sizeof p, "old.db");
    ck_assert_int_eq(rep_store_create_at_version(p, 2, err, sizeof err), 0);
    ck_assert_int_eq(user_version(p), 2);
    const char *a[] = {"db", "upgrade", p, NULL};
    ck_assert_msg(fx_run_cmd(rep_cmd_db, a, NULL, out, sizeof out) == 0, "%s", out);
    ck_assert_int_eq(user_version(p), REP_SCHEMA_VERSION);
    const char *missing[] = {"db", "upgrade", "/nonexistent/dir/x.db", NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_db, missing, NULL, out, sizeof out), REP_EXIT_USAGE);
    ck_assert_msg(strstr(out, "no database at") != NULL, "%s", out);
}
END_TEST

START_TEST(test_dbcmd_check_reports_damage)
{
    char p[512], out[8192];
    fx_path(p, sizeof p, "results.db");
    rep_store *s = fx_store_open(p);
    rep_run_meta m = {.args = "ctxsim run", .started_at = 1};
    int64_t run = 0;
    ck_assert_int_eq(rep_run_begin(s, &m, &run), 0);
    fx_add_sweep(s, run, &spec, NULL, 20);
    ck_assert_int_eq(rep_run_finish(s, run, "complete"), 0);
    rep_store_close(s);
    const char *a[] = {"db", "check", p, NULL};
    ck_assert_msg(fx_run_cmd(rep_cmd_db, a, NULL, out, sizeof out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "ok") != NULL, "%s", out);
    fx_damage(p, "latency_hist");
    ck_assert_int_eq(fx_run_cmd(rep_cmd_db, a, NULL, out, sizeof out), REP_EXIT_FAIL);
    ck_assert_msg(strstr(out, "problem") && strstr(out, ".recover"), "%s", out);
}
END_TEST

START_TEST(test_dbcmd_bad_usage)
{
    char out[4096];
    const char *none[] = {"db", NULL};
    const char *bad[] = {"db", "prune", "x.db", NULL};
    const char *help[] = {"db", "--help", NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_db, none, NULL, out, sizeof out), REP_EXIT_USAGE);
    ck_assert_int_eq(fx_run_cmd(rep_cmd_db, bad, NULL, out, sizeof out), REP_EXIT_USAGE);
    ck_assert_int_eq(fx_run_cmd(rep_cmd_db, help, NULL, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "usage: ctxsim db upgrade") != NULL, "%s", out);
}
END_TEST

static Suite *dbcmd_suite(void)
{
    Suite *s = suite_create("dbcmd");
    TCase *tc = tcase_create("dbcmd");
    tcase_add_checked_fixture(tc, setup, fx_tmp_teardown);
    tcase_add_test(tc, test_dbcmd_upgrade_migrates_in_place);
    tcase_add_test(tc, test_dbcmd_check_reports_damage);
    tcase_add_test(tc, test_dbcmd_bad_usage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(dbcmd_suite());
}
