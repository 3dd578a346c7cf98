/*
 * sweepcmd.h - `ctxsim sweep SCENARIO --vary PARAM=FROM..TO ...`
 * (docs/sweep.md): runs a parameter sweep (sim/psweep.h), prints one row
 * per value and the knee sentence (or JSON), records it (sweepdb.h).
 */
#ifndef REP_SWEEPCMD_H
#define REP_SWEEPCMD_H

#include <stdio.h>

#include "sim/psweep.h"
#include "sim/scenario.h"

/* A parsed `ctxsim sweep` command line. */
typedef struct rep_sweep_args {
    sim_psweep_opts o;
    sim_scenario *sc; /* owned (sim_scenario_free) */
    const char *db;   /* default out/results.db */
    int no_db;
    int json;
    const char *label;
} rep_sweep_args;

/*
 * rep_sweep_args_parse parses argv[1..argc-1] (argv[0] is "sweep"): loads
 * the scenario, resolves every --vary against it.  Returns 0; 1 after
 * printing --help; -1 after printing the error (bad usage or input: the
 * caller exits 2, nothing run).  On 0, free a->sc.
 */
int rep_sweep_args_parse(int argc, char **argv, rep_sweep_args *a);

/* rep_sweep_print writes the table (one row per value) and the knees. */
void rep_sweep_print(FILE *f, const sim_psweep_result *r);

/* rep_sweep_json returns the sweep as JSON text (malloc'd), sweep_id
 * included when > 0. */
char *rep_sweep_json(const sim_psweep_result *r, long long sweep_id);

/*
 * rep_cmd_sweep is the command.  Exit: 0 done (the knee found, or every
 * value meets the target), 1 the target is reached by no value of the
 * range under the first profile, 2 bad usage or input (nothing run or
 * recorded) or a failed run.
 */
int rep_cmd_sweep(int argc, char **argv);

#endif
