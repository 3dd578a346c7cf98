/*
 * timer.c - binary min-heap of (deadline, counter) (see timer.h).
 */
#include "timer.h"

static int before(const cr_timer *a, const cr_timer *b)
{
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->counter < b->counter;
}

int cr_heap_reserve(cr_heap *h, cr_mem *mem, size_t extra)
{
    if (extra <= h->cap - h->len)
        return 0;
    if (extra > SIZE_MAX / 2 - h->len)
        return CR_ENOMEM;
    size_t cap = h->cap ? h->cap : 16;
    while (cap - h->len < extra)
        cap *= 2;
    cr_timer *v = cr_mem_array_realloc(mem, h->v, h->cap, cap, sizeof *v);
    if (!v)
        return CR_ENOMEM;
    h->v = v;
    h->cap = cap;
    return 0;
}

static void sift_up(cr_heap *h, size_t i)
{
    cr_timer t = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&t, &h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = t;
}

static void sift_down(cr_heap *h, size_t i)
{
    cr_timer t = h->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->len)
            break;
        if (c + 1 < h->len && before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!before(&h->v[c], &t))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    h->v[i] = t;
}

uint64_t cr_heap_push(cr_heap *h, uint64_t deadline, uint32_t kind, uint64_t target)
{
    cr_timer t = {deadline, ++h->counter, target, kind};
    cr_heap_repush(h, &t);
    return t.counter;
}

void cr_heap_repush(cr_heap *h, const cr_timer *t)
{
    h->v[h->len] = *t;
    sift_up(h, h->len++);
}

const cr_timer *cr_heap_top(const cr_heap *h)
{
    return h->len ? &h->v[0] : NULL;
}

void cr_heap_pop(cr_heap *h, cr_timer *out)
{
    *out = h->v[0];
    h->v[0] = h->v[--h->len];
    if (h->len)
        sift_down(h, 0);
}

void cr_heap_trim(cr_heap *h, cr_mem *mem)
{
    if (!h->len) {
        cr_heap_free(h, mem);
        return;
    }
    if (h->cap <= 64 || h->len * 16 >= h->cap)
        return;
    size_t cap = 16;
    while (cap < h->len * 4)
        cap *= 2;
    cr_timer *v = cr_mem_array_realloc(mem, h->v, h->cap, cap, sizeof *v);
    if (!v)
        return; /* benign: the larger array stays */
    h->v = v;
    h->cap = cap;
}

void cr_heap_free(cr_heap *h, cr_mem *mem)
{
    cr_mem_free(mem, h->v, h->cap * sizeof *h->v);
    h->v = NULL;
    h->len = h->cap = 0;
}
