/**
 * The Runc class against a fake runc (a shell script at the process boundary): argv as spawned, the
 * environment, stdin, stdio, pid files, log scraping into typed errors, CRIU log tails, aborts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, ZeropodError } from '../base/index.ts';
import { Runc } from './runc.ts';

const FAKE = `#!/bin/bash
log=
while [ $# -gt 0 ]; do
  case "$1" in
    --root) shift 2;; --log) log=$2; shift 2;; --log-format) shift 2;; --systemd-cgroup|--debug) shift;;
    *) break;;
  esac
done
cmd=$1; shift
echo "$cmd $*" >> "$FAKE_DIR/calls"
err() { printf '{"level":"error","msg":"%s","time":"t"}\\n' "$1" >> "$log"; echo "$1" >&2; exit "\${2:-1}"; }
opt() { local want=$1; shift; while [ $# -gt 0 ]; do [ "$1" = "$want" ] && { echo "$2"; return; }; shift; done; }
id="\${@: -1}"
case "$cmd" in
  state)
    [ "$id" = missing ] && err "container does not exist"
    printf '{"ociVersion":"1.2.1","id":"%s","pid":42,"status":"running","bundle":"/b","rootfs":"/b/r","created":"c","owner":""}' "$id";;
  create)
    [ "$id" = dup ] && err "runc create failed: container with given ID already exists"
    echo 4242 > "$(opt --pid-file "$@")"; echo "container-out"; echo "container-err" >&2;;
  update) cat > "$FAKE_DIR/update-input";;
  kill) err "container not running";;
  ps) echo null;;
  start) exec sleep 30;;
  pause) (sleep 2 >&2 &); exit 0;;
  checkpoint)
    w=$(opt --work-path "$@"); mkdir -p "$w"
    echo "CRIU_CONFIG_FILE=$CRIU_CONFIG_FILE" >> "$FAKE_DIR/calls"
    [ "$id" = ok ] && exit 0
    for i in $(seq 1 30); do echo "(00.0000$i) line $i" >> "$w/dump.log"; done
    echo "(00.100000) Error (criu/cr-dump.c:2093): Dumping FAILED." >> "$w/dump.log"
    err "criu failed: type NOTIFY errno 0\\\\nlog file: $w/dump.log";;
  restore) err "criu failed: type RESTORE errno 0";;
  *) err "unexpected $cmd";;
esac
`;

let dir = '';
let runc: Runc;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zp-fake-runc-'));
  await writeFile(join(dir, 'runc'), FAKE, { mode: 0o755 });
  runc = new Runc({ binary: join(dir, 'runc'), root: join(dir, 'root'), env: { FAKE_DIR: dir } });
});
after(() => rm(dir, { recursive: true, force: true }));

const calls = async () => (await readFile(join(dir, 'calls'), 'utf8')).trim().split('\n');
const code = (c: ErrorCode) => (e: unknown) => e instanceof ZeropodError && e.code === c;

void test('state parses stdout', async () => {
  const s = await runc.state('c1');
  assert.equal(s.id, 'c1');
  assert.equal(s.status, 'running');
  assert.equal((await calls()).at(-1), 'state c1');
});

void test('runc saying "container does not exist" is NotFound with its words in the message', async () => {
  await assert.rejects(runc.state('missing'), (e: unknown) => {
    assert.ok(e instanceof ZeropodError);
    assert.equal(e.code, ErrorCode.NotFound);
    assert.equal(e.message, 'runc state missing: container does not exist');
    return true;
  });
});

void test('create: container stdio to files, pid from the pid file', async () => {
  const out = join(dir, 'out.log');
  const pid = await runc.create('c2', {
    bundle: '/b',
    pidFile: join(dir, 'c2.pid'),
    stdio: { stdout: out, stderr: out },
  });
  assert.equal(pid, 4242);
  assert.equal(await readFile(out, 'utf8'), 'container-out\ncontainer-err\n');
  await assert.rejects(
    runc.create('dup', { bundle: '/b', pidFile: join(dir, 'x.pid') }),
    code(ErrorCode.AlreadyExists),
  );
});

void test('update sends the resources as JSON on stdin; bytes pass through', async () => {
  await runc.update('c1', { memory: { limit: 64 << 20 }, cpu: { shares: 512 } });
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'update-input'), 'utf8')), {
    memory: { limit: 67108864 },
    cpu: { shares: 512 },
  });
  await runc.update('c1', new TextEncoder().encode('{"pids":{"limit":7}}'));
  assert.equal(await readFile(join(dir, 'update-input'), 'utf8'), '{"pids":{"limit":7}}');
  assert.equal((await calls()).at(-1), 'update --resources - c1');
});

void test('kill of a stopped container is NotFound (process already finished)', async () => {
  await assert.rejects(runc.kill('c1', 'SIGTERM', { all: true }), code(ErrorCode.NotFound));
  assert.equal((await calls()).at(-1), 'kill --all c1 15');
});

void test('ps null is no pids', async () => {
  assert.deepEqual(await runc.ps('c1'), []);
});

void test('an abort kills runc and rejects with Canceled / DeadlineExceeded', async () => {
  const ac = new AbortController();
  const started = performance.now();
  const p = runc.start('c1', { signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(p, code(ErrorCode.Canceled));
  assert.ok(performance.now() - started < 5000);
  await assert.rejects(
    runc.start('c1', { signal: AbortSignal.timeout(50) }),
    code(ErrorCode.DeadlineExceeded),
  );
});

void test('a process runc left behind holding its stderr does not hold up the call', async () => {
  const started = performance.now();
  await runc.pause('c1');
  assert.ok(performance.now() - started < 1500);
});

void test('checkpoint failure carries the Error lines of CRIU dump.log (the tail in details); criuOptions reach CRIU via CRIU_CONFIG_FILE', async () => {
  const work = join(dir, 'work');
  await assert.rejects(
    runc.checkpoint('bad', {
      imagePath: join(dir, 'img'),
      workPath: work,
      criuOptions: { networkLock: 'skip' },
      logTailLines: 5,
    }),
    (e: unknown) => {
      assert.ok(e instanceof ZeropodError);
      assert.equal(e.code, ErrorCode.Internal);
      const lines = e.message.split('\n');
      assert.equal(lines[0], 'runc checkpoint bad: criu failed: type NOTIFY errno 0');
      assert.match(e.message, /CRIU said \(\S*dump\.log\):/);
      assert.equal(lines.at(-1), 'Error (criu/cr-dump.c:2093): Dumping FAILED.');
      assert.doesNotMatch(e.message, /line 20$/m);
      assert.equal((e.details['criuTail'] as string[]).length, 5);
      assert.deepEqual(e.details['criuErrors'], ['criu/cr-dump.c:2093: Dumping FAILED.']);
      return true;
    },
  );
  const conf = join(work, 'zeropod-criu.conf');
  assert.ok((await calls()).includes(`CRIU_CONFIG_FILE=${conf}`));
  assert.match(await readFile(conf, 'utf8'), /^network-lock skip$/m);
});

void test('a stale dump.log from an earlier dump is not blamed for a later failure', async () => {
  const work = join(dir, 'work2');
  await mkdir(work, { recursive: true });
  await writeFile(join(work, 'restore.log'), '(00.1) Error (criu/old.c:1): old news\n');
  await assert.rejects(
    runc.restore('r1', {
      bundle: '/b',
      pidFile: join(dir, 'r.pid'),
      imagePath: join(dir, 'img'),
      workPath: work,
    }),
    (e: unknown) =>
      e instanceof ZeropodError && !e.message.includes('old news') && e.message.includes('type RESTORE'),
  );
  await runc.checkpoint('ok', { imagePath: join(dir, 'img'), workPath: join(dir, 'work3') });
});

void test('with a fixed log file, only what this call appended is read', async () => {
  const log = join(dir, 'log.json');
  await writeFile(log, '{"level":"error","msg":"container does not exist"}\n');
  const r = new Runc({ binary: join(dir, 'runc'), root: '/r', log, env: { FAKE_DIR: dir } });
  await assert.rejects(r.start('x', { signal: AbortSignal.timeout(1) }), code(ErrorCode.DeadlineExceeded));
  await assert.rejects(
    r.kill('x', 9),
    (e: unknown) => e instanceof ZeropodError && /container not running/.test(e.message),
  );
  assert.ok((await stat(log)).size > 0, 'the caller-owned log is kept');
});

void test('a missing runc binary is Internal with the spawn error as cause', async () => {
  const r = new Runc({ binary: join(dir, 'nope'), root: '/r' });
  await assert.rejects(
    r.state('x'),
    (e: unknown) => e instanceof ZeropodError && e.code === ErrorCode.Internal && e.cause instanceof Error,
  );
});

void test('withSystemdCgroup: a twin for systemd-managed cgroups, the same runc when nothing changes', () => {
  const runc = new Runc({ root: '/run/r', binary: '/bin/true' });
  assert.equal(runc.systemdCgroup, false);
  assert.equal(runc.withSystemdCgroup(false), runc);
  const twin = runc.withSystemdCgroup(true);
  assert.equal(twin.systemdCgroup, true);
  assert.equal(twin.root, '/run/r');
  assert.equal(twin.binary, '/bin/true');
  assert.equal(twin.withSystemdCgroup(true), twin);
});
