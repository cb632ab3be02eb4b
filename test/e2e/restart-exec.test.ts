/**
 * An exec session across a worker's death (docs/restart-safety.md): `kubectl exec`, or a probe run
 * by ExecSync, whose worker dies while the command runs. The keeper keeps the exec's pipes, the next
 * worker takes the exec over from the container's record, and containerd's replayed `Wait` gets the
 * command's real exit code; the output from before and after the death both arrive.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { IMAGES } from '../../harness/images/index.ts';
import { waitForLog } from '../../harness/cri/index.ts';
import { ContainerState } from '../../src/gen/k8s.io/cri-api/pkg/apis/runtime/v1/api_pb.js';
import { pidsInContainer } from '../../harness/net/index.ts';
import { ScaleFixture, scaleAnnotations } from '../support/scale-pod.ts';
import { keeperPid, workerPid } from '../support/restart.ts';

const f = new ScaleFixture();
before(() => f.setUp());
after(() => f.tearDown());

const RECORDS = '/run/zeropod/records/k8s.io';

/** Waits (bounded) until the container's record lists a running exec: the worker may die now. */
async function untilExecRecorded(containerId: string): Promise<void> {
  const file = `${RECORDS}/${containerId}.json`;
  for (let i = 0; i < 200; i++) {
    if (existsSync(file)) {
      const r = JSON.parse(readFileSync(file, 'utf8')) as { execs?: { phase?: string }[] };
      if (r.execs?.some((e) => e.phase === 'running')) return;
    }
    await sleep(50);
  }
  throw new Error(`no running exec in ${file} within 10 s`);
}

/** Waits (bounded) for a worker other than `old` to have written its pid file. */
async function untilNewWorker(old: number): Promise<number> {
  for (let i = 0; i < 300; i++) {
    const pid = workerPid();
    if (pid !== old && pid > 0) return pid;
    await sleep(50);
  }
  throw new Error('no new worker within 15 s');
}

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  void test(`an ExecSync running while the worker gets ${signal} ends with its own output and exit code`, async (t) => {
    const pod = await f.runPod({
      name: `rx-${signal.toLowerCase()}`,
      handler: 'zeropod',
      annotations: scaleAnnotations('0'),
      containers: [{ name: 'nginx', image: IMAGES.nginx }],
    });
    const id = pod.containers.get('nginx')!;
    // nginx's master and its worker, once both run (the worker is forked after the start).
    let appPids = pidsInContainer(id).sort();
    for (let i = 0; i < 100 && appPids.length < 2; i++) {
      await sleep(50);
      appPids = pidsInContainer(id).sort();
    }
    const keeper = keeperPid();
    const worker = workerPid();

    // The command outlives the worker: output before, a pause across the death, output after.
    const exec = f.cri.execSync(id, ['sh', '-c', 'echo before; sleep 4; echo after; exit 7'], 60);
    await untilExecRecorded(id);
    process.kill(worker, signal);
    const next = await untilNewWorker(worker);
    const r = await exec;

    assert.equal(r.exitCode, 7, "the exec's own exit code, not a lost one (255) or an error");
    assert.equal(r.stdout, 'before\nafter\n', 'output from both sides of the death');
    assert.notEqual(next, worker);
    assert.equal(keeperPid(), keeper, 'the same keeper');
    const s = await f.cri.containerStatus(id);
    assert.equal(s.state, ContainerState.CONTAINER_RUNNING);
    assert.deepEqual(pidsInContainer(id).sort(), appPids, 'the app was not restarted');
    // And the next worker runs new execs as before; what the app writes still reaches its log
    // (containerd's reader of the stdout FIFO never saw it close).
    const again = await f.cri.execSync(id, [
      'sh',
      '-c',
      'echo again; echo "app-after-$0" > /proc/1/fd/1',
      signal,
    ]);
    assert.equal(again.stdout, 'again\n');
    await waitForLog(pod, 'nginx', (lines) => lines.some((l) => l.text === `app-after-${signal}`));
    t.diagnostic(`worker ${worker} -> ${next}: the exec ended with ${r.exitCode}`);
    await f.remove(pod);
  });
}
