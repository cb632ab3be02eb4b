/**
 * The demo, as seed 002's user ran the original: a one-node Kubernetes cluster (built from source the
 * first time, cached), then with kubectl:
 *   1. nginx on the `runc` RuntimeClass (the baseline): `kubectl apply` -> Ready -> it answers;
 *   2. the same Deployment on `zeropod` with `scaledown-duration: 10s`: it goes to sleep while the pod
 *      stays Running and Ready, and a request to it wakes it, three times, with the timings;
 *   3. the cascade: an app and its redis, both asleep, woken by one request; the counter survives.
 * With the node manager (deploy/manager) running from step 2 on: the pod's status label, its events
 * and the manager's metrics after the three wakes.
 * Runs inside the node environment (re-executes itself there when started on the host).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { paths } from './env/index.ts';
import {
  appPidsInContainer,
  createClientHost,
  httpGetFrom,
  type ClientHost,
  waitForPhase,
} from './net/index.ts';
import {
  CLUSTER,
  containerIdOf,
  createNamespace,
  deleteNamespace,
  example,
  kube,
  kubeJson,
  podOf,
} from './k8s/index.ts';

const INSIDE = process.env['ZEROPOD_DEMO_INSIDE'] === '1';
const ms = (n: number) => `${Math.round(n)} ms`;

async function onHost(): Promise<number> {
  const { execVisible } = await import('./env/index.ts');
  execFileSync('node', ['scripts/build.mjs'], { stdio: 'inherit' });
  execFileSync('npx', ['tsx', 'harness/cli.ts', 'up', '--k8s'], { stdio: 'inherit' });
  return execVisible('env', ['ZEROPOD_DEMO_INSIDE=1', 'node', '--import', 'tsx', 'harness/demo.ts']);
}

const show = async (...args: string[]) => {
  console.log(`   $ kubectl ${args.join(' ')}`);
  const out = (await kube(args)).stdout.trimEnd();
  console.log(out.replace(/^/gm, '     '));
};

/** A namespace with the manifest applied, once every Deployment named has rolled out. */
async function deploy(namespace: string, manifest: string, deployments: string[]) {
  await createNamespace(namespace);
  const t = performance.now();
  await kube(['-n', namespace, 'apply', '-f', '-'], { input: manifest });
  for (const d of deployments)
    await kube(['-n', namespace, 'rollout', 'status', `deployment/${d}`, '--timeout=120s']);
  return { pod: await podOf(namespace, deployments[0]!), readyMs: performance.now() - t };
}

async function inside(client: ClientHost): Promise<void> {
  await show('get', 'nodes', '-o', 'wide');
  await show('get', 'runtimeclass');

  console.log("\n== 1. nginx on the runc RuntimeClass (containerd's own shim)");
  const base = await deploy('demo-runc', example('nginx', 'runc'), ['nginx']);
  const page = await httpGetFrom(client, base.pod.status.podIP!, 80, '/', 20_000);
  console.log(
    `   kubectl apply -> Ready in ${ms(base.readyMs)}; GET http://${base.pod.status.podIP}/ from ${client.address}: ${page.status} in ${ms(page.ms)}`,
  );

  console.log('\n== 2. the same Deployment on zeropod, scaledown-duration 10s (deploy/examples/nginx.yaml)');
  const manager = path.join(paths.project, 'deploy/manager');
  await kube(['apply', '-k', manager]);
  await kube(['-n', 'zeropod-system', 'rollout', 'status', 'daemonset/zeropod-manager', '--timeout=120s']);
  console.log('   the node manager runs (kubectl apply -k deploy/manager)');
  const z = await deploy('demo', example('nginx'), ['nginx']);
  const id = containerIdOf(z.pod, 'nginx');
  const ip = z.pod.status.podIP!;
  console.log(`   kubectl apply -> Ready in ${ms(z.readyMs)}`);
  for (let i = 1; i <= 3; i++) {
    const down = await waitForPhase(id, 'scaled-down', 60_000);
    const pod = await podOf('demo', 'nginx');
    const ready = pod.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    console.log(
      `   idle 10s -> checkpointed in ${ms(down.lastCheckpointMs ?? 0)}; nginx processes: ${appPidsInContainer(id).length}; kubectl says ${pod.status.phase}, Ready=${ready}, restarts ${pod.status.containerStatuses?.[0]?.restartCount}`,
    );
    const res = await httpGetFrom(client, ip, 80, '/', 20_000);
    const now = await waitForPhase(id, 'running');
    console.log(
      `   GET http://${ip}/ from ${client.address}: ${res.status} in ${ms(res.ms)} (restore ${ms(now.lastRestoreMs ?? 0)}) -> awake`,
    );
  }
  await show('-n', 'demo', 'get', 'pods', '-o', 'wide');
  await waitForPhase(id, 'scaled-down', 60_000);
  await new Promise((r) => setTimeout(r, 1000)); // the label follows within a second
  await show('-n', 'demo', 'get', 'pods', '-L', 'status.zeropod.ctrox.dev/nginx');
  const events = await kubeJson<{
    items: { reason: string; message: string; lastTimestamp?: string; source?: { component?: string } }[];
  }>(['-n', 'demo', 'get', 'events']);
  console.log("   $ kubectl -n demo get events   (the manager's)");
  const ours = events.items.filter((e) => e.source?.component === 'zeropod.ctrox.dev/manager');
  ours.sort((a, b) => (a.lastTimestamp ?? '').localeCompare(b.lastTimestamp ?? ''));
  for (const e of ours) console.log(`     ${e.reason.padEnd(12)} ${e.message}`);
  const metrics = await (await fetch(`http://${CLUSTER.nodeIp}:8080/metrics`)).text();
  console.log(
    `   $ curl http://${CLUSTER.nodeIp}:8080/metrics   (the node's address; Prometheus scrapes it)`,
  );
  for (const line of metrics.split('\n'))
    if (
      /^zeropod_\w+(_count|_total|_running|_freed_bytes)?\{.*namespace="demo"/.test(line) &&
      !line.includes('_bucket')
    )
      console.log(`     ${line}`);

  console.log('\n== 3. the cascade: an app and its redis, both asleep (deploy/examples/cascade.yaml)');
  await deploy('demo-cascade', example('cascade'), ['hits', 'redis']);
  const app = containerIdOf(await podOf('demo-cascade', 'hits'), 'hits');
  const db = containerIdOf(await podOf('demo-cascade', 'redis'), 'redis');
  const svc = await kubeJson<{ spec: { clusterIP: string } }>([
    '-n',
    'demo-cascade',
    'get',
    'service',
    'hits',
  ]);
  for (let i = 1; i <= 2; i++) {
    await Promise.all([waitForPhase(app, 'scaled-down', 60_000), waitForPhase(db, 'scaled-down', 60_000)]);
    const res = await httpGetFrom(client, svc.spec.clusterIP, 80, '/cgi-bin/hits', 30_000);
    console.log(
      `   both asleep; GET http://hits.demo-cascade/cgi-bin/hits (its ClusterIP): ${res.status} "${res.body.trim()}" in ${ms(res.ms)}`,
    );
  }
  for (const ns of ['demo-runc', 'demo', 'demo-cascade']) await deleteNamespace(ns);
  await kube(['delete', '-k', manager, '--wait=true']);
  console.log('\ndone: every namespace deleted.');
}

async function main(): Promise<number> {
  if (!INSIDE) return onHost();
  const client = createClientHost();
  try {
    execFileSync('ip', ['-n', client.name, 'route', 'add', 'default', 'via', '10.88.0.1']);
    await inside(client);
    return 0;
  } finally {
    client.remove();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
