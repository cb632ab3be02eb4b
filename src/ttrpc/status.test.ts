import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { ErrorCode, ZeropodError, notFound } from '../base/index.ts';
import { StatusSchema } from '../gen/proto/status_pb.js';
import {
  GrpcCode,
  MAX_STATUS_MESSAGE,
  errorCodeOf,
  errorFromStatus,
  grpcCodeName,
  grpcCodeOf,
  newStatus,
  statusFromError,
  statusMessage,
} from './status.ts';

void describe('gRPC code numbers', () => {
  void test('are the canonical values', () => {
    assert.deepEqual(Object.values(GrpcCode), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    assert.equal(GrpcCode.NOT_FOUND, 5);
    assert.equal(GrpcCode.RESOURCE_EXHAUSTED, 8);
    assert.equal(GrpcCode.UNIMPLEMENTED, 12);
    assert.equal(GrpcCode.UNAVAILABLE, 14);
  });

  void test('every ErrorCode maps to its exact gRPC code and back', () => {
    const expected: Record<ErrorCode, number> = {
      Canceled: 1,
      InvalidArgument: 3,
      DeadlineExceeded: 4,
      NotFound: 5,
      AlreadyExists: 6,
      FailedPrecondition: 9,
      Unimplemented: 12,
      Internal: 13,
      Unavailable: 14,
    };
    assert.deepEqual(Object.keys(expected).sort(), Object.values(ErrorCode).sort());
    for (const [ours, grpc] of Object.entries(expected) as [ErrorCode, number][]) {
      assert.equal(grpcCodeOf(ours), grpc, ours);
      assert.equal(errorCodeOf(grpc), ours, ours);
    }
  });

  void test('gRPC codes without a kind of ours decode to the nearest one', () => {
    assert.equal(errorCodeOf(GrpcCode.OUT_OF_RANGE), ErrorCode.InvalidArgument);
    assert.equal(errorCodeOf(GrpcCode.ABORTED), ErrorCode.FailedPrecondition);
    for (const code of [2, 7, 8, 15, 16, 17, 99, -1])
      assert.equal(errorCodeOf(code), ErrorCode.Internal, String(code));
  });

  void test('names codes, including ones it does not know', () => {
    assert.equal(grpcCodeName(5), 'NOT_FOUND');
    assert.equal(grpcCodeName(0), 'OK');
    assert.equal(grpcCodeName(42), 'CODE_42');
  });
});

void describe('Status messages', () => {
  // What containerd's Go side puts on the wire: google.rpc.Status {code = 1, message = 2}.
  const goStatus = (code: number, message: string) =>
    new BinaryWriter()
      .tag(1, WireType.Varint)
      .int32(code)
      .tag(2, WireType.LengthDelimited)
      .string(message)
      .finish();

  void test('reads the message of a google.rpc.Status sent by containerd', () => {
    const status = fromBinary(StatusSchema, goStatus(5, 'container "x": not found'));
    assert.equal(status.code, 5);
    assert.equal(statusMessage(status), 'container "x": not found');
  });

  void test('writes exactly what google.rpc.Status encodes', () => {
    assert.deepEqual(toBinary(StatusSchema, newStatus(9, 'héllo')), goStatus(9, 'héllo'));
    assert.deepEqual(toBinary(StatusSchema, newStatus(0)), new Uint8Array(0));
  });

  void test('a status without a message reads as empty', () => {
    assert.equal(statusMessage(newStatus(13)), '');
  });
});

void describe('errors <-> status', () => {
  void test('a handler error becomes its code with the cause chain in the message', () => {
    const err = notFound('container abc', { cause: new Error('stat /run/abc: ENOENT') });
    const status = statusFromError(err);
    assert.equal(status.code, GrpcCode.NOT_FOUND);
    assert.equal(statusMessage(status), 'container abc: stat /run/abc: ENOENT');
  });

  void test('a huge message is cut to a bounded size, keeping its start and its end', () => {
    const err = notFound(`head ${'x'.repeat(100_000)} tail`, { cause: new Error('the cause') });
    const text = statusMessage(statusFromError(err));
    assert.ok(text.length <= MAX_STATUS_MESSAGE, `${text.length}`);
    assert.ok(text.startsWith('head xxx'));
    assert.ok(text.endsWith('tail: the cause'));
    assert.match(text, /characters left out/);
  });

  void test('foreign errors: aborts are CANCELLED, timeouts DEADLINE_EXCEEDED, the rest INTERNAL', () => {
    assert.equal(statusFromError(new DOMException('x', 'AbortError')).code, GrpcCode.CANCELLED);
    assert.equal(statusFromError(new DOMException('x', 'TimeoutError')).code, GrpcCode.DEADLINE_EXCEEDED);
    assert.equal(statusFromError(new TypeError('boom')).code, GrpcCode.INTERNAL);
    assert.equal(statusMessage(statusFromError('a string')), 'a string');
  });

  void test('OK or absent status is no error', () => {
    assert.equal(errorFromStatus(undefined), undefined);
    assert.equal(errorFromStatus(newStatus(0, 'ignored')), undefined);
  });

  void test('a failed status becomes a ZeropodError carrying the wire code', () => {
    const err = errorFromStatus(newStatus(GrpcCode.ALREADY_EXISTS, 'id taken'), {
      service: 's',
      method: 'm',
    });
    assert.ok(err instanceof ZeropodError);
    assert.equal(err.code, ErrorCode.AlreadyExists);
    assert.equal(err.message, 'id taken');
    assert.deepEqual(err.details, { service: 's', method: 'm', grpcCode: 6, grpcStatus: 'ALREADY_EXISTS' });
  });

  void test('a failed status without a message still says what failed', () => {
    const err = errorFromStatus(newStatus(GrpcCode.RESOURCE_EXHAUSTED));
    assert.equal(err?.code, ErrorCode.Internal);
    assert.match(err?.message ?? '', /RESOURCE_EXHAUSTED/);
  });

  void test('our codes survive a round trip through the wire', () => {
    for (const code of Object.values(ErrorCode)) {
      const status = fromBinary(
        StatusSchema,
        toBinary(StatusSchema, statusFromError(new ZeropodError(code, 'm'))),
      );
      assert.equal(errorFromStatus(status)?.code, code);
    }
  });
});
