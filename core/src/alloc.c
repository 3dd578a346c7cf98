/*
 * alloc.c - allocator wrapper and byte accounting (see alloc.h).
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

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

/* Zero-byte blocks are one byte (malloc(0) may return NULL). */
static size_t block_size(size_t n)
{
    return n ? n : 1;
}

void *cr_mem_alloc(cr_mem *m, size_t n)
{
    n = block_size(n);
    void *p = m->a.malloc(n, m->a.user_data);
    if (!p)
        return NULL;
    account(m, 0, n);
    return p;
}

void *cr_mem_zalloc(cr_mem *m, size_t n)
{
    void *p = cr_mem_alloc(m, n);
    if (p)
        memset(p, 0, n);
    return p;
}

void *cr_mem_array_realloc(cr_mem *m, void *p, size_t old_count, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    if (!p)
        return cr_mem_alloc(m, count * size);
    size_t n = block_size(count * size);
    void *q = m->a.realloc(p, n, m->a.user_data);
    if (!q)
        return NULL;
    account(m, block_size(old_count * size), n);
    return q;
}

void cr_mem_free(cr_mem *m, void *p, size_t n)
{
    if (!p)
        return;
    account(m, block_size(n), 0);
    m->a.free(p, m->a.user_data);
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
