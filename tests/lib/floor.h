/*
 * floor.h - the benchmarks' floor: a bare binary min-heap of (time, seq)
 * pairs in a steady state of "pop the earliest, push one at its time + a
 * random delay" with `pending` events queued: the least any event queue
 * ordered by (time, FIFO) can cost per event.
 */
#ifndef BENCH_FLOOR_H
#define BENCH_FLOOR_H

#include <stddef.h>
#include <stdint.h>

/* bench_floor_ns returns the best-of-`reps` ns per pop+push at `pending`
 * queued events over `ops` operations; -1 on allocation failure. */
double bench_floor_ns(size_t pending, uint64_t ops, int reps);

/* bench_now_ns: CLOCK_MONOTONIC in ns (measurement only). */
double bench_now_ns(void);

/* bench_cpu_ns: this process's CPU time in ns (CLOCK_PROCESS_CPUTIME_ID):
 * what a comparison with another program measures on a loaded machine. */
double bench_cpu_ns(void);

/* bench_machine prints the machine (uname, CPU model, CPUs) and compiler. */
void bench_machine(void);

/* bench_peak_rss_kib returns the process's peak resident set (KiB). */
long bench_peak_rss_kib(void);

#endif
