# The benchmark's processes: Debian packages, a throwaway PostgreSQL 15, PgBouncer and
# pgmux, all on 127.0.0.1 with the same user, password and database. Sourced by
# bench/run.sh after common.sh; uses its globals (WORK, RESULTS, PG_BIN, PGMUX_BIN...).
# shellcheck shell=bash disable=SC2034,SC2153 # globals are set by bench/run.sh

BENCH_USER=bench
BENCH_DB=bench
BENCH_PASSWORD=${BENCH_PASSWORD:-bench-password}
POOL_SIZE=20

PG_PORT="" BOUNCER_PORT="" PGMUX_PORT=""
PGDATA="" PGMUX_PID="" BOUNCER_VERSION="" BOUNCER_PREPARED=0
SCRAM_SECRET=""

# Installs the Debian packages the benchmark needs when some are missing (root only).
# linux-perf is optional: without it the CPU cost comes from /proc alone.
install_deps() {
  local required=(pgbouncer gnuplot-nox strace valgrind postgresql-15 postgresql-client-15)
  local missing=() p perf_missing=0
  for p in "${required[@]}"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
  done
  dpkg-query -W -f='${db:Status-Abbrev}' linux-perf 2>/dev/null | grep -q '^ii' || perf_missing=1
  ((${#missing[@]} == 0 && !perf_missing)) && return 0
  if ((EUID != 0)); then
    ((${#missing[@]} == 0)) && return 0 # perf is optional
    die "missing Debian packages: ${missing[*]}; install them as root and retry"
  fi
  say "installing ${missing[*]} $( ((perf_missing)) && echo linux-perf)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  if ((${#missing[@]})); then
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >/dev/null
  fi
  if ((perf_missing)); then
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq linux-perf >/dev/null ||
      warn "linux-perf could not be installed; CPU cost will come from /proc"
  fi
  # Debian starts a packaged PgBouncer/PostgreSQL; the benchmark runs its own.
  [[ " ${missing[*]} " == *" pgbouncer "* ]] && { service pgbouncer stop >/dev/null 2>&1 || true; }
  [[ " ${missing[*]} " == *" postgresql-15 "* ]] &&
    { pg_ctlcluster 15 main stop >/dev/null 2>&1 || true; }
  return 0
}

# Raises the open-file limit so that 2000 pgbench clients and 10,000 idle clients fit.
raise_fd_limit() {
  local want=$((IDLE_CONNS * 2 + 1000))
  ((want < 65536)) && want=65536
  if (($(ulimit -Hn) < want)); then ulimit -Hn "$want" 2>/dev/null || true; fi
  ulimit -Sn "$(ulimit -Hn)"
  (($(ulimit -Sn) >= IDLE_CONNS + 200)) ||
    warn "open-file limit $(ulimit -Sn) is low for $IDLE_CONNS idle clients"
}

# Creates the work directory under /tmp (PostgreSQL, PgBouncer, logs, pgbench logs).
make_workdir() {
  WORK=$(mktemp -d /tmp/pgmux-bench.XXXXXX)
  chmod 755 "$WORK"
  mkdir -p "$WORK/pg" "$WORK/bouncer" "$WORK/runs"
  own_by_pg "$WORK/pg"
  own_by_pg "$WORK/bouncer"
  PGDATA=$WORK/pg/data
}

# Initializes and starts PostgreSQL 15 tuned for a throwaway benchmark (fsync off...).
start_postgres() {
  PG_PORT=$(free_port)
  as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --no-locale --auth-local=trust \
    --auth-host=scram-sha-256 >"$WORK/initdb.log" 2>&1 || die "initdb failed; see $WORK/initdb.log"
  as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null <<CONF
# pgmux benchmark: throwaway cluster, durability off for speed (see bench/README.md)
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK/pg'
max_connections = $PG_MAX_CONNECTIONS
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
checkpoint_timeout = 30min
max_wal_size = 4GB
autovacuum = off
password_encryption = scram-sha-256
CONF
  say "starting PostgreSQL 15 on 127.0.0.1:$PG_PORT (max_connections $PG_MAX_CONNECTIONS)"
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$WORK/pg/postgres.log" -w -t 120 start >/dev/null ||
    die "PostgreSQL did not start; see $WORK/pg/postgres.log"
}

# Superuser psql over the Unix socket.
pg_admin() {
  as_pg "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$WORK/pg" -p "$PG_PORT" -U postgres "$@"
}

# Creates the benchmark role and database, loads pgbench -i -s SCALE, reads the SCRAM secret.
init_database() {
  pg_admin -d postgres -v pw="$BENCH_PASSWORD" >/dev/null <<'SQL'
CREATE ROLE bench LOGIN PASSWORD :'pw';
CREATE DATABASE bench OWNER bench;
SQL
  SCRAM_SECRET=$(pg_admin -d postgres -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'bench'")
  [[ $SCRAM_SECRET == SCRAM-SHA-256\$* ]] || die "could not read the SCRAM secret of role bench"
  say "loading pgbench -i -s $SCALE"
  PGPASSWORD=$BENCH_PASSWORD run_bounded 900 "$WORK/pgbench-init.log" "$PG_BIN/pgbench" -i -q \
    -s "$SCALE" -h 127.0.0.1 -p "$PG_PORT" -U "$BENCH_USER" "$BENCH_DB" ||
    die "pgbench -i failed; see $WORK/pgbench-init.log"
}

# True when PgBouncer's version ($1, e.g. 1.18.0) is at least 1.21 (prepared statements
# in transaction mode, max_prepared_statements).
bouncer_has_prepared() {
  [[ $(printf '%s\n1.21.0\n' "$1" | sort -V | head -n1) == 1.21.0 ]]
}

# Writes PgBouncer's ini and userlist: transaction mode, pool 20, SCRAM with the secret
# PostgreSQL stores (so that logins cost the proxy no PBKDF2, like pgmux).
write_bouncer_config() {
  local dir=$WORK/bouncer
  printf '"%s" "%s"\n' "$BENCH_USER" "$SCRAM_SECRET" >"$dir/userlist.txt"
  cat >"$dir/pgbouncer.ini" <<INI
[databases]
$BENCH_DB = host=127.0.0.1 port=$PG_PORT dbname=$BENCH_DB

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = $POOL_SIZE
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = $MAX_CLIENTS
listen_backlog = 4096
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
log_connections = 0
log_disconnections = 0
log_stats = 0
ignore_startup_parameters = extra_float_digits
INI
  if ((BOUNCER_PREPARED)); then echo "max_prepared_statements = 200" >>"$dir/pgbouncer.ini"; fi
  chown -R --reference="$dir" "$dir"
}

bouncer_pid() { cat "$WORK/bouncer/pgbouncer.pid" 2>/dev/null || true; }

# A command the proxies start under when set (measure_instructions: valgrind), and how
# long they may take to listen then.
PROXY_WRAP=()
PROXY_START_LIMIT=15

# Starts PgBouncer (daemonized, as the postgres user) on a free port. Under PROXY_WRAP
# it stays in the foreground, a background child of this script.
start_bouncer() {
  [[ -n $BOUNCER_PORT ]] || BOUNCER_PORT=$(free_port "$PG_PORT")
  write_bouncer_config
  rm -f "$WORK/bouncer/pgbouncer.pid"
  # runuser's PAM session resets the open-file limit; raise it again inside.
  # shellcheck disable=SC2016 # expanded by the inner sh
  local raise='ulimit -n "$1" && shift && exec "$@"'
  if ((${#PROXY_WRAP[@]})); then
    spawn as_pg sh -c "$raise" sh "$(ulimit -Sn)" "${PROXY_WRAP[@]}" pgbouncer -q \
      "$WORK/bouncer/pgbouncer.ini" >>"$WORK/bouncer/start.log" 2>&1
  else
    as_pg sh -c "$raise" sh "$(ulimit -Sn)" pgbouncer -d -q "$WORK/bouncer/pgbouncer.ini" \
      >>"$WORK/bouncer/start.log" 2>&1 || die "PgBouncer did not start; see $WORK/bouncer/pgbouncer.log"
  fi
  local i
  for ((i = 0; i < PROXY_START_LIMIT * 10; i++)); do
    [[ -s $WORK/bouncer/pgbouncer.pid ]] && break
    sleep 0.1
  done
  wait_port "$BOUNCER_PORT" "$PROXY_START_LIMIT" "$(bouncer_pid)" ||
    die "PgBouncer is not listening on $BOUNCER_PORT; see $WORK/bouncer/pgbouncer.log"
}

# Writes pgmux's YAML: transaction mode, pool 20, workers auto (BENCH_PGMUX_WORKERS),
# the same SCRAM secret.
write_pgmux_config() {
  cat >"$WORK/pgmux.yaml" <<YAML
# pgmux benchmark configuration (written by bench/run.sh)
listen: { host: 127.0.0.1, port: $PGMUX_PORT }
workers: ${BENCH_PGMUX_WORKERS:-auto}
log_level: warn          # no per-connection log lines (PgBouncer: log_connections = 0)
max_client_connections: $MAX_CLIENTS
pool_mode: transaction
pool_size: $POOL_SIZE
min_pool_size: 0
metrics: { listen: "127.0.0.1:$PGMUX_METRICS_PORT" }  # on, as in production
users:
  $BENCH_USER:
    auth: scram-sha-256
    password: "$SCRAM_SECRET"
    server_password: \${BENCH_PASSWORD}
databases:
  $BENCH_DB:
    host: 127.0.0.1
    port: $PG_PORT
    dbname: $BENCH_DB
YAML
}

# Starts pgmux on a free port; readiness is the port accepting connections.
start_pgmux() {
  [[ -n $PGMUX_PORT ]] || PGMUX_PORT=$(free_port "$PG_PORT" "$BOUNCER_PORT")
  [[ -n ${PGMUX_METRICS_PORT:-} ]] ||
    PGMUX_METRICS_PORT=$(free_port "$PG_PORT" "$BOUNCER_PORT" "$PGMUX_PORT")
  write_pgmux_config
  BENCH_PASSWORD=$BENCH_PASSWORD "$PGMUX_BIN" --check -c "$WORK/pgmux.yaml" >/dev/null ||
    die "pgmux rejected $WORK/pgmux.yaml"
  BENCH_PASSWORD=$BENCH_PASSWORD spawn "${PROXY_WRAP[@]}" "$PGMUX_BIN" -c "$WORK/pgmux.yaml" \
    >>"$WORK/pgmux.log" 2>&1
  PGMUX_PID=$BG_PID
  wait_port "$PGMUX_PORT" "$PROXY_START_LIMIT" "$PGMUX_PID" ||
    die "pgmux did not start; see $WORK/pgmux.log"
  sleep 0.3 # every worker's SO_REUSEPORT acceptor is bound before the first run
}

target_port() {
  case $1 in
    direct) echo "$PG_PORT" ;;
    pgbouncer) echo "$BOUNCER_PORT" ;;
    pgmux) echo "$PGMUX_PORT" ;;
  esac
}

target_pid() {
  case $1 in
    pgbouncer) bouncer_pid ;;
    pgmux) echo "$PGMUX_PID" ;;
  esac
}

# One query through target $1 as the benchmark user; fails loudly when it does not work.
check_target() {
  local out=$WORK/check.out
  PGPASSWORD=$BENCH_PASSWORD PGCONNECT_TIMEOUT=10 run_bounded 30 "$out" "$PG_BIN/psql" -X -At -w \
    -h 127.0.0.1 -p "$(target_port "$1")" -U "$BENCH_USER" -d "$BENCH_DB" \
    -c 'SELECT count(*) FROM pgbench_branches' ||
    die "query through $1 failed: $(cat "$out")"
  [[ $(cat "$out") == "$SCALE" ]] || die "query through $1 returned '$(cat "$out")', expected $SCALE"
}

# Restarts a proxy that died during the benchmark (its log tail goes to errors.log).
ensure_alive() {
  local target=$1 pid
  [[ $target == direct ]] && return 0
  pid=$(target_pid "$target")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && return 0
  warn "$target is not running; restarting it (see $RESULTS/errors.log)"
  {
    echo "== $(date -Is) $target died; last log lines:"
    if [[ $target == pgmux ]]; then tail -n 30 "$WORK/pgmux.log"; else
      tail -n 30 "$WORK/bouncer/pgbouncer.log"; fi
  } >>"$RESULTS/errors.log" 2>&1
  if [[ $target == pgmux ]]; then
    if [[ -n $PGMUX_PID ]]; then reap "$PGMUX_PID" 2>/dev/null || true; fi
    start_pgmux
  else
    start_bouncer
  fi
}

# Stops pgmux, PgBouncer and PostgreSQL (whatever was started), keeps their logs.
stop_services() {
  [[ -n $PGMUX_PID ]] && stop_process "$PGMUX_PID" "$(pgmux_comm)" TERM 15
  PGMUX_PID=""
  [[ -n ${WORK:-} ]] || return 0
  stop_process "$(bouncer_pid)" pgbouncer TERM 10
  if [[ -f $PGDATA/postmaster.pid ]]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  mkdir -p "$RESULTS/logs"
  cp -f "$WORK/pgmux.log" "$WORK/bouncer/pgbouncer.log" "$WORK/pg/postgres.log" \
    "$RESULTS/logs/" 2>/dev/null || true
}
