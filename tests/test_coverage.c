/*
 * test_coverage.c - the behaviour table (sim/coverage.h) and what the world
 * records in it, the core's accounting (sim/account.h), and the CLI gate
 * `ctxsim run --coverage`.
 *
 * Each behaviour test is a pair of micro-scenarios run through the real
 * world and the real core (sim_world_run, seed 1), written by one template
 * (micro_yaml): one that exercises the behaviour, one that differs in one
 * step or knob and does not; the first must record it, the second must not.
 * Common timings: every link 10 ms, auth 5 ms, thread_lookup 5 ms,
 * agent_start 1 ms, event_gap 100 ms, events [a, b, c], one user, fixed.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "sim/account.h"
#include "sim/coverage.h"
#include "sim/scenario.h"
#include "sim/world.h"

/* ---- the template ------------------------------------------------------- */

typedef struct micro {
    const char *profile;       /* fixed */
    const char *policy;        /* absent; a flow mapping "{k: v}" */
    const char *users;         /* 1 */
    const char *tabs;          /* 1 */
    const char *auth;          /* 5ms */
    const char *thread_lookup; /* 5ms */
    const char *faults;        /* absent; "k: v" */
    const char *client[12];    /* the script, one step per string */
} micro;

static void micro_yaml(const micro *m, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(
        buf, len,
        "version: 1\nname: micro\nsummary: A coverage micro-scenario.\nseeds: 1\nhorizon: "
        "10s\ndeadline: 1s\nprofile: %s\nusers: %s\n"
        "clients_per_user: %s\n%s%s%s"
        "network:\n  uplink: 10ms\n  downlink: 10ms\n  reconnect_backoff: 50ms\n"
        "server:\n  auth: %s\n  thread_lookup: %s\n  agent_start: 1ms\n  event_gap: 100ms\n"
        "  agent_events: [a, b, c]\n%s%s%sclient:\n",
        m->profile ? m->profile : "fixed", m->users ? m->users : "1", m->tabs ? m->tabs : "1",
        m->policy ? "policy: " : "", m->policy ? m->policy : "", m->policy ? "\n" : "",
        m->auth ? m->auth : "5ms", m->thread_lookup ? m->thread_lookup : "5ms",
        m->faults ? "faults:\n  " : "", m->faults ? m->faults : "", m->faults ? "\n" : "");
    for (int i = 0; i < 12 && m->client[i] && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "  - %s\n", m->client[i]);
    ck_assert_uint_lt(o, len);
}

/* run_micro runs seed 1 of the micro-scenario into *res. */
static void run_micro(const micro *m, sim_seed_result *res)
{
    char yaml[4096];
    micro_yaml(m, yaml, sizeof yaml);
    sim_scenario *sc = NULL;
    sim_scenario_error err;
    memset(&err, 0, sizeof err);
    ck_assert_msg(sim_scenario_load_string("micro.yaml", yaml, strlen(yaml), &sc, &err) == 0,
                  "micro: %d:%d: %s\n%s", err.line, err.col, err.msg, yaml);
    cr_policy pol;
    ck_assert_int_eq(sim_scenario_policy(sc, -1, &pol), 0);
    sim_world_opts opts = {.seed = 1};
    int rc = sim_world_run(sc, &pol, &opts, res, NULL);
    sim_scenario_free(sc);
    ck_assert_msg(rc == 0, "sim_world_run: %s", res->reason);
    ck_assert_msg(res->c[SIM_COUNT_ACCOUNTING] == 0, "accounting: %s", res->accounting);
}

/* has/lacks: the pair of runs, and the behaviour they must (not) record. */
static void has_lacks(const micro *with, const micro *without, sim_behaviour b)
{
    sim_seed_result r;
    run_micro(with, &r);
    ck_assert_msg(r.coverage & SIM_COV_BIT(b), "%s not recorded", sim_behaviour_name(b));
    run_micro(without, &r);
    ck_assert_msg(!(r.coverage & SIM_COV_BIT(b)), "%s recorded without it", sim_behaviour_name(b));
}

#define OPEN "connect", "authenticate"

/* ---- the table -------------------------------------------------------- */

START_TEST(test_coverage_table_names)
{
    int required = 0;
    for (int b = 0; b < SIM_BEH__N; b++) {
        ck_assert_ptr_nonnull(sim_behaviour_name(b));
        ck_assert_ptr_nonnull(sim_behaviour_doc(b));
        ck_assert_int_eq(sim_behaviour_lookup(sim_behaviour_name(b)), b);
        required += sim_behaviour_required(b);
    }
    ck_assert_ptr_null(sim_behaviour_name(SIM_BEH__N));
    ck_assert_int_eq(sim_behaviour_lookup("no_such_behaviour"), -1);
    ck_assert_int_eq(__builtin_popcountll(sim_coverage_required()), required);
}
END_TEST

START_TEST(test_coverage_missing_lists_names)
{
    char buf[256];
    sim_coverage want = SIM_COV_BIT(SIM_BEH_TIMER_PENDING) | SIM_COV_BIT(SIM_BEH_REPLAY_GAP);
    ck_assert_int_eq(sim_coverage_missing(want, SIM_COV_BIT(SIM_BEH_REPLAY_GAP), buf, sizeof buf),
                     1);
    ck_assert_str_eq(buf, "timer_pending");
    ck_assert_int_eq(sim_coverage_missing(want, 0, buf, sizeof buf), 2);
    ck_assert_str_eq(buf, "timer_pending, replay_gap");
    ck_assert_int_eq(sim_coverage_missing(want, want, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_coverage_print_fails_on_missing)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    sim_coverage_col cols[2] = {{"a fixed", sim_coverage_required()}, {"b fixed", 0}};
    ck_assert_int_eq(sim_coverage_print(f, cols, 2), 0);
    cols[0].cov &= ~SIM_COV_BIT(SIM_BEH_SAME_THREAD_TABS);
    ck_assert_int_eq(sim_coverage_print(f, cols, 2), 1);
    rewind(f);
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "exercised by no sweep: same_thread_tabs"));
    ck_assert_ptr_nonnull(strstr(text, "  MISSING"));
}
END_TEST

/* ---- behaviours recorded by the world ------------------------------------- */

/* The pending deadline (1 s) passes on a tab that never sends: the core
 * closes it (timer, CLOSING notice, the tab sees it); closed at 0.5 s by
 * the tab itself, nothing of it. */
START_TEST(test_coverage_pending_deadline_close)
{
    micro with = {.policy = "{pending_deadline: 1s}", .client = {OPEN, "wait: 1500ms", "close"}};
    micro without = {.policy = "{pending_deadline: 1s}", .client = {OPEN, "wait: 500ms", "close"}};
    has_lacks(&with, &without, SIM_BEH_TIMER_PENDING);
    has_lacks(&with, &without, SIM_BEH_NOTICE_CLOSING);
    has_lacks(&with, &without, SIM_BEH_SERVER_CLOSE);
}
END_TEST

/* Two tabs, the second joins the first's thread (sibling): events reach
 * both; with `new` each tab has its own thread. */
START_TEST(test_coverage_same_thread_tabs)
{
    micro with = {.tabs = "2", .client = {OPEN, "send: {thread: sibling}", "wait: 1s", "close"}};
    micro without = {.tabs = "2", .client = {OPEN, "send: {thread: new}", "wait: 1s", "close"}};
    has_lacks(&with, &without, SIM_BEH_SAME_THREAD_TABS);
}
END_TEST

START_TEST(test_coverage_switch_to_bound)
{
    micro with = {.client = {OPEN, "send: {thread: new}", "wait: 500ms", "switch: {thread: same}",
                             "wait: 500ms", "close"}};
    micro without = {.client = {OPEN, "send: {thread: new}", "wait: 500ms", "switch: {thread: new}",
                                "wait: 500ms", "close"}};
    has_lacks(&with, &without, SIM_BEH_SWITCH_TO_BOUND);
}
END_TEST

/* The tab sends and switches away at once: a's events are buffered, the
 * third undelivered one over event_buffer_max 2; without the switch they
 * are delivered live. */
START_TEST(test_coverage_buffer_bound)
{
    micro with = {
        .policy = "{event_buffer_max: 2}",
        .client = {OPEN, "send: {thread: new}", "switch: {thread: new}", "wait: 1s", "close"}};
    micro without = {.policy = "{event_buffer_max: 2}",
                     .client = {OPEN, "send: {thread: new}", "wait: 1s", "close"}};
    has_lacks(&with, &without, SIM_BEH_BUFFER_FULL_COUNT);
    has_lacks(&with, &without, SIM_BEH_OUT_DROPPED_FULL);
    has_lacks(&with, &without, SIM_BEH_STALE_ANSWER);
}
END_TEST

/* Every association fails: one retry, then given up, the queued message
 * rejected; with no failures neither. */
START_TEST(test_coverage_retries_exhausted)
{
    micro with = {.policy = "{update_retries: 1, update_backoff: 10ms}",
                  .faults = "thread_update_fail: 1",
                  .client = {OPEN, "send: {thread: new}", "wait: 1s", "close"}};
    micro without = {.policy = "{update_retries: 1, update_backoff: 10ms}",
                     .client = {OPEN, "send: {thread: new}", "wait: 1s", "close"}};
    has_lacks(&with, &without, SIM_BEH_RETRIES_EXHAUSTED);
    has_lacks(&with, &without, SIM_BEH_TIMER_RETRY);
    has_lacks(&with, &without, SIM_BEH_NOTICE_REJECTED);
}
END_TEST

/* An HTTP post on a thread whose binding takes 300 ms, exec_grace 100 ms:
 * the grace ends, the run goes lost (unroutable); with a 5 ms lookup the
 * run is re-validated and goes with its context. */
START_TEST(test_coverage_grace_expired)
{
    micro with = {.policy = "{exec_grace: 100ms, exec_retry_interval: 20ms}",
                  .thread_lookup = "300ms",
                  .client = {OPEN, "switch: {thread: new, as: a}", "send: {thread: a, via: http}",
                             "wait: 1s", "close"}};
    micro without = with;
    without.thread_lookup = "5ms";
    has_lacks(&with, &without, SIM_BEH_GRACE_EXPIRED);
    has_lacks(&with, &without, SIM_BEH_OUT_UNROUTABLE);
    sim_seed_result r;
    run_micro(&without, &r);
    ck_assert(r.coverage & SIM_COV_BIT(SIM_BEH_HTTP_RUN));
}
END_TEST

/* Two messages before a slow authentication, preauth_max 1: the second is
 * refused; with one message it is only cached. */
START_TEST(test_coverage_preauth_full)
{
    micro with = {.policy = "{preauth_max: 1}",
                  .auth = "200ms",
                  .client = {"connect", "authenticate", "send: {thread: new}",
                             "send: {thread: same}", "wait: 1s", "close"}};
    micro without = {
        .policy = "{preauth_max: 1}",
        .auth = "200ms",
        .client = {"connect", "authenticate", "send: {thread: new}", "wait: 1s", "close"}};
    has_lacks(&with, &without, SIM_BEH_PREAUTH_FULL);
    sim_seed_result r;
    run_micro(&without, &r);
    ck_assert(r.coverage & SIM_COV_BIT(SIM_BEH_PREAUTH_CACHED));
}
END_TEST

START_TEST(test_coverage_foreign_refused)
{
    micro with = {
        .users = "2",
        .client = {OPEN, "send: {thread: new}", "send: {thread: foreign}", "wait: 1s", "close"}};
    micro without = {.users = "2", .client = {OPEN, "send: {thread: new}", "wait: 1s", "close"}};
    has_lacks(&with, &without, SIM_BEH_FOREIGN_REFUSED);
}
END_TEST

/* Legacy, where losses vanish uncounted: the accounting still agrees
 * (run_micro asserts accounting 0), and nothing buffered is covered. */
START_TEST(test_coverage_legacy_accounting_agrees)
{
    micro m = {.profile = "legacy",
               .tabs = "2",
               .client = {"connect", "send: {thread: new}", "authenticate", "wait: 1s", "close"}};
    sim_seed_result r;
    run_micro(&m, &r);
    ck_assert(!(r.coverage & SIM_COV_BIT(SIM_BEH_OUT_BUFFERED_DELIVERED)));
    ck_assert(!(r.coverage & SIM_COV_BIT(SIM_BEH_QUEUED)));
}
END_TEST

/* ---- the accounting comparison -------------------------------------------- */

/* A consistent account of a small history: 3 messages received (2
 * dispatched, 1 rejected), 4 events emitted (2 delivered, 1 buffered and
 * replayed, 1 pending), one connection open, one closed by the core. */
static void consistent(sim_account *a, cr_stats *st, cr_policy *p, cr_profile profile)
{
    ck_assert_int_eq(cr_policy_init(p, profile), 0);
    memset(a, 0, sizeof *a);
    memset(st, 0, sizeof *st);
    a->emitted = st->events_emitted = 4;
    a->out[CR_OUTCOME_DELIVERED] = st->outcomes[CR_OUTCOME_DELIVERED] = 2;
    a->out[CR_OUTCOME_BUFFERED_DELIVERED] = st->outcomes[CR_OUTCOME_BUFFERED_DELIVERED] = 1;
    a->pending = st->events_buffered_now = 1;
    st->buffer_events_now = 2;
    st->buffer_bytes_now = 10;
    a->received = st->messages_received = 3;
    a->dispatched = st->messages_dispatched = 2;
    a->rejected = st->messages_rejected = 1;
    a->notices = st->notices_sent = 2;
    a->runs_started = st->runs_started = 2;
    a->conns_opened = 2;
    a->conns_open = 1;
    st->conns_by_state[CR_CONN_READY] = 1;
    st->conns_by_state[CR_CONN_CLOSED] = 1;
    a->closed_by_core = st->conns_closed_pending_timeout = 1;
    a->streams = 1;
    st->bytes_in_use = 1000;
    st->bytes_peak = 2000;
}

START_TEST(test_coverage_account_agrees)
{
    sim_account a;
    cr_stats st;
    cr_policy p;
    char why[160];
    consistent(&a, &st, &p, CR_PROFILE_FIXED);
    ck_assert_int_eq(sim_account_check(&a, &st, &p, why, sizeof why), 0);
    ck_assert_str_eq(why, "");
}
END_TEST

START_TEST(test_coverage_account_disagreements)
{
    sim_account a;
    cr_stats st;
    cr_policy p;
    char why[160];
    /* Each fault alone, as the core would show it. */
    consistent(&a, &st, &p, CR_PROFILE_FIXED);
    st.messages_dispatched++; /* one dispatch the world never saw */
    ck_assert_int_eq(sim_account_check(&a, &st, &p, why, sizeof why), 1);
    ck_assert_ptr_nonnull(strstr(why, "messages_dispatched 3"));

    consistent(&a, &st, &p, CR_PROFILE_FIXED);
    st.outcomes[CR_OUTCOME_DELIVERED]++; /* a non-delivery counted as delivered */
    st.events_buffered_now--;
    ck_assert_int_eq(sim_account_check(&a, &st, &p, why, sizeof why), 1);
    ck_assert_ptr_nonnull(strstr(why, "outcomes[delivered] 3, the world saw 2"));

    consistent(&a, &st, &p, CR_PROFILE_FIXED);
    st.messages_queued_now = 1; /* a message in two places */
    ck_assert_int_eq(sim_account_check(&a, &st, &p, why, sizeof why), 1);
    ck_assert_ptr_nonnull(strstr(why, "dispatched + rejected + queued_now"));

    consistent(&a, &st, &p, CR_PROFILE_FIXED);
    st.buffer_events_now = p.event_buffer_max + 1; /* a bound ignored */
    ck_assert_int_eq(sim_account_check(&a, &st, &p, why, sizeof why), 1);
    ck_assert_ptr_nonnull(strstr(why, "buffer_events_now"));

    consistent(&a, &st, &p, CR_PROFILE_FIXED);
    st.conns_by_state[CR_CONN_READY] = 2; /* a connection the world closed */
    ck_assert_int_eq(sim_account_check(&a, &st, &p, why, sizeof why), 1);
    ck_assert_ptr_nonnull(strstr(why, "open connections"));

    consistent(&a, &st, &p, CR_PROFILE_FIXED);
    st.bytes_in_use = 5; /* below the buffered payload */
    ck_assert_int_eq(sim_account_check(&a, &st, &p, why, sizeof why), 1);
    ck_assert_ptr_nonnull(strstr(why, "bytes_in_use"));
}
END_TEST

/* report_undeliverable off: losses vanish, the core counts none of them;
 * the world may have seen them (legacy is not an accounting failure), but
 * a core that counted one anyway disagrees with the contract. */
START_TEST(test_coverage_account_legacy_contract)
{
    sim_account a;
    cr_stats st;
    cr_policy p;
    char why[160];
    consistent(&a, &st, &p, CR_PROFILE_FIXED);
    p.report_undeliverable = 0;
    a.out[CR_OUTCOME_UNROUTABLE] = 3; /* seen by the world, not counted by the core */
    a.pending = 0;
    ck_assert_int_eq(sim_account_check(&a, &st, &p, why, sizeof why), 0);
    st.outcomes[CR_OUTCOME_EXPIRED] = 1;
    ck_assert_int_eq(sim_account_check(&a, &st, &p, why, sizeof why), 1);
    ck_assert_ptr_nonnull(strstr(why, "outcomes[expired] 1, the world saw 0"));
    /* With F9 on the same count must match what the world saw. */
    p.report_undeliverable = 1;
    st.outcomes[CR_OUTCOME_EXPIRED] = 0;
    ck_assert_int_eq(sim_account_check(&a, &st, &p, why, sizeof why), 1);
    ck_assert_ptr_nonnull(strstr(why, "outcomes[unroutable] 0, the world saw 3"));
}
END_TEST

/* ---- the CLI gate ------------------------------------------------------------ */

static const char *bin(void)
{
    const char *b = getenv("CTXSIM");
    return b ? b : "build/cc-O2/ctxsim";
}

/* run_cli runs `ctxsim ARGS`, stdout into buf; returns the exit status. */
static int run_cli(char *buf, size_t len, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s 2>/dev/null </dev/null", bin(), args);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(buf, 1, len - 1, p);
    buf[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The suite (fixed profile) exercises every required behaviour: this is
 * the CI gate that fails when a behaviour stops being exercised. */
START_TEST(test_coverage_cli_suite_gate)
{
    static char out[65536];
    int rc = run_cli(out, sizeof out, "run scenarios --seeds 10 --no-db --jobs 2 --coverage");
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    ck_assert_ptr_nonnull(strstr(out, "coverage: every required behaviour"));
    ck_assert_ptr_null(strstr(out, "MISSING"));
}
END_TEST

/* One scenario alone misses behaviours: exit 1 and the list. */
START_TEST(test_coverage_cli_missing_fails)
{
    static char out[65536];
    int rc =
        run_cli(out, sizeof out, "run scenarios/pool_pending.yaml --seeds 2 --no-db --coverage");
    ck_assert_int_eq(rc, 1);
    ck_assert_ptr_nonnull(strstr(out, "coverage: FAIL"));
    ck_assert_ptr_nonnull(strstr(out, "timer_pending"));
    /* The same sweep without --coverage passes. */
    rc = run_cli(out, sizeof out, "run scenarios/pool_pending.yaml --seeds 2 --no-db");
    ck_assert_int_eq(rc, 0);
}
END_TEST

/* write_micro writes a micro-scenario to path. */
static void write_micro(const char *path, const micro *m)
{
    char yaml[4096];
    micro_yaml(m, yaml, sizeof yaml);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(yaml, f);
    fclose(f);
}

/* `ctxsim gate` fails when the run no longer exercises a behaviour its
 * baseline did: the same scenario (same key), edited so that its tab no
 * longer outlives the pending deadline. */
START_TEST(test_coverage_cli_gate_lost_behaviour)
{
    char dir[] = "/tmp/ctxsim-cov-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char yaml[256], dbp[256], args[1024];
    static char out[65536];
    snprintf(yaml, sizeof yaml, "%s/idle.yaml", dir);
    snprintf(dbp, sizeof dbp, "%s/results.db", dir);
    micro idle = {.policy = "{pending_deadline: 1s}",
                  .client = {OPEN, "wait: 1500ms", "send: {thread: new}", "wait: 1s", "close"}};
    write_micro(yaml, &idle);
    snprintf(args, sizeof args, "run %s --seeds 2 --db %s --label base", yaml, dbp);
    ck_assert_int_eq(run_cli(out, sizeof out, args), 0);
    micro busy = idle;
    busy.client[2] = "wait: 500ms";
    write_micro(yaml, &busy);
    snprintf(args, sizeof args, "run %s --seeds 2 --db %s --label now", yaml, dbp);
    ck_assert_int_eq(run_cli(out, sizeof out, args), 0);
    snprintf(args, sizeof args, "gate --db %s --run now --baseline base", dbp);
    ck_assert_int_eq(run_cli(out, sizeof out, args), 1);
    ck_assert_ptr_nonnull(strstr(out, "coverage: FAIL"));
    ck_assert_ptr_nonnull(strstr(out, "timer_pending"));
    /* the other way round nothing is lost */
    snprintf(args, sizeof args, "gate --db %s --run base --baseline now", dbp);
    ck_assert_int_eq(run_cli(out, sizeof out, args), 0);
    ck_assert_ptr_nonnull(strstr(out, "every behaviour the baseline exercised is still exercised"));
    snprintf(args, sizeof args, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

static Suite *coverage_suite(void)
{
    Suite *s = suite_create("coverage");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, test_coverage_table_names);
    tcase_add_test(tc, test_coverage_missing_lists_names);
    tcase_add_test(tc, test_coverage_print_fails_on_missing);
    suite_add_tcase(s, tc);
    tc = tcase_create("world");
    tcase_add_test(tc, test_coverage_pending_deadline_close);
    tcase_add_test(tc, test_coverage_same_thread_tabs);
    tcase_add_test(tc, test_coverage_switch_to_bound);
    tcase_add_test(tc, test_coverage_buffer_bound);
    tcase_add_test(tc, test_coverage_retries_exhausted);
    tcase_add_test(tc, test_coverage_grace_expired);
    tcase_add_test(tc, test_coverage_preauth_full);
    tcase_add_test(tc, test_coverage_foreign_refused);
    tcase_add_test(tc, test_coverage_legacy_accounting_agrees);
    suite_add_tcase(s, tc);
    tc = tcase_create("account");
    tcase_add_test(tc, test_coverage_account_agrees);
    tcase_add_test(tc, test_coverage_account_disagreements);
    tcase_add_test(tc, test_coverage_account_legacy_contract);
    suite_add_tcase(s, tc);
    tc = tcase_create("cli");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_coverage_cli_suite_gate);
    tcase_add_test(tc, test_coverage_cli_missing_fails);
    tcase_add_test(tc, test_coverage_cli_gate_lost_behaviour);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(coverage_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
