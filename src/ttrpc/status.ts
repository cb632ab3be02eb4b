/**
 * The one place where wire status (gRPC codes carried in ttrpc responses) maps to and from our
 * errors. containerd's errdefs turns these codes into its error kinds (NotFound -> ErrNotFound,
 * ...), so every ErrorCode maps to exactly one gRPC code and back:
 *
 *    ErrorCode           gRPC code               also decoded from (lossy, kept in details)
 *    Canceled            CANCELLED (1)
 *    InvalidArgument     INVALID_ARGUMENT (3)    OUT_OF_RANGE (11)
 *    DeadlineExceeded    DEADLINE_EXCEEDED (4)
 *    NotFound            NOT_FOUND (5)
 *    AlreadyExists       ALREADY_EXISTS (6)
 *    FailedPrecondition  FAILED_PRECONDITION (9) ABORTED (10)
 *    Unimplemented       UNIMPLEMENTED (12)
 *    Internal            INTERNAL (13)           UNKNOWN (2), PERMISSION_DENIED (7),
 *                                                RESOURCE_EXHAUSTED (8), DATA_LOSS (15),
 *                                                UNAUTHENTICATED (16), anything unknown
 *    Unavailable         UNAVAILABLE (14)
 *
 * Errors decoded from the wire carry `details.grpcCode` so nothing is lost for logs.
 *
 * The Status message: containerd sends google.rpc.Status {code = 1, message = 2, details = 3}.
 * The generated `Status` in src/gen/proto comes from Debian's stub status.proto, which declares
 * only `code`, so the message travels as unknown field 2 (protobuf-es keeps unknown fields on
 * decode and writes them on encode). `statusMessage`/`newStatus` hide that; if src/gen ever
 * gains the full google.rpc.Status, only those two functions change.
 */
import { create } from '@bufbuild/protobuf';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { ErrorCode, ZeropodError, codeOf, describeError } from '../base/index.ts';
import { StatusSchema, type Status } from '../gen/proto/status_pb.js';

export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

const toGrpc: Record<ErrorCode, GrpcCode> = {
  [ErrorCode.Canceled]: GrpcCode.CANCELLED,
  [ErrorCode.InvalidArgument]: GrpcCode.INVALID_ARGUMENT,
  [ErrorCode.DeadlineExceeded]: GrpcCode.DEADLINE_EXCEEDED,
  [ErrorCode.NotFound]: GrpcCode.NOT_FOUND,
  [ErrorCode.AlreadyExists]: GrpcCode.ALREADY_EXISTS,
  [ErrorCode.FailedPrecondition]: GrpcCode.FAILED_PRECONDITION,
  [ErrorCode.Unimplemented]: GrpcCode.UNIMPLEMENTED,
  [ErrorCode.Internal]: GrpcCode.INTERNAL,
  [ErrorCode.Unavailable]: GrpcCode.UNAVAILABLE,
};

const fromGrpc: ReadonlyMap<number, ErrorCode> = new Map<number, ErrorCode>([
  ...Object.entries(toGrpc).map(([ours, grpc]) => [grpc, ours as ErrorCode] as const),
  [GrpcCode.OUT_OF_RANGE, ErrorCode.InvalidArgument],
  [GrpcCode.ABORTED, ErrorCode.FailedPrecondition],
]);

const grpcNames: ReadonlyMap<number, string> = new Map(
  Object.entries(GrpcCode).map(([name, n]) => [n, name]),
);

export function grpcCodeOf(code: ErrorCode): GrpcCode {
  return toGrpc[code];
}

/** Our code for a wire code; codes we have no kind for become Internal. */
export function errorCodeOf(grpcCode: number): ErrorCode {
  return fromGrpc.get(grpcCode) ?? ErrorCode.Internal;
}

/** "NOT_FOUND" for 5, "CODE_42" for codes this table does not know. */
export function grpcCodeName(grpcCode: number): string {
  return grpcNames.get(grpcCode) ?? `CODE_${grpcCode}`;
}

export function newStatus(code: number, message = ''): Status {
  const status = create(StatusSchema, { code });
  if (message !== '') {
    const data = new BinaryWriter().string(message).finish();
    status.$unknown = [{ no: 2, wireType: WireType.LengthDelimited, data }];
  }
  return status;
}

/** The google.rpc.Status message text (field 2), or '' when absent or malformed. */
export function statusMessage(status: Status): string {
  const field = status.$unknown?.find((f) => f.no === 2 && f.wireType === WireType.LengthDelimited);
  if (field === undefined) return '';
  try {
    return new BinaryReader(field.data).string();
  } catch (err) {
    return `(undecodable status message: ${describeError(err)})`;
  }
}

/**
 * The longest message a status carries. containerd relays it in its gRPC reply; a message built from
 * an oversized input must not make that reply undeliverable. Longer ones keep their start and end.
 */
export const MAX_STATUS_MESSAGE = 16 * 1024;

/** The status a handler failure is reported with: its code, and its message with the cause chain. */
export function statusFromError(err: unknown): Status {
  return newStatus(grpcCodeOf(codeOf(err)), boundMessage(describeError(err)));
}

export function boundMessage(message: string, max = MAX_STATUS_MESSAGE): string {
  if (message.length <= max) return message;
  const cut = `\n... (${message.length - max} characters left out) ...\n`;
  const half = Math.floor((max - cut.length) / 2);
  return message.slice(0, half) + cut + message.slice(message.length - half);
}

/**
 * The error a non-OK status stands for, or undefined for OK (an absent status is OK).
 * `details` (service, method, ...) are merged into the error's details.
 */
export function errorFromStatus(
  status: Status | undefined,
  details: Record<string, unknown> = {},
): ZeropodError | undefined {
  if (status === undefined || status.code === GrpcCode.OK) return undefined;
  const message = statusMessage(status) || `ttrpc call failed with ${grpcCodeName(status.code)}`;
  return new ZeropodError(errorCodeOf(status.code), message, {
    details: { ...details, grpcCode: status.code, grpcStatus: grpcCodeName(status.code) },
  });
}
