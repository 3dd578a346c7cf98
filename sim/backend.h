/*
 * backend.h - the server side around the core: the auth service, the
 * thread service and the agent runtime.
 *
 *   auth service    answers an `auth` frame after `server.auth`, then
 *                   authenticates the connection in the core;
 *   thread service  answers the core's association requests
 *                   (cr_callbacks.associate) after `server.thread_lookup`,
 *                   failing each with probability `faults.thread_update_fail`
 *                   (cr_assoc_complete);
 *   agent runtime   starts a run `server.agent_start` after the core
 *                   dispatched its message (cr_run_start) or after an HTTP
 *                   post reached it (cr_run_start_for), then, once the core
 *                   lets it go (run_go), emits `server.agent_events` in
 *                   order with `server.event_gap` between them
 *                   (cr_run_emit) and ends the run (cr_run_end).
 *
 * Timings and faults come from the scenario (sim/scenario.h `server:`,
 * `faults:`) through sim/dist.h, drawn from streams the host hands out per
 * "origin" (the host's key of whom the work is for: the simulator passes the
 * tab, sim/streams.h; a real server its connection).  The backend never
 * sees a clock or an event queue: "do X after d" is a call to the host's
 * `schedule` with an absolute time (virtual in sim/world.c; a timer heap on
 * a monotonic clock in ctxready-server), and the host calls the matching
 * sim_backend_* function when it is due.  The core calls are made here
 * (both hosts make them the same way); the host watches them through the
 * return codes and the emit hooks.
 *
 * The backend must not be called from inside a core callback for anything
 * but sim_backend_associate, sim_backend_dispatch and sim_backend_run_go
 * (which only draw and schedule): the core refuses re-entry.
 */
#ifndef SIM_BACKEND_H
#define SIM_BACKEND_H

#include <stdint.h>

#include "ctxready.h"
#include "sim/prng.h"
#include "sim/scenario.h"
#include "sim/trace.h"

/* What the backend asks its host to schedule: at `when`, the host calls
 * the named function with the arguments given back. */
typedef enum sim_backend_timer {
    SIM_BACKEND_AUTH = 1, /* sim_backend_authenticate; a = the host's connection key */
    SIM_BACKEND_ANSWER,   /* sim_backend_answer(req = a, ok = aux) */
    SIM_BACKEND_START,    /* sim_backend_start(core msg id = a, msg = b - 1);
                           * aux = the thread given to sim_backend_dispatch + 1 */
    SIM_BACKEND_HTTP,     /* sim_backend_start_for(msg = a, thread = (int32_t)b) */
    SIM_BACKEND_EMIT      /* sim_backend_emit(run = a) */
} sim_backend_timer;

/* What one cr_run_emit did (sim_backend_host.emitted). */
typedef struct sim_backend_emitted {
    int64_t msg;    /* the host's message id of the run */
    uint32_t index; /* the event's index in agent_events */
    uint64_t tag;   /* the tag the host gave it (emit_begin) */
    uint32_t len;   /* its payload bytes */
    int rc;         /* cr_run_emit's return */
    uint64_t seq;   /* its stream seq, 0 none */
    cr_outcome out; /* its outcome, CR_OUTCOME_COUNT: buffered, pending */
    int last;       /* the run's last event: cr_run_end follows */
} sim_backend_emitted;

typedef struct sim_backend_host {
    void *ud;
    /* call the sim_backend_timer function at `when` (>= now) with aux, a, b */
    void (*schedule)(void *ud, uint64_t when, sim_backend_timer timer, uint32_t aux, uint64_t a,
                     uint64_t b);
    /* the stream of `concern` (SIM_STREAM_SERVER: timings, SIM_STREAM_FAULTS:
     * failures) for work on behalf of `origin`; never NULL */
    sim_prng *(*stream)(void *ud, uint32_t origin, sim_stream concern);
    /* event `index` of run `run` (of host message `msg`) is about to be
     * emitted: set *tag (cr_event_in.tag, != 0).  Non-zero: do not emit it
     * (the host failed; the run emits nothing more). */
    int (*emit_begin)(void *ud, uint64_t now, cr_run_id run, int64_t msg, uint32_t index,
                      uint64_t *tag);
    /* what the emit did, right after cr_run_emit returned and before the run's
     * next event is scheduled or the run ended; non-zero: the host failed,
     * the run goes no further (neither scheduled nor ended) */
    int (*emitted)(void *ud, uint64_t now, cr_run_id run, const sim_backend_emitted *e);
} sim_backend_host;

typedef struct sim_backend_config {
    const sim_scenario *sc;       /* server:, faults: (borrowed) */
    cr_ctx *core;                 /* borrowed */
    sim_trace *trace;             /* actors "auth", "threadsvc", "agent"; NULL: none */
    const sim_backend_host *host; /* copied */
} sim_backend_config;

typedef struct sim_backend sim_backend;

/* sim_backend_new makes the server side of one run.  Returns 0, or -1 on
 * allocation failure or a bad config. */
int sim_backend_new(sim_backend **out, const sim_backend_config *cfg);

/* sim_backend_free releases it (NULL is fine). */
void sim_backend_free(sim_backend *b);

/* ---- auth service ---- */

/* sim_backend_auth: an auth frame of connection `conn` (the host's key)
 * reached the server: the answer is scheduled (SIM_BACKEND_AUTH) after
 * `server.auth`, drawn from origin's server stream.  O(1). */
void sim_backend_auth(sim_backend *b, uint64_t now, uint64_t conn, uint32_t origin);

/* sim_backend_authenticate: the auth service's answer for core connection
 * `id`: cr_conn_authenticate as `user`.  Returns the core's return code. */
int sim_backend_authenticate(sim_backend *b, uint64_t now, cr_conn_id id, const char *user);

/* ---- thread service ---- */

/* sim_backend_associate: the core asked (cr_callbacks.associate) to
 * associate connection `id` to user/thread, request `req`: the answer
 * (SIM_BACKEND_ANSWER) is drawn now, failed with probability
 * `faults.thread_update_fail` (origin's fault stream, drawn first) after
 * `server.thread_lookup` (origin's server stream).  Safe inside a core
 * callback.  O(1). */
void sim_backend_associate(sim_backend *b, uint64_t now, uint64_t req, cr_conn_id id,
                           const char *user, const char *thread, uint32_t origin);

/* sim_backend_answer: the thread service answers request `req` (ok or
 * failed): cr_assoc_complete.  Returns the core's return code. */
int sim_backend_answer(sim_backend *b, uint64_t now, uint64_t req, int ok);

/* ---- agent runtime ---- */

/* sim_backend_dispatch: the core dispatched message `core_msg`
 * (cr_callbacks.dispatch) carrying the host's message id `msg`, for the
 * host's thread `thread` (-1 none; handed back in the timer's aux): its run
 * starts (SIM_BACKEND_START) after `server.agent_start`.  Safe inside a core
 * callback.  O(1). */
void sim_backend_dispatch(sim_backend *b, uint64_t now, uint64_t core_msg, int64_t msg,
                          int32_t thread, uint32_t origin);

/* sim_backend_start: start the run of dispatched message `core_msg`
 * (host message `msg`): cr_run_start, *run set on success; the run's
 * timings draw from origin's server stream.  Returns the core's return
 * code, or CR_ENOMEM when the backend cannot record the run (started in
 * the core, it will not emit). */
int sim_backend_start(sim_backend *b, uint64_t now, uint64_t core_msg, int64_t msg, uint32_t origin,
                      cr_run_id *run);

/* sim_backend_post: a message posted over HTTP (host message `msg`, for
 * the host's thread `thread`) reached the server: its run starts
 * (SIM_BACKEND_HTTP) after `server.agent_start`.  O(1). */
void sim_backend_post(sim_backend *b, uint64_t now, int64_t msg, int32_t thread, uint32_t origin);

/* sim_backend_start_for: start the run of an HTTP-posted message on
 * user/thread, authenticated as that user: cr_run_start_for, *run set on
 * success.  Returns the core's return code, or CR_ENOMEM (as above). */
int sim_backend_start_for(sim_backend *b, uint64_t now, int64_t msg, const char *user,
                          const char *thread, uint32_t origin, cr_run_id *run);

/* sim_backend_run_go: the core lets run `run` go (cr_callbacks.run_go):
 * its first event is scheduled now (SIM_BACKEND_EMIT).  Safe inside a core
 * callback.  Returns 0, or -1 on allocation failure.  O(1) amortised. */
int sim_backend_run_go(sim_backend *b, uint64_t now, cr_run_id run);

/* sim_backend_emit: run `run` emits its next event (cr_run_emit, between
 * the host's emit_begin and emitted), then schedules the one after it
 * `server.event_gap` later, or ends the run (cr_run_end) after the last.
 * Returns 0, -1 when the host's emit_begin or emitted failed, -2 for a
 * run the backend does not know or that emitted its last event. */
int sim_backend_emit(sim_backend *b, uint64_t now, cr_run_id run);

#endif
