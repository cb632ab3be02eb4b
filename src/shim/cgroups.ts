/**
 * Where a container's cgroups are, found the way containerd's runc shim finds them (cgroup1.Load /
 * cgroup2.PidGroupPath of the init's pid): from the init process's /proc/<pid>/cgroup and the cgroup
 * mounts in /proc/self/mountinfo, not from the spec. Two implementations, one chosen per process by
 * what /sys/fs/cgroup is (cgroupVersion):
 * - v1 (this machine; hybrid counts as v1): one hierarchy per controller, mounted singly
 *   (/sys/fs/cgroup/cpu, /sys/fs/cgroup/cpuacct) or co-mounted (/sys/fs/cgroup/cpu,cpuacct); runc
 *   resolves a relative cgroupsPath under its caller's own cgroup (here /process_api/<id>/...).
 * - v2 (every current distribution): one unified hierarchy, the `0::/path` line; runc resolves a
 *   relative cgroupsPath under the parent of its caller's cgroup.
 * Either way the result is a map controller -> directory, so callers ask for 'memory' or 'pids'
 * without knowing the version (on v2 every name maps to the one directory).
 */
import { readFileSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { isSystemdCgroupsPath, systemdCgroupPath } from './systemd-cgroups-path.ts';

/** controller -> directory of the container's cgroup for it. */
export type CgroupDirs = ReadonlyMap<string, string>;

export type CgroupVersion = 1 | 2;

/** statfs(2) f_type of cgroup2 (linux/magic.h CGROUP2_SUPER_MAGIC). */
const CGROUP2_SUPER_MAGIC = 0x63677270;

/** What the cgroup root is: cgroup2fs is v2 (unified); anything else (tmpfs of v1 mounts) is v1. */
export function detectCgroupVersion(root = '/sys/fs/cgroup'): CgroupVersion {
  try {
    return statfsSync(root).type === CGROUP2_SUPER_MAGIC ? 2 : 1;
  } catch {
    return 1; // no cgroup root at all: v1 code paths find no directories and report zeros
  }
}

let chosen: CgroupVersion | undefined;
/** The node's cgroup version, decided once per process. */
export function cgroupVersion(): CgroupVersion {
  return (chosen ??= detectCgroupVersion());
}

/**
 * On v2 one directory holds every controller's files, and the freezer is built in (cgroup.freeze):
 * the names below all map to it, and '' names it the way runc's state does (cgroup_paths {"": dir}).
 */
const V2_NAMES = ['', 'cpu', 'cpuset', 'memory', 'pids', 'io', 'hugetlb', 'rdma', 'misc', 'freezer'];

export function v2Dirs(dir: string): Map<string, string> {
  return new Map(V2_NAMES.map((n) => [n, dir]));
}

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

/** The unified hierarchy's path from `/proc/<pid>/cgroup` (its `0::/path` line). */
export function parseProcCgroupV2(text: string): string | undefined {
  return /^0::(.*)$/m.exec(text)?.[1];
}

/** The cgroup2 mount: the one at /sys/fs/cgroup if there, else the first. */
export function parseCgroup2Mount(mountinfo: string): CgroupMount | undefined {
  let first: CgroupMount | undefined;
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post || post.split(' ')[0] !== 'cgroup2') continue;
    const fields = pre.split(' ');
    const m = { root: unescapeMount(fields[3] ?? '/'), mountPoint: unescapeMount(fields[4] ?? '') };
    if (m.mountPoint === '/sys/fs/cgroup') return m;
    first ??= m;
  }
  return first;
}

function under(m: CgroupMount, p: string): string | undefined {
  const rel = path.posix.relative(m.root, p);
  return rel.startsWith('..') ? undefined : path.posix.join(m.mountPoint, rel);
}

/** v2: the unified directory of a process as CgroupDirs (see v2Dirs); empty when not mounted. */
export function cgroupV2DirsFrom(procCgroup: string, mountinfo: string): Map<string, string> {
  const p = parseProcCgroupV2(procCgroup);
  const m = parseCgroup2Mount(mountinfo);
  const dir = p === undefined || !m ? undefined : under(m, p);
  return dir === undefined ? new Map() : v2Dirs(dir);
}

/** Joins the two by the version's rules: controller -> directory, for what is mounted. */
export function cgroupDirsFrom(
  procCgroup: string,
  mountinfo: string,
  version: CgroupVersion = 1,
): Map<string, string> {
  return version === 2 ? cgroupV2DirsFrom(procCgroup, mountinfo) : cgroupV1DirsFrom(procCgroup, mountinfo);
}

/** v1: controller -> directory, for controllers whose hierarchy is mounted. */
export function cgroupV1DirsFrom(procCgroup: string, mountinfo: string): Map<string, string> {
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
      cgroupVersion(),
    );
  } catch {
    return new Map(); // exited already: its cgroup is unknown
  }
}

/**
 * A controller's directory for an OCI cgroupsPath, resolved the way runc resolves it: an absolute
 * path from the hierarchy's root; a relative one under runc's own cgroup (v1) or that cgroup's parent
 * (v2), and runc's cgroup is ours (runc is our child); systemd's `slice:prefix:name` as the unit's
 * path from the root (systemd-cgroups-path.ts). For a live container prefer its init's
 * directories (`Container.cgroups`).
 */
export function cgroupDirForPath(cgroupsPath: string, controller: string): string | undefined {
  try {
    return cgroupDirForPathFrom(
      cgroupsPath,
      controller,
      readFileSync('/proc/self/cgroup', 'utf8'),
      readFileSync('/proc/self/mountinfo', 'utf8'),
      cgroupVersion(),
    );
  } catch {
    return undefined;
  }
}

export function cgroupDirForPathFrom(
  cgroupsPath: string,
  controller: string,
  ownProcCgroup: string,
  mountinfo: string,
  version: CgroupVersion,
): string | undefined {
  if (!cgroupsPath) return undefined;
  // `slice:prefix:name` (systemd manages the cgroups): the unit's path, from each hierarchy's root.
  if (isSystemdCgroupsPath(cgroupsPath)) {
    const unit = systemdCgroupPath(cgroupsPath);
    return unit === undefined
      ? undefined
      : cgroupDirForPathFrom(unit, controller, ownProcCgroup, mountinfo, version);
  }
  if (version === 2) {
    const m = parseCgroup2Mount(mountinfo);
    const own = parseProcCgroupV2(ownProcCgroup);
    if (!m || !V2_NAMES.includes(controller)) return undefined;
    if (cgroupsPath.startsWith('/')) return under(m, cgroupsPath);
    return own === undefined ? undefined : under(m, path.posix.join(path.posix.dirname(own), cgroupsPath));
  }
  if (cgroupsPath.startsWith('/')) {
    const m = parseCgroupMounts(mountinfo).get(controller);
    return m ? under(m, cgroupsPath) : undefined;
  }
  const own = cgroupV1DirsFrom(ownProcCgroup, mountinfo).get(controller);
  return own === undefined ? undefined : path.posix.join(own, cgroupsPath);
}
