# Shell functions shared by the test cluster scripts (pg_cluster.sh, replica/replica_cluster.sh).
# Source it after defining die() and PGBIN. Needs only bash and Debian's postgresql-15.

# Runs a command as the cluster owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# True when TCP port $1 is bound locally in any state (v4 or v6), from /proc/net/tcp{,6}: a port an
# outgoing connection holds cannot be listened on either.
port_in_use() {
  local hex
  hex=$(printf '%04X' "$1")
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p=":$hex" '$2 ~ p"$" {f=1} END {exit !f}'
}

# Prints a TCP port on which nothing is bound.
pick_port() {
  local port tries=0
  while (( tries++ < 200 )); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 30000 ))
    if ! port_in_use "$port"; then echo "$port"; return 0; fi
  done
  die "no free TCP port found"
}

# Waits (up to 30 s) until the server answers on its unix socket directory $1 and on 127.0.0.1, port $2.
wait_ready() {
  local sock=$1 port=$2 i
  for i in $(seq 1 300); do
    if "$PGBIN/pg_isready" -q -h "$sock" -p "$port" && "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port"; then
      return 0
    fi
    sleep 0.1
  done
  die "PostgreSQL did not become ready on port $port"
}
