/** Runs a command to completion (inside the node environment); a failure carries its stderr. */
import { spawn } from 'node:child_process';

export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export function sh(
  cmd: string,
  args: readonly string[],
  opts: { check?: boolean; timeoutMs?: number } = {},
): Promise<ShResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(' ')}: could not run`, { cause: err }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const r = { code: code ?? 128, stdout, stderr, ms: performance.now() - started };
      if ((opts.check ?? true) && r.code !== 0) {
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}: ${stderr.trim().slice(-2000)}`));
      } else resolve(r);
    });
  });
}

/** The same, never throwing: for cleanup of things that may already be gone. */
export async function shQuiet(cmd: string, args: readonly string[]): Promise<ShResult> {
  return sh(cmd, args, { check: false }).catch((err: unknown) => ({
    code: 127,
    stdout: '',
    stderr: String(err),
    ms: 0,
  }));
}
