/**
 * A stand-in worker for keeper.test.ts: serves raw ttrpc frames on its socket and never touches
 * containers. Generation 1 answers nothing (its requests are in flight when it is killed) and asks
 * the keeper to keep a log file's fd; later generations answer every request OK and write a line
 * into the kept fd, proving they inherited it.
 */
import { appendFileSync, openSync, rmSync, writeSync } from 'node:fs';
import net from 'node:net';
import { create, toBinary } from '@bufbuild/protobuf';
import { ResponseSchema } from '../../../gen/github.com/containerd/ttrpc/request_pb.js';
import { FrameDecoder, GrpcCode, MessageType, encodeFrame, newStatus } from '../../../ttrpc/index.ts';

const dir = process.env['FAKE_DIR']!;
const kept = JSON.parse(process.env['ZEROPOD_KEPT_FDS'] ?? '{}') as Record<string, number>;
const generation = kept['log'] === undefined ? 1 : 2;
appendFileSync(`${dir}/starts`, `${generation}\n`);
if (generation === 1) {
  const fd = openSync(`${dir}/log`, 'a');
  process.send!({ type: 'keep', key: 'log', fd });
} else {
  writeSync(kept['log']!, `written by generation ${generation} through the kept fd\n`);
}

const server = net.createServer((s) => {
  const dec = new FrameDecoder();
  s.on('data', (chunk) => {
    for (const d of dec.push(chunk)) {
      if (d.kind !== 'frame' || d.frame.type !== MessageType.Request || generation === 1) continue;
      const payload = toBinary(ResponseSchema, create(ResponseSchema, { status: newStatus(GrpcCode.OK) }));
      s.write(encodeFrame({ streamId: d.frame.streamId, type: MessageType.Response, flags: 0, payload }));
    }
  });
  s.on('error', () => undefined);
});
rmSync(process.env['ZEROPOD_WORKER_SOCKET']!, { force: true });
server.listen(process.env['ZEROPOD_WORKER_SOCKET']!, () => process.send!({ type: 'ready' }));
process.on('disconnect', () => process.exit(0));
