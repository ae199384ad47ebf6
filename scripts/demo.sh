#!/usr/bin/env bash
# Runs pgmux on 127.0.0.1:6432 in front of a throwaway PostgreSQL 15 cluster under ./.demo
# until Ctrl-C (SIGINT) or SIGTERM, then stops both. `demo.sh --stop` only stops a leftover run.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
demo_dir=$repo/.demo
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
pgmux_bin=${PGMUX_BIN:-$repo/build-release/pgmux}
[[ $pgmux_bin == /* ]] || pgmux_bin=$repo/$pgmux_bin
config=${PGMUX_DEMO_CONFIG:-$repo/conf/demo.yaml}
listen_port=6432 # what conf/demo.yaml listens on
password=${PGMUX_DEMO_PASSWORD:-demo}

pgdata=""     # the cluster's data directory (under .demo, or /tmp when postgres cannot reach it)
pg_port=""
pgmux_pid=""

say() { printf 'demo: %s\n' "$*"; }
die() {
  printf 'demo: error: %s\n' "$*" >&2
  exit 1
}

# Runs a PostgreSQL server command as the postgres user (the server refuses to run as root).
as_pg() {
  if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a port on 127.0.0.1 that nothing listens on.
free_port() {
  local port tries
  for ((tries = 0; tries < 200; tries++)); do
    port=$((20000 + RANDOM % 20000))
    port_in_use "$port" || {
      echo "$port"
      return 0
    }
  done
  die "no free port found for PostgreSQL"
}

# Stops a pgmux recorded in .demo/pgmux.pid, if it is still that pgmux.
stop_pgmux() {
  local pid=$pgmux_pid
  [[ -n $pid ]] || pid=$(cat "$demo_dir/pgmux.pid" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q pgmux; then
    kill -TERM "$pid" 2>/dev/null || true
    local i=0
    while ((i++ < 100)) && kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "pgmux did not stop within 10 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  rm -f "$demo_dir/pgmux.pid"
  pgmux_pid=""
}

# Stops the cluster whose data directory is $1, if it runs.
stop_postgres() {
  local data=$1
  [[ -n $data && -f $data/postmaster.pid ]] || return 0
  as_pg "$pg_bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
    as_pg "$pg_bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
}

# Stops whatever an earlier run left behind and removes .demo (and its /tmp cluster, if any).
stop_stale() {
  [[ -d $demo_dir ]] || return 0
  stop_pgmux
  local old_data
  old_data=$(cat "$demo_dir/pgdata.path" 2>/dev/null || true)
  stop_postgres "$demo_dir/pgdata"
  if [[ -n $old_data && $old_data == /tmp/pgmux-demo.* ]]; then
    stop_postgres "$old_data/pgdata"
    rm -rf "$old_data"
  fi
  rm -rf "$demo_dir"
}

# Runs from the EXIT trap: stops what this run started.
# shellcheck disable=SC2317
cleanup() {
  trap - EXIT INT TERM
  if [[ -n $pgmux_pid ]]; then
    say "stopping pgmux"
    stop_pgmux
  fi
  if [[ -n $pg_port ]]; then
    say "stopping PostgreSQL"
    stop_postgres "$pgdata"
  fi
}

check_prerequisites() {
  [[ -x $pgmux_bin ]] || die "$pgmux_bin not found; run 'make build' first"
  [[ -f $config ]] || die "$config not found"
  [[ -x $pg_bin/initdb ]] || die "PostgreSQL 15 not found in $pg_bin; run 'make deps'"
  if ((EUID == 0)) && ! id postgres >/dev/null 2>&1; then
    die "user 'postgres' does not exist; run 'make deps'"
  fi
  if port_in_use "$listen_port"; then
    die "port $listen_port on 127.0.0.1 is already in use; stop whatever listens there and retry"
  fi
}

# Gives directory $1 to the postgres user (when running as root) and closes it to others.
own_by_pg() {
  if ((EUID == 0)); then chown postgres: "$1"; fi
  chmod 700 "$1"
}

# Creates .demo/ and picks the data directory: .demo/pgdata, or one under /tmp when the
# postgres user cannot reach the checkout (one under /root, say) or when the path is too
# long for the server's Unix socket (108 bytes on Linux).
make_demo_dir() {
  mkdir -p "$demo_dir"
  own_by_pg "$demo_dir"
  if ((${#demo_dir} <= 80)) && as_pg test -w "$demo_dir" 2>/dev/null; then
    pgdata=$demo_dir/pgdata
  else
    local tmp
    tmp=$(mktemp -d /tmp/pgmux-demo.XXXXXX)
    own_by_pg "$tmp"
    echo "$tmp" >"$demo_dir/pgdata.path"
    pgdata=$tmp/pgdata
  fi
}

start_postgres() {
  local socket_dir=${pgdata%/pgdata}
  pg_port=$(free_port)
  say "initializing PostgreSQL 15 in $pgdata"
  as_pg "$pg_bin/initdb" -D "$pgdata" -U postgres -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 >"$demo_dir/initdb.log" 2>&1 ||
    die "initdb failed; see $demo_dir/initdb.log"
  as_pg tee -a "$pgdata/postgresql.conf" >/dev/null <<CONF
# pgmux demo
port = $pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$socket_dir'
CONF
  say "starting PostgreSQL on 127.0.0.1:$pg_port"
  as_pg "$pg_bin/pg_ctl" -D "$pgdata" -l "$socket_dir/postgres.log" -w -t 60 start >/dev/null ||
    die "PostgreSQL did not start; see $socket_dir/postgres.log"
  as_pg "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$socket_dir" -p "$pg_port" -U postgres \
    -d postgres -v pw="$password" >/dev/null <<'SQL'
CREATE ROLE demo LOGIN PASSWORD :'pw';
CREATE DATABASE demo OWNER demo;
SQL
  say "created role 'demo' and database 'demo'"
}

start_pgmux() {
  export PGMUX_DEMO_PG_PORT=$pg_port PGMUX_DEMO_PASSWORD=$password
  say "starting $pgmux_bin -c $config"
  "$pgmux_bin" -c "$config" >"$demo_dir/pgmux.log" 2>&1 &
  pgmux_pid=$!
  echo "$pgmux_pid" >"$demo_dir/pgmux.pid"
  local i
  for ((i = 0; i < 150; i++)); do
    grep -q 'listening on' "$demo_dir/pgmux.log" && return 0
    if ! kill -0 "$pgmux_pid" 2>/dev/null; then
      pgmux_pid=""
      tail -n 20 "$demo_dir/pgmux.log" >&2
      die "pgmux exited during startup; see $demo_dir/pgmux.log"
    fi
    sleep 0.1
  done
  tail -n 20 "$demo_dir/pgmux.log" >&2
  die "pgmux did not report 'listening on' within 15 s; see $demo_dir/pgmux.log"
}

# One query through pgmux, so the banner below is printed only for a demo that works.
self_check() {
  local out
  if out=$(PGPASSWORD=$password "$pg_bin/psql" -X -At -w \
    "host=127.0.0.1 port=$listen_port dbname=demo user=demo connect_timeout=5" \
    -c 'SELECT current_user' 2>&1) && [[ $out == demo ]]; then
    say "self-check passed: a query through pgmux reached PostgreSQL as user 'demo'"
  else
    say "warning: self-check query through pgmux failed: $out"
  fi
}

# Prints path $1 relative to the current directory when it lies below it.
relative() {
  local path=$1
  echo "${path#"$PWD/"}"
}

print_banner() {
  cat <<BANNER

  pgmux is listening on 127.0.0.1:$listen_port, pooling for PostgreSQL 15 on 127.0.0.1:$pg_port.
  Connect through pgmux with:

    PGPASSWORD=$password psql "host=127.0.0.1 port=$listen_port dbname=demo user=demo"

  Its admin console (SHOW POOLS, SHOW STATS, PAUSE, ...) and its Prometheus metrics:

    PGPASSWORD=$password psql "host=127.0.0.1 port=$listen_port dbname=pgmux user=demo" -c "SHOW POOLS"
    curl -s http://127.0.0.1:9127/metrics

  Logs: $(relative "$demo_dir/pgmux.log") and $(relative "${pgdata%/pgdata}/postgres.log")
  Press Ctrl-C to stop pgmux and PostgreSQL.

BANNER
}

main() {
  if [[ ${1:-} == --stop ]]; then
    stop_stale
    exit 0
  fi
  [[ $# -eq 0 ]] || die "usage: $0 [--stop]"
  stop_stale
  check_prerequisites
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  make_demo_dir
  start_postgres
  start_pgmux
  self_check
  print_banner
  trap 'say stopped; exit 0' INT TERM # the normal way to end a running demo
  local status=0
  wait "$pgmux_pid" || status=$?
  pgmux_pid=""
  rm -f "$demo_dir/pgmux.pid"
  tail -n 20 "$demo_dir/pgmux.log" >&2
  die "pgmux exited on its own (status $status); see $demo_dir/pgmux.log"
}

main "$@"
