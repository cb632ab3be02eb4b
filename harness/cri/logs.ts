/**
 * Container logs as the CRI writes them (kubelet reads the same files): one file per container under
 * the pod's log directory, each line `<RFC3339Nano time> <stdout|stderr> <P|F> <content>`; `P` marks
 * a partial line that the next entry continues.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { unavailable } from '../../src/base/index.ts';
import type { RunningPod } from './cri.ts';

export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** The full line (partial entries joined), without its newline. */
  text: string;
}

/** `<logDirectory>/<name>/0.log`: where `Cri.createContainer` points containerd. */
export function containerLogPath(pod: RunningPod, containerName: string): string {
  return path.join(pod.logDirectory, containerName, '0.log');
}

/** Parses CRI log file content into whole lines per stream (partial entries joined). */
export function parseCriLog(content: string): LogLine[] {
  const out: LogLine[] = [];
  const pending = new Map<string, string>();
  for (const raw of content.split('\n')) {
    if (raw === '') continue;
    const m = /^\S+ (stdout|stderr) ([PF]) ?(.*)$/s.exec(raw);
    if (!m) continue; // not a CRI log entry (a torn write while containerd writes it)
    const stream = m[1] as 'stdout' | 'stderr';
    const text = (pending.get(stream) ?? '') + (m[3] ?? '');
    if (m[2] === 'P') {
      pending.set(stream, text);
      continue;
    }
    pending.delete(stream);
    out.push({ stream, text });
  }
  return out;
}

/** The container's log so far; empty when the file does not exist yet. */
export function readContainerLog(pod: RunningPod, containerName: string): LogLine[] {
  try {
    return parseCriLog(readFileSync(containerLogPath(pod, containerName), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Polls the log until `done(lines)` holds (bounded by `waitMs`); the lines then. */
export async function waitForLog(
  pod: RunningPod,
  containerName: string,
  done: (lines: LogLine[]) => boolean,
  waitMs = 15_000,
): Promise<LogLine[]> {
  const deadline = performance.now() + waitMs;
  for (;;) {
    const lines = readContainerLog(pod, containerName);
    if (done(lines)) return lines;
    if (performance.now() > deadline) {
      throw unavailable(`log of ${containerName} did not show what was awaited`, {
        details: { lines: lines.slice(-20) },
      });
    }
    await sleep(50);
  }
}
