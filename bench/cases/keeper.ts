/**
 * What the keeper costs (docs/restart-safety.md): the same measurements with the shim's keeper (the
 * default: a keeper process owns containerd's connections and the apps' fds, the daemon runs as its
 * worker) and without it (ZEROPOD_SHIM_KEEPER=0 in containerd's environment: the daemon serves alone,
 * as before the keeper existed), in one run. containerd passes its environment to the shim's
 * `start`, which starts the daemon; so for each mode, with no task left on the node, the daemon is
 * ended and containerd restarted (harness/env/containerd-ctl.sh) with or without the variable. The
 * default (with the keeper) is restored at the end.
 *
 * Per mode: the wake case's cycles (wake.ts `ours`) for each workload, in up to four rounds that
 * alternate the modes, then (last round) 10 nginx pods running (scaledown 1h) and the summed PSS of
 * every process of the shim binary (keeper + worker, or the daemon alone), ten samples.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { RunningPod } from '../../harness/cri/index.ts';
import type { Ctx } from '../lib/context.ts';
import { request } from '../lib/client.ts';
import { SCALEDOWN } from '../lib/pods.ts';
import { memoryOf, samples, shimProcesses, shimsPssMiB } from '../lib/proc.ts';
import { containerSpec, WORKLOADS } from '../lib/workloads.ts';
import { ours } from './wake.ts';
import { SHIMS } from './memory.ts';

const CONTAINERD_CTL = new URL('../../harness/env/containerd-ctl.sh', import.meta.url).pathname;
const MARKER = '/run/zeropod/s/node-k8s.io';
const MEMORY_PODS = 10;

type Mode = 'keeper' | 'alone';
const BASELINE = 'no keeper (ZEROPOD_SHIM_KEEPER=0)';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readPid(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/**
 * Ends the node-wide daemon, which by design stays for the next pod (src/shim/serve.ts), once no
 * task is left: SIGINT to a keeper ends it and its worker; SIGTERM to a daemon running alone.
 */
async function endShim(): Promise<void> {
  const tasks = spawnSync('ctr', ['-n', 'k8s.io', 'tasks', 'ls', '-q'], { encoding: 'utf8' });
  if (tasks.status !== 0) throw new Error(`ctr tasks ls failed: ${tasks.stderr}`);
  const left = tasks.stdout.split('\n').filter(Boolean);
  if (left.length > 0)
    throw new Error(
      `the keeper case needs a node without tasks; ${left.length} left (${left[0]?.slice(0, 12)}...)`,
    );
  const keeper = readPid(`${MARKER}.pid`);
  const worker = readPid(`${MARKER}.worker.pid`);
  const running = shimProcesses(SHIMS.zeropod);
  if (keeper !== undefined && worker !== undefined && running.includes(keeper) && running.includes(worker))
    process.kill(keeper, 'SIGINT');
  else for (const pid of running) process.kill(pid, 'SIGTERM');
  const deadline = performance.now() + 30_000;
  while (shimProcesses(SHIMS.zeropod).length > 0) {
    if (performance.now() > deadline)
      throw new Error(`the zeropod shim did not end (pids ${shimProcesses(SHIMS.zeropod).join(', ')})`);
    await sleep(100);
  }
}

/** containerd restarted with (keeper) or without (alone) the keeper for the next shim it starts. */
async function useMode(ctx: Ctx, mode: Mode): Promise<void> {
  await endShim();
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (mode === 'alone') env['ZEROPOD_SHIM_KEEPER'] = '0';
  else delete env['ZEROPOD_SHIM_KEEPER'];
  const r = spawnSync('bash', [CONTAINERD_CTL, 'restart'], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`containerd restart failed: ${r.stderr}`);
  await ctx.pods.reconnect();
}

/** The shim's processes by role once a pod runs: a keeper and its worker, or the daemon alone. */
function roles(mode: Mode): Record<string, number | undefined> {
  return mode === 'keeper'
    ? { keeper: readPid(`${MARKER}.pid`), worker: readPid(`${MARKER}.worker.pid`) }
    : { daemon: shimProcesses(SHIMS.zeropod)[0] };
}

async function memory(ctx: Ctx, mode: Mode): Promise<{ pss: number[]; parts: Record<string, number> }> {
  const w = WORKLOADS['nginx']!;
  const running: RunningPod[] = [];
  try {
    for (let i = 0; i < MEMORY_PODS; i++) {
      running.push(
        await ctx.pods.run({
          name: `bench-keeper-${mode}-${i}`,
          handler: 'zeropod',
          annotations: { [SCALEDOWN]: '1h' },
          containers: [containerSpec(w)],
        }),
      );
    }
    for (const pod of running) {
      await request(
        { netnsPath: ctx.client.path, host: pod.ip, port: w.port, protocol: w.protocol },
        { retryUntilMs: performance.now() + 10_000, retryEveryMs: 20 },
      );
    }
    await sleep(3000);
    const pss = await samples(() => shimsPssMiB(SHIMS.zeropod), 10, 300);
    const parts: Record<string, number> = {};
    for (const [role, pid] of Object.entries(roles(mode))) {
      const m = pid === undefined ? undefined : memoryOf(pid);
      if (m) parts[role] = m.pssMiB;
    }
    return { pss, parts };
  } finally {
    for (const pod of running) await ctx.pods.remove(pod);
  }
}

export async function keeperCase(ctx: Ctx, workloads: readonly string[] = ['nginx']): Promise<void> {
  ctx.log(
    `keeper: wake (${workloads.join(', ')}) and shim memory with ${MEMORY_PODS} nginx pods, with and without the keeper`,
  );
  const wake: Record<Mode, Record<string, number[]>> = { keeper: {}, alone: {} };
  const mem: Partial<Record<Mode, { pss: number[]; parts: Record<string, number> }>> = {};
  // Rounds alternate the two modes (without first, so the run ends on the default): a change of the
  // machine's load during the case falls on both alike.
  const rounds = Math.max(1, Math.min(4, Math.floor(ctx.runs / 5)));
  const perRound = Math.ceil(ctx.runs / rounds);
  try {
    for (let round = 0; round < rounds; round++) {
      for (const mode of ['alone', 'keeper'] as const) {
        await useMode(ctx, mode);
        for (const id of workloads) {
          const series = await ours({ ...ctx, runs: perRound }, WORKLOADS[id]!);
          (wake[mode][id] ??= []).push(...series.wakeMs);
          ctx.log(
            `  ${mode} round ${round + 1}/${rounds}: ${id} wake median ${median(series.wakeMs).toFixed(1)} ms`,
          );
        }
        if (round < rounds - 1) continue;
        mem[mode] = await memory(ctx, mode);
        ctx.log(
          `  ${mode}: shim PSS ${median(mem[mode].pss).toFixed(1)} MiB (${Object.entries(mem[mode].parts)
            .map(([k, v]) => `${k} ${v.toFixed(1)}`)
            .join(', ')})`,
        );
      }
    }
  } finally {
    // Whatever happened, containerd goes back to the default for the cases after this one.
    if (process.env['ZEROPOD_SHIM_KEEPER'] !== '0') await useMode(ctx, 'keeper').catch(() => undefined);
  }
  for (const id of workloads) {
    ctx.results.figure({
      workload: `keeper: ${id}`,
      metric: 'wake → full response, with the keeper',
      unit: 'ms',
      better: 'lower',
      ours: wake.keeper[id] ?? [],
      baselineName: BASELINE,
      baseline: wake.alone[id] ?? [],
    });
  }
  ctx.results.figure({
    workload: `keeper: ${MEMORY_PODS} nginx pods`,
    metric: 'shim PSS, keeper + worker',
    unit: 'MiB',
    better: 'lower',
    ours: mem.keeper?.pss ?? [],
    baselineName: `${BASELINE}: the daemon alone`,
    baseline: mem.alone?.pss ?? [],
  });
  for (const [mode, m] of Object.entries(mem)) {
    for (const [role, v] of Object.entries(m.parts))
      ctx.results.detail(
        `keeper: ${MEMORY_PODS} nginx pods`,
        `PSS of the ${role} (${mode === 'keeper' ? 'with the keeper' : 'no keeper'})`,
        'MiB',
        [v],
      );
  }
}

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}
