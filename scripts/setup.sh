#!/usr/bin/env bash
# Everything a fresh machine of this kind needs before the demo, the tests or the benchmarks:
# host packages from Debian, npm dependencies. Idempotent and quiet when there is nothing to do.
# `setup.sh vm` also installs what the cgroup v2 VM tier needs.
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

# The cgroup v2 VM tier (harness/vm) boots Debian's kernel in qemu: installed only when asked for.
if [ "${1:-}" = vm ] && ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
  echo "[setup] installing qemu-system-x86 (the VM tier)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
fi

# npm dependencies: reinstall when package-lock.json changed since the last install.
stamp=node_modules/.zeropod-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
