/**
 * Where kubelet's sockets live in the cgroup v2 hierarchy, so that the node's nftables can tell
 * kubelet's own connections (its probes) from every other process of the node (`socket cgroupv2`).
 *
 * kubelet is found by its process: comm or executable `kubelet` (kubeadm, rke2, most distributions)
 * or the k3s process that embeds it (`k3s server` / `k3s agent`, comm `k3s-server` / `k3s-agent`,
 * executable `k3s`). Its cgroup is the `0::` line of /proc/<pid>/cgroup (cgroup v2, or the unified
 * hierarchy of a hybrid v1 host). nft names a cgroup by its path under /sys/fs/cgroup, so on a
 * hybrid host the path starts with the unified hierarchy's mount (`unified/...`).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

export type KubeletCgroup =
  { found: true; pid: number; nftPath: string; level: number } | { found: false; reason: string };

/** kubelet itself, or a k3s process that embeds it. */
export function isKubelet(comm: string, exe: string): boolean {
  const bin = path.basename(exe.replace(/ \(deleted\)$/, ''));
  return (
    comm === 'kubelet' || bin === 'kubelet' || comm === 'k3s-server' || comm === 'k3s-agent' || bin === 'k3s'
  );
}

/** The cgroup v2 path in a /proc/<pid>/cgroup text (its `0::` line), if there is one. */
export function unifiedPathOf(procCgroup: string): string | undefined {
  for (const line of procCgroup.split('\n')) if (line.startsWith('0::')) return line.slice(3).trim();
  return undefined;
}

/** Where cgroup2 is mounted, from a /proc/self/mountinfo text (the first such mount). */
export function cgroup2MountOf(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (right?.split(' ')[0] === 'cgroup2') return left?.split(' ')[4];
  }
  return undefined;
}

/**
 * What nft needs: the path relative to /sys/fs/cgroup (where nft looks) and the cgroup's depth.
 * A process in the root cgroup shares it with everyone: nothing to tell apart.
 */
export function nftCgroupOf(
  cgroupPath: string,
  mount: string,
): { nftPath: string; level: number } | { reason: string } {
  const parts = cgroupPath.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || cgroupPath.includes('..'))
    return {
      reason: `kubelet runs in the root of the cgroup v2 hierarchy (${cgroupPath}), with every other process`,
    };
  const base = path.relative('/sys/fs/cgroup', mount);
  if (base.startsWith('..'))
    return { reason: `cgroup2 is mounted at ${mount}, outside /sys/fs/cgroup where nft looks for cgroups` };
  return { nftPath: [...(base === '' ? [] : [base]), ...parts].join('/'), level: parts.length };
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Finds kubelet among this PID namespace's processes and says where its cgroup is (or why not). */
export function findKubeletCgroup(proc = '/proc'): KubeletCgroup {
  const mount = cgroup2MountOf(read(path.join(proc, 'self/mountinfo')) ?? '');
  if (!mount) return { found: false, reason: 'no cgroup2 (unified) hierarchy is mounted on this node' };
  for (const entry of readdirSync(proc)) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = (read(path.join(proc, entry, 'comm')) ?? '').trim();
    let exe = '';
    try {
      exe = readlinkSync(path.join(proc, entry, 'exe'));
    } catch {
      // a kernel thread, or gone
    }
    if (!isKubelet(comm, exe)) continue;
    const cg = unifiedPathOf(read(path.join(proc, entry, 'cgroup')) ?? '');
    if (cg === undefined) return { found: false, reason: `kubelet (pid ${entry}) has no cgroup v2 path` };
    const where = nftCgroupOf(cg, mount);
    if ('reason' in where) return { found: false, reason: where.reason };
    return { found: true, pid: Number(entry), ...where };
  }
  return { found: false, reason: 'no kubelet process on this node (nor k3s embedding one)' };
}
