/*
 * test_cli_conv.c - the command-line conventions of ctxsim, end to end:
 * `--opt=value`, `--version` (and cr_version()), `help CMD`, -q/--quiet,
 * colour (--color, NO_COLOR), the closing summary line of `run`,
 * `gate --format json` (the same verdict as the table and the exit code),
 * `db prune --keep N` and `db vacuum`.
 */
#include <check.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "tests/lib/cli_run.h"

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ctxsim-conv-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* The line of text that starts with prefix, copied into buf ("" if none). */
static void line_of(const char *text, const char *prefix, char *buf, size_t len)
{
    buf[0] = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, prefix, strlen(prefix))) {
            size_t n = strcspn(p, "\n");
            snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), p);
            return;
        }
}

START_TEST(test_cli_conv_equals_form_is_the_spaced_form)
{
    char *a, *b;
    ck_assert_int_eq(cli_run(tmpdir, &a, NULL,
                             "run scenarios/agent_before_ready.yaml --seeds=3 --profile=legacy "
                             "--policy=exec_grace=2s --no-db --format=json"),
                     0);
    ck_assert_int_eq(cli_run(tmpdir, &b, NULL,
                             "run scenarios/agent_before_ready.yaml --seeds 3 --profile legacy "
                             "--policy exec_grace=2s --no-db --format json"),
                     0);
    json_error_t je;
    json_t *ja = json_loads(a, 0, &je), *jb = json_loads(b, 0, &je);
    ck_assert_ptr_nonnull(ja);
    ck_assert_ptr_nonnull(jb);
    json_t *sa = json_array_get(ja, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(sa, "seeds")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(sa, "profile")), "legacy");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(sa, "policy")), "exec_grace"));
    ck_assert(json_equal(json_object_get(sa, "seed_hashes"),
                         json_object_get(json_array_get(jb, 0), "seed_hashes")));
    json_decref(ja);
    json_decref(jb);
    free(a);
    free(b);
    char *err;
    ck_assert_int_eq(cli_run(tmpdir, NULL, &err, "run --seeds=0 --no-db"), 2);
    ck_assert_ptr_nonnull(strstr(err, "--seeds expects"));
    free(err);
}
END_TEST

START_TEST(test_cli_conv_version_names_tool_and_library)
{
    char *out, want[128];
    int num = 0;
    ck_assert_str_eq(cr_version(&num), CR_VERSION_STRING);
    ck_assert_int_eq(num, CR_VERSION_NUM);
    ck_assert_int_eq(num / 10000, CR_VERSION_MAJOR);
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "--version"), 0);
    snprintf(want, sizeof want, "ctxsim %s (libctxready %s)\n", CR_VERSION_STRING,
             CR_VERSION_STRING);
    ck_assert_str_eq(out, want);
    free(out);
}
END_TEST

START_TEST(test_cli_conv_help_cmd_is_the_commands_help)
{
    static const char *cmds[] = {"run",  "replay", "validate", "list", "shrink", "explore",
                                 "diff", "check",  "report",   "gate", "merge",  "db"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char *a, *b;
        ck_assert_int_eq(cli_run(tmpdir, &a, NULL, "help %s", cmds[i]), 0);
        ck_assert_int_eq(cli_run(tmpdir, &b, NULL, "%s --help", cmds[i]), 0);
        ck_assert_msg(strstr(a, "usage: ctxsim") != NULL, "help %s: %s", cmds[i], a);
        ck_assert_str_eq(a, b);
        free(a);
        free(b);
    }
    char *out, *err;
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "help"), 0);
    ck_assert_ptr_nonnull(strstr(out, "db prune --keep N"));
    free(out);
    ck_assert_int_eq(cli_run(tmpdir, NULL, &err, "help nosuch"), 2);
    ck_assert_ptr_nonnull(strstr(err, "unknown command 'nosuch'"));
    free(err);
}
END_TEST

START_TEST(test_cli_conv_quiet_prints_what_failed_and_the_summary)
{
    char *loud, *quiet;
    /* a passing gate sweep and a failing one */
    const char *args = "run scenarios/agent_before_ready.yaml scenarios/message_before_thread.yaml "
                       "--seeds 2 --no-db";
    ck_assert_int_eq(cli_run(tmpdir, &loud, NULL, "%s --ablate 5", args), 1);
    ck_assert_int_eq(cli_run(tmpdir, &quiet, NULL, "-q %s --ablate=5", args), 1);
    ck_assert_ptr_nonnull(strstr(loud, "scenario "));
    ck_assert_ptr_null(strstr(quiet, "scenario ")); /* no header */
    char l[512], q[512];
    line_of(loud, "agent_before_ready ", l, sizeof l);
    ck_assert_msg(strstr(l, "PASS") != NULL, "%s", l); /* shown loud, it passes */
    line_of(quiet, "agent_before_ready ", q, sizeof q);
    ck_assert_msg(q[0] == 0, "quiet printed a passing sweep: %s", q);
    line_of(loud, "message_before_thread ", l, sizeof l);
    line_of(quiet, "message_before_thread ", q, sizeof q);
    ck_assert_str_eq(l, q); /* the failing one, the same row */
    ck_assert(strstr(l, "FAIL") != NULL);
    ck_assert_ptr_nonnull(strstr(quiet, "replay: ")); /* with its replay lines */
    line_of(quiet, "summary: ", q, sizeof q);
    ck_assert_msg(strstr(q, "summary: 2 scenario(s), 2 sweep(s), 4 seed(s) in ") == q, "%s", q);
    ck_assert_ptr_nonnull(strstr(q, "seeds/s): FAIL"));
    /* the summary is the last line */
    size_t n = strlen(quiet);
    ck_assert(n > 1 && quiet[n - 1] == '\n');
    const char *last = quiet + n - 1;
    while (last > quiet && last[-1] != '\n')
        last--;
    ck_assert(strncmp(last, "summary: ", 9) == 0);
    free(loud);
    free(quiet);
}
END_TEST

START_TEST(test_cli_conv_colour_follows_color_and_no_color)
{
    char *out, *err;
    const char *args = "run scenarios/agent_before_ready.yaml --seeds 1 --no-db";
    /* stdout is a file: auto means no colour */
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "%s", args), 0);
    ck_assert_ptr_null(strchr(out, '\033'));
    free(out);
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "%s --color=always", args), 0);
    ck_assert_ptr_nonnull(strstr(out, "\033[32mPASS\033[0m"));
    free(out);
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "%s --color never", args), 0);
    ck_assert_ptr_null(strchr(out, '\033'));
    free(out);
    /* on a terminal (script(1) gives the run a pty): colour, unless NO_COLOR;
     * skipped where no pty can be had (a bare chroot without /dev/pts) */
    if (system("script -qec true /dev/null >/dev/null 2>&1 </dev/null") == 0) {
        const char *tty = "--version >/dev/null; script -qec '%s %s' /dev/null";
        ck_assert_int_eq(cli_run(tmpdir, &out, NULL, tty, cli_bin(), args), 0);
        ck_assert_ptr_nonnull(strstr(out, "\033[32mPASS\033[0m"));
        free(out);
        setenv("NO_COLOR", "1", 1);
        ck_assert_int_eq(cli_run(tmpdir, &out, NULL, tty, cli_bin(), args), 0);
        ck_assert_ptr_nonnull(strstr(out, "PASS"));
        ck_assert_ptr_null(strstr(out, "\033[3")); /* no colour (the progress line may erase) */
        free(out);
        unsetenv("NO_COLOR");
    } else {
        fprintf(stderr, "test_cli_conv: SKIP the terminal half of the colour test: script(1) "
                        "cannot open a pty here\n");
    }
    ck_assert_int_eq(cli_run(tmpdir, NULL, &err, "%s --color=sometimes", args), 2);
    ck_assert_ptr_nonnull(strstr(err, "--color expects auto, always or never"));
    free(err);
}
END_TEST

/* gate_json runs `gate --format json` and returns the parsed object. */
static json_t *gate_json(const char *db, int want_rc)
{
    char *out;
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "gate --db %s --format=json", db), want_rc);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    ck_assert_msg(j != NULL, "%s: %s", je.text, out);
    free(out);
    return j;
}

START_TEST(test_cli_conv_gate_json_matches_the_table)
{
    char db[512];
    snprintf(db, sizeof db, "%s/g.db", tmpdir);
    ck_assert_int_eq(
        cli_run(tmpdir, NULL, NULL, "run scenarios/agent_before_ready.yaml --seeds 2 --db %s", db),
        0);
    json_t *j = gate_json(db, 0);
    ck_assert_str_eq(json_string_value(json_object_get(j, "verdict")), "PASS");
    ck_assert_int_eq(json_array_size(json_object_get(j, "rows")), 1);
    json_decref(j);
    /* a failing run: the JSON, the table and the exit code agree */
    ck_assert_int_eq(cli_run(tmpdir, NULL, NULL,
                             "run scenarios/agent_before_ready.yaml --seeds 2 --ablate 2 --db %s",
                             db),
                     1);
    j = gate_json(db, 1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "verdict")), "FAIL");
    json_t *row = json_array_get(json_object_get(j, "rows"), 0);
    ck_assert_int_eq(json_boolean_value(json_object_get(row, "fails")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(row, "ablated_fix")), 2);
    json_t *reps = json_object_get(row, "replays");
    ck_assert_uint_gt(json_array_size(reps), 0);
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_object_get(json_array_get(reps, 0), "replay")), " replay "));
    char *text;
    ck_assert_int_eq(cli_run(tmpdir, &text, NULL, "gate --db %s", db), 1);
    ck_assert_ptr_nonnull(strstr(text, "gate: FAIL: "));
    ck_assert_ptr_nonnull(
        strstr(text, json_string_value(json_object_get(json_array_get(reps, 0), "replay"))));
    free(text);
    json_decref(j);
    char *err;
    ck_assert_int_eq(cli_run(tmpdir, NULL, &err, "gate --db %s --format xml", db), 2);
    ck_assert_ptr_nonnull(strstr(err, "--format expects text or json"));
    free(err);
}
END_TEST

static int count_rows(const char *db, const char *table)
{
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

START_TEST(test_cli_conv_db_prune_keeps_the_newest)
{
    char db[512];
    snprintf(db, sizeof db, "%s/p.db", tmpdir);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(cli_run(tmpdir, NULL, NULL,
                                 "run scenarios/agent_before_ready.yaml --seeds 2 --db %s "
                                 "--label r%d",
                                 db, i),
                         0);
    ck_assert_int_eq(count_rows(db, "runs"), 4);
    ck_assert_int_eq(count_rows(db, "seed_results"), 8);
    char *out, *err;
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "db prune --keep=2 --db %s", db), 0);
    ck_assert_ptr_nonnull(strstr(out, "2 run(s) deleted, 2 kept"));
    ck_assert_ptr_nonnull(strstr(out, "vacuumed"));
    free(out);
    ck_assert_int_eq(count_rows(db, "runs"), 2);
    ck_assert_int_eq(count_rows(db, "seed_results"), 4); /* cascaded */
    ck_assert_int_eq(count_rows(db, "scenario_results"), 2);
    /* the newest survive: gate r3 against r2 */
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "gate --db %s --run r3 --baseline r2", db), 0);
    free(out);
    ck_assert_int_eq(cli_run(tmpdir, NULL, &err, "gate --db %s --run r0", db), 2);
    free(err);
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "db vacuum --db %s", db), 0);
    ck_assert_ptr_nonnull(strstr(out, "vacuumed"));
    free(out);
    ck_assert_int_eq(cli_run(tmpdir, NULL, &err, "db prune --db %s", db), 2);
    ck_assert_ptr_nonnull(strstr(err, "--keep N"));
    free(err);
    ck_assert_int_eq(cli_run(tmpdir, NULL, &err, "db prune --keep -1 --db %s", db), 2);
    free(err);
    ck_assert_int_eq(cli_run(tmpdir, NULL, &err, "db shrink --db %s", db), 2);
    ck_assert_ptr_nonnull(strstr(err, "unknown subcommand"));
    free(err);
    ck_assert_int_eq(count_rows(db, "runs"), 2); /* bad usage deleted nothing */
}
END_TEST

static Suite *cli_conv_suite(void)
{
    Suite *s = suite_create("cli_conv");
    TCase *tc = tcase_create("conv");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cli_conv_equals_form_is_the_spaced_form);
    tcase_add_test(tc, test_cli_conv_version_names_tool_and_library);
    tcase_add_test(tc, test_cli_conv_help_cmd_is_the_commands_help);
    tcase_add_test(tc, test_cli_conv_quiet_prints_what_failed_and_the_summary);
    tcase_add_test(tc, test_cli_conv_colour_follows_color_and_no_color);
    tcase_add_test(tc, test_cli_conv_gate_json_matches_the_table);
    tcase_add_test(tc, test_cli_conv_db_prune_keeps_the_newest);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cli_conv_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
