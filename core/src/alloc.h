/*
 * alloc.h - the injected allocator, with byte accounting.
 *
 * Every allocation of the core goes through a cr_mem.  Callers pass the
 * size of a block back when they free or resize it (every block's size
 * follows from what it holds), so that bytes_in_use and bytes_peak are
 * exact without a size header per block and without asking the allocator.  Any call may fail
 * (NULL); callers reserve what they need before they mutate anything, so a failure rolls back to
 * "nothing changed".
 */
#ifndef CR_ALLOC_H
#define CR_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "ctxready.h"

/* Internal symbols are visible across the core's objects but not exported
 * from the shared library. */
#define CR_INTERNAL __attribute__((visibility("hidden")))

typedef struct cr_mem {
    cr_allocator a;  /* copied from cr_ctx_new, or the C library's */
    uint64_t in_use; /* bytes obtained from `a` */
    uint64_t peak;   /* high-water mark of in_use */
} cr_mem;

/* cr_mem_init copies allocator `a` (NULL: the C library's) into *m and
 * zeroes the accounting. */
CR_INTERNAL void cr_mem_init(cr_mem *m, const cr_allocator *a);

/* cr_mem_alloc returns `n` uninitialised bytes (NULL on failure or when the
 * size overflows).  cr_mem_zalloc returns them zeroed.  O(1) + allocator. */
CR_INTERNAL void *cr_mem_alloc(cr_mem *m, size_t n);
CR_INTERNAL void *cr_mem_zalloc(cr_mem *m, size_t n);

/* cr_mem_array_realloc resizes block `p` (may be NULL) of old_count * size
 * bytes to count * size bytes.  On failure returns NULL and `p` is
 * untouched. */
CR_INTERNAL void *cr_mem_array_realloc(cr_mem *m, void *p, size_t old_count, size_t count,
                                       size_t size);

/* cr_mem_free releases block `p` of `n` bytes (the size it was allocated
 * with).  NULL is a no-op. */
CR_INTERNAL void cr_mem_free(cr_mem *m, void *p, size_t n);

/* cr_mem_scratch / cr_mem_scratch_free: an unaccounted temporary block for
 * const queries (cr_ctx_dump); freed before the query returns. */
CR_INTERNAL void *cr_mem_scratch(const cr_mem *m, size_t n);
CR_INTERNAL void cr_mem_scratch_free(const cr_mem *m, void *p);

#endif
