/**
 * The upgrade in place (docs/restart-safety.md): ten pods, half asleep, the keeper signalled as an
 * installer does after replacing the shim's files. No container restarts, every pod answers with
 * its data, a pod created during the handover starts normally; the longest pauses clients saw are
 * printed (the figures in the docs).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { IMAGES, MARKERS } from '../../harness/images/index.ts';
import { httpGetFrom, pidsInContainer, waitForPhase } from '../../harness/net/index.ts';
import type { RunningPod } from '../../harness/cri/index.ts';
import { ContainerState } from '../../src/gen/k8s.io/cri-api/pkg/apis/runtime/v1/api_pb.js';
import { ScaleFixture, scaleAnnotations } from '../support/scale-pod.ts';
import { first, keeperPid, redisAt, workerPid } from '../support/restart.ts';

const f = new ScaleFixture();
before(() => f.setUp());
after(() => f.tearDown());

const redis = (host: string, ...args: string[]) => redisAt(f, host, ...args);

test('an upgrade with 10 pods, half asleep: nothing restarts, all answer, a new pod starts', async (t) => {
  const asleep: RunningPod[] = [];
  const awake: RunningPod[] = [];
  for (let i = 0; i < 5; i++) {
    asleep.push(
      await f.runPod({
        name: `up-redis-${i}`,
        handler: 'zeropod',
        annotations: scaleAnnotations('1s'),
        containers: [{ name: 'redis', image: IMAGES.redis }],
      }),
    );
    awake.push(
      await f.runPod({
        name: `up-nginx-${i}`,
        handler: 'zeropod',
        annotations: scaleAnnotations('0'),
        containers: [{ name: 'nginx', image: IMAGES.nginx }],
      }),
    );
  }
  for (const [i, pod] of asleep.entries()) assert.equal(await redis(pod.ip, 'SET', 'k', `v${i}`), '+OK');
  for (const pod of asleep) await waitForPhase(first(pod), 'scaled-down');
  const pidsBefore = awake.map((pod) => pidsInContainer(first(pod)).sort());
  const keeper = keeperPid();
  const worker = workerPid();

  // A client of a running nginx that asks every 20 ms throughout: its longest gap between answers.
  let stop = false;
  let longestGap = 0;
  const poller = (async () => {
    let last = performance.now();
    while (!stop) {
      const res = await httpGetFrom(f.client, awake[0]!.ip, 80).catch(() => undefined);
      const now = performance.now();
      if (res?.status === 200) {
        longestGap = Math.max(longestGap, now - last);
        last = now;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await new Promise((r) => setTimeout(r, 200));

  process.kill(keeper, 'SIGHUP');
  const t0 = performance.now();
  const since = (p: Promise<unknown>) => p.then(() => Math.round(performance.now() - t0));
  // Started at once, while the handover runs: a sleeping pod's client, an exec, a new pod.
  const [sleepingClient, exec, created] = await Promise.all([
    since(redis(asleep[0]!.ip, 'GET', 'k').then((v) => assert.equal(v, 'v0'))),
    since(f.cri.execSync(first(awake[1]!), ['true']).then((r) => assert.equal(r.exitCode, 0))),
    since(
      f.runPod({
        name: 'up-new',
        handler: 'zeropod',
        annotations: scaleAnnotations('0'),
        containers: [{ name: 'nginx', image: IMAGES.nginx }],
      }),
    ),
  ]);
  stop = true;
  await poller;
  const next = workerPid();
  assert.notEqual(next, worker, 'a new worker serves');
  assert.equal(keeperPid(), keeper, 'the same keeper');

  for (const [i, pod] of asleep.entries()) assert.equal(await redis(pod.ip, 'GET', 'k'), `v${i}`);
  for (const pod of awake) {
    const res = await httpGetFrom(f.client, pod.ip, 80);
    assert.ok(res.body.includes(MARKERS.nginx));
  }
  assert.deepEqual(
    awake.map((pod) => pidsInContainer(first(pod)).sort()),
    pidsBefore,
    'the running apps are the same processes: 0 containers restarted',
  );
  for (const pod of [...asleep, ...awake]) {
    const s = await f.cri.containerStatus(first(pod));
    assert.equal(s.state, ContainerState.CONTAINER_RUNNING);
  }
  t.diagnostic(
    `after SIGHUP: a sleeping pod's client answered in ${sleepingClient} ms, an ExecSync in ${exec} ms, ` +
      `a pod created during the handover was running in ${created} ms; a running nginx's client saw ` +
      `at most ${Math.round(longestGap)} ms between answers`,
  );
});
