/**
 * Scale to zero for one container: watches its ports for activity, checkpoints it when idle (the
 * process goes, the pod stays Running), holds new connections in the activator and restores it on
 * the first one. Its phases and what each carries are in phase.ts; the steps are checkpoint.ts,
 * rollback.ts, stop-app.ts, wake.ts (with bring-back.ts). Every operation (idle tick, checkpoint,
 * wake, kill, dispose) runs on the container's queue with a signal and a timeout (queued.ts); each
 * step returns a result and this class alone moves the phase, always to running or stopped when a
 * step fails.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StateMachine, canceled, describeError, failedPrecondition, type Logger } from '../../base/index.ts';
import type { Container } from '../container.ts';
import type { ScaleConfig } from './config.ts';
import { makeContext, type ScaleContext } from './context.ts';
import { IdleTracker, idleIntervalMs } from './idle.ts';
import { dueCount } from './idle-tick.ts';
import {
  exitVerdict,
  newDump,
  netOf,
  type Checkpointing,
  type Net,
  type Phase,
  type Restoring,
} from './phase.ts';
import { queued } from './queued.ts';
import { checkpointIdle } from './checkpoint.ts';
import { rollBack } from './rollback.ts';
import { dumpPhases, stopApp } from './stop-app.ts';
import { bringAppBack, countWake, reportWakeFailure, settleAfterWake } from './wake.ts';
import { adoptAsleep, disposeScaled, recordOf } from './lifecycle.ts';
import { activatorKey, discoverPorts, dropHeldOf, listen } from './listen.ts';
import { ClientWakes } from './client-wakes.ts';
import type { ScaleRecord } from '../records/index.ts';
import { DEFAULT_TIMEOUTS, newStats, transitions, type ScaleDeps, type ScalePhase } from './scale-types.ts';
import type { ScaleStats, ScaleTimeouts } from './scale-types.ts';

export type { ScaleDeps, ScalePhase, ScaleStats, WakeVia } from './scale-types.ts';

export class ScaledContainer {
  readonly container: Container;
  readonly config: ScaleConfig;
  readonly name: string;
  /** The phase's name, observed by the status API and the records; the data is in #phase. */
  readonly state: StateMachine<ScalePhase>;
  readonly stats: ScaleStats = newStats();
  ports: number[] = [];
  /** Held connections and the wakes as clients saw them (the status API reports them). */
  readonly clientWakes = new ClientWakes();
  readonly #ctx: ScaleContext;
  readonly #log: Logger;
  readonly #timeouts: ScaleTimeouts;
  #phase: Phase = { kind: 'starting' };
  #timer: NodeJS.Timeout | undefined;
  /** Aborted when the daemon lets go of this container (detach): no idle tick starts after it. */
  readonly #life = new AbortController();
  /** The wake in flight, shared by every caller that asks for one meanwhile. */
  #wake: Promise<void> | undefined;

  constructor(container: Container, config: ScaleConfig, name: string, deps: ScaleDeps) {
    this.container = container;
    this.config = config;
    this.name = name;
    this.#log = deps.log.child({ container: container.id, name, component: 'scale' });
    this.state = new StateMachine<ScalePhase>('starting', transitions, this.#log);
    this.#timeouts = { ...DEFAULT_TIMEOUTS, ...deps.timeouts };
    this.#ctx = makeContext({ container, config, deps, log: this.#log, stats: this.stats });
    container.exitPolicy = (exit) => exitVerdict(this.#phase, exit.pid, container.init.pid);
  }

  get imagePath(): string {
    return this.#ctx.imagePath;
  }

  get workPath(): string {
    return this.#ctx.workPath;
  }

  /** Moves to `next`; the data is set before the listeners (records, status API) hear of it. */
  #enter(next: Phase): void {
    const prev = this.#phase;
    this.#phase = next;
    try {
      this.state.transition(next.kind);
    } catch (err) {
      this.#phase = prev;
      throw err;
    }
  }

  /** After the container started: find its ports, install the counter, start the activator. */
  async begin(): Promise<void> {
    this.ports = await discoverPorts(this.#ctx, this.name, () => this.state.is('stopped'));
    this.#log.info('scale to zero enabled', { ports: this.ports, scaledownMs: this.config.scaledownMs });
    const net = await this.#listen();
    this.#enter(this.#running(net, 0, Promise.resolve()));
    net.activator.resumeHeld(); // a dead worker's held clients (adopted running): the app is up
    this.#schedule();
  }

  #listen(): Promise<Net> {
    return listen(this.#ctx, this.ports, () => this.requestWake(), this.clientWakes);
  }

  #running(net: Net, failures: number, settling: Promise<void>): Phase {
    const idle = new IdleTracker(this.config.scaledownMs, this.#ctx.tools.now());
    return { kind: 'running', net, idle, failures, settling };
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#phase.kind === 'stopped' || this.#life.signal.aborted) return;
    const interval = idleIntervalMs(this.config.scaledownMs);
    this.#timer = setTimeout(() => void this.tick().finally(() => this.#schedule()), interval);
    this.#timer.unref();
  }

  /** One idle check (the timer calls it): checkpoints the container if it has been idle enough. */
  async tick(): Promise<void> {
    if (this.#phase.kind !== 'running') return;
    try {
      const count = await queued(
        this.container.queue,
        'idle check',
        { timeoutMs: this.#timeouts.tickMs },
        () => this.#idleCount(),
      );
      if (count === undefined) return;
      await queued(
        this.container.queue,
        'checkpoint',
        { timeoutMs: this.#timeouts.checkpointMs, graceMs: 30_000 },
        (signal) => this.#scaleDown(count, signal),
      );
    } catch (err) {
      this.#log.warn('idle check failed', { error: describeError(err) });
    }
  }

  /** The counter when the container is due for a checkpoint, else undefined. */
  async #idleCount(): Promise<number | undefined> {
    const p = this.#phase;
    if (p.kind !== 'running') return undefined;
    const count = await dueCount(this.#ctx, p);
    return this.#phase === p ? count : undefined;
  }

  /** Checkpoint, then stop the app; a dropped, failed or aborted checkpoint leaves it running. */
  async #scaleDown(countBefore: number, opSignal: AbortSignal): Promise<void> {
    const p = this.#phase;
    if (p.kind !== 'running') return;
    // The last wake's chores first: its image gone, its redirect off (a lazy daemon: bounded).
    await Promise.race([p.settling, sleep(10_000, undefined, { ref: false })]);
    if (this.#phase !== p) return;
    const { tools, stats, log } = this.#ctx;
    const abort = new AbortController();
    const cp: Checkpointing = {
      kind: 'checkpointing',
      net: p.net,
      abort,
      failures: p.failures,
      dump: newDump(tools.now()),
    };
    this.#enter(cp);
    const signal = AbortSignal.any([opSignal, abort.signal]);
    const result = await checkpointIdle(this.#ctx, cp, countBefore, signal, this.ports);
    if (result.kind === 'dropped' || result.kind === 'failed') {
      const failures = await rollBack(this.#ctx, cp, result);
      this.#enter(this.#running(cp.net, failures, Promise.resolve()));
      return;
    }
    try {
      await stopApp(this.#ctx, cp);
    } catch (err) {
      // The process is gone and the image whole: asleep still; the wake goes through runc.
      log.error('making the wake ready failed', { error: describeError(err) });
    }
    stats.checkpoints++;
    stats.lastCheckpointMs = Math.round(tools.now() - cp.dump.startedAt);
    this.#enter({ kind: 'scaled-down', net: cp.net, held: cp.dump.held });
    const message =
      result.kind === 'no-dump' ? 'stopped without a checkpoint (disable-checkpointing)' : 'scaled down';
    log.info(message, { durationMs: stats.lastCheckpointMs, ...dumpPhases(cp.dump, tools.now()) });
  }

  /** Brings the app back if it sleeps; resolves once it accepts connections. Shared by all callers. */
  requestWake(): Promise<void> {
    const p = this.#phase;
    if (p.kind === 'running') p.idle.touch(this.#ctx.tools.now());
    if (p.kind === 'running' || p.kind === 'starting') return Promise.resolve();
    const requested = this.#ctx.tools.now();
    this.#wake ??= queued(
      this.container.queue,
      'wake',
      { timeoutMs: this.#timeouts.wakeMs, graceMs: 30_000 },
      (signal) => this.#restore(requested, signal),
    ).finally(() => {
      this.#wake = undefined;
    });
    return this.#wake;
  }

  async #restore(requested: number, signal: AbortSignal): Promise<void> {
    const p = this.#phase;
    if (p.kind === 'running') return; // the checkpoint was dropped: already up
    if (p.kind !== 'scaled-down') throw failedPrecondition(`cannot wake a container that is ${p.kind}`);
    const { tools, stats, log } = this.#ctx;
    const started = tools.now();
    const r: Restoring = { kind: 'restoring', net: p.net, held: p.held };
    this.#enter(r);
    const result = await bringAppBack(this.#ctx, r, started, signal);
    if (result.kind === 'failed') {
      // Not even a fresh start worked: the container is dead. Say so to containerd (kubelet
      // restarts it) rather than leave a pod that looks alive and answers nothing.
      this.#enter({ kind: 'stopped', net: r.net });
      await reportWakeFailure(this.#ctx, r, result);
      throw result.error;
    }
    const held = await countWake(this.#ctx, r, result, started);
    const lazy = result.lazy;
    const settling = settleAfterWake(this.#ctx, r.net, held, lazy, () =>
      ['running', 'stopped'].includes(this.#phase.kind),
    );
    this.#enter(this.#running(r.net, 0, settling));
    log.info('woke up', {
      durationMs: stats.lastRestoreMs,
      lazyPages: lazy !== undefined,
      // Phases: waiting for the container's queue (a checkpoint finishing), then the restore.
      queuedMs: Math.round(started - requested),
      ...(this.config.disableCheckpointing ? {} : { via: result.via }),
      ...result.trace,
      backMs: Math.round(tools.now() - started),
    });
  }

  /**
   * Kill of the init through the scale logic (the task service's Kill): a checkpoint in flight is
   * aborted first (its runc/CRIU child killed, the app thawed), then the app is killed; asleep,
   * nothing runs, so the exit is reported here.
   */
  async kill(signal: number, all: boolean): Promise<void> {
    this.abortInFlight('the container is being killed');
    await queued(this.container.queue, 'kill', { timeoutMs: this.#timeouts.killMs }, async () => {
      const p = this.#phase;
      if (p.kind !== 'scaled-down') return this.container.kill('', signal, all);
      const c = this.container;
      await this.#ctx.next.dispose();
      this.#enter({ kind: 'stopped', net: p.net });
      c.init.io?.endFifos();
      c.reportExit({ pid: c.init.pid, status: 128 + signal, exitedAt: new Date() });
    });
  }

  /** Aborts the checkpoint in flight, if any (kill, delete): it rolls back to running. */
  abortInFlight(reason: string): void {
    const p = this.#phase;
    if (p.kind === 'checkpointing') p.abort.abort(canceled(reason));
  }

  /**
   * The daemon is going (SIGTERM) but the container is not: stop deciding (no new checkpoint) and
   * let the operation in flight finish (bounded), then leave the app, its image, its prepared
   * restore's files and its nft table as they are. Only a real deletion removes them (dispose, or
   * `containerd-shim-zeropod-v2 delete` after the daemon died).
   */
  async detach(timeoutMs = 5000): Promise<void> {
    this.#life.abort();
    clearTimeout(this.#timer);
    const settled = this.container.queue.run(() => Promise.resolve());
    await Promise.race([settled, sleep(timeoutMs)]);
  }

  /** What a new worker needs to take this container over (docs/restart-safety.md). */
  record(): ScaleRecord {
    return recordOf(this.#ctx, this.#phase, this.ports);
  }

  /** A sleeping container whose worker died, taken over from its record (lifecycle.ts). */
  async adoptAsleep(rec: ScaleRecord): Promise<void> {
    this.ports = [...rec.ports];
    const net = await adoptAsleep(this.#ctx, rec, () => this.#listen());
    this.#enter({ kind: 'scaled-down', net, held: 0 });
    net.activator.resumeHeld(); // a dead worker's held clients: each asks for the wake
    this.#schedule(); // the idle ticks resume once it is awake
    this.#log.info('sleeping container adopted', { ports: this.ports, tmpfsCopies: rec.tmpfs?.length ?? 0 });
  }

  /** The container is deleted: everything of the scale logic goes (bounded). */
  async dispose(): Promise<void> {
    clearTimeout(this.#timer);
    this.#life.abort();
    this.abortInFlight('the container is being deleted');
    const fds = this.#ctx.deps.fds;
    for (const port of this.ports) fds?.drop(activatorKey(this.container.id, port));
    if (fds) dropHeldOf(this.container.id, fds);
    const net = netOf(this.#phase);
    if (this.#phase.kind !== 'stopped') this.#enter({ kind: 'stopped', net });
    await disposeScaled(this.#ctx, net, this.#timeouts.disposeMs);
  }
}
