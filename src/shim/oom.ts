/**
 * OOM kills in a container's memory cgroup, from the kernel's `oom_kill` counter: cgroup v1 keeps it
 * in memory.oom_control (where containerd's runc shim waits on an eventfd), v2 in memory.events
 * (where it watches with inotify); the node's version picks the file. Node can poll neither an
 * eventfd nor cheaply a single inotify watch per container, so the counter is read on a short
 * interval while the container runs (a child killed while the container goes on is reported too, as
 * the runc shim does) and once more when the init exits, so a TaskOOM always precedes the TaskExit
 * it explains.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cgroupVersion, type CgroupVersion } from './cgroups.ts';

/** How often a running container's counter is read. */
export const OOM_POLL_MS = 1000;

/** The file holding the counter, per cgroup version. */
export const OOM_FILE = { 1: 'memory.oom_control', 2: 'memory.events' } as const;

/** `oom_kill` of a memory cgroup; 0 when the cgroup is gone or has no such counter. */
export function readOomKills(
  memoryDir: string | undefined,
  version: CgroupVersion = cgroupVersion(),
): number {
  if (!memoryDir) return 0;
  try {
    return parseOomKills(readFileSync(path.join(memoryDir, OOM_FILE[version]), 'utf8'));
  } catch {
    return 0; // cgroup not there (yet, or any more): no OOM kills we can see
  }
}

export function parseOomKills(text: string): number {
  const m = /^oom_kill (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Calls `onOom` once per newly counted OOM kill; `check()` reads now (the init exited). */
export class OomWatcher implements Disposable {
  readonly #dir: string | undefined;
  readonly #onOom: () => void;
  readonly #version: CgroupVersion;
  #seen: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(memoryDir: string | undefined, onOom: () => void, version: CgroupVersion = cgroupVersion()) {
    this.#dir = memoryDir;
    this.#onOom = onOom;
    this.#version = version;
    this.#seen = readOomKills(memoryDir, version);
  }

  start(intervalMs = OOM_POLL_MS): void {
    if (this.#dir === undefined || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.check(), intervalMs).unref();
  }

  check(): void {
    const n = readOomKills(this.#dir, this.#version);
    if (n < this.#seen) this.#seen = n; // a new cgroup (the container was restored): count afresh
    if (n <= this.#seen) return;
    this.#seen = n;
    this.#onOom();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  [Symbol.dispose](): void {
    this.stop();
  }
}
