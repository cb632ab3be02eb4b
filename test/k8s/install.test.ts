/**
 * Issue 14's install, as a user of the original meets it (seed 002): on a node whose containerd has
 * never heard of zeropod (`up --k8s --bare`), `kubectl label node` and `kubectl apply -k config/generic`
 * put it on; seed 002's nginx then sleeps and wakes, a runc pod from before keeps its container, a
 * second apply (and a second run of the installer) changes nothing, and `kubectl apply -k
 * config/uninstall` gives containerd its config back byte for byte.
 *
 * The kustomizations applied are test/k8s/node-env/{install,uninstall}: config/generic and
 * config/uninstall plus the one thing the node environment lacks, systemd (see their comments).
 * The test runs inside the environment, so the node's files are this process's files.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { MARKERS } from '../../harness/images/index.ts';
import { appPidsInContainer, httpGetFrom, scaledStatus, waitForPhase } from '../../harness/net/index.ts';
import { CLUSTER, containerIdOf, example, kube, kubeJson, type PodInfo } from '../../harness/k8s/index.ts';
import { paths, run } from '../../harness/env/index.ts';
import { KubeFixture } from './fixture.ts';

const CONFIG = '/etc/containerd/config.toml';
const OPT = '/opt/zeropod';
const SYSTEM = ['-n', 'zeropod-system'];
const DS_PODS = ['-l', 'app.kubernetes.io/name=zeropod-node'];
const overlay = (name: string) => path.join(paths.project, 'test/k8s/node-env', name);

/** Why this file cannot run here (undefined when it can): it needs the node as `up --k8s --bare` makes it. */
async function notBare(): Promise<string | undefined> {
  const dump = await run('containerd', ['config', 'dump'], { check: false });
  if (dump.code !== 0)
    return `containerd config dump failed (not inside the node environment?): ${dump.stderr}`;
  if (dump.stdout.includes('runtimes.zeropod'))
    return 'containerd already has a zeropod runtime: start the environment with `up --k8s --bare`';
  const node = await kubeJson<{ metadata: { labels?: Record<string, string> } }>([
    'get',
    'node',
    CLUSTER.nodeName,
  ]);
  if (node.metadata.labels?.['zeropod.ctrox.dev/node'] !== undefined)
    return 'the node is labelled zeropod.ctrox.dev/node already: start the environment with `up --k8s --bare`';
  return undefined;
}
const skip = await notBare();

const containerdPid = () => Number(readFileSync('/run/containerd-env.pid', 'utf8').trim());
const containerdDump = async () => (await run('containerd', ['config', 'dump'])).stdout;

/** Every file under the given roots with its bytes' hash (or a symlink's target) and mode. */
function snapshot(...roots: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isDirectory()) {
      out.set(p, `dir ${st.mode.toString(8)}`);
      for (const name of readdirSync(p).sort()) walk(path.join(p, name));
    } else if (st.isSymbolicLink()) out.set(p, `-> ${readlinkSync(p)}`);
    else out.set(p, `${st.mode.toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
  };
  for (const root of roots) if (existsSync(root)) walk(root);
  return out;
}

async function nodePod(): Promise<PodInfo> {
  const list = await kubeJson<{ items: PodInfo[] }>([...SYSTEM, 'get', 'pods', ...DS_PODS]);
  const live = list.items.filter((p) => !('deletionTimestamp' in p.metadata));
  assert.equal(live.length, 1, 'one zeropod-node pod on the one node');
  return live[0]!;
}

/** The DaemonSet rolled out and its pod Ready (its init container, the installer, has finished). */
async function nodePodReady(): Promise<PodInfo> {
  await kube([...SYSTEM, 'rollout', 'status', 'daemonset/zeropod-node', '--timeout=180s']);
  await kube([...SYSTEM, 'wait', '--for=condition=Ready', 'pod', ...DS_PODS, '--timeout=180s']);
  return nodePod();
}

/** The installer's report: the JSON line on its stdout that starts with `config` (its logs are JSON lines too). */
async function installerReport(pod: PodInfo): Promise<{
  config: { kind: string };
  runtimeFiles?: { written: number; unchanged: number };
  restarted?: string;
  upgraded?: string[];
}> {
  const log = await kube([...SYSTEM, 'logs', pod.metadata.name, '-c', 'installer']);
  for (const line of log.stdout.trim().split('\n').reverse()) {
    if (!line.startsWith('{"config":')) continue;
    return JSON.parse(line) as never;
  }
  return assert.fail(`no report in the installer's log:\n${log.stdout}`);
}

const runcApp = new KubeFixture('zp-install-runc');
const app = new KubeFixture('zp-install');
let original: Buffer;
let runcBefore: PodInfo;

before(async () => {
  if (skip !== undefined) return;
  await runcApp.setUp();
  await app.setUp();
  original = readFileSync(CONFIG);
});
after(async () => {
  if (skip !== undefined) return;
  await app.tearDown();
  await runcApp.tearDown();
});

test('before: a runc pod serves on a containerd without zeropod', { skip }, async () => {
  assert.ok(!existsSync('/usr/local/bin/containerd-shim-zeropod-v2'), 'no shim on PATH');
  const rc = await kube(['get', 'runtimeclass', 'zeropod'], { check: false });
  assert.notEqual(rc.code, 0, 'no zeropod RuntimeClass before the install');
  await runcApp.apply(example('nginx', 'runc'));
  runcBefore = await runcApp.rollout('nginx');
  const r = await httpGetFrom(runcApp.client, runcBefore.status.podIP!, 80, '/', 20_000);
  assert.equal(r.status, 200);
  assert.ok(r.body.includes(MARKERS.nginx));
});

test(
  'install: label the node, apply -k; the pod is Ready and containerd runs with the runtime',
  { skip },
  async () => {
    const pidBefore = containerdPid();
    await kube(['label', 'node', CLUSTER.nodeName, 'zeropod.ctrox.dev/node=true']);
    await kube(['apply', '-k', overlay('install')]);
    const pod = await nodePodReady();

    const report = await installerReport(pod);
    assert.equal(report.config.kind, 'installed');
    assert.ok((report.runtimeFiles?.written ?? 0) > 0, 'the runtime files were copied');
    assert.notEqual(containerdPid(), pidBefore, 'containerd was restarted');
    const dump = await containerdDump();
    const table =
      /\[plugins\.'io\.containerd\.cri\.v1\.runtime'\.containerd\.runtimes\.zeropod\]\n((?:[ \t]+\S.*\n)*)/.exec(
        dump,
      );
    assert.ok(table, `containerd's merged config has the zeropod runtime:\n${dump}`);
    assert.match(table[1]!, /runtime_type = 'io\.containerd\.zeropod\.v2'/);
    assert.match(table[1]!, /runtime_path = '\/opt\/zeropod\/bin\/containerd-shim-zeropod-v2'/);
    assert.match(table[1]!, /pod_annotations = \['zeropod\.ctrox\.dev\/\*'\]/);
    assert.match(table[1]!, /container_annotations = \['zeropod\.ctrox\.dev\/\*'\]/);
    const rc = await kubeJson<{ handler: string }>(['get', 'runtimeclass', 'zeropod']);
    assert.equal(rc.handler, 'zeropod');
  },
);

test("seed 002's nginx on runtimeClassName zeropod sleeps and wakes", { skip }, async () => {
  await app.apply(example('nginx'));
  const pod = await app.rollout('nginx');
  const id = containerIdOf(pod, 'nginx');
  await waitForPhase(id, 'scaled-down', 60_000);
  assert.deepEqual(appPidsInContainer(id), [], 'no nginx process while asleep');
  const r = await httpGetFrom(app.client, pod.status.podIP!, 80, '/', 20_000);
  assert.equal(r.status, 200);
  assert.ok(r.body.includes(MARKERS.nginx));
  assert.equal((await scaledStatus(id))?.restores, 1, 'the request woke it');
  // The shim serving it is the installed one.
  const shims = await run('pgrep', ['-af', 'containerd-shim-zeropod'], { check: false });
  assert.match(shims.stdout, /\/opt\/zeropod\//, `the installed shim runs it:\n${shims.stdout}`);
});

test('the runc pod from before the install still runs the same container', { skip }, async () => {
  const now = await runcApp.pod('nginx');
  assert.equal(now.metadata.uid, runcBefore.metadata.uid);
  assert.equal(containerIdOf(now, 'nginx'), containerIdOf(runcBefore, 'nginx'));
  assert.equal(now.status.containerStatuses?.[0]?.restartCount, 0);
  const r = await httpGetFrom(runcApp.client, now.status.podIP!, 80, '/', 20_000);
  assert.equal(r.status, 200);
});

test('applying twice, and the installer running again, change nothing', { skip }, async () => {
  const files = snapshot('/etc/containerd', OPT);
  const pid = containerdPid();
  const again = await kube(['apply', '-k', overlay('install')]);
  for (const line of again.stdout.trim().split('\n')) assert.match(line, / unchanged$/, again.stdout);

  // A second apply leaves the pod alone; what a node restart or a deleted pod does is run the
  // installer again: it must find everything in place.
  const first = await nodePod();
  await kube([...SYSTEM, 'delete', 'pod', first.metadata.name, '--wait=true']);
  const second = await nodePodReady();
  assert.notEqual(second.metadata.uid, first.metadata.uid, 'a new pod ran the installer');
  const report = await installerReport(second);
  assert.equal(report.config.kind, 'unchanged');
  assert.equal(report.runtimeFiles?.written, 0);
  assert.equal(report.restarted, undefined);
  assert.deepEqual(snapshot('/etc/containerd', OPT), files, 'no file changed');
  assert.equal(containerdPid(), pid, 'containerd was not restarted');
});

const KEEPER_PID = '/run/zeropod/s/node-k8s.io.pid';
const WORKER_PID = '/run/zeropod/s/node-k8s.io.worker.pid';
const pidIn = (file: string) => Number(readFileSync(file, 'utf8').trim());

test(
  'new runtime files under a running shim: the installer moves it onto them, no pod restarts',
  { skip },
  async () => {
    const pod = await app.pod('nginx');
    const id = containerIdOf(pod, 'nginx');
    const keeper = pidIn(KEEPER_PID);
    const worker = pidIn(WORKER_PID);
    // An older runtime on the node: one file of the bundle differs from what the image brings.
    const chunk = readdirSync(path.join(OPT, 'lib/zeropod/dist')).find((f) => f.endsWith('.mjs'))!;
    writeFileSync(
      path.join(OPT, 'lib/zeropod/dist', chunk),
      `${readFileSync(path.join(OPT, 'lib/zeropod/dist', chunk), 'utf8')}\n// older\n`,
    );
    const first = await nodePod();
    await kube([...SYSTEM, 'delete', 'pod', first.metadata.name, '--wait=true']);
    const report = await installerReport(await nodePodReady());
    assert.equal(report.runtimeFiles?.written, 1, 'the installer put the new file back');
    assert.deepEqual(report.upgraded, ['k8s.io'], 'and told the running shim');
    let next = worker;
    for (let i = 0; i < 100 && next === worker; i++) {
      await new Promise((r) => setTimeout(r, 100));
      next = pidIn(WORKER_PID);
    }
    assert.notEqual(next, worker, 'a new worker serves');
    assert.equal(pidIn(KEEPER_PID), keeper, "the keeper (containerd's connections) stayed");
    const now = await app.pod('nginx');
    assert.equal(containerIdOf(now, 'nginx'), id, 'the same container');
    assert.equal(now.status.containerStatuses?.[0]?.restartCount, 0, 'no restart');
    await waitForPhase(id, 'scaled-down', 60_000);
    const r = await httpGetFrom(app.client, now.status.podIP!, 80, '/', 20_000);
    assert.equal(r.status, 200, 'it still sleeps and wakes');
  },
);

test(
  'apply -k config/uninstall restores the config byte for byte and removes the runtime',
  { skip },
  async () => {
    // Pods on the zeropod runtime go first, as a user would drain them.
    await kube(['-n', app.namespace, 'delete', 'deployment', 'nginx', '--wait=true']);
    await kube(['-n', app.namespace, 'wait', '--for=delete', 'pod', '-l', 'app=nginx', '--timeout=120s']);
    const pid = containerdPid();
    await kube(['apply', '-k', overlay('uninstall')]);
    const pod = await nodePodReady();
    const report = await installerReport(pod);
    assert.equal(report.config.kind, 'uninstalled');

    // The bytes from before the install, beside the config's own (Node's stdin pipe is a socket: no /dev/stdin).
    const before = path.join(mkdtempSync('/tmp/zp-install-'), 'config.toml.before');
    writeFileSync(before, original);
    const diff = await run('diff', ['-u', before, CONFIG], { check: false });
    assert.equal(
      diff.code,
      0,
      `containerd's config differs from before the install:\n${diff.stdout}${diff.stderr}`,
    );
    assert.ok(readFileSync(CONFIG).equals(original), 'byte for byte');
    assert.deepEqual(
      readdirSync('/etc/containerd'),
      ['config.toml'],
      'no backup, record or runtime file left',
    );
    assert.deepEqual(readdirSync(OPT), [], `${OPT} emptied (the directory is the DaemonSet's hostPath)`);
    assert.notEqual(containerdPid(), pid, 'containerd was restarted');
    assert.ok(!(await containerdDump()).includes('runtimes.zeropod'), 'containerd no longer knows zeropod');

    await kube(['delete', '-k', overlay('uninstall'), '--wait=true']);
    const rc = await kube(['get', 'runtimeclass', 'zeropod'], { check: false });
    assert.notEqual(rc.code, 0, 'the RuntimeClass is gone');

    const runc = await runcApp.pod('nginx');
    assert.equal(
      containerIdOf(runc, 'nginx'),
      containerIdOf(runcBefore, 'nginx'),
      'the runc pod kept its container',
    );
    assert.equal(runc.status.containerStatuses?.[0]?.restartCount, 0);
  },
);
