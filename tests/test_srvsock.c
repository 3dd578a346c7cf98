/* test_srvsock.c - the server's socket layer (sim/srvsock.h) through its
 * host interface, with the real core: a fake host whose frames are
 * numbers, which records the acks, what was dropped and what came back.
 * The tests assert duplicate suppression (also past a bounded table's
 * eviction and across the table's growth), a switch deferred until
 * authentication with what follows it held in order (and the hold bound),
 * and a resend parked while the core holds the first copy. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "sim/srvsock.h"

typedef struct fake {
    uint64_t acks[SIM_SRVSOCK_ACK_PARKED + 1];
    int64_t last_ack;
    uint64_t kept, dropped, before, after, unparked_h;
    uint64_t dispatched;
} fake;

static fake F;
static cr_ctx *core;
static sim_srvsock *ss;

static uint64_t h_keep(void *ud, const void *src)
{
    (void)ud;
    F.kept++;
    return *(const uint64_t *)src;
}

static void h_drop(void *ud, uint64_t h)
{
    (void)ud, (void)h;
    F.dropped++;
}

static void h_ack(void *ud, uint64_t now, uint64_t key, uint64_t h, int64_t msg, int rc,
                  sim_srvsock_ack why)
{
    (void)ud, (void)now, (void)key, (void)h, (void)rc;
    F.acks[why]++;
    F.last_ack = msg;
}

static void h_unparked(void *ud, uint64_t now, uint64_t key, uint64_t h)
{
    (void)ud, (void)now, (void)key;
    F.unparked_h = h;
}

static int h_before(void *ud, uint64_t now, uint64_t key, const sim_srvsock_req *r)
{
    (void)ud, (void)now, (void)key, (void)r;
    F.before++;
    return 0;
}

static void h_after(void *ud, uint64_t now, uint64_t key, const sim_srvsock_req *r, int rc)
{
    (void)ud, (void)now, (void)key, (void)r, (void)rc;
    F.after++;
}

static void cb_dispatch(void *ud, uint64_t now, cr_conn_id conn, const cr_dispatch *d)
{
    (void)ud, (void)now, (void)conn, (void)d;
    F.dispatched++;
}

static void setup_with(uint32_t hold_max, uint32_t msgs_max)
{
    memset(&F, 0, sizeof F);
    cr_policy p;
    ck_assert_int_eq(cr_policy_init(&p, CR_PROFILE_FIXED), 0);
    cr_callbacks cb = {.dispatch = cb_dispatch};
    ck_assert_int_eq(cr_ctx_new(&core, &p, &cb, NULL, NULL), 0);
    sim_srvsock_host h = {.keep = h_keep,
                          .drop = h_drop,
                          .ack = h_ack,
                          .unparked = h_unparked,
                          .before = h_before,
                          .after = h_after};
    sim_srvsock_config cfg = {.core = core, .host = &h, .hold_max = hold_max, .msgs_max = msgs_max};
    ck_assert_int_eq(sim_srvsock_new(&ss, &cfg), 0);
}

static void teardown(void)
{
    sim_srvsock_free(ss);
    ss = NULL;
    cr_ctx_del(core);
    core = NULL;
}

static sim_srvsock_result message(sim_srvsock_conn *c, int64_t m, uint64_t h)
{
    sim_srvsock_req r = {.kind = SIM_SRVSOCK_MESSAGE,
                         .msg = m,
                         .thread_key = -1,
                         .tag = (UINT64_C(1) << 62) | (uint64_t)(m + 1),
                         .payload = "hello",
                         .payload_len = 5};
    return sim_srvsock_request(ss, 1000, c, 1, &r, &h);
}

static sim_srvsock_result switch_to(sim_srvsock_conn *c, const char *thread, uint64_t h)
{
    sim_srvsock_req r = {.kind = SIM_SRVSOCK_SWITCH, .thread = thread, .thread_key = 3, .sel = 9};
    return sim_srvsock_request(ss, 1000, c, 1, &r, &h);
}

/* Every dispatched id is a duplicate for as long as it is remembered: all
 * of them unbounded (the table grows past its first size), the newest
 * msgs_max bounded; a forgotten id reaches the core again. */
static void check_duplicates(uint32_t msgs_max, int64_t n)
{
    setup_with(0, msgs_max);
    sim_srvsock_conn c;
    sim_srvsock_conn_init(&c);
    ck_assert_int_eq(sim_srvsock_open(ss, 1000, &c, 1), 0);
    for (int64_t m = 0; m < n; m++)
        sim_srvsock_dispatched(ss, 1000, SIM_SRVSOCK_NONE, m);
    ck_assert_uint_eq(F.acks[SIM_SRVSOCK_ACK_DISPATCHED], 0);
    int64_t remembered = msgs_max ? msgs_max : n;
    for (int64_t m = n - 1; m >= 0; m--) {
        sim_srvsock_result res = message(&c, m, (uint64_t)m);
        if (m >= n - remembered)
            ck_assert_msg(res == SIM_SRVSOCK_DUPLICATE, "msg %lld: %d", (long long)m, (int)res);
        else
            ck_assert_msg(res == SIM_SRVSOCK_ACCEPTED || res == SIM_SRVSOCK_REFUSED,
                          "msg %lld forgotten, yet %d", (long long)m, (int)res);
    }
    ck_assert_uint_eq(F.acks[SIM_SRVSOCK_ACK_DUPLICATE], (uint64_t)remembered);
    ck_assert_uint_eq(F.before, (uint64_t)(n - remembered));
}

START_TEST(test_srvsock_duplicates_unbounded)
{
    check_duplicates(0, 1000);
}
END_TEST

START_TEST(test_srvsock_duplicates_bounded_forget_oldest)
{
    check_duplicates(16, 200);
}
END_TEST

START_TEST(test_srvsock_switch_deferred_until_auth)
{
    setup_with(2, 0);
    sim_srvsock_conn c;
    sim_srvsock_conn_init(&c);
    ck_assert_int_eq(sim_srvsock_open(ss, 1000, &c, 1), 0);
    ck_assert_int_eq(switch_to(&c, "t1", 100), SIM_SRVSOCK_DEFERRED);
    ck_assert(c.deferred);
    ck_assert_int_eq(message(&c, 1, 101), SIM_SRVSOCK_HELD);
    ck_assert_int_eq(switch_to(&c, "t2", 102), SIM_SRVSOCK_HELD);
    ck_assert_int_eq(message(&c, 2, 103), SIM_SRVSOCK_BUSY);
    ck_assert_uint_eq(F.kept, 2);
    ck_assert_uint_eq(sim_srvsock_unhold(ss, &c), SIM_SRVSOCK_NONE); /* still deferred */
    ck_assert_int_eq(cr_thread_add(core, 1000, "u0", "t1"), 0);
    ck_assert_int_eq(cr_conn_authenticate(core, 1000, c.core, "u0"), 0);
    uint64_t before = F.before;
    ck_assert_int_eq(sim_srvsock_authenticated(ss, 1000, &c, 1), SIM_SRVSOCK_SWITCHED);
    ck_assert_uint_eq(F.before, before + 1);
    ck_assert_str_eq(c.deferred_thread, "t1");
    ck_assert_uint_eq(sim_srvsock_unhold(ss, &c), 101);
    ck_assert_uint_eq(sim_srvsock_unhold(ss, &c), 102);
    ck_assert_uint_eq(sim_srvsock_unhold(ss, &c), SIM_SRVSOCK_NONE);
    ck_assert_int_eq(sim_srvsock_authenticated(ss, 1000, &c, 1), SIM_SRVSOCK_NOTHING);
    sim_srvsock_conn_free(ss, &c); /* frees the deferred switch's thread */
    ck_assert_ptr_null(c.deferred_thread);
}
END_TEST

START_TEST(test_srvsock_resend_parked_while_held)
{
    setup_with(0, 0);
    sim_srvsock_conn c;
    sim_srvsock_conn_init(&c);
    ck_assert_int_eq(sim_srvsock_open(ss, 1000, &c, 1), 0);
    /* Not authenticated: the core caches the message (held, not dispatched). */
    ck_assert_int_eq(message(&c, 5, 200), SIM_SRVSOCK_ACCEPTED);
    ck_assert_uint_eq(F.dispatched, 0);
    ck_assert_int_eq(message(&c, 5, 201), SIM_SRVSOCK_PARKED);
    ck_assert_int_eq(message(&c, 5, 202), SIM_SRVSOCK_PARKED); /* replaces it */
    ck_assert_uint_eq(F.dropped, 1);
    /* Let go: the parked resend comes back to the host. */
    sim_srvsock_let_go(ss, 1000, 5);
    ck_assert_uint_eq(F.unparked_h, 202);
    ck_assert_int_eq(message(&c, 5, 203), SIM_SRVSOCK_ACCEPTED);
    ck_assert_int_eq(message(&c, 5, 204), SIM_SRVSOCK_PARKED);
    /* Dispatched: the parked resend is answered, then the connection. */
    sim_srvsock_dispatched(ss, 1000, 1, 5);
    ck_assert_uint_eq(F.acks[SIM_SRVSOCK_ACK_PARKED], 1);
    ck_assert_uint_eq(F.acks[SIM_SRVSOCK_ACK_DISPATCHED], 1);
    ck_assert_uint_eq(F.dropped, 2);
    ck_assert_int_eq(message(&c, 5, 205), SIM_SRVSOCK_DUPLICATE);
    ck_assert_int_eq(F.last_ack, 5);
    ck_assert_int_eq(sim_srvsock_close(ss, 1000, &c, CR_CLOSE_CLIENT), 0);
    ck_assert_int_eq(message(&c, 6, 206), SIM_SRVSOCK_CLOSED);
}
END_TEST

static Suite *srvsock_suite(void)
{
    Suite *s = suite_create("srvsock");
    TCase *tc = tcase_create("socket layer");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_srvsock_duplicates_unbounded);
    tcase_add_test(tc, test_srvsock_duplicates_bounded_forget_oldest);
    tcase_add_test(tc, test_srvsock_switch_deferred_until_auth);
    tcase_add_test(tc, test_srvsock_resend_parked_while_held);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(srvsock_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
