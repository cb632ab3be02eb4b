#!/usr/bin/env bash
# Everything a fresh machine of this kind needs before the demo, the tests or the benchmarks:
# host packages from Debian, npm dependencies. Idempotent and quiet when there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "zeropod-ts needs root (namespaces, mounts, CRIU): run as root" >&2
  exit 1
fi

need=()
for tool in debootstrap:debootstrap unshare:util-linux nsenter:util-linux chroot:coreutils; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "[setup] installing host packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Optional host programs, only for what asks for them: `setup.sh prometheus` (the k8s tier's scrape of
# the manager, and the demo's query). Debian's package; no service is started (no systemd here, and
# the test runs its own Prometheus with its own configuration).
for want in "$@"; do
  case "$want" in
    prometheus)
      if ! command -v prometheus >/dev/null 2>&1; then
        echo "[setup] installing host package: prometheus"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
      fi
      ;;
    *)
      echo "setup.sh: unknown optional part '$want' (known: prometheus)" >&2
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
