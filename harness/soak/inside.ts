/**
 * The soak inside the node environment (harness/soak/cli.ts gets it there): runs it, prints the
 * counts at the start and the end, and exits non-zero if the counter is off or a count changed.
 */
import { inventoryChanges, parseSoakArgs, runSoak } from './index.ts';

const o = parseSoakArgs(process.argv.slice(2));
const r = await runSoak(o, (line) => console.log(line));
const changes = inventoryChanges(r.start, r.end);
const w = r.worker;
if (w.fdsAtEnd !== w.fdsAfterFirstCycle)
  changes.push(`the last worker's fds ${w.fdsAfterFirstCycle} -> ${w.fdsAtEnd} over its ${w.cycles} cycles`);
console.log(
  `soak: the last worker (pid ${w.pid}) held ${w.fdsAfterFirstCycle} fds after its first cycle and ${w.fdsAtEnd} at the end (${w.cycles} cycles)`,
);
console.log(
  `soak: ${r.cycles} cycles and ${r.restarts.length} restarts (every ${o.restartEvery}) in ` +
    `${(r.durationMs / 60_000).toFixed(1)} min; counter ${r.counter}; wake median ${r.wakeMs.median} ms, ` +
    `max ${r.wakeMs.max} ms; new worker had it asleep after ${r.restarts.map((x) => `${x.signal} ${x.readyMs}`).join(', ') || '-'} ms`,
);
if (r.processDiff.added.length || r.processDiff.gone.length)
  console.log(
    `soak: processes added ${JSON.stringify(r.processDiff.added)}, gone ${JSON.stringify(r.processDiff.gone)}`,
  );
const ok = r.counter === r.cycles && changes.length === 0;
console.log(
  ok
    ? 'soak: PASS: counter intact, nothing leaked'
    : `soak: FAIL: counter ${r.counter}/${r.cycles}; changed: ${changes.join('; ') || 'nothing'}`,
);
process.exit(ok ? 0 : 1);
