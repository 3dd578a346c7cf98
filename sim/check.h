/*
 * check.h - small-scope exhaustive checking of the real core (`ctxsim
 * check`, docs/check.md).
 *
 * The real libctxready is driven directly through its API, with no network
 * model, by a host that can do a bounded set of things (the alphabet:
 * open, authenticate, message with no / an own / a foreign thread, switch,
 * the thread service answering an association ok or failed, the
 * application starting a run for a dispatched message or for (user,
 * thread) like an HTTP post, emitting the run's next event, ending it,
 * close, and time advancing to the core's next deadline) over N users, M
 * connections and T threads per user.  Every interleaving up to depth K is
 * explored breadth first, so the first violation found has a shortest input
 * sequence; a state (its fingerprint: the core's dump and gauges and the
 * host model, with times relative to now and identifiers canonicalised) is
 * expanded once.  The core has no undo: a state is reached by re-executing
 * its input sequence from a fresh context, then copied for each input by
 * snapshotting the context's private arena (the core keeps all its state in
 * memory obtained from the injected allocator, and has no global state).
 *
 * The oracle watches what the host observes through the callbacks and the
 * public queries, plus the invariants of sim/invariant.h after every step
 * and the quiescence rules once nothing is left to happen.  Nothing here
 * reads the wall clock: results are identical run to run.
 */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctxready.h"

/* Limits of the scope (the host model is fixed-size). */
#define SIM_CHECK_MAX_USERS   4
#define SIM_CHECK_MAX_CONNS   6
#define SIM_CHECK_MAX_THREADS 4
#define SIM_CHECK_MAX_DEPTH   24

/* The alphabet.  Arguments: a = connection, request, message or run id as
 * the core numbered it (1, 2, ...), or a user number (post); b = user
 * number (auth, post) or thread number (msg, switch, post): threads 1..T,
 * SIM_CHECK_NONE (no thread), SIM_CHECK_FOREIGN (a thread of another
 * user). */
#define SIM_CHECK_INPUTS(X)                                                                        \
    X(OPEN, "open")                                                                                \
    X(AUTH, "auth")                                                                                \
    X(MSG, "msg")                                                                                  \
    X(SWITCH, "switch")                                                                            \
    X(OK, "ok")                                                                                    \
    X(FAIL, "fail")                                                                                \
    X(START, "start")                                                                              \
    X(POST, "post")                                                                                \
    X(EMIT, "emit")                                                                                \
    X(END, "end")                                                                                  \
    X(CLOSE, "close")                                                                              \
    X(WAIT, "wait")

typedef enum sim_check_kind {
#define SIM_CHECK_KIND_ENUM(name, word) SIM_CHECK_##name,
    SIM_CHECK_INPUTS(SIM_CHECK_KIND_ENUM)
#undef SIM_CHECK_KIND_ENUM
        SIM_CHECK_KIND_COUNT
} sim_check_kind;

#define SIM_CHECK_NONE    0
#define SIM_CHECK_FOREIGN 255

typedef struct sim_check_input {
    uint8_t kind; /* sim_check_kind */
    uint8_t b;    /* user or thread number, see above */
    uint16_t pad;
    uint32_t a; /* id or user number */
} sim_check_input;

/* The violation kinds (docs/check.md gives each rule). */
#define SIM_CHECK_VIOLATIONS(X)                                                                    \
    X(INVARIANT, "invariant")                                                                      \
    X(CORE_ERROR, "core_error")                                                                    \
    X(MISROUTE, "misroute")                                                                        \
    X(DUPLICATE, "duplicate")                                                                      \
    X(OUT_OF_ORDER, "out_of_order")                                                                \
    X(SWITCHED_EARLY, "switched_early")                                                            \
    X(NO_CONTEXT, "dispatch_without_context")                                                      \
    X(CONTEXT_LOST, "context_lost")                                                                \
    X(SILENT_LOSS, "silent_loss")                                                                  \
    X(UNKEPT, "unkept")                                                                            \
    X(MISSED, "missed")                                                                            \
    X(LOST, "lost")                                                                                \
    X(STUCK, "stuck")                                                                              \
    X(STRANDED, "stranded")                                                                        \
    X(UNANSWERED, "unanswered")                                                                    \
    X(REORDERED, "reordered_messages")

typedef enum sim_check_violation {
    SIM_CHECK_V_NONE = 0,
#define SIM_CHECK_VIOL_ENUM(name, word) SIM_CHECK_V_##name,
    SIM_CHECK_VIOLATIONS(SIM_CHECK_VIOL_ENUM)
#undef SIM_CHECK_VIOL_ENUM
        SIM_CHECK_V_COUNT
} sim_check_violation;

/* sim_check_violation_name returns "misroute", ... ("none" for V_NONE,
 * NULL out of range).  sim_check_violation_parse is its inverse: the code,
 * or -1.  O(kinds). */
const char *sim_check_violation_name(int v);
int sim_check_violation_parse(const char *name);

/* The bounds and the policy.  sim_check_opts_init gives the defaults
 * (docs/check.md): fixed profile, 2 users, 3 connections, 2 threads, depth
 * 7, at most 2,000,000 states. */
typedef struct sim_check_opts {
    int users, conns, threads, depth;
    uint64_t max_states;
    int profile;      /* CR_PROFILE_*, as written in the counterexample */
    int ablate;       /* fix switched off on top of the profile, 0 none */
    cr_policy policy; /* the policy in use (profile, ablation, overrides) */
    /* knob overrides, as given (written to the counterexample file) */
    size_t noverrides;
    struct {
        char name[64];
        uint64_t value;
    } overrides[32];
} sim_check_opts;

void sim_check_opts_init(sim_check_opts *o);

/* sim_check_opts_policy recomputes o->policy from profile, ablate and the
 * overrides.  0, or -1 with a message in err (unknown knob, bad value). */
int sim_check_opts_policy(sim_check_opts *o, char *err, size_t errlen);

typedef struct sim_check_result {
    uint64_t states;      /* distinct fingerprints, the initial state included */
    uint64_t transitions; /* inputs applied */
    int depth_reached;    /* deepest level expanded or reached */
    int complete;         /* every state up to depth was expanded */
    sim_check_violation violation;
    char reason[512];
    size_t nsteps; /* the counterexample, shortest found */
    sim_check_input steps[SIM_CHECK_MAX_DEPTH];
} sim_check_result;

/* sim_check_run explores every interleaving of the alphabet within *o
 * (BFS), stopping at the first violation.  Progress lines (one per level)
 * go to `progress` when non-NULL.  Returns 0 (searched; r->violation says
 * whether something was found) or -1 on a harness failure (allocation, an
 * arena too small; message in r->reason).  Cost: O(states x inputs x
 * (depth + state size)). */
int sim_check_run(const sim_check_opts *o, sim_check_result *r, FILE *progress);

/* sim_check_execute replays inputs in[0..n) from a fresh context, checking
 * after every step; with `log` non-NULL prints each input and what the
 * core did.  *r receives the first violation (r->nsteps: the steps run).
 * Returns 0 (r->violation says what was found), -2 when an input is not
 * possible at its step (r->nsteps is its index, r->reason says why), -1 on
 * a harness failure. */
int sim_check_execute(const sim_check_opts *o, const sim_check_input *in, size_t n,
                      sim_check_result *r, FILE *log);

/* sim_check_fingerprint executes inputs in[0..n) from a fresh context (as
 * sim_check_execute, no log) and gives the fingerprint of the state
 * reached in *fp: equal fingerprints are the same state to the search.
 * Returns 0, -2 (an input not possible) or -1.  O(n + state size). */
int sim_check_fingerprint(const sim_check_opts *o, const sim_check_input *in, size_t n,
                          uint64_t *fp);

/* sim_check_format_input writes the replay-file form of one input ("msg 1
 * t2").  Returns buf. */
char *sim_check_format_input(const sim_check_input *in, char *buf, size_t len);

/* sim_check_write writes the counterexample file (bounds, policy, steps,
 * expected violation) to f.  0 or -1 (write error). */
int sim_check_write(FILE *f, const sim_check_opts *o, const sim_check_result *r);

/* sim_check_parse reads a counterexample file: *o (policy computed), the
 * inputs into in[] (capacity SIM_CHECK_MAX_DEPTH, count in *n) and the
 * expected violation into *expect (SIM_CHECK_V_NONE if none is given).
 * Returns 0, or -1 with "FILE:LINE:COL: message" in err. */
int sim_check_parse(const char *path, sim_check_opts *o, sim_check_input *in, size_t *n,
                    int *expect, char *err, size_t errlen);

#endif
