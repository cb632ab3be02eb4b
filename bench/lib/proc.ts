/** /proc readings inside the environment (its own PID namespace: every process here is the node's). */
import { readdirSync, readFileSync } from 'node:fs';

export function processes(): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      out.push({
        pid: Number(d),
        cmdline: readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(),
      });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** Proportional set size and RSS of a process in MiB (smaps_rollup), or undefined if it is gone. */
export function memoryOf(pid: number): { pssMiB: number; rssMiB: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { pssMiB: kb('Pss') / 1024, rssMiB: kb('Rss') / 1024 };
  } catch {
    return undefined;
  }
}

/** MemTotal - MemAvailable of the node (the VM: /proc/meminfo is not namespaced), MiB. */
export function nodeMemoryUsedMiB(): number {
  const text = readFileSync('/proc/meminfo', 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return (kb('MemTotal') - kb('MemAvailable')) / 1024;
}

/** The shim serving a pod: its cmdline names the binary and, with -id, the pod's sandbox id. */
export function shimPids(binary: string, sandboxId: string): number[] {
  return processes()
    .filter((p) => p.cmdline.includes(binary) && p.cmdline.includes(sandboxId))
    .map((p) => p.pid);
}

/** Every process running a shim binary (with the node-wide daemon: one for all pods). */
export function shimProcesses(binary: string): number[] {
  return processes()
    .filter((p) => p.cmdline.includes(binary) && !p.cmdline.startsWith('sh ') && !p.cmdline.includes('pgrep'))
    .map((p) => p.pid);
}

/** Sum of the PSS of every process of a shim binary, MiB. */
export function shimsPssMiB(binary: string): number {
  return shimProcesses(binary).reduce((a, pid) => a + (memoryOf(pid)?.pssMiB ?? 0), 0);
}

/** `count` samples of `read`, `everyMs` apart. */
export async function samples(read: () => number, count: number, everyMs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, everyMs));
    out.push(read());
  }
  return out;
}
