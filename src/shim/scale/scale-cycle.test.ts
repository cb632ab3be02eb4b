/** The checkpoint half of the scale logic, with fakes at its process boundaries (scale-fakes.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeWorld, NO_PID, runningAndIdle } from './scale-fakes.ts';

void test('an idle container is checkpointed and stopped; its exit is not reported', async (t) => {
  const w = makeWorld(t);
  await runningAndIdle(w);
  assert.equal(w.s.state.phase, 'running');
  await w.s.tick();
  assert.equal(w.s.state.phase, 'scaled-down');
  for (const call of ['nft redirect', 'runc pause', 'copy tmpfs', 'runc checkpoint', 'thaw', 'prepare wake'])
    assert.ok(w.calls.includes(call), `${call} in ${w.calls.join(', ')}`);
  assert.equal(w.s.stats.checkpoints, 1);
  assert.equal(w.c.exitPolicy({ pid: NO_PID, status: 137, exitedAt: new Date() }), 'suppress');
  assert.equal(w.s.record().phase, 'scaled-down');
  assert.deepEqual(w.s.record().activatorPorts, [30080]);
});

void test("clients' idle connections to the app's port are reset; the app's own outbound one is held", async (t) => {
  const w = makeWorld(t);
  await runningAndIdle(w);
  w.held = [
    { state: '01', localPort: 80 }, // a keep-alive client of the app
    { state: '01', localPort: 41000 }, // the app's connection to its database
  ];
  await w.s.tick();
  assert.equal(w.s.state.phase, 'scaled-down');
  const dumpAt = w.calls.findIndex((c) => c.startsWith('runc checkpoint'));
  assert.ok(
    w.calls.includes('reset clients') && w.calls.indexOf('reset clients') < dumpAt,
    w.calls.join(', '),
  );
  assert.equal(w.s.record().heldConnections, 1, 'only the outbound connection is dumped open and held');
});

void test('a busy container is not checkpointed; a running one reports its exit', async (t) => {
  const w = makeWorld(t);
  await w.s.begin();
  w.clock.t += 500; // less than the idle period
  await w.s.tick();
  assert.equal(w.s.state.phase, 'running');
  assert.ok(!w.calls.includes('nft redirect'));
  assert.equal(w.c.exitPolicy({ pid: NO_PID, status: 1, exitedAt: new Date() }), 'report');
  assert.equal(w.c.exitPolicy({ pid: 12, status: 1, exitedAt: new Date() }), 'suppress', 'not the init');
});

void test('an nft failure while switching the redirect on leaves the container running', async (t) => {
  const w = makeWorld(t);
  await runningAndIdle(w);
  w.behave['nft redirect'] = 'fail';
  await w.s.tick();
  assert.equal(w.s.state.phase, 'running');
  assert.equal(w.s.stats.failedCheckpoints, 1);
  assert.match(w.s.stats.lastError ?? '', /nft redirect failed/);
  assert.ok(!w.calls.includes('runc pause'), 'nothing was frozen');
  assert.ok(w.calls.includes('nft unredirect'), 'the rollback switched the redirect off');
});

void test('a failing dump thaws the app and leaves it running; failures back off', async (t) => {
  const w = makeWorld(t);
  await runningAndIdle(w);
  w.behave['runc checkpoint'] = 'fail';
  await w.s.tick();
  assert.equal(w.s.state.phase, 'running');
  const after = w.calls.slice(w.calls.indexOf('runc checkpoint'));
  assert.deepEqual(after, ['runc checkpoint', 'discard copies', 'runc resume', 'nft unredirect']);
  assert.equal(w.s.stats.failedCheckpoints, 1);
  assert.equal(w.s.stats.abortedCheckpoints, 1);
  // The next attempt waits the idle period plus the back-off (the period again).
  w.calls.length = 0;
  w.clock.t += 1500;
  await w.s.tick();
  assert.ok(!w.calls.includes('nft redirect'), 'still backing off');
  w.clock.t += 1000;
  await w.s.tick();
  assert.ok(w.calls.includes('nft redirect'), 'tried again');
});

void test('a failing thaw in the rollback still ends in running', async (t) => {
  const w = makeWorld(t);
  await runningAndIdle(w);
  w.behave['runc checkpoint'] = 'fail';
  w.behave['runc resume'] = 'fail';
  w.behave['nft unredirect'] = 'fail';
  await w.s.tick();
  assert.equal(w.s.state.phase, 'running');
});

void test('traffic during the preparation drops the checkpoint', async (t) => {
  const w = makeWorld(t);
  await runningAndIdle(w);
  const table = w.calls.length;
  // The tick reads the counter once; it moves before the checkpoint reads it again.
  w.on['nft redirect'] = () => w.count++;
  await w.s.tick();
  assert.equal(w.s.state.phase, 'running');
  assert.ok(!w.calls.slice(table).includes('runc pause'));
  assert.equal(w.s.stats.abortedCheckpoints, 1);
  assert.equal(w.s.stats.failedCheckpoints, 0);
});

void test('kill during the checkpoint aborts the dump, thaws the app, then kills it', async (t) => {
  const w = makeWorld(t);
  await runningAndIdle(w);
  w.behave['runc checkpoint'] = 'hang';
  const tick = w.s.tick();
  await w.reached('runc checkpoint');
  assert.equal(w.s.state.phase, 'checkpointing');
  await w.s.kill(9, false);
  await tick;
  const after = w.calls.slice(w.calls.indexOf('runc checkpoint'));
  assert.deepEqual(after, ['runc checkpoint', 'discard copies', 'runc resume', 'nft unredirect', 'kill 9']);
  assert.equal(w.s.state.phase, 'running');
  assert.equal(w.s.stats.checkpoints, 0);
});

void test('a hung dump is bounded by the checkpoint timeout and rolled back', async (t) => {
  const w = makeWorld(t, { timeouts: { checkpointMs: 50 } });
  await runningAndIdle(w);
  w.behave['runc checkpoint'] = 'hang';
  await w.s.tick();
  assert.equal(w.s.state.phase, 'running');
  assert.ok(w.calls.includes('runc resume'));
  assert.match(w.s.stats.lastError ?? '', /aborted/);
});

void test('open connections are dumped held (CRIU ends the app), and released on a failed dump', async (t) => {
  const w = makeWorld(t);
  await runningAndIdle(w);
  w.held.push({ state: '01' });
  await w.s.tick();
  assert.equal(w.s.state.phase, 'scaled-down');
  assert.ok(!w.calls.includes('runc pause'), 'not frozen by us: CRIU kills it with its sockets in repair');
  assert.ok(w.calls.includes('nft hold') && w.calls.includes('runc checkpoint tcp'));
  assert.equal(w.s.record().heldConnections, 1);

  const v = makeWorld(t);
  await runningAndIdle(v);
  v.held.push({ state: '01' });
  v.behave['runc checkpoint tcp'] = 'fail';
  await v.s.tick();
  assert.equal(v.s.state.phase, 'scaled-down', 'dumped with the connections closed instead');
  const after = v.calls.slice(v.calls.indexOf('runc checkpoint tcp'));
  assert.deepEqual(after.slice(0, 3), ['runc checkpoint tcp', 'nft release', 'runc checkpoint']);
  assert.equal(v.s.record().heldConnections, 0);
});

void test('delete aborts a checkpoint in flight and disposes everything', async (t) => {
  const w = makeWorld(t);
  await runningAndIdle(w);
  w.behave['runc checkpoint'] = 'hang';
  const tick = w.s.tick();
  await w.reached('runc checkpoint');
  w.s.abortInFlight('the container is being deleted');
  await tick;
  assert.equal(w.s.state.phase, 'running');
  await w.c.queue.run(() => w.s.dispose());
  assert.equal(w.s.state.phase, 'stopped');
  for (const call of ['dispose wake', 'activator close', 'nft remove'])
    assert.ok(w.calls.includes(call), call);
});
