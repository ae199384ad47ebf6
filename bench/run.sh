#!/usr/bin/env bash
# Side-by-side benchmark of direct PostgreSQL 15, PgBouncer and pgmux (transaction mode,
# pool 20) with pgbench, plus the proxies' CPU, system calls and memory per idle client.
# Usage: bench/run.sh  (or `make bench`); knobs in the environment, see bench/README.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"
# shellcheck source=lib/services.sh
source "$BENCH_DIR/lib/services.sh"
# shellcheck source=lib/measure.sh
source "$BENCH_DIR/lib/measure.sh"

QUICK=${BENCH_QUICK:-0}
ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
SCALE=${BENCH_SCALE:-10}
PG_MAX_CONNECTIONS=${BENCH_PG_MAX_CONNECTIONS:-300}
if ((QUICK)); then
  MODES=${BENCH_MODES:-select-only} PROTOCOLS=${BENCH_PROTOCOLS:-simple}
  CLIENTS=${BENCH_CLIENTS:-10 50} CHURN=${BENCH_CHURN:-0} CHURN_ROUNDS=${BENCH_CHURN_ROUNDS:-3}
  LATENCY_ROUNDS=${BENCH_LATENCY_ROUNDS:-3}
  CPU_TXNS=${BENCH_CPU_TXNS:-20000} STRACE_TXNS=${BENCH_STRACE_TXNS:-5000}
  CALLGRIND_TXNS=${BENCH_CALLGRIND_TXNS:-2000}
else
  MODES=${BENCH_MODES:-select-only tpcb-like} PROTOCOLS=${BENCH_PROTOCOLS:-simple extended prepared}
  CLIENTS=${BENCH_CLIENTS:-1 10 50 500 2000} CHURN=${BENCH_CHURN:-1}
  # One churn run varies by about 15% from the next (the client's own SCRAM work fills the
  # machine), so its cell takes more rounds than the others for a median worth reading.
  CHURN_ROUNDS=${BENCH_CHURN_ROUNDS:-10}
  # The latency a proxy adds at one client is the difference of two small means (about
  # 0.05 ms over direct's 0.1), and three runs of three rounds put pgmux's at 0.50x, 0.53x
  # and 0.74x PgBouncer's: its cell (select-only, simple, 1 client) takes more rounds too.
  LATENCY_ROUNDS=${BENCH_LATENCY_ROUNDS:-10}
  CPU_TXNS=${BENCH_CPU_TXNS:-100000} STRACE_TXNS=${BENCH_STRACE_TXNS:-20000}
  CALLGRIND_TXNS=${BENCH_CALLGRIND_TXNS:-10000}
fi
IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}
RESULTS=${BENCH_RESULTS_DIR:-$BENCH_DIR/results}
PGMUX_BIN=${PGMUX_BIN:-$REPO/build-release/pgmux}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PYTHON=${PYTHON:-python3}
KEEP_WORK=${BENCH_KEEP_WORK:-0}
MICRO_BIN=${BENCH_MICRO_BIN:-$(dirname "$PGMUX_BIN")/bench/micro/micro_bench}
NPROC=$(nproc)
MAX_CLIENTS=$((IDLE_CONNS + 100 > 10000 ? IDLE_CONNS + 100 : 10000))
# Direct runs only where PostgreSQL has room next to both pools and a few admin sessions.
DIRECT_MAX=$((PG_MAX_CONNECTIONS - 2 * POOL_SIZE - 3 - 10))
WORK="" RUN_NO=0 RUN_TOTAL=0 RUN_SECONDS=0 PERF_OK=0

check_knobs() {
  local name
  for name in QUICK ROUNDS SECONDS_PER_RUN SCALE PG_MAX_CONNECTIONS CHURN CHURN_ROUNDS \
    LATENCY_ROUNDS CPU_TXNS STRACE_TXNS CALLGRIND_TXNS IDLE_CONNS KEEP_WORK; do
    [[ ${!name} =~ ^[0-9]+$ ]] || die "$name must be a whole number, not '${!name}'"
  done
  ((ROUNDS >= 1 && SECONDS_PER_RUN >= 1 && CPU_TXNS >= 10 && STRACE_TXNS >= 10 &&
    CALLGRIND_TXNS >= 100)) ||
    die "BENCH_ROUNDS, BENCH_SECONDS and the transaction counts must be positive"
  [[ $PGMUX_BIN == /* ]] || PGMUX_BIN=$PWD/$PGMUX_BIN
  [[ $MICRO_BIN == /* ]] || MICRO_BIN=$PWD/$MICRO_BIN
  [[ -x $PGMUX_BIN ]] || die "$PGMUX_BIN not found; run 'make build' (or set PGMUX_BIN)"
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON)"
}

# Whether the matrix has the latency cell (select-only, simple protocol, 1 client).
has_latency_cell() {
  [[ " $MODES " == *" select-only "* && " $PROTOCOLS " == *" simple "* && " $CLIENTS " == *" 1 "* ]]
}

# Rounds in all: the matrix's, or more where the churn or the latency cell takes more.
total_rounds() {
  local n=$ROUNDS
  if ((CHURN && CHURN_ROUNDS > n)); then n=$CHURN_ROUNDS; fi
  if has_latency_cell && ((LATENCY_ROUNDS > n)); then n=$LATENCY_ROUNDS; fi
  echo "$n"
}

# Prints the cells of round $1, one "mode protocol clients" per line, in run order: the
# matrix in its first ROUNDS rounds, the latency cell in its first max(ROUNDS,
# LATENCY_ROUNDS), the churn cell in its first max(ROUNDS, CHURN_ROUNDS).
matrix_cells() {
  local round=$1 mode protocol clients
  if ((round <= ROUNDS)); then
    for mode in $MODES; do
      for protocol in $PROTOCOLS; do
        for clients in $CLIENTS; do echo "$mode $protocol $clients"; done
      done
    done
  elif ((round <= LATENCY_ROUNDS)) && has_latency_cell; then
    echo "select-only simple 1"
  fi
  if ((CHURN && (round <= ROUNDS || round <= CHURN_ROUNDS))); then
    echo "connect-churn simple 10"
  fi
}

# Prints the targets of one cell in the fixed interleaving order direct, pgbouncer, pgmux.
cell_targets() {
  local protocol=$2 clients=$3
  if ((clients <= DIRECT_MAX)); then echo direct; fi
  if [[ $protocol != prepared ]] || ((BOUNCER_PREPARED)); then echo pgbouncer; fi
  echo pgmux
}

# Sets RUN_TOTAL (pgbench runs) and RUN_SECONDS (their -T durations added up).
count_runs() {
  local round mode protocol clients n
  RUN_TOTAL=0 RUN_SECONDS=0
  for ((round = 1; round <= $(total_rounds); round++)); do
    while read -r mode protocol clients; do
      n=$(cell_targets "$mode" "$protocol" "$clients" | wc -l)
      RUN_TOTAL=$((RUN_TOTAL + n))
      RUN_SECONDS=$((RUN_SECONDS + n * (SECONDS_PER_RUN + $(ramp_seconds "$clients"))))
    done < <(matrix_cells "$round")
  done
}

# Every round runs its cells (matrix_cells), and every cell runs its targets back to back
# (A B C A B C...), so that noise on the machine hits all targets alike.
run_matrix() {
  local round mode protocol clients target
  for ((round = 1; round <= $(total_rounds); round++)); do
    while read -r mode protocol clients; do
      for target in $(cell_targets "$mode" "$protocol" "$clients"); do
        measure_run "$target" "$mode" "$protocol" "$clients" "$round"
      done
    done < <(matrix_cells "$round")
  done
}

# Fills the pools and PostgreSQL's buffer cache before anything is measured.
warm_up() {
  local target
  say "warming up (3 s per target)"
  rm -rf "$WORK/runs" && mkdir -p "$WORK/runs"
  PGBENCH_LIMIT=60
  for target in direct pgbouncer pgmux; do
    pgbench_to "$target" -S -c 20 -j "$(threads_for 20)" -T 3 ||
      die "warm-up against $target failed: $(tail -n 5 "$WORK/runs/out")"
  done
}

# Restarts both proxies, so that the memory test starts from fresh processes.
restart_proxies() {
  stop_process "$PGMUX_PID" "$(pgmux_comm)" TERM 15
  reap "$PGMUX_PID" 2>/dev/null || true
  PGMUX_PID=""
  stop_process "$(bouncer_pid)" pgbouncer TERM 10
  start_bouncer
  start_pgmux
  check_target pgbouncer
  check_target pgmux
}

prepare_results() {
  mkdir -p "$RESULTS"
  rm -rf "$RESULTS/logs"
  rm -f "$RESULTS"/{results.csv,summary.csv,cpu.csv,instructions.csv,memory.csv,tps.dat,tps.png} \
    "$RESULTS"/{machine.txt,errors.log,report.txt,micro.txt,micro.json}
  echo "$RESULTS_HEADER" >"$RESULTS/results.csv"
  echo "$CPU_HEADER" >"$RESULTS/cpu.csv"
  echo "$MEMORY_HEADER" >"$RESULTS/memory.csv"
}

version_of() { "$@" 2>&1 | head -n 1 || true; }

write_machine_info() {
  local rev dirty=""
  rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
  [[ -n $(git -C "$REPO" status --porcelain 2>/dev/null | head -n 1) ]] && dirty=" (modified)"
  cat >"$RESULTS/machine.txt" <<INFO
date:        $(date -Is)
nproc:       $NPROC
cpu:         $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
memory:      $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
kernel:      $(uname -srm)
os:          $(. /etc/os-release && echo "$PRETTY_NAME")
pgmux:       $(version_of "$PGMUX_BIN" --version), commit $rev$dirty, $PGMUX_BIN
pgbouncer:   $(version_of pgbouncer --version)
postgresql:  $(version_of "$PG_BIN/postgres" --version)
pgbench:     $(version_of "$PG_BIN/pgbench" --version)
python:      $(version_of "$PYTHON" --version)
gnuplot:     $(version_of gnuplot --version)
perf:        $(version_of perf --version)
strace:      $(version_of strace -V)
settings:    rounds $ROUNDS, $SECONDS_PER_RUN s per run, quick $QUICK, scale $SCALE, pool_size $POOL_SIZE, pgmux workers ${BENCH_PGMUX_WORKERS:-auto}
matrix:      modes [$MODES], protocols [$PROTOCOLS], clients [$CLIENTS], churn $CHURN ($((CHURN_ROUNDS > ROUNDS ? CHURN_ROUNDS : ROUNDS)) rounds), latency cell $((LATENCY_ROUNDS > ROUNDS ? LATENCY_ROUNDS : ROUNDS)) rounds
direct:      up to $DIRECT_MAX clients (max_connections $PG_MAX_CONNECTIONS)
postgresql:  fsync off, synchronous_commit off, full_page_writes off, autovacuum off, shared_buffers 256MB
auth:        SCRAM-SHA-256 everywhere (PgBouncer userlist and pgmux hold PostgreSQL's SCRAM secret)
cpu cost:    /proc CPU time and context switches; instructions: $INSTR_METHOD$( [[ $INSTR_METHOD == callgrind ]] && echo " (user space, perf cannot count instructions here)")
INFO
}

# Prints the report (and keeps it in report.txt), then draws tps.png.
report() {
  "$PYTHON" "$BENCH_DIR/tools/summarize.py" "$RESULTS" | tee "$RESULTS/report.txt"
  local term=pngcairo subtitle
  gnuplot -e 'set terminal' 2>&1 | grep -qw pngcairo || term=png
  subtitle="$ROUNDS round(s) x $SECONDS_PER_RUN s, $NPROC CPUs, $(date +%F)"
  if command -v gnuplot >/dev/null &&
    gnuplot -e "datafile='$RESULTS/tps.dat'; outfile='$RESULTS/tps.png'; term='$term'; subtitle='$subtitle'" \
      "$BENCH_DIR/tools/tps.gp" 2>"$WORK/gnuplot.err"; then
    echo "chart: $RESULTS/tps.png"
  else
    warn "gnuplot could not draw tps.png: $(head -n 3 "$WORK/gnuplot.err" 2>/dev/null)"
  fi
  echo "raw runs: $RESULTS/results.csv; medians and ratios: $RESULTS/summary.csv"
}

# A rough total: the runs plus ~3 s each to start, the CPU cost runs at a few thousand
# transactions per second, the idle-client logins and the setup.
# Runs the Google Benchmark micro-benchmarks when they are built (make bench builds them).
run_micro() {
  if [[ ! -x $MICRO_BIN ]]; then
    say "micro-benchmarks skipped: $MICRO_BIN is not built (ninja -C <build dir> micro_bench)"
    return 0
  fi
  say "micro-benchmarks: $MICRO_BIN"
  if run_bounded 600 "$RESULTS/micro.txt" "$MICRO_BIN" --benchmark_min_time=0.5 \
    --benchmark_out="$RESULTS/micro.json" --benchmark_out_format=json; then
    { echo; echo "Micro-benchmarks (Google Benchmark)"; grep -E '^(BM_|-|Benchmark)' "$RESULTS/micro.txt"; } |
      tee -a "$RESULTS/report.txt"
  else
    warn "micro_bench failed; see $RESULTS/micro.txt"
  fi
}

estimate_minutes() {
  local cost=$((ROUNDS * 2 * (CPU_TXNS + STRACE_TXNS) / 3000))
  # Under callgrind a proxy serves a few hundred transactions per second.
  [[ $INSTR_METHOD == callgrind ]] && cost=$((cost + 2 * (CALLGRIND_TXNS * 6 / 5 + 1000) / 300 + 60))
  echo $(((RUN_SECONDS + 3 * RUN_TOTAL + cost + IDLE_CONNS / 250 + 120) / 60 + 1))
}

# Runs from the EXIT trap: stops everything this run started, keeps the logs.
# shellcheck disable=SC2317
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  kill_children "$PGMUX_PID"
  stop_services
  kill_children
  if [[ -n $WORK && -d $WORK ]]; then
    if ((KEEP_WORK)); then say "work directory kept: $WORK"; else rm -rf "$WORK"; fi
  fi
  ((rc == 0)) || say "stopped with status $rc; logs in $RESULTS/logs, errors in $RESULTS/errors.log"
  exit "$rc"
}

main() {
  check_knobs
  [[ -n ${SKIP_DEPS:-} ]] || install_deps
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  raise_fd_limit
  prepare_results
  make_workdir
  BOUNCER_VERSION=$(pgbouncer --version | awk 'NR == 1 { print $2 }')
  bouncer_has_prepared "$BOUNCER_VERSION" && BOUNCER_PREPARED=1
  if perf_counts_instructions; then
    PERF_OK=1 INSTR_METHOD=perf
  elif command -v valgrind >/dev/null && command -v callgrind_control >/dev/null; then
    INSTR_METHOD=callgrind
  fi
  count_runs
  say "$RUN_TOTAL pgbench runs of $SECONDS_PER_RUN s in $(total_rounds) round(s); about" \
    "$(estimate_minutes) min in all; PgBouncer $BOUNCER_VERSION" \
    "($( ((BOUNCER_PREPARED)) || echo "no ")prepared statements in transaction mode)"
  start_postgres
  init_database
  start_bouncer
  start_pgmux
  local target round
  for target in direct pgbouncer pgmux; do check_target "$target"; done
  write_machine_info
  warm_up
  run_matrix
  for ((round = 1; round <= ROUNDS; round++)); do measure_cost_round "$round"; done
  [[ $INSTR_METHOD == callgrind ]] && measure_instructions
  restart_proxies
  measure_memory pgbouncer
  measure_memory pgmux
  report
  run_micro
}

main "$@"
