/**
 * What the manager knows about every scaled container on its node, built only from the shims'
 * snapshots and phase changes (pure: no I/O). Each input returns what the outside must do: set a pod's
 * status label, write an event, or check a label against the runtime after a (re)connect.
 */
import type { ContainerSnapshot, PhaseChangeLine, PodRef } from './wire.ts';

/** The original's phase names, as the label `status.zeropod.ctrox.dev/<container>` carries them. */
export type StatusValue = 'RUNNING' | 'SCALED_DOWN' | 'CHECKPOINT_FAILED' | 'RESTORE_FAILED';

export type Reason = 'Running' | 'Scaled down' | 'Checkpoint failed' | 'Restore failed';

/** A container the manager follows: what GET /status says of it, and which shim's socket said it. */
export interface Tracked extends ContainerSnapshot {
  source: string;
}

export type Effect =
  | { kind: 'label'; pod: PodRef; container: string; value: StatusValue }
  | {
      kind: 'event';
      pod: PodRef;
      container: string;
      reason: Reason;
      warning: boolean;
      message: string;
      at: number;
    }
  /** Requests down while asleep, back when awake (see resize-plan.ts); idempotent. */
  | { kind: 'resize'; pod: PodRef; container: string; asleep: boolean }
  /** After a snapshot: the label must agree with the phase; if it does not, set it and say why. */
  | { kind: 'reconcile'; pod: PodRef; container: string; awake: boolean; tracked: Tracked };

const MAX_DURATIONS = 1000;

function keep(list: number[], value: number | undefined): void {
  if (value === undefined) return;
  list.push(value);
  if (list.length > MAX_DURATIONS) list.splice(0, list.length - MAX_DURATIONS);
}

export const ms = (v: number | undefined): string => (v === undefined ? '?' : `${Math.round(v)} ms`);

/** The label values a container that is awake (or asleep) may carry without a new phase change. */
export function agrees(value: string | undefined, awake: boolean): boolean {
  return awake
    ? value === 'RUNNING' || value === 'CHECKPOINT_FAILED' || value === 'RESTORE_FAILED'
    : value === 'SCALED_DOWN';
}

export class NodeView {
  readonly #containers = new Map<string, Tracked>();

  get containers(): ReadonlyMap<string, Tracked> {
    return this.#containers;
  }

  /** Replaces everything known from `source` by the snapshot. */
  snapshot(source: string, list: readonly ContainerSnapshot[]): Effect[] {
    const effects: Effect[] = [];
    const seen = new Set<string>();
    for (const s of list) {
      seen.add(s.id);
      if (s.phase === 'stopped') {
        this.#containers.delete(s.id);
        continue;
      }
      const t: Tracked = {
        id: s.id,
        source,
        name: s.name,
        pod: s.pod,
        phase: s.phase,
        counts: s.counts,
        checkpointsMs: [...s.checkpointsMs],
        restoresMs: [...s.restoresMs],
        asleepBytes: s.asleepBytes,
        traffic: s.traffic,
      };
      if (s.lastCheckpointAt !== undefined) t.lastCheckpointAt = s.lastCheckpointAt;
      if (s.lastRestoreAt !== undefined) t.lastRestoreAt = s.lastRestoreAt;
      this.#containers.set(s.id, t);
      if (s.phase !== 'starting') {
        const awake = s.phase === 'running' || s.phase === 'checkpointing';
        effects.push(
          { kind: 'reconcile', pod: s.pod, container: s.name, awake, tracked: t },
          { kind: 'resize', pod: s.pod, container: s.name, asleep: !awake },
        );
      }
    }
    this.unreachable(source, seen);
    return effects;
  }

  /** Forgets the containers of a shim that does not answer (all, or all but `keep`). */
  unreachable(source: string, keepIds: ReadonlySet<string> = new Set()): void {
    for (const [id, t] of this.#containers)
      if (t.source === source && !keepIds.has(id)) this.#containers.delete(id);
  }

  /**
   * A fresh read of the shim's status (at a scrape): only what clients see is taken from it (held
   * connections change without a phase change); phases keep coming from the event stream.
   */
  traffic(source: string, list: readonly ContainerSnapshot[]): void {
    for (const s of list) {
      const t = this.#containers.get(s.id);
      if (t && t.source === source) t.traffic = s.traffic;
    }
  }

  change(source: string, c: PhaseChangeLine): Effect[] {
    const before = this.#containers.get(c.id);
    if (c.to === 'stopped') {
      this.#containers.delete(c.id);
      if (c.from === 'restoring')
        return [
          this.#event(
            c,
            'Restore failed',
            true,
            `Restore failed for container ${c.name}: ${c.counts.lastError ?? 'unknown error'}; the container is reported exited`,
          ),
          this.#label(c, 'RESTORE_FAILED'),
        ];
      return [];
    }
    const t: Tracked = before ?? {
      id: c.id,
      source,
      name: c.name,
      pod: c.pod,
      phase: c.from,
      counts: c.counts,
      checkpointsMs: [],
      restoresMs: [],
      asleepBytes: 0,
      traffic: { connectionsHeld: 0, clientWakes: 0, wakeLatenciesMs: [] },
    };
    const prev = before?.counts;
    t.phase = c.to;
    t.counts = c.counts;
    t.asleepBytes = c.asleepBytes;
    t.source = source;
    this.#containers.set(c.id, t);
    const effects: Effect[] = [];
    if (c.from === 'starting' && c.to === 'running') {
      effects.push(this.#label(c, 'RUNNING'));
    } else if (c.from === 'checkpointing' && c.to === 'scaled-down') {
      keep(t.checkpointsMs, c.counts.lastCheckpointMs);
      t.lastCheckpointAt = c.at;
      effects.push(
        this.#label(c, 'SCALED_DOWN'),
        this.#event(
          c,
          'Scaled down',
          false,
          `Scaled down container ${c.name} in ${ms(c.counts.lastCheckpointMs)}`,
        ),
      );
    } else if (c.from === 'checkpointing' && c.to === 'running') {
      // A failed checkpoint (the app keeps running) or one dropped for traffic that came meanwhile.
      if (c.counts.failedCheckpoints > (prev?.failedCheckpoints ?? c.counts.failedCheckpoints))
        effects.push(
          this.#label(c, 'CHECKPOINT_FAILED'),
          this.#event(
            c,
            'Checkpoint failed',
            true,
            `Checkpoint failed for container ${c.name}: ${c.counts.lastError ?? 'unknown error'}`,
          ),
        );
    } else if (c.from === 'restoring' && c.to === 'running') {
      keep(t.restoresMs, c.counts.lastRestoreMs);
      t.lastRestoreAt = c.at;
      if (c.counts.failedRestores > (prev?.failedRestores ?? c.counts.failedRestores)) {
        const fresh = c.counts.freshStarts > (prev?.freshStarts ?? c.counts.freshStarts);
        effects.push(
          this.#label(c, 'RESTORE_FAILED'),
          this.#event(
            c,
            'Restore failed',
            true,
            fresh
              ? `Restore failed for container ${c.name}: started afresh in ${ms(c.counts.lastRestoreMs)}, its memory state is lost (${c.counts.lastError ?? 'unknown error'})`
              : `Restore of container ${c.name} failed once, then succeeded in ${ms(c.counts.lastRestoreMs)} (${c.counts.lastError ?? 'unknown error'})`,
          ),
        );
      } else {
        effects.push(
          this.#label(c, 'RUNNING'),
          this.#event(c, 'Running', false, `Restored container ${c.name} in ${ms(c.counts.lastRestoreMs)}`),
        );
      }
    }
    // Requests follow the phase after the label and event (same pod queue: those go out first).
    if (c.to === 'scaled-down' && c.from === 'checkpointing')
      effects.push({ kind: 'resize', pod: c.pod, container: c.name, asleep: true });
    else if (c.to === 'running' && c.from === 'restoring')
      effects.push({ kind: 'resize', pod: c.pod, container: c.name, asleep: false });
    return effects;
  }

  #label(c: PhaseChangeLine, value: StatusValue): Effect {
    return { kind: 'label', pod: c.pod, container: c.name, value };
  }

  #event(c: PhaseChangeLine, reason: Reason, warning: boolean, message: string): Effect {
    return { kind: 'event', pod: c.pod, container: c.name, reason, warning, message, at: c.at };
  }
}
