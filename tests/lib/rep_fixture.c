/*
 * rep_fixture.c - shared fixtures of the reports test suites.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "tests/lib/rep_fixture.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char fx_tmp[256];

void fx_tmp_setup(const char *what)
{
    snprintf(fx_tmp, sizeof fx_tmp, "/tmp/ctxsim-test-%s-XXXXXX", what);
    ck_assert_ptr_nonnull(mkdtemp(fx_tmp));
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void fx_tmp_teardown(void)
{
    nftw(fx_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void fx_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", fx_tmp, name);
}

int fx_run_cmd(int (*fn)(int, char **), const char *const *args, const char *path_env, char *out,
               size_t len)
{
    char *argv[32];
    int argc = 0;
    for (; args[argc]; argc++)
        argv[argc] = (char *)args[argc];
    argv[argc] = NULL;
    char log[600];
    fx_path(log, sizeof log, "cmd.out");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(99);
        dup2(fd, 1);
        dup2(fd, 2);
        if (path_env)
            setenv("PATH", path_env, 1);
        int rc = fn(argc, argv);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st), "command crashed");
    FILE *f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(out, 1, len - 1, f);
    out[n] = '\0';
    fclose(f);
    return WEXITSTATUS(st);
}

rep_store *fx_store_open(const char *path)
{
    rep_store *s = NULL;
    char err[256] = "";
    ck_assert_msg(rep_store_open(path, &s, err, sizeof err) == 0, "open %s: %s", path, err);
    return s;
}

rep_store *fx_store_open_existing(const char *path)
{
    rep_store *s = NULL;
    char err[256] = "";
    ck_assert_msg(rep_store_open_existing(path, &s, err, sizeof err) == 0, "open %s: %s", path,
                  err);
    return s;
}

void fx_add_sweep(rep_store *s, int64_t run, const rep_synth_spec *sp, const uint64_t *seeds,
                  uint32_t n)
{
    sim_sweep_result r;
    ck_assert_int_eq(rep_synth_sweep(sp, seeds, n, &r), 0);
    ck_assert_int_eq(rep_run_add_sweep(s, run, &r), 0);
    free(r.seeds);
}

int fx_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

void fx_damage(const char *path, const char *table)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long page = 0, size = 0;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT rootpage, (SELECT page_size FROM "
                                        "pragma_page_size) FROM sqlite_schema WHERE name = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    page = sqlite3_column_int64(st, 0);
    size = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    ck_assert_int_gt(page, 1);
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, (long)((page - 1) * size), SEEK_SET), 0);
    /* a leaf table page claiming 0xffff cells that start past its end */
    static const unsigned char junk[16] = {0x0d, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff,
                                           0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    ck_assert_uint_eq(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    ck_assert_int_eq(fclose(f), 0);
}

long long fx_sql_int(const char *db, const char *q)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(h, q, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}
