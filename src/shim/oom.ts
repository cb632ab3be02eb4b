/** OOM kills of a container, from its cgroup v1 memory controller's counter. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { OciSpec } from './container.ts';

const MEMORY_CGROUP_ROOT = '/sys/fs/cgroup/memory';

/** The container's memory cgroup directory (cgroupfs driver: the path is relative to the root). */
export function memoryCgroupDir(spec: OciSpec): string | undefined {
  const p = spec.linux?.cgroupsPath;
  if (!p || p.includes(':')) return undefined; // systemd-style paths are not used on this node
  return path.join(MEMORY_CGROUP_ROOT, p);
}

/** `oom_kill` from memory.oom_control, 0 when the cgroup is gone or has no such counter. */
export function readOomKills(spec: OciSpec): number {
  const dir = memoryCgroupDir(spec);
  if (!dir) return 0;
  try {
    const text = readFileSync(path.join(dir, 'memory.oom_control'), 'utf8');
    const m = /^oom_kill (\d+)$/m.exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // cgroup not there (yet, or any more): no OOM kills we can see
  }
}
