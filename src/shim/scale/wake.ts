/**
 * The wake, in two parts: bringing the app back (bring-back.ts's chain, or a fresh start for a
 * container scaled down without an image), and the chores that follow off the wake's path (the
 * redirect off, held connections let in, the old image removed once nothing reads it). The chores'
 * promise is kept by the running phase: the next checkpoint waits for it.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describeError } from '../../base/index.ts';
import type { LazyPagesDaemon } from '../../criu/index.ts';
import { bringBack, type BringBackResult } from './bring-back.ts';
import type { ScaleStats } from './scale-types.ts';
import type { ScaleContext } from './context.ts';
import type { Net, Restoring } from './phase.ts';
import { dropNetnsState } from './processes-and-images.ts';

export async function bringAppBack(
  ctx: ScaleContext,
  r: Restoring,
  startedAt: number,
  signal: AbortSignal,
): Promise<BringBackResult> {
  const c = ctx.container;
  if (ctx.config.disableCheckpointing) {
    try {
      await c.recreate(signal);
      return { kind: 'back', via: 'fresh start', lazy: undefined, trace: {}, failures: [] };
    } catch (error) {
      return { kind: 'failed', error, failures: [] };
    }
  }
  dropNetnsState(ctx.imagePath);
  const kit = ctx.next.take();
  const result = await bringBack({
    container: c,
    imagePath: ctx.imagePath,
    workPath: ctx.workPath,
    prepared: kit.prepared,
    heldConnections: r.held,
    tmpfsExternals: kit.tmpfsExternals,
    lazyPagesMinBytes: ctx.deps.lazyPagesMinBytes,
    tools: ctx.tools,
    log: ctx.log,
    startedAt,
    signal,
  });
  setImmediate(kit.release); // after the callers' dials, like the redirect
  return result;
}

/**
 * After the callers' dials (the next macrotask): spawning `nft` blocks the event loop for 6-16 ms
 * while the restored app keeps the CPUs busy (measured on the wake path here). The held
 * connections are proxied at once: the activator's own dials carry ACTIVATOR_MARK, which the in-pod
 * redirect skips, so switching the redirect off runs beside them. `stillOurs` says whether the image
 * may go when a lazy-pages daemon is done with it (not if a new checkpoint began meanwhile).
 */
export function settleAfterWake(
  ctx: ScaleContext,
  net: Net,
  held: number,
  lazy: LazyPagesDaemon | undefined,
  stillOurs: () => boolean,
): Promise<void> {
  const redirectOff = new Promise<void>((resolve) => setImmediate(resolve))
    .then(async () => {
      await net.nft.unredirect();
      if (held > 0) await net.nft.release(); // the sockets are back: let the peers' packets in
    })
    .catch((err: unknown) =>
      ctx.log.error('cannot switch the wake redirect off', { error: describeError(err) }),
    );
  // The lazy-pages daemon reads the image until the last page is in: it goes after its exit.
  const imageGone = lazy
    ? lazy.done.then(async (code) => {
        if (code !== 0)
          ctx.log.warn('lazy-pages daemon failed', { code, log: path.join(ctx.workPath, 'lazy-pages.log') });
        if (stillOurs()) await removeImage(ctx);
      })
    : removeImage(ctx); // off the wake's path: held connections are served while the old image goes
  return Promise.all([redirectOff, imageGone]).then(() => undefined);
}

/** Removes the checkpoint image without blocking the event loop (it can be gigabytes). */
export async function removeImage(ctx: ScaleContext): Promise<void> {
  await rm(ctx.imagePath, { recursive: true, force: true }).catch((err: unknown) =>
    ctx.log.warn('cannot remove the checkpoint image', { path: ctx.imagePath, error: describeError(err) }),
  );
}

type Back = Extract<BringBackResult, { kind: 'back' }>;
type Failed = Extract<BringBackResult, { kind: 'failed' }>;

function countFailures(stats: ScaleStats, failures: readonly unknown[]): void {
  stats.failedRestores += failures.length;
  if (failures.length > 0) stats.lastError = describeError(failures.at(-1));
}

/**
 * Counts a wake that brought the app back; returns the held connections still to let in after it.
 * A fresh start lost them with the image: their peers hear so now.
 */
export async function countWake(
  ctx: ScaleContext,
  r: Restoring,
  result: Back,
  startedAt: number,
): Promise<number> {
  const { stats, config, container: c } = ctx;
  countFailures(stats, result.failures);
  let held = r.held;
  if (result.via === 'fresh start' && !config.disableCheckpointing) {
    stats.freshStarts++;
    if (held > 0) await r.net.nft.release().catch(() => undefined);
    held = 0;
  }
  if (c.init.io) c.init.io.holdOpen = false;
  stats.restores++;
  stats.lastRestoreMs = Math.round(ctx.tools.now() - startedAt);
  if (!config.disableCheckpointing) stats.lastWakeVia = result.via;
  return held;
}

/** A wake where not even a fresh start worked: the container is reported exited (255). */
export async function reportWakeFailure(ctx: ScaleContext, r: Restoring, result: Failed): Promise<void> {
  const { stats, container: c } = ctx;
  countFailures(stats, result.failures);
  stats.lastError = describeError(result.error);
  ctx.log.error('wake failed: reporting the container as exited', { error: stats.lastError });
  c.init.io?.endFifos();
  c.reportExit({ pid: c.init.pid, status: 255, exitedAt: new Date() });
  await r.net.nft.unredirect().catch(() => undefined);
}
