/**
 * The exec agent and its client, on the host's loopback (the guest runs the same file): exit codes,
 * both streams, stdin, a wrong token refused, an abort killing the command.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { agentExec, type AgentAddress } from './agent-client.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), 'vm-agent-'));
let agent: ChildProcess;
let addr: AgentAddress;

before(async () => {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  addr = { port, token: 'f00d' };
  writeFileSync(path.join(dir, 'token'), 'f00d\n');
  agent = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(here, 'guest/agent.ts'),
      '--port',
      String(port),
      '--token-file',
      path.join(dir, 'token'),
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    const ok = await agentExec(addr, ['true']).then(
      () => true,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error('the agent did not answer within 10 s');
});
after(() => {
  agent.kill();
  rmSync(dir, { recursive: true, force: true });
});

test('exit code, stdout and stderr come back', async () => {
  const r = await agentExec(addr, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.deepEqual(r, { code: 3, signal: null, stdout: 'out\n', stderr: 'err\n' });
});

test('stdin, cwd and env reach the command', async () => {
  const r = await agentExec(addr, ['sh', '-c', 'cat; pwd; echo $ZP_X'], {
    input: 'piped\n',
    cwd: dir,
    env: { ZP_X: 'yes' },
  });
  assert.equal(r.stdout, `piped\n${dir}\nyes\n`);
});

test('a wrong token is refused and runs nothing', async () => {
  const marker = path.join(dir, 'ran');
  await assert.rejects(agentExec({ ...addr, token: 'bad' }, ['touch', marker]), /not the token of this VM/);
  assert.equal(existsSync(marker), false);
});

test('a command that cannot start is an error naming it', async () => {
  await assert.rejects(agentExec(addr, ['/nonexistent/cmd']), /cannot run \/nonexistent\/cmd/);
});

test('aborting kills the command and its process group', async () => {
  const marker = path.join(dir, 'survived');
  const ac = new AbortController();
  const p = agentExec(addr, ['sh', '-c', `sleep 1 & wait; touch ${marker}`], { signal: ac.signal });
  await sleep(200);
  ac.abort();
  await assert.rejects(p, /canceled/);
  await sleep(1500);
  assert.equal(existsSync(marker), false, 'the shell was killed before it could touch the file');
});

test('output larger than a frame arrives whole and in order', async () => {
  const r = await agentExec(addr, ['sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" x; echo']);
  assert.equal(r.stdout, `${'x'.repeat(300000)}\n`);
});
