/*
 * gate.h - `ctxsim gate`: does a run meet its expectations, and did any
 * scenario's delivery rate fall against a baseline run?
 *
 * Sweeps are matched by (scenario, profile, policy, ablated_fix).  For each
 * sweep of the run: its verdict record (sim/verdict.h, as rep_sweeps_load
 * judged it: a gate sweep fails unless it passes; an informational one
 * never, except a fix the ablation matrix does not catch), then against
 * the baseline the delta of delivery rate, classified with the 95% Wilson
 * intervals (a regression fails only a gate sweep):
 *   regression  fell by more than the tolerance, intervals do not overlap
 *   noise       fell by more than the tolerance, intervals overlap (reported,
 *               does not fail)
 *   improved    rose by more than the tolerance
 *   ok          within the tolerance
 *   new         not in the baseline
 *   missing     in the baseline, absent now (fails when it was a gate sweep)
 */
#ifndef REP_GATE_H
#define REP_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "reports/query.h"

#define REP_GATE_DEFAULT_TOLERANCE 0.01

typedef enum rep_verdict {
    REP_VERDICT_OK = 0,
    REP_VERDICT_IMPROVED,
    REP_VERDICT_NOISE,
    REP_VERDICT_REGRESSION,
    REP_VERDICT_NEW,
    REP_VERDICT_MISSING
} rep_verdict;

/* rep_verdict_name returns "ok", "improved", "noise", "regression", "new",
 * "missing"; "?" out of range. */
const char *rep_verdict_name(rep_verdict v);

/* One line of the gate's table. */
typedef struct rep_gate_row {
    char scenario[64];
    char profile[16];
    char policy[256];
    int ablated_fix;
    int has_now, has_base;
    double now_rate, now_lo, now_hi;    /* valid when has_now */
    double base_rate, base_lo, base_hi; /* valid when has_base */
    double delta;                       /* now - base, when both */
    rep_verdict verdict;
    int expect_checked; /* the verdict record was read (has_now) */
    int expect_pass;    /* 1 unless the sweep's verdict record fails CI (fails_ci) */
    int role;           /* sim_role of the sweep (now, else the baseline's) */
    int matrix;         /* a sweep of the ablation matrix */
    int sweep_verdict;  /* sim_verdict of the sweep now */
    char outcome[32];   /* sim_sweep_outcome now: PASS, FAIL, INCONCLUSIVE, caught, ... */
    char reason[1024];  /* every miss (gate), or the matrix note */
    int64_t now_id;     /* scenario_results.id now, 0 if missing */
    int fails;          /* this row fails the gate */
} rep_gate_row;

/*
 * rep_gate_coverage compares the core behaviours the run exercised (the
 * union over its sweeps that recorded coverage, sim/coverage.h) with the
 * baseline's: *lost receives those the baseline exercised and the run no
 * longer does.  Returns 1 when both runs recorded coverage (then a
 * non-empty *lost fails the gate), 0 when either did not (*lost = 0).
 * O(nnow + nbase).
 */
int rep_gate_coverage(const rep_sweep *now, size_t nnow, const rep_sweep *base, size_t nbase,
                      uint64_t *lost);

/*
 * rep_gate_compare builds the gate's rows from the sweeps of the run (now)
 * and of the baseline (base, may be empty): one row per sweep of now in
 * key order, then one per baseline sweep missing now.  *rows is malloc'd
 * (caller frees), *n entries.  Returns 0, -EINVAL (tolerance not in
 * [0, 1]) or -ENOMEM.  O((nnow + nbase) log(nnow + nbase)).
 */
int rep_gate_compare(const rep_sweep *now, size_t nnow, const rep_sweep *base, size_t nbase,
                     double tolerance, rep_gate_row **rows, size_t *n);

/* rep_gate_decide's base_id for the default baseline: the latest 'complete'
 * run before the run (rep_run_baseline), none when there is none. */
#define REP_GATE_DEFAULT_BASELINE (-1)

/*
 * What `ctxsim gate` decides about a run: computed once by rep_gate_decide
 * and shown by every output that states the gate's verdict (the gate's
 * text and JSON, the report's verdict block and summary.md headline).
 */
typedef struct rep_gate_decision {
    rep_run_info run;
    rep_run_info base; /* valid when has_base */
    int has_base;
    double tolerance;
    const char *profile;  /* NULL: every profile (the caller's string) */
    rep_sweep *now, *bsw; /* the sweeps compared (owned, without seeds) */
    size_t nnow, nbase;
    rep_gate_row *rows; /* rep_gate_compare's rows (owned) */
    size_t nrows;
    size_t cnt[REP_VERDICT_MISSING + 1]; /* rows per rep_verdict */
    size_t expect_failed;                /* rows whose verdict record fails CI */
    size_t failing;                      /* rows that fail the gate */
    int cov_checked;                     /* both runs recorded coverage */
    int cov_lost; /* behaviours the baseline exercised and the run no longer does */
    char cov_lost_names[1024];
    const char *why; /* the run's own problem (static), NULL if none */
    int fail;        /* the verdict: 1 FAIL (exit 1), 0 PASS */
} rep_gate_decision;

/*
 * rep_gate_decide reads run_id and its baseline (base_id, 0 for none, or
 * REP_GATE_DEFAULT_BASELINE) and decides as `ctxsim gate` does: the rows
 * of rep_gate_compare under tolerance (keeping the sweeps of profile when
 * not NULL), the coverage check, the run's own state; fail when a row
 * fails, the run is incomplete, live, 'failed' or has no sweeps, or
 * coverage was lost.  *d is owned by the caller: rep_gate_decision_free.
 * Returns 0, -ENOENT (no such run), -EINVAL (tolerance not in [0, 1]),
 * -ENOMEM or -EIO; *d is zeroed on error.  Cost: two rep_sweeps_load.
 */
int rep_gate_decide(rep_store *s, int64_t run_id, int64_t base_id, double tolerance,
                    const char *profile, rep_gate_decision *d);

/* rep_gate_decision_free frees what rep_gate_decide allocated and zeroes *d. */
void rep_gate_decision_free(rep_gate_decision *d);

/*
 * rep_cmd_gate is `ctxsim gate [--db PATH] [--run ID|LABEL]
 * [--baseline ID|LABEL] [--tolerance X] [--profile P]`; argv[0] is "gate".
 * Defaults: db out/results.db, run = the latest, baseline = the latest
 * 'complete' run before it (none: expectations only), tolerance 0.01
 * (absolute, in rate), every profile (--profile P keeps the sweeps of P).
 * Prints the aligned table, the reasons of what failed (with replay lines
 * of the first failing seeds) and a summary line to stdout.  A run that is
 * incomplete (interrupted, or killed: 'running' with its process gone),
 * still running, 'failed' or without sweeps fails.  The database is opened
 * read-only (rep_store_open_readonly, with its quick_check).  Returns the
 * exit code: 0 pass, 1 fail, 2 bad usage or input (no database, no such
 * run), 3 the database could not be read (rep_store_exit_code).
 */
int rep_cmd_gate(int argc, char **argv);

#endif
