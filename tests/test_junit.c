/*
 * test_junit.c - JUnit XML: structure, counts, replay lines, and
 * well-formedness (xmllint --noout) whatever the text in the results.
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

#include "reports/junit.h"
#include "reports/replay.h"
#include "reports/synth.h"
#include "reports/text.h"
#include "sim/verdict.h"
#include "tests/lib/rep_fixture.h"

static void setup(void)
{
    fx_tmp_setup("junit");
}

/* xmllint --noout PATH: its exit status (127 when missing). */
static int xmllint(const char *path)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execlp("xmllint", "xmllint", "--noout", path, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The string value of an XPath expression over doc (caller frees). */
static char *xpath_str(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    ck_assert_ptr_nonnull(ctx);
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    ck_assert_ptr_nonnull(o);
    xmlChar *s = xmlXPathCastToString(o);
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    char *r = strdup((const char *)s);
    xmlFree(s);
    return r;
}

static double xpath_num(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    ck_assert_ptr_nonnull(o);
    double v = xmlXPathCastToNumber(o);
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    return v;
}

static void sweep(sim_sweep_result *r, const char *scenario, const char *profile,
                  const char *policy, double rate, uint32_t seeds)
{
    rep_synth_spec sp = {.scenario = scenario,
                         .profile = profile,
                         .policy = policy,
                         .rate = rate,
                         .events_per_seed = 30,
                         .expect_rate = 0.99,
                         .latency_ns = 10000000,
                         .salt = 3};
    ck_assert_int_eq(rep_synth_sweep(&sp, NULL, seeds, r), 0);
}

START_TEST(test_junit_structure_counts_and_replay_lines)
{
    sim_sweep_result *r = calloc(3, sizeof *r);
    ck_assert_ptr_nonnull(r);
    sweep(&r[0], "message_before_thread", "fixed", NULL, 1.0, 8);
    sweep(&r[1], "message_before_thread", "legacy", NULL, 0.8, 8);
    sweep(&r[2], "rapid_thread_switching", "fixed", "exec_grace=1s", 1.0, 8);
    ck_assert_int_eq(r[0].pass, 1);
    ck_assert_int_eq(r[1].pass, 0);
    ck_assert_int_gt(r[1].failed_seeds, 0);
    const sim_sweep_result *v[3] = {&r[0], &r[1], &r[2]};
    char path[512], err[256] = "";
    snprintf(path, sizeof path, "%s/sub/junit.xml", fx_tmp);
    ck_assert_msg(rep_junit_write(path, v, 3, "ctxsim-suite", err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(xmllint(path), 0);

    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    ck_assert_double_eq(xpath_num(doc, "number(/testsuites/testsuite/@tests)"), 3);
    ck_assert_double_eq(xpath_num(doc, "number(/testsuites/testsuite/@failures)"), 1);
    ck_assert_double_eq(xpath_num(doc, "number(/testsuites/@failures)"), 1);
    ck_assert_double_eq(xpath_num(doc, "count(//testcase)"), 3);
    ck_assert_double_eq(xpath_num(doc, "count(//testcase/failure)"), 1);
    char *s = xpath_str(doc, "/testsuites/testsuite/@name");
    ck_assert_str_eq(s, "ctxsim-suite");
    free(s);
    s = xpath_str(doc, "//testcase[3]/@name");
    ck_assert_str_eq(s, "rapid_thread_switching exec_grace=1s");
    free(s);
    s = xpath_str(doc, "//testcase[2]/@classname");
    ck_assert_str_eq(s, "ctxsim.legacy");
    free(s);
    s = xpath_str(doc, "//testcase[2]/failure/@message");
    ck_assert_str_eq(s, r[1].reason);
    free(s);
    /* the failure text lists every failing seed's replay line and the counts */
    char *body = xpath_str(doc, "//testcase[2]/failure");
    char line[1024];
    uint32_t listed = 0;
    /* failing seeds first, then the worst, at most REP_JUNIT_REPLAYS */
    uint32_t idx[64];
    size_t total = 0, k = sim_sweep_replay_seeds(&r[1], idx, REP_JUNIT_REPLAYS, &total);
    ck_assert_uint_gt(k, 0);
    for (uint32_t i = 0; i < r[1].nseeds; i++) {
        ck_assert_int_eq(rep_replay_command(&r[1], r[1].seeds[i].seed, line, sizeof line), 0);
        strcat(line, "   #"); /* the whole line, not a prefix of seed 1x */
        int want = 0;
        for (size_t j = 0; j < k; j++)
            want |= idx[j] == i;
        if (want) {
            ck_assert_msg(strstr(body, line) != NULL, "missing %s", line);
            listed++;
        } else {
            ck_assert_ptr_null(strstr(body, line));
        }
    }
    ck_assert_uint_eq(listed, k);
    if (total > k)
        ck_assert_ptr_nonnull(strstr(body, "... and "));
    char cnt[64];
    snprintf(cnt, sizeof cnt, "delivered=%llu", (unsigned long long)r[1].c[SIM_COUNT_DELIVERED]);
    ck_assert_ptr_nonnull(strstr(body, cnt));
    free(body);
    xmlFreeDoc(doc);
    for (int i = 0; i < 3; i++)
        free(r[i].seeds);
    free(r);
}
END_TEST

START_TEST(test_junit_hostile_text_stays_well_formed)
{
    sim_sweep_result *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    sweep(r, "weird", "fixed", "a=<b>&\"c\"", 0.5, 4);
    ck_assert_int_eq(r->pass, 0);
    snprintf(r->reason, sizeof r->reason,
             "bad <tag> & \"quote\" 'apos' \x01\x1b ctl \xff\xfe bytes "
             "\xc3\xa9t\xc3\xa9 ]]> end");
    snprintf(r->seeds[0].reason, sizeof r->seeds[0].reason, "seed \x02 <x> \xe2\x82");
    r->seeds[0].pass = 0;
    const sim_sweep_result *v[1] = {r};
    char path[512], err[256] = "";
    snprintf(path, sizeof path, "%s/junit.xml", fx_tmp);
    ck_assert_int_eq(rep_junit_write(path, v, 1, "s<&>", err, sizeof err), 0);
    ck_assert_int_eq(xmllint(path), 0);
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    char *msg = xpath_str(doc, "//testcase/failure/@message");
    char clean[512];
    rep_utf8_clean(r->reason, clean, sizeof clean);
    ck_assert_str_eq(msg, clean); /* kept, with only the invalid bytes replaced */
    ck_assert_ptr_nonnull(strstr(msg, "\xc3\xa9t\xc3\xa9"));
    free(msg);
    char *name = xpath_str(doc, "//testcase/@name");
    ck_assert_str_eq(name, "weird a=<b>&\"c\"");
    free(name);
    xmlFreeDoc(doc);
    free(r->seeds);
    free(r);
}
END_TEST

START_TEST(test_junit_empty_and_unwritable)
{
    char path[512], err[256] = "";
    snprintf(path, sizeof path, "%s/empty.xml", fx_tmp);
    ck_assert_int_eq(rep_junit_write(path, NULL, 0, NULL, err, sizeof err), 0);
    ck_assert_int_eq(xmllint(path), 0);
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    ck_assert_double_eq(xpath_num(doc, "number(/testsuites/testsuite/@tests)"), 0);
    xmlFreeDoc(doc);
    /* a directory in the way: an error, no file */
    snprintf(path, sizeof path, "%s/dir.xml", fx_tmp);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    ck_assert_int_eq(rep_junit_write(path, NULL, 0, NULL, err, sizeof err), -1);
    ck_assert_uint_gt(strlen(err), 0);
}
END_TEST

START_TEST(test_junit_ablation_names_are_unique)
{
    sim_sweep_result *r = calloc(2, sizeof *r);
    ck_assert_ptr_nonnull(r);
    sweep(&r[0], "flood", "fixed", NULL, 1.0, 2);
    sweep(&r[1], "flood", "fixed", NULL, 1.0, 2);
    r[1].ablated_fix = 5;
    const sim_sweep_result *v[2] = {&r[0], &r[1]};
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/j.xml", fx_tmp);
    ck_assert_int_eq(rep_junit_write(path, v, 2, "x", err, sizeof err), 0);
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    char *a = xpath_str(doc, "//testcase[1]/@name"), *b = xpath_str(doc, "//testcase[2]/@name");
    ck_assert_str_ne(a, b);
    ck_assert_ptr_nonnull(strstr(b, "F5"));
    free(a);
    free(b);
    xmlFreeDoc(doc);
    free(r[0].seeds);
    free(r[1].seeds);
    free(r);
}
END_TEST

static Suite *junit_suite(void)
{
    Suite *s = suite_create("junit");
    TCase *tc = tcase_create("junit");
    tcase_add_checked_fixture(tc, setup, fx_tmp_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_junit_structure_counts_and_replay_lines);
    tcase_add_test(tc, test_junit_hostile_text_stays_well_formed);
    tcase_add_test(tc, test_junit_empty_and_unwritable);
    tcase_add_test(tc, test_junit_ablation_names_are_unique);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(junit_suite());
}
