/**
 * What a scaled container is made of, apart from its behaviour (scaled-container.ts): the names of
 * its phases and the moves between them, the counters it reports, what it is given at construction,
 * and the narrow views of the tools it drives (tools.ts wires the real ones; unit tests inject fakes).
 */
import type { Logger } from '../../base/index.ts';
import type { LazyPagesDaemon } from '../../criu/index.ts';
import type { HeldConnection } from '../../nft/index.ts';
import type { TcpConnection } from '../../sys/index.ts';
import type { ActivatorOptions } from './activator.ts';
import type { SpliceTarget } from '../keeper/index.ts';
import type { TrafficOptions } from './traffic.ts';
import type { TmpfsCopy } from './tmpfs-copies.ts';

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

export function newStats(): ScaleStats {
  return {
    checkpoints: 0,
    restores: 0,
    failedCheckpoints: 0,
    failedRestores: 0,
    abortedCheckpoints: 0,
    freshStarts: 0,
  };
}

export type WakeVia = 'prepared' | 'runc restore' | 'fresh start';

/** The container's nft table (src/nft): counter, wake redirect, held connections. */
export interface RedirectTable {
  install(activatorPorts: readonly number[]): Promise<void>;
  redirect(): Promise<void>;
  unredirect(): Promise<void>;
  hold(conns: readonly HeldConnection[]): Promise<void>;
  release(): Promise<void>;
  activity(): Promise<number>;
  remove(): Promise<void>;
}

/** The activator (activator.ts): listens beside the app's ports, wakes it on a connection. */
export interface Listener {
  readonly ports: number[];
  /** Connections accepted since the last reset (a wake coming while the dump is written). */
  accepted: number;
  /** Takes up the connections a previous worker held (once the phase is known). */
  resumeHeld(): void;
  close(): Promise<void>;
}

/** A restore made ready while the app sleeps (prepared-restore.ts). */
export interface PreparedWake {
  /** Aborting kills CRIU (the waiter became it). */
  run(signal?: AbortSignal): Promise<number>;
  readonly timings: { criuMs?: number; recordMs?: number; startedAt?: number };
  readonly lazyPages: LazyPagesDaemon | undefined;
  cancel(): Promise<void>;
}

/** What one wake takes (next-wake.ts), once. */
export interface WakeKit {
  prepared: PreparedWake | undefined;
  /** External tmpfs mounts of the image and the copies to bind. */
  tmpfsExternals: { key: string; value: string }[];
  /** Detaches the tmpfs copies (once the restore has bound them). */
  release(): void;
}

/** What the next wake needs, gathered around each checkpoint (next-wake.ts). */
export interface WakePreparation {
  beforeDump(pids: readonly number[]): Promise<void>;
  readonly dumpExternals: { key: string; value: string }[];
  afterStop(o: {
    imagePath: string;
    tcpEstablished: boolean;
    lazyPages: boolean;
    prepare: boolean;
  }): Promise<void>;
  adopt(copies: readonly TmpfsCopy[]): void;
  readonly copies: readonly TmpfsCopy[];
  take(): WakeKit;
  discard(): void;
  dispose(): Promise<void>;
}

/**
 * The process boundaries of the scale logic: nft, the activator's sockets, CRIU (lazy pages, the
 * prepared restore), /proc and cgroupfs, the clock. runc and the reaper come with the Container.
 */
export interface ScaleTools {
  now(): number;
  /** The container's table (traffic.ts), installed by its `install`. */
  table(o: TrafficOptions): RedirectTable;
  listen(o: ActivatorOptions): Promise<Listener>;
  wakePreparation(o: { workPath: string; log: Logger; warnOnce: (message: string) => void }): WakePreparation;
  dirtyTracking(): Promise<boolean>;
  /** The established TCP connections of these processes. */
  openConnections(pids: readonly number[]): Promise<TcpConnection[]>;
  /** Closes (resets) the established connections to these local ports in the pod; how many went. */
  closeInbound(netnsPath: string, ports: readonly number[]): Promise<number>;
  /** The freezer (v1) or unified (v2) cgroup directory of a process. */
  freezerDirOf(pid: number): string | undefined;
  /** The processes of a cgroup directory (the init alone when it cannot be read). */
  processesIn(dir: string | undefined, init: number): number[];
  listeningPorts(pids: readonly number[]): Promise<number[]>;
  /** Thaws a frozen cgroup directly (no runc process); throws when it cannot. */
  thaw(dir: string): void;
  /** Best effort: what an emptied memory cgroup still has charged goes. */
  reclaimMemory(dir: string | undefined): void;
  pagesBytes(imagePath: string): number;
  startLazyPages(o: { imagePath: string; workPath: string }): Promise<LazyPagesDaemon>;
  /** Until a killed process is reaped (`reaped` resolves once its exit was handled), bounded. */
  untilReaped(pid: number, reaped: Promise<void>, timeoutMs: number): Promise<void>;
}

/** Bounds of the operations on the container's queue (each also aborts on kill, delete, detach). */
export interface ScaleTimeouts {
  checkpointMs: number;
  wakeMs: number;
  tickMs: number;
  killMs: number;
  disposeMs: number;
}

/** Generous: a dump of gigabytes on a loaded node takes its time; a hung CRIU must still end. */
export const DEFAULT_TIMEOUTS: ScaleTimeouts = {
  checkpointMs: 300_000,
  wakeMs: 120_000,
  tickMs: 30_000,
  killMs: 60_000,
  disposeMs: 60_000,
};

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
    readonly inheritedKeys: readonly string[];
    keep(key: string, fd: number): void;
    drop(key: string): void;
    /** The keeper proxies the connection kept under `key` to the app (keeper/messages.ts). */
    splice(key: string, target: SpliceTarget): Promise<void>;
  };
  /** Fakes for unit tests; production uses tools.ts. */
  tools?: Partial<ScaleTools>;
  timeouts?: Partial<ScaleTimeouts>;
}
