/*
 * oracle.h - what every client must receive, and what it did receive.
 *
 * The oracle lives in the clients, never in the core: it is told what each
 * browser tab views at every moment, which messages it sent, which events
 * the agents emitted (with the (user, thread) the *client* meant, not what
 * the core resolved), and what arrived on each tab.  It never reads the
 * core's counters; the only thing it takes from the core is what the core
 * *said* about an event or a message (an outcome report, an error return, a
 * rejection notice), to tell explicit losses from silent ones.
 *
 * Definitions (DESIGN.md section 4):
 *  expected(e, c): tab c of e's user was open and viewing e's thread when e
 *    was emitted, and stayed open for the delivery deadline, with its
 *    transport up when the deadline passed (a tab that
 *    closes is not owed it; one that clicks elsewhere still is, unless the
 *    core did send it and the transport lost it after the tab had moved
 *    on: the tab resumes the thread it shows, not the one it left);
 *  delivered / late: first arrival within / after the deadline;
 *  lost: expected and never arrived;
 *  misrouted: arrived on a tab of another user;
 *  stray: arrived on the right user's tab while it viewed another thread,
 *    and the core sent it on a connection it had shown another binding
 *    (a THREAD_SWITCHED notice, or events of a newer binding generation,
 *    for another thread; or no binding at all).  An event the core sent
 *    consistently with the binding it had shown, overtaken by the user
 *    clicking elsewhere, reached the tab as promised: it counts as
 *    arrived, not as stray;
 *  duplicated: arrived again on the same tab;
 *  out_of_order: arrived after a later event of the same run on that tab;
 *  silent_loss: lost, and the core never reported anything about it.
 * A message whose run never started (queued forever, rejected, lost)
 * counts all its run's events as expected at its send time.
 */
#ifndef SIM_ORACLE_H
#define SIM_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include "sim/result.h"

#define SIM_VIEW_NONE   (-1) /* open, viewing no thread */
#define SIM_VIEW_CLOSED (-2) /* tab closed (or not yet opened) */

/* What the core said about an event or message. */
typedef enum sim_said {
    SIM_SAID_NOTHING = 0,
    SIM_SAID_EXPIRED,
    SIM_SAID_FALLBACK,
    SIM_SAID_DROPPED,
    SIM_SAID_UNROUTABLE,
    SIM_SAID_REJECTED,
    SIM_SAID_OTHER
} sim_said;

typedef struct sim_oracle sim_oracle;

/* sim_oracle_new: `nclients` tabs; tab c belongs to user user_of[c]; the
 * tabs of one user are contiguous.  0 or -1 (allocation). */
int sim_oracle_new(sim_oracle **out, uint32_t nclients, const uint32_t *user_of, uint64_t deadline);
void sim_oracle_free(sim_oracle *o);

/* sim_oracle_view: tab c now views `thread` (an index, SIM_VIEW_NONE or
 * SIM_VIEW_CLOSED).  Times never decrease.  0 or -1. */
int sim_oracle_view(sim_oracle *o, uint32_t c, uint64_t now, int32_t thread);

/* sim_oracle_link: tab c's transport is now up (1) or down (0).  A tab
 * whose transport is down when an event's deadline passes is not owed it
 * (it could be late at best).  0 or -1. */
int sim_oracle_link(sim_oracle *o, uint32_t c, uint64_t now, int up);

/* sim_oracle_message: tab c sent a message meant for `thread` (or
 * SIM_VIEW_NONE: "the thread I will be given"), whose run has `nevents`
 * events.  Returns the message id (>= 0) or -1. */
int64_t sim_oracle_message(sim_oracle *o, uint32_t c, uint64_t now, int32_t thread,
                           uint32_t nevents, int counts);
/* sim_oracle_message_started: the message's run started. */
void sim_oracle_message_started(sim_oracle *o, int64_t msg);
/* sim_oracle_message_refused: the core refused the message on arrival (an
 * error returned to the sender): its events are not expected. */
void sim_oracle_message_refused(sim_oracle *o, int64_t msg);
/* sim_oracle_message_said: the core said `said` about the message. */
void sim_oracle_message_said(sim_oracle *o, int64_t msg, sim_said said);

/* sim_oracle_emit: an agent emitted event `index` of the run of message
 * `msg`, meant for (user, thread).  Returns the event id (>= 0) or -1. */
int64_t sim_oracle_emit(sim_oracle *o, uint64_t now, int64_t msg, uint32_t user, int32_t thread,
                        uint32_t index);
/* sim_oracle_event_said: the core said `said` about event `ev`. */
void sim_oracle_event_said(sim_oracle *o, int64_t ev, sim_said said);

/* sim_oracle_sent: the core sent event `ev` on a connection of tab c (what
 * the transport does with it is another matter).  O(1). */
void sim_oracle_sent(sim_oracle *o, uint32_t c, int64_t ev);

/* sim_oracle_receive: event `ev` arrived on tab c; notification != 0 for a
 * fallback notification.  Returns what the oracle made of it (for the
 * timeline): "ok", "duplicate", "stray", "MISROUTED", "notification",
 * "out-of-order".  O(tabs of the user). */
const char *sim_oracle_receive(sim_oracle *o, uint32_t c, uint64_t now, int64_t ev,
                               int notification, int consistent);

/* sim_oracle_finish computes the counts (indexed by sim_count_id) and the
 * latency histogram at the end of the run (`end`: no expectation whose
 * deadline falls after `end` is counted).  0 or -1. */
int sim_oracle_finish(sim_oracle *o, uint64_t end, uint64_t *counts, sim_hist *latency);

/* One verdict on an (event, tab) pair or a never-started message. */
typedef struct sim_verdict {
    const char *kind; /* "late", "lost" */
    int64_t event;    /* -1 for a message whose run never started */
    int64_t msg;
    uint32_t tab;
    int32_t thread;
    uint64_t emitted_at; /* or sent_at */
    uint64_t latency;    /* late: arrival - emission */
    sim_said said;
} sim_verdict;

/* sim_oracle_explain calls fn for every late or lost pair, in event order
 * (for the replay timeline).  Same rules as sim_oracle_finish. */
void sim_oracle_explain(const sim_oracle *o, uint64_t end,
                        void (*fn)(void *arg, const sim_verdict *v), void *arg);

/* sim_said_name returns "nothing" (silent), "expired", ... */
const char *sim_said_name(sim_said s);

/* Accessors of a message: the thread it is meant for (resolved late for
 * "none"), the sending tab and its user. */
int32_t sim_oracle_message_thread(const sim_oracle *o, int64_t msg);
uint32_t sim_oracle_message_tab(const sim_oracle *o, int64_t msg);
uint32_t sim_oracle_message_user(const sim_oracle *o, int64_t msg);

/* sim_oracle_view_of returns tab c's current view. */
int32_t sim_oracle_view_of(const sim_oracle *o, uint32_t c);

#endif
