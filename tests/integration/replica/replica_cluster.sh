#!/usr/bin/env bash
# Starts and stops the throw-away PostgreSQL 15 primary + streaming replica the routing tests use.
#   replica_cluster.sh start DIR   wipe a stale DIR; initdb a primary, create roles/databases/tables,
#                                  pg_basebackup -R -X stream a replica, start it, wait until streaming
#   replica_cluster.sh stop DIR    fast shutdown of the replica, then the primary (data kept until next start)
#   replica_cluster.sh status DIR  ports and pg_stat_replication as the primary sees it
# Layout of DIR: primary/ and replica/, each with data/ (PGDATA), port (TCP port on 127.0.0.1),
# the unix socket and server.log; .pgmux_test_replica_cluster (marker).
# Run as root (server commands then run as `postgres`) or as any other user. Every wait is bounded.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
MARKER=.pgmux_test_replica_cluster
REPLICA_NAME=pgmux_replica   # application_name of the replica's WAL receiver

# Roles the tests log in as (same as pg_cluster.sh; see harness.hpp).
SCRAM_USER=pgmux_scram SCRAM_PASSWORD=scram_pw
MD5_USER=pgmux_md5 MD5_PASSWORD=md5_pw
DATABASE=pgmux_repl

die() { echo "replica_cluster.sh: $*" >&2; exit 1; }
say() { echo "replica_cluster.sh: $*"; }
# shellcheck source=../cluster_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cluster_lib.sh"


# Stops servers left in DIR by an earlier run and removes DIR (only if it is ours).
wipe_stale() {
  local dir=$1 node
  [[ -e $dir ]] || return 0
  if [[ -n $(ls -A "$dir" 2>/dev/null) && ! -e $dir/$MARKER ]]; then
    die "$dir exists, is not empty and is not a replica test cluster; refusing to wipe it"
  fi
  for node in replica primary; do
    if [[ -f $dir/$node/data/postmaster.pid ]]; then
      as_owner "$PGBIN/pg_ctl" -D "$dir/$node/data" stop -m immediate -w -t 30 >/dev/null 2>&1 || true
    fi
  done
  rm -rf "$dir"
}

make_dirs() {
  local dir=$1
  mkdir -p "$dir/primary" "$dir/replica"
  touch "$dir/$MARKER"
  if [[ $(id -u) -eq 0 ]]; then chown -R postgres:postgres "$dir"; fi
  chmod 700 "$dir" "$dir/primary" "$dir/replica"
  as_owner test -w "$dir/replica" || die "the postgres user cannot write to $dir (check the parent directories' permissions)"
  # The unix socket path (DIR/replica/.s.PGSQL.NNNNN) must fit in sun_path (107 bytes).
  (( ${#dir} + 26 < 108 )) || die "$dir is too long for a unix socket directory"
}

write_primary_config() {
  local dir=$1
  cat >>"$dir/primary/data/postgresql.conf" <<EOF

# pgmux routing tests: primary
listen_addresses = '127.0.0.1'
port = 0
unix_socket_directories = '$dir/primary'
max_connections = 200
fsync = off
password_encryption = 'scram-sha-256'
logging_collector = off
log_min_messages = warning
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = '512MB'
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = 1s
EOF
  cat >"$dir/primary/data/pg_hba.conf" <<EOF
# TYPE  DATABASE     USER      ADDRESS       METHOD
local   all          all                     trust
local   replication  all                     trust
host    replication  postgres  127.0.0.1/32  trust
host    all          all       127.0.0.1/32  md5
EOF
}

# Starts the server of NODE (primary|replica) on a free port, retrying when the port was taken.
start_node() {
  local dir=$1 node=$2 port attempt conf=$1/$2/data/postgresql.conf
  for attempt in 1 2 3 4 5; do
    port=$(pick_port)
    sed -i "s/^port = .*/port = $port/" "$conf"
    if as_owner "$PGBIN/pg_ctl" -D "$dir/$node/data" -l "$dir/$node/server.log" -w -t 60 start >/dev/null; then
      echo "$port" >"$dir/$node/port"
      return 0
    fi
    echo "replica_cluster.sh: $node start on port $port failed (attempt $attempt):" >&2
    tail -n 5 "$dir/$node/server.log" >&2 || true
  done
  die "could not start the $node"
}

psql_on() {  # psql_on NODE_DIR DB  (SQL on stdin, output on stdout, one unaligned value per line)
  "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$1" -p "$(cat "$1/port")" -U postgres -d "$2"
}

create_objects() {
  local p=$1/primary
  psql_on "$p" postgres >/dev/null <<EOF
SET password_encryption = 'scram-sha-256';
CREATE ROLE $SCRAM_USER LOGIN PASSWORD '$SCRAM_PASSWORD';
SET password_encryption = 'md5';
CREATE ROLE $MD5_USER LOGIN PASSWORD '$MD5_PASSWORD';
CREATE DATABASE $DATABASE OWNER $SCRAM_USER;
EOF
  psql_on "$p" "$DATABASE" >/dev/null <<EOF
SET ROLE $SCRAM_USER;
CREATE TABLE items (id bigserial PRIMARY KEY, tag text NOT NULL, v int NOT NULL DEFAULT 0);
INSERT INTO items (tag, v) SELECT 'seed', g FROM generate_series(1, 100) g;
CREATE SEQUENCE s;
CREATE TABLE ticks (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());
GRANT USAGE ON SCHEMA public TO $MD5_USER;
GRANT SELECT, INSERT, UPDATE, DELETE ON items, ticks TO $MD5_USER;
GRANT USAGE ON SEQUENCE items_id_seq, ticks_id_seq, s TO $MD5_USER;
EOF
  "$PGBIN/pgbench" -q -i -s 1 -h "$p" -p "$(cat "$p/port")" -U "$SCRAM_USER" "$DATABASE" \
    >"$1/pgbench_init.log" 2>&1 || { cat "$1/pgbench_init.log" >&2; die "pgbench -i failed"; }
  psql_on "$p" postgres >/dev/null <<<"CHECKPOINT;"
}

make_replica() {
  local dir=$1 pport
  pport=$(cat "$dir/primary/port")
  as_owner "$PGBIN/pg_basebackup" -D "$dir/replica/data" -R -X stream -c fast --no-sync \
    -d "host=127.0.0.1 port=$pport user=postgres application_name=$REPLICA_NAME" \
    >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; die "pg_basebackup failed"; }
  [[ -f $dir/replica/data/standby.signal ]] || die "pg_basebackup -R wrote no standby.signal"
  grep -q "application_name=$REPLICA_NAME" "$dir/replica/data/postgresql.auto.conf" ||
    echo "primary_conninfo = 'host=127.0.0.1 port=$pport user=postgres application_name=$REPLICA_NAME'" \
      >>"$dir/replica/data/postgresql.auto.conf"
  rm -f "$dir/replica/data/postmaster.pid" "$dir/replica/data/postmaster.opts"
  cat >>"$dir/replica/data/postgresql.conf" <<EOF

# pgmux routing tests: replica (overrides the primary's lines above)
port = 0
unix_socket_directories = '$dir/replica'
EOF
}

# Polls SQL on NODE until it prints `want`, for at most `secs` seconds.
poll_value() {
  local node_dir=$1 db=$2 sql=$3 want=$4 secs=$5 i got=""
  for (( i = 0; i < secs * 10; i++ )); do
    got=$(psql_on "$node_dir" "$db" <<<"$sql" 2>/dev/null || true)
    [[ $got == "$want" ]] && return 0
    sleep 0.1
  done
  echo "replica_cluster.sh: waited ${secs}s for [$sql] = $want; last answer: [$got]" >&2
  return 1
}

wait_streaming() {
  local dir=$1 lsn
  poll_value "$dir/primary" postgres \
    "SELECT count(*) FROM pg_stat_replication WHERE application_name = '$REPLICA_NAME' AND state = 'streaming'" \
    1 60 || { tail -n 20 "$dir/replica/server.log" >&2; die "the replica is not streaming"; }
  poll_value "$dir/replica" postgres "SELECT pg_is_in_recovery()" t 30 || die "the replica is not in recovery"
  lsn=$(psql_on "$dir/primary" postgres <<<"SELECT pg_current_wal_lsn()")
  poll_value "$dir/replica" postgres "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn" t 60 ||
    die "the replica did not replay up to $lsn"
}

cmd_start() {
  local dir=$1
  [[ -x $PGBIN/initdb && -x $PGBIN/pg_basebackup ]] || die "$PGBIN/initdb or pg_basebackup not found (install postgresql-15)"
  wipe_stale "$dir"
  make_dirs "$dir"
  as_owner "$PGBIN/initdb" -D "$dir/primary/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  write_primary_config "$dir"
  start_node "$dir" primary
  wait_ready "$dir/primary" "$(cat "$dir/primary/port")"
  create_objects "$dir"
  make_replica "$dir"
  start_node "$dir" replica
  wait_ready "$dir/replica" "$(cat "$dir/replica/port")"
  wait_streaming "$dir"
  say "primary 127.0.0.1:$(cat "$dir/primary/port"), streaming replica 127.0.0.1:$(cat "$dir/replica/port") ready in $dir"
}

cmd_stop() {
  local dir=$1 node
  for node in replica primary; do
    if [[ -f $dir/$node/data/postmaster.pid ]]; then
      as_owner "$PGBIN/pg_ctl" -D "$dir/$node/data" stop -m fast -w -t 60 >/dev/null
      say "stopped the $node in $dir"
    else
      say "no running $node in $dir"
    fi
  done
}

cmd_status() {
  local dir=$1
  say "primary port $(cat "$dir/primary/port" 2>/dev/null || echo '?'), replica port $(cat "$dir/replica/port" 2>/dev/null || echo '?')"
  psql_on "$dir/primary" postgres <<<"SELECT application_name, state, sent_lsn, replay_lsn FROM pg_stat_replication"
}

[[ $# -eq 2 ]] || die "usage: replica_cluster.sh start|stop|status DIR"
dir=$(realpath -m "$2")
case $1 in
  start) cmd_start "$dir" ;;
  stop) cmd_stop "$dir" ;;
  status) cmd_status "$dir" ;;
  *) die "usage: replica_cluster.sh start|stop|status DIR" ;;
esac
