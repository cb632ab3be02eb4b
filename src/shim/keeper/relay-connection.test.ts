import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { RequestSchema, ResponseSchema } from '../../gen/github.com/containerd/ttrpc/request_pb.js';
import {
  FrameDecoder,
  GrpcCode,
  MessageType,
  encodeFrame,
  newStatus,
  statusMessage,
} from '../../ttrpc/index.ts';
import { RelayConnection } from './relay-connection.ts';

const request = (streamId: number, method: string) =>
  encodeFrame({
    streamId,
    type: MessageType.Request,
    flags: 0,
    payload: toBinary(RequestSchema, create(RequestSchema, { service: 'containerd.task.v2.Task', method })),
  });

const response = (streamId: number) =>
  encodeFrame({
    streamId,
    type: MessageType.Response,
    flags: 0,
    payload: toBinary(ResponseSchema, create(ResponseSchema, { status: newStatus(GrpcCode.OK) })),
  });

/** A relay with recording ends and a hand-moved clock. */
function relay() {
  let clock = 0;
  const toContainerd = new FrameDecoder();
  const answers: { streamId: number; code: number; message: string }[] = [];
  const r = new RelayConnection({
    holdMs: 10_000,
    now: () => clock,
    toContainerd: (bytes) => {
      for (const d of toContainerd.push(bytes)) {
        if (d.kind !== 'frame') throw new Error('oversize to containerd');
        const status = fromBinary(ResponseSchema, d.frame.payload).status!;
        answers.push({ streamId: d.frame.streamId, code: status.code, message: statusMessage(status) });
      }
    },
  });
  const worker = () => {
    const dec = new FrameDecoder();
    const got: { streamId: number; method: string }[] = [];
    const send = (bytes: Buffer) => {
      for (const d of dec.push(bytes)) {
        if (d.kind === 'frame')
          got.push({ streamId: d.frame.streamId, method: fromBinary(RequestSchema, d.frame.payload).method });
      }
    };
    return { got, send };
  };
  return { r, answers, worker, tick: (ms: number) => (clock += ms) };
}

/** Feeds `bytes` one byte at a time: frames must come out whole whatever the chunking. */
function trickle(feed: (b: Uint8Array) => void, bytes: Buffer): void {
  for (let i = 0; i < bytes.length; i++) feed(bytes.subarray(i, i + 1));
}

void test('whole frames pass both ways; an answered request is forgotten', () => {
  const { r, answers, worker } = relay();
  const w = worker();
  r.attach(w.send);
  trickle((b) => r.fromContainerd(b), Buffer.concat([request(1, 'Create'), request(3, 'Wait')]));
  assert.deepEqual(w.got, [
    { streamId: 1, method: 'Create' },
    { streamId: 3, method: 'Wait' },
  ]);
  assert.equal(r.inFlight, 2);
  trickle((b) => r.fromWorker(b), response(1));
  assert.deepEqual(answers, [{ streamId: 1, code: GrpcCode.OK, message: '' }]);
  assert.equal(r.inFlight, 1);
});

void test('a lost worker: Wait is sent again to the next one, Kill is answered Unavailable', () => {
  const { r, answers, worker } = relay();
  const first = worker();
  r.attach(first.send);
  r.fromContainerd(Buffer.concat([request(1, 'Wait'), request(3, 'Kill'), request(5, 'State')]));
  // The worker dies having written half of an answer: containerd must never see that half.
  r.fromWorker(response(3).subarray(0, 7));
  r.lost();
  assert.deepEqual(answers, [
    { streamId: 3, code: GrpcCode.UNAVAILABLE, message: 'the shim restarted while Kill ran' },
  ]);
  assert.equal(r.held, 2);
  r.fromContainerd(request(7, 'Delete')); // arrives while there is no worker: waits
  const second = worker();
  r.attach(second.send);
  assert.deepEqual(
    second.got.map((g) => [g.streamId, g.method]),
    [
      [1, 'Wait'],
      [5, 'State'],
      [7, 'Delete'],
    ],
  );
  r.fromWorker(Buffer.concat([response(1), response(5), response(7)]));
  assert.deepEqual(
    answers.map((a) => [a.streamId, a.code]),
    [
      [3, GrpcCode.UNAVAILABLE],
      [1, GrpcCode.OK],
      [5, GrpcCode.OK],
      [7, GrpcCode.OK],
    ],
  );
  assert.deepEqual(r.stats, { relayed: 3, replayed: 2, unavailable: 1 });
});

void test('with no worker for holdMs, held requests are answered Unavailable, younger ones wait', () => {
  const { r, answers, tick } = relay();
  r.fromContainerd(request(1, 'Wait'));
  tick(6000);
  r.fromContainerd(request(3, 'State'));
  tick(5000);
  r.expire();
  assert.deepEqual(
    answers.map((a) => [a.streamId, a.code, a.message]),
    [[1, GrpcCode.UNAVAILABLE, 'no shim worker for 10000 ms']],
  );
  assert.equal(r.held, 1);
});

void test('a worker that is leaving answers what it has; new requests wait for the next worker', () => {
  const { r, answers, worker } = relay();
  const old = worker();
  r.attach(old.send);
  r.fromContainerd(request(1, 'Kill'));
  r.pause();
  r.fromContainerd(request(3, 'Create'));
  assert.deepEqual(
    old.got.map((g) => g.streamId),
    [1],
    'nothing new goes to a leaving worker',
  );
  r.fromWorker(response(1)); // it still answers what it had
  r.lost();
  const next = worker();
  r.attach(next.send);
  assert.deepEqual(
    next.got.map((g) => g.streamId),
    [3],
  );
  assert.deepEqual(
    answers.map((a) => [a.streamId, a.code]),
    [[1, GrpcCode.OK]],
  );
});

void test('held requests go to the next worker in stream id order, replayed ones included', () => {
  const { r, worker } = relay();
  r.attach(worker().send);
  r.fromContainerd(request(1, 'Wait'));
  r.pause();
  r.fromContainerd(request(3, 'State')); // held while the worker leaves
  r.lost(); // Wait (stream 1) is kept for replay, after State in arrival
  const next = worker();
  r.attach(next.send);
  assert.deepEqual(
    next.got.map((g) => g.streamId),
    [1, 3],
  );
});
