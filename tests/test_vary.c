/*
 * test_vary.c - what `ctxsim sweep --vary` can address (sim/vary.h) and
 * the distribution parameters it rewrites (sim_dist_set).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/dist.h"
#include "sim/vary.h"

static sim_scenario *load(void)
{
    sim_scenario *sc = NULL;
    sim_scenario_error e;
    ck_assert_int_eq(sim_scenario_load("scenarios/requirements/thread_propagation.yaml", &sc, &e),
                     0);
    return sc;
}

START_TEST(test_vary_knob_and_paths_resolve)
{
    sim_scenario *sc = load();
    sim_vary_param p;
    char err[2048];
    ck_assert_int_eq(sim_vary_resolve(sc, "exec_grace", &p, err, sizeof err), 0);
    ck_assert_int_ge(p.knob, 0);
    ck_assert_int_eq(p.unit, SIM_VARY_NS);
    ck_assert_int_eq(sim_vary_resolve(sc, "policy.update_retries", &p, err, sizeof err), 0);
    ck_assert_str_eq(p.path, "update_retries");
    ck_assert_int_eq(p.unit, SIM_VARY_COUNT);
    ck_assert_int_eq(sim_vary_resolve(sc, "server.thread_lookup.p99", &p, err, sizeof err), 0);
    ck_assert_int_ge(p.field, 0);
    ck_assert_str_eq(p.dparam, "p99");
    ck_assert_int_eq(sim_vary_resolve(sc, "faults.thread_update_fail", &p, err, sizeof err), 0);
    ck_assert_int_eq(p.unit, SIM_VARY_NUMBER);
    ck_assert(p.max == 1);
    ck_assert_int_eq(sim_vary_resolve(sc, "users", &p, err, sizeof err), 0);
    ck_assert_int_eq(p.unit, SIM_VARY_COUNT);
    sim_scenario_free(sc);
}
END_TEST

START_TEST(test_vary_bad_path_lists_what_can_be_varied)
{
    sim_scenario *sc = load();
    sim_vary_param p;
    char err[3000];
    ck_assert_int_eq(sim_vary_resolve(sc, "exec_grase", &p, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "exec_grase"));
    ck_assert_ptr_nonnull(strstr(err, "exec_grace"));
    ck_assert_ptr_nonnull(strstr(err, "server.thread_lookup.{median,p99"));
    ck_assert_ptr_nonnull(strstr(err, "faults.thread_update_fail"));
    /* a distribution needs a parameter, and one it has */
    ck_assert_int_eq(sim_vary_resolve(sc, "server.thread_lookup", &p, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "median, p99"));
    ck_assert_int_eq(sim_vary_resolve(sc, "server.thread_lookup.shape", &p, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "lognormal"));
    ck_assert_int_eq(sim_vary_resolve(sc, "users.p99", &p, err, sizeof err), -1);
    sim_scenario_free(sc);
}
END_TEST

START_TEST(test_vary_values_take_units)
{
    sim_scenario *sc = load();
    sim_vary v;
    char err[3000];
    ck_assert_int_eq(sim_vary_parse(sc, "exec_grace=0..3s", &v, err, sizeof err), 0);
    ck_assert(v.from == 0 && v.to == 3e9);
    ck_assert_int_eq(sim_vary_parse(sc, "exec_grace=100..800ms", &v, err, sizeof err), 0);
    ck_assert(v.from == 100e6 && v.to == 800e6);
    ck_assert_int_eq(sim_vary_parse(sc, "exec_grace=1..3", &v, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "unit"));
    ck_assert_int_eq(sim_vary_parse(sc, "update_retries=0..6", &v, err, sizeof err), 0);
    ck_assert_int_eq(sim_vary_parse(sc, "update_retries=0..2.5", &v, err, sizeof err), -1);
    ck_assert_int_eq(sim_vary_parse(sc, "faults.thread_update_fail=0..1.5", &v, err, sizeof err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "out of range"));
    ck_assert_int_eq(sim_vary_parse(sc, "exec_grace=3s", &v, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "PARAM=FROM..TO"));
    ck_assert_int_eq(sim_vary_parse(sc, "exec_grace=1s..1s", &v, err, sizeof err), -1);
    /* p99 must stay above the median (40ms) */
    ck_assert_int_eq(sim_vary_parse(sc, "server.thread_lookup.p99=10ms..2s", &v, err, sizeof err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "median"));
    char buf[48];
    sim_vary_param ns = {.unit = SIM_VARY_NS};
    sim_vary_format(&ns, 1.9e9, buf, sizeof buf);
    ck_assert_str_eq(buf, "1.9s");
    sim_vary_format(&ns, 800e6, buf, sizeof buf);
    ck_assert_str_eq(buf, "800ms");
    sim_scenario_free(sc);
}
END_TEST

START_TEST(test_vary_lognormal_keeps_the_other_parameter)
{
    sim_dist d;
    sim_parse_error pe;
    char err[200];
    double v;
    ck_assert_int_eq(sim_dist_parse("lognormal(median=40ms, p99=800ms)", 1, &d, &pe), 0);
    ck_assert_int_eq(sim_dist_set(&d, "p99", 2e9, err, sizeof err), 0);
    ck_assert_int_eq(sim_dist_get(&d, "median", &v), 0);
    ck_assert(fabs(v - 40e6) < 1);
    ck_assert_int_eq(sim_dist_get(&d, "p99", &v), 0);
    ck_assert(fabs(v - 2e9) < 1);
    ck_assert_int_eq(sim_dist_set(&d, "median", 100e6, err, sizeof err), 0);
    ck_assert_int_eq(sim_dist_get(&d, "p99", &v), 0);
    ck_assert(fabs(v - 2e9) < 1);
    ck_assert_int_eq(sim_dist_set(&d, "p99", 50e6, err, sizeof err), -1); /* below the median */
    /* a statistic that is no parameter scales: exponential's p99 */
    ck_assert_int_eq(sim_dist_parse("exponential(mean=15ms)", 1, &d, &pe), 0);
    ck_assert_int_eq(sim_dist_set(&d, "p99", 460.5e6, err, sizeof err), 0);
    ck_assert(fabs(d.a - 460.5e6 / log(100)) < 1);
    ck_assert_int_eq(sim_dist_set(&d, "shape", 1, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "mean"));
}
END_TEST

START_TEST(test_vary_apply_changes_only_the_copy)
{
    sim_scenario *sc = load();
    sim_vary v;
    char err[3000];
    ck_assert_int_eq(sim_vary_parse(sc, "server.thread_lookup.p99=200ms..2s", &v, err, sizeof err),
                     0);
    sim_scenario copy = *sc;
    sim_sweep_opts o = {0};
    ck_assert_int_eq(sim_vary_apply(&v.p, 1.5e9, &copy, &o, err, sizeof err), 0);
    double p99;
    ck_assert_int_eq(sim_dist_get(&copy.thread_lookup, "p99", &p99), 0);
    ck_assert(fabs(p99 - 1.5e9) < 1);
    ck_assert_int_eq(sim_dist_get(&sc->thread_lookup, "p99", &p99), 0);
    ck_assert(fabs(p99 - 800e6) < 1);
    ck_assert_int_eq(sim_vary_parse(sc, "exec_grace=0..3s", &v, err, sizeof err), 0);
    ck_assert_int_eq(sim_vary_apply(&v.p, 2e9, &copy, &o, err, sizeof err), 0);
    ck_assert_int_eq(sim_vary_apply(&v.p, 1e9, &copy, &o, err, sizeof err), 0);
    ck_assert_uint_eq(o.noverrides, 1); /* replaced, not appended */
    ck_assert_uint_eq(o.overrides[0].value, 1000000000u);
    sim_scenario_free(sc);
}
END_TEST

START_TEST(test_vary_grid_linear_log_counts)
{
    sim_vary v = {.p = {.unit = SIM_VARY_NS}, .from = 0, .to = 3e9, .steps = 16};
    double g[SIM_VARY_MAX_STEPS];
    size_t n;
    ck_assert_int_eq(sim_vary_grid(&v, g, SIM_VARY_MAX_STEPS, &n), 0);
    ck_assert_uint_eq(n, 16);
    ck_assert(g[0] == 0 && g[15] == 3e9 && g[1] == 200e6);
    v.log = 1;
    ck_assert_int_eq(sim_vary_grid(&v, g, SIM_VARY_MAX_STEPS, &n), -1); /* 0 on a log axis */
    v.from = 1e6;
    v.to = 1e9;
    v.steps = 4;
    ck_assert_int_eq(sim_vary_grid(&v, g, SIM_VARY_MAX_STEPS, &n), 0);
    ck_assert(g[1] == 1e7 && g[2] == 1e8);
    sim_vary c = {.p = {.unit = SIM_VARY_COUNT}, .from = 0, .to = 3, .steps = 10};
    ck_assert_int_eq(sim_vary_grid(&c, g, SIM_VARY_MAX_STEPS, &n), 0);
    ck_assert_uint_eq(n, 4); /* rounded, duplicates dropped */
    ck_assert(sim_vary_default_resolution(&c) == 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vary");
    TCase *tc = tcase_create("vary");
    tcase_add_test(tc, test_vary_knob_and_paths_resolve);
    tcase_add_test(tc, test_vary_bad_path_lists_what_can_be_varied);
    tcase_add_test(tc, test_vary_values_take_units);
    tcase_add_test(tc, test_vary_lognormal_keeps_the_other_parameter);
    tcase_add_test(tc, test_vary_apply_changes_only_the_copy);
    tcase_add_test(tc, test_vary_grid_linear_log_counts);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
