/*
 * wsclient.h - real WebSocket client connections for `ctxsim drive`
 * (libwebsockets, its own event loop), with the scenario's network delays
 * injected at the client side.
 *
 * Time is the driver's: virtual nanoseconds since sim_ws_new, derived from
 * CLOCK_MONOTONIC and divided by the time scale (0.1: ten virtual seconds
 * per real second).  Every delay and timer below is in that time.
 *
 * Each connection has an uplink and a downlink held at the client:
 *  - sim_ws_send queues a text frame that leaves the socket `delay` later,
 *    FIFO per connection (a frame never overtakes an earlier one, as
 *    sim/net.h's channels: due = max(now + delay, the previous due));
 *  - a frame that reaches the socket is handed to cb.arrived, which returns
 *    how long to hold it (the sampled downlink delay); cb.frame gets it
 *    then, FIFO too;
 *  - sim_ws_drop kills the transport: queued uplink frames are lost, held
 *    downlink frames go to cb.frame with gone = SIM_WS_GONE_TRANSPORT, the
 *    socket itself is closed (without a close frame) `notice` later, when
 *    the server may notice it; sim_ws_close closes cleanly behind the
 *    queued frames (a close frame), held frames go with SIM_WS_GONE_CLOSE.
 *    Either way cb.closed is not called for that connection.
 * Nothing blocks: sim_ws_run services the loop until a deadline or until
 * cb.idle says to stop.  One sim_ws is used from one thread.
 */
#ifndef SIM_WSCLIENT_H
#define SIM_WSCLIENT_H

#include <stddef.h>
#include <stdint.h>

#define SIM_WS_GONE_TRANSPORT 1 /* held when the transport was dropped */
#define SIM_WS_GONE_CLOSE     2 /* held when the tab closed the connection */

typedef struct sim_ws sim_ws;

typedef struct sim_ws_cb {
    /* conn's handshake completed. */
    void (*opened)(void *ud, uint32_t conn);
    /* A text frame reached conn's socket: returns its hold (ns). */
    uint64_t (*arrived)(void *ud, uint32_t conn, const char *txt, size_t len);
    /* The frame after its hold (gone 0), or discarded (gone SIM_WS_GONE_*). */
    void (*frame)(void *ud, uint32_t conn, const char *txt, size_t len, int gone);
    /* conn failed or the server closed it (not after sim_ws_drop/close):
     * why is "connection refused", "closed by the server (1000)", ... */
    void (*closed)(void *ud, uint32_t conn, const char *why);
    /* A timer of sim_ws_timer came due. */
    void (*timer)(void *ud, uint64_t key);
} sim_ws_cb;

/* A parsed ws:// URL. */
typedef struct sim_ws_url {
    char host[256];
    int port;
    char path[512]; /* "/" when none */
} sim_ws_url;

/* sim_ws_parse_url parses "ws://HOST:PORT[/PATH]" (HOST a name, an IPv4
 * address or [IPv6]; no wss://).  0, or -1 with the reason in err. */
int sim_ws_parse_url(const char *url, sim_ws_url *out, char *err, size_t errlen);

/* sim_ws_new makes a client context; scale > 0 is real seconds per virtual
 * second.  0 or -1 (libwebsockets could not make a context, or memory). */
int sim_ws_new(sim_ws **out, const sim_ws_cb *cb, void *ud, double scale);
/* sim_ws_free closes every connection (no callbacks) and frees ws. */
void sim_ws_free(sim_ws *ws);

/* sim_ws_set_scale changes the time scale and restarts the driver's time
 * at 0 (before anything is scheduled: timers keep their times). */
void sim_ws_set_scale(sim_ws *ws, double scale);

/* sim_ws_now returns the driver's virtual time, ns. */
uint64_t sim_ws_now(const sim_ws *ws);

/* sim_ws_from_mono converts a CLOCK_MONOTONIC reading (ns; a server on
 * this host stamps its control frames with it) to the driver's time
 * (0 for a reading before sim_ws_new). */
uint64_t sim_ws_from_mono(const sim_ws *ws, uint64_t mono);

/* sim_ws_connect opens a connection to url's host and port, on `path`
 * with subprotocol `proto`, `delay` ns from now (the connection request
 * travels the uplink); its id in *conn (ids are never reused).  Frames
 * sent before the handshake completes wait for it.  0 or -1 (memory). */
int sim_ws_connect(sim_ws *ws, const sim_ws_url *url, const char *path, const char *proto,
                   uint64_t delay, uint32_t *conn);

/* sim_ws_send queues a text frame on conn's uplink, due `delay` from now.
 * A frame for a connection that is gone is dropped.  0 or -1 (memory). */
int sim_ws_send(sim_ws *ws, uint32_t conn, const char *txt, size_t len, uint64_t delay);

/* sim_ws_drop: the transport dies now; the socket closes `notice` later. */
void sim_ws_drop(sim_ws *ws, uint32_t conn, uint64_t notice);
/* sim_ws_close: the tab closes conn; the close frame leaves behind the
 * queued frames, `delay` from now at the earliest. */
void sim_ws_close(sim_ws *ws, uint32_t conn, uint64_t delay);

/* sim_ws_is_open: 1 while conn's handshake has completed and the
 * connection is neither dropped, closed nor failed. */
int sim_ws_is_open(const sim_ws *ws, uint32_t conn);

/* sim_ws_busy: 1 while conn has frames queued on its uplink or held on
 * its downlink. */
int sim_ws_busy(const sim_ws *ws, uint32_t conn);

/* sim_ws_timer calls cb.timer(key) at virtual time `at` (now if past).
 * 0 or -1 (memory).  O(log timers). */
int sim_ws_timer(sim_ws *ws, uint64_t at, uint64_t key);

/* sim_ws_run services connections and timers until virtual time `until`,
 * or until stop(ud) returns non-zero (checked after every callback
 * round).  Returns 0 (until reached or stopped) or -1 (the loop failed).
 * Real time spent: at most (until - now) * scale plus one service round. */
int sim_ws_run(sim_ws *ws, uint64_t until, int (*stop)(void *ud));

#endif
