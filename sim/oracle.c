/* oracle.c - the client-side oracle (see oracle.h and docs/oracle.md). */
#include "sim/oracle.h"

#include "sim/grow.h"

#include <stdlib.h>
#include <string.h>

/* A change of one of a tab's histories (choice, display, link): 12
 * bytes, no padding. */
typedef struct __attribute__((packed)) change {
    uint64_t at;
    int32_t v;
} change;

/* Changes kept inside the history itself: a tab's histories rarely hold
 * more (none, a thread, closed; a link up and down), so most tabs allocate
 * nothing for them (with two, three of a typical tab's four histories
 * spilled to the heap: 12 B inline each against ~80 B of heap block). */
#define HIST_INLINE 3

/* A tab's history (44 bytes, packed: change is 4-byte-wide): its changes
 * in time order, inline while they fit (cap <= HIST_INLINE), then in an
 * owned heap block of cap changes. */
typedef struct __attribute__((packed)) history {
    uint32_t n, cap;
    union __attribute__((packed)) {
        change *heap;
        change in[HIST_INLINE];
    } u;
} history;

typedef struct tab {
    history choice;    /* thread index, SIM_VIEW_NONE, SIM_VIEW_CLOSED */
    history display;   /* same values: what the tab shows */
    history link;      /* 1 up, 0 down */
    history failed;    /* SWITCH_FAILED received: thread */
    int64_t last_none; /* latest message sent "for the thread I will be given", -1 */
    uint32_t user;
} tab;

/* What tab (first_tab + k) saw of one event. */
typedef struct seen {  /* 24 bytes: widest fields first, no padding hole */
    uint64_t first_at; /* UINT64_MAX: never arrived */
    uint64_t gone_at;  /* when the last copy sent was lost */
    uint32_t arrivals;
    uint8_t sent; /* the core sent it on one of this tab's connections */
    uint8_t gone; /* SIM_GONE_* of the last copy sent, 0 while it may still arrive */
} seen;

#define GONE_STRAY 3 /* the last copy arrived as stray: shown on the wrong binding */

typedef struct event { /* 32 bytes */
    int64_t msg;
    uint64_t emitted_at;
    uint32_t user;
    uint32_t index;    /* in its run */
    uint32_t seen_off; /* into o->seen: one per tab of the user */
    uint8_t said;      /* sim_said */
    uint8_t notified;  /* a fallback notification of it reached a tab of the user */
} event;

typedef struct message { /* 64 bytes: widest fields first, no padding hole */
    uint64_t sent_at;
    uint64_t accepted_at;
    uint64_t arrival;  /* its number in the server's arrival order (from 1) */
    int64_t prev_none; /* previous pending "none" message of the same tab, -1 */
    uint32_t tab;
    int32_t thread;
    uint32_t nevents;
    uint32_t emitted;    /* events of its run emitted so far */
    uint32_t arrived_on; /* connection + 1 the server last offered it to the core on, 0 none */
    uint32_t maxidx_off; /* into o->maxidx: per tab of the user, highest index seen + 1 */
    uint8_t flags;       /* SIM_MSG_* */
    uint8_t accepted, refused, told;
    uint8_t said;
} message;

struct sim_oracle {
    uint64_t deadline;
    uint32_t ntabs;
    tab *tabs;
    uint32_t *first_tab; /* per user: first tab index; indexed by user */
    uint32_t *tab_count; /* per user */
    uint32_t nusers;
    event *events;
    size_t nevents, capevents;
    seen *seen;
    size_t nseen, capseen;
    message *msgs;
    size_t nmsgs, capmsgs;
    uint32_t *maxidx;
    size_t nmaxidx, capmaxidx;
    uint64_t misrouted, stray, duplicated, out_of_order, notifications, reordered;
    uint64_t narrivals;     /* ws messages offered to the core so far */
    uint64_t *conn_max_arr; /* per connection: highest arrival number dispatched, 0 none */
    size_t capconn;
};

/* ---- histories ------------------------------------------------------------ */

/* hv: h's changes (inline or its heap block; writable through a history
 * the caller may write). */
static change *hv(const history *h)
{
    return h->cap > HIST_INLINE ? h->u.heap : (change *)h->u.in;
}

/* hist_add appends a change (inline first, then a heap block that grows
 * by half).  0 or -1. */
static int hist_add(history *h, uint64_t at, int32_t v)
{
    uint32_t cap = h->cap > HIST_INLINE ? h->cap : HIST_INLINE;
    if (h->n == cap) {
        uint32_t ncap = cap + cap / 2 + 2;
        change *q = malloc((size_t)ncap * sizeof(change));
        if (!q)
            return -1;
        memcpy(q, hv(h), (size_t)h->n * sizeof(change));
        if (h->cap > HIST_INLINE)
            free(h->u.heap);
        h->u.heap = q;
        h->cap = ncap;
    }
    hv(h)[h->n++] = (change){at, v};
    return 0;
}

/* hist_push records a change of value (a repeat of the last is none). */
static int hist_push(history *h, uint64_t at, int32_t v)
{
    if (h->n && hv(h)[h->n - 1].v == v)
        return 0;
    return hist_add(h, at, v);
}

/* hist_bytes: the heap bytes of h beyond the tab (0 while inline). */
static size_t hist_bytes(const history *h)
{
    return h->cap > HIST_INLINE ? (size_t)h->cap * sizeof(change) : 0;
}

/* hist_free releases h's heap block, if any. */
static void hist_free(history *h)
{
    if (h->cap > HIST_INLINE)
        free(h->u.heap);
}

static int32_t hist_last(const history *h, int32_t none)
{
    return h->n ? hv(h)[h->n - 1].v : none;
}

/* chose_by: had tab t chosen `thread` at some time <= at?  O(choices). */
static int chose_by(const tab *t, int32_t thread, uint64_t at)
{
    for (size_t i = 0; i < t->choice.n && hv(&t->choice)[i].at <= at; i++)
        if (hv(&t->choice)[i].v == thread)
            return 1;
    return 0;
}

/* failed_after: did tab t receive SWITCH_FAILED for `thread` at or after
 * `at`?  O(notices). */
static int failed_after(const tab *t, int32_t thread, uint64_t at)
{
    for (size_t i = 0; i < t->failed.n; i++)
        if (hv(&t->failed)[i].v == thread && hv(&t->failed)[i].at >= at)
            return 1;
    return 0;
}

/*
 * owed_window: the obligation of tab t for an event of `thread` emitted at
 * `at` that first arrived at `arrived` (UINT64_MAX: never).  Watch periods
 * [a, b) (choice == thread, link up) ending after `at` are taken in order;
 * with from = max(a, at):
 *   - an arrival at or before min(b, from + deadline) settles it: owed and
 *     delivered (an event that arrived while the user looked elsewhere is
 *     there when the user returns);
 *   - else a period lasting a whole deadline from `from` owes it, due at
 *     from + deadline (arriving later: late; never: lost);
 *   - else the user left (or the link dropped) before the deadline: the
 *     obligation moves to the next period (the return).
 * A period still open at `end` lasts until `end` (UINT64_MAX: forever).
 * Returns 1 with *from and *due, or 0: not owed, or (*undecided = 1) not
 * decidable by `end`.  O(choices + links): both histories are merged in one pass.
 */
static int owed_window(const tab *t, int32_t thread, uint64_t at, uint64_t arrived,
                       uint64_t deadline, uint64_t end, uint64_t *from, uint64_t *due,
                       int *undecided)
{
    *undecided = 0;
    size_t i = 0, j = 0;
    int32_t choice = SIM_VIEW_CLOSED;
    int up = t->link.n == 0; /* a tab with no link history (unit tests) is always up */
    int on = 0;
    uint64_t start = 0;
    for (;;) {
        uint64_t ta = i < t->choice.n ? hv(&t->choice)[i].at : UINT64_MAX;
        uint64_t tb = j < t->link.n ? hv(&t->link)[j].at : UINT64_MAX;
        uint64_t now = ta < tb ? ta : tb;
        if (now > end)
            now = end;
        /* Apply every change at `now`, then see whether a period ended. */
        int done = now == end;
        while (!done && i < t->choice.n && hv(&t->choice)[i].at == now)
            choice = hv(&t->choice)[i++].v;
        while (!done && j < t->link.n && hv(&t->link)[j].at == now)
            up = hv(&t->link)[j++].v;
        int next = !done && choice == thread && up;
        if (on && (!next || done) && now > at) {
            uint64_t b = now, a = start > at ? start : at;
            uint64_t d = a > UINT64_MAX - deadline ? UINT64_MAX : a + deadline;
            if (arrived <= (b < d ? b : d) || (b >= d && d <= end)) {
                *from = a;
                *due = d;
                return 1;
            }
        }
        if (done) {
            *undecided = on; /* a period still open when observation ended */
            return 0;
        }
        if (!on && next)
            start = now;
        on = next;
    }
}

/* ---- construction --------------------------------------------------------- */

int sim_oracle_new(sim_oracle **out, uint32_t nclients, const uint32_t *user_of, uint64_t deadline)
{
    sim_oracle *o = calloc(1, sizeof(*o));
    if (!o)
        return -1;
    o->deadline = deadline;
    o->ntabs = nclients;
    o->tabs = calloc(nclients ? nclients : 1, sizeof(tab));
    uint32_t nusers = 0;
    for (uint32_t c = 0; c < nclients; c++)
        if (user_of[c] + 1 > nusers)
            nusers = user_of[c] + 1;
    o->nusers = nusers;
    o->first_tab = calloc(nusers ? nusers : 1, sizeof(uint32_t));
    o->tab_count = calloc(nusers ? nusers : 1, sizeof(uint32_t));
    if (!o->tabs || !o->first_tab || !o->tab_count) {
        sim_oracle_free(o);
        return -1;
    }
    for (uint32_t c = nclients; c-- > 0;) {
        o->tabs[c].user = user_of[c];
        o->tabs[c].last_none = -1;
        o->first_tab[user_of[c]] = c;
        o->tab_count[user_of[c]]++;
    }
    *out = o;
    return 0;
}

size_t sim_oracle_bytes(const sim_oracle *o)
{
    size_t b = sizeof *o + (size_t)o->ntabs * sizeof(tab) +
               2 * (size_t)(o->nusers ? o->nusers : 1) * sizeof(uint32_t) +
               o->capevents * sizeof(event) + o->capseen * sizeof(seen) +
               o->capmsgs * sizeof(message) + o->capmaxidx * sizeof(uint32_t) +
               o->capconn * sizeof(uint64_t);
    for (uint32_t c = 0; c < o->ntabs; c++)
        b += hist_bytes(&o->tabs[c].choice) + hist_bytes(&o->tabs[c].display) +
             hist_bytes(&o->tabs[c].link) + hist_bytes(&o->tabs[c].failed);
    return b;
}

void sim_oracle_free(sim_oracle *o)
{
    if (!o)
        return;
    for (uint32_t c = 0; c < o->ntabs && o->tabs; c++) {
        hist_free(&o->tabs[c].choice);
        hist_free(&o->tabs[c].display);
        hist_free(&o->tabs[c].link);
        hist_free(&o->tabs[c].failed);
    }
    free(o->tabs);
    free(o->first_tab);
    free(o->tab_count);
    free(o->events);
    free(o->seen);
    free(o->msgs);
    free(o->maxidx);
    free(o->conn_max_arr);
    free(o);
}

/* ---- what the clients do -------------------------------------------------- */

int32_t sim_oracle_view_of(const sim_oracle *o, uint32_t c)
{
    return hist_last(&o->tabs[c].display, SIM_VIEW_CLOSED);
}

int32_t sim_oracle_choice_of(const sim_oracle *o, uint32_t c)
{
    return hist_last(&o->tabs[c].choice, SIM_VIEW_CLOSED);
}

int sim_oracle_choose(sim_oracle *o, uint32_t c, uint64_t now, int32_t thread)
{
    tab *t = &o->tabs[c];
    if (hist_push(&t->choice, now, thread))
        return -1;
    /* Messages sent "for the thread I will be given" get this one.  O(k)
     * for the k such messages of this tab, each visited once. */
    if (thread >= 0) {
        for (int64_t i = t->last_none; i >= 0; i = o->msgs[i].prev_none)
            o->msgs[i].thread = thread;
        t->last_none = -1;
    }
    return 0;
}

int sim_oracle_view(sim_oracle *o, uint32_t c, uint64_t now, int32_t thread)
{
    return hist_push(&o->tabs[c].display, now, thread);
}

int sim_oracle_link(sim_oracle *o, uint32_t c, uint64_t now, int up)
{
    return hist_push(&o->tabs[c].link, now, up ? 1 : 0);
}

int sim_oracle_switch_failed(sim_oracle *o, uint32_t c, uint64_t now, int32_t thread)
{
    return hist_add(&o->tabs[c].failed, now, thread);
}

int64_t sim_oracle_message(sim_oracle *o, uint32_t c, uint64_t now, int32_t thread,
                           uint32_t nevents, int flags)
{
    if (sim_grow((void **)&o->msgs, &o->capmsgs, o->nmsgs + 1, sizeof(message)))
        return -1;
    uint32_t u = o->tabs[c].user;
    uint32_t k = o->tab_count[u];
    if (o->nmaxidx + k > UINT32_MAX || /* maxidx_off is 32 bits */
        sim_grow((void **)&o->maxidx, &o->capmaxidx, o->nmaxidx + k, sizeof(uint32_t)))
        return -1;
    message *m = &o->msgs[o->nmsgs];
    memset(m, 0, sizeof(*m));
    m->tab = c;
    m->thread = thread;
    m->nevents = nevents;
    m->sent_at = now;
    m->flags = (uint8_t)flags;
    m->maxidx_off = (uint32_t)o->nmaxidx;
    m->prev_none = -1;
    if (thread == SIM_VIEW_NONE && sim_oracle_choice_of(o, c) >= 0) {
        m->thread = sim_oracle_choice_of(o, c); /* no thread id: the one the tab is on */
    } else if (thread == SIM_VIEW_NONE) {
        m->prev_none = o->tabs[c].last_none;
        o->tabs[c].last_none = (int64_t)o->nmsgs;
    }
    memset(&o->maxidx[o->nmaxidx], 0, k * sizeof(uint32_t));
    o->nmaxidx += k;
    return (int64_t)o->nmsgs++;
}

static message *msg_at(sim_oracle *o, int64_t msg)
{
    return (msg >= 0 && (size_t)msg < o->nmsgs) ? &o->msgs[msg] : NULL;
}

void sim_oracle_message_accepted(sim_oracle *o, int64_t msg, uint64_t now)
{
    message *m = msg_at(o, msg);
    if (m && !m->accepted) {
        m->accepted = 1;
        m->accepted_at = now;
    }
}

void sim_oracle_message_refused(sim_oracle *o, int64_t msg)
{
    message *m = msg_at(o, msg);
    if (m)
        m->refused = 1;
}

void sim_oracle_message_said(sim_oracle *o, int64_t msg, sim_said said)
{
    message *m = msg_at(o, msg);
    if (m && m->said == SIM_SAID_NOTHING)
        m->said = (uint8_t)said;
}

void sim_oracle_message_told(sim_oracle *o, int64_t msg)
{
    message *m = msg_at(o, msg);
    if (m)
        m->told = 1;
}

int sim_oracle_message_arrived(sim_oracle *o, int64_t msg, uint32_t conn)
{
    message *m = msg_at(o, msg);
    if (!m || (m->flags & SIM_MSG_HTTP))
        return 0;
    if (conn >= o->capconn) {
        size_t cap = o->capconn;
        if (sim_grow((void **)&o->conn_max_arr, &o->capconn, (size_t)conn + 1, sizeof(uint64_t)))
            return -1;
        memset(o->conn_max_arr + cap, 0, (o->capconn - cap) * sizeof(uint64_t));
    }
    m->arrived_on = conn + 1;
    m->arrival = ++o->narrivals;
    return 0;
}

int sim_oracle_message_dispatched(sim_oracle *o, int64_t msg)
{
    message *m = msg_at(o, msg);
    if (!m || (m->flags & SIM_MSG_HTTP) || !m->arrived_on)
        return 0;
    uint64_t *max = &o->conn_max_arr[m->arrived_on - 1];
    if (*max > m->arrival) {
        o->reordered++;
        return 1;
    }
    *max = m->arrival;
    return 0;
}

int64_t sim_oracle_emit(sim_oracle *o, uint64_t now, int64_t msg, uint32_t index)
{
    message *m = msg_at(o, msg);
    if (!m || sim_grow((void **)&o->events, &o->capevents, o->nevents + 1, sizeof(event)))
        return -1;
    uint32_t user = o->tabs[m->tab].user, k = o->tab_count[user];
    if (o->nseen + k > UINT32_MAX || /* seen_off is 32 bits */
        sim_grow((void **)&o->seen, &o->capseen, o->nseen + k, sizeof(seen)))
        return -1;
    event *e = &o->events[o->nevents];
    memset(e, 0, sizeof(*e));
    e->msg = msg;
    e->user = user;
    e->index = index;
    e->emitted_at = now;
    e->seen_off = (uint32_t)o->nseen;
    for (uint32_t j = 0; j < k; j++)
        o->seen[o->nseen + j] = (seen){.first_at = UINT64_MAX};
    o->nseen += k;
    if (index + 1 > m->emitted)
        m->emitted = index + 1;
    return (int64_t)o->nevents++;
}

static event *event_at(sim_oracle *o, int64_t ev)
{
    return (ev >= 0 && (size_t)ev < o->nevents) ? &o->events[ev] : NULL;
}

void sim_oracle_event_said(sim_oracle *o, int64_t ev, sim_said said)
{
    event *e = event_at(o, ev);
    if (e && e->said == SIM_SAID_NOTHING)
        e->said = (uint8_t)said;
}

/* seen_of: tab c's record of event e, NULL when c is another user's. */
static seen *seen_of(sim_oracle *o, uint32_t c, const event *e)
{
    if (c >= o->ntabs || o->tabs[c].user != e->user)
        return NULL;
    return &o->seen[e->seen_off + (c - o->first_tab[e->user])];
}

void sim_oracle_sent(sim_oracle *o, uint32_t c, int64_t ev)
{
    event *e = event_at(o, ev);
    seen *s = e ? seen_of(o, c, e) : NULL;
    if (s) {
        s->sent = 1;
        s->gone = 0; /* a new copy is on its way */
    }
}

void sim_oracle_discarded(sim_oracle *o, uint32_t c, uint64_t now, int64_t ev, int how)
{
    event *e = event_at(o, ev);
    seen *s = e ? seen_of(o, c, e) : NULL;
    if (s) {
        s->gone = (uint8_t)how;
        s->gone_at = now;
    }
}

const char *sim_oracle_receive(sim_oracle *o, uint32_t c, uint64_t now, int64_t ev,
                               int notification, int consistent)
{
    event *e = event_at(o, ev);
    if (!e)
        return "unknown";
    seen *s = seen_of(o, c, e);
    if (!s) {
        o->misrouted++; /* a security failure, whatever the flags say */
        return "MISROUTED";
    }
    if (notification) {
        o->notifications++;
        e->notified = 1;
        return "notification";
    }
    const message *m = &o->msgs[e->msg];
    const char *how = "ok";
    if (sim_oracle_view_of(o, c) != m->thread) {
        if (!consistent) {
            o->stray++;
            s->gone = GONE_STRAY;
            s->gone_at = now;
            return "stray";
        }
        /* It reached the tab as the core had promised; the user had just
         * clicked elsewhere.  An arrival, not shown yet. */
        how = "ok (raced a click)";
    }
    if (s->arrivals++ > 0) {
        o->duplicated++;
        return "duplicate";
    }
    s->first_at = now;
    uint32_t *mx = &o->maxidx[m->maxidx_off + (c - o->first_tab[e->user])];
    if (e->index + 1 < *mx) {
        o->out_of_order++;
        return "out-of-order";
    }
    *mx = e->index + 1;
    return how;
}

/* ---- judging ---------------------------------------------------------------- */

/* owes: does message m promise anything at all? */
static int owes(const message *m)
{
    return (m->flags & SIM_MSG_COUNTS) && m->accepted && !m->refused && m->thread >= 0;
}

/*
 * cause_of classifies one lost pair; e is NULL for an event never emitted
 * (then s is NULL too).  The order is SIM_CAUSES's.  O(notices of the tab).
 */
static sim_cause cause_of(const sim_oracle *o, const message *m, const event *e, const seen *s,
                          uint32_t c, uint64_t at, uint64_t from)
{
    const tab *t = &o->tabs[c];
    if (m->told || (e && e->notified) || failed_after(t, m->thread, at))
        return SIM_CAUSE_CLIENT_TOLD;
    if (m->said != SIM_SAID_NOTHING || (e && e->said != SIM_SAID_NOTHING))
        return SIM_CAUSE_CORE_REPORTED;
    if (!e)
        return SIM_CAUSE_NEVER_STARTED;
    /* A copy on its way while the event was owed: the transport's loss.
     * No copy then (never sent, or the last one died before the tab came
     * back and the core did not send it again): the core's. */
    if (s->sent && s->gone != GONE_STRAY && (!s->gone || s->gone_at >= from))
        return s->gone == SIM_GONE_TRANSPORT ? SIM_CAUSE_TRANSPORT_LOST
                                             : SIM_CAUSE_IN_FLIGHT_AT_CLOSE;
    return SIM_CAUSE_CORE_SILENT;
}

/*
 * watch_break: what tab t was doing about `thread` at `at`, or what first
 * ended its watch after `at`.  When t was not watching thread at `at`
 * (another choice, or its link down) *when = at and *what is that choice
 * (SIM_VIEW_DOWN for a link down); else *when and *what are the first
 * change after `at` that ended the watch (UINT64_MAX, thread: none).
 * O(choices + links).
 */
static void watch_break(const tab *t, int32_t thread, uint64_t at, uint64_t *when, int32_t *what)
{
    size_t i = 0, j = 0;
    int32_t choice = SIM_VIEW_CLOSED;
    int up = t->link.n == 0;
    for (; i < t->choice.n && hv(&t->choice)[i].at <= at; i++)
        choice = hv(&t->choice)[i].v;
    for (; j < t->link.n && hv(&t->link)[j].at <= at; j++)
        up = hv(&t->link)[j].v;
    if (choice != thread || !up) {
        *when = at;
        *what = choice != thread ? choice : SIM_VIEW_DOWN;
        return;
    }
    for (;;) {
        uint64_t ta = i < t->choice.n ? hv(&t->choice)[i].at : UINT64_MAX;
        uint64_t tb = j < t->link.n ? hv(&t->link)[j].at : UINT64_MAX;
        if (ta == UINT64_MAX && tb == UINT64_MAX)
            break;
        if (ta <= tb && hv(&t->choice)[i].v != thread) {
            *when = ta;
            *what = hv(&t->choice)[i].v;
            return;
        }
        if (tb < ta && !hv(&t->link)[j].v) {
            *when = tb;
            *what = SIM_VIEW_DOWN;
            return;
        }
        if (ta <= tb)
            i++;
        else
            j++;
    }
    *when = UINT64_MAX;
    *what = thread;
}

/* not_owed fills v as a pair that is not owed for reason `why`. */
static void not_owed(const sim_oracle *o, sim_pair_verdict *v, sim_not_owed why, uint64_t at)
{
    v->kind = "not_owed";
    v->why = why;
    if (why == SIM_NOT_OWED_NEVER_CHOSE || why == SIM_NOT_OWED_LEFT)
        watch_break(&o->tabs[v->tab], v->thread, at, &v->why_at, &v->why_to);
}

/*
 * judge_all walks every owed pair, in event order, then the never-emitted
 * events of each message; for each it calls `fn` (counts, or explain).
 * With `all`, every emitted event's pairs with the tabs of its user that
 * are not owed are passed too (kind "not_owed", with why).
 * O(events x tabs of a user x tab history).
 */
typedef void (*pair_fn)(void *arg, const sim_pair_verdict *v, uint64_t arrived_at);

static void judge_all(const sim_oracle *o, uint64_t end, int all, pair_fn fn, void *arg)
{
    uint64_t dl = o->deadline;
    for (size_t i = 0; i < o->nevents; i++) {
        const event *e = &o->events[i];
        const message *m = &o->msgs[e->msg];
        sim_not_owed whole = !(m->flags & SIM_MSG_COUNTS) ? SIM_NOT_OWED_FOREIGN
                             : m->refused || !m->accepted ? SIM_NOT_OWED_REFUSED
                             : m->thread < 0              ? SIM_NOT_OWED_NO_THREAD
                                                          : SIM_NOT_OWED_NO;
        if (whole != SIM_NOT_OWED_NO && !all)
            continue;
        uint32_t first = o->first_tab[e->user], k = o->tab_count[e->user];
        for (uint32_t j = 0; j < k; j++) {
            const tab *t = &o->tabs[first + j];
            const seen *s = &o->seen[e->seen_off + j];
            uint64_t from = 0, due = 0, arrived = s->arrivals ? s->first_at : UINT64_MAX;
            int undecided = 0;
            sim_pair_verdict v = {.event = (int64_t)i,
                                  .msg = e->msg,
                                  .index = e->index,
                                  .tab = first + j,
                                  .thread = m->thread,
                                  .emitted_at = e->emitted_at,
                                  .said = (sim_said)(e->said ? e->said : m->said),
                                  .arrived = arrived};
            if (whole != SIM_NOT_OWED_NO) {
                not_owed(o, &v, whole, e->emitted_at);
                fn(arg, &v, arrived);
                continue;
            }
            if (first + j != m->tab && !chose_by(t, m->thread, e->emitted_at)) {
                /* the tab never chose this thread before the event */
                if (all) {
                    not_owed(o, &v, SIM_NOT_OWED_NEVER_CHOSE, e->emitted_at);
                    fn(arg, &v, arrived);
                }
                continue;
            }
            if (!owed_window(t, m->thread, e->emitted_at, arrived, dl, end, &from, &due,
                             &undecided)) {
                if (all) {
                    not_owed(o, &v, undecided ? SIM_NOT_OWED_UNDECIDED : SIM_NOT_OWED_LEFT,
                             e->emitted_at);
                    fn(arg, &v, arrived);
                }
                continue;
            }
            v.owed_from = from;
            v.due = due;
            if (!s->arrivals)
                v.cause = cause_of(o, m, e, s, first + j, e->emitted_at, from);
            fn(arg, &v, arrived);
        }
    }
    /* Events never emitted: owed to the sending tab from the acceptance. */
    for (size_t i = 0; i < o->nmsgs; i++) {
        const message *m = &o->msgs[i];
        if (!owes(m) || m->emitted >= m->nevents)
            continue;
        uint64_t from, due;
        int undecided;
        if (!owed_window(&o->tabs[m->tab], m->thread, m->accepted_at, UINT64_MAX, dl, end, &from,
                         &due, &undecided))
            continue;
        for (uint32_t n = m->emitted; n < m->nevents; n++) {
            sim_pair_verdict v = {.event = -1,
                                  .msg = (int64_t)i,
                                  .index = n,
                                  .tab = m->tab,
                                  .thread = m->thread,
                                  .emitted_at = m->accepted_at,
                                  .owed_from = from,
                                  .due = due,
                                  .said = (sim_said)m->said,
                                  .arrived = UINT64_MAX};
            v.cause = cause_of(o, m, NULL, NULL, m->tab, m->accepted_at, from);
            fn(arg, &v, UINT64_MAX);
        }
    }
}

typedef struct count_arg {
    uint64_t *counts;
    sim_hist *latency;
} count_arg;

static void count_pair(void *arg, const sim_pair_verdict *v, uint64_t arrived_at)
{
    count_arg *a = arg;
    a->counts[SIM_COUNT_EXPECTED]++;
    if (arrived_at == UINT64_MAX) {
        a->counts[SIM_COUNT_LOST]++;
        a->counts[sim_cause_count(v->cause)]++;
    } else if (arrived_at <= v->due) {
        a->counts[SIM_COUNT_DELIVERED]++;
        sim_hist_add(a->latency, arrived_at > v->owed_from ? arrived_at - v->owed_from : 0);
    } else {
        a->counts[SIM_COUNT_LATE]++;
    }
}

int sim_oracle_finish(sim_oracle *o, uint64_t end, uint64_t *counts, sim_hist *latency)
{
    count_arg a = {counts, latency};
    judge_all(o, end, 0, count_pair, &a);
    for (size_t i = 0; i < o->nmsgs; i++)
        counts[SIM_COUNT_REFUSED] += o->msgs[i].refused;
    counts[SIM_COUNT_MISROUTED] += o->misrouted;
    counts[SIM_COUNT_STRAY] += o->stray;
    counts[SIM_COUNT_DUPLICATED] += o->duplicated;
    counts[SIM_COUNT_OUT_OF_ORDER] += o->out_of_order;
    counts[SIM_COUNT_REORDERED_MESSAGES] += o->reordered;
    counts[SIM_COUNT_NOTIFICATIONS] += o->notifications;
    counts[SIM_COUNT_EMITTED] += o->nevents;
    counts[SIM_COUNT_MESSAGES] += o->nmsgs;
    return 0;
}

typedef struct explain_arg {
    void (*fn)(void *arg, const sim_pair_verdict *v);
    void *arg;
} explain_arg;

static void explain_pair(void *arg, const sim_pair_verdict *v, uint64_t arrived_at)
{
    explain_arg *a = arg;
    if (arrived_at != UINT64_MAX && arrived_at <= v->due)
        return;
    sim_pair_verdict x = *v;
    x.kind = arrived_at == UINT64_MAX ? "lost" : "late";
    if (arrived_at != UINT64_MAX)
        x.latency = arrived_at - v->owed_from;
    a->fn(a->arg, &x);
}

void sim_oracle_explain(const sim_oracle *o, uint64_t end,
                        void (*fn)(void *arg, const sim_pair_verdict *v), void *arg)
{
    explain_arg a = {fn, arg};
    judge_all(o, end, 0, explain_pair, &a);
}

static void each_pair(void *arg, const sim_pair_verdict *v, uint64_t arrived_at)
{
    explain_arg *a = arg;
    sim_pair_verdict x = *v;
    if (!x.kind) {
        x.kind = arrived_at == UINT64_MAX ? "lost" : arrived_at <= v->due ? "delivered" : "late";
        if (arrived_at != UINT64_MAX)
            x.latency = arrived_at > v->owed_from ? arrived_at - v->owed_from : 0;
    }
    a->fn(a->arg, &x);
}

void sim_oracle_each(const sim_oracle *o, uint64_t end,
                     void (*fn)(void *arg, const sim_pair_verdict *v), void *arg)
{
    explain_arg a = {fn, arg};
    judge_all(o, end, 1, each_pair, &a);
}

const char *sim_not_owed_name(sim_not_owed why)
{
    static const char *const names[] = {"owed",        "foreign", "refused",  "no_thread",
                                        "never_chose", "left",    "undecided"};
    return (unsigned)why < sizeof(names) / sizeof(names[0]) ? names[why] : "?";
}

/* ---- accessors -------------------------------------------------------------- */

int32_t sim_oracle_message_thread(const sim_oracle *o, int64_t msg)
{
    return (msg >= 0 && (size_t)msg < o->nmsgs) ? o->msgs[msg].thread : SIM_VIEW_NONE;
}

uint32_t sim_oracle_message_tab(const sim_oracle *o, int64_t msg)
{
    return (msg >= 0 && (size_t)msg < o->nmsgs) ? o->msgs[msg].tab : 0;
}

uint32_t sim_oracle_message_user(const sim_oracle *o, int64_t msg)
{
    return o->tabs[sim_oracle_message_tab(o, msg)].user;
}

uint64_t sim_oracle_event_time(const sim_oracle *o, int64_t ev)
{
    return (ev >= 0 && (size_t)ev < o->nevents) ? o->events[ev].emitted_at : 0;
}

int sim_oracle_event_sent(const sim_oracle *o, int64_t ev)
{
    if (ev < 0 || (size_t)ev >= o->nevents)
        return 0;
    const event *e = &o->events[ev];
    for (uint32_t j = 0; j < o->tab_count[e->user]; j++)
        if (o->seen[e->seen_off + j].sent)
            return 1;
    return 0;
}

const char *sim_said_name(sim_said s)
{
    static const char *const names[] = {"nothing",    "expired",  "fallback",    "dropped_full",
                                        "unroutable", "rejected", "other report"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
