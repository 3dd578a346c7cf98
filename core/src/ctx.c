/*
 * ctx.c - context lifecycle, shared helpers, and timer dispatch.
 */
#include <string.h>

#include "conn.h"
#include "run.h"
#include "stream.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

int cr_id_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (size_t n = 0; n <= CR_ID_MAX; n++)
        if (!s[n])
            return 1;
    return 0;
}

int cr_ctx_time_ok(const cr_ctx *ctx, uint64_t now)
{
    if (ctx->in_cb)
        return CR_EREENTRANT;
    return now < ctx->now ? CR_ETIME : 0;
}

cr_user *cr_user_find(const cr_ctx *ctx, const char *name)
{
    return cr_map_get(&ctx->users, 0, name);
}

cr_stream *cr_stream_find(const cr_ctx *ctx, const cr_user *u, const char *thread)
{
    return cr_map_get(&ctx->skeys, u->id, thread);
}

cr_conn *cr_conn_lookup(const cr_ctx *ctx, cr_conn_id id, int *err)
{
    if (id == 0 || id > ctx->last_conn) {
        *err = CR_ENOTFOUND;
        return NULL;
    }
    cr_conn *c = cr_map_get(&ctx->conns, id, NULL);
    if (!c)
        *err = CR_ECLOSED;
    return c;
}

void cr_user_ref(cr_user *u)
{
    if (u)
        u->refs++;
}

void cr_user_unref(cr_ctx *ctx, cr_user *u)
{
    if (!u || --u->refs)
        return;
    cr_map_del(&ctx->users, 0, u->name);
    cr_mem_free(&ctx->mem, u, cr_user_size(u));
}

void cr_stream_ref(cr_stream *s)
{
    if (s)
        s->refs++;
}

void cr_stream_unref(cr_stream *s)
{
    if (s)
        s->refs--;
}

void cr_msg_free(cr_ctx *ctx, cr_msg *m)
{
    cr_stream_unref(m->named);
    cr_stream_unref(m->stream);
    cr_stream_unref(m->assoc_at_go);
    cr_user_unref(ctx, m->user);
    cr_mem_free(&ctx->mem, m, cr_msg_size(m));
}

int cr_user_prepare(cr_ctx *ctx, const char *name, cr_user **out, int *fresh)
{
    *fresh = 0;
    *out = cr_user_find(ctx, name);
    if (*out)
        return 0;
    if (cr_map_reserve(&ctx->users, &ctx->mem, 1))
        return CR_ENOMEM;
    size_t len = strlen(name) + 1;
    cr_user *u = cr_mem_zalloc(&ctx->mem, sizeof *u + len);
    if (!u)
        return CR_ENOMEM;
    memcpy(u->name, name, len);
    *out = u;
    *fresh = 1;
    return 0;
}

void cr_user_insert(cr_ctx *ctx, cr_user *u)
{
    u->id = ++ctx->last_user;
    cr_map_put(&ctx->users, 0, u->name, u);
}

void cr_conn_set_state(cr_ctx *ctx, cr_conn *c, cr_conn_state s)
{
    if (c->state == s)
        return;
    ctx->st.conns_by_state[c->state]--;
    ctx->st.conns_by_state[s]++;
    c->state = (uint8_t)s;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */

/* The slot of c's ring holding stream s, or NULL. */
static cr_sent *sent_find(const cr_conn *c, const cr_stream *s)
{
    for (int i = 0; i < CR_CONN_SENT_SLOTS; i++) {
        cr_sent *slot = cr_conn_sent_slot((cr_conn *)c, i);
        if (slot && slot->stream == s)
            return slot;
    }
    return NULL;
}

uint64_t cr_conn_sent_seq(const cr_conn *c, const cr_stream *s)
{
    const cr_sent *slot = sent_find(c, s);
    return slot ? slot->seq : 0;
}

int cr_conn_sent_reserve(cr_ctx *ctx, cr_conn *c, const cr_stream *s)
{
    if (c->sent_more || c->sent_next < CR_CONN_SENT_INLINE || sent_find(c, s))
        return 0;
    c->sent_more =
        cr_mem_zalloc(&ctx->mem, (CR_CONN_SENT_SLOTS - CR_CONN_SENT_INLINE) * sizeof(cr_sent));
    return c->sent_more ? 0 : CR_ENOMEM;
}

/* note_sent remembers that seq of c's bound stream went out on c.  Fallback
 * notifications are copies sent elsewhere and are not remembered.  The
 * slot a new stream takes was reserved at its binding
 * (cr_conn_sent_reserve).  O(slots). */
static void note_sent(cr_conn *c, const cr_event *ev)
{
    cr_stream *s = c->bound;
    if (!s || (ev->flags & CR_EVENT_NOTIFICATION) || c->state != CR_CONN_READY)
        return;
    cr_sent *slot = sent_find(c, s);
    if (slot) {
        if (ev->seq > slot->seq)
            slot->seq = ev->seq;
        return;
    }
    slot = cr_conn_sent_slot(c, c->sent_next);
    c->sent_next = (uint8_t)((c->sent_next + 1) % CR_CONN_SENT_SLOTS);
    slot->stream = s;
    slot->seq = ev->seq;
}

void cr_out_deliver(cr_ctx *ctx, uint64_t now, cr_conn *c, cr_event *ev)
{
    note_sent(c, ev);
    CR_CALL(ctx, deliver, now, c->id, ev);
}

void cr_out_notice(cr_ctx *ctx, uint64_t now, cr_conn_id conn, cr_notice_kind kind,
                   const char *thread, uint64_t tag, int error)
{
    ctx->st.notices_sent++;
    /* The core itself only ever closes for the pending deadline. */
    cr_close_reason reason = kind == CR_NOTICE_CLOSING ? CR_CLOSE_PENDING_TIMEOUT : CR_CLOSE_CLIENT;
    cr_notice n = {kind, thread, tag, error, reason};
    CR_CALL(ctx, notify, now, conn, &n);
}

void cr_out_report(cr_ctx *ctx, uint64_t now, cr_report_kind kind, int error, cr_conn_id conn,
                   const char *user, const char *thread, uint64_t tag, const char *message)
{
    if (kind == CR_REPORT_ERROR)
        ctx->st.errors_reported++;
    cr_report r = {kind, error, CR_OUTCOME_COUNT, conn, 0, user, thread, 0, tag, message};
    CR_CALL(ctx, report, now, &r);
}

void cr_out_report_seq(cr_ctx *ctx, uint64_t now, cr_report_kind kind, int error, cr_conn_id conn,
                       const char *user, const char *thread, uint64_t seq, const char *message)
{
    if (kind == CR_REPORT_ERROR)
        ctx->st.errors_reported++;
    cr_report r = {kind, error, CR_OUTCOME_COUNT, conn, 0, user, thread, seq, 0, message};
    CR_CALL(ctx, report, now, &r);
}

/* ------------------------------------------------------------------------ */
/* Timers                                                                   */

/* The object a timer entry belongs to, if the entry is still its live
 * timer; NULL for a stale (cancelled or superseded) entry.  O(1) expected. */
static void *timer_owner(const cr_ctx *ctx, const cr_timer *t)
{
    int err;
    switch ((cr_timer_kind)t->kind) {
    case CR_TIMER_PENDING: {
        cr_conn *c = cr_conn_lookup(ctx, t->target, &err);
        return c && c->pending_timer == t->counter ? c : NULL;
    }
    case CR_TIMER_RETRY: {
        cr_conn *c = cr_conn_lookup(ctx, t->target, &err);
        return c && c->retry_timer == t->counter ? c : NULL;
    }
    case CR_TIMER_RUN: {
        cr_run *r = cr_map_get(&ctx->runs, t->target, NULL);
        return r && r->timer == t->counter ? r : NULL;
    }
    case CR_TIMER_TTL: {
        cr_stream *s = t->target < ctx->nstreams ? ctx->streams[t->target] : NULL;
        return s && s->hist && s->hist->ttl_timer == t->counter ? s : NULL;
    }
    }
    /* Every kind is handled above; no entry is ever pushed with another. */
    return NULL; /* GCOVR_EXCL_LINE: unreachable */
}

void cr_ctx_settle(cr_ctx *ctx, uint64_t now)
{
    while (ctx->close_head) {
        cr_conn *c = ctx->close_head;
        ctx->close_head = c->close_next;
        if (!ctx->close_head)
            ctx->close_tail = NULL;
        c->close_next = NULL;
        c->closing = 0;
        cr_conn_close_deferred(ctx, now, c);
    }
}

/* trim_streams shrinks the stream vector as cr_map_trim does (benign). */
static void trim_streams(cr_ctx *ctx)
{
    if (!ctx->nstreams) {
        cr_mem_free(&ctx->mem, ctx->streams, ctx->streams_cap * sizeof *ctx->streams);
        ctx->streams = NULL;
        ctx->streams_cap = 0;
        return;
    }
    if (ctx->streams_cap <= 64 || ctx->nstreams * 16 >= ctx->streams_cap)
        return;
    size_t cap = 64;
    while (cap < ctx->nstreams * 4)
        cap *= 2;
    cr_stream **v = cr_mem_array_realloc(&ctx->mem, ctx->streams, ctx->streams_cap, cap, sizeof *v);
    if (!v)
        return; /* benign: the larger array stays */
    ctx->streams = v;
    ctx->streams_cap = cap;
}

void cr_ctx_commit(cr_ctx *ctx, uint64_t now)
{
    cr_ctx_settle(ctx, now);
    ctx->now = now;
    const cr_timer *top;
    while ((top = cr_heap_top(&ctx->timers)) && !timer_owner(ctx, top)) {
        cr_timer dead;
        cr_heap_pop(&ctx->timers, &dead);
    }
    /* Memory follows what is live: give back what removals left empty. */
    cr_map *maps[] = {&ctx->conns, &ctx->users, &ctx->skeys, &ctx->msgs, &ctx->runs, &ctx->reqs};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
        cr_map_trim(maps[i], &ctx->mem);
    cr_heap_trim(&ctx->timers, &ctx->mem);
    trim_streams(ctx);
}

uint64_t cr_ctx_get_expiry(const cr_ctx *ctx)
{
    if (!ctx)
        return CR_TIME_NEVER;
    const cr_timer *top = cr_heap_top(&ctx->timers);
    return top ? top->deadline : CR_TIME_NEVER;
}

int cr_ctx_handle_expiry(cr_ctx *ctx, uint64_t now)
{
    if (!ctx)
        return CR_EINVAL;
    int err = cr_ctx_time_ok(ctx, now);
    if (err)
        return err;
    /* One timer at a time, in (deadline, counter) order; timers armed by a
     * handler at or before `now` run in this same call.  Each handler either
     * completes or fails with CR_ENOMEM having changed nothing; then its
     * entry goes back and the call stops (timers run so far stay run). */
    const cr_timer *top;
    while ((top = cr_heap_top(&ctx->timers)) && top->deadline <= now) {
        cr_timer t;
        cr_heap_pop(&ctx->timers, &t);
        void *owner = timer_owner(ctx, &t);
        if (!owner)
            continue;
        switch ((cr_timer_kind)t.kind) {
        case CR_TIMER_PENDING:
            err = cr_conn_on_pending(ctx, now, owner);
            break;
        case CR_TIMER_RETRY:
            err = cr_conn_on_retry(ctx, now, owner);
            break;
        case CR_TIMER_RUN:
            err = cr_run_on_timer(ctx, now, owner);
            break;
        case CR_TIMER_TTL:
            err = cr_stream_on_ttl(ctx, now, owner);
            break;
        }
        if (err) {
            cr_heap_repush(&ctx->timers, &t);
            cr_ctx_settle(ctx, now); /* the timers run so far may have deferred closes */
            ctx->now = now;
            return err;
        }
    }
    cr_ctx_commit(ctx, now);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                */

/* The keys of the keyed maps: users by name, streams by (user id, thread). */
static void user_key(const void *val, uint64_t *num, const char **str)
{
    const cr_user *u = val;
    *num = 0;
    *str = u->name;
}

static void stream_key(const void *val, uint64_t *num, const char **str)
{
    const cr_stream *s = val;
    *num = s->user->id;
    *str = s->thread;
}

int cr_ctx_new(cr_ctx **out, const cr_policy *policy, const cr_callbacks *callbacks,
               const cr_allocator *mem, void *user_data)
{
    if (!out || !policy)
        return CR_EINVAL;
    if (mem && (!mem->malloc || !mem->realloc || !mem->free))
        return CR_EINVAL;
#define CR_CHECK_BOOL(name, type, fix, legacy, fixed, doc)                                         \
    if (type == CR_KNOB_BOOL && policy->name > 1)                                                  \
        return CR_EINVAL;
    CR_POLICY_KNOBS(CR_CHECK_BOOL)
#undef CR_CHECK_BOOL
    cr_mem m;
    cr_mem_init(&m, mem);
    cr_ctx *ctx = cr_mem_zalloc(&m, sizeof *ctx);
    if (!ctx)
        return CR_ENOMEM;
    ctx->mem = m;
    ctx->pol = *policy;
    if (callbacks)
        ctx->cb = *callbacks;
    ctx->ud = user_data;
    ctx->users.key = user_key;
    ctx->skeys.key = stream_key;
    *out = ctx;
    return 0;
}

/* Frees every value of map m, each of size(value) bytes. */
static void free_values(cr_ctx *ctx, cr_map *m, size_t (*size)(const void *))
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].val)
            cr_mem_free(&ctx->mem, m->slots[i].val, size(m->slots[i].val));
    cr_map_free(m, &ctx->mem);
}

static size_t user_size(const void *v)
{
    return cr_user_size(v);
}

static size_t msg_size(const void *v)
{
    return cr_msg_size(v);
}

static size_t run_size(const void *v)
{
    return sizeof(cr_run);
}

int cr_ctx_del(cr_ctx *ctx)
{
    if (!ctx)
        return 0;
    if (ctx->in_cb)
        return CR_EREENTRANT;
    for (size_t i = 0; i < ctx->conns.cap; i++)
        if (ctx->conns.slots[i].val)
            cr_conn_free(ctx, ctx->conns.slots[i].val);
    cr_map_free(&ctx->conns, &ctx->mem);
    for (size_t i = 0; i < ctx->nstreams; i++)
        cr_stream_free(ctx, ctx->streams[i]);
    cr_mem_free(&ctx->mem, ctx->streams, ctx->streams_cap * sizeof *ctx->streams);
    cr_map_free(&ctx->skeys, &ctx->mem);
    cr_map_free(&ctx->reqs, &ctx->mem);
    free_values(ctx, &ctx->users, user_size);
    free_values(ctx, &ctx->msgs, msg_size);
    free_values(ctx, &ctx->runs, run_size);
    cr_heap_free(&ctx->timers, &ctx->mem);
    cr_mem m = ctx->mem;
    cr_mem_free(&m, ctx, sizeof *ctx);
    return 0;
}

const cr_policy *cr_ctx_policy(const cr_ctx *ctx)
{
    return ctx ? &ctx->pol : NULL;
}

int cr_ctx_is_ready(const cr_ctx *ctx, const char *user, const char *thread, int *ready)
{
    if (!ctx || !ready || !cr_id_ok(user) || !cr_id_ok(thread))
        return CR_EINVAL;
    const cr_user *u = cr_user_find(ctx, user);
    const cr_stream *s = u ? cr_stream_find(ctx, u, thread) : NULL;
    *ready = s && s->nready > 0;
    return 0;
}
