/*
 * drive.c - the real-client host of the tabs (sim/drive.h).
 *
 * Three kinds of things happen, all on one libwebsockets loop
 * (sim/wsclient.h):
 *   - a tab's timer (its next step, its reconnect, its fault) comes due:
 *     sim_tab_step / _reconnect / _fault, which call back into the host to
 *     open connections and send frames (JSON, docs/protocol.md);
 *   - a frame reaches a tab's socket: it is held for a downlink delay, then
 *     decoded into a sim_frame and handed to sim_tab_receive (or, when the
 *     tab let go of the connection meanwhile, to sim_tab_lost);
 *   - a frame reaches the control connection: the server's account of what
 *     its core and agents did, fed to the oracle at once (not held).
 * Ids on the wire: a message's tag is its slot's tag base + its oracle id
 * + 1, a switch's tag the base + SWITCH_TAGS + its selection number; an
 * event is known by the server's tag, mapped to the oracle's event id when
 * the control side reports its emit (an event frame that overtakes its emit
 * waits for it, bounded).
 */
#include "sim/drive.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sim/budget.h"
#include "sim/grow.h"
#include "sim/oracle.h"
#include "sim/streams.h"
#include "sim/sweep.h"
#include "sim/tab.h"
#include "sim/verdict.h"
#include "sim/world.h"
#include "sim/wsclient.h"

#define CLIENT_PROTO  "ctxready.v1"
#define CONTROL_PROTO "ctxready-control.v1"
#define SWITCH_TAGS   (UINT64_C(1) << 23) /* per slot: message tags below, switch tags above */
#define TAG_BLOCK     (UINT64_C(1) << 24) /* tags per seed */
#define MAX_PENDING   65536               /* event frames waiting for their emit */
#define QUIET_NS      (250 * UINT64_C(1000000)) /* control silence that makes a seed quiet */
#define NO_SLOT       UINT32_MAX

/* A u64 -> u64 open-addressing map (key 0 is never stored). */
typedef struct map {
    uint64_t *k, *v;
    size_t cap, n;
} map;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return x;
}

static int map_put(map *m, uint64_t k, uint64_t v)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 256;
        uint64_t *nk = calloc(nc, sizeof *nk), *nv = calloc(nc, sizeof *nv);
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->k[i]) {
                size_t j = mix(m->k[i]) & (nc - 1);
                while (nk[j])
                    j = (j + 1) & (nc - 1);
                nk[j] = m->k[i];
                nv[j] = m->v[i];
            }
        free(m->k);
        free(m->v);
        m->k = nk;
        m->v = nv;
        m->cap = nc;
    }
    size_t j = mix(k) & (m->cap - 1);
    while (m->k[j] && m->k[j] != k)
        j = (j + 1) & (m->cap - 1);
    if (!m->k[j])
        m->n++;
    m->k[j] = k;
    m->v[j] = v;
    return 0;
}

static int map_get(const map *m, uint64_t k, uint64_t *v)
{
    if (!m->cap || !k)
        return 0;
    size_t j = mix(k) & (m->cap - 1);
    while (m->k[j]) {
        if (m->k[j] == k) {
            *v = m->v[j];
            return 1;
        }
        j = (j + 1) & (m->cap - 1);
    }
    return 0;
}

static void map_free(map *m)
{
    free(m->k);
    free(m->v);
    memset(m, 0, sizeof *m);
}

static uint64_t fnv(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * UINT64_C(1099511628211);
    return h ? h : 1;
}

/* ---- state -------------------------------------------------------------------- */

typedef struct dthread {
    char name[112]; /* on the wire: "<user>/t<K>" or "<owner>/x<for>.<index>" */
    uint32_t owner;
} dthread;

/* One seed in flight. */
typedef struct slot {
    int used;
    uint32_t result; /* index into the sweep's seeds */
    uint64_t seed;
    uint64_t t0;      /* when it started (driver time) */
    uint64_t tagbase; /* its message tags: tagbase + msg + 1 */
    char prefix[40];  /* "<run>s<seed>" */
    uint32_t nusers, ntabs;
    uint32_t *first_tab;
    char (*user)[64];
    uint32_t *tab_user;
    sim_streams *streams;
    sim_oracle *oracle;
    sim_tabs *tabs;
    dthread *threads;
    size_t nthreads, capthreads;
    uint32_t *user_nthreads;
    uint32_t *msg_req; /* per oracle message: the selection number it carried */
    size_t capreq;
    uint8_t *msg_seen; /* per oracle message: 1 accepted, 2 refused (first offer only) */
    size_t capseen;
    uint64_t runs, emits, runs_done; /* runs started, events emitted, runs that emitted all */
    int64_t unstarted;               /* ws messages accepted whose run has not started */
    int draining;
    uint64_t drain_at, input_at, last_ctrl, hard_end;
    int failed;
    char why[200];
    uint32_t gen;     /* which seed of the drive it holds (refs of an earlier one are stale) */
    size_t conn_from; /* its connections have ids from here (ids only grow) */
} slot;

/* What the driver knows of one of its connections (a ws conn id). */
typedef struct dconn {
    uint32_t slot; /* NO_SLOT: the control connection */
    uint32_t tab;
    uint64_t core; /* the server's conn id (its hello), 0 unknown */
    int32_t evid_thread;
    uint64_t evid_gen;
    uint64_t ended_at; /* when the tab let go of it (frames after are lost), 0 not yet */
} dconn;

/* An event frame that arrived before the control side reported its emit. */
typedef struct pending {
    uint32_t conn;
    uint64_t tag;
    sim_frame f;
    int gone;
} pending;

/* A message to post over HTTP when its uplink delay has passed. */
typedef struct post {
    uint32_t slot, tab;
    sim_frame f;
    int used;
    int state; /* 0 waiting for its uplink delay, 1 connecting/writing, 2 reading */
    int fd;
    char *req;
    size_t len, off;
    uint64_t started;
} post;

typedef struct hostctx {
    struct drive *d;
    uint32_t slot;
} hostctx;

typedef struct drive {
    const sim_scenario *sc;
    hostctx *hctx; /* per slot: the tabs' host ud */
    const sim_drive_opts *o;
    sim_ws_url url;
    sim_ws *ws;
    uint32_t ctrl;
    int ctrl_open, ctrl_hello, fatal;
    char fatal_why[300];
    char server_profile[16];
    double server_scale;
    size_t server_events; /* agent_events in the server's hello, 0 unknown */
    char run_id[12];      /* the per-invocation user prefix */
    uint64_t tag_nonce;
    uint32_t next_block;
    slot *slots;
    uint32_t nslots;
    dconn *conns;
    size_t nconns, capconns;
    map ev_of;    /* event tag -> ref_of(slot, oracle event) */
    map conn_of;  /* server conn id -> ws conn + 1 */
    map thr_of;   /* fnv(thread name) -> slot << 32 | thread index */
    map seq_of;   /* fnv(thread name) ^ mix(seq) -> ref_of(slot, event) (replay gaps) */
    map run_of;   /* server run id -> ref_of(slot, message) */
    uint32_t gen; /* seeds started: a slot's generation in the refs */
    pending *pend;
    size_t npend, cappend;
    post *posts;
    size_t nposts, capposts;
    const char *token;
    cr_policy policy;
    uint64_t drain_bound;
    uint64_t ctrl_frames;
    struct sockaddr_storage addr; /* the server's, for the posts */
    socklen_t addrlen;
    int post_armed;
    double scale;
    FILE *log; /* $CTXSIM_DRIVE_LOG: every frame in and out, with the driver's time */
} drive;

static void slot_fail(slot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void slot_fail(slot *s, const char *fmt, ...)
{
    if (s->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
    s->failed = 1;
}

static void fatal(drive *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fatal(drive *d, const char *fmt, ...)
{
    if (d->fatal)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->fatal_why, sizeof d->fatal_why, fmt, ap);
    va_end(ap);
    d->fatal = SIM_DRIVE_EENV;
}

static uint64_t now_of(drive *d)
{
    return sim_ws_now(d->ws);
}

/* ---- ids ---------------------------------------------------------------------- */

static slot *slot_of_tag(drive *d, uint64_t tag, uint64_t *off)
{
    for (uint32_t i = 0; i < d->nslots; i++) {
        slot *s = &d->slots[i];
        if (s->used && tag > s->tagbase && tag < s->tagbase + TAG_BLOCK) {
            *off = tag - s->tagbase;
            return s;
        }
    }
    return NULL;
}

/* msg_of: the slot and oracle message of a message tag; -1 if not ours. */
static int64_t msg_of(drive *d, uint64_t tag, slot **sp)
{
    uint64_t off;
    slot *s = slot_of_tag(d, tag, &off);
    if (!s || off >= SWITCH_TAGS)
        return -1;
    *sp = s;
    return (int64_t)off - 1;
}

static int32_t thread_of(drive *d, const slot *s, const char *name)
{
    uint64_t v;
    if (!name || !map_get(&d->thr_of, fnv(name), &v) || (uint32_t)(v >> 32) != s - d->slots)
        return -1;
    int32_t t = (int32_t)(uint32_t)v;
    return (size_t)t < s->nthreads && strcmp(s->threads[t].name, name) == 0 ? t : -1;
}

static dconn *conn_at(drive *d, uint32_t c)
{
    return c < d->nconns ? &d->conns[c] : NULL;
}

static int64_t wsconn_of_core(drive *d, uint64_t core)
{
    uint64_t v;
    return core && map_get(&d->conn_of, core, &v) ? (int64_t)v - 1 : -1;
}

/* ---- JSON helpers ------------------------------------------------------------- */

static uint64_t jint(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int jflags(const json_t *o)
{
    int f = 0;
    const json_t *a = json_object_get(o, "flags");
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *s = json_string_value(v);
        if (s && !strcmp(s, "replay"))
            f |= CR_EVENT_REPLAY;
        else if (s && !strcmp(s, "notification"))
            f |= CR_EVENT_NOTIFICATION;
    }
    return f;
}

/* send_json sends object o (stolen) on conn after `delay`. */
static void send_json(drive *d, slot *s, uint32_t conn, json_t *o, uint64_t delay)
{
    char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (d->log && txt)
        fprintf(d->log, "%.6f send conn=%" PRIu32 " +%.3fms %s\n", (double)now_of(d) / 1e9, conn,
                (double)delay / 1e6, txt);
    if (!txt || sim_ws_send(d->ws, conn, txt, strlen(txt), delay) != 0)
        slot_fail(s, "out of memory (sending a frame)");
    free(txt);
}

static uint64_t uplink(slot *s, uint32_t tab, const drive *d)
{
    return sim_dist_sample_ns(&d->sc->uplink, &s->streams[tab].net);
}

/* ---- the tabs' host ------------------------------------------------------------- */

/* Timer keys: slot (8 bits) | what (4) | tab (20) | conn (32). */
enum { K_STEP = SIM_TAB_STEP, K_RECONNECT = SIM_TAB_RECONNECT, K_FAULT = SIM_TAB_FAULT, K_POST };

static uint64_t key_of(uint32_t slot_i, uint32_t what, uint32_t tab, uint64_t conn)
{
    return (uint64_t)slot_i << 56 | (uint64_t)what << 52 | (uint64_t)(tab & 0xfffff) << 32 |
           (conn & 0xffffffffu);
}

static int64_t h_open(void *ud, uint64_t now, uint32_t tab)
{
    hostctx *h = ud;
    drive *d = h->d;
    slot *s = &d->slots[h->slot];
    uint32_t c;
    /* ws conn ids are 0, 1, ... (the control connection is 0): d->conns by id */
    if (sim_ws_connect(d->ws, &d->url, "/ws", CLIENT_PROTO, uplink(s, tab, d), &c) != 0 ||
        sim_grow((void **)&d->conns, &d->capconns, (size_t)c + 1, sizeof(dconn))) {
        slot_fail(s, "out of memory (connections)");
        return -1;
    }
    while (d->nconns <= c)
        d->conns[d->nconns++] = (dconn){NO_SLOT, 0, 0, -1, 0, 0};
    d->conns[c] = (dconn){h->slot, tab, 0, -1, 0, 0};
    (void)now;
    return c;
}

static void h_send(void *ud, uint64_t now, uint32_t tab, int64_t conn, const sim_frame *f)
{
    hostctx *h = ud;
    drive *d = h->d;
    slot *s = &d->slots[h->slot];
    json_t *o = NULL;
    const char *thread =
        f->thread >= 0 && (size_t)f->thread < s->nthreads ? s->threads[f->thread].name : NULL;
    switch (f->kind) {
    case SIM_FRAME_AUTH:
        o = json_pack("{s:s, s:s, s:s}", "op", "auth", "user", s->user[s->tab_user[tab]], "token",
                      d->token);
        break;
    case SIM_FRAME_MESSAGE:
        if (f->msg < 0)
            return;
        if (sim_grow((void **)&s->msg_req, &s->capreq, (size_t)f->msg + 1, sizeof(uint32_t)))
            return slot_fail(s, "out of memory (messages)");
        s->msg_req[f->msg] = f->req;
        o = json_pack("{s:s, s:s?, s:I, s:I, s:s}", "op", "message", "thread", thread, "last_seq",
                      (json_int_t)f->seq, "tag", (json_int_t)(s->tagbase + (uint64_t)f->msg + 1),
                      "payload", "hello");
        break;
    case SIM_FRAME_SWITCH:
        if (!thread)
            return;
        o = json_pack("{s:s, s:s, s:I, s:I}", "op", "switch", "thread", thread, "last_seq",
                      (json_int_t)f->seq, "tag", (json_int_t)(s->tagbase + SWITCH_TAGS + f->req));
        break;
    default:
        return;
    }
    send_json(d, s, (uint32_t)conn, o, uplink(s, tab, d));
    (void)now;
}

static void h_post(void *ud, uint64_t now, uint32_t tab, const sim_frame *f)
{
    hostctx *h = ud;
    drive *d = h->d;
    slot *s = &d->slots[h->slot];
    if (sim_grow((void **)&d->posts, &d->capposts, d->nposts + 1, sizeof(post)))
        return slot_fail(s, "out of memory (posts)");
    uint32_t i = (uint32_t)d->nposts++;
    d->posts[i] = (post){.slot = h->slot, .tab = tab, .f = *f, .used = 1, .fd = -1};
    if (sim_ws_timer(d->ws, now + uplink(s, tab, d), key_of(h->slot, K_POST, tab, i)) != 0)
        slot_fail(s, "out of memory (timers)");
}

static void h_close(void *ud, uint64_t now, uint32_t tab, int64_t conn, sim_tab_close how)
{
    hostctx *h = ud;
    drive *d = h->d;
    slot *s = &d->slots[h->slot];
    if (conn < 0)
        return;
    dconn *k = conn_at(d, (uint32_t)conn);
    if (k && !k->ended_at)
        k->ended_at = now ? now : 1;
    if (how == SIM_TAB_CLOSE)
        sim_ws_close(d->ws, (uint32_t)conn, uplink(s, tab, d));
    else /* DROP: the server notices an uplink delay later; GONE: already closing */
        sim_ws_drop(d->ws, (uint32_t)conn, how == SIM_TAB_DROP ? uplink(s, tab, d) : 0);
}

static void h_schedule(void *ud, uint64_t when, uint32_t tab, sim_tab_timer timer, int64_t conn)
{
    hostctx *h = ud;
    drive *d = h->d;
    if (sim_ws_timer(d->ws, when, key_of(h->slot, timer, tab, (uint64_t)conn)) != 0)
        slot_fail(&d->slots[h->slot], "out of memory (timers)");
}

static int32_t h_thread_new(void *ud, uint64_t now, uint32_t owner, int32_t foreign_for)
{
    hostctx *h = ud;
    drive *d = h->d;
    slot *s = &d->slots[h->slot];
    if (owner >= s->nusers ||
        sim_grow((void **)&s->threads, &s->capthreads, s->nthreads + 1, sizeof(dthread))) {
        slot_fail(s, "out of memory (threads)");
        return -1;
    }
    int32_t t = (int32_t)s->nthreads++;
    dthread *th = &s->threads[t];
    th->owner = owner;
    if (foreign_for >= 0)
        snprintf(th->name, sizeof th->name, "%.64s/x%" PRId32 ".%" PRId32, s->user[owner],
                 foreign_for, t);
    else
        snprintf(th->name, sizeof th->name, "%.64s/t%" PRIu32, s->user[owner],
                 ++s->user_nthreads[owner]);
    if (map_put(&d->thr_of, fnv(th->name), (uint64_t)h->slot << 32 | (uint32_t)t) != 0)
        slot_fail(s, "out of memory (threads)");
    (void)now;
    return t;
}

static const char *h_thread_name(void *ud, int32_t t)
{
    hostctx *h = ud;
    slot *s = &h->d->slots[h->slot];
    return t >= 0 && (size_t)t < s->nthreads ? s->threads[t].name : "-";
}

static uint32_t h_thread_owner(void *ud, int32_t t)
{
    hostctx *h = ud;
    slot *s = &h->d->slots[h->slot];
    return t >= 0 && (size_t)t < s->nthreads ? s->threads[t].owner : 0;
}

static void h_fail(void *ud, const char *why)
{
    hostctx *h = ud;
    slot_fail(&h->d->slots[h->slot], "%s", why);
}

/* ---- HTTP posts ------------------------------------------------------------------ */

/* An HTTP post goes out on a non-blocking loopback socket when its uplink
 * delay has passed (post_start), and is driven by a poll timer every
 * POST_POLL (post_poll): connect, write the request, read the status
 * line, close.  The loop never blocks on it.  A post the server does not
 * answer within POST_LIMIT of real time ends the drive (exit 3). */
#define POST_POLL_REAL_NS (500 * UINT64_C(1000)) /* real time between polls */
#define POST_LIMIT_S      5.0

static void post_end(drive *d, post *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    free(p->req);
    p->req = NULL;
    p->used = 0;
    while (d->nposts && !d->posts[d->nposts - 1].used)
        d->nposts--;
}

static void post_poll_arm(drive *d)
{
    uint64_t v = (uint64_t)((double)POST_POLL_REAL_NS /
                            (d->o->time_scale > 0 ? d->o->time_scale : d->scale));
    if (!d->post_armed && sim_ws_timer(d->ws, now_of(d) + v, UINT64_C(255) << 56) == 0)
        d->post_armed = 1;
}

/* post_step advances one post without blocking; 1 while it is in flight. */
static int post_step(drive *d, post *p)
{
    if (p->state == 1) { /* connecting, then writing */
        struct pollfd pf = {p->fd, POLLOUT, 0};
        if (poll(&pf, 1, 0) <= 0)
            return 1;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        ssize_t n = soerr ? -1 : write(p->fd, p->req + p->off, p->len - p->off);
        if (n < 0 && !soerr && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 1;
        if (n < 0) {
            fatal(d, "POST /message to %s:%d: %s", d->url.host, d->url.port,
                  strerror(soerr ? soerr : errno));
            return 0;
        }
        p->off += (size_t)n;
        if (p->off == p->len)
            p->state = 2;
        return 1;
    }
    char resp[256];
    ssize_t got = read(p->fd, resp, sizeof resp - 1);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 1;
    int status = -1;
    if (got > 0) {
        resp[got] = 0;
        if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
            status = -1;
    }
    if (d->log)
        fprintf(d->log, "%.6f post tag=%" PRId64 " -> %d\n", (double)now_of(d) / 1e9, p->f.msg,
                status);
    if (status < 0)
        fatal(d, "POST /message to %s:%d: no HTTP answer", d->url.host, d->url.port);
    /* 4xx: the control side reports no run; the oracle sees none accepted */
    return 0;
}

static void post_poll(drive *d)
{
    d->post_armed = 0;
    int left = 0;
    uint64_t now = now_of(d);
    for (size_t i = 0; i < d->nposts; i++) {
        post *p = &d->posts[i];
        if (!p->used || p->state == 0)
            continue;
        if ((double)(now - p->started) * d->scale > POST_LIMIT_S * 1e9) {
            fatal(d, "POST /message to %s:%d: no answer within %.0f s", d->url.host, d->url.port,
                  POST_LIMIT_S);
            post_end(d, p);
            continue;
        }
        if (post_step(d, p))
            left = 1;
        else
            post_end(d, p);
    }
    if (left)
        post_poll_arm(d);
}

static void post_start(drive *d, uint32_t i)
{
    if (i >= d->nposts || !d->posts[i].used)
        return;
    post *p = &d->posts[i];
    slot *s = &d->slots[p->slot];
    if (!s->used || p->f.msg < 0)
        return post_end(d, p);
    const char *thread =
        p->f.thread >= 0 && (size_t)p->f.thread < s->nthreads ? s->threads[p->f.thread].name : NULL;
    json_t *o = json_pack("{s:s, s:s, s:s?, s:I, s:s}", "user", s->user[s->tab_user[p->tab]],
                          "token", d->token, "thread", thread, "tag",
                          (json_int_t)(s->tagbase + (uint64_t)p->f.msg + 1), "payload", "hello");
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    size_t cap = (body ? strlen(body) : 0) + 512;
    p->req = body ? malloc(cap) : NULL;
    if (!p->req) {
        free(body);
        slot_fail(s, "out of memory (posts)");
        return post_end(d, p);
    }
    int n = snprintf(p->req, cap,
                     "POST /message HTTP/1.1\r\nHost: %.200s:%d\r\nContent-Type: "
                     "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     d->url.host, d->url.port, strlen(body), body);
    if (d->log)
        fprintf(d->log, "%.6f post %s\n", (double)now_of(d) / 1e9, body);
    free(body);
    p->len = n > 0 ? (size_t)n : 0;
    p->off = 0;
    p->fd = socket(d->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0 ||
        (connect(p->fd, (struct sockaddr *)&d->addr, d->addrlen) != 0 && errno != EINPROGRESS)) {
        fatal(d, "POST /message to %s:%d: %s", d->url.host, d->url.port, strerror(errno));
        return post_end(d, p);
    }
    p->state = 1;
    p->started = now_of(d);
    if (post_step(d, p))
        post_poll_arm(d);
    else
        post_end(d, p);
}

/* resolve_addr looks up the server's address once (for the posts). */
static int resolve_addr(drive *d, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    char port[8];
    snprintf(port, sizeof port, "%d", d->url.port);
    int rc = getaddrinfo(d->url.host, port, &hints, &ai);
    if (rc != 0 || !ai || ai->ai_addrlen > sizeof d->addr) {
        snprintf(err, errlen, "cannot resolve %.100s: %.80s", d->url.host,
                 rc ? gai_strerror(rc) : "no address");
        if (ai)
            freeaddrinfo(ai);
        return -1;
    }
    memcpy(&d->addr, ai->ai_addr, ai->ai_addrlen);
    d->addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* ---- the control side ------------------------------------------------------------ */

static sim_said said_of(const char *outcome)
{
    if (!outcome || !strcmp(outcome, "delivered") || !strcmp(outcome, "buffered_delivered"))
        return SIM_SAID_NOTHING;
    if (!strcmp(outcome, "expired"))
        return SIM_SAID_EXPIRED;
    if (!strcmp(outcome, "fallback"))
        return SIM_SAID_FALLBACK;
    if (!strcmp(outcome, "dropped_full"))
        return SIM_SAID_DROPPED;
    if (!strcmp(outcome, "unroutable"))
        return SIM_SAID_UNROUTABLE;
    return SIM_SAID_OTHER;
}

static void deliver_pending(drive *d, uint64_t tag);

/* A ref names an id of one seed: slot (8 bits), the slot's generation (16)
 * and the id (40), so that a late frame about a finished seed's event never
 * reaches the seed that took its slot. */
static uint64_t ref_of(const drive *d, const slot *s, int64_t id)
{
    return (uint64_t)(s - d->slots) << 56 | (uint64_t)(s->gen & 0xffff) << 40 |
           ((uint64_t)id & ((UINT64_C(1) << 40) - 1));
}

/* ref_get: the slot of a ref (NULL when stale) and its id. */
static slot *ref_get(drive *d, uint64_t v, int64_t *id)
{
    uint64_t si = v >> 56;
    if (si >= d->nslots || !d->slots[si].used ||
        (d->slots[si].gen & 0xffff) != ((v >> 40) & 0xffff))
        return NULL;
    *id = (int64_t)(v & ((UINT64_C(1) << 40) - 1));
    return &d->slots[si];
}

static void ctrl_emit(drive *d, const json_t *o, uint64_t t)
{
    slot *s = NULL;
    int64_t m = msg_of(d, jint(o, "msg_tag"), &s);
    if (m < 0)
        return;
    uint64_t tag = jint(o, "tag");
    uint32_t index = (uint32_t)jint(o, "index");
    int64_t ev = sim_oracle_emit(s->oracle, t, m, index);
    if (ev < 0)
        return slot_fail(s, "out of memory (oracle)");
    s->emits++;
    if (index + 1 >= d->sc->nagent_events)
        s->runs_done++;
    if (tag && map_put(&d->ev_of, tag, ref_of(d, s, ev)) != 0)
        return slot_fail(s, "out of memory (events)");
    const char *thread = jstr(o, "thread");
    uint64_t seq = jint(o, "seq");
    if (thread && seq && map_put(&d->seq_of, fnv(thread) ^ mix(seq), ref_of(d, s, ev)))
        return slot_fail(s, "out of memory (events)");
    const char *e = jstr(o, "error");
    if ((e && !strcmp(e, "CR_EFULL")) ||
        (jstr(o, "outcome") && !strcmp(jstr(o, "outcome"), "dropped_full")))
        sim_oracle_event_said(s->oracle, ev, SIM_SAID_DROPPED);
    if (tag)
        deliver_pending(d, tag);
}

/* ev_of_tag: the slot and oracle event of an event tag; -1 if unknown. */
static int64_t ev_of_tag(drive *d, uint64_t tag, slot **sp)
{
    uint64_t v;
    int64_t ev;
    slot *s = map_get(&d->ev_of, tag, &v) ? ref_get(d, v, &ev) : NULL;
    if (!s)
        return -1;
    *sp = s;
    return ev;
}

static void ctrl_report(drive *d, const json_t *o)
{
    const char *kind = jstr(o, "kind");
    int outcome = kind && !strcmp(kind, "outcome");
    slot *s = NULL;
    uint64_t mt = jint(o, "msg_tag"), et = jint(o, "event_tag");
    if (mt) {
        int64_t m = msg_of(d, mt, &s);
        if (m >= 0) {
            sim_oracle_message_said(s->oracle, m,
                                    outcome ? said_of(jstr(o, "outcome")) : SIM_SAID_REJECTED);
            if (!outcome && s->unstarted > 0)
                s->unstarted--; /* let go of: no run will start */
        }
    } else if (et) {
        int64_t ev = ev_of_tag(d, et, &s);
        sim_said said = outcome ? said_of(jstr(o, "outcome")) : SIM_SAID_OTHER;
        if (ev >= 0 && said != SIM_SAID_NOTHING)
            sim_oracle_event_said(s->oracle, ev, said);
    } else if (jstr(o, "thread") && jint(o, "seq")) {
        uint64_t v; /* a replay gap: the event by its stream position */
        int64_t ev;
        if (map_get(&d->seq_of, fnv(jstr(o, "thread")) ^ mix(jint(o, "seq")), &v) &&
            (s = ref_get(d, v, &ev)) != NULL)
            sim_oracle_event_said(s->oracle, ev, SIM_SAID_OTHER);
    }
}

static void ctrl_hello(drive *d, const json_t *o)
{
    d->ctrl_hello = 1;
    snprintf(d->server_profile, sizeof d->server_profile, "%s",
             jstr(o, "profile") ? jstr(o, "profile") : "");
    const json_t *ts = json_object_get(o, "time_scale");
    d->server_scale = json_is_number(ts) ? json_number_value(ts) : 0;
    d->server_events = json_array_size(json_object_get(o, "agent_events"));
}

static void on_control(drive *d, const char *txt, size_t len)
{
    json_error_t je;
    json_t *o = json_loadb(txt, len, 0, &je);
    const char *op = o ? jstr(o, "op") : NULL;
    if (!op) {
        json_decref(o);
        return;
    }
    d->ctrl_frames++;
    uint64_t now = now_of(d);
    if (d->log)
        fprintf(d->log, "%.6f control %.*s\n", (double)now / 1e9, (int)len, txt);
    uint64_t t = jint(o, "t") ? sim_ws_from_mono(d->ws, jint(o, "t")) : now;
    if (t > now)
        t = now;
    slot *s = NULL;
    int64_t m;
    if (!strcmp(op, "hello")) {
        ctrl_hello(d, o);
    } else if (!strcmp(op, "message")) {
        const char *res = jstr(o, "result");
        if ((m = msg_of(d, jint(o, "tag"), &s)) >= 0 && res &&
            (!strcmp(res, "accepted") || !strcmp(res, "refused"))) {
            int64_t c = wsconn_of_core(d, jint(o, "conn"));
            if (c >= 0 && sim_oracle_message_arrived(s->oracle, m, (uint32_t)c) != 0)
                slot_fail(s, "out of memory (oracle)");
            if (sim_grow((void **)&s->msg_seen, &s->capseen, (size_t)m + 1, 1))
                slot_fail(s, "out of memory (messages)");
            else if (!strcmp(res, "accepted")) {
                if (!s->msg_seen[m])
                    s->unstarted++;
                s->msg_seen[m] = 1;
                sim_oracle_message_accepted(s->oracle, m, t);
            } else {
                s->msg_seen[m] = 2;
                sim_oracle_message_refused(s->oracle, m);
            }
        }
    } else if (!strcmp(op, "dispatch")) {
        if ((m = msg_of(d, jint(o, "tag"), &s)) >= 0)
            sim_oracle_message_dispatched(s->oracle, m);
    } else if (!strcmp(op, "run")) {
        if ((m = msg_of(d, jint(o, "tag"), &s)) >= 0) {
            const char *via = jstr(o, "via");
            int http = via && !strcmp(via, "http");
            if (http && jstr(o, "error")) {
                sim_oracle_message_refused(s->oracle, m);
            } else {
                if (http)
                    sim_oracle_message_accepted(s->oracle, m, t);
                else if (s->unstarted > 0)
                    s->unstarted--;
                s->runs++;
                if (jint(o, "run") && map_put(&d->run_of, jint(o, "run"), ref_of(d, s, m)) != 0)
                    slot_fail(s, "out of memory (runs)");
            }
        }
    } else if (!strcmp(op, "emit")) {
        ctrl_emit(d, o, t);
    } else if (!strcmp(op, "deliver")) {
        int64_t ev = ev_of_tag(d, jint(o, "tag"), &s);
        dconn *k = conn_at(d, (uint32_t)wsconn_of_core(d, jint(o, "conn")));
        if (ev >= 0 && k && k->slot == (uint32_t)(s - d->slots) &&
            !(jflags(o) & CR_EVENT_NOTIFICATION))
            sim_oracle_sent(s->oracle, k->tab, ev);
    } else if (!strcmp(op, "report")) {
        ctrl_report(d, o);
    }
    /* Inputs to the core (sim/world.c gives_input): the drain is counted from them. */
    if (s && (!strcmp(op, "message") || !strcmp(op, "switch") || !strcmp(op, "run") ||
              !strcmp(op, "emit") || !strcmp(op, "dispatch")))
        s->input_at = t;
    if (!s) { /* the seed of a frame about a connection or a run */
        dconn *k = conn_at(d, (uint32_t)wsconn_of_core(d, jint(o, "conn")));
        uint64_t v;
        int64_t id;
        if (k && k->slot < d->nslots && d->slots[k->slot].used)
            s = &d->slots[k->slot];
        else if (jint(o, "run") && map_get(&d->run_of, jint(o, "run"), &v))
            s = ref_get(d, v, &id);
    }
    if (s)
        s->last_ctrl = now;
    json_decref(o);
}

/* ---- the tabs' frames ------------------------------------------------------------- */

static int notice_kind(const char *k)
{
    if (!k)
        return -1;
    if (!strcmp(k, "thread_switched"))
        return CR_NOTICE_THREAD_SWITCHED;
    if (!strcmp(k, "switch_failed"))
        return CR_NOTICE_SWITCH_FAILED;
    if (!strcmp(k, "message_rejected"))
        return CR_NOTICE_MESSAGE_REJECTED;
    if (!strcmp(k, "closing"))
        return CR_NOTICE_CLOSING;
    return -1;
}

/* decode turns a tab's frame into *f.  Returns 1 for an event (its tag in
 * *tag), 2 for a notice or ack, 0 for anything else (hello, error notices,
 * unknown ops: ignored). */
static int decode(drive *d, slot *s, dconn *k, const json_t *o, sim_frame *f, uint64_t *tag)
{
    const char *op = jstr(o, "op");
    memset(f, 0, sizeof *f);
    f->thread = -1;
    f->msg = -1;
    f->ev = -1;
    if (!op)
        return 0;
    if (!strcmp(op, "event")) {
        f->kind = SIM_FRAME_EVENT;
        f->flags = (uint8_t)jflags(o);
        f->thread = thread_of(d, s, jstr(o, "thread"));
        f->seq = jint(o, "seq");
        uint64_t gen = jint(o, "generation");
        /* Was the server consistent with what it had shown this connection
         * (sim/world.c cb_deliver, here in arrival order, which is the
         * order the server sent in)? */
        if (!(f->flags & CR_EVENT_NOTIFICATION) && gen > k->evid_gen) {
            k->evid_gen = gen;
            k->evid_thread = f->thread;
        }
        f->for_view = f->thread >= 0 && f->thread == k->evid_thread;
        *tag = jint(o, "tag");
        return 1;
    }
    uint64_t t = jint(o, "tag"), off = 0;
    slot *ts = t ? slot_of_tag(d, t, &off) : NULL;
    if (ts != s)
        off = 0;
    if (!strcmp(op, "ack")) {
        if (!off || off >= SWITCH_TAGS)
            return 0;
        f->kind = SIM_FRAME_ACK;
        f->msg = (int64_t)off - 1;
        return 2;
    }
    if (!strcmp(op, "notice")) {
        int kind = notice_kind(jstr(o, "kind"));
        if (kind < 0)
            return 0;
        f->kind = SIM_FRAME_NOTICE;
        f->notice = (uint8_t)kind;
        f->thread = thread_of(d, s, jstr(o, "thread"));
        if (off >= SWITCH_TAGS)
            f->req = (uint32_t)(off - SWITCH_TAGS);
        else if (off && (size_t)(off - 1) < s->capreq)
            f->req = s->msg_req[off - 1];
        if (kind == CR_NOTICE_MESSAGE_REJECTED && off && off < SWITCH_TAGS)
            f->msg = (int64_t)off - 1;
        if (kind == CR_NOTICE_THREAD_SWITCHED)
            k->evid_thread = f->thread;
        return 2;
    }
    return 0;
}

static void hand_over(drive *d, slot *s, uint32_t conn, const sim_frame *f, int gone)
{
    dconn *k = &d->conns[conn];
    uint64_t now = now_of(d);
    if (gone)
        sim_tab_lost(s->tabs, k->tab, f, now,
                     gone == SIM_WS_GONE_CLOSE ? SIM_GONE_CLOSE : SIM_GONE_TRANSPORT);
    else if (sim_tab_conn(s->tabs, k->tab) == (int64_t)conn)
        sim_tab_receive(s->tabs, now, k->tab, conn, f);
}

static void deliver_pending(drive *d, uint64_t tag)
{
    for (size_t i = 0; i < d->npend;) {
        if (d->pend[i].tag != tag) {
            i++;
            continue;
        }
        pending p = d->pend[i];
        d->pend[i] = d->pend[--d->npend];
        slot *s = NULL;
        int64_t ev = ev_of_tag(d, tag, &s);
        dconn *k = conn_at(d, p.conn);
        if (ev < 0 || !k || k->slot != (uint32_t)(s - d->slots))
            continue;
        p.f.ev = ev;
        hand_over(d, s, p.conn, &p.f, p.gone);
    }
}

static uint64_t ws_arrived(void *ud, uint32_t conn, const char *txt, size_t len)
{
    drive *d = ud;
    dconn *k = conn_at(d, conn);
    if (!k || k->slot == NO_SLOT) {
        on_control(d, txt, len);
        return 0;
    }
    slot *s = &d->slots[k->slot];
    if (!k->core && len < 4096 && strstr(txt, "\"hello\"")) {
        json_t *o = json_loadb(txt, len, 0, NULL);
        uint64_t core = jint(o, "conn");
        if (core && map_put(&d->conn_of, core, (uint64_t)conn + 1) == 0)
            k->core = core;
        json_decref(o);
    }
    return sim_dist_sample_ns(&d->sc->downlink, &s->streams[k->tab].net);
}

static void ws_frame(void *ud, uint32_t conn, const char *txt, size_t len, int gone)
{
    drive *d = ud;
    dconn *k = conn_at(d, conn);
    if (!k || k->slot == NO_SLOT || !d->slots[k->slot].used)
        return;
    slot *s = &d->slots[k->slot];
    if (d->log)
        fprintf(d->log, "%.6f %s conn=%" PRIu32 " tab=%" PRIu32 " %.*s\n", (double)now_of(d) / 1e9,
                gone ? "lost" : "recv", conn, k->tab, (int)len, txt);
    json_t *o = json_loadb(txt, len, 0, NULL);
    sim_frame f;
    uint64_t tag = 0;
    int what = o ? decode(d, s, k, o, &f, &tag) : 0;
    json_decref(o);
    if (what == 1) {
        slot *es = NULL;
        int64_t ev = ev_of_tag(d, tag, &es);
        if (ev >= 0 && es != s)
            return; /* another seed's event (a user of another seed: not this oracle's) */
        if (ev < 0) {
            /* Its emit is not reported yet: the frame waits for it. */
            if (d->npend >= MAX_PENDING ||
                sim_grow((void **)&d->pend, &d->cappend, d->npend + 1, sizeof(pending)))
                return slot_fail(s, "more than %d event frames whose emit was never reported",
                                 MAX_PENDING);
            d->pend[d->npend++] = (pending){conn, tag, f, gone};
            return;
        }
        f.ev = ev;
    } else if (what == 0 || gone) {
        return; /* (a notice or ack that never arrived: the tab is gone from it) */
    }
    hand_over(d, s, conn, &f, gone);
}

static void ws_closed(void *ud, uint32_t conn, const char *why)
{
    drive *d = ud;
    dconn *k = conn_at(d, conn);
    if (!k || k->slot == NO_SLOT) {
        d->ctrl_open = 0;
        fatal(d, "the control connection to %s:%d: %s", d->url.host, d->url.port, why);
        return;
    }
    slot *s = &d->slots[k->slot];
    if (!s->used || sim_tab_conn(s->tabs, k->tab) != (int64_t)conn)
        return;
    /* The transport died under the tab without a notice (refused, reset):
     * as the disconnect fault does, the tab reconnects after its backoff. */
    if (!s->draining)
        sim_tab_fault(s->tabs, now_of(d), k->tab, conn);
    else
        sim_ws_drop(d->ws, conn, 0);
}

static void ws_opened(void *ud, uint32_t conn)
{
    drive *d = ud;
    if (conn == d->ctrl)
        d->ctrl_open = 1;
}

static void ws_timer(void *ud, uint64_t key)
{
    drive *d = ud;
    uint32_t si = (uint32_t)(key >> 56), what = (uint32_t)(key >> 52) & 15,
             tab = (uint32_t)(key >> 32) & 0xfffff;
    int64_t conn = (int64_t)(key & 0xffffffffu);
    if (si == 255)
        return post_poll(d);
    if (si >= d->nslots || !d->slots[si].used)
        return;
    slot *s = &d->slots[si];
    uint64_t now = now_of(d);
    if (what == K_POST)
        return post_start(d, (uint32_t)conn);
    if (s->draining)
        return; /* no new step, fault or reconnect in the drain */
    if (what == K_STEP)
        sim_tab_step(s->tabs, now, tab);
    else if (what == K_RECONNECT)
        sim_tab_reconnect(s->tabs, now, tab);
    else if (what == K_FAULT)
        sim_tab_fault(s->tabs, now, tab, conn);
}

/* ---- seeds ------------------------------------------------------------------------- */

static void slot_release(drive *d, slot *s)
{
    for (size_t c = s->conn_from; c < d->nconns; c++)
        if (d->conns[c].slot == (uint32_t)(s - d->slots)) {
            sim_ws_drop(d->ws, (uint32_t)c, 0);
            d->conns[c].slot = NO_SLOT - 1; /* retired: frames for it are ignored */
        }
    for (size_t i = 0; i < d->npend;) {
        dconn *k = conn_at(d, d->pend[i].conn);
        if (k && k->slot == NO_SLOT - 1)
            d->pend[i] = d->pend[--d->npend];
        else
            i++;
    }
    sim_tabs_free(s->tabs);
    sim_oracle_free(s->oracle);
    free(s->streams);
    free(s->first_tab);
    free(s->user);
    free(s->tab_user);
    free(s->threads);
    free(s->user_nthreads);
    free(s->msg_req);
    free(s->msg_seen);
    memset(s, 0, sizeof *s);
}

static int slot_start(drive *d, uint32_t si, uint64_t seed, uint32_t result)
{
    slot *s = &d->slots[si];
    const sim_scenario *sc = d->sc;
    memset(s, 0, sizeof *s);
    s->used = 1;
    s->gen = ++d->gen;
    s->conn_from = d->nconns;
    s->seed = seed;
    s->result = result;
    s->t0 = now_of(d);
    s->last_ctrl = s->t0;
    s->input_at = s->t0;
    uint32_t block = d->next_block++;
    s->tagbase = d->tag_nonce + (uint64_t)block * TAG_BLOCK;
    snprintf(s->prefix, sizeof s->prefix, "%ss%" PRIu64, d->run_id, seed);
    s->nusers = sc->users;
    s->first_tab = calloc(s->nusers ? s->nusers : 1, sizeof(uint32_t));
    s->user = calloc(s->nusers ? s->nusers : 1, sizeof *s->user);
    s->user_nthreads = calloc(s->nusers ? s->nusers : 1, sizeof(uint32_t));
    if (!s->first_tab || !s->user || !s->user_nthreads)
        return -1;
    /* Tabs per user, each user from its own stream (as sim/world.c). */
    uint32_t total = 0;
    for (uint32_t u = 0; u < s->nusers; u++) {
        sim_prng r;
        sim_prng_derive(&r, seed, SIM_STREAM_CLIENTS, UINT64_C(1) << 40 | u);
        double n = sim_dist_sample(&sc->clients_per_user, &r);
        uint32_t k = n < 1 ? 1 : n > 64 ? 64 : (uint32_t)(n + 0.5);
        s->first_tab[u] = total;
        total += k;
        snprintf(s->user[u], sizeof s->user[u], "%.36su%" PRIu32, s->prefix, u);
    }
    s->ntabs = total;
    s->tab_user = calloc(total ? total : 1, sizeof(uint32_t));
    s->streams = calloc(total ? total : 1, sizeof(sim_streams));
    if (!s->tab_user || !s->streams)
        return -1;
    for (uint32_t u = 0; u < s->nusers; u++) {
        uint32_t end = u + 1 < s->nusers ? s->first_tab[u + 1] : total;
        for (uint32_t c = s->first_tab[u]; c < end; c++)
            s->tab_user[c] = u;
    }
    for (uint32_t c = 0; c < total; c++)
        sim_streams_derive(&s->streams[c], seed, c);
    if (sim_oracle_new(&s->oracle, total, s->tab_user, sc->deadline) != 0)
        return -1;
    d->hctx[si] = (hostctx){d, si};
    sim_tab_host host = {
        .ud = &d->hctx[si],
        .open = h_open,
        .send = h_send,
        .post = h_post,
        .close = h_close,
        .schedule = h_schedule,
        .thread_new = h_thread_new,
        .thread_name = h_thread_name,
        .thread_owner = h_thread_owner,
        .fail = h_fail,
    };
    sim_tabs_config cfg = {
        .sc = sc,
        .nusers = s->nusers,
        .first_tab = s->first_tab,
        .ntabs = total,
        .streams = s->streams,
        .oracle = s->oracle,
        .trace = NULL,
        .host = &host,
    };
    if (sim_tabs_new(&s->tabs, &cfg) != 0)
        return -1;
    for (uint32_t c = 0; c < total; c++)
        if (sim_tab_start(s->tabs, s->t0, c) != 0)
            return -1;
    uint64_t slack = sc->horizon + 2 * d->drain_bound + 10 * UINT64_C(1000000000);
    s->hard_end = s->t0 + slack;
    return 0;
}

/* slot_busy: does anything of the seed remain in flight at the client? */
static int slot_busy(drive *d, const slot *s)
{
    uint32_t si = (uint32_t)(s - d->slots);
    for (size_t c = s->conn_from; c < d->nconns; c++)
        if (d->conns[c].slot == si && sim_ws_busy(d->ws, (uint32_t)c))
            return 1;
    for (size_t i = 0; i < d->npend; i++)
        if (d->conns[d->pend[i].conn].slot == si)
            return 1;
    for (size_t i = 0; i < d->nposts; i++)
        if (d->posts[i].used && d->posts[i].slot == si)
            return 1;
    return 0;
}

/* slot_check advances a seed's phase; returns 1 when it is over, with
 * *end the end of observation (UINT64_MAX: quiet). */
static int slot_check(drive *d, slot *s, uint64_t *end)
{
    uint64_t now = now_of(d);
    if (s->failed) {
        *end = now;
        return 1;
    }
    if (!s->draining &&
        (now >= s->t0 + d->sc->horizon || sim_tabs_done(s->tabs) == sim_tabs_count(s->tabs))) {
        s->draining = 1;
        s->drain_at = now < s->t0 + d->sc->horizon ? now : s->t0 + d->sc->horizon;
    }
    if (!s->draining)
        return 0;
    uint64_t from = s->input_at > s->drain_at ? s->input_at : s->drain_at;
    uint64_t drain_end = from + d->drain_bound;
    if (now >= drain_end || now >= s->hard_end) {
        *end = drain_end < s->hard_end ? drain_end : s->hard_end;
        return 1;
    }
    int quiet = sim_tabs_done(s->tabs) == sim_tabs_count(s->tabs) && s->runs_done >= s->runs &&
                s->unstarted <= 0 && now >= s->last_ctrl + QUIET_NS && !slot_busy(d, s);
    if (quiet) {
        *end = UINT64_MAX;
        return 1;
    }
    return 0;
}

static void slot_finish(drive *d, slot *s, uint64_t end, sim_seed_result *res)
{
    memset(res, 0, sizeof *res);
    res->seed = s->seed;
    if (s->failed) {
        snprintf(res->reason, sizeof res->reason, "drive error: %.200s", s->why);
        res->c[SIM_COUNT_ERRORS] = 1;
    } else {
        sim_oracle_finish(s->oracle, end, res->c, &res->latency);
    }
    res->c[SIM_COUNT_RUNS] = s->runs;
    res->end_time = now_of(d) - s->t0;
    res->events = s->emits;
    sim_seed_judge(d->sc, res);
    slot_release(d, s);
}

static int all_stop(void *ud)
{
    drive *d = ud;
    if (d->fatal || sim_budget_stopped())
        return 1;
    for (uint32_t i = 0; i < d->nslots; i++)
        if (d->slots[i].used) {
            uint64_t end;
            if (slot_check(d, &d->slots[i], &end))
                return 1;
        }
    return 0;
}

/* connect_control opens the control connection and waits (bounded) for
 * its hello.  0, or SIM_DRIVE_E* with err. */
static int connect_control(drive *d, char *err, size_t errlen)
{
    if (sim_grow((void **)&d->conns, &d->capconns, 1, sizeof(dconn)) ||
        sim_ws_connect(d->ws, &d->url, "/control", CONTROL_PROTO, 0, &d->ctrl) != 0) {
        snprintf(err, errlen, "out of memory");
        return SIM_DRIVE_EENV;
    }
    d->conns[0] = (dconn){NO_SLOT, 0, 0, -1, 0, 0};
    d->nconns = 1;
    double limit = d->o->connect_timeout > 0 ? d->o->connect_timeout : 5;
    uint64_t until =
        now_of(d) + (uint64_t)(limit / (d->o->time_scale > 0 ? d->o->time_scale : 1) * 1e9);
    while (!d->fatal && !d->ctrl_hello && now_of(d) < until && !sim_budget_stopped())
        if (sim_ws_run(d->ws, now_of(d) + 20 * UINT64_C(1000000), NULL) != 0)
            break;
    if (sim_budget_stopped()) {
        snprintf(err, errlen, "interrupted");
        return SIM_DRIVE_EINTR;
    }
    if (d->fatal) {
        snprintf(err, errlen, "cannot reach the server at %s: %s", d->o->url,
                 strstr(d->fatal_why, ": ") ? strstr(d->fatal_why, ": ") + 2 : d->fatal_why);
        return SIM_DRIVE_EENV;
    }
    if (!d->ctrl_hello) {
        snprintf(err, errlen,
                 "no answer from %s within %.1f s: %s (is it a ctxready server with the control "
                 "side, docs/protocol.md?)",
                 d->o->url, limit,
                 d->ctrl_open ? "the control connection opened but no hello came"
                              : "the control connection did not open");
        return SIM_DRIVE_EENV;
    }
    return 0;
}

static void make_run_id(drive *d)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* an id for this invocation's users, never in a seed */
    uint64_t x = mix(((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
                     ((uint64_t)getpid() << 32));
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    d->run_id[0] = 'd';
    for (int i = 1; i < 6; i++, x /= 36)
        d->run_id[i] = digits[x % 36];
    d->run_id[6] = 0;
    d->tag_nonce = (mix(x) & 0xffff) << 36; /* tags below 2^52 */
}

int sim_drive_sweep(const sim_scenario *sc, const sim_drive_opts *o, sim_sweep_result *out,
                    char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    drive d;
    memset(&d, 0, sizeof d);
    d.sc = sc;
    d.o = o;
    d.token = o->token ? o->token : "ctxsim";
    if (sim_ws_parse_url(o->url, &d.url, err, errlen) != 0)
        return SIM_DRIVE_EUSAGE;
    make_run_id(&d);
    const char *logp = getenv("CTXSIM_DRIVE_LOG");
    d.log = logp && *logp ? fopen(logp, "w") : NULL;
    sim_ws_cb cb = {ws_opened, ws_arrived, ws_frame, ws_closed, ws_timer};
    double scale = o->time_scale > 0 ? o->time_scale : 1;
    if (sim_ws_new(&d.ws, &cb, &d, scale) != 0) {
        snprintf(err, errlen, "cannot make a libwebsockets client context");
        return SIM_DRIVE_EENV;
    }
    int rc = connect_control(&d, err, errlen);
    if (rc == 0 && o->time_scale <= 0 && d.server_scale > 0)
        sim_ws_set_scale(d.ws, d.server_scale); /* no --time-scale: the server's */
    d.scale = o->time_scale > 0 ? o->time_scale : d.server_scale > 0 ? d.server_scale : 1;
    if (rc == 0 && resolve_addr(&d, err, errlen) != 0)
        rc = SIM_DRIVE_EENV;
    if (rc == 0 && d.server_scale > 0 && o->time_scale > 0 &&
        (d.server_scale < o->time_scale * 0.999 || d.server_scale > o->time_scale * 1.001)) {
        snprintf(err, errlen,
                 "the server runs at --time-scale %g, the driver at %g: they must match (omit "
                 "--time-scale to take the server's)",
                 d.server_scale, o->time_scale);
        rc = SIM_DRIVE_EUSAGE;
    }
    int server_profile = -1;
    if (!strcmp(d.server_profile, "fixed"))
        server_profile = CR_PROFILE_FIXED;
    else if (!strcmp(d.server_profile, "legacy"))
        server_profile = CR_PROFILE_LEGACY;
    if (rc == 0 && o->profile >= 0 && server_profile >= 0 && o->profile != server_profile) {
        snprintf(err, errlen, "the server runs profile %s, not %s (a driver cannot change it)",
                 d.server_profile, sim_profile_name(o->profile));
        rc = SIM_DRIVE_EUSAGE;
    }
    if (rc == 0 && d.server_events && d.server_events != sc->nagent_events)
        fprintf(stderr,
                "ctxsim drive: warning: the server's agents emit %zu events per run, the "
                "scenario says %zu: the oracle expects the scenario's\n",
                d.server_events, sc->nagent_events);
    /* The drain bound of the profile the server runs (sim/world.c). */
    sim_sweep_opts so = {0};
    so.profile = server_profile >= 0 ? server_profile : o->profile;
    if (rc == 0 && sim_sweep_policy(sc, &so, &d.policy, NULL, 0) != 0) {
        snprintf(err, errlen, "bad policy in the scenario");
        rc = SIM_DRIVE_EUSAGE;
    }
    d.drain_bound = sim_world_drain_bound(sc, &d.policy);
    uint32_t n = o->only_seed ? 1 : (o->seeds ? o->seeds : sc->seeds);
    d.nslots = o->parallel > 1 ? o->parallel : 1;
    if (d.nslots > 64)
        d.nslots = 64;
    if (d.nslots > n)
        d.nslots = n ? n : 1;
    d.slots = calloc(d.nslots, sizeof(slot));
    d.hctx = calloc(d.nslots, sizeof(hostctx));
    out->seeds = calloc(n ? n : 1, sizeof(sim_seed_result));
    if (rc == 0 && (!d.slots || !d.hctx || !out->seeds)) {
        snprintf(err, errlen, "out of memory");
        rc = SIM_DRIVE_EENV;
    }
    uint32_t started = 0, finished = 0;
    while (rc == 0 && finished < n) {
        /* At most one new seed per round (100 ms apart): seeds that start
         * together would open all their connections at the same instant. */
        for (uint32_t i = 0; i < d.nslots && started < n; i++)
            if (!d.slots[i].used) {
                uint64_t seed = o->only_seed ? o->only_seed : started + 1;
                if (slot_start(&d, i, seed, started) != 0)
                    slot_fail(&d.slots[i], "out of memory (setting up the seed)");
                started++;
                break;
            }
        if (sim_ws_run(d.ws, now_of(&d) + 100 * UINT64_C(1000000), all_stop) != 0) {
            snprintf(err, errlen, "the libwebsockets loop failed");
            rc = SIM_DRIVE_EENV;
            break;
        }
        if (sim_budget_stopped()) {
            snprintf(err, errlen, "interrupted by signal %d", sim_budget_stopped());
            rc = SIM_DRIVE_EINTR;
            break;
        }
        if (d.fatal) {
            snprintf(err, errlen, "%s", d.fatal_why);
            rc = d.fatal;
            break;
        }
        for (uint32_t i = 0; i < d.nslots; i++) {
            uint64_t end;
            if (d.slots[i].used && slot_check(&d, &d.slots[i], &end)) {
                sim_seed_result *res = &out->seeds[d.slots[i].result];
                slot_finish(&d, &d.slots[i], end, res);
                finished++;
                if (o->progress)
                    fprintf(stderr,
                            "ctxsim drive: %s seed %" PRIu64 ": %" PRIu64 "/%" PRIu64
                            " delivered%s\n",
                            sc->name, res->seed, res->c[SIM_COUNT_DELIVERED],
                            res->c[SIM_COUNT_EXPECTED], res->c[SIM_COUNT_ERRORS] ? " (error)" : "");
            }
        }
    }
    for (uint32_t i = 0; i < d.nslots && d.slots; i++)
        if (d.slots[i].used)
            slot_release(&d, &d.slots[i]);
    sim_ws_free(d.ws);
    free(d.slots);
    free(d.hctx);
    free(d.conns);
    free(d.pend);
    for (size_t i = 0; i < d.nposts; i++)
        if (d.posts[i].used)
            post_end(&d, &d.posts[i]);
    free(d.posts);
    map_free(&d.ev_of);
    map_free(&d.conn_of);
    map_free(&d.thr_of);
    map_free(&d.seq_of);
    map_free(&d.run_of);
    if (d.log)
        fclose(d.log);
    if (rc != 0) {
        free(out->seeds);
        out->seeds = NULL;
        return rc;
    }
    out->nseeds = n;
    snprintf(out->scenario, sizeof out->scenario, "%s", sc->name);
    snprintf(out->path, sizeof out->path, "%s", sc->path ? sc->path : "");
    snprintf(out->profile, sizeof out->profile, "%s",
             d.server_profile[0] ? d.server_profile : "server");
    out->role = SIM_ROLE_GATE;
    sim_sweep_judge(sc, out);
    return 0;
}
