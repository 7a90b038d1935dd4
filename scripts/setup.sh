#!/usr/bin/env bash
# Installs the system tools that tests and benchmarks use, when missing and
# when we may (root with apt-get). Every later phase adds its tools here, so
# that a fresh machine needs nothing installed by hand.
set -euo pipefail
need=()
# redis-cli and redis-benchmark: real Redis clients in the net tests (phase 3);
# redis-server: the peer that `pnpm bench core` and `pnpm bench net` compare with.
{ command -v redis-cli && command -v redis-benchmark; } >/dev/null || need+=(redis-tools)
command -v redis-server >/dev/null || need+=(redis-server)
if [ ${#need[@]} -eq 0 ]; then
  echo "setup: system tools present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "setup: missing ${need[*]}; install them with your package manager" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
echo "setup: installed ${need[*]}"
