/**
 * The benchmark suite, run inside the node environment (bench/run.ts gets it there):
 *   node --import tsx bench/suite.ts [--quick] [--runs N] [--only case,case]
 *   [--density N]  (pods in the density case, default 100)
 *   [--workloads a,b]  (wake case: nginx, busybox, redis, node100, node1g)
 *   --into-latest  (with --only) replace those cases' figures in latest.json and the doc, keep the rest
 *   --cleanup      only remove what an interrupted run left (bench-* pods, zpb* namespaces, links, runc containers)
 * Cases: wake (wake + checkpoint per workload), concurrent, start, memory, steady, density, keeper
 * (the same wake and shim memory with and without the restart-safe keeper); and k8s
 * (through kubelet), which runs alone in the cluster environment (`--only k8s`; bench/run.ts runs it
 * after the others) with the manager's case after it; `--only manager` runs the manager's case alone.
 * --quick: 3 runs, wake of nginx and redis, concurrent wake, steady state.
 * Prints one table, writes bench/results/latest.json and docs/performance.md. Never fails on a
 * timing: a non-zero exit means a case could not run.
 */
import { ErrorCode, ZeropodError, describeError } from '../src/base/index.ts';
import { removeStaleRaw } from './lib/baseline.ts';
import type { Ctx } from './lib/context.ts';
import { createNetns, removeStale } from './lib/netns.ts';
import { BenchPods } from './lib/pods.ts';
import { Results } from './lib/results.ts';
import { parseArgs, type Args } from './lib/args.ts';
import { WORKLOADS } from './lib/workloads.ts';
import { concurrentCase } from './cases/concurrent.ts';
import { densityCase } from './cases/density.ts';
import { memoryCase } from './cases/memory.ts';
import { startCase } from './cases/start.ts';
import { steadyCase } from './cases/steady.ts';
import { wakeCase } from './cases/wake.ts';
import { keeperCase } from './cases/keeper.ts';
import { k8sCase } from './cases/k8s.ts';
import { managerCase } from './cases/manager.ts';
import { writeReports } from './report/write.ts';

/** containerd unreachable (the CRI client maps gRPC UNAVAILABLE to our Unavailable code). */
function isUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 8; depth++) {
    if (e instanceof ZeropodError && e.code === ErrorCode.Unavailable) return true;
    if (e instanceof AggregateError && e.errors.some(isUnavailable)) return true;
    e = e instanceof Error ? e.cause : undefined;
  }
  return false;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string) => console.log(line);
  const results = new Results();
  const startedAt = new Date();
  if (args.only?.has('k8s') || args.only?.has('manager')) return k8sOnly(args, results, startedAt, log);
  const stale = [...(await removeStale()), ...(await removeStaleRaw())];
  const pods = await BenchPods.connect();
  stale.push(...(await pods.removeStale()).map((n) => `pod ${n}`));
  if (stale.length > 0) log(`removed leftovers of an earlier run: ${stale.join(', ')}`);
  if (args.cleanup) {
    pods.close();
    return 0;
  }
  let slot = 1;
  const client = await createNetns('zpb-client', 0);
  const ctx: Ctx = { pods, client, runs: args.runs, quick: args.quick, results, log, nextSlot: () => slot++ };
  const wants = (c: string) =>
    args.only
      ? args.only.has(c)
      : c !== 'k8s' && c !== 'manager' && (args.quick ? ['wake', 'concurrent', 'steady'].includes(c) : true);
  let failed = 0;
  // A case that fails because containerd went away (it is shared; others restart it) is run again
  // once it is back; any other failure is reported and the suite goes on.
  const step = async (name: string, fn: () => Promise<void>) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await fn();
        return;
      } catch (err) {
        const again = attempt < 3 && isUnavailable(err);
        log(
          `!! ${name} could not finish${again ? ' (containerd unavailable: retrying once it is back)' : ''}: ${describeError(err)}`,
        );
        if (again) {
          results.note(`${name}: containerd went away during attempt ${attempt}; the case was run again`);
          await pods.reconnect();
          await pods.removeAll().catch(() => undefined);
          await pods.removeStale().catch(() => undefined);
          await removeStaleRaw();
          continue;
        }
        failed++;
        results.failures.push(`${name}: ${describeError(err)}`);
        return;
      }
    }
  };
  try {
    if (wants('wake')) {
      const ids =
        args.workloads ??
        (args.quick ? ['nginx', 'redis'] : ['nginx', 'busybox', 'redis', 'node100', 'node1g']);
      for (const id of ids) await step(`wake ${id}`, () => wakeCase(ctx, WORKLOADS[id]!));
    }
    if (wants('concurrent')) await step('concurrent', () => concurrentCase(ctx));
    if (wants('start')) await step('start', () => startCase(ctx));
    if (wants('memory')) await step('memory', () => memoryCase(ctx));
    if (wants('steady')) await step('steady', () => steadyCase(ctx));
    if (wants('density')) await step('density', () => densityCase(ctx, args.density));
    if (wants('keeper')) await step('keeper', () => keeperCase(ctx, args.workloads ?? ['nginx']));
  } finally {
    await pods.removeAll().catch((err: unknown) => log(`!! pod cleanup: ${describeError(err)}`));
    pods.close();
    await client.remove();
    await removeStaleRaw();
  }
  await writeReports(results, {
    quick: args.quick,
    runs: args.runs,
    ...(args.only ? { only: [...args.only] } : {}),
    intoLatest: args.intoLatest,
    startedAt,
    finishedAt: new Date(),
    log,
  });
  return failed > 0 ? 1 : 0;
}

/** The k8s case: no CRI client (kubelet owns the runtime's pods here), only kubectl and a client. */
async function k8sOnly(
  args: Args,
  results: Results,
  startedAt: Date,
  log: (l: string) => void,
): Promise<number> {
  await removeStale();
  const client = await createNetns('zpb-client', 0);
  let failed = 0;
  // `--only manager`: the manager's case alone (`--only k8s` runs both, as the full suite does).
  if (args.only?.has('k8s'))
    try {
      await k8sCase({ client, runs: args.runs, results, log });
    } catch (err) {
      failed++;
      log(`!! k8s could not finish: ${describeError(err)}`);
      results.failures.push(`k8s: ${describeError(err)}`);
    }
  try {
    await managerCase({ client, runs: args.runs, results, log, pods: args.density });
  } catch (err) {
    failed++;
    log(`!! manager could not finish: ${describeError(err)}`);
    results.failures.push(`manager: ${describeError(err)}`);
  } finally {
    await client.remove();
  }
  await writeReports(results, {
    quick: args.quick,
    runs: args.runs,
    only: [...(args.only ?? ['k8s'])],
    intoLatest: args.intoLatest,
    startedAt,
    finishedAt: new Date(),
    log,
  });
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench: ${describeError(err)}`);
    process.exit(2);
  },
);
