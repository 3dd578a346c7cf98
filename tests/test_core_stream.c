/*
 * test_core_stream.c - the replay buffer of a stream (F4) as stored: one
 * block of variable-length records per stream (core/src/stream.c).
 *
 * A reference model (a plain array of events) runs beside the core through
 * seeded random sequences of emits, bindings with every kind of last_seq,
 * closes and time steps (equal and distinct emission times, jumps that
 * change the size of the encoded deltas), with small count and byte bounds
 * so that the block keeps wrapping: dropped from the head by TTL and by
 * eviction, compacted when delivered history behind an undelivered head is
 * evicted.  Every delivered event (live or replayed) must carry exactly the
 * model's run, seq, tag, type, emission time and payload bytes, every
 * expiry must be reported in seq order at its TTL, and the gauges and the
 * dump must agree with the model at every step.  Virtual time only.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "tests/lib/core_rec.h"

#define PAYLOAD_MAX 160
#define MODEL_MAX   64
#define OUT_MAX     256

typedef struct mev {
    uint64_t seq, run, tag, at;
    uint32_t type;
    size_t len;
    unsigned char payload[PAYLOAD_MAX];
    int delivered;
} mev;

/* What the core said, recorded by the callbacks. */
typedef struct out {
    int kind; /* 'D' deliver, 'E' expired report */
    cr_conn_id conn;
    uint32_t flags;
    mev ev;
} out;

typedef struct world {
    /* the model */
    mev buf[MODEL_MAX];
    size_t n;
    uint64_t seq;
    uint64_t max, max_bytes, ttl;
    /* the core */
    cr_ctx *ctx;
    uint64_t now;
    uint64_t req;
    cr_conn_id conn; /* the READY connection, 0: none */
    cr_run_id runs[2];
    out outs[OUT_MAX];
    size_t nout;
    uint64_t x; /* PRNG state */
} world;

static uint64_t next(world *w)
{
    /* splitmix64 */
    uint64_t z = (w->x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void on_deliver(void *ud, uint64_t now, cr_conn_id c, const cr_event *e)
{
    world *w = ud;
    CHECK(w->nout < OUT_MAX);
    out *o = &w->outs[w->nout++];
    o->kind = 'D';
    o->conn = c;
    o->flags = e->flags;
    o->ev.seq = e->seq;
    o->ev.run = e->run;
    o->ev.tag = e->tag;
    o->ev.at = e->emitted_at;
    o->ev.type = e->type;
    o->ev.len = e->payload_len;
    CHECK(e->payload_len <= PAYLOAD_MAX);
    CHECK((e->payload_len == 0) == (e->payload == NULL));
    if (e->payload_len)
        memcpy(o->ev.payload, e->payload, e->payload_len);
}

static void on_associate(void *ud, uint64_t now, uint64_t req, cr_conn_id c, const char *user,
                         const char *thread)
{
    ((world *)ud)->req = req;
}

static void on_report(void *ud, uint64_t now, const cr_report *r)
{
    world *w = ud;
    if (r->kind != CR_REPORT_OUTCOME || r->outcome != CR_OUTCOME_EXPIRED)
        return;
    CHECK(w->nout < OUT_MAX);
    out *o = &w->outs[w->nout++];
    memset(o, 0, sizeof *o);
    o->kind = 'E';
    o->ev.seq = r->seq;
    o->ev.run = r->run;
    o->ev.tag = r->tag;
    o->ev.at = now;
}

/* ---- model ---- */

static int over(const world *w, size_t n, size_t bytes)
{
    return n > w->max || bytes > w->max_bytes;
}

static void model_remove(world *w, size_t i)
{
    memmove(&w->buf[i], &w->buf[i + 1], (w->n - i - 1) * sizeof w->buf[0]);
    w->n--;
}

static size_t model_bytes(const world *w, int undelivered_only)
{
    size_t b = 0;
    for (size_t i = 0; i < w->n; i++)
        if (!undelivered_only || !w->buf[i].delivered)
            b += w->buf[i].len;
    return b;
}

static size_t model_undelivered(const world *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->n; i++)
        n += !w->buf[i].delivered;
    return n;
}

/* Prunes at `now`; the expired undelivered ones are expected as reports. */
static void model_prune(world *w, uint64_t now, size_t *k)
{
    while (w->n && w->buf[0].at + w->ttl <= now) { /* no overflow: times stay below 2^60 */
        if (!w->buf[0].delivered) {
            ck_assert_uint_lt(*k, w->nout);
            const out *o = &w->outs[(*k)++];
            ck_assert_int_eq(o->kind, 'E');
            ck_assert_uint_eq(o->ev.seq, w->buf[0].seq);
            ck_assert_uint_eq(o->ev.run, w->buf[0].run);
            ck_assert_uint_eq(o->ev.tag, w->buf[0].tag);
        }
        model_remove(w, 0);
    }
}

/* Room for one more of len bytes, as the contract says. */
static int model_make_room(world *w, size_t len)
{
    if (!over(w, w->n + 1, model_bytes(w, 0) + len))
        return 1;
    if (over(w, model_undelivered(w) + 1, model_bytes(w, 1) + len))
        return 0;
    for (size_t i = 0; i < w->n && over(w, w->n + 1, model_bytes(w, 0) + len);)
        if (w->buf[i].delivered)
            model_remove(w, i);
        else
            i++;
    return 1;
}

static void same_event(const mev *got, const mev *want)
{
    ck_assert_uint_eq(got->seq, want->seq);
    ck_assert_uint_eq(got->run, want->run);
    ck_assert_uint_eq(got->tag, want->tag);
    ck_assert_uint_eq(got->at, want->at);
    ck_assert_uint_eq(got->type, want->type);
    ck_assert_uint_eq(got->len, want->len);
    ck_assert(memcmp(got->payload, want->payload, want->len) == 0);
}

/* The gauges and the dump line agree with the model. */
static void check_state(world *w)
{
    cr_stats s;
    cr_ctx_get_stats(w->ctx, &s);
    ck_assert_uint_eq(s.buffer_events_now, w->n);
    ck_assert_uint_eq(s.events_buffered_now, model_undelivered(w));
    ck_assert_uint_eq(s.buffer_bytes_now, model_bytes(w, 0));
    char *d = rec_dump(w->ctx);
    const char *line = strstr(d, "stream user=u thread=t ");
    if (!w->n) {
        ck_assert_ptr_null(line);
    } else {
        char want[256];
        snprintf(want, sizeof want,
                 "stream user=u thread=t seq=%llu buffered=%zu undelivered=%zu bytes=%zu "
                 "ready=%d first_seq=%llu\n",
                 (unsigned long long)w->seq, w->n, model_undelivered(w), model_bytes(w, 0),
                 w->conn != 0, (unsigned long long)w->buf[0].seq);
        ck_assert_ptr_nonnull(line);
        ck_assert_str_eq(line, want);
    }
    free(d);
}

/* ---- steps ---- */

static uint64_t pick_tag(world *w)
{
    switch (next(w) % 4) {
    case 0:
        return next(w) % 8;
    case 1:
        return UINT64_MAX - next(w) % 8;
    case 2:
        return next(w);
    default:
        return w->n ? w->buf[w->n - 1].tag : 0;
    }
}

static void step_emit(world *w)
{
    mev e;
    memset(&e, 0, sizeof e);
    e.run = w->runs[next(w) % 2];
    e.tag = pick_tag(w);
    e.type = next(w) % 3 == 0 ? (uint32_t)next(w) : (uint32_t)(next(w) % 5);
    e.len = next(w) % 4 == 0 ? 0 : (size_t)(next(w) % PAYLOAD_MAX);
    for (size_t i = 0; i < e.len; i++)
        e.payload[i] = (unsigned char)next(w);
    e.at = w->now;
    cr_event_in in = {e.type, e.tag, e.len ? e.payload : NULL, e.len};
    w->nout = 0;
    uint64_t seq = 0;
    cr_outcome o;
    int rc = cr_run_emit(w->ctx, w->now, e.run, &in, &seq, &o);
    size_t k = 0;
    model_prune(w, w->now, &k);
    e.seq = ++w->seq;
    ck_assert_uint_eq(seq, e.seq);
    if (w->conn) {
        ck_assert_int_eq(rc, 0);
        ck_assert_int_eq(o, CR_OUTCOME_DELIVERED);
        ck_assert_uint_lt(k, w->nout);
        ck_assert_int_eq(w->outs[k].kind, 'D');
        ck_assert_uint_eq(w->outs[k].flags, 0);
        same_event(&w->outs[k].ev, &e);
        k++;
        e.delivered = 1;
        if (model_make_room(w, e.len))
            w->buf[w->n++] = e;
    } else if (model_make_room(w, e.len)) {
        ck_assert_int_eq(rc, 0);
        ck_assert_int_eq(o, CR_OUTCOME_COUNT);
        w->buf[w->n++] = e;
    } else {
        ck_assert_int_eq(rc, CR_EFULL);
        ck_assert_int_eq(o, CR_OUTCOME_DROPPED_FULL);
    }
    ck_assert_uint_eq(k, w->nout);
}

/* Binds a new connection (closing the old one) with a random last_seq, or
 * with `last` when forced. */
static void step_bind_at(world *w, int forced, uint64_t last)
{
    if (w->conn)
        ck_assert_int_eq(cr_conn_close(w->ctx, w->now, w->conn, CR_CLOSE_CLIENT), 0);
    w->conn = 0;
    cr_conn_id c = rec_open_auth(w->ctx, w->now, "u");
    switch (forced ? 3 : next(w) % 3) {
    case 3:
        break;
    case 0:
        last = 0;
        break;
    case 1:
        last = w->n ? w->buf[next(w) % w->n].seq : w->seq;
        break;
    default:
        last = next(w) % (w->seq + 2);
        break;
    }
    ck_assert_int_eq(cr_conn_switch(w->ctx, w->now, c, "t", last), 0);
    w->nout = 0;
    ck_assert_int_eq(cr_assoc_complete(w->ctx, w->now, w->req, 1), 0);
    w->conn = c;
    size_t k = 0;
    model_prune(w, w->now, &k);
    for (size_t i = 0; i < w->n; i++) {
        if (w->buf[i].seq <= last)
            continue;
        ck_assert_uint_lt(k, w->nout);
        const out *o = &w->outs[k++];
        ck_assert_int_eq(o->kind, 'D');
        ck_assert_uint_eq(o->conn, c);
        ck_assert_uint_eq(o->flags, CR_EVENT_REPLAY);
        same_event(&o->ev, &w->buf[i]);
        w->buf[i].delivered = 1;
    }
    ck_assert_uint_eq(k, w->nout);
}

static void step_bind(world *w)
{
    step_bind_at(w, 0, 0);
}

static void step_time(world *w)
{
    uint64_t r = next(w) % 8;
    uint64_t dt = r < 3 ? 0 : r < 6 ? next(w) % (w->ttl / 3) : r < 7 ? w->ttl : next(w) % 100000;
    uint64_t to = w->now + dt;
    w->nout = 0;
    size_t k = 0;
    uint64_t t;
    /* each deadline at its own instant: expiries come out at their TTL */
    while ((t = cr_ctx_get_expiry(w->ctx)) <= to) {
        ck_assert_uint_ge(t, w->now);
        size_t before = w->nout;
        ck_assert_int_eq(cr_ctx_handle_expiry(w->ctx, t), 0);
        for (size_t i = before; i < w->nout; i++)
            ck_assert_uint_eq(w->outs[i].ev.at, t);
        model_prune(w, t, &k);
        w->now = t;
    }
    ck_assert_int_eq(cr_ctx_handle_expiry(w->ctx, to), 0);
    model_prune(w, to, &k);
    ck_assert_uint_eq(k, w->nout);
    w->now = to;
    /* the next deadline is exactly the oldest event's expiry */
    uint64_t want = w->n ? w->buf[0].at + w->ttl : CR_TIME_NEVER;
    ck_assert_uint_eq(cr_ctx_get_expiry(w->ctx), want);
}

static void world_run(uint64_t seed, uint64_t max, uint64_t max_bytes, uint64_t start, int steps)
{
    world *w = calloc(1, sizeof *w);
    ck_assert_ptr_nonnull(w);
    w->x = seed;
    w->max = max;
    w->max_bytes = max_bytes;
    w->ttl = 1000;
    w->now = start;
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    p.event_buffer_max = max;
    p.event_buffer_max_bytes = max_bytes;
    p.event_ttl = w->ttl;
    p.fallback_notify = 0;
    p.pending_deadline = 0;
    cr_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.deliver = on_deliver;
    cb.associate = on_associate;
    cb.report = on_report;
    ck_assert_int_eq(cr_ctx_new(&w->ctx, &p, &cb, NULL, w), 0);
    ck_assert_int_eq(cr_thread_add(w->ctx, w->now, "u", "t"), 0);
    step_bind(w); /* establishes the stream */
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(cr_run_start_for(w->ctx, w->now, "u", "t", &w->runs[i]), 0);
    ck_assert_int_eq(cr_conn_close(w->ctx, w->now, w->conn, CR_CLOSE_CLIENT), 0);
    w->conn = 0;
    uint64_t bytes_empty = rec_stats(w->ctx).bytes_in_use;
    for (int i = 0; i < steps; i++) {
        uint64_t r = next(w) % 16;
        if (r < 9)
            step_emit(w);
        else if (r < 11)
            step_bind(w);
        else if (r < 12 && w->conn) {
            ck_assert_int_eq(cr_conn_close(w->ctx, w->now, w->conn, CR_CLOSE_CLIENT), 0);
            w->conn = 0;
        } else {
            step_time(w);
        }
        check_state(w);
    }
    /* everything ages out: the buffer's block is gone with it */
    if (w->conn)
        ck_assert_int_eq(cr_conn_close(w->ctx, w->now, w->conn, CR_CLOSE_CLIENT), 0);
    w->conn = 0;
    w->nout = 0;
    size_t k = 0;
    w->now += w->ttl;
    ck_assert_int_eq(cr_ctx_handle_expiry(w->ctx, w->now), 0);
    model_prune(w, w->now, &k);
    ck_assert_uint_eq(w->n, 0);
    check_state(w);
    ck_assert_uint_eq(rec_stats(w->ctx).bytes_in_use, bytes_empty);
    cr_ctx_del(w->ctx);
    free(w);
}

/* Count bound: the block wraps as history goes at the head and comes at
 * the tail; small times (one-byte deltas) and equal emission times. */
START_TEST(test_core_stream_matches_model_count_bound)
{
    for (uint64_t seed = 1; seed <= 40; seed++)
        world_run(seed, 6, 1 << 20, 1, 400);
}
END_TEST

/* Byte bound (150 or 500) with payloads of 0..159 bytes (some that never
 * fit); times near 2^50 and jumps of up to 1e5 (deltas of one to three
 * bytes). */
START_TEST(test_core_stream_matches_model_byte_bound)
{
    for (uint64_t seed = 100; seed <= 140; seed++)
        world_run(seed, 64, seed % 2 ? 500 : 150, UINT64_C(1) << 50, 400);
}
END_TEST

/* Undelivered events at the head (the client's last_seq said it had them)
 * stay while delivered history behind them is evicted: the records after
 * the head move down over the gaps, re-encoded against new predecessors
 * (tags from 0 to 2^64 - 1 make the deltas change size). */
START_TEST(test_core_stream_evicts_behind_undelivered_head)
{
    world *w = calloc(1, sizeof *w);
    ck_assert_ptr_nonnull(w);
    w->max = 4;
    w->max_bytes = 1 << 20;
    w->ttl = 1000;
    w->now = 1;
    w->x = 7;
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    p.event_buffer_max = 4;
    p.event_ttl = 1000;
    p.fallback_notify = 0;
    cr_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.deliver = on_deliver;
    cb.associate = on_associate;
    cb.report = on_report;
    ck_assert_int_eq(cr_ctx_new(&w->ctx, &p, &cb, NULL, w), 0);
    ck_assert_int_eq(cr_thread_add(w->ctx, 1, "u", "t"), 0);
    cr_conn_id c = rec_open_auth(w->ctx, 1, "u");
    ck_assert_int_eq(cr_conn_switch(w->ctx, 1, c, "t", 0), 0);
    ck_assert_int_eq(cr_assoc_complete(w->ctx, 1, w->req, 1), 0);
    ck_assert_int_eq(cr_run_start_for(w->ctx, 1, "u", "t", &w->runs[0]), 0);
    w->runs[1] = w->runs[0];
    ck_assert_int_eq(cr_conn_close(w->ctx, 1, c, CR_CLOSE_CLIENT), 0);
    /* two undelivered events, then a binding that claims them */
    for (int i = 0; i < 2; i++)
        step_emit(w);
    /* a binding whose last_seq covers them: they stay undelivered */
    c = rec_open_auth(w->ctx, 2, "u");
    ck_assert_int_eq(cr_conn_switch(w->ctx, 2, c, "t", 2), 0);
    w->nout = 0;
    ck_assert_int_eq(cr_assoc_complete(w->ctx, 2, w->req, 1), 0);
    ck_assert_uint_eq(w->nout, 0);
    w->conn = c;
    for (int i = 0; i < 30; i++) {
        w->now += i % 3 ? 0 : 1 + (uint64_t)i * 7;
        step_emit(w); /* delivered; history behind the head evicted */
        check_state(w);
        ck_assert_uint_eq(w->n, i == 0 ? 3 : 4);
        ck_assert_int_eq(w->buf[0].delivered, 0);
        ck_assert_int_eq(w->buf[1].delivered, 0);
    }
    /* a fresh binding from 0 replays all four, the head two for the first time */
    step_bind_at(w, 1, 0);
    check_state(w);
    cr_stats s = rec_stats(w->ctx);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_BUFFERED_DELIVERED], 2);
    cr_ctx_del(w->ctx);
    free(w);
}
END_TEST

/* Many events expiring at distinct and at equal instants: each at its
 * TTL, in seq order, one deadline per distinct instant. */
START_TEST(test_core_stream_ttl_distinct_and_equal_instants)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "event_ttl=100", "fallback_notify=0",
                              "pending_deadline=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    rec_establish(ctx, &r, 0, "alice", "t1");
    cr_run_id run = 0;
    cr_run_start_for(ctx, 0, "alice", "t1", &run);
    /* 60 events: three per instant at 10, 13, 16, ... */
    for (uint64_t i = 0; i < 60; i++) {
        cr_event_in ev = {0, i, "p", 1};
        ck_assert_int_eq(cr_run_emit(ctx, 10 + (i / 3) * 3, run, &ev, NULL, NULL), 0);
    }
    rec_since(&r);
    uint64_t deadlines = 0, expired = 0, t;
    while ((t = cr_ctx_get_expiry(ctx)) != CR_TIME_NEVER) {
        ck_assert_uint_eq(t, 110 + deadlines * 3);
        ck_assert_int_eq(cr_ctx_handle_expiry(ctx, t), 0);
        char want[512] = "";
        for (int k = 0; k < 3; k++, expired++) {
            char line[128];
            snprintf(line, sizeof line,
                     "%llu report OUTCOME expired err=0 c=0 run=1 alice/t1 seq=%llu tag=%llu\n",
                     (unsigned long long)t, (unsigned long long)expired + 1,
                     (unsigned long long)expired);
            strcat(want, line);
        }
        ck_assert_str_eq(rec_since(&r), want);
        deadlines++;
    }
    ck_assert_uint_eq(deadlines, 20);
    ck_assert_uint_eq(rec_stats(ctx).outcomes[CR_OUTCOME_EXPIRED], 60);
    ck_assert_uint_eq(rec_stats(ctx).buffer_events_now, 0);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* event_ttl 0: no age limit, no TTL timer; the buffer holds until a
 * binding takes it. */
START_TEST(test_core_stream_no_ttl_no_timer)
{
    rec r;
    cr_ctx *ctx = rec_new_ctx(&r, CR_PROFILE_FIXED, "event_ttl=0", "pending_deadline=0", NULL);
    cr_thread_add(ctx, 0, "alice", "t1");
    rec_establish(ctx, &r, 0, "alice", "t1");
    cr_run_id run = 0;
    cr_run_start_for(ctx, 0, "alice", "t1", &run);
    for (uint64_t i = 0; i < 3; i++) {
        cr_event_in ev = {0, i, "p", 1};
        ck_assert_int_eq(cr_run_emit(ctx, 10 + i, run, &ev, NULL, NULL), 0);
        ck_assert_uint_eq(cr_ctx_get_expiry(ctx), CR_TIME_NEVER);
    }
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, UINT64_MAX / 2), 0);
    ck_assert_uint_eq(rec_stats(ctx).events_buffered_now, 3);
    cr_conn_id c = rec_open_auth(ctx, UINT64_MAX / 2, "alice");
    cr_conn_switch(ctx, UINT64_MAX / 2, c, "t1", 0);
    rec_since(&r);
    cr_assoc_complete(ctx, UINT64_MAX / 2, rec_last_req(&r), 1);
    ck_assert_uint_eq(rec_stats(ctx).outcomes[CR_OUTCOME_BUFFERED_DELIVERED], 3);
    ck_assert_uint_eq(rec_stats(ctx).events_buffered_now, 0);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* An allocator that fails its calls while `fail` is set. */
static int fail_now;
static void *fl_malloc(size_t n, void *ud)
{
    return fail_now ? NULL : malloc(n);
}
static void *fl_realloc(void *p, size_t n, void *ud)
{
    return fail_now ? NULL : realloc(p, n);
}
static void fl_free(void *p, void *ud)
{
    free(p);
}

/* fl_ctx: a context on policy *p recording into *r, on that allocator. */
static cr_ctx *fl_ctx(const cr_policy *p, rec *r)
{
    cr_allocator a = {fl_malloc, fl_realloc, fl_free, NULL};
    cr_ctx *ctx = NULL;
    ck_assert_int_eq(cr_ctx_new(&ctx, p, &rec_callbacks, &a, r), 0);
    return ctx;
}

/* A rebinding never replays what the connection itself was sent, for the
 * last 8 streams it was bound to (2 slots in the record, the other 6
 * allocated with the binding to a third stream: a failure there is
 * CR_ENOMEM and changes nothing); the 9th and 10th replace the 1st and
 * 2nd. */
START_TEST(test_core_stream_rebind_skips_what_was_sent)
{
    rec r;
    memset(&r, 0, sizeof r);
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    p.pending_deadline = 0;
    cr_ctx *ctx = fl_ctx(&p, &r);
    cr_conn_id c = rec_open_auth(ctx, 0, "u");
    char t[8];
    for (int i = 0; i < 10; i++) {
        snprintf(t, sizeof t, "t%d", i);
        ck_assert_int_eq(cr_thread_add(ctx, 2, "u", t), 0);
        ck_assert_int_eq(cr_conn_switch(ctx, 2, c, t, 0), 0);
        if (i == 2) {
            char *before = rec_dump(ctx);
            rec_since(&r);
            fail_now = 1;
            ck_assert_int_eq(cr_assoc_complete(ctx, 2, rec_last_req(&r), 1), CR_ENOMEM);
            fail_now = 0;
            char *after = rec_dump(ctx);
            ck_assert_str_eq(after, before);
            ck_assert_str_eq(rec_since(&r), "");
            free(before);
            free(after);
        }
        ck_assert_int_eq(cr_assoc_complete(ctx, 2, rec_last_req(&r), 1), 0);
        cr_run_id run = 0;
        ck_assert_int_eq(cr_run_start_for(ctx, 2, "u", t, &run), 0);
        cr_event_in ev = {0, (uint64_t)i, "p", 1};
        ck_assert_int_eq(cr_run_emit(ctx, 2, run, &ev, NULL, NULL), 0);
        ck_assert_int_eq(cr_run_end(ctx, 2, run), 0);
    }
    /* t2..t9 are remembered: no replay from last_seq 0 */
    for (int i = 2; i < 10; i++) {
        snprintf(t, sizeof t, "t%d", i);
        ck_assert_int_eq(cr_conn_switch(ctx, 3, c, t, 0), 0);
        rec_since(&r);
        ck_assert_int_eq(cr_assoc_complete(ctx, 3, rec_last_req(&r), 1), 0);
        ck_assert_ptr_null(strstr(rec_since(&r), "deliver"));
    }
    /* t0 was forgotten (its slot went to t8): its event is replayed */
    ck_assert_int_eq(cr_conn_switch(ctx, 4, c, "t0", 0), 0);
    rec_since(&r);
    ck_assert_int_eq(cr_assoc_complete(ctx, 4, rec_last_req(&r), 1), 0);
    ck_assert_str_eq(rec_since(&r), "4 deliver c=1 u/t0 run=1 seq=1 gen=19 flags=1 tag=0\n"
                                    "4 notice c=1 SWITCHED thread=t0 tag=0 err=0\n");
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

/* A burst of 120 events of 100 bytes for nobody grows the block past
 * 12 KiB; once all but the last have aged out, the block is moved into one
 * of its size (bytes_in_use back within 1 KiB of what it was before the
 * burst), and what is left is delivered whole on the next binding.
 * _i = 1: the shrink's allocation fails at the expiry: nothing else
 * changes (no error, the large block kept), and the next change of the
 * buffer shrinks it. */
START_TEST(test_core_stream_block_shrinks_after_burst)
{
    rec r;
    memset(&r, 0, sizeof r);
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    p.pending_deadline = 0;
    p.fallback_notify = 0;
    p.event_ttl = 1000;
    p.event_buffer_max = 1000;
    p.event_buffer_max_bytes = 1 << 20;
    cr_ctx *ctx = fl_ctx(&p, &r);
    ck_assert_int_eq(cr_thread_add(ctx, 0, "u", "t"), 0);
    rec_establish(ctx, &r, 0, "u", "t");
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, 0, "u", "t", &run), 0);
    char pay[100];
    memset(pay, 'x', sizeof pay);
    uint64_t base = rec_stats(ctx).bytes_in_use;
    for (int i = 0; i < 120; i++) {
        cr_event_in ev = {0, (uint64_t)i, pay, sizeof pay};
        ck_assert_int_eq(cr_run_emit(ctx, 10, run, &ev, NULL, NULL), 0);
    }
    ck_assert_uint_gt(rec_stats(ctx).bytes_in_use, base + 120 * sizeof pay);
    cr_event_in last = {0, 7, pay, 40};
    ck_assert_int_eq(cr_run_emit(ctx, 500, run, &last, NULL, NULL), 0);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 1010);
    fail_now = _i;
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 1010), 0);
    fail_now = 0;
    cr_stats st = rec_stats(ctx);
    ck_assert_uint_eq(st.outcomes[CR_OUTCOME_EXPIRED], 120);
    ck_assert_uint_eq(st.events_buffered_now, 1);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), 1500);
    if (_i) {
        ck_assert_uint_gt(st.bytes_in_use, base + 120 * sizeof pay); /* kept */
        cr_event_in more = {0, 8, pay, 1};
        ck_assert_int_eq(cr_run_emit(ctx, 1100, run, &more, NULL, NULL), 0);
    }
    /* (the rest of the 1 KiB: the timer heap, grown once) */
    ck_assert_uint_lt(rec_stats(ctx).bytes_in_use, base + 1024);
    /* what is left is whole, replayed on the next binding */
    cr_conn_id c = rec_open_auth(ctx, 1200, "u");
    ck_assert_int_eq(cr_conn_switch(ctx, 1200, c, "t", 0), 0);
    rec_since(&r);
    ck_assert_int_eq(cr_assoc_complete(ctx, 1200, rec_last_req(&r), 1), 0);
    const char *got = rec_since(&r);
    ck_assert_msg(strstr(got, "seq=121 gen=1 flags=1 tag=7") != NULL, "%s", got);
    ck_assert_int_eq(strstr(got, "seq=122 gen=1 flags=1 tag=8") != NULL, _i);
    ck_assert_uint_eq(rec_stats(ctx).outcomes[CR_OUTCOME_BUFFERED_DELIVERED], 1 + (uint64_t)_i);
    cr_ctx_del(ctx);
    rec_free(&r);
}
END_TEST

static Suite *stream_suite(void)
{
    Suite *s = suite_create("core_stream");
    TCase *tc = tcase_create("history");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_core_stream_matches_model_count_bound);
    tcase_add_test(tc, test_core_stream_matches_model_byte_bound);
    tcase_add_test(tc, test_core_stream_evicts_behind_undelivered_head);
    tcase_add_test(tc, test_core_stream_ttl_distinct_and_equal_instants);
    tcase_add_test(tc, test_core_stream_rebind_skips_what_was_sent);
    tcase_add_test(tc, test_core_stream_no_ttl_no_timer);
    tcase_add_loop_test(tc, test_core_stream_block_shrinks_after_burst, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(stream_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
