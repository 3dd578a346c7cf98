/*
 * world.h - one seed of one scenario: the actors around the real core, in
 * virtual time.
 *
 * The world hosts the actors on the engine (engine.h): the clients
 * (browser tabs following the scenario's script, tab.h), the network
 * (per-connection FIFO channels, transport.h), the auth service, the thread
 * service (lookup latency, update failures) and the agent runtime
 * (backend.h), and itself plays the server's socket layer (the message
 * handler); every routing decision is made by the real libctxready through
 * its public header.  The oracle (oracle.h) watches the clients.
 * Everything random draws from streams derived from the seed (prng.h,
 * streams.h), per concern and per client, so a run is a pure function of
 * (scenario, policy, seed, explore).  docs/architecture.md says which
 * actor lives where.
 */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include <stdint.h>

#include "ctxready.h"
#include "sim/result.h"
#include "sim/scenario.h"
#include "sim/trace.h"

typedef struct sim_world_opts {
    uint64_t seed;
    int explore;        /* reorder simultaneous events by a seeded priority */
    int keep_trace;     /* keep every trace record (replay, determinism check) */
    int annotate;       /* with keep_trace: add the notes the replay views read
                         * (sim_trace_note: outside the hash; sim/timeline.h) */
    int no_trace;       /* skip trace formatting and hashing (benchmarks only) */
    uint64_t max_steps; /* engine events before the seed fails as livelock; 0: the default */

    /* PCT (sim/engine.h, docs/pct.md); it replaces explore. */
    uint32_t pct_depth;  /* != 0: PCT of this depth */
    uint64_t pct_window; /* the race window W, ns */
    uint64_t pct_steps;  /* k; 0: the events the same seed runs without exploration */
} sim_world_opts;

/* sim_world_run runs one seed to the scenario's horizon, then drains it
 * (docs/oracle.md: no new step, fault or reconnect; what is in flight and
 * the core's timers go on until the world is quiet or the drain bound
 * passes), and fills *res (counts, trace hash, latency; not the verdict:
 * see sim_seed_judge).  A seed that exceeds its step budget stops with
 * res->c[SIM_COUNT_LIVELOCK] = 1; a setup or simulation error sets
 * res->c[SIM_COUNT_ERRORS] = 1; so does a bound of sim/budget.h, looked at
 * every SIM_BUDGET_CHECK_EVERY events (a stop request: the seed ends
 * uncounted; the memory budget: counted up to there); either way
 * res->reason says why.
 * Under PCT res->pct_* say what the exploration did (and, with
 * pct_steps 0, the seed first runs once unexplored to measure k).
 * With trace_out non-NULL the trace is handed over (caller frees it with
 * sim_trace_free).  Returns 0, or -1 on allocation failure or a core error
 * the simulator cannot continue after (message in res->reason). */
int sim_world_run(const sim_scenario *sc, const cr_policy *policy, const sim_world_opts *opts,
                  sim_seed_result *res, sim_trace **trace_out);

/* sim_world_drain_bound returns how long the drain may last after its
 * start or after the latest input to the core in it (a packet reaching the
 * server, an authentication completing, an agent run starting or
 * emitting), whichever is later: the scenario's `drain:`, or the longest of
 * event_ttl, pending_deadline, exec_grace and the full retry backoff, plus
 * the deadline.  O(retries). */
uint64_t sim_world_drain_bound(const sim_scenario *sc, const cr_policy *policy);

/* sim_world_step_budget returns the default step budget (max_steps) of a
 * seed of `sc` with `nclients` tabs: 16x what its scripts can cause.
 * O(steps in the file). */
uint64_t sim_world_step_budget(const sim_scenario *sc, uint32_t nclients);

#endif
