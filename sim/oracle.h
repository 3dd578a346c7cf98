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
 * The rules (docs/oracle.md, which the truth-table tests pin):
 *  choice: a tab's latest `send` or `switch` (sim_oracle_choose); display:
 *    what it shows (sim_oracle_view, used for stray and the timeline only);
 *  watch period of tab c for thread t: c's choice is t and its link is up;
 *  owed(e, c): c had chosen e's thread at or before e's emission T (or c
 *    sent e's message), and the first watch period for it that ends after
 *    T lasts a whole deadline from max(start, T): due at max(start, T) + D;
 *    an accepted message owes its whole event list: events never emitted
 *    are owed to the sending tab from the acceptance time;
 *  delivered / late: first arrival at or before / after the due time;
 *  lost: owed, never arrived; exactly one cause each (SIM_CAUSES order):
 *    client_told, core_reported, transport_lost, in_flight_at_close,
 *    never_started, core_silent (= silent_loss);
 *  misrouted, stray, duplicated, out_of_order, reordered_messages.
 */
#ifndef SIM_ORACLE_H
#define SIM_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include "sim/result.h"

#define SIM_VIEW_NONE   (-1) /* open, viewing no thread */
#define SIM_VIEW_CLOSED (-2) /* tab closed (or not yet opened) */

/* What the core said to the host about an event or message. */
typedef enum sim_said {
    SIM_SAID_NOTHING = 0,
    SIM_SAID_EXPIRED,
    SIM_SAID_FALLBACK,
    SIM_SAID_DROPPED,
    SIM_SAID_UNROUTABLE,
    SIM_SAID_REJECTED,
    SIM_SAID_OTHER
} sim_said;

/* Message flags (sim_oracle_message). */
#define SIM_MSG_COUNTS 1 /* meant for a thread of the user's own: its run is owed */
#define SIM_MSG_HTTP   2 /* posted over HTTP: not ordered with the tab's ws messages */

/* How a sent event failed to arrive (sim_oracle_discarded). */
#define SIM_GONE_TRANSPORT 1 /* the transport died with it in flight */
#define SIM_GONE_CLOSE     2 /* the tab closed with it in flight */

typedef struct sim_oracle sim_oracle;

/* sim_oracle_new: `nclients` tabs; tab c belongs to user user_of[c]; the
 * tabs of one user are contiguous.  0 or -1 (allocation). */
int sim_oracle_new(sim_oracle **out, uint32_t nclients, const uint32_t *user_of, uint64_t deadline);
/* sim_oracle_bytes returns the bytes the oracle holds (its arrays at
 * their capacity and the tabs' history blocks; not malloc's own headers).
 * O(tabs). */
size_t sim_oracle_bytes(const sim_oracle *o);

void sim_oracle_free(sim_oracle *o);

/* sim_oracle_choose: the user's latest choice on tab c is now `thread` (an
 * index, SIM_VIEW_NONE or SIM_VIEW_CLOSED): what decides what is owed.
 * Pending "none" messages of the tab take a thread chosen here.  Times
 * never decrease.  0 or -1. */
int sim_oracle_choose(sim_oracle *o, uint32_t c, uint64_t now, int32_t thread);

/* sim_oracle_view: tab c now displays `thread` (confirmed view).  Only
 * stray and the timeline read it.  0 or -1. */
int sim_oracle_view(sim_oracle *o, uint32_t c, uint64_t now, int32_t thread);

/* sim_oracle_link: tab c's link is now up (1: it authenticated on its current
 * connection) or down (0: the transport is gone).  0 or -1. */
int sim_oracle_link(sim_oracle *o, uint32_t c, uint64_t now, int up);

/* sim_oracle_message: tab c sent a message meant for `thread` (or
 * SIM_VIEW_NONE: "the thread I will be given"; -3: foreign), whose run
 * has `nevents` events; flags SIM_MSG_*.  Returns the message id (>= 0,
 * increasing in send order) or -1. */
int64_t sim_oracle_message(sim_oracle *o, uint32_t c, uint64_t now, int32_t thread,
                           uint32_t nevents, int flags);
/* sim_oracle_message_accepted: the core took the message (first time
 * only): from now on its run's events are owed. */
void sim_oracle_message_accepted(sim_oracle *o, int64_t msg, uint64_t now);
/* sim_oracle_message_refused: the core refused the message on arrival (an
 * error returned to the sender): nothing is owed. */
void sim_oracle_message_refused(sim_oracle *o, int64_t msg);
/* sim_oracle_message_said: the core reported the message to the host. */
void sim_oracle_message_said(sim_oracle *o, int64_t msg, sim_said said);
/* sim_oracle_message_told: the sending tab received MESSAGE_REJECTED. */
void sim_oracle_message_told(sim_oracle *o, int64_t msg);
/* sim_oracle_message_arrived: the server offers a copy of ws message `msg`
 * to the core on connection `conn` (the world's index; one connection
 * belongs to one tab), just before the call: this copy's place in the order
 * the server received messages.  A later copy (a resend) replaces it.
 * Returns 0, or -1 out of memory.  O(1) amortised. */
int sim_oracle_message_arrived(sim_oracle *o, int64_t msg, uint32_t conn);
/* sim_oracle_message_dispatched: the core handed the message to the
 * application; counts reordered_messages when a ws message the server
 * received after it on the same connection was dispatched first (the queue
 * until context is FIFO; the order the tab sent them in is not what the
 * server saw when a copy was lost with a transport and resent later), and
 * then returns 1 (else 0).  A message never offered on a connection (HTTP)
 * is not ordered.  O(1). */
int sim_oracle_message_dispatched(sim_oracle *o, int64_t msg);

/* sim_oracle_emit: an agent emitted event `index` of the run of message
 * `msg` (the thread it is meant for is the message's).  Returns the event
 * id (>= 0) or -1.  O(tabs of the user). */
int64_t sim_oracle_emit(sim_oracle *o, uint64_t now, int64_t msg, uint32_t index);
/* sim_oracle_event_said: the core reported event `ev` to the host. */
void sim_oracle_event_said(sim_oracle *o, int64_t ev, sim_said said);

/* sim_oracle_sent: the core sent event `ev` on a connection of tab c (what
 * the transport does with it is another matter).  O(1). */
void sim_oracle_sent(sim_oracle *o, uint32_t c, int64_t ev);
/* sim_oracle_discarded: the copy of `ev` last sent to tab c was lost at
 * `now`: `how` is SIM_GONE_TRANSPORT or SIM_GONE_CLOSE.  O(1). */
void sim_oracle_discarded(sim_oracle *o, uint32_t c, uint64_t now, int64_t ev, int how);
/* sim_oracle_switch_failed: tab c received SWITCH_FAILED for `thread`.
 * 0 or -1. */
int sim_oracle_switch_failed(sim_oracle *o, uint32_t c, uint64_t now, int32_t thread);

/* sim_oracle_receive: event `ev` arrived on tab c; notification != 0 for a
 * fallback notification; consistent != 0 when the core sent it on the
 * binding it had shown that connection.  Returns what the oracle made of
 * it (for the timeline): "ok", "ok (raced a click)", "duplicate",
 * "stray", "MISROUTED", "notification", "out-of-order".  O(1). */
const char *sim_oracle_receive(sim_oracle *o, uint32_t c, uint64_t now, int64_t ev,
                               int notification, int consistent);

/* sim_oracle_finish computes the counts (indexed by sim_count_id, added
 * to) and the latency histogram.  `end` is the end of observation:
 * UINT64_MAX when the world went quiet (watch periods still open last
 * forever); pairs due after `end` are undecidable and not counted.
 * 0 or -1.  O(pairs x history of a tab). */
int sim_oracle_finish(sim_oracle *o, uint64_t end, uint64_t *counts, sim_hist *latency);

/* Why an (event, tab) pair of an emitted event was not owed. */
typedef enum sim_not_owed {
    SIM_NOT_OWED_NO = 0,      /* it was owed */
    SIM_NOT_OWED_FOREIGN,     /* its message was not meant for a thread of the user's own */
    SIM_NOT_OWED_REFUSED,     /* its message was refused by the core (or never accepted) */
    SIM_NOT_OWED_NO_THREAD,   /* its message never got a thread ("none", never chosen) */
    SIM_NOT_OWED_NEVER_CHOSE, /* the tab had not chosen the thread by the emission */
    SIM_NOT_OWED_LEFT,        /* the tab was not watching it (or stopped) within a deadline
                               * and never watched it for a whole deadline again */
    SIM_NOT_OWED_UNDECIDED    /* observation ended before it was due */
} sim_not_owed;

#define SIM_VIEW_DOWN (-4) /* sim_pair_verdict.why_to: the tab's link went down */

/* One verdict on an (event, tab) pair. */
typedef struct sim_pair_verdict {
    const char *kind; /* "late", "lost"; sim_oracle_each also "delivered", "not_owed" */
    int64_t event;    /* -1: event `index` of message `msg` was never emitted */
    int64_t msg;
    uint32_t index;
    uint32_t tab;
    int32_t thread;
    uint64_t emitted_at; /* or the message's acceptance time */
    uint64_t owed_from;  /* the start of the obligation (emission or return) */
    uint64_t due;
    uint64_t latency; /* late: arrival - owed_from */
    sim_cause cause;  /* lost only */
    sim_said said;    /* what the core said to the host */
    uint64_t arrived; /* first arrival on the tab, UINT64_MAX never (sim_oracle_each) */
    /* not_owed only: why, and for NEVER_CHOSE / LEFT what the tab was doing
     * at the emission (why_at = emitted_at) or what first ended its watch
     * after it: why_to is a thread, SIM_VIEW_NONE, SIM_VIEW_CLOSED or
     * SIM_VIEW_DOWN (why_at UINT64_MAX: nothing ended it). */
    sim_not_owed why;
    uint64_t why_at;
    int32_t why_to;
} sim_pair_verdict;

/* sim_oracle_explain calls fn for every late or lost pair, in event order
 * (for the replay timeline).  Same rules as sim_oracle_finish. */
void sim_oracle_explain(const sim_oracle *o, uint64_t end,
                        void (*fn)(void *arg, const sim_pair_verdict *v), void *arg);

/* sim_oracle_each calls fn for every (event, tab of its user) pair of
 * every emitted event, owed or not ("delivered", "late", "lost",
 * "not_owed" with why), in event order, then for the owed pairs of events
 * never emitted (the replay timeline).  Same rules as sim_oracle_finish:
 * the owed pairs are exactly the ones it counts.  O(events x tabs of a
 * user x tab history). */
void sim_oracle_each(const sim_oracle *o, uint64_t end,
                     void (*fn)(void *arg, const sim_pair_verdict *v), void *arg);

/* sim_not_owed_name returns "owed", "foreign", "refused", "no_thread",
 * "never_chose", "left", "undecided"; "?" out of range. */
const char *sim_not_owed_name(sim_not_owed why);

/* sim_said_name returns "nothing", "expired", ... */
const char *sim_said_name(sim_said s);

/* Accessors of a message: the thread it is meant for (resolved late for
 * "none"), the sending tab and its user; of an event: its emission time. */
int32_t sim_oracle_message_thread(const sim_oracle *o, int64_t msg);
uint32_t sim_oracle_message_tab(const sim_oracle *o, int64_t msg);
uint32_t sim_oracle_message_user(const sim_oracle *o, int64_t msg);
uint64_t sim_oracle_event_time(const sim_oracle *o, int64_t ev);

/* sim_oracle_event_sent: did the core send event `ev` to any tab?  O(tabs
 * of the user). */
int sim_oracle_event_sent(const sim_oracle *o, int64_t ev);

/* sim_oracle_view_of returns tab c's current display; sim_oracle_choice_of
 * its current choice. */
int32_t sim_oracle_view_of(const sim_oracle *o, uint32_t c);
int32_t sim_oracle_choice_of(const sim_oracle *o, uint32_t c);

#endif
