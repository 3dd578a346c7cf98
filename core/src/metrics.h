/*
 * metrics.h - histograms (log2 buckets).  Stats and the dump are public
 * (ctxready.h).
 */
#ifndef CR_METRICS_H
#define CR_METRICS_H

#include "alloc.h"

/* cr_hist_add records value v (nanoseconds) in h.  O(1). */
CR_INTERNAL void cr_hist_add(cr_histogram *h, uint64_t v);

#endif
