/**
 * System V shared memory segments of an IPC namespace, and removing the ones a dead process left.
 *
 * Why: postgres keeps a small SysV segment (its interlock) for its whole life and never removes it
 * while it runs. A pod's containers share the pod's IPC namespace, so when a checkpointed postgres is
 * stopped the segment stays there, unattached; CRIU, restoring into that same namespace (runc joins
 * it), recreates the segment from the image and fails with "Failed to create shm set: File exists".
 * A segment nobody is attached to whose creator and last user are gone belongs to no one alive: the
 * image has its content, so removing it lets the restore put it back.
 *
 * /proc/sysvipc/shm shows the namespace of the thread reading it, and shmctl acts in the namespace of
 * the calling thread: both run synchronously on this thread inside a setns(CLONE_NEWIPC) window.
 */
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { internal } from '../base/index.ts';
import { libcHandle, setns } from './libc.ts';
import { fromNodeError, sysError } from './sys-error.ts';

const CLONE_NEWIPC = 0x08000000;
const IPC_RMID = 0;

export interface SysvShmSegment {
  key: number;
  id: number;
  size: number;
  /** Creator and last attach/detach, as pids of the reader's pid namespace. */
  cpid: number;
  lpid: number;
  nattch: number;
}

/** Parses /proc/sysvipc/shm (a header line, then one whitespace-separated line per segment). */
export function parseSysvShm(text: string): SysvShmSegment[] {
  const out: SysvShmSegment[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 7) continue;
    const [key, id, , size, cpid, lpid, nattch] = f.map(Number);
    if ([key, id, size, cpid, lpid, nattch].some((n) => n === undefined || !Number.isFinite(n))) continue;
    out.push({ key: key!, id: id!, size: size!, cpid: cpid!, lpid: lpid!, nattch: nattch! });
  }
  return out;
}

/** Unattached, and neither its creator nor its last user is alive. */
export function isOrphaned(s: SysvShmSegment, alive: (pid: number) => boolean): boolean {
  return s.nattch === 0 && !alive(s.cpid) && !alive(s.lpid);
}

let shmctl: ((id: number, cmd: number, buf: null) => number) | undefined;

/**
 * Removes the orphaned segments of the IPC namespace at `ipcNsPath` (e.g. /proc/<pid>/ns/ipc);
 * returns what it removed. Pids are checked in this process's /proc.
 */
export function removeOrphanedShm(
  ipcNsPath: string,
  alive: (pid: number) => boolean = (pid) => pid > 0 && existsSync(`/proc/${pid}`),
): SysvShmSegment[] {
  const { koffi, lib } = libcHandle();
  shmctl ??= lib.func('int shmctl(int shmid, int cmd, void *buf)') as unknown as NonNullable<typeof shmctl>;
  const open = (p: string) => {
    try {
      return openSync(p, 'r');
    } catch (err) {
      throw fromNodeError(err, 'open IPC namespace', { path: p });
    }
  };
  const home = open('/proc/thread-self/ns/ipc');
  try {
    const target = open(ipcNsPath);
    try {
      setns(target, CLONE_NEWIPC);
    } finally {
      closeSync(target);
    }
    try {
      const orphans = parseSysvShm(readFileSync('/proc/sysvipc/shm', 'utf8')).filter((s) =>
        isOrphaned(s, alive),
      );
      for (const s of orphans) {
        if (shmctl!(s.id, IPC_RMID, null) === -1) {
          throw sysError('shmctl', koffi.errno(), { details: { id: s.id, ipcNsPath } });
        }
      }
      return orphans;
    } finally {
      try {
        setns(home, CLONE_NEWIPC);
      } catch (err) {
        throw internal('could not return to the original IPC namespace', {
          cause: err,
          details: { ipcNsPath, fatal: true },
        });
      }
    }
  } finally {
    closeSync(home);
  }
}
