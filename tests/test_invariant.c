/*
 * test_invariant.c - the core's invariants (sim/invariant.h): real
 * contexts in many states pass, and each rule catches a broken counter set
 * or connection (hand-made from a real context's stats, one field off).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "sim/invariant.h"

/* A small host that answers nothing: the invariants only read the core. */
static uint64_t last_req;

static void on_assoc(void *ud, uint64_t now, uint64_t req, cr_conn_id c, const char *u,
                     const char *t)
{
    (void)ud;
    (void)now;
    (void)c;
    (void)u;
    (void)t;
    last_req = req;
}

static cr_ctx *new_ctx(cr_profile p)
{
    cr_policy pol;
    cr_policy_init(&pol, p);
    cr_callbacks cb = {0};
    cb.associate = on_assoc;
    cr_ctx *ctx = NULL;
    ck_assert_int_eq(cr_ctx_new(&ctx, &pol, &cb, NULL, NULL), 0);
    ck_assert_int_eq(cr_thread_add(ctx, 0, "u1", "t1"), 0);
    ck_assert_int_eq(cr_thread_add(ctx, 0, "u1", "t2"), 0);
    return ctx;
}

static void assert_clean(const cr_ctx *ctx, uint64_t conns)
{
    char why[400] = "";
    sim_invariant_scope sc = {.streams = 2, .conns = conns};
    ck_assert_msg(sim_invariant_check_stats(ctx, why, sizeof why) == 0, "%s", why);
    ck_assert_msg(sim_invariant_check_all(ctx, &sc, why, sizeof why) == 0, "%s", why);
    for (cr_conn_id c = 1; c <= conns; c++)
        ck_assert_msg(sim_invariant_check_conn(ctx, c, why, sizeof why) == 0, "%s", why);
}

/* A scripted life of a few connections under both profiles: the
 * invariants hold after every call. */
START_TEST(test_invariant_real_contexts_pass)
{
    cr_ctx *ctx = new_ctx(_i ? CR_PROFILE_LEGACY : CR_PROFILE_FIXED);
    cr_message m = {"t1", 0, 1, "p", 1}, none = {NULL, 0, 2, "p", 1};
    cr_event_in ev = {0, 1, "e", 1};
    cr_conn_id a, b;
    uint64_t now = 0;
    ck_assert_int_eq(cr_conn_open(ctx, now, &a), 0);
    assert_clean(ctx, 1);
    cr_conn_message(ctx, now, a, &none, NULL); /* pre-auth */
    assert_clean(ctx, 1);
    ck_assert_int_eq(cr_conn_authenticate(ctx, now, a, "u1"), 0);
    assert_clean(ctx, 1);
    cr_conn_message(ctx, now, a, &m, NULL);
    assert_clean(ctx, 1);
    cr_assoc_complete(ctx, now, last_req, 1);
    assert_clean(ctx, 1);
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, now, "u1", "t1", &run), 0);
    assert_clean(ctx, 1);
    cr_run_emit(ctx, now, run, &ev, NULL, NULL);
    assert_clean(ctx, 1);
    ck_assert_int_eq(cr_conn_open(ctx, now, &b), 0);
    ck_assert_int_eq(cr_conn_authenticate(ctx, now, b, "u1"), 0);
    cr_conn_switch(ctx, now, a, "t2", 1);
    cr_assoc_complete(ctx, now, last_req, 0);
    assert_clean(ctx, 2);
    cr_run_emit(ctx, now, run, &ev, NULL, NULL); /* nobody on t1 now: buffered (fixed) */
    assert_clean(ctx, 2);
    for (int i = 0; i < 200 && cr_ctx_get_expiry(ctx) != CR_TIME_NEVER; i++) {
        now = cr_ctx_get_expiry(ctx);
        ck_assert_int_eq(cr_ctx_handle_expiry(ctx, now), 0);
        assert_clean(ctx, 2);
    }
    ck_assert_int_eq(cr_conn_close(ctx, now, a, CR_CLOSE_CLIENT), 0);
    assert_clean(ctx, 2);
    cr_ctx_del(ctx);
}
END_TEST

/* A valid counter set taken from a real context, then one field broken at
 * a time: each is caught, with a reason naming what broke. */
START_TEST(test_invariant_values_detect_broken_counters)
{
    cr_ctx *ctx = new_ctx(CR_PROFILE_FIXED);
    cr_conn_id a;
    cr_conn_open(ctx, 0, &a);
    cr_conn_authenticate(ctx, 0, a, "u1");
    cr_message m = {"t1", 0, 1, "p", 1};
    cr_conn_message(ctx, 0, a, &m, NULL); /* queued: 1 */
    cr_stats good;
    cr_ctx_get_stats(ctx, &good);
    const cr_policy *p = cr_ctx_policy(ctx);
    sim_invariant_scope sc = {.streams = 2, .conns = 1};
    char why[400];
    ck_assert_int_eq(sim_invariant_check_values(&good, p, &sc, why, sizeof why), 0);
    ck_assert_uint_eq(good.messages_queued_now, 1);

    cr_stats s;
    /* Plain statements, one per rule. */
#define BROKEN(stmt, text)                                                                         \
    do {                                                                                           \
        s = good;                                                                                  \
        stmt;                                                                                      \
        ck_assert_int_eq(sim_invariant_check_values(&s, p, &sc, why, sizeof why), -1);             \
        ck_assert_msg(strstr(why, text) != NULL, "%s: %s", #stmt, why);                            \
    } while (0)
    BROKEN(s.events_emitted++, "events_emitted");
    BROKEN(s.outcomes[CR_OUTCOME_DELIVERED]++, "events_emitted");
    BROKEN(s.messages_dispatched++, "received");
    BROKEN(s.messages_queued_now = UINT64_MAX, "below zero");
    BROKEN((s.messages_queued_now = 65, s.messages_received += 64), "pending_max");
    BROKEN((s.messages_preauth_now = 1, s.messages_received++), "preauth_max");
    BROKEN((s.buffer_events_now = 3000, s.events_buffered_now = 0), "event_buffer_max");
    BROKEN((s.events_buffered_now = 1, s.events_emitted++), "buffer_events_now");
    BROKEN((s.buffer_events_now = 1, s.buffer_bytes_now = 70000), "max_payload");
    BROKEN(s.bytes_in_use = s.bytes_peak + 1, "bytes_peak");
    BROKEN(s.assoc_retried = s.assoc_failed + 1, "retried");
    BROKEN(s.runs_context_lost = s.runs_started + 1, "runs_context_lost");
    BROKEN(s.conns_by_state[CR_CONN_READY]++, "opened");
    BROKEN(s.conns_closed_pending_timeout = 1, "conns_closed_pending_timeout");
    BROKEN(s.connect_to_ready.count = 5, "connect_to_ready");
    BROKEN(s.buffer_delay.count = 1, "buffer_delay");
    BROKEN((s.messages_rejected = 1, s.messages_received++), "errors_reported");
    /* With prev (a snapshot that passed), a histogram whose count and sum
     * moved is summed again: a bucket lost on the way is caught.  One whose
     * count and sum equal prev's is taken as summed, exactly as documented,
     * and a check without prev sums it. */
    {
        cr_stats prev = good, cur = good;
        sim_invariant_scope ps = sc;
        ps.prev = &prev;
        cur.connect_to_ready.count++;
        cur.connect_to_ready.sum += 1000;
        ck_assert_int_eq(sim_invariant_check_values(&cur, p, &ps, why, sizeof why), -1);
        ck_assert_ptr_nonnull(strstr(why, "connect_to_ready: buckets add up to"));
        cur = good;
        cur.buffer_delay.buckets[3]++; /* count and sum unchanged */
        ck_assert_int_eq(sim_invariant_check_values(&cur, p, &ps, why, sizeof why), 0);
        ck_assert_int_eq(sim_invariant_check_values(&cur, p, &sc, why, sizeof why), -1);
        ck_assert_ptr_nonnull(strstr(why, "buffer_delay: buckets add up to"));
        ck_assert_int_eq(sim_invariant_hist_same(&good.buffer_delay, &cur.buffer_delay), 1);
        cur.buffer_delay.sum++;
        ck_assert_int_eq(sim_invariant_hist_same(&good.buffer_delay, &cur.buffer_delay), 0);
        ck_assert_int_eq(sim_invariant_check_values(&cur, p, &ps, why, sizeof why), -1);
    }
    /* without the scope, the per-stream and opened-connection bounds are skipped */
    s = good;
    s.conns_by_state[CR_CONN_READY]++;
    ck_assert_int_eq(sim_invariant_check_values(&s, p, NULL, why, sizeof why), 0);
    /* a policy without the queue: nothing may be queued */
    cr_policy nq = *p;
    nq.queue_until_context = 0;
    ck_assert_int_eq(sim_invariant_check_values(&good, &nq, &sc, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "queue_until_context"));
    cr_ctx_del(ctx);
}
END_TEST

/* Connection rules through the API: a never-opened id, a closed one, the
 * per-state counts against conns_by_state. */
START_TEST(test_invariant_conns)
{
    cr_ctx *ctx = new_ctx(CR_PROFILE_FIXED);
    char why[400];
    ck_assert_int_eq(sim_invariant_check_conn(ctx, 1, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "CR_ENOTFOUND"));
    cr_conn_id a;
    cr_conn_open(ctx, 0, &a);
    cr_conn_authenticate(ctx, 0, a, "u1");
    cr_conn_switch(ctx, 0, a, "t1", 0);
    cr_assoc_complete(ctx, 0, last_req, 1);
    cr_conn_info in;
    cr_conn_get_info(ctx, a, &in);
    ck_assert_int_eq(in.state, CR_CONN_READY);
    ck_assert_int_eq(sim_invariant_check_conn(ctx, a, why, sizeof why), 0);
    sim_invariant_scope sc = {.streams = 2, .conns = 2}; /* one more than opened */
    ck_assert_int_eq(sim_invariant_check_all(ctx, &sc, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "opened"));
    sc.conns = 1;
    ck_assert_int_eq(sim_invariant_check_all(ctx, &sc, why, sizeof why), 0);
    cr_conn_close(ctx, 0, a, CR_CLOSE_CLIENT);
    ck_assert_int_eq(sim_invariant_check_conn(ctx, a, why, sizeof why), 0);
    ck_assert_int_eq(sim_invariant_check_all(ctx, &sc, why, sizeof why), 0);
    ck_assert_int_eq(sim_invariant_check_all(ctx, NULL, why, sizeof why), -1);
    cr_ctx_del(ctx);
}
END_TEST

static Suite *invariant_suite(void)
{
    Suite *s = suite_create("invariant");
    TCase *tc = tcase_create("invariant");
    tcase_add_loop_test(tc, test_invariant_real_contexts_pass, 0, 2);
    tcase_add_test(tc, test_invariant_values_detect_broken_counters);
    tcase_add_test(tc, test_invariant_conns);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(invariant_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
