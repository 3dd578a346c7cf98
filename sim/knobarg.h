/*
 * knobarg.h - the command-line spelling of a policy: `--profile P` and
 * `--policy knob=value`, parsed against the core's knob table.  One parser
 * for every program that takes them (ctxsim's commands, ctxready-server),
 * so a knob means the same thing everywhere.
 */
#ifndef SIM_KNOBARG_H
#define SIM_KNOBARG_H

#include <stddef.h>
#include <stdint.h>

/*
 * sim_knob_arg_parse parses "name=value" against the core's knob table into
 * name (namelen bytes) and *value: a bool knob takes 1/0, true/false,
 * on/off, yes/no; a duration knob a duration ("250ms") or plain
 * nanoseconds; a count or bytes knob a non-negative integer.  Returns 0, or
 * -1 with a message in err ("--policy: unknown knob 'x' (knobs: ...)").
 * O(knobs).
 */
int sim_knob_arg_parse(const char *arg, char *name, size_t namelen, uint64_t *value, char *err,
                       size_t errlen);

/* sim_u64_parse parses a decimal unsigned integer (no sign, no trailing
 * text, no overflow) into *v.  0 or -1. */
int sim_u64_parse(const char *s, uint64_t *v);

/* sim_profile_parse maps "fixed" / "legacy" to CR_PROFILE_*.  Returns 0, or
 * -1 with a message in err. */
int sim_profile_parse(const char *s, int *profile, char *err, size_t errlen);

#endif
