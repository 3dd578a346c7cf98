/*
 * ctxsim - the command line: run, replay, validate, list, explore, and the
 * reports' report, gate, merge.
 *
 * Exit codes: 0 success, 1 a gate or expectation failed, 2 bad usage or bad
 * input (nothing run, nothing recorded), 3 the environment failed (the
 * results database could not be written or read: I/O error, disk full,
 * damaged, unreadable; the message carries SQLite's reason).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctxready.h"
#include "reports/cmdline.h"
#include "reports/dbcmd.h"
#include "reports/fsutil.h"
#include "reports/gate.h"
#include "reports/junit.h"
#include "reports/merge.h"
#include "reports/prune.h"
#include "reports/replay.h"
#include "reports/report.h"
#include "reports/store.h"
#include "reports/sweepcmd.h"
#include "reports/timing.h"
#include "reports/text.h"
#include "sim/budget.h"
#include "sim/coverage.h"
#include "sim/check.h"
#include "sim/cost.h"
#include "sim/dist.h"
#include "sim/drive.h"
#include "sim/engine.h"
#include "sim/emit.h"
#include "sim/knobarg.h"
#include "sim/scenario.h"
#include "sim/shrink.h"
#include "sim/srvproc.h"
#include "sim/swarm.h"
#include "sim/sweep.h"
#include "sim/tdiff.h"
#include "sim/perfetto.h"
#include "sim/timeline.h"
#include "sim/trace.h"
#include "sim/verdict.h"
#include "sim/world.h"
#include "sim/wsclient.h"

#define EXIT_FAIL  1
#define EXIT_USAGE 2

static volatile sig_atomic_t interrupted;

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Global display options (any command, any position): -q/--quiet, --color. */
static int opt_quiet;
static int opt_color; /* 1: colour the verdicts (a terminal, no NO_COLOR, or --color=always) */

/* The first SIGINT/SIGTERM asks the running seed to stop (within
 * SIM_BUDGET_CHECK_EVERY engine events) and the run to record what it
 * finished and exit 128 + signal; a second one ends the process at once. */
static void on_signal(int sig)
{
    if (interrupted) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    interrupted = sig;
    sim_budget_stop(sig);
}

/* ---- scenario arguments -------------------------------------------------------- */

typedef struct scen_list {
    sim_scenario **v;
    size_t n, cap;
} scen_list;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_yaml_ext(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

/* shown_name writes path into buf for an error message: invalid UTF-8 and
 * every control character as '?'. */
static const char *shown_name(const char *path, char *buf, size_t len)
{
    rep_utf8_clean(path, buf, len);
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = '?';
    return buf;
}

/* printable_name refuses a file name the tool would have to print in a
 * command line (a replay line, a shrink line) but cannot print as it is:
 * not UTF-8, or holding a control character (a newline would end the
 * line, an escape sequence would rewrite the terminal).  0, or -1 after
 * the message (the caller exits 2). */
static int printable_name(const char *path)
{
    int rc = rep_text_printable(path);
    if (rc == 0)
        return 0;
    char b[600];
    fprintf(stderr,
            "ctxsim: %s: the file name %s; it is printed in replay commands, reports and JSON, "
            "so it must be printable UTF-8: rename the file\n",
            shown_name(path, b, sizeof b),
            rc == -EILSEQ ? "is not valid UTF-8"
                          : "holds a control character (newline, tab, escape, ...) or a "
                            "bidirectional override");
    return -1;
}

/* expand_paths turns files and directories into a sorted list of files. */
static int expand_paths(char **args, int nargs, char ***out, size_t *nout)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    const char *deflt[] = {"scenarios"};
    if (nargs == 0) {
        args = (char **)deflt;
        nargs = 1;
    }
    for (int i = 0; i < nargs; i++) {
        struct stat st;
        if (stat(args[i], &st) != 0) {
            fprintf(stderr, "ctxsim: %s: %s\n", args[i], strerror(errno));
            goto bad;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(args[i]);
            if (!d) {
                fprintf(stderr, "ctxsim: %s: %s\n", args[i], strerror(errno));
                goto bad;
            }
            size_t first = n;
            struct dirent *de;
            while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || !has_yaml_ext(de->d_name))
                    continue;
                if (n == cap) {
                    cap = cap ? cap * 2 : 32;
                    char **q = realloc(v, cap * sizeof(char *));
                    if (!q) {
                        closedir(d);
                        goto bad;
                    }
                    v = q;
                }
                size_t len = strlen(args[i]) + strlen(de->d_name) + 2;
                v[n] = malloc(len);
                if (!v[n]) {
                    closedir(d);
                    goto bad;
                }
                snprintf(v[n], len, "%s%s%s", args[i],
                         args[i][strlen(args[i]) - 1] == '/' ? "" : "/", de->d_name);
                n++;
            }
            closedir(d);
            qsort(v + first, n - first, sizeof(char *), cmp_str); /* readdir order is not stable */
            if (n == first) {
                fprintf(stderr, "ctxsim: %s: no *.yaml scenario files\n", args[i]);
                goto bad;
            }
        } else {
            if (n == cap) {
                cap = cap ? cap * 2 : 32;
                char **q = realloc(v, cap * sizeof(char *));
                if (!q)
                    goto bad;
                v = q;
            }
            v[n] = strdup(args[i]);
            if (!v[n])
                goto bad;
            n++;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (printable_name(v[i]) != 0)
            goto bad;
    *out = v;
    *nout = n;
    return 0;
bad:
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return -1;
}

static void free_paths(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* What the cost estimate of the scenarios is checked against. */
typedef struct cost_opts {
    uint64_t seeds;  /* seeds per sweep (0: each scenario's `seeds`) */
    int allow_large; /* --allow-large: over a limit is said, not refused */
} cost_opts;

/* seed_is_large: one seed of s is over a limit of sim/cost.h. */
static int seed_is_large(const sim_scenario *s)
{
    sim_cost c;
    sim_cost_estimate(s, 1, &c);
    return sim_cost_check(&c, NULL, 0) > 0;
}

/* cost_ok checks the cost estimate of s (sim/cost.h) against the limits:
 * 0 within them, or over them with --allow-large (said on stderr); -1
 * refused (the numbers printed; the caller exits 2).  `print` also prints
 * the estimate on stdout (validate). */
static int cost_ok(const sim_scenario *s, const cost_opts *co, int print)
{
    sim_cost c;
    char est[400], why[400];
    sim_cost_estimate(s, co->seeds, &c);
    sim_cost_format(&c, est, sizeof est);
    int over = sim_cost_check(&c, why, sizeof why);
    if (print)
        printf("%s: cost: %s\n", s->path, est);
    if (!over)
        return 0;
    if (co->allow_large) {
        fprintf(stderr, "%s: over the cost limits (%s), run anyway (--allow-large)\n", s->path,
                why);
        return 0;
    }
    fprintf(stderr,
            "%s:1:1: too large to run: %s (estimate: %s); --allow-large runs it anyway (limits: "
            "docs/scenarios.md, Bounded runs)\n",
            s->path, why, est);
    return -1;
}

/* load_all loads every scenario; on any error prints every error and
 * returns -1 (nothing is run).  With co, each is checked by cost_ok. */
static int load_all(char **args, int nargs, scen_list *sl, int quiet_ok, const cost_opts *co)
{
    char **paths;
    size_t np;
    if (expand_paths(args, nargs, &paths, &np) != 0)
        return -1;
    int bad = 0;
    for (size_t i = 0; i < np; i++) {
        sim_scenario *s = NULL;
        sim_scenario_error err;
        if (sim_scenario_load(paths[i], &s, &err) != 0) {
            char buf[800];
            sim_scenario_error_format(&err, buf, sizeof(buf));
            fprintf(stderr, "%s\n", buf);
            bad = 1;
            continue;
        }
        /* Names are unique in a suite: results are keyed by them. */
        for (size_t j = 0; j < sl->n; j++)
            if (strcmp(sl->v[j]->name, s->name) == 0) {
                fprintf(stderr, "%s:1:1: scenario name '%s' already used by %s\n", paths[i],
                        s->name, sl->v[j]->path);
                bad = 1;
            }
        if (sl->n == sl->cap) {
            sl->cap = sl->cap ? sl->cap * 2 : 16;
            sim_scenario **q = realloc(sl->v, sl->cap * sizeof(*q));
            if (!q) {
                sim_scenario_free(s);
                bad = 1;
                break;
            }
            sl->v = q;
        }
        sl->v[sl->n++] = s;
        if (co && cost_ok(s, co, !quiet_ok) != 0) {
            bad = 1;
            continue;
        }
        if (!quiet_ok) {
            printf("%s: ok (%s)\n", paths[i], s->name);
            if (s->expect.is_default)
                printf("%s: no expect: strict default applies (delivery_rate %.2f; misrouted, "
                       "duplicated, out_of_order, stray, silent_loss, stranded, stuck_pending, "
                       "reordered_messages 0)\n",
                       paths[i], SIM_STRICT_RATE);
            else if (s->expect.max[SIM_COUNT_EXPECTED] == 0)
                printf("%s: expect: {expected: 0}: a sweep with no expected event passes\n",
                       paths[i]);
        }
    }
    free_paths(paths, np);
    return bad ? -1 : 0;
}

static void free_all(scen_list *sl)
{
    for (size_t i = 0; i < sl->n; i++)
        sim_scenario_free(sl->v[i]);
    free(sl->v);
}

/* ---- option parsing ------------------------------------------------------------ */

/* parse_window parses a PCT race window: a duration ("5ms", "250us") or
 * plain nanoseconds. */
static int parse_window(const char *v, uint64_t *ns)
{
    sim_parse_error pe;
    if (sim_u64_parse(v, ns) == 0 || sim_duration_parse(v, ns, &pe) == 0)
        return 0;
    fprintf(stderr, "ctxsim: the race window expects a duration (e.g. 5ms), got '%s'\n", v);
    return -1;
}

/* parse_depth parses a PCT depth 1..SIM_PCT_MAX_DEPTH. */
static int parse_depth(const char *v, uint32_t *d)
{
    uint64_t x;
    if (sim_u64_parse(v, &x) || x < 1 || x > SIM_PCT_MAX_DEPTH) {
        fprintf(stderr, "ctxsim: the PCT depth expects 1..%d, got '%s'\n", SIM_PCT_MAX_DEPTH, v);
        return -1;
    }
    *d = (uint32_t)x;
    return 0;
}

/* parse_pct parses "D:W" (--pct): depth and race window. */
static int parse_pct(const char *v, uint32_t *d, uint64_t *w)
{
    char buf[64];
    const char *colon = strchr(v, ':');
    if (!colon || (size_t)(colon - v) >= sizeof buf) {
        fprintf(stderr, "ctxsim: --pct expects DEPTH:WINDOW (e.g. 3:5ms), got '%s'\n", v);
        return -1;
    }
    memcpy(buf, v, (size_t)(colon - v));
    buf[colon - v] = '\0';
    return parse_depth(buf, d) || parse_window(colon + 1, w) ? -1 : 0;
}

/* parse_knob parses "name=value" against the core's knob table
 * (sim/knobarg.h: the same parser as ctxready-server's). */
static int parse_knob(const char *arg, char *name, size_t namelen, uint64_t *value)
{
    char err[1024];
    if (sim_knob_arg_parse(arg, name, namelen, value, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "ctxsim: %s\n", err);
    return -1;
}

static int parse_profile(const char *s, int *p)
{
    char err[160];
    if (sim_profile_parse(s, p, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "ctxsim: %s\n", err);
    return -1;
}

/* ---- output -------------------------------------------------------------------- */

static void print_header(void)
{
    printf("%-30s %-9s %-22s %6s %9s %9s %8s %-17s %6s %6s %5s %4s %4s %5s  %s\n", "scenario",
           "profile", "policy", "seeds", "expected", "delivered", "rate", "95% interval", "lost",
           "silent", "misr", "dup", "ooo", "stray", "verdict");
}

/* seed_note describes why seed s is listed: its failure, or (a worst
 * seed) its own rate against the sweep's line. */
static void seed_note(const sim_sweep_result *r, const sim_seed_result *s, char *buf, size_t len)
{
    if (!s->pass) {
        snprintf(buf, len, "%s", s->reason);
        return;
    }
    uint64_t e = s->c[SIM_COUNT_EXPECTED], d = s->c[SIM_COUNT_DELIVERED];
    snprintf(buf, len,
             "worst #%d: delivery_rate %.4f (%" PRIu64 "/%" PRIu64
             ") < %.4g, not a seed failure (the rate is judged per sweep)",
             s->worst, e ? (double)d / (double)e : 1.0, d, e, r->expect_rate);
}

/* paint wraps a verdict word in its ANSI colour when colour is on (red: fail,
 * yellow: inconclusive, green: pass); one static buffer, used once per printf. */
static const char *paint(int verdict, const char *word)
{
    static char buf[96];
    if (!opt_color)
        return word;
    const char *c = verdict == SIM_VERDICT_FAIL           ? "31"
                    : verdict == SIM_VERDICT_INCONCLUSIVE ? "33"
                                                          : "32";
    snprintf(buf, sizeof buf, "\033[%sm%.64s\033[0m", c, word);
    return buf;
}

static void print_sweep(const sim_sweep_result *r, long max_replays)
{
    /* The policy column holds 22 characters; longer ones are cut with "...". */
    char pol[24];
    const char *src = r->policy[0] ? r->policy : "-";
    size_t n = strlen(src);
    if (n > 22) {
        memcpy(pol, src, 19);
        memcpy(pol + 19, "...", 4);
    } else {
        memcpy(pol, src, n + 1);
    }
    char prof[24];
    if (r->ablated_fix > 0)
        snprintf(prof, sizeof prof, "%.15s-F%d", r->profile, r->ablated_fix % 10);
    else
        snprintf(prof, sizeof prof, "%s", r->profile);
    char rate[48];
    if (r->c[SIM_COUNT_EXPECTED])
        snprintf(rate, sizeof rate, "%7.3f%% [%6.2f%%,%6.2f%%]", 100 * r->delivery_rate,
                 100 * r->rate_lo, 100 * r->rate_hi);
    else
        snprintf(rate, sizeof rate, "%-27s", "     n/a (nothing expected)");
    printf("%-30s %-9s %-22s %6" PRIu32 " %9" PRIu64 " %9" PRIu64 " %s "
           "%6" PRIu64 " %6" PRIu64 " %5" PRIu64 " %4" PRIu64 " %4" PRIu64 " %5" PRIu64 "  %s\n",
           r->scenario, prof, pol, r->nseeds, r->c[SIM_COUNT_EXPECTED], r->c[SIM_COUNT_DELIVERED],
           rate, r->c[SIM_COUNT_LOST], r->c[SIM_COUNT_SILENT_LOSS], r->c[SIM_COUNT_MISROUTED],
           r->c[SIM_COUNT_DUPLICATED], r->c[SIM_COUNT_OUT_OF_ORDER], r->c[SIM_COUNT_STRAY],
           paint(r->verdict, sim_sweep_outcome(r)));
    if (r->c[SIM_COUNT_LOST]) { /* every lost event has one cause (docs/oracle.md) */
        printf("    lost by cause:");
        for (int k = 0; k < SIM_CAUSE__N; k++)
            if (r->c[sim_cause_count(k)])
                printf(" %s %" PRIu64, sim_cause_name(k), r->c[sim_cause_count(k)]);
        printf("\n");
    }
    if (r->c[SIM_COUNT_ACCOUNTING]) /* the core's counters vs the world (docs/oracle.md) */
        printf("    accounting: %" PRIu64
               " disagreement(s) of the core's account with the world's\n",
               r->c[SIM_COUNT_ACCOUNTING]);
    if (r->reason[0])
        printf("    %s: %s\n", r->verdict == SIM_VERDICT_FAIL ? "missed" : "note", r->reason);
    if (r->role != SIM_ROLE_GATE || max_replays == 0)
        return;
    size_t cap = max_replays < 0 ? r->nseeds : (size_t)max_replays;
    uint32_t *idx = calloc(cap ? cap : 1, sizeof *idx);
    size_t total = 0, k = idx ? sim_sweep_replay_seeds(r, idx, cap, &total) : 0;
    for (size_t i = 0; i < k; i++) {
        const sim_seed_result *s = &r->seeds[idx[i]];
        char line[1400], why[400];
        rep_replay_command(r, s->seed, line, sizeof(line));
        seed_note(r, s, why, sizeof why);
        printf("    %s %-6" PRIu64 " %s\n      replay: %s\n", s->pass ? "worst seed" : "seed",
               s->seed, why, line);
    }
    if (total > k)
        printf("    ... and %zu more (%" PRIu32 " failing, %" PRIu32
               " worst in all; --max-replays N, or the failures table)\n",
               total - k, r->failed_seeds, r->worst_seeds);
    free(idx);
}

/* seed_json is one listed seed: number, reason, trace hash, replay line. */
static json_t *seed_json(const sim_sweep_result *r, const sim_seed_result *s)
{
    char line[1400], hash[24], why[400];
    rep_replay_command(r, s->seed, line, sizeof(line));
    snprintf(hash, sizeof(hash), "%016" PRIx64, s->trace_hash);
    int no_hash = !s->trace_hash && !s->steps; /* --no-trace: absent */
    seed_note(r, s, why, sizeof why);
    json_t *f = json_object();
    json_object_set_new(f, "seed", json_integer((json_int_t)s->seed));
    json_object_set_new(f, "reason", json_string(why));
    json_object_set_new(f, "trace_hash", no_hash ? json_null() : json_string(hash));
    json_object_set_new(f, "replay", json_string(line));
    return f;
}

/* split_reasons turns a "; "-separated reason into a JSON array. */
static json_t *split_reasons(const char *reason)
{
    json_t *a = json_array();
    const char *p = reason;
    while (p && *p) {
        const char *e = strstr(p, "; ");
        size_t n = e ? (size_t)(e - p) : strlen(p);
        json_array_append_new(a, json_stringn(p, n));
        p = e ? e + 2 : NULL;
    }
    return a;
}

static json_t *sweep_json(const sim_sweep_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "scenario", json_string(r->scenario));
    json_object_set_new(o, "path", json_string(r->path));
    json_object_set_new(o, "profile", json_string(r->profile));
    json_object_set_new(o, "policy", json_string(r->policy));
    json_object_set_new(o, "ablated_fix", json_integer(r->ablated_fix));
    json_object_set_new(o, "seeds", json_integer(r->nseeds));
    json_t *c = json_object();
    for (int i = 0; i < SIM_COUNT__N; i++)
        json_object_set_new(c, sim_count_name(i), json_integer((json_int_t)r->c[i]));
    json_object_set_new(o, "counts", c);
    json_t *cov = json_array();
    for (int b = 0; b < SIM_BEH__N; b++)
        if (r->coverage & SIM_COV_BIT(b))
            json_array_append_new(cov, json_string(sim_behaviour_name(b)));
    json_object_set_new(o, "coverage", cov);
    json_object_set_new(o, "delivery_rate", json_real(r->delivery_rate));
    json_object_set_new(o, "rate_lo", json_real(r->rate_lo));
    json_object_set_new(o, "rate_hi", json_real(r->rate_hi));
    json_object_set_new(o, "expect_rate", json_real(r->expect_rate));
    json_t *lat = json_object();
    json_object_set_new(lat, "p50_ns", json_integer((json_int_t)r->p50));
    json_object_set_new(lat, "p90_ns", json_integer((json_int_t)r->p90));
    json_object_set_new(lat, "p99_ns", json_integer((json_int_t)r->p99));
    json_object_set_new(lat, "max_ns", json_integer((json_int_t)r->pmax));
    json_object_set_new(o, "latency", lat);
    json_object_set_new(o, "role", json_string(sim_role_name(r->role)));
    json_object_set_new(o, "matrix", json_boolean(r->matrix));
    json_object_set_new(o, "verdict", json_string(sim_verdict_name(r->verdict)));
    json_object_set_new(o, "outcome", json_string(sim_sweep_outcome(r)));
    json_object_set_new(o, "fails_ci", json_boolean(r->fails_ci));
    json_object_set_new(o, "note", json_string(r->note));
    json_object_set_new(o, "pass", json_boolean(r->pass));
    json_object_set_new(o, "reason", json_string(r->reason));
    json_object_set_new(o, "reasons", split_reasons(r->reason));
    json_object_set_new(o, "failed_seeds", json_integer(r->failed_seeds));
    json_object_set_new(o, "worst_seeds", json_integer(r->worst_seeds));
    size_t total = 0;
    uint32_t *idx = calloc(r->nseeds ? r->nseeds : 1, sizeof *idx);
    size_t k = idx ? sim_sweep_replay_seeds(r, idx, r->nseeds, &total) : 0;
    json_t *fails = json_array(), *worst = json_array();
    for (size_t i = 0; i < k; i++) {
        const sim_seed_result *s = &r->seeds[idx[i]];
        json_array_append_new(s->pass ? worst : fails, seed_json(r, s));
    }
    free(idx);
    json_object_set_new(o, "failing_seeds", fails);
    json_object_set_new(o, "worst_seeds_list", worst);
    json_t *all = json_array();
    for (uint32_t i = 0; i < r->nseeds; i++) {
        char hash[24];
        snprintf(hash, sizeof(hash), "%016" PRIx64, r->seeds[i].trace_hash);
        int no_hash = !r->seeds[i].trace_hash && !r->seeds[i].steps; /* --no-trace: absent */
        json_t *f = json_object();
        json_object_set_new(f, "seed", json_integer((json_int_t)r->seeds[i].seed));
        json_object_set_new(f, "trace_hash", no_hash ? json_null() : json_string(hash));
        json_object_set_new(f, "pass", json_boolean(r->seeds[i].pass));
        json_array_append_new(all, f);
    }
    json_object_set_new(o, "seed_hashes", all);
    return o;
}

/* ---- run ----------------------------------------------------------------------- */

static const char run_usage[] =
    "usage: ctxsim run [SCENARIO|DIR]... [options]\n"
    "Run every seed of each scenario (default: every file in ./scenarios), check each\n"
    "against the scenario's expect, record into SQLite, print a table.\n"
    "  --seeds N             seeds per scenario (default: the scenario's `seeds`)\n"
    "  --seed S              run only seed S\n"
    "  --profile P[,P]       fixed | legacy | fixed,legacy (default: the scenario's)\n"
    "  --policy k=v          override a policy knob (repeatable; see `ctxsim list --knobs`)\n"
    "  --ablate N            switch fix N (1-9) off on top of the profile\n"
    "  --ablation            also run, per scenario, fixed with each fix 1-9 switched off\n"
    "  --db PATH             results database (default out/results.db)\n"
    "  --no-db               do not record\n"
    "  --jobs N              worker processes (results identical to --jobs 1)\n"
    "  --shard K/N           run the seeds S with (S-1) mod N == K-1 (merge with ctxsim merge)\n"
    "  --label TEXT          label of the recorded run (for gate --baseline)\n"
    "  --junit FILE          write JUnit XML, one test case per scenario\n"
    "  --format text|json    json: machine-readable results on stdout\n"
    "  --check-determinism   run every seed twice and compare the traces\n"
    "  --no-trace            skip trace hashing (faster sweeps): trace hashes are absent\n"
    "                        (null in JSON, empty in the database); replay lines stay exact\n"
    "  --explore             reorder simultaneous events by a seeded priority\n"
    "  --pct D:W             PCT: reorder events of different actors due within W of each\n"
    "                        other, depth D (docs/pct.md)\n"
    "  --max-steps N         a seed over N engine steps fails as livelock (default: 16x what\n"
    "                        the scenario's scripts can cause)\n"
    "  --max-replays N       replay lines printed per sweep: failing seeds, then the worst\n"
    "                        (default 5; 0 none)\n"
    "  --coverage            print the coverage matrix (core behaviour x sweep) and fail\n"
    "                        (exit 1) when a required behaviour is exercised by no sweep\n"
    "  --allow-large         run scenarios over the cost limits (ctxsim validate prints the\n"
    "                        estimate; docs/scenarios.md, Bounded runs)\n"
    "  --max-memory SIZE     a seed whose process holds more resident memory fails with an\n"
    "                        error (512M, 8G, 50%; 0 none; default: half of the machine)\n"
    "Every sweep has one verdict (pass, fail, inconclusive: no expected event) and a role:\n"
    "gate (what was asked for, --ablate N and --policy included) or informational (legacy\n"
    "beside another profile, the --ablation matrix).\n"
    "Exit status: 0 every gate sweep passed, 1 a gate sweep failed or was inconclusive, or\n"
    "a fix of the --ablation matrix is caught by none of its sweeps; 2 bad usage or bad\n"
    "input (nothing run, nothing recorded); 3 the results database could not be written\n"
    "(I/O error, disk full, damaged, unreadable: SQLite's reason is printed, and every\n"
    "sweep not recorded is marked NOT RECORDED); 128 + N on signal N (SIGINT 130,\n"
    "SIGTERM 143): the seed being run stops within 4096 engine events, finished sweeps\n"
    "are recorded and the run is marked interrupted.\n";

typedef struct run_args {
    sim_sweep_opts base;
    int profiles[2];
    int nprofiles;
    int ablation;
    const char *db;
    int no_db;
    const char *label;
    const char *junit;
    int json;
    int check_det;
    long max_replays;
    char *shard;
    int coverage;
    int allow_large;
} run_args;

static int parse_run_opts(int argc, char **argv, run_args *ra, char ***files, int *nfiles,
                          const char *usage, int replay_mode)
{
    memset(ra, 0, sizeof(*ra));
    ra->base.profile = -1;
    ra->base.jobs = 1;
    ra->db = "out/results.db";
    ra->max_replays = 5;
    char **f = calloc((size_t)argc + 1, sizeof(char *));
    int nf = 0;
    if (!f)
        return -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE                                                                                 \
    do {                                                                                           \
        if (!v) {                                                                                  \
            fprintf(stderr, "ctxsim %s: %s needs a value\n", argv[0], a);                          \
            goto bad;                                                                              \
        }                                                                                          \
        i++;                                                                                       \
    } while (0)
        uint64_t x;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            free(f);
            exit(0);
        } else if (!strcmp(a, "--seeds")) {
            NEED_VALUE;
            if (sim_u64_parse(v, &x) || x == 0 || x > 10000000) {
                fprintf(stderr, "ctxsim: --seeds expects 1..10000000, got '%s'\n", v);
                goto bad;
            }
            ra->base.seeds = (uint32_t)x;
        } else if (!strcmp(a, "--seed")) {
            NEED_VALUE;
            if (sim_u64_parse(v, &x) || x == 0) {
                fprintf(stderr, "ctxsim: --seed expects a positive integer, got '%s'\n", v);
                goto bad;
            }
            ra->base.only_seed = x;
        } else if (!strcmp(a, "--profile")) {
            NEED_VALUE;
            char buf[64];
            snprintf(buf, sizeof(buf), "%s", v);
            ra->nprofiles = 0;
            for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
                if (ra->nprofiles == 2 || parse_profile(tok, &ra->profiles[ra->nprofiles]))
                    goto bad;
                ra->nprofiles++;
            }
            if (replay_mode && ra->nprofiles != 1) {
                fprintf(stderr, "ctxsim: --profile takes one profile here\n");
                goto bad;
            }
        } else if (!strcmp(a, "--policy")) {
            NEED_VALUE;
            if (ra->base.noverrides == SIM_MAX_OVERRIDES) {
                fprintf(stderr, "ctxsim: too many --policy overrides\n");
                goto bad;
            }
            if (parse_knob(v, ra->base.overrides[ra->base.noverrides].name,
                           sizeof(ra->base.overrides[0].name),
                           &ra->base.overrides[ra->base.noverrides].value))
                goto bad;
            ra->base.noverrides++;
        } else if (!strcmp(a, "--ablate")) {
            NEED_VALUE;
            if (sim_u64_parse(v, &x) || x < 1 || x > 9) {
                fprintf(stderr, "ctxsim: --ablate expects a fix number 1..9, got '%s'\n", v);
                goto bad;
            }
            ra->base.ablate_fix = (int)x;
        } else if (!strcmp(a, "--explore")) {
            ra->base.explore = 1;
        } else if (!strcmp(a, "--pct")) {
            NEED_VALUE;
            if (parse_pct(v, &ra->base.pct_depth, &ra->base.pct_window))
                goto bad;
        } else if (!replay_mode && !strcmp(a, "--ablation")) {
            ra->ablation = 1;
        } else if (!replay_mode && !strcmp(a, "--db")) {
            NEED_VALUE;
            ra->db = v;
        } else if (!replay_mode && !strcmp(a, "--no-db")) {
            ra->no_db = 1;
        } else if (!replay_mode && !strcmp(a, "--jobs")) {
            NEED_VALUE;
            if (sim_u64_parse(v, &x) || x == 0 || x > 256) {
                fprintf(stderr, "ctxsim: --jobs expects 1..256, got '%s'\n", v);
                goto bad;
            }
            ra->base.jobs = (int)x;
        } else if (!replay_mode && !strcmp(a, "--shard")) {
            NEED_VALUE;
            unsigned k, n;
            char tail;
            if (sscanf(v, "%u/%u%c", &k, &n, &tail) != 2 || n == 0 || k == 0 || k > n) {
                fprintf(stderr, "ctxsim: --shard expects K/N with 1 <= K <= N, got '%s'\n", v);
                goto bad;
            }
            ra->base.shard_k = k;
            ra->base.shard_n = n;
            ra->shard = (char *)v;
        } else if (!replay_mode && !strcmp(a, "--label")) {
            NEED_VALUE;
            if (rep_text_printable(v) != 0) {
                fprintf(stderr, "ctxsim: --label must be printable UTF-8 without control "
                                "characters (it is shown in reports, charts and command lines)\n");
                goto bad;
            }
            ra->label = v;
        } else if (!replay_mode && !strcmp(a, "--junit")) {
            NEED_VALUE;
            ra->junit = v;
        } else if (!replay_mode && !strcmp(a, "--format")) {
            NEED_VALUE;
            if (!strcmp(v, "json"))
                ra->json = 1;
            else if (strcmp(v, "text")) {
                fprintf(stderr, "ctxsim: --format expects text or json, got '%s'\n", v);
                goto bad;
            }
        } else if (!replay_mode && !strcmp(a, "--coverage")) {
            ra->coverage = 1;
        } else if (!strcmp(a, "--allow-large")) {
            ra->allow_large = 1;
        } else if (!strcmp(a, "--max-memory")) {
            NEED_VALUE;
            uint64_t m;
            if (sim_budget_parse_size(v, &m) != 0) {
                fprintf(stderr,
                        "ctxsim: --max-memory expects a size (e.g. 512M, 8G, 50%%; 0: none), got "
                        "'%s'\n",
                        v);
                goto bad;
            }
            sim_budget_set_memory(m);
        } else if (!replay_mode && !strcmp(a, "--check-determinism")) {
            ra->check_det = 1;
        } else if (!replay_mode && !strcmp(a, "--no-trace")) {
            ra->base.no_trace = 1;
        } else if (!strcmp(a, "--max-steps")) {
            NEED_VALUE;
            if (sim_u64_parse(v, &x) || x == 0) {
                fprintf(stderr, "ctxsim: --max-steps expects a positive step count, got '%s'\n", v);
                goto bad;
            }
            ra->base.max_steps = x;
        } else if (!replay_mode && !strcmp(a, "--max-replays")) {
            NEED_VALUE;
            if (sim_u64_parse(v, &x)) {
                fprintf(stderr, "ctxsim: --max-replays expects a number, got '%s'\n", v);
                goto bad;
            }
            ra->max_replays = (long)x;
        } else if (replay_mode && (!strcmp(a, "--trace") || !strcmp(a, "--timeline") ||
                                   !strcmp(a, "--trace-text"))) {
            i++; /* handled by the caller */
            if (!v) {
                fprintf(stderr, "ctxsim: %s needs a file name\n", a);
                goto bad;
            }
        } else if (replay_mode &&
                   (!strcmp(a, "--user") || !strcmp(a, "--conn") || !strcmp(a, "--thread") ||
                    !strcmp(a, "--from") || !strcmp(a, "--to") || !strcmp(a, "--explain"))) {
            i++; /* handled by the caller */
            if (!v) {
                fprintf(stderr, "ctxsim replay: %s needs a value (see ctxsim replay --help)\n", a);
                goto bad;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "ctxsim %s: unknown option '%s' (see ctxsim %s --help)\n", argv[0], a,
                    argv[0]);
            goto bad;
        } else {
            f[nf++] = argv[i];
        }
#undef NEED_VALUE
    }
    if (ra->base.no_trace && ra->check_det) {
        fprintf(stderr,
                "ctxsim %s: --no-trace and --check-determinism exclude each other (the "
                "check compares trace hashes)\n",
                argv[0]);
        goto bad;
    }
    if (ra->nprofiles == 0)
        ra->profiles[ra->nprofiles++] = -1;
    *files = f;
    *nfiles = nf;
    return 0;
bad:
    free(f);
    return -1;
}

static const char *git_rev(void)
{
    return rep_git_rev();
}

/* join_args is the command line of the run as recorded (runs.args):
 * "ctxsim run ARG..." with every word shell-quoted. */
static char *join_args(int argc, char **argv)
{
    return rep_join_args(argc, argv);
}

/* print_coverage prints the coverage matrix of the sweeps; returns how
 * many required behaviours no sweep exercised. */
static int print_coverage(FILE *f, const sim_sweep_result *res, size_t nres)
{
    sim_coverage_col *cols = calloc(nres, sizeof *cols);
    char(*labels)[160] = calloc(nres, sizeof *labels);
    int missing = -1;
    if (cols && labels) {
        for (size_t k = 0; k < nres; k++) {
            const sim_sweep_result *r = &res[k];
            if (r->ablated_fix)
                snprintf(labels[k], sizeof labels[k], "%.64s %.16s ablate F%d", r->scenario,
                         r->profile, r->ablated_fix);
            else
                snprintf(labels[k], sizeof labels[k], "%.64s %.16s%s%.64s", r->scenario, r->profile,
                         r->policy[0] ? " " : "", r->policy);
            cols[k] = (sim_coverage_col){labels[k], r->coverage};
        }
        missing = sim_coverage_print(f, cols, nres);
    } else {
        fprintf(stderr, "ctxsim: out of memory (coverage)\n");
    }
    free(cols);
    free(labels);
    return missing;
}

static int cmd_run(int argc, char **argv)
{
    run_args ra;
    char **files;
    int nfiles;
    if (parse_run_opts(argc, argv, &ra, &files, &nfiles, run_usage, 0) != 0)
        return EXIT_USAGE;
    scen_list sl = {0};
    cost_opts co = {ra.base.only_seed ? 1 : ra.base.seeds, ra.allow_large};
    if (load_all(files, nfiles, &sl, 1, &co) != 0) {
        free(files);
        free_all(&sl);
        fprintf(stderr, "ctxsim: bad input: nothing was run or recorded\n");
        return EXIT_USAGE;
    }
    free(files);
    ra.base.progress = isatty(2);

    if (ra.check_det) {
        int status = 0;
        for (size_t i = 0; i < sl.n; i++)
            for (int p = 0; p < ra.nprofiles; p++) {
                sim_sweep_opts o = ra.base;
                o.profile = ra.profiles[p];
                cr_policy pol;
                if (sim_sweep_policy(sl.v[i], &o, &pol, NULL, 0) != 0) {
                    fprintf(stderr, "ctxsim: %s: bad policy\n", sl.v[i]->name);
                    status = EXIT_USAGE;
                    continue;
                }
                uint32_t n = o.only_seed ? 1 : (o.seeds ? o.seeds : sl.v[i]->seeds);
                uint32_t checked = 0;
                int bad = 0;
                for (uint32_t k = 0; k < n && !interrupted; k++) {
                    uint64_t seed = o.only_seed ? o.only_seed : k + 1;
                    if (o.shard_n && (seed - 1) % o.shard_n != o.shard_k - 1)
                        continue;
                    uint64_t h = 0;
                    char diff[2048];
                    int rc = sim_check_determinism(sl.v[i], &pol, seed, o.explore, &h, diff,
                                                   sizeof(diff));
                    checked++;
                    if (rc != 0) {
                        printf("%s %s seed %" PRIu64 ": NOT DETERMINISTIC\n%s\n", sl.v[i]->name,
                               sim_profile_name(o.profile >= 0 ? o.profile : (int)sl.v[i]->profile),
                               seed, rc > 0 ? diff : "(error running the seed)");
                        status = EXIT_FAIL;
                        bad = 1;
                        break;
                    }
                }
                if (!bad)
                    printf("%-30s %-7s %6" PRIu32 " seeds: every trace identical on rerun\n",
                           sl.v[i]->name,
                           sim_profile_name(o.profile >= 0 ? o.profile : (int)sl.v[i]->profile),
                           checked);
            }
        free_all(&sl);
        return status;
    }

    rep_store *db = NULL;
    int64_t run_id = 0;
    char *args = join_args(argc, argv);
    if (!ra.no_db) {
        char err[1024];
        int orc = rep_store_open(ra.db, &db, err, sizeof(err));
        if (orc != 0) {
            fprintf(stderr, "ctxsim: %s; nothing was run\n", err);
            free(args);
            free_all(&sl);
            return rep_store_exit_code(orc);
        }
        rep_run_meta meta = {
            .label = ra.label,
            .git_rev = git_rev(),
            .tool_version = CR_VERSION_STRING,
            .args = args,
            .shard = ra.shard,
            .started_at = (int64_t)time(NULL), /* metadata, never inside a run */
        };
        int brc = rep_run_begin(db, &meta, &run_id);
        if (brc != 0) {
            fprintf(stderr, "ctxsim: cannot record into %s: %s; nothing was run\n", ra.db,
                    rep_store_errmsg(db));
            rep_store_close(db);
            free(args);
            free_all(&sl);
            return rep_store_exit_code(brc);
        }
    }
    free(args);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    /* The plan: scenario x profile, then the ablation sweeps. */
    size_t cap = sl.n * ((size_t)ra.nprofiles + (ra.ablation ? 9 : 0));
    sim_sweep_result *res = calloc(cap ? cap : 1, sizeof(*res));
    size_t nres = 0;
    int status = 0, error = 0, store_rc = 0; /* store_rc: the first recording error */
    size_t unrecorded = 0;
    json_t *jarr = ra.json ? json_array() : NULL;
    if (!ra.json && !opt_quiet)
        print_header();
    double t0 = mono_seconds(); /* the summary line's elapsed time, never inside a run */
    uint64_t nseeds_run = 0;
    for (size_t i = 0; i < sl.n && res && !interrupted && !error; i++) {
        int nsweeps = ra.nprofiles + (ra.ablation ? 9 : 0);
        for (int p = 0; p < nsweeps && !interrupted; p++) {
            sim_sweep_opts o = ra.base;
            if (p < ra.nprofiles) {
                o.profile = ra.profiles[p];
                /* legacy beside another profile is the comparison */
                o.role = ra.nprofiles > 1 && o.profile == CR_PROFILE_LEGACY ? SIM_ROLE_INFORMATIONAL
                                                                            : SIM_ROLE_GATE;
            } else {
                o.profile = CR_PROFILE_FIXED;
                o.ablate_fix = p - ra.nprofiles + 1;
                o.role = SIM_ROLE_INFORMATIONAL;
                o.matrix = 1;
            }
            o.allow_large = ra.allow_large && seed_is_large(sl.v[i]);
            sim_sweep_result *r = &res[nres];
            char err[512];
            if (sim_sweep_run(sl.v[i], &o, r, err, sizeof(err)) != 0) {
                fprintf(stderr, "ctxsim: %s: %s\n", sl.v[i]->name, err);
                sim_sweep_result_free(r);
                if (interrupted)
                    break;
                error = 1;
                break;
            }
            nres++;
            nseeds_run += r->nseeds;
            int arc = db ? rep_run_add_sweep(db, run_id, r) : 0;
            if (arc != 0) {
                fprintf(stderr, "ctxsim: %s/%s: NOT RECORDED in %s: %s\n", r->scenario, r->profile,
                        ra.db, rep_store_errmsg(db));
                store_rc = store_rc ? store_rc : arc;
                unrecorded++;
                error = 1;
            }
            if (jarr) {
                json_t *jo = sweep_json(r);
                if (db)
                    json_object_set_new(jo, "recorded", json_boolean(arc == 0));
                json_array_append_new(jarr, jo);
            } else if (!opt_quiet || r->fails_ci || arc != 0 ||
                       (r->role == SIM_ROLE_GATE && r->verdict != SIM_VERDICT_PASS)) {
                print_sweep(r, ra.max_replays); /* --quiet: what did not pass, only */
                if (arc != 0)
                    printf("  NOT RECORDED in %s: %s\n", ra.db, rep_store_errmsg(db));
            }
            fflush(stdout);
        }
    }
    /* The matrix rule needs every sweep of a fix; then the exit status. */
    sim_sweep_result **all = calloc(nres ? nres : 1, sizeof *all);
    for (size_t k = 0; all && k < nres; k++)
        all[k] = &res[k];
    if (all)
        sim_ablation_resolve(all, nres);
    free(all);
    size_t ngate = 0, gate_bad = 0, ninfo = 0, info_bad = 0;
    for (size_t k = 0; k < nres; k++) {
        if (res[k].role == SIM_ROLE_GATE) {
            ngate++;
            gate_bad += res[k].fails_ci;
        } else {
            ninfo++;
            info_bad += res[k].fails_ci;
        }
        if (res[k].fails_ci)
            status = EXIT_FAIL;
    }
    if (!jarr && nres) {
        /* The ablation matrix, fix by fix (one line each). */
        for (int fix = 1; fix <= 9; fix++) {
            const sim_sweep_result *any = NULL;
            size_t caught = 0, total = 0;
            for (size_t k = 0; k < nres; k++)
                if (res[k].matrix && res[k].ablated_fix == fix) {
                    any = &res[k];
                    total++;
                    caught += res[k].verdict == SIM_VERDICT_FAIL;
                }
            if (any && !opt_quiet)
                printf("ablation F%d (%s): %s by %zu of %zu sweeps\n", fix, sim_fix_knob(fix),
                       caught ? "caught" : "NOT CAUGHT", caught, total);
        }
        printf("verdict: %s: %zu gate sweep(s), %zu failing; %zu informational, %zu failing "
               "(a fix the ablation matrix does not catch)\n",
               status ? paint(SIM_VERDICT_FAIL, "FAIL") : paint(SIM_VERDICT_PASS, "PASS"), ngate,
               gate_bad, ninfo, info_bad);
    }
    if (ra.coverage && nres && !interrupted && !error &&
        print_coverage(jarr ? stderr : stdout, res, nres) != 0)
        status = EXIT_FAIL;
    if (jarr) {
        char *txt = json_dumps(jarr, JSON_INDENT(2));
        if (txt) {
            puts(txt);
            free(txt);
        }
        json_decref(jarr);
    }
    if (ra.junit && res) {
        const sim_sweep_result **ptrs = calloc(nres ? nres : 1, sizeof(*ptrs));
        char err[512];
        for (size_t k = 0; ptrs && k < nres; k++)
            ptrs[k] = &res[k];
        if (!ptrs || rep_junit_write(ra.junit, ptrs, nres, "ctxsim", err, sizeof(err)) != 0) {
            fprintf(stderr, "ctxsim: --junit %s: %s\n", ra.junit, ptrs ? err : "out of memory");
            error = 1;
        }
        free(ptrs);
    }
    if (db) {
        const char *st = interrupted ? "interrupted" : error ? "failed" : "complete";
        int frc = rep_run_finish(db, run_id, st);
        if (frc != 0) {
            fprintf(stderr, "ctxsim: %s: cannot mark run %" PRId64 " %s: %s\n", ra.db, run_id, st,
                    rep_store_errmsg(db));
            store_rc = store_rc ? store_rc : frc;
        }
        rep_store_close(db);
        if (!ra.json && unrecorded)
            printf("run %" PRId64 " in %s (%s): %zu of %zu sweeps NOT recorded (see above)\n",
                   run_id, ra.db, frc ? "status not recorded" : st, unrecorded, nres);
        else if (!ra.json && frc)
            printf("recorded as run %" PRId64 " in %s, but its status could not be set to %s\n",
                   run_id, ra.db, st);
        else if (!ra.json && !opt_quiet)
            printf("recorded as run %" PRId64 " in %s (%s)\n", run_id, ra.db, st);
    }
    double dt = mono_seconds() - t0;
    /* The closing summary line, printed last (on stderr under --format json). */
    char summary[256];
    snprintf(summary, sizeof summary,
             "summary: %zu scenario(s), %zu sweep(s), %" PRIu64
             " seed(s) in %.2f s (%.0f seeds/s): "
             "%s%s\n",
             sl.n, nres, nseeds_run, dt, dt > 0 ? (double)nseeds_run / dt : 0.0,
             status || error ? "FAIL" : "PASS",
             interrupted ? " (interrupted)"
             : error     ? " (an error stopped the run)"
                         : "");
    for (size_t k = 0; k < nres; k++)
        sim_sweep_result_free(&res[k]);
    free(res);
    free_all(&sl);
    fputs(summary, ra.json ? stderr : stdout);
    if (interrupted) {
        fprintf(stderr, "ctxsim: interrupted; finished scenarios are recorded\n");
        return 128 + interrupted;
    }
    if (store_rc)
        return rep_store_exit_code(store_rc); /* 3: the environment failed */
    return error ? EXIT_USAGE : status;
}

/* ---- exploration statistics ----------------------------------------------------- */

/* print_explored prints what exploration did to one seed: its reorderings
 * and, under PCT, n, k and Burckhardt's bound for depth d. */
static void print_explored(const char *prefix, const sim_seed_result *s, uint32_t depth)
{
    printf("%sreordered %" PRIu64 " events: %" PRIu64 " ties, %" PRIu64 " within the window",
           prefix, s->tie_reorders + s->window_reorders, s->tie_reorders, s->window_reorders);
    if (depth)
        printf(" (max delay %.3f ms); n %" PRIu64 " actors, k %" PRIu64 " steps, %" PRIu64
               " change points; p >= 1/(n k^%" PRIu32 ") = %.3g",
               (double)s->max_delay / 1e6, s->pct_actors, s->pct_steps, s->pct_changes, depth - 1,
               sim_pct_bound(s->pct_actors, s->pct_steps, depth));
    printf("\n");
}

/* ---- replay -------------------------------------------------------------------- */

static const char replay_usage[] =
    "usage: ctxsim replay SCENARIO --seed S [--profile P] [--policy k=v]... [--ablate N]\n"
    "                     [--explore | --pct D:W] [--max-steps N] [--trace FILE.json]\n"
    "                     [--timeline FILE] [--trace-text FILE]\n"
    "                     [--user U] [--conn C] [--thread T] [--from TIME] [--to TIME]\n"
    "                     [--explain EV] [--allow-large] [--max-memory SIZE]\n"
    "Re-run one seed and print its timeline, its counts and its trace hash\n"
    "(docs/timeline.md).  Every line: virtual time, actor (a tab u3.0, server, core,\n"
    "threadsvc, agent, auth), step, and what happened, with durations in units and\n"
    "one message id space (the client's m<N>; the core's own id in brackets on a\n"
    "dispatch).  Every emitted event's line ends with its verdict for each tab of its\n"
    "user: delivered (latency), LATE, LOST (the oracle's loss cause), or not owed and\n"
    "why; the timeline ends with the verdict summary and the late and lost pairs.\n"
    "  --user U        only user U (u3 or 3)\n"
    "  --conn C        only connection C (the server's id, conn=8: c8 or 8)\n"
    "  --thread T      only thread T (t1: every user's t1; u3/t1: that user's)\n"
    "  --from/--to T   only steps in this window of virtual time (1.5s, 200ms, 0)\n"
    "  --explain EV    instead of the timeline, the causal story of one event: the\n"
    "                  message and run that produced it, the binding it met, what the\n"
    "                  core, the transport and each tab did, its verdict and cause.\n"
    "                  EV as the timeline names it: e12 (or 12), or m17.3 (event 3, from\n"
    "                  0, of the run of message m17: the only name of one never emitted)\n"
    "  --timeline FILE write the (filtered) timeline to FILE instead of stdout\n"
    "  --trace FILE    Chrome/Perfetto trace-event JSON (ui.perfetto.dev): a process per\n"
    "                  user, a track per tab and per connection, slices for connection\n"
    "                  states, associations, runs and buffered events, flows from\n"
    "                  emit to send to receive\n"
    "  --trace-text F  the canonical trace text (what the trace hash covers, then the\n"
    "                  oracle's late and lost records) for `ctxsim diff`\n"
    "Exit 1 if the seed misses the expect, 2 on bad usage (an unknown EV, user,\n"
    "connection or thread, a time without a unit): nothing is written then.\n";

/* replay_views parses the view options of replay into *f and *explain
 * (checked against the run once it is built).  0 or -1 (message printed). */
static int replay_views(int argc, char **argv, sim_tl_filter *f, const char **explain, char *err,
                        size_t errlen)
{
    sim_tl_filter_init(f);
    *explain = NULL;
    for (int i = 1; i + 1 < argc; i++) {
        const char *a = argv[i], *v = argv[i + 1];
        int rc = 0;
        if (!strcmp(a, "--user"))
            rc = sim_tl_parse_user(v, &f->user, err, errlen);
        else if (!strcmp(a, "--conn"))
            rc = sim_tl_parse_conn(v, &f->conn, err, errlen);
        else if (!strcmp(a, "--thread"))
            rc = sim_tl_parse_thread(v, &f->tuser, &f->thread, err, errlen);
        else if (!strcmp(a, "--from") || !strcmp(a, "--to")) {
            char e2[200];
            rc = sim_tl_parse_time(v, a[2] == 'f' ? &f->from : &f->to, e2, sizeof e2);
            if (rc)
                snprintf(err, errlen, "%s %s", a, e2);
        } else if (!strcmp(a, "--explain"))
            *explain = v;
        else
            continue;
        if (rc)
            return -1;
        i++;
    }
    return 0;
}

/* write_file writes one view into path with fn.  0 or -1 (message printed). */
static int write_view(const char *path, const sim_tl *tl, const sim_trace *tr, int what,
                      const sim_tl_filter *f)
{
    errno = 0;
    FILE *out = fopen(path, "w");
    int rc = -1;
    if (out) {
        rc = what == 0   ? sim_tl_write(tl, f, out)
             : what == 1 ? sim_perfetto_write(tl, out)
                         : sim_trace_write_text(tr, out);
        if (fclose(out) != 0)
            rc = -1;
    }
    if (rc != 0)
        fprintf(stderr, "ctxsim replay: %s: cannot write%s%s\n", path, errno ? ": " : "",
                errno ? strerror(errno) : "");
    return rc;
}

static int cmd_replay(int argc, char **argv)
{
    run_args ra;
    char **files;
    int nfiles;
    if (parse_run_opts(argc, argv, &ra, &files, &nfiles, replay_usage, 1) != 0)
        return EXIT_USAGE;
    const char *trace_file = NULL, *timeline_file = NULL, *text_file = NULL, *explain = NULL;
    for (int i = 1; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "--trace"))
            trace_file = argv[i + 1];
        if (!strcmp(argv[i], "--timeline"))
            timeline_file = argv[i + 1];
        if (!strcmp(argv[i], "--trace-text"))
            text_file = argv[i + 1];
    }
    sim_tl_filter filt;
    char verr[256];
    if (replay_views(argc, argv, &filt, &explain, verr, sizeof verr) != 0) {
        fprintf(stderr, "ctxsim replay: %s\n", verr);
        free(files);
        return EXIT_USAGE;
    }
    if (nfiles != 1 || !ra.base.only_seed) {
        fprintf(stderr, "ctxsim replay: needs exactly one SCENARIO and --seed S\n%s", replay_usage);
        free(files);
        return EXIT_USAGE;
    }
    sim_scenario *sc = NULL;
    sim_scenario_error err;
    if (printable_name(files[0]) != 0) {
        free(files);
        return EXIT_USAGE;
    }
    cost_opts co = {1, ra.allow_large};
    if (sim_scenario_load(files[0], &sc, &err) != 0) {
        char buf[800];
        sim_scenario_error_format(&err, buf, sizeof(buf));
        fprintf(stderr, "%s\n", buf);
        free(files);
        return EXIT_USAGE;
    }
    free(files);
    if (cost_ok(sc, &co, 0) != 0) {
        sim_scenario_free(sc);
        return EXIT_USAGE;
    }
    sim_sweep_opts o = ra.base;
    o.profile = ra.profiles[0];
    cr_policy pol;
    char diff[256];
    if (sim_sweep_policy(sc, &o, &pol, diff, sizeof(diff)) != 0) {
        fprintf(stderr, "ctxsim replay: bad policy\n");
        sim_scenario_free(sc);
        return EXIT_USAGE;
    }
    sim_world_opts wo = {.seed = o.only_seed,
                         .explore = o.explore,
                         .keep_trace = 1,
                         .annotate = 1,
                         .max_steps = o.max_steps,
                         .pct_depth = o.pct_depth,
                         .pct_window = o.pct_window};
    sim_seed_result *res = calloc(1, sizeof(*res));
    sim_trace *tr = NULL;
    sim_tl *tl = NULL;
    if (!res) {
        sim_scenario_free(sc);
        return EXIT_USAGE;
    }
    sim_world_run(sc, &pol, &wo, res, &tr);
    sim_seed_judge(sc, res);
    if (!tr || sim_tl_build(tr, &tl) != 0) {
        fprintf(stderr, "ctxsim replay: out of memory reading the trace\n");
        sim_trace_free(tr);
        free(res);
        sim_scenario_free(sc);
        return EXIT_USAGE;
    }
    /* Check every view before writing anything. */
    int rc = 0;
    if (sim_tl_check_filter(tl, &filt, verr, sizeof verr) != 0) {
        fprintf(stderr, "ctxsim replay: %s\n", verr);
        rc = EXIT_USAGE;
    }
    char *story = NULL;
    size_t storylen = 0;
    if (rc == 0 && explain) {
        FILE *sf = open_memstream(&story, &storylen);
        int erc = sf ? sim_tl_explain(tl, explain, sf, verr, sizeof verr) : -2;
        if (sf)
            fclose(sf);
        if (erc == -1)
            fprintf(stderr, "ctxsim replay: --explain %s\n", verr);
        if (erc != 0)
            rc = EXIT_USAGE;
    }
    if (rc == 0) {
        if (timeline_file && write_view(timeline_file, tl, tr, 0, &filt) != 0)
            rc = EXIT_USAGE;
        if (trace_file && write_view(trace_file, tl, tr, 1, NULL) != 0)
            rc = EXIT_USAGE;
        if (text_file && write_view(text_file, tl, tr, 2, NULL) != 0)
            rc = EXIT_USAGE;
        if (story)
            fputs(story, stdout);
        else if (!timeline_file)
            sim_tl_write(tl, &filt, stdout);
    }
    free(story);
    if (rc != 0) {
        sim_tl_free(tl);
        sim_trace_free(tr);
        free(res);
        sim_scenario_free(sc);
        return rc;
    }
    printf("\nscenario %s  profile %s  policy %s  seed %" PRIu64 "%s\n", sc->name,
           sim_profile_name(o.profile >= 0 ? o.profile : (int)sc->profile), diff[0] ? diff : "-",
           o.only_seed,
           o.pct_depth ? "  (pct)"
           : o.explore ? "  (explore)"
                       : "");
    if (o.explore || o.pct_depth)
        print_explored("  ", res, o.pct_depth);
    for (int i = 0; i < SIM_COUNT__N; i++)
        printf("  %-16s %" PRIu64 "\n", sim_count_name(i), res->c[i]);
    double rate = res->c[SIM_COUNT_EXPECTED]
                      ? (double)res->c[SIM_COUNT_DELIVERED] / (double)res->c[SIM_COUNT_EXPECTED]
                      : 1.0;
    printf("  delivery_rate    %.4f\n", rate);
    printf("trace hash %016" PRIx64 " (%" PRIu64 " steps)\n", res->trace_hash, res->steps);
    /* The per-seed rule of the sweep (sim/verdict.h): a low rate alone is
     * the sweep's business, not this seed's. */
    printf("verdict: %s%s%s\n", res->pass ? "PASS" : "FAIL", res->pass ? "" : ": ", res->reason);
    if (res->pass && sc->expect.has_rate && sim_seed_is_worst(sc->expect.delivery_rate, res))
        printf("note: this seed's delivery_rate %.4f is below the scenario's %.4g: the rate is "
               "judged over the sweep (with its Wilson interval), a seed fails only on a count "
               "bounded at 0, livelock or errors\n",
               rate, sc->expect.delivery_rate);
    rc = res->pass ? 0 : EXIT_FAIL;
    sim_tl_free(tl);
    sim_trace_free(tr);
    free(res);
    sim_scenario_free(sc);
    return rc;
}

/* ---- validate, list, explore ------------------------------------------------------ */

static int cmd_validate(int argc, char **argv)
{
    static const char usage[] =
        "usage: ctxsim validate SCENARIO... [--allow-large]\n"
        "Check scenario files; print file:line:column: message for each error, and for each\n"
        "valid file its cost estimate (tabs, steps per tab with repeats unrolled, engine\n"
        "events per seed and per sweep, memory).  A scenario over a limit of\n"
        "docs/scenarios.md (Bounded runs) is refused, with the numbers, unless --allow-large.\n"
        "Exit 0 if all are valid, 2 otherwise.\n";
    cost_opts co = {0, 0};
    char **files = calloc((size_t)argc + 1, sizeof *files);
    int nf = 0;
    if (!files)
        return EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            free(files);
            return 0;
        } else if (!strcmp(argv[i], "--allow-large")) {
            co.allow_large = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ctxsim validate: unknown option '%s'\n%s", argv[i], usage);
            free(files);
            return EXIT_USAGE;
        } else {
            files[nf++] = argv[i];
        }
    }
    if (nf == 0) {
        fputs(usage, stderr);
        free(files);
        return EXIT_USAGE;
    }
    scen_list sl = {0};
    int rc = load_all(files, nf, &sl, 0, &co);
    free(files);
    free_all(&sl);
    return rc ? EXIT_USAGE : 0;
}

static int cmd_list(int argc, char **argv)
{
    int knobs = 0;
    char **dirs = NULL;
    int nd = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            puts("usage: ctxsim list [DIR] [--knobs]\n"
                 "List the scenarios in DIR (default ./scenarios); --knobs lists the policy\n"
                 "knobs with their legacy and fixed values.");
            return 0;
        } else if (!strcmp(argv[i], "--knobs")) {
            knobs = 1;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "ctxsim list: unknown option '%s'\n", argv[i]);
            return EXIT_USAGE;
        } else if (!dirs) {
            dirs = &argv[i];
            nd = 1;
        } else {
            fprintf(stderr, "ctxsim list: one DIR at most\n");
            return EXIT_USAGE;
        }
    }
    if (knobs) {
        printf("%-26s %-3s %-8s %14s %14s  %s\n", "knob", "fix", "type", "legacy", "fixed",
               "meaning");
        static const char *const types[] = {"bool", "count", "duration", "bytes"};
        for (size_t i = 0; i < cr_policy_knob_count(); i++) {
            const cr_knob_info *k = cr_policy_knob(i);
            char fix[8];
            snprintf(fix, sizeof(fix), k->fix ? "F%d" : "-", k->fix);
            printf("%-26s %-3s %-8s %14" PRIu64 " %14" PRIu64 "  %s\n", k->name, fix,
                   types[k->type & 3], k->legacy_value, k->fixed_value, k->doc);
        }
        return 0;
    }
    scen_list sl = {0};
    if (load_all(dirs, nd, &sl, 1, NULL) != 0) {
        free_all(&sl);
        return EXIT_USAGE;
    }
    printf("%-30s %-7s %6s %6s  %s\n", "scenario", "profile", "seeds", "users", "summary");
    for (size_t i = 0; i < sl.n; i++)
        printf("%-30s %-7s %6" PRIu32 " %6" PRIu32 "  %s\n", sl.v[i]->name,
               sim_profile_name((int)sl.v[i]->profile), sl.v[i]->seeds, sl.v[i]->users,
               sl.v[i]->summary ? sl.v[i]->summary : "");
    free_all(&sl);
    return 0;
}

static const char explore_usage[] =
    "usage: ctxsim explore SCENARIO... [--strategy random|pct] [--budget N] [--depth D]\n"
    "                      [--window W] [--profile P] [--policy k=v]... [--ablate N]\n"
    "                      [--jobs N] [--max-steps N] [--quiet] [--allow-large]\n"
    "                      [--max-memory SIZE] [--no-trace]\n"
    "       ctxsim explore --strategy swarm [--budget N] ...  (whole generated scenarios:\n"
    "                      ctxsim explore --strategy swarm --help, docs/explore.md)\n"
    "Search for failing interleavings: run seeds 1..N (--budget, default 200) of each\n"
    "scenario with the schedule perturbed, judge every seed, and print the replay line\n"
    "of each failure.\n"
    "  --strategy random     reorder exactly simultaneous events by a seeded priority\n"
    "  --strategy pct        PCT (Burckhardt et al. 2010): events of different actors due\n"
    "                        within --window W (default 5ms) of each other may be reordered,\n"
    "                        D - 1 priority change points (--depth D, default 3); an event\n"
    "                        overtaken runs later, delayed within the race window\n"
    "  --quiet               no per-seed line, only failures and the summary\n"
    "  --no-trace            skip trace hashing (faster); replay lines stay exact\n"
    "Per seed: how many events were reordered (ties, within the window) and, for pct, n\n"
    "actors, k steps and the bound p >= 1/(n k^(D-1)) of finding a bug of depth D; the\n"
    "summary gives failures by kind and the bound over the budget, 1 - prod(1 - p).\n"
    "See docs/pct.md.  Exit 0 nothing found, 1 a failure found, 2 bad usage.\n";

/* count_kinds adds each miss kind of a failure reason ("stray 1 > 0; lost ...")
 * to kinds/counts (at most max entries). */
static void count_kinds(const char *reason, char (*kinds)[32], uint32_t *counts, size_t *n,
                        size_t max)
{
    const char *p = reason;
    while (*p) {
        while (*p == ' ' || *p == ';')
            p++;
        size_t len = strcspn(p, " :;");
        if (len == 0)
            break;
        char k[32];
        snprintf(k, sizeof k, "%.*s", (int)(len < 31 ? len : 31), p);
        size_t i = 0;
        while (i < *n && strcmp(kinds[i], k))
            i++;
        if (i == *n && *n < max)
            snprintf(kinds[(*n)++], 32, "%s", k);
        if (i < *n)
            counts[i]++;
        p += strcspn(p, ";");
    }
}

/* ---- explore --strategy swarm ------------------------------------------------------ */

static const char swarm_usage[] =
    "usage: ctxsim explore --strategy swarm [--budget N] [--from I] [--seeds S] [--seed BASE]\n"
    "                      [--out DIR]\n"
    "                      [--profile P] [--policy k=v]... [--ablate N] [--jobs N]\n"
    "                      [--explore] [--max-steps N] [--with F,F] [--without F,F]\n"
    "Swarm testing: draw N whole scenarios (default 150) from the generator (sim/swarm.h:\n"
    "a random subset of features per scenario, then users, tabs, steps, distributions,\n"
    "faults and policy values within them), run S seeds of each (default 2) and judge\n"
    "every seed by the per-seed rule (safety counts, silent loss, liveness, livelock,\n"
    "errors; not the delivery rate).  With --ablate N each seed also runs with fix N on\n"
    "(the reference): a seed that received fewer events or lost more than the reference\n"
    "is a finding too (differential, both counts printed).  A scenario that hangs (5 s of\n"
    "wall time) or crashes is a finding.  Scenario i (from I, default 0) is drawn from BASE\n"
    "(default 1) and i:\n"
    "the same command finds the same failures.  Each failing scenario is written to\n"
    "DIR/swarm-<BASE>-<i>.yaml (default DIR: out/swarm) with a header comment (generator\n"
    "seed, features, what failed, the replay and shrink lines).  --with / --without\n"
    "force features on / off in every scenario (the same scenario numbers then draw\n"
    "other scenarios; the header of each file says which were used).  docs/explore.md.\n"
    "Exit status: 0 nothing found, 1 a failure found, 2 bad usage.\n";

/* One judged seed of one generated scenario (what a worker sends back). */
typedef struct swarm_rec {
    uint32_t index; /* scenario i */
    uint32_t seedno;
    int failed;       /* 1 fails, 0 passes, -1 the scenario could not be run */
    int attributable; /* 1: the finding is the ablation's (or, unablated, the seed's) */
    char kind[32];
    char reason[512];
} swarm_rec;

/* replay_line writes the replay command of `seed` of the scenario at path. */
static void replay_line(const char *path, uint64_t seed, const sim_sweep_opts *so, int profile,
                        const char *policy_diff, const sim_world_opts *wo, const char *verb,
                        char *buf, size_t len)
{
    sim_sweep_result *r = calloc(1, sizeof *r);
    buf[0] = '\0';
    if (!r)
        return;
    snprintf(r->path, sizeof r->path, "%.*s", (int)sizeof r->path - 1, path);
    snprintf(r->profile, sizeof r->profile, "%s", sim_profile_name(profile));
    snprintf(r->policy, sizeof r->policy, "%s", policy_diff ? policy_diff : "");
    r->ablated_fix = so->ablate_fix;
    r->explore = wo->explore;
    r->max_steps = wo->max_steps;
    r->allow_large = so->allow_large;
    r->pct_depth = wo->pct_depth;
    r->pct_window = wo->pct_window;
    rep_replay_command_verb(r, seed, verb, buf, len);
    free(r);
}

/* swarm_judge runs the seeds of scenario i into recs[seeds]. */
/* The generator's options of this search (--with, --without). */
static sim_swarm_opts swarm_gen;

/* parse_features turns "a,b" into feature bits; -1 on an unknown name. */
static int parse_features(const char *list, uint32_t *bits)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int f = 0;
        while (f < SIM_SWARM__N && strcmp(sim_swarm_feature_name(f), tok) != 0)
            f++;
        if (f == SIM_SWARM__N) {
            fprintf(stderr, "ctxsim explore: unknown swarm feature '%s' (features:", tok);
            for (int k = 0; k < SIM_SWARM__N; k++)
                fprintf(stderr, " %s", sim_swarm_feature_name(k));
            fprintf(stderr, ")\n");
            return -1;
        }
        *bits |= UINT32_C(1) << f;
    }
    return 0;
}

static void swarm_judge(uint64_t base, uint32_t i, uint32_t seeds, const sim_sweep_opts *so,
                        const sim_world_opts *wo, swarm_rec *recs)
{
    char *text = NULL;
    sim_scenario *sc = NULL;
    sim_scenario_error err;
    memset(&err, 0, sizeof err);
    memset(recs, 0, seeds * sizeof *recs);
    for (uint32_t k = 0; k < seeds; k++) {
        recs[k].index = i;
        recs[k].seedno = k + 1;
    }
    if (sim_swarm_generate(sim_swarm_scenario_seed(base, i), &swarm_gen, &text, NULL) != 0 ||
        sim_scenario_load_string("swarm.yaml", text, strlen(text), &sc, &err) != 0) {
        for (uint32_t k = 0; k < seeds; k++) {
            recs[k].failed = -1;
            recs[k].attributable = 1;
            snprintf(recs[k].kind, sizeof recs[k].kind, "generator");
            snprintf(recs[k].reason, sizeof recs[k].reason, "%d:%d: %.200s", err.line, err.col,
                     err.msg);
        }
        free(text);
        return;
    }
    for (uint32_t k = 0; k < seeds; k++) {
        sim_world_opts w = *wo;
        sim_swarm_verdict *v = calloc(1, sizeof *v);
        w.seed = k + 1;
        if (!v || sim_swarm_judge_seed(sc, so, &w, v) != 0) {
            recs[k].failed = -1;
            recs[k].attributable = 1;
            snprintf(recs[k].kind, sizeof recs[k].kind, "policy");
            snprintf(recs[k].reason, sizeof recs[k].reason, "the core refuses the policy");
            free(v);
            continue;
        }
        recs[k].failed = v->failed;
        recs[k].attributable = v->attributable;
        snprintf(recs[k].kind, sizeof recs[k].kind, "%s", v->kind);
        snprintf(recs[k].reason, sizeof recs[k].reason, "%s", v->reason);
        free(v);
    }
    sim_scenario_free(sc);
    free(text);
}

/* A scenario that has not answered after this much wall time is a hang: an
 * endless loop outside the world's step budget (inside the core).  Normal
 * scenarios take milliseconds, so whether one is judged a hang does not
 * depend on the machine in practice. */
#define SWARM_HANG_MS 5000

/* swarm_mark writes one kind and reason into every seed of a scenario. */
static void swarm_mark(swarm_rec *recs, uint32_t i, uint32_t seeds, int attributable,
                       const char *kind, const char *reason)
{
    for (uint32_t k = 0; k < seeds; k++) {
        recs[k].index = i;
        recs[k].seedno = k + 1;
        recs[k].failed = 1;
        recs[k].attributable = attributable;
        snprintf(recs[k].kind, sizeof recs[k].kind, "%s", kind);
        snprintf(recs[k].reason, sizeof recs[k].reason, "%s", reason);
    }
}

/* swarm_judge_guarded is swarm_judge in a child process, so that a core
 * that loops forever (kind "hang", after SWARM_HANG_MS) or crashes (kind
 * "crash") is a finding instead of the end of the search.  Without fork it
 * judges in process. */
static void swarm_judge_guarded(uint64_t base, uint32_t i, uint32_t seeds, const sim_sweep_opts *so,
                                const sim_world_opts *wo, swarm_rec *recs)
{
    int fd[2];
    if (pipe(fd) != 0) {
        swarm_judge(base, i, seeds, so, wo, recs);
        return;
    }
    fflush(stdout);
    pid_t p = fork();
    if (p < 0) {
        close(fd[0]);
        close(fd[1]);
        swarm_judge(base, i, seeds, so, wo, recs);
        return;
    }
    if (p == 0) {
        close(fd[0]);
        swarm_judge(base, i, seeds, so, wo, recs);
        const char *b = (const char *)recs;
        size_t left = seeds * sizeof *recs;
        while (left) {
            ssize_t n = write(fd[1], b, left);
            if (n <= 0)
                _exit(3);
            b += n;
            left -= (size_t)n;
        }
        _exit(0);
    }
    close(fd[1]);
    size_t want = seeds * sizeof *recs, got = 0;
    int hang = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0); /* wall time of the guard, never inside a run */
    while (got < want) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long spent = (long)(t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        struct pollfd pf = {.fd = fd[0], .events = POLLIN};
        if (spent >= SWARM_HANG_MS || poll(&pf, 1, (int)(SWARM_HANG_MS - spent)) == 0) {
            hang = 1;
            break;
        }
        ssize_t n = read(fd[0], (char *)recs + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd[0]);
    if (hang)
        kill(p, SIGKILL);
    int st = 0;
    while (waitpid(p, &st, 0) < 0 && errno == EINTR)
        ;
    /* a hang or crash is not credited to an ablation (the fix on may do the same) */
    if (hang) {
        swarm_mark(recs, i, seeds, !so->ablate_fix, "hang",
                   "no answer after 5 s of wall time: an endless loop outside the step budget");
    } else if (got < want) {
        char why[96];
        snprintf(why, sizeof why, "the run died (%s %d)",
                 WIFSIGNALED(st) ? "signal" : "exit status",
                 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        swarm_mark(recs, i, seeds, !so->ablate_fix, "crash", why);
    }
}

/* swarm_run_all judges every scenario into recs[budget * seeds], in jobs
 * worker processes (the same records whatever jobs is).  0 or -1. */
static int swarm_run_all(uint64_t base, uint32_t from, uint32_t budget, uint32_t seeds, int jobs,
                         const sim_sweep_opts *so, const sim_world_opts *wo, swarm_rec *recs)
{
    if (jobs > (int)budget)
        jobs = (int)budget;
    if (jobs <= 1) {
        for (uint32_t i = 0; i < budget && !interrupted; i++)
            swarm_judge_guarded(base, from + i, seeds, so, wo, recs + (size_t)i * seeds);
        return interrupted ? -1 : 0;
    }
    pid_t pids[256];
    FILE *in[256];
    int started = 0, rc = 0;
    fflush(stdout);
    for (int j = 0; j < jobs; j++) {
        int fd[2];
        if (pipe(fd) != 0)
            break;
        pid_t p = fork();
        if (p < 0) {
            close(fd[0]);
            close(fd[1]);
            break;
        }
        if (p == 0) {
            close(fd[0]);
            FILE *o = fdopen(fd[1], "wb");
            swarm_rec *mine = calloc(seeds, sizeof *mine);
            for (uint32_t i = (uint32_t)j; o && mine && i < budget; i += (uint32_t)jobs) {
                swarm_judge_guarded(base, from + i, seeds, so, wo, mine);
                if (fwrite(mine, sizeof *mine, seeds, o) != seeds)
                    _exit(3);
            }
            _exit(o && mine && fclose(o) == 0 ? 0 : 3);
        }
        close(fd[1]);
        pids[started] = p;
        in[started++] = fdopen(fd[0], "rb");
    }
    if (started < jobs)
        rc = -1;
    /* Each worker's records come in its own order; reading one pipe to the
     * end while the others fill theirs only makes those wait. */
    for (int j = 0; j < started; j++) {
        swarm_rec r;
        while (in[j] && fread(&r, sizeof r, 1, in[j]) == 1)
            if (r.index >= from && r.index - from < budget && r.seedno >= 1 && r.seedno <= seeds)
                recs[(size_t)(r.index - from) * seeds + r.seedno - 1] = r;
        if (in[j])
            fclose(in[j]);
        int st = 0;
        if (waitpid(pids[j], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            rc = -1;
    }
    return rc;
}

static int explore_swarm(int argc, char **argv)
{
    uint64_t budget = 150, seeds = 2, base = 1, from = 0, x;
    const char *dir = "out/swarm";
    int jobs = 1, profile = CR_PROFILE_FIXED;
    sim_sweep_opts so;
    sim_world_opts wo;
    memset(&so, 0, sizeof so);
    memset(&wo, 0, sizeof wo);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int need = strcmp(a, "--explore") != 0 && strcmp(a, "--help") != 0 && strcmp(a, "-h") != 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(swarm_usage, stdout);
            return 0;
        }
        if (a[0] != '-' || !a[1]) {
            fprintf(stderr,
                    "ctxsim explore --strategy swarm: takes no scenario ('%s'); it draws "
                    "its own\n",
                    a);
            return EXIT_USAGE;
        }
        if (need && !v) {
            fprintf(stderr, "ctxsim explore: %s needs a value\n", a);
            return EXIT_USAGE;
        }
        if (!strcmp(a, "--strategy")) {
            i++;
        } else if (!strcmp(a, "--budget")) {
            if (sim_u64_parse(argv[++i], &budget) || budget == 0 || budget > 10000000) {
                fprintf(stderr,
                        "ctxsim explore: --budget expects 1..10000000 scenarios, got '%s'\n", v);
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--seeds")) {
            if (sim_u64_parse(argv[++i], &seeds) || seeds == 0 || seeds > 1000) {
                fprintf(stderr, "ctxsim explore: --seeds expects 1..1000, got '%s'\n", v);
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--seed")) {
            if (sim_u64_parse(argv[++i], &base)) {
                fprintf(stderr, "ctxsim explore: --seed expects a number, got '%s'\n", v);
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--from")) {
            if (sim_u64_parse(argv[++i], &from) || from > UINT32_MAX - 10000000) {
                fprintf(stderr, "ctxsim explore: --from expects a scenario number, got '%s'\n", v);
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--out")) {
            dir = argv[++i];
            if (!dir[0]) {
                fprintf(stderr, "ctxsim explore: --out needs a directory\n");
                return EXIT_USAGE;
            }
            if (printable_name(dir) != 0)
                return EXIT_USAGE;
        } else if (!strcmp(a, "--profile")) {
            if (parse_profile(argv[++i], &profile))
                return EXIT_USAGE;
        } else if (!strcmp(a, "--policy")) {
            if (so.noverrides == SIM_MAX_OVERRIDES) {
                fprintf(stderr, "ctxsim explore: too many --policy overrides\n");
                return EXIT_USAGE;
            }
            if (parse_knob(argv[++i], so.overrides[so.noverrides].name, sizeof so.overrides[0].name,
                           &so.overrides[so.noverrides].value))
                return EXIT_USAGE;
            so.noverrides++;
        } else if (!strcmp(a, "--ablate")) {
            if (sim_u64_parse(argv[++i], &x) || x < 1 || x > 9) {
                fprintf(stderr, "ctxsim explore: --ablate expects a fix number 1..9, got '%s'\n",
                        v);
                return EXIT_USAGE;
            }
            so.ablate_fix = (int)x;
        } else if (!strcmp(a, "--jobs")) {
            if (sim_u64_parse(argv[++i], &x) || x == 0 || x > 256) {
                fprintf(stderr, "ctxsim explore: --jobs expects 1..256, got '%s'\n", v);
                return EXIT_USAGE;
            }
            jobs = (int)x;
        } else if (!strcmp(a, "--max-steps")) {
            if (sim_u64_parse(argv[++i], &x) || x == 0) {
                fprintf(stderr, "ctxsim explore: --max-steps expects a positive count, got '%s'\n",
                        v);
                return EXIT_USAGE;
            }
            wo.max_steps = x;
        } else if (!strcmp(a, "--explore")) {
            wo.explore = 1;
        } else if (!strcmp(a, "--with")) {
            if (parse_features(argv[++i], &swarm_gen.force_on))
                return EXIT_USAGE;
        } else if (!strcmp(a, "--without")) {
            if (parse_features(argv[++i], &swarm_gen.force_off))
                return EXIT_USAGE;
        } else {
            fprintf(stderr,
                    "ctxsim explore: unknown option '%s' for --strategy swarm (see "
                    "ctxsim explore --strategy swarm --help)\n",
                    a);
            return EXIT_USAGE;
        }
    }
    so.profile = profile;
    so.explore = wo.explore;
    so.max_steps = wo.max_steps;
    {
        /* the overrides must be values the core takes */
        cr_policy pol;
        if (cr_policy_init(&pol, (cr_profile)profile) != 0)
            return EXIT_USAGE;
        for (size_t k = 0; k < so.noverrides; k++)
            if (cr_policy_set(&pol, so.overrides[k].name, so.overrides[k].value) != 0) {
                fprintf(stderr, "ctxsim explore: --policy %s=%" PRIu64 ": the core refuses it\n",
                        so.overrides[k].name, so.overrides[k].value);
                return EXIT_USAGE;
            }
    }
    swarm_rec *recs = calloc((size_t)budget * seeds, sizeof *recs);
    if (!recs) {
        fprintf(stderr, "ctxsim explore: out of memory\n");
        return EXIT_USAGE;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0); /* wall time of the search, never inside a run */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int rc = swarm_run_all(base, (uint32_t)from, (uint32_t)budget, (uint32_t)seeds, jobs, &so, &wo,
                           recs);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc != 0) {
        fprintf(stderr, "ctxsim explore: %s\n",
                interrupted ? "interrupted" : "a worker failed (nothing is reported)");
        free(recs);
        return interrupted ? 128 + interrupted : EXIT_USAGE;
    }
    /* Report in scenario order: the same whatever --jobs was. */
    char kinds[16][32];
    uint32_t kind_n[16], nkinds = 0, failed_scen = 0, failed_seeds = 0, first = 0, first_i = 0;
    uint32_t attr_scen = 0, attr_first = 0, attr_first_i = 0;
    sim_sweep_opts ref_so = so; /* the reference of a differential judge: the fix on */
    ref_so.ablate_fix = 0;
    int made_dir = 0;
    for (uint32_t n = 0; n < budget; n++) {
        const swarm_rec *r = recs + (size_t)n * seeds;
        uint32_t i = (uint32_t)from + n;
        int any = 0;
        for (uint32_t k = 0; k < seeds; k++)
            any |= r[k].failed != 0;
        if (!any)
            continue;
        if (!failed_scen++)
            first = n + 1, first_i = i;
        int attr = 0;
        for (uint32_t k = 0; k < seeds; k++)
            attr |= r[k].failed != 0 && r[k].attributable;
        if (attr && !attr_scen++)
            attr_first = n + 1, attr_first_i = i;
        uint64_t g = sim_swarm_scenario_seed(base, i);
        char *text = NULL, path[1200], line[1600], rline[1600], diff[256] = "", rdiff[256] = "",
             feat[512] = "";
        uint32_t fs = 0;
        sim_scenario *sc = NULL;
        if (sim_swarm_generate(g, &swarm_gen, &text, &fs) != 0)
            continue;
        sim_swarm_features_format(fs, feat, sizeof feat);
        if (sim_scenario_load_string("swarm.yaml", text, strlen(text), &sc, NULL) == 0) {
            cr_policy pol;
            sim_sweep_policy(sc, &so, &pol, diff, sizeof diff);
            sim_sweep_policy(sc, &ref_so, &pol, rdiff, sizeof rdiff);
            sim_scenario_free(sc);
        }
        snprintf(path, sizeof path, "%s/swarm-%" PRIu64 "-%" PRIu32 ".yaml", dir, base, i);
        if (!made_dir) {
            int mk = rep_mkdir_p(dir);
            if (mk != 0) {
                fprintf(stderr, "ctxsim explore: cannot create %s: %s\n", dir, strerror(-mk));
                free(text);
                free(recs);
                return EXIT_USAGE;
            }
            made_dir = 1;
        }
        FILE *f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "ctxsim explore: cannot write %s: %s\n", path, strerror(errno));
            free(text);
            free(recs);
            return EXIT_USAGE;
        }
        fprintf(f,
                "# ctxsim explore --strategy swarm --seed %" PRIu64 ": scenario %" PRIu32
                ", generator seed %" PRIu64 "\n# features: %s\n",
                base, i, g, feat);
        printf("FAIL %s (scenario %" PRIu32 ", features: %s)\n", path, i, feat);
        for (uint32_t k = 0; k < seeds; k++) {
            if (!r[k].failed)
                continue;
            failed_seeds++;
            char kn[32];
            snprintf(kn, sizeof kn, "%.20s%s", r[k].kind, r[k].attributable ? "" : " (fix too)");
            uint32_t j = 0;
            while (j < nkinds && strcmp(kinds[j], kn) != 0)
                j++;
            if (j == nkinds && nkinds < 16) {
                snprintf(kinds[nkinds], sizeof kinds[0], "%s", kn);
                kind_n[nkinds++] = 0;
            }
            if (j < nkinds)
                kind_n[j]++;
            replay_line(path, r[k].seedno, &so, profile, diff, &wo, "replay", line, sizeof line);
            fprintf(f, "# seed %" PRIu32 " failed: %s: %s\n# replay: %s\n", r[k].seedno, r[k].kind,
                    r[k].reason, line);
            printf("  seed %" PRIu32 ": %s: %s\n    replay: %s\n", r[k].seedno, r[k].kind,
                   r[k].reason, line);
            if (so.ablate_fix) {
                replay_line(path, r[k].seedno, &ref_so, profile, rdiff, &wo, "replay", rline,
                            sizeof rline);
                fprintf(f, "# reference (the fix on): %s\n", rline);
                printf("    reference (the fix on): %s\n", rline);
            }
            replay_line(path, r[k].seedno, &so, profile, diff, &wo, "shrink", line, sizeof line);
            printf("    shrink: %s\n", line);
        }
        /* the generator's own comment lines stay after ours */
        fputs(text, f);
        free(text);
        if (fclose(f) != 0) {
            fprintf(stderr, "ctxsim explore: cannot write %s\n", path);
            free(recs);
            return EXIT_USAGE;
        }
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    char ab[32] = "";
    if (so.ablate_fix)
        snprintf(ab, sizeof ab, " --ablate %d", so.ablate_fix);
    printf("swarm: %" PRIu64 " scenarios x %" PRIu64 " seeds (base %" PRIu64 ", profile %s%s): "
           "%" PRIu32 " failing scenarios, %" PRIu32 " failing seeds",
           budget, seeds, base, sim_profile_name(profile), ab, failed_scen, failed_seeds);
    for (uint32_t j = 0; j < nkinds; j++)
        printf("%s%s %" PRIu32, j ? ", " : " (", kinds[j], kind_n[j]);
    printf("%s; %.1f s\n", nkinds ? ")" : "", secs);
    if (failed_scen)
        printf("swarm: first failure: scenario %" PRIu32 " (%" PRIu32 " of the %" PRIu64
               " scenarios run to reach it); files in %s/\n",
               first_i, first, budget, dir);
    if (so.ablate_fix && attr_scen)
        printf("swarm: fix %d found: %" PRIu32 " scenarios fail because of the ablation, the "
               "first: scenario %" PRIu32 " (%" PRIu32 " of the %" PRIu64 ")\n",
               so.ablate_fix, attr_scen, attr_first_i, attr_first, budget);
    else if (so.ablate_fix)
        printf("swarm: fix %d not found: no scenario fails because of the ablation\n",
               so.ablate_fix);
    free(recs);
    return failed_scen ? EXIT_FAIL : 0;
}

static int cmd_explore(int argc, char **argv)
{
    uint64_t budget = 200;
    uint32_t depth = 3;
    uint64_t window = 5000000;
    int pct = 0, quiet = opt_quiet, /* -q/--quiet is global (main) */ depth_set = 0, window_set = 0;
    char **args = calloc((size_t)argc + 1, sizeof(char *));
    int nargs = 0;
    if (!args)
        return EXIT_USAGE;
    args[nargs++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = !strcmp(a, "--budget") || !strcmp(a, "--strategy") || !strcmp(a, "--depth") ||
                    !strcmp(a, "--window");
        if (takes && !v) {
            fprintf(stderr, "ctxsim explore: %s needs a value\n", a);
            goto bad;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(explore_usage, stdout);
            free(args);
            return 0;
        } else if (!strcmp(a, "--budget")) {
            if (sim_u64_parse(argv[++i], &budget) || budget == 0 || budget > 10000000) {
                fprintf(stderr, "ctxsim explore: --budget expects 1..10000000 seeds, got '%s'\n",
                        argv[i]);
                goto bad;
            }
        } else if (!strcmp(a, "--strategy")) {
            if (!strcmp(v, "swarm")) {
                free(args);
                return explore_swarm(argc, argv);
            }
            if (!strcmp(argv[++i], "pct"))
                pct = 1;
            else if (!strcmp(argv[i], "random"))
                pct = 0;
            else {
                fprintf(stderr,
                        "ctxsim explore: strategy '%s' is not implemented (available: random, "
                        "pct, swarm)\n",
                        argv[i]);
                goto bad;
            }
        } else if (!strcmp(a, "--depth")) {
            if (parse_depth(argv[++i], &depth))
                goto bad;
            depth_set = 1;
        } else if (!strcmp(a, "--window")) {
            if (parse_window(argv[++i], &window))
                goto bad;
            window_set = 1;
        } else if (!strcmp(a, "--seeds") || !strcmp(a, "--seed") || !strcmp(a, "--pct") ||
                   !strcmp(a, "--explore")) {
            fprintf(stderr, "ctxsim explore: %s is set by --budget/--strategy here\n", a);
            goto bad;
        } else {
            args[nargs++] = argv[i];
        }
    }
    if (!pct && (depth_set || window_set)) {
        fprintf(stderr, "ctxsim explore: --depth and --window need --strategy pct\n");
        goto bad;
    }
    run_args ra;
    char **files;
    int nfiles;
    if (parse_run_opts(nargs, args, &ra, &files, &nfiles, explore_usage, 0) != 0)
        goto bad;
    free(args);
    args = NULL;
    if (nfiles == 0) {
        fprintf(stderr, "ctxsim explore: needs a SCENARIO\n%s", explore_usage);
        free(files);
        return EXIT_USAGE;
    }
    scen_list sl = {0};
    cost_opts co = {budget, ra.allow_large};
    if (load_all(files, nfiles, &sl, 1, &co) != 0) {
        free(files);
        free_all(&sl);
        fprintf(stderr, "ctxsim: bad input: nothing was run\n");
        return EXIT_USAGE;
    }
    free(files);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    uint64_t seeds = 0, failures = 0, ties = 0, windows = 0, sweeps_failed = 0;
    char kinds[32][32];
    uint32_t counts[32] = {0};
    size_t nkinds = 0;
    double log_miss = 0; /* sum of log(1 - p) over every PCT seed */
    int status = 0;
    for (size_t i = 0; i < sl.n && !interrupted && status != EXIT_USAGE; i++)
        for (int p = 0; p < ra.nprofiles && !interrupted; p++) {
            sim_sweep_opts o = ra.base;
            o.profile = ra.profiles[p];
            o.seeds = (uint32_t)budget;
            o.allow_large = ra.allow_large && seed_is_large(sl.v[i]);
            o.explore = !pct;
            o.pct_depth = pct ? depth : 0;
            o.pct_window = pct ? window : 0;
            sim_sweep_result r;
            char err[512];
            if (sim_sweep_run(sl.v[i], &o, &r, err, sizeof err) != 0) {
                fprintf(stderr, "ctxsim explore: %s: %s\n", sl.v[i]->name, err);
                if (!interrupted)
                    status = EXIT_USAGE; /* interrupted: the summary of what ran, 128 + N */
                break;
            }
            uint64_t sn_min = UINT64_MAX, sn_max = 0, sk_min = UINT64_MAX, sk_max = 0;
            uint64_t rt = 0, rw = 0, nfail = 0;
            double lm = 0;
            printf("%s %s: %s, %" PRIu32 " seeds", r.scenario, r.profile,
                   pct ? "pct" : "random ties", r.nseeds);
            if (r.ablated_fix)
                printf(", fix F%d off", r.ablated_fix);
            if (pct)
                printf(", depth %" PRIu32 ", window %.3f ms", depth, (double)window / 1e6);
            printf("\n");
            for (uint32_t k = 0; k < r.nseeds; k++) {
                const sim_seed_result *sd = &r.seeds[k];
                rt += sd->tie_reorders;
                rw += sd->window_reorders;
                if (pct) {
                    double pb = sim_pct_bound(sd->pct_actors, sd->pct_steps, depth);
                    lm += log1p(-pb);
                    sn_min = sd->pct_actors < sn_min ? sd->pct_actors : sn_min;
                    sn_max = sd->pct_actors > sn_max ? sd->pct_actors : sn_max;
                    sk_min = sd->pct_steps < sk_min ? sd->pct_steps : sk_min;
                    sk_max = sd->pct_steps > sk_max ? sd->pct_steps : sk_max;
                }
                if (!quiet) {
                    char pre[64];
                    snprintf(pre, sizeof pre, "  seed %-6" PRIu64 " %s ", sd->seed,
                             sd->pass ? "ok  " : "FAIL");
                    print_explored(pre, sd, pct ? depth : 0);
                }
                if (!sd->pass) {
                    char line[4096];
                    nfail++;
                    count_kinds(sd->reason, kinds, counts, &nkinds, 32);
                    if (rep_replay_command(&r, sd->seed, line, sizeof line) != 0)
                        snprintf(line, sizeof line, "(replay line too long)");
                    printf("  FAIL seed %" PRIu64 ": %s\n    replay: %s\n", sd->seed, sd->reason,
                           line);
                }
            }
            if (r.verdict == SIM_VERDICT_FAIL && !nfail) {
                /* No single seed failed, the sweep did (its rate). */
                sweeps_failed++;
                count_kinds(r.reason, kinds, counts, &nkinds, 32);
                printf("  FAIL sweep: %s\n", r.reason);
                for (uint32_t k = 0; k < r.nseeds; k++) {
                    char line[4096];
                    if (r.seeds[k].worst < 1 || r.seeds[k].worst > 3 ||
                        rep_replay_command(&r, r.seeds[k].seed, line, sizeof line) != 0)
                        continue;
                    printf("    worst seed #%d (%" PRIu64 "): %s\n", r.seeds[k].worst,
                           r.seeds[k].seed, line);
                }
            }
            printf("  %" PRIu64 " of %" PRIu32 " seeds failed; reordered %" PRIu64
                   " events (%" PRIu64 " ties, %" PRIu64 " within the window)\n",
                   nfail, r.nseeds, rt + rw, rt, rw);
            if (pct && r.nseeds)
                printf("  bound: n %" PRIu64 "..%" PRIu64 " actors, k %" PRIu64 "..%" PRIu64
                       " steps: a bug of depth %" PRIu32 " is found with probability >= %.3g over "
                       "these %" PRIu32 " seeds (1 - prod(1 - 1/(n k^%" PRIu32 ")))\n",
                       sn_min, sn_max, sk_min, sk_max, depth, -expm1(lm), r.nseeds, depth - 1);
            seeds += r.nseeds;
            failures += nfail;
            ties += rt;
            windows += rw;
            log_miss += lm;
            sim_sweep_result_free(&r);
            fflush(stdout);
        }
    free_all(&sl);
    if (status == EXIT_USAGE)
        return status;
    printf("summary: %s, %" PRIu64 " seeds, %" PRIu64 " failing seeds, %" PRIu64
           " failing sweeps; reordered %" PRIu64 " events (%" PRIu64 " ties, %" PRIu64
           " within the window)\n",
           pct ? "pct" : "random", seeds, failures, sweeps_failed, ties + windows, ties, windows);
    if (nkinds) {
        printf("failures by kind:");
        for (size_t k = 0; k < nkinds; k++)
            printf(" %s %" PRIu32, kinds[k], counts[k]);
        printf("\n");
    }
    if (pct)
        printf("bound: a bug of depth %" PRIu32
               " is found with probability >= %.3g over all %" PRIu64 " seeds\n",
               depth, -expm1(log_miss), seeds);
    if (interrupted)
        return 128 + interrupted;
    return failures || sweeps_failed ? EXIT_FAIL : 0;
bad:
    free(args);
    return EXIT_USAGE;
}

/* ---- shrink -------------------------------------------------------------------- */

static const char shrink_usage[] =
    "usage: ctxsim shrink SCENARIO --seed S [--profile P] [--policy k=v]... [--ablate N]\n"
    "                     [--explore | --pct D:W] [--max-steps N] [--max-runs N] [--out FILE]\n"
    "                     [--allow-large] [--max-memory SIZE]\n"
    "Make a failing seed's scenario small: delta debugging (ddmin) over its steps and\n"
    "repeat bodies, repeats unwrapped and their times lowered, users and tabs lowered,\n"
    "policy overrides dropped, fault rates set to 0, distributions replaced by their\n"
    "median, agent events dropped, the horizon halved, to a fixpoint; a candidate is\n"
    "kept only when the seed still fails the same way (the same failure kind; a seed\n"
    "whose only miss is its delivery rate: the same dominant loss cause).  Writes the\n"
    "result to FILE (default out/shrunk-<name>-seed<S>.yaml) with a header giving the\n"
    "sizes before and after and the replay line.  docs/explore.md.\n"
    "Exit 0 when a failing seed was shrunk (or was already minimal), 1 when the seed\n"
    "passes (nothing to shrink), 2 on bad usage or input.\n";

static int cmd_shrink(int argc, char **argv)
{
    const char *out_path = NULL;
    uint64_t max_runs = 0;
    char **args = calloc((size_t)argc + 1, sizeof(char *));
    int nargs = 0;
    if (!args)
        return EXIT_USAGE;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && !strcmp(argv[i], "--out") && i + 1 < argc) {
            out_path = argv[++i];
        } else if (i > 0 && !strcmp(argv[i], "--max-runs") && i + 1 < argc) {
            if (sim_u64_parse(argv[++i], &max_runs) || max_runs == 0 || max_runs > 10000000) {
                fprintf(stderr, "ctxsim shrink: --max-runs expects 1..10000000, got '%s'\n",
                        argv[i]);
                free(args);
                return EXIT_USAGE;
            }
        } else {
            args[nargs++] = argv[i];
        }
    }
    run_args ra;
    char **files;
    int nfiles;
    int prc = parse_run_opts(nargs, args, &ra, &files, &nfiles, shrink_usage, 1);
    free(args);
    if (prc != 0)
        return EXIT_USAGE;
    if (nfiles != 1 || !ra.base.only_seed) {
        fprintf(stderr, "ctxsim shrink: needs exactly one SCENARIO and --seed S\n%s", shrink_usage);
        free(files);
        return EXIT_USAGE;
    }
    const char *path = files[0];
    free(files);
    if (printable_name(path) != 0 || (out_path && printable_name(out_path) != 0))
        return EXIT_USAGE;
    sim_scenario *sc = NULL;
    sim_scenario_error err;
    if (sim_scenario_load(path, &sc, &err) != 0) {
        char buf[800];
        sim_scenario_error_format(&err, buf, sizeof(buf));
        fprintf(stderr, "%s\n", buf);
        return EXIT_USAGE;
    }
    cost_opts co = {1, ra.allow_large};
    if (cost_ok(sc, &co, 0) != 0) {
        sim_scenario_free(sc);
        return EXIT_USAGE;
    }
    sim_sweep_opts o = ra.base;
    o.allow_large = ra.allow_large && seed_is_large(sc);
    o.profile = ra.profiles[0];
    cr_policy pol;
    if (sim_sweep_policy(sc, &o, &pol, NULL, 0) != 0) {
        fprintf(stderr, "ctxsim shrink: the core refuses the policy\n");
        sim_scenario_free(sc);
        return EXIT_USAGE;
    }
    /* One copy of the world options: whatever replay would use. */
    sim_shrink_opts so = {.sweep = &o, .with_rate = 1, .max_runs = (uint32_t)max_runs};
    so.world.seed = o.only_seed;
    so.world.explore = o.explore;
    so.world.max_steps = o.max_steps;
    so.world.pct_depth = o.pct_depth;
    so.world.pct_window = o.pct_window;
    sim_shrink_result r;
    int rc = sim_shrink(sc, &so, &r);
    char name[SIM_NAME_MAX];
    snprintf(name, sizeof name, "%s", sc->name);
    int profile = o.profile >= 0 ? o.profile : (int)sc->profile;
    sim_scenario_free(sc);
    if (rc < 0) {
        fprintf(stderr, "ctxsim shrink: %s: cannot shrink (policy refused or out of memory)\n",
                path);
        return EXIT_USAGE;
    }
    if (rc == 1) {
        printf("%s seed %" PRIu64 " passes: nothing to shrink\n", name, o.only_seed);
        return EXIT_FAIL;
    }
    char before[400], after[400], def[600], line[1600], diff[256] = "";
    sim_scenario_size_format(&r.before, before, sizeof before);
    sim_scenario_size_format(&r.after, after, sizeof after);
    printf("%s seed %" PRIu64 ": %s: %s\n", name, o.only_seed, r.failure.kind, r.failure.reason);
    if (!out_path) {
        int mk = rep_mkdir_p("out");
        if (mk != 0) {
            fprintf(stderr, "ctxsim shrink: cannot create out/: %s\n", strerror(-mk));
            sim_shrink_result_free(&r);
            return EXIT_USAGE;
        }
        snprintf(def, sizeof def, "out/shrunk-%s-seed%" PRIu64 ".yaml", name, o.only_seed);
        out_path = def;
    }
    sim_scenario *shr = NULL;
    if (sim_scenario_load_string(out_path, r.yaml, strlen(r.yaml), &shr, NULL) == 0) {
        sim_sweep_policy(shr, &o, &pol, diff, sizeof diff);
        sim_scenario_free(shr);
    }
    replay_line(out_path, o.only_seed, &o, profile, diff, &so.world, "replay", line, sizeof line);
    FILE *w = fopen(out_path, "w");
    if (!w ||
        fprintf(w,
                "# shrunk by ctxsim shrink from %s, seed %" PRIu64 " (%" PRIu32 " runs, %" PRIu32
                " kept, %d rounds%s)\n# failure: %s: %s\n# shrunk:  %s: %s\n# before: %s\n"
                "# after:  %s\n# replay: %s\n%s",
                path, o.only_seed, r.runs, r.accepted, r.rounds,
                r.budget_hit ? ", stopped by --max-runs" : "", r.failure.kind, r.failure.reason,
                r.shrunk.kind, r.shrunk.reason, before, after, line, r.yaml) < 0 ||
        fclose(w) != 0) {
        fprintf(stderr, "ctxsim shrink: cannot write %s\n", out_path);
        sim_shrink_result_free(&r);
        return EXIT_USAGE;
    }
    printf("  before: %s\n  after:  %s\n  (%" PRIu32 " runs, %" PRIu32 " kept, %d rounds%s)\n",
           before, after, r.runs, r.accepted, r.rounds,
           r.budget_hit ? ", stopped by --max-runs" : "");
    printf("  shrunk: %s: %s\nsmallest failing: users %" PRIu32 " (was %" PRIu32
           "), steps %zu (was "
           "%zu), written to %s\n  replay: %s\n",
           r.shrunk.kind, r.shrunk.reason, r.after.users, r.before.users, r.after.steps,
           r.before.steps, out_path, line);
    sim_shrink_result_free(&r);
    return 0;
}

/* ---- diff --------------------------------------------------------------------- */

static const char diff_usage[] =
    "usage: ctxsim diff A.trace B.trace [--context N] [--max-events N]\n"
    "       ctxsim diff SCENARIO --seed S [--seed S2] [--profile P [--profile P2]]\n"
    "                   [--ablate N [--ablate N2]] [--pct D:W|off [--pct D:W|off]] [--explore]\n"
    "                   [--policy k=v]... [--policy-a k=v]... [--policy-b k=v]...\n"
    "                   [--context N] [--max-events N]\n"
    "Compare two runs step by step: the first divergence with N records of context on\n"
    "both sides (default 3), where the runs get back in step, then per (message, event,\n"
    "tab) how the outcomes differ (received, duplicated, late, lost with its cause).\n"
    "Two trace files: as written by `ctxsim replay ... --trace-text FILE` (e.g. one seed\n"
    "under two builds).  A scenario: an option given twice sets run A then run B, given\n"
    "once both (--seed 1 --seed 2: two seeds; --profile fixed --profile legacy: two\n"
    "profiles; --ablate 0 --ablate 3: fixed against fix 3 off); --policy applies to both,\n"
    "--policy-a / --policy-b to one side.\n"
    "Exit 0 identical, 1 they differ, 2 bad usage or input.\n";

/* diff_side is one run of `ctxsim diff SCENARIO`. */
typedef struct diff_side {
    sim_sweep_opts o;
    int nseed, nprof, nabl, npct;
} diff_side;

static int slurp_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "ctxsim diff: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 > cap) {
            char *q = realloc(buf, cap = cap ? cap * 2 : 1 << 20);
            if (!q) {
                free(buf);
                fclose(f);
                fprintf(stderr, "ctxsim diff: %s: out of memory\n", path);
                return -1;
            }
            buf = q;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "ctxsim diff: %s: read error\n", path);
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* diff_run runs one side with its trace kept and reads it into *out. */
static int diff_run(const sim_scenario *sc, const diff_side *d, sim_tdiff_run **out)
{
    cr_policy pol;
    char pdiff[256], label[600], err[512];
    if (sim_sweep_policy(sc, &d->o, &pol, pdiff, sizeof pdiff) != 0) {
        fprintf(stderr, "ctxsim diff: %s: bad policy\n", sc->name);
        return -1;
    }
    int n =
        snprintf(label, sizeof label, "%s seed %" PRIu64 " profile %s", sc->name, d->o.only_seed,
                 sim_profile_name(d->o.profile >= 0 ? d->o.profile : (int)sc->profile));
    if (d->o.ablate_fix)
        n += snprintf(label + n, sizeof label - (size_t)n, " fix F%d off", d->o.ablate_fix);
    if (pdiff[0])
        n += snprintf(label + n, sizeof label - (size_t)n, " policy %s", pdiff);
    if (d->o.pct_depth)
        n += snprintf(label + n, sizeof label - (size_t)n, " pct %" PRIu32 ":%" PRIu64 "ns",
                      d->o.pct_depth, d->o.pct_window);
    else if (d->o.explore)
        snprintf(label + n, sizeof label - (size_t)n, " explore");
    sim_world_opts wo = {.seed = d->o.only_seed,
                         .explore = d->o.explore,
                         .keep_trace = 1,
                         .max_steps = d->o.max_steps,
                         .pct_depth = d->o.pct_depth,
                         .pct_window = d->o.pct_window};
    sim_seed_result *res = calloc(1, sizeof *res);
    sim_trace *tr = NULL;
    if (!res)
        return -1;
    sim_world_run(sc, &pol, &wo, res, &tr);
    free(res);
    int rc = tr ? sim_tdiff_from_trace(label, tr, out, err, sizeof err) : -1;
    sim_trace_free(tr);
    if (rc != 0)
        fprintf(stderr, "ctxsim diff: %s\n", tr ? err : "the run kept no trace");
    return rc ? -1 : 0;
}

static int cmd_diff(int argc, char **argv)
{
    diff_side side[2];
    memset(side, 0, sizeof side);
    side[0].o.profile = side[1].o.profile = -1;
    sim_tdiff_opts to = {3, 20, 0};
    const char *pos[3];
    int npos = 0, run_opts = 0, allow_large = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t x;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(diff_usage, stdout);
            return 0;
        }
        if (a[0] != '-' || !a[1]) {
            if (npos == 3) {
                fprintf(stderr, "ctxsim diff: too many arguments\n%s", diff_usage);
                return EXIT_USAGE;
            }
            pos[npos++] = a;
            continue;
        }
        if (!strcmp(a, "--explore")) {
            side[0].o.explore = side[1].o.explore = 1;
            run_opts = 1;
            continue;
        }
        if (!strcmp(a, "--allow-large")) {
            allow_large = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "ctxsim diff: %s needs a value (see ctxsim diff --help)\n", a);
            return EXIT_USAGE;
        }
        i++;
        if (!strcmp(a, "--context") || !strcmp(a, "--max-events")) {
            if (sim_u64_parse(v, &x) || x > 100000) {
                fprintf(stderr, "ctxsim diff: %s expects 0..100000, got '%s'\n", a, v);
                return EXIT_USAGE;
            }
            if (a[2] == 'c')
                to.context = (unsigned)x;
            else
                to.max_events = x ? (unsigned)x : 100000;
            continue;
        }
        run_opts = 1;
        int *cnt = !strcmp(a, "--seed")      ? &side[0].nseed
                   : !strcmp(a, "--profile") ? &side[0].nprof
                   : !strcmp(a, "--ablate")  ? &side[0].nabl
                   : !strcmp(a, "--pct")     ? &side[0].npct
                                             : NULL;
        if (cnt) {
            if (*cnt == 2) {
                fprintf(
                    stderr,
                    "ctxsim diff: %s given more than twice (once: both runs; twice: A then B)\n",
                    a);
                return EXIT_USAGE;
            }
            sim_sweep_opts *o = &side[(*cnt)++].o;
            if (!strcmp(a, "--seed")) {
                if (sim_u64_parse(v, &o->only_seed) || o->only_seed == 0) {
                    fprintf(stderr, "ctxsim diff: --seed expects a positive integer, got '%s'\n",
                            v);
                    return EXIT_USAGE;
                }
            } else if (!strcmp(a, "--profile")) {
                if (parse_profile(v, &o->profile))
                    return EXIT_USAGE;
            } else if (!strcmp(a, "--ablate")) {
                if (sim_u64_parse(v, &x) || x > 9) {
                    fprintf(stderr,
                            "ctxsim diff: --ablate expects 0 (none) or a fix 1..9, got '%s'\n", v);
                    return EXIT_USAGE;
                }
                o->ablate_fix = (int)x;
            } else if (strcmp(v, "off") && parse_pct(v, &o->pct_depth, &o->pct_window)) {
                return EXIT_USAGE;
            }
            continue;
        }
        int who = !strcmp(a, "--policy")     ? 2
                  : !strcmp(a, "--policy-a") ? 0
                  : !strcmp(a, "--policy-b") ? 1
                                             : -1;
        if (who < 0) {
            fprintf(stderr, "ctxsim diff: unknown option '%s' (see ctxsim diff --help)\n", a);
            return EXIT_USAGE;
        }
        for (int k = 0; k < 2; k++) {
            if (who != 2 && who != k)
                continue;
            sim_sweep_opts *o = &side[k].o;
            if (o->noverrides == SIM_MAX_OVERRIDES) {
                fprintf(stderr, "ctxsim diff: too many --policy overrides\n");
                return EXIT_USAGE;
            }
            if (parse_knob(v, o->overrides[o->noverrides].name, sizeof(o->overrides[0].name),
                           &o->overrides[o->noverrides].value))
                return EXIT_USAGE;
            o->noverrides++;
        }
    }
    /* Given once: the same for B. */
    if (side[0].nseed == 1)
        side[1].o.only_seed = side[0].o.only_seed;
    if (side[0].nprof == 1)
        side[1].o.profile = side[0].o.profile;
    if (side[0].nabl == 1)
        side[1].o.ablate_fix = side[0].o.ablate_fix;
    if (side[0].npct == 1) {
        side[1].o.pct_depth = side[0].o.pct_depth;
        side[1].o.pct_window = side[0].o.pct_window;
    }
    sim_tdiff_run *run[2] = {NULL, NULL};
    int rc = EXIT_USAGE;
    if (npos == 2) {
        if (run_opts) {
            fprintf(stderr,
                    "ctxsim diff: two trace files take only --context and --max-events (run "
                    "options need a SCENARIO)\n");
            return EXIT_USAGE;
        }
        for (int k = 0; k < 2; k++) {
            char *text, err[600];
            size_t len;
            if (slurp_file(pos[k], &text, &len) != 0)
                goto out;
            int prc = sim_tdiff_parse(pos[k], text, len, &run[k], err, sizeof err);
            free(text);
            if (prc != 0) {
                fprintf(stderr, "ctxsim diff: %s\n", err);
                goto out;
            }
        }
    } else if (npos == 1) {
        if (!side[0].nseed) {
            fprintf(stderr, "ctxsim diff: a SCENARIO needs --seed S (twice for two seeds)\n%s",
                    diff_usage);
            return EXIT_USAGE;
        }
        sim_scenario *sc = NULL;
        sim_scenario_error serr;
        if (sim_scenario_load(pos[0], &sc, &serr) != 0) {
            char buf[800];
            sim_scenario_error_format(&serr, buf, sizeof(buf));
            fprintf(stderr, "%s\n", buf);
            return EXIT_USAGE;
        }
        cost_opts co = {1, allow_large};
        if (cost_ok(sc, &co, 0) != 0) {
            sim_scenario_free(sc);
            return EXIT_USAGE;
        }
        for (int k = 0; k < 2 && rc == EXIT_USAGE; k++)
            if (diff_run(sc, &side[k], &run[k]) != 0)
                rc = -1;
        sim_scenario_free(sc);
        if (rc == -1) {
            rc = EXIT_USAGE;
            goto out;
        }
    } else {
        fprintf(stderr, "ctxsim diff: needs two trace files or one SCENARIO\n%s", diff_usage);
        return EXIT_USAGE;
    }
    sim_tdiff_result res;
    int crc = sim_tdiff_compare(run[0], run[1], &to, stdout, &res);
    rc = crc < 0 ? EXIT_USAGE : crc ? EXIT_FAIL : 0;
out:
    sim_tdiff_free(run[0]);
    sim_tdiff_free(run[1]);
    return rc;
}

/* ---- check: small-scope exhaustive checking (docs/check.md) --------------------- */

static const char check_usage[] =
    "usage: ctxsim check [--users N] [--conns N] [--threads N] [--depth K] [--profile P]\n"
    "                    [--policy k=v]... [--ablate N] [--max-states N] [--out FILE] [--quiet]\n"
    "       ctxsim check --replay FILE\n"
    "Drives the real core through its API with every interleaving of a bounded alphabet of\n"
    "inputs (open, auth, msg, switch, ok, fail, start, post, emit, end, close, wait) up to\n"
    "depth K, breadth first, each state (fingerprint) expanded once, and checks the oracle of\n"
    "docs/check.md after every step.  Prints states, transitions, depth and time; on a\n"
    "violation its kind, reason and the shortest input sequence found (written to FILE with\n"
    "--out, in the format --replay reads).\n"
    "  --users N (2) --conns N (3) --threads N (2) --depth K (7)   the bounds\n"
    "  --profile P           fixed (default) or legacy\n"
    "  --policy k=v          override a knob (repeatable)\n"
    "  --ablate N            switch fix N (1-9) off on top of the profile\n"
    "  --max-states N        stop after N distinct states (default 2000000)\n"
    "  --out FILE            write the counterexample to FILE\n"
    "  --replay FILE         replay a counterexample step by step\n"
    "  --quiet               no per-depth progress, no counterexample listing\n"
    "Exit: 0 no violation, 1 a violation (found, or reproduced by --replay), 2 bad usage or\n"
    "bad replay file.\n";

static void check_describe(const sim_check_opts *o)
{
    printf("check: profile %s", sim_profile_name(o->profile));
    if (o->ablate)
        printf(" with fix F%d off", o->ablate);
    for (size_t i = 0; i < o->noverrides; i++)
        printf(" %s=%" PRIu64, o->overrides[i].name, o->overrides[i].value);
    printf(", %d user%s, %d connection%s, %d thread%s per user\n", o->users,
           o->users == 1 ? "" : "s", o->conns, o->conns == 1 ? "" : "s", o->threads,
           o->threads == 1 ? "" : "s");
}

static int check_replay(const char *path)
{
    sim_check_opts o;
    sim_check_input in[SIM_CHECK_MAX_DEPTH];
    size_t n;
    int expect;
    char err[512];
    if (sim_check_parse(path, &o, in, &n, &expect, err, sizeof err) != 0) {
        fprintf(stderr, "ctxsim check: %s\n", err);
        return EXIT_USAGE;
    }
    check_describe(&o);
    printf("replaying %s: %zu steps%s%s\n", path, n, expect ? ", expected violation " : "",
           expect ? sim_check_violation_name(expect) : "");
    sim_check_result r;
    int rc = sim_check_execute(&o, in, n, &r, stdout);
    if (rc == -2) {
        /* the step line of the file that could not be applied */
        fprintf(stderr, "ctxsim check: %s: %s\n", path, r.reason);
        return EXIT_USAGE;
    }
    if (rc != 0) {
        fprintf(stderr, "ctxsim check: %s\n", r.reason);
        return EXIT_USAGE;
    }
    if (!r.violation) {
        printf("no violation: the sequence does not reproduce%s%s\n", expect ? " " : "",
               expect ? sim_check_violation_name(expect) : "");
        return 0;
    }
    if (expect && (int)r.violation != expect)
        printf("reproduced a different violation: %s (the file expects %s)\n",
               sim_check_violation_name(r.violation), sim_check_violation_name(expect));
    else
        printf("reproduced: %s at step %zu\n", sim_check_violation_name(r.violation), r.nsteps);
    return EXIT_FAIL;
}

static int check_int_opt(const char *opt, const char *v, long lo, long hi, long *out)
{
    uint64_t x;
    if (!v || sim_u64_parse(v, &x) != 0 || x < (uint64_t)lo || x > (uint64_t)hi) {
        fprintf(stderr, "ctxsim check: %s expects a number %ld..%ld, got '%s'\n", opt, lo, hi,
                v ? v : "");
        return -1;
    }
    *out = (long)x;
    return 0;
}

static int cmd_check(int argc, char **argv)
{
    sim_check_opts o;
    sim_check_opts_init(&o);
    const char *replay = NULL, *out_path = NULL;
    int quiet = opt_quiet;              /* -q/--quiet is global (main) */
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(check_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--users")) {
            if (check_int_opt(a, v, 1, SIM_CHECK_MAX_USERS, &x))
                return EXIT_USAGE;
            o.users = (int)x;
        } else if (!strcmp(a, "--conns")) {
            if (check_int_opt(a, v, 1, SIM_CHECK_MAX_CONNS, &x))
                return EXIT_USAGE;
            o.conns = (int)x;
        } else if (!strcmp(a, "--threads")) {
            if (check_int_opt(a, v, 1, SIM_CHECK_MAX_THREADS, &x))
                return EXIT_USAGE;
            o.threads = (int)x;
        } else if (!strcmp(a, "--depth")) {
            if (check_int_opt(a, v, 1, SIM_CHECK_MAX_DEPTH, &x))
                return EXIT_USAGE;
            o.depth = (int)x;
        } else if (!strcmp(a, "--ablate")) {
            if (check_int_opt(a, v, 1, 9, &x))
                return EXIT_USAGE;
            o.ablate = (int)x;
        } else if (!strcmp(a, "--max-states")) {
            if (check_int_opt(a, v, 1, 2000000000L, &x))
                return EXIT_USAGE;
            o.max_states = (uint64_t)x;
        } else if (!strcmp(a, "--profile")) {
            if (!v || parse_profile(v, &o.profile) != 0)
                return EXIT_USAGE;
        } else if (!strcmp(a, "--policy")) {
            size_t k = o.noverrides;
            if (!v || k == sizeof o.overrides / sizeof o.overrides[0] ||
                parse_knob(v, o.overrides[k].name, sizeof o.overrides[k].name,
                           &o.overrides[k].value) != 0) {
                if (!v)
                    fprintf(stderr, "ctxsim check: --policy expects knob=value\n");
                return EXIT_USAGE;
            }
            o.noverrides++;
        } else if (!strcmp(a, "--replay")) {
            if (!v) {
                fprintf(stderr, "ctxsim check: --replay expects a FILE\n");
                return EXIT_USAGE;
            }
            replay = v;
        } else if (!strcmp(a, "--out")) {
            if (!v) {
                fprintf(stderr, "ctxsim check: --out expects a FILE\n");
                return EXIT_USAGE;
            }
            out_path = v;
            if (printable_name(out_path) != 0)
                return EXIT_USAGE;
        } else {
            fprintf(stderr, "ctxsim check: unknown option '%s'\n%s", a, check_usage);
            return EXIT_USAGE;
        }
    }
    if (replay)
        return check_replay(replay);
    char err[512];
    if (sim_check_opts_policy(&o, err, sizeof err) != 0) {
        fprintf(stderr, "ctxsim check: %s\n", err);
        return EXIT_USAGE;
    }
    check_describe(&o);
    double t0 = mono_seconds();
    sim_check_result r;
    if (sim_check_run(&o, &r, quiet ? NULL : stdout) != 0) {
        fprintf(stderr, "ctxsim check: %s\n", r.reason);
        return EXIT_USAGE;
    }
    double dt = mono_seconds() - t0;
    printf("explored %" PRIu64 " states, %" PRIu64 " transitions, depth %d of %d (%s)\n", r.states,
           r.transitions, r.depth_reached, o.depth,
           r.violation  ? "stopped at the first violation"
           : r.complete ? "complete"
                        : "stopped at --max-states");
    int rc = 0;
    if (r.violation) {
        printf("violation: %s: %s\n", sim_check_violation_name(r.violation), r.reason);
        if (!quiet) {
            printf("shortest input sequence (%zu steps):\n", r.nsteps);
            for (size_t i = 0; i < r.nsteps; i++) {
                char buf[64];
                printf("  %2zu  %s\n", i + 1, sim_check_format_input(&r.steps[i], buf, sizeof buf));
            }
        } else {
            printf("counterexample: %zu steps\n", r.nsteps);
        }
        if (out_path) {
            FILE *f = fopen(out_path, "w");
            if (!f || sim_check_write(f, &o, &r) != 0 || fclose(f) != 0) {
                fprintf(stderr, "ctxsim check: %s: %s\n", out_path, strerror(errno));
                return EXIT_USAGE;
            }
            char q[4200];
            const char *words[] = {"check", "--replay", out_path};
            if (rep_shell_join(words, 3, q, sizeof q) != 0)
                snprintf(q, sizeof q, "(the file name is too long to print)");
            printf("written to %s (replay: %s %s)\n", out_path, rep_replay_program(), q);
        }
        rc = EXIT_FAIL;
    } else {
        printf("no violation\n");
    }
    printf("time: %.2f s\n", dt);
    return rc;
}

/* ---- main ---------------------------------------------------------------------- */

/* ---- drive and agree (real hosts) -------------------------------------------------- */

static const char drive_usage[] =
    "usage: ctxsim drive SCENARIO --url ws://HOST:PORT [--seeds N] [--seed S] [--profile P]\n"
    "                    [--time-scale X] [--parallel N] [--token T] [--timeout SECONDS]\n"
    "                    [--db PATH | --no-db] [--label TEXT] [--format text|json]\n"
    "Run the scenario's tabs as real WebSocket clients against a server that speaks\n"
    "docs/protocol.md (ctxready-server, or your own): each tab follows its script in\n"
    "real time (scaled), with the scenario's uplink and downlink delays injected at the\n"
    "client, and the server's control side tells the oracle what its agents emitted and\n"
    "what its core accepted, refused, sent and reported.  Judged by the oracle and\n"
    "verdict of `ctxsim run` (same counts, same table and JSON); recorded with mode=real.\n"
    "  --url ws://HOST:PORT  the server (tabs on /ws, the control side on /control)\n"
    "  --seeds N             seeds (default: the scenario's `seeds`); seed S runs the tabs of\n"
    "                        the simulated seed S (same scripts, waits, network draws)\n"
    "  --seed S              run only seed S\n"
    "  --profile P           the profile the server must run (fixed | legacy): checked\n"
    "                        against the server's control hello (default: whatever it runs)\n"
    "  --time-scale X        real seconds per scenario second (0.1: ten times faster);\n"
    "                        must match the server's (default: the server's)\n"
    "  --parallel N          seeds at once, each with its own users (default 4)\n"
    "  --token T             the auth token (default ctxsim)\n"
    "  --timeout SECONDS     how long to wait for the server's control side (default 5)\n"
    "  --db PATH             results database (default out/results.db); --no-db: none\n"
    "  --label TEXT          label of the recorded run\n"
    "  --format text|json    json: the sweep as `ctxsim run --format json` prints it\n"
    "Users are <run>s<S>u<N> (a prefix per invocation), threads <user>/t<K>, so seeds and\n"
    "runs never share a user on one server.  Every wait is bounded: a seed ends when it\n"
    "is quiet or at its drain bound (horizon + drain, scaled).\n"
    "Exit status: 0 the sweep passed, 1 it failed or was inconclusive, 2 bad usage or\n"
    "input (a bad URL, a profile or time scale the server does not run), 3 the server\n"
    "did not answer, went away, or the database failed; 128 + N on signal N.\n";

typedef struct drive_args {
    sim_drive_opts d;
    const char *db;
    int no_db;
    const char *label;
    int json;
    char *file;
} drive_args;

/* parse_double parses a number in [lo, hi] for option opt.  0 or -1
 * (message printed). */
static int parse_double(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double x = v ? strtod(v, &end) : 0;
    if (!v || errno || *end || !(x >= lo && x <= hi)) {
        fprintf(stderr, "ctxsim: %s expects a number in [%g, %g], got '%s'\n", opt, lo, hi,
                v ? v : "");
        return -1;
    }
    *out = x;
    return 0;
}

static int cmd_drive(int argc, char **argv)
{
    drive_args da;
    memset(&da, 0, sizeof da);
    da.d.profile = -1;
    da.d.parallel = 4;
    da.db = "out/results.db";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t x;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(drive_usage, stdout);
            return 0;
        } else if (a[0] == '-' && a[1] == '-' && strcmp(a, "--no-db") != 0 && !v) {
            fprintf(stderr, "ctxsim drive: %s needs a value\n%s", a, drive_usage);
            return EXIT_USAGE;
        } else if (!strcmp(a, "--url")) {
            da.d.url = v, i++;
        } else if (!strcmp(a, "--seeds") || !strcmp(a, "--seed")) {
            if (sim_u64_parse(v, &x) || x < 1 || x > 1000000) {
                fprintf(stderr, "ctxsim drive: %s expects 1..1000000, got '%s'\n", a, v);
                return EXIT_USAGE;
            }
            if (a[6] == 's')
                da.d.seeds = (uint32_t)x;
            else
                da.d.only_seed = x;
            i++;
        } else if (!strcmp(a, "--profile")) {
            if (parse_profile(v, &da.d.profile) != 0)
                return EXIT_USAGE;
            i++;
        } else if (!strcmp(a, "--time-scale")) {
            if (parse_double(a, v, 0.001, 1000, &da.d.time_scale) != 0)
                return EXIT_USAGE;
            i++;
        } else if (!strcmp(a, "--timeout")) {
            if (parse_double(a, v, 0.01, 3600, &da.d.connect_timeout) != 0)
                return EXIT_USAGE;
            i++;
        } else if (!strcmp(a, "--parallel")) {
            if (sim_u64_parse(v, &x) || x < 1 || x > 64) {
                fprintf(stderr, "ctxsim drive: --parallel expects 1..64, got '%s'\n", v);
                return EXIT_USAGE;
            }
            da.d.parallel = (uint32_t)x;
            i++;
        } else if (!strcmp(a, "--token")) {
            da.d.token = v, i++;
        } else if (!strcmp(a, "--db")) {
            da.db = v, i++;
        } else if (!strcmp(a, "--no-db")) {
            da.no_db = 1;
        } else if (!strcmp(a, "--label")) {
            da.label = v, i++;
        } else if (!strcmp(a, "--format")) {
            if (strcmp(v, "json") && strcmp(v, "text")) {
                fprintf(stderr, "ctxsim drive: --format expects text or json, got '%s'\n", v);
                return EXIT_USAGE;
            }
            da.json = !strcmp(v, "json");
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "ctxsim drive: unknown option '%s'\n%s", a, drive_usage);
            return EXIT_USAGE;
        } else if (da.file) {
            fprintf(stderr, "ctxsim drive: one scenario at a time ('%s', '%s')\n", da.file, a);
            return EXIT_USAGE;
        } else {
            da.file = argv[i];
        }
    }
    if (!da.file || !da.d.url) {
        fprintf(stderr, "ctxsim drive: %s\n%s", !da.file ? "no scenario" : "no --url", drive_usage);
        return EXIT_USAGE;
    }
    sim_ws_url url;
    char err[1024];
    if (sim_ws_parse_url(da.d.url, &url, err, sizeof err) != 0) {
        fprintf(stderr, "ctxsim drive: --url %s\n", err);
        return EXIT_USAGE;
    }
    scen_list sl = {0};
    cost_opts co = {da.d.only_seed ? 1 : da.d.seeds, 0};
    if (load_all(&da.file, 1, &sl, 1, &co) != 0 || sl.n != 1) {
        free_all(&sl);
        fprintf(stderr, "ctxsim drive: bad input: nothing was run or recorded\n");
        return EXIT_USAGE;
    }
    da.d.progress = isatty(2) && !da.json;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    sim_sweep_result r;
    int rc = sim_drive_sweep(sl.v[0], &da.d, &r, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "ctxsim drive: %s: %s%s\n", sl.v[0]->name, err,
                rc == SIM_DRIVE_EINTR ? "" : "; nothing was recorded");
        free_all(&sl);
        return rc == SIM_DRIVE_EUSAGE  ? EXIT_USAGE
               : rc == SIM_DRIVE_EINTR ? 128 + (interrupted ? interrupted : SIGINT)
                                       : REP_EXIT_ENV;
    }
    int status = r.fails_ci ? EXIT_FAIL : 0, store_rc = 0;
    int64_t run_id = 0;
    if (!da.no_db) {
        rep_store *db = NULL;
        char *args = join_args(argc, argv);
        rep_run_meta meta = {
            .label = da.label,
            .git_rev = git_rev(),
            .tool_version = CR_VERSION_STRING,
            .args = args,
            .started_at = (int64_t)time(NULL),
            .mode = "real",
        };
        store_rc = rep_store_open(da.db, &db, err, sizeof err);
        if (store_rc == 0 && (store_rc = rep_run_begin(db, &meta, &run_id)) == 0 &&
            (store_rc = rep_run_add_sweep(db, run_id, &r)) == 0)
            store_rc = rep_run_finish(db, run_id, "complete");
        if (store_rc != 0)
            fprintf(stderr, "ctxsim drive: NOT RECORDED in %s: %s\n", da.db,
                    db ? rep_store_errmsg(db) : err);
        rep_store_close(db);
        free(args);
    }
    if (da.json) {
        json_t *jo = sweep_json(&r);
        json_object_set_new(jo, "mode", json_string("real"));
        json_object_set_new(jo, "url", json_string(da.d.url));
        if (!da.no_db)
            json_object_set_new(jo, "recorded", json_boolean(store_rc == 0));
        json_t *arr = json_array();
        json_array_append_new(arr, jo);
        char *txt = json_dumps(arr, JSON_INDENT(2));
        if (txt)
            puts(txt);
        free(txt);
        json_decref(arr);
    } else {
        if (!opt_quiet)
            print_header();
        print_sweep(&r, 0); /* a real seed is not replayable */
        if (!opt_quiet && (r.failed_seeds || r.worst_seeds))
            printf("    (real seeds: `ctxsim replay %s --seed S` replays the simulated seed S)\n",
                   sl.v[0]->path);
        if (!da.no_db && store_rc == 0 && !opt_quiet)
            printf("recorded as run %" PRId64 " (mode real) in %s\n", run_id, da.db);
    }
    sim_sweep_result_free(&r);
    free_all(&sl);
    return store_rc ? rep_store_exit_code(store_rc) : status;
}

static const char agree_usage[] =
    "usage: ctxsim agree SCENARIO... [--seeds N] [--time-scale X] [--server PATH]\n"
    "                    [--profiles P[,P]] [--parallel N] [--logs DIR]\n"
    "Check the simulator against a real host: per scenario and profile (fixed and\n"
    "legacy), start ctxready-server on a loopback ephemeral port, drive the scenario\n"
    "against it (ctxsim drive), run the simulator on the same scenario and seeds, and\n"
    "print the simulated delivery rate [95% Wilson interval] beside the real one, and\n"
    "agree when the intervals overlap, DISAGREE when they do not.  Nothing is recorded.\n"
    "  --seeds N          seeds per scenario and profile (default 16)\n"
    "  --time-scale X     real seconds per scenario second, server and driver (default 1:\n"
    "                     faster, the host's own unscaled costs distort the races)\n"
    "  --server PATH      the server (default: ctxready-server beside ctxsim, or in $PATH)\n"
    "  --profiles P[,P]   default fixed,legacy\n"
    "  --parallel N       seeds driven at once (default 8)\n"
    "  --logs DIR         the servers' logs (default out/agree)\n"
    "Every server it starts is stopped (also on an error or a signal).\n"
    "Exit status: 0 every pair agrees, 1 a pair disagrees, 2 bad usage or input, 3 a server\n"
    "could not be started or did not answer; 128 + N on signal N.\n";

/* agree_cell formats a rate and its interval ("n/a" with nothing expected). */
static void agree_cell(const sim_sweep_result *r, char *buf, size_t len)
{
    if (!r->c[SIM_COUNT_EXPECTED])
        snprintf(buf, len, "n/a (nothing expected)");
    else
        snprintf(buf, len, "%7.3f%% [%6.2f%%,%6.2f%%]", 100 * r->delivery_rate, 100 * r->rate_lo,
                 100 * r->rate_hi);
}

static int cmd_agree(int argc, char **argv)
{
    uint64_t seeds = 16, par = 8;
    double scale = 1; /* below 1 the unscaled costs of a real host distort the races (README) */
    const char *server = NULL, *logs = "out/agree";
    int profiles[2] = {CR_PROFILE_FIXED, CR_PROFILE_LEGACY}, nprof = 2;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    int nfiles = 0;
    if (!files)
        return REP_EXIT_ENV;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(agree_usage, stdout);
            free(files);
            return 0;
        } else if (a[0] == '-' && !v) {
            fprintf(stderr, "ctxsim agree: %s needs a value\n", a);
            bad = 1;
        } else if (!strcmp(a, "--seeds")) {
            bad = sim_u64_parse(v, &seeds) || seeds < 1 || seeds > 100000;
            if (bad)
                fprintf(stderr, "ctxsim agree: --seeds expects 1..100000, got '%s'\n", v);
            i++;
        } else if (!strcmp(a, "--parallel")) {
            bad = sim_u64_parse(v, &par) || par < 1 || par > 64;
            if (bad)
                fprintf(stderr, "ctxsim agree: --parallel expects 1..64, got '%s'\n", v);
            i++;
        } else if (!strcmp(a, "--time-scale")) {
            bad = parse_double(a, v, 0.001, 1000, &scale) != 0;
            i++;
        } else if (!strcmp(a, "--server")) {
            server = v, i++;
        } else if (!strcmp(a, "--logs")) {
            logs = v, i++;
        } else if (!strcmp(a, "--profiles")) {
            nprof = 0;
            char buf[64];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *sv = NULL, *t = strtok_r(buf, ",", &sv); t && !bad;
                 t = strtok_r(NULL, ",", &sv))
                bad = nprof == 2 || parse_profile(t, &profiles[nprof++]) != 0;
            bad = bad || nprof == 0;
            if (bad)
                fprintf(stderr, "ctxsim agree: --profiles expects fixed, legacy or both\n");
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "ctxsim agree: unknown option '%s'\n", a);
            bad = 1;
        } else {
            files[nfiles++] = argv[i];
        }
        if (bad) {
            fputs(agree_usage, stderr);
            free(files);
            return EXIT_USAGE;
        }
    }
    char err[1024];
    const char *srv_path = nfiles ? sim_srv_find(server, err, sizeof err) : NULL;
    if (!nfiles || !srv_path) {
        fprintf(stderr, "ctxsim agree: %s\n%s", nfiles ? err : "no scenario", agree_usage);
        free(files);
        return nfiles && !server ? REP_EXIT_ENV : EXIT_USAGE;
    }
    scen_list sl = {0};
    cost_opts co = {seeds, 0};
    int lrc = load_all(files, nfiles, &sl, 1, &co);
    free(files);
    if (lrc != 0) {
        free_all(&sl);
        fprintf(stderr, "ctxsim agree: bad input: nothing was run\n");
        return EXIT_USAGE;
    }
    int mrc = rep_mkdir_p(logs);
    if (mrc != 0) {
        fprintf(stderr, "ctxsim agree: --logs %s: %s\n", logs, strerror(-mrc));
        free_all(&sl);
        return REP_EXIT_ENV;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("%-26s %-7s %5s  %-29s %-29s %s\n", "scenario", "profile", "seeds",
           "simulated rate [95% interval]", "real rate [95% interval]", "agreement");
    fflush(stdout);
    int status = 0;
    size_t npairs = 0, nagree = 0;
    for (size_t i = 0; i < sl.n && !status && !interrupted; i++)
        for (int p = 0; p < nprof && !interrupted; p++) {
            const sim_scenario *sc = sl.v[i];
            const char *pn = sim_profile_name(profiles[p]);
            char log[768];
            snprintf(log, sizeof log, "%s/%s-%s.log", logs, sc->name, pn);
            sim_srv srv;
            if (sim_srv_start(&srv, srv_path, sc->path, pn, scale, NULL, log, 10, err,
                              sizeof err) != 0) {
                fprintf(stderr, "ctxsim agree: %s %s: %s\n", sc->name, pn, err);
                status = REP_EXIT_ENV;
                break;
            }
            sim_drive_opts o = {.url = srv.url,
                                .time_scale = scale,
                                .profile = profiles[p],
                                .seeds = (uint32_t)seeds,
                                .parallel = (uint32_t)par,
                                .progress = 0};
            sim_sweep_result real, sim;
            int rc = sim_drive_sweep(sc, &o, &real, err, sizeof err);
            int st = sim_srv_stop(&srv);
            if (rc != 0) {
                fprintf(stderr, "ctxsim agree: %s %s: %s (server log: %s)\n", sc->name, pn, err,
                        log);
                status = rc == SIM_DRIVE_EINTR    ? 128 + (interrupted ? interrupted : SIGINT)
                         : rc == SIM_DRIVE_EUSAGE ? EXIT_USAGE
                                                  : REP_EXIT_ENV;
                break;
            }
            if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0) && !WIFSIGNALED(st))
                fprintf(stderr, "ctxsim agree: note: the %s server exited with status %d\n", pn,
                        WIFEXITED(st) ? WEXITSTATUS(st) : -1);
            sim_sweep_opts so = {0};
            so.seeds = (uint32_t)seeds;
            so.profile = profiles[p];
            so.jobs = 1;
            if (sim_sweep_run(sc, &so, &sim, err, sizeof err) != 0) {
                fprintf(stderr, "ctxsim agree: %s %s: simulation: %s\n", sc->name, pn, err);
                sim_sweep_result_free(&real);
                status = interrupted ? 128 + interrupted : EXIT_USAGE;
                break;
            }
            char a[64], b[64];
            agree_cell(&sim, a, sizeof a);
            agree_cell(&real, b, sizeof b);
            int none = !sim.c[SIM_COUNT_EXPECTED] || !real.c[SIM_COUNT_EXPECTED];
            int overlap = sim.rate_lo <= real.rate_hi && real.rate_lo <= sim.rate_hi;
            npairs++;
            nagree += none || overlap;
            printf("%-26s %-7s %5" PRIu64 "  %-29s %-29s %s\n", sc->name, pn, seeds, a, b,
                   none      ? "n/a"
                   : overlap ? "agree"
                             : "DISAGREE");
            if (!none && !overlap) {
                /* The evidence: where the lost pairs went, on each side. */
                for (int side = 0; side < 2; side++) {
                    const sim_sweep_result *r = side ? &real : &sim;
                    printf("    %-9s expected %" PRIu64 " delivered %" PRIu64 " late %" PRIu64
                           " lost %" PRIu64 ":",
                           side ? "real" : "simulated", r->c[SIM_COUNT_EXPECTED],
                           r->c[SIM_COUNT_DELIVERED], r->c[SIM_COUNT_LATE], r->c[SIM_COUNT_LOST]);
                    for (int k = 0; k < SIM_CAUSE__N; k++)
                        if (r->c[sim_cause_count(k)])
                            printf(" %s %" PRIu64, sim_cause_name(k), r->c[sim_cause_count(k)]);
                    printf("\n");
                }
            }
            fflush(stdout);
            sim_sweep_result_free(&real);
            sim_sweep_result_free(&sim);
        }
    free_all(&sl);
    if (interrupted) {
        fprintf(stderr, "ctxsim agree: interrupted; every server it started is stopped\n");
        return 128 + interrupted;
    }
    if (status)
        return status;
    printf("agreement: %zu of %zu scenario/profile pairs agree (time scale %g, logs in %s)\n",
           nagree, npairs, scale, logs);
    return nagree == npairs ? 0 : EXIT_FAIL;
}

static const char main_usage[] =
    "usage: ctxsim COMMAND [ARGS]\n"
    "Deterministic simulator of the context-readiness races of a real-time chat backend,\n"
    "driving the real libctxready core " CR_VERSION_STRING ".\n\n"
    "commands:\n"
    "  run [SCENARIO|DIR]...   run the sweeps, check expectations, record (default ./scenarios)\n"
    "  replay SCENARIO --seed S  re-run one seed: timeline, counts, trace hash\n"
    "  validate SCENARIO...    check scenario files\n"
    "  list [DIR]              list scenarios (--knobs: the policy knobs)\n"
    "  explore SCENARIO...     search interleavings (random ties, or PCT: --strategy pct)\n"
    "  shrink SCENARIO --seed S  the smallest scenario on which a seed still fails\n"
    "  diff A B                two runs step by step: first divergence, outcome changes\n"
    "  check                   exhaustive small-scope check of the real core (docs/check.md)\n"
    "  sweep SCENARIO --vary PARAM=FROM..TO  delivery rate against a parameter: the knee\n"
    "  timing [PLAN]           run the committed requirement sweeps, write the document\n"
    "  drive SCENARIO --url ws://HOST:PORT  the tabs as real WebSocket clients against a\n"
    "                          server (docs/protocol.md), judged as `run` (mode real)\n"
    "  agree SCENARIO...       simulated vs real delivery rates (ctxready-server on loopback)\n"
    "  report                  charts, index.html and summary.md from the database\n"
    "  gate                    fail when a run misses expectations or regressed\n"
    "  merge OUT.db IN.db...   combine shard databases\n"
    "  db prune --keep N       delete every run but the N newest (db vacuum: reclaim space)\n"
    "  db upgrade|check PATH   migrate a results database in place, or check it\n"
    "  help [COMMAND]          this text, or a command's options\n"
    "\n"
    "global options (any command): -q/--quiet (run: only what did not pass, and the\n"
    "summary line), --color auto|always|never (verdict colours on a terminal; NO_COLOR\n"
    "set in the environment turns them off), --version.  Every option takes its value\n"
    "as `--opt value` or `--opt=value`.\n"
    "Run `ctxsim help COMMAND` or `ctxsim COMMAND --help` for the options of each.\n"
    "Exit status: 0 success, 1 a gate, expectation or check failed, 2 bad usage or input,\n"
    "3 the environment failed (a database could not be read or written; SQLite's reason\n"
    "is printed), 128 + N interrupted by signal N.\n";

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
} command;

static const command commands[] = {
    {"run", cmd_run},         {"replay", cmd_replay},     {"validate", cmd_validate},
    {"list", cmd_list},       {"shrink", cmd_shrink},     {"explore", cmd_explore},
    {"diff", cmd_diff},       {"check", cmd_check},       {"report", rep_cmd_report},
    {"gate", rep_cmd_gate},   {"merge", rep_cmd_merge},   {"db", rep_cmd_db},
    {"sweep", rep_cmd_sweep}, {"timing", rep_cmd_timing}, {"drive", cmd_drive},
    {"agree", cmd_agree},
};

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

/* normalize_args rewrites argv in place of the caller: every `--opt=value`
 * becomes `--opt` `value` (the first '=' splits; `--policy=k=v` is
 * `--policy` `k=v`), and the global display options are taken out:
 * -q/--quiet, --color WHEN (auto|always|never), --no-color.  Returns the new
 * argc, or -1 (message printed) on a bad --color or no memory; *out is
 * allocated (its strings point into argv or into the allocation). */
static int normalize_args(int argc, char **argv, char ***out)
{
    size_t len = 0;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 2;
    char **v = calloc((size_t)argc * 2 + 1, sizeof *v);
    char *buf = malloc(len + 1);
    if (!v || !buf) {
        free(v);
        free(buf);
        fprintf(stderr, "ctxsim: out of memory\n");
        return -1;
    }
    v[0] = (char *)buf; /* the split names: main() takes it back and frees it */
    int n = 1, color = -1;
    char *p = buf;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        const char *val = NULL;
        char *name = argv[i];
        if (a[0] == '-' && a[1] == '-' && a[2] && eq) {
            size_t k = (size_t)(eq - a);
            memcpy(p, a, k);
            p[k] = 0;
            name = p;
            p += k + 1;
            val = eq + 1;
        }
        if (!strcmp(name, "-q") || !strcmp(name, "--quiet")) {
            opt_quiet = 1;
            continue;
        }
        if (!strcmp(name, "--no-color")) {
            color = 0;
            continue;
        }
        if (!strcmp(name, "--color")) {
            const char *w = val ? val : i + 1 < argc ? argv[++i] : "";
            if (!strcmp(w, "always"))
                color = 1;
            else if (!strcmp(w, "never"))
                color = 0;
            else if (!strcmp(w, "auto"))
                color = -1;
            else {
                fprintf(stderr, "ctxsim: --color expects auto, always or never, got '%s'\n", w);
                free(buf);
                free(v);
                return -1;
            }
            continue;
        }
        v[n++] = name;
        if (val)
            v[n++] = (char *)val;
    }
    const char *nc = getenv("NO_COLOR"); /* https://no-color.org: set and not empty */
    opt_color = color >= 0 ? color : (isatty(1) && !(nc && nc[0]));
    v[n] = NULL;
    *out = v;
    return n;
}

int main(int argc, char **argv)
{
    rep_replay_set_program(argv[0]);
    sim_budget_set_memory(sim_budget_default_memory()); /* --max-memory replaces it */
    char **nv;
    int nargc = normalize_args(argc, argv, &nv);
    if (nargc < 0)
        return EXIT_USAGE;
    char *argbuf = nv[0];
    nv[0] = argv[0];
    int rc = EXIT_USAGE;
    const char *cmd = nargc > 1 ? nv[1] : NULL;
    const command *c = cmd ? find_command(cmd) : NULL;
    if (!cmd) {
        fputs(main_usage, stderr);
    } else if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") ||
               (!strcmp(cmd, "help") && nargc == 2)) {
        fputs(main_usage, stdout);
        rc = 0;
    } else if (!strcmp(cmd, "help")) {
        /* ctxsim help CMD: the command's own --help */
        const command *h = find_command(nv[2]);
        if (!h) {
            fprintf(stderr, "ctxsim help: unknown command '%s'\n\n%s", nv[2], main_usage);
        } else {
            char *hv[] = {(char *)h->name, "--help", NULL};
            rc = h->fn(2, hv);
        }
    } else if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        int num;
        const char *lib = cr_version(&num);
        printf("ctxsim %s (libctxready %s)\n", CR_VERSION_STRING, lib);
        rc = 0;
    } else if (c) {
        rc = c->fn(nargc - 1, nv + 1);
    } else {
        fprintf(stderr, "ctxsim: unknown command '%s'\n\n%s", cmd, main_usage);
    }
    free(argbuf);
    free(nv);
    return rc;
}
