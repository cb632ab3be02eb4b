import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { silentLogger } from '../../base/index.ts';
import { RequestSchema, ResponseSchema } from '../../gen/github.com/containerd/ttrpc/request_pb.js';
import { FrameDecoder, GrpcCode, MessageType, encodeFrame } from '../../ttrpc/index.ts';
import { Keeper } from './keeper.ts';

const request = (streamId: number, method: string) =>
  encodeFrame({
    streamId,
    type: MessageType.Request,
    flags: 0,
    payload: toBinary(RequestSchema, create(RequestSchema, { service: 'containerd.task.v2.Task', method })),
  });

void test('a killed worker: Wait is answered by the next one, Kill gets UNAVAILABLE, a kept fd is inherited', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'zp-keeper-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keeper = new Keeper({
    listen: { path: path.join(dir, 'task.sock') },
    workerSocket: path.join(dir, 'task.sock.w'),
    // Absolute: the keeper starts its workers in /.
    workerArgv: [
      '--import',
      import.meta.resolve('tsx'),
      new URL('./testdata/fake-worker.ts', import.meta.url).pathname,
    ],
    workerEnv: { ...process.env, FAKE_DIR: dir },
    holdMs: 10_000,
    log: silentLogger,
  });
  await keeper.start();
  t.after(() => keeper.close());

  // containerd's side: one connection, answers collected by stream id.
  const answers = new Map<number, { code: number; at: number }>();
  const client = net.connect({ path: path.join(dir, 'task.sock') });
  const dec = new FrameDecoder();
  client.on('data', (chunk) => {
    for (const d of dec.push(chunk)) {
      if (d.kind !== 'frame') continue;
      const status = fromBinary(ResponseSchema, d.frame.payload).status;
      answers.set(d.frame.streamId, { code: status?.code ?? 0, at: performance.now() });
    }
  });
  await new Promise<void>((r) => client.once('connect', () => r()));
  const until = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(ok(), what);
  };
  await until('the first worker keeps the log fd', () => keeper.stats.kept === 1);
  client.write(Buffer.concat([request(1, 'Wait'), request(3, 'Kill')]));
  await new Promise((r) => setTimeout(r, 200)); // the first worker holds both, answering nothing
  assert.equal(answers.size, 0);

  const first = keeper.workerPid!;
  const killedAt = performance.now();
  process.kill(first, 'SIGKILL');
  await until('both answered', () => answers.size === 2);
  assert.equal(answers.get(3)?.code, GrpcCode.UNAVAILABLE, 'Kill, in flight at the death, is Unavailable');
  assert.equal(answers.get(1)?.code, GrpcCode.OK, 'Wait was sent again and answered by the next worker');
  assert.notEqual(keeper.workerPid, first);
  t.diagnostic(
    `the replayed Wait was answered ${Math.round(answers.get(1)!.at - killedAt)} ms after the kill`,
  );

  client.write(request(5, 'State'));
  await until('a new request is served', () => answers.get(5)?.code === GrpcCode.OK);
  assert.deepEqual(readFileSync(path.join(dir, 'starts'), 'utf8').trim().split('\n'), ['1', '2']);
  assert.equal(
    readFileSync(path.join(dir, 'log'), 'utf8'),
    'written by generation 2 through the kept fd\n',
    'the second worker inherited the fd the first asked the keeper to keep',
  );
  assert.equal(keeper.stats.restarts, 1);
  client.destroy();
});
