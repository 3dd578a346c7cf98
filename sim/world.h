/*
 * world.h - one seed of one scenario: the actors around the real core.
 *
 * Clients (browser tabs following the scenario's script), the network
 * (per-connection FIFO channels), the auth service, the thread service
 * (lookup latency, update failures), the message handler and the agent
 * runtime are simulated here; every routing decision is made by the real
 * libctxready through its public header.  The oracle (oracle.h) watches the
 * clients.  Everything random draws from streams derived from the seed
 * (prng.h), per concern and per client, so a run is a pure function of
 * (scenario, policy, seed, explore).
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
    int explore;    /* reorder simultaneous events by a seeded priority */
    int keep_trace; /* keep every trace record (replay, determinism check) */
    int no_trace;   /* skip trace formatting and hashing (benchmarks only) */
} sim_world_opts;

/* sim_world_run runs one seed to the scenario's horizon and fills *res
 * (counts, trace hash, latency; not the verdict: see sim_seed_judge).
 * With trace_out non-NULL the trace is handed over (caller frees it with
 * sim_trace_free).  Returns 0, or -1 on allocation failure or a core error
 * the simulator cannot continue after (message in res->reason). */
int sim_world_run(const sim_scenario *sc, const cr_policy *policy, const sim_world_opts *opts,
                  sim_seed_result *res, sim_trace **trace_out);

#endif
