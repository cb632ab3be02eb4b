/**
 * The shim under disruption, runc vs zeropod (see shim-helpers.ts): containerd restarted while a
 * pod runs (the pod keeps running and stays managed: logs, exec, exits, stop), a container exiting
 * while containerd is down, and the shim process killed (containerd notices, and nothing is left).
 *
 * These restart containerd: anything else using it at the time sees it go away for a moment.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { Cri, readContainerLog, waitForLog, type RunningPod } from '../../harness/cri/index.ts';
import { IMAGES } from '../../harness/images/index.ts';
import { ContainerState, PodSandboxState } from '../../src/gen/k8s.io/cri-api/pkg/apis/runtime/v1/api_pb.js';
import {
  differential,
  eventually,
  leftovers,
  mountsMentioning,
  NOTHING_LEFT,
  PodTracker,
  podProcesses,
  loggingShimPid,
  shimPids,
} from './shim-helpers.ts';

const run = promisify(execFile);
const CONTAINERD_CTL = new URL('../../harness/env/containerd-ctl.sh', import.meta.url).pathname;
/** containerd's log inside the environment (with the shims' log lines). */
const CONTAINERD_LOG = '/var/log/zeropod/containerd.log';
/** Where the node-wide shim daemon logs (a per-pod shim logs through containerd instead). */
const SHIM_LOG = '/var/log/zeropod/shim-k8s.io.log';

function readFrom(file: string, offset: number): string {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - offset));
    readSync(fd, buf, 0, buf.length, offset);
    return buf.toString();
  } finally {
    closeSync(fd);
  }
}

let cri: Cri;
const pods = new PodTracker(() => cri);
before(async () => {
  cri = await Cri.connect();
});
after(async () => {
  await pods.removeAll();
  cri.close();
});

async function containerd(action: 'stop' | 'start' | 'restart'): Promise<void> {
  await run(CONTAINERD_CTL, [action]);
  if (action === 'stop') return;
  cri.close();
  cri = await Cri.connect({ waitMs: 30_000 });
}

const SLEEPER = 'sleep 100000';
const waitForFile = (f: string) => `while [ ! -e ${f} ]; do sleep 0.1; done`;
const stateName = (s: ContainerState) => ContainerState[s];

differential(
  'containerd restarted while the pod runs',
  async (handler) => {
    const pod = await pods.run(handler, 'restart', [
      {
        name: 'main',
        image: IMAGES.busybox,
        command: ['sh', '-c', `trap "echo got-term; exit 0" TERM; echo before; ${SLEEPER} & wait`],
      },
      {
        name: 'later',
        image: IMAGES.busybox,
        command: ['sh', '-c', `${waitForFile('/tmp/go')}; echo leaving; exit 6`],
      },
      { name: 'during', image: IMAGES.busybox, command: ['sh', '-c', SLEEPER] },
    ]);
    const main = pod.containers.get('main')!;
    try {
      await waitForLog(pod, 'main', (l) => l.some((x) => x.text === 'before'));
      const duringPid = (await eventually('the pid of "during"', async () => {
        const { info } = await cri.runtime.containerStatus({
          containerId: pod.containers.get('during')!,
          verbose: true,
        });
        return (JSON.parse(info['info'] ?? '{}') as { pid?: number }).pid;
      }))!;

      // Down: a container exits while nobody listens for the event.
      await containerd('stop');
      try {
        process.kill(duringPid, 'SIGKILL');
        await eventually('"during" gone', () => (podProcesses(pod).includes(duringPid) ? undefined : true));
      } finally {
        await containerd('start');
      }

      const logFrom = statSync(CONTAINERD_LOG).size;
      const shimLogFrom = existsSync(SHIM_LOG) ? statSync(SHIM_LOG).size : 0;
      const during = await cri.waitForExit(pod.containers.get('during')!);
      const afterRestart = await cri.containerStatus(main);
      const exec = await cri.execSync(main, ['sh', '-c', 'echo alive; echo after-restart > /proc/1/fd/1']);
      const log = await waitForLog(pod, 'main', (l) => l.some((x) => x.text === 'after-restart'));
      // An exit after the restart reaches the new containerd.
      await cri.execSync(pod.containers.get('later')!, ['touch', '/tmp/go']);
      const later = await cri.waitForExit(pod.containers.get('later')!);
      await cri.runtime.stopContainer({ containerId: main, timeout: 10n });
      const stopped = await cri.containerStatus(main);
      const { status: sandbox } = await cri.runtime.podSandboxStatus({ podSandboxId: pod.id });
      // Our shim's own log reaches the new containerd (its log FIFO was reopened): the kill it logged.
      const shim = loggingShimPid(pod);
      const shimLogsAfterRestart =
        handler === 'zeropod' && shim !== undefined
          ? await eventually('shim log lines after the restart', () =>
              (
                readFrom(CONTAINERD_LOG, logFrom) +
                (existsSync(SHIM_LOG) ? readFrom(SHIM_LOG, shimLogFrom) : '')
              ).includes(`"pid":${shim},"container":"${main}"`)
                ? true
                : undefined,
            ).catch(() => false)
          : undefined;
      return {
        shimLogsAfterRestart,
        during: { state: stateName(during.state), exitCode: during.exitCode },
        mainAfterRestart: stateName(afterRestart.state),
        exec,
        mainLog: log
          .map((l) => l.text)
          .concat(
            readContainerLog(pod, 'main')
              .slice(log.length)
              .map((l) => l.text),
          ),
        later: {
          state: stateName(later.state),
          exitCode: later.exitCode,
          log: readContainerLog(pod, 'later').map((l) => l.text),
        },
        stopped: { state: stateName(stopped.state), exitCode: stopped.exitCode, reason: stopped.reason },
        sandbox: sandbox ? PodSandboxState[sandbox.state] : undefined,
      };
    } finally {
      await pods.remove(pod);
    }
  },
  (o, handler) =>
    assert.deepEqual(o, {
      shimLogsAfterRestart: handler === 'zeropod' ? true : undefined,
      // containerd, loading shims, takes a task without processes for a leaked shim and deletes it;
      // the CRI then finds no task and records the unknown exit code (both runtimes, measured).
      during: { state: 'CONTAINER_EXITED', exitCode: 255 },
      mainAfterRestart: 'CONTAINER_RUNNING',
      exec: { exitCode: 0, stdout: 'alive\n', stderr: '' },
      mainLog: ['before', 'after-restart', 'got-term'],
      later: { state: 'CONTAINER_EXITED', exitCode: 6, log: ['leaving'] },
      stopped: { state: 'CONTAINER_EXITED', exitCode: 0, reason: 'Completed' },
      sandbox: 'SANDBOX_READY',
    }),
  { same: (o) => ({ ...o, shimLogsAfterRestart: undefined }) },
);

/**
 * Measured with containerd 2.1.9: when the shim dies, the CRI's exit monitors fail ("ttrpc: closed")
 * and report exit code 255 (unknown) for every task of the pod. containerd then runs `<shim> delete`
 * for each task that has its own shim connection. Its runc shim speaks task API v3, so a pod's
 * containers share the sandbox's connection and only the sandbox's bundle is cleaned: the
 * containers' processes, rootfs mounts and runc state stay behind, even after RemovePodSandbox.
 * Ours speaks v2 (one connection per task), so `delete` runs for every task, and it kills and
 * unmounts (the issue's "no orphan processes, mounts or fifos"): the leftovers are compared as
 * measured, not for equality.
 */
differential(
  'the shim killed with SIGKILL',
  async (handler, t) => {
    const pod = await pods.run(handler, 'shimkill', [
      { name: 'a', image: IMAGES.busybox, command: ['sh', '-c', SLEEPER] },
      { name: 'b', image: IMAGES.busybox, command: ['sh', '-c', `trap "" TERM; sleep 5000 & ${SLEEPER}`] },
    ]);
    const ids = [...pod.containers.values()];
    try {
      await eventually('all processes up', () => (podProcesses(pod).length >= 4 ? true : undefined)); // pause, a's sleep, b's sh and sleep
      const shims = shimPids(pod);
      for (const pid of shims) process.kill(pid, 'SIGKILL');
      const statuses = await Promise.all(ids.map((id) => cri.waitForExit(id)));
      const sandbox = await eventually('sandbox not ready', async () => {
        const { status } = await cri.runtime.podSandboxStatus({ podSandboxId: pod.id });
        return status?.state === PodSandboxState.SANDBOX_NOTREADY ? 'SANDBOX_NOTREADY' : undefined;
      });
      const execAfter = await cri.execSync(ids[0]!, ['true']).then(
        () => 'accepted',
        () => 'rejected',
      );
      // Whatever is going to be cleaned up is cleaned up by now (bounded wait, not an assertion).
      await eventually(
        'container processes gone',
        () => (podProcesses(pod).length === 0 ? true : undefined),
        5000,
      ).catch(() => undefined);
      const processesAfterExit = podProcesses(pod).length;
      const removal = await pods.remove(pod, 1).then(
        () => 'removed',
        (err: unknown) => `failed: ${(err as Error).message}`,
      );
      const afterRemove = leftovers(pod, ids);
      t.diagnostic(
        `${handler}: ${processesAfterExit} container processes after the exits; after removal: ${JSON.stringify(afterRemove)}`,
      );
      return {
        shims: shims.length,
        statuses: statuses.map((s) => ({
          state: stateName(s.state),
          exitCode: s.exitCode,
          reason: s.reason,
        })),
        sandbox,
        execAfter,
        processesAfterExit,
        removal,
        afterRemove,
      };
    } finally {
      if (pods.pods.has(pod)) await pods.remove(pod, 1).catch(() => undefined);
      await reapLeftovers(pod, ids);
    }
  },
  (o, handler) => {
    assert.equal(o.shims, 1, 'one shim serves the pod');
    assert.deepEqual(o.statuses, [
      { state: 'CONTAINER_EXITED', exitCode: 255, reason: 'Error' },
      { state: 'CONTAINER_EXITED', exitCode: 255, reason: 'Error' },
    ]);
    assert.equal(o.sandbox, 'SANDBOX_NOTREADY');
    assert.equal(o.execAfter, 'rejected');
    assert.equal(o.removal, 'removed');
    if (handler === 'zeropod') {
      assert.equal(o.processesAfterExit, 0, 'delete killed what the dead shim left running');
      assert.deepEqual(o.afterRemove, NOTHING_LEFT);
    }
  },
  {
    same: ({ shims, statuses, sandbox, execAfter, removal }) => ({
      shims,
      statuses,
      sandbox,
      execAfter,
      removal,
    }),
  },
);

/** What containerd's runc shim leaves after its death: cleaned by hand so later runs start clean. */
async function reapLeftovers(pod: RunningPod, ids: string[]): Promise<void> {
  for (const id of ids) {
    await run('runc', ['--root', '/run/containerd/runc/k8s.io', 'delete', '--force', id]).catch(
      () => undefined,
    );
    const rootfs = `/run/containerd/io.containerd.runtime.v2.task/k8s.io/${id}/rootfs`;
    if (mountsMentioning([rootfs]).length > 0) await run('umount', ['-l', rootfs]).catch(() => undefined);
  }
  for (const pid of podProcesses(pod)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}
