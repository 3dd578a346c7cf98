/*
 * coverage.c - the behaviour table (names, docs, required set) and the
 * coverage matrix of `ctxsim run --coverage`.
 */
#include "sim/coverage.h"

#include <string.h>

typedef struct beh_row {
    const char *name;
    int required;
    const char *doc;
} beh_row;

static const beh_row ROWS[SIM_BEH__N] = {
#define SIM_BEHAVIOUR_ROW(id, name, required, doc) {#name, required, doc},
    SIM_BEHAVIOURS(SIM_BEHAVIOUR_ROW)
#undef SIM_BEHAVIOUR_ROW
};

_Static_assert(SIM_BEH__N <= 64, "a sim_coverage holds at most 64 behaviours");

const char *sim_behaviour_name(int b)
{
    return b >= 0 && b < SIM_BEH__N ? ROWS[b].name : NULL;
}

const char *sim_behaviour_doc(int b)
{
    return b >= 0 && b < SIM_BEH__N ? ROWS[b].doc : NULL;
}

int sim_behaviour_required(int b)
{
    return b >= 0 && b < SIM_BEH__N ? ROWS[b].required : 0;
}

int sim_behaviour_lookup(const char *name)
{
    for (int b = 0; name && b < SIM_BEH__N; b++)
        if (strcmp(name, ROWS[b].name) == 0)
            return b;
    return -1;
}

sim_coverage sim_coverage_required(void)
{
    sim_coverage c = 0;
    for (int b = 0; b < SIM_BEH__N; b++)
        if (ROWS[b].required)
            c |= SIM_COV_BIT(b);
    return c;
}

int sim_coverage_missing(sim_coverage want, sim_coverage have, char *buf, size_t len)
{
    int n = 0;
    size_t o = 0;
    if (len)
        buf[0] = '\0';
    for (int b = 0; b < SIM_BEH__N; b++) {
        if (!(want & SIM_COV_BIT(b)) || (have & SIM_COV_BIT(b)))
            continue;
        if (len && o + 1 < len) {
            int k = snprintf(buf + o, len - o, "%s%s", n ? ", " : "", ROWS[b].name);
            o = k > 0 && (size_t)k < len - o ? o + (size_t)k : len - 1;
        }
        n++;
    }
    return n;
}

int sim_coverage_format(sim_coverage c, char *buf, size_t len)
{
    size_t o = 0;
    if (!len)
        return -1;
    buf[0] = '\0';
    for (int b = 0; b < SIM_BEH__N; b++) {
        if (!(c & SIM_COV_BIT(b)))
            continue;
        int k = snprintf(buf + o, len - o, "%s%s", o ? "," : "", ROWS[b].name);
        if (k < 0 || (size_t)k >= len - o)
            return -1;
        o += (size_t)k;
    }
    return 0;
}

int sim_coverage_parse(const char *text, sim_coverage *out)
{
    int unknown = 0;
    *out = 0;
    while (text && *text) {
        const char *end = strchr(text, ',');
        size_t n = end ? (size_t)(end - text) : strlen(text);
        char name[64];
        if (n && n < sizeof name) {
            memcpy(name, text, n);
            name[n] = '\0';
            int b = sim_behaviour_lookup(name);
            if (b >= 0)
                *out |= SIM_COV_BIT(b);
            else
                unknown++;
        } else if (n) {
            unknown++;
        }
        text = end ? end + 1 : text + n;
    }
    return unknown;
}

int sim_coverage_print(FILE *f, const sim_coverage_col *cols, size_t ncols)
{
    sim_coverage all = 0;
    fprintf(f, "coverage: behaviour x sweep (a mark: some seed of the sweep exercised it)\n");
    fprintf(f, "%-26s %3s ", "behaviour", "req");
    for (size_t j = 0; j < ncols; j++)
        fprintf(f, "%3zu", j + 1);
    fprintf(f, "  total\n");
    for (int b = 0; b < SIM_BEH__N; b++) {
        size_t total = 0;
        fprintf(f, "%-26s %3s ", ROWS[b].name, ROWS[b].required ? "yes" : "-");
        for (size_t j = 0; j < ncols; j++) {
            int hit = (cols[j].cov & SIM_COV_BIT(b)) != 0;
            total += (size_t)hit;
            fprintf(f, "%3s", hit ? "x" : ".");
        }
        fprintf(f, "  %5zu%s\n", total, !total && ROWS[b].required ? "  MISSING" : "");
    }
    for (size_t j = 0; j < ncols; j++) {
        all |= cols[j].cov;
        fprintf(f, "  %3zu %s\n", j + 1, cols[j].label);
    }
    char missing[1024];
    int n = sim_coverage_missing(sim_coverage_required(), all, missing, sizeof missing);
    if (n)
        fprintf(f, "coverage: FAIL: %d required behaviour(s) exercised by no sweep: %s\n", n,
                missing);
    else
        fprintf(f, "coverage: every required behaviour (%d) exercised\n",
                __builtin_popcountll(sim_coverage_required()));
    return n;
}
