/**
 * pipe2(2): real pipes for a container's stdio (Node's child stdio 'pipe' makes socketpairs, which
 * CRIU would see as external unix sockets). Both ends close-on-exec; child_process dups the end it
 * hands a child, so the flag does not get in the way.
 */
import { pipe2Cloexec } from './libc.ts';

/** Returns [readFd, writeFd]. */
export function pipe(): [number, number] {
  return pipe2Cloexec();
}
