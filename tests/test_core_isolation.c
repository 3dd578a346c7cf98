/*
 * test_core_isolation.c - libctxready keeps users apart and memory bounded.
 *
 *  - two users holding the same thread string never receive each other's
 *    events, across switches and reconnects, in both profiles;
 *  - a connection cannot be associated with a thread its user does not own:
 *    message, switch and run are refused with CR_EFOREIGN, explicitly, and
 *    nothing changes;
 *  - floods past pending_max, preauth_max, event_buffer_max and
 *    event_buffer_max_bytes are counted CR_EFULL errors, and the memory the
 *    core holds stays within a bound computed from the policy.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "tests/lib/host.h"

#define MS       CR_NS_PER_MS
#define SEC      CR_NS_PER_S
#define OK(expr) ck_assert_int_eq((expr), 0)

/* Per-item allowance for the core's bookkeeping (records, list links,
 * copied strings, array slack) on top of the payload it copies.  Generous
 * on purpose: the point is "bounded by the policy", not a tight budget. */
#define SLACK 1024

static cr_conn_id open_auth(th_host *h, const char *user)
{
    cr_conn_id c = 0;
    OK(th_open(h, &c));
    OK(th_auth(h, c, user));
    return c;
}

static void bind_now(th_host *h, cr_conn_id c, const char *thread, uint64_t last_seq)
{
    OK(th_switch(h, c, thread, last_seq));
    OK(th_answer_last(h, c, 1));
    cr_conn_info ci;
    OK(cr_conn_get_info(h->ctx, c, &ci));
    ck_assert_int_eq(ci.state, CR_CONN_READY);
    ck_assert_str_eq(ci.thread, thread);
}

static cr_conn_info conn_info(th_host *h, cr_conn_id c)
{
    cr_conn_info ci;
    OK(cr_conn_get_info(h->ctx, c, &ci));
    return ci;
}

/* Every delivery went to a connection authenticated as the event's user. */
static void check_no_cross_user(const th_host *h)
{
    for (size_t i = 0; i < h->deliveries.n; i++) {
        const th_delivery *d = &h->deliveries.v[i];
        const char *owner = th_conn_user(h, d->conn);
        ck_assert_ptr_nonnull(owner);
        ck_assert_str_eq(owner, d->user);
    }
}

static void emit_n(th_host *h, cr_run_id run, unsigned n, uint64_t tag0)
{
    for (unsigned k = 0; k < n; k++)
        OK(th_emit(h, run, tag0 + k, 8, NULL));
}

/* ---- same thread string, two users ------------------------------------------
 * u1 and u2 both own "shared".  c1 (u1) and c2 (u2) view it; c4 (u2) is
 * authenticated without thread.  r1 runs on (u1, shared), r2 on
 * (u2, shared).  Script: 3 events each; c2 switches to "own2" and back;
 * 2 each; c1 drops, r1 emits 2 while u1 has nobody; c3 (u1) comes back with
 * last_seq 5; 1 each. */
static void isolation_same_string(cr_profile prof)
{
    th_host h;
    OK(th_init_profile(&h, prof));
    OK(th_thread(&h, "u1", "shared"));
    OK(th_thread(&h, "u2", "shared"));
    OK(th_thread(&h, "u2", "own2"));
    cr_conn_id c1 = open_auth(&h, "u1");
    cr_conn_id c2 = open_auth(&h, "u2");
    cr_conn_id c4 = open_auth(&h, "u2");
    bind_now(&h, c1, "shared", 0);
    bind_now(&h, c2, "shared", 0);
    cr_run_id r1 = 0, r2 = 0;
    OK(th_run_for(&h, "u1", "shared", &r1));
    OK(th_run_for(&h, "u2", "shared", &r2));
    ck_assert(th_went(&h, r1, NULL) && th_went(&h, r2, NULL));
    for (uint64_t k = 0; k < 3; k++) {
        OK(th_emit(&h, r1, 100 + k, 8, NULL));
        OK(th_emit(&h, r2, 200 + k, 8, NULL));
        OK(th_advance(&h, MS));
    }
    bind_now(&h, c2, "own2", 0);
    OK(th_advance(&h, MS));
    bind_now(&h, c2, "shared", 3);
    emit_n(&h, r1, 2, 103);
    emit_n(&h, r2, 2, 203);
    OK(th_close_conn(&h, c1, CR_CLOSE_DISCONNECT));
    emit_n(&h, r1, 2, 105);
    OK(th_advance(&h, 100 * MS));
    cr_conn_id c3 = open_auth(&h, "u1");
    bind_now(&h, c3, "shared", 5);
    emit_n(&h, r1, 1, 107);
    emit_n(&h, r2, 1, 205);

    check_no_cross_user(&h);
    for (size_t i = 0; i < h.deliveries.n; i++) {
        const th_delivery *d = &h.deliveries.v[i];
        ck_assert_str_eq(d->thread, "shared");
        if (d->run == r1) {
            ck_assert(d->conn == c1 || d->conn == c3);
            ck_assert_uint_ge(d->tag, 100);
            ck_assert_uint_lt(d->tag, 200);
        } else {
            ck_assert_uint_eq(d->run, r2);
            ck_assert(d->conn == c2 || d->conn == c4);
            ck_assert_uint_ge(d->tag, 200);
        }
    }
    /* c1: r1's 3 + 2 live; c2: r2's 3 + 2 + 1 */
    ck_assert_uint_eq(th_count_run_deliveries(&h, r1, c1), 5);
    ck_assert_uint_eq(th_count_run_deliveries(&h, r2, c2), 6);
    ck_assert_uint_eq(th_count_run_deliveries(&h, r2, c1), 0);
    ck_assert_uint_eq(th_count_run_deliveries(&h, r1, c2), 0);
    if (prof == CR_PROFILE_LEGACY) {
        /* no buffer: c3 only gets the last event; the pool hands the
         * pending c4 every event of its own user, never u1's */
        ck_assert_uint_eq(th_count_run_deliveries(&h, r1, c3), 1);
        ck_assert_uint_eq(th_count_run_deliveries(&h, r2, c4), 6);
        ck_assert_uint_eq(th_count_run_deliveries(&h, r1, c4), 0);
    } else {
        /* c3 gets seq 6-7 replayed, then seq 8 live */
        ck_assert_uint_eq(th_count_run_deliveries(&h, r1, c3), 3);
        ck_assert_uint_eq(th_count_deliveries(&h, c3, "shared", CR_EVENT_REPLAY, 0), 2);
        ck_assert_uint_eq(th_count_deliveries(&h, c4, NULL, 0, 0), 0);
    }
    /* the two streams are numbered independently */
    uint64_t last1 = 0, last2 = 0;
    for (size_t i = 0; i < h.deliveries.n; i++) {
        const th_delivery *d = &h.deliveries.v[i];
        if (d->conn == c1) {
            ck_assert_uint_eq(d->seq, ++last1);
        } else if (d->conn == c2) {
            ck_assert_uint_eq(d->seq, ++last2);
        }
    }
    th_fini(&h);
}

START_TEST(test_core_isolation_same_thread_string_legacy)
{
    isolation_same_string(CR_PROFILE_LEGACY);
}
END_TEST

START_TEST(test_core_isolation_same_thread_string_fixed)
{
    isolation_same_string(CR_PROFILE_FIXED);
}
END_TEST

/* ---- foreign threads --------------------------------------------------------- */

static void assert_info_equal(const cr_conn_info *a, const cr_conn_info *b)
{
    ck_assert_uint_eq(a->id, b->id);
    ck_assert_int_eq(a->state, b->state);
    ck_assert_uint_eq(a->generation, b->generation);
    ck_assert_uint_eq(a->queued_messages, b->queued_messages);
    ck_assert_uint_eq(a->preauth_messages, b->preauth_messages);
    ck_assert_uint_eq(a->assoc_attempts, b->assoc_attempts);
    ck_assert_uint_eq(a->ready_at, b->ready_at);
    ck_assert((a->thread == NULL) == (b->thread == NULL));
    if (a->thread)
        ck_assert_str_eq(a->thread, b->thread);
    ck_assert((a->assoc_target == NULL) == (b->assoc_target == NULL));
}

/* error reports with `error` for conn. */
static size_t count_errors(const th_host *h, int error, cr_conn_id conn)
{
    size_t k = 0;
    for (size_t i = 0; i < h->reports.n; i++) {
        const th_report *r = &h->reports.v[i];
        if (r->kind == CR_REPORT_ERROR && r->error == error && r->conn == conn)
            k++;
    }
    return k;
}

/* u1 owns "private" and "shared", u2 owns "shared".  c2 (u2) views
 * "shared", c5 (u2) is pending; both try "private" (and "ghost", owned by
 * nobody).  Every attempt is refused, explicitly, in both profiles. */
static void isolation_foreign(cr_profile prof)
{
    th_host h;
    OK(th_init_profile(&h, prof));
    OK(th_thread(&h, "u1", "private"));
    OK(th_thread(&h, "u1", "shared"));
    OK(th_thread(&h, "u2", "shared"));
    cr_conn_id c1 = open_auth(&h, "u1");
    bind_now(&h, c1, "private", 0);
    cr_conn_id c2 = open_auth(&h, "u2");
    bind_now(&h, c2, "shared", 0);
    cr_conn_id c5 = open_auth(&h, "u2");
    OK(th_advance(&h, MS));

    const char *targets[2] = {"private", "ghost"};
    const cr_conn_id conns[2] = {c2, c5};
    uint64_t tag = 70;
    for (int ci = 0; ci < 2; ci++) {
        for (int ti = 0; ti < 2; ti++) {
            cr_conn_id c = conns[ci];
            cr_conn_info before = conn_info(&h, c);
            cr_stats s0 = th_stats(&h);
            size_t disp0 = h.dispatches.n, assoc0 = h.assocs.n;
            size_t rej0 = th_count_notices(&h, c, CR_NOTICE_MESSAGE_REJECTED);
            size_t sw0 = th_count_notices(&h, c, CR_NOTICE_THREAD_SWITCHED);
            size_t err0 = count_errors(&h, CR_EFOREIGN, c);

            /* the message is refused */
            ck_assert_int_eq(th_msg(&h, c, targets[ti], 0, ++tag, NULL), CR_EFOREIGN);
            ck_assert_uint_eq(th_count_notices(&h, c, CR_NOTICE_MESSAGE_REJECTED), rej0 + 1);
            const th_notice *n = &h.notices.v[h.notices.n - 1];
            ck_assert_int_eq(n->kind, CR_NOTICE_MESSAGE_REJECTED);
            ck_assert_uint_eq(n->conn, c);
            ck_assert_uint_eq(n->msg_tag, tag);
            ck_assert_int_eq(n->error, CR_EFOREIGN);
            ck_assert_uint_eq(count_errors(&h, CR_EFOREIGN, c), err0 + 1);
            cr_stats s1 = th_stats(&h);
            ck_assert_uint_eq(s1.messages_rejected, s0.messages_rejected + 1);
            ck_assert_uint_eq(s1.messages_queued_now, s0.messages_queued_now);

            /* so is the switch */
            ck_assert_int_eq(th_switch(&h, c, targets[ti], 0), CR_EFOREIGN);
            ck_assert_uint_eq(count_errors(&h, CR_EFOREIGN, c), err0 + 2);
            ck_assert_uint_eq(th_count_notices(&h, c, CR_NOTICE_THREAD_SWITCHED), sw0);

            /* nothing routed, nothing associated, state unchanged */
            ck_assert_uint_eq(h.dispatches.n, disp0);
            ck_assert_uint_eq(h.assocs.n, assoc0);
            cr_conn_info after = conn_info(&h, c);
            assert_info_equal(&before, &after);
        }
    }
    /* a run for a thread the user does not own is refused too */
    cr_stats s0 = th_stats(&h);
    cr_run_id bad = 0;
    ck_assert_int_eq(th_run_for(&h, "u2", "private", &bad), CR_EFOREIGN);
    ck_assert_uint_eq(th_stats(&h).runs_started, s0.runs_started);
    ck_assert_uint_eq(h.gos.n, 0);

    /* u1's events on "private" reach c1 only; u1's "shared" reaches nobody
     * of u2 although c2 views a thread of that name */
    cr_run_id r = 0, rs = 0;
    OK(th_run_for(&h, "u1", "private", &r));
    OK(th_run_for(&h, "u1", "shared", &rs));
    for (uint64_t k = 0; k < 3; k++) {
        OK(th_emit(&h, r, k + 1, 8, NULL));
        th_emit(&h, rs, k + 11, 8, NULL); /* any outcome but a delivery to u2 */
    }
    ck_assert_uint_eq(th_count_run_deliveries(&h, r, c1), 3);
    ck_assert_uint_eq(th_count_deliveries(&h, c2, NULL, 0, 0), 0);
    ck_assert_uint_eq(th_count_deliveries(&h, c5, NULL, 0, 0), 0);
    check_no_cross_user(&h);
    th_fini(&h);
}

START_TEST(test_core_isolation_foreign_legacy)
{
    isolation_foreign(CR_PROFILE_LEGACY);
}
END_TEST

START_TEST(test_core_isolation_foreign_fixed)
{
    isolation_foreign(CR_PROFILE_FIXED);
}
END_TEST

/* fixed: a message cached before authentication that names a thread the
 * user turns out not to own is refused when the cache is processed. */
START_TEST(test_core_isolation_foreign_preauth)
{
    th_host h;
    OK(th_init_profile(&h, CR_PROFILE_FIXED));
    OK(th_thread(&h, "u1", "private"));
    cr_conn_id c = 0;
    OK(th_open(&h, &c));
    OK(th_msg(&h, c, "private", 0, 5, NULL));
    ck_assert_uint_eq(conn_info(&h, c).preauth_messages, 1);
    OK(th_auth(&h, c, "u2"));
    ck_assert_uint_eq(h.dispatches.n, 0);
    ck_assert_uint_eq(h.assocs.n, 0);
    ck_assert_uint_eq(th_count_notices(&h, c, CR_NOTICE_MESSAGE_REJECTED), 1);
    ck_assert_uint_eq(h.notices.v[0].msg_tag, 5);
    ck_assert_int_eq(h.notices.v[0].error, CR_EFOREIGN);
    ck_assert_uint_eq(count_errors(&h, CR_EFOREIGN, c), 1);
    cr_conn_info ci = conn_info(&h, c);
    ck_assert_int_eq(ci.state, CR_CONN_PENDING_CONTEXT);
    ck_assert_uint_eq(ci.preauth_messages, 0);
    ck_assert_uint_eq(th_stats(&h).messages_rejected, 1);
    th_fini(&h);
}
END_TEST

/* ---- floods -------------------------------------------------------------------- */

static int send_payload(th_host *h, cr_conn_id c, const char *thread, uint64_t tag, size_t len)
{
    static const unsigned char buf[4096];
    cr_message m = {.thread = thread, .tag = tag, .payload = buf, .payload_len = len};
    return cr_conn_message(h->ctx, h->now, c, &m, NULL);
}

/* The F5 queue: 3 x pending_max messages of 1000 bytes while the
 * association is in flight.  pending_max are kept, the rest are counted
 * CR_EFULL with an error report each; the queue drains in order. */
START_TEST(test_core_isolation_flood_pending_queue)
{
    th_host h;
    OK(th_init_profile(&h, CR_PROFILE_FIXED));
    const uint64_t pm = h.policy.pending_max;
    const size_t len = 1000;
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = open_auth(&h, "u1");
    const uint64_t base = th_stats(&h).bytes_in_use;
    uint64_t accepted = 0, full = 0;
    for (uint64_t i = 1; i <= 3 * pm; i++) {
        int rc = send_payload(&h, c, "t1", i, len);
        ck_assert(rc == 0 || rc == CR_EFULL);
        if (rc == 0)
            accepted++;
        else
            full++;
        cr_stats s = th_stats(&h);
        ck_assert_uint_le(s.messages_queued_now, pm);
        ck_assert_uint_le(s.bytes_in_use, base + s.messages_queued_now * (len + SLACK) + SLACK);
    }
    ck_assert_uint_eq(accepted, pm);
    ck_assert_uint_eq(full, 2 * pm);
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(s.messages_queued_now, pm);
    ck_assert_uint_eq(conn_info(&h, c).queued_messages, pm);
    ck_assert_uint_eq(s.messages_rejected, 2 * pm);
    ck_assert_uint_eq(count_errors(&h, CR_EFULL, c), 2 * pm);
    ck_assert_uint_le(s.bytes_peak, base + pm * (len + SLACK) + SLACK);
    ck_assert_uint_eq(h.dispatches.n, 0);
    ck_assert_uint_eq(h.assocs.n, 1);
    /* the binding lands: the pm accepted messages go out, in order */
    OK(th_answer_last(&h, c, 1));
    ck_assert_uint_eq(h.dispatches.n, pm);
    for (size_t i = 0; i < h.dispatches.n; i++) {
        ck_assert_uint_eq(h.dispatches.v[i].tag, i + 1);
        ck_assert_str_eq(h.dispatches.v[i].thread, "t1");
    }
    ck_assert_uint_eq(th_stats(&h).messages_queued_now, 0);
    th_fini(&h);
}
END_TEST

/* The F6 cache on many connections at once: each holds preauth_max. */
START_TEST(test_core_isolation_flood_preauth)
{
    th_host h;
    OK(th_init_profile(&h, CR_PROFILE_FIXED));
    const uint64_t pa = h.policy.preauth_max;
    const size_t len = 2000, nconn = 8;
    const uint64_t base = th_stats(&h).bytes_in_use;
    cr_conn_id c[8];
    uint64_t full = 0;
    for (size_t j = 0; j < nconn; j++) {
        OK(th_open(&h, &c[j]));
        for (uint64_t i = 0; i < 2 * pa; i++) {
            int rc = send_payload(&h, c[j], NULL, i, len);
            ck_assert(rc == 0 || rc == CR_EFULL);
            full += rc == CR_EFULL;
        }
        ck_assert_uint_eq(conn_info(&h, c[j]).preauth_messages, pa);
    }
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(full, nconn * pa);
    ck_assert_uint_eq(s.messages_rejected, nconn * pa);
    ck_assert_uint_eq(s.messages_preauth_now, nconn * pa);
    ck_assert_uint_le(s.bytes_peak, base + nconn * (pa * (len + SLACK) + SLACK));
    ck_assert_uint_eq(h.dispatches.n, 0);
    /* closing rejects what was cached: counted, one report each */
    for (size_t j = 0; j < nconn; j++)
        OK(th_close_conn(&h, c[j], CR_CLOSE_CLIENT));
    s = th_stats(&h);
    ck_assert_uint_eq(s.messages_preauth_now, 0);
    ck_assert_uint_eq(s.messages_rejected, 2 * nconn * pa);
    th_fini(&h);
}
END_TEST

/* The F4 buffer, count bound: nobody on (u1, t1); 3 x event_buffer_max
 * events.  event_buffer_max are held, the rest dropped: CR_EFULL, counted
 * DROPPED_FULL and reported. */
START_TEST(test_core_isolation_flood_event_buffer)
{
    th_host h;
    OK(th_init_profile(&h, CR_PROFILE_FIXED));
    const uint64_t max = h.policy.event_buffer_max;
    const size_t len = 16;
    ck_assert_uint_le(max * len, h.policy.event_buffer_max_bytes); /* count binds first */
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = open_auth(&h, "u1");
    bind_now(&h, c, "t1", 0);
    OK(th_close_conn(&h, c, CR_CLOSE_CLIENT));
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "t1", &run));
    const uint64_t base = th_stats(&h).bytes_in_use;
    uint64_t held = 0, dropped = 0;
    for (uint64_t i = 1; i <= 3 * max; i++) {
        cr_outcome oc = CR_OUTCOME_DELIVERED;
        int rc = th_emit(&h, run, i, len, &oc);
        if (rc == 0) {
            ck_assert_int_eq(oc, CR_OUTCOME_COUNT);
            held++;
        } else {
            ck_assert_int_eq(rc, CR_EFULL);
            ck_assert_int_eq(oc, CR_OUTCOME_DROPPED_FULL);
            dropped++;
        }
    }
    ck_assert_uint_eq(held, max);
    ck_assert_uint_eq(dropped, 2 * max);
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(s.buffer_events_now, max);
    ck_assert_uint_eq(s.events_buffered_now, max);
    ck_assert_uint_eq(s.buffer_bytes_now, max * len);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DROPPED_FULL], 2 * max);
    ck_assert_uint_eq(th_count_reports(&h, CR_REPORT_OUTCOME, CR_OUTCOME_DROPPED_FULL, 0), 2 * max);
    ck_assert_uint_le(s.bytes_peak, base + max * (len + SLACK) + SLACK);
    /* the oldest kept event is the first one: a reconnect gets 1..max */
    cr_conn_id c2 = open_auth(&h, "u1");
    bind_now(&h, c2, "t1", 0);
    ck_assert_uint_eq(th_count_deliveries(&h, c2, "t1", CR_EVENT_REPLAY, 0), max);
    ck_assert_uint_eq(h.deliveries.v[0].tag, 1);
    ck_assert_uint_eq(th_stats(&h).outcomes[CR_OUTCOME_BUFFERED_DELIVERED], max);
    th_fini(&h);
}
END_TEST

/* The F4 buffer, byte bound: 64 KiB of 1000-byte events. */
START_TEST(test_core_isolation_flood_event_bytes)
{
    cr_policy p;
    OK(cr_policy_init(&p, CR_PROFILE_FIXED));
    OK(cr_policy_set(&p, "event_buffer_max_bytes", 65536));
    th_host h;
    OK(th_init(&h, &p));
    const size_t len = 1000;
    const uint64_t fit = p.event_buffer_max_bytes / len;
    ck_assert_uint_lt(fit, p.event_buffer_max); /* bytes bind first */
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = open_auth(&h, "u1");
    bind_now(&h, c, "t1", 0);
    OK(th_close_conn(&h, c, CR_CLOSE_CLIENT));
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "t1", &run));
    uint64_t dropped = 0;
    for (uint64_t i = 1; i <= 2 * fit; i++) {
        int rc = th_emit(&h, run, i, len, NULL);
        ck_assert(rc == 0 || rc == CR_EFULL);
        dropped += rc == CR_EFULL;
    }
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(dropped, fit);
    ck_assert_uint_eq(s.buffer_events_now, fit);
    ck_assert_uint_eq(s.buffer_bytes_now, fit * len);
    ck_assert_uint_le(s.buffer_bytes_now, p.event_buffer_max_bytes);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DROPPED_FULL], fit);
    th_fini(&h);
}
END_TEST

/* Delivered history is evicted first: with a READY connection a flood is
 * all DELIVERED, the replay buffer stays within its bound, and once the
 * connection is gone the next event still finds room. */
START_TEST(test_core_isolation_flood_delivered_evicted)
{
    th_host h;
    OK(th_init_profile(&h, CR_PROFILE_FIXED));
    const uint64_t max = h.policy.event_buffer_max;
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = open_auth(&h, "u1");
    bind_now(&h, c, "t1", 0);
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "t1", &run));
    for (uint64_t i = 1; i <= 3 * max; i++) {
        cr_outcome oc = CR_OUTCOME_COUNT;
        OK(th_emit(&h, run, i, 16, &oc));
        ck_assert_int_eq(oc, CR_OUTCOME_DELIVERED);
        ck_assert_uint_le(th_stats(&h).buffer_events_now, max);
    }
    ck_assert_uint_eq(th_count_deliveries(&h, c, "t1", 0, 0), 3 * max);
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 3 * max);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DROPPED_FULL], 0);
    OK(th_close_conn(&h, c, CR_CLOSE_CLIENT));
    cr_outcome oc = CR_OUTCOME_DELIVERED;
    OK(th_emit(&h, run, 0, 16, &oc));
    ck_assert_int_eq(oc, CR_OUTCOME_COUNT);
    s = th_stats(&h);
    ck_assert_uint_le(s.buffer_events_now, max);
    ck_assert_uint_eq(s.events_buffered_now, 1);
    th_fini(&h);
}
END_TEST

/* Even with F9's accounting off, a full buffer is never silent. */
START_TEST(test_core_isolation_flood_full_never_silent)
{
    cr_policy p;
    OK(cr_policy_init(&p, CR_PROFILE_FIXED));
    OK(cr_policy_disable_fix(&p, 9));
    OK(cr_policy_set(&p, "event_buffer_max", 8));
    th_host h;
    OK(th_init(&h, &p));
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = open_auth(&h, "u1");
    bind_now(&h, c, "t1", 0);
    OK(th_close_conn(&h, c, CR_CLOSE_CLIENT));
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "t1", &run));
    uint64_t full = 0;
    for (uint64_t i = 1; i <= 20; i++) {
        int rc = th_emit(&h, run, i, 8, NULL);
        ck_assert(rc == 0 || rc == CR_EFULL);
        full += rc == CR_EFULL;
    }
    ck_assert_uint_eq(full, 20 - 8);
    ck_assert_uint_eq(th_stats(&h).outcomes[CR_OUTCOME_DROPPED_FULL], 20 - 8);
    ck_assert_uint_eq(th_stats(&h).buffer_events_now, 8);
    th_fini(&h);
}
END_TEST

static Suite *core_isolation_suite(void)
{
    Suite *s = suite_create("core_isolation");
    TCase *tc = tcase_create("users");
    tcase_add_test(tc, test_core_isolation_same_thread_string_legacy);
    tcase_add_test(tc, test_core_isolation_same_thread_string_fixed);
    tcase_add_test(tc, test_core_isolation_foreign_legacy);
    tcase_add_test(tc, test_core_isolation_foreign_fixed);
    tcase_add_test(tc, test_core_isolation_foreign_preauth);
    suite_add_tcase(s, tc);
    TCase *fl = tcase_create("floods");
    tcase_add_test(fl, test_core_isolation_flood_pending_queue);
    tcase_add_test(fl, test_core_isolation_flood_preauth);
    tcase_add_test(fl, test_core_isolation_flood_event_buffer);
    tcase_add_test(fl, test_core_isolation_flood_event_bytes);
    tcase_add_test(fl, test_core_isolation_flood_delivered_evicted);
    tcase_add_test(fl, test_core_isolation_flood_full_never_silent);
    suite_add_tcase(s, fl);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(core_isolation_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
