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
