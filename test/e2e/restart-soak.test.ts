/**
 * The restart soak at CI size (docs/restart-safety.md; `npm run soak` runs the 1,000-cycle one):
 * 60 sleep/wake cycles of one redis, one INCR each, with the shim's worker restarted every 20
 * (SIGKILL of the worker, then SIGHUP of the keeper). The counter must equal the cycles, and
 * nothing may be left behind: the keeper's fds, the last worker's fds over its cycles, mounts,
 * processes, checkpoint images, work directories, records and nft tables are counted at the start
 * and at the end (both with the redis asleep) and must be the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inventoryChanges, formatInventory, runSoak } from '../../harness/soak/index.ts';

test('60 sleep/wake cycles with a worker restart every 20: the counter intact, nothing leaked', async (t) => {
  const r = await runSoak({ cycles: 60, restartEvery: 20 }, (line) => t.diagnostic(line));
  t.diagnostic(`start: ${formatInventory(r.start)}`);
  t.diagnostic(`end:   ${formatInventory(r.end)}`);
  t.diagnostic(
    `${r.cycles} cycles in ${Math.round(r.durationMs / 1000)} s; wake median ${r.wakeMs.median} ms; restarts ` +
      r.restarts.map((x) => `${x.signal} after cycle ${x.afterCycle} (${x.readyMs} ms)`).join(', '),
  );
  assert.equal(r.counter, 60, 'every INCR counted once');
  assert.deepEqual(
    r.restarts.map((x) => x.signal),
    ['SIGKILL', 'SIGHUP'],
    'both kinds of restart happened',
  );
  assert.deepEqual(inventoryChanges(r.start, r.end), [], 'the same counts at the end as at the start');
  assert.deepEqual(r.processDiff, { added: [], gone: [] }, 'the same processes');
  assert.equal(
    r.worker.fdsAtEnd,
    r.worker.fdsAfterFirstCycle,
    `the last worker's fds over its ${r.worker.cycles} cycles`,
  );
  assert.ok(r.worker.cycles >= 10, 'the last worker ran cycles of its own');
});
