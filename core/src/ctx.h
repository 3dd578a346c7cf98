/*
 * ctx.h - the private structure of a cr_ctx and the helpers every module
 * of the core shares: lookups, output (callbacks), time checks.
 *
 * Object graph (all owned by the context, freed by cr_ctx_del):
 *
 *   users    (map name -> cr_user)            freed once nothing refers to
 *             them (cr_user.refs: connections, streams, messages, runs)
 *   streams  (map (user id, thread) -> cr_stream, plus a dense vector)
 *             a stream exists iff the user owns the thread (cr_thread_add);
 *             freed by cr_thread_remove (refused while in use)
 *   conns    (map id -> cr_conn; ids 1..last_conn in order)  freed at close
 *   msgs     (map msg id -> cr_msg)           dispatched, awaiting run start
 *   runs     (map run id -> cr_run)           freed at cr_run_end
 *   reqs     (map req id -> cr_conn)          live association requests
 *
 * Lifetime-bounded: nothing is kept per connection, user, message or run
 * once it is gone; the maps, the stream vector and the timer heap shrink
 * (cr_ctx_commit) when mostly empty, so the memory follows what is live,
 * not what was ever seen.  Maps are for lookups only; anything observable
 * walks the vectors and the intrusive lists, whose order is deterministic.
 */
#ifndef CR_CTX_H
#define CR_CTX_H

#include <stddef.h>
#include <string.h>

#include "alloc.h"
#include "map.h"
#include "timer.h"

typedef struct cr_user cr_user;
typedef struct cr_stream cr_stream;
typedef struct cr_msg cr_msg;
typedef struct cr_conn cr_conn;
typedef struct cr_run cr_run;

/* A slot of a connection's sent-seq ring: the highest seq of `stream` sent
 * on the connection (stream borrowed, NULL: free). */
typedef struct cr_sent {
    cr_stream *stream;
    uint64_t seq;
} cr_sent;

struct cr_user {
    uint64_t id;                      /* 1, 2, ... in creation order, never reused */
    uint64_t refs;                    /* authenticated conns + streams + messages + runs */
    cr_conn *conns_head, *conns_tail; /* authenticated open conns, id order (borrowed) */
    char name[];                      /* owned inline */
};

/* The values a history record is encoded against (see stream.c): those of
 * its predecessor in the buffer, or the hist's base for the first one. */
typedef struct cr_hist_key {
    uint64_t seq, run, tag, at;
} cr_hist_key;

/* A stream's replay buffer (F4), allocated with its first event and freed
 * once empty: one block holding every buffered event as a variable-length
 * record in seq order, data[start, end) of cap bytes.  A record is a flags
 * byte (delivered) and varints of (seq, run, tag, emitted_at) as deltas
 * from the previous record (the first from `base`, the values of the last
 * record dropped from the head), the type and the payload length, then the
 * payload: a copy of everything a replay or a report needs, so the run may
 * end meanwhile, without a per-event allocation. */
typedef struct cr_hist {
    size_t cap, start, end; /* bytes of data[] */
    size_t len, bytes;      /* every record: count, payload bytes */
    size_t undelivered, undelivered_bytes;
    uint64_t ttl_timer;    /* counter of the live TTL timer, 0: none */
    uint64_t ttl_deadline; /* its deadline */
    cr_hist_key base;      /* the first record's reference */
    cr_hist_key tail;      /* the last record's values (== base when empty) */
    unsigned char data[];
} cr_hist;

struct cr_stream {
    cr_user *user;                    /* borrowed */
    uint64_t seq;                     /* last seq handed out (0: none yet) */
    uint64_t history_gone;            /* highest seq of a delivered entry dropped */
    uint64_t refs;                    /* messages and runs referring to it */
    cr_conn *ready_head, *ready_tail; /* READY conns bound here, binding order */
    cr_hist *hist;                    /* owned: replay buffer, NULL while empty */
    uint32_t index;                   /* position in ctx->streams; the TTL timer's target */
    uint32_t nready;
    uint8_t established; /* a binding to (user, thread) has landed once */
    char thread[];       /* owned inline */
};

/* A client message: cached (F6), queued (F5) or dispatched and awaiting
 * cr_run_start / cr_msg_release.  One block: struct, thread copy, payload
 * copy (the copies only for messages that had to wait). */
struct cr_msg {
    uint64_t id;
    cr_conn_id conn;
    uint64_t tag, received_at;
    uint64_t last_seq;      /* client's last seq for the named thread */
    const char *thread;     /* named thread (into this block), NULL: none */
    cr_stream *named;       /* resolved named thread, once the user is known */
    cr_user *user;          /* dispatch context (borrowed), NULL: none */
    cr_stream *stream;      /* dispatch context (borrowed), NULL: none */
    cr_stream *assoc_at_go; /* F1 off: associate conn to this at run_go */
    uint64_t switches;      /* the connection's switch count when queued */
    cr_msg *next;           /* owned: rest of the queue or cache */
    const void *payload;    /* into this block, NULL if not copied */
    size_t payload_len;
    unsigned char data[];
};

#define CR_CONN_SENT_SLOTS  8
#define CR_CONN_SENT_INLINE 2 /* of them in the record; the others allocated on demand */
#define CR_CONN_STALE_SLOTS 2

struct cr_conn {
    cr_conn_id id;
    cr_user *user;           /* borrowed; NULL before authentication */
    cr_stream *bound;        /* borrowed; NULL before the first binding */
    cr_stream *assoc_target; /* borrowed; association in flight (or given up
                                silently, F8 off), NULL: none */
    uint64_t assoc_req;      /* live request id, 0: none (retry pending or dead) */
    uint64_t assoc_last_seq; /* replay hint for assoc_target */
    cr_stream *switch_owed;  /* F3: THREAD_SWITCHED owed once bound here */
    uint64_t switches;       /* cr_conn_switch calls accepted so far */
    uint64_t generation;
    uint64_t opened_at, ready_at, bound_at;
    uint64_t pending_timer;          /* counter of the live pending-deadline timer, 0: none */
    uint64_t retry_timer;            /* counter of the live retry timer, 0: none */
    cr_msg *queue_head, *queue_tail; /* owned: F5 queue */
    cr_msg *cache_head, *cache_tail; /* owned: F6 cache */
    size_t queue_len, cache_len;
    cr_conn *s_prev, *s_next; /* in bound->ready list */
    cr_conn *u_prev, *u_next; /* in user->conns list */
    /* The highest seq sent on this connection per recent stream (a small
     * ring, no allocation): a rebinding never replays what this very
     * connection was already sent, whatever the client's last_seq says. */
    cr_sent sent[CR_CONN_SENT_INLINE]; /* slots 0, 1 */
    cr_sent *sent_more;                /* owned: slots 2.., allocated when a binding may need one */
    /* Superseded associations still in flight (a small ring): their
     * successful completion establishes the thread context they were for
     * without rebinding the connection. */
    uint64_t stale_req[CR_CONN_STALE_SLOTS];
    cr_stream *stale_stream[CR_CONN_STALE_SLOTS]; /* borrowed */
    cr_conn *close_next;                          /* borrowed */
    uint32_t attempts;                            /* of the association in flight */
    uint8_t state;                                /* cr_conn_state */
    uint8_t assoc_establish;                      /* the association in flight only establishes
                                                     assoc_target's context, for a message queued
                                                     before a later switch: it does not rebind */
    uint8_t ever_ready;
    uint8_t sent_next, stale_next; /* the rings' next slots */
    /* Closing: CR_CLOSING_DEFERRED, asked for from a callback and queued
     * in ctx->close_head (close_next, close_reason); CR_CLOSING_NOW, being
     * closed (its callbacks run).  0: neither. */
    uint8_t closing;
    uint8_t close_reason; /* cr_close_reason */
};

#define CR_CLOSING_DEFERRED 1
#define CR_CLOSING_NOW      2

struct cr_run {
    cr_run_id id;
    cr_user *user;     /* borrowed, NULL: no user context */
    cr_stream *stream; /* borrowed, NULL: no thread context */
    int go;            /* run_go happened */
    int lost;          /* went without a valid context: events unroutable */
    uint64_t started_at;
    uint64_t timer;         /* counter of the live validation timer, 0: none */
    cr_conn_id assoc_conn;  /* F1 off: associate this conn ... */
    cr_stream *assoc_at_go; /* ... to this thread at run_go */
    uint64_t assoc_last_seq;
};

struct cr_ctx {
    cr_mem mem;
    cr_policy pol;
    cr_callbacks cb;
    void *ud;     /* borrowed, passed to callbacks */
    uint64_t now; /* last `now` of a successful call */
    cr_stats st;  /* counters; bytes_* copied from mem on read */
    cr_heap timers;
    cr_map conns;         /* (conn id) -> cr_conn, owned values: open connections */
    cr_conn_id last_conn; /* ids 1..last_conn were handed out */
    cr_stream **streams;  /* owned vector, dense (a removal moves the last in) */
    size_t nstreams, streams_cap;
    cr_map users; /* (0, name) -> cr_user, owned values */
    cr_map skeys; /* (user id, thread) -> cr_stream, values owned by `streams` */
    cr_map msgs;  /* (msg id) -> cr_msg, owned values */
    cr_map runs;  /* (run id) -> cr_run, owned values */
    cr_map reqs;  /* (req id) -> cr_conn, borrowed values */
    uint64_t last_user, last_msg, last_run, last_req;
    /* The re-entrancy guard: > 0 while a host callback runs.  Every
     * state-changing entry point refuses with CR_EREENTRANT then, except
     * cr_conn_close, which is deferred (close_head: queue, request order),
     * carried out by cr_ctx_commit / cr_ctx_settle of the outermost call. */
    unsigned in_cb;
    cr_conn *close_head, *close_tail; /* borrowed: the deferred closes */
};

/* The sizes the records were allocated with (cr_mem_free needs them). */
static inline size_t cr_user_size(const cr_user *u)
{
    return sizeof *u + strlen(u->name) + 1;
}

static inline size_t cr_stream_size(const cr_stream *s)
{
    return offsetof(cr_stream, thread) + strlen(s->thread) + 1;
}

static inline size_t cr_hist_size(const cr_hist *h)
{
    return sizeof *h + h->cap;
}

/* A message: the struct, then its copies of thread and payload (made only
 * for messages that had to wait). */
static inline size_t cr_msg_size(const cr_msg *m)
{
    return sizeof *m + (m->thread ? strlen(m->thread) + 1 : 0) + (m->payload ? m->payload_len : 0);
}

#define CR_SENT_MORE_SIZE ((CR_CONN_SENT_SLOTS - CR_CONN_SENT_INLINE) * sizeof(cr_sent))

/* CR_CALL invokes host callback `name` (skipped when NULL) with the
 * re-entrancy guard raised. */
#define CR_CALL(ctx, name, ...)                                                                    \
    do {                                                                                           \
        if ((ctx)->cb.name) {                                                                      \
            (ctx)->in_cb++;                                                                        \
            (ctx)->cb.name((ctx)->ud, __VA_ARGS__);                                                \
            (ctx)->in_cb--;                                                                        \
        }                                                                                          \
    } while (0)

/* cr_sat_add returns a + b, saturated at UINT64_MAX. */
static inline uint64_t cr_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* cr_id_ok: is `s` a valid identifier (1..CR_ID_MAX bytes)?  O(CR_ID_MAX). */
CR_INTERNAL int cr_id_ok(const char *s);

/* cr_ctx_time_ok is the check at the entry of every state-changing call
 * taking `now`: 0, CR_EREENTRANT when called from inside a callback, or
 * CR_ETIME when now is before the last call. */
CR_INTERNAL int cr_ctx_time_ok(const cr_ctx *ctx, uint64_t now);

/* cr_ctx_settle carries out the closes deferred by callbacks (each may
 * defer more: until none is left).  Called by the outermost call before it
 * returns, on every path that made callbacks.  O(closes). */
CR_INTERNAL void cr_ctx_settle(cr_ctx *ctx, uint64_t now);

/* cr_ctx_commit settles (cr_ctx_settle), records `now` as the latest time
 * and discards stale timers at the top of the heap, so that
 * cr_ctx_get_expiry is exact.  Called at the end of every call that changed
 * something.  O(k log n), k stale tops. */
CR_INTERNAL void cr_ctx_commit(cr_ctx *ctx, uint64_t now);

/* Lookups.  O(1) expected (+ strlen to hash). */
CR_INTERNAL cr_user *cr_user_find(const cr_ctx *ctx, const char *name);
CR_INTERNAL cr_stream *cr_stream_find(const cr_ctx *ctx, const cr_user *u, const char *thread);
/* cr_conn_lookup returns the open connection `id`, or NULL with *err set to
 * CR_ENOTFOUND (never opened) or CR_ECLOSED. */
CR_INTERNAL cr_conn *cr_conn_lookup(const cr_ctx *ctx, cr_conn_id id, int *err);

/* cr_user_ref / cr_user_unref count a reference to u (NULL: no-op); the
 * last unref frees u.  O(1) expected. */
CR_INTERNAL void cr_user_ref(cr_user *u);
CR_INTERNAL void cr_user_unref(cr_ctx *ctx, cr_user *u);

/* cr_stream_ref / cr_stream_unref count a message's or run's reference to
 * s (NULL: no-op).  O(1). */
CR_INTERNAL void cr_stream_ref(cr_stream *s);
CR_INTERNAL void cr_stream_unref(cr_stream *s);

/* cr_msg_free releases m's references and frees it. */
CR_INTERNAL void cr_msg_free(cr_ctx *ctx, cr_msg *m);

/* cr_user_prepare finds user `name`, or allocates a new one (not yet
 * inserted: *fresh = 1) after reserving its map slot.  0 or CR_ENOMEM.
 * cr_user_insert commits a fresh user; cr_mem_free discards it. */
CR_INTERNAL int cr_user_prepare(cr_ctx *ctx, const char *name, cr_user **out, int *fresh);
CR_INTERNAL void cr_user_insert(cr_ctx *ctx, cr_user *u);

/* Output.  Each wraps a callback (skipped when NULL) and counts. */
CR_INTERNAL void cr_out_deliver(cr_ctx *ctx, uint64_t now, cr_conn *c, cr_event *ev);
CR_INTERNAL void cr_out_notice(cr_ctx *ctx, uint64_t now, cr_conn_id conn, cr_notice_kind kind,
                               const char *thread, uint64_t tag, int error);
/* cr_out_report sends an ERROR or INFO report (errors_reported counts the
 * ERRORs). */
CR_INTERNAL void cr_out_report(cr_ctx *ctx, uint64_t now, cr_report_kind kind, int error,
                               cr_conn_id conn, const char *user, const char *thread, uint64_t tag,
                               const char *message);
/* cr_out_report_seq: the same, about event `seq` of a stream. */
CR_INTERNAL void cr_out_report_seq(cr_ctx *ctx, uint64_t now, cr_report_kind kind, int error,
                                   cr_conn_id conn, const char *user, const char *thread,
                                   uint64_t seq, const char *message);
/* cr_conn_sent_seq returns the highest seq of stream s sent on c (0 if
 * unknown).  O(CR_CONN_SENT_SLOTS). */
CR_INTERNAL uint64_t cr_conn_sent_seq(const cr_conn *c, const cr_stream *s);

/* cr_conn_sent_slot returns slot i (0..CR_CONN_SENT_SLOTS-1) of c's ring,
 * NULL for one not allocated (never used yet).  O(1). */
static inline cr_sent *cr_conn_sent_slot(cr_conn *c, int i)
{
    if (i < CR_CONN_SENT_INLINE)
        return &c->sent[i];
    return c->sent_more ? &c->sent_more[i - CR_CONN_SENT_INLINE] : NULL;
}

/* cr_conn_sent_reserve makes sure that binding c to s and sending on it
 * will find a slot of the ring in memory: the slots past the inline ones
 * are allocated once the ring's next slot is one of them and s has none.
 * 0 or CR_ENOMEM (nothing changed).  O(CR_CONN_SENT_SLOTS). */
CR_INTERNAL int cr_conn_sent_reserve(cr_ctx *ctx, cr_conn *c, const cr_stream *s);

/* cr_conn_set_state moves c to state s, keeping conns_by_state exact. */
CR_INTERNAL void cr_conn_set_state(cr_ctx *ctx, cr_conn *c, cr_conn_state s);

#endif
