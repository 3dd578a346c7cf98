/*
 * test_check.c - small-scope exhaustive checking (sim/check.h, `ctxsim
 * check`): the fixed core passes at the default bounds, each fix switched
 * off alone is found and its counterexample replays, pruning prunes, a tiny
 * scope counted by hand, bad counterexample files, and the CLI end to end.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/check.h"

static const char *bin(void)
{
    const char *b = getenv("CTXSIM");
    return b ? b : "build/cc-O2/ctxsim";
}

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ctxsim-check-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static char *path_in(const char *name)
{
    static char p[2][512];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(path_in(name), "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc((size_t)n + 1, 1);
    ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return s;
}

/* run executes `ctxsim ARGS`, stdout into *out (may be NULL), stderr into
 * *err (may be NULL); returns the exit status. */
static int run(char **out, char **err, const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s >%s/out.txt 2>%s/err.txt </dev/null", bin(), args, tmpdir,
             tmpdir);
    int st = system(cmd);
    ck_assert_int_ne(st, -1);
    char *o = slurp(path_in("out.txt")), *e = slurp(path_in("err.txt"));
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static sim_check_result *search(const sim_check_opts *o)
{
    sim_check_result *r = malloc(sizeof *r);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(sim_check_run(o, r, NULL) == 0, "%s", r->reason);
    return r;
}

START_TEST(test_check_fixed_finds_nothing_at_default_bounds)
{
    sim_check_opts o;
    sim_check_opts_init(&o);
    sim_check_result *r = search(&o);
    ck_assert_msg(r->violation == SIM_CHECK_V_NONE, "%s: %s",
                  sim_check_violation_name(r->violation), r->reason);
    ck_assert_int_eq(r->complete, 1);
    ck_assert_int_eq(r->depth_reached, o.depth);
    ck_assert_uint_gt(r->states, 10000);
    /* fingerprint pruning: far fewer states than transitions */
    ck_assert_uint_lt(r->states, r->transitions);
    free(r);
}
END_TEST

/* The fixed core with its bounds shrunk to 1 (so the bounds are hit within
 * the scope) is clean as well. */
START_TEST(test_check_fixed_with_tiny_bounds_finds_nothing)
{
    sim_check_opts o;
    sim_check_opts_init(&o);
    static const char *const knobs[] = {"preauth_max", "pending_max", "event_buffer_max",
                                        "update_retries"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(o.overrides[i].name, sizeof o.overrides[i].name, "%s", knobs[i]);
        o.overrides[i].value = 1;
    }
    o.noverrides = 4;
    char err[256];
    ck_assert_int_eq(sim_check_opts_policy(&o, err, sizeof err), 0);
    ck_assert_uint_eq(o.policy.pending_max, 1);
    sim_check_result *r = search(&o);
    ck_assert_msg(r->violation == SIM_CHECK_V_NONE, "%s: %s",
                  sim_check_violation_name(r->violation), r->reason);
    ck_assert_int_eq(r->complete, 1);
    free(r);
}
END_TEST

/* A narrow but deep scope (1 user, 1 connection, 2 threads, depth 9: a
 * connection leaving a thread and coming back with a replay) is clean. */
START_TEST(test_check_fixed_deep_narrow_scope_finds_nothing)
{
    sim_check_opts o;
    sim_check_opts_init(&o);
    o.users = o.conns = 1;
    o.depth = 9;
    sim_check_result *r = search(&o);
    ck_assert_msg(r->violation == SIM_CHECK_V_NONE, "%s: %s",
                  sim_check_violation_name(r->violation), r->reason);
    ck_assert_int_eq(r->complete, 1);
    ck_assert_int_eq(r->depth_reached, 9);
    free(r);
}
END_TEST

/* Each fix switched off alone (loop index = fix) is found within the default
 * bounds; the counterexample replays to the same violation at its last
 * step, also after a round trip through the file format. */
START_TEST(test_check_each_ablation_found_and_replays)
{
    sim_check_opts o;
    sim_check_opts_init(&o);
    o.ablate = _i;
    char err[256];
    ck_assert_int_eq(sim_check_opts_policy(&o, err, sizeof err), 0);
    sim_check_result *r = search(&o);
    ck_assert_msg(r->violation != SIM_CHECK_V_NONE, "F%d not found", _i);
    ck_assert_uint_ge(r->nsteps, 1);
    ck_assert_uint_le(r->nsteps, (size_t)o.depth);
    ck_assert_int_eq(r->depth_reached, (int)r->nsteps);

    sim_check_result *x = malloc(sizeof *x);
    ck_assert_int_eq(sim_check_execute(&o, r->steps, r->nsteps, x, NULL), 0);
    ck_assert_int_eq(x->violation, r->violation);
    ck_assert_uint_eq(x->nsteps, r->nsteps);
    /* one step less: no violation yet (it is the shortest) */
    ck_assert_int_eq(sim_check_execute(&o, r->steps, r->nsteps - 1, x, NULL), 0);
    ck_assert_int_eq(x->violation, SIM_CHECK_V_NONE);

    FILE *f = fopen(path_in("ce.txt"), "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(sim_check_write(f, &o, r), 0);
    fclose(f);
    sim_check_opts o2;
    sim_check_input in[SIM_CHECK_MAX_DEPTH];
    size_t n = 0;
    int expect = 0;
    ck_assert_msg(sim_check_parse(path_in("ce.txt"), &o2, in, &n, &expect, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_int_eq(expect, r->violation);
    ck_assert_int_eq(o2.ablate, _i);
    ck_assert_int_eq(memcmp(&o2.policy, &o.policy, sizeof o.policy), 0);
    ck_assert_uint_eq(n, r->nsteps);
    ck_assert_int_eq(sim_check_execute(&o2, in, n, x, NULL), 0);
    ck_assert_int_eq(x->violation, r->violation);
    free(x);
    free(r);
}
END_TEST

/* 1 user, 1 connection, 1 thread, counted by hand (docs/check.md).
 * Depth 1: open, post u1 t1: 2 transitions, 2 new states.  Depth 2: after
 * open: auth, msg none, msg t1, msg foreign, close, post, wait (7); after
 * post: open, post, end, wait (4).  Two pairs collide: "open, wait" (the
 * pending deadline closes the connection) is "open, close", and "open,
 * post" is "post, open"; "post, end" is not the initial state (user u1
 * and thread t1 are in use now).  States 1 + 2 + 9 = 12, transitions
 * 2 + 11 = 13. */
START_TEST(test_check_tiny_scope_counted_by_hand)
{
    sim_check_opts o;
    sim_check_opts_init(&o);
    o.users = o.conns = o.threads = 1;
    o.depth = 1;
    sim_check_result *r = search(&o);
    ck_assert_uint_eq(r->states, 3);
    ck_assert_uint_eq(r->transitions, 2);
    free(r);
    o.depth = 2;
    r = search(&o);
    ck_assert_uint_eq(r->transitions, 13);
    ck_assert_uint_eq(r->states, 12);
    ck_assert_int_eq(r->violation, SIM_CHECK_V_NONE);
    free(r);
}
END_TEST

/* The fingerprint identifies equivalent states (times relative to now,
 * identifiers renamed) and separates different ones. */
START_TEST(test_check_fingerprint_collides_equivalent_states)
{
    sim_check_opts o;
    sim_check_opts_init(&o);
    o.users = o.conns = o.threads = 1;
    const sim_check_input open = {SIM_CHECK_OPEN, 0, 0, 0}, post = {SIM_CHECK_POST, 1, 0, 1},
                          close = {SIM_CHECK_CLOSE, 0, 0, 1}, wait = {SIM_CHECK_WAIT, 0, 0, 0},
                          none = {SIM_CHECK_MSG, SIM_CHECK_NONE, 0, 1},
                          t1 = {SIM_CHECK_MSG, 1, 0, 1};
    uint64_t a, b;
    sim_check_input x[2] = {open, close}, y[2] = {open, wait};
    ck_assert_int_eq(sim_check_fingerprint(&o, x, 2, &a), 0);
    ck_assert_int_eq(sim_check_fingerprint(&o, y, 2, &b), 0);
    ck_assert_uint_eq(a, b); /* closed by the client or by the pending deadline, 30 s later */
    x[0] = open, x[1] = post, y[0] = post, y[1] = open;
    ck_assert_int_eq(sim_check_fingerprint(&o, x, 2, &a), 0);
    ck_assert_int_eq(sim_check_fingerprint(&o, y, 2, &b), 0);
    ck_assert_uint_eq(a, b);
    x[0] = y[0] = open, x[1] = none, y[1] = t1;
    ck_assert_int_eq(sim_check_fingerprint(&o, x, 2, &a), 0);
    ck_assert_int_eq(sim_check_fingerprint(&o, y, 2, &b), 0);
    ck_assert_uint_ne(a, b);
    x[1] = (sim_check_input){SIM_CHECK_OK, 0, 0, 7};
    ck_assert_int_eq(sim_check_fingerprint(&o, x, 2, &a), -2);
}
END_TEST

/* The core bugs `check` found stay fixed (docs/check.md, Findings): the
 * sequences replay with no violation. */
START_TEST(test_check_core_findings_stay_fixed)
{
    static const char *const files[] = {
        /* a superseded association failing after the newer one landed */
        "users 1\nconns 1\nthreads 2\nstep open\nstep auth 1 u1\nstep msg 1 t1\n"
        "step msg 1 t2\nstep ok 2\nstep fail 1\nstep ok 3\n",
        /* a delivered event too big for the history: the gap is reported */
        "users 1\nconns 2\nthreads 1\npolicy event_buffer_max_bytes=0\nstep open\n"
        "step auth 1 u1\nstep switch 1 t1\nstep ok 1\nstep post u1 t1\nstep emit 1\n"
        "step open\nstep auth 2 u1\nstep switch 2 t1\nstep ok 2\n",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        write_file("seq.txt", files[i]);
        sim_check_opts o;
        sim_check_input in[SIM_CHECK_MAX_DEPTH];
        size_t n;
        int expect;
        char err[256];
        ck_assert_msg(sim_check_parse(path_in("seq.txt"), &o, in, &n, &expect, err, sizeof err) ==
                          0,
                      "%s", err);
        sim_check_result *r = malloc(sizeof *r);
        ck_assert_int_eq(sim_check_execute(&o, in, n, r, NULL), 0);
        ck_assert_msg(r->violation == SIM_CHECK_V_NONE, "file %zu: %s: %s", i,
                      sim_check_violation_name(r->violation), r->reason);
        ck_assert_uint_eq(r->nsteps, n);
        free(r);
    }
}
END_TEST

/* A core that refuses the policy is a violation before the first step
 * (core_error, no steps), not a harness failure. */
START_TEST(test_check_core_refusing_the_policy_is_a_violation)
{
    sim_check_opts o;
    sim_check_opts_init(&o);
    o.policy.cache_preauth = 2; /* a bool knob out of range: cr_ctx_new says CR_EINVAL */
    sim_check_result *r = search(&o);
    ck_assert_int_eq(r->violation, SIM_CHECK_V_CORE_ERROR);
    ck_assert_uint_eq(r->nsteps, 0);
    ck_assert_ptr_nonnull(strstr(r->reason, "CR_EINVAL"));
    ck_assert_int_eq(sim_check_execute(&o, NULL, 0, r, NULL), 0);
    ck_assert_int_eq(r->violation, SIM_CHECK_V_CORE_ERROR);
    free(r);
}
END_TEST

/* A state cap stops the search early, marked incomplete. */
START_TEST(test_check_max_states_stops)
{
    sim_check_opts o;
    sim_check_opts_init(&o);
    o.max_states = 100;
    sim_check_result *r = search(&o);
    ck_assert_int_eq(r->complete, 0);
    ck_assert_uint_eq(r->states, 100);
    free(r);
}
END_TEST

/* Bad counterexample files: exit 2 with FILE:LINE:COL. */
START_TEST(test_check_bad_replay_files)
{
    static const struct {
        const char *text, *where, *what;
    } bad[] = {
        {"users 1\nfrobnicate 3\nstep open\n", ":2:1:", "unknown keyword"},
        {"users 1\nthreads 2\nstep open\nstep msg 1 t9\n", ":4:12:", "out of range"},
        {"step open\nstep auth 1 bob\n", ":2:13:", "expected a user"},
        {"step open\nstep open now\n", ":2:11:", "unexpected"},
        {"profile sideways\nstep open\n", ":1:9:", "fixed or legacy"},
        {"policy no_such_knob=1\nstep open\n", ":1:8:", "unknown knob"},
        {"violation gremlins\nstep open\n", ":1:11:", "unknown violation"},
        {"step open\nusers 2\n", ":2:1:", "before the first step"},
        {"# nothing\n", ":2:1:", "no step"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file("bad.txt", bad[i].text);
        char *err;
        ck_assert_int_eq(run(NULL, &err, "check --replay %s", path_in("bad.txt")), 2);
        ck_assert_msg(strstr(err, bad[i].where) && strstr(err, bad[i].what), "case %zu: %s", i,
                      err);
        free(err);
    }
    /* well-formed, but the input is not possible at its step */
    write_file("bad.txt", "step open\nstep ok 5\n");
    char *err;
    ck_assert_int_eq(run(NULL, &err, "check --replay %s", path_in("bad.txt")), 2);
    ck_assert_msg(strstr(err, "not possible at step 2"), "%s", err);
    free(err);
    ck_assert_int_eq(run(NULL, &err, "check --replay %s", path_in("missing.txt")), 2);
    free(err);
}
END_TEST

/* The command end to end: usage, exit codes, --out then --replay, and
 * output identical run to run but for the time line. */
START_TEST(test_check_cli_end_to_end)
{
    char *out, *err;
    ck_assert_int_eq(run(&out, NULL, "check --help"), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: ctxsim check"));
    free(out);
    ck_assert_int_eq(run(NULL, &err, "check --users 9"), 2);
    ck_assert_ptr_nonnull(strstr(err, "--users"));
    free(err);
    ck_assert_int_eq(run(NULL, &err, "check --ablate 10"), 2);
    free(err);
    ck_assert_int_eq(run(NULL, &err, "check --policy nope=1"), 2);
    free(err);
    ck_assert_int_eq(run(NULL, NULL, "check --bogus"), 2);

    ck_assert_int_eq(run(&out, NULL, "check --quiet --users 1 --conns 2 --depth 5"), 0);
    ck_assert_ptr_nonnull(strstr(out, "no violation"));
    ck_assert_ptr_nonnull(strstr(out, "(complete)"));
    free(out);

    char ce[512];
    snprintf(ce, sizeof ce, "%s", path_in("f3.txt"));
    ck_assert_int_eq(run(&out, NULL, "check --ablate 3 --out %s", ce), 1);
    ck_assert_ptr_nonnull(strstr(out, "violation: switched_early"));
    ck_assert_ptr_nonnull(strstr(out, "shortest input sequence (3 steps)"));
    char *file = slurp(ce);
    ck_assert_ptr_nonnull(strstr(file, "ablate 3\n"));
    ck_assert_ptr_nonnull(strstr(file, "violation switched_early\n"));
    ck_assert_ptr_nonnull(strstr(file, "step switch 1 t1\n"));
    free(file);
    char *out2;
    ck_assert_int_eq(run(&out2, NULL, "check --ablate 3 --out %s", ce), 1);
    char *t1 = strstr(out, "time:"), *t2 = strstr(out2, "time:");
    ck_assert(t1 && t2);
    *t1 = *t2 = '\0';
    ck_assert_str_eq(out, out2); /* deterministic but for the time */
    free(out);
    free(out2);

    ck_assert_int_eq(run(&out, NULL, "check --replay %s", ce), 1);
    ck_assert_ptr_nonnull(strstr(out, "step 3: switch 1 t1"));
    ck_assert_ptr_nonnull(strstr(out, "notify conn=1 THREAD_SWITCHED t1"));
    ck_assert_ptr_nonnull(strstr(out, "reproduced: switched_early at step 3"));
    free(out);
    /* the same file replayed against the fixed core: nothing to reproduce */
    file = slurp(ce);
    char *ab = strstr(file, "ablate 3\n");
    memmove(ab, ab + 9, strlen(ab + 9) + 1);
    write_file("fixed.txt", file);
    free(file);
    ck_assert_int_eq(run(&out, NULL, "check --replay %s", path_in("fixed.txt")), 0);
    ck_assert_ptr_nonnull(strstr(out, "does not reproduce"));
    free(out);
}
END_TEST

static Suite *check_suite(void)
{
    Suite *s = suite_create("check");
    TCase *tc = tcase_create("check");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_check_fixed_finds_nothing_at_default_bounds);
    tcase_add_test(tc, test_check_fixed_with_tiny_bounds_finds_nothing);
    tcase_add_test(tc, test_check_fixed_deep_narrow_scope_finds_nothing);
    tcase_add_loop_test(tc, test_check_each_ablation_found_and_replays, 1, 10);
    tcase_add_test(tc, test_check_tiny_scope_counted_by_hand);
    tcase_add_test(tc, test_check_fingerprint_collides_equivalent_states);
    tcase_add_test(tc, test_check_core_findings_stay_fixed);
    tcase_add_test(tc, test_check_core_refusing_the_policy_is_a_violation);
    tcase_add_test(tc, test_check_max_states_stops);
    tcase_add_test(tc, test_check_bad_replay_files);
    tcase_add_test(tc, test_check_cli_end_to_end);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(check_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
