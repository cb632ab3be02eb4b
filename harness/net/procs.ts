/** Processes of a container, found by its id in their cgroup paths (the environment's own /proc). */
import { readdirSync, readFileSync } from 'node:fs';

export function pidsInContainer(containerId: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cgroup`, 'utf8').includes(containerId)) out.push(Number(d));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** Mount points whose path mentions `needle` (e.g. a container id). */
export function mountsMentioning(needle: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(needle));
}

/** argv[3] of the shim's prepared-restore waiter (`sh -c SCRIPT zeropod-restore criu restore ...`). */
const WAITER_NAME = 'zeropod-restore';

/** Whether `pid` is a prepared restore's waiter (it sits in a sleeping container's cgroups). */
export function isRestoreWaiter(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[3] === WAITER_NAME;
  } catch {
    return false;
  }
}

/** The container's own processes: those in its cgroups, less the shim's restore waiter. */
export function appPidsInContainer(containerId: string): number[] {
  return pidsInContainer(containerId).filter((p) => !isRestoreWaiter(p));
}
