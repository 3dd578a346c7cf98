/*
 * shrink.c - ddmin over a scenario (shrink.h).
 *
 * A candidate is made on a copy of the current scenario (emitted and loaded
 * again, so it is always a scenario the loader accepts), changed as a
 * struct, emitted and loaded once more (the loader is the judge of
 * validity: a script whose first step is no longer `connect`, a name used
 * before it is bound, an empty repeat are refused and the candidate is
 * skipped), then one seed is run.  Accepted candidates replace the current
 * scenario.  The order of the passes puts the cheap, large reductions first
 * (users, tabs), so the many step candidates run on a small world.
 */
#include "sim/shrink.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/emit.h"
#include "sim/verdict.h"

/* ---- judging one seed ------------------------------------------------------- */

static double seed_rate(const sim_seed_result *r)
{
    uint64_t e = r->c[SIM_COUNT_EXPECTED];
    return e ? (double)r->c[SIM_COUNT_DELIVERED] / (double)e : 1.0;
}

int sim_failure_judge(const sim_scenario *sc, const sim_sweep_opts *so, const sim_world_opts *wo,
                      int with_rate, sim_failure *out)
{
    cr_policy pol;
    sim_seed_result *res;
    memset(out, 0, sizeof *out);
    out->cause = -1;
    if (!sc || !so || !wo || sim_sweep_policy(sc, so, &pol, NULL, 0) != 0)
        return -1;
    res = calloc(1, sizeof *res);
    if (!res)
        return -1;
    sim_world_run(sc, &pol, wo, res, NULL); /* a livelock or error is in the counts */
    sim_seed_judge(sc, res);
    memcpy(out->counts, res->c, sizeof out->counts);
    for (int i = 0; i < SIM_COUNT__N && i < 64; i++)
        if (i != SIM_COUNT_EXPECTED && sim_expect_limit(sc->expect.max, i) == 0 && res->c[i] > 0)
            out->misses |= UINT64_C(1) << i;
    out->trace_hash = res->trace_hash;
    if (!res->pass) {
        out->failed = 1;
        snprintf(out->kind, sizeof out->kind, "%s", sim_seed_failure_kind(sc->expect.max, res));
        snprintf(out->reason, sizeof out->reason, "%s", res->reason);
    } else if (with_rate && sc->expect.has_rate && res->c[SIM_COUNT_EXPECTED] > 0 &&
               seed_rate(res) < sc->expect.delivery_rate) {
        uint64_t best = 0;
        for (int k = 0; k < SIM_CAUSE__N; k++)
            if (res->c[sim_cause_count(k)] > best) {
                best = res->c[sim_cause_count(k)];
                out->cause = k;
            }
        out->failed = 1;
        snprintf(out->kind, sizeof out->kind, "delivery_rate");
        snprintf(
            out->reason, sizeof out->reason,
            "delivery_rate %.4f (%" PRIu64 "/%" PRIu64 ") < %.4g, mostly %s (%" PRIu64 " lost)",
            seed_rate(res), res->c[SIM_COUNT_DELIVERED], res->c[SIM_COUNT_EXPECTED],
            sc->expect.delivery_rate, out->cause >= 0 ? sim_cause_name(out->cause) : "-", best);
    }
    free(res);
    return 0;
}

int sim_failure_same(const sim_failure *a, const sim_failure *b)
{
    return a->failed && b->failed && strcmp(a->kind, b->kind) == 0 && a->cause == b->cause &&
           (b->misses & ~a->misses) == 0;
}

/* ---- sizes ------------------------------------------------------------------ */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void count_steps(const sim_step *st, size_t n, size_t *all, uint64_t *unrolled)
{
    *unrolled = 0;
    for (size_t i = 0; i < n; i++) {
        (*all)++;
        if (st[i].kind == SIM_STEP_REPEAT) {
            uint64_t body = 0;
            count_steps(st[i].steps, st[i].nsteps, all, &body);
            *unrolled = sat_add(*unrolled, body > UINT64_MAX / (st[i].times ? st[i].times : 1)
                                               ? UINT64_MAX
                                               : body * st[i].times);
        } else {
            *unrolled = sat_add(*unrolled, 1);
        }
    }
}

void sim_scenario_size_of(const sim_scenario *s, sim_scenario_size *z)
{
    memset(z, 0, sizeof *z);
    count_steps(s->steps, s->nsteps, &z->steps, &z->unrolled);
    z->users = s->users;
    if (sim_dist_format(&s->clients_per_user, z->tabs, sizeof z->tabs))
        snprintf(z->tabs, sizeof z->tabs, "?");
    z->faults = (s->thread_update_fail > 0) + (s->disconnect > 0);
    z->policy = s->npolicy;
    z->agent_events = s->nagent_events;
    z->horizon = s->horizon;
}

int sim_scenario_size_format(const sim_scenario_size *z, char *buf, size_t len)
{
    char h[48];
    if (sim_emit_duration(z->horizon, h, sizeof h))
        return -1;
    int n = snprintf(buf, len,
                     "steps %zu (%" PRIu64 " unrolled), users %" PRIu32
                     ", tabs/user %s, faults %d, policy %zu, agent events %zu, horizon %s",
                     z->steps, z->unrolled, z->users, z->tabs, z->faults, z->policy,
                     z->agent_events, h);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ---- candidates ------------------------------------------------------------- */

typedef struct shr {
    const sim_shrink_opts *o;
    sim_failure want;
    sim_scenario *cur;
    uint32_t runs, accepted, max_runs;
} shr;

static sim_scenario *reload(const sim_scenario *s)
{
    char *t = NULL;
    size_t n = 0;
    sim_scenario *c = NULL;
    if (sim_scenario_emit(s, &t, &n))
        return NULL;
    if (sim_scenario_load_string(s->path, t, n, &c, NULL))
        c = NULL;
    free(t);
    return c;
}

static int out_of_runs(const shr *x)
{
    return x->runs >= x->max_runs;
}

/* try_cand judges candidate `c` (consumed): 1 accepted (it becomes the
 * current scenario), 0 not. */
static int try_cand(shr *x, sim_scenario *c)
{
    sim_scenario *v;
    sim_failure f;
    if (!c)
        return 0;
    v = reload(c);
    sim_scenario_free(c);
    if (!v || out_of_runs(x)) {
        sim_scenario_free(v);
        return 0;
    }
    x->runs++;
    if (sim_failure_judge(v, x->o->sweep, &x->o->world, x->o->with_rate, &f) != 0 ||
        !sim_failure_same(&x->want, &f)) {
        sim_scenario_free(v);
        return 0;
    }
    sim_scenario_free(x->cur);
    x->cur = v;
    x->accepted++;
    return 1;
}

static void free_steps(sim_step *st, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free_steps(st[i].steps, st[i].nsteps);
    free(st);
}

/* list_at finds the step list at `path` (indices of repeat steps from the
 * top): its array and count fields.  0, or -1 when the path is stale. */
static int list_at(sim_scenario *s, const size_t *path, int depth, sim_step ***arr, size_t **n)
{
    sim_step **a = &s->steps;
    size_t *k = &s->nsteps;
    for (int d = 0; d < depth; d++) {
        if (path[d] >= *k || (*a)[path[d]].kind != SIM_STEP_REPEAT)
            return -1;
        sim_step *r = &(*a)[path[d]];
        a = &r->steps;
        k = &r->nsteps;
    }
    *arr = a;
    *n = k;
    return 0;
}

static size_t list_len(shr *x, const size_t *path, int depth)
{
    sim_step **a;
    size_t *n;
    return list_at(x->cur, path, depth, &a, &n) ? 0 : *n;
}

/* cand_remove: a copy without steps [from, to) of the list at path. */
static sim_scenario *cand_remove(shr *x, const size_t *path, int depth, size_t from, size_t to)
{
    sim_scenario *c = reload(x->cur);
    sim_step **a;
    size_t *n;
    if (!c || list_at(c, path, depth, &a, &n) || to > *n || from >= to) {
        sim_scenario_free(c);
        return NULL;
    }
    for (size_t i = from; i < to; i++)
        free_steps((*a)[i].steps, (*a)[i].nsteps);
    memmove(*a + from, *a + to, (*n - to) * sizeof **a);
    *n -= to - from;
    return c;
}

/* cand_unwrap: a copy with repeat `i` of the list at path replaced by its
 * body (run once). */
static sim_scenario *cand_unwrap(shr *x, const size_t *path, int depth, size_t i)
{
    sim_scenario *c = reload(x->cur);
    sim_step **a, *na;
    size_t *n;
    if (!c || list_at(c, path, depth, &a, &n) || i >= *n || (*a)[i].kind != SIM_STEP_REPEAT) {
        sim_scenario_free(c);
        return NULL;
    }
    sim_step rep = (*a)[i];
    size_t total = *n - 1 + rep.nsteps;
    na = calloc(total ? total : 1, sizeof *na);
    if (!na) {
        sim_scenario_free(c);
        return NULL;
    }
    memcpy(na, *a, i * sizeof *na);
    memcpy(na + i, rep.steps, rep.nsteps * sizeof *na);
    memcpy(na + i + rep.nsteps, *a + i + 1, (*n - i - 1) * sizeof *na);
    free(rep.steps); /* its elements moved */
    free(*a);
    *a = na;
    *n = total;
    return c;
}

/* cand_times: a copy with repeat i's times set to t. */
static sim_scenario *cand_times(shr *x, const size_t *path, int depth, size_t i, uint32_t t)
{
    sim_scenario *c = reload(x->cur);
    sim_step **a;
    size_t *n;
    if (!c || list_at(c, path, depth, &a, &n) || i >= *n || (*a)[i].kind != SIM_STEP_REPEAT) {
        sim_scenario_free(c);
        return NULL;
    }
    (*a)[i].times = t;
    return c;
}

#define MAX_DEPTH 16

/* ddmin_list: ddmin over the list at path (chunks removed, granularity
 * doubling when nothing goes), then into every repeat it holds. */
static int ddmin_list(shr *x, size_t *path, int depth)
{
    int changed = 0;
    size_t gran = 2;
    for (;;) {
        size_t len = list_len(x, path, depth);
        if (len == 0 || out_of_runs(x))
            break;
        if (gran > len)
            gran = len;
        size_t chunk = (len + gran - 1) / gran;
        int hit = 0;
        for (size_t start = 0; start < len && !hit && !out_of_runs(x); start += chunk) {
            size_t end = start + chunk < len ? start + chunk : len;
            hit = try_cand(x, cand_remove(x, path, depth, start, end));
        }
        if (hit) {
            changed = 1;
            gran = gran > 2 ? gran - 1 : 2;
            continue;
        }
        if (chunk == 1)
            break;
        gran = 2 * gran < len ? 2 * gran : len;
    }
    if (depth + 1 >= MAX_DEPTH)
        return changed;
    for (size_t i = 0; i < list_len(x, path, depth) && !out_of_runs(x); i++) {
        sim_step **a;
        size_t *n;
        if (list_at(x->cur, path, depth, &a, &n) || (*a)[i].kind != SIM_STEP_REPEAT)
            continue;
        if (try_cand(x, cand_unwrap(x, path, depth, i))) {
            changed = 1;
            i--; /* the body's first step is at i now */
            continue;
        }
        uint32_t t = (*a)[i].times;
        if (t > 1 && (try_cand(x, cand_times(x, path, depth, i, 1)) ||
                      try_cand(x, cand_times(x, path, depth, i, t / 2)) ||
                      try_cand(x, cand_times(x, path, depth, i, t - 1))))
            changed = 1;
        path[depth] = i;
        changed |= ddmin_list(x, path, depth + 1);
    }
    return changed;
}

/* ---- scalar reductions ------------------------------------------------------ */

static int has_foreign(const sim_step *st, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((st[i].kind == SIM_STEP_SEND || st[i].kind == SIM_STEP_SWITCH) &&
             st[i].ref.kind == SIM_REF_FOREIGN) ||
            (st[i].kind == SIM_STEP_REPEAT && has_foreign(st[i].steps, st[i].nsteps)))
            return 1;
    return 0;
}

/* try_users lowers users; never below 2 while the script probes a foreign
 * thread (with one user, "the next user" is the user itself: the probe
 * would become a thread of its own and the failure another one). */
static int try_users(shr *x)
{
    int changed = 0;
    for (;;) {
        uint32_t u = x->cur->users, lo = has_foreign(x->cur->steps, x->cur->nsteps) ? 2 : 1;
        uint32_t cands[3] = {lo, u / 2, u - 1};
        int hit = 0;
        if (u <= lo || out_of_runs(x))
            break;
        for (int k = 0; k < 3 && !hit; k++) {
            if (cands[k] < lo || cands[k] >= u || (k > 0 && cands[k] == cands[k - 1]))
                continue;
            sim_scenario *c = reload(x->cur);
            if (c)
                c->users = cands[k];
            hit = try_cand(x, c);
        }
        if (!hit)
            break;
        changed = 1;
    }
    return changed;
}

static int try_tabs(shr *x)
{
    int changed = 0;
    sim_dist *d = &x->cur->clients_per_user;
    if (d->kind != SIM_DIST_CONST) {
        double m = floor(sim_dist_quantile(d, 0.5) + 0.5);
        sim_scenario *c = reload(x->cur);
        if (c)
            sim_dist_const(&c->clients_per_user, m < 1 ? 1 : m > 64 ? 64 : m, 0);
        changed |= try_cand(x, c);
    }
    while (x->cur->clients_per_user.kind == SIM_DIST_CONST && x->cur->clients_per_user.a > 1 &&
           !out_of_runs(x)) {
        double a = x->cur->clients_per_user.a;
        sim_scenario *c = reload(x->cur), *c2;
        if (c)
            c->clients_per_user.a = 1;
        if (try_cand(x, c)) {
            changed = 1;
            continue;
        }
        c2 = reload(x->cur);
        if (c2)
            c2->clients_per_user.a = a - 1;
        if (!try_cand(x, c2))
            break;
        changed = 1;
    }
    return changed;
}

static int try_policy(shr *x)
{
    int changed = 0;
    for (size_t i = 0; i < x->cur->npolicy && !out_of_runs(x);) {
        sim_scenario *c = reload(x->cur);
        if (c) {
            memmove(c->policy + i, c->policy + i + 1, (c->npolicy - i - 1) * sizeof *c->policy);
            c->npolicy--;
        }
        if (try_cand(x, c))
            changed = 1;
        else
            i++;
    }
    return changed;
}

static int try_faults(shr *x)
{
    int changed = 0;
    if (x->cur->thread_update_fail > 0) {
        sim_scenario *c = reload(x->cur);
        if (c)
            c->thread_update_fail = 0;
        changed |= try_cand(x, c);
    }
    if (x->cur->disconnect > 0) {
        sim_scenario *c = reload(x->cur);
        if (c)
            c->disconnect = 0;
        changed |= try_cand(x, c);
    }
    return changed;
}

static void collect_waits(sim_step *st, size_t n, sim_dist **v, size_t *k, size_t max)
{
    for (size_t i = 0; i < n; i++) {
        if (st[i].kind == SIM_STEP_WAIT && *k < max)
            v[(*k)++] = &st[i].wait;
        if (st[i].kind == SIM_STEP_REPEAT)
            collect_waits(st[i].steps, st[i].nsteps, v, k, max);
    }
}

#define MAX_DISTS 4096

/* dists_of lists every duration distribution of s in a fixed order. */
static size_t dists_of(sim_scenario *s, sim_dist **v)
{
    size_t k = 0;
    sim_dist *fixed[] = {&s->uplink,        &s->downlink,    &s->reconnect_backoff, &s->auth,
                         &s->thread_lookup, &s->agent_start, &s->event_gap};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        v[k++] = fixed[i];
    collect_waits(s->steps, s->nsteps, v, &k, MAX_DISTS);
    return k;
}

static int try_dists(shr *x)
{
    int changed = 0;
    sim_dist **v = calloc(MAX_DISTS, sizeof *v), **w = calloc(MAX_DISTS, sizeof *w);
    if (!v || !w) {
        free(v);
        free(w);
        return 0;
    }
    size_t n = dists_of(x->cur, v);
    for (size_t i = 0; i < n && !out_of_runs(x); i++) {
        if (v[i]->kind == SIM_DIST_CONST)
            continue;
        double m = floor(sim_dist_quantile(v[i], 0.5) + 0.5);
        sim_scenario *c = reload(x->cur);
        if (c && dists_of(c, w) == n)
            sim_dist_const(w[i], m > 0 ? m : 0, v[i]->is_duration);
        if (try_cand(x, c)) {
            changed = 1;
            n = dists_of(x->cur, v);
        }
    }
    free(v);
    free(w);
    return changed;
}

static int try_events(shr *x)
{
    int changed = 0;
    for (size_t i = 0; x->cur->nagent_events > 1 && i < x->cur->nagent_events && !out_of_runs(x);) {
        sim_scenario *c = reload(x->cur);
        if (c) {
            memmove(c->agent_events[i], c->agent_events[i + 1],
                    (c->nagent_events - i - 1) * sizeof c->agent_events[0]);
            c->nagent_events--;
        }
        if (try_cand(x, c))
            changed = 1;
        else
            i++;
    }
    return changed;
}

static int try_horizon(shr *x)
{
    int changed = 0;
    while (x->cur->horizon >= 2 * CR_NS_PER_S && !out_of_runs(x)) {
        sim_scenario *c = reload(x->cur);
        if (c)
            c->horizon = (c->horizon / 2 / CR_NS_PER_S) * CR_NS_PER_S;
        if (!try_cand(x, c))
            break;
        changed = 1;
    }
    return changed;
}

/* ---- the driver --------------------------------------------------------------- */

int sim_shrink(const sim_scenario *sc, const sim_shrink_opts *o, sim_shrink_result *out)
{
    shr x;
    size_t path[MAX_DEPTH];
    memset(out, 0, sizeof *out);
    if (!sc || !o || !o->sweep)
        return -1;
    memset(&x, 0, sizeof x);
    x.o = o;
    x.max_runs = o->max_runs ? o->max_runs : 3000;
    if (sim_failure_judge(sc, o->sweep, &o->world, o->with_rate, &x.want) != 0)
        return -1;
    out->failure = x.want;
    sim_scenario_size_of(sc, &out->before);
    if (!x.want.failed)
        return 1;
    x.cur = reload(sc);
    if (!x.cur)
        return -1;
    /* the copy must fail the same way (it is the same scenario) */
    sim_failure f;
    if (sim_failure_judge(x.cur, o->sweep, &o->world, o->with_rate, &f) != 0 ||
        !sim_failure_same(&x.want, &f)) {
        sim_scenario_free(x.cur);
        return -1;
    }
    for (;;) {
        int changed = 0;
        out->rounds++;
        changed |= try_users(&x);
        changed |= try_tabs(&x);
        changed |= ddmin_list(&x, path, 0);
        changed |= try_policy(&x);
        changed |= try_faults(&x);
        changed |= try_dists(&x);
        changed |= try_events(&x);
        changed |= try_horizon(&x);
        if (!changed || out_of_runs(&x))
            break;
    }
    out->budget_hit = out_of_runs(&x);
    out->runs = x.runs;
    out->accepted = x.accepted;
    sim_scenario_size_of(x.cur, &out->after);
    if (sim_failure_judge(x.cur, o->sweep, &o->world, o->with_rate, &out->shrunk) != 0 ||
        sim_scenario_emit(x.cur, &out->yaml, NULL) != 0) {
        sim_scenario_free(x.cur);
        return -1;
    }
    sim_scenario_free(x.cur);
    return 0;
}

void sim_shrink_result_free(sim_shrink_result *r)
{
    if (!r)
        return;
    free(r->yaml);
    r->yaml = NULL;
}
