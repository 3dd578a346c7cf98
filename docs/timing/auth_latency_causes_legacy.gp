# auth_latency_causes_legacy.gp - written by `ctxsim report`; redraw with: gnuplot auth_latency_causes_legacy.gp
set encoding utf8
if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
    set terminal pngcairo size 1000,520 font 'Sans,10' noenhanced
} else {
    set terminal png size 1000,520 noenhanced
}
set output 'auth_latency_causes_legacy.png'
set datafile missing 'NaN'
set title 'Not delivered, by cause (legacy): req_auth_latency, 100 seeds per value, target 99%' font ',12'
set xlabel 'server.auth.p99'
set ylabel 'expected events not delivered (% of expected)'
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border lc rgb '#ffffff'
set boxwidth 0.8
set grid ytics lc rgb '#dddddd'
set key top right box opaque
set yrange [0:*]
set xtics rotate by -35 left nomirror
plot 'auth_latency_causes_legacy.dat' using 7:xtic(1) lc rgb '#d62728' title 'core_silent'
set output
set terminal svg size 1000,520 dynamic font 'Sans,10' noenhanced background '#ffffff'
set output 'auth_latency_causes_legacy.svg'
replot
set output
