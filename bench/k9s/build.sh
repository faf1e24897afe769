#!/usr/bin/env bash
# Builds k9s from the release pinned in go.mod/go.sum into ${XDG_CACHE_HOME:-~/.cache}/kcrash/k9s/<version>/,
# for the bench to measure beside kcrash. A stamp keyed on the pins makes a second run free. Where Go is
# missing or the build fails it prints one line and succeeds: the bench then measures kcrash alone.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

need="$(sed -n 's/^go \([0-9]*\.[0-9]*\).*/\1/p' go.mod)"
if ! command -v go >/dev/null 2>&1; then
	echo "k9s: skipped, Go is not installed (needs Go ≥ ${need}); the bench measures kcrash alone"
	exit 0
fi
have="$(go env GOVERSION | sed -n 's/^go\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')"
read -r have_major have_minor <<<"${have:-0 0}"
if ((have_major < ${need%%.*} || (have_major == ${need%%.*} && have_minor < ${need#*.}))); then
	echo "k9s: skipped, $(go env GOVERSION) is too old (needs Go ≥ ${need}); the bench measures kcrash alone"
	exit 0
fi

version="$(awk '$1 == "github.com/derailed/k9s" { print $2; exit }' go.mod)"
out="${XDG_CACHE_HOME:-$HOME/.cache}/kcrash/k9s/${version}"
stamp="${out}/.stamp"
sha256() { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi; }
key="$(cat go.mod go.sum build.sh | sha256 | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$key" && -x "${out}/k9s" ]]; then
	echo "k9s: ${version} up to date in ${out}"
	exit 0
fi

mkdir -p "$(dirname "$out")"
staging="$(mktemp -d "${out}.partial.XXXXXX")" # two builds at once do not share a half-built directory
trap 'rm -rf "$staging"' EXIT
echo "k9s: building ${version} into ${out} (a few minutes the first time)"
start=$SECONDS
log="${staging}/build.log"
# As k9s's own release build: its version stamped into the binary, symbols stripped. -mod=readonly:
# the build never edits go.mod/go.sum; GOTOOLCHAIN=local: never fetch another Go.
if ! GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local CGO_ENABLED=0 \
	go build -trimpath -ldflags="-s -w -X github.com/derailed/k9s/cmd.version=${version#v}" \
	-o "${staging}/k9s" github.com/derailed/k9s >"$log" 2>&1; then
	echo "k9s: skipped, go build of ${version} failed: $(grep -m1 -v -e '^go: downloading' -e '^#' "$log" || echo 'no output')"
	exit 0
fi
rm -f "$log"
echo "$key" >"$staging/.stamp"
rm -rf "$out"
mv "$staging" "$out"
echo "k9s: built ${version} in $((SECONDS - start)) s: $(du -h "${out}/k9s" | cut -f1) in ${out}"
