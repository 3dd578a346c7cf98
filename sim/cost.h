/*
 * cost.h - what a sweep will cost before it runs (docs/scenarios.md,
 * "Bounded runs"): tabs, steps per tab with repeats unrolled, the engine
 * events the scripts can cause, and the memory a seed and the sweep's
 * results take, against documented limits.  `ctxsim validate` prints the
 * estimate; `validate`, `run`, `replay`, `explore` and `shrink` refuse
 * (exit 2, the numbers said) a scenario over a limit unless --allow-large
 * is given.  Computed from the file alone: O(steps in the file), nothing
 * allocated, so `users: 10000000` is refused in microseconds.
 */
#ifndef SIM_COST_H
#define SIM_COST_H

#include <stddef.h>
#include <stdint.h>

#include "sim/scenario.h"

/* The limits (docs/scenarios.md); --allow-large lifts them. */
#define SIM_COST_TABS_MAX          1000000u               /* tabs (connections) of one seed */
#define SIM_COST_STEPS_PER_TAB_MAX 10000000u              /* steps one tab runs, repeats unrolled */
#define SIM_COST_SEED_EVENTS_MAX   1000000000u            /* engine events one seed can cause */
#define SIM_COST_SWEEP_EVENTS_MAX  UINT64_C(100000000000) /* over every seed of a sweep */
#define SIM_COST_SEED_BYTES_MAX    (UINT64_C(4) << 30)    /* what a seed holds at its start */

typedef struct sim_cost {
    uint64_t tabs;          /* users x the most tabs clients_per_user gives one user */
    uint64_t steps_per_tab; /* script steps of one tab, repeats unrolled */
    uint64_t seed_events;   /* engine events one seed can cause (an upper estimate) */
    uint64_t seeds;
    uint64_t sweep_events; /* seed_events x seeds */
    uint64_t seed_bytes;   /* memory a seed takes before its first event (tabs, users) */
    uint64_t result_bytes; /* the per-seed results the sweep keeps */
} sim_cost;

/*
 * sim_cost_estimate fills *out for `seeds` seeds of sc (0: the scenario's
 * `seeds`).  Every figure saturates at UINT64_MAX.  O(steps in the file).
 */
void sim_cost_estimate(const sim_scenario *sc, uint64_t seeds, sim_cost *out);

/*
 * sim_cost_check compares *c with the limits.  Returns how many it
 * exceeds (0: within every limit), with why[len] naming each, as
 * "tabs 10000000 > 1000000; ...", "" when none.
 */
int sim_cost_check(const sim_cost *c, char *why, size_t len);

/* sim_cost_format writes the estimate as one line: "3 tabs, 7 steps per
 * tab, <= 3792 events per seed, 2 seeds: <= 7584 events; 1.0 MiB per
 * seed, 4.0 KiB of results".  Returns 0, -1 when it did not fit. */
int sim_cost_format(const sim_cost *c, char *buf, size_t len);

#endif
