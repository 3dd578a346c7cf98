/*
 * test_shrink.c - the shrinker (sim/shrink.c) and the swarm and shrink
 * commands end to end ($CTXSIM, default build/cc-O2/ctxsim): a swarm
 * failure under an ablation shrinks to a scenario of a few steps that still
 * fails the same way and replays to that failure; a passing seed has
 * nothing to shrink.  Run from the repository root.
 */
#include <check.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/scenario.h"
#include "sim/shrink.h"
#include "sim/swarm.h"

/* Scenario 6 of base 1 fails seed 1 with stray under --ablate 7 (routing
 * to connections without thread context) and passes under fixed. */
#define BASE  1
#define INDEX 6

static sim_scenario *swarm_scenario(void)
{
    char *t = NULL;
    sim_scenario *s = NULL;
    sim_scenario_error err;
    ck_assert_int_eq(sim_swarm_generate(sim_swarm_scenario_seed(BASE, INDEX), NULL, &t, NULL), 0);
    ck_assert_msg(sim_scenario_load_string("swarm.yaml", t, strlen(t), &s, &err) == 0, "%s",
                  err.msg);
    free(t);
    return s;
}

START_TEST(test_shrink_swarm_failure_to_a_few_steps)
{
    sim_scenario *s = swarm_scenario();
    sim_sweep_opts so;
    memset(&so, 0, sizeof so);
    so.profile = CR_PROFILE_FIXED;
    so.ablate_fix = 7;
    sim_shrink_opts o = {.sweep = &so};
    o.world.seed = 1;
    sim_shrink_result r;
    ck_assert_int_eq(sim_shrink(s, &o, &r), 0);
    ck_assert_str_eq(r.failure.kind, "stray");
    ck_assert(sim_failure_same(&r.failure, &r.shrunk));
    ck_assert_uint_le(r.after.steps, 6);
    ck_assert_uint_lt(r.after.steps, r.before.steps);
    ck_assert_uint_le(r.after.users, r.before.users);
    ck_assert_uint_gt(r.accepted, 0);
    ck_assert_uint_le(r.runs, 3000);
    /* the YAML loads and fails the same way again */
    sim_scenario *b = NULL;
    sim_failure f;
    ck_assert_int_eq(sim_scenario_load_string("shrunk.yaml", r.yaml, strlen(r.yaml), &b, NULL), 0);
    ck_assert_int_eq(sim_failure_judge(b, &so, &o.world, 0, &f), 0);
    ck_assert(sim_failure_same(&f, &r.failure));
    ck_assert_uint_eq(f.trace_hash, r.shrunk.trace_hash);
    /* the same shrink twice gives the same scenario */
    sim_shrink_result r2;
    ck_assert_int_eq(sim_shrink(s, &o, &r2), 0);
    ck_assert_str_eq(r.yaml, r2.yaml);
    sim_shrink_result_free(&r2);
    sim_scenario_free(b);
    sim_shrink_result_free(&r);
    sim_scenario_free(s);
}
END_TEST

START_TEST(test_shrink_passing_seed_has_nothing_to_shrink)
{
    sim_scenario *s = swarm_scenario();
    sim_sweep_opts so;
    memset(&so, 0, sizeof so);
    so.profile = CR_PROFILE_FIXED;
    sim_shrink_opts o = {.sweep = &so};
    o.world.seed = 1;
    sim_shrink_result r;
    ck_assert_int_eq(sim_shrink(s, &o, &r), 1);
    ck_assert_int_eq(r.failure.failed, 0);
    ck_assert_ptr_null(r.yaml);
    sim_scenario_free(s);
}
END_TEST

START_TEST(test_shrink_same_failure_class)
{
    sim_failure a = {.failed = 1, .kind = "stray", .cause = -1};
    sim_failure b = a, c = a, d = {.failed = 1, .kind = "delivery_rate", .cause = 1};
    sim_failure e = d;
    snprintf(c.kind, sizeof c.kind, "silent_loss");
    ck_assert(sim_failure_same(&a, &b));
    ck_assert(!sim_failure_same(&a, &c));
    ck_assert(sim_failure_same(&d, &e));
    e.cause = 2; /* a rate failure with another dominant loss cause */
    ck_assert(!sim_failure_same(&d, &e));
    b.misses = 1u << SIM_COUNT_STUCK_PENDING; /* a new miss is another failure */
    ck_assert(!sim_failure_same(&a, &b));
    ck_assert(sim_failure_same(&b, &a)); /* fewer misses is the same one */
    b.failed = 0;
    ck_assert(!sim_failure_same(&b, &a));
}
END_TEST

/* ---- the commands ---------------------------------------------------------------- */

static const char *bin(void)
{
    const char *b = getenv("CTXSIM");
    return b ? b : "build/cc-O2/ctxsim";
}

static char tmp[256];

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/ctxsim-shrink-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    ck_assert_int_eq(system(cmd), 0);
}

/* run executes ctxsim ARGS, stdout into *out (malloc'd); exit status. */
static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int run(char **out, const char *fmt, ...)
{
    char args[2048], cmd[4096], path[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "%s/out.txt", tmp);
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>&1 </dev/null", bin(), args, path);
    int st = system(cmd);
    ck_assert_int_ne(st, -1);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char *buf = calloc(1, 1 << 20);
    ck_assert_ptr_nonnull(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(test_shrink_cli_swarm_then_shrink_then_replay)
{
    char *o = NULL, file[600], shr[600];
    /* fixed: the first scenarios find nothing */
    ck_assert_int_eq(run(&o, "explore --strategy swarm --budget 30 --out %s/f", tmp), 0);
    ck_assert_ptr_nonnull(strstr(o, "30 scenarios x 2 seeds"));
    ck_assert_ptr_nonnull(strstr(o, ": 0 failing scenarios"));
    free(o);
    /* F7 off: scenario INDEX fails, its file and replay line are written */
    ck_assert_int_eq(
        run(&o, "explore --strategy swarm --budget %d --ablate 7 --out %s/a", INDEX + 1, tmp), 1);
    snprintf(file, sizeof file, "%s/a/swarm-%d-%d.yaml", tmp, BASE, INDEX);
    ck_assert_msg(access(file, R_OK) == 0, "%s", o);
    ck_assert_ptr_nonnull(strstr(o, "replay: "));
    ck_assert_ptr_nonnull(strstr(o, "--ablate 7"));
    ck_assert_ptr_nonnull(strstr(o, "seed 1: stray"));
    free(o);
    /* the file replays to the failure */
    ck_assert_int_eq(run(&o, "replay %s --seed 1 --ablate 7", file), 1);
    ck_assert_ptr_nonnull(strstr(o, "verdict: FAIL: stray"));
    free(o);
    /* it shrinks, and the shrunk file replays to the same failure */
    snprintf(shr, sizeof shr, "%s/shrunk.yaml", tmp);
    ck_assert_int_eq(run(&o, "shrink %s --seed 1 --ablate 7 --out %s", file, shr), 0);
    ck_assert_ptr_nonnull(strstr(o, "before: steps"));
    ck_assert_ptr_nonnull(strstr(o, "after:  steps"));
    ck_assert_ptr_nonnull(strstr(o, "shrunk: stray"));
    free(o);
    ck_assert_int_eq(run(&o, "replay %s --seed 1 --ablate 7", shr), 1);
    ck_assert_ptr_nonnull(strstr(o, "verdict: FAIL: stray"));
    free(o);
    ck_assert_int_eq(run(&o, "validate %s", shr), 0);
    free(o);
    /* a passing seed: nothing to shrink (exit 1, as before) */
    ck_assert_int_eq(run(&o, "shrink %s --seed 1 --out %s/x.yaml", file, tmp), 1);
    ck_assert_ptr_nonnull(strstr(o, "nothing to shrink"));
    free(o);
    /* the same search gives the same files (--jobs 2 included) */
    ck_assert_int_eq(run(&o, "explore --strategy swarm --budget %d --ablate 7 --jobs 2 --out %s/b",
                         INDEX + 1, tmp),
                     1);
    free(o);
    char cmd[4000];
    snprintf(cmd, sizeof cmd, "sed 's#%s/a/#%s/b/#' %s | cmp -s - %s/b/swarm-%d-%d.yaml", tmp, tmp,
             file, tmp, BASE, INDEX);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_shrink_cli_bad_usage)
{
    char *o = NULL;
    ck_assert_int_eq(run(&o, "explore --strategy swarm scenarios/pool_pending.yaml"), 2);
    free(o);
    ck_assert_int_eq(run(&o, "explore --strategy swarm --budget 0"), 2);
    free(o);
    ck_assert_int_eq(run(&o, "explore --strategy swarm --ablate 10"), 2);
    free(o);
    ck_assert_int_eq(run(&o, "explore --strategy swarm --policy exec_grac=1s"), 2);
    free(o);
    ck_assert_int_eq(run(&o, "explore --strategy swarm --help"), 0);
    ck_assert_ptr_nonnull(strstr(o, "--strategy swarm"));
    free(o);
    ck_assert_int_eq(run(&o, "shrink scenarios/pool_pending.yaml"), 2);
    free(o);
    ck_assert_int_eq(run(&o, "shrink --help"), 0);
    ck_assert_ptr_nonnull(strstr(o, "ddmin"));
    free(o);
}
END_TEST

static Suite *shrink_suite(void)
{
    Suite *s = suite_create("shrink");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_shrink_swarm_failure_to_a_few_steps);
    tcase_add_test(tc, test_shrink_passing_seed_has_nothing_to_shrink);
    tcase_add_test(tc, test_shrink_same_failure_class);
    suite_add_tcase(s, tc);
    TCase *cli = tcase_create("cli");
    tcase_set_timeout(cli, 120);
    tcase_add_checked_fixture(cli, setup, teardown);
    tcase_add_test(cli, test_shrink_cli_swarm_then_shrink_then_replay);
    tcase_add_test(cli, test_shrink_cli_bad_usage);
    suite_add_tcase(s, cli);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(shrink_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
