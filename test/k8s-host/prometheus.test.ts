/**
 * A real Prometheus (Debian's package, on the host: `scripts/setup.sh prometheus`) scrapes the
 * manager on the node's address; after N wakes of a sleeping nginx (each by `kubectl exec`, from the
 * host) and the sleep after each, its HTTP API reports N restores and N + 1 checkpoints (the first
 * sleep came before the first wake) in the histograms, and no errors. Runs on the host, against the
 * cluster of the running node environment (`bash scripts/test.sh k8s` starts it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { paths } from '../../harness/env/index.ts';
import { CLUSTER, kube, kubeJson } from '../../harness/k8s/index.ts';

const NS = 'zp-prometheus';
const MANAGER = path.join(paths.project, 'deploy/manager');
const CYCLES = 3;

const NGINX = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx
spec:
  replicas: 1
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      annotations:
        zeropod.ctrox.dev/scaledown-duration: 3s
      labels:
        app: nginx
    spec:
      runtimeClassName: zeropod
      containers:
        - image: zeropod.local/nginx:1
          name: nginx
          ports:
            - containerPort: 80
`;

let prometheus: ChildProcess | undefined;
let promUrl = '';
const dir = mkdtempSync(path.join(os.tmpdir(), 'zp-prometheus-'));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

async function poll<T>(what: string, tries: number, everyMs: number, probe: () => Promise<T | undefined>) {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  assert.fail(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

before(async () => {
  await kube(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true', '--timeout=120s']);
  await kube(['create', 'namespace', NS]);
  await kube(['apply', '-k', MANAGER]);
  await kube(['-n', 'zeropod-system', 'rollout', 'status', 'daemonset/zeropod-manager', '--timeout=120s']);
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: zeropod-manager',
      '    static_configs:',
      `      - targets: ['${CLUSTER.nodeIp}:8080']`,
      '',
    ].join('\n'),
  );
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  prometheus.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  prometheus.once('exit', (code) => {
    if (code !== null && code !== 0) console.error(`prometheus exited ${code}:\n${stderr}`);
  });
  await poll('Prometheus ready', 100, 200, async () =>
    (await fetch(`${promUrl}/-/ready`)).ok ? true : undefined,
  );
});

after(async () => {
  prometheus?.kill('SIGTERM');
  await kube(['delete', 'namespace', NS, '--wait=true', '--timeout=180s'], { check: false });
  await kube(['delete', '-k', MANAGER, '--wait=true', '--timeout=120s'], { check: false });
  rmSync(dir, { recursive: true, force: true });
});

async function query(expr: string): Promise<number | undefined> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { data?: { result?: { value: [number, string] }[] } };
  const v = body.data?.result?.[0]?.value[1];
  return v === undefined ? undefined : Number(v);
}

async function label(pod: string): Promise<string | undefined> {
  const p = await kubeJson<{ metadata: { labels?: Record<string, string> } }>(['-n', NS, 'get', 'pod', pod]);
  return p.metadata.labels?.['status.zeropod.ctrox.dev/nginx'];
}

test(`Prometheus scraping the manager counts ${CYCLES} wakes and ${CYCLES + 1} sleeps`, async () => {
  await kube(['-n', NS, 'apply', '-f', '-'], { input: NGINX });
  await kube(['-n', NS, 'rollout', 'status', 'deployment/nginx', '--timeout=120s']);
  const pods = await kubeJson<{ items: { metadata: { name: string } }[] }>([
    '-n',
    NS,
    'get',
    'pods',
    '-l',
    'app=nginx',
  ]);
  const pod = pods.items[0]!.metadata.name;
  const until = (value: string) =>
    poll(`label ${value}`, 300, 100, async () => ((await label(pod)) === value ? true : undefined));
  for (let i = 0; i < CYCLES; i++) {
    await until('SCALED_DOWN');
    await kube(['-n', NS, 'exec', pod, '--', 'true']); // exec wakes a sleeping container
    await until('RUNNING');
  }
  await until('SCALED_DOWN');

  const sel = `{namespace="${NS}",pod="${pod}",container="nginx"}`;
  const equals = (expr: string, want: number) =>
    poll(`${expr} == ${want}`, 100, 200, async () => ((await query(expr)) === want ? true : undefined));
  await equals(`zeropod_restore_duration_seconds_count${sel}`, CYCLES);
  await equals(`zeropod_checkpoint_duration_seconds_count${sel}`, CYCLES + 1);
  await equals(`zeropod_restore_duration_seconds_bucket${sel.replace('}', ',le="+Inf"}')}`, CYCLES);
  await equals(`zeropod_checkpoint_errors_total${sel}`, 0);
  await equals(`zeropod_restore_errors_total${sel}`, 0);
  await equals(`zeropod_running${sel}`, 0);
  assert.ok(((await query(`zeropod_last_restore_time${sel}`)) ?? 0) > 0, 'a last restore time');
});
