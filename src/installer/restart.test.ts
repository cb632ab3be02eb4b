import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, silentLogger, ZeropodError } from '../base/index.ts';
import { chooseRestart, parseCommand, restartContainerd, runTool, type RunTool } from './restart.ts';

/** A fake systemctl: `active` units answer is-active with 0; records every call. */
function fakeSystemctl(active: string[], restartCode = 0) {
  const calls: string[] = [];
  const run: RunTool = (argv) => {
    calls.push(argv.join(' '));
    if (argv[1] === 'is-active')
      return Promise.resolve({ code: active.includes(argv[3] ?? '') ? 0 : 3, stdout: '', stderr: '' });
    return Promise.resolve({
      code: restartCode,
      stdout: '',
      stderr: restartCode === 0 ? '' : 'Job for x failed.',
    });
  };
  return { run, calls };
}
const signal = new AbortController().signal;

void test('systemd where present, the command when given, an error when neither', () => {
  assert.deepEqual(chooseRestart({ hostHasSystemd: true, units: ['containerd.service'] }), {
    kind: 'systemd',
    units: ['containerd.service'],
    systemctl: 'systemctl',
  });
  assert.deepEqual(chooseRestart({ hostHasSystemd: true, units: [], command: ['ctl', 'restart'] }), {
    kind: 'command',
    argv: ['ctl', 'restart'],
  });
  assert.deepEqual(chooseRestart({ hostHasSystemd: false, units: [], noRestart: true }), { kind: 'none' });
  assert.throws(
    () => chooseRestart({ hostHasSystemd: false, units: ['containerd.service'] }),
    (e: unknown) =>
      e instanceof ZeropodError &&
      e.code === ErrorCode.FailedPrecondition &&
      /expected --restart-command/.test(e.message),
  );
});

void test('k3s: restarts the active one of server and agent units', async () => {
  const { run, calls } = fakeSystemctl(['k3s-agent.service']);
  const unit = await restartContainerd(
    { kind: 'systemd', units: ['k3s.service', 'k3s-agent.service'], systemctl: 'systemctl' },
    run,
    signal,
    silentLogger,
  );
  assert.equal(unit, 'k3s-agent.service');
  assert.deepEqual(calls, [
    'systemctl is-active --quiet k3s.service',
    'systemctl is-active --quiet k3s-agent.service',
    'systemctl restart k3s-agent.service',
  ]);
});

void test('no active unit and a failing restart are named', async () => {
  await assert.rejects(
    restartContainerd(
      { kind: 'systemd', units: ['containerd.service'], systemctl: 'systemctl' },
      fakeSystemctl([]).run,
      signal,
      silentLogger,
    ),
    /none of the units containerd\.service is active/,
  );
  await assert.rejects(
    restartContainerd(
      { kind: 'systemd', units: ['containerd.service'], systemctl: 'systemctl' },
      fakeSystemctl(['containerd.service'], 1).run,
      signal,
      silentLogger,
    ),
    /systemctl restart containerd\.service exited 1: Job for x failed\./,
  );
});

void test('a configured command runs as given; its failure carries its output', async () => {
  assert.deepEqual(parseCommand('  /x/containerd-ctl.sh   restart ', '--restart-command'), [
    '/x/containerd-ctl.sh',
    'restart',
  ]);
  assert.throws(() => parseCommand(' ', '--restart-command'), /--restart-command must name a command/);
  assert.equal(
    await restartContainerd({ kind: 'command', argv: ['sh', '-c', 'exit 0'] }, runTool, signal, silentLogger),
    'sh -c exit 0',
  );
  await assert.rejects(
    restartContainerd(
      { kind: 'command', argv: ['sh', '-c', 'echo no containerd here >&2; exit 3'] },
      runTool,
      signal,
      silentLogger,
    ),
    /exited 3: no containerd here/,
  );
  await assert.rejects(
    restartContainerd({ kind: 'command', argv: ['/nonexistent/ctl'] }, runTool, signal, silentLogger),
    /cannot run \/nonexistent\/ctl/,
  );
});
