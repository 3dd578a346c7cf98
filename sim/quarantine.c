/*
 * quarantine.c - a poisoning, delayed-reuse allocator for the core.
 *
 * Blocks carry no header of their own: a block's size is what libc says
 * it can hold (malloc_usable_size, a function of the size asked for, so
 * deterministic), and the ring keeps "found broken already" in the low bit
 * of its pointers (malloc's blocks are at least 8-byte aligned).  A freed block is
 * filled with POISON (its first POISON_MAX bytes) and appended to the ring;
 * when the ring is full the oldest block is checked and returned to libc.
 */
#include "sim/quarantine.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define POISON 0xA5
/* Bytes poisoned (and checked) at the start of a block: the core's records
 * keep their links there; a large payload tail is left as it was. */
#define POISON_MAX 256
/* Ring entry bit: the block's broken poison was counted already. */
#define CHECKED ((uintptr_t)1)

static size_t size_of(const void *p)
{
    return malloc_usable_size((void *)p);
}

static void *block_of(void *entry)
{
    return (void *)((uintptr_t)entry & ~CHECKED);
}

static void *q_malloc(size_t n, void *ud)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        return NULL;
    sim_quarantine *q = ud;
    q->live += malloc_usable_size(p); /* (not size_of: gcc -O0 takes a const argument for a read) */
    if (q->live > q->peak)
        q->peak = q->live;
    return p;
}

/* intact: is the poison of held block b unbroken?  Eight bytes a round,
 * then the tail. */
static int intact(const void *b)
{
    const unsigned char *p = b;
    size_t size = size_of(b), n = size < POISON_MAX ? size : POISON_MAX, i = 0;
    const uint64_t word = UINT64_C(0x0101010101010101) * POISON;
    uint64_t diff = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        diff |= v ^ word;
    }
    for (; i < n; i++)
        diff |= p[i] ^ POISON;
    return diff == 0;
}

static void q_free(void *ptr, void *ud)
{
    sim_quarantine *q = ud;
    if (!ptr)
        return;
    size_t size = size_of(ptr);
    q->live -= size;
    memset(ptr, POISON, size < POISON_MAX ? size : POISON_MAX);
    if (q->n == q->cap) {
        void *old = q->ring[q->head];
        if (!((uintptr_t)old & CHECKED) && !intact(old))
            q->written++;
        free(block_of(old));
        q->ring[q->head] = ptr;
        q->head = q->head + 1 == q->cap ? 0 : q->head + 1;
        return;
    }
    size_t at = q->head + q->n;
    q->ring[at >= q->cap ? at - q->cap : at] = ptr;
    q->n++;
}

static void *q_realloc(void *ptr, size_t n, void *ud)
{
    if (!ptr)
        return q_malloc(n, ud);
    void *p = q_malloc(n, ud);
    if (!p)
        return NULL;
    size_t old = size_of(ptr);
    memcpy(p, ptr, old < n ? old : n);
    q_free(ptr, ud);
    return p;
}

int sim_quarantine_init(sim_quarantine *q, size_t cap, cr_allocator *a)
{
    memset(q, 0, sizeof *q);
    q->cap = cap ? cap : 1;
    q->ring = calloc(q->cap, sizeof *q->ring);
    if (!q->ring)
        return -1;
    *a = (cr_allocator){q_malloc, q_realloc, q_free, q};
    return 0;
}

uint64_t sim_quarantine_check(sim_quarantine *q)
{
    for (size_t i = 0; i < q->n; i++) {
        void **e = &q->ring[(q->head + i) % q->cap];
        if (!((uintptr_t)*e & CHECKED) && !intact(*e)) {
            *e = (void *)((uintptr_t)*e | CHECKED);
            q->written++;
        }
    }
    return q->written;
}

void sim_quarantine_free(sim_quarantine *q)
{
    for (size_t i = 0; q->ring && i < q->n; i++)
        free(block_of(q->ring[(q->head + i) % q->cap]));
    free(q->ring);
    memset(q, 0, sizeof *q);
}
