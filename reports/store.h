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
#define REP_SCHEMA_VERSION 6

typedef struct rep_store rep_store;

/*
 * rep_store_open opens the database at `path`, creating it and its parent
 * directory when missing, sets WAL mode, synchronous=NORMAL (a killed
 * process loses nothing committed; a power cut may lose the last sweeps),
 * foreign keys and a 10 s busy timeout, then applies the migrations from
 * its user_version up to REP_SCHEMA_VERSION, each in its own transaction.
 * *out is owned by the caller (rep_store_close).  Returns 0, or -1 with a
 * message in err[errlen] (e.g. not a database, or a schema newer than this
 * build).
 */
int rep_store_open(const char *path, rep_store **out, char *err, size_t errlen);

/*
 * rep_store_open_existing is rep_store_open for readers: it fails (-1,
 * "no database at PATH") instead of creating a missing database.
 */
int rep_store_open_existing(const char *path, rep_store **out, char *err, size_t errlen);

/* rep_store_close closes the connection and frees s; NULL is a no-op. */
void rep_store_close(rep_store *s);

/* rep_store_errmsg returns the last error of s ("" if none); valid until
 * the next call on s.  Never NULL. */
const char *rep_store_errmsg(const rep_store *s);

/* rep_store_db returns the underlying connection (borrowed, owned by s),
 * for the readers in reports/ and for tests. */
struct sqlite3 *rep_store_db(rep_store *s);

/*
 * rep_store_create_at_version creates (or upgrades) the database at path to
 * schema `version` (0..REP_SCHEMA_VERSION) and no further, for migration
 * tests and tooling.  Returns 0 or -1 with err.
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
} rep_run_meta;

/*
 * rep_run_begin inserts a run with status 'running', this process's pid and
 * host name, and returns its id in *run_id.  Returns 0, -EINVAL (NULL
 * argument, shard not "K/N" with 1 <= K <= N) or -EIO (rep_store_errmsg).
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
 * (NULL, seeds missing, run not running) or -EIO.  O(nseeds + buckets)
 * row inserts.
 */
int rep_run_add_sweep(rep_store *s, int64_t run_id, const sim_sweep_result *r);

/*
 * rep_run_finish sets the run's status ('complete': every sweep recorded,
 * whatever their verdicts; 'failed': the run stopped on an error;
 * 'interrupted': stopped by a signal) and finished_at (wall clock,
 * metadata only).  Returns 0, -EINVAL (bad status, no such run) or -EIO.
 */
int rep_run_finish(rep_store *s, int64_t run_id, const char *status);

#endif
