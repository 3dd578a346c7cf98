# buffer_bound_causes_fixed.gp - written by `ctxsim report`; redraw with: gnuplot buffer_bound_causes_fixed.gp
set encoding utf8
if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
    set terminal pngcairo size 1000,520 font 'Sans,10' noenhanced
} else {
    set terminal png size 1000,520 noenhanced
}
set output 'buffer_bound_causes_fixed.png'
set datafile missing 'NaN'
set title 'Not delivered, by cause (fixed): req_buffer_bound, 100 seeds per value, target 99%' font ',12'
set xlabel 'event_buffer_max'
set ylabel 'expected events not delivered (% of expected)'
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border lc rgb '#ffffff'
set boxwidth 0.8
set grid ytics lc rgb '#dddddd'
set key top right box opaque
set yrange [0:*]
set xtics rotate by -35 left nomirror
plot 'buffer_bound_causes_fixed.dat' using 3:xtic(1) lc rgb '#ff7f0e' title 'core_reported'
set output
set terminal svg size 1000,520 dynamic font 'Sans,10' noenhanced background '#ffffff'
set output 'buffer_bound_causes_fixed.svg'
replot
set output
