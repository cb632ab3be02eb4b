/**
 * A wake that a dead worker left in flight (docs/restart-safety.md). The prepared restore's waiter
 * had become `criu restore` when the worker died; CRIU, re-parented to the keeper, finishes on its
 * own and puts the app back, but runc's record and the sleeping container's record still name the
 * init the checkpoint killed: the worker that would have written them is gone. Taken for asleep,
 * the app would run on as nobody's process (seen in the e2e: `runc delete` then spent 10 s failing to
 * remove its cgroups, and the next wake's restore found the port taken).
 *
 * Decided from /proc and the work directory: wait (bounded) for the restore helpers to end, then the
 * pid CRIU wrote (`restored.pid`) counts only if that process runs inside the container's own
 * cgroups. runc's record then learns of it as the prepared restore would have told it.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../base/index.ts';
import { readRuncState, restoredRuncState, writeRuncState, type RuncStateFile } from '../../runc/index.ts';
import { cmdlineNames, readProcStatSync } from '../../sys/index.ts';
import { cgroupRoots } from './prepared-restore.ts';
import { unmountUnder } from './tmpfs-copies.ts';

/** How long a restore still running at adoption may take to finish. */
const RESTORE_WAIT_MS = 15_000;

/**
 * Whether a `/proc/<pid>/cgroup` text puts the process in the container's cgroups (runc's
 * `cgroup_paths`: controller -> absolute directory): every hierarchy both name must agree.
 */
export function inContainerCgroups(procCgroup: string, cgroupPaths: Record<string, string>): boolean {
  let matched = 0;
  for (const { controller, path: p } of cgroupRoots(procCgroup)) {
    const dir = cgroupPaths[controller];
    if (dir === undefined || p === '/') continue;
    if (!dir.endsWith(p)) return false;
    matched++;
  }
  return matched > 0;
}

/** A restore helper (the waiter or CRIU restoring) of this work directory that still runs. */
function restoreHelpersRunning(workPath: string): boolean {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Not the lazy-pages daemon: it serves the restored app's memory and ends by itself.
    if (cmdline.split('\0').includes('restore') && cmdlineNames(cmdline, workPath)) return true;
  }
  return false;
}

/**
 * The pid of the app a dead worker's wake brought back, with runc's record updated to name it; or
 * undefined when that wake did not happen (the container is asleep, or gone).
 */
export async function adoptOrphanedRestore(o: {
  id: string;
  runcRoot: string;
  workPath: string;
  /** The init the record names (the one the checkpoint killed): never the restored one. */
  oldPid: number;
  log: Logger;
}): Promise<number | undefined> {
  const deadline = performance.now() + RESTORE_WAIT_MS;
  while (restoreHelpersRunning(o.workPath)) {
    if (performance.now() > deadline) {
      o.log.warn('a restore left by the last worker still runs: taken as not done', { workPath: o.workPath });
      return undefined;
    }
    await sleep(50);
  }
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(o.workPath, 'restored.pid'), 'utf8').trim());
  } catch {
    return undefined; // no restore got that far
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === o.oldPid) return undefined;
  const stat = readProcStatSync(pid);
  if (stat === undefined || stat.state === 'Z') return undefined;
  let state: RuncStateFile;
  let procCgroup: string;
  try {
    state = readRuncState(o.runcRoot, o.id);
    procCgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined;
  }
  // A stale pid file (an earlier wake's, that pid reused since) names a process elsewhere.
  if (!inContainerCgroups(procCgroup, state.cgroup_paths ?? {})) return undefined;
  const descriptors = [0, 1, 2].map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '/dev/null';
    }
  });
  writeRuncState(
    o.runcRoot,
    restoredRuncState(state, { pid, startTime: stat.startTime, created: new Date(), descriptors }),
  );
  // The dead worker would have unmounted CRIU's root after the restore.
  unmountUnder(path.join(o.workPath, 'criu-root'), (m, err) => o.log.debug(m, { error: String(err) }));
  o.log.info('a wake the last worker began finished without it: adopting the restored app', { pid });
  return pid;
}
