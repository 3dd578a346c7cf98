/*
 * test_result.c - count names, the log-linear latency histogram and the
 * Wilson score interval.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/prng.h"
#include "sim/result.h"

START_TEST(test_result_count_names_roundtrip)
{
    /* Every entry of the X-macro table, by id and by name. */
    int entries = 0;
#define CHECK_COUNT(id, name, doc)                                                                 \
    ck_assert_str_eq(sim_count_name(SIM_COUNT_##id), #name);                                       \
    ck_assert_int_eq(sim_count_lookup(#name), SIM_COUNT_##id);                                     \
    entries++;
    SIM_COUNTS(CHECK_COUNT)
#undef CHECK_COUNT
    ck_assert_int_eq(entries, SIM_COUNT__N);
    for (int i = 0; i < SIM_COUNT__N; i++) {
        const char *n = sim_count_name(i);
        ck_assert_ptr_nonnull(n);
        ck_assert_int_eq(sim_count_lookup(n), i);
        for (int j = 0; j < i; j++) /* names are distinct */
            ck_assert_str_ne(n, sim_count_name(j));
    }
    ck_assert_str_eq(sim_count_name(SIM_COUNT_EXPECTED), "expected");
    ck_assert_str_eq(sim_count_name(SIM_COUNT_SILENT_LOSS), "silent_loss");
    ck_assert_str_eq(sim_count_name(SIM_COUNT_OUT_OF_ORDER), "out_of_order");
    ck_assert_ptr_null(sim_count_name(-1));
    ck_assert_ptr_null(sim_count_name(SIM_COUNT__N));
    ck_assert_int_eq(sim_count_lookup("nonsense"), -1);
    ck_assert_int_eq(sim_count_lookup("Expected"), -1);
    ck_assert_int_eq(sim_count_lookup(""), -1);
    ck_assert_int_eq(sim_count_lookup(NULL), -1);
}
END_TEST

/* bucket(v) as seen through sim_hist_add: the one bucket that counts it. */
static int bucket_of(uint64_t v)
{
    static sim_hist h;
    memset(&h, 0, sizeof h);
    sim_hist_add(&h, v);
    for (int i = 0; i < SIM_HIST_BUCKETS; i++)
        if (h.b[i])
            return i;
    return -1;
}

START_TEST(test_result_hist_small_values_exact)
{
    for (uint64_t v = 0; v < 16; v++) {
        ck_assert_int_eq(bucket_of(v), (int)v);
        ck_assert_uint_eq(sim_hist_bucket_low((int)v), v);
    }
    ck_assert_uint_eq(sim_hist_bucket_low(16), 16);
    ck_assert_uint_eq(sim_hist_bucket_low(17), 18);
}
END_TEST

/* Every value lies in [low(b), low(b+1)), buckets are at most 12.5% of
 * their low end wide, and the low ends increase. */
START_TEST(test_result_hist_bucket_bounds)
{
    sim_prng r;
    sim_prng_seed(&r, 4);
    for (int k = 0; k < 20000; k++) {
        uint64_t v = k < 64 ? (k == 0 ? UINT64_MAX : (1ULL << (k - 1)) - 1 + (k % 3))
                            : sim_prng_next(&r) >> sim_prng_below(&r, 64);
        int b = bucket_of(v);
        ck_assert_int_ge(b, 0);
        ck_assert_int_lt(b, SIM_HIST_BUCKETS);
        uint64_t lo = sim_hist_bucket_low(b), hi = sim_hist_bucket_low(b + 1);
        ck_assert_uint_le(lo, v);
        ck_assert_msg(v < hi || hi == UINT64_MAX, "v=%llu b=%d hi=%llu", (unsigned long long)v, b,
                      (unsigned long long)hi);
        if (lo >= 8)
            ck_assert_uint_le((hi - lo) * 8, lo);
    }
    uint64_t prev = 0;
    int used = 0;
    for (int i = 1; i < SIM_HIST_BUCKETS; i++) {
        uint64_t lo = sim_hist_bucket_low(i);
        if (lo == UINT64_MAX)
            break;
        ck_assert_uint_gt(lo, prev);
        prev = lo;
        used = i;
    }
    ck_assert_int_eq(bucket_of(UINT64_MAX), used);
}
END_TEST

START_TEST(test_result_hist_quantile)
{
    sim_hist h;
    memset(&h, 0, sizeof h);
    ck_assert_uint_eq(sim_hist_quantile(&h, 0.5), 0);
    for (uint64_t v = 1; v <= 1000; v++)
        sim_hist_add(&h, v);
    ck_assert_uint_eq(h.count, 1000);
    ck_assert_uint_eq(h.max, 1000);
    /* An upper estimate within one bucket (12.5%) of the true quantile. */
    const double qs[] = {0.01, 0.5, 0.9, 0.99};
    for (int k = 0; k < 4; k++) {
        uint64_t want = (uint64_t)ceil(qs[k] * 1000), got = sim_hist_quantile(&h, qs[k]);
        ck_assert_uint_ge(got, want);
        ck_assert_uint_le(got, want + want / 8);
    }
    ck_assert_uint_eq(sim_hist_quantile(&h, 1.0), 1000); /* capped at max */
    /* Small values are exact. */
    memset(&h, 0, sizeof h);
    sim_hist_add(&h, 3);
    sim_hist_add(&h, 7);
    sim_hist_add(&h, 7);
    ck_assert_uint_eq(sim_hist_quantile(&h, 0.3), 3);
    ck_assert_uint_eq(sim_hist_quantile(&h, 0.5), 7);
    /* One large value: the quantile is the exact max, not the bucket top. */
    memset(&h, 0, sizeof h);
    sim_hist_add(&h, 123456789);
    ck_assert_uint_eq(sim_hist_quantile(&h, 0.5), 123456789);
}
END_TEST

START_TEST(test_result_hist_merge)
{
    sim_hist a, b, all;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&all, 0, sizeof all);
    sim_prng r;
    sim_prng_seed(&r, 9);
    for (int i = 0; i < 1000; i++) {
        uint64_t v = sim_prng_below(&r, 1000000000);
        sim_hist_add(i % 3 ? &a : &b, v);
        sim_hist_add(&all, v);
    }
    sim_hist_merge(&a, &b);
    ck_assert_uint_eq(a.count, all.count);
    ck_assert_uint_eq(a.max, all.max);
    ck_assert_int_eq(memcmp(a.b, all.b, sizeof a.b), 0);
    ck_assert_uint_eq(sim_hist_quantile(&a, 0.9), sim_hist_quantile(&all, 0.9));
}
END_TEST

/* Known values: k = 81 of n = 263 gives [0.2553, 0.3662] (the standard
 * worked example of the Wilson interval). */
START_TEST(test_result_wilson_known)
{
    double lo, hi;
    sim_wilson(81, 263, &lo, &hi);
    ck_assert_double_eq_tol(lo, 0.2553, 5e-5);
    ck_assert_double_eq_tol(hi, 0.3662, 5e-5);
    /* k = 50 of 100: symmetric around 0.5, [0.4038, 0.5962]. */
    sim_wilson(50, 100, &lo, &hi);
    ck_assert_double_eq_tol(lo, 0.4038, 5e-5);
    ck_assert_double_eq_tol(lo + hi, 1.0, 1e-12);
}
END_TEST

START_TEST(test_result_wilson_edges)
{
    const double z2 = 1.959964 * 1.959964;
    double lo, hi;
    sim_wilson(0, 0, &lo, &hi);
    ck_assert(lo == 0 && hi == 1);
    /* k = 0: lo = 0 exactly, hi = z^2 / (n + z^2). */
    sim_wilson(0, 10, &lo, &hi);
    ck_assert(lo == 0);
    ck_assert_double_eq_tol(hi, z2 / (10 + z2), 1e-12);
    /* k = n: hi = 1 exactly, lo = n / (n + z^2). */
    sim_wilson(10, 10, &lo, &hi);
    ck_assert(hi == 1);
    ck_assert_double_eq_tol(lo, 10 / (10 + z2), 1e-12);
    /* k > n is clamped to n. */
    double lo2, hi2;
    sim_wilson(12, 10, &lo2, &hi2);
    ck_assert(lo2 == lo && hi2 == hi);
    /* Mirror symmetry: [lo(k), hi(k)] = [1 - hi(n-k), 1 - lo(n-k)]. */
    for (uint64_t k = 0; k <= 37; k++) {
        sim_wilson(k, 37, &lo, &hi);
        sim_wilson(37 - k, 37, &lo2, &hi2);
        ck_assert_double_eq_tol(lo, 1 - hi2, 1e-12);
        ck_assert(lo <= (double)k / 37 && (double)k / 37 <= hi);
    }
    /* The interval narrows as n grows at a fixed rate. */
    sim_wilson(99, 100, &lo, &hi);
    sim_wilson(99000, 100000, &lo2, &hi2);
    ck_assert_double_lt(hi2 - lo2, (hi - lo) / 10);
}
END_TEST

static Suite *result_suite(void)
{
    Suite *s = suite_create("result");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_result_count_names_roundtrip);
    tcase_add_test(tc, test_result_hist_small_values_exact);
    tcase_add_test(tc, test_result_hist_bucket_bounds);
    tcase_add_test(tc, test_result_hist_quantile);
    tcase_add_test(tc, test_result_hist_merge);
    tcase_add_test(tc, test_result_wilson_known);
    tcase_add_test(tc, test_result_wilson_edges);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(result_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
