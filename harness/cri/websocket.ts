/**
 * A minimal WebSocket client (RFC 6455) for the CRI streaming server: enough for kubelet's
 * `v5.channel.k8s.io` exec protocol. The Node.js on the host (20) has no WebSocket global.
 *
 * Frame (server -> client frames are unmasked; client -> server frames must be masked):
 *
 *    0                   1                   2                   3
 *   +-+-+-+-+-------+-+-------------+-------------------------------+
 *   |F|R|R|R| opcode|M| payload len |  extended length (16 or 64)  |
 *   |I|S|S|S|  (4)  |A|     (7)     |  when len is 126 or 127       |
 *   +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *   |  masking key (4 bytes, when MASK)  |        payload ...        |
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { internal, invalidArgument, unavailable } from '../../src/base/index.ts';

export const Opcode = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** Largest frame payload accepted, checked before buffering it. */
export const MAX_FRAME = 16 * 1024 * 1024;

/** Incremental decoder: feed arbitrary chunks, get whole frames. */
export class FrameDecoder {
  #buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) break;
      const fin = (b[0]! & 0x80) !== 0;
      const opcode = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(MAX_FRAME))
          throw invalidArgument('websocket frame too large', { details: { length: String(big) } });
        len = Number(big);
        off = 10;
      }
      if (len > MAX_FRAME) throw invalidArgument('websocket frame too large', { details: { length: len } });
      const maskLen = masked ? 4 : 0;
      if (b.length < off + maskLen + len) break;
      const payload = Buffer.from(b.subarray(off + maskLen, off + maskLen + len));
      if (masked) {
        const key = b.subarray(off, off + 4);
        for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i % 4]!;
      }
      frames.push({ fin, opcode, payload });
      this.#buf = b.subarray(off + maskLen + len);
    }
    return frames;
  }
}

/** A masked client frame. */
export function encodeFrame(opcode: number, payload: Uint8Array, mask: Buffer = randomBytes(4)): Buffer {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  mask.copy(out, head);
  for (let i = 0; i < len; i++) out[head + 4 + i] = payload[i]! ^ mask[i % 4]!;
  return out;
}

export interface WebSocketConnection {
  /** The subprotocol the server chose. */
  readonly protocol: string;
  sendBinary(data: Uint8Array): void;
  /** Sends a close frame; the server answers and ends the connection. */
  close(): void;
  /** Each whole message (fragments joined), in order. */
  onMessage(fn: (data: Buffer) => void): void;
  /** Resolves when the connection has ended, either side. */
  readonly ended: Promise<void>;
  destroy(): void;
}

export function connectWebSocket(
  url: string,
  protocols: string[],
  timeoutMs = 10_000,
): Promise<WebSocketConnection> {
  const key = randomBytes(16).toString('base64');
  const expectAccept = createHash('sha1')
    .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
    .digest('base64');
  return new Promise((resolve, reject) => {
    const req = http.get(url, {
      timeout: timeoutMs,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': key,
        'Sec-WebSocket-Protocol': protocols.join(', '),
      },
    });
    req.once('timeout', () => req.destroy(unavailable(`websocket handshake with ${url} timed out`)));
    req.once('error', reject);
    req.once('response', (res) => {
      res.resume();
      reject(unavailable(`websocket handshake refused: HTTP ${res.statusCode}`, { details: { url } }));
    });
    req.once('upgrade', (res, socket, head) => {
      if (res.headers['sec-websocket-accept'] !== expectAccept) {
        socket.destroy();
        return reject(internal('websocket handshake: bad Sec-WebSocket-Accept'));
      }
      resolve(wrap(socket, String(res.headers['sec-websocket-protocol'] ?? ''), head));
    });
  });
}

function wrap(socket: Duplex, protocol: string, head: Buffer): WebSocketConnection {
  (socket as Duplex & { setTimeout?: (ms: number) => void }).setTimeout?.(0);
  const decoder = new FrameDecoder();
  const listeners: ((data: Buffer) => void)[] = [];
  const queued: Buffer[] = [];
  let fragments: Buffer[] = [];
  let closeSent = false;
  const ended = new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
  });
  const deliver = (data: Buffer) => {
    if (listeners.length === 0) queued.push(data);
    for (const l of listeners) l(data);
  };
  const onData = (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch {
      socket.destroy();
      return;
    }
    for (const f of frames) {
      if (f.opcode === Opcode.ping) socket.write(encodeFrame(Opcode.pong, f.payload));
      else if (f.opcode === Opcode.close) {
        if (!closeSent) socket.write(encodeFrame(Opcode.close, f.payload.subarray(0, 2)));
        closeSent = true;
        socket.end();
      } else if (f.opcode === Opcode.text || f.opcode === Opcode.binary || f.opcode === Opcode.continuation) {
        fragments.push(f.payload);
        if (f.fin) {
          deliver(Buffer.concat(fragments));
          fragments = [];
        }
      }
    }
  };
  socket.on('data', onData);
  if (head.length > 0) onData(head);
  return {
    protocol,
    sendBinary: (data) => void socket.write(encodeFrame(Opcode.binary, data)),
    close: () => {
      if (closeSent) return;
      closeSent = true;
      socket.write(encodeFrame(Opcode.close, Buffer.from([0x03, 0xe8])));
    },
    onMessage: (fn) => {
      listeners.push(fn);
      for (const d of queued.splice(0)) fn(d);
    },
    ended,
    destroy: () => socket.destroy(),
  };
}
