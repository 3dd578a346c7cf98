/*
 * test_swarm.c - the swarm generator (sim/swarm.c): every generated
 * scenario loads, the generator is deterministic, feature subsets vary and
 * the features drawn show in the text.
 */
#include <check.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/emit.h"
#include "sim/scenario.h"
#include "sim/swarm.h"

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
    for (int k = SIM_REF_NEW; k <= SIM_REF_FOREIGN; k++)
        ck_assert_msg(refs[k] > 0, "REF kind %d never drawn", k);
    ck_assert_int_gt(http, 0);
    ck_assert_int_gt(repeats, 300);
    ck_assert_int_gt(faults, 300);
    ck_assert_int_gt(policy, 300);
    ck_assert_int_gt(multitab, 300);
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

static Suite *swarm_suite(void)
{
    Suite *s = suite_create("swarm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_swarm_every_scenario_loads);
    tcase_add_test(tc, test_swarm_deterministic_and_varied);
    tcase_add_test(tc, test_swarm_forced_features);
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
