/*
 * conn.c - connections (see conn.h).
 *
 * Life of a connection:
 *
 *   cr_conn_open           OPEN             pending deadline armed
 *   cr_conn_authenticate   PENDING_CONTEXT  F6 cache replayed through the
 *                                           normal message path
 *   binding lands          READY            (cr_assoc_complete ok): replay,
 *                                           F5 queue drained, F3 notice
 *   cr_conn_close / pending deadline  CLOSED  waiting messages rejected
 *
 * Every public function validates fully, then reserves every allocation it
 * may need, and only then mutates: a failure changes nothing.
 */
#include <string.h>

#include "conn.h"
#include "metrics.h"
#include "stream.h"

/* ------------------------------------------------------------------------ */
/* Lists                                                                    */

/* Inserts c into u's connection list, keeping id order: a connection may
 * authenticate after a younger one.  O(1) when ids arrive in order, else
 * O(connections of u). */
static void user_link(cr_user *u, cr_conn *c)
{
    cr_user_ref(u);
    cr_conn *after = u->conns_tail;
    while (after && after->id > c->id)
        after = after->u_prev;
    c->u_prev = after;
    c->u_next = after ? after->u_next : u->conns_head;
    if (c->u_next)
        c->u_next->u_prev = c;
    else
        u->conns_tail = c;
    if (after)
        after->u_next = c;
    else
        u->conns_head = c;
}

static void user_unlink(cr_user *u, cr_conn *c)
{
    if (c->u_prev)
        c->u_prev->u_next = c->u_next;
    else
        u->conns_head = c->u_next;
    if (c->u_next)
        c->u_next->u_prev = c->u_prev;
    else
        u->conns_tail = c->u_prev;
    c->u_prev = c->u_next = NULL;
}

static void msgq_push(cr_msg **head, cr_msg **tail, cr_msg *m)
{
    m->next = NULL;
    if (*tail)
        (*tail)->next = m;
    else
        *head = m;
    *tail = m;
}

static cr_msg *msgq_pop(cr_msg **head, cr_msg **tail)
{
    cr_msg *m = *head;
    *head = m->next;
    if (!*head)
        *tail = NULL;
    m->next = NULL;
    return m;
}

cr_conn *cr_user_fallback(const cr_user *u)
{
    cr_conn *best = NULL;
    for (cr_conn *c = u->conns_head; c; c = c->u_next)
        if (c->state == CR_CONN_READY && (!best || c->bound_at > best->bound_at))
            best = c;
    return best;
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                 */

/* A message record; `copy`: also copy thread and payload (it has to wait). */
static cr_msg *msg_new(cr_ctx *ctx, const cr_message *in, int copy)
{
    size_t tlen = copy && in->thread ? strlen(in->thread) + 1 : 0;
    size_t plen = copy ? in->payload_len : 0;
    if (plen > SIZE_MAX - sizeof(cr_msg) - tlen)
        return NULL;
    cr_msg *m = cr_mem_alloc(&ctx->mem, sizeof *m + tlen + plen);
    if (!m)
        return NULL;
    memset(m, 0, sizeof *m);
    m->tag = in->tag;
    m->last_seq = in->last_seq;
    if (tlen) {
        memcpy(m->data, in->thread, tlen);
        m->thread = (const char *)m->data;
    }
    if (plen) {
        memcpy(m->data + tlen, in->payload, plen);
        m->payload = m->data + tlen;
        m->payload_len = plen;
    }
    return m;
}

/* What happens to a message, decided from the state alone (no mutation),
 * so that the needed allocations can be made before anything changes. */
typedef enum route_kind {
    ROUTE_CACHE,    /* F6: kept until authentication */
    ROUTE_QUEUE,    /* F5: kept until the binding lands */
    ROUTE_DISPATCH, /* to the application now, with (user, thread) below */
    ROUTE_FOREIGN,  /* refused: thread not owned by the user */
    ROUTE_FULL      /* refused: cache or queue bound reached */
} route_kind;

typedef struct route {
    route_kind kind;
    cr_stream *named;  /* the message's thread, resolved */
    cr_stream *assoc;  /* F1 on: request this association first */
    cr_user *user;     /* dispatch context */
    cr_stream *thread; /* dispatch context */
    cr_stream *at_go;  /* F1 off: associate at run_go */
} route;

/* The message rules of the contract, in order.  O(1) expected. */
static route decide(const cr_ctx *ctx, const cr_conn *c, const char *thread)
{
    const cr_policy *p = &ctx->pol;
    route r = {ROUTE_DISPATCH, NULL, NULL, NULL, NULL, NULL};
    if (!c->user) {
        if (p->cache_preauth)
            r.kind = c->cache_len >= p->preauth_max ? ROUTE_FULL : ROUTE_CACHE;
        return r; /* F6 off: dispatched with no context at all */
    }
    r.user = c->user;
    if (thread) {
        r.named = cr_stream_find(ctx, c->user, thread);
        if (!r.named) {
            r.kind = ROUTE_FOREIGN;
            return r;
        }
        if (r.named != c->bound && r.named != c->assoc_target) {
            if (!p->associate_before_execute) {
                /* Legacy handler: run on the named thread now, associate
                 * only once the agent started. */
                r.thread = r.named;
                r.at_go = r.named;
                return r;
            }
            r.assoc = r.named;
        }
    }
    /* Older messages still queued: this one waits behind them (the queue
     * is FIFO per connection, even when this one could go now). */
    int not_ready = !c->bound || c->assoc_target || r.assoc || (r.named && r.named != c->bound) ||
                    c->queue_head;
    if (not_ready && p->queue_until_context) {
        if (c->queue_len >= p->pending_max) {
            r.kind = ROUTE_FULL; /* refused whole: no association either */
            r.assoc = NULL;
        } else {
            r.kind = ROUTE_QUEUE;
        }
        return r;
    }
    r.thread = c->bound; /* ready, or F5 off: the current context */
    return r;
}

/* Counts a refused message and reports it; `notice`: also tell the client
 * (when no return code reaches it). */
static void reject(cr_ctx *ctx, uint64_t now, cr_conn *c, uint64_t tag, const char *thread, int err,
                   int notice, const char *why)
{
    ctx->st.messages_rejected++;
    if (notice)
        cr_out_notice(ctx, now, c->id, CR_NOTICE_MESSAGE_REJECTED, NULL, tag, err);
    cr_out_report(ctx, now, CR_REPORT_ERROR, err, c->id, c->user ? c->user->name : NULL, thread,
                  tag, why);
}

/* Hands m to the application with context (u, s); m stays in ctx->msgs
 * (one slot reserved) until cr_run_start / cr_msg_release. */
static void dispatch(cr_ctx *ctx, uint64_t now, cr_conn *c, cr_msg *m, cr_user *u, cr_stream *s,
                     const void *payload, size_t len)
{
    m->user = u;
    m->stream = s;
    cr_user_ref(u);
    cr_stream_ref(s);
    cr_map_put(&ctx->msgs, m->id, NULL, m);
    ctx->st.messages_dispatched++;
    cr_dispatch d = {
        m->id, u ? u->name : NULL, s ? s->thread : NULL, m->tag, m->received_at, payload, len};
    CR_CALL(ctx, dispatch, now, c->id, &d);
}

/* Carries out an accepted route for record m.  Needs one msgs slot and one
 * reqs slot reserved. */
static void apply(cr_ctx *ctx, uint64_t now, cr_conn *c, const route *r, cr_msg *m,
                  const void *payload, size_t len)
{
    m->named = r->named;
    cr_stream_ref(m->named);
    switch (r->kind) {
    case ROUTE_CACHE:
        msgq_push(&c->cache_head, &c->cache_tail, m);
        c->cache_len++;
        ctx->st.messages_preauth_now++;
        break;
    case ROUTE_QUEUE:
        if (r->assoc)
            cr_conn_assoc_request(ctx, now, c, r->assoc, m->last_seq, 0);
        m->switches = c->switches;
        msgq_push(&c->queue_head, &c->queue_tail, m);
        c->queue_len++;
        ctx->st.messages_queued_now++;
        break;
    default:
        if (r->assoc)
            cr_conn_assoc_request(ctx, now, c, r->assoc, m->last_seq, 0);
        m->assoc_at_go = r->at_go;
        cr_stream_ref(m->assoc_at_go);
        dispatch(ctx, now, c, m, r->user, r->thread, payload, len);
        break;
    }
}

/* stale_forget drops ring slot i (and its request's map entry). */
static void stale_forget(cr_ctx *ctx, cr_conn *c, int i)
{
    if (c->stale_req[i])
        cr_map_del(&ctx->reqs, c->stale_req[i], NULL);
    c->stale_req[i] = 0;
    c->stale_stream[i] = NULL;
}

/* stale_for: is a superseded association for s still in flight? */
static int stale_for(const cr_conn *c, const cr_stream *s)
{
    for (int i = 0; i < CR_CONN_STALE_SLOTS; i++)
        if (c->stale_req[i] && c->stale_stream[i] == s)
            return 1;
    return 0;
}

/* stale_find returns the ring slot of request req, or -1. */
static int stale_find(const cr_conn *c, uint64_t req)
{
    for (int i = 0; i < CR_CONN_STALE_SLOTS; i++)
        if (req && c->stale_req[i] == req)
            return i;
    return -1;
}

/* Dispatches queued messages in order.  A message naming the bound
 * thread (or none, once bound) goes out on it.  A message naming another
 * thread T, queued after the user's last switch, is the user's choice at
 * its place in the queue: it goes out only once c is bound to T, so T's
 * association is requested (again) in queue order and everything behind
 * it waits; after the queue drains c is bound to the last message's
 * thread.  A message naming T queued before a later switch goes out with
 * (user, T) without rebinding c when T's context is established (the
 * switch wins the view; T's events route to T's viewers or wait in T's
 * buffer); it waits while its own superseded association may still
 * establish T; otherwise it asks for T again and waits, with everything
 * behind it: an association that only establishes T (c stays where the
 * switch put it) when c is bound, a binding one when c has no thread at
 * all.  Needs c->queue_len msgs slots and one reqs slot.  O(queue). */
static void drain(cr_ctx *ctx, uint64_t now, cr_conn *c)
{
    while (c->queue_head) {
        cr_msg *m = c->queue_head;
        cr_stream *ctxs = c->bound;
        if (m->named && m->named != c->bound) {
            if (m->named == c->assoc_target)
                return; /* its association is in flight */
            if (m->switches == c->switches) {
                cr_conn_assoc_request(ctx, now, c, m->named, m->last_seq, 0);
                return; /* no later switch: bind T first */
            }
            int moved_on = c->bound || c->assoc_target;
            if (m->named->established && moved_on) {
                ctxs = m->named;
            } else if (stale_for(c, m->named)) {
                return; /* a superseded association may still establish it */
            } else {
                if (!c->assoc_target) /* bound: never away from the later switch */
                    cr_conn_assoc_request(ctx, now, c, m->named, m->last_seq, c->bound != NULL);
                return;
            }
        } else if (!c->bound || (c->assoc_target && !m->named)) {
            return;
        }
        msgq_pop(&c->queue_head, &c->queue_tail);
        c->queue_len--;
        ctx->st.messages_queued_now--;
        dispatch(ctx, now, c, m, c->user, ctxs, m->payload, m->payload_len);
    }
}

/* conn_enter is the prologue of every call on one connection: a context,
 * time that does not go backwards, an open connection.  0 or a CR_E* code. */
static int conn_enter(cr_ctx *ctx, uint64_t now, cr_conn_id conn, cr_conn **c)
{
    if (!ctx)
        return CR_EINVAL;
    int err = cr_ctx_time_ok(ctx, now);
    if (err)
        return err;
    *c = cr_conn_lookup(ctx, conn, &err);
    return *c ? 0 : err;
}

int cr_conn_message(cr_ctx *ctx, uint64_t now, cr_conn_id conn, const cr_message *msg,
                    uint64_t *msg_id)
{
    cr_conn *c;
    int err = conn_enter(ctx, now, conn, &c);
    if (err)
        return err;
    if (!msg || !msg->payload || msg->payload_len == 0 || (msg->thread && !cr_id_ok(msg->thread)))
        return CR_EINVAL;
    if (msg->payload_len > ctx->pol.max_payload)
        return CR_ETOOBIG;

    route r = decide(ctx, c, msg->thread);
    cr_msg *m = NULL;
    if (r.kind != ROUTE_FOREIGN && r.kind != ROUTE_FULL) {
        if (r.kind == ROUTE_DISPATCH && cr_map_reserve(&ctx->msgs, &ctx->mem, 1))
            return CR_ENOMEM;
        if (r.assoc && cr_map_reserve(&ctx->reqs, &ctx->mem, 1))
            return CR_ENOMEM;
        m = msg_new(ctx, msg, r.kind != ROUTE_DISPATCH);
        if (!m)
            return CR_ENOMEM;
    }

    uint64_t id = ++ctx->last_msg;
    ctx->st.messages_received++;
    if (msg_id)
        *msg_id = id;
    int rc = 0;
    if (r.kind == ROUTE_FOREIGN) {
        reject(ctx, now, c, msg->tag, msg->thread, CR_EFOREIGN, 1,
               "message refused: thread is owned by another user");
        rc = CR_EFOREIGN;
    } else if (r.kind == ROUTE_FULL) {
        reject(ctx, now, c, msg->tag, msg->thread, CR_EFULL, 0,
               c->user ? "message refused: queue full (pending_max)"
                       : "message refused: pre-auth cache full (preauth_max)");
        rc = CR_EFULL;
    } else {
        m->id = id;
        m->conn = c->id;
        m->received_at = now;
        apply(ctx, now, c, &r, m, msg->payload, msg->payload_len);
    }
    cr_ctx_commit(ctx, now);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Association and binding                                                  */

/* Issues a request for c->assoc_target under a fresh id.  One reqs slot. */
static void assoc_issue(cr_ctx *ctx, uint64_t now, cr_conn *c)
{
    c->assoc_req = ++ctx->last_req;
    cr_map_put(&ctx->reqs, c->assoc_req, NULL, c);
    ctx->st.assoc_requested++;
    CR_CALL(ctx, associate, now, c->assoc_req, c->id, c->user->name, c->assoc_target->thread);
}

void cr_conn_assoc_request(cr_ctx *ctx, uint64_t now, cr_conn *c, cr_stream *s, uint64_t last_seq,
                           int establish)
{
    if (c->assoc_req) {
        /* Superseded: it no longer binds c, but its answer still tells
         * whether its thread context was established.  Kept in a small
         * ring (its map entry stays); the oldest is forgotten. */
        int i = c->stale_next;
        c->stale_next = (uint8_t)((c->stale_next + 1) % CR_CONN_STALE_SLOTS);
        stale_forget(ctx, c, i);
        c->stale_req[i] = c->assoc_req;
        c->stale_stream[i] = c->assoc_target;
        c->assoc_req = 0;
    }
    c->retry_timer = 0;
    if (c->switch_owed && c->switch_owed != s)
        c->switch_owed = NULL; /* the client moved on */
    c->assoc_target = s;
    c->assoc_last_seq = last_seq;
    c->attempts = 1;
    c->assoc_establish = establish != 0;
    assoc_issue(ctx, now, c);
}

/* The establish-only association of c landed: s's thread context exists;
 * c keeps its binding, and the messages that waited for s go on.  Needs
 * queue_len msgs slots and one reqs slot. */
static void establish(cr_ctx *ctx, uint64_t now, cr_conn *c)
{
    cr_stream *s = c->assoc_target;
    c->assoc_target = NULL;
    c->assoc_req = 0;
    c->attempts = 0;
    c->retry_timer = 0;
    c->assoc_establish = 0;
    s->established = 1;
    drain(ctx, now, c);
}

/* The binding of c to c->assoc_target lands.  Needs queue_len msgs slots,
 * one reqs slot and one heap slot.  O(buffer + queue). */
static void bind(cr_ctx *ctx, uint64_t now, cr_conn *c)
{
    cr_stream *s = c->assoc_target;
    uint64_t last_seq = c->assoc_last_seq;
    uint64_t sent = cr_conn_sent_seq(c, s);
    if (sent > last_seq)
        last_seq = sent; /* never resend what this connection was sent */
    int owed = c->switch_owed == s;
    c->assoc_target = NULL;
    c->assoc_req = 0;
    c->attempts = 0;
    c->retry_timer = 0;
    if (owed)
        c->switch_owed = NULL;

    /* Whatever aged out before this instant expires first, whatever the
     * order in which the host called us. */
    cr_stream_prune(ctx, now, s);

    /* (1) register */
    if (c->bound)
        cr_stream_ready_remove(c->bound, c);
    cr_stream_ready_add(s, c);
    c->bound = s;
    c->generation++;
    c->bound_at = now;
    cr_conn_set_state(ctx, c, CR_CONN_READY);
    if (!c->ever_ready) {
        c->ever_ready = 1;
        c->ready_at = now;
        c->pending_timer = 0;
        cr_hist_add(&ctx->st.connect_to_ready, now - c->opened_at);
    }
    s->established = 1;
    /* (2) replay since the client's last seq, (3) queued messages, (4) the
     * notice the client was promised. */
    cr_stream_replay(ctx, now, s, c, last_seq);
    cr_stream_schedule(ctx, s);
    drain(ctx, now, c);
    if (owed)
        cr_out_notice(ctx, now, c->id, CR_NOTICE_THREAD_SWITCHED, s->thread, 0, 0);
}

/* F8 exhausted: explicit failure.  Needs queue_len msgs slots, one reqs
 * slot.  O(queue). */
static void give_up(cr_ctx *ctx, uint64_t now, cr_conn *c)
{
    cr_stream *s = c->assoc_target;
    c->assoc_target = NULL;
    c->attempts = 0;
    c->assoc_establish = 0;
    cr_out_report(ctx, now, CR_REPORT_ERROR, CR_ESTATE, c->id, c->user->name, s->thread, 0,
                  "thread association failed: retries exhausted");
    if (c->switch_owed == s) {
        c->switch_owed = NULL;
        cr_out_notice(ctx, now, c->id, CR_NOTICE_SWITCH_FAILED, s->thread, 0, CR_ESTATE);
    }
    /* Messages that waited on s: those naming it, and, when c has no
     * thread at all, those naming none. */
    cr_msg **pp = &c->queue_head, *prev = NULL;
    while (*pp) {
        cr_msg *m = *pp;
        if (m->named == s || (!m->named && !c->bound)) {
            *pp = m->next;
            if (c->queue_tail == m)
                c->queue_tail = prev;
            c->queue_len--;
            ctx->st.messages_queued_now--;
            reject(ctx, now, c, m->tag, m->thread, CR_ESTATE, 1,
                   "queued message rejected: thread association failed");
            cr_msg_free(ctx, m);
        } else {
            prev = m;
            pp = &m->next;
        }
    }
    drain(ctx, now, c);
}

/* The association in flight failed.  Needs one heap slot, queue_len msgs
 * slots, one reqs slot. */
static void assoc_failed(cr_ctx *ctx, uint64_t now, cr_conn *c)
{
    const cr_policy *p = &ctx->pol;
    ctx->st.assoc_failed++;
    if (p->update_retries == 0)
        return; /* legacy: not retried, not reported; c keeps waiting */
    if (c->attempts <= p->update_retries) {
        uint32_t shift = c->attempts - 1 < 63 ? c->attempts - 1 : 63;
        uint64_t delay =
            p->update_backoff > (UINT64_MAX >> shift) ? UINT64_MAX : p->update_backoff << shift;
        c->retry_timer = cr_heap_push(&ctx->timers, cr_sat_add(now, delay), CR_TIMER_RETRY, c->id);
        ctx->st.assoc_retried++;
        return;
    }
    give_up(ctx, now, c);
}

int cr_assoc_complete(cr_ctx *ctx, uint64_t now, uint64_t req_id, int ok)
{
    if (!ctx)
        return CR_EINVAL;
    int err = cr_ctx_time_ok(ctx, now);
    if (err)
        return err;
    if (req_id == 0 || req_id > ctx->last_req)
        return CR_ENOTFOUND;
    cr_conn *c = cr_map_get(&ctx->reqs, req_id, NULL);
    if (c) {
        if (cr_map_reserve(&ctx->msgs, &ctx->mem, c->queue_len) ||
            cr_map_reserve(&ctx->reqs, &ctx->mem, 1) ||
            cr_heap_reserve(&ctx->timers, &ctx->mem, 1) ||
            (ok && c->assoc_target && cr_conn_sent_reserve(ctx, c, c->assoc_target)))
            return CR_ENOMEM;
        int i = stale_find(c, req_id);
        if (i >= 0) {
            /* Superseded: c stays where the user went; a success still
             * establishes the thread context, and messages that waited
             * for it may go. */
            cr_stream *s = c->stale_stream[i];
            stale_forget(ctx, c, i);
            if (ok)
                s->established = 1;
            /* A failure too: the messages that waited for it must not
             * wait forever (nobody retries a superseded association). */
            drain(ctx, now, c);
        } else {
            cr_map_del(&ctx->reqs, req_id, NULL);
            c->assoc_req = 0;
            if (ok && c->assoc_establish)
                establish(ctx, now, c);
            else if (ok)
                bind(ctx, now, c);
            else
                assoc_failed(ctx, now, c);
        }
    } /* else stale (forgotten, or its connection closed): ignored */
    cr_ctx_commit(ctx, now);
    return 0;
}

int cr_conn_on_retry(cr_ctx *ctx, uint64_t now, cr_conn *c)
{
    if (cr_map_reserve(&ctx->reqs, &ctx->mem, 1))
        return CR_ENOMEM;
    c->retry_timer = 0;
    c->attempts++;
    assoc_issue(ctx, now, c);
    return 0;
}

int cr_conn_switch(cr_ctx *ctx, uint64_t now, cr_conn_id conn, const char *thread,
                   uint64_t last_seq)
{
    cr_conn *c;
    int err = conn_enter(ctx, now, conn, &c);
    if (err)
        return err;
    if (!cr_id_ok(thread))
        return CR_EINVAL;
    if (!c->user)
        return CR_ESTATE;
    cr_stream *s = cr_stream_find(ctx, c->user, thread);
    if (!s) {
        cr_out_report(ctx, now, CR_REPORT_ERROR, CR_EFOREIGN, c->id, c->user->name, thread, 0,
                      "switch refused: thread is owned by another user");
        cr_ctx_commit(ctx, now);
        return CR_EFOREIGN;
    }
    if (c->bound != s || c->assoc_target) {
        if (cr_map_reserve(&ctx->reqs, &ctx->mem, 1))
            return CR_ENOMEM;
    }
    c->switches++; /* older queued messages no longer decide the view */
    if (c->bound == s && !c->assoc_target) {
        cr_out_notice(ctx, now, c->id, CR_NOTICE_THREAD_SWITCHED, s->thread, 0, 0);
    } else {
        cr_conn_assoc_request(ctx, now, c, s, last_seq, 0);
        if (ctx->pol.verify_before_notify)
            c->switch_owed = s;
        else
            cr_out_notice(ctx, now, c->id, CR_NOTICE_THREAD_SWITCHED, s->thread, 0, 0);
    }
    cr_ctx_commit(ctx, now);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Open, authenticate, close                                                */

int cr_conn_open(cr_ctx *ctx, uint64_t now, cr_conn_id *out)
{
    if (!ctx || !out)
        return CR_EINVAL;
    int err = cr_ctx_time_ok(ctx, now);
    if (err)
        return err;
    if (cr_map_reserve(&ctx->conns, &ctx->mem, 1) || cr_heap_reserve(&ctx->timers, &ctx->mem, 1))
        return CR_ENOMEM;
    cr_conn *c = cr_mem_zalloc(&ctx->mem, sizeof *c);
    if (!c)
        return CR_ENOMEM;
    c->id = ++ctx->last_conn;
    cr_map_put(&ctx->conns, c->id, NULL, c);
    c->state = CR_CONN_OPEN;
    ctx->st.conns_by_state[CR_CONN_OPEN]++;
    c->opened_at = now;
    if (ctx->pol.pending_deadline)
        c->pending_timer = cr_heap_push(&ctx->timers, cr_sat_add(now, ctx->pol.pending_deadline),
                                        CR_TIMER_PENDING, c->id);
    *out = c->id;
    cr_ctx_commit(ctx, now);
    return 0;
}

int cr_conn_authenticate(cr_ctx *ctx, uint64_t now, cr_conn_id conn, const char *user)
{
    cr_conn *c;
    int err = conn_enter(ctx, now, conn, &c);
    if (err)
        return err;
    if (!cr_id_ok(user))
        return CR_EINVAL;
    if (c->user)
        return CR_ESTATE;
    /* The replay below may issue one association per cached message (a
     * superseded one keeps its entry in the stale ring): room for each. */
    if (cr_map_reserve(&ctx->msgs, &ctx->mem, c->cache_len) ||
        cr_map_reserve(&ctx->reqs, &ctx->mem, c->cache_len ? c->cache_len : 1))
        return CR_ENOMEM;
    cr_user *u;
    int fresh;
    if (cr_user_prepare(ctx, user, &u, &fresh))
        return CR_ENOMEM;
    if (fresh)
        cr_user_insert(ctx, u);

    c->user = u;
    user_link(u, c);
    cr_conn_set_state(ctx, c, CR_CONN_PENDING_CONTEXT);
    /* F6: the cached messages take the normal path, in arrival order.  A
     * refusal now reaches the client as a notice (no return code can). */
    while (c->cache_head) {
        cr_msg *m = msgq_pop(&c->cache_head, &c->cache_tail);
        c->cache_len--;
        ctx->st.messages_preauth_now--;
        route r = decide(ctx, c, m->thread);
        if (r.kind == ROUTE_FOREIGN || r.kind == ROUTE_FULL) {
            int e = r.kind == ROUTE_FOREIGN ? CR_EFOREIGN : CR_EFULL;
            reject(ctx, now, c, m->tag, m->thread, e, 1,
                   e == CR_EFOREIGN ? "cached message refused: thread is owned by another user"
                                    : "cached message refused: queue full (pending_max)");
            cr_msg_free(ctx, m);
        } else {
            apply(ctx, now, c, &r, m, m->payload, m->payload_len);
        }
    }
    cr_ctx_commit(ctx, now);
    return 0;
}

/* Rejects (and frees) every message waiting in list *head: the socket is
 * gone, so no notice; a report each.  O(list). */
static void reject_all(cr_ctx *ctx, uint64_t now, cr_conn *c, cr_msg **head, cr_msg **tail,
                       uint64_t *gauge)
{
    while (*head) {
        cr_msg *m = msgq_pop(head, tail);
        (*gauge)--;
        reject(ctx, now, c, m->tag, m->thread, CR_ECLOSED, 0,
               "waiting message rejected: connection closed");
        cr_msg_free(ctx, m);
    }
}

/* Takes c out of the deferred-close queue, if it is in it.  O(queue). */
static void close_unqueue(cr_ctx *ctx, cr_conn *c)
{
    if (c->closing != CR_CLOSING_DEFERRED)
        return;
    cr_conn *prev = NULL;
    for (cr_conn *q = ctx->close_head; q != c; q = q->close_next)
        prev = q;
    if (prev)
        prev->close_next = c->close_next;
    else
        ctx->close_head = c->close_next;
    if (ctx->close_tail == c)
        ctx->close_tail = prev;
    c->close_next = NULL;
}

/* Closes c (open).  by_core: the pending deadline did it.  A close
 * deferred earlier for c is superseded.  Cannot fail. */
static void close_conn(cr_ctx *ctx, uint64_t now, cr_conn *c, cr_close_reason reason, int by_core)
{
    close_unqueue(ctx, c);
    c->closing = CR_CLOSING_NOW; /* a close asked for from its callbacks: CR_ECLOSED */
    if (by_core) {
        cr_out_notice(ctx, now, c->id, CR_NOTICE_CLOSING, NULL, 0, 0);
        CR_CALL(ctx, close, now, c->id, reason);
        ctx->st.conns_closed_pending_timeout++;
    }
    if (c->bound)
        cr_stream_ready_remove(c->bound, c);
    if (c->user)
        user_unlink(c->user, c);
    if (c->assoc_req)
        cr_map_del(&ctx->reqs, c->assoc_req, NULL); /* its completion turns stale */
    for (int i = 0; i < CR_CONN_STALE_SLOTS; i++)
        stale_forget(ctx, c, i);
    cr_conn_set_state(ctx, c, CR_CONN_CLOSED);
    reject_all(ctx, now, c, &c->cache_head, &c->cache_tail, &ctx->st.messages_preauth_now);
    reject_all(ctx, now, c, &c->queue_head, &c->queue_tail, &ctx->st.messages_queued_now);
    cr_map_del(&ctx->conns, c->id, NULL);
    cr_user_unref(ctx, c->user); /* last: the reports above name the user */
    cr_mem_free(&ctx->mem, c->sent_more, CR_SENT_MORE_SIZE);
    cr_mem_free(&ctx->mem, c, sizeof *c);
}

int cr_conn_on_pending(cr_ctx *ctx, uint64_t now, cr_conn *c)
{
    c->pending_timer = 0;
    close_conn(ctx, now, c, CR_CLOSE_PENDING_TIMEOUT, 1);
    return 0;
}

/* cr_conn_close from inside a callback: validated now, queued, carried out
 * by cr_ctx_settle when the outermost call returns. */
static int close_defer(cr_ctx *ctx, uint64_t now, cr_conn_id conn, cr_close_reason reason)
{
    if (now < ctx->now)
        return CR_ETIME;
    int err;
    cr_conn *c = cr_conn_lookup(ctx, conn, &err);
    if (!c)
        return err;
    if ((unsigned)reason > CR_CLOSE_SERVER)
        return CR_EINVAL;
    if (c->closing)
        return CR_ECLOSED;
    c->closing = CR_CLOSING_DEFERRED;
    c->close_reason = (uint8_t)reason;
    c->close_next = NULL;
    if (ctx->close_tail)
        ctx->close_tail->close_next = c;
    else
        ctx->close_head = c;
    ctx->close_tail = c;
    return 0;
}

void cr_conn_close_deferred(cr_ctx *ctx, uint64_t now, cr_conn *c)
{
    close_conn(ctx, now, c, (cr_close_reason)c->close_reason, 0);
}

int cr_conn_close(cr_ctx *ctx, uint64_t now, cr_conn_id conn, cr_close_reason reason)
{
    if (ctx && ctx->in_cb)
        return close_defer(ctx, now, conn, reason);
    cr_conn *c;
    int err = conn_enter(ctx, now, conn, &c);
    if (err)
        return err;
    if ((unsigned)reason > CR_CLOSE_SERVER)
        return CR_EINVAL;
    close_conn(ctx, now, c, reason, 0);
    cr_ctx_commit(ctx, now);
    return 0;
}

void cr_conn_free(cr_ctx *ctx, cr_conn *c)
{
    while (c->cache_head) {
        cr_msg *m = msgq_pop(&c->cache_head, &c->cache_tail);
        cr_mem_free(&ctx->mem, m, cr_msg_size(m));
    }
    while (c->queue_head) {
        cr_msg *m = msgq_pop(&c->queue_head, &c->queue_tail);
        cr_mem_free(&ctx->mem, m, cr_msg_size(m));
    }
    cr_mem_free(&ctx->mem, c->sent_more, CR_SENT_MORE_SIZE);
    cr_mem_free(&ctx->mem, c, sizeof *c);
}

/* ------------------------------------------------------------------------ */
/* Queries                                                                  */

int cr_conn_get_info(const cr_ctx *ctx, cr_conn_id conn, cr_conn_info *out)
{
    if (!ctx || !out)
        return CR_EINVAL;
    int err;
    const cr_conn *c = cr_conn_lookup(ctx, conn, &err);
    if (!c && err != CR_ECLOSED)
        return err;
    memset(out, 0, sizeof *out);
    out->id = conn;
    if (!c) {
        out->state = CR_CONN_CLOSED; /* closed records are freed: only the state remains */
        return 0;
    }
    out->state = (cr_conn_state)c->state;
    out->user = c->user ? c->user->name : NULL;
    out->thread = c->bound ? c->bound->thread : NULL;
    out->assoc_target = c->assoc_target ? c->assoc_target->thread : NULL;
    out->generation = c->generation;
    out->opened_at = c->opened_at;
    out->ready_at = c->ready_at;
    out->queued_messages = c->queue_len;
    out->preauth_messages = c->cache_len;
    out->assoc_attempts = c->attempts;
    out->assoc_establish_only = c->assoc_target && c->assoc_establish;
    return 0;
}
