/* floor.c - the benchmarks' bare-heap floor and machine description. */
#include "tests/lib/floor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>

#include "sim/prng.h"

typedef struct fl_item {
    uint64_t time, seq;
} fl_item;

static int fl_before(const fl_item *x, const fl_item *y)
{
    return x->time < y->time || (x->time == y->time && x->seq < y->seq);
}

static void fl_push(fl_item *h, size_t *len, fl_item it)
{
    size_t i = (*len)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!fl_before(&it, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = it;
}

static fl_item fl_pop(fl_item *h, size_t *len)
{
    fl_item top = h[0], last = h[--(*len)];
    size_t i = 0, n = *len;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && fl_before(&h[l], &last))
            m = l;
        if (l + 1 < n && fl_before(&h[l + 1], m == i ? &last : &h[l]))
            m = l + 1;
        if (m == i)
            break;
        h[i] = h[m];
        i = m;
    }
    if (n)
        h[i] = last;
    return top;
}

/* clock_ns reads one clock in ns (measurement only). */
static double clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

double bench_now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

double bench_cpu_ns(void)
{
    return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

static volatile uint64_t sink; /* keeps the floor's loop observable */

double bench_floor_ns(size_t pending, uint64_t ops, int reps)
{
    if (pending == 0)
        pending = 1;
    fl_item *h = malloc(pending * sizeof(*h));
    if (!h)
        return -1;
    double best = -1;
    for (int r = 0; r < reps; r++) {
        sim_prng rng;
        sim_prng_seed(&rng, 12345);
        size_t len = 0;
        uint64_t seq = 0;
        for (size_t i = 0; i < pending; i++)
            fl_push(h, &len, (fl_item){sim_prng_below(&rng, 1000000), seq++});
        double t0 = bench_now_ns();
        for (uint64_t i = 0; i < ops; i++) {
            fl_item it = fl_pop(h, &len);
            fl_push(h, &len, (fl_item){it.time + sim_prng_below(&rng, 1000000), seq++});
        }
        double ns = (bench_now_ns() - t0) / (double)ops;
        sink += len;
        if (best < 0 || ns < best)
            best = ns;
    }
    free(h);
    return best;
}

void bench_machine(void)
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

long bench_peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}
