/*
 * test_readme_example.c - the README's embedding example, compiled in from
 * tests/readme_example.inc and run: it must print exactly the three agent
 * events of its run, delivered to its one connection, in order.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/readme_example.inc"

/* run_captured runs readme_example() with stdout redirected into buf
 * (NUL-terminated, truncated to cap - 1). */
static void run_captured(char *buf, size_t cap)
{
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(dup2(fileno(tmp), STDOUT_FILENO), 0);
    readme_example();
    fflush(stdout);
    ck_assert_int_ge(dup2(saved, STDOUT_FILENO), 0);
    close(saved);
    rewind(tmp);
    size_t n = fread(buf, 1, cap - 1, tmp);
    buf[n] = '\0';
    fclose(tmp);
}

START_TEST(test_readme_example_delivers_the_run)
{
    /* what the example does: one connection (the core's first id, 1) of
     * alice on t1; one run emitting three steps, the stream's seq 1..3 */
    static const char *steps[] = {"agent_started", "tool_executing", "agent_completed"};
    char want[512] = "", line[128];
    for (int k = 0; k < 3; k++) {
        snprintf(line, sizeof line, "conn 1 <- alice/t1 seq %d: %s\n", k + 1, steps[k]);
        strcat(want, line);
    }
    char got[4096];
    run_captured(got, sizeof got);
    ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_readme_example_is_deterministic)
{
    char a[4096], b[4096];
    run_captured(a, sizeof a);
    run_captured(b, sizeof b);
    ck_assert_uint_gt(strlen(a), 0);
    ck_assert_str_eq(a, b);
}
END_TEST

static Suite *readme_example_suite(void)
{
    Suite *s = suite_create("readme_example");
    TCase *tc = tcase_create("example");
    tcase_add_test(tc, test_readme_example_delivers_the_run);
    tcase_add_test(tc, test_readme_example_is_deterministic);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(readme_example_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
