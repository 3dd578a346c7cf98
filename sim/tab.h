/*
 * tab.h - the client side: browser tabs following the scenario's script.
 *
 * Each tab runs `client:` step by step (repeat frames included): connect,
 * authenticate, send (over the socket or HTTP), switch, wait, disconnect,
 * reconnect, close.  It resolves thread references (new, same, a name,
 * none, foreign, sibling), numbers its selections (echoed by the server's
 * notices), keeps the last seq it saw per thread (sent as last_seq), an
 * outbox of messages the server has not acknowledged (resent in order
 * after a reconnect), reconnects after the scenario's backoff, and draws
 * the mid-run disconnect fault.  It tells the oracle (sim/oracle.h) what
 * its user chose and viewed, what it sent and what it received.
 *
 * A tab never touches the transport, the core or a clock: it calls its
 * host (sim_tab_host) to open and close connections, send frames
 * (sim/frame.h) and schedule its next step, and the host calls it back
 * with the time (sim_tab_step, sim_tab_reconnect, sim_tab_fault) and with
 * what arrived (sim_tab_receive, sim_tab_lost).  Two hosts use it: the
 * simulated world (sim/world.c: virtual time, the simulated transport) and
 * `ctxsim drive` (real time, a real WebSocket per connection).  A frame
 * may be sent right after `open`: the host delivers it once the connection
 * is up, behind the opening handshake (the simulated uplink carries the
 * open first), so the tab has no "connected" callback.  Times are
 * nanoseconds of the host's clock and never decrease.
 *
 * Tabs are numbered 0..ntabs-1, the tabs of one user contiguous
 * (sim_oracle_new's rule).  Everything random draws from the tab's own
 * streams (sim/streams.h: `cli` for waits and backoff, `flt` for the
 * disconnect fault), so a tab's choices are a pure function of the seed
 * and of what it received when.
 */
#ifndef SIM_TAB_H
#define SIM_TAB_H

#include <stdint.h>

#include "sim/frame.h"
#include "sim/oracle.h"
#include "sim/scenario.h"
#include "sim/streams.h"
#include "sim/trace.h"

/* What a tab asks its host to schedule (sim_tab_host.schedule); the host
 * calls the matching function at `when`. */
typedef enum sim_tab_timer {
    SIM_TAB_STEP = 1,  /* sim_tab_step: the script's next step */
    SIM_TAB_RECONNECT, /* sim_tab_reconnect: the reconnect backoff has passed */
    SIM_TAB_FAULT      /* sim_tab_fault(conn): the transport of `conn` dies */
} sim_tab_timer;

/* How a tab lets go of a connection (sim_tab_host.close). */
typedef enum sim_tab_close {
    SIM_TAB_DROP = 1, /* the transport dies: what is in flight either way is lost;
                       * the server notices after one uplink delay (CR_CLOSE_DISCONNECT) */
    SIM_TAB_CLOSE,    /* the tab closes: the close frame travels the uplink behind
                       * the earlier frames (CR_CLOSE_CLIENT); downlink in flight is lost */
    SIM_TAB_GONE      /* the server closed it (a CLOSING notice arrived): nothing to send */
} sim_tab_close;

/* The host interface.  Every callback gets `ud`.  A callback that fails
 * (allocation) records the failure itself; the tab goes on. */
typedef struct sim_tab_host {
    void *ud;
    /* open a new connection for `tab`: its host id (>= 0), or -1 on failure */
    int64_t (*open)(void *ud, uint64_t now, uint32_t tab);
    /* send frame *f (CONNECT excepted: `open` does that) on connection `conn` */
    void (*send)(void *ud, uint64_t now, uint32_t tab, int64_t conn, const sim_frame *f);
    /* post message frame *f (SIM_FRAME_HTTP) over HTTP: no connection */
    void (*post)(void *ud, uint64_t now, uint32_t tab, const sim_frame *f);
    /* let go of connection `conn` (sim_tab_close); the tab no longer uses it */
    void (*close)(void *ud, uint64_t now, uint32_t tab, int64_t conn, sim_tab_close how);
    /* call the sim_tab_timer function for `tab` at `when` (>= now) */
    void (*schedule)(void *ud, uint64_t when, uint32_t tab, sim_tab_timer timer, int64_t conn);
    /* a new thread owned by user `owner` (foreign_for >= 0: made for user
     * foreign_for to probe, who does not own it): its index, or -1 */
    int32_t (*thread_new)(void *ud, uint64_t now, uint32_t owner, int32_t foreign_for);
    /* the name of thread `t` for the trace ("-" for -1) */
    const char *(*thread_name)(void *ud, int32_t t);
    /* the user who owns thread `t` (>= 0) */
    uint32_t (*thread_owner)(void *ud, int32_t t);
    /* the tab failed (allocation): `why`, e.g. "out of memory (outbox)" */
    void (*fail)(void *ud, const char *why);
} sim_tab_host;

typedef struct sim_tabs_config {
    const sim_scenario *sc;    /* the script (`client:`), names, agent_events, faults */
    uint32_t nusers;           /* users 0..nusers-1 */
    const uint32_t *first_tab; /* per user: its first tab (tabs of user u: first_tab[u] up
                                * to first_tab[u + 1] or ntabs); copied */
    uint32_t ntabs;
    sim_streams *streams;     /* per tab, host-owned, outlive the tabs */
    sim_oracle *oracle;       /* borrowed */
    sim_trace *trace;         /* trace lines (actor "client:u<U>.<K>"); NULL: none */
    const sim_tab_host *host; /* copied */
} sim_tabs_config;

typedef struct sim_tabs sim_tabs;

/* sim_tabs_new makes the tabs of one seed, each at the start of its
 * script, closed, selecting nothing.  Returns 0, or -1 on allocation
 * failure or a bad config.  O(ntabs + users). */
int sim_tabs_new(sim_tabs **out, const sim_tabs_config *cfg);

/* sim_tabs_free releases the tabs (NULL is fine). */
void sim_tabs_free(sim_tabs *t);

/* sim_tab_start tells the oracle that tab c has no link yet and schedules
 * its first step at `now`.  Returns 0, or -1 (oracle allocation). */
int sim_tab_start(sim_tabs *t, uint64_t now, uint32_t c);

/* sim_tab_step runs tab c's next step (SIM_TAB_STEP): an action, then the
 * next step scheduled (after the wait for `wait`); a step that needs the
 * connection while a reconnect is under way is held until it completes.
 * The end of the script marks the tab done.  O(1) per step (a `new` or
 * `sibling` reference: O(tabs of the user)). */
void sim_tab_step(sim_tabs *t, uint64_t now, uint32_t c);

/* sim_tab_reconnect (SIM_TAB_RECONNECT): the backoff has passed; a tab
 * still open opens a new connection, authenticates, switches back to its
 * selected thread, resends its outbox in order and resumes its script.
 * O(outbox). */
void sim_tab_reconnect(sim_tabs *t, uint64_t now, uint32_t c);

/* sim_tab_fault (SIM_TAB_FAULT): the transport of connection `conn` dies
 * (the disconnect fault drawn when a message was sent on it); nothing if
 * the tab has moved on from it or closed.  Then reconnects after backoff. */
void sim_tab_fault(sim_tabs *t, uint64_t now, uint32_t c, int64_t conn);

/* sim_tab_receive: frame *f (EVENT, NOTICE or ACK) arrived on tab c's
 * connection `conn`, which the tab still holds open.  Events go to the
 * oracle (and update last_seq); an ACK or MESSAGE_REJECTED answers an
 * outbox message; THREAD_SWITCHED answering the latest selection is shown;
 * SWITCH_FAILED is told to the oracle; CLOSING ends the connection
 * (host close SIM_TAB_GONE) and reconnects after backoff.  O(outbox) for an
 * answer, O(threads seen) for an event. */
void sim_tab_receive(sim_tabs *t, uint64_t now, uint32_t c, int64_t conn, const sim_frame *f);

/* sim_tab_lost: frame *f for tab c never arrived: the connection it was on
 * went away at `gone_at` (SIM_GONE_TRANSPORT or SIM_GONE_CLOSE, how).  An
 * event is told to the oracle as discarded.  O(1). */
void sim_tab_lost(sim_tabs *t, uint32_t c, const sim_frame *f, uint64_t gone_at, int how);

/* sim_tabs_count returns the number of tabs; sim_tabs_done how many have
 * finished their scripts. */
uint32_t sim_tabs_count(const sim_tabs *t);
uint32_t sim_tabs_done(const sim_tabs *t);

/* sim_tab_user returns tab c's user; sim_tab_name its trace actor,
 * "client:u<U>.<K>" (K: its number among the user's tabs). */
uint32_t sim_tab_user(const sim_tabs *t, uint32_t c);
const char *sim_tab_name(const sim_tabs *t, uint32_t c);

/* sim_tab_conn returns tab c's current connection, -1 none. */
int64_t sim_tab_conn(const sim_tabs *t, uint32_t c);

#endif
