# Measurements: one pgbench run (tps, mean and p99 latency from its per-transaction
# logs, and where the machine's CPU went in its steady state), the proxies' CPU time,
# context switches, instructions and system calls per transaction, and their memory per
# idle client. Sourced by bench/run.sh after common.sh and services.sh.
# shellcheck shell=bash disable=SC2034,SC2153 # globals are set by bench/run.sh

RESULTS_HEADER="target,mode,protocol,clients,round,tps,lat_mean_ms,lat_p99_ms,window_tps,machine_busy_pct,proxy_cpu_us_per_txn,other_cpu_us_per_txn,proxy_user_us_per_txn"
CPU_HEADER="target,round,method,transactions,cpu_us_per_txn,ctxsw_per_txn,instructions_per_txn,syscalls_per_txn,syscall_method,user_us_per_txn,system_us_per_txn"
MEMORY_HEADER="target,connections,failed,rss_before_kib,rss_after_kib,kib_per_conn,login_seconds"

# pgbench options for mode $1: select-only (-S), tpcb-like (built-in TPC-B-like script),
# connect-churn (-S -C: a new connection, SCRAM login included, per transaction).
mode_args() {
  case $1 in
    select-only) echo "-S" ;;
    tpcb-like) echo "-b tpcb-like" ;;
    connect-churn) echo "-S -C" ;;
    *) die "unknown mode $1" ;;
  esac
}

# pgbench threads for $1 clients: min(clients, 2 * nproc).
threads_for() {
  local j=$((2 * NPROC))
  if (($1 < j)); then j=$1; fi
  echo "$j"
}

# Seconds added to a run's -T for $1 clients to log in: pgbench's -T clock starts before
# its clients connect (one SCRAM login after another in each thread), while its tps counts
# only from the moment they are all connected. Learned per target and client count from
# pgbench's "initial connection time" (RAMP), so that every run measures at least
# BENCH_SECONDS of transactions.
declare -A RAMP=()
ramp_seconds() { echo $(($1 / 200)); }

# Runs pgbench against target $1; the rest of the arguments go to pgbench. Output goes to
# $WORK/runs/out; a run may take at most $PGBENCH_LIMIT seconds.
pgbench_to() {
  local target=$1
  shift
  PGPASSWORD=$BENCH_PASSWORD PGCONNECT_TIMEOUT=30 run_bounded "$PGBENCH_LIMIT" "$WORK/runs/out" \
    "$PG_BIN/pgbench" -h 127.0.0.1 -p "$(target_port "$target")" -U "$BENCH_USER" -n \
    "$@" "$BENCH_DB"
}

# Prints "mean_ms p99_ms" of the per-transaction latencies in the pgbench logs $1.*.
latency_stats() {
  cat "$1".* 2>/dev/null | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n | awk '
    { s += $1; v[NR] = $1 }
    END {
      if (NR == 0) exit 1
      k = int(NR * 0.99); if (k < NR * 0.99) k++; if (k < 1) k = 1
      printf "%.3f %.3f\n", s / NR / 1000, v[k] / 1000
    }'
}

# Appends pgbench's output and what went wrong to errors.log.
log_failure() {
  {
    echo "== $(date -Is) $*"
    tail -n 15 "$WORK/runs/out"
  } >>"$RESULTS/errors.log" 2>&1
}

# Prints one CPU sample: "wall_seconds proxy_cpu_ns proxy_user_ticks" and the fields of
# the aggregate "cpu" line of /proc/stat (user nice system idle iowait irq softirq steal
# ... in clock ticks). proxy_cpu_ns and proxy_user_ticks are those of process $1
# (proc_counters), "-" without one.
cpu_sample() {
  local pid=$1 t stat counters="" ns="" user=""
  t=$(date +%s.%N)
  read -r stat </proc/stat
  if [[ -n $pid ]]; then counters=$(proc_counters "$pid" 2>/dev/null) || counters=""; fi
  read -r ns _ user _ <<<"$counters" || true
  echo "$t ${ns:--} ${user:--} ${stat#cpu }"
}

# Background job of a throughput run: sleeps $1 seconds (the logins), writes a CPU sample
# of proxy PID $3 (may be empty), sleeps $2 seconds and writes another. TERM stops it at
# once, its sleep included.
cpu_window_sampler() {
  local delay=$1 span=$2 pid=$3 sleeper=""
  trap '[[ -z ${sleeper:-} ]] || kill "$sleeper" 2>/dev/null; exit 143' TERM
  sleep "$delay" &
  sleeper=$!
  wait "$sleeper"
  cpu_sample "$pid"
  sleep "$span" &
  sleeper=$!
  wait "$sleeper"
  cpu_sample "$pid"
}

# Prints "window_tps,machine_busy_pct,proxy_cpu_us_per_txn,other_cpu_us_per_txn,
# proxy_user_us_per_txn" for the window between the two samples in file $1, counting the
# transactions that ended in it from the pgbench logs $2.* (time_epoch + time_us); $3 is 1
# when the target is a proxy. The proxy's user-space part comes from its utime (clock
# ticks). Prints ",,,," when the window cannot be measured (fewer than two samples, no
# transactions, a proxy without CPU counters).
window_stats() {
  local samples=$1 logs=$2 proxy=$3
  [[ -s $samples ]] || {
    echo ",,,,"
    return 0
  }
  cat "$logs".* 2>/dev/null | awk -v hz="$(getconf CLK_TCK)" -v proxy="$proxy" '
    NR == FNR {  # the samples file (not empty), then the logs on stdin
      if (NF < 11) next
      n++; t[n] = $1; ns[n] = $2; ut[n] = $3
      busy[n] = $4 + $5 + $6 + $9 + $10 + $11  # user nice system irq softirq steal
      all[n] = busy[n] + $7 + $8                # + idle iowait
      next
    }
    n >= 2 && $3 ~ /^[0-9]+$/ { end = $5 + $6 / 1e6; if (end > t[1] && end <= t[2]) txns++ }
    END {
      if (n < 2 || t[2] <= t[1] || txns == 0 || all[2] <= all[1]) { print ",,,,"; exit }
      busy_us = (busy[2] - busy[1]) * 1e6 / hz
      proxy_us = ""
      user = ""
      if (proxy) {
        if (ns[1] !~ /^[0-9]+$/ || ns[2] !~ /^[0-9]+$/) { print ",,,,"; exit }
        proxy_us = (ns[2] - ns[1]) / 1000
        if (ut[1] ~ /^[0-9]+$/ && ut[2] ~ /^[0-9]+$/) {
          user = sprintf("%.2f", (ut[2] - ut[1]) * 1e6 / hz / txns)
        }
      }
      printf "%.1f,%.1f,%s,%.2f,%s\n", txns / (t[2] - t[1]),
        100 * (busy[2] - busy[1]) / (all[2] - all[1]),
        (proxy ? sprintf("%.2f", proxy_us / txns) : ""), (busy_us - proxy_us) / txns, user
    }' "$samples" -
}

# One pgbench -T run of target $1, mode $2, protocol $3, $4 clients with $5 s for logins.
# Sets RUN_RC, RUN_TPS (empty unless transactions were processed), RUN_CONN_MS (pgbench's
# initial connection time; empty with -C) and RUN_WINDOW (window_stats of the steady
# state: from 1 s after the login allowance to 1 s before -T ends; ",,,," when the run
# failed, logged in late or is shorter than 3 s).
pgbench_timed() {
  local target=$1 mode=$2 protocol=$3 clients=$4 ramp=$5 out=$WORK/runs/out sampler=""
  local samples=$WORK/runs/cpu_window proxy=1 span=$((SECONDS_PER_RUN - 2))
  rm -rf "$WORK/runs" && mkdir -p "$WORK/runs"
  PGBENCH_LIMIT=$((SECONDS_PER_RUN + ramp + 60 + clients / 10))
  RUN_RC=0 RUN_TPS="" RUN_CONN_MS="" RUN_WINDOW=",,,,"
  [[ $target == direct ]] && proxy=0
  ((span >= 1)) || span=1
  if ((SECONDS_PER_RUN >= 3)); then
    spawn cpu_window_sampler $((ramp + 1)) "$span" "$(target_pid "$target")" >"$samples"
    sampler=$BG_PID
  fi
  # shellcheck disable=SC2046
  pgbench_to "$target" $(mode_args "$mode") -M "$protocol" -c "$clients" \
    -j "$(threads_for "$clients")" -T $((SECONDS_PER_RUN + ramp)) -l \
    --log-prefix="$WORK/runs/log" || RUN_RC=$?
  if [[ -n $sampler ]]; then # normally done 1 s before -T ends; stopped here if not
    kill -TERM "$sampler" 2>/dev/null || true
    reap "$sampler" || true
  fi
  ((RUN_RC == 0)) || return 0
  RUN_TPS=$(awk '/^number of transactions actually processed: [1-9]/ { ok = 1 }
    /^tps = / && ok { printf "%.1f", $3; exit }' "$out")
  RUN_CONN_MS=$(awk '/^initial connection time = / { printf "%d", $5; exit }' "$out")
  # The window counts only when every client had logged in before it began.
  if [[ -n $sampler && -n $RUN_TPS ]] && ((${RUN_CONN_MS:-0} <= (ramp + 1) * 1000)); then
    RUN_WINDOW=$(window_stats "$samples" "$WORK/runs/log" "$proxy")
  fi
}

# One measured run: target $1, mode $2, protocol $3, $4 clients, round $5. Appends a row
# to results.csv (empty numbers when the run failed) and prints a progress line.
measure_run() {
  local target=$1 mode=$2 protocol=$3 clients=$4 round=$5 stats="" mean="" p99=""
  local key="$target $clients" ramp w_tps busy proxy_us other_us user_us
  ramp=${RAMP[$key]:-$(ramp_seconds "$clients")}
  ensure_alive "$target"
  [[ $mode == tpcb-like ]] && reset_tpcb
  pgbench_timed "$target" "$mode" "$protocol" "$clients" "$ramp"
  if [[ -z $RUN_TPS && $RUN_RC == 0 ]]; then # -T ran out while clients were logging in
    ramp=$((ramp * 4 + 10 > 300 ? 300 : ramp * 4 + 10))
    warn "$target -c $clients: no transaction before -T ran out; retrying with $ramp s for logins"
    [[ $mode == tpcb-like ]] && reset_tpcb
    pgbench_timed "$target" "$mode" "$protocol" "$clients" "$ramp"
  fi
  if [[ -n $RUN_CONN_MS ]] && ((RUN_CONN_MS > 500 && RUN_CONN_MS * 2 > ramp * 1000)); then
    ramp=$(((RUN_CONN_MS * 2 + 999) / 1000))
  fi
  RAMP[$key]=$ramp
  if [[ -n $RUN_TPS ]]; then
    stats=$(latency_stats "$WORK/runs/log") || stats=""
    read -r mean p99 <<<"$stats" || true
  else
    log_failure "$target $mode $protocol c=$clients round $round: pgbench exited with $RUN_RC"
  fi
  echo "$target,$mode,$protocol,$clients,$round,$RUN_TPS,$mean,$p99,$RUN_WINDOW" \
    >>"$RESULTS/results.csv"
  IFS=, read -r w_tps busy proxy_us other_us user_us <<<"$RUN_WINDOW" || true
  RUN_NO=$((RUN_NO + 1))
  say "[$RUN_NO/$RUN_TOTAL] round $round $target $mode -M $protocol -c $clients:" \
    "${RUN_TPS:-FAILED} tps, mean ${mean:--} ms, p99 ${p99:--} ms; window ${w_tps:--} tps," \
    "busy ${busy:--}%, us/txn proxy ${proxy_us:--} (user ${user_us:--}) other ${other_us:--}"
}

# Before a TPC-B-like run: what pgbench itself does without -n, but always directly on
# PostgreSQL so that every target starts from the same table state.
reset_tpcb() {
  pg_admin -d "$BENCH_DB" -c "VACUUM pgbench_branches, pgbench_tellers" \
    -c "TRUNCATE pgbench_history" >/dev/null 2>&1 || warn "VACUUM before a TPC-B-like run failed"
}

# True when `perf stat` can count hardware instructions here (not in most VMs).
perf_counts_instructions() {
  command -v perf >/dev/null || return 1
  perf stat -x, -e instructions true 2>&1 >/dev/null | grep -qE '^[0-9]+,.*instructions'
}

# True when `perf stat` can count the raw_syscalls:sys_enter tracepoint here (a software
# event: usually works in VMs too, given root or a permissive perf_event_paranoid).
perf_counts_syscalls() {
  command -v perf >/dev/null || return 1
  perf stat -x, -e raw_syscalls:sys_enter true 2>&1 >/dev/null |
    grep -qE '^[0-9]+,.*raw_syscalls:sys_enter'
}

# How system calls are counted: perf-tracepoint or strace (decided on first use).
SYSCALL_METHOD=""

# Prints "cpu_ns ctxsw user_ticks system_ticks" of process $1 summed over its threads: CPU
# time from /proc/PID/task/*/schedstat, voluntary + involuntary context switches from
# .../status, the user-space and kernel parts (utime, stime; clock ticks) from /proc/PID/stat.
proc_counters() {
  local pid=$1 ns cs ticks
  ns=$(cat /proc/"$pid"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }')
  # The command name (field 2) may hold spaces: the fields counted from its closing ")".
  ticks=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12, $13 }')
  if [[ -z $ns || $ns == 0 ]]; then # no schedstat: utime + stime
    ns=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($1 + $2) * 1e9 / hz }' <<<"$ticks")
  fi
  cs=$(cat /proc/"$pid"/task/*/status | awk '/ctxt_switches:/ { s += $2 } END { printf "%.0f", s }')
  echo "$ns $cs $ticks"
}

# The fixed CPU workload: pgbench -S -M simple, 10 clients, $2 transactions in all.
# Sets TXNS to the transactions pgbench processed (empty when it failed).
cost_workload() {
  TXNS=""
  PGBENCH_LIMIT=600
  pgbench_to "$1" -S -M simple -c 10 -j "$(threads_for 10)" -t $(($2 / 10)) || return 0
  TXNS=$(awk -F': ' '/^number of transactions actually processed/ {
    split($2, a, "/"); print a[1] }' "$WORK/runs/out")
}

# Measures target $1 over the CPU workload. Sets CPU_ROW to "transactions cpu_us_per_txn
# ctxsw_per_txn instructions_per_txn user_us_per_txn system_us_per_txn" ("-" for
# instructions perf could not count; CPU_ROW empty when the run failed). Background children are
# started here, never in a $(...) subshell, so that cleanup always knows them.
measure_cpu() {
  local target=$1 pid before after perf_pid="" instr=""
  CPU_ROW=""
  pid=$(target_pid "$target")
  if ((PERF_OK)); then
    spawn perf stat -x, -e instructions -o "$WORK/runs/perf" -p "$pid"
    perf_pid=$BG_PID
    sleep 0.5
  fi
  before=$(proc_counters "$pid")
  cost_workload "$target" "$CPU_TXNS"
  after=$(proc_counters "$pid")
  if [[ -n $perf_pid ]]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    reap "$perf_pid" || true
    instr=$(awk -F, '$3 ~ /^instructions/ && $1 ~ /^[0-9]+$/ { print $1 }' "$WORK/runs/perf")
  fi
  [[ -n $TXNS && $TXNS -gt 0 ]] || return 0
  CPU_ROW=$(awk -v t="$TXNS" -v i="$instr" -v b="$before" -v a="$after" \
    -v hz="$(getconf CLK_TCK)" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    printf "%d %.2f %.3f %s %.2f %.2f\n", t, (y[1] - x[1]) / 1000 / t, (y[2] - x[2]) / t,
      (i == "" ? "-" : sprintf("%.0f", i / t)), (y[3] - x[3]) * 1e6 / hz / t,
      (y[4] - x[4]) * 1e6 / hz / t }')
}

# Sets SYSCALLS to the system calls per transaction of target $1 over a fixed run, counted
# with `perf stat -e raw_syscalls:sys_enter -p PID` (all threads; a tracepoint costs the
# proxy little and leaves its pattern of calls alone) or, where perf cannot, with
# strace -c -f (which slows the proxy many times over); empty when the run failed.
# SYSCALL_METHOD says which.
measure_syscalls() {
  local target=$1 pid counter_pid calls
  SYSCALLS=""
  if [[ -z $SYSCALL_METHOD ]]; then
    if perf_counts_syscalls; then SYSCALL_METHOD=perf-tracepoint; else SYSCALL_METHOD=strace; fi
  fi
  pid=$(target_pid "$target")
  if [[ $SYSCALL_METHOD == perf-tracepoint ]]; then
    spawn perf stat -x, -e raw_syscalls:sys_enter -o "$WORK/runs/syscalls" -p "$pid"
  else
    spawn strace -c -f -q -o "$WORK/runs/syscalls" -p "$pid"
  fi
  counter_pid=$BG_PID
  sleep 1 # attach to every thread before the run starts
  cost_workload "$target" "$STRACE_TXNS"
  kill -INT "$counter_pid" 2>/dev/null || true
  reap "$counter_pid" || true
  if [[ $SYSCALL_METHOD == perf-tracepoint ]]; then
    calls=$(awk -F, '$3 ~ /^raw_syscalls:sys_enter/ && $1 ~ /^[0-9]+$/ { print $1 }' \
      "$WORK/runs/syscalls" 2>/dev/null)
  else
    calls=$(awk '$NF == "total" { print $4 }' "$WORK/runs/syscalls" 2>/dev/null)
  fi
  [[ -n $TXNS && $TXNS -gt 0 && -n $calls ]] || return 0
  SYSCALLS=$(awk -v c="$calls" -v t="$TXNS" 'BEGIN { printf "%.2f", c / t }')
}

# How instructions are counted: perf (hardware counter, during the CPU cost rounds),
# callgrind (measure_instructions) or none; decided in main.
INSTR_METHOD=none
INSTR_HEADER="target,method,transactions_a,instructions_a,transactions_b,instructions_b,instructions_per_txn"

# Runs `callgrind_control $1` on target $2's process, as the user it runs as.
callgrind_at() {
  local op=$1 target=$2 pid
  pid=$(target_pid "$target")
  if [[ $target == pgbouncer ]]; then
    as_pg callgrind_control "$op" "$pid" >/dev/null
  else
    callgrind_control "$op" "$pid" >/dev/null
  fi
}

# The instructions in callgrind dump file $1 (its summary line).
callgrind_total() { awk '/^summary:/ { print $2 }' "$1" 2>/dev/null; }

# Stops a proxy started under PROXY_WRAP (by PID: its command name is valgrind's).
stop_wrapped() {
  local pid=$1 i
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# Instructions per transaction where perf cannot count them: each proxy in turn runs
# under valgrind --tool=callgrind, which counts the instructions it executes in user
# space (the same count on every run of the same binary and input, whatever else the
# machine is doing; the kernel's share, the system calls, is counted separately). After
# a warm-up (the clients' logins, the pool's server connections), the counters are
# zeroed and dumped around two runs of the CPU workload, of CALLGRIND_TXNS / 5 and
# CALLGRIND_TXNS transactions: the difference of their counts divided by the difference
# of their transactions leaves out what does not grow with transactions (the ten
# logins of each run, its start and end). Rows go to instructions.csv; both proxies
# are started again normally afterwards (restart_proxies).
measure_instructions() {
  local target pid small=$((CALLGRIND_TXNS / 5)) ta tb a b dir=$WORK/callgrind
  mkdir -p "$dir"
  own_by_pg "$dir"
  echo "$INSTR_HEADER" >"$RESULTS/instructions.csv"
  stop_process "$PGMUX_PID" "$(pgmux_comm)" TERM 15
  reap "$PGMUX_PID" 2>/dev/null || true
  PGMUX_PID=""
  stop_process "$(bouncer_pid)" pgbouncer TERM 10
  for target in pgbouncer pgmux; do
    rm -rf "$WORK/runs" && mkdir -p "$WORK/runs"
    rm -f "$dir/$target".*
    PROXY_WRAP=(valgrind --tool=callgrind --callgrind-out-file="$dir/$target.%p")
    PROXY_START_LIMIT=120
    if [[ $target == pgbouncer ]]; then start_bouncer; else start_pgmux; fi
    PROXY_WRAP=()
    PROXY_START_LIMIT=15
    pid=$(target_pid "$target")
    ta="" tb="" a="" b=""
    cost_workload "$target" 1000
    if [[ -n $TXNS ]] && callgrind_at -z "$target"; then
      cost_workload "$target" "$small"
      ta=$TXNS
      callgrind_at -d "$target" || ta=""
    fi
    if [[ -n $ta ]] && callgrind_at -z "$target"; then
      cost_workload "$target" "$CALLGRIND_TXNS"
      tb=$TXNS
      callgrind_at -d "$target" || tb=""
    fi
    a=$(callgrind_total "$dir/$target.$pid.1")
    b=$(callgrind_total "$dir/$target.$pid.2")
    stop_wrapped "$pid"
    if [[ $target == pgmux ]]; then reap "$PGMUX_PID" 2>/dev/null || true; PGMUX_PID=""; fi
    local per=""
    if [[ -n $ta && -n $tb && -n $a && -n $b ]] && ((tb > ta)); then
      per=$(awk -v a="$a" -v b="$b" -v ta="$ta" -v tb="$tb" 'BEGIN { printf "%.0f", (b - a) / (tb - ta) }')
    else
      log_failure "$target instruction count under callgrind"
    fi
    echo "$target,callgrind,$ta,$a,$tb,$b,$per" >>"$RESULTS/instructions.csv"
    say "instructions $target (callgrind): $ta txns ${a:-?}, $tb txns ${b:-?}:" \
      "${per:--} per transaction"
  done
}

# One round of the CPU cost measurement for both proxies; rows go to cpu.csv.
measure_cost_round() {
  local round=$1 target method=proc t c x i u k
  ((PERF_OK)) && method=perf+proc
  for target in pgbouncer pgmux; do
    ensure_alive "$target"
    rm -rf "$WORK/runs" && mkdir -p "$WORK/runs"
    measure_cpu "$target"
    [[ -n $CPU_ROW ]] || log_failure "$target CPU cost round $round"
    measure_syscalls "$target"
    [[ -n $SYSCALLS ]] || log_failure "$target system calls ($SYSCALL_METHOD) round $round"
    read -r t c x i u k <<<"$CPU_ROW" || true
    [[ $i == - ]] && i=""
    echo "$target,$round,$method,$t,$c,$x,$i,$SYSCALLS,$SYSCALL_METHOD,$u,$k" >>"$RESULTS/cpu.csv"
    say "cost round $round $target: ${t:-?} txns; per transaction ${c:--} us CPU" \
      "(user ${u:--}, kernel ${k:--})," \
      "${x:--} context switches, ${i:--} instructions," \
      "${SYSCALLS:--} system calls ($SYSCALL_METHOD)"
  done
}

vmrss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Waits up to $2 seconds for the idle-client program (PID $3) to write ready file $1.
wait_ready() {
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    [[ -s $1 ]] && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# Holds IDLE_CONNS authenticated idle clients on target $1; a row goes to memory.csv.
measure_memory() {
  local target=$1 pid before after py ready=$WORK/runs/idle.ready ok=0 failed=0 secs=""
  pid=$(target_pid "$target")
  rm -rf "$WORK/runs" && mkdir -p "$WORK/runs"
  before=$(vmrss_kib "$pid")
  PGPASSWORD=$BENCH_PASSWORD spawn "$PYTHON" "$BENCH_DIR/tools/idle_clients.py" \
    --port "$(target_port "$target")" --user "$BENCH_USER" --dbname "$BENCH_DB" \
    --count "$IDLE_CONNS" --ready-file "$ready" >"$WORK/runs/idle.log" 2>&1
  py=$BG_PID
  if wait_ready "$ready" 600 "$py"; then
    read -r _ ok failed secs <"$ready"
    sleep 2 # let the proxy settle
  else
    log_failure "$target idle clients did not all log in: $(tail -n 3 "$WORK/runs/idle.log")"
  fi
  after=$(vmrss_kib "$pid")
  kill -TERM "$py" 2>/dev/null || true
  reap "$py" || true
  local per=""
  ((ok > 0)) && per=$(awk -v a="$after" -v b="$before" -v n="$ok" 'BEGIN { printf "%.2f", (a - b) / n }')
  echo "$target,$ok,$failed,$before,$after,$per,$secs" >>"$RESULTS/memory.csv"
  say "memory $target: $ok idle clients ($failed failed, login ${secs:-?} s):" \
    "VmRSS $before -> $after KiB, ${per:--} KiB per connection"
  sleep 3 # the proxy closes the clients' sessions
}
