/**
 * After the dump: the app's process ends (its exit is ours, not containerd's; the pod stays
 * Running), and the next wake is made ready. Nothing here can leave the container half-way: once
 * the process is killed the image is the app, and what fails after that only makes the wake slower.
 */
import { describeError } from '../../base/index.ts';
import type { ScaleContext } from './context.ts';
import type { Checkpointing, DumpProgress } from './phase.ts';

/** How long a killed init may take to be reaped (a big app's threads exit slowly). */
const REAP_TIMEOUT_MS = 5000;

export async function stopApp(ctx: ScaleContext, cp: Checkpointing): Promise<void> {
  const { container: c, tools, log, config } = ctx;
  const dump = cp.dump;
  dump.ending = true;
  const pid = c.init.pid;
  const reaped = new Promise<void>((resolve) => (dump.reaped = { pid, resolve }));
  // SIGKILL to the container's init ends its whole PID namespace; a frozen task dies only once
  // thawed, so thaw through the cgroup file directly (no runc process on this path).
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    log.debug('the process was already gone', { error: describeError(err) });
  }
  if (dump.frozen) await thaw(ctx, cp);
  const t0 = tools.now();
  // Reaped and its exit handled (suppressed) here: not just a zombie (see untilReaped).
  await tools.untilReaped(pid, reaped, REAP_TIMEOUT_MS);
  dump.reaped = undefined;
  log.debug('process gone after the dump', { waitMs: Math.round(tools.now() - t0) });
  // The cgroup is kept while the app sleeps: what it still has charged (page cache of the files
  // the app read) would stay in the pod's stats. It goes first (v1 force_empty needs a cgroup
  // without tasks; the prepared restore's waiter joins it next).
  tools.reclaimMemory(c.cgroups.get('memory'));
  // The wake's restore is made ready now (runc's record and cgroups stay; ~8 ms); else runc's
  // restore needs the container gone.
  await ctx.next.afterStop({
    imagePath: ctx.imagePath,
    tcpEstablished: dump.held > 0,
    lazyPages: tools.pagesBytes(ctx.imagePath) >= ctx.deps.lazyPagesMinBytes,
    prepare: process.env['ZEROPOD_RESTORE'] !== 'runc' && !config.disableCheckpointing,
  });
}

/** Thaws the container's cgroup (the v1 freezer.state / v2 cgroup.freeze file, else `runc resume`). */
async function thaw(ctx: ScaleContext, cp: Checkpointing): Promise<void> {
  const { container: c, tools, log } = ctx;
  try {
    if (!cp.dump.freezerDir) throw new Error('no freezer cgroup directory known');
    tools.thaw(cp.dump.freezerDir);
  } catch (err) {
    log.debug('thawing through runc', { error: describeError(err) });
    await c.runc.resume(c.id, { signal: AbortSignal.timeout(30_000) }).catch((e: unknown) => {
      log.error('cannot thaw the container', { error: describeError(e) });
    });
  }
  cp.dump.frozen = false;
}

/** Where a checkpoint's time went, for its log line (when it got as far as a dump). */
export function dumpPhases(d: DumpProgress, now: number): Record<string, number> {
  const m = d.marks;
  if (!m.prepared || !m.frozen || !m.dumped) return {};
  return {
    prepareMs: Math.round(m.prepared - d.startedAt),
    freezeMs: Math.round(m.frozen - m.prepared),
    dumpMs: Math.round(m.dumped - m.frozen),
    stopMs: Math.round(now - m.dumped),
  };
}
