/**
 * Writes to a container's cgroup that have a v1 and a v2 form, done on the file directly (no runc
 * process), the node's version picking the form:
 * - freezing: v1 `freezer.state` FROZEN/THAWED in the freezer hierarchy; v2 `cgroup.freeze` 1/0 in the
 *   unified directory (a core file of every non-root cgroup, no controller to enable). Both are
 *   asynchronous: the state reads back as frozen once every task stopped (v1 `FROZEN`, v2 `frozen 1`
 *   in cgroup.events).
 * - reclaiming what an emptied memory cgroup still has charged (page cache of the files its tasks
 *   read or wrote): v1 `memory.force_empty` (only without tasks), v2 `memory.reclaim` of as many
 *   bytes as are charged (Linux 5.19+; the kernel reclaims what it can and says EAGAIN if short,
 *   which is not an error here).
 * Failures throw (with the file in the message): callers fall back (`runc resume`) or ignore.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cgroupVersion, type CgroupVersion } from './cgroups.ts';

/** `dir`: the freezer directory (v1) or the unified directory (v2), as `CgroupDirs.get('freezer')`. */
export function setFrozen(dir: string, frozen: boolean, version: CgroupVersion = cgroupVersion()): void {
  if (version === 2) writeFileSync(path.join(dir, 'cgroup.freeze'), frozen ? '1' : '0');
  else writeFileSync(path.join(dir, 'freezer.state'), frozen ? 'FROZEN' : 'THAWED');
}

/** Whether every task in the cgroup is frozen (a freeze in progress is not frozen yet). */
export function isFrozen(dir: string, version: CgroupVersion = cgroupVersion()): boolean {
  if (version === 2) return /^frozen 1$/m.test(readFileSync(path.join(dir, 'cgroup.events'), 'utf8'));
  return readFileSync(path.join(dir, 'freezer.state'), 'utf8').trim() === 'FROZEN';
}

/** `dir`: the memory directory (v1) or the unified directory (v2), as `CgroupDirs.get('memory')`. */
export function reclaimMemory(dir: string, version: CgroupVersion = cgroupVersion()): void {
  if (version === 1) {
    writeFileSync(path.join(dir, 'memory.force_empty'), '0');
    return;
  }
  const charged = readFileSync(path.join(dir, 'memory.current'), 'utf8').trim();
  if (!/^\d+$/.test(charged) || charged === '0') return;
  try {
    writeFileSync(path.join(dir, 'memory.reclaim'), charged);
  } catch (err) {
    // Short of the whole amount (kernel objects stay charged): what could go went; the usual case.
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
  }
}
