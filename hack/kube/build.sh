#!/usr/bin/env bash
# build.sh builds the Kubernetes control plane that weft's Kubernetes tests run against
# (etcd, kube-apiserver, kube-controller-manager) from the Go module proxy, into a cache
# directory, and prints that directory. It does nothing when the binaries there were
# built from the same go.mod, go.sum and Go version.
#
#   hack/kube/build.sh            build (about 10 minutes cold on 2 cores, seconds warm)
#   hack/kube/build.sh -print     print the directory only
#
# The directory is $WEFT_KUBE_BINARIES if set, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/weft/kube/k8s-<version>-etcd-<version>/bin, which is
# where internal/kubetest looks when WEFT_KUBE_BINARIES is not set.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

k8s=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$here/go.mod")
etcd=$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ {print $2; exit}' "$here/go.mod")
bin="${WEFT_KUBE_BINARIES:-${XDG_CACHE_HOME:-$HOME/.cache}/weft/kube/k8s-$k8s-etcd-$etcd/bin}"
if [[ "${1:-}" == "-print" ]]; then
	echo "$bin"
	exit 0
fi

# Our own module only: no workspace, no vendor directory, no flags from the caller.
export GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0
stamp="$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -d' ' -f1) $(go env GOVERSION)"
if [[ -x "$bin/etcd" && -x "$bin/kube-apiserver" && -x "$bin/kube-controller-manager" &&
	"$(cat "$bin/.stamp" 2>/dev/null)" == "$stamp" ]]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$bin"
rm -f "$bin/.stamp"
minor=${k8s#v1.}
minor=${minor%%.*}
v=k8s.io/component-base/version
ldflags="-s -w -X $v.gitVersion=$k8s -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
cd "$here"
start=$SECONDS
echo "building kube-apiserver and kube-controller-manager $k8s, etcd $etcd into $bin" >&2
# One go build for all three, so that their shared packages compile once, in parallel.
# etcd's main package is go.etcd.io/etcd/server/v3, which go build names "server".
go build -ldflags "$ldflags" -o "$bin/" \
	k8s.io/kubernetes/cmd/kube-apiserver \
	k8s.io/kubernetes/cmd/kube-controller-manager \
	go.etcd.io/etcd/server/v3
mv "$bin/server" "$bin/etcd"
echo "$stamp" >"$bin/.stamp"
echo "built in $((SECONDS - start)) s" >&2
echo "$bin"
