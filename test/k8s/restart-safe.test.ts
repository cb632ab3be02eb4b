/**
 * The runtime's own crash, seen from kubelet: the node-wide shim worker is SIGKILLed while a Deployment
 * sleeps and another, probed every 5 s, runs. Kubelet must notice nothing: no restart counted, no probe
 * failed, both Ready; the sleeping one wakes on a request and the running one answers exec; a
 * `kubectl exec` session open across the death ends normally, and `kubectl logs` keeps growing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { MARKERS } from '../../harness/images/index.ts';
import { httpGetFrom, scaledStatus, waitForPhase } from '../../harness/net/index.ts';
import { containerIdOf, example, isReady, kube, kubeJson } from '../../harness/k8s/index.ts';
import { fixtures, type KubeFixture } from './fixture.ts';

const [f] = fixtures('zp-restart-safe') as [KubeFixture];
const WORKER_PID = '/run/zeropod/s/node-k8s.io.worker.pid';

const workerPid = () => Number(readFileSync(WORKER_PID, 'utf8').trim());

test('SIGKILL of the shim worker: kubelet sees no restart, no failed probe; pods answer', async () => {
  await f.apply(example('nginx'));
  await f.apply(example('nginx-probes'));
  const asleep = await f.rollout('nginx');
  const probed = await f.rollout('nginx-probe');
  const asleepId = containerIdOf(asleep, 'nginx');
  const probedId = containerIdOf(probed, 'nginx');
  await waitForPhase(asleepId, 'scaled-down', 60_000);

  // A kubectl exec session that outlives the worker: output on both sides, its own exit code.
  const session = kube([
    '-n',
    f.namespace,
    'exec',
    probed.metadata.name,
    '--',
    'sh',
    '-c',
    'echo before; sleep 6; echo after',
  ]);
  await sleep(2000);
  const killed = workerPid();
  process.kill(killed, 'SIGKILL');
  // A new worker within 10 s.
  let next = killed;
  for (let i = 0; i < 100 && (next === killed || Number.isNaN(next)); i++) {
    await sleep(100);
    next = workerPid();
  }
  assert.notEqual(next, killed, 'a new worker serves');

  // Two probe periods with the new worker, then what kubelet recorded.
  await sleep(11_000);
  for (const app of ['nginx', 'nginx-probe']) {
    const pod = await f.pod(app);
    assert.equal(pod.status.phase, 'Running', `${app}: Running`);
    assert.ok(isReady(pod), `${app}: Ready`);
    assert.equal(pod.status.containerStatuses?.[0]?.restartCount, 0, `${app}: no restart counted`);
    const events = await kubeJson<{ items: { reason: string }[] }>([
      '-n',
      f.namespace,
      'get',
      'events',
      '--field-selector',
      `involvedObject.name=${pod.metadata.name}`,
    ]);
    const bad = events.items.filter((e) => ['Unhealthy', 'Killing', 'BackOff'].includes(e.reason));
    assert.deepEqual(bad, [], `${app}: no probe failed, nothing killed`);
  }

  const res = await httpGetFrom(f.client, asleep.status.podIP!, 80, '/', 20_000);
  assert.equal(res.status, 200, 'the sleeping pod woke after the restart');
  assert.ok(res.body.includes(MARKERS.nginx));
  const exec = await kube(['-n', f.namespace, 'exec', probed.metadata.name, '--', 'echo', 'still here']);
  assert.equal(exec.stdout.trim(), 'still here');
  assert.equal((await session).stdout, 'before\nafter\n', 'the exec session lived through the restart');
  // What the app writes after the restart (its stdout, fd 1 of nginx's master; the image's access
  // log is off) still reaches `kubectl logs`: containerd's FIFO reader never saw its FIFO close.
  const mark = `after-restart-${Date.now()}`;
  await kube([
    '-n',
    f.namespace,
    'exec',
    probed.metadata.name,
    '--',
    'sh',
    '-c',
    `echo ${mark} > /proc/1/fd/1`,
  ]);
  let logs = '';
  for (let i = 0; i < 50 && !logs.includes(mark); i++) {
    logs = (await kube(['-n', f.namespace, 'logs', probed.metadata.name])).stdout;
    if (!logs.includes(mark)) await sleep(200);
  }
  assert.ok(logs.includes(mark), 'a line the app wrote after the restart is in kubectl logs');
  assert.equal((await scaledStatus(probedId))?.phase !== undefined, true, 'the probed pod is followed again');
});
