/**
 * The manager (deploy/manager) through kubelet, in the k8s phase after the k8s case:
 *   - wake through a ClusterIP Service with the manager running vs without it (same run, alternating
 *     blocks): what following the shims, patching labels and resizing costs the wake;
 *   - the manager's PSS and CPU time while `pods` nginx pods sleep (the issue asks for 100;
 *     `--density N` sets it).
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { MARKERS } from '../../harness/images/index.ts';
import { paths } from '../../harness/env/index.ts';
import { containerIdOf, example, kube, kubeJson, podOf } from '../../harness/k8s/index.ts';
import { allScaled, waitForPhase } from '../../harness/net/index.ts';
import type { Ctx } from '../lib/context.ts';
import { request } from '../lib/client.ts';
import { memoryOf, processes } from '../lib/proc.ts';

const NS = 'zpb-manager';
const MANAGER = path.join(paths.project, 'deploy/manager');
const manifest = (name: string, replicas = 1) =>
  example('nginx')
    .replaceAll('scaledown-duration: 10s', 'scaledown-duration: 2s')
    .replace('replicas: 1', `replicas: ${replicas}`)
    .replace(/^ {2}name: nginx$/gm, `  name: ${name}`)
    .replace(/app: nginx\b/g, `app: ${name}`);

const managerPid = () => processes().find((p) => p.cmdline.includes('zeropod-manager.mjs'))?.pid;

/** utime + stime of a process, in seconds (USER_HZ 100). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The manager on (reacting to a wake after `deferMs`, its default without) or off. */
async function managerOn(on: boolean, deferMs?: number): Promise<void> {
  if (on) {
    await kube(['apply', '-k', MANAGER]);
    const env = deferMs === undefined ? 'ZEROPOD_WAKE_DEFER_MS-' : `ZEROPOD_WAKE_DEFER_MS=${deferMs}`;
    await kube(['-n', 'zeropod-system', 'set', 'env', 'daemonset/zeropod-manager', env]);
    await kube(['-n', 'zeropod-system', 'rollout', 'status', 'daemonset/zeropod-manager', '--timeout=120s']);
  } else {
    await kube(['delete', '-k', MANAGER, '--ignore-not-found', '--wait=true', '--timeout=120s']);
  }
}

export async function managerCase(
  ctx: Pick<Ctx, 'client' | 'runs' | 'results' | 'log'> & { pods: number },
): Promise<void> {
  await kube(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true']);
  await kube(['create', 'namespace', NS]);
  for (let i = 0; i < 100; i++) {
    if ((await kube(['-n', NS, 'get', 'serviceaccount', 'default'], { check: false })).code === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const http = { kind: 'http', path: '/', expect: MARKERS.nginx } as const;
  try {
    await kube(['-n', NS, 'apply', '-f', '-'], { input: manifest('wake') });
    await kube(['-n', NS, 'rollout', 'status', 'deployment/wake', '--timeout=120s']);
    const id = containerIdOf(await podOf(NS, 'wake'), 'nginx');
    const ip = (await kubeJson<{ spec: { clusterIP: string } }>(['-n', NS, 'get', 'service', 'wake'])).spec
      .clusterIP;
    const target = { netnsPath: ctx.client.path, host: ip, port: 80, protocol: http };
    // Three arms in alternating blocks: no manager, the manager reacting to the wake at once (as
    // before wake-deferral.ts), and the manager as shipped (its reaction deferred).
    const arms = [
      { key: 'off', on: false },
      { key: 'at once', on: true, deferMs: 0 },
      { key: 'deferred', on: true },
    ] as const;
    const wakes: Record<(typeof arms)[number]['key'], number[]> = { off: [], 'at once': [], deferred: [] };
    ctx.log('wake through a ClusterIP Service: no manager, the manager reacting at once, deferred');
    for (let i = -1; i < ctx.runs; i++) {
      for (const arm of arms) {
        await managerOn(arm.on, 'deferMs' in arm ? arm.deferMs : undefined);
        await waitForPhase(id, 'scaled-down', 60_000);
        const w = await request(target, { timeoutMs: 20_000 });
        if (i >= 0) wakes[arm.key].push(w.ms);
        ctx.log(`  #${i + 1} manager ${arm.key}: ${w.ms.toFixed(1)} ms`);
      }
    }
    ctx.results.figure({
      workload: 'nginx via ClusterIP (kubelet)',
      metric: 'asleep → full response, manager running',
      unit: 'ms',
      better: 'lower',
      ours: wakes.deferred,
      baselineName: 'same, no manager',
      baseline: wakes.off,
    });
    ctx.results.figure({
      workload: 'nginx via ClusterIP (kubelet)',
      metric: 'asleep → full response, manager reacting at once',
      unit: 'ms',
      better: 'lower',
      ours: wakes['at once'],
      baselineName: 'same, no manager',
      baseline: wakes.off,
    });

    ctx.log(`the manager with ${ctx.pods} sleeping nginx pods`);
    await managerOn(true);
    await kube(['-n', NS, 'apply', '-f', '-'], { input: manifest('sleepers', ctx.pods) });
    await kube(['-n', NS, 'rollout', 'status', 'deployment/sleepers', '--timeout=900s']);
    const deadline = performance.now() + 300_000;
    while ((await allScaled()).filter((s) => s.phase === 'scaled-down').length < ctx.pods + 1) {
      if (performance.now() > deadline) throw new Error(`the ${ctx.pods} pods did not all fall asleep`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const pid = managerPid();
    if (pid === undefined) throw new Error('no zeropod-manager process');
    const cpu0 = cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 60_000));
    const idleCpu = cpuSeconds(pid) - cpu0;
    const pss = memoryOf(pid)?.pssMiB ?? NaN;
    ctx.results.detail(`zeropod-manager, ${ctx.pods} pods asleep`, 'PSS', 'MiB', [pss]);
    ctx.results.detail(`zeropod-manager, ${ctx.pods} pods asleep`, 'CPU time per minute, idle', 's', [
      idleCpu,
    ]);
    ctx.results.detail(`zeropod-manager, ${ctx.pods} pods asleep`, 'CPU time since start', 's', [
      cpuSeconds(pid),
    ]);
    ctx.log(
      `  PSS ${pss.toFixed(1)} MiB, CPU ${idleCpu.toFixed(2)} s/min idle, ${cpuSeconds(pid).toFixed(1)} s total`,
    );
  } finally {
    await kube(['-n', NS, 'delete', 'deployment,pod', '--all', '--grace-period=1', '--wait=true'], {
      check: false,
    });
    await kube(['delete', 'namespace', NS, '--wait=true'], { check: false });
    await managerOn(false).catch(() => undefined);
  }
}
