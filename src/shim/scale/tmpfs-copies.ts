/**
 * The container's tmpfs mounts (/dev, /dev/shm when it is one, and /sys/fs/cgroup on cgroup v1)
 * reach the restore as ready-made copies instead of archives: CRIU dumps a tmpfs as a tar.gz and
 * restores it by running `tar` and `gzip`, ~6 of nginx's ~18 ms of CRIU restore here (a busybox
 * restore: 12.9 ms of CRIU time with copies, ~25-32 ms with archives). Before each dump, with the
 * app frozen, each tmpfs is copied into a tmpfs of ours with the same options, and the dump records
 * it as external; the restore (prepared or runc's) bind-mounts the copy back. After the restore the
 * copies are detached here (the container keeps its bind).
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { copyTree } from '../../cp/index.ts';
import type { RuncStateFile } from '../../runc/index.ts';
import { LINUX, mount, mountPointsUnder, processesNaming, umount2 } from '../../sys/index.ts';

export interface TmpfsCopy {
  /** Where it is mounted in the container ("/dev"). */
  mountpoint: string;
  /** The external name in the image. */
  key: string;
  /** Our tmpfs holding the copy. */
  dir: string;
}

/** Mount points (in the container) of its tmpfs mounts, from runc's config; cgroup v1 adds one. */
export function tmpfsMountpoints(state: RuncStateFile): string[] {
  const rootfs = state.config.rootfs;
  const inRoot = (d: string) => path.posix.join('/', d.startsWith(rootfs) ? d.slice(rootfs.length) : d);
  const cgroupNs = (state.config.namespaces ?? []).some((n) => n.type === 'NEWCGROUP');
  const out: string[] = [];
  for (const m of state.config.mounts ?? []) {
    if (m.device === 'tmpfs') out.push(inRoot(m.destination));
    // runc mounts cgroup v1 as a tmpfs holding a bind per hierarchy.
    else if (m.device === 'cgroup' && !cgroupNs && !existsSync('/sys/fs/cgroup/cgroup.controllers'))
      out.push(inRoot(m.destination));
  }
  return out;
}

/** The superblock options of the tmpfs at `mountpoint` in a process's mount table (size, mode). */
export function tmpfsOptions(mountinfo: string, mountpoint: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post || pre.split(' ')[4] !== mountpoint) continue;
    const [fstype, , options] = post.split(' ');
    if (fstype !== 'tmpfs') return undefined;
    return (options ?? '')
      .split(',')
      .filter((o) => o !== 'rw' && o !== 'ro')
      .join(',');
  }
  return undefined;
}

/** Copies the tmpfs mounts of process `pid` into tmpfs mounts under `workPath`. */
export async function copyTmpfs(
  pid: number,
  mountpoints: readonly string[],
  workPath: string,
  signal?: AbortSignal,
): Promise<TmpfsCopy[]> {
  const mountinfo = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  const copies: TmpfsCopy[] = [];
  try {
    for (const [i, mp] of mountpoints.entries()) {
      const options = tmpfsOptions(mountinfo, mp);
      if (options === undefined) continue; // not a tmpfs there after all: CRIU dumps it as it is
      const copy = { mountpoint: mp, key: `zp-tmpfs-${i}`, dir: path.join(workPath, `tmpfs-${i}`) };
      mkdirSync(copy.dir, { recursive: true, mode: 0o700 });
      mount('tmpfs', copy.dir, 'tmpfs', 0, options);
      copies.push(copy);
      const from = `/proc/${pid}/root${mp}`;
      await copyTree(from, copy.dir, signal ? { signal } : {});
      // What is mounted below (devpts, mqueue, binds) is not copied, only its mount point.
      for (const name of readdirSync(from)) {
        const target = path.join(copy.dir, name);
        if (existsSync(target)) continue;
        if (lstatSync(path.join(from, name)).isDirectory()) mkdirSync(target);
        else writeFileSync(target, '');
      }
    }
  } catch (err) {
    releaseCopies(copies);
    throw err;
  }
  return copies;
}

/** For the dump: each tmpfs is external, under its key. */
export const dumpExternals = (copies: readonly TmpfsCopy[]) =>
  copies.map((c) => ({ key: c.mountpoint, value: c.key }));

/** For the restore: each key comes from its copy. */
export const restoreExternals = (copies: readonly TmpfsCopy[]) =>
  copies.map((c) => ({ key: c.key, value: c.dir }));

/**
 * The copies mounted in a work directory (`tmpfs-<i>`, named `zp-tmpfs-<i>` in the image), found
 * from the mount table: what a new worker restores with when no record lists them. The container's
 * mount point is not known this way; the restore does not need it.
 */
export function tmpfsCopiesIn(
  workPath: string,
  mountinfo = readFileSync('/proc/self/mountinfo', 'utf8'),
): TmpfsCopy[] {
  const out: TmpfsCopy[] = [];
  for (const dir of mountPointsUnder(mountinfo, workPath)) {
    const m = /^tmpfs-(\d+)$/.exec(path.basename(dir));
    if (m && path.dirname(dir) === workPath) out.push({ mountpoint: '', key: `zp-tmpfs-${m[1]}`, dir });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key, 'en', { numeric: true }));
}

/** Detaches our copies (a restored container keeps its own bind of them). */
export function releaseCopies(copies: readonly TmpfsCopy[]): void {
  for (const c of copies) {
    try {
      umount2(c.dir, LINUX.MNT_DETACH);
      rmdirSync(c.dir);
    } catch {
      // already gone
    }
  }
}

/** Unmounts everything mounted at or below `dir`, deepest first; failures are reported, not thrown. */
export function unmountUnder(dir: string, warn: (message: string, err: unknown) => void): void {
  let points: string[];
  try {
    points = mountPointsUnder(readFileSync('/proc/self/mountinfo', 'utf8'), dir);
  } catch (err) {
    warn('cannot read the mount table', err);
    return;
  }
  for (const p of points) {
    try {
      umount2(p, LINUX.MNT_DETACH);
    } catch (err) {
      warn(`cannot unmount ${p}`, err);
    }
  }
}

/**
 * What a dead worker's prepared restore left in `workPath`: the helpers named by it (a lazy-pages
 * daemon, a waiter that did not exit) are killed, CRIU's root bind is unmounted, the lazy-pages
 * socket removed. The tmpfs copies are left mounted: the next wake binds them.
 */
export function releaseStaleRestore(workPath: string, warn: (message: string, err: unknown) => void): void {
  for (const pid of processesNaming(workPath)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      warn(`cannot kill stale helper ${pid}`, err);
    }
  }
  unmountUnder(path.join(workPath, 'criu-root'), warn);
  rmSync(path.join(workPath, 'lazy-pages.socket'), { force: true });
}
