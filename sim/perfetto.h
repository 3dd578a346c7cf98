/*
 * perfetto.h - a replayed run as Chrome trace-event JSON, for
 * ui.perfetto.dev or chrome://tracing (docs/timeline.md).
 *
 * Read off the timeline model (sim/timeline.h):
 *  - one process per user ("u3"), and one for the steps of no user
 *    ("world");
 *  - in it one track (thread) per tab ("tab u3.0"), per server connection
 *    ("conn c8 (u3.0)") and one for the user's agent runs ("agent u3");
 *  - B/E slices on each connection track for its states in the core
 *    (OPEN, PENDING_CONTEXT, READY with thread and generation), one after
 *    the other;
 *  - async slices (b/e) for association attempts (cat "assoc"), agent
 *    runs (cat "run") and the periods events spent buffered in the core
 *    (cat "buffered");
 *  - every step as a zero-length X slice on its track, with structured
 *    args (ids, seq, generation, the core's outcome, each tab's verdict
 *    and loss cause) and the record's text in "detail";
 *  - flow arrows (s/t/f, cat "event", bound to the enclosing slice) from
 *    each emission through the send on a connection to the tab that
 *    received it.
 * Timestamps are virtual microseconds; the events are sorted by time, so
 * every track's timestamps are monotonic.
 */
#ifndef SIM_PERFETTO_H
#define SIM_PERFETTO_H

#include <stdio.h>

#include "sim/timeline.h"

/* sim_perfetto_write writes the trace-event JSON of tl to f, built with
 * jansson.  0 or -1 (allocation or write error).  O(n log n) in the
 * items and events of the run, O(n) memory. */
int sim_perfetto_write(const sim_tl *tl, FILE *f);

#endif
