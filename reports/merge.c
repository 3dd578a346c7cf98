/*
 * merge.c - merging shard databases into one run.
 */
#include "reports/merge.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/cmdline.h"
#include "reports/query.h"
#include "reports/store.h"
#include "reports/verdict.h"
#include "sim/verdict.h"

static int seed_cmp(const void *a, const void *b)
{
    uint64_t x = ((const sim_seed_result *)a)->seed, y = ((const sim_seed_result *)b)->seed;
    return (x > y) - (x < y);
}

int rep_merge_sweeps(const sim_sweep_result *const *parts, size_t n, sim_sweep_result *out,
                     char *err, size_t errlen)
{
    if (!parts || n == 0 || !out) {
        snprintf(err, errlen, "merge: nothing to merge");
        return -EINVAL;
    }
    const sim_sweep_result *p0 = parts[0];
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const sim_sweep_result *p = parts[i];
        if (strcmp(p->scenario, p0->scenario) || strcmp(p->profile, p0->profile) ||
            strcmp(p->policy, p0->policy) || p->ablated_fix != p0->ablated_fix) {
            snprintf(err, errlen, "merge: parts of different sweeps (%s/%s and %s/%s)",
                     p0->scenario, p0->profile, p->scenario, p->profile);
            return -EINVAL;
        }
        int same = p->expect_rate == p0->expect_rate;
        for (int k = 0; same && k < SIM_COUNT__N; k++)
            same = p->expect_max[k] == p0->expect_max[k];
        if (!same) {
            snprintf(err, errlen,
                     "merge: %s/%s: the shards disagree on the scenario's expectations "
                     "(different scenario files?)",
                     p0->scenario, p0->profile);
            return -EINVAL;
        }
        if (p->nseeds && !p->seeds) {
            snprintf(err, errlen, "merge: %s/%s: seeds not loaded", p0->scenario, p0->profile);
            return -EINVAL;
        }
        total += p->nseeds;
    }
    memset(out, 0, sizeof *out);
    memcpy(out->scenario, p0->scenario, sizeof out->scenario);
    memcpy(out->path, p0->path, sizeof out->path);
    memcpy(out->profile, p0->profile, sizeof out->profile);
    memcpy(out->policy, p0->policy, sizeof out->policy);
    out->ablated_fix = p0->ablated_fix;
    out->expect_rate = p0->expect_rate;
    memcpy(out->expect_max, p0->expect_max, sizeof out->expect_max);
    out->seeds = malloc((total ? total : 1) * sizeof *out->seeds);
    if (!out->seeds)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts[i]->nseeds)
            memcpy(out->seeds + k, parts[i]->seeds, parts[i]->nseeds * sizeof *out->seeds);
        k += parts[i]->nseeds;
        sim_hist_merge(&out->latency, &parts[i]->latency);
        out->coverage |= parts[i]->coverage; /* (seeds loaded from the store carry none) */
    }
    qsort(out->seeds, total, sizeof *out->seeds, seed_cmp);
    for (size_t i = 0; i < total; i++) {
        const sim_seed_result *s = &out->seeds[i];
        if (i > 0 && s->seed == out->seeds[i - 1].seed) {
            snprintf(err, errlen, "merge: %s/%s: seed %" PRIu64 " is in two shards", p0->scenario,
                     p0->profile, s->seed);
            free(out->seeds);
            out->seeds = NULL;
            return -EINVAL;
        }
        for (int c = 0; c < SIM_COUNT__N; c++)
            out->c[c] += s->c[c];
    }
    out->nseeds = (uint32_t)total;
    out->p50 = sim_hist_quantile(&out->latency, 0.50);
    out->p90 = sim_hist_quantile(&out->latency, 0.90);
    out->p99 = sim_hist_quantile(&out->latency, 0.99);
    out->pmax = out->latency.max;
    out->role = p0->role;
    out->matrix = p0->matrix;
    sim_sweep_verdict(out); /* re-judges the seeds: failed and worst seeds */
    return 0;
}

/* ---- arguments ----------------------------------------------------------- */

/*
 * Copies args without the options named in drop[n] (each as "--opt VALUE"
 * or "--opt=VALUE") into a malloc'd string of single-space-separated words.
 */
static char *strip_args(const char *args, const char *const *drop, size_t ndrop)
{
    size_t len = args ? strlen(args) : 0;
    char *out = malloc(len + 1), *tmp = malloc(len + 1);
    if (!out || !tmp) {
        free(out);
        free(tmp);
        return NULL;
    }
    memcpy(tmp, args ? args : "", len + 1);
    size_t o = 0;
    int skip_next = 0;
    for (char *save = NULL, *w = strtok_r(tmp, " \t\n", &save); w;
         w = strtok_r(NULL, " \t\n", &save)) {
        if (skip_next) {
            skip_next = 0;
            continue;
        }
        int dropped = 0;
        for (size_t d = 0; d < ndrop; d++) {
            size_t dl = strlen(drop[d]);
            if (strncmp(w, drop[d], dl) == 0 && (w[dl] == '\0' || w[dl] == '=')) {
                skip_next = w[dl] == '\0';
                dropped = 1;
            }
        }
        if (dropped)
            continue;
        size_t wl = strlen(w);
        if (o)
            out[o++] = ' ';
        memcpy(out + o, w, wl);
        o += wl;
    }
    out[o] = '\0';
    free(tmp);
    return out;
}

/* The options in which the shards of one sweep may differ. */
static const char *const slice_opts[] = {"--shard", "--db", "--junit", "--jobs"};
#define NSLICE_OPTS (sizeof slice_opts / sizeof slice_opts[0])

int rep_merge_args_equal(const char *a, const char *b, int *equal)
{
    char *x = strip_args(a, slice_opts, NSLICE_OPTS), *y = strip_args(b, slice_opts, NSLICE_OPTS);
    int rc = x && y ? 0 : -ENOMEM;
    if (rc == 0)
        *equal = strcmp(x, y) == 0;
    free(x);
    free(y);
    return rc;
}

/* ---- the command --------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ctxsim merge OUT.db IN.db...\n"
            "\n"
            "Merges the results databases of the shards of one sweep (ctxsim run --shard K/N)\n"
            "into one run in OUT.db (created if missing), recomputing every scenario's\n"
            "counts, delivery rate, Wilson interval, latency percentiles and verdict from\n"
            "the union of the shards' seeds.  Each input's latest run is taken; their\n"
            "arguments must be equal apart from --shard, --db, --junit and --jobs.\n"
            "\n"
            "The inputs are opened read-only and checked (PRAGMA quick_check); OUT gets the\n"
            "merged run in one transaction: all of it or, on any error, nothing.\n"
            "\n"
            "Exit: 0 merged, 2 bad usage or input, 3 a database could not be read or\n"
            "written (I/O error, disk full, damaged, unreadable; SQLite's reason is printed).\n");
}

typedef struct input {
    const char *path;
    rep_store *s;
    rep_run_info run;
    unsigned k, n; /* shard K/N, 0/0 for a whole run */
    rep_sweep *sw;
    size_t nsw;
} input;

typedef struct part_ref {
    const rep_sweep *w;
    size_t input;
} part_ref;

static int part_cmp(const void *a, const void *b)
{
    const part_ref *x = a, *y = b;
    const sim_sweep_result *p = &x->w->r, *q = &y->w->r;
    int c = strcmp(p->scenario, q->scenario);
    if (!c)
        c = strcmp(p->profile, q->profile);
    if (!c)
        c = strcmp(p->policy, q->policy);
    if (!c)
        c = (p->ablated_fix > q->ablated_fix) - (p->ablated_fix < q->ablated_fix);
    if (!c)
        c = (x->input > y->input) - (x->input < y->input);
    if (!c)
        c = (x->w->id > y->w->id) - (x->w->id < y->w->id);
    return c;
}

static int same_key(const sim_sweep_result *p, const sim_sweep_result *q)
{
    return !strcmp(p->scenario, q->scenario) && !strcmp(p->profile, q->profile) &&
           !strcmp(p->policy, q->policy) && p->ablated_fix == q->ablated_fix;
}

/* Opens the inputs (read-only, checked) and checks they are shards of one
 * sweep; *status is what the merged run will be.  Returns 0 or the exit
 * code. */
static int load_inputs(input *in, size_t nin, const char **status)
{
    char err[1024];
    for (size_t i = 0; i < nin; i++) {
        int rc = rep_store_open_readonly(in[i].path, &in[i].s, err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "ctxsim merge: %s\n", err);
            return rep_store_exit_code(rc);
        }
        int64_t id = 0;
        rc = rep_run_resolve(in[i].s, NULL, &id);
        if (rc == 0)
            rc = rep_run_get(in[i].s, id, &in[i].run);
        if (rc == 0)
            rc =
                rep_sweeps_load(in[i].s, id, REP_LOAD_SEEDS | REP_LOAD_HIST, &in[i].sw, &in[i].nsw);
        if (rc == -ENOENT) {
            fprintf(stderr, "ctxsim merge: %s: no runs recorded\n", in[i].path);
            return REP_EXIT_USAGE;
        }
        if (rc != 0) {
            fprintf(stderr, "ctxsim merge: %s: cannot read the results: %s\n", in[i].path,
                    rc == -ENOMEM ? "out of memory" : rep_store_errmsg(in[i].s));
            return rep_store_exit_code(rc);
        }
        if (in[i].nsw == 0) {
            fprintf(stderr, "ctxsim merge: %s: run #%" PRId64 " recorded no sweeps\n", in[i].path,
                    in[i].run.id);
            return REP_EXIT_USAGE;
        }
        if (in[i].run.shard[0]) {
            char tail;
            if (sscanf(in[i].run.shard, "%u/%u%c", &in[i].k, &in[i].n, &tail) != 2 || in[i].k < 1 ||
                in[i].k > in[i].n) {
                fprintf(stderr, "ctxsim merge: %s: bad shard '%s'\n", in[i].path, in[i].run.shard);
                return REP_EXIT_USAGE;
            }
        }
    }
    unsigned n = in[0].n;
    for (size_t i = 0; i < nin; i++) {
        int eq = 0;
        if (rep_merge_args_equal(in[0].run.args, in[i].run.args, &eq) != 0) {
            fprintf(stderr, "ctxsim merge: out of memory\n");
            return REP_EXIT_ENV;
        }
        if (!eq) {
            fprintf(stderr,
                    "ctxsim merge: %s and %s are not shards of the same sweep: their run "
                    "arguments differ\n  %s\n  %s\n",
                    in[0].path, in[i].path, in[0].run.args, in[i].run.args);
            return REP_EXIT_USAGE;
        }
        if ((in[i].n == 0 && nin > 1) || in[i].n != n) {
            fprintf(stderr,
                    "ctxsim merge: %s: shard '%s' does not fit with %s's '%s' (inputs must be "
                    "shards K/N of one N)\n",
                    in[i].path, in[i].run.shard, in[0].path, in[0].run.shard);
            return REP_EXIT_USAGE;
        }
        for (size_t j = 0; j < i; j++)
            if (n && in[j].k == in[i].k) {
                fprintf(stderr, "ctxsim merge: %s and %s are both shard %s\n", in[j].path,
                        in[i].path, in[i].run.shard);
                return REP_EXIT_USAGE;
            }
        if (strcmp(in[i].run.git_rev, in[0].run.git_rev) ||
            strcmp(in[i].run.tool_version, in[0].run.tool_version))
            fprintf(stderr, "ctxsim merge: warning: %s was recorded by %s %s, %s by %s %s\n",
                    in[0].path, in[0].run.tool_version, in[0].run.git_rev, in[i].path,
                    in[i].run.tool_version, in[i].run.git_rev);
    }
    *status = "complete";
    for (size_t i = 0; i < nin; i++) {
        if (strcmp(in[i].run.status, "complete") == 0)
            continue;
        fprintf(stderr, "ctxsim merge: warning: %s: run #%" PRId64 " is %s\n", in[i].path,
                in[i].run.id, in[i].run.incomplete ? "incomplete" : in[i].run.status);
        if (strcmp(in[i].run.status, "failed") == 0)
            *status = "failed";
        else if (strcmp(*status, "complete") == 0)
            *status = "interrupted";
    }
    if (n && nin < n) {
        fprintf(stderr, "ctxsim merge: warning: %zu of %u shards given; missing:", nin, n);
        for (unsigned k = 1; k <= n; k++) {
            int have = 0;
            for (size_t i = 0; i < nin; i++)
                have |= in[i].k == k;
            if (!have)
                fprintf(stderr, " %u/%u", k, n);
        }
        fprintf(stderr, "\n");
        if (strcmp(*status, "complete") == 0)
            *status = "interrupted";
    }
    return 0;
}

/* Merges every sweep of the inputs: *out malloc'd, *nout entries. */
static int merge_all(const input *in, size_t nin, sim_sweep_result **out, size_t *nout)
{
    size_t total = 0;
    for (size_t i = 0; i < nin; i++)
        total += in[i].nsw;
    part_ref *refs = malloc((total ? total : 1) * sizeof *refs);
    const sim_sweep_result **parts = malloc((total ? total : 1) * sizeof *parts);
    sim_sweep_result *res = calloc(total ? total : 1, sizeof *res);
    int rc = refs && parts && res ? 0 : -ENOMEM;
    size_t k = 0, nres = 0;
    for (size_t i = 0; rc == 0 && i < nin; i++)
        for (size_t j = 0; j < in[i].nsw; j++)
            refs[k++] = (part_ref){&in[i].sw[j], i};
    if (rc == 0)
        qsort(refs, total, sizeof *refs, part_cmp);
    char err[512];
    for (size_t i = 0; rc == 0 && i < total;) {
        size_t j = i, np = 0;
        while (j < total && same_key(&refs[i].w->r, &refs[j].w->r))
            parts[np++] = &refs[j++].w->r;
        rc = rep_merge_sweeps(parts, np, &res[nres], err, sizeof err);
        if (rc == 0)
            nres++;
        else if (rc == -EINVAL)
            fprintf(stderr, "ctxsim %s\n", err);
        i = j;
    }
    free(refs);
    free(parts);
    if (rc != 0) {
        for (size_t i = 0; res && i < nres; i++)
            free(res[i].seeds);
        free(res);
        return rc;
    }
    *out = res;
    *nout = nres;
    return 0;
}

int rep_cmd_merge(int argc, char **argv)
{
    const char *outp = NULL;
    const char **inp = calloc((size_t)(argc > 0 ? argc : 1), sizeof *inp);
    size_t nin = 0;
    if (!inp) {
        fprintf(stderr, "ctxsim merge: out of memory\n");
        return REP_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        if (rep_is_help(argv[i])) {
            usage(stdout);
            free(inp);
            return REP_EXIT_OK;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "ctxsim merge: unknown option '%s'\n", argv[i]);
            usage(stderr);
            free(inp);
            return REP_EXIT_USAGE;
        }
        if (!outp)
            outp = argv[i];
        else
            inp[nin++] = argv[i];
    }
    if (!outp || nin == 0) {
        usage(stderr);
        free(inp);
        return REP_EXIT_USAGE;
    }
    for (size_t i = 0; i < nin; i++)
        if (strcmp(inp[i], outp) == 0) {
            fprintf(stderr, "ctxsim merge: the output %s is also an input\n", outp);
            free(inp);
            return REP_EXIT_USAGE;
        }
    input *in = calloc(nin, sizeof *in);
    int code = REP_EXIT_USAGE;
    const char *status = "interrupted";
    sim_sweep_result *res = NULL;
    size_t nres = 0;
    rep_store *o = NULL;
    char *args = NULL;
    if (!in)
        goto out;
    for (size_t i = 0; i < nin; i++)
        in[i].path = inp[i];
    if ((code = load_inputs(in, nin, &status)) != 0)
        goto out;
    code = REP_EXIT_USAGE;
    int mrc = merge_all(in, nin, &res, &nres);
    if (mrc != 0) {
        if (mrc == -ENOMEM) {
            fprintf(stderr, "ctxsim merge: out of memory\n");
            code = REP_EXIT_ENV;
        }
        goto out;
    }
    char err[1024];
    int rc = rep_store_open(outp, &o, err, sizeof err);
    if (rc == 0)
        rc = rep_store_check(o, outp);
    if (rc == 0)
        rc = rep_store_begin(o); /* the whole run, or nothing */
    if (rc != 0) {
        fprintf(stderr, "ctxsim merge: %s\n", o ? rep_store_errmsg(o) : err);
        code = rep_store_exit_code(rc);
        goto out;
    }
    int64_t started = in[0].run.started_at;
    for (size_t i = 1; i < nin; i++)
        if (in[i].run.started_at < started)
            started = in[i].run.started_at;
    args = strip_args(in[0].run.args, slice_opts, 1); /* only --shard */
    rep_run_meta m = {
        .label = in[0].run.label[0] ? in[0].run.label : NULL,
        .git_rev = in[0].run.git_rev[0] ? in[0].run.git_rev : NULL,
        .tool_version = in[0].run.tool_version[0] ? in[0].run.tool_version : NULL,
        .args = args,
        .shard = NULL,
        .started_at = started,
        .mode = in[0].run.mode[0] ? in[0].run.mode : NULL,
    };
    int64_t run = 0;
    rc = args ? rep_run_begin(o, &m, &run) : -ENOMEM;
    uint64_t seeds = 0;
    for (size_t i = 0; rc == 0 && i < nres; i++) {
        rc = rep_run_add_sweep(o, run, &res[i]);
        seeds += res[i].nseeds;
    }
    if (rc == 0)
        rc = rep_run_finish(o, run, status);
    if (rc == 0)
        rc = rep_store_commit(o);
    if (rc != 0) {
        fprintf(stderr, "ctxsim merge: %s: %s; nothing was merged into it\n", outp,
                rc == -ENOMEM && !args ? "out of memory" : rep_store_errmsg(o));
        rep_store_rollback(o);
        code = rep_store_exit_code(rc);
        goto out;
    }
    size_t failing = 0;
    for (size_t i = 0; i < nres; i++)
        failing += !res[i].pass;
    printf("merged %zu database%s into %s: run #%" PRId64 " (%s), %zu sweeps, %" PRIu64
           " seeds, %zu sweeps failing their expectations\n",
           nin, nin == 1 ? "" : "s", outp, run, status, nres, seeds, failing);
    code = REP_EXIT_OK;
out:
    fflush(stdout);
    for (size_t i = 0; res && i < nres; i++)
        free(res[i].seeds);
    free(res);
    for (size_t i = 0; in && i < nin; i++) {
        rep_sweeps_free(in[i].sw, in[i].nsw);
        rep_store_close(in[i].s);
    }
    free(in);
    free(inp);
    free(args);
    rep_store_close(o);
    return code;
}
