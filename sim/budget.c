/* budget.c - stop requests and the memory budget of running seeds. */
#include "sim/budget.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static volatile sig_atomic_t stop_sig;
static uint64_t budget_bytes;

void sim_budget_stop(int sig)
{
    stop_sig = sig ? sig : SIGTERM;
}

int sim_budget_stopped(void)
{
    return stop_sig;
}

void sim_budget_set_memory(uint64_t bytes)
{
    budget_bytes = bytes;
}

uint64_t sim_budget_memory(void)
{
    return budget_bytes;
}

/* mem_total: MemTotal of /proc/meminfo in bytes, 0 unknown. */
static uint64_t mem_total(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    uint64_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %" SCNu64 " kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

uint64_t sim_budget_default_memory(void)
{
    uint64_t m = mem_total() / 2;
    static const int res[] = {RLIMIT_AS, RLIMIT_DATA};
    for (size_t i = 0; i < sizeof res / sizeof res[0]; i++) {
        struct rlimit rl;
        if (getrlimit(res[i], &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            (m == 0 || (uint64_t)rl.rlim_cur < m))
            m = (uint64_t)rl.rlim_cur;
    }
    return m;
}

uint64_t sim_budget_resident(void)
{
    /* statm: size resident shared ... in pages; read with one read(2) */
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned long long size = 0, res = 0;
    if (sscanf(buf, "%llu %llu", &size, &res) != 2)
        return 0;
    long page = sysconf(_SC_PAGESIZE);
    return (uint64_t)res * (uint64_t)(page > 0 ? page : 4096);
}

int sim_budget_over(char *why, size_t len)
{
    if (!budget_bytes)
        return 0;
    uint64_t r = sim_budget_resident();
    if (r <= budget_bytes)
        return 0;
    if (why && len)
        snprintf(why, len, "resident memory %.1f MiB > the budget of %.1f MiB (--max-memory)",
                 (double)r / 1048576.0, (double)budget_bytes / 1048576.0);
    return 1;
}

int sim_budget_parse_size(const char *s, uint64_t *bytes)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0))
        return -1;
    double mul = 1;
    if (*end == '%') {
        uint64_t t = mem_total();
        if (!t || v < 1 || v > 100 || end[1])
            return -1;
        *bytes = (uint64_t)((double)t * v / 100.0);
        return 0;
    }
    static const char units[] = "KMGT";
    const char *u = *end ? strchr(units, *end == 'k' ? 'K' : *end) : NULL;
    if (*end) {
        if (!u)
            return -1;
        for (const char *k = units; k <= u; k++)
            mul *= 1024;
        end++;
        if (*end == 'i' && end[1] == 'B')
            end += 2;
        else if (*end == 'B')
            end++;
    }
    if (*end || v * mul > 1.8e19)
        return -1;
    *bytes = (uint64_t)(v * mul);
    return 0;
}
