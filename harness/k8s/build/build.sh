#!/usr/bin/env bash
# Builds the Kubernetes node's programs from their published Go modules (versions.env):
# kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl (this folder's
# go.mod), CoreDNS and metrics-server (`go install module@version`: their go.mod needs no replaces).
# Usage: build.sh TARGET_DIR GO_CACHE_DIR
# Writes into TARGET_DIR.partial and renames it to TARGET_DIR only when every program was built, so a
# half-built set is never used. Go's module and build caches live in GO_CACHE_DIR and survive a failed
# run (Go keeps them consistent itself), so a retry resumes instead of starting over.
set -euo pipefail
target=$1
gocache=$2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
partial="$target.partial"
rm -rf "$partial"
mkdir -p "$partial/bin" "$gocache"

export GOMODCACHE="$gocache/mod" GOCACHE="$gocache/build" GOFLAGS=-mod=mod GOTOOLCHAIN=local
# Static binaries: they run inside the node environment's root filesystem, not on the host.
export CGO_ENABLED=0
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
# Kubernetes stamps its version into the binaries through ldflags, as its own build does.
ver_pkg=k8s.io/component-base/version
ldflags="-s -w -X $ver_pkg.gitVersion=$KUBERNETES_VERSION -X $ver_pkg.gitMajor=1 -X $ver_pkg.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2) -X $ver_pkg.gitTreeState=clean -X $ver_pkg.buildDate=1970-01-01T00:00:00Z"
ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION"

step() {
  local name=$1
  shift
  local t0=$SECONDS
  echo "[k8s-build] $name ..."
  "$@" >>"$partial/build.log" 2>&1 || {
    echo "[k8s-build] $name failed; last lines of $partial/build.log:" >&2
    tail -n 30 "$partial/build.log" >&2
    exit 1
  }
  echo "[k8s-build] $name done in $((SECONDS - t0)) s"
  echo "$name $((SECONDS - t0))" >>"$partial/durations.txt"
}

cd "$here"
step "download modules (kubernetes $KUBERNETES_VERSION)" go mod download
for cmd in kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet; do
  step "build $cmd" go build -trimpath -ldflags "$ldflags" -o "$partial/bin/$cmd" "k8s.io/kubernetes/cmd/$cmd"
done
step "build coredns $COREDNS_VERSION" env GOBIN="$partial/bin" go install -trimpath -ldflags "-s -w" \
  "github.com/coredns/coredns@$COREDNS_VERSION"
step "build metrics-server $METRICS_SERVER_VERSION" env GOBIN="$partial/bin" go install -trimpath -ldflags "-s -w" \
  "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"

"$partial/bin/kubelet" --version >"$partial/versions.txt"
"$partial/bin/coredns" -version | head -1 >>"$partial/versions.txt"
# metrics-server's own version stamp needs its release ldflags; the pinned version says it.
echo "metrics-server $METRICS_SERVER_VERSION" >>"$partial/versions.txt"
rm -rf "$target"
mv "$partial" "$target"
echo "[k8s-build] done: $(du -sh "$target/bin" | cut -f1) in $target"
