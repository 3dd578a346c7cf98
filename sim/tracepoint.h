/*
 * tracepoint.h - how every actor of a seed writes its trace lines.
 *
 * The world (sim/world.c), the tabs (sim/tab.h), the server-side actors
 * (sim/backend.h) and the transport host write their steps through these
 * two macros, so the trace's meaning (sim/trace.h: one canonical record per
 * step, hashed; notes outside the hash) has one definition.  A module holds
 * a `sim_trace *` that is NULL when its host traces nothing (a real server,
 * a benchmark with tracing off): then SIM_TR formats nothing.
 */
#ifndef SIM_TRACEPOINT_H
#define SIM_TRACEPOINT_H

#include "sim/trace.h"

/* SIM_TR records one step of `actor` at virtual (or host) time `now` in
 * trace `tr` (nothing when tr is NULL); the detail is printf-formatted. */
#define SIM_TR(tr, now, actor, step, ...)                                                          \
    do {                                                                                           \
        if (tr)                                                                                    \
            sim_trace_add((tr), (now), actor, step, __VA_ARGS__);                                  \
    } while (0)

/* SIM_NOTE adds a note for the replay views (sim/timeline.h) when `on`:
 * outside the trace text and its hash. */
#define SIM_NOTE(on, tr, now, actor, step, ...)                                                    \
    do {                                                                                           \
        if (on)                                                                                    \
            sim_trace_note((tr), (now), actor, step, __VA_ARGS__);                                 \
    } while (0)

#endif
