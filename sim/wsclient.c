/*
 * wsclient.c - libwebsockets client connections with client-side network
 * delays (sim/wsclient.h).
 *
 * One lws context, one protocol entry; every connection's state is in
 * ws->conns (the wsi carries index + 1 as its opaque user data, so the
 * array may move).  One lws_sul wakes the loop at the earliest due thing:
 * a timer, a connect, the head of an uplink queue, the head of a downlink
 * hold, a deferred socket kill.
 */
#include "sim/wsclient.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/grow.h"

#define MAX_FRAME (1u << 20) /* a server frame larger than this fails the connection */

typedef struct item {
    uint64_t due;
    char *txt; /* NULL: the close marker (uplink) */
    size_t len;
} item;

/* A FIFO of items, each due no earlier than the previous one. */
typedef struct fifo {
    item *v;
    size_t head, n, cap;
    uint64_t last; /* due of the latest pushed */
} fifo;

enum cstate { C_WAITING = 0, C_CONNECTING, C_OPEN, C_GONE };

typedef struct wconn {
    uint8_t state;
    uint8_t ended;    /* SIM_WS_GONE_* once the tab dropped or closed it */
    uint8_t killed;   /* the socket was killed or closed */
    uint64_t open_at; /* C_WAITING: when to connect */
    uint64_t kill_at; /* ended by drop: when to kill the socket, UINT64_MAX none */
    struct lws *wsi;
    char host[256], path[512], proto[64];
    int port;
    fifo up, down;
    char *rx; /* a frame being reassembled */
    size_t rxlen, rxcap;
} wconn;

typedef struct tmr {
    uint64_t at, seq, key;
} tmr;

struct sim_ws {
    struct lws_context *ctx;
    sim_ws_cb cb;
    void *ud;
    double scale;
    uint64_t t0; /* CLOCK_MONOTONIC ns at creation */
    wconn *conns;
    size_t nconns, capconns;
    tmr *heap;
    size_t ntm, captm;
    uint64_t tseq;
    lws_sorted_usec_list_t sul;
    uint64_t sul_at; /* virtual time the sul is set for, UINT64_MAX none */
    size_t lo;       /* every connection below is over (gone, nothing queued or held) */
    int failed;
    /* sim_ws_run's exit condition while it runs (run_until UINT64_MAX none):
     * on_sul checks it, see there */
    uint64_t run_until;
    int (*run_stop)(void *ud);
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t sim_ws_now(const sim_ws *ws)
{
    return (uint64_t)((double)(mono_ns() - ws->t0) / ws->scale);
}

void sim_ws_set_scale(sim_ws *ws, double scale)
{
    ws->scale = scale > 0 ? scale : 1;
    ws->t0 = mono_ns();
}

uint64_t sim_ws_from_mono(const sim_ws *ws, uint64_t mono)
{
    return mono > ws->t0 ? (uint64_t)((double)(mono - ws->t0) / ws->scale) : 0;
}

int sim_ws_parse_url(const char *url, sim_ws_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!url || strncmp(url, "ws://", 5) != 0) {
        snprintf(err, errlen, "'%.200s' is not a ws:// URL (ws://HOST:PORT[/PATH])",
                 url ? url : "");
        return -1;
    }
    const char *h = url + 5, *e;
    if (*h == '[') {
        e = strchr(h, ']');
        if (!e) {
            snprintf(err, errlen, "'%.200s': unterminated [IPv6] host", url);
            return -1;
        }
        h++;
    } else {
        e = h + strcspn(h, ":/");
    }
    size_t hl = (size_t)(e - h);
    if (hl == 0 || hl >= sizeof out->host) {
        snprintf(err, errlen, "'%.200s': no host", url);
        return -1;
    }
    memcpy(out->host, h, hl);
    const char *p = *e == ']' ? e + 1 : e;
    if (*p != ':') {
        snprintf(err, errlen, "'%.200s': no port (ws://HOST:PORT)", url);
        return -1;
    }
    p++;
    long port = 0;
    const char *q = p;
    while (*q >= '0' && *q <= '9' && port <= 65535)
        port = port * 10 + (*q++ - '0');
    if (q == p || port < 1 || port > 65535 || (*q && *q != '/')) {
        snprintf(err, errlen, "'%.200s': bad port (1..65535)", url);
        return -1;
    }
    out->port = (int)port;
    snprintf(out->path, sizeof out->path, "%s", *q ? q : "/");
    if (strlen(q) >= sizeof out->path) {
        snprintf(err, errlen, "'%.200s': path too long", url);
        return -1;
    }
    return 0;
}

/* ---- fifo ------------------------------------------------------------------ */

static int fifo_push(fifo *f, uint64_t due, const char *txt, size_t len)
{
    if (f->head && f->head == f->n) {
        f->head = f->n = 0;
    } else if (f->head > 64 && f->head * 2 > f->n) {
        memmove(f->v, f->v + f->head, (f->n - f->head) * sizeof(item));
        f->n -= f->head;
        f->head = 0;
    }
    if (sim_grow((void **)&f->v, &f->cap, f->n + 1, sizeof(item)))
        return -1;
    char *copy = NULL;
    if (txt) {
        copy = malloc(len + 1);
        if (!copy)
            return -1;
        memcpy(copy, txt, len);
        copy[len] = 0;
    }
    if (due < f->last)
        due = f->last;
    f->last = due;
    f->v[f->n++] = (item){due, copy, len};
    return 0;
}

static item *fifo_head(fifo *f)
{
    return f->head < f->n ? &f->v[f->head] : NULL;
}

static void fifo_pop(fifo *f)
{
    free(f->v[f->head].txt);
    f->head++;
}

static void fifo_clear(fifo *f)
{
    while (fifo_head(f))
        fifo_pop(f);
}

static void fifo_free(fifo *f)
{
    fifo_clear(f);
    free(f->v);
    memset(f, 0, sizeof *f);
}

/* ---- timers (a binary heap by (at, seq)) ------------------------------------- */

static int tless(const tmr *a, const tmr *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

int sim_ws_timer(sim_ws *ws, uint64_t at, uint64_t key)
{
    if (sim_grow((void **)&ws->heap, &ws->captm, ws->ntm + 1, sizeof(tmr)))
        return -1;
    size_t i = ws->ntm++;
    ws->heap[i] = (tmr){at, ws->tseq++, key};
    while (i > 0 && tless(&ws->heap[i], &ws->heap[(i - 1) / 2])) {
        tmr t = ws->heap[i];
        ws->heap[i] = ws->heap[(i - 1) / 2];
        ws->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    return 0;
}

static tmr heap_pop(sim_ws *ws)
{
    tmr top = ws->heap[0];
    ws->heap[0] = ws->heap[--ws->ntm];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < ws->ntm && tless(&ws->heap[l], &ws->heap[m]))
            m = l;
        if (r < ws->ntm && tless(&ws->heap[r], &ws->heap[m]))
            m = r;
        if (m == i)
            break;
        tmr t = ws->heap[i];
        ws->heap[i] = ws->heap[m];
        ws->heap[m] = t;
        i = m;
    }
    return top;
}

/* ---- the wake-up ----------------------------------------------------------- */

static void on_sul(lws_sorted_usec_list_t *sul);

static int over(const wconn *k)
{
    return k->state == C_GONE && k->kill_at == UINT64_MAX && k->up.head == k->up.n &&
           k->down.head == k->down.n;
}

/* next_due: the earliest virtual time something is due; UINT64_MAX none.
 * O(connections not over). */
static uint64_t next_due(sim_ws *ws)
{
    uint64_t t = ws->ntm ? ws->heap[0].at : UINT64_MAX;
    while (ws->lo < ws->nconns && over(&ws->conns[ws->lo]))
        ws->lo++;
    for (size_t i = ws->lo; i < ws->nconns; i++) {
        wconn *k = &ws->conns[i];
        if (k->state == C_WAITING && k->open_at < t)
            t = k->open_at;
        if (k->kill_at < t)
            t = k->kill_at;
        item *u = fifo_head(&k->up);
        if (u && k->state == C_OPEN && u->due < t)
            t = u->due;
        item *d = fifo_head(&k->down);
        if (d && d->due < t)
            t = d->due;
    }
    return t;
}

/* rearm sets the sul for the earliest due thing. */
static void rearm(sim_ws *ws)
{
    uint64_t t = next_due(ws);
    if (t == ws->sul_at)
        return;
    ws->sul_at = t;
    if (t == UINT64_MAX) {
        lws_sul_cancel(&ws->sul);
        return;
    }
    uint64_t now = sim_ws_now(ws);
    double us = t > now ? (double)(t - now) * ws->scale / 1000.0 : 0;
    lws_sul_schedule(ws->ctx, 0, &ws->sul, on_sul, (lws_usec_t)us + 1);
}

static void kill_socket(wconn *k)
{
    if (k->wsi && !k->killed) {
        k->killed = 1;
        lws_set_timeout(k->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
}

static void start_connect(sim_ws *ws, uint32_t i)
{
    wconn *k = &ws->conns[i];
    k->state = C_CONNECTING;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = ws->ctx;
    ci.address = k->host;
    ci.port = k->port;
    ci.path = k->path;
    ci.host = k->host;
    ci.origin = k->host;
    ci.protocol = k->proto;
    ci.local_protocol_name = "ctxsim-drive";
    ci.opaque_user_data = (void *)(uintptr_t)(i + 1);
    /* (no ci.pwsi: lws would write through it later, and conns may move) */
    struct lws *wsi = lws_client_connect_via_info(&ci);
    k = &ws->conns[i];
    if (wsi && k->state == C_CONNECTING) {
        k->wsi = wsi;
    } else if (!wsi) {
        /* (CLIENT_CONNECTION_ERROR may already have been called) */
        if (k->state != C_GONE) {
            k->state = C_GONE;
            k->wsi = NULL;
            if (!k->ended && ws->cb.closed)
                ws->cb.closed(ws->ud, i, "cannot start the connection");
        }
    }
}

/* process does everything that is due now, in time order per connection. */
static void process(sim_ws *ws)
{
    uint64_t now = sim_ws_now(ws);
    while (ws->ntm && ws->heap[0].at <= now) {
        tmr t = heap_pop(ws);
        if (ws->cb.timer && t.key != UINT64_MAX) /* UINT64_MAX: sim_ws_run's own */
            ws->cb.timer(ws->ud, t.key);
        now = sim_ws_now(ws);
    }
    for (size_t i = ws->lo; i < ws->nconns; i++) {
        wconn *k = &ws->conns[i];
        if (k->state == C_WAITING && k->open_at <= now && !k->ended)
            start_connect(ws, (uint32_t)i);
        k = &ws->conns[i];
        if (k->kill_at <= now) {
            k->kill_at = UINT64_MAX;
            kill_socket(k);
        }
        item *u = fifo_head(&k->up);
        if (u && k->state == C_OPEN && u->due <= now && k->wsi)
            lws_callback_on_writable(k->wsi);
        for (item *d; (d = fifo_head(&ws->conns[i].down)) && d->due <= now;) {
            /* the callback may add connections: copy the frame out first */
            char *txt = d->txt;
            size_t len = d->len;
            d->txt = NULL;
            fifo_pop(&ws->conns[i].down);
            if (ws->cb.frame)
                ws->cb.frame(ws->ud, (uint32_t)i, txt, len, 0);
            free(txt);
        }
    }
}

static void on_sul(lws_sorted_usec_list_t *sul)
{
    sim_ws *ws = lws_container_of(sul, sim_ws, sul);
    ws->sul_at = UINT64_MAX;
    process(ws);
    rearm(ws);
    /* lws runs ripe suls before it polls, then polls until the next sul or
     * socket event: if this sul made sim_ws_run's exit condition true, that
     * poll could block for as long as lws's own next timer (30 s) before
     * sim_ws_run sees it.  lws_cancel_service makes the poll return now. */
    if (ws->run_until != UINT64_MAX &&
        (sim_ws_now(ws) >= ws->run_until || (ws->run_stop && ws->run_stop(ws->ud))))
        lws_cancel_service(ws->ctx);
}

/* ---- lws callback ---------------------------------------------------------- */

static int write_head(sim_ws *ws, uint32_t i)
{
    wconn *k = &ws->conns[i];
    item *u = fifo_head(&k->up);
    if (!u || u->due > sim_ws_now(ws))
        return 0;
    if (!u->txt) { /* the close marker */
        fifo_clear(&k->up);
        k->killed = 1;
        lws_close_reason(k->wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    unsigned char *buf = malloc(LWS_PRE + u->len);
    if (!buf)
        return -1;
    memcpy(buf + LWS_PRE, u->txt, u->len);
    int n = lws_write(k->wsi, buf + LWS_PRE, u->len, LWS_WRITE_TEXT);
    free(buf);
    if (n < (int)u->len)
        return -1;
    fifo_pop(&k->up);
    if (fifo_head(&k->up))
        rearm(ws);
    return 0;
}

static void gone(sim_ws *ws, uint32_t i, const char *why)
{
    wconn *k = &ws->conns[i];
    int was = k->state;
    k->state = C_GONE;
    k->wsi = NULL;
    fifo_clear(&k->up);
    if (!k->ended && was != C_GONE && ws->cb.closed)
        ws->cb.closed(ws->ud, i, why);
}

static int on_receive(sim_ws *ws, uint32_t i, struct lws *wsi, const void *in, size_t len)
{
    wconn *k = &ws->conns[i];
    if (k->rxlen + len > MAX_FRAME)
        return -1;
    if (sim_grow((void **)&k->rx, &k->rxcap, k->rxlen + len + 1, 1))
        return -1;
    if (len) /* (an empty frame: lws may pass in = NULL) */
        memcpy(k->rx + k->rxlen, in, len);
    k->rxlen += len;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return 0;
    k->rx[k->rxlen] = 0;
    size_t n = k->rxlen;
    k->rxlen = 0;
    if (k->ended) { /* lost: the tab dropped or closed it */
        if (ws->cb.frame)
            ws->cb.frame(ws->ud, i, ws->conns[i].rx, n, ws->conns[i].ended);
        return 0;
    }
    uint64_t hold = ws->cb.arrived ? ws->cb.arrived(ws->ud, i, k->rx, n) : 0;
    k = &ws->conns[i];
    if (fifo_push(&k->down, sim_ws_now(ws) + hold, k->rx, n) != 0)
        return -1;
    rearm(ws);
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    sim_ws *ws = ctx ? lws_context_user(ctx) : NULL;
    uintptr_t id = (uintptr_t)lws_get_opaque_user_data(wsi);
    if (!ws || id == 0 || id > ws->nconns)
        return 0;
    uint32_t i = (uint32_t)(id - 1);
    wconn *k = &ws->conns[i];
    char why[160];
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        k->state = C_OPEN;
        k->wsi = wsi;
        if (!k->ended && ws->cb.opened)
            ws->cb.opened(ws->ud, i);
        rearm(ws);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (k->killed)
            break;
        return on_receive(ws, i, wsi, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (k->killed || k->state != C_OPEN)
            break;
        return write_head(ws, i);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        snprintf(why, sizeof why, "cannot connect: %.120s", in ? (const char *)in : "error");
        gone(ws, i, why);
        break;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2) {
            const unsigned char *c = in;
            snprintf(why, sizeof why, "closed by the server (%d)", c[0] << 8 | c[1]);
            k->killed = 1; /* remembered for CLIENT_CLOSED */
            gone(ws, i, why);
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        gone(ws, i, "closed by the server");
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        if (k->wsi == wsi || k->state != C_GONE)
            gone(ws, i, "connection lost");
        break;
    default:
        break;
    }
    (void)user;
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"ctxsim-drive", callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- public ------------------------------------------------------------------ */

int sim_ws_new(sim_ws **out, const sim_ws_cb *cb, void *ud, double scale)
{
    *out = NULL;
    sim_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return -1;
    ws->cb = *cb;
    ws->ud = ud;
    ws->scale = scale > 0 ? scale : 1;
    ws->sul_at = UINT64_MAX;
    ws->run_until = UINT64_MAX;
    lws_set_log_level(0, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    info.user = ws;
    ws->ctx = lws_create_context(&info);
    if (!ws->ctx) {
        free(ws);
        return -1;
    }
    ws->t0 = mono_ns();
    *out = ws;
    return 0;
}

void sim_ws_free(sim_ws *ws)
{
    if (!ws)
        return;
    for (size_t i = 0; i < ws->nconns; i++)
        ws->conns[i].ended = ws->conns[i].ended ? ws->conns[i].ended : SIM_WS_GONE_CLOSE;
    ws->cb.closed = NULL;
    ws->cb.frame = NULL;
    lws_sul_cancel(&ws->sul);
    lws_context_destroy(ws->ctx);
    for (size_t i = 0; i < ws->nconns; i++) {
        fifo_free(&ws->conns[i].up);
        fifo_free(&ws->conns[i].down);
        free(ws->conns[i].rx);
    }
    free(ws->conns);
    free(ws->heap);
    free(ws);
}

int sim_ws_connect(sim_ws *ws, const sim_ws_url *url, const char *path, const char *proto,
                   uint64_t delay, uint32_t *conn)
{
    if (sim_grow((void **)&ws->conns, &ws->capconns, ws->nconns + 1, sizeof(wconn)))
        return -1;
    uint32_t i = (uint32_t)ws->nconns++;
    wconn *k = &ws->conns[i];
    memset(k, 0, sizeof *k);
    k->state = C_WAITING;
    k->open_at = sim_ws_now(ws) + delay;
    k->kill_at = UINT64_MAX;
    snprintf(k->host, sizeof k->host, "%s", url->host);
    snprintf(k->path, sizeof k->path, "%s", path ? path : url->path);
    snprintf(k->proto, sizeof k->proto, "%s", proto ? proto : "");
    k->port = url->port;
    *conn = i;
    rearm(ws);
    return 0;
}

int sim_ws_send(sim_ws *ws, uint32_t conn, const char *txt, size_t len, uint64_t delay)
{
    if (conn >= ws->nconns)
        return -1;
    wconn *k = &ws->conns[conn];
    if (k->ended || k->state == C_GONE)
        return 0;
    if (fifo_push(&k->up, sim_ws_now(ws) + delay, txt, len) != 0)
        return -1;
    rearm(ws);
    return 0;
}

/* end_conn: the tab ends conn (how: SIM_WS_GONE_*): held downlink frames
 * are handed over as lost. */
static void end_conn(sim_ws *ws, uint32_t conn, int how)
{
    wconn *k = &ws->conns[conn];
    k->ended = (uint8_t)how;
    while (fifo_head(&ws->conns[conn].down)) {
        item *d = fifo_head(&ws->conns[conn].down);
        char *txt = d->txt;
        size_t len = d->len;
        d->txt = NULL;
        fifo_pop(&ws->conns[conn].down);
        if (ws->cb.frame)
            ws->cb.frame(ws->ud, conn, txt, len, how);
        free(txt);
    }
}

void sim_ws_drop(sim_ws *ws, uint32_t conn, uint64_t notice)
{
    if (conn >= ws->nconns || ws->conns[conn].ended)
        return;
    fifo_clear(&ws->conns[conn].up);
    end_conn(ws, conn, SIM_WS_GONE_TRANSPORT);
    wconn *k = &ws->conns[conn];
    if (k->state == C_WAITING)
        k->state = C_GONE; /* never connected */
    else
        k->kill_at = sim_ws_now(ws) + notice;
    rearm(ws);
}

void sim_ws_close(sim_ws *ws, uint32_t conn, uint64_t delay)
{
    if (conn >= ws->nconns || ws->conns[conn].ended)
        return;
    end_conn(ws, conn, SIM_WS_GONE_CLOSE);
    wconn *k = &ws->conns[conn];
    if (k->state == C_WAITING) {
        k->state = C_GONE;
        return;
    }
    if (fifo_push(&k->up, sim_ws_now(ws) + delay, NULL, 0) != 0)
        k->kill_at = sim_ws_now(ws); /* no memory for the marker: just close */
    rearm(ws);
}

int sim_ws_is_open(const sim_ws *ws, uint32_t conn)
{
    return conn < ws->nconns && ws->conns[conn].state == C_OPEN && !ws->conns[conn].ended;
}

int sim_ws_busy(const sim_ws *ws, uint32_t conn)
{
    if (conn >= ws->nconns)
        return 0;
    const wconn *k = &ws->conns[conn];
    return k->up.head < k->up.n || k->down.head < k->down.n;
}

int sim_ws_run(sim_ws *ws, uint64_t until, int (*stop)(void *ud))
{
    /* A timer at `until` makes lws_service return then. */
    if (sim_ws_timer(ws, until, UINT64_MAX) != 0)
        return -1;
    rearm(ws);
    ws->run_until = until;
    ws->run_stop = stop;
    for (;;) {
        if ((stop && stop(ws->ud)) || sim_ws_now(ws) >= until) {
            ws->run_until = UINT64_MAX;
            return 0;
        }
        if (lws_service(ws->ctx, 0) < 0) {
            ws->run_until = UINT64_MAX;
            return -1;
        }
        /* (the sul ran process(); the close marker may need a writable) */
        process(ws);
        rearm(ws);
    }
}
