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
#include <stddef.h>
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
    if (ctx->nstreams == UINT32_MAX)
        return CR_ENOMEM; /* GCOVR_EXCL_LINE: 4e9 streams exhaust memory first */
    if (ctx->nstreams == ctx->streams_cap) {
        size_t cap = ctx->streams_cap ? ctx->streams_cap * 2 : 64;
        cr_stream **v =
            cr_mem_array_realloc(&ctx->mem, ctx->streams, ctx->streams_cap, cap, sizeof *v);
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
    cr_stream *s = cr_mem_zalloc(&ctx->mem, offsetof(cr_stream, thread) + tlen);
    if (!s) {
        if (fresh)
            cr_mem_free(&ctx->mem, u, cr_user_size(u));
        return CR_ENOMEM;
    }
    if (fresh)
        cr_user_insert(ctx, u);
    cr_user_ref(u);
    memcpy(s->thread, thread, tlen);
    s->user = u;
    s->index = (uint32_t)ctx->nstreams;
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

/* ------------------------------------------------------------------------ */
/* History records (see cr_hist in ctx.h)                                   */

#define REC_DELIVERED 0x1 /* flags byte: history kept for replay; else pending */

/* One record, decoded. */
typedef struct rec {
    cr_hist_key k;
    uint32_t type;
    int delivered;
    size_t len;
    const unsigned char *payload; /* into the hist's data */
    size_t size;                  /* of the encoded record, payload included */
} rec;

/* Zigzag keeps small differences of either sign small (mod 2^64). */
static uint64_t zig(uint64_t d)
{
    return (d << 1) ^ (0 - (d >> 63));
}

static uint64_t unzig(uint64_t z)
{
    return (z >> 1) ^ (0 - (z & 1));
}

static size_t vlen(uint64_t v)
{
    size_t n = 1;
    for (; v >= 0x80; v >>= 7)
        n++;
    return n;
}

static unsigned char *vput(unsigned char *p, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        *p++ = (unsigned char)(v | 0x80);
    *p++ = (unsigned char)v;
    return p;
}

static const unsigned char *vget(const unsigned char *p, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        unsigned char b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    *out = v;
    return p;
}

/* The varints of r's header against reference `ref`, in record order. */
static void rec_fields(const rec *r, const cr_hist_key *ref, uint64_t f[6])
{
    f[0] = r->k.seq - ref->seq;
    f[1] = zig(r->k.run - ref->run);
    f[2] = zig(r->k.tag - ref->tag);
    f[3] = r->k.at - ref->at;
    f[4] = r->type;
    f[5] = r->len;
}

/* Size of r encoded against ref.  Against an older reference (records in
 * between dropped) it grows by at most the dropped records' header bytes:
 * a varint of a + b is no longer than those of a and b together. */
static size_t rec_size(const rec *r, const cr_hist_key *ref)
{
    uint64_t f[6];
    rec_fields(r, ref, f);
    size_t n = 1 + r->len;
    for (int i = 0; i < 6; i++)
        n += vlen(f[i]);
    return n;
}

/* Writes r against ref at p (payload from src, which may overlap the
 * destination only from above); returns the size written. */
static size_t rec_put(unsigned char *p, const rec *r, const cr_hist_key *ref,
                      const unsigned char *src)
{
    uint64_t f[6];
    rec_fields(r, ref, f);
    unsigned char *q = p;
    *q++ = r->delivered ? REC_DELIVERED : 0;
    for (int i = 0; i < 6; i++)
        q = vput(q, f[i]);
    if (r->len)
        memmove(q, src, r->len);
    return (size_t)(q - p) + r->len;
}

/* Decodes the record at p against ref. */
static void rec_get(const unsigned char *p, const cr_hist_key *ref, rec *r)
{
    const unsigned char *q = p + 1;
    uint64_t f[6];
    for (int i = 0; i < 6; i++)
        q = vget(q, &f[i]);
    r->delivered = (*p & REC_DELIVERED) != 0;
    r->k.seq = ref->seq + f[0];
    r->k.run = ref->run + unzig(f[1]);
    r->k.tag = ref->tag + unzig(f[2]);
    r->k.at = ref->at + f[3];
    r->type = (uint32_t)f[4];
    r->len = (size_t)f[5];
    r->payload = q;
    r->size = (size_t)(q - p) + r->len;
}

/* The oldest record of a non-empty hist. */
static void head(const cr_hist *h, rec *r)
{
    rec_get(h->data + h->start, &h->base, r);
}

uint64_t cr_stream_first_seq(const cr_stream *s)
{
    rec r;
    head(s->hist, &r);
    return r.k.seq;
}

size_t cr_stream_buffered(const cr_stream *s)
{
    return s->hist ? s->hist->len : 0;
}

/* The public view of record r of stream s. */
static cr_event rec_event(const cr_stream *s, const rec *r)
{
    cr_event ev = {s->user->name, s->thread, r->k.run, r->k.seq, 0,
                   r->type,       0,         r->k.tag, r->k.at,  r->len ? r->payload : NULL,
                   r->len};
    return ev;
}

/* Counts r out of the gauges (it leaves the buffer). */
static void uncount(cr_ctx *ctx, cr_stream *s, const rec *r)
{
    cr_hist *h = s->hist;
    h->len--;
    h->bytes -= r->len;
    ctx->st.buffer_events_now--;
    ctx->st.buffer_bytes_now -= r->len;
    if (!r->delivered) {
        h->undelivered--;
        h->undelivered_bytes -= r->len;
        ctx->st.events_buffered_now--;
    } else if (r->k.seq > s->history_gone) {
        s->history_gone = r->k.seq;
    }
}

/* drop_head removes the oldest record: history silently, an undelivered
 * event settled with outcome o (cr_route_nondelivery).  Its bytes stay in
 * place (dead) until the next append, so the report may borrow them. */
static void drop_head(cr_ctx *ctx, uint64_t now, cr_stream *s, cr_outcome o)
{
    cr_hist *h = s->hist;
    rec r;
    head(h, &r);
    uncount(ctx, s, &r);
    h->start += r.size;
    h->base = r.k;
    if (!r.delivered) {
        cr_event ev = rec_event(s, &r);
        cr_route_nondelivery(ctx, now, o, s->user, &ev);
    }
}

void cr_stream_prune(cr_ctx *ctx, uint64_t now, cr_stream *s)
{
    uint64_t ttl = ctx->pol.event_ttl;
    if (!ttl)
        return; /* 0: no age limit */
    rec r;
    while (s->hist && s->hist->len && (head(s->hist, &r), cr_sat_add(r.k.at, ttl) <= now))
        drop_head(ctx, now, s, CR_OUTCOME_EXPIRED);
}

/* A block shrinks once its live records fill at most a quarter of it, and
 * only past this capacity (a small block is not worth a copy). */
#define SHRINK_MIN_CAP 256

/* shrink moves a mostly empty block's live records into one half as large
 * again as they are, so that a stream whose burst has aged out or been
 * replayed does not keep its peak block while one record is left.  The copy
 * is O(live).  A block of cap bytes grows when its live bytes pass cap and
 * shrinks when they fall to cap / 4, and either way is sized 1.5 x live:
 * between two copies at least a third of the bytes copied came or went
 * (amortised O(1) per byte), and no stream flaps between them.  Called only
 * between entry points' buffer changes (nothing points into the block
 * then: replays and reports are done, and a reservation of cr_stream_reserve
 * is always used before).  An allocation failure keeps the old block. */
static void shrink(cr_ctx *ctx, cr_stream *s)
{
    cr_hist *h = s->hist;
    size_t live = h->end - h->start;
    if (h->cap < SHRINK_MIN_CAP || live > h->cap / 4)
        return;
    size_t cap = (live / 2 * 3 + 16) & ~(size_t)15;
    cr_hist *g = cr_mem_alloc(&ctx->mem, sizeof *g + cap);
    if (!g)
        return; /* still correct, only larger than it needs to be */
    *g = *h;
    memcpy(g->data, h->data + h->start, live);
    g->cap = cap;
    g->start = 0;
    g->end = live;
    cr_mem_free(&ctx->mem, h, cr_hist_size(h));
    s->hist = g;
}

void cr_stream_schedule(cr_ctx *ctx, cr_stream *s)
{
    cr_hist *h = s->hist;
    if (!h)
        return;
    if (!h->len) {
        cr_mem_free(&ctx->mem, h, cr_hist_size(h)); /* its TTL timer, if any, turns stale */
        s->hist = NULL;
        return;
    }
    shrink(ctx, s);
    h = s->hist;
    uint64_t ttl = ctx->pol.event_ttl;
    if (!ttl) {
        h->ttl_timer = 0;
        return;
    }
    rec r;
    head(h, &r);
    uint64_t d = cr_sat_add(r.k.at, ttl);
    if (h->ttl_timer && h->ttl_deadline == d)
        return;
    h->ttl_deadline = d;
    h->ttl_timer = cr_heap_push(&ctx->timers, d, CR_TIMER_TTL, s->index);
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
    uint64_t oldest = s->hist && s->hist->len ? cr_stream_first_seq(s) : s->seq + 1;
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
    cr_hist *h = s->hist;
    if (!h)
        return;
    /* Callbacks may not change the buffer (re-entrancy guard): the offsets
     * stay valid across them. */
    cr_hist_key ref = h->base;
    for (size_t at = h->start; at < h->end;) {
        rec r;
        rec_get(h->data + at, &ref, &r);
        unsigned char *flags = h->data + at;
        ref = r.k;
        at += r.size;
        if (r.k.seq <= last_seq)
            continue;
        cr_event ev = rec_event(s, &r);
        ev.flags = CR_EVENT_REPLAY;
        ev.generation = c->generation;
        int first = !r.delivered;
        if (first) {
            *flags |= REC_DELIVERED;
            h->undelivered--;
            h->undelivered_bytes -= r.len;
            ctx->st.events_buffered_now--;
            ctx->st.outcomes[CR_OUTCOME_BUFFERED_DELIVERED]++;
            cr_hist_add(&ctx->st.buffer_delay, now - r.k.at);
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

/* The new record r as cr_stream_append will write it (run, seq and
 * delivered do not change its size: only the reference does). */
static rec new_rec(const cr_event *ev, int delivered)
{
    rec r = {{ev->seq, ev->run, ev->tag, ev->emitted_at},
             ev->type,
             delivered,
             ev->payload_len,
             ev->payload,
             0};
    return r;
}

int cr_stream_reserve(cr_ctx *ctx, cr_stream *s, const cr_event *ev)
{
    if (over(&ctx->pol, 1, ev->payload_len))
        return 0; /* it can never fit: nothing to reserve */
    cr_hist *h = s->hist;
    rec r = new_rec(ev, 0);
    size_t size = rec_size(&r, h ? &h->tail : &(cr_hist_key){0, 0, 0, 0});
    size_t live = h ? h->end - h->start : 0;
    if (h && size <= h->cap - h->end)
        return 0; /* fits after the last record */
    /* Compacting moves the live bytes to the front: worth it when the dead
     * prefix is at least a quarter of them (amortised O(1) per byte). */
    if (h && size <= h->cap - live && h->start >= live / 4)
        return 0;
    /* Half as much again, so that a growing buffer is copied O(1) times
     * per byte; the sizes fit in memory, far from overflowing. */
    size_t cap = ((live + size) / 2 * 3 + 16) & ~(size_t)15;
    cr_hist *g = cr_mem_alloc(&ctx->mem, sizeof *g + cap);
    if (!g)
        return CR_ENOMEM;
    if (h) {
        *g = *h;
        memcpy(g->data, h->data + h->start, live);
        cr_mem_free(&ctx->mem, h, cr_hist_size(h));
    } else {
        memset(g, 0, sizeof *g);
    }
    g->cap = cap;
    g->start = 0;
    g->end = live;
    s->hist = g;
    return 0;
}

/* compact drops delivered records after the head while the buffer is over
 * its bound for one more record of `len` bytes, moving the kept ones down
 * over the gaps (each re-encoded against its new predecessor: never
 * longer than the gap before it).  O(buffer bytes). */
static void compact(cr_ctx *ctx, cr_stream *s, size_t len)
{
    const cr_policy *p = &ctx->pol;
    cr_hist *h = s->hist;
    cr_hist_key ref = h->base, kept = h->base;
    size_t w = h->start, end = h->end;
    for (size_t at = h->start; at < end;) {
        rec r;
        rec_get(h->data + at, &ref, &r);
        ref = r.k;
        at += r.size;
        if (r.delivered && over(p, h->len + 1, h->bytes + len)) {
            uncount(ctx, s, &r);
            continue;
        }
        w += rec_put(h->data + w, &r, &kept, r.payload);
        kept = r.k;
    }
    h->end = w;
    h->tail = kept;
}

int cr_stream_make_room(cr_ctx *ctx, cr_stream *s, size_t len)
{
    const cr_policy *p = &ctx->pol;
    cr_hist *h = s->hist;
    size_t n = h ? h->len : 0, bytes = h ? h->bytes : 0;
    if (!over(p, n + 1, bytes + len))
        return 1;
    /* Evicting every delivered entry is the most we may do; if even that
     * is not enough, evict nothing. */
    if (!h || over(p, h->undelivered + 1, h->undelivered_bytes + len))
        return 0;
    /* The oldest first: delivered records at the head just leave it. */
    rec r;
    while (over(p, h->len + 1, h->bytes + len) && (head(h, &r), r.delivered)) {
        uncount(ctx, s, &r);
        h->start += r.size;
        h->base = r.k;
    }
    if (over(p, h->len + 1, h->bytes + len))
        compact(ctx, s, len);
    return 1;
}

void cr_stream_append(cr_ctx *ctx, cr_stream *s, const cr_event *ev, int delivered)
{
    cr_hist *h = s->hist;
    rec r = new_rec(ev, delivered);
    if (!h->len)
        h->start = h->end = 0; /* empty: start over at the front */
    size_t size = rec_size(&r, &h->tail);
    if (size > h->cap - h->end) {
        /* cr_stream_reserve saw to it that the live bytes and this record
         * fit (what was dropped since then made at least as much room as
         * the record may have grown). */
        size_t live = h->end - h->start;
        memmove(h->data, h->data + h->start, live);
        h->start = 0;
        h->end = live;
    }
    h->end += rec_put(h->data + h->end, &r, &h->tail, r.payload);
    h->tail = r.k;
    h->len++;
    h->bytes += r.len;
    ctx->st.buffer_events_now++;
    ctx->st.buffer_bytes_now += r.len;
    if (!delivered) {
        h->undelivered++;
        h->undelivered_bytes += r.len;
        ctx->st.events_buffered_now++;
    }
}

int cr_stream_on_ttl(cr_ctx *ctx, uint64_t now, cr_stream *s)
{
    s->hist->ttl_timer = 0;
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
        for (int i = 0; i < CR_CONN_SENT_SLOTS; i++) {
            cr_sent *slot = cr_conn_sent_slot(c, i);
            if (slot && slot->stream == s) {
                slot->stream = NULL;
                slot->seq = 0;
            }
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
    while (s->hist && s->hist->len)
        drop_head(ctx, now, s, CR_OUTCOME_UNROUTABLE);
    forget_conns(ctx, s);
    cr_map_del(&ctx->skeys, u->id, s->thread);
    cr_stream *last = ctx->streams[--ctx->nstreams];
    if (last != s) {
        last->index = s->index;
        ctx->streams[s->index] = last;
        if (last->hist && last->hist->ttl_timer) {
            last->hist->ttl_timer = 0; /* its entry names the old index: stale */
            cr_stream_schedule(ctx, last);
        }
    }
    if (s->hist)
        cr_mem_free(&ctx->mem, s->hist, cr_hist_size(s->hist));
    cr_mem_free(&ctx->mem, s, cr_stream_size(s));
    cr_user_unref(ctx, u);
    cr_ctx_commit(ctx, now);
    return 0;
}

void cr_stream_free(cr_ctx *ctx, cr_stream *s)
{
    if (s->hist)
        cr_mem_free(&ctx->mem, s->hist, cr_hist_size(s->hist));
    cr_mem_free(&ctx->mem, s, cr_stream_size(s));
}
