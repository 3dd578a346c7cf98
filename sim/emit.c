/*
 * emit.c - sim_scenario -> YAML text (emit.h).
 *
 * The layout is fixed (one key per line, block style, two-space indents,
 * steps as "- name" or "- name: {args}") so that load -> emit -> load ->
 * emit is a fixpoint: the second text equals the first.  The summary is
 * written double-quoted with YAML escapes; every other string of a loaded
 * scenario is an identifier the loader already checked.
 */
#include "sim/emit.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct obuf {
    char *p;
    size_t len, cap;
    int bad;
} obuf;

static void out(obuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(obuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (b->bad)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->bad = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 1024;
        while (cap <= b->len + (size_t)n)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->bad = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

static const struct {
    const char *name;
    uint64_t ns;
} UNITS[] = {{"m", UINT64_C(60000000000)},
             {"s", UINT64_C(1000000000)},
             {"ms", UINT64_C(1000000)},
             {"us", UINT64_C(1000)},
             {"ns", 1}};

int sim_emit_duration(uint64_t ns, char *buf, size_t len)
{
    int n = -1;
    if (ns == 0) {
        n = snprintf(buf, len, "0s");
    } else {
        for (size_t i = 0; i < sizeof UNITS / sizeof UNITS[0]; i++)
            if (ns % UNITS[i].ns == 0) {
                n = snprintf(buf, len, "%" PRIu64 "%s", ns / UNITS[i].ns, UNITS[i].name);
                break;
            }
    }
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void out_duration(obuf *b, uint64_t ns)
{
    char t[48];
    if (sim_emit_duration(ns, t, sizeof t))
        b->bad = 1;
    else
        out(b, "%s", t);
}

/* out_fraction writes the shortest %g text that reads back as x. */
static void out_fraction(obuf *b, double x)
{
    char t[40];
    if (!isfinite(x)) {
        b->bad = 1;
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, x);
        if (strtod(t, NULL) == x)
            break;
    }
    out(b, "%s", t);
}

static void out_dist(obuf *b, const sim_dist *d)
{
    char t[1024];
    if (sim_dist_format(d, t, sizeof t))
        b->bad = 1;
    else
        out(b, "%s", t);
}

/* out_quoted writes a YAML double-quoted scalar. */
static void out_quoted(obuf *b, const char *s)
{
    out(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            out(b, "\\%c", *p);
        else if (*p == '\n')
            out(b, "\\n");
        else if (*p == '\t')
            out(b, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            out(b, "\\x%02x", *p);
        else
            out(b, "%c", *p);
    }
    out(b, "\"");
}

static void out_policy(obuf *b, const sim_scenario *s)
{
    if (!s->npolicy)
        return;
    out(b, "policy:\n");
    for (size_t i = 0; i < s->npolicy; i++) {
        const sim_policy_override *o = &s->policy[i];
        const cr_knob_info *k = NULL;
        for (size_t j = 0; j < cr_policy_knob_count(); j++)
            if (strcmp(cr_policy_knob(j)->name, o->name) == 0)
                k = cr_policy_knob(j);
        if (!k) {
            b->bad = 1;
            return;
        }
        out(b, "  %s: ", o->name);
        switch (k->type) {
        case CR_KNOB_BOOL:
            out(b, "%s", o->value ? "true" : "false");
            break;
        case CR_KNOB_DURATION:
            if (o->value == 0)
                out(b, "0");
            else
                out_duration(b, o->value);
            break;
        default:
            out(b, "%" PRIu64, o->value);
            break;
        }
        out(b, "\n");
    }
}

static void out_ref(obuf *b, const sim_scenario *s, const sim_thread_ref *r)
{
    if (r->kind == SIM_REF_NAMED) {
        if (r->name < 0 || (size_t)r->name >= s->nnames) {
            b->bad = 1;
            return;
        }
        out(b, "%s", s->names[r->name]);
    } else {
        const char *w = sim_ref_kind_name(r->kind);
        if (!w || !w[0]) {
            b->bad = 1;
            return;
        }
        out(b, "%s", w);
    }
    if (r->as >= 0) {
        if ((size_t)r->as >= s->nnames) {
            b->bad = 1;
            return;
        }
        out(b, ", as: %s", s->names[r->as]);
    }
}

static void out_steps(obuf *b, const sim_scenario *s, const sim_step *st, size_t n, int indent)
{
    for (size_t i = 0; i < n && !b->bad; i++) {
        const sim_step *x = &st[i];
        const char *name = sim_step_kind_name(x->kind);
        if (!name) {
            b->bad = 1;
            return;
        }
        out(b, "%*s- %s", indent, "", name);
        switch (x->kind) {
        case SIM_STEP_SEND:
        case SIM_STEP_SWITCH:
            out(b, ": {thread: ");
            out_ref(b, s, &x->ref);
            if (x->kind == SIM_STEP_SEND && x->via_http)
                out(b, ", via: http");
            out(b, "}\n");
            break;
        case SIM_STEP_WAIT:
            out(b, ": ");
            out_dist(b, &x->wait);
            out(b, "\n");
            break;
        case SIM_STEP_REPEAT:
            out(b, ":\n%*stimes: %" PRIu32 "\n%*ssteps:\n", indent + 4, "", x->times, indent + 4,
                "");
            out_steps(b, s, x->steps, x->nsteps, indent + 6);
            break;
        default:
            out(b, "\n");
            break;
        }
    }
}

static void out_expect(obuf *b, const sim_expect *e)
{
    int any = 0;
    if (e->is_default)
        return; /* no block: the strict default */
    out(b, "expect:");
    if (e->has_rate) {
        out(b, "\n  delivery_rate: ");
        out_fraction(b, e->delivery_rate);
        any = 1;
    }
    for (int i = 0; i < SIM_COUNT__N; i++) {
        if (e->max[i] < 0)
            continue;
        out(b, "\n  %s: %" PRId64, sim_count_name(i), e->max[i]);
        any = 1;
    }
    out(b, any ? "\n" : " {}\n");
}

int sim_scenario_emit(const sim_scenario *s, char **outp, size_t *len)
{
    obuf b = {0};
    if (!outp)
        return -1;
    *outp = NULL;
    if (!s)
        return -1;
    out(&b, "version: 1\nname: %s\nsummary: ", s->name);
    out_quoted(&b, s->summary ? s->summary : "-");
    out(&b, "\nseeds: %" PRIu32 "\nhorizon: ", s->seeds);
    out_duration(&b, s->horizon);
    if (s->drain) {
        out(&b, "\ndrain: ");
        out_duration(&b, s->drain);
    }
    out(&b, "\nprofile: %s\n", s->profile == CR_PROFILE_LEGACY ? "legacy" : "fixed");
    out_policy(&b, s);
    out(&b, "users: %" PRIu32 "\nclients_per_user: ", s->users);
    out_dist(&b, &s->clients_per_user);
    out(&b, "\ndeadline: ");
    out_duration(&b, s->deadline);
    out(&b, "\nnetwork:\n  uplink: ");
    out_dist(&b, &s->uplink);
    out(&b, "\n  downlink: ");
    out_dist(&b, &s->downlink);
    out(&b, "\n  reconnect_backoff: ");
    out_dist(&b, &s->reconnect_backoff);
    out(&b, "\nserver:\n  auth: ");
    out_dist(&b, &s->auth);
    out(&b, "\n  thread_lookup: ");
    out_dist(&b, &s->thread_lookup);
    out(&b, "\n  agent_start: ");
    out_dist(&b, &s->agent_start);
    out(&b, "\n  event_gap: ");
    out_dist(&b, &s->event_gap);
    out(&b, "\n  agent_events: [");
    for (size_t i = 0; i < s->nagent_events; i++)
        out(&b, "%s%s", i ? ", " : "", s->agent_events[i]);
    out(&b, "]\nfaults:\n  thread_update_fail: ");
    out_fraction(&b, s->thread_update_fail);
    out(&b, "\n  disconnect: ");
    out_fraction(&b, s->disconnect);
    out(&b, "\nclient:\n");
    out_steps(&b, s, s->steps, s->nsteps, 2);
    out_expect(&b, &s->expect);
    if (b.bad || !b.p) {
        free(b.p);
        return -1;
    }
    *outp = b.p;
    if (len)
        *len = b.len;
    return 0;
}
