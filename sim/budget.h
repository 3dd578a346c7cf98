/*
 * budget.h - the bounds of a running seed that are not in the scenario:
 * a stop request (SIGINT/SIGTERM, honoured inside a seed within
 * SIM_BUDGET_CHECK_EVERY engine events) and the memory budget
 * (--max-memory: a seed whose process holds more resident memory fails
 * with an error verdict instead of meeting the kernel's OOM killer).
 * Process-wide, as signals are; worker processes inherit both.  Neither
 * changes a run that stays within them: they are read every
 * SIM_BUDGET_CHECK_EVERY events and only end a seed that crossed them.
 */
#ifndef SIM_BUDGET_H
#define SIM_BUDGET_H

#include <stddef.h>
#include <stdint.h>

/* How often (engine events) a seed looks at the stop flag and its memory. */
#define SIM_BUDGET_CHECK_EVERY 4096u

/* sim_budget_stop asks every seed of this process to stop (async-signal
 * safe: call it from a signal handler with the signal's number). */
void sim_budget_stop(int sig);

/* sim_budget_stopped returns the signal given to sim_budget_stop, or 0. */
int sim_budget_stopped(void);

/* sim_budget_set_memory sets the resident memory (bytes) a process running
 * seeds may hold; 0: no budget. */
void sim_budget_set_memory(uint64_t bytes);

/* sim_budget_memory returns the budget set (0: none). */
uint64_t sim_budget_memory(void);

/*
 * sim_budget_default_memory returns the default budget: half of the
 * machine's memory (MemTotal of /proc/meminfo), or less when RLIMIT_AS or
 * RLIMIT_DATA is lower; 0 when neither is known.
 */
uint64_t sim_budget_default_memory(void);

/* sim_budget_resident returns the process's resident memory in bytes
 * (/proc/self/statm), or 0 when unknown.  A few microseconds. */
uint64_t sim_budget_resident(void);

/*
 * sim_budget_over returns 1 when the process holds more than the budget
 * (writing "resident X MiB > budget Y MiB" into why[len]), else 0.
 */
int sim_budget_over(char *why, size_t len);

/*
 * sim_budget_parse_size parses a memory size: a number of bytes with an
 * optional binary suffix K, M, G, T (KiB... also accepted), or P% of the
 * machine's memory (1..100).  "0" means no budget.  Returns 0, or -1.
 */
int sim_budget_parse_size(const char *s, uint64_t *bytes);

#endif
