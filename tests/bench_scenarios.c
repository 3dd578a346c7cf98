/*
 * bench_scenarios.c - what a simulated event costs, against the bare-heap
 * floor measured in the same run at the same number of pending events.
 *
 * A benchmark, not a test (run by `make bench`).  Prints:
 *  - per suite scenario (fixed profile, trace hashed as in every run):
 *    ns/event, events/s, the mean pending events, the floor at that depth
 *    and the ratio;
 *  - the whole CI suite, fixed and legacy, every seed, 2 workers: seeds/s
 *    and wall time;
 *  - cost per event and peak RSS as simulated connections grow from 1e2 to
 *    1e6 (one seed each, each size in its own process so peak RSS is its own);
 *  - the ratio against a SimPy model of the same workload (tests/peers/:
 *    workload.yaml and simpy_peer.py, Debian's python3-simpy3; skipped with a
 *    message when absent): CPU time per delivered event, runs alternated.
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

static void per_scenario(char **paths, size_t n)
{
    printf("\n%-28s %10s %9s %12s %8s %10s %7s\n", "scenario (fixed, 20 seeds)", "events",
           "ns/event", "events/s", "pending", "floor ns", "ratio");
    for (size_t i = 0; i < n; i++) {
        sim_scenario *sc;
        sim_scenario_error err;
        if (sim_scenario_load(paths[i], &sc, &err) != 0)
            continue;
        cr_policy pol;
        sim_scenario_policy(sc, CR_PROFILE_FIXED, &pol);
        sim_seed_result *res = calloc(1, sizeof(*res));
        uint64_t events = 0, qsum = 0;
        double t0 = bench_now_ns();
        for (uint64_t s = 1; s <= SEEDS_PER_SCENARIO && res; s++) {
            sim_world_opts o = {.seed = s};
            sim_world_run(sc, &pol, &o, res, NULL);
            events += res->events;
            qsum += res->queue_mean * res->events;
        }
        double ns = (bench_now_ns() - t0) / (double)(events ? events : 1);
        size_t pending = events ? (size_t)(qsum / events) : 1;
        double fl = bench_floor_ns(pending, 2000000, 3);
        printf("%-28s %10" PRIu64 " %9.1f %11.2fM %8zu %10.1f %6.1fx\n", sc->name, events, ns,
               1e3 / ns, pending, fl, ns / fl);
        free(res);
        sim_scenario_free(sc);
    }
}

static void suite(char **paths, size_t n)
{
    uint64_t seeds = 0;
    double t0 = bench_now_ns();
    for (int p = 0; p < 2; p++)
        for (size_t i = 0; i < n; i++) {
            sim_scenario *sc;
            sim_scenario_error err;
            if (sim_scenario_load(paths[i], &sc, &err) != 0)
                continue;
            sim_sweep_opts o = {.profile = p ? CR_PROFILE_LEGACY : CR_PROFILE_FIXED, .jobs = 2};
            sim_sweep_result r;
            char e[256];
            if (sim_sweep_run(sc, &o, &r, e, sizeof(e)) == 0)
                seeds += r.nseeds;
            sim_sweep_result_free(&r);
            sim_scenario_free(sc);
        }
    double s = (bench_now_ns() - t0) / 1e9;
    printf("\nCI suite, fixed + legacy, every seed, 2 workers: %" PRIu64 " seeds in %.2f s = %.0f "
           "seeds/s (target: under 30 s)\n",
           seeds, s, (double)seeds / s);
}

static const char scale_yaml[] =
    "version: 1\nname: scale\nsummary: scaling\nseeds: 1\nhorizon: 60s\nusers: %lu\n"
    "network:\n  uplink: lognormal(median=20ms, p99=250ms)\n"
    "  downlink: lognormal(median=20ms, p99=250ms)\n"
    "server:\n  auth: uniform(5ms, 50ms)\n  thread_lookup: exponential(mean=15ms)\n"
    "  agent_start: uniform(0ms, 10ms)\n  event_gap: exponential(mean=80ms)\n"
    "client:\n  - wait: uniform(0s, 10s)\n  - connect\n  - authenticate\n"
    "  - send: {thread: new}\n  - wait: 3s\n  - close\n";

static void scaling(void)
{
    printf("\n%-12s %12s %9s %12s %12s\n", "connections", "events", "ns/event", "events/s",
           "peak RSS");
    for (unsigned long users = 100; users <= 1000000; users *= 10) {
        int fd[2];
        if (pipe(fd) != 0)
            return;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            close(fd[0]);
            char text[1024];
            int len = snprintf(text, sizeof(text), scale_yaml, users);
            sim_scenario *sc;
            sim_scenario_error err;
            char line[256] = "load failed\n";
            if (sim_scenario_load_string("scale.yaml", text, (size_t)len, &sc, &err) == 0) {
                cr_policy pol;
                sim_scenario_policy(sc, CR_PROFILE_FIXED, &pol);
                sim_seed_result *res = calloc(1, sizeof(*res));
                sim_world_opts o = {.seed = 1};
                double t0 = bench_now_ns();
                sim_world_run(sc, &pol, &o, res, NULL);
                double ns = (bench_now_ns() - t0) / (double)(res->events ? res->events : 1);
                snprintf(line, sizeof(line), "%-12lu %12" PRIu64 " %9.1f %11.2fM %9.1f MiB%s\n",
                         users, res->events, ns, 1e3 / ns, bench_peak_rss_kib() / 1024.0,
                         res->c[SIM_COUNT_DELIVERED] == res->c[SIM_COUNT_EXPECTED] ? ""
                                                                                   : " (losses!)");
                free(res);
                sim_scenario_free(sc);
            }
            if (write(fd[1], line, strlen(line)) < 0)
                _exit(1);
            _exit(0);
        }
        close(fd[1]);
        char buf[256];
        ssize_t r = read(fd[0], buf, sizeof(buf) - 1);
        close(fd[0]);
        waitpid(pid, NULL, 0);
        if (r > 0) {
            buf[r] = '\0';
            fputs(buf, stdout);
        }
    }
    printf("(target: 1e6 connections in one seed within 2 GiB)\n");
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
    printf("  ratio: ctxsim is %.1fx faster per delivered event (target: >= 15x), while running\n"
           "  the real core, the oracle and the trace hash on every event\n",
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
