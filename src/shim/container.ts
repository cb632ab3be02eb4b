/**
 * A task: one container (its init process and its execs) driven through runc. Every operation on it
 * goes through one queue; exits arrive from the reaper and are reported in containerd's order
 * (create, start, [oom], exit, delete).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  DisposableStack2,
  OperationQueue,
  alreadyExists,
  describeError,
  failedPrecondition,
  notFound,
  type Logger,
} from '../base/index.ts';
import type { Reaper } from '../sys/index.ts';
import type { Runc } from '../runc/index.ts';
import type { CriuConfigOptions } from '../criu/index.ts';
import type { EventSink } from './events.ts';
import { KEPT_STDIO, ProcessIO, type KeptName, type KeptStdio, type StdioPaths } from './io.ts';
import type { ForwardedExit, WorkerLink } from './keeper/index.ts';
import type { ExecRecord } from './records/index.ts';
import { readProcStatSync } from '../sys/index.ts';
import { mountAll, unmountAll, type RootfsMount } from './mount.ts';
import { TaskProcess, exitTimeNow, exitTimestamp, type ExitInfo } from './process.ts';
import { ociRuntimeError } from './oci-error.ts';
import {
  TaskCreateSchema,
  TaskDeleteSchema,
  TaskExecAddedSchema,
  TaskExecStartedSchema,
  TaskExitSchema,
  TaskOOMSchema,
  TaskStartSchema,
} from '../gen/github.com/containerd/containerd/api/events/task_pb.js';
import { OomWatcher } from './oom.ts';
import { cgroupDirsOf, type CgroupDirs } from './cgroups.ts';
import { isSystemdCgroupsPath } from './systemd-cgroups-path.ts';
import type { WindowSize } from '../sys/index.ts';

export interface ContainerDeps {
  runc: Runc;
  reaper: Reaper;
  events: EventSink;
  log: Logger;
  /** Under a keeper (docs/restart-safety.md): it keeps our stdio ends and reaps what was ours. */
  link?: WorkerLink;
}

/** What re-adopting a container needs (from its record, docs/restart-safety.md). */
export interface AdoptOptions {
  id: string;
  bundle: string;
  terminal: boolean;
  stdio: StdioPaths;
  pid: number;
  /** The init's start time in the record: with the pid, names the process (pids are reused). */
  startTime: number;
  /** A sleeping container: the old pipes' end must not end containerd's FIFOs. */
  holdOpen: boolean;
  /** Watch the init for its exit (not for a sleeping container: its recorded init is long gone). */
  watch: boolean;
  /** Execs that ran under the dead worker: watched again, their stdio from the keeper. */
  execs?: readonly ExecRecord[];
}

/** The keeper's name for our end of one of a process's stdio streams. */
function keptKey(containerId: string, execId: string, name: KeptName): string {
  return execId ? `${containerId}/exec/${execId}/${name}` : `${containerId}/${name}`;
}

export interface CreateOptions {
  id: string;
  bundle: string;
  rootfs: readonly RootfsMount[];
  terminal: boolean;
  stdio: StdioPaths;
  /** The runtime options say `SystemdCgroup = true` (runtime-options.ts): runc --systemd-cgroup. */
  systemdCgroup?: boolean;
}

/** Decides, per init exit, whether containerd hears of it (scale-to-zero hides checkpoint exits). */
export type ExitPolicy = (exit: ExitInfo) => 'report' | 'suppress';

export class Container {
  readonly id: string;
  readonly bundle: string;
  readonly spec: OciSpec;
  readonly init: TaskProcess;
  readonly execs = new Map<string, TaskProcess>();
  readonly queue = new OperationQueue();
  readonly log: Logger;
  exitPolicy: ExitPolicy = () => 'report';
  readonly #deps: ContainerDeps;
  /** The daemon's runc, or its --systemd-cgroup twin for a container whose cgroups systemd manages. */
  readonly #runc: Runc;
  readonly #stack = new DisposableStack2();
  /** The init's cgroup directories, resolved once after `runc create` (stats, OOM). */
  cgroups: CgroupDirs = new Map();
  #oom: OomWatcher | undefined;
  /** Each running exec's start time (with its pid, it names the process in a record). */
  readonly #execStarts = new Map<string, number>();

  private constructor(opts: CreateOptions, spec: OciSpec, deps: ContainerDeps) {
    this.id = opts.id;
    this.bundle = opts.bundle;
    this.spec = spec;
    this.#deps = deps;
    // Options are given at create; a container adopted after a worker's death shows it in its spec
    // (CRI writes `slice:prefix:name` only for a systemd-managed parent).
    const systemd = opts.systemdCgroup ?? isSystemdCgroupsPath(spec.linux?.cgroupsPath ?? '');
    this.#runc = deps.runc.withSystemdCgroup(systemd);
    this.log = deps.log.child({ container: opts.id });
    this.init = new TaskProcess('', { terminal: opts.terminal, stdio: opts.stdio }, this.log);
  }

  get runc(): Runc {
    return this.#runc;
  }

  /** Mounts the rootfs, opens stdio and runs `runc create`; undoes all of it if a step fails. */
  static async create(opts: CreateOptions, deps: ContainerDeps, signal?: AbortSignal): Promise<Container> {
    const spec = JSON.parse(readFileSync(path.join(opts.bundle, 'config.json'), 'utf8')) as OciSpec;
    const c = new Container(opts, spec, deps);
    try {
      const rootfs = path.join(opts.bundle, 'rootfs');
      if (opts.rootfs.length > 0) {
        await mountAll(opts.rootfs, rootfs);
        c.#stack.defer(() => unmountAll(rootfs));
      }
      const io = await ProcessIO.open(opts.stdio, c.log, signal, { terminal: opts.terminal });
      c.init.io = io;
      c.#stack.defer(() => io.dispose());
      const consoleSocket = io.consoleSocketPath;
      const pid = await c.runc
        .create(opts.id, {
          bundle: opts.bundle,
          pidFile: path.join(opts.bundle, 'init.pid'),
          stdio: io.childStdio,
          ...(consoleSocket ? { consoleSocket } : {}),
        })
        .catch(ociRuntimeError('create'));
      io.releaseChildFds();
      c.init.pid = pid;
      c.#watch(c.init);
      await io.attachConsole(signal);
      c.cgroups = cgroupDirsOf(pid);
      const oom = new OomWatcher(c.cgroups.get('memory'), () => c.#publishOom());
      c.#oom = oom;
      c.#stack.defer(() => oom.stop());
      deps.events.publish(TaskCreateSchema, {
        containerId: c.id,
        bundle: c.bundle,
        rootfs: opts.rootfs.map((m) => ({ type: m.type, source: m.source, options: [...m.options] })),
        io: {
          stdin: opts.stdio.stdin,
          stdout: opts.stdio.stdout,
          stderr: opts.stdio.stderr,
          terminal: opts.terminal,
        },
        pid,
      });
      return c;
    } catch (err) {
      // Past `runc create`, a failure must not leave runc's container behind.
      if (c.init.pid) await c.runc.delete(opts.id, { force: true }).catch(() => undefined);
      await c.#stack
        .dispose()
        .catch((e: unknown) => c.log.warn('cleanup after a failed create failed', { error: e }));
      throw err;
    }
  }

  /**
   * Takes over a container a worker that died was running (its init alive or not): the pipes from
   * the keeper, the FIFOs by path, the init watched through the keeper (it was re-parented there).
   * A dead init is reported exited with what the keeper saw, else 255 (unknown).
   */
  static async adopt(o: AdoptOptions, deps: ContainerDeps): Promise<Container> {
    const spec = JSON.parse(readFileSync(path.join(o.bundle, 'config.json'), 'utf8')) as OciSpec;
    const c = new Container(
      { id: o.id, bundle: o.bundle, rootfs: [], terminal: o.terminal, stdio: o.stdio },
      spec,
      deps,
    );
    const rootfs = path.join(o.bundle, 'rootfs');
    c.#stack.defer(() => unmountAll(rootfs)); // idempotent: nothing happens if nothing is mounted
    const kept = c.#inheritedFds('');
    const io = await ProcessIO.adopt(o.stdio, kept, c.log, { terminal: o.terminal, holdOpen: o.holdOpen });
    c.init.io = io;
    c.#dropWhenEnded(c.init);
    c.#stack.defer(() => io.dispose());
    c.init.pid = o.pid;
    c.init.state.transition('running', ['created']);
    const stat = readProcStatSync(o.pid);
    if (stat !== undefined && stat.startTime === o.startTime && stat.state !== 'Z') {
      c.cgroups = cgroupDirsOf(o.pid);
      const oom = new OomWatcher(c.cgroups.get('memory'), () => c.#publishOom());
      c.#oom = oom;
      c.#stack.defer(() => oom.stop());
      oom.start();
    }
    if (o.watch) c.#watchVia(c.init, o.startTime);
    for (const e of o.execs ?? []) await c.#adoptExec(e);
    c.log.info('container adopted', {
      pid: o.pid,
      alive: c.cgroups.size > 0,
      keptFds: Object.keys(kept),
      execs: c.execs.size,
    });
    return c;
  }

  /**
   * An exec that ran under the dead worker (a `kubectl exec` session): its pipes from the keeper,
   * containerd's FIFOs by path, its exit through the keeper. Its `Wait`, replayed by the keeper,
   * then finds it here. One that cannot be taken over is reported exited (255), never left hanging.
   */
  async #adoptExec(e: ExecRecord): Promise<void> {
    const p = new TaskProcess(e.id, { terminal: e.terminal, stdio: e.stdio }, this.log);
    this.execs.set(e.id, p);
    if (e.phase === 'created') return; // its Start opens its stdio (the spec file is in the bundle)
    p.pid = e.pid;
    this.#execStarts.set(e.id, e.startTime);
    p.state.transition('running', ['created']);
    try {
      p.io = await ProcessIO.adopt(e.stdio, this.#inheritedFds(e.id), this.log, { terminal: e.terminal });
      this.#dropWhenEnded(p);
    } catch (err) {
      this.log.error("cannot take over an exec's stdio: its output is lost", {
        exec: e.id,
        error: describeError(err),
      });
    }
    this.#watchVia(p, e.startTime);
  }

  /** The running execs, as a new worker needs them (docs/restart-safety.md). */
  execRecords(): ExecRecord[] {
    const out: ExecRecord[] = [];
    for (const p of this.execs.values()) {
      const known = { id: p.execId, stdio: { ...p.stdio }, terminal: p.terminal };
      if (p.state.is('created')) {
        out.push({ ...known, phase: 'created', pid: 0, startTime: 0 });
        continue;
      }
      const startTime = this.#execStarts.get(p.execId);
      if (!p.state.is('running', 'paused') || startTime === undefined) continue;
      out.push({ ...known, phase: 'running', pid: p.pid, startTime });
    }
    return out;
  }

  /** The fds a keeper kept for one of our processes (`execId` '' for the init). */
  #inheritedFds(execId: string): KeptStdio {
    const kept: KeptStdio = {};
    for (const name of KEPT_STDIO) {
      const fd = this.#deps.link?.inherited(keptKey(this.id, execId, name));
      if (fd !== undefined) kept[name] = fd;
    }
    return kept;
  }

  /** Asks the keeper to hold our ends of a process's stdio (a worker's death must not close them). */
  #keepFds(p: TaskProcess): void {
    const link = this.#deps.link;
    const io = p.io;
    if (!link || !io) return;
    for (const [name, fd] of Object.entries(io.keptFds))
      link.keep(keptKey(this.id, p.execId, name as KeptName), fd);
    this.#dropWhenEnded(p);
  }

  /**
   * The init's new pipes (made for a restore) go to the keeper before the restore runs: a worker
   * that dies mid-wake must not leave the restored app writing into pipes nobody reads.
   */
  keepStdio(): void {
    this.#keepFds(this.init);
  }

  /** A FIFO we end for good must end in the keeper too (containerd waits for its EOF). */
  #dropWhenEnded(p: TaskProcess): void {
    const link = this.#deps.link;
    if (link && p.io) p.io.onEnded = (name) => link.drop(keptKey(this.id, p.execId, name));
  }

  #dropFds(execId: string): void {
    for (const name of KEPT_STDIO) this.#deps.link?.drop(keptKey(this.id, execId, name));
  }

  process(execId: string): TaskProcess {
    if (!execId) return this.init;
    const p = this.execs.get(execId);
    if (!p) throw notFound(`process ${execId} does not exist in task ${this.id}`);
    return p;
  }

  async start(execId: string): Promise<number> {
    const p = this.process(execId);
    if (!p.state.is('created'))
      throw failedPrecondition(`process ${execId || this.id} is ${p.state.phase}, not created`);
    if (!execId) {
      await this.runc.start(this.id).catch(ociRuntimeError('start'));
      this.#oom?.start();
      p.state.transition('running', ['created']);
      this.#deps.events.publish(TaskStartSchema, { containerId: this.id, pid: p.pid });
      return p.pid;
    }
    if (!this.init.state.is('running')) throw failedPrecondition(`task ${this.id} is not running`);
    const io = await ProcessIO.open(p.stdio, this.log, undefined, { terminal: p.terminal });
    p.io = io;
    const specPath = path.join(this.bundle, `exec-${execId}.json`);
    const consoleSocket = io.consoleSocketPath;
    try {
      p.pid = await this.runc
        .exec(this.id, {
          processSpecPath: specPath,
          pidFile: path.join(this.bundle, `exec-${execId}.pid`),
          stdio: io.childStdio,
          ...(consoleSocket ? { consoleSocket } : {}),
        })
        .catch(ociRuntimeError('exec'));
      await io.attachConsole();
    } catch (err) {
      io.releaseChildFds();
      await io.dispose();
      throw err;
    } finally {
      rmSync(specPath, { force: true });
    }
    io.releaseChildFds();
    p.state.transition('running', ['created']);
    const stat = readProcStatSync(p.pid);
    if (stat) this.#execStarts.set(execId, stat.startTime);
    this.#watch(p);
    this.#deps.events.publish(TaskExecStartedSchema, { containerId: this.id, execId, pid: p.pid });
    return p.pid;
  }

  addExec(execId: string, terminal: boolean, stdio: StdioPaths, processSpec: Uint8Array): void {
    if (this.execs.has(execId)) throw alreadyExists(`exec ${execId} already exists in task ${this.id}`);
    if (!this.init.state.is('running')) throw failedPrecondition(`task ${this.id} is not running`);
    writeFileSync(path.join(this.bundle, `exec-${execId}.json`), processSpec);
    this.execs.set(execId, new TaskProcess(execId, { terminal, stdio }, this.log));
    this.#deps.events.publish(TaskExecAddedSchema, { containerId: this.id, execId });
  }

  async kill(execId: string, signal: number, all: boolean): Promise<void> {
    const p = this.process(execId);
    if (p.state.is('stopped', 'deleted')) throw notFound(`process ${execId || this.id} already finished`);
    if (!execId) {
      await this.runc.kill(this.id, signal, { all });
      return;
    }
    try {
      process.kill(p.pid, signal);
    } catch (err) {
      throw notFound(`process ${execId} already finished`, { cause: err });
    }
  }

  /** Deletes a stopped (or never started) process; for the init process, the whole container. */
  async delete(execId: string): Promise<ExitInfo> {
    const p = this.process(execId);
    if (execId) {
      if (p.state.is('running', 'paused')) throw failedPrecondition(`exec ${execId} is still running`);
      this.execs.delete(execId);
      this.#execStarts.delete(execId);
      this.#dropFds(execId);
      const exit = p.exit ?? { pid: p.pid, status: 0, exitedAt: new Date() };
      p.state.transition('deleted');
      await p.io?.dispose();
      this.#deps.events.publish(TaskDeleteSchema, {
        containerId: this.id,
        id: execId,
        pid: exit.pid,
        exitStatus: exit.status,
        exitedAt: exitTimestamp(exit),
      });
      return exit;
    }
    if (p.state.is('running', 'paused')) throw failedPrecondition(`task ${this.id} is still running`);
    try {
      await this.runc.delete(this.id, { force: true });
    } catch (err) {
      // Gone already (a scaled-down container has no runc container): nothing to delete.
      if ((err as { code?: string }).code !== 'NotFound') throw err;
    }
    const exit = p.exit ?? { pid: p.pid, status: 0, exitedAt: new Date() };
    if (!p.state.is('deleted')) p.state.transition('deleted');
    await this.#stack.dispose();
    this.#dropFds('');
    for (const execId of this.execs.keys()) this.#dropFds(execId);
    this.#deps.events.publish(TaskDeleteSchema, {
      containerId: this.id,
      id: this.id,
      pid: exit.pid,
      exitStatus: exit.status,
      exitedAt: exitTimestamp(exit),
    });
    return exit;
  }

  /**
   * Restores the init process from a checkpoint image (scale to zero's wake): new pipes into the
   * same FIFOs, `runc restore`, and the new pid watched like the first.
   */
  async restore(opts: {
    imagePath: string;
    workPath: string;
    criuOptions?: CriuConfigOptions;
    /** Pages come later from a `criu lazy-pages` daemon serving `workPath` (see src/criu). */
    lazyPages?: boolean;
    /** The image holds established TCP connections to put back. */
    tcpEstablished?: boolean;
    /** Aborting kills runc (and with it the restore). */
    signal?: AbortSignal;
  }): Promise<number> {
    const io = this.init.io;
    io?.reattach();
    this.keepStdio();
    try {
      const pid = await this.runc.restore(this.id, {
        bundle: this.bundle,
        pidFile: path.join(this.bundle, 'init.pid'),
        imagePath: opts.imagePath,
        workPath: opts.workPath,
        // The pod's network namespace is live and shared with the sandbox: the process joins it
        // as it is; nothing from the image (conntrack entries, sysctls) is written into it, which
        // fails (EBUSY) for entries that still exist.
        emptyNs: ['network'],
        ...(opts.lazyPages ? { lazyPages: true } : {}),
        ...(opts.tcpEstablished ? { tcpEstablished: true } : {}),
        ...(opts.criuOptions ? { criuOptions: opts.criuOptions } : {}),
        ...(io ? { stdio: io.childStdio } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      this.init.pid = pid;
      this.#watch(this.init);
      return pid;
    } finally {
      io?.releaseChildFds();
    }
  }

  /** Takes a process restored without runc (the prepared restore) as the init: watched like the first. */
  adoptRestored(pid: number): void {
    this.init.pid = pid;
    if (this.cgroups.size === 0) {
      // Adopted while asleep (no live init then): the restored app's cgroups are the container's.
      this.cgroups = cgroupDirsOf(pid);
      const oom = new OomWatcher(this.cgroups.get('memory'), () => this.#publishOom());
      this.#oom = oom;
      this.#stack.defer(() => oom.stop());
      oom.start();
    }
    this.#watch(this.init);
  }

  /**
   * Starts the init process afresh from the bundle (memory state is gone): the fallback when a
   * restore fails, and the wake of a container scaled down without checkpointing.
   */
  async recreate(signal?: AbortSignal): Promise<number> {
    const o = signal ? { signal } : {};
    await this.runc.delete(this.id, { force: true, ...o }).catch((err: unknown) => {
      if ((err as { code?: string }).code !== 'NotFound') throw err;
    });
    const io = this.init.io;
    io?.reattach();
    this.keepStdio();
    try {
      const pid = await this.runc.create(this.id, {
        bundle: this.bundle,
        pidFile: path.join(this.bundle, 'init.pid'),
        ...(io ? { stdio: io.childStdio } : {}),
        ...o,
      });
      io?.releaseChildFds();
      await this.runc.start(this.id, o);
      this.init.pid = pid;
      this.#watch(this.init);
      return pid;
    } finally {
      io?.releaseChildFds();
    }
  }

  /** Reports an exit nobody reaped (a scaled-down container was killed): once, in order. */
  reportExit(exit: ExitInfo): void {
    if (!this.init.recordExit(exit)) return;
    this.#deps.events.publish(TaskExitSchema, {
      containerId: this.id,
      id: this.id,
      pid: exit.pid,
      exitStatus: exit.status,
      exitedAt: exitTimestamp(exit),
    });
  }

  /** ResizePty for one of this task's processes. */
  resize(execId: string, size: WindowSize): void {
    this.process(execId).io?.resize(size);
  }

  #publishOom(): void {
    this.log.info('oom kill in the container');
    this.#deps.events.publish(TaskOOMSchema, { containerId: this.id });
  }

  /** Exits come from the reaper; each is reported once, after its start event. */
  #watch(p: TaskProcess): void {
    const pid = p.pid;
    this.#keepFds(p);
    this.#deps.reaper.watch(pid).then(
      (status) => this.#onExit(p, { pid, status: status.exitCode, exitedAt: status.exitedAt }),
      (err: unknown) => {
        // Not our child: re-parented to the keeper while no worker ran; the keeper reaps it.
        if (this.#deps.link && (err as { code?: string }).code === 'FailedPrecondition') {
          const stat = readProcStatSync(pid);
          if (stat) return this.#watchVia(p, stat.startTime);
        }
        this.log.error('cannot watch a process: reporting it as exited', { pid, error: err });
        void this.#onExit(p, { pid, status: 255, exitedAt: new Date() });
      },
    );
  }

  /** The exit of a process the keeper reaps (matched by pid and start time). */
  #watchVia(p: TaskProcess, startTime: number): void {
    const pid = p.pid;
    const link = this.#deps.link;
    const gone = () => {
      const stat = readProcStatSync(pid);
      return stat === undefined || stat.startTime !== startTime;
    };
    const report = (e: ForwardedExit | undefined) => {
      off?.();
      clearInterval(poll);
      const exit = e
        ? { pid, status: e.exitCode, exitedAt: new Date(e.exitedAt) }
        : { pid, status: 255, exitedAt: new Date() };
      void this.#onExit(p, exit);
    };
    const matches = (e: ForwardedExit) => e.pid === pid && e.startTime === startTime;
    const off = link?.onExit((e) => {
      if (matches(e)) report(e);
    });
    // Without a keeper's word (none, or it missed the exit), a process that is gone is lost: 255.
    const poll = setInterval(() => {
      if (p.exit === undefined && gone()) setTimeout(() => p.exit === undefined && report(undefined), 2000);
    }, 5000).unref();
    const known = link?.exitOf(pid);
    if (known && matches(known)) report(known);
    else if (!link && gone()) report(undefined);
  }

  async #onExit(p: TaskProcess, exit: ExitInfo): Promise<void> {
    if (!p.execId && this.exitPolicy(exit) === 'suppress') return;
    // Let the output reach containerd before the exit does (bounded: a grandchild may hold the pipe).
    await Promise.race([p.io?.drained, new Promise((r) => setTimeout(r, 2000).unref())]);
    if (p.state.is('created')) {
      // Exited before its Start returned: the start event and Start's answer go out first, and the
      // exit is stamped when it is handled, as containerd's runc shim stamps such an early exit.
      await p.leftCreated();
      await new Promise((r) => setImmediate(r));
      exit = { ...exit, ...exitTimeNow() };
    }
    if (!p.execId) {
      // An OOM kill of the init is reported before its exit (the CRI then says OOMKilled).
      this.#oom?.check();
      this.#oom?.stop();
    }
    if (!p.recordExit(exit)) return;
    this.#deps.events.publish(TaskExitSchema, {
      containerId: this.id,
      id: p.execId || this.id,
      pid: exit.pid,
      exitStatus: exit.status,
      exitedAt: exitTimestamp(exit),
    });
  }
}

export interface OciSpec {
  annotations?: Record<string, string>;
  linux?: { cgroupsPath?: string; namespaces?: { type: string; path?: string }[] };
  process?: { terminal?: boolean; args?: string[] };
}
