/*
 * backend.c - the auth service, the thread service and the agent runtime
 * around the core (see backend.h).
 *
 * Flow of one chat message's run:
 *   core dispatch()  --agent_start-->  sim_backend_start: cr_run_start()
 *   core run_go()    --now-->          sim_backend_emit: cr_run_emit()
 *                    --event_gap-->    sim_backend_emit ... cr_run_end()
 * and of an association:
 *   core associate() --thread_lookup (may fail)--> sim_backend_answer:
 *                                                  cr_assoc_complete()
 */
#include "sim/backend.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim/dist.h"
#include "sim/grow.h"
#include "sim/tracepoint.h"

/* One agent run (indexed by the core's run id). */
typedef struct brun {
    int64_t msg;     /* the host's message id */
    uint32_t origin; /* whose streams its timings draw from */
    uint32_t next;   /* the index of its next event */
} brun;

struct sim_backend {
    const sim_scenario *sc;
    cr_ctx *core;
    sim_trace *trace;
    sim_backend_host host;
    brun *runs; /* owned */
    size_t capruns;
};

#define TR(b, now, actor, step, ...) SIM_TR((b)->trace, now, actor, step, __VA_ARGS__)

static sim_prng *stream(sim_backend *b, uint32_t origin, sim_stream concern)
{
    return b->host.stream(b->host.ud, origin, concern);
}

/* after draws a delay of `d` from origin's server stream. */
static uint64_t after(sim_backend *b, const sim_dist *d, uint32_t origin)
{
    return sim_dist_sample_ns(d, stream(b, origin, SIM_STREAM_SERVER));
}

int sim_backend_new(sim_backend **out, const sim_backend_config *cfg)
{
    *out = NULL;
    if (!cfg->sc || !cfg->core || !cfg->host || !cfg->host->schedule || !cfg->host->stream)
        return -1;
    sim_backend *b = calloc(1, sizeof *b);
    if (!b)
        return -1;
    b->sc = cfg->sc;
    b->core = cfg->core;
    b->trace = cfg->trace;
    b->host = *cfg->host;
    *out = b;
    return 0;
}

void sim_backend_free(sim_backend *b)
{
    if (!b)
        return;
    free(b->runs);
    free(b);
}

/* ---- auth service ------------------------------------------------------------- */

void sim_backend_auth(sim_backend *b, uint64_t now, uint64_t conn, uint32_t origin)
{
    b->host.schedule(b->host.ud, now + after(b, &b->sc->auth, origin), SIM_BACKEND_AUTH, 0, conn,
                     0);
}

int sim_backend_authenticate(sim_backend *b, uint64_t now, cr_conn_id id, const char *user)
{
    int rc = cr_conn_authenticate(b->core, now, id, user);
    TR(b, now, "auth", "authenticated", "conn=%" PRIu64 " %s rc=%s", id, user,
       rc ? cr_errname(rc) : "ok");
    return rc;
}

/* ---- thread service ------------------------------------------------------------ */

void sim_backend_associate(sim_backend *b, uint64_t now, uint64_t req, cr_conn_id id,
                           const char *user, const char *thread, uint32_t origin)
{
    int ok = sim_prng_double(stream(b, origin, SIM_STREAM_FAULTS)) >= b->sc->thread_update_fail;
    uint64_t delay = after(b, &b->sc->thread_lookup, origin);
    TR(b, now, "threadsvc", "associate",
       "req=%" PRIu64 " conn=%" PRIu64 " %s/%s -> %s in %" PRIu64 "ns", req, id, user, thread,
       ok ? "ok" : "FAIL", delay);
    b->host.schedule(b->host.ud, now + delay, SIM_BACKEND_ANSWER, (uint32_t)ok, req, 0);
}

int sim_backend_answer(sim_backend *b, uint64_t now, uint64_t req, int ok)
{
    int rc = cr_assoc_complete(b->core, now, req, ok);
    TR(b, now, "threadsvc", "answer", "req=%" PRIu64 " %s rc=%s", req, ok ? "ok" : "failed",
       rc ? cr_errname(rc) : "ok");
    return rc;
}

/* ---- agent runtime ----------------------------------------------------------------- */

/* run_at makes room for run id `run`; NULL on allocation failure. */
static brun *run_at(sim_backend *b, cr_run_id run)
{
    if (sim_grow((void **)&b->runs, &b->capruns, run + 1, sizeof(brun)))
        return NULL;
    return &b->runs[run];
}

/* started records the run the core just started (run_go may already have
 * been called inside the call).  0 or CR_ENOMEM. */
static int started(sim_backend *b, cr_run_id run, int64_t msg, uint32_t origin)
{
    brun *r = run_at(b, run);
    if (!r)
        return CR_ENOMEM;
    r->msg = msg;
    r->origin = origin;
    r->next = 0;
    return 0;
}

void sim_backend_dispatch(sim_backend *b, uint64_t now, uint64_t core_msg, int64_t msg,
                          int32_t thread, uint32_t origin)
{
    uint64_t delay = after(b, &b->sc->agent_start, origin);
    b->host.schedule(b->host.ud, now + delay, SIM_BACKEND_START, (uint32_t)(thread + 1), core_msg,
                     (uint64_t)(msg + 1));
}

int sim_backend_start(sim_backend *b, uint64_t now, uint64_t core_msg, int64_t msg, uint32_t origin,
                      cr_run_id *run)
{
    *run = 0;
    int rc = cr_run_start(b->core, now, core_msg, run);
    TR(b, now, "agent", "start", "msg=%" PRId64 " run=%" PRIu64 " rc=%s", msg, *run,
       rc ? cr_errname(rc) : "ok");
    if (rc != 0)
        return rc;
    return started(b, *run, msg, origin);
}

void sim_backend_post(sim_backend *b, uint64_t now, int64_t msg, int32_t thread, uint32_t origin)
{
    uint64_t delay = after(b, &b->sc->agent_start, origin);
    b->host.schedule(b->host.ud, now + delay, SIM_BACKEND_HTTP, 0, (uint64_t)msg,
                     (uint64_t)(int64_t)thread);
}

int sim_backend_start_for(sim_backend *b, uint64_t now, int64_t msg, const char *user,
                          const char *thread, uint32_t origin, cr_run_id *run)
{
    *run = 0;
    int rc = cr_run_start_for(b->core, now, user, thread, run);
    TR(b, now, "agent", "start-http", "msg=%" PRId64 " %s/%s run=%" PRIu64 " rc=%s", msg, user,
       thread, *run, rc ? cr_errname(rc) : "ok");
    if (rc != 0)
        return rc;
    return started(b, *run, msg, origin);
}

int sim_backend_run_go(sim_backend *b, uint64_t now, cr_run_id run)
{
    if (!run_at(b, run))
        return -1;
    b->host.schedule(b->host.ud, now, SIM_BACKEND_EMIT, 0, run, 0);
    return 0;
}

int sim_backend_emit(sim_backend *b, uint64_t now, cr_run_id run)
{
    const sim_scenario *sc = b->sc;
    if (run >= b->capruns || b->runs[run].next >= sc->nagent_events)
        return -2; /* never started here, or past its last event */
    brun *r = &b->runs[run];
    uint32_t i = r->next++;
    sim_backend_emitted e = {.msg = r->msg, .index = i, .out = CR_OUTCOME_COUNT};
    if (b->host.emit_begin(b->host.ud, now, run, r->msg, i, &e.tag) != 0)
        return -1;
    cr_event_in in = {
        .type = i,
        .tag = e.tag,
        .payload = sc->agent_events[i],
        .payload_len = strlen(sc->agent_events[i]),
    };
    e.len = (uint32_t)in.payload_len;
    e.rc = cr_run_emit(b->core, now, run, &in, &e.seq, &e.out);
    e.last = i + 1 >= sc->nagent_events;
    TR(b, now, "agent", "emit", "run=%" PRIu64 " %s ev=%" PRId64 " seq=%" PRIu64 " -> %s", run,
       sc->agent_events[i], (int64_t)e.tag - 1, e.seq,
       e.rc                       ? cr_errname(e.rc)
       : e.out < CR_OUTCOME_COUNT ? cr_outcome_name(e.out)
                                  : "buffered");
    if (b->host.emitted(b->host.ud, now, run, &e) != 0)
        return -1;
    /* (the core may have grown the table through run_go: r is stale) */
    if (!e.last)
        b->host.schedule(b->host.ud, now + after(b, &sc->event_gap, b->runs[run].origin),
                         SIM_BACKEND_EMIT, 0, run, 0);
    else
        cr_run_end(b->core, now, run);
    return 0;
}
