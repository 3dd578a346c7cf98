/*
 * check.c - small-scope exhaustive checking of the real core (see check.h
 * and docs/check.md).
 *
 * Layout: the arena (the core's private memory, so that a state can be
 * copied), the host model (what the host knows, fixed-size), the callbacks
 * and the oracle rules they check, one input (do_input) and the checks
 * after it (after_step), the fingerprint, the breadth-first search, and the
 * counterexample file.
 */
#include "sim/check.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "sim/invariant.h"

#define NEVER     CR_TIME_NEVER
#define MAXC      SIM_CHECK_MAX_CONNS
#define MAXU      SIM_CHECK_MAX_USERS
#define MAXT      SIM_CHECK_MAX_THREADS
#define MAXOBJ    64   /* messages, runs, events of one execution */
#define MAXREQ    160  /* association requests of one execution */
#define MAXOBS    128  /* callbacks of one kind in one step */
#define T_FOREIGN MAXT /* model thread index of the foreign probe */
#define WAIT_MAX  100000

const char *sim_check_violation_name(int v)
{
    static const char *const names[] = {"none",
#define SIM_CHECK_VIOL_NAME(name, word) word,
                                        SIM_CHECK_VIOLATIONS(SIM_CHECK_VIOL_NAME)
#undef SIM_CHECK_VIOL_NAME
    };
    return v >= 0 && v < SIM_CHECK_V_COUNT ? names[v] : NULL;
}

int sim_check_violation_parse(const char *name)
{
    for (int v = 0; v < SIM_CHECK_V_COUNT; v++)
        if (strcmp(sim_check_violation_name(v), name) == 0)
            return v;
    return -1;
}

static const char *const input_words[] = {
#define SIM_CHECK_INPUT_WORD(name, word) word,
    SIM_CHECK_INPUTS(SIM_CHECK_INPUT_WORD)
#undef SIM_CHECK_INPUT_WORD
};

/* ------------------------------------------------------------------------ */
/* Options                                                                  */

void sim_check_opts_init(sim_check_opts *o)
{
    memset(o, 0, sizeof *o);
    o->users = 2;
    o->conns = 3;
    o->threads = 2;
    o->depth = 7;
    o->max_states = 2000000;
    o->profile = CR_PROFILE_FIXED;
    cr_policy_init(&o->policy, CR_PROFILE_FIXED);
}

int sim_check_opts_policy(sim_check_opts *o, char *err, size_t errlen)
{
    if (cr_policy_init(&o->policy, (cr_profile)o->profile) != 0) {
        snprintf(err, errlen, "unknown profile %d", o->profile);
        return -1;
    }
    if (o->ablate && cr_policy_disable_fix(&o->policy, o->ablate) != 0) {
        snprintf(err, errlen, "--ablate expects a fix number 1..9, got %d", o->ablate);
        return -1;
    }
    for (size_t i = 0; i < o->noverrides; i++) {
        int rc = cr_policy_set(&o->policy, o->overrides[i].name, o->overrides[i].value);
        if (rc != 0) {
            snprintf(err, errlen, "policy %s=%" PRIu64 ": %s", o->overrides[i].name,
                     o->overrides[i].value, rc == CR_ENOTFOUND ? "unknown knob" : "bad value");
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Arena: every byte the core allocates, in one block whose contents can be
 * saved and restored (the core has no global state and no pointers out of
 * its allocations except to the host's callbacks and user data, which stay
 * put).  Power-of-two size classes with free lists; metadata in front.    */

#define AR_CLASSES 24
#define AR_HDR     16

typedef struct arena {
    size_t used, cap;                  /* bytes of data in use (bump) / available */
    uint32_t free_head[AR_CLASSES];    /* offset + 1 of the first free block, 0: none */
    _Alignas(16) unsigned char data[]; /* blocks: 16-byte header, then the payload */
} arena;

static size_t ar_class_size(unsigned c)
{
    return (size_t)16 << c;
}

static void *ar_malloc(size_t n, void *ud)
{
    arena *a = ud;
    unsigned c = 0;
    while (c < AR_CLASSES && ar_class_size(c) < n)
        c++;
    if (c == AR_CLASSES)
        return NULL;
    unsigned char *blk;
    if (a->free_head[c]) {
        blk = a->data + a->free_head[c] - 1;
        uint32_t next;
        memcpy(&next, blk + 4, sizeof next);
        a->free_head[c] = next;
    } else {
        size_t need = AR_HDR + ar_class_size(c);
        if (need > a->cap - a->used)
            return NULL;
        blk = a->data + a->used;
        a->used += need;
    }
    uint32_t cls = c;
    memcpy(blk, &cls, sizeof cls);
    return blk + AR_HDR;
}

static void ar_free(void *p, void *ud)
{
    if (!p)
        return;
    arena *a = ud;
    unsigned char *blk = (unsigned char *)p - AR_HDR;
    uint32_t c;
    memcpy(&c, blk, sizeof c);
    uint32_t next = a->free_head[c];
    memcpy(blk + 4, &next, sizeof next);
    a->free_head[c] = (uint32_t)(blk - a->data) + 1;
}

static void *ar_realloc(void *p, size_t n, void *ud)
{
    if (!p)
        return ar_malloc(n, ud);
    uint32_t c;
    memcpy(&c, (unsigned char *)p - AR_HDR, sizeof c);
    if (n <= ar_class_size(c))
        return p;
    void *q = ar_malloc(n, ud);
    if (!q)
        return NULL;
    memcpy(q, p, ar_class_size(c));
    ar_free(p, ud);
    return q;
}

static size_t ar_bytes(const arena *a)
{
    return offsetof(arena, data) + a->used;
}

/* ------------------------------------------------------------------------ */
/* The host model: everything the host knows, POD, copied with the arena.   */

enum { EV_LIVE = 1, EV_PENDING, EV_REPLAYED, EV_EXPIRED, EV_DROPPED, EV_FALLBACK };
enum { M_WAIT = 0, M_DISPATCHED, M_STARTED, M_REJECTED };
enum { R_WAIT = 0, R_GO, R_ENDED };

typedef struct ck_event {
    int8_t u, t;
    uint8_t st;
    uint8_t pad;
    uint32_t seq;
    uint64_t at; /* emitted at */
} ck_event;

typedef struct ck_msg {
    uint64_t id;  /* the core's msg id once known, 0 before */
    int8_t conn;  /* 1-based */
    int8_t named; /* -1: none, 0..T-1, T_FOREIGN */
    uint8_t fate; /* M_* */
    uint8_t pad0;
    int8_t du, dt; /* the dispatch's context, -1: none */
    uint8_t pad[2];
} ck_msg;

typedef struct ck_run {
    uint64_t id, started;
    int8_t u, t; /* context (-1: none) */
    uint8_t st;  /* R_* */
    int8_t lost; /* -1 unknown, 0, 1 */
    uint8_t from_msg;
    uint8_t pad[3];
} ck_run;

typedef struct ck_req {
    uint64_t id;
    int8_t conn, t;
    uint8_t answered;
    uint8_t pad[5];
} ck_req;

typedef struct ck_conn {
    uint8_t used, open;
    int8_t user;        /* -1 before authentication */
    int8_t want;        /* thread of the latest association request, -1 none */
    uint8_t told;       /* the client was told it failed */
    int8_t switch_owed; /* thread of a switch not yet answered by a notice, -1 */
    uint8_t last_disp;  /* tag of the last message dispatched, 0 none */
    int8_t bound;       /* bound thread (last observed), -1 none */
    uint8_t state;
    uint8_t pad;
    uint64_t gen, bound_at;
    uint64_t rcv[MAXT]; /* seqs received per own thread (bit seq-1), notifications apart */
} ck_conn;

typedef struct ck_model {
    uint64_t now;
    int nconns, nusers, nthreads; /* connections opened; users and threads used so far */
    int nmsg, nrun, nreq, nev;
    uint64_t prev_lost;  /* runs_context_lost after the previous step */
    ck_conn c[MAXC + 1]; /* by connection id */
    ck_msg m[MAXOBJ];
    ck_run r[MAXOBJ];
    ck_event e[MAXOBJ];
    ck_req q[MAXREQ];
    uint64_t est_at[MAXU][MAXT]; /* first observed binding, NEVER */
    uint8_t est_ok[MAXU][MAXT];  /* an association answered ok on an open connection */
} ck_model;

/* What one step made the core do. */
typedef struct ck_obs {
    int callbacks;
    int ndel, nrep, ngap, ngo;
    cr_conn_id last_pending_close; /* the last connection the pending deadline closed */
    int8_t gaveup_conn, gaveup_t;  /* an association the core gave up on (conn 0: none) */
    struct {
        cr_conn_id conn;
        int8_t u, t;
        uint32_t flags;
        uint64_t seq, run;
    } del[MAXOBS];
    struct {
        uint64_t run, seq;
        cr_outcome o;
    } rep[MAXOBS];
    struct {
        cr_conn_id conn;
        uint64_t seq;
    } gap[MAXOBS];
    uint64_t go[MAXOBS];
} ck_obs;

typedef struct ck_world {
    const sim_check_opts *o;
    arena *ar;
    cr_ctx *ctx;
    ck_model m;
    ck_conn before[MAXC + 1]; /* connections at the start of the step */
    ck_obs obs;
    int viol; /* first violation of the step (sim_check_violation) */
    char why[512];
    int harness; /* a harness limit was hit (message in why) */
    FILE *log;
    uint64_t grace_spec, ttl_spec;
    char *fp; /* fingerprint buffer */
    size_t fplen, fpcap;
} ck_world;

static void violate(ck_world *w, int kind, const char *fmt, ...)
{
    if (w->viol || w->harness)
        return;
    w->viol = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->why, sizeof w->why, fmt, ap);
    va_end(ap);
}

static void harness(ck_world *w, const char *fmt, ...)
{
    if (w->harness)
        return;
    w->harness = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->why, sizeof w->why, fmt, ap);
    va_end(ap);
}

static void logf_(ck_world *w, const char *fmt, ...)
{
    if (!w->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(w->log, fmt, ap);
    va_end(ap);
}

/* ---- names ---- */

static const char *user_name(int u)
{
    static const char *const n[MAXU] = {"u1", "u2", "u3", "u4"};
    return u >= 0 && u < MAXU ? n[u] : "eve";
}

static const char *thread_name(int t)
{
    static const char *const n[MAXT] = {"t1", "t2", "t3", "t4"};
    return t >= 0 && t < MAXT ? n[t] : "x";
}

static int user_idx(const ck_world *w, const char *s)
{
    for (int u = 0; s && u < w->o->users; u++)
        if (!strcmp(s, user_name(u)))
            return u;
    return -1;
}

/* Own threads 0..T-1, the foreign probe T_FOREIGN, -1 for none/unknown. */
static int thread_idx(const ck_world *w, const char *s)
{
    if (!s)
        return -1;
    for (int t = 0; t < w->o->threads; t++)
        if (!strcmp(s, thread_name(t)))
            return t;
    return strcmp(s, "x") ? -1 : T_FOREIGN;
}

static uint64_t top_seq(uint64_t bits)
{
    uint64_t s = 0;
    while (bits) {
        s++;
        bits >>= 1;
    }
    return s;
}

static ck_msg *msg_by_tag(ck_world *w, uint64_t tag)
{
    return tag >= 1 && tag <= (uint64_t)w->m.nmsg ? &w->m.m[tag - 1] : NULL;
}

static ck_run *run_by_id(ck_world *w, uint64_t id)
{
    for (int i = 0; i < w->m.nrun; i++)
        if (w->m.r[i].id == id)
            return &w->m.r[i];
    return NULL;
}

static ck_event *event_find(ck_world *w, int u, int t, uint64_t seq)
{
    for (int i = 0; i < w->m.nev; i++)
        if (w->m.e[i].u == u && w->m.e[i].t == t && w->m.e[i].seq == seq)
            return &w->m.e[i];
    return NULL;
}

static int get_info(ck_world *w, cr_conn_id c, cr_conn_info *in)
{
    int rc = cr_conn_get_info(w->ctx, c, in);
    if (rc != 0)
        harness(w, "cr_conn_get_info(%" PRIu64 "): %s", c, cr_errname(rc));
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Callbacks and the rules checked inside them                              */

static void cb_deliver(void *ud, uint64_t now, cr_conn_id conn, const cr_event *ev)
{
    ck_world *w = ud;
    w->obs.callbacks++;
    int notif = (ev->flags & CR_EVENT_NOTIFICATION) != 0;
    logf_(
        w,
        "    deliver conn=%" PRIu64 " %s/%s seq=%" PRIu64 " run=%" PRIu64 " gen=%" PRIu64 "%s%s\n",
        conn, ev->user ? ev->user : "-", ev->thread ? ev->thread : "-", ev->seq, ev->run,
        ev->generation, ev->flags & CR_EVENT_REPLAY ? " replay" : "", notif ? " notification" : "");
    int u = user_idx(w, ev->user), t = thread_idx(w, ev->thread);
    if (w->obs.ndel == MAXOBS) {
        harness(w, "more than %d deliveries in one step", MAXOBS);
        return;
    }
    int k = w->obs.ndel++;
    w->obs.del[k].conn = conn;
    w->obs.del[k].u = (int8_t)u;
    w->obs.del[k].t = (int8_t)t;
    w->obs.del[k].flags = ev->flags;
    w->obs.del[k].seq = ev->seq;
    w->obs.del[k].run = ev->run;
    cr_conn_info in;
    if (get_info(w, conn, &in) != 0)
        return;
    const char *what = ev->thread ? ev->thread : "-";
    if (!in.user || !ev->user || strcmp(in.user, ev->user) != 0) {
        violate(w, SIM_CHECK_V_MISROUTE,
                "event %s/%s seq %" PRIu64 " of run %" PRIu64 " delivered to conn %" PRIu64
                " of user %s",
                ev->user ? ev->user : "-", what, ev->seq, ev->run, conn,
                in.user ? in.user : "(none)");
        return;
    }
    if (notif) {
        if (in.state != CR_CONN_READY)
            violate(w, SIM_CHECK_V_MISROUTE,
                    "fallback notification of %s/%s seq %" PRIu64 " sent to conn %" PRIu64
                    " which is %s",
                    ev->user, what, ev->seq, conn, cr_conn_state_name(in.state));
        return;
    }
    if (in.state != CR_CONN_READY || !in.thread || !ev->thread || strcmp(in.thread, ev->thread)) {
        violate(w, SIM_CHECK_V_MISROUTE,
                "event %s/%s seq %" PRIu64 " delivered to conn %" PRIu64
                " which is %s and bound to %s",
                ev->user, what, ev->seq, conn, cr_conn_state_name(in.state),
                in.thread ? in.thread : "no thread");
        return;
    }
    if (ev->generation != in.generation) {
        violate(w, SIM_CHECK_V_MISROUTE,
                "event %s/%s seq %" PRIu64 " delivered to conn %" PRIu64 " with generation %" PRIu64
                ", the connection's binding is generation %" PRIu64,
                ev->user, what, ev->seq, conn, ev->generation, in.generation);
        return;
    }
    if (u < 0 || t < 0 || t >= MAXT || ev->seq < 1 || ev->seq > 64 || conn > (cr_conn_id)MAXC) {
        harness(w, "event %s/%s seq %" PRIu64 " outside the model", ev->user, what, ev->seq);
        return;
    }
    ck_conn *c = &w->m.c[conn];
    uint64_t bit = UINT64_C(1) << (ev->seq - 1);
    if (c->rcv[t] & bit)
        violate(w, SIM_CHECK_V_DUPLICATE,
                "event %s/%s seq %" PRIu64 " delivered to conn %" PRIu64 " a second time", ev->user,
                what, ev->seq, conn);
    else if (c->rcv[t] > bit)
        violate(w, SIM_CHECK_V_OUT_OF_ORDER,
                "event %s/%s seq %" PRIu64 " delivered to conn %" PRIu64 " after seq %" PRIu64,
                ev->user, what, ev->seq, conn, top_seq(c->rcv[t]));
    c->rcv[t] |= bit;
    ck_event *e = event_find(w, u, t, ev->seq);
    if (e && e->st == EV_PENDING)
        e->st = EV_REPLAYED;
    (void)now;
}

static void cb_dispatch(void *ud, uint64_t now, cr_conn_id conn, const cr_dispatch *d)
{
    ck_world *w = ud;
    (void)now;
    w->obs.callbacks++;
    logf_(w, "    dispatch conn=%" PRIu64 " msg=%" PRIu64 " user=%s thread=%s\n", conn, d->msg_id,
          d->user ? d->user : "-", d->thread ? d->thread : "-");
    ck_msg *m = msg_by_tag(w, d->tag);
    if (!m) {
        harness(w, "dispatch of unknown message tag %" PRIu64, d->tag);
        return;
    }
    m->fate = M_DISPATCHED;
    m->id = d->msg_id;
    if (conn >= 1 && conn <= (cr_conn_id)MAXC) {
        ck_conn *cc = &w->m.c[conn];
        if (cc->last_disp > d->tag)
            violate(w, SIM_CHECK_V_REORDERED,
                    "message %" PRIu64 " of conn %" PRIu64 " dispatched after message %u, which "
                    "it sent later",
                    d->tag, conn, cc->last_disp);
        cc->last_disp = (uint8_t)d->tag;
    }
    m->du = (int8_t)user_idx(w, d->user);
    m->dt = (int8_t)thread_idx(w, d->thread);
    cr_conn_info in;
    if (get_info(w, conn, &in) != 0)
        return;
    int k = (int)(m - w->m.m) + 1;
    if (!d->user) {
        violate(w, SIM_CHECK_V_NO_CONTEXT,
                "message %d of conn %" PRIu64 " dispatched without user context", k, conn);
        return;
    }
    if (!in.user || strcmp(in.user, d->user)) {
        violate(w, SIM_CHECK_V_NO_CONTEXT,
                "message %d of conn %" PRIu64 " (user %s) dispatched for user %s", k, conn,
                in.user ? in.user : "(none)", d->user);
        return;
    }
    if (!d->thread) {
        violate(w, SIM_CHECK_V_NO_CONTEXT,
                "message %d of conn %" PRIu64 " (naming %s) dispatched without thread context", k,
                conn, m->named < 0 ? "no thread" : thread_name(m->named));
        return;
    }
    if (m->named >= 0 && m->dt != m->named) {
        violate(w, SIM_CHECK_V_NO_CONTEXT,
                "message %d of conn %" PRIu64 " names %s but was dispatched on %s", k, conn,
                thread_name(m->named), d->thread);
        return;
    }
    if (m->named < 0 && (!in.thread || strcmp(in.thread, d->thread))) {
        violate(w, SIM_CHECK_V_NO_CONTEXT,
                "message %d of conn %" PRIu64 " (no thread) dispatched on %s while the connection "
                "is bound to %s",
                k, conn, d->thread, in.thread ? in.thread : "no thread");
        return;
    }
    if (m->du < 0 || m->dt < 0 || m->dt >= MAXT || !w->m.est_ok[m->du][m->dt])
        violate(w, SIM_CHECK_V_NO_CONTEXT,
                "message %d of conn %" PRIu64 " dispatched on %s/%s before any association of "
                "that thread succeeded",
                k, conn, d->user, d->thread);
}

static void cb_associate(void *ud, uint64_t now, uint64_t req, cr_conn_id conn, const char *user,
                         const char *thread)
{
    ck_world *w = ud;
    (void)now;
    (void)user;
    w->obs.callbacks++;
    logf_(w, "    associate req=%" PRIu64 " conn=%" PRIu64 " %s/%s\n", req, conn, user, thread);
    int t = thread_idx(w, thread);
    if (t < 0 || t >= MAXT || conn > (cr_conn_id)MAXC) {
        harness(w, "association to unknown thread %s", thread);
        return;
    }
    if (w->m.nreq == MAXREQ) {
        harness(w, "more than %d association requests", MAXREQ);
        return;
    }
    ck_req *q = &w->m.q[w->m.nreq++];
    memset(q, 0, sizeof *q);
    q->id = req;
    q->conn = (int8_t)conn;
    q->t = (int8_t)t;
    /* The connection's latest binding association, asked by the client or
     * by the core on its behalf (a queued message asking for its thread
     * again), is what the connection waits for.  One that only establishes
     * a thread's context (for a message queued before a later switch, the
     * connection staying where the switch put it) does not change that. */
    ck_conn *c = &w->m.c[conn];
    cr_conn_info in; /* a query: allowed inside a callback */
    if (cr_conn_get_info(w->ctx, conn, &in) != 0 || !in.assoc_establish_only) {
        c->want = (int8_t)t;
        c->told = 0;
    }
    if (c->switch_owed >= 0 && c->switch_owed != t)
        c->switch_owed = -1; /* the client moved on: no notice owed */
}

static const char *notice_name(cr_notice_kind k)
{
    switch (k) {
    case CR_NOTICE_THREAD_SWITCHED:
        return "THREAD_SWITCHED";
    case CR_NOTICE_SWITCH_FAILED:
        return "SWITCH_FAILED";
    case CR_NOTICE_MESSAGE_REJECTED:
        return "MESSAGE_REJECTED";
    case CR_NOTICE_CLOSING:
        return "CLOSING";
    }
    return "?";
}

/* reject_seen: a rejection (MESSAGE_REJECTED notice or error report) of the
 * message with `tag` sent on `conn`: it must be a message of that
 * connection that the core still held (never one it dispatched). */
static void reject_seen(ck_world *w, uint64_t tag, cr_conn_id conn, const char *how)
{
    ck_msg *m = msg_by_tag(w, tag);
    if (!m) {
        violate(w, SIM_CHECK_V_CORE_ERROR, "%s names message tag %" PRIu64 ", never sent", how,
                tag);
        return;
    }
    if (conn && (cr_conn_id)m->conn != conn)
        violate(w, SIM_CHECK_V_CORE_ERROR,
                "%s for message %" PRIu64 " on conn %" PRIu64 ", which was sent on conn %d", how,
                tag, conn, m->conn);
    else if (m->fate == M_DISPATCHED || m->fate == M_STARTED)
        violate(w, SIM_CHECK_V_CORE_ERROR, "%s for message %" PRIu64 ", already dispatched", how,
                tag);
    m->fate = M_REJECTED;
}

static void cb_notify(void *ud, uint64_t now, cr_conn_id conn, const cr_notice *n)
{
    ck_world *w = ud;
    (void)now;
    w->obs.callbacks++;
    logf_(w, "    notify conn=%" PRIu64 " %s%s%s\n", conn, notice_name(n->kind),
          n->thread ? " " : "", n->thread ? n->thread : "");
    if (conn < 1 || conn > (cr_conn_id)w->m.nconns) {
        harness(w, "notice to unknown conn %" PRIu64, conn);
        return;
    }
    ck_conn *c = &w->m.c[conn];
    /* The fields each notice kind carries (ctxready.h, cr_notice). */
    int well_formed = 1;
    switch (n->kind) {
    case CR_NOTICE_THREAD_SWITCHED:
        well_formed = n->thread && !n->msg_tag && !n->error;
        break;
    case CR_NOTICE_SWITCH_FAILED:
        well_formed = n->thread && !n->msg_tag && n->error < 0;
        break;
    case CR_NOTICE_MESSAGE_REJECTED:
        well_formed = n->msg_tag && n->error < 0;
        break;
    case CR_NOTICE_CLOSING:
        well_formed = !n->thread && !n->msg_tag && n->reason == CR_CLOSE_PENDING_TIMEOUT;
        break;
    }
    if (!well_formed)
        violate(w, SIM_CHECK_V_CORE_ERROR,
                "malformed %s notice to conn %" PRIu64 ": thread %s, msg_tag %" PRIu64
                ", error %d, reason %d",
                notice_name(n->kind), conn, n->thread ? n->thread : "-", n->msg_tag, n->error,
                (int)n->reason);
    if ((n->kind == CR_NOTICE_THREAD_SWITCHED || n->kind == CR_NOTICE_SWITCH_FAILED) &&
        c->switch_owed == thread_idx(w, n->thread))
        c->switch_owed = -1;
    if (n->kind == CR_NOTICE_THREAD_SWITCHED) {
        cr_conn_info in;
        if (get_info(w, conn, &in) != 0)
            return;
        if (in.state != CR_CONN_READY || !in.thread || !n->thread || strcmp(in.thread, n->thread))
            violate(w, SIM_CHECK_V_SWITCHED_EARLY,
                    "THREAD_SWITCHED %s sent to conn %" PRIu64 " while it is %s and bound to %s",
                    n->thread ? n->thread : "-", conn, cr_conn_state_name(in.state),
                    in.thread ? in.thread : "no thread");
    } else if (n->kind == CR_NOTICE_SWITCH_FAILED) {
        if (c->want >= 0 && c->want == thread_idx(w, n->thread))
            c->told = 1;
    } else if (n->kind == CR_NOTICE_MESSAGE_REJECTED) {
        reject_seen(w, n->msg_tag, conn, "MESSAGE_REJECTED");
        ck_msg *m = msg_by_tag(w, n->msg_tag);
        if (m && c->want >= 0 && c->want == m->named)
            c->told = 1;
    }
}

static void cb_run_go(void *ud, uint64_t now, cr_run_id run)
{
    ck_world *w = ud;
    (void)now;
    w->obs.callbacks++;
    logf_(w, "    run_go run=%" PRIu64 "\n", run);
    ck_run *r = run_by_id(w, run);
    if (!r) {
        harness(w, "run_go for unknown run %" PRIu64, run);
        return;
    }
    if (r->st != R_WAIT)
        violate(w, SIM_CHECK_V_CORE_ERROR, "run_go called twice for run %" PRIu64, run);
    r->st = R_GO;
    if (w->obs.ngo < MAXOBS)
        w->obs.go[w->obs.ngo++] = run;
}

static void cb_close(void *ud, uint64_t now, cr_conn_id conn, cr_close_reason reason)
{
    ck_world *w = ud;
    (void)now;
    w->obs.callbacks++;
    logf_(w, "    close conn=%" PRIu64 " (%s)\n", conn, cr_close_reason_name(reason));
    /* Timers run in (deadline, arming order) order (cr_ctx_handle_expiry):
     * every pending deadline is armed at cr_conn_open with the same delay,
     * and ids follow the opening order, so the connections the deadline
     * closes in one call are closed in id order. */
    if (reason == CR_CLOSE_PENDING_TIMEOUT) {
        if (conn < w->obs.last_pending_close)
            violate(w, SIM_CHECK_V_CORE_ERROR,
                    "timers out of order: the pending deadline closed conn %" PRIu64
                    " after conn %" PRIu64 ", which was opened later",
                    conn, w->obs.last_pending_close);
        w->obs.last_pending_close = conn;
    }
}

static void cb_report(void *ud, uint64_t now, const cr_report *r)
{
    ck_world *w = ud;
    (void)now;
    w->obs.callbacks++;
    if (r->kind == CR_REPORT_OUTCOME)
        logf_(w, "    report outcome=%s run=%" PRIu64 " %s/%s seq=%" PRIu64 " conn=%" PRIu64 "\n",
              cr_outcome_name(r->outcome), r->run, r->user ? r->user : "-",
              r->thread ? r->thread : "-", r->seq, r->conn);
    else
        logf_(w, "    report %s %s conn=%" PRIu64 " seq=%" PRIu64 " tag=%" PRIu64 ": %s\n",
              r->kind == CR_REPORT_ERROR ? "error" : "info", r->error ? cr_errname(r->error) : "",
              r->conn, r->seq, r->tag, r->message);
    /* The fields each report kind carries (ctxready.h, cr_report): only
     * outcome reports are about an event's run; errors carry a CR_E* code. */
    if ((r->kind == CR_REPORT_OUTCOME && (!r->run || r->outcome >= CR_OUTCOME_COUNT)) ||
        (r->kind != CR_REPORT_OUTCOME && (r->run || r->outcome != CR_OUTCOME_COUNT)) ||
        (r->kind == CR_REPORT_ERROR && r->error >= 0) || (r->kind == CR_REPORT_INFO && r->error) ||
        (r->kind != CR_REPORT_OUTCOME && r->tag && r->seq) || !r->message)
        violate(w, SIM_CHECK_V_CORE_ERROR,
                "malformed report: kind %d, error %d, outcome %d, run %" PRIu64 ", seq %" PRIu64
                ", tag %" PRIu64,
                (int)r->kind, r->error, (int)r->outcome, r->run, r->seq, r->tag);
    if (r->kind == CR_REPORT_OUTCOME) {
        if (w->obs.nrep < MAXOBS) {
            w->obs.rep[w->obs.nrep].run = r->run;
            w->obs.rep[w->obs.nrep].seq = r->seq;
            w->obs.rep[w->obs.nrep].o = r->outcome;
            w->obs.nrep++;
        }
        ck_event *e =
            r->seq ? event_find(w, user_idx(w, r->user), thread_idx(w, r->thread), r->seq) : NULL;
        if (e && e->st == EV_PENDING && r->outcome == CR_OUTCOME_EXPIRED)
            e->st = EV_EXPIRED;
        if (e && e->st == EV_PENDING && r->outcome == CR_OUTCOME_FALLBACK)
            e->st = EV_FALLBACK;
    } else if (r->kind == CR_REPORT_INFO && r->seq && r->conn) {
        if (w->obs.ngap < MAXOBS) {
            w->obs.gap[w->obs.ngap].conn = r->conn;
            w->obs.gap[w->obs.ngap].seq = r->seq;
            w->obs.ngap++;
        }
    } else if (r->kind == CR_REPORT_ERROR && r->error == CR_ESTATE && !r->tag && r->conn &&
               r->conn <= (cr_conn_id)MAXC && r->thread) {
        /* The association of r->conn to r->thread gave up (retries
         * exhausted): what waited on it must be rejected in this call. */
        w->obs.gaveup_conn = (int8_t)r->conn;
        w->obs.gaveup_t = (int8_t)thread_idx(w, r->thread);
    } else if (r->kind == CR_REPORT_ERROR && r->tag) {
        reject_seen(w, r->tag, r->conn, "an error report");
    }
}

static const cr_callbacks callbacks = {cb_deliver, cb_dispatch, cb_associate, cb_notify,
                                       cb_run_go,  cb_close,    cb_report};

/* ------------------------------------------------------------------------ */
/* World                                                                    */

static int world_init(ck_world *w, const sim_check_opts *o, size_t arena_cap, FILE *log)
{
    memset(w, 0, sizeof *w);
    w->o = o;
    w->log = log;
    w->ar = malloc(sizeof(arena) + arena_cap);
    w->fpcap = 1 << 16;
    w->fp = malloc(w->fpcap);
    if (!w->ar || !w->fp) {
        free(w->ar);
        free(w->fp);
        return -1;
    }
    w->ar->cap = arena_cap;
    /* The oracle's promises do not move with the knobs that are the faults:
     * exec_grace 0 is the legacy "validate once" (F2), so the grace owed is
     * the fixed profile's then; event_ttl 0 means no age limit. */
    cr_policy fixed;
    cr_policy_init(&fixed, CR_PROFILE_FIXED);
    w->grace_spec = o->policy.exec_grace ? o->policy.exec_grace : fixed.exec_grace;
    w->ttl_spec = o->policy.event_ttl;
    return 0;
}

static void world_free(ck_world *w)
{
    free(w->ar);
    free(w->fp);
}

/* world_fresh makes a new context in the (reset) arena: every user owns
 * threads t1..tT, and "eve" owns "x", the foreign probe. */
static int world_fresh(ck_world *w)
{
    w->ar->used = 0;
    memset(w->ar->free_head, 0, sizeof w->ar->free_head);
    memset(&w->m, 0, sizeof w->m);
    for (int u = 0; u < MAXU; u++)
        for (int t = 0; t < MAXT; t++)
            w->m.est_at[u][t] = NEVER;
    w->viol = 0;
    w->harness = 0;
    cr_allocator al = {ar_malloc, ar_realloc, ar_free, w->ar};
    int rc = cr_ctx_new(&w->ctx, &w->o->policy, &callbacks, &al, w);
    if (rc != 0) {
        violate(w, SIM_CHECK_V_CORE_ERROR, "cr_ctx_new returned %s on the policy", cr_errname(rc));
        return -1;
    }
    for (int u = 0; u < w->o->users; u++)
        for (int t = 0; t < w->o->threads; t++)
            if (cr_thread_add(w->ctx, 0, user_name(u), thread_name(t)) != 0) {
                harness(w, "cr_thread_add failed");
                return -1;
            }
    if (cr_thread_add(w->ctx, 0, "eve", "x") != 0) {
        harness(w, "cr_thread_add failed");
        return -1;
    }
    return 0;
}

/* A saved state: the arena bytes and the model. */
typedef struct snapshot {
    unsigned char *bytes;
    size_t len, cap;
    ck_model m;
    cr_ctx *ctx;
} snapshot;

static int snap_save(const ck_world *w, snapshot *s)
{
    size_t n = ar_bytes(w->ar);
    if (n > s->cap) {
        unsigned char *b = realloc(s->bytes, n);
        if (!b)
            return -1;
        s->bytes = b;
        s->cap = n;
    }
    memcpy(s->bytes, w->ar, n);
    s->len = n;
    s->m = w->m;
    s->ctx = w->ctx;
    return 0;
}

static void snap_restore(ck_world *w, const snapshot *s)
{
    memcpy(w->ar, s->bytes, s->len);
    w->m = s->m;
    w->ctx = s->ctx;
}

/* ------------------------------------------------------------------------ */
/* Inputs                                                                   */

/* enabled lists the inputs possible in the current state, in a fixed
 * order.  Users and threads are interchangeable until first used, so only
 * the first unused one is offered (symmetry reduction).  Returns n. */
static size_t enabled(const ck_world *w, sim_check_input *out, size_t cap)
{
    const ck_model *m = &w->m;
    const sim_check_opts *o = w->o;
    size_t n = 0;
#define ADD(k, A, B)                                                                               \
    do {                                                                                           \
        if (n < cap) {                                                                             \
            out[n].kind = (uint8_t)(k);                                                            \
            out[n].a = (uint32_t)(A);                                                              \
            out[n].b = (uint8_t)(B);                                                               \
            out[n].pad = 0;                                                                        \
        }                                                                                          \
        n++;                                                                                       \
    } while (0)
    int users = m->nusers < o->users ? m->nusers + 1 : o->users;
    int threads = m->nthreads < o->threads ? m->nthreads + 1 : o->threads;
    if (m->nconns < o->conns)
        ADD(SIM_CHECK_OPEN, 0, 0);
    for (int c = 1; c <= m->nconns; c++) {
        if (!m->c[c].open)
            continue;
        if (m->c[c].user < 0)
            for (int u = 1; u <= users; u++)
                ADD(SIM_CHECK_AUTH, c, u);
        ADD(SIM_CHECK_MSG, c, SIM_CHECK_NONE);
        for (int t = 1; t <= threads; t++)
            ADD(SIM_CHECK_MSG, c, t);
        ADD(SIM_CHECK_MSG, c, SIM_CHECK_FOREIGN);
        if (m->c[c].user >= 0)
            for (int t = 1; t <= threads; t++)
                ADD(SIM_CHECK_SWITCH, c, t);
        ADD(SIM_CHECK_CLOSE, c, 0);
    }
    for (int i = 0; i < m->nreq; i++)
        if (!m->q[i].answered) {
            ADD(SIM_CHECK_OK, m->q[i].id, 0);
            ADD(SIM_CHECK_FAIL, m->q[i].id, 0);
        }
    for (int i = 0; i < m->nmsg; i++)
        if (m->m[i].fate == M_DISPATCHED)
            ADD(SIM_CHECK_START, m->m[i].id, 0);
    for (int u = 1; u <= users; u++)
        for (int t = 1; t <= threads; t++)
            ADD(SIM_CHECK_POST, u, t);
    for (int i = 0; i < m->nrun; i++) {
        if (m->r[i].st == R_GO)
            ADD(SIM_CHECK_EMIT, m->r[i].id, 0);
        if (m->r[i].st != R_ENDED)
            ADD(SIM_CHECK_END, m->r[i].id, 0);
    }
    if (cr_ctx_get_expiry(w->ctx) != NEVER)
        ADD(SIM_CHECK_WAIT, 0, 0);
#undef ADD
    return n;
}

static void core_rc(ck_world *w, const char *call, int rc)
{
    if (rc != 0)
        violate(w, SIM_CHECK_V_CORE_ERROR, "%s returned %s (%s)", call, cr_errname(rc),
                cr_strerror(rc));
}

static ck_run *new_run(ck_world *w, int u, int t, int from_msg)
{
    if (w->m.nrun == MAXOBJ) {
        harness(w, "more than %d runs", MAXOBJ);
        return NULL;
    }
    ck_run *r = &w->m.r[w->m.nrun++];
    memset(r, 0, sizeof *r);
    r->id = (uint64_t)w->m.nrun; /* the core numbers runs 1, 2, ... */
    r->started = w->m.now;
    r->u = (int8_t)u;
    r->t = (int8_t)t;
    r->lost = -1;
    r->from_msg = (uint8_t)from_msg;
    return r;
}

static int has_report(const ck_world *w, uint64_t run, uint64_t seq)
{
    for (int i = 0; i < w->obs.nrep; i++)
        if (w->obs.rep[i].run == run && w->obs.rep[i].seq == seq)
            return 1;
    return 0;
}

/* emit_checks judges one cr_run_emit from its results and the step's
 * callbacks: every event has one outcome the host can see; an event of a
 * run with its thread context reaches every READY viewer, or is kept. */
static void emit_checks(ck_world *w, ck_run *r, int rc, uint64_t seq, cr_outcome o)
{
    if (rc != 0 && rc != CR_EFULL) {
        core_rc(w, "cr_run_emit", rc);
        return;
    }
    int live = 0;
    for (int i = 0; i < w->obs.ndel; i++)
        if (w->obs.del[i].run == r->id && !(w->obs.del[i].flags & CR_EVENT_NOTIFICATION))
            live++;
    const char *ut = r->u >= 0 ? user_name(r->u) : "-";
    const char *tt = r->t >= 0 ? thread_name(r->t) : "-";
    if (seq && (seq > 64 || r->u < 0 || r->t < 0 || r->t >= MAXT)) {
        harness(w, "event seq %" PRIu64 " outside the model", seq);
        return;
    }
    int kind = 0;
    if (o == CR_OUTCOME_COUNT) {
        if (!seq) {
            violate(w, SIM_CHECK_V_CORE_ERROR, "run %" PRIu64 ": event buffered without a stream",
                    r->id);
            return;
        }
        kind = EV_PENDING;
    } else if (o == CR_OUTCOME_DELIVERED) {
        if (!live) {
            violate(w, SIM_CHECK_V_SILENT_LOSS,
                    "event of run %" PRIu64 " on %s/%s (seq %" PRIu64
                    ") reached no connection, yet cr_run_emit says delivered and nothing "
                    "was reported",
                    r->id, ut, tt, seq);
            return;
        }
        kind = EV_LIVE;
    } else if (o == CR_OUTCOME_DROPPED_FULL) {
        kind = EV_DROPPED;
    } else {
        if (!has_report(w, r->id, seq)) {
            violate(w, SIM_CHECK_V_SILENT_LOSS,
                    "event of run %" PRIu64 " on %s/%s (seq %" PRIu64
                    ") is %s and was not reported",
                    r->id, ut, tt, seq, cr_outcome_name(o));
            return;
        }
        if (seq) {
            violate(w, SIM_CHECK_V_UNKEPT,
                    "event %s/%s seq %" PRIu64 " of run %" PRIu64
                    " (which has its thread context) reached no connection and was not kept "
                    "for the next binding: %s",
                    ut, tt, seq, r->id, cr_outcome_name(o));
            return;
        }
        r->lost = 1;
        return;
    }
    if (seq) {
        for (int c = 1; c <= w->m.nconns; c++) {
            const ck_conn *cc = &w->m.c[c];
            if (!cc->open || cc->state != CR_CONN_READY || cc->user != r->u || cc->bound != r->t)
                continue;
            int got = 0;
            for (int i = 0; i < w->obs.ndel; i++)
                if (w->obs.del[i].conn == (cr_conn_id)c && w->obs.del[i].seq == seq &&
                    w->obs.del[i].t == r->t && !(w->obs.del[i].flags & CR_EVENT_NOTIFICATION))
                    got = 1;
            if (!got) {
                violate(w, SIM_CHECK_V_MISSED,
                        "event %s/%s seq %" PRIu64 " not delivered to conn %d, READY on %s/%s", ut,
                        tt, seq, c, ut, tt);
                return;
            }
        }
        if (w->m.nev == MAXOBJ) {
            harness(w, "more than %d events", MAXOBJ);
            return;
        }
        ck_event *e = &w->m.e[w->m.nev++];
        memset(e, 0, sizeof *e);
        e->u = r->u;
        e->t = r->t;
        e->seq = (uint32_t)seq;
        e->st = (uint8_t)kind;
        e->at = w->m.now;
    } else if (kind == EV_PENDING || kind == EV_LIVE) {
        violate(w, SIM_CHECK_V_CORE_ERROR, "run %" PRIu64 ": event routed without a seq", r->id);
    }
}

/* Gauges that tell whether waiting changed anything. */
static void gauges(const cr_ctx *ctx, uint64_t g[10])
{
    cr_stats st;
    cr_ctx_get_stats(ctx, &st);
    g[0] = st.events_buffered_now;
    g[1] = st.buffer_events_now;
    g[2] = st.buffer_bytes_now;
    g[3] = st.messages_queued_now;
    g[4] = st.messages_preauth_now;
    for (int i = 0; i < 4; i++)
        g[5 + i] = st.conns_by_state[i];
    g[9] = st.runs_context_lost;
}

static uint64_t last_seq_of(const ck_world *w, int c, int t)
{
    return t >= 0 && t < MAXT ? top_seq(w->m.c[c].rcv[t]) : 0;
}

/* do_input applies one input (assumed enabled). */
static void do_input(ck_world *w, const sim_check_input *in)
{
    ck_model *m = &w->m;
    cr_ctx *ctx = w->ctx;
    uint64_t now = m->now;
    int rc;
    switch ((sim_check_kind)in->kind) {
    case SIM_CHECK_OPEN: {
        cr_conn_id id = 0;
        rc = cr_conn_open(ctx, now, &id);
        core_rc(w, "cr_conn_open", rc);
        if (rc == 0) {
            if (id != (cr_conn_id)m->nconns + 1 || id > (cr_conn_id)MAXC) {
                harness(w, "cr_conn_open gave id %" PRIu64, id);
                return;
            }
            m->nconns++;
            ck_conn *c = &m->c[id];
            memset(c, 0, sizeof *c);
            c->used = c->open = 1;
            c->user = c->want = c->bound = c->switch_owed = -1;
            c->state = CR_CONN_OPEN;
        }
        logf_(w, "    -> conn %" PRIu64 "\n", id);
        break;
    }
    case SIM_CHECK_AUTH: {
        int u = in->b - 1;
        rc = cr_conn_authenticate(ctx, now, in->a, user_name(u));
        core_rc(w, "cr_conn_authenticate", rc);
        m->c[in->a].user = (int8_t)u;
        if (u + 1 > m->nusers)
            m->nusers = u + 1;
        break;
    }
    case SIM_CHECK_MSG: {
        if (m->nmsg == MAXOBJ) {
            harness(w, "more than %d messages", MAXOBJ);
            return;
        }
        int t = in->b == SIM_CHECK_NONE ? -1 : in->b == SIM_CHECK_FOREIGN ? T_FOREIGN : in->b - 1;
        if (t >= 0 && t < MAXT && t + 1 > m->nthreads)
            m->nthreads = t + 1;
        ck_msg *mm = &m->m[m->nmsg++];
        memset(mm, 0, sizeof *mm);
        mm->conn = (int8_t)in->a;
        mm->named = (int8_t)t;
        mm->du = mm->dt = -1;
        cr_message msg = {t < 0 ? NULL : thread_name(t), last_seq_of(w, in->a, t),
                          (uint64_t)m->nmsg, "p", 1};
        uint64_t id = 0;
        rc = cr_conn_message(ctx, now, in->a, &msg, &id);
        if (rc == CR_EFOREIGN || rc == CR_EFULL) {
            mm->fate = M_REJECTED;
            logf_(w, "    -> refused: %s\n", cr_errname(rc));
        } else {
            core_rc(w, "cr_conn_message", rc);
            mm->id = id;
            logf_(w, "    -> msg %" PRIu64 "\n", id);
        }
        break;
    }
    case SIM_CHECK_SWITCH: {
        int t = in->b - 1;
        if (t + 1 > m->nthreads)
            m->nthreads = t + 1;
        m->c[in->a].switch_owed = (int8_t)t; /* before: the notice may come at once */
        rc = cr_conn_switch(ctx, now, in->a, thread_name(t), last_seq_of(w, in->a, t));
        core_rc(w, "cr_conn_switch", rc);
        break;
    }
    case SIM_CHECK_OK:
    case SIM_CHECK_FAIL: {
        int ok = in->kind == SIM_CHECK_OK;
        for (int i = 0; i < m->nreq; i++) {
            ck_req *q = &m->q[i];
            if (q->id != in->a || q->answered)
                continue;
            q->answered = 1;
            const ck_conn *c = &m->c[q->conn];
            if (ok && c->open && c->user >= 0)
                m->est_ok[c->user][q->t] = 1;
        }
        rc = cr_assoc_complete(ctx, now, in->a, ok);
        core_rc(w, "cr_assoc_complete", rc);
        break;
    }
    case SIM_CHECK_START: {
        ck_msg *mm = NULL;
        for (int i = 0; i < m->nmsg; i++)
            if (m->m[i].fate == M_DISPATCHED && m->m[i].id == in->a)
                mm = &m->m[i];
        if (!mm) {
            harness(w, "no dispatched message %u", in->a);
            return;
        }
        mm->fate = M_STARTED;
        ck_run *r = new_run(w, mm->du, mm->dt, 1);
        if (!r)
            return;
        cr_run_id id = 0;
        rc = cr_run_start(ctx, now, in->a, &id);
        core_rc(w, "cr_run_start", rc);
        if (rc == 0 && id != r->id)
            harness(w, "cr_run_start gave run %" PRIu64 ", expected %" PRIu64, id, r->id);
        logf_(w, "    -> run %" PRIu64 "\n", id);
        break;
    }
    case SIM_CHECK_POST: {
        int u = in->a - 1, t = in->b - 1;
        if (u + 1 > m->nusers)
            m->nusers = u + 1;
        if (t + 1 > m->nthreads)
            m->nthreads = t + 1;
        ck_run *r = new_run(w, u, t, 0);
        if (!r)
            return;
        cr_run_id id = 0;
        rc = cr_run_start_for(ctx, now, user_name(u), thread_name(t), &id);
        core_rc(w, "cr_run_start_for", rc);
        if (rc == 0 && id != r->id)
            harness(w, "cr_run_start_for gave run %" PRIu64 ", expected %" PRIu64, id, r->id);
        logf_(w, "    -> run %" PRIu64 "\n", id);
        break;
    }
    case SIM_CHECK_EMIT: {
        ck_run *r = run_by_id(w, in->a);
        cr_event_in ev = {0, in->a, "e", 1};
        uint64_t seq = 0;
        cr_outcome o = CR_OUTCOME_COUNT;
        rc = cr_run_emit(ctx, now, in->a, &ev, &seq, &o);
        logf_(w, "    -> seq %" PRIu64 ", %s%s%s\n", seq,
              o == CR_OUTCOME_COUNT ? "buffered" : cr_outcome_name(o), rc ? ", " : "",
              rc ? cr_errname(rc) : "");
        emit_checks(w, r, rc, seq, o);
        break;
    }
    case SIM_CHECK_END: {
        ck_run *r = run_by_id(w, in->a);
        r->st = R_ENDED;
        rc = cr_run_end(ctx, now, in->a);
        core_rc(w, "cr_run_end", rc);
        break;
    }
    case SIM_CHECK_CLOSE:
        rc = cr_conn_close(ctx, now, in->a, CR_CLOSE_CLIENT);
        core_rc(w, "cr_conn_close", rc);
        m->c[in->a].open = 0;
        break;
    case SIM_CHECK_WAIT: {
        uint64_t t = cr_ctx_get_expiry(ctx), g0[10], g1[10];
        gauges(ctx, g0);
        for (int i = 0; t != NEVER; i++) {
            if (i == WAIT_MAX) {
                violate(w, SIM_CHECK_V_CORE_ERROR, "timers keep firing with no effect (livelock)");
                break;
            }
            m->now = t;
            rc = cr_ctx_handle_expiry(ctx, t);
            core_rc(w, "cr_ctx_handle_expiry", rc);
            gauges(ctx, g1);
            if (rc || w->obs.callbacks || memcmp(g0, g1, sizeof g0))
                break;
            t = cr_ctx_get_expiry(ctx);
        }
        logf_(w, "    -> now %" PRIu64 " ms\n", m->now / CR_NS_PER_MS);
        break;
    }
    default:
        harness(w, "unknown input kind %d", in->kind);
    }
}

/* ------------------------------------------------------------------------ */
/* After every step                                                         */

static int gap_reported(const ck_world *w, cr_conn_id c, uint64_t seq)
{
    for (int i = 0; i < w->obs.ngap; i++)
        if (w->obs.gap[i].conn == c && w->obs.gap[i].seq == seq)
            return 1;
    return 0;
}

/* A binding of conn c to (u, t) landed in this step: every event of (u, t)
 * after the last seq c had received, younger than event_ttl, that was not
 * dropped at emission (dropped_full), did not expire (reported) and is not
 * covered by a replay-gap report, is owed to c now. */
static void owed_at_binding(ck_world *w, int c, int u, int t)
{
    uint64_t last = top_seq(w->before[c].rcv[t]);
    for (int i = 0; i < w->m.nev; i++) {
        const ck_event *e = &w->m.e[i];
        if (e->u != u || e->t != t || e->seq <= last)
            continue;
        if (e->st == EV_DROPPED || e->st == EV_EXPIRED || e->st == EV_FALLBACK)
            continue;
        if (w->ttl_spec && e->at + w->ttl_spec <= w->m.now)
            continue;
        if (gap_reported(w, (cr_conn_id)c, e->seq))
            continue;
        if (!(w->m.c[c].rcv[t] & (UINT64_C(1) << (e->seq - 1)))) {
            violate(w, SIM_CHECK_V_LOST,
                    "conn %d bound to %s/%s after seq %" PRIu64 ": event seq %u (%s) is owed and "
                    "was not replayed, nor reported as a replay gap",
                    c, user_name(u), thread_name(t), last, e->seq,
                    e->st == EV_LIVE ? "delivered live before" : "never delivered");
            return;
        }
    }
}

static void after_step(ck_world *w)
{
    ck_model *m = &w->m;
    cr_stats st;
    cr_ctx_get_stats(w->ctx, &st);
    sim_invariant_scope scope = {.streams = (uint64_t)(w->o->users * w->o->threads + 1),
                                 .conns = (uint64_t)m->nconns};
    char why[400];
    if (sim_invariant_check_all(w->ctx, &scope, why, sizeof why) != 0)
        violate(w, SIM_CHECK_V_INVARIANT, "%s", why);

    /* Retries exhausted: the messages of that connection that named that
     * thread are rejected in the same call (cr_assoc_complete), never kept
     * waiting on an association nobody will make. */
    if (w->obs.gaveup_conn)
        for (int i = 0; i < m->nmsg; i++)
            if (m->m[i].conn == w->obs.gaveup_conn && m->m[i].named == w->obs.gaveup_t &&
                m->m[i].fate == M_WAIT) {
                violate(w, SIM_CHECK_V_STUCK,
                        "conn %d gave up its association to %s but message %d, which named it, "
                        "is neither dispatched nor rejected",
                        w->obs.gaveup_conn, thread_name(w->obs.gaveup_t), i + 1);
                break;
            }

    /* Which runs that went in this step lost their context. */
    uint64_t dl = st.runs_context_lost - m->prev_lost;
    m->prev_lost = st.runs_context_lost;
    if (dl == 0 || dl == (uint64_t)w->obs.ngo)
        for (int i = 0; i < w->obs.ngo; i++) {
            ck_run *r = run_by_id(w, w->obs.go[i]);
            if (r)
                r->lost = dl ? 1 : 0;
        }

    /* Connections: closes, bindings. */
    for (int c = 1; c <= m->nconns; c++) {
        ck_conn *cc = &m->c[c];
        cr_conn_info in;
        if (get_info(w, (cr_conn_id)c, &in) != 0)
            return;
        cc->state = (uint8_t)in.state;
        if (in.state == CR_CONN_CLOSED) {
            cc->open = 0;
            cc->bound = -1;
            continue;
        }
        if (in.state != CR_CONN_READY)
            continue;
        int t = thread_idx(w, in.thread);
        if (t < 0 || t >= MAXT || cc->user < 0) {
            violate(w, SIM_CHECK_V_MISROUTE, "conn %d bound to %s", c, in.thread);
            continue;
        }
        if (in.generation != cc->gen) {
            cc->gen = in.generation;
            cc->bound = (int8_t)t;
            cc->bound_at = m->now;
            if (m->est_at[cc->user][t] == NEVER)
                m->est_at[cc->user][t] = m->now;
            owed_at_binding(w, c, cc->user, t);
        }
    }

    /* Buffered events that left without an outcome the host saw. */
    uint64_t pending = 0;
    for (int i = 0; i < m->nev; i++)
        pending += m->e[i].st == EV_PENDING;
    if (pending > st.events_buffered_now)
        violate(w, SIM_CHECK_V_SILENT_LOSS,
                "%" PRIu64 " buffered event(s) left the buffer with no delivery and no report "
                "(the core holds %" PRIu64 " of the %" PRIu64 " it buffered)",
                pending - st.events_buffered_now, st.events_buffered_now, pending);
    else if (pending < st.events_buffered_now)
        violate(w, SIM_CHECK_V_INVARIANT,
                "the core holds %" PRIu64 " undelivered events, the host was told of %" PRIu64,
                st.events_buffered_now, pending);

    /* A run that went without its context although its thread's binding
     * landed within the grace. */
    for (int i = 0; i < m->nrun; i++) {
        const ck_run *r = &m->r[i];
        if (r->lost != 1 || r->u < 0 || r->t < 0 || r->t >= MAXT)
            continue;
        uint64_t est = m->est_at[r->u][r->t];
        if (est != NEVER && est < r->started + w->grace_spec)
            violate(w, SIM_CHECK_V_CONTEXT_LOST,
                    "run %" PRIu64 " on %s/%s lost its thread context although a binding of "
                    "that thread landed %s its start (grace %" PRIu64 " ms)",
                    r->id, user_name(r->u), thread_name(r->t),
                    est < r->started ? "before" : "within the grace of",
                    w->grace_spec / CR_NS_PER_MS);
    }

    /* Quiescence: every association answered, every timer run. */
    int quiet = cr_ctx_get_expiry(w->ctx) == NEVER;
    for (int i = 0; quiet && i < m->nreq; i++)
        quiet = m->q[i].answered;
    if (!quiet)
        return;
    for (int i = 0; i < m->nmsg; i++)
        if (m->m[i].fate == M_WAIT) {
            violate(w, SIM_CHECK_V_STUCK,
                    "at quiescence message %d of conn %d (naming %s) is neither dispatched nor "
                    "rejected",
                    i + 1, m->m[i].conn,
                    m->m[i].named < 0 ? "no thread" : thread_name(m->m[i].named));
            return;
        }
    for (int i = 0; i < m->nrun; i++)
        if (m->r[i].st == R_WAIT) {
            violate(w, SIM_CHECK_V_STUCK,
                    "at quiescence run %" PRIu64 " was started and never got run_go", m->r[i].id);
            return;
        }
    if (st.events_buffered_now) {
        violate(w, SIM_CHECK_V_STRANDED, "at quiescence %" PRIu64 " events are still buffered",
                st.events_buffered_now);
        return;
    }
    for (int c = 1; c <= m->nconns; c++) {
        const ck_conn *cc = &m->c[c];
        if (cc->open && cc->switch_owed >= 0) {
            violate(w, SIM_CHECK_V_UNANSWERED,
                    "at quiescence conn %d switched to %s and got neither THREAD_SWITCHED nor "
                    "SWITCH_FAILED",
                    c, thread_name(cc->switch_owed));
            return;
        }
        if (cc->open && cc->want >= 0 && cc->want < MAXT && cc->bound != cc->want && !cc->told) {
            violate(w, SIM_CHECK_V_UNANSWERED,
                    "at quiescence conn %d asked for %s, is bound to %s, and was never told the "
                    "request failed",
                    c, thread_name(cc->want), cc->bound < 0 ? "no thread" : thread_name(cc->bound));
            return;
        }
    }
}

/* step runs one input and its checks.  Returns 0, or -1 on a harness
 * failure (w->why). */
static int step(ck_world *w, const sim_check_input *in)
{
    memcpy(w->before, w->m.c, sizeof w->before);
    memset(&w->obs, 0, offsetof(ck_obs, del));
    w->obs.ndel = w->obs.nrep = w->obs.ngap = w->obs.ngo = 0;
    do_input(w, in);
    if (!w->harness)
        after_step(w);
    return w->harness ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Fingerprint                                                              */

static void fp_put(ck_world *w, const void *p, size_t n)
{
    if (w->fplen + n > w->fpcap) {
        size_t cap = w->fpcap * 2 + n;
        char *b = realloc(w->fp, cap);
        if (!b) {
            harness(w, "out of memory (fingerprint)");
            return;
        }
        w->fp = b;
        w->fpcap = cap;
    }
    memcpy(w->fp + w->fplen, p, n);
    w->fplen += n;
}

static void fp_u64(ck_world *w, uint64_t v)
{
    fp_put(w, &v, sizeof v);
}

/* Times relative to now; NEVER stays NEVER. */
static uint64_t rel(const ck_world *w, uint64_t t)
{
    return t == NEVER ? NEVER : w->m.now - t;
}

/* A dump line, with times made relative to now and generations reduced
 * to "bound once" (their values only name bindings). */
static int fp_dump_line(void *arg, const char *line, size_t len)
{
    ck_world *w = arg;
    if (strncmp(line, "conn=", 5) != 0) {
        fp_put(w, line, len);
        return 0;
    }
    const char *p = line, *end = line + len;
    while (p < end) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        const char *tok_end = sp ? sp : end;
        const char *eq = memchr(p, '=', (size_t)(tok_end - p));
        if (eq && isdigit((unsigned char)eq[1]) &&
            (!strncmp(p, "opened=", 7) || !strncmp(p, "ready=", 6) || !strncmp(p, "gen=", 4))) {
            uint64_t v = strtoull(eq + 1, NULL, 10);
            fp_put(w, p, (size_t)(eq + 1 - p));
            fp_u64(w, !strncmp(p, "gen=", 4) ? v > 0 : rel(w, v));
        } else {
            fp_put(w, p, (size_t)(tok_end - p));
        }
        fp_put(w, " ", 1);
        p = tok_end + (sp ? 1 : 0);
    }
    return 0;
}

static uint64_t fingerprint(ck_world *w)
{
    const ck_model *m = &w->m;
    w->fplen = 0;
    int hdr[3] = {m->nconns, m->nusers, m->nthreads};
    fp_put(w, hdr, sizeof hdr);
    for (int c = 1; c <= m->nconns; c++) {
        const ck_conn *cc = &m->c[c];
        int8_t b[8] = {
            (int8_t)cc->open, cc->user,          cc->want,        (int8_t)cc->told,
            cc->bound,        (int8_t)cc->state, cc->switch_owed, (int8_t)(cc->last_disp > 0)};
        fp_put(w, b, sizeof b);
        fp_u64(w, cc->state == CR_CONN_READY ? rel(w, cc->bound_at) : 0);
        fp_put(w, cc->rcv, sizeof cc->rcv);
    }
    for (int i = 0; i < m->nev; i++) {
        const ck_event *e = &m->e[i];
        uint64_t age = rel(w, e->at);
        if (w->ttl_spec && age >= w->ttl_spec)
            age = NEVER;
        int8_t b[3] = {e->u, e->t, (int8_t)e->st};
        fp_put(w, b, sizeof b);
        fp_u64(w, e->seq);
        fp_u64(w, age);
    }
    fp_put(w, "|m", 2);
    for (int i = 0; i < m->nmsg; i++) {
        const ck_msg *mm = &m->m[i];
        if (mm->fate != M_WAIT && mm->fate != M_DISPATCHED)
            continue;
        int8_t b[5] = {mm->conn, mm->named, (int8_t)mm->fate, mm->du, mm->dt};
        fp_put(w, b, sizeof b);
    }
    fp_put(w, "|r", 2);
    for (int i = 0; i < m->nrun; i++) {
        const ck_run *r = &m->r[i];
        if (r->st == R_ENDED &&
            !(r->lost == 1 && r->u >= 0 && r->t >= 0 && m->est_at[r->u][r->t] == NEVER))
            continue;
        int8_t b[5] = {r->u, r->t, (int8_t)r->st, r->lost, (int8_t)r->from_msg};
        fp_put(w, b, sizeof b);
        fp_u64(w, rel(w, r->started));
    }
    fp_put(w, "|q", 2);
    for (int i = 0; i < m->nreq; i++)
        if (!m->q[i].answered) {
            int8_t b[2] = {m->q[i].conn, m->q[i].t};
            fp_put(w, b, sizeof b);
        }
    fp_put(w, "|e", 2);
    for (int u = 0; u < w->o->users; u++)
        for (int t = 0; t < w->o->threads; t++) {
            fp_u64(w, rel(w, m->est_at[u][t]));
            fp_put(w, &m->est_ok[u][t], 1);
        }
    uint64_t g[10];
    gauges(w->ctx, g);
    fp_put(w, g, sizeof(uint64_t) * 9); /* not runs_context_lost: a counter */
    uint64_t x = cr_ctx_get_expiry(w->ctx);
    fp_u64(w, x == NEVER ? NEVER : x - m->now);
    fp_put(w, "|d", 2);
    if (cr_ctx_dump(w->ctx, fp_dump_line, w) != 0)
        harness(w, "cr_ctx_dump failed");
    return XXH3_64bits(w->fp, w->fplen);
}

/* ------------------------------------------------------------------------ */
/* Execution of an input sequence                                           */

static int input_in(const sim_check_input *in, const sim_check_input *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].kind == in->kind && v[i].a == in->a && v[i].b == in->b)
            return 1;
    return 0;
}

#define ARENA_CAP   (8u << 20)
#define MAX_ENABLED 256

static void set_result(ck_world *w, sim_check_result *r)
{
    r->violation = (sim_check_violation)w->viol;
    snprintf(r->reason, sizeof r->reason, "%s", w->why);
}

static int execute(const sim_check_opts *o, const sim_check_input *in, size_t n,
                   sim_check_result *r, FILE *log, uint64_t *fp)
{
    memset(r, 0, sizeof *r);
    if (n > SIM_CHECK_MAX_DEPTH) {
        snprintf(r->reason, sizeof r->reason, "more than %d steps", SIM_CHECK_MAX_DEPTH);
        return -1;
    }
    ck_world w;
    if (world_init(&w, o, ARENA_CAP, log) != 0) {
        snprintf(r->reason, sizeof r->reason, "out of memory");
        return -1;
    }
    int rc = world_fresh(&w) == 0 ? 0 : -1;
    if (rc && w.viol) {
        logf_(&w, "violation before step 1: %s: %s\n", sim_check_violation_name(w.viol), w.why);
        set_result(&w, r);
        rc = 0;
        n = 0;
    }
    sim_check_input en[MAX_ENABLED];
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t ne = enabled(&w, en, MAX_ENABLED);
        char buf[64];
        logf_(&w, "step %zu: %s\n", i + 1, sim_check_format_input(&in[i], buf, sizeof buf));
        r->nsteps = i + 1;
        r->steps[i] = in[i];
        if (!input_in(&in[i], en, ne < MAX_ENABLED ? ne : MAX_ENABLED)) {
            snprintf(r->reason, sizeof r->reason, "input '%s' is not possible at step %zu", buf,
                     i + 1);
            r->nsteps = i;
            rc = -2;
            break;
        }
        if (step(&w, &in[i]) != 0) {
            snprintf(r->reason, sizeof r->reason, "%s", w.why);
            rc = -1;
            break;
        }
        if (w.viol) {
            logf_(&w, "violation at step %zu: %s: %s\n", i + 1, sim_check_violation_name(w.viol),
                  w.why);
            set_result(&w, r);
            break;
        }
    }
    if (rc == -1 && !r->reason[0])
        snprintf(r->reason, sizeof r->reason, "%s", w.why);
    if (rc == 0 && fp)
        *fp = fingerprint(&w);
    world_free(&w);
    return rc;
}

int sim_check_execute(const sim_check_opts *o, const sim_check_input *in, size_t n,
                      sim_check_result *r, FILE *log)
{
    return execute(o, in, n, r, log, NULL);
}

int sim_check_fingerprint(const sim_check_opts *o, const sim_check_input *in, size_t n,
                          uint64_t *fp)
{
    sim_check_result *r = malloc(sizeof *r);
    if (!r)
        return -1;
    int rc = execute(o, in, n, r, NULL, fp);
    free(r);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Breadth-first search                                                     */

typedef struct node {
    int32_t parent;
    sim_check_input in;
} node;

typedef struct fpset {
    uint64_t *v; /* 0: empty (a fingerprint of 0 is stored as 1) */
    size_t cap, len;
} fpset;

/* fpset_add returns 1 if fp was new, 0 if seen, -1 on allocation failure. */
static int fpset_add(fpset *s, uint64_t fp)
{
    if (!fp)
        fp = 1;
    if ((s->len + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1 << 16;
        uint64_t *v = calloc(cap, sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i]) {
                size_t j = s->v[i] & (cap - 1);
                while (v[j])
                    j = (j + 1) & (cap - 1);
                v[j] = s->v[i];
            }
        free(s->v);
        s->v = v;
        s->cap = cap;
    }
    size_t j = fp & (s->cap - 1);
    while (s->v[j]) {
        if (s->v[j] == fp)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->v[j] = fp;
    s->len++;
    return 1;
}

int sim_check_run(const sim_check_opts *o, sim_check_result *r, FILE *progress)
{
    memset(r, 0, sizeof *r);
    ck_world w;
    if (world_init(&w, o, ARENA_CAP, NULL) != 0) {
        snprintf(r->reason, sizeof r->reason, "out of memory");
        return -1;
    }
    node *nodes = NULL;
    size_t nn = 0, ncap = 0;
    fpset seen = {NULL, 0, 0};
    snapshot snap = {NULL, 0, 0, {0}, NULL};
    int rc = 0;
    sim_check_input path[SIM_CHECK_MAX_DEPTH + 1], en[MAX_ENABLED];

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(r->reason, sizeof r->reason, __VA_ARGS__);                                        \
        rc = -1;                                                                                   \
        goto out;                                                                                  \
    } while (0)

    if (world_fresh(&w) != 0) {
        if (!w.viol)
            FAIL("%s", w.why);
        set_result(&w, r); /* the core refused to start: a violation at step 0 */
        goto out;
    }
    ncap = 1024;
    nodes = malloc(ncap * sizeof *nodes);
    if (!nodes || fpset_add(&seen, fingerprint(&w)) < 0)
        FAIL("out of memory");
    nodes[nn++] = (node){-1, {0, 0, 0, 0}};
    r->states = 1;
    r->complete = 1;
    size_t level_start = 0;
    for (int d = 0; d < o->depth; d++) {
        size_t level_end = nn;
        if (level_start == level_end)
            break;
        for (size_t i = level_start; i < level_end; i++) {
            /* Re-execute the path to node i from a fresh context. */
            int len = 0;
            for (int32_t k = (int32_t)i; k > 0; k = nodes[k].parent)
                path[len++] = nodes[k].in;
            if (world_fresh(&w) != 0)
                FAIL("%s", w.why);
            for (int k = len - 1; k >= 0; k--)
                if (step(&w, &path[k]) != 0 || w.viol)
                    FAIL("replay of a stored state diverged: %.400s", w.why);
            if (snap_save(&w, &snap) != 0)
                FAIL("out of memory");
            size_t ne = enabled(&w, en, MAX_ENABLED);
            if (ne > MAX_ENABLED)
                FAIL("more than %d inputs possible in one state", MAX_ENABLED);
            for (size_t j = 0; j < ne; j++) {
                snap_restore(&w, &snap);
                w.viol = 0;
                r->transitions++;
                if (step(&w, &en[j]) != 0)
                    FAIL("%s", w.why);
                if (w.viol) {
                    set_result(&w, r);
                    r->nsteps = (size_t)len + 1;
                    for (int k = 0; k < len; k++)
                        r->steps[k] = path[len - 1 - k];
                    r->steps[len] = en[j];
                    r->depth_reached = d + 1;
                    r->complete = 0;
                    goto out;
                }
                int added = fpset_add(&seen, fingerprint(&w));
                if (added < 0 || w.harness)
                    FAIL("%s", w.harness ? w.why : "out of memory");
                if (!added)
                    continue;
                r->states++;
                if (nn == ncap) {
                    ncap *= 2;
                    node *nv = realloc(nodes, ncap * sizeof *nv);
                    if (!nv)
                        FAIL("out of memory");
                    nodes = nv;
                }
                nodes[nn++] = (node){(int32_t)i, en[j]};
                if (r->states >= o->max_states) {
                    r->complete = 0;
                    r->depth_reached = d + 1;
                    goto out;
                }
            }
        }
        r->depth_reached = d + 1;
        if (progress)
            fprintf(progress, "  depth %d: %" PRIu64 " states, %" PRIu64 " transitions\n", d + 1,
                    r->states, r->transitions);
        level_start = level_end;
    }
out:
#undef FAIL
    free(nodes);
    free(seen.v);
    free(snap.bytes);
    world_free(&w);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Counterexample files                                                     */

static const char *thread_word(int b, char *buf, size_t len)
{
    if (b == SIM_CHECK_NONE)
        return "none";
    if (b == SIM_CHECK_FOREIGN)
        return "foreign";
    snprintf(buf, len, "t%d", b);
    return buf;
}

char *sim_check_format_input(const sim_check_input *in, char *buf, size_t len)
{
    char t[16];
    const char *word = in->kind < SIM_CHECK_KIND_COUNT ? input_words[in->kind] : "?";
    switch ((sim_check_kind)in->kind) {
    case SIM_CHECK_OPEN:
    case SIM_CHECK_WAIT:
        snprintf(buf, len, "%s", word);
        break;
    case SIM_CHECK_AUTH:
        snprintf(buf, len, "%s %u u%d", word, in->a, in->b);
        break;
    case SIM_CHECK_MSG:
    case SIM_CHECK_SWITCH:
        snprintf(buf, len, "%s %u %s", word, in->a, thread_word(in->b, t, sizeof t));
        break;
    case SIM_CHECK_POST:
        snprintf(buf, len, "%s u%u t%d", word, in->a, in->b);
        break;
    default:
        snprintf(buf, len, "%s %u", word, in->a);
        break;
    }
    return buf;
}

int sim_check_write(FILE *f, const sim_check_opts *o, const sim_check_result *r)
{
    fprintf(f,
            "# ctxsim check counterexample (docs/check.md); replay: ctxsim check --replay FILE\n");
    fprintf(f, "users %d\nconns %d\nthreads %d\n", o->users, o->conns, o->threads);
    fprintf(f, "profile %s\n", o->profile == CR_PROFILE_LEGACY ? "legacy" : "fixed");
    if (o->ablate)
        fprintf(f, "ablate %d\n", o->ablate);
    for (size_t i = 0; i < o->noverrides; i++)
        fprintf(f, "policy %s=%" PRIu64 "\n", o->overrides[i].name, o->overrides[i].value);
    if (r->violation)
        fprintf(f, "violation %s\n", sim_check_violation_name(r->violation));
    for (size_t i = 0; i < r->nsteps; i++) {
        char buf[64];
        fprintf(f, "step %s\n", sim_check_format_input(&r->steps[i], buf, sizeof buf));
    }
    return ferror(f) ? -1 : 0;
}

/* ---- parsing ---- */

typedef struct parser {
    const char *path;
    int line;
    const char *start; /* of the line */
    const char *p;
    char *err;
    size_t errlen;
} parser;

static int perr(parser *ps, const char *at, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(ps->err, ps->errlen, "%s:%d:%d: %s", ps->path, ps->line, (int)(at - ps->start) + 1,
             msg);
    return -1;
}

/* next_word returns the next blank-separated word of the line (NULL at the
 * end) and its length. */
static const char *next_word(parser *ps, size_t *n)
{
    while (*ps->p == ' ' || *ps->p == '\t')
        ps->p++;
    if (!*ps->p || *ps->p == '#') {
        *n = 0;
        return NULL;
    }
    const char *w = ps->p;
    while (*ps->p && *ps->p != ' ' && *ps->p != '\t' && *ps->p != '#')
        ps->p++;
    *n = (size_t)(ps->p - w);
    return w;
}

static int word_is(const char *w, size_t n, const char *s)
{
    return w && strlen(s) == n && !strncmp(w, s, n);
}

/* parse_num reads a decimal in [lo, hi] after `prefix` (may be ""). */
static int parse_num(parser *ps, const char *prefix, long lo, long hi, long *out, const char *what)
{
    size_t n;
    const char *w = next_word(ps, &n);
    if (!w)
        return perr(ps, ps->p, "expected %s", what);
    size_t pl = strlen(prefix);
    if (n <= pl || strncmp(w, prefix, pl))
        return perr(ps, w, "expected %s, got '%.*s'", what, (int)n, w);
    long v = 0;
    for (size_t i = pl; i < n; i++) {
        if (!isdigit((unsigned char)w[i]) || v > 100000000)
            return perr(ps, w, "expected %s, got '%.*s'", what, (int)n, w);
        v = v * 10 + (w[i] - '0');
    }
    if (v < lo || v > hi)
        return perr(ps, w, "%s %ld out of range %ld..%ld", what, v, lo, hi);
    *out = v;
    return 0;
}

static int parse_thread(parser *ps, int threads, int allow_special, uint8_t *out)
{
    size_t n;
    const char *w = next_word(ps, &n);
    if (allow_special && word_is(w, n, "none")) {
        *out = SIM_CHECK_NONE;
        return 0;
    }
    if (allow_special && word_is(w, n, "foreign")) {
        *out = SIM_CHECK_FOREIGN;
        return 0;
    }
    if (w) {
        ps->p = w; /* re-read as a number */
        long v;
        if (parse_num(ps, "t", 1, threads, &v, "a thread t1..tT") != 0)
            return -1;
        *out = (uint8_t)v;
        return 0;
    }
    return perr(ps, ps->p, "expected a thread (t1..t%d%s)", threads,
                allow_special ? ", none or foreign" : "");
}

static int parse_step(parser *ps, const sim_check_opts *o, sim_check_input *in)
{
    size_t n;
    const char *w = next_word(ps, &n);
    memset(in, 0, sizeof *in);
    int k = -1;
    for (int i = 0; w && i < SIM_CHECK_KIND_COUNT; i++)
        if (word_is(w, n, input_words[i]))
            k = i;
    if (k < 0)
        return perr(ps, w ? w : ps->p,
                    "unknown input '%.*s' (expected open, auth, msg, switch, "
                    "ok, fail, start, post, emit, end, close or wait)",
                    (int)n, w ? w : "");
    in->kind = (uint8_t)k;
    long v;
    switch ((sim_check_kind)k) {
    case SIM_CHECK_OPEN:
    case SIM_CHECK_WAIT:
        break;
    case SIM_CHECK_AUTH:
        if (parse_num(ps, "", 1, o->conns, &v, "a connection id") != 0)
            return -1;
        in->a = (uint32_t)v;
        if (parse_num(ps, "u", 1, o->users, &v, "a user u1..uN") != 0)
            return -1;
        in->b = (uint8_t)v;
        break;
    case SIM_CHECK_MSG:
    case SIM_CHECK_SWITCH:
        if (parse_num(ps, "", 1, o->conns, &v, "a connection id") != 0)
            return -1;
        in->a = (uint32_t)v;
        if (parse_thread(ps, o->threads, k == SIM_CHECK_MSG, &in->b) != 0)
            return -1;
        break;
    case SIM_CHECK_POST:
        if (parse_num(ps, "u", 1, o->users, &v, "a user u1..uN") != 0)
            return -1;
        in->a = (uint32_t)v;
        if (parse_thread(ps, o->threads, 0, &in->b) != 0)
            return -1;
        break;
    case SIM_CHECK_CLOSE:
        if (parse_num(ps, "", 1, o->conns, &v, "a connection id") != 0)
            return -1;
        in->a = (uint32_t)v;
        break;
    default:
        if (parse_num(ps, "", 1, 1000000, &v, "an id") != 0)
            return -1;
        in->a = (uint32_t)v;
        break;
    }
    w = next_word(ps, &n);
    if (w)
        return perr(ps, w, "unexpected '%.*s' after the input", (int)n, w);
    return 0;
}

int sim_check_parse(const char *path, sim_check_opts *o, sim_check_input *in, size_t *n,
                    int *expect, char *err, size_t errlen)
{
    sim_check_opts_init(o);
    *n = 0;
    *expect = SIM_CHECK_V_NONE;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    parser ps = {path, 0, NULL, NULL, err, errlen};
    char line[1024];
    int rc = 0, steps_seen = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        ps.line++;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\n')
            line[--l] = '\0';
        if (l && line[l - 1] == '\r')
            line[--l] = '\0';
        ps.start = ps.p = line;
        size_t wn;
        const char *w = next_word(&ps, &wn);
        if (!w)
            continue;
        size_t kn = wn; /* the keyword's length */
        long v;
        int is_bound =
            word_is(w, wn, "users") || word_is(w, wn, "conns") || word_is(w, wn, "threads");
        if (is_bound && steps_seen) {
            rc = perr(&ps, w, "'%.*s' must come before the first step", (int)wn, w);
        } else if (word_is(w, wn, "users")) {
            rc = parse_num(&ps, "", 1, SIM_CHECK_MAX_USERS, &v, "a user count");
            o->users = (int)v;
        } else if (word_is(w, wn, "conns")) {
            rc = parse_num(&ps, "", 1, SIM_CHECK_MAX_CONNS, &v, "a connection count");
            o->conns = (int)v;
        } else if (word_is(w, wn, "threads")) {
            rc = parse_num(&ps, "", 1, SIM_CHECK_MAX_THREADS, &v, "a thread count");
            o->threads = (int)v;
        } else if (word_is(w, wn, "profile")) {
            const char *pw = next_word(&ps, &wn);
            if (word_is(pw, wn, "fixed"))
                o->profile = CR_PROFILE_FIXED;
            else if (word_is(pw, wn, "legacy"))
                o->profile = CR_PROFILE_LEGACY;
            else
                rc = perr(&ps, pw ? pw : ps.p, "expected fixed or legacy");
        } else if (word_is(w, wn, "ablate")) {
            rc = parse_num(&ps, "", 1, 9, &v, "a fix number");
            o->ablate = (int)v;
        } else if (word_is(w, wn, "policy")) {
            const char *pw = next_word(&ps, &wn);
            const char *eq = pw ? memchr(pw, '=', wn) : NULL;
            if (!eq || eq == pw || (size_t)(eq - pw) >= sizeof o->overrides[0].name ||
                o->noverrides == sizeof o->overrides / sizeof o->overrides[0]) {
                rc = perr(&ps, pw ? pw : ps.p, "expected knob=value");
            } else {
                size_t nl = (size_t)(eq - pw);
                char name[64];
                memcpy(name, pw, nl);
                name[nl] = '\0';
                uint64_t dummy;
                cr_policy pol;
                cr_policy_init(&pol, CR_PROFILE_FIXED);
                char *end;
                errno = 0;
                unsigned long long x = strtoull(eq + 1, &end, 10);
                if (cr_policy_get(&pol, name, &dummy) != 0)
                    rc = perr(&ps, pw, "unknown knob '%s'", name);
                else if (!isdigit((unsigned char)eq[1]) || errno || end != pw + wn)
                    rc = perr(&ps, eq + 1, "expected a non-negative integer");
                else {
                    memcpy(o->overrides[o->noverrides].name, name, nl + 1);
                    o->overrides[o->noverrides++].value = x;
                }
                if (rc == 0 && next_word(&ps, &wn))
                    rc = perr(&ps, ps.p - wn, "unexpected text after the knob");
            }
        } else if (word_is(w, wn, "violation")) {
            const char *vw = next_word(&ps, &wn);
            char name[64] = "";
            if (vw && wn < sizeof name) {
                memcpy(name, vw, wn);
                name[wn] = '\0';
            }
            int k = sim_check_violation_parse(name);
            if (k <= 0)
                rc = perr(&ps, vw ? vw : ps.p, "unknown violation kind '%s'", name);
            else
                *expect = k;
        } else if (word_is(w, wn, "step")) {
            steps_seen = 1;
            if (*n == SIM_CHECK_MAX_DEPTH)
                rc = perr(&ps, w, "more than %d steps", SIM_CHECK_MAX_DEPTH);
            else if ((rc = parse_step(&ps, o, &in[*n])) == 0)
                (*n)++;
        } else {
            rc = perr(&ps, w,
                      "unknown keyword '%.*s' (expected users, conns, threads, profile, "
                      "ablate, policy, violation or step)",
                      (int)wn, w);
        }
        if (rc == 0 && !word_is(w, kn, "policy") && !word_is(w, kn, "step")) {
            const char *extra = next_word(&ps, &wn);
            if (extra)
                rc = perr(&ps, extra, "unexpected '%.*s'", (int)wn, extra);
        }
    }
    fclose(f);
    if (rc == 0 && *n == 0) {
        snprintf(err, errlen, "%s:%d:1: no step", path, ps.line + 1);
        rc = -1;
    }
    if (rc == 0 && sim_check_opts_policy(o, err, errlen) != 0)
        rc = -1;
    return rc;
}
