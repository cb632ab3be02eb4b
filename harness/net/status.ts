/** Reads the shims' status APIs (HTTP on unix sockets under /run/zeropod/status) from inside the environment. */
import { readdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { bound } from './slowdown.ts';

export interface ScaledStatus {
  container: string;
  name: string;
  phase: string;
  ports: number[];
  checkpoints: number;
  restores: number;
  failedCheckpoints: number;
  failedRestores: number;
  abortedCheckpoints: number;
  lastCheckpointMs?: number;
  lastRestoreMs?: number;
  lastWakeVia?: 'prepared' | 'runc restore' | 'fresh start';
  lastError?: string;
  freshStarts?: number;
  /** Connections held now (activator, dumped open), and the wakes clients waited for. */
  connectionsHeld?: number;
  clientWakes?: number;
  wakeLatenciesMs?: number[];
}

const STATUS_DIR = '/run/zeropod/status';

/** GET /status from one shim's status socket. */
export function readStatus(socketPath: string, timeoutMs = 2000): Promise<ScaledStatus[]> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: '/status', timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.once('end', () => {
        try {
          resolve(JSON.parse(body) as ScaledStatus[]);
        } catch (err) {
          reject(new Error(`status API answered ${res.statusCode}: ${body.slice(0, 200)}`, { cause: err }));
        }
      });
    });
    req.once('timeout', () => req.destroy(new Error('status API timed out')));
    req.once('error', reject);
  });
}

/** Every scaled container on this node. Sockets of shims that are gone are skipped. */
export async function allScaled(): Promise<ScaledStatus[]> {
  let files: string[];
  try {
    files = readdirSync(STATUS_DIR).filter((f) => f.endsWith('.sock'));
  } catch {
    return []; // no shim has started a status API yet
  }
  const out: ScaledStatus[] = [];
  for (const f of files) {
    try {
      out.push(...(await readStatus(path.join(STATUS_DIR, f))));
    } catch {
      // a shim that exited left its socket behind; nothing to read there
    }
  }
  return out;
}

export async function scaledStatus(containerId: string): Promise<ScaledStatus | undefined> {
  return (await allScaled()).find((s) => s.container === containerId);
}

/** Polls until the container reaches `phase` (bounded). */
export async function waitForPhase(
  containerId: string,
  phase: string,
  timeoutMs = bound(30_000),
): Promise<ScaledStatus> {
  const deadline = performance.now() + timeoutMs;
  let last: ScaledStatus | undefined;
  while (performance.now() < deadline) {
    last = await scaledStatus(containerId);
    if (last?.phase === phase) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `container ${containerId.slice(0, 12)} did not reach ${phase} within ${timeoutMs} ms (last: ${JSON.stringify(last)})`,
  );
}

/**
 * Resolves at the first phase change of `containerId` into `phase`, as streamed by the shims'
 * `GET /events` (every status socket is watched; bounded by `timeoutMs`).
 */
export function nextPhaseChange(
  containerId: string,
  phase: string,
  timeoutMs = bound(30_000),
): Promise<void> {
  let files: string[] = [];
  try {
    files = readdirSync(STATUS_DIR).filter((f) => f.endsWith('.sock'));
  } catch {
    // no status API yet: only the timeout can end the wait
  }
  return new Promise((resolve, reject) => {
    const requests: http.ClientRequest[] = [];
    const done = (err?: Error) => {
      clearTimeout(timer);
      for (const r of requests) r.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () => done(new Error(`no change to ${phase} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    for (const f of files) {
      const req = http.get({ socketPath: path.join(STATUS_DIR, f), path: '/events', agent: false }, (res) => {
        let buf = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          buf += d;
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            const line = JSON.parse(buf.slice(0, i)) as { container: string; to: string };
            buf = buf.slice(i + 1);
            if (line.container === containerId && line.to === phase) done();
          }
        });
      });
      req.on('error', () => undefined); // a stale socket of a daemon that is gone
      requests.push(req);
    }
  });
}
