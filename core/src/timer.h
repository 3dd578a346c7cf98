/*
 * timer.h - the core's timers: a binary min-heap of (deadline, counter).
 *
 * Every push gets a fresh counter, so equal deadlines fire in push order
 * (FIFO).  Cancellation is lazy: the owner of a timer remembers the counter
 * of its live entry (0: none); an entry whose counter no longer matches its
 * owner's is stale and is discarded when it reaches the top.  Re-arming is
 * therefore one push, and cancelling is one store.
 */
#ifndef CR_TIMER_H
#define CR_TIMER_H

#include "alloc.h"

typedef enum cr_timer_kind {
    CR_TIMER_PENDING = 0, /* target = conn id: pending deadline */
    CR_TIMER_RETRY = 1,   /* target = conn id: association retry */
    CR_TIMER_RUN = 2,     /* target = run id: re-validation during exec_grace */
    CR_TIMER_TTL = 3      /* target = stream index: oldest buffered entry ages out */
} cr_timer_kind;

/* 24 bytes: the kind shares a word with the target (connection and run
 * ids and stream indexes stay far below 2^62: one per call). */
typedef struct cr_timer {
    uint64_t deadline;
    uint64_t counter;     /* push order; also the entry's identity, never 0 */
    uint64_t target : 62; /* see cr_timer_kind */
    uint64_t kind : 2;    /* cr_timer_kind */
} cr_timer;

typedef struct cr_heap {
    cr_timer *v; /* owned, cap entries */
    size_t len, cap;
    uint64_t counter; /* last counter handed out */
} cr_heap;

/* cr_heap_reserve makes room for `extra` more pushes.  0 or CR_ENOMEM.
 * O(n) when it grows (realloc), O(1) otherwise. */
CR_INTERNAL int cr_heap_reserve(cr_heap *h, cr_mem *mem, size_t extra);

/* cr_heap_push adds a timer (room must be reserved) and returns its
 * counter.  O(log n). */
CR_INTERNAL uint64_t cr_heap_push(cr_heap *h, uint64_t deadline, uint32_t kind, uint64_t target);

/* cr_heap_repush puts back an entry popped by cr_heap_pop, keeping its
 * counter (its owner still refers to it).  Room exists since it was
 * popped.  O(log n). */
CR_INTERNAL void cr_heap_repush(cr_heap *h, const cr_timer *t);

/* cr_heap_top returns the earliest entry (NULL if empty).  O(1). */
CR_INTERNAL const cr_timer *cr_heap_top(const cr_heap *h);

/* cr_heap_pop removes the earliest entry into *out.  The heap must not be
 * empty.  O(log n). */
CR_INTERNAL void cr_heap_pop(cr_heap *h, cr_timer *out);

/* cr_heap_trim gives memory back as cr_map_trim does: an empty heap frees
 * its array, one under 1/16 full is shrunk to a quarter full (best effort,
 * a failure is benign).  Not between a reserve and its pushes.  O(1), or
 * the realloc. */
CR_INTERNAL void cr_heap_trim(cr_heap *h, cr_mem *mem);

/* cr_heap_free releases the entries. */
CR_INTERNAL void cr_heap_free(cr_heap *h, cr_mem *mem);

#endif
