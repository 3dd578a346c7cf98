/*
 * merge.h - `ctxsim merge OUT.db IN.db...`: combine the databases of the
 * shards of one sweep (`ctxsim run --shard K/N`, DESIGN.md section 11)
 * into one run, recomputed seed by seed.
 */
#ifndef REP_MERGE_H
#define REP_MERGE_H

#include <stddef.h>

#include "sim/result.h"

/*
 * rep_merge_sweeps merges n parts of one sweep (same scenario, profile,
 * policy, ablated_fix and expectations; recorded by different shards) into
 * *out: the seeds are the union sorted by seed; the counts their sums; the
 * delivery rate and its Wilson interval recomputed; the latency histogram
 * the sum of the parts' (percentiles by sim_hist_quantile, max the
 * largest); failed_seeds counted from the seeds' verdicts; pass and reason
 * by rep_sweep_evaluate.  Identity fields and path come from parts[0].
 * out->seeds is malloc'd and owned by the caller.  Returns 0, -EINVAL with
 * a message in err[errlen] (parts disagree, or a seed is in two parts) or
 * -ENOMEM.  O(S log S) for S seeds in all.
 */
int rep_merge_sweeps(const sim_sweep_result *const *parts, size_t n, sim_sweep_result *out,
                     char *err, size_t errlen);

/*
 * rep_merge_args_equal sets *equal to 1 when two recorded command lines
 * are the same sweep: equal word for word once the options that only
 * choose the slice or where output goes are removed (--shard, --db,
 * --junit, --jobs, as "--opt V" or "--opt=V").  NULL equals NULL and "".
 * Returns 0 or -ENOMEM.
 */
int rep_merge_args_equal(const char *a, const char *b, int *equal);

/*
 * rep_cmd_merge is `ctxsim merge OUT.db IN.db...`; argv[0] is "merge".
 * Each input's latest run is one shard; their arguments must be equal
 * (rep_merge_args_equal), their shards distinct "K/N" with the same N (or
 * a single unsharded input).  OUT (created if missing; an existing results
 * database gains a run) gets one run whose sweeps are rep_merge_sweeps of
 * the inputs' parts, with their seeds, failures and histograms.  The run is
 * 'complete' when every shard 1..N is there and complete, 'failed' when a
 * shard's run failed, else 'interrupted' (with a warning naming what is
 * missing or unfinished).  The inputs are opened read-only
 * (rep_store_open_readonly: checked with quick_check); the run is written
 * into OUT in one transaction.  Returns the exit code: 0 merged, 2 bad
 * usage or input, 3 a database could not be read or written
 * (rep_store_exit_code); nothing is written into OUT then.
 */
int rep_cmd_merge(int argc, char **argv);

#endif
