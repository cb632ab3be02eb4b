/**
 * The worker's side of the keeper (keeper.ts): where to serve, the fds the last worker left in the
 * keeper's care, and the exits of processes that were re-parented to the keeper.
 */
import { describeError, unavailable, type Logger } from '../../base/index.ts';
import { close, dupCloexec } from '../../sys/index.ts';
import {
  ENV_KEPT_FDS,
  ENV_ROLE,
  ENV_WORKER_SOCKET,
  isKeeperMessage,
  type ExitMessage,
  type SpliceTarget,
} from './messages.ts';

export type ForwardedExit = Omit<ExitMessage, 'type'>;

export class WorkerLink {
  readonly socketPath: string;
  readonly #inherited: Map<string, number>;
  readonly #exits = new Map<number, ForwardedExit>();
  readonly #listeners = new Set<(e: ForwardedExit) => void>();
  readonly #log: Logger;
  readonly #splices = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  #nextSplice = 1;

  private constructor(socketPath: string, inherited: Map<string, number>, log: Logger) {
    this.socketPath = socketPath;
    this.#inherited = inherited;
    this.#log = log;
    process.on('message', (m: unknown) => {
      if (!isKeeperMessage(m)) return;
      if (m.type === 'spliced') {
        const waiting = this.#splices.get(m.id);
        this.#splices.delete(m.id);
        if (m.error === undefined) waiting?.resolve();
        else waiting?.reject(unavailable(`the keeper could not join the connection: ${m.error}`));
        return;
      }
      const { type: _type, ...exit } = m;
      this.#exits.set(exit.pid, exit);
      for (const l of this.#listeners) l(exit);
    });
  }

  /** The link when this process is a keeper's worker; undefined otherwise. */
  static fromEnv(log: Logger): WorkerLink | undefined {
    if (process.env[ENV_ROLE] !== 'worker' || typeof process.send !== 'function') return undefined;
    const socketPath = process.env[ENV_WORKER_SOCKET];
    if (!socketPath) return undefined;
    const inherited = new Map<string, number>();
    try {
      const listed = JSON.parse(process.env[ENV_KEPT_FDS] ?? '{}') as Record<string, unknown>;
      for (const [k, v] of Object.entries(listed)) {
        if (typeof v !== 'number' || !Number.isInteger(v) || v <= 3) continue;
        // Inherited fds are not close-on-exec: every runc, CRIU and nft we spawn would get them all.
        const own = dupCloexec(v);
        close(v);
        inherited.set(k, own);
      }
    } catch (err) {
      log.error('kept fds unreadable: adopting without them', { error: describeError(err) });
    }
    return new WorkerLink(socketPath, inherited, log);
  }

  /** An fd the keeper kept for us under `key` (ours now: the keeper still holds its own copy). */
  inherited(key: string): number | undefined {
    return this.#inherited.get(key);
  }

  /** Keys of every fd inherited. */
  get inheritedKeys(): string[] {
    return [...this.#inherited.keys()];
  }

  /** Asks the keeper to hold a copy of our fd `fd` under `key` (for the next worker). */
  keep(key: string, fd: number): void {
    this.#send({ type: 'keep', key, fd });
  }

  /**
   * The keeper proxies the connection kept under `key` to the app from now on (it dials `target`):
   * resolves once it has joined them; then our own copy of the client may be closed.
   */
  splice(key: string, target: SpliceTarget): Promise<void> {
    const id = this.#nextSplice++;
    return new Promise<void>((resolve, reject) => {
      this.#splices.set(id, { resolve, reject });
      process.send!({ type: 'splice', id, key, target }, undefined, undefined, (err: Error | null) => {
        if (!err) return;
        this.#splices.delete(id);
        reject(unavailable('keeper unreachable', { cause: err }));
      });
    });
  }

  drop(key: string): void {
    this.#send({ type: 'drop', key });
  }

  ready(): void {
    this.#send({ type: 'ready' });
  }

  /** This worker is stopping: the keeper holds new requests for the next worker from now on. */
  leaving(): void {
    this.#send({ type: 'leaving' });
  }

  /** This worker ends for good (no task left in a pod's shim): the keeper must not start another. */
  done(): void {
    this.#send({ type: 'done' });
  }

  /** The exit of `pid` the keeper reaped, if it did (matched by start time by the caller). */
  exitOf(pid: number): ForwardedExit | undefined {
    return this.#exits.get(pid);
  }

  onExit(listener: (e: ForwardedExit) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #send(m: object): void {
    process.send!(m, undefined, undefined, (err: Error | null) => {
      if (err) this.#log.error('keeper unreachable', { error: describeError(err) });
    });
  }
}
