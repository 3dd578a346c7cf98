/*
 * test_cli.c - end-to-end tests of the ctxsim command (the binary named by
 * $CTXSIM): exit codes, errors, replay lines that reproduce, determinism
 * across runs and workers, traces, and a sweep killed mid-way.
 */
#include <check.h>
#include <jansson.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *bin(void)
{
    const char *b = getenv("CTXSIM");
    return b ? b : "build/cc-O2/ctxsim";
}

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ctxsim-cli-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* run executes `ctxsim ARGS` with stdout and stderr captured into malloc'd
 * strings; returns the exit status. */
static int run(char **out, char **err, const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "%s %s >%s/out.txt 2>%s/err.txt </dev/null", bin(), args, tmpdir,
             tmpdir);
    int st = system(cmd);
    ck_assert_int_ne(st, -1);
    const char *names[2] = {"out.txt", "err.txt"};
    char **dst[2] = {out, err};
    for (int i = 0; i < 2; i++) {
        if (!dst[i])
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        FILE *f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        *dst[i] = calloc((size_t)n + 1, 1);
        ck_assert_uint_eq(fread(*dst[i], 1, (size_t)n, f), (size_t)n);
        fclose(f);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_cli_help_for_every_command)
{
    static const char *const cmds[] = {"run",  "replay", "validate", "list",  "report",
                                       "gate", "merge",  "explore",  "shrink"};
    char *out, *err;
    ck_assert_int_eq(run(&out, &err, "--help"), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: ctxsim COMMAND"));
    free(out);
    free(err);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        ck_assert_int_eq(run(&out, &err, "%s --help", cmds[i]), 0);
        ck_assert_msg(strstr(out, "usage: ctxsim") != NULL, "%s --help: %s", cmds[i], out);
        free(out);
        free(err);
    }
    ck_assert_int_eq(run(&out, &err, "frobnicate"), 2);
    ck_assert_ptr_nonnull(strstr(err, "unknown command 'frobnicate'"));
    free(out);
    free(err);
}
END_TEST

START_TEST(test_cli_bad_scenario_exit_2_nothing_recorded)
{
    write_file("bad.yaml", "version: 1\nname: bad\nsummary: x\nhorizon: 5q\nusers: 1\n");
    char *out, *err;
    char db[512];
    snprintf(db, sizeof(db), "%s/r.db", tmpdir);
    ck_assert_int_eq(run(&out, &err, "run %s/bad.yaml --db %s", tmpdir, db), 2);
    ck_assert_msg(strstr(err, "bad.yaml:4:11:") != NULL, "stderr: %s", err);
    struct stat st;
    ck_assert_int_ne(stat(db, &st), 0); /* nothing written */
    free(out);
    free(err);
    ck_assert_int_eq(
        run(&out, &err, "validate %s/bad.yaml scenarios/message_before_thread.yaml", tmpdir), 2);
    ck_assert_ptr_nonnull(strstr(out, "message_before_thread.yaml: ok"));
    ck_assert_ptr_nonnull(strstr(err, "bad.yaml:4:11:"));
    free(out);
    free(err);
}
END_TEST

START_TEST(test_cli_bad_options_exit_2)
{
    char *out, *err;
    ck_assert_int_eq(run(&out, &err, "run --no-db --policy no_such_knob=1"), 2);
    ck_assert_ptr_nonnull(strstr(err, "unknown knob 'no_such_knob'"));
    free(out);
    free(err);
    ck_assert_int_eq(run(&out, &err, "run --no-db --shard 3/2"), 2);
    ck_assert_ptr_nonnull(strstr(err, "--shard expects K/N"));
    free(out);
    free(err);
    ck_assert_int_eq(run(&out, &err, "run --no-db --bogus"), 2);
    free(out);
    free(err);
    ck_assert_int_eq(run(&out, &err, "replay scenarios/message_before_thread.yaml"), 2);
    ck_assert_ptr_nonnull(strstr(err, "--seed"));
    free(out);
    free(err);
}
END_TEST

START_TEST(test_cli_run_passes_and_records)
{
    char *out, *err;
    ck_assert_int_eq(run(&out, &err,
                         "run scenarios/message_before_thread.yaml --seeds 5 --db %s/r.db "
                         "--label t1",
                         tmpdir),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "message_before_thread"));
    ck_assert_ptr_nonnull(strstr(out, "PASS"));
    ck_assert_ptr_nonnull(strstr(out, "recorded as run 1"));
    free(out);
    free(err);
    sqlite3 *db;
    char path[512];
    snprintf(path, sizeof(path), "%s/r.db", tmpdir);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "select r.status, r.label, count(s.id) from runs r join "
                                        "scenario_results sr on sr.run_id = r.id join "
                                        "seed_results s on s.scenario_result_id = sr.id",
                                        -1, &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "complete");
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 1), "t1");
    ck_assert_int_eq(sqlite3_column_int(st, 2), 5);
    sqlite3_finalize(st);
    sqlite3_close(db);
}
END_TEST

/* hashes parses `--format json` output into "scenario profile seed hash"
 * lines. */
static char *hashes(const char *json)
{
    json_error_t je;
    json_t *root = json_loads(json, 0, &je);
    ck_assert_msg(root != NULL, "bad json: %s", je.text);
    size_t cap = 1 << 16, n = 0;
    char *s = calloc(cap, 1);
    size_t i, j;
    json_t *r, *h;
    json_array_foreach(root, i, r)
    {
        json_array_foreach(json_object_get(r, "seed_hashes"), j, h)
        {
            n += (size_t)snprintf(s + n, cap - n, "%s %s %lld %s\n",
                                  json_string_value(json_object_get(r, "scenario")),
                                  json_string_value(json_object_get(r, "profile")),
                                  (long long)json_integer_value(json_object_get(h, "seed")),
                                  json_string_value(json_object_get(h, "trace_hash")));
        }
    }
    json_decref(root);
    return s;
}

START_TEST(test_cli_jobs_and_reruns_identical)
{
    char *o1, *o2, *o3, *e;
    const char *args =
        "run scenarios/rapid_thread_switching.yaml scenarios/disconnect_reconnect.yaml "
        "--seeds 6 --no-db --profile fixed,legacy --format json";
    int rc1 = run(&o1, &e, "%s --jobs 1", args);
    free(e);
    int rc2 = run(&o2, &e, "%s --jobs 2", args);
    free(e);
    int rc3 = run(&o3, &e, "%s --jobs 3", args);
    free(e);
    ck_assert_int_eq(rc1, rc2);
    ck_assert_int_eq(rc1, rc3);
    char *h1 = hashes(o1), *h2 = hashes(o2), *h3 = hashes(o3);
    ck_assert_uint_gt(strlen(h1), 100);
    ck_assert_str_eq(h1, h2);
    ck_assert_str_eq(h1, h3);
    free(h1);
    free(h2);
    free(h3);
    free(o1);
    free(o2);
    free(o3);
}
END_TEST

START_TEST(test_cli_failing_seed_replay_line_reproduces)
{
    char *out, *err;
    /* legacy misses this scenario's expect: every failing seed prints the
     * replay line */
    ck_assert_int_eq(run(&out, &err,
                         "run scenarios/message_before_thread.yaml --seeds 3 --profile legacy "
                         "--no-db"),
                     1);
    /* the line names the binary as invoked (it holds a '/') */
    char want_line[512];
    snprintf(want_line, sizeof want_line,
             "replay: %s replay scenarios/message_before_thread.yaml --seed 1 --profile legacy",
             bin());
    ck_assert_msg(strstr(out, want_line) != NULL, "%s", out);
    char *j, *e;
    ck_assert_int_eq(run(&j, &e,
                         "run scenarios/message_before_thread.yaml --seeds 3 --profile legacy "
                         "--no-db --format json"),
                     1);
    char *h = hashes(j);
    char want[64];
    const char *p = strstr(h, "message_before_thread legacy 1 ");
    ck_assert_ptr_nonnull(p);
    snprintf(want, sizeof(want), "trace hash %.16s", p + strlen("message_before_thread legacy 1 "));
    free(e);
    char *r1, *r2;
    ck_assert_int_eq(
        run(&r1, &e, "replay scenarios/message_before_thread.yaml --seed 1 --profile legacy"), 1);
    free(e);
    ck_assert_int_eq(
        run(&r2, &e, "replay scenarios/message_before_thread.yaml --seed 1 --profile legacy"), 1);
    free(e);
    ck_assert_msg(strstr(r1, want) != NULL, "replay lacks '%s'", want);
    ck_assert_str_eq(r1, r2);
    /* verdicts in the timeline: on the emit lines and in the summary */
    ck_assert_ptr_nonnull(strstr(r1, " => u17.0 LOST (core_silent)"));
    ck_assert_ptr_nonnull(strstr(r1, "\nverdicts (docs/oracle.md): "));
    ck_assert_ptr_nonnull(strstr(r1, "verdict: FAIL"));
    free(r1);
    free(r2);
    free(h);
    free(j);
    free(out);
    free(err);
}
END_TEST

START_TEST(test_cli_replay_writes_perfetto_json)
{
    char *out, *err;
    ck_assert_int_eq(run(&out, &err,
                         "replay scenarios/agent_before_ready.yaml --seed 2 --trace %s/t.json "
                         "--timeline %s/t.txt",
                         tmpdir, tmpdir),
                     0);
    char path[512];
    snprintf(path, sizeof(path), "%s/t.json", tmpdir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    ck_assert_msg(root != NULL, "%s", je.text);
    json_t *ev = json_object_get(root, "traceEvents");
    ck_assert(json_is_array(ev));
    ck_assert_uint_gt(json_array_size(ev), 100);
    json_decref(root);
    ck_assert_ptr_nonnull(strstr(out, "verdict: PASS"));
    free(out);
    free(err);
}
END_TEST

START_TEST(test_cli_check_determinism)
{
    char *out, *err;
    ck_assert_int_eq(run(&out, &err,
                         "run scenarios/production_mix.yaml scenarios/pool_pending.yaml "
                         "--seeds 3 --check-determinism --profile fixed,legacy"),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "every trace identical on rerun"));
    free(out);
    free(err);
}
END_TEST

/* kill_after_first_scenario starts a sweep recording into db, reads its
 * stdout until the first scenario's line (printed after its transaction
 * committed), then sends `sig`.  Its stderr goes to db + ".err" (asserted
 * by the caller, not left on the terminal of `make test`).  Returns the exit
 * status. */
static int kill_after_first_scenario(const char *db, int sig)
{
    int p[2];
    char errpath[600];
    snprintf(errpath, sizeof errpath, "%s.err", db);
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (e >= 0)
            dup2(e, 2);
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execl(bin(), "ctxsim", "run", "scenarios", "--profile", "fixed,legacy", "--db", db,
              (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    char line[4096];
    int lines = 0;
    while (fgets(line, sizeof(line), f))
        if (++lines == 3) /* header, then the first scenario's two profiles */
            break;
    ck_assert_int_eq(kill(pid, sig), 0);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void check_db_after_kill(const char *db, const char *status)
{
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(h, "pragma integrity_check", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    ck_assert_int_eq(sqlite3_prepare_v2(h, "select status from runs", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), status);
    sqlite3_finalize(st);
    /* every recorded scenario is whole: as many seed rows as seeds */
    ck_assert_int_eq(sqlite3_prepare_v2(h,
                                        "select sr.seeds, (select count(*) from seed_results s "
                                        "where s.scenario_result_id = sr.id) from "
                                        "scenario_results sr",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        ck_assert_int_eq(sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
        n++;
    }
    ck_assert_int_ge(n, 2);
    ck_assert_int_lt(n, 26); /* the sweep did not finish */
    sqlite3_finalize(st);
    sqlite3_close(h);
}

START_TEST(test_cli_sweep_killed_keeps_finished_scenarios)
{
    char db[512];
    snprintf(db, sizeof(db), "%s/k.db", tmpdir);
    ck_assert_int_eq(kill_after_first_scenario(db, SIGKILL), 128 + SIGKILL);
    check_db_after_kill(db, "running"); /* never finished: shown as incomplete */
    snprintf(db, sizeof(db), "%s/i.db", tmpdir);
    ck_assert_int_eq(kill_after_first_scenario(db, SIGINT), 128 + SIGINT);
    check_db_after_kill(db, "interrupted");
    char errpath[600], msg[512] = "";
    snprintf(errpath, sizeof errpath, "%s.err", db);
    FILE *ef = fopen(errpath, "r");
    ck_assert_ptr_nonnull(ef);
    size_t got = fread(msg, 1, sizeof msg - 1, ef);
    msg[got] = 0;
    fclose(ef);
    ck_assert_msg(strstr(msg, "interrupted; finished scenarios are recorded") != NULL,
                  "stderr of the interrupted run: '%s'", msg);
}
END_TEST

START_TEST(test_cli_list_and_knobs)
{
    char *out, *err;
    ck_assert_int_eq(run(&out, &err, "list"), 0);
    ck_assert_ptr_nonnull(strstr(out, "production_mix"));
    free(out);
    free(err);
    ck_assert_int_eq(run(&out, &err, "list --knobs"), 0);
    ck_assert_ptr_nonnull(strstr(out, "associate_before_execute"));
    ck_assert_ptr_nonnull(strstr(out, "F9"));
    free(out);
    free(err);
}
END_TEST

START_TEST(test_cli_shards_with_gnu_parallel_merge_to_the_whole)
{
    /* The README's recipe, with local workers instead of hosts. */
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "parallel --will-cite -j 3 '%s run scenarios/pool_pending.yaml "
             "scenarios/disconnect_reconnect.yaml --seeds 7 --profile fixed,legacy --shard {}/3 "
             "--db %s/shard-{}.db --label nightly >/dev/null' ::: 1 2 3",
             bin(), tmpdir);
    int st = system(cmd);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) <= 3, "parallel: status %d", st);
    char *out, *err;
    ck_assert_int_eq(run(&out, &err, "merge %s/merged.db %s/shard-1.db %s/shard-2.db %s/shard-3.db",
                         tmpdir, tmpdir, tmpdir, tmpdir),
                     0);
    free(out);
    free(err);
    run(&out, &err,
        "run scenarios/pool_pending.yaml scenarios/disconnect_reconnect.yaml --seeds 7 "
        "--profile fixed,legacy --db %s/whole.db",
        tmpdir);
    free(out);
    free(err);
    /* seed for seed, the same trace hashes */
    const char *q = "select sr.scenario || ' ' || sr.profile || ' ' || s.seed || ' ' || "
                    "s.trace_hash from seed_results s join scenario_results sr on sr.id = "
                    "s.scenario_result_id order by 1";
    snprintf(cmd, sizeof(cmd),
             "sqlite3 %s/merged.db \"%s\" > %s/m.txt && sqlite3 %s/whole.db "
             "\"%s\" > %s/w.txt && cmp %s/m.txt %s/w.txt && wc -l < %s/w.txt",
             tmpdir, q, tmpdir, tmpdir, q, tmpdir, tmpdir, tmpdir, tmpdir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char line[64] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_int_eq(atoi(line), 2 * 2 * 7);
}
END_TEST

START_TEST(test_cli_shrink_keeps_the_failure)
{
    char *out, *err;
    ck_assert_int_eq(run(&out, &err,
                         "shrink scenarios/message_before_thread.yaml --seed 1 --profile legacy "
                         "--out %s/small.yaml",
                         tmpdir),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "smallest failing: users "));
    ck_assert_ptr_null(strstr(out, "users 20 (was 20)")); /* it did shrink */
    free(out);
    free(err);
    /* the written scenario is valid, smaller, and the seed still fails */
    ck_assert_int_eq(run(&out, &err, "replay %s/small.yaml --seed 1 --profile legacy", tmpdir), 1);
    ck_assert_ptr_nonnull(strstr(out, "verdict: FAIL: silent_loss"));
    /* the timeline marks the drain and gives every loss its cause */
    ck_assert_ptr_nonnull(strstr(out, " world      drain "));
    ck_assert_ptr_nonnull(strstr(out, " LOST (core_silent)"));
    ck_assert_ptr_nonnull(strstr(out, "late and lost (ctxsim replay"));
    free(out);
    free(err);
    /* a passing seed has nothing to shrink */
    ck_assert_int_eq(run(&out, &err,
                         "shrink scenarios/message_before_thread.yaml --seed 1 --out "
                         "%s/none.yaml",
                         tmpdir),
                     1);
    ck_assert_ptr_nonnull(strstr(out, "nothing to shrink"));
    free(out);
    free(err);
}
END_TEST

/* read_text returns the malloc'd contents of tmpdir/name ("" if absent). */
/* slurp reads a whole file (a scenario of the repository, say); "" if it
 * cannot be opened.  Caller frees. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = calloc((size_t)n + 1, 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return b;
}

/* read_text reads file `name` of the test's temporary directory. */
static char *read_text(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    return slurp(path);
}

/* count_str counts the occurrences of needle in hay. */
static size_t count_str(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* A scenario without agent runs: nothing is ever expected. */
static const char quiet_yaml[] =
    "version: 1\nname: quiet\nsummary: connects and leaves\nseeds: 3\nhorizon: 5s\nusers: 2\n"
    "network: {uplink: 10ms, downlink: 10ms}\n"
    "server: {auth: 1ms, thread_lookup: 2ms, agent_start: 3ms, event_gap: 4ms}\n"
    "client: [connect, authenticate, {wait: 1s}, close]\n"
    "expect: {delivery_rate: 0.99, misrouted: 0}\n";

/*
 * One sweep set, every output: the exit code, the text table, JSON, JUnit,
 * the database and the report must say the same for each sweep.  Returns
 * the exit code.
 */
static int check_agreement(const char *args, int want_rc)
{
    char *out, *err, *j, *e;
    char db[512];
    snprintf(db, sizeof db, "%s/agree.db", tmpdir);
    remove(db);
    int rc = run(&j, &e, "run %s --db %s --junit %s/agree.xml --format json", args, db, tmpdir);
    ck_assert_msg(rc == want_rc, "%s: exit %d, want %d\n%s", args, rc, want_rc, e);
    free(e);
    ck_assert_int_eq(run(&out, &err, "run %s --no-db", args), rc); /* the table */
    char rdir[512];
    snprintf(rdir, sizeof rdir, "%s/rep", tmpdir);
    char *ro, *re;
    ck_assert_int_eq(run(&ro, &re, "report --db %s --out %s", db, rdir), 0);
    free(ro);
    free(re);
    char *md = read_text("rep/summary.md"), *xml = read_text("agree.xml");
    json_error_t je;
    json_t *root = json_loads(j, 0, &je);
    ck_assert_msg(root != NULL, "bad json: %s", je.text);
    sqlite3 *h = NULL;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    size_t i, fails = 0, skipped = 0, any_ci = 0;
    json_t *r;
    json_array_foreach(root, i, r)
    {
        const char *scen = json_string_value(json_object_get(r, "scenario"));
        const char *prof = json_string_value(json_object_get(r, "profile"));
        const char *role = json_string_value(json_object_get(r, "role"));
        const char *verdict = json_string_value(json_object_get(r, "verdict"));
        const char *outcome = json_string_value(json_object_get(r, "outcome"));
        const char *reason = json_string_value(json_object_get(r, "reason"));
        int fix = (int)json_integer_value(json_object_get(r, "ablated_fix"));
        int ci = json_is_true(json_object_get(r, "fails_ci"));
        any_ci |= (size_t)ci;
        fails += (size_t)ci;
        skipped += !ci && strcmp(role, "gate") != 0;
        /* the database: same role, verdict and reason */
        sqlite3_stmt *st = NULL;
        ck_assert_int_eq(sqlite3_prepare_v2(h,
                                            "SELECT role, verdict, reason, pass FROM "
                                            "scenario_results WHERE scenario = ? AND profile = ? "
                                            "AND ablated_fix = ?",
                                            -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_text(st, 1, scen, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, prof, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, fix);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), role);
        ck_assert_str_eq((const char *)sqlite3_column_text(st, 1), verdict);
        ck_assert_str_eq((const char *)sqlite3_column_text(st, 2), reason);
        ck_assert_int_eq(sqlite3_column_int(st, 3), strcmp(verdict, "pass") == 0);
        sqlite3_finalize(st);
        /* the table: the sweep's line ends with its outcome; every miss */
        char prefix[128];
        snprintf(prefix, sizeof prefix, "%s-F%d", prof, fix);
        const char *p = out;
        int found = 0;
        while ((p = strstr(p, scen)) != NULL) {
            const char *eol = strchr(p, '\n');
            size_t n = eol ? (size_t)(eol - p) : strlen(p);
            char line[512];
            snprintf(line, sizeof line, "%.*s", (int)n, p);
            int same =
                fix ? strstr(line, prefix) != NULL : strstr(line, prof) && !strstr(line, "-F");
            if (same && n >= strlen(outcome) && strcmp(line + n - strlen(outcome), outcome) == 0) {
                found = 1;
                if (reason[0]) {
                    ck_assert_ptr_nonnull(eol);
                    ck_assert_msg(strncmp(eol + 1, "    ", 4) == 0 && strstr(eol + 1, reason),
                                  "%s: table lacks the reason '%s'", scen, reason);
                }
                break;
            }
            p += n;
        }
        ck_assert_msg(found, "%s %s F%d: table lacks outcome '%s'\n%s", scen, prof, fix, outcome,
                      out);
        /* the report shows the same outcome */
        ck_assert_msg(strstr(md, outcome) != NULL, "summary.md lacks '%s'", outcome);
    }
    sqlite3_close(h);
    /* JUnit: a failure per sweep that fails CI, skipped per other informational */
    ck_assert_uint_eq(count_str(xml, "<failure "), fails);
    ck_assert_uint_eq(count_str(xml, "<skipped "), skipped);
    ck_assert_int_eq(rc, any_ci ? 1 : 0);
    json_decref(root);
    free(md);
    free(xml);
    free(j);
    free(out);
    free(err);
    return rc;
}

START_TEST(test_cli_every_output_agrees_for_every_role_and_verdict)
{
    write_file("quiet.yaml", quiet_yaml);
    char q[512];
    /* gate pass */
    check_agreement("scenarios/agent_before_ready.yaml --seeds 3", 0);
    /* gate fail: --ablate N is what was asked for */
    check_agreement("scenarios/agent_before_ready.yaml --seeds 3 --ablate 2", 1);
    /* gate inconclusive: no expected event, none declared */
    snprintf(q, sizeof q, "%s/quiet.yaml", tmpdir);
    check_agreement(q, 1);
    /* informational legacy beside fixed: fixed passes, legacy never fails CI */
    check_agreement("scenarios/agent_before_ready.yaml --seeds 3 --profile fixed,legacy", 0);
    /* ablation matrix: F2 caught, others not: a fix no sweep catches fails CI */
    check_agreement("scenarios/agent_before_ready.yaml --seeds 2 --ablation", 1);
}
END_TEST

START_TEST(test_cli_ablate_2_exits_1_with_replay_lines)
{
    char *out, *err;
    ck_assert_int_eq(
        run(&out, &err, "run scenarios/agent_before_ready.yaml --seeds 4 --ablate 2 --no-db"), 1);
    ck_assert_ptr_nonnull(strstr(out, "FAIL"));
    char want[512];
    snprintf(want, sizeof want, "replay: %s replay scenarios/agent_before_ready.yaml --seed ",
             bin());
    const char *line = strstr(out, want);
    ck_assert_msg(line != NULL, "%s", out);
    ck_assert_ptr_nonnull(strstr(line, "--profile fixed --ablate 2"));
    /* the printed line, pasted into a shell, reproduces the seed */
    const char *cmd = line + strlen("replay: ");
    size_t n = strcspn(cmd, "\n");
    char pasted[1024];
    snprintf(pasted, sizeof pasted, "%.*s > %s/pasted.txt", (int)n, cmd, tmpdir);
    int st = system(pasted);
    ck_assert(WIFEXITED(st));
    char *rep = read_text("pasted.txt");
    char *j, *e;
    char seedarg[32];
    const char *sp = strstr(cmd, "--seed ") + 7;
    snprintf(seedarg, sizeof seedarg, "%.*s", (int)strcspn(sp, " "), sp);
    ck_assert_int_eq(run(&j, &e,
                         "run scenarios/agent_before_ready.yaml --seed %s --ablate 2 --no-db "
                         "--format json",
                         seedarg),
                     1);
    char *h = hashes(j);
    const char *hp = strstr(h, "agent_before_ready fixed ");
    ck_assert_ptr_nonnull(hp);
    hp = strchr(hp + strlen("agent_before_ready fixed "), ' ') + 1;
    char want_hash[64];
    snprintf(want_hash, sizeof want_hash, "trace hash %.16s", hp);
    ck_assert_msg(strstr(rep, want_hash) != NULL, "pasted replay lacks %s", want_hash);
    /* a worst seed, not failing: the replay passes with a note */
    ck_assert_ptr_nonnull(strstr(rep, "verdict: PASS"));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    free(h);
    free(j);
    free(e);
    free(rep);
    free(out);
    free(err);
}
END_TEST

START_TEST(test_cli_no_expect_strict_default_fails_lossy_legacy)
{
    /* agent_before_ready without its expect block */
    char *src = slurp("scenarios/agent_before_ready.yaml");
    ck_assert_uint_gt(strlen(src), 0);
    char *x = strstr(src, "\nexpect:");
    ck_assert_ptr_nonnull(x);
    x[1] = '\0';
    write_file("noexpect.yaml", src);
    free(src);
    char *out, *err;
    ck_assert_int_eq(run(&out, &err, "validate %s/noexpect.yaml", tmpdir), 0);
    ck_assert_ptr_nonnull(strstr(out, "no expect: strict default"));
    free(out);
    free(err);
    ck_assert_int_eq(
        run(&out, &err, "run %s/noexpect.yaml --seeds 3 --profile legacy --no-db", tmpdir), 1);
    ck_assert_ptr_nonnull(strstr(out, "FAIL"));
    ck_assert_ptr_nonnull(strstr(out, "missed: delivery_rate"));
    free(out);
    free(err);
}
END_TEST

START_TEST(test_cli_zero_expected_is_inconclusive_and_fails_the_gate)
{
    write_file("quiet.yaml", quiet_yaml);
    char *out, *err;
    char db[512];
    snprintf(db, sizeof db, "%s/q.db", tmpdir);
    ck_assert_int_eq(run(&out, &err, "run %s/quiet.yaml --db %s", tmpdir, db), 1);
    ck_assert_ptr_nonnull(strstr(out, "INCONCLUSIVE"));
    ck_assert_ptr_null(strstr(out, "100.000%")); /* not drawn as a perfect pass */
    free(out);
    free(err);
    ck_assert_int_eq(run(&out, &err, "gate --db %s", db), 1);
    ck_assert_ptr_nonnull(strstr(out, "INCONCLUSIVE"));
    free(out);
    free(err);
    ck_assert_int_eq(run(&out, &err, "report --db %s --out %s/rep", db, tmpdir), 0);
    free(out);
    free(err);
    char *md = read_text("rep/summary.md");
    ck_assert_ptr_nonnull(strstr(md, "INCONCLUSIVE"));
    ck_assert_ptr_nonnull(strstr(md, "n/a (no expected event)"));
    free(md);
    /* the rate chart draws no bar for it (NaN rate), an n/a label instead */
    char *dat = read_text("rep/rate.dat");
    ck_assert_ptr_nonnull(strstr(dat, " NaN NaN NaN "));
    ck_assert_ptr_null(strstr(dat, " 100.0000 "));
    free(dat);
    char *gp = read_text("rep/rate.gp");
    ck_assert_ptr_nonnull(strstr(gp, "n/a: no"));
    free(gp);
    /* declared: expect {expected: 0} makes it a pass */
    char *y = strdup(quiet_yaml);
    char *x = strstr(y, "expect: {");
    ck_assert_ptr_nonnull(x);
    strcpy(x, "expect: {expected: 0, misrouted: 0}\n");
    write_file("quiet.yaml", y);
    free(y);
    ck_assert_int_eq(run(&out, &err, "run %s/quiet.yaml --no-db", tmpdir), 0);
    ck_assert_ptr_nonnull(strstr(out, "PASS"));
    free(out);
    free(err);
}
END_TEST

START_TEST(test_cli_passing_sweep_lists_no_failing_seeds_worst_replays_pass)
{
    /* F2 off delivers ~56% of agent_before_ready: with a line of 0.54 the
     * sweep passes, and the seeds below 0.54 are its worst, not failures */
    char *src = slurp("scenarios/agent_before_ready.yaml");
    ck_assert_uint_gt(strlen(src), 0);
    char *x = strstr(src, "delivery_rate: 0.99");
    ck_assert_ptr_nonnull(x);
    memcpy(x, "delivery_rate: 0.54", strlen("delivery_rate: 0.54"));
    write_file("lenient.yaml", src);
    free(src);
    char *j, *e;
    ck_assert_int_eq(
        run(&j, &e, "run %s/lenient.yaml --seeds 20 --ablate 2 --no-db --format json", tmpdir), 0);
    json_error_t je;
    json_t *root = json_loads(j, 0, &je);
    ck_assert_ptr_nonnull(root);
    json_t *r = json_array_get(root, 0);
    ck_assert_str_eq(json_string_value(json_object_get(r, "verdict")), "pass");
    ck_assert_int_eq(json_array_size(json_object_get(r, "failing_seeds")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(r, "failed_seeds")), 0);
    json_t *w = json_object_get(r, "worst_seeds_list");
    ck_assert_uint_gt(json_array_size(w), 0);
    const char *line = json_string_value(json_object_get(json_array_get(w, 0), "replay"));
    ck_assert_ptr_nonnull(line);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s > %s/worst.txt", line, tmpdir);
    int st = system(cmd);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    char *rep = read_text("worst.txt");
    ck_assert_ptr_nonnull(strstr(rep, "verdict: PASS"));
    ck_assert_ptr_nonnull(strstr(rep, "note: this seed's delivery_rate"));
    free(rep);
    /* the table lists them as worst seeds, none as failing */
    char *out;
    free(e);
    ck_assert_int_eq(run(&out, &e, "run %s/lenient.yaml --seeds 20 --ablate 2 --no-db", tmpdir), 0);
    ck_assert_ptr_nonnull(strstr(out, "worst seed"));
    ck_assert_ptr_null(strstr(out, "    seed "));
    ck_assert_ptr_nonnull(strstr(out, "... and "));
    free(out);
    json_decref(root);
    free(j);
    free(e);
}
END_TEST

START_TEST(test_cli_hostile_scenario_name_quoted_everywhere)
{
    /* a file name with backticks and a ';': a pasted line must not run touch */
    char *src = slurp("scenarios/agent_before_ready.yaml");
    ck_assert_uint_gt(strlen(src), 0);
    write_file("a`;touch PWNED;`b.yaml", src);
    free(src);
    char *out, *err;
    char db[512];
    snprintf(db, sizeof db, "%s/h.db", tmpdir);
    ck_assert_int_eq(
        run(&out, &err, "run '%s/a`;touch PWNED;`b.yaml' --seeds 2 --ablate 2 --db %s", tmpdir, db),
        1);
    free(err);
    ck_assert_int_eq(run(NULL, &err, "report --db %s --out %s/rep", db, tmpdir), 0);
    free(err);
    char *md = read_text("rep/summary.md");
    /* every replay line of the table and of summary.md, run from tmpdir */
    const char *srcs[2] = {out, md};
    int ran = 0;
    for (int k = 0; k < 2; k++) {
        const char *p = srcs[k];
        while ((p = strstr(p, " replay '")) != NULL) {
            const char *b = p;
            while (b > srcs[k] && b[-1] != ' ' && b[-1] != '\n')
                b--;
            size_t n = strcspn(b, "\n#");
            char cmd[2048];
            snprintf(cmd, sizeof cmd, "cd %s && %.*s >/dev/null 2>&1", tmpdir, (int)n, b);
            if (b[0] != '/') /* a relative binary: from the repository */
                snprintf(cmd, sizeof cmd, "(%.*s) >/dev/null 2>&1", (int)n, b);
            ck_assert(system(cmd) != -1);
            ran++;
            p += 8;
        }
    }
    ck_assert_int_gt(ran, 1);
    char pw[512];
    snprintf(pw, sizeof pw, "%s/PWNED", tmpdir);
    struct stat sb;
    ck_assert_msg(stat(pw, &sb) != 0 && stat("PWNED", &sb) != 0, "a pasted line ran touch");
    free(md);
    free(out);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 600);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_cli_help_for_every_command);
    tcase_add_test(tc, test_cli_bad_scenario_exit_2_nothing_recorded);
    tcase_add_test(tc, test_cli_bad_options_exit_2);
    tcase_add_test(tc, test_cli_run_passes_and_records);
    tcase_add_test(tc, test_cli_jobs_and_reruns_identical);
    tcase_add_test(tc, test_cli_failing_seed_replay_line_reproduces);
    tcase_add_test(tc, test_cli_replay_writes_perfetto_json);
    tcase_add_test(tc, test_cli_check_determinism);
    tcase_add_test(tc, test_cli_sweep_killed_keeps_finished_scenarios);
    tcase_add_test(tc, test_cli_list_and_knobs);
    tcase_add_test(tc, test_cli_shrink_keeps_the_failure);
    tcase_add_test(tc, test_cli_every_output_agrees_for_every_role_and_verdict);
    tcase_add_test(tc, test_cli_ablate_2_exits_1_with_replay_lines);
    tcase_add_test(tc, test_cli_no_expect_strict_default_fails_lossy_legacy);
    tcase_add_test(tc, test_cli_zero_expected_is_inconclusive_and_fails_the_gate);
    tcase_add_test(tc, test_cli_passing_sweep_lists_no_failing_seeds_worst_replays_pass);
    tcase_add_test(tc, test_cli_hostile_scenario_name_quoted_everywhere);
    tcase_add_test(tc, test_cli_shards_with_gnu_parallel_merge_to_the_whole);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cli_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
