/*
 * srvsock.c - the server's socket layer (see srvsock.h).
 *
 * Two tables: the message ids seen (open addressing with linear probing,
 * key = id + 1, 0 empty; with msgs_max the oldest id is forgotten first,
 * its insertion order kept in a ring) and a pool of nodes for the frames
 * held behind deferred switches (one free list, a FIFO per connection).
 */
#include "sim/srvsock.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/grow.h"
#include "sim/tracepoint.h"

#define NO_NODE UINT32_MAX

/* What the layer knows of one message id. */
enum { ST_NONE = 0, ST_DISPATCHED, ST_REFUSED, ST_HELD };

typedef struct mentry { /* 16 bytes: one per message id the server saw */
    uint64_t key;       /* message id + 1, 0 empty */
    int32_t error;      /* the refusal (ST_REFUSED) */
    uint8_t state;      /* ST_* */
    uint8_t parked;     /* a resend is parked for it (in sim_srvsock.parks) */
} mentry;

/* A parked resend (few at a time: a resend that came while the core still
 * held the first copy, until the core dispatches or lets go of it). */
typedef struct pentry {
    uint64_t key;  /* the message's (mentry.key) */
    uint64_t h;    /* the resend's copy */
    uint64_t conn; /* and its connection */
} pentry;

typedef struct hnode {
    uint64_t h;
    uint32_t next;
} hnode;

struct sim_srvsock {
    cr_ctx *core;
    sim_trace *trace;
    sim_srvsock_host host;
    uint32_t hold_max, msgs_max;
    mentry *tab; /* cap a power of two, at most half full */
    size_t cap, len;
    pentry *parks; /* the parked resends, unordered */
    size_t nparks, capparks;
    uint64_t *ring; /* msgs_max: keys in insertion order */
    size_t ring_head;
    hnode *nodes;
    size_t capnodes, nnodes;
    uint32_t free_node;
};

#define TR(ss, now, step, ...) SIM_TR((ss)->trace, now, "server", step, __VA_ARGS__)

static void oom(sim_srvsock *ss, const char *what)
{
    if (ss->host.oom)
        ss->host.oom(ss->host.ud, what);
}

/* ---- message ids ------------------------------------------------------------- */

static size_t slot_of(const sim_srvsock *ss, uint64_t key)
{
    return (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 17) & (ss->cap - 1);
}

static mentry *find(const sim_srvsock *ss, int64_t msg)
{
    if (msg < 0 || !ss->cap)
        return NULL;
    uint64_t key = (uint64_t)msg + 1;
    for (size_t i = slot_of(ss, key);; i = (i + 1) & (ss->cap - 1)) {
        if (ss->tab[i].key == key)
            return &ss->tab[i];
        if (!ss->tab[i].key)
            return NULL;
    }
}

/* place puts entry e into a table with room (no duplicate keys). */
static mentry *place(sim_srvsock *ss, const mentry *e)
{
    size_t i = slot_of(ss, e->key);
    while (ss->tab[i].key)
        i = (i + 1) & (ss->cap - 1);
    ss->tab[i] = *e;
    return &ss->tab[i];
}

static int rehash(sim_srvsock *ss, size_t cap)
{
    mentry *old = ss->tab;
    size_t oldcap = ss->cap;
    ss->tab = calloc(cap, sizeof(mentry));
    if (!ss->tab) {
        ss->tab = old;
        return -1;
    }
    ss->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].key)
            place(ss, &old[i]);
    free(old);
    return 0;
}

/* unpark takes the parked resend of message entry e out: 1 with its copy
 * and connection, 0 when none.  O(parked resends), only for an entry
 * flagged parked. */
static int unpark(sim_srvsock *ss, mentry *e, uint64_t *h, uint64_t *conn)
{
    if (!e->parked)
        return 0;
    e->parked = 0;
    for (size_t i = 0; i < ss->nparks; i++)
        if (ss->parks[i].key == e->key) {
            *h = ss->parks[i].h;
            *conn = ss->parks[i].conn;
            ss->parks[i] = ss->parks[--ss->nparks];
            return 1;
        }
    return 0;
}

/* forget removes the entry of key (backward-shift deletion), dropping
 * its parked resend. */
static void forget(sim_srvsock *ss, uint64_t key)
{
    mentry *e = find(ss, (int64_t)(key - 1));
    if (!e)
        return;
    uint64_t h, conn;
    if (unpark(ss, e, &h, &conn))
        ss->host.drop(ss->host.ud, h);
    size_t i = (size_t)(e - ss->tab);
    for (size_t j = (i + 1) & (ss->cap - 1); ss->tab[j].key; j = (j + 1) & (ss->cap - 1)) {
        size_t home = slot_of(ss, ss->tab[j].key);
        /* j's entry may move to i when its home is not in (i, j] */
        if (((j - home) & (ss->cap - 1)) >= ((j - i) & (ss->cap - 1))) {
            ss->tab[i] = ss->tab[j];
            i = j;
        }
    }
    ss->tab[i] = (mentry){0};
    ss->len--;
}

/* touch returns the entry of message msg, made (ST_NONE) when new; NULL
 * for msg < 0 or out of memory (told). */
static mentry *touch(sim_srvsock *ss, int64_t msg)
{
    if (msg < 0)
        return NULL;
    mentry *e = find(ss, msg);
    if (e)
        return e;
    uint64_t key = (uint64_t)msg + 1;
    if (ss->msgs_max && ss->len == ss->msgs_max) {
        forget(ss, ss->ring[ss->ring_head]);
        ss->ring[ss->ring_head] = key;
        ss->ring_head = (ss->ring_head + 1) % ss->msgs_max;
    } else if (ss->msgs_max) {
        ss->ring[(ss->ring_head + ss->len) % ss->msgs_max] = key;
    }
    if ((ss->len + 1) * 2 > ss->cap && rehash(ss, ss->cap ? ss->cap * 2 : 64) != 0) {
        oom(ss, "messages");
        return NULL;
    }
    ss->len++;
    return place(ss, &(mentry){.key = key});
}

static uint8_t state_of(const sim_srvsock *ss, int64_t msg)
{
    const mentry *e = find(ss, msg);
    return e ? e->state : ST_NONE;
}

/* ---- held frames ----------------------------------------------------------------- */

static int hold(sim_srvsock *ss, sim_srvsock_conn *c, uint64_t h)
{
    uint32_t n = ss->free_node;
    if (n != NO_NODE) {
        ss->free_node = ss->nodes[n].next;
    } else {
        if (sim_grow((void **)&ss->nodes, &ss->capnodes, ss->nnodes + 1, sizeof(hnode)))
            return -1;
        n = (uint32_t)ss->nnodes++;
    }
    ss->nodes[n] = (hnode){.h = h, .next = NO_NODE};
    if (c->held_tail != NO_NODE)
        ss->nodes[c->held_tail].next = n;
    else
        c->held_head = n;
    c->held_tail = n;
    c->nheld++;
    return 0;
}

/* pop takes c's oldest held frame out (NONE: nothing held). */
static uint64_t pop(sim_srvsock *ss, sim_srvsock_conn *c)
{
    uint32_t n = c->held_head;
    if (n == NO_NODE)
        return SIM_SRVSOCK_NONE;
    c->held_head = ss->nodes[n].next;
    if (c->held_head == NO_NODE)
        c->held_tail = NO_NODE;
    c->nheld--;
    ss->nodes[n].next = ss->free_node;
    ss->free_node = n;
    return ss->nodes[n].h;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

int sim_srvsock_new(sim_srvsock **out, const sim_srvsock_config *cfg)
{
    *out = NULL;
    if (!cfg || !cfg->core || !cfg->host || !cfg->host->keep || !cfg->host->drop ||
        !cfg->host->ack || !cfg->host->unparked || !cfg->host->before || !cfg->host->after)
        return -1;
    sim_srvsock *ss = calloc(1, sizeof(sim_srvsock));
    if (!ss)
        return -1;
    ss->core = cfg->core;
    ss->trace = cfg->trace;
    ss->host = *cfg->host;
    ss->hold_max = cfg->hold_max;
    ss->msgs_max = cfg->msgs_max;
    ss->free_node = NO_NODE;
    if (ss->msgs_max && !(ss->ring = calloc(ss->msgs_max, sizeof(uint64_t)))) {
        free(ss);
        return -1;
    }
    *out = ss;
    return 0;
}

void sim_srvsock_free(sim_srvsock *ss)
{
    if (!ss)
        return;
    for (size_t i = 0; i < ss->nparks; i++)
        ss->host.drop(ss->host.ud, ss->parks[i].h);
    free(ss->parks);
    free(ss->tab);
    free(ss->ring);
    free(ss->nodes);
    free(ss);
}

void sim_srvsock_conn_init(sim_srvsock_conn *c)
{
    memset(c, 0, sizeof *c);
    c->deferred_key = -1;
    c->held_head = c->held_tail = NO_NODE;
}

void sim_srvsock_conn_free(sim_srvsock *ss, sim_srvsock_conn *c)
{
    for (uint64_t h; (h = pop(ss, c)) != SIM_SRVSOCK_NONE;)
        ss->host.drop(ss->host.ud, h);
    c->deferred = 0;
    free(c->deferred_thread);
    c->deferred_thread = NULL;
}

int sim_srvsock_open(sim_srvsock *ss, uint64_t now, sim_srvsock_conn *c, uint64_t key)
{
    cr_conn_id id = 0;
    int rc = cr_conn_open(ss->core, now, &id);
    TR(ss, now, "open", "conn=%" PRIu64 " sock=%" PRIu64 " rc=%d", id, key, rc);
    if (rc != 0)
        return rc;
    c->core = id;
    c->open = 1;
    return 0;
}

int sim_srvsock_close(sim_srvsock *ss, uint64_t now, sim_srvsock_conn *c, cr_close_reason reason)
{
    c->open = 0;
    int rc = cr_conn_close(ss->core, now, c->core, reason);
    TR(ss, now, "closed", "conn=%" PRIu64 " %s rc=%s", c->core, cr_close_reason_name(reason),
       rc ? cr_errname(rc) : "ok");
    return rc;
}

/* ---- requests ------------------------------------------------------------------------ */

/* park: a resend of a message the core still holds (queued on a
 * connection the server has not seen close yet) waits, by message id, for
 * the held copy to be dispatched (then it is answered) or let go (then it
 * is taken, as if it arrived then).  A later resend replaces it. */
static sim_srvsock_result park(sim_srvsock *ss, mentry *e, uint64_t key, const void *src)
{
    uint64_t old, oldconn;
    if (!e->parked && ss->nparks == ss->capparks) {
        size_t cap = ss->capparks ? ss->capparks * 2 : 8;
        pentry *v = realloc(ss->parks, cap * sizeof *v);
        if (!v) {
            oom(ss, "parked resends");
            return SIM_SRVSOCK_FAILED;
        }
        ss->parks = v;
        ss->capparks = cap;
    }
    uint64_t h = ss->host.keep(ss->host.ud, src);
    if (h == SIM_SRVSOCK_NONE)
        return SIM_SRVSOCK_FAILED;
    if (unpark(ss, e, &old, &oldconn))
        ss->host.drop(ss->host.ud, old); /* a later resend replaces it */
    ss->parks[ss->nparks++] = (pentry){e->key, h, key};
    e->parked = 1;
    return SIM_SRVSOCK_PARKED;
}

static sim_srvsock_result message(sim_srvsock *ss, uint64_t now, sim_srvsock_conn *c, uint64_t key,
                                  const sim_srvsock_req *r, const void *src)
{
    mentry *e = find(ss, r->msg);
    uint8_t st = e ? e->state : ST_NONE;
    if (st == ST_DISPATCHED || st == ST_REFUSED) {
        /* A resend of a message already taken or refused (its answer was
         * lost with the old transport). */
        TR(ss, now, "duplicate", "msg=%" PRId64 " already taken", r->msg);
        ss->host.ack(ss->host.ud, now, key, SIM_SRVSOCK_NONE, r->msg,
                     st == ST_REFUSED ? e->error : 0, SIM_SRVSOCK_ACK_DUPLICATE);
        return SIM_SRVSOCK_DUPLICATE;
    }
    if (st == ST_HELD) {
        TR(ss, now, "duplicate", "msg=%" PRId64 " still held by the core: parked", r->msg);
        return park(ss, e, key, src);
    }
    cr_message m = {
        .thread = r->thread,
        .last_seq = r->last_seq,
        .tag = r->tag,
        .payload = r->payload,
        .payload_len = r->payload_len,
    };
    if (ss->host.before(ss->host.ud, now, key, r) != 0)
        return SIM_SRVSOCK_FAILED;
    uint64_t mid = 0;
    int rc = cr_conn_message(ss->core, now, c->core, &m, &mid);
    ss->host.after(ss->host.ud, now, key, r, rc);
    TR(ss, now, "message", "conn=%" PRIu64 " msg=%" PRId64 " thread=%s rc=%s", c->core, r->msg,
       r->thread ? r->thread : "-", rc ? cr_errname(rc) : "ok");
    /* (dispatch may already have run inside the call) */
    if (rc == 0 && state_of(ss, r->msg) == ST_NONE && (e = touch(ss, r->msg)))
        e->state = ST_HELD;
    if (rc == 0)
        return SIM_SRVSOCK_ACCEPTED;
    if ((e = touch(ss, r->msg))) {
        e->state = ST_REFUSED;
        e->error = rc;
    }
    ss->host.ack(ss->host.ud, now, key, SIM_SRVSOCK_NONE, r->msg, rc, SIM_SRVSOCK_ACK_REFUSED);
    return SIM_SRVSOCK_REFUSED;
}

/* give_switch makes the core call of switch r (a retry when r->retry). */
static sim_srvsock_result give_switch(sim_srvsock *ss, uint64_t now, sim_srvsock_conn *c,
                                      uint64_t key, const sim_srvsock_req *r)
{
    if (ss->host.before(ss->host.ud, now, key, r) != 0)
        return SIM_SRVSOCK_FAILED;
    int rc = cr_conn_switch(ss->core, now, c->core, r->thread, r->last_seq);
    ss->host.after(ss->host.ud, now, key, r, rc);
    if (r->retry) {
        TR(ss, now, "switch", "conn=%" PRIu64 " thread=%s (held until auth) rc=%s", c->core,
           r->thread, rc ? cr_errname(rc) : "ok");
        return rc ? SIM_SRVSOCK_REFUSED : SIM_SRVSOCK_SWITCHED;
    }
    TR(ss, now, "switch", "conn=%" PRIu64 " thread=%s last_seq=%" PRIu64 " rc=%s", c->core,
       r->thread, r->last_seq, rc ? cr_errname(rc) : "ok");
    if (rc == CR_ESTATE) {
        /* Not authenticated yet: the view request waits for the auth
         * answer (the core only takes switches from authenticated
         * connections). */
        size_t n = strlen(r->thread) + 1;
        char *name = realloc(c->deferred_thread, n);
        if (!name) {
            oom(ss, "deferred switch");
            return SIM_SRVSOCK_FAILED;
        }
        memcpy(name, r->thread, n);
        c->deferred_thread = name;
        c->deferred = 1;
        c->deferred_key = r->thread_key;
        c->deferred_last_seq = r->last_seq;
        c->deferred_sel = r->sel;
        return SIM_SRVSOCK_DEFERRED;
    }
    return rc ? SIM_SRVSOCK_REFUSED : SIM_SRVSOCK_SWITCHED;
}

sim_srvsock_result sim_srvsock_request(sim_srvsock *ss, uint64_t now, sim_srvsock_conn *c,
                                       uint64_t key, const sim_srvsock_req *r, const void *src)
{
    if (c->deferred && c->open) {
        /* A switch waits for the auth answer: what the client sent after
         * it waits behind it, so the core sees the client's order. */
        if (ss->hold_max && c->nheld >= ss->hold_max)
            return SIM_SRVSOCK_BUSY;
        uint64_t h = ss->host.keep(ss->host.ud, src);
        if (h == SIM_SRVSOCK_NONE)
            return SIM_SRVSOCK_FAILED;
        if (hold(ss, c, h) != 0) {
            ss->host.drop(ss->host.ud, h);
            oom(ss, "held frames");
            return SIM_SRVSOCK_FAILED;
        }
        TR(ss, now, "hold", "conn=%" PRIu64 " msg=%" PRId64 " behind the held switch", c->core,
           r->kind == SIM_SRVSOCK_MESSAGE ? r->msg : -1);
        return SIM_SRVSOCK_HELD;
    }
    if (!c->open)
        return SIM_SRVSOCK_CLOSED;
    if (r->kind == SIM_SRVSOCK_MESSAGE)
        return message(ss, now, c, key, r, src);
    sim_srvsock_req sw = *r;
    sw.retry = 0;
    return give_switch(ss, now, c, key, &sw);
}

sim_srvsock_result sim_srvsock_authenticated(sim_srvsock *ss, uint64_t now, sim_srvsock_conn *c,
                                             uint64_t key)
{
    if (!c->deferred)
        return SIM_SRVSOCK_NOTHING;
    c->deferred = 0;
    sim_srvsock_req r = {
        .kind = SIM_SRVSOCK_SWITCH,
        .msg = -1,
        .thread = c->deferred_thread,
        .thread_key = c->deferred_key,
        .last_seq = c->deferred_last_seq,
        .sel = c->deferred_sel,
        .retry = 1,
    };
    return give_switch(ss, now, c, key, &r);
}

uint64_t sim_srvsock_unhold(sim_srvsock *ss, sim_srvsock_conn *c)
{
    return c->deferred ? SIM_SRVSOCK_NONE : pop(ss, c);
}

void sim_srvsock_dispatched(sim_srvsock *ss, uint64_t now, uint64_t key, int64_t msg)
{
    mentry *e = touch(ss, msg);
    if (e) {
        e->state = ST_DISPATCHED;
        uint64_t h, conn;
        if (unpark(ss, e, &h, &conn)) { /* the parked resend is answered */
            ss->host.ack(ss->host.ud, now, conn, h, msg, 0, SIM_SRVSOCK_ACK_PARKED);
            ss->host.drop(ss->host.ud, h);
        }
    }
    if (key != SIM_SRVSOCK_NONE && msg >= 0)
        ss->host.ack(ss->host.ud, now, key, SIM_SRVSOCK_NONE, msg, 0, SIM_SRVSOCK_ACK_DISPATCHED);
}

void sim_srvsock_let_go(sim_srvsock *ss, uint64_t now, int64_t msg)
{
    mentry *e = find(ss, msg);
    if (!e || e->state != ST_HELD)
        return;
    e->state = ST_NONE; /* the core let go of it: a resend is taken again */
    uint64_t h, conn;
    if (!unpark(ss, e, &h, &conn))
        return;
    TR(ss, now, "unpark", "msg=%" PRId64 " resend taken now", msg);
    ss->host.unparked(ss->host.ud, now, conn, h);
}
