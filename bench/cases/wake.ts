/**
 * Wake -> full response and checkpoint duration, ours next to raw runc + CRIU, one workload.
 *
 * Ours: a pod on handler `zeropod` with scaledown-duration 1s. Each cycle waits (status API) until
 * the container is `scaled-down`, reads the checkpoint's duration (lastCheckpointMs: the whole
 * scale-down, from the idle decision to the process being gone), then times one client request
 * from the client namespace: connect -> full, checked response (the activator holds it through
 * the restore). Raw: the same image under plain runc in its own netns: `runc checkpoint` timed,
 * then `runc restore -d` started and the same request retried every 2 ms, timed from the start of
 * the restore until a full response. One warm-up cycle each is not counted.
 */
import type { Ctx } from '../lib/context.ts';
import { RawContainer, criuLogMs, criuRestoreStatsMs } from '../lib/baseline.ts';
// Images at least this big are restored lazily by the shim.
import { LAZY_PAGES_MIN_MIB as SHIM_LAZY_MIN_MIB } from '../../src/shim/scale/extension.ts';
import { request, type Protocol, type Target } from '../lib/client.ts';
import { dirMiB } from '../lib/fsutil.ts';
import { SCALEDOWN, containerStatus, waitPhase, type ScaledStatus } from '../lib/pods.ts';
import { shimPhases } from '../lib/shim-log.ts';
import { containerSpec, type Workload } from '../lib/workloads.ts';

export interface WakeSeries {
  wakeMs: number[];
  checkpointMs: number[];
  /** The runtime's own span: ours lastRestoreMs, raw `runc restore -d` until it returned. */
  restoreMs: number[];
  criuDumpMs: number[];
  criuRestoreMs: number[];
  /** Per cycle: wake minus the runtime's restore span (ours: accept, dial, proxy; raw: negative = answered before runc returned). */
  afterRestoreMs: number[];
  /** Per cycle: checkpoint minus CRIU's dump time (runc, kill, delete, and for ours the redirect). */
  checkpointOverheadMs: number[];
  imageMiB: number;
  note: string;
  /** The shim's logged checkpoint phases (prepareMs, freezeMs, dumpMs, stopMs...), counted cycles only. */
  checkpointPhases: Record<string, number[]>;
  /** The shim's wake phases ('woke up' log line): queuedMs, criuMs, recordMs. */
  wakePhases: Record<string, number[]>;
}

const MAX_FAILURES = 3;

function readyProtocol(p: Protocol): Protocol {
  return p.kind === 'redis' ? { kind: 'redis', minKeys: 0 } : p;
}

const empty = (): WakeSeries => ({
  wakeMs: [],
  checkpointMs: [],
  restoreMs: [],
  criuDumpMs: [],
  criuRestoreMs: [],
  afterRestoreMs: [],
  checkpointOverheadMs: [],
  imageMiB: 0,
  note: '',
  checkpointPhases: {},
  wakePhases: {},
});

export async function ours(ctx: Ctx, w: Workload): Promise<WakeSeries> {
  const out = empty();
  const pod = await ctx.pods.run({
    name: `bench-wake-${w.id}`,
    handler: 'zeropod',
    annotations: { [SCALEDOWN]: '1s' },
    containers: [containerSpec(w)],
  });
  try {
    const cid = pod.containers.get(w.id)!;
    const target: Target = { netnsPath: ctx.client.path, host: pod.ip, port: w.port, protocol: w.protocol };
    await request(
      { ...target, protocol: readyProtocol(w.protocol) },
      { retryUntilMs: performance.now() + w.startMs, retryEveryMs: 50 },
    );
    if (w.prepare) out.note = await w.prepare(ctx.client.path, pod.ip);
    await request(target);
    let prev: ScaledStatus = await waitPhase(pod, cid, 'running', 60_000);
    let failures = 0;
    for (let i = -1; i < ctx.runs; i++) {
      const down = await waitPhase(pod, cid, 'scaled-down', 120_000 + w.startMs);
      if (down.checkpoints !== prev.checkpoints + 1 || down.abortedCheckpoints !== prev.abortedCheckpoints) {
        ctx.results.note(
          `${w.id}: between two wakes the shim made ${down.checkpoints - prev.checkpoints} checkpoints and aborted ${down.abortedCheckpoints - prev.abortedCheckpoints}`,
        );
      }
      if (i === -1) out.imageMiB = dirMiB(`/var/lib/zeropod-ts/images/k8s.io/${cid}`);
      const dump = criuLogMs(`/run/zeropod/work/${cid}/dump.log`);
      let wake: number | undefined;
      try {
        wake = (await request(target, { timeoutMs: 60_000 })).ms;
      } catch (err) {
        failures++;
        ctx.results.failures.push(`ours ${w.id} wake ${i + 1}: ${String(err)}`);
        if (failures >= MAX_FAILURES) throw new Error(`${w.id}: ${failures} wakes failed`, { cause: err });
      }
      const up = await containerStatus(pod, cid);
      if (!up) throw new Error(`${w.id}: the shim no longer reports container ${cid}`);
      if (up.failedRestores !== down.failedRestores) {
        // The shim fell back to a fresh start (memory lost): not a wake from a checkpoint.
        ctx.results.failures.push(
          `ours ${w.id} wake ${i + 1}: the restore failed and the shim started the app afresh (${up.lastError ?? 'no error recorded'})`,
        );
        wake = undefined;
      }
      if (i >= 0 && wake !== undefined) {
        out.wakeMs.push(wake);
        out.checkpointMs.push(down.lastCheckpointMs ?? NaN);
        if (up.lastRestoreMs !== undefined && up.restores === down.restores + 1) {
          out.restoreMs.push(up.lastRestoreMs);
          out.afterRestoreMs.push(wake - up.lastRestoreMs);
        }
        if (dump !== undefined) {
          out.criuDumpMs.push(dump);
          if (down.lastCheckpointMs !== undefined)
            out.checkpointOverheadMs.push(down.lastCheckpointMs - dump);
        }
        const restore = criuRestoreStatsMs(`/run/zeropod/work/${cid}`);
        if (restore !== undefined) out.criuRestoreMs.push(restore);
      }
      prev = up;
      ctx.log(
        `  ours ${w.id} #${i + 1}: checkpoint ${down.lastCheckpointMs} ms, wake ${wake?.toFixed(1) ?? 'FAILED'} ms (shim restore ${up.lastRestoreMs} ms)`,
      );
    }
    // The first 'scaled down' and 'woke up' are the warm-up cycle's.
    for (const rec of shimPhases(cid, 'scaled down').slice(1, ctx.runs + 1)) {
      for (const [k, v] of Object.entries(rec))
        if (k !== 'durationMs') (out.checkpointPhases[k] ??= []).push(v);
    }
    for (const rec of shimPhases(cid, 'woke up').slice(1, ctx.runs + 1)) {
      for (const [k, v] of Object.entries(rec)) if (k !== 'durationMs') (out.wakePhases[k] ??= []).push(v);
    }
  } finally {
    await ctx.pods.remove(pod);
  }
  return out;
}

function createRaw(ctx: Ctx, w: Workload, suffix: string): Promise<RawContainer> {
  return RawContainer.create({
    id: `zpb-${w.id}${suffix}`,
    imageId: w.imageId,
    slot: ctx.nextSlot(),
    ...(w.env ? { env: w.env } : {}),
    seccomp: w.noIoUring ?? false,
  });
}

/** Runs the raw container until it answers, prepares the workload's data, and warms it once. */
async function startRaw(ctx: Ctx, w: Workload, c: RawContainer, out: WakeSeries): Promise<Target> {
  await c.run();
  const target: Target = { netnsPath: ctx.client.path, host: c.ip, port: w.port, protocol: w.protocol };
  await request(
    { ...target, protocol: readyProtocol(w.protocol) },
    { retryUntilMs: performance.now() + w.startMs, retryEveryMs: 50 },
  );
  if (w.prepare) out.note = await w.prepare(ctx.client.path, c.ip);
  await request(target);
  return target;
}

/**
 * Starts a raw restore and the client's request together; the request retries every 2 ms until
 * the app answers (timed from the restore's start) and gives up if the restore fails.
 */
async function restoreWhileRequesting<T>(
  target: Target,
  restore: () => Promise<T>,
): Promise<{ r: Awaited<ReturnType<typeof request>>; result: T }> {
  const started = performance.now();
  const failed = new AbortController();
  const restoring = restore();
  restoring.catch(() => failed.abort());
  const r = await request(target, {
    started,
    retryUntilMs: started + 120_000,
    retryEveryMs: 2,
    signal: failed.signal,
  });
  return { r, result: await restoring };
}

export async function raw(ctx: Ctx, w: Workload): Promise<WakeSeries> {
  const out = empty();
  const c = await createRaw(ctx, w, '');
  try {
    const target = await startRaw(ctx, w, c, out);
    for (let i = -1; i < ctx.runs; i++) {
      // Let it sit idle as long as ours does before its checkpoint (1 s).
      await new Promise((r) => setTimeout(r, 1000));
      const checkpoint = await c.checkpoint();
      if (i === -1) out.imageMiB = dirMiB(c.images);
      const dump = c.criuMs('dump');
      const { r, result: restore } = await restoreWhileRequesting(target, () => c.restore());
      const criuRestore = c.criuMs('restore');
      await c.dropImages();
      if (i >= 0) {
        out.wakeMs.push(r.ms);
        out.checkpointMs.push(checkpoint);
        out.restoreMs.push(restore);
        out.afterRestoreMs.push(r.ms - restore);
        if (dump !== undefined) {
          out.criuDumpMs.push(dump);
          out.checkpointOverheadMs.push(checkpoint - dump);
        }
        if (criuRestore !== undefined) out.criuRestoreMs.push(criuRestore);
      }
      ctx.log(
        `  raw  ${w.id} #${i + 1}: checkpoint ${checkpoint.toFixed(0)} ms, restore -> response ${r.ms.toFixed(1)} ms (runc restore ${restore.toFixed(0)} ms)`,
      );
    }
  } finally {
    await c.remove();
  }
  return out;
}

/** Images at least this big also get the raw lazy-pages baseline. */
export const LAZY_MIN_MIB = 32;

/**
 * Raw with lazy pages: the same checkpoint, then the `criu lazy-pages` daemon started and
 * `runc restore -d --lazy-pages`, timed from the daemon's start until the full response. The
 * images are dropped once the daemon has served every page.
 */
export async function rawLazy(ctx: Ctx, w: Workload): Promise<WakeSeries> {
  const out = empty();
  const c = await createRaw(ctx, w, '-lazy');
  try {
    const target = await startRaw(ctx, w, c, out);
    for (let i = -1; i < ctx.runs; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      await c.checkpoint();
      const {
        r,
        result: { restoreMs, daemonDone },
      } = await restoreWhileRequesting(target, () => c.restoreLazy());
      const code = await Promise.race([
        daemonDone,
        new Promise<number>((res) => setTimeout(() => res(-1), 60_000)),
      ]);
      if (code !== 0) ctx.results.note(`${w.id} raw lazy #${i + 1}: criu lazy-pages ended with ${code}`);
      const criuRestore = c.criuMs('restore');
      await c.dropImages();
      if (i >= 0) {
        out.wakeMs.push(r.ms);
        out.restoreMs.push(restoreMs);
        out.afterRestoreMs.push(r.ms - restoreMs);
        if (criuRestore !== undefined) out.criuRestoreMs.push(criuRestore);
      }
      ctx.log(
        `  raw lazy ${w.id} #${i + 1}: restore -> response ${r.ms.toFixed(1)} ms (lazy-pages + runc restore ${restoreMs.toFixed(0)} ms)`,
      );
    }
  } finally {
    await c.remove();
  }
  return out;
}

export async function wakeCase(ctx: Ctx, w: Workload): Promise<void> {
  ctx.log(`wake + checkpoint: ${w.label}`);
  const o = await ours(ctx, w);
  const r = await raw(ctx, w);
  const lazy = r.imageMiB >= LAZY_MIN_MIB ? await rawLazy(ctx, w) : undefined;
  const res = ctx.results;
  const note = [
    o.note && `ours ${o.note}`,
    r.note && `raw ${r.note}`,
    `image ${o.imageMiB.toFixed(1)} / ${r.imageMiB.toFixed(1)} MiB`,
  ]
    .filter(Boolean)
    .join('; ');
  res.figure({
    workload: w.label,
    metric: 'wake → full response',
    unit: 'ms',
    better: 'lower',
    ours: o.wakeMs,
    baselineName: 'runc restore → response',
    baseline: r.wakeMs,
    note,
  });
  if (lazy) {
    res.figure({
      workload: w.label,
      metric: 'wake → full response',
      unit: 'ms',
      better: 'lower',
      ours: o.wakeMs,
      baselineName: 'runc restore --lazy-pages → response',
      baseline: lazy.wakeMs,
      note:
        r.imageMiB >= SHIM_LAZY_MIN_MIB
          ? `image ≥ ${SHIM_LAZY_MIN_MIB} MiB: the shim restores it with lazy pages too`
          : `image < ${SHIM_LAZY_MIN_MIB} MiB: the shim restores it in full`,
    });
  }
  res.figure({
    workload: w.label,
    metric: 'checkpoint',
    unit: 'ms',
    better: 'lower',
    ours: o.checkpointMs,
    baselineName: 'runc checkpoint',
    baseline: r.checkpointMs,
  });
  res.detail(w.label, 'ours: shim restore span (lastRestoreMs)', 'ms', o.restoreMs);
  res.detail(w.label, 'ours: CRIU restore (stats-restore)', 'ms', o.criuRestoreMs);
  res.detail(w.label, 'ours: wake − shim restore span (accept, dial, proxy, reply)', 'ms', o.afterRestoreMs);
  res.detail(w.label, 'raw: runc restore -d returned', 'ms', r.restoreMs);
  res.detail(w.label, 'raw: CRIU restore (stats-restore)', 'ms', r.criuRestoreMs);
  res.detail(w.label, 'raw: response − runc restore returned', 'ms', r.afterRestoreMs);
  if (lazy) {
    res.detail(w.label, 'raw lazy: lazy-pages start + runc restore -d returned', 'ms', lazy.restoreMs);
    res.detail(w.label, 'raw lazy: CRIU restore (stats-restore)', 'ms', lazy.criuRestoreMs);
  }
  for (const [phase, values] of Object.entries(o.wakePhases))
    res.detail(w.label, `ours: wake phase ${phase} (shim log)`, 'ms', values);
  res.detail(w.label, 'ours: CRIU dump (dump.log)', 'ms', o.criuDumpMs);
  res.detail(w.label, 'ours: checkpoint − CRIU dump', 'ms', o.checkpointOverheadMs);
  for (const [phase, values] of Object.entries(o.checkpointPhases))
    res.detail(w.label, `ours: checkpoint phase ${phase} (shim log)`, 'ms', values);
  res.detail(w.label, 'raw: CRIU dump (dump.log)', 'ms', r.criuDumpMs);
  res.detail(w.label, 'raw: runc checkpoint − CRIU dump', 'ms', r.checkpointOverheadMs);
  res.detail(w.label, 'ours: checkpoint image', 'MiB', [o.imageMiB]);
  res.detail(w.label, 'raw: checkpoint image', 'MiB', [r.imageMiB]);
}
