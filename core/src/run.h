/*
 * run.h - agent runs: validation with grace (F2), run_go, emit and
 * routing (F7), non-delivery accounting (F9).
 */
#ifndef CR_RUN_H
#define CR_RUN_H

#include "ctx.h"

/* cr_route_nondelivery settles an event that reached no connection of its
 * stream, with outcome o (UNROUTABLE, EXPIRED or DROPPED_FULL):
 *  - report_undeliverable off: nothing happens (the legacy loss), except
 *    that DROPPED_FULL is still counted;
 *  - on: with fallback_notify a copy goes to u's most recently bound READY
 *    connection flagged CR_EVENT_NOTIFICATION (outcome FALLBACK; never for
 *    DROPPED_FULL: a bound hit stays visible as such); the outcome is
 *    counted and reported (CR_REPORT_OUTCOME; conn = the fallback
 *    connection, 0 if none).
 * `ev` describes the event (flags and generation are filled here); u may
 * be NULL.  Returns the final outcome.  O(connections of u). */
CR_INTERNAL cr_outcome cr_route_nondelivery(cr_ctx *ctx, uint64_t now, cr_outcome o, cr_user *u,
                                            cr_event *ev);

/* cr_route_report_resolved reports (F9 on) the resolution of a buffered
 * event as BUFFERED_DELIVERED to connection conn.  The caller counts it. */
CR_INTERNAL void cr_route_report_resolved(cr_ctx *ctx, uint64_t now, cr_conn_id conn,
                                          const cr_event *ev);

/* cr_run_on_timer: validation timer of a WAITING run.  0 or CR_ENOMEM
 * (nothing changed). */
CR_INTERNAL int cr_run_on_timer(cr_ctx *ctx, uint64_t now, cr_run *r);

#endif
