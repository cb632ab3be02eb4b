import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, ZeropodError } from '../base/index.ts';
import { renderCriuConfig, writeCriuConfig } from './criu-config.ts';

void test('renders CRIU option names (not runc flag names), one per line', () => {
  const text = renderCriuConfig({
    networkLock: 'skip',
    skipInFlight: true,
    tcpEstablished: true,
    tcpClose: false,
    linkRemap: true,
    fileLocks: false,
    extUnixSk: true,
    ghostLimitBytes: 1 << 20,
    timeoutSeconds: 10,
    skipMounts: ['/dev/shm', '/with space'],
    manageCgroups: 'ignore',
  });
  assert.deepEqual(text.split('\n'), [
    '# written by zeropod-ts',
    'network-lock skip',
    'skip-in-flight',
    'tcp-established',
    'no-tcp-close',
    'link-remap',
    'no-file-locks',
    'ext-unix-sk',
    'ghost-limit 1048576',
    'timeout 10',
    'skip-mnt /dev/shm',
    'skip-mnt "/with space"',
    'manage-cgroups ignore',
    '',
  ]);
  assert.equal(renderCriuConfig({}), '# written by zeropod-ts\n');
});

void test('refuses values that would break the file', () => {
  const invalid = (e: unknown) => e instanceof ZeropodError && e.code === ErrorCode.InvalidArgument;
  assert.throws(() => renderCriuConfig({ skipMounts: ['/a\nlog-level 4'] }), invalid);
  assert.throws(() => renderCriuConfig({ ghostLimitBytes: -1 }), invalid);
  assert.throws(() => renderCriuConfig({ timeoutSeconds: 1.5 }), invalid);
});

void test('writeCriuConfig replaces the file atomically', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'zp-criu-conf-'));
  try {
    const path = join(dir, 'criu.conf');
    await writeCriuConfig(path, { networkLock: 'skip' });
    await writeCriuConfig(path, { networkLock: 'nftables', skipInFlight: true });
    assert.equal(
      await readFile(path, 'utf8'),
      '# written by zeropod-ts\nnetwork-lock nftables\nskip-in-flight\n',
    );
    assert.deepEqual(await readdir(dir), ['criu.conf']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('external mounts render as CRIU spells them; a key CRIU would misparse is refused', () => {
  assert.match(
    renderCriuConfig({ externalMounts: [{ key: '/dev', value: 'zp-tmpfs-0' }] }),
    /^external mnt\[\/dev\]:zp-tmpfs-0$/m,
  );
  assert.throws(
    () => renderCriuConfig({ externalMounts: [{ key: '/a]b', value: 'x' }] }),
    (err: unknown) => err instanceof ZeropodError && /CRIU external mount/.test(err.message),
  );
});
