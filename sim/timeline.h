/*
 * timeline.h - the engineer's view of one replayed seed (docs/timeline.md).
 *
 * sim_tl_build reads a kept, annotated trace (sim_world_opts.keep_trace
 * and .annotate: the canonical records plus the world's notes, which are
 * outside the hash) into a model of the run: tabs, connections with their
 * states in the core, messages, agent runs, events with what the core, the
 * transport and each tab did with them, and every (event, tab) verdict of
 * the oracle.  Three views read it:
 *  - sim_tl_write: the timeline, one line per step, times and durations
 *    in human units, one message id space (the simulator's, the core's in
 *    brackets), every emitted event's verdict on its line, filtered by
 *    user, connection, thread and time;
 *  - sim_tl_explain: the causal story of one event;
 *  - sim_perfetto_write (sim/perfetto.h): Chrome trace-event JSON.
 * A trace that was not annotated (or records of another vocabulary) still
 * renders: each record as one line, with nothing to add.
 *
 * Ids, as the timeline prints them: tabs u<user>.<k>, connections c<id>
 * (the server's id, which the core uses), messages m<id> (the client's),
 * runs r<id>, events e<id>; an event is also m<msg>.<index> (event
 * <index> of the run of m<msg>, the only name of an event never emitted).
 */
#ifndef SIM_TIMELINE_H
#define SIM_TIMELINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/trace.h"

/* What a line of the timeline shows (one canonical record, or a note). */
typedef enum sim_tl_kind {
    SIM_TL_OTHER = 0,
    SIM_TL_TAB,      /* a step of a client (tab) */
    SIM_TL_RECEIVE,  /* a tab received an event */
    SIM_TL_OPEN,     /* server: a connection opened */
    SIM_TL_SERVER,   /* another server step */
    SIM_TL_AUTH,     /* a connection authenticated */
    SIM_TL_ASSOC,    /* threadsvc: association issued */
    SIM_TL_ANSWER,   /* threadsvc: association answered */
    SIM_TL_DISPATCH, /* core: a message handed to the application */
    SIM_TL_DELIVER,  /* core: an event sent on a connection */
    SIM_TL_CORE,     /* another core step (notify, close, report, run_go) */
    SIM_TL_START,    /* agent: a run started */
    SIM_TL_EMIT,     /* agent: an event emitted */
    SIM_TL_STATE,    /* note: a connection's state in the core changed */
    SIM_TL_VERDICT,  /* oracle: a late or lost pair (the records after the hash) */
    SIM_TL_WORLD     /* the world: drain */
} sim_tl_kind;

/* One line: a record (or a note) with the entities it is about resolved
 * (-1: none). */
typedef struct sim_tl_item {
    const sim_trace_rec *rec;
    sim_tl_kind kind;
    int note; /* a note (SIM_TL_STATE), not a canonical record */
    int64_t user, tab, conn, msg, run, ev, req, sock;
    const char *thread; /* the thread's name (of `user`), or NULL */
    char tbuf[32];      /* holds it when the record does not */
} sim_tl_item;

/* A connection's state in the core from `at` on (notes). */
typedef struct sim_tl_state {
    uint64_t at;
    size_t pos;     /* its item: the steps before it are what changed it */
    char state[16]; /* OPEN, PENDING_CONTEXT, READY, CLOSED */
    char thread[32], assoc[32];
    uint64_t gen;
    uint32_t attempt;
} sim_tl_state;

typedef struct sim_tl_tab {
    char name[40]; /* "u3.0" (the trace actor without "client:") */
    uint32_t user;
    int64_t sock; /* while building: its current socket */
} sim_tl_tab;

typedef struct sim_tl_conn {
    int known;
    int64_t tab, sock;
    uint64_t opened_at, closed_at; /* closed_at UINT64_MAX: open to the end */
    sim_tl_state *states;
    size_t nstates, capstates;
} sim_tl_conn;

typedef struct sim_tl_msg {
    int known;
    int64_t tab, conn, core_msg, run; /* conn: where the server took it */
    char thread[32], via[8];
    uint64_t sent_at, server_at, dispatched_at;
    char server_rc[24], ctx[72];
    int refused_told; /* MESSAGE_REJECTED reached the tab */
} sim_tl_msg;

typedef struct sim_tl_run {
    int known;
    int64_t msg;
    uint64_t started_at, go_at, last_emit;
    int went;
} sim_tl_run;

/* What a connection or tab did with one event. */
typedef struct sim_tl_hop {
    uint64_t at;
    int64_t conn, tab;
    uint64_t gen;
    int replay;
    char how[24]; /* receive: "ok", "stray", ...; deliver: "" */
} sim_tl_hop;

/* One (event, tab) verdict of the oracle (notes). */
typedef struct sim_tl_verdict {
    char kind[12]; /* delivered, late, lost, not_owed */
    int64_t ev, msg;
    uint32_t index;
    int64_t tab;
    char thread[32];
    uint64_t at, from, due;
    int64_t arrived, why_at; /* -1: never / none */
    char cause[24], said[16], why[16], why_to[32];
} sim_tl_verdict;

typedef struct sim_tl_event {
    int known;
    int64_t msg, run;
    uint32_t index, of;
    char name[32];
    uint64_t seq, emitted_at;
    char outcome[24]; /* what cr_run_emit returned */
    uint32_t sent;    /* connections it was sent on during the call */
    char report[24];  /* a later outcome report (expired, fallback, ...) */
    uint64_t report_at;
    sim_tl_hop *hops; /* deliveries and receptions, in time order */
    size_t nhops, caphops;
    size_t *verdicts; /* indices into sim_tl.verdicts */
    size_t nverdicts, capverdicts;
} sim_tl_event;

typedef struct sim_tl {
    const sim_trace *trace;
    sim_tl_item *items; /* records and state notes, in order */
    size_t nitems, capitems;
    sim_tl_tab *tabs;
    size_t ntabs, captabs, tab_hint; /* tab_hint: the last tab looked up */
    sim_tl_conn *conns;              /* indexed by the server's connection id */
    size_t nconns, capconns;
    int64_t *sock_conn; /* socket (the world's connection index) -> conn id + 1 */
    int64_t *sock_tab;  /* socket -> tab + 1 */
    size_t capsocks, capsocktabs;
    int64_t *req_conn; /* association request -> conn id + 1 */
    size_t capreqs;
    sim_tl_msg *msgs;
    size_t nmsgs, capmsgs;
    sim_tl_run *runs;
    size_t nruns, capruns;
    sim_tl_event *events;
    size_t nevents, capevents;
    sim_tl_verdict *verdicts;
    size_t nverdicts, capverdicts;
    uint64_t end, deadline, drain; /* end UINT64_MAX: quiet */
    int annotated;
} sim_tl;

/* sim_tl_build reads trace t (kept) into *out.  0, or -1 (not kept, or
 * out of memory).  O(records + notes). */
int sim_tl_build(const sim_trace *t, sim_tl **out);
void sim_tl_free(sim_tl *tl);

/* Filters of sim_tl_write: -1 / NULL / 0..UINT64_MAX for "any". */
typedef struct sim_tl_filter {
    int64_t user;       /* u<N> */
    int64_t conn;       /* c<N> */
    int64_t tuser;      /* the user a --thread u<N>/t<M> names, -1 any */
    const char *thread; /* thread name, any user's unless tuser */
    uint64_t from, to;  /* virtual time, inclusive */
} sim_tl_filter;

/* sim_tl_filter_init sets f to "everything". */
void sim_tl_filter_init(sim_tl_filter *f);

/* sim_tl_parse_user parses "u3" or "3"; sim_tl_parse_conn "c8" or "8";
 * sim_tl_parse_thread "t1" or "u3/t1" (into *tuser and the name, which
 * must stay valid); sim_tl_parse_time "1.5s", "200ms", "0".  Each returns
 * 0, or -1 with a precise message in err. */
int sim_tl_parse_user(const char *s, int64_t *user, char *err, size_t errlen);
int sim_tl_parse_conn(const char *s, int64_t *conn, char *err, size_t errlen);
int sim_tl_parse_thread(const char *s, int64_t *tuser, const char **thread, char *err,
                        size_t errlen);
int sim_tl_parse_time(const char *s, uint64_t *ns, char *err, size_t errlen);

/* sim_tl_check_filter checks that f names things the run has (a user, a
 * connection, a thread that exist).  0, or -1 with a message in err. */
int sim_tl_check_filter(const sim_tl *tl, const sim_tl_filter *f, char *err, size_t errlen);

/* sim_tl_write writes the timeline (the lines f keeps), then the verdict
 * summary (owed pairs by outcome and loss cause, pairs not owed by reason)
 * and the late and lost pairs f keeps.  0 or -1 (write error).
 * O(items + verdicts). */
int sim_tl_write(const sim_tl *tl, const sim_tl_filter *f, FILE *out);

/* sim_tl_explain writes the causal story of event `ev` ("e12", "12" or
 * "m17.3"): the message and run that produced it, the binding it met,
 * what the core did, what the transport did, what each tab saw, and each
 * tab's verdict with the cause of a loss.  0; -1 with a message in err
 * (no such event); -2 write error. */
int sim_tl_explain(const sim_tl *tl, const char *ev, FILE *out, char *err, size_t errlen);

/* sim_tl_dur writes a duration in human units: "850 ns", "12.5 us",
 * "17.8 ms", "1.250 s".  Returns buf. */
char *sim_tl_dur(uint64_t ns, char *buf, size_t len);

/* sim_tl_at writes a virtual time as the timeline's time column does,
 * seconds with microseconds ("1.250000 s", "0.017382 s").  Returns buf. */
char *sim_tl_at(uint64_t ns, char *buf, size_t len);

#endif
