/*
 * test_oracle_truth.c - truth tables for the oracle (docs/oracle.md).
 *
 * Each test is one micro-scenario run through the real world and the real
 * core (sim_world_run, seed 1) whose every count was computed by hand from
 * the rules of docs/oracle.md, not read off the simulator.  Everything is
 * constant (no distribution draws), so the timeline can be written down:
 * the comment above each test gives it in virtual milliseconds and names
 * the rule that decides each count.  Every SIM_COUNTS entry is asserted:
 * a count not listed in a test's table must be 0.
 *
 * Every micro-scenario is written by one template, truth_yaml: a test
 * gives only its name, the keys it changes of the standard scenario below
 * and its client script (TRUTH_OPEN / TRUTH_START for the standard
 * opening); truth_yaml writes each key once, the test's value or the
 * standard one.
 *
 * Common timings (unless a test says otherwise): uplink and downlink 10 ms,
 * auth 5 ms, thread_lookup 5 ms, agent_start 1 ms, event_gap 100 ms, events
 * [a, b, c], one user, one tab; profile fixed, deadline 1 s, horizon 10 s,
 * reconnect_backoff 50 ms, no policy overrides, no faults.  Packets on one
 * channel arrive strictly one after the other (sim/net.c: +1 ns when they
 * would tie), so the steps `connect, authenticate, send` at 0 arrive at the
 * server at 10 ms, 10 ms + 1 ns and 10 ms + 2 ns.
 *
 * The standard start (fixed profile, `connect, authenticate, send: {thread:
 * new}` at 0), used by most tests:
 *   0            the tab's choice becomes t1 (its send), its link is up
 *   10.000002    the message reaches the server before authentication: the
 *                core takes it (F6 pre-auth cache, rc ok): accepted
 *   15.000001    authenticated; the message is queued (F5) and t1's
 *                association requested
 *   20.000001    association ok: the connection is READY on t1, the
 *                message dispatched (ack to the tab)
 *   21.000001    run_go; e0 emitted (T0), delivered live, arrives 31.000001
 *   121.000001   e1 (T1), arrives 131.000001
 *   221.000001   e2 (T2), arrives 231.000001
 *
 * Rule names used below (docs/oracle.md), over the watch periods [a, b)
 * of the tab for t that end after T, in order, with from = max(a, T):
 *   R1  owed at emission: the period containing T lasts the deadline:
 *       due T + D.  (An arrival at or before min(b, from + D), in any
 *       period, settles the obligation as delivered.)
 *   R2  owed on return: the tab chose t at some time <= T, left (or lost
 *       its link) before the deadline and before the event arrived; the
 *       next period that lasts D from `from` owes it, due from + D.
 *   NC  not owed: the tab never chose t before T, or it closed / left t
 *       and never came back for a full deadline.
 *   MSG owed from the message: events never emitted are owed under R1/R2
 *       with T = the time the message was accepted; a refused message owes
 *       nothing (`refused`).
 *   Causes, first that applies: client_told, core_reported,
 *       transport_lost, in_flight_at_close (both: a copy on its way while
 *       owed), never_started, core_silent.
 *   DRAIN after the horizon (or once every script finished) no new step
 *       starts; transports up deliver; runs going keep emitting; core
 *       timers run; a world gone quiet ends observation and open watch
 *       periods extend forever.
 *
 * Deliberately kept out of these tables, because the spec leaves them open:
 * a script that ends before its run started (does the run start in the
 * drain?); a `none` message sent while the tab already has a choice.  The
 * timelines are chosen so that none of these arises.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/result.h"
#include "sim/scenario.h"
#include "sim/world.h"

/* ---- the check ------------------------------------------------------------ */

/*
 * expect_counts runs `yaml` for seed 1 and compares every SIM_COUNTS entry
 * with `table`, "name=value ..." (unlisted counts must be 0).  The table
 * must name emitted, messages and runs (even when 0), and must add up:
 * lost is the sum of the six causes, expected = delivered + late + lost.
 */
static void expect_counts(const char *yaml, const char *table)
{
    sim_scenario *sc = NULL;
    sim_scenario_error err;
    memset(&err, 0, sizeof(err));
    ck_assert_msg(sim_scenario_load_string("truth.yaml", yaml, strlen(yaml), &sc, &err) == 0,
                  "scenario: %d:%d: %s", err.line, err.col, err.msg);

    uint64_t want[SIM_COUNT__N] = {0};
    int named[SIM_COUNT__N] = {0};
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", table);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        ck_assert_msg(eq != NULL, "bad table entry '%s'", tok);
        *eq = '\0';
        int id = sim_count_lookup(tok);
        ck_assert_msg(id >= 0, "unknown count '%s'", tok);
        ck_assert_msg(!named[id], "count '%s' listed twice", tok);
        named[id] = 1;
        want[id] = strtoull(eq + 1, NULL, 10);
    }
    ck_assert_msg(named[SIM_COUNT_EMITTED] && named[SIM_COUNT_MESSAGES] && named[SIM_COUNT_RUNS],
                  "the table must list emitted, messages and runs");
    uint64_t causes = 0;
    for (int k = 0; k < SIM_CAUSE__N; k++)
        causes += want[sim_cause_count(k)];
    ck_assert_msg(want[SIM_COUNT_LOST] == causes, "table: lost %llu != sum of causes %llu",
                  (unsigned long long)want[SIM_COUNT_LOST], (unsigned long long)causes);
    ck_assert_msg(want[SIM_COUNT_EXPECTED] ==
                      want[SIM_COUNT_DELIVERED] + want[SIM_COUNT_LATE] + want[SIM_COUNT_LOST],
                  "table: expected != delivered + late + lost");

    cr_policy pol;
    ck_assert_int_eq(sim_scenario_policy(sc, -1, &pol), 0);
    sim_world_opts opts = {.seed = 1};
    sim_seed_result res;
    int rc = sim_world_run(sc, &pol, &opts, &res, NULL);
    char name[SIM_NAME_MAX];
    snprintf(name, sizeof(name), "%s", sc->name);
    sim_scenario_free(sc);
    ck_assert_msg(rc == 0, "%s: sim_world_run failed: %s", name, res.reason);

    char diff[1024] = "";
    size_t used = 0;
    for (int id = 0; id < SIM_COUNT__N; id++)
        if (res.c[id] != want[id] && used < sizeof(diff))
            used += (size_t)snprintf(diff + used, sizeof(diff) - used, " %s=%llu (want %llu)",
                                     sim_count_name(id), (unsigned long long)res.c[id],
                                     (unsigned long long)want[id]);
    ck_assert_msg(diff[0] == '\0', "%s:%s", name, diff);
}

/* ---- the micro-scenarios ------------------------------------------------- */

/*
 * truth_scenario says what one micro-scenario changes of the standard one;
 * truth_yaml writes the YAML.  A field left out (NULL) takes the standard
 * value noted beside it, "" leaves the key out of the YAML (the loader's
 * default applies); `policy`, `clients_per_user` and `faults` are absent
 * unless given.  `client` is the script, one step a string (the text after
 * "- "), up to the first NULL.  Every key is written once, whatever a test
 * changes.
 */
typedef struct {
    const char *name;
    const char *horizon;           /* 10s */
    const char *profile;           /* fixed */
    const char *users;             /* 1 */
    const char *deadline;          /* 1s */
    const char *policy;            /* absent; a flow mapping, "{event_ttl: 1s}" */
    const char *clients_per_user;  /* absent */
    const char *uplink;            /* 10ms */
    const char *downlink;          /* 10ms */
    const char *reconnect_backoff; /* 50ms */
    const char *auth;              /* 5ms */
    const char *thread_lookup;     /* 5ms */
    const char *agent_start;       /* 1ms */
    const char *agent_events;      /* [a, b, c] */
    const char *event_gap;         /* 100ms */
    const char *faults;            /* absent; the line under faults:, "k: v" */
    const char *client[16];
} truth_scenario;

/* The standard client opening, and the standard start built on it. */
#define TRUTH_OPEN  "connect", "authenticate"
#define TRUTH_START TRUTH_OPEN, "send: {thread: new}"

typedef struct {
    char text[2048];
    size_t used;
} truth_buf;

static void truth_put(truth_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    b->used += (size_t)vsnprintf(b->text + b->used, sizeof(b->text) - b->used, fmt, ap);
    va_end(ap);
    ck_assert_msg(b->used < sizeof(b->text), "truth_yaml: the scenario does not fit");
}

/* `indent key: value`, value being the test's or else the standard one. */
static void truth_key(truth_buf *b, const char *indent, const char *key, const char *value,
                      const char *standard)
{
    const char *v = value ? value : standard;
    if (v == NULL || v[0] == '\0')
        return;
    truth_put(b, "%s%s: %s\n", indent, key, v);
}

/* The YAML of `t` (a static buffer: one scenario at a time). */
static const char *truth_yaml(const truth_scenario *t)
{
    static truth_buf b;
    b.used = 0;
    b.text[0] = '\0';
    truth_put(&b, "version: 1\nname: %s\nsummary: oracle truth table\nseeds: 1\n", t->name);
    truth_key(&b, "", "horizon", t->horizon, "10s");
    truth_key(&b, "", "profile", t->profile, "fixed");
    truth_key(&b, "", "users", t->users, "1");
    truth_key(&b, "", "deadline", t->deadline, "1s");
    truth_key(&b, "", "policy", t->policy, NULL);
    truth_key(&b, "", "clients_per_user", t->clients_per_user, NULL);
    truth_put(&b, "network:\n");
    truth_key(&b, "  ", "uplink", t->uplink, "10ms");
    truth_key(&b, "  ", "downlink", t->downlink, "10ms");
    truth_key(&b, "  ", "reconnect_backoff", t->reconnect_backoff, "50ms");
    truth_put(&b, "server:\n");
    truth_key(&b, "  ", "auth", t->auth, "5ms");
    truth_key(&b, "  ", "thread_lookup", t->thread_lookup, "5ms");
    truth_key(&b, "  ", "agent_start", t->agent_start, "1ms");
    truth_key(&b, "  ", "agent_events", t->agent_events, "[a, b, c]");
    truth_key(&b, "  ", "event_gap", t->event_gap, "100ms");
    if (t->faults)
        truth_put(&b, "faults:\n  %s\n", t->faults);
    truth_put(&b, "client:\n");
    for (size_t i = 0; i < sizeof(t->client) / sizeof(t->client[0]) && t->client[i]; i++)
        truth_put(&b, "  - %s\n", t->client[i]);
    return b.text;
}

/* ---- arrival: delivered, late, lost at the deadline boundary ------------ */

/*
 * Standard start, deadline 1 s, the tab closes at 2000.
 * Watch period of the tab for t1: [0, 2000) (choice t1 from the send at 0,
 * link up from connect at 0, until close).  For e0..e2 (T = 21.000001,
 * 121.000001, 221.000001): 2000 >= T + 1000, so R1: owed, due T + 1000.
 * Each arrives at T + 10 <= due: delivered 3.
 */
START_TEST(test_oracle_truth_delivered_within_deadline)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "delivered_within_deadline",
        .client = {TRUTH_START, "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=3 delivered=3 emitted=3 messages=1 runs=1");
}
END_TEST

/*
 * As above with deadline = 10 ms = the downlink delay.  R1 (watch [0,
 * 2000)), due T + 10 ms; each event arrives at exactly T + 10 ms: "at or
 * before its due time" is delivered.  delivered 3, late 0.
 */
START_TEST(test_oracle_truth_delivered_exactly_at_due)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "delivered_exactly_at_due",
        .deadline = "10ms",
        .client = {TRUTH_START, "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=3 delivered=3 emitted=3 messages=1 runs=1");
}
END_TEST

/*
 * Deadline 9.999999 ms: R1, due T + 9.999999 ms; each event arrives at
 * T + 10 ms, 1 ns after its due time: the first arrival after the due time
 * is late.  late 3.
 */
START_TEST(test_oracle_truth_late_one_ns_past_due)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "late_one_ns_past_due",
        .deadline = "9999999ns",
        .client = {TRUTH_START, "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=3 late=3 emitted=3 messages=1 runs=1");
}
END_TEST

/*
 * Deadline 5 ms (< the 10 ms downlink), event_ttl 1 s, the tab closes at
 * 126.000001 = T1 + 5 ms, exactly e1's due time.  Watch [0, 126.000001).
 *  e0: R1 (126.000001 >= 26.000001), due 26.000001, arrives 31.000001: late.
 *  e1: R1 at the boundary (b = 126.000001 >= T1 + D = 126.000001): owed,
 *      due 126.000001.  Sent live at T1, due to arrive 131.000001, still on
 *      the downlink when the tab closes (close drops it): lost.  No notice,
 *      no report; the tab closed, no drop/disconnect: in_flight_at_close.
 *  e2: emitted 221.000001 after the close, no later watch period: NC.  (It
 *      waits in t1's buffer and expires at 1221.000001 with a report.)
 */
START_TEST(test_oracle_truth_lost_close_exactly_at_due)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "lost_close_exactly_at_due",
        .deadline = "5ms",
        .policy = "{event_ttl: 1s}",
        .client = {TRUTH_START, "wait: 126000001ns", "close"},
    });
    expect_counts(yaml,
                  "expected=2 late=1 lost=1 in_flight_at_close=1 emitted=3 messages=1 runs=1");
}
END_TEST

/*
 * The same, the tab closing 1 ns earlier, at 126.000000.
 *  e0: R1, late (as above).
 *  e1: R1 fails (126 < T1 + D = 126.000001); R2: [0, 126) has b > T1 but
 *      b - T1 = 4.999999 ms < D, and there is no later period: NC.  The tab
 *      closed before the deadline: not owed.
 *  e2: NC (after the close).
 */
START_TEST(test_oracle_truth_not_owed_close_before_due)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "not_owed_close_before_due",
        .deadline = "5ms",
        .policy = "{event_ttl: 1s}",
        .client = {TRUTH_START, "wait: 126ms", "close"},
    });
    expect_counts(yaml, "expected=1 late=1 emitted=3 messages=1 runs=1");
}
END_TEST

/* ---- owed by intent: return, leaving, clicking away --------------------- */

/*
 * agent_start 200 ms so that the user leaves before any emission.
 *   0        send on t1 (named a): choice t1
 *   100      switch to t2: choice t2 (server at 110, bound to t2 at 115,
 *            THREAD_SWITCHED at the tab at 125)
 *   220.000001, 320.000001, 420.000001  e0..e2 of t1: no READY connection
 *            on t1, buffered (F4)
 *   1100     switch to a (t1): server 1110, bound at 1115, replay of e0..e2
 *            (last_seq 0), arrivals 1125 (+1 ns, +2 ns)
 *   3100     close
 * R1 fails (choice t2 at every T).  R2: the tab chose t1 at 0 <= T; the
 * periods of t1 are [0, 100) (ends before T) and [1100, 3100), 2000 >= D:
 * owed from 1100, due 2100.  Arrivals at ~1125: delivered 3.  (The replay
 * carries the new binding generation: not stray, though the display still
 * shows t2 until the notice behind them.)
 */
START_TEST(test_oracle_truth_owed_on_return_replayed)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "owed_on_return_replayed",
        .agent_start = "200ms",
        .client = {TRUTH_OPEN, "send: {thread: new, as: a}", "wait: 100ms", "switch: {thread: new}",
                   "wait: 1s", "switch: {thread: a}", "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=3 delivered=3 emitted=3 messages=1 runs=1");
}
END_TEST

/*
 * The same timeline with deadline 10 ms.  R2: [1100, 3100) is longer than
 * D; owed from 1100, due 1110.  The replay arrives at ~1125 (switch uplink
 * 10 + lookup 5 + downlink 10): late 3.  The deadline counts from the
 * return, not from the emission (which would be due at ~230).
 */
START_TEST(test_oracle_truth_late_on_return)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "late_on_return",
        .deadline = "10ms",
        .agent_start = "200ms",
        .client = {TRUTH_OPEN, "send: {thread: new, as: a}", "wait: 100ms", "switch: {thread: new}",
                   "wait: 1s", "switch: {thread: a}", "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=3 late=3 emitted=3 messages=1 runs=1");
}
END_TEST

/*
 * As owed_on_return, but the return to t1 lasts 500 ms < D = 1 s:
 *   1100 switch to a (t1), replay arrives ~1125; 1600 switch to b (t2);
 *   3600 close.
 * The periods of t1 after T: [1100, 1600), 500 < D.  The replayed events
 * arrive at ~1125, within min(1600, 1100 + D): each arrival settles its
 * obligation (rule 1 of docs/oracle.md): expected 3, delivered 3.  Had
 * they not arrived before the user left again, nothing would be owed.
 */
START_TEST(test_oracle_truth_not_owed_return_shorter_than_deadline)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "not_owed_short_return",
        .agent_start = "200ms",
        .client = {TRUTH_OPEN, "send: {thread: new, as: a}", "wait: 100ms",
                   "switch: {thread: new, as: b}", "wait: 1s", "switch: {thread: a}", "wait: 500ms",
                   "switch: {thread: b}", "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=3 delivered=3 emitted=3 messages=1 runs=1");
}
END_TEST

/*
 * Class 4 (issue 7): clicked away, display lagging; with a return.
 * agent_start 96 ms, event_gap 4 ms.
 *   0        send on t1 (named b): choice and display t1
 *   100      switch to t2: choice t2; the display stays t1 until the
 *            THREAD_SWITCHED notice arrives at 125
 *   110/115  the server takes the switch; bound to t2 at 115
 *   116.000001, 120.000001, 124.000001  e0..e2 of t1 emitted while t1 is
 *            still displayed; the core buffers them (connection on t2)
 *   2200     switch to b (t1): bound at 2215, replay, arrivals 2225
 *   4200     close
 * R1 fails: the choice at T is t2 (what the display shows does not make
 * anything owed).  R2: chose t1 at 0; periods of t1: [0, 100) ends before
 * T; [2200, 4200) >= D: owed from 2200, due 3200.  Arrivals 2225:
 * delivered 3 (owing by display would make them due at ~1.12 s: late).
 */
START_TEST(test_oracle_truth_clicked_away_owed_on_return_only)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "clicked_away_return",
        .agent_start = "96ms",
        .event_gap = "4ms",
        .client = {TRUTH_OPEN, "send: {thread: new, as: b}", "wait: 100ms", "switch: {thread: new}",
                   "wait: 2100ms", "switch: {thread: b}", "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=3 delivered=3 emitted=3 messages=1 runs=1");
}
END_TEST

/*
 * Class 4 without a return; event_ttl 2 s.  Same start: e0..e2 of t1 at
 * 116.000001, 120.000001, 124.000001 while t1 is displayed but t2 chosen.
 * The tab stays on t2 until the close at 5100.  At T + 2 s
 * (2116.000001, ...) they expire; F9 falls back to the user's READY
 * connection (this tab, on t2): 3 notifications arrive at ~2126-2134.
 * R1 fails (choice t2), R2 finds no return to t1: NC.  Nothing is owed,
 * nothing is lost.
 */
START_TEST(test_oracle_truth_clicked_away_not_owed)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "clicked_away",
        .policy = "{event_ttl: 2s}",
        .agent_start = "96ms",
        .event_gap = "4ms",
        .client = {TRUTH_OPEN, "send: {thread: new, as: b}", "wait: 100ms", "switch: {thread: new}",
                   "wait: 5s", "close"},
    });
    expect_counts(yaml, "expected=0 emitted=3 messages=1 runs=1 notifications=3");
}
END_TEST

/* ---- horizon vs TTL, drain ------------------------------------------------ */

/*
 * Class 1 (issue 7): events buffered for a thread nobody views, still
 * within event_ttl (fixed: 60 s) at the horizon (10 s).  agent_start
 * 200 ms.
 *   0 send t1; 100 switch t2 (bound 115); 220.000001, 320.000001,
 *   420.000001 e0..e2 of t1 buffered; the script waits 20 s (past the
 *   horizon): its close never starts.
 * DRAIN from 10 s: the tab's transport stays up (READY on t2); the core's
 * TTL timers run: e0..e2 expire at 60.220000001 s, 60.32, 60.42, each
 * sent as a fallback notification to the tab (3 notifications, arriving
 * 10 ms later), reported.  Drain bound: 10 s + max(event_ttl 60 s,
 * pending_deadline 30 s, exec_grace 5 s, retry backoff 1.55 s) + D 1 s =
 * 71 s > 60.43 s: nothing left buffered, stranded 0.  Then the world is
 * quiet.  The tab left t1 at 100 and never returned: NC.  No loss at all.
 */
START_TEST(test_oracle_truth_horizon_within_ttl_resolves_in_drain)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "horizon_within_ttl",
        .agent_start = "200ms",
        .client = {TRUTH_START, "wait: 100ms", "switch: {thread: new}", "wait: 20s", "close"},
    });
    expect_counts(yaml, "expected=0 emitted=3 messages=1 runs=1 notifications=3");
}
END_TEST

/*
 * DRAIN after the horizon: horizon 150 ms, standard start, the script
 * waits 5 s (its close never starts).
 *   e0 21.000001 -> 31.000001, e1 121.000001 -> 131.000001 (before the
 *   horizon); the run already going keeps emitting in the drain: e2
 *   221.000001 -> 231.000001 on the transport that is up.
 * The world then goes quiet: the watch period [0, ...) extends forever.
 * R1 for all three: delivered 3, emitted 3.
 */
START_TEST(test_oracle_truth_drain_after_horizon_keeps_emitting)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "drain_after_horizon",
        .horizon = "150ms",
        .client = {TRUTH_START, "wait: 5s", "close"},
    });
    expect_counts(yaml, "expected=3 delivered=3 emitted=3 messages=1 runs=1");
}
END_TEST

/*
 * DRAIN once every script has finished: the script is `connect,
 * authenticate, send, wait 50ms` and ends at 50 without `close`.  e1
 * (121.000001) and e2 (221.000001) are emitted after its last step by the
 * run already going, delivered at +10 ms.  The world goes quiet; the watch
 * period [0, ...) never ends: R1 for all three, delivered 3.
 */
START_TEST(test_oracle_truth_drain_script_ends_without_close)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "drain_without_close",
        .client = {TRUTH_START, "wait: 50ms"},
    });
    expect_counts(yaml, "expected=3 delivered=3 emitted=3 messages=1 runs=1");
}
END_TEST

/* ---- loss causes ------------------------------------------------------------ */

/*
 * core_reported: policy event_ttl 1 s, fallback_notify 0; agent_start
 * 200 ms.
 *   0 send t1 (a); 100 switch t2; e0..e2 at 220.000001, 320.000001,
 *   420.000001 buffered for t1; they expire at 1220.000001, 1320.000001,
 *   1420.000001, each with an `expired` report to the host (F9; no
 *   fallback); 2100 switch to a (t1), bound at 2115, nothing to replay;
 *   4100 close.
 * R2: chose t1 at 0; period [2100, 4100) >= D: owed from 2100, due 3100.
 * Never arrive: lost 3.  No notice covers them (only THREAD_SWITCHED), no
 * fallback; the core reported each: core_reported 3.
 */
START_TEST(test_oracle_truth_core_reported_expired_before_return)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "core_reported_expired",
        .policy = "{event_ttl: 1s, fallback_notify: 0}",
        .agent_start = "200ms",
        .client = {TRUTH_OPEN, "send: {thread: new, as: a}", "wait: 100ms", "switch: {thread: new}",
                   "wait: 2s", "switch: {thread: a}", "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=3 lost=3 core_reported=3 emitted=3 messages=1 runs=1");
}
END_TEST

/*
 * client_told by a fallback notification: as above with fallback_notify on
 * (fixed).  At expiry (1220.000001, ...) each event goes as a notification
 * to the user's READY connection (this tab, on t2), arriving 10 ms later:
 * notifications 3.  R2 on the return at 2100: owed, due 3100, never
 * replayed: lost 3.  A fallback notification of e reached a tab of u:
 * client_told (it comes before core_reported, the fallback report).
 */
START_TEST(test_oracle_truth_client_told_by_fallback)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "client_told_fallback",
        .policy = "{event_ttl: 1s}",
        .agent_start = "200ms",
        .client = {TRUTH_OPEN, "send: {thread: new, as: a}", "wait: 100ms", "switch: {thread: new}",
                   "wait: 2s", "switch: {thread: a}", "wait: 2s", "close"},
    });
    expect_counts(yaml,
                  "expected=3 lost=3 client_told=3 emitted=3 messages=1 runs=1 notifications=3");
}
END_TEST

/*
 * Class 2 (issue 7): head-of-line delay past the tab's close.  Downlink a
 * constant 12 s, deadline 1 s, horizon 30 s, close at 8000.
 * Server side as the standard start (the uplink is 10 ms): e0..e2
 * emitted at 21.000001, 121.000001, 221.000001 and sent live; they would
 * arrive at T + 12 s (12.021 s ...), after the close, which drops them.
 * R1: watch [0, 8000), 8000 >= T + 1000: owed, due T + 1 s.  Lost 3; no
 * notice, no report; the transport did not drop or disconnect (the tab
 * closed): in_flight_at_close 3, silent_loss 0.
 */
START_TEST(test_oracle_truth_in_flight_at_close_head_of_line)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "head_of_line_past_close",
        .horizon = "30s",
        .downlink = "12s",
        .client = {TRUTH_START, "wait: 8s", "close"},
    });
    expect_counts(yaml, "expected=3 lost=3 in_flight_at_close=3 emitted=3 messages=1 runs=1");
}
END_TEST

/*
 * Class 3 (issue 7): sent into a transport that had just died; the
 * re-association fails until the core gives up and says SWITCH_FAILED.
 * policy update_retries 2 (update_backoff 50 ms, doubled), faults
 * thread_update_fail 0.75, reconnect_backoff 20 ms, deadline 50 ms.
 * The fault stream of seed 1, tab 0, draws 0.2888, 0.7695, 0.7063, 0.5391,
 * 0.0656: an attempt fails when its draw is < 0.75.
 *   15.000001 association #1 (0.2888): fails at 20.000001
 *   70.000001 retry (0.7695): ok at 75.000001: READY, dispatch
 *   76.000001 run_go, e0 (arrives 86.000001)
 *   170      the tab's transport drops (disconnect); the server learns at 180
 *   176.000001 e1 delivered live into the dead connection (6 ms after the
 *            drop): lost with it
 *   190      reconnect: new connection, link up; server open 200, auth
 *            205, association (0.7063) fails 210, retry 260 (0.5391) fails
 *            265, retry 365 (0.0656) fails 370: retries exhausted, error
 *            report, SWITCH_FAILED for t1, at the tab at 380
 *   276.000001 e2: no READY connection: buffered (expires in the drain at
 *            60.276 s with a report: stranded 0)
 *   2190     close
 * e0: R1 ([0, 170) covers [76, 126]): delivered.
 * e1: the link is down at T1: R2: period [190, 2190) >= D: owed from 190,
 *     due 240; lost.  SWITCH_FAILED for t1 reached the tab at 380 >= T1:
 *     client_told.
 * e2: R1 ([190, 2190) covers [276, 326]): due 326.000001; lost;
 *     SWITCH_FAILED at 380 >= T2: client_told.
 * Never core_silent.
 */
START_TEST(test_oracle_truth_client_told_sent_into_dead_transport)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "sent_into_dead_transport",
        .deadline = "50ms",
        .policy = "{update_retries: 2}",
        .reconnect_backoff = "20ms",
        .faults = "thread_update_fail: 0.75",
        .client = {TRUTH_START, "wait: 170ms", "disconnect", "reconnect", "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=3 delivered=1 lost=2 client_told=2 emitted=3 messages=1 runs=1");
}
END_TEST

/*
 * Not transport_lost but core_silent: the core sends e1 into a dead
 * transport and no replay brings it back although the tab comes back: the
 * only copy died before the obligation began (the return), the core did
 * not send it again and, with F9's reports off, said nothing.  policy event_ttl 200 ms,
 * report_undeliverable 0 (so the replay gap is not reported); events
 * [a, b]; reconnect_backoff 500 ms; deadline 50 ms.
 *   e0 21.000001 -> 31.000001
 *   115      disconnect (server learns at 125)
 *   121.000001 e1 sent live into the dead connection; kept as history
 *            until 321.000001 (ttl), then pruned without a report
 *   615      reconnect (link up); bound at 635: replay from last_seq 1
 *            finds nothing, no gap report (F9 off)
 *   2615     close
 * e0: R1 ([0, 115) covers [21, 71]): delivered.
 * e1: link down at T1: R2: [615, 2615) >= D: owed from 615, due 665;
 *     lost.  No notice, no report; the copy died at 115, before the
 *     obligation began at 615, and nothing was sent again: core_silent.
 */
START_TEST(test_oracle_truth_transport_lost_not_replayed)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "transport_lost",
        .deadline = "50ms",
        .policy = "{event_ttl: 200ms, report_undeliverable: 0}",
        .reconnect_backoff = "500ms",
        .agent_events = "[a, b]",
        .client = {TRUTH_START, "wait: 115ms", "disconnect", "reconnect", "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=2 delivered=1 lost=1 silent_loss=1 emitted=2 messages=1 runs=1");
}
END_TEST

/*
 * transport_lost: a copy on its way while the event is owed dies with the
 * transport.  downlink 100 ms, deadline 50 ms, events [a].
 *   10.000002  message at the server; 11.000002 run_go, e0 emitted and
 *              sent (the connection is READY), due to arrive 111.000002
 *   80         disconnect: the copy dies with the transport
 *   close at 80 + backoff ... (reconnect never: the tab closes at 90)
 * e0: period [~0, 80) covers [11, 61]: owed, due 61; the copy was on its
 * way from 11 and died at 80 >= 11: transport_lost.
 */
START_TEST(test_oracle_truth_transport_lost_in_flight)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "transport_lost_in_flight",
        .deadline = "50ms",
        .uplink = "1ms",
        .downlink = "100ms",
        .reconnect_backoff = "",
        .auth = "1ms",
        .thread_lookup = "1ms",
        .agent_events = "[a]",
        .client = {TRUTH_START, "wait: 80ms", "disconnect", "wait: 10ms", "close"},
    });
    expect_counts(yaml, "expected=1 lost=1 transport_lost=1 emitted=1 messages=1 runs=1");
}
END_TEST

/*
 * Reconnect within the deadline: replayed.  reconnect_backoff 50 ms,
 * deadline 50 ms.
 *   e0 21.000001 -> 31.000001 (last_seq 1)
 *   100      disconnect (server learns at 110)
 *   121.000001 e1: no READY connection: buffered
 *   150      reconnect; open 160, auth 165, bound 170: replay of e1
 *            (seq 2 > last_seq 1) -> 180
 *   221.000001 e2 live -> 231.000001
 *   2150     close
 * e0: R1 ([0, 100) covers [21, 71]): delivered.  e1: link down at T1: R2:
 * [150, 2150): owed from 150, due 200; arrives 180: delivered.  e2: R1,
 * delivered.  e0 is not replayed again: duplicated 0.
 */
START_TEST(test_oracle_truth_reconnect_within_deadline_replayed)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "reconnect_replayed",
        .deadline = "50ms",
        .client = {TRUTH_START, "wait: 100ms", "disconnect", "reconnect", "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=3 delivered=3 emitted=3 messages=1 runs=1");
}
END_TEST

/*
 * never_started: policy update_retries 0 (a failed association is neither
 * retried nor reported), pending_deadline 0 (never closed); faults
 * thread_update_fail 1.0.  The script ends at 2000 without close.
 *   10.000002 the message is taken (pre-auth cache): accepted
 *   15.000001 queued, association requested; fails at 20.000001; nothing
 *            else ever happens: the run never starts, no event is emitted
 * MSG: the message owes its 3 events to the sending tab with T =
 * 10.000002; R1 (watch [0, ...), the world goes quiet: forever): owed,
 * due T + 1 s.  Lost 3: no notice, no report, never emitted:
 * never_started 3.  The connection stays open, given t1, never READY:
 * stuck_pending 1 (the policy switched F8's retries off).  runs 0.
 */
START_TEST(test_oracle_truth_never_started_run)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "never_started",
        .policy = "{update_retries: 0, pending_deadline: 0}",
        .faults = "thread_update_fail: 1.0",
        .client = {TRUTH_START, "wait: 2s"},
    });
    expect_counts(yaml,
                  "expected=3 lost=3 never_started=3 stuck_pending=1 emitted=0 messages=1 runs=0");
}
END_TEST

/* ---- refused messages, `none`, message order ------------------------------ */

/*
 * Two users (u0, u1), each one tab, both with a thread "t1" (the routing
 * key is (user, thread)).  Standard start for each: 3 events each, R1
 * (watch [0, 3000)), delivered: 6.  At 1000 each sends to a thread of the
 * other user: refused on arrival at 1010 (CR_EFOREIGN returned,
 * MESSAGE_REJECTED): MSG, owes nothing, refused 2; a foreign send is not
 * a choice (the tabs stay on their t1).  misrouted 0.
 */
START_TEST(test_oracle_truth_refused_foreign_thread)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "refused_foreign",
        .users = "2",
        .client = {TRUTH_START, "wait: 1s", "send: {thread: foreign}", "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=6 delivered=6 emitted=6 messages=4 runs=2 refused=2");
}
END_TEST

/*
 * Full queue: policy pending_max 1.  Authenticated at 15.000001; two sends
 * at 50, at the server at 60 and 60.000001.  The first names t1: its
 * association is requested, it is queued (0 < 1).  The second (t1, not
 * READY yet) finds the queue full: refused on arrival (CR_EFULL returned):
 * owes nothing, refused 1.  Bound at 65: the first is dispatched, run_go
 * 66: e0..e2 at 66, 166, 266, arrivals +10.  R1 (watch [50, 2050)):
 * delivered 3.
 */
START_TEST(test_oracle_truth_refused_queue_full)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "refused_queue_full",
        .policy = "{pending_max: 1}",
        .client = {TRUTH_OPEN, "wait: 50ms", "send: {thread: new}", "send: {thread: same}",
                   "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=3 delivered=3 emitted=3 messages=2 runs=1 refused=1");
}
END_TEST

/*
 * `send: {thread: none}` takes the thread the tab chooses next.
 *   0    send none (accepted at 10.000002, queued: no thread yet)
 *   100  switch to a new thread t1: the tab's choice is t1, so the message
 *        is t1's; server 110, bound 115, the message dispatched on t1,
 *        THREAD_SWITCHED at the tab at 125
 *   ~116, ~216, ~316  e0..e2 of t1, arrivals +10
 *   2100 close
 * R1 (watch [100, 2100) for t1) for all three, including e0 emitted
 * before the display confirmed t1: delivered 3.
 */
START_TEST(test_oracle_truth_none_message_takes_next_choice)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "none_message",
        .client = {TRUTH_OPEN, "send: {thread: none}", "wait: 100ms", "switch: {thread: new}",
                   "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=3 delivered=3 emitted=3 messages=1 runs=1");
}
END_TEST

/*
 * Two messages of one tab queued until context, dispatched in order.
 * Events [a, b].  Both reach the server at 10.000002 and 10.000003
 * (pre-auth cache), are queued at auth, dispatched in send order when t1
 * binds at 20.000001: reordered_messages 0.  Two runs: e at 21.000001 and
 * 121.000001 each, arrivals +10.  R1 (watch [0, 2000)): delivered 4.
 */
START_TEST(test_oracle_truth_two_messages_dispatched_in_order)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "two_messages_in_order",
        .agent_events = "[a, b]",
        .client = {TRUTH_START, "send: {thread: same}", "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=4 delivered=4 emitted=4 messages=2 runs=2");
}
END_TEST

/* ---- tabs and users ----------------------------------------------------------- */

/*
 * One user, two tabs (clients_per_user 2) running the same script: tab 0
 * sends on a fresh thread t1, tab 1 on a fresh thread t2 (`new` is per
 * tab).  Each tab: standard start, R1 for its own 3 events, delivered.
 * Tab 1 never chose t1 (and tab 0 never chose t2): NC, although both tabs
 * belong to the user and are open: expected 6, not 12.
 */
START_TEST(test_oracle_truth_not_owed_to_tab_that_never_chose)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "two_tabs_two_threads",
        .clients_per_user = "2",
        .client = {TRUTH_START, "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=6 delivered=6 emitted=6 messages=2 runs=2");
}
END_TEST

/* ---- legacy: silent losses -------------------------------------------------- */

/*
 * Legacy (every fix off), F1/F2/F4: the run starts before the connection
 * is READY and loses its context.
 *   15.000001 authenticated (nothing queued)
 *   50   send t1: choice t1; at the server at 60: F1 off, dispatched at
 *        once on (u0, t1), association only at run_go
 *   61   run_go: exec_grace 0, t1's context not established: the run
 *        goes without context; its association lands at 66, too late
 *   61, 161, 261  e0..e2: unroutable, F4 off (no buffer), F9 off (no
 *        report): never sent to anyone
 *   2050 close
 * R1 (watch [50, 2050)): owed 3, lost 3.  No notice, no report, never
 * sent, emitted: core_silent 3 = silent_loss.
 */
START_TEST(test_oracle_truth_legacy_run_before_ready_silent)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "legacy_run_before_ready",
        .profile = "legacy",
        .client = {TRUTH_OPEN, "wait: 50ms", "send: {thread: new}", "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=3 lost=3 silent_loss=3 emitted=3 messages=1 runs=1");
}
END_TEST

/*
 * Legacy F6: the message reaches the server (10.000002) before the auth
 * answer (15.000001); without the pre-auth cache it is dispatched with no
 * context at all; run_go at 11.000002, e0..e2 at 11.000002, 111.000002,
 * 211.000002 unroutable and never reported.  R1 (watch [0, 2000) for t1,
 * the tab's send): owed 3, lost 3, core_silent 3.
 */
START_TEST(test_oracle_truth_legacy_message_before_auth_silent)
{
    const char *yaml = truth_yaml(&(truth_scenario){
        .name = "legacy_message_before_auth",
        .profile = "legacy",
        .client = {TRUTH_START, "wait: 2s", "close"},
    });
    expect_counts(yaml, "expected=3 lost=3 silent_loss=3 emitted=3 messages=1 runs=1");
}
END_TEST

static Suite *oracle_truth_suite(void)
{
    Suite *s = suite_create("oracle_truth");
    TCase *tc = tcase_create("truth");
    tcase_add_test(tc, test_oracle_truth_delivered_within_deadline);
    tcase_add_test(tc, test_oracle_truth_delivered_exactly_at_due);
    tcase_add_test(tc, test_oracle_truth_late_one_ns_past_due);
    tcase_add_test(tc, test_oracle_truth_lost_close_exactly_at_due);
    tcase_add_test(tc, test_oracle_truth_not_owed_close_before_due);
    tcase_add_test(tc, test_oracle_truth_owed_on_return_replayed);
    tcase_add_test(tc, test_oracle_truth_late_on_return);
    tcase_add_test(tc, test_oracle_truth_not_owed_return_shorter_than_deadline);
    tcase_add_test(tc, test_oracle_truth_clicked_away_owed_on_return_only);
    tcase_add_test(tc, test_oracle_truth_clicked_away_not_owed);
    tcase_add_test(tc, test_oracle_truth_horizon_within_ttl_resolves_in_drain);
    tcase_add_test(tc, test_oracle_truth_drain_after_horizon_keeps_emitting);
    tcase_add_test(tc, test_oracle_truth_drain_script_ends_without_close);
    tcase_add_test(tc, test_oracle_truth_core_reported_expired_before_return);
    tcase_add_test(tc, test_oracle_truth_client_told_by_fallback);
    tcase_add_test(tc, test_oracle_truth_in_flight_at_close_head_of_line);
    tcase_add_test(tc, test_oracle_truth_client_told_sent_into_dead_transport);
    tcase_add_test(tc, test_oracle_truth_transport_lost_not_replayed);
    tcase_add_test(tc, test_oracle_truth_transport_lost_in_flight);
    tcase_add_test(tc, test_oracle_truth_reconnect_within_deadline_replayed);
    tcase_add_test(tc, test_oracle_truth_never_started_run);
    tcase_add_test(tc, test_oracle_truth_refused_foreign_thread);
    tcase_add_test(tc, test_oracle_truth_refused_queue_full);
    tcase_add_test(tc, test_oracle_truth_none_message_takes_next_choice);
    tcase_add_test(tc, test_oracle_truth_two_messages_dispatched_in_order);
    tcase_add_test(tc, test_oracle_truth_not_owed_to_tab_that_never_chose);
    tcase_add_test(tc, test_oracle_truth_legacy_run_before_ready_silent);
    tcase_add_test(tc, test_oracle_truth_legacy_message_before_auth_silent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(oracle_truth_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
