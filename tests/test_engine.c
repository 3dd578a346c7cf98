/*
 * test_engine.c - the event heap: ordering by time, FIFO ties, seeded
 * reordering of ties in exploration mode, refusal of the past, growth.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/engine.h"

START_TEST(test_engine_empty)
{
    sim_engine e;
    sim_event ev;
    sim_engine_init(&e, 0, 0);
    ck_assert_uint_eq(sim_engine_peek_time(&e), UINT64_MAX);
    ck_assert_int_eq(sim_engine_pop(&e, &ev), 0);
    ck_assert_uint_eq(e.now, 0);
    ck_assert_uint_eq(e.steps, 0);
    sim_engine_free(&e);
    sim_engine_free(&e); /* twice is harmless */
}
END_TEST

/* Random times pop in nondecreasing order, carrying their payload, and
 * `now` follows the popped time. */
START_TEST(test_engine_orders_by_time)
{
    enum { M = 5000 };
    sim_engine e;
    sim_prng r;
    sim_engine_init(&e, 0, 0);
    sim_prng_seed(&r, 3);
    for (uint64_t i = 0; i < M; i++) {
        uint64_t t = sim_prng_below(&r, 1000);
        ck_assert_int_eq(sim_engine_schedule(&e, t, (uint32_t)(i % 7), (uint32_t)i, t, i), 0);
    }
    ck_assert_uint_eq(e.len, M);
    uint64_t last = 0, last_seq = 0;
    int n = 0;
    sim_event ev;
    while (sim_engine_pop(&e, &ev)) {
        ck_assert_uint_ge(ev.time, last);
        if (n > 0 && ev.time == last)
            ck_assert_uint_gt(ev.seq, last_seq); /* FIFO among equal times */
        ck_assert_uint_eq(ev.a, ev.time);        /* payload travels with it */
        ck_assert_uint_eq(ev.kind, ev.b % 7);
        ck_assert_uint_eq(ev.aux, (uint32_t)ev.b);
        ck_assert_uint_eq(ev.prio, 0);
        ck_assert_uint_eq(e.now, ev.time);
        last = ev.time;
        last_seq = ev.seq;
        n++;
    }
    ck_assert_int_eq(n, M);
    ck_assert_uint_eq(e.steps, M);
    sim_engine_free(&e);
}
END_TEST

START_TEST(test_engine_fifo_ties)
{
    sim_engine e;
    sim_event ev;
    sim_engine_init(&e, 0, 0);
    /* Interleave two times so ties are not simply inserted in heap order. */
    for (uint64_t i = 0; i < 200; i++)
        ck_assert_int_eq(sim_engine_schedule(&e, i % 2 ? 50 : 10, 0, 0, i, 0), 0);
    for (uint64_t want = 0; want < 200; want += 2) {
        ck_assert_int_eq(sim_engine_pop(&e, &ev), 1);
        ck_assert_uint_eq(ev.time, 10);
        ck_assert_uint_eq(ev.a, want);
    }
    for (uint64_t want = 1; want < 200; want += 2) {
        ck_assert_int_eq(sim_engine_pop(&e, &ev), 1);
        ck_assert_uint_eq(ev.time, 50);
        ck_assert_uint_eq(ev.a, want);
    }
    sim_engine_free(&e);
}
END_TEST

/* Events scheduled while running at `now` (e.g. at now + 0) go after the
 * ones already queued for that time. */
START_TEST(test_engine_schedule_at_now_is_fifo)
{
    sim_engine e;
    sim_event ev;
    sim_engine_init(&e, 0, 0);
    ck_assert_int_eq(sim_engine_schedule(&e, 5, 1, 0, 0, 0), 0);
    ck_assert_int_eq(sim_engine_schedule(&e, 5, 2, 0, 0, 0), 0);
    ck_assert_int_eq(sim_engine_pop(&e, &ev), 1);
    ck_assert_uint_eq(ev.kind, 1);
    ck_assert_int_eq(sim_engine_schedule(&e, e.now, 3, 0, 0, 0), 0);
    ck_assert_int_eq(sim_engine_pop(&e, &ev), 1);
    ck_assert_uint_eq(ev.kind, 2);
    ck_assert_int_eq(sim_engine_pop(&e, &ev), 1);
    ck_assert_uint_eq(ev.kind, 3);
    sim_engine_free(&e);
}
END_TEST

START_TEST(test_engine_schedule_in_past_fails)
{
    sim_engine e;
    sim_event ev;
    sim_engine_init(&e, 0, 0);
    ck_assert_int_eq(sim_engine_schedule(&e, 100, 0, 0, 0, 0), 0);
    ck_assert_int_eq(sim_engine_schedule(&e, 200, 0, 0, 0, 0), 0);
    ck_assert_int_eq(sim_engine_pop(&e, &ev), 1);
    ck_assert_uint_eq(e.now, 100);
    uint64_t counter = e.counter;
    ck_assert_int_eq(sim_engine_schedule(&e, 99, 0, 0, 0, 0), -1);
    ck_assert_int_eq(sim_engine_schedule(&e, 0, 0, 0, 0, 0), -1);
    ck_assert_uint_eq(e.len, 1); /* nothing queued */
    ck_assert_uint_eq(e.counter, counter);
    ck_assert_uint_eq(sim_engine_peek_time(&e), 200);
    ck_assert_int_eq(sim_engine_schedule(&e, 100, 0, 0, 0, 0), 0); /* == now is fine */
    ck_assert_int_eq(sim_engine_schedule(&e, UINT64_MAX, 0, 0, 0, 0), 0);
    ck_assert_uint_eq(sim_engine_peek_time(&e), 100);
    sim_engine_free(&e);
}
END_TEST

/* Pops all events; stores the `a` payloads in pop order. */
static void drain(sim_engine *e, uint64_t *order, size_t n)
{
    sim_event ev;
    uint64_t last = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(sim_engine_pop(e, &ev), 1);
        ck_assert_uint_ge(ev.time, last);
        last = ev.time;
        order[i] = ev.a;
    }
    ck_assert_int_eq(sim_engine_pop(e, &ev), 0);
}

/* 64 events at time 10 and 64 at time 20, scheduled alternately. */
static void explore_run(uint64_t seed, int explore, uint64_t *order)
{
    sim_engine e;
    sim_engine_init(&e, explore, seed);
    for (uint64_t i = 0; i < 128; i++)
        ck_assert_int_eq(sim_engine_schedule(&e, i % 2 ? 20 : 10, 0, 0, i, 0), 0);
    drain(&e, order, 128);
    sim_engine_free(&e);
}

START_TEST(test_engine_explore_reorders_ties_per_seed)
{
    uint64_t fifo[128], a1[128], a2[128], b[128];
    explore_run(0, 0, fifo);
    explore_run(7, 1, a1);
    explore_run(7, 1, a2);
    explore_run(8, 1, b);
    /* Same seed, same order. */
    ck_assert_int_eq(memcmp(a1, a2, sizeof a1), 0);
    /* Another seed, another order; and not FIFO. */
    ck_assert_int_ne(memcmp(a1, b, sizeof a1), 0);
    ck_assert_int_ne(memcmp(a1, fifo, sizeof a1), 0);
    /* Only ties move: the first 64 are the time-10 events (even ids), each
     * exactly once. */
    int seen[128] = {0};
    for (int i = 0; i < 128; i++) {
        ck_assert_uint_eq(a1[i] % 2, i < 64 ? 0 : 1);
        ck_assert_int_eq(seen[a1[i]]++, 0);
    }
    /* A tie order is far from FIFO: count positions that kept their FIFO
     * rank among the 64 even events (a random permutation keeps 1 on
     * average; FIFO would keep 64). */
    int fixed = 0;
    for (int i = 0; i < 64; i++)
        fixed += a1[i] == (uint64_t)(2 * i);
    ck_assert_int_lt(fixed, 8);
}
END_TEST

START_TEST(test_engine_explore_sets_prio)
{
    sim_engine e;
    sim_event ev;
    sim_engine_init(&e, 1, 42);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(sim_engine_schedule(&e, 1, 0, 0, 0, 0), 0);
    int nonzero = 0;
    uint64_t last_prio = 0;
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(sim_engine_pop(&e, &ev), 1);
        ck_assert_uint_ge(ev.prio, last_prio); /* ties pop by prio */
        last_prio = ev.prio;
        nonzero += ev.prio != 0;
    }
    ck_assert_int_eq(nonzero, 10);
    sim_engine_free(&e);
}
END_TEST

/* Well past the initial capacity, with pops interleaved. */
START_TEST(test_engine_growth)
{
    enum { M = 200000 };
    sim_engine e;
    sim_prng r;
    sim_event ev;
    sim_engine_init(&e, 0, 0);
    sim_prng_seed(&r, 99);
    for (uint64_t i = 0; i < M; i++)
        ck_assert_int_eq(sim_engine_schedule(&e, 1000 + sim_prng_below(&r, 1000000), 0, 0, i, 0),
                         0);
    ck_assert_uint_eq(e.len, M);
    ck_assert_uint_ge(e.cap, M);
    /* Pop half, schedule a quarter more in the future of now. */
    uint64_t last = 0;
    for (int i = 0; i < M / 2; i++) {
        ck_assert_int_eq(sim_engine_pop(&e, &ev), 1);
        ck_assert_uint_ge(ev.time, last);
        last = ev.time;
    }
    for (int i = 0; i < M / 4; i++)
        ck_assert_int_eq(sim_engine_schedule(&e, e.now + sim_prng_below(&r, 1000), 0, 0, 0, 0), 0);
    size_t left = 0;
    while (sim_engine_pop(&e, &ev)) {
        ck_assert_uint_ge(ev.time, last);
        last = ev.time;
        left++;
    }
    ck_assert_uint_eq(left, M / 2 + M / 4);
    ck_assert_uint_eq(e.steps, M + M / 4);
    sim_engine_free(&e);
    ck_assert_ptr_null(e.heap);
}
END_TEST

static Suite *engine_suite(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_engine_empty);
    tcase_add_test(tc, test_engine_orders_by_time);
    tcase_add_test(tc, test_engine_fifo_ties);
    tcase_add_test(tc, test_engine_schedule_at_now_is_fifo);
    tcase_add_test(tc, test_engine_schedule_in_past_fails);
    tcase_add_test(tc, test_engine_explore_reorders_ties_per_seed);
    tcase_add_test(tc, test_engine_explore_sets_prio);
    tcase_add_test(tc, test_engine_growth);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(engine_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
