/**
 * src/sys against the real kernel: setns windows and /proc of processes inside a network
 * namespace this test creates (and deletes). Needs root; skipped with a reason otherwise.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readlinkSync, statSync } from 'node:fs';
import { codeOf } from '../../src/base/index.ts';
import { listeningTcpPorts, ownListeningTcpPorts, withNetns } from '../../src/sys/index.ts';

const skip = process.getuid?.() === 0 ? false : 'needs root: setns and ip netns';
const ns = `zpt-sys-${process.pid}`;
const nsPath = `/run/netns/${ns}`;
const here = () => readlinkSync('/proc/thread-self/ns/net');
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'inherit'] });

before(() => {
  if (skip !== false) return;
  ip('netns', 'add', ns);
  ip('-n', ns, 'link', 'set', 'lo', 'up');
});
after(() => {
  if (skip === false) ip('netns', 'delete', ns);
});

void test('withNetns runs inside the namespace and always comes back', { skip }, () => {
  const home = here();
  const target = `net:[${statSync(nsPath).ino}]`;
  assert.equal(
    withNetns(nsPath, () => here()),
    target,
  );
  assert.equal(here(), home);
  assert.throws(
    () =>
      withNetns(nsPath, () => {
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(here(), home);
  assert.throws(
    () => withNetns(nsPath, () => Promise.resolve(1)),
    (err: unknown) => codeOf(err) === 'Internal',
  );
  assert.equal(here(), home);
});

void test('setns into something that is not a network namespace is InvalidArgument', { skip }, () => {
  const home = here();
  assert.throws(
    () => withNetns('/proc/self/ns/uts', () => 1),
    (err: unknown) => codeOf(err) === 'InvalidArgument',
  );
  assert.throws(
    () => withNetns('/etc/hostname', () => 1),
    (err: unknown) => codeOf(err) === 'InvalidArgument',
  );
  assert.equal(here(), home);
});

/** A node process inside the namespace listening on `port`; resolves once it listens. */
async function listener(port: number, host: string): Promise<ChildProcess> {
  const code = `require('net').createServer().listen(${port}, '${host}', () => console.log('up'))`;
  const cp = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(cp.stdout, 'data');
  return cp;
}

void test(
  'listening ports of a pod process, told apart from its netns neighbours',
  { skip, timeout: 20_000 },
  async () => {
    const a = await listener(8080, '127.0.0.1');
    const b = await listener(9090, '::');
    try {
      const all = await listeningTcpPorts(a.pid ?? 0);
      assert.deepEqual(all.map((p) => `${p.family} ${p.address} ${p.port}`).sort(), [
        '4 127.0.0.1 8080',
        '6 :: 9090',
      ]);
      const ownA = await ownListeningTcpPorts(a.pid ?? 0);
      const ownB = await ownListeningTcpPorts(b.pid ?? 0);
      assert.deepEqual(
        ownA.map((p) => p.port),
        [8080],
      );
      assert.deepEqual(
        ownB.map((p) => [p.family, p.address, p.port]),
        [[6, '::', 9090]],
      );
      const hostPorts = await listeningTcpPorts('self');
      assert.ok(!hostPorts.some((p) => p.inode === ownA[0]?.inode), 'not visible from the host namespace');
    } finally {
      a.kill();
      b.kill();
      await Promise.all([once(a, 'exit'), once(b, 'exit')]);
    }
  },
);
