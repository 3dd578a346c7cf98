/*
 * test_core_policy.c - the knob table, profiles, set/get/disable_fix, and
 * the name tables (errors, states, reasons, outcomes).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"

/* Reads knob i of p through the public API. */
static uint64_t knob_value(const cr_policy *p, size_t i)
{
    uint64_t v = 0;
    ck_assert_int_eq(cr_policy_get(p, cr_policy_knob(i)->name, &v), 0);
    return v;
}

START_TEST(test_core_policy_profiles_match_table)
{
    cr_policy legacy, fixed;
    ck_assert_int_eq(cr_policy_init(&legacy, CR_PROFILE_LEGACY), 0);
    ck_assert_int_eq(cr_policy_init(&fixed, CR_PROFILE_FIXED), 0);
    ck_assert_uint_gt(cr_policy_knob_count(), 0);
    for (size_t i = 0; i < cr_policy_knob_count(); i++) {
        const cr_knob_info *k = cr_policy_knob(i);
        ck_assert_ptr_nonnull(k);
        ck_assert_uint_eq(knob_value(&legacy, i), k->legacy_value);
        ck_assert_uint_eq(knob_value(&fixed, i), k->fixed_value);
    }
    ck_assert_ptr_null(cr_policy_knob(cr_policy_knob_count()));
}
END_TEST

START_TEST(test_core_policy_legacy_has_every_fix_off)
{
    cr_policy p;
    ck_assert_int_eq(cr_policy_init(&p, CR_PROFILE_LEGACY), 0);
    ck_assert_uint_eq(p.associate_before_execute, 0);
    ck_assert_uint_eq(p.exec_grace, 0);
    ck_assert_uint_eq(p.verify_before_notify, 0);
    ck_assert_uint_eq(p.buffer_until_ready, 0);
    ck_assert_uint_eq(p.queue_until_context, 0);
    ck_assert_uint_eq(p.cache_preauth, 0);
    ck_assert_uint_eq(p.pool_pending_marking, 0);
    ck_assert_uint_eq(p.update_retries, 0);
    ck_assert_uint_eq(p.report_undeliverable, 0);
    ck_assert_uint_eq(p.fallback_notify, 0);
    ck_assert_uint_eq(p.pending_deadline, 0);
    ck_assert_uint_gt(p.max_payload, 0);
}
END_TEST

START_TEST(test_core_policy_fixed_has_every_fix_on)
{
    cr_policy p;
    ck_assert_int_eq(cr_policy_init(&p, CR_PROFILE_FIXED), 0);
    ck_assert_uint_eq(p.associate_before_execute, 1);
    ck_assert_uint_gt(p.exec_grace, 0);
    ck_assert_uint_gt(p.exec_retry_interval, 0);
    ck_assert_uint_eq(p.verify_before_notify, 1);
    ck_assert_uint_eq(p.buffer_until_ready, 1);
    ck_assert_uint_gt(p.event_buffer_max, 0);
    ck_assert_uint_gt(p.event_buffer_max_bytes, 0);
    ck_assert_uint_gt(p.event_ttl, 0);
    ck_assert_uint_eq(p.queue_until_context, 1);
    ck_assert_uint_gt(p.pending_max, 0);
    ck_assert_uint_eq(p.cache_preauth, 1);
    ck_assert_uint_gt(p.preauth_max, 0);
    ck_assert_uint_eq(p.pool_pending_marking, 1);
    ck_assert_uint_gt(p.update_retries, 0);
    ck_assert_uint_gt(p.update_backoff, 0);
    ck_assert_uint_eq(p.report_undeliverable, 1);
    ck_assert_uint_eq(p.fallback_notify, 1);
    ck_assert_uint_gt(p.pending_deadline, 0);
}
END_TEST

START_TEST(test_core_policy_init_rejects_bad_profile)
{
    cr_policy p;
    memset(&p, 0x5a, sizeof p);
    cr_policy before = p;
    ck_assert_int_eq(cr_policy_init(&p, (cr_profile)7), CR_EINVAL);
    ck_assert_int_eq(memcmp(&p, &before, sizeof p), 0);
    ck_assert_int_eq(cr_policy_init(NULL, CR_PROFILE_FIXED), CR_EINVAL);
}
END_TEST

/* Every knob can be set and read back by name, and setting one changes
 * only that field. */
START_TEST(test_core_policy_set_get_every_knob)
{
    for (size_t i = 0; i < cr_policy_knob_count(); i++) {
        const cr_knob_info *k = cr_policy_knob(i);
        cr_policy p, before;
        cr_policy_init(&p, CR_PROFILE_FIXED);
        before = p;
        uint64_t v = k->type == CR_KNOB_BOOL ? !k->fixed_value : k->fixed_value + 12345;
        ck_assert_int_eq(cr_policy_set(&p, k->name, v), 0);
        ck_assert_uint_eq(knob_value(&p, i), v);
        for (size_t j = 0; j < cr_policy_knob_count(); j++)
            if (j != i)
                ck_assert_uint_eq(knob_value(&p, j), knob_value(&before, j));
    }
}
END_TEST

START_TEST(test_core_policy_set_validates)
{
    cr_policy p, before;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    before = p;
    uint64_t v = 99;
    ck_assert_int_eq(cr_policy_set(&p, "no_such_knob", 1), CR_ENOTFOUND);
    ck_assert_int_eq(cr_policy_get(&p, "no_such_knob", &v), CR_ENOTFOUND);
    ck_assert_uint_eq(v, 99);
    for (size_t i = 0; i < cr_policy_knob_count(); i++)
        if (cr_policy_knob(i)->type == CR_KNOB_BOOL)
            ck_assert_int_eq(cr_policy_set(&p, cr_policy_knob(i)->name, 2), CR_EINVAL);
    ck_assert_int_eq(cr_policy_set(&p, NULL, 1), CR_EINVAL);
    ck_assert_int_eq(cr_policy_set(NULL, "exec_grace", 1), CR_EINVAL);
    ck_assert_int_eq(cr_policy_get(&p, "exec_grace", NULL), CR_EINVAL);
    ck_assert_int_eq(memcmp(&p, &before, sizeof p), 0);
}
END_TEST

/* Disabling fix f on top of fixed sets exactly the rows of f to their
 * legacy values and leaves every other row alone. */
START_TEST(test_core_policy_disable_fix_each)
{
    for (int f = 1; f <= 9; f++) {
        cr_policy p, fixed;
        cr_policy_init(&fixed, CR_PROFILE_FIXED);
        p = fixed;
        ck_assert_int_eq(cr_policy_disable_fix(&p, f), 0);
        int rows = 0;
        for (size_t i = 0; i < cr_policy_knob_count(); i++) {
            const cr_knob_info *k = cr_policy_knob(i);
            if (k->fix == f) {
                rows++;
                ck_assert_uint_eq(knob_value(&p, i), k->legacy_value);
            } else {
                ck_assert_uint_eq(knob_value(&p, i), knob_value(&fixed, i));
            }
        }
        ck_assert_int_gt(rows, 0);
    }
}
END_TEST

START_TEST(test_core_policy_disable_all_fixes_is_legacy_except_general)
{
    cr_policy p, legacy;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    cr_policy_init(&legacy, CR_PROFILE_LEGACY);
    for (int f = 1; f <= 9; f++)
        cr_policy_disable_fix(&p, f);
    for (size_t i = 0; i < cr_policy_knob_count(); i++)
        if (cr_policy_knob(i)->fix != 0)
            ck_assert_uint_eq(knob_value(&p, i), knob_value(&legacy, i));
}
END_TEST

START_TEST(test_core_policy_disable_fix_rejects_bad_number)
{
    cr_policy p, before;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    before = p;
    ck_assert_int_eq(cr_policy_disable_fix(&p, 0), CR_EINVAL);
    ck_assert_int_eq(cr_policy_disable_fix(&p, 10), CR_EINVAL);
    ck_assert_int_eq(cr_policy_disable_fix(&p, -1), CR_EINVAL);
    ck_assert_int_eq(cr_policy_disable_fix(NULL, 1), CR_EINVAL);
    ck_assert_int_eq(memcmp(&p, &before, sizeof p), 0);
}
END_TEST

START_TEST(test_core_policy_table_is_well_formed)
{
    for (size_t i = 0; i < cr_policy_knob_count(); i++) {
        const cr_knob_info *k = cr_policy_knob(i);
        ck_assert_ptr_nonnull(k->name);
        ck_assert_ptr_nonnull(k->doc);
        ck_assert_int_ge(k->fix, 0);
        ck_assert_int_le(k->fix, 9);
        if (k->type == CR_KNOB_BOOL) {
            ck_assert_uint_le(k->legacy_value, 1);
            ck_assert_uint_le(k->fixed_value, 1);
        }
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(cr_policy_knob(j)->name, k->name);
    }
    /* every fix 1..9 has at least one knob */
    for (int f = 1; f <= 9; f++) {
        int found = 0;
        for (size_t i = 0; i < cr_policy_knob_count(); i++)
            found |= cr_policy_knob(i)->fix == f;
        ck_assert_msg(found, "fix %d has no knob", f);
    }
}
END_TEST

START_TEST(test_core_policy_error_names)
{
    ck_assert_str_eq(cr_strerror(0), "success");
    ck_assert_str_eq(cr_strerror(CR_EFULL), "bound reached (queue, cache or buffer full)");
    ck_assert_str_eq(cr_strerror(-999), "unknown error");
    ck_assert_str_eq(cr_strerror(1), "unknown error");
    ck_assert_str_eq(cr_errname(CR_EFULL), "CR_EFULL");
    ck_assert_str_eq(cr_errname(CR_ETIME), "CR_ETIME");
    /* every code from -1 to -10 has a distinct name and message */
    for (int e = -1; e >= -10; e--) {
        ck_assert_str_ne(cr_strerror(e), "unknown error");
        ck_assert_int_eq(strncmp(cr_errname(e), "CR_E", 4), 0);
        for (int f = -1; f > e; f--)
            ck_assert_str_ne(cr_errname(e), cr_errname(f));
    }
}
END_TEST

START_TEST(test_core_policy_enum_names)
{
    ck_assert_str_eq(cr_conn_state_name(CR_CONN_OPEN), "OPEN");
    ck_assert_str_eq(cr_conn_state_name(CR_CONN_PENDING_CONTEXT), "PENDING_CONTEXT");
    ck_assert_str_eq(cr_conn_state_name(CR_CONN_READY), "READY");
    ck_assert_str_eq(cr_conn_state_name(CR_CONN_CLOSED), "CLOSED");
    ck_assert_str_eq(cr_close_reason_name(CR_CLOSE_PENDING_TIMEOUT),
                     "no context before the pending deadline");
    ck_assert_str_eq(cr_outcome_name(CR_OUTCOME_DELIVERED), "delivered");
    ck_assert_str_eq(cr_outcome_name(CR_OUTCOME_BUFFERED_DELIVERED), "buffered_delivered");
    ck_assert_str_eq(cr_outcome_name(CR_OUTCOME_EXPIRED), "expired");
    ck_assert_str_eq(cr_outcome_name(CR_OUTCOME_FALLBACK), "fallback");
    ck_assert_str_eq(cr_outcome_name(CR_OUTCOME_DROPPED_FULL), "dropped_full");
    ck_assert_str_eq(cr_outcome_name(CR_OUTCOME_UNROUTABLE), "unroutable");
    ck_assert_str_eq(cr_outcome_name(CR_OUTCOME_COUNT), "?");
}
END_TEST

/* The context validates the policy it is given and keeps its own copy. */
START_TEST(test_core_policy_ctx_copies_and_validates)
{
    cr_policy p;
    cr_policy_init(&p, CR_PROFILE_FIXED);
    cr_ctx *ctx = NULL;
    ck_assert_int_eq(cr_ctx_new(&ctx, &p, NULL, NULL, NULL), 0);
    uint64_t grace = p.exec_grace;
    p.exec_grace = grace + 1;
    ck_assert_uint_eq(cr_ctx_policy(ctx)->exec_grace, grace);
    cr_ctx_del(ctx);

    cr_policy bad = p;
    bad.cache_preauth = 3;
    ctx = NULL;
    ck_assert_int_eq(cr_ctx_new(&ctx, &bad, NULL, NULL, NULL), CR_EINVAL);
    ck_assert_ptr_null(ctx);
    ck_assert_int_eq(cr_ctx_new(&ctx, NULL, NULL, NULL, NULL), CR_EINVAL);
    ck_assert_int_eq(cr_ctx_new(NULL, &p, NULL, NULL, NULL), CR_EINVAL);
    cr_allocator half = {NULL, NULL, NULL, NULL};
    ck_assert_int_eq(cr_ctx_new(&ctx, &p, NULL, &half, NULL), CR_EINVAL);
    cr_ctx_del(NULL);
}
END_TEST

static Suite *policy_suite(void)
{
    Suite *s = suite_create("core_policy");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, test_core_policy_profiles_match_table);
    tcase_add_test(tc, test_core_policy_legacy_has_every_fix_off);
    tcase_add_test(tc, test_core_policy_fixed_has_every_fix_on);
    tcase_add_test(tc, test_core_policy_init_rejects_bad_profile);
    tcase_add_test(tc, test_core_policy_set_get_every_knob);
    tcase_add_test(tc, test_core_policy_set_validates);
    tcase_add_test(tc, test_core_policy_disable_fix_each);
    tcase_add_test(tc, test_core_policy_disable_all_fixes_is_legacy_except_general);
    tcase_add_test(tc, test_core_policy_disable_fix_rejects_bad_number);
    tcase_add_test(tc, test_core_policy_table_is_well_formed);
    tcase_add_test(tc, test_core_policy_error_names);
    tcase_add_test(tc, test_core_policy_enum_names);
    tcase_add_test(tc, test_core_policy_ctx_copies_and_validates);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(policy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
