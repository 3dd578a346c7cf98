/*
 * scenario.h - the scenario file format, version 1 (docs/scenarios.md),
 * loaded with libyaml.  Every error carries file:line:column.
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "ctxready.h"
#include "sim/dist.h"
#include "sim/result.h"

/* The step kinds: X(id, name) in enum order; `name` is how a file writes
 * it.  The loader and the emitter (sim/emit.h) both read this table. */
#define SIM_STEP_KINDS(X)                                                                          \
    X(CONNECT, connect)                                                                            \
    X(AUTHENTICATE, authenticate)                                                                  \
    X(SEND, send)                                                                                  \
    X(SWITCH, switch)                                                                              \
    X(WAIT, wait)                                                                                  \
    X(DISCONNECT, disconnect)                                                                      \
    X(RECONNECT, reconnect)                                                                        \
    X(CLOSE, close)                                                                                \
    X(REPEAT, repeat)

typedef enum sim_step_kind {
#define SIM_STEP_ENUM(id, name) SIM_STEP_##id,
    SIM_STEP_KINDS(SIM_STEP_ENUM)
#undef SIM_STEP_ENUM
} sim_step_kind;

/* The thread REF kinds: X(id, keyword, doc) in enum order; `keyword` is
 * the reserved word a file writes (NAMED has none: "" , the name itself is
 * written).  Adding a kind is one row here (plus what the world does). */
#define SIM_REF_KINDS(X)                                                                           \
    X(NEW, new, "a fresh thread of this user")                                                     \
    X(SAME, same, "the thread being viewed")                                                       \
    X(NAMED, , "a thread named earlier with `as`")                                                 \
    X(NONE, none, "no thread id in the message")                                                   \
    X(FOREIGN, foreign, "a thread owned by another user")                                          \
    X(SIBLING, sibling,                                                                            \
      "the thread another tab of the user views now (the lowest-numbered such tab), or a fresh "   \
      "one (as new) if none")

typedef enum sim_ref_kind {
#define SIM_REF_ENUM(id, keyword, doc) SIM_REF_##id,
    SIM_REF_KINDS(SIM_REF_ENUM)
#undef SIM_REF_ENUM
} sim_ref_kind;

/* sim_step_kind_name returns "connect", ...; NULL out of range. */
const char *sim_step_kind_name(int kind);

/* sim_step_kind_lookup returns the sim_step_kind of a name, or -1. */
int sim_step_kind_lookup(const char *name);

/* sim_ref_kind_name returns the reserved word of a REF kind ("new", ...),
 * "" for SIM_REF_NAMED, NULL out of range. */
const char *sim_ref_kind_name(int kind);

/* sim_ref_kind_lookup returns the REF kind whose reserved word is `word`,
 * or -1 (a name bound with `as`, or nothing valid).  O(kinds). */
int sim_ref_kind_lookup(const char *word);

typedef struct sim_thread_ref {
    sim_ref_kind kind;
    int name; /* NAMED: index into sim_scenario.names; else -1 */
    int as;   /* NEW with `as`: index into sim_scenario.names; else -1 */
} sim_thread_ref;

typedef struct sim_step {
    sim_step_kind kind;
    sim_thread_ref ref;     /* SEND, SWITCH */
    int via_http;           /* SEND: {via: http} posts the message over HTTP */
    sim_dist wait;          /* WAIT */
    uint32_t times;         /* REPEAT */
    struct sim_step *steps; /* REPEAT body (owned) */
    size_t nsteps;
    int line, col; /* position in the file (1-based) */
} sim_step;

/* One `policy:` override, validated against the core's knob table. */
typedef struct sim_policy_override {
    char name[48];
    uint64_t value;
    int line, col;
} sim_policy_override;

#define SIM_MAX_AGENT_EVENTS 32
#define SIM_NAME_MAX         64

/* The scenario's gate.  A count limit of -1 means "not checked";
 * max[SIM_COUNT_EXPECTED] == 0 is `expect: {expected: 0}`, the declaration
 * that the scenario expects no event (a sweep without any is then a pass,
 * not inconclusive). */
typedef struct sim_expect {
    int has_rate;
    double delivery_rate;
    int64_t max[SIM_COUNT__N]; /* indexed by sim_count_id; -1 unchecked */
    int is_default;            /* 1: no `expect:` block, the strict default applies */
} sim_expect;

/* The delivery rate of the strict default expect. */
#define SIM_STRICT_RATE 0.99

/*
 * sim_expect_strict_default sets *e to the expect of a scenario without an
 * `expect:` block: delivery_rate 0.99; misrouted, duplicated,
 * out_of_order, stray, silent_loss, stranded, stuck_pending,
 * reordered_messages and accounting 0 (is_default = 1).
 */
void sim_expect_strict_default(sim_expect *e);

typedef struct sim_scenario {
    char *path; /* as given (owned) */
    char name[SIM_NAME_MAX];
    char *summary; /* owned */
    uint32_t seeds;
    uint64_t horizon; /* ns */
    uint64_t drain;   /* ns: bound of the drain phase; 0: the default (sim_world_drain_bound) */
    cr_profile profile;
    sim_policy_override *policy; /* owned */
    size_t npolicy;
    uint32_t users;
    sim_dist clients_per_user; /* count distribution (const 1 default) */
    uint64_t deadline;         /* ns */
    sim_dist uplink, downlink;
    sim_dist reconnect_backoff; /* network.reconnect_backoff, optional */
    sim_dist auth, thread_lookup, agent_start, event_gap;
    char agent_events[SIM_MAX_AGENT_EVENTS][32];
    size_t nagent_events;
    double thread_update_fail; /* faults */
    double disconnect;
    sim_step *steps; /* owned */
    size_t nsteps;
    sim_expect expect;
    char **names; /* thread names given with `as` (owned) */
    size_t nnames;
} sim_scenario;

/* A load error: "file:line:column: message". */
typedef struct sim_scenario_error {
    char file[256];
    int line, col; /* 1-based; 0 if unknown */
    char msg[256];
} sim_scenario_error;

/* sim_scenario_load reads and validates a file.  Returns 0, or -1 with
 * *err filled (nothing allocated). */
int sim_scenario_load(const char *path, sim_scenario **out, sim_scenario_error *err);

/* sim_scenario_load_string does the same from memory; `path` names it in
 * errors. */
int sim_scenario_load_string(const char *path, const char *text, size_t len, sim_scenario **out,
                             sim_scenario_error *err);

/* sim_scenario_free releases a scenario (NULL is a no-op). */
void sim_scenario_free(sim_scenario *s);

/* sim_scenario_error_format writes "file:line:column: message". */
int sim_scenario_error_format(const sim_scenario_error *err, char *buf, size_t len);

/* sim_scenario_unrolled_steps returns how many steps steps[n] run, every
 * repeat unrolled (saturating at UINT64_MAX).  O(steps in the file). */
uint64_t sim_scenario_unrolled_steps(const sim_step *steps, size_t n);

/* sim_scenario_policy builds the effective policy: the profile (or
 * `profile_override` when >= 0), then the file's overrides.  Returns 0 or a
 * CR_E* code. */
int sim_scenario_policy(const sim_scenario *s, int profile_override, cr_policy *out);

#endif
