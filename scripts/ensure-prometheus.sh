#!/usr/bin/env bash
# Installs Debian's prometheus and prometheus-alertmanager when their binaries are missing and
# this machine allows it (root or password-less sudo, apt-get present). Never fails the caller:
# without the binaries, tests that need them skip (or fail under REQUIRE_PROMETHEUS=1).
set -u
missing=()
for tool in prometheus promtool amtool; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
# Debian names the Alertmanager binary prometheus-alertmanager.
command -v alertmanager >/dev/null 2>&1 || command -v prometheus-alertmanager >/dev/null 2>&1 ||
  missing+=(alertmanager)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-prometheus: missing ${missing[*]} and no apt-get; install prometheus and alertmanager by hand" >&2
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "ensure-prometheus: missing ${missing[*]}; run: sudo apt-get install prometheus prometheus-alertmanager" >&2
  exit 0
fi
echo "ensure-prometheus: installing prometheus and prometheus-alertmanager (missing: ${missing[*]})" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >/dev/null &&
  "${sudo[@]}" apt-get install -y -q --no-install-recommends prometheus prometheus-alertmanager >/dev/null ||
  echo "ensure-prometheus: apt-get failed; the tests that need Prometheus will skip or fail" >&2
# The packages' own services are not used: tests start their own servers on loopback.
if command -v systemctl >/dev/null 2>&1; then
  for service in prometheus prometheus-alertmanager prometheus-node-exporter; do
    "${sudo[@]}" systemctl stop "$service" >/dev/null 2>&1 || true
  done
fi
exit 0
