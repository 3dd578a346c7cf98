/*
 * test_alloc_sim.c - allocation failures beyond the core: the scenario
 * loader, one seed of the world (engine, oracle and the core it drives),
 * the results store (SQLite's own allocations too) and the report builder,
 * each run failing its 1st, 2nd, ... Nth allocation until a run needs no
 * more: every N must give a clean error (a negative errno, an error
 * message, SIM_COUNT_ERRORS) or a result identical to the unfailed run,
 * never a crash; leaks are LeakSanitizer's (make test SANITIZE=1).
 *
 * How allocations fail: this binary is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
 * (Makefile), so every call of those in the statically linked code (core/,
 * sim/, reports/) goes to __wrap_* below; SQLite's go through
 * sqlite3_config(SQLITE_CONFIG_MALLOC) set before sqlite3_initialize.  The
 * shared libraries' own (libyaml, libc internals) are not failed.
 */
#include <check.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "reports/model.h"
#include "reports/query.h"
#include "reports/gate.h"
#include "reports/report.h"
#include "reports/store.h"
#include "sim/scenario.h"
#include "sim/world.h"
#include "tests/lib/rep_fixture.h"

/* ---- the failing allocator ---------------------------------------------- */

static struct {
    int armed;
    long calls, fail_at, failed;
} A;

static int fail_now(void)
{
    if (!A.armed)
        return 0;
    if (++A.calls == A.fail_at) {
        A.failed++;
        return 1;
    }
    return 0;
}

static void arm(long n)
{
    A.calls = 0;
    A.failed = 0;
    A.fail_at = n;
    A.armed = 1;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t k, size_t n)
{
    return fail_now() ? NULL : __real_calloc(k, n);
}
void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}
char *__wrap_strdup(const char *s)
{
    return fail_now() ? NULL : __real_strdup(s);
}
char *__wrap_strndup(const char *s, size_t n)
{
    return fail_now() ? NULL : __real_strndup(s, n);
}

static sqlite3_mem_methods sq_real;

static void *sq_malloc(int n)
{
    return fail_now() ? NULL : sq_real.xMalloc(n);
}
static void *sq_realloc(void *p, int n)
{
    return fail_now() ? NULL : sq_real.xRealloc(p, n);
}

/* ---- the loop ----------------------------------------------------------- */

/*
 * An operation of the loop: op(ctx, 0, 0) runs it (with the allocator
 * armed) and returns its result; op(ctx, 1, injected) then checks that
 * result (disarmed), knowing whether an allocation was failed, frees what
 * the run made and returns 0.
 */
typedef int (*alloc_op)(void *ctx, int check, int injected);

/*
 * Runs op failing its nth allocation for n = 1, 2, ... until a run fails
 * none (it must then succeed: op returns 0).  Returns the number of
 * failure points.
 */
static long alloc_loop(const char *what, alloc_op op, void *ctx, long max)
{
    for (long n = 1; n <= max; n++) {
        arm(n);
        int rc = op(ctx, 0, 0);
        A.armed = 0;
        int injected = A.failed > 0;
        ck_assert_msg(op(ctx, 1, injected) == 0, "%s: N=%ld: rc %d", what, n, rc);
        if (!injected) {
            ck_assert_msg(rc == 0, "%s: no failure injected at N=%ld, yet rc %d", what, n, rc);
            fprintf(stderr, "test_alloc_sim: %s: %ld allocation failure points\n", what, n - 1);
            return n - 1;
        }
    }
    ck_abort_msg("%s: more than %ld allocations", what, max);
    return max;
}

/* Reads a file into a malloc'd string. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* The databases live on /dev/shm when there is one (tmpfs: the loops
 * create hundreds, and fsync on a busy disk costs seconds). */
static char scratch[256];

static void setup(void)
{
    fx_tmp_setup("alloc-sim");
    snprintf(scratch, sizeof scratch, "/dev/shm/ctxsim-alloc-XXXXXX");
    if (!mkdtemp(scratch))
        snprintf(scratch, sizeof scratch, "%s", fx_tmp);
}

static void teardown(void)
{
    if (strcmp(scratch, fx_tmp) != 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
        if (system(cmd) != 0)
            fprintf(stderr, "test_alloc_sim: cannot remove %s\n", scratch);
    }
    fx_tmp_teardown();
}

/* ---- the scenario loader ------------------------------------------------- */

typedef struct scen_ctx {
    char *text;
    size_t len;
    sim_scenario *s;
    sim_scenario_error err;
    int rc;
} scen_ctx;

/* Phase 1 (injected < 0): the armed call.  Phase 2: its check. */
static int scen_op(void *p, int check, int injected)
{
    scen_ctx *c = p;
    if (!check) {
        c->s = NULL;
        memset(&c->err, 0, sizeof c->err);
        c->rc = sim_scenario_load_string("full.yaml", c->text, c->len, &c->s, &c->err);
        return c->rc;
    }
    int ok = c->rc == 0 ? c->s != NULL : c->s == NULL && strstr(c->err.msg, "out of memory");
    ck_assert_msg(ok, "rc %d, scenario %p, error '%s'", c->rc, (void *)c->s, c->err.msg);
    sim_scenario_free(c->s);
    c->s = NULL;
    return 0;
}

START_TEST(test_alloc_sim_scenario_loader)
{
    scen_ctx c = {0};
    c.text = slurp("tests/data/good/full.yaml", &c.len);
    ck_assert_int_gt(alloc_loop("scenario loader", scen_op, &c, 100000), 10);
    free(c.text);
}
END_TEST

/* ---- one seed of the world: engine, oracle, core ------------------------- */

typedef struct world_ctx {
    sim_scenario *sc;
    cr_policy pol;
    sim_seed_result base, res;
    int rc;
} world_ctx;

static int world_op(void *p, int check, int injected)
{
    world_ctx *c = p;
    sim_world_opts o = {.seed = 3};
    if (!check) {
        memset(&c->res, 0, sizeof c->res);
        c->rc = sim_world_run(c->sc, &c->pol, &o, &c->res, NULL);
        return c->rc;
    }
    if (c->rc != 0 || c->res.c[SIM_COUNT_ERRORS]) {
        /* a clean failure says why */
        ck_assert_msg(injected && c->res.reason[0], "rc %d without a reason", c->rc);
    } else {
        /* or the failure was absorbed: exactly the unfailed run */
        ck_assert_msg(c->res.trace_hash == c->base.trace_hash &&
                          memcmp(c->res.c, c->base.c, sizeof c->res.c) == 0,
                      "a failed allocation changed the result silently (%s)", c->res.reason);
    }
    return 0;
}

START_TEST(test_alloc_sim_world_seed)
{
    world_ctx c;
    memset(&c, 0, sizeof c);
    sim_scenario_error err;
    ck_assert_int_eq(sim_scenario_load("scenarios/grace_boundary.yaml", &c.sc, &err), 0);
    ck_assert_int_eq(sim_scenario_policy(c.sc, -1, &c.pol), 0);
    sim_world_opts o = {.seed = 3};
    ck_assert_int_eq(sim_world_run(c.sc, &c.pol, &o, &c.base, NULL), 0);
    ck_assert_int_eq(c.base.c[SIM_COUNT_ERRORS], 0);
    ck_assert_int_gt(alloc_loop("world seed (engine, oracle, core)", world_op, &c, 200000), 10);
    sim_scenario_free(c.sc);
}
END_TEST

/* ---- the store and the report builder ------------------------------------ */

static const rep_synth_spec spec = {.scenario = "alpha",
                                    .profile = "fixed",
                                    .rate = 0.97,
                                    .events_per_seed = 40,
                                    .expect_rate = 0.99,
                                    .latency_ns = 4000000,
                                    .salt = 1};

typedef struct store_ctx {
    char path[512];
    rep_store *s; /* open across the points: the recording loop */
    sim_sweep_result sweep;
    int rc, step;     /* step: how far the armed run got */
    int64_t recorded; /* sweeps reported recorded */
    char err[1024];
} store_ctx;

/* The failure of an armed store call must be SQLite's or ours, said, and
 * map to exit code 3 (out of memory is the environment). */
static void store_check(const store_ctx *c)
{
    if (c->rc != 0)
        ck_assert_msg(rep_store_exit_code(c->rc) == 3 && c->err[0],
                      "step %d: rc %d, exit code %d, '%s'", c->step, c->rc,
                      rep_store_exit_code(c->rc), c->err);
}

/* Opens the database read-only (quick_check, the in-memory upgrade of
 * nothing) and closes it. */
static int store_open_op(void *p, int check, int injected)
{
    store_ctx *c = p;
    if (check) {
        store_check(c);
        return 0;
    }
    rep_store *s = NULL;
    c->err[0] = '\0';
    c->step = 0;
    c->rc = rep_store_open_readonly(c->path, &s, c->err, sizeof c->err);
    rep_store_close(s);
    return c->rc;
}

/* Records a run with one sweep on the open store and reads it back. */
static int store_record_op(void *p, int check, int injected)
{
    store_ctx *c = p;
    if (check) {
        store_check(c);
        return 0;
    }
    c->err[0] = '\0';
    c->step = 1;
    int64_t run = 0;
    rep_run_meta m = {.args = "ctxsim run", .started_at = 1};
    if ((c->rc = rep_run_begin(c->s, &m, &run)) == 0 &&
        (c->step = 2, c->rc = rep_run_add_sweep(c->s, run, &c->sweep)) == 0 &&
        (c->recorded++, c->step = 3, c->rc = rep_run_finish(c->s, run, "complete")) == 0) {
        c->step = 4;
        rep_sweep *v = NULL;
        size_t n = 0;
        c->rc = rep_sweeps_load(c->s, run, REP_LOAD_SEEDS | REP_LOAD_HIST, &v, &n);
        if (c->rc == 0 && (n != 1 || v[0].r.nseeds != c->sweep.nseeds))
            ck_abort_msg("read back %zu sweeps", n);
        rep_sweeps_free(v, n);
    }
    if (c->rc != 0)
        snprintf(c->err, sizeof c->err, "%s",
                 c->rc == -ENOMEM && !rep_store_errmsg(c->s)[0] ? "out of memory"
                                                                : rep_store_errmsg(c->s));
    return c->rc;
}

START_TEST(test_alloc_sim_store)
{
    store_ctx c;
    memset(&c, 0, sizeof c);
    snprintf(c.path, sizeof c.path, "%.400s/results.db", scratch);
    ck_assert_int_eq(rep_synth_sweep(&spec, NULL, 6, &c.sweep), 0);
    c.s = fx_store_open(c.path);
    int64_t run = 0;
    rep_run_meta m = {.args = "ctxsim run", .started_at = 1};
    ck_assert_int_eq(rep_run_begin(c.s, &m, &run), 0);
    ck_assert_int_eq(rep_run_add_sweep(c.s, run, &c.sweep), 0);
    c.recorded = 1;
    rep_store_close(c.s);
    /* (first, while the database is small: quick_check reads all of it) */
    long open = alloc_loop("store: read-only open with quick_check", store_open_op, &c, 200000);
    c.s = fx_store_open_existing(c.path);
    long rec = alloc_loop("store: recording and reading back", store_record_op, &c, 200000);
    rep_store_close(c.s);
    ck_assert_int_gt(rec, 10);
    ck_assert_int_gt(open, 10);
    /* the database is intact and holds every sweep reported recorded */
    rep_store *s = NULL;
    ck_assert_int_eq(rep_store_open_readonly(c.path, &s, c.err, sizeof c.err), 0);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(
        sqlite3_prepare_v2(rep_store_db(s), "SELECT count(*) FROM scenario_results", -1, &st, NULL),
        SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int64(st, 0), c.recorded);
    sqlite3_finalize(st);
    rep_store_close(s);
    free(c.sweep.seeds);
}
END_TEST

typedef struct report_ctx {
    char db[512], dir[512];
    rep_store *s;
    int64_t run;
    int rc;
    char err[1024];
} report_ctx;

/* Loads the report's model and writes index.html and summary.md (no
 * charts: gnuplot is another process). */
static int report_op(void *p, int check, int injected)
{
    report_ctx *c = p;
    if (check) {
        if (c->rc != 0)
            ck_assert_msg(c->rc < 0 && c->err[0], "rc %d without a message", c->rc);
        return 0;
    }
    c->err[0] = '\0';
    rep_model m;
    rep_gate_decision gd;
    memset(&gd, 0, sizeof gd);
    c->rc = rep_model_load(c->s, c->run, &m);
    if (c->rc == 0) /* the verdict block's decision, as rep_cmd_report takes it */
        c->rc = rep_gate_decide(c->s, c->run, REP_GATE_DEFAULT_BASELINE, REP_GATE_DEFAULT_TOLERANCE,
                                NULL, &gd);
    if (c->rc != 0)
        snprintf(c->err, sizeof c->err, "%s",
                 c->rc == -ENOMEM ? "out of memory" : rep_store_errmsg(c->s));
    else if (rep_report_write(c->s, &m, &gd, NULL, 0, c->dir, c->err, sizeof c->err) != 0)
        c->rc = -1;
    rep_gate_decision_free(&gd);
    rep_model_free(&m); /* (zeroed by a failed load) */
    return c->rc;
}

START_TEST(test_alloc_sim_report_builder)
{
    report_ctx c;
    memset(&c, 0, sizeof c);
    snprintf(c.db, sizeof c.db, "%.400s/results.db", scratch);
    snprintf(c.dir, sizeof c.dir, "%.400s/report", scratch);
    ck_assert_int_eq(mkdir(c.dir, 0755), 0);
    rep_store *s = fx_store_open(c.db);
    rep_run_meta m = {.args = "ctxsim run", .started_at = 1};
    ck_assert_int_eq(rep_run_begin(s, &m, &c.run), 0);
    fx_add_sweep(s, c.run, &spec, NULL, 6);
    rep_synth_spec legacy = spec;
    legacy.profile = "legacy";
    fx_add_sweep(s, c.run, &legacy, NULL, 6);
    ck_assert_int_eq(rep_run_finish(s, c.run, "complete"), 0);
    rep_store_close(s);
    ck_assert_int_eq(rep_store_open_readonly(c.db, &c.s, c.err, sizeof c.err), 0);
    ck_assert_int_gt(alloc_loop("report builder", report_op, &c, 200000), 10);
    rep_store_close(c.s);
}
END_TEST

int main(void)
{
    /* SQLite's allocator: wrapped before anything initialises SQLite. */
    sqlite3_mem_methods mine;
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sq_real) != SQLITE_OK)
        return 2;
    mine = sq_real;
    mine.xMalloc = sq_malloc;
    mine.xRealloc = sq_realloc;
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &mine) != SQLITE_OK ||
        sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0) != SQLITE_OK)
        return 2;
    Suite *s = suite_create("alloc_sim");
    const struct {
        const char *name;
        const TTest *test;
    } cases[] = {{"scenario", test_alloc_sim_scenario_loader},
                 {"world", test_alloc_sim_world_seed},
                 {"store", test_alloc_sim_store},
                 {"report", test_alloc_sim_report_builder}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return fx_run_suite(s);
}
