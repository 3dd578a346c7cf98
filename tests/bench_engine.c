/*
 * bench_engine.c - the event queue's cost per event against a floor.
 *
 * A benchmark, not a test (plain main, no Check; run by `make bench`).
 * For N pending events in {1e2, 1e4, 1e6} it measures the steady state of
 * "pop the earliest event, schedule one new event at its time + a random
 * delay", which keeps N events pending:
 *   floor heap    a minimal static binary heap of (time, seq) pairs, the
 *                 least any event queue ordered by (time, FIFO) can cost;
 *   engine empty  sim_engine with an empty handler (48-byte events, the
 *                 (time, prio, seq) order, the schedule-in-the-past check).
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
#define REPS       5
#define MAX_DELAY  1000000ULL /* as the floor: delays uniform in [0, 1ms) */
#define BENCH_SEED 12345      /* as the floor */

static volatile uint64_t sink; /* keeps the loop's result observable */

/* engine_ns_per_op: the floor's loop (tests/lib/floor.c: same seed, same
 * delays) through sim_engine with an empty handler. */
static double engine_ns_per_op(size_t n, uint64_t ops)
{
    sim_engine e;
    sim_prng r;
    sim_event ev;
    uint64_t check = 0;
    sim_engine_init(&e, 0, 0);
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

/* measure runs floor and engine alternately REPS times (so that load from
 * other processes hits both alike) and keeps the best of each.  0 or -1. */
static int measure(size_t n, double *floor_best, double *engine_best)
{
    *floor_best = *engine_best = -1;
    for (int i = 0; i < REPS; i++) {
        double f = bench_floor_ns(n, OPS, 1);
        double e = engine_ns_per_op(n, OPS);
        if (f < 0 || e < 0)
            return -1;
        if (*floor_best < 0 || f < *floor_best)
            *floor_best = f;
        if (*engine_best < 0 || e < *engine_best)
            *engine_best = e;
    }
    return 0;
}

int main(void)
{
    static const size_t sizes[] = {100, 10000, 1000000};
    printf("bench_engine: pop + schedule per event, N pending, best of %d x %llu ops\n", REPS,
           (unsigned long long)OPS);
    bench_machine();
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        double fl, en;
        if (measure(n, &fl, &en) < 0 || fl <= 0 || en <= 0) {
            fprintf(stderr, "bench_engine: allocation failed at N=%zu\n", n);
            return 1;
        }
        printf("floor heap      N=%-8zu ns/op=%6.1f  events/s=%5.1fM\n", n, fl, 1e3 / fl);
        printf("engine empty    N=%-8zu ns/op=%6.1f  events/s=%5.1fM  ratio=%.2fx floor\n", n, en,
               1e3 / en, en / fl);
        fflush(stdout);
    }
    printf("peak RSS: %.1f MiB\n", (double)bench_peak_rss_kib() / 1024.0);
    return 0;
}
