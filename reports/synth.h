/*
 * synth.h - synthetic sweep results: deterministic, seeded, realistic
 * looking numbers in the shape the simulator hands over, to exercise the
 * store, gate, merge, JUnit and report code (tests, benchmarks, previews)
 * without running the simulator.
 *
 * A seed's result depends only on the spec's identity (scenario, profile,
 * policy, ablated_fix, rate, sizes, salt) and the seed number, so a shard
 * generating a subset of the seeds produces exactly the seeds the whole
 * sweep has.
 */
#ifndef REP_SYNTH_H
#define REP_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "sim/result.h"

typedef struct rep_synth_spec {
    const char *scenario;
    const char *path;    /* NULL: "scenarios/<scenario>.yaml" */
    const char *profile; /* "legacy" drops silently, "fixed" reports losses */
    const char *policy;  /* NULL or "k=v,..." */
    int ablated_fix;
    double rate;              /* probability that an expected event is delivered in time */
    uint32_t events_per_seed; /* expected events per seed (about: +-25%) */
    double expect_rate;       /* the gate line, -1 for none */
    uint64_t latency_ns;      /* median delivery latency */
    uint64_t salt;            /* varies everything else */
    int role;                 /* sim_role of the sweep (0: gate) */
    int matrix;               /* 1: a sweep of the --ablation matrix */
    int expect_none;          /* 1: declares expect: {expected: 0} */
} rep_synth_spec;

/*
 * rep_synth_seed fills *out with the result of one seed.  Its pass and
 * reason follow the sweep's expectations (expect_rate, and maxima of 0 for
 * misrouted, duplicated and silent_loss).  Returns 0 or -EINVAL.
 * O(events_per_seed).
 */
int rep_synth_seed(const rep_synth_spec *spec, uint64_t seed, sim_seed_result *out);

/*
 * rep_synth_sweep builds a sweep of the given seeds (seeds[0..nseeds), or
 * 0..nseeds-1 when seeds is NULL): identity fields, expectations, every
 * seed (out->seeds malloc'd, caller frees), then rep_synth_totals.
 * Returns 0, -EINVAL or -ENOMEM.  O(nseeds * events_per_seed).
 */
int rep_synth_sweep(const rep_synth_spec *spec, const uint64_t *seeds, uint32_t nseeds,
                    sim_sweep_result *out);

/*
 * rep_synth_totals recomputes r's sums, rate, Wilson interval, latency
 * histogram and percentiles, failed_seeds, pass and reason from r->seeds
 * (seed latencies are merged), as the simulator does at the end of a
 * sweep.  Returns 0 or -EINVAL.  O(nseeds * SIM_HIST_BUCKETS).
 */
int rep_synth_totals(sim_sweep_result *r);

#endif
