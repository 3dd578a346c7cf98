/*
 * prune.h - `ctxsim db`: keep a results database to a bounded size.
 *
 * A demo run records about 6 MB (every seed's row); a CI job that records
 * every commit grows its database without bound.  `ctxsim db prune --keep N`
 * deletes every run but the N newest (their sweeps, seeds, failures and
 * histograms go with them: ON DELETE CASCADE), never a run whose process is
 * still recording, then reclaims the space (VACUUM).
 */
#ifndef REP_PRUNE_H
#define REP_PRUNE_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "reports/store.h"

typedef struct rep_prune_result {
    size_t deleted; /* runs deleted */
    size_t kept;    /* runs left */
    size_t live;    /* runs older than the N newest kept because still recording */
} rep_prune_result;

/*
 * rep_runs_prune deletes every run of s but the `keep` newest (by id) and
 * those still live (rep_run_get), in one IMMEDIATE transaction: all or
 * nothing.  keep may be 0 (every finished run goes).  Returns 0, -EINVAL
 * or -EIO (rep_store_errmsg tells SQLite's reason; nothing was deleted).
 * O(runs + rows deleted).
 */
int rep_runs_prune(rep_store *s, size_t keep, rep_prune_result *out);

/*
 * rep_store_vacuum rebuilds the database file to drop free pages (VACUUM,
 * then a WAL checkpoint that truncates the log).  It needs as much free disk
 * as the database.  Returns 0 or -EIO.  O(database size).
 */
int rep_store_vacuum(rep_store *s);

/*
 * rep_db_prune_cmd is `ctxsim db prune --keep N [--db PATH] [--no-vacuum]`
 * and `ctxsim db vacuum [--db PATH]` (reached through rep_cmd_db, dbcmd.h);
 * argv[0] is "db", argv[1] "prune" or "vacuum".  Returns an exit code: 0, 2
 * (bad usage, no database), 3 (SQLite could not read or write it; its
 * reason printed, nothing deleted).
 */
int rep_db_prune_cmd(int argc, char **argv);

/* rep_db_prune_usage prints the usage of prune and vacuum to f. */
void rep_db_prune_usage(FILE *f);

#endif
