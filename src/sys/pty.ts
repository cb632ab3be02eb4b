/**
 * The pty master calls Node lacks, through koffi (loaded on first use): non-blocking mode, a
 * close-on-exec dup, the window size (TIOCSWINSZ/TIOCGWINSZ), and a non-blocking write that says
 * EAGAIN instead of blocking. Node wraps a tty fd only in tty.ReadStream; its writes to a pty
 * master would block the event loop, so writes go through `writeSome` here.
 *
 *   struct winsize { unsigned short ws_row, ws_col, ws_xpixel, ws_ypixel; }   8 bytes
 */
import { libcHandle } from './libc.ts';
import { sysError } from './sys-error.ts';

const F_GETFL = 3;
const F_SETFL = 4;
const F_DUPFD_CLOEXEC = 1030;
const O_NONBLOCK = 0o4000;
const O_RDWR = 2;
const O_NOCTTY = 0o400;
const O_CLOEXEC = 0o2000000;
// asm-generic ioctls (x86_64, aarch64).
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
const EAGAIN = 11;

type Fn<A extends unknown[]> = (...args: A) => number;

interface Libc {
  errno: () => number;
  fcntl: (fd: number, cmd: number, ...rest: unknown[]) => number;
  ioctl: (fd: number, req: number, ...rest: unknown[]) => number;
  write: Fn<[number, Buffer, number]>;
  posix_openpt: Fn<[number]>;
  grantpt: Fn<[number]>;
  unlockpt: Fn<[number]>;
  ptsname_r: Fn<[number, Buffer, number]>;
  open: Fn<[string, number]>;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc !== undefined) return libc;
  const { koffi, lib } = libcHandle();
  libc = {
    errno: () => koffi.errno(),
    fcntl: lib.func('int fcntl(int fd, int cmd, ...)') as Libc['fcntl'],
    ioctl: lib.func('int ioctl(int fd, unsigned long req, ...)') as Libc['ioctl'],
    write: lib.func('long write(int fd, const void *buf, unsigned long count)'),
    posix_openpt: lib.func('int posix_openpt(int flags)'),
    grantpt: lib.func('int grantpt(int fd)'),
    unlockpt: lib.func('int unlockpt(int fd)'),
    ptsname_r: lib.func('int ptsname_r(int fd, void *buf, unsigned long len)'),
    open: lib.func('int open(const char *path, int flags)'),
  };
  return libc;
}

function check(syscall: string, ret: number, details: Record<string, unknown>): number {
  if (ret !== -1) return ret;
  throw sysError(syscall, load().errno(), { details });
}

/** Sets O_NONBLOCK on the open file description (shared by every dup of `fd`). */
export function setNonBlocking(fd: number): void {
  const l = load();
  const flags = check('fcntl', l.fcntl(fd, F_GETFL, 'int', 0), { fd });
  check('fcntl', l.fcntl(fd, F_SETFL, 'int', flags | O_NONBLOCK), { fd });
}

/** A close-on-exec duplicate of `fd`. */
export function dupCloexec(fd: number): number {
  return check('fcntl', load().fcntl(fd, F_DUPFD_CLOEXEC, 'int', 0), { fd });
}

export interface WindowSize {
  rows: number;
  cols: number;
}

export function setWindowSize(fd: number, size: WindowSize): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(size.rows & 0xffff, 0);
  ws.writeUInt16LE(size.cols & 0xffff, 2);
  check('ioctl', load().ioctl(fd, TIOCSWINSZ, 'void *', ws), { fd, request: 'TIOCSWINSZ' });
}

export function getWindowSize(fd: number): WindowSize {
  const ws = Buffer.alloc(8);
  check('ioctl', load().ioctl(fd, TIOCGWINSZ, 'void *', ws), { fd, request: 'TIOCGWINSZ' });
  return { rows: ws.readUInt16LE(0), cols: ws.readUInt16LE(2) };
}

/** Writes what the fd takes now (a non-blocking fd): bytes written, 0 when it would block. */
export function writeSome(fd: number, data: Buffer): number {
  const l = load();
  const n = l.write(fd, data, data.length);
  if (n !== -1) return n;
  const errno = l.errno();
  if (errno === EAGAIN) return 0;
  throw sysError('write', errno, { details: { fd } });
}

/** A new pty pair (for tests): the master and the opened slave, both close-on-exec. */
export function openPtyPair(): { master: number; slave: number; path: string } {
  const l = load();
  const master = check('posix_openpt', l.posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), {});
  check('grantpt', l.grantpt(master), { fd: master });
  check('unlockpt', l.unlockpt(master), { fd: master });
  const name = Buffer.alloc(128);
  const err = l.ptsname_r(master, name, name.length);
  if (err !== 0) throw sysError('ptsname_r', err, { details: { fd: master } });
  const path = name.subarray(0, name.indexOf(0)).toString();
  const slave = check('open', l.open(path, O_RDWR | O_NOCTTY | O_CLOEXEC), { path });
  return { master, slave, path };
}
