/**
 * The prepared restore (src/shim/scale/prepared-restore.ts): wakes run CRIU directly, then runc must
 * know the restored process as if it had restored it itself, and the app's stdio must reach the CRI
 * log. While it sleeps, the container's cgroups hold the waiter only.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { IMAGES, MARKERS } from '../../harness/images/index.ts';
import { waitForLog } from '../../harness/cri/index.ts';
import {
  httpGetFrom,
  isRestoreWaiter,
  redisCommand,
  mountsMentioning,
  pidsInContainer,
  scaledStatus,
  waitForPhase,
} from '../../harness/net/index.ts';
import { ScaleFixture, scaleAnnotations } from '../support/scale-pod.ts';
import { dialInNetns } from '../../src/netns/index.ts';

const f = new ScaleFixture();
before(() => f.setUp());
after(() => f.tearDown());

const RUNC_ROOT = '/run/containerd/runc/k8s.io';

function runcState(id: string): { status: string; pid: number } {
  return JSON.parse(execFileSync('runc', ['--root', RUNC_ROOT, 'state', id], { encoding: 'utf8' })) as {
    status: string;
    pid: number;
  };
}

test('wakes run the prepared restore; runc then drives the restored container (exec, state, stop)', async () => {
  const pod = await f.runPod({
    name: 'scale-prepared',
    handler: 'zeropod',
    annotations: scaleAnnotations('1s'),
    containers: [{ name: 'nginx', image: IMAGES.nginx }],
  });
  const id = pod.containers.get('nginx')!;
  for (let cycle = 1; cycle <= 3; cycle++) {
    await waitForPhase(id, 'scaled-down');
    // While it sleeps, the container's cgroups hold one process: the waiter that becomes CRIU.
    const asleep = pidsInContainer(id);
    assert.equal(
      asleep.length,
      1,
      `cycle ${cycle}: only the restore waiter is left, got ${asleep.join(' ')}`,
    );
    assert.ok(isRestoreWaiter(asleep[0]!), `cycle ${cycle}: and it is the waiter`);
    assert.equal(runcState(id).status, 'stopped', 'runc keeps its record of the sleeping container');
    const res = await httpGetFrom(f.client, pod.ip, 80);
    assert.equal(res.status, 200);
    assert.ok(res.body.includes(MARKERS.nginx));
    const s = await scaledStatus(id);
    assert.equal(s?.lastWakeVia, 'prepared', `cycle ${cycle}: woken through the prepared restore`);
    assert.equal(s?.failedRestores, 0);
    const state = runcState(id);
    assert.equal(state.status, 'running', 'runc sees the restored container running');
    assert.ok(
      pidsInContainer(id).includes(state.pid),
      "runc's pid is the restored init, in the container's cgroups",
    );
    assert.ok(!pidsInContainer(id).some(isRestoreWaiter), 'the waiter became CRIU and is gone');
    assert.equal(readFileSync(`/proc/${state.pid}/comm`, 'utf8').trim(), 'nginx');
    // Exec goes through runc exec, which joins the restored process's namespaces from state.json.
    const exec = await f.cri.runtime.execSync({
      containerId: id,
      cmd: ['sh', '-c', 'cat /proc/1/comm; echo "after-wake-$0" > /proc/1/fd/1', `${cycle}`],
      timeout: 10n,
    });
    assert.equal(exec.exitCode, 0, Buffer.from(exec.stderr).toString());
    assert.equal(
      Buffer.from(exec.stdout).toString().trim(),
      'nginx',
      'exec sees the restored nginx as pid 1',
    );
    // What the restored init writes reaches containerd's log: its stdout is our new pipe.
    await waitForLog(pod, 'nginx', (lines) => lines.some((l) => l.text === `after-wake-${cycle}`));
  }
  await f.remove(pod);
  assert.deepEqual(mountsMentioning(id), [], 'no mount is left (the rootfs and the prepared criu root)');
});

test('a prepared restore that cannot run (its waiter died) falls back to runc restore, memory kept', async () => {
  const pod = await f.runPod({
    name: 'scale-prepared-fallback',
    handler: 'zeropod',
    annotations: scaleAnnotations('1s'),
    containers: [{ name: 'redis', image: IMAGES.redis }],
  });
  const id = pod.containers.get('redis')!;
  await waitForPhase(id, 'running');
  assert.equal(await redis(pod.ip, 'SET', 'kept', 'across-the-fallback'), '+OK');
  const down = await waitForPhase(id, 'scaled-down');
  const waiter = pidsInContainer(id).find(isRestoreWaiter);
  assert.ok(waiter !== undefined, 'the restore waiter sits in the container while it sleeps');
  process.kill(waiter, 'SIGKILL');
  assert.equal(await redis(pod.ip, 'GET', 'kept'), 'across-the-fallback', 'the key is back');
  const s = await scaledStatus(id);
  assert.equal(s?.lastWakeVia, 'runc restore', 'woken by runc restore');
  assert.equal(s?.failedRestores, down.failedRestores + 1, 'the prepared attempt counts as failed');
  assert.equal(s?.freshStarts, 0, 'no fresh start: the memory is kept');
  assert.match(s?.lastError ?? '', /criu restore|EPIPE|waiter/i, 'with the reason');
});

async function redis(host: string, ...args: string[]): Promise<string> {
  const s = await dialInNetns(f.client.netnsPath, { host, port: 6379 }, AbortSignal.timeout(10_000));
  try {
    return await redisCommand(s, args);
  } finally {
    s.destroy();
  }
}
