/**
 * Kubelet-style probes, sent from the node's network namespace the way kubelet sends them:
 * HTTP GET with `User-Agent: kube-probe/<major>.<minor>` and `Connection: close`, or a bare TCP connect.
 */
import http from 'node:http';
import net from 'node:net';

export const KUBE_PROBE_USER_AGENT = 'kube-probe/1.31';

export interface ProbeResult {
  ok: boolean;
  status?: number;
  error?: string;
  ms: number;
}

export function httpProbe(host: string, port: number, path = '/', timeoutMs = 1000): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.get(
      {
        host,
        port,
        path,
        timeout: timeoutMs,
        headers: { 'User-Agent': KUBE_PROBE_USER_AGENT, Connection: 'close', Accept: '*/*' },
      },
      (res) => {
        res.resume();
        res.once('end', () => {
          const status = res.statusCode ?? 0;
          resolve({ ok: status >= 200 && status < 400, status, ms: performance.now() - started });
        });
      },
    );
    req.once('timeout', () => req.destroy(new Error(`probe timed out after ${timeoutMs} ms`)));
    req.once('error', (err) => resolve({ ok: false, error: err.message, ms: performance.now() - started }));
  });
}

export function tcpProbe(host: string, port: number, timeoutMs = 1000): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const sock = net.connect({ host, port, timeout: timeoutMs });
    sock.once('connect', () => {
      sock.destroy();
      resolve({ ok: true, ms: performance.now() - started });
    });
    sock.once('timeout', () => sock.destroy(new Error(`probe timed out after ${timeoutMs} ms`)));
    sock.once('error', (err) => resolve({ ok: false, error: err.message, ms: performance.now() - started }));
  });
}
