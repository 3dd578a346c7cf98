/*
 * test_sweep_cli.c - `ctxsim sweep`, its database rows, `ctxsim report`'s
 * sweep charts and `ctxsim timing`, end to end ($CTXSIM).  Small sweeps
 * (few seeds, few values): seconds in all.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/rep_fixture.h"
#include "reports/store.h"
#include "tests/lib/cli_run.h"

static char dir[] = "/tmp/ctxsim-sweep-XXXXXX";

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_sweep_cli: could not remove %s\n", dir);
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

START_TEST(test_sweep_cli_table_knee_and_rows)
{
    char *out = NULL, *err = NULL, db[128];
    snprintf(db, sizeof db, "%s/a.db", dir);
    int rc = cli_run(dir, &out, &err,
                     "sweep scenarios/message_before_thread.yaml --vary exec_grace=0..3s --steps 4 "
                     "--seeds 5 --db %s",
                     db);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    ck_assert_ptr_nonnull(strstr(out, "exec_grace"));
    ck_assert_ptr_nonnull(strstr(out, "\n1s "));
    ck_assert_ptr_nonnull(strstr(out, "knee: with thread_lookup"));
    ck_assert_ptr_nonnull(strstr(out, "recorded as sweep 1"));
    ck_assert_int_eq(fx_sql_int(db, "PRAGMA user_version"), REP_SCHEMA_VERSION);
    ck_assert_int_eq(fx_sql_int(db, "SELECT count(*) FROM sweeps WHERE parameter = 'exec_grace'"),
                     4);
    ck_assert_int_eq(fx_sql_int(db, "SELECT count(*) FROM sweeps WHERE expected > 0 AND rate_lo <= "
                                    "delivery_rate AND delivery_rate <= rate_hi"),
                     4);
    ck_assert_int_eq(fx_sql_int(db, "SELECT count(*) FROM sweep_knees WHERE status = 'all'"), 1);
    ck_assert_int_eq(fx_sql_int(db, "SELECT count(*) FROM runs"), 0); /* apart from ctxsim run */
    free(out);
    free(err);
    /* the report draws it */
    rc = cli_run(dir, &out, &err, "report --db %s --out %s/rep", db, dir);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    char png[256];
    snprintf(png, sizeof png, "%s/rep/sweep1_rate.png", dir);
    ck_assert(exists(png));
    snprintf(png, sizeof png, "%s/rep/sweep1_rate.svg", dir);
    ck_assert(exists(png));
    snprintf(png, sizeof png, "%s/rep/sweep1_causes_fixed.png", dir);
    ck_assert(exists(png));
    snprintf(png, sizeof png, "%s/rep/sweeps.html", dir);
    ck_assert(exists(png));
    free(out);
    free(err);
}
END_TEST

START_TEST(test_sweep_cli_bad_parameter_exit_2_lists_variables)
{
    char *out = NULL, *err = NULL, db[128];
    snprintf(db, sizeof db, "%s/bad.db", dir);
    int rc =
        cli_run(dir, &out, &err,
                "sweep scenarios/message_before_thread.yaml --vary exec_grase=0..3s --db %s", db);
    ck_assert_int_eq(rc, 2);
    ck_assert_ptr_nonnull(strstr(err, "exec_grase"));
    ck_assert_ptr_nonnull(strstr(err, "event_ttl"));
    ck_assert_ptr_nonnull(strstr(err, "server.thread_lookup."));
    ck_assert(!exists(db)); /* nothing written */
    free(out);
    free(err);
    rc = cli_run(dir, &out, &err,
                 "sweep scenarios/message_before_thread.yaml --vary exec_grace=0..3 --no-db");
    ck_assert_int_eq(rc, 2);
    ck_assert_ptr_nonnull(strstr(err, "unit"));
    free(out);
    free(err);
    rc = cli_run(dir, &out, &err, "sweep scenarios/message_before_thread.yaml --no-db");
    ck_assert_int_eq(rc, 2);
    ck_assert_ptr_nonnull(strstr(err, "exec_grace"));
    free(out);
    free(err);
}
END_TEST

START_TEST(test_sweep_cli_same_table_twice_jobs_alike)
{
    char *a = NULL, *b = NULL;
    const char *cmd = "sweep scenarios/requirements/update_retries.yaml --vary update_retries=0..3 "
                      "--steps 4 --seeds 8 --no-db --format json --jobs %d";
    ck_assert_int_eq(cli_run(dir, &a, NULL, cmd, 1), 0);
    ck_assert_int_eq(cli_run(dir, &b, NULL, cmd, 2), 0);
    ck_assert_str_eq(a, b);
    ck_assert_ptr_nonnull(strstr(a, "\"trace_digest\""));
    ck_assert_ptr_nonnull(strstr(a, "\"knees\""));
    free(a);
    free(b);
}
END_TEST

START_TEST(test_sweep_cli_grid_draws_heatmap)
{
    char *out = NULL, *err = NULL, db[128];
    snprintf(db, sizeof db, "%s/g.db", dir);
    int rc = cli_run(dir, &out, &err,
                     "sweep scenarios/requirements/thread_propagation.yaml --vary "
                     "server.thread_lookup.p99=200ms..2s --vary exec_grace=0..3s --steps 3 "
                     "--seeds 4 --db %s",
                     db);
    ck_assert_msg(rc == 0 || rc == 1, "rc %d: %s", rc, err);
    ck_assert_ptr_nonnull(strstr(out, "frontier:"));
    ck_assert_int_eq(fx_sql_int(db, "SELECT count(*) FROM sweep_knees"), 3);
    ck_assert_int_ge(fx_sql_int(db, "SELECT count(*) FROM sweeps WHERE parameter2 = 'exec_grace'"),
                     9);
    free(out);
    free(err);
    rc = cli_run(dir, &out, &err, "report --db %s --out %s/grid", db, dir);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    char png[256];
    snprintf(png, sizeof png, "%s/grid/sweep1_heatmap.png", dir);
    ck_assert(exists(png));
    free(out);
    free(err);
}
END_TEST

/* strip drops the lines that carry the commit and the date. */
static void strip(char *s)
{
    char *w = s;
    for (char *line = s; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
        if (strncmp(line, "Generated:", 10) != 0 && strncmp(line, "Measured:", 9) != 0) {
            memmove(w, line, len);
            w += len;
        }
        line += len;
    }
    *w = '\0';
}

START_TEST(test_sweep_cli_timing_document_deterministic)
{
    char plan[128], *docs[2] = {NULL, NULL};
    snprintf(plan, sizeof plan, "%s/plan.txt", dir);
    FILE *f = fopen(plan, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "# a small plan\n[retries]\ntitle: Retries\nassumption: one in five fails.\n"
               "sweep: scenarios/requirements/update_retries.yaml --vary update_retries=0..4 "
               "--steps 3 --seeds 6\nsignal: assoc_failed / assoc_requested\n");
    fclose(f);
    for (int i = 0; i < 2; i++) {
        char *err = NULL, path[160];
        int rc = cli_run(dir, NULL, &err, "timing %s --out %s/doc%d/t.md", plan, dir, i);
        ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
        free(err);
        snprintf(path, sizeof path, "%s/doc%d/t.md", dir, i);
        docs[i] = cli_slurp(path);
        ck_assert_ptr_nonnull(docs[i]);
        ck_assert_ptr_nonnull(strstr(docs[i], "## 1. Retries"));
        ck_assert_ptr_nonnull(strstr(docs[i], "**Requirement.**"));
        ck_assert_ptr_nonnull(strstr(docs[i], "## Monitoring thresholds"));
        ck_assert_ptr_nonnull(strstr(docs[i], "Measured: commit"));
        snprintf(path, sizeof path, "%s/doc%d/timing/retries_rate.png", dir, i);
        ck_assert(exists(path));
        strip(docs[i]);
    }
    ck_assert_str_eq(docs[0], docs[1]);
    free(docs[0]);
    free(docs[1]);
    /* a bad plan names its line */
    f = fopen(plan, "w");
    fprintf(f, "[x]\ntitle: X\nsweep: scenarios/message_before_thread.yaml --vary nope=0..1\n");
    fclose(f);
    char *err = NULL;
    ck_assert_int_eq(cli_run(dir, NULL, &err, "timing %s --out %s/bad/t.md", plan, dir), 2);
    ck_assert_ptr_nonnull(strstr(err, "plan.txt:1:"));
    free(err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sweep_cli");
    TCase *tc = tcase_create("sweep_cli");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sweep_cli_table_knee_and_rows);
    tcase_add_test(tc, test_sweep_cli_bad_parameter_exit_2_lists_variables);
    tcase_add_test(tc, test_sweep_cli_same_table_twice_jobs_alike);
    tcase_add_test(tc, test_sweep_cli_grid_draws_heatmap);
    tcase_add_test(tc, test_sweep_cli_timing_document_deterministic);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
