/*
 * verdict.h - a sweep's expectation (the scenario's `expect:` block as the
 * simulator hands it over in sim_sweep_result) and the pass/fail rule,
 * so that stored, merged and doctored results are judged the same way.
 *
 * The rule: a sweep passes when
 *   - its delivery rate sum(delivered)/sum(expected) (1 when nothing was
 *     expected) is >= expect_rate (when expect_rate >= 0), and
 *   - every summed count is <= its maximum (when the maximum is >= 0), and
 *   - no liveness count (stuck_pending, stranded) is above 0, unless the
 *     scenario sets a higher maximum for it.
 */
#ifndef REP_VERDICT_H
#define REP_VERDICT_H

#include <stddef.h>
#include <stdint.h>

#include "sim/result.h"

/*
 * rep_expect_json serialises r->expect_rate and r->expect_max as compact
 * JSON, checked entries only, counts in SIM_COUNTS order:
 *   {"delivery_rate":0.99,"max":{"misrouted":0,"silent_loss":0}}
 * Reals are printed with 17 significant digits so they read back exactly.
 * *out is malloc'd (caller frees).  Returns 0, -EINVAL or -ENOMEM.
 */
int rep_expect_json(const sim_sweep_result *r, char **out);

/*
 * rep_expect_parse reads what rep_expect_json wrote: *rate = -1 and
 * max[i] = -1 for what is absent; names of counts this build does not
 * know are ignored.  Returns 0 or -EINVAL (malformed JSON, wrong types).
 */
int rep_expect_parse(const char *json, double *rate, int64_t max[SIM_COUNT__N]);

/*
 * rep_rate computes the delivery rate delivered/expected of counts c (1
 * when nothing was expected) and its 95% Wilson interval (sim_wilson).
 */
void rep_rate(const uint64_t c[SIM_COUNT__N], double *rate, double *lo, double *hi);

/*
 * rep_sweep_evaluate judges r->c against r->expect_rate and r->expect_max
 * with the rule above (r->delivery_rate and r->pass are not read: the rate
 * is recomputed from the counts).  *pass is 1 or 0; reason[len] lists every
 * expectation missed, "; "-separated, "" on pass (truncated to fit).
 * Returns 0 or -EINVAL.  O(SIM_COUNT__N).
 */
int rep_sweep_evaluate(const sim_sweep_result *r, int *pass, char *reason, size_t len);

/*
 * rep_seed_failure_kind names what a failing seed broke, judging s->c by
 * the sweep's expectations: the first count (SIM_COUNTS order) above its
 * maximum or a liveness count above 0 ("misrouted", "stuck_pending", ...),
 * else "delivery_rate" when the seed's own rate is below expect_rate, else
 * "other".  The string is static.  O(SIM_COUNT__N).
 */
const char *rep_seed_failure_kind(const sim_sweep_result *r, const sim_seed_result *s);

#endif
