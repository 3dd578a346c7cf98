/*
 * grow.h - the simulator's one growable-array helper.
 */
#ifndef SIM_GROW_H
#define SIM_GROW_H

#include <stddef.h>

/* sim_grow makes room for `need` elements of `elem` bytes in the array *p
 * of capacity *cap (growing by half; new space zeroed).  Returns 0, or -1 on
 * allocation failure (*p and *cap unchanged).  Amortised O(1). */
int sim_grow(void **p, size_t *cap, size_t need, size_t elem);

#endif
