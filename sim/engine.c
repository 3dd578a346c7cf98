/*
 * engine.c - the event queue: a d-ary min-heap (binary while small, 4-ary
 * once large; either fixed for bench_engine's comparison) of 16-byte keys
 * (time, tiebreak); each
 * event's payload (kind, aux, a, b, seq) sits in a slot of its own that
 * never moves, its index in the key's low SIM_SLOT_BITS.  The tiebreak is
 * the insertion counter in the high bits, so equal times pop in FIFO
 * order (slots never decide: counters are distinct); in exploration mode
 * the high bits are a priority drawn from explore_rng instead, so
 * simultaneous events pop in a random order that is still a pure function
 * of the explore seed and the sequence of schedule calls (equal
 * priorities, a 2^-38 chance, fall back to the slot: also deterministic,
 * slots being reused last-freed first).  A key compares as one 128-bit
 * number.
 *
 * Moving 16-byte keys instead of 48-byte events is what makes the heap
 * fast.  A 4-ary node's children are one 64-byte cache line (the array is
 * aligned so that &keys[1] starts a line): one level costs a line and
 * three comparisons, and the tree is half as deep as a binary one, which
 * wins once the heap outgrows the caches; below that the binary heap's
 * single comparison per level wins.  So the heap starts binary and is
 * rebuilt 4-ary (O(n), once) when its array grows to ARITY_SWITCH keys.
 * The order of pops never depends on the arity: keys are distinct.  Pop is bottom-up (Floyd): the
 * hole goes down to a leaf along the smallest children, prefetching the grandchildren, then the
 * last key rises from there (it came from the bottom, so it rarely rises far). bench_engine
 * measures both arities at depths 1e1..1e6 (make bench). The arrays double when full (amortised
 * O(1) per schedule) and never shrink until sim_engine_free.
 *
 * PCT mode (engine.h) does not use that heap: each actor has its own heap
 * ordered by (time, seq), and the actors with pending events sit in a heap
 * keyed by their head event.  A pop walks that actor heap from the root,
 * visiting only the actors whose head is due within the window (a subtree
 * whose root is later than t_min + W holds nothing due earlier), picks the
 * highest priority among them and pops that actor's head.  Actor keys map
 * to dense indices through an open-addressing table, in the order actors
 * first schedule, so nothing depends on addresses or table order.
 */
#include "sim/engine.h"

#include <stdlib.h>
#include <string.h>

#define INITIAL_CAP 64
#define NO_POS      SIZE_MAX

/* The default mode's hot path must not pay for PCT or the tie counts. */
#if defined(__GNUC__) || defined(__clang__)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define COLD        __attribute__((noinline, cold))
#else
#define UNLIKELY(x) (x)
#define COLD
#endif

/* One actor of PCT mode: its pending events and its priority. */
typedef struct pct_actor {
    uint64_t key;
    uint64_t prio; /* higher runs first; change points set 1..D-1 */
    sim_event *ev; /* min-heap by (time, seq), owned */
    size_t len, cap;
    size_t pos; /* index in sim_pct.aheap, NO_POS when it has nothing pending */
} pct_actor;

struct sim_pct {
    sim_pct_opts o;
    sim_prng rng;
    pct_actor *actors;
    size_t nactors, capactors;
    uint32_t *table; /* open addressing: actor index + 1, 0 empty */
    size_t tcap;     /* power of two */
    uint32_t *aheap; /* actors with pending events, min-heap by their head (time, seq) */
    size_t alen;
    size_t capaux;                      /* entries of aheap, scratch and stack */
    uint32_t *scratch;                  /* the actors due within the window, during a pop */
    size_t *stack;                      /* the walk of aheap */
    uint64_t change[SIM_PCT_MAX_DEPTH]; /* change point steps, ascending */
    uint32_t nchange, next_change;
};

#define SLOT_MASK ((UINT64_C(1) << SIM_SLOT_BITS) - 1)
/* The automatic arity: binary while the key array is smaller, 4-ary from
 * there (bench_engine: the binary heap is faster up to ~1e4 pending, the
 * 4-ary one beyond, once the heap no longer fits the caches). */
#define ARITY_SWITCH 65536
#define SEQ_MAX      (UINT64_C(1) << (64 - SIM_SLOT_BITS))

/* key_lt: does key x pop before key y?  One 128-bit comparison. */
static inline int key_lt(const sim_key *x, const sim_key *y)
{
#if defined(__SIZEOF_INT128__)
    return (((unsigned __int128)x->time << 64) | x->tb) <
           (((unsigned __int128)y->time << 64) | y->tb);
#else
    return x->time != y->time ? x->time < y->time : x->tb < y->tb;
#endif
}

void sim_engine_init(sim_engine *e, int explore, uint64_t explore_seed)
{
    memset(e, 0, sizeof *e);
    e->arity = 2;
    e->auto_arity = 1;
    e->explore = explore != 0;
    /* A stream of its own: the explore seed may well be the run seed. */
    sim_prng_derive(&e->explore_rng, explore_seed, SIM_STREAM_SCHEDULE, 0);
}

static void pct_free(struct sim_pct *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nactors; i++)
        free(p->actors[i].ev);
    free(p->actors);
    free(p->table);
    free(p->aheap);
    free(p->scratch);
    free(p->stack);
    free(p);
}

int sim_engine_set_arity(sim_engine *e, unsigned arity)
{
    if ((arity != 0 && arity != 2 && arity != 4) || e->len || e->cap)
        return -1;
    e->arity = arity ? arity : 2;
    e->auto_arity = arity == 0;
    return 0;
}

void sim_engine_free(sim_engine *e)
{
    free(e->keys_mem);
    free(e->slots);
    free(e->free);
    e->keys = NULL;
    e->keys_mem = NULL;
    e->slots = NULL;
    e->free = NULL;
    e->len = e->cap = e->nfree = e->nslots = 0;
    pct_free(e->pct);
    e->pct = NULL;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

int sim_engine_set_pct(sim_engine *e, const sim_pct_opts *o, uint64_t explore_seed)
{
    if (!o || o->depth == 0 || o->depth > SIM_PCT_MAX_DEPTH || o->steps == 0 || e->len || e->pct)
        return -1;
    struct sim_pct *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->o = *o;
    sim_prng_derive(&p->rng, explore_seed, SIM_STREAM_SCHEDULE, 1);
    p->nchange = o->depth - 1;
    for (uint32_t i = 0; i < p->nchange; i++)
        p->change[i] = 1 + sim_prng_below(&p->rng, o->steps);
    qsort(p->change, p->nchange, sizeof p->change[0], cmp_u64);
    e->pct = p;
    e->explore = 0;
    return 0;
}

/* sift_down4 moves key i of a 4-ary heap of n keys down to its place
 * (for the rebuild when the heap becomes 4-ary).  O(log n). */
static void sift_down4(sim_key *h, size_t n, size_t i)
{
    sim_key k = h[i];
    for (;;) {
        size_t c = 4 * i + 1, m = c;
        if (c >= n)
            break;
        for (size_t j = c + 1; j < c + 4 && j < n; j++)
            if (key_lt(&h[j], &h[m]))
                m = j;
        if (!key_lt(&h[m], &k))
            break;
        h[i] = h[m];
        i = m;
    }
    h[i] = k;
}

/* grow doubles the key, slot and free-slot arrays.  The keys are
 * allocated so that &keys[1], the root's children, starts a 64-byte line
 * (then every d-ary sibling group does).  0 or -1. */
static int grow(sim_engine *e)
{
    size_t ncap = e->cap ? e->cap * 2 : INITIAL_CAP;
    if (ncap > (size_t)SLOT_MASK + 1)
        ncap = (size_t)SLOT_MASK + 1;
    if (ncap <= e->cap || ncap > SIZE_MAX / sizeof(sim_slot) - 8)
        return -1;
    /* 4-ary: keys = km + 3, so keys[1] = km + 4 (64 bytes in) and every
     * group of four siblings is one line; binary: keys = km + 1, so every
     * sibling pair is one aligned half line. */
    unsigned was = e->arity;
    if (e->auto_arity && ncap >= ARITY_SWITCH)
        e->arity = 4;
    size_t off = e->arity == 4 ? 3 : 1;
    size_t bytes = (ncap + off) * sizeof(sim_key);
    void *km = aligned_alloc(64, (bytes + 63) / 64 * 64);
    sim_slot *sl = km ? realloc(e->slots, ncap * sizeof(sim_slot)) : NULL;
    if (sl)
        e->slots = sl;
    uint32_t *fr = sl ? realloc(e->free, ncap * sizeof(uint32_t)) : NULL;
    if (fr)
        e->free = fr;
    if (!fr) {
        free(km);
        e->arity = was;
        return -1;
    }
    sim_key *k = (sim_key *)km + off;
    if (e->len)
        memcpy(k, e->keys, e->len * sizeof(sim_key));
    if (e->arity != was) /* rebuild as a 4-ary heap (Floyd): O(n), once */
        for (size_t i = e->len / 4 + 1; i-- > 0;)
            if (i < e->len)
                sift_down4(k, e->len, i);
    free(e->keys_mem);
    e->keys_mem = km;
    e->keys = k;
    e->cap = ncap;
    return 0;
}

/* sift_up puts key k into the hole at i, moving parents down.  O(log n). */
static inline __attribute__((always_inline)) void sift_up(sim_key *h, size_t i, sim_key k,
                                                          unsigned d)
{
    while (i > 0) {
        size_t parent = (i - 1) / d;
        if (!key_lt(&k, &h[parent]))
            break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = k;
}

/* heap_push adds key k (room: the caller's). */
static inline __attribute__((always_inline)) void heap_push(sim_engine *e, sim_key k, unsigned d)
{
    sift_up(e->keys, e->len++, k, d);
}

/* heap_pop removes the root (len >= 1) and returns it. */
static inline __attribute__((always_inline)) sim_key heap_pop(sim_engine *e, unsigned d)
{
    sim_key *h = e->keys;
    sim_key top = h[0];
    size_t n = --e->len;
    if (n == 0)
        return top;
    const sim_key last = h[n];
    size_t i = 0;
    for (;;) {
        size_t c = d * i + 1;
        if (c >= n)
            break;
#if defined(__GNUC__) || defined(__clang__)
        if (d * c + 1 < n) { /* the grandchildren: d lines (4-ary), 64 bytes (binary) */
            if (d == 4) {
                for (unsigned j = 0; j < 4; j++)
                    __builtin_prefetch(&h[4 * (c + j) + 1]);
            } else {
                __builtin_prefetch(&h[2 * c + 1]);
                __builtin_prefetch(&h[2 * c + 4]);
            }
        }
#endif
        size_t m = c;
        size_t end = c + d < n ? c + d : n;
        for (size_t j = c + 1; j < end; j++)
            m = key_lt(&h[j], &h[m]) ? j : m;
        h[i] = h[m];
        i = m;
    }
    sift_up(h, i, last, d);
    return top;
}

static COLD int pct_schedule(sim_engine *e, uint64_t actor, uint64_t at, uint32_t kind,
                             uint32_t aux, uint64_t a, uint64_t b);

int sim_engine_schedule(sim_engine *e, uint64_t at, uint32_t kind, uint32_t aux, uint64_t a,
                        uint64_t b)
{
    return sim_engine_schedule_as(e, 0, at, kind, aux, a, b);
}

int sim_engine_schedule_as(sim_engine *e, uint64_t actor, uint64_t at, uint32_t kind, uint32_t aux,
                           uint64_t a, uint64_t b)
{
    if (at < e->now)
        return -1;
    if (UNLIKELY(e->pct))
        return pct_schedule(e, actor, at, kind, aux, a, b);
    if (e->len == e->cap && grow(e) < 0)
        return -1;
    if (UNLIKELY(e->counter >= SEQ_MAX))
        return -1;
    uint64_t slot = e->nfree ? e->free[--e->nfree] : e->nslots++;
    uint64_t seq = e->counter++;
    sim_slot *s = &e->slots[slot];
    s->seq = seq;
    s->kind = kind;
    s->aux = aux;
    s->a = a;
    s->b = b;
    uint64_t hi = UNLIKELY(e->explore) ? sim_prng_next(&e->explore_rng) >> SIM_SLOT_BITS : seq;
    sim_key k = {at, hi << SIM_SLOT_BITS | slot};
    if (e->arity == 4)
        heap_push(e, k, 4);
    else
        heap_push(e, k, 2);
    return 0;
}

static COLD int pct_pop(sim_engine *e, sim_event *out);

/* count_tie: an event overtaken by a simultaneous later-scheduled one pops
 * after it, its seq below the highest popped at this time (explore). */
static COLD void count_tie(sim_engine *e, const sim_event *out)
{
    if (out->time == e->tie_time && out->seq < e->tie_seq)
        e->stats.tie_reorders++;
    else if (out->time != e->tie_time || out->seq > e->tie_seq) {
        e->tie_time = out->time;
        e->tie_seq = out->seq;
    }
}

int sim_engine_pop(sim_engine *e, sim_event *out)
{
    if (UNLIKELY(e->pct))
        return pct_pop(e, out);
    if (e->len == 0)
        return 0;
    sim_key top = e->arity == 4 ? heap_pop(e, 4) : heap_pop(e, 2);
    uint32_t slot = (uint32_t)(top.tb & SLOT_MASK);
    const sim_slot *s = &e->slots[slot];
    e->free[e->nfree++] = slot;
    out->time = top.time;
    out->prio = e->explore ? top.tb >> SIM_SLOT_BITS : 0;
    out->seq = s->seq;
    out->kind = s->kind;
    out->aux = s->aux;
    out->a = s->a;
    out->b = s->b;
    e->now = out->time;
    e->steps++;
    if (UNLIKELY(e->explore))
        count_tie(e, out);
    return 1;
}

uint64_t sim_engine_peek_time(const sim_engine *e)
{
    if (e->pct)
        return e->pct->alen ? e->pct->actors[e->pct->aheap[0]].ev[0].time : UINT64_MAX;
    return e->len ? e->keys[0].time : UINT64_MAX;
}

size_t sim_engine_bytes(const sim_engine *e)
{
    size_t b = e->cap ? ((e->cap + 3) * sizeof(sim_key) + 63) / 64 * 64 +
                            e->cap * (sizeof(sim_slot) + sizeof(uint32_t))
                      : 0;
    if (e->pct) {
        const struct sim_pct *p = e->pct;
        b += sizeof *p + p->capactors * sizeof(pct_actor) + p->tcap * sizeof(uint32_t) +
             p->capaux * (2 * sizeof(uint32_t) + sizeof(size_t));
        for (size_t i = 0; i < p->nactors; i++)
            b += p->actors[i].cap * sizeof(sim_event);
    }
    return b;
}

void sim_engine_get_stats(const sim_engine *e, sim_engine_stats *out)
{
    *out = e->stats;
    if (e->pct) {
        out->actors = e->pct->nactors;
        out->change_points = e->pct->next_change;
    }
}

double sim_pct_bound(uint64_t n, uint64_t k, uint32_t d)
{
    if (n == 0 || k == 0)
        return 0.0;
    double p = 1.0 / (double)n;
    for (uint32_t i = 1; i < d; i++)
        p /= (double)k;
    return p;
}

/* ---- PCT ------------------------------------------------------------------------ */

/* ev_before: (time, seq) order within one actor. */
static inline int ev_before(const sim_event *x, const sim_event *y)
{
    return x->time != y->time ? x->time < y->time : x->seq < y->seq;
}

static int grow_buf(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    if (ncap > SIZE_MAX / elem)
        return -1;
    void *q = realloc(*buf, ncap * elem);
    if (!q)
        return -1;
    *buf = q;
    *cap = ncap;
    return 0;
}

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    return k;
}

/* actor_index returns the dense index of key, adding the actor (with a
 * random priority above every change point's) on first sight; -1 on
 * allocation failure. */
static int64_t actor_index(struct sim_pct *p, uint64_t key)
{
    if (2 * (p->nactors + 1) > p->tcap) {
        size_t ncap = p->tcap ? p->tcap * 2 : 64;
        uint32_t *t = calloc(ncap, sizeof *t);
        if (!t)
            return -1;
        for (size_t i = 0; i < p->nactors; i++) {
            size_t h = mix(p->actors[i].key) & (ncap - 1);
            while (t[h])
                h = (h + 1) & (ncap - 1);
            t[h] = (uint32_t)i + 1;
        }
        free(p->table);
        p->table = t;
        p->tcap = ncap;
    }
    size_t h = mix(key) & (p->tcap - 1);
    while (p->table[h]) {
        if (p->actors[p->table[h] - 1].key == key)
            return p->table[h] - 1;
        h = (h + 1) & (p->tcap - 1);
    }
    if (grow_buf((void **)&p->actors, &p->capactors, p->nactors + 1, sizeof(pct_actor)))
        return -1;
    if (p->capaux < p->capactors + 1) { /* aheap, scratch and stack hold every actor */
        size_t n = p->capactors + 1;
        uint32_t *ah = realloc(p->aheap, n * sizeof *ah);
        if (ah)
            p->aheap = ah;
        uint32_t *sc = ah ? realloc(p->scratch, n * sizeof *sc) : NULL;
        if (sc)
            p->scratch = sc;
        size_t *st = sc ? realloc(p->stack, n * sizeof *st) : NULL;
        if (!st)
            return -1;
        p->stack = st;
        p->capaux = n;
    }
    pct_actor *a = &p->actors[p->nactors];
    memset(a, 0, sizeof *a);
    a->key = key;
    /* Distinct with overwhelming probability; equal ones fall back to the
     * index (see higher()), so the order is total either way. */
    a->prio = sim_prng_next(&p->rng) | (UINT64_C(1) << 63);
    a->pos = NO_POS;
    p->table[h] = (uint32_t)p->nactors + 1;
    return (int64_t)p->nactors++;
}

/* head_before: does actor x's head event come before actor y's? */
static inline int head_before(const struct sim_pct *p, uint32_t x, uint32_t y)
{
    return ev_before(&p->actors[x].ev[0], &p->actors[y].ev[0]);
}

static void aheap_set(struct sim_pct *p, size_t i, uint32_t a)
{
    p->aheap[i] = a;
    p->actors[a].pos = i;
}

static void aheap_up(struct sim_pct *p, size_t i)
{
    uint32_t a = p->aheap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!head_before(p, a, p->aheap[parent]))
            break;
        aheap_set(p, i, p->aheap[parent]);
        i = parent;
    }
    aheap_set(p, i, a);
}

static void aheap_down(struct sim_pct *p, size_t i)
{
    uint32_t a = p->aheap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= p->alen)
            break;
        if (c + 1 < p->alen && head_before(p, p->aheap[c + 1], p->aheap[c]))
            c++;
        if (!head_before(p, p->aheap[c], a))
            break;
        aheap_set(p, i, p->aheap[c]);
        i = c;
    }
    aheap_set(p, i, a);
}

static int pct_schedule(sim_engine *e, uint64_t actor, uint64_t at, uint32_t kind, uint32_t aux,
                        uint64_t a, uint64_t b)
{
    struct sim_pct *p = e->pct;
    int64_t ix = actor_index(p, actor);
    if (ix < 0)
        return -1;
    pct_actor *ac = &p->actors[ix];
    if (grow_buf((void **)&ac->ev, &ac->cap, ac->len + 1, sizeof(sim_event)))
        return -1;
    sim_event ev = {
        .time = at, .prio = actor, .seq = e->counter++, .kind = kind, .aux = aux, .a = a, .b = b};
    size_t i = ac->len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ev_before(&ev, &ac->ev[parent]))
            break;
        ac->ev[i] = ac->ev[parent];
        i = parent;
    }
    ac->ev[i] = ev;
    if (ac->pos == NO_POS) {
        p->aheap[p->alen] = (uint32_t)ix;
        ac->pos = p->alen++;
        aheap_up(p, ac->pos);
    } else if (i == 0) {
        aheap_up(p, ac->pos); /* its head moved earlier */
    }
    e->len++;
    return 0;
}

/* higher: does actor x run before actor y (priority, then the lower index)? */
static inline int higher(const struct sim_pct *p, uint32_t x, uint32_t y)
{
    const pct_actor *a = &p->actors[x], *b = &p->actors[y];
    return a->prio != b->prio ? a->prio > b->prio : x < y;
}

static int pct_pop(sim_engine *e, sim_event *out)
{
    struct sim_pct *p = e->pct;
    if (p->alen == 0)
        return 0;
    uint64_t tmin = p->actors[p->aheap[0]].ev[0].time;
    uint64_t limit = tmin + p->o.window < tmin ? UINT64_MAX : tmin + p->o.window;
    /* The actors due within the window: a pruned walk of the actor heap. */
    size_t ndue = 0, sp = 0;
    p->stack[sp++] = 0;
    while (sp) {
        size_t i = p->stack[--sp];
        uint32_t a = p->aheap[i];
        if (p->actors[a].ev[0].time > limit)
            continue;
        p->scratch[ndue++] = a;
        if (2 * i + 1 < p->alen)
            p->stack[sp++] = 2 * i + 1;
        if (2 * i + 2 < p->alen)
            p->stack[sp++] = 2 * i + 2;
    }
    uint32_t best = p->scratch[0];
    for (size_t j = 1; j < ndue; j++)
        if (higher(p, p->scratch[j], best))
            best = p->scratch[j];
    pct_actor *ac = &p->actors[best];
    *out = ac->ev[0];
    if (out->time > tmin) {
        e->stats.window_reorders++;
    } else {
        for (size_t j = 0; j < ndue; j++) {
            const sim_event *h = &p->actors[p->scratch[j]].ev[0];
            if (p->scratch[j] != best && h->time == tmin && h->seq < out->seq) {
                e->stats.tie_reorders++;
                break;
            }
        }
    }
    /* Pop the actor's head, then fix its place among the actors. */
    size_t n = --ac->len;
    if (n > 0) {
        const sim_event last = ac->ev[n];
        size_t i = 0;
        for (;;) {
            size_t c = 2 * i + 1;
            if (c >= n)
                break;
            if (c + 1 < n && ev_before(&ac->ev[c + 1], &ac->ev[c]))
                c++;
            if (!ev_before(&ac->ev[c], &last))
                break;
            ac->ev[i] = ac->ev[c];
            i = c;
        }
        ac->ev[i] = last;
        aheap_down(p, ac->pos);
    } else {
        size_t pos = ac->pos;
        ac->pos = NO_POS;
        if (--p->alen > pos) {
            uint32_t moved = p->aheap[p->alen];
            aheap_set(p, pos, moved);
            aheap_down(p, pos);
            aheap_up(p, p->actors[moved].pos);
        }
    }
    e->len--;
    if (out->time > e->now)
        e->now = out->time;
    else if (e->now - out->time > e->stats.max_delay)
        e->stats.max_delay = e->now - out->time;
    e->steps++;
    /* A change point: the actor that just ran drops below every other. */
    while (p->next_change < p->nchange && p->change[p->next_change] <= e->steps) {
        p->next_change++;
        ac->prio = (uint64_t)(p->o.depth - p->next_change);
    }
    return 1;
}
