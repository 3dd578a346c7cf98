/*
 * verdict.c - the one verdict rule: seeds, sweeps, roles, the ablation
 * matrix, the order of replay lines.
 */
#include "sim/verdict.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"

static const char *const verdict_names[] = {"pass", "fail", "inconclusive"};
static const char *const role_names[] = {"gate", "informational"};

const char *sim_verdict_name(int v)
{
    return v >= 0 && v < 3 ? verdict_names[v] : "?";
}

int sim_verdict_lookup(const char *name)
{
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, verdict_names[i]) == 0)
            return i;
    return -1;
}

const char *sim_role_name(int role)
{
    return role >= 0 && role < 2 ? role_names[role] : "?";
}

int sim_role_lookup(const char *name)
{
    for (int i = 0; name && i < 2; i++)
        if (strcmp(name, role_names[i]) == 0)
            return i;
    return -1;
}

static int is_liveness(int id)
{
    return id == SIM_COUNT_STUCK_PENDING || id == SIM_COUNT_STRANDED;
}

static int is_seed_flag(int id)
{
    return id == SIM_COUNT_LIVELOCK || id == SIM_COUNT_ERRORS;
}

/* The core's accounting is checked everywhere, like liveness: 0 unless the
 * scenario sets a higher maximum. */
static int is_core_check(int id)
{
    return id == SIM_COUNT_ACCOUNTING;
}

int64_t sim_expect_limit(const int64_t max[SIM_COUNT__N], int id)
{
    if (id < 0 || id >= SIM_COUNT__N)
        return -1;
    if (is_seed_flag(id))
        return 0;
    if ((is_liveness(id) || is_core_check(id)) && max[id] < 0)
        return 0;
    return max[id];
}

const char *sim_fix_knob(int fix)
{
    for (size_t i = 0; i < cr_policy_knob_count(); i++)
        if (cr_policy_knob(i)->fix == fix)
            return cr_policy_knob(i)->name;
    return "?";
}

/* Appends "; "-separated text to buf[len]; silently truncates. */
static void add(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add(char *buf, size_t len, const char *fmt, ...)
{
    size_t o = strlen(buf);
    if (o + 3 >= len)
        return;
    if (o) {
        memcpy(buf + o, "; ", 3);
        o += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + o, len - o, fmt, ap);
    va_end(ap);
}

static double seed_rate(const sim_seed_result *s)
{
    uint64_t e = s->c[SIM_COUNT_EXPECTED];
    return e ? (double)s->c[SIM_COUNT_DELIVERED] / (double)e : 1.0;
}

void sim_seed_verdict(const int64_t max[SIM_COUNT__N], sim_seed_result *s)
{
    if (s->c[SIM_COUNT_LIVELOCK] || s->c[SIM_COUNT_ERRORS]) {
        s->pass = 0;
        if (!s->reason[0])
            snprintf(s->reason, sizeof s->reason, "%s",
                     s->c[SIM_COUNT_LIVELOCK] ? "livelock: step budget exhausted"
                                              : "simulation error");
        return;
    }
    s->pass = 1;
    s->reason[0] = '\0';
    for (int i = 0; i < SIM_COUNT__N; i++) {
        if (i == SIM_COUNT_EXPECTED || sim_expect_limit(max, i) != 0 || s->c[i] == 0)
            continue;
        s->pass = 0;
        const char *detail = i == SIM_COUNT_STRANDED     ? s->stranded
                             : i == SIM_COUNT_ACCOUNTING ? s->accounting
                                                         : "";
        add(s->reason, sizeof s->reason, "%s%s %" PRIu64 " > 0%s%s%s",
            is_liveness(i) ? "liveness: " : "", sim_count_name(i), s->c[i], detail[0] ? " (" : "",
            detail, detail[0] ? ")" : "");
    }
}

const char *sim_seed_failure_kind(const int64_t max[SIM_COUNT__N], const sim_seed_result *s)
{
    if (s->c[SIM_COUNT_LIVELOCK])
        return "livelock";
    if (s->c[SIM_COUNT_ERRORS])
        return "errors";
    for (int i = 0; i < SIM_COUNT__N; i++) {
        if (i == SIM_COUNT_EXPECTED)
            continue;
        int64_t lim = sim_expect_limit(max, i);
        if (lim == 0 && s->c[i] > 0)
            return sim_count_name(i);
    }
    return "other";
}

int sim_seed_is_worst(double expect_rate, const sim_seed_result *s)
{
    return s->pass && expect_rate >= 0 && s->c[SIM_COUNT_EXPECTED] > 0 &&
           seed_rate(s) < expect_rate;
}

/* qsort context-free comparison of worst seeds: rate, then seed. */
typedef struct worst_key {
    double rate;
    uint64_t seed;
    uint32_t index;
} worst_key;

static int cmp_worst(const void *a, const void *b)
{
    const worst_key *x = a, *y = b;
    if (x->rate != y->rate)
        return x->rate < y->rate ? -1 : 1;
    return x->seed < y->seed ? -1 : x->seed > y->seed;
}

/* Judges and ranks the seeds of r; failed_seeds, worst_seeds. */
static void judge_seeds(sim_sweep_result *r)
{
    r->failed_seeds = 0;
    r->worst_seeds = 0;
    worst_key *k = calloc(r->nseeds ? r->nseeds : 1, sizeof *k);
    for (uint32_t i = 0; i < r->nseeds; i++) {
        sim_seed_result *s = &r->seeds[i];
        sim_seed_verdict(r->expect_max, s);
        s->worst = 0;
        if (!s->pass)
            r->failed_seeds++;
        else if (k && sim_seed_is_worst(r->expect_rate, s))
            k[r->worst_seeds++] = (worst_key){seed_rate(s), s->seed, i};
    }
    if (k) {
        qsort(k, r->worst_seeds, sizeof *k, cmp_worst);
        for (uint32_t j = 0; j < r->worst_seeds; j++)
            r->seeds[k[j].index].worst = (int)j + 1;
    }
    free(k);
}

/* The first seed of r whose count id is non-zero, or NULL. */
static const sim_seed_result *first_with(const sim_sweep_result *r, int id)
{
    for (uint32_t i = 0; r->seeds && i < r->nseeds; i++)
        if (r->seeds[i].c[id])
            return &r->seeds[i];
    return NULL;
}

void sim_sweep_verdict(sim_sweep_result *r)
{
    if (r->seeds)
        judge_seeds(r);
    const uint64_t *c = r->c;
    uint64_t e = c[SIM_COUNT_EXPECTED], d = c[SIM_COUNT_DELIVERED];
    r->delivery_rate = e ? (double)d / (double)e : 1.0;
    sim_wilson(d, e, &r->rate_lo, &r->rate_hi);
    r->reason[0] = '\0';
    int missed = 0;
    /* Seeds that could not run come first: nothing else they say counts. */
    for (int id = SIM_COUNT_LIVELOCK; id <= SIM_COUNT_ERRORS; id++) {
        if (!c[id])
            continue;
        missed = 1;
        const sim_seed_result *s = first_with(r, id);
        char first[300] = "";
        if (s)
            snprintf(first, sizeof first, " (seed %" PRIu64 ": %.200s)", s->seed, s->reason);
        add(r->reason, sizeof r->reason, "%s %" PRIu64 " seed(s)%s", sim_count_name(id), c[id],
            first);
    }
    if (r->expect_rate >= 0 && e > 0 && r->delivery_rate < r->expect_rate) {
        missed = 1;
        add(r->reason, sizeof r->reason,
            "delivery_rate %.4f [%.4f, %.4f] < %.4g (%" PRIu64 "/%" PRIu64 " delivered)",
            r->delivery_rate, r->rate_lo, r->rate_hi, r->expect_rate, d, e);
    }
    for (int i = 0; i < SIM_COUNT__N; i++) {
        if (is_seed_flag(i))
            continue;
        int64_t lim = sim_expect_limit(r->expect_max, i);
        if (lim >= 0 && c[i] > (uint64_t)lim) {
            missed = 1;
            add(r->reason, sizeof r->reason, "%s%s %" PRIu64 " > %" PRId64,
                is_liveness(i) ? "liveness: " : "", sim_count_name(i), c[i], lim);
        }
    }
    int declared_none = r->expect_max[SIM_COUNT_EXPECTED] == 0;
    if (missed)
        r->verdict = SIM_VERDICT_FAIL;
    else if (e == 0 && !declared_none)
        r->verdict = SIM_VERDICT_INCONCLUSIVE;
    else
        r->verdict = SIM_VERDICT_PASS;
    if (r->verdict == SIM_VERDICT_INCONCLUSIVE)
        add(r->reason, sizeof r->reason,
            "inconclusive: no event was expected, nothing was exercised (a scenario that "
            "means it declares expect: {expected: 0})");
    r->pass = r->verdict == SIM_VERDICT_PASS;
    sim_sweep_apply_role(r);
}

void sim_sweep_apply_role(sim_sweep_result *r)
{
    r->note[0] = '\0';
    if (r->role == SIM_ROLE_GATE) {
        r->fails_ci = r->verdict != SIM_VERDICT_PASS;
    } else if (r->matrix) {
        /* On its own: caught when it misses its expect; sim_ablation_resolve
         * looks at the other sweeps of the fix. */
        r->fails_ci = r->verdict != SIM_VERDICT_FAIL;
        if (r->fails_ci)
            snprintf(r->note, sizeof r->note,
                     "fix F%d (%s) not caught: with it off the sweep meets its expect",
                     r->ablated_fix, sim_fix_knob(r->ablated_fix));
        else
            snprintf(r->note, sizeof r->note, "fix F%d (%s) caught", r->ablated_fix,
                     sim_fix_knob(r->ablated_fix));
    } else {
        r->fails_ci = 0;
        snprintf(r->note, sizeof r->note, "informational (%s): never fails CI",
                 sim_verdict_name(r->verdict));
    }
}

void sim_ablation_resolve(sim_sweep_result *const *v, size_t n)
{
    for (int fix = 1; fix <= 9; fix++) {
        size_t caught = 0, total = 0;
        const char *by = NULL;
        for (size_t i = 0; i < n; i++) {
            if (!v[i]->matrix || v[i]->ablated_fix != fix)
                continue;
            total++;
            if (v[i]->verdict == SIM_VERDICT_FAIL) {
                if (!caught)
                    by = v[i]->scenario;
                caught++;
            }
        }
        for (size_t i = 0; total && i < n; i++) {
            sim_sweep_result *r = v[i];
            if (!r->matrix || r->ablated_fix != fix)
                continue;
            const char *knob = sim_fix_knob(fix);
            if (!caught) {
                r->fails_ci = 1;
                snprintf(r->note, sizeof r->note,
                         "fix F%d (%s) not caught: all %zu sweep(s) with it off meet their expect",
                         fix, knob, total);
            } else if (r->verdict == SIM_VERDICT_FAIL) {
                r->fails_ci = 0;
                snprintf(r->note, sizeof r->note, "fix F%d (%s) caught here (%zu of %zu sweeps)",
                         fix, knob, caught, total);
            } else {
                r->fails_ci = 0;
                snprintf(r->note, sizeof r->note,
                         "fix F%d (%s) not caught here; caught by %.64s (%zu of %zu sweeps)", fix,
                         knob, by, caught, total);
            }
        }
    }
}

/* qsort order of worst seeds: rank, then index. */
static int cmp_rank(const void *a, const void *b)
{
    const worst_key *x = a, *y = b;
    if (x->rate != y->rate)
        return x->rate < y->rate ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

size_t sim_sweep_replay_seeds(const sim_sweep_result *r, uint32_t *idx, size_t max, size_t *total)
{
    size_t w = 0, all = 0, nworst = 0;
    for (uint32_t i = 0; r->seeds && i < r->nseeds; i++) {
        if (!r->seeds[i].pass) {
            if (w < max)
                idx[w++] = i;
            all++;
        } else if (r->seeds[i].worst > 0) {
            nworst++;
        }
    }
    all += nworst;
    /* The worst seeds by rank (a doctored record may have gaps). */
    worst_key *k = nworst && w < max ? calloc(nworst, sizeof *k) : NULL;
    size_t n = 0;
    for (uint32_t i = 0; k && i < r->nseeds; i++)
        if (r->seeds[i].pass && r->seeds[i].worst > 0)
            k[n++] = (worst_key){(double)r->seeds[i].worst, r->seeds[i].seed, i};
    if (k)
        qsort(k, n, sizeof *k, cmp_rank);
    for (size_t j = 0; j < n && w < max; j++)
        idx[w++] = k[j].index;
    free(k);
    if (total)
        *total = all;
    return w;
}

const char *sim_sweep_outcome(const sim_sweep_result *r)
{
    if (r->role == SIM_ROLE_GATE)
        return r->verdict == SIM_VERDICT_PASS   ? "PASS"
               : r->verdict == SIM_VERDICT_FAIL ? "FAIL"
                                                : "INCONCLUSIVE";
    if (r->matrix)
        return r->verdict == SIM_VERDICT_FAIL ? "caught"
               : r->fails_ci                  ? "NOT CAUGHT"
                                              : "not caught here";
    return r->verdict == SIM_VERDICT_PASS   ? "pass (info)"
           : r->verdict == SIM_VERDICT_FAIL ? "fail (info)"
                                            : "inconclusive (info)";
}
