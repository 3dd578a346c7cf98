/*
 * replay.h - the exact `ctxsim replay` command line that reproduces one
 * seed of a sweep (DESIGN.md section 6: every failing seed prints it).
 */
#ifndef REP_REPLAY_H
#define REP_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "sim/result.h"

/*
 * rep_replay_command writes into buf[len]
 *   ctxsim replay <path> --seed <seed> --profile <profile>[ --policy k=v]...
 * with one --policy per comma-separated k=v of r->policy (empty items are
 * skipped).  r->ablated_fix is not printed: an ablation sweep must carry
 * the knob it switched off in r->policy for its line to reproduce it.
 * " --explore" ends the line of a sweep run with reordered simultaneous
 * events (r->explore).
 * The path and every k=v are shell-quoted when they hold characters a
 * shell would interpret, so the line can be pasted as is.
 * Returns 0, -EINVAL (NULL argument), or -ENOSPC when buf is too small
 * (buf then holds ""). O(strlen(path) + strlen(policy)).
 */
int rep_replay_command(const sim_sweep_result *r, uint64_t seed, char *buf, size_t len);

#endif
