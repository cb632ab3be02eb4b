/**
 * The phases of a scaled container, each carrying only what it has: a running container has an idle
 * counter and nothing of a checkpoint; a checkpointing one has the abort handle of the dump in
 * flight and what the dump changed so far (frozen, connections held), which is exactly what a
 * rollback must undo; a sleeping one has its held connections and the kit for its wake (NextWake).
 *
 *   starting -> running -> checkpointing -> scaled-down -> restoring -> running
 *                  ^            |  (dropped or failed: rolled back)                |
 *                  +------------+                                                  |
 *                  +---------------------------------------------------------------+
 *   any -> stopped (killed, deleted, died, or a wake that could not bring it back)
 */
import type { ExitInfo } from '../process.ts';
import type { IdleTracker } from './idle.ts';
import type { Listener, RedirectTable } from './scale-types.ts';

/** The activator and the nft table pointing at it: set up once, for the container's life. */
export interface Net {
  nft: RedirectTable;
  activator: Listener;
}

export interface Running {
  kind: 'running';
  net: Net;
  idle: IdleTracker;
  /** Checkpoints failed in a row (the idle wait doubles per failure; five stop the attempts). */
  failures: number;
  /** The last wake's chores off its path (redirect off, image removal): the next dump awaits them. */
  settling: Promise<void>;
}

/** What the dump in flight has changed so far: what a rollback undoes. */
export interface DumpProgress {
  startedAt: number;
  /** The container's cgroup was frozen by us (runc pause) before the dump. */
  frozen: boolean;
  freezerDir: string | undefined;
  /** Connections dumped with their TCP state; their peers' packets are held by nft. */
  held: number;
  /** The app's process is being ended by us or by CRIU: its exit is not the container's. */
  ending: boolean;
  /** The app died on its own during the checkpoint (reported to containerd): end in stopped. */
  died: ExitInfo | undefined;
  /** The init we killed, resolved when its exit was handled. */
  reaped: { pid: number; resolve: () => void } | undefined;
  marks: { prepared?: number; frozen?: number; dumped?: number };
}

export interface Checkpointing {
  kind: 'checkpointing';
  net: Net;
  /** Aborted by kill, delete, detach or the checkpoint's timeout: the runc/CRIU child is killed. */
  abort: AbortController;
  /** Failed checkpoints in a row before this one (the rollback counts this one if it failed). */
  failures: number;
  dump: DumpProgress;
}

export interface ScaledDown {
  kind: 'scaled-down';
  net: Net;
  /** Connections in the image with their TCP state (the restore puts them back). */
  held: number;
}

export interface Restoring {
  kind: 'restoring';
  net: Net;
  held: number;
}

export interface Stopped {
  kind: 'stopped';
  /** Still to close on dispose (undefined when it never listened). */
  net: Net | undefined;
}

export type Phase = { kind: 'starting' } | Running | Checkpointing | ScaledDown | Restoring | Stopped;

export function newDump(startedAt: number): DumpProgress {
  return {
    startedAt,
    frozen: false,
    freezerDir: undefined,
    held: 0,
    ending: false,
    died: undefined,
    reaped: undefined,
    marks: {},
  };
}

/** The net of any phase that has one. */
export function netOf(p: Phase): Net | undefined {
  return p.kind === 'starting' ? undefined : p.net;
}

/**
 * Whether containerd hears of an exit of the init: not of those we cause (the checkpoint's kill,
 * CRIU's), nor of a process that is no longer the init (one reaped late). Resolves the wait of the
 * checkpoint that killed it.
 */
export function exitVerdict(p: Phase, pid: number, initPid: number): 'report' | 'suppress' {
  if (p.kind === 'checkpointing' && p.dump.reaped?.pid === pid) p.dump.reaped.resolve();
  if (pid !== initPid) return 'suppress';
  if (p.kind === 'scaled-down' || (p.kind === 'checkpointing' && p.dump.ending)) return 'suppress';
  return 'report';
}
