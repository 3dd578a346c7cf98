/* timing.c - the timing-requirements document (timing.h). */
#include "reports/timing.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reports/chart.h"
#include "reports/cmdline.h"
#include "reports/fsutil.h"
#include "reports/sweepcmd.h"
#include "reports/text.h"

#define DEFAULT_PLAN   "scenarios/requirements/plan.txt"
#define DEFAULT_OUT    "docs/timing-requirements.md"
#define DEFAULT_CHARTS "timing"
#define MAX_ENTRIES    32
#define MAX_ARGS       48

/* One entry of the plan: [id], then key: value lines. */
typedef struct entry {
    char id[32];
    char title[160];
    char assumption[1024];
    char sweep[512];
    char signal[512];
    int line;
} entry;

static const char usage[] =
    "usage: ctxsim timing [PLAN] [--out FILE] [--charts DIR] [--jobs N]\n"
    "Run every sweep of the plan (default " DEFAULT_PLAN ") and write the timing-\n"
    "requirements document (default " DEFAULT_OUT "): per timing assumption the measured\n"
    "requirement (the knee), its curve, the scenario and command that reproduce it, the\n"
    "commit and date; then the monitoring thresholds derived from the same runs.\n"
    "  --charts DIR   the charts' directory, relative to FILE's (default " DEFAULT_CHARTS ")\n"
    "  --jobs N       worker processes per sweep (results identical to --jobs 1)\n"
    "Plan format (docs/sweep.md): blocks '[id]' with lines 'title:', 'assumption:', 'sweep:'\n"
    "(the arguments of ctxsim sweep) and 'signal:' (what to monitor); '#' comments.\n"
    "Exit: 0 written, 2 bad usage, a bad plan (file:line: message) or a failed sweep.\n";

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
    size_t k = 0;
    while (s[k] == ' ')
        k++;
    memmove(s, s + k, strlen(s + k) + 1);
}

static int load_plan(const char *path, entry *e, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "ctxsim timing: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[2048];
    int ln = 0;
    *n = 0;
    entry *cur = NULL;
    while (fgets(line, sizeof line, f)) {
        ln++;
        trim(line);
        if (!line[0] || line[0] == '#')
            continue;
        if (line[0] == '[') {
            char *end = strchr(line, ']');
            if (!end || end == line + 1 || *n == MAX_ENTRIES) {
                fprintf(stderr, "%s:%d: expected [id] (at most %d entries)\n", path, ln,
                        MAX_ENTRIES);
                fclose(f);
                return -1;
            }
            *end = '\0';
            cur = &e[(*n)++];
            memset(cur, 0, sizeof *cur);
            snprintf(cur->id, sizeof cur->id, "%.31s", line + 1);
            cur->line = ln;
            continue;
        }
        char *colon = strchr(line, ':');
        if (!cur || !colon) {
            fprintf(stderr, "%s:%d: expected '[id]' or 'key: value'\n", path, ln);
            fclose(f);
            return -1;
        }
        *colon = '\0';
        char *val = colon + 1;
        trim(val);
        char *dst = NULL;
        size_t cap = 0;
        if (!strcmp(line, "title"))
            dst = cur->title, cap = sizeof cur->title;
        else if (!strcmp(line, "assumption"))
            dst = cur->assumption, cap = sizeof cur->assumption;
        else if (!strcmp(line, "sweep"))
            dst = cur->sweep, cap = sizeof cur->sweep;
        else if (!strcmp(line, "signal"))
            dst = cur->signal, cap = sizeof cur->signal;
        if (!dst) {
            fprintf(stderr,
                    "%s:%d: unknown key '%s' (expected: title, assumption, sweep, signal)\n", path,
                    ln, line);
            fclose(f);
            return -1;
        }
        /* a repeated key continues the text */
        size_t used = strlen(dst);
        snprintf(dst + used, cap - used, "%s%s", used ? " " : "", val);
    }
    fclose(f);
    for (size_t i = 0; i < *n; i++)
        if (!e[i].title[0] || !e[i].sweep[0]) {
            fprintf(stderr, "%s:%d: [%s] needs title: and sweep:\n", path, e[i].line, e[i].id);
            return -1;
        }
    if (!*n) {
        fprintf(stderr, "%s: no entries\n", path);
        return -1;
    }
    return 0;
}

/* The point of r at value v of the knee's parameter (first profile). */
static const sim_psweep_point *point_at(const sim_psweep_result *r, double v)
{
    for (size_t i = 0; i < r->npts; i++)
        if (r->pts[i].profile == r->profiles[0] && r->pts[i].v[r->nvary - 1] == v)
            return &r->pts[i];
    return NULL;
}

/* latency_text writes a latency in ms ("-" when nothing was delivered). */
static void latency_text(uint64_t ns, char *buf, size_t len)
{
    if (ns)
        snprintf(buf, len, "%.4g ms", (double)ns / 1e6);
    else
        snprintf(buf, len, "-");
}

static void md_points(FILE *f, const sim_psweep_result *r)
{
    int two = r->nvary == 2;
    fprintf(f,
            "\n| %s |%s%s%s profile | expected | delivered | rate | 95%% interval | latency p99 | "
            "dominant loss |\n|---:|%s:---|---:|---:|---:|:---|---:|:---|\n",
            r->vary[0].p.path, two ? " " : "", two ? r->vary[1].p.path : "", two ? " |" : "",
            two ? "---:|" : "");
    for (size_t i = 0; i < r->npts; i++) {
        const sim_psweep_point *p = &r->pts[i];
        char v[48], v2[64] = "", lat[48];
        const char *mark = p->lo >= r->target ? "" : "**";
        sim_vary_format(&r->vary[0].p, p->v[0], v, sizeof v);
        if (two) {
            char t[48];
            sim_vary_format(&r->vary[1].p, p->v[1], t, sizeof t);
            snprintf(v2, sizeof v2, " %s%s |", t, p->refined ? " (bisection)" : "");
        }
        latency_text(p->p99, lat, sizeof lat);
        fprintf(f,
                "| %s%s |%s %s | %" PRIu64 " | %" PRIu64
                " | %s%.3f%%%s | [%.2f%%, %.2f%%] | %s | %s |\n",
                v, p->refined && !two ? " (bisection)" : "", v2, sim_profile_name(p->profile),
                p->c[SIM_COUNT_EXPECTED], p->c[SIM_COUNT_DELIVERED], mark, 100 * p->rate, mark,
                100 * p->lo, 100 * p->hi, lat, sim_psweep_cause_name(p->cause));
    }
}

/* split breaks s (modified) into words: argv[0] = "sweep". */
static int split(char *s, char **argv, int cap)
{
    int n = 0;
    argv[n++] = "sweep";
    for (char *t = strtok(s, " \t"); t && n < cap; t = strtok(NULL, " \t"))
        argv[n++] = t;
    return n;
}

int rep_cmd_timing(int argc, char **argv)
{
    const char *plan = DEFAULT_PLAN, *out = DEFAULT_OUT, *charts = DEFAULT_CHARTS;
    int jobs = 1;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (rep_is_help(argv[i])) {
            fputs(usage, stdout);
            return REP_EXIT_OK;
        }
        if ((m = rep_opt(argc, argv, &i, "--out", &v)) != 0) {
            if (m < 0)
                return REP_EXIT_USAGE;
            out = v;
        } else if ((m = rep_opt(argc, argv, &i, "--charts", &v)) != 0) {
            if (m < 0)
                return REP_EXIT_USAGE;
            charts = v;
        } else if ((m = rep_opt(argc, argv, &i, "--jobs", &v)) != 0) {
            if (m < 0)
                return REP_EXIT_USAGE;
            jobs = atoi(v);
            if (jobs < 1 || jobs > 256) {
                fprintf(stderr, "ctxsim timing: --jobs expects 1..256, got '%s'\n", v);
                return REP_EXIT_USAGE;
            }
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "ctxsim timing: unknown option '%s'\n%s", argv[i], usage);
            return REP_EXIT_USAGE;
        } else {
            plan = argv[i];
        }
    }
    entry *e = calloc(MAX_ENTRIES, sizeof *e);
    size_t n = 0;
    if (!e || load_plan(plan, e, &n) != 0) {
        free(e);
        return REP_EXIT_USAGE;
    }
    /* The charts' directory, next to the document. */
    char outdir[1024], chartdir[2100];
    snprintf(outdir, sizeof outdir, "%s", out);
    char *slash = strrchr(outdir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(outdir, sizeof outdir, ".");
    snprintf(chartdir, sizeof chartdir, "%s/%s", outdir, charts);
    int rc = rep_mkdir_p(chartdir);
    if (rc != 0) {
        fprintf(stderr, "ctxsim timing: cannot create %s: %s\n", chartdir, strerror(-rc));
        free(e);
        return REP_EXIT_USAGE;
    }
    sim_psweep_result *res = calloc(n, sizeof *res);
    rep_chart(*ch)[REP_SWEEP_CHART_MAX] = calloc(n, sizeof *ch);
    size_t *nch = calloc(n, sizeof *nch);
    int code = REP_EXIT_USAGE;
    size_t done = 0;
    if (!res || !ch || !nch) {
        fprintf(stderr, "ctxsim timing: out of memory\n");
        goto out;
    }
    for (; done < n; done++) {
        char buf[512], *av[MAX_ARGS], err[1024], stem[40];
        snprintf(buf, sizeof buf, "%s", e[done].sweep);
        int ac = split(buf, av, MAX_ARGS);
        rep_sweep_args a;
        if (rep_sweep_args_parse(ac, av, &a) != 0) {
            fprintf(stderr, "%s:%d: [%s]: bad sweep arguments\n", plan, e[done].line, e[done].id);
            goto out;
        }
        a.o.base.jobs = jobs;
        rc = sim_psweep_run(a.sc, &a.o, &res[done], err, sizeof err);
        sim_scenario_free(a.sc);
        if (rc != 0) {
            fprintf(stderr, "ctxsim timing: [%s]: %s\n", e[done].id, err);
            goto out;
        }
        snprintf(stem, sizeof stem, "%.30s", e[done].id);
        if (rep_sweep_charts_render(&res[done], chartdir, stem, ch[done], &nch[done], err,
                                    sizeof err) != 0) {
            fprintf(stderr, "ctxsim timing: [%s]: %s\n", e[done].id, err);
            done++;
            goto out;
        }
        fprintf(stderr, "  [%s] %s\n", e[done].id, res[done].knees[0].sentence);
    }
    FILE *f = fopen(out, "w");
    if (!f) {
        fprintf(stderr, "ctxsim timing: %s: %s\n", out, strerror(errno));
        goto out;
    }
    char date[32];
    time_t now = time(NULL); /* metadata, never inside a run */
    strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
    const char *rev = rep_git_rev();
    fprintf(
        f,
        "# Timing requirements\n\n"
        "Generated by `make timing` (`ctxsim timing %s`); do not edit by hand: change the "
        "plan or its scenarios and regenerate. Every number below was measured by a "
        "parameter sweep of the simulator driving the real core (`ctxsim sweep`, "
        "[sweep.md](sweep.md)): one seed sweep per value, the same seeds at every value. "
        "A requirement is the knee of its curve: the smallest (or largest) value whose lower "
        "95%% Wilson bound of the delivery rate reaches the scenario's target, refined by "
        "bisection between grid values. Regenerating on the same commit gives the same "
        "numbers.\n\n"
        "Generated: commit %s, %s (UTC)\n\n"
        "## Summary\n\n| # | timing assumption | requirement | curve |\n|---:|:---|:---|:---|\n",
        plan, rev, date);
    const char *ops[] = {">=", "<="};
    for (size_t i = 0; i < n; i++) {
        const sim_psweep_knee *kn = &res[i].knees[0];
        const sim_vary *kv = &res[i].vary[res[i].nvary - 1];
        char kt[48], req[400];
        sim_vary_format(&kv->p, kn->k.value, kt, sizeof kt);
        if (kn->k.status == SIM_KNEE_FOUND)
            snprintf(req, sizeof req, "`%s %s %s`", kv->p.path, ops[kn->k.dir == SIM_KNEE_DOWN],
                     kt);
        else if (kn->k.status == SIM_KNEE_ALL)
            snprintf(req, sizeof req, "none in the range (`%s %s %s` suffices)", kv->p.path,
                     ops[kn->k.dir == SIM_KNEE_DOWN], kt);
        else
            snprintf(req, sizeof req, "not reachable in the range (`%s`)", kv->p.path);
        if (res[i].nvary == 2) { /* the frontier: its ends */
            const sim_psweep_knee *last = &res[i].knees[res[i].nknees - 1];
            char a0[48], a1[48], k1[48];
            sim_vary_format(&res[i].vary[0].p, kn->row, a0, sizeof a0);
            sim_vary_format(&res[i].vary[0].p, last->row, a1, sizeof a1);
            sim_vary_format(&kv->p, last->k.value, k1, sizeof k1);
            snprintf(req, sizeof req,
                     "frontier: `%.80s %s %.47s` at %.80s = %.47s ... %.47s at %.47s", kv->p.path,
                     ops[kn->k.dir == SIM_KNEE_DOWN],
                     kn->k.status == SIM_KNEE_NEVER ? "unreachable" : kt, res[i].vary[0].p.path, a0,
                     last->k.status == SIM_KNEE_NEVER ? "unreachable" : k1, a1);
        }
        fprintf(f, "| %zu | [%s](#%s) | %s | [chart](%s/%s.png) |\n", i + 1, e[i].title, e[i].id,
                req, charts, ch[i][0].name);
    }
    for (size_t i = 0; i < n; i++) {
        const sim_psweep_result *r = &res[i];
        fprintf(f, "\n<a id=\"%s\"></a>\n## %zu. %s\n\n", e[i].id, i + 1, e[i].title);
        if (e[i].assumption[0])
            fprintf(f, "%s\n\n", e[i].assumption);
        for (size_t k = 0; k < r->nknees; k++) {
            const char *st = r->knees[k].sentence;
            char lab[160] = "Requirement";
            if (r->nvary == 2) {
                char a[48];
                sim_vary_format(&r->vary[0].p, r->knees[k].row, a, sizeof a);
                snprintf(lab, sizeof lab, "Frontier at %.40s = %s", r->vary[0].p.path, a);
            }
            fprintf(f, "**%s%s%s.** %c%s.\n\n", lab, r->nprofiles > 1 ? ", " : "",
                    r->nprofiles > 1 ? sim_profile_name(r->knees[k].profile) : "",
                    st[0] >= 'a' && st[0] <= 'z' ? st[0] - 'a' + 'A' : st[0], st[0] ? st + 1 : "");
        }
        for (size_t k = 0; k < nch[i]; k++)
            if (ch[i][k].drawn)
                fprintf(f, "![%s](%s/%s.png)\n\n", ch[i][k].title, charts, ch[i][k].name);
        fprintf(f, "Scenario: [%s](../%s). Reproduce:\n\n```sh\nctxsim sweep %s\n```\n", r->path,
                r->path, e[i].sweep);
        md_points(f, r);
        fprintf(f, "\nMeasured: commit %s, %s (UTC)\n", rev, date);
    }
    fprintf(f, "\n## Monitoring thresholds\n\n"
               "The operator's side of the same runs: what `cr_ctx_get_stats()` (`cr_stats`) shows "
               "when a deployment leaves the conditions a requirement was measured under. The "
               "service level is **fewer than 1%% of agent events not delivered**: alert when, per "
               "minute, the outcomes other than `delivered` and `buffered_delivered` "
               "(`outcomes[expired]`, `outcomes[dropped_full]`, `outcomes[fallback]`, "
               "`outcomes[unroutable]`) exceed 1%% of `events_emitted`. The rows below give, per "
               "requirement, the non-delivery measured at the requirement (healthy) and one step "
               "beyond it (the first failing value: alert there), the loss cause that rises first "
               "and the counter or histogram that shows it, and the delivery latency p99 "
               "measured at the requirement (emit to client: the bound for the `buffer_delay` "
               "histogram's p99; above it the deployment is slower than the conditions "
               "measured).\n\n"
               "| requirement | signal (cr_stats) | not delivered at the requirement | one step "
               "beyond | rises first | latency p99 at the requirement |\n"
               "|:---|:---|---:|---:|:---|---:|\n");
    for (size_t i = 0; i < n; i++) {
        const sim_psweep_result *r = &res[i];
        const sim_psweep_knee *kn = &r->knees[0];
        const sim_vary *kv = &r->vary[r->nvary - 1];
        if (r->nvary == 2) /* a frontier: its sections give the knee per value */
            continue;
        const sim_psweep_point *at = kn->k.status != SIM_KNEE_NEVER ? point_at(r, kn->k.value)
                                                                    : point_at(r, kn->k.best_value);
        const sim_psweep_point *bad =
            kn->k.status == SIM_KNEE_FOUND ? point_at(r, kn->k.bracket) : NULL;
        char kt[48], bt[48] = "-", a[32] = "-", b[32] = "-";
        sim_vary_format(&kv->p, kn->k.value, kt, sizeof kt);
        if (at)
            snprintf(a, sizeof a, "%.3f%%", 100 * (1 - at->rate));
        if (bad) {
            sim_vary_format(&kv->p, kn->k.bracket, bt, sizeof bt);
            snprintf(b, sizeof b, "%.3f%% (%.12s)", 100 * (1 - bad->rate), bt);
        }
        char lat[48] = "-";
        if (at)
            latency_text(at->p99, lat, sizeof lat);
        int cause = bad ? bad->cause : at ? at->cause : -1;
        fprintf(f, "| %s %s %s | %s | %s | %s | %s | %s |\n", kv->p.path,
                ops[kn->k.dir == SIM_KNEE_DOWN], kn->k.status == SIM_KNEE_NEVER ? "-" : kt,
                e[i].signal[0] ? e[i].signal : "-", a, b, sim_psweep_cause_name(cause), lat);
    }
    fprintf(f, "\nLoss causes map onto the core's counters: `core_reported` is "
               "`outcomes[expired]` + `outcomes[dropped_full]` + `outcomes[unroutable]` "
               "(and `errors_reported`), `client_told` is `notices_sent` (SWITCH_FAILED, "
               "MESSAGE_REJECTED) and `messages_rejected`, `late` is the tail of the "
               "`buffer_delay` histogram beyond the delivery deadline, `never_started` is "
               "`runs_context_lost`. `core_silent` has no counter by construction: the fixed "
               "profile must keep it at 0 (it is the legacy system's 15-20%%).\n");
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad) {
        fprintf(stderr, "ctxsim timing: %s: write error\n", out);
        goto out;
    }
    printf("timing: %s (%zu requirements, charts in %s)\n", out, n, chartdir);
    code = REP_EXIT_OK;
out:
    for (size_t i = 0; res && i < done; i++)
        sim_psweep_free(&res[i]);
    free(res);
    free(ch);
    free(nch);
    free(e);
    return code;
}
