# Draws tps.png from tps.dat (written by summarize.py): median tps of pgbench -S -M simple
# by number of clients, one line per target. Usage:
#   gnuplot -e "datafile='results/tps.dat'; outfile='results/tps.png'; subtitle='...'" tps.gp
# (term='png' where the pngcairo terminal is missing).
if (!exists("subtitle")) subtitle = ""
if (!exists("term")) term = "pngcairo"
eval("set terminal " . term . " size 900,560 noenhanced")
set output outfile
set title "pgbench -S -M simple: transactions per second by clients\n" . subtitle
set xlabel "clients (log scale)"
set ylabel "tps (median of rounds)"
set logscale x
set xtics (1, 10, 50, 100, 500, 1000, 2000, 5000, 10000)
set offsets graph 0.05, graph 0.05, graph 0.05, 0
set yrange [0:*]
set grid
set key outside right top
set datafile missing "NaN"
plot datafile using 1:2 title "direct PostgreSQL" with linespoints lw 2 pt 7, \
     datafile using 1:3 title "PgBouncer" with linespoints lw 2 pt 5, \
     datafile using 1:4 title "pgmux" with linespoints lw 2 pt 9
