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
 * rep_replay_set_program sets the program every replay line names: argv0
 * shell-quoted when it contains a '/' (the binary as it was invoked, e.g.
 * build/cc-O2/ctxsim), else "ctxsim" (an installed one, found in PATH;
 * also for NULL).  Process-wide; call it once from main.  Returns 0, or
 * -ENOSPC (argv0 too long) or -EILSEQ (argv0 not printable, see
 * rep_text_printable): "ctxsim" is used then.
 */
int rep_replay_set_program(const char *argv0);

/* rep_replay_program returns the program the lines name (never NULL). */
const char *rep_replay_program(void);

/*
 * rep_replay_command writes into buf[len]
 *   PROGRAM replay <path> --seed <seed> --profile <profile>[ --ablate N]
 *       [ --policy k=v]...[ --explore][ --pct D:W][ --max-steps N][ --allow-large]
 * PROGRAM as set by rep_replay_set_program ("ctxsim" by default); --ablate
 * when r->ablated_fix > 0; one --policy per comma-separated k=v of
 * r->policy (empty items are skipped: the overrides on top of the profile
 * and the ablation); " --explore" for a sweep run with reordered
 * simultaneous events (r->explore); " --pct D:W" for a PCT sweep
 * (r->pct_depth, W in the largest unit that holds it exactly, e.g. 5ms);
 * " --allow-large" when one seed is over the cost limits (r->allow_large).
 * The path and every k=v are shell-quoted when they hold characters a
 * shell would interpret, so the line can be pasted as is and reproduces
 * the seed (same trace hash, same verdict).
 * Returns 0, -EINVAL (NULL argument), or -ENOSPC when buf is too small
 * (buf then holds ""). O(strlen(path) + strlen(policy)).
 */
int rep_replay_command(const sim_sweep_result *r, uint64_t seed, char *buf, size_t len);

/*
 * rep_replay_command_verb is rep_replay_command with `verb` ("replay" or
 * "shrink", the commands that take the same arguments) in place of
 * "replay".  Returns 0, -EINVAL (NULL argument or another verb), -ENOSPC.
 */
int rep_replay_command_verb(const sim_sweep_result *r, uint64_t seed, const char *verb, char *buf,
                            size_t len);

#endif
