/*
 * test_emit.c - the scenario emitter (sim/emit.c).
 *
 * Every scenario of the suite and of tests/data/good and
 * tests/data/false_fail: load -> emit -> load -> emit gives identical text,
 * and the two loaded scenarios run to the same trace hash (2 seeds each).
 * Run from the repository root.
 */
#include <check.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/emit.h"
#include "sim/scenario.h"
#include "sim/world.h"

static const char *const dirs[] = {"scenarios", "tests/data/good", "tests/data/false_fail"};

/* run_hash runs one seed of sc under its own policy; returns the trace
 * hash, the counts and (in *rc) what sim_world_run returned (a livelock,
 * such as tests/data/good/full.yaml's exec_retry_interval 0, is a result
 * too: both sides must agree on it). */
static uint64_t run_hash(const sim_scenario *sc, uint64_t seed, uint64_t counts[SIM_COUNT__N],
                         int *rc)
{
    cr_policy pol;
    sim_seed_result *res = calloc(1, sizeof *res);
    ck_assert_ptr_nonnull(res);
    ck_assert_int_eq(sim_scenario_policy(sc, -1, &pol), 0);
    sim_world_opts wo = {.seed = seed};
    *rc = sim_world_run(sc, &pol, &wo, res, NULL);
    uint64_t h = res->trace_hash;
    memcpy(counts, res->c, sizeof res->c);
    free(res);
    return h;
}

/* A smaller copy of a scenario: users capped (the round trip does not
 * depend on it; the suite's largest files would be slow otherwise). */
static void cap_users(sim_scenario *s)
{
    if (s->users > 8)
        s->users = 8;
}

static void check_file(const char *path)
{
    sim_scenario *a = NULL, *b = NULL;
    sim_scenario_error err;
    char *t1 = NULL, *t2 = NULL;
    size_t n1 = 0, n2 = 0;
    ck_assert_msg(sim_scenario_load(path, &a, &err) == 0, "%s: %s", path, err.msg);
    cap_users(a);
    ck_assert_int_eq(sim_scenario_emit(a, &t1, &n1), 0);
    ck_assert_uint_eq(strlen(t1), n1);
    ck_assert_msg(sim_scenario_load_string(path, t1, n1, &b, &err) == 0,
                  "%s: reload: %d:%d: %s\n%s", path, err.line, err.col, err.msg, t1);
    ck_assert_int_eq(sim_scenario_emit(b, &t2, &n2), 0);
    ck_assert_msg(strcmp(t1, t2) == 0, "%s: second emit differs:\n%s\n----\n%s", path, t1, t2);
    /* the loaded scenarios are equal where it matters: the runs */
    ck_assert_int_eq(a->expect.is_default, b->expect.is_default);
    ck_assert_int_eq(a->nnames, b->nnames);
    for (uint64_t seed = 1; seed <= 2; seed++) {
        uint64_t ca[SIM_COUNT__N], cb[SIM_COUNT__N];
        int ra, rb;
        uint64_t ha = run_hash(a, seed, ca, &ra), hb = run_hash(b, seed, cb, &rb);
        ck_assert_int_eq(ra, rb);
        ck_assert_msg(ha == hb, "%s seed %llu: trace hash differs", path, (unsigned long long)seed);
        ck_assert_mem_eq(ca, cb, sizeof ca);
    }
    free(t1);
    free(t2);
    sim_scenario_free(a);
    sim_scenario_free(b);
}

START_TEST(test_emit_round_trips_every_file)
{
    int files = 0;
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        DIR *dh = opendir(dirs[d]);
        struct dirent *de;
        ck_assert_ptr_nonnull(dh);
        while ((de = readdir(dh))) {
            size_t n = strlen(de->d_name);
            char path[600];
            if (n < 6 || strcmp(de->d_name + n - 5, ".yaml") != 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dirs[d], de->d_name);
            check_file(path);
            files++;
        }
        closedir(dh);
    }
    ck_assert_int_ge(files, 20);
}
END_TEST

static sim_scenario *load_text(const char *text)
{
    sim_scenario *s = NULL;
    sim_scenario_error err;
    ck_assert_msg(sim_scenario_load_string("t.yaml", text, strlen(text), &s, &err) == 0, "%s",
                  err.msg);
    return s;
}

static char *emit(const sim_scenario *s)
{
    char *t = NULL;
    ck_assert_int_eq(sim_scenario_emit(s, &t, NULL), 0);
    return t;
}

#define HEAD                                                                                       \
    "version: 1\nname: t\nsummary: s\nhorizon: 10s\nusers: 2\nnetwork: {uplink: 1ms, downlink: "   \
    "1ms}\nserver: {auth: 1ms, thread_lookup: 1ms, agent_start: 1ms, event_gap: 1ms}\n"

START_TEST(test_emit_strict_default_has_no_expect)
{
    sim_scenario *s = load_text(HEAD "client: [connect]\n");
    char *t = emit(s);
    ck_assert_ptr_null(strstr(t, "expect"));
    free(t);
    sim_scenario_free(s);
}
END_TEST

START_TEST(test_emit_expect_kept_exactly)
{
    sim_scenario *s = load_text(HEAD "client: [connect]\nexpect: {expected: 0, late: 7}\n");
    char *t = emit(s);
    ck_assert_ptr_nonnull(strstr(t, "expect:\n  expected: 0\n  late: 7\n"));
    ck_assert_ptr_null(strstr(t, "delivery_rate"));
    sim_scenario *b = load_text(t);
    ck_assert_int_eq(b->expect.is_default, 0);
    ck_assert_int_eq(b->expect.has_rate, 0);
    ck_assert_int_eq(b->expect.max[SIM_COUNT_EXPECTED], 0);
    ck_assert_int_eq(b->expect.max[SIM_COUNT_LATE], 7);
    ck_assert_int_eq(b->expect.max[SIM_COUNT_MISROUTED], -1);
    free(t);
    sim_scenario_free(b);
    sim_scenario_free(s);
    /* an empty block is not the strict default */
    s = load_text(HEAD "client: [connect]\nexpect: {}\n");
    t = emit(s);
    ck_assert_ptr_nonnull(strstr(t, "expect: {}\n"));
    b = load_text(t);
    ck_assert_int_eq(b->expect.is_default, 0);
    free(t);
    sim_scenario_free(b);
    sim_scenario_free(s);
}
END_TEST

START_TEST(test_emit_refs_repeats_policy_summary)
{
    sim_scenario *s = load_text(
        "version: 1\nname: t\nsummary: \"a \\\"quoted\\\" one\\\\ with\\ttab\"\nhorizon: 90s\n"
        "drain: 1500ms\npolicy: {exec_grace: 0, pending_max: 3, fallback_notify: off, "
        "event_buffer_max_bytes: 1KiB}\nusers: 3\nclients_per_user: uniform(1, 2.5)\n"
        "deadline: 2s\nnetwork:\n  uplink: 1ms\n  downlink: lognormal(median=20ms, p99=250ms)\n"
        "  reconnect_backoff: 1ms\nserver:\n  auth: 1ms\n  thread_lookup: pareto(scale=1ms, "
        "shape=1.5)\n  agent_start: 1ms\n  event_gap: 1ms\n  agent_events: [a, b_c]\n"
        "faults: {thread_update_fail: 0.1, disconnect: 0.0123456789012345}\n"
        "client:\n  - wait: empirical(p50=1ms, p99.9=1s)\n  - connect\n"
        "  - send: {thread: new, as: x1, via: http}\n  - repeat:\n      times: 4\n      steps:\n"
        "        - switch: {thread: x1}\n        - repeat: {times: 2, steps: [{send: {thread: "
        "same}}, {send: {thread: none}}, {switch: {thread: foreign}}]}\n"
        "  - send: {thread: foreign}\n  - disconnect\n  - reconnect\n  - close\n");
    char *t = emit(s);
    sim_scenario *b = load_text(t);
    char *t2 = emit(b);
    ck_assert_str_eq(t, t2);
    ck_assert_str_eq(b->summary, "a \"quoted\" one\\ with\ttab");
    ck_assert_uint_eq(b->drain, 1500 * CR_NS_PER_MS);
    ck_assert_uint_eq(b->npolicy, 4);
    ck_assert_str_eq(b->policy[0].name, "exec_grace");
    ck_assert_uint_eq(b->policy[0].value, 0);
    ck_assert_uint_eq(b->policy[3].value, 1024);
    ck_assert(b->disconnect == 0.0123456789012345);
    ck_assert_uint_eq(b->nsteps, 8);
    ck_assert_int_eq(b->steps[2].ref.kind, SIM_REF_NEW);
    ck_assert_int_eq(b->steps[2].via_http, 1);
    ck_assert_str_eq(b->names[b->steps[2].ref.as], "x1");
    ck_assert_uint_eq(b->steps[3].times, 4);
    ck_assert_int_eq(b->steps[3].steps[0].ref.kind, SIM_REF_NAMED);
    ck_assert_uint_eq(b->steps[3].steps[1].nsteps, 3);
    ck_assert_int_eq(b->steps[3].steps[1].steps[1].ref.kind, SIM_REF_NONE);
    ck_assert_int_eq(b->steps[3].steps[1].steps[2].ref.kind, SIM_REF_FOREIGN);
    ck_assert_int_eq(b->steps[3].steps[1].steps[2].kind, SIM_STEP_SWITCH);
    ck_assert_int_eq(memcmp(&s->downlink, &b->downlink, sizeof s->downlink), 0);
    ck_assert_int_eq(memcmp(&s->thread_lookup, &b->thread_lookup, sizeof s->thread_lookup), 0);
    ck_assert_int_eq(memcmp(&s->steps[0].wait, &b->steps[0].wait, sizeof s->steps[0].wait), 0);
    free(t);
    free(t2);
    sim_scenario_free(b);
    sim_scenario_free(s);
}
END_TEST

START_TEST(test_emit_kind_tables_match_the_loader)
{
    /* every step name and REF word of the shared tables reads back */
    for (int k = SIM_STEP_CONNECT; k <= SIM_STEP_REPEAT; k++)
        ck_assert_int_eq(sim_step_kind_lookup(sim_step_kind_name(k)), k);
    ck_assert_ptr_null(sim_step_kind_name(-1));
    ck_assert_int_eq(sim_step_kind_lookup("login"), -1);
    ck_assert_str_eq(sim_ref_kind_name(SIM_REF_NAMED), "");
    ck_assert_int_eq(sim_ref_kind_lookup(""), -1);
    ck_assert_int_eq(sim_ref_kind_lookup("foreign"), SIM_REF_FOREIGN);
    ck_assert_int_eq(sim_ref_kind_lookup("mine"), -1);
}
END_TEST

START_TEST(test_emit_duration_units)
{
    char b[32];
    ck_assert_int_eq(sim_emit_duration(1500 * CR_NS_PER_MS, b, sizeof b), 0);
    ck_assert_str_eq(b, "1500ms");
    ck_assert_int_eq(sim_emit_duration(120 * CR_NS_PER_S, b, sizeof b), 0);
    ck_assert_str_eq(b, "2m");
    ck_assert_int_eq(sim_emit_duration(7, b, sizeof b), 0);
    ck_assert_str_eq(b, "7ns");
    ck_assert_int_eq(sim_emit_duration(UINT64_MAX, b, sizeof b), 0);
    ck_assert_str_eq(b, "18446744073709551615ns");
    ck_assert_int_eq(sim_emit_duration(UINT64_MAX, b, 4), -1);
}
END_TEST

static Suite *emit_suite(void)
{
    Suite *s = suite_create("emit");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_emit_round_trips_every_file);
    tcase_add_test(tc, test_emit_strict_default_has_no_expect);
    tcase_add_test(tc, test_emit_expect_kept_exactly);
    tcase_add_test(tc, test_emit_refs_repeats_policy_summary);
    tcase_add_test(tc, test_emit_kind_tables_match_the_loader);
    tcase_add_test(tc, test_emit_duration_units);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(emit_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
