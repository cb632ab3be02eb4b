#!/usr/bin/env bash
# Everything a fresh machine of this kind needs before the demo, the tests or the benchmarks:
# host packages from Debian, npm dependencies. Idempotent and quiet when there is nothing to do.
# `setup.sh vm|prometheus` also installs what those tiers need.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "zeropod-ts needs root (namespaces, mounts, CRIU): run as root" >&2
  exit 1
fi

need=()
for tool in debootstrap:debootstrap unshare:util-linux nsenter:util-linux chroot:coreutils patchelf:patchelf; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "[setup] installing host packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Optional host programs, only for what asks for them (Debian's packages; no service is started):
#   vm          qemu-system-x86: the cgroup v2 VM tier (harness/vm) boots Debian's kernel in qemu
#   prometheus  the k8s tier's real Prometheus scraping the manager (the test runs its own instance)
optional() {
  local cmd=$1 pkg=$2
  if ! command -v "$cmd" >/dev/null 2>&1; then
    echo "[setup] installing host package: $pkg"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
  fi
}
for want in "$@"; do
  case "$want" in
    vm) optional qemu-system-x86_64 qemu-system-x86 ;;
    prometheus) optional prometheus prometheus ;;
    '') ;;
    *)
      echo "setup.sh: unknown optional part '$want' (known: vm, prometheus)" >&2
      exit 2
      ;;
  esac
done

# npm dependencies: reinstall when package-lock.json changed since the last install.
stamp=node_modules/.zeropod-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
