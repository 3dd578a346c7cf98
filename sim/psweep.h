/*
 * psweep.h - a parameter sweep (`ctxsim sweep`, docs/sweep.md): one
 * seed sweep (sim/sweep.h: scenario x profile x policy over seeds) per
 * value of one parameter, or per pair of values of two (a grid), with the
 * same seeds at every value so that neighbouring points are paired; then
 * the knee of each curve (sim/knee.h), refined by bisection, and the
 * requirement sentence.
 *
 * With two parameters A (the first --vary) and B (the second), the knee is
 * searched in B for each value of A: the frontier.
 */
#ifndef SIM_PSWEEP_H
#define SIM_PSWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "sim/knee.h"
#include "sim/result.h"
#include "sim/scenario.h"
#include "sim/sweep.h"
#include "sim/vary.h"

#define SIM_PSWEEP_MAX_VARY     2
#define SIM_PSWEEP_MAX_PROFILES 2

/* The pseudo cause "late": delivered after the deadline (not lost, not
 * delivered either); sim_psweep_cause_name(SIM_PSWEEP_LATE) is "late". */
#define SIM_PSWEEP_LATE SIM_CAUSE__N

typedef struct sim_psweep_opts {
    sim_vary vary[SIM_PSWEEP_MAX_VARY];
    size_t nvary;                          /* 1 or 2 */
    int profiles[SIM_PSWEEP_MAX_PROFILES]; /* cr_profile, or -1: the scenario's */
    size_t nprofiles;                      /* >= 1 */
    double target;                         /* < 0: the scenario's expect.delivery_rate */
    sim_sweep_opts base;                   /* seeds, jobs, --policy overrides, ... */
    /* Called after every value that ran (grid or bisection), may be NULL. */
    void (*progress)(void *ud, size_t done, size_t planned);
    void *ud;
} sim_psweep_opts;

/* One value (pair) under one profile: the sums of its seed sweep. */
typedef struct sim_psweep_point {
    int profile; /* cr_profile */
    double v[SIM_PSWEEP_MAX_VARY];
    int refined; /* 1: a value the knee's bisection added */
    uint32_t seeds;
    uint64_t c[SIM_COUNT__N];
    double rate, lo, hi; /* delivery rate and its 95% Wilson interval */
    uint64_t p50, p99;   /* delivery latency (emit -> client), ns */
    int cause;           /* the dominant reason an expected event was not delivered:
                            a sim_cause, SIM_PSWEEP_LATE, or -1 (none) */
    uint64_t digest;  /* a hash of the seeds' trace hashes, in seed order; 0 absent (--no-trace) */
    char policy[256]; /* the policy overrides of the seed sweep ("k=v,...") */
} sim_psweep_point;

/* The knee of one curve: one profile (and one value of A with two --vary). */
typedef struct sim_psweep_knee {
    int profile;
    double row; /* the value of A (2 parameters); 0 with one */
    sim_knee k;
    int best_cause;     /* the dominant cause at the best value (sim_psweep_point.cause) */
    char context[320];  /* sim_vary_context of the knee's parameter at this value of A */
    char sentence[640]; /* the requirement, in words */
} sim_psweep_knee;

typedef struct sim_psweep_result {
    char scenario[64];
    char path[512];
    sim_vary vary[SIM_PSWEEP_MAX_VARY];
    size_t nvary;
    int profiles[SIM_PSWEEP_MAX_PROFILES];
    size_t nprofiles;
    double target;
    uint32_t seeds;        /* per value */
    char context[320];     /* sim_vary_context of the knee's parameter */
    sim_psweep_point *pts; /* owned; ordered by profile, A, B */
    size_t npts;
    sim_psweep_knee *knees; /* owned; by profile, then A */
    size_t nknees;
} sim_psweep_result;

/*
 * sim_psweep_run runs the sweep into *out (free with sim_psweep_free).
 * The scenario is not changed (each value runs on a shallow copy).
 * Returns 0, or -1 with err filled (a seed sweep failed, a value the
 * parameter rejects, out of memory).  Cost: (grid values + bisection
 * values) x profiles seed sweeps.
 */
int sim_psweep_run(const sim_scenario *sc, const sim_psweep_opts *o, sim_psweep_result *out,
                   char *err, size_t errlen);

/* sim_psweep_free frees what sim_psweep_run allocated (NULL is a no-op). */
void sim_psweep_free(sim_psweep_result *r);

/* sim_psweep_cause_name names a point's cause: "core_silent", ...,
 * "late", or "-" for none. */
const char *sim_psweep_cause_name(int cause);

/* sim_psweep_point_cause returns the dominant non-delivery reason of
 * counts c (the largest of the loss causes and late; ties: the first in
 * SIM_CAUSES order), or -1 when everything was delivered. */
int sim_psweep_point_cause(const uint64_t *c);

/*
 * sim_psweep_sentence writes the requirement of knee kn of r, e.g. "with
 * thread_lookup lognormal(median=40ms, p99=800ms), exec_grace >= 1.9s
 * keeps delivery >= 99% (lower 95% bound)"; a range where every value
 * passes, or none does (then the best value, its bound and its dominant
 * cause), says so.  With two profiles it names the profile.
 */
void sim_psweep_sentence(const sim_psweep_result *r, const sim_psweep_knee *kn, char *buf,
                         size_t len);

/* sim_psweep_target_text writes a rate as a percentage: "99%", "99.5%". */
void sim_psweep_pct(double rate, char *buf, size_t len);

#endif
