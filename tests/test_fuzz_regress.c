/*
 * test_fuzz_regress.c - replays, through the fuzz targets' entry functions
 * built without libFuzzer, every regression input under
 * tests/data/fuzz/regress/<target>/ (each a crash or a broken invariant a
 * fuzz run once found: see tests/data/fuzz/README.md) and the seed corpora
 * of the scenario and database targets (the core's is replayed by
 * test_fuzz_core_corpus).  One Check test per file: a crash, an abort or a
 * broken invariant names the file.  Run from the repository root.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/cli_run.h"

#define FUZZ_CORE_NO_MAIN
#include "tests/fuzz_core.c"
#define FUZZ_SCENARIO_NO_MAIN
#include "tests/fuzz_scenario.c"
#define FUZZ_DB_NO_MAIN
#include "tests/fuzz_db.c"

typedef struct target {
    const char *name;
    int (*run)(const uint8_t *, size_t);
} target;

static const target targets[] = {
    {"core", fuzz_core_run},
    {"scenario", fuzz_scenario_run},
    {"db", fuzz_db_run},
};
#define NTARGETS (sizeof targets / sizeof targets[0])

/* The directories replayed, with their target. */
static const struct {
    const char *dir;
    size_t target;
} dirs[] = {
    {"tests/data/fuzz/regress/core", 0}, {"tests/data/fuzz/regress/scenario", 1},
    {"tests/data/fuzz/regress/db", 2},   {"tests/data/fuzz/scenario", 1},
    {"tests/data/fuzz/db", 2},
};
#define NDIRS (sizeof dirs / sizeof dirs[0])

typedef struct input {
    char path[512];
    size_t target;
} input;

static input *inputs;
static int ninputs, ncorpus_db, ncorpus_scenario;

static int input_cmp(const void *a, const void *b)
{
    return strcmp(((const input *)a)->path, ((const input *)b)->path);
}

/* Lists every file of the directories (a missing one is empty), sorted. */
static void list_inputs(void)
{
    int cap = 0;
    for (size_t d = 0; d < NDIRS; d++) {
        DIR *dp = opendir(dirs[d].dir);
        if (!dp)
            continue;
        struct dirent *e;
        while ((e = readdir(dp)) != NULL) {
            if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0)
                continue;
            if (ninputs == cap) {
                cap = cap ? 2 * cap : 64;
                input *v = realloc(inputs, (size_t)cap * sizeof *v);
                if (!v)
                    abort();
                inputs = v;
            }
            snprintf(inputs[ninputs].path, sizeof inputs[ninputs].path, "%s/%.255s", dirs[d].dir,
                     e->d_name);
            inputs[ninputs].target = dirs[d].target;
            ninputs++;
            ncorpus_db += d == 4;
            ncorpus_scenario += d == 3;
        }
        closedir(dp);
    }
    if (ninputs)
        qsort(inputs, (size_t)ninputs, sizeof *inputs, input_cmp);
}

/* The bytes of path (the test fails when it cannot be read). */
static uint8_t *read_file(const char *path, size_t *len)
{
    uint8_t *buf = (uint8_t *)cli_slurp_len(path, len);
    ck_assert_msg(buf != NULL, "cannot read %s", path);
    return buf;
}

START_TEST(test_fuzz_regress_corpora_present)
{
    ck_assert_msg(ncorpus_scenario >= 20, "%d seeds in tests/data/fuzz/scenario", ncorpus_scenario);
    ck_assert_msg(ncorpus_db >= 4, "%d seeds in tests/data/fuzz/db", ncorpus_db);
}
END_TEST

START_TEST(test_fuzz_regress_input)
{
    const input *it = &inputs[_i];
    size_t len = 0;
    uint8_t *data = read_file(it->path, &len);
    ck_assert_msg(targets[it->target].run(data, len) == 0, "%s (%s)", it->path,
                  targets[it->target].name);
    free(data);
}
END_TEST

int main(void)
{
    list_inputs();
    Suite *s = suite_create("fuzz_regress");
    TCase *tc = tcase_create("regress");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fuzz_regress_corpora_present);
    tcase_add_loop_test(tc, test_fuzz_regress_input, 0, ninputs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(inputs);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
