/*
 * svg.h - gnuplot's SVG output made fit for a self-contained page: hover
 * titles instead of gnuplot's script hooks, and the <svg> element inlined
 * into HTML with ids that cannot collide with another chart's.
 *
 * gnuplot's svg terminal draws `with labels hypertext` as
 *   <g onmousemove="gnuplot_svg.showHypertext(evt,'TEXT')"
 *      onmouseout="gnuplot_svg.hideHypertext()"><title> </title>
 * which needs gnuplot_svg.js (an external file).  rep_svg_tidy rewrites
 * that as <g><title>TEXT</title>: the browser's own tooltip, no script.
 */
#ifndef REP_SVG_H
#define REP_SVG_H

#include <stdio.h>

/*
 * rep_svg_tidy rewrites the SVG file at path in place: every hypertext
 * hook becomes a <title> child (a literal "\n" in TEXT a newline), the
 * "gnuplot_plot_N" titles gnuplot gives each plot are dropped (they would
 * be the tooltip of every line), and the document title becomes `title`
 * (escaped).  Returns 0, or -errno (unreadable, unwritable: the file is
 * then unchanged).  O(file size).
 */
int rep_svg_tidy(const char *path, const char *title);

/*
 * rep_svg_inline writes the <svg> element of the SVG file at path to f,
 * for embedding in an HTML page: the XML declaration and doctype are
 * dropped, every id and every reference to one (href="#x", url(#x)) is
 * prefixed with `prefix` and '-', and the root element gets
 * class="chart" role="img" (CSS scales it to the page's width).  Returns
 * 0, -ENOENT/-errno (unreadable), -EINVAL (no <svg> element) or -EIO (a
 * write error).  O(file size).
 */
int rep_svg_inline(FILE *f, const char *path, const char *prefix);

#endif
