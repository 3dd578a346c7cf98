/* test_streams.c - a tab's random streams (sim/streams.h): each concern is
 * the stream sim_prng_derive gives for (seed, concern, tab), independent of
 * the other concerns and tabs. */
#include <check.h>
#include <stdlib.h>

#include "sim/streams.h"

START_TEST(test_streams_derive_per_concern_and_tab)
{
    static const sim_stream concerns[] = {SIM_STREAM_NETWORK, SIM_STREAM_SERVER, SIM_STREAM_FAULTS,
                                          SIM_STREAM_CLIENTS};
    sim_streams a, b;
    sim_streams_derive(&a, 42, 3);
    sim_streams_derive(&b, 42, 4);
    uint64_t first[4];
    for (int i = 0; i < 4; i++) {
        sim_prng ref;
        sim_prng_derive(&ref, 42, concerns[i], 3);
        sim_prng *s = sim_streams_get(&a, concerns[i]);
        ck_assert_ptr_nonnull(s);
        first[i] = sim_prng_next(s);
        ck_assert_uint_eq(first[i], sim_prng_next(&ref));
        ck_assert_uint_ne(first[i], sim_prng_next(sim_streams_get(&b, concerns[i])));
    }
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            ck_assert_uint_ne(first[i], first[j]);
    /* Drawing from one concern leaves the others where they were. */
    sim_streams c;
    sim_streams_derive(&c, 42, 3);
    for (int k = 0; k < 100; k++)
        sim_prng_next(&c.flt);
    ck_assert_uint_eq(sim_prng_next(&c.srv), first[1]);
    ck_assert_ptr_null(sim_streams_get(&a, SIM_STREAM_SCHEDULE));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("streams");
    TCase *tc = tcase_create("derive");
    tcase_add_test(tc, test_streams_derive_per_concern_and_tab);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
