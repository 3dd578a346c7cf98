/*
 * fuzz_core.c - libFuzzer target for sequences of libctxready calls.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... tests/fuzz_core.c $(CORE_SRC)
 *   build/fuzz/fuzz_core build/fuzz/corpus-core tests/data/fuzz/core
 *
 * The input is a program for one cr_ctx: a 6-byte header (fixes switched
 * off, small bounds, the allocation call to fail), then opcodes with their
 * argument bytes (missing bytes read as 0).  The interpreter keeps a model
 * of what the host knows (connections and their users, owned threads,
 * dispatched messages, runs, association requests) and checks, after every
 * call, that the core agrees with it; any broken invariant prints what and
 * why and abort()s.  The callbacks only record and check; each also tries
 * state-changing calls back into the core, which must be refused with
 * CR_EREENTRANT (changing nothing, so the program's meaning is the same).
 *
 * tests/test_fuzz_core_corpus.c includes this file with FUZZ_CORE_NO_MAIN
 * defined and replays tests/data/fuzz/core/ through fuzz_core_run().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"

int fuzz_core_run(const uint8_t *data, size_t size);

/* ------------------------------------------------------------------------ */
/* Limits of the model                                                      */

#define FZ_CONNS   48   /* connections opened per input, at most */
#define FZ_IDS     1024 /* message, run and request ids tracked */
#define FZ_NAMES   8    /* identifier table: 0..5 valid, 6 empty, 7 too long */
#define FZ_VALID   6
#define FZ_DELIV   64 /* deliveries remembered per call */
#define FZ_PAYLOAD 256

/* ------------------------------------------------------------------------ */
/* State                                                                    */

typedef struct fz_conn {
    cr_conn_id id;
    int user;                    /* index into the user table, -1 before authentication */
    int closed;                  /* by cr_conn_close or the core's close callback */
    uint64_t last_seq[FZ_NAMES]; /* per thread: highest non-notification seq received */
} fz_conn;

typedef struct fz_deliv {
    cr_conn_id conn;
    int thread; /* index, -1 if unknown */
    uint64_t seq, generation;
    uint32_t flags;
} fz_deliv;

typedef struct fz_buf {
    char *p;
    size_t len, cap;
    size_t lines;
} fz_buf;

static struct fz {
    cr_ctx *ctx;
    cr_policy pol;
    /* allocator */
    long calls, fail_at;
    int failed, quiet;
    size_t live_bytes, live_blocks;
    /* model */
    uint64_t now, last_ok_now, last_handled;
    fz_conn conns[FZ_CONNS];
    size_t nconns;
    int authing_conn, authing_user; /* during cr_conn_authenticate */
    unsigned char owned[FZ_NAMES][FZ_NAMES];
    size_t nstreams;
    uint64_t stream_seq[FZ_NAMES][FZ_NAMES];
    uint64_t last_msg, last_run, last_req;
    unsigned char msg_disp[FZ_IDS], msg_used[FZ_IDS];
    signed char msg_u[FZ_IDS], msg_t[FZ_IDS];
    unsigned char run_go[FZ_IDS], run_ended[FZ_IDS];
    signed char run_u[FZ_IDS], run_t[FZ_IDS];
    uint64_t recent_msgs[16];
    size_t nrecent_msgs;
    /* per call */
    size_t ncb;
    fz_deliv deliv[FZ_DELIV];
    size_t ndeliv;
    int op;
    size_t pos;
    fz_buf dump[2];
} F;

static char names[2][FZ_NAMES][CR_ID_MAX + 2];
static unsigned char payload_bytes[FZ_PAYLOAD];

/* ------------------------------------------------------------------------ */
/* Failure                                                                  */

static const char *const op_names[] = {
    "advance",       "handle_expiry", "thread_add", "conn_open",   "conn_authenticate",
    "conn_message",  "conn_switch",   "conn_close", "assoc_compl", "run_start",
    "run_start_for", "run_emit",      "run_end",    "msg_release", "queries",
    "jump_expiry",   "arm_fail",      "time_back",
};
#define FZ_NOPS ((int)(sizeof op_names / sizeof op_names[0]))

#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fz_fail(__LINE__, #cond, __VA_ARGS__);                                                 \
    } while (0)

static void fz_fail(int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void fz_fail(int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr,
            "fuzz_core: invariant broken (line %d): %s\n  op %s at input byte %zu, now=%llu: ",
            line, cond, F.op >= 0 && F.op < FZ_NOPS ? op_names[F.op] : "setup", F.pos,
            (unsigned long long)F.now);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* ------------------------------------------------------------------------ */
/* Allocator: counts bytes and blocks, fails call number fail_at           */

typedef union fz_hdr {
    max_align_t align;
    size_t size;
} fz_hdr;

static int fz_should_fail(void)
{
    if (F.quiet)
        return 0;
    if (++F.calls == F.fail_at) {
        F.failed = 1;
        return 1;
    }
    return 0;
}

static void *fz_malloc(size_t n, void *ud)
{
    (void)ud;
    if (fz_should_fail())
        return NULL;
    fz_hdr *h = malloc(sizeof *h + n);
    if (!h)
        abort();
    h->size = n;
    F.live_bytes += n;
    F.live_blocks++;
    return h + 1;
}

static void *fz_realloc(void *p, size_t n, void *ud)
{
    if (!p)
        return fz_malloc(n, ud);
    if (fz_should_fail())
        return NULL;
    fz_hdr *h = (fz_hdr *)p - 1;
    size_t old = h->size;
    h = realloc(h, sizeof *h + n);
    if (!h)
        abort();
    h->size = n;
    F.live_bytes = F.live_bytes - old + n;
    return h + 1;
}

static void fz_free(void *p, void *ud)
{
    (void)ud;
    if (!p)
        return;
    fz_hdr *h = (fz_hdr *)p - 1;
    FZ_CHECK(F.live_blocks > 0 && F.live_bytes >= h->size, "free of %zu bytes", h->size);
    F.live_bytes -= h->size;
    F.live_blocks--;
    free(h);
}

static const cr_allocator fz_alloc = {fz_malloc, fz_realloc, fz_free, NULL};

/* ------------------------------------------------------------------------ */
/* Identifiers and model lookups                                            */

static void fz_names_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    for (int k = 0; k < 2; k++) {
        char c = k ? 't' : 'u';
        for (int i = 0; i < 4; i++) {
            names[k][i][0] = c;
            names[k][i][1] = (char)('0' + i);
        }
        memset(names[k][4], c, CR_ID_MAX); /* longest valid */
        names[k][5][0] = '\x01';           /* escaped in dumps */
        names[k][5][1] = c;
        names[k][5][2] = '\\';
        names[k][5][3] = '\x7f';
        /* names[k][6]: "" (invalid) */
        memset(names[k][7], c, CR_ID_MAX + 1); /* one byte too long */
    }
    for (size_t i = 0; i < FZ_PAYLOAD; i++)
        payload_bytes[i] = (unsigned char)(i * 7 + 1);
}

static const char *uname(int i)
{
    return names[0][i];
}

static const char *tname(int i)
{
    return names[1][i];
}

/* Index of a valid identifier in table k, -1 if none. */
static int name_index(int k, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < FZ_VALID; i++)
        if (strcmp(names[k][i], s) == 0)
            return i;
    return -1;
}

static fz_conn *conn_by_id(cr_conn_id id)
{
    return id >= 1 && id <= F.nconns ? &F.conns[id - 1] : NULL;
}

/* The user a connection has for the callbacks (authentication in progress
 * counts). */
static int conn_user(const fz_conn *c)
{
    if (c->user < 0 && F.authing_conn >= 0 && c == &F.conns[F.authing_conn])
        return F.authing_user;
    return c->user;
}

/* ------------------------------------------------------------------------ */
/* Callbacks: record and check, never call the core                         */

static fz_conn *cb_conn(cr_conn_id id, const char *what)
{
    fz_conn *c = conn_by_id(id);
    FZ_CHECK(c != NULL, "%s for unknown conn %llu", what, (unsigned long long)id);
    FZ_CHECK(!c->closed, "%s for closed conn %llu", what, (unsigned long long)id);
    return c;
}

/* Inside a callback every state-changing call but cr_conn_close is
 * refused with CR_EREENTRANT before it looks at anything (so before it
 * allocates: the failure injection's count is unchanged). */
static void refused_inside(uint64_t now)
{
    cr_conn_id id = 0;
    FZ_CHECK(cr_conn_open(F.ctx, now, &id) == CR_EREENTRANT && id == 0, "open inside a callback");
    FZ_CHECK(cr_run_end(F.ctx, now, 1) == CR_EREENTRANT, "run_end inside a callback");
    FZ_CHECK(cr_assoc_complete(F.ctx, now, 1, 1) == CR_EREENTRANT, "assoc inside a callback");
    FZ_CHECK(cr_ctx_handle_expiry(F.ctx, now) == CR_EREENTRANT, "expiry inside a callback");
}

static void on_deliver(void *ud, uint64_t now, cr_conn_id conn, const cr_event *ev)
{
    F.ncb++;
    refused_inside(now);
    FZ_CHECK(now == F.now, "deliver at %llu", (unsigned long long)now);
    fz_conn *c = cb_conn(conn, "deliver");
    int u = conn_user(c);
    /* The product's one job: never show a user another user's events. */
    FZ_CHECK(u >= 0, "event delivered to unauthenticated conn %llu", (unsigned long long)conn);
    FZ_CHECK(ev->user && strcmp(ev->user, uname(u)) == 0,
             "event of user '%s' delivered to conn %llu of user '%s' (flags %u)",
             ev->user ? ev->user : "(null)", (unsigned long long)conn, uname(u), ev->flags);
    int t = name_index(1, ev->thread);
    int note = (ev->flags & CR_EVENT_NOTIFICATION) != 0;
    /* A fallback notification may be about an event without a thread. */
    FZ_CHECK((t >= 0 && F.owned[u][t]) || (note && !ev->thread),
             "event on thread '%s' delivered to conn %llu of '%s' (flags %u)",
             ev->thread ? ev->thread : "(null)", (unsigned long long)conn, uname(u), ev->flags);
    FZ_CHECK((ev->flags & ~(uint32_t)(CR_EVENT_REPLAY | CR_EVENT_NOTIFICATION)) == 0, "flags %u",
             ev->flags);
    if (t >= 0)
        FZ_CHECK((note || ev->seq >= 1) && ev->seq <= F.stream_seq[u][t] + 1,
                 "seq %llu (stream at %llu)", (unsigned long long)ev->seq,
                 (unsigned long long)F.stream_seq[u][t]);
    FZ_CHECK(ev->payload_len <= F.pol.max_payload, "payload %zu", ev->payload_len);
    FZ_CHECK(ev->payload_len == 0 || ev->payload != NULL, "NULL payload of %zu bytes",
             ev->payload_len);
    if (!note && F.pol.pool_pending_marking) {
        /* A connection is never sent the same event of its stream twice. */
        FZ_CHECK(ev->seq > c->last_seq[t], "conn %llu got seq %llu of %s/%s after seq %llu",
                 (unsigned long long)conn, (unsigned long long)ev->seq, uname(u), tname(t),
                 (unsigned long long)c->last_seq[t]);
        c->last_seq[t] = ev->seq;
    }
    if (F.ndeliv < FZ_DELIV) {
        fz_deliv *d = &F.deliv[F.ndeliv++];
        d->conn = conn;
        d->thread = t;
        d->seq = ev->seq;
        d->generation = ev->generation;
        d->flags = ev->flags;
    }
}

static void on_dispatch(void *ud, uint64_t now, cr_conn_id conn, const cr_dispatch *d)
{
    F.ncb++;
    refused_inside(now);
    fz_conn *c = cb_conn(conn, "dispatch");
    int u = conn_user(c);
    FZ_CHECK(d->msg_id >= 1 && d->msg_id <= F.last_msg + 1, "msg id %llu (last %llu)",
             (unsigned long long)d->msg_id, (unsigned long long)F.last_msg);
    if (d->user) {
        FZ_CHECK(u >= 0 && strcmp(d->user, uname(u)) == 0,
                 "message of conn %llu dispatched as user '%s'", (unsigned long long)conn, d->user);
    } else {
        FZ_CHECK(u < 0 && !F.pol.cache_preauth, "dispatch without user for conn %llu",
                 (unsigned long long)conn);
    }
    int t = name_index(1, d->thread);
    if (d->thread)
        FZ_CHECK(d->user && t >= 0 && F.owned[u][t], "dispatch on thread '%s' not owned",
                 d->thread);
    FZ_CHECK(d->payload_len >= 1 && d->payload_len <= F.pol.max_payload && d->payload,
             "dispatch payload %zu", d->payload_len);
    if (d->msg_id < FZ_IDS) {
        FZ_CHECK(!F.msg_disp[d->msg_id], "msg %llu dispatched twice",
                 (unsigned long long)d->msg_id);
        F.msg_disp[d->msg_id] = 1;
        F.msg_u[d->msg_id] = (signed char)(d->user ? u : -1);
        F.msg_t[d->msg_id] = (signed char)(d->thread ? t : -1);
    }
    F.recent_msgs[F.nrecent_msgs++ % 16] = d->msg_id;
}

static void on_associate(void *ud, uint64_t now, uint64_t req_id, cr_conn_id conn, const char *user,
                         const char *thread)
{
    F.ncb++;
    refused_inside(now);
    fz_conn *c = cb_conn(conn, "associate");
    int u = conn_user(c);
    FZ_CHECK(req_id == F.last_req + 1, "req id %llu after %llu", (unsigned long long)req_id,
             (unsigned long long)F.last_req);
    F.last_req = req_id;
    FZ_CHECK(u >= 0 && user && strcmp(user, uname(u)) == 0,
             "association of conn %llu for user '%s'", (unsigned long long)conn,
             user ? user : "(null)");
    int t = name_index(1, thread);
    FZ_CHECK(t >= 0 && F.owned[u][t], "association to thread '%s' not owned",
             thread ? thread : "(null)");
}

static void on_notify(void *ud, uint64_t now, cr_conn_id conn, const cr_notice *n)
{
    F.ncb++;
    refused_inside(now);
    fz_conn *c = cb_conn(conn, "notify");
    int u = conn_user(c);
    FZ_CHECK((unsigned)n->kind <= CR_NOTICE_CLOSING, "notice kind %d", (int)n->kind);
    if (n->kind == CR_NOTICE_THREAD_SWITCHED || n->kind == CR_NOTICE_SWITCH_FAILED) {
        int t = name_index(1, n->thread);
        FZ_CHECK(u >= 0 && t >= 0 && F.owned[u][t], "notice %d on thread '%s'", (int)n->kind,
                 n->thread ? n->thread : "(null)");
    }
    if (n->kind == CR_NOTICE_MESSAGE_REJECTED)
        FZ_CHECK(n->error == CR_EFOREIGN || n->error == CR_EFULL || n->error == CR_ESTATE,
                 "rejected with %d", n->error);
}

static void on_run_go(void *ud, uint64_t now, cr_run_id run)
{
    F.ncb++;
    refused_inside(now);
    FZ_CHECK(run >= 1 && run <= F.last_run + 1, "run_go %llu (last %llu)", (unsigned long long)run,
             (unsigned long long)F.last_run);
    if (run < FZ_IDS) {
        FZ_CHECK(!F.run_go[run], "run_go twice for run %llu", (unsigned long long)run);
        FZ_CHECK(!F.run_ended[run], "run_go for ended run %llu", (unsigned long long)run);
        F.run_go[run] = 1;
    }
}

static void on_close(void *ud, uint64_t now, cr_conn_id conn, cr_close_reason reason)
{
    F.ncb++;
    refused_inside(now);
    fz_conn *c = cb_conn(conn, "close");
    FZ_CHECK(reason == CR_CLOSE_PENDING_TIMEOUT, "core closed with reason %d", (int)reason);
    FZ_CHECK(F.pol.pending_deadline > 0, "core closed conn without a pending deadline");
    c->closed = 1;
}

static void on_report(void *ud, uint64_t now, const cr_report *r)
{
    F.ncb++;
    refused_inside(now);
    FZ_CHECK((unsigned)r->kind <= CR_REPORT_INFO, "report kind %d", (int)r->kind);
    FZ_CHECK(r->message != NULL, "report without message");
    if (r->kind == CR_REPORT_OUTCOME)
        FZ_CHECK((unsigned)r->outcome < CR_OUTCOME_COUNT, "outcome %d", (int)r->outcome);
    FZ_CHECK(r->error <= 0 && r->error >= CR_ETIME, "report error %d", r->error);
}

static const cr_callbacks fz_callbacks = {on_deliver, on_dispatch, on_associate, on_notify,
                                          on_run_go,  on_close,    on_report};

/* ------------------------------------------------------------------------ */
/* Dumps                                                                    */

static int dump_write(void *arg, const char *line, size_t len)
{
    fz_buf *b = arg;
    FZ_CHECK(len >= 1 && line[len - 1] == '\n' && line[len] == '\0' && strlen(line) == len &&
                 memchr(line, '\n', len - 1) == NULL,
             "malformed dump line of %zu bytes", len);
    if (b->len + len + 1 > b->cap) {
        size_t cap = (b->len + len + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p)
            abort();
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, line, len + 1);
    b->len += len;
    b->lines++;
    return 0;
}

/* A full dump into buffer i, the allocator not failing nor counting. */
static void dump_into(int i)
{
    fz_buf *b = &F.dump[i];
    if (!b->p) {
        b->p = malloc(256);
        if (!b->p)
            abort();
        b->cap = 256;
    }
    b->len = 0;
    b->lines = 0;
    b->p[0] = '\0';
    int q = F.quiet;
    F.quiet = 1;
    int rc = cr_ctx_dump(F.ctx, dump_write, b);
    F.quiet = q;
    FZ_CHECK(rc == 0, "dump returned %d", rc);
    FZ_CHECK(b->lines >= F.nconns, "dump has %zu lines for %zu conns", b->lines, F.nconns);
}

typedef struct stop_sink {
    size_t n, stop_at;
} stop_sink;

static int stop_write(void *arg, const char *line, size_t len)
{
    stop_sink *s = arg;
    (void)line;
    (void)len;
    return ++s->n == s->stop_at ? -42 : 0;
}

/* ------------------------------------------------------------------------ */
/* The consistency check after every call                                   */

static void check_state(void)
{
    cr_stats st;
    cr_ctx_get_stats(F.ctx, &st);
    FZ_CHECK(st.bytes_in_use == F.live_bytes, "stats.bytes_in_use %llu, allocator %zu",
             (unsigned long long)st.bytes_in_use, F.live_bytes);
    FZ_CHECK(st.bytes_peak >= st.bytes_in_use, "bytes_peak");

    size_t open_unauth = 0, open_auth = 0, closed = 0, queued = 0, preauth = 0;
    unsigned char ready[FZ_NAMES][FZ_NAMES];
    memset(ready, 0, sizeof ready);
    for (size_t i = 0; i < F.nconns; i++) {
        fz_conn *c = &F.conns[i];
        cr_conn_info info;
        int rc = cr_conn_get_info(F.ctx, c->id, &info);
        FZ_CHECK(rc == 0, "get_info(%llu) = %d", (unsigned long long)c->id, rc);
        FZ_CHECK(info.id == c->id, "info.id");
        if (c->closed) {
            closed++;
            FZ_CHECK(info.state == CR_CONN_CLOSED, "closed conn %llu in state %d",
                     (unsigned long long)c->id, (int)info.state);
            continue;
        }
        FZ_CHECK(info.state != CR_CONN_CLOSED, "open conn %llu reported CLOSED",
                 (unsigned long long)c->id);
        if (c->user < 0) {
            open_unauth++;
            FZ_CHECK(info.state == CR_CONN_OPEN && !info.user && !info.thread,
                     "unauthenticated conn %llu in state %d", (unsigned long long)c->id,
                     (int)info.state);
        } else {
            open_auth++;
            FZ_CHECK(info.state != CR_CONN_OPEN && info.user &&
                         strcmp(info.user, uname(c->user)) == 0,
                     "conn %llu of '%s': state %d user '%s'", (unsigned long long)c->id,
                     uname(c->user), (int)info.state, info.user ? info.user : "(null)");
        }
        int t = name_index(1, info.thread);
        if (info.state == CR_CONN_READY) {
            FZ_CHECK(t >= 0 && F.owned[c->user][t] && info.generation >= 1,
                     "READY conn %llu bound to '%s'", (unsigned long long)c->id,
                     info.thread ? info.thread : "(null)");
            ready[c->user][t] = 1;
        }
        if (info.assoc_target) {
            int a = name_index(1, info.assoc_target);
            FZ_CHECK(c->user >= 0 && a >= 0 && F.owned[c->user][a], "assoc target '%s'",
                     info.assoc_target);
        }
        FZ_CHECK(info.queued_messages <= F.pol.pending_max &&
                     (F.pol.queue_until_context || info.queued_messages == 0),
                 "conn %llu queues %zu messages (pending_max %llu)", (unsigned long long)c->id,
                 info.queued_messages, (unsigned long long)F.pol.pending_max);
        FZ_CHECK(info.preauth_messages <= F.pol.preauth_max &&
                     (F.pol.cache_preauth || info.preauth_messages == 0) &&
                     (c->user < 0 || info.preauth_messages == 0),
                 "conn %llu caches %zu messages (preauth_max %llu)", (unsigned long long)c->id,
                 info.preauth_messages, (unsigned long long)F.pol.preauth_max);
        queued += info.queued_messages;
        preauth += info.preauth_messages;
    }
    cr_conn_info info;
    FZ_CHECK(cr_conn_get_info(F.ctx, 0, &info) == CR_ENOTFOUND, "get_info(0)");
    FZ_CHECK(cr_conn_get_info(F.ctx, F.nconns + 1, &info) == CR_ENOTFOUND, "get_info(n+1)");

    FZ_CHECK(st.conns_by_state[CR_CONN_OPEN] == open_unauth &&
                 st.conns_by_state[CR_CONN_PENDING_CONTEXT] + st.conns_by_state[CR_CONN_READY] ==
                     open_auth &&
                 st.conns_by_state[CR_CONN_CLOSED] == closed,
             "conns_by_state %llu/%llu/%llu/%llu, model %zu unauth %zu auth %zu closed",
             (unsigned long long)st.conns_by_state[0], (unsigned long long)st.conns_by_state[1],
             (unsigned long long)st.conns_by_state[2], (unsigned long long)st.conns_by_state[3],
             open_unauth, open_auth, closed);
    size_t open = open_unauth + open_auth;
    FZ_CHECK(st.messages_queued_now == queued && queued <= F.pol.pending_max * open,
             "messages_queued_now %llu, conns hold %zu, bound %llu",
             (unsigned long long)st.messages_queued_now, queued,
             (unsigned long long)(F.pol.pending_max * open));
    FZ_CHECK(st.messages_preauth_now == preauth && preauth <= F.pol.preauth_max * open,
             "messages_preauth_now %llu, conns hold %zu",
             (unsigned long long)st.messages_preauth_now, preauth);
    FZ_CHECK(st.buffer_events_now <= F.pol.event_buffer_max * F.nstreams &&
                 st.buffer_bytes_now <= F.pol.event_buffer_max_bytes * F.nstreams &&
                 st.events_buffered_now <= st.buffer_events_now,
             "buffer_events_now %llu bytes %llu undelivered %llu for %zu streams",
             (unsigned long long)st.buffer_events_now, (unsigned long long)st.buffer_bytes_now,
             (unsigned long long)st.events_buffered_now, F.nstreams);
    FZ_CHECK(F.pol.buffer_until_ready || st.buffer_events_now == 0, "buffered with F4 off");
    FZ_CHECK(st.messages_dispatched <= st.messages_received, "dispatched > received");

    for (int u = 0; u < FZ_VALID; u++)
        for (int t = 0; t < FZ_VALID; t++) {
            int r = -1;
            int rc = cr_ctx_is_ready(F.ctx, uname(u), tname(t), &r);
            FZ_CHECK(rc == 0 && r == ready[u][t], "is_ready(%s, %s) = %d/%d, conns say %d",
                     uname(u), tname(t), rc, r, ready[u][t]);
        }
    int r;
    FZ_CHECK(cr_ctx_is_ready(F.ctx, uname(6), tname(0), &r) == CR_EINVAL, "is_ready('')");
    FZ_CHECK(cr_ctx_is_ready(F.ctx, uname(0), tname(7), &r) == CR_EINVAL, "is_ready(long)");

    uint64_t exp = cr_ctx_get_expiry(F.ctx);
    FZ_CHECK(exp >= F.last_handled, "expiry %llu before the last handled now %llu",
             (unsigned long long)exp, (unsigned long long)F.last_handled);
}

/* ------------------------------------------------------------------------ */
/* Calls                                                                    */

#define BIT(rc) (1u << (unsigned)-(rc))
#define OK      BIT(0)

typedef struct snap {
    cr_stats st;
    uint64_t expiry;
    int dumped;
} snap;

static void stats_mask(cr_stats *s)
{
    s->bytes_in_use = 0;
    s->bytes_peak = 0;
}

/* Dumps are compared around a sample of the calls: those whose opcode has
 * the high bit set, and every call while an allocation failure is armed. */
static int sample_dump;

static void call_begin(snap *s)
{
    F.ncb = 0;
    F.ndeliv = 0;
    F.failed = 0;
    cr_ctx_get_stats(F.ctx, &s->st);
    stats_mask(&s->st);
    s->expiry = cr_ctx_get_expiry(F.ctx);
    s->dumped = sample_dump || F.fail_at > F.calls;
    if (s->dumped)
        dump_into(0);
}

/* Checks the return code of a call made at time t against `allowed` (a set
 * of BIT(code)) and what a failing call may have changed.  partial: a
 * failure may leave work done (handle_expiry). */
static void call_end(const snap *s, int rc, unsigned allowed, uint64_t t, int partial)
{
    FZ_CHECK(rc <= 0 && rc >= CR_ETIME, "return code %d is no CR_E* value", rc);
    if (t < F.last_ok_now)
        FZ_CHECK(rc != 0, "a call at %llu after one at %llu succeeded", (unsigned long long)t,
                 (unsigned long long)F.last_ok_now);
    else
        FZ_CHECK(rc != CR_ETIME, "CR_ETIME at %llu after %llu", (unsigned long long)t,
                 (unsigned long long)F.last_ok_now);
    allowed |= BIT(CR_ETIME);
    if (F.failed)
        allowed |= BIT(CR_ENOMEM);
    FZ_CHECK(allowed & BIT(rc), "unexpected return %s (allowed mask %#x)", cr_errname(rc), allowed);
    FZ_CHECK(rc != CR_ENOMEM || F.failed, "CR_ENOMEM without a failed allocation");
    FZ_CHECK(rc == CR_ENOMEM || rc == CR_ETIME || !F.failed,
             "an allocation failed, the call returned %s", rc ? cr_errname(rc) : "0");
    if (rc == 0 && t > F.last_ok_now)
        F.last_ok_now = t;
    if (rc != 0 && !(partial && rc == CR_ENOMEM)) {
        /* A failing call changes nothing (those that refuse a message or
         * drop an event count it and report it, and may commit `now`). */
        int counts = rc == CR_EFOREIGN || rc == CR_EFULL;
        if (!counts)
            FZ_CHECK(F.ncb == 0, "failing call (%s) made %zu callbacks", cr_errname(rc), F.ncb);
        cr_stats st;
        cr_ctx_get_stats(F.ctx, &st);
        stats_mask(&st);
        if (!counts)
            FZ_CHECK(memcmp(&st, &s->st, sizeof st) == 0, "failing call (%s) changed the stats",
                     cr_errname(rc));
        /* A counting failure commits `now` like a success: history whose TTL
         * passed is pruned on the way, and its timer goes with it (the
         * state check below exempts an emit's EFULL for the same reason). */
        if (!counts)
            FZ_CHECK(cr_ctx_get_expiry(F.ctx) == s->expiry,
                     "failing call (%s) moved the expiry from %llu to %llu", cr_errname(rc),
                     (unsigned long long)s->expiry, (unsigned long long)cr_ctx_get_expiry(F.ctx));
        if (s->dumped && !(F.op == 11 && rc == CR_EFULL)) {
            dump_into(1);
            if (F.dump[0].len != F.dump[1].len ||
                memcmp(F.dump[0].p, F.dump[1].p, F.dump[0].len) != 0) {
                fprintf(stderr, "--- before\n%s--- after\n%s", F.dump[0].p, F.dump[1].p);
                FZ_CHECK(0, "failing call (%s) changed the dump", cr_errname(rc));
            }
        }
    }
    F.failed = 0;
    check_state();
}

/* ------------------------------------------------------------------------ */
/* Input                                                                    */

typedef struct in {
    const uint8_t *p;
    size_t n, i;
} in;

static uint8_t next(in *x)
{
    return x->i < x->n ? x->p[x->i++] : 0;
}

static uint64_t pick_conn(uint8_t a)
{
    if (F.nconns == 0 || a >= 0xf8) {
        static const uint64_t bogus[4] = {0, 1, UINT64_MAX, 2};
        uint64_t id = bogus[a & 3];
        return id == 1 || id == 2 ? F.nconns + id : id;
    }
    return F.conns[a % F.nconns].id;
}

/* Expected codes for an operation on connection id: ENOTFOUND, ECLOSED,
 * or 0 (the connection is open). */
static int conn_status(uint64_t id, fz_conn **out)
{
    fz_conn *c = conn_by_id(id);
    *out = c;
    if (!c)
        return CR_ENOTFOUND;
    return c->closed ? CR_ECLOSED : 0;
}

static uint64_t pick_recent(uint64_t last, uint8_t a)
{
    if (last == 0 || a >= 0xf8) {
        static const uint64_t bogus[4] = {0, 1, UINT64_MAX, 1000000};
        uint64_t id = bogus[a & 3];
        return id == 1 ? last + 1 : id;
    }
    uint64_t span = last < 16 ? last : 16;
    return last - (a % span);
}

/* A payload length: 0, max_payload, max_payload + 1, or small. */
static size_t pick_len(uint8_t a)
{
    switch (a & 3) {
    case 0:
        return 0;
    case 1:
        return (size_t)F.pol.max_payload;
    case 2:
        return (size_t)F.pol.max_payload + 1;
    default:
        return (size_t)((a >> 2) % 48);
    }
}

static uint64_t step_of(uint8_t a)
{
    static const uint64_t unit[4] = {1, CR_NS_PER_MS, 10 * CR_NS_PER_MS, CR_NS_PER_S};
    return (uint64_t)(a & 63) * unit[a >> 6];
}

/* ------------------------------------------------------------------------ */
/* Operations                                                               */

static void op_handle(uint64_t t)
{
    snap s;
    call_begin(&s);
    int rc = cr_ctx_handle_expiry(F.ctx, t);
    call_end(&s, rc, OK, t, 1);
    if (rc == 0) {
        uint64_t exp = cr_ctx_get_expiry(F.ctx);
        FZ_CHECK(exp > t, "expiry %llu not after handled now %llu", (unsigned long long)exp,
                 (unsigned long long)t);
        if (t > F.last_handled)
            F.last_handled = t;
    }
}

static void op_thread_add(uint64_t t, uint8_t a)
{
    int u = a & 7, th = (a >> 3) & 7;
    snap s;
    call_begin(&s);
    int rc = cr_thread_add(F.ctx, t, uname(u), tname(th));
    unsigned allowed = u >= FZ_VALID || th >= FZ_VALID ? BIT(CR_EINVAL) : OK;
    if (rc == 0 && !F.owned[u][th]) {
        F.owned[u][th] = 1;
        F.nstreams++;
    }
    call_end(&s, rc, allowed, t, 0);
}

static void op_open(uint64_t t)
{
    if (F.nconns == FZ_CONNS)
        return;
    snap s;
    call_begin(&s);
    cr_conn_id id = 0;
    int rc = cr_conn_open(F.ctx, t, &id);
    if (rc == 0) {
        FZ_CHECK(id == F.nconns + 1, "conn id %llu after %zu opens", (unsigned long long)id,
                 F.nconns);
        fz_conn *c = &F.conns[F.nconns++];
        memset(c, 0, sizeof *c);
        c->id = id;
        c->user = -1;
    }
    call_end(&s, rc, OK, t, 0);
}

static void op_auth(uint64_t t, uint8_t a, uint8_t b)
{
    uint64_t id = pick_conn(a);
    int u = b & 7;
    fz_conn *c;
    int st = conn_status(id, &c);
    unsigned allowed;
    if (st)
        allowed = BIT(st);
    else if (u >= FZ_VALID)
        allowed = BIT(CR_EINVAL);
    else if (c->user >= 0)
        allowed = BIT(CR_ESTATE);
    else
        allowed = OK;
    snap s;
    call_begin(&s);
    if (allowed == OK) {
        F.authing_conn = (int)(c - F.conns);
        F.authing_user = u;
    }
    int rc = cr_conn_authenticate(F.ctx, t, id, uname(u));
    F.authing_conn = -1;
    if (rc == 0)
        c->user = u;
    call_end(&s, rc, allowed, t, 0);
}

static void op_message(uint64_t t, in *x)
{
    uint8_t a = next(x), b = next(x), l = next(x), q = next(x);
    uint64_t id = pick_conn(a);
    int th = b & 7;
    int has_thread = (b & 0x18) != 0; /* 3/4 of messages name a thread */
    size_t len = pick_len(l);
    const void *payload = (l & 0xc0) == 0xc0 && len == 0 ? NULL : payload_bytes;
    if ((q & 0xc0) == 0xc0)
        payload = NULL;
    cr_message m = {has_thread ? tname(th) : NULL, q & 7, ((uint64_t)F.pos << 8) | q, payload, len};
    fz_conn *c;
    int st = conn_status(id, &c);
    unsigned allowed;
    if (st)
        allowed = BIT(st);
    else if (!payload || len == 0 || (has_thread && th >= FZ_VALID))
        allowed = BIT(CR_EINVAL);
    else if (len > F.pol.max_payload)
        allowed = BIT(CR_ETOOBIG);
    else if (c->user < 0)
        allowed = OK | (F.pol.cache_preauth ? BIT(CR_EFULL) : 0);
    else if (has_thread && !F.owned[c->user][th])
        allowed = BIT(CR_EFOREIGN);
    else
        allowed = OK | (F.pol.queue_until_context ? BIT(CR_EFULL) : 0);
    snap s;
    call_begin(&s);
    uint64_t mid = 0;
    int rc = cr_conn_message(F.ctx, t, id, &m, (q & 0x20) ? NULL : &mid);
    if ((rc == 0 || rc == CR_EFOREIGN || rc == CR_EFULL) && !(q & 0x20))
        FZ_CHECK(mid == F.last_msg + 1, "msg id %llu after %llu", (unsigned long long)mid,
                 (unsigned long long)F.last_msg);
    if (rc == 0 || rc == CR_EFOREIGN || rc == CR_EFULL)
        F.last_msg++;
    call_end(&s, rc, allowed, t, 0);
}

static void op_switch(uint64_t t, uint8_t a, uint8_t b)
{
    uint64_t id = pick_conn(a);
    int th = b & 7;
    fz_conn *c;
    int st = conn_status(id, &c);
    unsigned allowed;
    if (st)
        allowed = BIT(st);
    else if (th >= FZ_VALID)
        allowed = BIT(CR_EINVAL);
    else if (c->user < 0)
        allowed = BIT(CR_ESTATE);
    else if (!F.owned[c->user][th])
        allowed = BIT(CR_EFOREIGN);
    else
        allowed = OK;
    snap s;
    call_begin(&s);
    int rc = cr_conn_switch(F.ctx, t, id, tname(th), b >> 4);
    call_end(&s, rc, allowed, t, 0);
}

static void op_close(uint64_t t, uint8_t a, uint8_t b)
{
    uint64_t id = pick_conn(a);
    cr_close_reason reason = (cr_close_reason)(b % 6);
    fz_conn *c;
    int st = conn_status(id, &c);
    unsigned allowed;
    if (st)
        allowed = BIT(st);
    else if ((unsigned)reason > CR_CLOSE_SERVER)
        allowed = BIT(CR_EINVAL);
    else
        allowed = OK;
    snap s;
    call_begin(&s);
    int rc = cr_conn_close(F.ctx, t, id, reason);
    if (rc == 0)
        c->closed = 1;
    call_end(&s, rc, allowed, t, 0);
}

static void op_assoc(uint64_t t, uint8_t a, uint8_t b)
{
    uint64_t req = pick_recent(F.last_req, a);
    unsigned allowed = req >= 1 && req <= F.last_req ? OK : BIT(CR_ENOTFOUND);
    snap s;
    call_begin(&s);
    int rc = cr_assoc_complete(F.ctx, t, req, (b & 3) != 0);
    call_end(&s, rc, allowed, t, 0);
}

static unsigned msg_expect(uint64_t mid)
{
    if (mid >= 1 && mid < FZ_IDS && mid <= F.last_msg)
        return F.msg_disp[mid] && !F.msg_used[mid] ? OK : BIT(CR_ENOTFOUND);
    return mid > F.last_msg ? BIT(CR_ENOTFOUND) : OK | BIT(CR_ENOTFOUND);
}

static uint64_t pick_msg(uint8_t a)
{
    if (F.nrecent_msgs && a < 0xc0) {
        size_t n = F.nrecent_msgs < 16 ? F.nrecent_msgs : 16;
        return F.recent_msgs[a % n];
    }
    return pick_recent(F.last_msg, a);
}

static void run_started(cr_run_id rid, int u, int th)
{
    FZ_CHECK(rid == F.last_run + 1, "run id %llu after %llu", (unsigned long long)rid,
             (unsigned long long)F.last_run);
    F.last_run = rid;
    if (rid < FZ_IDS) {
        F.run_u[rid] = (signed char)u;
        F.run_t[rid] = (signed char)th;
    }
}

static void op_run_start(uint64_t t, uint8_t a)
{
    uint64_t mid = pick_msg(a);
    unsigned allowed = msg_expect(mid);
    snap s;
    call_begin(&s);
    cr_run_id rid = 0;
    int rc = cr_run_start(F.ctx, t, mid, &rid);
    if (rc == 0) {
        int known = mid < FZ_IDS;
        run_started(rid, known ? F.msg_u[mid] : -1, known ? F.msg_t[mid] : -1);
        if (known)
            F.msg_used[mid] = 1;
    }
    call_end(&s, rc, allowed, t, 0);
}

static void op_run_start_for(uint64_t t, uint8_t a)
{
    int u = a & 7, th = (a >> 3) & 7;
    unsigned allowed;
    if (u >= FZ_VALID || th >= FZ_VALID)
        allowed = BIT(CR_EINVAL);
    else if (!F.owned[u][th])
        allowed = BIT(CR_EFOREIGN);
    else
        allowed = OK;
    snap s;
    call_begin(&s);
    cr_run_id rid = 0;
    int rc = cr_run_start_for(F.ctx, t, uname(u), tname(th), &rid);
    if (rc == 0)
        run_started(rid, u, th);
    call_end(&s, rc, allowed, t, 0);
}

static void op_emit(uint64_t t, in *x)
{
    uint8_t a = next(x), l = next(x), ty = next(x);
    uint64_t rid = pick_recent(F.last_run, a);
    size_t len = pick_len(l);
    const void *payload = (l & 0xc0) == 0xc0 ? NULL : payload_bytes;
    int tracked = rid >= 1 && rid < FZ_IDS && rid <= F.last_run;
    unsigned allowed;
    if (rid == 0 || rid > F.last_run)
        allowed = BIT(CR_ENOTFOUND);
    else if (!tracked)
        allowed = OK | BIT(CR_ESTATE) | BIT(CR_EFULL) | BIT(CR_ETOOBIG) | BIT(CR_EINVAL);
    else if (F.run_ended[rid] || !F.run_go[rid])
        allowed = BIT(CR_ESTATE);
    else if (len > F.pol.max_payload)
        allowed = BIT(CR_ETOOBIG);
    else if (len && !payload)
        allowed = BIT(CR_EINVAL);
    else
        allowed = OK | (F.pol.buffer_until_ready ? BIT(CR_EFULL) : 0);
    cr_event_in ev = {ty, ((uint64_t)F.pos << 8) | ty, payload, len};
    snap s;
    call_begin(&s);
    uint64_t seq = 0;
    cr_outcome o = (cr_outcome)-1;
    int rc = cr_run_emit(F.ctx, t, rid, &ev, &seq, &o);
    if (rc == 0 || rc == CR_EFULL) {
        FZ_CHECK((unsigned)o <= CR_OUTCOME_COUNT && o != CR_OUTCOME_BUFFERED_DELIVERED &&
                     o != CR_OUTCOME_EXPIRED,
                 "immediate outcome %d", (int)o);
        FZ_CHECK(rc == 0 || o == CR_OUTCOME_DROPPED_FULL, "EFULL with outcome %d", (int)o);
        int u = tracked ? F.run_u[rid] : -1, th = tracked ? F.run_t[rid] : -1;
        if (seq) {
            FZ_CHECK(u >= 0 && th >= 0, "seq %llu for a run without a stream",
                     (unsigned long long)seq);
            FZ_CHECK(seq == F.stream_seq[u][th] + 1, "seq %llu on %s/%s after %llu",
                     (unsigned long long)seq, uname(u), tname(th),
                     (unsigned long long)F.stream_seq[u][th]);
            F.stream_seq[u][th] = seq;
        }
        size_t live = 0, notes = 0;
        for (size_t i = 0; i < F.ndeliv; i++) {
            if (F.deliv[i].flags & CR_EVENT_NOTIFICATION) {
                /* this event's fallback (emit first expires older ones,
                 * whose notifications carry their own seq) */
                notes += F.deliv[i].seq == seq;
                continue;
            }
            live++;
            FZ_CHECK(F.deliv[i].seq == seq && F.deliv[i].thread == th && !F.deliv[i].flags,
                     "emit of seq %llu delivered seq %llu flags %u", (unsigned long long)seq,
                     (unsigned long long)F.deliv[i].seq, F.deliv[i].flags);
            if (F.pol.pool_pending_marking) {
                /* only READY connections bound to the run's thread */
                cr_conn_info info;
                FZ_CHECK(cr_conn_get_info(F.ctx, F.deliv[i].conn, &info) == 0 &&
                             info.state == CR_CONN_READY && name_index(1, info.thread) == th &&
                             info.generation == F.deliv[i].generation,
                         "event of %s/%s delivered to conn %llu (state %d, thread %s)", uname(u),
                         tname(th), (unsigned long long)F.deliv[i].conn, (int)info.state,
                         info.thread ? info.thread : "-");
            }
        }
        if (live)
            FZ_CHECK(o == CR_OUTCOME_DELIVERED, "delivered live, outcome %d", (int)o);
        if (o == CR_OUTCOME_FALLBACK)
            FZ_CHECK(notes == 1 && live == 0, "fallback with %zu notifications", notes);
        if (o == CR_OUTCOME_DELIVERED && F.pol.report_undeliverable)
            FZ_CHECK(live > 0, "outcome delivered without a delivery");
        if (o == CR_OUTCOME_COUNT)
            FZ_CHECK(live == 0 && notes == 0 && F.pol.buffer_until_ready, "pending outcome");
    }
    call_end(&s, rc, allowed, t, 0);
}

static void op_run_end(uint64_t t, uint8_t a)
{
    uint64_t rid = pick_recent(F.last_run, a);
    unsigned allowed;
    if (rid == 0 || rid > F.last_run)
        allowed = BIT(CR_ENOTFOUND);
    else if (rid >= FZ_IDS)
        allowed = OK | BIT(CR_ENOTFOUND);
    else
        allowed = F.run_ended[rid] ? BIT(CR_ENOTFOUND) : OK;
    snap s;
    call_begin(&s);
    int rc = cr_run_end(F.ctx, t, rid);
    if (rc == 0 && rid < FZ_IDS)
        F.run_ended[rid] = 1;
    call_end(&s, rc, allowed, t, 0);
}

static void op_release(uint8_t a)
{
    uint64_t mid = pick_msg(a);
    unsigned allowed = msg_expect(mid);
    snap s;
    call_begin(&s);
    int rc = cr_msg_release(F.ctx, mid);
    if (rc == 0 && mid < FZ_IDS)
        F.msg_used[mid] = 1;
    call_end(&s, rc, allowed, F.last_ok_now, 0);
}

static void op_queries(uint8_t a)
{
    /* A dump through the (possibly failing) allocator, into a sink that
     * stops after some lines. */
    F.failed = 0;
    dump_into(0);
    stop_sink sk = {0, (size_t)(a & 15) + 1};
    int rc = cr_ctx_dump(F.ctx, stop_write, &sk);
    if (rc == CR_ENOMEM)
        FZ_CHECK(F.failed && sk.n == 0, "dump ENOMEM");
    else
        FZ_CHECK(rc == (F.dump[0].lines >= sk.stop_at ? -42 : 0) && !F.failed,
                 "dump into a sink stopping at line %zu of %zu returned %d", sk.stop_at,
                 F.dump[0].lines, rc);
    F.failed = 0;
    FZ_CHECK(cr_ctx_dump(F.ctx, NULL, NULL) == CR_EINVAL, "dump(NULL)");
    const cr_policy *p = cr_ctx_policy(F.ctx);
    FZ_CHECK(p && memcmp(p, &F.pol, sizeof *p) == 0, "policy changed");
    check_state();
}

/* A state-changing call with time going backwards: must fail, change
 * nothing. */
static void op_time_back(uint8_t a)
{
    if (F.last_ok_now == 0)
        return;
    uint64_t t = F.last_ok_now - 1;
    snap s;
    call_begin(&s);
    int rc;
    cr_conn_id id;
    switch (a % 4) {
    case 0:
        rc = cr_ctx_handle_expiry(F.ctx, t);
        break;
    case 1:
        rc = cr_conn_open(F.ctx, t, &id);
        break;
    case 2:
        rc = cr_thread_add(F.ctx, t, uname(0), tname(0));
        break;
    default:
        rc = cr_conn_close(F.ctx, t, pick_conn(a >> 2), CR_CLOSE_CLIENT);
        break;
    }
    call_end(&s, rc, BIT(CR_ETIME), t, 0);
}

/* ------------------------------------------------------------------------ */
/* Setup and main loop                                                      */

static void policy_from(in *x)
{
    uint8_t m0 = next(x), m1 = next(x), b2 = next(x), b3 = next(x), b4 = next(x);
    static const uint64_t bytes[4] = {0, 8, 64, 1048576};
    static const uint64_t ttl[4] = {0, CR_NS_PER_MS, 50 * CR_NS_PER_MS, CR_NS_PER_S};
    static const uint64_t grace[4] = {0, CR_NS_PER_MS, 30 * CR_NS_PER_MS, CR_NS_PER_S};
    static const uint64_t retry[4] = {0, 1, CR_NS_PER_MS, 10 * CR_NS_PER_MS};
    static const uint64_t backoff[4] = {0, 1, CR_NS_PER_MS, 20 * CR_NS_PER_MS};
    static const uint64_t deadline[4] = {0, CR_NS_PER_MS, 100 * CR_NS_PER_MS, CR_NS_PER_S};
    static const uint64_t maxp[4] = {0, 1, 16, 64};
    cr_policy *p = &F.pol;
    if (cr_policy_init(p, CR_PROFILE_FIXED) != 0)
        abort();
    p->pending_max = b2 & 3;
    p->preauth_max = (b2 >> 2) & 3;
    p->event_buffer_max = (b2 >> 4) & 3;
    p->event_buffer_max_bytes = bytes[b2 >> 6];
    p->event_ttl = ttl[b3 & 3];
    p->exec_grace = grace[(b3 >> 2) & 3];
    p->exec_retry_interval = retry[(b3 >> 4) & 3];
    p->update_retries = b3 >> 6;
    p->update_backoff = backoff[b4 & 3];
    p->pending_deadline = deadline[(b4 >> 2) & 3];
    p->max_payload = maxp[(b4 >> 4) & 3];
    unsigned mask = m0 | (unsigned)(m1 & 1) << 8;
    for (int fix = 1; fix <= 9; fix++)
        if (mask & (1u << (fix - 1)))
            if (cr_policy_disable_fix(p, fix) != 0)
                abort();
}

static void fz_reset(void)
{
    for (int i = 0; i < 2; i++) {
        free(F.dump[i].p);
        F.dump[i].p = NULL;
    }
    memset(&F, 0, sizeof F);
    F.authing_conn = -1;
    F.op = -1;
}

int fuzz_core_run(const uint8_t *data, size_t size)
{
    fz_names_init();
    fz_reset();
    in x = {data, size, 0};
    policy_from(&x);
    F.fail_at = next(&x);

    int rc = cr_ctx_new(&F.ctx, &F.pol, &fz_callbacks, &fz_alloc, NULL);
    if (rc != 0) {
        FZ_CHECK(rc == CR_ENOMEM && F.failed && !F.ctx && F.live_blocks == 0, "cr_ctx_new = %d",
                 rc);
        fz_reset();
        return 0;
    }
    F.failed = 0;
    check_state();

    /* ids beyond the model's arrays end the program */
    while (x.i < x.n && F.last_msg < FZ_IDS - 2 && F.last_run < FZ_IDS - 2) {
        F.pos = x.i;
        uint8_t opc = next(&x);
        F.op = opc % FZ_NOPS;
        sample_dump = (opc & 0x80) != 0;
        switch (F.op) {
        case 0:
            F.now += step_of(next(&x));
            break;
        case 1:
            op_handle(F.now);
            break;
        case 2:
            op_thread_add(F.now, next(&x));
            break;
        case 3:
            op_open(F.now);
            break;
        case 4: {
            uint8_t a = next(&x);
            op_auth(F.now, a, next(&x));
            break;
        }
        case 5:
            op_message(F.now, &x);
            break;
        case 6: {
            uint8_t a = next(&x);
            op_switch(F.now, a, next(&x));
            break;
        }
        case 7: {
            uint8_t a = next(&x);
            op_close(F.now, a, next(&x));
            break;
        }
        case 8: {
            uint8_t a = next(&x);
            op_assoc(F.now, a, next(&x));
            break;
        }
        case 9:
            op_run_start(F.now, next(&x));
            break;
        case 10:
            op_run_start_for(F.now, next(&x));
            break;
        case 11:
            op_emit(F.now, &x);
            break;
        case 12:
            op_run_end(F.now, next(&x));
            break;
        case 13:
            op_release(next(&x));
            break;
        case 14:
            op_queries(next(&x));
            break;
        case 15: {
            /* the host's loop: sleep until the next deadline, handle it */
            uint64_t exp = cr_ctx_get_expiry(F.ctx);
            if (exp != CR_TIME_NEVER && exp > F.now && exp - F.now <= 10 * CR_NS_PER_S)
                F.now = exp;
            if (exp <= F.now)
                op_handle(F.now);
            break;
        }
        case 16:
            F.fail_at = F.calls + 1 + (next(&x) & 15);
            break;
        default:
            op_time_back(next(&x));
            break;
        }
    }

    F.op = -1;
    cr_ctx_del(F.ctx);
    F.ctx = NULL;
    FZ_CHECK(F.live_bytes == 0 && F.live_blocks == 0, "%zu bytes in %zu blocks after cr_ctx_del",
             F.live_bytes, F.live_blocks);
    fz_reset();
    return 0;
}

#ifndef FUZZ_CORE_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_core_run(data, size);
}
#endif
