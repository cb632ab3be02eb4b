/**
 * Idle tracking from a cumulative activity counter (packets to the container's ports from clients
 * that count). Sampling can be sparse: the counter never misses traffic between samples.
 */
export class IdleTracker {
  readonly #scaledownMs: number;
  #lastCount: number | undefined;
  #lastActivityAt: number;

  constructor(scaledownMs: number, now: number) {
    this.#scaledownMs = scaledownMs;
    this.#lastActivityAt = now;
  }

  get intervalMs(): number {
    return idleIntervalMs(this.#scaledownMs);
  }

  /** Feeds a counter sample; returns true when the container has been idle long enough. */
  sample(count: number, now: number): boolean {
    if (this.#lastCount === undefined || count !== this.#lastCount) {
      if (this.#lastCount !== undefined) this.#lastActivityAt = now;
      this.#lastCount = count;
    }
    return now - this.#lastActivityAt >= this.#scaledownMs;
  }

  /** Something else counts as activity (an exec, a wake). */
  touch(now: number): void {
    this.#lastActivityAt = now;
  }

  idleForMs(now: number): number {
    return now - this.#lastActivityAt;
  }
}

/** Sampling interval: a quarter of the idle period, between 250 ms and 15 s. */
export function idleIntervalMs(scaledownMs: number): number {
  return Math.min(15_000, Math.max(250, Math.floor(scaledownMs / 4)));
}
