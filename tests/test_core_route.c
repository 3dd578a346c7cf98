/*
 * test_core_route.c - runs and routing: validation with grace (F2), late
 * association (F1 off), live delivery, the replay buffer with its bounds
 * and TTL (F4), the pending pool (F7), non-delivery accounting and
 * fallback (F9), replay since last_seq, isolation between users, and
 * "every event has exactly one outcome" over generated scenarios.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "tests/lib/core_rec.h"

/* ------------------------------------------------------------------------ */
/* Binds c to thread (switch + successful completion) at `now`. */
static void bind_to(cr_ctx *ctx, rec *r, cr_conn_id c, const char *thread, uint64_t now,
                    uint64_t last_seq)
{
    ck_assert_int_eq(cr_conn_switch(ctx, now, c, thread, last_seq), 0);
    ck_assert_int_eq(cr_assoc_complete(ctx, now, rec_last_req(r), 1), 0);
}

/* Runs every core deadline up to `to`, each at its own time. */
static void advance(cr_ctx *ctx, uint64_t to)
{
    uint64_t t;
    while ((t = cr_ctx_get_expiry(ctx)) <= to)
        CHECK(cr_ctx_handle_expiry(ctx, t) == 0);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, to), 0);
}

static int emit(cr_ctx *ctx, uint64_t now, cr_run_id run, uint64_t tag, cr_outcome *o,
                uint64_t *seq)
{
    cr_event_in ev = {0, tag, "p", 1};
    return cr_run_emit(ctx, now, run, &ev, seq, o);
}

/* A stream whose binding landed once but that has no READY connection:
 * runs on it go at once, their events have nobody to go to. */
static cr_run_id established_empty_stream(cr_ctx *ctx, rec *r, const char *user, const char *thread,
                                          uint64_t now)
{
    cr_conn_id c = rec_open_auth(ctx, now, user);
    bind_to(ctx, r, c, thread, now, 0);
    ck_assert_int_eq(cr_conn_close(ctx, now, c, CR_CLOSE_CLIENT), 0);
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, now, user, thread, &run), 0);
    rec_since(r);
    return run;
}

START_TEST(test_core_route_delivers_to_ready_conns_in_binding_order)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c1 = rec_open_auth(ctx, 0, "alice"), c2 = rec_open_auth(ctx, 0, "alice"),
               c3 = rec_open_auth(ctx, 0, "alice");
    bind_to(ctx, &r, c1, "t1", 1, 0);
    bind_to(ctx, &r, c3, "t1", 2, 0);
    bind_to(ctx, &r, c2, "t1", 3, 0);
    cr_run_id run = 0;
    cr_run_start_for(ctx, 4, "alice", "t1", &run);
    rec_since(&r);
    cr_outcome o;
    uint64_t seq;
    ck_assert_int_eq(emit(ctx, 5, run, 1, &o, &seq), 0);
    ck_assert_int_eq(o, CR_OUTCOME_DELIVERED);
    ck_assert_uint_eq(seq, 1);
    ck_assert_str_eq(rec_since(&r), "5 deliver c=1 alice/t1 run=1 seq=1 gen=1 flags=0 tag=1\n"
                                    "5 deliver c=3 alice/t1 run=1 seq=1 gen=1 flags=0 tag=1\n"
                                    "5 deliver c=2 alice/t1 run=1 seq=1 gen=1 flags=0 tag=1\n");
    ck_assert_int_eq(emit(ctx, 6, run, 2, &o, &seq), 0);
    ck_assert_uint_eq(seq, 2);
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 2); /* one outcome per event */
    ck_assert_uint_eq(s.events_emitted, 2);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* F4: with nobody ready the events wait; the binding replays them, flagged,
 * as buffered_delivered, then live events follow with no gap. */
START_TEST(test_core_route_buffers_until_ready_then_replays)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_run_id run = established_empty_stream(ctx, &r, "alice", "t1", 1);
    cr_outcome o;
    uint64_t seq;
    ck_assert_int_eq(emit(ctx, 4, run, 11, &o, &seq), 0);
    ck_assert_int_eq(o, CR_OUTCOME_COUNT);
    ck_assert_uint_eq(seq, 1);
    ck_assert_int_eq(emit(ctx, 5, run, 12, &o, &seq), 0);
    ck_assert_int_eq(o, CR_OUTCOME_COUNT);
    ck_assert_str_eq(rec_since(&r), "");
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.events_buffered_now, 2);
    ck_assert_uint_eq(s.buffer_events_now, 2);
    ck_assert_uint_eq(s.buffer_bytes_now, 2);

    cr_conn_id c2 = rec_open_auth(ctx, 6, "alice");
    ck_assert_int_eq(cr_conn_switch(ctx, 7, c2, "t1", 0), 0);
    ck_assert_int_eq(cr_assoc_complete(ctx, 9, rec_last_req(&r), 1), 0);
    ck_assert_str_eq(rec_since(&r),
                     "7 associate req=2 c=2 alice/t1\n"
                     "9 deliver c=2 alice/t1 run=1 seq=1 gen=1 flags=1 tag=11\n"
                     "9 report OUTCOME buffered_delivered err=0 c=2 run=1 alice/t1 seq=1 tag=11\n"
                     "9 deliver c=2 alice/t1 run=1 seq=2 gen=1 flags=1 tag=12\n"
                     "9 report OUTCOME buffered_delivered err=0 c=2 run=1 alice/t1 seq=2 tag=12\n"
                     "9 notice c=2 SWITCHED thread=t1 tag=0 err=0\n");
    s = rec_stats(ctx);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_BUFFERED_DELIVERED], 2);
    ck_assert_uint_eq(s.buffer_delay.count, 2);
    ck_assert_uint_eq(s.buffer_delay.sum, (9 - 4) + (9 - 5));
    ck_assert_uint_eq(s.buffer_delay.min, 9 - 5);
    ck_assert_uint_eq(s.buffer_delay.max, 9 - 4);
    ck_assert_uint_eq(s.events_buffered_now, 0);
    ck_assert_uint_eq(s.buffer_events_now, 2); /* kept as history */

    ck_assert_int_eq(emit(ctx, 10, run, 13, &o, &seq), 0);
    ck_assert_int_eq(o, CR_OUTCOME_DELIVERED);
    ck_assert_str_eq(rec_since(&r), "10 deliver c=2 alice/t1 run=1 seq=3 gen=1 flags=0 tag=13\n");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Reconnect: the new connection gives the last seq it saw and gets exactly
 * what followed (no gap, no duplicate); a fresh one gets the history. */
START_TEST(test_core_route_replay_since_last_seq)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c1 = rec_open_auth(ctx, 0, "alice");
    bind_to(ctx, &r, c1, "t1", 1, 0);
    cr_run_id run = 0;
    cr_run_start_for(ctx, 2, "alice", "t1", &run);
    for (uint64_t i = 1; i <= 3; i++)
        emit(ctx, 2 + i, run, i, NULL, NULL);
    cr_conn_close(ctx, 6, c1, CR_CLOSE_DISCONNECT);
    emit(ctx, 7, run, 4, NULL, NULL);
    emit(ctx, 8, run, 5, NULL, NULL);
    rec_since(&r);

    cr_conn_id c2 = rec_open_auth(ctx, 9, "alice");
    cr_conn_switch(ctx, 9, c2, "t1", 3);
    cr_assoc_complete(ctx, 10, rec_last_req(&r), 1);
    emit(ctx, 11, run, 6, NULL, NULL);
    ck_assert_str_eq(rec_since(&r),
                     "9 associate req=2 c=2 alice/t1\n"
                     "10 deliver c=2 alice/t1 run=1 seq=4 gen=1 flags=1 tag=4\n"
                     "10 report OUTCOME buffered_delivered err=0 c=2 run=1 alice/t1 seq=4 tag=4\n"
                     "10 deliver c=2 alice/t1 run=1 seq=5 gen=1 flags=1 tag=5\n"
                     "10 report OUTCOME buffered_delivered err=0 c=2 run=1 alice/t1 seq=5 tag=5\n"
                     "10 notice c=2 SWITCHED thread=t1 tag=0 err=0\n"
                     "11 deliver c=2 alice/t1 run=1 seq=6 gen=1 flags=0 tag=6\n");

    cr_conn_id c3 = rec_open_auth(ctx, 12, "alice");
    bind_to(ctx, &r, c3, "t1", 13, 0);
    ck_assert_str_eq(rec_since(&r), "13 associate req=3 c=3 alice/t1\n"
                                    "13 deliver c=3 alice/t1 run=1 seq=1 gen=1 flags=1 tag=1\n"
                                    "13 deliver c=3 alice/t1 run=1 seq=2 gen=1 flags=1 tag=2\n"
                                    "13 deliver c=3 alice/t1 run=1 seq=3 gen=1 flags=1 tag=3\n"
                                    "13 deliver c=3 alice/t1 run=1 seq=4 gen=1 flags=1 tag=4\n"
                                    "13 deliver c=3 alice/t1 run=1 seq=5 gen=1 flags=1 tag=5\n"
                                    "13 deliver c=3 alice/t1 run=1 seq=6 gen=1 flags=1 tag=6\n"
                                    "13 notice c=3 SWITCHED thread=t1 tag=0 err=0\n");
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], 4);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_BUFFERED_DELIVERED], 2);
    ck_assert_uint_eq(s.events_emitted, 6);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* An undelivered buffered event expires when its age reaches event_ttl;
 * delivered history ages out silently. */
START_TEST(test_core_route_ttl_expires_buffered_events)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "event_ttl=100", "fallback_notify=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_run_id run = established_empty_stream(ctx, &r, "alice", "t1", 1);
    cr_outcome o;
    emit(ctx, 10, run, 5, &o, NULL);
    ck_assert_int_eq(o, CR_OUTCOME_COUNT);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 110);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 109), 0);
    ck_assert_str_eq(rec_since(&r), "");
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 110), 0);
    ck_assert_str_eq(rec_since(&r),
                     "110 report OUTCOME expired err=0 c=0 run=1 alice/t1 seq=1 tag=5\n");
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_EXPIRED], 1);
    ck_assert_uint_eq(s.events_buffered_now, 0);
    ck_assert_uint_eq(s.buffer_events_now, 0);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), CR_TIME_NEVER);

    /* history: delivered at 200, gone silently at 300 */
    cr_conn_id c = rec_open_auth(ctx, 150, "alice");
    bind_to(ctx, &r, c, "t1", 150, 1);
    emit(ctx, 200, run, 6, &o, NULL);
    ck_assert_int_eq(o, CR_OUTCOME_DELIVERED);
    ck_assert_uint_eq(rec_stats(ctx).buffer_events_now, 1);
    rec_since(&r);
    advance(ctx, 300);
    ck_assert_str_eq(rec_since(&r), "");
    ck_assert_uint_eq(rec_stats(ctx).buffer_events_now, 0);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* A binding at the very instant an event expires finds it expired, whether
 * or not the host ran the timer first. */
START_TEST(test_core_route_ttl_wins_at_same_instant)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "event_ttl=100", "fallback_notify=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_run_id run = established_empty_stream(ctx, &r, "alice", "t1", 1);
    emit(ctx, 10, run, 5, NULL, NULL);
    cr_conn_id c = rec_open_auth(ctx, 50, "alice");
    cr_conn_switch(ctx, 50, c, "t1", 0);
    rec_since(&r);
    cr_assoc_complete(ctx, 110, rec_last_req(&r), 1);
    ck_assert_str_eq(rec_since(&r),
                     "110 report OUTCOME expired err=0 c=0 run=1 alice/t1 seq=1 tag=5\n"
                     "110 notice c=2 SWITCHED thread=t1 tag=0 err=0\n");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* F9 fallback: an expiring event goes, as a notification, to the user's
 * other READY connection. */
START_TEST(test_core_route_ttl_falls_back_to_other_connection)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "event_ttl=100", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_thread_add(ctx, 0, "alice", "t2");
    cr_conn_id c1 = rec_open_auth(ctx, 0, "alice");
    bind_to(ctx, &r, c1, "t2", 1, 0);
    cr_run_id run = established_empty_stream(ctx, &r, "alice", "t1", 2);
    emit(ctx, 10, run, 5, NULL, NULL);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 110), 0);
    ck_assert_str_eq(rec_since(&r),
                     "110 deliver c=1 alice/t1 run=1 seq=1 gen=1 flags=2 tag=5\n"
                     "110 report OUTCOME fallback err=0 c=1 run=1 alice/t1 seq=1 tag=5\n");
    ck_assert_uint_eq(rec_stats(ctx).outcomes[CR_OUTCOME_FALLBACK], 1);
    ck_assert_uint_eq(rec_stats(ctx).outcomes[CR_OUTCOME_EXPIRED], 0);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* The fallback connection is the one bound most recently; ties go to the
 * lowest id. */
START_TEST(test_core_route_fallback_picks_most_recent_binding)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "buffer_until_ready=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_thread_add(ctx, 0, "alice", "t2");
    cr_thread_add(ctx, 0, "alice", "t3");
    cr_conn_id c1 = rec_open_auth(ctx, 0, "alice"), c2 = rec_open_auth(ctx, 0, "alice");
    bind_to(ctx, &r, c1, "t2", 5, 0);
    bind_to(ctx, &r, c2, "t3", 7, 0);
    cr_run_id run = established_empty_stream(ctx, &r, "alice", "t1", 8);
    cr_outcome o;
    uint64_t seq;
    ck_assert_int_eq(emit(ctx, 10, run, 1, &o, &seq), 0);
    ck_assert_int_eq(o, CR_OUTCOME_FALLBACK);
    ck_assert_uint_eq(seq, 1);
    ck_assert_str_eq(rec_since(&r),
                     "10 deliver c=2 alice/t1 run=1 seq=1 gen=1 flags=2 tag=1\n"
                     "10 report OUTCOME fallback err=0 c=2 run=1 alice/t1 seq=1 tag=1\n");
    bind_to(ctx, &r, c1, "t3", 11, 0);
    rec_since(&r);
    emit(ctx, 12, run, 2, &o, NULL);
    ck_assert_str_eq(rec_since(&r),
                     "12 deliver c=1 alice/t1 run=1 seq=2 gen=2 flags=2 tag=2\n"
                     "12 report OUTCOME fallback err=0 c=1 run=1 alice/t1 seq=2 tag=2\n");
    bind_to(ctx, &r, c2, "t2", 20, 0);
    bind_to(ctx, &r, c1, "t2", 20, 0);
    rec_since(&r);
    emit(ctx, 21, run, 3, &o, NULL);
    ck_assert_str_eq(rec_since(&r),
                     "21 deliver c=1 alice/t1 run=1 seq=3 gen=3 flags=2 tag=3\n"
                     "21 report OUTCOME fallback err=0 c=1 run=1 alice/t1 seq=3 tag=3\n");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* F4 bound: past event_buffer_max undelivered events, the new event is
 * dropped: CR_EFULL, dropped_full counted and reported, never sent as a
 * fallback; its seq is consumed, so the client sees the gap. */
START_TEST(test_core_route_buffer_bound_drops_explicitly)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "event_buffer_max=3", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_thread_add(ctx, 0, "alice", "t2");
    cr_conn_id other = rec_open_auth(ctx, 0, "alice");
    bind_to(ctx, &r, other, "t2", 0, 0);
    cr_run_id run = established_empty_stream(ctx, &r, "alice", "t1", 1);
    int full = 0;
    uint64_t bytes_at_bound = 0;
    for (uint64_t i = 1; i <= 5; i++) {
        cr_outcome o;
        uint64_t seq;
        int rc = emit(ctx, 9 + i, run, i, &o, &seq);
        if (i == 3)
            bytes_at_bound = rec_stats(ctx).bytes_in_use;
        if (i > 3) /* a dropped event costs no memory */
            ck_assert_uint_eq(rec_stats(ctx).bytes_in_use, bytes_at_bound);
        ck_assert_uint_eq(seq, i);
        if (rc == CR_EFULL) {
            full++;
            ck_assert_int_eq(o, CR_OUTCOME_DROPPED_FULL);
        } else {
            ck_assert_int_eq(rc, 0);
            ck_assert_int_eq(o, CR_OUTCOME_COUNT);
        }
        ck_assert_uint_le(rec_stats(ctx).buffer_events_now, 3);
    }
    ck_assert_int_eq(full, 2);
    ck_assert_str_eq(rec_since(&r),
                     "13 report OUTCOME dropped_full err=0 c=0 run=1 alice/t1 seq=4 tag=4\n"
                     "14 report OUTCOME dropped_full err=0 c=0 run=1 alice/t1 seq=5 tag=5\n");
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DROPPED_FULL], 2);
    ck_assert_uint_eq(s.events_buffered_now, 3);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Over the bound, the oldest delivered history goes first; undelivered
 * events are never evicted. */
START_TEST(test_core_route_buffer_evicts_history_first)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "event_buffer_max=3", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    bind_to(ctx, &r, c, "t1", 0, 0);
    cr_run_id run = 0;
    cr_run_start_for(ctx, 1, "alice", "t1", &run);
    for (uint64_t i = 1; i <= 4; i++)
        ck_assert_int_eq(emit(ctx, 1 + i, run, i, NULL, NULL), 0); /* delivered; history 3 */
    cr_conn_close(ctx, 10, c, CR_CLOSE_CLIENT);
    char *d = rec_dump(ctx);
    ck_assert_str_eq(d, "conn=1 state=CLOSED\n"
                        "stream user=alice thread=t1 seq=4 buffered=3 undelivered=0 bytes=3 "
                        "ready=0 first_seq=2\n");
    free(d);
    for (uint64_t i = 5; i <= 7; i++)
        ck_assert_int_eq(emit(ctx, 10 + i, run, i, NULL, NULL), 0);
    d = rec_dump(ctx);
    ck_assert_str_eq(d, "conn=1 state=CLOSED\n"
                        "stream user=alice thread=t1 seq=7 buffered=3 undelivered=3 bytes=3 "
                        "ready=0 first_seq=5\n");
    free(d);
    ck_assert_int_eq(emit(ctx, 20, run, 8, NULL, NULL), CR_EFULL);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

START_TEST(test_core_route_buffer_byte_bound)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "event_buffer_max_bytes=10", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_run_id run = established_empty_stream(ctx, &r, "alice", "t1", 1);
    cr_event_in four = {0, 1, "abcd", 4}, two = {0, 2, "ab", 2};
    char big[11] = "0123456789";
    cr_event_in eleven = {0, 3, big, 11};
    ck_assert_int_eq(cr_run_emit(ctx, 2, run, &eleven, NULL, NULL), CR_EFULL);
    ck_assert_int_eq(cr_run_emit(ctx, 2, run, &four, NULL, NULL), 0);
    ck_assert_int_eq(cr_run_emit(ctx, 2, run, &four, NULL, NULL), 0);
    ck_assert_int_eq(cr_run_emit(ctx, 2, run, &four, NULL, NULL), CR_EFULL);
    ck_assert_int_eq(cr_run_emit(ctx, 2, run, &two, NULL, NULL), 0);
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.buffer_bytes_now, 10);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DROPPED_FULL], 2);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* A delivered event too big for the history is not kept for replay; a
 * later binding is told of the gap, as for an evicted one (found by
 * `ctxsim check --policy event_buffer_max_bytes=0`: the second connection
 * bound with no replay and no report). */
START_TEST(test_core_route_history_skipped_is_a_reported_gap)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "event_buffer_max_bytes=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id a = rec_open_auth(ctx, 0, "alice");
    bind_to(ctx, &r, a, "t1", 0, 0);
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, 1, "alice", "t1", &run), 0);
    cr_outcome o;
    uint64_t seq;
    ck_assert_int_eq(emit(ctx, 2, run, 7, &o, &seq), 0);
    ck_assert_int_eq(o, CR_OUTCOME_DELIVERED);
    cr_conn_id b = rec_open_auth(ctx, 3, "alice");
    rec_since(&r);
    bind_to(ctx, &r, b, "t1", 4, 0);
    const char *out = rec_since(&r);
    ck_assert_msg(strstr(out, "report INFO") && strstr(out, "seq=1"), "%s", out);
    ck_assert_ptr_null(strstr(out, "deliver"));
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* A replay gap longer than the report cap: one report per missing event
 * up to 256, then one more saying "this and later" (bounded work). */
START_TEST(test_core_route_replay_gap_reports_capped)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "event_buffer_max=2", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id a = rec_open_auth(ctx, 0, "alice");
    bind_to(ctx, &r, a, "t1", 0, 0);
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, 1, "alice", "t1", &run), 0);
    for (int i = 0; i < 300; i++) {
        cr_outcome o;
        uint64_t seq;
        ck_assert_int_eq(emit(ctx, 2, run, 7, &o, &seq), 0);
    }
    /* history keeps 299 and 300: 1..298 are gone */
    cr_conn_id b = rec_open_auth(ctx, 3, "alice");
    size_t before = r.nreport;
    rec_since(&r);
    bind_to(ctx, &r, b, "t1", 4, 0);
    ck_assert_uint_eq(r.nreport - before, 257);
    const char *out = rec_since(&r);
    ck_assert_ptr_nonnull(strstr(out, "seq=257"));
    ck_assert_ptr_null(strstr(out, "seq=258 tag=0"));
    ck_assert_ptr_nonnull(strstr(out, "deliver c=2 alice/t1 run=1 seq=299"));
    ck_assert_ptr_nonnull(strstr(out, "deliver c=2 alice/t1 run=1 seq=300"));
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Legacy: an event routed to nobody vanishes: 0 returned, "delivered",
 * nothing counted, nothing reported.  F9 alone makes it explicit. */
START_TEST(test_core_route_legacy_loss_is_silent)
{
    for (int report = 0; report <= 1; report++) {
        rec r;
        cr_ctx *ctx =
            rec_new_ctx(&r, CR_PROFILE_LEGACY, report ? "report_undeliverable=1" : NULL, NULL);
        cr_thread_add(ctx, 0, "alice", "t1");
        cr_run_id run = established_empty_stream(ctx, &r, "alice", "t1", 1);
        cr_outcome o;
        uint64_t seq;
        ck_assert_int_eq(emit(ctx, 4, run, 7, &o, &seq), 0);
        ck_assert_uint_eq(seq, 1);
        cr_stats s = rec_stats(ctx);
        ck_assert_uint_eq(s.events_emitted, 1);
        if (!report) {
            ck_assert_int_eq(o, CR_OUTCOME_DELIVERED);
            ck_assert_str_eq(rec_since(&r), "");
            for (int i = 0; i < CR_OUTCOME_COUNT; i++)
                ck_assert_uint_eq(s.outcomes[i], 0);
        } else {
            ck_assert_int_eq(o, CR_OUTCOME_UNROUTABLE);
            ck_assert_str_eq(rec_since(&r), "4 report OUTCOME unroutable err=0 c=0 run=1 alice/t1 "
                                            "seq=1 tag=7\n");
            ck_assert_uint_eq(s.outcomes[CR_OUTCOME_UNROUTABLE], 1);
        }
        cr_ctx_del(ctx);
        rec_free(&r);
    }
}
END_TEST

/* A bound hit is never silent, even with F9 off. */
START_TEST(test_core_route_dropped_full_counted_without_reporting)
{
    rec r;
    cr_ctx *ctx =
        rec_new_ctx(&r, CR_PROFILE_FIXED, "report_undeliverable=0", "event_buffer_max=1", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_run_id run = established_empty_stream(ctx, &r, "alice", "t1", 1);
    cr_outcome o;
    ck_assert_int_eq(emit(ctx, 2, run, 1, &o, NULL), 0);
    ck_assert_int_eq(emit(ctx, 3, run, 2, &o, NULL), CR_EFULL);
    ck_assert_int_eq(o, CR_OUTCOME_DROPPED_FULL);
    ck_assert_uint_eq(rec_stats(ctx).outcomes[CR_OUTCOME_DROPPED_FULL], 1);
    ck_assert_str_eq(rec_since(&r), "");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* F7 off: the user's connections without a thread receive the stream's
 * events too (id order, after the READY ones); other users' never. */
START_TEST(test_core_route_pool_pending_marking)
{
    for (int marking = 0; marking <= 1; marking++) {
        rec r;
        cr_ctx *ctx =
            rec_new_ctx(&r, CR_PROFILE_FIXED,
                        marking ? "pool_pending_marking=1" : "pool_pending_marking=0", NULL);
        cr_thread_add(ctx, 0, "alice", "t1");
        cr_conn_id c1 = 0, c2 = 0, c3 = 0;
        cr_conn_open(ctx, 0, &c1);
        cr_conn_open(ctx, 0, &c2);
        cr_conn_open(ctx, 0, &c3);
        cr_conn_authenticate(ctx, 0, c3, "alice");
        cr_conn_authenticate(ctx, 0, c2, "alice");
        rec_open_auth(ctx, 0, "bob");
        cr_conn_id c5 = rec_open_auth(ctx, 0, "alice");
        bind_to(ctx, &r, c5, "t1", 1, 0);
        cr_run_id run = 0;
        cr_run_start_for(ctx, 2, "alice", "t1", &run);
        rec_since(&r);
        cr_outcome o;
        emit(ctx, 3, run, 1, &o, NULL);
        ck_assert_int_eq(o, CR_OUTCOME_DELIVERED);
        if (marking)
            ck_assert_str_eq(rec_since(&r),
                             "3 deliver c=5 alice/t1 run=1 seq=1 gen=1 flags=0 tag=1\n");
        else
            ck_assert_str_eq(rec_since(&r),
                             "3 deliver c=5 alice/t1 run=1 seq=1 gen=1 flags=0 tag=1\n"
                             "3 deliver c=2 alice/t1 run=1 seq=1 gen=0 flags=0 tag=1\n"
                             "3 deliver c=3 alice/t1 run=1 seq=1 gen=0 flags=0 tag=1\n");
        ck_assert_uint_eq(rec_stats(ctx).outcomes[CR_OUTCOME_DELIVERED], 1);
        cr_ctx_del(ctx);
        rec_free(&r);
    }
}
END_TEST

/* F2 off: a run whose thread context was never established goes at once
 * and loses it; its events are unroutable (here: sent as fallback). */
START_TEST(test_core_route_context_lost_run_is_unroutable)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "exec_grace=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_thread_add(ctx, 0, "alice", "t2");
    cr_conn_id c1 = rec_open_auth(ctx, 0, "alice");
    bind_to(ctx, &r, c1, "t2", 1, 0);
    rec_since(&r);
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, 5, "alice", "t1", &run), 0);
    ck_assert_str_eq(rec_since(&r), "5 run_go run=1\n");
    ck_assert_uint_eq(rec_stats(ctx).runs_context_lost, 1);
    cr_outcome o;
    uint64_t seq = 99;
    ck_assert_int_eq(emit(ctx, 6, run, 1, &o, &seq), 0);
    ck_assert_int_eq(o, CR_OUTCOME_FALLBACK);
    ck_assert_uint_eq(seq, 0);
    ck_assert_str_eq(rec_since(&r),
                     "6 deliver c=1 alice/t1 run=1 seq=0 gen=1 flags=2 tag=1\n"
                     "6 report OUTCOME fallback err=0 c=1 run=1 alice/t1 seq=0 tag=1\n");
    /* the stream's numbering is untouched */
    cr_conn_id c2 = rec_open_auth(ctx, 7, "alice");
    bind_to(ctx, &r, c2, "t1", 7, 0);
    cr_run_id run2 = 0;
    cr_run_start_for(ctx, 8, "alice", "t1", &run2);
    emit(ctx, 9, run2, 2, &o, &seq);
    ck_assert_uint_eq(seq, 1);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* F2: the run waits, re-validating every exec_retry_interval, and goes at
 * the first poll after the binding landed. */
START_TEST(test_core_route_grace_waits_for_binding)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "exec_grace=100", "exec_retry_interval=10",
                              "pending_deadline=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, 0, "alice", "t1", &run), 0);
    ck_assert_str_eq(rec_since(&r), "");
    ck_assert_int_eq(emit(ctx, 1, run, 1, NULL, NULL), CR_ESTATE);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 10);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 10), 0);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 20);
    cr_conn_switch(ctx, 15, c, "t1", 0);
    advance(ctx, 25); /* the poll at 20 still finds no context */
    cr_assoc_complete(ctx, 25, rec_last_req(&r), 1);
    rec_since(&r);
    advance(ctx, 1000);
    ck_assert_str_eq(rec_since(&r), "30 run_go run=1\n");
    ck_assert_uint_eq(rec_stats(ctx).runs_context_lost, 0);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), CR_TIME_NEVER);
    ck_assert_int_eq(emit(ctx, 1000, run, 1, NULL, NULL), 0);
    ck_assert_uint_eq(rec_stats(ctx).outcomes[CR_OUTCOME_DELIVERED], 1);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Never valid: the polls stop at exactly start + exec_grace and the run
 * goes without context. */
START_TEST(test_core_route_grace_ends_exactly)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "exec_grace=100", "exec_retry_interval=30",
                              "pending_deadline=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t2");
    cr_run_id run = 0;
    cr_run_start_for(ctx, 40, "alice", "t2", &run);
    uint64_t polls[8], n = 0, t;
    while ((t = cr_ctx_get_expiry(ctx)) != CR_TIME_NEVER) {
        ck_assert_uint_lt(n, 8);
        polls[n++] = t;
        cr_ctx_handle_expiry(ctx, t);
    }
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(polls[0], 70);
    ck_assert_uint_eq(polls[1], 100);
    ck_assert_uint_eq(polls[2], 130);
    ck_assert_uint_eq(polls[3], 140);
    ck_assert_str_eq(rec_since(&r), "140 run_go run=1\n");
    ck_assert_uint_eq(rec_stats(ctx).runs_context_lost, 1);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* exec_retry_interval 0 with exec_grace > 0: no polling (a zero period
 * used to re-arm the timer without end); the run is validated once more
 * at the grace's end and goes then, with its context when a binding of
 * its (user, thread) landed meanwhile, without otherwise. */
START_TEST(test_core_route_grace_zero_interval_checks_at_end)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "exec_grace=100", "exec_retry_interval=0",
                              "pending_deadline=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_thread_add(ctx, 0, "alice", "t2");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    cr_run_id run1 = 0, run2 = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, 40, "alice", "t1", &run1), 0);
    ck_assert_int_eq(cr_run_start_for(ctx, 50, "alice", "t2", &run2), 0);
    cr_conn_switch(ctx, 55, c, "t1", 0);
    cr_assoc_complete(ctx, 60, rec_last_req(&r), 1);
    rec_since(&r);
    uint64_t polls[8], n = 0, t;
    while ((t = cr_ctx_get_expiry(ctx)) != CR_TIME_NEVER) {
        ck_assert_uint_lt(n, 8);
        polls[n++] = t;
        ck_assert_int_eq(cr_ctx_handle_expiry(ctx, t), 0);
    }
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(polls[0], 140);
    ck_assert_uint_eq(polls[1], 150);
    ck_assert_str_eq(rec_since(&r), "140 run_go run=1\n150 run_go run=2\n");
    ck_assert_uint_eq(rec_stats(ctx).runs_context_lost, 1); /* run2: t2 never bound */
    ck_assert_int_eq(emit(ctx, 200, run1, 1, NULL, NULL), 0);
    ck_assert_uint_eq(rec_stats(ctx).outcomes[CR_OUTCOME_DELIVERED], 1);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* F1 off: the association the message asked for is requested at run_go,
 * i.e. only after the grace ran out (the contract's reading of "associates
 * during agent execution"). */
START_TEST(test_core_route_late_association_at_run_go)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "associate_before_execute=0", "exec_grace=50",
                              "exec_retry_interval=10", "pending_deadline=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    cr_message m = rec_message("t1", 0, 1);
    uint64_t mid = 0;
    cr_conn_message(ctx, 1, c, &m, &mid);
    ck_assert_str_eq(rec_since(&r), "1 dispatch c=1 msg=1 alice/t1 tag=1\n");
    cr_run_id run = 0;
    cr_run_start(ctx, 2, mid, &run);
    advance(ctx, 100);
    ck_assert_str_eq(rec_since(&r), "52 run_go run=1\n52 associate req=1 c=1 alice/t1\n");
    ck_assert_uint_eq(rec_stats(ctx).runs_context_lost, 1);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

START_TEST(test_core_route_run_lifecycle_errors)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    bind_to(ctx, &r, c, "t1", 0, 0);
    cr_message m = rec_message(NULL, 0, 1);
    uint64_t mid = 0;
    cr_conn_message(ctx, 1, c, &m, &mid);
    ck_assert_int_eq(cr_msg_release(ctx, mid), 0);
    ck_assert_int_eq(cr_msg_release(ctx, mid), CR_ENOTFOUND);
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start(ctx, 2, mid, &run), CR_ENOTFOUND);
    cr_conn_message(ctx, 3, c, &m, &mid);
    ck_assert_int_eq(cr_run_start(ctx, 4, mid, &run), 0);
    ck_assert_uint_eq(run, 1);
    ck_assert_int_eq(cr_run_start(ctx, 4, mid, &run), CR_ENOTFOUND);
    ck_assert_int_eq(emit(ctx, 5, run, 1, NULL, NULL), 0);
    ck_assert_int_eq(cr_run_end(ctx, 6, run), 0);
    ck_assert_int_eq(cr_run_end(ctx, 6, run), CR_ENOTFOUND);
    ck_assert_int_eq(emit(ctx, 7, run, 2, NULL, NULL), CR_ESTATE);
    ck_assert_int_eq(emit(ctx, 7, run + 1, 2, NULL, NULL), CR_ENOTFOUND);
    ck_assert_uint_eq(rec_stats(ctx).runs_started, 1);
    ck_assert_uint_eq(rec_stats(ctx).events_emitted, 1);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* Two users holding the same thread string never see each other's events,
 * not even as a fallback. */
START_TEST(test_core_route_users_isolated)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "event_ttl=100", NULL);
    cr_thread_add(ctx, 0, "alice", "t");
    cr_thread_add(ctx, 0, "bob", "t");
    cr_thread_add(ctx, 0, "bob", "u");
    cr_conn_id a = rec_open_auth(ctx, 0, "alice"), b = rec_open_auth(ctx, 0, "bob"),
               b2 = rec_open_auth(ctx, 0, "bob");
    bind_to(ctx, &r, a, "t", 1, 0);
    bind_to(ctx, &r, b, "t", 1, 0);
    bind_to(ctx, &r, b2, "u", 1, 0);
    cr_run_id ra = 0, rb = 0;
    cr_run_start_for(ctx, 2, "alice", "t", &ra);
    cr_run_start_for(ctx, 2, "bob", "t", &rb);
    rec_since(&r);
    emit(ctx, 3, ra, 1, NULL, NULL);
    emit(ctx, 3, rb, 2, NULL, NULL);
    ck_assert_str_eq(rec_since(&r), "3 deliver c=1 alice/t run=1 seq=1 gen=1 flags=0 tag=1\n"
                                    "3 deliver c=2 bob/t run=2 seq=1 gen=1 flags=0 tag=2\n");
    cr_conn_close(ctx, 4, a, CR_CLOSE_CLIENT);
    emit(ctx, 5, ra, 3, NULL, NULL);
    advance(ctx, 1000);
    ck_assert_str_eq(rec_since(&r),
                     "105 report OUTCOME expired err=0 c=0 run=1 alice/t seq=2 tag=3\n");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

static uint8_t seen_payload[16];
static size_t seen_len;
static void capture_deliver(void *ud, uint64_t now, cr_conn_id c, const cr_event *e)
{
    ck_assert_uint_le(e->payload_len, sizeof seen_payload);
    memcpy(seen_payload, e->payload, e->payload_len);
    seen_len = e->payload_len;
}

/* A buffered event carries a copy of its payload. */
START_TEST(test_core_route_buffer_copies_payload)
{
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    cr_callbacks cb = {0};
    cb.deliver = capture_deliver;
    cr_ctx *ctx = NULL;
    cr_ctx_new(&ctx, &p, &cb, NULL, NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    cr_conn_id c = 0;
    cr_conn_open(ctx, 0, &c);
    cr_conn_authenticate(ctx, 0, c, "alice");
    cr_conn_switch(ctx, 0, c, "t1", 0);
    cr_assoc_complete(ctx, 0, 1, 1);
    cr_conn_close(ctx, 0, c, CR_CLOSE_CLIENT);
    cr_run_id run = 0;
    cr_run_start_for(ctx, 1, "alice", "t1", &run);
    char buf[4];
    memcpy(buf, "abc", 4);
    cr_event_in ev = {0, 1, buf, 4};
    cr_run_emit(ctx, 2, run, &ev, NULL, NULL);
    memset(buf, 'X', sizeof buf);
    cr_run_end(ctx, 3, run);
    cr_conn_open(ctx, 4, &c);
    cr_conn_authenticate(ctx, 4, c, "alice");
    cr_conn_switch(ctx, 4, c, "t1", 0);
    seen_len = 0;
    cr_assoc_complete(ctx, 5, 2, 1);
    ck_assert_uint_eq(seen_len, 4);
    ck_assert_str_eq((const char *)seen_payload, "abc");
    cr_ctx_del(ctx);
}
END_TEST

/* ---- generated scenarios: every event has exactly one outcome, and no
 * event ever reaches another user's connection ---- */

static char owner[512][8]; /* user of each connection id */

static void check_deliver(void *ud, uint64_t now, cr_conn_id c, const cr_event *e)
{
    CHECK(c < 512);
    CHECK(e->user != NULL);
    CHECK(strcmp(owner[c], e->user) == 0);
    rec_on_deliver(ud, now, c, e);
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return *s >> 33;
}

static void generated_scenario(cr_profile profile, uint64_t seed)
{
    rec r;
    memset(&r, 0, sizeof r);
    memset(owner, 0, sizeof owner);
    cr_policy p;
    cr_policy_init(&p, profile);
    p.event_buffer_max = 4;
    p.event_ttl = 500;
    p.exec_grace = p.exec_grace ? 300 : 0;
    p.exec_retry_interval = 25;
    p.pending_deadline = p.pending_deadline ? 2000 : 0;
    p.update_backoff = 10;
    p.pending_max = 3;
    p.preauth_max = 2;
    cr_callbacks cb = rec_callbacks;
    cb.deliver = check_deliver;
    cr_ctx *ctx = NULL;
    CHECK((cr_ctx_new(&ctx, &p, &cb, NULL, &r)) == 0);
    const char *users[] = {"alice", "bob"}, *threads[] = {"t1", "t2", "t3"};
    for (int u = 0; u < 2; u++)
        for (int t = 0; t < 3; t++)
            cr_thread_add(ctx, 0, users[u], threads[t]);
    cr_conn_id conns[400];
    size_t nconn = 0, answered = 0;
    cr_run_id runs[400];
    size_t nrun = 0;
    uint64_t now = 0, s = seed;
    for (int step = 0; step < 3000; step++) {
        uint64_t k = lcg(&s) % 100;
        const char *user = users[lcg(&s) % 2], *thread = threads[lcg(&s) % 3];
        cr_conn_id c = nconn ? conns[lcg(&s) % nconn] : 0;
        int rc;
        if (k < 8 && nconn < 400) {
            CHECK((cr_conn_open(ctx, now, &conns[nconn])) == 0);
            c = conns[nconn++];
            if (lcg(&s) % 4) {
                CHECK((cr_conn_authenticate(ctx, now, c, user)) == 0);
                strcpy(owner[c], user);
            }
        } else if (k < 12 && c) {
            cr_conn_info info;
            cr_conn_get_info(ctx, c, &info);
            if (info.state == CR_CONN_OPEN) {
                rc = cr_conn_authenticate(ctx, now, c, user);
                CHECK((rc) == 0);
                strcpy(owner[c], user);
            }
        } else if (k < 25 && c) {
            cr_message m = rec_message(lcg(&s) % 3 ? thread : NULL, lcg(&s) % 4, k);
            rc = cr_conn_message(ctx, now, c, &m, NULL);
            CHECK(rc == 0 || rc == CR_EFULL || rc == CR_EFOREIGN || rc == CR_ECLOSED);
        } else if (k < 33 && c) {
            rc = cr_conn_switch(ctx, now, c, thread, lcg(&s) % 5);
            CHECK(rc == 0 || rc == CR_ESTATE || rc == CR_EFOREIGN || rc == CR_ECLOSED);
        } else if (k < 45 && answered < r.nreq) {
            /* answer the oldest open request, sometimes with a failure */
            rc = cr_assoc_complete(ctx, now, r.reqs[answered++], lcg(&s) % 5 != 0);
            CHECK((rc) == 0);
        } else if (k < 48 && c) {
            rc = cr_conn_close(ctx, now, c, CR_CLOSE_CLIENT);
            CHECK(rc == 0 || rc == CR_ECLOSED);
        } else if (k < 55 && nrun < 400) {
            if (r.nmsg && lcg(&s) % 2) {
                rc = cr_run_start(ctx, now, r.msgs[lcg(&s) % r.nmsg], &runs[nrun]);
                CHECK(rc == 0 || rc == CR_ENOTFOUND);
            } else {
                rc = cr_run_start_for(ctx, now, user, thread, &runs[nrun]);
                CHECK((rc) == 0);
            }
            nrun += rc == 0;
        } else if (k < 85 && nrun) {
            cr_event_in ev = {(uint32_t)k, k, "evt", 3};
            rc = cr_run_emit(ctx, now, runs[lcg(&s) % nrun], &ev, NULL, NULL);
            CHECK(rc == 0 || rc == CR_EFULL || rc == CR_ESTATE);
        } else if (k < 88 && nrun) {
            rc = cr_run_end(ctx, now, runs[lcg(&s) % nrun]);
            CHECK(rc == 0 || rc == CR_ENOTFOUND);
        } else {
            now += lcg(&s) % 60;
            CHECK((cr_ctx_handle_expiry(ctx, now)) == 0);
        }
        cr_stats st = rec_stats(ctx);
        CHECK(st.events_buffered_now <= st.buffer_events_now);
        CHECK(st.messages_received == st.messages_dispatched + st.messages_rejected +
                                          st.messages_queued_now + st.messages_preauth_now);
        uint64_t conns_now = 0;
        for (int i = 0; i < 4; i++)
            conns_now += st.conns_by_state[i];
        CHECK(conns_now == nconn);
    }
    /* everyone leaves; every pending outcome resolves within the TTL */
    for (size_t i = 0; i < nconn; i++)
        cr_conn_close(ctx, now, conns[i], CR_CLOSE_SERVER);
    advance(ctx, now + 10000);
    cr_stats st = rec_stats(ctx);
    uint64_t total = 0;
    for (int i = 0; i < CR_OUTCOME_COUNT; i++)
        total += st.outcomes[i];
    ck_assert_uint_gt(st.events_emitted, 100);
    ck_assert_uint_eq(st.events_buffered_now, 0);
    ck_assert_uint_eq(st.messages_queued_now + st.messages_preauth_now, 0);
    if (profile == CR_PROFILE_FIXED)
        ck_assert_uint_eq(total, st.events_emitted);
    else
        ck_assert_uint_le(total, st.events_emitted);
    cr_ctx_del(ctx);
    rec_free(&r);
}

START_TEST(test_core_route_generated_every_event_one_outcome)
{
    for (uint64_t seed = 1; seed <= 8; seed++) {
        generated_scenario(CR_PROFILE_FIXED, seed);
        generated_scenario(CR_PROFILE_LEGACY, seed);
    }
}
END_TEST

static Suite *route_suite(void)
{
    Suite *s = suite_create("core_route");
    TCase *tc = tcase_create("route");
    tcase_add_test(tc, test_core_route_delivers_to_ready_conns_in_binding_order);
    tcase_add_test(tc, test_core_route_buffers_until_ready_then_replays);
    tcase_add_test(tc, test_core_route_replay_since_last_seq);
    tcase_add_test(tc, test_core_route_ttl_expires_buffered_events);
    tcase_add_test(tc, test_core_route_ttl_wins_at_same_instant);
    tcase_add_test(tc, test_core_route_ttl_falls_back_to_other_connection);
    tcase_add_test(tc, test_core_route_fallback_picks_most_recent_binding);
    tcase_add_test(tc, test_core_route_buffer_bound_drops_explicitly);
    tcase_add_test(tc, test_core_route_buffer_evicts_history_first);
    tcase_add_test(tc, test_core_route_buffer_byte_bound);
    tcase_add_test(tc, test_core_route_history_skipped_is_a_reported_gap);
    tcase_add_test(tc, test_core_route_replay_gap_reports_capped);
    tcase_add_test(tc, test_core_route_legacy_loss_is_silent);
    tcase_add_test(tc, test_core_route_dropped_full_counted_without_reporting);
    tcase_add_test(tc, test_core_route_pool_pending_marking);
    tcase_add_test(tc, test_core_route_context_lost_run_is_unroutable);
    tcase_add_test(tc, test_core_route_grace_waits_for_binding);
    tcase_add_test(tc, test_core_route_grace_ends_exactly);
    tcase_add_test(tc, test_core_route_grace_zero_interval_checks_at_end);
    tcase_add_test(tc, test_core_route_late_association_at_run_go);
    tcase_add_test(tc, test_core_route_run_lifecycle_errors);
    tcase_add_test(tc, test_core_route_users_isolated);
    tcase_add_test(tc, test_core_route_buffer_copies_payload);
    tcase_add_test(tc, test_core_route_generated_every_event_one_outcome);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(route_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
