/*
 * test_tdiff.c - the trace diff: parsing trace text (and its errors, with
 * line numbers), the first divergence, the resync, the per-event outcomes
 * read off the agent, receive and oracle records; then `ctxsim diff`
 * end to end ($CTXSIM): identical runs exit 0, a passing and a failing
 * run of one seed show the first divergence and the lost events, trace
 * files written by replay --trace-text compare the same way, bad input
 * exits 2 with a precise message.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/tdiff.h"
#include "tests/lib/cli_run.h"

/* A run of one message with two events for one tab: A receives both; B
 * loses the second (and takes one extra step before it). */
static const char run_a[] = "0 client:u0.0 send msg=0 thread=t1 via=ws\n"
                            "10 agent start msg=0 run=1 rc=ok\n"
                            "10 agent emit run=1 agent_started ev=0 seq=1 -> delivered\n"
                            "20 agent emit run=1 agent_done ev=1 seq=2 -> delivered\n"
                            "30 client:u0.0 receive ev=0 thread=t1 seq=1 view=t1 -> ok\n"
                            "40 client:u0.0 receive ev=1 thread=t1 seq=2 view=t1 -> ok\n"
                            "50 client:u0.0 close sock=0\n";
static const char run_b[] = "0 client:u0.0 send msg=0 thread=t1 via=ws\n"
                            "10 agent start msg=0 run=1 rc=ok\n"
                            "10 agent emit run=1 agent_started ev=0 seq=1 -> delivered\n"
                            "15 core error CR_EFULL\n"
                            "20 agent emit run=1 agent_done ev=1 seq=2 -> dropped\n"
                            "30 client:u0.0 receive ev=0 thread=t1 seq=1 view=t1 -> ok\n"
                            "30 client:u0.0 receive ev=0 thread=t1 seq=1 view=t1 -> ok\n"
                            "40 client:u0.0 close sock=0\n"
                            "90 oracle lost ev=1 msg=0 client:u0.0 thread=t1 owed from 0.000000 s, "
                            "due 5.000000 s; cause core_reported (core said: dropped)\n";

static sim_tdiff_run *parse_ok(const char *name, const char *text)
{
    sim_tdiff_run *r = NULL;
    char err[512];
    int rc = sim_tdiff_parse(name, text, strlen(text), &r, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    return r;
}

START_TEST(test_tdiff_identical)
{
    sim_tdiff_run *a = parse_ok("a", run_a), *b = parse_ok("b", run_a);
    sim_tdiff_result res;
    ck_assert_uint_eq(sim_tdiff_records(a), 7);
    ck_assert_int_eq(sim_tdiff_compare(a, b, NULL, NULL, &res), 0);
    ck_assert_int_eq(res.identical, 1);
    ck_assert_uint_eq(res.first, SIZE_MAX);
    ck_assert_uint_eq(res.outcome_diffs, 0);
    ck_assert_uint_eq(res.pairs_a, 2);
    sim_tdiff_free(a);
    sim_tdiff_free(b);
}
END_TEST

START_TEST(test_tdiff_first_divergence_resync_and_outcomes)
{
    sim_tdiff_run *a = parse_ok("a", run_a), *b = parse_ok("b", run_b);
    sim_tdiff_result res;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    sim_tdiff_opts o = {1, 10, 0};
    ck_assert_int_eq(sim_tdiff_compare(a, b, &o, f, &res), 1);
    fclose(f);
    ck_assert_int_eq(res.identical, 0);
    ck_assert_uint_eq(res.first, 3); /* record 4: A's emit of ev=1, B's core error */
    ck_assert_uint_eq(res.time_a, 20);
    ck_assert_uint_eq(res.time_b, 15);
    ck_assert_uint_eq(res.lost_a, 0);
    ck_assert_uint_eq(res.lost_b, 1);
    ck_assert_uint_eq(res.dup_b, 1);
    /* Both events differ: the first duplicated, the second lost. */
    ck_assert_uint_eq(res.outcome_diffs, 2);
    ck_assert_ptr_nonnull(strstr(text, "first divergence at record 4 (A line 4, B line 4)"));
    ck_assert_ptr_nonnull(strstr(text, "> A      4"));
    ck_assert_ptr_nonnull(strstr(text, "> B      4"));
    ck_assert_ptr_nonnull(strstr(text, "core_reported (core said: dropped)"));
    ck_assert_ptr_nonnull(strstr(text, "received 2 times (duplicated)"));
    ck_assert_ptr_nonnull(strstr(text, "msg=0 event 1 client:u0.0"));
    free(text);
    sim_tdiff_free(a);
    sim_tdiff_free(b);

    /* B = A with one step inserted: back in step right after it. */
    char ins[1024];
    const char *cut = strstr(run_a, "20 agent");
    snprintf(ins, sizeof ins, "%.*s15 core error CR_EFULL\n%s", (int)(cut - run_a), run_a, cut);
    a = parse_ok("a", run_a);
    b = parse_ok("b", ins);
    ck_assert_int_eq(sim_tdiff_compare(a, b, NULL, NULL, &res), 1);
    ck_assert_uint_eq(res.first, 3);
    ck_assert_uint_eq(res.resync_a, 3);
    ck_assert_uint_eq(res.resync_b, 4);
    ck_assert_uint_eq(res.outcome_diffs, 0); /* same outcomes, other steps */
    sim_tdiff_free(a);
    sim_tdiff_free(b);
}
END_TEST

START_TEST(test_tdiff_parse_errors)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"", "x: empty trace"},
        {"0 a b c\nnonsense\n", "x:2: not a trace line"},
        {"0 a b c\n12 onlyactor\n", "x:2: not a trace line"},
        {"-5 a b c\n", "x:1: not a trace line"},
        {"5  a b\n", "x:1: not a trace line"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sim_tdiff_run *r = (sim_tdiff_run *)1;
        char err[512];
        ck_assert_int_eq(
            sim_tdiff_parse("x", bad[i].text, strlen(bad[i].text), &r, err, sizeof err), -1);
        ck_assert_ptr_null(r);
        ck_assert_msg(strncmp(err, bad[i].msg, strlen(bad[i].msg)) == 0, "'%s'", err);
    }
    /* A step with no detail is a valid line. */
    sim_tdiff_run *r = parse_ok("x", "7 world drain\n");
    ck_assert_uint_eq(sim_tdiff_records(r), 1);
    sim_tdiff_free(r);
    char nul[] = "0 a b\0c\n";
    char err[256];
    ck_assert_int_eq(sim_tdiff_parse("x", nul, sizeof nul - 1, &r, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "binary"));
}
END_TEST

/* ---- the command ------------------------------------------------------------------ */

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ctxsim-tdiff-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

#define SCEN "scenarios/message_before_thread.yaml"

START_TEST(test_tdiff_cli_identical_exit_0)
{
    char *out = NULL;
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "diff " SCEN " --seed 3"), 0);
    ck_assert_ptr_nonnull(strstr(out, "identical: same steps, same outcomes"));
    free(out);
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "diff " SCEN " --seed 3 --pct 2:1ms --explore"),
                     0);
    free(out);
}
END_TEST

/* Seed 3 passes under fixed and fails with fix 1 off (and under legacy):
 * the diff shows the first divergence and the events lost on one side. */
START_TEST(test_tdiff_cli_passing_vs_failing_seed)
{
    char *out = NULL, *rep = NULL;
    ck_assert_int_eq(cli_run(tmpdir, &rep, NULL, "replay " SCEN " --seed 3 --profile legacy"), 1);
    free(rep);
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL,
                             "diff " SCEN " --seed 3 --profile fixed --profile legacy "
                             "--max-events 5"),
                     1);
    ck_assert_ptr_nonnull(strstr(out, "A: message_before_thread seed 3 profile fixed"));
    ck_assert_ptr_nonnull(strstr(out, "B: message_before_thread seed 3 profile legacy"));
    unsigned rec, la, lb;
    double t;
    const char *p = strstr(out, "first divergence at record ");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(sscanf(p, "first divergence at record %u (A line %u, B line %u), t = %lf s",
                            &rec, &la, &lb, &t),
                     4);
    ck_assert_uint_gt(rec, 1);
    ck_assert_uint_eq(la, rec);
    ck_assert(t > 0);
    ck_assert_ptr_nonnull(strstr(out, "> A "));
    ck_assert_ptr_nonnull(strstr(out, "> B "));
    ck_assert_ptr_nonnull(strstr(out, "B: lost, cause core_silent"));
    ck_assert_ptr_nonnull(strstr(out, "more (--max-events N)"));
    free(out);
    /* Fix 1 off on one side only. */
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "diff " SCEN " --seed 3 --ablate 0 --ablate 1"),
                     1);
    ck_assert_ptr_nonnull(strstr(out, "B: message_before_thread seed 3 profile fixed fix F1 off"));
    ck_assert_ptr_nonnull(strstr(out, "first divergence at record "));
    free(out);
    /* Two seeds; and a policy on one side. */
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "diff " SCEN " --seed 1 --seed 2"), 1);
    ck_assert_ptr_nonnull(strstr(out, "B: message_before_thread seed 2 profile fixed"));
    free(out);
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL,
                             "diff " SCEN " --seed 1 --policy-b event_ttl=1ms --max-events 1"),
                     1);
    ck_assert_ptr_nonnull(strstr(out, "policy event_ttl="));
    free(out);
}
END_TEST

/* One seed under two builds: trace files from replay --trace-text. */
START_TEST(test_tdiff_cli_trace_files)
{
    char *out = NULL;
    ck_assert_int_eq(
        cli_run(tmpdir, NULL, NULL, "replay " SCEN " --seed 3 --trace-text %s/a.trace", tmpdir), 0);
    ck_assert_int_eq(cli_run(tmpdir, NULL, NULL,
                             "replay " SCEN " --seed 3 --profile legacy --trace-text %s/b.trace",
                             tmpdir),
                     1);
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "diff %s/a.trace %s/a.trace", tmpdir, tmpdir), 0);
    free(out);
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "diff %s/a.trace %s/b.trace", tmpdir, tmpdir), 1);
    ck_assert_ptr_nonnull(strstr(out, "first divergence at record "));
    ck_assert_ptr_nonnull(strstr(out, "lost, cause core_silent"));
    free(out);
    /* The same comparison as from the scenario: same first divergence. */
    char *direct = NULL;
    ck_assert_int_eq(
        cli_run(tmpdir, &direct, NULL, "diff " SCEN " --seed 3 --profile fixed --profile legacy"),
        1);
    ck_assert_int_eq(cli_run(tmpdir, &out, NULL, "diff %s/a.trace %s/b.trace", tmpdir, tmpdir), 1);
    ck_assert_str_eq(strstr(direct, "first divergence"), strstr(out, "first divergence"));
    free(direct);
    free(out);
}
END_TEST

START_TEST(test_tdiff_cli_bad_input_exit_2)
{
    char path[512], *err = NULL;
    snprintf(path, sizeof path, "%s/bad.trace", tmpdir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("0 client:u0.0 connect sock=0\nnot a line\n", f);
    fclose(f);
    ck_assert_int_eq(
        cli_run(tmpdir, NULL, NULL, "replay " SCEN " --seed 1 --trace-text %s/a.trace", tmpdir), 0);
    ck_assert_int_eq(cli_run(tmpdir, NULL, &err, "diff %s/a.trace %s", tmpdir, path), 2);
    ck_assert_ptr_nonnull(strstr(err, "bad.trace:2: not a trace line"));
    free(err);
    ck_assert_int_eq(cli_run(tmpdir, NULL, &err, "diff %s/a.trace %s/missing", tmpdir, tmpdir), 2);
    ck_assert_ptr_nonnull(strstr(err, "missing: No such file or directory"));
    free(err);
    static const char *const usage[] = {
        "diff",
        "diff " SCEN,
        "diff " SCEN " --seed 1 --seed 2 --seed 3",
        "diff " SCEN " --seed 1 --profile bogus",
        "diff " SCEN " --seed 1 --ablate 12",
        "diff " SCEN " --seed 1 --frobnicate 2",
        "diff a.trace b.trace --seed 2",
        "diff tests/data/bad/alias.yaml --seed 1",
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        ck_assert_msg(cli_run(tmpdir, NULL, &err, "%s", usage[i]) == 2, "%s", usage[i]);
        ck_assert_msg(strlen(err) > 0, "'%s' printed no error", usage[i]);
        free(err);
    }
}
END_TEST

static Suite *tdiff_suite(void)
{
    Suite *s = suite_create("tdiff");
    TCase *tc = tcase_create("module");
    tcase_add_test(tc, test_tdiff_identical);
    tcase_add_test(tc, test_tdiff_first_divergence_resync_and_outcomes);
    tcase_add_test(tc, test_tdiff_parse_errors);
    suite_add_tcase(s, tc);
    TCase *cli = tcase_create("cli");
    tcase_add_checked_fixture(cli, setup, teardown);
    tcase_set_timeout(cli, 300);
    tcase_add_test(cli, test_tdiff_cli_identical_exit_0);
    tcase_add_test(cli, test_tdiff_cli_passing_vs_failing_seed);
    tcase_add_test(cli, test_tdiff_cli_trace_files);
    tcase_add_test(cli, test_tdiff_cli_bad_input_exit_2);
    suite_add_tcase(s, cli);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tdiff_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
