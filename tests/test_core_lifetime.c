/*
 * test_core_lifetime.c - the core's memory follows what is live, not what
 * it has ever seen (issue 13, finding 4): connection records and their
 * index, user records, streams (cr_thread_remove), messages, runs, timers.
 * The cycle tests run 1e6 connections (1e5 users) through the core and
 * assert that bytes_in_use comes back to its baseline, exactly, and that
 * the peak stays bounded by what was live at once.  Under sanitizers (10x
 * slower) the cycles are 1e5 (users 1e4); CTXSIM_LIFETIME_N overrides.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "tests/lib/core_rec.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* cycles returns the number of connection cycles (1e6; 1e5 sanitized). */
static long cycles(void)
{
    const char *e = getenv("CTXSIM_LIFETIME_N");
    if (e && *e)
        return strtol(e, NULL, 10);
    return SANITIZED ? 100000 : 1000000;
}

/* A minimal host: remembers the latest association request. */
typedef struct mini {
    uint64_t req;
    uint64_t deliveries, reports, closes;
} mini;

static void m_deliver(void *ud, uint64_t now, cr_conn_id c, const cr_event *e)
{
    ((mini *)ud)->deliveries++;
}

static void m_associate(void *ud, uint64_t now, uint64_t req, cr_conn_id c, const char *u,
                        const char *t)
{
    ((mini *)ud)->req = req;
}

static void m_report(void *ud, uint64_t now, const cr_report *r)
{
    ((mini *)ud)->reports++;
}

static void m_close(void *ud, uint64_t now, cr_conn_id c, cr_close_reason why)
{
    ((mini *)ud)->closes++;
}

static const cr_callbacks mini_cb = {m_deliver, NULL, m_associate, NULL, NULL, m_close, m_report};

static cr_ctx *mini_ctx(mini *m, uint64_t pending)
{
    memset(m, 0, sizeof *m);
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    p.pending_deadline = pending;
    cr_ctx *ctx = NULL;
    ck_assert_int_eq(cr_ctx_new(&ctx, &p, &mini_cb, NULL, m), 0);
    return ctx;
}

static uint64_t in_use(const cr_ctx *ctx)
{
    cr_stats s;
    cr_ctx_get_stats(ctx, &s);
    return s.bytes_in_use;
}

static const cr_event_in ev = {1, 0, "payload", 7};

/* ------------------------------------------------------------------------ */

/* open / authenticate / bind / close, N times, every timer fired at the
 * end: nothing of the N connections stays. */
START_TEST(test_core_lifetime_conn_cycles_return_to_baseline)
{
    mini m;
    cr_ctx *ctx = mini_ctx(&m, 30 * CR_NS_PER_S);
    ck_assert_int_eq(cr_thread_add(ctx, 0, "alice", "t1"), 0);
    uint64_t base = in_use(ctx), now = 1;
    long n = cycles();
    for (long i = 0; i < n; i++, now += CR_NS_PER_MS) {
        cr_conn_id c = 0;
        CHECK(cr_conn_open(ctx, now, &c) == 0);
        CHECK(cr_conn_authenticate(ctx, now, c, "alice") == 0);
        CHECK(cr_conn_switch(ctx, now, c, "t1", 0) == 0);
        CHECK(cr_assoc_complete(ctx, now, m.req, 1) == 0);
        CHECK(cr_conn_close(ctx, now, c, CR_CLOSE_CLIENT) == 0);
    }
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, now + 60 * CR_NS_PER_S), 0);
    cr_stats s;
    cr_ctx_get_stats(ctx, &s);
    printf("lifetime: %ld connection cycles: baseline %llu bytes, after %llu, peak %llu\n", n,
           (unsigned long long)base, (unsigned long long)s.bytes_in_use,
           (unsigned long long)s.bytes_peak);
    ck_assert_uint_eq(s.bytes_in_use, base);
    ck_assert_uint_lt(s.bytes_peak, base + 64 * 1024); /* one connection live at a time */
    ck_assert_uint_eq(s.conns_by_state[CR_CONN_CLOSED], (uint64_t)n);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), CR_TIME_NEVER);
    /* ids stay unique: the next one is n + 1, and every old one is CLOSED */
    cr_conn_id c = 0;
    ck_assert_int_eq(cr_conn_open(ctx, now + 60 * CR_NS_PER_S, &c), 0);
    ck_assert_uint_eq(c, (uint64_t)n + 1);
    ck_assert_int_eq(rec_state_of(ctx, 1), CR_CONN_CLOSED);
    ck_assert_int_eq(rec_state_of(ctx, (cr_conn_id)n), CR_CONN_CLOSED);
    cr_conn_info in;
    ck_assert_int_eq(cr_conn_get_info(ctx, (cr_conn_id)n + 2, &in), CR_ENOTFOUND);
    ck_assert_int_eq(cr_ctx_del(ctx), 0);
}
END_TEST

/* N connections, 1000 at a time, every one closed by the pending deadline. */
START_TEST(test_core_lifetime_pending_deadline_cycles_return_to_baseline)
{
    mini m;
    cr_ctx *ctx = mini_ctx(&m, CR_NS_PER_S);
    uint64_t base = in_use(ctx), now = 1;
    long n = cycles(), batch = 1000;
    for (long i = 0; i < n; i += batch) {
        for (long j = 0; j < batch && i + j < n; j++) {
            cr_conn_id c = 0;
            CHECK(cr_conn_open(ctx, now, &c) == 0);
        }
        now += CR_NS_PER_S;
        CHECK(cr_ctx_handle_expiry(ctx, now) == 0);
    }
    cr_stats s;
    cr_ctx_get_stats(ctx, &s);
    printf("lifetime: %ld connections closed by the pending deadline: baseline %llu bytes, "
           "after %llu, peak %llu\n",
           n, (unsigned long long)base, (unsigned long long)s.bytes_in_use,
           (unsigned long long)s.bytes_peak);
    ck_assert_uint_eq(s.bytes_in_use, base);
    ck_assert_uint_eq(s.conns_closed_pending_timeout, (uint64_t)n);
    ck_assert_uint_eq(m.closes, (uint64_t)n);
    ck_assert_uint_lt(s.bytes_peak, base + (uint64_t)batch * 1024); /* bounded by one batch */
    ck_assert_int_eq(cr_ctx_del(ctx), 0);
}
END_TEST

/* N/10 distinct users, each with a thread, a connection, a run and events
 * (one left undelivered), all gone afterwards: nothing stays per user. */
START_TEST(test_core_lifetime_user_cycles_return_to_baseline)
{
    mini m;
    cr_ctx *ctx = mini_ctx(&m, 30 * CR_NS_PER_S);
    uint64_t base = in_use(ctx), now = 1;
    long n = cycles() / 10;
    for (long i = 0; i < n; i++, now += CR_NS_PER_MS) {
        char u[32];
        snprintf(u, sizeof u, "user%ld", i);
        CHECK(cr_thread_add(ctx, now, u, "t") == 0);
        cr_conn_id c = 0;
        CHECK(cr_conn_open(ctx, now, &c) == 0);
        CHECK(cr_conn_authenticate(ctx, now, c, u) == 0);
        CHECK(cr_conn_switch(ctx, now, c, "t", 0) == 0);
        CHECK(cr_assoc_complete(ctx, now, m.req, 1) == 0);
        cr_run_id r = 0;
        CHECK(cr_run_start_for(ctx, now, u, "t", &r) == 0);
        CHECK(cr_run_emit(ctx, now, r, &ev, NULL, NULL) == 0); /* delivered, history */
        CHECK(cr_conn_close(ctx, now, c, CR_CLOSE_CLIENT) == 0);
        CHECK(cr_run_emit(ctx, now, r, &ev, NULL, NULL) == 0);  /* buffered, nobody ready */
        CHECK(cr_thread_remove(ctx, now, u, "t") == CR_ESTATE); /* the run is on it */
        CHECK(cr_run_end(ctx, now, r) == 0);
        CHECK(cr_thread_remove(ctx, now, u, "t") == 0);
    }
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, now + 120 * CR_NS_PER_S), 0);
    cr_stats s;
    cr_ctx_get_stats(ctx, &s);
    printf("lifetime: %ld users: baseline %llu bytes, after %llu, peak %llu\n", n,
           (unsigned long long)base, (unsigned long long)s.bytes_in_use,
           (unsigned long long)s.bytes_peak);
    ck_assert_uint_eq(s.bytes_in_use, base);
    ck_assert_uint_lt(s.bytes_peak, base + 64 * 1024);
    /* the undelivered event of each user was reported, not dropped */
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_UNROUTABLE], (uint64_t)n);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_DELIVERED], (uint64_t)n);
    ck_assert_uint_eq(s.events_buffered_now, 0);
    ck_assert_uint_eq(s.buffer_events_now, 0);
    ck_assert_uint_eq(m.reports, (uint64_t)n);
    int ready = 1;
    ck_assert_int_eq(cr_ctx_is_ready(ctx, "user0", "t", &ready), 0);
    ck_assert_int_eq(ready, 0);
    ck_assert_int_eq(cr_ctx_del(ctx), 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* cr_thread_remove                                                         */

/* What keeps a thread in use refuses its removal (nothing changes); once
 * free, it goes, and the thread is foreign until added again. */
START_TEST(test_core_lifetime_thread_remove_refused_while_in_use)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    ck_assert_int_eq(cr_thread_add(ctx, 0, "alice", "t1"), 0);
    ck_assert_int_eq(cr_thread_add(ctx, 0, "alice", "t2"), 0);
    ck_assert_int_eq(cr_thread_remove(ctx, 0, "alice", "nope"), CR_ENOTFOUND);
    ck_assert_int_eq(cr_thread_remove(ctx, 0, "bob", "t1"), CR_ENOTFOUND);
    ck_assert_int_eq(cr_thread_remove(ctx, 0, "", "t1"), CR_EINVAL);
    ck_assert_int_eq(cr_thread_remove(ctx, 0, "alice", NULL), CR_EINVAL);
    ck_assert_int_eq(cr_thread_remove(NULL, 0, "alice", "t1"), CR_EINVAL);
    cr_conn_id c = rec_open_auth(ctx, 1, "alice");
    /* a queued message names it (and its association is in flight) */
    cr_message m = rec_message("t1", 0, 1);
    ck_assert_int_eq(cr_conn_message(ctx, 2, c, &m, NULL), 0);
    char *before = rec_dump(ctx);
    ck_assert_int_eq(cr_thread_remove(ctx, 3, "alice", "t1"), CR_ESTATE);
    char *after = rec_dump(ctx);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    /* bound: a READY connection views it */
    ck_assert_int_eq(cr_assoc_complete(ctx, 4, rec_last_req(&r), 1), 0);
    ck_assert_int_eq(cr_thread_remove(ctx, 5, "alice", "t1"), CR_ESTATE);
    /* a dispatched message awaiting its run names it */
    ck_assert_uint_eq(r.nmsg, 1);
    ck_assert_int_eq(cr_conn_switch(ctx, 6, c, "t2", 0), 0); /* associating to t2 */
    ck_assert_int_eq(cr_thread_remove(ctx, 6, "alice", "t2"), CR_ESTATE);
    ck_assert_int_eq(cr_assoc_complete(ctx, 7, rec_last_req(&r), 1), 0);  /* now on t2 */
    ck_assert_int_eq(cr_thread_remove(ctx, 7, "alice", "t1"), CR_ESTATE); /* the message */
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start(ctx, 8, r.msgs[0], &run), 0);
    ck_assert_int_eq(cr_thread_remove(ctx, 8, "alice", "t1"), CR_ESTATE); /* the run */
    ck_assert_int_eq(cr_run_end(ctx, 9, run), 0);
    ck_assert_int_eq(cr_thread_remove(ctx, 9, "alice", "t1"), 0);
    ck_assert_int_eq(cr_thread_remove(ctx, 9, "alice", "t1"), CR_ENOTFOUND);
    /* foreign now */
    cr_message m2 = rec_message("t1", 0, 2);
    ck_assert_int_eq(cr_conn_message(ctx, 10, c, &m2, NULL), CR_EFOREIGN);
    ck_assert_int_eq(cr_conn_switch(ctx, 10, c, "t1", 0), CR_EFOREIGN);
    ck_assert_int_eq(cr_run_start_for(ctx, 10, "alice", "t1", &run), CR_EFOREIGN);
    /* added again: a new stream, seq from 1 */
    ck_assert_int_eq(cr_thread_add(ctx, 11, "alice", "t1"), 0);
    cr_conn_id c2 = rec_open_auth(ctx, 11, "alice");
    ck_assert_int_eq(cr_conn_switch(ctx, 11, c2, "t1", 0), 0);
    ck_assert_int_eq(cr_assoc_complete(ctx, 11, rec_last_req(&r), 1), 0);
    ck_assert_int_eq(cr_run_start_for(ctx, 12, "alice", "t1", &run), 0);
    uint64_t seq = 0;
    ck_assert_int_eq(cr_run_emit(ctx, 12, run, &ev, &seq, NULL), 0);
    ck_assert_uint_eq(seq, 1);
    ck_assert_int_eq(cr_ctx_del(ctx), 0);
    rec_free(&r);
}
END_TEST

/* Buffered events of a removed thread are settled, not dropped: reported
 * UNROUTABLE, or sent as a fallback to another READY connection of the
 * user (F9); silently lost with F9 off, as the legacy loses them. */
START_TEST(test_core_lifetime_thread_remove_reports_buffered_events)
{
    for (int legacy9 = 0; legacy9 < 2; legacy9++) {
        rec r;
        cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, legacy9 ? "report_undeliverable=0" : NULL,
                                  legacy9 ? "fallback_notify=0" : NULL, NULL);
        ck_assert_int_eq(cr_thread_add(ctx, 0, "alice", "t1"), 0);
        ck_assert_int_eq(cr_thread_add(ctx, 0, "alice", "t2"), 0);
        cr_conn_id c = rec_open_auth(ctx, 0, "alice");
        ck_assert_int_eq(cr_conn_switch(ctx, 0, c, "t1", 0), 0);
        ck_assert_int_eq(cr_assoc_complete(ctx, 0, rec_last_req(&r), 1), 0);
        cr_run_id run = 0;
        ck_assert_int_eq(cr_run_start_for(ctx, 1, "alice", "t1", &run), 0);
        ck_assert_int_eq(cr_run_emit(ctx, 1, run, &ev, NULL, NULL), 0); /* delivered */
        ck_assert_int_eq(cr_conn_switch(ctx, 2, c, "t2", 0), 0);
        ck_assert_int_eq(cr_assoc_complete(ctx, 2, rec_last_req(&r), 1), 0); /* c on t2 */
        cr_outcome o = CR_OUTCOME_DELIVERED;
        ck_assert_int_eq(cr_run_emit(ctx, 3, run, &ev, NULL, &o), 0);
        ck_assert_int_eq(cr_run_emit(ctx, 3, run, &ev, NULL, NULL), 0);
        ck_assert_int_eq(o, CR_OUTCOME_COUNT); /* buffered */
        ck_assert_int_eq(cr_run_end(ctx, 4, run), 0);
        rec_since(&r);
        ck_assert_int_eq(cr_thread_remove(ctx, 5, "alice", "t1"), 0);
        cr_stats s = rec_stats(ctx);
        ck_assert_uint_eq(s.events_buffered_now, 0);
        ck_assert_uint_eq(s.buffer_events_now, 0);
        ck_assert_uint_eq(s.buffer_bytes_now, 0);
        const char *log = rec_since(&r);
        if (legacy9) {
            ck_assert_str_eq(log, "");
            ck_assert_uint_eq(s.outcomes[CR_OUTCOME_FALLBACK], 0);
        } else {
            /* c is READY on t2: the two events go there as notifications */
            ck_assert_uint_eq(s.outcomes[CR_OUTCOME_FALLBACK], 2);
            ck_assert_ptr_nonnull(strstr(log, "deliver c=1 alice/t1 run=1 seq=2"));
            ck_assert_ptr_nonnull(strstr(log, "deliver c=1 alice/t1 run=1 seq=3"));
            uint64_t total = 0;
            for (int i = 0; i < CR_OUTCOME_COUNT; i++)
                total += s.outcomes[i];
            ck_assert_uint_eq(total + s.events_buffered_now, s.events_emitted);
        }
        ck_assert_int_eq(cr_ctx_del(ctx), 0);
        rec_free(&r);
    }
}
END_TEST

/* Removing a stream moves the last one into its place: that one's TTL
 * timer still fires, at its own deadline. */
START_TEST(test_core_lifetime_thread_remove_keeps_other_ttl_timers)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "event_ttl=100", NULL);
    ck_assert_int_eq(cr_thread_add(ctx, 0, "alice", "t1"), 0);
    ck_assert_int_eq(cr_thread_add(ctx, 0, "alice", "t2"), 0);
    ck_assert_int_eq(cr_thread_add(ctx, 0, "alice", "t3"), 0);
    /* establish t3, then buffer one event there */
    rec_establish(ctx, &r, 0, "alice", "t3");
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, 10, "alice", "t3", &run), 0);
    ck_assert_int_eq(cr_run_emit(ctx, 10, run, &ev, NULL, NULL), 0);
    ck_assert_int_eq(cr_run_end(ctx, 10, run), 0);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 110);
    ck_assert_int_eq(cr_thread_remove(ctx, 20, "alice", "t1"), 0); /* t3 moves to slot 0 */
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 110);
    rec_since(&r);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 110), 0);
    ck_assert_ptr_nonnull(strstr(rec_since(&r), "expired"));
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_EXPIRED], 1);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), CR_TIME_NEVER);
    ck_assert_int_eq(cr_thread_remove(ctx, 120, "alice", "t3"), 0);
    ck_assert_int_eq(cr_thread_remove(ctx, 120, "alice", "t2"), 0);
    ck_assert_int_eq(cr_ctx_del(ctx), 0);
    rec_free(&r);
}
END_TEST

/* A superseded association still in flight for a removed thread: its
 * answer is ignored (the stream is gone). */
START_TEST(test_core_lifetime_thread_remove_forgets_superseded_association)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, NULL);
    ck_assert_int_eq(cr_thread_add(ctx, 0, "alice", "t1"), 0);
    ck_assert_int_eq(cr_thread_add(ctx, 0, "alice", "t2"), 0);
    cr_conn_id c = rec_open_auth(ctx, 0, "alice");
    ck_assert_int_eq(cr_conn_switch(ctx, 1, c, "t1", 0), 0);
    uint64_t old = rec_last_req(&r);
    ck_assert_int_eq(cr_conn_switch(ctx, 2, c, "t2", 0), 0); /* supersedes */
    ck_assert_int_eq(cr_assoc_complete(ctx, 3, rec_last_req(&r), 1), 0);
    ck_assert_int_eq(cr_thread_remove(ctx, 4, "alice", "t1"), 0);
    rec_since(&r);
    ck_assert_int_eq(cr_assoc_complete(ctx, 5, old, 1), 0);
    ck_assert_str_eq(rec_since(&r), "");
    cr_conn_info in;
    ck_assert_int_eq(cr_conn_get_info(ctx, c, &in), 0);
    ck_assert_str_eq(in.thread, "t2");
    ck_assert_int_eq(cr_ctx_del(ctx), 0);
    rec_free(&r);
}
END_TEST

/* A user's record lives while a dispatched message or a run of the user
 * does, even with every connection closed; then it goes. */
START_TEST(test_core_lifetime_user_outlives_its_connections_while_referenced)
{
    mini m;
    cr_ctx *ctx = mini_ctx(&m, 0);
    uint64_t base = in_use(ctx);
    /* F6 off-style context: a message dispatched at once on the bound thread */
    ck_assert_int_eq(cr_thread_add(ctx, 0, "carol", "t"), 0);
    cr_conn_id c = 0;
    ck_assert_int_eq(cr_conn_open(ctx, 0, &c), 0);
    ck_assert_int_eq(cr_conn_authenticate(ctx, 0, c, "carol"), 0);
    ck_assert_int_eq(cr_conn_switch(ctx, 0, c, "t", 0), 0);
    ck_assert_int_eq(cr_assoc_complete(ctx, 0, m.req, 1), 0);
    cr_message msg = rec_message("t", 0, 1);
    uint64_t mid = 0;
    ck_assert_int_eq(cr_conn_message(ctx, 1, c, &msg, &mid), 0);
    ck_assert_int_eq(cr_conn_close(ctx, 2, c, CR_CLOSE_CLIENT), 0);
    ck_assert_int_eq(cr_thread_remove(ctx, 2, "carol", "t"), CR_ESTATE); /* the message */
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start(ctx, 3, mid, &run), 0);
    /* the run still names its user in its events (ASan: no freed name) */
    ck_assert_int_eq(cr_run_emit(ctx, 4, run, &ev, NULL, NULL), 0);
    ck_assert_int_eq(cr_run_end(ctx, 5, run), 0);
    ck_assert_int_eq(cr_thread_remove(ctx, 6, "carol", "t"), 0);
    ck_assert_uint_eq(in_use(ctx), base);
    /* a user with no thread at all: freed with its last connection */
    ck_assert_int_eq(cr_conn_open(ctx, 7, &c), 0);
    ck_assert_int_eq(cr_conn_authenticate(ctx, 7, c, "dave"), 0);
    ck_assert_uint_gt(in_use(ctx), base);
    ck_assert_int_eq(cr_conn_close(ctx, 8, c, CR_CLOSE_CLIENT), 0);
    ck_assert_uint_eq(in_use(ctx), base);
    ck_assert_int_eq(cr_ctx_del(ctx), 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Giving memory back is best effort: a failed shrink is benign.            */

typedef struct failing {
    int fail; /* fail every malloc/realloc while set */
    long failed;
} failing;

static void *f_malloc(size_t n, void *ud)
{
    failing *f = ud;
    if (f->fail) {
        f->failed++;
        return NULL;
    }
    return malloc(n);
}

static void *f_realloc(void *p, size_t n, void *ud)
{
    failing *f = ud;
    if (f->fail) {
        f->failed++;
        return NULL;
    }
    return realloc(p, n);
}

static void f_free(void *p, void *ud)
{
    free(p);
}

START_TEST(test_core_lifetime_shrink_failure_is_benign)
{
    failing f = {0, 0};
    cr_allocator a = {f_malloc, f_realloc, f_free, &f};
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    p.pending_deadline = 1000;
    cr_ctx *ctx = NULL;
    ck_assert_int_eq(cr_ctx_new(&ctx, &p, NULL, &a, NULL), 0);
    uint64_t base = in_use(ctx);
    /* 600 live connections and as many timers, in 600 streams of 600 users */
    enum { N = 600 };
    for (int i = 0; i < N; i++) {
        char u[16];
        snprintf(u, sizeof u, "u%d", i);
        ck_assert_int_eq(cr_thread_add(ctx, 0, u, "t"), 0);
        cr_conn_id c = 0;
        ck_assert_int_eq(cr_conn_open(ctx, 0, &c), 0);
        ck_assert_int_eq(cr_conn_authenticate(ctx, 0, c, u), 0);
    }
    uint64_t full = in_use(ctx);
    /* closing and removing all but 10 with the allocator failing: every
     * call succeeds, nothing is given back */
    f.fail = 1;
    for (int i = 0; i < N - 10; i++) {
        char u[16];
        snprintf(u, sizeof u, "u%d", i);
        ck_assert_int_eq(cr_conn_close(ctx, 1, (cr_conn_id)i + 1, CR_CLOSE_CLIENT), 0);
        ck_assert_int_eq(cr_thread_remove(ctx, 1, u, "t"), 0);
    }
    ck_assert_int_gt(f.failed, 0);
    uint64_t held = in_use(ctx);
    ck_assert_uint_lt(held, full); /* the records themselves were freed */
    /* the allocator recovers: the next call shrinks the arrays */
    f.fail = 0;
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 2), 0);
    ck_assert_uint_lt(in_use(ctx), held);
    /* everything still works: the rest expire by the pending deadline */
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 1000), 0);
    cr_stats s;
    cr_ctx_get_stats(ctx, &s);
    ck_assert_uint_eq(s.conns_by_state[CR_CONN_CLOSED], N);
    for (int i = N - 10; i < N; i++) {
        char u[16];
        snprintf(u, sizeof u, "u%d", i);
        ck_assert_int_eq(cr_thread_remove(ctx, 1000, u, "t"), 0);
    }
    ck_assert_uint_eq(in_use(ctx), base);
    ck_assert_int_eq(cr_ctx_del(ctx), 0);
}
END_TEST

static Suite *lifetime_suite(void)
{
    Suite *s = suite_create("core_lifetime");
    TCase *tc = tcase_create("cycles");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_core_lifetime_conn_cycles_return_to_baseline);
    tcase_add_test(tc, test_core_lifetime_pending_deadline_cycles_return_to_baseline);
    tcase_add_test(tc, test_core_lifetime_user_cycles_return_to_baseline);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("records");
    tcase_add_test(tr, test_core_lifetime_thread_remove_refused_while_in_use);
    tcase_add_test(tr, test_core_lifetime_thread_remove_reports_buffered_events);
    tcase_add_test(tr, test_core_lifetime_thread_remove_keeps_other_ttl_timers);
    tcase_add_test(tr, test_core_lifetime_thread_remove_forgets_superseded_association);
    tcase_add_test(tr, test_core_lifetime_user_outlives_its_connections_while_referenced);
    tcase_add_test(tr, test_core_lifetime_shrink_failure_is_benign);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(lifetime_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
