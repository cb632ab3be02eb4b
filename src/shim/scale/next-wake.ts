/**
 * What the next wake will need, gathered around each checkpoint: before the dump, whether the
 * container's processes share one cgroup set and copies of its tmpfs mounts (tmpfs-copies.ts);
 * after the process is stopped, the prepared restore (prepared-restore.ts), or else runc's record
 * deleted so that `runc restore` can recreate it. The wake takes it all once.
 */
import { describeError, type Logger } from '../../base/index.ts';
import { readRuncState } from '../../runc/index.ts';
import type { Container } from '../container.ts';
import type { WakeKit, WakePreparation } from './scale-types.ts';
import { prepareWake, type PreparedRestore } from './prepared-restore.ts';
import { sameCgroups } from './processes-and-images.ts';
import {
  copyTmpfs,
  dumpExternals,
  releaseCopies,
  restoreExternals,
  tmpfsMountpoints,
  type TmpfsCopy,
} from './tmpfs-copies.ts';

export class NextWake implements WakePreparation {
  readonly #container: Container;
  readonly #workPath: string;
  readonly #log: Logger;
  readonly #warnOnce: (message: string) => void;
  #sameCgroups = false;
  #tmpfs: TmpfsCopy[] = [];
  #prepared: PreparedRestore | undefined;

  constructor(c: Container, workPath: string, log: Logger, warnOnce: (message: string) => void) {
    this.#container = c;
    this.#workPath = workPath;
    this.#log = log;
    this.#warnOnce = warnOnce;
  }

  /** With the app frozen, right before the dump. A failed copy leaves the tmpfs to CRIU's archive. */
  async beforeDump(pids: readonly number[]): Promise<void> {
    this.discard();
    this.#sameCgroups = sameCgroups(pids);
    const c = this.#container;
    try {
      const state = readRuncState(c.runc.root, c.id);
      this.#tmpfs = await copyTmpfs(c.init.pid, tmpfsMountpoints(state), this.#workPath);
    } catch (err) {
      this.#warnOnce(`tmpfs mounts are dumped as archives: ${describeError(err)}`);
    }
  }

  /** The dump's CRIU option: each tmpfs copied is external. */
  get dumpExternals(): { key: string; value: string }[] {
    return dumpExternals(this.#tmpfs);
  }

  /** After the process was stopped: the prepared restore, or runc's record deleted. */
  async afterStop(o: {
    imagePath: string;
    tcpEstablished: boolean;
    lazyPages: boolean;
    prepare: boolean;
  }): Promise<void> {
    this.#prepared = o.prepare
      ? await prepareWake(this.#container, {
          imagePath: o.imagePath,
          workPath: this.#workPath,
          tcpEstablished: o.tcpEstablished,
          lazyPages: o.lazyPages,
          sameCgroups: this.#sameCgroups,
          tmpfsExternals: restoreExternals(this.#tmpfs),
          log: this.#log,
          warnOnce: this.#warnOnce,
        })
      : undefined;
    if (!this.#prepared) await this.#deleteRuncContainer();
  }

  /** A sleeping container re-adopted by a new worker: its copies are still mounted in the work dir. */
  adopt(copies: readonly TmpfsCopy[]): void {
    this.#tmpfs = [...copies];
  }

  /** The copies made for the next wake (recorded so a new worker can restore with them). */
  get copies(): readonly TmpfsCopy[] {
    return this.#tmpfs;
  }

  /** For the wake, once. */
  take(): WakeKit {
    const copies = this.#tmpfs;
    const kit = {
      prepared: this.#prepared,
      tmpfsExternals: restoreExternals(copies),
      release: () => releaseCopies(copies),
    };
    this.#prepared = undefined;
    this.#tmpfs = [];
    return kit;
  }

  /** The dump was dropped: the copies go. */
  discard(): void {
    releaseCopies(this.#tmpfs);
    this.#tmpfs = [];
  }

  /** The container goes while asleep: the waiter, the lazy-pages daemon and the copies go. */
  async dispose(): Promise<void> {
    await this.#prepared?.cancel();
    this.discard();
  }

  /** Not --force: runc's forced delete sleeps 100 ms after its SIGKILL even when nothing is left. */
  async #deleteRuncContainer(): Promise<void> {
    const c = this.#container;
    await c.runc.delete(c.id).catch(async (err: unknown) => {
      this.#log.debug('plain runc delete refused; forcing it', { error: describeError(err) });
      await c.runc.delete(c.id, { force: true }).catch((e: unknown) => {
        this.#log.warn('runc delete after the dump', { error: describeError(e) });
      });
    });
  }
}
