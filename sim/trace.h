/*
 * trace.h - the run trace: every simulated step as one canonical text line,
 *   <time_ns> <actor> <step> <detail>\n
 * hashed with XXH64 (libxxhash) as it is written.  The hash identifies a run.
 * Lines are kept only when asked (replay), for the timeline and the
 * Chrome/Perfetto trace-event JSON export (sim/timeline.h,
 * sim/perfetto.h).  A kept trace can also hold notes: side records with
 * the same fields that the world adds for those views (the simulator's
 * message id of a core dispatch, a connection's state, every pair's
 * verdict).  Notes are outside the text: never hashed, counted or written
 * by sim_trace_write_text, so they cannot change a trace hash.
 */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct sim_trace sim_trace;

/* One kept record (strings owned by the trace). */
typedef struct sim_trace_rec {
    uint64_t time;
    size_t after; /* a record: its index; a note: the records before it */
    char *actor;
    char *step;
    char *detail;
} sim_trace_rec;

/* sim_trace_new creates a trace; keep != 0 keeps every record.  0 or -1. */
int sim_trace_new(sim_trace **out, int keep);
void sim_trace_free(sim_trace *t);

/* sim_trace_add appends one step (detail is printf-formatted).  Returns 0
 * or -1 on allocation failure (the hash stays valid). */
int sim_trace_add(sim_trace *t, uint64_t time, const char *actor, const char *step, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));

/* sim_trace_hash returns the XXH64 (seed 0) of the canonical text so far. */
uint64_t sim_trace_hash(const sim_trace *t);

/* sim_trace_steps returns the number of steps added. */
uint64_t sim_trace_steps(const sim_trace *t);

/* Kept records (keep mode only). */
size_t sim_trace_count(const sim_trace *t);
const sim_trace_rec *sim_trace_get(const sim_trace *t, size_t i);

/* sim_trace_note adds a note (keep mode; otherwise, or on a NULL trace,
 * it does nothing and returns 0): a side record after the records added
 * so far, never hashed nor counted.  Line breaks become spaces.  Returns 0
 * or -1 on allocation failure.  O(length). */
int sim_trace_note(sim_trace *t, uint64_t time, const char *actor, const char *step,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The notes, in the order they were added. */
size_t sim_trace_note_count(const sim_trace *t);
const sim_trace_rec *sim_trace_note_get(const sim_trace *t, size_t i);

/* sim_trace_write_text writes the canonical text (keep mode; no notes).
 * 0 or -1. */
int sim_trace_write_text(const sim_trace *t, FILE *f);

#endif
