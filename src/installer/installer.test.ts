import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCode, silentLogger, ZeropodError } from '../base/index.ts';
import { runInstaller } from './installer.ts';
import { compileOptions } from './options.ts';
import type { RunTool } from './restart.ts';

void test('flags compile into options; bad ones are named with the expected form', () => {
  const o = compileOptions([
    '--flavor',
    'k3s',
    '--host-root',
    '/host',
    '--restart-command',
    'ctl restart',
    '--skip-runtime-copy',
  ]);
  assert.equal(o.action, 'install');
  assert.equal(o.layout.config, '/var/lib/rancher/k3s/agent/etc/containerd/config.toml');
  assert.equal(o.hostRoot, '/host');
  assert.equal(o.runtimePath, '/opt/zeropod/bin/containerd-shim-zeropod-v2');
  assert.deepEqual(o.restartCommand, ['ctl', 'restart']);
  assert.equal(o.copyRuntime, false);
  const moved = compileOptions([
    '--uninstall',
    '--flavor',
    'rke2',
    '--config',
    '/tmp/c/config.toml',
    '--opt-dir',
    '/usr/local/zeropod',
  ]);
  assert.equal(moved.action, 'uninstall');
  assert.deepEqual(moved.layout.template, { 2: '/tmp/c/config.toml.tmpl', 3: '/tmp/c/config-v3.toml.tmpl' });
  assert.equal(moved.runtimePath, '/usr/local/zeropod/bin/containerd-shim-zeropod-v2');
  for (const [argv, pattern] of [
    [['--flavor', 'docker'], /--flavor must be one of containerd, k3s, rke2, got "docker"/],
    [['--config', 'config.toml'], /--config must be an absolute path, got "config.toml"/],
    [['--timeout', '0'], /--timeout must be a positive number of seconds/],
    [['--frobnicate'], /bad flags \(zeropod-installer --help lists them\)/],
    [['--restart-command', ' '], /--restart-command must name a command/],
  ] as const) {
    assert.throws(
      () => compileOptions([...argv]),
      (e: unknown) =>
        e instanceof ZeropodError && e.code === ErrorCode.InvalidArgument && pattern.test(e.message),
    );
  }
});

void test('install restarts containerd once; a second run does not; uninstall restores and restarts', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'zp-installer-run-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const original = 'version = 3\n\n[grpc]\n  address = "/run/containerd/containerd.sock"\n';
  await mkdir(path.join(root, 'etc/containerd'), { recursive: true });
  await mkdir(path.join(root, 'usr/bin'), { recursive: true });
  await writeFile(path.join(root, 'etc/containerd/config.toml'), original);
  await writeFile(path.join(root, 'usr/bin/containerd'), '');
  const calls: string[] = [];
  const run: RunTool = (argv) => {
    calls.push(argv.join(' '));
    return Promise.resolve({ code: 0, stdout: '', stderr: '' });
  };
  const deps = { run, log: silentLogger, selfDist: '/nonexistent', execPath: '/nonexistent' };
  const flags = ['--host-root', root, '--skip-runtime-copy', '--restart-command', '/sbin/ctl restart'];

  const first = await runInstaller(compileOptions(flags), deps);
  assert.equal(first.config.kind, 'installed');
  assert.equal(first.restarted, '/sbin/ctl restart');
  const second = await runInstaller(compileOptions(flags), deps);
  assert.equal(second.config.kind, 'unchanged');
  assert.equal(second.restarted, undefined);
  assert.deepEqual(calls, ['/sbin/ctl restart']);

  const gone = await runInstaller(compileOptions([...flags, '--uninstall']), deps);
  assert.equal(gone.config.kind, 'uninstalled');
  assert.equal(await readFile(path.join(root, 'etc/containerd/config.toml'), 'utf8'), original);
  assert.deepEqual(calls, ['/sbin/ctl restart', '/sbin/ctl restart']);
});

void test('a host without systemd and without a restart command is refused before anything changes', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'zp-installer-run-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(path.join(root, 'etc/containerd'), { recursive: true });
  await writeFile(path.join(root, 'etc/containerd/config.toml'), 'version = 3\n');
  const deps = {
    run: () => Promise.reject(new Error('nothing may run')),
    log: silentLogger,
    selfDist: '/x',
    execPath: '/x',
  };
  await assert.rejects(
    runInstaller(compileOptions(['--host-root', root]), deps),
    /no systemd .* expected --restart-command/,
  );
  assert.equal(await readFile(path.join(root, 'etc/containerd/config.toml'), 'utf8'), 'version = 3\n');
});

void test('a bad config stops the run before any runtime file is copied', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'zp-installer-run-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(path.join(root, 'etc/containerd'), { recursive: true });
  await mkdir(path.join(root, 'usr/bin'), { recursive: true });
  await writeFile(path.join(root, 'usr/bin/containerd'), '');
  await writeFile(path.join(root, 'etc/containerd/config.toml'), 'version = 3\n[grpc\n');
  const deps = {
    run: () => Promise.reject(new Error('nothing may run')),
    log: silentLogger,
    selfDist: '/x',
    execPath: '/x',
  };
  await assert.rejects(
    runInstaller(compileOptions(['--host-root', root, '--restart-command', 'ctl restart']), deps),
    (e: unknown) =>
      e instanceof ZeropodError &&
      e.code === ErrorCode.InvalidArgument &&
      /not valid TOML at line 2/.test(e.message),
  );
  await assert.rejects(readFile(path.join(root, 'opt/zeropod/.zeropod-files')), /ENOENT/);
});
