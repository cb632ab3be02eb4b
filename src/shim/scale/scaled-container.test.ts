import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { OperationQueue, silentLogger } from '../../base/index.ts';
import type { Container } from '../container.ts';
import { DEFAULTS } from './config.ts';
import { ScaledContainer } from './scaled-container.ts';

/** The few members of a Container the scale logic touches before `begin()`. */
function fakeContainer(id: string): Container {
  return {
    id,
    init: { pid: 4_000_000 },
    queue: new OperationQueue(),
    exitPolicy: () => 'report',
    execs: new Map(),
  } as unknown as Container;
}

function setUp(t: { after(fn: () => void): void }) {
  const root = mkdtempSync(path.join(tmpdir(), 'zp-scaled-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const c = fakeContainer('c1');
  const s = new ScaledContainer(c, DEFAULTS, 'web', {
    lazyPagesMinBytes: 0,
    netnsPath: '/nonexistent',
    nodeAddresses: new Set(),
    imageRoot: path.join(root, 'images'),
    workRoot: path.join(root, 'work'),
    log: silentLogger,
  });
  for (const dir of [s.imagePath, s.workPath]) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'pages-1.img'), 'memory');
  }
  return { c, s };
}

void test("detach (the daemon's SIGTERM) leaves the image and the work files; dispose removes them", async (t) => {
  const { s } = setUp(t);
  await s.detach();
  assert.ok(existsSync(path.join(s.imagePath, 'pages-1.img')), 'the image outlives the daemon');
  assert.ok(existsSync(path.join(s.workPath, 'pages-1.img')));
  assert.equal(s.state.phase, 'starting', 'detach is not a stop');
  await s.dispose();
  assert.equal(existsSync(s.imagePath), false);
  assert.equal(existsSync(s.workPath), false);
  assert.equal(s.state.phase, 'stopped');
});

void test('detach waits for the operation in flight on the queue, and no longer than its bound', async (t) => {
  const { c, s } = setUp(t);
  const order: string[] = [];
  let finish!: () => void;
  void c.queue.run(
    () =>
      new Promise<void>((resolve) => {
        finish = () => {
          order.push('checkpoint done');
          resolve();
        };
      }),
  );
  const detached = s.detach(60_000).then(() => order.push('detached'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, []);
  finish();
  await detached;
  assert.deepEqual(order, ['checkpoint done', 'detached']);
  // A hung operation does not hold the daemon's exit.
  void c.queue.run(() => new Promise<void>(() => undefined));
  await s.detach(10);
});
