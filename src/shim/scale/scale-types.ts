/**
 * What a scaled container is made of, apart from its behaviour (scaled-container.ts): its phases and
 * the moves between them, the counters it reports, and what it is given at construction.
 */
import type { Logger } from '../../base/index.ts';

export type ScalePhase = 'starting' | 'running' | 'checkpointing' | 'scaled-down' | 'restoring' | 'stopped';

export const transitions = {
  // starting -> scaled-down: a sleeping container re-adopted by a new worker (adoptAsleep).
  starting: ['running', 'scaled-down', 'stopped'],
  running: ['checkpointing', 'stopped'],
  checkpointing: ['running', 'scaled-down', 'stopped'],
  'scaled-down': ['restoring', 'stopped'],
  restoring: ['running', 'scaled-down', 'stopped'],
  stopped: [],
} as const satisfies Record<ScalePhase, readonly ScalePhase[]>;

export interface ScaleStats {
  checkpoints: number;
  restores: number;
  failedCheckpoints: number;
  failedRestores: number;
  abortedCheckpoints: number;
  /** Wakes that had to start the app afresh: its memory state was lost (reported, never hidden). */
  freshStarts: number;
  lastCheckpointMs?: number;
  lastRestoreMs?: number;
  /** How the last wake brought the app back. */
  lastWakeVia?: WakeVia;
  lastError?: string;
}

export type WakeVia = 'prepared' | 'runc restore' | 'fresh start';

export interface ScaleDeps {
  /** Page images from this size on are restored lazily (see lazyPagesMinBytes in extension.ts). */
  lazyPagesMinBytes: number;
  netnsPath: string;
  nodeAddresses: ReadonlySet<string>;
  imageRoot: string;
  workRoot: string;
  log: Logger;
  /** A keeper's fd store (docs/restart-safety.md): the activator's listeners outlive a worker. */
  fds?: {
    inherited(key: string): number | undefined;
    keep(key: string, fd: number): void;
    drop(key: string): void;
  };
}
