/**
 * An operation on a container's queue, bounded: it gets a signal that aborts when its caller's
 * signal does (kill, delete, detach) or when its time is up, and its place in the queue ends then
 * even if the operation ignores the signal, so one hung tool (CRIU) cannot hold every later
 * operation (delete) forever. Tool calls given the signal kill their child on abort.
 */
import { canceled, deadlineExceeded, type OperationQueue } from '../../base/index.ts';

export interface QueuedOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** After the abort, how long the operation may take to undo its work before its place ends. */
  graceMs?: number;
}

export function queued<T>(
  queue: OperationQueue,
  what: string,
  o: QueuedOptions,
  op: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  return queue.run(async () => {
    const timeout = AbortSignal.timeout(o.timeoutMs);
    const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
    let grace: NodeJS.Timeout | undefined;
    let off = () => undefined as void;
    const aborted = new Promise<never>((_, reject) => {
      const fail = () => reject(abortError(what, o.timeoutMs, signal.reason));
      const onAbort = () => {
        if (!o.graceMs) return fail();
        grace = setTimeout(fail, o.graceMs);
        grace.unref();
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      off = () => signal.removeEventListener('abort', onAbort);
    });
    aborted.catch(() => undefined); // observed below; never an unhandled rejection
    try {
      return await Promise.race([op(signal), aborted]);
    } finally {
      off();
      clearTimeout(grace);
    }
  });
}

/** The error of an aborted operation: DeadlineExceeded for its timeout, Canceled otherwise. */
export function abortError(what: string, timeoutMs: number, reason: unknown): Error {
  if (reason instanceof Error && reason.name === 'TimeoutError')
    return deadlineExceeded(`${what} took longer than ${timeoutMs} ms`, { cause: reason });
  return canceled(`${what} was cancelled`, { cause: reason });
}
