/* sweepcmd.c - `ctxsim sweep` (sweepcmd.h). */
#include "reports/sweepcmd.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reports/cmdline.h"
#include "reports/store.h"
#include "reports/sweepdb.h"

static const char usage[] =
    "usage: ctxsim sweep SCENARIO --vary PARAM=FROM..TO [--vary PARAM2=FROM..TO] [options]\n"
    "Run the scenario's seed sweep at every value of PARAM (the same seeds 1..N at every value),\n"
    "print one row per value (expected, delivered, rate with its 95% interval, the dominant\n"
    "loss cause) and the knee: the smallest (or largest, by the direction of the effect) value\n"
    "whose lower 95% Wilson bound reaches the target, refined by bisection.  Two --vary give a\n"
    "grid and the frontier: for each value of the first, the knee in the second.\n"
    "  --vary PARAM=FROM..TO  a policy knob (exec_grace, event_ttl, update_retries, ...) or a\n"
    "                        scenario path (server.thread_lookup.p99, network.uplink.median,\n"
    "                        faults.thread_update_fail, users, ...); durations take units\n"
    "                        (0..3s), counts and probabilities plain numbers\n"
    "  --steps N             grid values per parameter (default 8, 2..256)\n"
    "  --log                 geometric grid (both ends > 0)\n"
    "  --resolution X        the knee's bisection stops at this width (default: a quarter of\n"
    "                        the grid step; the grid step itself: no bisection)\n"
    "  --target RATE         the delivery rate to reach (default the scenario's expect)\n"
    "  --profile P[,P]       fixed | legacy | fixed,legacy (default: the scenario's)\n"
    "  --policy k=v          a knob override at every value (repeatable)\n"
    "  --seeds N             seeds per value (default: the scenario's `seeds`)\n"
    "  --jobs N              worker processes (results identical to --jobs 1)\n"
    "  --db PATH | --no-db   record into PATH (default out/results.db) or not\n"
    "  --no-trace            skip trace hashing (faster): the points' trace digests are absent\n"
    "  --label TEXT          label of the recorded sweep\n"
    "  --format text|json\n"
    "Exit: 0 done, 1 the target is reached by no value under the first profile, 2 bad usage\n"
    "or input.  See docs/sweep.md.\n";

static int bad(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "ctxsim sweep: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    return -1;
}

static int parse_count(const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!v || !*v || *v == '-')
        return -1;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

int rep_sweep_args_parse(int argc, char **argv, rep_sweep_args *a)
{
    memset(a, 0, sizeof *a);
    a->db = REP_DEFAULT_DB;
    a->o.target = -1;
    a->o.nprofiles = 1;
    a->o.profiles[0] = -1;
    const char *file = NULL, *vary[SIM_PSWEEP_MAX_VARY], *steps = NULL, *res = NULL;
    const char *policy[SIM_MAX_OVERRIDES];
    size_t nvary = 0, npolicy = 0;
    int log = 0;
    uint64_t x;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (rep_is_help(argv[i])) {
            fputs(usage, stdout);
            return 1;
        }
#define OPT(name) ((m = rep_opt(argc, argv, &i, name, &v)) != 0)
        if (OPT("--vary")) {
            if (m < 0)
                return -1;
            if (nvary == SIM_PSWEEP_MAX_VARY)
                return bad("at most %s --vary (a grid of two parameters)%s", "2", "");
            vary[nvary++] = v;
        } else if (OPT("--steps")) {
            if (m < 0)
                return -1;
            steps = v;
        } else if (!strcmp(argv[i], "--log")) {
            log = 1;
        } else if (OPT("--resolution")) {
            if (m < 0)
                return -1;
            res = v;
        } else if (OPT("--target")) {
            if (m < 0)
                return -1;
            char *end;
            double t = strtod(v, &end);
            if (*end == '%') {
                t /= 100;
                end++;
            }
            if (*end || !(t > 0 && t <= 1))
                return bad("--target expects a rate in (0, 1] (or a percentage), got '%s'%s", v,
                           "");
            a->o.target = t;
        } else if (OPT("--profile")) {
            if (m < 0)
                return -1;
            char buf[64];
            snprintf(buf, sizeof buf, "%s", v);
            a->o.nprofiles = 0;
            for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
                int p = !strcmp(tok, "fixed")    ? CR_PROFILE_FIXED
                        : !strcmp(tok, "legacy") ? CR_PROFILE_LEGACY
                                                 : -2;
                if (p == -2 || a->o.nprofiles == SIM_PSWEEP_MAX_PROFILES)
                    return bad("--profile expects fixed, legacy or fixed,legacy, got '%s'%s", v,
                               "");
                a->o.profiles[a->o.nprofiles++] = p;
            }
            if (!a->o.nprofiles)
                return bad("--profile expects fixed, legacy or fixed,legacy, got '%s'%s", v, "");
        } else if (OPT("--policy")) {
            if (m < 0)
                return -1;
            if (npolicy == SIM_MAX_OVERRIDES)
                return bad("too many --policy%s%s", "", "");
            policy[npolicy++] = v;
        } else if (OPT("--seeds")) {
            if (m < 0)
                return -1;
            if (parse_count(v, 1, 10000000, &x))
                return bad("--seeds expects 1..10000000, got '%s'%s", v, "");
            a->o.base.seeds = (uint32_t)x;
        } else if (OPT("--jobs")) {
            if (m < 0)
                return -1;
            if (parse_count(v, 1, 256, &x))
                return bad("--jobs expects 1..256, got '%s'%s", v, "");
            a->o.base.jobs = (int)x;
        } else if (OPT("--db")) {
            if (m < 0)
                return -1;
            a->db = v;
        } else if (!strcmp(argv[i], "--no-db")) {
            a->no_db = 1;
        } else if (!strcmp(argv[i], "--no-trace")) {
            a->o.base.no_trace = 1;
        } else if (OPT("--label")) {
            if (m < 0)
                return -1;
            a->label = v;
        } else if (OPT("--format")) {
            if (m < 0)
                return -1;
            if (!strcmp(v, "json"))
                a->json = 1;
            else if (strcmp(v, "text"))
                return bad("--format expects text or json, got '%s'%s", v, "");
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return bad("unknown option '%s' (see ctxsim sweep --help)%s", argv[i], "");
        } else if (file) {
            return bad("one scenario per sweep (got '%s' after '%s')", argv[i], file);
        } else {
            file = argv[i];
        }
#undef OPT
    }
    if (!file)
        return bad("no scenario given (usage: ctxsim sweep SCENARIO --vary PARAM=FROM..TO)%s%s", "",
                   "");
    sim_scenario_error se;
    if (sim_scenario_load(file, &a->sc, &se) != 0) {
        char msg[700];
        sim_scenario_error_format(&se, msg, sizeof msg);
        fprintf(stderr, "%s\nctxsim sweep: bad input: nothing was run or recorded\n", msg);
        return -1;
    }
    char err[3000];
    if (!nvary) {
        sim_vary_list(a->sc, err, sizeof err);
        bad("--vary PARAM=FROM..TO is required; what can be varied: %s%s", err, "");
        goto fail;
    }
    for (size_t k = 0; k < nvary; k++) {
        if (sim_vary_parse(a->sc, vary[k], &a->o.vary[k], err, sizeof err) != 0) {
            bad("%s%s", err, "");
            goto fail;
        }
        if (steps && parse_count(steps, 2, SIM_VARY_MAX_STEPS, &x)) {
            bad("--steps expects 2..256, got '%s'%s", steps, "");
            goto fail;
        }
        a->o.vary[k].steps = steps ? (uint32_t)x : 8;
        a->o.vary[k].log = log;
        if (log && !(a->o.vary[k].from > 0 && a->o.vary[k].to > 0)) {
            bad("--log needs both ends of %s above 0%s", a->o.vary[k].p.path, "");
            goto fail;
        }
    }
    a->o.nvary = nvary;
    if (res) {
        sim_vary *kv = &a->o.vary[nvary - 1];
        double r = 0;
        if (sim_vary_value_parse(&kv->p, res, NULL, &r, err, sizeof err) != 0) {
            bad("--resolution: %s%s", err, "");
            goto fail;
        }
        if (!(r > 0)) {
            bad("--resolution expects a width > 0, got '%s'%s", res, "");
            goto fail;
        }
        kv->resolution = r;
    }
    for (size_t k = 0; k < npolicy; k++) {
        const char *eq = strchr(policy[k], '=');
        sim_vary_param p;
        char name[64];
        double val;
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - policy[k]) : 0, policy[k]);
        if (!eq || sim_vary_resolve(a->sc, name, &p, err, sizeof err) != 0 || p.knob < 0 ||
            sim_vary_value_parse(&p, eq + 1, NULL, &val, err, sizeof err) != 0 ||
            sim_vary_apply(&p, val, a->sc, &a->o.base, err, sizeof err) != 0) {
            bad("--policy %s: %s", policy[k], eq ? err : "expects knob=value");
            goto fail;
        }
    }
    return 0;
fail:
    sim_scenario_free(a->sc);
    a->sc = NULL;
    return -1;
}

/* ---- output ---------------------------------------------------------------------- */

void rep_sweep_print(FILE *f, const sim_psweep_result *r)
{
    char rg[120], tgt[16];
    size_t refined = 0;
    for (size_t i = 0; i < r->npts; i++)
        refined += r->pts[i].refined;
    sim_psweep_pct(r->target, tgt, sizeof tgt);
    fprintf(f, "sweep %s:", r->scenario);
    for (size_t v = 0; v < r->nvary; v++) {
        char a[48], b[48];
        sim_vary_format(&r->vary[v].p, r->vary[v].from, a, sizeof a);
        sim_vary_format(&r->vary[v].p, r->vary[v].to, b, sizeof b);
        snprintf(rg, sizeof rg, "%s..%s", a, b);
        fprintf(f, "%s %s = %s (%" PRIu32 " values%s)", v ? " x" : "", r->vary[v].p.path, rg,
                r->vary[v].steps, r->vary[v].log ? ", geometric" : "");
    }
    fprintf(f, "; %zu bisection values; %" PRIu32 " seeds per value; target %s\n", refined,
            r->seeds, tgt);
    int w0 = (int)strlen(r->vary[0].p.path), w1 = r->nvary > 1 ? (int)strlen(r->vary[1].p.path) : 0;
    if (w0 < 10)
        w0 = 10;
    if (w1 && w1 < 10)
        w1 = 10;
    fprintf(f, "%-*s ", w0, r->vary[0].p.path);
    if (r->nvary > 1)
        fprintf(f, "%-*s ", w1, r->vary[1].p.path);
    fprintf(f, "%-7s %6s %9s %9s %8s %-19s %7s %6s  %s\n", "profile", "seeds", "expected",
            "delivered", "rate", "95% interval", "lost", "late", "dominant loss");
    for (size_t i = 0; i < r->npts; i++) {
        const sim_psweep_point *p = &r->pts[i];
        char a[48], b[48], cause[64] = "-";
        sim_vary_format(&r->vary[0].p, p->v[0], a, sizeof a);
        if (p->refined && r->nvary == 1)
            strcat(a, " *");
        fprintf(f, "%-*s ", w0, a);
        if (r->nvary > 1) {
            sim_vary_format(&r->vary[1].p, p->v[1], b, sizeof b);
            if (p->refined)
                strcat(b, " *");
            fprintf(f, "%-*s ", w1, b);
        }
        if (p->cause >= 0) {
            uint64_t n = p->cause == SIM_PSWEEP_LATE ? p->c[SIM_COUNT_LATE]
                                                     : p->c[sim_cause_count(p->cause)];
            snprintf(cause, sizeof cause, "%s %" PRIu64, sim_psweep_cause_name(p->cause), n);
        }
        fprintf(f,
                "%-7s %6" PRIu32 " %9" PRIu64 " %9" PRIu64 " %7.3f%% [%6.2f%%,%7.2f%%] %7" PRIu64
                " %6" PRIu64 "  %s\n",
                sim_profile_name(p->profile), p->seeds, p->c[SIM_COUNT_EXPECTED],
                p->c[SIM_COUNT_DELIVERED], 100 * p->rate, 100 * p->lo, 100 * p->hi,
                p->c[SIM_COUNT_LOST], p->c[SIM_COUNT_LATE], cause);
    }
    if (refined)
        fprintf(f, "(* a value the knee's bisection ran, between grid values)\n");
    for (size_t i = 0; i < r->nknees; i++)
        fprintf(f, "%s %s\n", r->nvary > 1 ? "frontier:" : "knee:", r->knees[i].sentence);
}

char *rep_sweep_json(const sim_psweep_result *r, long long sweep_id)
{
    static const char *const units[] = {"ns", "count", "number"};
    static const char *const status[] = {"found", "all", "never"};
    json_t *o = json_object();
    json_object_set_new(o, "scenario", json_string(r->scenario));
    json_object_set_new(o, "path", json_string(r->path));
    json_t *ps = json_array();
    for (size_t v = 0; v < r->nvary; v++) {
        json_t *p = json_object();
        json_object_set_new(p, "parameter", json_string(r->vary[v].p.path));
        json_object_set_new(p, "unit", json_string(units[r->vary[v].p.unit]));
        json_object_set_new(p, "from", json_real(r->vary[v].from));
        json_object_set_new(p, "to", json_real(r->vary[v].to));
        json_object_set_new(p, "steps", json_integer(r->vary[v].steps));
        json_object_set_new(p, "log", json_boolean(r->vary[v].log));
        json_array_append_new(ps, p);
    }
    json_object_set_new(o, "parameters", ps);
    json_object_set_new(o, "target", json_real(r->target));
    json_object_set_new(o, "seeds", json_integer(r->seeds));
    json_object_set_new(o, "context", json_string(r->context));
    json_t *pts = json_array();
    for (size_t i = 0; i < r->npts; i++) {
        const sim_psweep_point *p = &r->pts[i];
        json_t *j = json_object();
        char t[48], dg[24];
        json_object_set_new(j, "profile", json_string(sim_profile_name(p->profile)));
        for (size_t v = 0; v < r->nvary; v++) {
            sim_vary_format(&r->vary[v].p, p->v[v], t, sizeof t);
            json_object_set_new(j, v ? "value2" : "value", json_real(p->v[v]));
            json_object_set_new(j, v ? "value2_text" : "value_text", json_string(t));
        }
        json_object_set_new(j, "refined", json_boolean(p->refined));
        json_object_set_new(j, "seeds", json_integer(p->seeds));
        json_t *c = json_object();
        for (int k = 0; k < SIM_COUNT__N; k++)
            json_object_set_new(c, sim_count_name(k), json_integer((json_int_t)p->c[k]));
        json_object_set_new(j, "counts", c);
        json_object_set_new(j, "delivery_rate", json_real(p->rate));
        json_object_set_new(j, "rate_lo", json_real(p->lo));
        json_object_set_new(j, "rate_hi", json_real(p->hi));
        json_object_set_new(j, "latency_p50_ns", json_integer((json_int_t)p->p50));
        json_object_set_new(j, "latency_p99_ns", json_integer((json_int_t)p->p99));
        json_object_set_new(j, "dominant_cause", json_string(sim_psweep_cause_name(p->cause)));
        json_object_set_new(j, "policy", json_string(p->policy));
        snprintf(dg, sizeof dg, "%016" PRIx64, p->digest);
        json_object_set_new(j, "trace_digest", p->digest ? json_string(dg) : json_null());
        json_array_append_new(pts, j);
    }
    json_object_set_new(o, "points", pts);
    json_t *ks = json_array();
    const sim_vary *kv = &r->vary[r->nvary - 1];
    for (size_t i = 0; i < r->nknees; i++) {
        const sim_psweep_knee *kn = &r->knees[i];
        json_t *j = json_object();
        char t[48];
        json_object_set_new(j, "profile", json_string(sim_profile_name(kn->profile)));
        json_object_set_new(j, "parameter", json_string(kv->p.path));
        if (r->nvary > 1) {
            sim_vary_format(&r->vary[0].p, kn->row, t, sizeof t);
            json_object_set_new(j, "row_value", json_real(kn->row));
            json_object_set_new(j, "row_text", json_string(t));
        }
        json_object_set_new(j, "direction", json_string(kn->k.dir == SIM_KNEE_DOWN ? "<=" : ">="));
        json_object_set_new(j, "status", json_string(status[kn->k.status]));
        if (kn->k.status != SIM_KNEE_NEVER) {
            sim_vary_format(&kv->p, kn->k.value, t, sizeof t);
            json_object_set_new(j, "knee", json_real(kn->k.value));
            json_object_set_new(j, "knee_text", json_string(t));
        }
        if (kn->k.status == SIM_KNEE_FOUND)
            json_object_set_new(j, "bracket", json_real(kn->k.bracket));
        json_object_set_new(j, "resolution", json_real(kn->k.resolution));
        json_object_set_new(j, "best_value", json_real(kn->k.best_value));
        json_object_set_new(j, "best_rate_lo", json_real(kn->k.best_lo));
        json_object_set_new(j, "best_cause", json_string(sim_psweep_cause_name(kn->best_cause)));
        json_object_set_new(j, "extra_values", json_integer(kn->k.extra));
        json_object_set_new(j, "sentence", json_string(kn->sentence));
        json_array_append_new(ks, j);
    }
    json_object_set_new(o, "knees", ks);
    if (sweep_id > 0)
        json_object_set_new(o, "sweep_id", json_integer(sweep_id));
    char *txt = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    return txt;
}

/* ---- the command ------------------------------------------------------------------ */

static void progress(void *ud, size_t done, size_t planned)
{
    (void)ud;
    fprintf(stderr, "\r  sweep: value %zu/%zu%s", done, planned, done >= planned ? "\r\033[K" : "");
}

int rep_cmd_sweep(int argc, char **argv)
{
    rep_sweep_args a;
    int rc = rep_sweep_args_parse(argc, argv, &a);
    if (rc > 0)
        return REP_EXIT_OK;
    if (rc < 0)
        return REP_EXIT_USAGE;
    rep_store *db = NULL;
    char err[1024];
    if (!a.no_db && rep_store_open(a.db, &db, err, sizeof err) != 0) {
        fprintf(stderr, "ctxsim sweep: %s\n", err);
        sim_scenario_free(a.sc);
        return REP_EXIT_USAGE;
    }
    if (isatty(2)) {
        a.o.progress = progress;
        a.o.base.progress = 0;
    }
    int64_t started = (int64_t)time(NULL); /* metadata, never inside a run */
    sim_psweep_result r;
    if (sim_psweep_run(a.sc, &a.o, &r, err, sizeof err) != 0) {
        fprintf(stderr, "ctxsim sweep: %s\n", err);
        rep_store_close(db);
        sim_scenario_free(a.sc);
        return REP_EXIT_USAGE;
    }
    int64_t id = 0;
    int code = REP_EXIT_OK;
    if (db) {
        char *args = rep_join_args(argc, argv);
        rep_psweep_meta m = {.label = a.label,
                             .git_rev = rep_git_rev(),
                             .tool_version = CR_VERSION_STRING,
                             .args = args,
                             .started_at = started};
        if (rep_psweep_record(db, &m, &r, &id) != 0) {
            fprintf(stderr, "ctxsim sweep: recording into %s failed: %s\n", a.db,
                    rep_store_errmsg(db));
            code = REP_EXIT_USAGE;
        }
        free(args);
        rep_store_close(db);
    }
    if (a.json) {
        char *txt = rep_sweep_json(&r, id);
        if (txt)
            puts(txt);
        free(txt);
    } else {
        rep_sweep_print(stdout, &r);
        if (id)
            printf("recorded as sweep %" PRId64 " in %s (ctxsim report draws it)\n", id, a.db);
    }
    for (size_t i = 0; code == REP_EXIT_OK && i < r.nknees; i++)
        if (r.knees[i].profile == r.profiles[0] && r.knees[i].k.status == SIM_KNEE_NEVER)
            code = REP_EXIT_FAIL;
    sim_psweep_free(&r);
    sim_scenario_free(a.sc);
    return code;
}
