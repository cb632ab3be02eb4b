/**
 * A process's stdio: containerd gives FIFO paths; runc (and the container) get pipes we own, and we
 * copy between them. Owning the pipes means we see the container's EOF and can close the FIFO so
 * containerd's readers finish (ExecSync waits for that), and CRIU restores them as plain pipes.
 *
 *   stdin FIFO --copy--> [pipe] --> container fd 0
 *   container fd 1 --> [pipe] --copy--> stdout FIFO
 *   container fd 2 --> [pipe] --copy--> stderr FIFO
 */
import net from 'node:net';
import { DisposableStack2, type Logger } from '../base/index.ts';
import { close, openFifo, pipe } from '../sys/index.ts';

export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
}

type StdioSlot = number | 'ignore';

export class ProcessIO {
  readonly #stack = new DisposableStack2();
  /** fds given to runc for the container; ours are closed once runc has them. */
  readonly #childFds: StdioSlot[] = ['ignore', 'ignore', 'ignore'];
  #stdinWriter: net.Socket | undefined;
  #copies: Promise<void>[] = [];
  readonly #fifos = new Map<1 | 2, net.Socket>();
  readonly #log: Logger;
  /** While true, the container's EOF does not close containerd's FIFOs (a checkpoint is coming). */
  holdOpen = false;

  private constructor(log: Logger) {
    this.#log = log;
  }

  /** Opens FIFOs and pipes; on failure releases what it took. */
  static async open(paths: StdioPaths, log: Logger, signal?: AbortSignal): Promise<ProcessIO> {
    const io = new ProcessIO(log);
    try {
      if (paths.stdin) {
        const fifo = io.#stack.use(await openFifo(paths.stdin, 'r', signal), (s) => void s.destroy());
        const [r, w] = pipe();
        io.#childFds[0] = r;
        const writer = io.#stack.use(new net.Socket({ fd: w, readable: false, writable: true }), (s) => void s.destroy());
        io.#stdinWriter = writer;
        fifo.pipe(writer);
        writer.on('error', (err) => log.debug('stdin copy ended', { error: err }));
      }
      for (const [slot, p] of [[1, paths.stdout], [2, paths.stderr]] as const) {
        if (!p) continue;
        const fifo = io.#stack.use(await openFifo(p, 'w', signal), (s) => void s.destroy());
        io.#fifos.set(slot, fifo);
        io.#attach(slot, fifo);
      }
      return io;
    } catch (err) {
      io.releaseChildFds();
      await io.dispose();
      throw err;
    }
  }

  #attach(slot: 1 | 2, fifo: net.Socket): void {
    const [r, w] = pipe();
    this.#childFds[slot] = w;
    const reader = this.#stack.use(new net.Socket({ fd: r, readable: true, writable: false }), (s) => void s.destroy());
    this.#copies.push(copy(reader, fifo, this.#log, () => !this.holdOpen));
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
    for (const fifo of this.#fifos.values()) fifo.end();
  }

  closeStdin(): void {
    this.#stdinWriter?.end();
  }

  async dispose(): Promise<void> {
    await this.#stack.dispose();
  }
}

function copy(from: net.Socket, to: net.Socket, log: Logger, endAtEof: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    from.pipe(to, { end: false });
    const done = () => resolve();
    from.once('end', () => {
      if (endAtEof()) to.end();
      done();
    });
    to.once('close', done);
    from.once('error', (err) => {
      log.debug('stdio copy failed', { error: err });
      to.end();
    });
    to.once('error', (err) => {
      // containerd went away (restart): keep draining the pipe so the container never blocks.
      log.debug('stdio fifo write failed', { error: err });
      from.unpipe(to);
      from.resume();
      from.once('end', done);
    });
  });
}
