#!/bin/bash
# PID 1 of the cgroup v2 VM, baked into the image as /sbin/zeropod-vm-init (harness/vm/build.sh).
# Kept minimal so the image rarely changes: it mounts the project (9p, at the same path as on the
# host, given as zeropod.project= on the kernel command line) and hands over to the project's
# harness/vm/guest/boot.sh, which does the rest and stays PID 1.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -o remount,rw /
project=$(sed -n 's/.*zeropod\.project=\([^ ]*\).*/\1/p' /proc/cmdline)
modprobe -a 9p 9pnet_virtio
mkdir -p "$project"
if [ -n "$project" ] && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 project "$project" &&
  [ -f "$project/harness/vm/guest/boot.sh" ]; then
  exec /bin/bash "$project/harness/vm/guest/boot.sh"
fi
echo "zeropod-vm: cannot mount the project ($project) or find harness/vm/guest/boot.sh in it" >/dev/console
echo o >/proc/sysrq-trigger
