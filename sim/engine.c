/*
 * engine.c - the event queue: a binary min-heap in one array, ordered by
 * (time, prio, seq).  seq is an insertion counter, so equal (time, prio)
 * pop in FIFO order; prio is 0 except in exploration mode, where each
 * scheduled event draws it from explore_rng, so simultaneous events pop in
 * a random order that is still a pure function of the explore seed and the
 * sequence of schedule calls.
 *
 * The heap is 0-based: the children of i are 2i+1 and 2i+2.  Push and pop
 * move a "hole" instead of swapping, so each level costs one comparison
 * and one 48-byte copy.  Pop is bottom-up (Floyd): the hole goes down to a
 * leaf along the smaller children, then the last element rises from there,
 * which saves a comparison per level; while descending it prefetches the
 * grandchildren, which for heaps larger than the cache (1e6 events = 48 MB)
 * overlaps the next level's cache misses with this level's work (about
 * 1.7x faster at N = 1e6 in bench_engine).  The array doubles when full
 * (amortised O(1) per schedule) and never shrinks until sim_engine_free.
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

/* before: does x pop before y? */
static inline int before(const sim_event *x, const sim_event *y)
{
    if (x->time != y->time)
        return x->time < y->time;
    if (x->prio != y->prio)
        return x->prio < y->prio;
    return x->seq < y->seq;
}

void sim_engine_init(sim_engine *e, int explore, uint64_t explore_seed)
{
    memset(e, 0, sizeof *e);
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

void sim_engine_free(sim_engine *e)
{
    free(e->heap);
    e->heap = NULL;
    e->len = e->cap = 0;
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

static int grow(sim_engine *e)
{
    size_t ncap = e->cap ? e->cap * 2 : INITIAL_CAP;
    if (ncap < e->cap || ncap > SIZE_MAX / sizeof(sim_event))
        return -1;
    sim_event *h = realloc(e->heap, ncap * sizeof(sim_event));
    if (!h)
        return -1;
    e->heap = h;
    e->cap = ncap;
    return 0;
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
    sim_event ev;
    ev.time = at;
    ev.prio = e->explore ? sim_prng_next(&e->explore_rng) : 0;
    ev.seq = e->counter++;
    ev.kind = kind;
    ev.aux = aux;
    ev.a = a;
    ev.b = b;

    /* Sift up: move parents down into the hole until ev fits. */
    sim_event *h = e->heap;
    size_t i = e->len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&ev, &h[parent]))
            break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = ev;
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
    sim_event *h = e->heap;
    *out = h[0];
    size_t n = --e->len;
    if (n > 0) {
        /* Bottom-up (Floyd): walk the hole down to a leaf along the smaller
         * children (one comparison per level), then sift the last element
         * up from there; it came from the bottom, so it rarely rises far. */
        const sim_event last = h[n];
        size_t i = 0;
        for (;;) {
            size_t c = 2 * i + 1;
            if (c >= n)
                break;
#if defined(__GNUC__) || defined(__clang__)
            if (4 * i + 6 < n) { /* grandchildren 4i+3 .. 4i+6: 192 bytes */
                __builtin_prefetch(&h[4 * i + 3]);
                __builtin_prefetch((const char *)&h[4 * i + 3] + 64);
                __builtin_prefetch((const char *)&h[4 * i + 3] + 128);
                __builtin_prefetch((const char *)&h[4 * i + 3] + 191);
            }
#endif
            if (c + 1 < n && before(&h[c + 1], &h[c]))
                c++;
            h[i] = h[c];
            i = c;
        }
        while (i > 0) {
            size_t parent = (i - 1) / 2;
            if (!before(&last, &h[parent]))
                break;
            h[i] = h[parent];
            i = parent;
        }
        h[i] = last;
    }
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
    return e->len ? e->heap[0].time : UINT64_MAX;
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
