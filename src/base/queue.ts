/**
 * One queue of operations: each runs alone, in arrival order. A container's checkpoint, restore,
 * kill, exec and delete all go through its queue; callers re-check state after each await.
 */
export class OperationQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;

  get pending(): number {
    return this.#pending;
  }

  run<T>(op: () => Promise<T>): Promise<T> {
    this.#pending++;
    const result = this.#tail.then(op, op);
    this.#tail = result.then(
      () => this.#pending--,
      () => this.#pending--,
    );
    return result;
  }
}
