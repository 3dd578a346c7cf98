/*
 * test_engine.c - the event heap: ordering by time, FIFO ties, seeded
 * reordering of ties in exploration mode, refusal of the past, growth; PCT
 * (per-actor FIFO, the race window, monotonic time, change points,
 * determinism per seed) and the reorder counts.
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
    ck_assert_ptr_null(e.keys);
}
END_TEST

/* The arity never changes the pop order (keys are distinct): binary,
 * 4-ary and automatic (rebuilt 4-ary past 65536 keys) pop the same
 * sequence, ties FIFO, in the default and the explore mode. */
START_TEST(test_engine_arity_keeps_the_order)
{
    enum { M = 100000 };
    for (int explore = 0; explore <= 1; explore++) {
        uint64_t h[3] = {0, 0, 0};
        static const unsigned ar[3] = {2, 4, 0};
        for (int v = 0; v < 3; v++) {
            sim_engine e;
            sim_prng r;
            sim_event ev;
            sim_engine_init(&e, explore, 5);
            ck_assert_int_eq(sim_engine_set_arity(&e, ar[v]), 0);
            sim_prng_seed(&r, 3);
            int bad = 0; /* counted, asserted once: a check assertion per event is slow */
            for (uint64_t i = 0; i < M; i++) /* few distinct times: many ties */
                bad |= sim_engine_schedule(&e, sim_prng_below(&r, 500), 0, 0, i, 0);
            uint64_t last = 0, n = 0;
            while (sim_engine_pop(&e, &ev)) {
                bad |= ev.time < last;
                last = ev.time;
                h[v] = (h[v] ^ ev.a) * 0x100000001b3ull;
                if (n++ % 3 == 0 && n < M)
                    bad |= sim_engine_schedule(&e, e.now + sim_prng_below(&r, 50), 0, 0, M + n, 0);
            }
            ck_assert_int_eq(bad, 0);
            ck_assert_int_eq(e.arity, ar[v] ? ar[v] : 4);
            sim_engine_free(&e);
        }
        ck_assert_uint_eq(h[0], h[1]);
        ck_assert_uint_eq(h[0], h[2]);
    }
    sim_engine e;
    sim_engine_init(&e, 0, 0);
    ck_assert_int_eq(sim_engine_set_arity(&e, 3), -1);
    ck_assert_int_eq(sim_engine_schedule(&e, 1, 0, 0, 0, 0), 0);
    ck_assert_int_eq(sim_engine_set_arity(&e, 4), -1); /* not once scheduled */
    sim_engine_free(&e);
}
END_TEST

/* ---- PCT ------------------------------------------------------------------------ */

enum { PA = 6, PM = 6000, PW = 50 };

/* One pop of a PCT simulation, as the world sees it. */
typedef struct pct_pop_rec {
    uint64_t due, ran, actor, id;
} pct_pop_rec;

/* pct_sim drives a PCT engine like a simulation: PA actors, events popped
 * and new ones scheduled at now + [0, 100) for a random actor, PM pops in
 * all; ids in `a` are per-actor counters (scheduling order).  Fills rec (PM entries) and the stats;
 * checks the per-pop rules (window, monotonic time, the due time within W of the earliest pending).
 */
static void pct_sim(uint64_t seed, uint32_t depth, uint64_t window, pct_pop_rec *rec,
                    sim_engine_stats *st)
{
    sim_engine e;
    sim_prng r;
    sim_event ev;
    uint64_t next_id[PA] = {0};
    sim_engine_init(&e, 0, 0);
    sim_pct_opts o = {depth, window, PM};
    ck_assert_int_eq(sim_engine_set_pct(&e, &o, seed), 0);
    sim_prng_seed(&r, 5); /* the workload is the same for every seed */
    for (int i = 0; i < 40; i++) {
        uint64_t act = sim_prng_below(&r, PA);
        ck_assert_int_eq(
            sim_engine_schedule_as(&e, act, sim_prng_below(&r, 100), 0, 0, next_id[act]++, 0), 0);
    }
    uint64_t last_now = 0;
    for (int k = 0; k < PM; k++) {
        uint64_t tmin = sim_engine_peek_time(&e);
        ck_assert_int_eq(sim_engine_pop(&e, &ev), 1);
        ck_assert_uint_le(ev.time, tmin + window); /* picked within the window */
        ck_assert_uint_ge(e.now, last_now);        /* time never goes back */
        ck_assert_uint_ge(e.now, ev.time);
        ck_assert_uint_le(e.now - ev.time, window); /* delayed within the race window */
        last_now = e.now;
        rec[k] = (pct_pop_rec){ev.time, e.now, ev.prio, ev.a};
        uint64_t act = sim_prng_below(&r, PA);
        ck_assert_int_eq(sim_engine_schedule_as(&e, act, e.now + sim_prng_below(&r, 100), 0, 0,
                                                next_id[act]++, 0),
                         0);
    }
    sim_engine_get_stats(&e, st);
    ck_assert_uint_eq(e.len, 40);
    ck_assert_uint_eq(e.steps, PM);
    sim_engine_free(&e);
    ck_assert_ptr_null(e.pct);
}

START_TEST(test_engine_pct_never_reorders_one_actor)
{
    static pct_pop_rec rec[PM];
    sim_engine_stats st;
    pct_sim(11, 3, PW, rec, &st);
    /* Per actor, events run in (due time, scheduling order): never one
     * before an earlier-due or an equally due, earlier scheduled one. */
    uint64_t last_due[PA] = {0}, last_id[PA], seen[PA] = {0};
    for (int k = 0; k < PM; k++) {
        uint64_t a = rec[k].actor; /* the actor key travels in prio */
        ck_assert_uint_lt(a, PA);
        if (seen[a]++) {
            ck_assert_uint_ge(rec[k].due, last_due[a]);
            if (rec[k].due == last_due[a])
                ck_assert_uint_gt(rec[k].id, last_id[a]);
        }
        last_due[a] = rec[k].due;
        last_id[a] = rec[k].id;
    }
    ck_assert_uint_gt(st.window_reorders, 0); /* ... while other actors' events did move */
    ck_assert_uint_eq(st.actors, PA);
}
END_TEST

START_TEST(test_engine_pct_window_and_monotonic_time)
{
    static pct_pop_rec rec[PM];
    sim_engine_stats st;
    pct_sim(12, 2, PW, rec, &st); /* the per-pop rules are checked in pct_sim */
    uint64_t delayed = 0, worst = 0;
    for (int k = 0; k < PM; k++) {
        delayed += rec[k].ran > rec[k].due;
        if (rec[k].ran - rec[k].due > worst)
            worst = rec[k].ran - rec[k].due;
    }
    ck_assert_uint_gt(delayed, 0);
    ck_assert_uint_eq(worst, st.max_delay);
    ck_assert_uint_le(st.max_delay, PW);
    /* Window 0: only exact ties may move, nothing is delayed. */
    pct_sim(12, 2, 0, rec, &st);
    ck_assert_uint_eq(st.window_reorders, 0);
    ck_assert_uint_eq(st.max_delay, 0);
    for (int k = 0; k < PM; k++)
        ck_assert_uint_eq(rec[k].ran, rec[k].due);
}
END_TEST

START_TEST(test_engine_pct_deterministic_per_seed)
{
    static pct_pop_rec a[PM], b[PM], c[PM];
    sim_engine_stats sa, sb, sc;
    pct_sim(21, 3, PW, a, &sa);
    pct_sim(21, 3, PW, b, &sb);
    pct_sim(22, 3, PW, c, &sc);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    ck_assert_int_eq(memcmp(&sa, &sb, sizeof sa), 0);
    ck_assert_int_ne(memcmp(a, c, sizeof a), 0);
}
END_TEST

/* Depth D: D - 1 change points within k steps; after one, the actor that
 * just ran yields to every other actor due within the window. */
START_TEST(test_engine_pct_change_points)
{
    static pct_pop_rec rec[PM];
    sim_engine_stats st;
    pct_sim(31, 4, PW, rec, &st);
    ck_assert_uint_eq(st.change_points, 3);
    pct_sim(31, 1, PW, rec, &st);
    ck_assert_uint_eq(st.change_points, 0);

    /* Two actors, each always due: without a change point the higher one
     * runs all its events first; depth 2 with k = 1 demotes whoever ran
     * step 1, so the other runs step 2. */
    for (uint64_t seed = 1; seed <= 8; seed++) {
        uint64_t first[2];
        for (uint32_t d = 1; d <= 2; d++) {
            sim_engine e;
            sim_event ev;
            sim_engine_init(&e, 0, 0);
            sim_pct_opts o = {d, 10, 1};
            ck_assert_int_eq(sim_engine_set_pct(&e, &o, seed), 0);
            for (uint64_t i = 0; i < 4; i++)
                ck_assert_int_eq(sim_engine_schedule_as(&e, i % 2, 5, 0, 0, i, 0), 0);
            ck_assert_int_eq(sim_engine_pop(&e, &ev), 1);
            first[0] = ev.prio;
            ck_assert_int_eq(sim_engine_pop(&e, &ev), 1);
            first[1] = ev.prio;
            if (d == 1)
                ck_assert_uint_eq(first[0], first[1]); /* the same actor, twice */
            else
                ck_assert_uint_ne(first[0], first[1]); /* demoted after step 1 */
            sim_engine_free(&e);
        }
    }
}
END_TEST

START_TEST(test_engine_pct_rejects_bad_options)
{
    sim_engine e;
    sim_engine_init(&e, 0, 0);
    sim_pct_opts bad_depth = {0, 10, 10}, deep = {SIM_PCT_MAX_DEPTH + 1, 10, 10},
                 no_steps = {3, 10, 0}, ok = {3, 10, 10};
    ck_assert_int_eq(sim_engine_set_pct(&e, &bad_depth, 1), -1);
    ck_assert_int_eq(sim_engine_set_pct(&e, &deep, 1), -1);
    ck_assert_int_eq(sim_engine_set_pct(&e, &no_steps, 1), -1);
    ck_assert_int_eq(sim_engine_schedule(&e, 1, 0, 0, 0, 0), 0);
    ck_assert_int_eq(sim_engine_set_pct(&e, &ok, 1), -1); /* not empty */
    sim_engine_free(&e);
    sim_engine_init(&e, 0, 0);
    ck_assert_int_eq(sim_engine_set_pct(&e, &ok, 1), 0);
    ck_assert_int_eq(sim_engine_schedule_as(&e, 9, 5, 0, 0, 0, 0), 0);
    sim_event ev;
    ck_assert_int_eq(sim_engine_pop(&e, &ev), 1);
    ck_assert_int_eq(sim_engine_schedule_as(&e, 9, 4, 0, 0, 0, 0), -1); /* the past */
    ck_assert_uint_eq(sim_engine_peek_time(&e), UINT64_MAX);
    ck_assert_int_eq(sim_engine_pop(&e, &ev), 0);
    sim_engine_free(&e);
}
END_TEST

/* With PCT off, actor keys change nothing: the same order as
 * sim_engine_schedule, FIFO ties, no statistics. */
START_TEST(test_engine_pct_off_changes_nothing)
{
    sim_engine x, y;
    sim_prng r;
    sim_event ex, ey;
    sim_engine_init(&x, 0, 0);
    sim_engine_init(&y, 0, 0);
    sim_prng_seed(&r, 4);
    for (uint64_t i = 0; i < 3000; i++) {
        uint64_t t = sim_prng_below(&r, 50);
        ck_assert_int_eq(sim_engine_schedule(&x, t, 1, 2, i, 0), 0);
        ck_assert_int_eq(sim_engine_schedule_as(&y, i % 7, t, 1, 2, i, 0), 0);
    }
    while (sim_engine_pop(&x, &ex)) {
        ck_assert_int_eq(sim_engine_pop(&y, &ey), 1);
        ck_assert_int_eq(memcmp(&ex, &ey, sizeof ex), 0);
        ck_assert_uint_eq(x.now, y.now);
    }
    ck_assert_int_eq(sim_engine_pop(&y, &ey), 0);
    sim_engine_stats st;
    sim_engine_get_stats(&y, &st);
    ck_assert_uint_eq(st.tie_reorders + st.window_reorders + st.max_delay + st.actors, 0);
    sim_engine_free(&x);
    sim_engine_free(&y);
}
END_TEST

/* Random ties: the count is the events popped after a simultaneous one
 * that was scheduled later. */
START_TEST(test_engine_explore_counts_tie_reorders)
{
    sim_engine e;
    sim_event ev;
    sim_engine_init(&e, 1, 77);
    for (uint64_t i = 0; i < 200; i++)
        ck_assert_int_eq(sim_engine_schedule(&e, 10 + i / 50, 0, 0, i, 0), 0);
    uint64_t expect = 0, maxseq = 0, t = UINT64_MAX;
    while (sim_engine_pop(&e, &ev)) {
        if (ev.time != t) {
            t = ev.time;
            maxseq = ev.seq;
        } else if (ev.seq < maxseq) {
            expect++;
        } else {
            maxseq = ev.seq;
        }
    }
    sim_engine_stats st;
    sim_engine_get_stats(&e, &st);
    ck_assert_uint_gt(expect, 100); /* 4 random permutations of 50 */
    ck_assert_uint_eq(st.tie_reorders, expect);
    ck_assert_uint_eq(st.window_reorders, 0);
    sim_engine_free(&e);
}
END_TEST

START_TEST(test_engine_pct_bound)
{
    ck_assert_double_eq_tol(sim_pct_bound(10, 100, 1), 0.1, 1e-12);
    ck_assert_double_eq_tol(sim_pct_bound(10, 100, 3), 1e-5, 1e-15);
    ck_assert_double_eq(sim_pct_bound(0, 100, 3), 0.0);
    ck_assert_double_eq(sim_pct_bound(5, 0, 2), 0.0);
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
    tcase_add_test(tc, test_engine_arity_keeps_the_order);
    tcase_add_test(tc, test_engine_pct_never_reorders_one_actor);
    tcase_add_test(tc, test_engine_pct_window_and_monotonic_time);
    tcase_add_test(tc, test_engine_pct_deterministic_per_seed);
    tcase_add_test(tc, test_engine_pct_change_points);
    tcase_add_test(tc, test_engine_pct_rejects_bad_options);
    tcase_add_test(tc, test_engine_pct_off_changes_nothing);
    tcase_add_test(tc, test_engine_explore_counts_tie_reorders);
    tcase_add_test(tc, test_engine_pct_bound);
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
