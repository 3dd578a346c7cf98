/*
 * quarantine.c - a poisoning, delayed-reuse allocator for the core.
 *
 * Every block carries a header with its size; a freed block is filled with
 * POISON (its first POISON_MAX bytes) and appended to the ring; when the ring is full the oldest
 * block is checked and returned to libc.
 */
#include "sim/quarantine.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define POISON 0xA5
/* Bytes poisoned (and checked) at the start of a block: the core's records
 * keep their links there; a large payload tail is left as it was. */
#define POISON_MAX 256

typedef union qhdr {
    struct {
        size_t size;
        size_t checked; /* 1: found broken already */
    } h;
    max_align_t align;
} qhdr;

static qhdr *hdr_of(void *p)
{
    return (qhdr *)p - 1;
}

static void *q_malloc(size_t n, void *ud)
{
    qhdr *h = malloc(sizeof(qhdr) + n);
    if (!h)
        return NULL;
    h->h.size = n;
    h->h.checked = 0;
    sim_quarantine *q = ud;
    q->live += n;
    if (q->live > q->peak)
        q->peak = q->live;
    return h + 1;
}

/* intact: is the poison of held block h unbroken?  Eight bytes a round,
 * then the tail. */
static int intact(const qhdr *h)
{
    const unsigned char *p = (const unsigned char *)(h + 1);
    size_t n = h->h.size < POISON_MAX ? h->h.size : POISON_MAX, i = 0;
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
    qhdr *h = hdr_of(ptr);
    q->live -= h->h.size;
    memset(ptr, POISON, h->h.size < POISON_MAX ? h->h.size : POISON_MAX);
    if (q->n == q->cap) {
        qhdr *old = q->ring[q->head];
        if (!old->h.checked && !intact(old))
            q->written++;
        free(old);
        q->ring[q->head] = h;
        q->head = q->head + 1 == q->cap ? 0 : q->head + 1;
        return;
    }
    size_t at = q->head + q->n;
    q->ring[at >= q->cap ? at - q->cap : at] = h;
    q->n++;
}

static void *q_realloc(void *ptr, size_t n, void *ud)
{
    if (!ptr)
        return q_malloc(n, ud);
    void *p = q_malloc(n, ud);
    if (!p)
        return NULL;
    size_t old = hdr_of(ptr)->h.size;
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
        qhdr *h = q->ring[(q->head + i) % q->cap];
        if (!h->h.checked && !intact(h)) {
            h->h.checked = 1;
            q->written++;
        }
    }
    return q->written;
}

void sim_quarantine_free(sim_quarantine *q)
{
    for (size_t i = 0; q->ring && i < q->n; i++)
        free(q->ring[(q->head + i) % q->cap]);
    free(q->ring);
    memset(q, 0, sizeof *q);
}
