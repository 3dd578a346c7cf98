/*
 * run.c - agent runs: start and validation (F2), run_go (with the legacy
 * late association, F1 off), emit and routing (F4, F7), non-delivery
 * accounting and fallback (F9).
 *
 * A run is valid when it has a user and a thread and a binding of (user,
 * thread) has landed at least once (the stream is established).  A run
 * that goes without being valid has lost its context: each of its events
 * is UNROUTABLE.
 */
#include <string.h>

#include "conn.h"
#include "run.h"
#include "stream.h"

/* ------------------------------------------------------------------------ */
/* Non-delivery                                                             */

/* An outcome report; conn: the receiving connection (fallback, replay), 0
 * if none. */
static void report_outcome(cr_ctx *ctx, uint64_t now, cr_outcome o, cr_conn_id conn,
                           const cr_event *ev, const char *message)
{
    cr_report r = {CR_REPORT_OUTCOME, 0,          o,       conn,    ev->run,
                   ev->user,          ev->thread, ev->seq, ev->tag, message};
    CR_CALL(ctx, report, now, &r);
}

cr_outcome cr_route_nondelivery(cr_ctx *ctx, uint64_t now, cr_outcome o, cr_user *u, cr_event *ev)
{
    const cr_policy *p = &ctx->pol;
    if (!p->report_undeliverable) {
        if (o == CR_OUTCOME_DROPPED_FULL)
            ctx->st.outcomes[o]++; /* a bound hit is never silent */
        return o;
    }
    cr_conn *fb = NULL;
    if (o != CR_OUTCOME_DROPPED_FULL && p->fallback_notify && u)
        fb = cr_user_fallback(u);
    if (fb) {
        ev->flags |= CR_EVENT_NOTIFICATION;
        ev->generation = fb->generation;
        cr_out_deliver(ctx, now, fb, ev);
        o = CR_OUTCOME_FALLBACK;
    }
    ctx->st.outcomes[o]++;
    static const char *const why[CR_OUTCOME_COUNT] = {
        [CR_OUTCOME_EXPIRED] = "event expired in the buffer: no connection became ready",
        [CR_OUTCOME_FALLBACK] = "event sent as a notification to another connection of the user",
        [CR_OUTCOME_DROPPED_FULL] = "event dropped: stream buffer full",
        [CR_OUTCOME_UNROUTABLE] = "event unroutable: no ready connection and no thread context",
    };
    report_outcome(ctx, now, o, fb ? fb->id : 0, ev, why[o] ? why[o] : "event not delivered");
    return o;
}

void cr_route_report_resolved(cr_ctx *ctx, uint64_t now, cr_conn_id conn, const cr_event *ev)
{
    if (ctx->pol.report_undeliverable)
        report_outcome(ctx, now, CR_OUTCOME_BUFFERED_DELIVERED, conn, ev,
                       "buffered event delivered on binding");
}

/* ------------------------------------------------------------------------ */
/* Start, validation, go                                                    */

static int run_valid(const cr_run *r)
{
    return r->user && r->stream && r->stream->established;
}

/* The run may execute.  With F1 off, the message's association is
 * requested now (the legacy handler associated during execution).  Needs
 * one reqs slot. */
static void run_go(cr_ctx *ctx, uint64_t now, cr_run *r, int lost)
{
    r->go = 1;
    r->lost = lost;
    r->timer = 0;
    if (lost)
        ctx->st.runs_context_lost++;
    CR_CALL(ctx, run_go, now, r->id);
    cr_stream *t = r->assoc_at_go;
    r->assoc_at_go = NULL;
    if (t) {
        cr_stream_unref(t);
        int err;
        cr_conn *c = cr_conn_lookup(ctx, r->assoc_conn, &err);
        if (c && c->user == t->user && c->bound != t &&
            (c->assoc_target != t || c->assoc_establish))
            cr_conn_assoc_request(ctx, now, c, t, r->assoc_last_seq, 0);
    }
}

/* Arms the validation timer: the next poll, but never past the grace
 * end; exec_retry_interval 0: no polling, the grace end only (a zero
 * period would re-arm at the same instant forever).  Needs one heap
 * slot. */
static void run_wait(cr_ctx *ctx, uint64_t now, cr_run *r)
{
    uint64_t end = cr_sat_add(r->started_at, ctx->pol.exec_grace);
    uint64_t at =
        ctx->pol.exec_retry_interval ? cr_sat_add(now, ctx->pol.exec_retry_interval) : end;
    r->timer = cr_heap_push(&ctx->timers, at < end ? at : end, CR_TIMER_RUN, r->id);
}

/* Registers r and validates it.  Needs a runs slot, a heap slot and a reqs
 * slot. */
static void run_begin(cr_ctx *ctx, uint64_t now, cr_run *r, cr_run_id *out)
{
    r->id = ++ctx->last_run;
    r->started_at = now;
    cr_map_put(&ctx->runs, r->id, NULL, r);
    ctx->st.runs_started++;
    if (out)
        *out = r->id;
    if (run_valid(r))
        run_go(ctx, now, r, 0);
    else if (r->user && r->stream && ctx->pol.exec_grace > 0)
        run_wait(ctx, now, r);
    else
        run_go(ctx, now, r, 1);
}

/* Reserves what run_begin needs and allocates the run. */
static cr_run *run_prepare(cr_ctx *ctx)
{
    if (cr_map_reserve(&ctx->runs, &ctx->mem, 1) || cr_heap_reserve(&ctx->timers, &ctx->mem, 1) ||
        cr_map_reserve(&ctx->reqs, &ctx->mem, 1))
        return NULL;
    return cr_mem_zalloc(&ctx->mem, sizeof(cr_run));
}

int cr_run_start(cr_ctx *ctx, uint64_t now, uint64_t msg_id, cr_run_id *out)
{
    if (!ctx)
        return CR_EINVAL;
    int err = cr_ctx_time_ok(ctx, now);
    if (err)
        return err;
    cr_msg *m = cr_map_get(&ctx->msgs, msg_id, NULL);
    if (!m)
        return CR_ENOTFOUND;
    cr_run *r = run_prepare(ctx);
    if (!r)
        return CR_ENOMEM;
    cr_map_del(&ctx->msgs, msg_id, NULL);
    r->user = m->user;
    r->stream = m->stream;
    r->assoc_conn = m->conn;
    r->assoc_at_go = m->assoc_at_go;
    r->assoc_last_seq = m->last_seq;
    /* The run takes over the message's references but that of its named
     * thread. */
    cr_stream_unref(m->named);
    cr_mem_free(&ctx->mem, m, cr_msg_size(m));
    run_begin(ctx, now, r, out);
    cr_ctx_commit(ctx, now);
    return 0;
}

int cr_run_start_for(cr_ctx *ctx, uint64_t now, const char *user, const char *thread,
                     cr_run_id *out)
{
    if (!ctx || !cr_id_ok(user) || !cr_id_ok(thread))
        return CR_EINVAL;
    int err = cr_ctx_time_ok(ctx, now);
    if (err)
        return err;
    cr_user *u = cr_user_find(ctx, user);
    cr_stream *s = u ? cr_stream_find(ctx, u, thread) : NULL;
    if (!s)
        return CR_EFOREIGN;
    cr_run *r = run_prepare(ctx);
    if (!r)
        return CR_ENOMEM;
    r->user = u;
    r->stream = s;
    cr_user_ref(u);
    cr_stream_ref(s);
    run_begin(ctx, now, r, out);
    cr_ctx_commit(ctx, now);
    return 0;
}

int cr_run_on_timer(cr_ctx *ctx, uint64_t now, cr_run *r)
{
    if (cr_map_reserve(&ctx->reqs, &ctx->mem, 1) || cr_heap_reserve(&ctx->timers, &ctx->mem, 1))
        return CR_ENOMEM;
    if (run_valid(r))
        run_go(ctx, now, r, 0);
    else if (now >= cr_sat_add(r->started_at, ctx->pol.exec_grace))
        run_go(ctx, now, r, 1);
    else
        run_wait(ctx, now, r);
    return 0;
}

int cr_msg_release(cr_ctx *ctx, uint64_t msg_id)
{
    if (!ctx)
        return CR_EINVAL;
    if (ctx->in_cb)
        return CR_EREENTRANT;
    cr_msg *m = cr_map_del(&ctx->msgs, msg_id, NULL);
    if (!m)
        return CR_ENOTFOUND;
    cr_msg_free(ctx, m);
    return 0;
}

int cr_run_end(cr_ctx *ctx, uint64_t now, cr_run_id run)
{
    if (!ctx)
        return CR_EINVAL;
    int err = cr_ctx_time_ok(ctx, now);
    if (err)
        return err;
    cr_run *r = cr_map_del(&ctx->runs, run, NULL);
    if (!r)
        return CR_ENOTFOUND;
    cr_stream_unref(r->stream);
    cr_stream_unref(r->assoc_at_go);
    cr_user_unref(ctx, r->user);
    cr_mem_free(&ctx->mem, r, sizeof *r); /* a pending validation timer turns stale */
    cr_ctx_commit(ctx, now);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Emit                                                                     */

/* Delivers ev to every target of stream s: its READY connections in
 * binding order, and with F7 off also the user's connections that have no
 * thread yet (the legacy pool handed them out), in id order.  Returns the
 * number of receivers.  O(receivers + connections of the user). */
static size_t route_live(cr_ctx *ctx, uint64_t now, cr_stream *s, cr_event *ev)
{
    size_t n = 0;
    for (cr_conn *c = s->ready_head; c; c = c->s_next, n++) {
        ev->generation = c->generation;
        cr_out_deliver(ctx, now, c, ev);
    }
    if (!ctx->pol.pool_pending_marking) {
        for (cr_conn *c = s->user->conns_head; c; c = c->u_next) {
            if (c->state != CR_CONN_PENDING_CONTEXT)
                continue;
            ev->generation = c->generation;
            cr_out_deliver(ctx, now, c, ev);
            n++;
        }
    }
    ev->generation = 0;
    return n;
}

int cr_run_emit(cr_ctx *ctx, uint64_t now, cr_run_id run, const cr_event_in *in, uint64_t *seq,
                cr_outcome *outcome)
{
    if (!ctx || !in)
        return CR_EINVAL;
    int err = cr_ctx_time_ok(ctx, now);
    if (err)
        return err;
    cr_run *r = cr_map_get(&ctx->runs, run, NULL);
    if (!r)
        return run && run <= ctx->last_run ? CR_ESTATE : CR_ENOTFOUND; /* ended: ESTATE */
    if (!r->go)
        return CR_ESTATE;
    if (in->payload_len > ctx->pol.max_payload)
        return CR_ETOOBIG;
    if (in->payload_len && !in->payload)
        return CR_EINVAL;

    const cr_policy *p = &ctx->pol;
    cr_stream *s = r->lost ? NULL : r->stream;
    int buffer = s && p->buffer_until_ready;
    cr_event ev = {r->user ? r->user->name : NULL,
                   r->stream ? r->stream->thread : NULL,
                   r->id,
                   s ? s->seq + 1 : 0,
                   0,
                   in->type,
                   0,
                   in->tag,
                   now,
                   in->payload_len ? in->payload : NULL,
                   in->payload_len};
    if (buffer && (cr_heap_reserve(&ctx->timers, &ctx->mem, 1) || cr_stream_reserve(ctx, s, &ev)))
        return CR_ENOMEM;

    ctx->st.events_emitted++;
    cr_outcome o;
    int rc = 0;
    if (!s) {
        o = cr_route_nondelivery(ctx, now, CR_OUTCOME_UNROUTABLE, r->user, &ev);
    } else {
        cr_stream_prune(ctx, now, s);
        ev.seq = ++s->seq;
        if (route_live(ctx, now, s, &ev) > 0) {
            o = CR_OUTCOME_DELIVERED;
            ctx->st.outcomes[o]++;
            if (buffer) {
                /* History for reconnect replay; skipped if it cannot fit,
                 * and then gone like an evicted entry (a replay after it
                 * reports the gap). */
                if (cr_stream_make_room(ctx, s, ev.payload_len))
                    cr_stream_append(ctx, s, &ev, 1);
                else if (ev.seq > s->history_gone)
                    s->history_gone = ev.seq;
            }
        } else if (buffer) {
            if (cr_stream_make_room(ctx, s, ev.payload_len)) {
                cr_stream_append(ctx, s, &ev, 0);
                o = CR_OUTCOME_COUNT; /* pending */
            } else {
                o = cr_route_nondelivery(ctx, now, CR_OUTCOME_DROPPED_FULL, r->user, &ev);
                rc = CR_EFULL;
            }
        } else {
            o = cr_route_nondelivery(ctx, now, CR_OUTCOME_UNROUTABLE, r->user, &ev);
        }
        cr_stream_schedule(ctx, s);
    }
    /* Legacy: an event routed to nobody vanishes; the router believed it
     * had sent it (to zero connections). */
    if (!p->report_undeliverable && (o == CR_OUTCOME_UNROUTABLE || o == CR_OUTCOME_EXPIRED))
        o = CR_OUTCOME_DELIVERED;
    if (seq)
        *seq = ev.seq;
    if (outcome)
        *outcome = o;
    cr_ctx_commit(ctx, now);
    return rc;
}
