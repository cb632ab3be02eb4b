/**
 * What users of the original complained about and what the issue asks: concurrent wakes all served,
 * kubelet probes neither keep a pod up nor wake it, exec wakes, only named containers scale, bad
 * annotations are refused, and a killed sleeping pod leaves nothing behind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { IMAGES, MARKERS } from '../../harness/images/index.ts';
import { httpProbe, tcpProbe } from '../../harness/cri/index.ts';
import {
  allScaled,
  bound,
  httpGetFrom,
  mountsMentioning,
  pidsInContainer,
  scaledStatus,
  waitForPhase,
} from '../../harness/net/index.ts';

import { ScaleFixture, scaleAnnotations } from '../support/scale-pod.ts';

const f = new ScaleFixture();
before(() => f.setUp());
after(() => f.tearDown());

const nginxPod = (name: string, duration = '1s', extra: Record<string, string> = {}) =>
  f.runPod({
    name,
    handler: 'zeropod',
    annotations: scaleAnnotations(duration, extra),
    containers: [{ name: 'nginx', image: IMAGES.nginx }],
  });

test('200 concurrent connections to a sleeping pod all get a full, correct response', async () => {
  const pod = await nginxPod('scale-concurrent');
  const id = pod.containers.get('nginx')!;
  await waitForPhase(id, 'scaled-down');
  const results = await Promise.allSettled(
    Array.from({ length: 200 }, () => httpGetFrom(f.client, pod.ip, 80, '/', bound(20_000))),
  );
  const failures = results.filter(
    (r) => r.status === 'rejected' || r.value.status !== 200 || !r.value.body.includes(MARKERS.nginx),
  );
  assert.equal(failures.length, 0, `failures: ${JSON.stringify(failures.slice(0, 3))}`);
  assert.equal((await scaledStatus(id))?.restores, 1, 'one restore served them all');
});

test('kubelet probes do not keep the pod up nor wake it; exec wakes it', async () => {
  const pod = await nginxPod('scale-probes');
  const id = pod.containers.get('nginx')!;
  await waitForPhase(id, 'running');
  // HTTP probes every 250 ms from the node, as kubelet sends them, while the pod goes to sleep.
  let stop = false;
  const answers: boolean[] = [];
  const prober = (async () => {
    for (let i = 0; i < 200 && !stop; i++) {
      answers.push((await httpProbe(pod.ip, 80, '/')).ok);
      await sleep(250);
    }
  })();
  try {
    await waitForPhase(id, 'scaled-down', bound(20_000));
    await sleep(2000);
    const s = await scaledStatus(id);
    assert.equal(s?.phase, 'scaled-down', 'probes did not wake it');
    assert.equal(s?.restores, 0);
  } finally {
    stop = true;
    await prober;
  }
  assert.ok(answers.length > 5 && answers.every(Boolean), 'every probe got a success, awake or asleep');
  assert.ok((await tcpProbe(pod.ip, 80)).ok, 'a TCP probe connects');
  await sleep(300);
  assert.equal((await scaledStatus(id))?.phase, 'scaled-down', 'a TCP probe does not wake it');

  const exec = await f.cri.runtime.execSync({
    containerId: id,
    cmd: ['sh', '-c', 'echo awake'],
    timeout: BigInt(Math.ceil(bound(10_000) / 1000)),
  });
  assert.equal(exec.exitCode, 0);
  assert.equal(Buffer.from(exec.stdout).toString().trim(), 'awake');
  assert.equal((await scaledStatus(id))?.restores, 1, 'exec woke the container');
});

test('only the containers named in container-names scale', async () => {
  const pod = await f.runPod({
    name: 'scale-two',
    handler: 'zeropod',
    annotations: scaleAnnotations('1s', { 'zeropod.ctrox.dev/container-names': 'web' }),
    containers: [
      { name: 'web', image: IMAGES.nginx },
      { name: 'sidecar', image: IMAGES.busybox },
    ],
  });
  const web = pod.containers.get('web')!;
  const sidecar = pod.containers.get('sidecar')!;
  await waitForPhase(web, 'scaled-down');
  await sleep(1500);
  assert.equal(await scaledStatus(sidecar), undefined, 'the sidecar is not managed for scaling');
  assert.ok(pidsInContainer(sidecar).length > 0, 'the sidecar keeps running');
  const res = await httpGetFrom(f.client, pod.ip, 8080, '/');
  assert.ok(res.body.includes(MARKERS.busybox), 'and keeps serving');
});

test('a bad annotation value is refused at RunPodSandbox, naming the annotation and the expected form', async () => {
  await assert.rejects(
    f.cri.runPod({
      name: 'scale-bad',
      handler: 'zeropod',
      annotations: scaleAnnotations('10'),
      containers: [{ name: 'nginx', image: IMAGES.nginx }],
    }),
    (err: Error) => /zeropod\.ctrox\.dev\/scaledown-duration="10": expected a Go duration/.test(err.message),
  );
  const { items } = await f.cri.runtime.listPodSandbox({});
  assert.ok(!items.some((s) => s.metadata?.name === 'scale-bad'), 'nothing is half-created');
});

test('removing a scaled-down pod leaves no image, process or mount behind', async () => {
  const pod = await nginxPod('scale-kill');
  const id = pod.containers.get('nginx')!;
  await waitForPhase(id, 'scaled-down');
  assert.ok(existsSync(`/var/lib/zeropod-ts/images/k8s.io/${id}`), 'the checkpoint image exists while down');
  await f.remove(pod);
  assert.ok(!existsSync(`/var/lib/zeropod-ts/images/k8s.io/${id}`), 'the image is removed');
  assert.deepEqual(pidsInContainer(id), [], 'no process');
  assert.deepEqual(mountsMentioning(id), [], 'no mount');
  assert.ok(!(await allScaled()).some((s) => s.container === id), 'no longer in any status API');
});

test('a client that talks every half second keeps the pod up', async () => {
  const pod = await nginxPod('scale-busy', '2s');
  const id = pod.containers.get('nginx')!;
  await waitForPhase(id, 'running');
  for (let i = 0; i < 12; i++) {
    assert.equal((await httpGetFrom(f.client, pod.ip, 80)).status, 200);
    await sleep(500);
  }
  const s = await scaledStatus(id);
  assert.equal(s?.phase, 'running');
  assert.equal(s?.checkpoints, 0, 'no checkpoint while the client talks');
});

test('disable-checkpointing: scale down by stopping the process, wake with a fresh start', async () => {
  const pod = await nginxPod('scale-nockpt', '1s', { 'zeropod.ctrox.dev/disable-checkpointing': 'true' });
  const id = pod.containers.get('nginx')!;
  const down = await waitForPhase(id, 'scaled-down');
  assert.deepEqual(pidsInContainer(id), []);
  assert.ok(!existsSync(`/var/lib/zeropod-ts/images/k8s.io/${id}`), 'no checkpoint image was written');
  const res = await httpGetFrom(f.client, pod.ip, 80);
  assert.equal(res.status, 200);
  assert.ok(res.body.includes(MARKERS.nginx));
  const after = await scaledStatus(id);
  assert.equal(after?.restores, down.restores + 1);
  assert.equal(after?.failedRestores, 0);
});

test('a restore that fails falls back to a fresh start, and the loss is reported', async () => {
  const pod = await nginxPod('scale-freshstart');
  const id = pod.containers.get('nginx')!;
  await waitForPhase(id, 'scaled-down');
  // Break the image: its memory pages are gone, so CRIU cannot restore it.
  const image = `/var/lib/zeropod-ts/images/k8s.io/${id}`;
  for (const f of readdirSync(image)) if (f.startsWith('pages-')) rmSync(`${image}/${f}`);
  const res = await httpGetFrom(f.client, pod.ip, 80);
  assert.equal(res.status, 200, 'the held request is still served, by a fresh nginx');
  assert.ok(res.body.includes(MARKERS.nginx));
  const s = await scaledStatus(id);
  assert.equal(s?.failedRestores, 2, 'the restore was tried twice');
  assert.equal(s?.freshStarts, 1, 'then the container started afresh');
  assert.match(s?.lastError ?? '', /restore/, 'with the reason');
  assert.equal((await f.cri.containerStatus(id)).state, 1, 'and the CRI still sees it running');
});
