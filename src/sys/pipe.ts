/**
 * pipe2(2): real pipes for a container's stdio (Node's child stdio 'pipe' makes socketpairs, which
 * CRIU would see as external unix sockets). Both ends close-on-exec; child_process dups the end it
 * hands a child, so the flag does not get in the way.
 */
import { createRequire } from 'node:module';
import type * as KoffiModule from 'koffi';
import { sysError } from './sys-error.ts';

const O_CLOEXEC = 0o2000000;

let pipe2: ((fds: Int32Array, flags: number) => number) | undefined;
let errno: (() => number) | undefined;

/** Returns [readFd, writeFd]. */
export function pipe(): [number, number] {
  if (pipe2 === undefined) {
    const koffi = createRequire(import.meta.url)('koffi') as typeof KoffiModule;
    pipe2 = koffi.load('libc.so.6').func('int pipe2(_Out_ int *fds, int flags)') as unknown as typeof pipe2;
    errno = () => koffi.errno();
  }
  const fds = new Int32Array(2);
  if (pipe2!(fds, O_CLOEXEC) !== 0) throw sysError('pipe2', errno!());
  return [fds[0]!, fds[1]!];
}
