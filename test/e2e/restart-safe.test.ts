/**
 * The restart-safe shim (docs/restart-safety.md): the worker killed (SIGKILL, SIGTERM) while three
 * pods run on it: redis asleep holding a key, redis awake holding a key, nginx not scaling. The
 * keeper keeps containerd's connections and the apps' stdio, a new worker re-adopts the containers
 * from their records, and containerd never sees a dead shim.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MARKERS } from '../../harness/images/index.ts';
import { ContainerState } from '../../src/gen/k8s.io/cri-api/pkg/apis/runtime/v1/api_pb.js';
import { httpGetFrom, pidsInContainer, scaledStatus, waitForPhase } from '../../harness/net/index.ts';
import type { RunningPod } from '../../harness/cri/index.ts';
import { ScaleFixture } from '../support/scale-pod.ts';
import { first, keeperPid, redisAt, runThreePods, within, workerPid } from '../support/restart.ts';

const f = new ScaleFixture();
before(() => f.setUp());
after(() => f.tearDown());

const redis = (host: string, ...args: string[]) => redisAt(f, host, ...args);

let pods: { asleep: RunningPod; awake: RunningPod; nginx: RunningPod } | undefined;

async function threePods() {
  if (pods) return pods;
  const { sleepy: asleep, awake, nginx } = await runThreePods(f, 'rs');
  // The 1 s one may be asleep already: the SET wakes it.
  assert.equal(await redis(asleep.ip, 'SET', 'k', 'asleep-value'), '+OK');
  assert.equal(await redis(awake.ip, 'SET', 'k', 'awake-value'), '+OK');
  pods = { asleep, awake, nginx };
  return pods;
}

/** SIGKILL and SIGTERM go to the worker; SIGHUP to the keeper is the upgrade (the next worker runs the files on disk). */
for (const signal of ['SIGKILL', 'SIGTERM', 'SIGHUP'] as const) {
  const what = signal === 'SIGHUP' ? 'an upgrade (SIGHUP to the keeper)' : `the worker ${signal}ed`;
  test(`${what}: all three pods stay RUNNING and answer with their data`, async (t) => {
    const p = await threePods();
    const ids = [p.asleep, p.awake, p.nginx].map(first);
    await waitForPhase(ids[0]!, 'scaled-down');
    const keeper = keeperPid();
    const worker = workerPid();
    const awakeInit = (await f.cri.containerStatus(ids[1]!)).state;
    assert.equal(awakeInit, ContainerState.CONTAINER_RUNNING);
    const running = [ids[1]!, ids[2]!].map((id) => pidsInContainer(id).sort());

    process.kill(signal === 'SIGHUP' ? keeper : worker, signal);
    const t0 = performance.now();
    // A client of the sleeping pod that connects while no worker runs: one attempt, no retry. The
    // activator's listening socket is kept by the keeper; the connection waits in its backlog.
    const during = redis(p.asleep.ip, 'GET', 'k').then((v) => ({
      v,
      ms: Math.round(performance.now() - t0),
    }));
    const next = await within(10_000, 'a new worker', () => {
      const pid = workerPid();
      return pid !== worker ? Promise.resolve(pid) : Promise.reject(new Error('same worker'));
    });
    const nginx = await within(10_000, 'nginx answers', async () => {
      const res = await httpGetFrom(f.client, p.nginx.ip, 80);
      if (!res.body.includes(MARKERS.nginx)) throw new Error(`nginx said ${res.status}`);
      return res.status;
    });
    const awake = await within(10_000, 'awake redis answers', () => redis(p.awake.ip, 'GET', 'k'));
    const asleep = await within(10_000, 'sleeping redis wakes', () => redis(p.asleep.ip, 'GET', 'k'));
    const served = await during;
    const total = Math.round(performance.now() - t0);
    t.diagnostic(
      `${signal}: new worker ${next.value} after ${next.ms} ms; nginx ${nginx.ms} ms, awake redis ${awake.ms} ms, ` +
        `asleep redis ${asleep.ms} ms after that; all answered ${total} ms after the kill; ` +
        `the client that connected during the restart was answered ${served.ms} ms after the kill`,
    );
    assert.equal(served.v, 'asleep-value', 'a client that connected during the restart is served');
    assert.equal(awake.value, 'awake-value');
    assert.equal(asleep.value, 'asleep-value', 'the sleeping redis woke with its memory');
    assert.ok(total < 10_000, `all answered within 10 s (${total} ms)`);
    assert.equal(keeperPid(), keeper, 'the keeper is the same process: containerd never saw it go');
    // containerd saw no exit: the CRI still says RUNNING, a few seconds later too (a Wait that
    // failed would have turned into an exit by now).
    await new Promise((r) => setTimeout(r, 2000));
    for (const id of ids) {
      const s = await f.cri.containerStatus(id);
      assert.equal(s.state, ContainerState.CONTAINER_RUNNING, `${id} still RUNNING`);
    }
    assert.deepEqual(
      [ids[1]!, ids[2]!].map((id) => pidsInContainer(id).sort()),
      running,
      'the running apps are the same processes: nothing was restarted',
    );
    // The new worker drives the adopted containers: an exec into each running one.
    for (const id of [ids[1]!, ids[2]!]) {
      const r = await f.cri.execSync(id, ['sh', '-c', 'echo adopted']);
      assert.equal(Buffer.from(r.stdout).toString().trim(), 'adopted', `exec into ${id}`);
    }
    const st = await scaledStatus(ids[0]!);
    assert.equal(st?.freshStarts ?? 0, 0, 'no fresh start: memory kept');
    if (signal === 'SIGKILL')
      assert.equal(st?.lastWakeVia, 'prepared', 'the new worker prepared the restore again: no runc restore');
  });
}

test('pods stop and are removed normally after the restarts', async () => {
  const p = await threePods();
  for (const pod of [p.asleep, p.awake, p.nginx]) await f.remove(pod);
  pods = undefined;
});
