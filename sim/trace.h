/*
 * trace.h - the run trace: every simulated step, hashed as a binary
 * record, kept as one canonical text line
 *   <time_ns> <actor> <step> <detail>\n
 * when asked (replay, determinism diff, the timeline and the
 * Chrome/Perfetto trace-event JSON export: sim/timeline.h,
 * sim/perfetto.h).  The hash identifies a run; it is the same whether or
 * not the trace is kept.
 *
 * The hash is XXH64 (libxxhash, seed 0) of the concatenated step records,
 * each laid out as (integers little-endian):
 *   time     u64
 *   actor    str                  str: u32 length, then the bytes;
 *   step     str                       NULL: length 0xffffffff, no bytes
 *   format   u64   the format's id: XXH64 (seed 0) of its canonical spelling,
                 the format without the conversions' length modifiers
                 (hh h l ll j z t L) and with %i and %u written %d
 *   then one field per argument the format reads, in order:
 *     %d %i %c (any length), a '*' width or precision: u64, sign-extended
 *     %u %x %X %o (any length): u64, zero-extended
 *     %s: str (the bytes as given: line breaks are not rewritten)
 *     %f %e %g %a: u64, the IEEE-754 bits of the double (L: converted to double)
 *     %p: u64 0x9e3779b97f4a7c15 (an address is never part of a run)
 * So nothing is formatted for the hash, a format's address never matters
 * (only its bytes), and two spellings of a format that print the same text
 * from the same values (%zu, %" PRIu32 ", %d, %ld) hash alike.  Text is formatted only in keep
 mode.
 *
 * A kept trace can also hold notes: side records with the same fields
 * that the world adds for those views (the simulator's message id of a
 * core dispatch, a connection's state, every pair's verdict).  Notes are
 * outside the records: never hashed, counted or written by
 * sim_trace_write_text, so they cannot change a trace hash.
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

/* sim_trace_add appends one step: its binary record to the hash and, in
 * keep mode, its text (detail is printf-formatted).  Returns 0 or -1 on
 * allocation failure of the kept text (the hash stays valid).  O(record
 * size); a format is parsed once per trace (cached by its address). */
int sim_trace_add(sim_trace *t, uint64_t time, const char *actor, const char *step, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));

/* sim_trace_hash returns the XXH64 (seed 0) of the step records so far
 * (top of this file).  O(1). */
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
