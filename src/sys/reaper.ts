/**
 * Reaps the processes a shim is responsible for (container inits re-parented to it by runc, execs,
 * restored processes) without stealing Node's own child_process children.
 *
 * - `watch(pid)` opens a pidfd and checks it at once, so a process that exited before watch() (a
 *   zombie) is still reported. A pid that is gone or already reaped fails with NotFound (ESRCH); a
 *   pid that is not our child fails with FailedPrecondition (ECHILD).
 * - On every SIGCHLD (signals coalesce) every tracked pidfd gets a waitid(P_PIDFD, WEXITED|WNOHANG).
 *   Never waitpid(-1): libuv reaps its children with waitpid(pid) and silently drops an exit that
 *   someone else reaped, so a ChildProcess would never emit 'exit'.
 * - Each exit is resolved exactly once; watch() of a pid already tracked shares its result.
 * - While anything is tracked a ref'd timer keeps the process alive (as a ChildProcess handle
 *   does) and re-polls the pidfds, a safety net should a SIGCHLD ever be missed.
 *
 * Orphans: as a child subreaper we inherit every orphaned descendant (runc's double fork, daemons
 * inside a container started without a pid namespace). Their zombies would pile up, so each scan
 * lists our children (/proc/self/task/* /children), and reaps a zombie that is untracked and was
 * already an untracked zombie at the previous scan. The two-scan rule keeps us off Node's own
 * children: a poll phase runs between two timer callbacks, and libuv reaps its zombies in the poll
 * phase that follows the SIGCHLD, so any zombie still there a whole interval later is not libuv's.
 * It also leaves a caller one interval (default 1 s) to call watch() on a fresh zombie, e.g. a
 * container init that died right after `runc start`. Reaped orphans are logged, not reported.
 */
import {
  canceled,
  failedPrecondition,
  internal,
  invalidArgument,
  notFound,
  silentLogger,
} from '../base/index.ts';
import type { Logger } from '../base/index.ts';
import {
  close,
  isChildSubreaper,
  pidfdOpen,
  setChildSubreaper,
  waitPid,
  waitPidfd,
  type ChildExit,
} from './libc.ts';
import { readOwnChildrenSync, readProcStatSync } from './proc.ts';
import { errnoOf } from './sys-error.ts';

export interface ExitStatus {
  pid: number;
  /** exit(2) status, or 128 + signal when killed (containerd's convention). */
  exitCode: number;
  /** Set when a signal ended the process. */
  signal?: number;
  /** When the reaper saw the exit (at most one scan interval late; normally at the SIGCHLD). */
  exitedAt: Date;
}

export interface ReaperOptions {
  log?: Logger;
  /** Become a child subreaper so orphaned descendants are re-parented to us. Default true. */
  subreaper?: boolean;
  /** Interval of the orphan scan and pidfd re-poll. Default 1000 ms. */
  scanIntervalMs?: number;
}

interface Tracked {
  pid: number;
  pidfd: number;
  promise: Promise<ExitStatus>;
  resolve: (status: ExitStatus) => void;
  reject: (err: unknown) => void;
}

let liveReapers = 0;

export class Reaper implements Disposable {
  readonly #log: Logger;
  readonly #tracked = new Map<number, Tracked>();
  readonly #timer: NodeJS.Timeout;
  readonly #restoreSubreaper: boolean;
  /** Untracked zombie children at the last scan: pid -> start time. */
  #candidates = new Map<number, number>();
  #disposed = false;
  readonly #onSigchld = () => this.#poll();

  constructor(options: ReaperOptions = {}) {
    if (liveReapers > 0) throw failedPrecondition('a Reaper already runs in this process');
    this.#log = options.log ?? silentLogger;
    const wantSubreaper = options.subreaper ?? true;
    this.#restoreSubreaper = wantSubreaper && !isChildSubreaper();
    if (this.#restoreSubreaper) setChildSubreaper(true);
    liveReapers++;
    process.on('SIGCHLD', this.#onSigchld);
    this.#timer = setInterval(() => this.#scan(), options.scanIntervalMs ?? 1000).unref();
  }

  get trackedCount(): number {
    return this.#tracked.size;
  }

  /**
   * Resolves when `pid` (a child of this process) exits. `signal` only detaches this caller:
   * the process stays tracked and is still reaped. Do not watch pids spawned by child_process.
   */
  watch(pid: number, signal?: AbortSignal): Promise<ExitStatus> {
    try {
      const entry = this.#tracked.get(pid) ?? this.#track(pid);
      return signal === undefined ? entry.promise : detachable(entry.promise, signal, pid);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : internal('watch failed', { cause: err }));
    }
  }

  #track(pid: number): Tracked {
    if (this.#disposed) throw failedPrecondition('reaper is disposed', { details: { pid } });
    if (!Number.isInteger(pid) || pid <= 0) throw invalidArgument('invalid pid', { details: { pid } });
    let pidfd: number;
    try {
      pidfd = pidfdOpen(pid);
    } catch (err) {
      if (errnoOf(err) !== 'ESRCH') throw err;
      throw notFound('process does not exist or was already reaped', { cause: err, details: { pid } });
    }
    let exit: ChildExit | undefined;
    try {
      exit = waitPidfd(pidfd, pid); // already a zombie? then report it now
    } catch (err) {
      close(pidfd);
      if (errnoOf(err) !== 'ECHILD') throw err;
      throw failedPrecondition('process is not a child of this process', { cause: err, details: { pid } });
    }
    let resolve!: (s: ExitStatus) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<ExitStatus>((res, rej) => ((resolve = res), (reject = rej)));
    const entry: Tracked = { pid, pidfd, promise, resolve, reject };
    this.#tracked.set(pid, entry);
    this.#timer.ref();
    if (exit !== undefined) this.#settle(entry, exit);
    return entry;
  }

  /** Polls one pidfd; settles and forgets the entry once it exited or cannot be waited for. */
  #check(entry: Tracked): void {
    let exit: ChildExit | undefined;
    try {
      exit = waitPidfd(entry.pidfd, entry.pid);
    } catch (err) {
      // ECHILD: someone else reaped it (a waitpid(-1) elsewhere in the process).
      this.#forget(entry);
      this.#log.error('waitid on a tracked pid failed', { pid: entry.pid, err });
      entry.reject(
        internal('lost the exit status of a tracked process', { cause: err, details: { pid: entry.pid } }),
      );
      return;
    }
    if (exit !== undefined) this.#settle(entry, exit);
  }

  #settle(entry: Tracked, exit: ChildExit): void {
    this.#forget(entry);
    const status: ExitStatus = { pid: entry.pid, exitCode: exit.exitCode, exitedAt: new Date() };
    if (exit.signal !== undefined) status.signal = exit.signal;
    this.#log.debug('process exited', { pid: status.pid, exitCode: status.exitCode });
    entry.resolve(status);
  }

  #forget(entry: Tracked): void {
    this.#tracked.delete(entry.pid);
    if (this.#tracked.size === 0) this.#timer.unref();
    try {
      close(entry.pidfd);
    } catch (err) {
      this.#log.warn('closing a pidfd failed', { pid: entry.pid, err });
    }
  }

  #poll(): void {
    for (const entry of [...this.#tracked.values()]) this.#check(entry);
  }

  /**
   * Re-polls tracked pids and reaps orphan zombies seen in two consecutive scans (the same process:
   * same pid and start time, so a recycled pid is not mistaken for the zombie seen before).
   */
  #scan(): void {
    this.#poll();
    const zombies = new Map<number, number>();
    try {
      for (const pid of readOwnChildrenSync()) {
        const stat = this.#tracked.has(pid) ? undefined : readProcStatSync(pid);
        if (stat?.state === 'Z') zombies.set(pid, stat.startTime);
      }
    } catch (err) {
      this.#log.warn('listing children failed', { err });
      return;
    }
    for (const [pid, startTime] of zombies) {
      if (this.#candidates.get(pid) === startTime) this.#reapOrphan(pid);
    }
    this.#candidates = zombies;
  }

  #reapOrphan(pid: number): void {
    try {
      const exit = waitPid(pid);
      if (exit !== undefined) this.#log.info('reaped orphan', { pid, exitCode: exit.exitCode });
    } catch (err) {
      // ECHILD: it was reaped in between (by libuv, or it was never ours); nothing to do.
      if (errnoOf(err) !== 'ECHILD') this.#log.warn('reaping an orphan failed', { pid, err });
    }
  }

  /** Stops listening for SIGCHLD, closes pidfds, rejects pending watches with Canceled. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    liveReapers--;
    process.off('SIGCHLD', this.#onSigchld);
    clearInterval(this.#timer);
    for (const entry of [...this.#tracked.values()]) {
      this.#forget(entry);
      entry.reject(canceled('reaper disposed', { details: { pid: entry.pid } }));
    }
    if (this.#restoreSubreaper) setChildSubreaper(false);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

function detachable(promise: Promise<ExitStatus>, signal: AbortSignal, pid: number): Promise<ExitStatus> {
  if (signal.aborted)
    return Promise.reject(canceled('watch aborted', { cause: signal.reason, details: { pid } }));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(canceled('watch aborted', { cause: signal.reason, details: { pid } }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (s) => (signal.removeEventListener('abort', onAbort), resolve(s)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}
