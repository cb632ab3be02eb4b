/**
 * Steady state: requests/s of a closed-loop keep-alive load (4 connections) against nginx woken
 * from scaled-down on our runtime vs the same pod on handler `runc`, rounds alternating.
 */
import type { Ctx } from '../lib/context.ts';
import { request, type Target } from '../lib/client.ts';
import { httpLoad } from '../lib/load.ts';
import { SCALEDOWN, containerStatus, waitPhase } from '../lib/pods.ts';
import { containerSpec, WORKLOADS } from '../lib/workloads.ts';

const CONNS = 4;

export async function steadyCase(ctx: Ctx): Promise<void> {
  const w = WORKLOADS['nginx']!;
  const roundMs = ctx.quick ? 500 : 1000;
  ctx.log(`steady state: ${CONNS} keep-alive connections, ${roundMs} ms rounds, nginx`);
  const ours = await ctx.pods.run({
    name: 'bench-steady-zeropod',
    handler: 'zeropod',
    annotations: { [SCALEDOWN]: '3s' },
    containers: [containerSpec(w)],
  });
  try {
    const runc = await ctx.pods.run({
      name: 'bench-steady-runc',
      handler: 'runc',
      containers: [containerSpec(w)],
    });
    try {
      const cid = ours.containers.get(w.id)!;
      const t = (ip: string): Target => ({
        netnsPath: ctx.client.path,
        host: ip,
        port: w.port,
        protocol: w.protocol,
      });
      await request(t(ours.ip), { retryUntilMs: performance.now() + w.startMs, retryEveryMs: 50 });
      await request(t(runc.ip), { retryUntilMs: performance.now() + w.startMs, retryEveryMs: 50 });
      await waitPhase(ours, cid, 'scaled-down', 60_000);
      await request(t(ours.ip), { timeoutMs: 30_000 });
      const rps = { zeropod: [] as number[], runc: [] as number[] };
      let rewoken = 0;
      for (let i = -1; i < ctx.runs; i++) {
        const st = await containerStatus(ours, cid);
        if (st?.phase !== 'running') {
          rewoken++;
          await request(t(ours.ip), { timeoutMs: 30_000 });
        }
        const a = await httpLoad(ctx.client.path, ours.ip, w.port, '/', CONNS, roundMs);
        const b = await httpLoad(ctx.client.path, runc.ip, w.port, '/', CONNS, roundMs);
        if (i >= 0) {
          rps.zeropod.push(a.rps);
          rps.runc.push(b.rps);
        }
        ctx.log(`  #${i + 1}: zeropod ${a.rps.toFixed(0)} req/s, runc ${b.rps.toFixed(0)} req/s`);
      }
      if (rewoken > 0)
        ctx.results.note(
          `steady state: our pod had scaled down again before ${rewoken} round(s) and was woken first`,
        );
      ctx.results.figure({
        workload: 'nginx, woken',
        metric: `requests/s (${CONNS} keep-alive conns)`,
        unit: 'req/s',
        better: 'higher',
        ours: rps.zeropod,
        baselineName: 'runc handler',
        baseline: rps.runc,
      });
    } finally {
      await ctx.pods.remove(runc);
    }
  } finally {
    await ctx.pods.remove(ours);
  }
}
