#!/usr/bin/env bash
# Starts and stops the throw-away PostgreSQL 15 cluster the integration tests run against.
#   pg_cluster.sh start DIR   wipe a stale DIR, initdb, start on a free 127.0.0.1 port, create roles/databases
#   pg_cluster.sh stop DIR    fast shutdown (the data stays for inspection until the next start)
# Layout of DIR: data/ (PGDATA), port (the TCP port), the unix socket, server.log, .pgmux_test_cluster (marker).
# Needs only Debian's postgresql-15. Run as root (server commands then run as `postgres`) or as any other user.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
MARKER=.pgmux_test_cluster

# Roles and databases the tests rely on (see harness.hpp).
SCRAM_USER=pgmux_scram SCRAM_PASSWORD=scram_pw
MD5_USER=pgmux_md5 MD5_PASSWORD=md5_pw
# One database per test that counts backends or looks for `idle in transaction`, so tests running
# in parallel do not disturb each other's counts; pgmux_copy/blob/cancel/params hold the tables and
# schema of the COPY, large-value, cancel and session-parameter tests.
TEST_DATABASES=(pgmux_test pgmux_load pgmux_kill_tx pgmux_kill_session pgmux_copy pgmux_blob pgmux_cancel
                pgmux_params pgmux_admin pgmux_pause pgmux_metrics pgmux_keep
                pgmux_keep_idle pgmux_keep_leave pgmux_keep_dead pgmux_tls)

die() { echo "pg_cluster.sh: $*" >&2; exit 1; }
# shellcheck source=cluster_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"

# Stops a cluster left in DIR by an earlier run and removes DIR (only if it is ours).
wipe_stale() {
  local dir=$1
  [[ -e $dir ]] || return 0
  if [[ -n $(ls -A "$dir" 2>/dev/null) && ! -e $dir/$MARKER ]]; then
    die "$dir exists, is not empty and is not a test cluster; refusing to wipe it"
  fi
  if [[ -f $dir/data/postmaster.pid ]]; then
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" stop -m immediate -w -t 30 >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

make_dir() {
  local dir=$1
  mkdir -p "$dir"
  touch "$dir/$MARKER"
  if [[ $(id -u) -eq 0 ]]; then chown -R postgres:postgres "$dir"; fi
  chmod 700 "$dir"
  as_owner test -w "$dir" || die "the postgres user cannot write to $dir (check the parent directories' permissions)"
  # The unix socket path must fit in sun_path (107 bytes).
  (( ${#dir} + 17 < 108 )) || die "$dir is too long for a unix socket directory"
}

# A test CA (tls/ca.crt) and the server's certificate for 127.0.0.1, signed by it, for
# pgmux's server_tls tests.
make_certs() {
  local dir=$1 tls=$1/tls
  as_owner mkdir -p "$tls"
  as_owner openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj /CN=pgmux-test-ca -keyout "$tls/ca.key" -out "$tls/ca.crt" >"$dir/certs.log" 2>&1 &&
    as_owner openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj /CN=127.0.0.1 -keyout "$tls/server.key" -out "$tls/server.csr" >>"$dir/certs.log" 2>&1 &&
    printf 'subjectAltName=IP:127.0.0.1\n' | as_owner tee "$tls/san.ext" >/dev/null &&
    as_owner openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" \
      -CAcreateserial -days 30 -extfile "$tls/san.ext" -out "$tls/server.crt" >>"$dir/certs.log" 2>&1 ||
    { cat "$dir/certs.log" >&2; die "making the test certificates failed"; }
  as_owner chmod 600 "$tls/server.key"
}

write_config() {
  local dir=$1 port=$2
  cat >>"$dir/data/postgresql.conf" <<EOF

# pgmux integration tests
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = 'scram-sha-256'
logging_collector = off
log_min_messages = warning
log_connections = on
log_disconnections = on
ssl = on
ssl_cert_file = '$dir/tls/server.crt'
ssl_key_file = '$dir/tls/server.key'
EOF
  # pgmux_tls takes TLS connections only (pgmux's server_tls tests).
  cat >"$dir/data/pg_hba.conf" <<EOF
# TYPE     DATABASE   USER  ADDRESS       METHOD
local      all        all                 trust
hostnossl  pgmux_tls  all   127.0.0.1/32  reject
host       all        all   127.0.0.1/32  md5
EOF
}

# Starts the server; retries on another port when the chosen one was taken meanwhile.
start_server() {
  local dir=$1 port attempt
  for attempt in 1 2 3 4 5; do
    port=$(pick_port)
    sed -i "s/^port = .*/port = $port/" "$dir/data/postgresql.conf"
    if as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null; then
      echo "$port" >"$dir/port"
      return 0
    fi
    echo "pg_cluster.sh: start on port $port failed (attempt $attempt):" >&2
    tail -n 5 "$dir/server.log" >&2 || true
  done
  die "could not start PostgreSQL"
}

psql_super() {  # psql_super DIR PORT DB  (SQL on stdin)
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$1" -p "$2" -U postgres -d "$3" >/dev/null
}

create_objects() {
  local dir=$1 port=$2 db
  psql_super "$dir" "$port" postgres <<EOF
SET password_encryption = 'scram-sha-256';
CREATE ROLE $SCRAM_USER LOGIN PASSWORD '$SCRAM_PASSWORD';
SET password_encryption = 'md5';
CREATE ROLE $MD5_USER LOGIN PASSWORD '$MD5_PASSWORD';
CREATE DATABASE pgbench_db OWNER $SCRAM_USER;
EOF
  for db in "${TEST_DATABASES[@]}"; do
    echo "CREATE DATABASE $db OWNER $SCRAM_USER;" | psql_super "$dir" "$port" postgres
  done
  psql_super "$dir" "$port" pgmux_test <<EOF
SET ROLE $SCRAM_USER;
CREATE TABLE items (id serial PRIMARY KEY, tag text NOT NULL, v int NOT NULL DEFAULT 0);
GRANT USAGE ON SCHEMA public TO $MD5_USER;
GRANT SELECT, INSERT, UPDATE, DELETE ON items TO $MD5_USER;
GRANT USAGE ON SEQUENCE items_id_seq TO $MD5_USER;
EOF
  psql_super "$dir" "$port" pgmux_load <<EOF
SET ROLE $SCRAM_USER;
CREATE TABLE load_log (client int NOT NULL, seq int NOT NULL, PRIMARY KEY (client, seq));
EOF
  for db in pgmux_kill_tx pgmux_kill_session; do
    psql_super "$dir" "$port" "$db" <<EOF
SET ROLE $SCRAM_USER;
CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO t VALUES (1, 0), (2, 0);
EOF
  done
  psql_super "$dir" "$port" pgmux_copy <<EOF
SET ROLE $SCRAM_USER;
CREATE TABLE copy_rows (i int NOT NULL, t text NOT NULL);
CREATE TABLE copy_fail_rows (i int NOT NULL, t text NOT NULL);
INSERT INTO copy_fail_rows SELECT g, md5(g::text) FROM generate_series(1, 10) g;
EOF
  psql_super "$dir" "$port" pgmux_blob <<EOF
SET ROLE $SCRAM_USER;
CREATE TABLE blobs (id int PRIMARY KEY, b bytea NOT NULL);
ALTER TABLE blobs ALTER COLUMN b SET STORAGE EXTERNAL;
EOF
  psql_super "$dir" "$port" pgmux_params <<EOF
CREATE SCHEMA itest_schema AUTHORIZATION $SCRAM_USER;
EOF
  "$PGBIN/pgbench" -q -i -s 1 -h "$dir" -p "$port" -U "$SCRAM_USER" pgbench_db >"$dir/pgbench_init.log" 2>&1 ||
    { cat "$dir/pgbench_init.log" >&2; die "pgbench -i failed"; }
}

cmd_start() {
  local dir=$1 port
  [[ -x $PGBIN/initdb ]] || die "$PGBIN/initdb not found (install postgresql-15)"
  wipe_stale "$dir"
  make_dir "$dir"
  as_owner "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  make_certs "$dir"
  write_config "$dir" 0
  start_server "$dir"
  port=$(cat "$dir/port")
  wait_ready "$dir" "$port"
  create_objects "$dir" "$port"
  echo "pg_cluster.sh: PostgreSQL $("$PGBIN/postgres" -V | awk '{print $3}') ready in $dir on 127.0.0.1:$port"
}

cmd_stop() {
  local dir=$1
  if [[ -f $dir/data/postmaster.pid ]]; then
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" stop -m fast -w -t 60 >/dev/null
    echo "pg_cluster.sh: stopped $dir"
  else
    echo "pg_cluster.sh: no running cluster in $dir"
  fi
}

[[ $# -eq 2 ]] || die "usage: pg_cluster.sh start|stop DIR"
dir=$(realpath -m "$2")
case $1 in
  start) cmd_start "$dir" ;;
  stop) cmd_stop "$dir" ;;
  *) die "usage: pg_cluster.sh start|stop DIR" ;;
esac
