/*
 * engine.h - the discrete-event engine: virtual time and a binary heap of
 * pending events ordered by (time, tiebreak).
 *
 * By default ties are FIFO by insertion (tiebreak = an increasing counter).
 * In exploration mode a seeded priority reorders simultaneous events
 * (tiebreak = (random priority, counter)), still deterministic per seed.
 * An event is a plain record: the world dispatches on `kind`.
 */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "sim/prng.h"

typedef struct sim_event {
    uint64_t time;
    uint64_t prio; /* 0 unless exploring */
    uint64_t seq;  /* insertion counter */
    uint32_t kind;
    uint32_t aux;
    uint64_t a, b;
} sim_event;

typedef struct sim_engine {
    sim_event *heap; /* owned */
    size_t len, cap;
    uint64_t now;
    uint64_t counter;
    uint64_t steps; /* events popped */
    int explore;
    sim_prng explore_rng;
} sim_engine;

/* sim_engine_init prepares *e (empty, now = 0).  explore != 0: simultaneous
 * events are ordered by a priority drawn from explore_seed. */
void sim_engine_init(sim_engine *e, int explore, uint64_t explore_seed);

/* sim_engine_free releases the heap. */
void sim_engine_free(sim_engine *e);

/* sim_engine_schedule queues an event at absolute time `at` (>= now).
 * Returns 0, -1 on allocation failure or when at < now.  O(log n). */
int sim_engine_schedule(sim_engine *e, uint64_t at, uint32_t kind, uint32_t aux, uint64_t a,
                        uint64_t b);

/* sim_engine_pop removes the next event into *out and advances now to its
 * time.  Returns 1, or 0 when the queue is empty.  O(log n). */
int sim_engine_pop(sim_engine *e, sim_event *out);

/* sim_engine_peek_time returns the time of the next event, UINT64_MAX if
 * none.  O(1). */
uint64_t sim_engine_peek_time(const sim_engine *e);

#endif
