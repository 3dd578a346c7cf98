/*
 * swarm.c - the swarm generator (swarm.h).
 *
 * One prng stream per scenario (seeded from the scenario's seed through
 * splitmix64); every draw is made in text order, so a scenario is a pure
 * function of (seed, opts).  Magnitudes are kept small on purpose: users
 * 1..8, tabs 1..3, a script of a few dozen steps at most once repeats are
 * unrolled, horizons of 20-90 s, so that a budget of a few hundred
 * scenarios runs in seconds.  Policy values stay inside what the fixed
 * profile means: bool knobs are never switched off (ablation is the
 * caller's --ablate), and no knob is set to a value that switches its fix
 * off (exec_grace, exec_retry_interval, event_ttl, update_retries and
 * update_backoff stay above 0).
 */
#include "sim/swarm.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/prng.h"

static const char *const feature_names[] = {
#define SIM_SWARM_NAME(id, name, doc) #name,
    SIM_SWARM_FEATURES(SIM_SWARM_NAME)
#undef SIM_SWARM_NAME
};

const char *sim_swarm_feature_name(int f)
{
    return f >= 0 && f < SIM_SWARM__N ? feature_names[f] : NULL;
}

uint64_t sim_swarm_scenario_seed(uint64_t base, uint64_t i)
{
    uint64_t st = base * UINT64_C(0x9E3779B97F4A7C15) + i;
    return sim_splitmix64_next(&st);
}

int sim_swarm_features_format(uint32_t set, char *buf, size_t len)
{
    size_t n = 0;
    if (!buf || len == 0)
        return -1;
    buf[0] = '\0';
    for (int f = 0; f < SIM_SWARM__N; f++) {
        if (!(set & (UINT32_C(1) << f)))
            continue;
        int w = snprintf(buf + n, len - n, "%s%s", n ? " " : "", feature_names[f]);
        if (w < 0 || (size_t)w >= len - n)
            return -1;
        n += (size_t)w;
    }
    if (n == 0 && snprintf(buf, len, "none") >= (int)len)
        return -1;
    return 0;
}

/* ---- text buffer ----------------------------------------------------------- */

typedef struct gen {
    sim_prng r;
    uint32_t on;
    char *p;
    size_t len, cap;
    int bad;
    int nnames; /* names bound so far (file order): n0, n1, ... */
    int nsteps; /* steps written (bounded) */
    uint32_t users;
} gen;

static void put(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(gen *g, const char *fmt, ...)
{
    va_list ap;
    if (g->bad)
        return;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(g->p ? g->p + g->len : NULL, g->p ? g->cap - g->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            g->bad = 1;
            return;
        }
        if (g->p && g->len + (size_t)n < g->cap) {
            g->len += (size_t)n;
            return;
        }
        size_t cap = g->cap ? 2 * g->cap : 4096;
        while (cap <= g->len + (size_t)n)
            cap *= 2;
        char *q = realloc(g->p, cap);
        if (!q) {
            g->bad = 1;
            return;
        }
        g->p = q;
        g->cap = cap;
    }
}

static int has(const gen *g, sim_swarm_feature f)
{
    return (g->on >> f) & 1;
}

static uint64_t below(gen *g, uint64_t n)
{
    return sim_prng_below(&g->r, n);
}

/* range draws an integer in [lo, hi]. */
static uint64_t range(gen *g, uint64_t lo, uint64_t hi)
{
    return lo + below(g, hi - lo + 1);
}

static int chance(gen *g, double p)
{
    return sim_prng_double(&g->r) < p;
}

/* ---- distributions ------------------------------------------------------------ */

/* put_us writes a duration of `us` microseconds in a unit that reads well. */
static void put_us(gen *g, uint64_t us)
{
    if (us % 1000000 == 0 && us)
        put(g, "%" PRIu64 "s", us / 1000000);
    else if (us % 1000 == 0)
        put(g, "%" PRIu64 "ms", us / 1000);
    else
        put(g, "%" PRIu64 "us", us);
}

/* put_dur writes a duration distribution around `mid` microseconds (its
 * median, about): with heavy_tails on, any family the loader accepts;
 * otherwise const, uniform or exponential. */
static void put_dur(gen *g, uint64_t mid)
{
    int fam = (int)below(g, has(g, SIM_SWARM_HEAVY_TAILS) ? 8 : 3);
    uint64_t lo = mid / 2, hi = mid + mid / 2 + 1;
    switch (fam) {
    case 0:
        put_us(g, range(g, lo, hi));
        break;
    case 1:
        put(g, "uniform(");
        put_us(g, range(g, 0, mid));
        put(g, ", ");
        put_us(g, range(g, mid, 2 * mid + 1));
        put(g, ")");
        break;
    case 2:
        put(g, "exponential(mean=");
        put_us(g, range(g, lo + 1, hi));
        put(g, ")");
        break;
    case 3:
        put(g, "normal(mean=");
        put_us(g, range(g, lo, hi));
        put(g, ", sd=");
        put_us(g, range(g, 0, mid / 2 + 1));
        put(g, ")");
        break;
    case 4: {
        uint64_t m = range(g, lo + 1, hi);
        put(g, "lognormal(median=");
        put_us(g, m);
        put(g, ", p99=");
        put_us(g, m + range(g, 1, 12 * m));
        put(g, ")");
        break;
    }
    case 5:
        put(g, "pareto(scale=");
        put_us(g, range(g, lo / 2 + 1, mid + 1));
        put(g, ", shape=%" PRIu64 ".%" PRIu64 ")", range(g, 1, 3), range(g, 2, 9));
        break;
    case 6: {
        uint64_t a = range(g, lo, mid + 1), b = a + range(g, 0, mid), c = b + range(g, 0, 4 * mid);
        put(g, "empirical(p50=");
        put_us(g, a);
        put(g, ", p90=");
        put_us(g, b);
        put(g, ", p99=");
        put_us(g, c);
        put(g, ")");
        break;
    }
    default:
        put(g, "const(");
        put_us(g, range(g, lo, hi));
        put(g, ")");
        break;
    }
}

/* put_tabs writes clients_per_user (a count distribution). */
static void put_tabs(gen *g)
{
    if (!has(g, SIM_SWARM_MULTITAB)) {
        put(g, "1");
        return;
    }
    switch (below(g, has(g, SIM_SWARM_HEAVY_TAILS) ? 5 : 2)) {
    case 0:
        put(g, "%" PRIu64, range(g, 2, 3));
        break;
    case 1:
        put(g, "uniform(1, %" PRIu64 ")", range(g, 2, 3));
        break;
    case 2:
        put(g, "normal(mean=2, sd=1)");
        break;
    case 3:
        put(g, "empirical(p50=1, p90=2, p100=3)");
        break;
    default:
        put(g, "pareto(scale=1, shape=2.5)");
        break;
    }
}

/* ---- policy -------------------------------------------------------------------- */

typedef struct knob_draw {
    const char *name;
    char kind; /* 'd' duration (us), 'n' count, 'b' bytes, 't' bool (true only) */
    uint64_t lo, hi;
} knob_draw;

static const knob_draw KNOBS[] = {
    {"exec_grace", 'd', 500000, 10000000},
    {"exec_retry_interval", 'd', 5000, 100000},
    {"event_buffer_max", 'n', 1, 2048},
    {"event_buffer_max_bytes", 'b', 256, 2u << 20},
    {"event_ttl", 'd', 1000000, 120000000},
    {"pending_max", 'n', 1, 128},
    {"preauth_max", 'n', 1, 32},
    {"update_retries", 'n', 1, 8},
    {"update_backoff", 'd', 1000, 500000},
    {"pending_deadline", 'd', 1000000, 60000000},
    {"associate_before_execute", 't', 1, 1},
    {"verify_before_notify", 't', 1, 1},
    {"buffer_until_ready", 't', 1, 1},
    {"report_undeliverable", 't', 1, 1},
    {"queue_until_context", 't', 1, 1},
    {"cache_preauth", 't', 1, 1},
    {"pool_pending_marking", 't', 1, 1},
    {"fallback_notify", 't', 1, 1},
};

#define NKNOBS (sizeof KNOBS / sizeof KNOBS[0])

static void put_policy(gen *g)
{
    int pick[NKNOBS] = {0};
    int n = (int)range(g, 1, 4);
    if (!has(g, SIM_SWARM_POLICY))
        return;
    put(g, "policy:\n");
    for (int i = 0; i < n; i++)
        pick[below(g, NKNOBS)] = 1;
    for (size_t k = 0; k < NKNOBS; k++) {
        const knob_draw *d = &KNOBS[k];
        if (!pick[k])
            continue;
        /* small values are where the bounds bite: half the draws go low */
        uint64_t hi = chance(g, 0.5) ? d->lo + (d->hi - d->lo) / 16 : d->hi;
        uint64_t v = range(g, d->lo, hi);
        put(g, "  %s: ", d->name);
        if (d->kind == 'd')
            put_us(g, v);
        else if (d->kind == 't')
            put(g, "true");
        else
            put(g, "%" PRIu64, v);
        put(g, "\n");
    }
}

/* ---- steps --------------------------------------------------------------------- */

#define MAX_STEPS 60

static void indent(gen *g, int depth)
{
    put(g, "%*s- ", 2 + 6 * depth, "");
}

static void put_wait(gen *g, int depth, int quick)
{
    indent(g, depth);
    put(g, "wait: ");
    put_dur(g, quick ? range(g, 1000, 100000) : range(g, 10000, 3000000));
    put(g, "\n");
    g->nsteps++;
}

/* put_ref writes a thread REF for a send (`send`) or a switch. */
static void put_ref(gen *g, int send)
{
    for (;;) {
        switch (below(g, 7)) {
        case 0:
        case 1:
            put(g, "new");
            if (has(g, SIM_SWARM_NAMED) && chance(g, 0.6))
                put(g, ", as: n%d", g->nnames++);
            return;
        case 2:
            put(g, "same");
            return;
        case 3:
            if (!has(g, SIM_SWARM_NAMED) || g->nnames == 0)
                continue;
            put(g, "n%" PRIu64, below(g, (uint64_t)g->nnames));
            return;
        case 4:
            if (!send || !has(g, SIM_SWARM_NONE_REF))
                continue;
            put(g, "none");
            return;
        case 5:
            if (!has(g, SIM_SWARM_FOREIGN))
                continue;
            put(g, "foreign");
            return;
        default: /* two tabs of one user on one thread */
            if (!has(g, SIM_SWARM_MULTITAB))
                continue;
            put(g, "sibling");
            return;
        }
    }
}

static void put_send(gen *g, int depth)
{
    indent(g, depth);
    put(g, "send: {thread: ");
    put_ref(g, 1);
    if (has(g, SIM_SWARM_HTTP) && chance(g, 0.35))
        put(g, ", via: http");
    put(g, "}\n");
    g->nsteps++;
}

static void put_switch(gen *g, int depth)
{
    indent(g, depth);
    put(g, "switch: {thread: ");
    put_ref(g, 0);
    put(g, "}\n");
    g->nsteps++;
}

static void put_bare(gen *g, int depth, const char *name)
{
    indent(g, depth);
    put(g, "%s\n", name);
    g->nsteps++;
}

static void put_items(gen *g, int depth, int n);

/* put_item writes one body item: a step or a small group of steps. */
static void put_item(gen *g, int depth)
{
    int quick = has(g, SIM_SWARM_SWITCHES) && chance(g, 0.6);
    for (;;) {
        uint64_t k = below(g, 12);
        if (k < 4) {
            put_send(g, depth);
        } else if (k < 6) {
            if (!has(g, SIM_SWARM_SWITCHES))
                continue;
            put_switch(g, depth);
        } else if (k < 9) {
            put_wait(g, depth, quick);
        } else if (k == 9) {
            if (!has(g, SIM_SWARM_DISCONNECTS))
                continue;
            switch (below(g, 3)) {
            case 0:
                put_bare(g, depth, "reconnect");
                break;
            case 1:
                put_bare(g, depth, "disconnect");
                put_wait(g, depth, 1);
                put_bare(g, depth, "reconnect");
                break;
            default:
                put_bare(g, depth, "disconnect");
                put_wait(g, depth, 0);
                put_bare(g, depth, "connect");
                put_bare(g, depth, "authenticate");
                break;
            }
        } else if (k == 10) {
            if (!has(g, SIM_SWARM_REOPEN))
                continue;
            put_bare(g, depth, "close");
            put_wait(g, depth, 0);
            put_bare(g, depth, "connect");
            if (has(g, SIM_SWARM_PREAUTH) && chance(g, 0.5))
                put_send(g, depth);
            put_bare(g, depth, "authenticate");
        } else {
            if (!has(g, SIM_SWARM_REPEATS) || depth >= 2 || g->nsteps > MAX_STEPS / 2)
                continue;
            indent(g, depth);
            put(g, "repeat:\n%*stimes: %" PRIu64 "\n%*ssteps:\n", 6 + 6 * depth, "", range(g, 1, 4),
                6 + 6 * depth, "");
            g->nsteps++;
            put_items(g, depth + 1, (int)range(g, 1, 4));
        }
        return;
    }
}

static void put_items(gen *g, int depth, int n)
{
    for (int i = 0; i < n && g->nsteps < MAX_STEPS; i++)
        put_item(g, depth);
}

static void put_client(gen *g, uint32_t max_body)
{
    put(g, "client:\n");
    if (has(g, SIM_SWARM_LATE_OPEN))
        put_wait(g, 0, 0);
    put_bare(g, 0, "connect");
    if (has(g, SIM_SWARM_PREAUTH)) {
        int n = (int)range(g, 1, 3);
        for (int i = 0; i < n; i++)
            put_send(g, 0);
    }
    put_bare(g, 0, "authenticate");
    put_items(g, 0, (int)range(g, 2, max_body < 2 ? 2 : max_body));
    put_wait(g, 0, 0);
    if (chance(g, 0.7))
        put_bare(g, 0, "close");
}

/* ---- the scenario -------------------------------------------------------------- */

int sim_swarm_generate(uint64_t seed, const sim_swarm_opts *o, char **yaml_out, uint32_t *features)
{
    sim_swarm_opts def = {0};
    gen g;
    char feat[512];
    if (!yaml_out)
        return -1;
    *yaml_out = NULL;
    if (!o)
        o = &def;
    memset(&g, 0, sizeof g);
    sim_prng_seed(&g.r, seed);
    for (int f = 0; f < SIM_SWARM__N; f++)
        if (chance(&g, 0.5))
            g.on |= UINT32_C(1) << f;
    g.on = (g.on | o->force_on) & ~o->force_off;
    uint32_t max_users = o->max_users ? o->max_users : 8;
    g.users = (uint32_t)range(&g, has(&g, SIM_SWARM_FOREIGN) && max_users >= 2 ? 2 : 1, max_users);
    if (g.users < 2)
        g.on &= ~(UINT32_C(1) << SIM_SWARM_FOREIGN); /* nobody to probe */
    sim_swarm_features_format(g.on, feat, sizeof feat);
    put(&g, "# generated by the swarm (sim/swarm.c), seed %" PRIu64 "\n# features: %s\n", seed,
        feat);
    put(&g, "version: 1\nname: swarm_%016" PRIx64 "\nsummary: Swarm scenario %" PRIu64 ".\n", seed,
        seed);
    put(&g, "seeds: 2\nhorizon: %" PRIu64 "s\n", range(&g, 20, 90));
    put_policy(&g);
    put(&g, "users: %" PRIu32 "\nclients_per_user: ", g.users);
    put_tabs(&g);
    if (chance(&g, 0.3))
        put(&g, "\ndeadline: %" PRIu64 "s", range(&g, 2, 10));
    put(&g, "\nnetwork:\n  uplink: ");
    put_dur(&g, range(&g, 1000, 50000));
    put(&g, "\n  downlink: ");
    put_dur(&g, range(&g, 1000, 50000));
    if (has(&g, SIM_SWARM_DISCONNECTS) || has(&g, SIM_SWARM_DROP_FAULTS)) {
        put(&g, "\n  reconnect_backoff: ");
        put_dur(&g, range(&g, 10000, 1000000));
    }
    put(&g, "\nserver:\n  auth: ");
    put_dur(&g, range(&g, 1000, 50000));
    put(&g, "\n  thread_lookup: ");
    put_dur(&g,
            has(&g, SIM_SWARM_SLOW_LOOKUP) ? range(&g, 100000, 2000000) : range(&g, 1000, 40000));
    put(&g, "\n  agent_start: ");
    put_dur(&g, range(&g, 100, 20000));
    put(&g, "\n  event_gap: ");
    put_dur(&g, range(&g, 5000, 200000));
    if (chance(&g, 0.3)) {
        static const char *const ev[] = {"agent_started", "agent_thinking", "tool_executing",
                                         "tool_completed", "agent_completed"};
        int n = (int)range(&g, 1, 5);
        put(&g, "\n  agent_events: [");
        for (int i = 0; i < n; i++)
            put(&g, "%s%s", i ? ", " : "", ev[i]);
        put(&g, "]");
    }
    put(&g, "\n");
    if (has(&g, SIM_SWARM_ASSOC_FAULTS) || has(&g, SIM_SWARM_DROP_FAULTS)) {
        put(&g, "faults:\n");
        if (has(&g, SIM_SWARM_ASSOC_FAULTS))
            put(&g, "  thread_update_fail: 0.%02" PRIu64 "\n", range(&g, 1, 50));
        if (has(&g, SIM_SWARM_DROP_FAULTS))
            put(&g, "  disconnect: 0.%02" PRIu64 "\n", range(&g, 1, 30));
    }
    put_client(&g, o->max_body ? o->max_body : 8);
    if (g.bad) {
        free(g.p);
        return -1;
    }
    *yaml_out = g.p;
    if (features)
        *features = g.on;
    return 0;
}

/* ---- the judge ----------------------------------------------------------------- */

static uint64_t received(const sim_failure *f)
{
    return f->counts[SIM_COUNT_DELIVERED] + f->counts[SIM_COUNT_LATE];
}

int sim_swarm_differential(const sim_failure *run, const sim_failure *ref)
{
    return received(run) < received(ref) ||
           run->counts[SIM_COUNT_LOST] > ref->counts[SIM_COUNT_LOST];
}

/* diff_reason writes "delivered 40 of 50 where the fix delivers 50 of 50;
 * lost by cause: core_reported 10 (fix 0)" into buf. */
static void diff_reason(const sim_failure *a, const sim_failure *b, char *buf, size_t len)
{
    size_t n = 0;
    int w = snprintf(buf, len,
                     "delivered %" PRIu64 " of %" PRIu64 " (%" PRIu64 " late) where the fix "
                     "delivers %" PRIu64 " of %" PRIu64 " (%" PRIu64 " late); lost %" PRIu64
                     " (fix %" PRIu64 ") by cause:",
                     a->counts[SIM_COUNT_DELIVERED], a->counts[SIM_COUNT_EXPECTED],
                     a->counts[SIM_COUNT_LATE], b->counts[SIM_COUNT_DELIVERED],
                     b->counts[SIM_COUNT_EXPECTED], b->counts[SIM_COUNT_LATE],
                     a->counts[SIM_COUNT_LOST], b->counts[SIM_COUNT_LOST]);
    if (w < 0 || (size_t)w >= len)
        return;
    n = (size_t)w;
    int any = 0;
    for (int k = 0; k < SIM_CAUSE__N; k++) {
        int c = sim_cause_count(k);
        if (a->counts[c] == 0 && b->counts[c] == 0)
            continue;
        w = snprintf(buf + n, len - n, "%s %s %" PRIu64 " (fix %" PRIu64 ")", any ? "," : "",
                     sim_cause_name(k), a->counts[c], b->counts[c]);
        if (w < 0 || (size_t)w >= len - n)
            return;
        n += (size_t)w;
        any = 1;
    }
    if (!any)
        snprintf(buf + n, len - n, " none");
    if (a->counts[SIM_COUNT_REFUSED] != b->counts[SIM_COUNT_REFUSED])
        snprintf(buf + strlen(buf), len - strlen(buf), "; refused %" PRIu64 " (fix %" PRIu64 ")",
                 a->counts[SIM_COUNT_REFUSED], b->counts[SIM_COUNT_REFUSED]);
}

int sim_swarm_judge_seed(const sim_scenario *sc, const sim_sweep_opts *so, const sim_world_opts *wo,
                         sim_swarm_verdict *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!sc || !so || !wo || sim_failure_judge(sc, so, wo, 0, &out->run) != 0)
        return -1;
    out->attributable = 1;
    if (so->ablate_fix) {
        sim_sweep_opts r = *so;
        r.ablate_fix = 0;
        if (sim_failure_judge(sc, &r, wo, 0, &out->ref) != 0)
            return -1;
        out->has_ref = 1;
    }
    const sim_failure *a = &out->run, *b = &out->ref;
    if (a->failed && (!out->has_ref || !sim_failure_same(b, a))) {
        out->failed = 1;
        snprintf(out->kind, sizeof out->kind, "%s", a->kind);
        snprintf(out->reason, sizeof out->reason, "%s", a->reason);
        if (out->has_ref && b->failed)
            snprintf(out->reason + strlen(out->reason), sizeof out->reason - strlen(out->reason),
                     " (the fix: %s: %.150s)", b->kind, b->reason);
    } else if (out->has_ref && sim_swarm_differential(a, b)) {
        out->failed = 1;
        snprintf(out->kind, sizeof out->kind, "differential");
        diff_reason(a, b, out->reason, sizeof out->reason);
    } else if (a->failed) {
        out->failed = 1;
        out->attributable = 0;
        snprintf(out->kind, sizeof out->kind, "%s", a->kind);
        snprintf(out->reason, sizeof out->reason, "%.300s (the fix fails the same way)", a->reason);
    }
    return 0;
}
