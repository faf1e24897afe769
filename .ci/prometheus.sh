#!/usr/bin/env bash
# Installs Debian's `prometheus` package (prometheus and promtool) unless both are already on PATH.
# Where that cannot be done it says so in one line and succeeds: the tests marked `prometheus` are
# then skipped, and everything else runs.
set -uo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
	exit 0
fi
skip() {
	echo "prometheus: skipped, $1; the prometheus tests will be skipped"
	exit 0
}
command -v apt-get >/dev/null 2>&1 || skip "apt-get is not available (install prometheus and promtool by hand)"
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || skip "installing needs root (apt-get install prometheus)"
	as_root=(sudo -n)
else
	as_root=()
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# The package's service is not wanted: only the binaries (policy-rc.d keeps it from starting).
export DEBIAN_FRONTEND=noninteractive RUNLEVEL=1
if ! "${as_root[@]}" apt-get install -y --no-install-recommends prometheus >"$log" 2>&1; then
	"${as_root[@]}" apt-get update >>"$log" 2>&1
	"${as_root[@]}" apt-get install -y --no-install-recommends prometheus >>"$log" 2>&1 ||
		skip "apt-get install prometheus failed: $(tail -n 1 "$log")"
fi
command -v promtool >/dev/null 2>&1 || skip "the prometheus package brought no promtool"
echo "prometheus: $(prometheus --version 2>&1 | head -n 1)"
