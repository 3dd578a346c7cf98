/* sweepdb.c - recording and reading parameter sweeps (sweepdb.h). */
#include "reports/sweepdb.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COL_NAME(id, name, doc) #name ", "
#define COL_Q(id, name, doc)    "?, "

/* clang-format off */
static const char sql_run[] =
    "INSERT INTO sweep_runs (started_at, finished_at, label, git_rev, tool_version, args, status, "
    "scenario, path, parameter, range, range_from, range_to, steps, log, parameter2, range2, "
    "range2_from, range2_to, steps2, log2, unit, unit2, profiles, seeds, target, context) "
    "VALUES (?, ?, ?, ?, ?, ?, 'complete', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_point[] =
    "INSERT INTO sweeps (sweep_run_id, scenario, profile, parameter, value, value_text, "
    "parameter2, value2, value2_text, refined, seeds, "
    SIM_COUNTS(COL_NAME)
    "delivery_rate, rate_lo, rate_hi, p50_ns, p99_ns, dominant_cause, policy, trace_digest) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    SIM_COUNTS(COL_Q)
    "?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_knee[] =
    "INSERT INTO sweep_knees (sweep_run_id, profile, parameter, row_value, row_text, direction, "
    "status, knee, knee_text, bracket, resolution, best_value, best_rate_lo, best_cause, "
    "extra_values, target, sentence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
/* clang-format on */

static const char *const unit_names[] = {"ns", "count", "number"};
static const char *const status_names[] = {"found", "all", "never"};

static int fail(rep_store *s, sqlite3_stmt *st, const char *what)
{
    (void)s;
    (void)what;
    sqlite3_finalize(st);
    return -EIO;
}

static void range_text(const sim_vary *v, char *buf, size_t len)
{
    char a[48], b[48];
    sim_vary_format(&v->p, v->from, a, sizeof a);
    sim_vary_format(&v->p, v->to, b, sizeof b);
    snprintf(buf, len, "%s..%s", a, b);
}

static int insert_all(sqlite3 *db, const rep_psweep_meta *m, const sim_psweep_result *r,
                      int64_t *id)
{
    sqlite3_stmt *st = NULL;
    char rg[100], rg2[100], profiles[40] = "";
    if (sqlite3_prepare_v2(db, sql_run, -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    for (size_t i = 0; i < r->nprofiles; i++)
        snprintf(profiles + strlen(profiles), sizeof profiles - strlen(profiles), "%s%s",
                 i ? "," : "", sim_profile_name(r->profiles[i]));
    range_text(&r->vary[0], rg, sizeof rg);
    int k = 1;
    sqlite3_bind_int64(st, k++, m->started_at);
    sqlite3_bind_int64(st, k++, (sqlite3_int64)time(NULL));
    sqlite3_bind_text(st, k++, m->label, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, k++, m->git_rev, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, k++, m->tool_version, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, k++, m->args, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, k++, r->scenario, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, k++, r->path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, k++, r->vary[0].p.path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, k++, rg, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, k++, r->vary[0].from);
    sqlite3_bind_double(st, k++, r->vary[0].to);
    sqlite3_bind_int(st, k++, (int)r->vary[0].steps);
    sqlite3_bind_int(st, k++, r->vary[0].log);
    if (r->nvary == 2) {
        range_text(&r->vary[1], rg2, sizeof rg2);
        sqlite3_bind_text(st, k++, r->vary[1].p.path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, k++, rg2, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, k++, r->vary[1].from);
        sqlite3_bind_double(st, k++, r->vary[1].to);
        sqlite3_bind_int(st, k++, (int)r->vary[1].steps);
        sqlite3_bind_int(st, k++, r->vary[1].log);
    } else {
        for (int j = 0; j < 6; j++)
            sqlite3_bind_null(st, k++);
    }
    sqlite3_bind_text(st, k++, unit_names[r->vary[0].p.unit], -1, SQLITE_STATIC);
    if (r->nvary == 2)
        sqlite3_bind_text(st, k++, unit_names[r->vary[1].p.unit], -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, k++);
    sqlite3_bind_text(st, k++, profiles, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, k++, r->seeds);
    sqlite3_bind_double(st, k++, r->target);
    sqlite3_bind_text(st, k++, r->context, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
        return fail(NULL, st, "sweep run");
    sqlite3_finalize(st);
    *id = sqlite3_last_insert_rowid(db);

    if (sqlite3_prepare_v2(db, sql_point, -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    for (size_t i = 0; i < r->npts; i++) {
        const sim_psweep_point *p = &r->pts[i];
        char vt[48], vt2[48], dg[24];
        sim_vary_format(&r->vary[0].p, p->v[0], vt, sizeof vt);
        if (p->digest)
            snprintf(dg, sizeof dg, "%016" PRIx64, p->digest);
        else
            dg[0] = '\0'; /* --no-trace: absent */
        k = 1;
        sqlite3_bind_int64(st, k++, *id);
        sqlite3_bind_text(st, k++, r->scenario, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, k++, sim_profile_name(p->profile), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, k++, r->vary[0].p.path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, k++, p->v[0]);
        sqlite3_bind_text(st, k++, vt, -1, SQLITE_TRANSIENT);
        if (r->nvary == 2) {
            sim_vary_format(&r->vary[1].p, p->v[1], vt2, sizeof vt2);
            sqlite3_bind_text(st, k++, r->vary[1].p.path, -1, SQLITE_TRANSIENT);
            sqlite3_bind_double(st, k++, p->v[1]);
            sqlite3_bind_text(st, k++, vt2, -1, SQLITE_TRANSIENT);
        } else {
            sqlite3_bind_null(st, k++);
            sqlite3_bind_null(st, k++);
            sqlite3_bind_null(st, k++);
        }
        sqlite3_bind_int(st, k++, p->refined);
        sqlite3_bind_int64(st, k++, p->seeds);
        for (int c = 0; c < SIM_COUNT__N; c++)
            sqlite3_bind_int64(st, k++, (sqlite3_int64)p->c[c]);
        sqlite3_bind_double(st, k++, p->rate);
        sqlite3_bind_double(st, k++, p->lo);
        sqlite3_bind_double(st, k++, p->hi);
        sqlite3_bind_int64(st, k++, (sqlite3_int64)p->p50);
        sqlite3_bind_int64(st, k++, (sqlite3_int64)p->p99);
        sqlite3_bind_text(st, k++, sim_psweep_cause_name(p->cause), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, k++, p->policy, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, k++, dg, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            return fail(NULL, st, "sweep point");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    sqlite3_finalize(st);

    if (sqlite3_prepare_v2(db, sql_knee, -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    const sim_vary *kv = &r->vary[r->nvary - 1];
    for (size_t i = 0; i < r->nknees; i++) {
        const sim_psweep_knee *kn = &r->knees[i];
        char rt[48], kt[48];
        k = 1;
        sqlite3_bind_int64(st, k++, *id);
        sqlite3_bind_text(st, k++, sim_profile_name(kn->profile), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, k++, kv->p.path, -1, SQLITE_TRANSIENT);
        if (r->nvary == 2) {
            sim_vary_format(&r->vary[0].p, kn->row, rt, sizeof rt);
            sqlite3_bind_double(st, k++, kn->row);
            sqlite3_bind_text(st, k++, rt, -1, SQLITE_TRANSIENT);
        } else {
            sqlite3_bind_null(st, k++);
            sqlite3_bind_null(st, k++);
        }
        sqlite3_bind_text(st, k++, kn->k.dir == SIM_KNEE_DOWN ? "<=" : ">=", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, k++, status_names[kn->k.status], -1, SQLITE_STATIC);
        if (kn->k.status == SIM_KNEE_NEVER) {
            sqlite3_bind_null(st, k++);
            sqlite3_bind_null(st, k++);
        } else {
            sim_vary_format(&kv->p, kn->k.value, kt, sizeof kt);
            sqlite3_bind_double(st, k++, kn->k.value);
            sqlite3_bind_text(st, k++, kt, -1, SQLITE_TRANSIENT);
        }
        if (kn->k.status == SIM_KNEE_FOUND)
            sqlite3_bind_double(st, k++, kn->k.bracket);
        else
            sqlite3_bind_null(st, k++);
        sqlite3_bind_double(st, k++, kn->k.resolution);
        sqlite3_bind_double(st, k++, kn->k.best_value);
        sqlite3_bind_double(st, k++, kn->k.best_lo);
        sqlite3_bind_text(st, k++, sim_psweep_cause_name(kn->best_cause), -1, SQLITE_STATIC);
        sqlite3_bind_int(st, k++, (int)kn->k.extra);
        sqlite3_bind_double(st, k++, r->target);
        sqlite3_bind_text(st, k++, kn->sentence, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            return fail(NULL, st, "sweep knee");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    sqlite3_finalize(st);
    return 0;
}

int rep_psweep_record(rep_store *s, const rep_psweep_meta *m, const sim_psweep_result *r,
                      int64_t *id)
{
    if (!s || !m || !r || !id || r->nvary < 1)
        return -EINVAL;
    sqlite3 *db = rep_store_db(s);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return -EIO;
    int rc = insert_all(db, m, r, id);
    if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = -EIO;
    if (rc != 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- reading ---------------------------------------------------------------- */

static int lookup(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return 0;
}

static int profile_of(const char *name)
{
    return name && strcmp(name, "legacy") == 0 ? CR_PROFILE_LEGACY : CR_PROFILE_FIXED;
}

static int cause_of(const char *name)
{
    for (int c = 0; c <= SIM_PSWEEP_LATE; c++)
        if (name && strcmp(sim_psweep_cause_name(c), name) == 0)
            return c;
    return -1;
}

static void text_col(sqlite3_stmt *st, int i, char *buf, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(buf, len, "%s", t ? (const char *)t : "");
}

int rep_psweep_load(rep_store *s, int64_t id, rep_psweep *out)
{
    memset(out, 0, sizeof *out);
    sqlite3 *db = rep_store_db(s);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, git_rev, args, started_at, scenario, path, parameter, "
                           "range_from, range_to, steps, log, parameter2, range2_from, range2_to, "
                           "steps2, log2, unit, unit2, profiles, seeds, target, context "
                           "FROM sweep_runs WHERE id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return -ENOENT;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return -ENOENT;
    }
    sim_psweep_result *r = &out->r;
    char buf[64];
    out->id = sqlite3_column_int64(st, 0);
    text_col(st, 1, out->git_rev, sizeof out->git_rev);
    text_col(st, 2, out->args, sizeof out->args);
    out->started_at = sqlite3_column_int64(st, 3);
    text_col(st, 4, r->scenario, sizeof r->scenario);
    text_col(st, 5, r->path, sizeof r->path);
    r->nvary = sqlite3_column_type(st, 11) == SQLITE_NULL ? 1 : 2;
    for (size_t v = 0; v < r->nvary; v++) {
        int b = v ? 11 : 6;
        text_col(st, b, r->vary[v].p.path, sizeof r->vary[v].p.path);
        r->vary[v].from = sqlite3_column_double(st, b + 1);
        r->vary[v].to = sqlite3_column_double(st, b + 2);
        r->vary[v].steps = (uint32_t)sqlite3_column_int(st, b + 3);
        r->vary[v].log = sqlite3_column_int(st, b + 4);
        text_col(st, 16 + (int)v, buf, sizeof buf);
        r->vary[v].p.unit = (sim_vary_unit)lookup(unit_names, 3, buf);
        r->vary[v].p.knob = r->vary[v].p.field = -1;
    }
    char profiles[64];
    text_col(st, 18, profiles, sizeof profiles);
    for (char *tok = strtok(profiles, ","); tok && r->nprofiles < SIM_PSWEEP_MAX_PROFILES;
         tok = strtok(NULL, ","))
        r->profiles[r->nprofiles++] = profile_of(tok);
    r->seeds = (uint32_t)sqlite3_column_int64(st, 19);
    r->target = sqlite3_column_double(st, 20);
    text_col(st, 21, r->context, sizeof r->context);
    sqlite3_finalize(st);

    char sql[2048];
    int n = snprintf(sql, sizeof sql, "SELECT profile, value, value2, refined, seeds, ");
#define COL_SEL(id, name, doc) n += snprintf(sql + n, sizeof sql - (size_t)n, "%s, ", #name);
    SIM_COUNTS(COL_SEL)
#undef COL_SEL
    snprintf(
        sql + n, sizeof sql - (size_t)n,
        "delivery_rate, rate_lo, rate_hi, p50_ns, p99_ns, dominant_cause, policy, trace_digest "
        "FROM sweeps "
        "WHERE sweep_run_id = ? ORDER BY id");
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->npts == cap) {
            cap = cap ? 2 * cap : 32;
            sim_psweep_point *np = realloc(r->pts, cap * sizeof *np);
            if (!np) {
                sqlite3_finalize(st);
                rep_psweep_free(out);
                return -ENOMEM;
            }
            r->pts = np;
        }
        sim_psweep_point *p = &r->pts[r->npts++];
        memset(p, 0, sizeof *p);
        text_col(st, 0, buf, sizeof buf);
        p->profile = profile_of(buf);
        p->v[0] = sqlite3_column_double(st, 1);
        p->v[1] = sqlite3_column_double(st, 2);
        p->refined = sqlite3_column_int(st, 3);
        p->seeds = (uint32_t)sqlite3_column_int64(st, 4);
        int c = 5;
        for (int j = 0; j < SIM_COUNT__N; j++)
            p->c[j] = (uint64_t)sqlite3_column_int64(st, c++);
        p->rate = sqlite3_column_double(st, c++);
        p->lo = sqlite3_column_double(st, c++);
        p->hi = sqlite3_column_double(st, c++);
        p->p50 = (uint64_t)sqlite3_column_int64(st, c++);
        p->p99 = (uint64_t)sqlite3_column_int64(st, c++);
        text_col(st, c++, buf, sizeof buf);
        p->cause = cause_of(buf);
        text_col(st, c++, p->policy, sizeof p->policy);
        text_col(st, c++, buf, sizeof buf);
        p->digest = strtoull(buf, NULL, 16);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        rep_psweep_free(out);
        return -EIO;
    }

    if (sqlite3_prepare_v2(db,
                           "SELECT profile, row_value, direction, status, knee, bracket, "
                           "resolution, best_value, best_rate_lo, best_cause, extra_values, "
                           "sentence FROM sweep_knees WHERE sweep_run_id = ? ORDER BY rowid",
                           -1, &st, NULL) != SQLITE_OK) {
        rep_psweep_free(out);
        return -EIO;
    }
    sqlite3_bind_int64(st, 1, id);
    cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->nknees == cap) {
            cap = cap ? 2 * cap : 8;
            sim_psweep_knee *nk = realloc(r->knees, cap * sizeof *nk);
            if (!nk) {
                sqlite3_finalize(st);
                rep_psweep_free(out);
                return -ENOMEM;
            }
            r->knees = nk;
        }
        sim_psweep_knee *kn = &r->knees[r->nknees++];
        memset(kn, 0, sizeof *kn);
        text_col(st, 0, buf, sizeof buf);
        kn->profile = profile_of(buf);
        kn->row = sqlite3_column_double(st, 1);
        text_col(st, 2, buf, sizeof buf);
        kn->k.dir = strcmp(buf, "<=") == 0 ? SIM_KNEE_DOWN : SIM_KNEE_UP;
        text_col(st, 3, buf, sizeof buf);
        kn->k.status = lookup(status_names, 3, buf);
        kn->k.value = sqlite3_column_double(st, 4);
        kn->k.bracket = sqlite3_column_double(st, 5);
        kn->k.resolution = sqlite3_column_double(st, 6);
        kn->k.best_value = sqlite3_column_double(st, 7);
        kn->k.best_lo = sqlite3_column_double(st, 8);
        text_col(st, 9, buf, sizeof buf);
        kn->best_cause = cause_of(buf);
        kn->k.extra = (uint32_t)sqlite3_column_int(st, 10);
        text_col(st, 11, kn->sentence, sizeof kn->sentence);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        rep_psweep_free(out);
        return -EIO;
    }
    return 0;
}

void rep_psweep_free(rep_psweep *w)
{
    if (w)
        sim_psweep_free(&w->r);
}

int rep_psweep_list(rep_store *s, int64_t *ids, size_t cap, size_t *n)
{
    *n = 0;
    sqlite3_stmt *st = NULL;
    sqlite3 *db = rep_store_db(s);
    if (sqlite3_prepare_v2(db,
                           "SELECT max(id) AS m FROM sweep_runs WHERE status = 'complete' "
                           "GROUP BY scenario, parameter, coalesce(parameter2, '') ORDER BY m DESC",
                           -1, &st, NULL) != SQLITE_OK)
        return 0; /* a database before v6 has none */
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < cap)
        ids[(*n)++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}
