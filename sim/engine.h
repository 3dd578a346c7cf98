/*
 * engine.h - the discrete-event engine: virtual time and a heap (binary,
 * 4-ary once large) of compact (time, tiebreak) keys, each event's payload
 * in a slot beside it.
 *
 * Three modes, all deterministic per seed:
 *  - default: ties are FIFO by insertion (tiebreak = an increasing counter);
 *  - explore (random ties): a seeded priority reorders exactly simultaneous
 *    events (tiebreak = (random priority, counter));
 *  - PCT (sim_engine_set_pct): probabilistic concurrency testing after
 *    Burckhardt et al. 2010, at the granularity of actors.  Every event
 *    belongs to an actor (sim_engine_schedule_as); events of one actor
 *    always run in (time, insertion) order.  Among the pending events due
 *    within the race window W of the earliest one (t <= t_min + W), the
 *    engine runs the head event of the actor with the highest priority.
 *    Delays within the race window: when an event due at t2 runs before
 *    an earlier one due at t1 (t2 <= t1 + W), virtual time moves to t2 and
 *    the earlier one runs later, at the then current time, so time stays
 *    monotonic and no event runs more than W after it was due.  Actors get
 *    random distinct priorities when they first schedule; D - 1 priority
 *    change points are drawn uniformly from steps 1..k (k: the expected
 *    step count); at change point i the actor that just ran drops to
 *    priority D - i, below every initial one.
 * An event is a plain record: the world dispatches on `kind`.
 */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "sim/prng.h"

typedef struct sim_event {
    uint64_t time; /* when it was due (it ran at sim_engine.now, later under PCT) */
    uint64_t prio; /* 0 by default; the random tiebreak (explore); the actor key (PCT) */
    uint64_t seq;  /* insertion counter */
    uint32_t kind;
    uint32_t aux;
    uint64_t a, b;
} sim_event;

#define SIM_PCT_MAX_DEPTH 16

/* PCT parameters (sim_engine_set_pct). */
typedef struct sim_pct_opts {
    uint32_t depth;  /* D >= 1: D - 1 priority change points */
    uint64_t window; /* W in ns: events due within W of the earliest may be reordered */
    uint64_t steps;  /* k >= 1: change points are drawn from steps 1..k */
} sim_pct_opts;

/* What the exploration did (all 0 in the default mode). */
typedef struct sim_engine_stats {
    uint64_t tie_reorders; /* events run before a simultaneous earlier-scheduled one */
    uint64_t
        window_reorders;    /* PCT: events run while an earlier-due event of another actor waited */
    uint64_t max_delay;     /* PCT: the longest an event ran after it was due (ns, <= W) */
    uint64_t actors;        /* PCT: distinct actors that scheduled events (n of the bound) */
    uint64_t change_points; /* PCT: change points that happened (<= D - 1) */
} sim_engine_stats;

struct sim_pct; /* engine.c */

/* A heap key (engine.c): the due time, then the tiebreak: the insertion
 * counter (default) or a seeded random priority (explore) in the high
 * bits, the payload's slot in the low SIM_SLOT_BITS. */
typedef struct sim_key {
    uint64_t time, tb;
} sim_key;

/* An event's payload, in a slot that stays put while its key moves. */
typedef struct sim_slot {
    uint64_t seq;
    uint32_t kind, aux;
    uint64_t a, b;
} sim_slot;

/* At most 2^SIM_SLOT_BITS events pending, 2^(64 - SIM_SLOT_BITS) scheduled
 * per run (sim_engine_schedule fails past either). */
#define SIM_SLOT_BITS 26

typedef struct sim_engine {
    sim_key *keys;   /* the heap (owned: keys_mem) */
    void *keys_mem;  /* the allocation keys points into (aligned so that siblings share a line) */
    sim_slot *slots; /* owned: payloads, by slot */
    uint32_t *free;  /* owned: free slots, a stack */
    size_t nfree;    /* entries of free */
    size_t nslots;   /* slots ever used (<= cap) */
    size_t len, cap; /* len: pending events (in every mode) */
    unsigned arity;  /* 2 or 4: the heap's now */
    int auto_arity;  /* 1 (the default): binary until the heap is large, then 4-ary */
    uint64_t now;
    uint64_t counter;
    uint64_t steps; /* events popped */
    int explore;
    sim_prng explore_rng;
    struct sim_pct *pct; /* owned; NULL unless PCT */
    uint64_t tie_time,
        tie_seq; /* explore: the latest popped time and the highest seq popped at it */
    sim_engine_stats stats;
} sim_engine;

/* sim_engine_init prepares *e (empty, now = 0).  explore != 0: simultaneous
 * events are ordered by a priority drawn from explore_seed. */
void sim_engine_init(sim_engine *e, int explore, uint64_t explore_seed);

/* sim_engine_set_arity fixes an empty engine's heap as binary (2) or
 * 4-ary (4), or makes it automatic (0, the default: binary while small,
 * rebuilt 4-ary once when it grows large; bench_engine measures all three).
 * The pop order is the same whatever the arity.  Returns 0, or -1 for
 * another arity or an engine that has scheduled already. */
int sim_engine_set_arity(sim_engine *e, unsigned arity);

/* sim_engine_set_pct switches an empty engine to PCT mode (engine.h,
 * top), drawing the priorities and change points from explore_seed; it
 * replaces the explore mode.  Returns 0, or -1 on a bad option (depth 0 or
 * above SIM_PCT_MAX_DEPTH, steps 0), a non-empty engine, or allocation
 * failure.  O(D log D). */
int sim_engine_set_pct(sim_engine *e, const sim_pct_opts *o, uint64_t explore_seed);

/* sim_engine_free releases the heap (and the PCT state). */
void sim_engine_free(sim_engine *e);

/* sim_engine_schedule queues an event at absolute time `at` (>= now) for
 * actor 0.  Returns 0, -1 on allocation failure or when at < now.
 * O(log n). */
int sim_engine_schedule(sim_engine *e, uint64_t at, uint32_t kind, uint32_t aux, uint64_t a,
                        uint64_t b);

/* sim_engine_schedule_as is sim_engine_schedule for the event of `actor`
 * (any 64-bit key; only PCT looks at it).  Returns 0 or -1.  O(log n);
 * under PCT O(log n) plus an expected O(1) actor lookup. */
int sim_engine_schedule_as(sim_engine *e, uint64_t actor, uint64_t at, uint32_t kind, uint32_t aux,
                           uint64_t a, uint64_t b);

/* sim_engine_pop removes the next event into *out and advances now to its
 * time (under PCT: to max(now, its time)).  Returns 1, or 0 when the queue
 * is empty.  O(log n); under PCT O(log n + actors due within the window). */
int sim_engine_pop(sim_engine *e, sim_event *out);

/* sim_engine_peek_time returns the due time of the earliest pending event,
 * UINT64_MAX if none.  O(1). */
uint64_t sim_engine_peek_time(const sim_engine *e);

/* sim_engine_bytes returns the bytes the engine holds (keys, slots and
 * free slots at their capacity; PCT's per-actor heaps).  O(actors). */
size_t sim_engine_bytes(const sim_engine *e);

/* sim_engine_get_stats copies what exploration did so far.  O(1). */
void sim_engine_get_stats(const sim_engine *e, sim_engine_stats *out);

/* sim_pct_bound returns Burckhardt's lower bound on the probability that
 * one PCT run finds a bug of depth d among n actors and k steps:
 * 1 / (n * k^(d-1)) (0 when n or k is 0).  O(1). */
double sim_pct_bound(uint64_t n, uint64_t k, uint32_t d);

#endif
