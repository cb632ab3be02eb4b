/**
 * The shim's own log: containerd reads it from the FIFO named `log` in the bundle and copies it into
 * its log. A containerd that restarts closes its reader (our writes then fail with EPIPE) and opens
 * the FIFO again once it has loaded the shim; the sink reopens its end then, trying at most once per
 * `retryMs` while lines are written. Lines written while nobody reads are dropped (as containerd's
 * own shims lose them); a write never blocks. Without the FIFO at all (started by hand), lines go to
 * stderr.
 */
import { constants, existsSync, openSync } from 'node:fs';
import net from 'node:net';

export interface LogSinkOptions {
  retryMs?: number;
  /** For tests. */
  now?: () => number;
  fallback?: (line: string) => void;
}

export function fifoLogSink(fifoPath: string, options: LogSinkOptions = {}): (line: string) => void {
  const retryMs = options.retryMs ?? 1000;
  const now = options.now ?? (() => performance.now());
  const fallback = options.fallback ?? ((line: string) => void process.stderr.write(line));
  if (!existsSync(fifoPath)) return fallback;
  let sock: net.Socket | undefined;
  let lastAttempt = -Infinity;
  const open = () => {
    lastAttempt = now();
    try {
      // ENXIO while no reader has the FIFO open (containerd is away): try again later.
      const fd = openSync(fifoPath, constants.O_WRONLY | constants.O_NONBLOCK);
      const s = new net.Socket({ fd, readable: false, writable: true });
      s.on('error', () => {
        if (sock === s) sock = undefined;
        s.destroy();
      });
      sock = s;
    } catch {
      sock = undefined;
    }
  };
  open();
  return (line) => {
    if (!sock && now() - lastAttempt >= retryMs) open();
    sock?.write(line);
  };
}
