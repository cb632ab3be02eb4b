/**
 * The restart soak (docs/restart-safety.md): one redis on the `zeropod` handler goes to sleep and is
 * woken `cycles` times, each wake one INCR of a counter; every `restartEvery` cycles, while it
 * sleeps, the shim's worker is restarted (SIGKILL of the worker and SIGHUP of the keeper in turn).
 * Every INCR must answer the cycle's number, and the inventory (inventory.ts) taken at the start
 * and at the end, both while the redis sleeps, must be the same. Runs inside the node environment.
 */
import { Cri, type RunningPod } from '../cri/index.ts';
import { readdirSync } from 'node:fs';
import { IMAGES } from '../images/index.ts';
import { createClientHost, pidsInContainer, redisCommand, scaledStatus } from '../net/index.ts';
import { dialInNetns } from '../../src/netns/index.ts';
import {
  formatInventory,
  processNames,
  readPid,
  SHIM_MARKER,
  takeInventory,
  type Inventory,
} from './inventory.ts';
import type { SoakOptions } from './options.ts';

/**
 * The shortest useful scale-down duration: the shim samples a container's traffic every quarter
 * of it but never more often than every 250 ms (src/shim/scale/idle.ts), and idleness needs two
 * samples with the same count, so anything shorter sleeps no sooner.
 */
export const SOAK_SCALEDOWN = '250ms';

export interface SoakResult {
  cycles: number;
  counter: number;
  restarts: { signal: 'SIGKILL' | 'SIGHUP'; afterCycle: number; readyMs: number }[];
  start: Inventory;
  end: Inventory;
  /**
   * The last worker's fds after its first full cycle and at the end: the same process, so a leak per
   * cycle shows here (workers started differently hold different fds: the first one was spawned by
   * containerd's `start`, the next ones by the keeper).
   */
  worker: { pid: number; fdsAfterFirstCycle: number; fdsAtEnd: number; cycles: number };
  /** Names of processes present at the end and not at the start, and the reverse. */
  processDiff: { added: string[]; gone: string[] };
  durationMs: number;
  wakeMs: { median: number; max: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(ms: number, what: string, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + ms;
  let last: unknown;
  while (performance.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(50);
  }
  throw new Error(`${what}: not within ${ms} ms${last ? ` (${String(last)})` : ''}`);
}

/** Waits until the current worker reports the container asleep. */
function asleep(id: string, ms = 60_000) {
  return until(ms, `container ${id.slice(0, 12)} asleep`, async () => {
    const s = await scaledStatus(id);
    return s?.phase === 'scaled-down' ? s : undefined;
  });
}

function diff(a: string[], b: string[]): string[] {
  const rest = [...b];
  const out: string[] = [];
  for (const x of a) {
    const i = rest.indexOf(x);
    if (i >= 0) rest.splice(i, 1);
    else out.push(x);
  }
  return out;
}

export async function runSoak(o: SoakOptions, log: (line: string) => void): Promise<SoakResult> {
  const t0 = performance.now();
  const cri = await Cri.connect();
  const client = createClientHost();
  let pod: RunningPod | undefined;
  const exclude = new Set([process.pid]);
  try {
    pod = await cri.runPod({
      name: `soak-redis-${process.pid}`,
      handler: 'zeropod',
      annotations: { 'zeropod.ctrox.dev/scaledown-duration': SOAK_SCALEDOWN },
      containers: [{ name: 'redis', image: IMAGES.redis }],
    });
    const p = pod;
    const id = [...p.containers.values()][0]!;
    // The pause process holds the pod's network namespace whether the redis sleeps or not.
    const pause = pidsInContainer(p.id)[0];
    if (pause === undefined) throw new Error(`no process of the pod sandbox ${p.id.slice(0, 12)}`);
    const netns = `/proc/${pause}/ns/net`;
    const redis = async (...args: string[]) => {
      const s = await dialInNetns(client.netnsPath, { host: p.ip, port: 6379 }, AbortSignal.timeout(30_000));
      try {
        return await redisCommand(s, args, 30_000);
      } finally {
        s.destroy();
      }
    };
    await until(60_000, 'redis answers', async () =>
      (await redis('SET', 'soak', '0')) === '+OK' ? true : undefined,
    );
    await asleep(id);
    await sleep(500); // the prepared restore's set-up and the record write settle
    const start = takeInventory(netns, exclude);
    const startNames = processNames(exclude);
    log(`soak: start: ${formatInventory(start)}`);

    const restarts: SoakResult['restarts'] = [];
    const wakes: number[] = [];
    const fdsOf = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
    let worker = { pid: readPid(`${SHIM_MARKER}.worker.pid`), fds: start.workerFds, fromCycle: 0 };
    let rebase = false;
    for (let cycle = 1; cycle <= o.cycles; cycle++) {
      const w0 = performance.now();
      const got = await redis('INCR', 'soak');
      wakes.push(performance.now() - w0);
      if (got !== `:${cycle}`) throw new Error(`cycle ${cycle}: INCR answered ${got}, expected :${cycle}`);
      await asleep(id);
      if (rebase) {
        // The new worker's first full cycle: it holds what it holds for a sleeping redis now.
        await sleep(500);
        const pid = readPid(`${SHIM_MARKER}.worker.pid`);
        worker = { pid, fds: fdsOf(pid), fromCycle: cycle };
        rebase = false;
      }
      if (cycle % 100 === 0 || cycle === o.cycles)
        log(`soak: ${cycle}/${o.cycles} cycles, ${Math.round((performance.now() - t0) / 1000)} s`);
      if (o.restartEvery > 0 && cycle % o.restartEvery === 0 && cycle < o.cycles) {
        const signal = restarts.length % 2 === 0 ? 'SIGKILL' : 'SIGHUP';
        const worker = readPid(`${SHIM_MARKER}.worker.pid`);
        const r0 = performance.now();
        process.kill(signal === 'SIGKILL' ? worker : readPid(`${SHIM_MARKER}.pid`), signal);
        await until(30_000, 'a new worker', async () =>
          readPid(`${SHIM_MARKER}.worker.pid`) !== worker ? true : undefined,
        );
        await asleep(id, 30_000); // re-adopted asleep by the new worker
        const readyMs = Math.round(performance.now() - r0);
        restarts.push({ signal, afterCycle: cycle, readyMs });
        rebase = true;
        log(`soak: ${signal} after cycle ${cycle}: the new worker had it asleep after ${readyMs} ms`);
      }
    }
    const counter = Number((await redis('GET', 'soak')).replace(/^:/, ''));
    await asleep(id);
    await sleep(500);
    const end = takeInventory(netns, exclude);
    const endNames = processNames(exclude);
    log(`soak: end:   ${formatInventory(end)}`);
    const sorted = [...wakes].sort((a, b) => a - b);
    return {
      cycles: o.cycles,
      counter,
      restarts,
      start,
      end,
      worker: {
        pid: worker.pid,
        fdsAfterFirstCycle: worker.fds,
        fdsAtEnd: readPid(`${SHIM_MARKER}.worker.pid`) === worker.pid ? end.workerFds : NaN,
        cycles: o.cycles - worker.fromCycle,
      },
      processDiff: { added: diff(endNames, startNames), gone: diff(startNames, endNames) },
      durationMs: Math.round(performance.now() - t0),
      wakeMs: {
        median: Math.round(sorted[Math.floor(sorted.length / 2)] ?? NaN),
        max: Math.round(sorted[sorted.length - 1] ?? NaN),
      },
    };
  } finally {
    if (pod)
      await cri.removePod(pod, 2).catch((err: unknown) => log(`removing the soak pod: ${String(err)}`));
    client.remove();
    cri.close();
  }
}
