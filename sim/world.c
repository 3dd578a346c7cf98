/*
 * world.c - one simulated seed: the virtual-time host of the actors around
 * the real core.
 *
 * The actors live in their own modules, each behind a host interface the
 * world implements on the engine (sim/engine.h):
 *   the tabs (sim/tab.h)            scripts, selections, outbox, the oracle;
 *   the transport (sim/transport.h) packets on per-connection FIFO channels;
 *   the server side (sim/backend.h) auth, thread service, agent runtime;
 *   the socket layer (sim/srvsock.h) opening connections, holding what
 *                                   follows a switch sent before
 *                                   authentication, dropping resent
 *                                   duplicates by message id, acks.
 * What stays here: the engine loop and the wiring of those modules to it
 * and to the core, the core's callbacks (actor "core"), the world's own
 * checks of the core (sim/account.h, sim/coverage.h, sim/invariant.h, made
 * around every message and switch through the socket layer's before/after
 * hooks), the drain, the budgets and the trace.
 *
 * Flow of one chat message (ws):
 *   tab step "send"     --uplink-->  server: cr_conn_message()
 *   core dispatch()     --agent_start-->  backend: cr_run_start()
 *   core run_go()       --event_gap...--> backend: cr_run_emit() x N
 *   core deliver()      --downlink--> tab: oracle receive
 * and of an association:
 *   core associate()    --thread_lookup (may fail)--> backend: cr_assoc_complete()
 * Core callbacks never call the core back: they schedule engine events.
 */
#include "sim/world.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "sim/account.h"
#include "sim/backend.h"
#include "sim/budget.h"
#include "sim/cost.h"
#include "sim/coverage.h"
#include "sim/engine.h"
#include "sim/grow.h"
#include "sim/invariant.h"
#include "sim/oracle.h"
#include "sim/prng.h"
#include "sim/quarantine.h"
#include "sim/srvsock.h"
#include "sim/streams.h"
#include "sim/tab.h"
#include "sim/tracepoint.h"
#include "sim/transport.h"

enum ev_kind {
    EV_CLIENT_STEP = 1, /* a = client */
    EV_UP,              /* a = packet: arrives at the server */
    EV_DOWN,            /* a = packet: arrives at the client */
    EV_AUTH_DONE,       /* a = conn */
    EV_ASSOC_DONE,      /* a = req, aux = ok */
    EV_AGENT_START,     /* a = core msg id, b = oracle msg + 1 */
    EV_AGENT_HTTP,      /* a = oracle msg, b = client */
    EV_AGENT_EMIT,      /* a = core run id */
    EV_CORE_TIMER,
    EV_SERVER_CLOSE, /* a = conn */
    EV_FAULT_DROP,   /* a = client, b = conn */
    EV_RECONNECT     /* a = client */
};

typedef struct sconn {
    sim_srvsock_conn sock; /* the socket layer's (sim/srvsock.h): the core's id, open */
    uint64_t evid_gen;     /* notice, or the thread of an event of a newer generation; -1 none */
    uint64_t gone_at;      /* since when the client side is gone */
    uint64_t assoc_req;    /* the latest association the core issued for it, 0 none */
    uint32_t client;
    int32_t switch_thread; /* latest thread this conn's client selected, as the server saw it */
    uint32_t switch_req;   /* and the number of that selection */
    int32_t evid_thread;   /* the binding the core has shown this conn: its last THREAD_SWITCHED */
    int32_t owed_switch;   /* a switch the core owes THREAD_SWITCHED for, -1 none */
    uint8_t client_open;   /* the client believes it is connected */
    uint8_t given_thread;
    uint8_t gone; /* SIM_GONE_* once the client side is gone */
} sconn;

/* annotate: the core's state of one connection last noted (note_conns),
 * beside w->conns (only when annotating); state is cr_conn_state + 1, 0
 * before the first note. */
typedef struct connnote {
    uint64_t gen;
    uint32_t attempts;
    int32_t thread, assoc;
    uint8_t state;
} connnote;

typedef struct sthread {
    uint32_t owner;
    char id[24];
    int32_t *seq_ev; /* stream seq - 1 -> oracle event (owned; events fit: 32 B each) */
    size_t nseq, capseq;
    uint64_t undel_n, undel_bytes; /* events seen buffered, unresolved (and their bytes) */
} sthread;

/* What the world saw of one emitted event (indexed by oracle event). */
typedef struct evseen {
    int32_t thread; /* its stream's thread, -1 none */
    uint32_t len;   /* payload bytes */
    uint8_t state;  /* EVS_* */
} evseen;

enum { EVS_NONE = 0, EVS_PENDING, EVS_RESOLVED };

/* What the world saw of one agent run (indexed by core run id). */
typedef struct srun {    /* 16 bytes */
    uint64_t started_at; /* when cr_run_start(_for) returned it */
    int32_t core_thread; /* the thread the core runs it on (its stream), -1 none */
    uint8_t started;     /* the world started it */
    uint8_t went;        /* run_go was called */
} srun;

typedef struct world {
    const sim_scenario *sc;
    sim_world_opts opts;
    sim_engine eng;
    sim_trace *trace;
    cr_ctx *core;
    sim_oracle *oracle;
    uint64_t horizon;
    uint64_t timer_at; /* earliest scheduled EV_CORE_TIMER, UINT64_MAX none */

    sim_tabs *tabs;   /* the client side (owned) */
    sim_streams *rng; /* per tab: its random streams (owned) */
    uint32_t nclients;
    uint32_t *first_client; /* per user */
    uint32_t nusers;
    char (*user_id)[16];      /* per user: "u<n>", the core's user id (owned) */
    uint32_t *user_threads_n; /* per user: threads created ("t1".."tn") */
    int32_t **user_threads;   /* per user: local number - 1 -> thread index */
    size_t *user_threads_cap;

    sthread *threads;
    size_t nthreads, capthreads;
    sconn *conns;
    size_t nconns, capconns;
    connnote *notes; /* per conn, annotate only (owned) */
    size_t capnotes;
    int32_t *conn_by_core; /* core id -> sim conn */
    size_t cap_by_core;
    sim_transport tr;         /* packets and their channels; link k is sim conn k */
    sim_backend *backend;     /* the server side (owned) */
    sim_srvsock *sock;        /* the server's socket layer (owned) */
    cr_conn_info sock_before; /* the core's view of the conn before a message or switch */
    int sock_known;           /* (it knew the conn) */
    srun *runs;               /* indexed by core run id */
    size_t capruns;
    int draining;      /* the drain phase has started */
    uint64_t drain_at; /* when it started */
    uint64_t input_at; /* the latest input the world gave the core (see gives_input) */
    int failed;
    char why[200];
    int halted; /* w->why is a bound of sim/budget.h (stop request, memory), not an error */

    /* What the world observed of the core (sim/account.h, sim/coverage.h). */
    sim_quarantine heap; /* the core's allocator */
    cr_policy pol;
    sim_account acct;
    cr_stats stbuf[2];     /* the core's counters after this step and the previous one */
    const cr_stats *st;    /* after the previous step: one of stbuf */
    sim_coverage cov;      /* behaviours exercised */
    uint64_t acct_bad;     /* disagreements found */
    int acct_counters_bad; /* the counter comparison failed once (not repeated) */
    /* What the last passed check saw besides the counters *st (observe_step):
     * checked is 0 before the first. */
    int checked;
    sim_account checked_acct;
    uint64_t checked_streams;
    char acct_why[200]; /* the first one */
    int in_timer;       /* inside cr_ctx_handle_expiry */
    evseen *evs;        /* per oracle event (owned) */
    size_t capevs;
    int64_t emit_ev; /* the event of the cr_run_emit in progress, -1 none */
    uint32_t emit_live, emit_notif;
    int64_t emit_client; /* the first tab it was delivered to live, -1 */
    int32_t *req_conn;   /* association request id -> sim conn + 1 (owned) */
    size_t capreq;
} world;

#define NO_PKT SIM_NO_PACKET
/* Freed core blocks kept poisoned before reuse (sim/quarantine.h). */
#define QUARANTINE_BLOCKS 1024
#define MSG_TAG_BIT       (UINT64_C(1) << 62)

static void fail(world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(world *w, const char *fmt, ...)
{
    if (w->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->why, sizeof(w->why), fmt, ap);
    va_end(ap);
    w->failed = 1;
}

/* acct_fail records a disagreement between the core's account and what
 * the world observed (the `accounting` count; the first one is kept). */
static void acct_fail(world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void acct_fail(world *w, const char *fmt, ...)
{
    if (w->acct_bad++)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(w->acct_why, sizeof(w->acct_why), "at %.6f s: ", (double)w->eng.now / 1e9);
    if (n > 0 && (size_t)n < sizeof(w->acct_why))
        vsnprintf(w->acct_why + n, sizeof(w->acct_why) - (size_t)n, fmt, ap);
    va_end(ap);
}

static void cover(world *w, sim_behaviour b)
{
    w->cov |= SIM_COV_BIT(b);
}

/* ---- trace ---------------------------------------------------------------- */

/* The trace every module writes into: NULL when tracing is off. */
static sim_trace *tracing(const world *w)
{
    return w->opts.no_trace ? NULL : w->trace;
}

#define TR(w, actor, step, ...) SIM_TR(tracing(w), (w)->eng.now, actor, step, __VA_ARGS__)

/* NOTE adds a note for the replay views (sim/timeline.h): outside the
 * trace text and its hash. */
#define NOTE(w, actor, step, ...)                                                                  \
    SIM_NOTE((w)->opts.annotate, (w)->trace, (w)->eng.now, actor, step, __VA_ARGS__)

static const char *cname(const world *w, uint32_t c)
{
    return sim_tab_name(w->tabs, c);
}

static const char *tname(world *w, int32_t t)
{
    return t >= 0 ? w->threads[t].id : "-";
}

/* ---- scheduling ----------------------------------------------------------- */

/* actor_of names the actor an event belongs to, for PCT (sim/engine.h):
 * the engine never reorders two events of one actor.  One client's script
 * (steps, reconnects), one direction of one connection (the uplink also
 * carries the server's view of the close, which follows the data), one
 * client's HTTP channel, one connection's authentication, one thread
 * service request, one agent start, one run's emits, the core's timer, the
 * fault of one client.  Key: class << 56 | id. */
static uint64_t actor_of(const world *w, uint32_t kind, uint64_t a)
{
    uint64_t cls = kind, id = a;
    switch (kind) {
    case EV_RECONNECT:
        cls = EV_CLIENT_STEP;
        break;
    case EV_UP: {
        const sim_packet *pk = &w->tr.pkts[a];
        if (pk->f.kind == SIM_FRAME_HTTP) {
            cls = EV_AGENT_HTTP + 64; /* the client's HTTP channel */
            id = sim_oracle_message_tab(w->oracle, pk->f.msg);
        } else {
            id = pk->link;
        }
        break;
    }
    case EV_SERVER_CLOSE:
        cls = EV_UP;
        break;
    case EV_DOWN:
        id = w->tr.pkts[a].link;
        break;
    case EV_CORE_TIMER:
        id = 0;
        break;
    default: /* CLIENT_STEP, AUTH_DONE (conn), ASSOC_DONE (req), AGENT_START (msg),
                AGENT_HTTP (msg), AGENT_EMIT (run), FAULT_DROP (client) */
        break;
    }
    return cls << 56 | (id & ((UINT64_C(1) << 56) - 1));
}

static void at(world *w, uint64_t when, uint32_t kind, uint32_t aux, uint64_t a, uint64_t b)
{
    uint64_t actor = w->eng.pct ? actor_of(w, kind, a) : 0;
    if (sim_engine_schedule_as(&w->eng, actor, when, kind, aux, a, b) != 0)
        fail(w, "out of memory scheduling an event");
}

/* arm_core_timer makes sure an EV_CORE_TIMER is queued for the core's next
 * deadline.  Called after every call into the core. */
static void arm_core_timer(world *w)
{
    uint64_t t = cr_ctx_get_expiry(w->core);
    if (t == CR_TIME_NEVER || t >= w->timer_at)
        return;
    if (t < w->eng.now)
        t = w->eng.now;
    w->timer_at = t;
    at(w, t, EV_CORE_TIMER, 0, 0, 0);
}

/* pkt_new takes a packet carrying frame *f (zeroed for NULL) from the
 * transport's pool; NO_PKT (and the seed fails) when out of memory. */
static uint32_t pkt_new(world *w, const sim_frame *f)
{
    uint32_t p = sim_transport_packet_new(&w->tr, f);
    if (p == NO_PKT)
        fail(w, "out of memory (packets)");
    return p;
}

static sim_packet *pkt(world *w, uint32_t p)
{
    return sim_transport_packet(&w->tr, p);
}

static void pkt_free(world *w, uint32_t p)
{
    sim_transport_packet_free(&w->tr, p);
}

/* send puts packet p on direction dir of sim conn `conn` (the latency
 * drawn from its tab's network stream) and schedules its arrival. */
static void send_on(world *w, uint32_t conn, sim_dir dir, uint32_t p)
{
    sim_prng *net = &w->rng[w->conns[conn].client].net;
    uint64_t when = sim_transport_send(&w->tr, conn, dir, p, w->eng.now, net);
    at(w, when, dir == SIM_UP ? EV_UP : EV_DOWN, 0, p, 0);
}

/* send_down sends frame *f to the tab of sim conn `conn`. */
static void send_down(world *w, uint32_t conn, const sim_frame *f)
{
    uint32_t p = pkt_new(w, f);
    if (p != NO_PKT)
        send_on(w, conn, SIM_DOWN, p);
}

/* ---- threads and ids --------------------------------------------------------- */

static int32_t thread_new(world *w, uint32_t owner, int foreign_for)
{
    if (sim_grow((void **)&w->threads, &w->capthreads, w->nthreads + 1, sizeof(sthread))) {
        fail(w, "out of memory (threads)");
        return -1;
    }
    int32_t t = (int32_t)w->nthreads++;
    w->threads[t].owner = owner;
    if (foreign_for >= 0) {
        snprintf(w->threads[t].id, sizeof(w->threads[t].id), "x%d.%d", foreign_for, t);
    } else {
        uint32_t n = ++w->user_threads_n[owner];
        if (sim_grow((void **)&w->user_threads[owner], &w->user_threads_cap[owner], n,
                     sizeof(int32_t))) {
            fail(w, "out of memory (threads)");
            return -1;
        }
        w->user_threads[owner][n - 1] = t;
        /* Thread ids are per user: user 0 and user 1 both have "t1". */
        snprintf(w->threads[t].id, sizeof(w->threads[t].id), "t%" PRIu32, n);
    }
    int rc = cr_thread_add(w->core, w->eng.now, w->user_id[owner], w->threads[t].id);
    if (rc != 0)
        fail(w, "cr_thread_add: %s", cr_strerror(rc));
    else
        w->acct.streams++;
    return t;
}

/* thread_lookup maps a (user, thread id) pair seen in a core output back to
 * a thread index; -1 if unknown. */
/* parse_num reads the decimal number at *p (advancing it); -1 if none. */
static int64_t parse_num(const char **p)
{
    const char *q = *p;
    int64_t v = 0;
    if (*q < '0' || *q > '9')
        return -1;
    while (*q >= '0' && *q <= '9' && v < (INT64_C(1) << 40))
        v = v * 10 + (*q++ - '0');
    *p = q;
    return v;
}

static int32_t thread_lookup(world *w, const char *user, const char *thread)
{
    if (!user || !thread || user[0] != 'u')
        return -1;
    const char *p = user + 1;
    int64_t u = parse_num(&p);
    if (u < 0 || *p || (uint64_t)u >= w->nusers)
        return -1;
    p = thread + 1;
    if (thread[0] == 't') {
        int64_t n = parse_num(&p);
        if (n >= 1 && !*p && (uint64_t)n <= w->user_threads_n[u])
            return w->user_threads[u][n - 1];
    } else if (thread[0] == 'x') {
        if (parse_num(&p) >= 0 && *p == '.') {
            p++;
            int64_t t = parse_num(&p);
            if (t >= 0 && !*p && (size_t)t < w->nthreads && strcmp(w->threads[t].id, thread) == 0)
                return (int32_t)t;
        }
    }
    return -1;
}

/* send_ack tells the client of sim conn k that message m was taken. */
static void send_ack(world *w, uint32_t k, int64_t m)
{
    send_down(w, k, &(sim_frame){.kind = SIM_FRAME_ACK, .msg = m});
}

/* ---- core callbacks: they only schedule -------------------------------------- */

static int64_t sim_conn_of(world *w, cr_conn_id id)
{
    return id < w->cap_by_core ? w->conn_by_core[id] : -1;
}

/* resolve_pending: a buffered event the world saw pending got its final
 * outcome o. */
static void resolve_pending(world *w, int64_t ev, cr_outcome o)
{
    evseen *e = &w->evs[ev];
    e->state = EVS_RESOLVED;
    w->acct.pending--;
    w->acct.out[o]++;
    if (e->thread >= 0) {
        sthread *th = &w->threads[e->thread];
        th->undel_n--;
        th->undel_bytes -= e->len;
    }
}

static int ev_known(const world *w, int64_t ev)
{
    return ev >= 0 && (size_t)ev < w->capevs;
}

/* observe_delivery: the core sent event ev to a connection of tab c. */
static void observe_delivery(world *w, uint32_t c, int64_t ev, uint32_t flags)
{
    if (flags & CR_EVENT_REPLAY) {
        cover(w, SIM_BEH_REPLAY);
        if (ev_known(w, ev) && w->evs[ev].state == EVS_PENDING)
            resolve_pending(w, ev, CR_OUTCOME_BUFFERED_DELIVERED); /* its first delivery */
        return;
    }
    if (ev != w->emit_ev || ev < 0)
        return; /* (a fallback copy of an expiring event: its report tells) */
    if (flags & CR_EVENT_NOTIFICATION) {
        w->emit_notif++;
        return;
    }
    w->emit_live++;
    if (w->emit_client < 0)
        w->emit_client = c;
    else if (w->emit_client != (int64_t)c &&
             sim_tab_user(w->tabs, (uint32_t)w->emit_client) == sim_tab_user(w->tabs, c))
        cover(w, SIM_BEH_SAME_THREAD_TABS);
}

static void cb_deliver(void *ud, uint64_t now, cr_conn_id conn, const cr_event *ev)
{
    world *w = ud;
    int64_t k = sim_conn_of(w, conn);
    if (k < 0)
        return fail(w, "deliver to unknown connection %" PRIu64, conn);
    sim_frame fr = {
        .kind = SIM_FRAME_EVENT,
        .flags = (uint8_t)ev->flags,
        .ev = (int64_t)ev->tag - 1,
        .seq = ev->seq,
        .thread = thread_lookup(w, ev->user, ev->thread),
    };
    sim_frame *pk = &fr;
    /* Was the core consistent with what it had shown this connection?  An
     * event of a newer binding generation shows the new binding; a
     * THREAD_SWITCHED notice shows its thread (see cb_notify). */
    sconn *kc = &w->conns[k];
    if (!(ev->flags & CR_EVENT_NOTIFICATION) && ev->generation > kc->evid_gen) {
        kc->evid_gen = ev->generation;
        kc->evid_thread = pk->thread;
    }
    pk->for_view = pk->thread >= 0 && pk->thread == kc->evid_thread;
    if (!(ev->flags & CR_EVENT_NOTIFICATION))
        sim_oracle_sent(w->oracle, kc->client, pk->ev);
    observe_delivery(w, kc->client, pk->ev, ev->flags);
    TR(w, "core", "deliver",
       "conn=%" PRIu64 " %s/%s seq=%" PRIu64 " gen=%" PRIu64 " ev=%" PRId64 "%s%s", conn, ev->user,
       ev->thread, ev->seq, ev->generation, pk->ev, (ev->flags & CR_EVENT_REPLAY) ? " replay" : "",
       (ev->flags & CR_EVENT_NOTIFICATION) ? " notification" : "");
    send_down(w, (uint32_t)k, &fr);
    (void)now;
}

static void cb_dispatch(void *ud, uint64_t now, cr_conn_id conn, const cr_dispatch *d)
{
    world *w = ud;
    int64_t k = sim_conn_of(w, conn);
    uint32_t c = k >= 0 ? w->conns[k].client : 0;
    w->acct.dispatched++;
    TR(w, "core", "dispatch", "conn=%" PRIu64 " msg=%" PRIu64 " ctx=%s/%s", conn, d->msg_id,
       d->user ? d->user : "-", d->thread ? d->thread : "-");
    int64_t m = (int64_t)(d->tag & ~MSG_TAG_BIT) - 1;
    NOTE(w, "core", "dispatch", "conn=%" PRIu64 " core_msg=%" PRIu64 " msg=%" PRId64, conn,
         d->msg_id, m);
    sim_backend_dispatch(w->backend, now, d->msg_id, m, thread_lookup(w, d->user, d->thread), c);
    if (sim_oracle_message_dispatched(w->oracle, m))
        TR(w, "oracle", "REORDERED", "msg=%" PRId64 " dispatched after a later message of %s", m,
           cname(w, sim_oracle_message_tab(w->oracle, m)));
    sim_srvsock_dispatched(w->sock, now, k >= 0 ? (uint64_t)k : SIM_SRVSOCK_NONE, m);
}

static void cb_associate(void *ud, uint64_t now, uint64_t req, cr_conn_id conn, const char *user,
                         const char *thread)
{
    world *w = ud;
    int64_t k = sim_conn_of(w, conn);
    uint32_t c = k >= 0 ? w->conns[k].client : 0;
    if (k >= 0) {
        sconn *kc = &w->conns[k];
        kc->assoc_req = req;
        /* The core forgets an owed THREAD_SWITCHED when the connection
         * associates to another thread (the client moved on). */
        if (kc->owed_switch >= 0 && strcmp(w->threads[kc->owed_switch].id, thread) != 0)
            kc->owed_switch = -1;
        if (sim_grow((void **)&w->req_conn, &w->capreq, req + 1, sizeof(int32_t)))
            return fail(w, "out of memory (requests)");
        w->req_conn[req] = (int32_t)(k + 1);
    }
    sim_backend_associate(w->backend, now, req, conn, user, thread, c);
}

static void cb_notify(void *ud, uint64_t now, cr_conn_id conn, const cr_notice *n)
{
    world *w = ud;
    int64_t k = sim_conn_of(w, conn);
    w->acct.notices++;
    static const sim_behaviour notice_beh[] = {SIM_BEH_NOTICE_SWITCHED,
                                               SIM_BEH_NOTICE_SWITCH_FAILED,
                                               SIM_BEH_NOTICE_REJECTED, SIM_BEH_NOTICE_CLOSING};
    cover(w, notice_beh[n->kind & 3]);
    if (k < 0)
        return;
    static const char *const kinds[] = {"thread_switched", "switch_failed", "message_rejected",
                                        "closing"};
    TR(w, "core", "notify", "conn=%" PRIu64 " %s thread=%s err=%s", conn, kinds[n->kind & 3],
       n->thread ? n->thread : "-", n->error ? cr_errname(n->error) : "-");
    sim_frame f = {.kind = SIM_FRAME_NOTICE, .msg = -1, .notice = (uint8_t)n->kind};
    if (n->kind == CR_NOTICE_MESSAGE_REJECTED && (n->msg_tag & MSG_TAG_BIT))
        f.msg = (int64_t)(n->msg_tag & ~MSG_TAG_BIT) - 1; /* told on arrival */
    sconn *kc = &w->conns[k];
    const char *u = w->user_id[sim_tab_user(w->tabs, kc->client)];
    f.thread = n->thread ? thread_lookup(w, u, n->thread) : -1;
    if (n->kind == CR_NOTICE_THREAD_SWITCHED)
        kc->evid_thread = f.thread;
    if ((n->kind == CR_NOTICE_THREAD_SWITCHED || n->kind == CR_NOTICE_SWITCH_FAILED) &&
        f.thread == kc->owed_switch)
        kc->owed_switch = -1; /* the promise kept */
    /* The server echoes the number of the selection the notice answers, as
     * a real protocol would (the client ignores answers to stale ones). */
    if (f.thread >= 0 && f.thread == kc->switch_thread)
        f.req = kc->switch_req;
    send_down(w, (uint32_t)k, &f);
    (void)now;
}

static void cb_run_go(void *ud, uint64_t now, cr_run_id run)
{
    world *w = ud;
    TR(w, "core", "run_go", "run=%" PRIu64, run);
    if (sim_grow((void **)&w->runs, &w->capruns, run + 1, sizeof(srun)))
        return fail(w, "out of memory (runs)");
    w->runs[run].went = 1;
    if (w->in_timer)
        cover(w, SIM_BEH_TIMER_RUN);
    if (sim_backend_run_go(w->backend, now, run) != 0)
        fail(w, "out of memory (runs)");
}

static void cb_close(void *ud, uint64_t now, cr_conn_id conn, cr_close_reason reason)
{
    world *w = ud;
    int64_t k = sim_conn_of(w, conn);
    TR(w, "core", "close", "conn=%" PRIu64 " reason=%s", conn, cr_close_reason_name(reason));
    w->acct.closed_by_core++;
    /* The pending deadline closes only a connection that never had
     * context (a query: allowed inside a callback). */
    cr_conn_info info;
    if (reason == CR_CLOSE_PENDING_TIMEOUT && cr_conn_get_info(w->core, conn, &info) == 0 &&
        info.ready_at)
        acct_fail(w, "conn %" PRIu64 " closed by the pending deadline though READY since %.6f s",
                  conn, (double)info.ready_at / 1e9);
    if (k >= 0 && w->conns[k].sock.open) {
        w->conns[k].sock.open = 0;
        w->conns[k].owed_switch = -1;
        w->acct.conns_open--;
    }
    (void)now;
}

static sim_said said_of(cr_outcome o)
{
    switch (o) {
    case CR_OUTCOME_DELIVERED:
    case CR_OUTCOME_BUFFERED_DELIVERED:
        return SIM_SAID_NOTHING; /* not a non-delivery: says nothing of a later loss */
    case CR_OUTCOME_EXPIRED:
        return SIM_SAID_EXPIRED;
    case CR_OUTCOME_FALLBACK:
        return SIM_SAID_FALLBACK;
    case CR_OUTCOME_DROPPED_FULL:
        return SIM_SAID_DROPPED;
    case CR_OUTCOME_UNROUTABLE:
        return SIM_SAID_UNROUTABLE;
    default:
        return SIM_SAID_OTHER;
    }
}

static void cb_report(void *ud, uint64_t now, const cr_report *r)
{
    world *w = ud;
    TR(w, "core",
       r->kind == CR_REPORT_OUTCOME ? "report"
       : r->kind == CR_REPORT_ERROR ? "error"
                                    : "info",
       "%s%s conn=%" PRIu64 " seq=%" PRIu64 " %s",
       r->kind == CR_REPORT_OUTCOME ? cr_outcome_name(r->outcome) : "",
       r->error ? cr_errname(r->error) : "", r->conn, r->seq, r->message);
    if (r->tag)
        NOTE(w, "core", "report", "%s=%" PRId64 " kind=%s what=%s",
             (r->tag & MSG_TAG_BIT) ? "msg" : "ev", (int64_t)(r->tag & ~MSG_TAG_BIT) - 1,
             r->kind == CR_REPORT_OUTCOME ? "outcome"
             : r->kind == CR_REPORT_ERROR ? "error"
                                          : "info",
             r->kind == CR_REPORT_OUTCOME ? cr_outcome_name(r->outcome)
             : r->error                   ? cr_errname(r->error)
                                          : "-");
    if (r->kind == CR_REPORT_ERROR && (r->tag & MSG_TAG_BIT))
        w->acct.rejected++; /* every rejected message is reported once, with its tag */
    if (r->kind == CR_REPORT_ERROR && r->error == CR_EFOREIGN)
        cover(w, SIM_BEH_FOREIGN_REFUSED); /* on arrival, cached, or a switch */
    if (r->kind == CR_REPORT_OUTCOME && r->tag && !(r->tag & MSG_TAG_BIT)) {
        int64_t ev = (int64_t)r->tag - 1;
        if (ev_known(w, ev) && w->evs[ev].state == EVS_PENDING &&
            (r->outcome == CR_OUTCOME_EXPIRED || r->outcome == CR_OUTCOME_FALLBACK))
            resolve_pending(w, ev, r->outcome);
        else if (r->outcome == CR_OUTCOME_BUFFERED_DELIVERED &&
                 !(ev_known(w, ev) && w->evs[ev].state == EVS_RESOLVED))
            acct_fail(w, "event %" PRId64 " reported buffered_delivered, never seen replayed", ev);
    }
    if (r->kind == CR_REPORT_INFO && !r->tag && r->seq && r->thread)
        cover(w, SIM_BEH_REPLAY_GAP);
    if (r->tag & MSG_TAG_BIT) {
        int64_t m = (int64_t)(r->tag & ~MSG_TAG_BIT) - 1;
        sim_oracle_message_said(
            w->oracle, m, r->kind == CR_REPORT_OUTCOME ? said_of(r->outcome) : SIM_SAID_REJECTED);
        sim_srvsock_let_go(w->sock, now, m);
    } else if (r->tag) {
        sim_said said = r->kind == CR_REPORT_OUTCOME ? said_of(r->outcome) : SIM_SAID_OTHER;
        if (said != SIM_SAID_NOTHING)
            sim_oracle_event_said(w->oracle, (int64_t)r->tag - 1, said);
    } else if (r->seq && r->thread) {
        /* About an event by its stream position (a replay gap). */
        int32_t t = thread_lookup(w, r->user, r->thread);
        if (t >= 0 && r->seq <= w->threads[t].nseq)
            sim_oracle_event_said(w->oracle, w->threads[t].seq_ev[r->seq - 1], SIM_SAID_OTHER);
    }
    (void)now;
}

/* ---- the tabs' host (sim/tab.h) ---------------------------------------------- */

/* tab_open: a new sim conn (and its transport link) for tab c; the
 * handshake goes up first. */
static int64_t tab_open(void *ud, uint64_t now, uint32_t c)
{
    world *w = ud;
    uint32_t link;
    if (sim_grow((void **)&w->conns, &w->capconns, w->nconns + 1, sizeof(sconn)) ||
        sim_transport_link_new(&w->tr, &link)) {
        fail(w, "out of memory (conns)");
        return -1;
    }
    uint32_t k = (uint32_t)w->nconns++; /* == link */
    memset(&w->conns[k], 0, sizeof(sconn));
    w->conns[k].client = c;
    w->conns[k].client_open = 1;
    sim_srvsock_conn_init(&w->conns[k].sock);
    w->conns[k].evid_thread = -1;
    w->conns[k].owed_switch = -1;
    uint32_t p = pkt_new(w, &(sim_frame){.kind = SIM_FRAME_CONNECT});
    if (p != NO_PKT)
        send_on(w, k, SIM_UP, p);
    (void)now;
    return k;
}

static void tab_send(void *ud, uint64_t now, uint32_t c, int64_t conn, const sim_frame *f)
{
    world *w = ud;
    uint32_t p = pkt_new(w, f);
    if (p == NO_PKT)
        return;
    if (f->binds)
        w->conns[conn].given_thread = 1;
    send_on(w, (uint32_t)conn, SIM_UP, p);
    (void)now;
    (void)c;
}

/* tab_post: an HTTP post, on the tab's own channel. */
static void tab_post(void *ud, uint64_t now, uint32_t c, const sim_frame *f)
{
    world *w = ud;
    uint32_t p = pkt_new(w, f);
    if (p == NO_PKT)
        return;
    at(w, sim_transport_post(&w->tr, c, now, &w->rng[c].net), EV_UP, 0, p, 0);
}

/* tab_close: the tab lets go of sim conn `conn`; the server sees it close
 * once the news has travelled up (EV_SERVER_CLOSE). */
static void tab_close(void *ud, uint64_t now, uint32_t c, int64_t conn, sim_tab_close how)
{
    world *w = ud;
    sconn *k = &w->conns[conn];
    sim_prng *net = &w->rng[c].net;
    if (how == SIM_TAB_GONE)
        cover(w, SIM_BEH_SERVER_CLOSE);
    k->client_open = 0;
    k->gone = how == SIM_TAB_CLOSE ? SIM_GONE_CLOSE : SIM_GONE_TRANSPORT;
    k->gone_at = now;
    switch (how) {
    case SIM_TAB_DROP: /* in flight is lost; the server notices after one uplink delay */
        sim_transport_drop(&w->tr, (uint32_t)conn, SIM_UP);
        sim_transport_drop(&w->tr, (uint32_t)conn, SIM_DOWN);
        at(w, now + sim_transport_latency(&w->tr, SIM_UP, net), EV_SERVER_CLOSE, 0, (uint64_t)conn,
           CR_CLOSE_DISCONNECT);
        break;
    case SIM_TAB_CLOSE:
        sim_transport_drop(&w->tr, (uint32_t)conn, SIM_DOWN);
        /* A clean close (the close frame, then FIN) travels the uplink
         * behind the socket's earlier packets: it never overtakes the
         * open, the authentication or a message still in flight. */
        at(w, sim_transport_send_signal(&w->tr, (uint32_t)conn, SIM_UP, now, net), EV_SERVER_CLOSE,
           0, (uint64_t)conn, CR_CLOSE_CLIENT);
        break;
    case SIM_TAB_GONE: /* the server closed it: it knows */
        break;
    }
}

static void tab_schedule(void *ud, uint64_t when, uint32_t c, sim_tab_timer timer, int64_t conn)
{
    static const uint32_t kind[] = {[SIM_TAB_STEP] = EV_CLIENT_STEP,
                                    [SIM_TAB_RECONNECT] = EV_RECONNECT,
                                    [SIM_TAB_FAULT] = EV_FAULT_DROP};
    at(ud, when, kind[timer], 0, c, timer == SIM_TAB_FAULT ? (uint64_t)conn : 0);
}

static int32_t tab_thread_new(void *ud, uint64_t now, uint32_t owner, int32_t foreign_for)
{
    (void)now;
    return thread_new(ud, owner, foreign_for);
}

static const char *tab_thread_name(void *ud, int32_t t)
{
    return tname(ud, t);
}

static uint32_t tab_thread_owner(void *ud, int32_t t)
{
    return ((world *)ud)->threads[t].owner;
}

static void tab_fail(void *ud, const char *why)
{
    fail(ud, "%s", why);
}

/* ---- the server side ----------------------------------------------------------- */

static void core_rc(world *w, const char *call, int rc)
{
    /* Errors the simulation provokes on purpose are expected; anything else
     * is a simulator or core bug worth stopping for. */
    if (rc == CR_ENOMEM || rc == CR_ETIME || rc == CR_EINVAL)
        fail(w, "%s: %s", call, cr_strerror(rc));
}

/* check_owed: a switch whose binding landed (the connection is READY on
 * it, nothing in flight) must have been answered with THREAD_SWITCHED. */
static void check_owed(world *w, sconn *k, const cr_conn_info *info)
{
    if (k->owed_switch < 0 || info->state != CR_CONN_READY || info->assoc_target || !info->thread ||
        strcmp(info->thread, w->threads[k->owed_switch].id) != 0)
        return;
    acct_fail(w,
              "conn %" PRIu64 " is bound to %s, the thread it switched to, and was never sent "
              "THREAD_SWITCHED",
              k->sock.core, info->thread);
    k->owed_switch = -1;
}

/* conn_audit reads the core's view of sim conn k (the server is about to
 * call the core for it) into *info and checks it against the world's:
 * open where the world believes it open, closed by the pending deadline
 * once it passed without context, its queue and cache within their
 * bounds.  Returns 0, or -1 when the core does not know it.  O(1). */
static int conn_audit(world *w, sconn *k, cr_conn_info *info)
{
    if (cr_conn_get_info(w->core, k->sock.core, info) != 0)
        return -1;
    if (!k->sock.open)
        return 0;
    const cr_policy *p = &w->pol;
    if (info->state == CR_CONN_CLOSED)
        acct_fail(w, "conn %" PRIu64 " is closed in the core, which never said so", k->sock.core);
    else if (p->pending_deadline && !info->ready_at &&
             w->eng.now > info->opened_at + p->pending_deadline)
        acct_fail(w,
                  "conn %" PRIu64 " still open without context %.3f s after it opened "
                  "(pending_deadline %.3f s)",
                  k->sock.core, (double)(w->eng.now - info->opened_at) / 1e9,
                  (double)p->pending_deadline / 1e9);
    if (p->queue_until_context && info->queued_messages > p->pending_max)
        acct_fail(w, "conn %" PRIu64 " queues %zu messages, pending_max %" PRIu64, k->sock.core,
                  info->queued_messages, p->pending_max);
    if (p->cache_preauth && info->preauth_messages > p->preauth_max)
        acct_fail(w, "conn %" PRIu64 " caches %zu messages, preauth_max %" PRIu64, k->sock.core,
                  info->preauth_messages, p->preauth_max);
    check_owed(w, k, info);
    return 0;
}

static void on_up(world *w, uint32_t p)
{
    sim_packet sp = *pkt(w, p);
    const sim_frame pk = sp.f;
    pkt_free(w, p);
    if (pk.kind == SIM_FRAME_HTTP) {
        /* No connection: the application starts the run itself. */
        sim_backend_post(w->backend, w->eng.now, pk.msg, pk.thread,
                         sim_oracle_message_tab(w->oracle, pk.msg));
        return;
    }
    uint32_t conn = sp.link;
    sconn *k = &w->conns[conn];
    if (!sim_transport_current(&w->tr, &sp, SIM_UP))
        return; /* lost with the transport */
    switch (pk.kind) {
    case SIM_FRAME_CONNECT: {
        int rc = sim_srvsock_open(w->sock, w->eng.now, &k->sock, conn);
        if (rc != 0) {
            core_rc(w, "cr_conn_open", rc);
            break;
        }
        w->acct.conns_opened++;
        w->acct.conns_open++;
        cr_conn_id id = k->sock.core;
        if (sim_grow((void **)&w->conn_by_core, &w->cap_by_core, id + 1, sizeof(int32_t)))
            return fail(w, "out of memory");
        w->conn_by_core[id] = (int32_t)conn;
        break;
    }
    case SIM_FRAME_AUTH:
        sim_backend_auth(w->backend, w->eng.now, conn, k->client);
        break;
    case SIM_FRAME_MESSAGE:
    case SIM_FRAME_SWITCH: {
        int msg = pk.kind == SIM_FRAME_MESSAGE;
        int32_t t = pk.thread;
        sim_srvsock_req r = {
            .kind = msg ? SIM_SRVSOCK_MESSAGE : SIM_SRVSOCK_SWITCH,
            .msg = msg ? pk.msg : -1,
            .thread = t >= 0 ? w->threads[t].id : NULL,
            .thread_key = t,
            .last_seq = pk.seq,
            .sel = pk.req,
            .tag = MSG_TAG_BIT | (uint64_t)(pk.msg + 1),
            .payload = "hello",
            .payload_len = 5,
        };
        if (sim_srvsock_request(w->sock, w->eng.now, &k->sock, conn, &r, &sp) == SIM_SRVSOCK_PARKED)
            cover(w, SIM_BEH_RESEND_PARKED);
        break;
    }
    default:
        break;
    }
}

/* on_down: packet p reaches the tab of its connection: what the transport
 * lost goes to the tab as lost, the rest as received. */
static void on_down(world *w, uint32_t p)
{
    sim_packet sp = *pkt(w, p);
    pkt_free(w, p);
    sconn *k = &w->conns[sp.link];
    if (!k->client_open || !sim_transport_current(&w->tr, &sp, SIM_DOWN)) {
        /* Lost with the transport (or the tab closed with it in flight). */
        sim_tab_lost(w->tabs, k->client, &sp.f, k->gone ? k->gone_at : w->eng.now,
                     k->gone ? k->gone : SIM_GONE_TRANSPORT);
        return;
    }
    sim_tab_receive(w->tabs, w->eng.now, k->client, sp.link, &sp.f);
}

/* run_started records a run the core started (run_go may already have
 * been called inside the call). */
static void run_started(world *w, cr_run_id run, int32_t core_thread)
{
    if (sim_grow((void **)&w->runs, &w->capruns, run + 1, sizeof(srun)))
        return fail(w, "out of memory (runs)");
    srun *r = &w->runs[run];
    r->core_thread = core_thread;
    r->started = 1;
    r->started_at = w->eng.now;
    w->acct.runs_started++;
}

/* on_assoc_done: the thread service answers association req.  A failed
 * answer to a connection's current association must be retried while
 * retries are left (attempt a of update_retries + 1) and given up after. */
static void on_assoc_done(world *w, uint64_t req, int ok)
{
    int64_t k = req < w->capreq ? w->req_conn[req] - 1 : -1;
    sconn *kc = k >= 0 ? &w->conns[k] : NULL;
    int current = kc && kc->sock.open && kc->assoc_req == req;
    if (kc && kc->sock.open && !current)
        cover(w, SIM_BEH_STALE_ANSWER);
    cr_conn_info before;
    int check = current && !ok && conn_audit(w, kc, &before) == 0 && before.assoc_target;
    uint64_t retried = w->st->assoc_retried;
    int rc = sim_backend_answer(w->backend, w->eng.now, req, ok);
    if (rc != 0)
        return core_rc(w, "cr_assoc_complete", rc);
    if (!check || !w->pol.update_retries)
        return; /* (update_retries 0: kept waiting, as the legacy did) */
    cr_stats st;
    cr_ctx_get_stats(w->core, &st);
    int want = before.assoc_attempts <= w->pol.update_retries;
    int did = st.assoc_retried > retried;
    if (want != did)
        acct_fail(w,
                  "association req=%" PRIu64 " of conn %" PRIu64 " failed on attempt %" PRIu32
                  " of %" PRIu64 ": the core %s",
                  req, kc->sock.core, before.assoc_attempts, w->pol.update_retries + 1,
                  did ? "retried it" : "gave it up");
    if (!did)
        cover(w, SIM_BEH_RETRIES_EXHAUSTED);
}

/* on_agent_start: the agent runtime starts the run of message m, its
 * timings drawn for the tab that sent it. */
static void on_agent_start(world *w, uint64_t core_msg, int64_t m, int32_t core_thread)
{
    cr_run_id run;
    int rc = sim_backend_start(w->backend, w->eng.now, core_msg, m,
                               sim_oracle_message_tab(w->oracle, m), &run);
    if (rc != 0)
        return core_rc(w, "cr_run_start", rc);
    run_started(w, run, core_thread);
}

static void on_agent_http(world *w, int64_t m, int32_t t)
{
    if (t < 0)
        return;
    /* The HTTP request is authenticated as the sending client's user. */
    const char *u = w->user_id[sim_oracle_message_user(w->oracle, m)];
    cr_run_id run;
    int rc = sim_backend_start_for(w->backend, w->eng.now, m, u, w->threads[t].id,
                                   sim_oracle_message_tab(w->oracle, m), &run);
    if (rc != 0) {
        sim_oracle_message_refused(w->oracle, m);
        return core_rc(w, "cr_run_start_for", rc);
    }
    sim_oracle_message_accepted(w->oracle, m, w->eng.now);
    cover(w, SIM_BEH_HTTP_RUN);
    run_started(w, run, t);
}

/* observe_emit: what the world makes of one cr_run_emit's result (the
 * outcome returned, the deliveries made during the call), per the
 * contract of cr_run_emit. */
static void observe_emit(world *w, const srun *r, int64_t ev, uint32_t len, int rc, cr_outcome out)
{
    if (rc != 0 && rc != CR_EFULL)
        return; /* not taken */
    w->acct.emitted++;
    const cr_policy *p = &w->pol;
    evseen *e = &w->evs[ev];
    e->thread = r->core_thread;
    e->len = len;
    sthread *th = r->core_thread >= 0 ? &w->threads[r->core_thread] : NULL;
    if (rc == CR_EFULL || out == CR_OUTCOME_DROPPED_FULL) {
        if (rc != CR_EFULL || out != CR_OUTCOME_DROPPED_FULL)
            return acct_fail(w, "event %" PRId64 ": cr_run_emit returned %s with outcome %s", ev,
                             cr_errname(rc),
                             out < CR_OUTCOME_COUNT ? cr_outcome_name(out) : "pending");
        w->acct.out[CR_OUTCOME_DROPPED_FULL]++;
        /* Which bound: the undelivered events could not make room. */
        if (th && th->undel_n + 1 > p->event_buffer_max)
            cover(w, SIM_BEH_BUFFER_FULL_COUNT);
        if (th && th->undel_bytes + len > p->event_buffer_max_bytes)
            cover(w, SIM_BEH_BUFFER_FULL_BYTES);
        return;
    }
    switch (out) {
    case CR_OUTCOME_COUNT: /* buffered, pending */
        if (w->emit_live || w->emit_notif)
            acct_fail(w, "event %" PRId64 " buffered as pending but delivered during the call", ev);
        e->state = EVS_PENDING;
        w->acct.pending++;
        if (th) {
            th->undel_n++;
            th->undel_bytes += len;
            /* Undelivered events are held, and what a stream holds stays
             * within its bounds (exact with F9 on: every resolution is seen). */
            if (p->report_undeliverable &&
                (th->undel_n > p->event_buffer_max || th->undel_bytes > p->event_buffer_max_bytes))
                acct_fail(w,
                          "stream %s/%s holds %" PRIu64 " undelivered events (%" PRIu64
                          " bytes), over event_buffer_max %" PRIu64 " / _bytes %" PRIu64,
                          w->user_id[th->owner], th->id, th->undel_n, th->undel_bytes,
                          p->event_buffer_max, p->event_buffer_max_bytes);
        }
        break;
    case CR_OUTCOME_DELIVERED:
        if (w->emit_live)
            w->acct.out[CR_OUTCOME_DELIVERED]++;
        else if (p->report_undeliverable)
            acct_fail(w, "event %" PRId64 " returned delivered, sent to no connection", ev);
        /* else: the legacy router "sent" it to nobody; it vanishes, uncounted */
        break;
    case CR_OUTCOME_FALLBACK:
        if (w->emit_notif != 1)
            acct_fail(w, "event %" PRId64 " returned fallback, %" PRIu32 " notifications sent", ev,
                      w->emit_notif);
        w->acct.out[CR_OUTCOME_FALLBACK]++;
        break;
    default:
        w->acct.out[out]++;
        break;
    }
}

/* ---- the backend's host (sim/backend.h) ------------------------------------------ */

static void bk_schedule(void *ud, uint64_t when, sim_backend_timer timer, uint32_t aux, uint64_t a,
                        uint64_t b)
{
    static const uint32_t kind[] = {[SIM_BACKEND_AUTH] = EV_AUTH_DONE,
                                    [SIM_BACKEND_ANSWER] = EV_ASSOC_DONE,
                                    [SIM_BACKEND_START] = EV_AGENT_START,
                                    [SIM_BACKEND_HTTP] = EV_AGENT_HTTP,
                                    [SIM_BACKEND_EMIT] = EV_AGENT_EMIT};
    at(ud, when, kind[timer], aux, a, b);
}

/* bk_stream: the server's draws for a tab come from that tab's streams. */
static sim_prng *bk_stream(void *ud, uint32_t origin, sim_stream concern)
{
    return sim_streams_get(&((world *)ud)->rng[origin], concern);
}

/* bk_emit_begin: the oracle names the event (its tag), and the world
 * watches the deliveries the core makes during the call. */
static int bk_emit_begin(void *ud, uint64_t now, cr_run_id run, int64_t m, uint32_t index,
                         uint64_t *tag)
{
    world *w = ud;
    int64_t ev = sim_oracle_emit(w->oracle, now, m, index);
    if (ev < 0) {
        fail(w, "out of memory (oracle)");
        return -1;
    }
    if (sim_grow((void **)&w->evs, &w->capevs, (size_t)ev + 1, sizeof(evseen))) {
        fail(w, "out of memory (events)");
        return -1;
    }
    w->emit_ev = ev;
    w->emit_live = w->emit_notif = 0;
    w->emit_client = -1;
    *tag = (uint64_t)ev + 1;
    (void)run;
    return 0;
}

/* bk_emitted: what the world makes of the emit (observe_emit), the
 * stream position of the event, and what the core said of it. */
static int bk_emitted(void *ud, uint64_t now, cr_run_id run, const sim_backend_emitted *e)
{
    world *w = ud;
    int64_t ev = (int64_t)e->tag - 1;
    const srun *r = &w->runs[run];
    w->emit_ev = -1;
    observe_emit(w, r, ev, e->len, e->rc, e->out);
    NOTE(w, "agent", "emit",
         "ev=%" PRId64 " msg=%" PRId64 " index=%" PRIu32 " of=%zu sent=%" PRIu32, ev, e->msg,
         e->index, w->sc->nagent_events, w->emit_live);
    if (e->seq && r->core_thread >= 0) {
        sthread *th = &w->threads[r->core_thread];
        if (sim_grow((void **)&th->seq_ev, &th->capseq, e->seq, sizeof(int32_t))) {
            fail(w, "out of memory (streams)");
            return -1;
        }
        th->seq_ev[e->seq - 1] = (int32_t)ev;
        if (e->seq > th->nseq)
            th->nseq = e->seq;
    }
    if (e->rc == CR_EFULL)
        sim_oracle_event_said(w->oracle, ev, SIM_SAID_DROPPED);
    else if (e->rc != 0)
        core_rc(w, "cr_run_emit", e->rc);
    (void)now;
    return 0;
}

static void on_agent_emit(world *w, cr_run_id run)
{
    int rc = run < w->capruns ? sim_backend_emit(w->backend, w->eng.now, run) : -2;
    if (rc == -2)
        fail(w, "run_go for unknown run %" PRIu64, run);
}

/* ---- the socket layer's host (sim/srvsock.h) -------------------------------------- */

/* ss_keep: a copy of the arriving packet *src (its link and epoch too: it
 * is taken as if it arrived later). */
static uint64_t ss_keep(void *ud, const void *src)
{
    world *w = ud;
    uint32_t p = pkt_new(w, NULL);
    if (p == NO_PKT)
        return SIM_SRVSOCK_NONE;
    *pkt(w, p) = *(const sim_packet *)src;
    pkt(w, p)->next = NO_PKT;
    return p;
}

static void ss_drop(void *ud, uint64_t h)
{
    pkt_free(ud, (uint32_t)h);
}

/* ss_ack: a dispatch answers a connection whose tab is still connected, a
 * parked resend only on the transport it came on. */
static void ss_ack(void *ud, uint64_t now, uint64_t key, uint64_t h, int64_t m, int rc,
                   sim_srvsock_ack why)
{
    world *w = ud;
    uint32_t k = (uint32_t)key;
    if (why == SIM_SRVSOCK_ACK_PARKED) {
        const sim_packet *pp = pkt(w, (uint32_t)h);
        k = pp->link;
        if (!sim_transport_current(&w->tr, pp, SIM_UP))
            return;
    }
    if ((why == SIM_SRVSOCK_ACK_PARKED || why == SIM_SRVSOCK_ACK_DISPATCHED) &&
        !w->conns[k].client_open)
        return;
    send_ack(w, k, m);
    (void)now, (void)rc;
}

/* ss_unparked: the parked resend arrives again now. */
static void ss_unparked(void *ud, uint64_t now, uint64_t key, uint64_t h)
{
    at(ud, now, EV_UP, 0, h, 0);
    (void)key;
}

/* ss_before: the world's checks before the core takes a message or a
 * switch of sim conn `key` (the conn's view of the core, what the oracle
 * is told), and the server's record of the client's selection. */
static int ss_before(void *ud, uint64_t now, uint64_t key, const sim_srvsock_req *r)
{
    world *w = ud;
    sconn *k = &w->conns[key];
    if (r->kind == SIM_SRVSOCK_SWITCH && r->retry) {
        k->owed_switch = r->thread_key; /* answered inside the call, or once bound */
        return 0;
    }
    if (r->thread_key >= 0) {
        k->switch_thread = r->thread_key;
        k->switch_req = (uint32_t)r->sel;
    }
    cr_conn_info *before = &w->sock_before;
    w->sock_known = conn_audit(w, k, before) == 0;
    if (r->kind == SIM_SRVSOCK_SWITCH) {
        if (w->sock_known && before->thread && !before->assoc_target &&
            strcmp(before->thread, r->thread) == 0)
            cover(w, SIM_BEH_SWITCH_TO_BOUND);
        k->owed_switch = r->thread_key; /* answered inside the call, or once bound */
        return 0;
    }
    if (sim_oracle_message_arrived(w->oracle, r->msg, (uint32_t)key) != 0) {
        fail(w, "out of memory (oracle)");
        return -1;
    }
    (void)now;
    return 0;
}

/* ss_after: the world's checks after the core call (rc), what the oracle
 * is told of it. */
static void ss_after(void *ud, uint64_t now, uint64_t key, const sim_srvsock_req *r, int rc)
{
    world *w = ud;
    sconn *k = &w->conns[key];
    if (r->kind == SIM_SRVSOCK_SWITCH) {
        if (rc != 0)
            k->owed_switch = -1;
        if (rc == CR_EFOREIGN && !r->retry)
            cover(w, SIM_BEH_FOREIGN_REFUSED);
        if (rc != 0)
            core_rc(w, "cr_conn_switch", rc);
        return;
    }
    if (rc == 0 || rc == CR_EFOREIGN || rc == CR_EFULL)
        w->acct.received++;
    if (rc == CR_EFOREIGN)
        cover(w, SIM_BEH_FOREIGN_REFUSED);
    if (rc == CR_EFULL && w->sock_known)
        cover(w, w->sock_before.user ? SIM_BEH_PENDING_FULL : SIM_BEH_PREAUTH_FULL);
    cr_conn_info after;
    conn_audit(w, k, &after);
    if (rc == 0) /* (dispatch may already have run inside the call) */
        sim_oracle_message_accepted(w->oracle, r->msg, now);
    if (rc != 0) {
        sim_oracle_message_refused(w->oracle, r->msg);
        core_rc(w, "cr_conn_message", rc);
    }
}

static void ss_oom(void *ud, const char *what)
{
    fail(ud, "out of memory (%s)", what);
}

/* ---- the loop ------------------------------------------------------------------ */

/* note_conns (annotate only): a note for every connection whose state in
 * the core (state, bound thread, generation, association in flight and
 * its attempt) changed in this step.  O(connections). */
static void note_conns(world *w)
{
    if (sim_grow((void **)&w->notes, &w->capnotes, w->nconns, sizeof(connnote))) {
        fail(w, "out of memory");
        return;
    }
    for (size_t k = 0; k < w->nconns; k++) {
        sconn *kc = &w->conns[k];
        connnote *tl = &w->notes[k];
        if (!kc->sock.core || tl->state == CR_CONN_CLOSED + 1)
            continue;
        cr_conn_info info;
        if (cr_conn_get_info(w->core, kc->sock.core, &info) != 0)
            memset(&info, 0, sizeof info), info.state = CR_CONN_CLOSED;
        int32_t th = thread_lookup(w, info.user, info.thread);
        int32_t as = thread_lookup(w, info.user, info.assoc_target);
        if (info.state == CR_CONN_CLOSED)
            th = as = -1, info.generation = tl->gen, info.assoc_attempts = 0;
        if (tl->state == info.state + 1 && tl->thread == th && tl->assoc == as &&
            tl->gen == info.generation && tl->attempts == info.assoc_attempts)
            continue;
        tl->state = (uint8_t)(info.state + 1);
        tl->thread = th;
        tl->assoc = as;
        tl->gen = info.generation;
        tl->attempts = info.assoc_attempts;
        NOTE(w, "core", "state",
             "conn=%" PRIu64 " tab=%s state=%s thread=%s gen=%" PRIu64 " assoc=%s attempt=%" PRIu32,
             kc->sock.core, cname(w, kc->client), cr_conn_state_name(info.state),
             info.thread ? info.thread : "-", info.generation,
             info.assoc_target ? info.assoc_target : "-", info.assoc_attempts);
    }
}

/* observe_step: after every step, the behaviours the core's counters say
 * it exercised (deltas since the previous step), then the core's
 * accounting against the world's (sim_account_check) and the counters'
 * own invariants (sim_invariant_check_values).  O(1). */
static void observe_step(world *w, int timer)
{
    /* Double-buffered: one copy of the counters per step. */
    cr_stats *now = &w->stbuf[w->st == &w->stbuf[0]];
    cr_ctx_get_stats(w->core, now);
    const cr_stats *o = w->st;
    static const sim_behaviour out_beh[CR_OUTCOME_COUNT] = {
        SIM_BEH_OUT_DELIVERED, SIM_BEH_OUT_BUFFERED_DELIVERED, SIM_BEH_OUT_EXPIRED,
        SIM_BEH_OUT_FALLBACK,  SIM_BEH_OUT_DROPPED_FULL,       SIM_BEH_OUT_UNROUTABLE};
    for (int k = 0; k < CR_OUTCOME_COUNT; k++)
        if (now->outcomes[k] > o->outcomes[k])
            cover(w, out_beh[k]);
    if (timer) {
        if (now->conns_closed_pending_timeout > o->conns_closed_pending_timeout)
            cover(w, SIM_BEH_TIMER_PENDING);
        if (now->assoc_requested > o->assoc_requested)
            cover(w, SIM_BEH_TIMER_RETRY);
        if (now->outcomes[CR_OUTCOME_EXPIRED] > o->outcomes[CR_OUTCOME_EXPIRED])
            cover(w, SIM_BEH_TIMER_TTL);
        if (now->runs_context_lost > o->runs_context_lost && w->pol.exec_grace > 0)
            cover(w, SIM_BEH_GRACE_EXPIRED);
    }
    if (now->messages_preauth_now > o->messages_preauth_now)
        cover(w, SIM_BEH_PREAUTH_CACHED);
    if (now->messages_queued_now > o->messages_queued_now)
        cover(w, SIM_BEH_QUEUED);
    /* Both checks are functions of the counters, the world's account and
     * the scope: when none changed since the last step's checks passed,
     * they would pass again (about 40% of production_mix's steps touch
     * nothing the core counts).  The histograms count as unchanged by count
     * and sum (sim_invariant_hist_same; the seed's final check sums every
     * bucket).  O(1): the counters before the histograms are 240 bytes. */
    sim_invariant_scope scope = {.streams = w->nthreads, .conns = w->acct.conns_opened, .prev = o};
    if (!w->acct_counters_bad &&
        (!w->checked || scope.streams != w->checked_streams ||
         memcmp(now, o, offsetof(cr_stats, connect_to_ready)) != 0 ||
         !sim_invariant_hist_same(&now->connect_to_ready, &o->connect_to_ready) ||
         !sim_invariant_hist_same(&now->buffer_delay, &o->buffer_delay) ||
         memcmp(&w->acct, &w->checked_acct, sizeof w->acct) != 0)) {
        char why[160];
        if (!w->checked)
            scope.prev = NULL;
        if (sim_account_check(&w->acct, now, &w->pol, why, sizeof why) ||
            sim_invariant_check_values(now, &w->pol, &scope, why, sizeof why)) {
            w->acct_counters_bad = 1;
            acct_fail(w, "%s", why);
        }
        w->checked = 1;
        w->checked_acct = w->acct;
        w->checked_streams = scope.streams;
    }
    w->st = now;
}

/* gives_input: does an engine event of this kind hand the core new work
 * whose timers start then?  A packet reaching the server (open,
 * authentication, message, switch), an authentication completing, an agent
 * run starting or emitting.  The drain bound is counted from the latest of
 * these (or the drain's start): runs started in the drain by messages still
 * in flight emit late, and their events may legitimately wait a whole
 * event_ttl from their emission.  The core's own timers and retries are
 * not inputs (the bound covers them), so a core that holds an event forever
 * is still stranded once the inputs stop. */
static int gives_input(uint32_t kind)
{
    return kind == EV_UP || kind == EV_AUTH_DONE || kind == EV_AGENT_START ||
           kind == EV_AGENT_HTTP || kind == EV_AGENT_EMIT;
}

static void handle(world *w, const sim_event *e)
{
    int rc;
    if (gives_input(e->kind))
        w->input_at = w->eng.now;
    switch (e->kind) {
    case EV_CLIENT_STEP:
        if (!w->draining) /* no new step starts in the drain */
            sim_tab_step(w->tabs, w->eng.now, (uint32_t)e->a);
        break;
    case EV_UP:
        on_up(w, (uint32_t)e->a);
        break;
    case EV_DOWN:
        on_down(w, (uint32_t)e->a);
        break;
    case EV_AUTH_DONE: {
        sconn *k = &w->conns[e->a];
        if (!k->sock.open)
            break;
        const char *u = w->user_id[sim_tab_user(w->tabs, k->client)];
        cr_conn_info info;
        conn_audit(w, k, &info);
        rc = sim_backend_authenticate(w->backend, w->eng.now, k->sock.core, u);
        if (rc != 0) {
            core_rc(w, "cr_conn_authenticate", rc);
            break;
        }
        /* Then the switch held until the answer, and what waits behind it,
         * in order. */
        uint32_t sk = (uint32_t)e->a;
        sim_srvsock_authenticated(w->sock, w->eng.now, &k->sock, sk);
        for (uint64_t h; (h = sim_srvsock_unhold(w->sock, &w->conns[sk].sock)) != SIM_SRVSOCK_NONE;)
            on_up(w, (uint32_t)h);
        break;
    }
    case EV_ASSOC_DONE:
        on_assoc_done(w, e->a, (int)e->aux);
        break;
    case EV_AGENT_START:
        on_agent_start(w, e->a, (int64_t)e->b - 1, (int32_t)e->aux - 1);
        break;
    case EV_AGENT_HTTP:
        on_agent_http(w, (int64_t)e->a, (int32_t)(int64_t)e->b);
        break;
    case EV_AGENT_EMIT:
        on_agent_emit(w, e->a);
        break;
    case EV_CORE_TIMER:
        if (e->time >= w->timer_at)
            w->timer_at = UINT64_MAX;
        if (cr_ctx_get_expiry(w->core) <= w->eng.now) {
            w->in_timer = 1;
            rc = cr_ctx_handle_expiry(w->core, w->eng.now);
            w->in_timer = 0;
            if (rc != 0)
                core_rc(w, "cr_ctx_handle_expiry", rc);
        }
        break;
    case EV_SERVER_CLOSE: {
        sconn *k = &w->conns[e->a];
        if (!k->sock.open)
            break;
        /* What the core holds for it is rejected, one report each. */
        cr_conn_info info;
        int known = conn_audit(w, k, &info) == 0;
        uint64_t rejected = w->acct.rejected;
        k->owed_switch = -1;
        w->acct.conns_open--;
        rc = sim_srvsock_close(w->sock, w->eng.now, &k->sock, (cr_close_reason)e->b);
        if (rc == 0 && known &&
            w->acct.rejected - rejected != info.queued_messages + info.preauth_messages)
            acct_fail(w,
                      "closing conn %" PRIu64
                      " that queued %zu and cached %zu messages rejected %" PRIu64,
                      k->sock.core, info.queued_messages, info.preauth_messages,
                      w->acct.rejected - rejected);
        break;
    }
    case EV_FAULT_DROP:
        if (!w->draining) /* no fault starts in the drain */
            sim_tab_fault(w->tabs, w->eng.now, (uint32_t)e->a, (int64_t)e->b);
        break;
    case EV_RECONNECT:
        if (!w->draining) /* transports that are down stay down in the drain */
            sim_tab_reconnect(w->tabs, w->eng.now, (uint32_t)e->a);
        break;
    }
    observe_step(w, e->kind == EV_CORE_TIMER);
    arm_core_timer(w);
    if (w->opts.annotate)
        note_conns(w);
}

/* explain writes the oracle's verdicts into the trace (replay timeline). */
static void explain(void *arg, const sim_pair_verdict *v)
{
    world *w = arg;
    char what[48];
    if (v->event >= 0)
        snprintf(what, sizeof what, "ev=%" PRId64, v->event);
    else
        snprintf(what, sizeof what, "never emitted: event %" PRIu32 " of", v->index);
    if (v->latency)
        TR(w, "oracle", v->kind,
           "%s msg=%" PRId64 " %s thread=%s owed from %.6f s, due %.6f s, arrived %.3f s after",
           what, v->msg, cname(w, v->tab), tname(w, v->thread), (double)v->owed_from / 1e9,
           (double)v->due / 1e9, (double)v->latency / 1e9);
    else
        TR(w, "oracle", v->kind,
           "%s msg=%" PRId64 " %s thread=%s owed from %.6f s, due %.6f s; cause %s (core said: %s)",
           what, v->msg, cname(w, v->tab), tname(w, v->thread), (double)v->owed_from / 1e9,
           (double)v->due / 1e9, sim_cause_name(v->cause), sim_said_name(v->said));
}

/* note_verdict notes one pair's verdict (every pair: sim_oracle_each). */
static void note_verdict(void *arg, const sim_pair_verdict *v)
{
    world *w = arg;
    static const char *const to[] = {"down", "-", "closed", "none"}; /* -4 .. -1 */
    const char *why_to = v->why_to >= 0               ? tname(w, v->why_to)
                         : v->why_to >= SIM_VIEW_DOWN ? to[v->why_to - SIM_VIEW_DOWN]
                                                      : "-";
    NOTE(w, "oracle", "verdict",
         "kind=%s ev=%" PRId64 " msg=%" PRId64 " index=%" PRIu32 " tab=%s thread=%s at=%" PRIu64
         " from=%" PRIu64 " due=%" PRIu64 " arrived=%" PRId64
         " cause=%s said=%s why=%s why_at=%" PRId64 " why_to=%s",
         v->kind, v->event, v->msg, v->index, cname(w, v->tab), tname(w, v->thread), v->emitted_at,
         v->owed_from, v->due, v->arrived == UINT64_MAX ? -1 : (int64_t)v->arrived,
         !strcmp(v->kind, "lost") ? sim_cause_name(v->cause) : "-", sim_said_name(v->said),
         sim_not_owed_name(v->why), v->why_at == UINT64_MAX ? -1 : (int64_t)v->why_at, why_to);
}

static void world_free(world *w)
{
    sim_tabs_free(w->tabs);
    sim_backend_free(w->backend);
    if (w->sock)
        for (size_t k = 0; k < w->nconns; k++)
            sim_srvsock_conn_free(w->sock, &w->conns[k].sock);
    sim_srvsock_free(w->sock);
    if (w->user_threads)
        for (uint32_t u = 0; u < w->nusers; u++)
            free(w->user_threads[u]);
    free(w->user_threads);
    free(w->user_threads_n);
    free(w->user_threads_cap);
    free(w->rng);
    free(w->user_id);
    free(w->first_client);
    for (size_t t = 0; t < w->nthreads; t++)
        free(w->threads[t].seq_ev);
    free(w->threads);
    free(w->conns);
    free(w->conn_by_core);
    free(w->notes);
    sim_transport_free(&w->tr);
    free(w->runs);
    free(w->evs);
    free(w->req_conn);
    cr_ctx_del(w->core);
    sim_quarantine_free(&w->heap);
    sim_oracle_free(w->oracle);
    sim_engine_free(&w->eng);
}

static int world_init(world *w, const sim_scenario *sc, const cr_policy *policy)
{
    uint64_t seed = w->opts.seed;
    w->sc = sc;
    w->horizon = sc->horizon;
    w->timer_at = UINT64_MAX;
    sim_prng sched;
    sim_prng_derive(&sched, seed, SIM_STREAM_SCHEDULE, 0);
    uint64_t explore_seed = sim_prng_next(&sched);
    sim_engine_init(&w->eng, w->opts.explore, explore_seed);
    sim_pct_opts pct = {w->opts.pct_depth, w->opts.pct_window, w->opts.pct_steps};
    if (pct.depth && sim_engine_set_pct(&w->eng, &pct, explore_seed) != 0) {
        fail(w, "bad PCT options (depth 1..%d) or out of memory", SIM_PCT_MAX_DEPTH);
        return -1;
    }
    cr_callbacks cb = {
        .deliver = cb_deliver,
        .dispatch = cb_dispatch,
        .associate = cb_associate,
        .notify = cb_notify,
        .run_go = cb_run_go,
        .close = cb_close,
        .report = cb_report,
    };
    cr_allocator mem;
    if (sim_quarantine_init(&w->heap, QUARANTINE_BLOCKS, &mem) != 0)
        return -1;
    int rc = cr_ctx_new(&w->core, policy, &cb, &mem, w);
    if (rc != 0) {
        fail(w, "cr_ctx_new: %s", cr_strerror(rc));
        return -1;
    }
    w->pol = *policy;
    w->emit_ev = -1;
    cr_ctx_get_stats(w->core, &w->stbuf[0]);
    w->st = &w->stbuf[0];
    w->nusers = sc->users;
    w->first_client = calloc(w->nusers, sizeof(uint32_t));
    w->user_threads = calloc(w->nusers, sizeof(int32_t *));
    w->user_threads_n = calloc(w->nusers, sizeof(uint32_t));
    w->user_threads_cap = calloc(w->nusers, sizeof(size_t));
    if (!w->first_client || !w->user_threads || !w->user_threads_n || !w->user_threads_cap)
        return -1;
    /* Tabs per user, each user from its own stream. */
    uint32_t total = 0;
    uint32_t *per = calloc(w->nusers, sizeof(uint32_t));
    if (!per)
        return -1;
    for (uint32_t u = 0; u < w->nusers; u++) {
        sim_prng r;
        sim_prng_derive(&r, seed, SIM_STREAM_CLIENTS, UINT64_C(1) << 40 | u);
        double n = sim_dist_sample(&sc->clients_per_user, &r);
        uint32_t k = n < 1 ? 1 : n > 64 ? 64 : (uint32_t)(n + 0.5);
        per[u] = k;
        w->first_client[u] = total;
        total += k;
    }
    w->nclients = total;
    w->rng = calloc(total ? total : 1, sizeof(sim_streams));
    w->user_id = calloc(w->nusers, sizeof(*w->user_id));
    uint32_t *user_of = calloc(total ? total : 1, sizeof(uint32_t));
    if (!w->rng || !w->user_id || !user_of) {
        free(per);
        free(user_of);
        return -1;
    }
    for (uint32_t u = 0; u < w->nusers; u++) {
        snprintf(w->user_id[u], sizeof(w->user_id[u]), "u%" PRIu32, u);
        for (uint32_t j = 0; j < per[u]; j++) {
            uint32_t c = w->first_client[u] + j;
            sim_streams_derive(&w->rng[c], seed, c);
            user_of[c] = u;
        }
    }
    free(per);
    rc = sim_oracle_new(&w->oracle, total, user_of, sc->deadline);
    free(user_of);
    if (rc != 0)
        return -1;
    if (sim_trace_new(&w->trace, w->opts.keep_trace) != 0)
        return -1;
    if (sim_transport_init(&w->tr, &sc->uplink, &sc->downlink, total) != 0)
        return -1;
    sim_tab_host th = {
        .ud = w,
        .open = tab_open,
        .send = tab_send,
        .post = tab_post,
        .close = tab_close,
        .schedule = tab_schedule,
        .thread_new = tab_thread_new,
        .thread_name = tab_thread_name,
        .thread_owner = tab_thread_owner,
        .fail = tab_fail,
    };
    sim_tabs_config tc = {
        .sc = sc,
        .nusers = w->nusers,
        .first_tab = w->first_client,
        .ntabs = total,
        .streams = w->rng,
        .oracle = w->oracle,
        .trace = tracing(w),
        .host = &th,
    };
    if (sim_tabs_new(&w->tabs, &tc) != 0)
        return -1;
    sim_backend_host bh = {
        .ud = w,
        .schedule = bk_schedule,
        .stream = bk_stream,
        .emit_begin = bk_emit_begin,
        .emitted = bk_emitted,
    };
    sim_backend_config bc = {.sc = sc, .core = w->core, .trace = tracing(w), .host = &bh};
    if (sim_backend_new(&w->backend, &bc) != 0)
        return -1;
    sim_srvsock_host sh = {
        .ud = w,
        .keep = ss_keep,
        .drop = ss_drop,
        .ack = ss_ack,
        .unparked = ss_unparked,
        .before = ss_before,
        .after = ss_after,
        .oom = ss_oom,
    };
    sim_srvsock_config scfg = {.core = w->core, .trace = tracing(w), .host = &sh};
    if (sim_srvsock_new(&w->sock, &scfg) != 0)
        return -1;
    for (uint32_t c = 0; c < total; c++)
        if (sim_tab_start(w->tabs, 0, c) != 0)
            return -1;
    return 0;
}

/* ---- drain, watchdog, liveness ------------------------------------------------- */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* sim_world_drain_bound: the scenario's `drain:`, or the longest of
 * event_ttl, pending_deadline, exec_grace and the full retry backoff
 * (update_backoff doubling over update_retries), plus the deadline.  The
 * run counts it from the drain's start or its latest input to the core,
 * whichever is later (gives_input). */
uint64_t sim_world_drain_bound(const sim_scenario *sc, const cr_policy *policy)
{
    if (sc->drain)
        return sc->drain;
    uint64_t ttl = 0, pend = 0, grace = 0, retries = 0, backoff = 0, full = 0;
    cr_policy_get(policy, "event_ttl", &ttl);
    cr_policy_get(policy, "pending_deadline", &pend);
    cr_policy_get(policy, "exec_grace", &grace);
    cr_policy_get(policy, "update_retries", &retries);
    cr_policy_get(policy, "update_backoff", &backoff);
    for (uint64_t k = 0; k < retries && k < 63; k++)
        full = sat_add(full, sat_mul(backoff, UINT64_C(1) << k));
    uint64_t m = ttl;
    m = pend > m ? pend : m;
    m = grace > m ? grace : m;
    m = full > m ? full : m;
    return sat_add(m, sc->deadline);
}

/* sim_world_step_budget: the default --max-steps of a scenario: generous
 * (16x) over the engine events its scripts can cause, each step counted
 * with a full agent run and its deliveries to every tab of the user. */
uint64_t sim_world_step_budget(const sim_scenario *sc, uint32_t nclients)
{
    uint64_t per_step = 64 + 16 * (uint64_t)sc->nagent_events;
    uint64_t per_client =
        sat_add(256, sat_mul(sim_scenario_unrolled_steps(sc->steps, sc->nsteps), per_step));
    return sat_add(1000000, sat_mul(16, sat_mul(nclients ? nclients : 1, per_client)));
}

static const char *ev_kind_name(uint32_t k)
{
    static const char *const names[] = {"?",          "client-step", "uplink",       "downlink",
                                        "auth-done",  "assoc-done",  "agent-start",  "agent-http",
                                        "agent-emit", "core-timer",  "server-close", "fault-drop",
                                        "reconnect"};
    return k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

typedef struct dump_arg {
    world *w;
    uint64_t end;
    char *out;
    size_t len;
    int shown;
} dump_arg;

/* field: the value of "key=" in a cr_ctx_dump line, copied into buf. */
static const char *field(const char *line, const char *key, char *buf, size_t len)
{
    const char *p = strstr(line, key);
    size_t n = 0;
    if (p)
        for (p += strlen(key); *p && *p != ' ' && *p != '\n' && n + 1 < len; p++)
            buf[n++] = *p;
    buf[n] = '\0';
    return buf;
}

/* stranded_line names, from the core's diagnostics dump, the streams that
 * still hold undelivered events: user/thread, how many, and the oldest
 * event the core never sent to anyone (its seq and how long it waited). */
static int stranded_line(void *arg, const char *line, size_t len)
{
    dump_arg *a = arg;
    (void)len;
    char user[64], thread[64], undel[24];
    if (strncmp(line, "stream ", 7) != 0 ||
        strcmp(field(line, "undelivered=", undel, sizeof undel), "0") == 0 || a->shown >= 3)
        return 0;
    field(line, "user=", user, sizeof user);
    field(line, "thread=", thread, sizeof thread);
    int32_t t = thread_lookup(a->w, user, thread);
    uint64_t seq = 0, at = 0;
    for (size_t i = 0; t >= 0 && i < a->w->threads[t].nseq && !seq; i++) /* O(stream) */
        if (!sim_oracle_event_sent(a->w->oracle, a->w->threads[t].seq_ev[i])) {
            seq = i + 1;
            at = sim_oracle_event_time(a->w->oracle, a->w->threads[t].seq_ev[i]);
        }
    size_t o = strlen(a->out);
    if (o + 1 < a->len)
        snprintf(a->out + o, a->len - o,
                 "%s%s/%s: %s undelivered, oldest seq %" PRIu64 " waited %.3f s",
                 a->shown ? "; " : "", user, thread, undel, seq,
                 seq ? (double)(a->end - at) / 1e9 : 0.0);
    a->shown++;
    return 0;
}

/* audit_end: the promises checked once the world stopped: every run
 * whose exec_grace ended got run_go, every landed switch its
 * THREAD_SWITCHED.  O(runs + conns). */
static void audit_end(world *w)
{
    for (size_t i = 0; i < w->capruns; i++) {
        const srun *r = &w->runs[i];
        if (r->started && !r->went && w->eng.now > sat_add(r->started_at, w->pol.exec_grace))
            acct_fail(w, "run %zu started at %.6f s never got run_go (exec_grace %.3f s)", i,
                      (double)r->started_at / 1e9, (double)w->pol.exec_grace / 1e9);
    }
    for (size_t k = 0; k < w->nconns; k++) {
        cr_conn_info info;
        if (w->conns[k].sock.open && w->conns[k].sock.core)
            conn_audit(w, &w->conns[k], &info);
    }
    uint64_t written = sim_quarantine_check(&w->heap);
    if (written)
        acct_fail(w, "the core wrote into %" PRIu64 " block(s) after freeing them", written);
}

int sim_world_run(const sim_scenario *sc, const cr_policy *policy, const sim_world_opts *opts,
                  sim_seed_result *res, sim_trace **trace_out)
{
    world w;
    memset(&w, 0, sizeof(w));
    w.opts = *opts;
    if (opts->pct_depth && !opts->pct_steps) { /* k: the seed's own step count, unexplored */
        sim_world_opts plain = {.seed = opts->seed, .no_trace = 1, .max_steps = opts->max_steps};
        sim_world_run(sc, policy, &plain, res, NULL);
        w.opts.pct_steps = res->events ? res->events : 1;
    }
    memset(res, 0, sizeof(*res));
    res->seed = opts->seed;
    /* The memory budget before the start: setting up every tab could
     * cross it before the first event is looked at. */
    if (sim_budget_memory()) {
        sim_cost c;
        sim_cost_estimate(sc, 1, &c);
        uint64_t have = sim_budget_resident();
        if (sat_add(have, c.seed_bytes) > sim_budget_memory()) {
            snprintf(res->reason, sizeof(res->reason),
                     "memory budget exceeded: setting up %" PRIu64
                     " tabs takes about %.1f MiB, the process holds %.1f MiB, the budget is "
                     "%.1f MiB (--max-memory)",
                     c.tabs, (double)c.seed_bytes / 1048576.0, (double)have / 1048576.0,
                     (double)sim_budget_memory() / 1048576.0);
            res->c[SIM_COUNT_ERRORS] = 1;
            return -1;
        }
    }
    if (world_init(&w, sc, policy) != 0) {
        snprintf(res->reason, sizeof(res->reason), "setup failed: %s",
                 w.failed ? w.why : "out of memory");
        res->c[SIM_COUNT_ERRORS] = 1;
        sim_trace_free(w.trace);
        world_free(&w);
        return -1;
    }
    uint64_t budget = opts->max_steps ? opts->max_steps : sim_world_step_budget(sc, w.nclients);
    uint64_t drain_bound = sim_world_drain_bound(sc, policy);
    sim_event e, ring[8];
    uint64_t events = 0, qsum = 0, drain_end = UINT64_MAX;
    int livelock = 0;
    for (;;) {
        if (w.failed)
            break;
        uint64_t next = sim_engine_peek_time(&w.eng);
        /* The drain starts at the horizon, or once every script has
         * finished: from then on no step, fault or reconnect starts. */
        uint32_t ndone = sim_tabs_done(w.tabs);
        if (!w.draining && (next > w.horizon || ndone == w.nclients)) {
            w.draining = 1;
            w.drain_at = ndone == w.nclients && w.eng.now < w.horizon ? w.eng.now : w.horizon;
            drain_end = sat_add(w.drain_at, drain_bound);
            uint64_t now = w.eng.now;
            w.eng.now = w.drain_at > now ? w.drain_at : now;
            TR(&w, "world", "drain",
               "no new steps, faults or reconnects; in flight and core timers go on until %.3f s, "
               "or %.3f s after the latest input to the core",
               (double)drain_end / 1e9, (double)drain_bound / 1e9);
            w.eng.now = now;
        }
        /* The bound runs from the drain's start or the latest input,
         * whichever is later (gives_input). */
        if (w.draining && w.input_at > w.drain_at)
            drain_end = sat_add(w.input_at, drain_bound);
        if (next > drain_end || !sim_engine_pop(&w.eng, &e))
            break;
        if (events >= budget) {
            livelock = 1;
            break;
        }
        /* The bounds outside the scenario (sim/budget.h): a stop request
         * and the memory budget, every SIM_BUDGET_CHECK_EVERY events. */
        if (events % SIM_BUDGET_CHECK_EVERY == 0) {
            char why[160];
            if (sim_budget_stopped()) {
                fail(&w, "interrupted by signal %d after %" PRIu64 " events at %.6f s",
                     sim_budget_stopped(), events, (double)w.eng.now / 1e9);
                w.halted = 1;
                break;
            }
            if (sim_budget_over(why, sizeof why)) {
                fail(&w, "memory budget exceeded: %s after %" PRIu64 " events at %.6f s", why,
                     events, (double)w.eng.now / 1e9);
                w.halted = 1;
                break;
            }
        }
        ring[events % 8] = e;
        events++;
        qsum += w.eng.len + 1;
        if (w.eng.len + 1 > res->queue_peak)
            res->queue_peak = w.eng.len + 1;
        handle(&w, &e);
    }
    if (w.halted && sim_budget_stopped()) {
        /* A stop request: the seed is dropped unjudged (sim_sweep_run),
         * so nothing is counted; only what it holds is freed. */
        res->events = events;
        snprintf(res->reason, sizeof(res->reason), "%s", w.why);
        res->c[SIM_COUNT_ERRORS] = 1;
        if (trace_out)
            *trace_out = w.trace;
        else
            sim_trace_free(w.trace);
        w.trace = NULL;
        world_free(&w);
        return -1;
    }
    /* Quiet: nothing left to happen, so what is owed and missing never
     * comes; otherwise observation ends at the drain bound. */
    int quiet = !livelock && !w.failed && sim_engine_peek_time(&w.eng) == UINT64_MAX;
    uint64_t end = quiet ? UINT64_MAX : (livelock || w.failed) ? w.eng.now : drain_end;
    if (!livelock && !w.failed && !w.acct_counters_bad) {
        /* Once per seed, the O(connections) level of the core's invariants:
         * every connection's fields, the per-state counts, every stream's
         * buffer bounds (sim/invariant.h). */
        char why[160];
        sim_invariant_scope scope = {.streams = w.nthreads, .conns = w.acct.conns_opened};
        if (sim_invariant_check_all(w.core, &scope, why, sizeof why))
            acct_fail(&w, "%s", why);
    }
    res->events = events;
    res->queue_mean = events ? qsum / events : 0;
    sim_engine_stats es;
    sim_engine_get_stats(&w.eng, &es);
    res->tie_reorders = es.tie_reorders;
    res->window_reorders = es.window_reorders;
    res->max_delay = es.max_delay;
    res->pct_actors = es.actors;
    res->pct_steps = w.opts.pct_depth ? w.opts.pct_steps : 0;
    res->pct_changes = es.change_points;
    res->end_time = w.eng.now;
    sim_oracle_finish(w.oracle, end, res->c, &res->latency);
    /* The run's identity is the trace of what happened; the oracle's
     * verdicts appended below (replay) are commentary, outside the hash. */
    res->trace_hash = sim_trace_hash(w.trace);
    res->steps = sim_trace_steps(w.trace);
    if (opts->keep_trace)
        sim_oracle_explain(w.oracle, end, explain, &w);
    if (opts->keep_trace && opts->annotate) {
        NOTE(&w, "world", "end", "end=%" PRId64 " deadline=%" PRIu64 " drain=%" PRIu64,
             end == UINT64_MAX ? -1 : (int64_t)end, w.sc->deadline, w.drain_at);
        sim_oracle_each(w.oracle, end, note_verdict, &w);
    }
    /* Liveness, read off the core after the drain: connections that were
     * given a thread but never became READY, and events still waiting. */
    for (size_t k = 0; k < w.nconns && !livelock && !w.failed; k++) {
        const sconn *kc = &w.conns[k];
        cr_conn_info info;
        if (!kc->sock.open || !kc->given_thread ||
            cr_conn_get_info(w.core, kc->sock.core, &info) != 0)
            continue;
        if (info.state != CR_CONN_READY)
            res->c[SIM_COUNT_STUCK_PENDING]++;
    }
    if (!livelock && !w.failed)
        audit_end(&w);
    res->coverage = w.cov;
    res->c[SIM_COUNT_ACCOUNTING] = livelock || w.failed ? 0 : w.acct_bad;
    snprintf(res->accounting, sizeof res->accounting, "%s", w.acct_why);
    cr_stats st;
    cr_ctx_get_stats(w.core, &st);
    res->c[SIM_COUNT_STRANDED] = livelock || w.failed ? 0 : st.events_buffered_now; /* unfinished */
    res->c[SIM_COUNT_RUNS] = st.runs_started;
    /* What the seed held, by component (make bench): read before anything
     * is freed.  mallinfo2 walks malloc's arenas: microseconds, once. */
    res->mem.core_peak = w.heap.peak;
    res->mem.engine = sim_engine_bytes(&w.eng);
    res->mem.oracle = sim_oracle_bytes(w.oracle);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    res->mem.heap = mi.uordblks + mi.hblkhd; /* in use: arenas and mmapped blocks */
#endif
    int rc = 0;
    if (livelock) {
        int n = snprintf(res->reason, sizeof(res->reason),
                         "livelock: step budget of %" PRIu64 " exhausted at %.6f s; last steps:",
                         budget, (double)w.eng.now / 1e9);
        for (uint64_t i = events >= 8 ? events - 8 : 0; i < events && n > 0; i++) {
            const sim_event *r = &ring[i % 8];
            size_t o = strlen(res->reason);
            if (o + 1 < sizeof(res->reason))
                snprintf(res->reason + o, sizeof(res->reason) - o, " %s@%.6f",
                         ev_kind_name(r->kind), (double)r->time / 1e9);
        }
        res->c[SIM_COUNT_LIVELOCK] = 1;
        rc = -1;
    } else if (w.failed) {
        snprintf(res->reason, sizeof(res->reason), "%s%s",
                 w.halted ? "" : "simulation error: ", w.why);
        res->c[SIM_COUNT_ERRORS] = 1;
        rc = -1;
    } else if (res->c[SIM_COUNT_STRANDED]) {
        /* Observed until the drain bound (or, quiet, until the last step). */
        uint64_t until = quiet ? (w.eng.now > w.drain_at ? w.eng.now : w.drain_at) : drain_end;
        char names[128] = "";
        dump_arg a = {&w, until, names, sizeof names, 0};
        cr_ctx_dump(w.core, stranded_line, &a);
        uint64_t ms = (until - w.drain_at) / 1000000;
        snprintf(res->stranded, sizeof(res->stranded),
                 "still buffered %" PRIu64 ".%03u s after the drain began: %.120s", ms / 1000,
                 (unsigned)(ms % 1000), names);
    }
    if (trace_out)
        *trace_out = w.trace;
    else
        sim_trace_free(w.trace);
    w.trace = NULL;
    world_free(&w);
    return rc;
}
