/*
 * chart.h - the report's charts, drawn by gnuplot (an external program)
 * from generated scripts.  Each chart NAME leaves in the output directory
 * NAME.dat (the numbers), NAME.gp (the script: `cd DIR && gnuplot NAME.gp`
 * redraws it), NAME.png (pngcairo when gnuplot has it, else png) and
 * NAME.svg.  Charts without data are not drawn (and stale files of that
 * name are removed), never drawn empty.
 *
 *   rate             delivery rate per scenario, legacy (grey) beside fixed
 *                    (green when it meets its expect, red when it fails CI)
 *                    with 95% Wilson error bars and each scenario's gate line,
 *                    and below it the fixed profile zoomed on the gate region
 *                    with the margin to the gate in pp
 *   trend            delivery rate across the recorded runs (fixed profile),
 *                    zoomed, with the gate lines; only the scenarios that
 *                    moved (or fell below their gate) coloured and named
 *   outcomes_legacy, outcomes_fixed
 *                    outcome of the expected events per scenario, stacked,
 *                    as % of expected: delivered, late, expired, fallback,
 *                    dropped, unroutable/rejected, other reported, silent
 *   latency_cdf      delivery latency CDF, one panel per scenario: fixed
 *                    solid blue, legacy dashed orange, the deadline (read
 *                    from the scenario file) dotted red; log x axis
 *   ablation         heatmap scenario x fix switched off (F<n> and its knob,
 *                    sim_fix_knob), coloured by delivery rate, the value in
 *                    each cell and, framed, the miss of each failing one
 *
 * Both images come from one script body (drawn twice); the SVG carries
 * hover titles (<title>, rep_svg_tidy) on points, bars and cells.
 */
#ifndef REP_CHART_H
#define REP_CHART_H

#include <stddef.h>

#include "reports/model.h"
#include "sim/psweep.h"

#define REP_GNUPLOT_PACKAGE "gnuplot-nox"

/*
 * rep_gnuplot_find looks for an executable `gnuplot` in $PATH and copies
 * its path into buf[len].  Returns 0 or -ENOENT.  O(PATH entries).
 */
int rep_gnuplot_find(char *buf, size_t len);

#define REP_CHART_MAX 6

/* What rep_charts_render drew. */
typedef struct rep_chart {
    char name[64];   /* file stem: rate, trend, ... */
    char title[128]; /* e.g. "Delivery rate per scenario" */
    int drawn;       /* 0: no data for it (files removed) */
} rep_chart;

/*
 * rep_charts_render writes the data files and scripts of every chart of m
 * into dir (which must exist) and runs gnuplot on each, with dir as its
 * working directory and its output in NAME.log (removed when empty).
 * out[REP_CHART_MAX] is filled in a fixed order (rate, trend,
 * outcomes_legacy, outcomes_fixed, latency_cdf, ablation), *n entries.
 * Returns 0, or -1 with a message in err[errlen]: gnuplot missing (naming
 * the package to install), a write error, or gnuplot failing (with the
 * first lines of its output).  Runs gnuplot once per chart drawn.
 */
int rep_charts_render(const rep_model *m, const char *dir, rep_chart out[REP_CHART_MAX], size_t *n,
                      char *err, size_t errlen);

/* Charts of one parameter sweep: heatmap, or rate + causes per profile. */
#define REP_SWEEP_CHART_MAX (1 + SIM_PSWEEP_MAX_PROFILES)

/*
 * rep_sweep_charts_render draws the charts of parameter sweep r into dir,
 * file stems STEM_rate (delivery rate against the value, the 95% Wilson
 * band, the target line, the knee marked, one curve per profile: fixed and
 * legacy on one chart) and STEM_causes_PROFILE (the expected events not
 * delivered, stacked by loss cause and late, against the value), or, with
 * two parameters, STEM_heatmap (the rate over the grid, first profile,
 * and the frontier: the knee in B for each A).  out[*n] as for
 * rep_charts_render.  Returns 0 or -1 with err (gnuplot missing or failing,
 * a write error).
 */
int rep_sweep_charts_render(const sim_psweep_result *r, const char *dir, const char *stem,
                            rep_chart out[REP_SWEEP_CHART_MAX], size_t *n, char *err,
                            size_t errlen);

#endif
