/**
 * The wake's restore attempts as one chain, in the order that keeps the app's memory whenever it
 * can: the prepared restore (prepared-restore.ts), else `runc restore` (lazily for big images), then
 * `runc restore` once more in full; only when both failed a fresh start from the bundle. It returns
 * what happened (how, and every failed attempt) and leaves counting and reporting to its caller.
 * Each failed attempt keeps CRIU's log as restore-failed-<n>.log.
 */
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { describeError, type Logger } from '../../base/index.ts';
import type { LazyPagesDaemon } from '../../criu/index.ts';
import { removeOrphanedShm } from '../../sys/index.ts';
import type { Container } from '../container.ts';
import type { PreparedWake, ScaleTools, WakeVia } from './scale-types.ts';

export interface BringBackOptions {
  container: Container;
  imagePath: string;
  workPath: string;
  prepared: PreparedWake | undefined;
  /** The image holds established TCP connections (restore with tcp-established). */
  heldConnections: number;
  /** External tmpfs mounts of the image and the copies to bind (tmpfs-copies.ts). */
  tmpfsExternals: readonly { key: string; value: string }[];
  lazyPagesMinBytes: number;
  tools: Pick<ScaleTools, 'pagesBytes' | 'startLazyPages'>;
  log: Logger;
  /** When the wake began (for the trace's goMs). */
  startedAt: number;
  signal: AbortSignal;
}

export type BringBackResult =
  | {
      kind: 'back';
      via: WakeVia;
      /** The daemon still serving pages to the restored app. */
      lazy: LazyPagesDaemon | undefined;
      trace: Record<string, string | number>;
      /** The attempts that failed before this one (each is a failed restore to count). */
      failures: unknown[];
    }
  /** Not even a fresh start worked. */
  | { kind: 'failed'; error: unknown; failures: unknown[] };

export async function bringBack(o: BringBackOptions): Promise<BringBackResult> {
  const { container, log } = o;
  const failures: unknown[] = [];
  clearOrphanedShm(container, log);
  for (let attempt = 1; attempt <= 2; attempt++) {
    let lazy: LazyPagesDaemon | undefined;
    try {
      o.signal.throwIfAborted();
      if (attempt === 1 && o.prepared) {
        container.adoptRestored(await o.prepared.run(o.signal));
        const { startedAt, ...timings } = o.prepared.timings;
        return {
          kind: 'back',
          via: 'prepared',
          lazy: o.prepared.lazyPages,
          trace: {
            ...timings,
            ...(startedAt === undefined ? {} : { goMs: Math.round(startedAt - o.startedAt) }),
          },
          failures,
        };
      }
      // Big images: the restore returns before the memory is in; a lazy-pages daemon streams it.
      lazy =
        attempt === 1 && o.tools.pagesBytes(o.imagePath) >= o.lazyPagesMinBytes
          ? await tryLazyPages(o)
          : undefined;
      await container.restore({
        imagePath: o.imagePath,
        workPath: o.workPath,
        criuOptions: { networkLock: 'skip', externalMounts: o.tmpfsExternals },
        ...(o.heldConnections > 0 ? { tcpEstablished: true } : {}),
        ...(lazy ? { lazyPages: true } : {}),
        signal: o.signal,
      });
      return { kind: 'back', via: 'runc restore', lazy, trace: { attempt }, failures };
    } catch (err) {
      lazy?.kill();
      failures.push(err);
      log.error('restore failed', { attempt, error: describeError(err) });
      // Keep each attempt's log: CRIU writes restore.log afresh every time.
      await rename(
        path.join(o.workPath, 'restore.log'),
        path.join(o.workPath, `restore-failed-${attempt}.log`),
      ).catch(() => undefined); // CRIU did not get as far as its log
      await container.runc.delete(container.id, { force: true }).catch(() => undefined);
    }
  }
  log.error('restore failed twice: starting the container afresh; its memory state is lost', {
    error: describeError(failures.at(-1)),
  });
  try {
    o.signal.throwIfAborted();
    await container.recreate(o.signal);
    return { kind: 'back', via: 'fresh start', lazy: undefined, trace: {}, failures };
  } catch (error) {
    return { kind: 'failed', error, failures };
  }
}

/**
 * SysV segments the stopped app left in the pod's IPC namespace (postgres' interlock) are in the
 * image; CRIU recreates them there and fails if they are still there (sys/sysv-shm.ts).
 */
function clearOrphanedShm(container: Container, log: Logger): void {
  const ipc = container.spec.linux?.namespaces?.find((n) => n.type === 'ipc')?.path;
  if (ipc === undefined || ipc === '') return; // its own IPC namespace died with the app
  try {
    const removed = removeOrphanedShm(ipc);
    if (removed.length > 0) {
      log.info('removed SysV segments the stopped app left; the restore recreates them', {
        ids: removed.map((s) => s.id),
      });
    }
  } catch (err) {
    log.warn('cannot look for SysV segments the stopped app left', { error: describeError(err) });
  }
}

async function tryLazyPages(o: BringBackOptions): Promise<LazyPagesDaemon | undefined> {
  try {
    return await o.tools.startLazyPages({ imagePath: o.imagePath, workPath: o.workPath });
  } catch (err) {
    o.log.warn('lazy pages unavailable: full restore', { error: describeError(err) });
    return undefined;
  }
}
