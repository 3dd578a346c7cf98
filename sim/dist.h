/*
 * dist.h - random distributions of durations and counts.
 *
 * Text syntax (scenario files, command line):
 *   5ms                         a constant (same as const(5ms))
 *   const(5ms)
 *   uniform(5ms, 50ms)          also uniform(min=5ms, max=50ms)
 *   exponential(mean=15ms)      also exponential(15ms)
 *   normal(mean=100ms, sd=20ms) truncated at 0
 *   lognormal(median=20ms, p99=250ms)
 *   pareto(scale=10ms, shape=2.5)   scale = minimum value, shape = alpha
 *   empirical(p50=20ms, p90=80ms, p99=250ms, p100=1s)
 *                               percentile table; linear between points,
 *                               p0 = 0 unless given
 * Durations take ns us ms s m (a bare number is an error for a duration
 * distribution); count distributions take bare numbers.
 */
#ifndef SIM_DIST_H
#define SIM_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "sim/prng.h"

typedef enum sim_dist_kind {
    SIM_DIST_CONST = 0,
    SIM_DIST_UNIFORM,
    SIM_DIST_EXPONENTIAL,
    SIM_DIST_NORMAL,
    SIM_DIST_LOGNORMAL,
    SIM_DIST_PARETO,
    SIM_DIST_EMPIRICAL
} sim_dist_kind;

#define SIM_DIST_EMPIRICAL_MAX 32

typedef struct sim_dist {
    sim_dist_kind kind;
    int is_duration; /* values are nanoseconds */
    /* const: a; uniform: a=min b=max; exponential: a=mean; normal: a=mean
     * b=sd; lognormal: a=mu b=sigma (of the log, derived from median/p99);
     * pareto: a=scale b=shape */
    double a, b;
    int n; /* empirical: points (p[i] in [0,1] increasing, v[i] values) */
    double p[SIM_DIST_EMPIRICAL_MAX];
    double v[SIM_DIST_EMPIRICAL_MAX];
} sim_dist;

/* A parse error: message and 0-based byte offset into the text. */
typedef struct sim_parse_error {
    char msg[160];
    size_t offset;
} sim_parse_error;

/* sim_duration_parse parses "250ms" etc. into nanoseconds.  Returns 0 or -1
 * with *err filled. */
int sim_duration_parse(const char *text, uint64_t *ns, sim_parse_error *err);

/* sim_dist_parse parses a distribution (syntax above).  `duration` != 0:
 * values need units.  Returns 0 or -1 with *err filled. */
int sim_dist_parse(const char *text, int duration, sim_dist *out, sim_parse_error *err);

/* sim_dist_const makes a constant distribution. */
void sim_dist_const(sim_dist *d, double value, int duration);

/* sim_dist_sample draws one value (>= 0).  O(1) (empirical: O(log n)). */
double sim_dist_sample(const sim_dist *d, sim_prng *r);

/* sim_dist_sample_ns draws a duration, rounded to whole nanoseconds. */
uint64_t sim_dist_sample_ns(const sim_dist *d, sim_prng *r);

/* sim_dist_scale multiplies every value *d can draw by x (> 0): the same
 * shape, x times as long (ctxready-server --time-scale).  O(points). */
void sim_dist_scale(sim_dist *d, double x);

/* sim_dist_mean returns the distribution's mean (before truncation). */
double sim_dist_mean(const sim_dist *d);

/* sim_dist_quantile returns the q-quantile (0 < q < 1). */
double sim_dist_quantile(const sim_dist *d, double q);

/* sim_dist_format writes the canonical text of *d into buf. */
int sim_dist_format(const sim_dist *d, char *buf, size_t len);

/*
 * sim_dist_get reads parameter `name` of *d: one of its own (the keys of
 * its text: value, min, max, mean, sd, median, p99, scale, shape; an
 * empirical's pNN points), else a statistic: mean, median or pNN (the
 * quantile).  Returns 0 or -1 (no such name).
 */
int sim_dist_get(const sim_dist *d, const char *name, double *value);

/*
 * sim_dist_set sets parameter `name` of *d to `value` (in the
 * distribution's units: ns for durations) and keeps the others: an own
 * parameter is replaced (lognormal(median, p99) keeps the other of the
 * two), a statistic that is not an own parameter (exponential's p99, a
 * uniform's median, ...) scales the whole distribution so that it takes
 * that value.  Returns 0, or -1 with err filled (no such parameter, listing
 * what is accepted; a value that breaks the distribution: p99 <= median,
 * min > max, a zero distribution scaled); *d unchanged on error.
 */
int sim_dist_set(sim_dist *d, const char *name, double value, char *err, size_t errlen);

/* sim_dist_param_names writes the names sim_dist_set accepts for *d. */
void sim_dist_param_names(const sim_dist *d, char *buf, size_t len);

#endif
