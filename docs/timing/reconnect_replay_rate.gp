# reconnect_replay_rate.gp - written by `ctxsim report`; redraw with: gnuplot reconnect_replay_rate.gp
set encoding utf8
if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
    set terminal pngcairo size 1300,560 font 'Sans,10' noenhanced
} else {
    set terminal png size 1300,560 noenhanced
}
set output 'reconnect_replay_rate.png'
set datafile missing 'NaN'
set multiplot layout 1,2 title 'Delivery rate: req_reconnect_replay, 100 seeds per value, target 99%' font ',12'
set xlabel 'event_ttl (s)'
set ylabel 'delivered within the deadline (%), 95% Wilson band'
set grid ytics lc rgb '#dddddd'
set key bottom right box opaque
set autoscale xfix
set offsets graph 0.03, graph 0.03, 0, 0
set arrow from 2.671875, graph 0 to 2.671875, graph 1 nohead dt 2 lw 1.5 lc rgb '#1f77b4'
set label 1 ' knee (fixed): >= 2.6719s' at 2.671875, graph 0.50 left tc rgb '#1f77b4' font ',10'
set title 'the whole range'
set yrange [65:100.5]
plot 'reconnect_replay_rate.dat' index 0 using 1:3:4 with filledcurves fs transparent solid 0.25 noborder lc rgb '#1f77b4' title 'fixed: 95% interval', \
     '' index 0 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc rgb '#1f77b4' title 'fixed: delivery rate', \
     '' index 0 using 1:($5 > 0 ? $2 : NaN) with points pt 6 ps 1.6 lc rgb '#1f77b4' title 'fixed: bisection value', \
     99 with lines dt 3 lw 1.5 lc rgb '#222222' title 'target 99%'
set title 'near the target'
set yrange [96:100.2]
unset key
plot 'reconnect_replay_rate.dat' index 0 using 1:3:4 with filledcurves fs transparent solid 0.25 noborder lc rgb '#1f77b4' title 'fixed: 95% interval', \
     '' index 0 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc rgb '#1f77b4' title 'fixed: delivery rate', \
     '' index 0 using 1:($5 > 0 ? $2 : NaN) with points pt 6 ps 1.6 lc rgb '#1f77b4' title 'fixed: bisection value', \
     99 with lines dt 3 lw 1.5 lc rgb '#222222' title 'target 99%'
unset multiplot
set output
set terminal svg size 1300,560 dynamic font 'Sans,10' noenhanced background '#ffffff'
set output 'reconnect_replay_rate.svg'
set multiplot layout 1,2 title 'Delivery rate: req_reconnect_replay, 100 seeds per value, target 99%' font ',12'
set xlabel 'event_ttl (s)'
set ylabel 'delivered within the deadline (%), 95% Wilson band'
set grid ytics lc rgb '#dddddd'
set key bottom right box opaque
set autoscale xfix
set offsets graph 0.03, graph 0.03, 0, 0
set arrow from 2.671875, graph 0 to 2.671875, graph 1 nohead dt 2 lw 1.5 lc rgb '#1f77b4'
set label 1 ' knee (fixed): >= 2.6719s' at 2.671875, graph 0.50 left tc rgb '#1f77b4' font ',10'
set title 'the whole range'
set yrange [65:100.5]
plot 'reconnect_replay_rate.dat' index 0 using 1:3:4 with filledcurves fs transparent solid 0.25 noborder lc rgb '#1f77b4' title 'fixed: 95% interval', \
     '' index 0 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc rgb '#1f77b4' title 'fixed: delivery rate', \
     '' index 0 using 1:($5 > 0 ? $2 : NaN) with points pt 6 ps 1.6 lc rgb '#1f77b4' title 'fixed: bisection value', \
     99 with lines dt 3 lw 1.5 lc rgb '#222222' title 'target 99%'
set title 'near the target'
set yrange [96:100.2]
unset key
plot 'reconnect_replay_rate.dat' index 0 using 1:3:4 with filledcurves fs transparent solid 0.25 noborder lc rgb '#1f77b4' title 'fixed: 95% interval', \
     '' index 0 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc rgb '#1f77b4' title 'fixed: delivery rate', \
     '' index 0 using 1:($5 > 0 ? $2 : NaN) with points pt 6 ps 1.6 lc rgb '#1f77b4' title 'fixed: bisection value', \
     99 with lines dt 3 lw 1.5 lc rgb '#222222' title 'target 99%'
unset multiplot
set output
