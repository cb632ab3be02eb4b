/**
 * Scale to zero for one container: watches its ports for activity, checkpoints it when idle (the
 * process goes, the pod stays Running), holds new connections in the activator and restores it on
 * the first one. Phases and moves:
 *
 *   starting -> running -> checkpointing -> scaled-down -> restoring -> running
 *                  ^            |  (a connection came during the dump: keep the   |
 *                  +------------+   process, discard the image)                  |
 *                  +-------------------------------------------------------------+
 *   any -> stopped (killed, deleted)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StateMachine, describeError, failedPrecondition, type Logger } from '../../base/index.ts';
import type { NftTable } from '../../nft/index.ts';
import { criuSupportsDirtyTracking, type LazyPagesDaemon } from '../../criu/index.ts';
import { connectedTcpSockets, type TcpConnection } from '../../sys/index.ts';
import {
  containerPids,
  dropNetnsState,
  listeningPortsOf,
  pagesBytes,
  reclaimCgroupMemory,
  untilReaped,
} from './processes-and-images.ts';
import type { Container } from '../container.ts';
import { cgroupDirsOf } from '../cgroups.ts';
import type { ExitInfo } from '../process.ts';
import { Activator } from './activator.ts';
import { ClientWakes } from './client-wakes.ts';
import { releaseStaleRestore, tmpfsCopiesIn, unmountUnder } from './tmpfs-copies.ts';
import { bringBack } from './bring-back.ts';
import { NextWake } from './next-wake.ts';
import type { ScaleConfig } from './config.ts';
import type { ScaleRecord } from '../records/index.ts';
import { IdleTracker } from './idle.ts';
import { TrafficCounter } from './traffic.ts';
import {
  transitions,
  type ScaleDeps,
  type ScalePhase,
  type ScaleStats,
  type WakeVia,
} from './scale-types.ts';

export type { ScaleDeps, ScalePhase, ScaleStats, WakeVia } from './scale-types.ts';

const MAX_CHECKPOINT_FAILURES = 5;

export class ScaledContainer {
  readonly container: Container;
  readonly config: ScaleConfig;
  readonly name: string;
  readonly state: StateMachine<ScalePhase>;
  readonly stats: ScaleStats = {
    checkpoints: 0,
    restores: 0,
    failedCheckpoints: 0,
    failedRestores: 0,
    abortedCheckpoints: 0,
    freshStarts: 0,
  };
  ports: number[] = [];
  /** Held connections and the wakes as clients saw them (the status API reports them). */
  readonly clientWakes = new ClientWakes();
  readonly #deps: ScaleDeps;
  readonly #log: Logger;
  #nft: NftTable | undefined;
  #traffic: TrafficCounter | undefined;
  #activator: Activator | undefined;
  #idle: IdleTracker;
  #timer: NodeJS.Timeout | undefined;
  /** Aborted when the daemon lets go of this container (detach): no idle tick starts after it. */
  readonly #life = new AbortController();
  #wake: Promise<void> | undefined;
  #expectExit = false;
  /** Killed inits whose exit (reaped by the container's watcher) we wait for. */
  readonly #reaped = new Map<number, () => void>();
  #frozen = false;
  /** Connections dumped with their TCP state (restore must use tcp-established). */
  #heldConnections = 0;
  /** Whether the last dump left the process running (it can still serve if the dump is dropped). */
  #leftRunning = true;
  #lazy: LazyPagesDaemon | undefined;
  /** The last lazy-pages daemon's exit: the next dump must not start while it still reads. */
  #lazyDone: Promise<number> | undefined;
  #imageRemoval: Promise<void> | undefined;
  #unredirecting: Promise<void> | undefined;
  #freezerDir: string | undefined;
  #marks: { prepared?: number; frozen?: number; dumped?: number } = {};
  #consecutiveFailures = 0;
  /** What the next wake needs, made ready around the checkpoint. */
  readonly #next: NextWake;
  /** How the last wake went, for its log line. */
  #wakeTrace: { via?: WakeVia } & Record<string, string | number> = {};
  #wakeStarted = 0;

  constructor(container: Container, config: ScaleConfig, name: string, deps: ScaleDeps) {
    this.container = container;
    this.config = config;
    this.name = name;
    this.#deps = deps;
    this.#log = deps.log.child({ container: container.id, name, component: 'scale' });
    this.state = new StateMachine<ScalePhase>('starting', transitions, this.#log);
    this.#idle = new IdleTracker(config.scaledownMs, performance.now());
    this.#next = new NextWake(container, this.workPath, this.#log, (m) => this.#warnOnce(m));
    // Exits we cause (the checkpoint's kill) are not the container's exit to containerd.
    // An exit of a process that is no longer the container's init (the one a checkpoint killed,
    // reaped late) is never the container's exit, whatever runs now.
    container.exitPolicy = (exit) => {
      const reaped = this.#reaped.get(exit.pid);
      if (reaped) {
        this.#reaped.delete(exit.pid);
        reaped();
      }
      return this.#expectExit || exit.pid !== this.container.init.pid ? 'suppress' : 'report';
    };
  }

  get imagePath(): string {
    return path.join(this.#deps.imageRoot, this.container.id);
  }

  get workPath(): string {
    return path.join(this.#deps.workRoot, this.container.id);
  }

  /** After the container started: find its ports, install the counter, start the activator. */
  async begin(): Promise<void> {
    this.ports = await this.#discoverPorts();
    this.#log.info('scale to zero enabled', { ports: this.ports, scaledownMs: this.config.scaledownMs });
    await this.#listen();
    this.state.transition('running', ['starting']);
    this.#schedule();
  }

  /** The activator on its own ports, and the container's nft table pointing at them. */
  async #listen(): Promise<void> {
    this.#activator = await Activator.start({
      netnsPath: this.#deps.netnsPath,
      appPorts: this.ports,
      nodeAddresses: this.#deps.nodeAddresses,
      probeDetection: !this.config.disableProbeDetection,
      probeBufferSize: this.config.probeBufferSize,
      connectTimeoutMs: this.config.connectTimeoutMs,
      proxyTimeoutMs: this.config.proxyTimeoutMs,
      log: this.#log,
      wake: () => this.requestWake(),
      wakes: this.clientWakes,
      ...(this.#deps.fds ? { listeners: this.#listenerStore(this.#deps.fds) } : {}),
    });
    this.#traffic = await TrafficCounter.start({
      containerId: this.container.id,
      netnsPath: this.#deps.netnsPath,
      ports: this.ports,
      activatorPorts: this.#activator.ports,
      nodeAddresses: this.#deps.nodeAddresses,
      countLocalhost: this.config.countLocalhost,
      log: this.#log,
    });
    this.#nft = this.#traffic.table;
  }

  async #discoverPorts(): Promise<number[]> {
    const mapped = this.config.portsMap.get(this.name);
    if (mapped && mapped.length > 0) return [...mapped];
    // Wait for the app to listen: backoff from 50 ms, for up to a minute.
    for (let delay = 50, waited = 0; waited < 60_000; waited += delay, delay = Math.min(delay * 2, 2000)) {
      // Any process of the container may be the listener (a daemon forks away from the init).
      const ports = await listeningPortsOf(this.#containerPids(true));
      const unique = [...new Set(ports)].sort((a, b) => a - b);
      if (unique.length > 0) return unique;
      if (this.state.is('stopped')) break;
      await sleep(delay);
    }
    throw failedPrecondition(
      'the container listens on no TCP port: nothing to wake it on (set zeropod.ctrox.dev/ports-map)',
    );
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.state.is('stopped') || this.#life.signal.aborted) return;
    this.#timer = setTimeout(() => void this.#tick(), this.#idle.intervalMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    try {
      if (!this.state.is('running') || !this.#traffic) return;
      const now = performance.now();
      const count = await this.#traffic.activity();
      const execsRunning = [...this.container.execs.values()].some((p) => p.state.is('running'));
      if (execsRunning) this.#idle.touch(now);
      // After a failed checkpoint, wait the idle period again, doubled per failure.
      const backoff = this.config.scaledownMs * (2 ** this.#consecutiveFailures - 1);
      const idleEnough =
        this.#idle.sample(count, now) && this.#idle.idleForMs(now) >= this.config.scaledownMs + backoff;
      if (idleEnough && this.#consecutiveFailures < MAX_CHECKPOINT_FAILURES) {
        await this.container.queue.run(() => this.#scaleDown(count));
      }
    } catch (err) {
      this.#log.warn('idle check failed', { error: describeError(err) });
    } finally {
      this.#schedule();
    }
  }

  /** Checkpoint (on the container's queue). A failure leaves the app running. */
  async #scaleDown(countBefore: number): Promise<void> {
    if (!this.state.is('running') || !this.#nft || !this.#activator) return;
    if (this.#lazyDone) await Promise.race([this.#lazyDone, sleep(10_000)]);
    await this.#imageRemoval; // the last image must be gone before the next dump writes there
    await this.#unredirecting; // and the last wake's redirect off before this one's goes on
    const started = performance.now();
    this.state.transition('checkpointing');
    const activator = this.#activator;
    activator.accepted = 0;
    try {
      // Inside the try: a failing nft must leave the container running, never in checkpointing.
      await this.#nft.redirect();
      // Anything that arrived before the redirect is the app's: stay up.
      if ((await this.#traffic!.activity()) !== countBefore) {
        return this.#abort('traffic arrived while preparing the checkpoint');
      }
      await rm(this.imagePath, { recursive: true, force: true });
      if (this.container.init.io) this.container.init.io.holdOpen = true;
      if (this.config.disableCheckpointing) {
        // Scale down by stopping the process; the wake is a fresh start.
        return await this.#stopProcess(started, 'stopped without a checkpoint (disable-checkpointing)');
      }
      if (this.config.preDump && !(await criuSupportsDirtyTracking())) {
        this.#warnOnce(
          'pre-dump requested, but this kernel has no soft-dirty memory tracking: doing a plain dump',
        );
      }
      mkdirSync(this.imagePath, { recursive: true, mode: 0o700 });
      mkdirSync(this.workPath, { recursive: true, mode: 0o700 });
      // Frozen first: CRIU then skips its own freeze loop (which sleeps 100 ms in about half of
      // the dumps here); after the dump the container is either thawed (abort) or deleted.
      this.#marks.prepared = performance.now();
      this.#freezerDir = cgroupDirsOf(this.container.init.pid).get('freezer');
      const pids = this.#containerPids();
      const held = (await connectedTcpSockets(pids).catch(() => [])).filter((c) => c.state === '01');
      if (held.length === 0) {
        await this.container.runc.pause(this.container.id);
        this.#frozen = true;
      }
      this.#marks.frozen = performance.now();
      this.#next.beforeDump(pids);
      await this.#dump(held);
    } catch (err) {
      this.stats.failedCheckpoints++;
      this.#consecutiveFailures++;
      this.stats.lastError = describeError(err);
      this.#log.error('checkpoint failed: the container keeps running', {
        error: this.stats.lastError,
        attempt: this.#consecutiveFailures,
        givingUp: this.#consecutiveFailures >= MAX_CHECKPOINT_FAILURES,
      });
      return this.#abort('checkpoint failed');
    }
    if (activator.accepted > 0 && this.#leftRunning) {
      // Someone came while the image was written: the process is still alive, serve from it.
      await rm(this.imagePath, { recursive: true, force: true });
      return this.#abort('a connection arrived during the checkpoint');
    }
    // Idle and dumped: stop the process; the pod stays Running.
    this.#marks.dumped = performance.now();
    await this.#stopProcess(started, 'scaled down');
  }

  /**
   * The dump. Connections the app holds open (to a database, from a keep-alive client) are dumped
   * with their TCP state and held while it sleeps: their packets are dropped (no reset from our
   * kernel) until the restore puts the sockets back. If CRIU cannot dump them, they are dumped
   * closed instead (the app sees them closed after the wake, as with the original).
   */
  async #dump(held: readonly TcpConnection[]): Promise<void> {
    const base = {
      imagePath: this.imagePath,
      workPath: this.workPath,
      leaveRunning: true,
      tcpSkipInFlight: true,
    };
    this.#leftRunning = true;
    if (held.length === 0) {
      this.#heldConnections = 0;
      await this.container.runc.checkpoint(this.container.id, {
        ...base,
        criuOptions: { networkLock: 'skip', externalMounts: this.#next.dumpExternals },
      });
      return;
    }
    await this.#nft?.hold(held);
    try {
      // Not --leave-running, and not frozen by us first: CRIU must kill the process itself while
      // its sockets are still in repair mode, so they close silently. Killed by us afterwards they
      // send FINs and linger in TIME_WAIT (seen here), and the restore cannot put them back. A
      // connection during this dump waits for the restore.
      await this.container.runc.checkpoint(this.container.id, {
        ...base,
        leaveRunning: false,
        tcpEstablished: true,
        criuOptions: { networkLock: 'skip', externalMounts: this.#next.dumpExternals },
      });
      this.#heldConnections = held.length;
      this.#leftRunning = false;
    } catch (err) {
      await this.#nft?.release();
      this.#log.warn('dumping open connections failed: dumping them closed', {
        connections: held.length,
        error: describeError(err),
      });
      await rm(this.imagePath, { recursive: true, force: true });
      mkdirSync(this.imagePath, { recursive: true, mode: 0o700 });
      await this.container.runc.checkpoint(this.container.id, {
        ...base,
        criuOptions: {
          networkLock: 'skip',
          tcpClose: true,
          externalMounts: this.#next.dumpExternals,
        },
      });
      this.#heldConnections = 0;
    }
  }

  /** The container's processes (from its freezer cgroup; just the init if that is unknown). */
  #containerPids(lookup = false): number[] {
    const dir = lookup ? cgroupDirsOf(this.container.init.pid).get('freezer') : this.#freezerDir;
    return containerPids(dir, this.container.init.pid);
  }

  /** Ends the app's process (its exit is ours, not containerd's) and enters scaled-down. */
  async #stopProcess(started: number, message: string): Promise<void> {
    this.#expectExit = true;
    const pid = this.container.init.pid;
    const reaped = new Promise<void>((resolve) => this.#reaped.set(pid, resolve));
    // SIGKILL to the container's init ends its whole PID namespace; a frozen (cgroup v1) task dies
    // only once thawed, so thaw through the freezer file directly (no runc process on this path).
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      this.#log.debug('the process was already gone', { error: describeError(err) });
    }
    if (this.#frozen) await this.#thaw();
    const t0 = performance.now();
    // Reaped and its exit handled (suppressed) here: not just a zombie (see untilReaped).
    await untilReaped(pid, reaped, 5000);
    this.#reaped.delete(pid);
    this.#log.debug('process gone after the dump', { waitMs: Math.round(performance.now() - t0) });
    // The wake's restore is made ready now (runc's record and cgroups stay; ~8 ms); else runc's
    // restore needs the container gone. The emptied cgroup's page cache goes first (force_empty
    // needs a cgroup without tasks; the prepared restore's waiter joins it).
    reclaimCgroupMemory(this.container.cgroups.get('memory'));
    await this.#next.afterStop({
      imagePath: this.imagePath,
      tcpEstablished: this.#heldConnections > 0,
      lazyPages: pagesBytes(this.imagePath) >= this.#deps.lazyPagesMinBytes,
      prepare: process.env['ZEROPOD_RESTORE'] !== 'runc' && !this.config.disableCheckpointing,
    });
    this.#consecutiveFailures = 0;
    this.stats.checkpoints++;
    this.stats.lastCheckpointMs = Math.round(performance.now() - started);
    this.state.transition('scaled-down', ['checkpointing']);
    const m = this.#marks;
    const phases =
      m.prepared && m.frozen && m.dumped
        ? {
            prepareMs: Math.round(m.prepared - started),
            freezeMs: Math.round(m.frozen - m.prepared),
            dumpMs: Math.round(m.dumped - m.frozen),
            stopMs: Math.round(performance.now() - m.dumped),
          }
        : {};
    this.#marks = {};
    this.#log.info(message, { durationMs: this.stats.lastCheckpointMs, ...phases });
  }

  readonly #warned = new Set<string>();
  #warnOnce(message: string): void {
    if (this.#warned.has(message)) return;
    this.#warned.add(message);
    this.#log.warn(message);
  }

  /** Thaws the container's freezer cgroup (the file when we can, else `runc resume`). */
  async #thaw(): Promise<void> {
    const dir = this.#freezerDir;
    try {
      if (!dir) throw new Error('no freezer cgroup path in the spec');
      writeFileSync(path.join(dir, 'freezer.state'), 'THAWED');
    } catch (err) {
      this.#log.debug('thawing through runc', { error: describeError(err) });
      await this.container.runc.resume(this.container.id).catch((e: unknown) => {
        this.#log.error('cannot thaw the container', { error: describeError(e) });
      });
    }
    this.#frozen = false;
  }

  /** Back to running after a dropped checkpoint. Each step may fail; the phase is restored anyway. */
  async #abort(reason: string): Promise<void> {
    const step = (what: string) => (err: unknown) =>
      this.#log.error(`aborting the checkpoint: ${what} failed`, { error: describeError(err) });
    this.#next.discard();
    if (this.#heldConnections > 0) {
      await this.#nft?.release().catch(step('releasing held connections'));
      this.#heldConnections = 0;
    }
    if (this.#frozen) {
      // runc must learn the container runs again (its state says paused): resume through runc.
      await this.container.runc.resume(this.container.id).catch((err: unknown) => {
        this.#log.error('cannot thaw the container after an aborted checkpoint', {
          error: describeError(err),
        });
      });
      this.#frozen = false;
    }
    if (this.container.init.io) this.container.init.io.holdOpen = false;
    await this.#nft?.unredirect().catch(step('switching the redirect off'));
    this.stats.abortedCheckpoints++;
    this.#idle.touch(performance.now());
    this.state.transition('running', ['checkpointing']);
    this.#log.info('checkpoint aborted: staying up', { reason });
  }

  /** Brings the app back if it sleeps; resolves once it accepts connections. Shared by all callers. */
  requestWake(): Promise<void> {
    this.#idle.touch(performance.now());
    if (this.state.is('running', 'starting')) return Promise.resolve();
    const requested = performance.now();
    this.#wake ??= this.container.queue
      .run(() => this.#restore(requested))
      .finally(() => {
        this.#wake = undefined;
      });
    return this.#wake;
  }

  async #restore(requested: number): Promise<void> {
    if (this.state.is('running')) return; // the checkpoint was aborted: already up
    if (!this.state.is('scaled-down'))
      throw failedPrecondition(`cannot wake a container that is ${this.state.phase}`);
    const started = performance.now();
    this.#wakeStarted = started;
    this.state.transition('restoring');
    this.#expectExit = false;
    try {
      await this.#bringBack();
      this.#wakeTrace['backMs'] = Math.round(performance.now() - started);
    } catch (err) {
      // Not even a fresh start worked: the container is dead. Say so to containerd (kubelet
      // restarts it) rather than leave a pod that looks alive and answers nothing.
      this.stats.lastError = describeError(err);
      this.#log.error('wake failed: reporting the container as exited', { error: this.stats.lastError });
      this.state.transition('stopped');
      this.container.init.io?.endFifos();
      this.container.reportExit({ pid: this.container.init.pid, status: 255, exitedAt: new Date() });
      await this.#nft?.unredirect().catch(() => undefined);
      throw err;
    }
    if (this.container.init.io) this.container.init.io.holdOpen = false;
    // The held connections are proxied at once: the activator's own dials carry ACTIVATOR_MARK,
    // which the in-pod redirect skips, so switching the redirect off runs beside them.
    const held = this.#heldConnections;
    this.#heldConnections = 0;
    // After the callers' dials (the next macrotask): spawning `nft` blocks the event loop for
    // 6-16 ms while the restored app keeps the CPUs busy (measured on the wake path here).
    this.#unredirecting = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => {
        await this.#nft?.unredirect();
        if (held > 0) await this.#nft?.release(); // the sockets are back: let the peers' packets in
      })
      .catch((err: unknown) =>
        this.#log.error('cannot switch the wake redirect off', { error: describeError(err) }),
      );
    this.stats.restores++;
    this.stats.lastRestoreMs = Math.round(performance.now() - started);
    this.#idle.touch(performance.now());
    this.state.transition('running', ['restoring']);
    const lazy = this.#lazy;
    this.#lazy = undefined;
    if (this.#wakeTrace.via) this.stats.lastWakeVia = this.#wakeTrace.via;
    this.#log.info('woke up', {
      durationMs: this.stats.lastRestoreMs,
      lazyPages: lazy !== undefined,
      // Phases: waiting for the container's queue (a checkpoint finishing), then the restore.
      queuedMs: Math.round(started - requested),
      ...this.#wakeTrace,
    });
    this.#wakeTrace = {};
    if (lazy) {
      // The daemon reads the images until the last page is in; remove them after it exits.
      this.#lazyDone = lazy.done;
      void lazy.done.then((code) => {
        if (code !== 0)
          this.#log.warn('lazy-pages daemon failed', {
            code,
            log: path.join(this.workPath, 'lazy-pages.log'),
          });
        if (this.state.is('running', 'stopped')) this.#imageRemoval = this.#removeImage();
      });
    } else {
      // Off the wake's path: held connections are served while the old image goes.
      this.#imageRemoval = this.#removeImage();
    }
  }

  /** Restore (retried once); if that fails, a fresh start, with the loss of memory reported. */
  async #bringBack(): Promise<void> {
    if (this.config.disableCheckpointing) {
      await this.container.recreate();
      return;
    }
    dropNetnsState(this.imagePath);
    const kit = this.#next.take();
    const { lazy, trace } = await bringBack({
      container: this.container,
      imagePath: this.imagePath,
      workPath: this.workPath,
      prepared: kit.prepared,
      heldConnections: this.#heldConnections,
      tmpfsExternals: kit.tmpfsExternals,
      lazyPagesMinBytes: this.#deps.lazyPagesMinBytes,
      stats: this.stats,
      log: this.#log,
      startedAt: this.#wakeStarted,
      releaseHeld: async () => {
        await this.#nft?.release(); // those connections died with the image: let the peers hear so
        this.#heldConnections = 0;
      },
    });
    this.#lazy = lazy;
    this.#wakeTrace = { ...this.#wakeTrace, ...trace };
    setImmediate(kit.release); // after the callers' dials, like the redirect
  }

  /** Removes the checkpoint image without blocking the event loop (it can be gigabytes). */
  async #removeImage(): Promise<void> {
    await rm(this.imagePath, { recursive: true, force: true }).catch((err: unknown) =>
      this.#log.warn('cannot remove the checkpoint image', {
        path: this.imagePath,
        error: describeError(err),
      }),
    );
  }

  /** Kill while scaled down: nothing runs, so report the exit ourselves. Returns true if handled. */
  killWhileDown(signal: number): boolean {
    if (!this.state.is('scaled-down')) return false;
    void this.#next.dispose();
    const exit: ExitInfo = { pid: this.container.init.pid, status: 128 + signal, exitedAt: new Date() };
    this.state.transition('stopped');
    this.container.init.io?.endFifos();
    this.container.reportExit(exit);
    return true;
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

  #listenerStore(fds: NonNullable<ScaleDeps['fds']>) {
    const key = (appPort: number) => `${this.container.id}/activator-${appPort}`;
    return {
      inherited: (appPort: number) => fds.inherited(key(appPort)),
      keep: (appPort: number, fd: number) => fds.keep(key(appPort), fd),
    };
  }

  /** What a new worker needs to take this container over (docs/restart-safety.md). */
  record(): ScaleRecord {
    return {
      phase: this.state.phase,
      ports: [...this.ports],
      activatorPorts: [...(this.#activator?.ports ?? [])],
      imagePath: this.imagePath,
      workPath: this.workPath,
      heldConnections: this.#heldConnections,
      tmpfs: this.#next.copies.map((c) => ({ ...c })),
    };
  }

  /**
   * A sleeping container whose worker died: its image and the tmpfs copies are on disk, the prepared
   * restore's waiter died with the worker. Listen again, redirect again, and let the next wake go
   * through `runc restore` (runc's record of the old init goes first, as when nothing was prepared).
   */
  async adoptAsleep(rec: ScaleRecord): Promise<void> {
    this.ports = [...rec.ports];
    this.#heldConnections = 0; // their hold rules went with the old table: they are reset on wake
    this.#expectExit = true;
    // The record may predate the dump (the worker died right after it): the mounts are the truth.
    this.#next.adopt(rec.tmpfs?.length ? rec.tmpfs : tmpfsCopiesIn(this.workPath));
    // The dead worker's prepared restore: its waiter died with it; its lazy-pages daemon and its
    // CRIU root bind are no one's now (the tmpfs copies stay: the wake binds them).
    releaseStaleRestore(this.workPath, (m, err) => this.#log.debug(m, { error: describeError(err) }));
    if (this.container.init.io) this.container.init.io.holdOpen = true;
    await this.container.runc.delete(this.container.id, { force: true }).catch((err: unknown) => {
      this.#log.debug('runc record of the sleeping container', { error: describeError(err) });
    });
    await this.#listen();
    await this.#nft!.redirect();
    this.state.transition('scaled-down', ['starting']);
    this.#schedule(); // the idle ticks resume once it is awake
    this.#log.info('sleeping container adopted', { ports: this.ports, tmpfsCopies: rec.tmpfs?.length ?? 0 });
  }

  async dispose(): Promise<void> {
    clearTimeout(this.#timer);
    for (const port of this.ports) this.#deps.fds?.drop(`${this.container.id}/activator-${port}`);
    await this.#next.dispose();
    if (!this.state.is('stopped')) this.state.transition('stopped');
    await this.#activator?.close().catch((err: unknown) => this.#log.warn('activator close', { error: err }));
    await this.#traffic?.remove().catch((err: unknown) => this.#log.warn('nft cleanup', { error: err }));
    await rm(this.imagePath, { recursive: true, force: true });
    // Whatever is still mounted in the work directory (a restore's root, copies) would make rm fail.
    unmountUnder(this.workPath, (m, err) => this.#log.warn(m, { error: describeError(err) }));
    await rm(this.workPath, { recursive: true, force: true });
  }
}
