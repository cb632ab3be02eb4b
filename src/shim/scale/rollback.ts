/**
 * Undoes a checkpoint that was dropped, failed or aborted, from what its DumpProgress says it
 * changed: held connections released, the app thawed through runc (its state says paused), the
 * redirect off. Each step may fail on its own; every one is tried, none throws, so the container
 * always goes back to running afterwards. Counts it, and returns the failures in a row.
 */
import { describeError } from '../../base/index.ts';
import type { ScaleContext } from './context.ts';
import { MAX_CHECKPOINT_FAILURES } from './idle-tick.ts';
import type { Checkpointing } from './phase.ts';

/** runc resume and nft each get this long here: the rollback itself must not hang. */
const STEP_TIMEOUT_MS = 30_000;

export async function rollBack(
  ctx: ScaleContext,
  cp: Checkpointing,
  result: { kind: 'dropped'; reason: string } | { kind: 'failed'; error: unknown },
): Promise<number> {
  const { container: c, log, stats } = ctx;
  let failures = cp.failures;
  if (result.kind === 'failed') {
    failures++;
    stats.failedCheckpoints++;
    stats.lastError = describeError(result.error);
    log.error('checkpoint failed: the container keeps running', {
      error: stats.lastError,
      attempt: failures,
      givingUp: failures >= MAX_CHECKPOINT_FAILURES,
    });
  }
  const { nft } = cp.net;
  const step = (what: string) => (err: unknown) =>
    log.error(`rolling the checkpoint back: ${what} failed`, { error: describeError(err) });
  ctx.next.discard();
  if (cp.dump.held > 0) {
    await nft.release().catch(step('releasing held connections'));
    cp.dump.held = 0;
  }
  if (cp.dump.frozen) {
    await c.runc
      .resume(c.id, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) })
      .catch(step('thawing the container'));
    cp.dump.frozen = false;
  }
  cp.dump.ending = false;
  if (c.init.io) c.init.io.holdOpen = false;
  await nft.unredirect().catch(step('switching the redirect off'));
  stats.abortedCheckpoints++;
  log.info('checkpoint aborted: staying up', {
    reason: result.kind === 'failed' ? 'checkpoint failed' : result.reason,
  });
  return failures;
}
