/*
 * vary.h - what `ctxsim sweep --vary PARAM=FROM..TO` can vary, and how a
 * value is put into a run (docs/sweep.md).
 *
 * A PARAM is either a policy knob of the core's knob table (`exec_grace`,
 * `event_ttl`, `update_retries`, ...; also written `policy.exec_grace`),
 * set as a --policy override on top of the profile and the file's
 * `policy:`, or a scenario parameter addressed by path:
 *
 *   users, deadline, horizon                     numbers / durations
 *   faults.thread_update_fail, faults.disconnect probabilities 0..1
 *   network.{uplink,downlink,reconnect_backoff}.P
 *   server.{auth,thread_lookup,agent_start,event_gap}.P
 *   clients_per_user.P
 *
 * where P is a parameter of that distribution as the scenario writes it
 * (lognormal: median, p99; exponential: mean; uniform: min, max; ...),
 * replaced keeping the others, or a statistic (mean, median, pNN) the
 * distribution does not have as a parameter, reached by scaling the whole
 * distribution (sim_dist_set).
 *
 * Values: durations take units (`0..3s`; a bare end takes the unit of the
 * other end, so `100..800ms` is 100ms..800ms), counts and probabilities
 * are plain numbers.  Values are kept as doubles in the parameter's units
 * (ns for durations).
 */
#ifndef SIM_VARY_H
#define SIM_VARY_H

#include <stddef.h>
#include <stdint.h>

#include "ctxready.h"
#include "sim/scenario.h"
#include "sim/sweep.h"

/* The units of a parameter's values. */
typedef enum sim_vary_unit {
    SIM_VARY_NS = 0,    /* a duration, nanoseconds */
    SIM_VARY_COUNT = 1, /* a whole number */
    SIM_VARY_NUMBER = 2 /* a plain real number (a probability is one, in 0..1) */
} sim_vary_unit;

/* One resolved parameter. */
typedef struct sim_vary_param {
    char path[96]; /* canonical: "exec_grace", "server.thread_lookup.p99" */
    sim_vary_unit unit;
    int knob;        /* >= 0: index in the core's knob table; -1: a scenario field */
    int field;       /* >= 0: index of the scenario field; -1: a knob */
    char dparam[24]; /* a distribution's parameter ("p99"), "" otherwise */
    double min, max; /* the values it accepts */
} sim_vary_param;

#define SIM_VARY_MAX_STEPS 256

/* One --vary: the parameter, its range and grid. */
typedef struct sim_vary {
    sim_vary_param p;
    double from, to;   /* the range as given (from may exceed to) */
    uint32_t steps;    /* grid values, >= 2 (default 8) */
    int log;           /* 1: geometric spacing (from, to > 0) */
    double resolution; /* the knee's bisection stops at this width; 0: the default */
} sim_vary;

/*
 * sim_vary_resolve resolves `path` against scenario sc.  Returns 0, or -1
 * with err[errlen] naming the problem and listing what can be varied
 * (sim_vary_list).  O(knobs + fields).
 */
int sim_vary_resolve(const sim_scenario *sc, const char *path, sim_vary_param *out, char *err,
                     size_t errlen);

/*
 * sim_vary_parse parses "PARAM=FROM..TO" into *out (steps 8, linear,
 * resolution 0), checking that both ends are values the parameter accepts
 * in this scenario (sim_vary_check).  Returns 0 or -1 with err filled.
 */
int sim_vary_parse(const sim_scenario *sc, const char *spec, sim_vary *out, char *err,
                   size_t errlen);

/*
 * sim_vary_value_parse parses one value of p: a duration with a unit
 * ("1.5s"; a bare number takes `unit_hint`, e.g. "ms", when given, and a
 * bare 0 is 0), or a plain number.  Returns 0 or -1 with err filled.
 */
int sim_vary_value_parse(const sim_vary_param *p, const char *text, const char *unit_hint,
                         double *v, char *err, size_t errlen);

/* sim_vary_format writes value v of p for people and command lines:
 * "1.9s", "800ms", "12", "0.05". */
void sim_vary_format(const sim_vary_param *p, double v, char *buf, size_t len);

/* sim_vary_round rounds v to what p can take (whole ns, whole counts). */
double sim_vary_round(const sim_vary_param *p, double v);

/*
 * sim_vary_apply puts value v of p into a run: a knob into o's overrides
 * (replacing an earlier override of it), a scenario field into *sc (a
 * shallow copy of the loaded scenario is enough: only fields held by value
 * change).  Returns 0 or -1 with err filled (a value the parameter or the
 * distribution does not accept; too many overrides).
 */
int sim_vary_apply(const sim_vary_param *p, double v, sim_scenario *sc, sim_sweep_opts *o,
                   char *err, size_t errlen);

/* sim_vary_check is sim_vary_apply on scratch copies: does v fit? */
int sim_vary_check(const sim_scenario *sc, const sim_vary_param *p, double v, char *err,
                   size_t errlen);

/*
 * sim_vary_grid writes the grid of v (steps values from `from` to `to`,
 * linear or geometric, rounded with sim_vary_round, duplicates dropped)
 * into values[cap], *n entries.  Returns 0 or -1 (cap too small, --log
 * with an end <= 0).
 */
int sim_vary_grid(const sim_vary *v, double *values, size_t cap, size_t *n);

/* sim_vary_default_resolution is the knee's bisection width when
 * v->resolution is 0: a quarter of the grid step (1 for counts). */
double sim_vary_default_resolution(const sim_vary *v);

/* sim_vary_list writes what can be varied in sc, for error messages and
 * --help: the knobs, then the scenario paths with their parameters. */
void sim_vary_list(const sim_scenario *sc, char *buf, size_t len);

/*
 * sim_vary_context describes the conditions a requirement on p holds
 * under, for the knee sentence: the scenario's values of the parameters
 * that p works against (exec_grace: thread_lookup; event_ttl:
 * reconnect_backoff; update_retries: thread_update_fail, ...) and, for a
 * scenario parameter, the knobs that handle it, with the effective policy
 * *pol.  E.g. "thread_lookup lognormal(median=40ms, p99=800ms)".  Writes
 * "" when nothing is related.
 */
void sim_vary_context(const sim_scenario *sc, const cr_policy *pol, const sim_vary_param *p,
                      char *buf, size_t len);

#endif
