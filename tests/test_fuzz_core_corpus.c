/*
 * test_fuzz_core_corpus.c - replays the seed corpus of the core fuzzer
 * (tests/data/fuzz/core/, one Check test per file) through the same
 * interpreter, built without libFuzzer: every input must run to the end
 * with every invariant of tests/fuzz_core.c holding (a broken one prints
 * what broke and aborts, which fails the test).  Run from the repository
 * root.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/cli_run.h"

#define FUZZ_CORE_NO_MAIN
#include "tests/fuzz_core.c"

#define CORPUS_DIR "tests/data/fuzz/core/"

static char **corpus;
static int ncorpus;

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the corpus files, sorted (the loop index of a test names one). */
static void corpus_list(void)
{
    DIR *d = opendir(CORPUS_DIR);
    if (!d)
        return;
    struct dirent *e;
    int cap = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (ncorpus == cap) {
            cap = cap ? cap * 2 : 32;
            char **v = realloc(corpus, (size_t)cap * sizeof *v);
            if (!v)
                abort();
            corpus = v;
        }
        corpus[ncorpus] = strdup(e->d_name);
        if (!corpus[ncorpus])
            abort();
        ncorpus++;
    }
    closedir(d);
    if (ncorpus)
        qsort(corpus, (size_t)ncorpus, sizeof *corpus, name_cmp);
}

/* The bytes of path (the test fails when it cannot be read). */
static uint8_t *read_all(const char *path, size_t *len)
{
    uint8_t *buf = (uint8_t *)cli_slurp_len(path, len);
    ck_assert_msg(buf != NULL, "cannot read %s", path);
    return buf;
}

START_TEST(test_fuzz_core_corpus_present)
{
    ck_assert_msg(ncorpus >= 10, "%d files in " CORPUS_DIR, ncorpus);
}
END_TEST

START_TEST(test_fuzz_core_corpus_file)
{
    char path[512];
    snprintf(path, sizeof path, CORPUS_DIR "%s", corpus[_i]);
    size_t len;
    uint8_t *data = read_all(path, &len);
    ck_assert_int_eq(fuzz_core_run(data, len), 0);
    free(data);
}
END_TEST

/* The empty input and every truncation of the first file: the header and
 * the opcodes read missing bytes as 0. */
START_TEST(test_fuzz_core_corpus_truncations)
{
    ck_assert_int_eq(fuzz_core_run(NULL, 0), 0);
    if (!ncorpus)
        return;
    char path[512];
    snprintf(path, sizeof path, CORPUS_DIR "%s", corpus[0]);
    size_t len;
    uint8_t *data = read_all(path, &len);
    for (size_t n = 0; n <= len; n++)
        ck_assert_int_eq(fuzz_core_run(data, n), 0);
    free(data);
}
END_TEST

static Suite *corpus_suite(void)
{
    Suite *s = suite_create("fuzz_core_corpus");
    TCase *tc = tcase_create("corpus");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fuzz_core_corpus_present);
    tcase_add_test(tc, test_fuzz_core_corpus_truncations);
    tcase_add_loop_test(tc, test_fuzz_core_corpus_file, 0, ncorpus);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    corpus_list();
    SRunner *sr = srunner_create(corpus_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    for (int i = 0; i < ncorpus; i++)
        free(corpus[i]);
    free(corpus);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
