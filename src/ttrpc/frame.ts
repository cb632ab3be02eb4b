/**
 * ttrpc message frames: a fixed 10-byte header followed by the payload.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +---------------------------------------------------------------+
 *    |                 payload length (uint32, big-endian)           |
 *    +---------------------------------------------------------------+
 *    |                 stream id (uint32, big-endian)                |
 *    +---------------+---------------+-------------------------------+
 *    |   type (u8)   |  flags (u8)   |  payload (length bytes) ...   |
 *    +---------------+---------------+-------------------------------+
 *
 * The length counts the payload only, never the header. Client-initiated streams use odd ids.
 * Types: 0x1 request (payload ttrpc.Request), 0x2 response (payload ttrpc.Response), 0x3 data
 * (streaming). Flags depend on the type; see `Flag`. The encoder here is pure; the incremental
 * decoder is in codec.ts.
 */
import { invalidArgument } from '../base/index.ts';

export const HEADER_LENGTH = 10;
/** Largest payload accepted or sent unless configured otherwise (containerd's default, 4 MiB). */
export const DEFAULT_MAX_MESSAGE_SIZE = 4 << 20;
const UINT32_MAX = 0xffff_ffff;

export const MessageType = {
  Request: 0x1,
  Response: 0x2,
  Data: 0x3,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Flag bits. On requests and data frames they describe the sender's side of a stream. */
export const Flag = {
  /** The sender will send no more data on this stream. */
  RemoteClosed: 0x1,
  /** The sender keeps the stream open and will send data frames. */
  RemoteOpen: 0x2,
  /** A data frame that carries no payload. */
  NoData: 0x4,
} as const;

export interface FrameHeader {
  /** Payload length in bytes. */
  length: number;
  streamId: number;
  /** A `MessageType`, or an unknown number a future peer sent (callers ignore those). */
  type: number;
  flags: number;
}

export interface Frame {
  streamId: number;
  type: number;
  flags: number;
  payload: Uint8Array;
}

/** Reads a header from the first 10 bytes of `bytes`. */
export function decodeHeader(bytes: Uint8Array): FrameHeader {
  if (bytes.length < HEADER_LENGTH) {
    throw invalidArgument('ttrpc frame header is too short', { details: { length: bytes.length } });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_LENGTH);
  return {
    length: view.getUint32(0),
    streamId: view.getUint32(4),
    type: view.getUint8(8),
    flags: view.getUint8(9),
  };
}

/** Header and payload in one buffer, ready for a single socket write. */
export function encodeFrame(frame: Frame, maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE): Buffer {
  const { streamId, type, flags, payload } = frame;
  if (payload.length > maxMessageSize) {
    throw invalidArgument('ttrpc message exceeds the maximum message size', {
      details: { length: payload.length, max: maxMessageSize, streamId },
    });
  }
  if (!isUint(streamId, UINT32_MAX) || !isUint(type, 0xff) || !isUint(flags, 0xff)) {
    throw invalidArgument('ttrpc frame header field out of range', { details: { streamId, type, flags } });
  }
  const out = Buffer.allocUnsafe(HEADER_LENGTH + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(streamId, 4);
  out.writeUInt8(type, 8);
  out.writeUInt8(flags, 9);
  out.set(payload, HEADER_LENGTH);
  return out;
}

function isUint(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}
