/**
 * A bounded closed-loop HTTP/1.1 keep-alive load: `conns` workers in the client namespace, each
 * sending the next GET as soon as the previous response (Content-Length framed) is in, until
 * `durationMs` passes. A worker whose connection the server ends (nginx closes a keep-alive
 * connection after `keepalive_requests`, 1000 by default, with `Connection: close`) dials again.
 */
import type { Socket } from 'node:net';
import { dialInNetns } from '../../src/netns/index.ts';

export interface LoadResult {
  requests: number;
  /** Connections dialled beyond the first per worker. */
  reconnects: number;
  seconds: number;
  rps: number;
}

export async function httpLoad(
  netnsPath: string,
  host: string,
  port: number,
  path: string,
  conns: number,
  durationMs: number,
): Promise<LoadResult> {
  const req = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: zeropod-bench\r\n\r\n`);
  const started = performance.now();
  const deadline = started + durationMs;
  let reconnects = -conns;
  const worker = async (): Promise<number> => {
    let count = 0;
    while (performance.now() < deadline) {
      reconnects++;
      const sock = await dialInNetns(netnsPath, { host, port }, AbortSignal.timeout(5000));
      try {
        count += await serve(sock, req, deadline);
      } finally {
        sock.destroy();
      }
    }
    return count;
  };
  const counts = await Promise.all(Array.from({ length: conns }, worker));
  const seconds = (performance.now() - started) / 1000;
  const requests = counts.reduce((a, b) => a + b, 0);
  return { requests, reconnects, seconds, rps: requests / seconds };
}

/** Requests on one connection until the deadline or until the server says it closes. */
function serve(sock: Socket, req: Buffer, deadline: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let need = -1;
    let closing = false;
    let count = 0;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      sock.removeAllListeners('data');
      if (err) reject(err);
      else resolve(count);
    };
    sock.on('data', (d: Buffer) => {
      buf = buf.length > 0 ? Buffer.concat([buf, d]) : d;
      for (;;) {
        if (need < 0) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buf.subarray(0, end).toString('latin1');
          const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
          if (!head.startsWith('HTTP/1.1 200') || !len)
            return finish(new Error(`unexpected response: ${head.slice(0, 80)}`));
          closing = /\r\nconnection:\s*close/i.test(head);
          need = end + 4 + Number(len[1]);
        }
        if (buf.length < need) return;
        buf = buf.subarray(need);
        need = -1;
        count++;
        if (closing || performance.now() >= deadline) return finish();
        sock.write(req);
      }
    });
    sock.once('error', (err) => finish(err));
    sock.once('close', () =>
      finish(new Error('the server closed a keep-alive connection without saying so')),
    );
    sock.write(req);
  });
}
