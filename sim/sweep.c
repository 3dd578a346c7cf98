/* sweep.c - many seeds of one scenario, in process or in workers. */
#include "sim/sweep.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/budget.h"
#include "sim/trace.h"
#include "sim/verdict.h"
#include "sim/world.h"

const char *sim_profile_name(int profile)
{
    return profile == CR_PROFILE_LEGACY ? "legacy" : "fixed";
}

int sim_sweep_policy(const sim_scenario *sc, const sim_sweep_opts *o, cr_policy *out, char *diff,
                     size_t difflen)
{
    cr_policy base;
    int rc = sim_scenario_policy(sc, o->profile, &base);
    if (rc != 0)
        return rc;
    if (o->ablate_fix) {
        rc = cr_policy_disable_fix(&base, o->ablate_fix);
        if (rc != 0)
            return rc;
    }
    *out = base;
    for (size_t i = 0; i < o->noverrides; i++) {
        rc = cr_policy_set(out, o->overrides[i].name, o->overrides[i].value);
        if (rc != 0)
            return rc;
    }
    if (diff && difflen) {
        size_t n = 0;
        diff[0] = '\0';
        for (size_t i = 0; i < cr_policy_knob_count(); i++) {
            const cr_knob_info *k = cr_policy_knob(i);
            uint64_t a = 0, b = 0;
            cr_policy_get(&base, k->name, &a);
            cr_policy_get(out, k->name, &b);
            if (a == b)
                continue;
            int w = snprintf(diff + n, difflen - n, "%s%s=%" PRIu64, n ? "," : "", k->name, b);
            if (w < 0 || (size_t)w >= difflen - n)
                break;
            n += (size_t)w;
        }
    }
    return 0;
}

void sim_seed_judge(const sim_scenario *sc, sim_seed_result *res)
{
    sim_seed_verdict(sc->expect.max, res);
}

void sim_sweep_judge(const sim_scenario *sc, sim_sweep_result *r)
{
    const sim_expect *x = &sc->expect;
    memset(r->c, 0, sizeof(r->c));
    memset(&r->latency, 0, sizeof(r->latency));
    r->coverage = 0;
    for (uint32_t i = 0; i < r->nseeds; i++) {
        const sim_seed_result *s = &r->seeds[i];
        r->coverage |= s->coverage;
        for (int k = 0; k < SIM_COUNT__N; k++)
            r->c[k] += s->c[k];
        sim_hist_merge(&r->latency, &s->latency);
    }
    r->p50 = sim_hist_quantile(&r->latency, 0.50);
    r->p90 = sim_hist_quantile(&r->latency, 0.90);
    r->p99 = sim_hist_quantile(&r->latency, 0.99);
    r->pmax = r->latency.max;
    r->expect_rate = x->has_rate ? x->delivery_rate : -1;
    for (int k = 0; k < SIM_COUNT__N; k++)
        r->expect_max[k] = x->max[k];
    sim_sweep_verdict(r);
}

/* run_one runs and judges one seed. */
static void run_one(const sim_scenario *sc, const cr_policy *pol, const sim_sweep_opts *o,
                    uint64_t seed, sim_seed_result *res)
{
    sim_world_opts wo = {.seed = seed,
                         .no_trace = o->no_trace,
                         .explore = o->explore,
                         .max_steps = o->max_steps,
                         .pct_depth = o->pct_depth,
                         .pct_window = o->pct_window};
    sim_world_run(sc, pol, &wo, res, NULL);
    if (o->no_trace) { /* nothing was hashed: the hash is absent, not that of an empty trace */
        res->trace_hash = 0;
        res->steps = 0;
    }
    sim_seed_judge(sc, res);
}

static void progress(const sim_scenario *sc, const sim_sweep_opts *o, uint32_t done, uint32_t n)
{
    if (!o->progress)
        return;
    if (done == n || done % 16 == 0)
        fprintf(stderr, "\r  %-32s %-7s seed %6" PRIu32 "/%-6" PRIu32 "%s", sc->name,
                sim_profile_name(o->profile >= 0 ? o->profile : (int)sc->profile), done, n,
                done == n ? "\r\033[K" : "");
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* A worker's record: the index of the seed in the sweep, then the result. */
typedef struct wire {
    uint32_t index;
    sim_seed_result res;
} wire;

static int run_workers(const sim_scenario *sc, const cr_policy *pol, const sim_sweep_opts *o,
                       const uint64_t *seeds, uint32_t n, sim_seed_result *out, char *err,
                       size_t errlen)
{
    int jobs = o->jobs;
    if ((uint32_t)jobs > n)
        jobs = (int)n;
    pid_t *pids = calloc((size_t)jobs, sizeof(pid_t));
    int *fds = calloc((size_t)jobs, sizeof(int));
    uint8_t *have = calloc(n, 1);
    if (!pids || !fds || !have) {
        free(pids);
        free(fds);
        free(have);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fflush(NULL);
    int started = 0;
    for (int j = 0; j < jobs; j++) {
        int p[2];
        if (pipe(p) != 0)
            break;
        pid_t pid = fork();
        if (pid < 0) {
            close(p[0]);
            close(p[1]);
            break;
        }
        if (pid == 0) {
            close(p[0]);
            for (int k = 0; k < j; k++)
                close(fds[k]);
            wire *wr = malloc(sizeof(*wr));
            if (!wr)
                _exit(3);
            for (uint32_t i = (uint32_t)j; i < n; i += (uint32_t)jobs) {
                memset(wr, 0, sizeof(*wr));
                wr->index = i;
                run_one(sc, pol, o, seeds[i], &wr->res);
                if (sim_budget_stopped())
                    _exit(5); /* the seed did not finish: not a result */
                if (write_all(p[1], wr, sizeof(*wr)) != 0)
                    _exit(4);
            }
            free(wr);
            _exit(0);
        }
        close(p[1]);
        pids[j] = pid;
        fds[j] = p[0];
        started++;
    }
    int rc = 0;
    if (started < jobs) {
        snprintf(err, errlen, "could not start %d workers: %s", jobs, strerror(errno));
        rc = -1;
        jobs = started;
    }
    /* Collect: every worker's stream is a sequence of fixed-size records. */
    uint32_t got = 0;
    size_t *fill = calloc((size_t)(jobs ? jobs : 1), sizeof(size_t));
    wire *buf = calloc((size_t)(jobs ? jobs : 1), sizeof(wire));
    struct pollfd *pf = calloc((size_t)(jobs ? jobs : 1), sizeof(struct pollfd));
    int open_fds = jobs, forwarded = 0;
    while (fill && buf && pf && open_fds > 0) {
        /* A stop request (a SIGTERM to this process alone) goes on to the
         * workers, which end their seed within SIM_BUDGET_CHECK_EVERY
         * events. */
        if (sim_budget_stopped() && !forwarded) {
            for (int j = 0; j < jobs; j++)
                kill(pids[j], SIGTERM);
            forwarded = 1;
        }
        for (int j = 0; j < jobs; j++) {
            pf[j].fd = fds[j];
            pf[j].events = POLLIN;
            pf[j].revents = 0;
        }
        if (poll(pf, (nfds_t)jobs, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int j = 0; j < jobs; j++) {
            if (fds[j] < 0 || !(pf[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(fds[j], (char *)&buf[j] + fill[j], sizeof(wire) - fill[j]);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                close(fds[j]);
                fds[j] = -1;
                open_fds--;
                continue;
            }
            fill[j] += (size_t)r;
            if (fill[j] == sizeof(wire)) {
                fill[j] = 0;
                uint32_t i = buf[j].index;
                if (i < n && !have[i]) {
                    out[i] = buf[j].res;
                    have[i] = 1;
                    got++;
                    progress(sc, o, got, n);
                }
            }
        }
    }
    for (int j = 0; j < jobs; j++) {
        if (fds[j] >= 0)
            close(fds[j]);
        int st = 0;
        if (waitpid(pids[j], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            if (rc == 0)
                snprintf(err, errlen, "worker %d failed (status %d)", j, st);
            rc = -1;
        }
    }
    if (sim_budget_stopped()) {
        snprintf(err, errlen, "interrupted by signal %d", sim_budget_stopped());
        rc = -1;
    }
    if (rc == 0 && got != n) {
        snprintf(err, errlen, "workers returned %" PRIu32 " of %" PRIu32 " seeds", got, n);
        rc = -1;
    }
    free(fill);
    free(buf);
    free(pf);
    free(pids);
    free(fds);
    free(have);
    return rc;
}

int sim_sweep_run(const sim_scenario *sc, const sim_sweep_opts *o, sim_sweep_result *out, char *err,
                  size_t errlen)
{
    memset(out, 0, sizeof(*out));
    cr_policy pol;
    int rc = sim_sweep_policy(sc, o, &pol, out->policy, sizeof(out->policy));
    if (rc != 0) {
        snprintf(err, errlen, "policy: %s", cr_strerror(rc));
        return -1;
    }
    snprintf(out->scenario, sizeof(out->scenario), "%s", sc->name);
    snprintf(out->path, sizeof(out->path), "%s", sc->path ? sc->path : "");
    snprintf(out->profile, sizeof(out->profile), "%s",
             sim_profile_name(o->profile >= 0 ? o->profile : (int)sc->profile));
    out->ablated_fix = o->ablate_fix;
    out->explore = o->explore;
    out->pct_depth = o->pct_depth;
    out->pct_window = o->pct_window;
    out->max_steps = o->max_steps;
    out->allow_large = o->allow_large;
    out->role = o->role;
    out->matrix = o->matrix;

    uint32_t total = o->seeds ? o->seeds : sc->seeds;
    uint64_t *seeds = calloc(total ? total : 1, sizeof(uint64_t));
    if (!seeds) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uint32_t n = 0;
    if (o->only_seed) {
        seeds[n++] = o->only_seed;
    } else {
        for (uint64_t s = 1; s <= total; s++)
            if (!o->shard_n || (s - 1) % o->shard_n == o->shard_k - 1)
                seeds[n++] = s;
    }
    out->seeds = calloc(n ? n : 1, sizeof(sim_seed_result));
    if (!out->seeds) {
        free(seeds);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    out->nseeds = n;
    rc = 0;
    if (o->jobs > 1 && n > 1) {
        rc = run_workers(sc, &pol, o, seeds, n, out->seeds, err, errlen);
    } else {
        for (uint32_t i = 0; i < n && rc == 0; i++) {
            run_one(sc, &pol, o, seeds[i], &out->seeds[i]);
            if (sim_budget_stopped()) {
                snprintf(err, errlen, "interrupted by signal %d", sim_budget_stopped());
                rc = -1;
            }
            progress(sc, o, i + 1, n);
        }
    }
    free(seeds);
    if (rc != 0) {
        sim_sweep_result_free(out);
        return -1;
    }
    sim_sweep_judge(sc, out);
    return 0;
}

void sim_sweep_result_free(sim_sweep_result *r)
{
    if (!r)
        return;
    free(r->seeds);
    r->seeds = NULL;
    r->nseeds = 0;
}

int sim_check_determinism(const sim_scenario *sc, const cr_policy *policy, uint64_t seed,
                          int explore, uint64_t *hash, char *diff, size_t difflen)
{
    sim_trace *t[2] = {NULL, NULL};
    sim_seed_result *r = calloc(2, sizeof(*r));
    if (!r)
        return -1;
    for (int i = 0; i < 2; i++) {
        sim_world_opts wo = {.seed = seed, .explore = explore, .keep_trace = 1};
        sim_world_run(sc, policy, &wo, &r[i], &t[i]);
    }
    int rc = -1;
    if (t[0] && t[1]) {
        *hash = r[0].trace_hash;
        rc = 0;
        if (r[0].trace_hash != r[1].trace_hash) {
            rc = 1;
            size_t n0 = sim_trace_count(t[0]), n1 = sim_trace_count(t[1]);
            size_t i = 0;
            for (; i < n0 && i < n1; i++) {
                const sim_trace_rec *a = sim_trace_get(t[0], i), *b = sim_trace_get(t[1], i);
                if (a->time != b->time || strcmp(a->actor, b->actor) || strcmp(a->step, b->step) ||
                    strcmp(a->detail, b->detail))
                    break;
            }
            const sim_trace_rec *a = i < n0 ? sim_trace_get(t[0], i) : NULL;
            const sim_trace_rec *b = i < n1 ? sim_trace_get(t[1], i) : NULL;
            snprintf(diff, difflen,
                     "first difference at step %zu:\n  run 1: %" PRIu64
                     " %s %s %s\n  run 2: %" PRIu64 " %s %s %s",
                     i + 1, a ? a->time : 0, a ? a->actor : "(end)", a ? a->step : "",
                     a ? a->detail : "", b ? b->time : 0, b ? b->actor : "(end)", b ? b->step : "",
                     b ? b->detail : "");
        }
    }
    sim_trace_free(t[0]);
    sim_trace_free(t[1]);
    free(r);
    return rc;
}
