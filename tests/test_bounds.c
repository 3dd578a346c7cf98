/*
 * test_bounds.c - bounded runs (issue 13, finding 3): a scenario too large
 * to run is refused from its cost estimate, at once and with the numbers
 * (sim/cost.h); a zero-time repeat is a load error; a loop that passes
 * both is caught by the step budget; the memory budget fails a seed
 * cleanly (sim/budget.h); SIGTERM is honoured inside a seed and leaves the
 * run `interrupted` in the database; a FIFO named *.yaml is refused, not
 * waited on.  Every wait on a child is bounded (tests/lib/spawn.h).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sim/budget.h"
#include "sim/cost.h"
#include "sim/scenario.h"
#include "sim/sweep.h"
#include "sim/world.h"
#include "tests/lib/cli_run.h"
#include "tests/lib/rep_fixture.h"
#include "tests/lib/spawn.h"

#define TIMEOUT_MS 60000

/* A scenario: name, seeds, users, then the client script (indented). */
static const char yaml_fmt[] = "version: 1\n"
                               "name: %s\n"
                               "summary: A scenario of the bounds suite.\n"
                               "seeds: %u\n"
                               "horizon: %s\n"
                               "profile: fixed\n"
                               "users: %u\n"
                               "deadline: 5s\n"
                               "network:\n"
                               "  uplink: lognormal(median=20ms, p99=250ms)\n"
                               "  downlink: lognormal(median=20ms, p99=250ms)\n"
                               "server:\n"
                               "  auth: uniform(5ms, 50ms)\n"
                               "  thread_lookup: exponential(mean=15ms)\n"
                               "  agent_start: uniform(0ms, 10ms)\n"
                               "  agent_events: [agent_started, agent_thinking, agent_completed]\n"
                               "  event_gap: exponential(mean=80ms)\n"
                               "client:\n"
                               "  - connect\n"
                               "  - authenticate\n"
                               "%s"
                               "expect:\n"
                               "  delivery_rate: 0\n";

static const char simple_client[] = "  - send: {thread: new}\n"
                                    "  - wait: 2s\n"
                                    "  - close\n";

static void setup(void)
{
    fx_tmp_setup("bounds");
}

static void write_scenario(const char *name, const char *file, unsigned seeds, unsigned users,
                           const char *horizon, const char *client, char *path, size_t len)
{
    fx_path(path, len, file);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, yaml_fmt, name, seeds, horizon, users, client);
    ck_assert_int_eq(fclose(f), 0);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)(t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Runs ctxsim ARGS (argv, NULL-terminated) in the scratch directory with
 * stdout in out.txt, stderr in err.txt; *ms (may be NULL) the wall time. */
static int ctxsim(long *ms, const char *const *args)
{
    char *argv[32], o[PATH_MAX], e[PATH_MAX];
    size_t n = 0;
    argv[n++] = (char *)cli_bin();
    for (; args[n - 1] && n < 31; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    fx_path(o, sizeof o, "out.txt");
    fx_path(e, sizeof e, "err.txt");
    /* cli_bin() is relative to the repository root, the cwd of the suite */
    pid_t p = sp_spawn(NULL, argv, o, e);
    ck_assert_int_gt(p, 0);
    return sp_wait(p, TIMEOUT_MS, ms);
}

static char *slurp_rel(const char *name)
{
    char p[PATH_MAX];
    fx_path(p, sizeof p, name);
    char *s = cli_slurp(p);
    ck_assert_msg(s != NULL, "cannot read %s", p);
    return s;
}

/* users: 10000000 (the documented maximum of the loader) is refused in
 * well under a second, without allocating, the numbers said; run records
 * nothing; --allow-large lets validate accept it. */
START_TEST(test_bounds_refuses_ten_million_users_at_once)
{
    char path[PATH_MAX], db[PATH_MAX];
    write_scenario("huge", "huge.yaml", 2, 10000000, "20s", simple_client, path, sizeof path);
    long ms = 0;
    const char *validate[] = {"validate", path, NULL};
    ck_assert_int_eq(ctxsim(&ms, validate), 2);
    char *err = slurp_rel("err.txt");
    ck_assert_msg(strstr(err, "huge.yaml:1:1: too large to run: tabs 10000000 > 1000000") &&
                      strstr(err, "bytes per seed") && strstr(err, "--allow-large"),
                  "%s", err);
    free(err);
    ck_assert_msg(ms < 1000, "validate took %ld ms to refuse", ms);
    fx_path(db, sizeof db, "huge.db");
    const char *run[] = {"run", path, "--db", db, NULL};
    ck_assert_int_eq(ctxsim(&ms, run), 2);
    ck_assert_msg(ms < 1000, "run took %ld ms to refuse", ms);
    ck_assert_msg(access(db, F_OK) != 0, "a refused run created its database");
    const char *allow[] = {"validate", "--allow-large", path, NULL};
    ck_assert_int_eq(ctxsim(NULL, allow), 0);
    /* in process: load and estimate, timed, memory unchanged */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t before = sim_budget_resident();
    sim_scenario *sc = NULL;
    sim_scenario_error e;
    ck_assert_int_eq(sim_scenario_load(path, &sc, &e), 0);
    sim_cost c;
    sim_cost_estimate(sc, 0, &c);
    char why[400];
    ck_assert_int_eq(sim_cost_check(&c, why, sizeof why), 3);
    uint64_t after = sim_budget_resident();
    long took = ms_since(&t0);
    ck_assert_msg(took < 100, "load + estimate took %ld ms", took);
    /* a few pages of the loader (more under ASan), nothing per user */
    ck_assert_msg(after < before + (8 << 20), "the estimate grew the process by %llu bytes",
                  (unsigned long long)(after - before));
    ck_assert_uint_eq(c.tabs, 10000000);
    ck_assert_uint_eq(c.seeds, 2);
    sim_scenario_free(sc);
}
END_TEST

/* The estimate's numbers follow the file: tabs, steps with repeats
 * unrolled, events from the step budget, seeds from the override. */
START_TEST(test_bounds_cost_estimate_follows_the_file)
{
    char path[PATH_MAX];
    write_scenario("est", "est.yaml", 7, 3, "20s", /* 2 + 10 x (2 + 2 x 1) + 1 = 43 steps */
                   "  - repeat:\n"
                   "      times: 10\n"
                   "      steps:\n"
                   "        - send: {thread: new}\n"
                   "        - wait: 1s\n"
                   "        - repeat: {times: 2, steps: [wait: 10ms]}\n"
                   "  - close\n",
                   path, sizeof path);
    sim_scenario *sc = NULL;
    sim_scenario_error e;
    ck_assert_msg(sim_scenario_load(path, &sc, &e) == 0, "%s", e.msg);
    sim_cost c;
    sim_cost_estimate(sc, 0, &c);
    ck_assert_uint_eq(c.tabs, 3);
    ck_assert_uint_eq(c.steps_per_tab, 43);
    ck_assert_uint_eq(c.seed_events, (sim_world_step_budget(sc, 3) - 1000000) / 16);
    ck_assert_uint_eq(c.seeds, 7);
    ck_assert_uint_eq(c.sweep_events, 7 * c.seed_events);
    ck_assert_int_eq(sim_cost_check(&c, NULL, 0), 0);
    sim_cost_estimate(sc, 1000, &c);
    ck_assert_uint_eq(c.seeds, 1000);
    ck_assert_uint_eq(c.result_bytes, 1000 * sizeof(sim_seed_result));
    char line[400];
    ck_assert_int_eq(sim_cost_format(&c, line, sizeof line), 0);
    ck_assert_msg(strstr(line, "3 tabs, 43 steps per tab"), "%s", line);
    sim_scenario_free(sc);
    /* clients_per_user counts at its upper end, clamped to 64 */
    write_scenario("tabs", "tabs.yaml", 1, 1000, "20s", simple_client, path, sizeof path);
    FILE *f = fopen(path, "a");
    fputs("clients_per_user: 100\n", f);
    fclose(f);
    ck_assert_int_eq(sim_scenario_load(path, &sc, &e), -1); /* the loader refuses 100 */
    write_scenario("tabs", "tabs.yaml", 1, 100000, "20s", simple_client, path, sizeof path);
    f = fopen(path, "a");
    fputs("clients_per_user: uniform(1, 30)\n", f);
    fclose(f);
    ck_assert_msg(sim_scenario_load(path, &sc, &e) == 0, "%s", e.msg);
    sim_cost_estimate(sc, 0, &c);
    ck_assert_uint_eq(c.tabs, 100000 * 30);
    char why[400];
    ck_assert_int_eq(sim_cost_check(&c, why, sizeof why), 3);
    ck_assert_msg(strstr(why, "tabs 3000000 > 1000000"), "%s", why);
    sim_scenario_free(sc);
}
END_TEST

/* A repeat of waits of 0 (nested too) is a load error at its line and
 * column; a repeat that sends, or waits, is not. */
START_TEST(test_bounds_zero_time_repeat_is_an_error)
{
    static const struct {
        const char *client;
        int bad, line;
    } cases[] = {
        {"  - repeat: {times: 1000000, steps: [wait: 0ms]}\n", 1, 21},
        {"  - repeat:\n"
         "      times: 1000000\n"
         "      steps:\n"
         "        - repeat: {times: 1000000, steps: [wait: 0ms, wait: 0s]}\n",
         1, 24},
        {"  - repeat: {times: 5, steps: [wait: const(0ms)]}\n", 1, 21},
        {"  - repeat: {times: 5, steps: [wait: 1ms]}\n", 0, 0},
        {"  - repeat:\n      times: 5\n      steps:\n        - wait: uniform(0ms, 2ms)\n", 0, 0},
        {"  - repeat: {times: 5, steps: [wait: 0ms, switch: {thread: same}]}\n", 0, 0},
        {"  - repeat: {times: 5, steps: [repeat: {times: 2, steps: [wait: 1ms]}]}\n", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[PATH_MAX];
        write_scenario("zt", "zt.yaml", 1, 1, "10s", cases[i].client, path, sizeof path);
        sim_scenario *sc = NULL;
        sim_scenario_error e;
        int rc = sim_scenario_load(path, &sc, &e);
        if (!cases[i].bad) {
            ck_assert_msg(rc == 0, "case %zu: %s", i, e.msg);
            sim_scenario_free(sc);
            continue;
        }
        ck_assert_msg(rc == -1, "case %zu loads", i);
        ck_assert_msg(strstr(e.msg, "neither advance time nor send anything"), "%zu: %s", i, e.msg);
        ck_assert_int_eq(e.line, cases[i].line);
        ck_assert_int_gt(e.col, 0);
        long ms = 0;
        const char *validate[] = {"validate", path, NULL};
        ck_assert_int_eq(ctxsim(&ms, validate), 2);
        ck_assert_msg(ms < 1000, "refused after %ld ms", ms);
        char *err = slurp_rel("err.txt");
        char want[PATH_MAX + 32];
        snprintf(want, sizeof want, "%s:%d:%d: repeat:", path, e.line, e.col);
        ck_assert_msg(strstr(err, want), "%s", err);
        free(err);
    }
}
END_TEST

/* Nested repeats of `switch: {thread: same}` (1e12 steps at one instant)
 * are refused by the estimate; let through, the step budget ends the seed
 * as a livelock, quickly and cleanly. */
START_TEST(test_bounds_nested_switch_loop_refused_or_caught)
{
    char path[PATH_MAX];
    write_scenario("spin", "spin.yaml", 1, 1, "10s",
                   "  - send: {thread: new}\n"
                   "  - repeat:\n"
                   "      times: 1000000\n"
                   "      steps:\n"
                   "        - repeat: {times: 1000000, steps: [switch: {thread: same}]}\n",
                   path, sizeof path);
    long ms = 0;
    const char *validate[] = {"validate", path, NULL};
    ck_assert_int_eq(ctxsim(&ms, validate), 2);
    char *err = slurp_rel("err.txt");
    ck_assert_msg(strstr(err, "steps per tab 1000000000003 > 10000000"), "%s", err);
    free(err);
    const char *run[] = {"run", path, "--no-db", "--allow-large", "--max-steps", "200000", NULL};
    ck_assert_int_eq(ctxsim(&ms, run), 1);
    char *out = slurp_rel("out.txt");
    ck_assert_msg(strstr(out, "livelock: step budget of 200000 exhausted"), "%s", out);
    /* its replay line repeats what it needs */
    ck_assert_msg(strstr(out, "--max-steps 200000 --allow-large"), "%s", out);
    free(out);
    ck_assert_msg(ms < 10000, "the livelock took %ld ms to catch", ms);
}
END_TEST

/* A FIFO named *.yaml (nobody writing) is refused at once by validate,
 * run and replay, alone or in a directory; so is a device. */
START_TEST(test_bounds_fifo_is_refused_not_waited_on)
{
    char fifo[PATH_MAX], dir[PATH_MAX];
    fx_path(dir, sizeof dir, "d");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    fx_path(fifo, sizeof fifo, "d/x.yaml");
    ck_assert_int_eq(mkfifo(fifo, 0644), 0);
    const char *cmds[][6] = {{"validate", fifo, NULL},
                             {"run", fifo, "--no-db", NULL},
                             {"run", dir, "--no-db", NULL},
                             {"replay", fifo, "--seed", "1", NULL},
                             {"validate", "/dev/null", NULL}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        long ms = 0;
        int rc = ctxsim(&ms, cmds[i]);
        ck_assert_msg(rc == 2, "%s %s: exit %d after %ld ms", cmds[i][0], cmds[i][1], rc, ms);
        ck_assert_msg(ms < 5000, "%s took %ld ms", cmds[i][0], ms);
        char *err = slurp_rel("err.txt");
        ck_assert_msg(strstr(err, i == 4 ? "a character device, not a regular file"
                                         : "x.yaml: cannot read: a FIFO, not a regular file"),
                      "%s", err);
        free(err);
    }
    sim_scenario *sc = NULL;
    sim_scenario_error e;
    ck_assert_int_eq(sim_scenario_load(fifo, &sc, &e), -1);
    ck_assert_str_eq(e.msg, "cannot read: a FIFO, not a regular file");
}
END_TEST

/* --max-memory: a seed whose process holds more fails with an error
 * verdict saying so, the run goes on and is recorded complete. */
START_TEST(test_bounds_memory_budget_fails_the_seed_cleanly)
{
    char small[PATH_MAX], big[PATH_MAX], db[PATH_MAX];
    write_scenario("small", "small.yaml", 2, 2, "20s", simple_client, small, sizeof small);
    write_scenario("big", "big.yaml", 1, 60000, "20s", simple_client, big, sizeof big);
    fx_path(db, sizeof db, "m.db");
    long ms = 0;
    const char *run[] = {"run", small, big, "--db", db, "--max-memory", "150M", NULL};
    ck_assert_int_eq(ctxsim(&ms, run), 1);
    char *out = slurp_rel("out.txt");
    ck_assert_msg(strstr(out, "memory budget exceeded: setting up 60000 tabs takes about "
                              "234.4 MiB") &&
                      strstr(out, "the budget is 150.0 MiB (--max-memory)"),
                  "%s", out);
    ck_assert_msg(strstr(out, "recorded as run 1") && strstr(out, "(complete)"), "%s", out);
    free(out);
    sqlite3 *h = NULL;
    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(h,
                                        "SELECT count(*) FROM seed_results WHERE errors = 1 AND "
                                        "reason LIKE '%memory budget exceeded%'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(h);
    /* bad sizes are bad usage */
    const char *bad[] = {"run", small, "--no-db", "--max-memory", "lots", NULL};
    ck_assert_int_eq(ctxsim(NULL, bad), 2);
    /* the size syntax */
    uint64_t b = 0;
    ck_assert_int_eq(sim_budget_parse_size("512M", &b), 0);
    ck_assert_uint_eq(b, UINT64_C(512) << 20);
    ck_assert_int_eq(sim_budget_parse_size("1.5GiB", &b), 0);
    ck_assert_uint_eq(b, UINT64_C(3) << 29);
    ck_assert_int_eq(sim_budget_parse_size("4096", &b), 0);
    ck_assert_uint_eq(b, 4096);
    ck_assert_int_eq(sim_budget_parse_size("0", &b), 0);
    ck_assert_uint_eq(b, 0);
    ck_assert_int_eq(sim_budget_parse_size("50%", &b), 0);
    ck_assert_uint_gt(b, 0);
    ck_assert_int_eq(sim_budget_parse_size("-1G", &b), -1);
    ck_assert_int_eq(sim_budget_parse_size("12X", &b), -1);
    ck_assert_int_eq(sim_budget_parse_size("200%", &b), -1);
    uint64_t d = sim_budget_default_memory();
    ck_assert_uint_gt(d, 0);
    ck_assert_uint_le(d, b); /* at most half of the machine */
}
END_TEST

/* A seed that grows past the budget while it runs (here its kept trace)
 * stops at the next check with an error saying so. */
START_TEST(test_bounds_memory_budget_checked_while_running)
{
    char path[PATH_MAX];
    write_scenario("grow", "grow.yaml", 1, 500, "200s",
                   "  - send: {thread: new}\n"
                   "  - repeat: {times: 100, steps: [send: {thread: same}, wait: 1s]}\n"
                   "  - close\n",
                   path, sizeof path);
    sim_scenario *sc = NULL;
    sim_scenario_error e;
    ck_assert_int_eq(sim_scenario_load(path, &sc, &e), 0);
    cr_policy pol;
    ck_assert_int_eq(sim_scenario_policy(sc, -1, &pol), 0);
    sim_budget_set_memory(sim_budget_resident() + (UINT64_C(32) << 20));
    sim_world_opts wo = {.seed = 1, .keep_trace = 1};
    sim_seed_result *r = calloc(1, sizeof *r);
    sim_trace *tr = NULL;
    ck_assert_int_eq(sim_world_run(sc, &pol, &wo, r, &tr), -1);
    ck_assert_msg(strstr(r->reason, "memory budget exceeded: resident memory") &&
                      strstr(r->reason, "(--max-memory) after"),
                  "%s", r->reason);
    ck_assert_int_eq(r->c[SIM_COUNT_ERRORS], 1);
    ck_assert_uint_gt(r->events, 0);
    ck_assert_uint_eq(r->events % SIM_BUDGET_CHECK_EVERY, 0); /* stopped at a check */
    sim_trace_free(tr);
    free(r);
    sim_scenario_free(sc);
}
END_TEST

/* Stopped before it starts (the flag a signal handler sets), a seed ends
 * at its first check, saying why; a run within its bounds is untouched. */
START_TEST(test_bounds_stop_request_ends_the_seed)
{
    char path[PATH_MAX];
    write_scenario("stopme", "stop.yaml", 1, 5, "20s", simple_client, path, sizeof path);
    sim_scenario *sc = NULL;
    sim_scenario_error e;
    ck_assert_int_eq(sim_scenario_load(path, &sc, &e), 0);
    cr_policy pol;
    ck_assert_int_eq(sim_scenario_policy(sc, -1, &pol), 0);
    sim_world_opts wo = {.seed = 1};
    sim_seed_result *r = calloc(2, sizeof *r);
    sim_budget_set_memory(0);
    ck_assert_int_eq(sim_world_run(sc, &pol, &wo, &r[0], NULL), 0);
    ck_assert_int_eq(r[0].c[SIM_COUNT_ERRORS], 0);
    ck_assert_uint_gt(r[0].events, 0);
    sim_budget_stop(SIGTERM);
    ck_assert_int_eq(sim_budget_stopped(), SIGTERM);
    ck_assert_int_eq(sim_world_run(sc, &pol, &wo, &r[1], NULL), -1);
    ck_assert_msg(strstr(r[1].reason, "interrupted by signal 15 after 0 events"), "%s",
                  r[1].reason);
    ck_assert_int_eq(r[1].c[SIM_COUNT_ERRORS], 1);
    /* a sweep stops too, with nothing to judge */
    sim_sweep_opts so = {.profile = -1, .jobs = 1};
    sim_sweep_result sr;
    char err[256];
    ck_assert_int_eq(sim_sweep_run(sc, &so, &sr, err, sizeof err), -1);
    ck_assert_str_eq(err, "interrupted by signal 15");
    ck_assert_ptr_null(sr.seeds);
    free(r);
    sim_scenario_free(sc);
}
END_TEST

/* Reads the child's stdout until a line starts with `prefix` (bounded by
 * timeout_ms); 1 found, 0 not. */
static int wait_for_line(int fd, const char *prefix, int timeout_ms)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char buf[8192];
    size_t n = 0;
    for (;;) {
        long left = timeout_ms - ms_since(&t0);
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            return 0;
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            return 0;
        n += (size_t)r;
        buf[n] = '\0';
        for (const char *p = buf; p; p = strchr(p, '\n')) {
            p += *p == '\n';
            if (strncmp(p, prefix, strlen(prefix)) == 0)
                return 1;
        }
        if (n > sizeof buf / 2) { /* keep the tail */
            memmove(buf, buf + n - 256, 256);
            n = 256;
        }
    }
}

/* SIGTERM in the middle of a long seed: the process exits 143 within a
 * bound, the finished scenario is recorded and the run is marked
 * interrupted; with --jobs 2 the workers end too (stdout reaches EOF). */
static void sigterm_case(const char *jobs)
{
    char quick[PATH_MAX], slow[PATH_MAX], db[PATH_MAX];
    write_scenario("quick", "quick.yaml", 2, 2, "20s", simple_client, quick, sizeof quick);
    /* about a minute of engine work per seed: 10000 tabs x 200 rounds */
    write_scenario("slow", "slow.yaml", 2, 10000, "400s",
                   "  - send: {thread: new}\n"
                   "  - repeat: {times: 200, steps: [send: {thread: same}, wait: 1s]}\n"
                   "  - close\n",
                   slow, sizeof slow);
    fx_path(db, sizeof db, "t.db");
    unlink(db);
    int fd[2];
    ck_assert_int_eq(pipe(fd), 0);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL); /* for sp_wait */
    fflush(NULL);
    pid_t p = fork();
    ck_assert_int_ge(p, 0);
    if (p == 0) {
        sigprocmask(SIG_UNBLOCK, &chld, NULL);
        close(fd[0]);
        dup2(fd[1], 1);
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 2);
        execl(cli_bin(), cli_bin(), "run", quick, slow, "--db", db, "--jobs", jobs, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    /* the bounded event: quick's row is printed, slow has begun */
    ck_assert_msg(wait_for_line(fd[0], "quick ", TIMEOUT_MS), "the run never finished quick");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(kill(p, SIGTERM), 0);
    int rc = sp_wait(p, 10000, NULL);
    long ms = ms_since(&t0);
    ck_assert_msg(rc == 128 + SIGTERM, "exit %d after SIGTERM", rc);
    ck_assert_msg(ms < 3000, "exited %ld ms after SIGTERM", ms);
    /* every process holding stdout (the workers) has ended */
    char c;
    struct pollfd pf = {.fd = fd[0], .events = POLLIN};
    while (poll(&pf, 1, 5000) == 1 && read(fd[0], &c, 1) == 1)
        ;
    ck_assert_msg(poll(&pf, 1, 0) == 1 && read(fd[0], &c, 1) == 0, "a worker outlived the run");
    close(fd[0]);
    sqlite3 *h = NULL;
    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(h,
                                        "SELECT status, (SELECT group_concat(scenario) FROM "
                                        "scenario_results) FROM runs",
                                        -1, &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "interrupted");
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 1), "quick");
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(h);
}

START_TEST(test_bounds_sigterm_inside_a_seed)
{
    sigterm_case("1");
}
END_TEST

START_TEST(test_bounds_sigterm_inside_a_seed_with_workers)
{
    sigterm_case("2");
}
END_TEST

static Suite *bounds_suite(void)
{
    Suite *s = suite_create("bounds");
    TCase *tc = tcase_create("bounds");
    tcase_add_checked_fixture(tc, setup, fx_tmp_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bounds_refuses_ten_million_users_at_once);
    tcase_add_test(tc, test_bounds_cost_estimate_follows_the_file);
    tcase_add_test(tc, test_bounds_zero_time_repeat_is_an_error);
    tcase_add_test(tc, test_bounds_nested_switch_loop_refused_or_caught);
    tcase_add_test(tc, test_bounds_fifo_is_refused_not_waited_on);
    tcase_add_test(tc, test_bounds_memory_budget_fails_the_seed_cleanly);
    tcase_add_test(tc, test_bounds_memory_budget_checked_while_running);
    tcase_add_test(tc, test_bounds_stop_request_ends_the_seed);
    tcase_add_test(tc, test_bounds_sigterm_inside_a_seed);
    tcase_add_test(tc, test_bounds_sigterm_inside_a_seed_with_workers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(bounds_suite());
}
