/*
 * synth.c - deterministic synthetic sweep results.
 */
#include "reports/synth.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/verdict.h"
#include "sim/verdict.h"

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 bits. */
static double unif(uint64_t *x)
{
    return (double)(splitmix(x) >> 11) * 0x1.0p-53;
}

static uint64_t fnv(const char *s, uint64_t h)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* The stream of one seed: depends on the spec's identity and the seed. */
static uint64_t stream(const rep_synth_spec *sp, uint64_t seed)
{
    uint64_t h = fnv(sp->scenario, 0xcbf29ce484222325ull);
    h = fnv(sp->profile, h);
    h = fnv(sp->policy, h);
    h ^= (uint64_t)sp->ablated_fix * 0x9e3779b97f4a7c15ull;
    h ^= sp->salt * 0xd1b54a32d192ed03ull;
    h ^= (uint64_t)(sp->rate * 1e9);
    uint64_t x = h ^ (seed * 0xa0761d6478bd642full);
    splitmix(&x);
    return x;
}

static void expectations(const rep_synth_spec *sp, double *rate, int64_t max[SIM_COUNT__N])
{
    *rate = sp->expect_rate;
    for (int i = 0; i < SIM_COUNT__N; i++)
        max[i] = -1;
    max[SIM_COUNT_MISROUTED] = 0;
    max[SIM_COUNT_DUPLICATED] = 0;
    max[SIM_COUNT_SILENT_LOSS] = 0;
    if (sp->expect_none)
        max[SIM_COUNT_EXPECTED] = 0;
}

int rep_synth_seed(const rep_synth_spec *sp, uint64_t seed, sim_seed_result *out)
{
    if (!sp || !sp->scenario || !sp->profile || !out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    uint64_t x = stream(sp, seed);
    int legacy = strcmp(sp->profile, "legacy") == 0;
    uint64_t *c = out->c;
    uint32_t n = sp->events_per_seed;
    n = (uint32_t)((double)n * (0.75 + 0.5 * unif(&x)));
    out->seed = seed;
    c[SIM_COUNT_RUNS] = 1 + n / 5;
    c[SIM_COUNT_MESSAGES] = c[SIM_COUNT_RUNS] + (uint64_t)(unif(&x) * 3);
    c[SIM_COUNT_EMITTED] = n + n / 10;
    c[SIM_COUNT_EXPECTED] = n;
    double med = (double)(sp->latency_ns ? sp->latency_ns : 40000000);
    for (uint32_t i = 0; i < n; i++) {
        double u = unif(&x);
        if (u < sp->rate) {
            c[SIM_COUNT_DELIVERED]++;
            /* lognormal latency: Box-Muller normal, sigma 0.7 */
            double u1 = unif(&x), u2 = unif(&x);
            double z = sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
            sim_hist_add(&out->latency, (uint64_t)(med * exp(0.7 * z)));
            continue;
        }
        double v = unif(&x);
        if (v < 0.15) {
            c[SIM_COUNT_LATE]++;
            sim_hist_add(&out->latency, (uint64_t)(med * 60.0 * (1.0 + unif(&x))));
            continue;
        }
        c[SIM_COUNT_LOST]++;
        double w = unif(&x);
        if (legacy) {
            if (w < 0.85)
                c[SIM_COUNT_SILENT_LOSS]++;
            else
                c[SIM_COUNT_CLIENT_TOLD]++;
        } else if (w < 0.35) {
            c[SIM_COUNT_CORE_REPORTED]++;
        } else if (w < 0.70) {
            c[SIM_COUNT_CLIENT_TOLD]++;
            c[SIM_COUNT_NOTIFICATIONS]++;
        } else if (w < 0.80) {
            c[SIM_COUNT_TRANSPORT_LOST]++;
        } else if (w < 0.90) {
            c[SIM_COUNT_IN_FLIGHT_AT_CLOSE]++;
        } else {
            c[SIM_COUNT_CORE_REPORTED]++;
        }
    }
    if (legacy && unif(&x) < 0.2)
        c[SIM_COUNT_STRAY] = 1 + (uint64_t)(unif(&x) * 3);
    if (legacy && unif(&x) < 0.1)
        c[SIM_COUNT_OUT_OF_ORDER] = 1;
    out->trace_hash = splitmix(&x);
    out->steps = 40ull * n + 100;
    out->events = 55ull * n + 120;
    out->end_time = 1000000000ull * (5 + (uint64_t)(unif(&x) * 20));
    out->queue_peak = 8 + out->trace_hash % (4ull * n + 1);
    out->queue_mean = 1 + out->queue_peak / 3;
    /* The seed's verdict by the sweep's expectations (the one rule). */
    double rate;
    int64_t max[SIM_COUNT__N];
    expectations(sp, &rate, max);
    sim_seed_verdict(max, out);
    return 0;
}

int rep_synth_totals(sim_sweep_result *r)
{
    if (!r || (r->nseeds && !r->seeds))
        return -EINVAL;
    memset(r->c, 0, sizeof r->c);
    memset(&r->latency, 0, sizeof r->latency);
    for (uint32_t i = 0; i < r->nseeds; i++) {
        for (int k = 0; k < SIM_COUNT__N; k++)
            r->c[k] += r->seeds[i].c[k];
        sim_hist_merge(&r->latency, &r->seeds[i].latency);
    }
    r->p50 = sim_hist_quantile(&r->latency, 0.50);
    r->p90 = sim_hist_quantile(&r->latency, 0.90);
    r->p99 = sim_hist_quantile(&r->latency, 0.99);
    r->pmax = r->latency.max;
    sim_sweep_verdict(r);
    return 0;
}

int rep_synth_sweep(const rep_synth_spec *sp, const uint64_t *seeds, uint32_t nseeds,
                    sim_sweep_result *out)
{
    if (!sp || !sp->scenario || !sp->profile || !out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    snprintf(out->scenario, sizeof out->scenario, "%s", sp->scenario);
    if (sp->path)
        snprintf(out->path, sizeof out->path, "%s", sp->path);
    else
        snprintf(out->path, sizeof out->path, "scenarios/%s.yaml", sp->scenario);
    snprintf(out->profile, sizeof out->profile, "%s", sp->profile);
    snprintf(out->policy, sizeof out->policy, "%s", sp->policy ? sp->policy : "");
    out->ablated_fix = sp->ablated_fix;
    out->role = sp->role;
    out->matrix = sp->matrix;
    expectations(sp, &out->expect_rate, out->expect_max);
    out->seeds = calloc(nseeds ? nseeds : 1, sizeof *out->seeds);
    if (!out->seeds)
        return -ENOMEM;
    out->nseeds = nseeds;
    for (uint32_t i = 0; i < nseeds; i++) {
        int rc = rep_synth_seed(sp, seeds ? seeds[i] : i, &out->seeds[i]);
        if (rc != 0) {
            free(out->seeds);
            out->seeds = NULL;
            return rc;
        }
    }
    return rep_synth_totals(out);
}
