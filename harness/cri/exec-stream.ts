/**
 * An interactive exec through the CRI's streaming endpoint, as `kubectl exec` reaches it through
 * kubelet: `Exec` returns a URL, the client upgrades it to a WebSocket speaking kubelet's channel
 * protocol. Every message starts with its channel byte:
 *
 *   0 stdin (client -> server)   1 stdout   2 stderr   3 error: a metav1.Status JSON at the end
 *   4 resize: {"Width":w,"Height":h}       255 (v5 only): close channel <next byte>, e.g. stdin EOF
 *
 * containerd 2.1's streaming server (kubelet 0.32's) offers v4 at most over WebSocket: no stdin
 * close; a client that needs one uses SPDY (not here) or containerd's own API (`ctr task exec`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { failedPrecondition, internal, unavailable } from '../../src/base/index.ts';
import type { Cri } from './cri.ts';
import { connectWebSocket, type WebSocketConnection } from './websocket.ts';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;

export interface ExecStreamOptions {
  containerId: string;
  cmd: string[];
  tty?: boolean;
  stdin?: boolean;
}

export interface ExecStreamResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

interface K8sStatus {
  status?: string;
  message?: string;
  reason?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

export class ExecStream {
  readonly #ws: WebSocketConnection;
  stdout = '';
  stderr = '';
  #status: K8sStatus | undefined;
  /** Resolves when the server ended the session (the process exited). */
  readonly done: Promise<ExecStreamResult>;

  private constructor(ws: WebSocketConnection) {
    this.#ws = ws;
    ws.onMessage((m) => {
      if (m.length === 0) return;
      const data = m.subarray(1).toString();
      if (m[0] === STDOUT) this.stdout += data;
      else if (m[0] === STDERR) this.stderr += data;
      else if (m[0] === ERROR && data.length > 0) this.#status = JSON.parse(data) as K8sStatus;
    });
    this.done = ws.ended.then(() => this.#result());
    this.done.catch(() => undefined); // a caller that gave up (destroy) must not leave it unhandled
  }

  static async open(cri: Cri, o: ExecStreamOptions): Promise<ExecStream> {
    const tty = o.tty ?? false;
    const { url } = await cri.runtime.exec({
      containerId: o.containerId,
      cmd: o.cmd,
      tty,
      stdin: o.stdin ?? false,
      stdout: true,
      stderr: !tty,
    });
    const ws = await connectWebSocket(url, ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
    return new ExecStream(ws);
  }

  get protocol(): string {
    return this.#ws.protocol;
  }

  write(data: string): void {
    this.#ws.sendBinary(Buffer.concat([Buffer.from([STDIN]), Buffer.from(data)]));
  }

  /** Ends the process's stdin (containerd's CloseIO). Needs v5 of the protocol. */
  closeStdin(): void {
    if (this.#ws.protocol !== 'v5.channel.k8s.io')
      throw failedPrecondition(`stdin close needs v5, got ${this.#ws.protocol}`);
    this.#ws.sendBinary(Buffer.from([CLOSE, STDIN]));
  }

  resize(width: number, height: number): void {
    this.#ws.sendBinary(
      Buffer.concat([Buffer.from([RESIZE]), Buffer.from(JSON.stringify({ Width: width, Height: height }))]),
    );
  }

  /** Polls the output until `done(stdout)` holds (bounded by `waitMs`). */
  async waitForStdout(done: (stdout: string) => boolean, waitMs = 10_000): Promise<string> {
    const deadline = performance.now() + waitMs;
    while (!done(this.stdout)) {
      if (performance.now() > deadline)
        throw unavailable('exec output did not show what was awaited', {
          details: { stdout: this.stdout.slice(-500) },
        });
      await sleep(20);
    }
    return this.stdout;
  }

  destroy(): void {
    this.#ws.destroy();
  }

  #result(): ExecStreamResult {
    const s = this.#status;
    const base = { stdout: this.stdout, stderr: this.stderr };
    if (s === undefined) throw internal('exec session ended without a status', { details: base });
    if (s.status === 'Success') return { exitCode: 0, ...base };
    const code = s.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
    if (s.reason === 'NonZeroExitCode' && code !== undefined) return { exitCode: Number(code), ...base };
    throw internal(`exec failed: ${s.message ?? JSON.stringify(s)}`, { details: base });
  }
}
