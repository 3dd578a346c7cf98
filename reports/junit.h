/*
 * junit.h - JUnit XML for CI systems (`ctxsim run --junit FILE`): one test
 * case per sweep.
 */
#ifndef REP_JUNIT_H
#define REP_JUNIT_H

#include <stddef.h>

#include "sim/result.h"

/* Replay lines per failing test case (failing seeds, then the worst). */
#define REP_JUNIT_REPLAYS 5

/*
 * rep_junit_write writes to `path` (libxml2 xmlTextWriter, UTF-8) one test
 * case per sweep, from its verdict record (sim/verdict.h):
 *   <testsuites name=SUITE tests=N failures=F errors="0" skipped=S>
 *     <testsuite ... same counts>
 *       <testcase classname="ctxsim.<profile>" name="<scenario>[ F<k>-off][ <policy>]">
 *         <failure message="<every miss>" type="fail|inconclusive">    a gate
 *           sweep that did not pass: reasons, counts, the replay lines of
 *           its failing then worst seeds (at most REP_JUNIT_REPLAYS, then
 *           "and N more")</failure>
 *         <failure message="fix F<n> (<knob>) not caught ..." type="not_caught">
 *           a sweep of the ablation matrix whose fix no sweep catches
 *         <skipped message="informational, <outcome>: rate ...; missed: ..."/>
 *           every other informational sweep (never fails CI)
 *         <system-out>role, verdict, rate, interval, seeds, counts</system-out>
 *       </testcase> ...
 * failures = sweeps with fails_ci.  Text is passed through rep_utf8_clean,
 * so any input yields well-formed XML.  results[] and the sweeps are
 * borrowed (their verdicts must be final: sim_ablation_resolve done); a
 * result with seeds == NULL lists no seeds.  Returns 0, or -1 with a
 * message in err[errlen] (cannot write path).  O(total seeds + n *
 * SIM_COUNT__N).
 */
int rep_junit_write(const char *path, const sim_sweep_result *const *results, size_t n,
                    const char *suite, char *err, size_t errlen);

#endif
