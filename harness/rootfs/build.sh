#!/usr/bin/env bash
# Builds the node environment's root filesystem: Debian sid, minbase, plus packages.txt.
# Usage: build.sh TARGET_DIR MIRROR
# Writes into TARGET_DIR.partial and renames it to TARGET_DIR only when every step passed,
# so a half-built tree is never taken for a finished one.
set -euo pipefail
target=$1
mirror=${2:-http://deb.debian.org/debian}
here=$(cd "$(dirname "$0")" && pwd)
partial="$target.partial"
rm -rf "$partial"
mkdir -p "$partial"

pkgs=$(grep -v -E '^\s*(#|$)' "$here/packages.txt" | paste -sd, -)
echo "[rootfs] debootstrap sid (minbase) + $pkgs"
debootstrap --variant=minbase --include="$pkgs" sid "$partial" "$mirror" >"$partial.log" 2>&1 || {
  echo "[rootfs] debootstrap failed; last lines of $partial.log:" >&2
  tail -n 20 "$partial.log" >&2
  exit 1
}

# The .proto files containerd's and CRI's APIs are defined in, extracted without their Go dependencies.
echo "[rootfs] fetching API .proto packages"
mkdir -p "$partial/opt/protos/debs"
chroot "$partial" /bin/sh -c '
  set -e
  cd /opt/protos/debs
  apt-get -qq -o Acquire::Check-Valid-Until=false update
  apt-get -qq -o Acquire::Check-Valid-Until=false download golang-github-containerd-containerd-api-dev golang-k8s-cri-api-dev \
    golang-github-containerd-ttrpc-dev golang-github-containerd-cgroups-dev
  for d in *.deb; do dpkg-deb -x "$d" /opt/protos/tree; done
  rm -f *.deb
' >>"$partial.log" 2>&1 || {
  echo "[rootfs] fetching .proto packages failed; last lines of $partial.log:" >&2
  tail -n 20 "$partial.log" >&2
  exit 1
}
chroot "$partial" apt-get clean
rm -rf "$partial/var/lib/apt/lists/"*
# Services are started by the environment itself, never by package scripts.
rm -f "$partial/etc/init.d/nginx" "$partial/etc/init.d/redis-server" "$partial/etc/init.d/postgresql"
chroot "$partial" /bin/sh -c 'criu --version; runc --version | head -1; containerd --version; node --version' \
  >"$partial/versions.txt"
mv "$partial.log" "$partial/build.log"
rm -rf "$target"
mv "$partial" "$target"
echo "[rootfs] done: $(du -sh "$target" | cut -f1)"
