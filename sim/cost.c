/* cost.c - the cost estimate of a sweep and its limits (cost.h). */
#include "sim/cost.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/result.h"
#include "sim/world.h"

/* Memory per tab and per user at a seed's start: the world's client and
 * user records, the oracle's per-tab state, the core's connection slot
 * (measured: about 2.5 KiB per one-tab user, rounded up). */
#define BYTES_PER_TAB  3072u
#define BYTES_PER_USER 1024u

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* most_tabs: the most tabs the world gives one user (it rounds a draw and
 * clamps it to 1..64): the distribution's 99.99th percentile. */
static uint64_t most_tabs(const sim_dist *d)
{
    double q = d->kind == SIM_DIST_CONST ? d->a : sim_dist_quantile(d, 0.9999);
    if (!(q >= 1))
        return 1;
    return q >= 64 ? 64 : (uint64_t)(q + 0.5);
}

void sim_cost_estimate(const sim_scenario *sc, uint64_t seeds, sim_cost *out)
{
    memset(out, 0, sizeof *out);
    out->tabs = sat_mul(sc->users, most_tabs(&sc->clients_per_user));
    out->steps_per_tab = sim_scenario_unrolled_steps(sc->steps, sc->nsteps);
    /* the step budget is 16 times this, plus a floor (sim/world.h) */
    uint64_t budget =
        sim_world_step_budget(sc, out->tabs > UINT32_MAX ? UINT32_MAX : (uint32_t)out->tabs);
    out->seed_events = budget == UINT64_MAX ? UINT64_MAX : (budget - 1000000) / 16;
    out->seeds = seeds ? seeds : sc->seeds;
    out->sweep_events = sat_mul(out->seed_events, out->seeds);
    out->seed_bytes =
        sat_add(sat_mul(out->tabs, BYTES_PER_TAB), sat_mul(sc->users, BYTES_PER_USER));
    out->result_bytes = sat_mul(out->seeds, sizeof(sim_seed_result));
}

int sim_cost_check(const sim_cost *c, char *why, size_t len)
{
    static const struct {
        const char *what;
        size_t off;
        uint64_t max;
    } lim[] = {
        {"tabs", offsetof(sim_cost, tabs), SIM_COST_TABS_MAX},
        {"steps per tab", offsetof(sim_cost, steps_per_tab), SIM_COST_STEPS_PER_TAB_MAX},
        {"events per seed", offsetof(sim_cost, seed_events), SIM_COST_SEED_EVENTS_MAX},
        {"events per sweep", offsetof(sim_cost, sweep_events), SIM_COST_SWEEP_EVENTS_MAX},
        {"bytes per seed", offsetof(sim_cost, seed_bytes), SIM_COST_SEED_BYTES_MAX},
    };
    int n = 0;
    size_t o = 0;
    if (why && len)
        why[0] = '\0';
    for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++) {
        uint64_t v;
        memcpy(&v, (const char *)c + lim[i].off, sizeof v);
        if (v <= lim[i].max)
            continue;
        n++;
        if (why && o < len) {
            int w = snprintf(why + o, len - o, "%s%s %" PRIu64 " > %" PRIu64, o ? "; " : "",
                             lim[i].what, v, lim[i].max);
            o = w < 0 ? len : o + (size_t)w;
        }
    }
    return n;
}

/* human writes bytes as "12.3 MiB". */
static void human(char *buf, size_t len, uint64_t bytes)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)bytes;
    size_t k = 0;
    while (v >= 1024 && k + 1 < sizeof u / sizeof u[0]) {
        v /= 1024;
        k++;
    }
    snprintf(buf, len, k ? "%.1f %s" : "%.0f %s", v, u[k]);
}

int sim_cost_format(const sim_cost *c, char *buf, size_t len)
{
    char sb[32], rb[32];
    human(sb, sizeof sb, c->seed_bytes);
    human(rb, sizeof rb, c->result_bytes);
    int n = snprintf(buf, len,
                     "%" PRIu64 " tabs, %" PRIu64 " steps per tab, <= %" PRIu64
                     " events per seed, %" PRIu64 " seeds: <= %" PRIu64
                     " events; %s per seed, %s of results",
                     c->tabs, c->steps_per_tab, c->seed_events, c->seeds, c->sweep_events, sb, rb);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}
