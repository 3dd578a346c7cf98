/*
 * quarantine.h - the allocator the world gives the core: blocks it frees
 * are poisoned and kept (a bounded FIFO) before going back to libc, as
 * AddressSanitizer's quarantine does, so that a use after free in the core
 * cannot corrupt the simulator's heap (a crash, a harness failure) and is
 * seen instead: a write into a quarantined block breaks its poison, which
 * sim_quarantine_check reports (the world counts it in `accounting`).
 * Deterministic: nothing depends on addresses.
 */
#ifndef SIM_QUARANTINE_H
#define SIM_QUARANTINE_H

#include <stddef.h>
#include <stdint.h>

#include "ctxready.h"

typedef struct sim_quarantine {
    void **ring; /* freed blocks (bit 0: counted broken), oldest at `head` */
    size_t cap, head, n;
    uint64_t written; /* quarantined blocks found written to after their free */
    uint64_t live;    /* bytes the core holds now (usable sizes, no malloc headers) */
    uint64_t peak;    /* the most it held at once */
} sim_quarantine;

/* sim_quarantine_init sets up *q holding at most `cap` freed blocks and
 * fills *a with the allocator to pass to cr_ctx_new (a->user_data = q).
 * 0 or -1 (allocation). */
int sim_quarantine_init(sim_quarantine *q, size_t cap, cr_allocator *a);

/* sim_quarantine_check verifies the poison of every block held (adding
 * the broken ones to q->written, each once) and returns q->written.
 * O(bytes held). */
uint64_t sim_quarantine_check(sim_quarantine *q);

/* sim_quarantine_free releases every block held and the ring (call after
 * cr_ctx_del). */
void sim_quarantine_free(sim_quarantine *q);

#endif
