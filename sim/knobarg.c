/*
 * knobarg.c - `--profile` and `--policy knob=value` (see knobarg.h).
 */
#include "sim/knobarg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "sim/dist.h"

int sim_u64_parse(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return -1;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

int sim_knob_arg_parse(const char *arg, char *name, size_t namelen, uint64_t *value, char *err,
                       size_t errlen)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= namelen) {
        snprintf(err, errlen, "--policy expects knob=value, got '%.200s'", arg);
        return -1;
    }
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    const char *val = eq + 1;
    const cr_knob_info *k = NULL;
    for (size_t i = 0; i < cr_policy_knob_count(); i++)
        if (strcmp(cr_policy_knob(i)->name, name) == 0)
            k = cr_policy_knob(i);
    if (!k) {
        size_t n = (size_t)snprintf(err, errlen, "--policy: unknown knob '%.64s' (knobs:", name);
        for (size_t i = 0; i < cr_policy_knob_count() && n < errlen; i++)
            n += (size_t)snprintf(err + n, errlen - n, " %s", cr_policy_knob(i)->name);
        if (n < errlen)
            snprintf(err + n, errlen - n, ")");
        return -1;
    }
    switch (k->type) {
    case CR_KNOB_BOOL:
        if (!strcmp(val, "1") || !strcmp(val, "true") || !strcmp(val, "on") || !strcmp(val, "yes"))
            *value = 1;
        else if (!strcmp(val, "0") || !strcmp(val, "false") || !strcmp(val, "off") ||
                 !strcmp(val, "no"))
            *value = 0;
        else {
            snprintf(err, errlen, "--policy %s: expected true or false, got '%.64s'", name, val);
            return -1;
        }
        return 0;
    case CR_KNOB_DURATION: {
        sim_parse_error pe;
        if (sim_u64_parse(val, value) == 0)
            return 0; /* plain nanoseconds, as replay lines print them */
        if (sim_duration_parse(val, value, &pe) != 0) {
            snprintf(err, errlen, "--policy %s: %.160s", name, pe.msg);
            return -1;
        }
        return 0;
    }
    default:
        if (sim_u64_parse(val, value) != 0) {
            snprintf(err, errlen, "--policy %s: expected a non-negative integer, got '%.64s'", name,
                     val);
            return -1;
        }
        return 0;
    }
}

int sim_profile_parse(const char *s, int *profile, char *err, size_t errlen)
{
    if (!strcmp(s, "fixed"))
        *profile = CR_PROFILE_FIXED;
    else if (!strcmp(s, "legacy"))
        *profile = CR_PROFILE_LEGACY;
    else {
        snprintf(err, errlen, "unknown profile '%.64s' (expected fixed or legacy)", s);
        return -1;
    }
    return 0;
}
