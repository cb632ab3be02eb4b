/**
 * Density: N nginx pods on our runtime, all scaled down; the node's memory they use while they
 * sleep (MemTotal - MemAvailable, after minus before, per pod) next to N running nginx pods on the
 * runc handler; then wakes of random sleeping pods among the N.
 */
import type { RunningPod } from '../../harness/cri/index.ts';
import type { Ctx } from '../lib/context.ts';
import { request, type Target } from '../lib/client.ts';
import { SCALEDOWN, containerStatus, waitPhase } from '../lib/pods.ts';
import { nodeMemoryUsedMiB, shimsPssMiB } from '../lib/proc.ts';
import { SHIMS } from './memory.ts';
import { containerSpec, WORKLOADS } from '../lib/workloads.ts';

const settle = () => new Promise((r) => setTimeout(r, 3000));

export async function densityCase(ctx: Ctx, n: number): Promise<void> {
  const w = WORKLOADS['nginx']!;
  ctx.log(`density: ${n} nginx pods, scaled down (zeropod) vs running (runc)`);
  const target = (pod: RunningPod): Target => ({
    netnsPath: ctx.client.path,
    host: pod.ip,
    port: w.port,
    protocol: w.protocol,
  });
  const perPod: Record<'zeropod' | 'runc', number> = { zeropod: NaN, runc: NaN };
  const wakes: number[] = [];
  const shimPss: Record<'zeropod' | 'runc', number> = { zeropod: NaN, runc: NaN };
  for (const handler of ['zeropod', 'runc'] as const) {
    const running: RunningPod[] = [];
    let ok = false;
    try {
      await settle();
      const before = nodeMemoryUsedMiB();
      const shimsBefore = shimsPssMiB(SHIMS[handler]);
      const started = performance.now();
      for (let i = 0; i < n; i++) {
        running.push(
          await ctx.pods.run({
            name: `bench-density-${handler}-${i}`,
            handler,
            ...(handler === 'zeropod' ? { annotations: { [SCALEDOWN]: '1s' } } : {}),
            containers: [containerSpec(w)],
          }),
        );
      }
      ctx.log(`  ${handler}: ${n} pods started in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      for (const pod of running)
        await request(target(pod), { retryUntilMs: performance.now() + 10_000, retryEveryMs: 20 });
      if (handler === 'zeropod') {
        for (const pod of running)
          await waitPhase(pod, pod.containers.get(w.id)!, 'scaled-down', 120_000, 100);
      }
      await settle();
      const after = nodeMemoryUsedMiB();
      perPod[handler] = (after - before) / n;
      shimPss[handler] = (shimsPssMiB(SHIMS[handler]) - shimsBefore) / n;
      ctx.log(
        `  ${handler}: node memory +${(after - before).toFixed(0)} MiB = ${perPod[handler].toFixed(1)} MiB per pod`,
      );
      if (handler === 'zeropod') {
        const order = running
          .map((p) => ({ p, k: Math.random() }))
          .sort((a, b) => a.k - b.k)
          .map((x) => x.p);
        for (const pod of order.slice(0, Math.min(ctx.runs, n))) {
          const cid = pod.containers.get(w.id)!;
          const st = await containerStatus(pod, cid);
          if (st?.phase !== 'scaled-down') continue;
          const r = await request(target(pod), { timeoutMs: 30_000 });
          wakes.push(r.ms);
        }
        ctx.log(
          `  zeropod: ${wakes.length} random wakes among ${n} sleeping pods: ${wakes.map((v) => v.toFixed(0)).join(', ')} ms`,
        );
      }
      ok = true;
    } finally {
      // A removal failure after a failure of the case is not the news: the case's error is.
      await ctx.pods.removeEach(running).catch((err: unknown) => {
        if (ok) throw err;
      });
    }
  }
  const label = `${n} nginx pods`;
  ctx.results.figure({
    workload: label,
    metric: 'node memory per pod (ours asleep)',
    unit: 'MiB',
    better: 'lower',
    ours: [perPod.zeropod],
    baselineName: 'runc handler, running',
    baseline: [perPod.runc],
    note: 'one measurement each: (MemTotal - MemAvailable) after - before, / pods',
  });
  ctx.results.figure({
    workload: `${label}, asleep`,
    metric: 'wake of a random one → full response',
    unit: 'ms',
    better: 'lower',
    ours: wakes,
    baselineName: '–',
    baseline: [],
  });
  ctx.results.detail(label, 'ours: Δ shim PSS per pod, asleep', 'MiB', [shimPss.zeropod]);
  ctx.results.detail(label, 'runc: Δ shim PSS per pod, running', 'MiB', [shimPss.runc]);
}
