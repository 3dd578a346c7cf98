/*
 * dbcmd.c - `ctxsim db upgrade|check PATH`.
 */
#include "reports/dbcmd.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "reports/cmdline.h"
#include "reports/prune.h"
#include "reports/store.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ctxsim db upgrade PATH\n"
            "       ctxsim db check PATH\n"
            "\n"
            "upgrade  migrates the results database PATH in place to schema v%d (this build's;\n"
            "         `ctxsim run --db PATH` does the same before recording).  report, gate\n"
            "         and merge open databases read-only and never migrate them: they read an\n"
            "         older schema through an in-memory copy, or refuse a large one and name\n"
            "         this command.\n"
            "check    runs PRAGMA integrity_check on PATH (read-only) and prints every problem.\n"
            "\n"
            "Exit: 0 done (check: the database is intact), 1 check found problems, 2 bad usage\n"
            "or input, 3 the database could not be read or written.\n",
            REP_SCHEMA_VERSION);
}

/* Prints every row of PRAGMA integrity_check; returns the exit code. */
static int check(const char *path)
{
    char err[1024];
    rep_store *s = NULL;
    sqlite3 *db = NULL;
    int rc;
    /* -EIO: quick_check refused it (or it could not be read): describe it
     * from a plain read-only connection */
    rc = rep_store_open_readonly(path, &s, err, sizeof err);
    if (rc != 0 && rc != -EIO) {
        fprintf(stderr, "ctxsim db check: %s\n", err);
        return rep_store_exit_code(rc);
    }
    if (s)
        db = rep_store_db(s);
    else if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "ctxsim db check: %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return REP_EXIT_ENV;
    }
    sqlite3_stmt *st = NULL;
    size_t problems = 0;
    int step = SQLITE_ERROR;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK) {
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(st, 0);
            if (t && strcmp(t, "ok") == 0)
                continue;
            printf("%s: %s\n", path, t ? t : "?");
            problems++;
        }
    }
    int code;
    if (step != SQLITE_DONE) {
        fprintf(stderr, "ctxsim db check: %s: %s\n", path, sqlite3_errmsg(db));
        code = problems ? REP_EXIT_FAIL : REP_EXIT_ENV;
    } else {
        code = problems ? REP_EXIT_FAIL : REP_EXIT_OK;
    }
    sqlite3_finalize(st);
    if (!s)
        sqlite3_close(db);
    rep_store_close(s);
    if (code == REP_EXIT_OK)
        printf("%s: ok (PRAGMA integrity_check)\n", path);
    else if (code == REP_EXIT_FAIL)
        printf("%s: %zu problem(s): restore it from a copy, or salvage it with the sqlite3 "
               "shell's .recover\n",
               path, problems);
    return code;
}

static int upgrade(const char *path)
{
    char err[1024];
    rep_store *s = NULL;
    int rc = rep_store_open_existing(path, &s, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "ctxsim db upgrade: %s\n", err);
        return rep_store_exit_code(rc);
    }
    rep_store_close(s);
    printf("%s: schema v%d\n", path, REP_SCHEMA_VERSION);
    return REP_EXIT_OK;
}

int rep_cmd_db(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "prune") || !strcmp(argv[1], "vacuum")))
        return rep_db_prune_cmd(argc, argv);
    for (int i = 1; i < argc; i++)
        if (rep_is_help(argv[i])) {
            usage(stdout);
            rep_db_prune_usage(stdout);
            return REP_EXIT_OK;
        }
    if (argc != 3 || (strcmp(argv[1], "upgrade") != 0 && strcmp(argv[1], "check") != 0)) {
        if (argc >= 2 && strcmp(argv[1], "upgrade") && strcmp(argv[1], "check"))
            fprintf(stderr, "ctxsim db: unknown subcommand '%s' (prune, vacuum, upgrade, check)\n",
                    argv[1]);
        usage(stderr);
        rep_db_prune_usage(stderr);
        return REP_EXIT_USAGE;
    }
    return strcmp(argv[1], "upgrade") == 0 ? upgrade(argv[2]) : check(argv[2]);
}
