/**
 * CRI CheckpointContainer (Kubernetes' forensic checkpointing) on runc vs zeropod (see
 * shim-helpers.ts): the archive holds the same entries, and what becomes of the container is the
 * same. Measured here (containerd 2.1.9, runc 1.3.6, CRIU 4.2.1), on both runtimes: the container
 * is dumped with --leave-running while containerd holds it paused, and a moment later its init exits
 * with status 0 (a `sleep` in busybox sh), so the CRI reports it EXITED/Completed.
 *
 * One difference is containerd's, not the shim's: the CRI hands CRIU's work directory to the shim
 * only for runtime type io.containerd.runc.v2, so with any other runtime name the archive lacks
 * CRIU's dump.log and stats-dump (measured with containerd 2.1.9).
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { Cri } from '../../harness/cri/index.ts';
import { IMAGES } from '../../harness/images/index.ts';
import { ContainerState } from '../../src/gen/k8s.io/cri-api/pkg/apis/runtime/v1/api_pb.js';
import { differential, PodTracker } from './shim-helpers.ts';

const run = promisify(execFile);

let cri: Cri;
const pods = new PodTracker(() => cri);
before(async () => {
  cri = await Cri.connect();
});
after(async () => {
  await pods.removeAll();
  cri.close();
});

/** Written by CRIU into the work directory the CRI gives runc's runtime type only. */
const RUNC_TYPE_ONLY = new Set(['dump.log', 'stats-dump']);

differential(
  'CheckpointContainer: an archive of the running container',
  async (handler) => {
    const pod = await pods.run(handler, 'ckpt', [
      { name: 'box', image: IMAGES.busybox, command: ['sh', '-c', 'echo state > /tmp/state; sleep 100000'] },
    ]);
    const id = pod.containers.get('box')!;
    const archive = `/tmp/diff-ckpt-${handler}-${process.pid}.tar`;
    try {
      await cri.execSync(id, ['cat', '/tmp/state']);
      await cri.runtime.checkpointContainer({ containerId: id, location: archive, timeout: 60n });
      const { stdout } = await run('tar', ['tf', archive]);
      const entries = stdout
        .split('\n')
        .filter((e) => e !== '')
        .map((e) => e.replace(/-\d+(\.tar\.gz\.img)$/, '-N$1')) // CRIU names tmpfs images by mount id
        .sort();
      const status = await cri.waitForExit(id, 10_000).catch(() => cri.containerStatus(id));
      return {
        entries: entries.filter((e) => !RUNC_TYPE_ONLY.has(e)),
        criuWorkFiles: entries.filter((e) => RUNC_TYPE_ONLY.has(e)),
        after: { state: ContainerState[status.state], exitCode: status.exitCode, reason: status.reason },
      };
    } finally {
      rmSync(archive, { force: true });
      await pods.remove(pod);
    }
  },
  (o, handler) => {
    for (const e of [
      'checkpoint/inventory.img',
      'checkpoint/pstree.img',
      'config.dump',
      'spec.dump',
      'rootfs-diff.tar',
      'status',
    ]) {
      assert.ok(o.entries.includes(e), `${e} in ${o.entries.join(' ')}`);
    }
    assert.deepEqual(o.criuWorkFiles, handler === 'runc' ? ['dump.log', 'stats-dump'] : []);
  },
  { same: ({ entries, after }) => ({ entries, after }) },
);
