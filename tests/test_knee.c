/*
 * test_knee.c - the knee search (sim/knee.h) on synthetic curves: both
 * directions, target never reached, every value passing, bisection down
 * to the resolution.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "sim/knee.h"

/* A synthetic curve: rate 1 above `edge` (or below it when down), 0.9
 * otherwise, 100000 events per value. */
typedef struct curve {
    double edge;
    int down;
    int calls;
} curve;

static void at(const curve *c, double v, sim_knee_point *p)
{
    int good = c->down ? v <= c->edge : v >= c->edge;
    sim_knee_point_set(p, v, good ? 100000 : 90000, 100000);
}

static int eval(void *ud, double v, sim_knee_point *out)
{
    curve *c = ud;
    c->calls++;
    at(c, v, out);
    return 0;
}

static size_t grid(const curve *c, sim_knee_point *p, double from, double to, int n)
{
    for (int i = 0; i < n; i++)
        at(c, from + (to - from) * i / (n - 1), &p[i]);
    return (size_t)n;
}

START_TEST(test_knee_up_bisects_to_the_resolution)
{
    curve c = {.edge = 1.83};
    sim_knee_point p[64];
    size_t n = grid(&c, p, 0, 3, 16); /* step 0.2 */
    sim_knee k;
    ck_assert_int_eq(sim_knee_find(p, &n, 64, 0.99, SIM_KNEE_FLAT, 0.01, 0, eval, &c, &k), 0);
    ck_assert_int_eq(k.dir, SIM_KNEE_UP);
    ck_assert_int_eq(k.status, SIM_KNEE_FOUND);
    ck_assert(k.value >= 1.83 && k.value - 1.83 <= 0.01);
    ck_assert(fabs(k.value - k.bracket) <= 0.01);
    ck_assert(k.bracket < 1.83);
    ck_assert_int_eq((int)k.extra, c.calls);
    ck_assert_int_ge(c.calls, 4); /* 0.2 -> 0.0125 */
    ck_assert_uint_eq(n, 16 + (size_t)c.calls);
    for (size_t i = 1; i < n; i++) /* bisection values inserted in order */
        ck_assert(p[i - 1].value < p[i].value);
}
END_TEST

START_TEST(test_knee_down_direction_from_the_data)
{
    curve c = {.edge = 700, .down = 1};
    sim_knee_point p[64];
    size_t n = grid(&c, p, 100, 2000, 8);
    sim_knee k;
    ck_assert_int_eq(sim_knee_direction(p, n), SIM_KNEE_DOWN);
    ck_assert_int_eq(sim_knee_find(p, &n, 64, 0.99, SIM_KNEE_FLAT, 1, 1, eval, &c, &k), 0);
    ck_assert_int_eq(k.dir, SIM_KNEE_DOWN);
    ck_assert_int_eq(k.status, SIM_KNEE_FOUND);
    ck_assert(k.value == 700); /* integer bisection ends on the edge */
    ck_assert(k.bracket == 701);
}
END_TEST

START_TEST(test_knee_target_never_reached)
{
    curve c = {.edge = 1e9};
    sim_knee_point p[16];
    size_t n = grid(&c, p, 0, 3, 7);
    p[3].k = 95000; /* the best value is in the middle */
    p[3].lo = 0.948;
    sim_knee k;
    ck_assert_int_eq(sim_knee_find(p, &n, 16, 0.99, SIM_KNEE_FLAT, 0.1, 0, eval, &c, &k), 0);
    ck_assert_int_eq(k.status, SIM_KNEE_NEVER);
    ck_assert_int_eq(c.calls, 0);
    ck_assert_uint_eq(k.best, 3);
    ck_assert(k.best_value == 1.5);
}
END_TEST

START_TEST(test_knee_every_value_passes)
{
    curve c = {.edge = -1};
    sim_knee_point p[16];
    size_t n = grid(&c, p, 0, 3, 7);
    sim_knee k;
    ck_assert_int_eq(sim_knee_find(p, &n, 16, 0.99, SIM_KNEE_FLAT, 0.1, 0, eval, &c, &k), 0);
    ck_assert_int_eq(k.status, SIM_KNEE_ALL);
    ck_assert(k.value == 0);
    ck_assert_int_eq(c.calls, 0);
}
END_TEST

START_TEST(test_knee_a_dip_moves_the_knee_up)
{
    curve c = {.edge = 0.5};
    sim_knee_point p[16];
    size_t n = grid(&c, p, 0, 3, 7);             /* 0 .5 1 1.5 2 2.5 3 */
    sim_knee_point_set(&p[4], 2, 90000, 100000); /* fails again at 2 */
    sim_knee k;
    ck_assert_int_eq(sim_knee_find(p, &n, 16, 0.99, SIM_KNEE_UP, 0.5, 0, NULL, NULL, &k), 0);
    ck_assert_int_eq(k.status, SIM_KNEE_FOUND);
    ck_assert(k.value == 2.5); /* the target holds from the knee on */
    ck_assert(k.bracket == 2);
}
END_TEST

START_TEST(test_knee_wilson_bound_not_the_point_estimate)
{
    sim_knee_point p[2];
    sim_knee_point_set(&p[0], 1, 99, 100); /* 99% on 100 events: lower bound ~94.5% */
    sim_knee_point_set(&p[1], 2, 99900, 100000);
    ck_assert(p[0].lo < 0.96);
    size_t n = 2;
    sim_knee k;
    ck_assert_int_eq(sim_knee_find(p, &n, 2, 0.99, SIM_KNEE_UP, 0.1, 0, NULL, NULL, &k), 0);
    ck_assert_int_eq(k.status, SIM_KNEE_FOUND);
    ck_assert(k.value == 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("knee");
    TCase *tc = tcase_create("knee");
    tcase_add_test(tc, test_knee_up_bisects_to_the_resolution);
    tcase_add_test(tc, test_knee_down_direction_from_the_data);
    tcase_add_test(tc, test_knee_target_never_reached);
    tcase_add_test(tc, test_knee_every_value_passes);
    tcase_add_test(tc, test_knee_a_dip_moves_the_knee_up);
    tcase_add_test(tc, test_knee_wilson_bound_not_the_point_estimate);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
