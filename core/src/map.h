/*
 * map.h - an open-addressing hash map keyed by (number, string).
 *
 * One structure serves every lookup of the core: ids (num = id, str =
 * NULL), users (num = 0, str = name) and streams (num = user id, str =
 * thread).  Linear probing, power-of-two capacity, load <= 3/4,
 * backward-shift deletion (no tombstones).
 *
 * The slot order depends on hashes, so nothing observable may iterate a
 * map: the core keeps ordered lists for that.  Walking `slots` directly is
 * only done at teardown, to free the values.
 *
 * Ownership: the map owns its slot array only.  Values are borrowed.
 *
 * A slot is 16 bytes: the value and one word, the number itself in a map of
 * numbers (its hash is recomputed when needed: a few multiplications), the
 * key's hash in a map of (number, string) keys, whose `key` function reads
 * the key back from the value (the string lives in the value).
 */
#ifndef CR_MAP_H
#define CR_MAP_H

#include "alloc.h"

typedef struct cr_map_slot {
    uint64_t word; /* numeric map: the number; keyed map: the key's hash */
    void *val;     /* NULL: empty slot */
} cr_map_slot;

/* A keyed map's key of value `val`: (*num, *str). */
typedef void (*cr_map_key_fn)(const void *val, uint64_t *num, const char **str);

typedef struct cr_map {
    cr_map_slot *slots; /* owned, cap entries */
    size_t cap;         /* 0 or a power of two */
    size_t len;
    cr_map_key_fn key; /* NULL: numeric keys (str NULL); set once, before the first put */
} cr_map;

/* cr_map_reserve makes room for `extra` more entries so that the next
 * `extra` cr_map_put calls cannot fail.  0 or CR_ENOMEM (map unchanged).
 * O(n) when it grows (rehash), O(1) otherwise. */
CR_INTERNAL int cr_map_reserve(cr_map *m, cr_mem *mem, size_t extra);

/* cr_map_get returns the value stored for (num, str), or NULL.  O(1)
 * expected, plus O(strlen) to hash. */
CR_INTERNAL void *cr_map_get(const cr_map *m, uint64_t num, const char *str);

/* cr_map_put inserts (num, str) -> val (val != NULL).  The key must be
 * absent and room reserved with cr_map_reserve (asserted: a put past the
 * 3/4 load bound would leave no empty slot).  O(1) expected. */
CR_INTERNAL void cr_map_put(cr_map *m, uint64_t num, const char *str, void *val);

/* cr_map_del removes (num, str) and returns its value (NULL if absent).
 * O(1) expected. */
CR_INTERNAL void *cr_map_del(cr_map *m, uint64_t num, const char *str);

/* cr_map_trim gives memory back: an empty map frees its slot array; a map
 * whose load fell under 1/16 is rehashed into a quarter-full array.  Best
 * effort: when that allocation fails the map stays as it was (a benign
 * failure, nothing else changes).  Must not run between a cr_map_reserve
 * and the puts it made room for (the core runs it in cr_ctx_commit).
 * O(1) when nothing is to do, O(cap) when it shrinks (amortised O(1) per
 * removal). */
CR_INTERNAL void cr_map_trim(cr_map *m, cr_mem *mem);

/* cr_map_free releases the slot array (not the values). */
CR_INTERNAL void cr_map_free(cr_map *m, cr_mem *mem);

#endif
