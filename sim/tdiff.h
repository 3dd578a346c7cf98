/*
 * tdiff.h - compare two runs through their traces (ctxsim diff).
 *
 * A run is read from its canonical trace text (sim/trace.h: one line per
 * step, "<time_ns> <actor> <step> <detail>", then the oracle's verdicts
 * that the replay timeline shows: every late and lost (event, tab) pair,
 * with its cause).  Two runs are aligned step by step: the first record
 * that differs is the first divergence, shown with context on both sides;
 * then a resync point, the nearest pair of positions from which both runs
 * go on with the same steps again (actor, step and detail; times may
 * differ), found within a window.  Then the per-event outcomes: every
 * (message, event index, tab) pair either run received or owed, with what
 * happened to it on each side (received, duplicated, late, lost with its
 * cause), and the pairs whose outcome differs are listed.
 *
 * Pairs are keyed by (oracle message id, index of the event in its run,
 * tab): stable across profiles and policies for one seed; across seeds the
 * same key names the n-th message of a different script, which is still
 * what an engineer compares.
 */
#ifndef SIM_TDIFF_H
#define SIM_TDIFF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/trace.h"

typedef struct sim_tdiff_run sim_tdiff_run;

/* sim_tdiff_parse reads a run from canonical trace text (len bytes, need
 * not be NUL-terminated); `name` labels it in messages.  Returns 0; -1 on
 * malformed text with err = "NAME:LINE: why" (an empty text is malformed:
 * no trace has no step); -2 on allocation failure.  O(len). */
int sim_tdiff_parse(const char *name, const char *text, size_t len, sim_tdiff_run **out, char *err,
                    size_t errlen);

/* sim_tdiff_from_trace reads a run from a kept trace (sim_trace_new with
 * keep): the same as parsing its sim_trace_write_text.  0, -1 (not kept
 * or empty, err filled), -2 allocation.  O(records). */
int sim_tdiff_from_trace(const char *name, const sim_trace *t, sim_tdiff_run **out, char *err,
                         size_t errlen);

/* sim_tdiff_free releases a run (NULL is fine). */
void sim_tdiff_free(sim_tdiff_run *r);

/* sim_tdiff_records returns the number of trace records of a run. */
size_t sim_tdiff_records(const sim_tdiff_run *r);

typedef struct sim_tdiff_opts {
    unsigned context;    /* records shown before and after the divergence (default 3) */
    unsigned max_events; /* per-event outcome differences listed (0: default 20) */
    unsigned window;     /* alignment window after the divergence, records per side (0: 64) */
} sim_tdiff_opts;

/* What a comparison found (for callers and tests). */
typedef struct sim_tdiff_result {
    int identical;             /* 1: same records, same outcomes */
    size_t first;              /* index (0-based) of the first differing record; SIZE_MAX none */
    uint64_t time_a, time_b;   /* the virtual times of the records at `first` (UINT64_MAX: none) */
    size_t resync_a, resync_b; /* where both go on alike; SIZE_MAX: not within the window */
    size_t pairs_a, pairs_b;   /* (message, event, tab) pairs each side knows */
    size_t outcome_diffs;      /* pairs whose outcome differs */
    uint64_t lost_a, lost_b, late_a, late_b, dup_a, dup_b;
} sim_tdiff_result;

/* sim_tdiff_compare aligns a and b, writes the report to f (may be NULL:
 * only *res), and fills *res.  Returns 0 when identical, 1 when they
 * differ, -1 on a write error.  O(records + pairs log pairs + window^2
 * at the divergence). */
int sim_tdiff_compare(const sim_tdiff_run *a, const sim_tdiff_run *b, const sim_tdiff_opts *o,
                      FILE *f, sim_tdiff_result *res);

#endif
