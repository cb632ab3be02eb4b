/**
 * Incremental ttrpc frame decoder: feed it socket chunks split anywhere, get whole frames back.
 *
 *    chunk ... chunk ... chunk
 *    [ header (10) ][ payload (length) ][ header (10) ][ payload ... ]
 *     ^ collected     ^ copied into one        ^ frames may straddle
 *       byte by byte    buffer of `length`       chunk boundaries freely
 *
 * The size limit is checked as soon as a header is complete, before any payload is buffered: a
 * frame longer than the limit is reported as `oversize` and its payload is skipped as it streams
 * past, so a peer can never make us allocate more than `maxMessageSize` (plus 10 header bytes).
 * The stream stays usable afterwards, as in containerd's ttrpc, which answers such a request with
 * a ResourceExhausted status and carries on.
 */
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  HEADER_LENGTH,
  decodeHeader,
  type Frame,
  type FrameHeader,
} from './frame.ts';

export type Decoded =
  | { kind: 'frame'; frame: Frame }
  /** A frame whose length exceeds the limit; its payload is being discarded. */
  | { kind: 'oversize'; header: FrameHeader };

export interface FrameDecoderOptions {
  maxMessageSize?: number;
}

export class FrameDecoder {
  readonly maxMessageSize: number;
  readonly #header = new Uint8Array(HEADER_LENGTH);
  #headerFill = 0;
  /** The frame whose payload is being collected. */
  #current: FrameHeader | undefined;
  #payload = new Uint8Array(0);
  #payloadFill = 0;
  /** Payload bytes of an oversize frame still to skip. */
  #discard = 0;

  constructor(options: FrameDecoderOptions = {}) {
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** True between frames: nothing partial is held. A connection ending here ended cleanly. */
  get atBoundary(): boolean {
    return this.#headerFill === 0 && this.#current === undefined && this.#discard === 0;
  }

  /** Consumes `chunk` entirely; returns what completed, in wire order. */
  push(chunk: Uint8Array): Decoded[] {
    const out: Decoded[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#discard > 0) {
        const n = Math.min(this.#discard, chunk.length - at);
        this.#discard -= n;
        at += n;
      } else if (this.#current === undefined) {
        const n = Math.min(HEADER_LENGTH - this.#headerFill, chunk.length - at);
        this.#header.set(chunk.subarray(at, at + n), this.#headerFill);
        this.#headerFill += n;
        at += n;
        if (this.#headerFill === HEADER_LENGTH) this.#startFrame(out);
      } else {
        const n = Math.min(this.#payload.length - this.#payloadFill, chunk.length - at);
        this.#payload.set(chunk.subarray(at, at + n), this.#payloadFill);
        this.#payloadFill += n;
        at += n;
        if (this.#payloadFill === this.#payload.length) this.#finishFrame(out, this.#current);
      }
    }
    return out;
  }

  #startFrame(out: Decoded[]): void {
    const header = decodeHeader(this.#header);
    this.#headerFill = 0;
    if (header.length > this.maxMessageSize) {
      this.#discard = header.length;
      out.push({ kind: 'oversize', header });
      return;
    }
    this.#current = header;
    this.#payload = new Uint8Array(header.length);
    this.#payloadFill = 0;
    if (header.length === 0) this.#finishFrame(out, header);
  }

  #finishFrame(out: Decoded[], header: FrameHeader): void {
    const { streamId, type, flags } = header;
    out.push({ kind: 'frame', frame: { streamId, type, flags, payload: this.#payload } });
    this.#current = undefined;
    this.#payload = new Uint8Array(0);
    this.#payloadFill = 0;
  }
}
