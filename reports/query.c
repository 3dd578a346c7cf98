/*
 * query.c - reading runs, sweeps, seeds, failures and trends back.
 */
#include "reports/query.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/text.h"
#include "reports/verdict.h"
#include "sim/coverage.h"
#include "sim/verdict.h"

#define COL_NAME(id, name, doc) ", " #name

/* Copies column i as text ("" for NULL) into buf[len]. */
static void col_text(sqlite3_stmt *st, int i, char *buf, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(buf, len, "%s", t ? (const char *)t : "");
}

static const char run_cols[] = "SELECT id, started_at, COALESCE(finished_at, 0), label, git_rev, "
                               "tool_version, args, shard, status, host, pid, mode FROM runs";

static void read_run(sqlite3_stmt *st, rep_run_info *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    r->started_at = sqlite3_column_int64(st, 1);
    r->finished_at = sqlite3_column_int64(st, 2);
    col_text(st, 3, r->label, sizeof r->label);
    col_text(st, 4, r->git_rev, sizeof r->git_rev);
    col_text(st, 5, r->tool_version, sizeof r->tool_version);
    col_text(st, 6, r->args, sizeof r->args);
    col_text(st, 7, r->shard, sizeof r->shard);
    col_text(st, 8, r->status, sizeof r->status);
    col_text(st, 9, r->host, sizeof r->host);
    r->pid = sqlite3_column_int64(st, 10);
    col_text(st, 11, r->mode, sizeof r->mode);
    if (strcmp(r->status, "interrupted") == 0) {
        r->incomplete = 1;
    } else if (strcmp(r->status, "running") == 0) {
        char host[256] = "";
        if (gethostname(host, sizeof host - 1) != 0)
            host[0] = '\0';
        int alive = 0;
        if (r->pid > 0 && r->host[0] && strcmp(host, r->host) == 0)
            alive = kill((pid_t)r->pid, 0) == 0 || errno == EPERM;
        r->live = alive;
        r->incomplete = !alive;
    }
}

int rep_run_get(rep_store *s, int64_t id, rep_run_info *out)
{
    if (!s || !out)
        return -EINVAL;
    sqlite3 *db = rep_store_db(s);
    char sql[sizeof run_cols + 32];
    snprintf(sql, sizeof sql, "%s WHERE id = ?", run_cols);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return rep_store_fail(s, "reading a run");
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_run(st, out);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : rep_store_fail(s, "reading a run");
    }
    sqlite3_finalize(st);
    return rc;
}

/* Runs a query returning one integer (bound: optional text, optional int);
 * *v = 0 when it returns no row or NULL. */
static int query_id(rep_store *s, const char *sql, const char *text, int64_t num, int64_t *v)
{
    sqlite3 *db = rep_store_db(s);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return rep_store_fail(s, "reading runs");
    int p = 1;
    if (text)
        sqlite3_bind_text(st, p++, text, -1, SQLITE_TRANSIENT);
    if (sqlite3_bind_parameter_count(st) >= p)
        sqlite3_bind_int64(st, p, num);
    int rc = sqlite3_step(st);
    *v = 0;
    if (rc == SQLITE_ROW) {
        *v = sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? 0 : rep_store_fail(s, "reading runs");
    }
    sqlite3_finalize(st);
    return rc;
}

int rep_run_resolve(rep_store *s, const char *spec, int64_t *id)
{
    if (!s || !id)
        return -EINVAL;
    int64_t v = 0;
    int rc;
    if (!spec || !*spec) {
        rc = query_id(s, "SELECT max(id) FROM runs", NULL, 0, &v);
    } else if (strspn(spec, "0123456789") == strlen(spec) && strlen(spec) < 19) {
        rc = query_id(s, "SELECT id FROM runs WHERE id = ?", NULL, strtoll(spec, NULL, 10), &v);
    } else {
        rc = query_id(s, "SELECT max(id) FROM runs WHERE label = ?", spec, 0, &v);
    }
    if (rc != 0)
        return rc;
    if (v == 0)
        return -ENOENT;
    *id = v;
    return 0;
}

int rep_run_baseline(rep_store *s, int64_t run_id, int64_t *base)
{
    if (!s || !base)
        return -EINVAL;
    return query_id(s, "SELECT max(id) FROM runs WHERE status = 'complete' AND id < ?", NULL,
                    run_id, base);
}

int rep_hist_bucket_of(uint64_t v)
{
    sim_hist h;
    memset(&h, 0, sizeof h);
    sim_hist_add(&h, v);
    for (int i = 0; i < SIM_HIST_BUCKETS; i++)
        if (h.b[i])
            return i;
    return SIM_HIST_BUCKETS - 1;
}

/* Fills r->seeds of sweep `id`. */
static int load_seeds(rep_store *s, int64_t id, sim_sweep_result *r)
{
    static const char sql[] =
        "SELECT seed, trace_hash, steps, events, end_time_ns, pass, queue_peak, queue_mean, "
        "reason, worst" SIM_COUNTS(COL_NAME) " FROM seed_results "
                                             "WHERE scenario_result_id = ? ORDER BY seed, id";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(rep_store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
        return rep_store_fail(s, "reading seeds");
    sqlite3_bind_int64(st, 1, id);
    size_t cap = r->nseeds ? r->nseeds : 1, n = 0;
    sim_seed_result *v = calloc(cap, sizeof *v);
    int rc = v ? 0 : -ENOMEM;
    while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = 0;
        if (n == cap) {
            sim_seed_result *nv = realloc(v, 2 * cap * sizeof *v);
            if (!nv) {
                rc = -ENOMEM;
                break;
            }
            memset(nv + cap, 0, cap * sizeof *v);
            v = nv;
            cap *= 2;
        }
        sim_seed_result *x = &v[n++];
        x->seed = (uint64_t)sqlite3_column_int64(st, 0);
        const unsigned char *h = sqlite3_column_text(st, 1);
        x->trace_hash = h ? strtoull((const char *)h, NULL, 16) : 0;
        x->steps = (uint64_t)sqlite3_column_int64(st, 2);
        x->events = (uint64_t)sqlite3_column_int64(st, 3);
        x->end_time = (uint64_t)sqlite3_column_int64(st, 4);
        x->pass = sqlite3_column_int(st, 5);
        x->queue_peak = (uint64_t)sqlite3_column_int64(st, 6);
        x->queue_mean = (uint64_t)sqlite3_column_int64(st, 7);
        col_text(st, 8, x->reason, sizeof x->reason);
        x->worst = sqlite3_column_int(st, 9);
        for (int i = 0; i < SIM_COUNT__N; i++)
            x->c[i] = (uint64_t)sqlite3_column_int64(st, 10 + i);
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = rep_store_fail(s, "reading seeds");
    sqlite3_finalize(st);
    if (rc != 0) {
        free(v);
        return rc;
    }
    r->seeds = v;
    r->nseeds = (uint32_t)n;
    return 0;
}

/* Fills r->latency of sweep `id` (r->pmax already read). */
static int load_hist(rep_store *s, int64_t id, sim_sweep_result *r)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(rep_store_db(s),
                           "SELECT bucket_low_ns, count FROM latency_hist WHERE "
                           "scenario_result_id = ? ORDER BY bucket_low_ns",
                           -1, &st, NULL) != SQLITE_OK)
        return rep_store_fail(s, "reading a latency histogram");
    sqlite3_bind_int64(st, 1, id);
    memset(&r->latency, 0, sizeof r->latency);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t low = (uint64_t)sqlite3_column_int64(st, 0);
        uint64_t cnt = (uint64_t)sqlite3_column_int64(st, 1);
        r->latency.b[rep_hist_bucket_of(low)] += cnt;
        r->latency.count += cnt;
    }
    if (rc != SQLITE_DONE)
        rc = rep_store_fail(s, "reading a latency histogram");
    sqlite3_finalize(st);
    r->latency.max = r->pmax;
    return rc == SQLITE_DONE ? 0 : rc;
}

void rep_sweeps_free(rep_sweep *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i].r.seeds);
    free(v);
}

int rep_sweep_judge(const rep_sweep *w, int *pass, char *reason, size_t len)
{
    if (!w || !pass || !reason || len == 0)
        return -EINVAL;
    *pass = w->r.pass;
    snprintf(reason, len, "%s", w->r.reason);
    return 0;
}

/* How bad a verdict is: pass < inconclusive < fail. */
static int badness(int v)
{
    return v == SIM_VERDICT_FAIL ? 2 : v == SIM_VERDICT_INCONCLUSIVE ? 1 : 0;
}

/*
 * Judges loaded sweeps by the one rule (sim_sweep_verdict on their
 * counts), keeps the recorded verdict when it is worse (the simulator may
 * have known more), then resolves the ablation matrix across the run.
 */
static int judge_loaded(rep_sweep *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sim_sweep_result *r = &v[i].r;
        char stored_reason[sizeof r->reason];
        memcpy(stored_reason, r->reason, sizeof stored_reason);
        sim_sweep_verdict(r);
        if (badness(v[i].stored_verdict) > badness(r->verdict)) {
            r->verdict = v[i].stored_verdict;
            r->pass = 0;
            snprintf(r->reason, sizeof r->reason, "%s",
                     stored_reason[0] ? stored_reason : "recorded as failed");
            sim_sweep_apply_role(r);
        }
    }
    sim_sweep_result **p = calloc(n ? n : 1, sizeof *p);
    if (!p)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        p[i] = &v[i].r;
    sim_ablation_resolve(p, n);
    free(p);
    return 0;
}

int rep_sweeps_load(rep_store *s, int64_t run_id, unsigned flags, rep_sweep **out, size_t *n)
{
    if (!s || !out || !n)
        return -EINVAL;
    *out = NULL;
    *n = 0;
    static const char sql[] =
        "SELECT id, run_id, scenario, path, profile, policy, ablated_fix, seeds, expect_json, "
        "p50_ns, p90_ns, p99_ns, max_ns, failed_seeds, pass, reason, role, verdict, matrix, "
        "worst_seeds" SIM_COUNTS(COL_NAME) ", coverage FROM scenario_results WHERE run_id = ? "
                                           "ORDER BY scenario, profile, policy, ablated_fix, id";
    sqlite3 *db = rep_store_db(s);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return rep_store_fail(s, "reading sweeps");
    sqlite3_bind_int64(st, 1, run_id);
    size_t cap = 0, cnt = 0;
    rep_sweep *v = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            size_t nc = cap ? 2 * cap : 16;
            rep_sweep *nv = realloc(v, nc * sizeof *v);
            if (!nv) {
                rc = -ENOMEM;
                break;
            }
            v = nv;
            cap = nc;
        }
        rep_sweep *w = &v[cnt++];
        memset(w, 0, sizeof *w);
        sim_sweep_result *r = &w->r;
        w->id = sqlite3_column_int64(st, 0);
        w->run_id = sqlite3_column_int64(st, 1);
        col_text(st, 2, r->scenario, sizeof r->scenario);
        col_text(st, 3, r->path, sizeof r->path);
        col_text(st, 4, r->profile, sizeof r->profile);
        col_text(st, 5, r->policy, sizeof r->policy);
        r->ablated_fix = sqlite3_column_int(st, 6);
        r->nseeds = (uint32_t)sqlite3_column_int64(st, 7);
        const unsigned char *ej = sqlite3_column_text(st, 8);
        if (rep_expect_parse(ej ? (const char *)ej : "{}", &r->expect_rate, r->expect_max) != 0)
            rep_expect_parse("{}", &r->expect_rate, r->expect_max);
        r->p50 = (uint64_t)sqlite3_column_int64(st, 9);
        r->p90 = (uint64_t)sqlite3_column_int64(st, 10);
        r->p99 = (uint64_t)sqlite3_column_int64(st, 11);
        r->pmax = (uint64_t)sqlite3_column_int64(st, 12);
        r->failed_seeds = (uint32_t)sqlite3_column_int64(st, 13);
        w->stored_pass = sqlite3_column_int(st, 14);
        r->pass = w->stored_pass;
        col_text(st, 15, r->reason, sizeof r->reason);
        char word[32];
        col_text(st, 16, word, sizeof word);
        r->role = sim_role_lookup(word) == SIM_ROLE_INFORMATIONAL ? SIM_ROLE_INFORMATIONAL
                                                                  : SIM_ROLE_GATE;
        col_text(st, 17, word, sizeof word);
        w->stored_verdict = sim_verdict_lookup(word);
        if (w->stored_verdict < 0)
            w->stored_verdict = w->stored_pass ? SIM_VERDICT_PASS : SIM_VERDICT_FAIL;
        if (!w->stored_pass && w->stored_verdict == SIM_VERDICT_PASS)
            w->stored_verdict = SIM_VERDICT_FAIL; /* pass edited to 0 */
        r->matrix = sqlite3_column_int(st, 18) != 0;
        r->worst_seeds = (uint32_t)sqlite3_column_int64(st, 19);
        for (int i = 0; i < SIM_COUNT__N; i++)
            r->c[i] = (uint64_t)sqlite3_column_int64(st, 20 + i);
        const unsigned char *cov = sqlite3_column_text(st, 20 + SIM_COUNT__N);
        w->has_coverage = cov != NULL;
        if (cov)
            sim_coverage_parse((const char *)cov, &r->coverage);
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = rep_store_fail(s, "reading sweeps");
    sqlite3_finalize(st);
    for (size_t i = 0; rc == 0 && i < cnt; i++) {
        if (flags & REP_LOAD_SEEDS)
            rc = load_seeds(s, v[i].id, &v[i].r);
        if (rc == 0 && (flags & REP_LOAD_HIST))
            rc = load_hist(s, v[i].id, &v[i].r);
    }
    if (rc == 0)
        rc = judge_loaded(v, cnt);
    if (rc != 0) {
        rep_sweeps_free(v, cnt);
        return rc;
    }
    *out = v;
    *n = cnt;
    return 0;
}

int rep_failures_load(rep_store *s, int64_t scenario_result_id, size_t max, rep_failure **out,
                      size_t *n, size_t *total)
{
    if (!s || !out || !n || !total)
        return -EINVAL;
    *out = NULL;
    *n = 0;
    *total = 0;
    sqlite3 *db = rep_store_db(s);
    int64_t all = 0;
    int rc = query_id(s, "SELECT count(*) FROM failures WHERE scenario_result_id = ?", NULL,
                      scenario_result_id, &all);
    if (rc != 0)
        return rc;
    *total = (size_t)all;
    size_t want = (size_t)all < max ? (size_t)all : max;
    if (want == 0)
        return 0;
    rep_failure *v = calloc(want, sizeof *v);
    if (!v)
        return -ENOMEM;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT seed, kind, detail, replay FROM failures WHERE "
                           "scenario_result_id = ? ORDER BY kind = 'worst', "
                           "CASE WHEN kind = 'worst' THEN id ELSE seed END, id LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK) {
        free(v);
        return rep_store_fail(s, "reading failures");
    }
    sqlite3_bind_int64(st, 1, scenario_result_id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)want);
    size_t k = 0;
    while (k < want && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        v[k].seed = (uint64_t)sqlite3_column_int64(st, 0);
        col_text(st, 1, v[k].kind, sizeof v[k].kind);
        col_text(st, 2, v[k].detail, sizeof v[k].detail);
        col_text(st, 3, v[k].replay, sizeof v[k].replay);
        /* what is printed to be pasted is never taken from the file as
         * it is: a line no ctxsim wrote (not printable) is withheld */
        if (rep_text_printable(v[k].replay) != 0)
            snprintf(v[k].replay, sizeof v[k].replay,
                     "# (replay line withheld: the stored line is not printable text)");
        k++;
    }
    if (k < want && rc != SQLITE_DONE) {
        rc = rep_store_fail(s, "reading failures");
        sqlite3_finalize(st);
        free(v);
        return rc;
    }
    sqlite3_finalize(st);
    *out = v;
    *n = k;
    return 0;
}

void rep_trend_free(rep_trend *t)
{
    if (!t)
        return;
    free(t->runs);
    free(t->scen);
    free(t->rate);
    memset(t, 0, sizeof *t);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* The trend's queries over the sweeps of runs first..upto under profile
 * (parameters ?1..?3). */
#define TREND_SCEN_SQL                                                                             \
    "SELECT DISTINCT scenario FROM scenario_results WHERE run_id BETWEEN ? AND ? AND profile = ? " \
    "AND ablated_fix = 0 ORDER BY scenario"
#define TREND_RATE_SQL                                                                             \
    "SELECT run_id, scenario, expected, delivered FROM scenario_results WHERE run_id BETWEEN ? "   \
    "AND ? AND profile = ? AND ablated_fix = 0 ORDER BY run_id, scenario, (policy = '') DESC, id"

/* Prepares sql with its run window and profile bound; a negative errno on failure. */
static int prepare_window(rep_store *s, const char *sql, int64_t first, int64_t upto,
                          const char *profile, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(rep_store_db(s), sql, -1, st, NULL) != SQLITE_OK)
        return rep_store_fail(s, "reading the trend");
    sqlite3_bind_int64(*st, 1, first);
    sqlite3_bind_int64(*st, 2, upto);
    sqlite3_bind_text(*st, 3, profile, -1, SQLITE_TRANSIENT);
    return 0;
}

int rep_trend_load(rep_store *s, int64_t upto_run, size_t max_runs, const char *profile,
                   rep_trend *out)
{
    if (!s || !out || !profile || max_runs == 0)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    sqlite3 *db = rep_store_db(s);
    /* The runs: the last max_runs up to upto_run, oldest first. */
    char sql[sizeof run_cols + 128];
    snprintf(sql, sizeof sql,
             "SELECT * FROM (%s WHERE id <= ? ORDER BY id DESC LIMIT ?) ORDER BY id", run_cols);
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return rep_store_fail(s, "reading the trend");
    sqlite3_bind_int64(st, 1, upto_run);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max_runs);
    out->runs = calloc(max_runs, sizeof *out->runs);
    if (!out->runs)
        rc = -ENOMEM;
    int step = SQLITE_DONE;
    while (rc == 0 && out->nruns < max_runs && (step = sqlite3_step(st)) == SQLITE_ROW)
        read_run(st, &out->runs[out->nruns++]);
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = rep_store_fail(s, "reading the trend");
    sqlite3_finalize(st);
    if (rc != 0 || out->nruns == 0) {
        rep_trend_free(out);
        return rc;
    }
    int64_t first = out->runs[0].id;
    /* The scenarios of those runs under profile, then the rates.  The
     * (policy = '') DESC, id order makes the first row of each (run,
     * scenario) the preferred sweep. */
    if ((rc = prepare_window(s, TREND_SCEN_SQL, first, upto_run, profile, &st)) != 0) {
        rep_trend_free(out);
        return rc;
    }
    size_t cap = 0;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->nscen == cap) {
            size_t nc = cap ? 2 * cap : 16;
            char(*ns)[64] = realloc(out->scen, nc * sizeof *ns);
            if (!ns) {
                rc = -ENOMEM;
                break;
            }
            out->scen = ns;
            cap = nc;
        }
        col_text(st, 0, out->scen[out->nscen++], 64);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = rep_store_fail(s, "reading the trend");
    sqlite3_finalize(st);
    if (rc == 0 && out->nscen > 0) {
        out->rate = malloc(out->nruns * out->nscen * sizeof *out->rate);
        if (!out->rate)
            rc = -ENOMEM;
    }
    if (rc != 0 || out->nscen == 0) {
        if (rc != 0)
            rep_trend_free(out);
        return rc;
    }
    for (size_t i = 0; i < out->nruns * out->nscen; i++)
        out->rate[i] = NAN;
    if ((rc = prepare_window(s, TREND_RATE_SQL, first, upto_run, profile, &st)) != 0) {
        rep_trend_free(out);
        return rc;
    }
    size_t ri = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t run = sqlite3_column_int64(st, 0);
        while (ri < out->nruns && out->runs[ri].id < run)
            ri++;
        if (ri == out->nruns)
            break;
        if (out->runs[ri].id != run)
            continue;
        char name[64];
        col_text(st, 1, name, sizeof name);
        char(*hit)[64] = bsearch(name, out->scen, out->nscen, sizeof *out->scen, cmp_name);
        if (!hit)
            continue;
        double *cell = &out->rate[ri * out->nscen + (size_t)(hit - out->scen)];
        if (!isnan(*cell))
            continue; /* keep the preferred sweep */
        uint64_t e = (uint64_t)sqlite3_column_int64(st, 2);
        uint64_t d = (uint64_t)sqlite3_column_int64(st, 3);
        *cell = e ? (double)d / (double)e : 1.0;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = rep_store_fail(s, "reading the trend");
        sqlite3_finalize(st);
        rep_trend_free(out);
        return rc;
    }
    sqlite3_finalize(st);
    return 0;
}
