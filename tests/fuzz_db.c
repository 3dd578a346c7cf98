/*
 * fuzz_db.c - libFuzzer target for the CLI's database readers: the input
 * is a results database file.  It is written to a scratch file, opened as
 * report, gate and merge open their inputs (rep_store_open_readonly: with
 * quick_check and, for an old schema, the in-memory upgrade), and every
 * reader runs on its latest run: rep_run_get, rep_sweeps_load with seeds
 * and histograms, rep_failures_load, rep_gate_compare and
 * rep_gate_coverage against itself, rep_merge_sweeps of each sweep with
 * itself, rep_run_baseline and rep_model_load (the report's trend and
 * ablation matrix).  Any input must either be refused with a message or
 * read; nothing may leak, crash or read out of bounds.
 *
 *   make fuzz          (tests/fuzz.sh: seeded from tests/data/fuzz/db)
 *
 * tests/test_fuzz_regress.c includes this file with FUZZ_DB_NO_MAIN
 * defined and replays the corpus and tests/data/fuzz/regress/db/ through
 * fuzz_db_run().
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/gate.h"
#include "reports/merge.h"
#include "reports/model.h"
#include "reports/query.h"
#include "reports/store.h"

int fuzz_db_run(const uint8_t *data, size_t size);

/* The scratch file: on /dev/shm when there is one (no disk I/O). */
static char fdb_path[128];

static void fdb_unlink(void)
{
    char side[160];
    unlink(fdb_path);
    snprintf(side, sizeof side, "%s-wal", fdb_path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", fdb_path);
    unlink(side);
    snprintf(side, sizeof side, "%s-journal", fdb_path);
    unlink(side);
}

/* Every reader over the latest run of s. */
static void fdb_read(rep_store *s)
{
    int64_t id = 0, base = 0;
    if (rep_run_resolve(s, NULL, &id) != 0)
        return;
    rep_run_info ri;
    rep_run_get(s, id, &ri);
    rep_run_baseline(s, id, &base);
    rep_sweep *v = NULL;
    size_t n = 0;
    if (rep_sweeps_load(s, id, REP_LOAD_SEEDS | REP_LOAD_HIST, &v, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            rep_failure *f = NULL;
            size_t nf = 0, total = 0;
            if (rep_failures_load(s, v[i].id, 8, &f, &nf, &total) == 0 && nf > total)
                abort();
            free(f);
            const sim_sweep_result *parts[1] = {&v[i].r};
            sim_sweep_result m;
            char err[256];
            if (rep_merge_sweeps(parts, 1, &m, err, sizeof err) == 0)
                free(m.seeds);
        }
        rep_gate_row *rows = NULL;
        size_t nr = 0;
        if (rep_gate_compare(v, n, v, n, 0.01, &rows, &nr) == 0 && nr < n)
            abort();
        free(rows);
        uint64_t lost = 0;
        rep_gate_coverage(v, n, v, n, &lost);
        if (lost)
            abort(); /* a run loses nothing against itself */
        rep_sweeps_free(v, n);
    }
    rep_model m;
    if (rep_model_load(s, id, &m) == 0)
        rep_model_free(&m);
}

int fuzz_db_run(const uint8_t *data, size_t size)
{
    if (!fdb_path[0])
        snprintf(fdb_path, sizeof fdb_path, "%s/ctxsim-fuzz-db-%ld.db",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
    fdb_unlink();
    FILE *f = fopen(fdb_path, "wb");
    if (!f)
        abort();
    if ((size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
    rep_store *s = NULL;
    char err[1024] = "";
    int rc = rep_store_open_readonly(fdb_path, &s, err, sizeof err);
    if (rc == 0) {
        fdb_read(s);
        rep_store_close(s);
    } else if (rc > 0 || s || !err[0] || rep_store_exit_code(rc) < 2) {
        abort(); /* refused without saying why, or with a bad code */
    }
    fdb_unlink();
    return 0;
}

#ifndef FUZZ_DB_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_db_run(data, size);
}
#endif
