#!/usr/bin/env bash
# Builds the cgroup v2 VM image: Debian sid's kernel (linux-image-amd64, unpacked, never installed on
# the host), a small initramfs that loads the modules the root disk needs, and a raw ext4 disk made
# from a copy of the node environment's root filesystem (same userland: criu, runc, containerd, CNI
# plugins, nftables, nodejs) plus the kernel's modules and our guest init.
# Usage: build.sh TARGET_DIR ROOTFS_DIR DISK_SIZE
# Writes into TARGET_DIR.partial and renames it to TARGET_DIR only when every step passed.
set -euo pipefail
target=$1
rootfs=$2
size=${3:-8G}
here=$(cd "$(dirname "$0")" && pwd)
partial="$target.partial"
tree="$partial/tree"
log="$partial.log"
rm -rf "$partial" "$log"
mkdir -p "$partial"
: >"$log"
step() { echo "[vm-image] $*"; }
fail() {
  echo "[vm-image] $1 failed; last lines of $log:" >&2
  tail -n 20 "$log" >&2
  exit 1
}

step "copying the node root filesystem ($rootfs)"
cp -a "$rootfs" "$tree" || fail "copy"
rm -f "$tree/versions.txt" "$tree/build.log"

# apt inside the copy: sid's sources and keys are already there (debootstrap wrote them). Newer
# packagings split the kernel: linux-image-X depends on linux-binary-X (vmlinuz), linux-modules-X and
# linux-base-X (modules.builtin, the config).
step "downloading Debian sid's kernel (linux-image-amd64)"
chroot "$tree" /bin/sh -c '
  set -e
  mkdir -p /tmp/kernel && cd /tmp/kernel
  apt-get -qq -o Acquire::Check-Valid-Until=false update
  deps() { apt-cache depends "$1" | sed -n "s/^ *|\{0,1\}Depends: \(linux-$2-[0-9][^ ]*\)$/\1/p"; }
  image=$(deps linux-image-amd64 image | head -n 1)
  test -n "$image"
  apt-get -qq -o Acquire::Check-Valid-Until=false download "$image" $(deps "$image" binary) $(deps "$image" modules) $(deps "$image" base)
' >>"$log" 2>&1 || fail "kernel download"
for deb in "$tree"/tmp/kernel/*.deb; do
  echo "unpacking $(basename "$deb")" >>"$log"
  dpkg-deb -x "$deb" "$tree/tmp/kernel/root" >>"$log" 2>&1 || fail "unpacking $deb"
done
debs=$(cd "$tree/tmp/kernel" && ls ./*.deb | xargs -n1 basename | paste -sd' ')
kver=$(ls "$tree/tmp/kernel/root/usr/lib/modules" 2>/dev/null | head -n 1)
[ -n "$kver" ] || fail "finding the kernel version in $debs"
# Unpacked aside and copied, not extracted over the tree: tar would replace merged-/usr symlinks.
cp -a "$tree/tmp/kernel/root/." "$tree/" 2>>"$log" || fail "copying the kernel into the tree"
rm -rf "$tree/tmp/kernel" "$tree/var/lib/apt/lists/"*
chroot "$tree" apt-get clean
step "kernel $kver; depmod"
chroot "$tree" depmod "$kver" >>"$log" 2>&1 || fail "depmod"
for v in "$tree/usr/lib/modules/$kver/vmlinuz" "$tree/boot/vmlinuz-$kver"; do
  [ -f "$v" ] && cp "$v" "$partial/vmlinuz" && break
done
[ -f "$partial/vmlinuz" ] || fail "finding vmlinuz for $kver"

# The initramfs: busybox and the modules (with their dependencies, decompressed for busybox insmod)
# needed to mount the root disk; everything else is loaded on demand by the kernel from the disk.
step "initramfs"
initrd="$partial/initrd"
mkdir -p "$initrd/bin" "$initrd/dev" "$initrd/proc" "$initrd/sys" "$initrd/newroot" "$initrd/modules"
cp "$tree/bin/busybox" "$initrd/bin/busybox"
moddir="$tree/lib/modules/$kver"
builtin_or_listed() { grep -qE "/$1\.ko" "$moddir/modules.builtin"; }
order=()
add_module() {
  local name=$1 line file dep
  builtin_or_listed "$name" && return 0
  line=$(grep -E "/$name\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -n 1) || {
    echo "module $name not found" >>"$log"
    return 1
  }
  file=${line%%:*}
  for dep in ${line#*:}; do
    dep=$(basename "$dep")
    add_module "${dep%%.ko*}"
  done
  for m in "${order[@]:-}"; do [ "$m" = "$file" ] && return 0; done
  order+=("$file")
}
for m in virtio_pci virtio_blk ext4; do add_module "$m" || fail "finding module $m"; done
# ext4 asks the crypto API for crc32c on kernels that still route it there; nothing to load otherwise.
add_module crc32c_generic || true
: >"$initrd/modules/order"
for f in "${order[@]}"; do
  base=$(basename "$f")
  case "$base" in
    *.ko.xz) xz -dc "$moddir/$f" >"$initrd/modules/${base%.xz}" ;;
    *.ko.zst) zstd -qdc "$moddir/$f" >"$initrd/modules/${base%.zst}" ;;
    *.ko.gz) gzip -dc "$moddir/$f" >"$initrd/modules/${base%.gz}" ;;
    *) cp "$moddir/$f" "$initrd/modules/$base" ;;
  esac
  echo "${base%%.ko*}.ko" >>"$initrd/modules/order"
done
echo "modules in the initramfs: $(tr '\n' ' ' <"$initrd/modules/order")" >>"$log"
cp "$here/guest/initramfs-init.sh" "$initrd/init"
chmod 755 "$initrd/init"
(cd "$initrd" && find . | "$tree/bin/busybox" cpio -o -H newc 2>>"$log" | gzip -1 >"$partial/initrd.img") ||
  fail "initramfs"
rm -rf "$initrd"

step "guest init and configuration"
install -m 755 "$here/guest/init.sh" "$tree/sbin/zeropod-vm-init"
echo zeropod-vm >"$tree/etc/hostname"
printf '127.0.0.1 localhost zeropod-vm\n::1 localhost ip6-localhost\n' >"$tree/etc/hosts"
printf 'nameserver 10.0.2.3\n' >"$tree/etc/resolv.conf"
printf '/dev/vda / ext4 rw,relatime 0 1\n' >"$tree/etc/fstab"

# Room for containerd's content and snapshots; the file is sparse, and each boot writes to a
# throw-away overlay (qemu's snapshot=on), so the image itself never changes after this.
step "ext4 disk ($size, sparse) from the tree"
mkfs.ext4 -q -F -L zeropod-vm -d "$tree" "$partial/disk.raw" "$size" >>"$log" 2>&1 || fail "mkfs.ext4"
{
  echo "kernel $kver ($debs)"
  chroot "$tree" /bin/sh -c 'criu --version | head -1; runc --version | head -1; containerd --version; node --version'
} >"$partial/versions.txt"
rm -rf "$tree"
mv "$log" "$partial/build.log"
rm -rf "$target"
mv "$partial" "$target"
step "done: $(du -sh --apparent-size "$target/disk.raw" | cut -f1) disk ($(du -sh "$target" | cut -f1) used)"
