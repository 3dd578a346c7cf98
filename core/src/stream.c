/*
 * stream.c - per-(user, thread) streams (see stream.h).
 *
 * A stream is created by cr_thread_add and lives until cr_thread_remove
 * (refused while anything uses it): its existence is the ownership
 * record.  It numbers its events (seq from
 * 1, no gaps), lists its READY connections in binding order, and (F4)
 * keeps a replay buffer in seq order: undelivered events waiting for a
 * binding, and delivered ones kept as history for reconnect replay.
 */
#include <string.h>

#include "conn.h"
#include "metrics.h"
#include "run.h"
#include "stream.h"

int cr_thread_add(cr_ctx *ctx, uint64_t now, const char *user, const char *thread)
{
    if (!ctx || !cr_id_ok(user) || !cr_id_ok(thread))
        return CR_EINVAL;
    int err = cr_ctx_time_ok(ctx, now);
    if (err)
        return err;
    cr_user *u = cr_user_find(ctx, user);
    if (u && cr_stream_find(ctx, u, thread)) {
        cr_ctx_commit(ctx, now);
        return 0; /* idempotent */
    }
    if (ctx->nstreams == ctx->streams_cap) {
        size_t cap = ctx->streams_cap ? ctx->streams_cap * 2 : 64;
        cr_stream **v = cr_mem_array_realloc(&ctx->mem, ctx->streams, cap, sizeof *v);
        if (!v)
            return CR_ENOMEM;
        ctx->streams = v;
        ctx->streams_cap = cap;
    }
    if (cr_map_reserve(&ctx->skeys, &ctx->mem, 1))
        return CR_ENOMEM;
    int fresh = 0;
    if (!u && cr_user_prepare(ctx, user, &u, &fresh))
        return CR_ENOMEM;
    size_t tlen = strlen(thread) + 1;
    cr_stream *s = cr_mem_zalloc(&ctx->mem, sizeof *s + tlen);
    if (!s) {
        if (fresh)
            cr_mem_free(&ctx->mem, u);
        return CR_ENOMEM;
    }
    if (fresh)
        cr_user_insert(ctx, u);
    cr_user_ref(u);
    memcpy(s->thread, thread, tlen);
    s->user = u;
    s->index = ctx->nstreams;
    ctx->streams[ctx->nstreams++] = s;
    cr_map_put(&ctx->skeys, u->id, s->thread, s);
    cr_ctx_commit(ctx, now);
    return 0;
}

void cr_stream_ready_add(cr_stream *s, cr_conn *c)
{
    c->s_next = NULL;
    c->s_prev = s->ready_tail;
    if (s->ready_tail)
        s->ready_tail->s_next = c;
    else
        s->ready_head = c;
    s->ready_tail = c;
    s->nready++;
}

void cr_stream_ready_remove(cr_stream *s, cr_conn *c)
{
    if (c->s_prev)
        c->s_prev->s_next = c->s_next;
    else
        s->ready_head = c->s_next;
    if (c->s_next)
        c->s_next->s_prev = c->s_prev;
    else
        s->ready_tail = c->s_prev;
    c->s_prev = c->s_next = NULL;
    s->nready--;
}

/* The public view of entry e of stream s. */
static cr_event entry_event(const cr_stream *s, const cr_entry *e)
{
    cr_event ev = {s->user->name, s->thread, e->run, e->seq,        0,
                   e->type,       0,         e->tag, e->emitted_at, e->len ? e->payload : NULL,
                   e->len};
    return ev;
}

/* Unlinks e (whose predecessor is prev, NULL at the head) and updates the
 * gauges.  The caller frees it. */
static void unlink_entry(cr_ctx *ctx, cr_stream *s, cr_entry *prev, cr_entry *e)
{
    if (prev)
        prev->next = e->next;
    else
        s->buf_head = e->next;
    if (s->buf_tail == e)
        s->buf_tail = prev;
    s->buf_len--;
    s->buf_bytes -= e->len;
    ctx->st.buffer_events_now--;
    ctx->st.buffer_bytes_now -= e->len;
    if (!e->delivered) {
        s->undelivered--;
        s->undelivered_bytes -= e->len;
        ctx->st.events_buffered_now--;
    } else if (e->seq > s->history_gone) {
        s->history_gone = e->seq;
    }
}

/* drop_head removes the oldest entry: history silently, an undelivered
 * event settled with outcome o (cr_route_nondelivery). */
static void drop_head(cr_ctx *ctx, uint64_t now, cr_stream *s, cr_outcome o)
{
    cr_entry *e = s->buf_head;
    int delivered = e->delivered;
    unlink_entry(ctx, s, NULL, e);
    if (!delivered) {
        cr_event ev = entry_event(s, e);
        cr_route_nondelivery(ctx, now, o, s->user, &ev);
    }
    cr_mem_free(&ctx->mem, e);
}

void cr_stream_prune(cr_ctx *ctx, uint64_t now, cr_stream *s)
{
    uint64_t ttl = ctx->pol.event_ttl;
    if (!ttl)
        return; /* 0: no age limit */
    while (s->buf_head && cr_sat_add(s->buf_head->emitted_at, ttl) <= now)
        drop_head(ctx, now, s, CR_OUTCOME_EXPIRED);
}

void cr_stream_schedule(cr_ctx *ctx, cr_stream *s)
{
    uint64_t ttl = ctx->pol.event_ttl;
    if (!ttl || !s->buf_head) {
        s->ttl_timer = 0;
        return;
    }
    uint64_t d = cr_sat_add(s->buf_head->emitted_at, ttl);
    if (s->ttl_timer && s->ttl_deadline == d)
        return;
    s->ttl_deadline = d;
    s->ttl_timer = cr_heap_push(&ctx->timers, d, CR_TIMER_TTL, s->index);
}

/* At most this many "no longer buffered" reports per replay (the rest of a
 * gap is summarised in one more). */
#define GAP_REPORTS_MAX 256

void cr_stream_replay(cr_ctx *ctx, uint64_t now, cr_stream *s, cr_conn *c, uint64_t last_seq)
{
    /* Delivered events after the client's last seq that the history no
     * longer holds (aged out or evicted) cannot be replayed: with F9 that is
     * said, one report per event, never left silent (undelivered ones that
     * expired were reported as such already).  O(gap), bounded. */
    uint64_t oldest = s->buf_head ? s->buf_head->seq : s->seq + 1;
    uint64_t end = oldest - 1 < s->history_gone ? oldest - 1 : s->history_gone;
    if (ctx->pol.report_undeliverable && ctx->pol.buffer_until_ready && last_seq < end) {
        uint64_t n = 0;
        for (uint64_t q = last_seq + 1; q <= end; q++, n++) {
            if (n == GAP_REPORTS_MAX) {
                cr_out_report_seq(ctx, now, CR_REPORT_INFO, 0, c->id, s->user->name, s->thread, q,
                                  "replay gap: this and later events no longer buffered");
                break;
            }
            cr_out_report_seq(ctx, now, CR_REPORT_INFO, 0, c->id, s->user->name, s->thread, q,
                              "replay gap: event no longer buffered");
        }
    }
    for (cr_entry *e = s->buf_head; e; e = e->next) {
        if (e->seq <= last_seq)
            continue;
        cr_event ev = entry_event(s, e);
        ev.flags = CR_EVENT_REPLAY;
        ev.generation = c->generation;
        int first = !e->delivered;
        if (first) {
            e->delivered = 1;
            s->undelivered--;
            s->undelivered_bytes -= e->len;
            ctx->st.events_buffered_now--;
            ctx->st.outcomes[CR_OUTCOME_BUFFERED_DELIVERED]++;
            cr_hist_add(&ctx->st.buffer_delay, now - e->emitted_at);
        }
        cr_out_deliver(ctx, now, c, &ev);
        if (first)
            cr_route_report_resolved(ctx, now, c->id, &ev);
    }
}

static int over(const cr_policy *p, size_t n, size_t bytes)
{
    return n > p->event_buffer_max || bytes > p->event_buffer_max_bytes;
}

int cr_stream_make_room(cr_ctx *ctx, cr_stream *s, size_t len)
{
    const cr_policy *p = &ctx->pol;
    if (!over(p, s->buf_len + 1, s->buf_bytes + len))
        return 1;
    /* Evicting every delivered entry is the most we may do; if even that
     * is not enough, evict nothing. */
    if (over(p, s->undelivered + 1, s->undelivered_bytes + len))
        return 0;
    cr_entry *prev = NULL, *e = s->buf_head;
    while (over(p, s->buf_len + 1, s->buf_bytes + len)) {
        cr_entry *next = e->next;
        if (e->delivered) {
            unlink_entry(ctx, s, prev, e);
            cr_mem_free(&ctx->mem, e);
        } else {
            prev = e;
        }
        e = next;
    }
    return 1;
}

void cr_stream_append(cr_ctx *ctx, cr_stream *s, cr_entry *e)
{
    e->next = NULL;
    if (s->buf_tail)
        s->buf_tail->next = e;
    else
        s->buf_head = e;
    s->buf_tail = e;
    s->buf_len++;
    s->buf_bytes += e->len;
    ctx->st.buffer_events_now++;
    ctx->st.buffer_bytes_now += e->len;
    if (!e->delivered) {
        s->undelivered++;
        s->undelivered_bytes += e->len;
        ctx->st.events_buffered_now++;
    }
}

int cr_stream_on_ttl(cr_ctx *ctx, uint64_t now, cr_stream *s)
{
    s->ttl_timer = 0;
    cr_stream_prune(ctx, now, s);
    cr_stream_schedule(ctx, s);
    return 0;
}

/* in_use: does a connection view s, wait for it or ask for it, or does a
 * message or run refer to it?  O(connections of the user). */
static int in_use(const cr_stream *s)
{
    if (s->refs || s->nready)
        return 1;
    for (const cr_conn *c = s->user->conns_head; c; c = c->u_next)
        if (c->bound == s || c->assoc_target == s || c->switch_owed == s)
            return 1;
    return 0;
}

/* forget_conns removes what the user's connections remember of s: the
 * sent-seq ring (a later stream at the same address must not inherit it)
 * and superseded associations (their answers are then ignored).  O(conns
 * of the user). */
static void forget_conns(cr_ctx *ctx, cr_stream *s)
{
    for (cr_conn *c = s->user->conns_head; c; c = c->u_next) {
        for (int i = 0; i < CR_CONN_SENT_SLOTS; i++)
            if (c->sent_stream[i] == s) {
                c->sent_stream[i] = NULL;
                c->sent_seq[i] = 0;
            }
        for (int i = 0; i < CR_CONN_STALE_SLOTS; i++)
            if (c->stale_stream[i] == s) {
                if (c->stale_req[i])
                    cr_map_del(&ctx->reqs, c->stale_req[i], NULL);
                c->stale_req[i] = 0;
                c->stale_stream[i] = NULL;
            }
    }
}

int cr_thread_remove(cr_ctx *ctx, uint64_t now, const char *user, const char *thread)
{
    if (!ctx || !cr_id_ok(user) || !cr_id_ok(thread))
        return CR_EINVAL;
    int err = cr_ctx_time_ok(ctx, now);
    if (err)
        return err;
    cr_user *u = cr_user_find(ctx, user);
    cr_stream *s = u ? cr_stream_find(ctx, u, thread) : NULL;
    if (!s)
        return CR_ENOTFOUND;
    if (in_use(s))
        return CR_ESTATE;
    /* The stream moved into s's place gets its TTL timer re-armed. */
    if (cr_heap_reserve(&ctx->timers, &ctx->mem, 1))
        return CR_ENOMEM;

    /* Events still waiting for a reader are never silently dropped. */
    while (s->buf_head)
        drop_head(ctx, now, s, CR_OUTCOME_UNROUTABLE);
    forget_conns(ctx, s);
    cr_map_del(&ctx->skeys, u->id, s->thread);
    cr_stream *last = ctx->streams[--ctx->nstreams];
    if (last != s) {
        last->index = s->index;
        ctx->streams[s->index] = last;
        if (last->ttl_timer) {
            last->ttl_timer = 0; /* its entry names the old index: stale */
            cr_stream_schedule(ctx, last);
        }
    }
    cr_mem_free(&ctx->mem, s);
    cr_user_unref(ctx, u);
    cr_ctx_commit(ctx, now);
    return 0;
}

void cr_stream_free(cr_ctx *ctx, cr_stream *s)
{
    while (s->buf_head) {
        cr_entry *e = s->buf_head;
        s->buf_head = e->next;
        cr_mem_free(&ctx->mem, e);
    }
    cr_mem_free(&ctx->mem, s);
}
