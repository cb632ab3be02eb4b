/**
 * The few libc calls Node does not offer, through koffi. koffi and libc.so.6 are loaded once, on the
 * first call, so importing this module (for /proc parsing, say) costs nothing.
 *
 * Every wrapper throws a ZeropodError (see sys-error.ts) on -1 and reads errno only then: koffi
 * keeps the errno of the last call, which is stale after a success.
 *
 * Layouts assume 64-bit Linux (x86_64, aarch64): siginfo_t si_signo@0 si_errno@4 si_code@8
 * si_pid@16 si_uid@20 si_status@24, 128 bytes.
 */
import { createRequire } from 'node:module';
import type * as KoffiModule from 'koffi';
import { internal } from '../base/index.ts';
import { sysError } from './sys-error.ts';

/** Linux constants we pass to the kernel. */
export const LINUX = {
  PR_SET_CHILD_SUBREAPER: 36,
  PR_GET_CHILD_SUBREAPER: 37,
  P_PID: 1,
  P_PIDFD: 3,
  WNOHANG: 1,
  WEXITED: 4,
  CLD_EXITED: 1,
  CLD_KILLED: 2,
  CLD_DUMPED: 3,
  CLONE_NEWNET: 0x40000000,
  AF_INET: 2,
  AF_INET6: 10,
  SOCK_STREAM: 1,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  O_CLOEXEC: 0o2000000,
  SOL_SOCKET: 1,
  SO_REUSEADDR: 2,
  SO_MARK: 36,
  IPPROTO_IPV6: 41,
  IPV6_V6ONLY: 26,
  MS_RDONLY: 1,
  MS_NOSUID: 2,
  MS_NODEV: 4,
  MS_NOEXEC: 8,
  MS_NOATIME: 1024,
  MS_NODIRATIME: 2048,
  MS_BIND: 4096,
  MS_REC: 16384,
  MS_RELATIME: 1 << 21,
  MNT_DETACH: 2,
  MSG_PEEK: 2,
  MSG_DONTWAIT: 0x40,
  EAGAIN: 11,
} as const;

export const SIGINFO_SIZE = 128;

type Fn<A extends unknown[]> = (...args: A) => number;

interface Libc {
  errno: () => number;
  getpid: Fn<[]>;
  prctl: Fn<[number, number, number, number, number]>;
  prctlPtr: Fn<[number, Buffer, number, number, number]>;
  pidfd_open: Fn<[number, number]>;
  pidfd_getfd: Fn<[number, number, number]>;
  waitid: Fn<[number, number, Buffer, number]>;
  setns: Fn<[number, number]>;
  socket: Fn<[number, number, number]>;
  setsockopt: Fn<[number, number, number, Buffer, number]>;
  bind: Fn<[number, Buffer, number]>;
  listen: Fn<[number, number]>;
  close: Fn<[number]>;
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number | bigint;
  pipe2: Fn<[Int32Array, number]>;
  mount: Fn<[string, string, string, number, string | null]>;
  umount2: Fn<[string, number]>;
  kill: Fn<[number, number]>;
}

let libc: Libc | undefined;

let handle: { koffi: typeof KoffiModule; lib: KoffiModule.LibraryHandle } | undefined;

/** koffi and libc.so.6, loaded once for every binding in the project (here, pty.ts, runc's console socket). */
export function libcHandle(): { koffi: typeof KoffiModule; lib: KoffiModule.LibraryHandle } {
  if (handle === undefined) {
    const koffi = createRequire(import.meta.url)('koffi') as typeof KoffiModule;
    handle = { koffi, lib: koffi.load('libc.so.6') };
  }
  return handle;
}

function load(): Libc {
  if (libc !== undefined) return libc;
  const { koffi, lib } = libcHandle();
  libc = {
    errno: () => koffi.errno(),
    getpid: lib.func('int getpid(void)'),
    prctl: lib.func(
      'int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)',
    ),
    prctlPtr: lib.func(
      'int prctl(int option, void *a2, unsigned long a3, unsigned long a4, unsigned long a5)',
    ),
    // glibc >= 2.36 exports pidfd_open (bookworm has 2.36, sid newer).
    pidfd_open: lib.func('int pidfd_open(int pid, unsigned int flags)'),
    pidfd_getfd: lib.func('int pidfd_getfd(int pidfd, int targetfd, unsigned int flags)'),
    waitid: lib.func('int waitid(int idtype, int id, void *infop, int options)'),
    setns: lib.func('int setns(int fd, int nstype)'),
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *value, unsigned int len)'),
    bind: lib.func('int bind(int fd, const void *addr, unsigned int len)'),
    listen: lib.func('int listen(int fd, int backlog)'),
    close: lib.func('int close(int fd)'),
    recv: lib.func('long recv(int fd, void *buf, unsigned long len, int flags)'),
    pipe2: lib.func('int pipe2(int *fds, int flags)'),
    kill: lib.func('int kill(int pid, int sig)'),
    mount: lib.func(
      'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
    ),
    umount2: lib.func('int umount2(const char *target, int flags)'),
  };
  return libc;
}

function check(syscall: string, ret: number, details?: Record<string, unknown>): number {
  if (ret !== -1) return ret;
  const errno = load().errno();
  throw details === undefined ? sysError(syscall, errno) : sysError(syscall, errno, { details });
}

export function getpid(): number {
  return load().getpid();
}

/** Makes this process a child subreaper: orphaned descendants are re-parented to it, not to init. */
export function setChildSubreaper(on: boolean): void {
  check('prctl', load().prctl(LINUX.PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0), {
    option: 'PR_SET_CHILD_SUBREAPER',
  });
}

export function isChildSubreaper(): boolean {
  const out = Buffer.alloc(4);
  check('prctl', load().prctlPtr(LINUX.PR_GET_CHILD_SUBREAPER, out, 0, 0, 0), {
    option: 'PR_GET_CHILD_SUBREAPER',
  });
  return out.readInt32LE(0) !== 0;
}

/** A pidfd for `pid`. Works for a zombie; ESRCH (NotFound) when the pid is gone or already reaped. */
export function pidfdOpen(pid: number): number {
  return check('pidfd_open', load().pidfd_open(pid, 0), { pid });
}

/**
 * A copy of another process's fd `targetfd` in this process (close-on-exec), through its pidfd
 * (Linux 5.6): how the keeper takes over an fd the worker asks it to keep, with no message passing.
 */
export function pidfdGetfd(pidfd: number, targetfd: number): number {
  return check('pidfd_getfd', load().pidfd_getfd(pidfd, targetfd, 0), { pidfd, targetfd });
}

/** How a child ended, decoded from siginfo_t. exitCode is 128+signal when killed, like containerd. */
export interface ChildExit {
  pid: number;
  exitCode: number;
  signal?: number;
}

/** Decodes a siginfo_t filled by waitid(WEXITED); undefined when si_pid is 0 (nothing exited). */
export function decodeSiginfo(info: Buffer): ChildExit | undefined {
  const pid = info.readInt32LE(16);
  if (pid === 0) return undefined;
  const code = info.readInt32LE(8);
  const status = info.readInt32LE(24);
  if (code === LINUX.CLD_EXITED) return { pid, exitCode: status };
  if (code === LINUX.CLD_KILLED || code === LINUX.CLD_DUMPED)
    return { pid, exitCode: 128 + status, signal: status };
  // WEXITED only reports the three codes above; anything else is a layout mistake.
  throw internal(`waitid: unexpected si_code ${code}`, { details: { pid, siCode: code, siStatus: status } });
}

function waitidNoHang(idtype: number, id: number, details: Record<string, unknown>): ChildExit | undefined {
  const info = Buffer.alloc(SIGINFO_SIZE);
  check('waitid', load().waitid(idtype, id, info, LINUX.WEXITED | LINUX.WNOHANG), details);
  return decodeSiginfo(info);
}

/** Reaps the process behind `pidfd` if it has exited; undefined while it runs. ECHILD: not our child. */
export function waitPidfd(pidfd: number, pid?: number): ChildExit | undefined {
  return waitidNoHang(LINUX.P_PIDFD, pidfd, { pidfd, pid });
}

/** Reaps child `pid` if it has exited (waitid P_PID); never waits for "any child". */
export function waitPid(pid: number): ChildExit | undefined {
  return waitidNoHang(LINUX.P_PID, pid, { pid });
}

export function setns(fd: number, nstype: number): void {
  check('setns', load().setns(fd, nstype), { nstype });
}

export function socket(domain: number, type: number, protocol = 0): number {
  return check('socket', load().socket(domain, type, protocol), { domain });
}

export function setsockoptInt(fd: number, level: number, name: number, value: number): void {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value, 0);
  check('setsockopt', load().setsockopt(fd, level, name, buf, 4), { level, name });
}

export function bind(fd: number, sockaddr: Buffer): void {
  check('bind', load().bind(fd, sockaddr, sockaddr.length));
}

export function listen(fd: number, backlog: number): void {
  check('listen', load().listen(fd, backlog));
}

export function close(fd: number): void {
  check('close', load().close(fd), { fd });
}

/**
 * What a connected socket has received, looked at without taking it (recv MSG_PEEK, non-blocking):
 * the bytes waiting, and whether the peer has ended its side with nothing more to read.
 */
export function peekSocket(fd: number, max: number): { bytes: Buffer; ended: boolean } {
  const buf = Buffer.alloc(max);
  const ret = Number(load().recv(fd, buf, max, LINUX.MSG_PEEK | LINUX.MSG_DONTWAIT));
  if (ret === -1) {
    const errno = load().errno();
    if (errno === LINUX.EAGAIN) return { bytes: Buffer.alloc(0), ended: false };
    throw sysError('recv', errno, { details: { fd, flags: 'MSG_PEEK' } });
  }
  return { bytes: buf.subarray(0, ret), ended: ret === 0 };
}

/** pipe2(O_CLOEXEC): [readFd, writeFd]. */
export function pipe2Cloexec(): [number, number] {
  const fds = new Int32Array(2);
  check('pipe2', load().pipe2(fds, LINUX.O_CLOEXEC));
  return [fds[0] ?? -1, fds[1] ?? -1];
}

export function kill(pid: number, signal: number): void {
  check('kill', load().kill(pid, signal), { pid, signal });
}

/** mount(2): one filesystem, its data string as the kernel takes it (at most a page). */
export function mount(source: string, target: string, fstype: string, flags: number, data: string): void {
  check('mount', load().mount(source, target, fstype, flags, data === '' ? null : data), {
    target,
    fstype,
  });
}

/** umount2(2); EINVAL (not a mount point) comes back as InvalidArgument. */
export function umount2(target: string, flags: number): void {
  check('umount2', load().umount2(target, flags), { target });
}
