/* psweep.c - parameter sweeps: a seed sweep per value, the knee (psweep.h). */
#include "sim/psweep.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GRID SIM_VARY_MAX_STEPS

const char *sim_psweep_cause_name(int cause)
{
    if (cause == SIM_PSWEEP_LATE)
        return "late";
    if (cause < 0 || cause > SIM_PSWEEP_LATE)
        return "-";
    return sim_cause_name(cause);
}

int sim_psweep_point_cause(const uint64_t *c)
{
    int best = -1;
    uint64_t most = 0;
    for (int k = 0; k < SIM_CAUSE__N; k++)
        if (c[sim_cause_count(k)] > most) {
            most = c[sim_cause_count(k)];
            best = k;
        }
    if (c[SIM_COUNT_LATE] > most)
        best = SIM_PSWEEP_LATE;
    return best;
}

static uint64_t cause_count(const uint64_t *c, int cause)
{
    if (cause == SIM_PSWEEP_LATE)
        return c[SIM_COUNT_LATE];
    return cause >= 0 && cause < SIM_CAUSE__N ? c[sim_cause_count(cause)] : 0;
}

void sim_psweep_pct(double rate, char *buf, size_t len)
{
    snprintf(buf, len, "%.4g%%", 100 * rate);
}

/* ---- running ---------------------------------------------------------------- */

typedef struct runner {
    const sim_scenario *sc;
    const sim_psweep_opts *o;
    sim_psweep_result *r;
    size_t cap, done, planned;
    int profile;
    double row; /* the value of A when 2 parameters */
    char *err;
    size_t errlen;
} runner;

static int push(runner *ru, const sim_psweep_point *p)
{
    if (ru->r->npts == ru->cap) {
        size_t ncap = ru->cap ? 2 * ru->cap : 32;
        sim_psweep_point *np = realloc(ru->r->pts, ncap * sizeof *np);
        if (!np) {
            snprintf(ru->err, ru->errlen, "out of memory");
            return -1;
        }
        ru->r->pts = np;
        ru->cap = ncap;
    }
    ru->r->pts[ru->r->npts++] = *p;
    return 0;
}

/* run_point runs the seed sweep at v[] under profile and appends it. */
static int run_point(runner *ru, int profile, const double *v, int refined)
{
    const sim_psweep_opts *o = ru->o;
    sim_scenario copy = *ru->sc;
    sim_sweep_opts so = o->base;
    so.profile = profile;
    so.role = 0;
    so.matrix = 0;
    sim_psweep_point pt;
    memset(&pt, 0, sizeof pt);
    pt.profile = profile;
    pt.refined = refined;
    for (size_t i = 0; i < o->nvary; i++) {
        pt.v[i] = v[i];
        if (sim_vary_apply(&o->vary[i].p, v[i], &copy, &so, ru->err, ru->errlen) != 0)
            return -1;
    }
    sim_sweep_result res;
    char e2[512];
    if (sim_sweep_run(&copy, &so, &res, e2, sizeof e2) != 0) {
        char vt[48];
        sim_vary_format(&o->vary[0].p, v[0], vt, sizeof vt);
        snprintf(ru->err, ru->errlen, "%s = %s: %s", o->vary[0].p.path, vt, e2);
        sim_sweep_result_free(&res);
        return -1;
    }
    pt.seeds = res.nseeds;
    memcpy(pt.c, res.c, sizeof pt.c);
    pt.rate = res.delivery_rate;
    pt.lo = res.rate_lo;
    pt.hi = res.rate_hi;
    pt.p50 = res.p50;
    pt.p99 = res.p99;
    pt.cause = sim_psweep_point_cause(res.c);
    uint64_t d = 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < res.nseeds; i++)
        d = (d ^ res.seeds[i].trace_hash) * 0x100000001b3ull;
    pt.digest = so.no_trace ? 0 : d; /* --no-trace: absent */
    snprintf(pt.policy, sizeof pt.policy, "%s", res.policy);
    ru->r->seeds = res.nseeds;
    sim_sweep_result_free(&res);
    if (push(ru, &pt) != 0)
        return -1;
    ru->done++;
    if (o->progress)
        o->progress(o->ud, ru->done, ru->planned);
    return 0;
}

/* The bisection's callback: run (row, v) and report the knee point. */
static int eval_cb(void *ud, double v, sim_knee_point *out)
{
    runner *ru = ud;
    const sim_vary *kv = &ru->o->vary[ru->o->nvary - 1];
    double vals[SIM_PSWEEP_MAX_VARY] = {ru->row, 0};
    v = sim_vary_round(&kv->p, v);
    vals[ru->o->nvary - 1] = v;
    ru->planned++;
    if (run_point(ru, ru->profile, vals, 1) != 0)
        return -1;
    const sim_psweep_point *p = &ru->r->pts[ru->r->npts - 1];
    sim_knee_point_set(out, v, p->c[SIM_COUNT_DELIVERED], p->c[SIM_COUNT_EXPECTED]);
    return 0;
}

static int profile_rank(const sim_psweep_result *r, int profile)
{
    for (size_t i = 0; i < r->nprofiles; i++)
        if (r->profiles[i] == profile)
            return (int)i;
    return (int)r->nprofiles;
}

static int cmp_point(const sim_psweep_result *r, const sim_psweep_point *x,
                     const sim_psweep_point *y)
{
    int px = profile_rank(r, x->profile), py = profile_rank(r, y->profile);
    if (px != py)
        return px < py ? -1 : 1;
    for (size_t i = 0; i < r->nvary; i++)
        if (x->v[i] != y->v[i])
            return x->v[i] < y->v[i] ? -1 : 1;
    return 0;
}

/* sort_points orders r->pts by (profile, A, B): an insertion sort, stable,
 * O(n^2) on a few hundred points. */
static void sort_points(sim_psweep_result *r)
{
    for (size_t i = 1; i < r->npts; i++) {
        sim_psweep_point t = r->pts[i];
        size_t j = i;
        while (j > 0 && cmp_point(r, &r->pts[j - 1], &t) > 0) {
            r->pts[j] = r->pts[j - 1];
            j--;
        }
        r->pts[j] = t;
    }
}

static int knee_of(runner *ru, int profile, double row, sim_psweep_knee *kn)
{
    const sim_psweep_opts *o = ru->o;
    sim_psweep_result *r = ru->r;
    size_t kv = o->nvary - 1, cap = MAX_GRID * 2 + 64, n = 0;
    sim_knee_point *kp = calloc(cap, sizeof *kp);
    if (!kp) {
        snprintf(ru->err, ru->errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < r->npts && n < cap; i++) {
        const sim_psweep_point *p = &r->pts[i];
        if (p->profile != profile || (o->nvary == 2 && p->v[0] != row))
            continue;
        sim_knee_point q;
        sim_knee_point_set(&q, p->v[kv], p->c[SIM_COUNT_DELIVERED], p->c[SIM_COUNT_EXPECTED]);
        size_t j = n;
        while (j > 0 && kp[j - 1].value > q.value) {
            kp[j] = kp[j - 1];
            j--;
        }
        kp[j] = q;
        n++;
    }
    const sim_vary *v = &o->vary[kv];
    double res = v->resolution > 0 ? v->resolution : sim_vary_default_resolution(v);
    ru->profile = profile;
    ru->row = row;
    memset(kn, 0, sizeof *kn);
    kn->profile = profile;
    kn->row = row;
    int rc = sim_knee_find(kp, &n, cap, r->target, SIM_KNEE_FLAT, res, v->p.unit != SIM_VARY_NUMBER,
                           eval_cb, ru, &kn->k);
    free(kp);
    if (rc != 0) {
        if (!ru->err[0])
            snprintf(ru->err, ru->errlen, "knee search failed");
        return -1;
    }
    /* The conditions: the scenario (and policy) with A at this row. */
    {
        sim_scenario copy = *ru->sc;
        sim_sweep_opts so = o->base;
        cr_policy pol;
        so.profile = profile;
        if (o->nvary == 2 &&
            sim_vary_apply(&o->vary[0].p, row, &copy, &so, ru->err, ru->errlen) != 0)
            return -1;
        if (sim_sweep_policy(&copy, &so, &pol, NULL, 0) == 0)
            sim_vary_context(&copy, &pol, &v->p, kn->context, sizeof kn->context);
    }
    /* The best point's cause, from the stored points. */
    kn->best_cause = -1;
    for (size_t i = 0; i < r->npts; i++) {
        const sim_psweep_point *p = &r->pts[i];
        if (p->profile == profile && (o->nvary < 2 || p->v[0] == row) &&
            p->v[kv] == kn->k.best_value) {
            kn->best_cause = p->cause;
            break;
        }
    }
    return 0;
}

int sim_psweep_run(const sim_scenario *sc, const sim_psweep_opts *o, sim_psweep_result *out,
                   char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (o->nvary < 1 || o->nvary > SIM_PSWEEP_MAX_VARY || o->nprofiles < 1 ||
        o->nprofiles > SIM_PSWEEP_MAX_PROFILES) {
        snprintf(err, errlen, "a sweep varies 1 or 2 parameters under 1 or 2 profiles");
        return -1;
    }
    if (o->nvary == 2 && strcmp(o->vary[0].p.path, o->vary[1].p.path) == 0) {
        snprintf(err, errlen, "--vary %s given twice", o->vary[0].p.path);
        return -1;
    }
    double grid[SIM_PSWEEP_MAX_VARY][MAX_GRID];
    size_t ng[SIM_PSWEEP_MAX_VARY] = {1, 1};
    for (size_t i = 0; i < o->nvary; i++) {
        if (sim_vary_grid(&o->vary[i], grid[i], MAX_GRID, &ng[i]) != 0) {
            snprintf(err, errlen, "%s: bad grid (--steps 2..%d; --log needs both ends > 0)",
                     o->vary[i].p.path, SIM_VARY_MAX_STEPS);
            return -1;
        }
        for (size_t k = 0; k < ng[i]; k++)
            if (sim_vary_check(sc, &o->vary[i].p, grid[i][k], err, errlen) != 0)
                return -1;
    }
    snprintf(out->scenario, sizeof out->scenario, "%s", sc->name);
    snprintf(out->path, sizeof out->path, "%s", sc->path ? sc->path : "");
    memcpy(out->vary, o->vary, sizeof out->vary);
    out->nvary = o->nvary;
    for (size_t i = 0; i < o->nprofiles; i++)
        out->profiles[i] = o->profiles[i] >= 0 ? o->profiles[i] : (int)sc->profile;
    out->nprofiles = o->nprofiles;
    out->target = o->target >= 0        ? o->target
                  : sc->expect.has_rate ? sc->expect.delivery_rate
                                        : SIM_STRICT_RATE;
    {
        sim_sweep_opts so = o->base;
        so.profile = out->profiles[0];
        cr_policy pol;
        if (sim_sweep_policy(sc, &so, &pol, NULL, 0) != 0) {
            snprintf(err, errlen, "bad policy");
            return -1;
        }
        sim_vary_context(sc, &pol, &o->vary[o->nvary - 1].p, out->context, sizeof out->context);
    }
    err[0] = '\0';
    runner ru = {.sc = sc, .o = o, .r = out, .err = err, .errlen = errlen};
    ru.planned = o->nprofiles * ng[0] * ng[1];
    for (size_t p = 0; p < out->nprofiles; p++)
        for (size_t a = 0; a < ng[0]; a++)
            for (size_t b = 0; b < ng[1]; b++) {
                double v[SIM_PSWEEP_MAX_VARY] = {grid[0][a], o->nvary > 1 ? grid[1][b] : 0};
                if (run_point(&ru, out->profiles[p], v, 0) != 0)
                    goto fail;
            }
    size_t rows = o->nvary == 2 ? ng[0] : 1;
    out->knees = calloc(out->nprofiles * rows, sizeof *out->knees);
    if (!out->knees) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t p = 0; p < out->nprofiles; p++)
        for (size_t a = 0; a < rows; a++) {
            sim_psweep_knee *kn = &out->knees[out->nknees];
            if (knee_of(&ru, out->profiles[p], o->nvary == 2 ? grid[0][a] : 0, kn) != 0)
                goto fail;
            out->nknees++;
        }
    sort_points(out);
    for (size_t i = 0; i < out->nknees; i++)
        sim_psweep_sentence(out, &out->knees[i], out->knees[i].sentence,
                            sizeof out->knees[i].sentence);
    return 0;
fail:
    sim_psweep_free(out);
    return -1;
}

void sim_psweep_free(sim_psweep_result *r)
{
    if (!r)
        return;
    free(r->pts);
    free(r->knees);
    r->pts = NULL;
    r->knees = NULL;
    r->npts = r->nknees = 0;
}

/* ---- the sentence --------------------------------------------------------------- */

void sim_psweep_sentence(const sim_psweep_result *r, const sim_psweep_knee *kn, char *buf,
                         size_t len)
{
    const sim_vary *kv = &r->vary[r->nvary - 1];
    const char *name = kv->p.path;
    char cond[512], tgt[16], knee[48], brk[48], from[48], to[48], best[48];
    size_t n = 0;
    cond[0] = '\0';
    const char *ctx = kn->context[0] ? kn->context : r->context;
    if (r->nvary == 2) {
        /* A as such, unless the context already shows it (A a distribution the knee's
         * parameter works against: "thread_lookup exponential(mean=88ms)", or a knob
         * that handles B: "exec_grace 500ms") */
        const char *a = r->vary[0].p.path, *last = strrchr(a, '.');
        char field[96];
        snprintf(field, sizeof field, "%.*s ", last && r->vary[0].p.dparam[0] ? (int)(last - a) : 0,
                 a);
        const char *shortname = strrchr(field, '.');
        shortname = shortname ? shortname + 1 : field;
        char knob[104];
        snprintf(knob, sizeof knob, "%.95s ", a);
        int shown = r->vary[0].p.dparam[0] ? strstr(ctx, shortname) != NULL
                                           : r->vary[0].p.knob >= 0 && strstr(ctx, knob) != NULL;
        if (!shown) {
            char av[48];
            sim_vary_format(&r->vary[0].p, kn->row, av, sizeof av);
            n = (size_t)snprintf(cond, sizeof cond, "%.95s = %.47s", a, av);
        }
    }
    if (ctx[0] && n < sizeof cond)
        snprintf(cond + n, sizeof cond - n, "%s%.300s", n ? ", " : "", ctx);
    if (!cond[0])
        snprintf(cond, sizeof cond, "scenario %.63s", r->scenario);
    sim_psweep_pct(r->target, tgt, sizeof tgt);
    sim_vary_format(&kv->p, kn->k.value, knee, sizeof knee);
    sim_vary_format(&kv->p, kn->k.bracket, brk, sizeof brk);
    sim_vary_format(&kv->p, fmin(kv->from, kv->to), from, sizeof from);
    sim_vary_format(&kv->p, fmax(kv->from, kv->to), to, sizeof to);
    sim_vary_format(&kv->p, kn->k.best_value, best, sizeof best);
    const char *op = kn->k.dir == SIM_KNEE_DOWN ? "<=" : ">=";
    const char *prof = sim_profile_name(kn->profile);
    switch (kn->k.status) {
    case SIM_KNEE_FOUND:
        snprintf(buf, len,
                 "with %s, %s %s %s keeps delivery >= %s (lower 95%% bound); %s = %s does not "
                 "(%s, %" PRIu32 " seeds per value)",
                 cond, name, op, knee, tgt, name, brk, prof, r->seeds);
        break;
    case SIM_KNEE_ALL:
        snprintf(buf, len,
                 "with %s, every %s in %s..%s keeps delivery >= %s (lower 95%% bound): no "
                 "requirement inside the range (%s %s %s suffices; %s, %" PRIu32
                 " seeds per value)",
                 cond, name, from, to, tgt, name, op, knee, prof, r->seeds);
        break;
    default: {
        const sim_psweep_point *bp = NULL;
        for (size_t i = 0; i < r->npts; i++) {
            const sim_psweep_point *p = &r->pts[i];
            if (p->profile == kn->profile && (r->nvary < 2 || p->v[0] == kn->row) &&
                p->v[r->nvary - 1] == kn->k.best_value)
                bp = p;
        }
        char rate[16] = "?", lo[16] = "?", hi[16] = "?";
        uint64_t cnt = 0;
        if (bp) {
            sim_psweep_pct(bp->rate, rate, sizeof rate);
            sim_psweep_pct(bp->lo, lo, sizeof lo);
            sim_psweep_pct(bp->hi, hi, sizeof hi);
            cnt = cause_count(bp->c, kn->best_cause);
        }
        char loses[96];
        if (kn->best_cause >= 0)
            snprintf(loses, sizeof loses, "what it loses is mostly %s (%" PRIu64 " events)",
                     sim_psweep_cause_name(kn->best_cause), cnt);
        else
            snprintf(loses, sizeof loses,
                     "it loses nothing: too few events for the bound "
                     "(more seeds)");
        snprintf(buf, len,
                 "with %s, no %s in %s..%s keeps delivery >= %s (lower 95%% bound): the best, "
                 "%s = %s, delivers %s [%s, %s], and %s (%s, %" PRIu32 " seeds per value)",
                 cond, name, from, to, tgt, name, best, rate, lo, hi, loses, prof, r->seeds);
        break;
    }
    }
}
