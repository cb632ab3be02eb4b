/**
 * Pre-dump (`zeropod.ctrox.dev/pre-dump`): the app's memory is copied while it still runs and serves,
 * so the dump that follows (the app frozen, then killed) writes only the pages dirtied since. CRIU
 * tracks those with the kernel's soft-dirty bits; a kernel without them (CONFIG_MEM_SOFT_DIRTY off)
 * gets the plain dump, said once.
 *
 * Layout, all inside the container's image directory, so that removing the image removes its
 * parents and the restore (prepared or `runc restore`) finds them through CRIU's `parent` links:
 *
 *   <image>/            the final dump (`--parent-path pre-N`), descriptors.json, a `parent` link
 *   <image>/pre-N/      round N (`--parent-path ../pre-(N-1)`), memory only
 *   <image>/pre-1/      round 1, the full copy
 *
 * Each round freezes the app briefly (CRIU grabs the dirty pages into pipes, thaws, then writes
 * them), so there is one round by default, and more stop once one wrote little.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { describeError, type Logger } from '../../base/index.ts';
import { criuSupportsDirtyTracking, readCriuStats } from '../../criu/index.ts';
import type { Runc } from '../../runc/index.ts';

/**
 * Rounds at most (the first copies everything; the next ones what was dirtied meanwhile). One: only
 * idle apps are checkpointed, and in the VM a second round after an idle redis wrote ~1,000 pages
 * for a freeze half as long as the first round's (docs/vm.md#pre-dump), sparing the final dump only
 * those pages. More rounds remain for callers that ask (`maxRounds`).
 */
export const PRE_DUMP_MAX_ROUNDS = 1;
/** With more rounds allowed: one that wrote less than this (4 KiB pages: 16 MiB) ends them. */
export const PRE_DUMP_SMALL_ROUND_PAGES = 4096;

export interface PreDumpOptions {
  runc: Runc;
  id: string;
  imagePath: string;
  /** CRIU's logs and stats (each round overwrites the last; the final dump overwrites them all). */
  workPath: string;
  log: Logger;
  warnOnce: (message: string) => void;
  maxRounds?: number;
  /** Asked before every round after the first: false stops the rounds (traffic came meanwhile). */
  keepGoing?: () => Promise<boolean>;
  /** Whether the kernel tracks dirty pages (default: `criu check --feature mem_dirty_track`, once). */
  dirtyTracking?: () => Promise<boolean>;
  /** The checkpoint's signal: an abort (kill, delete, timeout) ends the rounds and is rethrown. */
  signal?: AbortSignal;
}

export interface PreDumpRound {
  pagesWritten: number;
  /** CRIU's time with the app frozen in this round (from its stats; 0 when it wrote none). */
  frozenMs: number;
  ms: number;
}

export type PreDumpResult =
  | { kind: 'skipped'; reason: 'no-dirty-tracking' | 'failed' | 'stopped' }
  | { kind: 'copied'; parentPath: string; rounds: readonly PreDumpRound[]; ms: number };

/** The image-relative directory of round `n` (1-based). */
export const roundDir = (n: number): string => `pre-${n}`;

/** Whether another round is worth its freeze, after `rounds` (pure: tested on its own). */
export function anotherRound(rounds: readonly PreDumpRound[], maxRounds: number): boolean {
  const last = rounds.at(-1);
  if (last === undefined) return maxRounds > 0;
  return rounds.length < maxRounds && last.pagesWritten >= PRE_DUMP_SMALL_ROUND_PAGES;
}

/**
 * Copies the running app's memory into `<image>/pre-N`. The image directory is emptied first.
 * Never throws: a failure leaves a plain dump to do (its reason logged), with the image emptied.
 */
export async function preDumpMemory(o: PreDumpOptions): Promise<PreDumpResult> {
  const tracking = await (o.dirtyTracking ?? (() => criuSupportsDirtyTracking()))();
  if (!tracking) {
    o.warnOnce('pre-dump requested, but this kernel has no soft-dirty memory tracking: doing a plain dump');
    return { kind: 'skipped', reason: 'no-dirty-tracking' };
  }
  const max = o.maxRounds ?? PRE_DUMP_MAX_ROUNDS;
  const started = performance.now();
  const rounds: PreDumpRound[] = [];
  try {
    await rm(o.imagePath, { recursive: true, force: true });
    await mkdir(o.workPath, { recursive: true, mode: 0o700 });
    while (anotherRound(rounds, max)) {
      if (rounds.length > 0 && o.keepGoing && !(await o.keepGoing())) {
        await rm(o.imagePath, { recursive: true, force: true });
        return { kind: 'skipped', reason: 'stopped' };
      }
      const n = rounds.length + 1;
      const dir = path.join(o.imagePath, roundDir(n));
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const t0 = performance.now();
      await o.runc.checkpoint(o.id, {
        imagePath: dir,
        workPath: o.workPath,
        preDump: true,
        ...(n > 1 ? { parentPath: path.posix.join('..', roundDir(n - 1)) } : {}),
        criuOptions: { networkLock: 'skip' },
        ...(o.signal ? { signal: o.signal } : {}),
      });
      const stats = await readCriuStats(o.workPath, 'dump').catch(() => undefined);
      rounds.push({
        pagesWritten: stats?.pagesWritten ?? 0,
        frozenMs: Math.round((stats?.frozenTimeUs ?? 0) / 1000),
        ms: Math.round(performance.now() - t0),
      });
    }
  } catch (err) {
    if (o.signal?.aborted === true) {
      await rm(o.imagePath, { recursive: true, force: true }).catch(() => undefined);
      throw err; // the checkpoint is over, not just its pre-dump
    }
    o.log.warn('pre-dump failed: doing a plain dump', {
      round: rounds.length + 1,
      error: describeError(err),
    });
    await rm(o.imagePath, { recursive: true, force: true }).catch(() => undefined);
    return { kind: 'skipped', reason: 'failed' };
  }
  const ms = Math.round(performance.now() - started);
  // Numbers ending in Ms are what bench/lib/shim-log.ts collects: the rounds' freezes, summed.
  o.log.info('memory pre-dumped while the app runs', {
    rounds: rounds.length,
    pagesWritten: rounds.map((r) => r.pagesWritten),
    frozenMs: rounds.reduce((sum, r) => sum + r.frozenMs, 0),
    roundsFrozen: rounds.map((r) => r.frozenMs),
    roundsTook: rounds.map((r) => r.ms),
    durationMs: ms,
  });
  return { kind: 'copied', parentPath: roundDir(rounds.length), rounds, ms };
}
