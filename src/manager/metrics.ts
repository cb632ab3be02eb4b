/**
 * The manager's Prometheus metrics. The original's seven (names, types, help texts and labels
 * `container`, `pod`, `namespace` as ctrox/zeropod's manager exports them) plus ours. Every scrape
 * rebuilds the series from the node view, so a container that went away has no series left, and
 * after a restart of the manager the counters and histograms come back from the shims' own counts
 * and remembered durations instead of starting at zero.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NodeView, Tracked } from './node-view.ts';

/** The original's buckets (seconds). */
const BUCKETS = [0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 2.5, 5, 10];
const LABELS = ['container', 'pod', 'namespace'] as const;
type Labels = Record<(typeof LABELS)[number], string>;

const labelsOf = (t: Tracked): Labels => ({ container: t.name, pod: t.pod.name, namespace: t.pod.namespace });
const keyOf = (l: Labels): string => `${l.namespace}/${l.pod}/${l.container}`;

/** How much of a series' history is already in its histogram. */
interface Observed {
  owner: string;
  checkpoints: number;
  restores: number;
  clientWakes: number;
  labels: Labels;
}

/** Wake latency buckets (seconds): from a prepared restore's ~30 ms to a held client giving up. */
const WAKE_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5, 10];

export class ManagerMetrics {
  readonly registry = new Registry();
  readonly #view: NodeView;
  readonly #observed = new Map<string, Observed>();
  readonly #checkpointDuration = new Histogram({
    name: 'zeropod_checkpoint_duration_seconds',
    help: 'The duration of the last checkpoint in seconds.',
    labelNames: LABELS,
    buckets: BUCKETS,
    registers: [this.registry],
  });
  readonly #restoreDuration = new Histogram({
    name: 'zeropod_restore_duration_seconds',
    help: 'The duration of the last restore in seconds.',
    labelNames: LABELS,
    buckets: BUCKETS,
    registers: [this.registry],
  });
  readonly #lastCheckpointTime = new Gauge({
    name: 'zeropod_last_checkpoint_time',
    help: 'A unix timestamp in nanoseconds of the last checkpoint.',
    labelNames: LABELS,
    registers: [this.registry],
  });
  readonly #lastRestoreTime = new Gauge({
    name: 'zeropod_last_restore_time',
    help: 'A unix timestamp in nanoseconds of the last restore.',
    labelNames: LABELS,
    registers: [this.registry],
  });
  readonly #running = new Gauge({
    name: 'zeropod_running',
    help: 'Reports if the process is currently running or checkpointed.',
    labelNames: LABELS,
    registers: [this.registry],
  });
  readonly #checkpointErrors = new Counter({
    name: 'zeropod_checkpoint_errors_total',
    help: 'Total number of checkpoint errors.',
    labelNames: LABELS,
    registers: [this.registry],
  });
  readonly #restoreErrors = new Counter({
    name: 'zeropod_restore_errors_total',
    help: 'Total number of restore errors.',
    labelNames: LABELS,
    registers: [this.registry],
  });
  // Ours.
  readonly #freshStarts = new Counter({
    name: 'zeropod_fresh_starts_total',
    help: 'Wakes that started the app afresh because no restore worked: its memory state was lost.',
    labelNames: LABELS,
    registers: [this.registry],
  });
  readonly #freed = new Gauge({
    name: 'zeropod_memory_freed_bytes',
    help: 'Memory the sleeping container held when it was checkpointed (the pages in its image), freed while it sleeps; 0 awake.',
    labelNames: LABELS,
    registers: [this.registry],
  });
  readonly #wakeLatency = new Histogram({
    name: 'zeropod_wake_latency_seconds',
    help: 'Wake latency as the client sees it: from the accept of a held connection to the app taking it.',
    labelNames: LABELS,
    buckets: WAKE_BUCKETS,
    registers: [this.registry],
  });
  readonly #held = new Gauge({
    name: 'zeropod_connections_held',
    help: 'Connections held while the container sleeps or wakes: waiting in the activator, or dumped open with their peers waiting.',
    labelNames: LABELS,
    registers: [this.registry],
  });
  readonly #asleep = new Gauge({
    name: 'zeropod_containers_scaled_down',
    help: 'Scaled containers on this node that are checkpointed (asleep) now.',
    registers: [this.registry],
  });
  readonly #tracked = new Gauge({
    name: 'zeropod_containers_tracked',
    help: 'Scaled containers on this node the manager follows.',
    registers: [this.registry],
  });

  readonly #beforeRender: () => Promise<void>;

  /** `beforeRender` refreshes what changes without a phase change (held connections) first. */
  constructor(view: NodeView, beforeRender: () => Promise<void> = () => Promise.resolve()) {
    this.#view = view;
    this.#beforeRender = beforeRender;
  }

  /** The text exposition, current as of this call. */
  async render(): Promise<string> {
    await this.#beforeRender();
    this.#refresh();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #refresh(): void {
    for (const m of [
      this.#lastCheckpointTime,
      this.#lastRestoreTime,
      this.#running,
      this.#checkpointErrors,
      this.#restoreErrors,
      this.#freshStarts,
      this.#freed,
      this.#held,
    ])
      m.reset();
    let asleep = 0;
    const live = new Set<string>();
    for (const t of this.#view.containers.values()) {
      const l = labelsOf(t);
      const key = keyOf(l);
      // Two containers with one identity (a restart's new container before the old one's stop):
      // the newer phase change wins; either way one series.
      live.add(key);
      const awake = t.phase === 'running' || t.phase === 'checkpointing' || t.phase === 'starting';
      if (!awake) asleep++;
      this.#running.set(l, awake ? 1 : 0);
      this.#freed.set(l, awake ? 0 : t.asleepBytes);
      this.#held.set(l, t.traffic.connectionsHeld);
      if (t.lastCheckpointAt !== undefined) this.#lastCheckpointTime.set(l, t.lastCheckpointAt * 1e6);
      if (t.lastRestoreAt !== undefined) this.#lastRestoreTime.set(l, t.lastRestoreAt * 1e6);
      this.#checkpointErrors.inc(l, t.counts.failedCheckpoints);
      this.#restoreErrors.inc(l, t.counts.failedRestores);
      this.#freshStarts.inc(l, t.counts.freshStarts);
      this.#histograms(key, l, t);
    }
    for (const [key, o] of this.#observed)
      if (!live.has(key)) {
        this.#checkpointDuration.remove(o.labels);
        this.#restoreDuration.remove(o.labels);
        this.#wakeLatency.remove(o.labels);
        this.#observed.delete(key);
      }
    this.#asleep.set(asleep);
    this.#tracked.set(this.#view.containers.size);
  }

  /** Observes what the histograms miss: the newest durations beyond what they already hold. */
  #histograms(key: string, l: Labels, t: Tracked): void {
    let o = this.#observed.get(key);
    if (
      !o ||
      o.owner !== t.id ||
      o.checkpoints > t.counts.checkpoints ||
      o.restores > t.counts.restores ||
      o.clientWakes > t.traffic.clientWakes
    ) {
      // New series, another container under the same name, or the shim's counts started over.
      for (const h of [this.#checkpointDuration, this.#restoreDuration, this.#wakeLatency]) {
        h.remove(l);
        h.zero(l);
      }
      o = { owner: t.id, checkpoints: 0, restores: 0, clientWakes: 0, labels: l };
      this.#observed.set(key, o);
    }
    for (const v of newest(t.checkpointsMs, t.counts.checkpoints - o.checkpoints))
      this.#checkpointDuration.observe(l, v / 1000);
    for (const v of newest(t.restoresMs, t.counts.restores - o.restores))
      this.#restoreDuration.observe(l, v / 1000);
    for (const v of newest(t.traffic.wakeLatenciesMs, t.traffic.clientWakes - o.clientWakes))
      this.#wakeLatency.observe(l, v / 1000);
    o.checkpoints = t.counts.checkpoints;
    o.restores = t.counts.restores;
    o.clientWakes = t.traffic.clientWakes;
  }
}

function newest(list: readonly number[], n: number): readonly number[] {
  return n <= 0 ? [] : list.slice(Math.max(0, list.length - n));
}
