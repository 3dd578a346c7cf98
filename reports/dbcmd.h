/*
 * dbcmd.h - `ctxsim db upgrade PATH` and `ctxsim db check PATH`: the
 * maintenance of a results database that report, gate and merge (which
 * open it read-only) never do.
 */
#ifndef REP_DBCMD_H
#define REP_DBCMD_H

/*
 * rep_cmd_db is `ctxsim db upgrade PATH` (migrates the database in place
 * to this build's schema, REP_SCHEMA_VERSION, and adds missing count
 * columns: the same as any write to it would do) and `ctxsim db check PATH`
 * (read-only: PRAGMA integrity_check, every problem printed); argv[0] is
 * "db"; `ctxsim db prune|vacuum ...` go to rep_db_prune_cmd (prune.h).
 * Returns the exit code: 0 done (check: no problem), 1 check found
 * problems, 2 bad usage or input (no database, a newer schema), 3 the
 * database could not be read or written (rep_store_exit_code).
 */
int rep_cmd_db(int argc, char **argv);

#endif
