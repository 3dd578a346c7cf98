/*
 * tab.c - browser tabs following the scenario's script (see tab.h).
 *
 * One tab: where it is in its script (a stack of repeat levels), its
 * connection (the host's id, -1 none) and whether the script gave that
 * connection a thread, what its user selected (and the selection's
 * number), the threads it named with `as`, the last seq it saw per thread
 * and its outbox.  Every action goes through the host; every observation
 * goes to the oracle.
 */
#include "sim/tab.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "sim/grow.h"
#include "sim/tracepoint.h"

/* One level of the script: the steps of the file or of a repeat. */
typedef struct level {
    const sim_step *steps;
    uint32_t n, pc;
    uint32_t left; /* repetitions left, including the current one */
} level;

typedef struct seqmark {
    int32_t thread;
    uint64_t seq;
} seqmark;

/* A ws message the tab sent and the server has not acknowledged yet:
 * resent after a reconnect (the server drops duplicates by message id). */
typedef struct outmsg {
    int64_t msg;
    int32_t thread;
} outmsg;

typedef struct tab {         /* widest fields first, no padding hole */
    const sim_step *stashed; /* a step that needs the connection, held while reconnecting */
    level *stack;            /* the script's repeat levels: `inl`, or a heap array when deeper */
    int32_t *names;          /* per scenario name: thread index, -1: names_in or owned */
    outmsg *outbox;          /* unacknowledged ws messages, in send order (owned) */
    size_t noutbox, capoutbox;
    seqmark *marks; /* last seq seen per thread (owned) */
    size_t nmarks, capmarks;
    int64_t conn; /* current connection (the host's id), -1 none */
    level inl[2]; /* the file and one repeat */
    uint32_t user;
    int depth;
    int32_t selected;    /* thread the UI has selected (send/switch), -1 */
    uint32_t selection;  /* number of the latest selection (echoed in notices) */
    char name[32];       /* "client:u<U>.<K>": its trace actor */
    int32_t names_in[2]; /* `names` when the scenario has at most two */
    uint8_t live, done, reconnecting, parked;
    uint8_t given; /* the script gave the current connection a thread */
    uint8_t stack_cap;
} tab;

struct sim_tabs {
    const sim_scenario *sc;
    uint32_t nusers, ntabs, ndone;
    uint32_t *first_tab; /* per user (owned) */
    tab *tabs;           /* owned */
    sim_streams *rng;    /* per tab (borrowed) */
    sim_oracle *oracle;
    sim_trace *trace;
    sim_tab_host host;
};

#define TR(t, now, c, step, ...) SIM_TR((t)->trace, now, (t)->tabs[c].name, step, __VA_ARGS__)

static const char *tname(sim_tabs *t, int32_t th)
{
    return th >= 0 ? t->host.thread_name(t->host.ud, th) : "-";
}

static void fail(sim_tabs *t, const char *why)
{
    t->host.fail(t->host.ud, why);
}

/* ---- setup ---------------------------------------------------------------- */

int sim_tabs_new(sim_tabs **out, const sim_tabs_config *cfg)
{
    *out = NULL;
    if (!cfg->sc || !cfg->host || !cfg->streams || !cfg->oracle || !cfg->first_tab || !cfg->nusers)
        return -1;
    sim_tabs *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    t->sc = cfg->sc;
    t->nusers = cfg->nusers;
    t->ntabs = cfg->ntabs;
    t->rng = cfg->streams;
    t->oracle = cfg->oracle;
    t->trace = cfg->trace;
    t->host = *cfg->host;
    t->first_tab = malloc(cfg->nusers * sizeof(uint32_t));
    t->tabs = calloc(cfg->ntabs ? cfg->ntabs : 1, sizeof(tab));
    if (!t->first_tab || !t->tabs) {
        sim_tabs_free(t);
        return -1;
    }
    memcpy(t->first_tab, cfg->first_tab, cfg->nusers * sizeof(uint32_t));
    const sim_scenario *sc = cfg->sc;
    for (uint32_t u = 0; u < t->nusers; u++) {
        uint32_t end = u + 1 < t->nusers ? t->first_tab[u + 1] : t->ntabs;
        for (uint32_t c = t->first_tab[u]; c < end; c++) {
            tab *cl = &t->tabs[c];
            cl->user = u;
            cl->conn = -1;
            cl->selected = -1;
            cl->stack = cl->inl;
            cl->stack_cap = (uint8_t)(sizeof cl->inl / sizeof cl->inl[0]);
            cl->stack[0] = (level){sc->steps, (uint32_t)sc->nsteps, 0, 1};
            cl->depth = 1;
            snprintf(cl->name, sizeof cl->name, "client:u%" PRIu32 ".%" PRIu32, u,
                     c - t->first_tab[u]);
            cl->names = sc->nnames <= 2 ? cl->names_in : malloc(sc->nnames * sizeof(int32_t));
            if (!cl->names) {
                sim_tabs_free(t);
                return -1;
            }
            for (size_t i = 0; i < sc->nnames; i++)
                cl->names[i] = -1;
        }
    }
    *out = t;
    return 0;
}

void sim_tabs_free(sim_tabs *t)
{
    if (!t)
        return;
    if (t->tabs)
        for (uint32_t c = 0; c < t->ntabs; c++) {
            tab *cl = &t->tabs[c];
            if (cl->names != cl->names_in)
                free(cl->names);
            free(cl->marks);
            if (cl->stack != cl->inl)
                free(cl->stack);
            free(cl->outbox);
        }
    free(t->tabs);
    free(t->first_tab);
    free(t);
}

uint32_t sim_tabs_count(const sim_tabs *t)
{
    return t->ntabs;
}

uint32_t sim_tabs_done(const sim_tabs *t)
{
    return t->ndone;
}

uint32_t sim_tab_user(const sim_tabs *t, uint32_t c)
{
    return t->tabs[c].user;
}

const char *sim_tab_name(const sim_tabs *t, uint32_t c)
{
    return t->tabs[c].name;
}

int64_t sim_tab_conn(const sim_tabs *t, uint32_t c)
{
    return t->tabs[c].conn;
}

/* ---- what the tab remembers ---------------------------------------------------- */

static uint64_t last_seq_of(const tab *cl, int32_t th)
{
    for (size_t i = 0; i < cl->nmarks; i++)
        if (cl->marks[i].thread == th)
            return cl->marks[i].seq;
    return 0;
}

static void note_seq(sim_tabs *t, tab *cl, int32_t th, uint64_t seq)
{
    for (size_t i = 0; i < cl->nmarks; i++)
        if (cl->marks[i].thread == th) {
            if (seq > cl->marks[i].seq)
                cl->marks[i].seq = seq;
            return;
        }
    if (sim_grow((void **)&cl->marks, &cl->capmarks, cl->nmarks + 1, sizeof(seqmark))) {
        fail(t, "out of memory (marks)");
        return;
    }
    cl->marks[cl->nmarks++] = (seqmark){th, seq};
}

/* outbox_remove: message m was answered (acknowledged or rejected). */
static void outbox_remove(tab *cl, int64_t m)
{
    for (size_t i = 0; i < cl->noutbox; i++)
        if (cl->outbox[i].msg == m) {
            memmove(&cl->outbox[i], &cl->outbox[i + 1], (cl->noutbox - i - 1) * sizeof(outmsg));
            cl->noutbox--;
            return;
        }
}

/* view: tab c now displays th; choose: the user's latest choice on tab c
 * is th (what decides what is owed: docs/oracle.md). */
static void view(sim_tabs *t, uint64_t now, uint32_t c, int32_t th)
{
    if (sim_oracle_view(t->oracle, c, now, th) != 0)
        fail(t, "out of memory (oracle)");
}

static void choose(sim_tabs *t, uint64_t now, uint32_t c, int32_t th)
{
    if (sim_oracle_choose(t->oracle, c, now, th) != 0)
        fail(t, "out of memory (oracle)");
}

static void set_link(sim_tabs *t, uint64_t now, uint32_t c, int up)
{
    if (sim_oracle_link(t->oracle, c, now, up) != 0)
        fail(t, "out of memory (oracle)");
}

/* ---- connections ------------------------------------------------------------ */

/* conn_open: a new connection for tab c (the host sends the handshake). */
static int64_t conn_open(sim_tabs *t, uint64_t now, uint32_t c)
{
    tab *cl = &t->tabs[c];
    int64_t k = t->host.open(t->host.ud, now, c);
    if (k >= 0) {
        cl->conn = k;
        cl->given = 0;
    }
    return k;
}

static void send_frame(sim_tabs *t, uint64_t now, uint32_t c, const sim_frame *f)
{
    t->host.send(t->host.ud, now, c, t->tabs[c].conn, f);
}

static void send_auth(sim_tabs *t, uint64_t now, uint32_t c)
{
    if (t->tabs[c].conn < 0)
        return;
    send_frame(t, now, c, &(sim_frame){.kind = SIM_FRAME_AUTH});
    /* The oracle's link is up from here, not from the open: the server can
     * serve a connection only once it knows whose it is, and a tab that
     * connects and never authenticates is owed nothing on it. */
    set_link(t, now, c, 1);
}

static void send_switch(sim_tabs *t, uint64_t now, uint32_t c, int32_t th)
{
    tab *cl = &t->tabs[c];
    if (cl->conn < 0 || th < 0)
        return;
    cl->given = 1;
    send_frame(t, now, c,
               &(sim_frame){.kind = SIM_FRAME_SWITCH,
                            .binds = 1,
                            .thread = th,
                            .seq = last_seq_of(cl, th),
                            .req = cl->selection});
}

/* drop: the tab's transport dies.  In-flight packets are lost; the
 * server notices after one uplink delay. */
static void drop(sim_tabs *t, uint64_t now, uint32_t c)
{
    tab *cl = &t->tabs[c];
    if (cl->conn < 0)
        return;
    t->host.close(t->host.ud, now, c, cl->conn, SIM_TAB_DROP);
    cl->conn = -1;
    sim_oracle_link(t->oracle, c, now, 0);
}

static void schedule_step(sim_tabs *t, uint64_t when, uint32_t c)
{
    t->host.schedule(t->host.ud, when, c, SIM_TAB_STEP, -1);
}

/* start_reconnect: new connection after backoff, same user, same thread. */
static void start_reconnect(sim_tabs *t, uint64_t now, uint32_t c)
{
    tab *cl = &t->tabs[c];
    if (cl->reconnecting || !cl->live)
        return;
    cl->reconnecting = 1;
    uint64_t backoff = sim_dist_sample_ns(&t->sc->reconnect_backoff, &t->rng[c].cli);
    t->host.schedule(t->host.ud, now + backoff, c, SIM_TAB_RECONNECT, -1);
}

int sim_tab_start(sim_tabs *t, uint64_t now, uint32_t c)
{
    if (sim_oracle_link(t->oracle, c, now, 0) != 0)
        return -1; /* no transport until the tab connects */
    schedule_step(t, now, c);
    return 0;
}

/* ---- the script -------------------------------------------------------------- */

/* deepen moves a tab's levels from its inline slots to the heap (repeats
 * nest at most 8 deep, so 10 levels always do).  1, or 0 on failure. */
static int deepen(tab *cl)
{
    if (cl->stack != cl->inl)
        return 0;
    level *f = malloc(10 * sizeof(level));
    if (!f)
        return 0;
    memcpy(f, cl->inl, sizeof(cl->inl));
    cl->stack = f;
    cl->stack_cap = 10;
    return 1;
}

static const sim_step *next_step(tab *cl)
{
    while (cl->depth > 0) {
        level *f = &cl->stack[cl->depth - 1];
        if (f->pc < f->n) {
            const sim_step *s = &f->steps[f->pc++];
            if (s->kind == SIM_STEP_REPEAT) {
                if (s->times == 0 || s->nsteps == 0)
                    continue;
                if (cl->depth == cl->stack_cap && !deepen(cl))
                    continue; /* out of memory: the repeat is skipped */
                cl->stack[cl->depth++] = (level){s->steps, (uint32_t)s->nsteps, 0, s->times};
                continue;
            }
            return s;
        }
        if (f->left > 1) {
            f->left--;
            f->pc = 0;
            continue;
        }
        cl->depth--;
    }
    return NULL;
}

/* sibling_thread: the thread the lowest-numbered other tab of c's user
 * that views a thread now is viewing; -1 if none.  O(tabs of the user). */
static int32_t sibling_thread(sim_tabs *t, uint32_t c)
{
    uint32_t u = t->tabs[c].user;
    uint32_t end = u + 1 < t->nusers ? t->first_tab[u + 1] : t->ntabs;
    for (uint32_t o = t->first_tab[u]; o < end; o++) {
        int32_t th = o == c ? -1 : sim_oracle_view_of(t->oracle, o);
        if (th >= 0)
            return th;
    }
    return -1;
}

/* resolve turns a thread reference into a thread index (creating threads
 * for `new`, `foreign` and a `sibling` nobody views); -1 for `none`. */
static int32_t resolve(sim_tabs *t, uint64_t now, uint32_t c, const sim_thread_ref *ref)
{
    tab *cl = &t->tabs[c];
    int32_t th = -1;
    switch (ref->kind) {
    case SIM_REF_NEW:
        th = t->host.thread_new(t->host.ud, now, cl->user, -1);
        break;
    case SIM_REF_SAME:
        th = cl->selected;
        break;
    case SIM_REF_NAMED:
        th = (ref->name >= 0 && (size_t)ref->name < t->sc->nnames) ? cl->names[ref->name] : -1;
        break;
    case SIM_REF_NONE:
        th = -1;
        break;
    case SIM_REF_FOREIGN: {
        uint32_t other = (cl->user + 1) % t->nusers;
        th = t->host.thread_new(t->host.ud, now, other, (int32_t)cl->user);
        break;
    }
    case SIM_REF_SIBLING:
        th = sibling_thread(t, c);
        if (th < 0)
            th = t->host.thread_new(t->host.ud, now, cl->user, -1);
        break;
    }
    if (ref->as >= 0 && (size_t)ref->as < t->sc->nnames)
        cl->names[ref->as] = th;
    return th;
}

/* select_thread: the user picks th on tab c (a send or switch to a thread
 * of its own): the UI's selection and the oracle's choice. */
static void select_thread(sim_tabs *t, uint64_t now, uint32_t c, int32_t th)
{
    t->tabs[c].selected = th;
    t->tabs[c].selection++;
    choose(t, now, c, th);
}

static void step_send(sim_tabs *t, uint64_t now, uint32_t c, const sim_step *s)
{
    tab *cl = &t->tabs[c];
    const sim_scenario *sc = t->sc;
    int32_t th = resolve(t, now, c, &s->ref);
    int foreign = s->ref.kind == SIM_REF_FOREIGN;
    if (!foreign && th >= 0) {
        select_thread(t, now, c, th);
        view(t, now, c, th); /* the user is typing into that thread */
    }
    int64_t m = sim_oracle_message(
        t->oracle, c, now, th >= 0 ? th : (s->ref.kind == SIM_REF_NONE ? SIM_VIEW_NONE : -3),
        (uint32_t)sc->nagent_events,
        (foreign ? 0 : SIM_MSG_COUNTS) | (s->via_http ? SIM_MSG_HTTP : 0));
    if (m < 0)
        return fail(t, "out of memory (oracle)");
    TR(t, now, c, "send", "msg=%" PRId64 " thread=%s via=%s", m, tname(t, th),
       s->via_http ? "http" : "ws");
    sim_frame f = {
        .msg = m,
        .thread = th,
        .seq = th >= 0 ? last_seq_of(cl, th) : 0,
        .req = cl->selection,
    };
    if (s->via_http) {
        /* A plain HTTP POST: its own channel, straight to the agent runtime. */
        f.kind = SIM_FRAME_HTTP;
        t->host.post(t->host.ud, now, c, &f);
        return;
    }
    if (cl->conn < 0)
        return; /* not connected: the message never leaves the browser */
    f.kind = SIM_FRAME_MESSAGE;
    if (th >= 0)
        f.binds = cl->given = 1;
    send_frame(t, now, c, &f);
    if (sim_grow((void **)&cl->outbox, &cl->capoutbox, cl->noutbox + 1, sizeof(outmsg)))
        return fail(t, "out of memory (outbox)");
    cl->outbox[cl->noutbox++] = (outmsg){m, th};
    /* Fault: the transport drops while this message's run is going. */
    sim_prng *flt = &t->rng[c].flt;
    if (sc->disconnect > 0 && sim_prng_double(flt) < sc->disconnect) {
        double run = sim_dist_mean(&sc->event_gap) * (double)sc->nagent_events +
                     sim_dist_mean(&sc->agent_start);
        uint64_t in = (uint64_t)(sim_prng_double(flt) * run);
        t->host.schedule(t->host.ud, now + in, c, SIM_TAB_FAULT, cl->conn);
    }
}

/* step_close: the tab closes (the close frame travels behind what the tab
 * sent; what is on its way down is lost with it). */
static void step_close(sim_tabs *t, uint64_t now, uint32_t c)
{
    tab *cl = &t->tabs[c];
    if (cl->conn >= 0) {
        t->host.close(t->host.ud, now, c, cl->conn, SIM_TAB_CLOSE);
        cl->conn = -1;
    }
    cl->live = 0;
    choose(t, now, c, SIM_VIEW_CLOSED);
    view(t, now, c, SIM_VIEW_CLOSED);
    sim_oracle_link(t->oracle, c, now, 0);
}

void sim_tab_step(sim_tabs *t, uint64_t now, uint32_t c)
{
    tab *cl = &t->tabs[c];
    if (cl->done)
        return;
    const sim_step *s = cl->stashed ? cl->stashed : next_step(cl);
    cl->stashed = NULL;
    if (!s) {
        cl->done = 1;
        t->ndone++;
        return;
    }
    /* While the transport is being re-established, steps that need it
     * wait for it; waiting and closing the tab do not. */
    if (cl->reconnecting && s->kind != SIM_STEP_WAIT && s->kind != SIM_STEP_CLOSE) {
        cl->stashed = s;
        cl->parked = 1; /* resumes once reconnected */
        return;
    }
    uint64_t next = now;
    switch (s->kind) {
    case SIM_STEP_CONNECT: {
        if (!cl->live) {
            cl->live = 1;
            choose(t, now, c, cl->selected >= 0 ? cl->selected : SIM_VIEW_NONE);
            view(t, now, c, cl->selected >= 0 ? cl->selected : SIM_VIEW_NONE);
        }
        if (cl->conn >= 0)
            drop(t, now, c);
        int64_t k = conn_open(t, now, c);
        TR(t, now, c, "connect", "sock=%" PRId64, k);
        break;
    }
    case SIM_STEP_AUTHENTICATE:
        TR(t, now, c, "authenticate", "u%" PRIu32, cl->user);
        send_auth(t, now, c);
        /* A tab that connects again keeps its choice (docs/oracle.md,
         * Choice): like a reconnect, it resumes that thread on the new
         * connection unless the script already gave it one. */
        if (cl->conn >= 0 && cl->selected >= 0 && !cl->given) {
            TR(t, now, c, "resume", "thread=%s", tname(t, cl->selected));
            send_switch(t, now, c, cl->selected);
        }
        break;
    case SIM_STEP_SEND:
        step_send(t, now, c, s);
        break;
    case SIM_STEP_SWITCH: {
        int32_t th = resolve(t, now, c, &s->ref);
        TR(t, now, c, "switch", "thread=%s", tname(t, th));
        if (th >= 0 && s->ref.kind != SIM_REF_FOREIGN)
            select_thread(t, now, c, th);
        send_switch(t, now, c, th);
        break;
    }
    case SIM_STEP_WAIT: {
        uint64_t d = sim_dist_sample_ns(&s->wait, &t->rng[c].cli);
        TR(t, now, c, "wait", "%" PRIu64 "ns", d);
        next += d;
        break;
    }
    case SIM_STEP_DISCONNECT:
        TR(t, now, c, "disconnect", "sock=%" PRId64, cl->conn);
        drop(t, now, c);
        break;
    case SIM_STEP_RECONNECT:
        TR(t, now, c, "reconnect", "after backoff");
        if (cl->conn >= 0)
            drop(t, now, c);
        start_reconnect(t, now, c);
        cl->parked = 1;
        return; /* the script resumes once reconnected */
    case SIM_STEP_CLOSE:
        TR(t, now, c, "close", "sock=%" PRId64, cl->conn);
        step_close(t, now, c);
        break;
    case SIM_STEP_REPEAT:
        break; /* flattened by next_step */
    }
    schedule_step(t, next, c);
}

void sim_tab_reconnect(sim_tabs *t, uint64_t now, uint32_t c)
{
    tab *cl = &t->tabs[c];
    cl->reconnecting = 0;
    if (!cl->live)
        return;
    int64_t k = conn_open(t, now, c);
    TR(t, now, c, "reconnected", "sock=%" PRId64 " resume=%s", k, tname(t, cl->selected));
    send_auth(t, now, c);
    if (cl->selected >= 0)
        send_switch(t, now, c, cl->selected);
    /* Resend what the server never acknowledged, in order. */
    for (size_t i = 0; i < cl->noutbox && cl->conn >= 0; i++) {
        int32_t th = cl->outbox[i].thread;
        sim_frame f = {
            .kind = SIM_FRAME_MESSAGE,
            .msg = cl->outbox[i].msg,
            .thread = th,
            .seq = th >= 0 ? last_seq_of(cl, th) : 0,
            .req = cl->selection,
        };
        TR(t, now, c, "resend", "msg=%" PRId64, cl->outbox[i].msg);
        send_frame(t, now, c, &f);
    }
    if (cl->parked) {
        cl->parked = 0;
        schedule_step(t, now, c);
    }
}

void sim_tab_fault(sim_tabs *t, uint64_t now, uint32_t c, int64_t conn)
{
    tab *cl = &t->tabs[c];
    if (cl->conn != conn || !cl->live)
        return; /* that connection is already gone */
    TR(t, now, c, "fault-drop", "sock=%" PRId64, conn);
    drop(t, now, c);
    start_reconnect(t, now, c);
}

/* ---- what arrives ---------------------------------------------------------------- */

static void receive_event(sim_tabs *t, uint64_t now, uint32_t c, const sim_frame *f)
{
    tab *cl = &t->tabs[c];
    int notification = (f->flags & CR_EVENT_NOTIFICATION) != 0;
    const char *verdict = sim_oracle_receive(t->oracle, c, now, f->ev, notification, f->for_view);
    TR(t, now, c, "receive", "ev=%" PRId64 " thread=%s seq=%" PRIu64 " view=%s -> %s", f->ev,
       tname(t, f->thread), f->seq, tname(t, sim_oracle_view_of(t->oracle, c)), verdict);
    if (!notification && f->thread >= 0 && t->host.thread_owner(t->host.ud, f->thread) == cl->user)
        note_seq(t, cl, f->thread, f->seq);
}

void sim_tab_receive(sim_tabs *t, uint64_t now, uint32_t c, int64_t conn, const sim_frame *f)
{
    tab *cl = &t->tabs[c];
    if (f->kind == SIM_FRAME_EVENT)
        return receive_event(t, now, c, f);
    if (f->kind == SIM_FRAME_ACK) {
        outbox_remove(cl, f->msg);
        return;
    }
    switch (f->notice) {
    case CR_NOTICE_SWITCH_FAILED:
        TR(t, now, c, "switch-failed", "thread=%s", tname(t, f->thread));
        if (f->thread >= 0 && sim_oracle_switch_failed(t->oracle, c, now, f->thread) != 0)
            fail(t, "out of memory (oracle)");
        break;
    case CR_NOTICE_MESSAGE_REJECTED:
        TR(t, now, c, "message-rejected", "msg=%" PRId64, f->msg);
        sim_oracle_message_told(t->oracle, f->msg);
        outbox_remove(cl, f->msg); /* answered: a rejected message is not resent */
        break;
    case CR_NOTICE_THREAD_SWITCHED:
        TR(t, now, c, "switched", "thread=%s", tname(t, f->thread));
        /* The UI shows the thread it asked for once the server confirms its
         * latest selection. */
        if (f->thread >= 0 && f->thread == cl->selected && f->req == cl->selection)
            view(t, now, c, f->thread);
        break;
    case CR_NOTICE_CLOSING:
        TR(t, now, c, "closed-by-server", "sock=%" PRId64, conn);
        t->host.close(t->host.ud, now, c, conn, SIM_TAB_GONE);
        cl->conn = -1;
        sim_oracle_link(t->oracle, c, now, 0);
        start_reconnect(t, now, c);
        break;
    default:
        TR(t, now, c, "notice", "kind=%d", f->notice);
        break;
    }
}

void sim_tab_lost(sim_tabs *t, uint32_t c, const sim_frame *f, uint64_t gone_at, int how)
{
    if (f->kind == SIM_FRAME_EVENT && !(f->flags & CR_EVENT_NOTIFICATION))
        sim_oracle_discarded(t->oracle, c, gone_at, f->ev, how);
}
