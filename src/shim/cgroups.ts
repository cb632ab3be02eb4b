/**
 * Where a container's cgroup v1 controllers are, found the way containerd's runc shim finds them
 * (cgroup1.Load(PidPath(pid))): from the init process's /proc/<pid>/cgroup and the cgroup mounts in
 * /proc/self/mountinfo, not from the spec. A relative cgroupsPath is resolved by runc under its
 * caller's own cgroup (on this node /process_api/<id>/...), and controllers may be mounted singly
 * (/sys/fs/cgroup/cpu, /sys/fs/cgroup/cpuacct) or co-mounted (/sys/fs/cgroup/cpu,cpuacct).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** controller -> directory of the container's cgroup for it. */
export type CgroupDirs = ReadonlyMap<string, string>;

/** `/proc/<pid>/cgroup` v1 lines (`id:controllers:path`) -> controller -> path. The v2 line is skipped. */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m || m[1] === '') continue;
    for (const c of m[1]!.split(',')) out.set(c, m[2]!);
  }
  return out;
}

export interface CgroupMount {
  /** Path inside the cgroup hierarchy that is mounted (usually '/'). */
  root: string;
  mountPoint: string;
}

/** cgroup v1 mounts from mountinfo: controller -> mount (the first mount of each hierarchy wins). */
export function parseCgroupMounts(mountinfo: string): Map<string, CgroupMount> {
  const out = new Map<string, CgroupMount>();
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const [fstype, , superOpts] = post.split(' ');
    if (fstype !== 'cgroup' || !superOpts) continue;
    const fields = pre.split(' ');
    const root = unescapeMount(fields[3] ?? '/');
    const mountPoint = unescapeMount(fields[4] ?? '');
    for (const opt of superOpts.split(',')) {
      if (['rw', 'ro', 'relatime', 'noatime', 'nosuid', 'nodev', 'noexec'].includes(opt)) continue;
      if (!out.has(opt)) out.set(opt, { root, mountPoint });
    }
  }
  return out;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Joins the two: controller -> directory, for controllers whose hierarchy is mounted. */
export function cgroupDirsFrom(procCgroup: string, mountinfo: string): Map<string, string> {
  const mounts = parseCgroupMounts(mountinfo);
  const out = new Map<string, string>();
  for (const [controller, p] of parseProcCgroup(procCgroup)) {
    const m = mounts.get(controller);
    if (!m) continue;
    const rel = path.posix.relative(m.root, p);
    if (rel.startsWith('..')) continue; // outside what is mounted here
    out.set(controller, path.posix.join(m.mountPoint, rel));
  }
  return out;
}

/** The cgroup directories of a live process; empty when it is gone. */
export function cgroupDirsOf(pid: number): Map<string, string> {
  try {
    return cgroupDirsFrom(
      readFileSync(`/proc/${pid}/cgroup`, 'utf8'),
      readFileSync('/proc/self/mountinfo', 'utf8'),
    );
  } catch {
    return new Map(); // exited already: its cgroup is unknown
  }
}

/**
 * A controller's directory for an OCI cgroupsPath, resolved the way runc resolves it: an absolute
 * path from the hierarchy's root, a relative one under runc's own cgroup, which is ours (runc is our
 * child). For a live container prefer its init's directories (`Container.cgroups`).
 */
export function cgroupDirForPath(cgroupsPath: string, controller: string): string | undefined {
  if (!cgroupsPath || cgroupsPath.includes(':')) return undefined; // systemd-style: not used here
  try {
    const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    if (cgroupsPath.startsWith('/')) {
      const m = parseCgroupMounts(mountinfo).get(controller);
      if (!m) return undefined;
      const rel = path.posix.relative(m.root, cgroupsPath);
      return rel.startsWith('..') ? undefined : path.posix.join(m.mountPoint, rel);
    }
    const own = cgroupDirsFrom(readFileSync('/proc/self/cgroup', 'utf8'), mountinfo).get(controller);
    return own === undefined ? undefined : path.posix.join(own, cgroupsPath);
  } catch {
    return undefined;
  }
}
