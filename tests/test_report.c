/*
 * test_report.c - `ctxsim report`: gnuplot charts (PNG and SVG) from a
 * realistic database, index.html and summary.md with the numbers behind
 * them, escaping, and the refusals (no database, empty database, no
 * gnuplot) that must leave nothing broken behind.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reports/chart.h"
#include "reports/query.h"
#include "reports/report.h"
#include "reports/store.h"
#include "reports/synth.h"
#include "tests/lib/rep_fixture.h"

static char db[512];
static char dir[512];

static void setup(void)
{
    fx_tmp_setup("report");
    snprintf(db, sizeof db, "%s/results.db", fx_tmp);
    snprintf(dir, sizeof dir, "%s/report", fx_tmp);
}

static char out[1 << 16];

static const char *const suite_names[] = {
    "connection_without_thread", "message_before_thread",
    "rapid_thread_switching",    "many_simultaneous_connections",
    "agent_before_ready",        "context_update_failures",
    "messages_before_auth",      "pool_pending_contexts",
    "disconnect_reconnect",      "multi_tab_threads",
    "foreign_thread_probe",      "message_flood"};
#define NSCEN (sizeof suite_names / sizeof suite_names[0])

/*
 * Records `runs` runs of the suite, legacy and fixed; the last one also
 * has an ablation sweep per (scenario, fix) when `ablation`.  Returns the
 * last run id.
 */
static int64_t record_suite(int runs, int ablation, int legacy, const char *last_label)
{
    rep_store *s = fx_store_open(db);
    int64_t id = 0;
    for (int run = 0; run < runs; run++) {
        rep_run_meta m = {.label = run + 1 == runs ? last_label : "ci",
                          .git_rev = "abc123",
                          .tool_version = "0.1.0",
                          .args = "ctxsim run --seeds 12",
                          .started_at = 1764000000 + run};
        ck_assert_int_eq(rep_run_begin(s, &m, &id), 0);
        for (size_t i = 0; i < NSCEN; i++) {
            for (int p = legacy ? 0 : 1; p < 2; p++) {
                rep_synth_spec sp = {.scenario = suite_names[i],
                                     .profile = p ? "fixed" : "legacy",
                                     .rate =
                                         p ? 0.998 - 0.001 * (double)i : 0.86 - 0.01 * (double)i,
                                     .events_per_seed = 40,
                                     .expect_rate = 0.99,
                                     .latency_ns = 15000000 + 2000000 * (uint64_t)i,
                                     .salt = (uint64_t)run};
                fx_add_sweep(s, id, &sp, NULL, 12);
            }
            for (int k = 1; ablation && run + 1 == runs && k <= 9; k++) {
                char pol[32];
                snprintf(pol, sizeof pol, "fix%d=0", k);
                rep_synth_spec sp = {.scenario = suite_names[i],
                                     .profile = "fixed",
                                     .policy = pol,
                                     .ablated_fix = k,
                                     .rate = (k + (int)i) % 4 == 0 ? 0.7 : 0.995,
                                     .events_per_seed = 30,
                                     .expect_rate = 0.99,
                                     .salt = 9};
                fx_add_sweep(s, id, &sp, NULL, 6);
            }
        }
        ck_assert_int_eq(rep_run_finish(s, id, "complete"), 0);
    }
    rep_store_close(s);
    return id;
}

static int file_in(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", dir, name);
    struct stat st;
    return stat(buf, &st) == 0 && st.st_size > 0;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    return b;
}

static void check_png(const char *name)
{
    char p[700];
    ck_assert_msg(file_in(name, p, sizeof p), "%s missing", name);
    FILE *f = fopen(p, "rb");
    unsigned char sig[8];
    ck_assert_int_eq(fread(sig, 1, 8, f), 8);
    fclose(f);
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    ck_assert_msg(memcmp(sig, png, 8) == 0, "%s is not a PNG", name);
}

static void check_svg(const char *name)
{
    char p[700];
    ck_assert_msg(file_in(name, p, sizeof p), "%s missing", name);
    xmlDocPtr doc = xmlReadFile(p, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    ck_assert_msg(doc != NULL, "%s is not well-formed", name);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    ck_assert_str_eq((const char *)root->name, "svg");
    xmlFreeDoc(doc);
}

START_TEST(test_report_draws_every_chart_and_embeds_them)
{
    record_suite(3, 1, 1, "nightly");
    const char *a[] = {"report", "--db", db, "--out", dir, NULL};
    ck_assert_msg(fx_run_cmd(rep_cmd_report, a, NULL, out, sizeof out) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "index.html"));
    static const char *const charts[] = {"rate",           "trend",       "outcomes_legacy",
                                         "outcomes_fixed", "latency_cdf", "ablation"};
    char p[700];
    for (size_t i = 0; i < sizeof charts / sizeof charts[0]; i++) {
        char n[64];
        snprintf(n, sizeof n, "%s.png", charts[i]);
        check_png(n);
        snprintf(n, sizeof n, "%s.svg", charts[i]);
        check_svg(n);
        snprintf(n, sizeof n, "%s.dat", charts[i]);
        ck_assert_msg(file_in(n, p, sizeof p), "%s", n);
        snprintf(n, sizeof n, "%s.gp", charts[i]);
        ck_assert_msg(file_in(n, p, sizeof p), "%s", n);
        /* gnuplot said nothing: no warnings about the data or the script */
        snprintf(n, sizeof n, "%s.log", charts[i]);
        file_in(n, p, sizeof p);
        ck_assert_msg(!exists(p), "gnuplot complained, see %s", p);
    }
    /* index.html is well-formed and holds every chart inline */
    ck_assert(file_in("index.html", p, sizeof p));
    xmlDocPtr doc = xmlReadFile(p, NULL, XML_PARSE_NONET);
    ck_assert_msg(doc != NULL, "index.html is not well-formed");
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr imgs = xmlXPathEvalExpression(BAD_CAST "//img", ctx);
    ck_assert_int_eq(xmlXPathNodeSetGetLength(imgs->nodesetval), 0);
    xmlXPathFreeObject(imgs);
    xmlXPathObjectPtr svgs =
        xmlXPathEvalExpression(BAD_CAST "//*[local-name()='svg' and @class='chart']", ctx);
    ck_assert_int_eq(xmlXPathNodeSetGetLength(svgs->nodesetval), 6);
    xmlXPathFreeObject(svgs);
    /* one table per chart at least, plus the run and the results */
    xmlXPathObjectPtr tables = xmlXPathEvalExpression(BAD_CAST "//table", ctx);
    ck_assert_int_ge(xmlXPathNodeSetGetLength(tables->nodesetval), 8);
    xmlXPathFreeObject(tables);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    /* summary.md embeds the PNGs and tabulates */
    ck_assert(file_in("summary.md", p, sizeof p));
    char *md = slurp(p);
    ck_assert_ptr_nonnull(strstr(md, "![Delivery rate per scenario](rate.png)"));
    ck_assert_ptr_nonnull(strstr(md, "| scenario |"));
    ck_assert_ptr_nonnull(strstr(md, "ctxsim replay "));
    free(md);
}
END_TEST

/* The numbers in rate.dat are the database's, recomputed from the counts. */
START_TEST(test_report_chart_data_matches_the_database)
{
    int64_t run = record_suite(1, 0, 1, "one");
    const char *a[] = {"report", "--db", db, "--out", dir, NULL};
    ck_assert_msg(fx_run_cmd(rep_cmd_report, a, NULL, out, sizeof out) == 0, "%s", out);
    rep_store *s = NULL;
    char err[256];
    ck_assert_int_eq(rep_store_open_existing(db, &s, err, sizeof err), 0);
    rep_sweep *v = NULL;
    size_t n = 0;
    ck_assert_int_eq(rep_sweeps_load(s, run, 0, &v, &n), 0);
    char p[700];
    ck_assert(file_in("rate.dat", p, sizeof p));
    FILE *f = fopen(p, "r");
    char line[1024];
    size_t rows = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        int idx;
        char name[64];
        double lr, llo, lhi, fr, flo, fhi, gate;
        ck_assert_int_eq(sscanf(line, "%d \"%63[^\"]\" %lf %lf %lf %lf %lf %lf %lf", &idx, name,
                                &lr, &llo, &lhi, &fr, &flo, &fhi, &gate),
                         9);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(v[i].r.scenario, name) != 0)
                continue;
            const sim_sweep_result *r = &v[i].r;
            double want =
                100.0 * (double)r->c[SIM_COUNT_DELIVERED] / (double)r->c[SIM_COUNT_EXPECTED];
            double got = strcmp(r->profile, "legacy") == 0 ? lr : fr;
            ck_assert_double_eq_tol(got, want, 1e-3);
            ck_assert_double_eq_tol(gate, 100 * r->expect_rate, 1e-3);
        }
        rows++;
    }
    fclose(f);
    ck_assert_uint_eq(rows, NSCEN);
    rep_sweeps_free(v, n);
    rep_store_close(s);
}
END_TEST

START_TEST(test_report_escapes_text_from_the_database)
{
    record_suite(1, 0, 0, "<script>alert(1)</script> & \"x\"");
    const char *a[] = {"report", "--db", db, "--out", dir, NULL};
    ck_assert_msg(fx_run_cmd(rep_cmd_report, a, NULL, out, sizeof out) == 0, "%s", out);
    char p[700];
    ck_assert(file_in("index.html", p, sizeof p));
    char *html = slurp(p);
    ck_assert_ptr_null(strstr(html, "<script>"));
    ck_assert_ptr_nonnull(
        strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"));
    free(html);
    xmlDocPtr doc = xmlReadFile(p, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    xmlFreeDoc(doc);
    ck_assert(file_in("summary.md", p, sizeof p));
    char *md = slurp(p);
    ck_assert_ptr_null(strstr(md, "<script>"));
    free(md);
    /* only the fixed profile and no ablation: those charts are not drawn */
    ck_assert(!file_in("ablation.png", p, sizeof p));
    ck_assert(!file_in("outcomes_legacy.png", p, sizeof p));
    check_png("rate.png");
}
END_TEST

START_TEST(test_report_refuses_missing_or_empty_database)
{
    const char *a[] = {"report", "--db", db, "--out", dir, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_report, a, NULL, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "no database") != NULL, "%s", out);
    ck_assert(!exists(db));  /* not created */
    ck_assert(!exists(dir)); /* nothing written */
    rep_store *s = NULL;
    char err[256];
    ck_assert_int_eq(rep_store_open(db, &s, err, sizeof err), 0);
    rep_store_close(s);
    ck_assert_int_eq(fx_run_cmd(rep_cmd_report, a, NULL, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "no runs") != NULL, "%s", out);
    ck_assert(!exists(dir));
    record_suite(1, 0, 1, "x");
    const char *b[] = {"report", "--db", db, "--out", dir, "--run", "nosuch", NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_report, b, NULL, out, sizeof out), 2);
    ck_assert(!exists(dir));
    const char *c[] = {"report", "--bogus", NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_report, c, NULL, out, sizeof out), 2);
    const char *h[] = {"report", "--help", NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_report, h, NULL, out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: ctxsim report"));
}
END_TEST

START_TEST(test_report_without_gnuplot_names_the_package)
{
    record_suite(1, 0, 1, "x");
    const char *a[] = {"report", "--db", db, "--out", dir, NULL};
    ck_assert_int_eq(fx_run_cmd(rep_cmd_report, a, "/nonexistent", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "gnuplot") && strstr(out, REP_GNUPLOT_PACKAGE), "%s", out);
    char p[700];
    ck_assert(!file_in("index.html", p, sizeof p));
}
END_TEST

START_TEST(test_report_marks_an_incomplete_run)
{
    record_suite(1, 0, 1, "x");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        rep_store *s = NULL;
        char err[256];
        if (rep_store_open(db, &s, err, sizeof err) != 0)
            _exit(3);
        rep_run_meta m = {.label = "killed"};
        int64_t run;
        rep_synth_spec sp = {.scenario = "message_flood",
                             .profile = "fixed",
                             .rate = 0.99,
                             .events_per_seed = 10,
                             .expect_rate = 0.9};
        sim_sweep_result r;
        if (rep_run_begin(s, &m, &run) || rep_synth_sweep(&sp, NULL, 3, &r) ||
            rep_run_add_sweep(s, run, &r))
            _exit(4);
        _exit(0); /* dies without finishing the run */
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    const char *a[] = {"report", "--db", db, "--out", dir, NULL};
    ck_assert_msg(fx_run_cmd(rep_cmd_report, a, NULL, out, sizeof out) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "incomplete"));
    char p[700];
    ck_assert(file_in("index.html", p, sizeof p));
    char *html = slurp(p);
    ck_assert_ptr_nonnull(strstr(html, "incomplete"));
    free(html);
    /* the trend shows it, marked */
    ck_assert(file_in("trend.dat", p, sizeof p));
    char *dat = slurp(p);
    ck_assert_ptr_nonnull(strstr(dat, "killed (incomplete)"));
    free(dat);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_add_checked_fixture(tc, setup, fx_tmp_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_report_draws_every_chart_and_embeds_them);
    tcase_add_test(tc, test_report_chart_data_matches_the_database);
    tcase_add_test(tc, test_report_escapes_text_from_the_database);
    tcase_add_test(tc, test_report_refuses_missing_or_empty_database);
    tcase_add_test(tc, test_report_without_gnuplot_names_the_package);
    tcase_add_test(tc, test_report_marks_an_incomplete_run);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(report_suite());
}
