/*
 * alloc.c - allocator wrapper and byte accounting (see alloc.h).
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

/* The size header in front of every block, padded to the strictest
 * alignment so the block after it stays suitably aligned. */
typedef union cr_mem_hdr {
    max_align_t align;
    size_t size;
} cr_mem_hdr;

static void *libc_malloc(size_t n, void *ud)
{
    (void)ud;
    return malloc(n);
}

static void *libc_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    return realloc(p, n);
}

static void libc_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

void cr_mem_init(cr_mem *m, const cr_allocator *a)
{
    static const cr_allocator libc = {libc_malloc, libc_realloc, libc_free, NULL};
    m->a = a ? *a : libc;
    m->in_use = 0;
    m->peak = 0;
}

static void account(cr_mem *m, size_t freed, size_t got)
{
    m->in_use = m->in_use - freed + got;
    if (m->in_use > m->peak)
        m->peak = m->in_use;
}

void *cr_mem_alloc(cr_mem *m, size_t n)
{
    if (n > SIZE_MAX - sizeof(cr_mem_hdr))
        return NULL;
    size_t total = sizeof(cr_mem_hdr) + n;
    cr_mem_hdr *h = m->a.malloc(total, m->a.user_data);
    if (!h)
        return NULL;
    h->size = total;
    account(m, 0, total);
    return h + 1;
}

void *cr_mem_zalloc(cr_mem *m, size_t n)
{
    void *p = cr_mem_alloc(m, n);
    if (p)
        memset(p, 0, n);
    return p;
}

void *cr_mem_array_realloc(cr_mem *m, void *p, size_t count, size_t size)
{
    if (size && count > (SIZE_MAX - sizeof(cr_mem_hdr)) / size)
        return NULL;
    size_t n = count * size;
    if (!p)
        return cr_mem_alloc(m, n);
    cr_mem_hdr *old = (cr_mem_hdr *)p - 1;
    size_t old_total = old->size;
    size_t total = sizeof(cr_mem_hdr) + n;
    cr_mem_hdr *h = m->a.realloc(old, total, m->a.user_data);
    if (!h)
        return NULL;
    h->size = total;
    account(m, old_total, total);
    return h + 1;
}

void cr_mem_free(cr_mem *m, void *p)
{
    if (!p)
        return;
    cr_mem_hdr *h = (cr_mem_hdr *)p - 1;
    account(m, h->size, 0);
    m->a.free(h, m->a.user_data);
}

void *cr_mem_scratch(const cr_mem *m, size_t n)
{
    return m->a.malloc(n ? n : 1, m->a.user_data);
}

void cr_mem_scratch_free(const cr_mem *m, void *p)
{
    if (p)
        m->a.free(p, m->a.user_data);
}
