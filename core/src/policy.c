/*
 * policy.c - the knob table, the two profiles, set/get by name and
 * per-fix ablation.  Everything here is generated from CR_POLICY_KNOBS, so
 * a new knob is one row in the header.
 */
#include <string.h>

#include "ctxready.h"

static const cr_knob_info knobs[] = {
#define CR_KNOB_ROW(name, type, fix, legacy, fixed, doc)                                           \
    {#name, type, fix, (uint64_t)(legacy), (uint64_t)(fixed), doc},
    CR_POLICY_KNOBS(CR_KNOB_ROW)
#undef CR_KNOB_ROW
};

#define KNOB_COUNT (sizeof knobs / sizeof knobs[0])

/* Offsets of the fields, in table order. */
static const size_t offsets[] = {
#define CR_KNOB_OFF(name, type, fix, legacy, fixed, doc) offsetof(cr_policy, name),
    CR_POLICY_KNOBS(CR_KNOB_OFF)
#undef CR_KNOB_OFF
};

static uint64_t *field(cr_policy *p, size_t i)
{
    return (uint64_t *)(void *)((char *)p + offsets[i]);
}

/* Row index of knob `name`, or KNOB_COUNT.  O(knobs). */
static size_t find(const char *name)
{
    for (size_t i = 0; name && i < KNOB_COUNT; i++)
        if (strcmp(knobs[i].name, name) == 0)
            return i;
    return KNOB_COUNT;
}

int cr_policy_init(cr_policy *p, cr_profile profile)
{
    if (!p || (profile != CR_PROFILE_LEGACY && profile != CR_PROFILE_FIXED))
        return CR_EINVAL;
    for (size_t i = 0; i < KNOB_COUNT; i++)
        *field(p, i) = profile == CR_PROFILE_LEGACY ? knobs[i].legacy_value : knobs[i].fixed_value;
    return 0;
}

int cr_policy_set(cr_policy *p, const char *name, uint64_t value)
{
    if (!p || !name)
        return CR_EINVAL;
    size_t i = find(name);
    if (i == KNOB_COUNT)
        return CR_ENOTFOUND;
    if (knobs[i].type == CR_KNOB_BOOL && value > 1)
        return CR_EINVAL;
    *field(p, i) = value;
    return 0;
}

int cr_policy_get(const cr_policy *p, const char *name, uint64_t *value)
{
    if (!p || !name || !value)
        return CR_EINVAL;
    size_t i = find(name);
    if (i == KNOB_COUNT)
        return CR_ENOTFOUND;
    *value = *(const uint64_t *)(const void *)((const char *)p + offsets[i]);
    return 0;
}

int cr_policy_disable_fix(cr_policy *p, int fix)
{
    if (!p || fix < 1 || fix > 9)
        return CR_EINVAL;
    for (size_t i = 0; i < KNOB_COUNT; i++)
        if (knobs[i].fix == fix)
            *field(p, i) = knobs[i].legacy_value;
    return 0;
}

size_t cr_policy_knob_count(void)
{
    return KNOB_COUNT;
}

const cr_knob_info *cr_policy_knob(size_t i)
{
    return i < KNOB_COUNT ? &knobs[i] : NULL;
}
