#!/usr/bin/env bash
# Writes the node's configuration into a root filesystem: containerd (runc and zeropod handlers),
# CNI bridge, CRIU's runc config, hosts, and our shim on PATH. Used by the node environment's init
# (harness/env/init.sh, before it pivots) and by the cgroup v2 VM (harness/vm/guest/node.sh, on /).
# Usage: [ZP_BARE=1] configure-root.sh ROOT PROJECT PAUSE_IMAGE
# ZP_BARE=1: a containerd that has never heard of zeropod (as the installer finds a node): the config
# without the zeropod runtime's table, no shim on PATH; containerd-ctl.sh at a fixed path is what the
# installer's --restart-command names.
set -euo pipefail
root=$1
project=$2
pause_image=$3
files=$(cd "$(dirname "$0")" && pwd)/files
mkdir -p "$root/etc/containerd" "$root/etc/cni/net.d" "$root/etc/criu" "$root/usr/local/bin" "$root/usr/local/sbin"
if [ "${ZP_BARE:-}" = 1 ]; then
  sed "s|@PAUSE_IMAGE@|$pause_image|" "$files/config.toml" |
    awk '/runtimes\.zeropod\]/{skip=1; next} skip && /^[[:space:]]*\[/{skip=0} !skip' >"$root/etc/containerd/config.toml"
  ln -sf "$project/harness/env/containerd-ctl.sh" "$root/usr/local/sbin/containerd-ctl"
else
  sed "s|@PAUSE_IMAGE@|$pause_image|" "$files/config.toml" >"$root/etc/containerd/config.toml"
fi
cp "$files/10-zeropod.conflist" "$root/etc/cni/net.d/10-zeropod.conflist"
cp "$files/criu-runc.conf" "$root/etc/criu/runc.conf"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost\n' >"$root/etc/hosts"
printf 'nameserver 127.0.0.1\n' >"$root/etc/resolv.conf"
# Our shim, found by containerd on PATH as containerd-shim-zeropod-v2 (runtime io.containerd.zeropod.v2).
[ "${ZP_BARE:-}" = 1 ] || ln -sf "$project/dist/containerd-shim-zeropod-v2" "$root/usr/local/bin/containerd-shim-zeropod-v2"
