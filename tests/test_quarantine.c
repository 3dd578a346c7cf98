/*
 * test_quarantine.c - the core's allocator in the world (sim/quarantine.h):
 * freed blocks are poisoned and held; a write after free is counted.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sim/quarantine.h"

START_TEST(test_quarantine_clean_frees_count_nothing)
{
    sim_quarantine q;
    cr_allocator a;
    ck_assert_int_eq(sim_quarantine_init(&q, 4, &a), 0);
    for (int i = 0; i < 20; i++) {
        char *p = a.malloc(100, a.user_data);
        ck_assert_ptr_nonnull(p);
        memset(p, i, 100);
        p = a.realloc(p, 300, a.user_data);
        ck_assert_int_eq(p[99], i); /* kept across realloc */
        a.free(p, a.user_data);
    }
    ck_assert_uint_le(q.n, 4);
    ck_assert_uint_eq(sim_quarantine_check(&q), 0);
    sim_quarantine_free(&q);
}
END_TEST

START_TEST(test_quarantine_write_after_free_counted)
{
    sim_quarantine q;
    cr_allocator a;
    ck_assert_int_eq(sim_quarantine_init(&q, 2, &a), 0);
    char *p = a.malloc(96, a.user_data);
    a.free(p, a.user_data);
    p[80] = 1; /* a dangling link written: the block is still held */
    ck_assert_uint_eq(sim_quarantine_check(&q), 1);
    ck_assert_uint_eq(sim_quarantine_check(&q), 1); /* counted once */
    /* a broken block found at eviction counts too */
    char *r = a.malloc(16, a.user_data);
    a.free(r, a.user_data);
    r[0] = 7;
    for (int i = 0; i < 3; i++)
        a.free(a.malloc(8, a.user_data), a.user_data);
    ck_assert_uint_eq(q.written, 2);
    sim_quarantine_free(&q);
}
END_TEST

START_TEST(test_quarantine_drives_the_core)
{
    sim_quarantine q;
    cr_allocator a;
    ck_assert_int_eq(sim_quarantine_init(&q, 64, &a), 0);
    cr_policy pol;
    ck_assert_int_eq(cr_policy_init(&pol, CR_PROFILE_FIXED), 0);
    cr_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cr_ctx *ctx = NULL;
    ck_assert_int_eq(cr_ctx_new(&ctx, &pol, &cb, &a, NULL), 0);
    cr_conn_id c;
    for (uint64_t t = 1; t < 200; t++) {
        ck_assert_int_eq(cr_conn_open(ctx, t, &c), 0);
        ck_assert_int_eq(cr_conn_authenticate(ctx, t, c, "u"), 0);
        ck_assert_int_eq(cr_conn_close(ctx, t, c, CR_CLOSE_CLIENT), 0);
    }
    cr_ctx_del(ctx);
    ck_assert_uint_eq(sim_quarantine_check(&q), 0);
    sim_quarantine_free(&q);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("quarantine");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_quarantine_clean_frees_count_nothing);
    tcase_add_test(tc, test_quarantine_write_after_free_counted);
    tcase_add_test(tc, test_quarantine_drives_the_core);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
