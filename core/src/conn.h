/*
 * conn.h - connections: authentication, client messages (F5, F6 and the
 * F1 message path), thread switches (F3), association with retries (F8),
 * bindings, closing.  The public functions are declared in ctxready.h;
 * these are the pieces other modules of the core call.
 */
#ifndef CR_CONN_H
#define CR_CONN_H

#include "ctx.h"

/* cr_conn_assoc_request asks the thread service to associate c with s
 * (superseding any association in flight: its request id turns stale) and
 * remembers last_seq as the replay hint.  `establish`: the association
 * only establishes s's thread context when it lands (c keeps its binding);
 * else it binds c to s.  Needs one free slot in ctx->reqs
 * (cr_map_reserve).  Cannot fail. */
CR_INTERNAL void cr_conn_assoc_request(cr_ctx *ctx, uint64_t now, cr_conn *c, cr_stream *s,
                                       uint64_t last_seq, int establish);

/* Timer handlers (liveness already checked).  0, or CR_ENOMEM with nothing
 * changed. */
CR_INTERNAL int cr_conn_on_pending(cr_ctx *ctx, uint64_t now, cr_conn *c);
CR_INTERNAL int cr_conn_on_retry(cr_ctx *ctx, uint64_t now, cr_conn *c);

/* cr_user_fallback returns the user's READY connection bound most
 * recently (ties: lowest id), or NULL.  O(connections of the user). */
CR_INTERNAL cr_conn *cr_user_fallback(const cr_user *u);

/* cr_conn_close_deferred closes c, whose close a callback asked for
 * (cr_ctx_settle).  Cannot fail. */
CR_INTERNAL void cr_conn_close_deferred(cr_ctx *ctx, uint64_t now, cr_conn *c);

/* cr_conn_free releases c and its queued and cached messages, without any
 * callback (cr_ctx_del). */
CR_INTERNAL void cr_conn_free(cr_ctx *ctx, cr_conn *c);

#endif
