#!/usr/bin/env bash
# Installs the Debian packages pgmux needs to build, test and run its demo.
# Idempotent: when every package is present it only asks dpkg and never touches apt.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libssl-dev libpq-dev libyaml-cpp-dev libspdlog-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql-15 postgresql-client-15
  prometheus python3 openssl
)

# Prints the packages of the list that are not installed, one per line.
missing_packages() {
  local installed
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${packages[@]}" 2>/dev/null \
    | awk '$2 == "ii" { print $1 }' || true)
  local p
  for p in "${packages[@]}"; do
    grep -qxF "$p" <<<"$installed" || echo "$p"
  done
}

# Debian's postgresql-15 creates and starts a "main" cluster on port 5432. pgmux's tests and
# demo run their own clusters, so a cluster that was started by this very install is stopped.
stop_default_cluster() {
  if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql/15/main ]]; then
    pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
  fi
}

main() {
  if ! command -v dpkg-query >/dev/null; then
    echo "install-deps: dpkg-query not found; this script supports Debian 12 only." >&2
    echo "install-deps: install the equivalent of: ${packages[*]}" >&2
    exit 1
  fi
  local missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages present"
    return 0
  fi
  if ((EUID != 0)); then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run 'sudo $0' (or install them as root) and try again." >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  local pg_was_missing=0
  [[ " ${missing[*]} " == *" postgresql-15 "* ]] && pg_was_missing=1
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -q "${missing[@]}"
  ((pg_was_missing)) && stop_default_cluster
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} != 0)); then
    echo "install-deps: still missing after apt-get install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: done"
}

main "$@"
