import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { codeOf, createLogger } from '../base/index.ts';
import { isChildSubreaper } from './libc.ts';
import { readProcStatSync } from './proc.ts';
import { Reaper } from './reaper.ts';

/**
 * Runs `script` in the background of a shell that exits at once, so it is re-parented to us. The
 * script starts only after the shell is gone (it first waits for EOF on fd 3, which we close then):
 * otherwise a quick script could exit, and be reaped by the shell, before the re-parenting.
 */
async function orphan(script: string): Promise<number> {
  const sh = spawn('sh', ['-c', `(read _ <&3; ${script}) >/dev/null 2>&1 </dev/null & echo $!`], {
    stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
  });
  const { stdout } = sh;
  assert.ok(stdout !== null);
  let out = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [[code]] = (await Promise.all([once(sh, 'exit'), once(stdout, 'end')])) as [[number | null], unknown];
  assert.equal(code, 0);
  const pid = Number(out.trim());
  assert.equal(readProcStatSync(pid)?.ppid, process.pid, 'orphan re-parented to the test process');
  (sh.stdio[3] as Socket).destroy(); // EOF on the orphan's fd 3: go
  return pid;
}

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  for (const start = Date.now(); !cond(); await sleep(5)) {
    if (Date.now() - start > ms) assert.fail(`timed out waiting for ${what}`);
  }
}

const isZombie = (pid: number) => readProcStatSync(pid)?.state === 'Z';

void test('reports the exit code of a re-parented grandchild', { timeout: 10_000 }, async () => {
  using reaper = new Reaper();
  assert.ok(isChildSubreaper());
  const pid = await orphan('sleep 0.2; exit 7');
  const before = Date.now();
  const status = await reaper.watch(pid);
  assert.equal(status.pid, pid);
  assert.equal(status.exitCode, 7);
  assert.equal(status.signal, undefined);
  assert.ok(status.exitedAt.getTime() >= before);
  assert.equal(readProcStatSync(pid), undefined, 'reaped, no zombie left');
  assert.equal(reaper.trackedCount, 0);
});

void test('a process killed by SIGKILL reports 137 and signal 9', { timeout: 10_000 }, async () => {
  using reaper = new Reaper();
  const pid = await orphan('exec sleep 30');
  const exit = reaper.watch(pid);
  process.kill(pid, 'SIGKILL');
  assert.deepEqual(
    { ...(await exit), exitedAt: undefined },
    { pid, exitCode: 137, signal: 9, exitedAt: undefined },
  );
});

void test('a process that exited before watch() is still reported', { timeout: 10_000 }, async () => {
  using reaper = new Reaper({ scanIntervalMs: 60_000 });
  const pid = await orphan('exit 5');
  await until('zombie', () => isZombie(pid));
  assert.equal((await reaper.watch(pid)).exitCode, 5);
});

void test(
  'each exit resolves exactly once; watch() of a tracked pid shares the result',
  { timeout: 10_000 },
  async () => {
    using reaper = new Reaper();
    const pid = await orphan('sleep 0.1; exit 3');
    const a = reaper.watch(pid);
    const b = reaper.watch(pid);
    assert.equal(a, b);
    assert.equal(reaper.trackedCount, 1);
    assert.equal((await a).exitCode, 3);
    await assert.rejects(reaper.watch(pid), (err: unknown) => codeOf(err) === 'NotFound');
  },
);

void test(
  'clear errors: gone (NotFound), not our child (FailedPrecondition), bad pid (InvalidArgument)',
  { timeout: 10_000 },
  async () => {
    using reaper = new Reaper();
    const child = spawn('true');
    await once(child, 'exit');
    await assert.rejects(
      reaper.watch(child.pid ?? 0),
      (err: unknown) => codeOf(err) === 'NotFound' && /already reaped/.test(String(err)),
    );
    await assert.rejects(reaper.watch(process.ppid), (err: unknown) => codeOf(err) === 'FailedPrecondition');
    await assert.rejects(reaper.watch(-1), (err: unknown) => codeOf(err) === 'InvalidArgument');
    assert.equal(reaper.trackedCount, 0);
  },
);

void test(
  "Node's own child_process exits stay correct while the reaper scans aggressively",
  { timeout: 10_000 },
  async () => {
    using reaper = new Reaper({ scanIntervalMs: 5 });
    const orphans = await Promise.all(
      [0, 1, 2, 3, 4].map((n) => orphan(`sleep 0.0${n + 1}; exit ${n + 10}`)),
    );
    const watched = orphans.map((pid) => reaper.watch(pid));
    const children = Array.from({ length: 16 }, (_, n) => {
      const killed = n % 4 === 3;
      const cp = spawn('sh', ['-c', killed ? 'exec sleep 10' : `sleep 0.0${n % 3}; exit ${n}`], {
        stdio: 'ignore',
      });
      if (killed) setTimeout(() => cp.kill('SIGTERM'), 30);
      const exit = once(cp, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      return { n, killed, exit };
    });
    for (const c of children) {
      const [code, signal] = await c.exit;
      assert.deepEqual([code, signal], c.killed ? [null, 'SIGTERM'] : [c.n, null], `child ${c.n}`);
    }
    assert.deepEqual(
      (await Promise.all(watched)).map((s) => s.exitCode),
      [10, 11, 12, 13, 14],
    );
  },
);

void test(
  'zombies of untracked orphans are reaped after two scans, and logged',
  { timeout: 10_000 },
  async () => {
    const lines: string[] = [];
    using _reaper = new Reaper({
      scanIntervalMs: 20,
      log: createLogger({ level: 'debug', sink: (l) => lines.push(l) }),
    });
    const pid = await orphan('exit 4');
    await until('orphan reaped', () => readProcStatSync(pid) === undefined);
    const entry = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((r) => r['msg'] === 'reaped orphan');
    assert.deepEqual([entry?.['pid'], entry?.['exitCode']], [pid, 4]);
  },
);

void test(
  'aborting one watcher detaches it; the process is still tracked and reaped',
  { timeout: 10_000 },
  async () => {
    using reaper = new Reaper();
    const pid = await orphan('sleep 0.15; exit 2');
    const ac = new AbortController();
    const detached = reaper.watch(pid, ac.signal);
    const kept = reaper.watch(pid);
    ac.abort();
    await assert.rejects(detached, (err: unknown) => codeOf(err) === 'Canceled');
    assert.equal((await kept).exitCode, 2);
  },
);

void test(
  'dispose: SIGCHLD listener removed, pending watches Canceled, subreaper restored, one per process',
  { timeout: 10_000 },
  async () => {
    const listeners = process.listenerCount('SIGCHLD');
    const wasSubreaper = isChildSubreaper();
    const reaper = new Reaper();
    assert.equal(process.listenerCount('SIGCHLD'), listeners + 1);
    assert.throws(
      () => new Reaper(),
      (err: unknown) => codeOf(err) === 'FailedPrecondition',
    );
    const pid = await orphan('exec sleep 30');
    const pending = reaper.watch(pid);
    reaper.dispose();
    reaper.dispose();
    await assert.rejects(pending, (err: unknown) => codeOf(err) === 'Canceled');
    await assert.rejects(reaper.watch(pid), (err: unknown) => codeOf(err) === 'FailedPrecondition');
    assert.equal(process.listenerCount('SIGCHLD'), listeners);
    assert.equal(isChildSubreaper(), wasSubreaper);
    // The orphan is still ours; clean it up with a fresh reaper.
    using again = new Reaper();
    process.kill(pid, 'SIGKILL');
    assert.equal((await again.watch(pid)).signal, 9);
  },
);
