/**
 * The checkpoint of an idle container, as one step that returns what happened: the wake redirect
 * goes on, the app is frozen (unless it holds open connections) and dumped. Whatever it changed is
 * written into the phase's DumpProgress as it goes, so that a rollback (rollback.ts) undoes exactly
 * that, whether the step failed, was dropped, or was aborted (kill, delete, its timeout).
 */
import { mkdir, rm } from 'node:fs/promises';
import { describeError } from '../../base/index.ts';
import type { TcpConnection } from '../../sys/index.ts';
import type { ScaleContext } from './context.ts';
import { preDumpMemory } from './pre-dump.ts';
import type { Checkpointing } from './phase.ts';

export type CheckpointResult =
  /** The image is whole: the app is to be stopped (stop-app.ts). */
  | { kind: 'dumped' }
  /** disable-checkpointing: the app is to be stopped without an image (the wake starts it afresh). */
  | { kind: 'no-dump' }
  /** Someone came while it was prepared or written: the app stays up. */
  | { kind: 'dropped'; reason: string }
  | { kind: 'failed'; error: unknown };

export async function checkpointIdle(
  ctx: ScaleContext,
  cp: Checkpointing,
  countBefore: number,
  signal: AbortSignal,
  appPorts: readonly number[],
): Promise<CheckpointResult> {
  const { container: c, tools } = ctx;
  const { net, dump } = cp;
  net.activator.accepted = 0;
  try {
    // Memory copied while the app still serves, before the redirect (pre-dump.ts): traffic
    // meanwhile reaches the app and shows in the count below. The final dump names the copy.
    const pre =
      ctx.config.preDump && !ctx.config.disableCheckpointing
        ? await preDumpMemory({
            runc: c.runc,
            id: c.id,
            imagePath: ctx.imagePath,
            workPath: ctx.workPath,
            log: ctx.log,
            warnOnce: (m) => ctx.warnOnce(m),
            keepGoing: async () => (await net.nft.activity()) === countBefore,
            dirtyTracking: () => tools.dirtyTracking(),
            signal,
          })
        : undefined;
    const parentPath = pre?.kind === 'copied' ? pre.parentPath : undefined;
    await net.nft.redirect();
    // Anything that arrived before the redirect is the app's: stay up.
    if ((await net.nft.activity()) !== countBefore) {
      if (parentPath !== undefined) await rm(ctx.imagePath, { recursive: true, force: true });
      return { kind: 'dropped', reason: 'traffic arrived while preparing the checkpoint' };
    }
    signal.throwIfAborted();
    if (parentPath === undefined) await rm(ctx.imagePath, { recursive: true, force: true });
    if (c.init.io) c.init.io.holdOpen = true;
    if (ctx.config.disableCheckpointing) return { kind: 'no-dump' };
    await mkdir(ctx.imagePath, { recursive: true, mode: 0o700 });
    await mkdir(ctx.workPath, { recursive: true, mode: 0o700 });
    // Frozen first: CRIU then skips its own freeze loop (which sleeps 100 ms in about half of the
    // dumps here); after the dump the container is either thawed (rollback) or stopped.
    dump.marks.prepared = tools.now();
    dump.freezerDir = tools.freezerDirOf(c.init.pid);
    const pids = tools.processesIn(dump.freezerDir, c.init.pid);
    // Every connected socket, not only ESTABLISHED ones: CRIU refuses to dump plain a socket its
    // peer has closed (CLOSE_WAIT) too, and the app would never sleep until it closed it. State 07
    // (CLOSE: never connected, or done) dumps plainly.
    const held = (await closeIdleClients(ctx, pids, appPorts)).filter((x) => x.state !== '07');
    if (held.length === 0) {
      await c.runc.pause(c.id, { signal });
      dump.frozen = true;
    }
    dump.marks.frozen = tools.now();
    await ctx.next.beforeDump(pids);
    signal.throwIfAborted();
    const leftRunning = await dumpImage(ctx, cp, held, signal, parentPath);
    if (net.activator.accepted > 0 && leftRunning) {
      // Someone came while the image was written: the process is still alive, serve from it.
      await rm(ctx.imagePath, { recursive: true, force: true });
      return { kind: 'dropped', reason: 'a connection arrived during the checkpoint' };
    }
    dump.marks.dumped = tools.now();
    return { kind: 'dumped' };
  } catch (error) {
    return { kind: 'failed', error: signal.aborted ? (signal.reason ?? error) : error };
  }
}

/**
 * Clients' idle connections to the app's own ports (keep-alive: an ingress's upstream pool, a
 * browser, a database pool) are reset before the dump, not held: a held connection's packets are
 * dropped while the app sleeps and nothing wakes it for them, so the client's next request on it
 * would hang. Reset, the client drops it from its pool and its next request opens a connection,
 * which the activator holds and wakes the app for. The app's own outbound connections are held.
 * Idle means no traffic since the redirect went on: a request in flight would have kept it awake.
 * Returns the app's connections still open (read once more only if some were reset).
 */
async function closeIdleClients(
  ctx: ScaleContext,
  pids: readonly number[],
  appPorts: readonly number[],
): Promise<TcpConnection[]> {
  const { tools } = ctx;
  const open = await tools.openConnections(pids).catch(() => []);
  const inbound = open.filter((x) => x.state === '01' && appPorts.includes(x.localPort));
  if (inbound.length === 0) return open;
  try {
    const closed = await tools.closeInbound(ctx.deps.netnsPath, appPorts);
    ctx.log.info('idle client connections reset before the checkpoint', { found: inbound.length, closed });
    // What is left (the app's own connections; anything the reset could not close), read again.
    return await tools.openConnections(pids).catch(() => []);
  } catch (err) {
    ctx.warnOnce(
      `idle client connections are held, not reset (their next request waits for another wake): ${describeError(err)}`,
    );
    return open;
  }
}

/**
 * The dump; returns whether the process was left running. Connections the app holds open (to a
 * database, a broker; clients' idle ones were reset before) are dumped with their TCP state and held while it sleeps:
 * their packets are dropped (no reset from our kernel) until the restore puts the sockets back. If
 * CRIU cannot dump them, they are dumped closed instead (the app sees them closed after the wake).
 */
async function dumpImage(
  ctx: ScaleContext,
  cp: Checkpointing,
  held: readonly TcpConnection[],
  signal: AbortSignal,
  parentPath: string | undefined,
): Promise<boolean> {
  const c = ctx.container;
  const plain = {
    imagePath: ctx.imagePath,
    workPath: ctx.workPath,
    leaveRunning: true,
    tcpSkipInFlight: true,
    signal,
  };
  // After a pre-dump only the pages dirtied since are written; the rest are the parent's.
  const base = parentPath === undefined ? plain : { ...plain, parentPath };
  if (held.length === 0) {
    await c.runc.checkpoint(c.id, {
      ...base,
      criuOptions: { networkLock: 'skip', externalMounts: ctx.next.dumpExternals },
    });
    return true;
  }
  await cp.net.nft.hold(held);
  cp.dump.held = held.length;
  try {
    // Not --leave-running, and not frozen by us first: CRIU must kill the process itself while
    // its sockets are still in repair mode, so they close silently. Killed by us afterwards they
    // send FINs and linger in TIME_WAIT (seen here), and the restore cannot put them back. A
    // connection during this dump waits for the restore.
    cp.dump.ending = true;
    await c.runc.checkpoint(c.id, {
      ...base,
      leaveRunning: false,
      tcpEstablished: true,
      criuOptions: { networkLock: 'skip', externalMounts: ctx.next.dumpExternals },
    });
    return false;
  } catch (err) {
    cp.dump.ending = false;
    if (signal.aborted) throw err; // the rollback releases them
    await cp.net.nft.release();
    cp.dump.held = 0;
    ctx.log.warn('dumping open connections failed: dumping them closed', {
      connections: held.length,
      error: describeError(err),
    });
    await rm(ctx.imagePath, { recursive: true, force: true });
    await mkdir(ctx.imagePath, { recursive: true, mode: 0o700 });
    await c.runc.checkpoint(c.id, {
      ...plain, // the rm above took the pre-dump with it
      criuOptions: { networkLock: 'skip', tcpClose: true, externalMounts: ctx.next.dumpExternals },
    });
    return true;
  }
}
