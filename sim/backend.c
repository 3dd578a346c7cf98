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

/* One agent run, keyed by the core's run id (0: a free slot; the core
 * never gives out 0). */
typedef struct brun {
    cr_run_id id;
    int64_t msg;     /* the host's message id */
    uint32_t origin; /* whose streams its timings draw from */
    uint32_t next;   /* the index of its next event */
} brun;

struct sim_backend {
    const sim_scenario *sc;
    cr_ctx *core;
    sim_trace *trace;
    sim_backend_host host;
    /* The runs between run_go or their start and their last event: an
     * open-addressing table (linear probing, at most half full), so a
     * long-running host (ctxready-server) holds only the live runs.
     * Looked up by id, never iterated: the order of its slots cannot
     * reach a run. */
    brun *runs; /* owned; `capruns` slots, a power of two */
    size_t capruns, nruns;
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

/* slot_of returns the slot of run `id` or the free slot where it would
 * go.  O(1) expected. */
static size_t slot_of(const sim_backend *b, cr_run_id id)
{
    size_t mask = b->capruns - 1;
    size_t i = (size_t)(id * UINT64_C(0x9e3779b97f4a7c15) >> 32) & mask;
    while (b->runs[i].id && b->runs[i].id != id)
        i = (i + 1) & mask;
    return i;
}

/* run_find returns live run `id`, or NULL. */
static brun *run_find(sim_backend *b, cr_run_id id)
{
    if (!b->capruns || !id)
        return NULL;
    brun *r = &b->runs[slot_of(b, id)];
    return r->id ? r : NULL;
}

/* run_at returns run `id`, adding it (zeroed) when it is not there; NULL
 * on allocation failure.  O(1) amortised (the table doubles). */
static brun *run_at(sim_backend *b, cr_run_id id)
{
    brun *r = run_find(b, id);
    if (r)
        return r;
    if ((b->nruns + 1) * 2 > b->capruns) {
        size_t cap = b->capruns ? b->capruns * 2 : 16;
        brun *old = b->runs;
        size_t oldcap = b->capruns;
        b->runs = calloc(cap, sizeof *b->runs);
        if (!b->runs) {
            b->runs = old;
            return NULL;
        }
        b->capruns = cap;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].id)
                b->runs[slot_of(b, old[i].id)] = old[i];
        free(old);
    }
    r = &b->runs[slot_of(b, id)];
    *r = (brun){.id = id};
    b->nruns++;
    return r;
}

/* run_forget removes run `id` after its last event (backward-shift
 * deletion keeps every probe chain unbroken).  O(1) expected. */
static void run_forget(sim_backend *b, cr_run_id id)
{
    brun *r = run_find(b, id);
    if (!r)
        return;
    size_t mask = b->capruns - 1, i = (size_t)(r - b->runs), j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!b->runs[j].id)
            break;
        size_t home = (size_t)(b->runs[j].id * UINT64_C(0x9e3779b97f4a7c15) >> 32) & mask;
        /* move j into the hole at i unless its home lies in (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            b->runs[i] = b->runs[j];
            i = j;
        }
    }
    b->runs[i].id = 0;
    b->nruns--;
}

size_t sim_backend_live_runs(const sim_backend *b)
{
    return b->nruns;
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
    brun *r = run_find(b, run);
    if (r && r->next >= sc->nagent_events)
        run_forget(b, run), r = NULL; /* (a scenario without agent events) */
    if (!r)
        return -2; /* never started here, or past its last event */
    uint32_t i = r->next++;
    uint32_t origin = r->origin; /* (r goes stale once the core is called: its
                                  * callbacks may add runs) */
    sim_backend_emitted e = {.msg = r->msg, .index = i, .out = CR_OUTCOME_COUNT};
    if (b->host.emit_begin(b->host.ud, now, run, e.msg, i, &e.tag) != 0)
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
    if (e.last)
        run_forget(b, run);
    if (b->host.emitted(b->host.ud, now, run, &e) != 0)
        return -1;
    if (!e.last)
        b->host.schedule(b->host.ud, now + after(b, &sc->event_gap, origin), SIM_BACKEND_EMIT, 0,
                         run, 0);
    else
        cr_run_end(b->core, now, run);
    return 0;
}
