/**
 * The shim's own phase timings, from its JSON log lines (inside the environment: the node-wide
 * daemon's /var/log/zeropod/shim-k8s.io.log, or containerd's log for a per-pod shim). Only numeric fields ending in "Ms" are taken; a
 * field the shim stops logging simply disappears from the report.
 */
import { existsSync, readFileSync } from 'node:fs';

/** The node-wide daemon logs to its own file; a per-pod shim logs through containerd. */
const LOGS = ['/var/log/zeropod/shim-k8s.io.log', '/var/log/zeropod/containerd.log'];

/** Every `msg` line of one container, oldest first: its numeric *Ms fields. */
export function shimPhases(containerId: string, msg: string): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  const lines = LOGS.filter((f) => existsSync(f)).flatMap((f) => readFileSync(f, 'utf8').split('\n'));
  for (const line of lines) {
    if (!line.startsWith('{') || !line.includes(containerId) || !line.includes(`"${msg}"`)) continue;
    try {
      const rec = JSON.parse(line) as Record<string, unknown>;
      if (rec['msg'] !== msg || rec['container'] !== containerId) continue;
      const phases: Record<string, number> = { at: Date.parse(String(rec['time'])) };
      for (const [k, v] of Object.entries(rec)) if (k.endsWith('Ms') && typeof v === 'number') phases[k] = v;
      out.push(phases);
    } catch {
      // a line cut by a concurrent write: skip it
    }
  }
  return out.sort((a, b) => (a['at'] ?? 0) - (b['at'] ?? 0)).map(({ at: _at, ...rest }) => rest);
}
