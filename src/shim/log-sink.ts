/**
 * The shim's own log: containerd reads it from the FIFO named `log` in the bundle and copies it into
 * its log. A containerd that restarts closes its reader (our writes then fail with EPIPE) and opens
 * the FIFO again once it has loaded the shim. Meanwhile lines wait in a bounded buffer (the oldest
 * are dropped past MAX_PENDING_BYTES, and a line says how many) and the FIFO is reopened every
 * `retryMs` until containerd reads it again; a write never blocks. Without the FIFO at all (started
 * by hand), lines go to stderr.
 */
import { constants, createWriteStream, existsSync, mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const MAX_PENDING_BYTES = 256 * 1024;

export interface LogSinkOptions {
  retryMs?: number;
  fallback?: (line: string) => void;
}

export function fifoLogSink(fifoPath: string, options: LogSinkOptions = {}): (line: string) => void {
  const retryMs = options.retryMs ?? 200;
  const fallback = options.fallback ?? ((line: string) => void process.stderr.write(line));
  if (!existsSync(fifoPath)) return fallback;
  let sock: net.Socket | undefined;
  let pending: string[] = [];
  let pendingBytes = 0;
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;

  const open = (): boolean => {
    try {
      // ENXIO while no reader has the FIFO open (containerd is away): try again later.
      const fd = openSync(fifoPath, constants.O_WRONLY | constants.O_NONBLOCK);
      const s = new net.Socket({ fd, readable: false, writable: true });
      s.on('error', () => {
        s.destroy();
        if (sock === s) {
          sock = undefined;
          scheduleReopen();
        }
      });
      sock = s;
      return true;
    } catch {
      return false;
    }
  };
  const flush = () => {
    if (!sock) return;
    if (dropped > 0)
      sock.write(
        `${JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: 'log lines dropped while containerd was away', dropped })}\n`,
      );
    for (const line of pending) sock.write(line);
    pending = [];
    pendingBytes = 0;
    dropped = 0;
  };
  const scheduleReopen = () => {
    if (timer !== undefined) return;
    timer = setInterval(() => {
      if (!open()) return;
      clearInterval(timer);
      timer = undefined;
      flush();
    }, retryMs).unref();
  };
  const keep = (line: string) => {
    pending.push(line);
    pendingBytes += line.length;
    while (pendingBytes > MAX_PENDING_BYTES && pending.length > 1) {
      pendingBytes -= pending.shift()!.length;
      dropped++;
    }
  };

  if (!open()) scheduleReopen();
  return (line) => {
    if (sock) sock.write(line);
    else keep(line);
  };
}

/** Appends log lines to /var/log/zeropod/shim-<namespace>.log (never blocks the daemon). */
export function fileLogSink(namespace: string): (line: string) => void {
  const dir = process.env['ZEROPOD_SHIM_LOG_DIR'] ?? '/var/log/zeropod';
  mkdirSync(dir, { recursive: true });
  const out = createWriteStream(path.join(dir, `shim-${namespace}.log`), { flags: 'a' });
  out.on('error', (err) => process.stderr.write(`shim log: ${err.message}\n`));
  return (line) => void out.write(line);
}
