/**
 * The exec agent's wire format: one TCP connection per command, from the host's loopback through
 * qemu's user-mode network to the agent in the guest (guest/agent.ts). Imported by both sides, so it
 * uses node: modules only and erasable TypeScript (the guest runs it with Node's type stripping).
 *
 * request (host -> guest): one JSON line, then stdin frames (format below); an empty stdin frame
 * closes the command's stdin
 *   {"token": "...", "argv": ["cmd", ...], "cwd"?: "/dir", "env"?: {"K": "V"}}\n  <stdin frames...>
 *
 * response (guest -> host): frames until the agent closes the connection
 *   +---------+------------------+-------------------+
 *   | type u8 | length u32 (BE)  | payload (length)  |
 *   +---------+------------------+-------------------+
 *   1 stdout bytes | 2 stderr bytes | 3 exit: JSON {"code": n|null, "signal": s|null} | 4 error: UTF-8
 *   (5 stdin bytes travels the other way)
 * A closed connection without an exit frame means the command's fate is unknown. The host closing
 * its side (end or reset) before the exit frame means it went away: the agent kills the command's
 * process group. That is why stdin's end is a frame and not a half-close.
 */

export const FrameType = { stdout: 1, stderr: 2, exit: 3, error: 4, stdin: 5 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export interface Frame {
  type: FrameType;
  payload: Buffer;
}

/** Largest payload accepted; senders split output into smaller chunks. */
export const MAX_FRAME = 1 << 20;
/** Largest request line accepted (argv + env). */
export const MAX_REQUEST = 64 * 1024;
const HEADER = 5;

export interface ExecRequest {
  token: string;
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
}

export function encodeFrame(type: FrameType, payload: Uint8Array): Buffer {
  if (payload.length > MAX_FRAME)
    throw new RangeError(`frame payload ${payload.length} > ${MAX_FRAME} bytes`);
  const head = Buffer.alloc(HEADER);
  head.writeUInt8(type, 0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

const types = new Set<number>(Object.values(FrameType));

/** Incremental decoder: feed it chunks of any size, get whole frames back. */
export class FrameDecoder {
  #buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: Frame[] = [];
    while (this.#buf.length >= HEADER) {
      const type = this.#buf.readUInt8(0);
      const len = this.#buf.readUInt32BE(1);
      if (!types.has(type)) throw new RangeError(`unknown frame type ${type}`);
      if (len > MAX_FRAME) throw new RangeError(`frame length ${len} > ${MAX_FRAME} bytes`);
      if (this.#buf.length < HEADER + len) break;
      out.push({ type: type as FrameType, payload: this.#buf.subarray(HEADER, HEADER + len) });
      this.#buf = this.#buf.subarray(HEADER + len);
    }
    return out;
  }

  /** Bytes of an unfinished frame (non-zero at end of stream means it was cut). */
  get pending(): number {
    return this.#buf.length;
  }
}

/** Parses and checks a request line; the error names the field and the expected form. */
export function parseRequest(line: string): ExecRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    throw new TypeError('request: expected one JSON object on the first line', { cause: err });
  }
  if (typeof v !== 'object' || v === null) throw new TypeError('request: expected a JSON object');
  const r = v as Record<string, unknown>;
  if (typeof r['token'] !== 'string') throw new TypeError('request.token: expected a string');
  const argv = r['argv'];
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
    throw new TypeError('request.argv: expected a non-empty array of strings');
  }
  const out: ExecRequest = { token: r['token'], argv: argv as string[] };
  if (r['cwd'] !== undefined) {
    if (typeof r['cwd'] !== 'string' || !r['cwd'].startsWith('/')) {
      throw new TypeError('request.cwd: expected an absolute path');
    }
    out.cwd = r['cwd'];
  }
  if (r['env'] !== undefined) {
    const env = r['env'];
    if (
      typeof env !== 'object' ||
      env === null ||
      !Object.values(env as object).every((x) => typeof x === 'string')
    ) {
      throw new TypeError('request.env: expected an object of string values');
    }
    out.env = env as Record<string, string>;
  }
  return out;
}
