/*
 * bench_scenarios.c - what a simulated event costs, against the bare-heap
 * floor measured in the same run at the same number of pending events,
 * with every target of DESIGN.md section 9 printed beside its figure
 * (met / missed).
 *
 * A benchmark, not a test (run by `make bench`; BENCH_ONLY=a,b picks
 * sections: scenarios, suite, scaling, peer).  Prints:
 *  - per suite scenario (fixed profile, 20 seeds): events, ns/event with
 *    trace hashing and with --no-trace (best of two alternated rounds),
 *    events/s, seeds/s, the mean pending events, the floor at that depth
 *    and both ratios (targets: 3x hashed, 2x --no-trace);
 *  - the whole CI suite, fixed and legacy, every seed, 2 workers: seeds/s
 *    and wall time, hashed and --no-trace (target: under 10 s);
 *  - cost per event, wall time, peak RSS and bytes per connection by
 *    component (core through its allocator, engine, oracle, the rest of
 *    the heap: world, trace and malloc's overhead) as connections grow
 *    from 1e2 to 1e6 (one seed each, each size in its own process so peak
 *    RSS is its own); ns/event at 1e6 against 1e4 (target 2x) and the 1e6
 *    seed's RSS, time and verdict (targets 1.5 GiB, 60 s, pass);
 *  - the ratio against a SimPy model of the same workload (tests/peers/:
 *    workload.yaml and simpy_peer.py, Debian's python3-simpy3; skipped with a
 *    message when absent): CPU time per delivered event, runs alternated
 *    (target 15x).
 * Wall-clock time is read for the measurement only.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/scenario.h"
#include "sim/sweep.h"
#include "sim/world.h"
#include "tests/lib/floor.h"

#define SEEDS_PER_SCENARIO 20

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t list_scenarios(char ***out)
{
    DIR *d = opendir("scenarios");
    char **v = NULL;
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".yaml"))
            continue;
        char **q = realloc(v, (n + 1) * sizeof(char *));
        if (!q)
            break;
        v = q;
        v[n] = malloc(l + 12);
        if (!v[n])
            break;
        snprintf(v[n], l + 12, "scenarios/%s", de->d_name);
        n++;
    }
    if (d)
        closedir(d);
    qsort(v, n, sizeof(char *), cmp_str);
    *out = v;
    return n;
}

/* verdict: "met" or "MISSED" for a figure against its target. */
static const char *verdict(int met)
{
    return met ? "met" : "MISSED";
}

/* run_seeds runs seeds 1..SEEDS_PER_SCENARIO of sc (fixed profile) and
 * returns the wall ns per event; *events and *pending (the mean pending
 * events) as measured. */
static double run_seeds(const sim_scenario *sc, const cr_policy *pol, int no_trace,
                        uint64_t *events, size_t *pending, double *wall_ns)
{
    sim_seed_result *res = calloc(1, sizeof(*res));
    uint64_t ev = 0, qsum = 0;
    double t0 = bench_now_ns();
    for (uint64_t s = 1; s <= SEEDS_PER_SCENARIO && res; s++) {
        sim_world_opts o = {.seed = s, .no_trace = no_trace};
        sim_world_run(sc, pol, &o, res, NULL);
        ev += res->events;
        qsum += res->queue_mean * res->events;
    }
    *wall_ns = bench_now_ns() - t0;
    free(res);
    *events = ev;
    *pending = ev ? (size_t)(qsum / ev) : 1;
    return *wall_ns / (double)(ev ? ev : 1);
}

static void per_scenario(char **paths, size_t n)
{
    printf("\nsuite scenarios, fixed, %d seeds each; ns per event with trace hashing (hash) and "
           "with --no-trace (none),\nagainst the floor (a bare binary heap at the same mean "
           "pending depth, measured here); targets: hash <= 3x, none <= 2x\n",
           SEEDS_PER_SCENARIO);
    printf("%-26s %8s %7s %8s %8s %9s %8s %7s %7s %8s %8s\n", "scenario", "events", "pending",
           "floor ns", "hash ns", "none ns", "events/s", "seeds/s", "hash x", "none x", "targets");
    int met_h = 0, met_n = 0, rows = 0;
    double worst_h = 0, worst_n = 0;
    for (size_t i = 0; i < n; i++) {
        sim_scenario *sc;
        sim_scenario_error err;
        if (sim_scenario_load(paths[i], &sc, &err) != 0)
            continue;
        cr_policy pol;
        sim_scenario_policy(sc, CR_PROFILE_FIXED, &pol);
        double h = -1, nt = -1, wall_h = 0, w;
        uint64_t events = 0;
        size_t pending = 1;
        for (int round = 0; round < 2; round++) { /* alternated, best of two */
            double x = run_seeds(sc, &pol, 0, &events, &pending, &w);
            if (h < 0 || x < h) {
                h = x;
                wall_h = w;
            }
            x = run_seeds(sc, &pol, 1, &events, &pending, &w);
            if (nt < 0 || x < nt)
                nt = x;
        }
        double fl = bench_floor_ns(pending, 2000000, 3);
        double rh = h / fl, rn = nt / fl;
        met_h += rh <= 3.0;
        met_n += rn <= 2.0;
        worst_h = rh > worst_h ? rh : worst_h;
        worst_n = rn > worst_n ? rn : worst_n;
        rows++;
        printf("%-26.26s %8" PRIu64 " %7zu %8.1f %8.1f %9.1f %7.2fM %7.0f %6.1fx %7.1fx %4s/%s\n",
               sc->name, events, pending, fl, h, nt, 1e3 / h, SEEDS_PER_SCENARIO / (wall_h / 1e9),
               rh, rn, rh <= 3.0 ? "met" : "miss", rn <= 2.0 ? "met" : "miss");
        fflush(stdout);
        sim_scenario_free(sc);
    }
    printf("target hash <= 3x floor: %s (%d of %d scenarios; worst %.1fx)\n",
           verdict(met_h == rows), met_h, rows, worst_h);
    printf("target --no-trace <= 2x floor: %s (%d of %d scenarios; worst %.1fx)\n",
           verdict(met_n == rows), met_n, rows, worst_n);
}

static void suite(char **paths, size_t n)
{
    printf("\n");
    for (int no_trace = 0; no_trace <= 1; no_trace++) {
        uint64_t seeds = 0;
        double t0 = bench_now_ns();
        for (int p = 0; p < 2; p++)
            for (size_t i = 0; i < n; i++) {
                sim_scenario *sc;
                sim_scenario_error err;
                if (sim_scenario_load(paths[i], &sc, &err) != 0)
                    continue;
                sim_sweep_opts o = {.profile = p ? CR_PROFILE_LEGACY : CR_PROFILE_FIXED,
                                    .jobs = 2,
                                    .no_trace = no_trace};
                sim_sweep_result r;
                char e[256];
                if (sim_sweep_run(sc, &o, &r, e, sizeof(e)) == 0)
                    seeds += r.nseeds;
                sim_sweep_result_free(&r);
                sim_scenario_free(sc);
            }
        double s = (bench_now_ns() - t0) / 1e9;
        printf("CI suite, fixed + legacy, every seed, 2 workers, %-10s %" PRIu64
               " seeds in %5.2f s = %5.0f seeds/s (target: under 10 s: %s)\n",
               no_trace ? "--no-trace:" : "hashed:", seeds, s, (double)seeds / s,
               verdict(s < 10.0));
        fflush(stdout);
    }
}

static const char scale_yaml[] =
    "version: 1\nname: scale\nsummary: scaling\nseeds: 1\nhorizon: 60s\nusers: %lu\n"
    "network:\n  uplink: lognormal(median=20ms, p99=250ms)\n"
    "  downlink: lognormal(median=20ms, p99=250ms)\n"
    "server:\n  auth: uniform(5ms, 50ms)\n  thread_lookup: exponential(mean=15ms)\n"
    "  agent_start: uniform(0ms, 10ms)\n  event_gap: exponential(mean=80ms)\n"
    "client:\n  - wait: uniform(0s, 10s)\n  - connect\n  - authenticate\n"
    "  - send: {thread: new}\n  - wait: 3s\n  - close\n";

/* One size of the scaling table, measured in a child process. */
typedef struct scale_row {
    int ok;
    unsigned long users;
    uint64_t events;
    double ns, wall_s;
    long rss_kib;
    int pass;
    sim_mem_use mem;
    char reason[120];
} scale_row;

/* scale_child runs one seed of `users` connections and fills *r. */
static void scale_child(unsigned long users, scale_row *r)
{
    char text[1024];
    int len = snprintf(text, sizeof(text), scale_yaml, users);
    sim_scenario *sc;
    sim_scenario_error err;
    r->users = users;
    if (sim_scenario_load_string("scale.yaml", text, (size_t)len, &sc, &err) != 0)
        return;
    cr_policy pol;
    sim_scenario_policy(sc, CR_PROFILE_FIXED, &pol);
    sim_seed_result *res = calloc(1, sizeof(*res));
    if (!res)
        return;
    sim_world_opts o = {.seed = 1};
    double t0 = bench_now_ns();
    sim_world_run(sc, &pol, &o, res, NULL);
    double t = bench_now_ns() - t0;
    sim_seed_judge(sc, res);
    r->ok = 1;
    r->events = res->events;
    r->ns = t / (double)(res->events ? res->events : 1);
    r->wall_s = t / 1e9;
    r->rss_kib = bench_peak_rss_kib();
    r->pass = res->pass;
    r->mem = res->mem;
    snprintf(r->reason, sizeof r->reason, "%.119s", res->reason);
    free(res);
    sim_scenario_free(sc);
}

static void scaling(void)
{
    printf("\nscaling: one seed of N connections (connect within 10 s, one message, close 3 s "
           "later); bytes per connection:\n"
           "core = its peak through the allocator, engine and oracle = their arrays, rest = the "
           "heap in use at the end minus those\n(world, trace, malloc overhead), RSS = peak "
           "resident set of the process\n");
    printf("%-11s %10s %8s %9s %8s %10s %8s %7s %7s %7s %7s %s\n", "connections", "events",
           "ns/event", "events/s", "wall s", "peak RSS", "RSS/conn", "core", "engine", "oracle",
           "rest", "verdict");
    scale_row rows[5];
    memset(rows, 0, sizeof rows);
    int k = 0;
    /* BENCH_SCALING_MAX=100000 stops the table at that size (to iterate quickly). */
    const char *cap = getenv("BENCH_SCALING_MAX");
    unsigned long max = cap ? strtoul(cap, NULL, 10) : 1000000;
    for (unsigned long users = 100; users <= max && users <= 1000000; users *= 10, k++) {
        int fd[2];
        if (pipe(fd) != 0)
            return;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            close(fd[0]);
            scale_row r;
            memset(&r, 0, sizeof r);
            scale_child(users, &r);
            if (write(fd[1], &r, sizeof r) != (ssize_t)sizeof r)
                _exit(1);
            _exit(0);
        }
        close(fd[1]);
        scale_row *r = &rows[k];
        ssize_t got = read(fd[0], r, sizeof *r);
        close(fd[0]);
        waitpid(pid, NULL, 0);
        if (got != (ssize_t)sizeof *r || !r->ok) {
            printf("%-11lu failed to run\n", users);
            r->ok = 0;
            continue;
        }
        double u = (double)users;
        uint64_t known = r->mem.core_peak + r->mem.engine + r->mem.oracle;
        double rest = r->mem.heap > known ? (double)(r->mem.heap - known) : 0;
        printf("%-11lu %10" PRIu64 " %8.1f %8.2fM %8.2f %6.1f MiB %8.0f %7.0f %7.0f %7.0f %7.0f "
               "%s%s%.80s\n",
               users, r->events, r->ns, 1e3 / r->ns, r->wall_s, r->rss_kib / 1024.0,
               r->rss_kib * 1024.0 / u, (double)r->mem.core_peak / u, (double)r->mem.engine / u,
               (double)r->mem.oracle / u, rest / u, r->pass ? "pass" : "FAIL", r->pass ? "" : ": ",
               r->pass ? "" : r->reason);
        fflush(stdout);
    }
    const scale_row *r4 = &rows[2], *r6 = &rows[4];
    if (r4->ok && r6->ok) {
        double g = r6->ns / r4->ns;
        printf("target ns/event at 1e6 <= 2x 1e4: %s (%.1f / %.1f ns = %.2fx)\n", verdict(g <= 2.0),
               r6->ns, r4->ns, g);
    }
    if (r6->ok) {
        double gib = r6->rss_kib / 1048576.0;
        printf("target 1e6 connections in one seed <= 1.5 GiB: %s (%.2f GiB peak RSS)\n",
               verdict(gib <= 1.5), gib);
        printf("target 1e6 connections in one seed <= 60 s: %s (%.1f s)\n",
               verdict(r6->wall_s <= 60.0), r6->wall_s);
        printf("target 1e6 connections passing its verdict: %s%s%.120s\n", verdict(r6->pass),
               r6->pass ? "" : ": ", r6->pass ? "" : r6->reason);
    }
}

#define PEER_ROUNDS 3
#define PEER_PY     "/usr/bin/python3"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* peer_ctxsim runs the peer workload's seeds in this process: CPU ns per
 * delivered event (0 on error). */
static double peer_ctxsim(const sim_scenario *sc, uint64_t *delivered)
{
    cr_policy pol;
    sim_scenario_policy(sc, CR_PROFILE_FIXED, &pol);
    sim_seed_result *res = calloc(1, sizeof(*res));
    if (!res)
        return 0;
    *delivered = 0;
    double t0 = bench_cpu_ns();
    for (uint64_t s = 1; s <= sc->seeds; s++) {
        sim_world_opts o = {.seed = s};
        sim_world_run(sc, &pol, &o, res, NULL);
        *delivered += res->c[SIM_COUNT_DELIVERED];
    }
    double ns = bench_cpu_ns() - t0;
    free(res);
    return *delivered ? ns / (double)*delivered : 0;
}

/* peer_simpy runs the SimPy model once: its CPU ns per delivered event (0
 * when it could not run). */
static double peer_simpy(uint32_t seeds, uint32_t users, uint64_t *delivered)
{
    char cmd[256], line[256] = "";
    snprintf(cmd, sizeof cmd, PEER_PY " tests/peers/simpy_peer.py --seeds %u --users %u", seeds,
             users);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    if (!fgets(line, sizeof line, p))
        line[0] = 0;
    int rc = pclose(p);
    unsigned long long d = 0, e = 0;
    unsigned s = 0, u = 0;
    double sec = 0;
    if (rc != 0 ||
        sscanf(line, "seeds %u users %u delivered %llu expected %llu seconds %lf", &s, &u, &d, &e,
               &sec) != 5 ||
        !d)
        return 0;
    *delivered = d;
    return sec * 1e9 / (double)d;
}

static void peer(void)
{
    printf("\nSimPy peer (tests/peers/workload.yaml: message_before_thread, one message per "
           "client):\n");
    if (system(PEER_PY " -c 'import simpy' 2>/dev/null") != 0) {
        printf("  skipped: no SimPy 3 for " PEER_PY " (apt-get install python3-simpy3)\n");
        return;
    }
    sim_scenario *sc;
    sim_scenario_error err;
    if (sim_scenario_load("tests/peers/workload.yaml", &sc, &err) != 0) {
        printf("  skipped: tests/peers/workload.yaml: %s\n", err.msg);
        return;
    }
    double c[PEER_ROUNDS], py[PEER_ROUNDS];
    uint64_t dc = 0, dp = 0;
    for (int r = 0; r < PEER_ROUNDS; r++) { /* alternated: the machine's drift hits both */
        c[r] = peer_ctxsim(sc, &dc);
        py[r] = peer_simpy(sc->seeds, sc->users, &dp);
        if (!c[r] || !py[r]) {
            printf("  failed: a side did not run (ctxsim %.1f, SimPy %.1f ns)\n", c[r], py[r]);
            sim_scenario_free(sc);
            return;
        }
    }
    qsort(c, PEER_ROUNDS, sizeof c[0], cmp_double);
    qsort(py, PEER_ROUNDS, sizeof py[0], cmp_double);
    double mc = c[PEER_ROUNDS / 2], mp = py[PEER_ROUNDS / 2];
    printf("  %-8s %6u seeds x %u users: %9" PRIu64 " delivered, %9.1f CPU ns per delivered "
           "event (median of %d)\n",
           "ctxsim", sc->seeds, sc->users, dc, mc, PEER_ROUNDS);
    printf("  %-8s %6u seeds x %u users: %9" PRIu64 " delivered, %9.1f CPU ns per delivered "
           "event (median of %d)\n",
           "SimPy", sc->seeds, sc->users, dp, mp, PEER_ROUNDS);
    printf("  ratio: ctxsim is %.1fx faster per delivered event, while running the real core,\n"
           "  the oracle and the trace hash on every event\n",
           mp / mc);
    printf("target >= 15x SimPy per delivered event: %s (%.1fx)\n", verdict(mp / mc >= 15.0),
           mp / mc);
    sim_scenario_free(sc);
}

/* want: is section `name` asked for?  BENCH_ONLY=a,b selects sections
 * (scenarios, suite, scaling, peer); unset: every one. */
static int want(const char *name)
{
    const char *only = getenv("BENCH_ONLY");
    if (!only || !*only)
        return 1;
    size_t n = strlen(name);
    for (const char *p = only; (p = strstr(p, name)) != NULL; p += n)
        if ((p == only || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
            return 1;
    return 0;
}

int main(void)
{
    bench_machine();
    char **paths;
    size_t n = list_scenarios(&paths);
    if (want("scenarios"))
        per_scenario(paths, n);
    if (want("suite"))
        suite(paths, n);
    if (want("scaling"))
        scaling();
    if (want("peer"))
        peer();
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    return 0;
}
