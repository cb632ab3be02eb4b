#!/bin/bash
# Makes the VM a node like the node environment: its configuration (harness/env/configure-root.sh on
# /), containerd's logs in the VM's shared control directory (the host reads them there), and
# containerd started with the same control script. Run inside the VM (harness/vm/node.ts does).
# Usage: node.sh PAUSE_IMAGE
set -euo pipefail
project=$(cd "$(dirname "$0")/../../.." && pwd)
"$project/harness/env/configure-root.sh" / "$project" "$1"
mkdir -p /run/zeropod-vm/logs /var/log/zeropod /var/lib/containerd
mountpoint -q /var/log/zeropod || mount --bind /run/zeropod-vm/logs /var/log/zeropod
"$project/harness/env/containerd-ctl.sh" start
