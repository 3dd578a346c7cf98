/* grow.c - growable arrays (see grow.h). */
#include "sim/grow.h"

#include <stdlib.h>
#include <string.h>

int sim_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    /* Most per-tab arrays hold one or two entries (an outbox, a thread's
     * marks): they start at one (1, 2, 4, 7, 11, ...) and grow by half; the
     * big ones (per connection, per event: over 64 Ki entries) by a quarter,
     * so at most a fifth of them is slack (large blocks are mmapped: libc
     * grows them in place with mremap, no copy). */
    size_t n = *cap ? *cap : 1;
    while (n < need)
        n += (n < 65536 ? n / 2 : n / 4) + 1;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -1;
    memset((char *)q + *cap * elem, 0, (n - *cap) * elem);
    *p = q;
    *cap = n;
    return 0;
}
