/**
 * The keeper: the small, stable process of a restart-safe shim (docs/restart-safety.md). It owns
 * what must outlive the worker (the daemon doing the work): containerd's task socket and
 * connections, fds the worker asks it to keep (containers' stdio), and, as the child subreaper
 * above the worker, the containers' inits when a worker dies. It relays whole ttrpc frames to the
 * worker (RelayConnection), restarts a worker that exits, and hands the kept fds to the next one.
 *
 *   containerd ==task socket==> keeper --per-connection socket--> worker
 *                                  |  <--IPC: ready, keep fd, drop fd
 *                                  |  --IPC: exits of re-parented processes-->
 *                                  +-- spawns the worker with the kept fds inherited
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { describeError, type Logger } from '../../base/index.ts';
import {
  close,
  pidfdGetfd,
  pidfdOpen,
  readProcStatSync,
  setChildSubreaper,
  waitPid,
} from '../../sys/index.ts';
import { readOwnChildrenSync } from '../../sys/proc.ts';
import {
  ENV_KEPT_FDS,
  ENV_ROLE,
  ENV_WORKER_SOCKET,
  isWorkerMessage,
  type ExitMessage,
  type KeeperMessage,
  type SpliceTarget,
} from './messages.ts';
import { dialApp, joinSockets } from '../../netns/index.ts';
import { RelayConnection } from './relay-connection.ts';

export interface KeeperOptions {
  /** containerd's task socket: listening and inherited from `start` (an fd), or a path to listen on. */
  listen: { fd: number } | { path: string };
  /** Where the worker serves; the keeper connects one socket per containerd connection. */
  workerSocket: string;
  /** node's argv for a worker (the same entrypoint: files replaced on disk are the new code). */
  workerArgv: readonly string[];
  workerEnv: NodeJS.ProcessEnv;
  /** How long a request waits for a worker before it is answered Unavailable. */
  holdMs: number;
  log: Logger;
  /** The worker ended for good (said `done`, then exited). */
  onDone?: () => void;
}

interface Conn {
  socket: net.Socket;
  relay: RelayConnection;
  upstream: net.Socket | undefined;
}

type WorkerPhase =
  | { kind: 'none' }
  | { kind: 'starting'; child: ChildProcess; pidfd: number; since: number }
  | { kind: 'ready'; child: ChildProcess; pidfd: number; since: number };

/** Exits remembered for a worker that starts later (it re-adopts by pid and start time). */
const EXITS_KEPT = 1000;

export class Keeper {
  readonly #o: KeeperOptions;
  readonly #conns = new Set<Conn>();
  readonly #kept = new Map<string, number>();
  readonly #exits: ExitMessage[] = [];
  /** Held clients joined to their apps (splice): they live here, not in a worker that may die. */
  readonly #joined = new Set<net.Socket>();
  #worker: WorkerPhase = { kind: 'none' };
  /** The worker said it ends for good: no next one, the keeper exits after it. */
  #done = false;
  /** The worker that said it is leaving: connections accepted meanwhile wait for the next one. */
  #leaving: ChildProcess | undefined;
  #restarts = 0;
  #server: net.Server | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #onSigchld = () => this.#reap();

  constructor(o: KeeperOptions) {
    this.#o = o;
  }

  /** Counters for the log and tests. */
  get stats(): { restarts: number; kept: number; connections: number; proxied: number } {
    return {
      restarts: this.#restarts,
      kept: this.#kept.size,
      connections: this.#conns.size,
      proxied: this.#joined.size / 2,
    };
  }

  get workerPid(): number | undefined {
    return this.#worker.kind === 'none' ? undefined : this.#worker.child.pid;
  }

  async start(): Promise<void> {
    // Orphans (a dead worker's containers) come to us, not to the node's init.
    setChildSubreaper(true);
    process.on('SIGCHLD', this.#onSigchld);
    this.#timer = setInterval(() => {
      for (const c of this.#conns) c.relay.expire();
      this.#reap(); // a safety net should a SIGCHLD be coalesced away
    }, 1000);
    this.#server = net.createServer((s) => this.#accept(s));
    await new Promise<void>((resolve, reject) => {
      this.#server!.once('error', reject);
      this.#server!.listen(this.#o.listen, () => resolve());
    });
    this.#spawn();
  }

  /** Ends the keeper (tests; the process's end does the same): no next worker, kept fds closed. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    process.off('SIGCHLD', this.#onSigchld);
    for (const c of this.#conns) {
      c.upstream?.destroy();
      c.socket.destroy();
    }
    if (this.#worker.kind !== 'none') {
      const child = this.#worker.child;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await gone;
    }
    for (const s of this.#joined) s.destroy();
    for (const fd of this.#kept.values()) close(fd);
    this.#kept.clear();
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }

  /** The upgrade (and SIGTERM): the worker detaches and exits; the next one runs the files on disk. */
  restartWorker(reason: string): void {
    if (this.#worker.kind === 'none') return;
    this.#o.log.info('restarting the worker', { reason, pid: this.#worker.child.pid });
    this.#worker.child.kill('SIGTERM');
  }

  #spawn(): void {
    const keys = [...this.#kept.keys()];
    const fds = keys.map((k) => this.#kept.get(k)!);
    const child = spawn(process.execPath, [...this.#o.workerArgv], {
      // stderr: a worker that dies before its logger runs says why there (kept to the last 4 KiB).
      stdio: ['ignore', 'ignore', 'pipe', 'ipc', ...fds],
      cwd: '/',
      env: {
        ...this.#o.workerEnv,
        [ENV_ROLE]: 'worker',
        [ENV_WORKER_SOCKET]: this.#o.workerSocket,
        [ENV_KEPT_FDS]: JSON.stringify(Object.fromEntries(keys.map((k, i) => [k, 4 + i]))),
      },
    });
    if (child.pid === undefined) {
      this.#o.log.error('cannot start a worker; trying again');
      setTimeout(() => this.#spawn(), 1000).unref();
      return;
    }
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4096)));
    child.once('exit', (code) => {
      if (code !== 0 && stderr.trim() !== '') this.#o.log.error('worker said', { pid: child.pid, stderr });
    });
    const pidfd = pidfdOpen(child.pid);
    this.#worker = { kind: 'starting', child, pidfd, since: performance.now() };
    this.#o.log.info('worker started', { pid: child.pid, keptFds: keys.length });
    child.on('message', (m: unknown) => this.#message(child, m));
    child.once('exit', (code, signal) => this.#exited(child, code, signal));
  }

  #message(child: ChildProcess, m: unknown): void {
    const w = this.#worker;
    if (w.kind === 'none' || w.child !== child) return;
    if (!isWorkerMessage(m)) {
      this.#o.log.warn('worker sent an unknown message', { message: JSON.stringify(m).slice(0, 200) });
      return;
    }
    switch (m.type) {
      case 'ready': {
        this.#worker = { ...w, kind: 'ready' };
        this.#o.log.info('worker ready', {
          pid: child.pid,
          startMs: Math.round(performance.now() - w.since),
        });
        for (const e of this.#exits) this.#tell(child, e);
        for (const c of this.#conns) this.#connect(c);
        return;
      }
      case 'keep': {
        try {
          const fd = pidfdGetfd(w.pidfd, m.fd);
          const old = this.#kept.get(m.key);
          this.#kept.set(m.key, fd);
          if (old !== undefined) close(old);
        } catch (err) {
          this.#o.log.error('cannot keep a worker fd', { key: m.key, fd: m.fd, error: describeError(err) });
        }
        return;
      }
      case 'done': {
        this.#done = true;
        return;
      }
      case 'leaving': {
        for (const c of this.#conns) c.relay.pause();
        this.#leaving = child;
        return;
      }
      case 'splice': {
        void this.#splice(child, m.id, m.key, m.target);
        return;
      }
      case 'drop': {
        const fd = this.#kept.get(m.key);
        this.#kept.delete(m.key);
        if (fd !== undefined) close(fd);
        return;
      }
    }
  }

  #exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const w = this.#worker;
    if (w.kind === 'none' || w.child !== child) return;
    close(w.pidfd);
    this.#worker = { kind: 'none' };
    if (this.#closed) return;
    if (this.#done) {
      this.#o.log.info('worker done: the keeper ends', { pid: child.pid });
      this.#o.onDone?.();
      return;
    }
    this.#restarts++;
    const upMs = Math.round(performance.now() - w.since);
    this.#o.log.warn('worker exited; starting the next', { pid: child.pid, code, signal, upMs });
    for (const c of this.#conns) {
      c.upstream?.destroy();
      c.upstream = undefined;
      c.relay.lost();
    }
    // A worker that dies at once again and again must not spin: wait a little after a short life.
    const delay = upMs < 2000 ? Math.min(100 * 2 ** Math.min(this.#restarts, 6), 5000) : 0;
    setTimeout(() => this.#spawn(), delay);
  }

  #accept(socket: net.Socket): void {
    const conn: Conn = {
      socket,
      upstream: undefined,
      relay: new RelayConnection({ holdMs: this.#o.holdMs, toContainerd: (b) => socket.write(b) }),
    };
    this.#conns.add(conn);
    socket.on('data', (chunk) => conn.relay.fromContainerd(chunk));
    socket.on('error', (err) => this.#o.log.debug('containerd connection', { error: describeError(err) }));
    socket.on('close', () => {
      this.#conns.delete(conn);
      conn.upstream?.destroy();
    });
    if (this.#worker.kind === 'ready' && this.#leaving !== this.#worker.child) this.#connect(conn);
  }

  #connect(conn: Conn): void {
    if (conn.upstream) return;
    const up = net.connect({ path: this.#o.workerSocket });
    conn.upstream = up;
    up.on('connect', () => conn.relay.attach((b) => up.write(b)));
    up.on('data', (chunk) => conn.relay.fromWorker(chunk));
    up.on('error', (err) => this.#o.log.debug('worker connection', { error: describeError(err) }));
    up.on('close', () => {
      if (conn.upstream !== up) return;
      conn.upstream = undefined;
      conn.relay.lost();
    });
  }

  /**
   * Joins the client kept under `key` to its app: the keeper dials the app inside the pod (the wake
   * is done) and proxies the two until either closes or idles, whatever happens to the worker.
   */
  async #splice(child: ChildProcess, id: number, key: string, target: SpliceTarget): Promise<void> {
    const fd = this.#kept.get(key);
    this.#kept.delete(key);
    if (fd === undefined) {
      this.#tell(child, { type: 'spliced', id, error: `no connection kept under ${key}` });
      return;
    }
    let client: net.Socket;
    try {
      // Node reads from an adopted fd at once; paused, what arrives waits in the stream for the pipe.
      client = new net.Socket({ fd, readable: true, writable: true }).pause();
    } catch (err) {
      close(fd);
      this.#tell(child, { type: 'spliced', id, error: describeError(err) });
      return;
    }
    const track = (s: net.Socket) => {
      this.#joined.add(s);
      s.once('close', () => this.#joined.delete(s));
      s.on('error', (err) => this.#o.log.debug('proxied connection', { key, error: describeError(err) }));
      return s;
    };
    track(client);
    let app: net.Socket;
    try {
      app = track(
        await dialApp(target.netnsPath, {
          port: target.port,
          mark: target.mark,
          timeoutMs: target.connectTimeoutMs,
        }),
      );
    } catch (err) {
      client.destroy();
      this.#o.log.warn('a held connection could not reach its app', { key, error: describeError(err) });
      this.#tell(child, { type: 'spliced', id, error: describeError(err) });
      return;
    }
    this.#tell(child, { type: 'spliced', id });
    if (this.#closed || client.destroyed) {
      app.destroy();
      client.destroy();
      return;
    }
    await joinSockets(client, app, { idleMs: target.idleMs });
  }

  /** A message to a worker that may have just died (its exit is handled by #exited). */
  #tell(child: ChildProcess, m: KeeperMessage): void {
    if (!child.connected) return;
    child.send(m, (err: Error | null) => {
      if (err) this.#o.log.debug('worker gone before a message', { error: describeError(err) });
    });
  }

  /** Reaps re-parented processes (never the worker: libuv waits for it) and tells the worker. */
  #reap(): void {
    let children: number[];
    try {
      children = readOwnChildrenSync();
    } catch (err) {
      this.#o.log.warn('listing children failed', { error: describeError(err) });
      return;
    }
    const worker = this.workerPid;
    for (const pid of children) {
      if (pid === worker) continue;
      const stat = readProcStatSync(pid);
      if (stat?.state !== 'Z') continue;
      let exit;
      try {
        exit = waitPid(pid);
      } catch (err) {
        this.#o.log.debug('reaping', { pid, error: describeError(err) });
        continue;
      }
      if (exit === undefined) continue;
      const m: ExitMessage = {
        type: 'exit',
        pid,
        startTime: stat.startTime,
        exitCode: exit.exitCode,
        ...(exit.signal === undefined ? {} : { signal: exit.signal }),
        exitedAt: new Date().toISOString(),
      };
      this.#exits.push(m);
      if (this.#exits.length > EXITS_KEPT) this.#exits.shift();
      this.#o.log.info('reaped a re-parented process', { pid, exitCode: exit.exitCode });
      if (this.#worker.kind === 'ready') this.#tell(this.#worker.child, m);
    }
  }
}
