#!/usr/bin/env bash
# PID 1 of the node environment: runs in fresh mount, network and PID namespaces made by
# `unshare` (see env.ts). Builds the root (overlay over the cached root filesystem), pivots into
# it, starts containerd and waits. When this process exits the kernel kills everything in the PID
# namespace, and the mount and network namespaces (with every mount, veth and pod netns in them)
# disappear with their last process: stopping leaves nothing on the host.
# Inputs (environment): ZP_ROOTFS ZP_RUN ZP_STATE ZP_LOGS ZP_PROJECT ZP_IMAGES ZP_PAUSE_IMAGE ZP_MOUNTS
# ZP_BARE (1: containerd without zeropod, as the installer finds a node)
set -euo pipefail
files=$(cd "$(dirname "$0")" && pwd)/files
root=$ZP_RUN/root

mount --make-rprivate /
mkdir -p "$root" "$ZP_STATE/upper" "$ZP_STATE/work" "$ZP_STATE/containerd" "$ZP_LOGS"
mount -t overlay overlay -o "lowerdir=$ZP_ROOTFS,upperdir=$ZP_STATE/upper,workdir=$ZP_STATE/work" "$root"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mkdir -p "$root/var/lib/containerd" "$root/var/log/zeropod" "$root$ZP_PROJECT" "$root/images"
mount --bind "$ZP_STATE/containerd" "$root/var/lib/containerd"
mount --bind "$ZP_LOGS" "$root/var/log/zeropod"
mount --bind "$ZP_PROJECT" "$root$ZP_PROJECT"
mount --bind -o ro "$ZP_IMAGES" "$root/images"
# Extra binds asked for by the caller (the Kubernetes node's programs and certificates): "HOST INSIDE ro|rw".
while read -r host inside mode; do
  [ -n "$host" ] || continue
  mkdir -p "$root$inside"
  mount --bind "$host" "$root$inside"
  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$root$inside"; fi
done <<<"${ZP_MOUNTS:-}"
if [ -d /sys/fs/bpf ]; then mount -t bpf bpf "$root/sys/fs/bpf" 2>/dev/null || true; fi

mkdir -p "$root/etc/containerd" "$root/etc/cni/net.d" "$root/etc/criu"
if [ "${ZP_BARE:-}" = 1 ]; then
  # A containerd that has never heard of zeropod: the config without the zeropod runtime's table, no
  # shim on PATH. containerd-ctl.sh at a fixed path is what the installer's --restart-command names.
  sed "s|@PAUSE_IMAGE@|$ZP_PAUSE_IMAGE|" "$files/config.toml" |
    awk '/runtimes\.zeropod\]/{skip=1; next} skip && /^[[:space:]]*\[/{skip=0} !skip' >"$root/etc/containerd/config.toml"
  ln -sf "$ZP_PROJECT/harness/env/containerd-ctl.sh" "$root/usr/local/sbin/containerd-ctl"
else
  sed "s|@PAUSE_IMAGE@|$ZP_PAUSE_IMAGE|" "$files/config.toml" >"$root/etc/containerd/config.toml"
fi
cp "$files/10-zeropod.conflist" "$root/etc/cni/net.d/10-zeropod.conflist"
cp "$files/criu-runc.conf" "$root/etc/criu/runc.conf"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost\n' >"$root/etc/hosts"
printf 'nameserver 127.0.0.1\n' >"$root/etc/resolv.conf"
# Our shim, found by containerd on PATH as containerd-shim-zeropod-v2 (runtime io.containerd.zeropod.v2).
[ "${ZP_BARE:-}" = 1 ] || ln -sf "$ZP_PROJECT/dist/containerd-shim-zeropod-v2" "$root/usr/local/bin/containerd-shim-zeropod-v2"

cd "$root"
mkdir -p .oldroot
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot
ip link set lo up

"$ZP_PROJECT/harness/env/containerd-ctl.sh" start

stop() {
  echo "stopping the environment"
  "$ZP_PROJECT/harness/env/containerd-ctl.sh" stop || true
  exit 0
}
trap stop TERM INT
echo "environment ready"
# Sleep in the background and `wait` so signals are handled at once; `wait` also reaps orphans.
while true; do
  sleep 3600 &
  wait || true
done
