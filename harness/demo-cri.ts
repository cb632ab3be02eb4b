/**
 * The CRI demo (`npm run demo:cri`): builds and starts the node environment (cached), then, through the CRI as kubelet would:
 *   1. an nginx pod on containerd's own runc shim serves its page (the baseline);
 *   2. the same pod on our `zeropod` handler with `scaledown-duration: 1s` scales to zero and wakes
 *      on the next request, three times, with the timings;
 *   3. redis keeps its keys across sleep and wake.
 * Runs inside the environment (re-executes itself there when started on the host).
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cri, httpGetEventually } from './cri/index.ts';
import { IMAGES, MARKERS, PAUSE_IMAGE } from './images/index.ts';
import {
  appPidsInContainer,
  createClientHost,
  httpGetFrom,
  pidsInContainer,
  redisCommand,
  waitForPhase,
} from './net/index.ts';
import { dialInNetns } from '../src/netns/index.ts';

const INSIDE = process.env['ZEROPOD_DEMO_INSIDE'] === '1';
const ms = (n: number) => `${Math.round(n)} ms`;

async function onHost(): Promise<number> {
  const { up, criuCheck, ensureRootfs, execVisible } = await import('./env/index.ts');
  const { ensureImages, importImages } = await import('./env/images.ts');
  const log = (l: string) => console.log(l);
  execFileSync('node', ['scripts/build.mjs'], { stdio: 'inherit' });
  await up({
    pauseImage: PAUSE_IMAGE,
    log,
    afterStart: async () => importImages(await ensureImages(await ensureRootfs(log), log), log),
  });
  console.log(`[env] criu check: ${await criuCheck()}`);
  return execVisible('env', ['ZEROPOD_DEMO_INSIDE=1', 'node', '--import', 'tsx', 'harness/demo-cri.ts']);
}

async function inside(): Promise<void> {
  const cri = await Cri.connect();
  const client = createClientHost();
  try {
    console.log("\n== 1. nginx on the runc handler (containerd's own shim)");
    let t = performance.now();
    const base = await cri.runPod({
      name: 'demo-runc',
      handler: 'runc',
      containers: [{ name: 'nginx', image: IMAGES.nginx }],
    });
    const page = await httpGetEventually(base.ip, 80);
    console.log(
      `   pod ${base.ip} answered ${page.status} ${page.body.includes(MARKERS.nginx) ? '(our nginx page)' : ''} ${ms(performance.now() - t)} after RunPodSandbox`,
    );
    await cri.removePod(base, 2);

    console.log('\n== 2. the same pod on zeropod, scaledown-duration 1s');
    t = performance.now();
    const pod = await cri.runPod({
      name: 'demo-zeropod',
      handler: 'zeropod',
      annotations: { 'zeropod.ctrox.dev/scaledown-duration': '1s' },
      containers: [{ name: 'nginx', image: IMAGES.nginx }],
    });
    const id = pod.containers.get('nginx')!;
    const first = await httpGetEventually(pod.ip, 80);
    console.log(`   pod ${pod.ip} answered ${first.status} ${ms(performance.now() - t)} after RunPodSandbox`);
    for (let i = 1; i <= 3; i++) {
      const down = await waitForPhase(id, 'scaled-down');
      const state = (await cri.containerStatus(id)).state === 1 ? 'RUNNING' : 'not running';
      const app = appPidsInContainer(id).length;
      const waiter = pidsInContainer(id).length - app;
      console.log(
        `   idle 1s -> checkpointed in ${ms(down.lastCheckpointMs ?? 0)}; app processes: ${app}${waiter ? ' (the restore waiter is ready)' : ''}; CRI says ${state}`,
      );
      const res = await httpGetFrom(client, pod.ip, 80);
      const now = await waitForPhase(id, 'running');
      console.log(
        `   request from ${client.address}: ${res.status} in ${ms(res.ms)} (restore ${ms(now.lastRestoreMs ?? 0)}, ${now.lastWakeVia ?? '?'}) -> awake`,
      );
    }
    await cri.removePod(pod, 2);

    console.log('\n== 3. redis keeps its memory across sleep and wake');
    const rpod = await cri.runPod({
      name: 'demo-redis',
      handler: 'zeropod',
      annotations: { 'zeropod.ctrox.dev/scaledown-duration': '1s' },
      containers: [{ name: 'redis', image: IMAGES.redis }],
    });
    const rid = rpod.containers.get('redis')!;
    await waitForPhase(rid, 'running');
    const redis = async (...args: string[]) => {
      const s = await dialInNetns(
        client.netnsPath,
        { host: rpod.ip, port: 6379 },
        AbortSignal.timeout(10_000),
      );
      try {
        return await redisCommand(s, args);
      } finally {
        s.destroy();
      }
    };
    await redis('SET', 'demo', `written at ${new Date().toISOString()}`);
    const rdown = await waitForPhase(rid, 'scaled-down');
    console.log(`   SET demo; idle -> checkpointed in ${ms(rdown.lastCheckpointMs ?? 0)}`);
    t = performance.now();
    const v = await redis('GET', 'demo');
    console.log(`   GET demo after the wake (${ms(performance.now() - t)}): "${v}"`);
    await cri.removePod(rpod, 2);
    await sleep(10);
    console.log('\ndone: every pod removed.');
  } finally {
    client.remove();
    cri.close();
  }
}

(INSIDE ? inside().then(() => 0) : onHost()).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
