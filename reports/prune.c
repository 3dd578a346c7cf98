/*
 * prune.c - `ctxsim db prune` and `ctxsim db vacuum`.
 */
#include "reports/prune.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "reports/cmdline.h"
#include "reports/query.h"

/* Reads the ids of every run, newest first, into a malloc'd array. */
static int run_ids(sqlite3 *db, int64_t **ids, size_t *n)
{
    sqlite3_stmt *st;
    *ids = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db, "SELECT id FROM runs ORDER BY id DESC", -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            int64_t *v = realloc(*ids, cap * sizeof *v);
            if (!v) {
                sqlite3_finalize(st);
                return -ENOMEM;
            }
            *ids = v;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int rep_runs_prune(rep_store *s, size_t keep, rep_prune_result *out)
{
    if (!s || !out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    sqlite3 *db = rep_store_db(s);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return -EIO;
    int64_t *ids = NULL;
    size_t n = 0;
    int rc = run_ids(db, &ids, &n);
    sqlite3_stmt *del = NULL;
    if (rc == 0 &&
        sqlite3_prepare_v2(db, "DELETE FROM runs WHERE id = ?", -1, &del, NULL) != SQLITE_OK)
        rc = -EIO;
    for (size_t i = keep; rc == 0 && i < n; i++) {
        rep_run_info r;
        if (rep_run_get(s, ids[i], &r) == 0 && r.live) {
            out->live++;
            continue;
        }
        sqlite3_bind_int64(del, 1, ids[i]);
        if (sqlite3_step(del) != SQLITE_DONE)
            rc = -EIO;
        sqlite3_reset(del);
        out->deleted += rc == 0;
    }
    sqlite3_finalize(del);
    free(ids);
    if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = -EIO;
    if (rc != 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        out->deleted = 0;
        out->live = 0;
        return rc;
    }
    out->kept = n - out->deleted;
    return 0;
}

int rep_store_vacuum(rep_store *s)
{
    if (!s)
        return -EINVAL;
    sqlite3 *db = rep_store_db(s);
    if (sqlite3_exec(db, "VACUUM", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
        return -EIO;
    return 0;
}

void rep_db_prune_usage(FILE *f)
{
    fprintf(f, "usage: ctxsim db prune --keep N [--db PATH] [--no-vacuum]\n"
               "       ctxsim db vacuum [--db PATH]\n"
               "\n"
               "prune deletes every recorded run but the N newest (with their sweeps, seeds,\n"
               "failures and histograms), never a run that is still recording, in one\n"
               "transaction, then reclaims the space (VACUUM; --no-vacuum skips it).  gate's\n"
               "default baseline is the newest complete run before the gated one: keep N >= 2.\n"
               "vacuum only reclaims free pages.\n"
               "  --db PATH    results database (default " REP_DEFAULT_DB ")\n"
               "Exit status: 0 done, 2 bad usage or no database, 3 the database could not be\n"
               "read or written (SQLite's reason is printed; nothing was deleted).\n");
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int rep_db_prune_cmd(int argc, char **argv)
{
    if (argc < 2 || rep_is_help(argv[1])) {
        rep_db_prune_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? REP_EXIT_USAGE : REP_EXIT_OK;
    }
    const char *sub = argv[1], *db = REP_DEFAULT_DB, *keep_s = NULL;
    int prune = !strcmp(sub, "prune"), vacuum = 1;
    if (!prune && strcmp(sub, "vacuum")) {
        fprintf(stderr, "ctxsim db: unknown subcommand '%s' (prune or vacuum)\n", sub);
        return REP_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (rep_is_help(argv[i])) {
            rep_db_prune_usage(stdout);
            return REP_EXIT_OK;
        }
        if ((m = rep_opt(argc, argv, &i, "--db", &v)) != 0) {
            if (m < 0)
                return REP_EXIT_USAGE;
            db = v;
        } else if (prune && (m = rep_opt(argc, argv, &i, "--keep", &v)) != 0) {
            if (m < 0)
                return REP_EXIT_USAGE;
            keep_s = v;
        } else if (prune && !strcmp(argv[i], "--no-vacuum")) {
            vacuum = 0;
        } else {
            fprintf(stderr, "ctxsim db %s: unknown argument '%s'\n", sub, argv[i]);
            return REP_EXIT_USAGE;
        }
    }
    unsigned long long keep = 0;
    if (prune) {
        char *end = NULL;
        errno = 0;
        if (!keep_s || !*keep_s || *keep_s == '-' ||
            ((keep = strtoull(keep_s, &end, 10)), errno || *end)) {
            fprintf(stderr,
                    "ctxsim db prune: --keep N (a number of runs, 0 or more) is required%s%s\n",
                    keep_s ? ", got " : "", keep_s ? keep_s : "");
            return REP_EXIT_USAGE;
        }
    }
    char err[512];
    rep_store *s = NULL;
    int orc = rep_store_open_existing(db, &s, err, sizeof err);
    if (orc != 0) {
        fprintf(stderr, "ctxsim db %s: %s\n", sub, err);
        return rep_store_exit_code(orc);
    }
    long long before = file_size(db);
    int code = REP_EXIT_OK;
    if (prune) {
        rep_prune_result r;
        if (rep_runs_prune(s, (size_t)keep, &r) != 0) {
            fprintf(stderr, "ctxsim db prune: %s: %s (nothing deleted)\n", db, rep_store_errmsg(s));
            code = REP_EXIT_ENV;
        } else {
            printf("pruned %s: %zu run(s) deleted, %zu kept", db, r.deleted, r.kept);
            if (r.live)
                printf(" (%zu of them older but still recording)", r.live);
            printf("\n");
        }
    }
    if (code == REP_EXIT_OK && vacuum) {
        if (rep_store_vacuum(s) != 0) {
            fprintf(stderr, "ctxsim db %s: vacuum: %s\n", sub, rep_store_errmsg(s));
            code = REP_EXIT_ENV;
        } else {
            printf("vacuumed %s: %lld -> %lld bytes\n", db, before, file_size(db));
        }
    }
    rep_store_close(s);
    return code;
}
