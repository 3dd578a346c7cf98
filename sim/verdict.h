/*
 * verdict.h - the one verdict rule of ctxsim (DESIGN.md section 7).
 *
 * Every output (exit code, text table, JSON, JUnit, database, report,
 * `ctxsim gate`, `ctxsim replay`) reads the verdict record that these
 * functions fill in a sim_sweep_result / sim_seed_result; nothing else
 * judges.  The reports link against sim and call these (reports/verdict.h
 * keeps thin wrappers for the stored and merged results).
 *
 * A SEED fails on what is meaningful per seed:
 *   - livelock or errors (the seed exhausted its step budget, or its setup
 *     or simulation failed): always;
 *   - any count bounded at 0 by the expectation (expected excepted) that
 *     the seed has: misrouted, stray, duplicated, out_of_order,
 *     reordered_messages, silent_loss, stranded, stuck_pending, ...
 *     Liveness counts (stranded, stuck_pending) and the core's accounting
 *     (accounting, sim/account.h) are bounded at 0 unless the
 *     scenario sets a higher maximum.
 * A seed whose own delivery rate is below the sweep's line does NOT fail:
 * the rate is a property of the sweep.  Such seeds are the sweep's WORST
 * seeds (ranked by their rate, lowest first) and are listed after the
 * failing ones.
 *
 * A SWEEP's verdict:
 *   fail          any expectation missed: the delivery rate (point estimate
 *                 sum(delivered)/sum(expected), reported with its 95% Wilson
 *                 interval) below the line, a summed count above its maximum,
 *                 a liveness count above 0 (or its maximum), any seed with
 *                 livelock or errors;
 *   inconclusive  nothing missed but no event was expected: nothing was
 *                 exercised; unless the scenario declares it expects none
 *                 (`expect: {expected: 0}`), which makes it a pass;
 *   pass          otherwise.
 * Its reason lists EVERY miss, "; "-separated.
 *
 * A sweep's ROLE: gate (what the scenario or command asked for) or
 * informational (the legacy comparison when several profiles run, the
 * --ablation matrix).  fails_ci says whether the sweep fails CI (exit 1,
 * JUnit failure, `ctxsim gate`):
 *   gate           verdict is not pass;
 *   informational  never, except a sweep of the ablation matrix whose fix
 *                  no sweep of the matrix catches (every sweep of fix F<n>
 *                  meets its expect): then every sweep of that fix fails CI,
 *                  "fix F<n> (<knob>) not caught" (sim_ablation_resolve).
 */
#ifndef SIM_VERDICT_H
#define SIM_VERDICT_H

#include <stddef.h>
#include <stdint.h>

#include "sim/result.h"

typedef enum sim_verdict {
    SIM_VERDICT_PASS = 0,
    SIM_VERDICT_FAIL,
    SIM_VERDICT_INCONCLUSIVE
} sim_verdict;

typedef enum sim_role { SIM_ROLE_GATE = 0, SIM_ROLE_INFORMATIONAL } sim_role;

/* sim_verdict_name returns "pass", "fail" or "inconclusive"; "?" out of range. */
const char *sim_verdict_name(int v);

/* sim_verdict_lookup returns the sim_verdict of a name, or -1. */
int sim_verdict_lookup(const char *name);

/* sim_role_name returns "gate" or "informational"; "?" out of range. */
const char *sim_role_name(int role);

/* sim_role_lookup returns the sim_role of a name, or -1. */
int sim_role_lookup(const char *name);

/*
 * sim_expect_limit returns the maximum that applies to count `id` under
 * the maxima `max` (-1: unchecked): livelock and errors are always 0,
 * stranded and stuck_pending 0 unless set higher, others as given.
 */
int64_t sim_expect_limit(const int64_t max[SIM_COUNT__N], int id);

/*
 * sim_fix_knob returns the name of the main knob of fix `fix` (1..9, e.g.
 * "exec_grace" for 2), or "?".
 */
const char *sim_fix_knob(int fix);

/*
 * sim_seed_verdict judges one seed by the per-seed rule above against the
 * maxima `max`: sets s->pass and s->reason (every miss, "; "-separated; a
 * seed with livelock or errors keeps the reason the world gave it).
 * Idempotent.  O(SIM_COUNT__N).
 */
void sim_seed_verdict(const int64_t max[SIM_COUNT__N], sim_seed_result *s);

/*
 * sim_seed_failure_kind returns what a failing seed broke: "livelock",
 * "errors", or the first count (SIM_COUNTS order) above its limit; "other"
 * when none (a seed recorded as failed for a reason its counts do not
 * show).  The string is static.
 */
const char *sim_seed_failure_kind(const int64_t max[SIM_COUNT__N], const sim_seed_result *s);

/*
 * sim_seed_is_worst returns 1 when seed s does not fail but its own
 * delivery rate is below expect_rate (>= 0), else 0.
 */
int sim_seed_is_worst(double expect_rate, const sim_seed_result *s);

/*
 * sim_sweep_verdict fills r's verdict record from r->c, r->expect_rate,
 * r->expect_max, r->role, r->matrix and r->ablated_fix: delivery_rate and
 * its Wilson interval (recomputed from the counts), verdict, pass
 * (verdict == pass), reason (every miss), fails_ci and note.  When r->seeds
 * is set it also re-judges every seed (sim_seed_verdict), counts
 * failed_seeds and ranks worst seeds (s->worst, r->worst_seeds); without
 * seeds those two keep their values.  O(nseeds log nseeds).
 */
void sim_sweep_verdict(sim_sweep_result *r);

/*
 * sim_sweep_apply_role sets r->fails_ci and r->note from r->verdict,
 * r->role and r->matrix (the part of sim_sweep_verdict that does not look
 * at counts; for a matrix sweep on its own: fails CI unless it fails).
 */
void sim_sweep_apply_role(sim_sweep_result *r);

/*
 * sim_ablation_resolve applies the matrix rule across the sweeps of one
 * run: for each fix, when no matrix sweep of it has verdict fail, every
 * matrix sweep of it gets fails_ci = 1 and the note "fix F<n> (<knob>) not
 * caught ..."; else each gets fails_ci = 0 and a note saying which sweeps
 * catch it.  Sweeps that are not in the matrix are left alone.  O(n).
 */
void sim_ablation_resolve(sim_sweep_result *const *v, size_t n);

/*
 * sim_sweep_replay_seeds lists the seeds whose replay lines a sweep shows:
 * indices into r->seeds of the failing seeds (by seed order), then of the
 * worst seeds (lowest rate first), at most `max` of them into idx[max].
 * Returns how many were written; *total (may be NULL) gets how many there
 * are in all (failed_seeds + worst_seeds).  O(nseeds).
 */
size_t sim_sweep_replay_seeds(const sim_sweep_result *r, uint32_t *idx, size_t max, size_t *total);

/*
 * sim_sweep_outcome returns the one word every output prints for a sweep:
 * "PASS", "FAIL", "INCONCLUSIVE" for a gate sweep, and for an
 * informational one "info: pass"/"info: fail"/"info: inconclusive", an
 * ablation sweep "caught"/"not caught" (FAIL when it fails CI).  Static.
 */
const char *sim_sweep_outcome(const sim_sweep_result *r);

#endif
