/**
 * Runtime memory per pod: 20 nginx pods running per handler, PSS of each pod's shim process
 * (containerd-shim-zeropod-v2 vs containerd-shim-runc-v2, found by the pod's sandbox id).
 */
import type { RunningPod } from '../../harness/cri/index.ts';
import type { Ctx } from '../lib/context.ts';
import { request } from '../lib/client.ts';
import { SCALEDOWN } from '../lib/pods.ts';
import { memoryOf, shimPids } from '../lib/proc.ts';
import { containerSpec, WORKLOADS } from '../lib/workloads.ts';

const SHIMS = { zeropod: 'containerd-shim-zeropod-v2', runc: 'containerd-shim-runc-v2' } as const;

export async function memoryCase(ctx: Ctx, pods = 20): Promise<void> {
  const w = WORKLOADS['nginx']!;
  ctx.log(`shim memory: ${pods} nginx pods per handler`);
  const pss = { zeropod: [] as number[], runc: [] as number[] };
  const rss = { zeropod: [] as number[], runc: [] as number[] };
  for (const handler of ['zeropod', 'runc'] as const) {
    const running: RunningPod[] = [];
    let ok = false;
    try {
      for (let i = 0; i < pods; i++) {
        running.push(
          await ctx.pods.run({
            name: `bench-mem-${handler}-${i}`,
            handler,
            // Scaling enabled (so the shim holds its scale-to-zero machinery) but not due during the case.
            ...(handler === 'zeropod' ? { annotations: { [SCALEDOWN]: '1h' } } : {}),
            containers: [containerSpec(w)],
          }),
        );
      }
      for (const pod of running) {
        await request({ netnsPath: ctx.client.path, host: pod.ip, port: w.port, protocol: w.protocol }, { retryUntilMs: performance.now() + 10_000, retryEveryMs: 20 });
      }
      await new Promise((r) => setTimeout(r, 3000));
      for (const pod of running) {
        const pids = shimPids(SHIMS[handler], pod.id);
        if (pids.length === 0) throw new Error(`no ${SHIMS[handler]} process found for pod ${pod.id}`);
        const m = pids.map(memoryOf).filter((x) => x !== undefined);
        pss[handler].push(m.reduce((a, x) => a + x.pssMiB, 0));
        rss[handler].push(m.reduce((a, x) => a + x.rssMiB, 0));
      }
      const sum = pss[handler].reduce((a, b) => a + b, 0);
      ctx.log(`  ${handler}: shims' PSS ${sum.toFixed(1)} MiB for ${pods} pods = ${(sum / pods).toFixed(2)} MiB per pod`);
      ok = true;
    } finally {
      // A removal failure after a failure of the case is not the news: the case's error is.
      await ctx.pods.removeEach(running).catch((err: unknown) => {
        if (ok) throw err;
      });
    }
  }
  ctx.results.figure({
    workload: `${pods} nginx pods`,
    metric: 'shim PSS per pod',
    unit: 'MiB',
    better: 'lower',
    ours: pss.zeropod,
    baselineName: 'containerd-shim-runc-v2',
    baseline: pss.runc,
    note: 'n = shims (one per pod), each measured once with all pods running',
  });
  ctx.results.detail(`${pods} nginx pods`, 'ours: shim RSS per pod', 'MiB', rss.zeropod);
  ctx.results.detail(`${pods} nginx pods`, 'runc shim: RSS per pod', 'MiB', rss.runc);
  ctx.results.detail(`${pods} nginx pods`, 'ours: sum of shim PSS / pods', 'MiB', [pss.zeropod.reduce((a, b) => a + b, 0) / pods]);
  ctx.results.detail(`${pods} nginx pods`, 'runc shim: sum of shim PSS / pods', 'MiB', [pss.runc.reduce((a, b) => a + b, 0) / pods]);
}
