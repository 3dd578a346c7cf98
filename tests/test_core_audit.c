/*
 * test_core_audit.c - the audit's timing cases for libctxready, each run
 * under the legacy profile (the audited losses must be reproduced: events
 * vanish with no report and no counter) and under the fixed profile (every
 * event reaches the right connection or gets an explicit outcome), plus one
 * ablation test per fix: fixed with that one fix switched off.
 *
 * Every expected number is derived in the test from its script (how many
 * events were emitted while which connection was bound); none is copied
 * from a run of the core.  Time is virtual (tests/lib/host.h).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "tests/lib/host.h"

#define MS       CR_NS_PER_MS
#define SEC      CR_NS_PER_S
#define OK(expr) ck_assert_int_eq((expr), 0)

/* ---- helpers ------------------------------------------------------------ */

static void host_init_profile(th_host *h, cr_profile p)
{
    OK(th_init_profile(h, p));
}

/* host_init_fix_off: the fixed profile with fix `fix` switched off. */
static void host_init_fix_off(th_host *h, int fix)
{
    cr_policy p;
    OK(cr_policy_init(&p, CR_PROFILE_FIXED));
    if (fix)
        OK(cr_policy_disable_fix(&p, fix));
    OK(th_init(h, &p));
}

/* open_auth opens a connection and authenticates it as `user`. */
static cr_conn_id open_auth(th_host *h, const char *user)
{
    cr_conn_id c = 0;
    OK(th_open(h, &c));
    ck_assert_uint_ne(c, 0);
    OK(th_auth(h, c, user));
    return c;
}

/* bind_now switches c to thread and answers the association at once. */
static void bind_now(th_host *h, cr_conn_id c, const char *thread, uint64_t last_seq)
{
    size_t before = th_count_assocs(h, c);
    OK(th_switch(h, c, thread, last_seq));
    ck_assert_uint_eq(th_count_assocs(h, c), before + 1);
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

/* drive starts every dispatched message and lets every run that got
 * run_go emit n events. */
static void drive(th_host *h, unsigned n)
{
    OK(th_start_dispatched(h));
    OK(th_agent(h, n));
}

/* world plays the environment until absolute time `until`, in 1 ms ticks:
 * association requests are answered `ok` once `answer_after` old, messages
 * are started when dispatched, runs emit n events at run_go. */
static void world(th_host *h, uint64_t until, uint64_t answer_after, int ok, unsigned n)
{
    while (h->now < until) {
        for (size_t i = 0; i < h->assocs.n; i++) {
            th_assoc *a = &h->assocs.v[i];
            if (!a->answered && h->now >= a->at + answer_after) {
                uint64_t req = a->req;
                OK(th_assoc_answer(h, req, ok));
            }
        }
        drive(h, n);
        OK(th_advance(h, MS));
    }
    drive(h, n);
}

/* check_invariants: no event reached a connection of another user (or an
 * unauthenticated one), and per (connection, thread) the stream events
 * (not fallback notifications) arrive with strictly increasing seq: no
 * duplicate, no reordering. */
static void check_invariants(const th_host *h)
{
    for (size_t i = 0; i < h->deliveries.n; i++) {
        const th_delivery *d = &h->deliveries.v[i];
        const char *owner = th_conn_user(h, d->conn);
        ck_assert_msg(owner != NULL, "event delivered to unauthenticated conn %llu",
                      (unsigned long long)d->conn);
        ck_assert_str_eq(owner, d->user);
        if (d->flags & CR_EVENT_NOTIFICATION)
            continue;
        ck_assert_uint_ne(d->seq, 0);
        for (size_t j = i + 1; j < h->deliveries.n; j++) {
            const th_delivery *e = &h->deliveries.v[j];
            if (e->conn == d->conn && !(e->flags & CR_EVENT_NOTIFICATION) &&
                strcmp(e->thread, d->thread) == 0 && strcmp(e->user, d->user) == 0 &&
                e->gen == d->gen)
                ck_assert_uint_gt(e->seq, d->seq);
        }
    }
    cr_stats s = th_stats(h);
    ck_assert_uint_le(th_outcomes_total(&s), s.events_emitted);
}

static void assert_silent(const th_host *h)
{
    cr_stats s = th_stats(h);
    for (int o = 0; o < CR_OUTCOME_COUNT; o++)
        if (o != CR_OUTCOME_DELIVERED)
            ck_assert_uint_eq(s.outcomes[o], 0);
    ck_assert_uint_eq(th_count_reports(h, CR_REPORT_OUTCOME, CR_OUTCOME_COUNT, 0), 0);
    ck_assert_uint_eq(th_count_reports(h, CR_REPORT_ERROR, CR_OUTCOME_COUNT, 0), 0);
    ck_assert_uint_eq(s.errors_reported, 0);
}

/* deliveries to conn of thread (non-notification) with ord > after. */
static size_t count_after(const th_host *h, cr_conn_id conn, const char *thread, uint64_t after)
{
    size_t k = 0;
    for (size_t i = 0; i < h->deliveries.n; i++) {
        const th_delivery *d = &h->deliveries.v[i];
        if (d->conn == conn && strcmp(d->thread, thread) == 0 && d->ord > after &&
            !(d->flags & CR_EVENT_NOTIFICATION))
            k++;
    }
    return k;
}

/* reports of anything but a delivery: errors and non-delivery outcomes. */
static size_t count_nondelivery_reports(const th_host *h)
{
    size_t k = 0;
    for (size_t i = 0; i < h->reports.n; i++) {
        const th_report *r = &h->reports.v[i];
        if (r->kind == CR_REPORT_ERROR ||
            (r->kind == CR_REPORT_OUTCOME && r->outcome != CR_OUTCOME_DELIVERED &&
             r->outcome != CR_OUTCOME_BUFFERED_DELIVERED))
            k++;
    }
    return k;
}

/* error reports carrying message tag `tag`. */
static size_t count_error_reports_tag(const th_host *h, uint64_t tag)
{
    size_t k = 0;
    for (size_t i = 0; i < h->reports.n; i++)
        if (h->reports.v[i].kind == CR_REPORT_ERROR && h->reports.v[i].tag == tag)
            k++;
    return k;
}

static const th_notice *find_notice(const th_host *h, cr_conn_id conn, cr_notice_kind kind,
                                    const char *thread)
{
    for (size_t i = 0; i < h->notices.n; i++) {
        const th_notice *n = &h->notices.v[i];
        if (n->conn == conn && n->kind == kind && (!thread || strcmp(n->thread, thread) == 0))
            return n;
    }
    return NULL;
}

/* ---- 1. connection without initial thread ----------------------------------
 * connect, authenticate, a message with no thread (m1), later a message
 * naming t1 (m2), association answered 30 ms later, then m3 on t1.  Each
 * run emits 5 events at run_go. */
static void audit_no_initial_thread(cr_profile prof)
{
    th_host h;
    host_init_profile(&h, prof);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = 0;
    OK(th_open(&h, &c));
    OK(th_advance(&h, 5 * MS));
    OK(th_auth(&h, c, "u1"));
    OK(th_advance(&h, 5 * MS));
    OK(th_msg(&h, c, NULL, 0, 1, NULL));
    drive(&h, 5);
    OK(th_advance(&h, 100 * MS));
    OK(th_msg(&h, c, "t1", 0, 2, NULL));
    drive(&h, 5);
    ck_assert_uint_eq(th_count_assocs(&h, c), 1);
    OK(th_advance(&h, 30 * MS));
    OK(th_answer_last(&h, c, 1));
    drive(&h, 5);
    OK(th_advance(&h, 60 * MS));
    OK(th_msg(&h, c, "t1", 0, 3, NULL));
    drive(&h, 5);
    OK(th_advance(&h, 100 * MS));

    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(s.events_emitted, 15);
    ck_assert_int_eq(conn_info(&h, c).state, CR_CONN_READY);
    ck_assert_uint_eq(h.dispatches.n, 3);
    if (prof == CR_PROFILE_LEGACY) {
        /* m1 went out without thread, m2 before its association landed:
         * both runs lost their context; only m3's 5 events arrive. */
        ck_assert_str_eq(h.dispatches.v[0].user, "u1");
        ck_assert_str_eq(h.dispatches.v[0].thread, "");
        ck_assert_uint_eq(h.dispatches.v[0].at, 10 * MS);
        ck_assert_str_eq(h.dispatches.v[1].thread, "t1");
        ck_assert_uint_eq(h.dispatches.v[1].at, 110 * MS);
        ck_assert_uint_eq(th_count_deliveries(&h, c, "t1", 0, 0), 5);
        ck_assert_uint_eq(h.deliveries.n, 5);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 5);
        ck_assert_uint_eq(s.runs_context_lost, 2);
        assert_silent(&h);
    } else {
        /* m1 and m2 waited in the F5 queue and run on t1 once bound. */
        for (size_t i = 0; i < 3; i++) {
            ck_assert_str_eq(h.dispatches.v[i].user, "u1");
            ck_assert_str_eq(h.dispatches.v[i].thread, "t1");
            ck_assert_uint_eq(h.dispatches.v[i].tag, i + 1);
        }
        ck_assert_uint_eq(h.dispatches.v[0].at, 140 * MS);
        ck_assert_uint_eq(h.dispatches.v[1].at, 140 * MS);
        ck_assert_uint_eq(h.assocs.v[0].at, 110 * MS);
        ck_assert_uint_eq(th_count_deliveries(&h, c, "t1", 0, 0), 15);
        ck_assert_uint_eq(h.deliveries.n, 15);
        for (size_t i = 0; i < 15; i++)
            ck_assert_uint_eq(h.deliveries.v[i].seq, i + 1);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 15);
        ck_assert_uint_eq(th_outcomes_total(&s), 15);
        ck_assert_uint_eq(s.runs_context_lost, 0);
        ck_assert_uint_eq(h.reports.n, 0);
        ck_assert_uint_eq(s.connect_to_ready.count, 1);
        ck_assert_uint_eq(s.connect_to_ready.min, 140 * MS);
    }
    check_invariants(&h);
    th_fini(&h);
}

START_TEST(test_core_audit_no_initial_thread_legacy)
{
    audit_no_initial_thread(CR_PROFILE_LEGACY);
}
END_TEST

START_TEST(test_core_audit_no_initial_thread_fixed)
{
    audit_no_initial_thread(CR_PROFILE_FIXED);
}
END_TEST

/* ---- 2. message before thread context ---------------------------------------
 * The first message names t1; the association lands 30 ms later.  The run
 * is started as soon as the message is dispatched and emits 5 events at
 * run_go. */
static void audit_message_before_thread(cr_profile prof)
{
    th_host h;
    host_init_profile(&h, prof);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = open_auth(&h, "u1");
    OK(th_advance(&h, 10 * MS));
    OK(th_msg(&h, c, "t1", 0, 1, NULL));
    OK(th_start_dispatched(&h));
    cr_outcome oc[5] = {0};
    for (size_t i = 0; i < h.gos.n; i++) { /* legacy: run_go already */
        h.gos.v[i].driven = 1;
        for (int k = 0; k < 5; k++)
            OK(th_emit(&h, h.gos.v[i].run, (uint64_t)k + 1, 8, &oc[k]));
    }
    OK(th_advance(&h, 30 * MS));
    OK(th_answer_last(&h, c, 1));
    drive(&h, 5);
    OK(th_advance(&h, 10 * SEC));
    drive(&h, 5);

    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(s.events_emitted, 5);
    ck_assert_uint_eq(h.gos.n, 1);
    ck_assert_int_eq(conn_info(&h, c).state, CR_CONN_READY);
    if (prof == CR_PROFILE_LEGACY) {
        /* the run went before the association was even requested */
        ck_assert_uint_eq(h.gos.v[0].at, 10 * MS);
        ck_assert_uint_eq(h.assocs.n, 1);
        ck_assert_uint_eq(h.assocs.v[0].at, 10 * MS);
        ck_assert_uint_gt(h.assocs.v[0].ord, h.dispatches.v[0].ord);
        for (int k = 0; k < 5; k++) /* the legacy router "sent" to nobody */
            ck_assert_int_eq(oc[k], CR_OUTCOME_DELIVERED);
        ck_assert_uint_eq(h.deliveries.n, 0);
        ck_assert_uint_eq(th_outcomes_total(&s), 0);
        ck_assert_uint_eq(s.runs_context_lost, 1);
        ck_assert_uint_eq(h.reports.n, 0);
        assert_silent(&h);
    } else {
        ck_assert_uint_eq(h.assocs.v[0].at, 10 * MS);
        ck_assert_uint_eq(h.dispatches.v[0].at, 40 * MS);
        ck_assert_uint_eq(h.gos.v[0].at, 40 * MS);
        ck_assert_uint_eq(th_count_deliveries(&h, c, "t1", 0, 0), 5);
        ck_assert_uint_eq(h.deliveries.n, 5);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 5);
        ck_assert_uint_eq(th_outcomes_total(&s), 5);
        ck_assert_uint_eq(h.reports.n, 0);
        for (size_t i = 0; i < 5; i++) {
            ck_assert_uint_eq(h.deliveries.v[i].gen, 1);
            ck_assert_uint_eq(h.deliveries.v[i].seq, i + 1);
        }
    }
    check_invariants(&h);
    th_fini(&h);
}

START_TEST(test_core_audit_message_before_thread_legacy)
{
    audit_message_before_thread(CR_PROFILE_LEGACY);
}
END_TEST

START_TEST(test_core_audit_message_before_thread_fixed)
{
    audit_message_before_thread(CR_PROFILE_FIXED);
}
END_TEST

/* ---- 3. rapid thread switching during message processing --------------------
 * c is bound to A; a run on A emits e1; switch to B, e2; switch to C, e3;
 * B's (superseded) answer arrives, e4; C's answer lands, e5. */
static void audit_rapid_switch(cr_profile prof)
{
    th_host h;
    host_init_profile(&h, prof);
    OK(th_thread(&h, "u1", "A"));
    OK(th_thread(&h, "u1", "B"));
    OK(th_thread(&h, "u1", "C"));
    cr_conn_id c = open_auth(&h, "u1");
    bind_now(&h, c, "A", 0);
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "A", &run));
    ck_assert(th_went(&h, run, NULL));
    cr_outcome oc[6];
    OK(th_emit(&h, run, 1, 8, &oc[1]));
    OK(th_advance(&h, 10 * MS));
    OK(th_switch(&h, c, "B", 0));
    uint64_t req_b = th_last_assoc(&h, c)->req;
    OK(th_emit(&h, run, 2, 8, &oc[2]));
    OK(th_advance(&h, 10 * MS));
    OK(th_switch(&h, c, "C", 0));
    uint64_t req_c = th_last_assoc(&h, c)->req;
    ck_assert_uint_ne(req_b, req_c);
    ck_assert_str_eq(th_last_assoc(&h, c)->thread, "C");
    OK(th_emit(&h, run, 3, 8, &oc[3]));
    OK(th_advance(&h, 10 * MS));
    OK(th_assoc_answer(&h, req_b, 1)); /* stale: ignored */
    ck_assert_str_eq(conn_info(&h, c).thread, "A");
    OK(th_emit(&h, run, 4, 8, &oc[4]));
    OK(th_advance(&h, 10 * MS));
    OK(th_assoc_answer(&h, req_c, 1));
    ck_assert_str_eq(conn_info(&h, c).thread, "C");
    ck_assert_uint_eq(conn_info(&h, c).generation, 2);
    OK(th_emit(&h, run, 5, 8, &oc[5]));
    OK(cr_run_end(h.ctx, h.now, run));
    OK(th_advance(&h, 61 * SEC));

    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(s.events_emitted, 5);
    for (int k = 1; k <= 4; k++)
        ck_assert_int_eq(oc[k], CR_OUTCOME_DELIVERED);
    /* e1..e4 reached c while it was bound to A, with generation 1 */
    ck_assert_uint_eq(th_count_deliveries(&h, c, "A", 0, CR_EVENT_NOTIFICATION), 4);
    for (size_t i = 0; i < h.deliveries.n; i++)
        if (!(h.deliveries.v[i].flags & CR_EVENT_NOTIFICATION))
            ck_assert_uint_eq(h.deliveries.v[i].gen, 1);
    ck_assert_ptr_null(find_notice(&h, c, CR_NOTICE_SWITCH_FAILED, NULL));
    const th_notice *sw_b = find_notice(&h, c, CR_NOTICE_THREAD_SWITCHED, "B");
    const th_notice *sw_c = find_notice(&h, c, CR_NOTICE_THREAD_SWITCHED, "C");
    ck_assert_ptr_nonnull(sw_c);
    if (prof == CR_PROFILE_LEGACY) {
        /* told "switched to B" at once: e2, e3, e4 of A arrive after it */
        ck_assert_ptr_nonnull(sw_b);
        ck_assert_uint_eq(sw_b->at, 10 * MS);
        ck_assert_uint_eq(sw_c->at, 20 * MS);
        ck_assert_uint_eq(th_count_notices(&h, c, CR_NOTICE_THREAD_SWITCHED), 3);
        ck_assert_uint_eq(count_after(&h, c, "A", sw_b->ord), 3);
        ck_assert_uint_eq(count_after(&h, c, "A", sw_c->ord), 2);
        ck_assert_int_eq(oc[5], CR_OUTCOME_DELIVERED); /* vanished */
        ck_assert_uint_eq(h.deliveries.n, 4);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 4);
        ck_assert_uint_eq(th_outcomes_total(&s), 4);
        assert_silent(&h);
    } else {
        /* SWITCHED only for the binding that landed, after it; B never */
        ck_assert_ptr_null(sw_b);
        ck_assert_uint_eq(sw_c->at, 40 * MS);
        ck_assert_uint_eq(th_count_notices(&h, c, CR_NOTICE_THREAD_SWITCHED), 2);
        ck_assert_uint_eq(count_after(&h, c, "A", sw_c->ord), 0);
        /* e5: nobody on A, buffered; at its TTL the user's READY conn c
         * gets it as a notification (F9 fallback) */
        ck_assert_int_eq(oc[5], CR_OUTCOME_COUNT);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 4);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_FALLBACK], 1);
        ck_assert_uint_eq(th_outcomes_total(&s), 5);
        ck_assert_uint_eq(th_count_deliveries(&h, c, "A", CR_EVENT_NOTIFICATION, 0), 1);
        ck_assert_uint_eq(th_count_reports(&h, CR_REPORT_OUTCOME, CR_OUTCOME_FALLBACK, 0), 1);
        ck_assert_uint_eq(s.events_buffered_now, 0);
    }
    check_invariants(&h);
    th_fini(&h);
}

START_TEST(test_core_audit_rapid_switch_legacy)
{
    audit_rapid_switch(CR_PROFILE_LEGACY);
}
END_TEST

START_TEST(test_core_audit_rapid_switch_fixed)
{
    audit_rapid_switch(CR_PROFILE_FIXED);
}
END_TEST

/* ---- 4. several simultaneous connections with different timing -------------
 * 3 users x 2 connections; every user owns threads "ta" and "tb" (the same
 * strings across users).  Connection j (0..5) belongs to user j/2 and views
 * "ta" or "tb" (j%2); it opens at 7j ms, authenticates 5 ms later and sends
 * a message naming its thread 10 ms after opening.  Associations are
 * answered in the fixed shuffled order PERM, 10 ms apart from 100 ms.  At
 * 300 ms every connection sends a second message.  Runs emit 5 events. */
#define NCONN 6
static const int PERM[NCONN] = {4, 1, 5, 0, 3, 2};

static void audit_many_connections(cr_profile prof)
{
    static const char *users[3] = {"u0", "u1", "u2"};
    static const char *threads[2] = {"ta", "tb"};
    th_host h;
    host_init_profile(&h, prof);
    for (int u = 0; u < 3; u++)
        for (int t = 0; t < 2; t++)
            OK(th_thread(&h, users[u], threads[t]));
    cr_conn_id c[NCONN] = {0};
    /* the schedule: open, auth, message per connection, interleaved */
    for (uint64_t t = 0; t <= 50 * MS; t += MS) {
        OK(th_advance_to(&h, t));
        for (int j = 0; j < NCONN; j++) {
            uint64_t open_at = (uint64_t)j * 7 * MS;
            if (t == open_at)
                OK(th_open(&h, &c[j]));
            if (t == open_at + 5 * MS)
                OK(th_auth(&h, c[j], users[j / 2]));
            if (t == open_at + 10 * MS)
                OK(th_msg(&h, c[j], threads[j % 2], 0, 10 + (uint64_t)j, NULL));
        }
        drive(&h, 5);
    }
    ck_assert_uint_eq(th_count_assocs(&h, 0), NCONN);
    for (int k = 0; k < NCONN; k++) {
        OK(th_advance_to(&h, 100 * MS + (uint64_t)k * 10 * MS));
        OK(th_answer_last(&h, c[PERM[k]], 1));
        drive(&h, 5);
    }
    for (int j = 0; j < NCONN; j++) {
        OK(th_advance_to(&h, 300 * MS + (uint64_t)j * 3 * MS));
        OK(th_msg(&h, c[j], threads[j % 2], 0, 20 + (uint64_t)j, NULL));
        drive(&h, 5);
    }
    OK(th_advance(&h, 10 * SEC));
    drive(&h, 5);

    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(s.events_emitted, 2 * NCONN * 5);
    /* legacy loses every first-round run (dispatched before its thread was
     * associated); fixed delivers both rounds */
    unsigned per_conn = prof == CR_PROFILE_LEGACY ? 5 : 10;
    for (int j = 0; j < NCONN; j++) {
        ck_assert_int_eq(conn_info(&h, c[j]).state, CR_CONN_READY);
        ck_assert_uint_eq(th_count_deliveries(&h, c[j], NULL, 0, 0), per_conn);
        ck_assert_uint_eq(th_count_deliveries(&h, c[j], threads[j % 2], 0, 0), per_conn);
    }
    ck_assert_uint_eq(h.deliveries.n, NCONN * per_conn);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], NCONN * per_conn);
    ck_assert_uint_eq(th_outcomes_total(&s), NCONN * per_conn);
    ck_assert_uint_eq(h.reports.n, 0);
    /* every stream numbered from 1 without gaps, in delivery order */
    for (int j = 0; j < NCONN; j++) {
        uint64_t want = 1;
        for (size_t i = 0; i < h.deliveries.n; i++)
            if (h.deliveries.v[i].conn == c[j])
                ck_assert_uint_eq(h.deliveries.v[i].seq, want++);
    }
    /* connect->ready: conn PERM[k] opened at 7*PERM[k] ms, bound at
     * 100 + 10k ms */
    uint64_t mn = UINT64_MAX, mx = 0;
    for (int k = 0; k < NCONN; k++) {
        uint64_t v = (100 + 10 * (uint64_t)k - 7 * (uint64_t)PERM[k]) * MS;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    ck_assert_uint_eq(s.connect_to_ready.count, NCONN);
    ck_assert_uint_eq(s.connect_to_ready.min, mn);
    ck_assert_uint_eq(s.connect_to_ready.max, mx);
    if (prof == CR_PROFILE_LEGACY) {
        ck_assert_uint_eq(s.runs_context_lost, NCONN);
        assert_silent(&h);
    }
    check_invariants(&h);
    th_fini(&h);
}

START_TEST(test_core_audit_many_connections_legacy)
{
    audit_many_connections(CR_PROFILE_LEGACY);
}
END_TEST

START_TEST(test_core_audit_many_connections_fixed)
{
    audit_many_connections(CR_PROFILE_FIXED);
}
END_TEST

/* ---- 5. agent execution starting before the connection is ready -------------
 * c switches to t1 at 10 ms; the application starts a run on (u1, t1) at
 * 12 ms; the association lands at 57 ms. */
static void audit_agent_before_ready(cr_profile prof)
{
    th_host h;
    host_init_profile(&h, prof);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = open_auth(&h, "u1");
    OK(th_advance_to(&h, 10 * MS));
    OK(th_switch(&h, c, "t1", 0));
    OK(th_advance_to(&h, 12 * MS));
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "t1", &run));
    OK(th_agent(&h, 5));
    OK(th_advance_to(&h, 57 * MS));
    OK(th_agent(&h, 5));
    OK(th_answer_last(&h, c, 1));
    for (int i = 0; i < 100; i++) {
        OK(th_agent(&h, 5));
        OK(th_advance(&h, MS));
    }
    cr_stats s = th_stats(&h);
    uint64_t go = 0;
    ck_assert(th_went(&h, run, &go));
    ck_assert_uint_eq(s.events_emitted, 5);
    ck_assert_int_eq(conn_info(&h, c).state, CR_CONN_READY);
    if (prof == CR_PROFILE_LEGACY) {
        ck_assert_uint_eq(go, 12 * MS);
        ck_assert_uint_eq(h.deliveries.n, 0);
        ck_assert_uint_eq(th_outcomes_total(&s), 0);
        ck_assert_uint_eq(s.runs_context_lost, 1);
        assert_silent(&h);
    } else {
        /* waited within exec_grace: go once the binding landed, at the
         * latest at the first re-check after it (every 20 ms from 12 ms) */
        ck_assert_uint_ge(go, 57 * MS);
        ck_assert_uint_le(go, 72 * MS);
        ck_assert_uint_eq(th_count_deliveries(&h, c, "t1", 0, 0), 5);
        ck_assert_uint_eq(h.deliveries.n, 5);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 5);
        ck_assert_uint_eq(th_outcomes_total(&s), 5);
        ck_assert_uint_eq(s.runs_context_lost, 0);
        ck_assert_uint_eq(h.reports.n, 0);
    }
    check_invariants(&h);
    th_fini(&h);
}

START_TEST(test_core_audit_agent_before_ready_legacy)
{
    audit_agent_before_ready(CR_PROFILE_LEGACY);
}
END_TEST

START_TEST(test_core_audit_agent_before_ready_fixed)
{
    audit_agent_before_ready(CR_PROFILE_FIXED);
}
END_TEST

/* fixed, the association never lands: the run goes when exec_grace ends,
 * without context, and its events are reported unroutable. */
START_TEST(test_core_audit_agent_grace_expires)
{
    th_host h;
    host_init_profile(&h, CR_PROFILE_FIXED);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = open_auth(&h, "u1");
    OK(th_switch(&h, c, "t1", 0));
    OK(th_advance_to(&h, 12 * MS));
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "t1", &run));
    OK(th_advance_to(&h, 12 * MS + h.policy.exec_grace - 1));
    ck_assert(!th_went(&h, run, NULL));
    OK(th_advance(&h, h.policy.exec_retry_interval));
    uint64_t go = 0;
    ck_assert(th_went(&h, run, &go));
    /* 5 s is a multiple of the 20 ms re-check period */
    ck_assert_uint_eq(go, 12 * MS + h.policy.exec_grace);
    OK(th_agent(&h, 5));
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(s.runs_context_lost, 1);
    ck_assert_uint_eq(h.deliveries.n, 0);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_UNROUTABLE], 5);
    ck_assert_uint_eq(th_outcomes_total(&s), 5);
    ck_assert_uint_eq(th_count_reports(&h, CR_REPORT_OUTCOME, CR_OUTCOME_UNROUTABLE, 0), 5);
    for (size_t i = 0; i < h.reports.n; i++)
        if (h.reports.v[i].kind == CR_REPORT_OUTCOME)
            ck_assert_uint_eq(h.reports.v[i].run, run);
    th_fini(&h);
}
END_TEST

/* ---- 6. thread context update failures and retries --------------------------
 * A message names t1 at 10 ms; the first two association attempts fail
 * (answered 10 ms after each request), the third succeeds. */
static void audit_update_failures(cr_profile prof)
{
    th_host h;
    host_init_profile(&h, prof);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = open_auth(&h, "u1");
    OK(th_advance_to(&h, 10 * MS));
    OK(th_msg(&h, c, "t1", 0, 1, NULL));
    drive(&h, 5);
    int failures = 0;
    for (int step = 0; step < 2000; step++) { /* 2 s in 1 ms ticks */
        th_assoc *a = th_last_assoc(&h, c);
        if (a && !a->answered && h.now >= a->at + 10 * MS) {
            uint64_t req = a->req;
            int ok = failures >= 2;
            if (!ok)
                failures++;
            OK(th_assoc_answer(&h, req, ok));
        }
        drive(&h, 5);
        OK(th_advance(&h, MS));
    }
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(s.events_emitted, 5);
    ck_assert_uint_eq(s.assoc_retried, prof == CR_PROFILE_LEGACY ? 0 : 2);
    if (prof == CR_PROFILE_LEGACY) {
        /* one attempt, failed silently: never bound, the run lost */
        ck_assert_uint_eq(th_count_assocs(&h, c), 1);
        ck_assert_int_eq(conn_info(&h, c).state, CR_CONN_PENDING_CONTEXT);
        ck_assert_ptr_null(conn_info(&h, c).thread);
        ck_assert_uint_eq(h.deliveries.n, 0);
        ck_assert_uint_eq(th_outcomes_total(&s), 0);
        ck_assert_uint_eq(h.notices.n, 0);
        assert_silent(&h);
    } else {
        /* retried after 50 ms, then 100 ms; the third attempt lands */
        ck_assert_uint_eq(th_count_assocs(&h, c), 3);
        ck_assert_uint_eq(h.assocs.v[0].at, 10 * MS);
        ck_assert_uint_eq(h.assocs.v[1].at, 20 * MS + 50 * MS);
        ck_assert_uint_eq(h.assocs.v[2].at, 80 * MS + 100 * MS);
        ck_assert_uint_ne(h.assocs.v[1].req, h.assocs.v[0].req);
        ck_assert_uint_ne(h.assocs.v[2].req, h.assocs.v[1].req);
        ck_assert_uint_eq(s.assoc_failed, 2);
        ck_assert_int_eq(conn_info(&h, c).state, CR_CONN_READY);
        ck_assert_uint_eq(h.dispatches.n, 1);
        ck_assert_uint_eq(h.dispatches.v[0].at, 190 * MS);
        ck_assert_uint_eq(th_count_deliveries(&h, c, "t1", 0, 0), 5);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 5);
        ck_assert_uint_eq(th_outcomes_total(&s), 5);
        ck_assert_uint_eq(h.reports.n, 0);
    }
    check_invariants(&h);
    th_fini(&h);
}

START_TEST(test_core_audit_update_failures_legacy)
{
    audit_update_failures(CR_PROFILE_LEGACY);
}
END_TEST

START_TEST(test_core_audit_update_failures_fixed)
{
    audit_update_failures(CR_PROFILE_FIXED);
}
END_TEST

/* The retry counter of the association in flight, as the info shows it. */
START_TEST(test_core_audit_update_attempts_visible)
{
    th_host h;
    host_init_profile(&h, CR_PROFILE_FIXED);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = open_auth(&h, "u1");
    OK(th_msg(&h, c, "t1", 0, 1, NULL));
    ck_assert_uint_eq(conn_info(&h, c).assoc_attempts, 1);
    ck_assert_str_eq(conn_info(&h, c).assoc_target, "t1");
    OK(th_answer_last(&h, c, 0));
    OK(th_advance(&h, 50 * MS));
    ck_assert_uint_eq(th_count_assocs(&h, c), 2);
    ck_assert_uint_eq(conn_info(&h, c).assoc_attempts, 2);
    /* the first request is stale now: its late answer is ignored */
    OK(th_assoc_answer(&h, h.assocs.v[0].req, 1));
    ck_assert_int_eq(conn_info(&h, c).state, CR_CONN_PENDING_CONTEXT);
    ck_assert_int_eq(cr_assoc_complete(h.ctx, h.now, 999999, 1), CR_ENOTFOUND);
    th_fini(&h);
}
END_TEST

/* fixed, every attempt fails: after update_retries retries with doubling
 * backoff the core gives up explicitly: error reports, SWITCH_FAILED for
 * the switch, the queued message rejected with CR_ESTATE. */
START_TEST(test_core_audit_update_retries_exhausted)
{
    th_host h;
    host_init_profile(&h, CR_PROFILE_FIXED);
    const uint64_t retries = h.policy.update_retries, backoff = h.policy.update_backoff;
    ck_assert_uint_gt(retries, 0);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c1 = open_auth(&h, "u1");
    cr_conn_id c2 = open_auth(&h, "u1");
    OK(th_advance_to(&h, 10 * MS));
    OK(th_msg(&h, c1, "t1", 0, 7, NULL));
    OK(th_switch(&h, c2, "t1", 0));
    for (;;) { /* fail every request at once, then go to the next timer */
        OK(th_answer_open(&h, 0, NULL));
        uint64_t next = cr_ctx_get_expiry(h.ctx);
        if (next == CR_TIME_NEVER || next > 10 * SEC)
            break;
        OK(th_advance_to(&h, next));
    }
    OK(th_advance_to(&h, 10 * SEC));
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(th_count_assocs(&h, c1), 1 + retries);
    ck_assert_uint_eq(th_count_assocs(&h, c2), 1 + retries);
    ck_assert_uint_eq(s.assoc_failed, 2 * (1 + retries));
    ck_assert_uint_eq(s.assoc_retried, 2 * retries);
    /* attempt k+1 came update_backoff * 2^(k-1) after attempt k failed */
    uint64_t prev = 0, delay = backoff;
    int k = 0;
    for (size_t i = 0; i < h.assocs.n; i++) {
        if (h.assocs.v[i].conn != c1)
            continue;
        if (k > 0) {
            ck_assert_uint_eq(h.assocs.v[i].at, prev + delay);
            delay *= 2;
        }
        prev = h.assocs.v[i].at;
        k++;
    }
    const th_notice *rej = find_notice(&h, c1, CR_NOTICE_MESSAGE_REJECTED, NULL);
    ck_assert_ptr_nonnull(rej);
    ck_assert_uint_eq(rej->msg_tag, 7);
    ck_assert_int_eq(rej->error, CR_ESTATE);
    const th_notice *sf = find_notice(&h, c2, CR_NOTICE_SWITCH_FAILED, "t1");
    ck_assert_ptr_nonnull(sf);
    ck_assert_uint_eq(th_count_notices(&h, c2, CR_NOTICE_THREAD_SWITCHED), 0);
    ck_assert_uint_ge(th_count_reports(&h, CR_REPORT_ERROR, CR_OUTCOME_COUNT, c1), 1);
    ck_assert_uint_ge(th_count_reports(&h, CR_REPORT_ERROR, CR_OUTCOME_COUNT, c2), 1);
    ck_assert_uint_eq(s.messages_rejected, 1);
    ck_assert_uint_eq(s.messages_queued_now, 0);
    ck_assert_uint_eq(conn_info(&h, c1).queued_messages, 0);
    ck_assert_uint_eq(h.dispatches.n, 0);
    ck_assert_int_eq(conn_info(&h, c1).state, CR_CONN_PENDING_CONTEXT);
    th_fini(&h);
}
END_TEST

/* ---- queued messages naming different threads keep their order (F5) --------
 * Fixed: m1 names A, m2 names B before anything is bound.  m2's
 * association supersedes m1's; A's superseded answer cannot bind, and m1
 * heads the queue, so A is asked for again (superseding B's).  m1 goes out
 * once the connection is bound to A (its run's events reach the tab), then
 * m2 asks for B and goes out once bound.  Messages leave in arrival order,
 * each on its own binding, and the connection ends on the thread the user
 * went to last. */
START_TEST(test_core_audit_queue_keeps_order_across_threads)
{
    th_host h;
    host_init_profile(&h, CR_PROFILE_FIXED);
    OK(th_thread(&h, "u1", "A"));
    OK(th_thread(&h, "u1", "B"));
    cr_conn_id c = open_auth(&h, "u1");
    OK(th_msg(&h, c, "A", 0, 1, NULL));
    OK(th_msg(&h, c, "B", 0, 2, NULL));
    ck_assert_uint_eq(h.assocs.n, 2);
    ck_assert_str_eq(h.assocs.v[1].thread, "B");
    ck_assert_uint_eq(conn_info(&h, c).queued_messages, 2);
    OK(th_advance(&h, MS));
    OK(th_assoc_answer(&h, h.assocs.v[0].req, 1)); /* superseded: no binding */
    ck_assert_int_eq(conn_info(&h, c).state, CR_CONN_PENDING_CONTEXT);
    ck_assert_uint_eq(h.dispatches.n, 0);
    ck_assert_uint_eq(h.assocs.n, 3); /* m1 asks for A again */
    ck_assert_str_eq(h.assocs.v[2].thread, "A");
    OK(th_advance(&h, MS));
    OK(th_assoc_answer(&h, h.assocs.v[1].req, 1)); /* superseded in turn */
    ck_assert_uint_eq(h.dispatches.n, 0);
    OK(th_advance(&h, MS));
    OK(th_assoc_answer(&h, h.assocs.v[2].req, 1)); /* A lands: m1 goes */
    ck_assert_str_eq(conn_info(&h, c).thread, "A");
    ck_assert_uint_eq(h.dispatches.n, 1);
    ck_assert_uint_eq(h.dispatches.v[0].tag, 1);
    ck_assert_str_eq(h.dispatches.v[0].thread, "A");
    ck_assert_uint_eq(h.assocs.n, 4); /* then m2 asks for B */
    ck_assert_str_eq(h.assocs.v[3].thread, "B");
    OK(th_advance(&h, MS));
    OK(th_assoc_answer(&h, h.assocs.v[3].req, 1)); /* B lands: m2 goes */
    ck_assert_str_eq(conn_info(&h, c).thread, "B");
    ck_assert_uint_eq(h.dispatches.n, 2);
    ck_assert_uint_eq(h.dispatches.v[1].tag, 2);
    ck_assert_str_eq(h.dispatches.v[1].thread, "B");
    ck_assert_uint_eq(conn_info(&h, c).generation, 2);
    ck_assert_uint_eq(conn_info(&h, c).queued_messages, 0);
    ck_assert_uint_eq(h.reports.n, 0);
    th_fini(&h);
}
END_TEST

/* ---- messages before authentication (F6) ------------------------------------
 * m1 names t1 at 1 ms and m2 names nothing at 2 ms, both before the user
 * authenticates at 5 ms; the association is answered 25 ms after its
 * request; runs emit 3 events. */
static void audit_preauth(cr_profile prof)
{
    th_host h;
    host_init_profile(&h, prof);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = 0;
    OK(th_open(&h, &c));
    OK(th_advance_to(&h, 1 * MS));
    OK(th_msg(&h, c, "t1", 0, 1, NULL));
    OK(th_advance_to(&h, 2 * MS));
    OK(th_msg(&h, c, NULL, 0, 2, NULL));
    drive(&h, 3);
    if (prof == CR_PROFILE_FIXED) {
        ck_assert_uint_eq(conn_info(&h, c).preauth_messages, 2);
        ck_assert_uint_eq(th_stats(&h).messages_preauth_now, 2);
        ck_assert_uint_eq(h.dispatches.n, 0);
    }
    OK(th_advance_to(&h, 5 * MS));
    OK(th_auth(&h, c, "u1"));
    world(&h, 1 * SEC, 25 * MS, 1, 3);

    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(h.dispatches.n, 2);
    ck_assert_uint_eq(s.events_emitted, 6);
    if (prof == CR_PROFILE_LEGACY) {
        /* dispatched at once without any user: runs lost, nothing said */
        for (size_t i = 0; i < 2; i++) {
            ck_assert_str_eq(h.dispatches.v[i].user, "");
            ck_assert_str_eq(h.dispatches.v[i].thread, "");
        }
        ck_assert_uint_eq(h.dispatches.v[0].at, 1 * MS);
        ck_assert_uint_eq(h.assocs.n, 0);
        ck_assert_uint_eq(h.deliveries.n, 0);
        ck_assert_uint_eq(th_outcomes_total(&s), 0);
        ck_assert_uint_eq(s.runs_context_lost, 2);
        assert_silent(&h);
    } else {
        /* processed at authentication, in order, on t1 once bound */
        ck_assert_uint_eq(h.assocs.n, 1);
        ck_assert_uint_eq(h.assocs.v[0].at, 5 * MS);
        for (size_t i = 0; i < 2; i++) {
            ck_assert_str_eq(h.dispatches.v[i].user, "u1");
            ck_assert_str_eq(h.dispatches.v[i].thread, "t1");
            ck_assert_uint_eq(h.dispatches.v[i].tag, i + 1);
            ck_assert_uint_eq(h.dispatches.v[i].at, 30 * MS);
        }
        ck_assert_uint_eq(th_count_deliveries(&h, c, "t1", 0, 0), 6);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 6);
        ck_assert_uint_eq(th_outcomes_total(&s), 6);
        ck_assert_uint_eq(s.messages_preauth_now, 0);
        ck_assert_uint_eq(h.reports.n, 0);
    }
    check_invariants(&h);
    th_fini(&h);
}

START_TEST(test_core_audit_preauth_legacy)
{
    audit_preauth(CR_PROFILE_LEGACY);
}
END_TEST

START_TEST(test_core_audit_preauth_fixed)
{
    audit_preauth(CR_PROFILE_FIXED);
}
END_TEST

/* fixed: the pre-auth cache holds preauth_max messages; one more is an
 * explicit, counted CR_EFULL that changes nothing else. */
START_TEST(test_core_audit_preauth_full)
{
    th_host h;
    host_init_profile(&h, CR_PROFILE_FIXED);
    const uint64_t max = h.policy.preauth_max;
    cr_conn_id c = 0;
    OK(th_open(&h, &c));
    for (uint64_t i = 1; i <= max; i++)
        OK(th_msg(&h, c, NULL, 0, i, NULL));
    cr_stats before = th_stats(&h);
    ck_assert_int_eq(th_msg(&h, c, NULL, 0, 999, NULL), CR_EFULL);
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(s.messages_rejected, before.messages_rejected + 1);
    ck_assert_uint_eq(s.messages_preauth_now, max);
    ck_assert_uint_eq(conn_info(&h, c).preauth_messages, max);
    ck_assert_uint_eq(th_count_reports(&h, CR_REPORT_ERROR, CR_OUTCOME_COUNT, 0), 1);
    ck_assert_int_eq(h.reports.v[0].error, CR_EFULL);
    ck_assert_uint_eq(h.dispatches.n, 0);
    th_fini(&h);
}
END_TEST

/* ---- pool with pending connections (F7) -------------------------------------
 * u1: c1 READY on t1, c2 authenticated without thread, c3 not authenticated;
 * u2: c4 authenticated without thread.  A run on (u1, t1) emits 4 events. */
static void audit_pool_pending(cr_profile prof)
{
    th_host h;
    host_init_profile(&h, prof);
    OK(th_thread(&h, "u1", "t1"));
    OK(th_thread(&h, "u2", "t1"));
    cr_conn_id c1 = open_auth(&h, "u1");
    bind_now(&h, c1, "t1", 0);
    cr_conn_id c2 = open_auth(&h, "u1");
    cr_conn_id c3 = 0;
    OK(th_open(&h, &c3));
    cr_conn_id c4 = open_auth(&h, "u2");
    OK(th_advance(&h, MS));
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "t1", &run));
    ck_assert(th_went(&h, run, NULL));
    OK(th_agent(&h, 4));

    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(th_count_deliveries(&h, c1, "t1", 0, 0), 4);
    ck_assert_uint_eq(th_count_deliveries(&h, c3, NULL, 0, 0), 0);
    ck_assert_uint_eq(th_count_deliveries(&h, c4, NULL, 0, 0), 0);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 4); /* one outcome per event */
    ck_assert_uint_eq(th_outcomes_total(&s), 4);
    if (prof == CR_PROFILE_LEGACY) {
        /* the pool handed out the pending c2 too, after the READY c1 */
        ck_assert_uint_eq(th_count_deliveries(&h, c2, "t1", 0, 0), 4);
        ck_assert_uint_eq(h.deliveries.n, 8);
        for (size_t i = 0; i < 8; i += 2) {
            ck_assert_uint_eq(h.deliveries.v[i].conn, c1);
            ck_assert_uint_eq(h.deliveries.v[i + 1].conn, c2);
            ck_assert_uint_eq(h.deliveries.v[i + 1].seq, h.deliveries.v[i].seq);
            ck_assert_uint_eq(h.deliveries.v[i + 1].gen, 0);
        }
    } else {
        ck_assert_uint_eq(th_count_deliveries(&h, c2, NULL, 0, 0), 0);
        ck_assert_uint_eq(h.deliveries.n, 4);
    }
    check_invariants(&h);
    th_fini(&h);
}

START_TEST(test_core_audit_pool_pending_legacy)
{
    audit_pool_pending(CR_PROFILE_LEGACY);
}
END_TEST

START_TEST(test_core_audit_pool_pending_fixed)
{
    audit_pool_pending(CR_PROFILE_FIXED);
}
END_TEST

/* ---- F9 fallback notification -------------------------------------------------
 * u1 has c1 READY on tA; a run on tB (never bound by anyone) goes without
 * context when its grace ends; each of its 3 events is sent to c1 as a
 * notification (fixed) or vanishes (legacy). */
static void audit_fallback(cr_profile prof)
{
    th_host h;
    host_init_profile(&h, prof);
    OK(th_thread(&h, "u1", "tA"));
    OK(th_thread(&h, "u1", "tB"));
    cr_conn_id c1 = open_auth(&h, "u1");
    bind_now(&h, c1, "tA", 0);
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "tB", &run));
    OK(th_advance(&h, 6 * SEC));
    ck_assert(th_went(&h, run, NULL));
    cr_outcome oc[3];
    for (int k = 0; k < 3; k++)
        OK(th_emit(&h, run, 100 + (uint64_t)k, 8, &oc[k]));
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(s.runs_context_lost, 1);
    if (prof == CR_PROFILE_LEGACY) {
        ck_assert_uint_eq(h.deliveries.n, 0);
        for (int k = 0; k < 3; k++)
            ck_assert_int_eq(oc[k], CR_OUTCOME_DELIVERED);
        ck_assert_uint_eq(th_outcomes_total(&s), 0);
        assert_silent(&h);
    } else {
        ck_assert_uint_eq(h.deliveries.n, 3);
        for (int k = 0; k < 3; k++) {
            const th_delivery *d = &h.deliveries.v[k];
            ck_assert_int_eq(oc[k], CR_OUTCOME_FALLBACK);
            ck_assert_uint_eq(d->conn, c1);
            ck_assert(d->flags & CR_EVENT_NOTIFICATION);
            ck_assert_uint_eq(d->tag, 100 + (uint64_t)k);
            ck_assert_uint_eq(d->run, run);
        }
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_FALLBACK], 3);
        ck_assert_uint_eq(th_outcomes_total(&s), 3);
        ck_assert_uint_eq(th_count_reports(&h, CR_REPORT_OUTCOME, CR_OUTCOME_FALLBACK, 0), 3);
        ck_assert_uint_eq(th_count_reports(&h, CR_REPORT_OUTCOME, CR_OUTCOME_COUNT, 0), 3);
    }
    check_invariants(&h);
    th_fini(&h);
}

START_TEST(test_core_audit_fallback_legacy)
{
    audit_fallback(CR_PROFILE_LEGACY);
}
END_TEST

START_TEST(test_core_audit_fallback_fixed)
{
    audit_fallback(CR_PROFILE_FIXED);
}
END_TEST

/* The fallback goes to the user's most recently bound READY connection. */
START_TEST(test_core_audit_fallback_most_recent)
{
    th_host h;
    host_init_profile(&h, CR_PROFILE_FIXED);
    OK(th_thread(&h, "u1", "tA"));
    OK(th_thread(&h, "u1", "tB"));
    OK(th_thread(&h, "u1", "tC"));
    cr_conn_id c1 = open_auth(&h, "u1");
    cr_conn_id c2 = open_auth(&h, "u1");
    cr_conn_id c3 = open_auth(&h, "u1");
    OK(th_advance(&h, 10 * MS));
    bind_now(&h, c2, "tA", 0);
    OK(th_advance(&h, 10 * MS));
    bind_now(&h, c1, "tC", 0);
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "tB", &run));
    OK(th_advance(&h, 6 * SEC));
    cr_outcome oc;
    OK(th_emit(&h, run, 1, 8, &oc));
    ck_assert_int_eq(oc, CR_OUTCOME_FALLBACK);
    ck_assert_uint_eq(h.deliveries.n, 1);
    ck_assert_uint_eq(h.deliveries.v[0].conn, c1); /* bound after c2 */
    OK(th_advance(&h, 10 * MS));
    bind_now(&h, c3, "tA", 0);
    OK(th_emit(&h, run, 2, 8, &oc));
    ck_assert_int_eq(oc, CR_OUTCOME_FALLBACK);
    ck_assert_uint_eq(h.deliveries.n, 2);
    ck_assert_uint_eq(h.deliveries.v[1].conn, c3);
    th_fini(&h);
}
END_TEST

/* ---- TTL expiry ----------------------------------------------------------------
 * c1 bound to t1 closes; a run on t1 emits at +0, +10, +20 ms; nobody comes
 * back.  Fixed: each event expires event_ttl after its emission, reported;
 * legacy: vanish. */
static void audit_ttl(cr_profile prof)
{
    th_host h;
    host_init_profile(&h, prof);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c1 = open_auth(&h, "u1");
    bind_now(&h, c1, "t1", 0);
    OK(th_close_conn(&h, c1, CR_CLOSE_CLIENT));
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "t1", &run));
    ck_assert(th_went(&h, run, NULL));
    uint64_t t0 = h.now;
    cr_outcome oc[3];
    for (int k = 0; k < 3; k++) {
        OK(th_emit(&h, run, 1 + (uint64_t)k, 8, &oc[k]));
        OK(th_advance(&h, 10 * MS));
    }
    OK(cr_run_end(h.ctx, h.now, run));
    uint64_t ttl = h.policy.event_ttl;
    if (prof == CR_PROFILE_LEGACY) {
        OK(th_advance(&h, 120 * SEC));
        for (int k = 0; k < 3; k++)
            ck_assert_int_eq(oc[k], CR_OUTCOME_DELIVERED);
        cr_stats s = th_stats(&h);
        ck_assert_uint_eq(th_outcomes_total(&s), 0);
        ck_assert_uint_eq(h.deliveries.n, 0);
        assert_silent(&h);
    } else {
        for (int k = 0; k < 3; k++)
            ck_assert_int_eq(oc[k], CR_OUTCOME_COUNT);
        ck_assert_uint_eq(th_stats(&h).events_buffered_now, 3);
        OK(th_advance_to(&h, t0 + ttl - 1));
        ck_assert_uint_eq(h.reports.n, 0);
        OK(th_advance_to(&h, t0 + ttl + 30 * MS));
        cr_stats s = th_stats(&h);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_EXPIRED], 3);
        ck_assert_uint_eq(th_outcomes_total(&s), 3);
        ck_assert_uint_eq(s.events_buffered_now, 0);
        ck_assert_uint_eq(th_count_reports(&h, CR_REPORT_OUTCOME, CR_OUTCOME_EXPIRED, 0), 3);
        for (size_t i = 0; i < 3; i++) {
            const th_report *r = &h.reports.v[i];
            ck_assert_uint_eq(r->at, t0 + ttl + i * 10 * MS);
            ck_assert_uint_eq(r->seq, i + 1);
            ck_assert_uint_eq(r->tag, i + 1);
            ck_assert_str_eq(r->user, "u1");
            ck_assert_str_eq(r->thread, "t1");
        }
        ck_assert_uint_eq(h.deliveries.n, 0);
    }
    th_fini(&h);
}

START_TEST(test_core_audit_ttl_legacy)
{
    audit_ttl(CR_PROFILE_LEGACY);
}
END_TEST

START_TEST(test_core_audit_ttl_fixed)
{
    audit_ttl(CR_PROFILE_FIXED);
}
END_TEST

/* ---- replay on (re)binding (F4) -------------------------------------------------
 * c1 on t1 receives seq 1-2 live and closes; seq 3-5 are buffered; c2
 * binds with last_seq 2 and gets 3-5 replayed, c3 binds with last_seq 0
 * and gets 1-5; seq 6 goes live to both. */
START_TEST(test_core_audit_replay_since_last_seq)
{
    th_host h;
    host_init_profile(&h, CR_PROFILE_FIXED);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c1 = open_auth(&h, "u1");
    bind_now(&h, c1, "t1", 0);
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "t1", &run));
    for (uint64_t k = 1; k <= 2; k++)
        OK(th_emit(&h, run, k, 8, NULL));
    OK(th_close_conn(&h, c1, CR_CLOSE_DISCONNECT));
    for (uint64_t k = 3; k <= 5; k++) {
        OK(th_advance(&h, 10 * MS));
        OK(th_emit(&h, run, k, 8, NULL));
    }
    ck_assert_uint_eq(th_stats(&h).events_buffered_now, 3);
    OK(th_advance(&h, 100 * MS));
    cr_conn_id c2 = open_auth(&h, "u1");
    bind_now(&h, c2, "t1", 2);
    cr_conn_id c3 = open_auth(&h, "u1");
    bind_now(&h, c3, "t1", 0);
    OK(th_emit(&h, run, 6, 8, NULL));

    ck_assert_uint_eq(th_count_deliveries(&h, c1, NULL, 0, 0), 2);
    uint64_t want2[] = {3, 4, 5, 6}, want3[] = {1, 2, 3, 4, 5, 6};
    size_t n2 = 0, n3 = 0;
    for (size_t i = 0; i < h.deliveries.n; i++) {
        const th_delivery *d = &h.deliveries.v[i];
        if (d->conn == c2) {
            ck_assert_uint_lt(n2, 4);
            ck_assert_uint_eq(d->seq, want2[n2]);
            ck_assert_uint_eq(d->tag, want2[n2]);
            ck_assert_uint_eq(!!(d->flags & CR_EVENT_REPLAY), d->seq <= 5);
            ck_assert_uint_eq(d->gen, 1);
            n2++;
        } else if (d->conn == c3) {
            ck_assert_uint_lt(n3, 6);
            ck_assert_uint_eq(d->seq, want3[n3]);
            ck_assert_uint_eq(!!(d->flags & CR_EVENT_REPLAY), d->seq <= 5);
            n3++;
        }
    }
    ck_assert_uint_eq(n2, 4);
    ck_assert_uint_eq(n3, 6);
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 3);          /* 1, 2, 6 */
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_BUFFERED_DELIVERED], 3); /* 3, 4, 5 */
    ck_assert_uint_eq(th_outcomes_total(&s), 6);
    ck_assert_uint_eq(s.events_buffered_now, 0);
    ck_assert_uint_eq(s.buffer_delay.count, 3);
    /* a replay may be reported as resolved; nothing else */
    ck_assert_uint_eq(count_nondelivery_reports(&h), 0);
    ck_assert_uint_le(th_count_reports(&h, CR_REPORT_OUTCOME, CR_OUTCOME_BUFFERED_DELIVERED, 0), 3);
    check_invariants(&h);
    th_fini(&h);
}
END_TEST

/* ---- pending deadline ------------------------------------------------------------
 * c1 never authenticates, c2 authenticates and queues a message with no
 * thread, c3 gets ready.  Fixed: c1 and c2 are closed at pending_deadline
 * (CLOSING, close callback, c2's message rejected with a report); c3 never.
 * Legacy (pending_deadline 0): nobody is closed. */
static void audit_pending_deadline(cr_profile prof)
{
    th_host h;
    host_init_profile(&h, prof);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c1 = 0;
    OK(th_open(&h, &c1));
    cr_conn_id c2 = open_auth(&h, "u1");
    cr_conn_id c3 = open_auth(&h, "u1");
    OK(th_msg(&h, c2, NULL, 0, 42, NULL));
    OK(th_advance(&h, 10 * MS));
    bind_now(&h, c3, "t1", 0);
    OK(th_advance(&h, 100 * SEC));
    cr_stats s = th_stats(&h);
    ck_assert_int_eq(conn_info(&h, c3).state, CR_CONN_READY);
    if (prof == CR_PROFILE_LEGACY) {
        ck_assert_uint_eq(h.closes.n, 0);
        ck_assert_int_eq(conn_info(&h, c1).state, CR_CONN_OPEN);
        ck_assert_int_eq(conn_info(&h, c2).state, CR_CONN_PENDING_CONTEXT);
        ck_assert_uint_eq(s.conns_closed_pending_timeout, 0);
    } else {
        uint64_t dl = h.policy.pending_deadline;
        ck_assert_uint_eq(h.closes.n, 2);
        ck_assert_uint_eq(h.closes.v[0].conn, c1);
        ck_assert_uint_eq(h.closes.v[1].conn, c2);
        for (size_t i = 0; i < 2; i++) {
            ck_assert_uint_eq(h.closes.v[i].at, dl);
            ck_assert_int_eq(h.closes.v[i].reason, CR_CLOSE_PENDING_TIMEOUT);
            const th_notice *n = find_notice(&h, h.closes.v[i].conn, CR_NOTICE_CLOSING, NULL);
            ck_assert_ptr_nonnull(n);
            ck_assert_int_eq(n->reason, CR_CLOSE_PENDING_TIMEOUT);
            ck_assert_uint_lt(n->ord, h.closes.v[i].ord);
        }
        ck_assert_int_eq(conn_info(&h, c1).state, CR_CONN_CLOSED);
        ck_assert_int_eq(conn_info(&h, c2).state, CR_CONN_CLOSED);
        ck_assert_uint_eq(s.conns_closed_pending_timeout, 2);
        ck_assert_uint_eq(s.messages_rejected, 1);
        ck_assert_uint_eq(s.messages_queued_now, 0);
        ck_assert_uint_eq(count_error_reports_tag(&h, 42), 1);
        ck_assert_uint_eq(th_count_notices(&h, 0, CR_NOTICE_MESSAGE_REJECTED), 0);
        ck_assert_uint_eq(h.dispatches.n, 0);
    }
    th_fini(&h);
}

START_TEST(test_core_audit_pending_deadline_legacy)
{
    audit_pending_deadline(CR_PROFILE_LEGACY);
}
END_TEST

START_TEST(test_core_audit_pending_deadline_fixed)
{
    audit_pending_deadline(CR_PROFILE_FIXED);
}
END_TEST

/* ---- ablation: fixed with one fix off ----------------------------------------------
 * Each test runs the same script on fixed (fix = 0) and on fixed minus the
 * fix, and asserts the difference that fix is responsible for. */

/* F1: the message names t1; with F1 off it is dispatched before the
 * association is requested, the run waits out its grace (nobody asked for
 * the association), goes without context; events unroutable. */
static void ablate_f1(int fix)
{
    th_host h;
    host_init_fix_off(&h, fix);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = open_auth(&h, "u1");
    OK(th_advance_to(&h, 10 * MS));
    OK(th_msg(&h, c, "t1", 0, 1, NULL));
    world(&h, 10 * SEC, 20 * MS, 1, 3);
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(h.dispatches.n, 1);
    ck_assert_uint_eq(h.assocs.n, 1);
    ck_assert_uint_eq(h.gos.n, 1);
    ck_assert_uint_eq(s.events_emitted, 3);
    ck_assert_int_eq(conn_info(&h, c).state, CR_CONN_READY);
    if (fix) {
        ck_assert_uint_eq(h.dispatches.v[0].at, 10 * MS);
        ck_assert_str_eq(h.dispatches.v[0].thread, "t1");
        ck_assert_uint_lt(h.dispatches.v[0].ord, h.assocs.v[0].ord);
        ck_assert_uint_eq(h.assocs.v[0].at, h.gos.v[0].at);
        ck_assert_uint_ge(h.gos.v[0].at, 10 * MS + h.policy.exec_grace);
        ck_assert_uint_eq(h.deliveries.n, 0);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_UNROUTABLE], 3);
        ck_assert_uint_eq(th_count_reports(&h, CR_REPORT_OUTCOME, CR_OUTCOME_UNROUTABLE, 0), 3);
    } else {
        ck_assert_uint_eq(h.assocs.v[0].at, 10 * MS);
        ck_assert_uint_lt(h.assocs.v[0].ord, h.dispatches.v[0].ord);
        ck_assert_uint_eq(h.dispatches.v[0].at, 30 * MS);
        ck_assert_uint_eq(h.deliveries.n, 3);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 3);
    }
    ck_assert_uint_eq(th_outcomes_total(&s), 3);
    check_invariants(&h);
    th_fini(&h);
}

START_TEST(test_core_audit_ablate_f1)
{
    ablate_f1(0);
    ablate_f1(1);
}
END_TEST

/* F2: a run started 2 ms after the switch, association answered after
 * 20 ms: without the grace the run goes at once without context. */
static void ablate_f2(int fix)
{
    th_host h;
    host_init_fix_off(&h, fix);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = open_auth(&h, "u1");
    OK(th_advance_to(&h, 10 * MS));
    OK(th_switch(&h, c, "t1", 0));
    OK(th_advance_to(&h, 12 * MS));
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "t1", &run));
    OK(th_agent(&h, 3));
    world(&h, 1 * SEC, 20 * MS, 1, 3);
    cr_stats s = th_stats(&h);
    uint64_t go = 0;
    ck_assert(th_went(&h, run, &go));
    ck_assert_uint_eq(s.events_emitted, 3);
    if (fix) {
        ck_assert_uint_eq(go, 12 * MS);
        ck_assert_uint_eq(s.runs_context_lost, 1);
        ck_assert_uint_eq(h.deliveries.n, 0);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_UNROUTABLE], 3);
        ck_assert_uint_eq(th_count_reports(&h, CR_REPORT_OUTCOME, CR_OUTCOME_UNROUTABLE, 0), 3);
    } else {
        ck_assert_uint_ge(go, 30 * MS);
        ck_assert_uint_le(go, 32 * MS + h.policy.exec_retry_interval);
        ck_assert_uint_eq(s.runs_context_lost, 0);
        ck_assert_uint_eq(th_count_deliveries(&h, c, "t1", 0, 0), 3);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 3);
    }
    ck_assert_uint_eq(th_outcomes_total(&s), 3);
    th_fini(&h);
}

START_TEST(test_core_audit_ablate_f2)
{
    ablate_f2(0);
    ablate_f2(2);
}
END_TEST

/* F3: c on A switches to B at 100 ms, answered at 150 ms; a run on A
 * emits at 120 ms.  Without F3 the client hears "switched" at 100 ms and
 * then still gets A's event. */
static void ablate_f3(int fix)
{
    th_host h;
    host_init_fix_off(&h, fix);
    OK(th_thread(&h, "u1", "A"));
    OK(th_thread(&h, "u1", "B"));
    cr_conn_id c = open_auth(&h, "u1");
    bind_now(&h, c, "A", 0);
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "A", &run));
    OK(th_advance_to(&h, 100 * MS));
    OK(th_switch(&h, c, "B", 0));
    OK(th_advance_to(&h, 120 * MS));
    OK(th_emit(&h, run, 1, 8, NULL));
    OK(th_advance_to(&h, 150 * MS));
    OK(th_answer_last(&h, c, 1));
    const th_notice *n = find_notice(&h, c, CR_NOTICE_THREAD_SWITCHED, "B");
    ck_assert_ptr_nonnull(n);
    ck_assert_uint_eq(th_count_deliveries(&h, c, "A", 0, 0), 1);
    if (fix) {
        ck_assert_uint_eq(n->at, 100 * MS);
        ck_assert_uint_eq(count_after(&h, c, "A", n->ord), 1);
    } else {
        ck_assert_uint_eq(n->at, 150 * MS);
        ck_assert_uint_eq(count_after(&h, c, "A", n->ord), 0);
    }
    th_fini(&h);
}

START_TEST(test_core_audit_ablate_f3)
{
    ablate_f3(0);
    ablate_f3(3);
}
END_TEST

/* F4: c1 on t1 closes, a run emits 3 events, c2 binds to t1: replayed
 * with F4, unroutable (reported) without. */
static void ablate_f4(int fix)
{
    th_host h;
    host_init_fix_off(&h, fix);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c1 = open_auth(&h, "u1");
    bind_now(&h, c1, "t1", 0);
    OK(th_close_conn(&h, c1, CR_CLOSE_DISCONNECT));
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "t1", &run));
    OK(th_agent(&h, 3));
    OK(th_advance(&h, 50 * MS));
    cr_conn_id c2 = open_auth(&h, "u1");
    bind_now(&h, c2, "t1", 0);
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(s.events_emitted, 3);
    if (fix) {
        ck_assert_uint_eq(h.deliveries.n, 0);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_UNROUTABLE], 3);
        ck_assert_uint_eq(th_count_reports(&h, CR_REPORT_OUTCOME, CR_OUTCOME_UNROUTABLE, 0), 3);
        ck_assert_uint_eq(s.buffer_events_now, 0);
    } else {
        ck_assert_uint_eq(th_count_deliveries(&h, c2, "t1", CR_EVENT_REPLAY, 0), 3);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_BUFFERED_DELIVERED], 3);
        ck_assert_uint_eq(s.buffer_delay.count, 3);
        ck_assert_uint_eq(s.buffer_delay.min, 50 * MS);
        /* a replay may be reported as resolved; nothing else */
        ck_assert_uint_eq(count_nondelivery_reports(&h), 0);
        ck_assert_uint_le(th_count_reports(&h, CR_REPORT_OUTCOME, CR_OUTCOME_BUFFERED_DELIVERED, 0),
                          3);
    }
    ck_assert_uint_eq(th_outcomes_total(&s), 3);
    th_fini(&h);
}

START_TEST(test_core_audit_ablate_f4)
{
    ablate_f4(0);
    ablate_f4(4);
}
END_TEST

/* F5: a message with no thread at 10 ms, then a switch to t1 at 20 ms
 * answered 20 ms later: F5 queues the message until t1 is bound; without
 * it the message runs at once with no thread. */
static void ablate_f5(int fix)
{
    th_host h;
    host_init_fix_off(&h, fix);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = open_auth(&h, "u1");
    OK(th_advance_to(&h, 10 * MS));
    OK(th_msg(&h, c, NULL, 0, 1, NULL));
    drive(&h, 3);
    OK(th_advance_to(&h, 20 * MS));
    OK(th_switch(&h, c, "t1", 0));
    world(&h, 1 * SEC, 20 * MS, 1, 3);
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(h.dispatches.n, 1);
    ck_assert_uint_eq(s.events_emitted, 3);
    if (fix) {
        ck_assert_uint_eq(h.dispatches.v[0].at, 10 * MS);
        ck_assert_str_eq(h.dispatches.v[0].user, "u1");
        ck_assert_str_eq(h.dispatches.v[0].thread, "");
        ck_assert_uint_eq(h.deliveries.n, 0);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_UNROUTABLE], 3);
        ck_assert_uint_eq(th_count_reports(&h, CR_REPORT_OUTCOME, CR_OUTCOME_UNROUTABLE, 0), 3);
    } else {
        ck_assert_uint_eq(h.dispatches.v[0].at, 40 * MS);
        ck_assert_str_eq(h.dispatches.v[0].thread, "t1");
        ck_assert_uint_eq(th_count_deliveries(&h, c, "t1", 0, 0), 3);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 3);
    }
    ck_assert_uint_eq(th_outcomes_total(&s), 3);
    th_fini(&h);
}

START_TEST(test_core_audit_ablate_f5)
{
    ablate_f5(0);
    ablate_f5(5);
}
END_TEST

/* F6: a message naming t1 before authentication. */
static void ablate_f6(int fix)
{
    th_host h;
    host_init_fix_off(&h, fix);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = 0;
    OK(th_open(&h, &c));
    OK(th_advance_to(&h, 1 * MS));
    OK(th_msg(&h, c, "t1", 0, 1, NULL));
    drive(&h, 3);
    OK(th_advance_to(&h, 5 * MS));
    OK(th_auth(&h, c, "u1"));
    world(&h, 1 * SEC, 20 * MS, 1, 3);
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(h.dispatches.n, 1);
    ck_assert_uint_eq(s.events_emitted, 3);
    if (fix) {
        ck_assert_str_eq(h.dispatches.v[0].user, "");
        ck_assert_uint_eq(h.dispatches.v[0].at, 1 * MS);
        ck_assert_uint_eq(h.assocs.n, 0);
        ck_assert_uint_eq(h.deliveries.n, 0);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_UNROUTABLE], 3);
        ck_assert_uint_eq(th_count_reports(&h, CR_REPORT_OUTCOME, CR_OUTCOME_UNROUTABLE, 0), 3);
    } else {
        ck_assert_str_eq(h.dispatches.v[0].user, "u1");
        ck_assert_str_eq(h.dispatches.v[0].thread, "t1");
        ck_assert_uint_eq(h.dispatches.v[0].at, 25 * MS);
        ck_assert_uint_eq(th_count_deliveries(&h, c, "t1", 0, 0), 3);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 3);
    }
    ck_assert_uint_eq(th_outcomes_total(&s), 3);
    th_fini(&h);
}

START_TEST(test_core_audit_ablate_f6)
{
    ablate_f6(0);
    ablate_f6(6);
}
END_TEST

/* F7: c1 READY on t1 and c2 of the same user without thread. */
static void ablate_f7(int fix)
{
    th_host h;
    host_init_fix_off(&h, fix);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c1 = open_auth(&h, "u1");
    bind_now(&h, c1, "t1", 0);
    cr_conn_id c2 = open_auth(&h, "u1");
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "t1", &run));
    OK(th_agent(&h, 3));
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(th_count_deliveries(&h, c1, "t1", 0, 0), 3);
    ck_assert_uint_eq(th_count_deliveries(&h, c2, NULL, 0, 0), fix ? 3 : 0);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 3);
    ck_assert_uint_eq(th_outcomes_total(&s), 3);
    th_fini(&h);
}

START_TEST(test_core_audit_ablate_f7)
{
    ablate_f7(0);
    ablate_f7(7);
}
END_TEST

/* F8: the first association attempt fails.  With F8: retried after
 * update_backoff, delivered.  Without: silent, the message waits in the
 * queue until the pending deadline closes the connection and rejects it
 * explicitly. */
static void ablate_f8(int fix)
{
    th_host h;
    host_init_fix_off(&h, fix);
    OK(th_thread(&h, "u1", "t1"));
    cr_conn_id c = open_auth(&h, "u1");
    OK(th_advance_to(&h, 10 * MS));
    OK(th_msg(&h, c, "t1", 0, 1, NULL));
    OK(th_advance_to(&h, 20 * MS));
    OK(th_answer_last(&h, c, 0));
    world(&h, h.policy.pending_deadline + SEC, 10 * MS, 1, 3);
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(s.assoc_retried, fix ? 0 : 1);
    if (fix) {
        ck_assert_uint_eq(h.assocs.n, 1);
        ck_assert_uint_eq(h.dispatches.n, 0);
        ck_assert_uint_eq(s.events_emitted, 0);
        /* nothing said before the pending deadline */
        for (size_t i = 0; i < h.reports.n; i++)
            ck_assert_uint_ge(h.reports.v[i].at, h.policy.pending_deadline);
        ck_assert_uint_eq(h.closes.n, 1);
        ck_assert_uint_eq(h.closes.v[0].at, h.policy.pending_deadline);
        ck_assert_int_eq(h.closes.v[0].reason, CR_CLOSE_PENDING_TIMEOUT);
        ck_assert_uint_eq(s.conns_closed_pending_timeout, 1);
        ck_assert_uint_eq(s.messages_rejected, 1);
        ck_assert_uint_eq(count_error_reports_tag(&h, 1), 1);
    } else {
        ck_assert_uint_eq(h.assocs.n, 2);
        ck_assert_uint_eq(h.assocs.v[1].at, 20 * MS + h.policy.update_backoff);
        ck_assert_uint_eq(th_count_deliveries(&h, c, "t1", 0, 0), 3);
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 3);
        ck_assert_uint_eq(h.closes.n, 0);
        ck_assert_uint_eq(h.reports.n, 0);
    }
    th_fini(&h);
}

START_TEST(test_core_audit_ablate_f8)
{
    ablate_f8(0);
    ablate_f8(8);
}
END_TEST

/* F9: c1 on t1 closes, 3 events are buffered, they expire with c2 READY on
 * t2: with F9 each becomes a fallback notification to c2, counted and
 * reported; without, they vanish. */
static void ablate_f9(int fix)
{
    th_host h;
    host_init_fix_off(&h, fix);
    OK(th_thread(&h, "u1", "t1"));
    OK(th_thread(&h, "u1", "t2"));
    cr_conn_id c1 = open_auth(&h, "u1");
    bind_now(&h, c1, "t1", 0);
    cr_conn_id c2 = open_auth(&h, "u1");
    bind_now(&h, c2, "t2", 0);
    OK(th_close_conn(&h, c1, CR_CLOSE_CLIENT));
    cr_run_id run = 0;
    OK(th_run_for(&h, "u1", "t1", &run));
    cr_outcome oc[3];
    for (int k = 0; k < 3; k++)
        OK(th_emit(&h, run, 1 + (uint64_t)k, 8, &oc[k]));
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(oc[k], CR_OUTCOME_COUNT); /* buffered either way */
    ck_assert_uint_eq(th_stats(&h).events_buffered_now, 3);
    OK(th_advance(&h, h.policy.event_ttl + SEC));
    cr_stats s = th_stats(&h);
    ck_assert_uint_eq(s.events_buffered_now, 0);
    if (fix) {
        ck_assert_uint_eq(th_outcomes_total(&s), 0);
        ck_assert_uint_eq(h.deliveries.n, 0);
        ck_assert_uint_eq(h.reports.n, 0);
    } else {
        ck_assert_uint_eq(s.outcomes[CR_OUTCOME_FALLBACK], 3);
        ck_assert_uint_eq(th_outcomes_total(&s), 3);
        ck_assert_uint_eq(th_count_deliveries(&h, c2, "t1", CR_EVENT_NOTIFICATION, 0), 3);
        ck_assert_uint_eq(th_count_reports(&h, CR_REPORT_OUTCOME, CR_OUTCOME_FALLBACK, 0), 3);
    }
    th_fini(&h);
}

START_TEST(test_core_audit_ablate_f9)
{
    ablate_f9(0);
    ablate_f9(9);
}
END_TEST

/* ---- suite ------------------------------------------------------------------------ */

static Suite *core_audit_suite(void)
{
    Suite *s = suite_create("core_audit");
    TCase *tc = tcase_create("timings");
    tcase_add_test(tc, test_core_audit_no_initial_thread_legacy);
    tcase_add_test(tc, test_core_audit_no_initial_thread_fixed);
    tcase_add_test(tc, test_core_audit_message_before_thread_legacy);
    tcase_add_test(tc, test_core_audit_message_before_thread_fixed);
    tcase_add_test(tc, test_core_audit_rapid_switch_legacy);
    tcase_add_test(tc, test_core_audit_rapid_switch_fixed);
    tcase_add_test(tc, test_core_audit_many_connections_legacy);
    tcase_add_test(tc, test_core_audit_many_connections_fixed);
    tcase_add_test(tc, test_core_audit_agent_before_ready_legacy);
    tcase_add_test(tc, test_core_audit_agent_before_ready_fixed);
    tcase_add_test(tc, test_core_audit_agent_grace_expires);
    tcase_add_test(tc, test_core_audit_update_failures_legacy);
    tcase_add_test(tc, test_core_audit_update_failures_fixed);
    tcase_add_test(tc, test_core_audit_update_attempts_visible);
    tcase_add_test(tc, test_core_audit_update_retries_exhausted);
    tcase_add_test(tc, test_core_audit_queue_keeps_order_across_threads);
    tcase_add_test(tc, test_core_audit_preauth_legacy);
    tcase_add_test(tc, test_core_audit_preauth_fixed);
    tcase_add_test(tc, test_core_audit_preauth_full);
    tcase_add_test(tc, test_core_audit_pool_pending_legacy);
    tcase_add_test(tc, test_core_audit_pool_pending_fixed);
    tcase_add_test(tc, test_core_audit_fallback_legacy);
    tcase_add_test(tc, test_core_audit_fallback_fixed);
    tcase_add_test(tc, test_core_audit_fallback_most_recent);
    tcase_add_test(tc, test_core_audit_ttl_legacy);
    tcase_add_test(tc, test_core_audit_ttl_fixed);
    tcase_add_test(tc, test_core_audit_replay_since_last_seq);
    tcase_add_test(tc, test_core_audit_pending_deadline_legacy);
    tcase_add_test(tc, test_core_audit_pending_deadline_fixed);
    suite_add_tcase(s, tc);
    TCase *ab = tcase_create("ablation");
    tcase_add_test(ab, test_core_audit_ablate_f1);
    tcase_add_test(ab, test_core_audit_ablate_f2);
    tcase_add_test(ab, test_core_audit_ablate_f3);
    tcase_add_test(ab, test_core_audit_ablate_f4);
    tcase_add_test(ab, test_core_audit_ablate_f5);
    tcase_add_test(ab, test_core_audit_ablate_f6);
    tcase_add_test(ab, test_core_audit_ablate_f7);
    tcase_add_test(ab, test_core_audit_ablate_f8);
    tcase_add_test(ab, test_core_audit_ablate_f9);
    suite_add_tcase(s, ab);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(core_audit_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
