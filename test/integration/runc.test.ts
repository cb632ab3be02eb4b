/**
 * The runc and CRIU adapters against the real tools (runc 1.3.6, criu 4.2.1) inside the node
 * environment. Own runc --root and `zp-it-` ids, so containerd's containers are never touched.
 * This process is a child subreaper, so container processes are re-parented to it and their exit
 * status can be read with waitid.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, read } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCode, ZeropodError } from '../../src/base/index.ts';
import { criuLogTail, readCriuStats, CRIU_CONFIG_ANNOTATION } from '../../src/criu/index.ts';
import { ConsoleSocket, Runc } from '../../src/runc/index.ts';

const ROOT = '/run/zp-it-runc';
const runc = new Runc({ root: ROOT });
const ids = new Set<string>();
let base = '';
let seq = 0;

// --- libc for the test itself: subreaper, waitid, pipes ---
type Fn = (...a: unknown[]) => number;
const koffi = createRequire(import.meta.url)('koffi') as { load(p: string): { func(s: string): Fn } };
const libc = koffi.load('libc.so.6');
const prctl = libc.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)');
const waitid = libc.func('int waitid(int idtype, int id, void *info, int options)');
const pipe2 = libc.func('int pipe2(_Out_ int *fds, int flags)');

function pipe(): { r: number; w: number } {
  const fds = [0, 0];
  assert.equal(pipe2(fds, 0o2000000 /* O_CLOEXEC */), 0);
  return { r: fds[0]!, w: fds[1]! };
}

/** Reaps `pid` (re-parented to us) and returns its exit code (128+signal when killed). */
async function waitExit(pid: number): Promise<number> {
  const info = Buffer.alloc(128); // siginfo_t: si_code@8 si_pid@16 si_status@24
  for (let i = 0; i < 1000; i++, await sleep(10)) {
    assert.equal(waitid(1 /* P_PID */, pid, info.fill(0), 4 | 1 /* WEXITED|WNOHANG */), 0, `waitid ${pid}`);
    if (info.readInt32LE(16) === pid) return (info.readInt32LE(8) === 1 ? 0 : 128) + info.readInt32LE(24);
  }
  throw new Error(`pid ${pid} did not exit`);
}

const sh = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Retries `fn` every 20 ms until it resolves (5 s at most). */
async function eventually<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++, await sleep(20)) {
    try {
      return await fn();
    } catch (err) {
      if (i >= 250) throw err;
    }
  }
}
const ms = (t0: number) => Math.round(performance.now() - t0);
/** Runs `fn`, reports how long it took as a test diagnostic. */
async function timed<T>(t: TestContext, label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  t.diagnostic(`${label} ${ms(t0)} ms`);
  return r;
}
/** SIGKILL, reap (exit 137) and delete. */
async function killAndDelete(id: string, pid: number) {
  await runc.kill(id, 'SIGKILL');
  assert.equal(await waitExit(pid), 137);
  await runc.delete(id);
}
const messageOf = (e: unknown) => (e instanceof Error ? e.message : '');
const code = (c: ErrorCode) => (e: unknown) => e instanceof ZeropodError && e.code === c;

/** An OCI bundle: busybox rootfs, config from `runc spec` with our args. */
async function bundle(
  name: string,
  args: string[],
  o: { terminal?: boolean; hostNetwork?: boolean; annotations?: Record<string, string> } = {},
) {
  const id = `zp-it-${process.pid}-${++seq}-${name}`;
  const dir = join(base, id);
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'www'])
    await mkdir(join(rootfs, d), { recursive: true });
  await copyFile('/bin/busybox', join(rootfs, 'bin/busybox'));
  for (const a of ['sh', 'sleep', 'httpd', 'true']) await symlink('busybox', join(rootfs, 'bin', a));
  await writeFile(join(rootfs, 'www/index.html'), `hello from ${id}\n`);
  await sh('runc', ['spec'], { cwd: dir });
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
  Object.assign(config.process, { args, terminal: o.terminal === true });
  Object.assign(config, { hostname: name, annotations: o.annotations ?? {} });
  config.root.readonly = false;
  const keep = (n: { type: string }) => o.hostNetwork !== true || n.type !== 'network';
  config.linux.namespaces = config.linux.namespaces.filter(keep);
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  ids.add(id);
  return { id, dir, pidFile: join(dir, 'init.pid'), images: join(dir, 'images'), work: join(dir, 'work') };
}

/** Lines from a pipe's read end, as they come; `next` waits for one matching. */
function lines(fd: number) {
  const sock = new Socket({ fd, readable: true, writable: false });
  const all: string[] = [];
  let buf = '';
  sock.setEncoding('utf8').on('data', (d: string) => {
    const parts = (buf + d).split('\n');
    buf = parts.pop()!;
    all.push(...parts);
  });
  const next = (pred: (l: string) => boolean) =>
    eventually(async () => all.find(pred) ?? assert.fail(`no such line; got ${all.slice(-5).join(' | ')}`));
  return { all, next, close: () => sock.destroy() };
}

before(async () => {
  assert.equal(prctl(36 /* PR_SET_CHILD_SUBREAPER */, 1, 0, 0, 0), 0);
  base = await mkdtemp('/tmp/zp-it-runc-');
});

after(async () => {
  for (const id of ids) {
    await runc.delete(id, { force: true }).catch((e: unknown) => {
      if (!code(ErrorCode.NotFound)(e)) throw e;
    });
  }
  await rm(base, { recursive: true, force: true });
  if ((await runc.list()).length === 0) await rm(ROOT, { recursive: true, force: true });
});

void test('create, state, ps, start, kill with the exit status, delete', async (t: TestContext) => {
  const script = 'trap "exit 7" TERM; echo started; while true; do sleep 0.05; done';
  const b = await bundle('life', ['sh', '-c', script]);
  const out = join(b.dir, 'out.log');
  const stdio = { stdout: out, stderr: out };
  const pid = await timed(t, 'runc create', () =>
    runc.create(b.id, { bundle: b.dir, pidFile: b.pidFile, stdio }),
  );
  const state = await runc.state(b.id);
  assert.deepEqual([state.id, state.pid, state.status], [b.id, pid, 'created']);
  assert.deepEqual(await runc.ps(b.id), [pid]);
  const again = runc.create(b.id, { bundle: b.dir, pidFile: b.pidFile });
  await assert.rejects(again, code(ErrorCode.AlreadyExists));
  await timed(t, 'runc start', () => runc.start(b.id));
  assert.equal((await runc.state(b.id)).status, 'running');
  await assert.rejects(runc.start(b.id), code(ErrorCode.FailedPrecondition));
  await eventually(async () => assert.match(await readFile(out, 'utf8'), /started/));
  await runc.kill(b.id, 'SIGTERM');
  assert.equal(await waitExit(pid), 7, 'exit status from the trap');
  assert.equal((await runc.state(b.id)).status, 'stopped');
  await assert.rejects(runc.kill(b.id, 'SIGKILL'), code(ErrorCode.NotFound));
  await runc.delete(b.id);
  await assert.rejects(
    runc.state(b.id),
    (e) => code(ErrorCode.NotFound)(e) && /does not exist/.test(messageOf(e)),
  );
});

void test('exec, pause/resume, update and events --stats on a running container', async (t: TestContext) => {
  const b = await bundle('ops', ['sleep', '1000']);
  const pid = await runc.create(b.id, { bundle: b.dir, pidFile: b.pidFile });
  await runc.start(b.id);
  const spec = join(b.dir, 'exec.json');
  const proc = { args: ['sh', '-c', 'echo exec-out; exit 3'], cwd: '/', env: ['PATH=/bin'] };
  await writeFile(spec, JSON.stringify(proc));
  const p = pipe();
  const execOpts = { processSpecPath: spec, pidFile: join(b.dir, 'exec.pid') };
  const execPid = await timed(t, 'runc exec', () => runc.exec(b.id, { ...execOpts, stdio: { stdout: p.w } }));
  closeSync(p.w);
  const out = lines(p.r);
  assert.equal(await out.next((l) => l === 'exec-out'), 'exec-out');
  assert.equal(await waitExit(execPid), 3);
  out.close();
  await writeFile(spec, JSON.stringify({ ...proc, args: ['/no/such/binary'] }));
  const missing = (e: unknown) =>
    code(ErrorCode.Internal)(e) && /no such file or directory/.test(messageOf(e));
  await assert.rejects(runc.exec(b.id, execOpts), missing);

  await runc.pause(b.id);
  assert.equal((await runc.state(b.id)).status, 'paused');
  await assert.rejects(runc.exec(b.id, execOpts), code(ErrorCode.FailedPrecondition));
  await assert.rejects(runc.pause(b.id), code(ErrorCode.FailedPrecondition));
  await runc.resume(b.id);
  assert.equal((await runc.state(b.id)).status, 'running');

  await runc.update(b.id, { memory: { limit: 64 << 20 }, pids: { limit: 50 } });
  const stats = await timed(t, 'runc events --stats', () => runc.stats(b.id));
  assert.equal(stats.memory.usage?.limit, 64 << 20);
  assert.equal(stats.pids.limit, 50);
  assert.ok((stats.pids.current ?? 0) >= 1 && (stats.cpu.usage.total ?? 0) > 0);
  await runc.kill(b.id, 'SIGKILL');
  assert.equal(await waitExit(pid), 137);
  await assert.rejects(runc.stats(b.id), code(ErrorCode.FailedPrecondition));
  await runc.delete(b.id);
});

void test('a TTY container hands its pty master over the console socket', async () => {
  const b = await bundle('tty', ['sh', '-c', 'stty -echo; echo hello-tty; sleep 1000'], { terminal: true });
  const cs = await ConsoleSocket.create();
  let master = -1;
  try {
    const pid = await runc.create(b.id, { bundle: b.dir, pidFile: b.pidFile, consoleSocket: cs.path });
    master = await cs.receiveMaster(AbortSignal.timeout(5000));
    await runc.start(b.id);
    let text = '';
    const buf = Buffer.alloc(256);
    while (!text.includes('hello-tty')) {
      const n = await promisify(read)(master, buf, 0, buf.length, null);
      assert.ok(n.bytesRead > 0, 'pty closed before the greeting');
      text += buf.subarray(0, n.bytesRead).toString();
    }
    await killAndDelete(b.id, pid);
  } finally {
    if (master !== -1) closeSync(master);
    await cs.dispose();
  }
});

void test("checkpoint and restore keep a process's memory; its stdout pipe is replaced", async (t: TestContext) => {
  // No runc.conf for this container: CRIU's default network lock (iptables) fails here, and
  // criuOptions (via CRIU_CONFIG_FILE) are what make it work.
  const counter = 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.02; done';
  const b = await bundle('count', ['sh', '-c', counter], { annotations: { [CRIU_CONFIG_ANNOTATION]: '' } });
  const p1 = pipe();
  await runc.create(b.id, { bundle: b.dir, pidFile: b.pidFile, stdio: { stdout: p1.w } });
  closeSync(p1.w);
  const out1 = lines(p1.r);
  await runc.start(b.id);
  await out1.next((l) => Number(l) >= 10);

  await assert.rejects(runc.checkpoint(b.id, { imagePath: b.images, workPath: b.work }), (e: unknown) => {
    assert.ok(e instanceof ZeropodError && e.code === ErrorCode.Internal);
    assert.match(
      e.message,
      /^runc checkpoint \S+: criu failed[^]*CRIU said \(\S*dump\.log\):[^]*Locking network failed[^]*Dumping FAILED/,
    );
    assert.ok((e.details['criuErrors'] as string[]).some((l) => /Locking network failed/.test(l)));
    return true;
  });
  assert.equal((await runc.state(b.id)).status, 'running', 'a failed dump leaves the container running');

  const criuOptions = { networkLock: 'skip' } as const;
  await timed(t, 'runc checkpoint (own netns)', () =>
    runc.checkpoint(b.id, { imagePath: b.images, workPath: b.work, criuOptions }),
  );
  const dumpLog = await readFile(join(b.work, 'dump.log'), 'utf8');
  assert.ok(
    dumpLog.includes(`Parsing config file ${join(b.work, 'zeropod-criu.conf')}`),
    'CRIU read our options',
  );
  assert.equal((await criuLogTail(b.work, 'dump', 1))[0]?.endsWith('Dumping finished successfully'), true);
  await assert.rejects(runc.state(b.id), code(ErrorCode.NotFound), 'runc removed the checkpointed container');
  const before = Number(out1.all.at(-1));
  out1.close();

  const p2 = pipe();
  const opts = { bundle: b.dir, pidFile: b.pidFile, imagePath: b.images, workPath: b.work };
  const pid = await timed(t, 'runc restore (own netns)', () =>
    runc.restore(b.id, { ...opts, stdio: { stdout: p2.w } }),
  );
  closeSync(p2.w);
  const out2 = lines(p2.r);
  const first = Number(await out2.next(() => true));
  assert.ok(first > 1 && first >= before - 1, `the counter went on (${before} -> ${first}), did not restart`);
  assert.equal((await runc.state(b.id)).status, 'running');
  const [dump, restore] = [await readCriuStats(b.work, 'dump'), await readCriuStats(b.work, 'restore')];
  assert.ok(
    dump !== undefined && dump.pagesWritten > 0 && restore !== undefined && restore.restoreTimeUs > 0,
  );
  t.diagnostic(
    `criu: frozen ${dump.frozenTimeUs} us, ${dump.pagesWritten} pages; restored in ${restore.restoreTimeUs} us`,
  );
  await killAndDelete(b.id, pid);
  out2.close();
});

void test('busybox httpd (host network) serves the same page after checkpoint and restore', async (t) => {
  const port = 20_000 + (process.pid % 20_000);
  const b = await bundle('httpd', ['httpd', '-f', '-p', String(port), '-h', '/www'], { hostNetwork: true });
  const page = async () => (await fetch(`http://127.0.0.1:${port}/`)).text();
  await runc.create(b.id, { bundle: b.dir, pidFile: b.pidFile });
  await runc.start(b.id);
  assert.equal(await eventually(page), `hello from ${b.id}\n`);
  await timed(t, 'httpd: runc checkpoint', () =>
    runc.checkpoint(b.id, { imagePath: b.images, workPath: b.work }),
  );
  await assert.rejects(page(), 'nothing listens while checkpointed');
  const t0 = performance.now();
  const opts = { bundle: b.dir, pidFile: b.pidFile, imagePath: b.images, workPath: b.work };
  const pid = await timed(t, 'httpd: runc restore', () => runc.restore(b.id, opts));
  assert.equal(await eventually(page), `hello from ${b.id}\n`);
  t.diagnostic(`httpd: restore start -> response ${ms(t0)} ms`);
  await killAndDelete(b.id, pid);
});
