/*
 * model.h - what `ctxsim report` shows, read from the store once: the run,
 * its sweeps, the scenario axis with the primary legacy and fixed sweep of
 * each scenario, the delivery-rate trend across runs and the ablation
 * matrix.  The charts (chart.h) and the HTML/Markdown (report.h) are drawn
 * from this model only.
 *
 * The primary sweep of (scenario, profile) is the one with no fix ablated
 * and an empty policy, else the first recorded with no fix ablated.
 */
#ifndef REP_MODEL_H
#define REP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "reports/query.h"

#define REP_TREND_RUNS 30 /* runs shown in the trend */
#define REP_FIXES      9  /* F1..F9 */

typedef struct rep_model {
    rep_run_info run;
    rep_sweep *sw; /* every sweep of the run, with histograms (owned) */
    size_t nsw;
    size_t nscen;
    char (*scen)[64];                  /* scenarios with a primary sweep, sorted (owned) */
    const rep_sweep **legacy, **fixed; /* [nscen] primary sweeps, NULL when absent (owned
                                          arrays of pointers into sw) */
    uint64_t *deadline;                /* [nscen] the scenario's deadline (ns) as its file
                                          (the sweep's path) says now; 0: unreadable (owned) */
    char trend_profile[16];            /* "fixed", or "legacy" when no fixed sweep exists */
    rep_trend trend;                   /* last REP_TREND_RUNS runs up to run (owned) */
    int64_t abl_run;                   /* run holding the ablation sweeps, 0: none */
    rep_sweep *abl_sw;                 /* that run's sweeps if it is not run (owned) */
    size_t abl_nsw;
    size_t abl_nscen;
    char (*abl_scen)[64];  /* scenarios with an ablation sweep (owned) */
    const rep_sweep **abl; /* [abl_nscen * (REP_FIXES + 1)]: [s * 10 + 0] the
                              primary sweep, [s * 10 + k] fix k off; NULL absent */
    int sweeps_page;       /* 1: the report also wrote sweeps.html (parameter sweeps; set
                              by rep_cmd_report, not by rep_model_load) */
} rep_model;

/*
 * rep_model_load reads run_id and everything the report shows into *m.
 * The ablation matrix comes from run_id when it recorded ablation sweeps
 * (ablated_fix > 0), else from the latest earlier run that did.  The
 * deadlines are read from the scenario files (relative paths from the
 * working directory): the store does not record them.  Returns
 * 0, -ENOENT (no such run), -ENOMEM or -EIO; *m is zeroed on error.
 * Cost: a few queries, O(sweeps + histogram rows + runs * scenarios).
 */
int rep_model_load(rep_store *s, int64_t run_id, rep_model *m);

/* rep_model_free frees what rep_model_load allocated and zeroes *m. */
void rep_model_free(rep_model *m);

#endif
