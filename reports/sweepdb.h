/*
 * sweepdb.h - parameter sweeps in the results store (schema v6:
 * sweep_runs, sweeps, sweep_knees; reports/schema.sql documents them).
 *
 * A parameter sweep is recorded in ONE transaction once it has finished:
 * a killed `ctxsim sweep` leaves no trace of itself, and every sweep
 * recorded before it is kept.
 */
#ifndef REP_SWEEPDB_H
#define REP_SWEEPDB_H

#include <stddef.h>
#include <stdint.h>

#include "reports/store.h"
#include "sim/psweep.h"

/* What a parameter sweep records about itself (strings borrowed). */
typedef struct rep_psweep_meta {
    const char *label;
    const char *git_rev;
    const char *tool_version;
    const char *args;
    int64_t started_at; /* unix seconds, metadata only */
} rep_psweep_meta;

/*
 * rep_psweep_record writes r: its sweep_runs row (status 'complete'), one
 * sweeps row per point and one sweep_knees row per knee, all or nothing;
 * *id is the sweep_runs id.  Returns 0, -EINVAL (NULL) or -EIO
 * (rep_store_errmsg).  O(points) inserts.
 */
int rep_psweep_record(rep_store *s, const rep_psweep_meta *m, const sim_psweep_result *r,
                      int64_t *id);

/* One recorded parameter sweep, read back. */
typedef struct rep_psweep {
    int64_t id;
    char git_rev[64];
    char args[2048];
    int64_t started_at;
    sim_psweep_result r; /* pts and knees owned (rep_psweep_free); vary[].p has path and
                            unit only, vary[].from/to/steps/log as recorded */
} rep_psweep;

/*
 * rep_psweep_load reads sweep_runs row `id` with its points and knees.
 * Returns 0, -ENOENT (no such sweep, or a database before v6), -ENOMEM or
 * -EIO.
 */
int rep_psweep_load(rep_store *s, int64_t id, rep_psweep *out);

/* rep_psweep_free frees what rep_psweep_load allocated. */
void rep_psweep_free(rep_psweep *w);

/*
 * rep_psweep_list writes the ids of the latest complete parameter sweep of
 * every (scenario, parameter, parameter2), newest first, at most cap, into
 * ids; *n of them.  Returns 0 or -EIO.
 */
int rep_psweep_list(rep_store *s, int64_t *ids, size_t cap, size_t *n);

#endif
