/*
 * test_core_reentry.c - callbacks that call back into the core (issue 13,
 * finding 2).  A host's most natural reactions happen inside a callback:
 * closing a connection whose socket write failed (deliver), closing from
 * associate or dispatch, ending a run from run_go, deleting the context from
 * dispatch, answering an association synchronously from associate.  Each of
 * those used to corrupt memory or leave a message stuck.  Now:
 *  - cr_conn_close from a callback is deferred by the core: accepted (0),
 *    carried out when the outermost call into the context returns;
 *  - every other state-changing call returns CR_EREENTRANT and changes
 *    nothing (release builds too);
 *  - the deferred-action pattern (queue the reaction, do it after the call
 *    returns) works for all of them.
 * Run under ASan (make SANITIZE=1) these are use-after-free reproducers.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "tests/lib/core_rec.h"

/* ------------------------------------------------------------------------ */
/* A recording host whose callbacks perform one configured reaction.        */

typedef enum cb_kind {
    K_DELIVER,
    K_DISPATCH,
    K_ASSOCIATE,
    K_NOTIFY,
    K_RUN_GO,
    K_CLOSE,
    K_REPORT
} cb_kind;

typedef enum action {
    A_NONE,
    A_CLOSE,          /* cr_conn_close(target or the callback's conn) */
    A_CLOSE2,         /* cr_conn_close(target), then cr_conn_close(target2) */
    A_CLOSE_BAD,      /* cr_conn_close with time going backwards, then a bad reason */
    A_RUN_END,        /* cr_run_end(target or the callback's run) */
    A_CTX_DEL,        /* cr_ctx_del */
    A_ASSOC_COMPLETE, /* cr_assoc_complete(the callback's req, 1) */
    A_EVERYTHING      /* every state-changing call: each must be refused */
} action;

typedef struct rh {
    rec r; /* first: rec_callbacks take the rec * */
    cr_ctx *ctx;
    cb_kind when;
    action what;
    uint64_t target; /* conn or run; 0: the one of the callback */
    uint64_t target2;
    int times;  /* reactions left (0: none) */
    int rc[16]; /* return codes of the reactions */
    int nrc;
    int unchanged; /* A_EVERYTHING: 1 while every refused call changed nothing */
} rh;

static const cr_event_in ev1 = {1, 7, "ev", 2};

static void record_rc(rh *h, int rc)
{
    if (h->nrc < 16)
        h->rc[h->nrc++] = rc;
}

/* Every state-changing call but cr_conn_close, from inside a callback:
 * each returns CR_EREENTRANT and nothing observable changes. */
static void try_everything(rh *h, uint64_t now, cr_conn_id conn)
{
    cr_ctx *ctx = h->ctx;
    char *before = rec_dump(ctx);
    cr_stats s0 = rec_stats(ctx);
    uint64_t exp0 = cr_ctx_get_expiry(ctx);
    size_t log0 = h->r.len;
    cr_conn_id id = 0;
    cr_run_id run = 0;
    uint64_t mid = 0;
    cr_message m = rec_message("t1", 0, 1);
    cr_outcome o;
    int rcs[] = {
        cr_ctx_handle_expiry(ctx, now),
        cr_thread_add(ctx, now, "alice", "t9"),
        cr_conn_open(ctx, now, &id),
        cr_conn_authenticate(ctx, now, conn, "alice"),
        cr_conn_message(ctx, now, conn, &m, &mid),
        cr_conn_switch(ctx, now, conn, "t2", 0),
        cr_assoc_complete(ctx, now, 1, 1),
        cr_run_start(ctx, now, 1, &run),
        cr_run_start_for(ctx, now, "alice", "t1", &run),
        cr_msg_release(ctx, 1),
        cr_run_emit(ctx, now, 1, &ev1, NULL, &o),
        cr_run_end(ctx, now, 1),
        cr_ctx_del(ctx),
    };
    for (size_t i = 0; i < sizeof rcs / sizeof rcs[0]; i++)
        if (rcs[i] != CR_EREENTRANT)
            h->unchanged = 0;
    char *after = rec_dump(ctx);
    cr_stats s1 = rec_stats(ctx);
    if (strcmp(before, after) != 0 || memcmp(&s0, &s1, sizeof s0) != 0 || id || run || mid ||
        cr_ctx_get_expiry(ctx) != exp0 || h->r.len != log0)
        h->unchanged = 0;
    free(before);
    free(after);
    record_rc(h, 0);
}

static void react(rh *h, cb_kind k, uint64_t now, cr_conn_id conn, uint64_t run, uint64_t req)
{
    if (k != h->when || h->times <= 0)
        return;
    h->times--;
    switch (h->what) {
    case A_CLOSE:
        record_rc(h, cr_conn_close(h->ctx, now, h->target ? h->target : conn, CR_CLOSE_DISCONNECT));
        break;
    case A_CLOSE2:
        record_rc(h, cr_conn_close(h->ctx, now, h->target, CR_CLOSE_DISCONNECT));
        record_rc(h, cr_conn_close(h->ctx, now, h->target2, CR_CLOSE_DISCONNECT));
        break;
    case A_CLOSE_BAD:
        record_rc(h, cr_conn_close(h->ctx, 0, conn, CR_CLOSE_DISCONNECT));
        record_rc(h, cr_conn_close(h->ctx, now, conn, (cr_close_reason)42));
        break;
    case A_RUN_END:
        record_rc(h, cr_run_end(h->ctx, now, h->target ? h->target : run));
        break;
    case A_CTX_DEL:
        record_rc(h, cr_ctx_del(h->ctx));
        break;
    case A_ASSOC_COMPLETE:
        record_rc(h, cr_assoc_complete(h->ctx, now, req, 1));
        break;
    case A_EVERYTHING:
        try_everything(h, now, conn);
        break;
    case A_NONE:
        break;
    }
}

static void h_deliver(void *ud, uint64_t now, cr_conn_id c, const cr_event *e)
{
    rec_callbacks.deliver(ud, now, c, e);
    react(ud, K_DELIVER, now, c, e->run, 0);
}

static void h_dispatch(void *ud, uint64_t now, cr_conn_id c, const cr_dispatch *d)
{
    rec_callbacks.dispatch(ud, now, c, d);
    react(ud, K_DISPATCH, now, c, 0, 0);
}

static void h_associate(void *ud, uint64_t now, uint64_t req, cr_conn_id c, const char *user,
                        const char *thread)
{
    rec_callbacks.associate(ud, now, req, c, user, thread);
    react(ud, K_ASSOCIATE, now, c, 0, req);
}

static void h_notify(void *ud, uint64_t now, cr_conn_id c, const cr_notice *n)
{
    rec_callbacks.notify(ud, now, c, n);
    react(ud, K_NOTIFY, now, c, 0, 0);
}

static void h_run_go(void *ud, uint64_t now, cr_run_id run)
{
    rec_callbacks.run_go(ud, now, run);
    react(ud, K_RUN_GO, now, 0, run, 0);
}

static void h_close(void *ud, uint64_t now, cr_conn_id c, cr_close_reason reason)
{
    rec_callbacks.close(ud, now, c, reason);
    react(ud, K_CLOSE, now, c, 0, 0);
}

static void h_report(void *ud, uint64_t now, const cr_report *p)
{
    rec_callbacks.report(ud, now, p);
    react(ud, K_REPORT, now, p->conn, p->run, 0);
}

static const cr_callbacks h_callbacks = {h_deliver, h_dispatch, h_associate, h_notify,
                                         h_run_go,  h_close,    h_report};

/* rh_new: a context on the fixed profile (pending_deadline `pending`, 0:
 * none) with alice owning t1 and t2. */
static cr_ctx *rh_new(rh *h, uint64_t pending)
{
    memset(h, 0, sizeof *h);
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    p.pending_deadline = pending;
    ck_assert_int_eq(cr_ctx_new(&h->ctx, &p, &h_callbacks, NULL, h), 0);
    ck_assert_int_eq(cr_thread_add(h->ctx, 0, "alice", "t1"), 0);
    ck_assert_int_eq(cr_thread_add(h->ctx, 0, "alice", "t2"), 0);
    return h->ctx;
}

static void rh_free(rh *h)
{
    ck_assert_int_eq(cr_ctx_del(h->ctx), 0);
    rec_free(&h->r);
}

/* A READY connection of alice bound to `thread` (no reaction armed). */
static cr_conn_id ready_conn(rh *h, uint64_t now, const char *thread)
{
    cr_conn_id c = rec_open_auth(h->ctx, now, "alice");
    ck_assert_int_eq(cr_conn_switch(h->ctx, now, c, thread, 0), 0);
    ck_assert_int_eq(cr_assoc_complete(h->ctx, now, rec_last_req(&h->r), 1), 0);
    ck_assert_int_eq(rec_state_of(h->ctx, c), CR_CONN_READY);
    return c;
}

static size_t count(const char *log, const char *needle)
{
    size_t n = 0;
    for (const char *p = log; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* ------------------------------------------------------------------------ */
/* The reproducers of finding 2.                                            */

/* The socket write of c1 fails inside deliver and the host closes c1: the
 * routing loop went on through c1's freed record.  Now the close waits for
 * the emit to return; c2 still gets the event; c1 is closed after. */
START_TEST(test_core_reentry_close_from_deliver)
{
    rh h;
    cr_ctx *ctx = rh_new(&h, 0);
    cr_conn_id c1 = ready_conn(&h, 1, "t1"), c2 = ready_conn(&h, 1, "t1");
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, 2, "alice", "t1", &run), 0);
    h.when = K_DELIVER;
    h.what = A_CLOSE;
    h.times = 1;
    rec_since(&h.r);
    cr_outcome o = CR_OUTCOME_COUNT;
    ck_assert_int_eq(cr_run_emit(ctx, 3, run, &ev1, NULL, &o), 0);
    ck_assert_int_eq(h.nrc, 1);
    ck_assert_int_eq(h.rc[0], 0); /* accepted: deferred */
    ck_assert_int_eq(o, CR_OUTCOME_DELIVERED);
    const char *log = rec_since(&h.r);
    ck_assert_uint_eq(count(log, "deliver c=1 "), 1);
    ck_assert_uint_eq(count(log, "deliver c=2 "), 1);
    ck_assert_int_eq(rec_state_of(ctx, c1), CR_CONN_CLOSED);
    ck_assert_int_eq(rec_state_of(ctx, c2), CR_CONN_READY);
    /* a second close of c1 is a double close */
    ck_assert_int_eq(cr_conn_close(ctx, 4, c1, CR_CLOSE_CLIENT), CR_ECLOSED);
    ck_assert_int_eq(cr_run_emit(ctx, 5, run, &ev1, NULL, &o), 0);
    log = rec_since(&h.r);
    ck_assert_uint_eq(count(log, "deliver c=1 "), 0);
    ck_assert_uint_eq(count(log, "deliver c=2 "), 1);
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.conns_by_state[CR_CONN_READY], 1);
    ck_assert_uint_eq(s.conns_by_state[CR_CONN_CLOSED], 1);
    rh_free(&h);
}
END_TEST

/* The same during a replay on binding: every buffered event is still handed
 * over (the host sees the failure once per write), then c closes. */
START_TEST(test_core_reentry_close_from_replay)
{
    rh h;
    cr_ctx *ctx = rh_new(&h, 0);
    cr_conn_id c0 = ready_conn(&h, 1, "t1"); /* establishes t1 */
    ck_assert_int_eq(cr_conn_close(ctx, 1, c0, CR_CLOSE_CLIENT), 0);
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, 1, "alice", "t1", &run), 0);
    cr_conn_id c = rec_open_auth(ctx, 1, "alice");
    ck_assert_int_eq(cr_conn_switch(ctx, 1, c, "t1", 0), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(cr_run_emit(ctx, 2, run, &ev1, NULL, NULL), 0);
    h.when = K_DELIVER;
    h.what = A_CLOSE;
    h.times = 3;
    ck_assert_int_eq(cr_assoc_complete(ctx, 3, rec_last_req(&h.r), 1), 0);
    ck_assert_int_eq(h.nrc, 3);
    ck_assert_int_eq(h.rc[0], 0);
    ck_assert_int_eq(h.rc[1], CR_ECLOSED); /* already closing */
    ck_assert_int_eq(h.rc[2], CR_ECLOSED);
    ck_assert_int_eq(rec_state_of(ctx, c), CR_CONN_CLOSED);
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.outcomes[CR_OUTCOME_BUFFERED_DELIVERED], 3);
    ck_assert_uint_eq(s.conns_by_state[CR_CONN_CLOSED], 2);
    rh_free(&h);
}
END_TEST

/* Close inside associate: cr_conn_switch went on writing into c. */
START_TEST(test_core_reentry_close_from_associate)
{
    rh h;
    cr_ctx *ctx = rh_new(&h, 0);
    cr_conn_id c = rec_open_auth(ctx, 1, "alice");
    h.when = K_ASSOCIATE;
    h.what = A_CLOSE;
    h.times = 1;
    ck_assert_int_eq(cr_conn_switch(ctx, 2, c, "t1", 0), 0);
    ck_assert_int_eq(h.rc[0], 0);
    ck_assert_int_eq(rec_state_of(ctx, c), CR_CONN_CLOSED);
    /* the answer of the closed connection's request is ignored */
    ck_assert_int_eq(cr_assoc_complete(ctx, 3, rec_last_req(&h.r), 1), 0);
    /* the same through a message that must associate first: it is queued,
     * then rejected by the close */
    cr_conn_id c2 = rec_open_auth(ctx, 4, "alice");
    h.times = 1;
    cr_message m = rec_message("t2", 0, 9);
    ck_assert_int_eq(cr_conn_message(ctx, 5, c2, &m, NULL), 0);
    ck_assert_int_eq(rec_state_of(ctx, c2), CR_CONN_CLOSED);
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.messages_rejected, 1);
    ck_assert_uint_eq(s.messages_queued_now, 0);
    rh_free(&h);
}
END_TEST

/* Close inside dispatch while the queue drains: drain() went on through the
 * freed connection.  Both queued messages are dispatched (the drain is one
 * call), then c closes. */
START_TEST(test_core_reentry_close_from_dispatch)
{
    rh h;
    cr_ctx *ctx = rh_new(&h, 0);
    cr_conn_id c = rec_open_auth(ctx, 1, "alice");
    cr_message m1 = rec_message("t1", 0, 1), m2 = rec_message("t1", 0, 2);
    ck_assert_int_eq(cr_conn_message(ctx, 2, c, &m1, NULL), 0);
    ck_assert_int_eq(cr_conn_message(ctx, 2, c, &m2, NULL), 0);
    h.when = K_DISPATCH;
    h.what = A_CLOSE;
    h.times = 1;
    rec_since(&h.r);
    ck_assert_int_eq(cr_assoc_complete(ctx, 3, rec_last_req(&h.r), 1), 0);
    ck_assert_int_eq(h.rc[0], 0);
    ck_assert_uint_eq(count(rec_since(&h.r), "dispatch c=1 "), 2);
    ck_assert_int_eq(rec_state_of(ctx, c), CR_CONN_CLOSED);
    /* the dispatched messages outlive their connection */
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start(ctx, 4, h.r.msgs[0], &run), 0);
    ck_assert_int_eq(cr_msg_release(ctx, h.r.msgs[1]), 0);
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.messages_dispatched, 2);
    ck_assert_uint_eq(s.messages_rejected, 0);
    rh_free(&h);
}
END_TEST

/* cr_run_end inside run_go: run_go went on reading the freed run. */
START_TEST(test_core_reentry_run_end_from_run_go)
{
    rh h;
    cr_ctx *ctx = rh_new(&h, 0);
    cr_conn_id c = ready_conn(&h, 1, "t1");
    (void)c;
    h.when = K_RUN_GO;
    h.what = A_RUN_END;
    h.times = 1;
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, 2, "alice", "t1", &run), 0);
    ck_assert_int_eq(h.rc[0], CR_EREENTRANT);
    /* the run is untouched: it emits, and ends once the callback returned */
    ck_assert_int_eq(cr_run_emit(ctx, 3, run, &ev1, NULL, NULL), 0);
    ck_assert_int_eq(cr_run_end(ctx, 4, run), 0);
    ck_assert_int_eq(cr_run_end(ctx, 4, run), CR_ENOTFOUND);
    rh_free(&h);
}
END_TEST

/* cr_ctx_del inside dispatch: everything was freed under the call. */
START_TEST(test_core_reentry_ctx_del_from_dispatch)
{
    rh h;
    cr_ctx *ctx = rh_new(&h, 0);
    cr_conn_id c = ready_conn(&h, 1, "t1");
    h.when = K_DISPATCH;
    h.what = A_CTX_DEL;
    h.times = 1;
    cr_message m = rec_message("t1", 0, 3);
    uint64_t mid = 0;
    ck_assert_int_eq(cr_conn_message(ctx, 2, c, &m, &mid), 0);
    ck_assert_int_eq(h.rc[0], CR_EREENTRANT);
    ck_assert_int_eq(cr_msg_release(ctx, mid), 0);
    ck_assert_int_eq(rec_state_of(ctx, c), CR_CONN_READY);
    rh_free(&h);
}
END_TEST

/* A synchronous answer inside associate left c READY with its message
 * stuck in the queue.  Now it is refused; answered after the call returns
 * (the deferred-action pattern), the message goes out. */
START_TEST(test_core_reentry_assoc_complete_from_associate)
{
    rh h;
    cr_ctx *ctx = rh_new(&h, 0);
    cr_conn_id c = rec_open_auth(ctx, 1, "alice");
    h.when = K_ASSOCIATE;
    h.what = A_ASSOC_COMPLETE;
    h.times = 1;
    cr_message m = rec_message("t1", 0, 5);
    ck_assert_int_eq(cr_conn_message(ctx, 2, c, &m, NULL), 0);
    ck_assert_int_eq(h.rc[0], CR_EREENTRANT);
    cr_conn_info in;
    ck_assert_int_eq(cr_conn_get_info(ctx, c, &in), 0);
    ck_assert_int_eq(in.state, CR_CONN_PENDING_CONTEXT);
    ck_assert_uint_eq(in.queued_messages, 1);
    ck_assert_int_eq(cr_assoc_complete(ctx, 3, rec_last_req(&h.r), 1), 0);
    ck_assert_int_eq(cr_conn_get_info(ctx, c, &in), 0);
    ck_assert_int_eq(in.state, CR_CONN_READY);
    ck_assert_uint_eq(in.queued_messages, 0);
    ck_assert_uint_eq(h.r.nmsg, 1);
    rh_free(&h);
}
END_TEST

/* Every callback kind: each state-changing call but close is refused with
 * CR_EREENTRANT and changes nothing. */
START_TEST(test_core_reentry_every_call_refused_in_every_callback)
{
    static const cb_kind kinds[] = {K_DELIVER, K_DISPATCH, K_ASSOCIATE, K_NOTIFY,
                                    K_RUN_GO,  K_CLOSE,    K_REPORT};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        rh h;
        cr_ctx *ctx = rh_new(&h, 100);
        h.when = kinds[k];
        h.what = A_EVERYTHING;
        h.times = 1000;
        h.unchanged = 1;
        /* a path through every callback: associate, notify (switched),
         * dispatch, run_go, deliver, report (foreign), close (deadline) */
        cr_conn_id c = rec_open_auth(ctx, 1, "alice");
        cr_message m = rec_message("t1", 0, 1);
        uint64_t mid = 0;
        ck_assert_int_eq(cr_conn_message(ctx, 2, c, &m, &mid), 0);
        ck_assert_int_eq(cr_conn_switch(ctx, 3, c, "t1", 0), 0);
        ck_assert_int_eq(cr_assoc_complete(ctx, 4, rec_last_req(&h.r), 1), 0);
        cr_run_id run = 0;
        ck_assert_int_eq(cr_run_start(ctx, 5, h.r.msgs[0], &run), 0);
        ck_assert_int_eq(cr_run_emit(ctx, 6, run, &ev1, NULL, NULL), 0);
        cr_message f = rec_message("nope", 0, 2);
        ck_assert_int_eq(cr_conn_message(ctx, 7, c, &f, NULL), CR_EFOREIGN);
        cr_conn_id idle = 0;
        ck_assert_int_eq(cr_conn_open(ctx, 8, &idle), 0);
        ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 200), 0);
        ck_assert_int_eq(rec_state_of(ctx, idle), CR_CONN_CLOSED);
        ck_assert_msg(h.nrc > 0, "callback kind %zu never called", k);
        ck_assert_msg(h.unchanged, "callback kind %zu: a call was not refused or changed state", k);
        rh_free(&h);
    }
}
END_TEST

/* The close callback of a core-initiated close (pending deadline) closing
 * the same connection: it is being closed, CR_ECLOSED; closing another
 * one from there is deferred; closing from the report of a rejected
 * message of a closing connection is CR_ECLOSED too. */
START_TEST(test_core_reentry_close_from_close_and_report)
{
    rh h;
    cr_ctx *ctx = rh_new(&h, 100);
    cr_conn_id c1 = 0, c2 = 0;
    ck_assert_int_eq(cr_conn_open(ctx, 0, &c1), 0);
    h.when = K_CLOSE;
    h.what = A_CLOSE;
    h.times = 1;
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 100), 0);
    ck_assert_int_eq(h.rc[0], CR_ECLOSED);
    ck_assert_int_eq(rec_state_of(ctx, c1), CR_CONN_CLOSED);

    c2 = rec_open_auth(ctx, 101, "alice");
    cr_conn_id c3 = rec_open_auth(ctx, 101, "alice");
    cr_message m = rec_message("t1", 0, 4);
    ck_assert_int_eq(cr_conn_message(ctx, 102, c2, &m, NULL), 0); /* queued */
    h.when = K_REPORT;
    h.times = 2;
    h.target = c2;
    h.nrc = 0;
    ck_assert_int_eq(cr_conn_close(ctx, 103, c2, CR_CLOSE_CLIENT), 0);
    ck_assert_int_eq(h.nrc, 1);
    ck_assert_int_eq(h.rc[0], CR_ECLOSED); /* the report of its rejected message */
    h.target = c3;
    cr_message m3 = rec_message("t2", 0, 5);
    ck_assert_int_eq(cr_conn_message(ctx, 104, c3, &m3, NULL), 0);
    ck_assert_int_eq(cr_conn_close(ctx, 104, c3, CR_CLOSE_CLIENT), 0);
    ck_assert_int_eq(h.rc[1], CR_ECLOSED);
    (void)c2;
    rh_free(&h);
}
END_TEST

/* A close deferred in one timer's callback, for a connection whose own
 * pending deadline fires later in the same cr_ctx_handle_expiry: the core's
 * close supersedes the deferred one (no double close, no dangling queue). */
START_TEST(test_core_reentry_deferred_close_overtaken_by_deadline)
{
    rh h;
    cr_ctx *ctx = rh_new(&h, 100);
    cr_conn_id c1 = 0, c2 = 0, c3 = 0;
    ck_assert_int_eq(cr_conn_open(ctx, 0, &c1), 0);
    ck_assert_int_eq(cr_conn_open(ctx, 1, &c2), 0);
    ck_assert_int_eq(cr_conn_open(ctx, 2, &c3), 0);
    h.when = K_NOTIFY; /* CLOSING of c1 */
    h.what = A_CLOSE;
    h.times = 2;
    h.target = c2;
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 500), 0);
    ck_assert_int_eq(h.rc[0], 0);          /* c2 deferred (from c1's CLOSING) */
    ck_assert_int_eq(h.rc[1], CR_ECLOSED); /* c2's own CLOSING: being closed */
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.conns_by_state[CR_CONN_CLOSED], 3);
    ck_assert_uint_eq(s.conns_closed_pending_timeout, 3);
    ck_assert_uint_eq(count(h.r.log, "close c=2 "), 1);
    (void)c3;
    rh_free(&h);
}
END_TEST

/* Two closes deferred, the second overtaken by its pending deadline first
 * (taken out of the middle of the queue), then the first. */
START_TEST(test_core_reentry_deferred_close_unqueued_from_the_middle)
{
    rh h;
    cr_ctx *ctx = rh_new(&h, 100);
    cr_conn_id c1 = 0, c2 = 0, c3 = 0;
    ck_assert_int_eq(cr_conn_open(ctx, 0, &c1), 0);
    ck_assert_int_eq(cr_conn_open(ctx, 1, &c2), 0);
    ck_assert_int_eq(cr_conn_open(ctx, 2, &c3), 0);
    h.when = K_CLOSE; /* c1's, by the deadline */
    h.what = A_CLOSE2;
    h.times = 1;
    h.target = c3;  /* queued first, its deadline comes last */
    h.target2 = c2; /* queued second, its deadline comes next */
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 101), 0);
    ck_assert_int_eq(h.rc[0], 0);
    ck_assert_int_eq(h.rc[1], 0);
    /* c2 by its deadline (out of the middle), c3 deferred: closed at the
     * end of the call, as the host asked (not by the deadline) */
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.conns_by_state[CR_CONN_CLOSED], 3);
    ck_assert_uint_eq(s.conns_closed_pending_timeout, 2);
    ck_assert_uint_eq(cr_ctx_get_expiry(ctx), CR_TIME_NEVER);
    ck_assert_int_eq(cr_ctx_handle_expiry(ctx, 200), 0);
    ck_assert_uint_eq(count(h.r.log, " close c="), 2);
    rh_free(&h);
}
END_TEST

/* From a callback, a close with time going backwards or a bad reason is
 * refused at once (CR_ETIME, CR_EINVAL) and nothing is deferred. */
START_TEST(test_core_reentry_deferred_close_checks_arguments)
{
    rh h;
    cr_ctx *ctx = rh_new(&h, 0);
    cr_conn_id c = ready_conn(&h, 5, "t1");
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, 6, "alice", "t1", &run), 0);
    h.when = K_DELIVER;
    h.what = A_CLOSE_BAD;
    h.times = 1;
    ck_assert_int_eq(cr_run_emit(ctx, 7, run, &ev1, NULL, NULL), 0);
    ck_assert_int_eq(h.rc[0], CR_ETIME);
    ck_assert_int_eq(h.rc[1], CR_EINVAL);
    ck_assert_int_eq(rec_state_of(ctx, c), CR_CONN_READY);
    rh_free(&h);
}
END_TEST

/* Closes deferred from several callbacks of one call happen in request
 * order, once, after the call's own output; argument errors are reported
 * at once. */
START_TEST(test_core_reentry_deferred_closes_in_order)
{
    rh h;
    cr_ctx *ctx = rh_new(&h, 0);
    cr_conn_id c1 = ready_conn(&h, 1, "t1"), c2 = ready_conn(&h, 1, "t1"),
               c3 = ready_conn(&h, 1, "t1");
    cr_message q = rec_message("t2", 0, 8);
    ck_assert_int_eq(cr_conn_message(ctx, 1, c1, &q, NULL), 0); /* queued on c1 */
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(ctx, 2, "alice", "t1", &run), 0);
    h.when = K_DELIVER;
    h.what = A_CLOSE;
    h.times = 2;
    h.target = c3;
    rec_since(&h.r);
    ck_assert_int_eq(cr_run_emit(ctx, 3, run, &ev1, NULL, NULL), 0);
    ck_assert_int_eq(h.rc[0], 0);
    ck_assert_int_eq(h.rc[1], CR_ECLOSED);
    ck_assert_int_eq(rec_state_of(ctx, c3), CR_CONN_CLOSED);
    ck_assert_int_eq(rec_state_of(ctx, c1), CR_CONN_READY);
    /* bad arguments from a callback: at once, nothing deferred */
    h.nrc = 0;
    h.times = 1;
    h.target = 99;
    ck_assert_int_eq(cr_run_emit(ctx, 4, run, &ev1, NULL, NULL), 0);
    ck_assert_int_eq(h.rc[0], CR_ENOTFOUND);
    h.nrc = 0;
    h.times = 1;
    h.target = c3;
    ck_assert_int_eq(cr_run_emit(ctx, 5, run, &ev1, NULL, NULL), 0);
    ck_assert_int_eq(h.rc[0], CR_ECLOSED);
    /* c1 and c2 close themselves from their own deliveries: closed after
     * every delivery of the emit, in request order (c1's queued message is
     * rejected first, then c2's) */
    cr_message q2 = rec_message("t2", 0, 9);
    ck_assert_int_eq(cr_conn_message(ctx, 6, c2, &q2, NULL), 0);
    h.nrc = 0;
    h.times = 2;
    h.target = 0;
    rec_since(&h.r);
    ck_assert_int_eq(cr_run_emit(ctx, 7, run, &ev1, NULL, NULL), 0);
    ck_assert_int_eq(h.rc[0], 0);
    ck_assert_int_eq(h.rc[1], 0);
    const char *log = rec_since(&h.r);
    const char *d2 = strstr(log, "deliver c=2 "), *r1 = strstr(log, "tag=8"),
               *r2 = strstr(log, "tag=9");
    ck_assert_ptr_nonnull(d2);
    ck_assert_ptr_nonnull(r1);
    ck_assert_ptr_nonnull(r2);
    ck_assert_msg(d2 < r1 && r1 < r2, "closes not after the deliveries, in order:\n%s", log);
    ck_assert_int_eq(rec_state_of(ctx, c1), CR_CONN_CLOSED);
    ck_assert_int_eq(rec_state_of(ctx, c2), CR_CONN_CLOSED);
    cr_stats s = rec_stats(ctx);
    ck_assert_uint_eq(s.messages_rejected, 2);
    ck_assert_uint_eq(s.conns_by_state[CR_CONN_CLOSED], 3);
    rh_free(&h);
}
END_TEST

/* The guard is per context: a callback of one context may drive another
 * (two shards of one server). */
typedef struct two {
    rec r;
    cr_ctx *other;
    int rc;
    cr_conn_id opened;
} two;

static void two_deliver(void *ud, uint64_t now, cr_conn_id c, const cr_event *e)
{
    two *t = ud;
    rec_callbacks.deliver(ud, now, c, e);
    t->rc = cr_conn_open(t->other, now, &t->opened);
}

START_TEST(test_core_reentry_other_context_is_not_guarded)
{
    two t;
    memset(&t, 0, sizeof t);
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    cr_callbacks cb = rec_callbacks;
    cb.deliver = two_deliver;
    cr_ctx *a = NULL;
    ck_assert_int_eq(cr_ctx_new(&a, &p, &cb, NULL, &t), 0);
    ck_assert_int_eq(cr_ctx_new(&t.other, &p, NULL, NULL, NULL), 0);
    ck_assert_int_eq(cr_thread_add(a, 0, "alice", "t1"), 0);
    cr_conn_id c = rec_open_auth(a, 0, "alice");
    ck_assert_int_eq(cr_conn_switch(a, 0, c, "t1", 0), 0);
    ck_assert_int_eq(cr_assoc_complete(a, 0, rec_last_req(&t.r), 1), 0);
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start_for(a, 1, "alice", "t1", &run), 0);
    ck_assert_int_eq(cr_run_emit(a, 1, run, &ev1, NULL, NULL), 0);
    ck_assert_int_eq(t.rc, 0);
    ck_assert_uint_eq(t.opened, 1);
    ck_assert_int_eq(rec_state_of(t.other, 1), CR_CONN_OPEN);
    ck_assert_int_eq(cr_ctx_del(t.other), 0);
    ck_assert_int_eq(cr_ctx_del(a), 0);
    rec_free(&t.r);
}
END_TEST

/* The deferred-action pattern of ctxready.h for the refused calls: queue
 * in the callback, act after the call returns. */
typedef struct todo_host {
    rec r;
    uint64_t reqs[8];
    size_t nreq;
    cr_run_id gone[8];
    size_t ngone;
} todo_host;

static void todo_associate(void *ud, uint64_t now, uint64_t req, cr_conn_id c, const char *user,
                           const char *thread)
{
    todo_host *t = ud;
    rec_callbacks.associate(ud, now, req, c, user, thread);
    t->reqs[t->nreq++] = req;
}

static void todo_run_go(void *ud, uint64_t now, cr_run_id run)
{
    todo_host *t = ud;
    rec_callbacks.run_go(ud, now, run);
    t->gone[t->ngone++] = run;
}

START_TEST(test_core_reentry_deferred_action_pattern)
{
    todo_host t;
    memset(&t, 0, sizeof t);
    cr_callbacks cb = rec_callbacks;
    cb.associate = todo_associate;
    cb.run_go = todo_run_go;
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    cr_ctx *ctx = NULL;
    ck_assert_int_eq(cr_ctx_new(&ctx, &p, &cb, NULL, &t), 0);
    ck_assert_int_eq(cr_thread_add(ctx, 0, "alice", "t1"), 0);
    cr_conn_id c = rec_open_auth(ctx, 1, "alice");
    cr_message m = rec_message("t1", 0, 5);
    ck_assert_int_eq(cr_conn_message(ctx, 2, c, &m, NULL), 0);
    /* the thread service answers synchronously: queued, answered now */
    while (t.nreq)
        ck_assert_int_eq(cr_assoc_complete(ctx, 2, t.reqs[--t.nreq], 1), 0);
    ck_assert_uint_eq(t.r.nmsg, 1);
    cr_run_id run = 0;
    ck_assert_int_eq(cr_run_start(ctx, 3, t.r.msgs[0], &run), 0);
    /* a run that finishes at once: ended after run_go returned */
    while (t.ngone)
        ck_assert_int_eq(cr_run_end(ctx, 3, t.gone[--t.ngone]), 0);
    ck_assert_int_eq(cr_run_end(ctx, 4, run), CR_ENOTFOUND);
    ck_assert_int_eq(rec_state_of(ctx, c), CR_CONN_READY);
    ck_assert_int_eq(cr_ctx_del(ctx), 0);
    rec_free(&t.r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core_reentry");
    TCase *tc = tcase_create("reentry");
    tcase_add_test(tc, test_core_reentry_close_from_deliver);
    tcase_add_test(tc, test_core_reentry_close_from_replay);
    tcase_add_test(tc, test_core_reentry_close_from_associate);
    tcase_add_test(tc, test_core_reentry_close_from_dispatch);
    tcase_add_test(tc, test_core_reentry_run_end_from_run_go);
    tcase_add_test(tc, test_core_reentry_ctx_del_from_dispatch);
    tcase_add_test(tc, test_core_reentry_assoc_complete_from_associate);
    tcase_add_test(tc, test_core_reentry_every_call_refused_in_every_callback);
    tcase_add_test(tc, test_core_reentry_close_from_close_and_report);
    tcase_add_test(tc, test_core_reentry_deferred_close_overtaken_by_deadline);
    tcase_add_test(tc, test_core_reentry_deferred_closes_in_order);
    tcase_add_test(tc, test_core_reentry_deferred_close_unqueued_from_the_middle);
    tcase_add_test(tc, test_core_reentry_deferred_close_checks_arguments);
    tcase_add_test(tc, test_core_reentry_deferred_action_pattern);
    tcase_add_test(tc, test_core_reentry_other_context_is_not_guarded);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
