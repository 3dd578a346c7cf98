/*
 * store.c - the SQLite results store: open, migrations, recording runs.
 */
#include "reports/store.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "reports/cmdline.h"
#include "reports/fsutil.h"
#include "reports/verdict.h"
#include "sim/coverage.h"
#include "sim/verdict.h"

struct rep_store {
    sqlite3 *db;
    sqlite3_stmt *ins_sweep, *ins_seed, *ins_fail, *ins_hist;
    int readonly; /* rep_store_open_readonly: the recording calls refuse */
    char err[1024];
};

/* How store_open opens. */
#define OPEN_CREATE   1u /* create a missing database (and its directory) */
#define OPEN_READONLY 2u /* SQLITE_OPEN_READONLY, no setup, no migration */
#define OPEN_CHECK    4u /* PRAGMA quick_check after opening */

/* ---- schema -------------------------------------------------------------- */

#define COL_DEF(id, name, doc)  "  " #name " INTEGER NOT NULL DEFAULT 0, -- " doc "\n"
#define COL_NAME(id, name, doc) #name ", "
#define COL_Q(id, name, doc)    "?, "

/*
 * The migrations: step i takes user_version i to i + 1.  Never edit a step
 * that has shipped; append one.  Count columns are generated from
 * SIM_COUNTS; counts added later are reconciled on open (count_columns).
 * The SQL is laid out by hand, hence clang-format off.
 */
/* clang-format off */
static const char *const migrations[] = {
    /* v1: the tables. */
    "CREATE TABLE runs (\n"
    "  id INTEGER PRIMARY KEY,          -- what --run ID takes\n"
    "  started_at INTEGER NOT NULL,     -- unix seconds, metadata only\n"
    "  finished_at INTEGER,             -- unix seconds; NULL until finished\n"
    "  label TEXT,                      -- --label; what --run LABEL takes\n"
    "  git_rev TEXT,\n"
    "  tool_version TEXT,\n"
    "  args TEXT,                       -- the command line of the run\n"
    "  shard TEXT,                      -- 'K/N' for a shard, NULL for a whole run\n"
    "  status TEXT NOT NULL DEFAULT 'running'\n"
    "    CHECK (status IN ('running', 'complete', 'failed', 'interrupted'))\n"
    ");\n"
    "CREATE TABLE scenario_results ( -- one sweep: scenario x profile x policy over seeds\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  scenario TEXT NOT NULL,\n"
    "  path TEXT NOT NULL,              -- the scenario file\n"
    "  profile TEXT NOT NULL,           -- legacy | fixed\n"
    "  policy TEXT NOT NULL DEFAULT '', -- knob overrides 'k=v,k=v'\n"
    "  ablated_fix INTEGER NOT NULL DEFAULT 0, -- 1..9: the fix switched off; 0: none\n"
    "  seeds INTEGER NOT NULL,\n"
    SIM_COUNTS(COL_DEF)
    "  delivery_rate REAL NOT NULL,     -- delivered / expected (1 if none expected)\n"
    "  rate_lo REAL NOT NULL,           -- 95% Wilson interval of delivery_rate\n"
    "  rate_hi REAL NOT NULL,\n"
    "  expect_rate REAL,                -- the gate line; NULL: no rate expectation\n"
    "  expect_json TEXT NOT NULL DEFAULT '{}', -- {\"delivery_rate\":r,\"max\":{count:max}}\n"
    "  p50_ns INTEGER NOT NULL,         -- delivery latency percentiles\n"
    "  p90_ns INTEGER NOT NULL,\n"
    "  p99_ns INTEGER NOT NULL,\n"
    "  max_ns INTEGER NOT NULL,\n"
    "  failed_seeds INTEGER NOT NULL,\n"
    "  pass INTEGER NOT NULL,           -- 1: met its expectations\n"
    "  reason TEXT NOT NULL DEFAULT ''  -- why not\n"
    ");\n"
    "CREATE TABLE seed_results (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  scenario_result_id INTEGER NOT NULL REFERENCES scenario_results(id) ON DELETE CASCADE,\n"
    "  seed INTEGER NOT NULL,           -- uint64 stored as its int64 bit pattern\n"
    SIM_COUNTS(COL_DEF)
    "  trace_hash TEXT NOT NULL,       -- 16 hex digits: identifies the run\n"
    "  steps INTEGER NOT NULL,         -- trace steps\n"
    "  events INTEGER NOT NULL DEFAULT 0, -- engine events processed\n"
    "  end_time_ns INTEGER NOT NULL DEFAULT 0, -- virtual time of the last event\n"
    "  pass INTEGER NOT NULL,\n"
    "  reason TEXT NOT NULL DEFAULT ''\n"
    ");\n"
    "CREATE TABLE failures ( -- one row per failing seed\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  scenario_result_id INTEGER NOT NULL REFERENCES scenario_results(id) ON DELETE CASCADE,\n"
    "  seed INTEGER NOT NULL,\n"
    "  kind TEXT NOT NULL,              -- the count broken, or delivery_rate\n"
    "  detail TEXT NOT NULL,            -- the seed's reason\n"
    "  replay TEXT NOT NULL             -- the ctxsim replay line\n"
    ");\n"
    "CREATE TABLE latency_hist ( -- non-empty buckets of the sweep's histogram\n"
    "  scenario_result_id INTEGER NOT NULL REFERENCES scenario_results(id) ON DELETE CASCADE,\n"
    "  bucket_low_ns INTEGER NOT NULL,  -- lowest latency of the bucket\n"
    "  count INTEGER NOT NULL\n"
    ");\n",

    /* v2: who records a run (to tell an interrupted run from a live one),
     * and the indexes of the lookups report, gate and merge make. */
    "ALTER TABLE runs ADD COLUMN host TEXT;\n"
    "ALTER TABLE runs ADD COLUMN pid INTEGER;\n"
    "CREATE INDEX runs_label ON runs(label, id);\n"
    "CREATE INDEX scenario_results_run\n"
    "  ON scenario_results(run_id, scenario, profile, policy, ablated_fix);\n"
    "CREATE INDEX scenario_results_trend ON scenario_results(scenario, profile, run_id);\n"
    "CREATE INDEX seed_results_sweep ON seed_results(scenario_result_id, seed);\n"
    "CREATE INDEX seed_results_trace ON seed_results(trace_hash);\n"
    "CREATE INDEX failures_sweep ON failures(scenario_result_id, seed);\n"
    "CREATE INDEX latency_hist_sweep ON latency_hist(scenario_result_id, bucket_low_ns);\n",

    /* v3: the engine's queue depth per seed (0 in seeds recorded before). */
    ("ALTER TABLE seed_results ADD COLUMN queue_peak INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE seed_results ADD COLUMN queue_mean INTEGER NOT NULL DEFAULT 0;\n"),

    /* v4: the verdict record (sim/verdict.h): role and verdict of every
     * sweep, the worst seeds.  Sweeps recorded before keep their pass
     * column as verdict; ablation sweeps were informational (the matrix),
     * legacy beside fixed in one run too. */
    ("ALTER TABLE scenario_results ADD COLUMN role TEXT NOT NULL DEFAULT 'gate'\n"
     "  CHECK (role IN ('gate', 'informational'));\n"
     "ALTER TABLE scenario_results ADD COLUMN verdict TEXT NOT NULL DEFAULT 'pass'\n"
     "  CHECK (verdict IN ('pass', 'fail', 'inconclusive'));\n"
     "ALTER TABLE scenario_results ADD COLUMN matrix INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE scenario_results ADD COLUMN worst_seeds INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE seed_results ADD COLUMN worst INTEGER NOT NULL DEFAULT 0;\n"
     "UPDATE scenario_results SET verdict = CASE WHEN pass THEN 'pass' ELSE 'fail' END;\n"
     "UPDATE scenario_results SET role = 'informational', matrix = 1 WHERE ablated_fix > 0;\n"
     "UPDATE scenario_results SET role = 'informational'\n"
     "  WHERE profile = 'legacy' AND ablated_fix = 0 AND EXISTS (SELECT 1 FROM scenario_results f\n"
     "    WHERE f.run_id = scenario_results.run_id AND f.scenario = scenario_results.scenario\n"
     "      AND f.profile = 'fixed');\n"),

    /* v5: the core behaviours each sweep exercised (sim/coverage.h), names
     * ","-separated; NULL: recorded before coverage was. */
    "ALTER TABLE scenario_results ADD COLUMN coverage TEXT;\n",

    /* v6: parameter sweeps (ctxsim sweep, docs/sweep.md): one sweep_runs
     * row per invocation, one sweeps row per value (pair) x profile, one
     * sweep_knees row per curve.  Apart from runs: `ctxsim run` and the
     * gate never see them. */
    "CREATE TABLE sweep_runs ( -- one ctxsim sweep: a parameter (or two) over a range\n"
    "  id INTEGER PRIMARY KEY,          -- what report --sweep ID takes\n"
    "  started_at INTEGER NOT NULL,     -- unix seconds, metadata only\n"
    "  finished_at INTEGER,\n"
    "  label TEXT,\n"
    "  git_rev TEXT,\n"
    "  tool_version TEXT,\n"
    "  args TEXT,                       -- the command line\n"
    "  status TEXT NOT NULL DEFAULT 'running'\n"
    "    CHECK (status IN ('running', 'complete', 'failed', 'interrupted')),\n"
    "  scenario TEXT NOT NULL,\n"
    "  path TEXT NOT NULL,\n"
    "  parameter TEXT NOT NULL,         -- the first --vary (A)\n"
    "  range TEXT NOT NULL,             -- 'FROM..TO' of A, as canonical values\n"
    "  range_from REAL NOT NULL,        -- the same in the parameter's unit\n"
    "  range_to REAL NOT NULL,\n"
    "  steps INTEGER NOT NULL,\n"
    "  log INTEGER NOT NULL DEFAULT 0,  -- 1: geometric grid\n"
    "  parameter2 TEXT,                 -- the second --vary (B), NULL: one parameter\n"
    "  range2 TEXT,\n"
    "  range2_from REAL,\n"
    "  range2_to REAL,\n"
    "  steps2 INTEGER,\n"
    "  log2 INTEGER,\n"
    "  unit TEXT NOT NULL,              -- ns | count | number: the values of A\n"
    "  unit2 TEXT,\n"
    "  profiles TEXT NOT NULL,          -- 'fixed' or 'fixed,legacy'\n"
    "  seeds INTEGER NOT NULL,          -- per value, the same seeds 1..N at every value\n"
    "  target REAL NOT NULL,            -- the delivery rate the knee is searched for\n"
    "  context TEXT NOT NULL DEFAULT '' -- the conditions of the requirement\n"
    ");\n"
    "CREATE TABLE sweeps ( -- one value (pair) of a parameter sweep under one profile\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  sweep_run_id INTEGER NOT NULL REFERENCES sweep_runs(id) ON DELETE CASCADE,\n"
    "  scenario TEXT NOT NULL,\n"
    "  profile TEXT NOT NULL,\n"
    "  parameter TEXT NOT NULL,\n"
    "  value REAL NOT NULL,             -- in the parameter's unit (ns for durations)\n"
    "  value_text TEXT NOT NULL,        -- e.g. '1.9s'\n"
    "  parameter2 TEXT,                 -- two parameters: B and its value\n"
    "  value2 REAL,\n"
    "  value2_text TEXT,\n"
    "  refined INTEGER NOT NULL DEFAULT 0, -- 1: run by the knee's bisection, off the grid\n"
    "  seeds INTEGER NOT NULL,\n"
    SIM_COUNTS(COL_DEF)
    "  delivery_rate REAL NOT NULL,\n"
    "  rate_lo REAL NOT NULL,           -- 95% Wilson interval\n"
    "  rate_hi REAL NOT NULL,\n"
    "  p50_ns INTEGER NOT NULL DEFAULT 0, -- delivery latency (emit -> client) percentiles\n"
    "  p99_ns INTEGER NOT NULL DEFAULT 0,\n"
    "  dominant_cause TEXT NOT NULL,    -- the largest loss cause (or late), '-' if none\n"
    "  policy TEXT NOT NULL DEFAULT '', -- the policy overrides of this value\n"
    "  trace_digest TEXT NOT NULL       -- 16 hex digits: hash of the seeds' trace hashes\n"
    ");\n"
    "CREATE TABLE sweep_knees ( -- the knee of one curve (profile, and the value of A with two)\n"
    "  sweep_run_id INTEGER NOT NULL REFERENCES sweep_runs(id) ON DELETE CASCADE,\n"
    "  profile TEXT NOT NULL,\n"
    "  parameter TEXT NOT NULL,         -- the parameter the knee is in\n"
    "  row_value REAL,                  -- two parameters: the value of A\n"
    "  row_text TEXT,\n"
    "  direction TEXT NOT NULL,         -- '>=' (larger is better) | '<='\n"
    "  status TEXT NOT NULL CHECK (status IN ('found', 'all', 'never')),\n"
    "  knee REAL,                       -- found: the requirement; all: the range's end\n"
    "  knee_text TEXT,\n"
    "  bracket REAL,                    -- found: the failing value next to it\n"
    "  resolution REAL NOT NULL,\n"
    "  best_value REAL NOT NULL,        -- the value with the highest lower bound\n"
    "  best_rate_lo REAL NOT NULL,\n"
    "  best_cause TEXT NOT NULL,        -- the dominant loss cause there\n"
    "  extra_values INTEGER NOT NULL,   -- values the bisection ran\n"
    "  target REAL NOT NULL,\n"
    "  sentence TEXT NOT NULL           -- the requirement in words\n"
    ");\n"
    "CREATE INDEX sweeps_run ON sweeps(sweep_run_id, profile, value2, value);\n"
    "CREATE INDEX sweep_knees_run ON sweep_knees(sweep_run_id);\n"
    "CREATE INDEX sweep_runs_key ON sweep_runs(scenario, parameter, id);\n",

    /* v7: how a run's seeds were run: 'sim' (the simulator, virtual time)
     * or 'real' (ctxsim drive: real WebSocket clients against a server). */
    "ALTER TABLE runs ADD COLUMN mode TEXT NOT NULL DEFAULT 'sim' CHECK (mode IN ('sim', "
    "'real'));\n",
};

static const char sql_ins_sweep[] =
    "INSERT INTO scenario_results (run_id, scenario, path, profile, policy, ablated_fix, seeds, "
    SIM_COUNTS(COL_NAME)
    "delivery_rate, rate_lo, rate_hi, expect_rate, expect_json, p50_ns, p90_ns, p99_ns, max_ns, "
    "failed_seeds, pass, reason, role, verdict, matrix, worst_seeds, coverage) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, "
    SIM_COUNTS(COL_Q)
    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static const char sql_ins_seed[] =
    "INSERT INTO seed_results (scenario_result_id, seed, "
    SIM_COUNTS(COL_NAME)
    "trace_hash, steps, events, end_time_ns, pass, reason, queue_peak, queue_mean, worst) "
    "VALUES (?, ?, "
    SIM_COUNTS(COL_Q)
    "?, ?, ?, ?, ?, ?, ?, ?, ?)";
/* clang-format on */

_Static_assert(sizeof migrations / sizeof migrations[0] == REP_SCHEMA_VERSION,
               "one migration per schema version");

static const char sql_ins_fail[] =
    "INSERT INTO failures (scenario_result_id, seed, kind, detail, replay) VALUES (?, ?, ?, ?, ?)";
static const char sql_ins_hist[] =
    "INSERT INTO latency_hist (scenario_result_id, bucket_low_ns, count) VALUES (?, ?, ?)";

/* ---- helpers ------------------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int rep_store_errno(int sqlite_rc)
{
    switch (sqlite_rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_CANTOPEN:
        return -EACCES;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOTADB:
        return -EINVAL;
    default: /* SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_PROTOCOL, ... */
        return -EIO;
    }
}

int rep_store_exit_code(int rc)
{
    if (rc >= 0)
        return REP_EXIT_OK;
    return rc == -EINVAL || rc == -ENOENT ? REP_EXIT_USAGE : REP_EXIT_ENV;
}

/* Runs sql; returns 0 or the negative errno of its SQLite error (the
 * message, SQLite's own, in err). */
static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        set_err(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        int e = rep_store_errno(sqlite3_extended_errcode(db));
        return e ? e : rep_store_errno(rc) ? rep_store_errno(rc) : -EIO;
    }
    return 0;
}

/* Records SQLite's last error of db ("what: message") in err; returns its
 * negative errno. */
static int db_err(sqlite3 *db, const char *what, char *err, size_t errlen)
{
    set_err(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
    int e = rep_store_errno(sqlite3_extended_errcode(db));
    return e ? e : -EIO;
}

static int user_version(sqlite3 *db, int *v, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *v = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : db_err(db, "reading the schema version", err, errlen);
}

/* -EINVAL (with the message) unless schema version v is one this build
 * can read or migrate: 0..REP_SCHEMA_VERSION (user_version is a signed
 * 32-bit field any file may set). */
static int bad_version(int v, char *err, size_t errlen)
{
    if (v < 0) {
        set_err(err, errlen,
                "database schema v%d is no ctxsim schema (PRAGMA user_version is negative): not "
                "a results database",
                v);
        return -EINVAL;
    }
    if (v > REP_SCHEMA_VERSION) {
        set_err(err, errlen,
                "database schema v%d is newer than this ctxsim understands (v%d): use a newer "
                "ctxsim",
                v, REP_SCHEMA_VERSION);
        return -EINVAL;
    }
    return 0;
}

/*
 * Applies migrations from the current user_version up to `target`, each in
 * its own IMMEDIATE transaction that re-reads user_version first, so that
 * two processes opening a fresh database at once do not both migrate.
 */
static int migrate(sqlite3 *db, int target, char *err, size_t errlen)
{
    for (;;) {
        int rc = exec(db, "BEGIN IMMEDIATE", err, errlen);
        if (rc != 0)
            return rc;
        int v = 0;
        if ((rc = user_version(db, &v, err, errlen)) != 0 ||
            (rc = bad_version(v, err, errlen)) != 0) {
            exec(db, "ROLLBACK", NULL, 0);
            return rc;
        }
        if (v >= target)
            return exec(db, "COMMIT", err, errlen);
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        char e2[256] = "";
        if ((rc = exec(db, migrations[v], e2, sizeof e2)) != 0 ||
            (rc = exec(db, bump, e2, sizeof e2)) != 0 ||
            (rc = exec(db, "COMMIT", e2, sizeof e2)) != 0) {
            set_err(err, errlen, "migration to schema v%d failed: %s", v + 1, e2);
            exec(db, "ROLLBACK", NULL, 0);
            return rc;
        }
    }
}

/* Adds the columns of counts that SIM_COUNTS gained after the database was
 * created; with add == 0 only counts them into *missing.  O(columns) reads;
 * writes only when something is missing. */
static int count_columns(sqlite3 *db, const char *table, int add, int *missing, char *err,
                         size_t errlen)
{
    int have[SIM_COUNT__N] = {0};
    char sql[160];
    snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "reading the columns", err, errlen);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        int id = name ? sim_count_lookup(name) : -1;
        if (id >= 0)
            have[id] = 1;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_err(db, "reading the columns", err, errlen);
    for (int i = 0; i < SIM_COUNT__N; i++) {
        if (have[i])
            continue;
        ++*missing;
        if (!add)
            continue;
        snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s INTEGER NOT NULL DEFAULT 0", table,
                 sim_count_name(i));
        if ((rc = exec(db, sql, err, errlen)) != 0)
            return rc;
    }
    return 0;
}

/* Brings db (opened for writing) to `target`, and with reconcile its count
 * columns to SIM_COUNTS. */
static int upgrade(sqlite3 *db, int target, int reconcile, char *err, size_t errlen)
{
    int rc = migrate(db, target, err, errlen), missing = 0;
    if (rc != 0 || !reconcile)
        return rc;
    if ((rc = exec(db, "BEGIN IMMEDIATE", err, errlen)) != 0)
        return rc;
    if ((rc = count_columns(db, "scenario_results", 1, &missing, err, errlen)) != 0 ||
        (rc = count_columns(db, "seed_results", 1, &missing, err, errlen)) != 0 ||
        (target >= 6 && (rc = count_columns(db, "sweeps", 1, &missing, err, errlen)) != 0) ||
        (rc = exec(db, "COMMIT", err, errlen)) != 0) {
        exec(db, "ROLLBACK", NULL, 0);
        return rc;
    }
    return 0;
}

/*
 * Checks that path names an existing file: -ENOENT ("no database at") only
 * when it (or a directory on the way) really does not exist; a path that
 * cannot be looked at (e.g. a directory without search permission) or is
 * not a regular file is another error.
 */
static int check_exists(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) {
            set_err(err, errlen, "no database at %s", path);
            return -ENOENT;
        }
        set_err(err, errlen, "cannot access %s: %s", path, strerror(e));
        return e == ENOMEM ? -ENOMEM : -EACCES;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(err, errlen, "%s is not a regular file", path);
        return -EINVAL;
    }
    return 0;
}

/* Copies the database `from` into a new in-memory database *out. */
static int copy_to_memory(sqlite3 *from, sqlite3 **out, char *err, size_t errlen)
{
    sqlite3 *mem = NULL;
    *out = NULL;
    if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        int rc = mem ? db_err(mem, "opening memory", err, errlen) : -ENOMEM;
        if (!mem)
            set_err(err, errlen, "out of memory");
        sqlite3_close(mem);
        return rc;
    }
    sqlite3_backup *b = sqlite3_backup_init(mem, "main", from, "main");
    if (!b) {
        int rc = db_err(mem, "copying into memory", err, errlen);
        sqlite3_close(mem);
        return rc;
    }
    int step = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (step != SQLITE_DONE) {
        int rc = db_err(mem, "copying into memory", err, errlen);
        sqlite3_close(mem);
        return rc;
    }
    *out = mem;
    return 0;
}

/* Writes the URI "file:PATH?immutable=1" (PATH percent-encoded) into
 * buf[len]; -ENAMETOOLONG when it does not fit. */
static int immutable_uri(const char *path, char *buf, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = (size_t)snprintf(buf, len, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (o + 4 >= len)
            return -ENAMETOOLONG;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("/-._~", *p)) {
            buf[o++] = (char)*p;
        } else {
            buf[o++] = '%';
            buf[o++] = hex[*p >> 4];
            buf[o++] = hex[*p & 15];
        }
    }
    int k = snprintf(buf + o, len - o, "?immutable=1");
    return k > 0 && (size_t)k < len - o ? 0 : -ENAMETOOLONG;
}

/*
 * Opens path with SQLITE_OPEN_READONLY and reads its schema version.  A
 * WAL database whose -shm cannot be created (a read-only directory or
 * mount) cannot be read that way (SQLITE_CANTOPEN, or SQLITE_READONLY in a
 * directory this user may not write); when it has no -wal
 * either (everything is in the main file: the last writer closed
 * cleanly), it is opened immutable instead (nothing can be writing to it:
 * a writer would have a -wal).
 */
static int open_ro_file(const char *path, sqlite3 **out, int *v, char *err, size_t errlen)
{
    for (int immutable = 0;; immutable = 1) {
        sqlite3 *db = NULL;
        char uri[4200];
        int rc = 0;
        if (immutable && (rc = immutable_uri(path, uri, sizeof uri)) != 0) {
            set_err(err, errlen, "path too long");
            return rc;
        }
        int flags = SQLITE_OPEN_READONLY | (immutable ? SQLITE_OPEN_URI : 0);
        if (sqlite3_open_v2(immutable ? uri : path, &db, flags, NULL) != SQLITE_OK) {
            rc = db ? db_err(db, "opening", err, errlen) : -ENOMEM;
            if (!db)
                set_err(err, errlen, "out of memory");
            sqlite3_close(db);
            return rc;
        }
        sqlite3_busy_timeout(db, 10000);
        rc = user_version(db, v, err, errlen);
        if (rc == 0) {
            *out = db;
            return 0;
        }
        int primary = sqlite3_extended_errcode(db) & 0xff;
        /* no -shm and none can be made: CANTOPEN on a read-only mount,
         * READONLY (READONLY_CANTINIT) in a directory we may not write */
        int cantopen = primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY;
        sqlite3_close(db);
        char wal[4200];
        struct stat st;
        snprintf(wal, sizeof wal, "%s-wal", path);
        if (immutable || !cantopen || stat(wal, &st) == 0)
            return rc;
    }
}

/*
 * The read-only open: SQLITE_OPEN_READONLY, no journal mode change, no
 * migration (nothing is written, so a read-only mount, a 0444 file or a
 * directory where -wal/-shm cannot be created are fine).  A database at an
 * older schema (or lacking count columns) is read through an in-memory
 * copy migrated there, up to REP_STORE_MEM_UPGRADE_MAX bytes; larger ones
 * are refused with the command that upgrades them in place.
 */
static int open_readonly(const char *path, sqlite3 **out, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    *out = NULL;
    char e2[384] = "";
    int v = 0, missing = 0;
    int rc = open_ro_file(path, &db, &v, e2, sizeof e2);
    if (rc == 0)
        rc = bad_version(v, e2, sizeof e2);
    if (rc == 0 && v >= 1)
        rc = count_columns(db, "scenario_results", 0, &missing, e2, sizeof e2);
    if (rc == 0 && v >= 1)
        rc = count_columns(db, "seed_results", 0, &missing, e2, sizeof e2);
    if (rc == 0 && v >= 6)
        rc = count_columns(db, "sweeps", 0, &missing, e2, sizeof e2);
    if (rc == 0 && (v < REP_SCHEMA_VERSION || missing)) {
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size > REP_STORE_MEM_UPGRADE_MAX) {
            set_err(e2, sizeof e2,
                    "schema v%d is older than this ctxsim's v%d and the file is too large to "
                    "read through an in-memory upgrade: upgrade it in place (this writes it) "
                    "with `ctxsim db upgrade %.200s`",
                    v, REP_SCHEMA_VERSION, path);
            rc = -EINVAL;
        }
        sqlite3 *mem = NULL;
        if (rc == 0)
            rc = copy_to_memory(db, &mem, e2, sizeof e2);
        if (rc == 0 && (rc = upgrade(mem, REP_SCHEMA_VERSION, 1, e2, sizeof e2)) != 0)
            sqlite3_close(mem);
        if (rc == 0) {
            sqlite3_close(db);
            db = mem;
        }
    }
    if (rc != 0) {
        set_err(err, errlen, "%s: %s", path, e2);
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

/* Opens for writing (creating it when `create`), configures (WAL,
 * synchronous, foreign keys, busy timeout) and upgrades to `target`. */
static int open_db(const char *path, int create, int target, int reconcile, sqlite3 **out,
                   char *err, size_t errlen)
{
    *out = NULL;
    if (!path || !*path) {
        set_err(err, errlen, "no database path");
        return -EINVAL;
    }
    int rc;
    if (!create) {
        if ((rc = check_exists(path, err, errlen)) != 0)
            return rc;
    } else if ((rc = rep_mkdir_parent(path)) != 0) {
        set_err(err, errlen, "cannot create the directory of %s: %s", path, strerror(-rc));
        return rc == -ENOMEM ? rc : -EACCES;
    }
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        rc = db ? db_err(db, path, err, errlen) : -ENOMEM;
        if (!db)
            set_err(err, errlen, "%s: out of memory", path);
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 10000);
    char e2[384] = "";
    if ((rc = exec(db, "PRAGMA journal_mode = WAL", e2, sizeof e2)) != 0 ||
        (rc = exec(db, "PRAGMA synchronous = NORMAL", e2, sizeof e2)) != 0 ||
        (rc = exec(db, "PRAGMA foreign_keys = ON", e2, sizeof e2)) != 0 ||
        (rc = upgrade(db, target, reconcile, e2, sizeof e2)) != 0) {
        set_err(err, errlen, "%s: %s", path, e2);
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

int rep_store_check(rep_store *s, const char *path)
{
    if (!s)
        return -EINVAL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(4)", -1, &st, NULL) != SQLITE_OK)
        return db_err(s->db, "PRAGMA quick_check", s->err, sizeof s->err);
    char found[400] = "";
    size_t len = 0;
    int rc, bad = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && strcmp(t, "ok") == 0)
            continue;
        bad = 1;
        int k = snprintf(found + len, sizeof found - len, "%s%.160s", len ? "; " : "", t ? t : "?");
        if (k > 0 && (size_t)k < sizeof found - len)
            len += (size_t)k;
    }
    if (rc != SQLITE_DONE) {
        rc = db_err(s->db, "PRAGMA quick_check", found, sizeof found);
        bad = 1;
    } else {
        rc = bad ? -EIO : 0;
    }
    sqlite3_finalize(st);
    if (bad)
        snprintf(s->err, sizeof s->err,
                 "%.200s: the database is damaged (PRAGMA quick_check: %.256s); restore it "
                 "from a copy, or salvage it with the sqlite3 shell's .recover",
                 path ? path : "database", found);
    return rc;
}

static int store_open(const char *path, unsigned how, rep_store **out, char *err, size_t errlen)
{
    if (!out) {
        set_err(err, errlen, "no output pointer");
        return -EINVAL;
    }
    *out = NULL;
    rep_store *s = calloc(1, sizeof *s);
    if (!s) {
        set_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc;
    if (how & OPEN_READONLY) {
        rc = !path || !*path ? (set_err(err, errlen, "no database path"), -EINVAL)
                             : check_exists(path, err, errlen);
        if (rc == 0)
            rc = open_readonly(path, &s->db, err, errlen);
        s->readonly = 1;
    } else {
        rc = open_db(path, (how & OPEN_CREATE) != 0, REP_SCHEMA_VERSION, 1, &s->db, err, errlen);
    }
    if (rc != 0) {
        free(s);
        return rc;
    }
    if ((how & OPEN_CHECK) && (rc = rep_store_check(s, path)) != 0) {
        set_err(err, errlen, "%s", s->err);
        rep_store_close(s);
        return rc;
    }
    if (!s->readonly &&
        (sqlite3_prepare_v2(s->db, sql_ins_sweep, -1, &s->ins_sweep, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(s->db, sql_ins_seed, -1, &s->ins_seed, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(s->db, sql_ins_fail, -1, &s->ins_fail, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(s->db, sql_ins_hist, -1, &s->ins_hist, NULL) != SQLITE_OK)) {
        rc = db_err(s->db, path, err, errlen);
        rep_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

int rep_store_open(const char *path, rep_store **out, char *err, size_t errlen)
{
    return store_open(path, OPEN_CREATE, out, err, errlen);
}

int rep_store_open_existing(const char *path, rep_store **out, char *err, size_t errlen)
{
    return store_open(path, 0, out, err, errlen);
}

int rep_store_open_readonly(const char *path, rep_store **out, char *err, size_t errlen)
{
    return store_open(path, OPEN_READONLY | OPEN_CHECK, out, err, errlen);
}

void rep_store_close(rep_store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->ins_sweep);
    sqlite3_finalize(s->ins_seed);
    sqlite3_finalize(s->ins_fail);
    sqlite3_finalize(s->ins_hist);
    sqlite3_close(s->db);
    free(s);
}

const char *rep_store_errmsg(const rep_store *s)
{
    return s ? s->err : "no store";
}

struct sqlite3 *rep_store_db(rep_store *s)
{
    return s ? s->db : NULL;
}

int rep_store_fail(rep_store *s, const char *what)
{
    if (!s)
        return -EINVAL;
    return db_err(s->db, what ? what : "database", s->err, sizeof s->err);
}

int rep_store_create_at_version(const char *path, int version, char *err, size_t errlen)
{
    if (version < 0 || version > REP_SCHEMA_VERSION) {
        set_err(err, errlen, "no schema version %d", version);
        return -EINVAL;
    }
    sqlite3 *db = NULL;
    int rc = open_db(path, 1, version, 0, &db, err, errlen);
    if (rc != 0)
        return rc;
    sqlite3_close(db);
    return 0;
}

/* ---- recording ----------------------------------------------------------- */

/* Records the sqlite error of s and returns its negative errno. */
static int db_fail(rep_store *s, const char *what)
{
    return rep_store_fail(s, what);
}

/* -EROFS (with a message) when s was opened read-only. */
static int writable(rep_store *s)
{
    if (!s->readonly)
        return 0;
    snprintf(s->err, sizeof s->err, "the database was opened read-only");
    return -EROFS;
}

/* Starts the transaction of one recording call: BEGIN IMMEDIATE, or a
 * savepoint inside the caller's transaction (rep_store_begin). */
static int txn_begin(rep_store *s, int *nested)
{
    *nested = !sqlite3_get_autocommit(s->db);
    if (sqlite3_exec(s->db, *nested ? "SAVEPOINT rep_call" : "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
        SQLITE_OK)
        return db_fail(s, "starting a transaction");
    return 0;
}

/* Ends it: commits when rc == 0 (a failed commit is the result), else
 * rolls back; returns the result. */
static int txn_end(rep_store *s, int nested, int rc, const char *what)
{
    if (rc == 0 &&
        sqlite3_exec(s->db, nested ? "RELEASE rep_call" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_fail(s, what);
    if (rc != 0) {
        /* A failed COMMIT may leave the transaction open: roll it back. */
        if (nested)
            sqlite3_exec(s->db, "ROLLBACK TO rep_call; RELEASE rep_call", NULL, NULL, NULL);
        else if (!sqlite3_get_autocommit(s->db))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

int rep_store_begin(rep_store *s)
{
    if (!s)
        return -EINVAL;
    int rc = writable(s);
    if (rc == 0 && sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_fail(s, "starting a transaction");
    return rc;
}

int rep_store_commit(rep_store *s)
{
    if (!s)
        return -EINVAL;
    if (sqlite3_get_autocommit(s->db)) {
        snprintf(s->err, sizeof s->err, "no transaction to commit");
        return -EINVAL;
    }
    return txn_end(s, 0, 0, "committing");
}

void rep_store_rollback(rep_store *s)
{
    if (s && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Binds text, or NULL for a NULL pointer. */
static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* Steps an INSERT once and resets it. */
static int step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int valid_shard(const char *shard)
{
    unsigned k = 0, n = 0;
    char tail;
    if (sscanf(shard, "%u/%u%c", &k, &n, &tail) != 2)
        return 0;
    return k >= 1 && k <= n;
}

int rep_run_begin(rep_store *s, const rep_run_meta *m, int64_t *run_id)
{
    if (!s || !m || !run_id)
        return -EINVAL;
    int rc = writable(s);
    if (rc != 0)
        return rc;
    if (m->shard && !valid_shard(m->shard)) {
        snprintf(s->err, sizeof s->err, "shard '%s' is not K/N with 1 <= K <= N", m->shard);
        return -EINVAL;
    }
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO runs (started_at, label, git_rev, tool_version, args, "
                           "shard, status, host, pid, mode) "
                           "VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, "recording a run");
    sqlite3_bind_int64(st, 1, m->started_at);
    bind_text(st, 2, m->label);
    bind_text(st, 3, m->git_rev);
    bind_text(st, 4, m->tool_version);
    bind_text(st, 5, m->args);
    bind_text(st, 6, m->shard);
    bind_text(st, 7, host);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)getpid());
    bind_text(st, 9, m->mode ? m->mode : "sim");
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, "recording a run");
    sqlite3_finalize(st);
    if (rc == 0)
        *run_id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

/* Binds the counts c at parameters first..first+SIM_COUNT__N-1. */
static void bind_counts(sqlite3_stmt *st, int first, const uint64_t *c)
{
    for (int i = 0; i < SIM_COUNT__N; i++)
        sqlite3_bind_int64(st, first + i, (sqlite3_int64)c[i]);
}

/* The inserts of one sweep, inside the caller's transaction. */
static int insert_sweep(rep_store *s, int64_t run_id, const sim_sweep_result *r)
{
    char *expect = NULL;
    if (rep_expect_json(r, &expect) != 0) {
        snprintf(s->err, sizeof s->err, "out of memory");
        return -ENOMEM;
    }
    sqlite3_stmt *st = s->ins_sweep;
    int p = 1;
    sqlite3_bind_int64(st, p++, run_id);
    sqlite3_bind_text(st, p++, r->scenario, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, p++, r->path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, p++, r->profile, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, p++, r->policy, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, p++, r->ablated_fix);
    sqlite3_bind_int64(st, p++, r->nseeds);
    bind_counts(st, p, r->c);
    p += SIM_COUNT__N;
    sqlite3_bind_double(st, p++, r->delivery_rate);
    sqlite3_bind_double(st, p++, r->rate_lo);
    sqlite3_bind_double(st, p++, r->rate_hi);
    if (r->expect_rate >= 0)
        sqlite3_bind_double(st, p++, r->expect_rate);
    else
        sqlite3_bind_null(st, p++);
    sqlite3_bind_text(st, p++, expect, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, p++, (sqlite3_int64)r->p50);
    sqlite3_bind_int64(st, p++, (sqlite3_int64)r->p90);
    sqlite3_bind_int64(st, p++, (sqlite3_int64)r->p99);
    sqlite3_bind_int64(st, p++, (sqlite3_int64)r->pmax);
    sqlite3_bind_int64(st, p++, r->failed_seeds);
    sqlite3_bind_int(st, p++, r->pass ? 1 : 0);
    sqlite3_bind_text(st, p++, r->reason, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, p++, sim_role_name(r->role), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, p++, sim_verdict_name(r->verdict), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, p++, r->matrix ? 1 : 0);
    sqlite3_bind_int64(st, p++, r->worst_seeds);
    char cov[1024];
    sim_coverage_format(r->coverage, cov, sizeof cov);
    sqlite3_bind_text(st, p++, cov, -1, SQLITE_TRANSIENT);
    free(expect);
    if (step_reset(st) != 0)
        return db_fail(s, "recording a sweep");
    int64_t sr = sqlite3_last_insert_rowid(s->db);

    char hash[17];
    char replay[2048];
    for (uint32_t i = 0; i < r->nseeds; i++) {
        const sim_seed_result *x = &r->seeds[i];
        st = s->ins_seed;
        p = 1;
        sqlite3_bind_int64(st, p++, sr);
        sqlite3_bind_int64(st, p++, (sqlite3_int64)x->seed);
        bind_counts(st, p, x->c);
        p += SIM_COUNT__N;
        if (!x->trace_hash && !x->steps) /* --no-trace: absent */
            hash[0] = '\0';
        else
            snprintf(hash, sizeof hash, "%016" PRIx64, x->trace_hash);
        sqlite3_bind_text(st, p++, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, p++, (sqlite3_int64)x->steps);
        sqlite3_bind_int64(st, p++, (sqlite3_int64)x->events);
        sqlite3_bind_int64(st, p++, (sqlite3_int64)x->end_time);
        sqlite3_bind_int(st, p++, x->pass ? 1 : 0);
        sqlite3_bind_text(st, p++, x->reason, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, p++, (sqlite3_int64)x->queue_peak);
        sqlite3_bind_int64(st, p++, (sqlite3_int64)x->queue_mean);
        sqlite3_bind_int(st, p++, x->worst);
        if (step_reset(st) != 0)
            return db_fail(s, "recording a seed");
        if (x->pass)
            continue;
        if (rep_replay_command(r, x->seed, replay, sizeof replay) != 0)
            snprintf(replay, sizeof replay, "(replay line too long)");
        st = s->ins_fail;
        sqlite3_bind_int64(st, 1, sr);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)x->seed);
        sqlite3_bind_text(st, 3, rep_seed_failure_kind(r, x), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, x->reason, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, replay, -1, SQLITE_TRANSIENT);
        if (step_reset(st) != 0)
            return db_fail(s, "recording a failure");
    }
    /* The worst seeds, in rank order (rep_failures_load lists them after
     * the failing ones): their replay lines, kind 'worst'. */
    uint32_t *idx = calloc(r->nseeds ? r->nseeds : 1, sizeof *idx);
    size_t nlist = idx ? sim_sweep_replay_seeds(r, idx, r->nseeds, NULL) : 0;
    for (size_t k = 0; k < nlist; k++) {
        const sim_seed_result *x = &r->seeds[idx[k]];
        if (!x->pass)
            continue;
        char why[160];
        uint64_t e = x->c[SIM_COUNT_EXPECTED], d = x->c[SIM_COUNT_DELIVERED];
        snprintf(why, sizeof why,
                 "worst seed #%d: delivery_rate %.4f (%" PRIu64 "/%" PRIu64 "), not a failure",
                 x->worst, e ? (double)d / (double)e : 1.0, d, e);
        if (rep_replay_command(r, x->seed, replay, sizeof replay) != 0)
            snprintf(replay, sizeof replay, "(replay line too long)");
        st = s->ins_fail;
        sqlite3_bind_int64(st, 1, sr);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)x->seed);
        sqlite3_bind_text(st, 3, "worst", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, why, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, replay, -1, SQLITE_TRANSIENT);
        if (step_reset(st) != 0) {
            free(idx);
            return db_fail(s, "recording a worst seed");
        }
    }
    free(idx);
    for (int i = 0; i < SIM_HIST_BUCKETS; i++) {
        if (!r->latency.b[i])
            continue;
        st = s->ins_hist;
        sqlite3_bind_int64(st, 1, sr);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)sim_hist_bucket_low(i));
        sqlite3_bind_int64(st, 3, (sqlite3_int64)r->latency.b[i]);
        if (step_reset(st) != 0)
            return db_fail(s, "recording the latency histogram");
    }
    return 0;
}

/* Reads the status of run_id into buf; -EINVAL when there is no such run. */
static int run_status(rep_store *s, int64_t run_id, char *buf, size_t len)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT status FROM runs WHERE id = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return db_fail(s, "reading a run");
    sqlite3_bind_int64(st, 1, run_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        snprintf(s->err, sizeof s->err, "run %" PRId64 " does not exist", run_id);
        rc = -EINVAL;
    } else {
        rc = db_fail(s, "reading a run");
    }
    sqlite3_finalize(st);
    return rc;
}

int rep_run_add_sweep(rep_store *s, int64_t run_id, const sim_sweep_result *r)
{
    if (!s || !r)
        return -EINVAL;
    if (r->nseeds > 0 && !r->seeds) {
        snprintf(s->err, sizeof s->err, "sweep %s: %u seeds but no seed results", r->scenario,
                 r->nseeds);
        return -EINVAL;
    }
    int nested = 0, rc = writable(s);
    if (rc == 0)
        rc = txn_begin(s, &nested);
    if (rc != 0)
        return rc;
    char status[32];
    rc = run_status(s, run_id, status, sizeof status);
    if (rc == 0 && strcmp(status, "running") != 0) {
        snprintf(s->err, sizeof s->err, "run %" PRId64 " is %s, not running", run_id, status);
        rc = -EINVAL;
    }
    if (rc == 0)
        rc = insert_sweep(s, run_id, r);
    return txn_end(s, nested, rc, "committing a sweep");
}

int rep_run_finish(rep_store *s, int64_t run_id, const char *status)
{
    if (!s || !status)
        return -EINVAL;
    if (strcmp(status, "complete") != 0 && strcmp(status, "failed") != 0 &&
        strcmp(status, "interrupted") != 0) {
        snprintf(s->err, sizeof s->err, "bad run status '%s'", status);
        return -EINVAL;
    }
    int rc = writable(s);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return db_fail(s, "finishing a run");
    sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
    sqlite3_bind_int64(st, 3, run_id);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, "finishing a run");
    sqlite3_finalize(st);
    if (rc == 0 && sqlite3_changes(s->db) != 1) {
        snprintf(s->err, sizeof s->err, "run %" PRId64 " does not exist", run_id);
        rc = -EINVAL;
    }
    return rc;
}
