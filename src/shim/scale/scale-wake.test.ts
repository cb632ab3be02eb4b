/** The wake half of the scale logic, with fakes at its process boundaries (scale-fakes.ts). */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { makeWorld, NO_PID, runningAndIdle, type World } from './scale-fakes.ts';

async function asleep(w: World): Promise<void> {
  await runningAndIdle(w);
  await w.s.tick();
  assert.equal(w.s.state.phase, 'scaled-down');
  w.calls.length = 0;
}

void test('a wake goes through the prepared restore and counts it', async (t) => {
  const w = makeWorld(t);
  await asleep(w);
  await w.s.requestWake();
  assert.equal(w.s.state.phase, 'running');
  assert.deepEqual(w.calls.slice(0, 2), ['prepared restore', `adopt ${NO_PID + 3}`]);
  assert.equal(w.s.stats.lastWakeVia, 'prepared');
  assert.equal(w.s.stats.restores, 1);
  assert.equal(w.s.stats.failedRestores, 0);
});

void test('concurrent wakes share one restore', async (t) => {
  const w = makeWorld(t);
  await asleep(w);
  await Promise.all([w.s.requestWake(), w.s.requestWake(), w.s.requestWake()]);
  assert.equal(w.calls.filter((c) => c === 'prepared restore').length, 1);
});

void test('a failed wake falls back: prepared, then runc restore, then a fresh start, reported', async (t) => {
  const w = makeWorld(t);
  await asleep(w);
  w.behave['prepared restore'] = 'fail';
  w.behave['runc restore'] = 'fail';
  await w.s.requestWake();
  assert.equal(w.s.state.phase, 'running');
  const attempts = w.calls.filter((c) => ['prepared restore', 'runc restore', 'fresh start'].includes(c));
  assert.deepEqual(attempts, ['prepared restore', 'runc restore', 'fresh start']);
  assert.equal(w.s.stats.failedRestores, 2);
  assert.equal(w.s.stats.freshStarts, 1);
  assert.equal(w.s.stats.lastWakeVia, 'fresh start');
  assert.match(w.s.stats.lastError ?? '', /runc restore failed/);
  assert.deepEqual(w.reported, [], 'the app runs again: no exit to report');
});

void test('a wake where even the fresh start fails reports the container exited', async (t) => {
  const w = makeWorld(t);
  await asleep(w);
  for (const step of ['prepared restore', 'runc restore', 'fresh start']) w.behave[step] = 'fail';
  await assert.rejects(w.s.requestWake(), /fresh start failed/);
  assert.equal(w.s.state.phase, 'stopped');
  assert.equal(w.reported.length, 1);
  assert.equal(w.reported[0]?.status, 255);
  assert.ok(w.calls.includes('nft unredirect'));
});

void test('a hung restore is bounded by the wake timeout and ends stopped, never restoring', async (t) => {
  const w = makeWorld(t, { timeouts: { wakeMs: 50 } });
  await asleep(w);
  w.behave['prepared restore'] = 'hang';
  await assert.rejects(w.s.requestWake());
  assert.equal(w.s.state.phase, 'stopped');
  assert.ok(!w.calls.includes('runc restore'), 'an aborted wake tries nothing more');
});

void test('kill while asleep reports the exit itself; nothing runs to kill', async (t) => {
  const w = makeWorld(t);
  await asleep(w);
  await w.s.kill(15, false);
  assert.equal(w.s.state.phase, 'stopped');
  assert.equal(w.reported[0]?.status, 128 + 15);
  assert.ok(w.calls.includes('dispose wake'));
  assert.ok(!w.calls.includes('kill 15'));
});

void test('detach (SIGTERM) keeps the image and ticks no more; dispose removes it', async (t) => {
  const w = makeWorld(t);
  await asleep(w);
  mkdirSync(w.s.imagePath, { recursive: true });
  writeFileSync(path.join(w.s.imagePath, 'pages-1.img'), 'memory');
  await w.s.detach();
  assert.equal(w.s.state.phase, 'scaled-down', 'detach is not a stop');
  assert.ok(existsSync(path.join(w.s.imagePath, 'pages-1.img')), 'the image outlives the daemon');
  assert.ok(!w.calls.includes('nft remove'), 'the nft table outlives the daemon');
  await w.s.dispose();
  assert.equal(existsSync(w.s.imagePath), false);
  assert.equal(w.s.state.phase, 'stopped');
});

void test('a sleeping container is re-adopted from its record, its restore prepared again', async (t) => {
  const w = makeWorld(t);
  mkdirSync(w.s.imagePath, { recursive: true });
  await w.s.adoptAsleep({
    phase: 'scaled-down',
    ports: [80],
    activatorPorts: [30080],
    imagePath: w.s.imagePath,
    workPath: w.s.workPath,
    heldConnections: 2,
    tmpfs: [{ mountpoint: '/dev', key: 'zp-tmpfs-0', dir: path.join(w.s.workPath, 'tmpfs-0') }],
  });
  assert.equal(w.s.state.phase, 'scaled-down');
  assert.deepEqual(w.calls, ['adopt copies', 'prepare wake', 'nft install', 'nft redirect']);
  assert.equal(w.s.record().heldConnections, 0, 'their hold rules went with the old table');
  assert.equal(w.c.exitPolicy({ pid: NO_PID, status: 137, exitedAt: new Date() }), 'suppress');
  await w.s.requestWake();
  assert.equal(w.s.state.phase, 'running');
  assert.equal(w.s.stats.lastWakeVia, 'prepared');
});

void test('a re-adoption whose redirect fails closes what it opened', async (t) => {
  const w = makeWorld(t);
  w.behave['nft redirect'] = 'fail';
  const rec = { phase: 'scaled-down' as const, ports: [80], activatorPorts: [], heldConnections: 0 };
  await assert.rejects(w.s.adoptAsleep({ ...rec, imagePath: w.s.imagePath, workPath: w.s.workPath }));
  assert.equal(w.s.state.phase, 'starting');
  assert.ok(w.calls.includes('activator close') && w.calls.includes('nft remove'));
});
