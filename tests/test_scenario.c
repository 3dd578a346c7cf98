/*
 * test_scenario.c - the scenario loader (sim/scenario.c).
 *
 * Malformed files in tests/data/bad/ are each checked for their exact
 * message, line and column (the table below); the well-formed files in
 * tests/data/good/ are checked field by field.  Run from the repository root.
 */
#include <check.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario.h"

#define BAD_DIR  "tests/data/bad/"
#define GOOD_DIR "tests/data/good/"

/* How the expected message and column of a bad file are obtained. */
enum {
    EXACT = 0, /* msg is the whole message, col the column */
    DURATION,  /* msg + sim_duration_parse's message for `text`; col + its offset */
    DIST_DUR,  /* same with sim_dist_parse(text, duration=1) */
    PREFIX,    /* msg is how the message starts (it lists a table that may grow) */
};

typedef struct bad_case {
    const char *file; /* tests/data/bad/<file>.yaml */
    int line, col;
    const char *msg;
    int how;
    const char *text; /* DURATION, DIST_DUR: the value as written */
} bad_case;

static const bad_case bad[] = {
    {"agent_events_empty", 14, 17, "'server.agent_events' must list 1 to 32 events, got 0", 0, 0},
    {"alias", 7, 11, "YAML anchors (&up) are not supported in scenario files", 0, 0},
    {"as_on_non_new", 18, 26, "'as' names a new thread; it needs thread: new (got thread: same)", 0,
     0},
    {"bad_bool", 7, 18,
     "expected a bool for 'policy.cache_preauth' (true/false, on/off, yes/no, 1/0), got 'maybe'", 0,
     0},
    {"bad_distribution", 7, 11, "invalid distribution for 'network.uplink': ", DIST_DUR,
     "lognormal(median=20ms, p99=250)"},
    {"bad_duration", 4, 10, "invalid duration for 'horizon': ", DURATION, "10xs"},
    {"bad_event_name", 14, 33,
     "invalid event name 'Tool-Done' (use a-z and _ only, at most 31 characters)", 0, 0},
    {"bad_name", 2, 7,
     "invalid name 'Message-Before' (use a-z, 0-9 and _ only, at most 63 characters)", 0, 0},
    {"bad_profile", 6, 10, "invalid profile 'modern' (expected fixed or legacy)", 0, 0},
    {"bad_via", 17, 30, "invalid via 'tcp' (expected ws or http)", 0, 0},
    {"blank_summary", 3, 10, "'summary' must not be blank", 0, 0},
    {"client_empty", 14, 9, "'client' must have at least one step", 0, 0},
    {"clients_zero", 6, 19,
     "'clients_per_user' must be a whole number in 1..64 or a distribution, got 0", 0, 0},
    {"comments_only", 1, 1, "no YAML document (the file is blank or only comments)", 0, 0},
    {"connect_with_args", 15, 5, "step 'connect' takes no arguments (write '- connect')", 0, 0},
    {"crlf_unknown_key", 8, 3,
     "unknown key 'downlnk' in network (expected: uplink, downlink, reconnect_backoff)", 0, 0},
    {"deadline_zero", 6, 11, "'deadline' must be longer than 0", 0, 0},
    {"duplicate_key", 7, 1, "duplicate key 'users' (first at line 5)", 0, 0},
    {"empty", 1, 1, "empty file (expected a scenario mapping: version: 1, name: ...)", 0, 0},
    {"expect_negative", 20, 14, "expected an integer for 'expect.misrouted', got '-1'", 0, 0},
    {"expect_rate_range", 19, 25, "'expect.delivery_rate' must be in [0, 1], got 99", 0, 0},
    {"expect_unboundable", 21, 3,
     "'delivered' cannot be bounded in expect (use delivery_rate for what must arrive)", 0, 0},
    {"expect_unknown", 20, 3, "unknown key 'misroutd' in expect (did you mean 'misrouted'?)", 0, 0},
    {"expect_unknown_far", 21, 3,
     "unknown key 'banana' in expect (expected: delivery_rate, late, lost, misrouted, ", PREFIX, 0},
    {"first_step_not_connect", 15, 5,
     "the first step other than 'wait' must be 'connect' (got 'authenticate')", 0, 0},
    {"foreign_one_user", 17, 47,
     "thread 'foreign' probes another user's thread, but users is 1 (line 5): use users: 2 or "
     "more",
     0, 0},
    {"knob_bad_bytes", 7, 16,
     "expected a byte count for 'policy.max_payload' (an integer, optionally with KiB, MiB or "
     "GiB), got '64KB'",
     0, 0},
    {"knob_negative_count", 7, 16,
     "expected a non-negative integer for 'policy.pending_max', got '-3'", 0, 0},
    {"missing_key", 1, 1, "missing required key 'horizon'", 0, 0},
    {"missing_nested_key", 7, 3, "missing required key 'downlink' in network", 0, 0},
    {"missing_server", 1, 1, "missing required key 'server'", 0, 0},
    {"name_rebound", 18, 31, "thread name 'a' is already bound at line 17 (names must be unique)",
     0, 0},
    {"nested_unknown_key", 19, 7, "unknown key 'stpes' in repeat (expected: times, steps)", 0, 0},
    {"non_utf8", 3, 19,
     "not valid UTF-8 at byte 0xe9 (invalid trailing UTF-8 octet); save the file as UTF-8", 0, 0},
    {"not_mapping", 1, 1,
     "expected a mapping at the top level (version: 1, name: ...), got a sequence", 0, 0},
    {"probability_not_number", 19, 22,
     "expected a number in [0, 1] for 'faults.disconnect', got 'often'", 0, 0},
    {"probability_range", 20, 23, "'faults.thread_update_fail' must be in [0, 1], got 1.5", 0, 0},
    {"quoted_bad_duration", 18, 12, "invalid distribution for 'wait': ", DIST_DUR,
     "uniform(1s, 2parsecs)"},
    {"reconnect_first", 17, 15,
     "'reconnect' needs an earlier 'connect' (the first step must be 'connect')", 0, 0},
    {"repeat_times_zero", 17, 21, "'repeat.times' must be in 1..1000000, got 0", 0, 0},
    {"repeat_too_deep", 17, 221, "repeat nested too deeply (at most 8 levels)", 0, 0},
    {"repeat_without_steps", 17, 13, "missing required key 'steps' in repeat", 0, 0},
    {"seeds_range", 6, 8, "'seeds' must be in 1..1000000, got 0", 0, 0},
    {"send_missing_thread", 17, 11, "missing required key 'thread' in send", 0, 0},
    {"send_without_args", 17, 5, "step 'send' needs arguments (write 'send: {thread: new}')", 0, 0},
    {"step_two_keys", 18, 5,
     "a step mapping must have exactly one key, got 2 (one step per '- ' line)", 0, 0},
    {"switch_none", 18, 22,
     "switch needs a thread to view: new, same, foreign, sibling or a bound name (none is only for "
     "send)",
     0, 0},
    {"tag", 5, 8, "YAML tags (tag:yaml.org,2002:int) are not supported in scenario files", 0, 0},
    {"two_documents", 19, 1, "more than one YAML document (a scenario file holds exactly one)", 0,
     0},
    {"unknown_distribution", 13, 14, "invalid distribution for 'server.event_gap': ", DIST_DUR,
     "gaussian(10ms)"},
    {"unknown_key", 7, 3,
     "unknown key 'uplnk' in network (expected: uplink, downlink, reconnect_backoff)", 0, 0},
    {"unknown_knob", 6, 10, "unknown policy knob 'exec_grase' (did you mean 'exec_grace'?)", 0, 0},
    {"unknown_knob_far", 7, 3,
     "unknown policy knob 'turbo' (knobs: associate_before_execute, exec_grace, ", PREFIX, 0},
    {"unknown_step", 17, 5,
     "unknown step 'sned' (expected one of: connect, authenticate, send, switch, wait, "
     "disconnect, reconnect, close, repeat)",
     0, 0},
    {"unknown_thread_name", 17, 20, "unknown thread name 'a' (bind it with as: first)", 0, 0},
    {"unknown_top_key", 5, 1,
     "unknown key 'userz' (expected: version, name, summary, seeds, horizon, profile, policy, "
     "users, clients_per_user, deadline, network, server, faults, client, expect, drain)",
     0, 0},
    {"users_not_integer", 5, 8, "expected an integer for 'users', got 'many'", 0, 0},
    {"version_2", 1, 10, "unsupported version '2' (this ctxsim reads version: 1)", 0, 0},
    {"wait_bare_number", 18, 11, "invalid distribution for 'wait': ", DIST_DUR, "5"},
    {"wrong_type", 7, 3, "expected a mapping for 'network', got a sequence", 0, 0},
    {"yaml_syntax", 19, 1,
     "YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping at line "
     "17, column 11)",
     0, 0},
};
#define NBAD ((int)(sizeof bad / sizeof bad[0]))

static const char *const good_files[] = {"crlf_bom", "design_example", "full", "minimal"};
#define NGOOD ((int)(sizeof good_files / sizeof good_files[0]))

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int utf8_chars(const char *s, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n && s[i]; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* expected_of fills the expected message and column of a bad case. */
static void expected_of(const bad_case *b, char *msg, size_t len, int *col)
{
    sim_parse_error pe;
    sim_dist d;
    uint64_t ns;
    int rc;
    *col = b->col;
    if (b->how == EXACT || b->how == PREFIX) {
        snprintf(msg, len, "%s", b->msg);
        return;
    }
    memset(&pe, 0, sizeof pe);
    rc = b->how == DURATION ? sim_duration_parse(b->text, &ns, &pe)
                            : sim_dist_parse(b->text, 1, &d, &pe);
    ck_assert_msg(rc != 0, "'%s' should not parse", b->text);
    snprintf(msg, len, "%s%s", b->msg, pe.msg);
    *col = b->col + utf8_chars(b->text, pe.offset);
}

static void assert_msg(const bad_case *b, const char *got, const char *want)
{
    if (b->how == PREFIX)
        ck_assert_msg(strncmp(got, want, strlen(want)) == 0, "%s: '%s' does not start with '%s'",
                      b->file, got, want);
    else
        ck_assert_str_eq(got, want);
}

static sim_scenario *load_good(const char *name)
{
    char path[256];
    sim_scenario *s = NULL;
    sim_scenario_error err;
    char buf[600];
    snprintf(path, sizeof path, GOOD_DIR "%s.yaml", name);
    if (sim_scenario_load(path, &s, &err)) {
        sim_scenario_error_format(&err, buf, sizeof buf);
        ck_abort_msg("%s", buf);
    }
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->path, path);
    return s;
}

static void assert_dist_same(const sim_dist *got, const sim_dist *want)
{
    ck_assert_int_eq(got->kind, want->kind);
    ck_assert_int_eq(got->is_duration, want->is_duration);
    ck_assert(got->a == want->a);
    ck_assert(got->b == want->b);
    ck_assert_int_eq(got->n, want->n);
    for (int i = 0; i < want->n && i < SIM_DIST_EMPIRICAL_MAX; i++) {
        ck_assert(got->p[i] == want->p[i]);
        ck_assert(got->v[i] == want->v[i]);
    }
}

/* assert_dist_text: *got is what sim_dist_parse makes of `text`. */
static void assert_dist_text(const sim_dist *got, const char *text, int duration)
{
    sim_dist want;
    sim_parse_error pe;
    ck_assert_int_eq(sim_dist_parse(text, duration, &want, &pe), 0);
    assert_dist_same(got, &want);
}

static void assert_dist2(const sim_dist *d, sim_dist_kind kind, int duration, double a, double b)
{
    ck_assert_int_eq(d->kind, kind);
    ck_assert_int_eq(d->is_duration, duration);
    ck_assert_double_eq_tol(d->a, a, 1e-9 * (a < 0 ? -a : a) + 1e-12);
    ck_assert_double_eq_tol(d->b, b, 1e-9 * (b < 0 ? -b : b) + 1e-12);
}

static void assert_step(const sim_step *st, sim_step_kind kind, int line, int col)
{
    ck_assert_int_eq(st->kind, kind);
    ck_assert_int_eq(st->line, line);
    ck_assert_int_eq(st->col, col);
    if (kind != SIM_STEP_REPEAT) {
        ck_assert_ptr_null(st->steps);
        ck_assert_uint_eq(st->nsteps, 0);
    }
}

static void assert_ref(const sim_step *st, sim_ref_kind kind, int name, int as, int via_http)
{
    ck_assert_int_eq(st->ref.kind, kind);
    ck_assert_int_eq(st->ref.name, name);
    ck_assert_int_eq(st->ref.as, as);
    ck_assert_int_eq(st->via_http, via_http);
}

/* assert_expect_only: exactly the counts in ids[] are bounded, by max[]. */
static void assert_expect_only(const sim_expect *e, const int *ids, const int64_t *max, int n)
{
    for (int c = 0; c < SIM_COUNT__N; c++) {
        int64_t want = -1;
        for (int i = 0; i < n; i++)
            if (ids[i] == c)
                want = max[i];
        ck_assert_msg(e->max[c] == want, "expect.%s: %lld, want %lld", sim_count_name(c),
                      (long long)e->max[c], (long long)want);
    }
}

static void assert_default_events(const sim_scenario *s)
{
    static const char *const ev[] = {"agent_started", "agent_thinking", "tool_executing",
                                     "tool_completed", "agent_completed"};
    ck_assert_uint_eq(s->nagent_events, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_str_eq(s->agent_events[i], ev[i]);
}

/* ------------------------------------------------------------------------ */
/* malformed files                                                          */

START_TEST(test_scenario_bad_file_reports_exact_position)
{
    const bad_case *b = &bad[_i];
    char path[256], msg[512];
    sim_scenario *s = (sim_scenario *)&s; /* must be reset to NULL */
    sim_scenario_error err;
    int col;
    snprintf(path, sizeof path, BAD_DIR "%s.yaml", b->file);
    expected_of(b, msg, sizeof msg, &col);
    ck_assert_int_eq(sim_scenario_load(path, &s, &err), -1);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(err.file, path);
    assert_msg(b, err.msg, msg);
    ck_assert_msg(err.line == b->line && err.col == col, "%s: at %d:%d, want %d:%d", b->file,
                  err.line, err.col, b->line, col);
}
END_TEST

START_TEST(test_scenario_bad_string_same_as_file)
{
    const bad_case *b = &bad[_i];
    char path[256], msg[512];
    sim_scenario *s = (sim_scenario *)&s;
    sim_scenario_error err;
    size_t len;
    char *text;
    int col;
    snprintf(path, sizeof path, BAD_DIR "%s.yaml", b->file);
    text = slurp(path, &len);
    expected_of(b, msg, sizeof msg, &col);
    ck_assert_int_eq(sim_scenario_load_string("mem.yaml", text, len, &s, &err), -1);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(err.file, "mem.yaml");
    assert_msg(b, err.msg, msg);
    ck_assert_int_eq(err.line, b->line);
    ck_assert_int_eq(err.col, col);
    free(text);
}
END_TEST

/* Every file in tests/data/bad/ is in the table (no untested file). */
START_TEST(test_scenario_bad_dir_matches_table)
{
    DIR *d = opendir(BAD_DIR);
    struct dirent *e;
    int files = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        int found = 0;
        if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0)
            continue;
        files++;
        for (int i = 0; i < NBAD; i++)
            if (strlen(bad[i].file) == n - 5 && strncmp(bad[i].file, e->d_name, n - 5) == 0)
                found = 1;
        ck_assert_msg(found, "%s is not in the table", e->d_name);
    }
    closedir(d);
    ck_assert_int_eq(files, NBAD);
    ck_assert_int_ge(NBAD, 25);
}
END_TEST

START_TEST(test_scenario_missing_file_has_no_position)
{
    sim_scenario *s = (sim_scenario *)&s;
    sim_scenario_error err;
    char buf[600];
    ck_assert_int_eq(sim_scenario_load(BAD_DIR "no_such_file.yaml", &s, &err), -1);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.line, 0);
    ck_assert_int_eq(err.col, 0);
    ck_assert_str_eq(err.msg, "cannot open: No such file or directory");
    ck_assert_int_eq(sim_scenario_error_format(&err, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, BAD_DIR "no_such_file.yaml: cannot open: No such file or directory");
    /* a directory opens but cannot be read */
    ck_assert_int_eq(sim_scenario_load(BAD_DIR, &s, &err), -1);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.line, 0);
    ck_assert_msg(strncmp(err.msg, "cannot read: ", 13) == 0, "%s", err.msg);
}
END_TEST

START_TEST(test_scenario_error_format_file_line_column)
{
    sim_scenario_error err;
    sim_scenario *s = NULL;
    char buf[600], small[5];
    ck_assert_int_eq(sim_scenario_load(BAD_DIR "unknown_key.yaml", &s, &err), -1);
    ck_assert_int_eq(sim_scenario_error_format(&err, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, BAD_DIR "unknown_key.yaml:7:3: unknown key 'uplnk' in network "
                                  "(expected: uplink, downlink, reconnect_backoff)");
    /* a line without a column, then neither */
    err.col = 0;
    ck_assert_int_eq(sim_scenario_error_format(&err, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, BAD_DIR "unknown_key.yaml:7: unknown key 'uplnk' in network "
                                  "(expected: uplink, downlink, reconnect_backoff)");
    err.line = 0;
    ck_assert_int_eq(sim_scenario_error_format(&err, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, BAD_DIR "unknown_key.yaml: unknown key 'uplnk' in network "
                                  "(expected: uplink, downlink, reconnect_backoff)");
    /* truncation is reported, the output stays terminated */
    ck_assert_int_eq(sim_scenario_error_format(&err, small, sizeof small), -1);
    ck_assert_str_eq(small, "test");
    ck_assert_int_eq(sim_scenario_error_format(&err, NULL, 10), -1);
    ck_assert_int_eq(sim_scenario_error_format(NULL, buf, sizeof buf), -1);
}
END_TEST

/* A user's token quoted in a message is clipped; the message stays whole. */
START_TEST(test_scenario_long_token_clipped)
{
    char text[1024], key[301];
    sim_scenario *s = NULL;
    sim_scenario_error err;
    memset(key, 'k', 300);
    key[300] = '\0';
    snprintf(text, sizeof text, "version: 1\nnetwork: {uplink: 1ms, %s: 2}\n", key);
    ck_assert_int_eq(sim_scenario_load_string(NULL, text, strlen(text), &s, &err), -1);
    ck_assert_str_eq(err.file, "<string>");
    ck_assert_int_eq(err.line, 2);
    ck_assert_int_eq(err.col, 24);
    ck_assert_str_eq(err.msg, "unknown key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' in network "
                              "(expected: uplink, downlink, reconnect_backoff)");
}
END_TEST

/* Columns count characters, not bytes, after multi-byte UTF-8. */
START_TEST(test_scenario_column_counts_characters)
{
    const char *text = "version: 1\nname: x\nsummary: \xc3\xa9\xc3\xa9\xc3\xa9\nh\xc3\xa9: 1\n";
    sim_scenario *s = NULL;
    sim_scenario_error err;
    ck_assert_int_eq(sim_scenario_load_string("u.yaml", text, strlen(text), &s, &err), -1);
    ck_assert_int_eq(err.line, 4);
    ck_assert_int_eq(err.col, 1);
    ck_assert_msg(strstr(err.msg, "unknown key 'h\xc3\xa9'") == err.msg, "%s", err.msg);
    text = "version: 1\nname: \xc3\xa9\xc3\xa9\n";
    ck_assert_int_eq(sim_scenario_load_string("u.yaml", text, strlen(text), &s, &err), -1);
    ck_assert_int_eq(err.line, 2);
    ck_assert_int_eq(err.col, 7);
    text = "{version: 1, \xc3\xa9: 1}";
    ck_assert_int_eq(sim_scenario_load_string("u.yaml", text, strlen(text), &s, &err), -1);
    ck_assert_int_eq(err.line, 1);
    ck_assert_int_eq(err.col, 14);
    ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_scenario_null_arguments_rejected)
{
    sim_scenario *s = NULL;
    sim_scenario_error err;
    ck_assert_int_eq(sim_scenario_load_string("x", "version: 1", 10, NULL, &err), -1);
    ck_assert_str_eq(err.msg, "invalid argument");
    ck_assert_int_eq(sim_scenario_load_string("x", NULL, 3, &s, &err), -1);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(sim_scenario_load(NULL, &s, &err), -1);
    ck_assert_ptr_null(s);
    /* no error record wanted: still refused, nothing leaked */
    ck_assert_int_eq(sim_scenario_load_string("x", "- a", 3, &s, NULL), -1);
    ck_assert_ptr_null(s);
    /* an empty string is an empty file */
    ck_assert_int_eq(sim_scenario_load_string("x", NULL, 0, &s, &err), -1);
    ck_assert_str_eq(err.msg, "empty file (expected a scenario mapping: version: 1, name: ...)");
    sim_scenario_free(NULL);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* well-formed files                                                        */

/* The design contract's example scenario (docs/scenarios.md), verbatim. */
START_TEST(test_scenario_design_example_every_field)
{
    sim_scenario *s = load_good("design_example");
    static const int ids[] = {SIM_COUNT_MISROUTED, SIM_COUNT_DUPLICATED, SIM_COUNT_OUT_OF_ORDER,
                              SIM_COUNT_SILENT_LOSS};
    static const int64_t max[] = {0, 0, 0, 0};
    const sim_step *st = s->steps;

    ck_assert_str_eq(s->name, "message_before_thread");
    ck_assert_str_eq(s->summary,
                     "First message carries a thread id before the connection has context.");
    ck_assert_uint_eq(s->seeds, 200);
    ck_assert_uint_eq(s->horizon, 60 * CR_NS_PER_S);
    ck_assert_int_eq(s->profile, CR_PROFILE_FIXED);
    ck_assert_uint_eq(s->npolicy, 1);
    ck_assert_str_eq(s->policy[0].name, "exec_grace");
    ck_assert_uint_eq(s->policy[0].value, 5 * CR_NS_PER_S);
    ck_assert_int_eq(s->policy[0].line, 7);
    ck_assert_int_eq(s->policy[0].col, 10);
    ck_assert_uint_eq(s->users, 20);
    assert_dist2(&s->clients_per_user, SIM_DIST_CONST, 0, 1, 0);
    ck_assert_uint_eq(s->deadline, 5 * CR_NS_PER_S);
    ck_assert_int_eq(s->uplink.kind, SIM_DIST_LOGNORMAL);
    assert_dist_text(&s->uplink, "lognormal(median=20ms, p99=250ms)", 1);
    assert_dist_text(&s->downlink, "lognormal(median=20ms, p99=250ms)", 1);
    assert_dist2(&s->reconnect_backoff, SIM_DIST_UNIFORM, 1, 100e6, 1e9); /* the default */
    assert_dist2(&s->auth, SIM_DIST_UNIFORM, 1, 5e6, 50e6);
    assert_dist2(&s->thread_lookup, SIM_DIST_EXPONENTIAL, 1, 15e6, 0);
    assert_dist2(&s->agent_start, SIM_DIST_UNIFORM, 1, 0, 10e6);
    assert_dist2(&s->event_gap, SIM_DIST_EXPONENTIAL, 1, 80e6, 0);
    assert_default_events(s);
    ck_assert(s->thread_update_fail == 0.05);
    ck_assert(s->disconnect == 0.0);

    ck_assert_uint_eq(s->nsteps, 7);
    assert_step(&st[0], SIM_STEP_CONNECT, 24, 5);
    assert_step(&st[1], SIM_STEP_AUTHENTICATE, 25, 5);
    assert_step(&st[2], SIM_STEP_SEND, 26, 5);
    assert_ref(&st[2], SIM_REF_NEW, -1, -1, 0);
    assert_step(&st[3], SIM_STEP_WAIT, 27, 5);
    assert_dist2(&st[3].wait, SIM_DIST_EXPONENTIAL, 1, 2e9, 0);
    assert_step(&st[4], SIM_STEP_SEND, 28, 5);
    assert_ref(&st[4], SIM_REF_SAME, -1, -1, 0);
    assert_step(&st[5], SIM_STEP_WAIT, 29, 5);
    assert_dist2(&st[5].wait, SIM_DIST_CONST, 1, 5e9, 0);
    assert_step(&st[6], SIM_STEP_CLOSE, 30, 5);

    ck_assert_int_eq(s->expect.has_rate, 1);
    ck_assert(s->expect.delivery_rate == 0.99);
    assert_expect_only(&s->expect, ids, max, 4);
    ck_assert_uint_eq(s->nnames, 0);
    sim_scenario_free(s);
}
END_TEST

/* `expect: {expected: 0}` declares that no event is expected; any other
 * number is refused (delivery_rate says what must arrive). */
START_TEST(test_scenario_expect_expected_zero_declares_none)
{
    static const char base[] =
        "version: 1\nname: quiet\nsummary: nothing to expect\nhorizon: 1s\nusers: 1\n"
        "network: {uplink: 10ms, downlink: 10ms}\n"
        "server: {auth: 1ms, thread_lookup: 2ms, agent_start: 3ms, event_gap: 4ms}\n"
        "client: [connect]\n";
    char text[1024];
    sim_scenario *s = NULL;
    sim_scenario_error err;
    snprintf(text, sizeof text, "%sexpect: {expected: 0, misrouted: 0}\n", base);
    ck_assert_int_eq(sim_scenario_load_string("q.yaml", text, strlen(text), &s, &err), 0);
    ck_assert_int_eq(s->expect.max[SIM_COUNT_EXPECTED], 0);
    ck_assert_int_eq(s->expect.is_default, 0);
    ck_assert_int_eq(s->expect.has_rate, 0);
    sim_scenario_free(s);
    snprintf(text, sizeof text, "%sexpect: {expected: 5}\n", base);
    ck_assert_int_eq(sim_scenario_load_string("q.yaml", text, strlen(text), &s, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "only takes 0"));
}
END_TEST

START_TEST(test_scenario_minimal_gets_defaults)
{
    sim_scenario *s = load_good("minimal");
    ck_assert_str_eq(s->name, "minimal");
    ck_assert_str_eq(s->summary, "Only the required keys; everything else takes its default.");
    ck_assert_uint_eq(s->seeds, 100);
    ck_assert_uint_eq(s->horizon, 30 * CR_NS_PER_S);
    ck_assert_int_eq(s->profile, CR_PROFILE_FIXED);
    ck_assert_uint_eq(s->npolicy, 0);
    ck_assert_ptr_null(s->policy);
    ck_assert_uint_eq(s->users, 1);
    assert_dist2(&s->clients_per_user, SIM_DIST_CONST, 0, 1, 0);
    ck_assert_uint_eq(s->deadline, 5 * CR_NS_PER_S);
    assert_dist2(&s->uplink, SIM_DIST_CONST, 1, 10e6, 0);
    assert_dist2(&s->downlink, SIM_DIST_CONST, 1, 10e6, 0);
    assert_dist2(&s->reconnect_backoff, SIM_DIST_UNIFORM, 1, 100e6, 1e9);
    assert_dist2(&s->auth, SIM_DIST_CONST, 1, 1e6, 0);
    assert_dist2(&s->thread_lookup, SIM_DIST_CONST, 1, 2e6, 0);
    assert_dist2(&s->agent_start, SIM_DIST_CONST, 1, 3e6, 0);
    assert_dist2(&s->event_gap, SIM_DIST_CONST, 1, 4e6, 0);
    assert_default_events(s);
    ck_assert(s->thread_update_fail == 0.0);
    ck_assert(s->disconnect == 0.0);
    ck_assert_uint_eq(s->nsteps, 1);
    assert_step(&s->steps[0], SIM_STEP_CONNECT, 8, 10);
    /* no expect: the strict default, never a vacuous pass */
    ck_assert_int_eq(s->expect.is_default, 1);
    ck_assert_int_eq(s->expect.has_rate, 1);
    ck_assert(s->expect.delivery_rate == 0.99);
    static const char *const zero[] = {"misrouted",     "duplicated",        "out_of_order",
                                       "stray",         "silent_loss",       "stranded",
                                       "stuck_pending", "reordered_messages"};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        ck_assert_int_eq(s->expect.max[sim_count_lookup(zero[i])], 0);
    ck_assert_int_eq(s->expect.max[SIM_COUNT_LOST], -1);
    ck_assert_uint_eq(s->nnames, 0);
    ck_assert_ptr_null(s->names);
    sim_scenario_free(s);
}
END_TEST

START_TEST(test_scenario_full_every_feature)
{
    static const struct {
        const char *name;
        uint64_t value;
    } pol[] = {{"associate_before_execute", 1},
               {"verify_before_notify", 1},
               {"buffer_until_ready", 1},
               {"queue_until_context", 0},
               {"cache_preauth", 0},
               {"event_buffer_max", 4096},
               {"exec_grace", 250 * CR_NS_PER_MS},
               {"exec_retry_interval", 0},
               {"event_buffer_max_bytes", 2 << 20},
               {"max_payload", 64 << 10}};
    static const int ids[] = {SIM_COUNT_MISROUTED, SIM_COUNT_STRAY, SIM_COUNT_SILENT_LOSS,
                              SIM_COUNT_STUCK_PENDING};
    static const int64_t max[] = {0, 3, INT64_MAX, 0};
    sim_scenario *s = load_good("full");
    const sim_step *st = s->steps, *r, *r2;

    ck_assert_str_eq(s->name, "every_feature_2");
    ck_assert_str_eq(s->summary, "Folded summary on two lines.");
    ck_assert_uint_eq(s->seeds, 1000000);
    ck_assert_uint_eq(s->horizon, 120 * CR_NS_PER_S);
    ck_assert_int_eq(s->profile, CR_PROFILE_LEGACY);
    ck_assert_uint_eq(s->npolicy, 10);
    for (int i = 0; i < 10; i++) {
        ck_assert_str_eq(s->policy[i].name, pol[i].name);
        ck_assert_uint_eq(s->policy[i].value, pol[i].value);
        ck_assert_int_eq(s->policy[i].line, 11 + i);
        ck_assert_int_eq(s->policy[i].col, 3);
    }
    ck_assert_uint_eq(s->users, 10000000);
    assert_dist2(&s->clients_per_user, SIM_DIST_UNIFORM, 0, 1, 3);
    ck_assert_uint_eq(s->deadline, 1500 * CR_NS_PER_MS);
    assert_dist2(&s->uplink, SIM_DIST_UNIFORM, 1, 1e6, 2e6);
    assert_dist2(&s->downlink, SIM_DIST_NORMAL, 1, 100e6, 20e6);
    assert_dist2(&s->reconnect_backoff, SIM_DIST_EXPONENTIAL, 1, 1e9, 0);
    ck_assert_uint_eq(s->nagent_events, 3);
    ck_assert_str_eq(s->agent_events[0], "agent_started");
    ck_assert_str_eq(s->agent_events[1], "tool_executing");
    ck_assert_str_eq(s->agent_events[2], "agent_completed");
    assert_dist2(&s->auth, SIM_DIST_CONST, 1, 5e6, 0);
    assert_dist2(&s->thread_lookup, SIM_DIST_CONST, 1, 15e6, 0);
    ck_assert_int_eq(s->agent_start.kind, SIM_DIST_PARETO);
    assert_dist_text(&s->agent_start, "pareto(scale=10ms, shape=2.5)", 1);
    ck_assert_int_eq(s->event_gap.kind, SIM_DIST_EMPIRICAL);
    assert_dist_text(&s->event_gap, "empirical(p50=20ms, p90=80ms, p99=250ms, p100=1s)", 1);
    ck_assert(s->thread_update_fail == 1.0);
    ck_assert(s->disconnect == 0.25);

    ck_assert_uint_eq(s->nnames, 3);
    ck_assert_str_eq(s->names[0], "main");
    ck_assert_str_eq(s->names[1], "side");
    ck_assert_str_eq(s->names[2], "inner");

    ck_assert_uint_eq(s->nsteps, 14);
    assert_step(&st[0], SIM_STEP_CONNECT, 36, 5);
    assert_step(&st[1], SIM_STEP_AUTHENTICATE, 37, 5);
    assert_step(&st[2], SIM_STEP_SEND, 38, 5);
    assert_ref(&st[2], SIM_REF_NEW, -1, 0, 0);
    assert_step(&st[3], SIM_STEP_SEND, 39, 5);
    assert_ref(&st[3], SIM_REF_NEW, -1, 1, 1);
    assert_step(&st[4], SIM_STEP_SWITCH, 43, 5);
    assert_ref(&st[4], SIM_REF_NAMED, 0, -1, 0);
    assert_step(&st[5], SIM_STEP_SEND, 44, 5);
    assert_ref(&st[5], SIM_REF_NAMED, 1, -1, 0);
    assert_step(&st[6], SIM_STEP_REPEAT, 45, 5);
    ck_assert_uint_eq(st[6].times, 3);
    ck_assert_uint_eq(st[6].nsteps, 3);
    r = st[6].steps;
    assert_step(&r[0], SIM_STEP_WAIT, 48, 11);
    assert_dist2(&r[0].wait, SIM_DIST_CONST, 1, 10e6, 0);
    assert_step(&r[1], SIM_STEP_REPEAT, 49, 11);
    ck_assert_uint_eq(r[1].times, 2);
    ck_assert_uint_eq(r[1].nsteps, 2);
    r2 = r[1].steps;
    assert_step(&r2[0], SIM_STEP_SWITCH, 49, 38);
    assert_ref(&r2[0], SIM_REF_NEW, -1, 2, 0);
    assert_step(&r2[1], SIM_STEP_SEND, 49, 72);
    assert_ref(&r2[1], SIM_REF_SAME, -1, -1, 0);
    assert_step(&r[2], SIM_STEP_SEND, 50, 11);
    assert_ref(&r[2], SIM_REF_NAMED, 2, -1, 0);
    assert_step(&st[7], SIM_STEP_SEND, 51, 5);
    assert_ref(&st[7], SIM_REF_NONE, -1, -1, 0);
    assert_step(&st[8], SIM_STEP_SEND, 52, 5);
    assert_ref(&st[8], SIM_REF_FOREIGN, -1, -1, 0);
    assert_step(&st[9], SIM_STEP_SWITCH, 53, 5);
    assert_ref(&st[9], SIM_REF_FOREIGN, -1, -1, 0);
    assert_step(&st[10], SIM_STEP_DISCONNECT, 54, 5);
    assert_step(&st[11], SIM_STEP_WAIT, 55, 5);
    assert_dist2(&st[11].wait, SIM_DIST_EXPONENTIAL, 1, 2e9, 0);
    assert_step(&st[12], SIM_STEP_RECONNECT, 56, 5);
    assert_step(&st[13], SIM_STEP_CLOSE, 57, 5);

    ck_assert_int_eq(s->expect.has_rate, 1);
    ck_assert(s->expect.delivery_rate == 1.0);
    assert_expect_only(&s->expect, ids, max, 4);
    sim_scenario_free(s);
}
END_TEST

/* CRLF line ends and a UTF-8 byte order mark are accepted. */
START_TEST(test_scenario_crlf_and_bom_accepted)
{
    sim_scenario *s = load_good("crlf_bom");
    ck_assert_str_eq(s->name, "crlf_bom");
    ck_assert_str_eq(s->summary, "CRLF line ends and a UTF-8 byte order mark.");
    ck_assert_uint_eq(s->horizon, CR_NS_PER_S);
    ck_assert_uint_eq(s->users, 3);
    assert_dist2(&s->clients_per_user, SIM_DIST_CONST, 0, 2, 0);
    assert_dist2(&s->downlink, SIM_DIST_CONST, 1, 2e6, 0);
    ck_assert_uint_eq(s->nsteps, 2);
    assert_step(&s->steps[0], SIM_STEP_CONNECT, 16, 5);
    assert_step(&s->steps[1], SIM_STEP_CLOSE, 17, 5);
    sim_scenario_free(s);
}
END_TEST

/* load_string gives what load gives, the path aside. */
START_TEST(test_scenario_load_string_matches_file)
{
    char path[256];
    size_t len;
    char *text;
    sim_scenario *a, *b = NULL;
    sim_scenario_error err;
    snprintf(path, sizeof path, GOOD_DIR "%s.yaml", good_files[_i]);
    a = load_good(good_files[_i]);
    text = slurp(path, &len);
    ck_assert_int_eq(sim_scenario_load_string("inline", text, len, &b, &err), 0);
    ck_assert_str_eq(b->path, "inline");
    ck_assert_str_eq(a->name, b->name);
    ck_assert_str_eq(a->summary, b->summary);
    ck_assert_uint_eq(a->seeds, b->seeds);
    ck_assert_uint_eq(a->horizon, b->horizon);
    ck_assert_int_eq(a->profile, b->profile);
    ck_assert_uint_eq(a->npolicy, b->npolicy);
    for (size_t i = 0; i < a->npolicy; i++) {
        ck_assert_str_eq(a->policy[i].name, b->policy[i].name);
        ck_assert_uint_eq(a->policy[i].value, b->policy[i].value);
    }
    ck_assert_uint_eq(a->users, b->users);
    assert_dist_same(&a->clients_per_user, &b->clients_per_user);
    assert_dist_same(&a->uplink, &b->uplink);
    assert_dist_same(&a->event_gap, &b->event_gap);
    ck_assert_uint_eq(a->nsteps, b->nsteps);
    for (size_t i = 0; i < a->nsteps; i++) {
        ck_assert_int_eq(a->steps[i].kind, b->steps[i].kind);
        ck_assert_int_eq(a->steps[i].line, b->steps[i].line);
        ck_assert_int_eq(a->steps[i].col, b->steps[i].col);
    }
    ck_assert_uint_eq(a->nnames, b->nnames);
    ck_assert_mem_eq(a->expect.max, b->expect.max, sizeof a->expect.max);
    sim_scenario_free(a);
    sim_scenario_free(b);
    free(text);
}
END_TEST

/* sim_scenario_policy: the profile (or the override), then the file's
 * overrides, knob by knob. */
START_TEST(test_scenario_policy_profile_then_overrides)
{
    static const int profiles[] = {-1, CR_PROFILE_LEGACY, CR_PROFILE_FIXED};
    sim_scenario *s = load_good("full");
    cr_policy p, base;
    for (int k = 0; k < 3; k++) {
        cr_profile prof = profiles[k] < 0 ? s->profile : (cr_profile)profiles[k];
        ck_assert_int_eq(sim_scenario_policy(s, profiles[k], &p), 0);
        ck_assert_int_eq(cr_policy_init(&base, prof), 0);
        for (size_t i = 0; i < cr_policy_knob_count(); i++) {
            const char *name = cr_policy_knob(i)->name;
            uint64_t got, want;
            ck_assert_int_eq(cr_policy_get(&base, name, &want), 0);
            for (size_t j = 0; j < s->npolicy; j++)
                if (strcmp(s->policy[j].name, name) == 0)
                    want = s->policy[j].value;
            ck_assert_int_eq(cr_policy_get(&p, name, &got), 0);
            ck_assert_msg(got == want, "%s: %llu, want %llu", name, (unsigned long long)got,
                          (unsigned long long)want);
        }
    }
    /* the legacy profile of the file differs from fixed where not overridden */
    ck_assert_int_eq(sim_scenario_policy(s, -1, &p), 0);
    ck_assert_int_eq(cr_policy_init(&base, CR_PROFILE_FIXED), 0);
    ck_assert_uint_ne(p.pool_pending_marking, base.pool_pending_marking);
    ck_assert_int_eq(sim_scenario_policy(s, 7, &p), CR_EINVAL);
    ck_assert_int_eq(sim_scenario_policy(NULL, -1, &p), CR_EINVAL);
    sim_scenario_free(s);
}
END_TEST

/* Every value spelling the format documents for knobs, one at a time. */
START_TEST(test_scenario_policy_value_spellings)
{
    static const struct {
        const char *knob, *text;
        uint64_t want;
    } cases[] = {
        {"cache_preauth", "true", 1},
        {"cache_preauth", "false", 0},
        {"cache_preauth", "on", 1},
        {"cache_preauth", "off", 0},
        {"cache_preauth", "yes", 1},
        {"cache_preauth", "no", 0},
        {"cache_preauth", "1", 1},
        {"cache_preauth", "0", 0},
        {"cache_preauth", "True", 1},
        {"pending_max", "0", 0},
        {"pending_max", "18446744073709551615", UINT64_MAX},
        {"event_ttl", "0", 0},
        {"event_ttl", "90s", 90 * CR_NS_PER_S},
        {"event_ttl", "1m", 60 * CR_NS_PER_S},
        {"max_payload", "100", 100},
        {"max_payload", "3KiB", 3072},
        {"max_payload", "1 MiB", 1 << 20},
        {"max_payload", "2GiB", UINT64_C(2) << 30},
    };
    static const char *const rejected[][2] = {
        {"cache_preauth", "2"},
        {"cache_preauth", ""},
        {"pending_max", "1.5"},
        {"pending_max", "1e3"},
        {"pending_max", "18446744073709551616"},
        {"event_ttl", "10"},
        {"max_payload", "1KB"},
        {"max_payload", "KiB"},
        {"max_payload", "99999999999999999999 GiB"},
    };
    char text[512];
    const char *fmt = "version: 1\nname: p\nsummary: s\nhorizon: 1s\nusers: 1\n"
                      "network: {uplink: 1ms, downlink: 1ms}\n"
                      "server: {auth: 1ms, thread_lookup: 1ms, agent_start: 1ms, event_gap: 1ms}\n"
                      "client: [connect]\npolicy:\n  %s: \"%s\"\n";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sim_scenario *s = NULL;
        sim_scenario_error err;
        snprintf(text, sizeof text, fmt, cases[i].knob, cases[i].text);
        ck_assert_msg(sim_scenario_load_string("p", text, strlen(text), &s, &err) == 0, "%s: %s",
                      cases[i].text, err.msg);
        ck_assert_uint_eq(s->npolicy, 1);
        ck_assert_str_eq(s->policy[0].name, cases[i].knob);
        ck_assert_msg(s->policy[0].value == cases[i].want, "%s: %s", cases[i].knob, cases[i].text);
        ck_assert_int_eq(s->policy[0].line, 10);
        ck_assert_int_eq(s->policy[0].col, 3);
        sim_scenario_free(s);
    }
    for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
        sim_scenario *s = NULL;
        sim_scenario_error err;
        snprintf(text, sizeof text, fmt, rejected[i][0], rejected[i][1]);
        ck_assert_msg(sim_scenario_load_string("p", text, strlen(text), &s, &err) == -1, "%s",
                      rejected[i][1]);
        ck_assert_ptr_null(s);
        ck_assert_int_eq(err.line, 10);
        ck_assert_msg(strstr(err.msg, rejected[i][0]) != NULL, "%s", err.msg);
    }
}
END_TEST

/* Every prefix of a good file, and single-byte mutations of it, load or
 * fail cleanly with a position (ASan/LSan would catch leaks and overreads). */
START_TEST(test_scenario_truncations_and_mutations_fail_cleanly)
{
    static const char subst[] = {'\0', ':', '{', '-', '\xff', '\n'};
    char path[256];
    size_t len;
    char *text, *copy;
    snprintf(path, sizeof path, GOOD_DIR "%s.yaml", good_files[_i]);
    text = slurp(path, &len);
    copy = malloc(len + 1);
    ck_assert_ptr_nonnull(copy);
    for (size_t n = 0; n <= len; n++) {
        sim_scenario *s = (sim_scenario *)&s;
        sim_scenario_error err;
        /* a private copy of exactly n bytes: ASan sees any read past it */
        char *pre = malloc(n ? n : 1);
        ck_assert_ptr_nonnull(pre);
        memcpy(pre, text, n);
        if (sim_scenario_load_string("t", pre, n, &s, &err) == 0) {
            ck_assert_ptr_nonnull(s);
            sim_scenario_free(s);
        } else {
            ck_assert_ptr_null(s);
            ck_assert_int_ge(err.line, 1);
            ck_assert_int_ge(err.col, 1);
            ck_assert(err.msg[0] != '\0');
        }
        free(pre);
    }
    for (size_t i = 0; i < len; i++)
        for (size_t k = 0; k < sizeof subst; k++) {
            sim_scenario *s = NULL;
            sim_scenario_error err;
            memcpy(copy, text, len);
            copy[i] = subst[k];
            if (sim_scenario_load_string("m", copy, len, &s, &err) == 0) {
                sim_scenario_free(s);
            } else {
                ck_assert_ptr_null(s);
                ck_assert_int_ge(err.line, 1);
                ck_assert(err.msg[0] != '\0');
            }
        }
    free(copy);
    free(text);
}
END_TEST

/* Loading the same text twice gives the same scenario and the same errors. */
START_TEST(test_scenario_repeated_loads_identical)
{
    sim_scenario_error e1, e2;
    for (int i = 0; i < NBAD; i++) {
        char path[256];
        sim_scenario *s = NULL;
        snprintf(path, sizeof path, BAD_DIR "%s.yaml", bad[i].file);
        ck_assert_int_eq(sim_scenario_load(path, &s, &e1), -1);
        ck_assert_int_eq(sim_scenario_load(path, &s, &e2), -1);
        ck_assert_mem_eq(&e1, &e2, sizeof e1);
    }
}
END_TEST

/* Thousands of names bound with `as` resolve to their own index, whatever
 * the order they are referenced in. */
START_TEST(test_scenario_many_thread_names_resolve)
{
    enum { N = 3000 };
    size_t cap = 512 + (size_t)N * 80, len;
    char *text = malloc(cap);
    sim_scenario *s = NULL;
    sim_scenario_error err;
    ck_assert_ptr_nonnull(text);
    len = (size_t)snprintf(text, cap,
                           "version: 1\nname: names\nsummary: s\nhorizon: 1s\nusers: 1\n"
                           "network: {uplink: 1ms, downlink: 1ms}\n"
                           "server: {auth: 1ms, thread_lookup: 1ms, agent_start: 1ms, "
                           "event_gap: 1ms}\nclient:\n  - connect\n");
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(text + len, cap - len, "  - send: {thread: new, as: t%d}\n", i);
    for (int i = N - 1; i >= 0; i--)
        len += (size_t)snprintf(text + len, cap - len, "  - switch: {thread: t%d}\n", i);
    ck_assert_int_eq(sim_scenario_load_string("names", text, len, &s, &err), 0);
    ck_assert_uint_eq(s->nnames, N);
    ck_assert_uint_eq(s->nsteps, 1 + 2 * N);
    for (int i = 0; i < N; i++) {
        char want[16];
        snprintf(want, sizeof want, "t%d", i);
        ck_assert_str_eq(s->names[i], want);
        ck_assert_int_eq(s->steps[1 + i].ref.as, i);
        ck_assert_int_eq(s->steps[1 + N + i].ref.kind, SIM_REF_NAMED);
        ck_assert_int_eq(s->steps[1 + N + i].ref.name, N - 1 - i);
    }
    sim_scenario_free(s);
    /* the same name bound twice far apart is still caught */
    len = (size_t)snprintf(text + len, cap - len, "  - send: {thread: new, as: t1234}\n") + len;
    ck_assert_int_eq(sim_scenario_load_string("names", text, len, &s, &err), -1);
    ck_assert_int_eq(err.line, 10 + 2 * N);
    ck_assert_str_eq(err.msg, "thread name 't1234' is already bound at line 1244 (names must be "
                              "unique)");
    free(text);
}
END_TEST

/* The thread REF `sibling` (docs/scenarios.md): in send and switch, not
 * bindable with `as`, not usable as a name, and named by the kind table. */
START_TEST(test_scenario_sibling_ref)
{
    static const char head[] = "version: 1\nname: sib\nsummary: s\nhorizon: 1s\nusers: 1\n"
                               "network: {uplink: 1ms, downlink: 1ms}\n"
                               "server: {auth: 1ms, thread_lookup: 1ms, agent_start: 1ms, "
                               "event_gap: 1ms}\nclient:\n  - connect\n";
    char text[1024];
    sim_scenario *s = NULL;
    sim_scenario_error err;
    int n = snprintf(text, sizeof text, "%s%s", head,
                     "  - send: {thread: sibling}\n  - switch: {thread: sibling}\n");
    ck_assert_int_eq(sim_scenario_load_string("sib", text, (size_t)n, &s, &err), 0);
    ck_assert_int_eq(s->steps[1].ref.kind, SIM_REF_SIBLING);
    ck_assert_int_eq(s->steps[2].ref.kind, SIM_REF_SIBLING);
    ck_assert_int_eq(s->steps[1].ref.as, -1);
    sim_scenario_free(s);
    /* a reserved word: not a name for as: */
    n = snprintf(text, sizeof text, "%s%s", head, "  - send: {thread: new, as: sibling}\n");
    ck_assert_int_eq(sim_scenario_load_string("sib", text, (size_t)n, &s, &err), -1);
    ck_assert_str_eq(err.msg,
                     "'sibling' is a reserved thread reference; choose another name for as:");
    /* as: binds only a new thread */
    n = snprintf(text, sizeof text, "%s%s", head, "  - send: {thread: sibling, as: x}\n");
    ck_assert_int_eq(sim_scenario_load_string("sib", text, (size_t)n, &s, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "got thread: sibling"));
    /* the names of the kinds */
    ck_assert_str_eq(sim_ref_kind_name(SIM_REF_SIBLING), "sibling");
    ck_assert_str_eq(sim_ref_kind_name(SIM_REF_NEW), "new");
    ck_assert_str_eq(sim_ref_kind_name(SIM_REF_FOREIGN), "foreign");
    ck_assert_str_eq(sim_ref_kind_name(SIM_REF_NAMED), ""); /* a name, not a keyword */
    /* the error for a bad reference lists it */
    n = snprintf(text, sizeof text, "%s%s", head, "  - send: {thread: Bad-Ref}\n");
    ck_assert_int_eq(sim_scenario_load_string("sib", text, (size_t)n, &s, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "new, same, none, foreign, sibling"));
}
END_TEST

/* An oversized input is refused before parsing. */
START_TEST(test_scenario_oversized_input_refused)
{
    size_t len = (4u << 20) + 1;
    char *text = malloc(len);
    sim_scenario *s = (sim_scenario *)&s;
    sim_scenario_error err;
    ck_assert_ptr_nonnull(text);
    memset(text, ' ', len);
    ck_assert_int_eq(sim_scenario_load_string("big", text, len, &s, &err), -1);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.line, 0);
    ck_assert_str_eq(err.msg, "scenario too large (more than 4 MiB)");
    ck_assert_int_eq(sim_scenario_load_string("big", text, len - 1, &s, &err), -1);
    ck_assert_str_eq(err.msg, "no YAML document (the file is blank or only comments)");
    free(text);
}
END_TEST

static Suite *scenario_suite(void)
{
    Suite *s = suite_create("scenario");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_scenario_bad_file_reports_exact_position, 0, NBAD);
    tcase_add_loop_test(tc, test_scenario_bad_string_same_as_file, 0, NBAD);
    tcase_add_test(tc, test_scenario_bad_dir_matches_table);
    tcase_add_test(tc, test_scenario_missing_file_has_no_position);
    tcase_add_test(tc, test_scenario_error_format_file_line_column);
    tcase_add_test(tc, test_scenario_long_token_clipped);
    tcase_add_test(tc, test_scenario_column_counts_characters);
    tcase_add_test(tc, test_scenario_null_arguments_rejected);
    tcase_add_test(tc, test_scenario_design_example_every_field);
    tcase_add_test(tc, test_scenario_minimal_gets_defaults);
    tcase_add_test(tc, test_scenario_expect_expected_zero_declares_none);
    tcase_add_test(tc, test_scenario_full_every_feature);
    tcase_add_test(tc, test_scenario_crlf_and_bom_accepted);
    tcase_add_loop_test(tc, test_scenario_load_string_matches_file, 0, NGOOD);
    tcase_add_test(tc, test_scenario_policy_profile_then_overrides);
    tcase_add_test(tc, test_scenario_policy_value_spellings);
    tcase_add_loop_test(tc, test_scenario_truncations_and_mutations_fail_cleanly, 0, NGOOD);
    tcase_add_test(tc, test_scenario_repeated_loads_identical);
    tcase_add_test(tc, test_scenario_many_thread_names_resolve);
    tcase_add_test(tc, test_scenario_sibling_ref);
    tcase_add_test(tc, test_scenario_oversized_input_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(scenario_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
