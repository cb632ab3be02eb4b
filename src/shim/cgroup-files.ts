/**
 * Reading cgroupfs files the way containerd's cgroups library does: a missing controller or file is
 * a zero (or absent) metric, never an error, because stats must still answer for what is there.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** cgroup v2 writes "max" for no limit; containerd reports it as the largest uint64. */
export const MAX_U64 = 2n ** 64n - 1n;

export function readCgroupFile(dir: string | undefined, file: string): string | undefined {
  if (!dir) return undefined; // controller not mounted: the metric stays zero
  try {
    return readFileSync(path.join(dir, file), 'utf8');
  } catch {
    return undefined; // controller or file absent: the metric stays zero
  }
}

/** A single-number file; `max` is `maxAs` (v1 pids.max reads as 0, v2 files as MAX_U64). */
export function parseU64(s: string | undefined, maxAs = 0n): bigint {
  const t = s?.trim();
  if (t === 'max') return maxAs;
  return t && /^\d+$/.test(t) ? BigInt(t) : 0n;
}

/** `key value` lines (memory.stat, cpu.stat, memory.events, ...) -> key -> value. */
export function parseKeyed(s: string | undefined): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const line of (s ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v && /^\d+$/.test(v)) m.set(k, BigInt(v));
  }
  return m;
}
