/*
 * test_core_conn.c - connections: states, authentication, the message
 * paths (F1, F5, F6), switches (F3), association, retries (F8), bindings
 * and generations, closing, pending deadline, floods, misuse.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "tests/lib/core_rec.h"

/* ------------------------------------------------------------------------ */
START_TEST(test_core_conn_open_assigns_increasing_ids)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    for (cr_conn_id want = 1; want <= 3; want++) {
        cr_conn_id c = 0;
        ck_assert_int_eq(cr_conn_open(ctx, want * 10, &c), 0);
        ck_assert_uint_eq(c, want);
        cr_conn_info info;
        ck_assert_int_eq(cr_conn_get_info(ctx, c, &info), 0);
        ck_assert_int_eq(info.state, CR_CONN_OPEN);
        ck_assert_ptr_null(info.user);
        ck_assert_ptr_null(info.thread);
        ck_assert_uint_eq(info.opened_at, want * 10);
        ck_assert_uint_eq(info.generation, 0);
    }
    /* a closed id is never reused */
    ck_assert_int_eq(cr_conn_close(ctx, 40, 2, CR_CLOSE_CLIENT), 0);
    cr_conn_id c = 0;
    ck_assert_int_eq(cr_conn_open(ctx, 50, &c), 0);
    ck_assert_uint_eq(c, 4);
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.conns_by_state[CR_CONN_OPEN], 3);
    ck_assert_uint_eq(s.conns_by_state[CR_CONN_CLOSED], 1);
    ck_assert_str_eq(rec_since(&r), "");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

START_TEST(test_core_conn_authenticate_moves_to_pending_context)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_conn_id c = 0;
    ck_assert_int_eq(cr_conn_open(ctx, 0, &c), 0);
    ck_assert_int_eq(cr_conn_authenticate(ctx, 1, c, "alice"), 0);
    cr_conn_info info;
    ck_assert_int_eq(cr_conn_get_info(ctx, c, &info), 0);
    ck_assert_int_eq(info.state, CR_CONN_PENDING_CONTEXT);
    ck_assert_str_eq(info.user, "alice");
    ck_assert_int_eq(cr_conn_authenticate(ctx, 2, c, "alice"), CR_ESTATE);
    ck_assert_int_eq(cr_conn_authenticate(ctx, 2, c, "bob"), CR_ESTATE);
    ck_assert_int_eq(cr_conn_authenticate(ctx, 2, 77, "bob"), CR_ENOTFOUND);
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.conns_by_state[CR_CONN_OPEN], 0);
    ck_assert_uint_eq(s.conns_by_state[CR_CONN_PENDING_CONTEXT], 1);
    ck_assert_str_eq(rec_since(&r), "");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* F1 + F5: the association is requested first, the message waits for the
 * binding and is then dispatched on the bound thread. */
START_TEST(test_core_conn_message_fixed_associates_then_dispatches)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    ck_assert_int_eq(cr_thread_add(ctx, 0, "alice", "t1"), 0);
    cr_conn_id c = rec_open_auth(ctx, 10, "alice");
    cr_message m = rec_message("t1", 0, 7);
    uint64_t mid = 0;
    ck_assert_int_eq(cr_conn_message(ctx, 20, c, &m, &mid), 0);
    ck_assert_uint_eq(mid, 1);
    ck_assert_str_eq(rec_since(&r), "20 associate req=1 c=1 alice/t1\n");
    cr_conn_info info;
    cr_conn_get_info(ctx, c, &info);
    ck_assert_int_eq(info.state, CR_CONN_PENDING_CONTEXT);
    ck_assert_str_eq(info.assoc_target, "t1");
    ck_assert_uint_eq(info.queued_messages, 1);
    ck_assert_uint_eq(info.assoc_attempts, 1);

    ck_assert_int_eq(cr_assoc_complete(ctx, 30, rec_last_req(&r), 1), 0);
    ck_assert_str_eq(rec_since(&r), "30 dispatch c=1 msg=1 alice/t1 tag=7\n");
    cr_conn_get_info(ctx, c, &info);
    ck_assert_int_eq(info.state, CR_CONN_READY);
    ck_assert_str_eq(info.thread, "t1");
    ck_assert_ptr_null(info.assoc_target);
    ck_assert_uint_eq(info.generation, 1);
    ck_assert_uint_eq(info.ready_at, 30);
    ck_assert_uint_eq(info.queued_messages, 0);
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.connect_to_ready.count, 1);
    ck_assert_uint_eq(s.connect_to_ready.sum, 30 - 10);
    ck_assert_uint_eq(s.messages_received, 1);
    ck_assert_uint_eq(s.messages_dispatched, 1);
    ck_assert_uint_eq(s.assoc_requested, 1);

    /* now ready: the next message goes straight through */
    m.tag = 8;
    ck_assert_int_eq(cr_conn_message(ctx, 40, c, &m, &mid), 0);
    ck_assert_str_eq(rec_since(&r), "40 dispatch c=1 msg=2 alice/t1 tag=8\n");
    m.thread = NULL;
    m.tag = 9;
    ck_assert_int_eq(cr_conn_message(ctx, 41, c, &m, &mid), 0);
    ck_assert_str_eq(rec_since(&r), "41 dispatch c=1 msg=3 alice/t1 tag=9\n");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Legacy (F1 off, F2 off): dispatched at once on the named thread, the run
 * goes without context, the association comes only at run_go, and the
 * run's events vanish without a trace. */
START_TEST(test_core_conn_message_legacy_associates_at_run_go)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_LEGACY, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = rec_open_auth(ctx, 10, "alice");
    cr_message m = rec_message("t1", 0, 7);
    uint64_t mid = 0;
    ck_assert_int_eq(cr_conn_message(ctx, 20, c, &m, &mid), 0);
    ck_assert_str_eq(rec_since(&r), "20 dispatch c=1 msg=1 alice/t1 tag=7\n");
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start(ctx, 25, mid, &run), 0);
    ck_assert_str_eq(rec_since(&r), "25 run_go run=1\n25 associate req=1 c=1 alice/t1\n");
    cr_event_in ev = {0, 99, "x", 1};
    uint64_t seq = 123;
    cr_outcome o = CR_OUTCOME_COUNT;
    ck_assert_int_eq(cr_run_emit(ctx, 26, run, &ev, &seq, &o), 0);
    ck_assert_int_eq(o, CR_OUTCOME_DELIVERED); /* the legacy router's belief */
    ck_assert_uint_eq(seq, 0);
    ck_assert_str_eq(rec_since(&r), "");
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.runs_context_lost, 1);
    ck_assert_uint_eq(s.events_emitted, 1);
    for (int i = 0; i < CR_OUTCOME_COUNT; i++)
        ck_assert_uint_eq(s.outcomes[i], 0);

    ck_assert_int_eq(cr_assoc_complete(ctx, 30, rec_last_req(&r), 1), 0);
    ck_assert_str_eq(rec_since(&r), "");
    ck_assert_int_eq(rec_state_of(ctx, c), CR_CONN_READY);
    /* the second message of the thread works */
    m.tag = 8;
    ck_assert_int_eq(cr_conn_message(ctx, 40, c, &m, &mid), 0);
    ck_assert_int_eq(cr_run_start(ctx, 45, mid, &run), 0);
    ck_assert_int_eq(cr_run_emit(ctx, 46, run, &ev, &seq, &o), 0);
    ck_assert_str_eq(rec_since(&r), "40 dispatch c=1 msg=2 alice/t1 tag=8\n"
                                    "45 run_go run=2\n"
                                    "46 deliver c=1 alice/t1 run=2 seq=1 gen=1 flags=0 tag=99\n");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* F6: messages before authentication are cached and, at authentication,
 * take the normal path in arrival order. */
START_TEST(test_core_conn_preauth_cache_replayed_in_order)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = 0;
    cr_conn_open(ctx, 0, &c);
    cr_message m1 = rec_message(NULL, 0, 1), m2 = rec_message("t1", 0, 2);
    ck_assert_int_eq(cr_conn_message(ctx, 1, c, &m1, NULL), 0);
    ck_assert_int_eq(cr_conn_message(ctx, 2, c, &m2, NULL), 0);
    ck_assert_str_eq(rec_since(&r), "");
    cr_conn_info info;
    cr_conn_get_info(ctx, c, &info);
    ck_assert_uint_eq(info.preauth_messages, 2);
    ck_assert_uint_eq(rec_stats(ctx).messages_preauth_now, 2);

    ck_assert_int_eq(cr_conn_authenticate(ctx, 3, c, "alice"), 0);
    ck_assert_str_eq(rec_since(&r), "3 associate req=1 c=1 alice/t1\n");
    cr_conn_get_info(ctx, c, &info);
    ck_assert_uint_eq(info.preauth_messages, 0);
    ck_assert_uint_eq(info.queued_messages, 2);
    ck_assert_uint_eq(rec_stats(ctx).messages_preauth_now, 0);
    ck_assert_uint_eq(rec_stats(ctx).messages_queued_now, 2);

    ck_assert_int_eq(cr_assoc_complete(ctx, 4, rec_last_req(&r), 1), 0);
    ck_assert_str_eq(rec_since(&r), "4 dispatch c=1 msg=1 alice/t1 tag=1\n"
                                    "4 dispatch c=1 msg=2 alice/t1 tag=2\n");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* F6 + F1: replaying a pre-auth cache whose messages name distinct threads
 * issues one association per message (each superseding the previous);
 * the requests map must have room for all of them, and every answer
 * (stale or live) must still be handled: a full map used to make the next
 * lookup probe forever. */
START_TEST(test_core_conn_preauth_replay_many_associations)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    enum { N = 12 };
    char name[N][8];
    for (int i = 0; i < N; i++) {
        snprintf(name[i], sizeof name[i], "t%d", i + 1);
        ck_assert_int_eq(cr_thread_add(ctx, 0, "alice", name[i]), 0);
    }
    /* five associations of other connections already in flight: the
     * requests map is shared */
    enum { OTHERS = 5 };
    for (int i = 0; i < OTHERS; i++) {
        cr_conn_id o = rec_open_auth(ctx, 0, "alice");
        cr_message m = rec_message("t1", 0, 100 + (uint64_t)i);
        ck_assert_int_eq(cr_conn_message(ctx, 0, o, &m, NULL), 0);
    }
    cr_conn_id c = 0;
    ck_assert_int_eq(cr_conn_open(ctx, 0, &c), 0);
    for (int i = 0; i < N; i++) {
        cr_message m = rec_message(name[i], 0, (uint64_t)i + 1);
        ck_assert_int_eq(cr_conn_message(ctx, 1, c, &m, NULL), 0);
    }
    ck_assert_int_eq(cr_conn_authenticate(ctx, 2, c, "alice"), 0);
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.assoc_requested, OTHERS + N);
    cr_conn_info info;
    cr_conn_get_info(ctx, c, &info);
    ck_assert_str_eq(info.assoc_target, name[N - 1]);
    ck_assert_uint_eq(info.queued_messages, N);
    /* every answer, oldest first: the forgotten and superseded ones change
     * no binding; the live one binds the last thread */
    for (uint64_t req = 1; req <= OTHERS + N; req++)
        ck_assert_int_eq(cr_assoc_complete(ctx, 3 + req, req, 1), 0);
    /* then the queue rebinds in order, one association per message */
    for (int i = 0; i < 2 * N && info.queued_messages; i++) {
        ck_assert_int_eq(cr_assoc_complete(ctx, 50 + (uint64_t)i, rec_last_req(&r), 1), 0);
        cr_conn_get_info(ctx, c, &info);
    }
    ck_assert_uint_eq(info.queued_messages, 0);
    ck_assert_int_eq(info.state, CR_CONN_READY);
    ck_assert_str_eq(info.thread, name[N - 1]);
    /* a later message still finds its way (the map probes terminate) */
    cr_message m = rec_message(NULL, 0, 99);
    ck_assert_int_eq(cr_conn_message(ctx, 100, c, &m, NULL), 0);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

static uint64_t seen_received_at;
static void on_dispatch_received_at(void *ud, uint64_t now, cr_conn_id c, const cr_dispatch *d)
{
    seen_received_at = d->received_at;
    ck_assert_uint_eq(d->payload_len, 5);
    ck_assert_int_eq(memcmp(d->payload, "hello", 5), 0);
}

/* A message that waited is dispatched with its arrival time and a copy of
 * its payload (the caller's buffer is long gone). */
START_TEST(test_core_conn_waiting_message_keeps_payload_and_time)
{
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    cr_callbacks cb = {0};
    cb.dispatch = on_dispatch_received_at;
    cr_ctx *ctx = NULL;
    ck_assert_int_eq(cr_ctx_new(&ctx, &p, &cb, NULL, NULL), 0);
    cr_conn_id c = 0;
    cr_conn_open(ctx, 0, &c);
    char buf[5];
    memcpy(buf, "hello", 5);
    cr_message m = {NULL, 0, 1, buf, 5};
    ck_assert_int_eq(cr_conn_message(ctx, 7, c, &m, NULL), 0);
    memset(buf, 'X', sizeof buf);
    cr_thread_add(ctx, 8, "alice", "t1");
    cr_conn_authenticate(ctx, 8, c, "alice");
    ck_assert_int_eq(cr_conn_switch(ctx, 9, c, "t1", 0), 0);
    seen_received_at = 0;
    ck_assert_int_eq(cr_assoc_complete(ctx, 10, 1, 1), 0);
    ck_assert_uint_eq(seen_received_at, 7);
    cr_ctx_del(ctx);
}
END_TEST

START_TEST(test_core_conn_preauth_legacy_dispatches_without_context)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_LEGACY, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = 0;
    cr_conn_open(ctx, 0, &c);
    cr_message m = rec_message("t1", 0, 1);
    uint64_t mid = 0;
    ck_assert_int_eq(cr_conn_message(ctx, 1, c, &m, &mid), 0);
    ck_assert_str_eq(rec_since(&r), "1 dispatch c=1 msg=1 -/- tag=1\n");
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start(ctx, 2, mid, &run), 0);
    ck_assert_str_eq(rec_since(&r), "2 run_go run=1\n");
    ck_assert_uint_eq(rec_stats(ctx).runs_context_lost, 1);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* A thread the user does not own is refused, in both profiles, with a
 * notice and an error report; nothing is routed or associated. */
START_TEST(test_core_conn_foreign_thread_refused)
{
    for (int profile = 0; profile < 2; profile++) {
        rec r;
        cr_ctx *ctx = rec_new_ctx(&r, (cr_profile)profile, NULL);
        cr_thread_add(ctx, 0, "bob", "t9");
        cr_thread_add(ctx, 0, "alice", "t1");
        cr_conn_id c = rec_open_auth(ctx, 0, "alice");
        cr_message m = rec_message("t9", 0, 5);
        ck_assert_int_eq(cr_conn_message(ctx, 1, c, &m, NULL), CR_EFOREIGN);
        ck_assert_str_eq(rec_since(&r), "1 notice c=1 REJECTED thread=- tag=5 err=CR_EFOREIGN\n"
                                        "1 report ERROR - err=CR_EFOREIGN c=1 run=0 alice/t9 seq=0 "
                                        "tag=5\n");
        m = rec_message("nobody-owns-this", 0, 6);
        ck_assert_int_eq(cr_conn_message(ctx, 2, c, &m, NULL), CR_EFOREIGN);
        ck_assert_int_eq(cr_conn_switch(ctx, 3, c, "t9", 0), CR_EFOREIGN);
        cr_stats s = rec_stats(ctx);
        ck_assert_uint_eq(s.messages_received, 2);
        ck_assert_uint_eq(s.messages_rejected, 2);
        ck_assert_uint_eq(s.messages_dispatched, 0);
        ck_assert_uint_eq(s.assoc_requested, 0);
        ck_assert_uint_eq(s.errors_reported, 3);
        ck_assert_uint_eq(s.notices_sent, 2);
        ck_assert_int_eq(rec_state_of(ctx, c), CR_CONN_PENDING_CONTEXT);
        cr_run_id run;
        ck_assert_int_eq(cr_run_start_for(ctx, 4, "alice", "t9", &run), CR_EFOREIGN);
        cr_ctx_del(ctx);
        rec_free(&r);
    }
}
END_TEST

/* F3 on: THREAD_SWITCHED only once the binding landed; off: at once. */
START_TEST(test_core_conn_switch_notice_after_binding)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_thread_add(ctx, 0, "alice", "t2");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    ck_assert_int_eq(cr_conn_switch(ctx, 1, c, "t1", 0), 0);
    ck_assert_str_eq(rec_since(&r), "1 associate req=1 c=1 alice/t1\n");
    ck_assert_int_eq(cr_assoc_complete(ctx, 2, 1, 1), 0);
    ck_assert_str_eq(rec_since(&r), "2 notice c=1 SWITCHED thread=t1 tag=0 err=0\n");
    /* already there, nothing in flight: just the notice */
    ck_assert_int_eq(cr_conn_switch(ctx, 3, c, "t1", 0), 0);
    ck_assert_str_eq(rec_since(&r), "3 notice c=1 SWITCHED thread=t1 tag=0 err=0\n");
    ck_assert_uint_eq(rec_stats(ctx).assoc_requested, 1);
    cr_ctx_del(ctx);
    rec_free(&r);

    ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "verify_before_notify=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    c = rec_open_auth(ctx, 0, "alice");
    ck_assert_int_eq(cr_conn_switch(ctx, 1, c, "t1", 0), 0);
    ck_assert_str_eq(rec_since(&r), "1 associate req=1 c=1 alice/t1\n"
                                    "1 notice c=1 SWITCHED thread=t1 tag=0 err=0\n");
    ck_assert_int_eq(cr_assoc_complete(ctx, 2, 1, 1), 0);
    ck_assert_str_eq(rec_since(&r), "");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

START_TEST(test_core_conn_switch_needs_authentication)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = 0;
    cr_conn_open(ctx, 0, &c);
    char *before = rec_dump(ctx);
    ck_assert_int_eq(cr_conn_switch(ctx, 1, c, "t1", 0), CR_ESTATE);
    char *after = rec_dump(ctx);
    ck_assert_str_eq(before, after);
    ck_assert_str_eq(rec_since(&r), "");
    free(before);
    free(after);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* A switch keeps the connection READY on the old thread until the new
 * binding lands; then the old stream no longer routes to it. */
START_TEST(test_core_conn_switch_keeps_old_thread_until_bound)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_thread_add(ctx, 0, "alice", "t2");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    cr_conn_switch(ctx, 1, c, "t1", 0);
    cr_assoc_complete(ctx, 2, rec_last_req(&r), 1);
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, 3, "alice", "t1", &run), 0);
    ck_assert_int_eq(cr_conn_switch(ctx, 4, c, "t2", 0), 0);
    rec_since(&r);
    cr_conn_info info;
    cr_conn_get_info(ctx, c, &info);
    ck_assert_int_eq(info.state, CR_CONN_READY);
    ck_assert_str_eq(info.thread, "t1");
    ck_assert_str_eq(info.assoc_target, "t2");
    int ready = -1;
    cr_ctx_is_ready(ctx, "alice", "t1", &ready);
    ck_assert_int_eq(ready, 1);
    cr_event_in ev = {0, 1, "x", 1};
    cr_outcome o;
    ck_assert_int_eq(cr_run_emit(ctx, 5, run, &ev, NULL, &o), 0);
    ck_assert_int_eq(o, CR_OUTCOME_DELIVERED);
    ck_assert_str_eq(rec_since(&r), "5 deliver c=1 alice/t1 run=1 seq=1 gen=1 flags=0 tag=1\n");

    ck_assert_int_eq(cr_assoc_complete(ctx, 6, rec_last_req(&r), 1), 0);
    ck_assert_str_eq(rec_since(&r), "6 notice c=1 SWITCHED thread=t2 tag=0 err=0\n");
    cr_conn_get_info(ctx, c, &info);
    ck_assert_str_eq(info.thread, "t2");
    ck_assert_uint_eq(info.generation, 2);
    cr_ctx_is_ready(ctx, "alice", "t1", &ready);
    ck_assert_int_eq(ready, 0);
    cr_ctx_is_ready(ctx, "alice", "t2", &ready);
    ck_assert_int_eq(ready, 1);
    ev.tag = 2;
    ck_assert_int_eq(cr_run_emit(ctx, 7, run, &ev, NULL, &o), 0);
    ck_assert_int_eq(o, CR_OUTCOME_COUNT); /* buffered for t1, not sent to t2 */
    ck_assert_str_eq(rec_since(&r), "");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* A superseded association's completion is ignored (returns 0, changes
 * nothing); a never-issued id is CR_ENOTFOUND. */
START_TEST(test_core_conn_stale_association_ignored)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_thread_add(ctx, 0, "alice", "t2");
    cr_thread_add(ctx, 0, "alice", "t3");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    cr_conn_switch(ctx, 1, c, "t2", 0);
    cr_conn_switch(ctx, 2, c, "t3", 0);
    ck_assert_str_eq(rec_since(&r), "1 associate req=1 c=1 alice/t2\n"
                                    "2 associate req=2 c=1 alice/t3\n");
    char *before = rec_dump(ctx);
    cr_stats s0 = rec_stats(ctx);
    ck_assert_int_eq(cr_assoc_complete(ctx, 3, 1, 1), 0);
    ck_assert_int_eq(cr_assoc_complete(ctx, 3, 1, 0), 0);
    char *after = rec_dump(ctx);
    ck_assert_str_eq(before, after);
    cr_stats s1 = rec_stats(ctx);
    ck_assert_int_eq(memcmp(&s0, &s1, sizeof s0), 0);
    ck_assert_str_eq(rec_since(&r), "");
    ck_assert_int_eq(cr_assoc_complete(ctx, 3, 0, 1), CR_ENOTFOUND);
    ck_assert_int_eq(cr_assoc_complete(ctx, 3, 3, 1), CR_ENOTFOUND);

    ck_assert_int_eq(cr_assoc_complete(ctx, 4, 2, 1), 0);
    ck_assert_str_eq(rec_since(&r), "4 notice c=1 SWITCHED thread=t3 tag=0 err=0\n");
    ck_assert_int_eq(cr_assoc_complete(ctx, 5, 2, 1), 0); /* answered twice: stale */
    ck_assert_str_eq(rec_since(&r), "");
    cr_conn_info info;
    cr_conn_get_info(ctx, c, &info);
    ck_assert_str_eq(info.thread, "t3");
    ck_assert_uint_eq(info.generation, 1);
    free(before);
    free(after);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Every landed binding bumps the generation; events carry the receiving
 * connection's generation. */
START_TEST(test_core_conn_generation_counts_bindings)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_thread_add(ctx, 0, "alice", "t2");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    const char *path[] = {"t1", "t2", "t1", "t1"};
    for (int i = 0; i < 4; i++) {
        if (i == 3) /* rebinding to the same thread needs a newer request */
            cr_conn_switch(ctx, 10 * i, c, "t2", 0);
        cr_conn_switch(ctx, 10 * i + 1, c, path[i], 0);
        cr_assoc_complete(ctx, 10 * i + 2, rec_last_req(&r), 1);
        cr_conn_info info;
        cr_conn_get_info(ctx, c, &info);
        ck_assert_uint_eq(info.generation, (uint64_t)i + 1);
        ck_assert_str_eq(info.thread, path[i]);
    }
    cr_run_id run;
    cr_run_start_for(ctx, 50, "alice", "t1", &run);
    rec_since(&r);
    cr_event_in ev = {0, 1, NULL, 0};
    cr_run_emit(ctx, 51, run, &ev, NULL, NULL);
    ck_assert_str_eq(rec_since(&r), "51 deliver c=1 alice/t1 run=1 seq=1 gen=4 flags=0 tag=1\n");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* F8: a failed association is retried after update_backoff, doubling; when
 * the retries are exhausted the failure is explicit: error report,
 * SWITCH_FAILED, queued messages rejected. */
START_TEST(test_core_conn_assoc_retry_backoff_then_give_up)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "update_retries=2", "update_backoff=10", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    ck_assert_int_eq(cr_conn_switch(ctx, 0, c, "t1", 0), 0);
    cr_message m = rec_message("t1", 0, 9);
    ck_assert_int_eq(cr_conn_message(ctx, 0, c, &m, NULL), 0);
    ck_assert_str_eq(rec_since(&r), "0 associate req=1 c=1 alice/t1\n");

    ck_assert_int_eq(cr_assoc_complete(ctx, 100, 1, 0), 0);
    ck_assert_str_eq(rec_since(&r), "");
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 110);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 109), 0);
    ck_assert_str_eq(rec_since(&r), "");
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 110), 0);
    ck_assert_str_eq(rec_since(&r), "110 associate req=2 c=1 alice/t1\n");
    cr_conn_info info;
    cr_conn_get_info(ctx, c, &info);
    ck_assert_uint_eq(info.assoc_attempts, 2);

    ck_assert_int_eq(cr_assoc_complete(ctx, 120, 2, 0), 0);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 140);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 145), 0);
    ck_assert_str_eq(rec_since(&r), "145 associate req=3 c=1 alice/t1\n");

    ck_assert_int_eq(cr_assoc_complete(ctx, 150, 3, 0), 0);
    ck_assert_str_eq(rec_since(&r),
                     "150 report ERROR - err=CR_ESTATE c=1 run=0 alice/t1 seq=0 tag=0\n"
                     "150 notice c=1 SWITCH_FAILED thread=t1 tag=0 err=CR_ESTATE\n"
                     "150 notice c=1 REJECTED thread=- tag=9 err=CR_ESTATE\n"
                     "150 report ERROR - err=CR_ESTATE c=1 run=0 alice/t1 seq=0 tag=9\n");
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.assoc_requested, 3);
    ck_assert_uint_eq(s.assoc_failed, 3);
    ck_assert_uint_eq(s.assoc_retried, 2);
    ck_assert_uint_eq(s.messages_rejected, 1);
    ck_assert_uint_eq(s.messages_queued_now, 0);
    cr_conn_get_info(ctx, c, &info);
    ck_assert_ptr_null(info.assoc_target);
    ck_assert_int_eq(info.state, CR_CONN_PENDING_CONTEXT);
    /* a stale retry answer after giving up is ignored */
    ck_assert_int_eq(cr_assoc_complete(ctx, 160, 2, 1), 0);
    ck_assert_int_eq(rec_state_of(ctx, c), CR_CONN_PENDING_CONTEXT);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Giving up on a switch while bound elsewhere: the connection stays READY
 * on its thread, messages that waited for the switch only are dispatched
 * there, those naming the failed thread are rejected. */
START_TEST(test_core_conn_give_up_while_bound_keeps_old_thread)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "update_retries=1", "update_backoff=5", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_thread_add(ctx, 0, "alice", "t2");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    cr_conn_switch(ctx, 0, c, "t1", 0);
    cr_assoc_complete(ctx, 1, 1, 1);
    cr_conn_switch(ctx, 2, c, "t2", 0);
    cr_message m1 = rec_message(NULL, 0, 1), m2 = rec_message("t2", 0, 2);
    cr_conn_message(ctx, 3, c, &m1, NULL);
    cr_conn_message(ctx, 3, c, &m2, NULL);
    rec_since(&r);
    cr_assoc_complete(ctx, 4, 2, 0);
    cr_ctx_handle_expiry(ctx, 9);
    ck_assert_str_eq(rec_since(&r), "9 associate req=3 c=1 alice/t2\n");
    cr_assoc_complete(ctx, 10, 3, 0);
    ck_assert_str_eq(rec_since(&r),
                     "10 report ERROR - err=CR_ESTATE c=1 run=0 alice/t2 seq=0 tag=0\n"
                     "10 notice c=1 SWITCH_FAILED thread=t2 tag=0 err=CR_ESTATE\n"
                     "10 notice c=1 REJECTED thread=- tag=2 err=CR_ESTATE\n"
                     "10 report ERROR - err=CR_ESTATE c=1 run=0 alice/t2 seq=0 tag=2\n"
                     "10 dispatch c=1 msg=1 alice/t1 tag=1\n");
    cr_conn_info info;
    cr_conn_get_info(ctx, c, &info);
    ck_assert_int_eq(info.state, CR_CONN_READY);
    ck_assert_str_eq(info.thread, "t1");
    ck_assert_uint_eq(info.queued_messages, 0);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* F8 off: a failed association is neither retried nor reported; the
 * connection keeps waiting, and the pending deadline finally closes it,
 * rejecting what it had queued with a report each. */
START_TEST(test_core_conn_assoc_failure_silent_without_retries)
{
    rec r;
    cr_ctx *ctx =
        rec_new_ctx(&r, CR_PROFILE_FIXED, "update_retries=0", "pending_deadline=1000", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    cr_message m = rec_message("t1", 0, 1);
    cr_conn_message(ctx, 0, c, &m, NULL);
    rec_since(&r);
    ck_assert_int_eq(cr_assoc_complete(ctx, 10, 1, 0), 0);
    ck_assert_str_eq(rec_since(&r), "");
    cr_conn_info info;
    cr_conn_get_info(ctx, c, &info);
    ck_assert_str_eq(info.assoc_target, "t1");
    ck_assert_uint_eq(info.queued_messages, 1);
    m = rec_message(NULL, 0, 2);
    ck_assert_int_eq(cr_conn_message(ctx, 20, c, &m, NULL), 0);
    ck_assert_str_eq(rec_since(&r), "");
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.assoc_failed, 1);
    ck_assert_uint_eq(s.assoc_retried, 0);
    ck_assert_uint_eq(s.errors_reported, 0);
    ck_assert_uint_eq(s.messages_queued_now, 2);

    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 1000);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 1000), 0);
    ck_assert_str_eq(rec_since(&r),
                     "1000 notice c=1 CLOSING thread=- tag=0 err=0\n"
                     "1000 close c=1 reason=no context before the pending deadline\n"
                     "1000 report ERROR - err=CR_ECLOSED c=1 run=0 alice/t1 seq=0 tag=1\n"
                     "1000 report ERROR - err=CR_ECLOSED c=1 run=0 alice/- seq=0 tag=2\n");
    s = rec_stats(ctx);
    ck_assert_uint_eq(s.conns_closed_pending_timeout, 1);
    ck_assert_uint_eq(s.messages_rejected, 2);
    ck_assert_uint_eq(s.messages_queued_now, 0);
    ck_assert_int_eq(rec_state_of(ctx, c), CR_CONN_CLOSED);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), CR_TIME_NEVER);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* The pending deadline closes connections that never got context, and
 * never one that was READY once. */
START_TEST(test_core_conn_pending_deadline_spares_ready)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "pending_deadline=100", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id ready = rec_open_auth(ctx, 0, "alice"), never = 0, late = 0;
    cr_conn_open(ctx, 0, &never);
    cr_conn_switch(ctx, 50, ready, "t1", 0);
    cr_assoc_complete(ctx, 60, rec_last_req(&r), 1);
    cr_conn_open(ctx, 70, &late);
    rec_since(&r);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 100);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 500), 0);
    ck_assert_str_eq(rec_since(&r),
                     "500 notice c=2 CLOSING thread=- tag=0 err=0\n"
                     "500 close c=2 reason=no context before the pending deadline\n"
                     "500 notice c=3 CLOSING thread=- tag=0 err=0\n"
                     "500 close c=3 reason=no context before the pending deadline\n");
    ck_assert_int_eq(rec_state_of(ctx, ready), CR_CONN_READY);
    ck_assert_int_eq(rec_state_of(ctx, never), CR_CONN_CLOSED);
    ck_assert_int_eq(rec_state_of(ctx, late), CR_CONN_CLOSED);
    ck_assert_uint_eq(rec_stats(ctx).conns_closed_pending_timeout, 2);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), CR_TIME_NEVER);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Closing rejects every waiting message with a report (the socket is gone:
 * no notice); a second close, or anything after it, changes nothing. */
START_TEST(test_core_conn_close_rejects_waiting_messages)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = 0;
    cr_conn_open(ctx, 0, &c);
    cr_message m1 = rec_message(NULL, 0, 1), m2 = rec_message("t1", 0, 2);
    cr_conn_message(ctx, 1, c, &m1, NULL);
    cr_conn_message(ctx, 2, c, &m2, NULL);
    ck_assert_int_eq(cr_conn_close(ctx, 5, c, CR_CLOSE_CLIENT), 0);
    ck_assert_str_eq(rec_since(&r), "5 report ERROR - err=CR_ECLOSED c=1 run=0 -/- seq=0 tag=1\n"
                                    "5 report ERROR - err=CR_ECLOSED c=1 run=0 -/t1 seq=0 tag=2\n");
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.messages_rejected, 2);
    ck_assert_uint_eq(s.messages_preauth_now, 0);
    ck_assert_uint_eq(s.conns_by_state[CR_CONN_CLOSED], 1);
    ck_assert_uint_eq(s.conns_by_state[CR_CONN_OPEN], 0);
    ck_assert_uint_eq(s.conns_closed_pending_timeout, 0);

    char *before = rec_dump(ctx);
    s = rec_stats(ctx);
    ck_assert_int_eq(cr_conn_close(ctx, 6, c, CR_CLOSE_CLIENT), CR_ECLOSED);
    ck_assert_int_eq(cr_conn_message(ctx, 6, c, &m1, NULL), CR_ECLOSED);
    ck_assert_int_eq(cr_conn_authenticate(ctx, 6, c, "alice"), CR_ECLOSED);
    ck_assert_int_eq(cr_conn_switch(ctx, 6, c, "t1", 0), CR_ECLOSED);
    char *after = rec_dump(ctx);
    ck_assert_str_eq(before, after);
    cr_stats s2 = rec_stats(ctx);
    ck_assert_int_eq(memcmp(&s, &s2, sizeof s), 0);
    ck_assert_str_eq(rec_since(&r), "");
    ck_assert_int_eq(rec_state_of(ctx, c), CR_CONN_CLOSED);
    free(before);
    free(after);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* The association in flight when a connection closes turns stale. */
START_TEST(test_core_conn_close_makes_association_stale)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    cr_conn_switch(ctx, 1, c, "t1", 0);
    cr_conn_close(ctx, 2, c, CR_CLOSE_DISCONNECT);
    rec_since(&r);
    ck_assert_int_eq(cr_assoc_complete(ctx, 3, 1, 1), 0);
    ck_assert_str_eq(rec_since(&r), "");
    int ready = 1;
    cr_ctx_is_ready(ctx, "alice", "t1", &ready);
    ck_assert_int_eq(ready, 0);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* F5 bound: past pending_max every message is refused with CR_EFULL,
 * counted, reported; memory does not grow; the queue drains in order. */
START_TEST(test_core_conn_queue_flood_bounded)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "pending_max=4", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    int full = 0;
    uint64_t bytes_at_bound = 0;
    for (int i = 1; i <= 10; i++) {
        cr_message m = rec_message(i == 1 ? "t1" : NULL, 0, (uint64_t)i);
        int rc = cr_conn_message(ctx, (uint64_t)i, c, &m, NULL);
        ck_assert(rc == 0 || rc == CR_EFULL);
        full += rc == CR_EFULL;
        if (i == 4)
            bytes_at_bound = rec_stats(ctx).bytes_in_use;
    }
    ck_assert_int_eq(full, 6);
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.messages_queued_now, 4);
    ck_assert_uint_eq(s.messages_received, 10);
    ck_assert_uint_eq(s.messages_rejected, 6);
    ck_assert_uint_eq(s.errors_reported, 6);
    ck_assert_uint_eq(s.notices_sent, 0); /* the return code told the host */
    ck_assert_uint_eq(s.bytes_in_use, bytes_at_bound);
    rec_since(&r);
    cr_assoc_complete(ctx, 20, 1, 1);
    ck_assert_str_eq(rec_since(&r), "20 dispatch c=1 msg=1 alice/t1 tag=1\n"
                                    "20 dispatch c=1 msg=2 alice/t1 tag=2\n"
                                    "20 dispatch c=1 msg=3 alice/t1 tag=3\n"
                                    "20 dispatch c=1 msg=4 alice/t1 tag=4\n");
    s = rec_stats(ctx);
    ck_assert_uint_eq(s.messages_received, s.messages_dispatched + s.messages_rejected +
                                               s.messages_queued_now + s.messages_preauth_now);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* F6 bound; and a cached message refused at authentication (the queue is
 * smaller) reaches the client as a notice. */
START_TEST(test_core_conn_preauth_flood_bounded)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "preauth_max=3", "pending_max=2", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = 0;
    cr_conn_open(ctx, 0, &c);
    int full = 0;
    for (int i = 1; i <= 8; i++) {
        cr_message m = rec_message(NULL, 0, (uint64_t)i);
        int rc = cr_conn_message(ctx, 1, c, &m, NULL);
        ck_assert(rc == 0 || rc == CR_EFULL);
        full += rc == CR_EFULL;
    }
    ck_assert_int_eq(full, 5);
    ck_assert_uint_eq(rec_stats(ctx).messages_preauth_now, 3);
    ck_assert_str_eq(rec_since(&r), "1 report ERROR - err=CR_EFULL c=1 run=0 -/- seq=0 tag=4\n"
                                    "1 report ERROR - err=CR_EFULL c=1 run=0 -/- seq=0 tag=5\n"
                                    "1 report ERROR - err=CR_EFULL c=1 run=0 -/- seq=0 tag=6\n"
                                    "1 report ERROR - err=CR_EFULL c=1 run=0 -/- seq=0 tag=7\n"
                                    "1 report ERROR - err=CR_EFULL c=1 run=0 -/- seq=0 tag=8\n");
    ck_assert_int_eq(cr_conn_authenticate(ctx, 2, c, "alice"), 0);
    ck_assert_str_eq(rec_since(&r),
                     "2 notice c=1 REJECTED thread=- tag=3 err=CR_EFULL\n"
                     "2 report ERROR - err=CR_EFULL c=1 run=0 alice/- seq=0 tag=3\n");
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.messages_queued_now, 2);
    ck_assert_uint_eq(s.messages_preauth_now, 0);
    ck_assert_uint_eq(s.messages_rejected, 6);
    ck_assert_uint_eq(s.messages_received, s.messages_dispatched + s.messages_rejected +
                                               s.messages_queued_now + s.messages_preauth_now);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* A FIXED context in which alice's connection (id into *c, c may be NULL)
 * sent m1 (tag 1) naming t1 at 1 and m2 (tag 2) naming t2 at 2, each asking
 * for its association. */
static cr_ctx *queued_t1_then_t2(rec *r, cr_conn_id *c)
{
    cr_ctx *ctx = rec_new_ctx(r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_thread_add(ctx, 0, "alice", "t2");
    cr_conn_id id = rec_open_auth(ctx, 0, "alice");
    cr_message m1 = rec_message("t1", 0, 1), m2 = rec_message("t2", 0, 2);
    cr_conn_message(ctx, 1, id, &m1, NULL);
    cr_conn_message(ctx, 2, id, &m2, NULL);
    if (c)
        *c = id;
    return ctx;
}

/* Queue order is kept across threads, each message on its own binding,
 * and the user's latest thread (the last message's) wins the view: m1
 * names t1, m2 names t2 (superseding t1's association).  t1's superseded
 * answer cannot bind: m1 heads the queue, so t1 is asked for again (t2's
 * request superseded in turn); m1 goes out once t1 is bound, then m2
 * asks for t2 and goes out once bound. */
START_TEST(test_core_conn_queue_keeps_order_across_threads)
{
    rec r;
    cr_conn_id c;
    cr_ctx *ctx = queued_t1_then_t2(&r, &c);
    ck_assert_str_eq(rec_since(&r), "1 associate req=1 c=1 alice/t1\n"
                                    "2 associate req=2 c=1 alice/t2\n");
    ck_assert_int_eq(cr_assoc_complete(ctx, 3, 1, 1), 0); /* superseded: no binding */
    ck_assert_str_eq(rec_since(&r), "3 associate req=3 c=1 alice/t1\n");
    cr_conn_info info;
    cr_conn_get_info(ctx, c, &info);
    ck_assert_int_eq(info.state, CR_CONN_PENDING_CONTEXT); /* not bound to t1 */
    ck_assert_int_eq(cr_assoc_complete(ctx, 4, 2, 1), 0);  /* superseded now */
    ck_assert_str_eq(rec_since(&r), "");
    ck_assert_int_eq(cr_assoc_complete(ctx, 5, 3, 1), 0);
    ck_assert_str_eq(rec_since(&r), "5 dispatch c=1 msg=1 alice/t1 tag=1\n"
                                    "5 associate req=4 c=1 alice/t2\n");
    ck_assert_int_eq(cr_assoc_complete(ctx, 6, 4, 1), 0);
    ck_assert_str_eq(rec_since(&r), "6 dispatch c=1 msg=2 alice/t2 tag=2\n");
    cr_conn_get_info(ctx, c, &info);
    ck_assert_str_eq(info.thread, "t2");
    ck_assert_uint_eq(info.generation, 2);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* One tab names t1, t2, t1, t3, t1 before any association lands (each
 * asks for its association at once).  Each queued message goes out only
 * once the connection is bound to its thread, re-associating in queue
 * order; the events of each run reach the connection; once the queue
 * drains the connection is bound to t1, the thread of the last message
 * (the second binding used to flush t1, t3, t1 with their own context
 * while the connection stayed on t2). */
START_TEST(test_core_conn_queue_rebinds_in_order)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "pending_deadline=0", NULL);
    const char *order[] = {"t1", "t2", "t1", "t3", "t1"};
    enum { N = 5 };
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_thread_add(ctx, 0, "alice", "t2");
    cr_thread_add(ctx, 0, "alice", "t3");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    for (int i = 0; i < N; i++) {
        cr_message m = rec_message(order[i], 0, (uint64_t)i + 1);
        ck_assert_int_eq(cr_conn_message(ctx, 1 + (uint64_t)i, c, &m, NULL), 0);
    }
    ck_assert_uint_eq(rec_stats(ctx).messages_queued_now, N);
    rec_since(&r);
    /* the live association (the last message's, t1) lands first */
    uint64_t t = 10;
    uint64_t req = rec_last_req(&r);
    for (int i = 0; i < N; i++, t += 10) {
        ck_assert_int_eq(cr_assoc_complete(ctx, t, req, 1), 0);
        char want[256];
        int n = snprintf(want, sizeof want, "%llu dispatch c=1 msg=%d alice/%s tag=%d\n",
                         (unsigned long long)t, i + 1, order[i], i + 1);
        if (i + 1 < N)
            snprintf(want + n, sizeof want - (size_t)n, "%llu associate req=%llu c=1 alice/%s\n",
                     (unsigned long long)t, (unsigned long long)req + 1, order[i + 1]);
        ck_assert_str_eq(rec_since(&r), want);
        cr_conn_info info;
        cr_conn_get_info(ctx, c, &info);
        ck_assert_int_eq(info.state, CR_CONN_READY);
        ck_assert_str_eq(info.thread, order[i]);
        ck_assert_uint_eq(info.queued_messages, (size_t)(N - 1 - i));
        /* the run of the message just dispatched emits while the
         * connection is still bound to its thread: delivered */
        cr_run_id run = 0;
        ck_assert_int_eq(cr_run_start(ctx, t + 1, (uint64_t)i + 1, &run), 0);
        cr_event_in ev = {0, 100 + (uint64_t)i, "p", 1};
        cr_outcome o = CR_OUTCOME_COUNT;
        ck_assert_int_eq(cr_run_emit(ctx, t + 2, run, &ev, NULL, &o), 0);
        ck_assert_int_eq(o, CR_OUTCOME_DELIVERED);
        rec_since(&r);
        req = rec_last_req(&r);
    }
    cr_conn_info info;
    cr_conn_get_info(ctx, c, &info);
    ck_assert_str_eq(info.thread, "t1");
    ck_assert_ptr_null(info.assoc_target);
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], N);
    ck_assert_uint_eq(s.messages_dispatched, N);
    ck_assert_uint_eq(s.messages_queued_now, 0);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* A message that could go at once still waits behind older queued
 * messages of its connection (the queue is FIFO): the connection binds t2
 * first (m2 waits behind m1, which asks for t1 again), then m3 for t2
 * arrives, which the bound connection could take at once; it goes out
 * only after m1 and m2 (reordered_messages found this race in the
 * simulator: m3 used to overtake m1). */
START_TEST(test_core_conn_ready_message_waits_behind_queue)
{
    rec r;
    cr_conn_id c;
    cr_ctx *ctx = queued_t1_then_t2(&r, &c);
    rec_since(&r);
    ck_assert_int_eq(cr_assoc_complete(ctx, 3, 2, 1), 0); /* t2 lands first */
    /* m1 heads the queue: t1 again */
    ck_assert_str_eq(rec_since(&r), "3 associate req=3 c=1 alice/t1\n");
    cr_conn_info info;
    cr_conn_get_info(ctx, c, &info);
    ck_assert_str_eq(info.thread, "t2");
    cr_message m3 = rec_message("t2", 0, 3);
    ck_assert_int_eq(cr_conn_message(ctx, 4, c, &m3, NULL), 0);
    ck_assert_str_eq(rec_since(&r), "");                  /* behind m1 (and m2) */
    ck_assert_int_eq(cr_assoc_complete(ctx, 5, 1, 1), 0); /* t1's superseded answer */
    ck_assert_str_eq(rec_since(&r), "");
    ck_assert_int_eq(cr_assoc_complete(ctx, 6, 3, 1), 0);
    ck_assert_str_eq(rec_since(&r), "6 dispatch c=1 msg=1 alice/t1 tag=1\n"
                                    "6 associate req=4 c=1 alice/t2\n");
    ck_assert_int_eq(cr_assoc_complete(ctx, 7, 4, 1), 0);
    ck_assert_str_eq(rec_since(&r), "7 dispatch c=1 msg=2 alice/t2 tag=2\n"
                                    "7 dispatch c=1 msg=3 alice/t2 tag=3\n");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* The superseded association fails: the waiting message asks for its own
 * thread again at once, and goes out when it lands; then the next. */
START_TEST(test_core_conn_queue_superseded_failure_reasks)
{
    rec r;
    cr_ctx *ctx = queued_t1_then_t2(&r, NULL);
    rec_since(&r);
    ck_assert_int_eq(cr_assoc_complete(ctx, 3, 1, 0), 0); /* superseded and failed */
    ck_assert_str_eq(rec_since(&r), "3 associate req=3 c=1 alice/t1\n");
    ck_assert_int_eq(cr_assoc_complete(ctx, 4, 2, 1), 0); /* superseded in turn */
    ck_assert_str_eq(rec_since(&r), "");
    ck_assert_int_eq(cr_assoc_complete(ctx, 5, 3, 1), 0);
    ck_assert_str_eq(rec_since(&r), "5 dispatch c=1 msg=1 alice/t1 tag=1\n"
                                    "5 associate req=4 c=1 alice/t2\n");
    ck_assert_int_eq(cr_assoc_complete(ctx, 6, 4, 1), 0);
    ck_assert_str_eq(rec_since(&r), "6 dispatch c=1 msg=2 alice/t2 tag=2\n");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* The superseded association fails after the latest has landed: the
 * waiting message has already asked for its own thread again when t2
 * landed; the failure changes nothing.  It used to wait forever, holding
 * up the queue behind it (found by `ctxsim check`: msg t1, msg t2, ok t2,
 * fail t1). */
START_TEST(test_core_conn_queue_superseded_failure_after_landing)
{
    rec r;
    cr_ctx *ctx = queued_t1_then_t2(&r, NULL);
    rec_since(&r);
    ck_assert_int_eq(cr_assoc_complete(ctx, 3, 2, 1), 0);
    ck_assert_str_eq(rec_since(&r), "3 associate req=3 c=1 alice/t1\n");
    ck_assert_int_eq(cr_assoc_complete(ctx, 4, 1, 0), 0);
    ck_assert_str_eq(rec_since(&r), "");
    ck_assert_int_eq(cr_assoc_complete(ctx, 5, 3, 1), 0);
    ck_assert_str_eq(rec_since(&r), "5 dispatch c=1 msg=1 alice/t1 tag=1\n"
                                    "5 associate req=4 c=1 alice/t2\n");
    ck_assert_int_eq(cr_assoc_complete(ctx, 6, 4, 1), 0);
    ck_assert_str_eq(rec_since(&r), "6 dispatch c=1 msg=2 alice/t2 tag=2\n");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* A message queued before a later switch whose thread cannot be established
 * by its own (superseded, failed) association asks for it again once the
 * switch landed: that association establishes the thread's context without
 * rebinding the connection (the switch wins the view), the message goes out
 * with (user, its thread), and the connection stays on the thread the user
 * chose last (swarm finding core_reask_rebinds_away: the re-ask used to
 * rebind the connection to the message's thread, silently). */
START_TEST(test_core_conn_reask_after_switch_does_not_rebind)
{
    for (int fail = 0; fail <= 1; fail++) {
        rec r;
        cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "update_retries=1", NULL);
        cr_thread_add(ctx, 0, "alice", "t1");
        cr_thread_add(ctx, 0, "alice", "t3");
        cr_conn_id c = rec_open_auth(ctx, 0, "alice");
        cr_message m = rec_message("t3", 0, 7);
        ck_assert_int_eq(cr_conn_message(ctx, 1, c, &m, NULL), 0); /* req 1: t3 */
        ck_assert_int_eq(cr_conn_switch(ctx, 2, c, "t1", 0), 0);   /* req 2: t1 */
        ck_assert_int_eq(cr_assoc_complete(ctx, 3, 1, 0), 0);      /* t3's, superseded, fails */
        rec_since(&r);
        ck_assert_int_eq(cr_assoc_complete(ctx, 4, 2, 1), 0); /* t1 lands: the message re-asks */
        ck_assert_str_eq(rec_since(&r), "4 associate req=3 c=1 alice/t3\n"
                                        "4 notice c=1 SWITCHED thread=t1 tag=0 err=0\n");
        cr_conn_info in;
        ck_assert_int_eq(cr_conn_get_info(ctx, c, &in), 0);
        ck_assert_str_eq(in.assoc_target, "t3");
        ck_assert_int_eq(in.assoc_establish_only, 1);
        ck_assert_str_eq(in.thread, "t1");
        if (!fail) {
            ck_assert_int_eq(cr_assoc_complete(ctx, 5, 3, 1), 0);
            ck_assert_str_eq(rec_since(&r), "5 dispatch c=1 msg=1 alice/t3 tag=7\n");
        } else {
            ck_assert_int_eq(cr_assoc_complete(ctx, 5, 3, 0), 0); /* retried once (F8) */
            ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 1000 * CR_NS_PER_MS), 0);
            ck_assert_int_eq(cr_assoc_complete(ctx, 1000 * CR_NS_PER_MS, 4, 0), 0); /* gives up */
            const char *out = rec_since(&r);
            ck_assert_msg(strstr(out, "notice c=1 REJECTED thread=- tag=7 err=CR_ESTATE"), "%s",
                          out);
            ck_assert_ptr_null(strstr(out, "SWITCH_FAILED"));
        }
        ck_assert_int_eq(cr_conn_get_info(ctx, c, &in), 0);
        ck_assert_int_eq(in.state, CR_CONN_READY);
        ck_assert_str_eq(in.thread, "t1");
        ck_assert_uint_eq(in.generation, 1);
        ck_assert_ptr_null(in.assoc_target);
        ck_assert_uint_eq(in.queued_messages, 0);
        int ready = 0;
        ck_assert_int_eq(cr_ctx_is_ready(ctx, "alice", "t1", &ready), 0);
        ck_assert_int_eq(ready, 1);
        cr_ctx_del(ctx);
        rec_free(&r);
    }
}
END_TEST

/* F5 off: a message that is not ready is dispatched at once with the
 * connection's current context. */
START_TEST(test_core_conn_no_queue_dispatches_current_context)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "queue_until_context=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_thread_add(ctx, 0, "alice", "t2");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    cr_message m = rec_message("t1", 0, 1);
    cr_conn_message(ctx, 1, c, &m, NULL);
    ck_assert_str_eq(rec_since(&r), "1 associate req=1 c=1 alice/t1\n"
                                    "1 dispatch c=1 msg=1 alice/- tag=1\n");
    cr_assoc_complete(ctx, 2, 1, 1);
    m = rec_message("t2", 0, 2);
    cr_conn_message(ctx, 3, c, &m, NULL);
    ck_assert_str_eq(rec_since(&r), "3 associate req=2 c=1 alice/t2\n"
                                    "3 dispatch c=1 msg=2 alice/t1 tag=2\n");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* The misuse table: each call fails with its code and changes nothing
 * (dump, stats and output identical before and after). */
/* The name tables cover every value, and say so for values outside them. */
START_TEST(test_core_conn_names_of_every_value)
{
    ck_assert_str_eq(cr_errname(CR_EREENTRANT), "CR_EREENTRANT");
    ck_assert_str_eq(cr_strerror(CR_EREENTRANT),
                     "called from inside a callback of the same context");
    ck_assert_str_eq(cr_errname(0), "0");
    ck_assert_str_eq(cr_errname(-99), "CR_E?");
    ck_assert_str_eq(cr_strerror(-99), "unknown error");
    ck_assert_str_eq(cr_conn_state_name((cr_conn_state)9), "?");
    ck_assert_str_eq(cr_close_reason_name((cr_close_reason)9), "?");
    ck_assert_str_eq(cr_outcome_name(CR_OUTCOME_COUNT), "?");
    ck_assert_str_eq(cr_close_reason_name(CR_CLOSE_SERVER), "server shutdown");
    for (int e = -1; e >= CR_EREENTRANT; e--)
        ck_assert_str_ne(cr_errname(e), "CR_E?");
}
END_TEST

START_TEST(test_core_conn_misuse_changes_nothing)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "max_payload=8", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_thread_add(ctx, 0, "bob", "t9");
    cr_conn_id a = rec_open_auth(ctx, 0, "alice"), o = 0;
    cr_conn_open(ctx, 0, &o);
    cr_conn_id gone = rec_open_auth(ctx, 0, "alice");
    cr_conn_close(ctx, 0, gone, CR_CLOSE_CLIENT);
    cr_message q = rec_message("t1", 0, 1);
    uint64_t mid = 0;
    cr_conn_message(ctx, 1, a, &q, &mid);
    cr_assoc_complete(ctx, 2, 1, 1);
    cr_run_id run = 0, ended = 0;
    cr_run_start(ctx, 3, mid, &run);
    cr_run_start_for(ctx, 3, "alice", "t1", &ended);
    cr_run_end(ctx, 3, ended);
    rec_since(&r);

    char long_id[CR_ID_MAX + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    char max_id[CR_ID_MAX + 1];
    memset(max_id, 'y', sizeof max_id - 1);
    max_id[sizeof max_id - 1] = '\0';
    cr_message bad_len = {NULL, 0, 1, "x", 0}, too_big = {NULL, 0, 1, "123456789", 9};
    cr_message null_payload = {NULL, 0, 1, NULL, 3}, empty_thread = {"", 0, 1, "x", 1};
    cr_message long_thread = {long_id, 0, 1, "x", 1};
    cr_event_in ev = {0, 1, "x", 1}, ev_big = {0, 1, "123456789", 9};
    int ready;
    cr_conn_info info;

    char *before = rec_dump(ctx);
    cr_stats s0 = rec_stats(ctx);
    uint64_t t = 10;
    struct {
        int got, want;
    } calls[] = {
        {cr_conn_message(ctx, t, 99, &q, NULL), CR_ENOTFOUND},
        {cr_conn_message(ctx, t, 0, &q, NULL), CR_ENOTFOUND},
        {cr_conn_message(ctx, t, gone, &q, NULL), CR_ECLOSED},
        {cr_conn_message(ctx, t, a, NULL, NULL), CR_EINVAL},
        {cr_conn_message(ctx, t, a, &bad_len, NULL), CR_EINVAL},
        {cr_conn_message(ctx, t, a, &too_big, NULL), CR_ETOOBIG},
        {cr_conn_message(ctx, t, a, &null_payload, NULL), CR_EINVAL},
        {cr_conn_message(ctx, t, a, &empty_thread, NULL), CR_EINVAL},
        {cr_conn_message(ctx, t, a, &long_thread, NULL), CR_EINVAL},
        {cr_conn_message(NULL, t, a, &q, NULL), CR_EINVAL},
        {cr_conn_authenticate(ctx, t, 99, "alice"), CR_ENOTFOUND},
        {cr_conn_authenticate(ctx, t, a, "alice"), CR_ESTATE},
        {cr_conn_authenticate(ctx, t, o, NULL), CR_EINVAL},
        {cr_conn_authenticate(ctx, t, o, ""), CR_EINVAL},
        {cr_conn_authenticate(ctx, t, o, long_id), CR_EINVAL},
        {cr_conn_switch(ctx, t, 99, "t1", 0), CR_ENOTFOUND},
        {cr_conn_switch(ctx, t, o, "t1", 0), CR_ESTATE},
        {cr_conn_switch(ctx, t, a, NULL, 0), CR_EINVAL},
        {cr_conn_switch(ctx, t, gone, "t1", 0), CR_ECLOSED},
        {cr_conn_close(ctx, t, 99, CR_CLOSE_CLIENT), CR_ENOTFOUND},
        {cr_conn_close(ctx, t, gone, CR_CLOSE_CLIENT), CR_ECLOSED},
        {cr_conn_close(ctx, t, a, (cr_close_reason)42), CR_EINVAL},
        {cr_assoc_complete(ctx, t, 0, 1), CR_ENOTFOUND},
        {cr_assoc_complete(ctx, t, 1000, 1), CR_ENOTFOUND},
        {cr_run_start(ctx, t, 999, &run), CR_ENOTFOUND},
        {cr_run_start(ctx, t, mid, &run), CR_ENOTFOUND}, /* already started */
        {cr_run_start_for(ctx, t, "alice", "t9", &run), CR_EFOREIGN},
        {cr_run_start_for(ctx, t, "carol", "t1", &run), CR_EFOREIGN},
        {cr_run_start_for(ctx, t, NULL, "t1", &run), CR_EINVAL},
        {cr_run_start_for(ctx, t, "alice", long_id, &run), CR_EINVAL},
        {cr_run_emit(ctx, t, 999, &ev, NULL, NULL), CR_ENOTFOUND},
        {cr_run_emit(ctx, t, ended, &ev, NULL, NULL), CR_ESTATE},
        {cr_run_emit(ctx, t, run, &ev_big, NULL, NULL), CR_ETOOBIG},
        {cr_run_emit(ctx, t, run, NULL, NULL, NULL), CR_EINVAL},
        {cr_run_end(ctx, t, 999), CR_ENOTFOUND},
        {cr_run_end(ctx, t, ended), CR_ENOTFOUND},
        {cr_msg_release(ctx, 999), CR_ENOTFOUND},
        {cr_msg_release(ctx, mid), CR_ENOTFOUND},
        {cr_thread_add(ctx, t, "alice", ""), CR_EINVAL},
        {cr_thread_add(ctx, t, NULL, "t1"), CR_EINVAL},
        {cr_thread_add(ctx, t, long_id, "t1"), CR_EINVAL},
        {cr_ctx_is_ready(ctx, "alice", NULL, &ready), CR_EINVAL},
        {cr_ctx_is_ready(ctx, "alice", "t1", NULL), CR_EINVAL},
        {cr_conn_get_info(ctx, 99, &info), CR_ENOTFOUND},
        {cr_conn_get_info(ctx, 0, &info), CR_ENOTFOUND},
        {cr_conn_open(ctx, t, NULL), CR_EINVAL},
        {cr_ctx_handle_expiry(NULL, t), CR_EINVAL},
        {cr_conn_get_info(NULL, a, &info), CR_EINVAL},
        {cr_conn_get_info(ctx, a, NULL), CR_EINVAL},
        {cr_conn_close(NULL, t, a, CR_CLOSE_CLIENT), CR_EINVAL},
        {cr_conn_switch(NULL, t, a, "t1", 0), CR_EINVAL},
        {cr_conn_authenticate(NULL, t, o, "bob"), CR_EINVAL},
        {cr_conn_open(NULL, t, &o), CR_EINVAL},
        {cr_assoc_complete(NULL, t, 1, 1), CR_EINVAL},
        {cr_run_start(NULL, t, mid, &run), CR_EINVAL},
        {cr_run_start_for(NULL, t, "alice", "t1", &run), CR_EINVAL},
        {cr_run_emit(NULL, t, run, &ev, NULL, NULL), CR_EINVAL},
        {cr_run_end(NULL, t, run), CR_EINVAL},
        {cr_msg_release(NULL, mid), CR_EINVAL},
        {cr_thread_add(NULL, t, "alice", "t1"), CR_EINVAL},
        {cr_thread_remove(ctx, t, "alice", "t9"), CR_ENOTFOUND},
        {cr_thread_remove(ctx, t, "alice", "t1"), CR_ESTATE}, /* a is associating to it */
        /* time going backwards */
        {cr_conn_open(ctx, 2, &o), CR_ETIME},
        {cr_conn_message(ctx, 2, a, &q, NULL), CR_ETIME},
        {cr_conn_switch(ctx, 2, a, "t1", 0), CR_ETIME},
        {cr_conn_close(ctx, 2, a, CR_CLOSE_CLIENT), CR_ETIME},
        {cr_conn_authenticate(ctx, 2, o, "bob"), CR_ETIME},
        {cr_assoc_complete(ctx, 2, 1, 1), CR_ETIME},
        {cr_thread_add(ctx, 2, "alice", "t5"), CR_ETIME},
        {cr_run_start_for(ctx, 2, "alice", "t1", &run), CR_ETIME},
        {cr_run_emit(ctx, 2, run, &ev, NULL, NULL), CR_ETIME},
        {cr_run_end(ctx, 2, run), CR_ETIME},
        {cr_ctx_handle_expiry(ctx, 2), CR_ETIME},
        {cr_thread_remove(ctx, 2, "bob", "t9"), CR_ETIME},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        ck_assert_msg(calls[i].got == calls[i].want, "call %zu: got %s, want %s", i,
                      cr_errname(calls[i].got), cr_errname(calls[i].want));
    char *after = rec_dump(ctx);
    ck_assert_str_eq(before, after);
    cr_stats s1 = rec_stats(ctx);
    ck_assert_int_eq(memcmp(&s0, &s1, sizeof s0), 0);
    ck_assert_str_eq(rec_since(&r), "");
    /* a valid identifier of exactly CR_ID_MAX bytes is fine */
    ck_assert_int_eq(cr_thread_add(ctx, t, max_id, max_id), 0);
    ck_assert_int_eq(cr_ctx_is_ready(ctx, max_id, max_id, &ready), 0);
    ck_assert_int_eq(ready, 0);
    free(before);
    free(after);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Adding a thread twice is idempotent; ownership is per user. */
START_TEST(test_core_conn_thread_add_idempotent_and_per_user)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    ck_assert_int_eq(cr_thread_add(ctx, 0, "alice", "t"), 0);
    uint64_t bytes = rec_stats(ctx).bytes_in_use;
    ck_assert_int_eq(cr_thread_add(ctx, 1, "alice", "t"), 0);
    ck_assert_uint_eq(rec_stats(ctx).bytes_in_use, bytes);
    cr_conn_id b = rec_open_auth(ctx, 2, "bob");
    ck_assert_int_eq(cr_conn_switch(ctx, 3, b, "t", 0), CR_EFOREIGN);
    ck_assert_int_eq(cr_thread_add(ctx, 4, "bob", "t"), 0);
    ck_assert_int_eq(cr_conn_switch(ctx, 5, b, "t", 0), 0);
    cr_assoc_complete(ctx, 6, rec_last_req(&r), 1);
    int ready = 0;
    cr_ctx_is_ready(ctx, "bob", "t", &ready);
    ck_assert_int_eq(ready, 1);
    cr_ctx_is_ready(ctx, "alice", "t", &ready);
    ck_assert_int_eq(ready, 0);
    cr_ctx_is_ready(ctx, "nobody", "t", &ready);
    ck_assert_int_eq(ready, 0);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

static Suite *conn_suite(void)
{
    Suite *s = suite_create("core_conn");
    TCase *tc = tcase_create("conn");
    tcase_add_test(tc, test_core_conn_open_assigns_increasing_ids);
    tcase_add_test(tc, test_core_conn_authenticate_moves_to_pending_context);
    tcase_add_test(tc, test_core_conn_message_fixed_associates_then_dispatches);
    tcase_add_test(tc, test_core_conn_message_legacy_associates_at_run_go);
    tcase_add_test(tc, test_core_conn_preauth_cache_replayed_in_order);
    tcase_add_test(tc, test_core_conn_preauth_replay_many_associations);
    tcase_add_test(tc, test_core_conn_waiting_message_keeps_payload_and_time);
    tcase_add_test(tc, test_core_conn_preauth_legacy_dispatches_without_context);
    tcase_add_test(tc, test_core_conn_foreign_thread_refused);
    tcase_add_test(tc, test_core_conn_switch_notice_after_binding);
    tcase_add_test(tc, test_core_conn_switch_needs_authentication);
    tcase_add_test(tc, test_core_conn_switch_keeps_old_thread_until_bound);
    tcase_add_test(tc, test_core_conn_stale_association_ignored);
    tcase_add_test(tc, test_core_conn_generation_counts_bindings);
    tcase_add_test(tc, test_core_conn_assoc_retry_backoff_then_give_up);
    tcase_add_test(tc, test_core_conn_give_up_while_bound_keeps_old_thread);
    tcase_add_test(tc, test_core_conn_assoc_failure_silent_without_retries);
    tcase_add_test(tc, test_core_conn_pending_deadline_spares_ready);
    tcase_add_test(tc, test_core_conn_close_rejects_waiting_messages);
    tcase_add_test(tc, test_core_conn_close_makes_association_stale);
    tcase_add_test(tc, test_core_conn_queue_flood_bounded);
    tcase_add_test(tc, test_core_conn_preauth_flood_bounded);
    tcase_add_test(tc, test_core_conn_queue_keeps_order_across_threads);
    tcase_add_test(tc, test_core_conn_queue_rebinds_in_order);
    tcase_add_test(tc, test_core_conn_queue_superseded_failure_reasks);
    tcase_add_test(tc, test_core_conn_queue_superseded_failure_after_landing);
    tcase_add_test(tc, test_core_conn_ready_message_waits_behind_queue);
    tcase_add_test(tc, test_core_conn_no_queue_dispatches_current_context);
    tcase_add_test(tc, test_core_conn_misuse_changes_nothing);
    tcase_add_test(tc, test_core_conn_names_of_every_value);
    tcase_add_test(tc, test_core_conn_reask_after_switch_does_not_rebind);
    tcase_add_test(tc, test_core_conn_thread_add_idempotent_and_per_user);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(conn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
