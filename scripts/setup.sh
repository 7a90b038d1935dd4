#!/usr/bin/env bash
# Installs the system tools that tests and benchmarks use, when missing and
# when we may (root with apt-get). Every later phase adds its tools here, so
# that a fresh machine needs nothing installed by hand.
#   need: tests use them. Under CI=true a missing one fails (here, and in
#         the test that needs it); elsewhere those tests are skipped and
#         print the install command, so this script reports and goes on.
#   want: only benchmarks use them; a failed install is reported, not fatal.
# `pnpm test` runs this first, so the README's one command on a fresh
# machine (as root, with apt-get) installs what the tests need.
set -euo pipefail
ci=false
case "${CI:-}" in '' | 0 | false) ;; *) ci=true ;; esac
need=()
want=()
# redis-cli and redis-benchmark: real Redis clients in the net tests (phase 3).
{ command -v redis-cli && command -v redis-benchmark; } >/dev/null || need+=(redis-tools)
# redis-server: the net tests compare distkv's replies with a real one (redis-compare.test.ts), and
# `pnpm bench core` and `pnpm bench net` compare with it.
command -v redis-server >/dev/null || need+=(redis-server)
# etcd and etcdctl: the peer that `pnpm bench cluster` runs beside distkv (a 3-member etcd, same load).
command -v etcd >/dev/null || want+=(etcd-server)
command -v etcdctl >/dev/null || want+=(etcd-client)
# script(1) (util-linux, Debian's bsdutils): the REPL tests and the doc tests drive REPLs through a real pseudo-terminal.
command -v script >/dev/null || need+=(bsdutils)
# openssl: the security tests make their CA and certificates with it at test time (docs/security.md).
command -v openssl >/dev/null || need+=(openssl)
# chromium: the dashboard's browser test (phase 6) drives Debian's Chromium with
# playwright-core at /usr/bin/chromium; playwright never downloads a browser.
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -eq 0 ] && [ ${#want[@]} -eq 0 ]; then
  echo "setup: system tools present"
  exit 0
fi
# Without root and apt-get, say what to install; only CI must stop here.
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "setup: missing ${need[*]} ${want[*]}; install them with: apt-get install ${need[*]} ${want[*]}" >&2
  if [ ${#need[@]} -gt 0 ]; then
    $ci && exit 1
    echo "setup: the tests that need ${need[*]} will be skipped" >&2
  fi
  exit 0
fi
# Refresh the package lists only when apt cannot find what we need (a fresh
# image has none): a machine that already has them installs without a network round.
for pkg in "${need[@]}" "${want[@]}"; do
  if ! apt-cache show "$pkg" >/dev/null 2>&1; then
    apt-get update -qq || echo "setup: apt-get update failed" >&2
    break
  fi
done
if [ ${#need[@]} -gt 0 ]; then
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; then
    echo "setup: installed ${need[*]}"
  else
    echo "setup: could not install ${need[*]}; the tests that need them will be skipped (or fail under CI)" >&2
    $ci && exit 1
  fi
fi
if [ ${#want[@]} -gt 0 ]; then
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null; then
    echo "setup: installed ${want[*]}"
  else
    echo "setup: could not install ${want[*]} (only benchmarks use it)" >&2
  fi
fi
