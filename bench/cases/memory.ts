/**
 * Runtime memory per pod: start 20 nginx pods per handler; the summed PSS
 * (/proc/<pid>/smaps_rollup) of every process of the handler's shim binary
 * (containerd-shim-zeropod-v2 vs containerd-shim-runc-v2), divided by the pods: the figure, the
 * node-wide daemon's whole cost included. The marginal cost (after minus before, per pod) is a
 * detail: with one daemon per node it is what one more pod adds. Ten samples after, against the
 * median of five before.
 */
import type { RunningPod } from '../../harness/cri/index.ts';
import type { Ctx } from '../lib/context.ts';
import { request } from '../lib/client.ts';
import { SCALEDOWN } from '../lib/pods.ts';
import { memoryOf, samples, shimProcesses, shimsPssMiB } from '../lib/proc.ts';
import { existsSync, readFileSync } from 'node:fs';
import { summarize } from '../lib/stats.ts';
import { containerSpec, WORKLOADS } from '../lib/workloads.ts';

export const SHIMS = { zeropod: 'containerd-shim-zeropod-v2', runc: 'containerd-shim-runc-v2' } as const;

export async function memoryCase(ctx: Ctx, pods = 20): Promise<void> {
  const w = WORKLOADS['nginx']!;
  ctx.log(`shim memory: ${pods} nginx pods per handler`);
  const perPod = { zeropod: [] as number[], runc: [] as number[] };
  const marginal = { zeropod: [] as number[], runc: [] as number[] };
  const info: Record<string, string> = {};
  for (const handler of ['zeropod', 'runc'] as const) {
    const bin = SHIMS[handler];
    const before = summarize(await samples(() => shimsPssMiB(bin), 5, 200)).median;
    const procsBefore = shimProcesses(bin).length;
    const running: RunningPod[] = [];
    let ok = false;
    try {
      for (let i = 0; i < pods; i++) {
        running.push(
          await ctx.pods.run({
            name: `bench-mem-${handler}-${i}`,
            handler,
            // Scaling enabled (the shim holds its scale-to-zero machinery) but not due during the case.
            ...(handler === 'zeropod' ? { annotations: { [SCALEDOWN]: '1h' } } : {}),
            containers: [containerSpec(w)],
          }),
        );
      }
      for (const pod of running) {
        await request(
          { netnsPath: ctx.client.path, host: pod.ip, port: w.port, protocol: w.protocol },
          { retryUntilMs: performance.now() + 10_000, retryEveryMs: 20 },
        );
      }
      await new Promise((r) => setTimeout(r, 3000));
      const after = await samples(() => shimsPssMiB(bin), 10, 300);
      perPod[handler] = after.map((a) => a / pods);
      marginal[handler] = after.map((a) => (a - before) / pods);
      const procsAfter = shimProcesses(bin).length;
      if (handler === 'zeropod') {
        const daemon = nodeDaemonPid();
        const m = daemon === undefined ? undefined : memoryOf(daemon);
        if (m)
          ctx.results.detail(
            `${pods} nginx pods`,
            `ours: the node-wide daemon's PSS, serving every zeropod pod on the node`,
            'MiB',
            [m.pssMiB],
          );
      }
      info[handler] =
        `${bin}: ${procsBefore} → ${procsAfter} processes, PSS ${before.toFixed(1)} → ${summarize(after).median.toFixed(1)} MiB`;
      ctx.log(`  ${handler}: ${info[handler]} = ${summarize(perPod[handler]).median.toFixed(2)} MiB per pod`);
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
    metric: 'shim PSS per pod (all shim processes / pods)',
    unit: 'MiB',
    better: 'lower',
    ours: perPod.zeropod,
    baselineName: 'containerd-shim-runc-v2',
    baseline: perPod.runc,
    note: `n = samples of the summed PSS after starting the pods; ${info['zeropod'] ?? ''}; ${info['runc'] ?? ''}`,
  });
  ctx.results.detail(`${pods} nginx pods`, 'ours: Δ shim PSS per pod (marginal)', 'MiB', marginal.zeropod);
  ctx.results.detail(`${pods} nginx pods`, 'runc: Δ shim PSS per pod (marginal)', 'MiB', marginal.runc);
}

/** The node-wide zeropod daemon's pid (src/shim/paths.ts nodeDaemonMarker), if one serves. */
function nodeDaemonPid(): number | undefined {
  const file = '/run/zeropod/s/node-k8s.io.pid';
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
