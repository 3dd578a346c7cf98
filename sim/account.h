/*
 * account.h - the core's own accounting (cr_stats) checked against what
 * the world observed through callbacks and return codes.
 *
 * The world keeps a sim_account up to date as it calls the core and sees
 * its callbacks, and after every step compares it with cr_ctx_get_stats
 * (sim_account_check).  A disagreement is counted in the `accounting`
 * count (sim/result.h), a per-seed failure.  docs/oracle.md ("The core's
 * accounting") gives the rules; they follow the contract of ctxready.h per
 * policy: with report_undeliverable off a loss is not counted by the core
 * ("it vanishes"), so only deliveries, replays and bound hits must agree.
 */
#ifndef SIM_ACCOUNT_H
#define SIM_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "ctxready.h"

typedef struct sim_account {
    uint64_t emitted;               /* cr_run_emit calls the core took (0 or CR_EFULL) */
    uint64_t out[CR_OUTCOME_COUNT]; /* outcomes seen returned or reported, once per event */
    uint64_t pending;               /* events seen buffered and not resolved yet */
    uint64_t received;              /* cr_conn_message calls the core counted */
    uint64_t dispatched;            /* dispatch callbacks */
    uint64_t rejected;              /* error reports about a message */
    uint64_t notices;               /* notify callbacks */
    uint64_t runs_started;          /* cr_run_start / cr_run_start_for returning 0 */
    uint64_t conns_opened;          /* cr_conn_open returning 0 */
    uint64_t conns_open;            /* opened, not closed (by the host or the core) */
    uint64_t closed_by_core;        /* close callbacks */
    uint64_t streams;               /* threads registered (cr_thread_add) */
} sim_account;

/*
 * sim_account_check compares *a with the core's counters *st under policy
 * *p.  Returns 0 when they agree, else 1 with the first disagreement
 * described in why ("messages_dispatched 4, the world saw 5").  Rules:
 *  - events_emitted, messages_received/dispatched/rejected, notices_sent,
 *    runs_started, conns_closed_pending_timeout equal the world's counts;
 *    the open and closed connection states add up to what the world opened;
 *  - report_undeliverable on: every outcome counter equals what the world
 *    saw, events_buffered_now equals the events it saw pending, and the
 *    outcomes plus the pending add up to events_emitted;
 *    off: delivered, buffered_delivered and dropped_full equal what the
 *    world saw, expired/fallback/unroutable are 0 (losses vanish), and
 *    the outcomes add up to at most events_emitted;
 *  - messages: received = dispatched + rejected + queued_now + preauth_now;
 *  - bounds: held events within event_buffer_max (and _bytes) per stream,
 *    undelivered within held, queued within pending_max and cached within
 *    preauth_max per open connection, none held where the fix is off;
 *    bytes_in_use within bytes_peak and at least the buffered payload.
 * O(CR_OUTCOME_COUNT).
 */
int sim_account_check(const sim_account *a, const cr_stats *st, const cr_policy *p, char *why,
                      size_t len);

#endif
