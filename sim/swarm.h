/*
 * swarm.h - swarm testing (Groce et al. 2012; FoundationDB, TigerBeetle):
 * a generator that draws a whole scenario (format v1, docs/scenarios.md)
 * from a seed.  Per scenario it first draws which features are on (each
 * with probability 1/2), then draws the scenario within them, so that a
 * feature can be absent and leave room for rare combinations of the others.
 * The text is loaded by the real loader before anyone runs it.  What is
 * drawn is listed in docs/explore.md.
 */
#ifndef SIM_SWARM_H
#define SIM_SWARM_H

#include <stddef.h>
#include <stdint.h>

#include "sim/shrink.h"

/* X(id, name, doc): the features a generated scenario may have. */
#define SIM_SWARM_FEATURES(X)                                                                      \
    X(ASSOC_FAULTS, assoc_faults, "faults.thread_update_fail > 0")                                 \
    X(DROP_FAULTS, drop_faults, "faults.disconnect > 0: transports drop while runs go")            \
    X(DISCONNECTS, disconnects, "disconnect / reconnect / connect-again steps")                    \
    X(HTTP, http, "sends posted over HTTP (via: http)")                                            \
    X(FOREIGN, foreign, "sends and switches to another user's thread")                             \
    X(PREAUTH, preauth, "sends before authenticate")                                               \
    X(SWITCHES, switches, "switch steps, rapid (short waits)")                                     \
    X(REPEATS, repeats, "repeat blocks, nested")                                                   \
    X(MULTITAB, multitab, "several tabs per user (clients_per_user)")                              \
    X(NAMED, named, "threads named with as: and referred to by name")                              \
    X(NONE_REF, none_ref, "sends with no thread id (thread: none)")                                \
    X(POLICY, policy, "policy overrides within the fixed profile's valid ranges")                  \
    X(LATE_OPEN, late_open, "tabs that open later (a leading wait)")                               \
    X(REOPEN, reopen, "a tab closed mid-script and opened again")                                  \
    X(HEAVY_TAILS, heavy_tails, "every distribution family (lognormal, pareto, empirical...)")     \
    X(SLOW_LOOKUP, slow_lookup, "association much slower than agent start")

typedef enum sim_swarm_feature {
#define SIM_SWARM_ENUM(id, name, doc) SIM_SWARM_##id,
    SIM_SWARM_FEATURES(SIM_SWARM_ENUM)
#undef SIM_SWARM_ENUM
        SIM_SWARM__N
} sim_swarm_feature;

typedef struct sim_swarm_opts {
    uint32_t max_users; /* users drawn in 1..max_users; 0: 8 */
    uint32_t max_body;  /* top-level steps after authenticate: 2..max_body; 0: 8 */
    uint32_t force_on;  /* features always on (bit 1 << sim_swarm_feature) */
    uint32_t force_off; /* features always off */
} sim_swarm_opts;

/* sim_swarm_feature_name returns "assoc_faults", ...; NULL out of range. */
const char *sim_swarm_feature_name(int f);

/*
 * sim_swarm_generate draws scenario number `seed` under *o (NULL: the
 * defaults) and writes its YAML text to *yaml_out (malloc'd, NUL-terminated;
 * the caller frees it); *features (may be NULL) gets the bit set of the
 * features that are on.  The same (seed, opts) always gives the same text.
 * The scenario has no `expect:` block (the strict default applies), its
 * name is swarm_<seed in hex>, a comment at the top lists the features.
 * Returns 0 or -1 (out of memory).  O(size of the text), about 1-4 KiB.
 */
int sim_swarm_generate(uint64_t seed, const sim_swarm_opts *o, char **yaml_out, uint32_t *features);

/* sim_swarm_scenario_seed is the generator seed of scenario i of a search
 * with base seed `base` (`ctxsim explore --strategy swarm --seed BASE`):
 * splitmix64 of BASE * 0x9E3779B97F4A7C15 + i. */
uint64_t sim_swarm_scenario_seed(uint64_t base, uint64_t i);

/* sim_swarm_features_format writes the names of the features in `set`,
 * space-separated ("none" when empty).  Returns 0, -1 if it does not fit. */
int sim_swarm_features_format(uint32_t set, char *buf, size_t len);

/*
 * How the swarm judged one seed (sim_swarm_judge_seed).  With an ablation
 * (so->ablate_fix != 0) the seed also runs under the reference policy: the
 * same scenario text, the same seed and world options, the same overrides,
 * only the fix switched back on.  `kind` is then, first that applies:
 *  - the ablated run's per-seed failure kind, when the reference does not
 *    fail the same way (attributable = 1);
 *  - "differential" (attributable = 1) when the ablated run passes the
 *    per-seed rule (or fails it as the reference does) but received fewer
 *    events (delivered + late) or lost more than the reference did;
 *  - the per-seed failure kind, attributable = 0, when the reference fails
 *    the same way too (not the fix's doing: the reference's own failure).
 * Without an ablation: the per-seed rule alone (attributable = 1).
 */
typedef struct sim_swarm_verdict {
    int failed;       /* 1: a finding, 0: passes */
    int attributable; /* 1: the ablated fix's absence (or, unablated, the seed) is to blame */
    int has_ref;      /* 1: `ref` was run */
    char kind[32];    /* "differential", a per-seed failure kind, or "" */
    char reason[512]; /* what failed; for differential both counts and the losses by cause */
    sim_failure run;  /* the seed as asked */
    sim_failure ref;  /* the reference run (has_ref) */
} sim_swarm_verdict;

/* sim_swarm_differential returns 1 when `run` lost an event that `ref`
 * (the same seed with the fix on) did not: run received fewer events
 * (delivered + late) or lost more than ref; 0 otherwise. */
int sim_swarm_differential(const sim_failure *run, const sim_failure *ref);

/*
 * sim_swarm_judge_seed judges seed wo->seed of `sc` under *so (profile,
 * ablation, overrides, as sim_failure_judge) into *out, running the
 * reference too when so->ablate_fix != 0 (see sim_swarm_verdict).
 * Returns 0, or -1 (a policy the core refuses, out of memory).  Cost: one
 * seed, two with an ablation.
 */
int sim_swarm_judge_seed(const sim_scenario *sc, const sim_sweep_opts *so, const sim_world_opts *wo,
                         sim_swarm_verdict *out);

#endif
