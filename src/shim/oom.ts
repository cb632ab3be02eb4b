/**
 * OOM kills in a container's cgroup v1 memory controller. containerd's runc shim is told by an
 * eventfd on memory.oom_control; Node cannot poll an eventfd, so the kernel's `oom_kill` counter in
 * the same file is read instead: on a short interval while the container runs (a child killed while
 * the container goes on is reported too, as the runc shim does) and once more when the init exits,
 * so a TaskOOM always precedes the TaskExit it explains.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** How often a running container's counter is read. */
export const OOM_POLL_MS = 1000;

/** `oom_kill` from memory.oom_control; 0 when the cgroup is gone or has no such counter. */
export function readOomKills(memoryDir: string | undefined): number {
  if (!memoryDir) return 0;
  try {
    return parseOomKills(readFileSync(path.join(memoryDir, 'memory.oom_control'), 'utf8'));
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
  #seen: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(memoryDir: string | undefined, onOom: () => void) {
    this.#dir = memoryDir;
    this.#onOom = onOom;
    this.#seen = readOomKills(memoryDir);
  }

  start(intervalMs = OOM_POLL_MS): void {
    if (this.#dir === undefined || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.check(), intervalMs).unref();
  }

  check(): void {
    const n = readOomKills(this.#dir);
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
