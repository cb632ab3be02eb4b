/**
 * 200 clients connect at the same moment to a sleeping nginx. Per round: p50 and p99 of their
 * connect -> full response times and how many got no full, correct response within 30 s.
 * Baseline: raw `runc restore -d` of nginx started together with 200 clients retrying every 5 ms.
 */
import type { Ctx } from '../lib/context.ts';
import { RawContainer } from '../lib/baseline.ts';
import { request, type Target } from '../lib/client.ts';
import { SCALEDOWN, containerStatus, waitPhase } from '../lib/pods.ts';
import { percentile } from '../lib/stats.ts';
import { containerSpec, WORKLOADS } from '../lib/workloads.ts';

const CLIENTS = 200;

interface Round {
  p50: number;
  p99: number;
  failures: number;
}

function summarizeRound(results: PromiseSettledResult<{ ms: number }>[]): Round {
  const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.ms] : [])).sort((a, b) => a - b);
  return { p50: percentile(ok, 50), p99: percentile(ok, 99), failures: results.length - ok.length };
}

export async function concurrentCase(ctx: Ctx): Promise<void> {
  const w = WORKLOADS['nginx']!;
  ctx.log(`concurrent wake: ${CLIENTS} clients, nginx`);
  const ours: Round[] = [];
  const shimRestore: number[] = [];
  const pod = await ctx.pods.run({
    name: 'bench-concurrent',
    handler: 'zeropod',
    annotations: { [SCALEDOWN]: '1s' },
    containers: [containerSpec(w)],
  });
  let firstError: string | undefined;
  try {
    const cid = pod.containers.get(w.id)!;
    const target: Target = { netnsPath: ctx.client.path, host: pod.ip, port: w.port, protocol: w.protocol };
    await request(target, { retryUntilMs: performance.now() + w.startMs, retryEveryMs: 50 });
    await waitPhase(pod, cid, 'running', 60_000);
    for (let i = -1; i < ctx.runs; i++) {
      await waitPhase(pod, cid, 'scaled-down', 60_000);
      const settled = await Promise.allSettled(
        Array.from({ length: CLIENTS }, () => request(target, { timeoutMs: 30_000 })),
      );
      const round = summarizeRound(settled);
      const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected && firstError === undefined) firstError = String(rejected.reason);
      const st = await containerStatus(pod, cid);
      if (i >= 0) {
        ours.push(round);
        if (st?.lastRestoreMs !== undefined) shimRestore.push(st.lastRestoreMs);
      }
      ctx.log(
        `  ours #${i + 1}: p50 ${round.p50.toFixed(1)} ms, p99 ${round.p99.toFixed(1)} ms, ${round.failures} failed (shim restore ${st?.lastRestoreMs} ms)`,
      );
    }
  } finally {
    await ctx.pods.remove(pod);
  }
  if (firstError) ctx.results.note(`concurrent wake (ours): first failure: ${firstError}`);

  const raw: Round[] = [];
  const c = await RawContainer.create({ id: 'zpb-concurrent', imageId: w.imageId, slot: ctx.nextSlot() });
  try {
    await c.run();
    const target: Target = { netnsPath: ctx.client.path, host: c.ip, port: w.port, protocol: w.protocol };
    await request(target, { retryUntilMs: performance.now() + w.startMs, retryEveryMs: 50 });
    for (let i = -1; i < ctx.runs; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      await c.checkpoint();
      const started = performance.now();
      const failed = new AbortController();
      const restoring = c.restore();
      restoring.catch(() => failed.abort());
      const settled = await Promise.allSettled(
        Array.from({ length: CLIENTS }, () =>
          request(target, {
            started,
            timeoutMs: 30_000,
            retryUntilMs: started + 30_000,
            retryEveryMs: 5,
            signal: failed.signal,
          }),
        ),
      );
      await restoring;
      await c.dropImages();
      const round = summarizeRound(settled);
      if (i >= 0) raw.push(round);
      ctx.log(
        `  raw  #${i + 1}: p50 ${round.p50.toFixed(1)} ms, p99 ${round.p99.toFixed(1)} ms, ${round.failures} failed`,
      );
    }
  } finally {
    await c.remove();
  }
  const label = `nginx, ${CLIENTS} clients at once`;
  const base = 'runc restore + clients retrying';
  const res = ctx.results;
  res.figure({
    workload: label,
    metric: 'wake p50',
    unit: 'ms',
    better: 'lower',
    ours: ours.map((r) => r.p50),
    baselineName: base,
    baseline: raw.map((r) => r.p50),
  });
  res.figure({
    workload: label,
    metric: 'wake p99',
    unit: 'ms',
    better: 'lower',
    ours: ours.map((r) => r.p99),
    baselineName: base,
    baseline: raw.map((r) => r.p99),
  });
  res.detail(label, 'ours: shim restore span (lastRestoreMs)', 'ms', shimRestore);
  res.figure({
    workload: label,
    metric: 'failed clients per round',
    unit: 'count',
    better: 'lower',
    ours: ours.map((r) => r.failures),
    baselineName: base,
    baseline: raw.map((r) => r.failures),
  });
}
