/*
 * test_readme_example.c - the README's embedding example, a complete
 * program (core/examples/minimal.c, shown verbatim in the README), compiled
 * in and run: it must print exactly the three agent events of its run,
 * delivered to its one connection, in order.  (tests/install.sh also builds
 * it against the installed library with -Wall -Wextra -Werror and runs it.)
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The example's main() is renamed: this suite has its own. */
int readme_example_main(void);
#define main readme_example_main
#include "core/examples/minimal.c"
#undef main

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
    ck_assert_int_eq(readme_example(), 0);
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

/* The README shows the example file verbatim, between ```c fences. */
START_TEST(test_readme_example_is_the_readme_block)
{
    FILE *f = fopen("README.md", "r");
    ck_assert_ptr_nonnull(f);
    static char readme[1 << 20], src[1 << 16], block[(1 << 16) + 16];
    size_t n = fread(readme, 1, sizeof readme - 1, f);
    readme[n] = 0;
    fclose(f);
    f = fopen("core/examples/minimal.c", "r");
    ck_assert_ptr_nonnull(f);
    n = fread(src, 1, sizeof src - 1, f);
    src[n] = 0;
    fclose(f);
    snprintf(block, sizeof block, "```c\n%s```\n", src);
    ck_assert_msg(strstr(readme, block) != NULL,
                  "README.md does not show core/examples/minimal.c verbatim");
}
END_TEST

static Suite *readme_example_suite(void)
{
    Suite *s = suite_create("readme_example");
    TCase *tc = tcase_create("example");
    tcase_add_test(tc, test_readme_example_delivers_the_run);
    tcase_add_test(tc, test_readme_example_is_the_readme_block);
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
