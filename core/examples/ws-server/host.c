/*
 * host.c - libctxready embedded in a real event loop.
 *
 * The pattern (README, "Embedding libctxready in a server"):
 *  - every entry point (a frame arrived, a socket closed, a timer fired)
 *    reads the clock once and calls the core with that `now`;
 *  - the core's callbacks never call the core back: they write frames to
 *    socket queues (deliver, notify), or put an item on the timer queue
 *    (dispatch -> agent start after server.agent_start; associate -> the
 *    thread service's answer after server.thread_lookup; run_go -> the
 *    agent's first emit), which runs after the call has returned;
 *  - after every call into the core, srv_rearm points one lws_sul timer at
 *    the earliest of cr_ctx_get_expiry() and the timer queue; when it fires,
 *    due items run and cr_ctx_handle_expiry() runs the core's deadlines.
 * The in-process services (auth, thread service, agent runtime) are the
 * simulator's own server side, sim/backend.h, unchanged: it draws their
 * latencies and failures from the scenario's server: and faults: sections
 * with the simulator's distributions (scaled by --time-scale at load) from
 * per-connection streams derived from --seed, and asks this host to
 * schedule its next step, which the timer queue below does in real time.
 * The socket layer (holding what follows a switch sent before
 * authentication, duplicate suppression by message tag, acks) is the
 * simulator's too, sim/srvsock.h: this file parses the frames, hands them
 * to it and tells the control side what it did.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"
#include "sim/backend.h"
#include "sim/srvsock.h"

/* Timer-queue kinds: sim_backend_timer values (1..5), and the server's own. */
enum { IT_UNPARK = 100 };

/* A run to start: a dispatched message, or a POST /message; then the run
 * (the context the control side reports with its emits). */
typedef struct start_rec {
    uint64_t tag;
    cr_conn_id conn;
    char user[CR_ID_MAX + 1];   /* "" none */
    char thread[CR_ID_MAX + 1]; /* "" none */
} start_rec;

struct srv_run {
    start_rec r;
    uint8_t via_http;
};

static const char *const notice_kinds[] = {"thread_switched", "switch_failed", "message_rejected",
                                           "closing"};
static const char *const close_names[] = {"client", "disconnect", "pending_timeout", "server"};

static const char *nz(const char *s)
{
    return s && *s ? s : NULL;
}

static void copy_id(char *dst, const char *src)
{
    snprintf(dst, CR_ID_MAX + 1, "%.*s", CR_ID_MAX, src ? src : "");
}

static srv_conn *conn_of(srv *s, cr_conn_id id)
{
    return srv_idmap_get(&s->conns, id);
}

/* ---- the timer queue: a binary heap of (when, seq) ------------------------------ */

static int item_less(const srv_item *a, const srv_item *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void at(srv *s, uint64_t when, int kind, uint32_t aux, uint64_t a, uint64_t b, json_t *p)
{
    if (s->nheap == s->capheap) {
        size_t cap = s->capheap ? s->capheap * 2 : 256;
        srv_item *h = realloc(s->heap, cap * sizeof(srv_item));
        if (!h) {
            fprintf(stderr, "ctxready-server: out of memory (timer queue)\n");
            json_decref(p);
            return;
        }
        s->heap = h;
        s->capheap = cap;
    }
    size_t i = s->nheap++;
    srv_item it = {when, s->item_seq++, kind, aux, a, b, p};
    while (i > 0 && item_less(&it, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = it;
}

static srv_item pop(srv *s)
{
    srv_item top = s->heap[0];
    srv_item last = s->heap[--s->nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l >= s->nheap)
            break;
        m = l + 1 < s->nheap && item_less(&s->heap[l + 1], &s->heap[l]) ? l + 1 : l;
        if (!item_less(&s->heap[m], &last))
            break;
        s->heap[i] = s->heap[m];
        i = m;
    }
    if (s->nheap)
        s->heap[i] = last;
    return top;
}

/* ---- control-side helpers ------------------------------------------------------- */

static json_t *jtag(uint64_t tag)
{
    return tag ? json_integer((json_int_t)tag) : json_null();
}

static json_t *jerr(int rc)
{
    return rc ? json_string(cr_errname(rc)) : json_null();
}

static json_t *jflags(uint32_t flags)
{
    json_t *a = json_array();
    if (flags & CR_EVENT_REPLAY)
        json_array_append_new(a, json_string("replay"));
    if (flags & CR_EVENT_NOTIFICATION)
        json_array_append_new(a, json_string("notification"));
    return a;
}

/* ---- what the server sends ------------------------------------------------------ */

static json_t *notice_new(const char *kind, const char *thread, json_t *tag, const char *error,
                          const char *reason)
{
    return json_pack("{s:s, s:s, s:s?, s:o, s:s?, s:s?}", "op", "notice", "kind", kind, "thread",
                     thread, "tag", tag ? tag : json_null(), "error", error, "reason", reason);
}

/* send_notice sends a notice to c and its copy to the control side. */
static void send_notice(srv_conn *c, json_t *n)
{
    if (srv_ctl_wanted(c->s)) {
        json_t *copy = json_deep_copy(n);
        json_object_set_new(copy, "conn", json_integer((json_int_t)c->sock.core));
        srv_ctl_emit(c->s, copy);
    }
    srv_send_client(c, n, 0);
}

void srv_error_notice(srv_conn *c, int bad, const char *error, const char *reason, json_t *tag)
{
    srv *s = c->s;
    if (bad >= 0 && bad < SRV_BAD__N)
        s->n.malformed[bad]++;
    if (bad >= 0 && srv_ctl_wanted(s))
        srv_ctl_emit(s, json_pack("{s:s, s:I, s:s}", "op", "error", "conn",
                                  (json_int_t)c->sock.core, "error", error));
    send_notice(c, notice_new("error", NULL, tag ? json_incref(tag) : NULL, error, reason));
}

static void send_ack(srv_conn *c, uint64_t tag, int rc)
{
    json_t *a = json_pack("{s:s, s:I}", "op", "ack", "tag", (json_int_t)tag);
    if (rc)
        json_object_set_new(a, "error", json_string(cr_errname(rc)));
    if (srv_ctl_wanted(c->s))
        srv_ctl_emit(c->s, json_pack("{s:s, s:I, s:I, s:o}", "op", "ack", "conn",
                                     (json_int_t)c->sock.core, "tag", (json_int_t)tag, "error",
                                     jerr(rc)));
    srv_send_client(c, a, 0);
}

/* ---- core callbacks: they only queue ------------------------------------------- */

static void cb_deliver(void *ud, uint64_t now, cr_conn_id conn, const cr_event *ev)
{
    srv *s = ud;
    (void)now;
    srv_conn *c = conn_of(s, conn);
    const char *type = ev->type < s->sc->nagent_events ? s->sc->agent_events[ev->type] : "event";
    int queued = 0;
    if (c) {
        json_t *pl = json_stringn((const char *)ev->payload, ev->payload_len);
        json_t *e = json_pack(
            "{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:I, s:o, s:I, s:I, s:o}", "op", "event", "user",
            ev->user, "thread", ev->thread, "run", (json_int_t)ev->run, "seq", (json_int_t)ev->seq,
            "generation", (json_int_t)ev->generation, "type", type, "index", (json_int_t)ev->type,
            "flags", jflags(ev->flags), "tag", (json_int_t)ev->tag, "emitted_at",
            (json_int_t)ev->emitted_at, "payload", pl ? pl : json_string(""));
        queued = srv_send_client(c, e, 1);
    }
    if (srv_ctl_wanted(s))
        srv_ctl_emit(s, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:b}", "op", "deliver",
                                  "conn", (json_int_t)conn, "tag", (json_int_t)ev->tag, "run",
                                  (json_int_t)ev->run, "seq", (json_int_t)ev->seq, "generation",
                                  (json_int_t)ev->generation, "flags", jflags(ev->flags), "queued",
                                  queued));
}

static void cb_dispatch(void *ud, uint64_t now, cr_conn_id conn, const cr_dispatch *d)
{
    srv *s = ud;
    uint64_t tag = (d->tag & SRV_MSG_TAG_BIT) ? d->tag & ~SRV_MSG_TAG_BIT : 0;
    srv_conn *c = conn_of(s, conn);
    if (srv_ctl_wanted(s))
        srv_ctl_emit(s, json_pack("{s:s, s:I, s:o, s:I, s:s?, s:s?}", "op", "dispatch", "conn",
                                  (json_int_t)conn, "tag", jtag(tag), "msg", (json_int_t)d->msg_id,
                                  "user", d->user, "thread", d->thread));
    /* A parked resend is answered, then the connection. */
    sim_srvsock_dispatched(s->sock, now, c ? conn : SIM_SRVSOCK_NONE, tag ? (int64_t)tag : -1);
    start_rec *r = calloc(1, sizeof(start_rec));
    if (!r || srv_idmap_put(&s->starts, d->msg_id, r) != 0) {
        fprintf(stderr, "ctxready-server: out of memory (agent start)\n");
        free(r);
        return;
    }
    r->tag = tag;
    r->conn = conn;
    copy_id(r->user, d->user);
    copy_id(r->thread, d->thread);
    /* The agent runtime starts it after server.agent_start. */
    sim_backend_dispatch(s->be, now, d->msg_id, (int64_t)tag, -1, (uint32_t)conn);
}

static void cb_associate(void *ud, uint64_t now, uint64_t req, cr_conn_id conn, const char *user,
                         const char *thread)
{
    srv *s = ud;
    /* The thread service draws its answer now and schedules it (h_schedule
     * notes when and what, for the control side). */
    s->answer_when = now;
    s->answer_ok = 0;
    sim_backend_associate(s->be, now, req, conn, user, thread, (uint32_t)conn);
    int ok = s->answer_ok;
    uint64_t delay = s->answer_when - now;
    if (srv_ctl_wanted(s))
        srv_ctl_emit(s, json_pack("{s:s, s:I, s:I, s:s, s:s, s:b, s:I}", "op", "assoc", "req",
                                  (json_int_t)req, "conn", (json_int_t)conn, "user", user, "thread",
                                  thread, "ok", ok, "delay", (json_int_t)delay));
}

static void cb_notify(void *ud, uint64_t now, cr_conn_id conn, const cr_notice *n)
{
    srv *s = ud;
    (void)now;
    srv_conn *c = conn_of(s, conn);
    if (!c)
        return;
    json_t *tag = NULL;
    if (n->kind == CR_NOTICE_MESSAGE_REJECTED && (n->msg_tag & SRV_MSG_TAG_BIT))
        tag = json_integer((json_int_t)(n->msg_tag & ~SRV_MSG_TAG_BIT));
    else if ((n->kind == CR_NOTICE_THREAD_SWITCHED || n->kind == CR_NOTICE_SWITCH_FAILED) &&
             n->thread)
        tag = json_integer((json_int_t)(strcmp(n->thread, c->sel_thread) == 0 ? c->sel_tag : 0));
    const char *reason =
        n->kind == CR_NOTICE_CLOSING && (unsigned)n->reason < 4 ? close_names[n->reason] : NULL;
    send_notice(c, notice_new(notice_kinds[n->kind & 3], n->thread, tag,
                              n->error ? cr_errname(n->error) : NULL, reason));
}

static void cb_run_go(void *ud, uint64_t now, cr_run_id run)
{
    srv *s = ud;
    if (srv_ctl_wanted(s))
        srv_ctl_emit(s, json_pack("{s:s, s:I}", "op", "run_go", "run", (json_int_t)run));
    if (sim_backend_run_go(s->be, now, run) != 0)
        fprintf(stderr, "ctxready-server: out of memory (run %llu)\n", (unsigned long long)run);
}

static void cb_close(void *ud, uint64_t now, cr_conn_id conn, cr_close_reason reason)
{
    srv *s = ud;
    (void)now;
    srv_conn *c = conn_of(s, conn);
    if (!c)
        return;
    c->sock.open = 0;
    c->core_closed = 1;
    c->core_reason = reason;
    srv_close_client(c, 1000);
}

static void cb_report(void *ud, uint64_t now, const cr_report *r)
{
    srv *s = ud;
    int is_msg = (r->tag & SRV_MSG_TAG_BIT) != 0;
    uint64_t tag = r->tag & ~SRV_MSG_TAG_BIT;
    static const char *const kinds[] = {"outcome", "error", "info"};
    if (s->o.verbose && r->kind == CR_REPORT_ERROR)
        fprintf(stderr, "ctxready-server: core: %s (%s) conn=%" PRIu64 "\n", r->message,
                cr_errname(r->error), r->conn);
    if (srv_ctl_wanted(s))
        srv_ctl_emit(s, json_pack("{s:s, s:s, s:s?, s:o, s:I, s:I, s:s?, s:s?, s:I, s:o, s:o, s:s}",
                                  "op", "report", "kind", kinds[r->kind % 3], "outcome",
                                  r->kind == CR_REPORT_OUTCOME ? cr_outcome_name(r->outcome) : NULL,
                                  "error", jerr(r->error), "conn", (json_int_t)r->conn, "run",
                                  (json_int_t)r->run, "user", r->user, "thread", r->thread, "seq",
                                  (json_int_t)r->seq, "event_tag", jtag(is_msg ? 0 : tag),
                                  "msg_tag", jtag(is_msg ? tag : 0), "message", r->message));
    if (is_msg && tag)
        sim_srvsock_let_go(s->sock, now, (int64_t)tag); /* a resend is taken again */
}

/* ---- the socket layer's host (sim/srvsock.h) --------------------------------------- */

/* What the layer holds or parks is the parsed frame, one more reference. */
static uint64_t sk_keep(void *ud, const void *src)
{
    (void)ud;
    return (uint64_t)(uintptr_t)json_incref((json_t *)src);
}

static void sk_drop(void *ud, uint64_t h)
{
    (void)ud;
    json_decref((json_t *)(uintptr_t)h);
}

/* sk_ack: every ack goes to a connection the server still knows (a parked
 * resend's only while its socket is up), with the refusal. */
static void sk_ack(void *ud, uint64_t now, uint64_t key, uint64_t h, int64_t msg, int rc,
                   sim_srvsock_ack why)
{
    srv_conn *c = conn_of(ud, key);
    (void)now, (void)h;
    if (c && (why != SIM_SRVSOCK_ACK_PARKED || c->wsi))
        send_ack(c, (uint64_t)msg, rc);
}

/* sk_unparked: the parked resend is taken again after this call (IT_UNPARK). */
static void sk_unparked(void *ud, uint64_t now, uint64_t key, uint64_t h)
{
    at(ud, now, IT_UNPARK, 0, key, 0, (json_t *)(uintptr_t)h);
}

static void thread_service(srv *s, uint64_t now, const char *thread);

/* sk_before: the thread service creates the thread the request names, and
 * the connection's selection is noted (the notices echo its tag). */
static int sk_before(void *ud, uint64_t now, uint64_t key, const sim_srvsock_req *r)
{
    srv *s = ud;
    srv_conn *c = conn_of(s, key);
    thread_service(s, now, r->thread);
    if (c && r->thread) {
        copy_id(c->sel_thread, r->thread);
        c->sel_tag = r->sel;
    }
    return 0;
}

static void sk_after(void *ud, uint64_t now, uint64_t key, const sim_srvsock_req *r, int rc)
{
    srv *s = ud;
    (void)now, (void)key, (void)r;
    s->sock_rc = rc;
}

static void sk_oom(void *ud, const char *what)
{
    (void)ud;
    fprintf(stderr, "ctxready-server: out of memory (%s)\n", what);
}

/* ---- requests from clients ------------------------------------------------------ */

/* thread_hash: a thread name's key in s->threads (never 0). */
static uint64_t thread_hash(const char *thread)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)thread; *p; p++)
        h = (h ^ *p) * UINT64_C(0x100000001b3);
    return h | 1;
}

/* thread_service: the reference thread service creates "<owner>/<name>"
 * for its owner the first time anything names it, --max-threads threads at
 * most (every new name is a stream, and maybe a user, in the core: a
 * client naming fresh threads must not grow memory without bound); past
 * that a new thread is not created and the core refuses what names it. */
static void thread_service(srv *s, uint64_t now, const char *thread)
{
    char owner[CR_ID_MAX + 1];
    if (!thread || srv_thread_owner(thread, owner, sizeof owner) != 0)
        return;
    uint64_t h = thread_hash(thread);
    int known = srv_idmap_get(&s->threads, h) != NULL;
    if (!known && s->threads.len >= s->o.max_threads) {
        s->n.threads_refused++;
        return;
    }
    int rc = cr_thread_add(s->core, now, owner, thread);
    if (rc == 0 && !known && srv_idmap_put(&s->threads, h, (void *)1) != 0)
        rc = CR_ENOMEM;
    if (rc != 0 && s->o.verbose)
        fprintf(stderr, "ctxready-server: cr_thread_add: %s\n", cr_strerror(rc));
}

static json_t *ctl_request(const char *op, srv_conn *c, const char *thread, uint64_t tag,
                           uint64_t last_seq, const char *result, int rc)
{
    return json_pack("{s:s, s:I, s:I, s:s?, s:s?, s:I, s:s, s:o}", "op", op, "conn",
                     (json_int_t)c->sock.core, "tag", (json_int_t)tag, "user", nz(c->user),
                     "thread", thread, "last_seq", (json_int_t)last_seq, "result", result, "error",
                     jerr(rc));
}

/* do_request gives a message or switch frame to the socket layer
 * (sim/srvsock.h: held behind a switch deferred until authentication,
 * dropped or parked as a duplicate, or given to the core) and tells the
 * control side what became of it, before what the core did meanwhile. */
static void do_request(srv_conn *c, json_t *f, int is_msg)
{
    srv *s = c->s;
    const char *thread = json_string_value(json_object_get(f, "thread"));
    uint64_t tag = (uint64_t)json_integer_value(json_object_get(f, "tag"));
    uint64_t last_seq = (uint64_t)json_integer_value(json_object_get(f, "last_seq"));
    json_t *pl = json_object_get(f, "payload");
    sim_srvsock_req r = {
        .kind = is_msg ? SIM_SRVSOCK_MESSAGE : SIM_SRVSOCK_SWITCH,
        .msg = is_msg ? (int64_t)tag : -1,
        .thread = thread,
        .thread_key = -1,
        .last_seq = last_seq,
        .sel = tag,
        .tag = SRV_MSG_TAG_BIT | tag,
        .payload = pl ? json_string_value(pl) : "hello",
        .payload_len = pl ? json_string_length(pl) : 5,
    };
    uint64_t now = srv_now(s);
    s->sock_rc = 0;
    srv_ctl_stage(s, now);
    sim_srvsock_result res = sim_srvsock_request(s->sock, now, &c->sock, c->sock.core, &r, f);
    const char *result = NULL;
    switch (res) {
    case SIM_SRVSOCK_HELD:
    case SIM_SRVSOCK_DEFERRED:
        result = "held";
        break;
    case SIM_SRVSOCK_DUPLICATE:
        s->n.duplicates++;
        result = "duplicate";
        break;
    case SIM_SRVSOCK_PARKED:
        s->n.parked++;
        result = "parked";
        break;
    case SIM_SRVSOCK_ACCEPTED:
        result = "accepted";
        break;
    case SIM_SRVSOCK_SWITCHED:
        result = "offered";
        break;
    case SIM_SRVSOCK_REFUSED:
        result = "refused";
        if (!is_msg) {
            json_t *jt = json_integer((json_int_t)tag);
            send_notice(c,
                        notice_new("error", thread, jt, cr_errname(s->sock_rc), "switch refused"));
        }
        break;
    case SIM_SRVSOCK_BUSY: {
        json_t *jt = json_integer((json_int_t)tag);
        srv_error_notice(c, SRV_BAD_BUSY, "busy", "too many frames held behind a switch", jt);
        json_decref(jt);
        break;
    }
    default: /* CLOSED (checked before), FAILED (out of memory) */
        if (res == SIM_SRVSOCK_FAILED)
            fprintf(stderr, "ctxready-server: out of memory (socket layer)\n");
        break;
    }
    srv_ctl_commit(s, result && srv_ctl_wanted(s)
                          ? ctl_request(is_msg ? "message" : "switch", c, thread, tag, last_seq,
                                        result, s->sock_rc)
                          : NULL);
}

static int token_ok(const srv *s, const char *token)
{
    return token && *token && (!s->o.token || strcmp(token, s->o.token) == 0);
}

static void do_auth(srv_conn *c, json_t *f)
{
    srv *s = c->s;
    const char *user = json_string_value(json_object_get(f, "user"));
    const char *token = json_string_value(json_object_get(f, "token"));
    if (!token_ok(s, token)) {
        s->n.auth_failed++;
        if (srv_ctl_wanted(s))
            srv_ctl_emit(s,
                         json_pack("{s:s, s:I, s:s, s:s}", "op", "auth", "conn",
                                   (json_int_t)c->sock.core, "user", user, "error", "auth_failed"));
        srv_error_notice(c, -1, "auth_failed", "token refused", NULL);
        return;
    }
    if (c->authed || c->auth_pending) {
        srv_error_notice(c, -1, cr_errname(CR_ESTATE), "already authenticated", NULL);
        return;
    }
    copy_id(c->pending_user, user);
    c->auth_pending = 1;
    sim_backend_auth(s->be, srv_now(s), c->sock.core,
                     (uint32_t)c->sock.core); /* answered after server.auth */
}

/* validate checks a client frame against docs/protocol.md: 0, or -1 with
 * an error notice sent. */
static int validate(srv_conn *c, json_t *f, const char **op)
{
    char why[160];
    const char *s1;
    uint64_t u;
    json_t *op_v = json_object_get(f, "op");
    json_t *tag = json_object_get(f, "tag");
    if (!json_is_string(op_v)) {
        srv_error_notice(c, SRV_BAD_BAD_FRAME, "bad_frame", "missing string \"op\"", NULL);
        return -1;
    }
    *op = json_string_value(op_v);
    int bad = 0;
    if (!strcmp(*op, "auth")) {
        bad = srv_get_id(f, "user", 1, 0, &s1, why, sizeof why) ||
              srv_get_str(f, "token", 1, 4096, &s1, NULL, why, sizeof why);
    } else if (!strcmp(*op, "message")) {
        bad = srv_get_id(f, "thread", 0, 1, &s1, why, sizeof why) ||
              srv_get_uint(f, "last_seq", 0, 0, SRV_TAG_LIMIT, &u, why, sizeof why) ||
              srv_get_uint(f, "tag", 1, 1, SRV_TAG_LIMIT, &u, why, sizeof why) ||
              srv_get_str(f, "payload", 0, c->s->o.max_frame, &s1, NULL, why, sizeof why);
    } else if (!strcmp(*op, "switch")) {
        bad = srv_get_id(f, "thread", 1, 0, &s1, why, sizeof why) ||
              srv_get_uint(f, "last_seq", 0, 0, SRV_TAG_LIMIT, &u, why, sizeof why) ||
              srv_get_uint(f, "tag", 0, 0, SRV_TAG_LIMIT, &u, why, sizeof why);
    } else {
        snprintf(why, sizeof why, "unknown op \"%.40s\"", *op);
        srv_error_notice(c, SRV_BAD_UNKNOWN_OP, "unknown_op", why,
                         json_is_integer(tag) ? tag : NULL);
        return -1;
    }
    if (bad) {
        srv_error_notice(c, SRV_BAD_BAD_FRAME, "bad_frame", why, json_is_integer(tag) ? tag : NULL);
        return -1;
    }
    return 0;
}

static void frame_in(srv_conn *c, json_t *f)
{
    const char *op;
    if (validate(c, f, &op) != 0)
        return;
    if (!strcmp(op, "auth"))
        do_auth(c, f);
    else
        do_request(c, f, !strcmp(op, "message"));
}

void srv_host_frame(srv_conn *c, json_t *frame)
{
    if (!c->sock.open) {
        srv_error_notice(c, -1, cr_errname(CR_ECLOSED), "connection closed by the server", NULL);
        return;
    }
    frame_in(c, frame);
    srv_rearm(c->s);
}

/* ---- timer items -------------------------------------------------------------------- */

static void on_auth_done(srv *s, uint64_t now, cr_conn_id id)
{
    srv_conn *c = conn_of(s, id);
    if (!c || !c->sock.open || !c->auth_pending)
        return;
    c->auth_pending = 0;
    srv_ctl_stage(s, now);
    int rc = sim_backend_authenticate(s->be, now, id, c->pending_user);
    if (rc == 0) {
        c->authed = 1;
        copy_id(c->user, c->pending_user);
    }
    srv_ctl_commit(s, srv_ctl_wanted(s)
                          ? json_pack("{s:s, s:I, s:s, s:o}", "op", "auth", "conn", (json_int_t)id,
                                      "user", c->pending_user, "error", jerr(rc))
                          : NULL);
    if (!c->authed)
        return;
    /* Then the switch deferred until the answer, and what was held behind
     * it, in order (the frames may close or free nothing: c stays valid,
     * the socket layer frees it). */
    s->sock_rc = 0;
    srv_ctl_stage(s, now);
    sim_srvsock_result res = sim_srvsock_authenticated(s->sock, now, &c->sock, id);
    const sim_srvsock_conn *k = &c->sock;
    if (res == SIM_SRVSOCK_REFUSED) {
        json_t *jt = json_integer((json_int_t)k->deferred_sel);
        send_notice(c, notice_new("error", k->deferred_thread, jt, cr_errname(s->sock_rc),
                                  "switch refused"));
    }
    srv_ctl_commit(
        s, res != SIM_SRVSOCK_NOTHING && srv_ctl_wanted(s)
               ? ctl_request("switch", c, k->deferred_thread, k->deferred_sel, k->deferred_last_seq,
                             res == SIM_SRVSOCK_SWITCHED ? "offered" : "refused", s->sock_rc)
               : NULL);
    for (uint64_t h; (h = sim_srvsock_unhold(s->sock, &c->sock)) != SIM_SRVSOCK_NONE;) {
        json_t *f = (json_t *)(uintptr_t)h;
        frame_in(c, f);
        json_decref(f);
    }
}

static void run_new(srv *s, cr_run_id id, const start_rec *r, int via_http)
{
    srv_run *run = calloc(1, sizeof(srv_run));
    if (!run || srv_idmap_put(&s->runs, id, run) != 0) {
        fprintf(stderr, "ctxready-server: out of memory (runs)\n");
        free(run);
        return;
    }
    run->r = *r;
    run->via_http = (uint8_t)via_http;
    s->nruns++;
}

/* on_agent_start: the agent runtime starts the run of a dispatched message
 * (core_msg) or of a POST /message (via_http), within --max-runs. */
static void on_agent_start(srv *s, uint64_t now, uint64_t core_msg, int64_t msg, start_rec *r,
                           int via_http)
{
    cr_run_id run = 0;
    int rc;
    const char *busy = NULL;
    if (!r)
        return;
    srv_ctl_stage(s, now);
    if (s->nruns >= s->o.max_runs) {
        busy = "busy";
        s->n.runs_refused++;
        rc = via_http ? 0 : cr_msg_release(s->core, core_msg);
    } else if (via_http) {
        rc = sim_backend_start_for(s->be, now, msg, r->user, r->thread, 0, &run);
    } else {
        rc = sim_backend_start(s->be, now, core_msg, msg, (uint32_t)r->conn, &run);
    }
    if (!busy && run && (rc == 0 || rc == CR_ENOMEM))
        run_new(s, run, r, via_http);
    json_t *f = NULL;
    if (srv_ctl_wanted(s)) {
        f = json_pack("{s:s, s:I, s:o, s:s, s:s?, s:s?, s:o}", "op", "run", "run", (json_int_t)run,
                      "tag", jtag(r->tag), "via", via_http ? "http" : "ws", "user", nz(r->user),
                      "thread", nz(r->thread), "error", busy ? json_string(busy) : jerr(rc));
    }
    srv_ctl_commit(s, f);
}

/* ---- the backend's host interface (sim/backend.h) ---------------------------------- */

static void h_schedule(void *ud, uint64_t when, sim_backend_timer timer, uint32_t aux, uint64_t a,
                       uint64_t b)
{
    srv *s = ud;
    if (timer == SIM_BACKEND_ANSWER) {
        s->answer_when = when;
        s->answer_ok = (int)aux;
    }
    at(s, when, (int)timer, aux, a, b, NULL);
}

/* h_stream: work for a connection draws from that connection's streams;
 * what has no connection (HTTP posts, a run whose tab left) from the
 * server's own. */
static sim_prng *h_stream(void *ud, uint32_t origin, sim_stream concern)
{
    srv *s = ud;
    srv_conn *c = origin ? conn_of(s, origin) : NULL;
    if (concern == SIM_STREAM_FAULTS)
        return c ? &c->rnd_flt : &s->rnd_http_flt;
    return c ? &c->rnd_srv : &s->rnd_http;
}

static int h_emit_begin(void *ud, uint64_t now, cr_run_id run, int64_t msg, uint32_t index,
                        uint64_t *tag)
{
    srv *s = ud;
    (void)run, (void)msg, (void)index;
    *tag = ++s->ev_serial;
    srv_ctl_stage(s, now); /* the emit frame goes out before its deliveries */
    return 0;
}

static int h_emitted(void *ud, uint64_t now, cr_run_id id, const sim_backend_emitted *e)
{
    srv *s = ud;
    (void)now;
    srv_run *r = srv_idmap_get(&s->runs, id);
    json_t *f = NULL;
    if (srv_ctl_wanted(s)) {
        const char *type = s->sc->agent_events[e->index];
        const char *oname = e->rc && e->rc != CR_EFULL  ? NULL
                            : e->out < CR_OUTCOME_COUNT ? cr_outcome_name(e->out)
                                                        : "buffered";
        f = json_pack("{s:s, s:I, s:I, s:o, s:I, s:s, s:s?, s:s?, s:I, s:s?, s:o}", "op", "emit",
                      "run", (json_int_t)id, "tag", (json_int_t)e->tag, "msg_tag",
                      jtag(r ? r->r.tag : 0), "index", (json_int_t)e->index, "type", type, "user",
                      r ? nz(r->r.user) : NULL, "thread", r ? nz(r->r.thread) : NULL, "seq",
                      (json_int_t)e->seq, "outcome", oname, "error", jerr(e->rc));
    }
    srv_ctl_commit(s, f);
    if (e->last && r) {
        free(srv_idmap_del(&s->runs, id));
        s->nruns--;
    }
    return 0;
}

/* on_unpark: a parked resend of connection `conn` arrives again now. */
static void on_unpark(srv *s, cr_conn_id conn, json_t *f)
{
    srv_conn *c = conn_of(s, conn);
    if (c && c->sock.open && c->wsi)
        frame_in(c, f); /* as if it arrived now */
}

static void run_item(srv *s, uint64_t now, srv_item *it)
{
    switch (it->kind) {
    case SIM_BACKEND_AUTH:
        on_auth_done(s, now, it->a);
        break;
    case SIM_BACKEND_ANSWER: {
        srv_ctl_stage(s, now);
        int rc = sim_backend_answer(s->be, now, it->a, (int)it->aux);
        srv_ctl_commit(s, srv_ctl_wanted(s)
                              ? json_pack("{s:s, s:I, s:b, s:o}", "op", "assoc_done", "req",
                                          (json_int_t)it->a, "ok", (int)it->aux, "error", jerr(rc))
                              : NULL);
        break;
    }
    case SIM_BACKEND_START: {
        start_rec *r = srv_idmap_del(&s->starts, it->a);
        on_agent_start(s, now, it->a, (int64_t)it->b - 1, r, 0);
        free(r);
        break;
    }
    case SIM_BACKEND_HTTP: {
        start_rec *r = srv_idmap_del(&s->posts, it->b);
        on_agent_start(s, now, 0, (int64_t)it->a, r, 1);
        free(r);
        break;
    }
    case SIM_BACKEND_EMIT:
        sim_backend_emit(s->be, now, it->a);
        break;
    case IT_UNPARK:
        on_unpark(s, it->a, it->frame);
        break;
    }
    json_decref(it->frame);
}

/* run_due runs what is due: timer items and the core's deadlines, at most
 * a bounded batch per wake-up so that sockets are served in between. */
static void run_due(srv *s)
{
    for (int n = 0; n < 4096; n++) {
        uint64_t now = srv_now(s);
        if (s->nheap && s->heap[0].when <= now) {
            srv_item it = pop(s);
            run_item(s, now, &it);
        } else if (cr_ctx_get_expiry(s->core) <= now) {
            srv_ctl_stage(s, now);
            int rc = cr_ctx_handle_expiry(s->core, now);
            srv_ctl_commit(s, NULL);
            if (rc != 0) {
                fprintf(stderr, "ctxready-server: cr_ctx_handle_expiry: %s\n", cr_strerror(rc));
                break;
            }
        } else {
            break;
        }
    }
}

static void on_timer(lws_sorted_usec_list_t *sul)
{
    srv *s = lws_container_of(sul, srv, sul_timer);
    s->timer_armed = UINT64_MAX;
    run_due(s);
    srv_rearm(s);
}

void srv_rearm(srv *s)
{
    if (s->destroying)
        return;
    uint64_t next = cr_ctx_get_expiry(s->core);
    if (s->nheap && s->heap[0].when < next)
        next = s->heap[0].when;
    if (next == s->timer_armed)
        return;
    if (next == CR_TIME_NEVER) {
        lws_sul_cancel(&s->sul_timer);
        s->timer_armed = UINT64_MAX;
        return;
    }
    uint64_t now = srv_now(s);
    uint64_t us = next > now ? (next - now + 999) / 1000 : 0;
    lws_sul_schedule(s->lws, 0, &s->sul_timer, on_timer, (lws_usec_t)us);
    s->timer_armed = next;
}

/* ---- connections ------------------------------------------------------------------- */

srv_conn *srv_host_open(srv *s, struct lws *wsi)
{
    srv_conn *c = calloc(1, sizeof(srv_conn));
    if (!c)
        return NULL;
    c->s = s;
    c->wsi = wsi;
    uint64_t now = srv_now(s);
    srv_ctl_stage(s, now);
    sim_srvsock_conn_init(&c->sock);
    int rc = sim_srvsock_open(s->sock, now, &c->sock, 0);
    if (rc == 0 && srv_idmap_put(&s->conns, c->sock.core, c) != 0) {
        sim_srvsock_close(s->sock, now, &c->sock, CR_CLOSE_SERVER);
        rc = CR_ENOMEM;
    }
    srv_ctl_commit(s, rc == 0 && srv_ctl_wanted(s)
                          ? json_pack("{s:s, s:I}", "op", "open", "conn", (json_int_t)c->sock.core)
                          : NULL);
    if (rc != 0) {
        fprintf(stderr, "ctxready-server: cr_conn_open: %s\n", cr_strerror(rc));
        free(c);
        return NULL;
    }
    sim_prng_derive(&c->rnd_srv, s->o.seed, SIM_STREAM_SERVER, c->sock.core);
    sim_prng_derive(&c->rnd_flt, s->o.seed, SIM_STREAM_FAULTS, c->sock.core);
    s->n.conns_now++;
    s->n.conns_accepted++;
    srv_send_client(c,
                    json_pack("{s:s, s:s, s:I, s:I, s:I}", "op", "hello", "protocol", SRV_PROTO,
                              "conn", (json_int_t)c->sock.core, "server_time", (json_int_t)now,
                              "max_frame", (json_int_t)s->o.max_frame),
                    0);
    srv_rearm(s);
    return c;
}

void srv_host_gone(srv_conn *c)
{
    srv *s = c->s;
    size_t unsent = 0;
    for (srv_frame *f = c->q.head, *next; f; f = next) {
        next = f->next;
        unsent += f->is_event;
        free(f);
    }
    c->q.head = c->q.tail = NULL;
    c->q.frames = c->q.bytes = 0;
    s->n.events_unsent += unsent;
    c->wsi = NULL;
    cr_close_reason reason = c->core_closed               ? c->core_reason
                             : s->stopping                ? CR_CLOSE_SERVER
                             : c->peer_closed && !c->slow ? CR_CLOSE_CLIENT
                                                          : CR_CLOSE_DISCONNECT;
    const char *rname = c->slow ? "slow_reader" : close_names[reason];
    json_t *f = srv_ctl_wanted(s) ? json_pack("{s:s, s:I, s:s, s:I}", "op", "close", "conn",
                                              (json_int_t)c->sock.core, "reason", rname, "unsent",
                                              (json_int_t)unsent)
                                  : NULL;
    if (c->sock.open) {
        uint64_t now = srv_now(s);
        srv_ctl_stage(s, now);
        int rc = sim_srvsock_close(s->sock, now, &c->sock, reason);
        if (rc != 0 && s->o.verbose)
            fprintf(stderr, "ctxready-server: cr_conn_close: %s\n", cr_strerror(rc));
        srv_ctl_commit(s, f);
    } else if (f) {
        srv_ctl_emit(s, f);
    }
    srv_idmap_del(&s->conns, c->sock.core);
    sim_srvsock_conn_free(s->sock, &c->sock);
    free(c->rx);
    free(c);
    s->n.conns_now--;
    srv_rearm(s);
}

int srv_host_http_message(srv *s, json_t *body, char *err, size_t errlen)
{
    const char *user, *token, *thread, *payload;
    uint64_t tag;
    if (!json_is_object(body)) {
        snprintf(err, errlen, "the body must be a JSON object");
        return 400;
    }
    if (srv_get_id(body, "user", 1, 0, &user, err, errlen) ||
        srv_get_str(body, "token", 1, 4096, &token, NULL, err, errlen) ||
        srv_get_id(body, "thread", 1, 0, &thread, err, errlen) ||
        srv_get_uint(body, "tag", 1, 1, SRV_TAG_LIMIT, &tag, err, errlen) ||
        srv_get_str(body, "payload", 0, s->o.max_frame, &payload, NULL, err, errlen))
        return 400;
    if (!token_ok(s, token)) {
        s->n.auth_failed++;
        snprintf(err, errlen, "token refused");
        return 401;
    }
    if (s->posts.len >= s->o.max_runs) { /* posts waiting for their agent: bounded too */
        s->n.runs_refused++;
        snprintf(err, errlen, "too many runs waiting to start (--max-runs)");
        return 503;
    }
    start_rec *r = calloc(1, sizeof(start_rec));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return 503;
    }
    uint64_t now = srv_now(s);
    thread_service(s, now, thread);
    r->tag = tag;
    copy_id(r->user, user);
    copy_id(r->thread, thread);
    uint64_t key = ++s->http_serial & INT32_MAX;
    if (!key || srv_idmap_put(&s->posts, key, r) != 0) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return 503;
    }
    s->n.http_messages++;
    if (srv_ctl_wanted(s))
        srv_ctl_emit(s, json_pack("{s:s, s:I, s:s, s:s}", "op", "http", "tag", (json_int_t)tag,
                                  "user", user, "thread", thread));
    sim_backend_post(s->be, now, (int64_t)tag, (int32_t)key, 0); /* after server.agent_start */
    srv_rearm(s);
    return 202;
}

void srv_host_shutdown(srv *s)
{
    for (size_t i = 0; i < s->conns.cap; i++) {
        srv_conn *c = s->conns.keys[i] ? s->conns.vals[i] : NULL;
        if (!c || !c->wsi)
            continue;
        send_notice(c, notice_new("closing", NULL, NULL, NULL, "server"));
        srv_close_client(c, 1000);
    }
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int srv_host_init(srv *s)
{
    cr_callbacks cb = {
        .deliver = cb_deliver,
        .dispatch = cb_dispatch,
        .associate = cb_associate,
        .notify = cb_notify,
        .run_go = cb_run_go,
        .close = cb_close,
        .report = cb_report,
    };
    int rc = cr_ctx_new(&s->core, &s->pol, &cb, NULL, s);
    if (rc != 0) {
        fprintf(stderr, "ctxready-server: cr_ctx_new: %s\n", cr_strerror(rc));
        return -1;
    }
    s->timer_armed = UINT64_MAX;
    sim_prng_derive(&s->rnd_http, s->o.seed, SIM_STREAM_SERVER, UINT64_C(1) << 43);
    sim_prng_derive(&s->rnd_http_flt, s->o.seed, SIM_STREAM_FAULTS, UINT64_C(1) << 43);
    sim_backend_host h = {
        .ud = s,
        .schedule = h_schedule,
        .stream = h_stream,
        .emit_begin = h_emit_begin,
        .emitted = h_emitted,
    };
    sim_backend_config cfg = {.sc = s->sc, .core = s->core, .trace = NULL, .host = &h};
    if (sim_backend_new(&s->be, &cfg) != 0) {
        fprintf(stderr, "ctxready-server: out of memory (backend)\n");
        return -1;
    }
    sim_srvsock_host sh = {
        .ud = s,
        .keep = sk_keep,
        .drop = sk_drop,
        .ack = sk_ack,
        .unparked = sk_unparked,
        .before = sk_before,
        .after = sk_after,
        .oom = sk_oom,
    };
    sim_srvsock_config scfg = {.core = s->core,
                               .trace = NULL,
                               .host = &sh,
                               .hold_max = SRV_HOLD_MAX,
                               .msgs_max = SRV_TAGS_MAX};
    if (sim_srvsock_new(&s->sock, &scfg) != 0) {
        fprintf(stderr, "ctxready-server: out of memory (socket layer)\n");
        return -1;
    }
    return 0;
}

void srv_host_free(srv *s)
{
    while (s->nheap) {
        srv_item it = pop(s);
        json_decref(it.frame);
    }
    free(s->heap);
    srv_idmap *maps[] = {&s->runs, &s->starts, &s->posts};
    for (size_t m = 0; m < 3; m++) {
        for (size_t i = 0; i < maps[m]->cap; i++)
            if (maps[m]->keys[i])
                free(maps[m]->vals[i]);
        srv_idmap_free(maps[m]);
    }
    sim_backend_free(s->be);
    s->be = NULL;
    sim_srvsock_free(s->sock);
    s->sock = NULL;
    srv_idmap_free(&s->threads);
    cr_ctx_del(s->core);
    s->core = NULL;
}
