/*
 * test_core_timer.c - the timer heap (unit, through the core's internal
 * header) and the timer behaviour seen through the public API: expiry
 * order, FIFO on equal deadlines, lazy cancellation, exact get_expiry,
 * time going backwards.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/src/timer.h"
#include "ctxready.h"
#include "tests/lib/core_rec.h"

/* ------------------------------------------------------------------------ */
static uint64_t lcg(uint64_t *s)
{
    *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return *s >> 33;
}

typedef struct ref_timer {
    uint64_t deadline, order, target;
} ref_timer;

static int ref_cmp(const void *a, const void *b)
{
    const ref_timer *x = a, *y = b;
    if (x->deadline != y->deadline)
        return x->deadline < y->deadline ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Pops come out in (deadline, push order): checked against a sorted
 * reference, with many equal deadlines. */
START_TEST(test_core_timer_heap_orders_by_deadline_then_push)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        cr_mem mem;
        cr_mem_init(&mem, NULL);
        cr_heap h;
        memset(&h, 0, sizeof h);
        uint64_t s = seed;
        size_t n = 1 + lcg(&s) % 2000;
        ref_timer *ref = calloc(n, sizeof *ref);
        ck_assert_ptr_nonnull(ref);
        for (size_t i = 0; i < n; i++) {
            CHECK(cr_heap_reserve(&h, &mem, 1) == 0);
            uint64_t d = lcg(&s) % 50; /* many ties */
            uint64_t counter = cr_heap_push(&h, d, CR_TIMER_RUN, i);
            CHECK(counter == i + 1);
            ref[i] = (ref_timer){d, i, i};
        }
        qsort(ref, n, sizeof *ref, ref_cmp);
        for (size_t i = 0; i < n; i++) {
            CHECK(cr_heap_top(&h) != NULL);
            cr_timer t;
            cr_heap_pop(&h, &t);
            CHECK(t.deadline == ref[i].deadline);
            CHECK(t.target == ref[i].target);
            CHECK(t.kind == CR_TIMER_RUN);
        }
        ck_assert_ptr_null(cr_heap_top(&h));
        cr_heap_free(&h, &mem);
        ck_assert_uint_eq(mem.in_use, 0);
        free(ref);
    }
}
END_TEST

/* A re-pushed entry keeps its counter, hence its place among equals. */
START_TEST(test_core_timer_heap_repush_keeps_place)
{
    cr_mem mem;
    cr_mem_init(&mem, NULL);
    cr_heap h;
    memset(&h, 0, sizeof h);
    ck_assert_int_eq(cr_heap_reserve(&h, &mem, 3), 0);
    cr_heap_push(&h, 5, CR_TIMER_TTL, 1);
    cr_heap_push(&h, 5, CR_TIMER_TTL, 2);
    cr_heap_push(&h, 5, CR_TIMER_TTL, 3);
    cr_timer first;
    cr_heap_pop(&h, &first);
    ck_assert_uint_eq(first.target, 1);
    cr_heap_repush(&h, &first);
    for (uint64_t want = 1; want <= 3; want++) {
        cr_timer t;
        cr_heap_pop(&h, &t);
        ck_assert_uint_eq(t.target, want);
    }
    cr_heap_free(&h, &mem);
}
END_TEST

static int fail_after;
static void *failing_malloc(size_t n, void *ud)
{
    return fail_after-- > 0 ? malloc(n) : NULL;
}
static void *failing_realloc(void *p, size_t n, void *ud)
{
    return fail_after-- > 0 ? realloc(p, n) : NULL;
}
static void plain_free(void *p, void *ud)
{
    free(p);
}

/* A failed growth leaves the heap as it was. */
START_TEST(test_core_timer_heap_reserve_failure_keeps_heap)
{
    cr_allocator a = {failing_malloc, failing_realloc, plain_free, NULL};
    cr_mem mem;
    cr_mem_init(&mem, &a);
    cr_heap h;
    memset(&h, 0, sizeof h);
    fail_after = 1;
    ck_assert_int_eq(cr_heap_reserve(&h, &mem, 16), 0);
    for (uint64_t i = 0; i < 16; i++)
        cr_heap_push(&h, 100 - i, CR_TIMER_PENDING, i);
    ck_assert_int_eq(cr_heap_reserve(&h, &mem, 1), CR_ENOMEM);
    ck_assert_uint_eq(h.len, 16);
    ck_assert_uint_eq(cr_heap_top(&h)->deadline, 85);
    cr_heap_free(&h, &mem);
    ck_assert_uint_eq(mem.in_use, 0);
}
END_TEST

/* Runs every core deadline up to `to`, each at its own time. */
static void advance(cr_ctx *ctx, uint64_t to)
{
    uint64_t t;
    while ((t = cr_ctx_get_expiry(ctx)) <= to)
        CHECK(cr_ctx_handle_expiry(ctx, t) == 0);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, to), 0);
}

START_TEST(test_core_timer_no_deadline_is_never)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_LEGACY, NULL);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), CR_TIME_NEVER);
    ck_assert_uint_eq(cr_ctx_get_expiry(NULL), CR_TIME_NEVER);
    cr_conn_id c;
    cr_conn_open(ctx, 5, &c); /* legacy: no pending deadline */
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), CR_TIME_NEVER);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 1000), 0);
    ck_assert_str_eq(rec_since(&r), "");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Equal deadlines fire in arming order: here the pending deadlines of
 * connections opened at the same instant, in id order. */
START_TEST(test_core_timer_equal_deadlines_fire_fifo)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "pending_deadline=100", NULL);
    for (int i = 0; i < 3; i++) {
        cr_conn_id c;
        cr_conn_open(ctx, 7, &c);
    }
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 107);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 107), 0);
    ck_assert_str_eq(rec_since(&r),
                     "107 notice c=1 CLOSING thread=- tag=0 err=0\n"
                     "107 close c=1 reason=no context before the pending deadline\n"
                     "107 notice c=2 CLOSING thread=- tag=0 err=0\n"
                     "107 close c=2 reason=no context before the pending deadline\n"
                     "107 notice c=3 CLOSING thread=- tag=0 err=0\n"
                     "107 close c=3 reason=no context before the pending deadline\n");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* FIFO is by arming order, not by id: the retry armed first fires first. */
START_TEST(test_core_timer_fifo_follows_arming_order)
{
    rec r;
    cr_ctx *ctx =
        rec_new_ctx(&r, CR_PROFILE_FIXED, "update_backoff=10", "pending_deadline=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c1 = rec_open_auth(ctx, 0, "alice"), c2 = rec_open_auth(ctx, 0, "alice");
    cr_conn_switch(ctx, 0, c1, "t1", 0); /* req 1 */
    cr_conn_switch(ctx, 0, c2, "t1", 0); /* req 2 */
    cr_assoc_complete(ctx, 5, 2, 0);     /* c2's retry armed first */
    cr_assoc_complete(ctx, 5, 1, 0);
    rec_since(&r);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 15), 0);
    ck_assert_str_eq(rec_since(&r), "15 associate req=3 c=2 alice/t1\n"
                                    "15 associate req=4 c=1 alice/t1\n");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Timers fire in deadline order within one call, each handler seeing the
 * call's `now`; a cancelled timer neither fires nor shows in get_expiry. */
START_TEST(test_core_timer_order_and_lazy_cancellation)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "pending_deadline=100", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id a = 0, b = 0, c = 0;
    cr_conn_open(ctx, 30, &a); /* deadline 130 */
    cr_conn_open(ctx, 10, &b); /* ETIME: time went backwards */
    ck_assert_uint_eq(b, 0);
    cr_conn_open(ctx, 30, &b); /* 130, after a */
    cr_conn_open(ctx, 40, &c); /* 140 */
    cr_conn_authenticate(ctx, 50, a, "alice");
    cr_conn_switch(ctx, 50, a, "t1", 0);
    cr_assoc_complete(ctx, 60, rec_last_req(&r), 1); /* a is ready: its deadline is cancelled */
    rec_since(&r);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 130);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 200), 0);
    ck_assert_str_eq(rec_since(&r),
                     "200 notice c=2 CLOSING thread=- tag=0 err=0\n"
                     "200 close c=2 reason=no context before the pending deadline\n"
                     "200 notice c=3 CLOSING thread=- tag=0 err=0\n"
                     "200 close c=3 reason=no context before the pending deadline\n");
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), CR_TIME_NEVER);

    /* a connection bound before its deadline leaves no visible timer */
    cr_conn_id d = rec_open_auth(ctx, 300, "alice");
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 400);
    cr_conn_switch(ctx, 310, d, "t1", 0);
    cr_assoc_complete(ctx, 320, rec_last_req(&r), 1);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), CR_TIME_NEVER);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Time going backwards is refused and changes nothing, for expiry too. */
START_TEST(test_core_timer_time_backwards_refused)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "pending_deadline=100", NULL);
    cr_conn_id c;
    cr_conn_open(ctx, 50, &c);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 49), CR_ETIME);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 150);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 149), 0);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 148), CR_ETIME);
    ck_assert_int_eq(cr_conn_close(ctx, 148, c, CR_CLOSE_CLIENT), CR_ETIME);
    ck_assert_int_eq(rec_state_of(ctx, c), CR_CONN_OPEN);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 149), 0); /* the same instant is fine */
    ck_assert_str_eq(rec_since(&r), "");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Timers armed by a handler and due by `now` run in the same call: one
 * late call runs a whole grace period of polls. */
START_TEST(test_core_timer_rearmed_timers_run_in_same_call)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "exec_grace=100", "exec_retry_interval=7",
                              "pending_deadline=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_run_id run;
    cr_run_start_for(ctx, 0, "alice", "t1", &run);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 7);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 500), 0);
    ck_assert_str_eq(rec_since(&r), "500 run_go run=1\n");
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), CR_TIME_NEVER);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Backoff doubles per attempt: retries at +b, +2b, +4b after each failure. */
START_TEST(test_core_timer_backoff_doubles)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "update_retries=3", "update_backoff=100",
                              "pending_deadline=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    cr_conn_switch(ctx, 0, c, "t1", 0);
    uint64_t now = 0, expected_delay = 100;
    for (int attempt = 1; attempt <= 3; attempt++) {
        now += 1;
        ck_assert_int_eq(cr_assoc_complete(ctx, now, rec_last_req(&r), 0), 0);
        ck_assert_uint_eq(cr_ctx_get_expiry(ctx), now + expected_delay);
        now += expected_delay;
        advance(ctx, now);
        ck_assert_uint_eq(r.nreq, (size_t)attempt + 1);
        expected_delay *= 2;
    }
    ck_assert_int_eq(cr_assoc_complete(ctx, now + 1, rec_last_req(&r), 0), 0);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), CR_TIME_NEVER);
    ck_assert_uint_eq(rec_stats(ctx).assoc_retried, 3);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Many connections with scattered deadlines close in deadline order, ties
 * in opening order, one wake-up per distinct deadline.  O(n) checks: the
 * closed ones are always a prefix of the ids (deadlines grow with ids). */
START_TEST(test_core_timer_many_deadlines_in_order)
{
    enum { N = 1000 };
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    p.pending_deadline = 1000;
    cr_ctx *ctx = NULL;
    cr_callbacks cb = {0};
    ck_assert_int_eq(cr_ctx_new(&ctx, &p, &cb, NULL, NULL), 0);
    uint64_t s = 42, now = 0;
    static uint64_t deadline[N + 1];
    size_t distinct = 0;
    for (cr_conn_id i = 1; i <= N; i++) {
        uint64_t step = lcg(&s) % 3; /* many equal opening times */
        distinct += i == 1 || step != 0;
        now += step;
        cr_conn_id c;
        CHECK(cr_conn_open(ctx, now, &c) == 0);
        CHECK(c == i);
        deadline[i] = now + 1000;
    }
    uint64_t last_t = 0;
    size_t calls = 0;
    cr_conn_id closed = 0; /* ids 1..closed are closed */
    while (cr_ctx_get_expiry(ctx) != CR_TIME_NEVER) {
        uint64_t t = cr_ctx_get_expiry(ctx);
        CHECK(t > last_t);
        CHECK(cr_ctx_handle_expiry(ctx, t) == 0);
        while (closed < N && deadline[closed + 1] <= t)
            closed++;
        cr_stats st;
        cr_ctx_get_stats(ctx, &st);
        CHECK(st.conns_closed_pending_timeout == closed);
        cr_conn_info info;
        CHECK(cr_conn_get_info(ctx, closed, &info) == 0 && info.state == CR_CONN_CLOSED);
        if (closed < N)
            CHECK(cr_conn_get_info(ctx, closed + 1, &info) == 0 && info.state == CR_CONN_OPEN);
        last_t = t;
        calls++;
    }
    ck_assert_uint_eq(closed, N);
    ck_assert_uint_eq(calls, distinct);
    cr_ctx_del(ctx);
}
END_TEST

static Suite *timer_suite(void)
{
    Suite *s = suite_create("core_timer");
    TCase *tc = tcase_create("timer");
    tcase_add_test(tc, test_core_timer_heap_orders_by_deadline_then_push);
    tcase_add_test(tc, test_core_timer_heap_repush_keeps_place);
    tcase_add_test(tc, test_core_timer_heap_reserve_failure_keeps_heap);
    tcase_add_test(tc, test_core_timer_no_deadline_is_never);
    tcase_add_test(tc, test_core_timer_equal_deadlines_fire_fifo);
    tcase_add_test(tc, test_core_timer_fifo_follows_arming_order);
    tcase_add_test(tc, test_core_timer_order_and_lazy_cancellation);
    tcase_add_test(tc, test_core_timer_time_backwards_refused);
    tcase_add_test(tc, test_core_timer_rearmed_timers_run_in_same_call);
    tcase_add_test(tc, test_core_timer_backoff_doubles);
    tcase_add_test(tc, test_core_timer_many_deadlines_in_order);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(timer_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
