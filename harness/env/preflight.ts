/**
 * Checks the host before anything is built or started, and says what is wrong and how to fix it.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { failedPrecondition } from '../../src/base/index.ts';

const hostTools: Record<string, string> = {
  debootstrap: 'apt-get install -y debootstrap',
  unshare: 'apt-get install -y util-linux',
  nsenter: 'apt-get install -y util-linux',
  mount: 'apt-get install -y mount',
  chroot: 'apt-get install -y coreutils',
  tar: 'apt-get install -y tar',
};

function onPath(tool: string): boolean {
  for (const dir of (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    try {
      accessSync(`${dir}/${tool}`, constants.X_OK);
      return true;
    } catch {
      // not in this directory; keep looking
    }
  }
  return false;
}

/** Kernel features the environment needs, each with the file that proves it. */
const kernelFeatures: [string, string][] = [
  ['/proc/self/ns/net', 'CONFIG_NET_NS (network namespaces)'],
  ['/proc/self/ns/pid', 'CONFIG_PID_NS (PID namespaces)'],
  ['/proc/sys/kernel/ns_last_pid', 'CONFIG_CHECKPOINT_RESTORE (needed by CRIU)'],
  ['/proc/sys/vm/unprivileged_userfaultfd', 'CONFIG_USERFAULTFD (CRIU lazy pages)'],
  ['/sys/fs/cgroup/memory', 'the cgroup v1 memory controller'],
];

export function preflight(): void {
  if (process.getuid?.() !== 0) {
    throw failedPrecondition(
      'the node environment needs root (it creates namespaces and mounts): run as root',
    );
  }
  const missing = Object.keys(hostTools).filter((t) => !onPath(t));
  if (missing.length > 0) {
    const fixes = missing.map((t) => `  ${t}: ${hostTools[t]}`).join('\n');
    throw failedPrecondition(`missing host tools:\n${fixes}\n(scripts/setup.sh installs them)`);
  }
  for (const [file, feature] of kernelFeatures) {
    if (!existsSync(file)) {
      throw failedPrecondition(
        `the kernel lacks ${feature}: ${file} does not exist; use a kernel built with it`,
      );
    }
  }
  const filesystems = readFileSync('/proc/filesystems', 'utf8');
  if (!/\toverlay\n/.test(filesystems)) {
    throw failedPrecondition('the kernel lacks overlayfs (CONFIG_OVERLAY_FS): try `modprobe overlay`');
  }
}
