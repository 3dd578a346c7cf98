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

#include "reports/svg.h"
#include "reports/text.h"
#include "sim/verdict.h"

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

/*
 * Begins a chart's script: its body (what follows, up to script_end) is
 * drawn twice, as NAME.png (pngcairo when available) and as NAME.svg, so
 * that multiplot charts come out identical in both.
 */
static void script_begin(FILE *f, const char *name, int w, int h)
{
    fprintf(f,
            "# %s.gp - written by `ctxsim report`; redraw with: gnuplot %s.gp\n"
            "set encoding utf8\n"
            "do for [fmt in 'png svg'] {\n"
            "if (fmt eq 'png') {\n"
            "    if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
            "        set terminal pngcairo size %d,%d font 'Sans,10' noenhanced\n"
            "    } else {\n"
            "        set terminal png size %d,%d noenhanced\n"
            "    }\n"
            "} else {\n"
            "    set terminal svg size %d,%d dynamic font 'Sans,10' noenhanced "
            "background '#ffffff'\n"
            "}\n"
            "set output '%s.'.fmt\n"
            "reset\n"
            "set datafile missing 'NaN'\n",
            name, name, w, h, w, h, w, h, name);
}

/*
 * Ends a chart's script, closes it and runs gnuplot on it; the SVG then
 * gets hover titles (rep_svg_tidy) and *drawn is set.
 */
static int draw(FILE *f, const char *dir, const char *name, const char *svg_title, int *drawn,
                char *err, size_t errlen)
{
    fputs("set output\n}\n", f);
    if (close_out(f, dir, name, "gp", err, errlen) != 0)
        return -1;
    if (run_gnuplot(dir, name, err, errlen) != 0)
        return -1;
    char p[4096];
    file_path(p, sizeof p, dir, name, "svg");
    int rc = rep_svg_tidy(p, svg_title);
    if (rc != 0) {
        set_err(err, errlen, "%s: %s", p, strerror(-rc));
        return -1;
    }
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
static void label_margins(char (*labels)[64], size_t n, double min_left, double *bottom,
                          double *left)
{
    size_t longest = 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(labels[i]) > longest)
            longest = strlen(labels[i]);
    double l = n ? 0.82 * (double)strlen(labels[0]) - 2.0 : 0;
    *bottom = 3.0 + 0.30 * (double)longest;
    *left = l > min_left ? l : min_left;
}

static void rotated_margins(FILE *f, char (*labels)[64], size_t n, double min_left)
{
    double bottom, left;
    label_margins(labels, n, min_left, &bottom, &left);
    fprintf(f, "set bmargin %.1f\nset lmargin %.1f\n", bottom, left);
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

/* Colours: a sweep that fails CI is red, never green; informational grey. */
#define C_PASS   "#2ca02c"
#define C_FAIL   "#d62728"
#define C_LEGACY "#a0a0a0"
#define C_GATE   "#1f3f9a"

/*
 * Starts a plot clause: "plot " before the first (*first is then cleared),
 * a continuation before the others.  Clauses are only written for series
 * that have points (gnuplot warns about the others).
 */
static void clause(FILE *f, int *first, const char *fmt, ...)
{
    fputs(*first ? "plot " : ", \\\n     ", f);
    *first = 0;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
}

/*
 * The hover text of a sweep's rate (a "\n" in it is a line break of the
 * tooltip): scenario / profile, the rate with its interval, the gate and
 * the margin to it, the outcome every output prints.
 */
static void rate_hover(char *buf, size_t len, const sim_sweep_result *r)
{
    int o;
    if (r->c[SIM_COUNT_EXPECTED] == 0)
        o = snprintf(buf, len, "%.64s / %.16s%s%.64s: no expected event", r->scenario, r->profile,
                     r->policy[0] ? " / " : "", r->policy);
    else
        o = snprintf(buf, len, "%.64s / %.16s%s%.64s: %.2f%% [%.2f, %.2f] of %llu expected",
                     r->scenario, r->profile, r->policy[0] ? " / " : "", r->policy,
                     pct(r->delivery_rate), pct(r->rate_lo), pct(r->rate_hi),
                     (unsigned long long)r->c[SIM_COUNT_EXPECTED]);
    if (o < 0 || (size_t)o >= len)
        return;
    if (r->expect_rate >= 0 && r->c[SIM_COUNT_EXPECTED]) {
        int k = snprintf(buf + o, len - (size_t)o, "\\ngate %.4g%%, margin %+.2f pp",
                         pct(r->expect_rate), pct(r->delivery_rate) - pct(r->expect_rate));
        if (k < 0 || (size_t)(o + k) >= len)
            return;
        o += k;
    }
    snprintf(buf + o, len - (size_t)o, "\\n%s%s%.200s", sim_sweep_outcome(r),
             r->reason[0] ? ": " : "", r->reason);
}

/* ---- 1. delivery rate per scenario --------------------------------------- */

/*
 * Two panels sharing the scenario axis: the rates from 0 to 100% (legacy
 * grey, fixed green when it meets its gate and red when it fails CI), and
 * below it the fixed profile zoomed on the gate region: each rate with its
 * interval, the gate, and the margin to the gate in percentage points.  A
 * rate below the zoomed axis is drawn as a red triangle on its floor.
 */
static int chart_rate(const rep_model *m, const char *dir, int *drawn, char *err, size_t errlen)
{
    static const char name[] = "rate";
    *drawn = 0;
    if (m->nscen == 0)
        return 0;
    int has_legacy = 0, has_fixed = 0, has_gate = 0, heights[2] = {0, 0};
    int fix_pass = 0, fix_fail = 0, has_na = 0, has_margin = 0;
    double zlo = 100.0, gate_min = 100.0;
    FILE *f = open_out(dir, name, "dat", err, errlen);
    if (!f)
        return -1;
    fprintf(f, "# delivery rate per scenario, percent; NaN: not recorded, or no expected event\n"
               "# x scenario legacy legacy_lo legacy_hi fixed fixed_lo fixed_hi gate na_y "
               "fixed_fails_ci margin_pp legacy_hover fixed_hover\n");
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
        has_legacy |= pr[0] && pr[0]->r.c[SIM_COUNT_EXPECTED] > 0;
        has_fixed |= pr[1] != NULL;
        has_gate |= !isnan(gate);
        if (isnan(gate))
            fprintf(f, " NaN");
        else
            fprintf(f, " %.4f", gate);
        fprintf(f, na ? " 12" : " NaN");
        has_na |= na;
        const sim_sweep_result *fr = pr[1] ? &pr[1]->r : NULL;
        if (fr && fr->c[SIM_COUNT_EXPECTED] > 0) {
            fprintf(f, " %d", fr->fails_ci ? 1 : 0);
            fix_fail |= fr->fails_ci != 0;
            fix_pass |= !fr->fails_ci;
            if (pct(fr->rate_lo) < zlo)
                zlo = pct(fr->rate_lo);
            if (fr->expect_rate >= 0) {
                fprintf(f, " %.4f", pct(fr->delivery_rate) - pct(fr->expect_rate));
                has_margin = 1;
                if (pct(fr->expect_rate) < gate_min)
                    gate_min = pct(fr->expect_rate);
            } else {
                fprintf(f, " NaN");
            }
        } else {
            fprintf(f, " NaN NaN");
        }
        char hov[700];
        for (int k = 0; k < 2; k++) {
            if (pr[k])
                rate_hover(hov, sizeof hov, &pr[k]->r);
            else
                snprintf(hov, sizeof hov, "-");
            fputc(' ', f);
            dat_str(f, hov);
        }
        fputc('\n', f);
    }
    if (close_out(f, dir, name, "dat", err, errlen) != 0)
        return -1;

    /* The zoomed axis: from a little below the lowest interval or gate of
     * the fixed sweeps, but never more than 10 pp below the lowest gate
     * (rates further down are drawn on the floor). */
    if (has_margin && gate_min < zlo)
        zlo = gate_min;
    double span = 100.0 - zlo;
    zlo -= span * 0.15 > 0.2 ? span * 0.15 : 0.2;
    if (has_margin && zlo < gate_min - 10)
        zlo = gate_min - 10;
    double step = 100.0 - zlo <= 2.5 ? 0.5 : 100.0 - zlo <= 10 ? 1 : 5;
    zlo = floor(zlo / step) * step;
    if (zlo < 0)
        zlo = 0;
    span = 100.0 - zlo;
    double zhi = 100.0 + span * 0.12;
    int has_clipped = 0;
    for (size_t i = 0; i < m->nscen; i++) {
        const rep_sweep *w = m->fixed[i];
        has_clipped |= w && w->r.c[SIM_COUNT_EXPECTED] > 0 && pct(w->r.delivery_rate) < zlo;
    }
    int zoom = has_fixed && (fix_pass || fix_fail);

    /* at most 1360 px: the page shows it at its natural size (its text
     * legible) up to 24 scenarios */
    int w = 200 + 70 * (int)m->nscen;
    w = w < 1000 ? 1000 : w > 1360 && m->nscen <= 24 ? 1360 : w > 2400 ? 2400 : w;
    int h = zoom ? 900 : 620;
    double bm, lm;
    label_margins(m->scen, m->nscen, 10, &bm, &lm);
    const double rm = 34;
    f = open_out(dir, name, "gp", err, errlen);
    if (!f)
        return -1;
    script_begin(f, name, w, h);
    if (zoom)
        fprintf(f, "set multiplot\nset origin 0, 0.5\nset size 1, 0.5\n");
    title(f, "Delivery rate per scenario", &m->run);
    fprintf(f,
            "set lmargin %.1f\nset rmargin %.0f\n"
            "set ylabel 'delivery rate (%%)'\n"
            "set yrange [0:100]\n"
            "set ytics 0,10,100 nomirror\n"
            "set grid ytics lc rgb '#dddddd'\n"
            "set xrange [-0.6:%zu.4]\n"
            "set key outside right top vertical Left reverse samplen 2\n"
            "set style fill solid 0.85 border lc rgb '#555555'\n",
            lm, rm, m->nscen - 1);
    if (zoom) {
        fprintf(f, "set bmargin 1\nset xtics 0,1 scale 0 format ''\n");
    } else {
        fprintf(f,
                "set xlabel 'scenario'\nset xtics rotate by 35 right nomirror scale 0\n"
                "set bmargin %.1f\n",
                bm);
        tics(f, "xtics", m->scen, m->nscen);
    }
    int both = has_legacy && has_fixed;
    fprintf(f, "set boxwidth %s\n", both ? "0.38" : "0.6");
    const char *lx = both ? "($1-0.2)" : "($1)", *fx = both ? "($1+0.2)" : "($1)";
    int first = 1;
    if (has_legacy) {
        clause(f, &first,
               "'rate.dat' using %s:3 with boxes lc rgb '%s' title 'legacy profile "
               "(informational)'",
               lx, C_LEGACY);
        clause(f, &first,
               "'' using %s:3:4:5 with yerrorbars lc rgb '#222222' pt 0 lw 1.2 title "
               "'95%% Wilson interval'",
               lx);
    }
    if (fix_pass)
        clause(f, &first,
               "'rate.dat' using %s:($11 == 0 ? $6 : NaN) with boxes lc rgb '%s' "
               "title 'fixed: meets its expect'",
               fx, C_PASS);
    if (fix_fail)
        clause(f, &first,
               "'rate.dat' using %s:($11 == 1 ? $6 : NaN) with boxes lc rgb '%s' "
               "title 'fixed: FAILS CI'",
               fx, C_FAIL);
    if (fix_pass || fix_fail)
        clause(f, &first, "'' using %s:6:7:8 with yerrorbars lc rgb '#222222' pt 0 lw 1.2 %s", fx,
               has_legacy ? "notitle" : "title '95% Wilson interval'");
    for (int k = 0; k < 2; k++) {
        const char *x = k ? fx : lx;
        int c = k ? 6 : 3;
        if (heights[k] & 1)
            clause(f, &first,
                   "'' using %s:($%d >= %g ? $%d - 3 : NaN):(sprintf('%%.1f', $%d)) with labels "
                   "rotate by 90 right font ',8' tc rgb '#ffffff' notitle",
                   x, c, RATE_LABEL_INSIDE, c + 1, c);
        if (heights[k] & 2)
            clause(f, &first,
                   "'' using %s:($%d < %g ? $%d + 2.5 : NaN):(sprintf('%%.1f', $%d)) with labels "
                   "rotate by 90 left font ',8' tc rgb '#222222' notitle",
                   x, c, RATE_LABEL_INSIDE, c + 2, c);
        if (k ? (fix_pass || fix_fail) : has_legacy)
            clause(f, &first,
                   "'' using %s:%d:%d with labels hypertext point pt 5 ps 2 lc rgb '#ffffffff' "
                   "notitle",
                   x, c, k ? 14 : 13);
    }
    if (has_gate)
        clause(f, &first,
               "'rate.dat' using ($1-0.4):9:(0.8):(0) with vectors nohead lw 2.5 dt 2 "
               "lc rgb '%s' title 'gate: expect delivery_rate'",
               C_GATE);
    if (has_na)
        clause(f, &first,
               "'rate.dat' using 1:10:(\"n/a: no\\nexpected\\nevent\") with labels "
               "tc rgb '#b36b00' notitle");
    fprintf(f, "\n");
    if (zoom) {
        fprintf(f,
                "set origin 0, 0\nset size 1, 0.5\n"
                "set title 'Margin to the gate, fixed profile (zoomed: %g%% to 100%%)' "
                "font ',11'\n"
                "set tmargin 2\nset bmargin %.1f\n"
                "set ylabel 'delivery rate (%%), zoomed'\n"
                "set yrange [%g:%g]\n"
                "set ytics %g nomirror\nset format y '%%g'\n"
                "set xlabel 'scenario'\n"
                "set xtics rotate by 35 right nomirror scale 0 format '%%g'\n",
                zlo, bm, zlo, zhi, step);
        tics(f, "xtics", m->scen, m->nscen);
        first = 1;
        if (has_gate)
            clause(f, &first,
                   "'rate.dat' using ($1-0.4):9:(0.8):(0) with vectors nohead lw 2.5 dt 2 "
                   "lc rgb '%s' title 'gate'",
                   C_GATE);
        static const char *const cls[2][3] = {{"0", C_PASS, "meets its expect"},
                                              {"1", C_FAIL, "FAILS CI"}};
        for (int k = 0; k < 2; k++) {
            if (!(k ? fix_fail : fix_pass))
                continue;
            clause(f, &first,
                   "'rate.dat' using 1:($11 == %s ? $6 : NaN):7:8 with yerrorbars lc rgb '%s' "
                   "pt 7 ps 1.1 lw 1.5 title 'fixed: %s'",
                   cls[k][0], cls[k][1], cls[k][2]);
            clause(f, &first,
                   "'' using 1:($11 == %s ? $6 : NaN):14 with labels hypertext point pt 7 "
                   "ps 1.1 lc rgb '%s' notitle",
                   cls[k][0], cls[k][1]);
        }
        if (has_margin) {
            clause(f, &first,
                   "'rate.dat' using 1:($12 >= 0 && $6 >= %g ? $8 + %g : NaN):"
                   "(sprintf('%%+.2f', $12)) with labels font ',8' tc rgb '#222222' "
                   "title 'margin to the gate (pp)'",
                   zlo, span * 0.04);
            clause(f, &first,
                   "'rate.dat' using 1:($12 < 0 && $6 >= %g ? $8 + %g : NaN):"
                   "(sprintf('%%+.2f', $12)) with labels font ',8' tc rgb '%s' notitle",
                   zlo, span * 0.04, C_FAIL);
        }
        if (has_clipped)
            clause(f, &first,
                   "'rate.dat' using 1:($6 < %g ? %g : NaN):14 with "
                   "labels hypertext point pt 11 ps 1.6 lc rgb '%s' notitle, \\\n"
                   "     '' using 1:($6 < %g ? %g : NaN):(sprintf('%%.1f%%%% (below)', $6)) with "
                   "labels left offset 1.2,0 font ',8' tc rgb '%s' notitle",
                   zlo, zlo + span * 0.03, C_FAIL, zlo, zlo + span * 0.03, C_FAIL);
        fprintf(f, "\nunset multiplot\n");
    }
    return draw(f, dir, name, "Delivery rate per scenario, with the margin to the gate", drawn, err,
                errlen);
}

/* ---- 2. trend across runs ------------------------------------------------ */

/* A scenario is labelled in the trend when its rate moved by at least this
 * much (pp) across the runs shown, or was below its gate in one of them. */
#define TREND_MOVED_PP 0.5

/* The gate (in %) of scenario `scen` in this run's sweeps of the trend's
 * profile, NaN when it has none. */
static double trend_gate(const rep_model *m, const char *scen)
{
    const rep_sweep *const *col = strcmp(m->trend_profile, "legacy") == 0 ? m->legacy : m->fixed;
    for (size_t i = 0; i < m->nscen; i++)
        if (strcmp(m->scen[i], scen) == 0)
            return col[i] && col[i]->r.expect_rate >= 0 ? pct(col[i]->r.expect_rate) : NAN;
    return NAN;
}

/*
 * One line per scenario across the runs, zoomed on the rates shown and
 * the gate lines; scenarios that moved (TREND_MOVED_PP) or fell below
 * their gate are coloured and named, the steady ones drawn thin and grey
 * under one legend entry.  Every point has a hover title.
 */
static int chart_trend(const rep_model *m, const char *dir, int *drawn, char *err, size_t errlen)
{
    static const char name[] = "trend";
    const rep_trend *t = &m->trend;
    *drawn = 0;
    if (t->nruns == 0 || t->nscen == 0)
        return 0;
    char(*labels)[64] = calloc(t->nruns, sizeof *labels);
    double *gate = calloc(t->nscen, sizeof *gate);
    char *moved = calloc(t->nscen, 1);
    if (!labels || !gate || !moved) {
        free(labels);
        free(gate);
        free(moved);
        set_err(err, errlen, "out of memory");
        return -1;
    }
    double lo = 100;
    size_t nmoved = 0;
    for (size_t s = 0; s < t->nscen; s++) {
        gate[s] = trend_gate(m, t->scen[s]);
        double mn = INFINITY, mx = -INFINITY;
        int below = 0;
        for (size_t r = 0; r < t->nruns; r++) {
            double v = t->rate[r * t->nscen + s];
            if (isnan(v))
                continue;
            v = pct(v);
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            below |= !isnan(gate[s]) && v < gate[s];
        }
        moved[s] = below || (mx >= mn && mx - mn >= TREND_MOVED_PP);
        nmoved += moved[s] != 0;
        if (mn < lo)
            lo = mn;
        if (!isnan(gate[s]) && gate[s] < lo)
            lo = gate[s];
    }
    FILE *f = open_out(dir, name, "dat", err, errlen);
    if (!f)
        goto fail;
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
            if (isnan(v))
                fprintf(f, " NaN");
            else
                fprintf(f, " %.4f", pct(v));
        }
        fprintf(f, "\n");
    }
    if (close_out(f, dir, name, "dat", err, errlen) != 0)
        goto fail;
    double span = 100.0 - lo;
    double ymin = lo - (span * 0.15 > 0.2 ? span * 0.15 : 0.2);
    double step = 100.0 - ymin <= 2.5 ? 0.5 : 100.0 - ymin <= 10 ? 1 : 100.0 - ymin <= 40 ? 5 : 10;
    ymin = floor(ymin / step) * step;
    if (ymin < 0)
        ymin = 0;
    double ymax = 100.0 + (100.0 - ymin) * 0.04;
    int w = 1200, h = 620;
    f = open_out(dir, name, "gp", err, errlen);
    if (!f)
        goto fail;
    script_begin(f, name, w, h);
    char what[160];
    snprintf(what, sizeof what,
             "Delivery rate across runs (%s profile; named: moved >= %.1f pp "
             "or below the gate)",
             m->trend_profile, TREND_MOVED_PP);
    title(f, what, &m->run);
    fprintf(f,
            "set ylabel 'delivery rate (%%, zoomed: from %g%%)'\n"
            "set xlabel 'run (id, label)'\n"
            "set yrange [%g:%g]\n"
            "set ytics %g nomirror\n"
            "set grid lc rgb '#dddddd'\n"
            "set xtics rotate by 35 right nomirror\n"
            "set key outside right top vertical Left reverse samplen 2\n",
            ymin, ymin, ymax, step);
    if (t->nruns > 1)
        fprintf(f, "set xrange [-0.3:%zu.3]\n", t->nruns - 1);
    else
        fprintf(f, "set xrange [-1:1]\n"
                   "set label 1 'one run so far: the lines start with the next run' "
                   "at graph 0.5, 0.05 center tc rgb '#555555'\n");
    /* one dashed line per distinct gate */
    double gates[4];
    size_t ng = 0;
    for (size_t s = 0; s < t->nscen && ng < 4; s++) {
        if (isnan(gate[s]))
            continue;
        size_t k = 0;
        while (k < ng && fabs(gates[k] - gate[s]) > 1e-9)
            k++;
        if (k == ng)
            gates[ng++] = gate[s];
    }
    for (size_t k = 0; k < ng; k++)
        fprintf(f,
                "set arrow %zu from graph 0, first %.6g to graph 1, first %.6g nohead lw 2 dt 2 "
                "lc rgb '%s' front\n"
                "set label %zu 'gate %.4g%%' at graph 0.005, first %.6g offset 0,0.6 left "
                "tc rgb '%s' front\n",
                k + 1, gates[k], gates[k], C_GATE, k + 2, gates[k], gates[k], C_GATE);
    rotated_margins(f, labels, t->nruns, 10);
    tics(f, "xtics", labels, t->nruns);
    int first = 1;
    if (ng)
        clause(f, &first,
               "keyentry with lines dt 2 lw 2 lc rgb '%s' title 'gate (expect "
               "delivery_rate)'",
               C_GATE);
    if (nmoved < t->nscen)
        clause(f, &first,
               "keyentry with lines lw 1 lc rgb '#c0c0c0' title '%zu steady "
               "(moved < %.1f pp)'",
               t->nscen - nmoved, TREND_MOVED_PP);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t s = 0, c = 0; s < t->nscen; s++) {
            if ((moved[s] != 0) != pass)
                continue;
            if (pass) {
                clause(f, &first,
                       "'trend.dat' using 1:%zu with linespoints lw 2 pt %zu ps 1.1 dt %zu "
                       "lc rgb '%s' title ",
                       s + 3, 1 + c % 13, 1 + (c / 12) % 4, line_colours[c % 12]);
                gp_str(f, t->scen[s]);
                c++;
            } else {
                clause(f, &first,
                       "'trend.dat' using 1:%zu with lines lw 1 lc rgb '#c0c0c0' notitle", s + 3);
            }
            clause(f, &first, "'' using 1:%zu:(", s + 3);
            gp_str(f, t->scen[s]);
            fprintf(f,
                    ".', run '.strcol(2).sprintf(': %%.2f%%%%', column(%zu))) with labels "
                    "hypertext point pt 7 ps 0.35 lc rgb '#555555' notitle",
                    s + 3);
        }
    }
    fprintf(f, "\n");
    free(labels);
    free(gate);
    free(moved);
    return draw(f, dir, name, "Delivery rate across runs", drawn, err, errlen);
fail:
    free(labels);
    free(gate);
    free(moved);
    return -1;
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
    w = w < 1000 ? 1000 : w > 1360 && k <= 24 ? 1360 : w > 2400 ? 2400 : w;
    int h = 620;
    f = open_out(dir, name, "gp", err, errlen);
    if (!f) {
        free(names);
        return -1;
    }
    script_begin(f, name, w, h);
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
    return draw(f, dir, name, what, drawn, err, errlen);
}

/* ---- 4. latency CDF ------------------------------------------------------ */

#define C_FIXED      "#1f77b4"
#define C_LEGACY_CDF "#ff7f0e"

/* "5 s", "250 ms", "1.5 ms": a deadline for a label. */
static void human_ns(char *buf, size_t len, uint64_t ns)
{
    if (ns >= 1000000000ull)
        snprintf(buf, len, "%.4g s", (double)ns / 1e9);
    else
        snprintf(buf, len, "%.4g ms", (double)ns / 1e6);
}

/* Writes one CDF block of h (x in ms, no lower than xlo: faster deliveries
 * are drawn on the left edge). */
static void cdf_block(FILE *f, const sim_hist *hh, double xlo)
{
    uint64_t acc = 0;
    double last_x = 0;
    int first = 1;
    for (int j = 0; j < SIM_HIST_BUCKETS; j++) {
        if (!hh->b[j])
            continue;
        if (first) {
            double low = (double)sim_hist_bucket_low(j) / 1e6;
            last_x = low > xlo ? low : xlo;
            fprintf(f, "%.6g 0\n", last_x);
            first = 0;
        }
        acc += hh->b[j];
        uint64_t edge = j + 1 < SIM_HIST_BUCKETS ? sim_hist_bucket_low(j + 1) : hh->max;
        if (acc == hh->count && hh->max > 0 && hh->max < edge)
            edge = hh->max; /* the CDF reaches 100% at the maximum */
        double x = (double)edge / 1e6;
        if (x < xlo)
            x = xlo;
        if (x <= last_x)
            x = last_x * 1.0001 + 1e-9;
        last_x = x;
        fprintf(f, "%.6g %.4f\n", x, 100.0 * (double)acc / (double)hh->count);
    }
}

/* The latency (ms) below which 10% of h's deliveries fall. */
static double cdf_p10(const sim_hist *hh)
{
    uint64_t acc = 0;
    for (int j = 0; j < SIM_HIST_BUCKETS; j++) {
        acc += hh->b[j];
        if (hh->b[j] && (double)acc >= 0.1 * (double)hh->count)
            return (double)sim_hist_bucket_low(j) / 1e6;
    }
    return 1;
}

/*
 * Small multiples: one panel per scenario with the CDF of the fixed
 * profile (solid blue) and of legacy (dashed orange), the scenario's
 * deadline as a red dotted line, one shared log x axis.
 */
static int chart_latency(const rep_model *m, const char *dir, int *drawn, char *err, size_t errlen)
{
    static const char name[] = "latency_cdf";
    *drawn = 0;
    size_t k = 0;
    double xlo = INFINITY, xhi = 0;
    for (size_t i = 0; i < m->nscen; i++) {
        const rep_sweep *pr[2] = {m->fixed[i], m->legacy[i]};
        int any = 0;
        for (int p = 0; p < 2; p++) {
            if (!pr[p] || pr[p]->r.latency.count == 0)
                continue;
            any = 1;
            double lo = cdf_p10(&pr[p]->r.latency);
            double hi = (double)pr[p]->r.latency.max / 1e6;
            xlo = lo < xlo ? lo : xlo;
            xhi = hi > xhi ? hi : xhi;
        }
        if (any && (double)m->deadline[i] / 1e6 > xhi)
            xhi = (double)m->deadline[i] / 1e6;
        k += any;
    }
    if (k == 0) {
        remove_chart(dir, name);
        return 0;
    }
    /* a decade below the fastest tenth: the bulk of every curve shows */
    xlo = pow(10, floor(log10(xlo > 1e-3 ? xlo : 1e-3)) - 1);
    xhi = xhi * 2 > xlo * 100 ? xhi * 2 : xlo * 100;
    FILE *f = open_out(dir, name, "dat", err, errlen);
    if (!f)
        return -1;
    fprintf(f,
            "# delivery latency CDF: one block per scenario and profile (fixed, then legacy)\n"
            "# latency_ms (bucket upper edge, at least %g) percent_received_within\n",
            xlo);
    int(*idx)[2] = calloc(m->nscen + 1, sizeof *idx);
    if (!idx) {
        fclose(f);
        set_err(err, errlen, "out of memory");
        return -1;
    }
    int b = 0;
    for (size_t i = 0; i < m->nscen; i++) {
        const rep_sweep *pr[2] = {m->fixed[i], m->legacy[i]};
        for (int p = 0; p < 2; p++) {
            idx[i][p] = -1;
            if (!pr[p] || pr[p]->r.latency.count == 0)
                continue;
            fprintf(f, "%s# ", b ? "\n\n" : "");
            dat_comment(f, m->scen[i]);
            fprintf(f, " %s\n", p ? "legacy" : "fixed");
            cdf_block(f, &pr[p]->r.latency, xlo);
            idx[i][p] = b++;
        }
    }
    if (close_out(f, dir, name, "dat", err, errlen) != 0) {
        free(idx);
        return -1;
    }
    size_t cols = k < 4 ? k : 4, rows = (k + cols - 1) / cols;
    int w = 120 + 310 * (int)cols, h = 80 + 250 * (int)rows;
    if (w < 700)
        w = 700;
    f = open_out(dir, name, "gp", err, errlen);
    if (!f) {
        free(idx);
        return -1;
    }
    script_begin(f, name, w, h);
    char t[256];
    if (m->run.label[0])
        snprintf(t, sizeof t,
                 "Delivery latency CDF per scenario, run #%lld (%.64s): fixed solid "
                 "blue, legacy dashed orange, the deadline dotted red",
                 (long long)m->run.id, m->run.label);
    else
        snprintf(t, sizeof t,
                 "Delivery latency CDF per scenario, run #%lld: fixed solid blue, "
                 "legacy dashed orange, the deadline dotted red",
                 (long long)m->run.id);
    fprintf(f, "set multiplot layout %zu,%zu title ", rows, cols);
    gp_str(f, t);
    fprintf(f,
            " font ',12' margins 0.06,0.985,%.3f,%.3f spacing 0.045,%.3f\n"
            "set logscale x 10\n"
            "set xrange [%g:%g]\n"
            "set yrange [0:100]\n"
            "set ytics 0,25,100\n"
            "set grid xtics ytics lc rgb '#dddddd'\n"
            "set xtics nomirror (",
            60.0 / h, 1.0 - 70.0 / h, 75.0 / h, xlo, xhi);
    /* one tick per decade (every other one over a wide range), in human units */
    int d0 = (int)ceil(log10(xlo) - 1e-9), d1 = (int)floor(log10(xhi) + 1e-9);
    int dstep = d1 - d0 > 4 ? 2 : 1;
    for (int d = d0; d <= d1; d += dstep) {
        double v = pow(10, d);
        char lab[32];
        if (v >= 1000)
            snprintf(lab, sizeof lab, "%g s", v / 1000);
        else
            snprintf(lab, sizeof lab, "%g ms", v);
        fprintf(f, "%s'%s' %g", d > d0 ? ", " : "", lab, v);
    }
    fprintf(f, ")\nset mxtics 10\n");
    size_t panel = 0;
    for (size_t i = 0; i < m->nscen; i++) {
        if (idx[i][0] < 0 && idx[i][1] < 0)
            continue;
        char dl[32] = "";
        if (m->deadline[i])
            human_ns(dl, sizeof dl, m->deadline[i]);
        snprintf(t, sizeof t, "%s%s%s", m->scen[i], m->deadline[i] ? "" : " (deadline unknown)",
                 "");
        fputs("set title ", f);
        gp_str(f, t);
        fputs(" font ',10'\n", f);
        if (m->deadline[i])
            fprintf(f,
                    "set arrow 1 from first %.6g, graph 0 to first %.6g, graph 1 nohead lw 2 dt 3 "
                    "lc rgb '%s' front\n"
                    "set label 1 'deadline %s' at first %.6g, graph 0.5 rotate by 90 center "
                    "offset -0.9,0 font ',8' tc rgb '%s' front\n",
                    (double)m->deadline[i] / 1e6, (double)m->deadline[i] / 1e6, C_FAIL, dl,
                    (double)m->deadline[i] / 1e6, C_FAIL);
        else
            fprintf(f, "unset arrow 1\nunset label 1\n");
        fprintf(f, "%s\n%s\n",
                panel % cols == 0 ? "set ylabel '% received within' offset 1,0" : "unset ylabel",
                panel + cols >= k ? "set xlabel 'latency, emit to receive (log)' offset 0,0.3"
                                  : "unset xlabel");
        if (panel == 0)
            fprintf(f, "set key top left Left reverse samplen 2 font ',9'\n");
        else
            fprintf(f, "unset key\n");
        int first = 1;
        static const char *const pn[2] = {"fixed", "legacy"};
        static const char *const pc[2] = {C_FIXED, C_LEGACY_CDF};
        for (int p = 0; p < 2; p++) {
            if (idx[i][p] < 0)
                continue;
            clause(f, &first,
                   "'%s.dat' index %d using 1:2 with lines lw 2 dt %d lc rgb '%s' title '%s'", name,
                   idx[i][p], p ? 2 : 1, pc[p], pn[p]);
            clause(f, &first, "'' index %d using 1:2:(", idx[i][p]);
            gp_str(f, m->scen[i]);
            fprintf(f,
                    ".' / %s: '.sprintf('%%.1f%%%% within %%.3g ms', $2, $1)) with labels "
                    "hypertext point pt 7 ps 1 lc rgb '#ffffffff' notitle",
                    pn[p]);
        }
        if (m->deadline[i] && panel == 0)
            clause(f, &first, "keyentry with lines lw 2 dt 3 lc rgb '%s' title 'deadline'", C_FAIL);
        fprintf(f, "\n");
        panel++;
    }
    fprintf(f, "unset multiplot\n");
    free(idx);
    return draw(f, dir, name, "Delivery latency CDF per scenario, fixed and legacy", drawn, err,
                errlen);
}

/* ---- 5. ablation matrix -------------------------------------------------- */

/*
 * The miss of a failing sweep, short enough for a cell: the first miss of
 * its verdict record, the delivery rate as its distance to the gate in pp
 * ("-29.4 pp"), a count as "silent_loss 3" (cut at 16 characters).
 */
static void cell_miss(char *buf, size_t len, const sim_sweep_result *r)
{
    buf[0] = '\0';
    if (r->verdict != SIM_VERDICT_FAIL)
        return;
    const char *p = r->reason;
    if (strncmp(p, "liveness: ", 10) == 0)
        p += 10;
    if (strncmp(p, "delivery_rate", 13) == 0 && r->expect_rate >= 0) {
        snprintf(buf, len, "%+.1f pp", pct(r->delivery_rate) - pct(r->expect_rate));
        return;
    }
    /* "name N > L": the name and N (the limit is in the hover title) */
    size_t n = strcspn(p, ";(>");
    while (n > 0 && p[n - 1] == ' ')
        n--;
    if (n > 16)
        snprintf(buf, len, "%.*s...", 14, p);
    else
        snprintf(buf, len, "%.*s", (int)n, p);
    if (!buf[0])
        snprintf(buf, len, "missed");
}

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
    int any_pass = 0, any_fail = 0, not_caught[REP_FIXES + 1] = {0};
    FILE *f = open_out(dir, name, "dat", err, errlen);
    if (!f)
        return -1;
    fprintf(f,
            "# ablation: delivery rate (percent) with one fix switched off, run #%lld\n"
            "# fix(0 = none off) scenario_index rate pass(1/0) scenario miss hover\n",
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
            int fails = w->r.verdict == SIM_VERDICT_FAIL;
            any_fail |= fails;
            any_pass |= !fails;
            if (k > 0 && w->r.matrix && w->r.fails_ci)
                not_caught[k] = 1;
            char miss[64], hov[700];
            cell_miss(miss, sizeof miss, &w->r);
            rate_hover(hov, sizeof hov, &w->r);
            fprintf(f, "%zu %zu %.4f %d ", k, s, v, fails ? 0 : 1);
            dat_str(f, m->abl_scen[s]);
            fputc(' ', f);
            dat_str(f, miss);
            fputc(' ', f);
            dat_str(f, hov);
            fprintf(f, "\n");
        }
    }
    if (close_out(f, dir, name, "dat", err, errlen) != 0)
        return -1;
    double cblo = floor(lo / 10.0) * 10.0;
    if (cblo > 90)
        cblo = 90;
    size_t lm = max_name(m->abl_scen, m->abl_nscen);
    int w = 1360, h = 300 + 40 * (int)m->abl_nscen;
    f = open_out(dir, name, "gp", err, errlen);
    if (!f)
        return -1;
    script_begin(f, name, w, h);
    char what[200];
    snprintf(what, sizeof what,
             "Ablation: delivery rate (%%) with one fix switched off (%s profile)", profile);
    rep_run_info ar = m->run;
    ar.id = m->abl_run;
    if (m->abl_run != m->run.id)
        ar.label[0] = '\0';
    title(f, what, &ar);
    fprintf(f,
            "set xlabel 'fix switched off (none: every fix on).  Framed: the sweep misses its "
            "expect, so the fix is caught; under the rate: its first miss (pp to the gate, or "
            "the count)'\n"
            "set ylabel 'scenario'\n"
            "set xrange [-0.5:%d.5]\n"
            "set yrange [%zu.5:-0.5]\n"
            "set xtics rotate by 30 right nomirror scale 0 (",
            REP_FIXES, m->abl_nscen - 1);
    fprintf(f, "'none' 0");
    for (int k = 1; k <= REP_FIXES; k++)
        fprintf(f, ", 'F%d %s' %d", k, sim_fix_knob(k), k);
    fprintf(f, ")\nset x2tics scale 0 (");
    int nc = 0;
    for (int k = 1; k <= REP_FIXES; k++)
        if (not_caught[k])
            fprintf(f, "%s'NOT CAUGHT' %d", nc++ ? ", " : "", k);
    if (!nc)
        fprintf(f, "'' 0");
    fprintf(f,
            ") textcolor rgb '%s'\n"
            "set lmargin %.1f\n"
            "set bmargin 12\n"
            "set cbrange [%.0f:100]\n"
            "set cblabel 'delivery rate (%%)'\n"
            "set palette defined (0 '#d73027', 0.5 '#fee08b', 1 '#1a9850')\n"
            "unset key\n",
            C_FAIL, (double)lm * 0.85 + 8.0, cblo);
    fprintf(f, "set ytics nomirror scale 0 ");
    fprintf(f, "(");
    for (size_t s = 0; s < m->abl_nscen; s++) {
        gp_str(f, m->abl_scen[s]);
        fprintf(f, " %zu%s", s, s + 1 < m->abl_nscen ? ", " : "");
    }
    fprintf(f, ")\n");
    int first = 1;
    clause(f, &first,
           "'ablation.dat' using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 "
           "border lc rgb '#ffffff' fc palette notitle");
    if (any_fail)
        clause(f, &first,
               "'' using 1:($4 == 0 ? $2 : NaN):(0.46):(0.44) with boxxyerror fs empty "
               "border lc rgb '#000000' lw 2 lc rgb '#000000' notitle, \\\n"
               "     '' using 1:($4 == 0 ? $2 : NaN):(sprintf('%%.1f', $3)) with labels "
               "offset 0,0.45 font ',9' notitle, \\\n"
               "     '' using 1:($4 == 0 ? $2 : NaN):6 with labels offset 0,-0.5 font ',8' "
               "notitle");
    if (any_pass)
        clause(f, &first,
               "'' using 1:($4 == 1 ? $2 : NaN):(sprintf('%%.1f', $3)) with labels font ',9' "
               "notitle");
    clause(f, &first,
           "'' using 1:2:7 with labels hypertext point pt 5 ps 4 lc rgb '#ffffffff' notitle");
    fprintf(f, "\n");
    return draw(f, dir, name, "Ablation matrix: scenario x fix switched off", drawn, err, errlen);
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
        {"latency_cdf", "Delivery latency CDF per scenario, fixed and legacy"},
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
    script_begin(f, name, w, h); /* the body once, drawn as PNG then SVG */
    fputs(body, f);
    free(body);
    return draw(f, dir, name, "Delivery rate against the swept value, with the target and the knee",
                drawn, err, errlen);
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
    script_begin(f, name, w, h);
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
    return draw(f, dir, name, "Non-delivered events by cause against the swept value", drawn, err,
                errlen);
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
    script_begin(f, name, w, h);
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
    return draw(f, dir, name, "Delivery rate over two parameters, with the frontier", drawn, err,
                errlen);
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
