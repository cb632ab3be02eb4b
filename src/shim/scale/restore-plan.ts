/**
 * What `criu restore` needs to put a runc container back, derived from runc's state.json the way
 * `runc restore` derives its RPC request (libcontainer/criu_linux.go): the rootfs, where each
 * external mount of the image comes from, which namespaces are joined or handed in, and which of
 * the image's fds are our stdio pipes. Pure: the caller reads the files.
 */
import path from 'node:path';
import type { RuncStateFile } from '../../runc/index.ts';
import { parseCgroupMounts, parseProcCgroup } from '../cgroups.ts';

export interface RestorePlan {
  rootfs: string;
  extMounts: { key: string; value: string }[];
  joinNs: { ns: string; file: string }[];
  /** Namespaces the image names as external (net, pid): opened and handed to CRIU under `key`. */
  externalNs: { key: string; path: string }[];
  /** fd number in CRIU -> the image's name of the pipe that fd replaces (descriptors.json). */
  stdioKeys: { fd: number; key: string }[];
  /** The container's cgroup directories (runc kept them: the container was not deleted). */
  cgroupDirs: string[];
}

/** Why runc's own restore is needed instead; undefined when the plan covers the container. */
export function unsupportedReason(state: RuncStateFile, terminal: boolean): string | undefined {
  if (terminal) return 'a terminal (the pty master comes through runc)';
  const hooks = state.config.Hooks ?? {};
  if (Object.values(hooks).some((h) => Array.isArray(h) && h.length > 0)) return 'OCI hooks (runc runs them)';
  if ((state.config.namespaces ?? []).some((n) => n.type === 'NEWCGROUP' && n.path !== ''))
    return 'a cgroup namespace path';
  if ((state.config.namespaces ?? []).some((n) => n.type === 'NEWUSER')) return 'a user namespace';
  if (Object.keys(state.cgroup_paths ?? {}).length === 0) return 'no cgroup paths in runc state';
  return undefined;
}

const NS_NAMES: Record<string, string> = {
  NEWNET: 'net',
  NEWPID: 'pid',
  NEWNS: 'mnt',
  NEWIPC: 'ipc',
  NEWUTS: 'uts',
  NEWUSER: 'user',
  NEWCGROUP: 'cgroup',
  NEWTIME: 'time',
};

/** runc's key for an external namespace: extRootNetNS, extRootPidNS. */
export function externalNsKey(name: string): string {
  return `extRoot${name[0]!.toUpperCase()}${name.slice(1)}NS`;
}

/**
 * runc's getCgroupMounts: the cgroup v1 hierarchies as binds at /sys/fs/cgroup/<name>, each from
 * the cgroup of the process running runc (ours: runc is our child), as runc declares them external.
 */
export function cgroupV1Binds(
  destination: string,
  selfCgroup: string,
  mountinfo: string,
): { key: string; value: string }[] {
  const own = parseProcCgroup(selfCgroup);
  const seen = new Set<string>();
  const out: { key: string; value: string }[] = [];
  for (const [controller, m] of parseCgroupMounts(mountinfo)) {
    if (seen.has(m.mountPoint)) continue;
    const dir = own.get(controller);
    if (dir === undefined) continue;
    seen.add(m.mountPoint);
    const rel = path.posix.relative(m.root, dir);
    out.push({
      key: path.posix.join(destination, path.posix.basename(m.mountPoint)),
      value: path.posix.join(m.mountPoint, rel),
    });
  }
  return out;
}

/** Mirrors `runc restore`: ext mounts for binds, cgroup v1, masked paths and devices; namespaces. */
export function planRestore(
  state: RuncStateFile,
  descriptors: readonly string[],
  self: { cgroup: string; mountinfo: string },
): RestorePlan {
  const c = state.config;
  const rootfs = c.rootfs;
  const inRoot = (dest: string) => {
    const d = dest.startsWith(rootfs) ? dest.slice(rootfs.length) : dest;
    return path.posix.join('/', d);
  };
  const extMounts: { key: string; value: string }[] = [];
  const hasCgroupNs = (c.namespaces ?? []).some((n) => n.type === 'NEWCGROUP');
  for (const m of c.mounts ?? []) {
    if (m.device === 'bind') extMounts.push({ key: inRoot(m.destination), value: m.source });
    else if (m.device === 'cgroup' && !hasCgroupNs)
      extMounts.push(...cgroupV1Binds(inRoot(m.destination), self.cgroup, self.mountinfo));
  }
  if ((c.mask_paths ?? []).length > 0) extMounts.push({ key: '/dev/null', value: '/dev/null' });
  for (const d of c.devices ?? []) extMounts.push({ key: d.path, value: d.path });

  const joinNs: RestorePlan['joinNs'] = [];
  const externalNs: RestorePlan['externalNs'] = [];
  for (const ns of c.namespaces ?? []) {
    const name = NS_NAMES[ns.type];
    if (name === undefined || ns.path === '') continue;
    if (ns.type === 'NEWNET' || ns.type === 'NEWPID')
      externalNs.push({ key: externalNsKey(name), path: ns.path });
    else joinNs.push({ ns: name, file: ns.path });
  }
  const stdioKeys: RestorePlan['stdioKeys'] = [];
  descriptors.forEach((key, fd) => {
    if (key.includes('pipe:')) stdioKeys.push({ fd, key });
  });
  const unique = new Map(extMounts.map((m) => [`${m.key}\0${m.value}`, m]));
  return {
    rootfs,
    extMounts: [...unique.values()],
    joinNs,
    externalNs,
    stdioKeys,
    cgroupDirs: [...new Set(Object.values(state.cgroup_paths ?? {}))],
  };
}
