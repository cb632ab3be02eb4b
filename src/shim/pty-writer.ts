/**
 * Typed input for a terminal: writes to a non-blocking pty master without ever blocking the event
 * loop. What the master does not take now (its input queue is full: the app is not reading) waits
 * in order and is retried on a timer; `write` returns false while anything waits, and `onDrain`
 * fires when the backlog is gone, so the caller can pause and resume its source.
 */
export type WriteSome = (data: Buffer) => number;

export class PtyWriter {
  readonly #writeSome: WriteSome;
  readonly #retryMs: number;
  readonly #backlog: Buffer[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  onDrain: () => void = () => undefined;
  onError: (err: unknown) => void = () => undefined;

  constructor(writeSome: WriteSome, retryMs = 10) {
    this.#writeSome = writeSome;
    this.#retryMs = retryMs;
  }

  /** Queues `data`; true when all of it was written at once. */
  write(data: Buffer): boolean {
    if (this.#closed || data.length === 0) return !this.#closed;
    this.#backlog.push(data);
    if (this.#timer === undefined) this.#flush();
    return !this.#closed && this.#backlog.length === 0;
  }

  get pending(): number {
    return this.#backlog.reduce((n, b) => n + b.length, 0);
  }

  close(): void {
    this.#closed = true;
    this.#backlog.length = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flush(): void {
    this.#timer = undefined;
    try {
      while (this.#backlog.length > 0) {
        const head = this.#backlog[0]!;
        const n = this.#writeSome(head);
        if (n >= head.length) this.#backlog.shift();
        else {
          if (n > 0) this.#backlog[0] = head.subarray(n);
          this.#timer = setTimeout(() => this.#flush(), this.#retryMs);
          return;
        }
      }
    } catch (err) {
      this.close();
      this.onError(err);
      return;
    }
    this.onDrain();
  }
}
