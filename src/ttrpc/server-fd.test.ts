/**
 * Serving on an inherited listening fd, the way a shim's `start` hands its socket to the daemon it
 * spawns: a starter process binds the path, passes the fd as fd 3 to a daemon process and exits
 * without closing it (closing would unlink the path); the daemon serves until its first call is
 * answered, then shuts down gracefully.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { TtrpcClient } from './client.ts';
import { bytes, tempSocketPath, text } from './testing.ts';

const serverModule = fileURLToPath(new URL('./server.ts', import.meta.url));

void test('serves on a listening fd inherited from another process', async () => {
  await using dir = await tempSocketPath();
  const daemon = `
    const { TtrpcServer } = await import(${JSON.stringify(serverModule)});
    const server = new TtrpcServer().register('test.Echo', {
      Echo: async (req) => (setTimeout(() => void server.shutdown(), 10), req),
    });
    await server.serve({ fd: 3 });
    process.stdout.write('ready\\n');
  `;
  const starter = `
    const net = require('node:net');
    const { spawn } = require('node:child_process');
    const listener = net.createServer().listen(${JSON.stringify(dir.path)}, () => {
      const args = ['--import', 'tsx', '--input-type=module', '-e', ${JSON.stringify(daemon)}];
      spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', listener._handle.fd] });
      process.exit(0);
    });
  `;
  const child = spawn(process.execPath, ['-e', starter], { stdio: ['ignore', 'pipe', 'inherit'] });
  const daemonGone = once(child.stdout, 'close');
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  assert.equal(line.toString().trim(), 'ready');
  await using client = await TtrpcClient.connect(dir.path);
  assert.equal(text(await client.call('test.Echo', 'Echo', bytes('via fd'))), 'via fd');
  await client.closed;
  // The daemon (which shares the starter's stdout) exits once its server has shut down.
  await daemonGone;
});
