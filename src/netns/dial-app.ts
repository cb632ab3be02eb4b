/**
 * A connection to an app inside its pod, on loopback, while it may still be coming up: IPv4 then
 * IPv6 loopback, retried with a short backoff until the deadline. Used by the activator and by the
 * keeper (which proxies held connections after a wake, so that they outlive the worker).
 */
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { deadlineExceeded } from '../base/index.ts';
import { dialInNetns } from './dial.ts';

export interface AppDialOptions {
  port: number;
  /** SO_MARK of the connection (the pod's nft table lets the activator's own dials through). */
  mark?: number;
  timeoutMs: number;
}

export async function dialApp(netnsPath: string, o: AppDialOptions): Promise<Socket> {
  const deadline = performance.now() + o.timeoutMs;
  let lastErr: unknown;
  for (let delay = 1; performance.now() < deadline; delay = Math.min(delay * 2, 20)) {
    for (const host of ['127.0.0.1', '::1']) {
      try {
        const left = Math.max(1, Math.ceil(deadline - performance.now()));
        return await dialInNetns(
          netnsPath,
          { host, port: o.port, ...(o.mark === undefined ? {} : { mark: o.mark }) },
          AbortSignal.timeout(left),
        );
      } catch (err) {
        lastErr = err;
      }
    }
    await sleep(delay);
  }
  throw deadlineExceeded(`app port ${o.port} did not accept within connect-timeout ${o.timeoutMs} ms`, {
    cause: lastErr,
    details: { netnsPath, port: o.port },
  });
}
