/*
 * verdict.h - a sweep's expectation (the scenario's `expect:` block as the
 * simulator hands it over in sim_sweep_result) and the pass/fail rule,
 * so that stored, merged and doctored results are judged the same way.
 *
 * The rule itself is sim/verdict.h (sim_sweep_verdict, sim_seed_verdict):
 * the functions here only call it on stored or merged results.
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
 * rep_sweep_evaluate judges r's counts against r->expect_rate and
 * r->expect_max by sim_sweep_verdict (on a copy without seeds; r is not
 * changed).  *pass is 1 when the verdict is pass (fail and inconclusive
 * are 0); reason[len] lists every miss, "; "-separated, "" on pass
 * (truncated to fit).  Returns 0, -EINVAL or -ENOMEM.  O(SIM_COUNT__N).
 */
int rep_sweep_evaluate(const sim_sweep_result *r, int *pass, char *reason, size_t len);

/*
 * rep_seed_failure_kind names what a failing seed broke
 * (sim_seed_failure_kind under r->expect_max): "livelock", "errors", the
 * first count above its per-seed limit, else "other".  Static string.
 */
const char *rep_seed_failure_kind(const sim_sweep_result *r, const sim_seed_result *s);

#endif
