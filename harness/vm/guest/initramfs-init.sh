#!/bin/busybox sh
# PID 1 of the VM's initramfs: loads the modules the root disk needs (listed in /modules/order,
# dependencies first), mounts /dev/vda and hands over to our init on it. Only busybox is here.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
while read -r m; do
  /bin/busybox insmod "/modules/$m" 2>/dev/null || echo "initramfs: insmod $m failed" >/dev/console
done </modules/order
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do /bin/busybox sleep 0.1; i=$((i + 1)); done
if ! /bin/busybox mount -t ext4 -o rw /dev/vda /newroot; then
  echo "initramfs: cannot mount /dev/vda" >/dev/console
  /bin/busybox poweroff -f
fi
/bin/busybox umount /proc /sys
/bin/busybox mount --move /dev /newroot/dev
exec /bin/busybox switch_root /newroot /sbin/zeropod-vm-init
