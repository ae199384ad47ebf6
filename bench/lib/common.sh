# Helpers shared by the benchmark scripts: messages, child processes started in the
# background (so that Ctrl-C interrupts a wait at once and cleanup can find them), ports on
# 127.0.0.1 and the postgres user. Sourced by bench/run.sh; bash only, single-threaded.
# shellcheck shell=bash disable=SC2034,SC2153 # globals are set by bench/run.sh

say() { printf 'bench: %s\n' "$*" >&2; }
warn() { printf 'bench: warning: %s\n' "$*" >&2; }
die() {
  printf 'bench: error: %s\n' "$*" >&2
  exit 1
}

# PIDs of background children that are still to be reaped.
BG_PIDS=()
BG_PID=""

# Runs "$@" in the background; its PID goes to BG_PID and to BG_PIDS for cleanup.
# Redirections written after the call apply to the child.
spawn() {
  "$@" &
  BG_PID=$!
  BG_PIDS+=("$BG_PID")
}

# Waits for background child $1 and returns its exit status. A trapped signal interrupts
# the wait at once (unlike a foreground child, which bash would wait for first).
reap() {
  local pid=$1 rc=0 kept=() p
  wait "$pid" || rc=$?
  for p in "${BG_PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
  BG_PIDS=("${kept[@]}")
  return "$rc"
}

# Runs "$@" with a time limit of $1 seconds (TERM, then KILL 5 s later), its output going
# to file $2; returns its status. Only the child's output is redirected, so that a trap
# running during the wait still writes to the script's own stderr.
run_bounded() {
  local limit=$1 out=$2
  shift 2
  spawn timeout -k 5 "$limit" "$@" >"$out" 2>&1
  reap "$BG_PID"
}

# Sends TERM to every background child still running except the PIDs given as arguments,
# then KILL to any left after 5 s; forgets them.
kill_children() {
  local pid i victims=() kept=()
  for pid in "${BG_PIDS[@]}"; do
    if [[ " $* " == *" $pid "* ]]; then kept+=("$pid"); else victims+=("$pid"); fi
  done
  for pid in "${victims[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 50; i++)); do
    local alive=0
    for pid in "${victims[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${victims[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  BG_PIDS=("${kept[@]}")
}

# The command name (/proc/PID/comm) of the pgmux under test: its file name, cut to the
# kernel's 15 characters (PGMUX_BIN may name a renamed copy).
pgmux_comm() { local name=${PGMUX_BIN##*/}; echo "${name:0:15}"; }

# Stops process $1 if it is alive and its command name is $2: signal $3 (TERM), up to
# $4 seconds (10), then KILL.
stop_process() {
  local pid=$1 name=$2 sig=${3:-TERM} limit=${4:-10} i
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  warn "$name (pid $pid) did not stop within $limit s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

# Runs a command as the postgres user when running as root (PostgreSQL and PgBouncer
# refuse to run as root); as the current user otherwise.
as_pg() {
  if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# Gives directory $1 to the postgres user (when running as root).
own_by_pg() {
  if ((EUID == 0)); then chown postgres: "$1"; fi
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a port on 127.0.0.1 that nothing listens on and that is not among "$@".
free_port() {
  local port tries
  for ((tries = 0; tries < 200; tries++)); do
    port=$((20000 + RANDOM % 12000))
    [[ " $* " == *" $port "* ]] && continue
    port_in_use "$port" || {
      echo "$port"
      return 0
    }
  done
  die "no free port found on 127.0.0.1"
}

# Waits up to $2 seconds for 127.0.0.1:$1 to accept connections; fails early when the
# process whose PID is $3 (optional) exits.
wait_port() {
  local port=$1 limit=$2 pid=${3:-} i
  for ((i = 0; i < limit * 10; i++)); do
    port_in_use "$port" && return 0
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}
