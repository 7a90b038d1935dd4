#!/usr/bin/env bash
# Installs the system tools that tests and benchmarks use, when missing and
# when we may (root with apt-get). Every later phase adds its tools here, so
# that a fresh machine needs nothing installed by hand.
#   need: the tests fail without them, so failing to install them fails CI.
#   want: only benchmarks use them; a failed install is reported, not fatal.
set -euo pipefail
need=()
want=()
# redis-cli and redis-benchmark: real Redis clients in the net tests (phase 3).
{ command -v redis-cli && command -v redis-benchmark; } >/dev/null || need+=(redis-tools)
# redis-server: the peer that `pnpm bench core` and `pnpm bench net` compare with.
command -v redis-server >/dev/null || want+=(redis-server)
# openssl: the security tests make their CA and certificates with it at test time (docs/security.md).
command -v openssl >/dev/null || need+=(openssl)
# chromium: the dashboard's browser test (phase 6) drives Debian's Chromium with
# playwright-core at /usr/bin/chromium; playwright never downloads a browser.
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -eq 0 ] && [ ${#want[@]} -eq 0 ]; then
  echo "setup: system tools present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "setup: missing ${need[*]} ${want[*]}; install them with your package manager" >&2
  [ ${#need[@]} -eq 0 ] && exit 0
  exit 1
fi
# Refresh the package lists only when apt cannot find what we need (a fresh
# image has none): a machine that already has them installs without a network round.
for pkg in "${need[@]}" "${want[@]}"; do
  if ! apt-cache show "$pkg" >/dev/null 2>&1; then
    apt-get update -qq
    break
  fi
done
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  echo "setup: installed ${need[*]}"
fi
if [ ${#want[@]} -gt 0 ]; then
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null; then
    echo "setup: installed ${want[*]}"
  else
    echo "setup: could not install ${want[*]} (only benchmarks use it)" >&2
  fi
fi
