/*
 * sweep.h - run many seeds of one scenario (optionally in worker processes)
 * and judge them against the scenario's `expect`.
 *
 * Seeds are numbered 1..N; seed S of a scenario is the same run whoever runs
 * it: alone (--seed S), in a sweep with --jobs 1 or --jobs N, or in shard
 * K/N (the seeds S with (S - 1) mod N == K - 1).
 */
#ifndef SIM_SWEEP_H
#define SIM_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "ctxready.h"
#include "sim/result.h"
#include "sim/scenario.h"

#define SIM_MAX_OVERRIDES 32

typedef struct sim_sweep_opts {
    uint32_t seeds;     /* 0: the scenario's `seeds` */
    uint64_t only_seed; /* != 0: run just this seed */
    uint32_t shard_k;   /* 1..shard_n, with shard_n > 0 */
    uint32_t shard_n;   /* 0: no sharding */
    int jobs;           /* worker processes (<= 1: in process) */
    int explore;        /* seeded reordering of simultaneous events */
    uint64_t max_steps; /* per-seed step budget (livelock watchdog); 0: the scenario's default */
    int allow_large;    /* a seed is over the cost limits of sim/cost.h (run with --allow-large) */
    int no_trace;       /* --no-trace: no trace hashing; every seed's trace hash is absent (0,
                         * with 0 steps; a replay traces again) */
    int profile;        /* -1: the scenario's, else a cr_profile */
    int ablate_fix;     /* 1..9: switch that fix off on top; 0 none */
    int progress;       /* print progress on stderr */
    int role;           /* sim_role of the sweep (sim/verdict.h): 0 gate */
    int matrix;         /* 1: a sweep of the --ablation matrix (informational) */
    size_t noverrides;  /* --policy k=v, applied last */
    struct {
        char name[48];
        uint64_t value;
    } overrides[SIM_MAX_OVERRIDES];

    /* PCT (sim/engine.h, docs/pct.md); it replaces explore. */
    uint32_t pct_depth;  /* != 0: PCT of this depth */
    uint64_t pct_window; /* the race window W, ns */
} sim_sweep_opts;

/* sim_sweep_policy computes the effective policy of a sweep, and in `diff`
 * (may be NULL) the knobs that differ from the scenario's own policy under
 * the chosen profile with the ablated fix (o->ablate_fix) switched off, as
 * "k=v,k=v" (what a replay line must repeat besides --ablate N).
 * Returns 0 or a CR_E* code. */
int sim_sweep_policy(const sim_scenario *sc, const sim_sweep_opts *o, cr_policy *out, char *diff,
                     size_t difflen);

/* sim_sweep_run runs the sweep into *out (out->seeds owned: free with
 * sim_sweep_result_free).  Returns 0, or -1 with err filled (a worker died,
 * allocation failed, a seed hit a simulation error, or a stop request of
 * sim/budget.h came: "interrupted by signal N"; the seed being run is
 * dropped, the workers are sent SIGTERM, nothing is kept in *out). */
int sim_sweep_run(const sim_scenario *sc, const sim_sweep_opts *o, sim_sweep_result *out, char *err,
                  size_t errlen);

void sim_sweep_result_free(sim_sweep_result *r);

/* sim_seed_judge judges one seed by the per-seed rule of sim/verdict.h
 * (sim_seed_verdict) against the scenario's expect; sets res->pass and
 * res->reason.  (The world counts livelock and errors itself, with its
 * reason: no failed seed is ever skipped.) */
void sim_seed_judge(const sim_scenario *sc, sim_seed_result *res);

/* sim_sweep_judge sums the seeds, sets percentiles and the expectations
 * from the scenario, then the verdict record (sim_sweep_verdict; role and
 * matrix as set in r). */
void sim_sweep_judge(const sim_scenario *sc, sim_sweep_result *r);

/* sim_profile_name returns "fixed" or "legacy". */
const char *sim_profile_name(int profile);

/* sim_check_determinism runs seed `seed` twice, keeping both traces, and
 * compares them.  Returns 0 if identical; 1 if they differ, with the first
 * differing step written into `diff`; -1 on error. */
int sim_check_determinism(const sim_scenario *sc, const cr_policy *policy, uint64_t seed,
                          int explore, uint64_t *hash, char *diff, size_t difflen);

#endif
