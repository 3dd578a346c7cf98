/*
 * bench_engine.c - the event queue's cost per event against a floor.
 *
 * A benchmark, not a test (plain main, no Check; run by `make bench`).
 * For N pending events in {1e1, ..., 1e6} it measures the steady state of
 * "pop the earliest event, schedule one new event at its time + a random
 * delay", which keeps N events pending:
 *   floor heap    a minimal static binary heap of (time, seq) pairs, the
 *                 least a plain event queue ordered by (time, FIFO) costs;
 *   engine 2-ary  sim_engine with an empty handler and a binary heap of
 *                 its keys (sim_engine_set_arity 2);
 *   engine 4-ary  the same with a 4-ary heap (sim_engine_set_arity 4);
 *   engine auto   the default: binary while small, 4-ary once the heap
 *                 grows to 65536 keys (what the simulator uses).
 * Both draw the same delays from the same fixed-seed PRNG, so the ratio is
 * the engine's overhead over the bare heap at equal N.  Each figure is the
 * best of REPS runs, floor and engine alternating.  Wall-clock time (CLOCK_MONOTONIC) is used for
 * the measurement only; nothing simulated depends on it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim/engine.h"
#include "sim/prng.h"
#include "tests/lib/floor.h"

#define OPS        1000000ULL
#define REPS       3
#define MAX_DELAY  1000000ULL /* as the floor: delays uniform in [0, 1ms) */
#define BENCH_SEED 12345      /* as the floor */

static volatile uint64_t sink; /* keeps the loop's result observable */

/* engine_ns_per_op: the floor's loop (tests/lib/floor.c: same seed, same
 * delays) through sim_engine with an empty handler. */
static double engine_ns_per_op(size_t n, uint64_t ops, unsigned arity)
{
    sim_engine e;
    sim_prng r;
    sim_event ev;
    uint64_t check = 0;
    sim_engine_init(&e, 0, 0);
    if (sim_engine_set_arity(&e, arity) < 0)
        return -1;
    sim_prng_seed(&r, BENCH_SEED);
    for (size_t i = 0; i < n; i++)
        if (sim_engine_schedule(&e, sim_prng_below(&r, MAX_DELAY), 1, 0, i, 0) < 0) {
            sim_engine_free(&e);
            return -1;
        }
    double t0 = bench_now_ns();
    for (uint64_t k = 0; k < ops; k++) {
        sim_engine_pop(&e, &ev);
        check += ev.time; /* the empty handler */
        if (sim_engine_schedule(&e, e.now + sim_prng_below(&r, MAX_DELAY), ev.kind, 0, ev.a, 0) < 0)
            break;
    }
    double t1 = bench_now_ns();
    sink += check;
    sim_engine_free(&e);
    return (t1 - t0) / (double)ops;
}

static void keep_best(double *best, double v)
{
    if (*best < 0 || v < *best)
        *best = v;
}

/* measure runs the floor and both engines alternately REPS times (so that
 * load from other processes hits all alike) and keeps the best of each.
 * 0 or -1. */
static int measure(size_t n, double *floor_best, double *e2_best, double *e4_best,
                   double *auto_best)
{
    *floor_best = *e2_best = *e4_best = *auto_best = -1;
    for (int i = 0; i < REPS; i++) {
        double f = bench_floor_ns(n, OPS, 1);
        double e2 = engine_ns_per_op(n, OPS, 2);
        double e4 = engine_ns_per_op(n, OPS, 4);
        double ea = engine_ns_per_op(n, OPS, 0);
        if (f < 0 || e2 < 0 || e4 < 0 || ea < 0)
            return -1;
        keep_best(floor_best, f);
        keep_best(e2_best, e2);
        keep_best(e4_best, e4);
        keep_best(auto_best, ea);
    }
    return 0;
}

int main(void)
{
    static const size_t sizes[] = {10, 100, 1000, 10000, 100000, 1000000};
    printf("bench_engine: pop + schedule per event, N pending, best of %d x %llu ops\n", REPS,
           (unsigned long long)OPS);
    bench_machine();
    printf("%-9s %9s %9s %9s %9s %9s %9s %9s  %s\n", "N", "floor ns", "2-ary ns", "4-ary ns",
           "auto ns", "2-ary/fl", "4-ary/fl", "auto/fl", "faster fixed arity");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        double fl, e2, e4, ea;
        if (measure(n, &fl, &e2, &e4, &ea) < 0 || fl <= 0 || e2 <= 0 || e4 <= 0 || ea <= 0) {
            fprintf(stderr, "bench_engine: allocation failed at N=%zu\n", n);
            return 1;
        }
        printf("%-9zu %9.1f %9.1f %9.1f %9.1f %8.2fx %8.2fx %8.2fx  %s by %.2fx\n", n, fl, e2, e4,
               ea, e2 / fl, e4 / fl, ea / fl, e4 <= e2 ? "4-ary" : "2-ary",
               e4 <= e2 ? e2 / e4 : e4 / e2);
        fflush(stdout);
    }
    printf("the engine uses auto (binary below 65536 keys, 4-ary from there)\n");
    printf("peak RSS: %.1f MiB\n", (double)bench_peak_rss_kib() / 1024.0);
    return 0;
}
