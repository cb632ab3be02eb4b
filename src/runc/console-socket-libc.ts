/**
 * The libc calls a console socket needs and Node lacks (receiving an fd over SCM_RIGHTS), through
 * koffi. libc.so.6 is loaded on first use, so importing the runc adapter costs nothing.
 *
 * Layouts are 64-bit Linux (x86_64, aarch64):
 *   sockaddr_un { u16 sun_family; char sun_path[108]; }
 *   pollfd      { i32 fd; i16 events; i16 revents; }                         8 bytes
 *   msghdr      { void *name; u32 namelen; iovec *iov; size_t iovlen;
 *                 void *control; size_t controllen; i32 flags; }             56 bytes
 *   cmsghdr     { size_t len; i32 level; i32 type; u8 data[]; }              16-byte header
 */
import { constants } from 'node:os';
import { libcHandle } from '../sys/index.ts';
import { ErrorCode, ZeropodError } from '../base/index.ts';

export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const POLLIN = 0x1;
export const SOL_SOCKET = 1;
export const SCM_RIGHTS = 1;
export const MSG_CTRUNC = 0x8;
export const MSG_DONTWAIT = 0x40;
export const MSG_CMSG_CLOEXEC = 0x40000000;
export const SUN_PATH_MAX = 108;

type Fn<A extends unknown[]> = (...args: A) => number;

interface MsgHdr {
  msg_name: null;
  msg_namelen: number;
  msg_iov: { iov_base: Buffer; iov_len: number }[];
  msg_iovlen: number;
  msg_control: Buffer;
  msg_controllen: number;
  msg_flags: number;
}

interface Libc {
  errno: () => number;
  socket: Fn<[number, number, number]>;
  bind: Fn<[number, Buffer, number]>;
  listen: Fn<[number, number]>;
  accept4: Fn<[number, null, null, number]>;
  close: Fn<[number]>;
  recvmsg: Fn<[number, MsgHdr, number]>;
  /** Blocking poll on a koffi worker thread; the callback gets poll's result. */
  pollAsync: (fds: Buffer, nfds: number, timeoutMs: number, cb: (err: unknown, res: number) => void) => void;
  poll: Fn<[Buffer, number, number]>;
}

let libc: Libc | undefined;

export function load(): Libc {
  if (libc !== undefined) return libc;
  const { koffi, lib } = libcHandle();
  // Anonymous struct types: koffi's type names are process-wide and other modules may declare theirs.
  const iovec = koffi.struct({ iov_base: 'void *', iov_len: 'size_t' });
  const msghdr = koffi.struct({
    msg_name: 'void *',
    msg_namelen: 'uint32_t',
    msg_iov: koffi.pointer(iovec),
    msg_iovlen: 'size_t',
    msg_control: 'void *',
    msg_controllen: 'size_t',
    msg_flags: 'int',
  });
  const poll = lib.func('int poll(void *fds, unsigned long nfds, int timeout)');
  libc = {
    errno: () => koffi.errno(),
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    bind: lib.func('int bind(int fd, const void *addr, unsigned int len)'),
    listen: lib.func('int listen(int fd, int backlog)'),
    accept4: lib.func('int accept4(int fd, void *addr, void *addrlen, int flags)'),
    close: lib.func('int close(int fd)'),
    recvmsg: lib.func('recvmsg', 'long', ['int', koffi.inout(koffi.pointer(msghdr)), 'int']) as Fn<
      [number, MsgHdr, number]
    >,
    pollAsync: (fds, nfds, timeoutMs, cb) => {
      poll.async(fds, nfds, timeoutMs, cb);
    },
    poll,
  };
  return libc;
}

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, num]) => [num, name]));
export const EAGAIN = constants.errno.EAGAIN;
export const EINTR = constants.errno.EINTR;

/** A failed system call as our error (EAGAIN/EMFILE Unavailable, EINVAL InvalidArgument, ...). */
export function sysError(
  syscall: string,
  errno: number,
  details: Record<string, unknown> = {},
): ZeropodError {
  const name = errnoNames.get(errno) ?? `E${errno}`;
  const code =
    name === 'EAGAIN' || name === 'EMFILE' || name === 'ENFILE' || name === 'ENOMEM'
      ? ErrorCode.Unavailable
      : name === 'EINVAL' || name === 'ENAMETOOLONG'
        ? ErrorCode.InvalidArgument
        : name === 'ENOENT'
          ? ErrorCode.NotFound
          : ErrorCode.Internal;
  return new ZeropodError(code, `${syscall}: ${name}`, {
    details: { ...details, syscall, errno, errnoName: name },
  });
}

/** Returns `ret`, or throws the errno of a -1. */
export function check(syscall: string, ret: number, details?: Record<string, unknown>): number {
  if (ret !== -1) return ret;
  throw sysError(syscall, load().errno(), details);
}

/** sockaddr_un for a filesystem path. */
export function sockaddrUn(path: string): Buffer {
  const p = Buffer.from(path);
  if (p.length >= SUN_PATH_MAX) {
    throw new ZeropodError(
      ErrorCode.InvalidArgument,
      `unix socket path too long (${p.length} >= ${SUN_PATH_MAX})`,
      {
        details: { path },
      },
    );
  }
  const addr = Buffer.alloc(2 + SUN_PATH_MAX);
  addr.writeUInt16LE(AF_UNIX, 0);
  p.copy(addr, 2);
  return addr;
}
