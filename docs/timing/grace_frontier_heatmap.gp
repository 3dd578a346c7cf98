# grace_frontier_heatmap.gp - written by `ctxsim report`; redraw with: gnuplot grace_frontier_heatmap.gp
set encoding utf8
if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
    set terminal pngcairo size 1000,640 font 'Sans,10' noenhanced
} else {
    set terminal png size 1000,640 noenhanced
}
set output 'grace_frontier_heatmap.png'
set datafile missing 'NaN'
set title 'Delivery rate and frontier (fixed): req_thread_propagation, 60 seeds per value, target 99%' font ',12'
set xlabel 'server.thread_lookup.p99'
set ylabel 'exec_grace'
set xrange [-0.5:5.5]
set yrange [-0.5:5.5]
set cbrange [94:100]
set cblabel 'delivery rate (%; lower: red)'
set palette defined (0 '#d73027', 0.5 '#fee08b', 1 '#1a9850')
set key outside top center horizontal
set style textbox opaque noborder
set xtics nomirror scale 0 ('200ms' 0, '760ms' 1, '1.32s' 2, '1.88s' 3, '2.44s' 4, '3s' 5)
set ytics nomirror scale 0 ('0s' 0, '600ms' 1, '1.2s' 2, '1.8s' 3, '2.4s' 4, '3s' 5)
plot 'grace_frontier_heatmap.dat' index 0 using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 border lc rgb '#ffffff' fc palette notitle, \
     '' index 0 using 1:2:(sprintf('%.1f', $3)) with labels font ',8' notitle, \
     '' index 1 using 1:2 with linespoints pt 7 ps 1.2 lw 2.5 lc rgb '#000000' title 'frontier: the knee in exec_grace for each server.thread_lookup.p99', \
     '' index 1 using 1:2:3 with labels left offset 1,0.6 boxed font ',9' tc rgb '#000000' notitle
set output
set terminal svg size 1000,640 dynamic font 'Sans,10' noenhanced background '#ffffff'
set output 'grace_frontier_heatmap.svg'
replot
set output
