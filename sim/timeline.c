/*
 * timeline.c - the replay's model of a run, its timeline and the causal
 * story of one event (see timeline.h, docs/timeline.md).
 *
 * The model is read off the kept trace: the canonical records, whose text
 * the world writes (sim/world.c, the same words sim/tdiff.c reads), and the
 * world's notes (sim_trace_note), which say what the text cannot without
 * changing the trace hash: the simulator's id of the message a core
 * dispatch handed over, what cr_run_emit sent during the call, every
 * connection's state in the core after each step, and every (event, tab)
 * verdict of the oracle.  Entities are kept in arrays indexed by their ids
 * (the ids are dense and start at 0 or 1), so building is O(records +
 * notes) apart from the tab names (a linear search with a one-entry cache,
 * O(tabs) at worst per record).
 */
#include "sim/timeline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim/dist.h"
#include "sim/grow.h"
#include "sim/result.h"

/* ---- units ------------------------------------------------------------------ */

char *sim_tl_dur(uint64_t ns, char *buf, size_t len)
{
    if (ns < 1000)
        snprintf(buf, len, "%" PRIu64 " ns", ns);
    else if (ns < 1000000)
        snprintf(buf, len, "%.1f us", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
    else
        snprintf(buf, len, "%.3f s", (double)ns / 1e9);
    return buf;
}

char *sim_tl_at(uint64_t ns, char *buf, size_t len)
{
    snprintf(buf, len, "%" PRIu64 ".%06" PRIu64 " s", ns / 1000000000u, ns % 1000000000u / 1000u);
    return buf;
}

/* ---- reading details ------------------------------------------------------------ */

/* kv returns the value of "key" (e.g. "conn=") at a word start of s, or
 * NULL. */
static const char *kv(const char *s, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = s; (p = strstr(p, key)) != NULL; p++)
        if (p == s || p[-1] == ' ')
            return p + kl;
    return NULL;
}

static int kv_i64(const char *s, const char *key, int64_t *v)
{
    const char *p = kv(s, key);
    if (!p)
        return -1;
    char *e;
    errno = 0;
    long long x = strtoll(p, &e, 10);
    if (e == p || errno)
        return -1;
    *v = x;
    return 0;
}

static int64_t kv_or(const char *s, const char *key, int64_t dflt)
{
    int64_t v;
    return kv_i64(s, key, &v) == 0 ? v : dflt;
}

/* kv_str copies the value of key (up to a space) into buf ("" if none). */
static void kv_str(const char *s, const char *key, char *buf, size_t len)
{
    const char *p = kv(s, key);
    size_t n = p ? strcspn(p, " ") : 0;
    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), p ? p : "");
}

/* word copies the n-th space-separated word of s (from 0). */
static void word(const char *s, int n, char *buf, size_t len)
{
    const char *p = s;
    for (int i = 0; i < n && p; i++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    size_t k = p ? strcspn(p, " ") : 0;
    snprintf(buf, len, "%.*s", (int)(k < len ? k : len - 1), p ? p : "");
}

/* after_arrow copies what follows "-> " up to a space. */
static void after_arrow(const char *s, char *buf, size_t len)
{
    const char *p = strstr(s, "-> ");
    size_t k = p ? strcspn(p + 3, " ") : 0;
    snprintf(buf, len, "%.*s", (int)(k < len ? k : len - 1), p ? p + 3 : "");
}

/* ---- building --------------------------------------------------------------------- */

#define GROW(arr, cap, need) sim_grow((void **)&(arr), &(cap), (size_t)(need), sizeof(*(arr)))

static int64_t tab_id(sim_tl *tl, const char *name)
{
    size_t *last = &tl->tab_hint; /* the last hit */
    if (*last < tl->ntabs && !strcmp(tl->tabs[*last].name, name))
        return (int64_t)*last;
    for (size_t i = 0; i < tl->ntabs; i++)
        if (!strcmp(tl->tabs[i].name, name))
            return (int64_t)(*last = i);
    if (GROW(tl->tabs, tl->captabs, tl->ntabs + 1))
        return -1;
    sim_tl_tab *t = &tl->tabs[tl->ntabs];
    snprintf(t->name, sizeof t->name, "%.39s", name);
    unsigned u = 0;
    t->user = sscanf(name, "u%u", &u) == 1 ? u : 0;
    t->sock = -1;
    return (int64_t)(*last = tl->ntabs++);
}

static sim_tl_conn *conn_at(sim_tl *tl, int64_t c)
{
    if (c < 0 || GROW(tl->conns, tl->capconns, c + 1))
        return NULL;
    if ((size_t)c >= tl->nconns)
        tl->nconns = (size_t)c + 1;
    sim_tl_conn *k = &tl->conns[c];
    if (!k->known) {
        k->known = 1;
        k->tab = k->sock = -1;
        k->closed_at = UINT64_MAX;
    }
    return k;
}

static sim_tl_msg *msg_at(sim_tl *tl, int64_t m)
{
    if (m < 0 || GROW(tl->msgs, tl->capmsgs, m + 1))
        return NULL;
    if ((size_t)m >= tl->nmsgs)
        tl->nmsgs = (size_t)m + 1;
    sim_tl_msg *x = &tl->msgs[m];
    if (!x->known) {
        x->known = 1;
        x->tab = x->conn = x->core_msg = x->run = -1;
    }
    return x;
}

static sim_tl_run *run_at(sim_tl *tl, int64_t r)
{
    if (r < 0 || GROW(tl->runs, tl->capruns, r + 1))
        return NULL;
    if ((size_t)r >= tl->nruns)
        tl->nruns = (size_t)r + 1;
    sim_tl_run *x = &tl->runs[r];
    if (!x->known) {
        x->known = 1;
        x->msg = -1;
    }
    return x;
}

static sim_tl_event *event_at(sim_tl *tl, int64_t e)
{
    if (e < 0 || GROW(tl->events, tl->capevents, e + 1))
        return NULL;
    if ((size_t)e >= tl->nevents)
        tl->nevents = (size_t)e + 1;
    sim_tl_event *x = &tl->events[e];
    if (!x->known) {
        x->known = 1;
        x->msg = x->run = -1;
    }
    return x;
}

static int add_hop(sim_tl_event *e, const sim_tl_hop *h)
{
    if (GROW(e->hops, e->caphops, e->nhops + 1))
        return -1;
    e->hops[e->nhops++] = *h;
    return 0;
}

static int set_map(int64_t **map, size_t *cap, int64_t key, int64_t val)
{
    if (key < 0 || sim_grow((void **)map, cap, (size_t)key + 1, sizeof(int64_t)))
        return -1;
    (*map)[key] = val + 1;
    return 0;
}

static int64_t get_map(const int64_t *map, size_t cap, int64_t key)
{
    return key >= 0 && (size_t)key < cap ? map[key] - 1 : -1;
}

/* parse_rec reads one canonical record into item x and the entities. */
static int parse_rec(sim_tl *tl, sim_tl_item *x)
{
    const sim_trace_rec *r = x->rec;
    const char *a = r->actor, *s = r->step, *d = r->detail;
    char buf[64];
    if (!strncmp(a, "client:", 7)) {
        x->kind = SIM_TL_TAB;
        x->tab = tab_id(tl, a + 7);
        if (x->tab < 0)
            return -1;
        sim_tl_tab *t = &tl->tabs[x->tab];
        x->user = t->user;
        int64_t sock = kv_or(d, "sock=", -1);
        if (sock >= 0 && (!strcmp(s, "connect") || !strcmp(s, "reconnected"))) {
            t->sock = sock;
            if (set_map(&tl->sock_tab, &tl->capsocktabs, sock, x->tab))
                return -1;
        }
        x->sock = sock >= 0 ? sock : t->sock;
        kv_str(d, "thread=", x->tbuf, sizeof x->tbuf);
        if (!strcmp(s, "send")) {
            x->msg = kv_or(d, "msg=", -1);
            sim_tl_msg *m = msg_at(tl, x->msg);
            if (!m)
                return -1;
            m->tab = x->tab;
            m->sent_at = r->time;
            snprintf(m->thread, sizeof m->thread, "%s", x->tbuf);
            kv_str(d, "via=", m->via, sizeof m->via);
        } else if (!strcmp(s, "resend") || !strcmp(s, "message-rejected")) {
            x->msg = kv_or(d, "msg=", -1);
            sim_tl_msg *m = msg_at(tl, x->msg);
            if (m && !strcmp(s, "message-rejected"))
                m->refused_told = 1;
        } else if (!strcmp(s, "receive")) {
            x->kind = SIM_TL_RECEIVE;
            x->ev = kv_or(d, "ev=", -1);
            sim_tl_event *e = event_at(tl, x->ev);
            if (!e)
                return -1;
            sim_tl_hop h = {.at = r->time, .conn = -1, .tab = x->tab};
            after_arrow(d, h.how, sizeof h.how);
            if (add_hop(e, &h))
                return -1;
        }
        return 0;
    }
    if (!strcmp(a, "server")) {
        x->kind = SIM_TL_SERVER;
        x->conn = kv_or(d, "conn=", -1);
        x->msg = kv_or(d, "msg=", -1);
        kv_str(d, "thread=", x->tbuf, sizeof x->tbuf);
        if (!strcmp(s, "open")) {
            x->kind = SIM_TL_OPEN;
            sim_tl_conn *k = conn_at(tl, x->conn);
            if (!k)
                return -1;
            k->sock = kv_or(d, "sock=", -1);
            k->opened_at = r->time;
            k->tab = get_map(tl->sock_tab, tl->capsocktabs, k->sock);
            if (set_map(&tl->sock_conn, &tl->capsocks, k->sock, x->conn))
                return -1;
        } else if (!strcmp(s, "message")) {
            sim_tl_msg *m = msg_at(tl, x->msg);
            if (!m)
                return -1;
            m->conn = x->conn;
            m->server_at = r->time;
            kv_str(d, "rc=", m->server_rc, sizeof m->server_rc);
        } else if (!strcmp(s, "closed")) {
            sim_tl_conn *k = conn_at(tl, x->conn);
            if (k && r->time < k->closed_at)
                k->closed_at = r->time;
        }
        return 0;
    }
    if (!strcmp(a, "auth")) {
        x->kind = SIM_TL_AUTH;
        x->conn = kv_or(d, "conn=", -1);
        return 0;
    }
    if (!strcmp(a, "threadsvc")) {
        x->req = kv_or(d, "req=", -1);
        if (!strcmp(s, "associate")) {
            x->kind = SIM_TL_ASSOC;
            x->conn = kv_or(d, "conn=", -1);
            if (set_map(&tl->req_conn, &tl->capreqs, x->req, x->conn))
                return -1;
            word(d, 2, buf, sizeof buf); /* "u3/t1" */
            const char *sl = strchr(buf, '/');
            snprintf(x->tbuf, sizeof x->tbuf, "%.31s", sl ? sl + 1 : "");
        } else {
            x->kind = SIM_TL_ANSWER;
            x->conn = get_map(tl->req_conn, tl->capreqs, x->req);
        }
        return 0;
    }
    if (!strcmp(a, "core")) {
        x->kind = SIM_TL_CORE;
        x->conn = kv_or(d, "conn=", -1);
        if (x->conn == 0 && strcmp(s, "deliver") && strcmp(s, "dispatch"))
            x->conn = -1; /* a report about no connection */
        if (!strcmp(s, "dispatch")) {
            x->kind = SIM_TL_DISPATCH;
            kv_str(d, "ctx=", buf, sizeof buf);
            const char *sl = strchr(buf, '/');
            if (sl && strcmp(sl + 1, "-"))
                snprintf(x->tbuf, sizeof x->tbuf, "%.31s", sl + 1);
        } else if (!strcmp(s, "deliver")) {
            x->kind = SIM_TL_DELIVER;
            x->ev = kv_or(d, "ev=", -1);
            word(d, 1, buf, sizeof buf);
            const char *sl = strchr(buf, '/');
            snprintf(x->tbuf, sizeof x->tbuf, "%.31s", sl ? sl + 1 : "");
            sim_tl_event *e = event_at(tl, x->ev);
            if (!e)
                return -1;
            sim_tl_hop h = {.at = r->time,
                            .conn = x->conn,
                            .tab = -1,
                            .gen = (uint64_t)kv_or(d, "gen=", 0),
                            .replay = strstr(d, " replay") != NULL};
            if (strstr(d, " notification"))
                snprintf(h.how, sizeof h.how, "notification");
            if (add_hop(e, &h))
                return -1;
        } else if (!strcmp(s, "notify")) {
            kv_str(d, "thread=", x->tbuf, sizeof x->tbuf);
        } else if (!strcmp(s, "run_go")) {
            x->run = kv_or(d, "run=", -1);
            sim_tl_run *u = run_at(tl, x->run);
            if (u && !u->went) {
                u->went = 1;
                u->go_at = r->time;
            }
        } else if (!strcmp(s, "close")) {
            sim_tl_conn *k = conn_at(tl, x->conn);
            if (k && r->time < k->closed_at)
                k->closed_at = r->time;
        }
        return 0;
    }
    if (!strcmp(a, "agent")) {
        x->run = kv_or(d, "run=", -1);
        if (!strcmp(s, "start") || !strcmp(s, "start-http")) {
            x->kind = SIM_TL_START;
            x->msg = kv_or(d, "msg=", -1);
            sim_tl_run *u = run_at(tl, x->run);
            sim_tl_msg *m = msg_at(tl, x->msg);
            if (!u || !m)
                return x->run > 0 && x->msg >= 0 ? -1 : 0;
            u->msg = x->msg;
            u->started_at = r->time;
            m->run = x->run;
        } else if (!strcmp(s, "emit")) {
            x->kind = SIM_TL_EMIT;
            x->ev = kv_or(d, "ev=", -1);
            sim_tl_event *e = event_at(tl, x->ev);
            if (!e)
                return -1;
            e->run = x->run;
            e->emitted_at = r->time;
            e->seq = (uint64_t)kv_or(d, "seq=", 0);
            word(d, 1, e->name, sizeof e->name);
            after_arrow(d, e->outcome, sizeof e->outcome);
            sim_tl_run *u = run_at(tl, x->run);
            if (u) {
                u->last_emit = r->time;
                e->msg = u->msg;
            }
        }
        return 0;
    }
    if (!strcmp(a, "oracle")) {
        x->kind = SIM_TL_VERDICT;
        x->msg = kv_or(d, "msg=", -1);
        x->ev = kv_or(d, "ev=", -1);
        return 0;
    }
    if (!strcmp(a, "world"))
        x->kind = SIM_TL_WORLD;
    return 0;
}

static int add_item(sim_tl *tl, const sim_trace_rec *r, int note, sim_tl_item **out)
{
    if (GROW(tl->items, tl->capitems, tl->nitems + 1))
        return -1;
    sim_tl_item *x = &tl->items[tl->nitems++];
    memset(x, 0, sizeof *x);
    x->rec = r;
    x->note = note;
    x->user = x->tab = x->conn = x->msg = x->run = x->ev = x->req = x->sock = -1;
    *out = x;
    return 0;
}

/* parse_note reads one note of the world. */
static int parse_note(sim_tl *tl, const sim_trace_rec *r)
{
    const char *d = r->detail;
    tl->annotated = 1;
    if (!strcmp(r->step, "state")) {
        sim_tl_item *x;
        if (add_item(tl, r, 1, &x))
            return -1;
        x->kind = SIM_TL_STATE;
        x->conn = kv_or(d, "conn=", -1);
        sim_tl_conn *k = conn_at(tl, x->conn);
        if (!k || GROW(k->states, k->capstates, k->nstates + 1))
            return -1;
        sim_tl_state *st = &k->states[k->nstates++];
        st->at = r->time;
        st->pos = tl->nitems - 1;
        kv_str(d, "state=", st->state, sizeof st->state);
        kv_str(d, "thread=", st->thread, sizeof st->thread);
        kv_str(d, "assoc=", st->assoc, sizeof st->assoc);
        st->gen = (uint64_t)kv_or(d, "gen=", 0);
        st->attempt = (uint32_t)kv_or(d, "attempt=", 0);
        if (strcmp(st->thread, "-"))
            snprintf(x->tbuf, sizeof x->tbuf, "%s", st->thread);
        else if (strcmp(st->assoc, "-"))
            snprintf(x->tbuf, sizeof x->tbuf, "%s", st->assoc);
        return 0;
    }
    if (!strcmp(r->step, "dispatch")) {
        int64_t m = kv_or(d, "msg=", -1), core = kv_or(d, "core_msg=", -1);
        sim_tl_msg *x = msg_at(tl, m);
        if (!x)
            return m < 0 ? 0 : -1;
        x->core_msg = core;
        x->dispatched_at = r->time;
        /* The dispatch record is the item just before (same callback). */
        for (size_t i = tl->nitems; i-- > 0;) {
            sim_tl_item *it = &tl->items[i];
            if (it->kind == SIM_TL_DISPATCH && it->msg < 0) {
                it->msg = m;
                kv_str(it->rec->detail, "ctx=", x->ctx, sizeof x->ctx);
                break;
            }
            if (!it->note && it->rec->time != r->time)
                break;
        }
        return 0;
    }
    if (!strcmp(r->step, "emit")) {
        sim_tl_event *e = event_at(tl, kv_or(d, "ev=", -1));
        if (!e)
            return -1;
        e->msg = kv_or(d, "msg=", e->msg);
        e->index = (uint32_t)kv_or(d, "index=", 0);
        e->of = (uint32_t)kv_or(d, "of=", 0);
        e->sent = (uint32_t)kv_or(d, "sent=", 0);
        return 0;
    }
    if (!strcmp(r->step, "report")) {
        int64_t ev;
        if (kv_i64(d, "ev=", &ev) == 0) {
            sim_tl_event *e = event_at(tl, ev);
            if (!e)
                return -1;
            if (!e->report[0]) {
                kv_str(d, "what=", e->report, sizeof e->report);
                e->report_at = r->time;
            }
        }
        return 0;
    }
    if (!strcmp(r->step, "end")) {
        int64_t end = kv_or(d, "end=", -1);
        tl->end = end < 0 ? UINT64_MAX : (uint64_t)end;
        tl->deadline = (uint64_t)kv_or(d, "deadline=", 0);
        tl->drain = (uint64_t)kv_or(d, "drain=", 0);
        return 0;
    }
    if (!strcmp(r->step, "verdict")) {
        if (GROW(tl->verdicts, tl->capverdicts, tl->nverdicts + 1))
            return -1;
        sim_tl_verdict *v = &tl->verdicts[tl->nverdicts];
        kv_str(d, "kind=", v->kind, sizeof v->kind);
        v->ev = kv_or(d, "ev=", -1);
        v->msg = kv_or(d, "msg=", -1);
        v->index = (uint32_t)kv_or(d, "index=", 0);
        char tab[48];
        kv_str(d, "tab=", tab, sizeof tab);
        v->tab = tab_id(tl, !strncmp(tab, "client:", 7) ? tab + 7 : tab);
        kv_str(d, "thread=", v->thread, sizeof v->thread);
        v->at = (uint64_t)kv_or(d, "at=", 0);
        v->from = (uint64_t)kv_or(d, "from=", 0);
        v->due = (uint64_t)kv_or(d, "due=", 0);
        v->arrived = kv_or(d, "arrived=", -1);
        v->why_at = kv_or(d, "why_at=", -1);
        kv_str(d, "cause=", v->cause, sizeof v->cause);
        kv_str(d, "said=", v->said, sizeof v->said);
        kv_str(d, "why=", v->why, sizeof v->why);
        kv_str(d, "why_to=", v->why_to, sizeof v->why_to);
        if (v->tab < 0)
            return -1;
        if (v->ev >= 0) {
            sim_tl_event *e = event_at(tl, v->ev);
            if (!e || GROW(e->verdicts, e->capverdicts, e->nverdicts + 1))
                return -1;
            e->verdicts[e->nverdicts++] = tl->nverdicts;
        }
        tl->nverdicts++;
        return 0;
    }
    return 0;
}

/* resolve fills in what an item is about from the entities it names. */
static void resolve(sim_tl *tl, sim_tl_item *x)
{
    if (x->kind == SIM_TL_TAB || x->kind == SIM_TL_RECEIVE)
        x->conn = get_map(tl->sock_conn, tl->capsocks, x->sock);
    if (x->ev >= 0 && (size_t)x->ev < tl->nevents) {
        const sim_tl_event *e = &tl->events[x->ev];
        if (x->msg < 0)
            x->msg = e->msg;
        if (x->run < 0)
            x->run = e->run;
    }
    if (x->run >= 0 && (size_t)x->run < tl->nruns && x->msg < 0)
        x->msg = tl->runs[x->run].msg;
    const sim_tl_msg *m = x->msg >= 0 && (size_t)x->msg < tl->nmsgs && tl->msgs[x->msg].known
                              ? &tl->msgs[x->msg]
                              : NULL;
    if (x->kind == SIM_TL_EMIT && m && x->ev >= 0) {
        /* the connection it met: where it was first sent, else its message's */
        const sim_tl_event *e = &tl->events[x->ev];
        for (size_t i = 0; i < e->nhops && x->conn < 0; i++)
            x->conn = e->hops[i].conn;
    }
    if (x->conn < 0 && m &&
        (x->kind == SIM_TL_START || x->kind == SIM_TL_EMIT || x->kind == SIM_TL_VERDICT ||
         x->kind == SIM_TL_SERVER))
        x->conn = m->conn;
    if (x->conn >= 0 && (size_t)x->conn < tl->nconns && tl->conns[x->conn].known && x->tab < 0)
        x->tab = tl->conns[x->conn].tab;
    if (x->tab < 0 && m)
        x->tab = m->tab;
    if (x->tab >= 0 && x->user < 0)
        x->user = tl->tabs[x->tab].user;
    if (x->tbuf[0] && strcmp(x->tbuf, "-"))
        x->thread = x->tbuf;
    else if (m && m->thread[0] && strcmp(m->thread, "-") &&
             (x->kind == SIM_TL_START || x->kind == SIM_TL_EMIT || x->kind == SIM_TL_DISPATCH ||
              x->kind == SIM_TL_RECEIVE || x->kind == SIM_TL_VERDICT || x->msg >= 0))
        x->thread = m->thread;
}

void sim_tl_free(sim_tl *tl)
{
    if (!tl)
        return;
    for (size_t i = 0; i < tl->nconns; i++)
        free(tl->conns[i].states);
    for (size_t i = 0; i < tl->nevents; i++) {
        free(tl->events[i].hops);
        free(tl->events[i].verdicts);
    }
    free(tl->items);
    free(tl->tabs);
    free(tl->conns);
    free(tl->sock_conn);
    free(tl->sock_tab);
    free(tl->req_conn);
    free(tl->msgs);
    free(tl->runs);
    free(tl->events);
    free(tl->verdicts);
    free(tl);
}

int sim_tl_build(const sim_trace *t, sim_tl **out)
{
    *out = NULL;
    size_t n = sim_trace_count(t), nn = sim_trace_note_count(t), j = 0;
    if (n == 0 && sim_trace_steps(t) > 0)
        return -1; /* not kept */
    sim_tl *tl = calloc(1, sizeof *tl);
    if (!tl)
        return -1;
    tl->trace = t;
    tl->end = UINT64_MAX;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i <= n; i++) {
        /* The notes added before record i, then record i. */
        for (; rc == 0 && j < nn && sim_trace_note_get(t, j)->after <= i; j++)
            rc = parse_note(tl, sim_trace_note_get(t, j));
        if (rc || i == n)
            break;
        sim_tl_item *x;
        rc = add_item(tl, sim_trace_get(t, i), 0, &x);
        if (rc == 0)
            rc = parse_rec(tl, x);
    }
    for (size_t i = 0; rc == 0 && i < tl->nitems; i++)
        resolve(tl, &tl->items[i]);
    for (size_t e = 0; rc == 0 && e < tl->nevents; e++)
        for (size_t h = 0; h < tl->events[e].nhops; h++) {
            sim_tl_hop *hp = &tl->events[e].hops[h];
            if (hp->tab < 0 && hp->conn >= 0 && (size_t)hp->conn < tl->nconns &&
                tl->conns[hp->conn].known)
                hp->tab = tl->conns[hp->conn].tab;
        }
    if (rc) {
        sim_tl_free(tl);
        return -1;
    }
    *out = tl;
    return 0;
}

/* ---- filters ---------------------------------------------------------------------- */

void sim_tl_filter_init(sim_tl_filter *f)
{
    memset(f, 0, sizeof *f);
    f->user = f->conn = f->tuser = -1;
    f->to = UINT64_MAX;
}

/* parse_id reads "<prefix><N>" or "<N>". */
static int parse_id(const char *s, char prefix, int64_t *out)
{
    if (*s == prefix)
        s++;
    if (*s < '0' || *s > '9')
        return -1;
    char *e;
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10);
    if (*e || errno || v > INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int sim_tl_parse_user(const char *s, int64_t *user, char *err, size_t errlen)
{
    if (parse_id(s, 'u', user) == 0)
        return 0;
    snprintf(err, errlen, "--user expects a user as the timeline names it (u3, or 3), got '%.60s'",
             s);
    return -1;
}

int sim_tl_parse_conn(const char *s, int64_t *conn, char *err, size_t errlen)
{
    if (parse_id(s, 'c', conn) == 0 && *conn > 0)
        return 0;
    snprintf(err, errlen,
             "--conn expects a connection as the timeline names it (conn=8: c8, or 8), got '%.60s'",
             s);
    return -1;
}

int sim_tl_parse_thread(const char *s, int64_t *tuser, const char **thread, char *err,
                        size_t errlen)
{
    const char *sl = strchr(s, '/');
    *tuser = -1;
    if (sl) {
        char u[24];
        snprintf(u, sizeof u, "%.*s", (int)(sl - s < 23 ? sl - s : 23), s);
        if (u[0] != 'u' || parse_id(u, 'u', tuser)) {
            snprintf(err, errlen, "--thread expects t1 or u3/t1, got '%.60s'", s);
            return -1;
        }
        s = sl + 1;
    }
    if (!*s || strchr(s, ' ') || strlen(s) > 31) {
        snprintf(err, errlen, "--thread expects t1 or u3/t1, got '%.60s'", s);
        return -1;
    }
    *thread = s;
    return 0;
}

int sim_tl_parse_time(const char *s, uint64_t *ns, char *err, size_t errlen)
{
    if (!strcmp(s, "0")) {
        *ns = 0;
        return 0;
    }
    sim_parse_error pe;
    if (sim_duration_parse(s, ns, &pe) == 0)
        return 0;
    snprintf(err, errlen, "expects a time with a unit (1.5s, 200ms, 0), got '%.60s': %.80s", s,
             pe.msg);
    return -1;
}

int sim_tl_check_filter(const sim_tl *tl, const sim_tl_filter *f, char *err, size_t errlen)
{
    if (f->from > f->to) {
        snprintf(err, errlen, "--from is after --to");
        return -1;
    }
    int64_t maxu = -1;
    for (size_t i = 0; i < tl->ntabs; i++)
        if ((int64_t)tl->tabs[i].user > maxu)
            maxu = tl->tabs[i].user;
    int64_t users[2] = {f->user, f->tuser};
    for (int k = 0; k < 2; k++)
        if (users[k] >= 0 && users[k] > maxu) {
            snprintf(err, errlen, "no user u%" PRId64 " in this run (users u0..u%" PRId64 ")",
                     users[k], maxu);
            return -1;
        }
    if (f->conn >= 0 && ((size_t)f->conn >= tl->nconns || !tl->conns[f->conn].known)) {
        snprintf(err, errlen, "no connection c%" PRId64 " in this run (c1..c%zu)", f->conn,
                 tl->nconns ? tl->nconns - 1 : 0);
        return -1;
    }
    if (f->thread) {
        for (size_t i = 0; i < tl->nitems; i++) {
            const sim_tl_item *x = &tl->items[i];
            if (x->thread && !strcmp(x->thread, f->thread) && (f->tuser < 0 || x->user == f->tuser))
                return 0;
        }
        if (f->tuser >= 0)
            snprintf(err, errlen, "no thread %.31s of u%" PRId64 " in this run", f->thread,
                     f->tuser);
        else
            snprintf(err, errlen, "no thread %.31s in this run", f->thread);
        return -1;
    }
    return 0;
}

static int keep_item(const sim_tl_filter *f, const sim_tl_item *x)
{
    uint64_t t = x->rec->time;
    if (t < f->from || t > f->to)
        return 0;
    if (x->kind == SIM_TL_WORLD)
        return 1; /* the drain marker stays in every view */
    if (f->user >= 0 && x->user != f->user)
        return 0;
    if (f->conn >= 0 && x->conn != f->conn)
        return 0;
    if (f->thread &&
        (!x->thread || strcmp(x->thread, f->thread) || (f->tuser >= 0 && x->user != f->tuser)))
        return 0;
    return 1;
}

static int keep_verdict(const sim_tl *tl, const sim_tl_filter *f, const sim_tl_verdict *v)
{
    if (v->at < f->from || v->at > f->to)
        return 0;
    int64_t user = tl->tabs[v->tab].user;
    if (f->user >= 0 && user != f->user)
        return 0;
    if (f->thread && (strcmp(v->thread, f->thread) || (f->tuser >= 0 && user != f->tuser)))
        return 0;
    if (f->conn >= 0) {
        int64_t c = -1;
        if (v->ev >= 0 && (size_t)v->ev < tl->nevents)
            for (size_t i = 0; i < tl->events[v->ev].nhops && c < 0; i++)
                c = tl->events[v->ev].hops[i].conn;
        if (c < 0 && v->msg >= 0 && (size_t)v->msg < tl->nmsgs)
            c = tl->msgs[v->msg].conn;
        if (c != f->conn)
            return 0;
    }
    return 1;
}

/* ---- words for verdicts ----------------------------------------------------------- */

static const char *const CAUSE_DOC[][2] = {
#define CAUSE_DOC_ROW(id, name, count, doc) {#name, doc},
    SIM_CAUSES(CAUSE_DOC_ROW)
#undef CAUSE_DOC_ROW
};

static const char *cause_doc(const char *cause)
{
    if (!strcmp(cause, "core_silent")) /* the full rule of docs/oracle.md */
        return "no copy was on its way to the tab while it was owed (never sent, its only copy "
               "died before the tab came back, or it arrived as stray), and neither the host nor "
               "the client was told";
    for (size_t i = 0; i < sizeof CAUSE_DOC / sizeof CAUSE_DOC[0]; i++)
        if (!strcmp(CAUSE_DOC[i][0], cause))
            return CAUSE_DOC[i][1];
    return "?";
}

/* what_to says what a tab did: "switched to t2", "closed", "went to no
 * thread", "lost its link". */
static void what_to(const char *to, char *buf, size_t len, int at_emission)
{
    if (!strcmp(to, "closed"))
        snprintf(buf, len, "%s", at_emission ? "was closed" : "closed");
    else if (!strcmp(to, "down"))
        snprintf(buf, len, "%s", at_emission ? "had no link" : "lost its link");
    else if (!strcmp(to, "none") || !strcmp(to, "-"))
        snprintf(buf, len, "%s", at_emission ? "viewed no thread" : "left it for no thread");
    else
        snprintf(buf, len, "%s %.31s", at_emission ? "was on" : "switched to", to);
}

/* verdict_text writes one pair's verdict, e.g. "LOST (core_silent)",
 * "delivered in 40.1 ms", "not owed: switched to t2 at 1.250 s, before
 * the deadline, and never watched t1 a whole deadline again". */
static void verdict_text(const sim_tl *tl, const sim_tl_verdict *v, char *buf, size_t len)
{
    char d1[32], d2[32], w[64];
    const char *tab = tl->tabs[v->tab].name;
    if (!strcmp(v->kind, "delivered") && (uint64_t)v->arrived < v->from) {
        snprintf(buf, len, "%s delivered (%s after emission, while the tab looked elsewhere)", tab,
                 sim_tl_dur((uint64_t)v->arrived - v->at, d1, sizeof d1));
    } else if (!strcmp(v->kind, "delivered")) {
        snprintf(buf, len, "%s delivered in %s", tab,
                 sim_tl_dur((uint64_t)v->arrived - v->from, d1, sizeof d1));
    } else if (!strcmp(v->kind, "late")) {
        snprintf(buf, len, "%s LATE by %s (arrived %s after it was owed)", tab,
                 sim_tl_dur((uint64_t)v->arrived - v->due, d1, sizeof d1),
                 sim_tl_dur((uint64_t)v->arrived - v->from, d2, sizeof d2));
    } else if (!strcmp(v->kind, "lost")) {
        snprintf(buf, len, "%s LOST (%s%s%s)", tab, v->cause,
                 strcmp(v->said, "nothing") ? "; core said " : "",
                 strcmp(v->said, "nothing") ? v->said : "");
    } else if (!strcmp(v->why, "never_chose")) {
        what_to(v->why_to, w, sizeof w, 1);
        snprintf(buf, len, "%s not owed (never chose %s before it; %s)", tab, v->thread, w);
    } else if (!strcmp(v->why, "left")) {
        int at_em = v->why_at >= 0 && (uint64_t)v->why_at == v->at;
        what_to(v->why_to, w, sizeof w, at_em);
        if (at_em)
            snprintf(buf, len,
                     "%s not owed (%s at emission, and never watched %s a whole deadline after)",
                     tab, w, v->thread);
        else if (v->why_at >= 0)
            snprintf(buf, len,
                     "%s not owed (%s %s after emission, within the %s deadline and "
                     "before it arrived; never watched %s a whole deadline again)",
                     tab, w, sim_tl_dur((uint64_t)v->why_at - v->at, d1, sizeof d1),
                     sim_tl_dur(tl->deadline, d2, sizeof d2), v->thread);
        else
            snprintf(buf, len, "%s not owed (watch too short)", tab);
    } else if (!strcmp(v->why, "undecided")) {
        snprintf(buf, len, "%s undecided (observation ended before it was due)", tab);
    } else if (!strcmp(v->why, "foreign")) {
        snprintf(buf, len, "%s not owed (its message was for a thread the user does not own)", tab);
    } else if (!strcmp(v->why, "refused")) {
        snprintf(buf, len, "%s not owed (the core refused its message)", tab);
    } else if (!strcmp(v->why, "no_thread")) {
        snprintf(buf, len, "%s not owed (its message never got a thread)", tab);
    } else {
        snprintf(buf, len, "%s %s", tab, v->kind);
    }
}

/* ---- the timeline ----------------------------------------------------------------- */

/* humanize copies d into buf with every "<digits>ns" word written in human
 * units ("720046618ns" -> "720.0 ms"). */
static void humanize(const char *d, char *buf, size_t len)
{
    size_t o = 0;
    const char *p = d;
    while (*p && o + 1 < len) {
        if ((p == d || p[-1] == ' ') && *p >= '0' && *p <= '9') {
            const char *q = p;
            while (*q >= '0' && *q <= '9')
                q++;
            if (q[0] == 'n' && q[1] == 's' && (q[2] == ' ' || q[2] == '\0')) {
                char h[32];
                sim_tl_dur(strtoull(p, NULL, 10), h, sizeof h);
                int k = snprintf(buf + o, len - o, "%s", h);
                if (k < 0 || (size_t)k >= len - o)
                    break;
                o += (size_t)k;
                p = q + 2;
                continue;
            }
        }
        buf[o++] = *p++;
    }
    buf[o] = '\0';
}

/* event_verdicts writes every tab's verdict of event e, "; "-separated. */
static void event_verdicts(const sim_tl *tl, const sim_tl_event *e, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < e->nverdicts && o + 1 < len; i++) {
        char one[256];
        verdict_text(tl, &tl->verdicts[e->verdicts[i]], one, sizeof one);
        int k = snprintf(buf + o, len - o, "%s%s", i ? "; " : "", one);
        if (k < 0)
            break;
        o += (size_t)k < len - o ? (size_t)k : len - o - 1;
    }
}

/* core_said writes what cr_run_emit said and did with event e. */
static void core_said(const sim_tl *tl, const sim_tl_event *e, char *buf, size_t len)
{
    if (!strcmp(e->outcome, "delivered") && tl->annotated)
        snprintf(buf, len, "core: delivered, sent on %s",
                 e->sent == 0   ? "NO connection"
                 : e->sent == 1 ? "1 connection"
                                : "several connections");
    else
        snprintf(buf, len, "core: %s", e->outcome);
}

static int write_item(const sim_tl *tl, const sim_tl_item *x, FILE *out)
{
    const sim_trace_rec *r = x->rec;
    char actor[48], detail[1024];
    snprintf(actor, sizeof actor, "%s", !strncmp(r->actor, "client:", 7) ? r->actor + 7 : r->actor);
    const char *step = r->step;
    humanize(r->detail, detail, sizeof detail);
    size_t o = strlen(detail);
    if (x->kind == SIM_TL_DISPATCH && x->msg >= 0) {
        const sim_tl_msg *m = &tl->msgs[x->msg];
        snprintf(detail, sizeof detail,
                 "conn=%" PRId64 " msg=%" PRId64 " [core msg %" PRId64 "] ctx=%s", x->conn, x->msg,
                 m->core_msg, m->ctx);
    } else if ((x->kind == SIM_TL_TAB || x->kind == SIM_TL_RECEIVE) && x->conn >= 0 &&
               kv(r->detail, "sock=")) {
        snprintf(detail + o, sizeof detail - o, " [conn=%" PRId64 "]", x->conn);
    } else if (x->kind == SIM_TL_EMIT && x->ev >= 0) {
        const sim_tl_event *e = &tl->events[x->ev];
        char said[96], vs[600];
        const char *arrow = strstr(detail, " -> ");
        size_t keep = arrow ? (size_t)(arrow - detail) : o;
        detail[keep] = '\0';
        core_said(tl, e, said, sizeof said);
        event_verdicts(tl, e, vs, sizeof vs);
        char head[160];
        snprintf(head, sizeof head, "%.159s", detail);
        if (e->msg >= 0)
            snprintf(detail, sizeof detail, "%s (m%" PRId64 ".%" PRIu32 ") %s%s%s", head, e->msg,
                     e->index, said, vs[0] ? " => " : "", vs);
        else
            snprintf(detail, sizeof detail, "%s %s%s%s", head, said, vs[0] ? " => " : "", vs);
    } else if (x->kind == SIM_TL_RECEIVE && x->ev >= 0 && (size_t)x->ev < tl->nevents &&
               tl->events[x->ev].emitted_at <= r->time) {
        char dd[32];
        snprintf(detail + o, sizeof detail - o, " (%s after emission)",
                 sim_tl_dur(r->time - tl->events[x->ev].emitted_at, dd, sizeof dd));
    } else if (x->kind == SIM_TL_ANSWER && x->conn >= 0) {
        snprintf(detail + o, sizeof detail - o, " [conn=%" PRId64 "]", x->conn);
    } else if (x->kind == SIM_TL_CORE && !strcmp(step, "run_go") && x->msg >= 0) {
        snprintf(detail + o, sizeof detail - o, " [msg=%" PRId64 "]", x->msg);
    } else if (x->kind == SIM_TL_STATE) {
        const sim_tl_conn *k = &tl->conns[x->conn];
        const sim_tl_state *st = NULL;
        for (size_t i = 0; i < k->nstates; i++)
            if (k->states[i].pos == (size_t)(x - tl->items))
                st = &k->states[i];
        step = "conn-state";
        if (!st)
            return 0;
        int n = snprintf(detail, sizeof detail, "conn=%" PRId64 " %s -> %s", x->conn,
                         x->tab >= 0 ? tl->tabs[x->tab].name : "?", st->state);
        if (n > 0 && strcmp(st->thread, "-"))
            n += snprintf(detail + n, sizeof detail - (size_t)n, " thread=%s gen=%" PRIu64,
                          st->thread, st->gen);
        if (n > 0 && (size_t)n < sizeof detail && strcmp(st->assoc, "-"))
            snprintf(detail + n, sizeof detail - (size_t)n,
                     " (associating %s, attempt %" PRIu32 ")", st->assoc, st->attempt);
    }
    return fprintf(out, "%6" PRIu64 ".%06" PRIu64 " s  %-10s %-15s %s\n", r->time / 1000000000u,
                   r->time % 1000000000u / 1000u, actor, step, detail) < 0
               ? -1
               : 0;
}

/* The not-owed reasons, in the summary's order, with what they mean. */
static const char *const WHY_DOC[][2] = {
    {"never_chose", "another tab of the user, which had not chosen the thread by the emission"},
    {"left", "the tab was not watching the thread (or stopped before it arrived, within the "
             "deadline) and never watched it a whole deadline again"},
    {"undecided", "observation ended before it was due"},
    {"foreign", "its message was for a thread the user does not own"},
    {"refused", "the core refused its message"},
    {"no_thread", "its message never got a thread"},
};

int sim_tl_write(const sim_tl *tl, const sim_tl_filter *f, FILE *out)
{
    sim_tl_filter all;
    if (!f) {
        sim_tl_filter_init(&all);
        f = &all;
    }
    for (size_t i = 0; i < tl->nitems; i++) {
        const sim_tl_item *x = &tl->items[i];
        if (x->kind == SIM_TL_VERDICT && tl->annotated)
            continue; /* the oracle's late and lost records: the summary below */
        if (keep_item(f, x) && write_item(tl, x, out) < 0)
            return -1;
    }
    if (!tl->annotated)
        return ferror(out) ? -1 : 0;
    /* The summary of the pairs this view keeps. */
    uint64_t owed = 0, by[4] = {0}, causes[SIM_CAUSE__N] = {0};
    uint64_t why[sizeof WHY_DOC / sizeof WHY_DOC[0]] = {0}, notowed = 0;
    static const char *const kinds[] = {"delivered", "late", "lost", "not_owed"};
    for (size_t i = 0; i < tl->nverdicts; i++) {
        const sim_tl_verdict *v = &tl->verdicts[i];
        if (!keep_verdict(tl, f, v))
            continue;
        for (int k = 0; k < 4; k++)
            if (!strcmp(v->kind, kinds[k]))
                by[k]++;
        if (strcmp(v->kind, "not_owed")) {
            owed++;
            for (int c = 0; c < SIM_CAUSE__N; c++)
                if (!strcmp(v->kind, "lost") && !strcmp(v->cause, sim_cause_name(c)))
                    causes[c]++;
        } else {
            notowed++;
            for (size_t w = 0; w < sizeof WHY_DOC / sizeof WHY_DOC[0]; w++)
                if (!strcmp(v->why, WHY_DOC[w][0]))
                    why[w]++;
        }
    }
    fprintf(out,
            "\nverdicts (docs/oracle.md): %" PRIu64 " owed (event, tab) pairs: %" PRIu64
            " delivered, %" PRIu64 " late, %" PRIu64 " lost",
            owed, by[0], by[1], by[2]);
    int first = 1;
    for (int c = 0; c < SIM_CAUSE__N; c++)
        if (causes[c]) {
            fprintf(out, "%s%s %" PRIu64, first ? " (" : ", ", sim_cause_name(c), causes[c]);
            first = 0;
        }
    fprintf(out, "%s\n", first ? "" : ")");
    fprintf(out, "  not owed: %" PRIu64 " pairs of emitted events\n", notowed);
    for (size_t w = 0; w < sizeof WHY_DOC / sizeof WHY_DOC[0]; w++)
        if (why[w])
            fprintf(out, "    %-11s %6" PRIu64 "  %s\n", WHY_DOC[w][0], why[w], WHY_DOC[w][1]);
    if (by[1] + by[2]) {
        fprintf(out, "late and lost (ctxsim replay ... --explain EV tells one's story):\n");
        for (size_t i = 0; i < tl->nverdicts; i++) {
            const sim_tl_verdict *v = &tl->verdicts[i];
            if (!keep_verdict(tl, f, v) || (strcmp(v->kind, "late") && strcmp(v->kind, "lost")))
                continue;
            char id[32], mid[32], vt[256], a1[32], a2[32], name[40] = "";
            if (v->ev >= 0)
                snprintf(id, sizeof id, "e%" PRId64, v->ev);
            else
                snprintf(id, sizeof id, "-");
            if (v->ev >= 0 && (size_t)v->ev < tl->nevents)
                snprintf(name, sizeof name, "%s", tl->events[v->ev].name);
            else
                snprintf(name, sizeof name, "(never emitted)");
            verdict_text(tl, v, vt, sizeof vt);
            snprintf(mid, sizeof mid, "m%" PRId64 ".%" PRIu32, v->msg, v->index);
            fprintf(out, "  %-6s %-8s %-15s %-4s %s; owed from %s, due %s\n", id, mid, name,
                    v->thread, vt, sim_tl_at(v->from, a1, sizeof a1),
                    sim_tl_at(v->due, a2, sizeof a2));
        }
    }
    return ferror(out) ? -1 : 0;
}

/* ---- explain ---------------------------------------------------------------------- */

/* state_before: the last state of connection k noted before item `pos`. */
static const sim_tl_state *state_before(const sim_tl_conn *k, size_t pos)
{
    const sim_tl_state *st = NULL;
    for (size_t i = 0; i < k->nstates && k->states[i].pos < pos; i++)
        st = &k->states[i];
    return st;
}

static void state_text(const sim_tl_state *st, char *buf, size_t len)
{
    if (!st) {
        snprintf(buf, len, "not yet known to the core");
        return;
    }
    int n = snprintf(buf, len, "%s", st->state);
    if (n > 0 && (size_t)n < len && strcmp(st->thread, "-"))
        n += snprintf(buf + n, len - (size_t)n, " on %s (generation %" PRIu64 ")", st->thread,
                      st->gen);
    else if (n > 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, ", no thread bound");
    if (n > 0 && (size_t)n < len && strcmp(st->assoc, "-"))
        snprintf(buf + n, len - (size_t)n, ", associating %s (attempt %" PRIu32 ")", st->assoc,
                 st->attempt);
}

/* tab_steps writes the steps of tab `tab` in [from, to] (at most 8, and
 * how many more), indented under a heading.  Returns how many there were. */
static int tab_steps(const sim_tl *tl, int64_t tab, uint64_t from, uint64_t to, FILE *out)
{
    int shown = 0, more = 0;
    char a[32], d[256];
    for (size_t i = 0; i < tl->nitems; i++) {
        const sim_tl_item *x = &tl->items[i];
        if ((x->kind != SIM_TL_TAB && x->kind != SIM_TL_RECEIVE) || x->tab != tab ||
            !strcmp(x->rec->step, "wait") || x->rec->time < from)
            continue;
        if (x->rec->time > to)
            break;
        if (shown == 8) {
            more++;
            continue;
        }
        if (!shown)
            fprintf(out, "  %-9s what %s did until %s:\n", "", tl->tabs[tab].name,
                    sim_tl_at(to, a, sizeof a));
        humanize(x->rec->detail, d, sizeof d);
        fprintf(out, "              %s  %s %s\n", sim_tl_at(x->rec->time, a, sizeof a),
                x->rec->step, d);
        shown++;
    }
    if (more)
        fprintf(out, "              ... and %d more\n", more);
    return shown + more;
}

static int find_event(const sim_tl *tl, const char *spec, int64_t *ev, int64_t *msg,
                      uint32_t *index, char *err, size_t errlen)
{
    *ev = *msg = -1;
    *index = 0;
    if (spec[0] == 'm') {
        long long m;
        unsigned ix;
        char tail;
        if (sscanf(spec, "m%lld.%u%c", &m, &ix, &tail) != 2 || m < 0)
            goto bad;
        *msg = m;
        *index = ix;
        if ((size_t)m >= tl->nmsgs || !tl->msgs[m].known) {
            snprintf(err, errlen, "no message m%lld in this run (m0..m%zu)", m,
                     tl->nmsgs ? tl->nmsgs - 1 : 0);
            return -1;
        }
        for (size_t e = 0; e < tl->nevents; e++)
            if (tl->events[e].known && tl->events[e].msg == m && tl->events[e].index == ix &&
                tl->events[e].emitted_at + 1 > 0 && tl->events[e].name[0]) {
                *ev = (int64_t)e;
                return 0;
            }
        for (size_t i = 0; i < tl->nverdicts; i++)
            if (tl->verdicts[i].ev < 0 && tl->verdicts[i].msg == m && tl->verdicts[i].index == ix)
                return 0; /* never emitted, but owed */
        snprintf(err, errlen,
                 "m%lld.%u: message m%lld has no such event (never emitted, and nothing was owed "
                 "for it)",
                 m, ix, m);
        return -1;
    }
    if (parse_id(spec, 'e', ev) != 0)
        goto bad;
    if ((size_t)*ev >= tl->nevents || !tl->events[*ev].name[0]) {
        snprintf(err, errlen, "no event e%" PRId64 " in this run (e0..e%zu)", *ev,
                 tl->nevents ? tl->nevents - 1 : 0);
        return -1;
    }
    *msg = tl->events[*ev].msg;
    *index = tl->events[*ev].index;
    return 0;
bad:
    snprintf(err, errlen,
             "--explain expects an event as the timeline names it: e12 (or 12), or m17.3 (event 3 "
             "of the run of message m17); got '%.60s'",
             spec);
    return -1;
}

int sim_tl_explain(const sim_tl *tl, const char *spec, FILE *out, char *err, size_t errlen)
{
    int64_t ev, mi;
    uint32_t index;
    if (!tl->annotated) {
        snprintf(err, errlen, "this trace has no notes to explain from (ctxsim replay adds them)");
        return -1;
    }
    if (find_event(tl, spec, &ev, &mi, &index, err, errlen))
        return -1;
    const sim_tl_event *e = ev >= 0 ? &tl->events[ev] : NULL;
    const sim_tl_msg *m = mi >= 0 && (size_t)mi < tl->nmsgs ? &tl->msgs[mi] : NULL;
    char a1[32], a2[32], d1[32], buf[512];
    const char *tabname = m && m->tab >= 0 ? tl->tabs[m->tab].name : "?";
    int64_t user = m && m->tab >= 0 ? (int64_t)tl->tabs[m->tab].user : -1;

    if (e)
        fprintf(out,
                "e%" PRId64 " = m%" PRId64 ".%" PRIu32 " %s: event %" PRIu32 " of %" PRIu32
                " of run r%" PRId64 ", for u%" PRId64 " thread %s\n",
                ev, mi, index, e->name, index + 1, e->of, e->run, user, m ? m->thread : "?");
    else
        fprintf(out,
                "m%" PRId64 ".%" PRIu32 ": event %" PRIu32 " of the run of m%" PRId64
                ", NEVER EMITTED, for u%" PRId64 " thread %s\n",
                mi, index, index + 1, mi, user, m ? m->thread : "?");
    /* the message */
    if (m) {
        fprintf(out, "  message   m%" PRId64 " sent by %s at %s for %s over %s\n", mi, tabname,
                sim_tl_at(m->sent_at, a1, sizeof a1), m->thread, m->via[0] ? m->via : "?");
        if (m->conn >= 0)
            fprintf(out, "            reached the server on conn=%" PRId64 " at %s: %s\n", m->conn,
                    sim_tl_at(m->server_at, a1, sizeof a1), m->server_rc);
        else if (!strcmp(m->via, "http"))
            fprintf(out, "            posted over HTTP\n");
        else
            fprintf(out, "            never reached the server\n");
        if (m->core_msg >= 0) {
            /* and the state of the connection it came on at that moment */
            const sim_tl_state *st = NULL;
            for (size_t i = 0; i < tl->nitems; i++)
                if (tl->items[i].kind == SIM_TL_DISPATCH && tl->items[i].msg == mi) {
                    if (m->conn >= 0 && (size_t)m->conn < tl->nconns)
                        st = state_before(&tl->conns[m->conn], i);
                    break;
                }
            char sb[160] = "";
            if (st) {
                char stt[128];
                state_text(st, stt, sizeof stt);
                snprintf(sb, sizeof sb, ", while conn=%" PRId64 " was %s", m->conn, stt);
            }
            fprintf(out,
                    "            the core dispatched it at %s [core msg %" PRId64
                    "] with context %s%s\n",
                    sim_tl_at(m->dispatched_at, a1, sizeof a1), m->core_msg, m->ctx, sb);
        }
        if (m->refused_told)
            fprintf(out, "            the tab was told MESSAGE_REJECTED\n");
    }
    /* the run */
    const sim_tl_run *r = m && m->run >= 0 && (size_t)m->run < tl->nruns ? &tl->runs[m->run] : NULL;
    if (r)
        fprintf(out, "  run       r%" PRId64 " started at %s, %s\n", m->run,
                sim_tl_at(r->started_at, a1, sizeof a1),
                r->went ? (snprintf(buf, sizeof buf, "run_go at %s",
                                    sim_tl_at(r->go_at, a2, sizeof a2)),
                           buf)
                        : "never got run_go");
    else
        fprintf(out, "  run       none: the message's run never started\n");
    if (!e) {
        for (size_t i = 0; i < tl->nverdicts; i++) {
            const sim_tl_verdict *v = &tl->verdicts[i];
            if (v->ev >= 0 || v->msg != mi || v->index != index)
                continue;
            verdict_text(tl, v, buf, sizeof buf);
            fprintf(out, "  verdict   %s: owed from %s (acceptance), due %s\n", buf,
                    sim_tl_at(v->from, a1, sizeof a1), sim_tl_at(v->due, a2, sizeof a2));
            if (!strcmp(v->kind, "lost"))
                fprintf(out, "            %s: %s\n", v->cause, cause_doc(v->cause));
        }
        return ferror(out) ? -2 : 0;
    }
    /* the binding it met: the user's connections in the core just before */
    size_t pos = 0;
    for (size_t i = 0; i < tl->nitems; i++)
        if (tl->items[i].kind == SIM_TL_EMIT && tl->items[i].ev == ev) {
            pos = i;
            break;
        }
    fprintf(out, "  emitted   at %s, seq %" PRIu64 "\n", sim_tl_at(e->emitted_at, a1, sizeof a1),
            e->seq);
    int nbind = 0, ready_on = 0;
    for (size_t c = 0; c < tl->nconns; c++) {
        const sim_tl_conn *k = &tl->conns[c];
        if (!k->known || k->tab < 0 || (int64_t)tl->tabs[k->tab].user != user ||
            k->opened_at > e->emitted_at || k->closed_at < e->emitted_at)
            continue;
        const sim_tl_state *st = state_before(k, pos);
        if (st && !strcmp(st->state, "CLOSED"))
            continue;
        state_text(st, buf, sizeof buf);
        fprintf(out, "  %-9s conn=%zu of %s: %s\n", nbind ? "" : "binding", c,
                tl->tabs[k->tab].name, buf);
        if (st && !strcmp(st->state, "READY") && m && !strcmp(st->thread, m->thread))
            ready_on++;
        /* and when it next changed */
        for (size_t i = 0; i < k->nstates; i++)
            if (k->states[i].pos > pos && (!st || k->states[i].at >= e->emitted_at)) {
                state_text(&k->states[i], buf, sizeof buf);
                fprintf(out, "  %-9s   then at %s (%s after emission): %s\n", "",
                        sim_tl_at(k->states[i].at, a1, sizeof a1),
                        sim_tl_dur(k->states[i].at - e->emitted_at, d1, sizeof d1), buf);
                break;
            }
        nbind++;
    }
    if (!nbind)
        fprintf(out, "  binding   u%" PRId64 " had no open connection in the core\n", user);
    /* what the core did */
    char said[96];
    core_said(tl, e, said, sizeof said);
    fprintf(out, "  core      cr_run_emit returned %s%s\n", e->outcome,
            !strcmp(e->outcome, "delivered")
                ? (e->sent ? ", sent during the call" : " but sent it on NO connection")
                : "");
    if (!strcmp(e->outcome, "delivered") && !e->sent && !ready_on && m)
        fprintf(out,
                "            no connection of u%" PRId64 " was READY on %s: the event went to "
                "nobody, and nobody was told\n",
                user, m->thread);
    else if (!strcmp(e->outcome, "delivered") && !e->sent && m && e->seq == 0)
        fprintf(out,
                "            seq 0: the core gave it no place in %s's stream: its run had no "
                "thread context (validated before a binding of u%" PRId64 "/%s had landed)\n",
                m->thread, user, m->thread);
    if (!strcmp(e->outcome, "buffered"))
        fprintf(out, "            held in the core's buffer for %s (no READY connection on it)\n",
                m ? m->thread : "its thread");
    if (e->report[0])
        fprintf(out, "            reported %s to the host at %s\n", e->report,
                sim_tl_at(e->report_at, a1, sizeof a1));
    /* what the core told the user's connections meanwhile */
    uint64_t horizon = e->emitted_at + tl->deadline;
    for (size_t h = 0; h < e->nhops; h++)
        if (e->hops[h].conn < 0 && e->hops[h].at < horizon)
            horizon = e->hops[h].at; /* until the first reception */
    int nnote = 0;
    for (size_t i = 0; i < tl->nitems && nnote < 6; i++) {
        const sim_tl_item *x = &tl->items[i];
        if (x->user != user || x->rec->time < (m ? m->sent_at : e->emitted_at) ||
            x->rec->time > horizon || strcmp(x->rec->actor, "core") ||
            strcmp(x->rec->step, "notify"))
            continue;
        char th[40] = "", why[160] = "";
        kv_str(x->rec->detail, "thread=", th, sizeof th);
        if (strstr(x->rec->detail, "thread_switched") && x->conn >= 0 &&
            (size_t)x->conn < tl->nconns) {
            /* the binding when the notice went out, and when it landed */
            const sim_tl_conn *k = &tl->conns[x->conn];
            const sim_tl_state *st = state_before(k, i + 1);
            if (st && (strcmp(st->state, "READY") || strcmp(st->thread, th))) {
                uint64_t landed = UINT64_MAX;
                for (size_t q = 0; q < k->nstates && landed == UINT64_MAX; q++)
                    if (k->states[q].pos > i && !strcmp(k->states[q].state, "READY") &&
                        !strcmp(k->states[q].thread, th))
                        landed = k->states[q].at;
                char d2[32];
                if (landed == x->rec->time)
                    why[0] = '\0'; /* landed in the same step, before the notice */
                else if (landed != UINT64_MAX)
                    snprintf(why, sizeof why, "  <- BEFORE its binding landed (%s later)",
                             sim_tl_dur(landed - x->rec->time, d2, sizeof d2));
                else
                    snprintf(why, sizeof why, "  <- its binding never landed");
            }
        }
        fprintf(out, "  %-9s %s  %s%s\n", nnote ? "" : "notices",
                sim_tl_at(x->rec->time, a1, sizeof a1), x->rec->detail, why);
        nnote++;
    }
    /* the transport and the tabs */
    int nsent = 0, nrecv = 0;
    for (size_t h = 0; h < e->nhops; h++) {
        const sim_tl_hop *hp = &e->hops[h];
        if (hp->conn >= 0) {
            fprintf(out, "  %s %s  sent on conn=%" PRId64 " (%s, generation %" PRIu64 ")%s%s\n",
                    nsent ? "         " : "transport", sim_tl_at(hp->at, a1, sizeof a1), hp->conn,
                    hp->tab >= 0 ? tl->tabs[hp->tab].name : "?", hp->gen,
                    hp->replay ? ", a replay" : "", hp->how[0] ? ", as a notification" : "");
            nsent++;
        }
    }
    if (!nsent)
        fprintf(out, "  transport nothing was ever sent\n");
    for (size_t h = 0; h < e->nhops; h++) {
        const sim_tl_hop *hp = &e->hops[h];
        if (hp->conn < 0) {
            fprintf(out, "  %s %s  %s received it: %s (%s after emission)\n",
                    nrecv ? "         " : "tabs     ", sim_tl_at(hp->at, a1, sizeof a1),
                    tl->tabs[hp->tab].name, hp->how,
                    sim_tl_dur(hp->at - e->emitted_at, d1, sizeof d1));
            nrecv++;
        }
    }
    if (!nrecv)
        fprintf(out, "  tabs      no tab received it\n");
    /* the verdicts, and what each tab did meanwhile */
    for (size_t i = 0; i < e->nverdicts; i++) {
        const sim_tl_verdict *v = &tl->verdicts[e->verdicts[i]];
        verdict_text(tl, v, buf, sizeof buf);
        fprintf(out, "  verdict   %s\n", buf);
        if (strcmp(v->kind, "not_owed"))
            fprintf(out, "            owed from %s, due %s (deadline %s)\n",
                    sim_tl_at(v->from, a1, sizeof a1), sim_tl_at(v->due, a2, sizeof a2),
                    sim_tl_dur(v->due - v->from, d1, sizeof d1));
        if ((!strcmp(v->kind, "lost") || !strcmp(v->kind, "late")) && v->from > v->at)
            fprintf(out,
                    "            (not from the emission: %s had left %s before the deadline; "
                    "%s is when it next watched %s for a whole deadline)\n",
                    tl->tabs[v->tab].name, v->thread, sim_tl_at(v->from, a1, sizeof a1), v->thread);
        if (!strcmp(v->kind, "lost")) {
            fprintf(out, "            %s: %s\n", v->cause, cause_doc(v->cause));
            const sim_tl_hop *stray = NULL, *sent = NULL;
            for (size_t h = 0; h < e->nhops; h++) {
                if (e->hops[h].tab != v->tab)
                    continue;
                if (e->hops[h].conn < 0 && !strcmp(e->hops[h].how, "stray"))
                    stray = &e->hops[h];
                if (e->hops[h].conn >= 0)
                    sent = &e->hops[h];
            }
            if (stray)
                fprintf(out,
                        "            its copy reached %s at %s as STRAY: the tab showed another "
                        "thread, on a binding the core had not shown it; the core did not "
                        "send it again\n",
                        tl->tabs[v->tab].name, sim_tl_at(stray->at, a1, sizeof a1));
            else if (sent && !strcmp(v->cause, "core_silent"))
                fprintf(out,
                        "            the copy sent at %s never arrived, and the core did not "
                        "send it again while it was owed\n",
                        sim_tl_at(sent->at, a1, sizeof a1));
        }
        if (strcmp(v->kind, "delivered")) {
            uint64_t to = strcmp(v->kind, "not_owed") ? v->due : e->emitted_at + tl->deadline;
            if (!tab_steps(tl, v->tab, e->emitted_at, to, out))
                fprintf(out, "  %-9s %s did nothing until %s\n", "", tl->tabs[v->tab].name,
                        sim_tl_at(to, a1, sizeof a1));
        }
    }
    return ferror(out) ? -2 : 0;
}
