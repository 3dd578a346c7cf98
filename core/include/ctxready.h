/*
 * ctxready.h - libctxready, the context-readiness core.
 *
 * A sans-I/O library that a real-time chat server embeds between its
 * WebSocket layer, its thread service and its agent runtime.  It owns the
 * answer to one question: "may this event be routed to this connection yet?"
 *
 *   Connection -> no context -> message arrives -> extract thread ->
 *   update context -> now can route
 *
 * The library has no sockets, no threads, no clock and no global state.  Any
 * number of contexts (cr_ctx) can live in one process.  Time comes in: every
 * state-changing call takes `now`, a monotonic time in nanoseconds, which
 * must never decrease from one call to the next on the same context.  The
 * host asks cr_ctx_get_expiry() for the next deadline and calls
 * cr_ctx_handle_expiry() when it has passed.  Output goes out through the
 * host callbacks in cr_callbacks.
 *
 * Conventions
 *  - Functions return 0 or a negative CR_E* code; results go through
 *    out-parameters.  A call that fails changes nothing.
 *  - Strings passed in are copied; the caller keeps ownership.
 *  - Pointers handed to callbacks are borrowed: valid only during the call.
 *  - Re-entrancy: a callback may call the queries (functions taking
 *    `const cr_ctx *`) and cr_conn_close() of the same context, nothing
 *    else.  Every other state-changing call made from inside a callback of
 *    the same context returns CR_EREENTRANT and changes nothing (checked in
 *    every build).  cr_conn_close() from a callback is deferred by the core:
 *    it is validated and accepted (0) at once, and carried out when the
 *    outermost call into the context returns, before that call returns
 *    (see cr_conn_close).  For everything else use the deferred-action
 *    pattern: the callback queues the reaction (answer association N, end
 *    run R, start a run for message M) and the host performs it after the
 *    call that made the callback has returned:
 *
 *        static void on_associate(void *ud, uint64_t now, uint64_t req, ...)
 *        {   host *h = ud; queue_push(&h->todo, ANSWER, req); }
 *        ...
 *        cr_conn_message(ctx, now, conn, &msg, NULL);
 *        while ((a = queue_pop(&h->todo)))   // after the call returned
 *            cr_assoc_complete(ctx, now, a->req, a->ok);
 *
 *    Closing from a callback (a socket write that failed inside deliver) is
 *    the one reaction the core takes over, because refusing it would leave
 *    a dead socket registered and the host has nothing else to do.
 *  - Identifiers (user, thread) are NUL-terminated strings of 1 to
 *    CR_ID_MAX bytes.  The routing key is always (user, thread): two users
 *    may hold the same thread string and never see each other's events.
 *
 * Faults of the legacy design and their fixes (policy knobs), see cr_policy:
 *  F1 associate_before_execute   F2 exec_grace, exec_retry_interval
 *  F3 verify_before_notify       F4 buffer_until_ready, event_buffer_max, event_ttl
 *  F5 queue_until_context        F6 cache_preauth, preauth_max
 *  F7 pool_pending_marking       F8 update_retries, update_backoff
 *  F9 report_undeliverable, fallback_notify
 */
#ifndef CTXREADY_H
#define CTXREADY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version this header belongs to; cr_version() tells the version of the
 * library actually loaded (they differ when a program built against one
 * header runs with another libctxready.so). */
#define CR_VERSION_MAJOR  0
#define CR_VERSION_MINOR  1
#define CR_VERSION_PATCH  0
#define CR_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, comparable with <, as CR_VERSION_NUM. */
#define CR_VERSION_NUM (CR_VERSION_MAJOR * 10000 + CR_VERSION_MINOR * 100 + CR_VERSION_PATCH)

/* Longest user or thread identifier, in bytes, without the NUL. */
#define CR_ID_MAX 128

/* No deadline: returned by cr_ctx_get_expiry() when nothing is scheduled. */
#define CR_TIME_NEVER UINT64_MAX

#define CR_NS_PER_MS UINT64_C(1000000)
#define CR_NS_PER_S  UINT64_C(1000000000)

/* ------------------------------------------------------------------------ */
/* Error codes: one table, codes and strings generated from it.             */

#define CR_ERRNO_MAP(X)                                                                            \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(ENOTFOUND, -3, "unknown identifier")                                                         \
    X(ECLOSED, -4, "connection is closed")                                                         \
    X(ESTATE, -5, "operation not allowed in the current state")                                    \
    X(EFOREIGN, -6, "thread is owned by another user")                                             \
    X(EFULL, -7, "bound reached (queue, cache or buffer full)")                                    \
    X(ETOOBIG, -8, "input larger than the policy allows")                                          \
    X(EEXIST, -9, "already exists")                                                                \
    X(ETIME, -10, "time went backwards")                                                           \
    X(EREENTRANT, -11, "called from inside a callback of the same context")

enum {
#define CR_ERRNO_ENUM(name, code, str) CR_##name = (code),
    CR_ERRNO_MAP(CR_ERRNO_ENUM)
#undef CR_ERRNO_ENUM
};

/* cr_strerror returns a static string for a CR_E* code ("success" for 0,
 * "unknown error" for anything else).  Never NULL. */
const char *cr_strerror(int err);

/* cr_version returns the loaded library's version string ("0.1.0"), static;
 * when num is not NULL it also stores CR_VERSION_NUM as the library was built
 * with it.  A host can refuse to start when the major differs from the
 * header's: (num / 10000 != CR_VERSION_MAJOR).  O(1), never fails. */
const char *cr_version(int *num);

/* cr_errname returns the symbolic name of a CR_E* code ("CR_EFULL"). */
const char *cr_errname(int err);

/* ------------------------------------------------------------------------ */
/* Enumerations                                                             */

typedef uint64_t cr_conn_id; /* assigned by the core, never reused, never 0 */
typedef uint64_t cr_run_id;  /* assigned by the core, never reused, never 0 */

typedef enum cr_conn_state {
    CR_CONN_OPEN = 0,            /* transport up, no user yet */
    CR_CONN_PENDING_CONTEXT = 1, /* user known, no thread bound yet */
    CR_CONN_READY = 2,           /* user + thread bound: routable */
    CR_CONN_CLOSED = 3
} cr_conn_state;

/* cr_conn_state_name returns "OPEN", "PENDING_CONTEXT", "READY", "CLOSED". */
const char *cr_conn_state_name(cr_conn_state s);

/* Why a connection closed.  The host passes one to cr_conn_close(); the core
 * uses CR_CLOSE_PENDING_TIMEOUT itself. */
#define CR_CLOSE_REASON_MAP(X)                                                                     \
    X(CLIENT, "client closed")                                                                     \
    X(DISCONNECT, "transport lost")                                                                \
    X(PENDING_TIMEOUT, "no context before the pending deadline")                                   \
    X(SERVER, "server shutdown")

typedef enum cr_close_reason {
#define CR_CLOSE_ENUM(name, str) CR_CLOSE_##name,
    CR_CLOSE_REASON_MAP(CR_CLOSE_ENUM)
#undef CR_CLOSE_ENUM
} cr_close_reason;

const char *cr_close_reason_name(cr_close_reason r);

/* The single outcome of every agent event (cr_run_emit).  An event delivered
 * to several connections (several tabs on one thread) has one outcome. */
#define CR_OUTCOME_MAP(X)                                                                          \
    X(DELIVERED, "delivered")                   /* routed live to >= 1 READY conn */               \
    X(BUFFERED_DELIVERED, "buffered_delivered") /* buffered, later replayed */                     \
    X(EXPIRED, "expired")                       /* event_ttl passed, nobody ready */               \
    X(FALLBACK, "fallback")                     /* sent as notification to another conn of user */ \
    X(DROPPED_FULL, "dropped_full")             /* buffer bound hit */                             \
    X(UNROUTABLE, "unroutable")                 /* run has no user/thread context, no buffer */

typedef enum cr_outcome {
#define CR_OUTCOME_ENUM(name, str) CR_OUTCOME_##name,
    CR_OUTCOME_MAP(CR_OUTCOME_ENUM)
#undef CR_OUTCOME_ENUM
        CR_OUTCOME_COUNT
} cr_outcome;

/* cr_outcome_name returns "delivered", "buffered_delivered", ... */
const char *cr_outcome_name(cr_outcome o);

/* ------------------------------------------------------------------------ */
/* Policy: the nine fixes as knobs, and the two profiles.                   */

typedef enum cr_profile {
    CR_PROFILE_LEGACY = 0, /* every fix off: the audited behaviour */
    CR_PROFILE_FIXED = 1   /* every fix on, sane defaults */
} cr_profile;

typedef enum cr_knob_type {
    CR_KNOB_BOOL = 0,     /* 0 or 1 */
    CR_KNOB_COUNT = 1,    /* a count */
    CR_KNOB_DURATION = 2, /* nanoseconds */
    CR_KNOB_BYTES = 3
} cr_knob_type;

/*
 * The knob table: X(name, type, fix number (0 = general), legacy value,
 * fixed value, doc).  cr_policy has one uint64_t field per row.
 */
#define CR_POLICY_KNOBS(X)                                                                         \
    X(associate_before_execute, CR_KNOB_BOOL, 1, 0, 1,                                             \
      "request the thread association before dispatching the message; off: only once "             \
      "the agent started")                                                                         \
    X(exec_grace, CR_KNOB_DURATION, 2, 0, 5 * CR_NS_PER_S,                                         \
      "how long a run waits for its thread context to be established; 0: validate once")           \
    X(exec_retry_interval, CR_KNOB_DURATION, 2, 0, 20 * CR_NS_PER_MS,                              \
      "re-validation period during exec_grace; 0: no polling, re-validated once at the "           \
      "grace's end")                                                                               \
    X(verify_before_notify, CR_KNOB_BOOL, 3, 0, 1,                                                 \
      "send thread_switched only once the connection is bound to the new thread")                  \
    X(buffer_until_ready, CR_KNOB_BOOL, 4, 0, 1,                                                   \
      "buffer events per (user, thread) until a READY connection binds; replay on bind")           \
    X(event_buffer_max, CR_KNOB_COUNT, 4, 0, 1024, "events kept per (user, thread)")               \
    X(event_buffer_max_bytes, CR_KNOB_BYTES, 4, 0, 1048576,                                        \
      "payload bytes kept per (user, thread)")                                                     \
    X(event_ttl, CR_KNOB_DURATION, 4, 0, 60 * CR_NS_PER_S,                                         \
      "age after which a buffered, undelivered event expires; 0: no age limit")                    \
    X(queue_until_context, CR_KNOB_BOOL, 5, 0, 1,                                                  \
      "queue client messages until the connection is contextualized")                              \
    X(pending_max, CR_KNOB_COUNT, 5, 0, 64, "queued messages per connection")                      \
    X(cache_preauth, CR_KNOB_BOOL, 6, 0, 1, "cache messages received before authentication")       \
    X(preauth_max, CR_KNOB_COUNT, 6, 0, 16, "cached pre-auth messages per connection")             \
    X(pool_pending_marking, CR_KNOB_BOOL, 7, 0, 1,                                                 \
      "routing never picks a connection without thread context")                                   \
    X(update_retries, CR_KNOB_COUNT, 8, 0, 5, "retries of a failed association; 0: none")          \
    X(update_backoff, CR_KNOB_DURATION, 8, 0, 50 * CR_NS_PER_MS,                                   \
      "first retry delay, doubled on each retry")                                                  \
    X(report_undeliverable, CR_KNOB_BOOL, 9, 0, 1,                                                 \
      "count every outcome and report every non-delivery to the host")                             \
    X(fallback_notify, CR_KNOB_BOOL, 9, 0, 1,                                                      \
      "an undeliverable event is sent as a notification to another READY connection "              \
      "of the same user")                                                                          \
    X(pending_deadline, CR_KNOB_DURATION, 0, 0, 30 * CR_NS_PER_S,                                  \
      "close a connection that has no context after this long; 0: never")                          \
    X(max_payload, CR_KNOB_BYTES, 0, 65536, 65536, "largest message or event payload")

typedef struct cr_policy {
#define CR_POLICY_FIELD(name, type, fix, legacy, fixed, doc) uint64_t name;
    CR_POLICY_KNOBS(CR_POLICY_FIELD)
#undef CR_POLICY_FIELD
} cr_policy;

/* A row of the knob table, for tools that list or parse knobs. */
typedef struct cr_knob_info {
    const char *name;
    cr_knob_type type;
    int fix; /* 1..9, 0 for general knobs */
    uint64_t legacy_value;
    uint64_t fixed_value;
    const char *doc;
} cr_knob_info;

/* cr_policy_init fills *p with a profile's values.  Returns 0 or CR_EINVAL. */
int cr_policy_init(cr_policy *p, cr_profile profile);

/* cr_policy_set sets one knob by name.  Returns 0, CR_ENOTFOUND (no such
 * knob) or CR_EINVAL (a bool knob given a value other than 0 or 1). */
int cr_policy_set(cr_policy *p, const char *name, uint64_t value);

/* cr_policy_get reads one knob by name into *value.  0 or CR_ENOTFOUND. */
int cr_policy_get(const cr_policy *p, const char *name, uint64_t *value);

/* cr_policy_disable_fix switches fix `fix` (1..9) off on top of *p, exactly
 * as the legacy profile has it, leaving every other knob alone (ablation).
 * Returns 0 or CR_EINVAL. */
int cr_policy_disable_fix(cr_policy *p, int fix);

/* cr_policy_knob_count / cr_policy_knob describe the knob table (row i). */
size_t cr_policy_knob_count(void);
const cr_knob_info *cr_policy_knob(size_t i);

/* ------------------------------------------------------------------------ */
/* Injected services                                                        */

/* Allocator.  Any of the calls may fail (return NULL); the core then returns
 * CR_ENOMEM and changes nothing.  NULL allocator: the C library's. */
typedef struct cr_allocator {
    void *(*malloc)(size_t size, void *user_data);
    void *(*realloc)(void *ptr, size_t size, void *user_data);
    void (*free)(void *ptr, void *user_data);
    void *user_data;
} cr_allocator;

/* ------------------------------------------------------------------------ */
/* What flows out: events, dispatches, notices, reports.                    */

/* cr_event.flags */
#define CR_EVENT_REPLAY       0x1 /* sent from the buffer on (re)binding */
#define CR_EVENT_NOTIFICATION 0x2 /* fallback copy to another conn of the user */

/* An agent event as delivered to a connection. */
typedef struct cr_event {
    const char *user;   /* owner of the stream (borrowed) */
    const char *thread; /* thread of the stream (borrowed) */
    cr_run_id run;
    uint64_t seq;        /* per (user, thread) stream, from 1, no gaps */
    uint64_t generation; /* binding generation of the receiving connection */
    uint32_t type;       /* host-defined event type, passed through */
    uint32_t flags;      /* CR_EVENT_* */
    uint64_t tag;        /* host-defined tag from cr_run_emit, passed through */
    uint64_t emitted_at; /* `now` of cr_run_emit */
    const void *payload; /* borrowed */
    size_t payload_len;
} cr_event;

/* A client message handed to the application, with the routing context the
 * core resolved for it.  user or thread is NULL when the message is
 * dispatched without that context (legacy behaviours: F5, F6 off). */
typedef struct cr_dispatch {
    uint64_t msg_id;    /* from cr_conn_message(); pass to cr_run_start() */
    const char *user;   /* NULL: no user context */
    const char *thread; /* NULL: no thread context */
    uint64_t tag;       /* host tag from cr_message */
    uint64_t received_at;
    const void *payload;
    size_t payload_len;
} cr_dispatch;

typedef enum cr_notice_kind {
    CR_NOTICE_THREAD_SWITCHED = 0,  /* the client may show `thread` now */
    CR_NOTICE_SWITCH_FAILED = 1,    /* association to `thread` gave up */
    CR_NOTICE_MESSAGE_REJECTED = 2, /* message `msg_tag` refused: `error` says why */
    CR_NOTICE_CLOSING = 3           /* the core closed the connection: `reason` */
} cr_notice_kind;

/* Something the server must tell a client over its connection. */
typedef struct cr_notice {
    cr_notice_kind kind;
    const char *thread;     /* SWITCHED, SWITCH_FAILED; else NULL */
    uint64_t msg_tag;       /* MESSAGE_REJECTED: the cr_message.tag */
    int error;              /* MESSAGE_REJECTED, SWITCH_FAILED: a CR_E* code */
    cr_close_reason reason; /* CLOSING */
} cr_notice;

typedef enum cr_report_kind {
    CR_REPORT_OUTCOME = 0, /* an event's non-delivery outcome, or the resolution of a
                              buffered one as buffered_delivered (F9) */
    CR_REPORT_ERROR = 1,   /* an explicit error an operator should see */
    CR_REPORT_INFO = 2     /* diagnostic */
} cr_report_kind;

/* A report for operators (the error/diagnostic channel). */
typedef struct cr_report {
    cr_report_kind kind;
    int error;           /* CR_E* for errors, 0 otherwise */
    cr_outcome outcome;  /* OUTCOME reports */
    cr_conn_id conn;     /* 0 if none */
    cr_run_id run;       /* 0 if none */
    const char *user;    /* may be NULL */
    const char *thread;  /* may be NULL */
    uint64_t seq;        /* event seq, 0 if none */
    uint64_t tag;        /* event or message tag, 0 if none */
    const char *message; /* human-readable, never NULL */
} cr_report;

/*
 * Host callbacks.  Every member may be NULL (the output is then discarded).
 * `user_data` is the pointer given to cr_ctx_new().  A callback may call
 * the queries and cr_conn_close() (deferred) of the same context; any other
 * state-changing call returns CR_EREENTRANT (see Conventions).
 */
typedef struct cr_callbacks {
    /* deliver: write event `ev` to connection `conn`. */
    void (*deliver)(void *user_data, uint64_t now, cr_conn_id conn, const cr_event *ev);
    /* dispatch: hand a client message to the application (it may later,
     * once this call returned, start an agent run with
     * cr_run_start(d->msg_id), or release it with cr_msg_release()). */
    void (*dispatch)(void *user_data, uint64_t now, cr_conn_id conn, const cr_dispatch *d);
    /* associate: ask the thread service to persist "conn is on thread" for
     * user.  Answer later with cr_assoc_complete(req_id, ok). */
    void (*associate)(void *user_data, uint64_t now, uint64_t req_id, cr_conn_id conn,
                      const char *user, const char *thread);
    /* notify: send a control notice to the client of `conn`. */
    void (*notify)(void *user_data, uint64_t now, cr_conn_id conn, const cr_notice *n);
    /* run_go: run `run` may execute now (its events will be routable or
     * accounted for).  Called once per run. */
    void (*run_go)(void *user_data, uint64_t now, cr_run_id run);
    /* close: the core closed `conn` (pending deadline); close the socket. */
    void (*close)(void *user_data, uint64_t now, cr_conn_id conn, cr_close_reason reason);
    /* report: an outcome, error or diagnostic for operators. */
    void (*report)(void *user_data, uint64_t now, const cr_report *r);
} cr_callbacks;

/* ------------------------------------------------------------------------ */
/* Context lifecycle                                                        */

typedef struct cr_ctx cr_ctx;

/* cr_ctx_new creates a context.  `policy` and `callbacks` are copied;
 * `mem` may be NULL (libc).  `user_data` is passed to every callback and
 * stays owned by the caller.  Returns 0, CR_EINVAL or CR_ENOMEM. */
int cr_ctx_new(cr_ctx **out, const cr_policy *policy, const cr_callbacks *callbacks,
               const cr_allocator *mem, void *user_data);

/* cr_ctx_del frees the context and everything it holds (no callbacks are
 * made).  NULL is a no-op.  Returns 0, or CR_EREENTRANT when called from
 * inside a callback of ctx (nothing is freed: delete it after the call
 * that made the callback has returned). */
int cr_ctx_del(cr_ctx *ctx);

/* cr_ctx_policy returns the context's policy (read-only). */
const cr_policy *cr_ctx_policy(const cr_ctx *ctx);

/* cr_ctx_get_expiry returns the earliest deadline the core needs to be
 * called back at (CR_TIME_NEVER if none).  O(1). */
uint64_t cr_ctx_get_expiry(const cr_ctx *ctx);

/* cr_ctx_handle_expiry runs every timer due at or before `now`: pending
 * deadlines, association retries, run validation, event TTLs, in (deadline,
 * arming order) order.  Returns 0, CR_ETIME or CR_ENOMEM.  On CR_ENOMEM the
 * timers already run stay run and the failing one, unchanged, stays due:
 * call again.  O(k log n) for k due timers. */
int cr_ctx_handle_expiry(cr_ctx *ctx, uint64_t now);

/* ------------------------------------------------------------------------ */
/* Threads (ownership, as the thread service knows it)                      */

/* cr_thread_add records that `user` owns `thread` (the thread service
 * created it).  Thread strings are namespaced per user: (u1, "t") and
 * (u2, "t") are two different threads and never share events.  A thread is
 * foreign to u unless cr_thread_add(u, thread) was called: messages and
 * switches naming it are refused with CR_EFOREIGN.  Idempotent.  Returns 0,
 * CR_EINVAL or CR_ENOMEM.  O(1) expected. */
int cr_thread_add(cr_ctx *ctx, uint64_t now, const char *user, const char *thread);

/* cr_thread_remove ends `user`'s ownership of `thread` (the thread was
 * deleted, or the host evicts an idle user's records) and frees what the
 * core held for it.  Refused with CR_ESTATE, nothing changed, while the
 * thread is in use: a connection is bound to it or associating to it, a
 * queued or dispatched message names it, or a run on it has not ended.
 * Events still buffered and never delivered are settled, not dropped
 * silently: each is counted and reported as UNROUTABLE (F9: reported, or
 * sent as a FALLBACK notification to another READY connection of the user;
 * F9 off: the legacy silent loss), exactly as an event without a thread
 * context; delivered history is discarded.  Superseded associations still
 * in flight for it are forgotten (their answers are ignored).  Afterwards
 * the thread is foreign to `user` (CR_EFOREIGN) until cr_thread_add again,
 * which starts a new stream: seq numbers restart at 1 and nothing is
 * replayed from before.  The user's record is freed once it holds no
 * thread, no connection, no message and no run.  Returns 0, CR_EINVAL,
 * CR_ENOTFOUND (user does not own thread), CR_ESTATE, CR_ENOMEM, CR_ETIME,
 * CR_EREENTRANT.  O(buffer + connections of the user). */
int cr_thread_remove(cr_ctx *ctx, uint64_t now, const char *user, const char *thread);

/* ------------------------------------------------------------------------ */
/* Connections                                                              */

/* cr_conn_open registers a new transport connection (state OPEN).  The
 * pending deadline starts now.  Returns 0 or CR_ENOMEM/CR_ETIME. */
int cr_conn_open(cr_ctx *ctx, uint64_t now, cr_conn_id *out);

/* cr_conn_authenticate gives an OPEN connection its user: it becomes
 * PENDING_CONTEXT, and messages cached before authentication (F6) are
 * processed now, in arrival order.  Returns 0, CR_ENOTFOUND, CR_ECLOSED,
 * CR_ESTATE (already authenticated), CR_EINVAL, CR_ENOMEM. */
int cr_conn_authenticate(cr_ctx *ctx, uint64_t now, cr_conn_id conn, const char *user);

/* A client message as received. */
typedef struct cr_message {
    const char *thread;  /* thread id the message carries; NULL: none */
    uint64_t last_seq;   /* last seq the client saw on that thread (replay) */
    uint64_t tag;        /* host tag, passed back in dispatch and notices */
    const void *payload; /* copied if the message has to wait */
    size_t payload_len;  /* 1..max_payload */
} cr_message;

/* cr_conn_message processes a client message:
 *  - before authentication: cached (F6 on; CR_EFULL past preauth_max) and
 *    processed at cr_conn_authenticate(), or dispatched at once with no
 *    user context (F6 off: its run's events are unroutable);
 *  - naming a thread the user does not own: refused with CR_EFOREIGN, a
 *    MESSAGE_REJECTED notice and an error report; nothing routed;
 *  - naming a thread the connection is not bound to (nor associating to):
 *    F1 on: the association is requested now, then the message takes the
 *    "not ready" path below; F1 off (legacy handler): dispatched at once
 *    with (user, named thread), association requested at the run's run_go;
 *  - "not ready" (no bound thread, or an association in flight): F5 on:
 *    queued (CR_EFULL past pending_max) and dispatched in order once the
 *    binding lands: a queued message naming a thread goes out only once
 *    the connection is bound to that thread (re-associating in queue
 *    order), so that once the queue drains the connection is bound to the
 *    thread of the last message, the user's latest choice; one queued
 *    before a later cr_conn_switch() goes out with its own thread's
 *    context once established, without rebinding (the switch wins the
 *    view): if its own association cannot establish it any more, the core
 *    asks for its thread again with an association that only establishes
 *    the context (cr_conn_info.assoc_establish_only; retried under F8,
 *    and on giving up the message is rejected with a notice) while the
 *    connection stays bound where the switch put it; F5 off: dispatched
 *    at once with the connection's current
 *    context (bound thread, or none);
 *  - otherwise dispatched at once on the bound thread.
 * *msg_id (may be NULL) receives the message id.  Returns 0 or CR_EINVAL,
 * CR_ENOTFOUND, CR_ECLOSED, CR_EFOREIGN, CR_EFULL, CR_ETOOBIG, CR_ENOMEM. */
int cr_conn_message(cr_ctx *ctx, uint64_t now, cr_conn_id conn, const cr_message *msg,
                    uint64_t *msg_id);

/* cr_conn_switch: the client asks to view `thread` (no message).  Requests
 * the association and notifies THREAD_SWITCHED once bound (F3 on) or at
 * once (F3 off).  `last_seq` is the last seq the client saw on that thread.
 * Returns 0 or CR_EINVAL, CR_ENOTFOUND, CR_ECLOSED, CR_ESTATE (not
 * authenticated), CR_EFOREIGN, CR_ENOMEM. */
int cr_conn_switch(cr_ctx *ctx, uint64_t now, cr_conn_id conn, const char *thread,
                   uint64_t last_seq);

/* cr_conn_close: the transport closed.  Queued and cached messages are
 * rejected, each counted in messages_rejected with an error report (no
 * notice: the socket is gone); the connection leaves routing and its
 * record is freed (cr_conn_get_info then reports only state CLOSED).
 * Returns 0, CR_ENOTFOUND, CR_ECLOSED (double close) or CR_EINVAL (reason
 * out of range).
 * From inside a callback of ctx (e.g. deliver, when the socket write
 * failed) the close is deferred: the same checks are made at once (a second
 * close, or a close of a connection the core is closing itself, is
 * CR_ECLOSED), and the close itself happens when the outermost call into
 * ctx returns, before it returns, in the order the closes were asked for.
 * Until then the connection stays as it was: the rest of that call may
 * still deliver to it or name it in callbacks (its socket is dead: discard
 * those), and its messages are rejected with reports at the close. */
int cr_conn_close(cr_ctx *ctx, uint64_t now, cr_conn_id conn, cr_close_reason reason);

/* cr_assoc_complete: the thread service answered association `req_id`.
 * ok != 0: the binding lands (READY, generation + 1, buffered events since
 * the client's last_seq replayed, then queued messages dispatched, then
 * THREAD_SWITCHED if pending).  ok == 0: retried after update_backoff
 * doubling (F8) or given up (queued messages rejected; with F8 off,
 * silently kept waiting as the legacy did).  A superseded req_id (a newer
 * association of the same connection replaced it) does not rebind: ok
 * establishes its thread context, and either answer lets the queued
 * messages that waited for it go on (dispatched, or asking for their thread
 * again); an id forgotten or of a closed connection is ignored.  Both
 * return 0.
 * Returns 0, CR_ENOTFOUND (never issued), CR_ENOMEM. */
int cr_assoc_complete(cr_ctx *ctx, uint64_t now, uint64_t req_id, int ok);

/* Connection diagnostics (a snapshot; strings borrowed until the next
 * state-changing call). */
typedef struct cr_conn_info {
    cr_conn_id id;
    cr_conn_state state;
    const char *user;         /* NULL before authentication */
    const char *thread;       /* bound thread, NULL if none */
    const char *assoc_target; /* association in flight, NULL if none */
    uint64_t generation;      /* binding generation, 0 before the first */
    uint64_t opened_at;
    uint64_t ready_at;        /* first READY, 0 if never */
    size_t queued_messages;   /* F5 queue */
    size_t preauth_messages;  /* F6 cache */
    uint32_t assoc_attempts;  /* of the association in flight */
    int assoc_establish_only; /* 1: the association in flight only establishes
                                 assoc_target's thread context (for a message
                                 queued before a later switch): the connection
                                 stays bound where it is when it lands */
} cr_conn_info;

/* cr_conn_get_info fills *out.  Returns 0 or CR_ENOTFOUND.  O(1). */
int cr_conn_get_info(const cr_ctx *ctx, cr_conn_id conn, cr_conn_info *out);

/* cr_ctx_is_ready: is there a READY connection of `user` bound to
 * `thread`?  *ready receives 0 or 1.  Returns 0 or CR_EINVAL.  O(1). */
int cr_ctx_is_ready(const cr_ctx *ctx, const char *user, const char *thread, int *ready);

/* ------------------------------------------------------------------------ */
/* Messages and agent runs                                                  */

/* cr_run_start starts the agent run of a dispatched message.  The run
 * inherits the dispatch's (user, thread).  Validation of the thread context
 * (has a binding of (user, thread) ever landed?): valid -> run_go now;
 * invalid and exec_grace > 0 -> re-checked every exec_retry_interval,
 * run_go once valid or when the grace ends (exec_retry_interval 0: checked
 * once more, at the grace's end only); invalid and exec_grace == 0
 * (legacy) -> run_go now and the run loses its thread context (its events
 * are unroutable).  With F1 off the association the message asked for is
 * requested at run_go.  Returns 0, CR_ENOTFOUND (unknown or already started
 * msg_id), CR_ENOMEM. */
int cr_run_start(cr_ctx *ctx, uint64_t now, uint64_t msg_id, cr_run_id *out);

/* cr_run_start_for starts a run the application began on its own for
 * (user, thread): a message posted over HTTP, a scheduled agent.  Same
 * validation and run_go rules as cr_run_start.  Returns 0, CR_EINVAL,
 * CR_EFOREIGN (user does not own thread), CR_ENOMEM. */
int cr_run_start_for(cr_ctx *ctx, uint64_t now, const char *user, const char *thread,
                     cr_run_id *out);

/* cr_msg_release: the application will not start a run for msg_id (frees
 * the message's record).  Returns 0, CR_ENOTFOUND or CR_EREENTRANT. */
int cr_msg_release(cr_ctx *ctx, uint64_t msg_id);

/* An event as the agent emits it. */
typedef struct cr_event_in {
    uint32_t type;       /* host-defined (agent_started = 0, ...) */
    uint64_t tag;        /* host tag, passed through to cr_event and reports */
    const void *payload; /* copied if buffered */
    size_t payload_len;  /* 0..max_payload */
} cr_event_in;

/* cr_run_emit routes one event of run `run` to every READY connection bound
 * to the run's (user, thread) (with F7 off, also to the user's connections
 * that have no thread yet), or buffers it (F4), or accounts for it.
 * *seq (may be NULL) receives the stream seq (0 if the run has no stream).
 * *outcome (may be NULL) receives the immediate outcome: DELIVERED,
 * FALLBACK, DROPPED_FULL or UNROUTABLE; CR_OUTCOME_COUNT means "buffered,
 * pending" (resolved later as BUFFERED_DELIVERED, EXPIRED or FALLBACK, and
 * reported through the report callback when report_undeliverable is on).
 * With report_undeliverable off, an event routed to nobody vanishes as in
 * the legacy router: 0 is returned, *outcome is DELIVERED (the legacy router
 * "sent" it to zero connections), nothing is counted or reported.
 * Returns 0, CR_ENOTFOUND, CR_ESTATE (run ended or not yet go), CR_ETOOBIG,
 * CR_EFULL (buffer bound: the event is dropped, counted as dropped_full and,
 * with F9, reported; like a success it commits `now`, so the stream's history
 * whose TTL passed is pruned and the expiry may move), CR_ENOMEM.  O(r) for r
 * receiving connections. */
int cr_run_emit(cr_ctx *ctx, uint64_t now, cr_run_id run, const cr_event_in *ev, uint64_t *seq,
                cr_outcome *outcome);

/* cr_run_end: the run finished; no more events.  0 or CR_ENOTFOUND. */
int cr_run_end(cr_ctx *ctx, uint64_t now, cr_run_id run);

/* ------------------------------------------------------------------------ */
/* Metrics                                                                  */

#define CR_HIST_BUCKETS 64

/* A log2-bucketed histogram of nanosecond values: bucket i counts values v
 * with floor(log2(v)) == i - 1 (bucket 0 counts v == 0). */
typedef struct cr_histogram {
    uint64_t count;
    uint64_t sum;
    uint64_t min;
    uint64_t max;
    uint64_t buckets[CR_HIST_BUCKETS];
} cr_histogram;

/* cr_histogram_quantile estimates quantile q (0..1) into *out (upper bound
 * of the bucket holding it, clamped to max).  0, CR_EINVAL (q outside [0,1])
 * or CR_ENOTFOUND (empty). */
int cr_histogram_quantile(const cr_histogram *h, double q, uint64_t *out);

typedef struct cr_stats {
    /* outcomes (counted when report_undeliverable is on, and for deliveries
     * always; legacy losses are not counted: they vanish) */
    uint64_t outcomes[CR_OUTCOME_COUNT];
    uint64_t events_emitted;
    uint64_t events_buffered_now; /* undelivered events held */
    uint64_t buffer_events_now;   /* events held for replay, delivered or not */
    uint64_t buffer_bytes_now;
    uint64_t messages_received;
    uint64_t messages_dispatched;
    uint64_t messages_rejected;
    uint64_t messages_queued_now;  /* F5 */
    uint64_t messages_preauth_now; /* F6 */
    uint64_t assoc_requested;
    uint64_t assoc_failed;
    uint64_t assoc_retried;
    uint64_t notices_sent;
    uint64_t errors_reported;
    uint64_t conns_by_state[4]; /* indexed by cr_conn_state */
    uint64_t conns_closed_pending_timeout;
    uint64_t runs_started;
    uint64_t runs_context_lost;
    uint64_t bytes_in_use; /* through the allocator */
    uint64_t bytes_peak;
    cr_histogram connect_to_ready; /* cr_conn_open -> first READY */
    cr_histogram buffer_delay;     /* emitted -> delivered from buffer */
} cr_stats;

/* cr_ctx_get_stats copies the counters into *out.  O(1). */
void cr_ctx_get_stats(const cr_ctx *ctx, cr_stats *out);

/* cr_ctx_dump writes one text line per connection, in id order:
 *   conn=<id> state=<STATE> user=<u|-> thread=<t|-> gen=<g> queued=<n> ...
 * (a closed connection: "conn=<id> state=CLOSED"), followed by one line per
 * stream with buffered events, sorted by (user, thread):
 *   stream user=<u> thread=<t> seq=<last seq> buffered=<n> undelivered=<n> ...
 * Each line ends with '\n' (counted in len) and is NUL-terminated;
 * identifier bytes outside printable ASCII are written \xHH.  `write`
 * returns 0 or a negative value to stop.  Returns 0, or the first negative
 * value of `write`, or CR_ENOMEM (before any output).  O(n log n). */
int cr_ctx_dump(const cr_ctx *ctx, int (*write)(void *arg, const char *line, size_t len),
                void *arg);

#ifdef __cplusplus
}
#endif
#endif /* CTXREADY_H */
