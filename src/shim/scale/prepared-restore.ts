/**
 * A restore made ready while the app sleeps, so a wake is CRIU's restore and little else.
 *
 * `runc restore` spends ~10 ms before CRIU starts (its own start, a second CRIU run to ask the
 * version, cgroup and mount set-up) and CRIU then sends it several notifications to answer. Here,
 * right after the checkpoint, everything that does not need the connection is done: runc's
 * container record and cgroups are kept (not deleted), the rootfs is bind-mounted where CRIU wants
 * its root, new stdio pipes into containerd's FIFOs exist, and a small waiter process already sits
 * in the container's cgroups holding those pipes and the pod's network namespace. The wake writes
 * one byte to the waiter, which becomes `criu restore`; afterwards runc's state.json is updated as
 * runc's own restore would update it.
 *
 *   prepared --run()--> running --(criu exit 0)--> done
 *       \                    \--(criu failed)---> failed (the caller falls back to runc restore)
 *        \--cancel()--> cancelled
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describeError, internal, type Logger } from '../../base/index.ts';
import {
  criuFailureReport,
  criuRestoreArgv,
  describeCriuFailure,
  spawnRestoreWaiter,
  startLazyPages,
  type LazyPagesDaemon,
  type RestoreWaiter,
} from '../../criu/index.ts';
import { readRuncState, restoredRuncState, writeRuncState, type RuncStateFile } from '../../runc/index.ts';
import { LINUX, mount, pipe, readProcStatSync, umount2 } from '../../sys/index.ts';
import { planRestore, unsupportedReason, type RestorePlan } from './restore-plan.ts';
import { dropNetnsState } from './processes-and-images.ts';
import type { Container } from '../container.ts';

export interface PrepareOptions {
  id: string;
  runcRoot: string;
  imagePath: string;
  workPath: string;
  /** The process's ends of new stdio pipes (the waiter holds them; the caller closes its copies). */
  stdio: { stdin?: number; stdout?: number; stderr?: number };
  tcpEstablished: boolean;
  lazyPages: boolean;
  /**
   * Every dumped process was in the init's cgroups: CRIU can leave cgroups alone (the restored tasks
   * are forked inside the waiter's, which are the container's); its cgroup yard (a mount of every
   * hierarchy) cost ~10 ms of each restore here. Otherwise soft mode puts each task back.
   */
  sameCgroups: boolean;
  /** External tmpfs mounts of the image and the copies to bind (tmpfs-copies.ts). */
  tmpfsExternals: readonly { key: string; value: string }[];
  /** CRIU verbosity for the fast attempt (the runc fallback logs at 4). */
  logLevel: number;
  criuBinary?: string;
  log: Logger;
}

type Phase = 'prepared' | 'running' | 'done' | 'failed' | 'cancelled';

export class PreparedRestore {
  #phase: Phase = 'prepared';
  readonly #o: PrepareOptions;
  readonly #state: RuncStateFile;
  readonly #plan: RestorePlan;
  readonly #root: string;
  readonly #pidFile: string;
  #waiter: RestoreWaiter | undefined;
  #go: number | undefined;
  #lazy: LazyPagesDaemon | undefined;
  #cancelled: Promise<void> | undefined;
  #stdioNames: string[] = [];

  private constructor(o: PrepareOptions, state: RuncStateFile, plan: RestorePlan) {
    this.#o = o;
    this.#state = state;
    this.#plan = plan;
    this.#root = path.join(o.workPath, 'criu-root');
    this.#pidFile = path.join(o.workPath, 'restored.pid');
  }

  /** Where the last run's time went: CRIU (go to exit), then runc's state record. */
  timings: { criuMs?: number; recordMs?: number; startedAt?: number } = {};

  get phase(): Phase {
    return this.#phase;
  }

  /** The lazy-pages daemon serving this restore, once `run()` succeeded with lazy pages. */
  get lazyPages(): LazyPagesDaemon | undefined {
    return this.#phase === 'done' ? this.#lazy : undefined;
  }

  static async prepare(o: PrepareOptions, state = readRuncState(o.runcRoot, o.id)): Promise<PreparedRestore> {
    const descriptors = JSON.parse(
      readFileSync(path.join(o.imagePath, 'descriptors.json'), 'utf8'),
    ) as string[];
    const plan = planRestore(state, descriptors, {
      cgroup: readFileSync('/proc/self/cgroup', 'utf8'),
      mountinfo: readFileSync('/proc/self/mountinfo', 'utf8'),
    });
    const p = new PreparedRestore(o, state, plan);
    try {
      await p.#setUp();
    } catch (err) {
      await p.cancel();
      throw err;
    }
    return p;
  }

  async #setUp(): Promise<void> {
    const o = this.#o;
    rmSync(this.#pidFile, { force: true });
    mkdirSync(this.#root, { recursive: true, mode: 0o755 });
    // CRIU wants its root to be a mount point whose parent is not overmounted (as runc does it).
    mount(this.#plan.rootfs, this.#root, '', LINUX.MS_BIND | LINUX.MS_REC, '');
    if (o.lazyPages) this.#lazy = await startLazyPages({ imagePath: o.imagePath, workPath: o.workPath });

    const nsFds: number[] = [];
    try {
      for (const ns of this.#plan.externalNs) nsFds.push(openSync(ns.path, 'r'));
    } catch (err) {
      for (const fd of nsFds) closeSync(fd);
      throw err;
    }
    const [goRead, goWrite] = pipe();
    this.#go = goWrite;
    const fdBase = 4; // 0-2 stdio, 3 the go pipe
    const config = path.join(o.workPath, 'zeropod-restore.conf');
    const argv = criuRestoreArgv({
      imagePath: o.imagePath,
      workPath: o.workPath,
      root: this.#root,
      pidFile: this.#pidFile,
      extMounts: [...this.#plan.extMounts, ...o.tmpfsExternals],
      inheritFds: [
        ...this.#plan.stdioKeys,
        ...this.#plan.externalNs.map((ns, i) => ({ fd: fdBase + i, key: ns.key })),
      ],
      joinNs: this.#plan.joinNs,
      cgroupRoots: [],
      emptyNs: ['net'],
      manageCgroups: o.sameCgroups ? 'ignore' : 'soft',
      tcpEstablished: o.tcpEstablished,
      lazyPages: o.lazyPages,
      logLevel: o.logLevel,
    });
    const devNull = openSync('/dev/null', 'r+');
    try {
      const child = spawnRestoreWaiter({
        argv,
        stdio: [o.stdio.stdin ?? devNull, o.stdio.stdout ?? devNull, o.stdio.stderr ?? devNull],
        go: goRead,
        fds: nsFds,
        configFile: config,
        ...(o.criuBinary ? { binary: o.criuBinary } : {}),
      });
      this.#waiter = child;
      // The names of the pipes the restored process gets: runc's state must list these (runc's
      // own restore reads them from CRIU's fds the same way), since its next checkpoint writes
      // them into descriptors.json, and the restore after that finds the pipes by them.
      this.#stdioNames = [0, 1, 2].map((fd) => readlinkSync(`/proc/${child.pid}/fd/${fd}`));
      // CRIU runs in the container's cgroups, as runc puts it there (criuApplyCgroups), and its
      // cgroup roots are those. The waiter moves in now, not at the wake: the first move into a
      // cgroup after a quiet spell waits for an RCU grace period (~25 ms measured here), and the
      // restored tasks, forked inside, need no move of their own.
      this.#joinCgroups(child.pid);
      const roots = cgroupRoots(readFileSync(`/proc/${child.pid}/cgroup`, 'utf8'));
      // Read when CRIU starts (at the wake), so it can name the cgroups the waiter was put in.
      const text = [
        '# written by zeropod-ts',
        ...roots.map((r) => `cgroup-root ${r.controller}:${r.path}`),
        '',
      ];
      writeFileSync(config, text.join('\n'), { mode: 0o600 });
    } finally {
      closeSync(devNull);
      closeSync(goRead);
      for (const fd of nsFds) closeSync(fd);
    }
  }

  /** Runs the restore; resolves with the restored init's pid once runc's state names it. */
  async run(signal?: AbortSignal): Promise<number> {
    if (this.#phase !== 'prepared') throw internal(`prepared restore is ${this.#phase}`);
    this.#phase = 'running';
    const o = this.#o;
    // The waiter becomes CRIU: killing it on abort ends a hung restore (the wake's timeout).
    const onAbort = () => this.#waiter?.kill();
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const go = this.#go!;
      this.#go = undefined;
      writeFileSync(go, '\n');
      closeSync(go);
      const t0 = performance.now();
      const code = await this.#waiter!.exit;
      const t1 = performance.now();
      if (code !== 0) {
        const report = await criuFailureReport(o.workPath, 'restore');
        throw internal(`criu restore exited with ${code}: ${describeCriuFailure(report)}`, {
          details: { log: report.logPath, tail: report.tail },
        });
      }
      const pid = Number(readFileSync(this.#pidFile, 'utf8').trim());
      const stat = readProcStatSync(pid);
      if (!Number.isInteger(pid) || pid <= 0 || stat === undefined)
        throw internal(`criu restore left no process behind (pid file says "${pid}")`);
      writeRuncState(
        o.runcRoot,
        restoredRuncState(this.#state, {
          pid,
          startTime: stat.startTime,
          created: new Date(),
          descriptors: this.#stdioNames,
        }),
      );
      this.#phase = 'done';
      this.timings = {
        criuMs: Math.round(t1 - t0),
        recordMs: Math.round(performance.now() - t1),
        startedAt: t0,
      };
      this.#unmountRoot();
      return pid;
    } catch (err) {
      this.#phase = 'failed';
      this.#lazy?.kill();
      this.#unmountRoot();
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Gives up the prepared restore: the waiter and the lazy-pages daemon go, the root is unmounted. */
  cancel(): Promise<void> {
    if (this.#phase === 'running' || this.#phase === 'done') return Promise.resolve();
    this.#cancelled ??= this.#cancel();
    return this.#cancelled;
  }

  async #cancel(): Promise<void> {
    this.#phase = 'cancelled';
    if (this.#go !== undefined) closeSync(this.#go); // EOF: the waiter exits (99)
    this.#go = undefined;
    this.#waiter?.kill();
    this.#lazy?.kill();
    await this.#waiter?.exit;
    this.#unmountRoot();
  }

  #joinCgroups(pid: number): void {
    for (const dir of this.#plan.cgroupDirs) writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
  }

  /**
   * A syscall, not the `umount` binary: a process spawned on the wake's path blocked the shim for
   * 1-30 ms while the restored app and the lazy-pages daemon kept both CPUs busy (measured here).
   */
  #unmountRoot(): void {
    try {
      umount2(this.#root, LINUX.MNT_DETACH);
      rmdirSync(this.#root);
    } catch (err) {
      this.#o.log.debug('criu root unmount', { error: describeError(err) });
    }
  }
}

/** `/proc/<pid>/cgroup` -> one root per controller, '' for the unified line (runc's CgRoot list). */
export function cgroupRoots(procCgroup: string): { controller: string; path: string }[] {
  const out: { controller: string; path: string }[] = [];
  for (const line of procCgroup.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const c of m[1]!.split(',')) out.push({ controller: c, path: m[2]! });
  }
  return out;
}

/**
 * CRIU's verbosity on the prepared restore: warnings and errors. Debug output (runc's 4) is ~2,300
 * unbuffered log lines for nginx; a failed prepared restore is retried through runc, at 4.
 */
const PREPARED_LOG_LEVEL = 2;

/** ZEROPOD_RESTORE_LOG_LEVEL=0..4 in the shim's environment overrides it (to see CRIU's timings). */
function preparedLogLevel(): number {
  const v = Number(process.env['ZEROPOD_RESTORE_LOG_LEVEL']);
  return Number.isInteger(v) && v >= 0 && v <= 4 ? v : PREPARED_LOG_LEVEL;
}

/**
 * Prepares the wake of a container just checkpointed into `imagePath`: undefined (with the reason
 * logged) when runc's own restore must do it. New stdio pipes into the FIFOs replace the old ones.
 */
export async function prepareWake(
  c: Container,
  o: {
    imagePath: string;
    workPath: string;
    tcpEstablished: boolean;
    lazyPages: boolean;
    sameCgroups: boolean;
    tmpfsExternals: readonly { key: string; value: string }[];
    log: Logger;
    warnOnce: (message: string) => void;
  },
): Promise<PreparedRestore | undefined> {
  const io = c.init.io;
  try {
    const state = readRuncState(c.runc.root, c.id);
    const reason = unsupportedReason(state, c.init.terminal);
    if (reason !== undefined) {
      o.warnOnce(`wakes go through runc restore: the container has ${reason}`);
      return undefined;
    }
    dropNetnsState(o.imagePath);
    io?.reattach();
    c.keepStdio(); // before CRIU can run: a worker that dies mid-wake leaves the pipes read
    return await PreparedRestore.prepare(
      {
        id: c.id,
        runcRoot: c.runc.root,
        imagePath: o.imagePath,
        workPath: o.workPath,
        stdio: io?.childStdio ?? {},
        tcpEstablished: o.tcpEstablished,
        lazyPages: o.lazyPages,
        sameCgroups: o.sameCgroups,
        tmpfsExternals: o.tmpfsExternals,
        logLevel: preparedLogLevel(),
        log: o.log,
      },
      state,
    );
  } catch (err) {
    o.log.warn('cannot prepare the restore: the wake goes through runc', { error: describeError(err) });
    return undefined;
  } finally {
    io?.releaseChildFds();
  }
}
