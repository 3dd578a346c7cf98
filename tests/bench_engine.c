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
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>

#include "sim/engine.h"
#include "sim/prng.h"

#define OPS        1000000ULL
#define REPS       5
#define MAX_DELAY  1000000ULL /* delays uniform in [0, 1ms) of virtual time */
#define BENCH_SEED 12345

static volatile uint64_t sink; /* keeps the loops' results observable */

static double mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- the floor: a bare binary min-heap of (time, seq) ------------------ */

typedef struct fl_item {
    uint64_t time, seq;
} fl_item;

static fl_item *fl_heap; /* owned by the floor benchmark */
static size_t fl_len;

static inline int fl_before(const fl_item *x, const fl_item *y)
{
    return x->time < y->time || (x->time == y->time && x->seq < y->seq);
}

static inline void fl_push(fl_item it)
{
    size_t i = fl_len++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!fl_before(&it, &fl_heap[p]))
            break;
        fl_heap[i] = fl_heap[p];
        i = p;
    }
    fl_heap[i] = it;
}

static inline fl_item fl_pop(void)
{
    fl_item top = fl_heap[0], last = fl_heap[--fl_len];
    size_t i = 0, n = fl_len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && fl_before(&fl_heap[c + 1], &fl_heap[c]))
            c++;
        if (!fl_before(&fl_heap[c], &last))
            break;
        fl_heap[i] = fl_heap[c];
        i = c;
    }
    if (n > 0)
        fl_heap[i] = last;
    return top;
}

/*
 * floor_ns_per_op returns the nanoseconds per (pop + push) of the bare heap
 * holding n pending events, measured over `ops` operations after filling it
 * (the fill is not timed).  Returns a negative value on allocation failure.
 * Memory: 16 bytes per pending event.
 */
static double floor_ns_per_op(size_t n, uint64_t ops)
{
    sim_prng r;
    uint64_t seq = 0, check = 0;
    fl_heap = malloc((n + 1) * sizeof *fl_heap);
    if (!fl_heap)
        return -1;
    fl_len = 0;
    sim_prng_seed(&r, BENCH_SEED);
    for (size_t i = 0; i < n; i++)
        fl_push((fl_item){sim_prng_below(&r, MAX_DELAY), seq++});
    double t0 = mono_ns();
    for (uint64_t k = 0; k < ops; k++) {
        fl_item it = fl_pop();
        check += it.time;
        fl_push((fl_item){it.time + sim_prng_below(&r, MAX_DELAY), seq++});
    }
    double t1 = mono_ns();
    sink += check;
    free(fl_heap);
    fl_heap = NULL;
    return (t1 - t0) / (double)ops;
}

/* engine_ns_per_op: the same loop through sim_engine (empty handler). */
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
    double t0 = mono_ns();
    for (uint64_t k = 0; k < ops; k++) {
        sim_engine_pop(&e, &ev);
        check += ev.time; /* the empty handler */
        if (sim_engine_schedule(&e, e.now + sim_prng_below(&r, MAX_DELAY), ev.kind, 0, ev.a, 0) < 0)
            break;
    }
    double t1 = mono_ns();
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
        double f = floor_ns_per_op(n, OPS);
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

static void print_machine(void)
{
    struct utsname u;
    char model[256] = "unknown";
    int cpus = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "processor", 9) == 0)
                cpus++;
            char *colon = strchr(line, ':');
            if (strncmp(line, "model name", 10) == 0 && colon && strcmp(model, "unknown") == 0) {
                snprintf(model, sizeof model, "%s", colon + 2);
                model[strcspn(model, "\n")] = '\0';
            }
        }
        fclose(f);
    }
    if (uname(&u) == 0)
        printf("machine:  %s %s %s, %s, %d cpus\n", u.sysname, u.release, u.machine, model, cpus);
#ifdef __clang__
    printf("compiler: %s", __VERSION__);
#else
    printf("compiler: gcc %s", __VERSION__);
#endif
#ifdef __OPTIMIZE__
    printf(", optimised\n");
#else
    printf(", NOT optimised (-O0): numbers are not representative\n");
#endif
}

int main(void)
{
    static const size_t sizes[] = {100, 10000, 1000000};
    printf("bench_engine: pop + schedule per event, N pending, best of %d x %llu ops\n", REPS,
           (unsigned long long)OPS);
    print_machine();
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
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        printf("peak RSS: %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
    return 0;
}
