/* grow.c - growable arrays (see grow.h). */
#include "sim/grow.h"

#include <stdlib.h>
#include <string.h>

int sim_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 4; /* most per-tab arrays stay tiny */
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -1;
    memset((char *)q + *cap * elem, 0, (n - *cap) * elem);
    *p = q;
    *cap = n;
    return 0;
}
