/**
 * Runs one runc process to completion: async, abortable, output captured only where it is piped.
 *
 * Invariant: runc's stdout/stderr are pipes only for commands that start no container process
 * (state, ps, kill, ...). For create/exec/restore runc's stdio *is* the container's stdio (runc
 * hands fds 0-2 to the process when there is no terminal), so a pipe there would be held open by
 * the container and 'close' would never come; those calls get fds or /dev/null instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { codeOf, internal, ZeropodError } from '../base/index.ts';

export type SpawnStdio = 'pipe' | 'ignore' | number;

export interface RunRequest {
  /** For messages: 'runc checkpoint zp-1'. */
  label: string;
  binary: string;
  argv: readonly string[];
  stdin: SpawnStdio;
  stdout: SpawnStdio;
  stderr: SpawnStdio;
  /** Further fds, at runc's fd 3, 4, ... (e.g. a --status-fd). */
  extraFds?: readonly number[];
  /** Written to stdin (which must be 'pipe'), then stdin is closed. */
  input?: string | Uint8Array;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Output beyond this is dropped (runc's JSON answers are a few kB; `events --stats` ~3 kB). */
const MAX_OUTPUT = 8 * 1024 * 1024;
/** How long piped output may lag behind the process's exit. */
const DRAIN_GRACE_MS = 200;

/**
 * Resolves when the process has exited and its piped output is drained, whatever the exit status.
 * Rejects only when it could not be started, or when `signal` aborted (after SIGKILL and exit, so
 * nothing is left running that this call owned).
 */
export function runProcess(req: RunRequest): Promise<RunResult> {
  const { signal } = req;
  if (signal?.aborted === true) return Promise.reject(aborted(req, signal));
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let done = false;
    let child: ChildProcess;
    try {
      child = spawn(req.binary, req.argv, {
        stdio: [req.stdin, req.stdout, req.stderr, ...(req.extraFds ?? [])],
        env: req.env ?? process.env,
      });
    } catch (e) {
      // Bad arguments (an invalid fd, say) throw here rather than emit 'error'.
      return reject(internal(`cannot run ${req.binary}`, { cause: e, details: { binary: req.binary } }));
    }
    const out: string[] = [];
    const err: string[] = [];
    let outBytes = 0;
    const collect = (into: string[]) => (chunk: string) => {
      if (outBytes > MAX_OUTPUT) return;
      outBytes += chunk.length;
      into.push(chunk);
    };
    child.stdout?.setEncoding('utf8').on('data', collect(out));
    child.stderr?.setEncoding('utf8').on('data', collect(err));
    let spawnError: Error | undefined;
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      // Spawn failures (ENOENT) come here and no 'close' may follow if the process never existed.
      spawnError = e;
      if (child.pid === undefined) finish(null, null);
    });
    // Normally 'close' follows 'exit' at once. If something runc started still holds a pipe (a
    // killed runc's children), stop waiting for its output after a grace period.
    let drainTimer: NodeJS.Timeout | undefined;
    child.on('exit', () => {
      drainTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, DRAIN_GRACE_MS);
      drainTimer.unref();
    });
    child.on('close', (code, sig) => {
      clearTimeout(drainTimer);
      finish(code, sig);
    });
    if (child.stdin !== null) {
      child.stdin.on('error', () => {
        // EPIPE when runc exits before reading its input: its exit status and log tell why.
      });
      child.stdin.end(req.input ?? '');
    }
    function finish(code: number | null, sig: NodeJS.Signals | null) {
      if (done) return;
      done = true;
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted === true) return reject(aborted(req, signal));
      if (spawnError !== undefined && child.pid === undefined) {
        return reject(
          internal(`cannot run ${req.binary}`, { cause: spawnError, details: { binary: req.binary } }),
        );
      }
      resolve({
        exitCode: code,
        signal: sig,
        stdout: out.join(''),
        stderr: err.join(''),
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      });
    }
  });
}

function aborted(req: RunRequest, signal: AbortSignal): ZeropodError {
  return new ZeropodError(codeOf(signal.reason), `${req.label}: aborted`, {
    cause: signal.reason,
    details: { argv: req.argv },
  });
}
