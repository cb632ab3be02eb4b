/**
 * The shim's own phase timings, from its JSON log lines in containerd's log (inside the
 * environment: /var/log/zeropod/containerd.log). Only numeric fields ending in "Ms" are taken; a
 * field the shim stops logging simply disappears from the report.
 */
import { existsSync, readFileSync } from 'node:fs';

const LOG = '/var/log/zeropod/containerd.log';

/** Every `msg` line of one container, oldest first: its numeric *Ms fields. */
export function shimPhases(containerId: string, msg: string): Record<string, number>[] {
  if (!existsSync(LOG)) return [];
  const out: Record<string, number>[] = [];
  for (const line of readFileSync(LOG, 'utf8').split('\n')) {
    if (!line.startsWith('{') || !line.includes(containerId) || !line.includes(`"${msg}"`)) continue;
    try {
      const rec = JSON.parse(line) as Record<string, unknown>;
      if (rec['msg'] !== msg || rec['container'] !== containerId) continue;
      const phases: Record<string, number> = {};
      for (const [k, v] of Object.entries(rec)) if (k.endsWith('Ms') && typeof v === 'number') phases[k] = v;
      out.push(phases);
    } catch {
      // a line cut by a concurrent write: skip it
    }
  }
  return out;
}
