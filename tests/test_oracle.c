/* test_oracle.c - the client-side oracle: what counts as expected, delivered,
 * late, lost, misrouted, stray, duplicated, out of order, silent. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sim/oracle.h"

#define MS UINT64_C(1000000)
#define S  (1000 * MS)

/* Two users: user 0 has tabs 0 and 1, user 1 has tab 2.  Deadline 1 s. */
static sim_oracle *o;
static uint64_t c[SIM_COUNT__N];
static sim_hist h;

/* show: the user chooses thread t on tab c and the tab displays it. */
static void show(uint32_t c_, uint64_t at, int32_t t)
{
    ck_assert_int_eq(sim_oracle_choose(o, c_, at, t), 0);
    ck_assert_int_eq(sim_oracle_view(o, c_, at, t), 0);
}

static void setup(void)
{
    static const uint32_t user_of[] = {0, 0, 1};
    ck_assert_int_eq(sim_oracle_new(&o, 3, user_of, 1 * S), 0);
    memset(c, 0, sizeof(c));
    memset(&h, 0, sizeof(h));
    for (uint32_t t = 0; t < 3; t++)
        show(t, 0, SIM_VIEW_NONE);
}

static void teardown(void)
{
    sim_oracle_free(o);
    o = NULL;
}

/* started: tab 0 sends a message for thread 7 whose run (n events) starts. */
static int64_t started(uint32_t n)
{
    int64_t m = sim_oracle_message(o, 0, 0, 7, n, SIM_MSG_COUNTS);
    ck_assert_int_ge(m, 0);
    sim_oracle_message_accepted(o, m, 0);
    return m;
}

static void finish(uint64_t end)
{
    ck_assert_int_eq(sim_oracle_finish(o, end, c, &h), 0);
}

START_TEST(test_oracle_delivered_and_late)
{
    show(0, 0, 7);
    int64_t m = started(2);
    int64_t e0 = sim_oracle_emit(o, 10 * MS, m, 0);
    int64_t e1 = sim_oracle_emit(o, 20 * MS, m, 1);
    sim_oracle_receive(o, 0, 30 * MS, e0, 0, 0);         /* 20 ms: on time */
    sim_oracle_receive(o, 0, 20 * MS + 2 * S, e1, 0, 0); /* 2 s: late */
    finish(60 * S);
    ck_assert_uint_eq(c[SIM_COUNT_EXPECTED], 2);
    ck_assert_uint_eq(c[SIM_COUNT_DELIVERED], 1);
    ck_assert_uint_eq(c[SIM_COUNT_LATE], 1);
    ck_assert_uint_eq(c[SIM_COUNT_LOST], 0);
    ck_assert_uint_eq(h.count, 1);
    ck_assert_uint_eq(sim_hist_quantile(&h, 1.0) >= 20 * MS, 1);
}
END_TEST

START_TEST(test_oracle_lost_silent_and_reported)
{
    show(0, 0, 7);
    int64_t m = started(3);
    int64_t e0 = sim_oracle_emit(o, 10 * MS, m, 0);
    int64_t e1 = sim_oracle_emit(o, 20 * MS, m, 1);
    int64_t e2 = sim_oracle_emit(o, 30 * MS, m, 2);
    (void)e0;
    sim_oracle_event_said(o, e1, SIM_SAID_EXPIRED);
    sim_oracle_event_said(o, e2, SIM_SAID_UNROUTABLE);
    finish(60 * S);
    ck_assert_uint_eq(c[SIM_COUNT_EXPECTED], 3);
    ck_assert_uint_eq(c[SIM_COUNT_LOST], 3);
    ck_assert_uint_eq(c[SIM_COUNT_SILENT_LOSS], 1);
    ck_assert_uint_eq(c[SIM_COUNT_CORE_REPORTED], 2);
}
END_TEST

START_TEST(test_oracle_not_owed_after_leaving)
{
    /* Tab 0 chooses 7, then 8 at 500 ms, before the 1 s deadline: the
     * user left, nothing owed now; tab 1 closes within the deadline: not
     * owed.  Tab 0 returns to 7 at 2 s and stays: owed again, due 3 s. */
    show(0, 0, 7);
    show(1, 0, 7);
    int64_t m = started(1);
    sim_oracle_emit(o, 10 * MS, m, 0);
    show(0, 500 * MS, 8);
    show(1, 600 * MS, SIM_VIEW_CLOSED);
    uint64_t early[SIM_COUNT__N] = {0};
    ck_assert_int_eq(sim_oracle_finish(o, 1900 * MS, early, &h), 0);
    ck_assert_uint_eq(early[SIM_COUNT_EXPECTED], 0);
    show(0, 2 * S, 7);
    finish(60 * S);
    ck_assert_uint_eq(c[SIM_COUNT_EXPECTED], 1);
    ck_assert_uint_eq(c[SIM_COUNT_LOST], 1);
    ck_assert_uint_eq(c[SIM_COUNT_SILENT_LOSS], 1);
}
END_TEST

START_TEST(test_oracle_both_tabs_owed)
{
    show(0, 0, 7);
    show(1, 0, 7);
    int64_t m = started(1);
    int64_t e = sim_oracle_emit(o, 10 * MS, m, 0);
    sim_oracle_receive(o, 1, 40 * MS, e, 0, 0);
    finish(60 * S);
    ck_assert_uint_eq(c[SIM_COUNT_EXPECTED], 2);
    ck_assert_uint_eq(c[SIM_COUNT_DELIVERED], 1);
    ck_assert_uint_eq(c[SIM_COUNT_LOST], 1);
}
END_TEST

START_TEST(test_oracle_misrouted_stray_duplicate)
{
    show(0, 0, 7);
    show(1, 0, 9);
    int64_t m = started(1);
    int64_t e = sim_oracle_emit(o, 10 * MS, m, 0);
    sim_oracle_receive(o, 2, 20 * MS, e, 0, 0); /* user 1: misrouted */
    sim_oracle_receive(o, 2, 21 * MS, e, 1, 0); /* even as a notification */
    sim_oracle_receive(o, 1, 22 * MS, e, 0, 0); /* user 0 tab on thread 9: stray */
    sim_oracle_receive(o, 0, 23 * MS, e, 0, 0);
    sim_oracle_receive(o, 0, 24 * MS, e, 0, 0); /* again: duplicated */
    sim_oracle_receive(o, 1, 25 * MS, e, 1, 0); /* notification: neither */
    /* sent while the server still knew tab 1 on thread 7: a race, not stray */
    ck_assert_str_eq(sim_oracle_receive(o, 1, 26 * MS, e, 0, 1), "ok (raced a click)");
    finish(60 * S);
    ck_assert_uint_eq(c[SIM_COUNT_MISROUTED], 2);
    ck_assert_uint_eq(c[SIM_COUNT_STRAY], 1);
    ck_assert_uint_eq(c[SIM_COUNT_DUPLICATED], 1);
    ck_assert_uint_eq(c[SIM_COUNT_NOTIFICATIONS], 1);
    ck_assert_uint_eq(c[SIM_COUNT_DELIVERED], 1);
    ck_assert_uint_eq(c[SIM_COUNT_EXPECTED], 1);
}
END_TEST

START_TEST(test_oracle_out_of_order)
{
    show(0, 0, 7);
    int64_t m = started(3);
    int64_t e0 = sim_oracle_emit(o, 10 * MS, m, 0);
    int64_t e1 = sim_oracle_emit(o, 20 * MS, m, 1);
    int64_t e2 = sim_oracle_emit(o, 30 * MS, m, 2);
    sim_oracle_receive(o, 0, 40 * MS, e0, 0, 0);
    sim_oracle_receive(o, 0, 41 * MS, e2, 0, 0);
    sim_oracle_receive(o, 0, 42 * MS, e1, 0, 0); /* after a later one */
    finish(60 * S);
    ck_assert_uint_eq(c[SIM_COUNT_OUT_OF_ORDER], 1);
    ck_assert_uint_eq(c[SIM_COUNT_DELIVERED], 3);
}
END_TEST

START_TEST(test_oracle_run_never_started)
{
    show(0, 0, 7);
    int64_t quiet = sim_oracle_message(o, 0, 0, 7, 5, 1);
    int64_t told = sim_oracle_message(o, 0, 1 * MS, 7, 5, 1);
    int64_t refused = sim_oracle_message(o, 0, 2 * MS, 7, 5, 1);
    for (int64_t m = quiet; m <= refused; m++)
        sim_oracle_message_accepted(o, m, (uint64_t)m * MS);
    sim_oracle_message_told(o, told);
    sim_oracle_message_refused(o, refused);
    finish(60 * S);
    ck_assert_uint_eq(c[SIM_COUNT_EXPECTED], 10);
    ck_assert_uint_eq(c[SIM_COUNT_LOST], 10);
    ck_assert_uint_eq(c[SIM_COUNT_NEVER_STARTED], 5);
    ck_assert_uint_eq(c[SIM_COUNT_SILENT_LOSS], 0);
    ck_assert_uint_eq(c[SIM_COUNT_CLIENT_TOLD], 5);
    ck_assert_uint_eq(c[SIM_COUNT_REFUSED], 1);
    ck_assert_uint_eq(c[SIM_COUNT_MESSAGES], 3);
}
END_TEST

START_TEST(test_oracle_none_message_takes_next_thread)
{
    int64_t m = sim_oracle_message(o, 0, 0, SIM_VIEW_NONE, 1, 1);
    ck_assert_int_eq(sim_oracle_message_thread(o, m), SIM_VIEW_NONE);
    show(0, 100 * MS, 4);
    ck_assert_int_eq(sim_oracle_message_thread(o, m), 4);
    sim_oracle_message_accepted(o, m, 150 * MS);
    int64_t e = sim_oracle_emit(o, 200 * MS, m, 0);
    sim_oracle_receive(o, 0, 220 * MS, e, 0, 0);
    finish(60 * S);
    ck_assert_uint_eq(c[SIM_COUNT_DELIVERED], 1);
    ck_assert_uint_eq(sim_oracle_message_user(o, m), 0);
    ck_assert_uint_eq(sim_oracle_message_tab(o, m), 0);
}
END_TEST

/* A message with no thread id from a tab already on a thread is meant for
 * that thread (docs/oracle.md, Terms). */
START_TEST(test_oracle_none_message_on_a_chosen_thread)
{
    show(0, 0, 4);
    int64_t m = sim_oracle_message(o, 0, 10 * MS, SIM_VIEW_NONE, 1, SIM_MSG_COUNTS);
    ck_assert_int_eq(sim_oracle_message_thread(o, m), 4);
    show(0, 20 * MS, 5); /* a later choice does not take it */
    ck_assert_int_eq(sim_oracle_message_thread(o, m), 4);
}
END_TEST

START_TEST(test_oracle_deadline_past_end_undecided)
{
    show(0, 0, 7);
    int64_t m = started(1);
    sim_oracle_emit(o, 59500 * MS, m, 0);
    finish(60 * S); /* its 1 s deadline ends after the run: not counted */
    ck_assert_uint_eq(c[SIM_COUNT_EXPECTED], 0);
    ck_assert_uint_eq(c[SIM_COUNT_EMITTED], 1);
}
END_TEST

START_TEST(test_oracle_foreign_message_expects_nothing)
{
    show(0, 0, 7);
    int64_t m = sim_oracle_message(o, 0, 0, 7, 5, 0);
    finish(60 * S);
    ck_assert_uint_eq(c[SIM_COUNT_EXPECTED], 0);
    (void)m;
}
END_TEST

/* reordered_messages counts the order the server received messages in on
 * one connection, not the order the tab sent them: m0 and m1 taken in that
 * order on connection 0 and dispatched m1 first is a reorder; m0 lost with
 * connection 0 and resent on connection 1 after m1 was dispatched is not;
 * a message never offered on a connection (HTTP) is not ordered. */
START_TEST(test_oracle_reordered_counts_the_servers_arrival_order)
{
    int64_t m[4];
    for (int i = 0; i < 4; i++)
        m[i] = sim_oracle_message(o, 0, 0, 7, 0, SIM_MSG_COUNTS);
    ck_assert_int_eq(sim_oracle_message_arrived(o, m[0], 0), 0);
    ck_assert_int_eq(sim_oracle_message_arrived(o, m[1], 0), 0);
    ck_assert_int_eq(sim_oracle_message_dispatched(o, m[1]), 0);
    ck_assert_int_eq(sim_oracle_message_dispatched(o, m[0]), 1); /* the queue is FIFO */
    /* m3 reaches connection 2 first; m2's first copy died with connection 1
     * and its resend arrives after m3 went: the server never had m2 first. */
    ck_assert_int_eq(sim_oracle_message_arrived(o, m[2], 1), 0);
    ck_assert_int_eq(sim_oracle_message_arrived(o, m[3], 2), 0);
    ck_assert_int_eq(sim_oracle_message_dispatched(o, m[3]), 0);
    ck_assert_int_eq(sim_oracle_message_arrived(o, m[2], 2), 0);
    ck_assert_int_eq(sim_oracle_message_dispatched(o, m[2]), 0);
    int64_t web = sim_oracle_message(o, 0, 0, 7, 0, SIM_MSG_COUNTS | SIM_MSG_HTTP);
    ck_assert_int_eq(sim_oracle_message_dispatched(o, web), 0);
    finish(60 * S);
    ck_assert_uint_eq(c[SIM_COUNT_REORDERED_MESSAGES], 1);
}
END_TEST

static Suite *oracle_suite(void)
{
    Suite *s = suite_create("oracle");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_oracle_delivered_and_late);
    tcase_add_test(tc, test_oracle_lost_silent_and_reported);
    tcase_add_test(tc, test_oracle_not_owed_after_leaving);
    tcase_add_test(tc, test_oracle_both_tabs_owed);
    tcase_add_test(tc, test_oracle_misrouted_stray_duplicate);
    tcase_add_test(tc, test_oracle_out_of_order);
    tcase_add_test(tc, test_oracle_run_never_started);
    tcase_add_test(tc, test_oracle_none_message_takes_next_thread);
    tcase_add_test(tc, test_oracle_none_message_on_a_chosen_thread);
    tcase_add_test(tc, test_oracle_deadline_past_end_undecided);
    tcase_add_test(tc, test_oracle_foreign_message_expects_nothing);
    tcase_add_test(tc, test_oracle_reordered_counts_the_servers_arrival_order);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(oracle_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
