/*
 * test_report_html.c - the report as its readers see it: index.html opens
 * with the verdict `ctxsim gate` gives on the same database (pass, fail,
 * and a failure only the baseline comparison finds), references no file,
 * summary.md opens with its five-line headline, the charts carry the gate
 * line, the deadline and the knob names, and headless Chromium draws every
 * chart without anything wider than a 1400 px window.
 *
 * The browser test needs Debian's chromium (an optional dependency:
 * `apt-get install chromium`); without /usr/bin/chromium (or $CHROMIUM) it
 * is skipped with a message, the other tests still run.
 */
#include <check.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reports/gate.h"
#include "reports/report.h"
#include "reports/store.h"
#include "reports/synth.h"
#include "tests/lib/rep_fixture.h"

static char db[512];
static char dir[512];
static char out[1 << 16];

static void setup(void)
{
    fx_tmp_setup("report-html");
    snprintf(db, sizeof db, "%s/results.db", fx_tmp);
    snprintf(dir, sizeof dir, "%s/report", fx_tmp);
}

/* Scenarios with a file under scenarios/ (their deadline is read from it). */
static const char *const scen[] = {"message_before_thread", "rapid_thread_switching",
                                   "message_flood", "buffer_bounds"};
#define NSCEN (sizeof scen / sizeof scen[0])

/*
 * Records one complete run: legacy and fixed per scenario (fixed at
 * fixed_rate[i], every expect 0.99 unless expect >= 0 says otherwise) and,
 * when ablation, one sweep per scenario and fix.  Returns its id.
 */
static int64_t record(const double *fixed_rate, double expect, int events, int ablation,
                      uint64_t salt)
{
    rep_store *s = fx_store_open(db);
    int64_t id = 0;
    rep_run_meta m = {.label = "t", .started_at = 1764000000 + (int64_t)salt};
    ck_assert_int_eq(rep_run_begin(s, &m, &id), 0);
    for (size_t i = 0; i < NSCEN; i++) {
        for (int p = 0; p < 2; p++) {
            rep_synth_spec sp = {.scenario = scen[i],
                                 .profile = p ? "fixed" : "legacy",
                                 .rate = p ? fixed_rate[i] : 0.6,
                                 .events_per_seed = (uint32_t)events,
                                 .expect_rate = expect >= 0 ? expect : 0.99,
                                 .latency_ns = 20000000,
                                 .salt = salt,
                                 .role = p ? 0 : 1};
            fx_add_sweep(s, id, &sp, NULL, 10);
        }
        for (int k = 1; ablation && k <= 9; k++) {
            char pol[32];
            snprintf(pol, sizeof pol, "fix%d=0", k);
            rep_synth_spec sp = {.scenario = scen[i],
                                 .profile = "fixed",
                                 .policy = pol,
                                 .ablated_fix = k,
                                 .rate = (k + (int)i) % 3 == 0 ? 0.6 : 1.0,
                                 .events_per_seed = 20,
                                 .expect_rate = 0.99,
                                 .salt = 3,
                                 .role = 1,
                                 .matrix = 1};
            fx_add_sweep(s, id, &sp, NULL, 4);
        }
    }
    ck_assert_int_eq(rep_run_finish(s, id, "complete"), 0);
    rep_store_close(s);
    return id;
}

static char *slurp(const char *name)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    ck_assert_msg(f != NULL, "%s", p);
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

/* Runs the report and the gate on db; returns the gate's exit code. */
static int report_and_gate(void)
{
    const char *a[] = {"report", "--db", db, "--out", dir, NULL};
    ck_assert_msg(fx_run_cmd(rep_cmd_report, a, NULL, out, sizeof out) == 0, "%s", out);
    const char *g[] = {"gate", "--db", db, NULL};
    return fx_run_cmd(rep_cmd_gate, g, NULL, out, sizeof out);
}

/*
 * The verdict block is the first thing after the title, says what the gate
 * says, and summary.md opens with the five headline lines saying the same.
 */
static void check_verdict(int gate_code)
{
    ck_assert(gate_code == 0 || gate_code == 1);
    const char *word = gate_code ? "FAIL" : "PASS";
    char p[700];
    snprintf(p, sizeof p, "%s/index.html", dir);
    xmlDocPtr doc = xmlReadFile(p, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
    ck_assert_msg(doc != NULL, "index.html is not well-formed");
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr first = xmlXPathEvalExpression(BAD_CAST "/html/body/*[2]", ctx);
    ck_assert_int_eq(xmlXPathNodeSetGetLength(first->nodesetval), 1);
    xmlNodePtr sec = first->nodesetval->nodeTab[0];
    xmlChar *id = xmlGetProp(sec, BAD_CAST "id"), *cls = xmlGetProp(sec, BAD_CAST "class");
    ck_assert_str_eq((const char *)sec->name, "section");
    ck_assert_str_eq((const char *)id, "verdict");
    ck_assert_str_eq((const char *)cls, gate_code ? "verdict v-fail" : "verdict v-pass");
    xmlFree(id);
    xmlFree(cls);
    xmlChar *text = xmlNodeGetContent(sec);
    char want[64];
    snprintf(want, sizeof want, "%s: run #", word);
    ck_assert_msg(
        strncmp((const char *)text + strspn((const char *)text, " \n"), want, strlen(want)) == 0,
        "%s", (const char *)text);
    if (gate_code)
        ck_assert_ptr_nonnull(strstr((const char *)text, "What failed and why"));
    xmlFree(text);
    xmlXPathFreeObject(first);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);

    char *md = slurp("summary.md");
    static const char *const lines[5] = {"# ", "- **Counts**: ", "- **Worst miss**: ",
                                         "- **Replay**: ", "- **Full report**: index.html"};
    const char *l = md;
    for (int i = 0; i < 5; i++) {
        ck_assert_msg(strncmp(l, lines[i], strlen(lines[i])) == 0, "line %d: %.80s", i + 1, l);
        if (i == 0)
            ck_assert_msg(strncmp(l + 2, word, 4) == 0, "%.80s", l);
        l = strchr(l, '\n');
        ck_assert_ptr_nonnull(l);
        l++;
    }
    ck_assert_msg(*l == '\n', "the headline is five lines, then a blank line: %.80s", l);
    free(md);
}

START_TEST(test_report_html_verdict_agrees_with_the_gate_on_pass)
{
    const double r[NSCEN] = {0.999, 0.999, 0.999, 0.999};
    record(r, -1, 60, 1, 1);
    int code = report_and_gate();
    ck_assert_msg(code == 0, "%s", out);
    check_verdict(code);
    char *md = slurp("summary.md");
    ck_assert_ptr_nonnull(strstr(md, "- **Replay**: none"));
    free(md);
}
END_TEST

START_TEST(test_report_html_verdict_agrees_with_the_gate_on_fail)
{
    const double r[NSCEN] = {0.999, 0.80, 0.999, 0.999};
    record(r, -1, 60, 1, 1);
    int code = report_and_gate();
    ck_assert_msg(code == 1, "%s", out);
    check_verdict(code);
    char *md = slurp("summary.md");
    /* the worst miss names the failing sweep; the replay line is pasteable */
    const char *w = strstr(md, "- **Worst miss**: ");
    ck_assert_ptr_nonnull(w);
    ck_assert_msg(strncmp(w + 18, "rapid\\_thread\\_switching / fixed", 32) == 0, "%.120s", w);
    ck_assert_ptr_nonnull(strstr(md, "- **Replay**: ` ctxsim replay "));
    free(md);
    char *html = slurp("index.html");
    ck_assert_ptr_nonnull(strstr(html, "<pre class=\"replay\" id=\"replay\">ctxsim replay "));
    free(html);
}
END_TEST

/* Every expectation holds, but a rate fell against the baseline: only the
 * gate's own comparison sees it, and the report must say FAIL too. */
START_TEST(test_report_html_verdict_agrees_with_the_gate_on_a_regression)
{
    const double before[NSCEN] = {0.9999, 0.9999, 0.9999, 0.9999};
    const double after[NSCEN] = {0.9999, 0.93, 0.9999, 0.9999};
    record(before, 0.5, 400, 0, 1);
    record(after, 0.5, 400, 0, 2);
    int code = report_and_gate();
    ck_assert_msg(code == 1 && strstr(out, "regression"), "%s", out);
    check_verdict(code);
    char *html = slurp("index.html");
    ck_assert_ptr_nonnull(strstr(html, "regression: "));
    free(html);
}
END_TEST

/* Nothing beside index.html is needed: no src=, no href= but #fragments,
 * no script or stylesheet file; every chart is inline. */
START_TEST(test_report_html_is_self_contained)
{
    const double r[NSCEN] = {0.999, 0.80, 0.999, 0.999};
    record(r, -1, 60, 1, 1);
    record(r, -1, 60, 1, 2);
    report_and_gate();
    char *html = slurp("index.html");
    ck_assert_ptr_null(strstr(html, "src="));
    ck_assert_ptr_null(strstr(html, "<script"));
    ck_assert_ptr_null(strstr(html, "<link"));
    ck_assert_ptr_null(strstr(html, "gnuplot_svg."));
    for (const char *p = html; (p = strstr(p, "href=")) != NULL; p += 5) {
        char q = p[5];
        ck_assert_msg((q == '"' || q == '\'') && p[6] == '#', "a reference to a file: %.60s", p);
    }
    size_t svgs = 0;
    for (const char *p = html; (p = strstr(p, "<svg class=\"chart\"")) != NULL; p++)
        svgs++;
    ck_assert_uint_eq(svgs, 6);
    /* ids are prefixed per chart: no two charts define the same one */
    ck_assert_ptr_nonnull(strstr(html, "id='rate-gpPt0'"));
    ck_assert_ptr_nonnull(strstr(html, "id='trend-gpPt0'"));
    ck_assert_ptr_null(strstr(html, "id='gpPt0'"));
    /* the table is collapsed by profile, the failing group open */
    ck_assert_ptr_nonnull(strstr(html, "<details open=\"open\"><summary>fixed: "));
    ck_assert_ptr_nonnull(strstr(html, "<details><summary>legacy: "));
    free(html);
}
END_TEST

/* The charts say what the issue asks them to: the gate, its margin, the
 * deadline, knob names, failing sweeps red; points have hover titles. */
START_TEST(test_report_html_charts_show_gate_deadline_and_knobs)
{
    const double r[NSCEN] = {0.999, 0.80, 0.999, 0.999};
    record(r, -1, 60, 1, 1);
    const double r2[NSCEN] = {0.999, 0.90, 0.999, 0.95};
    record(r2, -1, 60, 1, 2);
    report_and_gate();
    char *rate = slurp("rate.svg");
    ck_assert_ptr_nonnull(strstr(rate, "gate: expect delivery_rate"));
    ck_assert_ptr_nonnull(strstr(rate, "Margin to the gate"));
    ck_assert_ptr_nonnull(strstr(rate, "fixed: FAILS CI"));
    ck_assert_ptr_nonnull(strstr(rate, "<title>rapid_thread_switching / fixed: ")); /* hover */
    free(rate);
    /* a failing fixed sweep is drawn red, never green */
    char *gp = slurp("rate.gp");
    ck_assert_ptr_nonnull(strstr(gp, "($11 == 1 ? $6 : NaN) with boxes lc rgb '#d62728'"));
    ck_assert_ptr_nonnull(strstr(gp, "($11 == 0 ? $6 : NaN) with boxes lc rgb '#2ca02c'"));
    free(gp);
    char *dat = slurp("rate.dat");
    const char *row = strstr(dat, "\"rapid_thread_switching\"");
    ck_assert_ptr_nonnull(row);
    double v[10];
    ck_assert_int_eq(sscanf(row + 24, "%lf %lf %lf %lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2],
                            &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]),
                     9);
    ck_assert_double_eq(v[8], 1); /* fixed_fails_ci */
    free(dat);
    char *trend = slurp("trend.svg");
    ck_assert_ptr_nonnull(strstr(trend, "gate 99%"));
    /* moved scenarios are named in the key, steady ones are not */
    ck_assert_ptr_nonnull(strstr(trend, ">rapid_thread_switching</text>"));
    ck_assert_ptr_null(strstr(trend, ">message_flood</text>"));
    ck_assert_ptr_nonnull(strstr(trend, "steady"));
    free(trend);
    char *lat = slurp("latency_cdf.svg");
    ck_assert_ptr_nonnull(strstr(lat, "deadline 5 s"));  /* message_before_thread.yaml */
    ck_assert_ptr_nonnull(strstr(lat, "deadline 10 s")); /* buffer_bounds.yaml */
    ck_assert_ptr_nonnull(strstr(lat, ">legacy</text>"));
    free(lat);
    char *abl = slurp("ablation.svg");
    ck_assert_ptr_nonnull(strstr(abl, "F2 exec_grace"));
    ck_assert_ptr_nonnull(strstr(abl, "F9 report_undeliverable"));
    ck_assert_ptr_nonnull(strstr(abl, " pp</text>")); /* the miss of a cell under its gate */
    free(abl);
}
END_TEST

static const char *chromium(void)
{
    const char *c = getenv("CHROMIUM");
    return c && *c ? c : "/usr/bin/chromium";
}

/*
 * Headless Chromium at 1400x900 loads a copy of index.html with a small
 * script that writes its measurements into the page; --dump-dom reads them
 * back: every chart drawn (an <svg> with a size and content), nothing wider
 * than the window outside a scrolling container, the verdict on the first
 * screen.  Bounded by timeout(1).
 */
START_TEST(test_report_html_renders_in_chromium)
{
    const double r[NSCEN] = {0.999, 0.80, 0.999, 0.999};
    record(r, -1, 60, 1, 1);
    record(r, -1, 60, 1, 2);
    report_and_gate();
    char *html = slurp("index.html");
    static const char js[] =
        "<script>\nwindow.addEventListener('load', function () {\n"
        "  var W = window.innerWidth, svgs = document.querySelectorAll('svg.chart');\n"
        "  var drawn = 0, over = 0, first = '';\n"
        "  svgs.forEach(function (s) { var r = s.getBoundingClientRect();\n"
        "    var n = s.querySelectorAll('path,rect,text,use,circle').length;\n"
        "    if (r.width > 200 && r.height > 100 && n > 20) drawn++; });\n"
        "  document.querySelectorAll('body *').forEach(function (e) {\n"
        "    var r = e.getBoundingClientRect();\n"
        "    if (r.width == 0 || r.right <= W + 1 || e.closest('.scroll')) return;\n"
        "    over++; if (!first) first = e.tagName; });\n"
        "  var v = document.getElementById('verdict').getBoundingClientRect();\n"
        "  var m = document.createElement('pre');\n"
        "  m.textContent = 'MEASURE ' + svgs.length + ' ' + drawn + ' ' +\n"
        "    document.documentElement.scrollWidth + ' ' + W + ' ' + over + ' ' +\n"
        "    Math.round(v.bottom) + ' ' + (first || '-') + ' END';\n"
        "  document.body.appendChild(m); });\n</script>\n";
    char page[700], dump[700], profile[700];
    snprintf(page, sizeof page, "%s/measure.html", dir);
    snprintf(dump, sizeof dump, "%s/dom.txt", fx_tmp);
    snprintf(profile, sizeof profile, "%s/chromium-profile", fx_tmp);
    FILE *f = fopen(page, "w");
    ck_assert_ptr_nonnull(f);
    char *body = strstr(html, "</body>");
    ck_assert_ptr_nonnull(body);
    fwrite(html, 1, (size_t)(body - html), f);
    fputs(js, f);
    fputs(body, f);
    ck_assert_int_eq(fclose(f), 0);
    free(html);
    char url[800], ud[800];
    snprintf(url, sizeof url, "file://%s", page);
    snprintf(ud, sizeof ud, "--user-data-dir=%s", profile);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        FILE *o = freopen(dump, "w", stdout);
        FILE *e = freopen("/dev/null", "w", stderr);
        (void)o;
        (void)e;
        setenv("DBUS_SESSION_BUS_ADDRESS", "disabled:", 1);
        execlp("timeout", "timeout", "60", chromium(), "--headless", "--no-sandbox",
               "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-dev-shm-usage",
               "--disable-background-networking", ud, "--window-size=1400,900",
               "--virtual-time-budget=3000", "--dump-dom", url, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "chromium failed (status %d)", st);
    char *dom = NULL;
    {
        FILE *d = fopen(dump, "rb");
        ck_assert_ptr_nonnull(d);
        static char buf[1 << 22];
        size_t n = fread(buf, 1, sizeof buf - 1, d);
        buf[n] = '\0';
        fclose(d);
        dom = buf;
    }
    /* the script's own text holds "MEASURE ' + ...": take the written one */
    const char *mpos = NULL;
    for (const char *p = dom; (p = strstr(p, "MEASURE ")) != NULL; p++)
        if (p[8] >= '0' && p[8] <= '9')
            mpos = p;
    ck_assert_msg(mpos != NULL, "no measurements in the DOM dump");
    int charts, drawn, sw, w, over, vbottom;
    char firsttag[64];
    ck_assert_int_eq(sscanf(mpos, "MEASURE %d %d %d %d %d %d %63s", &charts, &drawn, &sw, &w, &over,
                            &vbottom, firsttag),
                     7);
    ck_assert_int_eq(w, 1400);
    ck_assert_int_eq(charts, 6);
    ck_assert_msg(drawn == charts, "%d of %d charts drawn", drawn, charts);
    ck_assert_msg(sw <= w, "the page is %d px wide in a %d px window", sw, w);
    ck_assert_msg(over == 0, "%d elements wider than the window, first %s", over, firsttag);
    ck_assert_msg(vbottom > 0 && vbottom <= 900, "the verdict ends at %d px", vbottom);
}
END_TEST

static Suite *report_html_suite(int browser)
{
    Suite *s = suite_create("report_html");
    TCase *tc = tcase_create("report_html");
    tcase_add_checked_fixture(tc, setup, fx_tmp_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_report_html_verdict_agrees_with_the_gate_on_pass);
    tcase_add_test(tc, test_report_html_verdict_agrees_with_the_gate_on_fail);
    tcase_add_test(tc, test_report_html_verdict_agrees_with_the_gate_on_a_regression);
    tcase_add_test(tc, test_report_html_is_self_contained);
    tcase_add_test(tc, test_report_html_charts_show_gate_deadline_and_knobs);
    if (browser)
        tcase_add_test(tc, test_report_html_renders_in_chromium);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int browser = access(chromium(), X_OK) == 0;
    if (!browser)
        printf("test_report_html: SKIP test_report_html_renders_in_chromium: %s not found "
               "(optional: apt-get install chromium, or set CHROMIUM)\n",
               chromium());
    return fx_run_suite(report_html_suite(browser));
}
