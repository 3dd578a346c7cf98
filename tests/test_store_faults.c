/*
 * test_store_faults.c - the results store when its environment fails:
 * read-only databases (a read-only mount, a 0444 file in a 0555 directory
 * read by another user), unreadable directories, damaged databases, and
 * writes or syncs failing at every point (tests/lib/faultvfs.h) or a disk
 * filling up under `ctxsim run`.
 *
 * Tests run as root, where mode bits do not stop writes: the read-only
 * cases use a read-only bind mount in a private mount namespace
 * (unshare(CLONE_NEWNS)) or a child that drops to uid 65534; each proves
 * its mechanism (a write is refused) before using it, and skips with a
 * message when it is not available.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reports/cmdline.h"
#include "reports/gate.h"
#include "reports/merge.h"
#include "reports/query.h"
#include "reports/report.h"
#include "reports/store.h"
#include "sim/sweep.h"
#include "tests/lib/faultvfs.h"
#include "tests/lib/rep_fixture.h"

#define NOBODY 65534

static const rep_synth_spec specs[] = {
    {.scenario = "alpha",
     .profile = "fixed",
     .rate = 0.99,
     .events_per_seed = 40,
     .expect_rate = 0.9,
     .latency_ns = 4000000,
     .salt = 1},
    {.scenario = "beta",
     .profile = "fixed",
     .rate = 0.97,
     .events_per_seed = 60,
     .expect_rate = -1,
     .latency_ns = 9000000,
     .salt = 2},
    {.scenario = "gamma",
     .profile = "fixed",
     .rate = 0.995,
     .events_per_seed = 30,
     .expect_rate = -1,
     .latency_ns = 20000000,
     .salt = 3},
};
#define NSPECS 3
#define NSEEDS 12

static const char run_args[] = "ctxsim run scenarios --seeds 12";

static void setup(void)
{
    fx_tmp_setup("store-faults");
    chmod(fx_tmp, 0755); /* the uid-65534 children look inside */
}

/* The loops' scratch directory: on /dev/shm (tmpfs: no real fsync, which
 * costs seconds on a busy disk) when there is one, else fx_tmp. */
static char shm_dir[256];

static void shm_setup(void)
{
    setup();
    snprintf(shm_dir, sizeof shm_dir, "/dev/shm/ctxsim-faults-XXXXXX");
    if (!mkdtemp(shm_dir))
        snprintf(shm_dir, sizeof shm_dir, "%s", fx_tmp);
}

static void shm_teardown(void)
{
    if (strcmp(shm_dir, fx_tmp) != 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", shm_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "test_store_faults: cannot remove %s\n", shm_dir);
    }
    fx_tmp_teardown();
}

/* Records one complete run of every spec (shard "1/1" when shard). */
static void make_db(const char *path, int shard)
{
    rep_store *s = fx_store_open(path);
    rep_run_meta m = {.label = "faults",
                      .git_rev = "abc",
                      .tool_version = "0.1.0",
                      .args = run_args,
                      .shard = shard ? "1/1" : NULL,
                      .started_at = 1700000000};
    int64_t run = 0;
    ck_assert_int_eq(rep_run_begin(s, &m, &run), 0);
    for (size_t i = 0; i < NSPECS; i++)
        fx_add_sweep(s, run, &specs[i], NULL, NSEEDS);
    ck_assert_int_eq(rep_run_finish(s, run, "complete"), 0);
    rep_store_close(s);
}

/* Runs sql on the database at path (opened read-only) returning one integer;
 * -1 when it cannot. */
static long long sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    long long v = -1;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* "ok" when PRAGMA integrity_check passes on path, else its first line. */
static void integrity(const char *path, char *buf, size_t len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    snprintf(buf, len, "cannot open");
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK) {
        int rc = sqlite3_step(st);
        snprintf(buf, len, "%s",
                 rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* In a child: stdout and stderr appended to `log`. */
static void redirect(const char *log)
{
    /* (created by the parent for the children that drop to uid 65534) */
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        _exit(120);
    fflush(stdout);
    fflush(stderr);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

/* log = fx_tmp/name, created empty and writable by every user. */
static void new_log(char *log, size_t len, const char *name)
{
    fx_path(log, len, name);
    FILE *f = fopen(log, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(chmod(log, 0666), 0);
}

static void read_log(const char *log, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Waits for pid: its exit code, or 200 + signal. */
static int wait_code(pid_t pid)
{
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 200 + WTERMSIG(st);
}

/* Child exit codes of the mechanisms. */
#define SKIP_NO_NS 90 /* no mount namespace / bind mount here */
#define SKIP_WROTE 91 /* the mechanism did not stop a write */

/* In a child: makes dir a read-only bind mount of itself in a private
 * mount namespace, and proves a file cannot be created in it. */
static void readonly_mount(const char *dir)
{
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount(dir, dir, NULL, MS_BIND, NULL) != 0 ||
        mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
        _exit(SKIP_NO_NS);
    char probe[512];
    snprintf(probe, sizeof probe, "%.400s/probe", dir);
    int fd = open(probe, O_WRONLY | O_CREAT, 0644);
    if (fd >= 0 || errno != EROFS)
        _exit(SKIP_WROTE);
}

/* In a child: becomes uid/gid 65534 with no supplementary groups. */
static void become_nobody(void)
{
    if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
        _exit(SKIP_NO_NS);
}

/* The three readers on the database `db` (and `shard` for merge); each
 * must succeed (bit i of the result set when command i did not). */
static int run_readers(const char *db, const char *shard, const char *outdir)
{
    char rep_dir[512], merged[512];
    snprintf(rep_dir, sizeof rep_dir, "%.400s/report", outdir);
    snprintf(merged, sizeof merged, "%.400s/merged.db", outdir);
    char *gate[] = {"gate", "--db", (char *)db, NULL};
    char *report[] = {"report", "--db", (char *)db, "--out", rep_dir, NULL};
    char *merge[] = {"merge", merged, (char *)shard, NULL};
    int bad = 0;
    int rc = rep_cmd_gate(3, gate);
    printf("[gate exit %d]\n", rc);
    bad |= rc != 0;
    rc = rep_cmd_report(5, report);
    printf("[report exit %d]\n", rc);
    bad |= (rc != 0) << 1;
    rc = rep_cmd_merge(3, merge);
    printf("[merge exit %d]\n", rc);
    bad |= (rc != 0) << 2;
    fflush(stdout);
    return bad;
}

static void check_mechanism(int code, const char *what, const char *log)
{
    char out[8192];
    read_log(log, out, sizeof out);
    if (code == SKIP_NO_NS || code == SKIP_WROTE)
        fprintf(stderr, "test_store_faults: skipped (%s: %s)\n", what,
                code == SKIP_NO_NS ? "not available here" : "did not stop a write");
    else
        ck_assert_msg(code == 0, "%s: exit %d (bits: 1 gate, 2 report, 4 merge):\n%s", what, code,
                      out);
}

/* Finding 5: report, gate and merge read a database on a read-only mount
 * (they used to fail: "attempt to write a readonly database", or "unable
 * to open database file" for the WAL setup); a writer fails with exit 3. */
START_TEST(test_store_faults_readonly_mount_is_readable)
{
    char dir[512], db[512], shard[512], log[512];
    fx_path(dir, sizeof dir, "ro");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    snprintf(db, sizeof db, "%.400s/results.db", dir);
    snprintf(shard, sizeof shard, "%.400s/shard.db", dir);
    make_db(db, 0);
    make_db(shard, 1);
    new_log(log, sizeof log, "ro.log");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        readonly_mount(dir);
        redirect(log);
        int bad = run_readers(db, shard, fx_tmp);
        /* and nothing was created beside them (no -wal, no -shm) */
        char wal[600];
        snprintf(wal, sizeof wal, "%.500s-wal", db);
        struct stat st;
        bad |= (stat(wal, &st) == 0) << 3;
        /* a writer is refused, with the environment's exit code */
        rep_store *s = NULL;
        char err[512];
        int rc = rep_store_open(db, &s, err, sizeof err);
        printf("[open for writing: %d %s]\n", rc, err);
        bad |= (rc == 0 || rep_store_exit_code(rc) != REP_EXIT_ENV) << 4;
        rep_store_close(s);
        fflush(stdout);
        _exit(bad);
    }
    check_mechanism(wait_code(pid), "read-only bind mount", log);
}
END_TEST

/* The same as another user: a 0444 file in a 0555 directory. */
START_TEST(test_store_faults_readonly_file_is_readable)
{
    char dir[512], db[512], shard[512], log[512], outdir[512];
    fx_path(dir, sizeof dir, "ro");
    fx_path(outdir, sizeof outdir, "out");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(mkdir(outdir, 0777), 0);
    chmod(outdir, 0777);
    snprintf(db, sizeof db, "%.400s/results.db", dir);
    snprintf(shard, sizeof shard, "%.400s/shard.db", dir);
    make_db(db, 0);
    make_db(shard, 1);
    ck_assert_int_eq(chmod(db, 0444), 0);
    ck_assert_int_eq(chmod(shard, 0444), 0);
    ck_assert_int_eq(chmod(dir, 0555), 0);
    new_log(log, sizeof log, "ro.log");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        become_nobody();
        int fd = open(db, O_RDWR);
        if (fd >= 0)
            _exit(SKIP_WROTE);
        redirect(log);
        int bad = run_readers(db, shard, outdir);
        rep_store *s = NULL;
        char err[512];
        if (rep_store_open_readonly(db, &s, err, sizeof err) != 0) {
            bad |= 1 << 3;
        } else {
            rep_run_meta m = {.args = "x"};
            int64_t run = 0;
            bad |= (rep_run_begin(s, &m, &run) != -EROFS) << 4; /* refused, not attempted */
            rep_store_close(s);
        }
        _exit(bad);
    }
    int code = wait_code(pid);
    chmod(dir, 0755);
    check_mechanism(code, "uid 65534 and a 0444 file", log);
}
END_TEST

/* "no database at X" only when X does not exist; an unreadable directory
 * is "cannot access", exit 3. */
START_TEST(test_store_faults_unreadable_directory_is_not_missing)
{
    char dir[512], db[512], log[512], missing[512];
    fx_path(dir, sizeof dir, "private");
    fx_path(missing, sizeof missing, "nothing-here.db");
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(db, sizeof db, "%.400s/results.db", dir);
    make_db(db, 0);
    rep_store *s = NULL;
    char err[512];
    int rc = rep_store_open_readonly(missing, &s, err, sizeof err);
    ck_assert_int_eq(rc, -ENOENT);
    ck_assert_msg(strstr(err, "no database at") != NULL, "%s", err);
    ck_assert_int_eq(rep_store_exit_code(rc), REP_EXIT_USAGE);
    new_log(log, sizeof log, "priv.log");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        become_nobody();
        struct stat st;
        if (stat(db, &st) == 0)
            _exit(SKIP_WROTE); /* the mode bits did not stop us */
        redirect(log);
        char e2[512] = "";
        rep_store *t = NULL;
        int r = rep_store_open_readonly(db, &t, e2, sizeof e2);
        printf("[%d %s]\n", r, e2);
        char *gate[] = {"gate", "--db", db, NULL};
        int g = rep_cmd_gate(3, gate);
        fflush(stdout);
        _exit((r != -EACCES) | (strstr(e2, "no database") != NULL) << 1 |
              (strstr(e2, "cannot access") == NULL) << 2 | (g != REP_EXIT_ENV) << 3);
    }
    char out[4096];
    int code = wait_code(pid);
    read_log(log, out, sizeof out);
    if (code == SKIP_NO_NS || code == SKIP_WROTE)
        fprintf(stderr, "test_store_faults: skipped (uid 65534 not available)\n");
    else
        ck_assert_msg(code == 0, "exit %d:\n%s", code, out);
}
END_TEST

/* Reads a whole file into a malloc'd buffer (*len bytes). */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    unsigned char *b = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* An old schema is read as it is: through a migrated in-memory copy, the
 * file untouched (the read-only path never migrates); a copy too large for
 * that is refused with the command that upgrades it. */
START_TEST(test_store_faults_old_schema_is_read_without_writing)
{
    char p[512], err[1024] = "", out[8192];
    fx_path(p, sizeof p, "v1.db");
    ck_assert_int_eq(rep_store_create_at_version(p, 1, err, sizeof err), 0);
    sqlite3 *raw = NULL;
    ck_assert_int_eq(sqlite3_open(p, &raw), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(raw,
                                  "INSERT INTO runs (id, started_at, label, status) VALUES (7, 1, "
                                  "'old', 'complete');"
                                  "INSERT INTO scenario_results (run_id, scenario, path, profile, "
                                  "seeds, expected, delivered, delivery_rate, rate_lo, rate_hi, "
                                  "p50_ns, p90_ns, p99_ns, max_ns, failed_seeds, pass) VALUES (7, "
                                  "'s', 's.yaml', 'fixed', 1, 100, 100, 1, 0.96, 1, 1, 2, 3, "
                                  "4, 0, 1);"
                                  "INSERT INTO seed_results (scenario_result_id, seed, trace_hash, "
                                  "steps, pass, expected, delivered) VALUES (1, 5, "
                                  "'00000000000000ab', 9, 1, 100, 100);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(raw);
    size_t n0 = 0, n1 = 0;
    unsigned char *before = slurp(p, &n0);
    rep_store *s = NULL;
    ck_assert_msg(rep_store_open_readonly(p, &s, err, sizeof err) == 0, "%s", err);
    rep_sweep *v = NULL;
    size_t nv = 0;
    ck_assert_int_eq(rep_sweeps_load(s, 7, REP_LOAD_SEEDS, &v, &nv), 0);
    ck_assert_uint_eq(nv, 1);
    ck_assert_uint_eq(v[0].r.c[SIM_COUNT_DELIVERED], 100);
    ck_assert_int_eq(v[0].has_coverage, 0);
    rep_sweeps_free(v, nv);
    rep_run_meta m = {.args = "x"};
    int64_t run = 0;
    ck_assert_int_eq(rep_run_begin(s, &m, &run), -EROFS);
    rep_store_close(s);
    const char *gate[] = {"gate", "--db", p, NULL};
    ck_assert_msg(fx_run_cmd(rep_cmd_gate, gate, NULL, out, sizeof out) == 0, "%s", out);
    unsigned char *after = slurp(p, &n1);
    ck_assert_msg(n0 == n1 && memcmp(before, after, n0) == 0, "the v1 file was modified");
    free(before);
    free(after);
    ck_assert_int_eq(sql_int(p, "PRAGMA user_version"), 1);

    /* too large to copy: refused, naming the upgrade */
    ck_assert_int_eq(truncate(p, REP_STORE_MEM_UPGRADE_MAX + 4096), 0);
    int rc = rep_store_open_readonly(p, &s, err, sizeof err);
    ck_assert_int_eq(rc, -EINVAL);
    ck_assert_msg(strstr(err, "ctxsim db upgrade") && strstr(err, "v1"), "%s", err);
}
END_TEST

/* Finding 6: a damaged database is refused by report, gate and merge
 * (quick_check), with exit 3, and merge writes nothing into OUT. */
START_TEST(test_store_faults_damaged_database_is_refused)
{
    char db[512], shard[512], merged[512], rep_dir[512], out[8192], ok[256];
    fx_path(db, sizeof db, "results.db");
    fx_path(shard, sizeof shard, "shard.db");
    fx_path(merged, sizeof merged, "merged.db");
    fx_path(rep_dir, sizeof rep_dir, "report");
    make_db(db, 0);
    make_db(shard, 1);
    fx_damage(db, "latency_hist");
    fx_damage(shard, "latency_hist");
    integrity(db, ok, sizeof ok);
    ck_assert_str_ne(ok, "ok");
    const char *gate[] = {"gate", "--db", db, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_gate, gate, NULL, out, sizeof out), REP_EXIT_ENV);
    ck_assert_msg(strstr(out, "damaged") && strstr(out, "quick_check"), "%s", out);
    const char *report[] = {"report", "--db", db, "--out", rep_dir, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_report, report, NULL, out, sizeof out), REP_EXIT_ENV);
    ck_assert_msg(strstr(out, "damaged") != NULL, "%s", out);
    const char *merge[] = {"merge", merged, shard, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_merge, merge, NULL, out, sizeof out), REP_EXIT_ENV);
    ck_assert_msg(strstr(out, "damaged") != NULL, "%s", out);
    struct stat st;
    ck_assert_msg(stat(merged, &st) != 0, "merge created %s from a damaged shard", merged);
}
END_TEST

/* Copies the file from to to. */
static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    ck_assert(a && b);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, b), n);
    fclose(a);
    ck_assert_int_eq(fclose(b), 0);
}

/*
 * The recording API under an injected fault at every write (or sync) in
 * turn: each call either succeeds or says why (SQLite's reason, exit code
 * 3); afterwards the database passes integrity_check and holds every sweep
 * reported as recorded.  With fresh, the database is created (schema and
 * migrations) under the fault too; else each point starts from a copy of
 * an empty current database.  Returns the number of fault points looped.
 */
static long fault_loop(int what, int err, int persist, const char *reason, int fresh)
{
    long points = 0;
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%.400s/template.db", shm_dir);
    rep_store_close(fx_store_open(tmpl));
    for (long n = 1; n < 2000; n++) {
        char p[512], e[512] = "", ok[256];
        snprintf(p, sizeof p, "%.400s/loop-%d-%d-%ld.db", shm_dir, what, persist, n);
        if (!fresh)
            copy_file(tmpl, p);
        fvfs_arm(what, n, err, persist);
        rep_store *s = NULL;
        int rc = rep_store_open(p, &s, e, sizeof e);
        int recorded[NSPECS] = {0}, failed_calls = 0;
        int64_t run = 0;
        if (rc != 0) {
            failed_calls++;
            ck_assert_msg(rep_store_exit_code(rc) == REP_EXIT_ENV && strstr(e, reason),
                          "N=%ld open: %d %s", n, rc, e);
        } else {
            rep_run_meta m = {.args = run_args, .started_at = 1};
            rc = rep_run_begin(s, &m, &run);
            if (rc != 0) {
                failed_calls++;
                ck_assert_msg(rep_store_exit_code(rc) == REP_EXIT_ENV &&
                                  strstr(rep_store_errmsg(s), reason),
                              "N=%ld begin: %d %s", n, rc, rep_store_errmsg(s));
            }
            for (size_t i = 0; rc == 0 && i < NSPECS; i++) {
                sim_sweep_result r;
                ck_assert_int_eq(rep_synth_sweep(&specs[i], NULL, NSEEDS, &r), 0);
                int arc = rep_run_add_sweep(s, run, &r);
                sim_sweep_result_free(&r);
                recorded[i] = arc == 0;
                if (arc != 0) {
                    failed_calls++;
                    ck_assert_msg(rep_store_exit_code(arc) == REP_EXIT_ENV &&
                                      strstr(rep_store_errmsg(s), reason),
                                  "N=%ld sweep %zu: %d %s", n, i, arc, rep_store_errmsg(s));
                }
            }
            if (rc == 0) {
                int frc = rep_run_finish(s, run, "complete");
                if (frc != 0) {
                    failed_calls++;
                    ck_assert_msg(rep_store_exit_code(frc) == REP_EXIT_ENV, "N=%ld finish: %s", n,
                                  rep_store_errmsg(s));
                }
            }
            rep_store_close(s);
        }
        long injected = fvfs_failed();
        fvfs_disarm();
        (void)failed_calls; /* a fault in the checkpoint of close is not reported: harmless */
        points++;
        struct stat st;
        if (stat(p, &st) == 0) {
            integrity(p, ok, sizeof ok);
            ck_assert_msg(strcmp(ok, "ok") == 0, "N=%ld: integrity_check: %s", n, ok);
            for (size_t i = 0; i < NSPECS; i++) {
                if (!recorded[i])
                    continue;
                char q[256];
                snprintf(q, sizeof q,
                         "SELECT count(*) FROM seed_results JOIN scenario_results sr ON "
                         "sr.id = scenario_result_id WHERE sr.scenario = '%s'",
                         specs[i].scenario);
                ck_assert_msg(sql_int(p, q) == NSEEDS, "N=%ld: sweep %s reported recorded, lost", n,
                              specs[i].scenario);
            }
        }
        unlink(p);
        char side[600];
        snprintf(side, sizeof side, "%.500s-wal", p);
        unlink(side);
        snprintf(side, sizeof side, "%.500s-shm", p);
        unlink(side);
        if (injected == 0)
            break; /* n is past the last write: every point was tried */
    }
    return points;
}

START_TEST(test_store_faults_every_write_and_sync_fails_cleanly)
{
    ck_assert_int_eq(fvfs_install(), SQLITE_OK);
    long a = fault_loop(FVFS_WRITE, SQLITE_IOERR_WRITE, 0, "disk I/O error", 0);
    long b = fault_loop(FVFS_WRITE, SQLITE_FULL, 1, "database or disk is full", 1);
    long c = fault_loop(FVFS_SYNC, SQLITE_IOERR_FSYNC, 0, "disk I/O error", 1);
    fprintf(stderr,
            "test_store_faults: fault points looped: %ld writes (I/O error, recording), %ld "
            "writes (disk full, creating and recording), %ld syncs\n",
            a, b, c);
    ck_assert_int_gt(a, 10);
    ck_assert_int_gt(b, a);
    ck_assert_int_gt(c, 1);
}
END_TEST

/* merge under an injected fault at every write into OUT: exit 0 with the
 * whole run, or exit 3 with SQLite's reason and no run in OUT. */
START_TEST(test_store_faults_merge_is_all_or_nothing)
{
    ck_assert_int_eq(fvfs_install(), SQLITE_OK);
    char shard[512], out[8192];
    snprintf(shard, sizeof shard, "%.400s/shard.db", shm_dir);
    make_db(shard, 1);
    long n = 1;
    for (; n < 500; n++) {
        char merged[512], ok[256];
        snprintf(merged, sizeof merged, "%.400s/merged-%ld.db", shm_dir, n);
        const char *merge[] = {"merge", merged, shard, NULL};
        fvfs_arm(FVFS_WRITE, n, SQLITE_FULL, 1);
        int code = fx_run_cmd(rep_cmd_merge, merge, NULL, out, sizeof out);
        fvfs_disarm();
        ck_assert_msg(code == 0 || code == REP_EXIT_ENV, "N=%ld: exit %d: %s", n, code, out);
        struct stat st;
        long long runs = stat(merged, &st) == 0 ? sql_int(merged, "SELECT count(*) FROM runs") : 0;
        if (stat(merged, &st) == 0) {
            integrity(merged, ok, sizeof ok);
            ck_assert_msg(strcmp(ok, "ok") == 0, "N=%ld: %s", n, ok);
        }
        if (code == REP_EXIT_ENV) {
            ck_assert_msg(strstr(out, "database or disk is full") != NULL, "N=%ld: %s", n, out);
            ck_assert_msg(runs <= 0, "N=%ld: a failed merge left %lld runs", n, runs);
            continue;
        }
        ck_assert_int_eq(runs, 1);
        ck_assert_int_eq(sql_int(merged, "SELECT count(*) FROM scenario_results"), NSPECS);
        break;
    }
    ck_assert_int_gt(n, 5);
    fprintf(stderr, "test_store_faults: merge: %ld fault points looped\n", n);
}
END_TEST

/* `ctxsim run` filling a small disk (a 320 KiB tmpfs in a private mount
 * namespace): exit 3, every sweep that was not recorded says so, the
 * database stays intact and holds every other one. */
START_TEST(test_store_faults_run_on_a_full_disk)
{
    const char *ctxsim = getenv("CTXSIM");
    if (!ctxsim || access(ctxsim, X_OK) != 0) {
        fprintf(stderr, "test_store_faults: skipped (CTXSIM not set)\n");
        return;
    }
    char dir[512], db[512], log[512], out[65536], ok[256];
    fx_path(dir, sizeof dir, "small");
    new_log(log, sizeof log, "full.log");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    snprintf(db, sizeof db, "%.400s/results.db", dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("tmpfs", dir, "tmpfs", 0, "size=320k") != 0)
            _exit(SKIP_NO_NS);
        pid_t c = fork();
        if (c == 0) {
            redirect(log);
            execl(ctxsim, ctxsim, "run", "--db", db, "--seeds", "20", "scenarios", (char *)NULL);
            _exit(127);
        }
        int st = 0;
        waitpid(c, &st, 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 100;
        integrity(db, ok, sizeof ok);
        long long n = sql_int(db, "SELECT count(*) FROM scenario_results");
        FILE *f = fopen(log, "a");
        if (f) {
            fprintf(f, "[exit %d, integrity %s, %lld sweeps in the database]\n", code, ok, n);
            fclose(f);
        }
        _exit(code == REP_EXIT_ENV && strcmp(ok, "ok") == 0 && n >= 0 ? 0 : 98);
    }
    int code = wait_code(pid);
    read_log(log, out, sizeof out);
    if (code == SKIP_NO_NS) {
        fprintf(stderr, "test_store_faults: skipped (no tmpfs in a mount namespace)\n");
        return;
    }
    ck_assert_msg(code == 0, "exit %d:\n%s", code, out);
    /* "U of M sweeps NOT recorded": the database holds the M - U others */
    const char *line = strstr(out, " sweeps NOT recorded");
    ck_assert_msg(line != NULL && strstr(out, "database or disk is full"), "%s", out);
    while (line > out && line[-1] != ':')
        line--;
    unsigned u = 0, m = 0;
    long long n = -1;
    ck_assert_msg(sscanf(line, " %u of %u", &u, &m) == 2 && u >= 1, "%s", out);
    const char *tail = strstr(out, "integrity ok, ");
    ck_assert_msg(tail && sscanf(tail, "integrity ok, %lld sweeps", &n) == 1, "%s", out);
    ck_assert_msg(n == (long long)(m - u), "%lld sweeps in the database, %u of %u unrecorded:\n%s",
                  n, u, m, out);
    ck_assert_msg(strstr(out, "recorded as run") == NULL, "%s", out);
}
END_TEST

static Suite *faults_suite(void)
{
    Suite *s = suite_create("store_faults");
    TCase *tc = tcase_create("faults");
    tcase_add_checked_fixture(tc, setup, fx_tmp_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_store_faults_readonly_mount_is_readable);
    tcase_add_test(tc, test_store_faults_readonly_file_is_readable);
    tcase_add_test(tc, test_store_faults_unreadable_directory_is_not_missing);
    tcase_add_test(tc, test_store_faults_damaged_database_is_refused);
    tcase_add_test(tc, test_store_faults_old_schema_is_read_without_writing);
    tcase_add_test(tc, test_store_faults_run_on_a_full_disk);
    suite_add_tcase(s, tc);
    TCase *loops = tcase_create("loops");
    tcase_add_checked_fixture(loops, shm_setup, shm_teardown);
    tcase_set_timeout(loops, 120);
    tcase_add_test(loops, test_store_faults_every_write_and_sync_fails_cleanly);
    tcase_add_test(loops, test_store_faults_merge_is_all_or_nothing);
    suite_add_tcase(s, loops);
    return s;
}

int main(void)
{
    return fx_run_suite(faults_suite());
}
