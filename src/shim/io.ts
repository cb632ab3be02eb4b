/**
 * A process's stdio: containerd gives FIFO paths; runc (and the container) get pipes we own, and we
 * copy between them. Owning the pipes means we see the container's EOF and can close the FIFO so
 * containerd's readers finish (ExecSync waits for that), and CRIU restores them as plain pipes.
 *
 *   stdin FIFO --copy--> [pipe] --> container fd 0
 *   container fd 1 --> [pipe] --copy--> stdout FIFO
 *   container fd 2 --> [pipe] --copy--> stderr FIFO
 *
 * With a terminal, runc sends the pty master over a console socket instead, and both directions go
 * through it (no stderr: the terminal joins it into stdout):
 *
 *   stdin FIFO --PtyWriter--> master <--> slave (container fd 0, 1, 2)
 *   master --tty.ReadStream--copy--> stdout FIFO
 *
 * containerd may instead name a file (`file:///path`, from `ctr run --log-uri`): stdout and
 * stderr are then both appended to it. (`binary://` logging drivers are not supported.)
 *
 * Like containerd's runc shim, the shim also holds a read end of each output FIFO it writes: a
 * containerd that restarts closes its readers, and without ours every write would fail with EPIPE
 * and output would be lost. With it, output waits in the FIFO (then in the pipe, the container
 * blocking as with any slow reader) until the new containerd opens the FIFO again.
 */
import { closeSync, constants, createWriteStream, mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import tty from 'node:tty';
import {
  DisposableStack2,
  describeError,
  invalidArgument,
  quoteValue,
  unimplemented,
  type Logger,
} from '../base/index.ts';
import { ConsoleSocket } from '../runc/index.ts';
import {
  close,
  dupCloexec,
  fifoSocket,
  openFifoFd,
  pipe,
  setNonBlocking,
  setWindowSize,
  writeSome,
  type WindowSize,
} from '../sys/index.ts';
import { PtyWriter } from './pty-writer.ts';

export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
}

export interface ProcessIOOptions {
  /** The process gets a terminal: runc hands us its pty master through a console socket. */
  terminal?: boolean;
}

type StdioSlot = number | 'ignore';

/**
 * Our ends of a process's stdio, by name: what a keeper holds across a worker restart. The pipes
 * (or the pty master) keep the process from seeing its output close; the `fifo-` ends keep
 * containerd's side from seeing its FIFOs close (its log reader stops at the first EOF).
 */
export const KEPT_STDIO = [
  'stdin',
  'stdout',
  'stderr',
  'pty',
  'fifo-stdin',
  'fifo-stdout',
  'fifo-stderr',
] as const;
export type KeptName = (typeof KEPT_STDIO)[number];
export type KeptStdio = Partial<Record<KeptName, number>>;

const FIFO_OF = { 1: 'fifo-stdout', 2: 'fifo-stderr' } as const;

export class ProcessIO {
  readonly #stack = new DisposableStack2();
  /** fds given to runc for the container; ours are closed once runc has them. */
  readonly #childFds: StdioSlot[] = ['ignore', 'ignore', 'ignore'];
  #stdinWriter: net.Socket | undefined;
  #stdinFifo: net.Socket | undefined;
  #copies: Promise<void>[] = [];
  readonly #fifos = new Map<1 | 2, Writable>();
  /** True when output goes to a file (`file://`): the copies do not end it, dispose does. */
  #toFile = false;
  readonly #log: Logger;
  #console: ConsoleSocket | undefined;
  /** Our dup of the pty master, for typed input and window sizes. */
  #masterCtl: number | undefined;
  #ptyWriter: PtyWriter | undefined;
  /** While true, the container's EOF does not close containerd's FIFOs (a checkpoint is coming). */
  holdOpen = false;
  /** Our ends of the process's pipes (or its pty master), for a keeper to hold (keptFds). */
  readonly #ours: KeptStdio = {};
  /**
   * Called when we end a FIFO for good (the output ended, or endFifos): a keeper's copy of it must
   * go too, or containerd's reader waits for an EOF that never comes.
   */
  onEnded: (name: KeptName) => void = () => undefined;

  private constructor(log: Logger) {
    this.#log = log;
  }

  /** Opens FIFOs and pipes (or the console socket); on failure releases what it took. */
  static async open(
    paths: StdioPaths,
    log: Logger,
    signal?: AbortSignal,
    options: ProcessIOOptions = {},
  ): Promise<ProcessIO> {
    const io = new ProcessIO(log);
    try {
      if (options.terminal) {
        const cs = await ConsoleSocket.create();
        io.#console = cs;
        io.#stack.defer(() => cs.dispose());
      }
      if (paths.stdin) {
        const opened = await openFifoFd(paths.stdin, 'r', signal);
        const fifo = io.#stack.use(opened.socket, (s) => void s.destroy());
        io.#ours['fifo-stdin'] = opened.fd;
        io.#stdinFifo = fifo;
        if (!options.terminal) {
          const [r, w] = pipe();
          io.#childFds[0] = r;
          io.#ours.stdin = w;
          const writer = io.#stack.use(
            new net.Socket({ fd: w, readable: false, writable: true }),
            (s) => void s.destroy(),
          );
          io.#stdinWriter = writer;
          fifo.pipe(writer);
          writer.on('error', (err) => log.debug('stdin copy ended', { error: err }));
        }
      }
      const file = fileUri(paths.stdout);
      if (file !== undefined) {
        io.#openFile(file, options);
        return io;
      }
      for (const [slot, p] of [
        [1, paths.stdout],
        [2, paths.stderr],
      ] as const) {
        if (!p) continue;
        io.#holdReadEnd(p);
        const opened = await openFifoFd(p, 'w', signal);
        const fifo = io.#stack.use(opened.socket, (s) => void s.destroy());
        io.#ours[FIFO_OF[slot]] = opened.fd;
        io.#fifos.set(slot, fifo);
        if (!options.terminal) io.#attach(slot, fifo);
      }
      return io;
    } catch (err) {
      io.releaseChildFds();
      await io.dispose();
      throw err;
    }
  }

  /** `file://` output: both streams appended to one file, as containerd's runc shim does. */
  #openFile(file: string, options: ProcessIOOptions): void {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    const out = createWriteStream(file, { flags: 'a', mode: 0o644 });
    out.on('error', (err) => this.#log.warn('log file write failed', { file, error: describeError(err) }));
    this.#stack.defer(() => new Promise<void>((resolve) => out.end(resolve)));
    this.#toFile = true;
    this.#fifos.set(1, out);
    if (!options.terminal) {
      this.#fifos.set(2, out);
      this.#attach(1, out);
      this.#attach(2, out);
    }
  }

  /** A read end of an output FIFO that we never read: writes survive containerd's restarts. */
  #holdReadEnd(path: string): void {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    this.#stack.defer(() => closeSync(fd));
  }

  #attach(slot: 1 | 2, fifo: Writable): void {
    const [r, w] = pipe();
    this.#childFds[slot] = w;
    this.#ours[slot === 1 ? 'stdout' : 'stderr'] = r;
    const reader = this.#stack.use(
      new net.Socket({ fd: r, readable: true, writable: false }),
      (s) => void s.destroy(),
    );
    this.#copies.push(copy(reader, fifo, this.#log, () => this.#endsAtEof(slot)));
  }

  /** Whether the process's EOF ends containerd's FIFO (not while a checkpoint holds it open). */
  #endsAtEof(slot: 1 | 2): boolean {
    if (this.holdOpen || this.#toFile) return false;
    this.onEnded(FIFO_OF[slot]);
    return true;
  }

  /** Give this to runc as --console-socket (terminal processes only). */
  get consoleSocketPath(): string | undefined {
    return this.#console?.path;
  }

  /**
   * After `runc create`/`runc exec` with the console socket: takes the pty master runc sent and
   * starts copying through it.
   */
  async attachConsole(signal?: AbortSignal): Promise<void> {
    const cs = this.#console;
    if (!cs) return;
    const master = await cs.receiveMaster(signal);
    this.#console = undefined;
    await cs.dispose();
    this.#adoptMaster(master);
  }

  /** Copies through the pty master: its output to the stdout FIFO, the stdin FIFO into it. */
  #adoptMaster(master: number): void {
    let reader: tty.ReadStream;
    try {
      setNonBlocking(master);
      this.#ours.pty = master;
      const ctl = dupCloexec(master);
      this.#masterCtl = ctl;
      this.#stack.defer(() => {
        this.#masterCtl = undefined;
        close(ctl);
      });
      reader = new tty.ReadStream(master);
    } catch (err) {
      close(master);
      throw err;
    }
    this.#stack.defer(() => void reader.destroy());
    const out = this.#fifos.get(1);
    if (out) this.#copies.push(copy(reader, out, this.#log, () => this.#endsAtEof(1)));
    else reader.resume(); // nobody wants the output: keep the terminal from filling up
    const input = this.#stdinFifo;
    if (input && this.#masterCtl !== undefined) {
      const ctl = this.#masterCtl;
      const writer = new PtyWriter((d) => writeSome(ctl, d));
      this.#ptyWriter = writer;
      this.#stack.defer(() => writer.close());
      writer.onDrain = () => input.resume();
      writer.onError = (err) => {
        this.#log.debug('terminal input ended', { error: describeError(err) });
        input.destroy();
      };
      input.on('data', (chunk: Buffer) => {
        if (!writer.write(chunk)) input.pause();
      });
    }
  }

  /** Our ends of the process's stdio (the fds a keeper keeps so the process never sees them close). */
  get keptFds(): KeptStdio {
    return { ...this.#ours };
  }

  /**
   * A process's stdio taken over from a worker that died (docs/restart-safety.md): our ends of its
   * pipes (or its pty master) come from the keeper; containerd's FIFOs are opened again by path.
   * `holdOpen` (a sleeping container) keeps the FIFOs open when the old pipes end.
   */
  static async adopt(
    paths: StdioPaths,
    kept: KeptStdio,
    log: Logger,
    options: ProcessIOOptions & { holdOpen?: boolean } = {},
  ): Promise<ProcessIO> {
    const io = new ProcessIO(log);
    io.holdOpen = options.holdOpen ?? false;
    try {
      if (paths.stdin) {
        const fifo = io.#stack.use(await io.#fifoAgain(paths.stdin, 'r', kept), (s) => void s.destroy());
        io.#stdinFifo = fifo;
        if (!options.terminal && kept.stdin !== undefined) {
          io.#ours.stdin = kept.stdin;
          const writer = io.#stack.use(
            new net.Socket({ fd: kept.stdin, readable: false, writable: true }),
            (s) => void s.destroy(),
          );
          io.#stdinWriter = writer;
          fifo.pipe(writer);
          writer.on('error', (err) => log.debug('stdin copy ended', { error: err }));
        }
      }
      const file = fileUri(paths.stdout);
      if (file !== undefined) {
        io.#openFile(file, { terminal: false });
      } else {
        for (const [slot, p] of [
          [1, paths.stdout],
          [2, paths.stderr],
        ] as const) {
          if (!p) continue;
          io.#holdReadEnd(p);
          io.#fifos.set(
            slot,
            io.#stack.use(await io.#fifoAgain(p, 'w', kept, slot), (s) => void s.destroy()),
          );
        }
      }
      for (const [slot, name] of [
        [1, 'stdout'],
        [2, 'stderr'],
      ] as const) {
        const fd = kept[name];
        const fifo = io.#fifos.get(slot);
        if (fd === undefined || !fifo || options.terminal) continue;
        io.#ours[name] = fd;
        const reader = io.#stack.use(
          new net.Socket({ fd, readable: true, writable: false }),
          (s) => void s.destroy(),
        );
        io.#copies.push(copy(reader, fifo, log, () => io.#endsAtEof(slot)));
      }
      if (options.terminal && kept.pty !== undefined) io.#adoptMaster(kept.pty);
      return io;
    } catch (err) {
      await io.dispose();
      throw err;
    }
  }

  /**
   * containerd's FIFO as the dead worker had it open: the keeper's copy when there is one (the
   * other side never saw it close), else opened again by path (a worker from before the keeper
   * kept FIFOs).
   */
  async #fifoAgain(p: string, mode: 'r' | 'w', kept: KeptStdio, slot?: 1 | 2): Promise<net.Socket> {
    const name: KeptName = slot === undefined ? 'fifo-stdin' : FIFO_OF[slot];
    const fd = kept[name];
    if (fd !== undefined) {
      this.#ours[name] = fd;
      return fifoSocket(fd, p, mode);
    }
    const opened = await openFifoFd(p, mode);
    this.#ours[name] = opened.fd;
    return opened.socket;
  }

  /** ResizePty: sets the terminal's window size; nothing for a process without one (as runc's shim). */
  resize(size: WindowSize): void {
    if (this.#masterCtl !== undefined) setWindowSize(this.#masterCtl, size);
  }

  /** New pipes into the same FIFOs, for a restored process (containerd's readers never saw EOF). */
  reattach(): void {
    this.releaseChildFds();
    this.#copies = [];
    for (const [slot, fifo] of this.#fifos) this.#attach(slot, fifo);
  }

  /** What to pass as runc's stdio (runc hands its own stdio to the container); unset = /dev/null. */
  get childStdio(): { stdin?: number; stdout?: number; stderr?: number } {
    const [stdin, stdout, stderr] = this.#childFds;
    return {
      ...(typeof stdin === 'number' ? { stdin } : {}),
      ...(typeof stdout === 'number' ? { stdout } : {}),
      ...(typeof stderr === 'number' ? { stderr } : {}),
    };
  }

  /** After runc has started the process: drop our copies of its ends so EOF can arrive. */
  releaseChildFds(): void {
    for (let i = 0; i < 3; i++) {
      const fd = this.#childFds[i];
      if (typeof fd === 'number') close(fd);
      this.#childFds[i] = 'ignore';
    }
  }

  /** Resolves when stdout and stderr reached EOF and were flushed to containerd. */
  get drained(): Promise<void> {
    return Promise.all(this.#copies).then(() => undefined);
  }

  /** Ends containerd's FIFOs (the process is gone for good): its readers finish. */
  endFifos(): void {
    this.holdOpen = false;
    if (this.#toFile) return; // a file has no reader waiting for its end
    for (const [slot, fifo] of this.#fifos) {
      this.onEnded(FIFO_OF[slot]);
      fifo.end();
    }
  }

  /**
   * CloseIO: the process's stdin ends. Through a terminal only our copying stops (EOF on a tty is a
   * typed ^D, not a closed fd), as in containerd's runc shim.
   */
  closeStdin(): void {
    if (this.#stdinWriter) {
      this.#stdinWriter.end();
      return;
    }
    this.#ptyWriter?.close();
    this.#stdinFifo?.destroy();
  }

  async dispose(): Promise<void> {
    await this.#stack.dispose();
  }
}

/** The path of a `file://` stdout URI; undefined for a FIFO path; refuses other schemes. */
export function fileUri(stdout: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(stdout);
  if (!m) return undefined; // a plain path: containerd's FIFO
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'fifo') return undefined;
  if (scheme === 'binary')
    throw unimplemented('stdio scheme binary:// (a logging binary) is not supported', {
      details: { stdout },
    });
  if (scheme !== 'file')
    throw invalidArgument(`unknown stdio scheme ${quoteValue(scheme)}`, {
      details: { stdout: quoteValue(stdout) },
    });
  return decodeURIComponent(new URL(stdout).pathname);
}

/** Copies until `from` ends (or fails: a pty master reports EIO once the last slave closed). */
function copy(from: Readable, to: Writable, log: Logger, endAtEof: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    from.pipe(to, { end: false });
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      if (endAtEof()) to.end();
      resolve();
    };
    from.once('end', done);
    from.once('error', (err) => {
      log.debug('stdio copy ended', { error: err });
      done();
    });
    to.once('close', () => resolve());
    to.once('error', (err) => {
      // Not expected while we hold a read end; keep draining so the container never blocks.
      log.debug('stdio fifo write failed', { error: err });
      from.unpipe(to);
      from.resume();
      from.once('end', () => resolve());
    });
  });
}
