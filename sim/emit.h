/*
 * emit.h - a loaded scenario written back as YAML text (format v1,
 * docs/scenarios.md) that sim_scenario_load_string loads into an equal
 * scenario: every key, steps with nested repeats, thread references, the
 * policy overrides and the expect block (none when the strict default
 * applies).  Distributions are written with sim_dist_format (exact round
 * trip), durations in the largest unit that divides them, fractions in the
 * shortest text that reads back as the same double.  Used by the shrinker
 * (sim/shrink.h) and by anyone who edits a scenario as a struct.
 */
#ifndef SIM_EMIT_H
#define SIM_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "sim/scenario.h"

/*
 * sim_scenario_emit writes scenario `s` as YAML into *out (malloc'd,
 * NUL-terminated; *len, may be NULL, gets its length without the NUL).
 * Emitting the result of loading the output gives the same text.  Line
 * positions and comments are not kept.  Returns 0, or -1 on allocation
 * failure or a value the format cannot hold (a distribution sim_dist_format
 * refuses), with *out NULL.  O(size of the scenario).
 */
int sim_scenario_emit(const sim_scenario *s, char **out, size_t *len);

/*
 * sim_emit_duration writes `ns` as a duration in the largest unit that
 * divides it exactly ("1500ms", "2m", "0s").  Returns 0, or -1 when it does
 * not fit in buf.
 */
int sim_emit_duration(uint64_t ns, char *buf, size_t len);

#endif
