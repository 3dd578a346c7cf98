/*
 * report.h - `ctxsim report`: the charts (chart.h) plus index.html and
 * summary.md, which embed them and tabulate the numbers behind each.
 */
#ifndef REP_REPORT_H
#define REP_REPORT_H

#include <stddef.h>

#include "reports/chart.h"
#include "reports/gate.h"
#include "reports/model.h"
#include "reports/store.h"
#include "reports/sweepdb.h"

/*
 * rep_report_write writes DIR/index.html and DIR/summary.md.  index.html
 * is one self-contained, well-formed XHTML-compatible HTML5 page: it opens
 * with the verdict of g (the gate's decision, rep_gate_decide: PASS/FAIL,
 * what failed and why, the worst miss, the replay line of a failing seed
 * as recorded), then the charts inline as SVG (rep_svg_inline) with the
 * numbers behind each collapsed, every sweep in one collapsed table per
 * profile (open when one of its sweeps fails CI), and the replay lines of
 * the first failing seeds; no file is referenced.  summary.md starts with
 * a five-line headline (verdict, counts, worst miss, replay line, where
 * the full report is), then the same tables in Markdown, embedding the
 * PNGs.  Text from the database is escaped (rep_html_escape,
 * rep_md_escape).  s is used for the failures.  Returns 0, or -1 with a
 * message in err[errlen].
 */
int rep_report_write(rep_store *s, const rep_model *m, const rep_gate_decision *g,
                     const rep_chart *charts, size_t ncharts, const char *dir, char *err,
                     size_t errlen);

/*
 * rep_sweep_report_write writes DIR/sweeps.html and DIR/sweeps.md: for each
 * parameter sweep ws[i] its command, knee sentences, charts charts[i]
 * (nch[i] of them, drawn by rep_sweep_charts_render) and one table row per
 * value.  Returns 0, or -1 with a message in err[errlen].
 */
int rep_sweep_report_write(const char *dir, const rep_psweep *ws, size_t n,
                           const rep_chart (*charts)[REP_SWEEP_CHART_MAX], const size_t *nch,
                           char *err, size_t errlen);

/*
 * rep_cmd_report is `ctxsim report [--db PATH] [--out DIR] [--run ID|LABEL]
 * [--baseline ID|LABEL] [--tolerance X] [--sweep ID]`; argv[0] is "report".
 * It also draws the latest parameter sweep of every (scenario, parameter)
 * (or --sweep ID) into DIR/sweeps.html and sweeps.md; a database holding only
 * parameter sweeps gets only those.  Defaults: out/results.db, out/report,
 * the latest run, the gate's baseline and tolerance (the verdict is
 * rep_gate_decide's with them).  Nothing is written when the database is
 * missing or empty, the run does not exist, or gnuplot is not installed (the
 * message names the package).  The database is opened read-only
 * (rep_store_open_readonly).  Prints the path of index.html.  Returns the
 * exit code: 0, 2 for bad usage or input and when the report could not be
 * produced, 3 when the database could not be read (rep_store_exit_code).
 */
int rep_cmd_report(int argc, char **argv);

#endif
