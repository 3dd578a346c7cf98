/*
 * test_prng.c - xoshiro256** and splitmix64 against the reference vectors
 * (/work/shared/reference/prng-vectors.md, copied below), and the
 * properties of derived streams, doubles and bounded integers.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "sim/prng.h"

/* xoshiro256**, state {1, 2, 3, 4}: first ten outputs. */
static const uint64_t XOSHIRO_1234[10] = {11520ULL,
                                          0ULL,
                                          1509978240ULL,
                                          1215971899390074240ULL,
                                          1216172134540287360ULL,
                                          607988272756665600ULL,
                                          16172922978634559625ULL,
                                          8476171486693032832ULL,
                                          10595114339597558777ULL,
                                          2904607092377533576ULL};

/* splitmix64, seed 1234567: first five outputs. */
static const uint64_t SPLITMIX_1234567[5] = {6457827717110365317ULL, 3203168211198807973ULL,
                                             9817491932198370423ULL, 4593380528125082431ULL,
                                             16408922859458223821ULL};

/* splitmix64, seed 0: first four outputs. */
static const uint64_t SPLITMIX_0[4] = {0xe220a8397b1dcdafULL, 0x6e789e6aa1b965f4ULL,
                                       0x06c45d188009454fULL, 0xf88bb8a8724c81ecULL};

START_TEST(test_prng_xoshiro_reference_vectors)
{
    const uint64_t s[4] = {1, 2, 3, 4};
    sim_prng p;
    sim_prng_set_state(&p, s);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(sim_prng_next(&p), XOSHIRO_1234[i]);
}
END_TEST

START_TEST(test_prng_splitmix_reference_vectors)
{
    uint64_t st = 1234567;
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(sim_splitmix64_next(&st), SPLITMIX_1234567[i]);
    st = 0;
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(sim_splitmix64_next(&st), SPLITMIX_0[i]);
}
END_TEST

/* sim_prng_seed puts the first four splitmix64 outputs into the state. */
START_TEST(test_prng_seed_uses_splitmix)
{
    sim_prng p;
    sim_prng_seed(&p, 0);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(p.s[i], SPLITMIX_0[i]);
    sim_prng_seed(&p, 1234567);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(p.s[i], SPLITMIX_1234567[i]);
}
END_TEST

START_TEST(test_prng_seed_reproducible)
{
    sim_prng a, b, c;
    sim_prng_seed(&a, 42);
    sim_prng_seed(&b, 42);
    sim_prng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = sim_prng_next(&a);
        ck_assert_uint_eq(x, sim_prng_next(&b));
        differ += x != sim_prng_next(&c);
    }
    ck_assert_int_ge(differ, 999);
}
END_TEST

/* Streams of different (seed, concern, entity) share no output among the
 * first draws, and the same triple gives the same stream. */
START_TEST(test_prng_derive_streams_differ_and_reproduce)
{
    enum { NSTREAM = 3 * 5 * 4, DRAWS = 64 };
    static uint64_t out[NSTREAM][DRAWS];
    int k = 0;
    for (uint64_t seed = 0; seed < 3; seed++)
        for (int c = SIM_STREAM_NETWORK; c <= SIM_STREAM_SCHEDULE; c++)
            for (uint64_t ent = 0; ent < 4; ent++, k++) {
                sim_prng p, q;
                sim_prng_derive(&p, seed, (sim_stream)c, ent);
                sim_prng_derive(&q, seed, (sim_stream)c, ent);
                for (int i = 0; i < DRAWS; i++) {
                    out[k][i] = sim_prng_next(&p);
                    ck_assert_uint_eq(out[k][i], sim_prng_next(&q));
                }
            }
    for (int x = 0; x < NSTREAM; x++)
        for (int y = x + 1; y < NSTREAM; y++)
            for (int i = 0; i < DRAWS; i++)
                ck_assert_uint_ne(out[x][i], out[y][i]);
}
END_TEST

/* Fields are not interchangeable: swapping concern and entity values, or
 * seed and entity, gives another stream. */
START_TEST(test_prng_derive_fields_not_symmetric)
{
    sim_prng a, b;
    sim_prng_derive(&a, 7, SIM_STREAM_CLIENTS, 3);
    sim_prng_derive(&b, 7, SIM_STREAM_FAULTS, 2);
    ck_assert_uint_ne(sim_prng_next(&a), sim_prng_next(&b));
    sim_prng_derive(&a, 5, SIM_STREAM_CLIENTS, 9);
    sim_prng_derive(&b, 9, SIM_STREAM_CLIENTS, 5);
    ck_assert_uint_ne(sim_prng_next(&a), sim_prng_next(&b));
}
END_TEST

/* Entity 5's stream is the same whether or not other entities exist or
 * draw: deriving is a pure function of the triple. */
START_TEST(test_prng_derive_entity_isolation)
{
    sim_prng alone, other, again;
    uint64_t ref[32];
    sim_prng_derive(&alone, 99, SIM_STREAM_NETWORK, 5);
    for (int i = 0; i < 32; i++)
        ref[i] = sim_prng_next(&alone);

    for (uint64_t ent = 0; ent < 10; ent++) {
        sim_prng_derive(&other, 99, SIM_STREAM_NETWORK, ent == 5 ? 6 : ent);
        for (int i = 0; i < 100; i++)
            (void)sim_prng_next(&other);
    }
    sim_prng_derive(&again, 99, SIM_STREAM_NETWORK, 5);
    for (int i = 0; i < 32; i++)
        ck_assert_uint_eq(sim_prng_next(&again), ref[i]);
}
END_TEST

START_TEST(test_prng_double_formula_and_range)
{
    sim_prng a, b;
    sim_prng_seed(&a, 2024);
    sim_prng_seed(&b, 2024);
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double d = sim_prng_double(&a);
        ck_assert(d >= 0.0 && d < 1.0);
        ck_assert(d == (double)(sim_prng_next(&b) >> 11) * 0x1.0p-53);
        sum += d;
    }
    /* Mean of U[0,1) over 1e5 draws: sd 0.2887/sqrt(1e5) = 9.1e-4; 5 sd. */
    ck_assert_double_eq_tol(sum / 100000, 0.5, 5 * 9.13e-4);
}
END_TEST

START_TEST(test_prng_below_edges)
{
    sim_prng p, q;
    sim_prng_seed(&p, 1);
    ck_assert_uint_eq(sim_prng_below(&p, 0), 0);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(sim_prng_below(&p, 1), 0);
    /* Power of two: Lemire's product keeps the top bits, never rejects. */
    sim_prng_seed(&p, 77);
    sim_prng_seed(&q, 77);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(sim_prng_below(&p, 8), sim_prng_next(&q) >> 61);
    /* n = 2^63 + 1 rejects almost half the draws: still in range. */
    const uint64_t big = (1ULL << 63) + 1;
    int high = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = sim_prng_below(&p, big);
        ck_assert_uint_lt(x, big);
        high += x >= (1ULL << 62);
    }
    /* Half of [0, 2^63] is >= 2^62: binomial sd sqrt(1000 / 4) = 15.8;
     * allow 5 sd around 500. */
    ck_assert_int_ge(high, 500 - 80);
    ck_assert_int_le(high, 500 + 80);
    ck_assert_uint_eq(sim_prng_below(&p, UINT64_MAX) < UINT64_MAX, 1);
}
END_TEST

/* Chi-square of 1e5 draws in [0, 10): 9 degrees of freedom, the 0.999
 * critical value is 27.88.  The seed is fixed, so this is deterministic;
 * a biased reduction (e.g. a plain modulo of a 4-bit value) fails it. */
START_TEST(test_prng_below_uniform_chi_square)
{
    sim_prng p;
    uint64_t cnt[10] = {0};
    const int n = 100000;
    sim_prng_seed(&p, 31337);
    for (int i = 0; i < n; i++) {
        uint64_t x = sim_prng_below(&p, 10);
        ck_assert_uint_lt(x, 10);
        cnt[x]++;
    }
    double chi = 0, e = n / 10.0;
    for (int i = 0; i < 10; i++)
        chi += (cnt[i] - e) * (cnt[i] - e) / e;
    ck_assert_double_lt(chi, 27.88);
}
END_TEST

/* The rejection path: for n = 3 * 2^62 the threshold 2^64 mod n = 2^62 is
 * large; the output must still be uniform over the three thirds. */
START_TEST(test_prng_below_rejection_uniform)
{
    sim_prng p;
    const uint64_t n = 3ULL << 62;
    uint64_t cnt[3] = {0};
    sim_prng_seed(&p, 5);
    for (int i = 0; i < 30000; i++)
        cnt[sim_prng_below(&p, n) / (1ULL << 62)]++;
    /* Each third: 10000 expected, binomial sd 81.6; 5 sd. */
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_ge(cnt[i], 10000 - 408);
        ck_assert_uint_le(cnt[i], 10000 + 408);
    }
}
END_TEST

static Suite *prng_suite(void)
{
    Suite *s = suite_create("prng");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_prng_xoshiro_reference_vectors);
    tcase_add_test(tc, test_prng_splitmix_reference_vectors);
    tcase_add_test(tc, test_prng_seed_uses_splitmix);
    tcase_add_test(tc, test_prng_seed_reproducible);
    tcase_add_test(tc, test_prng_derive_streams_differ_and_reproduce);
    tcase_add_test(tc, test_prng_derive_fields_not_symmetric);
    tcase_add_test(tc, test_prng_derive_entity_isolation);
    tcase_add_test(tc, test_prng_double_formula_and_range);
    tcase_add_test(tc, test_prng_below_edges);
    tcase_add_test(tc, test_prng_below_uniform_chi_square);
    tcase_add_test(tc, test_prng_below_rejection_uniform);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(prng_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
