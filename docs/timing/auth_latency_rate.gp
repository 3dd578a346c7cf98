# auth_latency_rate.gp - written by `ctxsim report`; redraw with: gnuplot auth_latency_rate.gp
set encoding utf8
if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
    set terminal pngcairo size 1300,560 font 'Sans,10' noenhanced
} else {
    set terminal png size 1300,560 noenhanced
}
set output 'auth_latency_rate.png'
set datafile missing 'NaN'
set multiplot layout 1,2 title 'Delivery rate: req_auth_latency, 100 seeds per value, target 99%' font ',12'
set xlabel 'server.auth.p99 (s)'
set ylabel 'delivered within the deadline (%), 95% Wilson band'
set grid ytics lc rgb '#dddddd'
set key bottom right box opaque
set autoscale xfix
set offsets graph 0.03, graph 0.03, 0, 0
set logscale x
set arrow from 10.8148375, graph 0 to 10.8148375, graph 1 nohead dt 2 lw 1.5 lc rgb '#1f77b4'
set label 1 ' knee (fixed): <= 10.815s' at 10.8148375, graph 0.50 right tc rgb '#1f77b4' font ',10'
set title 'the whole range'
set yrange [0:100.5]
plot 'auth_latency_rate.dat' index 0 using 1:3:4 with filledcurves fs transparent solid 0.25 noborder lc rgb '#1f77b4' title 'fixed: 95% interval', \
     '' index 0 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc rgb '#1f77b4' title 'fixed: delivery rate', \
     '' index 0 using 1:($5 > 0 ? $2 : NaN) with points pt 6 ps 1.6 lc rgb '#1f77b4' title 'fixed: bisection value', \
     'auth_latency_rate.dat' index 1 using 1:3:4 with filledcurves fs transparent solid 0.25 noborder lc rgb '#d62728' title 'legacy: 95% interval', \
     '' index 1 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc rgb '#d62728' title 'legacy: delivery rate', \
     99 with lines dt 3 lw 1.5 lc rgb '#222222' title 'target 99%'
set title 'near the target'
set yrange [96:100.2]
unset key
plot 'auth_latency_rate.dat' index 0 using 1:3:4 with filledcurves fs transparent solid 0.25 noborder lc rgb '#1f77b4' title 'fixed: 95% interval', \
     '' index 0 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc rgb '#1f77b4' title 'fixed: delivery rate', \
     '' index 0 using 1:($5 > 0 ? $2 : NaN) with points pt 6 ps 1.6 lc rgb '#1f77b4' title 'fixed: bisection value', \
     'auth_latency_rate.dat' index 1 using 1:3:4 with filledcurves fs transparent solid 0.25 noborder lc rgb '#d62728' title 'legacy: 95% interval', \
     '' index 1 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc rgb '#d62728' title 'legacy: delivery rate', \
     99 with lines dt 3 lw 1.5 lc rgb '#222222' title 'target 99%'
unset multiplot
set output
set terminal svg size 1300,560 dynamic font 'Sans,10' noenhanced background '#ffffff'
set output 'auth_latency_rate.svg'
set multiplot layout 1,2 title 'Delivery rate: req_auth_latency, 100 seeds per value, target 99%' font ',12'
set xlabel 'server.auth.p99 (s)'
set ylabel 'delivered within the deadline (%), 95% Wilson band'
set grid ytics lc rgb '#dddddd'
set key bottom right box opaque
set autoscale xfix
set offsets graph 0.03, graph 0.03, 0, 0
set logscale x
set arrow from 10.8148375, graph 0 to 10.8148375, graph 1 nohead dt 2 lw 1.5 lc rgb '#1f77b4'
set label 1 ' knee (fixed): <= 10.815s' at 10.8148375, graph 0.50 right tc rgb '#1f77b4' font ',10'
set title 'the whole range'
set yrange [0:100.5]
plot 'auth_latency_rate.dat' index 0 using 1:3:4 with filledcurves fs transparent solid 0.25 noborder lc rgb '#1f77b4' title 'fixed: 95% interval', \
     '' index 0 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc rgb '#1f77b4' title 'fixed: delivery rate', \
     '' index 0 using 1:($5 > 0 ? $2 : NaN) with points pt 6 ps 1.6 lc rgb '#1f77b4' title 'fixed: bisection value', \
     'auth_latency_rate.dat' index 1 using 1:3:4 with filledcurves fs transparent solid 0.25 noborder lc rgb '#d62728' title 'legacy: 95% interval', \
     '' index 1 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc rgb '#d62728' title 'legacy: delivery rate', \
     99 with lines dt 3 lw 1.5 lc rgb '#222222' title 'target 99%'
set title 'near the target'
set yrange [96:100.2]
unset key
plot 'auth_latency_rate.dat' index 0 using 1:3:4 with filledcurves fs transparent solid 0.25 noborder lc rgb '#1f77b4' title 'fixed: 95% interval', \
     '' index 0 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc rgb '#1f77b4' title 'fixed: delivery rate', \
     '' index 0 using 1:($5 > 0 ? $2 : NaN) with points pt 6 ps 1.6 lc rgb '#1f77b4' title 'fixed: bisection value', \
     'auth_latency_rate.dat' index 1 using 1:3:4 with filledcurves fs transparent solid 0.25 noborder lc rgb '#d62728' title 'legacy: 95% interval', \
     '' index 1 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc rgb '#d62728' title 'legacy: delivery rate', \
     99 with lines dt 3 lw 1.5 lc rgb '#222222' title 'target 99%'
unset multiplot
set output
