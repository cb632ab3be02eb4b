/**
 * An explicit lifecycle: a closed union of phases and the moves allowed between them.
 * Illegal moves throw; every move is logged and reported to listeners.
 */
import { failedPrecondition } from './errors.ts';
import type { Logger } from './logger.ts';

export type Transitions<P extends string> = { readonly [K in P]: readonly P[] };

export interface PhaseChange<P extends string> {
  from: P;
  to: P;
  /** Milliseconds spent in `from`. */
  tookMs: number;
}

export class StateMachine<P extends string> {
  #phase: P;
  #since = performance.now();
  readonly #table: Transitions<P>;
  readonly #log: Logger;
  readonly #listeners = new Set<(change: PhaseChange<P>) => void>();

  constructor(initial: P, table: Transitions<P>, log: Logger) {
    this.#phase = initial;
    this.#table = table;
    this.#log = log;
  }

  get phase(): P {
    return this.#phase;
  }

  is(...phases: P[]): boolean {
    return phases.includes(this.#phase);
  }

  can(to: P): boolean {
    return this.#table[this.#phase].includes(to);
  }

  /** Moves to `to`; `from`, when given, must contain the current phase. */
  transition(to: P, from?: readonly P[]): PhaseChange<P> {
    const cur = this.#phase;
    if ((from !== undefined && !from.includes(cur)) || !this.#table[cur].includes(to)) {
      throw failedPrecondition(`illegal transition ${cur} -> ${to}`, { details: { from: cur, to } });
    }
    const now = performance.now();
    const change = { from: cur, to, tookMs: Math.round((now - this.#since) * 1000) / 1000 };
    this.#phase = to;
    this.#since = now;
    this.#log.info('phase changed', change);
    for (const l of this.#listeners) l(change);
    return change;
  }

  onChange(listener: (change: PhaseChange<P>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
