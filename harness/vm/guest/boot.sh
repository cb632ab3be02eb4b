#!/bin/bash
# PID 1 of the cgroup v2 VM after the image's init (guest/init.sh) mounted /proc, /sys and the
# project. Mounts the rest with cgroup v2 only, brings up user-mode networking, mounts the host's
# other shares (the test images, the VM's control directory) and starts the exec agent, which serves
# commands from the host (harness/vm/agent-client.ts). The disk is a throw-away overlay, so nothing
# here needs undoing: the host stops qemu.
# Parameters come from the kernel command line: zeropod.project=PATH zeropod.agent_port=PORT
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "zeropod-vm: $*" >/dev/console; }

project=$(sed -n 's/.*zeropod\.project=\([^ ]*\).*/\1/p' /proc/cmdline)
port=$(sed -n 's/.*zeropod\.agent_port=\([0-9]*\).*/\1/p' /proc/cmdline)

# zeropod.init=systemd (`cli.ts up --systemd`): systemd becomes PID 1, as on a distribution's node,
# and runs the rest of this script as its only unit (`--service`); nothing else of the image's
# systemd is started (no udev, no getty), which keeps the boot short under emulation.
if grep -qw 'zeropod.init=systemd' /proc/cmdline && [ "${1:-}" != --service ]; then
  mkdir -p /etc/systemd/system
  cat >/etc/systemd/system/zeropod-vm.service <<EOF
[Unit]
Description=zeropod VM: network, shares, exec agent
DefaultDependencies=no
[Service]
ExecStart=/bin/bash $project/harness/vm/guest/boot.sh --service
StandardOutput=null
StandardError=null
EOF
  cat >/etc/systemd/system/zeropod-vm.target <<EOF
[Unit]
Description=zeropod VM
Requires=zeropod-vm.service
After=zeropod-vm.service
EOF
  say "handing over to systemd"
  exec /lib/systemd/systemd --unit=zeropod-vm.target
fi

if [ "${1:-}" != --service ]; then
  mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
  mkdir -p /dev/pts /dev/shm /dev/mqueue
  mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
  mount -t tmpfs -o mode=1777 tmpfs /dev/shm
  mount -t mqueue mqueue /dev/mqueue
  mount -t tmpfs -o mode=755 tmpfs /run
  # Every controller the kernel has, delegated from the root so runc can use them in pod cgroups.
  ctrls=$(sed 's/\([^ ]*\)/+\1/g' /sys/fs/cgroup/cgroup.controllers)
  echo "$ctrls" >/sys/fs/cgroup/cgroup.subtree_control || say "could not enable controllers: $ctrls"
fi
# Under systemd, it mounted the rest (cgroup2, /dev/*, /run) and enables controllers for the units
# that ask for them.
# A tmpfs on /tmp, unless the project is mounted under it (a clone in /tmp): it would hide it. The
# disk is a throw-away overlay, so /tmp on it is as good.
case "$project/" in
  /tmp/*) ;;
  *) mountpoint -q /tmp || mount -t tmpfs -o mode=1777 tmpfs /tmp ;;
esac
mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
hostname zeropod-vm

modprobe -a virtio_net
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2

share() { # tag mountpoint [ro]
  mkdir -p "$2"
  mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000${3:+,ro}" "$1" "$2" || say "cannot mount share $1 at $2"
}
share ctl /run/zeropod-vm
share images /images ro

say "booted in $(cut -d' ' -f1 /proc/uptime) s; init: $(cat /proc/1/comm); cgroup: $(stat -fc %T /sys/fs/cgroup) ($(cat /sys/fs/cgroup/cgroup.controllers))"
if [ "${1:-}" = --service ]; then
  # systemd's unit: the agent in the foreground; systemd reaps orphans and stops it at shutdown.
  cd "$project"
  exec node --import tsx "$project/harness/vm/guest/agent.ts" --port "$port" --token-file /run/zeropod-vm/token \
    </dev/null >>/run/zeropod-vm/agent.log 2>&1
fi
# Debian's Node has no type stripping: tsx from the project (resolved from the working directory),
# as the tests inside use it. The host stops waiting for the agent when this line reaches the console.
cd "$project"
(
  setsid node --import tsx "$project/harness/vm/guest/agent.ts" --port "$port" --token-file /run/zeropod-vm/token \
    </dev/null >>/run/zeropod-vm/agent.log 2>&1
  say "agent exited with status $? (see agent.log)"
) &

trap 'sync; exit 0' TERM INT
# Sleep in the background and `wait` so signals are handled at once; `wait` also reaps orphans.
while true; do
  sleep 3600 &
  wait
done
