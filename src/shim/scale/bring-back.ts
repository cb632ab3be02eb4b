/**
 * The wake's restore, in the order that keeps the app's memory whenever it can: the prepared
 * restore (prepared-restore.ts), else `runc restore` (lazily for big images), then `runc restore`
 * once more in full; only when both failed a fresh start from the bundle, its loss of memory state
 * counted and logged. Each failed attempt keeps CRIU's log as restore-failed-<n>.log.
 */
import { renameSync } from 'node:fs';
import path from 'node:path';
import { describeError, type Logger } from '../../base/index.ts';
import { startLazyPages, type LazyPagesDaemon } from '../../criu/index.ts';
import { removeOrphanedShm } from '../../sys/index.ts';
import type { Container } from '../container.ts';
import type { PreparedRestore } from './prepared-restore.ts';
import { pagesBytes } from './processes-and-images.ts';
import type { ScaleStats, WakeVia } from './scale-types.ts';

export interface BringBackOptions {
  container: Container;
  imagePath: string;
  workPath: string;
  prepared: PreparedRestore | undefined;
  /** The image holds established TCP connections (restore with tcp-established). */
  heldConnections: number;
  /** External tmpfs mounts of the image and the copies to bind (tmpfs-copies.ts). */
  tmpfsExternals: readonly { key: string; value: string }[];
  lazyPagesMinBytes: number;
  stats: ScaleStats;
  log: Logger;
  /** When the wake began (for the trace's goMs). */
  startedAt: number;
  /** Lets the held connections' peers in again: they died with the image (a fresh start). */
  releaseHeld: () => Promise<void>;
}

export interface BringBackResult {
  /** The daemon still serving pages to the restored app. */
  lazy: LazyPagesDaemon | undefined;
  trace: { via: WakeVia } & Record<string, string | number>;
}

export async function bringBack(o: BringBackOptions): Promise<BringBackResult> {
  const { container, stats, log } = o;
  clearOrphanedShm(container, log);
  let lastErr: unknown;
  for (let attempt = 1; attempt <= 2; attempt++) {
    let lazy: LazyPagesDaemon | undefined;
    try {
      if (attempt === 1 && o.prepared) {
        container.adoptRestored(await o.prepared.run());
        const { startedAt, ...timings } = o.prepared.timings;
        return {
          lazy: o.prepared.lazyPages,
          trace: {
            via: 'prepared',
            ...timings,
            ...(startedAt === undefined ? {} : { goMs: Math.round(startedAt - o.startedAt) }),
          },
        };
      }
      // Big images: the restore returns before the memory is in; a lazy-pages daemon streams it.
      lazy =
        attempt === 1 && pagesBytes(o.imagePath) >= o.lazyPagesMinBytes ? await tryLazyPages(o) : undefined;
      await container.restore({
        imagePath: o.imagePath,
        workPath: o.workPath,
        criuOptions: { networkLock: 'skip', externalMounts: o.tmpfsExternals },
        ...(o.heldConnections > 0 ? { tcpEstablished: true } : {}),
        ...(lazy ? { lazyPages: true } : {}),
      });
      return { lazy, trace: { via: 'runc restore', attempt } };
    } catch (err) {
      lazy?.kill();
      lastErr = err;
      stats.failedRestores++;
      stats.lastError = describeError(err);
      log.error('restore failed', { attempt, error: stats.lastError });
      // Keep each attempt's log: CRIU writes restore.log afresh every time.
      try {
        renameSync(
          path.join(o.workPath, 'restore.log'),
          path.join(o.workPath, `restore-failed-${attempt}.log`),
        );
      } catch {
        // CRIU did not get as far as its log
      }
      await container.runc.delete(container.id, { force: true }).catch(() => undefined);
    }
  }
  stats.freshStarts++;
  if (o.heldConnections > 0) await o.releaseHeld();
  log.error('restore failed twice: starting the container afresh; its memory state is lost', {
    error: describeError(lastErr),
  });
  await container.recreate();
  return { lazy: undefined, trace: { via: 'fresh start' } };
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
    return await startLazyPages({ imagePath: o.imagePath, workPath: o.workPath });
  } catch (err) {
    o.log.warn('lazy pages unavailable: full restore', { error: describeError(err) });
    return undefined;
  }
}
