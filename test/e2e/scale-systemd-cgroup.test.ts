/**
 * A node whose cgroups systemd manages (containerd's `SystemdCgroup = true`, kubelet's systemd
 * driver): the shim reads the option from the runtime options, runs runc with --systemd-cgroup, and
 * finds the container in its unit's cgroup (`<slice>:cri-containerd:<id>` becomes
 * `.../<slice>/cri-containerd-<id>.scope`) for stats, freezing and the prepared restore. Runs where
 * systemd is init: the VM booted with `harness/vm/cli.ts up --systemd` (harness/vm/guest/node.sh
 * then sets the option); skipped elsewhere, saying so.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { IMAGES } from '../../harness/images/index.ts';
import { appPidsInContainer, redisCommand, waitForPhase } from '../../harness/net/index.ts';
import { dialInNetns } from '../../src/netns/index.ts';
import { ScaleFixture, scaleAnnotations } from '../support/scale-pod.ts';

const systemd = existsSync('/run/systemd/system');
const skip = systemd ? false : 'systemd is not init here: run it in the VM booted with `up --systemd`';
const f = new ScaleFixture();
before(async () => {
  if (systemd) await f.setUp();
});
after(() => (systemd ? f.tearDown() : undefined));

async function redis(ip: string, ...args: string[]): Promise<string> {
  const sock = await dialInNetns(f.client.netnsPath, { host: ip, port: 6379 }, AbortSignal.timeout(30_000));
  try {
    return await redisCommand(sock, args, 120_000);
  } finally {
    sock.destroy();
  }
}

const memoryOf = async (id: string) => {
  const { stats } = await f.cri.runtime.containerStats({ containerId: id });
  return Number(stats?.memory?.workingSetBytes?.value ?? 0n);
};

test(
  'SystemdCgroup: a container in its systemd scope runs, reports stats, sleeps and wakes with its data',
  { skip },
  async () => {
    const pod = await f.runPod({
      name: 'scale-systemd',
      handler: 'zeropod',
      annotations: scaleAnnotations('3s'),
      containers: [{ name: 'redis', image: IMAGES.redis }],
    });
    const id = pod.containers.get('redis')!;
    await waitForPhase(id, 'running', 120_000);
    assert.equal(await redis(pod.ip, 'SET', 'greeting', 'kept across the sleep'), '+OK');
    const [pid] = appPidsInContainer(id);
    assert.ok(pid !== undefined, 'redis runs');
    // runc asked systemd for a scope: the path a cgroupfs driver would make has no .scope in it.
    const cgroup = /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1] ?? '';
    assert.match(cgroup, new RegExp(`\\.slice/cri-containerd-${id}\\.scope$`), `redis's cgroup: ${cgroup}`);
    const awake = await memoryOf(id);
    assert.ok(awake > 1024 * 1024, `stats come from the scope: working set ${awake} B`);

    for (let cycle = 1; cycle <= 2; cycle++) {
      const down = await waitForPhase(id, 'scaled-down', 300_000);
      assert.equal(down.failedCheckpoints, 0, down.lastError);
      assert.deepEqual(appPidsInContainer(id), [], `cycle ${cycle}: redis is gone`);
      assert.equal(
        await redis(pod.ip, 'GET', 'greeting'),
        'kept across the sleep',
        `cycle ${cycle}: woke with its data`,
      );
      const up = await waitForPhase(id, 'running', 120_000);
      assert.equal(up.freshStarts ?? 0, 0, 'restored, not started afresh');
      assert.equal(up.restores, cycle);
      const [again] = appPidsInContainer(id);
      assert.ok(again !== undefined, 'redis runs again');
      const after = /^0::(.*)$/m.exec(readFileSync(`/proc/${again}/cgroup`, 'utf8'))?.[1];
      assert.equal(after, cgroup, `cycle ${cycle}: restored into the same scope`);
      assert.ok((await memoryOf(id)) > 1024 * 1024, `cycle ${cycle}: stats after the wake`);
    }
  },
);
