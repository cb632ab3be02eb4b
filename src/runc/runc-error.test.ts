import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../base/index.ts';
import { classifyRuncMessage, lastLogError, lastStderrLine, runcError, RuncExitError } from './runc-error.ts';

// Lines as runc 1.3.6 wrote them to --log (--log-format json) in the node environment.
const LOG = [
  '{"level":"warning","msg":"unable to get oom kill count","time":"2026-11-26T05:10:51Z"}',
  '{"level":"error","msg":"container does not exist","time":"2026-11-26T05:10:51Z"}',
  '{"level":"error","msg":"runc create failed: container with given ID already exists","time":"2026-11-26T05:10:51Z"}',
  '{"level":"info","msg":"later info","time":"2026-11-26T05:10:52Z"}',
  '',
].join('\n');

void test('lastLogError takes the last error line and skips other levels and torn lines', () => {
  assert.equal(lastLogError(LOG), 'runc create failed: container with given ID already exists');
  assert.equal(
    lastLogError(LOG + '{"level":"error","msg":"torn'),
    'runc create failed: container with given ID already exists',
  );
  assert.equal(lastLogError('{"level":"fatal","msg":"boom"}\nnot json\n'), 'boom');
  assert.equal(lastLogError(''), undefined);
  assert.equal(lastLogError('{"level":"warning","msg":"w"}'), undefined);
});

void test('a message with an escaped newline (criu failure) survives JSON decoding', () => {
  const line =
    '{"level":"error","msg":"criu failed: type NOTIFY errno 0\\nlog file: /w/dump.log","time":"x"}';
  assert.equal(lastLogError(line), 'criu failed: type NOTIFY errno 0\nlog file: /w/dump.log');
});

void test('lastStderrLine ignores blank lines', () => {
  assert.equal(lastStderrLine('foo\ncontainer does not exist\n\n'), 'container does not exist');
  assert.equal(lastStderrLine('  \n'), undefined);
});

void test('runc 1.3.6 messages map to our codes', () => {
  const cases: [Parameters<typeof classifyRuncMessage>[0], string, ErrorCode][] = [
    ['state', 'container does not exist', ErrorCode.NotFound],
    ['delete', 'container does not exist', ErrorCode.NotFound],
    ['create', 'runc create failed: container with given ID already exists', ErrorCode.AlreadyExists],
    ['state', 'invalid container ID format', ErrorCode.InvalidArgument],
    ['kill', 'container not running', ErrorCode.NotFound],
    ['pause', 'container not running', ErrorCode.FailedPrecondition],
    ['resume', 'container not paused', ErrorCode.FailedPrecondition],
    ['start', 'cannot start an already running container', ErrorCode.FailedPrecondition],
    ['start', 'cannot start a container that has stopped', ErrorCode.FailedPrecondition],
    ['delete', 'cannot delete container zpx that is not stopped: running', ErrorCode.FailedPrecondition],
    ['exec', 'exec failed: cannot exec in a stopped container', ErrorCode.FailedPrecondition],
    [
      'exec',
      'exec failed: cannot exec in a paused container (use --ignore-paused to override)',
      ErrorCode.FailedPrecondition,
    ],
    ['events', 'container with id zpx is not running', ErrorCode.FailedPrecondition],
    ['checkpoint', 'Container cannot be checkpointed in stopped state', ErrorCode.FailedPrecondition],
    [
      'exec',
      'exec failed: unable to start container process: exec: "true": executable file not found in $PATH',
      ErrorCode.Internal,
    ],
    ['checkpoint', 'criu failed: type NOTIFY errno 0\nlog file: /w/dump.log', ErrorCode.Internal],
    // "does not exist" about something other than the container is not NotFound
    [
      'create',
      'runc create failed: unable to start container process: exec: "/x": stat /x: no such file or directory',
      ErrorCode.Internal,
    ],
  ];
  for (const [cmd, msg, code] of cases) assert.equal(classifyRuncMessage(cmd, msg), code, `${cmd}: ${msg}`);
});

void test('runcError: runc words in the message, exit as the cause, facts in details', () => {
  const e = runcError({
    command: 'state',
    id: 'c1',
    argv: ['--root', '/r', 'state', 'c1'],
    exitCode: 1,
    signal: null,
    logText: LOG.split('\n')[1]!,
    stderr: 'container does not exist\n',
  });
  assert.equal(e.code, ErrorCode.NotFound);
  assert.equal(e.message, 'runc state c1: container does not exist');
  assert.ok(e.cause instanceof RuncExitError);
  assert.equal((e.cause as RuncExitError).exitCode, 1);
  assert.equal(e.details['runcError'], 'container does not exist');
  assert.equal(e.details['id'], 'c1');
});

void test('runcError falls back to stderr, then to the exit status', () => {
  const base = { command: 'start' as const, id: 'c1', argv: [], exitCode: 1, signal: null, logText: '' };
  assert.equal(
    runcError({ ...base, stderr: 'cannot start an already running container\n' }).code,
    ErrorCode.FailedPrecondition,
  );
  const bare = runcError({ ...base, exitCode: null, signal: 'SIGKILL', stderr: '' });
  assert.equal(bare.code, ErrorCode.Internal);
  assert.equal(bare.message, 'runc start c1: runc was killed by SIGKILL');
});

void test('runcError appends extra text (CRIU log tail) and its details', () => {
  const e = runcError({
    command: 'checkpoint',
    id: 'c1',
    argv: [],
    exitCode: 1,
    signal: null,
    logText: '{"level":"error","msg":"criu failed: type NOTIFY errno 0"}',
    stderr: '',
    extra: '/w/dump.log (last 1 lines):\n(00.1) Error (criu/cr-dump.c:1): boom',
    extraDetails: { criuLog: '/w/dump.log' },
  });
  assert.match(
    e.message,
    /^runc checkpoint c1: criu failed: type NOTIFY errno 0\n\/w\/dump\.log \(last 1 lines\):\n.*boom$/,
  );
  assert.equal(e.details['criuLog'], '/w/dump.log');
});
