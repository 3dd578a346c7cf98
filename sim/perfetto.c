/*
 * perfetto.c - Chrome trace-event JSON of a replayed run (perfetto.h).
 *
 * The events are built as jansson objects into one array with their
 * virtual time and creation order, sorted by (time, order) and dumped one
 * per line inside a hand-written envelope.  Creation order puts the end
 * of a connection's state before the beginning of the next at the same
 * time, so the B/E slices of a track nest.
 */
#include "sim/perfetto.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim/grow.h"

/* Track ids: tabs 1.., connections CONN_TID + id, a user's agent runs
 * AGENT_TID; the process of no user WORLD_PID with its one track 1. */
#define CONN_TID  100000
#define AGENT_TID 99999
#define WORLD_PID 1000000

typedef struct pev {
    uint64_t ts; /* ns */
    size_t order;
    json_t *j;
} pev;

typedef struct out {
    pev *v;
    size_t n, cap;
    int failed;
} out;

/* utf8_len returns the length of the valid UTF-8 sequence at s (RFC 3629:
 * no overlongs, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* jstr makes a JSON string; bytes that are not valid UTF-8 become '?'
 * (valid multi-byte characters are kept).  O(length). */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    size_t len = strlen(s);
    char *c = malloc(len + 1);
    if (!c)
        return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < len) {
        size_t n = utf8_len(u + i);
        if (n == 0) {
            c[o++] = '?';
            i++;
        } else {
            memcpy(c + o, s + i, n);
            o += n;
            i += n;
        }
    }
    c[o] = '\0';
    j = json_string(c);
    free(c);
    return j;
}

/* put adds event j (owned) at time ts. */
static void put(out *o, uint64_t ts, json_t *j)
{
    if (!j || o->failed || sim_grow((void **)&o->v, &o->cap, o->n + 1, sizeof(pev))) {
        json_decref(j);
        o->failed = 1;
        return;
    }
    o->v[o->n] = (pev){ts, o->n, j};
    o->n++;
}

/* ev makes the common part of a timed event. */
static json_t *ev(const char *ph, const char *name, const char *cat, uint64_t ts, int64_t pid,
                  int64_t tid)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "name", jstr(name));
    json_object_set_new(j, "cat", jstr(cat));
    json_object_set_new(j, "ph", json_string(ph));
    json_object_set_new(j, "ts", json_real((double)ts / 1000.0));
    json_object_set_new(j, "pid", json_integer(pid));
    json_object_set_new(j, "tid", json_integer(tid));
    return j;
}

static json_t *meta(const char *what, int64_t pid, int64_t tid, const char *key, json_t *val)
{
    json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:{s:o}}", "name", what, "ph", "M", "pid",
                          (json_int_t)pid, "tid", (json_int_t)tid, "args", key, val);
    return j;
}

static int64_t pid_of_user(int64_t user)
{
    return user >= 0 ? user + 1 : WORLD_PID;
}

/* track_of: the process and track of an item. */
static void track_of(const sim_tl *tl, const sim_tl_item *x, int64_t *pid, int64_t *tid)
{
    *pid = pid_of_user(x->user);
    if (x->kind == SIM_TL_TAB || x->kind == SIM_TL_RECEIVE)
        *tid = x->tab + 1;
    else if (x->kind == SIM_TL_START || x->kind == SIM_TL_EMIT)
        *tid = x->user >= 0 ? AGENT_TID : 1;
    else if (x->conn >= 0 && (size_t)x->conn < tl->nconns && tl->conns[x->conn].known &&
             tl->conns[x->conn].tab >= 0 &&
             x->user == (int64_t)tl->tabs[tl->conns[x->conn].tab].user)
        *tid = CONN_TID + x->conn;
    else {
        *pid = WORLD_PID;
        *tid = 1;
    }
}

static void set_id(json_t *args, const char *key, int64_t v)
{
    if (v >= 0)
        json_object_set_new(args, key, json_integer(v));
}

/* verdicts_json: every tab's verdict of event e. */
static json_t *verdicts_json(const sim_tl *tl, const sim_tl_event *e)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < e->nverdicts; i++) {
        const sim_tl_verdict *v = &tl->verdicts[e->verdicts[i]];
        json_t *o = json_pack("{s:s, s:s}", "tab", tl->tabs[v->tab].name, "outcome", v->kind);
        if (!o)
            continue;
        if (!strcmp(v->kind, "lost"))
            json_object_set_new(o, "cause", json_string(v->cause));
        if (!strcmp(v->kind, "not_owed"))
            json_object_set_new(o, "why", json_string(v->why));
        if (v->arrived >= 0 && strcmp(v->kind, "not_owed"))
            json_object_set_new(o, "latency_ms",
                                json_real((double)((uint64_t)v->arrived - v->from) / 1e6));
        json_array_append_new(a, o);
    }
    return a;
}

/* step_args: the structured args of one item. */
static json_t *step_args(const sim_tl *tl, const sim_tl_item *x)
{
    json_t *a = json_object();
    if (!a)
        return NULL;
    json_object_set_new(a, "detail", jstr(x->rec->detail));
    set_id(a, "msg", x->msg);
    set_id(a, "conn", x->conn);
    set_id(a, "run", x->run);
    set_id(a, "ev", x->ev);
    set_id(a, "req", x->req);
    if (x->thread)
        json_object_set_new(a, "thread", jstr(x->thread));
    if (x->ev >= 0 && (size_t)x->ev < tl->nevents) {
        const sim_tl_event *e = &tl->events[x->ev];
        json_object_set_new(a, "seq", json_integer((json_int_t)e->seq));
        if (x->kind == SIM_TL_EMIT) {
            json_object_set_new(a, "core_outcome", jstr(e->outcome));
            json_object_set_new(a, "sent_on", json_integer(e->sent));
            json_object_set_new(a, "verdicts", verdicts_json(tl, e));
        }
    }
    const char *g = x->kind == SIM_TL_DELIVER ? strstr(x->rec->detail, " gen=") : NULL;
    if (g) {
        json_object_set_new(a, "generation", json_integer((json_int_t)strtoll(g + 5, NULL, 10)));
        json_object_set_new(a, "replay", json_boolean(strstr(x->rec->detail, " replay") != NULL));
    }
    if (x->kind == SIM_TL_DISPATCH && x->msg >= 0)
        json_object_set_new(a, "core_msg", json_integer(tl->msgs[x->msg].core_msg));
    return a;
}

/* conn_states: the B/E slices of every connection's states. */
static void conn_states(const sim_tl *tl, uint64_t last, out *o)
{
    for (size_t c = 0; c < tl->nconns; c++) {
        const sim_tl_conn *k = &tl->conns[c];
        if (!k->known || k->tab < 0)
            continue;
        int64_t pid = pid_of_user(tl->tabs[k->tab].user), tid = CONN_TID + (int64_t)c;
        int open = 0;
        for (size_t i = 0; i < k->nstates; i++) {
            const sim_tl_state *st = &k->states[i];
            if (open)
                put(o, st->at, ev("E", "", "conn", st->at, pid, tid));
            open = 0;
            if (!strcmp(st->state, "CLOSED"))
                continue;
            char name[96];
            if (strcmp(st->thread, "-"))
                snprintf(name, sizeof name, "%s %.31s g%" PRIu64, st->state, st->thread, st->gen);
            else
                snprintf(name, sizeof name, "%s", st->state);
            json_t *b = ev("B", name, "conn", st->at, pid, tid);
            if (b)
                json_object_set_new(b, "args",
                                    json_pack("{s:s, s:s, s:I, s:s, s:I}", "state", st->state,
                                              "thread", st->thread, "generation",
                                              (json_int_t)st->gen, "associating", st->assoc,
                                              "attempt", (json_int_t)st->attempt));
            put(o, st->at, b);
            open = 1;
        }
        if (open)
            put(o, last, ev("E", "", "conn", last, pid, tid));
    }
}

/* async adds one b/e pair (cat, id) in process pid. */
static void async(out *o, const char *name, const char *cat, uint64_t id, uint64_t from,
                  uint64_t to, int64_t pid, json_t *args)
{
    char sid[32];
    snprintf(sid, sizeof sid, "0x%" PRIx64, id);
    json_t *b = ev("b", name, cat, from, pid, pid == WORLD_PID ? 1 : AGENT_TID);
    json_t *e = ev("e", name, cat, to, pid, pid == WORLD_PID ? 1 : AGENT_TID);
    if (b) {
        json_object_set_new(b, "id", json_string(sid));
        json_object_set_new(b, "args", args ? args : json_object());
    } else {
        json_decref(args);
    }
    if (e)
        json_object_set_new(e, "id", json_string(sid));
    put(o, from, b);
    put(o, to, e);
}

/* flow adds one flow event (s, t or f) with id, bound to the enclosing
 * slice (the step's zero-length X at the same time on that track). */
static void flow(out *o, const char *ph, uint64_t id, uint64_t ts, int64_t pid, int64_t tid)
{
    json_t *j = ev(ph, "event", "event", ts, pid, tid);
    if (j) {
        json_object_set_new(j, "id", json_integer((json_int_t)id));
        if (strcmp(ph, "s"))
            json_object_set_new(j, "bp", json_string("e"));
    }
    put(o, ts, j);
}

static int cmp_pev(const void *x, const void *y)
{
    const pev *a = x, *b = y;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

int sim_perfetto_write(const sim_tl *tl, FILE *f)
{
    out o = {NULL, 0, 0, 0};
    uint64_t last = 0;
    for (size_t i = 0; i < tl->nitems; i++)
        if (tl->items[i].rec->time > last)
            last = tl->items[i].rec->time;

    /* Names of every process and track, first. */
    int64_t maxu = -1;
    for (size_t t = 0; t < tl->ntabs; t++)
        if ((int64_t)tl->tabs[t].user > maxu)
            maxu = tl->tabs[t].user;
    put(&o, 0, meta("process_name", WORLD_PID, 0, "name", json_string("world")));
    put(&o, 0, meta("thread_name", WORLD_PID, 1, "name", json_string("world, threadsvc, core")));
    for (int64_t u = 0; u <= maxu; u++) {
        char name[32];
        snprintf(name, sizeof name, "u%" PRId64, u);
        put(&o, 0, meta("process_name", u + 1, 0, "name", json_string(name)));
        put(&o, 0, meta("process_sort_index", u + 1, 0, "sort_index", json_integer(u + 1)));
        snprintf(name, sizeof name, "agent u%" PRId64, u);
        put(&o, 0, meta("thread_name", u + 1, AGENT_TID, "name", json_string(name)));
        put(&o, 0, meta("thread_sort_index", u + 1, AGENT_TID, "sort_index", json_integer(0)));
    }
    for (size_t t = 0; t < tl->ntabs; t++) {
        char name[64];
        snprintf(name, sizeof name, "tab %.39s", tl->tabs[t].name);
        int64_t pid = pid_of_user(tl->tabs[t].user);
        put(&o, 0, meta("thread_name", pid, (int64_t)t + 1, "name", jstr(name)));
        put(&o, 0, meta("thread_sort_index", pid, (int64_t)t + 1, "sort_index", json_integer(1)));
    }
    for (size_t c = 0; c < tl->nconns; c++) {
        const sim_tl_conn *k = &tl->conns[c];
        if (!k->known || k->tab < 0)
            continue;
        char name[96];
        snprintf(name, sizeof name, "conn c%zu (%.39s)", c, tl->tabs[k->tab].name);
        int64_t pid = pid_of_user(tl->tabs[k->tab].user);
        put(&o, 0, meta("thread_name", pid, CONN_TID + (int64_t)c, "name", jstr(name)));
        put(&o, 0,
            meta("thread_sort_index", pid, CONN_TID + (int64_t)c, "sort_index", json_integer(2)));
    }

    /* Every step as a zero-length slice on its track. */
    conn_states(tl, last, &o);
    for (size_t i = 0; i < tl->nitems; i++) {
        const sim_tl_item *x = &tl->items[i];
        if (x->note || x->kind == SIM_TL_VERDICT)
            continue;
        int64_t pid, tid;
        track_of(tl, x, &pid, &tid);
        json_t *j = ev("X", x->rec->step, x->rec->actor, x->rec->time, pid, tid);
        if (j) {
            json_object_set_new(j, "dur", json_real(0));
            json_object_set_new(j, "args", step_args(tl, x));
        }
        put(&o, x->rec->time, j);
        /* Associations: from the request to its answer. */
        if (x->kind == SIM_TL_ASSOC && x->user >= 0) {
            uint64_t to = last;
            const char *res = "unanswered";
            for (size_t k = i + 1; k < tl->nitems; k++) {
                const sim_tl_item *y = &tl->items[k];
                if (y->kind == SIM_TL_ANSWER && y->req == x->req) {
                    to = y->rec->time;
                    res = strstr(y->rec->detail, " ok ") ? "ok" : "failed";
                    break;
                }
            }
            char name[96];
            snprintf(name, sizeof name, "associate %.31s (c%" PRId64 ")",
                     x->thread ? x->thread : "?", x->conn);
            async(&o, name, "assoc", (uint64_t)x->req, x->rec->time, to, pid,
                  json_pack("{s:I, s:I, s:s, s:s}", "req", (json_int_t)x->req, "conn",
                            (json_int_t)x->conn, "thread", x->thread ? x->thread : "-", "outcome",
                            res));
        }
    }
    /* Agent runs, buffered periods and flows. */
    for (size_t r = 0; r < tl->nruns; r++) {
        const sim_tl_run *u = &tl->runs[r];
        if (!u->known || u->msg < 0 || (size_t)u->msg >= tl->nmsgs || !tl->msgs[u->msg].known ||
            tl->msgs[u->msg].tab < 0)
            continue;
        const sim_tl_msg *m = &tl->msgs[u->msg];
        uint64_t to = u->last_emit > u->started_at ? u->last_emit : u->started_at;
        char name[96];
        snprintf(name, sizeof name, "run r%zu (m%" PRId64 ", %.31s)", r, u->msg, m->thread);
        async(&o, name, "run", r, u->started_at, to, pid_of_user(tl->tabs[m->tab].user),
              json_pack("{s:I, s:I, s:s, s:b}", "run", (json_int_t)r, "msg", (json_int_t)u->msg,
                        "thread", m->thread, "run_go", u->went));
    }
    for (size_t e = 0; e < tl->nevents; e++) {
        const sim_tl_event *x = &tl->events[e];
        if (!x->known || !x->name[0] || x->msg < 0 || (size_t)x->msg >= tl->nmsgs ||
            !tl->msgs[x->msg].known || tl->msgs[x->msg].tab < 0)
            continue;
        int64_t user = tl->tabs[tl->msgs[x->msg].tab].user, pid = pid_of_user(user);
        if (!strcmp(x->outcome, "buffered")) {
            uint64_t to = last;
            const char *how = "still buffered";
            for (size_t h = 0; h < x->nhops; h++)
                if (x->hops[h].conn >= 0) {
                    to = x->hops[h].at;
                    how = "replayed";
                    break;
                }
            if (x->report[0] && x->report_at <= to) {
                to = x->report_at;
                how = x->report;
            }
            char name[64];
            snprintf(name, sizeof name, "buffered e%zu", e);
            async(&o, name, "buffered", e, x->emitted_at, to, pid,
                  json_pack("{s:I, s:I, s:s}", "ev", (json_int_t)e, "seq", (json_int_t)x->seq,
                            "outcome", how));
        }
        /* One flow per send: emit -> send on a connection -> its tab's
         * first reception after it. */
        uint64_t nflow = 0;
        for (size_t h = 0; h < x->nhops && nflow < 16; h++) {
            const sim_tl_hop *hp = &x->hops[h];
            if (hp->conn < 0 || hp->tab < 0)
                continue;
            uint64_t id = (uint64_t)e * 16 + nflow++ + 1;
            flow(&o, "s", id, x->emitted_at, pid, AGENT_TID);
            const sim_tl_hop *rcv = NULL;
            for (size_t g = h + 1; g < x->nhops && !rcv; g++)
                if (x->hops[g].conn < 0 && x->hops[g].tab == hp->tab && x->hops[g].at >= hp->at)
                    rcv = &x->hops[g];
            if (rcv) {
                flow(&o, "t", id, hp->at, pid, CONN_TID + hp->conn);
                flow(&o, "f", id, rcv->at, pid, rcv->tab + 1);
            } else {
                flow(&o, "f", id, hp->at, pid, CONN_TID + hp->conn);
            }
        }
    }

    int rc = o.failed ? -1 : 0;
    if (o.n)
        qsort(o.v, o.n, sizeof(pev), cmp_pev);
    if (rc == 0 && fputs("{\"traceEvents\":[", f) < 0)
        rc = -1;
    for (size_t i = 0; i < o.n; i++) {
        if (rc == 0 && (fputs(i ? ",\n" : "\n", f) < 0 ||
                        json_dumpf(o.v[i].j, f, JSON_COMPACT | JSON_REAL_PRECISION(15)) < 0))
            rc = -1;
        json_decref(o.v[i].j);
    }
    free(o.v);
    if (rc == 0 && fputs("\n],\"displayTimeUnit\":\"ms\"}\n", f) < 0)
        rc = -1;
    if (rc == 0 && ferror(f))
        rc = -1;
    return rc;
}
