/*
 * rep_fixture.h - shared fixtures of the reports test suites (store, gate,
 * junit, merge, report): a scratch directory per test, commands run in a
 * child with their output captured, stores opened or asserted, and
 * synthetic sweeps recorded.
 */
#ifndef CTXSIM_TESTS_REP_FIXTURE_H
#define CTXSIM_TESTS_REP_FIXTURE_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "reports/store.h"
#include "reports/synth.h"

/* The current test's scratch directory (set by fx_tmp_setup). */
extern char fx_tmp[256];

/* Creates a fresh /tmp/ctxsim-test-WHAT-XXXXXX as fx_tmp. */
void fx_tmp_setup(const char *what);

/* Removes fx_tmp and everything below it (a checked-fixture teardown). */
void fx_tmp_teardown(void);

/* buf = fx_tmp "/" name. */
void fx_path(char *buf, size_t len, const char *name);

/*
 * Runs fn(argc, argv) for the NULL-terminated args in a forked child, with
 * stdout and stderr captured into out[len] (PATH replaced by path_env when
 * not NULL); asserts it did not crash and returns its exit code.
 */
int fx_run_cmd(int (*fn)(int, char **), const char *const *args, const char *path_env, char *out,
               size_t len);

/* fx_sql_int returns the first column of the first row of query q on the
 * database at path, asserting that it opens, prepares and has a row. */
long long fx_sql_int(const char *path, const char *q);

/* rep_store_open(path), asserted to succeed. */
rep_store *fx_store_open(const char *path);

/* rep_store_open_existing(path), asserted to succeed. */
rep_store *fx_store_open_existing(const char *path);

/* Synthesises the sweep sp over seeds[n] (0..n-1 when NULL) and records it in run. */
void fx_add_sweep(rep_store *s, int64_t run, const rep_synth_spec *sp, const uint64_t *seeds,
                  uint32_t n);

/* fx_damage overwrites the b-tree page header of the root page of `table`
 * in the (checkpointed) database at path: PRAGMA quick_check then fails,
 * while a reader that never touches that table may not notice. */
void fx_damage(const char *path, const char *table);

/* Runs the suite s (CK_NORMAL output) and frees it: the exit status for main. */
int fx_run_suite(Suite *s);

#endif
