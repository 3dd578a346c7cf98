/*
 * chart.c - data files and gnuplot scripts for the report's charts, and
 * running gnuplot on them.
 */
#include "reports/chart.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reports/text.h"

/* ---- gnuplot ------------------------------------------------------------- */

int rep_gnuplot_find(char *buf, size_t len)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        return -ENOENT;
    const char *p = path;
    while (*p) {
        size_t n = strcspn(p, ":");
        if (n > 0 && (size_t)snprintf(buf, len, "%.*s/gnuplot", (int)n, p) < len &&
            access(buf, X_OK) == 0)
            return 0;
        p += n;
        if (*p == ':')
            p++;
    }
    if (len)
        buf[0] = '\0';
    return -ENOENT;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void file_path(char *buf, size_t len, const char *dir, const char *name, const char *ext)
{
    snprintf(buf, len, "%s/%s.%s", dir, name, ext);
}

static off_t file_size(const char *dir, const char *name, const char *ext)
{
    char p[4096];
    struct stat st;
    file_path(p, sizeof p, dir, name, ext);
    return stat(p, &st) == 0 ? st.st_size : -1;
}

static void remove_chart(const char *dir, const char *name)
{
    static const char *const ext[] = {"dat", "gp", "png", "svg", "log"};
    char p[4096];
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        file_path(p, sizeof p, dir, name, ext[i]);
        unlink(p);
    }
}

/* Runs `gnuplot NAME.gp` in dir; its output goes to NAME.log.  Checks the
 * exit status and that both images were written. */
static int run_gnuplot(const char *dir, const char *name, char *err, size_t errlen)
{
    char script[128], log[4096];
    snprintf(script, sizeof script, "%s.gp", name);
    file_path(log, sizeof log, dir, name, "log");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        set_err(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        int nul = open("/dev/null", O_RDONLY);
        if (fd < 0 || nul < 0 || chdir(dir) != 0)
            _exit(126);
        dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            set_err(err, errlen, "waitpid: %s", strerror(errno));
            return -1;
        }
    }
    off_t logsz = file_size(dir, name, "log");
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok) {
        char head[600] = "";
        FILE *f = fopen(log, "r");
        if (f) {
            size_t k = fread(head, 1, sizeof head - 1, f);
            head[k] = '\0';
            fclose(f);
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            set_err(err, errlen,
                    "cannot run gnuplot: install it (Debian/Ubuntu: apt-get install %s)",
                    REP_GNUPLOT_PACKAGE);
        else
            set_err(err, errlen, "gnuplot failed on %s/%s.gp (%s %d; see %s):\n%s", dir, name,
                    WIFEXITED(status) ? "exit status" : "signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log, head);
        return -1;
    }
    if (logsz == 0)
        unlink(log);
    if (file_size(dir, name, "png") <= 0 || file_size(dir, name, "svg") <= 0) {
        set_err(err, errlen, "gnuplot ran %s/%s.gp but did not write %s.png and %s.svg", dir, name,
                name, name);
        return -1;
    }
    return 0;
}

/* ---- writing scripts and data -------------------------------------------- */

/*
 * Writes s between quotes q, a q inside as q_as, newlines and tabs as
 * spaces, other control characters and invalid UTF-8 as '?'.
 */
static void put_quoted(FILE *f, const char *s, char q, const char *q_as)
{
    size_t len = strlen(s) + 1;
    char *c = malloc(len);
    fputc(q, f);
    if (c) {
        rep_utf8_clean(s, c, len);
        for (const char *p = c; *p; p++) {
            if (*p == q)
                fputs(q_as, f);
            else if (*p == '\n' || *p == '\t')
                fputc(' ', f);
            else
                fputc(*p, f);
        }
    } else {
        fputc('?', f);
    }
    fputc(q, f);
    free(c);
}

/* Writes s as a single-quoted gnuplot string ('' for '). */
static void gp_str(FILE *f, const char *s)
{
    put_quoted(f, s, '\'', "''");
}

/* Writes s into a '#' comment line of a data file: UTF-8 clean, every
 * control character (a newline would end the comment) as '?'. */
static void dat_comment(FILE *f, const char *s)
{
    size_t len = strlen(s) + 1;
    char *c = malloc(len);
    if (!c) {
        fputc('?', f);
        return;
    }
    rep_utf8_clean(s, c, len);
    for (char *p = c; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = '?';
    fputs(c, f);
    free(c);
}

/* Writes s as a double-quoted string of a data file (' for "). */
static void dat_str(FILE *f, const char *s)
{
    put_quoted(f, s, '"', "'");
}

static FILE *open_out(const char *dir, const char *name, const char *ext, char *err, size_t errlen)
{
    char p[4096];
    file_path(p, sizeof p, dir, name, ext);
    FILE *f = fopen(p, "w");
    if (!f)
        set_err(err, errlen, "%s: %s", p, strerror(errno));
    return f;
}

static int close_out(FILE *f, const char *dir, const char *name, const char *ext, char *err,
                     size_t errlen)
{
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad) {
        set_err(err, errlen, "%s/%s.%s: write error", dir, name, ext);
        return -1;
    }
    return 0;
}

/* The terminal set-up: PNG first (pngcairo when available). */
static void preamble(FILE *f, const char *name, int w, int h)
{
    fprintf(f,
            "# %s.gp - written by `ctxsim report`; redraw with: gnuplot %s.gp\n"
            "set encoding utf8\n"
            "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
            "    set terminal pngcairo size %d,%d font 'Sans,10' noenhanced\n"
            "} else {\n"
            "    set terminal png size %d,%d noenhanced\n"
            "}\n"
            "set output '%s.png'\n"
            "set datafile missing 'NaN'\n",
            name, name, w, h, w, h, name);
}

/* The same plot again as SVG. */
static void epilogue(FILE *f, const char *name, int w, int h)
{
    fprintf(f,
            "set output\n"
            "set terminal svg size %d,%d dynamic font 'Sans,10' noenhanced background '#ffffff'\n"
            "set output '%s.svg'\n"
            "replot\n"
            "set output\n",
            w, h, name);
}

/*
 * Ends a chart's script: the SVG epilogue, closes it and runs gnuplot on
 * it; *drawn is set once both images exist.
 */
static int draw(FILE *f, const char *dir, const char *name, int w, int h, int *drawn, char *err,
                size_t errlen)
{
    epilogue(f, name, w, h);
    if (close_out(f, dir, name, "gp", err, errlen) != 0)
        return -1;
    if (run_gnuplot(dir, name, err, errlen) != 0)
        return -1;
    *drawn = 1;
    return 0;
}

/*
 * Margins for x tic labels rotated by 35 degrees and right-aligned at their
 * tick: a label of L characters (about 0.6 character heights wide each)
 * reaches 0.6 * L * sin(35) ~ 0.35 L character heights down (less in practice: 0.3 L) and
 * 0.6 * L * cos(35) / 0.6 ~ 0.82 L character widths left of its tick, so
 * the bottom margin follows the longest label and the left margin the
 * first one (nothing clipped).
 */
static void rotated_margins(FILE *f, char (*labels)[64], size_t n, double min_left)
{
    size_t longest = 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(labels[i]) > longest)
            longest = strlen(labels[i]);
    double left = n ? 0.82 * (double)strlen(labels[0]) - 2.0 : 0;
    fprintf(f, "set bmargin %.1f\nset lmargin %.1f\n", 3.0 + 0.30 * (double)longest,
            left > min_left ? left : min_left);
}

/* Distinct line colours for one line per scenario (dash types vary after
 * the twelfth). */
static const char *const line_colours[12] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                             "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                             "#bcbd22", "#17becf", "#000000", "#0b3d91"};

/* Writes "set xtics (...)" / "set ytics (...)" from labels. */
static void tics(FILE *f, const char *axis, char (*labels)[64], size_t n)
{
    fprintf(f, "set %s (", axis);
    for (size_t i = 0; i < n; i++) {
        gp_str(f, labels[i]);
        fprintf(f, " %zu%s", i, i + 1 < n ? ", " : "");
    }
    fprintf(f, ")\n");
}

static void title(FILE *f, const char *what, const rep_run_info *run)
{
    char t[512];
    if (run->label[0])
        snprintf(t, sizeof t, "%s, run #%lld (%.64s)", what, (long long)run->id, run->label);
    else
        snprintf(t, sizeof t, "%s, run #%lld", what, (long long)run->id);
    fputs("set title ", f);
    gp_str(f, t);
    fputs(" font ',12'\n", f);
}

static double pct(double x)
{
    return 100.0 * x;
}

static size_t max_name(char (*names)[64], size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) > m)
            m = strlen(names[i]);
    return m;
}

/* A bar shorter than this (in %) has its value written above it. */
#define RATE_LABEL_INSIDE 15.0

/*
 * The plot clauses of one profile's bars in rate.dat (rate in column c,
 * its interval in c+1, c+2) at x: the bars, their Wilson intervals, and
 * each value written inside its bar below the interval, or above the interval when the bar
 * is too short to hold it (a 0% bar then still shows its value).  heights
 * bit 0: some bar is tall enough, bit 1: some is not (no clause without
 * points: gnuplot warns about those).
 */
static void rate_bars(FILE *f, const char *sep, const char *x, int c, const char *colour,
                      const char *title_bars, const char *title_ci, int heights)
{
    fprintf(f,
            "%s'rate.dat' using %s:%d with boxes lc rgb '%s' title '%s', \\\n"
            "     '' using %s:%d:%d:%d with yerrorbars lc rgb '#222222' pt 0 lw 1.2 %s",
            sep, x, c, colour, title_bars, x, c, c + 1, c + 2, title_ci);
    if (heights & 1)
        fprintf(f,
                ", \\\n     '' using %s:($%d >= %g ? $%d - 3 : NaN):(sprintf('%%.1f', $%d)) "
                "with labels rotate by 90 right font ',8' tc rgb '#ffffff' notitle",
                x, c, RATE_LABEL_INSIDE, c + 1, c);
    if (heights & 2)
        fprintf(f,
                ", \\\n     '' using %s:($%d < %g ? $%d + 2.5 : NaN):(sprintf('%%.1f', $%d)) "
                "with labels rotate by 90 left font ',8' tc rgb '#222222' notitle",
                x, c, RATE_LABEL_INSIDE, c + 2, c);
}

/* ---- 1. delivery rate per scenario --------------------------------------- */

static int chart_rate(const rep_model *m, const char *dir, int *drawn, char *err, size_t errlen)
{
    static const char name[] = "rate";
    *drawn = 0;
    if (m->nscen == 0)
        return 0;
    int has_legacy = 0, has_fixed = 0, has_gate = 0, heights[2] = {0, 0};
    FILE *f = open_out(dir, name, "dat", err, errlen);
    if (!f)
        return -1;
    fprintf(f, "# delivery rate per scenario, percent; NaN: not recorded, or no expected event\n"
               "# x scenario legacy legacy_lo legacy_hi fixed fixed_lo fixed_hi gate na_y\n");
    int has_na = 0;
    for (size_t i = 0; i < m->nscen; i++) {
        fprintf(f, "%zu ", i);
        dat_str(f, m->scen[i]);
        const rep_sweep *pr[2] = {m->legacy[i], m->fixed[i]};
        double gate = NAN;
        int na = 0;
        for (int k = 0; k < 2; k++) {
            if (pr[k] && pr[k]->r.c[SIM_COUNT_EXPECTED] == 0) {
                /* Inconclusive: nothing was expected, so there is no rate to
                 * draw (never a 100% bar); an "n/a" label stands there. */
                fprintf(f, " NaN NaN NaN");
                na = 1;
                if (pr[k]->r.expect_rate >= 0 && (isnan(gate) || pct(pr[k]->r.expect_rate) > gate))
                    gate = pct(pr[k]->r.expect_rate);
            } else if (pr[k]) {
                const sim_sweep_result *r = &pr[k]->r;
                fprintf(f, " %.4f %.4f %.4f", pct(r->delivery_rate), pct(r->rate_lo),
                        pct(r->rate_hi));
                heights[k] |= pct(r->delivery_rate) >= RATE_LABEL_INSIDE ? 1 : 2;
                if (r->expect_rate >= 0 && (isnan(gate) || pct(r->expect_rate) > gate))
                    gate = pct(r->expect_rate);
            } else {
                fprintf(f, " NaN NaN NaN");
            }
        }
        has_legacy |= pr[0] != NULL;
        has_fixed |= pr[1] != NULL;
        has_gate |= !isnan(gate);
        if (isnan(gate))
            fprintf(f, " NaN");
        else
            fprintf(f, " %.4f", gate);
        fprintf(f, na ? " 12\n" : " NaN\n");
        has_na |= na;
    }
    if (close_out(f, dir, name, "dat", err, errlen) != 0)
        return -1;

    int w = 160 + 70 * (int)m->nscen;
    w = w < 900 ? 900 : w > 2400 ? 2400 : w;
    int h = 620;
    f = open_out(dir, name, "gp", err, errlen);
    if (!f)
        return -1;
    preamble(f, name, w, h);
    title(f, "Delivery rate per scenario", &m->run);
    fprintf(f,
            "set ylabel 'delivery rate (%%)'\n"
            "set xlabel 'scenario'\n"
            "set yrange [0:100]\n"
            "set ytics 0,10,100 nomirror\n"
            "set grid ytics lc rgb '#dddddd'\n"
            "set xrange [-0.6:%zu.4]\n"
            "set xtics rotate by 35 right nomirror scale 0\n"
            "set key outside right top vertical Left reverse samplen 2\n"
            "set style fill solid 0.85 border lc rgb '#555555'\n",
            m->nscen - 1);
    rotated_margins(f, m->scen, m->nscen, 10);
    tics(f, "xtics", m->scen, m->nscen);
    int both = has_legacy && has_fixed;
    fprintf(f, "set boxwidth %s\n", both ? "0.38" : "0.6");
    const char *lx = both ? "($1-0.2)" : "($1)", *fx = both ? "($1+0.2)" : "($1)";
    fprintf(f, "plot ");
    const char *sep = "";
    if (has_legacy) {
        rate_bars(f, sep, lx, 3, "#d62728", "legacy profile", "title '95% Wilson interval'",
                  heights[0]);
        sep = ", \\\n     ";
    }
    if (has_fixed) {
        rate_bars(f, sep, fx, 6, "#2ca02c", "fixed profile",
                  has_legacy ? "notitle" : "title '95% Wilson interval'", heights[1]);
        sep = ", \\\n     ";
    }
    if (has_gate)
        fprintf(f,
                "%s'rate.dat' using ($1-0.4):9:(0.8):(0) with vectors nohead lw 2.5 dt 2 "
                "lc rgb '#1f3f9a' title 'gate: expect delivery_rate'",
                sep);
    if (has_na)
        fprintf(f,
                "%s'rate.dat' using 1:10:(\"n/a: no\\nexpected\\nevent\") with labels "
                "tc rgb '#b36b00' notitle",
                (has_legacy || has_fixed || has_gate) ? ", \\\n     " : "");
    fprintf(f, "\n");
    return draw(f, dir, name, w, h, drawn, err, errlen);
}

/* ---- 2. trend across runs ------------------------------------------------ */

static int chart_trend(const rep_model *m, const char *dir, int *drawn, char *err, size_t errlen)
{
    static const char name[] = "trend";
    const rep_trend *t = &m->trend;
    *drawn = 0;
    if (t->nruns == 0 || t->nscen == 0)
        return 0;
    char(*labels)[64] = calloc(t->nruns, sizeof *labels);
    if (!labels) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    double lo = 100;
    FILE *f = open_out(dir, name, "dat", err, errlen);
    if (!f) {
        free(labels);
        return -1;
    }
    fprintf(f, "# delivery rate (percent) per run, %s profile; NaN: not recorded\n# x run",
            m->trend_profile);
    for (size_t s = 0; s < t->nscen; s++) {
        fputc(' ', f);
        dat_comment(f, t->scen[s]);
    }
    fprintf(f, "\n");
    for (size_t r = 0; r < t->nruns; r++) {
        const rep_run_info *ri = &t->runs[r];
        snprintf(labels[r], sizeof labels[r], "#%lld%s%.24s%s", (long long)ri->id,
                 ri->label[0] ? " " : "", ri->label, ri->incomplete ? " (incomplete)" : "");
        fprintf(f, "%zu ", r);
        dat_str(f, labels[r]);
        for (size_t s = 0; s < t->nscen; s++) {
            double v = t->rate[r * t->nscen + s];
            if (isnan(v)) {
                fprintf(f, " NaN");
            } else {
                fprintf(f, " %.4f", pct(v));
                if (pct(v) < lo)
                    lo = pct(v);
            }
        }
        fprintf(f, "\n");
    }
    if (close_out(f, dir, name, "dat", err, errlen) != 0) {
        free(labels);
        return -1;
    }
    double ymin = floor(lo / 5.0) * 5.0 - 5.0;
    if (ymin < 0)
        ymin = 0;
    int w = 1100, h = 620;
    f = open_out(dir, name, "gp", err, errlen);
    if (!f) {
        free(labels);
        return -1;
    }
    preamble(f, name, w, h);
    char what[96];
    snprintf(what, sizeof what, "Delivery rate across runs (%s profile)", m->trend_profile);
    title(f, what, &m->run);
    fprintf(f,
            "set ylabel 'delivery rate (%%)'\n"
            "set xlabel 'run (id, label)'\n"
            "set yrange [%.0f:100.5]\n"
            "set grid lc rgb '#dddddd'\n"
            "set xtics rotate by 35 right nomirror\n"
            "set key outside right top vertical Left reverse samplen 2\n",
            ymin);
    if (t->nruns > 1)
        fprintf(f, "set xrange [-0.3:%zu.3]\n", t->nruns - 1);
    else
        fprintf(f, "set xrange [-1:1]\n"
                   "set label 1 'one run so far: the lines start with the next run' "
                   "at graph 0.5, 0.05 center tc rgb '#555555'\n");
    rotated_margins(f, labels, t->nruns, 10);
    tics(f, "xtics", labels, t->nruns);
    fprintf(f, "plot ");
    for (size_t s = 0; s < t->nscen; s++) {
        fprintf(f,
                "%s'trend.dat' using 1:%zu with linespoints lw 2 pt %zu ps 1.1 dt %zu lc rgb '%s' "
                "title ",
                s ? ", \\\n     " : "", s + 3, 1 + s % 13, 1 + (s / 12) % 4, line_colours[s % 12]);
        gp_str(f, t->scen[s]);
    }
    fprintf(f, "\n");
    free(labels);
    return draw(f, dir, name, w, h, drawn, err, errlen);
}

/* ---- 3. outcome breakdown ------------------------------------------------ */

static int chart_outcomes(const rep_model *m, const char *dir, const char *profile, int *drawn,
                          char *err, size_t errlen)
{
    char name[32];
    snprintf(name, sizeof name, "outcomes_%s", profile);
    const rep_sweep *const *col = strcmp(profile, "legacy") == 0 ? m->legacy : m->fixed;
    *drawn = 0;
    size_t k = 0;
    for (size_t i = 0; i < m->nscen; i++)
        k += col[i] != NULL;
    if (k == 0) {
        remove_chart(dir, name);
        return 0;
    }
    char(*names)[64] = calloc(k, sizeof *names);
    if (!names) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    FILE *f = open_out(dir, name, "dat", err, errlen);
    if (!f) {
        free(names);
        return -1;
    }
    fprintf(f,
            "# outcome of the expected events, percent of expected, %s profile\n"
            "# scenario delivered late client_told core_reported transport_lost "
            "in_flight_at_close never_started silent_loss\n",
            profile);
    size_t j = 0;
    double lowest = 100;
    for (size_t i = 0; i < m->nscen; i++) {
        if (!col[i])
            continue;
        const uint64_t *c = col[i]->r.c;
        double e = c[SIM_COUNT_EXPECTED] ? (double)c[SIM_COUNT_EXPECTED] : 1.0;
        if (c[SIM_COUNT_EXPECTED] && 100.0 * (double)c[SIM_COUNT_DELIVERED] / e < lowest)
            lowest = 100.0 * (double)c[SIM_COUNT_DELIVERED] / e;
        memcpy(names[j++], m->scen[i], 64);
        dat_str(f, m->scen[i]);
        fprintf(f, " %.4f %.4f", 100.0 * (double)c[SIM_COUNT_DELIVERED] / e,
                100.0 * (double)c[SIM_COUNT_LATE] / e);
        for (int x = 0; x < SIM_CAUSE__N; x++)
            fprintf(f, " %.4f", 100.0 * (double)c[sim_cause_count(x)] / e);
        fprintf(f, "\n");
    }
    if (close_out(f, dir, name, "dat", err, errlen) != 0) {
        free(names);
        return -1;
    }
    int w = 260 + 60 * (int)k;
    w = w < 1000 ? 1000 : w > 2400 ? 2400 : w;
    int h = 620;
    f = open_out(dir, name, "gp", err, errlen);
    if (!f) {
        free(names);
        return -1;
    }
    preamble(f, name, w, h);
    char what[96];
    snprintf(what, sizeof what, "Outcome of expected events (%s profile)", profile);
    title(f, what, &m->run);
    /* The y axis starts below the lowest delivered share by as much again
     * as the losses above it, so that sub-percent losses of the fixed
     * profile stay visible; the label says where it starts. */
    double span = 100.0 - lowest < 1.0 ? 1.0 : 100.0 - lowest;
    double step = span <= 5 ? 1 : span <= 20 ? 5 : 10;
    double ymin = floor((lowest - span) / step) * step;
    if (ymin < 0)
        ymin = 0;
    if (ymin > 0)
        fprintf(f, "set ylabel '%% of expected events (axis from %g%%)'\n", ymin);
    else
        fprintf(f, "set ylabel '%% of expected events'\n");
    fprintf(f,
            "set xlabel 'scenario'\n"
            "set yrange [%g:100]\n"
            "set ytics nomirror\n"
            "set grid ytics lc rgb '#dddddd'\n"
            "set style data histograms\n"
            "set style histogram rowstacked\n"
            "set style fill solid 0.9 border lc rgb '#555555'\n"
            "set boxwidth 0.7\n"
            "set xtics rotate by 35 right nomirror scale 0\n"
            "set key outside right top vertical Left reverse invert samplen 2\n",
            ymin);
    rotated_margins(f, names, k, 10);
    free(names);
    /* delivered, late, then one series per loss cause (SIM_CAUSES order). */
    static const char *const series[2 + SIM_CAUSE__N][2] = {
        {"delivered", "#2ca02c"},
        {"late", "#98df8a"},
        {"lost: client told (notice)", "#1f77b4"},
        {"lost: core reported", "#ff7f0e"},
        {"lost: transport died", "#9467bd"},
        {"lost: in flight at close", "#8c564b"},
        {"lost: run never started", "#7f7f7f"},
        {"silent loss (core_silent)", "#d62728"}};
    _Static_assert(SIM_CAUSE__N == 6, "one series per loss cause");
    fprintf(f, "plot ");
    for (int x = 0; x < 2 + SIM_CAUSE__N; x++)
        fprintf(f, "%s'%s.dat' using %d%s title '%s' lc rgb '%s'", x ? ", \\\n     " : "", name,
                x + 2, x ? "" : ":xtic(1)", series[x][0], series[x][1]);
    fprintf(f, "\n");
    return draw(f, dir, name, w, h, drawn, err, errlen);
}

/* ---- 4. latency CDF ------------------------------------------------------ */

static int chart_latency(const rep_model *m, const char *dir, int *drawn, char *err, size_t errlen)
{
    static const char name[] = "latency_cdf";
    *drawn = 0;
    size_t k = 0;
    for (size_t i = 0; i < m->nscen; i++)
        k += m->fixed[i] && m->fixed[i]->r.latency.count > 0;
    if (k == 0) {
        remove_chart(dir, name);
        return 0;
    }
    FILE *f = open_out(dir, name, "dat", err, errlen);
    if (!f)
        return -1;
    fprintf(f, "# delivery latency CDF, fixed profile: one block per scenario\n"
               "# latency_ms (bucket upper edge) percent_received_within\n");
    for (size_t i = 0, b = 0; i < m->nscen; i++) {
        if (!m->fixed[i] || m->fixed[i]->r.latency.count == 0)
            continue;
        const sim_hist *hh = &m->fixed[i]->r.latency;
        fprintf(f, "%s# ", b++ ? "\n\n" : "");
        dat_comment(f, m->scen[i]);
        fputc('\n', f);
        uint64_t acc = 0;
        double last_x = 0;
        int first = 1;
        for (int j = 0; j < SIM_HIST_BUCKETS; j++) {
            if (!hh->b[j])
                continue;
            if (first) {
                uint64_t low = sim_hist_bucket_low(j);
                if (low > 0) {
                    last_x = (double)low / 1e6;
                    fprintf(f, "%.6g 0\n", last_x);
                }
                first = 0;
            }
            acc += hh->b[j];
            uint64_t edge = j + 1 < SIM_HIST_BUCKETS ? sim_hist_bucket_low(j + 1) : hh->max;
            if (acc == hh->count && hh->max > 0 && hh->max < edge)
                edge = hh->max; /* the CDF reaches 100% at the maximum */
            double x = (double)edge / 1e6;
            if (x <= last_x)
                x = last_x * 1.0001 + 1e-9;
            last_x = x;
            fprintf(f, "%.6g %.4f\n", x, 100.0 * (double)acc / (double)hh->count);
        }
    }
    if (close_out(f, dir, name, "dat", err, errlen) != 0)
        return -1;
    int w = 1100, h = 620;
    f = open_out(dir, name, "gp", err, errlen);
    if (!f)
        return -1;
    preamble(f, name, w, h);
    title(f, "Delivery latency CDF (fixed profile)", &m->run);
    fprintf(f, "set xlabel 'delivery latency, emit to client receive (ms, log scale)'\n"
               "set ylabel 'events received within (%%)'\n"
               "set logscale x 10\n"
               "set format x '%%g'\n"
               "set yrange [0:100]\n"
               "set ytics 0,10,100\n"
               "set grid xtics mxtics ytics lc rgb '#dddddd'\n"
               "set key outside right top vertical Left reverse samplen 2\n"
               "plot ");
    for (size_t i = 0, b = 0; i < m->nscen; i++) {
        if (!m->fixed[i] || m->fixed[i]->r.latency.count == 0)
            continue;
        fprintf(f, "%s'%s.dat' index %zu using 1:2 with lines lw 2 dt %zu lc rgb '%s' title ",
                b ? ", \\\n     " : "", name, b, 1 + (b / 12) % 4, line_colours[b % 12]);
        gp_str(f, m->scen[i]);
        b++;
    }
    fprintf(f, "\n");
    return draw(f, dir, name, w, h, drawn, err, errlen);
}

/* ---- 5. ablation matrix -------------------------------------------------- */

static int chart_ablation(const rep_model *m, const char *dir, int *drawn, char *err, size_t errlen)
{
    static const char name[] = "ablation";
    const size_t W = REP_FIXES + 1;
    *drawn = 0;
    if (m->abl_nscen == 0) {
        remove_chart(dir, name);
        return 0;
    }
    const char *profile = "fixed";
    double lo = 100;
    FILE *f = open_out(dir, name, "dat", err, errlen);
    if (!f)
        return -1;
    fprintf(f,
            "# ablation: delivery rate (percent) with one fix switched off, run #%lld\n"
            "# fix(0 = none off) scenario_index rate pass(1/0) scenario\n",
            (long long)m->abl_run);
    for (size_t s = 0; s < m->abl_nscen; s++) {
        for (size_t k = 0; k < W; k++) {
            const rep_sweep *w = m->abl[s * W + k];
            if (!w)
                continue;
            if (k > 0)
                profile = w->r.profile;
            double v = pct(w->r.delivery_rate);
            if (v < lo)
                lo = v;
            fprintf(f, "%zu %zu %.4f %d ", k, s, v, w->r.pass ? 1 : 0);
            dat_str(f, m->abl_scen[s]);
            fprintf(f, "\n");
        }
    }
    if (close_out(f, dir, name, "dat", err, errlen) != 0)
        return -1;
    double cblo = floor(lo / 10.0) * 10.0;
    if (cblo > 90)
        cblo = 90;
    size_t lm = max_name(m->abl_scen, m->abl_nscen);
    int w = 1100, h = 180 + 34 * (int)m->abl_nscen;
    if (h < 420)
        h = 420;
    f = open_out(dir, name, "gp", err, errlen);
    if (!f)
        return -1;
    preamble(f, name, w, h);
    char what[128];
    snprintf(what, sizeof what,
             "Ablation: delivery rate with one fix switched off (%s profile; x: expect missed)",
             profile);
    rep_run_info ar = m->run;
    ar.id = m->abl_run;
    if (m->abl_run != m->run.id)
        ar.label[0] = '\0';
    title(f, what, &ar);
    fprintf(f,
            "set xlabel 'fix switched off (none: every fix on)'\n"
            "set ylabel 'scenario'\n"
            "set xrange [-0.5:%d.5]\n"
            "set yrange [%zu.5:-0.5]\n"
            "set xtics ('none' 0, 'F1' 1, 'F2' 2, 'F3' 3, 'F4' 4, 'F5' 5, 'F6' 6, 'F7' 7, "
            "'F8' 8, 'F9' 9) nomirror scale 0\n"
            "set x2tics ('' 0) scale 0\n"
            "set lmargin %.1f\n"
            "set cbrange [%.0f:100]\n"
            "set cblabel 'delivery rate (%%)'\n"
            "set palette defined (0 '#d73027', 0.5 '#fee08b', 1 '#1a9850')\n"
            "unset key\n",
            REP_FIXES, m->abl_nscen - 1, (double)lm * 0.85 + 8.0, cblo);
    fprintf(f, "set ytics nomirror scale 0 ");
    fprintf(f, "(");
    for (size_t s = 0; s < m->abl_nscen; s++) {
        gp_str(f, m->abl_scen[s]);
        fprintf(f, " %zu%s", s, s + 1 < m->abl_nscen ? ", " : "");
    }
    fprintf(f, ")\n");
    fprintf(f, "plot 'ablation.dat' using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 border "
               "lc rgb '#ffffff' fc palette notitle, \\\n"
               "     '' using 1:2:(sprintf('%%.1f%%s', $3, (int($4) == 1) ? '' : ' x')) with "
               "labels font ',9' "
               "notitle\n");
    return draw(f, dir, name, w, h, drawn, err, errlen);
}

/* ---- all ----------------------------------------------------------------- */

int rep_charts_render(const rep_model *m, const char *dir, rep_chart out[REP_CHART_MAX], size_t *n,
                      char *err, size_t errlen)
{
    *n = 0;
    char gp[4096];
    if (rep_gnuplot_find(gp, sizeof gp) != 0) {
        set_err(err, errlen,
                "gnuplot is not installed (not found in PATH): install it, e.g. on "
                "Debian/Ubuntu: apt-get install %s",
                REP_GNUPLOT_PACKAGE);
        return -1;
    }
    static const char *const names[REP_CHART_MAX][2] = {
        {"rate", "Delivery rate per scenario"},
        {"trend", "Delivery rate across runs"},
        {"outcomes_legacy", "Outcome of expected events, legacy profile"},
        {"outcomes_fixed", "Outcome of expected events, fixed profile"},
        {"latency_cdf", "Delivery latency CDF, fixed profile"},
        {"ablation", "Ablation matrix: scenario x fix switched off"},
    };
    for (int i = 0; i < REP_CHART_MAX; i++) {
        snprintf(out[i].name, sizeof out[i].name, "%s", names[i][0]);
        snprintf(out[i].title, sizeof out[i].title, "%s", names[i][1]);
        out[i].drawn = 0;
        int rc;
        switch (i) {
        case 0:
            rc = chart_rate(m, dir, &out[i].drawn, err, errlen);
            break;
        case 1:
            rc = chart_trend(m, dir, &out[i].drawn, err, errlen);
            break;
        case 2:
            rc = chart_outcomes(m, dir, "legacy", &out[i].drawn, err, errlen);
            break;
        case 3:
            rc = chart_outcomes(m, dir, "fixed", &out[i].drawn, err, errlen);
            break;
        case 4:
            rc = chart_latency(m, dir, &out[i].drawn, err, errlen);
            break;
        default:
            rc = chart_ablation(m, dir, &out[i].drawn, err, errlen);
            break;
        }
        if (rc != 0)
            return -1;
        if (!out[i].drawn)
            remove_chart(dir, out[i].name);
        *n = (size_t)i + 1;
    }
    return 0;
}

/* ---- parameter sweeps (ctxsim sweep) --------------------------------------- */

/* The display unit of a parameter's axis: durations in s, ms or us by the
 * range, other values as they are. */
static double axis_scale(const sim_vary *v, const char **unit)
{
    *unit = "";
    if (v->p.unit != SIM_VARY_NS)
        return 1;
    double m = fmax(fabs(v->from), fabs(v->to));
    *unit = m >= 1e9 ? "s" : m >= 1e6 ? "ms" : "us";
    return m >= 1e9 ? 1e9 : m >= 1e6 ? 1e6 : 1e3;
}

static void axis_label(char *buf, size_t len, const sim_vary *v)
{
    const char *u;
    axis_scale(v, &u);
    snprintf(buf, len, "%s%s%s%s", v->p.path, u[0] ? " (" : "", u, u[0] ? ")" : "");
}

static void sweep_title(FILE *f, const sim_psweep_result *r, const char *what)
{
    char t[512], tgt[16];
    sim_psweep_pct(r->target, tgt, sizeof tgt);
    snprintf(t, sizeof t, "%s: %.63s, %u seeds per value, target %s", what, r->scenario,
             (unsigned)r->seeds, tgt);
    fputs("set title ", f);
    gp_str(f, t);
    fputs(" font ',12'\n", f);
}

static const char *profile_colour(int profile)
{
    return profile == CR_PROFILE_LEGACY ? "#d62728" : "#1f77b4";
}

/* The delivery rate against the value: Wilson band, target, knee. */
static int chart_sweep_rate(const sim_psweep_result *r, const char *dir, const char *name,
                            int *drawn, char *err, size_t errlen)
{
    const sim_vary *v = &r->vary[0];
    const char *u;
    double sc = axis_scale(v, &u), ymin = 100;
    FILE *f = open_out(dir, name, "dat", err, errlen);
    if (!f)
        return -1;
    fprintf(f,
            "# %s: delivery rate (percent) against %s; one block per profile\n"
            "# value rate lo hi refined\n",
            name, v->p.path);
    for (size_t p = 0; p < r->nprofiles; p++) {
        fprintf(f, "%s# profile %s\n", p ? "\n\n" : "", sim_profile_name(r->profiles[p]));
        for (size_t i = 0; i < r->npts; i++) {
            const sim_psweep_point *q = &r->pts[i];
            if (q->profile != r->profiles[p])
                continue;
            fprintf(f, "%.9g %.4f %.4f %.4f %d\n", q->v[0] / sc, pct(q->rate), pct(q->lo),
                    pct(q->hi), q->refined);
            ymin = fmin(ymin, pct(q->lo));
        }
    }
    if (close_out(f, dir, name, "dat", err, errlen) != 0)
        return -1;
    ymin = fmin(ymin, pct(r->target));
    double ylo = floor((ymin - 1) / 5) * 5;
    if (ylo < 0)
        ylo = 0;
    /* Two panels: the whole range, and a zoom on the target where the
     * band and the knee are visible.  Multiplot does not replot, so the
     * body is written once per terminal. */
    double zlo = fmax(ylo, floor(pct(r->target) - 2.5));
    int w = 1300, h = 560;
    char *body = NULL;
    size_t blen = 0;
    FILE *b = open_memstream(&body, &blen);
    if (!b) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    char t[512], tgt[16];
    sim_psweep_pct(r->target, tgt, sizeof tgt);
    snprintf(t, sizeof t, "Delivery rate: %.63s, %u seeds per value, target %s", r->scenario,
             (unsigned)r->seeds, tgt);
    fputs("set multiplot layout 1,2 title ", b);
    gp_str(b, t);
    fputs(" font ',12'\n", b);
    char xl[160];
    axis_label(xl, sizeof xl, v);
    fputs("set xlabel ", b);
    gp_str(b, xl);
    fprintf(b, "\nset ylabel 'delivered within the deadline (%%), 95%% Wilson band'\n"
               "set grid ytics lc rgb '#dddddd'\nset key bottom right box opaque\n"
               "set autoscale xfix\nset offsets graph 0.03, graph 0.03, 0, 0\n");
    if (v->log)
        fprintf(b, "set logscale x\n");
    int lab = 1;
    for (size_t i = 0; i < r->nknees; i++) {
        const sim_psweep_knee *kn = &r->knees[i];
        if (kn->k.status == SIM_KNEE_NEVER)
            continue;
        char kt[48];
        sim_vary_format(&v->p, kn->k.value, kt, sizeof kt);
        fprintf(b,
                "set arrow from %.9g, graph 0 to %.9g, graph 1 nohead dt 2 lw 1.5 lc rgb '%s'\n"
                "set label %d ",
                kn->k.value / sc, kn->k.value / sc, profile_colour(kn->profile), lab++);
        snprintf(t, sizeof t, " knee (%s): %s %s", sim_profile_name(kn->profile),
                 kn->k.dir == SIM_KNEE_DOWN ? "<=" : ">=", kt);
        gp_str(b, t);
        fprintf(b, " at %.9g, graph %.2f %s tc rgb '%s' font ',10'\n", kn->k.value / sc,
                0.50 - 0.07 * (double)i, kn->k.dir == SIM_KNEE_DOWN ? "right" : "left",
                profile_colour(kn->profile));
    }
    char plot[4096];
    size_t pn0 = 0;
    plot[0] = '\0';
    for (size_t p = 0; p < r->nprofiles; p++) {
        const char *c = profile_colour(r->profiles[p]), *pn = sim_profile_name(r->profiles[p]);
        int refined = 0;
        for (size_t i = 0; i < r->npts; i++)
            refined |= r->pts[i].profile == r->profiles[p] && r->pts[i].refined;
        pn0 += (size_t)snprintf(
            plot + pn0, sizeof plot - pn0,
            "%s'%s.dat' index %zu using 1:3:4 with filledcurves fs transparent solid 0.25 "
            "noborder lc rgb '%s' title '%s: 95%% interval', \\\n"
            "     '' index %zu using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc rgb '%s' "
            "title '%s: delivery rate'",
            p ? ", \\\n     " : "", name, p, c, pn, p, c, pn);
        if (refined && pn0 < sizeof plot) /* no clause without points: gnuplot warns */
            pn0 += (size_t)snprintf(plot + pn0, sizeof plot - pn0,
                                    ", \\\n     '' index %zu using 1:($5 > 0 ? $2 : NaN) with "
                                    "points pt 6 ps 1.6 lc rgb '%s' title '%s: bisection value'",
                                    p, c, pn);
    }
    if (pn0 < sizeof plot)
        snprintf(plot + pn0, sizeof plot - pn0,
                 ", \\\n     %g with lines dt 3 lw 1.5 lc rgb '#222222' title 'target %s'\n",
                 pct(r->target), tgt);
    fprintf(b, "set title 'the whole range'\nset yrange [%g:100.5]\nplot %s", ylo, plot);
    fprintf(b, "set title 'near the target'\nset yrange [%g:100.2]\nunset key\nplot %s", zlo, plot);
    fprintf(b, "unset multiplot\n");
    if (fclose(b) != 0 || !body) {
        free(body);
        set_err(err, errlen, "out of memory");
        return -1;
    }
    f = open_out(dir, name, "gp", err, errlen);
    if (!f) {
        free(body);
        return -1;
    }
    preamble(f, name, w, h);
    fputs(body, f);
    fprintf(f,
            "set output\n"
            "set terminal svg size %d,%d dynamic font 'Sans,10' noenhanced background '#ffffff'\n"
            "set output '%s.svg'\n",
            w, h, name);
    fputs(body, f);
    fprintf(f, "set output\n");
    free(body);
    if (close_out(f, dir, name, "gp", err, errlen) != 0 || run_gnuplot(dir, name, err, errlen) != 0)
        return -1;
    *drawn = 1;
    return 0;
}

/* What the expected events that were not delivered became, stacked, by
 * value, for one profile. */
static int chart_sweep_causes(const sim_psweep_result *r, int profile, const char *dir,
                              const char *name, int *drawn, char *err, size_t errlen)
{
    static const char *const colours[SIM_PSWEEP_LATE + 1] = {
        "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#7f7f7f", "#d62728", "#bcbd22"};
    const sim_vary *v = &r->vary[0];
    size_t n = 0;
    int used[SIM_PSWEEP_LATE + 1] = {0};
    for (size_t i = 0; i < r->npts; i++) {
        const sim_psweep_point *q = &r->pts[i];
        if (q->profile != profile)
            continue;
        n++;
        for (int c = 0; c <= SIM_PSWEEP_LATE; c++)
            if ((c == SIM_PSWEEP_LATE ? q->c[SIM_COUNT_LATE] : q->c[sim_cause_count(c)]) > 0)
                used[c] = 1;
    }
    int any = 0;
    for (int c = 0; c <= SIM_PSWEEP_LATE; c++)
        any |= used[c];
    if (!n) {
        remove_chart(dir, name);
        return 0;
    }
    FILE *f = open_out(dir, name, "dat", err, errlen);
    if (!f)
        return -1;
    fprintf(f,
            "# %s: expected events not delivered, %% of expected, by cause (%s profile)\n"
            "# value",
            name, sim_profile_name(profile));
    for (int c = 0; c <= SIM_PSWEEP_LATE; c++)
        fprintf(f, " %s", sim_psweep_cause_name(c));
    fprintf(f, "\n");
    for (size_t i = 0; i < r->npts; i++) {
        const sim_psweep_point *q = &r->pts[i];
        if (q->profile != profile)
            continue;
        char vt[48];
        sim_vary_format(&v->p, q->v[0], vt, sizeof vt);
        if (q->refined)
            strcat(vt, "*");
        dat_str(f, vt);
        double e = q->c[SIM_COUNT_EXPECTED] ? (double)q->c[SIM_COUNT_EXPECTED] : 1;
        for (int c = 0; c <= SIM_PSWEEP_LATE; c++)
            fprintf(f, " %.5f",
                    100.0 *
                        (double)(c == SIM_PSWEEP_LATE ? q->c[SIM_COUNT_LATE]
                                                      : q->c[sim_cause_count(c)]) /
                        e);
        fprintf(f, "\n");
    }
    if (close_out(f, dir, name, "dat", err, errlen) != 0)
        return -1;
    int w = 1000, h = 520;
    f = open_out(dir, name, "gp", err, errlen);
    if (!f)
        return -1;
    preamble(f, name, w, h);
    char what[96];
    snprintf(what, sizeof what, "Not delivered, by cause (%s)", sim_profile_name(profile));
    sweep_title(f, r, what);
    fputs("set xlabel ", f);
    gp_str(f, v->p.path);
    fprintf(f, "\nset ylabel 'expected events not delivered (%% of expected)'\n"
               "set style data histograms\nset style histogram rowstacked\n"
               "set style fill solid 0.85 border lc rgb '#ffffff'\nset boxwidth 0.8\n"
               "set grid ytics lc rgb '#dddddd'\nset key top right box opaque\n"
               "set yrange [0:*]\nset xtics rotate by -35 left nomirror\n");
    if (!any)
        fprintf(f, "set yrange [0:1]\nset label 1 'every expected event was delivered' at "
                   "graph 0.5, graph 0.5 center\n");
    fprintf(f, "plot ");
    int first = 1;
    for (int c = 0; c <= SIM_PSWEEP_LATE; c++) {
        if (!used[c] && (any || c > 0))
            continue;
        fprintf(f, "%s'%s.dat' using %d:xtic(1) lc rgb '%s' title '%s'", first ? "" : ", \\\n     ",
                name, c + 2, colours[c], sim_psweep_cause_name(c));
        first = 0;
    }
    fprintf(f, "\n");
    return draw(f, dir, name, w, h, drawn, err, errlen);
}

/* index_of maps value x onto the grid g[n] (ascending) as a fractional
 * index, linear between grid values. */
static double index_of(const double *g, size_t n, double x)
{
    if (n < 2 || x <= g[0])
        return 0;
    for (size_t i = 1; i < n; i++)
        if (x <= g[i])
            return (double)(i - 1) + (x - g[i - 1]) / (g[i] - g[i - 1]);
    return (double)(n - 1);
}

/* Two parameters: delivery rate over the grid (first profile), and the
 * frontier: for each value of A, the knee in B. */
static int chart_sweep_heatmap(const sim_psweep_result *r, const char *dir, const char *name,
                               int *drawn, char *err, size_t errlen)
{
    const int prof = r->profiles[0];
    double ga[SIM_VARY_MAX_STEPS], gb[SIM_VARY_MAX_STEPS];
    size_t na = 0, nb = 0;
    if (sim_vary_grid(&r->vary[0], ga, SIM_VARY_MAX_STEPS, &na) != 0 ||
        sim_vary_grid(&r->vary[1], gb, SIM_VARY_MAX_STEPS, &nb) != 0 || !na || !nb) {
        remove_chart(dir, name);
        return 0;
    }
    double lo = 100;
    FILE *f = open_out(dir, name, "dat", err, errlen);
    if (!f)
        return -1;
    fprintf(f,
            "# %s: delivery rate (percent) over %s x %s (%s profile)\n"
            "# a_index b_index rate lower_bound_passes\n",
            name, r->vary[0].p.path, r->vary[1].p.path, sim_profile_name(prof));
    for (size_t i = 0; i < r->npts; i++) {
        const sim_psweep_point *q = &r->pts[i];
        if (q->profile != prof || q->refined)
            continue;
        double rv = pct(q->rate);
        lo = fmin(lo, rv);
        fprintf(f, "%.6f %.6f %.4f %d\n", index_of(ga, na, q->v[0]), index_of(gb, nb, q->v[1]), rv,
                q->lo >= r->target);
    }
    fprintf(f, "\n\n# frontier: a_index b_index(knee) label\n");
    int nfront = 0;
    for (size_t i = 0; i < r->nknees; i++) {
        const sim_psweep_knee *kn = &r->knees[i];
        if (kn->profile != prof || kn->k.status == SIM_KNEE_NEVER)
            continue;
        char kt[48];
        sim_vary_format(&r->vary[1].p, kn->k.value, kt, sizeof kt);
        fprintf(f, "%.6f %.6f ", index_of(ga, na, kn->row), index_of(gb, nb, kn->k.value));
        dat_str(f, kt);
        fprintf(f, "\n");
        nfront++;
    }
    if (!nfront)
        fprintf(f, "NaN NaN \"\"\n");
    if (close_out(f, dir, name, "dat", err, errlen) != 0)
        return -1;
    /* The colours resolve the region around the target, where the
     * frontier runs; lower rates are all red (their values are printed). */
    double cblo = fmax(floor(lo), floor(pct(r->target) - 5));
    if (cblo > 95)
        cblo = 95;
    int w = 1000, h = 640;
    f = open_out(dir, name, "gp", err, errlen);
    if (!f)
        return -1;
    preamble(f, name, w, h);
    char what[96];
    snprintf(what, sizeof what, "Delivery rate and frontier (%s)", sim_profile_name(prof));
    sweep_title(f, r, what);
    fputs("set xlabel ", f);
    gp_str(f, r->vary[0].p.path);
    fputs("\nset ylabel ", f);
    gp_str(f, r->vary[1].p.path);
    fprintf(f,
            "\nset xrange [-0.5:%zu.5]\nset yrange [-0.5:%zu.5]\n"
            "set cbrange [%.0f:100]\nset cblabel 'delivery rate (%%; lower: red)'\n"
            "set palette defined (0 '#d73027', 0.5 '#fee08b', 1 '#1a9850')\n"
            "set key outside top center horizontal\n"
            "set style textbox opaque noborder\n",
            na - 1, nb - 1, cblo);
    fprintf(f, "set xtics nomirror scale 0 (");
    for (size_t i = 0; i < na; i++) {
        char t[48];
        sim_vary_format(&r->vary[0].p, ga[i], t, sizeof t);
        gp_str(f, t);
        fprintf(f, " %zu%s", i, i + 1 < na ? ", " : "");
    }
    fprintf(f, ")\nset ytics nomirror scale 0 (");
    for (size_t i = 0; i < nb; i++) {
        char t[48];
        sim_vary_format(&r->vary[1].p, gb[i], t, sizeof t);
        gp_str(f, t);
        fprintf(f, " %zu%s", i, i + 1 < nb ? ", " : "");
    }
    fprintf(f, ")\n");
    fprintf(f,
            "plot '%s.dat' index 0 using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 border "
            "lc rgb '#ffffff' fc palette notitle, \\\n"
            "     '' index 0 using 1:2:(sprintf('%%.1f', $3)) with labels font ',8' notitle, \\\n"
            "     '' index 1 using 1:2 with linespoints pt 7 ps 1.2 lw 2.5 lc rgb '#000000' "
            "title 'frontier: the knee in %s for each %s', \\\n"
            "     '' index 1 using 1:2:3 with labels left offset 1,0.6 boxed font ',9' "
            "tc rgb '#000000' notitle\n",
            name, r->vary[1].p.path, r->vary[0].p.path);
    return draw(f, dir, name, w, h, drawn, err, errlen);
}

int rep_sweep_charts_render(const sim_psweep_result *r, const char *dir, const char *stem,
                            rep_chart out[REP_SWEEP_CHART_MAX], size_t *n, char *err, size_t errlen)
{
    *n = 0;
    char gp[4096];
    if (rep_gnuplot_find(gp, sizeof gp) != 0) {
        set_err(err, errlen,
                "gnuplot is not installed (not found in PATH): install it, e.g. on "
                "Debian/Ubuntu: apt-get install %s",
                REP_GNUPLOT_PACKAGE);
        return -1;
    }
    if (r->nvary == 2) {
        rep_chart *c = &out[(*n)++];
        snprintf(c->name, sizeof c->name, "%.40s_heatmap", stem);
        snprintf(c->title, sizeof c->title, "Delivery rate over %.40s x %.40s, and the frontier",
                 r->vary[0].p.path, r->vary[1].p.path);
        return chart_sweep_heatmap(r, dir, c->name, &c->drawn, err, errlen);
    }
    rep_chart *c = &out[(*n)++];
    snprintf(c->name, sizeof c->name, "%.40s_rate", stem);
    snprintf(c->title, sizeof c->title, "Delivery rate against %.64s", r->vary[0].p.path);
    if (chart_sweep_rate(r, dir, c->name, &c->drawn, err, errlen) != 0)
        return -1;
    for (size_t p = 0; p < r->nprofiles; p++) {
        c = &out[(*n)++];
        snprintf(c->name, sizeof c->name, "%.40s_causes_%s", stem,
                 sim_profile_name(r->profiles[p]));
        snprintf(c->title, sizeof c->title, "Not delivered, by cause, against %.64s (%s)",
                 r->vary[0].p.path, sim_profile_name(r->profiles[p]));
        if (chart_sweep_causes(r, r->profiles[p], dir, c->name, &c->drawn, err, errlen) != 0)
            return -1;
    }
    return 0;
}
