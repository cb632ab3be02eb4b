/**
 * The idle decision of one tick: a running container whose counter has not moved for the idle
 * period (plus a back-off after failed checkpoints: the period again, doubled per failure) and that
 * runs no exec is checkpointed; after MAX_CHECKPOINT_FAILURES in a row it is left running for good.
 */
import type { ScaleContext } from './context.ts';
import type { Running } from './phase.ts';

export const MAX_CHECKPOINT_FAILURES = 5;

export function idleEnough(
  p: Running,
  o: { count: number; now: number; execsRunning: boolean; scaledownMs: number },
): boolean {
  if (o.execsRunning) p.idle.touch(o.now);
  const backoff = o.scaledownMs * (2 ** p.failures - 1);
  const idle = p.idle.sample(o.count, o.now) && p.idle.idleForMs(o.now) >= o.scaledownMs + backoff;
  return idle && p.failures < MAX_CHECKPOINT_FAILURES;
}

/** The activity counter if the container is due for a checkpoint now, else undefined. */
export async function dueCount(ctx: ScaleContext, p: Running): Promise<number | undefined> {
  const count = await p.net.nft.activity();
  const execsRunning = [...ctx.container.execs.values()].some((x) => x.state.is('running'));
  const now = ctx.tools.now();
  return idleEnough(p, { count, now, execsRunning, scaledownMs: ctx.config.scaledownMs }) ? count : undefined;
}
