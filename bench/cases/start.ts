/**
 * Pod start: RunPodSandbox + CreateContainer + StartContainer (as kubelet does) and then the first
 * full HTTP response from nginx, handler `zeropod` (scaledown annotation 1m) vs `runc`, alternating.
 */
import type { Ctx } from '../lib/context.ts';
import { request } from '../lib/client.ts';
import { SCALEDOWN } from '../lib/pods.ts';
import { containerSpec, WORKLOADS } from '../lib/workloads.ts';

export async function startCase(ctx: Ctx): Promise<void> {
  const w = WORKLOADS['nginx']!;
  ctx.log('pod start → first response: nginx, zeropod vs runc');
  const total = { zeropod: [] as number[], runc: [] as number[] };
  const cri = { zeropod: [] as number[], runc: [] as number[] };
  for (let i = -1; i < ctx.runs; i++) {
    for (const handler of ['zeropod', 'runc'] as const) {
      const started = performance.now();
      const pod = await ctx.pods.run({
        name: `bench-start-${handler}-${i + 1}`,
        handler,
        ...(handler === 'zeropod' ? { annotations: { [SCALEDOWN]: '1m' } } : {}),
        containers: [containerSpec(w)],
      });
      try {
        const criMs = performance.now() - started;
        const r = await request(
          { netnsPath: ctx.client.path, host: pod.ip, port: w.port, protocol: w.protocol },
          { started, retryUntilMs: started + 30_000, retryEveryMs: 2 },
        );
        if (i >= 0) {
          total[handler].push(r.ms);
          cri[handler].push(criMs);
        }
        ctx.log(
          `  ${handler.padEnd(7)} #${i + 1}: CRI calls ${criMs.toFixed(0)} ms, first response at ${r.ms.toFixed(0)} ms`,
        );
      } finally {
        await ctx.pods.remove(pod);
      }
    }
  }
  ctx.results.figure({
    workload: 'nginx pod',
    metric: 'pod start → first response',
    unit: 'ms',
    better: 'lower',
    ours: total.zeropod,
    baselineName: 'runc handler',
    baseline: total.runc,
  });
  ctx.results.detail('nginx pod', 'ours: RunPodSandbox+CreateContainer+StartContainer', 'ms', cri.zeropod);
  ctx.results.detail(
    'nginx pod',
    'runc handler: RunPodSandbox+CreateContainer+StartContainer',
    'ms',
    cri.runc,
  );
}
