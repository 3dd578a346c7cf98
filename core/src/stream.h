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
 * cancels it; an empty buffer's block is freed, one at most a quarter full
 * is moved into a smaller one.  Called after every change of the buffer.
 * Needs one reserved heap slot.  O(log n), plus the bytes moved when it
 * shrinks (amortised O(1) per byte that left). */
CR_INTERNAL void cr_stream_schedule(cr_ctx *ctx, cr_stream *s);

/* cr_stream_replay sends every buffered entry with seq > last_seq to c, in
 * seq order, flagged CR_EVENT_REPLAY; entries never delivered before
 * become BUFFERED_DELIVERED.  O(buffer). */
CR_INTERNAL void cr_stream_replay(cr_ctx *ctx, uint64_t now, cr_stream *s, cr_conn *c,
                                  uint64_t last_seq);

/* cr_stream_reserve makes sure that cr_stream_append of event ev (its
 * seq the next one) cannot fail, whatever cr_stream_prune and
 * cr_stream_make_room do in between: the buffer block exists and has room
 * (it grows by half as much again when the dead prefix is too small to
 * compact into).  Nothing is reserved for a payload that can never fit.
 * 0 or CR_ENOMEM (nothing changed).  O(buffer bytes) when it grows. */
CR_INTERNAL int cr_stream_reserve(cr_ctx *ctx, cr_stream *s, const cr_event *ev);

/* cr_stream_make_room checks that one more entry of `len` payload bytes
 * fits within event_buffer_max / event_buffer_max_bytes, evicting the
 * oldest delivered entries if that is enough.  Returns 1 (room made) or 0
 * (it cannot fit even then; nothing evicted).  O(buffer) when evicting. */
CR_INTERNAL int cr_stream_make_room(cr_ctx *ctx, cr_stream *s, size_t len);

/* cr_stream_append adds event ev (copied; `delivered`: as history) at the
 * end.  Room must have been reserved (cr_stream_reserve) and made
 * (cr_stream_make_room).  O(1), or O(buffer bytes) when it compacts. */
CR_INTERNAL void cr_stream_append(cr_ctx *ctx, cr_stream *s, const cr_event *ev, int delivered);

/* cr_stream_first_seq returns the seq of the oldest buffered event (the
 * buffer must not be empty); cr_stream_buffered the number of buffered
 * events.  O(1). */
CR_INTERNAL uint64_t cr_stream_first_seq(const cr_stream *s);
CR_INTERNAL size_t cr_stream_buffered(const cr_stream *s);

/* cr_stream_on_ttl: TTL timer handler.  0 (cannot fail: the popped timer
 * left a free heap slot). */
CR_INTERNAL int cr_stream_on_ttl(cr_ctx *ctx, uint64_t now, cr_stream *s);

/* cr_stream_free releases s and its buffer, without callbacks. */
CR_INTERNAL void cr_stream_free(cr_ctx *ctx, cr_stream *s);

#endif
