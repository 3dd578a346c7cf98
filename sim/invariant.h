/*
 * invariant.h - the core's invariants, checked through its public API only
 * (cr_ctx_get_stats, cr_conn_get_info, cr_ctx_is_ready, cr_ctx_policy).
 *
 * Two levels, both free of side effects and callable after any step of any
 * host (the simulator's world, `ctxsim check`), even from inside a callback:
 *  - the counters (O(1)): the outcome counters add up against
 *    events_emitted and events_buffered_now, every message has one fate,
 *    the gauges never underflow, queues and buffers stay within the
 *    policy's bounds (times the connections or streams they are per);
 *  - the connections (O(n)): each state has the fields it must have (READY
 *    => user, bound thread, generation > 0, routable; OPEN => no user, ...),
 *    queues within pending_max / preauth_max, and, over all connections,
 *    the per-state counts equal conns_by_state; and each stream that
 *    holds events (cr_ctx_dump) within event_buffer_max and
 *    event_buffer_max_bytes, its entries within its seqs.
 * Every rule is stated in docs/check.md and holds for every policy (the
 * legacy profile included), so a violation is a core bug, never a fault.
 *
 * Each function returns 0, or -1 with the first broken rule written to
 * `why` (NUL-terminated, truncated to len; why may be NULL when len is 0).
 */
#ifndef SIM_INVARIANT_H
#define SIM_INVARIANT_H

#include <stddef.h>
#include <stdint.h>

#include "ctxready.h"

/* What a host knows about the context beyond its counters; 0 = unknown
 * (the bound that needs it is skipped). */
typedef struct sim_invariant_scope {
    uint64_t streams; /* (user, thread) pairs that exist (cr_thread_add calls) */
    uint64_t conns;   /* connections ever opened (ids 1..conns) */
    /* A snapshot of the same context that passed these checks under the same
     * policy, or NULL (borrowed): a histogram whose count and sum equal
     * prev's is taken as unchanged and its buckets are not summed again
     * (sim_invariant_hist_same).  A bucket moved without its count is then
     * found by the first check after the count moves, or by a check without
     * prev (sim_invariant_check_all at the end of a seed). */
    const cr_stats *prev;
} sim_invariant_scope;

/* sim_invariant_check_values checks counters *st against policy *p (the
 * O(1) level, on any cr_stats, e.g. a hand-made one).  scope may be NULL.
 * Returns 0 or -1 (reason in why).  O(CR_HIST_BUCKETS) for each histogram
 * not the same as scope->prev's, O(1) else. */
int sim_invariant_check_values(const cr_stats *st, const cr_policy *p,
                               const sim_invariant_scope *scope, char *why, size_t len);

/* sim_invariant_hist_same: 1 when histograms a and b have the same count
 * and sum (what recording a value always changes), else 0.  O(1). */
int sim_invariant_hist_same(const cr_histogram *a, const cr_histogram *b);

/* sim_invariant_check_stats reads ctx's counters and policy and checks them
 * (sim_invariant_check_values with no scope).  0 or -1.  O(1). */
int sim_invariant_check_stats(const cr_ctx *ctx, char *why, size_t len);

/* sim_invariant_check_conn checks connection `conn` as cr_conn_get_info
 * reports it (an id never opened is a violation).  0 or -1.  O(1). */
int sim_invariant_check_conn(const cr_ctx *ctx, cr_conn_id conn, char *why, size_t len);

/* sim_invariant_check_all checks the counters with scope, every connection
 * 1..scope->conns, that the number of connections in each state equals
 * conns_by_state, and every buffered stream's bounds (through
 * cr_ctx_dump).  scope must give conns.  0 or -1.  O(conns + streams log
 * streams). */
int sim_invariant_check_all(const cr_ctx *ctx, const sim_invariant_scope *scope, char *why,
                            size_t len);

#endif
