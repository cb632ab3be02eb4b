/**
 * How long the app is frozen around a checkpoint, with `zeropod.ctrox.dev/pre-dump` and without, in
 * the same run: two redis pods with the same data (DEBUG POPULATE), each put to sleep and woken
 * `--cycles` times, alternating. Needs a kernel with soft-dirty tracking: run it in the cgroup v2 VM
 * (Debian's kernel), where absolute times are emulated and only the ratio means something:
 *
 *   npx tsx harness/vm/cli.ts up && npx tsx harness/vm/cli.ts node --images busybox,redis
 *   npx tsx harness/vm/cli.ts exec -- node --import tsx bench/vm-pre-dump.ts [--cycles 2] [--keys 100000] [--idle 30]
 *
 * Figures come from the shim's own log lines (bench/lib/shim-log.ts): "scaled down" (freezeMs: until
 * `runc pause` returned; dumpMs: the final dump, app frozen) and "memory pre-dumped" (frozenMs: CRIU's
 * frozen time summed over the rounds, while the app otherwise ran). Prints a table; asserts nothing.
 */
import { Cri } from '../harness/cri/index.ts';
import { IMAGES } from '../harness/images/index.ts';
import { createClientHost, redisCommand, waitForPhase } from '../harness/net/index.ts';
import { dialInNetns } from '../src/netns/index.ts';
import path from 'node:path';
import { criuSupportsDirtyTracking, readCriuStats, type CriuDumpStats } from '../src/criu/index.ts';
import { WORK_ROOT } from '../src/shim/scale/index.ts';
import { shimPhases } from './lib/shim-log.ts';
import { round, summarize } from './lib/stats.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} takes a positive integer`);
  return v;
};
const cycles = arg('--cycles', 2);
const keys = arg('--keys', 100_000);
const idleSec = arg('--idle', 30);

async function main(): Promise<void> {
  if (!(await criuSupportsDirtyTracking())) {
    console.log(
      'this kernel has no soft-dirty tracking: pre-dump falls back to a plain dump; nothing to compare',
    );
    return;
  }
  const cri = await Cri.connect();
  const client = createClientHost();
  const pods = [];
  try {
    const redis = async (ip: string, ...args: string[]) => {
      const sock = await dialInNetns(client.netnsPath, { host: ip, port: 6379 }, AbortSignal.timeout(60_000));
      try {
        return await redisCommand(sock, args, 600_000);
      } finally {
        sock.destroy();
      }
    };
    const variants = [
      { label: 'plain dump', annotations: {} },
      { label: 'pre-dump', annotations: { 'zeropod.ctrox.dev/pre-dump': 'true' } },
    ];
    const ids: string[] = [];
    // CRIU's own figures for each final dump (stats-dump in the work directory), read once asleep:
    // its frozen time without runc's fixed costs around it, and the pages it had to write.
    const criu: CriuDumpStats[][] = variants.map(() => []);
    const asleep = async (i: number) => {
      await waitForPhase(ids[i]!, 'scaled-down', 900_000);
      const s = await readCriuStats(path.join(WORK_ROOT, ids[i]!), 'dump');
      if (s) criu[i]!.push(s);
    };
    for (const v of variants) {
      const pod = await cri.runPod({
        name: `bench-${v.label.replace(' ', '-')}`,
        handler: 'zeropod',
        // Longer than DEBUG POPULATE takes under emulation: a command that sends nothing for the
        // idle period would be dumped with its connection held, its reply pending until a wake.
        annotations: { 'zeropod.ctrox.dev/scaledown-duration': `${idleSec}s`, ...v.annotations },
        containers: [{ name: 'redis', image: IMAGES.redis }],
      });
      pods.push(pod);
      const id = pod.containers.get('redis')!;
      ids.push(id);
      await waitForPhase(id, 'running', 300_000);
      await redis(pod.ip, 'DEBUG', 'POPULATE', String(keys), 'k', '1000');
      await asleep(ids.length - 1);
      console.log(`${v.label}: redis with ${keys} keys of 1000 B asleep (cycle 1)`);
    }
    // One checkpoint at a time (the VM has one emulated CPU's worth of time), alternating.
    for (let c = 2; c <= cycles; c++) {
      for (const [i, pod] of pods.entries()) {
        await redis(pod.ip, 'DBSIZE'); // wakes it
        await asleep(i);
        console.log(`${variants[i]!.label}: asleep (cycle ${c})`);
      }
    }
    const rows = variants.map((v, i) => {
      const down = shimPhases(ids[i]!, 'scaled down');
      const pre = shimPhases(ids[i]!, 'memory pre-dumped while the app runs');
      // The last pre-dump before each sleep (an aborted checkpoint may have pre-dumped too).
      const final = down.map((d) => (d['freezeMs'] ?? 0) + (d['dumpMs'] ?? 0));
      const preFrozen = pre.slice(-down.length).map((p) => p['frozenMs'] ?? 0);
      const total = final.map((f, k) => f + (preFrozen[k] ?? 0));
      return {
        label: v.label,
        final: summarize(final),
        preFrozen: summarize(preFrozen),
        total: summarize(total),
        preMs: summarize(pre.slice(-down.length).map((p) => p['durationMs'] ?? 0)),
        checkpoint: summarize(down.map((d) => d['durationMs'] ?? 0)),
        criuFrozen: summarize(criu[i]!.map((x) => x.frozenTimeUs / 1000)),
        criuPages: summarize(criu[i]!.map((x) => x.pagesWritten)),
      };
    });
    const base = rows[0]!;
    console.log('\nfrozen time per sleep (ms, median of', cycles, 'cycles; min-max):');
    for (const r of rows) {
      const f = (s: { median: number; min: number; max: number }) =>
        Number.isNaN(s.median) ? '-' : `${round(s.median, 0)} (${round(s.min, 0)}-${round(s.max, 0)})`;
      console.log(
        `${r.label.padEnd(11)} final freeze+dump ${f(r.final)}; pre-dump rounds frozen ${f(r.preFrozen)}; ` +
          `frozen in all ${f(r.total)} = ${round(r.total.median / base.total.median, 2)}x; ` +
          `final freeze+dump ${round(r.final.median / base.final.median, 2)}x; ` +
          `pre-dump took ${f(r.preMs)}; whole checkpoint ${f(r.checkpoint)}; ` +
          `final dump: CRIU frozen ${f(r.criuFrozen)} = ${round(r.criuFrozen.median / base.criuFrozen.median, 2)}x, ` +
          `pages written ${f(r.criuPages)}`,
      );
    }
  } finally {
    for (const pod of pods) await cri.removePod(pod, 2).catch((e: unknown) => console.error(String(e)));
    client.remove();
    cri.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
