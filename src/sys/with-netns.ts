/**
 * Runs a synchronous function with the calling thread inside another network namespace.
 *
 * setns(CLONE_NEWNET) moves only the calling thread (the main JS thread here); libuv's pool threads
 * stay where they are. Sockets remember the namespace they were created in, so a socket() made in
 * the window keeps living there after we return. Only synchronous work belongs in `fn`: anything
 * asynchronous (net.connect, fs.promises) runs later, on other threads or after we switched back.
 *
 * We always switch back (try/finally). If even that fails, this thread would create every later
 * socket in the wrong namespace: the error says so (details.fatal) and the process should exit.
 */
import { openSync, closeSync } from 'node:fs';
import { internal } from '../base/index.ts';
import { LINUX, setns } from './libc.ts';
import { fromNodeError } from './sys-error.ts';

function openNs(path: string): number {
  try {
    return openSync(path, 'r'); // libuv adds O_CLOEXEC
  } catch (err) {
    throw fromNodeError(err, 'open network namespace', { path });
  }
}

export function withNetns<T>(netnsPath: string, fn: () => T): T {
  const home = openNs('/proc/thread-self/ns/net');
  try {
    const target = openNs(netnsPath);
    try {
      setns(target, LINUX.CLONE_NEWNET);
    } finally {
      closeSync(target);
    }
    try {
      const result = fn();
      if (typeof (result as { then?: unknown } | null)?.then === 'function') {
        throw internal('withNetns needs a synchronous function', { details: { netnsPath } });
      }
      return result;
    } finally {
      goHome(home, netnsPath);
    }
  } finally {
    closeSync(home);
  }
}

function goHome(home: number, netnsPath: string): void {
  try {
    setns(home, LINUX.CLONE_NEWNET);
  } catch (err) {
    throw internal(
      'could not return to the original network namespace; this thread is stuck in another one',
      {
        cause: err,
        details: { netnsPath, fatal: true },
      },
    );
  }
}
