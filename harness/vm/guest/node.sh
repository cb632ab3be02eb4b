#!/bin/bash
# Makes the VM a node like the node environment: its configuration (harness/env/configure-root.sh on
# /), containerd's logs in the VM's shared control directory (the host reads them there), and
# containerd started with the same control script. Run inside the VM (harness/vm/node.ts does).
# Usage: node.sh PAUSE_IMAGE
set -euo pipefail
project=$(cd "$(dirname "$0")/../../.." && pwd)
"$project/harness/env/configure-root.sh" / "$project" "$1"
# Booted with systemd as init (`up --systemd`): the runtimes use the systemd cgroup driver, as a
# distribution's node configures containerd for kubelet's systemd driver (harness/cri: slices).
if [ -d /run/systemd/system ]; then
  for runtime in runc zeropod; do
    printf "\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.%s.options]\n  SystemdCgroup = true\n" \
      "$runtime" >>/etc/containerd/config.toml
  done
fi
mkdir -p /run/zeropod-vm/logs /var/log/zeropod /var/lib/containerd
mountpoint -q /var/log/zeropod || mount --bind /run/zeropod-vm/logs /var/log/zeropod
# Under emulation the shim keeper's first worker (Node reading our bundle over 9p) can take longer
# than the keeper's default 10 s hold: requests would be answered Unavailable (src/shim/keeper).
export ZEROPOD_SHIM_HOLD_MS=${ZEROPOD_SHIM_HOLD_MS:-60000}
"$project/harness/env/containerd-ctl.sh" start
