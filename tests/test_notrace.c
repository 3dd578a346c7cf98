/*
 * test_notrace.c - --no-trace (sim_sweep_opts.no_trace): a sweep without
 * trace hashing judges every seed exactly as a traced one, records its
 * trace hashes as absent (0 with 0 steps; null in JSON, empty in the
 * database), at --jobs 1 and N alike; a replay of a seed traces again and
 * reproduces the traced sweep's hash; --no-trace cannot be combined with
 * --check-determinism.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/scenario.h"
#include "sim/sweep.h"
#include "sim/world.h"
#include "tests/lib/cli_run.h"

#define SCEN "scenarios/replay_gap.yaml"

static sim_scenario *load(void)
{
    sim_scenario *sc;
    sim_scenario_error err;
    ck_assert_int_eq(sim_scenario_load(SCEN, &sc, &err), 0);
    return sc;
}

START_TEST(test_notrace_same_verdicts_absent_hashes)
{
    sim_scenario *sc = load();
    sim_sweep_result traced, plain[2];
    char err[256];
    sim_sweep_opts o = {.seeds = 6, .profile = CR_PROFILE_LEGACY, .jobs = 1};
    ck_assert_int_eq(sim_sweep_run(sc, &o, &traced, err, sizeof err), 0);
    for (int j = 0; j < 2; j++) {
        sim_sweep_opts n = o;
        n.no_trace = 1;
        n.jobs = j ? 2 : 1;
        ck_assert_int_eq(sim_sweep_run(sc, &n, &plain[j], err, sizeof err), 0);
        ck_assert_uint_eq(plain[j].nseeds, traced.nseeds);
        ck_assert_int_eq(plain[j].verdict, traced.verdict);
        ck_assert_int_eq(memcmp(plain[j].c, traced.c, sizeof traced.c), 0);
        for (uint32_t i = 0; i < traced.nseeds; i++) {
            const sim_seed_result *a = &traced.seeds[i], *b = &plain[j].seeds[i];
            ck_assert_uint_ne(a->steps, 0);
            ck_assert_uint_eq(b->trace_hash, 0);
            ck_assert_uint_eq(b->steps, 0);
            ck_assert_uint_eq(a->events, b->events);
            ck_assert_int_eq(a->pass, b->pass);
            ck_assert_str_eq(a->reason, b->reason);
        }
    }
    /* A replay of a seed (kept trace) reproduces the traced sweep's hash. */
    cr_policy pol;
    ck_assert_int_eq(sim_sweep_policy(sc, &o, &pol, NULL, 0), 0);
    sim_seed_result *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    sim_trace *t = NULL;
    sim_world_opts wo = {.seed = 4, .keep_trace = 1};
    sim_world_run(sc, &pol, &wo, r, &t);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(r->trace_hash, traced.seeds[3].trace_hash);
    ck_assert_uint_eq(sim_trace_count(t), traced.seeds[3].steps);
    sim_trace_free(t);
    free(r);
    sim_sweep_result_free(&traced);
    sim_sweep_result_free(&plain[0]);
    sim_sweep_result_free(&plain[1]);
    sim_scenario_free(sc);
}
END_TEST

START_TEST(test_notrace_cli_json_db_and_refusal)
{
    char dir[] = "/tmp/ctxsim-notrace-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *out = NULL, *err = NULL;
    int rc = cli_run(dir, &out, &err,
                     "run " SCEN " --seeds 3 --no-trace --db %s/r.db --format json", dir);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(out, "\"trace_hash\": null"));
    ck_assert_ptr_null(strstr(out, "\"trace_hash\": \""));
    free(out);
    free(err);
    /* The database holds the hash as absent (empty), not as 16 zeros. */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "sqlite3 %s/r.db \"SELECT count(*) FROM seed_results WHERE trace_hash = ''\"", dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    int n = -1;
    ck_assert_int_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    ck_assert_int_eq(n, 3);
    rc = cli_run(dir, NULL, &err, "run " SCEN " --no-trace --check-determinism --no-db");
    ck_assert_int_eq(rc, 2);
    ck_assert_ptr_nonnull(strstr(err, "--no-trace"));
    free(err);
    rc = cli_run(dir, &out, NULL, "run --help");
    ck_assert_ptr_nonnull(strstr(out, "--no-trace"));
    free(out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *notrace_suite(void)
{
    Suite *s = suite_create("notrace");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_notrace_same_verdicts_absent_hashes);
    tcase_add_test(tc, test_notrace_cli_json_db_and_refusal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(notrace_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
