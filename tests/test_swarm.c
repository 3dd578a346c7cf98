/*
 * test_swarm.c - the swarm generator (sim/swarm.c): every generated
 * scenario loads, the generator is deterministic, feature subsets vary and
 * the features drawn show in the text.
 */
#include <check.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "sim/emit.h"
#include "sim/shrink.h"
#include "sim/scenario.h"
#include "sim/swarm.h"
#include "tests/lib/cli_run.h"

/* count_kind counts steps of `kind` in a script, repeats included. */
static size_t count_kind(const sim_step *st, size_t n, int kind, int *http, int refs[8])
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if ((int)st[i].kind == kind)
            k++;
        if (st[i].kind == SIM_STEP_SEND || st[i].kind == SIM_STEP_SWITCH)
            refs[st[i].ref.kind]++;
        *http += st[i].via_http;
        if (st[i].kind == SIM_STEP_REPEAT)
            k += count_kind(st[i].steps, st[i].nsteps, kind, http, refs);
    }
    return k;
}

START_TEST(test_swarm_every_scenario_loads)
{
    /* thousands of seeds: every text loads, and emits back to a fixpoint */
    int refs[8] = {0}, http = 0, repeats = 0, faults = 0, policy = 0, multitab = 0;
    uint32_t seen_on = 0, seen_off = 0;
    for (uint64_t seed = 1; seed <= 3000; seed++) {
        char *t = NULL;
        uint32_t feat = 0;
        sim_scenario *s = NULL;
        sim_scenario_error err;
        ck_assert_int_eq(sim_swarm_generate(seed, NULL, &t, &feat), 0);
        ck_assert_msg(sim_scenario_load_string("swarm.yaml", t, strlen(t), &s, &err) == 0,
                      "seed %llu: %d:%d: %s\n%s", (unsigned long long)seed, err.line, err.col,
                      err.msg, t);
        ck_assert(s->expect.is_default);
        ck_assert_uint_ge(s->users, 1);
        ck_assert_uint_le(s->users, 8);
        repeats += count_kind(s->steps, s->nsteps, SIM_STEP_REPEAT, &http, refs) > 0;
        faults += s->thread_update_fail > 0 || s->disconnect > 0;
        policy += s->npolicy > 0;
        multitab += s->clients_per_user.kind != SIM_DIST_CONST || s->clients_per_user.a > 1;
        seen_on |= feat;
        seen_off |= ~feat;
        if (seed <= 300) { /* the emitter round trip on a sample */
            char *e1 = NULL, *e2 = NULL;
            sim_scenario *b = NULL;
            ck_assert_int_eq(sim_scenario_emit(s, &e1, NULL), 0);
            ck_assert_int_eq(sim_scenario_load_string("e.yaml", e1, strlen(e1), &b, &err), 0);
            ck_assert_int_eq(sim_scenario_emit(b, &e2, NULL), 0);
            ck_assert_str_eq(e1, e2);
            free(e1);
            free(e2);
            sim_scenario_free(b);
        }
        free(t);
        sim_scenario_free(s);
    }
    /* every feature is on in some scenarios and off in others */
    for (int f = 0; f < SIM_SWARM__N; f++) {
        ck_assert_msg(seen_on & (1u << f), "feature %s never on", sim_swarm_feature_name(f));
        ck_assert_msg(seen_off & (1u << f), "feature %s never off", sim_swarm_feature_name(f));
    }
    for (int k = SIM_REF_NEW; k <= SIM_REF_SIBLING; k++)
        ck_assert_msg(refs[k] > 0, "REF kind %d never drawn", k);
    ck_assert_int_gt(http, 0);
    ck_assert_int_gt(repeats, 300);
    ck_assert_int_gt(faults, 300);
    ck_assert_int_gt(policy, 300);
    ck_assert_int_gt(multitab, 300);
}
END_TEST

START_TEST(test_swarm_policy_within_fixed)
{
    /* every override keeps each fix on (a legacy value is 0 for every fix
     * knob), and every knob of the list is drawn somewhere */
    size_t nk = cr_policy_knob_count();
    int drawn[64] = {0};
    ck_assert_uint_le(nk, 64);
    for (uint64_t seed = 1; seed <= 2000; seed++) {
        char *t = NULL;
        sim_scenario *s = NULL;
        ck_assert_int_eq(sim_swarm_generate(seed, NULL, &t, NULL), 0);
        ck_assert_int_eq(sim_scenario_load_string("swarm.yaml", t, strlen(t), &s, NULL), 0);
        for (size_t k = 0; k < s->npolicy; k++) {
            size_t i = 0;
            while (i < nk && strcmp(cr_policy_knob(i)->name, s->policy[k].name) != 0)
                i++;
            ck_assert_uint_lt(i, nk);
            drawn[i]++;
            if (cr_policy_knob(i)->fix != 0 || !strcmp(s->policy[k].name, "pending_deadline"))
                ck_assert_msg(s->policy[k].value != 0, "seed %llu: %s = 0 switches it off",
                              (unsigned long long)seed, s->policy[k].name);
        }
        cr_policy pol;
        ck_assert_int_eq(cr_policy_init(&pol, CR_PROFILE_FIXED), 0);
        for (size_t k = 0; k < s->npolicy; k++)
            ck_assert_int_eq(cr_policy_set(&pol, s->policy[k].name, s->policy[k].value), 0);
        free(t);
        sim_scenario_free(s);
    }
    for (size_t i = 0; i < nk; i++)
        if (cr_policy_knob(i)->fix != 0 || !strcmp(cr_policy_knob(i)->name, "pending_deadline"))
            ck_assert_msg(drawn[i] > 0, "knob %s never drawn", cr_policy_knob(i)->name);
}
END_TEST

START_TEST(test_swarm_deterministic_and_varied)
{
    char *a = NULL, *b = NULL, *c = NULL;
    uint32_t fa = 0, fb = 0;
    ck_assert_int_eq(sim_swarm_generate(42, NULL, &a, &fa), 0);
    ck_assert_int_eq(sim_swarm_generate(42, NULL, &b, &fb), 0);
    ck_assert_int_eq(sim_swarm_generate(43, NULL, &c, NULL), 0);
    ck_assert_str_eq(a, b);
    ck_assert_uint_eq(fa, fb);
    ck_assert_str_ne(a, c);
    free(a);
    free(b);
    free(c);
}
END_TEST

START_TEST(test_swarm_forced_features)
{
    sim_swarm_opts o = {.force_on = 1u << SIM_SWARM_HTTP, .force_off = 1u << SIM_SWARM_REPEATS};
    for (uint64_t seed = 1; seed <= 50; seed++) {
        char *t = NULL, list[512];
        uint32_t f = 0;
        ck_assert_int_eq(sim_swarm_generate(seed, &o, &t, &f), 0);
        ck_assert(f & (1u << SIM_SWARM_HTTP));
        ck_assert(!(f & (1u << SIM_SWARM_REPEATS)));
        ck_assert_ptr_null(strstr(t, "repeat:"));
        ck_assert_int_eq(sim_swarm_features_format(f, list, sizeof list), 0);
        ck_assert_ptr_nonnull(strstr(t, list));
        free(t);
    }
    char small[4];
    ck_assert_int_eq(sim_swarm_features_format(0, small, sizeof small), -1);
    char none[8];
    ck_assert_int_eq(sim_swarm_features_format(0, none, sizeof none), 0);
    ck_assert_str_eq(none, "none");
}
END_TEST

/* load_swarm loads generated scenario i of base 1 into *s. */
static void load_swarm(uint32_t i, sim_scenario **s)
{
    char *t = NULL;
    ck_assert_int_eq(sim_swarm_generate(sim_swarm_scenario_seed(1, i), NULL, &t, NULL), 0);
    ck_assert_int_eq(sim_scenario_load_string("swarm.yaml", t, strlen(t), s, NULL), 0);
    free(t);
}

START_TEST(test_swarm_differential_reports_both_counts)
{
    /* exec_grace off (F2): some seed of the first scenarios loses events
     * the fix delivers, and the judge says so with both counts */
    sim_sweep_opts so;
    memset(&so, 0, sizeof so);
    so.profile = CR_PROFILE_FIXED;
    so.ablate_fix = 2;
    int found = 0;
    for (uint32_t i = 0; i < 40 && !found; i++) {
        sim_scenario *s = NULL;
        load_swarm(i, &s);
        for (uint64_t seed = 1; seed <= 2 && !found; seed++) {
            sim_world_opts wo = {.seed = seed};
            sim_swarm_verdict v;
            ck_assert_int_eq(sim_swarm_judge_seed(s, &so, &wo, &v), 0);
            ck_assert(v.has_ref);
            if (!v.failed || strcmp(v.kind, "differential") != 0)
                continue;
            found = 1;
            ck_assert(v.attributable);
            ck_assert(sim_swarm_differential(&v.run, &v.ref));
            ck_assert(v.run.counts[SIM_COUNT_DELIVERED] + v.run.counts[SIM_COUNT_LATE] <
                          v.ref.counts[SIM_COUNT_DELIVERED] + v.ref.counts[SIM_COUNT_LATE] ||
                      v.run.counts[SIM_COUNT_LOST] > v.ref.counts[SIM_COUNT_LOST]);
            char want[128];
            snprintf(want, sizeof want, "delivered %llu of %llu",
                     (unsigned long long)v.run.counts[SIM_COUNT_DELIVERED],
                     (unsigned long long)v.run.counts[SIM_COUNT_EXPECTED]);
            ck_assert_ptr_nonnull(strstr(v.reason, want));
            snprintf(want, sizeof want, "where the fix delivers %llu of %llu",
                     (unsigned long long)v.ref.counts[SIM_COUNT_DELIVERED],
                     (unsigned long long)v.ref.counts[SIM_COUNT_EXPECTED]);
            ck_assert_ptr_nonnull(strstr(v.reason, want));
        }
        sim_scenario_free(s);
    }
    ck_assert_msg(found, "no differential finding for --ablate 2 in 40 scenarios");
}
END_TEST

START_TEST(test_swarm_reference_never_differential)
{
    /* unablated: no reference is run, nothing is differential, and a run
     * judged against itself (the same seed twice) never differs */
    sim_sweep_opts so;
    memset(&so, 0, sizeof so);
    so.profile = CR_PROFILE_FIXED;
    for (uint32_t i = 0; i < 30; i++) {
        sim_scenario *s = NULL;
        load_swarm(i, &s);
        for (uint64_t seed = 1; seed <= 2; seed++) {
            sim_world_opts wo = {.seed = seed};
            sim_swarm_verdict v;
            sim_failure again;
            ck_assert_int_eq(sim_swarm_judge_seed(s, &so, &wo, &v), 0);
            ck_assert(!v.has_ref);
            ck_assert_str_ne(v.kind, "differential");
            ck_assert_int_eq(sim_failure_judge(s, &so, &wo, 0, &again), 0);
            ck_assert_uint_eq(again.trace_hash, v.run.trace_hash);
            ck_assert(!sim_swarm_differential(&v.run, &again));
            ck_assert(!sim_swarm_differential(&again, &v.run));
        }
        sim_scenario_free(s);
    }
}
END_TEST

START_TEST(test_swarm_finds_every_ablation)
{
    /* each fix switched off alone is found (a failure attributable to the
     * ablation) by the CI budget: 150 scenarios x 2 seeds of base 1 (the
     * swarm detector of tests/mutants/detectors.txt) */
    char dir[] = "/tmp/ctxsim-swarm-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    for (int n = 1; n <= 9; n++) {
        char *out = NULL, want[64];
        int rc = cli_run(dir, &out, NULL,
                         "explore --strategy swarm --budget 150 --seeds 2 --seed 1 --ablate %d "
                         "--jobs 2 --out %s/abl%d",
                         n, dir, n);
        ck_assert_int_eq(rc, 1);
        ck_assert_ptr_nonnull(out);
        snprintf(want, sizeof want, "swarm: fix %d found:", n);
        ck_assert_msg(strstr(out, want), "fix %d not found:\n%s", n, out);
        if (n == 2) { /* F2 is found by the differential judge; both replay lines */
            ck_assert_ptr_nonnull(strstr(out, ": differential: delivered "));
            ck_assert_ptr_nonnull(strstr(out, "reference (the fix on): "));
        }
        free(out);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *swarm_suite(void)
{
    Suite *s = suite_create("swarm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_swarm_every_scenario_loads);
    tcase_add_test(tc, test_swarm_policy_within_fixed);
    tcase_add_test(tc, test_swarm_deterministic_and_varied);
    tcase_add_test(tc, test_swarm_forced_features);
    tcase_add_test(tc, test_swarm_differential_reports_both_counts);
    tcase_add_test(tc, test_swarm_reference_never_differential);
    tcase_add_test(tc, test_swarm_finds_every_ablation);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(swarm_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
