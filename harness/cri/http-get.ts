/** A plain HTTP GET that returns status, body and timing (for tests, the demo and benchmarks). */
import http from 'node:http';

export interface HttpResult {
  status: number;
  body: string;
  ms: number;
}

export function httpGet(host: string, port: number, path = '/', timeoutMs = 10_000): Promise<HttpResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - started }));
      res.once('error', reject);
    });
    req.once('timeout', () =>
      req.destroy(new Error(`GET http://${host}:${port}${path} timed out after ${timeoutMs} ms`)),
    );
    req.once('error', reject);
  });
}

/** Retries a GET until it succeeds or `waitMs` passes (a freshly started server may not listen yet). */
export async function httpGetEventually(
  host: string,
  port: number,
  path = '/',
  waitMs = 10_000,
): Promise<HttpResult> {
  const deadline = performance.now() + waitMs;
  for (;;) {
    try {
      return await httpGet(host, port, path, Math.max(1000, deadline - performance.now()));
    } catch (err) {
      if (performance.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
