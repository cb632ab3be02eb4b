/**
 * Opening the stdio FIFOs containerd hands the shim, without parking a thread on open(2).
 *
 * A blocking open() of a FIFO waits for the other side: O_RDONLY until a writer exists, O_WRONLY
 * until a reader exists. fs.open would sit in a libuv pool thread (4 by default) that nothing can
 * cancel, so we never open blocking:
 *
 * - 'r': O_RDONLY|O_NONBLOCK returns at once even with no writer. The fd is wrapped in a
 *   net.Socket (libuv treats a FIFO as a pipe and polls it with epoll): it waits for data without
 *   a thread, and ends (EOF) once a writer has come and closed; a reader that never saw a writer
 *   gets no EOF (Linux reports POLLHUP only after a writer has been there).
 * - 'w': O_WRONLY|O_NONBLOCK fails with ENXIO while no reader exists; we retry with a backoff
 *   (5 ms doubling to 100 ms) until a reader shows up or `signal` aborts. Usually containerd has
 *   opened its read end before it creates the task, so the first try succeeds.
 *
 * Not used: O_RDWR, which Linux opens at once in both directions because we become our own
 * reader. It would never fail, but writes pile up in the pipe buffer (64 KiB) and then stall when
 * nobody reads, and a reader opened that way never sees EOF. containerd's runc shim uses that
 * effect on purpose (it keeps a read end of stdout open so a restarted containerd finds the
 * stream alive); a caller that wants it can open the read end itself with mode 'r'.
 */
import { constants, fstatSync, open } from 'node:fs';
import { Socket } from 'node:net';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { canceled, invalidArgument, ZeropodError } from '../base/index.ts';
import { close } from './libc.ts';
import { errnoOf, fromNodeError } from './sys-error.ts';

const openAsync = promisify(open);

export type FifoMode = 'r' | 'w';

/** Opens `path` (a FIFO) for reading or writing; the returned socket owns the fd. */
export async function openFifo(path: string, mode: FifoMode, signal?: AbortSignal): Promise<Socket> {
  return (await openFifoFd(path, mode, signal)).socket;
}

/**
 * As openFifo, and the fd the socket owns: a keeper holds a copy of it across a worker's death
 * (docs/restart-safety.md), so the other side never sees the FIFO close.
 */
export async function openFifoFd(
  path: string,
  mode: FifoMode,
  signal?: AbortSignal,
): Promise<{ fd: number; socket: Socket }> {
  const flags = (mode === 'r' ? constants.O_RDONLY : constants.O_WRONLY) | constants.O_NONBLOCK;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    if (signal?.aborted === true)
      throw canceled('open fifo aborted', { cause: signal.reason, details: { path, mode } });
    let fd: number;
    try {
      fd = await openAsync(path, flags);
    } catch (err) {
      if (mode === 'w' && errnoOf(err) === 'ENXIO') {
        // No reader yet. An abort ends the sleep early; the loop head turns it into Canceled.
        await sleep(delay, undefined, signal === undefined ? {} : { signal }).catch((e: unknown) => {
          if (signal?.aborted !== true) throw e;
        });
        continue;
      }
      throw fromNodeError(err, 'open fifo', { path, mode });
    }
    return { fd, socket: fifoSocket(fd, path, mode) };
  }
}

/** A FIFO fd we hold already (one a keeper kept for us) as a socket that owns it. */
export function fifoSocket(fd: number, path: string, mode: FifoMode): Socket {
  try {
    if (!fstatSync(fd).isFIFO()) throw invalidArgument('not a FIFO', { details: { path } });
    return new Socket({ fd, readable: mode === 'r', writable: mode === 'w' });
  } catch (err) {
    close(fd);
    throw err instanceof ZeropodError ? err : fromNodeError(err, 'wrap fifo fd', { path, mode });
  }
}
