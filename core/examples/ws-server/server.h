/*
 * server.h - ctxready-server: libctxready embedded in a libwebsockets server.
 *
 * The program speaks docs/protocol.md (ctxready.v1 for tabs,
 * ctxready-control.v1 for test drivers) on one port, with /metrics,
 * /debug/conns, /healthz and POST /message over HTTP.  The files:
 *   main.c     options, the lws context, the event loop, signals
 *   net.c      the lws callback: sockets, frames in, bounded queues out
 *   host.c     the embedding: the core's callbacks, its timer on an lws_sul,
 *              and the host of sim/backend.h (the simulator's auth service,
 *              thread service and agent runtime, unchanged, and of
 *              sim/srvsock.h, the socket layer)
 *   frames.c   the JSON frames of the protocol (parse and build)
 *   metrics.c  /metrics (Prometheus text) and /debug/conns
 *   idmap.c    a small open-addressing map (connection ids, message tags)
 * Everything runs on the one lws service thread.
 */
#ifndef WS_SERVER_H
#define WS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "ctxready.h"
#include "sim/prng.h"
#include "sim/scenario.h"
#include "sim/srvsock.h"

#define SRV_PROTO       "ctxready.v1"
#define SRV_CTL_PROTO   "ctxready-control.v1"
#define SRV_MAX_CONTROL 4
#define SRV_HOLD_MAX    64    /* frames held behind a pre-auth switch (sim/srvsock.h) */
#define SRV_TAGS_MAX    65536 /* message tags remembered for duplicates (sim/srvsock.h) */
#define SRV_CTL_QUEUE   (16u << 20)
#define SRV_TAG_LIMIT   ((UINT64_C(1) << 53) - 1)
#define SRV_MSG_TAG_BIT (UINT64_C(1) << 62) /* core tags of messages; events have it clear */

/* ---- idmap.c: uint64 key -> pointer, open addressing ------------------------ */

typedef struct srv_idmap {
    uint64_t *keys; /* 0: empty slot */
    void **vals;
    size_t cap, len;
} srv_idmap;

/* srv_idmap_get returns the value of key (!= 0) or NULL.  O(1) expected. */
void *srv_idmap_get(const srv_idmap *m, uint64_t key);
/* srv_idmap_put sets key (!= 0) to val (!= NULL).  0 or -1 (memory). */
int srv_idmap_put(srv_idmap *m, uint64_t key, void *val);
/* srv_idmap_del removes key and returns its value (NULL if absent). */
void *srv_idmap_del(srv_idmap *m, uint64_t key);
void srv_idmap_free(srv_idmap *m);

/* ---- output queues ------------------------------------------------------------ */

typedef struct srv_frame {
    struct srv_frame *next;
    size_t len;
    uint8_t is_event;    /* counted as `unsent` when the socket goes first */
    unsigned char buf[]; /* LWS_PRE bytes of headroom, then len bytes */
} srv_frame;

typedef struct srv_queue {
    srv_frame *head, *tail;
    size_t frames, bytes;
} srv_queue;

/* ---- the server ------------------------------------------------------------------ */

typedef struct srv srv;

typedef enum srv_kind { SRV_KIND_HTTP = 0, SRV_KIND_CLIENT, SRV_KIND_CONTROL } srv_kind;

/* One tab's connection. */
typedef struct srv_conn {
    srv *s;
    struct lws *wsi;       /* NULL once the socket is gone */
    sim_srvsock_conn sock; /* the socket layer's: the core's id (sock.core), open in it */
    uint8_t authed, auth_pending;
    uint8_t closing;     /* a close is requested: after the queue drains */
    uint8_t peer_closed; /* the client sent a close frame */
    uint8_t slow;        /* closed as a slow reader */
    uint8_t core_closed; /* the core closed it (pending deadline) */
    uint8_t rx_active, rx_drop;
    int close_status;
    cr_close_reason core_reason;
    char user[CR_ID_MAX + 1];
    char pending_user[CR_ID_MAX + 1];
    char sel_thread[CR_ID_MAX + 1]; /* latest thread named by a switch or message */
    uint64_t sel_tag;
    srv_queue q;
    char *rx; /* a message being reassembled */
    size_t rxlen;
    uint8_t rx_toobig, rx_binary;
    uint64_t rate_window, rate_notice; /* ns */
    uint32_t rate_count;
    sim_prng rnd_srv, rnd_flt;
} srv_conn;

/* One control (driver) connection. */
typedef struct srv_ctl {
    srv *s;
    struct lws *wsi;
    srv_queue q;
    uint8_t overflow;
    char *rx;
    size_t rxlen;
    uint8_t rx_toobig, rx_active;
} srv_ctl;

/* Per-wsi data (one layout for every protocol of the vhost). */
typedef struct srv_pss {
    srv_kind kind;
    srv_conn *conn;
    srv_ctl *ctl;
    /* HTTP */
    char *body; /* response */
    size_t body_len, sent;
    int status;
    const char *ctype;
    char *post; /* request body being read */
    size_t post_len;
    uint8_t post_toobig, is_post;
} srv_pss;

/* Malformed-frame reasons: X(id, name). */
#define SRV_BAD_REASONS(X)                                                                         \
    X(BAD_JSON, bad_json)                                                                          \
    X(BAD_FRAME, bad_frame)                                                                        \
    X(UNKNOWN_OP, unknown_op)                                                                      \
    X(TOO_BIG, too_big)                                                                            \
    X(BINARY, binary)                                                                              \
    X(RATE_LIMITED, rate_limited)                                                                  \
    X(BUSY, busy)

typedef enum srv_bad {
#define SRV_BAD_ENUM(id, name) SRV_BAD_##id,
    SRV_BAD_REASONS(SRV_BAD_ENUM)
#undef SRV_BAD_ENUM
        SRV_BAD__N
} srv_bad;

const char *srv_bad_name(srv_bad b);

/* The server's own counters (the core's come from cr_ctx_get_stats). */
typedef struct srv_counters {
    uint64_t frames_in, frames_out, bytes_in, bytes_out;
    uint64_t malformed[SRV_BAD__N];
    uint64_t conns_accepted, conns_refused, slow_readers, control_overflows;
    uint64_t duplicates, parked, http_messages, auth_failed, runs_refused, threads_refused;
    uint64_t events_unsent;
    uint64_t conns_now, controls_now;
} srv_counters;

/* Options (main.c). */
typedef struct srv_opts {
    const char *host;
    int port;
    const char *scenario;
    int profile; /* -1: the scenario's */
    const char *profile_name;
    uint64_t seed;
    double time_scale;
    const char *token; /* NULL: any non-empty token */
    uint32_t max_conns;
    size_t max_frame;
    size_t send_queue;
    uint32_t rate; /* frames per second per connection */
    uint32_t max_runs;
    uint32_t max_threads; /* threads the reference thread service creates */
    int verbose;
} srv_opts;

/* A timer-queue item (host.c). */
typedef struct srv_item {
    uint64_t when, seq;
    int kind;
    uint32_t aux;
    uint64_t a, b;
    json_t *frame; /* owned: a parked resend to take again (IT_UNPARK), else NULL */
} srv_item;

typedef struct srv_run srv_run;

struct srv {
    srv_opts o;
    sim_scenario *sc;
    cr_policy pol;
    cr_ctx *core;
    struct lws_context *lws;
    struct lws_vhost *vh;
    int port;
    uint64_t last_now;
    srv_counters n;
    /* connections */
    srv_idmap conns; /* core id -> srv_conn */
    srv_ctl *ctl[SRV_MAX_CONTROL];
    /* host.c */
    srv_item *heap;
    size_t nheap, capheap;
    uint64_t item_seq;
    lws_sorted_usec_list_t sul_timer, sul_tick;
    uint64_t timer_armed; /* when sul_timer fires, UINT64_MAX none */
    uint64_t ev_serial;   /* the server's event ids */
    uint64_t http_serial;
    struct sim_backend *be; /* sim/backend.h: auth, thread service, agent runtime */
    srv_idmap starts;       /* core msg id -> start_rec: dispatched, run not started */
    srv_idmap posts;        /* POST serial -> start_rec */
    uint64_t answer_when;   /* the thread service's answer being drawn (cb_associate) */
    int answer_ok;
    srv_idmap runs; /* core run id -> srv_run */
    size_t nruns;
    srv_idmap threads;        /* hash of a thread created by thread_service -> (void *)1 */
    struct sim_srvsock *sock; /* sim/srvsock.h: holding, duplicates by tag, acks */
    int sock_rc;              /* the return code of its last core call (sk_after) */
    sim_prng rnd_http, rnd_http_flt;
    /* staged control frames (see srv_ctl_stage) */
    int staging;
    uint64_t stage_t;
    json_t *staged;
    int destroying; /* lws_context_destroy is closing what is left */
    /* shutdown */
    volatile int stop_signal;
    int stopping;
    uint64_t stop_deadline;
};

/* srv_lws_callback is the one lws callback of every protocol (net.c). */
int srv_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);

/* ---- main.c / net.c --------------------------------------------------------------- */

/* srv_now returns the core's clock: CLOCK_MONOTONIC ns, never decreasing. */
uint64_t srv_now(srv *s);

/* srv_send_client queues a text frame (JSON, stolen) for a connection.  A
 * queue past its bound closes the connection as a slow reader.  Returns 1
 * queued, 0 not (no socket, closing, or overflow). */
int srv_send_client(srv_conn *c, json_t *frame, int is_event);

/* srv_close_client asks for a connection's socket to close once its queue
 * is written, with a WebSocket status (1000, 1008). */
void srv_close_client(srv_conn *c, int status);

/* srv_ctl_emit sends a control frame (stolen; NULL is ignored) to every
 * control connection, with "t" set (while staging: the staged `now`);
 * while staging, it waits for srv_ctl_commit. */
void srv_ctl_emit(srv *s, json_t *frame);
/* srv_ctl_stage(now): what is emitted until srv_ctl_commit(first) goes
 * out after `first` (the frame of a request comes before what the core
 * did during it), every frame stamped `now`, the time given to the core. */
void srv_ctl_stage(srv *s, uint64_t now);
void srv_ctl_commit(srv *s, json_t *first);
/* srv_ctl_wanted: is any control connection open (else skip building). */
int srv_ctl_wanted(const srv *s);

/* srv_error_notice sends notice {kind: error} (and counts a malformed
 * frame when bad >= 0). */
void srv_error_notice(srv_conn *c, int bad, const char *error, const char *reason, json_t *tag);

/* ---- host.c ------------------------------------------------------------------------- */

/* srv_host_init creates the core with the server's policy and callbacks.
 * 0 or -1. */
int srv_host_init(srv *s);
void srv_host_free(srv *s);

/* srv_rearm points the lws timer at the earliest of the core's expiry and
 * the timer queue.  Called after every call into the core. */
void srv_rearm(srv *s);

/* The socket layer's entry points (net.c calls them). */
srv_conn *srv_host_open(srv *s, struct lws *wsi);
void srv_host_frame(srv_conn *c, json_t *frame); /* a parsed client frame (borrowed) */
void srv_host_gone(srv_conn *c);                 /* the socket closed; frees c */
int srv_host_http_message(srv *s, json_t *body, char *err, size_t errlen); /* HTTP status */
void srv_host_shutdown(srv *s); /* tell every client, close everything */

/* ---- frames.c ------------------------------------------------------------------------ */

/* srv_frame_dump serialises a JSON frame into a new srv_frame.  NULL on
 * memory. */
srv_frame *srv_frame_dump(json_t *j, int is_event);

/* Field readers: 0 ok (value stored; absent/null gives the default when
 * `required` is 0), -1 bad (reason written). */
int srv_get_id(json_t *o, const char *key, int required, int nullable, const char **out, char *why,
               size_t whylen);
int srv_get_uint(json_t *o, const char *key, int required, uint64_t min, uint64_t max,
                 uint64_t *out, char *why, size_t whylen);
int srv_get_str(json_t *o, const char *key, int required, size_t maxlen, const char **out,
                size_t *len, char *why, size_t whylen);

/* srv_thread_owner writes the owner of a thread under the reference
 * thread service's rule ("<owner>/<name>"); 0, or -1 when nobody owns it. */
int srv_thread_owner(const char *thread, char *owner, size_t len);

/* ---- metrics.c ------------------------------------------------------------------------ */

/* srv_metrics renders /metrics into a new malloc'd buffer.  0 or -1. */
int srv_metrics(srv *s, char **out, size_t *len);
/* srv_debug_conns renders /debug/conns.  0 or -1. */
int srv_debug_conns(srv *s, char **out, size_t *len);

#endif
