/*
 * drive.h - `ctxsim drive`: a scenario's tabs as real WebSocket clients
 * against a server that speaks docs/protocol.md, judged by the same oracle
 * and verdict as `ctxsim run`.
 *
 * The tabs are the simulator's own (sim/tab.h, unchanged); this module is
 * their host: real connections (sim/wsclient.h) with the scenario's uplink
 * and downlink delays injected at the client, real monotonic time scaled by
 * the time scale, and the server's control side (`ctxready-control.v1`)
 * telling the oracle what the server's agents emitted and what its core
 * accepted, refused, dispatched, sent and reported (protocol.md maps each
 * control frame to its sim_oracle_* call).
 *
 * Seed S of a scenario runs its tabs with the streams of seed S (the same
 * scripts, waits and network draws as the simulated seed S), as users
 * "<run>s<S>u<N>" (a per-invocation prefix, so that runs and seeds never
 * share a user or a thread on one server) with threads "<user>/t<K>".
 * Several seeds may run at once (`parallel`); each has its own tabs and
 * oracle.  A seed ends when it is quiet (every script done, nothing held,
 * every run finished, the control side silent for a while) or at its drain
 * bound (sim_world_drain_bound after the horizon or the last input), as a
 * simulated seed does.
 *
 * What a real run cannot see is not counted: stranded and stuck_pending
 * (the core's state after the drain) and accounting (the core's counters)
 * stay 0; the trace hash is 0 (a real run is not a pure function of its
 * seed).
 */
#ifndef SIM_DRIVE_H
#define SIM_DRIVE_H

#include <stddef.h>
#include <stdint.h>

#include "sim/result.h"
#include "sim/scenario.h"

/* Errors of sim_drive_sweep (besides 0). */
#define SIM_DRIVE_EUSAGE (-2) /* bad URL, a profile or time scale the server does not run */
#define SIM_DRIVE_EENV   (-3) /* no server, no control side, the server went away */
#define SIM_DRIVE_EINTR  (-4) /* a stop request (sim/budget.h) */

typedef struct sim_drive_opts {
    const char *url;        /* ws://HOST:PORT: the server (tabs on /ws, control on /control) */
    double time_scale;      /* real seconds per scenario second; 0: the server's */
    int profile;            /* -1: whatever the server runs, else the cr_profile it must run */
    uint32_t seeds;         /* 0: the scenario's */
    uint64_t only_seed;     /* != 0: just this seed */
    uint32_t parallel;      /* seeds at once (0, 1: one at a time) */
    const char *token;      /* auth token (NULL: "ctxsim") */
    double connect_timeout; /* real seconds to reach the control side (0: 5) */
    int progress;           /* a line per seed on stderr */
} sim_drive_opts;

/*
 * sim_drive_sweep runs the sweep's seeds against the server into *out
 * (like sim_sweep_run: scenario, path, profile as the server reports it,
 * seeds owned: sim_sweep_result_free), then judges it (sim_sweep_judge:
 * role gate).  Returns 0, or SIM_DRIVE_E* with the reason in err (nothing
 * is kept in *out then).  Real time: about (horizon + drain) x time scale
 * per `parallel` seeds, bounded per seed.
 */
int sim_drive_sweep(const sim_scenario *sc, const sim_drive_opts *o, sim_sweep_result *out,
                    char *err, size_t errlen);

#endif
