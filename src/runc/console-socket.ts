/**
 * runc's --console-socket: for a container with a terminal, runc connects to this unix socket and
 * sends the pty master over SCM_RIGHTS (one message: data = the pty's name, one fd). Node cannot
 * receive fds, so the socket is made and read with libc through koffi.
 *
 *   const cs = await ConsoleSocket.create();          // listening in a fresh temp dir
 *   await runc.create(id, { ..., consoleSocket: cs.path });
 *   const master = await cs.receiveMaster(signal);     // the fd is now the caller's
 *   await cs.dispose();                                 // closes the socket, removes the dir
 *
 * Waiting: the listening and the accepted socket are non-blocking; when nothing is there yet, a
 * poll() runs on a koffi worker thread in slices of POLL_SLICE_MS, so an abort or dispose is seen
 * within a slice and no thread stays blocked past it. (Usually runc has already sent the fd by the
 * time `runc create` returns, and no poll is needed at all.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeOf, failedPrecondition, internal, ZeropodError } from '../base/index.ts';
import * as c from './console-socket-libc.ts';

const POLL_SLICE_MS = 100;
const CMSG_HEADER = 16;

export interface ConsoleSocketOptions {
  /** Parent of the temp dir holding the socket (default os.tmpdir()); keep it short (108-byte limit). */
  dir?: string;
}

export class ConsoleSocket implements AsyncDisposable {
  /** Give this to runc as --console-socket. */
  readonly path: string;
  readonly #dir: string;
  #listenFd: number;
  #connFd = -1;
  #polling: Promise<unknown> | undefined;
  #disposed = false;

  private constructor(dir: string, path: string, fd: number) {
    this.#dir = dir;
    this.path = path;
    this.#listenFd = fd;
  }

  static async create(options: ConsoleSocketOptions = {}): Promise<ConsoleSocket> {
    let dir: string;
    try {
      dir = await mkdtemp(join(options.dir ?? tmpdir(), 'zp-pty-'));
    } catch (err) {
      throw internal('cannot create a console socket directory', {
        cause: err,
        details: { dir: options.dir },
      });
    }
    const path = join(dir, 'pty.sock');
    let fd = -1;
    try {
      const libc = c.load();
      const addr = c.sockaddrUn(path);
      fd = c.check('socket', libc.socket(c.AF_UNIX, c.SOCK_STREAM | c.SOCK_NONBLOCK | c.SOCK_CLOEXEC, 0));
      c.check('bind', libc.bind(fd, addr, addr.length), { path });
      c.check('listen', libc.listen(fd, 1), { path });
      return new ConsoleSocket(dir, path, fd);
    } catch (err) {
      if (fd !== -1) c.load().close(fd);
      await rm(dir, { recursive: true, force: true });
      throw err instanceof ZeropodError ? err : internal('cannot create a console socket', { cause: err });
    }
  }

  /** Accepts runc's connection and returns the pty master fd it sent (the caller must close it). */
  async receiveMaster(signal?: AbortSignal): Promise<number> {
    if (this.#disposed) throw failedPrecondition('console socket already disposed');
    if (this.#connFd === -1) {
      this.#connFd = await this.#waitFor('accept4', this.#listenFd, signal, () => this.#accept());
    }
    const fd = await this.#waitFor('recvmsg', this.#connFd, signal, () => this.#receive());
    this.#closeConn();
    return fd;
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    // Never close an fd a worker thread is polling: the number could be reused under it.
    await this.#polling;
    this.#closeConn();
    const fd = this.#listenFd;
    this.#listenFd = -1;
    if (fd !== -1) c.check('close', c.load().close(fd));
    await rm(this.#dir, { recursive: true, force: true });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  #closeConn(): void {
    const fd = this.#connFd;
    this.#connFd = -1;
    if (fd !== -1) c.check('close', c.load().close(fd));
  }

  /** The connected fd, or undefined while nobody has connected. */
  #accept(): number | undefined {
    const fd = c.load().accept4(this.#listenFd, null, null, c.SOCK_NONBLOCK | c.SOCK_CLOEXEC);
    if (fd !== -1) return fd;
    const errno = c.load().errno();
    if (errno === c.EAGAIN || errno === c.EINTR) return undefined;
    throw c.sysError('accept4', errno, { path: this.path });
  }

  /** The fd carried by runc's message, or undefined while it has not arrived. */
  #receive(): number | undefined {
    const libc = c.load();
    const data = Buffer.alloc(4096);
    const control = Buffer.alloc(64);
    const msg = {
      msg_name: null,
      msg_namelen: 0,
      msg_iov: [{ iov_base: data, iov_len: data.length }],
      msg_iovlen: 1,
      msg_control: control,
      msg_controllen: control.length,
      msg_flags: 0,
    };
    const n = libc.recvmsg(this.#connFd, msg, c.MSG_DONTWAIT | c.MSG_CMSG_CLOEXEC);
    if (n === -1) {
      const errno = libc.errno();
      if (errno === c.EAGAIN || errno === c.EINTR) return undefined;
      throw c.sysError('recvmsg', errno, { path: this.path });
    }
    if (n === 0)
      throw internal('console socket: peer closed without sending the pty master', {
        details: { path: this.path },
      });
    const fds = controlFds(control.subarray(0, msg.msg_controllen));
    if ((msg.msg_flags & c.MSG_CTRUNC) !== 0 || fds.length !== 1) {
      for (const fd of fds) libc.close(fd);
      throw internal(`console socket: expected one fd, got ${fds.length}`, {
        details: {
          path: this.path,
          truncated: (msg.msg_flags & c.MSG_CTRUNC) !== 0,
          name: data.subarray(0, n).toString(),
        },
      });
    }
    return fds[0]!;
  }

  async #waitFor<T>(
    op: string,
    fd: number,
    signal: AbortSignal | undefined,
    attempt: () => T | undefined,
  ): Promise<T> {
    for (;;) {
      if (this.#disposed) throw failedPrecondition(`console socket disposed during ${op}`);
      if (signal?.aborted === true) {
        throw new ZeropodError(codeOf(signal.reason), `console socket: ${op} aborted`, {
          cause: signal.reason,
        });
      }
      const got = attempt();
      if (got !== undefined) return got;
      const polling = pollReadable(fd, POLL_SLICE_MS);
      this.#polling = polling;
      try {
        await polling;
      } finally {
        this.#polling = undefined;
      }
    }
  }
}

/** Waits until `fd` is readable or `ms` passed, on a worker thread. */
function pollReadable(fd: number, ms: number): Promise<void> {
  const pfd = Buffer.alloc(8);
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(c.POLLIN, 4);
  return new Promise((resolve, reject) => {
    c.load().pollAsync(pfd, 1, ms, (err) => {
      // poll's own -1 (EINTR) needs nothing: the caller retries its non-blocking call anyway.
      if (err !== null && err !== undefined) reject(internal('poll failed', { cause: err }));
      else resolve();
    });
  });
}

/** The fds of the SCM_RIGHTS control messages in `control`. */
export function controlFds(control: Buffer): number[] {
  const fds: number[] = [];
  let off = 0;
  while (off + CMSG_HEADER <= control.length) {
    const len = Number(control.readBigUInt64LE(off));
    if (len < CMSG_HEADER || off + len > control.length) break;
    if (control.readInt32LE(off + 8) === c.SOL_SOCKET && control.readInt32LE(off + 12) === c.SCM_RIGHTS) {
      for (let p = off + CMSG_HEADER; p + 4 <= off + len; p += 4) fds.push(control.readInt32LE(p));
    }
    off += (len + 7) & ~7; // CMSG_ALIGN
  }
  return fds;
}
