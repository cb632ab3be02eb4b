/**
 * Through a real kubelet (the cluster environment, `up --k8s`), seed 002's nginx Deployment
 * (deploy/examples/nginx.yaml, scaledown-duration shortened to 2 s so a run takes seconds):
 *   - pod start: `kubectl apply` -> the Deployment rolled out (pod Ready), `zeropod` vs the `runc`
 *     RuntimeClass, alternating;
 *   - wake through the Service: the pod asleep, one request to its ClusterIP until the full page is in.
 *     The baseline is what Kubernetes alone offers for a service scaled to zero: the `runc` Deployment
 *     at 0 replicas, `kubectl scale --replicas=1`, then the same request retried until it answers.
 *     An awake `runc` pod's answer through the Service is reported as a detail.
 */
import { MARKERS } from '../../harness/images/index.ts';
import {
  containerIdOf,
  createNamespace,
  deleteNamespace,
  example,
  kube,
  kubeJson,
  podOf,
} from '../../harness/k8s/index.ts';
import { waitForPhase } from '../../harness/net/index.ts';
import type { Ctx } from '../lib/context.ts';
import { request } from '../lib/client.ts';

const NS = 'zpb-k8s';
const manifest = (runtimeClass: string, name: string) =>
  example('nginx', runtimeClass)
    .replaceAll('scaledown-duration: 10s', 'scaledown-duration: 2s')
    .replace(/^ {2}name: nginx$/gm, `  name: ${name}`)
    .replace(/app: nginx\b/g, `app: ${name}`);

async function applyAndRollOut(runtimeClass: string, name: string): Promise<number> {
  const t = performance.now();
  await kube(['-n', NS, 'apply', '-f', '-'], { input: manifest(runtimeClass, name) });
  await kube(['-n', NS, 'rollout', 'status', `deployment/${name}`, '--timeout=120s']);
  return performance.now() - t;
}

const remove = (name: string) =>
  kube(['-n', NS, 'delete', `deployment/${name}`, `service/${name}`, '--grace-period=1', '--wait=true']);

async function clusterIp(name: string): Promise<string> {
  return (await kubeJson<{ spec: { clusterIP: string } }>(['-n', NS, 'get', 'service', name])).spec.clusterIP;
}

export async function k8sCase(ctx: Pick<Ctx, 'client' | 'runs' | 'results' | 'log'>): Promise<void> {
  await deleteNamespace(NS);
  await createNamespace(NS);
  const http = { kind: 'http', path: '/', expect: MARKERS.nginx } as const;
  try {
    ctx.log('pod start through kubelet: kubectl apply -> Ready, nginx Deployment, zeropod vs runc');
    const start = { zeropod: [] as number[], runc: [] as number[] };
    for (let i = -1; i < ctx.runs; i++) {
      for (const rc of ['zeropod', 'runc'] as const) {
        const name = `start-${rc}-${i + 1}`;
        const ms = await applyAndRollOut(rc, name);
        if (i >= 0) start[rc].push(ms);
        ctx.log(`  ${rc.padEnd(7)} #${i + 1}: Ready in ${ms.toFixed(0)} ms`);
        await remove(name);
      }
    }
    ctx.results.figure({
      workload: 'nginx Deployment (kubelet)',
      metric: 'kubectl apply → Ready',
      unit: 'ms',
      better: 'lower',
      ours: start.zeropod,
      baselineName: 'runc RuntimeClass',
      baseline: start.runc,
    });

    ctx.log('wake through a ClusterIP Service: zeropod asleep vs runc scaled 0 -> 1');
    await applyAndRollOut('zeropod', 'wake');
    await applyAndRollOut('runc', 'cold');
    const id = containerIdOf(await podOf(NS, 'wake'), 'nginx');
    const wakeIp = await clusterIp('wake');
    const coldIp = await clusterIp('cold');
    const target = (host: string) => ({ netnsPath: ctx.client.path, host, port: 80, protocol: http });
    const wake: number[] = [];
    const cold: number[] = [];
    const awake: number[] = [];
    for (let i = -1; i < ctx.runs; i++) {
      await waitForPhase(id, 'scaled-down', 60_000);
      const w = await request(target(wakeIp), { timeoutMs: 20_000 });
      awake.push((await request(target(coldIp), { timeoutMs: 20_000 })).ms);
      await kube(['-n', NS, 'scale', 'deployment/cold', '--replicas=0']);
      await kube(['-n', NS, 'wait', '--for=delete', 'pod', '-l', 'app=cold', '--timeout=60s'], {
        check: false,
      });
      const started = performance.now();
      await kube(['-n', NS, 'scale', 'deployment/cold', '--replicas=1']);
      // A Service without a ready endpoint drops the SYN: each attempt gives up after 1 s (a client's
      // first SYN retransmission) and the next one starts.
      const c = await request(target(coldIp), {
        started,
        timeoutMs: 1000,
        retryUntilMs: started + 60_000,
        retryEveryMs: 5,
      });
      if (i >= 0) {
        wake.push(w.ms);
        cold.push(c.ms);
      }
      ctx.log(`  #${i + 1}: zeropod wake ${w.ms.toFixed(1)} ms, runc 0 -> 1 ${c.ms.toFixed(0)} ms`);
    }
    ctx.results.figure({
      workload: 'nginx via ClusterIP (kubelet)',
      metric: 'asleep → full response',
      unit: 'ms',
      better: 'lower',
      ours: wake,
      baselineName: 'runc RuntimeClass scaled 0 → 1',
      baseline: cold,
    });
    ctx.results.detail(
      'nginx via ClusterIP (kubelet)',
      'runc pod awake: request → full response',
      'ms',
      awake,
    );
  } finally {
    await kube(['-n', NS, 'delete', 'deployment,pod', '--all', '--grace-period=1', '--wait=true'], {
      check: false,
    });
    await kube(['delete', 'namespace', NS, '--wait=true'], { check: false });
  }
}
