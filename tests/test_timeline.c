/*
 * test_timeline.c - the replay timeline and --explain (sim/timeline.h):
 * human units, one message id space, every emitted event's verdict on its
 * line (agreeing with the seed's counts), the filters, the causal story of
 * a legacy loss and of an ablated-fix stray, bad input, and that none of it
 * touches the trace hash.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/scenario.h"
#include "sim/sweep.h"
#include "sim/timeline.h"
#include "sim/trace.h"
#include "sim/world.h"
#include "tests/lib/cli_run.h"

/* One replayed seed: its result, trace and model. */
typedef struct replayed {
    sim_scenario *sc;
    sim_seed_result res;
    sim_trace *tr;
    sim_tl *tl;
} replayed;

static void replay(replayed *r, const char *file, int profile, int ablate, uint64_t seed,
                   int annotate)
{
    sim_scenario_error err;
    memset(r, 0, sizeof *r);
    ck_assert_msg(sim_scenario_load(file, &r->sc, &err) == 0, "%s: %s", file, err.msg);
    sim_sweep_opts o = {.seeds = 1, .profile = profile, .ablate_fix = ablate};
    cr_policy pol;
    ck_assert_int_eq(sim_sweep_policy(r->sc, &o, &pol, NULL, 0), 0);
    sim_world_opts wo = {.seed = seed, .keep_trace = 1, .annotate = annotate};
    sim_world_run(r->sc, &pol, &wo, &r->res, &r->tr);
    ck_assert_ptr_nonnull(r->tr);
    ck_assert_int_eq(sim_tl_build(r->tr, &r->tl), 0);
}

static void replayed_free(replayed *r)
{
    sim_tl_free(r->tl);
    sim_trace_free(r->tr);
    sim_scenario_free(r->sc);
}

/* text runs sim_tl_write (f may be NULL) into a malloc'd string. */
static char *text(const sim_tl *tl, const sim_tl_filter *f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(sim_tl_write(tl, f, out), 0);
    fclose(out);
    return buf;
}

static char *story(const sim_tl *tl, const char *ev, int want_rc, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(sim_tl_explain(tl, ev, out, err, errlen), want_rc);
    fclose(out);
    return buf;
}

/* The timeline part of a view: the lines before the verdict summary. */
static void cut_summary(char *t)
{
    char *s = strstr(t, "\nverdicts (");
    if (s)
        s[1] = '\0';
}

#define LEGACY_SCENARIO "scenarios/message_before_thread.yaml"

START_TEST(test_timeline_human_units)
{
    char b[32];
    ck_assert_str_eq(sim_tl_dur(850, b, sizeof b), "850 ns");
    ck_assert_str_eq(sim_tl_dur(12500, b, sizeof b), "12.5 us");
    ck_assert_str_eq(sim_tl_dur(17845025, b, sizeof b), "17.8 ms");
    ck_assert_str_eq(sim_tl_dur(720046618, b, sizeof b), "720.0 ms");
    ck_assert_str_eq(sim_tl_dur(1250000000, b, sizeof b), "1.250 s");
    ck_assert_str_eq(sim_tl_at(17382000, b, sizeof b), "0.017382 s");
    ck_assert_str_eq(sim_tl_at(61000000001ULL, b, sizeof b), "61.000000 s");

    /* No raw nanoseconds anywhere in a real timeline: every "<n>ns" of the
     * trace text is written in units ("wait 720046618ns" -> "720.0 ms"). */
    replayed r;
    replay(&r, LEGACY_SCENARIO, CR_PROFILE_LEGACY, 0, 1, 1);
    char *t = text(r.tl, NULL);
    int waits = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        for (char *p = line; (p = strstr(p, "ns")) != NULL; p++)
            ck_assert_msg(p == line || p[-1] < '0' || p[-1] > '9', "raw ns in: %s", line);
        if (strstr(line, " wait ")) {
            waits++;
            ck_assert_msg(strstr(line, " ms") || strstr(line, " s"), "%s", line);
        }
    }
    ck_assert_int_gt(waits, 0);
    free(t);
    replayed_free(&r);
}
END_TEST

/* The notes are outside the hash: the same seed with and without them has
 * the same hash, counts and canonical text. */
START_TEST(test_timeline_annotation_keeps_the_hash)
{
    replayed a, b;
    replay(&a, LEGACY_SCENARIO, CR_PROFILE_LEGACY, 0, 1, 0);
    replay(&b, LEGACY_SCENARIO, CR_PROFILE_LEGACY, 0, 1, 1);
    ck_assert_uint_eq(a.res.trace_hash, b.res.trace_hash);
    ck_assert_uint_eq(a.res.steps, b.res.steps);
    ck_assert_mem_eq(a.res.c, b.res.c, sizeof a.res.c);
    ck_assert_uint_eq(sim_trace_note_count(a.tr), 0);
    ck_assert_uint_gt(sim_trace_note_count(b.tr), sim_trace_count(b.tr) / 4);
    char *ta = NULL, *tb = NULL;
    size_t la = 0, lb = 0;
    FILE *fa = open_memstream(&ta, &la), *fb = open_memstream(&tb, &lb);
    ck_assert_int_eq(sim_trace_write_text(a.tr, fa), 0);
    ck_assert_int_eq(sim_trace_write_text(b.tr, fb), 0);
    fclose(fa);
    fclose(fb);
    ck_assert_str_eq(ta, tb);
    free(ta);
    free(tb);
    replayed_free(&a);
    replayed_free(&b);
}
END_TEST

/* Legacy: every emit line carries the verdict of each tab, never the
 * core's bare "-> delivered"; the lost ones say their cause; the summary
 * agrees with the seed's counts and counts the pairs not owed. */
START_TEST(test_timeline_verdict_on_every_emit_line)
{
    replayed r;
    replay(&r, LEGACY_SCENARIO, CR_PROFILE_LEGACY, 0, 1, 1);
    char *t = text(r.tl, NULL);
    char *sum = strstr(t, "\nverdicts (");
    ck_assert_ptr_nonnull(sum);
    char want[160];
    snprintf(want, sizeof want,
             "%" PRIu64 " owed (event, tab) pairs: %" PRIu64 " delivered, %" PRIu64
             " late, %" PRIu64 " lost (core_silent %" PRIu64 ")",
             r.res.c[SIM_COUNT_EXPECTED], r.res.c[SIM_COUNT_DELIVERED], r.res.c[SIM_COUNT_LATE],
             r.res.c[SIM_COUNT_LOST], r.res.c[SIM_COUNT_SILENT_LOSS]);
    ck_assert_msg(strstr(sum, want) != NULL, "summary lacks '%s':\n%.400s", want, sum);
    uint64_t notowed = 0;
    for (size_t i = 0; i < r.tl->nverdicts; i++)
        notowed += !strcmp(r.tl->verdicts[i].kind, "not_owed");
    ck_assert_uint_gt(notowed, 0);
    snprintf(want, sizeof want, "not owed: %" PRIu64 " pairs of emitted events", notowed);
    ck_assert_ptr_nonnull(strstr(sum, want));
    ck_assert_uint_eq(r.res.c[SIM_COUNT_EMITTED],
                      r.tl->nverdicts); /* one tab per user: a verdict per event */
    cut_summary(t);
    uint64_t emits = 0, lost = 0, delivered = 0, late = 0, nowed = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strstr(line, " agent      emit "))
            continue;
        emits++;
        ck_assert_msg(!strstr(line, "-> delivered"), "%s", line);
        ck_assert_msg(strstr(line, " => u"), "no verdict: %s", line);
        lost += strstr(line, " LOST (core_silent)") != NULL;
        delivered += strstr(line, " delivered in ") != NULL || strstr(line, " delivered (") != NULL;
        late += strstr(line, " LATE by ") != NULL;
        nowed += strstr(line, " not owed (") != NULL;
        if (strstr(line, " LOST ("))
            ck_assert_msg(strstr(line, "sent on NO connection"), "%s", line);
    }
    ck_assert_uint_eq(emits, r.res.c[SIM_COUNT_EMITTED]);
    ck_assert_uint_eq(lost, r.res.c[SIM_COUNT_LOST]);
    ck_assert_uint_eq(delivered, r.res.c[SIM_COUNT_DELIVERED]);
    ck_assert_uint_eq(late, r.res.c[SIM_COUNT_LATE]);
    ck_assert_uint_eq(nowed, notowed);
    free(t);
    replayed_free(&r);
}
END_TEST

/* One id space: a dispatch names the client's message id, with the core's
 * in brackets, and that message was sent by a tab of the dispatch's user. */
START_TEST(test_timeline_one_message_id_space)
{
    replayed r;
    replay(&r, LEGACY_SCENARIO, CR_PROFILE_LEGACY, 0, 1, 1);
    char *t = text(r.tl, NULL);
    int n = 0, differ = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        long long conn, msg, core;
        char *d = strstr(line, " core       dispatch ");
        if (!d)
            continue;
        ck_assert_int_eq(
            sscanf(d, " core dispatch conn=%lld msg=%lld [core msg %lld]", &conn, &msg, &core), 3);
        const sim_tl_msg *m = &r.tl->msgs[msg];
        ck_assert(m->known && m->tab >= 0);
        ck_assert_int_eq(m->core_msg, core);
        ck_assert_int_eq(m->conn, conn); /* where the server took it */
        ck_assert_int_eq(r.tl->conns[conn].tab, m->tab);
        differ += msg != core;
        n++;
    }
    ck_assert_int_eq(n, (int)r.res.c[SIM_COUNT_MESSAGES]);
    ck_assert_int_gt(differ, 0); /* the two spaces do differ: brackets matter */
    free(t);
    replayed_free(&r);
}
END_TEST

/* the user a timeline line is about, from its own words: a tab actor, a
 * conn=N, or an event (mM.I) */
static int64_t line_user(const sim_tl *tl, const char *line)
{
    unsigned u, k;
    long long c, m;
    const char *p;
    if (sscanf(line, " %*s s u%u.%u", &u, &k) == 2)
        return u;
    if ((p = strstr(line, "conn=")) && sscanf(p, "conn=%lld", &c) == 1)
        return tl->tabs[tl->conns[c].tab].user;
    if ((p = strstr(line, "(m")) && sscanf(p, "(m%lld.", &m) == 1)
        return tl->tabs[tl->msgs[m].tab].user;
    if ((p = strstr(line, "msg=")) && sscanf(p, "msg=%lld", &m) == 1)
        return tl->tabs[tl->msgs[m].tab].user;
    if ((p = strstr(line, " run=")) && sscanf(p, " run=%lld", &c) == 1)
        return tl->tabs[tl->msgs[tl->runs[c].msg].tab].user;
    return -1;
}

static size_t count_lines(const char *t, const char *needle)
{
    size_t n = 0;
    for (const char *p = t; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

START_TEST(test_timeline_filters)
{
    replayed r;
    replay(&r, LEGACY_SCENARIO, CR_PROFILE_LEGACY, 0, 1, 1);
    char *all = text(r.tl, NULL);
    cut_summary(all);
    char err[256];
    sim_tl_filter f;

    /* --user u10: every line is about u10, and all of u10.0's steps are there */
    sim_tl_filter_init(&f);
    ck_assert_int_eq(sim_tl_parse_user("u10", &f.user, err, sizeof err), 0);
    ck_assert_int_eq(sim_tl_check_filter(r.tl, &f, err, sizeof err), 0);
    char *t = text(r.tl, &f);
    char *sum = strstr(t, "\nverdicts (");
    ck_assert_ptr_nonnull(sum);
    ck_assert_ptr_nonnull(strstr(sum, "e18 ")); /* u10's lost event is listed... */
    ck_assert_ptr_null(strstr(sum, " e0 "));    /* ...u17's is not */
    cut_summary(t);
    ck_assert_uint_eq(count_lines(t, " u10.0 "), count_lines(all, " u10.0 "));
    size_t n = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n"), n++)
        if (!strstr(line, " world "))
            ck_assert_msg(line_user(r.tl, line) == 10, "not u10: %s", line);
    ck_assert_uint_gt(n, 20);
    free(t);

    /* --from 1s --to 2s: exactly the lines in the window */
    sim_tl_filter_init(&f);
    ck_assert_int_eq(sim_tl_parse_time("1s", &f.from, err, sizeof err), 0);
    ck_assert_int_eq(sim_tl_parse_time("2000ms", &f.to, err, sizeof err), 0);
    t = text(r.tl, &f);
    cut_summary(t);
    size_t in = 0, inall = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n"), in++) {
        double s = atof(line);
        ck_assert_msg(s >= 1.0 && s <= 2.0, "%s", line);
    }
    for (const char *p = all; *p; p = strchr(p, '\n') + 1) {
        double s = atof(p);
        inall += s >= 1.0 && s <= 2.0;
        if (!strchr(p, '\n'))
            break;
    }
    ck_assert_uint_gt(in, 0);
    ck_assert_uint_eq(in, inall);
    free(t);

    /* --conn c8: the lines naming a connection name c8 */
    sim_tl_filter_init(&f);
    ck_assert_int_eq(sim_tl_parse_conn("c8", &f.conn, err, sizeof err), 0);
    t = text(r.tl, &f);
    cut_summary(t);
    n = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n"), n++) {
        const char *p = strstr(line, "conn=");
        if (p)
            ck_assert_msg(!strncmp(p, "conn=8 ", 7) || !strncmp(p, "conn=8]", 7), "%s", line);
    }
    ck_assert_uint_gt(n, 5);
    free(t);

    /* --thread u10/t1: u10's lines about t1 only */
    sim_tl_filter_init(&f);
    ck_assert_int_eq(sim_tl_parse_thread("u10/t1", &f.tuser, &f.thread, err, sizeof err), 0);
    ck_assert_int_eq(sim_tl_check_filter(r.tl, &f, err, sizeof err), 0);
    t = text(r.tl, &f);
    cut_summary(t);
    n = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n"), n++) {
        if (strstr(line, " world "))
            continue;
        ck_assert_msg(line_user(r.tl, line) == 10, "%s", line);
        const char *p = strstr(line, "thread=");
        if (p)
            ck_assert_msg(!strncmp(p, "thread=t1", 9), "%s", line);
    }
    ck_assert_uint_gt(n, 5);
    free(t);
    free(all);
    replayed_free(&r);
}
END_TEST

START_TEST(test_timeline_bad_filters)
{
    replayed r;
    replay(&r, LEGACY_SCENARIO, CR_PROFILE_LEGACY, 0, 1, 1);
    char err[256];
    int64_t v, tu;
    uint64_t ns;
    const char *th;
    ck_assert_int_eq(sim_tl_parse_user("bob", &v, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "--user expects a user"));
    ck_assert_int_eq(sim_tl_parse_conn("c0", &v, err, sizeof err), -1);
    ck_assert_int_eq(sim_tl_parse_conn("8x", &v, err, sizeof err), -1);
    ck_assert_int_eq(sim_tl_parse_thread("u1/", &tu, &th, err, sizeof err), -1);
    ck_assert_int_eq(sim_tl_parse_thread("x/t1", &tu, &th, err, sizeof err), -1);
    ck_assert_int_eq(sim_tl_parse_time("5", &ns, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "with a unit"));
    sim_tl_filter f;
    sim_tl_filter_init(&f);
    f.user = 99;
    ck_assert_int_eq(sim_tl_check_filter(r.tl, &f, err, sizeof err), -1);
    ck_assert_str_eq(err, "no user u99 in this run (users u0..u19)");
    sim_tl_filter_init(&f);
    f.conn = 500;
    ck_assert_int_eq(sim_tl_check_filter(r.tl, &f, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no connection c500"));
    sim_tl_filter_init(&f);
    f.thread = "t9";
    ck_assert_int_eq(sim_tl_check_filter(r.tl, &f, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no thread"));
    sim_tl_filter_init(&f);
    f.from = 2;
    f.to = 1;
    ck_assert_int_eq(sim_tl_check_filter(r.tl, &f, err, sizeof err), -1);
    /* bad events */
    char *s = story(r.tl, "x1", -1, err, sizeof err);
    ck_assert_ptr_nonnull(strstr(err, "--explain expects an event"));
    free(s);
    s = story(r.tl, "e99999", -1, err, sizeof err);
    ck_assert_ptr_nonnull(strstr(err, "no event e99999 in this run (e0..e199)"));
    free(s);
    s = story(r.tl, "m999.0", -1, err, sizeof err);
    ck_assert_ptr_nonnull(strstr(err, "no message m999"));
    free(s);
    s = story(r.tl, "m0.9", -1, err, sizeof err);
    ck_assert_ptr_nonnull(strstr(err, "no such event"));
    free(s);
    replayed_free(&r);
}
END_TEST

/* The legacy race, told: the run was dispatched before the connection had
 * its thread, the core said delivered and sent it nowhere, nobody was told. */
START_TEST(test_timeline_explain_legacy_loss)
{
    replayed r;
    replay(&r, LEGACY_SCENARIO, CR_PROFILE_LEGACY, 0, 1, 1);
    const sim_tl_verdict *v = NULL;
    for (size_t i = 0; i < r.tl->nverdicts && !v; i++)
        if (!strcmp(r.tl->verdicts[i].kind, "lost"))
            v = &r.tl->verdicts[i];
    ck_assert_ptr_nonnull(v);
    char ev[32], alt[32], err[256];
    snprintf(ev, sizeof ev, "e%" PRId64, v->ev);
    snprintf(alt, sizeof alt, "m%" PRId64 ".%" PRIu32, v->msg, v->index);
    char *s = story(r.tl, ev, 0, err, sizeof err);
    char want[96];
    snprintf(want, sizeof want, "%s = %s ", ev, alt);
    ck_assert_msg(strstr(s, want) == s, "%s", s);
    snprintf(want, sizeof want, "  message   m%" PRId64 " sent by u", v->msg);
    ck_assert_msg(strstr(s, want) != NULL, "%s", s);
    ck_assert_ptr_nonnull(strstr(s, "[core msg "));
    ck_assert_ptr_nonnull(strstr(s, "  binding   conn="));
    ck_assert_ptr_nonnull(strstr(s, "cr_run_emit returned delivered but sent it on NO connection"));
    ck_assert_ptr_nonnull(strstr(s, "  transport nothing was ever sent"));
    ck_assert_ptr_nonnull(strstr(s, "LOST (core_silent)"));
    ck_assert_ptr_nonnull(strstr(s, "core_silent: no copy was on its way to the tab"));
    /* the other name of the same event tells the same story; so does "N" */
    char *s2 = story(r.tl, alt, 0, err, sizeof err);
    ck_assert_str_eq(s, s2);
    free(s2);
    s2 = story(r.tl, ev + 1, 0, err, sizeof err);
    ck_assert_str_eq(s, s2);
    free(s2);
    free(s);
    /* a pair not owed says why */
    for (size_t i = 0; i < r.tl->nverdicts; i++)
        if (!strcmp(r.tl->verdicts[i].kind, "not_owed")) {
            snprintf(ev, sizeof ev, "e%" PRId64, r.tl->verdicts[i].ev);
            s = story(r.tl, ev, 0, err, sizeof err);
            ck_assert_msg(strstr(s, "not owed (") && strstr(s, "deadline"), "%s", s);
            free(s);
            break;
        }
    replayed_free(&r);
}
END_TEST

/* With F3 (verify_before_notify) ablated, the story of a lost event shows
 * the THREAD_SWITCHED notice sent before its binding landed and the copy
 * that arrived as stray. */
START_TEST(test_timeline_explain_ablated_stray)
{
    replayed r;
    replay(&r, "scenarios/rapid_thread_switching.yaml", CR_PROFILE_FIXED, 3, 1, 1);
    ck_assert_uint_gt(r.res.c[SIM_COUNT_STRAY], 0);
    int told = 0;
    for (size_t i = 0; i < r.tl->nverdicts; i++) {
        const sim_tl_verdict *v = &r.tl->verdicts[i];
        if (strcmp(v->kind, "lost"))
            continue;
        char ev[32], err[256];
        snprintf(ev, sizeof ev, "e%" PRId64, v->ev);
        char *s = story(r.tl, ev, 0, err, sizeof err);
        if (strstr(s, "as STRAY") && strstr(s, "<- BEFORE its binding landed"))
            told++;
        free(s);
    }
    ck_assert_int_gt(told, 0);
    replayed_free(&r);
}
END_TEST

/* Records of no known vocabulary (or a trace without notes) still render:
 * one line each, time column, actor, step, detail. */
START_TEST(test_timeline_plain_records_render)
{
    sim_trace *t;
    ck_assert_int_eq(sim_trace_new(&t, 1), 0);
    ck_assert_int_eq(sim_trace_add(t, 0, "c0", "connect", "conn=%d", 0), 0);
    ck_assert_int_eq(sim_trace_add(t, 1500000, "server", "accept", "sock=1 wait=%dns", 250), 0);
    ck_assert_int_eq(sim_trace_add(t, 61000000000ULL, "agent.r1", "emit", "x"), 0);
    sim_tl *tl;
    ck_assert_int_eq(sim_tl_build(t, &tl), 0);
    char *s = text(tl, NULL);
    ck_assert_str_eq(s, "     0.000000 s  c0         connect         conn=0\n"
                        "     0.001500 s  server     accept          sock=1 wait=250ns\n"
                        "    61.000000 s  agent.r1   emit            x\n");
    free(s);
    char err[128];
    s = story(tl, "e0", -1, err, sizeof err);
    ck_assert_ptr_nonnull(strstr(err, "no notes"));
    free(s);
    sim_tl_free(tl);
    sim_trace_free(t);
    /* not kept: nothing to build from */
    ck_assert_int_eq(sim_trace_new(&t, 0), 0);
    ck_assert_int_eq(sim_trace_add(t, 0, "c0", "connect", "x"), 0);
    ck_assert_int_eq(sim_tl_build(t, &tl), -1);
    sim_trace_free(t);
}
END_TEST

/* An owed event never emitted has only its m<msg>.<index> name: the
 * summary lists it and --explain tells it (from hand-written records and
 * notes, as the world writes them). */
START_TEST(test_timeline_never_emitted_event)
{
    sim_trace *t;
    ck_assert_int_eq(sim_trace_new(&t, 1), 0);
    ck_assert_int_eq(sim_trace_add(t, 0, "client:u0.0", "connect", "sock=0"), 0);
    ck_assert_int_eq(sim_trace_add(t, 0, "client:u0.0", "send", "msg=0 thread=t1 via=ws"), 0);
    ck_assert_int_eq(sim_trace_add(t, 1000, "server", "open", "conn=1 sock=0 rc=0"), 0);
    ck_assert_int_eq(sim_trace_add(t, 2000, "server", "message", "conn=1 msg=0 thread=t1 rc=ok"),
                     0);
    ck_assert_int_eq(sim_trace_note(t, 9000, "world", "end", "end=-1 deadline=5000 drain=8000"), 0);
    ck_assert_int_eq(sim_trace_note(t, 9000, "oracle", "verdict",
                                    "kind=lost ev=-1 msg=0 index=2 tab=client:u0.0 thread=t1 "
                                    "at=2000 from=2000 due=7000 arrived=-1 cause=never_started "
                                    "said=nothing why=owed why_at=-1 why_to=-"),
                     0);
    sim_tl *tl;
    ck_assert_int_eq(sim_tl_build(t, &tl), 0);
    char *s = text(tl, NULL);
    ck_assert_msg(strstr(s, "1 owed (event, tab) pairs: 0 delivered, 0 late, 1 lost "
                            "(never_started 1)") != NULL,
                  "%s", s);
    ck_assert_ptr_nonnull(
        strstr(s, "\n  -      m0.2     (never emitted) t1   u0.0 LOST (never_started);"));
    free(s);
    char err[128];
    s = story(tl, "m0.2", 0, err, sizeof err);
    ck_assert_msg(strstr(s, "m0.2: event 3 of the run of m0, NEVER EMITTED") == s, "%s", s);
    ck_assert_ptr_nonnull(strstr(s, "run       none: the message's run never started"));
    ck_assert_ptr_nonnull(strstr(s, "u0.0 LOST (never_started)"));
    ck_assert_ptr_nonnull(strstr(s, "never_started: its message was accepted"));
    free(s);
    s = story(tl, "m0.1", -1, err, sizeof err); /* nothing owed for that one */
    ck_assert_ptr_nonnull(strstr(err, "no such event"));
    free(s);
    sim_tl_free(tl);
    sim_trace_free(t);
}
END_TEST

/* ---- the command ------------------------------------------------------------------ */

static char dir[64];

static void mkdir_tmp(void)
{
    snprintf(dir, sizeof dir, "/tmp/ctxsim-tl-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void rm_tmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_timeline_cli_bad_input_exits_2_and_writes_nothing)
{
    static const struct {
        const char *args, *msg;
    } bad[] = {
        {"--explain bogus", "--explain expects an event as the timeline names it"},
        {"--explain e100000", "no event e100000 in this run"},
        {"--user u99", "no user u99 in this run"},
        {"--user x", "--user expects a user"},
        {"--conn c999", "no connection c999"},
        {"--thread u1/", "--thread expects t1 or u3/t1"},
        {"--from 5", "--from expects a time with a unit"},
        {"--from 2s --to 1s", "--from is after --to"},
        {"--explain", "--explain needs a value"},
    };
    mkdir_tmp();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out, *err, path[128];
        snprintf(path, sizeof path, "%s/tl.txt", dir);
        int rc = cli_run(dir, &out, &err,
                         "replay " LEGACY_SCENARIO " --seed 1 --profile legacy --timeline %s "
                         "--trace %s/t.json %s",
                         path, dir, bad[i].args);
        ck_assert_msg(rc == 2, "%s: rc %d", bad[i].args, rc);
        ck_assert_msg(strstr(err, bad[i].msg) != NULL, "%s: stderr '%s'", bad[i].args, err);
        ck_assert_msg(access(path, F_OK) != 0, "%s: wrote the timeline", bad[i].args);
        free(out);
        free(err);
    }
    rm_tmp();
}
END_TEST

START_TEST(test_timeline_cli_explain_and_timeline_file)
{
    mkdir_tmp();
    char *out, *err, path[128];
    snprintf(path, sizeof path, "%s/tl.txt", dir);
    int rc = cli_run(dir, &out, &err,
                     "replay " LEGACY_SCENARIO " --seed 1 --profile legacy --explain e0 "
                     "--timeline %s --user u17",
                     path);
    ck_assert_int_eq(rc, 1); /* the seed fails */
    ck_assert_msg(strstr(out, "e0 = m17.0 agent_started") == out, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "verdict: FAIL: silent_loss"));
    char *tl = cli_slurp(path);
    ck_assert_ptr_nonnull(tl);
    ck_assert_ptr_nonnull(strstr(tl, " u17.0      send            msg=17 thread=t1"));
    ck_assert_ptr_null(strstr(tl, " u16.0 "));
    free(tl);
    free(out);
    free(err);
    rc = cli_run(dir, &out, &err, "replay --help");
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(out, "--explain EV"));
    ck_assert_ptr_nonnull(strstr(out, "m17.3"));
    free(out);
    free(err);
    rm_tmp();
}
END_TEST

static Suite *timeline_suite(void)
{
    Suite *s = suite_create("timeline");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_timeline_human_units);
    tcase_add_test(tc, test_timeline_annotation_keeps_the_hash);
    tcase_add_test(tc, test_timeline_verdict_on_every_emit_line);
    tcase_add_test(tc, test_timeline_one_message_id_space);
    tcase_add_test(tc, test_timeline_filters);
    tcase_add_test(tc, test_timeline_bad_filters);
    tcase_add_test(tc, test_timeline_explain_legacy_loss);
    tcase_add_test(tc, test_timeline_explain_ablated_stray);
    tcase_add_test(tc, test_timeline_plain_records_render);
    tcase_add_test(tc, test_timeline_never_emitted_event);
    tcase_add_test(tc, test_timeline_cli_bad_input_exits_2_and_writes_nothing);
    tcase_add_test(tc, test_timeline_cli_explain_and_timeline_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(timeline_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
