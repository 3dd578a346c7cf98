/*
 * store.h - the results store: one SQLite database (default
 * out/results.db) that records runs, their sweeps, every seed, every
 * failing seed's replay command and the latency histograms.
 *
 * The schema is in reports/schema.sql (also visible with `.schema` in the
 * sqlite3 shell: the CREATE statements carry the column docs).  It is
 * versioned with PRAGMA user_version and migrated on open; the columns of
 * the oracle's counts are generated from SIM_COUNTS, and a count added to
 * SIM_COUNTS later is added to an existing database on open.
 *
 * Kill safety: the database is in WAL mode and every sweep is written in
 * one transaction, so a process killed at any point leaves a consistent
 * database holding every sweep that had committed; its run keeps status
 * 'running' with the pid and host that recorded it, which is how readers
 * (rep_run_get) tell an interrupted run from one still in progress.
 *
 * A rep_store is one connection; use it from one thread at a time.  Several
 * processes may share a database (busy timeout 10 s).
 */
#ifndef REP_STORE_H
#define REP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "reports/replay.h"
#include "sim/result.h"

struct sqlite3;

/* The schema version this build writes (PRAGMA user_version). */
#define REP_SCHEMA_VERSION 7

typedef struct rep_store rep_store;

/*
 * Errors.  Every function of the store (and the readers of query.h) returns
 * 0 or a negative errno, with SQLite's own message in err[errlen] or
 * rep_store_errmsg:
 *   -EINVAL  bad argument or input: not a database, a schema newer than
 *            this build, a run that is not running, ...
 *   -ENOENT  no database at that path (the file does not exist)
 *   -EACCES  the file or its directory cannot be opened or looked at
 *   -EROFS   a write to a read-only database
 *   -ENOSPC  disk full (SQLITE_FULL)
 *   -EBUSY   locked by another process for longer than the busy timeout
 *   -ENOMEM  out of memory
 *   -EIO     I/O error, or the database is damaged (SQLITE_IOERR,
 *            SQLITE_CORRUPT, a failed quick_check)
 * rep_store_exit_code maps them to the CLI's exit codes.
 */

/*
 * rep_store_open opens the database at `path`, creating it and its parent
 * directory when missing, sets WAL mode, synchronous=NORMAL (a killed
 * process loses nothing committed; a power cut may lose the last sweeps),
 * foreign keys and a 10 s busy timeout, then applies the migrations from
 * its user_version up to REP_SCHEMA_VERSION, each in its own transaction.
 * *out is owned by the caller (rep_store_close).  Returns 0, or a negative
 * errno (above) with a message in err[errlen].
 */
int rep_store_open(const char *path, rep_store **out, char *err, size_t errlen);

/*
 * rep_store_open_existing is rep_store_open for an existing database: it
 * fails (-ENOENT, "no database at PATH") instead of creating a missing one,
 * and only then: a path that cannot be looked at is -EACCES ("cannot
 * access PATH: ...").
 */
int rep_store_open_existing(const char *path, rep_store **out, char *err, size_t errlen);

/* Above this size, rep_store_open_readonly does not upgrade an old schema
 * in memory. */
#define REP_STORE_MEM_UPGRADE_MAX (256L * 1024 * 1024)

/*
 * rep_store_open_readonly opens an existing database for reading only
 * (report, gate, the inputs of merge): SQLITE_OPEN_READONLY, no journal
 * mode change, no migration, nothing written, so it works on a read-only
 * mount, a 0444 file or in a directory where no -wal/-shm can be created.
 * Then PRAGMA quick_check (rep_store_check): a damaged database is refused
 * (-EIO).  A database at an older schema is read through an in-memory copy
 * migrated there (the file is untouched; memory and time O(file size)); one
 * larger than REP_STORE_MEM_UPGRADE_MAX is refused (-EINVAL) with the
 * command that upgrades it in place.  The recording calls fail with -EROFS
 * on it.  Errors as rep_store_open_existing.  Cost: quick_check reads every
 * page (O(file size)).  In a writable directory SQLite may leave an empty
 * -wal and a -shm beside a WAL database (a read-only connection cannot
 * remove them); the next writer uses them as usual.  Where no -shm can be
 * created and no -wal exists, the file is opened immutable (nothing can be
 * writing it: a writer would have a -wal).
 */
int rep_store_open_readonly(const char *path, rep_store **out, char *err, size_t errlen);

/*
 * rep_store_check runs PRAGMA quick_check on s.  Returns 0 when it finds
 * nothing, else -EIO with "PATH: the database is damaged (...)" (path
 * names the file in the message) in rep_store_errmsg.  O(file size).
 */
int rep_store_check(rep_store *s, const char *path);

/* rep_store_close closes the connection and frees s; NULL is a no-op. */
void rep_store_close(rep_store *s);

/* rep_store_errmsg returns the last error of s ("" if none); valid until
 * the next call on s.  Never NULL. */
const char *rep_store_errmsg(const rep_store *s);

/* rep_store_db returns the underlying connection (borrowed, owned by s),
 * for the readers in reports/ and for tests. */
struct sqlite3 *rep_store_db(rep_store *s);

/*
 * rep_store_fail records the last SQLite error of s's connection as
 * "what: SQLite's message" (rep_store_errmsg) and returns its negative
 * errno (rep_store_errno); for the readers in reports/.
 */
int rep_store_fail(rep_store *s, const char *what);

/* rep_store_errno maps an SQLite result code (primary or extended) to the
 * negative errno listed above; 0 for SQLITE_OK, SQLITE_ROW, SQLITE_DONE. */
int rep_store_errno(int sqlite_rc);

/*
 * rep_store_exit_code maps a return code of the store to the CLI's exit
 * code: 0 for rc >= 0, REP_EXIT_USAGE (2: bad usage or input) for -EINVAL
 * and -ENOENT, REP_EXIT_ENV (3: the environment failed: I/O, disk full,
 * damaged, unreadable, read-only, locked, out of memory) for the others.
 */
int rep_store_exit_code(int rc);

/*
 * rep_store_begin starts a transaction that the recording calls below
 * join (each then runs in a savepoint), so that several of them commit
 * together or not at all (merge).  rep_store_commit commits it (0, or the
 * error: then nothing was written); rep_store_rollback abandons it.
 * Returns 0 or a negative errno.
 */
int rep_store_begin(rep_store *s);
int rep_store_commit(rep_store *s);
void rep_store_rollback(rep_store *s);

/*
 * rep_store_create_at_version creates (or upgrades) the database at path to
 * schema `version` (0..REP_SCHEMA_VERSION) and no further, for migration
 * tests and tooling.  Returns 0 or a negative errno with err.
 */
int rep_store_create_at_version(const char *path, int version, char *err, size_t errlen);

/* What a run records about itself.  Strings are borrowed (copied by
 * rep_run_begin); NULL stores NULL. */
typedef struct rep_run_meta {
    const char *label;
    const char *git_rev;
    const char *tool_version;
    const char *args;
    const char *shard;  /* "K/N" or NULL */
    int64_t started_at; /* unix seconds, metadata only */
    const char *mode;   /* "sim" (NULL: the default) or "real" (ctxsim drive) */
} rep_run_meta;

/*
 * rep_run_begin inserts a run with status 'running', this process's pid and
 * host name, and returns its id in *run_id.  Returns 0, -EINVAL (NULL
 * argument, shard not "K/N" with 1 <= K <= N) or another negative errno
 * (rep_store_errmsg).
 */
int rep_run_begin(rep_store *s, const rep_run_meta *m, int64_t *run_id);

/*
 * rep_run_add_sweep records one sweep in ONE transaction: its
 * scenario_results row (with r->expect_rate/expect_max as expect_json, and
 * the verdict record: role, verdict, matrix, worst_seeds),
 * one seed_results row per seed, one failures row per failing seed (kind
 * from rep_seed_failure_kind, detail = the seed's reason, its
 * rep_replay_command line), then one per worst seed in rank order (kind
 * "worst", not a failure) and the non-empty buckets of r->latency; all or
 * nothing.  The run must exist and still be 'running'.  Returns 0, -EINVAL
 * (NULL, seeds missing, run not running) or another negative errno
 * (-ENOSPC, -EIO, ...: nothing of the sweep was written).  O(nseeds + buckets)
 * row inserts.
 */
int rep_run_add_sweep(rep_store *s, int64_t run_id, const sim_sweep_result *r);

/*
 * rep_run_finish sets the run's status ('complete': every sweep recorded,
 * whatever their verdicts; 'failed': the run stopped on an error;
 * 'interrupted': stopped by a signal) and finished_at (wall clock,
 * metadata only).  Returns 0, -EINVAL (bad status, no such run) or another
 * negative errno.
 */
int rep_run_finish(rep_store *s, int64_t run_id, const char *status);

#endif
