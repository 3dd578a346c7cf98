/*
 * stream.h - per-(user, thread) streams: ownership, seq numbers, the list
 * of READY connections, and the replay buffer with its bounds and TTL
 * (F4).  cr_thread_add is the public entry point (ctxready.h).
 */
#ifndef CR_STREAM_H
#define CR_STREAM_H

#include "ctx.h"

/* Ready list (binding order).  O(1). */
CR_INTERNAL void cr_stream_ready_add(cr_stream *s, cr_conn *c);
CR_INTERNAL void cr_stream_ready_remove(cr_stream *s, cr_conn *c);

/* cr_stream_prune removes every entry whose age reached event_ttl: history
 * silently, undelivered events as EXPIRED (cr_route_nondelivery).  The
 * buffer is in emission order, so they form a prefix.  O(removed). */
CR_INTERNAL void cr_stream_prune(cr_ctx *ctx, uint64_t now, cr_stream *s);

/* cr_stream_schedule (re)arms the TTL timer on the oldest entry, or
 * cancels it.  Needs one reserved heap slot.  O(log n). */
CR_INTERNAL void cr_stream_schedule(cr_ctx *ctx, cr_stream *s);

/* cr_stream_replay sends every buffered entry with seq > last_seq to c, in
 * seq order, flagged CR_EVENT_REPLAY; entries never delivered before
 * become BUFFERED_DELIVERED.  O(buffer). */
CR_INTERNAL void cr_stream_replay(cr_ctx *ctx, uint64_t now, cr_stream *s, cr_conn *c,
                                  uint64_t last_seq);

/* cr_stream_make_room checks that one more entry of `len` payload bytes
 * fits within event_buffer_max / event_buffer_max_bytes, evicting the
 * oldest delivered entries if that is enough.  Returns 1 (room made) or 0
 * (it cannot fit even then; nothing evicted).  O(buffer) when evicting. */
CR_INTERNAL int cr_stream_make_room(cr_ctx *ctx, cr_stream *s, size_t len);

/* cr_stream_append adds e (owned by the stream from now on) at the end. */
CR_INTERNAL void cr_stream_append(cr_ctx *ctx, cr_stream *s, cr_entry *e);

/* cr_stream_on_ttl: TTL timer handler.  0 (cannot fail: the popped timer
 * left a free heap slot). */
CR_INTERNAL int cr_stream_on_ttl(cr_ctx *ctx, uint64_t now, cr_stream *s);

/* cr_stream_free releases s and its buffer, without callbacks. */
CR_INTERNAL void cr_stream_free(cr_ctx *ctx, cr_stream *s);

#endif
