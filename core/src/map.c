/*
 * map.c - open-addressing hash map keyed by (number, string) (see map.h).
 */
#include <assert.h>
#include <string.h>

#include "map.h"

/* The splitmix64 finaliser: a cheap, well-mixing bijection of 64 bits. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* FNV-1a over the string, then mixed with the number.  O(strlen). */
static uint64_t key_hash(uint64_t num, const char *str)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    if (str) {
        for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
            h ^= *p;
            h *= UINT64_C(0x100000001b3);
        }
    }
    return mix64(h ^ mix64(num + 1));
}

/* The hash of the entry in slot s. */
static uint64_t slot_hash(const cr_map *m, const cr_map_slot *s)
{
    return m->key ? s->word : key_hash(s->word, NULL);
}

static int key_eq(const cr_map *m, const cr_map_slot *s, uint64_t hash, uint64_t num,
                  const char *str)
{
    if (!m->key)
        return s->word == num;
    if (s->word != hash)
        return 0;
    uint64_t n;
    const char *t;
    m->key(s->val, &n, &t);
    return n == num && strcmp(t, str) == 0;
}

/* The invariant of the open addressing: load <= 3/4, so that every probe
 * run ends at an empty slot (find, place and del stop there). */
static int has_room(size_t len, size_t cap)
{
    return cap && len * 4 <= cap * 3;
}

/* Places an entry known to be absent; room exists (an empty slot is
 * reached within cap probes).  O(1) expected. */
static void place(const cr_map *m, cr_map_slot *slots, size_t cap, const cr_map_slot *e)
{
    size_t mask = cap - 1;
    size_t i = (size_t)slot_hash(m, e) & mask;
    for (size_t n = 0; slots[i].val; n++) {
        assert(n < cap);
        i = (i + 1) & mask;
    }
    slots[i] = *e;
}

/* rehash moves every entry into a zeroed array of `cap` slots (cap a power
 * of two with room for every entry).  0 or CR_ENOMEM (map unchanged). */
static int rehash(cr_map *m, cr_mem *mem, size_t cap)
{
    cr_map_slot *slots = cr_mem_zalloc(mem, cap * sizeof *slots);
    if (!slots)
        return CR_ENOMEM;
    /* O(old capacity). */
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].val)
            place(m, slots, cap, &m->slots[i]);
    cr_mem_free(mem, m->slots, m->cap * sizeof *m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

#define MAP_MIN_CAP  8
#define MAP_TRIM_CAP 64 /* smaller arrays are kept while not empty */

void cr_map_trim(cr_map *m, cr_mem *mem)
{
    if (!m->len) {
        cr_map_free(m, mem);
        return;
    }
    if (m->cap <= MAP_TRIM_CAP || m->len * 16 >= m->cap)
        return;
    size_t cap = MAP_MIN_CAP;
    while (cap < m->len * 4)
        cap *= 2;
    (void)rehash(m, mem, cap); /* benign: on failure the larger array stays */
}

int cr_map_reserve(cr_map *m, cr_mem *mem, size_t extra)
{
    if (extra > SIZE_MAX / 4 - m->len)
        return CR_ENOMEM;
    size_t need = m->len + extra;
    if (need * 4 <= m->cap * 3)
        return 0; /* also when nothing is needed and nothing allocated */
    size_t cap = m->cap ? m->cap : MAP_MIN_CAP;
    while (!has_room(need, cap)) {
        if (cap > SIZE_MAX / 2 / sizeof(cr_map_slot))
            return CR_ENOMEM;
        cap *= 2;
    }
    return rehash(m, mem, cap);
}

/* Index of the slot holding the key, or SIZE_MAX. */
static size_t find(const cr_map *m, uint64_t num, const char *str)
{
    if (!m->len)
        return SIZE_MAX;
    uint64_t h = key_hash(num, str);
    size_t mask = m->cap - 1;
    /* Bounded by cap even if the invariant were broken. */
    size_t i = (size_t)h & mask;
    for (size_t n = 0; n < m->cap; n++, i = (i + 1) & mask) {
        if (!m->slots[i].val)
            return SIZE_MAX;
        if (key_eq(m, &m->slots[i], h, num, str))
            return i;
    }
    /* Load <= 3/4 guarantees an empty slot ends every probe run above. */
    return SIZE_MAX; /* GCOVR_EXCL_LINE: unreachable while the invariant holds */
}

void *cr_map_get(const cr_map *m, uint64_t num, const char *str)
{
    size_t i = find(m, num, str);
    return i == SIZE_MAX ? NULL : m->slots[i].val;
}

void cr_map_put(cr_map *m, uint64_t num, const char *str, void *val)
{
    /* Room must have been reserved: a put past the load bound would
     * leave no empty slot and every later probe would run forever. */
    assert(has_room(m->len + 1, m->cap));
    cr_map_slot e = {m->key ? key_hash(num, str) : num, val};
    place(m, m->slots, m->cap, &e);
    m->len++;
}

void *cr_map_del(cr_map *m, uint64_t num, const char *str)
{
    size_t i = find(m, num, str);
    if (i == SIZE_MAX)
        return NULL;
    void *val = m->slots[i].val;
    size_t mask = m->cap - 1;
    /* Backward-shift deletion: move later members of the probe run into
     * the hole when their home slot allows it.  O(run length). */
    size_t hole = i;
    size_t j = (i + 1) & mask;
    for (size_t n = 1; n < m->cap && m->slots[j].val; n++, j = (j + 1) & mask) {
        size_t home = (size_t)slot_hash(m, &m->slots[j]) & mask;
        /* j may move to hole iff home is not cyclically in (hole, j]. */
        int in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!in_range) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    memset(&m->slots[hole], 0, sizeof m->slots[hole]);
    m->len--;
    return val;
}

void cr_map_free(cr_map *m, cr_mem *mem)
{
    cr_mem_free(mem, m->slots, m->cap * sizeof *m->slots);
    m->slots = NULL;
    m->cap = m->len = 0;
}
