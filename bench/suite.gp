# SPDX-License-Identifier: MIT
# bench/suite.gp - bench/suite's plots, as SVG:
#   gnuplot -e "data='DIR'; plots='DIR'" bench/suite.gp
# throughput.svg: each workload's throughput under each allocator,
#                 relative to glibc (data/throughput.dat);
# scaling.svg:    Larson throughput by thread count, with and without
#                 hand-over between threads (data/scaling.dat);
# insns.svg:      instructions per malloc + free pair by size
#                 (data/insns.dat), when the suite counted them.
# The first line of each data file names the columns; "-" is no figure.

set terminal svg size 900,500 dynamic enhanced font "sans,12" background "white"
set datafile missing "-"
set key autotitle columnhead
set grid ytics
columns(f) = words(system("head -n 1 '" . f . "'")) - 1

f = data . "/throughput.dat"
n = columns(f)
set output plots . "/throughput.svg"
set title "Throughput relative to glibc (higher is better; log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y 2
set key inside top left
set xtics nomirror
plot for [i = 2:n + 1] f using i:xtic(1)
unset logscale y

f = data . "/scaling.dat"
n = columns(f) / 2
set output plots . "/scaling.svg"
set terminal svg size 1100,500
set multiplot layout 1,2 title "Larson: operations per microsecond by thread count (higher is better)"
set style data linespoints
set xlabel "threads"
set ylabel "Mop/s"
set logscale x 2
set yrange [0:*]
set key below
set title "with hand-over between threads"
plot for [i = 2:n + 1] f using 1:i lw 2
set title "no hand-over (threads share nothing)"
plot for [i = n + 2:2 * n + 1] f using 1:i lw 2
unset multiplot
set terminal svg size 900,500
set key inside top left
unset logscale x
unset xlabel
unset ylabel
set yrange [*:*]

f = data . "/insns.dat"
if (system("wc -l < '" . f . "'") + 0 > 1) {
    n = columns(f)
    set output plots . "/insns.svg"
    set title "Instructions per malloc + free pair, one block at a time (callgrind; lower is better)"
    set style data linespoints
    set xlabel "block size, bytes"
    set logscale x 2
    set yrange [0:*]
    plot for [i = 2:n + 1] f using 1:i lw 2
}
