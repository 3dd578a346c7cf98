/* oracle.c - the client-side oracle (see oracle.h). */
#include "sim/oracle.h"

#include "sim/grow.h"

#include <stdlib.h>
#include <string.h>

/* A change of view of one tab. */
typedef struct view_change {
    uint64_t at;
    int32_t thread;
} view_change;

typedef struct tab {
    uint32_t user;
    view_change *views; /* owned, in time order */
    size_t nviews, capviews;
    int64_t last_none;  /* latest message sent "for the thread I will be given", -1 */
    view_change *links; /* transport up (1) / down (0) changes, in time order (owned) */
    size_t nlinks, caplinks;
} tab;

/* What tab (first_tab + k) saw of one event. */
typedef struct seen {
    uint64_t first_at; /* UINT64_MAX: never arrived */
    uint32_t arrivals;
    uint8_t expected;
    uint8_t sent; /* the core sent it on one of this tab's connections */
} seen;

typedef struct event {
    int64_t msg;
    uint32_t user;
    int32_t thread;
    uint32_t index; /* in its run */
    uint64_t emitted_at;
    uint8_t said;    /* sim_said */
    size_t seen_off; /* into o->seen: one per tab of the user */
} event;

typedef struct message {
    uint32_t tab;
    int32_t thread;
    uint32_t nevents;
    uint64_t sent_at;
    uint8_t started;
    uint8_t said;
    uint8_t counts; /* does a lost run count (the client meant a thread it owns) */
    uint8_t refused;
    int64_t prev_none; /* previous pending "none" message of the same tab, -1 */
    size_t maxidx_off; /* into o->maxidx: per tab of the user, highest index seen + 1 */
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
    uint64_t misrouted, stray, duplicated, out_of_order, notifications;
};

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

void sim_oracle_free(sim_oracle *o)
{
    if (!o)
        return;
    for (uint32_t c = 0; c < o->ntabs && o->tabs; c++) {
        free(o->tabs[c].views);
        free(o->tabs[c].links);
    }
    free(o->tabs);
    free(o->first_tab);
    free(o->tab_count);
    free(o->events);
    free(o->seen);
    free(o->msgs);
    free(o->maxidx);
    free(o);
}

int32_t sim_oracle_view_of(const sim_oracle *o, uint32_t c)
{
    const tab *t = &o->tabs[c];
    return t->nviews ? t->views[t->nviews - 1].thread : SIM_VIEW_CLOSED;
}

int sim_oracle_view(sim_oracle *o, uint32_t c, uint64_t now, int32_t thread)
{
    tab *t = &o->tabs[c];
    if (sim_oracle_view_of(o, c) == thread)
        return 0;
    if (sim_grow((void **)&t->views, &t->capviews, t->nviews + 1, sizeof(view_change)))
        return -1;
    t->views[t->nviews++] = (view_change){now, thread};
    /* Messages sent "for the thread I will be given" get this one.  O(k)
     * for the k such messages of this tab, each visited once. */
    if (thread >= 0) {
        for (int64_t i = t->last_none; i >= 0; i = o->msgs[i].prev_none)
            o->msgs[i].thread = thread;
        t->last_none = -1;
    }
    return 0;
}

int sim_oracle_link(sim_oracle *o, uint32_t c, uint64_t now, int up)
{
    tab *t = &o->tabs[c];
    if (t->nlinks && t->links[t->nlinks - 1].thread == up)
        return 0;
    if (sim_grow((void **)&t->links, &t->caplinks, t->nlinks + 1, sizeof(view_change)))
        return -1;
    t->links[t->nlinks++] = (view_change){now, up};
    return 0;
}

/* link_at: did tab t have a transport up at time `at`?  O(log l). */
static int link_at(const tab *t, uint64_t at)
{
    size_t lo = 0, hi = t->nlinks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->links[mid].at <= at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? t->links[lo - 1].thread : 0;
}

/* view_at returns tab c's view at time t (the last change at or before t).
 * O(log v) by binary search over the tab's view history. */
static int32_t view_at(const tab *t, uint64_t at)
{
    size_t lo = 0, hi = t->nviews;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->views[mid].at <= at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? t->views[lo - 1].thread : SIM_VIEW_CLOSED;
}

/* stays_open: was tab t open during the whole of [from, to], with its
 * transport up at `to` (a tab still reconnecting when the deadline passes
 * could at best get it late)?  O(v) over the tab's view changes. */
static int stays_open(const tab *t, uint64_t from, uint64_t to)
{
    if (view_at(t, from) == SIM_VIEW_CLOSED || (t->nlinks && !link_at(t, to)))
        return 0;
    for (size_t i = 0; i < t->nviews; i++)
        if (t->views[i].at > from && t->views[i].at <= to && t->views[i].thread == SIM_VIEW_CLOSED)
            return 0;
    return 1;
}

int64_t sim_oracle_message(sim_oracle *o, uint32_t c, uint64_t now, int32_t thread,
                           uint32_t nevents, int counts)
{
    if (sim_grow((void **)&o->msgs, &o->capmsgs, o->nmsgs + 1, sizeof(message)))
        return -1;
    uint32_t u = o->tabs[c].user;
    uint32_t k = o->tab_count[u];
    if (sim_grow((void **)&o->maxidx, &o->capmaxidx, o->nmaxidx + k, sizeof(uint32_t)))
        return -1;
    message *m = &o->msgs[o->nmsgs];
    memset(m, 0, sizeof(*m));
    m->tab = c;
    m->thread = thread;
    m->nevents = nevents;
    m->sent_at = now;
    m->counts = (uint8_t)(counts != 0);
    m->maxidx_off = o->nmaxidx;
    m->prev_none = -1;
    if (thread == SIM_VIEW_NONE) {
        m->prev_none = o->tabs[c].last_none;
        o->tabs[c].last_none = (int64_t)o->nmsgs;
    }
    memset(&o->maxidx[o->nmaxidx], 0, k * sizeof(uint32_t));
    o->nmaxidx += k;
    return (int64_t)o->nmsgs++;
}

void sim_oracle_message_started(sim_oracle *o, int64_t msg)
{
    if (msg >= 0 && (size_t)msg < o->nmsgs)
        o->msgs[msg].started = 1;
}

void sim_oracle_message_refused(sim_oracle *o, int64_t msg)
{
    if (msg >= 0 && (size_t)msg < o->nmsgs)
        o->msgs[msg].refused = 1;
}

void sim_oracle_message_said(sim_oracle *o, int64_t msg, sim_said said)
{
    if (msg >= 0 && (size_t)msg < o->nmsgs && o->msgs[msg].said == SIM_SAID_NOTHING)
        o->msgs[msg].said = (uint8_t)said;
}

int64_t sim_oracle_emit(sim_oracle *o, uint64_t now, int64_t msg, uint32_t user, int32_t thread,
                        uint32_t index)
{
    if (sim_grow((void **)&o->events, &o->capevents, o->nevents + 1, sizeof(event)))
        return -1;
    uint32_t first = o->first_tab[user], k = o->tab_count[user];
    if (sim_grow((void **)&o->seen, &o->capseen, o->nseen + k, sizeof(seen)))
        return -1;
    event *e = &o->events[o->nevents];
    e->msg = msg;
    e->user = user;
    e->thread = thread;
    e->index = index;
    e->emitted_at = now;
    e->said = SIM_SAID_NOTHING;
    e->seen_off = o->nseen;
    for (uint32_t j = 0; j < k; j++) {
        seen *s = &o->seen[o->nseen + j];
        s->first_at = UINT64_MAX;
        s->arrivals = 0;
        s->sent = 0;
        /* Owed if viewing the thread right now; whether the tab stays on it
         * is decided at the end, when the whole view history is known. */
        s->expected = (uint8_t)(thread >= 0 && msg >= 0 && o->msgs[msg].counts &&
                                sim_oracle_view_of(o, first + j) == thread);
    }
    o->nseen += k;
    return (int64_t)o->nevents++;
}

void sim_oracle_event_said(sim_oracle *o, int64_t ev, sim_said said)
{
    if (ev >= 0 && (size_t)ev < o->nevents && o->events[ev].said == SIM_SAID_NOTHING)
        o->events[ev].said = (uint8_t)said;
}

void sim_oracle_sent(sim_oracle *o, uint32_t c, int64_t ev)
{
    if (ev < 0 || (size_t)ev >= o->nevents || o->tabs[c].user != o->events[ev].user)
        return;
    const event *e = &o->events[ev];
    o->seen[e->seen_off + (c - o->first_tab[e->user])].sent = 1;
}

const char *sim_oracle_receive(sim_oracle *o, uint32_t c, uint64_t now, int64_t ev,
                               int notification, int consistent)
{
    if (ev < 0 || (size_t)ev >= o->nevents)
        return "unknown";
    event *e = &o->events[ev];
    const tab *t = &o->tabs[c];
    if (t->user != e->user) {
        o->misrouted++; /* a security failure, whatever the flags say */
        return "MISROUTED";
    }
    if (notification) {
        o->notifications++;
        return "notification";
    }
    const char *how = "ok";
    if (sim_oracle_view_of(o, c) != e->thread) {
        if (!consistent) {
            o->stray++;
            return "stray";
        }
        /* It reached the tab as the core had promised; the user had just
         * clicked elsewhere.  Delivered, not shown. */
        how = "ok (raced a click)";
    }
    seen *s = &o->seen[e->seen_off + (c - o->first_tab[e->user])];
    if (s->arrivals++ > 0) {
        o->duplicated++;
        return "duplicate";
    }
    s->first_at = now;
    if (e->msg >= 0) {
        uint32_t *mx = &o->maxidx[o->msgs[e->msg].maxidx_off + (c - o->first_tab[e->user])];
        if (e->index + 1 < *mx) {
            o->out_of_order++;
            return "out-of-order";
        }
        *mx = e->index + 1;
    }
    return s->expected ? how : "ok (not owed)";
}

/* classify adds one lost (event, tab) pair to the count of what the core
 * said about it. */
static void classify(uint64_t *counts, sim_said said)
{
    static const sim_count_id lost_as[] = {
        [SIM_SAID_NOTHING] = SIM_COUNT_SILENT_LOSS,
        [SIM_SAID_EXPIRED] = SIM_COUNT_CORE_REPORTED,
        [SIM_SAID_FALLBACK] = SIM_COUNT_CLIENT_TOLD,
        [SIM_SAID_DROPPED] = SIM_COUNT_CORE_REPORTED,
        [SIM_SAID_UNROUTABLE] = SIM_COUNT_CORE_REPORTED,
        [SIM_SAID_REJECTED] = SIM_COUNT_CLIENT_TOLD,
        [SIM_SAID_OTHER] = SIM_COUNT_CORE_REPORTED,
    };
    counts[SIM_COUNT_LOST]++;
    counts[lost_as[said]]++;
}

int sim_oracle_finish(sim_oracle *o, uint64_t end, uint64_t *counts, sim_hist *latency)
{
    uint64_t dl = o->deadline;
    for (size_t i = 0; i < o->nevents; i++) {
        const event *e = &o->events[i];
        uint32_t first = o->first_tab[e->user], k = o->tab_count[e->user];
        for (uint32_t j = 0; j < k; j++) {
            const seen *s = &o->seen[e->seen_off + j];
            if (!s->expected)
                continue;
            const tab *t = &o->tabs[first + j];
            if (s->arrivals) {
                uint64_t lat = s->first_at - e->emitted_at;
                counts[SIM_COUNT_EXPECTED]++;
                if (lat <= dl) {
                    counts[SIM_COUNT_DELIVERED]++;
                    sim_hist_add(latency, lat);
                } else {
                    counts[SIM_COUNT_LATE]++;
                }
                continue;
            }
            if (e->emitted_at + dl > end)
                continue; /* the run ended before its deadline: undecidable */
            if (!stays_open(t, e->emitted_at, e->emitted_at + dl))
                continue; /* the tab closed: not owed */
            if (s->sent && view_at(t, e->emitted_at + dl) != e->thread)
                continue; /* sent, lost in transit after the tab moved on */
            counts[SIM_COUNT_EXPECTED]++;
            classify(counts, (sim_said)e->said);
        }
    }
    /* Messages whose run never started: all their events are lost. */
    for (size_t i = 0; i < o->nmsgs; i++) {
        const message *m = &o->msgs[i];
        if (m->refused)
            counts[SIM_COUNT_REFUSED]++;
        if (m->started || m->refused || !m->counts || m->thread < 0 || m->sent_at + dl > end)
            continue;
        if (!stays_open(&o->tabs[m->tab], m->sent_at, m->sent_at + dl))
            continue;
        for (uint32_t n = 0; n < m->nevents; n++) {
            counts[SIM_COUNT_EXPECTED]++;
            classify(counts, (sim_said)m->said);
        }
    }
    counts[SIM_COUNT_MISROUTED] += o->misrouted;
    counts[SIM_COUNT_STRAY] += o->stray;
    counts[SIM_COUNT_DUPLICATED] += o->duplicated;
    counts[SIM_COUNT_OUT_OF_ORDER] += o->out_of_order;
    counts[SIM_COUNT_NOTIFICATIONS] += o->notifications;
    counts[SIM_COUNT_EMITTED] += o->nevents;
    counts[SIM_COUNT_MESSAGES] += o->nmsgs;
    return 0;
}

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

const char *sim_said_name(sim_said s)
{
    static const char *const names[] = {"nothing (silent)", "expired",    "fallback",
                                        "dropped_full",     "unroutable", "rejected",
                                        "other report"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

void sim_oracle_explain(const sim_oracle *o, uint64_t end,
                        void (*fn)(void *arg, const sim_verdict *v), void *arg)
{
    uint64_t dl = o->deadline;
    for (size_t i = 0; i < o->nevents; i++) {
        const event *e = &o->events[i];
        uint32_t first = o->first_tab[e->user], k = o->tab_count[e->user];
        for (uint32_t j = 0; j < k; j++) {
            const seen *s = &o->seen[e->seen_off + j];
            if (!s->expected)
                continue;
            sim_verdict v = {.event = (int64_t)i,
                             .msg = e->msg,
                             .tab = first + j,
                             .thread = e->thread,
                             .emitted_at = e->emitted_at,
                             .said = (sim_said)e->said};
            if (s->arrivals) {
                v.latency = s->first_at - e->emitted_at;
                if (v.latency <= dl)
                    continue;
                v.kind = "late";
            } else {
                if (e->emitted_at + dl > end ||
                    !stays_open(&o->tabs[first + j], e->emitted_at, e->emitted_at + dl) ||
                    (s->sent && view_at(&o->tabs[first + j], e->emitted_at + dl) != e->thread))
                    continue;
                v.kind = "lost";
            }
            fn(arg, &v);
        }
    }
    for (size_t i = 0; i < o->nmsgs; i++) {
        const message *m = &o->msgs[i];
        if (m->started || m->refused || !m->counts || m->thread < 0 || m->sent_at + dl > end ||
            !stays_open(&o->tabs[m->tab], m->sent_at, m->sent_at + dl))
            continue;
        sim_verdict v = {.kind = "lost",
                         .event = -1,
                         .msg = (int64_t)i,
                         .tab = m->tab,
                         .thread = m->thread,
                         .emitted_at = m->sent_at,
                         .said = (sim_said)m->said};
        fn(arg, &v);
    }
}
