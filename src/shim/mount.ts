/**
 * Mounts the rootfs containerd hands us (overlay snapshots, binds) into the bundle, and back out.
 *
 * Plain filesystems (an overlay snapshot, the common case) are mounted with mount(2): the
 * `mount` binary costs an exec and util-linux's start (~3 ms, twice per pod: sandbox and app, on
 * the pod's start). Binds, and anything whose options need more than one call or do not fit the
 * kernel's one-page data limit, go through `mount`, which knows those cases.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { internal } from '../base/index.ts';
import { LINUX, mount, umount2 } from '../sys/index.ts';

const run = promisify(execFile);

export interface RootfsMount {
  type: string;
  source: string;
  options: readonly string[];
}

const FLAGS: Record<string, number> = {
  ro: LINUX.MS_RDONLY,
  rw: 0,
  nosuid: LINUX.MS_NOSUID,
  nodev: LINUX.MS_NODEV,
  noexec: LINUX.MS_NOEXEC,
  noatime: LINUX.MS_NOATIME,
  nodiratime: LINUX.MS_NODIRATIME,
  relatime: LINUX.MS_RELATIME,
};

/** Options that need `mount`'s own logic (several calls, propagation, loop devices, ...). */
const NEEDS_MOUNT_BINARY =
  /^(bind|rbind|remount|loop|shared|rshared|slave|rslave|private|rprivate|unbindable|runbindable|x-.*)$/;
const PAGE = 4096;

/** mount(2)'s flags and data for these options, or undefined when only `mount` can do it. */
export function syscallMount(m: RootfsMount): { flags: number; data: string } | undefined {
  if (m.type === 'bind' || m.type === 'rbind') return undefined;
  let flags = 0;
  const data: string[] = [];
  for (const o of m.options) {
    if (NEEDS_MOUNT_BINARY.test(o)) return undefined;
    const f = FLAGS[o];
    if (f === undefined) data.push(o);
    else flags |= f;
  }
  const text = data.join(',');
  return text.length < PAGE ? { flags, data: text } : undefined;
}

export async function mountAll(mounts: readonly RootfsMount[], target: string): Promise<void> {
  mkdirSync(target, { recursive: true });
  for (const m of mounts) {
    try {
      const direct = syscallMount(m);
      if (direct) {
        mount(m.source, target, m.type, direct.flags, direct.data);
        continue;
      }
      const type = m.type === 'bind' || m.type === 'rbind' ? 'none' : m.type;
      const args = ['-t', type, m.source, target];
      if (m.options.length > 0) args.push('-o', m.options.join(','));
      await run('mount', args);
    } catch (err) {
      throw internal(`mounting the rootfs (${m.type}) failed`, {
        cause: err,
        details: { target, source: m.source },
      });
    }
  }
}

/** Unmounts everything at `target` (lazily: a dying process may still hold it). Idempotent. */
export function unmountAll(target: string): Promise<void> {
  for (let i = 0; i < 8; i++) {
    try {
      umount2(target, LINUX.MNT_DETACH);
    } catch {
      break; // nothing (more) mounted there
    }
  }
  return Promise.resolve();
}
