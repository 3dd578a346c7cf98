/*
 * model.c - the report's data, read once from the store.
 */
#include "reports/model.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario.h"

void rep_model_free(rep_model *m)
{
    if (!m)
        return;
    rep_sweeps_free(m->sw, m->nsw);
    free(m->scen);
    free(m->legacy);
    free(m->fixed);
    free(m->deadline);
    rep_trend_free(&m->trend);
    rep_sweeps_free(m->abl_sw, m->abl_nsw);
    free(m->abl_scen);
    free(m->abl);
    memset(m, 0, sizeof *m);
}

/* Is a preferable to b as the primary sweep?  (b may be NULL.) */
static int better(const rep_sweep *a, const rep_sweep *b)
{
    if (!b)
        return 1;
    int ae = a->r.policy[0] == '\0', be = b->r.policy[0] == '\0';
    if (ae != be)
        return ae;
    return a->id < b->id;
}

/* The sorted unique scenario names of the sweeps v[0..n) with (ablated)
 * or without (!ablated) a fix switched off; v is sorted by scenario, as
 * rep_sweeps_load returns it.  O(n). */
static int scenario_axis(const rep_sweep *v, size_t n, int ablated, char (**out)[64], size_t *nout)
{
    char(*names)[64] = malloc((n ? n : 1) * sizeof *names);
    if (!names)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if ((v[i].r.ablated_fix > 0) != ablated)
            continue;
        if (k && strcmp(names[k - 1], v[i].r.scenario) == 0)
            continue;
        memcpy(names[k++], v[i].r.scenario, 64);
    }
    *out = names;
    *nout = k;
    return 0;
}

static size_t index_of(char (*names)[64], size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(names[mid], name);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return n;
}

/* Latest run <= run_id with an ablation sweep; 0 if none. */
static int ablation_run(rep_store *s, int64_t run_id, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    *out = 0;
    if (sqlite3_prepare_v2(rep_store_db(s),
                           "SELECT max(run_id) FROM scenario_results WHERE ablated_fix > 0 AND "
                           "run_id <= ?",
                           -1, &st, NULL) != SQLITE_OK)
        return rep_store_fail(s, "reading the ablation sweeps");
    sqlite3_bind_int64(st, 1, run_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
                                               : rep_store_fail(s, "reading the ablation sweeps");
    sqlite3_finalize(st);
    return rc;
}

static int build_ablation(rep_model *m, const rep_sweep *v, size_t n)
{
    int rc = scenario_axis(v, n, 1, &m->abl_scen, &m->abl_nscen);
    if (rc != 0)
        return rc;
    const size_t W = REP_FIXES + 1;
    m->abl = calloc(m->abl_nscen * W + 1, sizeof *m->abl);
    if (!m->abl)
        return -ENOMEM;
    /* The profile of the ablation sweeps: the reference column uses it. */
    const char *profile = NULL;
    for (size_t i = 0; i < n && !profile; i++)
        if (v[i].r.ablated_fix > 0)
            profile = v[i].r.profile;
    for (size_t i = 0; i < n; i++) {
        const rep_sweep *w = &v[i];
        size_t si = index_of(m->abl_scen, m->abl_nscen, w->r.scenario);
        if (si == m->abl_nscen || strcmp(w->r.profile, profile) != 0)
            continue;
        int k = w->r.ablated_fix;
        if (k < 0 || k > REP_FIXES)
            continue;
        const rep_sweep **cell = &m->abl[si * W + (size_t)k];
        if (k == 0 ? better(w, *cell) : !*cell)
            *cell = w;
    }
    return 0;
}

int rep_model_load(rep_store *s, int64_t run_id, rep_model *m)
{
    if (!s || !m)
        return -EINVAL;
    memset(m, 0, sizeof *m);
    int rc = rep_run_get(s, run_id, &m->run);
    if (rc == 0)
        rc = rep_sweeps_load(s, run_id, REP_LOAD_HIST, &m->sw, &m->nsw);
    if (rc == 0)
        rc = scenario_axis(m->sw, m->nsw, 0, &m->scen, &m->nscen);
    if (rc == 0) {
        m->legacy = calloc(m->nscen + 1, sizeof *m->legacy);
        m->fixed = calloc(m->nscen + 1, sizeof *m->fixed);
        if (!m->legacy || !m->fixed)
            rc = -ENOMEM;
    }
    int any_fixed = 0;
    for (size_t i = 0; rc == 0 && i < m->nsw; i++) {
        const rep_sweep *w = &m->sw[i];
        if (w->r.ablated_fix != 0)
            continue;
        size_t si = index_of(m->scen, m->nscen, w->r.scenario);
        const rep_sweep **slot = NULL;
        if (si == m->nscen)
            continue;
        if (strcmp(w->r.profile, "legacy") == 0)
            slot = &m->legacy[si];
        else if (strcmp(w->r.profile, "fixed") == 0)
            slot = &m->fixed[si];
        if (slot && better(w, *slot))
            *slot = w;
        any_fixed |= strcmp(w->r.profile, "fixed") == 0;
    }
    if (rc == 0 && !(m->deadline = calloc(m->nscen + 1, sizeof *m->deadline)))
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < m->nscen; i++) {
        const rep_sweep *w = m->fixed[i] ? m->fixed[i] : m->legacy[i];
        sim_scenario *sc = NULL;
        sim_scenario_error e;
        if (w && w->r.path[0] && sim_scenario_load(w->r.path, &sc, &e) == 0)
            m->deadline[i] = sc->deadline;
        sim_scenario_free(sc);
    }
    if (rc == 0) {
        strcpy(m->trend_profile, any_fixed || m->nsw == 0 ? "fixed" : "legacy");
        rc = rep_trend_load(s, run_id, REP_TREND_RUNS, m->trend_profile, &m->trend);
    }
    if (rc == 0)
        rc = ablation_run(s, run_id, &m->abl_run);
    if (rc == 0 && m->abl_run == run_id) {
        rc = build_ablation(m, m->sw, m->nsw);
    } else if (rc == 0 && m->abl_run) {
        rc = rep_sweeps_load(s, m->abl_run, 0, &m->abl_sw, &m->abl_nsw);
        if (rc == 0)
            rc = build_ablation(m, m->abl_sw, m->abl_nsw);
    }
    if (rc != 0)
        rep_model_free(m);
    return rc;
}
