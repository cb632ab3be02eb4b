/**
 * Disposal: whoever creates a resource registers it here on the same line. Disposal runs in
 * reverse order, continues past failures and reports them all at the end.
 */
export type Disposer = () => void | Promise<void>;

export class DisposableStack2 implements AsyncDisposable {
  #disposers: Disposer[] = [];
  #disposed = false;

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Registers `dispose` and returns `value`, so acquisition and registration share a line. */
  use<T>(value: T, dispose: (value: T) => void | Promise<void>): T {
    if (this.#disposed) throw new Error('register on a disposed stack');
    this.#disposers.push(() => dispose(value));
    return value;
  }

  defer(dispose: Disposer): void {
    if (this.#disposed) throw new Error('register on a disposed stack');
    this.#disposers.push(dispose);
  }

  /** Moves every registration to a new stack (ownership transfer after a factory succeeded). */
  move(): DisposableStack2 {
    const next = new DisposableStack2();
    next.#disposers = this.#disposers;
    this.#disposers = [];
    this.#disposed = true;
    return next;
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const errors: unknown[] = [];
    for (const d of this.#disposers.reverse()) {
      try {
        await d();
      } catch (err) {
        errors.push(err);
      }
    }
    this.#disposers = [];
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'several disposers failed');
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}
