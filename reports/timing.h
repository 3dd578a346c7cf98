/*
 * timing.h - `ctxsim timing [PLAN] [--out FILE] [--charts DIR]` (`make
 * timing`): runs the committed requirement sweeps of a plan file
 * (scenarios/requirements/plan.txt) and writes docs/timing-requirements.md
 * with one section per timing assumption, the curve of each, the command
 * that reproduces it, and the monitoring thresholds derived from the same
 * runs (docs/sweep.md describes the plan format).
 */
#ifndef REP_TIMING_H
#define REP_TIMING_H

/* rep_cmd_timing is the command; argv[0] is "timing".  Exit: 0 written,
 * 2 bad usage or input (a bad plan entry names its line), or a failed run. */
int rep_cmd_timing(int argc, char **argv);

#endif
