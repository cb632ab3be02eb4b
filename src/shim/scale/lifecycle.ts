/**
 * The two ends of a scaled container's life outside the sleep/wake cycle: taking over a sleeping
 * container from a dead worker's record, and removing everything of it when it is deleted.
 */
import { rm } from 'node:fs/promises';
import { describeError } from '../../base/index.ts';
import type { ScaleRecord } from '../records/index.ts';
import type { ScaleContext } from './context.ts';
import { netOf, type Net, type Phase } from './phase.ts';
import { releaseStaleRestore, tmpfsCopiesIn, unmountUnder } from './tmpfs-copies.ts';

/**
 * A sleeping container whose worker died: its image and the tmpfs copies are on disk, the prepared
 * restore's waiter died with the worker. Prepare the restore again (else runc's record of the old
 * init goes, and the next wake goes through `runc restore`), listen again, redirect again.
 * Held connections are not carried over: their hold rules went with the old table (reset on wake).
 */
export async function adoptAsleep(
  ctx: ScaleContext,
  rec: ScaleRecord,
  listen: () => Promise<Net>,
): Promise<Net> {
  const { container: c, log } = ctx;
  // The record may predate the dump (the worker died right after it): the mounts are the truth.
  ctx.next.adopt(rec.tmpfs?.length ? rec.tmpfs : tmpfsCopiesIn(ctx.workPath));
  // The dead worker's prepared restore: its waiter died with it; its lazy-pages daemon and its
  // CRIU root bind are no one's now (the tmpfs copies stay: the wake binds them).
  releaseStaleRestore(ctx.workPath, (m, err) => log.debug(m, { error: describeError(err) }));
  if (c.init.io) c.init.io.holdOpen = true;
  // The restore made ready again, as after a checkpoint: runc's record and the cgroups are still
  // there, so the first wake after a restart is as fast as any. Failing that (or not wanted), runc's
  // record goes and the wake goes through `runc restore`.
  await ctx.next.afterStop({
    imagePath: rec.imagePath,
    tcpEstablished: rec.heldConnections > 0,
    lazyPages: ctx.tools.pagesBytes(rec.imagePath) >= ctx.deps.lazyPagesMinBytes,
    prepare: process.env['ZEROPOD_RESTORE'] !== 'runc' && !ctx.config.disableCheckpointing,
  });
  const net = await listen();
  try {
    await net.nft.redirect();
  } catch (err) {
    await closeNet(ctx, net);
    throw err;
  }
  return net;
}

/** Everything of the scale logic goes: prepared restore, activator, nft table, image, work files. */
export async function disposeScaled(
  ctx: ScaleContext,
  net: Net | undefined,
  timeoutMs: number,
): Promise<void> {
  const work = async () => {
    await ctx.next.dispose();
    if (net) await closeNet(ctx, net);
    await rm(ctx.imagePath, { recursive: true, force: true });
    // Whatever is still mounted in the work directory (a restore's root, copies) would make rm fail.
    unmountUnder(ctx.workPath, (m, err) => ctx.log.warn(m, { error: describeError(err) }));
    await rm(ctx.workPath, { recursive: true, force: true });
  };
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      ctx.log.error('removing the scale state took too long: left behind', { timeoutMs });
      resolve();
    }, timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([work(), bound]);
  } finally {
    clearTimeout(timer);
  }
}

async function closeNet(ctx: ScaleContext, net: Net): Promise<void> {
  await net.activator.close().catch((err: unknown) => ctx.log.warn('activator close', { error: err }));
  await net.nft.remove().catch((err: unknown) => ctx.log.warn('nft cleanup', { error: err }));
}

/** What a new worker needs to take this container over (docs/restart-safety.md). */
export function recordOf(ctx: ScaleContext, p: Phase, ports: readonly number[]): ScaleRecord {
  const held = p.kind === 'scaled-down' || p.kind === 'restoring' ? p.held : 0;
  return {
    phase: p.kind,
    ports: [...ports],
    activatorPorts: [...(netOf(p)?.activator.ports ?? [])],
    imagePath: ctx.imagePath,
    workPath: ctx.workPath,
    heldConnections: p.kind === 'checkpointing' ? p.dump.held : held,
    tmpfs: ctx.next.copies.map((c) => ({ ...c })),
  };
}
