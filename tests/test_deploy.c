/*
 * test_deploy.c - the distributed-sweep recipes of deploy/: the shard
 * entrypoint of the Kubernetes Indexed Job / CI matrix (deploy/shard.sh) run
 * locally for two indices, then the merge step (deploy/merge.sh): the merged
 * run must equal the whole run seed for seed (trace hash, counts, verdict),
 * the shard must exit 0 on a failing verdict (the merged run is gated, a Job
 * must not retry it), and a missing shard or a bad index must be errors.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/lib/cli_run.h"

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ctxsim-deploy-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *scen = "scenarios/agent_before_ready.yaml scenarios/message_before_thread.yaml";
static const char *args = "--seeds 7 --profile legacy"; /* legacy fails its expect: exit 1 */

/* sh runs `ENV SCRIPT` (a shell command line) with stdout/stderr appended
 * to tmpdir/log; returns its exit status. */
static int sh(const char *env, const char *script)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s >>%s/log 2>&1 </dev/null", env, script, tmpdir);
    int st = system(cmd);
    ck_assert_int_ne(st, -1);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int shard(int index, int shards)
{
    char env[1024];
    snprintf(env, sizeof env,
             "JOB_COMPLETION_INDEX=%d SHARDS=%d OUT=%s/out CTXSIM=%s SCENARIOS='%s' "
             "CTXSIM_ARGS='%s' LABEL=t",
             index, shards, tmpdir, cli_bin(), scen, args);
    return sh(env, "deploy/shard.sh");
}

/* One text line per seed of the latest run of db: scenario, profile, seed,
 * trace hash, counts and verdict, in key order (malloc'd). */
static char *seed_rows(const char *db)
{
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    ck_assert_int_eq(
        sqlite3_prepare_v2(h,
                           "SELECT r.scenario || ' ' || r.profile || ' ' || s.seed || ' ' || "
                           "s.trace_hash || ' ' || s.expected || ' ' || s.delivered || ' ' || "
                           "s.silent_loss || ' ' || s.pass FROM seed_results s JOIN "
                           "scenario_results r ON r.id = s.scenario_result_id WHERE r.run_id = "
                           "(SELECT max(id) FROM runs) ORDER BY r.scenario, r.profile, s.seed",
                           -1, &st, NULL),
        SQLITE_OK);
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(cap, 1);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        len += (size_t)snprintf(out + len, cap - len, "%s\n", t);
        ck_assert_uint_lt(len, cap);
        n++;
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    ck_assert_int_eq(n, 2 * 7);
    return out;
}

START_TEST(test_deploy_two_shards_merge_to_the_whole_run)
{
    char whole[512], merged[512], log[512];
    snprintf(whole, sizeof whole, "%s/whole.db", tmpdir);
    snprintf(merged, sizeof merged, "%s/out/results.db", tmpdir);
    snprintf(log, sizeof log, "%s/log", tmpdir);
    ck_assert_int_eq(cli_run(tmpdir, NULL, NULL, "run %s %s --db %s -q", scen, args, whole), 1);
    ck_assert_int_eq(shard(0, 2), 0); /* recorded: exit 0 although its sweeps fail */
    ck_assert_int_eq(shard(1, 2), 0);
    char env[600];
    snprintf(env, sizeof env, "SHARDS=2 OUT=%s/out CTXSIM=%s", tmpdir, cli_bin());
    ck_assert_int_eq(sh(env, "deploy/merge.sh"), 1); /* the gate's verdict */
    char *a = seed_rows(whole), *b = seed_rows(merged);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    char path[600];
    snprintf(path, sizeof path, "%s/out/report/index.html", tmpdir);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "merge.sh drew no report");
    fclose(f);
    char *text = cli_slurp(log);
    ck_assert_ptr_nonnull(strstr(text, "shard 1/2 recorded"));
    ck_assert_ptr_nonnull(strstr(text, "shard 2/2 recorded"));
    ck_assert_ptr_nonnull(strstr(text, "gate: FAIL"));
    free(text);
    /* no partial file is left for the merge step to pick up */
    snprintf(path, sizeof path, "%s/out/.shard-1.db.partial", tmpdir);
    ck_assert_ptr_null(fopen(path, "r"));
}
END_TEST

START_TEST(test_deploy_missing_shard_and_bad_index_are_errors)
{
    ck_assert_int_eq(shard(0, 2), 0);
    char env[600];
    snprintf(env, sizeof env, "SHARDS=2 OUT=%s/out CTXSIM=%s", tmpdir, cli_bin());
    ck_assert_int_eq(sh(env, "deploy/merge.sh"), 2);
    ck_assert_int_eq(shard(2, 2), 2); /* index 2 of 0..1 */
    char log[512];
    snprintf(log, sizeof log, "%s/log", tmpdir);
    char *text = cli_slurp(log);
    ck_assert_ptr_nonnull(strstr(text, "shard(s) 2 of 2 are missing"));
    ck_assert_ptr_nonnull(strstr(text, "index 2 is outside 0..1"));
    free(text);
    /* bad input to ctxsim is not swallowed as a verdict: 2, not 0 */
    char env2[1024];
    snprintf(env2, sizeof env2,
             "JOB_COMPLETION_INDEX=0 SHARDS=1 OUT=%s/out2 CTXSIM=%s SCENARIOS=nosuch.yaml", tmpdir,
             cli_bin());
    ck_assert_int_eq(sh(env2, "deploy/shard.sh"), 2);
}
END_TEST

static Suite *deploy_suite(void)
{
    Suite *s = suite_create("deploy");
    TCase *tc = tcase_create("shards");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_deploy_two_shards_merge_to_the_whole_run);
    tcase_add_test(tc, test_deploy_missing_shard_and_bad_index_are_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(deploy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
