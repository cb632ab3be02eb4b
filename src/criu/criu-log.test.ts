import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  criuFailureReport,
  criuLogTail,
  describeCriuFailure,
  lastLines,
  parseCriuLog,
  readLogEnd,
} from './criu-log.ts';

// criu 4.2.1 dump.log of a container in its own netns with no network-lock option (no iptables-restore).
const DUMP_FAILED = `(00.000693) ========================================
(00.000703) Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted
(00.000716) Running pre-dump scripts
(00.001729) net: Lock network
(00.001730) Running network-lock scripts
Error (criu/util.c:642): execvp("iptables-restore", ...) failed: No such file or directory
(00.003007) Error (criu/util.c:657): exited, status=1
Error (criu/util.c:642): execvp("ip6tables-restore", ...) failed: No such file or directory
(00.003518) Error (criu/util.c:657): exited, status=1
(00.003524) Error (criu/net.c:3436): net: Locking network failed: iptables-restore returned -1. This may be connected to disabled CONFIG_NETFILTER_XT_MARK kernel build config option.
(00.006716) Unfreezing tasks into 1
(00.006718) \tUnseizing 943 into 1
(00.006735) Error (criu/cr-dump.c:1975): Dumping FAILED.
`;

// criu 4.2.1 restore.log after the container's /bin/busybox was replaced between dump and restore.
const RESTORE_FAILED = `(00.002293) Warn  (criu/cr-restore.c:1050): Set CLONE_PARENT | CLONE_NEWPID but it might cause restore problem,because not all kernels support such clone flags combinations!
(00.002295) Forking task with 1 pid (flags 0x6c028000)
(00.020541)      1: Opening 0x00000000400000-0x00000000401000 0000000000000000 (20000041) vma
(00.020545)      1: Error (criu/files-reg.c:2175): File bin/busybox has bad size 129736 (expect 2063232)
(00.020548)      1: Error (criu/mem.c:1467): \`- Can't open vma
(00.021098) mnt: Switching to new ns to clean ghosts
(00.021281) Error (criu/cr-restore.c:2331): Restoring FAILED.
(00.022055) Error (criu/cgroup.c:2055): cg: cgroupd: recv req error: No such file or directory
`;

void test('parseCriuLog finds Error lines with and without timestamps', () => {
  const errors = parseCriuLog(DUMP_FAILED);
  assert.equal(errors.length, 7);
  assert.deepEqual(errors[0], {
    level: 'error',
    seconds: 0.000703,
    source: 'criu/util.c:1534',
    message: "rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted",
  });
  assert.deepEqual(errors[1], {
    level: 'error',
    source: 'criu/util.c:642',
    message: 'execvp("iptables-restore", ...) failed: No such file or directory',
  });
  assert.match(errors[5]!.message, /^net: Locking network failed/);
  assert.deepEqual(errors.at(-1), {
    level: 'error',
    seconds: 0.006735,
    source: 'criu/cr-dump.c:1975',
    message: 'Dumping FAILED.',
  });
});

void test('parseCriuLog reads the pid prefix of restored tasks and warnings on request', () => {
  const errors = parseCriuLog(RESTORE_FAILED);
  assert.equal(errors.length, 4);
  assert.equal(errors[0]!.pid, 1);
  assert.equal(errors[0]!.message, 'File bin/busybox has bad size 129736 (expect 2063232)');
  assert.equal(errors[2]!.pid, undefined);
  const withWarn = parseCriuLog(RESTORE_FAILED, { warnings: true });
  assert.equal(withWarn.length, 5);
  assert.equal(withWarn[0]!.level, 'warn');
  assert.equal(withWarn[0]!.source, 'criu/cr-restore.c:1050');
});

void test('lastLines', () => {
  assert.deepEqual(lastLines('a\nb\nc\n', 2), ['b', 'c']);
  assert.deepEqual(lastLines('a\nb', 5), ['a', 'b']);
  assert.deepEqual(lastLines('a\n', 0), []);
});

void test('criuLogTail reads the end of <work>/<action>.log; a missing log is empty', async () => {
  const work = await mkdtemp(join(tmpdir(), 'zp-criu-log-'));
  try {
    assert.deepEqual(await criuLogTail(work, 'dump', 20), []);
    await writeFile(join(work, 'dump.log'), DUMP_FAILED);
    const tail = await criuLogTail(work, 'dump', 3);
    assert.deepEqual(tail, [
      '(00.006716) Unfreezing tasks into 1',
      '(00.006718) \tUnseizing 943 into 1',
      '(00.006735) Error (criu/cr-dump.c:1975): Dumping FAILED.',
    ]);
    const report = await criuFailureReport(work, 'dump', 20);
    assert.equal(report.logPath, join(work, 'dump.log'));
    assert.equal(report.errors.length, 7);
    assert.equal(report.tail.length, 13);
    const none = await criuFailureReport(work, 'restore');
    assert.deepEqual(none, { logPath: join(work, 'restore.log'), tail: [], errors: [] });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

void test('readLogEnd of a big log starts at a line boundary', async () => {
  const work = await mkdtemp(join(tmpdir(), 'zp-criu-log-'));
  try {
    const path = join(work, 'restore.log');
    await writeFile(path, '');
    for (let i = 0; i < 2000; i++)
      await appendFile(path, `(00.${String(i).padStart(6, '0')}) line number ${i}\n`);
    const text = (await readLogEnd(path, 1000))!;
    assert.ok(text.length <= 1000);
    assert.match(text, /^\(00\.\d{6}\) line number \d+\n/);
    assert.match(text, /line number 1999\n$/);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

void test('describeCriuFailure quotes the Error lines from the middle of the log, not the tail', () => {
  // The non-root dump seen here: the cause sits far above the end of dump.log.
  const log = [
    '(00.000100) Dumping task 1',
    "(00.000200) Error (criu/cr-dump.c:851): Can't get rlimit 0: Operation not permitted",
    ...Array.from({ length: 40 }, (_, i) => `(00.0003${String(i).padStart(2, '0')}) noise ${i}`),
    '(00.000500) Error (criu/cr-dump.c:2093): Dumping FAILED.',
  ].join('\n');
  const text = describeCriuFailure({
    logPath: '/w/dump.log',
    tail: lastLines(log, 20),
    errors: parseCriuLog(log),
  });
  const [cause, ...lines] = text.split('\n');
  assert.match(cause ?? '', /^Cause: the app runs as a non-root user, .*CAP_SYS_RESOURCE/);
  assert.deepEqual(lines, [
    'CRIU said (/w/dump.log):',
    "Error (criu/cr-dump.c:851): Can't get rlimit 0: Operation not permitted",
    'Error (criu/cr-dump.c:2093): Dumping FAILED.',
  ]);
});

void test('describeCriuFailure names no cause for errors it does not recognise', () => {
  const log = [
    "(00.000200) Error (criu/cr-dump.c:851): Can't get rlimit 0: No such process",
    '(00.000500) Error (criu/cr-dump.c:2093): Dumping FAILED.',
  ].join('\n');
  const text = describeCriuFailure({ logPath: '/w/dump.log', tail: [], errors: parseCriuLog(log) });
  assert.ok(text.startsWith('CRIU said (/w/dump.log):\n'), text);
  assert.doesNotMatch(text, /Cause:/);
});

void test('describeCriuFailure stays bounded with many or long error lines, and falls back to the tail', () => {
  const log = Array.from(
    { length: 500 },
    (_, i) => `(00.100000) Error (criu/x.c:${i}): ${'y'.repeat(10_000)}`,
  ).join('\n');
  const text = describeCriuFailure({ logPath: '/w/dump.log', tail: [], errors: parseCriuLog(log) });
  assert.ok(text.length < 4000, `${text.length}`);
  assert.match(text, /criu\/x\.c:0\)/);
  assert.match(text, /criu\/x\.c:499\)/);
  assert.match(text, /492 more error lines/);
  const none = describeCriuFailure({ logPath: '/w/restore.log', tail: ['a', 'b'], errors: [] });
  assert.equal(none, '/w/restore.log has no error line; its last 2 lines:\na\nb');
  assert.equal(
    describeCriuFailure({ logPath: '/w/restore.log', tail: [], errors: [] }),
    'CRIU wrote nothing to /w/restore.log',
  );
});

void test('describeCriuFailure says a repeated error line once, so the distinct causes stay in view', () => {
  const retried = Array.from({ length: 6 }, () => [
    '(00.020000) Error (criu/util.c:642): execvp("iptables-restore", ...) failed: No such file or directory',
    '(00.020100) Error (criu/util.c:657): exited, status=1',
  ]).flat();
  const log = [
    "(00.010000) Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted",
    ...retried,
    '(00.030000) Error (criu/net.c:3120): Locking network failed',
    '(00.040000) Error (criu/cr-dump.c:2093): Dumping FAILED.',
  ].join('\n');
  const text = describeCriuFailure({ logPath: '/w/dump.log', tail: [], errors: parseCriuLog(log) });
  assert.match(text, /iptables-restore.*\(x6\)/);
  assert.match(text, /Locking network failed/);
  assert.match(text, /Dumping FAILED/);
  assert.doesNotMatch(text, /more error lines/);
});
