#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager and kube-scheduler from the modules pinned in
# go.mod/go.sum into ${XDG_CACHE_HOME:-~/.cache}/kcrash/controlplane/<kubernetes version>/.
# A stamp keyed on the pinned sources makes a second run free; without Go it says so and succeeds,
# so `make` stays usable on machines that only have Python.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

need_major=1
need_minor="$(sed -n 's/^go \([0-9]*\)\.\([0-9]*\).*/\2/p' go.mod)"
need="${need_major}.${need_minor}"

if ! command -v go >/dev/null 2>&1; then
	echo "controlplane: skipped, Go is not installed (needs Go ≥ ${need})"
	exit 0
fi
have="$(go env GOVERSION | sed -n 's/^go\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')"
read -r have_major have_minor <<<"${have:-0 0}"
if ((have_major < need_major || (have_major == need_major && have_minor < need_minor))); then
	echo "controlplane: skipped, $(go env GOVERSION) is too old (needs Go ≥ ${need})"
	exit 0
fi

k8s_version="$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' go.mod)"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}"
out="${cache_root}/kcrash/controlplane/${k8s_version}"
stamp="${out}/.stamp"
sha256() { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi; }
key="$(cat go.mod go.sum build.sh cmd/*/main.go | sha256 | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
	echo "controlplane: ${k8s_version} up to date in ${out}"
	exit 0
fi

# The version a release build stamps into the binaries: /version and kubectl's skew check read it,
# and the apiserver derives its default emulation version from it.
minor="$(echo "$k8s_version" | cut -d. -f2)"
vars=""
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
	vars+=" -X ${pkg}.gitVersion=${k8s_version} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
	vars+=" -X ${pkg}.gitTreeState=clean"
done

mkdir -p "$(dirname "$out")"
staging="$(mktemp -d "${out}.partial.XXXXXX")" # two builds at once do not share a half-built directory
trap 'rm -rf "$staging"' EXIT
echo "controlplane: building ${k8s_version} into ${out} (several minutes the first time)"
start=$SECONDS
# -mod=readonly: the build never edits go.mod/go.sum; GOTOOLCHAIN=local: never fetch another Go;
# -buildvcs=false: the binaries do not depend on the state of the clone around them.
GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local CGO_ENABLED=0 \
	go build -trimpath -ldflags="-s -w${vars}" -o "$staging/" ./cmd/...
echo "$key" >"$staging/.stamp"
rm -rf "$out"
mv "$staging" "$out"
echo "controlplane: built ${k8s_version} in $((SECONDS - start)) s: $(du -sh "$out" | cut -f1) in ${out}"
