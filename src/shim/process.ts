/**
 * One process of a task: the container's init or an exec. Its lifecycle is an explicit state
 * machine; its exit is recorded exactly once and reported only after its start was published.
 */
import { create } from '@bufbuild/protobuf';
import { TimestampSchema, timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import { StateMachine, type Logger } from '../base/index.ts';
import type { ProcessIO } from './io.ts';

export type ProcessPhase = 'created' | 'running' | 'paused' | 'stopped' | 'deleted';

const transitions = {
  created: ['running', 'stopped', 'deleted'],
  running: ['paused', 'stopped'],
  paused: ['running', 'stopped'],
  stopped: ['deleted'],
  deleted: [],
} as const satisfies Record<ProcessPhase, readonly ProcessPhase[]>;

export interface ExitInfo {
  pid: number;
  /** 128 + signal for a killed process, as containerd reports it. */
  status: number;
  exitedAt: Date;
  /** The same instant to the nanosecond (wall clock), when known: Go shims stamp exits in ns. */
  exitedAtNs?: bigint;
}

/** Now, to the microsecond, as an exit time (a Date alone has milliseconds). */
export function exitTimeNow(): Pick<ExitInfo, 'exitedAt' | 'exitedAtNs'> {
  const ms = performance.timeOrigin + performance.now();
  return { exitedAt: new Date(ms), exitedAtNs: BigInt(Math.round(ms * 1000)) * 1000n };
}

/** The exit time as a protobuf Timestamp, nanoseconds when known. */
export function exitTimestamp(exit: Pick<ExitInfo, 'exitedAt' | 'exitedAtNs'>): Timestamp {
  if (exit.exitedAtNs === undefined) return timestampFromDate(exit.exitedAt);
  return create(TimestampSchema, {
    seconds: exit.exitedAtNs / 1_000_000_000n,
    nanos: Number(exit.exitedAtNs % 1_000_000_000n),
  });
}

export class TaskProcess {
  /** '' for the container's init process. */
  readonly execId: string;
  readonly terminal: boolean;
  readonly stdio: { stdin: string; stdout: string; stderr: string };
  readonly state: StateMachine<ProcessPhase>;
  pid = 0;
  io: ProcessIO | undefined;
  #exit: ExitInfo | undefined;
  #resolveExit!: (exit: ExitInfo) => void;
  /** Resolves once, when the process has exited (and its output was drained). */
  readonly exited: Promise<ExitInfo>;

  constructor(
    execId: string,
    opts: { terminal: boolean; stdio: { stdin: string; stdout: string; stderr: string } },
    log: Logger,
  ) {
    this.execId = execId;
    this.terminal = opts.terminal;
    this.stdio = opts.stdio;
    this.state = new StateMachine<ProcessPhase>(
      'created',
      transitions,
      log.child({ exec: execId || undefined }),
    );
    this.exited = new Promise((resolve) => (this.#resolveExit = resolve));
  }

  get exit(): ExitInfo | undefined {
    return this.#exit;
  }

  /**
   * Resolves when the process leaves 'created' (its Start finished, either way), or after
   * `timeoutMs` should Start never finish.
   */
  leftCreated(timeoutMs = 5000): Promise<void> {
    if (!this.state.is('created')) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        off();
        clearTimeout(timer);
        resolve();
      };
      const off = this.state.onChange(done);
      const timer = setTimeout(done, timeoutMs).unref();
    });
  }

  /** Records the exit; returns false if it was already recorded. */
  recordExit(exit: ExitInfo): boolean {
    if (this.#exit !== undefined) return false;
    this.#exit = exit;
    if (!this.state.is('stopped', 'deleted')) this.state.transition('stopped');
    this.#resolveExit(exit);
    return true;
  }
}
