#!/usr/bin/env bash
# PID 1 of the node environment: runs in fresh mount, network and PID namespaces made by
# `unshare` (see env.ts). Builds the root (overlay over the cached root filesystem), pivots into
# it, starts containerd and waits. When this process exits the kernel kills everything in the PID
# namespace, and the mount and network namespaces (with every mount, veth and pod netns in them)
# disappear with their last process: stopping leaves nothing on the host.
# Inputs (environment): ZP_ROOTFS ZP_RUN ZP_STATE ZP_LOGS ZP_PROJECT ZP_IMAGES ZP_PAUSE_IMAGE ZP_MOUNTS
# ZP_BARE (1: containerd without zeropod, as the installer finds a node)
set -euo pipefail
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

ZP_BARE=${ZP_BARE:-} "$ZP_PROJECT/harness/env/configure-root.sh" "$root" "$ZP_PROJECT" "$ZP_PAUSE_IMAGE"

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
