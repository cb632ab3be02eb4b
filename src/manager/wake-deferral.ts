/**
 * Holds back what the manager does about a wake (label patch, event, resize back) for a short while.
 * At the wake's moment the restored app, the shim and the client all want the node's CPUs; the
 * manager's calls, and the work they cause in the API server and kubelet (the resize reaches the
 * shim through UpdateContainerResources), would compete with them. Measured in docs/manager.md.
 *
 * Order is kept: once something waits, everything after it waits behind it, so a pod's label never
 * goes back in time. The labels still land within a second of the phase change.
 */
import type { Effect } from './node-view.ts';

export const WAKE_DEFER_MS = 300;

export class WakeDeferral {
  readonly #apply: (e: Effect) => void;
  readonly #delayMs: number;
  #pending: Effect[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(apply: (e: Effect) => void, delayMs = WAKE_DEFER_MS) {
    this.#apply = apply;
    this.#delayMs = delayMs;
  }

  /** Applies the effects now, or after the delay if they are a wake's (or something waits already). */
  push(effects: readonly Effect[], wake: boolean): void {
    if (!wake && this.#timer === undefined) {
      for (const e of effects) this.#apply(e);
      return;
    }
    this.#pending.push(...effects);
    this.#timer ??= setTimeout(() => this.flush(), this.#delayMs);
  }

  /** Applies everything waiting, in order (the timer's end, or the manager closing). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    for (const e of batch) this.#apply(e);
  }
}
