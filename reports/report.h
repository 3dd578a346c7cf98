/*
 * report.h - `ctxsim report`: the charts (chart.h) plus index.html and
 * summary.md, which embed them and tabulate the numbers behind each.
 */
#ifndef REP_REPORT_H
#define REP_REPORT_H

#include <stddef.h>

#include "reports/chart.h"
#include "reports/model.h"
#include "reports/store.h"

/*
 * rep_report_write writes DIR/index.html (well-formed XHTML-compatible
 * HTML5 embedding the SVG charts, linking the PNGs, data and scripts, with
 * a table of the numbers behind every chart, every sweep's results and the
 * replay lines of the first failing seeds) and DIR/summary.md (the same
 * tables in Markdown, embedding the PNGs).  Text from the database is
 * escaped (rep_html_escape, rep_md_escape).  s is used for the failures.
 * Returns 0, or -1 with a message in err[errlen].
 */
int rep_report_write(rep_store *s, const rep_model *m, const rep_chart *charts, size_t ncharts,
                     const char *dir, char *err, size_t errlen);

/*
 * rep_cmd_report is `ctxsim report [--db PATH] [--out DIR] [--run ID|LABEL]`;
 * argv[0] is "report".  Defaults: out/results.db, out/report, the latest
 * run.  Nothing is written when the database is missing or empty, the run
 * does not exist, or gnuplot is not installed (the message names the
 * package).  The database is opened read-only (rep_store_open_readonly).
 * Prints the path of index.html.  Returns the exit code: 0, 2 for bad
 * usage or input and when the report could not be produced, 3 when the
 * database could not be read (rep_store_exit_code).
 */
int rep_cmd_report(int argc, char **argv);

#endif
