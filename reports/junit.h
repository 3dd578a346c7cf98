/*
 * junit.h - JUnit XML for CI systems (`ctxsim run --junit FILE`): one test
 * case per sweep.
 */
#ifndef REP_JUNIT_H
#define REP_JUNIT_H

#include <stddef.h>

#include "sim/result.h"

/*
 * rep_junit_write writes to `path` (libxml2 xmlTextWriter, UTF-8):
 *   <testsuites name=SUITE tests=N failures=F>
 *     <testsuite name=SUITE tests=N failures=F errors="0" skipped="0">
 *       <testcase classname="ctxsim.<profile>" name="<scenario>[ <policy>]">
 *         <failure message="<reason>" type="expectation">counts, and every
 *           failing seed's `ctxsim replay` line</failure>     (when !pass)
 *         <system-out>rate, interval, seeds, counts</system-out>
 *       </testcase> ...
 * An ablation sweep (ablated_fix > 0) with an empty policy is named
 * "<scenario> F<k>-off" so names stay unique.  Text is passed through
 * rep_utf8_clean, so any input yields well-formed XML.  results[] and the
 * sweeps are borrowed; a result with seeds == NULL lists no seeds.
 * Returns 0, or -1 with a message in err[errlen] (cannot write path).
 * O(total seeds + n * SIM_COUNT__N).
 */
int rep_junit_write(const char *path, const sim_sweep_result *const *results, size_t n,
                    const char *suite, char *err, size_t errlen);

#endif
