/* test_backend.c - the server side (sim/backend.h) through its host
 * interface, with the real core: a fake host queues what the backend
 * schedules and runs it in virtual time, wires the core's callbacks to the
 * backend as a server would, and records what the agent runtime emitted.
 * The tests assert the auth and thread-service latencies and failure rate,
 * the core's retries of failed associations, and a run's events in order
 * with their gaps. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctxready.h"
#include "sim/backend.h"
#include "sim/scenario.h"
#include "sim/streams.h"

#define MS UINT64_C(1000000)
#define S  (1000 * MS)

typedef struct btimer {
    uint64_t when, seq;
    sim_backend_timer kind;
    uint32_t aux;
    uint64_t a, b;
} btimer;

typedef struct emitted {
    uint64_t at;
    cr_run_id run;
    sim_backend_emitted e;
} emitted;

/* The fake host: one seed's streams for origin 0..3, a timer queue, the
 * core, what the core asked and what the runtime emitted. */
typedef struct fake {
    sim_streams rng[4];
    btimer tm[4096];
    size_t ntm;
    uint64_t tseq, now;
    size_t scheduled[SIM_BACKEND_EMIT + 1];
    uint64_t assoc_reqs, switched, switch_failed, delivered, dispatched;
    emitted em[16];
    size_t nem;
    uint64_t next_tag;
} fake;

static fake F;
static sim_scenario *sc;
static sim_backend *bk;
static cr_ctx *core;

static void h_schedule(void *ud, uint64_t when, sim_backend_timer kind, uint32_t aux, uint64_t a,
                       uint64_t b)
{
    (void)ud;
    ck_assert_uint_ge(when, F.now);
    ck_assert_uint_lt(F.ntm, 4096);
    F.tm[F.ntm++] = (btimer){when, F.tseq++, kind, aux, a, b};
    F.scheduled[kind]++;
}

static sim_prng *h_stream(void *ud, uint32_t origin, sim_stream concern)
{
    (void)ud;
    ck_assert_uint_lt(origin, 4);
    return sim_streams_get(&F.rng[origin], concern);
}

static int h_emit_begin(void *ud, uint64_t now, cr_run_id run, int64_t msg, uint32_t index,
                        uint64_t *tag)
{
    (void)ud;
    (void)now;
    (void)run;
    (void)msg;
    (void)index;
    *tag = ++F.next_tag;
    return 0;
}

static int h_emitted(void *ud, uint64_t now, cr_run_id run, const sim_backend_emitted *e)
{
    (void)ud;
    ck_assert_uint_lt(F.nem, 16);
    F.em[F.nem++] = (emitted){now, run, *e};
    return 0;
}

static const sim_backend_host host = {
    .schedule = h_schedule,
    .stream = h_stream,
    .emit_begin = h_emit_begin,
    .emitted = h_emitted,
};

/* The core's callbacks, wired as a server wires them. */
static void cb_associate(void *ud, uint64_t now, uint64_t req, cr_conn_id conn, const char *user,
                         const char *thread)
{
    (void)ud;
    F.assoc_reqs++;
    sim_backend_associate(bk, now, req, conn, user, thread, 0);
}

static void cb_dispatch(void *ud, uint64_t now, cr_conn_id conn, const cr_dispatch *d)
{
    (void)ud;
    (void)conn;
    F.dispatched++;
    sim_backend_dispatch(bk, now, d->msg_id, (int64_t)d->tag - 1, -1, 0);
}

static void cb_run_go(void *ud, uint64_t now, cr_run_id run)
{
    (void)ud;
    ck_assert_int_eq(sim_backend_run_go(bk, now, run), 0);
}

static void cb_notify(void *ud, uint64_t now, cr_conn_id conn, const cr_notice *n)
{
    (void)ud;
    (void)now;
    (void)conn;
    F.switched += n->kind == CR_NOTICE_THREAD_SWITCHED;
    F.switch_failed += n->kind == CR_NOTICE_SWITCH_FAILED;
}

static void cb_deliver(void *ud, uint64_t now, cr_conn_id conn, const cr_event *ev)
{
    (void)ud;
    (void)now;
    (void)conn;
    (void)ev;
    F.delivered++;
}

/* setup_with: the scenario's server timings (auth, thread lookup, agent
 * start, event gap), its agent events and thread update failure rate, and
 * the fixed profile with `retries` update retries. */
static void setup_with(const char *auth, const char *lookup, const char *start, const char *gap,
                       const char *events, const char *fail, uint64_t retries)
{
    char text[2048];
    snprintf(text, sizeof text,
             "version: 1\nname: backendtest\nsummary: backend\nhorizon: 60s\nusers: 1\n"
             "network:\n  uplink: 1ms\n  downlink: 1ms\n"
             "server:\n  auth: %s\n  thread_lookup: %s\n  agent_start: %s\n"
             "  agent_events: [%s]\n  event_gap: %s\nfaults:\n  thread_update_fail: %s\n"
             "client:\n  - connect\n",
             auth, lookup, start, events, gap, fail);
    sim_scenario_error err;
    ck_assert_msg(sim_scenario_load_string("b.yaml", text, strlen(text), &sc, &err) == 0, "%s",
                  err.msg);
    memset(&F, 0, sizeof F);
    for (uint32_t o = 0; o < 4; o++)
        sim_streams_derive(&F.rng[o], 7, o);
    cr_policy p;
    ck_assert_int_eq(cr_policy_init(&p, CR_PROFILE_FIXED), 0);
    ck_assert_int_eq(cr_policy_set(&p, "update_retries", retries), 0);
    cr_callbacks cb = {.associate = cb_associate,
                       .dispatch = cb_dispatch,
                       .run_go = cb_run_go,
                       .notify = cb_notify,
                       .deliver = cb_deliver};
    ck_assert_int_eq(cr_ctx_new(&core, &p, &cb, NULL, NULL), 0);
    sim_backend_host h = host;
    sim_backend_config cfg = {.sc = sc, .core = core, .host = &h};
    ck_assert_int_eq(sim_backend_new(&bk, &cfg), 0);
}

static void teardown(void)
{
    sim_backend_free(bk);
    cr_ctx_del(core);
    sim_scenario_free(sc);
    bk = NULL;
    core = NULL;
    sc = NULL;
}

/* run_until runs the backend's timers and the core's deadlines due at or
 * before `until`, earliest first (FIFO among equal times). */
static void run_until(uint64_t until)
{
    for (;;) {
        size_t best = F.ntm;
        for (size_t i = 0; i < F.ntm; i++)
            if (best == F.ntm || F.tm[i].when < F.tm[best].when ||
                (F.tm[i].when == F.tm[best].when && F.tm[i].seq < F.tm[best].seq))
                best = i;
        uint64_t expiry = cr_ctx_get_expiry(core);
        uint64_t next = best < F.ntm ? F.tm[best].when : UINT64_MAX;
        if (expiry != CR_TIME_NEVER && expiry <= until && expiry < next) {
            F.now = expiry > F.now ? expiry : F.now;
            ck_assert_int_eq(cr_ctx_handle_expiry(core, F.now), 0);
            continue;
        }
        if (next > until)
            break;
        btimer t = F.tm[best];
        F.tm[best] = F.tm[--F.ntm];
        F.now = t.when;
        cr_run_id run;
        switch (t.kind) {
        case SIM_BACKEND_AUTH:
            ck_assert_int_eq(sim_backend_authenticate(bk, F.now, t.a, "u0"), 0);
            break;
        case SIM_BACKEND_ANSWER:
            ck_assert_int_eq(sim_backend_answer(bk, F.now, t.a, (int)t.aux), 0);
            break;
        case SIM_BACKEND_START:
            ck_assert_int_eq(sim_backend_start(bk, F.now, t.a, (int64_t)t.b - 1, 0, &run), 0);
            break;
        case SIM_BACKEND_HTTP:
            ck_assert_int_eq(sim_backend_start_for(bk, F.now, (int64_t)t.a, "u0", "t1", 0, &run),
                             0);
            break;
        case SIM_BACKEND_EMIT:
            ck_assert_int_eq(sim_backend_emit(bk, F.now, t.a), 0);
            break;
        }
    }
    if (until > F.now)
        F.now = until;
}

/* switching: a connection of u0, authenticated through the auth service,
 * switching to u0's thread t1 (the core asks the thread service). */
static cr_conn_id switching(void)
{
    cr_conn_id id;
    ck_assert_int_eq(cr_thread_add(core, 0, "u0", "t1"), 0);
    ck_assert_int_eq(cr_conn_open(core, F.now, &id), 0);
    sim_backend_auth(bk, F.now, id, 0);
    ck_assert_uint_eq(F.scheduled[SIM_BACKEND_AUTH], 1);
    run_until(F.now + 1 * S);
    ck_assert_int_eq(cr_conn_switch(core, F.now, id, "t1", 0), 0);
    return id;
}

START_TEST(test_backend_auth_latency)
{
    setup_with("uniform(5ms, 50ms)", "1ms", "1ms", "1ms", "a", "0", 2);
    for (uint32_t i = 0; i < 200; i++)
        sim_backend_auth(bk, 1 * S, i, i % 4);
    ck_assert_uint_eq(F.ntm, 200);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < F.ntm; i++) {
        ck_assert_int_eq(F.tm[i].kind, SIM_BACKEND_AUTH);
        ck_assert_uint_eq(F.tm[i].a, i);
        uint64_t d = F.tm[i].when - 1 * S;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    ck_assert_uint_ge(lo, 5 * MS);
    ck_assert_uint_le(hi, 50 * MS);
    ck_assert_uint_gt(hi - lo, 30 * MS); /* drawn, not constant */
}
END_TEST

START_TEST(test_backend_association_failure_rate)
{
    setup_with("1ms", "uniform(10ms, 20ms)", "1ms", "1ms", "a", "0.3", 2);
    uint64_t fails = 0, n = 4000;
    for (uint64_t r = 1; r <= n; r++) {
        sim_backend_associate(bk, 0, r, 1, "u0", "t1", (uint32_t)(r % 4));
        const btimer *t = &F.tm[F.ntm - 1];
        ck_assert_int_eq(t->kind, SIM_BACKEND_ANSWER);
        ck_assert_uint_eq(t->a, r);
        ck_assert_uint_ge(t->when, 10 * MS);
        ck_assert_uint_le(t->when, 20 * MS);
        fails += t->aux == 0;
        F.ntm = 0;
    }
    /* 0.3 of 4000: 1200, sd 29; 5 sd either way */
    ck_assert_uint_gt(fails, 1200 - 145);
    ck_assert_uint_lt(fails, 1200 + 145);
}
END_TEST

START_TEST(test_backend_failed_associations_retried_then_given_up)
{
    setup_with("1ms", "5ms", "1ms", "1ms", "a", "1.0", 2);
    switching();
    run_until(F.now + 30 * S);
    /* every answer fails: the first attempt and its 2 retries, then given up */
    ck_assert_uint_eq(F.assoc_reqs, 3);
    ck_assert_uint_eq(F.scheduled[SIM_BACKEND_ANSWER], 3);
    ck_assert_uint_eq(F.switch_failed, 1);
    cr_stats st;
    cr_ctx_get_stats(core, &st);
    ck_assert_uint_eq(st.assoc_failed, 3);
    ck_assert_uint_eq(st.assoc_retried, 2);
}
END_TEST

START_TEST(test_backend_association_succeeds)
{
    setup_with("1ms", "5ms", "1ms", "1ms", "a", "0", 2);
    cr_conn_id id = switching();
    run_until(F.now + 4 * MS);
    ck_assert_uint_eq(F.switched, 0); /* the lookup takes 5 ms */
    run_until(F.now + 2 * MS);
    ck_assert_uint_eq(F.assoc_reqs, 1);
    ck_assert_uint_eq(F.switched, 1);
    cr_conn_info info;
    ck_assert_int_eq(cr_conn_get_info(core, id, &info), 0);
    ck_assert_int_eq(info.state, CR_CONN_READY);
}
END_TEST

START_TEST(test_backend_run_emits_in_order_with_gaps)
{
    setup_with("1ms", "5ms", "10ms", "80ms", "started, thinking, done", "0", 2);
    cr_conn_id id = switching();
    run_until(F.now + 1 * S);
    uint64_t sent = F.now;
    cr_message m = {.thread = "t1", .tag = 42, .payload = "hi", .payload_len = 2};
    ck_assert_int_eq(cr_conn_message(core, sent, id, &m, NULL), 0);
    ck_assert_uint_eq(F.dispatched, 1);
    run_until(sent + 10 * S);
    ck_assert_uint_eq(F.nem, 3);
    for (uint32_t i = 0; i < 3; i++) {
        const emitted *e = &F.em[i];
        ck_assert_uint_eq(e->at, sent + 10 * MS + i * 80 * MS);
        ck_assert_int_eq(e->e.msg, 41);
        ck_assert_uint_eq(e->e.index, i);
        ck_assert_uint_eq(e->e.seq, i + 1);
        ck_assert_int_eq(e->e.rc, 0);
        ck_assert_int_eq(e->e.out, CR_OUTCOME_DELIVERED);
        ck_assert_uint_eq(e->e.len, strlen(sc->agent_events[i]));
        ck_assert_int_eq(e->e.last, i == 2);
        ck_assert_uint_eq(e->run, F.em[0].run);
    }
    ck_assert_uint_eq(F.delivered, 3);
    /* the run ended after its last event: nothing more to emit */
    ck_assert_int_eq(sim_backend_emit(bk, F.now, F.em[0].run), -2);
    ck_assert_uint_eq(F.nem, 3);
}
END_TEST

START_TEST(test_backend_http_run_and_unknown_run)
{
    setup_with("1ms", "1ms", "10ms", "1ms", "only", "0", 2);
    ck_assert_int_eq(cr_thread_add(core, 0, "u0", "t1"), 0);
    sim_backend_post(bk, 0, 7, 3, 0);
    ck_assert_int_eq(F.tm[0].kind, SIM_BACKEND_HTTP);
    ck_assert_uint_eq(F.tm[0].when, 10 * MS);
    ck_assert_uint_eq(F.tm[0].a, 7);
    ck_assert_uint_eq(F.tm[0].b, 3);
    /* Nobody is connected: the run waits for a context (exec_grace 5 s),
     * then goes, and its event reaches nobody. */
    run_until(4 * S);
    ck_assert_uint_eq(F.nem, 0);
    run_until(10 * S);
    ck_assert_uint_eq(F.nem, 1);
    ck_assert_uint_ge(F.em[0].at, 10 * MS + 5 * S);
    ck_assert_int_eq(F.em[0].e.msg, 7);
    ck_assert_int_eq(F.em[0].e.rc, 0);
    ck_assert_int_ne(F.em[0].e.out, CR_OUTCOME_DELIVERED);
    ck_assert_uint_eq(F.delivered, 0);
    ck_assert_int_eq(F.em[0].e.last, 1);
    ck_assert_int_eq(sim_backend_emit(bk, F.now, 999), -2);
}
END_TEST

static Suite *backend_suite(void)
{
    Suite *s = suite_create("backend");
    TCase *tc = tcase_create("server");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_backend_auth_latency);
    tcase_add_test(tc, test_backend_association_failure_rate);
    tcase_add_test(tc, test_backend_failed_associations_retried_then_given_up);
    tcase_add_test(tc, test_backend_association_succeeds);
    tcase_add_test(tc, test_backend_run_emits_in_order_with_gaps);
    tcase_add_test(tc, test_backend_http_run_and_unknown_run);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(backend_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
