/*
 * query.h - reading the results store back: runs, their sweeps (as
 * sim_sweep_result, with seeds and the latency histogram on request),
 * failures, and the delivery-rate trend across runs.
 *
 * Loaded sweeps are judged from their counts, not from the stored
 * summaries: delivery_rate, rate_lo and rate_hi are recomputed from
 * expected/delivered (rep_rate), so a result edited with SQL is read as
 * what its counts say.
 *
 * Errors: -EIO below stands for any negative errno of store.h (-EIO,
 * -ENOSPC, -EBUSY, -ENOMEM, ...), with SQLite's message in
 * rep_store_errmsg(s).
 */
#ifndef REP_QUERY_H
#define REP_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "reports/store.h"
#include "sim/result.h"

/* One row of `runs`, plus whether it is still in progress. */
typedef struct rep_run_info {
    int64_t id;
    int64_t started_at;  /* unix seconds */
    int64_t finished_at; /* 0 while unfinished */
    char label[128];
    char git_rev[64];
    char tool_version[64];
    char args[4096];
    char shard[32]; /* "" for a whole run */
    char status[16];
    char host[256];
    int64_t pid;
    char mode[8];   /* (v7) "sim", or "real": recorded by ctxsim drive against a server */
    int live;       /* status 'running' and its process is alive on this host */
    int incomplete; /* not every sweep recorded: 'interrupted', or 'running'
                       and its process is gone (killed) or unknown (another host) */
} rep_run_info;

/*
 * rep_run_get reads run `id` into *out.  A 'running' run is live when its
 * host is this host and kill(pid, 0) finds the process; otherwise it is
 * incomplete (a recycled pid can make a dead run look live).  Returns 0,
 * -ENOENT (no such run) or -EIO.
 */
int rep_run_get(rep_store *s, int64_t id, rep_run_info *out);

/*
 * rep_run_resolve turns a --run/--baseline argument into a run id: NULL or
 * "" means the latest run, all digits a run id, anything else the latest
 * run with that label.  Returns 0, -ENOENT (no such run, or no runs) or
 * -EIO.  O(log runs) with the indexes.
 */
int rep_run_resolve(rep_store *s, const char *spec, int64_t *id);

/*
 * rep_run_baseline finds the default baseline of run_id: the latest run
 * before it with status 'complete'; *base = 0 when there is none.
 * Returns 0 or -EIO.
 */
int rep_run_baseline(rep_store *s, int64_t run_id, int64_t *base);

/* One stored sweep. */
typedef struct rep_sweep {
    int64_t id; /* scenario_results.id */
    int64_t run_id;
    int stored_pass;    /* the pass column as recorded */
    int stored_verdict; /* the verdict column as recorded (sim_verdict) */
    int has_coverage;   /* coverage recorded (schema v5 on), in r.coverage */
    sim_sweep_result r; /* r.seeds owned; NULL unless loaded */
} rep_sweep;

#define REP_LOAD_SEEDS 1u /* fill r.seeds (r.nseeds entries, latency empty) */
#define REP_LOAD_HIST  2u /* fill r.latency from latency_hist, max from max_ns */

/*
 * rep_sweeps_load reads every sweep of run_id, ordered by (scenario,
 * profile, policy, ablated_fix, id), into *out (owned: rep_sweeps_free),
 * *n entries; expectations come from expect_json; every sweep is judged
 * (see rep_sweep_judge).  Returns 0, -ENOMEM or
 * -EIO.  Cost: one query per sweep for seeds/histogram when asked; O(rows
 * read), plus O(SIM_HIST_BUCKETS) per histogram row because each stored
 * bucket is located with rep_hist_bucket_of (a few us per row).
 */
int rep_sweeps_load(rep_store *s, int64_t run_id, unsigned flags, rep_sweep **out, size_t *n);

/* rep_sweeps_free frees what rep_sweeps_load returned; NULL is a no-op. */
void rep_sweeps_free(rep_sweep *v, size_t n);

/*
 * rep_sweep_judge returns the verdict of a loaded sweep: *pass = r.pass,
 * reason[len] = r.reason.  rep_sweeps_load has judged it by the one rule
 * (sim_sweep_verdict on its counts; the recorded verdict when that is
 * worse: the simulator may have known more) and resolved the ablation
 * matrix of the run (sim_ablation_resolve), so r.verdict, r.fails_ci and
 * r.note are set too.  Returns 0 or -EINVAL.
 */
int rep_sweep_judge(const rep_sweep *w, int *pass, char *reason, size_t len);

/* One failing seed. */
typedef struct rep_failure {
    uint64_t seed;
    char kind[32];
    char detail[256];
    char replay[1024];
} rep_failure;

/*
 * rep_failures_load reads up to `max` failures of sweep scenario_result_id,
 * failing seeds by seed, then the worst seeds (kind "worst") by rank, into *out (malloc'd, caller
 * frees), *n entries; *total is the count of all its failures (may exceed max).  Returns 0,
 * -ENOMEM, -EIO.
 */
int rep_failures_load(rep_store *s, int64_t scenario_result_id, size_t max, rep_failure **out,
                      size_t *n, size_t *total);

/* The delivery rate of each scenario across runs, for one profile. */
typedef struct rep_trend {
    size_t nruns;
    rep_run_info *runs; /* owned, by id */
    size_t nscen;
    char (*scen)[64]; /* owned, sorted */
    double *rate;     /* owned, nruns * nscen, rate[run * nscen + scen]; NAN: absent */
} rep_trend;

/*
 * rep_trend_load reads the last `max_runs` runs up to and including
 * upto_run, and for each the delivery rate of every scenario's sweep under
 * `profile` with no fix ablated (the sweep with an empty policy when there
 * are several, else the first recorded).  Returns 0, -ENOMEM or -EIO.
 */
int rep_trend_load(rep_store *s, int64_t upto_run, size_t max_runs, const char *profile,
                   rep_trend *out);

/* rep_trend_free frees the arrays of t and zeroes it. */
void rep_trend_free(rep_trend *t);

/*
 * rep_hist_bucket_of returns the bucket of a sim_hist that value v falls in,
 * asking sim_hist_add itself (so it follows result.c's layout exactly).
 * O(SIM_HIST_BUCKETS).
 */
int rep_hist_bucket_of(uint64_t v);

#endif
