/**
 * Runs one command inside the VM through its exec agent (wire format in frames.ts): stdout and stderr
 * stream back as they come, the exit code (or signal) ends it. Aborting closes the connection, which
 * makes the agent kill the command's process group.
 */
import net from 'node:net';
import type { Readable } from 'node:stream';
import { canceled, internal, unavailable } from '../../src/base/index.ts';
import { encodeFrame, FrameDecoder, FrameType, type ExecRequest } from './frames.ts';

const STDIN_CHUNK = 64 * 1024;

export interface AgentAddress {
  port: number;
  token: string;
}

export interface VmExecOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Bytes for the command's stdin (ended after them), or a stream to forward; none: stdin is closed. */
  input?: string | Buffer | Readable;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  signal?: AbortSignal;
}

export interface VmExecResult {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export function agentExec(
  addr: AgentAddress,
  argv: string[],
  options: VmExecOptions = {},
): Promise<VmExecResult> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(canceled('exec in the VM canceled before it started'));
  return new Promise<VmExecResult>((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port: addr.port });
    const decoder = new FrameDecoder();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let done = false;
    const finish = (e: Error | undefined, r?: VmExecResult) => {
      if (done) return;
      done = true;
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      if (e) reject(e);
      else resolve(r!);
    };
    const onAbort = () => finish(canceled(`exec in the VM canceled: ${argv.join(' ')}`));
    signal?.addEventListener('abort', onAbort, { once: true });

    sock.once('connect', () => {
      const req: ExecRequest = { token: addr.token, argv };
      if (options.cwd !== undefined) req.cwd = options.cwd;
      if (options.env !== undefined) req.env = options.env;
      sock.write(`${JSON.stringify(req)}\n`);
      // stdin as frames, its end an empty one: closing our side would tell the agent we went away.
      const stdin = (b: Buffer) => {
        for (let off = 0; off < b.length; off += STDIN_CHUNK) {
          sock.write(encodeFrame(FrameType.stdin, b.subarray(off, off + STDIN_CHUNK)));
        }
      };
      const eof = () => sock.write(encodeFrame(FrameType.stdin, Buffer.alloc(0)));
      const input = options.input;
      if (input === undefined) eof();
      else if (typeof input === 'string' || Buffer.isBuffer(input)) {
        stdin(Buffer.from(input));
        eof();
      } else {
        input.on('data', (d: Buffer | string) => !done && stdin(Buffer.from(d)));
        input.once('end', () => !done && eof());
      }
    });
    sock.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        finish(internal('the VM agent sent a malformed frame', { cause: e }));
        return;
      }
      for (const f of frames) {
        if (f.type === FrameType.stdout) {
          out.push(f.payload);
          options.onStdout?.(f.payload);
        } else if (f.type === FrameType.stderr) {
          err.push(f.payload);
          options.onStderr?.(f.payload);
        } else if (f.type === FrameType.error) {
          finish(internal(`the VM agent refused: ${f.payload.toString('utf8')}`));
        } else if (f.type === FrameType.exit) {
          const exit = JSON.parse(f.payload.toString('utf8')) as {
            code: number | null;
            signal: string | null;
          };
          finish(undefined, {
            code: exit.code ?? 128,
            signal: exit.signal,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
          });
        }
      }
    });
    sock.once('error', (e) =>
      finish(unavailable(`cannot reach the VM agent on 127.0.0.1:${addr.port}`, { cause: e })),
    );
    sock.once('close', () =>
      finish(unavailable(`the VM agent closed the connection before ${argv[0]} exited`)),
    );
  });
}
