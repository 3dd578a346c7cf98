/*
 * test_quote.c - never execute what you read (issue 13, finding 1): every
 * command line ctxsim prints goes through the one quoting function
 * (rep_shell_quote), and a line copied from any output (stdout, JSON,
 * summary.md, index.html, JUnit, shrink, check) and pasted into sh runs
 * exactly the command it names, with the arguments it names, and nothing
 * else.  The pasted lines run against a recorder standing in for ctxsim
 * (first on the line's path), which writes its argv to a file.  File names
 * the tool cannot print as they are (control characters, invalid UTF-8)
 * are refused (exit 2, nothing recorded); hostile labels reach gnuplot and
 * HTML only quoted and escaped.
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reports/report.h"
#include "reports/store.h"
#include "reports/text.h"
#include "tests/lib/cli_run.h"
#include "tests/lib/rep_fixture.h"
#include "tests/lib/spawn.h"

#define TIMEOUT_MS 60000

/* A legacy scenario whose two seeds both fail (silent loss), in ms. */
static const char failing_yaml[] =
    "version: 1\n"
    "name: %s\n"
    "summary: The first message carries a thread id before the connection has context.\n"
    "seeds: 2\n"
    "horizon: 20s\n"
    "profile: legacy\n"
    "users: 3\n"
    "deadline: 5s\n"
    "network:\n"
    "  uplink: lognormal(median=20ms, p99=250ms)\n"
    "  downlink: lognormal(median=20ms, p99=250ms)\n"
    "server:\n"
    "  auth: uniform(5ms, 50ms)\n"
    "  thread_lookup: exponential(mean=15ms)\n"
    "  agent_start: uniform(0ms, 10ms)\n"
    "  agent_events: [agent_started, agent_thinking, tool_executing, tool_completed, "
    "agent_completed]\n"
    "  event_gap: exponential(mean=80ms)\n"
    "faults:\n"
    "  thread_update_fail: 0.05\n"
    "client:\n"
    "  - connect\n"
    "  - authenticate\n"
    "  - send: {thread: new}\n"
    "  - wait: exponential(mean=2s)\n"
    "  - send: {thread: same}\n"
    "  - wait: 5s\n"
    "  - close\n"
    "expect:\n"
    "  silent_loss: 0\n";

/* File names a shell, Markdown, HTML or XML would read otherwise. */
static const char *const hostile[] = {
    "a'b.yaml",
    "a\"b.yaml",
    "a`touch PWNED`b.yaml",
    "a`;touch PWNED;`b.yaml",
    "$(touch PWNED).yaml",
    "a;touch PWNED;b.yaml",
    "a  b c.yaml",
    "x'$(touch PWNED)'y.yaml",
    "a&b<c>d|e&amp;.yaml",
    "#c *?[x] ~u \\ \xc3\xa9.yaml",
    "'; touch PWNED; echo '.yaml",
    "a```b``.yaml",
};
#define NHOSTILE (sizeof hostile / sizeof hostile[0])

static char bin_abs[PATH_MAX]; /* the real binary */
static char fake[PATH_MAX];    /* tmp/bin/ctxsim: the binary, then the recorder */
static char rec[PATH_MAX];     /* what the recorder writes */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_scenario(const char *path, const char *name)
{
    char text[sizeof failing_yaml + 64];
    snprintf(text, sizeof text, failing_yaml, name);
    write_file(path, text);
}

static char *slurp_rel(const char *name)
{
    char p[PATH_MAX];
    fx_path(p, sizeof p, name);
    char *s = cli_slurp(p);
    ck_assert_msg(s != NULL, "cannot read %s", p);
    return s;
}

static void setup(void)
{
    fx_tmp_setup("quote");
    ck_assert_ptr_nonnull(realpath(cli_bin(), bin_abs));
    char d[PATH_MAX];
    fx_path(d, sizeof d, "bin");
    ck_assert_int_eq(mkdir(d, 0755), 0);
    fx_path(fake, sizeof fake, "bin/ctxsim");
    ck_assert_int_eq(symlink(bin_abs, fake), 0);
    fx_path(rec, sizeof rec, "bin/argv.rec");
    setenv("CTXSIM_QUOTE_REC", rec, 1);
}

/* Runs tmp/bin/ctxsim ARGS... in the scratch directory; stdout into
 * `out` (a name in it), stderr into err.txt.  Returns the exit status. */
static int ctxsim(const char *out, const char *const *args)
{
    char *argv[32];
    size_t n = 0;
    argv[n++] = fake;
    for (; args[n - 1] && n < 31; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    char o[PATH_MAX], e[PATH_MAX];
    fx_path(o, sizeof o, out);
    fx_path(e, sizeof e, "err.txt");
    return sp_run(fx_tmp, argv, o, e, TIMEOUT_MS);
}

/* From here on tmp/bin/ctxsim records its argv instead of running:
 * each word, then 0x1e; each invocation ends with 0x1d. */
static void become_recorder(void)
{
    ck_assert_int_eq(unlink(fake), 0);
    write_file(fake, "#!/bin/sh\n"
                     "for a; do printf '%s\\036' \"$a\"; done >>\"$CTXSIM_QUOTE_REC\"\n"
                     "printf '\\035' >>\"$CTXSIM_QUOTE_REC\"\n");
    ck_assert_int_eq(chmod(fake, 0755), 0);
}

/* The entries of the scratch directory and of s/, one string. */
static void listing(char *buf, size_t len)
{
    char cmd[PATH_MAX + 64], p[PATH_MAX];
    snprintf(cmd, sizeof cmd, "cd %s && ls -a . s 2>/dev/null", fx_tmp);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    pclose(f);
    fx_path(p, sizeof p, "PWNED");
    ck_assert_msg(access(p, F_OK) != 0, "PWNED exists");
}

/* Pastes `text` into sh (as a script, in the scratch directory) and
 * returns what the recorder got (malloc'd; "" when it never ran).
 * Asserts that sh succeeded and that no file appeared or went. */
static char *paste(const char *what, const char *text)
{
    char before[8192], after[8192], script[PATH_MAX];
    unlink(rec);
    fx_path(script, sizeof script, "paste.sh");
    write_file(script, text);
    listing(before, sizeof before);
    char *argv[] = {"sh", script, NULL};
    int rc = sp_run(fx_tmp, argv, NULL, NULL, TIMEOUT_MS);
    listing(after, sizeof after);
    unlink(script);
    ck_assert_msg(rc == 0, "%s: sh exited %d on:\n%s", what, rc, text);
    ck_assert_msg(strcmp(before, after) == 0, "%s: pasting changed the files:\n%s\nto\n%s", what,
                  before, after);
    char *r = cli_slurp(rec);
    return r ? r : strdup("");
}

/* Joins the words of one expected invocation as the recorder writes it. */
static void expect_add(char *buf, size_t len, const char *const *words)
{
    size_t o = strlen(buf);
    for (size_t i = 0; words[i]; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s\036", words[i]);
    snprintf(buf + o, len - o, "\035");
}

/* Compares recorded invocations with expected ones, order aside. */
static int cmp_inv(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void assert_same_invocations(const char *what, char *got, char *want)
{
    char *g[256], *w[256];
    size_t ng = 0, nw = 0;
    for (char *p = strtok(got, "\035"); p && ng < 256; p = strtok(NULL, "\035"))
        g[ng++] = p;
    char *save = NULL;
    for (char *p = strtok_r(want, "\035", &save); p && nw < 256; p = strtok_r(NULL, "\035", &save))
        w[nw++] = p;
    ck_assert_msg(ng == nw, "%s: %zu invocations recorded, %zu expected", what, ng, nw);
    qsort(g, ng, sizeof *g, cmp_inv);
    qsort(w, nw, sizeof *w, cmp_inv);
    for (size_t i = 0; i < ng; i++)
        ck_assert_msg(strcmp(g[i], w[i]) == 0, "%s: got argv '%s', expected '%s'", what, g[i],
                      w[i]);
}

/* Appends line[0..n) and a newline to a growing buffer. */
static void add_line(char **buf, size_t *len, const char *line, size_t n)
{
    char *b = realloc(*buf, *len + n + 2);
    ck_assert_ptr_nonnull(b);
    memcpy(b + *len, line, n);
    b[*len + n] = '\n';
    b[*len + n + 1] = '\0';
    *len += n + 1;
    *buf = b;
}

/* stdout: what follows "replay: " on each line. */
static char *from_stdout(const char *out)
{
    char *b = strdup("");
    size_t n = 0;
    for (const char *p = out; (p = strstr(p, "replay: ")); p++) {
        p += 8;
        add_line(&b, &n, p, strcspn(p, "\n"));
    }
    return b;
}

/* JSON: every failing_seeds[].replay (the document must parse). */
static char *from_json(const char *text)
{
    json_error_t e;
    json_t *a = json_loads(text, 0, &e);
    ck_assert_msg(a != NULL, "not JSON: %s (line %d)", e.text, e.line);
    char *b = strdup("");
    size_t n = 0, i, j;
    json_t *sw, *f;
    json_array_foreach(a, i, sw)
    {
        json_array_foreach(json_object_get(sw, "failing_seeds"), j, f)
        {
            const char *r = json_string_value(json_object_get(f, "replay"));
            ck_assert_ptr_nonnull(r);
            add_line(&b, &n, r, strlen(r));
        }
    }
    json_decref(a);
    return b;
}

/* summary.md: the lines of every ``` block, as copied (fence aside). */
static char *from_markdown(const char *md)
{
    char *b = strdup("");
    size_t n = 0;
    const char *p = md;
    while ((p = strstr(p, "\n```"))) {
        p++;
        size_t fence = strspn(p, "`");
        p += strcspn(p, "\n") + 1; /* the info string */
        for (;;) {
            size_t l = strcspn(p, "\n");
            ck_assert_msg(p[l] == '\n', "unterminated code block");
            if (strspn(p, "`") >= fence && strspn(p, "`") == l) {
                p += l;
                break;
            }
            add_line(&b, &n, p, l);
            p += l + 1;
        }
    }
    return b;
}

/* index.html: every <pre> block, entities decoded. */
static char *from_html(const char *html)
{
    char *b = strdup("");
    size_t n = 0;
    for (const char *p = html; (p = strstr(p, "<pre>"));) {
        p += 5;
        const char *e = strstr(p, "</pre>");
        ck_assert_ptr_nonnull(e);
        ck_assert_msg(memchr(p, '<', (size_t)(e - p)) == NULL, "markup inside <pre>");
        char *t = malloc((size_t)(e - p) + 1);
        size_t k = 0;
        while (p < e) {
            static const struct {
                const char *ent, ch;
            } ents[] = {
                {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
            size_t x = 0;
            while (x < 5 && strncmp(p, ents[x].ent, strlen(ents[x].ent)) != 0)
                x++;
            ck_assert_msg(*p != '&' || x < 5, "unknown entity at %.20s", p);
            t[k++] = x < 5 ? ents[x].ch : *p;
            p += x < 5 ? strlen(ents[x].ent) : 1;
        }
        add_line(&b, &n, t, k);
        free(t);
    }
    return b;
}

/* JUnit: the lines of every <failure> text that run the program (the
 * replay lines; the others are the reasons and counts). */
static char *from_junit(const char *path)
{
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    ck_assert_msg(doc != NULL, "%s is not XML", path);
    xmlXPathContextPtr x = xmlXPathNewContext(doc);
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST "//failure", x);
    char *b = strdup("");
    size_t n = 0;
    for (int i = 0; r && r->nodesetval && i < r->nodesetval->nodeNr; i++) {
        xmlChar *t = xmlNodeGetContent(r->nodesetval->nodeTab[i]);
        for (const char *p = (const char *)t; p && *p;) {
            size_t l = strcspn(p, "\n");
            if (strncmp(p, fake, strlen(fake)) == 0)
                add_line(&b, &n, p, l);
            p += l + (p[l] == '\n');
        }
        xmlFree(t);
    }
    xmlXPathFreeObject(r);
    xmlXPathFreeContext(x);
    xmlFreeDoc(doc);
    return b;
}

/* The invocations every listing of the hostile suite must run: both
 * seeds of every file, as replay. */
static char *expected_replays(void)
{
    size_t len = 64 * 1024;
    char *w = calloc(1, len);
    for (size_t i = 0; i < NHOSTILE; i++)
        for (int seed = 1; seed <= 2; seed++) {
            char path[256], sd[8];
            snprintf(path, sizeof path, "s/%s", hostile[i]);
            snprintf(sd, sizeof sd, "%d", seed);
            const char *words[] = {"replay", path, "--seed", sd, "--profile", "legacy", NULL};
            expect_add(w, len, words);
        }
    return w;
}

static void check_channel(const char *what, char *lines)
{
    ck_assert_msg(lines[0], "%s: no replay line found", what);
    char *got = paste(what, lines);
    char *want = expected_replays();
    assert_same_invocations(what, got, want);
    free(got);
    free(want);
    free(lines);
}

/* Finding 1: a replay line copied from any output runs that replay, of
 * that file, and nothing else. */
START_TEST(test_quote_pasted_replay_lines_run_only_the_named_file)
{
    char d[PATH_MAX];
    fx_path(d, sizeof d, "s");
    ck_assert_int_eq(mkdir(d, 0755), 0);
    for (size_t i = 0; i < NHOSTILE; i++) {
        char p[PATH_MAX + 64], name[16];
        snprintf(p, sizeof p, "%.*s/%.60s", (int)strlen(d), d, hostile[i]);
        snprintf(name, sizeof name, "s%zu", i);
        write_scenario(p, name);
    }
    const char *run[] = {"run", "s", "--db", "r.db", "--junit", "j.xml", NULL};
    ck_assert_int_eq(ctxsim("out.txt", run), 1);
    const char *json[] = {"run", "s", "--no-db", "--format", "json", NULL};
    ck_assert_int_eq(ctxsim("out.json", json), 1);
    const char *report[] = {"report", "--db", "r.db", "--out", "rep", NULL};
    ck_assert_int_eq(ctxsim("report.txt", report), 0);
    char *out = slurp_rel("out.txt"), *js = slurp_rel("out.json"),
         *md = slurp_rel("rep/summary.md"), *html = slurp_rel("rep/index.html");
    char junit[PATH_MAX];
    fx_path(junit, sizeof junit, "j.xml");
    become_recorder();
    check_channel("stdout", from_stdout(out));
    check_channel("JSON", from_json(js));
    check_channel("summary.md", from_markdown(md));
    check_channel("index.html", from_html(html));
    check_channel("JUnit", from_junit(junit));
    free(out);
    free(js);
    free(md);
    free(html);
}
END_TEST

/* shrink's replay line names the file it wrote (--out), check's the
 * counterexample file, explore's the file explored: pasted, each runs
 * exactly that. */
START_TEST(test_quote_shrink_check_and_explore_lines_paste)
{
    char p[PATH_MAX];
    fx_path(p, sizeof p, "in'$(touch PWNED).yaml");
    write_scenario(p, "shrinkme");
    const char *out_name = "o`touch PWNED`'s \"x\".yaml";
    const char *shrink[] = {"shrink",     "in'$(touch PWNED).yaml",
                            "--seed",     "1",
                            "--profile",  "legacy",
                            "--max-runs", "20",
                            "--out",      out_name,
                            NULL};
    ck_assert_int_eq(ctxsim("shrink.txt", shrink), 0);
    const char *cx = "cx;touch PWNED;'.txt";
    const char *check[] = {"check",   "--profile", "legacy", "--depth", "4",
                           "--quiet", "--out",     cx,       NULL};
    ck_assert_int_eq(ctxsim("check.txt", check), 1);
    const char *explore[] = {
        "explore", "in'$(touch PWNED).yaml", "--budget", "2", "--profile", "legacy", "--quiet",
        NULL};
    ck_assert_int_eq(ctxsim("explore.txt", explore), 1);
    char *s = slurp_rel("shrink.txt"), *c = slurp_rel("check.txt"), *x = slurp_rel("explore.txt");
    become_recorder();
    /* explore: one replay per "FAIL seed N:" line, with --explore */
    char want_x[4096] = "";
    for (const char *q = x; (q = strstr(q, "FAIL seed ")); q++) {
        char sd[24];
        snprintf(sd, sizeof sd, "%.*s", (int)strcspn(q + 10, ":"), q + 10);
        const char *w[] = {
            "replay", "in'$(touch PWNED).yaml", "--seed", sd, "--profile", "legacy", "--explore",
            NULL};
        expect_add(want_x, sizeof want_x, w);
    }
    ck_assert_msg(want_x[0], "explore found no failing seed:\n%s", x);
    char *xl = from_stdout(x);
    char *xg = paste("explore", xl);
    assert_same_invocations("explore", xg, want_x);
    free(xg);
    free(xl);
    free(x);
    char *lines = from_stdout(s);
    char *got = paste("shrink", lines);
    char want[4096] = "";
    const char *w1[] = {"replay", out_name, "--seed", "1", "--profile", "legacy", NULL};
    expect_add(want, sizeof want, w1);
    assert_same_invocations("shrink", got, want);
    free(got);
    free(lines);
    /* "written to FILE (replay: LINE)" */
    const char *r = strstr(c, "(replay: ");
    ck_assert_ptr_nonnull(r);
    r += 9;
    char *line = strndup(r, strcspn(r, "\n") - 1);
    got = paste("check", line);
    want[0] = '\0';
    const char *w2[] = {"check", "--replay", cx, NULL};
    expect_add(want, sizeof want, w2);
    assert_same_invocations("check", got, want);
    free(got);
    free(line);
    free(s);
    free(c);
}
END_TEST

/* Names the tool cannot print as they are: refused, exit 2, nothing
 * recorded, the message says why. */
START_TEST(test_quote_unprintable_file_names_are_refused)
{
    static const struct {
        const char *name, *why;
    } bad[] = {
        {"new\nline.yaml", "control character"},
        {"car\rriage.yaml", "control character"},
        {"\x1b[31mred.yaml", "control character"},
        {"c1\xc2\x9b"
         "2J.yaml",
         "control character"},
        {"bidi\xe2\x80\xaelmth.yaml", "bidirectional"},
        {"latin1-\xe9t\xe9.yaml", "not valid UTF-8"},
        {"\xff\xfe.yaml", "not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char p[PATH_MAX];
        fx_path(p, sizeof p, bad[i].name);
        write_scenario(p, "bad");
        const char *validate[] = {"validate", bad[i].name, NULL};
        ck_assert_int_eq(ctxsim("v.txt", validate), 2);
        char *err = slurp_rel("err.txt");
        ck_assert_msg(strstr(err, bad[i].why) && strstr(err, "rename the file"), "%zu: %s", i, err);
        /* the message itself prints no raw control byte */
        for (const char *q = err; *q; q++)
            ck_assert_msg((unsigned char)*q >= 0x20 || *q == '\n', "raw control byte in '%s'", err);
        free(err);
        const char *run[] = {"run", bad[i].name, "--db", "bad.db", NULL};
        ck_assert_int_eq(ctxsim("r.txt", run), 2);
        const char *replay[] = {"replay", bad[i].name, "--seed", "1", NULL};
        ck_assert_int_eq(ctxsim("r.txt", replay), 2);
        /* in a directory too */
        char dd[PATH_MAX], d[PATH_MAX + 64];
        fx_path(dd, sizeof dd, "dir");
        mkdir(dd, 0755);
        snprintf(d, sizeof d, "%.*s/%.60s", (int)strlen(dd), dd, bad[i].name);
        ck_assert_int_eq(rename(p, d), 0);
        const char *rund[] = {"run", "dir", "--db", "bad.db", NULL};
        ck_assert_int_eq(ctxsim("r.txt", rund), 2);
        ck_assert_int_eq(unlink(d), 0);
    }
    char db[PATH_MAX];
    fx_path(db, sizeof db, "bad.db");
    ck_assert_msg(access(db, F_OK) != 0, "a refused run created its database");
}
END_TEST

/* Labels (free text, one printable line: a newline is refused) reach
 * gnuplot only inside its single quotes (no backquote substitution, no
 * macro) and HTML escaped. */
START_TEST(test_quote_hostile_labels_in_charts_and_html)
{
    char p[PATH_MAX];
    fx_path(p, sizeof p, "ok.yaml");
    write_scenario(p, "labelled");
    const char *label = "<b>x</b>'\"`touch PWNED`$(touch PWNED)@x system('touch PWNED') !touch "
                        "PWNED &amp;";
    const char *nl[] = {"run", "ok.yaml", "--db", "l.db", "--label", "a\nsystem('x')", NULL};
    ck_assert_int_eq(ctxsim("out.txt", nl), 2); /* a label is one printable line */
    const char *run[] = {"run", "ok.yaml", "--db", "l.db", "--label", label, NULL};
    ck_assert_int_eq(ctxsim("out.txt", run), 1);
    const char *report[] = {"report", "--db", "l.db", "--out", "rep", NULL};
    ck_assert_int_eq(ctxsim("report.txt", report), 0);
    fx_path(p, sizeof p, "rep/PWNED");
    ck_assert_msg(access(p, F_OK) != 0, "gnuplot ran a command");
    fx_path(p, sizeof p, "PWNED");
    ck_assert_msg(access(p, F_OK) != 0, "a command ran");
    char *html = slurp_rel("rep/index.html");
    ck_assert_ptr_null(strstr(html, "<b>x"));
    ck_assert_ptr_nonnull(strstr(html, "&lt;b&gt;x&lt;/b&gt;&#39;&quot;`touch PWNED`"));
    ck_assert_ptr_nonnull(strstr(html, "&amp;amp;"));
    free(html);
    char *gp = slurp_rel("rep/rate.gp");
    /* the title is one line, the quote doubled */
    const char *t = strstr(gp, "set title '");
    ck_assert_ptr_nonnull(t);
    char *title = strndup(t, strcspn(t, "\n"));
    ck_assert_ptr_nonnull(strstr(title, "x</b>''\"`touch PWNED`"));
    ck_assert_ptr_nonnull(strstr(title, "system(''touch PWNED'')"));
    free(title);
    for (const char *q = gp; q; q = strchr(q, '\n')) {
        q += *q == '\n';
        ck_assert_msg(strncmp(q, "system(", 7) != 0 && q[0] != '!',
                      "a line of rate.gp starts a command");
    }
    free(gp);
}
END_TEST

/* A database written by something else (an older ctxsim, a merge of a
 * crafted shard) with hostile scenario names and an unprintable path: the
 * charts get the names only inside gnuplot's single quotes or cleaned data
 * comments, HTML escapes them, and a stored replay line that is not
 * printable text is withheld, not printed to be pasted. */
START_TEST(test_quote_hostile_names_from_the_database)
{
    char db[PATH_MAX], dir[PATH_MAX];
    fx_path(db, sizeof db, "crafted.db");
    fx_path(dir, sizeof dir, "rep");
    rep_store *st = fx_store_open(db);
    rep_run_meta meta = {.label = "x", .args = "ctxsim run", .started_at = 1764000000};
    int64_t id = 0;
    ck_assert_int_eq(rep_run_begin(st, &meta, &id), 0);
    static const char *const names[] = {"n'`touch PWNED`\nsystem('touch PWNED')\n!touch PWNED",
                                        "<img src=x onerror=alert(1)>&amp;"};
    for (size_t i = 0; i < 2; i++)
        for (int p = 0; p < 2; p++) {
            rep_synth_spec sp = {.scenario = names[i],
                                 .path = i ? "ok/path.yaml" : "bad\n\xff$(touch PWNED).yaml",
                                 .profile = p ? "fixed" : "legacy",
                                 .rate = p ? 0.99 : 0.5,
                                 .events_per_seed = 40,
                                 .expect_rate = 0.99,
                                 .latency_ns = 20000000,
                                 .salt = 1};
            fx_add_sweep(st, id, &sp, NULL, 4);
        }
    ck_assert_int_eq(rep_run_finish(st, id, "complete"), 0);
    rep_store_close(st);
    static char out[1 << 16];
    const char *a[] = {"report", "--db", db, "--out", dir, NULL};
    ck_assert_msg(fx_run_cmd(rep_cmd_report, a, NULL, out, sizeof out) == 0, "%s", out);
    char p[PATH_MAX];
    fx_path(p, sizeof p, "rep/PWNED");
    ck_assert_msg(access(p, F_OK) != 0, "gnuplot ran a command");
    static const char *const files[] = {"rep/rate.gp",           "rep/rate.dat",
                                        "rep/outcomes_fixed.gp", "rep/latency_cdf.gp",
                                        "rep/latency_cdf.dat",   "rep/trend.dat"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char *t = slurp_rel(files[f]);
        for (const char *q = t; q; q = strchr(q, '\n')) {
            q += *q == '\n';
            ck_assert_msg(strncmp(q, "system(", 7) != 0 && q[0] != '!',
                          "a line of %s starts a command", files[f]);
        }
        ck_assert_msg(strchr(t, '\xff') == NULL, "%s holds invalid UTF-8", files[f]);
        free(t);
    }
    char *html = slurp_rel("rep/index.html");
    ck_assert_ptr_null(strstr(html, "<img src=x"));
    ck_assert_ptr_nonnull(strstr(html, "&lt;img src=x onerror=alert(1)&gt;&amp;amp;"));
    ck_assert_ptr_nonnull(strstr(html, "replay line withheld"));
    ck_assert_ptr_null(strstr(html, "$(touch PWNED).yaml"));
    free(html);
    char *md = slurp_rel("rep/summary.md");
    ck_assert_ptr_nonnull(strstr(md, "# (replay line withheld"));
    ck_assert_ptr_null(strchr(md, '\xff'));
    /* what can be pasted from it: comments, and replays of the good path */
    char *lines = from_markdown(md);
    for (const char *q = lines; *q; q += strcspn(q, "\n") + 1)
        ck_assert_msg(q[0] == '#' || strncmp(q, "ctxsim replay ok/path.yaml --seed ", 34) == 0,
                      "pasteable line: %.80s", q);
    free(lines);
    free(md);
}
END_TEST

/* rep_shell_quote and rep_shell_join: sh reads every word back byte for
 * byte, whatever it holds. */
START_TEST(test_quote_shell_quote_reads_back_through_sh)
{
    char all[256];
    for (int c = 1; c < 256; c++)
        all[c - 1] = (char)c;
    all[255] = '\0';
    const char *words[] = {all,   "",    "'",     "''", "\\'",
                           "a b", "-n",  "$HOME", "*",  "~",
                           "#x",  "a=b", "\n",    "é",  "plain_word-1.yaml"};
    size_t nw = sizeof words / sizeof words[0];
    char line[8192] = "printf '%s\\036'";
    for (size_t i = 0; i < nw; i++) {
        char q[2048];
        ck_assert_int_eq(rep_shell_quote(words[i], q, sizeof q), 0);
        strcat(line, " ");
        strcat(line, q);
    }
    strcat(line, " >out.bin\n");
    char script[PATH_MAX];
    fx_path(script, sizeof script, "q.sh");
    write_file(script, line);
    char *argv[] = {"sh", script, NULL};
    ck_assert_int_eq(sp_run(fx_tmp, argv, NULL, NULL, TIMEOUT_MS), 0);
    char *got = slurp_rel("out.bin");
    const char *g = got;
    for (size_t i = 0; i < nw; i++) {
        size_t n = strlen(words[i]);
        ck_assert_msg(strncmp(g, words[i], n) == 0 && g[n] == '\036', "word %zu read back wrong",
                      i);
        g += n + 1;
    }
    ck_assert_int_eq(*g, '\0');
    free(got);
    /* plain words stay as they are; the rest is quoted; too small: "" */
    char q[64];
    ck_assert_int_eq(rep_shell_quote("scenarios/a-b_1.yaml", q, sizeof q), 0);
    ck_assert_str_eq(q, "scenarios/a-b_1.yaml");
    ck_assert_int_eq(rep_shell_quote("it's", q, sizeof q), 0);
    ck_assert_str_eq(q, "'it'\\''s'");
    ck_assert_int_eq(rep_shell_quote("", q, sizeof q), 0);
    ck_assert_str_eq(q, "''");
    ck_assert_int_eq(rep_shell_quote("a b c d", q, 5), -ENOSPC);
    ck_assert_str_eq(q, "");
    const char *argv2[] = {"ctxsim", "run", "my dir", "--label", "it's"};
    ck_assert_int_eq(rep_shell_join(argv2, 5, q, sizeof q), 0);
    ck_assert_str_eq(q, "ctxsim run 'my dir' --label 'it'\\''s'");
    ck_assert_int_eq(rep_shell_join(argv2, 5, q, 20), -ENOSPC);
    ck_assert_str_eq(q, "");
}
END_TEST

/* rep_text_printable: what may be printed as it is. */
START_TEST(test_quote_printable_text)
{
    ck_assert_int_eq(rep_text_printable("scenarios/x.yaml"), 0);
    ck_assert_int_eq(rep_text_printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), 0);
    ck_assert_int_eq(rep_text_printable(NULL), 0);
    ck_assert_int_eq(rep_text_printable("a\tb"), -EINVAL);
    ck_assert_int_eq(rep_text_printable("a\x7f"), -EINVAL);
    ck_assert_int_eq(rep_text_printable("\xc2\x85"), -EINVAL);      /* NEL */
    ck_assert_int_eq(rep_text_printable("\xe2\x81\xa6x"), -EINVAL); /* LRI */
    ck_assert_int_eq(rep_text_printable("\xc3"), -EILSEQ);          /* cut */
    ck_assert_int_eq(rep_text_printable("\xc0\xaf"), -EILSEQ);      /* overlong */
    ck_assert_int_eq(rep_text_printable("\xed\xa0\x80"), -EILSEQ);  /* surrogate */
    char s[8] = "a\nb";
    ck_assert_str_eq(rep_comment_line(s), "a b");
}
END_TEST

static Suite *quote_suite(void)
{
    Suite *s = suite_create("quote");
    TCase *tc = tcase_create("quote");
    tcase_add_checked_fixture(tc, setup, fx_tmp_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_quote_pasted_replay_lines_run_only_the_named_file);
    tcase_add_test(tc, test_quote_shrink_check_and_explore_lines_paste);
    tcase_add_test(tc, test_quote_unprintable_file_names_are_refused);
    tcase_add_test(tc, test_quote_hostile_labels_in_charts_and_html);
    tcase_add_test(tc, test_quote_hostile_names_from_the_database);
    tcase_add_test(tc, test_quote_shell_quote_reads_back_through_sh);
    tcase_add_test(tc, test_quote_printable_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(quote_suite());
}
