/*
 * verdict.c - expectations as JSON and the sweep pass/fail rule.
 */
#include "reports/verdict.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/verdict.h"

int rep_expect_json(const sim_sweep_result *r, char **out)
{
    if (!r || !out)
        return -EINVAL;
    *out = NULL;
    json_t *root = json_object();
    json_t *max = json_object();
    int bad = !root || !max;
    if (!bad && r->expect_rate >= 0)
        bad = json_object_set_new(root, "delivery_rate", json_real(r->expect_rate)) != 0;
    for (int i = 0; !bad && i < SIM_COUNT__N; i++)
        if (r->expect_max[i] >= 0)
            bad = json_object_set_new(max, sim_count_name(i), json_integer(r->expect_max[i])) != 0;
    if (!bad && json_object_size(max) > 0) {
        bad = json_object_set(root, "max", max) != 0;
    }
    if (!bad)
        *out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(max);
    json_decref(root);
    return *out ? 0 : -ENOMEM;
}

int rep_expect_parse(const char *json, double *rate, int64_t max[SIM_COUNT__N])
{
    if (!json || !rate || !max)
        return -EINVAL;
    *rate = -1;
    for (int i = 0; i < SIM_COUNT__N; i++)
        max[i] = -1;
    json_error_t e;
    json_t *root = json_loads(json, 0, &e);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return -EINVAL;
    }
    int rc = 0;
    json_t *v = json_object_get(root, "delivery_rate");
    if (v) {
        if (json_is_number(v))
            *rate = json_number_value(v);
        else
            rc = -EINVAL;
    }
    json_t *m = json_object_get(root, "max");
    if (m && !json_is_object(m))
        rc = -EINVAL;
    /* Look up each known count: O(SIM_COUNT__N), independent of the JSON
     * object's internal order. */
    for (int i = 0; rc == 0 && m && i < SIM_COUNT__N; i++) {
        json_t *x = json_object_get(m, sim_count_name(i));
        if (!x)
            continue;
        if (!json_is_integer(x))
            rc = -EINVAL;
        else
            max[i] = json_integer_value(x);
    }
    json_decref(root);
    return rc;
}

void rep_rate(const uint64_t c[SIM_COUNT__N], double *rate, double *lo, double *hi)
{
    uint64_t n = c[SIM_COUNT_EXPECTED], k = c[SIM_COUNT_DELIVERED];
    *rate = n ? (double)k / (double)n : 1.0;
    sim_wilson(k, n, lo, hi);
}

int rep_sweep_evaluate(const sim_sweep_result *r, int *pass, char *reason, size_t len)
{
    if (!r || !pass || (!reason && len))
        return -EINVAL;
    sim_sweep_result *t = malloc(sizeof *t);
    if (!t)
        return -ENOMEM;
    *t = *r;
    t->seeds = NULL; /* the sweep's counts only; the seeds keep their verdicts */
    sim_sweep_verdict(t);
    *pass = t->pass;
    if (reason && len)
        snprintf(reason, len, "%s", t->reason);
    free(t);
    return 0;
}

const char *rep_seed_failure_kind(const sim_sweep_result *r, const sim_seed_result *s)
{
    if (!r || !s)
        return "other";
    return sim_seed_failure_kind(r->expect_max, s);
}
