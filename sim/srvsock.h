/*
 * srvsock.h - the server's socket layer (actor "server"), between a host's
 * connections and the core.
 *
 * What it does, the same way in the simulated world (sim/world.c, virtual
 * time, the simulator's packets) and in the real server
 * (core/examples/ws-server/host.c, a monotonic clock, JSON frames):
 *   - opens a connection in the core (cr_conn_open) and closes it
 *     (cr_conn_close);
 *   - gives a message (cr_conn_message) or a switch (cr_conn_switch) to
 *     the core; a switch the core refuses with CR_ESTATE (the connection is
 *     not authenticated yet) is deferred until the auth answer, and what
 *     the client sent after it is held behind it, so the core sees the
 *     client's order (sim_srvsock_authenticated, sim_srvsock_unhold);
 *   - suppresses duplicates by message id: a resend of a message already
 *     dispatched or refused is acknowledged and dropped; a resend of one
 *     the core still holds (accepted, not dispatched) is parked until the
 *     held copy is dispatched (then the resend is answered) or let go
 *     (rejected, expired: then the resend is taken as if it arrived then);
 *   - acknowledges a message when it is dispatched or refused.
 *
 * The layer never sees a frame's encoding, a clock or an event queue: every
 * entry point takes `now`; the host identifies a connection by its own
 * 64-bit key and passes the layer's per-connection state (a
 * sim_srvsock_conn embedded in its own connection record); what the layer
 * holds or parks is the host's own copy of the frame (a 64-bit handle
 * made by `keep`), handed back to the host to feed in again (`unhold`,
 * `unparked`) or to free (`drop`).  The host's hooks `before` and `after`
 * run around every cr_conn_message and cr_conn_switch (the simulator audits
 * the core there and tells its oracle; the real server adds the thread to
 * its thread service).  Trace lines (actor "server") go to the configured
 * trace, NULL in a host that traces nothing.
 */
#ifndef SIM_SRVSOCK_H
#define SIM_SRVSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "ctxready.h"
#include "sim/trace.h"

/* No handle / no connection key. */
#define SIM_SRVSOCK_NONE UINT64_MAX

typedef enum sim_srvsock_kind { SIM_SRVSOCK_MESSAGE = 1, SIM_SRVSOCK_SWITCH } sim_srvsock_kind;

/* What the layer did with a request (sim_srvsock_request,
 * sim_srvsock_authenticated). */
typedef enum sim_srvsock_result {
    SIM_SRVSOCK_NOTHING = 0, /* nothing to do (no deferred switch) */
    SIM_SRVSOCK_CLOSED,      /* the connection is not open in the core: dropped */
    SIM_SRVSOCK_HELD,        /* held behind a deferred switch */
    SIM_SRVSOCK_BUSY,        /* not held: hold_max frames are held already */
    SIM_SRVSOCK_DUPLICATE,   /* a resend of a message dispatched or refused: acknowledged */
    SIM_SRVSOCK_PARKED,      /* a resend of a message the core holds: parked */
    SIM_SRVSOCK_ACCEPTED,    /* the core took the message */
    SIM_SRVSOCK_REFUSED,     /* the core refused it (message: acknowledged with the error) */
    SIM_SRVSOCK_SWITCHED,    /* the core took the switch */
    SIM_SRVSOCK_DEFERRED,    /* a switch before authentication: deferred */
    SIM_SRVSOCK_FAILED       /* the host failed (keep, before) or out of memory */
} sim_srvsock_result;

/* Why an ack is sent (sim_srvsock_host.ack). */
typedef enum sim_srvsock_ack {
    SIM_SRVSOCK_ACK_DUPLICATE = 1, /* to the resend of a message dispatched or refused */
    SIM_SRVSOCK_ACK_REFUSED,       /* to a message the core refused */
    SIM_SRVSOCK_ACK_DISPATCHED,    /* to the connection the message was dispatched for */
    SIM_SRVSOCK_ACK_PARKED         /* to a parked resend whose held copy was dispatched */
} sim_srvsock_ack;

/* A message or switch as the layer sees it (borrowed for the call). */
typedef struct sim_srvsock_req {
    sim_srvsock_kind kind;
    int64_t msg;         /* the host's message id (>= 0; messages) */
    const char *thread;  /* the thread's name, NULL none (messages); set for switches */
    int32_t thread_key;  /* the host's key of that thread, -1 none (handed back) */
    uint64_t last_seq;   /* the client's last seen seq on it */
    uint64_t sel;        /* the host's number of the client's selection (handed back) */
    uint64_t tag;        /* cr_message.tag (messages) */
    const char *payload; /* messages */
    size_t payload_len;
    int retry; /* set by the layer: a deferred switch made after authentication */
} sim_srvsock_req;

/* The layer's state of one connection, embedded in the host's record and
 * set up with sim_srvsock_conn_init.  The host may read every field (the
 * deferred_* ones still describe the last deferred switch after
 * sim_srvsock_authenticated made it) and clears `open` when the core closed
 * the connection itself (cr_callbacks.close); the rest is the layer's. */
typedef struct sim_srvsock_conn {
    cr_conn_id core;            /* the core's id, 0 until opened */
    uint64_t deferred_last_seq; /* the deferred switch's */
    uint64_t deferred_sel;
    int32_t deferred_key;
    uint32_t held_head, held_tail; /* what waits behind it (the layer's nodes) */
    uint32_t nheld;
    uint8_t open;          /* the core has it open */
    uint8_t deferred;      /* a switch waits for the auth answer */
    char *deferred_thread; /* owned: the deferred switch's thread, NULL none (a
                            * pointer, not an array: a connection record stays
                            * small, and few switches are ever deferred) */
} sim_srvsock_conn;

typedef struct sim_srvsock_host {
    void *ud;
    /* keep a copy of the frame `src` (what the host passed to
     * sim_srvsock_request) to feed in later: its handle, or SIM_SRVSOCK_NONE
     * when the host failed */
    uint64_t (*keep)(void *ud, const void *src);
    /* free a kept copy the layer no longer needs */
    void (*drop)(void *ud, uint64_t h);
    /* acknowledge message `msg` (rc: the core's refusal, 0 taken) to
     * connection `key`; h: the parked resend's copy for ACK_PARKED (the layer
     * drops it after), else SIM_SRVSOCK_NONE.  The host decides whether the
     * connection can still be written. */
    void (*ack)(void *ud, uint64_t now, uint64_t key, uint64_t h, int64_t msg, int rc,
                sim_srvsock_ack why);
    /* a parked resend of connection `key` is to be taken now, as if it
     * arrived now: the host feeds copy h to sim_srvsock_request after the
     * current call (it owns h again) */
    void (*unparked)(void *ud, uint64_t now, uint64_t key, uint64_t h);
    /* right before the core call of r; non-zero: the host failed, the call
     * is not made (SIM_SRVSOCK_FAILED) */
    int (*before)(void *ud, uint64_t now, uint64_t key, const sim_srvsock_req *r);
    /* right after it, with its return code */
    void (*after)(void *ud, uint64_t now, uint64_t key, const sim_srvsock_req *r, int rc);
    /* out of memory in the layer (`what`); may be NULL */
    void (*oom)(void *ud, const char *what);
} sim_srvsock_host;

typedef struct sim_srvsock_config {
    cr_ctx *core;                 /* borrowed */
    sim_trace *trace;             /* actor "server"; NULL: none */
    const sim_srvsock_host *host; /* copied */
    uint32_t hold_max;            /* frames held behind a deferred switch, 0 unbounded */
    uint32_t msgs_max;            /* message ids remembered (the oldest forgotten), 0 unbounded */
} sim_srvsock_config;

typedef struct sim_srvsock sim_srvsock;

/* sim_srvsock_new makes a socket layer.  Returns 0, or -1 on allocation
 * failure or a bad config. */
int sim_srvsock_new(sim_srvsock **out, const sim_srvsock_config *cfg);

/* sim_srvsock_free releases it, dropping what it parked (NULL is fine).
 * O(messages remembered). */
void sim_srvsock_free(sim_srvsock *ss);

/* sim_srvsock_conn_init sets up the state of a connection not yet open. */
void sim_srvsock_conn_init(sim_srvsock_conn *c);

/* sim_srvsock_conn_free drops what connection c holds and frees its
 * deferred switch's thread; the host calls it before it forgets c's record
 * (the simulator at the end of a seed).  O(held). */
void sim_srvsock_conn_free(sim_srvsock *ss, sim_srvsock_conn *c);

/* sim_srvsock_open opens connection c (the host's key `key`) in the core:
 * c->core set and c->open on success.  Returns cr_conn_open's code.  O(1). */
int sim_srvsock_open(sim_srvsock *ss, uint64_t now, sim_srvsock_conn *c, uint64_t key);

/* sim_srvsock_close closes connection c in the core for `reason` (c->open
 * cleared first).  Returns cr_conn_close's code.  O(what the core holds). */
int sim_srvsock_close(sim_srvsock *ss, uint64_t now, sim_srvsock_conn *c, cr_close_reason reason);

/* sim_srvsock_request: message or switch r arrived on connection c (key
 * `key`; src: the host's frame, for `keep`).  Holds it behind a deferred
 * switch, drops it as a duplicate (acknowledged) or parks it, or gives it
 * to the core between the host's before and after (a refused message is
 * acknowledged; a switch refused with CR_ESTATE is deferred).  Returns what
 * it did.  O(1) expected, plus the core call. */
sim_srvsock_result sim_srvsock_request(sim_srvsock *ss, uint64_t now, sim_srvsock_conn *c,
                                       uint64_t key, const sim_srvsock_req *r, const void *src);

/* sim_srvsock_authenticated: connection c was authenticated: its deferred
 * switch, if any, is given to the core now (r.retry set for the hooks).
 * Returns SIM_SRVSOCK_NOTHING (none deferred), _SWITCHED, _REFUSED or
 * _FAILED; the host then feeds in what was held (sim_srvsock_unhold). */
sim_srvsock_result sim_srvsock_authenticated(sim_srvsock *ss, uint64_t now, sim_srvsock_conn *c,
                                             uint64_t key);

/* sim_srvsock_unhold takes the oldest frame held behind c's switch out,
 * once the switch is no longer deferred: its handle (the host owns it
 * again and feeds it to sim_srvsock_request), or SIM_SRVSOCK_NONE.  O(1). */
uint64_t sim_srvsock_unhold(sim_srvsock *ss, sim_srvsock_conn *c);

/* sim_srvsock_dispatched: the core dispatched message `msg`
 * (cr_callbacks.dispatch) for connection `key` (SIM_SRVSOCK_NONE: one the
 * host does not know): a parked resend is answered (ACK_PARKED), then the
 * connection (ACK_DISPATCHED).  Safe inside a core callback.  O(1)
 * expected. */
void sim_srvsock_dispatched(sim_srvsock *ss, uint64_t now, uint64_t key, int64_t msg);

/* sim_srvsock_let_go: the core reported on message `msg` (rejected,
 * expired...): if it held it, a resend is taken again, and a parked one
 * goes back to the host (`unparked`).  Safe inside a core callback.  O(1)
 * expected. */
void sim_srvsock_let_go(sim_srvsock *ss, uint64_t now, int64_t msg);

#endif
