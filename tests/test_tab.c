/* test_tab.c - the client side (sim/tab.h) through its host interface: a
 * fake host records what the tabs ask for (connections, frames, closes,
 * timers) and runs their timers in virtual time; the tests assert the
 * frames a script produces, in order, and how a tab reacts to what
 * arrives (acks, notices, a server close, lost events). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "sim/oracle.h"
#include "sim/scenario.h"
#include "sim/streams.h"
#include "sim/tab.h"

#define MS UINT64_C(1000000)
#define S  (1000 * MS)

/* ---- the fake host ---------------------------------------------------------- */

enum { A_OPEN = 1, A_SEND, A_POST, A_CLOSE };

typedef struct action {
    int what; /* A_* */
    uint64_t at;
    uint32_t tab;
    int64_t conn;
    sim_frame f;       /* A_SEND, A_POST */
    sim_tab_close how; /* A_CLOSE */
} action;

typedef struct timer {
    uint64_t when, seq;
    uint32_t tab;
    sim_tab_timer kind;
    int64_t conn;
} timer;

typedef struct fake {
    action act[256];
    size_t nact;
    timer tm[64];
    size_t ntm;
    uint64_t tseq, now;
    int64_t nconns;
    uint32_t owner[64]; /* per thread */
    int32_t nthreads;
    char names[64][8];
    int failed;
} fake;

static fake F;
static sim_scenario *sc;
static sim_oracle *orc;
static sim_tabs *tabs;
static sim_streams rng[4];

static action *record(int what, uint64_t now, uint32_t tab, int64_t conn)
{
    ck_assert_uint_lt(F.nact, 256);
    action *a = &F.act[F.nact++];
    memset(a, 0, sizeof *a);
    a->what = what;
    a->at = now;
    a->tab = tab;
    a->conn = conn;
    return a;
}

static int64_t h_open(void *ud, uint64_t now, uint32_t tab)
{
    (void)ud;
    record(A_OPEN, now, tab, F.nconns);
    return F.nconns++;
}

static void h_send(void *ud, uint64_t now, uint32_t tab, int64_t conn, const sim_frame *f)
{
    (void)ud;
    record(A_SEND, now, tab, conn)->f = *f;
}

static void h_post(void *ud, uint64_t now, uint32_t tab, const sim_frame *f)
{
    (void)ud;
    record(A_POST, now, tab, -1)->f = *f;
}

static void h_close(void *ud, uint64_t now, uint32_t tab, int64_t conn, sim_tab_close how)
{
    (void)ud;
    record(A_CLOSE, now, tab, conn)->how = how;
}

static void h_schedule(void *ud, uint64_t when, uint32_t tab, sim_tab_timer kind, int64_t conn)
{
    (void)ud;
    ck_assert_uint_ge(when, F.now);
    ck_assert_uint_lt(F.ntm, 64);
    F.tm[F.ntm++] = (timer){when, F.tseq++, tab, kind, conn};
}

static int32_t h_thread_new(void *ud, uint64_t now, uint32_t owner, int32_t foreign_for)
{
    (void)ud;
    (void)now;
    (void)foreign_for;
    int32_t t = F.nthreads++;
    F.owner[t] = owner;
    snprintf(F.names[t], sizeof F.names[t], "t%d", (int)t);
    return t;
}

static const char *h_thread_name(void *ud, int32_t t)
{
    (void)ud;
    return F.names[t];
}

static uint32_t h_thread_owner(void *ud, int32_t t)
{
    (void)ud;
    return F.owner[t];
}

static void h_fail(void *ud, const char *why)
{
    (void)ud;
    (void)why;
    F.failed = 1;
}

static const sim_tab_host host = {
    .open = h_open,
    .send = h_send,
    .post = h_post,
    .close = h_close,
    .schedule = h_schedule,
    .thread_new = h_thread_new,
    .thread_name = h_thread_name,
    .thread_owner = h_thread_owner,
    .fail = h_fail,
};

/* run_until runs every timer due at or before `until`, earliest first (FIFO
 * among equal times), as the world's engine would. */
static void run_until(uint64_t until)
{
    for (;;) {
        size_t best = F.ntm;
        for (size_t i = 0; i < F.ntm; i++)
            if (F.tm[i].when <= until &&
                (best == F.ntm || F.tm[i].when < F.tm[best].when ||
                 (F.tm[i].when == F.tm[best].when && F.tm[i].seq < F.tm[best].seq)))
                best = i;
        if (best == F.ntm)
            break;
        timer t = F.tm[best];
        F.tm[best] = F.tm[--F.ntm];
        F.now = t.when;
        switch (t.kind) {
        case SIM_TAB_STEP:
            sim_tab_step(tabs, F.now, t.tab);
            break;
        case SIM_TAB_RECONNECT:
            sim_tab_reconnect(tabs, F.now, t.tab);
            break;
        case SIM_TAB_FAULT:
            sim_tab_fault(tabs, F.now, t.tab, t.conn);
            break;
        }
    }
    if (until > F.now)
        F.now = until;
}

/* load: a scenario of `users` users with one tab each running `client`. */
static void load(const char *client, uint32_t users)
{
    char text[2048];
    snprintf(text, sizeof text,
             "version: 1\nname: tabtest\nsummary: tabs\nhorizon: 60s\nusers: %u\n"
             "network:\n  uplink: 10ms\n  downlink: 10ms\n  reconnect_backoff: 100ms\n"
             "server:\n  auth: 1ms\n  thread_lookup: 1ms\n  agent_start: 1ms\n"
             "  agent_events: [a, b]\n  event_gap: 1ms\nclient:\n%s",
             users, client);
    sim_scenario_error err;
    ck_assert_msg(sim_scenario_load_string("tab.yaml", text, strlen(text), &sc, &err) == 0, "%s",
                  err.msg);
    memset(&F, 0, sizeof F);
    uint32_t user_of[4], first[4];
    for (uint32_t u = 0; u < users; u++) {
        user_of[u] = first[u] = u;
        sim_streams_derive(&rng[u], 1, u);
    }
    ck_assert_int_eq(sim_oracle_new(&orc, users, user_of, sc->deadline), 0);
    sim_tab_host h = host;
    sim_tabs_config cfg = {.sc = sc,
                           .nusers = users,
                           .first_tab = first,
                           .ntabs = users,
                           .streams = rng,
                           .oracle = orc,
                           .host = &h};
    ck_assert_int_eq(sim_tabs_new(&tabs, &cfg), 0);
    for (uint32_t c = 0; c < users; c++)
        ck_assert_int_eq(sim_tab_start(tabs, 0, c), 0);
}

static void teardown(void)
{
    sim_tabs_free(tabs);
    sim_oracle_free(orc);
    sim_scenario_free(sc);
    tabs = NULL;
    orc = NULL;
    sc = NULL;
}

/* nth: the i-th recorded action of kind `what` (1-based); NULL if none. */
static const action *nth(int what, size_t i)
{
    for (size_t k = 0; k < F.nact; k++)
        if (F.act[k].what == what && --i == 0)
            return &F.act[k];
    return NULL;
}

static size_t count(int what)
{
    size_t n = 0;
    for (size_t k = 0; k < F.nact; k++)
        n += F.act[k].what == what;
    return n;
}

/* deliver: the host hands frame *f to tab c on its current connection. */
static void deliver(uint32_t c, const sim_frame *f)
{
    sim_tab_receive(tabs, F.now, c, sim_tab_conn(tabs, c), f);
}

/* ---- tests -------------------------------------------------------------------- */

START_TEST(test_tab_script_frames_in_order)
{
    load("  - connect\n  - authenticate\n  - send: {thread: new}\n  - wait: 1s\n"
         "  - switch: {thread: new}\n  - send: {thread: same}\n  - close\n",
         1);
    run_until(0);
    /* Up to the wait: open, auth, the message on a new thread. */
    ck_assert_uint_eq(count(A_OPEN), 1);
    ck_assert_uint_eq(count(A_SEND), 2);
    const action *auth = nth(A_SEND, 1), *msg = nth(A_SEND, 2);
    ck_assert_int_eq(auth->f.kind, SIM_FRAME_AUTH);
    ck_assert_int_eq(msg->f.kind, SIM_FRAME_MESSAGE);
    ck_assert_int_eq(msg->f.thread, 0);
    ck_assert_int_eq(msg->f.msg, 0);
    ck_assert_uint_eq(msg->f.req, 1);
    ck_assert_int_eq(msg->f.binds, 1);
    ck_assert_int_eq(sim_oracle_choice_of(orc, 0), 0);
    ck_assert_uint_eq(sim_tabs_done(tabs), 0);
    /* The wait holds the rest until 1 s. */
    run_until(1 * S - 1);
    ck_assert_uint_eq(count(A_SEND), 2);
    run_until(2 * S);
    ck_assert_uint_eq(count(A_SEND), 4);
    const action *sw = nth(A_SEND, 3), *m2 = nth(A_SEND, 4);
    ck_assert_int_eq(sw->f.kind, SIM_FRAME_SWITCH);
    ck_assert_uint_eq(sw->at, 1 * S);
    ck_assert_int_eq(sw->f.thread, 1);
    ck_assert_uint_eq(sw->f.req, 2);
    ck_assert_int_eq(m2->f.kind, SIM_FRAME_MESSAGE);
    ck_assert_int_eq(m2->f.thread, 1); /* `same`: the thread switched to */
    ck_assert_int_eq(m2->f.msg, 1);
    ck_assert_uint_eq(m2->f.req, 3);
    const action *cl = nth(A_CLOSE, 1);
    ck_assert_ptr_nonnull(cl);
    ck_assert_int_eq(cl->how, SIM_TAB_CLOSE);
    ck_assert_int_eq(cl->conn, 0);
    ck_assert_int_eq(sim_tab_conn(tabs, 0), -1);
    ck_assert_int_eq(sim_oracle_choice_of(orc, 0), SIM_VIEW_CLOSED);
    ck_assert_uint_eq(sim_tabs_done(tabs), 1);
    ck_assert_int_eq(F.failed, 0);
}
END_TEST

START_TEST(test_tab_resend_after_reconnect)
{
    load("  - connect\n  - authenticate\n  - send: {thread: new}\n  - send: {thread: same}\n"
         "  - send: {thread: same}\n  - wait: 1s\n  - reconnect\n  - wait: 1s\n  - close\n",
         1);
    run_until(0);
    ck_assert_uint_eq(count(A_SEND), 4); /* auth + 3 messages */
    /* The server acknowledges the second message and sends an event of seq 5. */
    deliver(0, &(sim_frame){.kind = SIM_FRAME_ACK, .msg = 1});
    deliver(0, &(sim_frame){.kind = SIM_FRAME_EVENT, .thread = 0, .seq = 5, .ev = -1});
    run_until(1 * S);
    /* reconnect: the old connection dropped, a new one after the backoff */
    const action *drop = nth(A_CLOSE, 1);
    ck_assert_ptr_nonnull(drop);
    ck_assert_int_eq(drop->how, SIM_TAB_DROP);
    ck_assert_uint_eq(count(A_OPEN), 1);
    run_until(1 * S + 100 * MS);
    ck_assert_uint_eq(count(A_OPEN), 2);
    ck_assert_int_eq(sim_tab_conn(tabs, 0), 1);
    /* On the new connection: auth, the switch back (last_seq 5), then the
     * two unacknowledged messages in order. */
    size_t first = 5;
    const action *a = nth(A_SEND, first), *s = nth(A_SEND, first + 1);
    const action *r0 = nth(A_SEND, first + 2), *r1 = nth(A_SEND, first + 3);
    ck_assert_ptr_nonnull(r1);
    ck_assert_ptr_null(nth(A_SEND, first + 4));
    ck_assert_int_eq(a->f.kind, SIM_FRAME_AUTH);
    ck_assert_int_eq(a->conn, 1);
    ck_assert_int_eq(s->f.kind, SIM_FRAME_SWITCH);
    ck_assert_int_eq(s->f.thread, 0);
    ck_assert_uint_eq(s->f.seq, 5);
    ck_assert_int_eq(r0->f.kind, SIM_FRAME_MESSAGE);
    ck_assert_int_eq(r0->f.msg, 0);
    ck_assert_uint_eq(r0->f.seq, 5);
    ck_assert_int_eq(r0->f.binds, 0); /* a resend: the switch gave the thread */
    ck_assert_int_eq(r1->f.msg, 2);
    /* The script resumes after the reconnect: the wait, then the close. */
    run_until(3 * S);
    ck_assert_int_eq(nth(A_CLOSE, 2)->how, SIM_TAB_CLOSE);
    ck_assert_uint_eq(nth(A_CLOSE, 2)->at, 2 * S + 100 * MS);
    ck_assert_uint_eq(sim_tabs_done(tabs), 1);
}
END_TEST

START_TEST(test_tab_rejected_message_not_resent)
{
    load("  - connect\n  - authenticate\n  - send: {thread: new}\n  - wait: 1s\n  - reconnect\n"
         "  - wait: 1s\n",
         1);
    run_until(0);
    deliver(0, &(sim_frame){.kind = SIM_FRAME_NOTICE,
                            .notice = CR_NOTICE_MESSAGE_REJECTED,
                            .msg = 0,
                            .thread = -1});
    run_until(2 * S);
    ck_assert_uint_eq(count(A_OPEN), 2);
    for (size_t i = 1; nth(A_SEND, i); i++)
        if (nth(A_SEND, i)->conn == 1)
            ck_assert_int_ne(nth(A_SEND, i)->f.kind, SIM_FRAME_MESSAGE);
}
END_TEST

START_TEST(test_tab_shows_only_the_latest_selection)
{
    load("  - connect\n  - authenticate\n  - switch: {thread: new}\n  - switch: {thread: new}\n"
         "  - wait: 10s\n",
         1);
    run_until(0);
    ck_assert_int_eq(nth(A_SEND, 2)->f.req, 1);
    ck_assert_int_eq(nth(A_SEND, 3)->f.req, 2);
    /* The answer to the first selection arrives late: ignored. */
    deliver(0, &(sim_frame){.kind = SIM_FRAME_NOTICE,
                            .notice = CR_NOTICE_THREAD_SWITCHED,
                            .thread = 0,
                            .req = 1});
    ck_assert_int_ne(sim_oracle_view_of(orc, 0), 0);
    deliver(0, &(sim_frame){.kind = SIM_FRAME_NOTICE,
                            .notice = CR_NOTICE_THREAD_SWITCHED,
                            .thread = 1,
                            .req = 2});
    ck_assert_int_eq(sim_oracle_view_of(orc, 0), 1);
    ck_assert_int_eq(sim_oracle_choice_of(orc, 0), 1);
}
END_TEST

START_TEST(test_tab_server_close_parks_the_script)
{
    load("  - connect\n  - authenticate\n  - switch: {thread: new}\n  - wait: 50ms\n"
         "  - switch: {thread: new}\n  - wait: 1s\n",
         1);
    run_until(0);
    deliver(0, &(sim_frame){.kind = SIM_FRAME_NOTICE, .notice = CR_NOTICE_CLOSING, .thread = -1});
    const action *gone = nth(A_CLOSE, 1);
    ck_assert_ptr_nonnull(gone);
    ck_assert_int_eq(gone->how, SIM_TAB_GONE);
    ck_assert_int_eq(sim_tab_conn(tabs, 0), -1);
    /* The switch at 50 ms needs the connection: held until the reconnect at
     * 100 ms, then sent after the resume of the first thread. */
    run_until(60 * MS);
    ck_assert_uint_eq(count(A_SEND), 2);
    run_until(100 * MS);
    ck_assert_uint_eq(count(A_OPEN), 2);
    const action *sw = nth(A_SEND, 5);
    ck_assert_ptr_nonnull(sw);
    ck_assert_int_eq(nth(A_SEND, 4)->f.thread, 0); /* the resume */
    ck_assert_int_eq(sw->f.kind, SIM_FRAME_SWITCH);
    ck_assert_int_eq(sw->f.thread, 1);
    ck_assert_uint_eq(sw->at, 100 * MS);
}
END_TEST

START_TEST(test_tab_http_and_repeat)
{
    load("  - connect\n  - disconnect\n"
         "  - repeat: {times: 3, steps: [{send: {thread: new, via: http}}, {wait: 10ms}]}\n",
         1);
    run_until(1 * S);
    /* Disconnected: HTTP posts still leave, each on a fresh thread. */
    ck_assert_uint_eq(count(A_OPEN), 1);
    ck_assert_int_eq(sim_tab_conn(tabs, 0), -1);
    ck_assert_uint_eq(count(A_POST), 3);
    for (size_t i = 1; i <= 3; i++) {
        const action *p = nth(A_POST, i);
        ck_assert_int_eq(p->f.kind, SIM_FRAME_HTTP);
        ck_assert_int_eq(p->f.thread, (int)i - 1);
        ck_assert_int_eq(p->f.msg, (int)i - 1);
        ck_assert_uint_eq(p->at, (i - 1) * 10 * MS);
    }
    ck_assert_uint_eq(sim_tabs_done(tabs), 1);
}
END_TEST

START_TEST(test_tab_foreign_and_sibling)
{
    load("  - connect\n  - authenticate\n  - switch: {thread: new, as: mine}\n"
         "  - send: {thread: foreign}\n  - send: {thread: mine}\n",
         2);
    run_until(0);
    /* Tab 0 probes a thread of user 1 without selecting it. */
    const action *probe = NULL, *mine = NULL;
    for (size_t i = 1; nth(A_SEND, i); i++) {
        const action *a = nth(A_SEND, i);
        if (a->tab == 0 && a->f.kind == SIM_FRAME_MESSAGE)
            (probe ? &mine : &probe)[0] = a;
    }
    ck_assert_ptr_nonnull(mine);
    ck_assert_uint_eq(F.owner[probe->f.thread], 1);
    ck_assert_uint_eq(F.owner[mine->f.thread], 0);
    ck_assert_int_eq(probe->f.binds, 1);
    ck_assert_uint_eq(probe->f.req, 1); /* the probe is not a selection */
    ck_assert_int_eq(sim_oracle_choice_of(orc, 0), mine->f.thread);
}
END_TEST

START_TEST(test_tab_lost_event_told_to_oracle)
{
    load("  - connect\n  - authenticate\n  - send: {thread: new}\n  - wait: 10s\n", 1);
    run_until(0);
    int64_t ev = sim_oracle_emit(orc, 10 * MS, 0, 0);
    ck_assert_int_ge(ev, 0);
    sim_oracle_message_accepted(orc, 0, 5 * MS);
    sim_oracle_sent(orc, 0, ev);
    sim_tab_lost(tabs, 0, &(sim_frame){.kind = SIM_FRAME_EVENT, .ev = ev, .thread = 0}, 20 * MS,
                 SIM_GONE_TRANSPORT);
    uint64_t counts[SIM_COUNT__N] = {0};
    sim_hist h;
    memset(&h, 0, sizeof h);
    ck_assert_int_eq(sim_oracle_finish(orc, 60 * S, counts, &h), 0);
    ck_assert_uint_eq(counts[SIM_COUNT_LOST], 2); /* this one and event 1, never emitted */
    ck_assert_uint_eq(counts[SIM_COUNT_TRANSPORT_LOST], 1);
}
END_TEST

static Suite *tab_suite(void)
{
    Suite *s = suite_create("tab");
    TCase *tc = tcase_create("script");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_tab_script_frames_in_order);
    tcase_add_test(tc, test_tab_resend_after_reconnect);
    tcase_add_test(tc, test_tab_rejected_message_not_resent);
    tcase_add_test(tc, test_tab_shows_only_the_latest_selection);
    tcase_add_test(tc, test_tab_server_close_parks_the_script);
    tcase_add_test(tc, test_tab_http_and_repeat);
    tcase_add_test(tc, test_tab_foreign_and_sibling);
    tcase_add_test(tc, test_tab_lost_event_told_to_oracle);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tab_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
