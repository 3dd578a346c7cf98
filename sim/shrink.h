/*
 * shrink.h - delta debugging (Zeller and Hildebrandt's ddmin) over a
 * scenario: the smallest scenario found on which one seed still fails the
 * same way.  What is reduced and what "the same way" means is in
 * docs/explore.md.  The failure of a seed is judged by the one verdict rule
 * (sim/verdict.h); a seed that passes it but whose own delivery rate is
 * below the scenario's line (a worst seed, the suite's rate failures) can
 * be shrunk as a rate failure with its dominant loss cause.
 */
#ifndef SIM_SHRINK_H
#define SIM_SHRINK_H

#include <stddef.h>
#include <stdint.h>

#include "ctxready.h"
#include "sim/scenario.h"
#include "sim/sweep.h"
#include "sim/world.h"

/* How one seed failed: its failure class and the reason as judged. */
typedef struct sim_failure {
    int failed;       /* 1: the seed fails (see `kind`), 0: it passes */
    char kind[32];    /* sim_seed_failure_kind ("stray", "silent_loss", "livelock", ...),
                         or "delivery_rate" for a rate failure; "" when it passes */
    int cause;        /* delivery_rate: the sim_cause with the most lost pairs; else -1 */
    char reason[256]; /* the seed's reason (sim_seed_verdict), or the rate's */
    uint64_t misses;  /* bit i: count i is above its per-seed limit */
    uint64_t trace_hash;
    uint64_t counts[SIM_COUNT__N];
} sim_failure;

/*
 * sim_failure_judge runs seed wo->seed of `sc` (world options *wo as given,
 * policy: the scenario's under so's profile, ablation and overrides,
 * sim_sweep_policy) and judges it into *out by the per-seed rule against
 * the scenario's expect; with `with_rate` a seed that passes that rule but
 * whose own delivery rate is below the scenario's delivery_rate fails as
 * "delivery_rate".  Returns 0, or -1 (the policy is refused, out of
 * memory).  Cost: one seed.
 */
int sim_failure_judge(const sim_scenario *sc, const sim_sweep_opts *so, const sim_world_opts *wo,
                      int with_rate, sim_failure *out);

/* sim_failure_same returns 1 when b fails the way a does: both fail with
 * the same kind (for delivery_rate, the same dominant cause) and b misses
 * no count a does not miss. */
int sim_failure_same(const sim_failure *a, const sim_failure *b);

/* The sizes a shrink reports, before and after. */
typedef struct sim_scenario_size {
    size_t steps;      /* every step of the script, repeats and their bodies included */
    uint64_t unrolled; /* steps one tab runs, repeats unrolled (saturating) */
    uint32_t users;
    char tabs[64];       /* clients_per_user as written */
    int faults;          /* fault probabilities above 0 */
    size_t policy;       /* policy overrides */
    size_t agent_events; /* events per run */
    uint64_t horizon;    /* ns */
} sim_scenario_size;

/* sim_scenario_size_of fills *z from s.  O(steps). */
void sim_scenario_size_of(const sim_scenario *s, sim_scenario_size *z);

/* sim_scenario_size_format writes "steps 12 (34 unrolled), users 3, tabs/user
 * uniform(1, 3), faults 1, policy 2, agent events 5, horizon 60s".
 * Returns 0 or -1 (does not fit). */
int sim_scenario_size_format(const sim_scenario_size *z, char *buf, size_t len);

typedef struct sim_shrink_opts {
    const sim_sweep_opts *sweep; /* profile, ablation, --policy: applied to every candidate */
    sim_world_opts world;        /* the seed and every world option, passed through unchanged */
    int with_rate;               /* also shrink a rate failure (see sim_failure_judge) */
    uint32_t max_runs;           /* candidate seeds run at most; 0: 3000 */
} sim_shrink_opts;

typedef struct sim_shrink_result {
    sim_failure failure; /* the original seed's failure */
    sim_failure shrunk;  /* the shrunk scenario's (the same class) */
    sim_scenario_size before, after;
    uint32_t runs;     /* candidates run */
    uint32_t accepted; /* candidates that still failed the same way */
    int rounds;        /* passes until the fixpoint (or the budget) */
    int budget_hit;    /* 1: max_runs stopped it before the fixpoint */
    char *yaml;        /* the shrunk scenario (sim_scenario_emit; owned) */
} sim_shrink_result;

/*
 * sim_shrink reduces `sc` while seed o->world.seed still fails the same way
 * (sim_failure_same) as on `sc`: ddmin over the steps of the script and of
 * every repeat body, repeats unwrapped and their times lowered, users and
 * clients_per_user lowered, policy overrides dropped, fault rates set to 0,
 * every distribution replaced by a constant (its median), agent events
 * dropped, the horizon halved; round after round until a round changes
 * nothing (or max_runs).  Every candidate is emitted and loaded again by
 * the real loader (an invalid one is skipped, not run).  Fills *out (free
 * with sim_shrink_result_free).  Returns 0 (shrunk, or already minimal),
 * 1 (the seed does not fail: nothing to shrink; out->failure says so), or
 * -1 (the policy is refused, out of memory).  Cost: at most max_runs + 1
 * seeds.
 */
int sim_shrink(const sim_scenario *sc, const sim_shrink_opts *o, sim_shrink_result *out);

void sim_shrink_result_free(sim_shrink_result *r);

#endif
