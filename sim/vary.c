/* vary.c - parameter addressing for `ctxsim sweep` (vary.h). */
#include "sim/vary.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/dist.h"

typedef enum ftype { F_U32, F_NS, F_PROB, F_DIST } ftype;

/* The scenario fields a sweep can reach: path, type, where, minimum. */
static const struct field {
    const char *path;
    ftype type;
    size_t off;
    double min;
} FIELDS[] = {
    {"users", F_U32, offsetof(sim_scenario, users), 1},
    {"deadline", F_NS, offsetof(sim_scenario, deadline), 1},
    {"horizon", F_NS, offsetof(sim_scenario, horizon), 1},
    {"clients_per_user", F_DIST, offsetof(sim_scenario, clients_per_user), 0},
    {"network.uplink", F_DIST, offsetof(sim_scenario, uplink), 0},
    {"network.downlink", F_DIST, offsetof(sim_scenario, downlink), 0},
    {"network.reconnect_backoff", F_DIST, offsetof(sim_scenario, reconnect_backoff), 0},
    {"server.auth", F_DIST, offsetof(sim_scenario, auth), 0},
    {"server.thread_lookup", F_DIST, offsetof(sim_scenario, thread_lookup), 0},
    {"server.agent_start", F_DIST, offsetof(sim_scenario, agent_start), 0},
    {"server.event_gap", F_DIST, offsetof(sim_scenario, event_gap), 0},
    {"faults.thread_update_fail", F_PROB, offsetof(sim_scenario, thread_update_fail), 0},
    {"faults.disconnect", F_PROB, offsetof(sim_scenario, disconnect), 0},
};
#define NFIELDS (sizeof FIELDS / sizeof FIELDS[0])

/* What a knob works against: (knob, scenario field) pairs, read both ways
 * by sim_vary_context. */
static const struct relation {
    const char *knob, *field;
} RELATED[] = {
    {"exec_grace", "server.thread_lookup"},
    {"exec_grace", "server.auth"},
    {"exec_retry_interval", "server.thread_lookup"},
    {"event_ttl", "network.reconnect_backoff"},
    {"update_retries", "faults.thread_update_fail"},
    {"update_backoff", "faults.thread_update_fail"},
    {"pending_max", "server.thread_lookup"},
    {"preauth_max", "server.auth"},
    {"pending_deadline", "server.auth"},
    {"event_buffer_max", "server.event_gap"},
    {"event_buffer_max", "network.reconnect_backoff"},
    {"event_buffer_max_bytes", "server.event_gap"},
};
#define NRELATED (sizeof RELATED / sizeof RELATED[0])

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int knob_index(const char *name)
{
    for (size_t i = 0; i < cr_policy_knob_count(); i++)
        if (strcmp(cr_policy_knob(i)->name, name) == 0)
            return (int)i;
    return -1;
}

static int field_index(const char *path, size_t len)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (strlen(FIELDS[i].path) == len && strncmp(FIELDS[i].path, path, len) == 0)
            return (int)i;
    return -1;
}

static sim_dist *field_dist(const sim_scenario *sc, int f)
{
    return (sim_dist *)((char *)sc + FIELDS[f].off);
}

/* has_word tells whether the ", "-separated list holds word. */
static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
            return 1;
    return 0;
}

void sim_vary_list(const sim_scenario *sc, char *buf, size_t len)
{
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        if (n < len) {                                                                             \
            int w_ = snprintf(buf + n, len - n, __VA_ARGS__);                                      \
            n = w_ < 0 ? len : n + (size_t)w_;                                                     \
        }                                                                                          \
    } while (0)
    if (!buf || !len)
        return;
    buf[0] = '\0';
    PUT("policy knobs:");
    for (size_t i = 0; i < cr_policy_knob_count(); i++)
        if (cr_policy_knob(i)->type != CR_KNOB_BOOL)
            PUT(" %s", cr_policy_knob(i)->name);
    PUT("; scenario:");
    for (size_t i = 0; i < NFIELDS; i++) {
        if (FIELDS[i].type != F_DIST) {
            PUT(" %s", FIELDS[i].path);
            continue;
        }
        char names[160];
        sim_dist_param_names(field_dist(sc, (int)i), names, sizeof names);
        /* "median, p99, or mean, ..." -> the own parameters only */
        char *cut = strstr(names, "or mean");
        if (cut)
            *cut = '\0';
        size_t k = strlen(names);
        while (k && (names[k - 1] == ' ' || names[k - 1] == ','))
            names[--k] = '\0';
        PUT(" %s.{%s", FIELDS[i].path, names);
        static const char *const stats[] = {"mean", "median", "pNN"};
        for (size_t j = 0; j < 3; j++)
            if (!has_word(names, stats[j])) {
                PUT("%s%s", k ? "," : "", stats[j]);
                k = 1;
            }
        PUT("}");
    }
#undef PUT
    for (char *p = buf; *p; p++)
        if (p[0] == ',' && p[1] == ' ')
            memmove(p + 1, p + 2, strlen(p + 2) + 1);
}

int sim_vary_resolve(const sim_scenario *sc, const char *path, sim_vary_param *out, char *err,
                     size_t errlen)
{
    char list[2048];
    memset(out, 0, sizeof *out);
    out->knob = out->field = -1;
    const char *name = path;
    if (strncmp(name, "policy.", 7) == 0)
        name += 7;
    int k = knob_index(name);
    if (k >= 0) {
        const cr_knob_info *ki = cr_policy_knob((size_t)k);
        out->knob = k;
        snprintf(out->path, sizeof out->path, "%s", ki->name);
        out->unit = ki->type == CR_KNOB_DURATION ? SIM_VARY_NS : SIM_VARY_COUNT;
        out->min = 0;
        out->max = ki->type == CR_KNOB_BOOL ? 1 : 9.2e18;
        return 0;
    }
    /* A field, or a distribution field + "." + parameter. */
    int f = field_index(path, strlen(path));
    const char *dot = strrchr(path, '.');
    if (f < 0 && dot && (f = field_index(path, (size_t)(dot - path))) >= 0 &&
        FIELDS[f].type != F_DIST)
        f = -1;
    if (f < 0) {
        sim_vary_list(sc, list, sizeof list);
        return fail(err, errlen, "cannot vary '%s': no such knob or scenario parameter (%s)", path,
                    list);
    }
    out->field = f;
    if (FIELDS[f].type == F_DIST) {
        const sim_dist *d = field_dist(sc, f);
        char names[160], fmt[160] = "";
        if (strlen(path) == strlen(FIELDS[f].path) || !dot || !dot[1]) {
            sim_dist_param_names(d, names, sizeof names);
            sim_dist_format(d, fmt, sizeof fmt);
            return fail(err, errlen, "cannot vary '%s': name a parameter of %s, %s.P with P: %s",
                        path, fmt, FIELDS[f].path, names);
        }
        double v;
        if (sim_dist_get(d, dot + 1, &v) != 0) {
            sim_dist_param_names(d, names, sizeof names);
            sim_dist_format(d, fmt, sizeof fmt);
            return fail(err, errlen, "cannot vary '%s': %s is %s, its parameters: %s", path,
                        FIELDS[f].path, fmt, names);
        }
        snprintf(out->dparam, sizeof out->dparam, "%s", dot + 1);
        snprintf(out->path, sizeof out->path, "%s.%s", FIELDS[f].path, out->dparam);
        out->unit = d->is_duration && strcmp(out->dparam, "shape") ? SIM_VARY_NS : SIM_VARY_NUMBER;
        out->min = 0;
        out->max = 9.2e18;
        return 0;
    }
    snprintf(out->path, sizeof out->path, "%s", FIELDS[f].path);
    out->min = FIELDS[f].min;
    switch (FIELDS[f].type) {
    case F_U32:
        out->unit = SIM_VARY_COUNT;
        out->max = 1000000;
        break;
    case F_NS:
        out->unit = SIM_VARY_NS;
        out->max = 9.2e18;
        break;
    default:
        out->unit = SIM_VARY_NUMBER;
        out->max = 1;
        break;
    }
    return 0;
}

/* unit_of copies the unit suffix of a value text ("3s" -> "s"), "" if none. */
static void unit_of(const char *text, char *buf, size_t len)
{
    size_t n = strlen(text), i = n;
    while (i > 0 && isalpha((unsigned char)text[i - 1]))
        i--;
    snprintf(buf, len, "%s", text + i);
}

int sim_vary_value_parse(const sim_vary_param *p, const char *text, const char *unit_hint,
                         double *v, char *err, size_t errlen)
{
    char *end;
    if (!text || !*text)
        return fail(err, errlen, "%s: empty value", p->path);
    if (p->unit == SIM_VARY_NS) {
        char tmp[96], u[16];
        unit_of(text, u, sizeof u);
        if (!u[0] && unit_hint && *unit_hint)
            snprintf(tmp, sizeof tmp, "%.80s%.8s", text, unit_hint);
        else
            snprintf(tmp, sizeof tmp, "%.90s", text);
        uint64_t ns;
        sim_parse_error pe;
        if (strcmp(tmp, "0") == 0) {
            *v = 0;
        } else if (sim_duration_parse(tmp, &ns, &pe) == 0) {
            *v = (double)ns;
        } else {
            return fail(err, errlen, "%s: '%s' is not a duration (%s; e.g. 1.5s, 800ms)", p->path,
                        text, pe.msg);
        }
    } else {
        errno = 0;
        double x = strtod(text, &end);
        if (errno || *end || !isfinite(x) || text[0] == '-' || isspace((unsigned char)text[0]))
            return fail(err, errlen, "%s: '%s' is not a %s", p->path, text,
                        p->unit == SIM_VARY_COUNT ? "whole number" : "number");
        if (p->unit == SIM_VARY_COUNT && x != floor(x))
            return fail(err, errlen, "%s: '%s' is not a whole number", p->path, text);
        *v = x;
    }
    if (*v < p->min || *v > p->max) {
        char lo[48], hi[48];
        sim_vary_format(p, p->min, lo, sizeof lo);
        sim_vary_format(p, p->max, hi, sizeof hi);
        return fail(err, errlen, "%s: '%s' is out of range (%s..%s)", p->path, text, lo, hi);
    }
    return 0;
}

void sim_vary_format(const sim_vary_param *p, double v, char *buf, size_t len)
{
    if (p->unit != SIM_VARY_NS) {
        snprintf(buf, len, p->unit == SIM_VARY_COUNT ? "%.0f" : "%.4g", v);
        return;
    }
    static const struct {
        const char *u;
        double ns;
    } units[] = {{"m", 60e9}, {"s", 1e9}, {"ms", 1e6}, {"us", 1e3}, {"ns", 1}};
    if (v == 0) {
        snprintf(buf, len, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (fabs(v) >= units[i].ns || i + 1 == sizeof units / sizeof units[0]) {
            /* minutes only when whole: 90s reads better than 1.5m */
            if (units[i].ns == 60e9 && fmod(v, 60e9) != 0)
                continue;
            snprintf(buf, len, "%.5g%s", v / units[i].ns, units[i].u);
            return;
        }
}

double sim_vary_round(const sim_vary_param *p, double v)
{
    return p->unit == SIM_VARY_NUMBER ? v : floor(v + 0.5);
}

int sim_vary_apply(const sim_vary_param *p, double v, sim_scenario *sc, sim_sweep_opts *o,
                   char *err, size_t errlen)
{
    char vt[48];
    sim_vary_format(p, v, vt, sizeof vt);
    if (v < p->min || v > p->max || !isfinite(v))
        return fail(err, errlen, "%s: %s is out of range", p->path, vt);
    if (p->knob >= 0) {
        const cr_knob_info *ki = cr_policy_knob((size_t)p->knob);
        size_t i = 0;
        while (i < o->noverrides && strcmp(o->overrides[i].name, ki->name) != 0)
            i++;
        if (i == SIM_MAX_OVERRIDES)
            return fail(err, errlen, "too many policy overrides");
        if (i == o->noverrides) {
            snprintf(o->overrides[i].name, sizeof o->overrides[i].name, "%s", ki->name);
            o->noverrides++;
        }
        o->overrides[i].value = (uint64_t)llround(v);
        return 0;
    }
    const struct field *f = &FIELDS[p->field];
    void *at = (char *)sc + f->off;
    switch (f->type) {
    case F_U32:
        *(uint32_t *)at = (uint32_t)llround(v);
        return 0;
    case F_NS:
        *(uint64_t *)at = (uint64_t)llround(v);
        return 0;
    case F_PROB:
        *(double *)at = v;
        return 0;
    case F_DIST: {
        char e2[200];
        if (sim_dist_set((sim_dist *)at, p->dparam, v, e2, sizeof e2) != 0)
            return fail(err, errlen, "%s = %s: %s", p->path, vt, e2);
        return 0;
    }
    }
    return fail(err, errlen, "%s: unknown field type", p->path);
}

int sim_vary_check(const sim_scenario *sc, const sim_vary_param *p, double v, char *err,
                   size_t errlen)
{
    sim_scenario copy = *sc;
    sim_sweep_opts o = {0};
    return sim_vary_apply(p, v, &copy, &o, err, errlen);
}

int sim_vary_parse(const sim_scenario *sc, const char *spec, sim_vary *out, char *err,
                   size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *eq = strchr(spec, '=');
    const char *dots = eq ? strstr(eq + 1, "..") : NULL;
    if (!eq || eq == spec || !dots || (size_t)(eq - spec) >= sizeof out->p.path) {
        char list[2048];
        sim_vary_list(sc, list, sizeof list);
        return fail(err, errlen,
                    "--vary expects PARAM=FROM..TO (e.g. exec_grace=0..3s), got '%s' (%s)", spec,
                    list);
    }
    char path[96], from[64], to[64], ufrom[16], uto[16];
    snprintf(path, sizeof path, "%.*s", (int)(eq - spec), spec);
    snprintf(from, sizeof from, "%.*s", (int)(dots - eq - 1), eq + 1);
    snprintf(to, sizeof to, "%.60s", dots + 2);
    if (sim_vary_resolve(sc, path, &out->p, err, errlen) != 0)
        return -1;
    unit_of(from, ufrom, sizeof ufrom);
    unit_of(to, uto, sizeof uto);
    if (out->p.unit == SIM_VARY_NS && !ufrom[0] && !uto[0] &&
        (strcmp(from, "0") != 0 || strcmp(to, "0") != 0))
        return fail(err, errlen, "%s is a duration: give a unit (e.g. %s=0..3s)", out->p.path,
                    out->p.path);
    if (sim_vary_value_parse(&out->p, from, uto, &out->from, err, errlen) != 0 ||
        sim_vary_value_parse(&out->p, to, ufrom, &out->to, err, errlen) != 0)
        return -1;
    if (out->from == out->to)
        return fail(err, errlen, "%s: the range %s..%s is empty", out->p.path, from, to);
    char e2[300];
    if (sim_vary_check(sc, &out->p, out->from, e2, sizeof e2) != 0 ||
        sim_vary_check(sc, &out->p, out->to, e2, sizeof e2) != 0)
        return fail(err, errlen, "--vary %s: %s", spec, e2);
    out->steps = 8;
    return 0;
}

int sim_vary_grid(const sim_vary *v, double *values, size_t cap, size_t *n)
{
    *n = 0;
    if (v->steps < 2 || v->steps > SIM_VARY_MAX_STEPS)
        return -1;
    if (v->log && !(v->from > 0 && v->to > 0))
        return -1;
    for (uint32_t i = 0; i < v->steps; i++) {
        double t = (double)i / (double)(v->steps - 1), x;
        if (v->log)
            x = v->from * pow(v->to / v->from, t);
        else
            x = v->from + (v->to - v->from) * t;
        if (i == 0)
            x = v->from;
        if (i + 1 == v->steps)
            x = v->to;
        x = sim_vary_round(&v->p, x);
        if (*n && values[*n - 1] == x)
            continue;
        if (*n == cap)
            return -1;
        values[(*n)++] = x;
    }
    return 0;
}

double sim_vary_default_resolution(const sim_vary *v)
{
    double span = fabs(v->to - v->from);
    double r;
    if (v->log) /* the smallest step of the grid */
        r = fmin(v->from, v->to) *
            (pow(fmax(v->from, v->to) / fmin(v->from, v->to), 1.0 / (v->steps - 1)) - 1);
    else
        r = span / (v->steps - 1);
    r /= 4;
    if (v->p.unit == SIM_VARY_COUNT)
        r = fmax(1, floor(r));
    else if (v->p.unit == SIM_VARY_NS)
        r = fmax(1, r);
    return r;
}

/* describe_field writes "thread_lookup lognormal(median=40ms, p99=800ms)". */
static void describe_field(const sim_scenario *sc, int f, char *buf, size_t len)
{
    const char *name = strrchr(FIELDS[f].path, '.');
    name = name ? name + 1 : FIELDS[f].path;
    const void *at = (const char *)sc + FIELDS[f].off;
    char val[160] = "";
    switch (FIELDS[f].type) {
    case F_DIST:
        sim_dist_format(at, val, sizeof val);
        break;
    case F_PROB:
        snprintf(val, sizeof val, "%g", *(const double *)at);
        break;
    case F_NS: {
        sim_vary_param p = {.unit = SIM_VARY_NS};
        sim_vary_format(&p, (double)*(const uint64_t *)at, val, sizeof val);
        break;
    }
    case F_U32:
        snprintf(val, sizeof val, "%u", (unsigned)*(const uint32_t *)at);
        break;
    }
    snprintf(buf, len, "%s %s", name, val);
}

void sim_vary_context(const sim_scenario *sc, const cr_policy *pol, const sim_vary_param *p,
                      char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NRELATED; i++) {
        char one[200] = "";
        if (p->knob >= 0 && strcmp(RELATED[i].knob, cr_policy_knob((size_t)p->knob)->name) == 0) {
            int f = field_index(RELATED[i].field, strlen(RELATED[i].field));
            if (f >= 0)
                describe_field(sc, f, one, sizeof one);
        } else if (p->field >= 0 && strcmp(RELATED[i].field, FIELDS[p->field].path) == 0) {
            int k = knob_index(RELATED[i].knob);
            uint64_t v = 0;
            if (k < 0 || cr_policy_get(pol, RELATED[i].knob, &v) != 0)
                continue;
            sim_vary_param kp;
            kp.unit =
                cr_policy_knob((size_t)k)->type == CR_KNOB_DURATION ? SIM_VARY_NS : SIM_VARY_COUNT;
            char val[48];
            sim_vary_format(&kp, (double)v, val, sizeof val);
            snprintf(one, sizeof one, "%s %s", RELATED[i].knob, val);
        }
        if (!one[0] || strstr(buf, one))
            continue;
        int w = snprintf(buf + n, len - n, "%s%s", n ? ", " : "", one);
        if (w < 0 || (size_t)w >= len - n)
            break;
        n += (size_t)w;
    }
}
