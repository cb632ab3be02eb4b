/**
 * The benchmark's client: one request from inside the client namespace, timed from the start of
 * the connect until the full response is in. HTTP/1.0 (the server closes: the response is complete
 * at EOF) or a Redis command (complete at the reply's CRLF). Responses are checked, so a fast wrong
 * answer never counts as a fast wake.
 */
import type { Socket } from 'node:net';
import { dialInNetns } from '../../src/netns/index.ts';

export type Protocol =
  | { kind: 'http'; path: string; expect: string }
  /** Sends DBSIZE; the reply must be at least `minKeys` (the data survived). */
  | { kind: 'redis'; minKeys: number };

export interface Target {
  netnsPath: string;
  host: string;
  port: number;
  protocol: Protocol;
}

export interface RequestResult {
  ms: number;
  /** Connection attempts (more than 1 only when retrying was allowed and a connect was refused). */
  attempts: number;
}

/**
 * One request; with `retryUntilMs`, failures (a refused connect while the server is not back yet)
 * are retried every `retryEveryMs` until then, or until `signal` aborts.
 */
export async function request(
  t: Target,
  opts: {
    timeoutMs?: number;
    retryUntilMs?: number;
    retryEveryMs?: number;
    started?: number;
    signal?: AbortSignal;
  } = {},
): Promise<RequestResult> {
  const started = opts.started ?? performance.now();
  const timeoutMs = opts.timeoutMs ?? 15_000;
  for (let attempts = 1; ; attempts++) {
    try {
      await once(t, timeoutMs);
      return { ms: performance.now() - started, attempts };
    } catch (err) {
      if (opts.retryUntilMs === undefined || performance.now() > opts.retryUntilMs || opts.signal?.aborted)
        throw err;
      await new Promise((r) => setTimeout(r, opts.retryEveryMs ?? 2));
    }
  }
}

async function once(t: Target, timeoutMs: number): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  const sock = await dialInNetns(t.netnsPath, { host: t.host, port: t.port }, signal);
  try {
    await exchange(sock, t, signal);
  } finally {
    sock.destroy();
  }
}

function exchange(sock: Socket, t: Target, signal: AbortSignal): Promise<void> {
  const p = t.protocol;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      signal.removeEventListener('abort', onAbort);
      sock.removeAllListeners('data').removeAllListeners('end');
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () =>
      done(new Error(`no full response from ${t.host}:${t.port} within the timeout (${size} bytes)`));
    signal.addEventListener('abort', onAbort, { once: true });
    sock.once('error', (err) => done(err));
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      size += d.length;
      if (p.kind === 'redis') {
        const text = Buffer.concat(chunks).toString('latin1');
        const end = text.indexOf('\r\n');
        if (end < 0) return;
        const m = /^:(\d+)$/.exec(text.slice(0, end));
        if (!m) return done(new Error(`unexpected redis reply ${JSON.stringify(text.slice(0, 80))}`));
        if (Number(m[1]) < p.minKeys)
          return done(new Error(`redis has ${m[1]} keys, expected >= ${p.minKeys}`));
        done();
      }
    });
    sock.once('end', () => {
      if (p.kind === 'redis') return done(new Error('redis closed the connection without a reply'));
      const text = Buffer.concat(chunks).toString('utf8');
      if (!/^HTTP\/1\.[01] 200 /.test(text))
        return done(new Error(`unexpected HTTP response ${JSON.stringify(text.slice(0, 80))}`));
      if (!text.includes(p.expect)) return done(new Error(`response lacks ${JSON.stringify(p.expect)}`));
      done();
    });
    if (p.kind === 'http') {
      sock.write(`GET ${p.path} HTTP/1.0\r\nHost: ${t.host}\r\nUser-Agent: zeropod-bench\r\n\r\n`);
    } else {
      sock.write('*1\r\n$6\r\nDBSIZE\r\n');
    }
  });
}

/** Sends raw Redis commands (RESP) and returns the first reply line: used to load data. */
export async function redisCommand(
  netnsPath: string,
  host: string,
  port: number,
  args: readonly string[],
  timeoutMs = 120_000,
): Promise<string> {
  const signal = AbortSignal.timeout(timeoutMs);
  const sock = await dialInNetns(netnsPath, { host, port }, signal);
  try {
    return await new Promise<string>((resolve, reject) => {
      let text = '';
      const onAbort = () => reject(new Error(`redis ${args[0]} timed out`));
      signal.addEventListener('abort', onAbort, { once: true });
      sock.once('error', reject);
      sock.setEncoding('latin1').on('data', (d: string) => {
        text += d;
        if (text[0] === '$') {
          const head = text.indexOf('\r\n');
          if (head < 0) return;
          const len = Number(text.slice(1, head));
          if (len >= 0 && text.length < head + 2 + len + 2) return;
        } else if (!text.includes('\r\n')) return;
        signal.removeEventListener('abort', onAbort);
        resolve(text);
      });
      sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
  } finally {
    sock.destroy();
  }
}
