import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger as log } from '../base/index.ts';
import { HostFiles } from './host-files.ts';
import { signalUpgrade, type UpgradeDeps } from './upgrade-signal.ts';

function host(markers: Record<string, string>): HostFiles {
  const root = mkdtempSync(path.join(tmpdir(), 'zp-upgrade-'));
  mkdirSync(path.join(root, 'run/zeropod/s'), { recursive: true });
  for (const [name, text] of Object.entries(markers))
    writeFileSync(path.join(root, 'run/zeropod/s', name), text);
  return new HostFiles(root);
}

function fakeProcs(procs: Record<number, string>): UpgradeDeps & { sent: [number, string][] } {
  const sent: [number, string][] = [];
  return {
    sent,
    cmdline: async (pid) => procs[pid],
    kill: (pid, signal) => void sent.push([pid, signal]),
  };
}

test('the keeper of each namespace gets SIGHUP; its worker and everything else do not', async () => {
  const files = host({
    'node-k8s.io.pid': '4242\n',
    'node-k8s.io.worker.pid': '4300',
    'node-k8s.io.addr': 'unix:///x',
    'node-moby.pid': '77',
  });
  const procs = fakeProcs({
    4242: '/opt/zeropod/bin/node /opt/zeropod/dist/containerd-shim-zeropod-v2.mjs -namespace k8s.io start',
    4300: '/opt/zeropod/bin/node /opt/zeropod/dist/containerd-shim-zeropod-v2.mjs -namespace k8s.io worker',
    77: '/opt/zeropod/bin/node /opt/zeropod/dist/containerd-shim-zeropod-v2.mjs -namespace moby',
  });
  const r = await signalUpgrade(files, log, procs);
  assert.deepEqual(r.signalled, ['k8s.io', 'moby']);
  assert.deepEqual(procs.sent, [
    [4242, 'SIGHUP'],
    [77, 'SIGHUP'],
  ]);
});

test('a pid that is not visible, not a zeropod shim, or not a pid is skipped with the reason', async () => {
  const files = host({ 'node-a.pid': '10', 'node-b.pid': '11', 'node-c.pid': 'garbage' });
  const procs = fakeProcs({ 11: '/usr/sbin/sshd -D' });
  const r = await signalUpgrade(files, log, procs);
  assert.deepEqual(r.signalled, []);
  assert.deepEqual(procs.sent, []);
  assert.match(r.skipped.find((s) => s.namespace === 'a')?.reason ?? '', /hostPID/);
  assert.match(r.skipped.find((s) => s.namespace === 'b')?.reason ?? '', /not a zeropod shim/);
  assert.match(r.skipped.find((s) => s.namespace === 'c')?.reason ?? '', /no pid/);
});

test('a node where no shim ever ran: nothing to do', async () => {
  const r = await signalUpgrade(
    new HostFiles(mkdtempSync(path.join(tmpdir(), 'zp-upgrade-'))),
    log,
    fakeProcs({}),
  );
  assert.deepEqual(r, { signalled: [], skipped: [] });
});
