/*
 * coverage.h - which behaviours of the core a run exercised.
 *
 * The world (sim/world.c) sets one bit per behaviour it observes through
 * the core's callbacks, return codes and cr_ctx_get_stats deltas; a seed's
 * bits are in sim_seed_result.coverage, a sweep's (the OR over its seeds)
 * in sim_sweep_result.coverage.  `ctxsim run --coverage` prints the matrix
 * behaviour x scenario and fails when a required behaviour is exercised by
 * no sweep of the run; `ctxsim gate` fails when a behaviour the baseline
 * exercised no longer is.  README.md ("Coverage") lists the table.
 *
 * X(id, name, required, doc).  Ids are bit positions: append new rows at
 * the end (the store keeps bitsets; an old bit must keep its meaning).
 */
#ifndef SIM_COVERAGE_H
#define SIM_COVERAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_BEHAVIOURS(X)                                                                          \
    X(TIMER_PENDING, timer_pending, 1, "the pending-deadline timer fired and closed a connection") \
    X(TIMER_RETRY, timer_retry, 1, "an association retry timer fired (a new attempt was issued)")  \
    X(TIMER_RUN, timer_run, 1, "a run re-validation timer (exec_grace) fired and the run went")    \
    X(TIMER_TTL, timer_ttl, 1, "an event TTL timer fired and expired a buffered event")            \
    X(PENDING_FULL, pending_full, 1, "a message refused with CR_EFULL: pending_max queued")        \
    X(PREAUTH_FULL, preauth_full, 1, "a message refused with CR_EFULL: preauth_max cached")        \
    X(BUFFER_FULL_COUNT, buffer_full_count, 1, "an event dropped_full: event_buffer_max reached")  \
    X(BUFFER_FULL_BYTES, buffer_full_bytes, 1,                                                     \
      "an event dropped_full: event_buffer_max_bytes reached")                                     \
    X(OUT_DELIVERED, out_delivered, 1, "an event's outcome: delivered (live)")                     \
    X(OUT_BUFFERED_DELIVERED, out_buffered_delivered, 1,                                           \
      "an event's outcome: buffered_delivered (replayed on binding)")                              \
    X(OUT_EXPIRED, out_expired, 1, "an event's outcome: expired (event_ttl)")                      \
    X(OUT_FALLBACK, out_fallback, 1, "an event's outcome: fallback (notification to another tab)") \
    X(OUT_DROPPED_FULL, out_dropped_full, 1, "an event's outcome: dropped_full")                   \
    X(OUT_UNROUTABLE, out_unroutable, 1, "an event's outcome: unroutable")                         \
    X(NOTICE_SWITCHED, notice_thread_switched, 1, "a THREAD_SWITCHED notice")                      \
    X(NOTICE_SWITCH_FAILED, notice_switch_failed, 1, "a SWITCH_FAILED notice")                     \
    X(NOTICE_REJECTED, notice_message_rejected, 1, "a MESSAGE_REJECTED notice")                    \
    X(NOTICE_CLOSING, notice_closing, 1, "a CLOSING notice")                                       \
    X(RETRIES_EXHAUSTED, retries_exhausted, 1,                                                     \
      "an association failed update_retries + 1 times and was given up")                           \
    X(GRACE_EXPIRED, grace_expired, 1, "a run's exec_grace ended without context: it went lost")   \
    X(REPLAY, replay, 1, "a buffered event replayed to a connection on (re)binding")               \
    X(REPLAY_GAP, replay_gap, 1,                                                                   \
      "a replay gap: the client's last_seq is older than what the history still holds")            \
    X(STALE_ANSWER, stale_answer, 1, "a superseded association's answer arrived")                  \
    X(SAME_THREAD_TABS, same_thread_tabs, 1,                                                       \
      "one event delivered live to two tabs of one user on the same thread")                       \
    X(SWITCH_TO_BOUND, switch_to_bound, 1, "a switch to the thread the connection is bound to")    \
    X(SERVER_CLOSE, server_close, 1, "a tab saw the server close its connection")                  \
    X(FOREIGN_REFUSED, foreign_refused, 1, "a message or switch refused with CR_EFOREIGN")         \
    X(HTTP_RUN, http_run, 1, "a run started for a message posted over HTTP")                       \
    X(PREAUTH_CACHED, preauth_cached, 1, "a message cached before authentication")                 \
    X(QUEUED, queued_until_context, 1, "a message queued until its context landed")                \
    X(RESEND_PARKED, resend_parked, 0,                                                             \
      "the server parked a resend of a message the core still held (sim/srvsock.h)")

typedef enum sim_behaviour {
#define SIM_BEHAVIOUR_ENUM(id, name, required, doc) SIM_BEH_##id,
    SIM_BEHAVIOURS(SIM_BEHAVIOUR_ENUM)
#undef SIM_BEHAVIOUR_ENUM
        SIM_BEH__N
} sim_behaviour;

/* A set of behaviours: bit b is behaviour b. */
typedef uint64_t sim_coverage;

#define SIM_COV_BIT(b) ((sim_coverage)1 << (b))

/* sim_behaviour_name returns "timer_pending", ...; NULL out of range. */
const char *sim_behaviour_name(int b);
/* sim_behaviour_doc returns the one-line description; NULL out of range. */
const char *sim_behaviour_doc(int b);
/* sim_behaviour_required: 1 when the CI suite must exercise behaviour b. */
int sim_behaviour_required(int b);
/* sim_behaviour_lookup returns the behaviour of a name, or -1.  O(rows). */
int sim_behaviour_lookup(const char *name);

/* sim_coverage_required returns the set of required behaviours. */
sim_coverage sim_coverage_required(void);

/* sim_coverage_missing writes the names of the behaviours of `want` that
 * `have` lacks into buf (", "-separated, "" if none) and returns how many
 * there are.  O(rows). */
int sim_coverage_missing(sim_coverage want, sim_coverage have, char *buf, size_t len);

/* sim_coverage_format writes the names of the behaviours of c into buf,
 * ","-separated in table order ("" for none).  Returns 0, or -1 when buf
 * is too small (truncated).  O(rows). */
int sim_coverage_format(sim_coverage c, char *buf, size_t len);

/* sim_coverage_parse reads a ","-separated list of behaviour names (as
 * sim_coverage_format writes it) into *out; names it does not know (a
 * behaviour since removed) are skipped and counted in the return value.
 * O(names x rows). */
int sim_coverage_parse(const char *text, sim_coverage *out);

/* One column of the matrix: a sweep's label and its coverage. */
typedef struct sim_coverage_col {
    const char *label;
    sim_coverage cov;
} sim_coverage_col;

/*
 * sim_coverage_print writes the matrix to f: one row per behaviour, one
 * column per entry of cols (numbered, with a legend below), a mark where
 * the column exercised it, a total column (how many columns did), then the
 * required behaviours that no column exercised.  Returns how many required
 * behaviours are missing (0: the gate holds).  O(rows x columns).
 */
int sim_coverage_print(FILE *f, const sim_coverage_col *cols, size_t ncols);

#endif
