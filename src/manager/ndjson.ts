/**
 * Splits a byte stream of newline-delimited JSON into values. Fed arbitrary chunks; a line longer than
 * `maxLineBytes` is refused before it is buffered whole (a status line is a few hundred bytes).
 */
import { invalidArgument } from '../base/index.ts';

export class NdjsonDecoder {
  readonly #maxLineBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(maxLineBytes = 1 << 20) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** Returns the values completed by this chunk; throws on a line that is too long or not JSON. */
  push(chunk: Buffer): unknown[] {
    const out: unknown[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      this.#take(chunk.subarray(start, nl));
      const line = Buffer.concat(this.#pending).toString('utf8');
      this.#pending = [];
      this.#pendingBytes = 0;
      start = nl + 1;
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line));
      } catch (err) {
        throw invalidArgument('status event is not JSON', {
          cause: err,
          details: { line: line.slice(0, 64) },
        });
      }
    }
    this.#take(chunk.subarray(start));
    return out;
  }

  #take(part: Buffer): void {
    if (part.length === 0) return;
    this.#pendingBytes += part.length;
    if (this.#pendingBytes > this.#maxLineBytes)
      throw invalidArgument('status event line too long', {
        details: { maxLineBytes: this.#maxLineBytes, bytes: this.#pendingBytes },
      });
    this.#pending.push(part);
  }
}
