/** Runs host commands for the harness: output captured, failures become errors carrying the tail. */
import { spawn, type SpawnOptions } from 'node:child_process';
import { internal } from '../../src/base/index.ts';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(
  cmd: string,
  args: readonly string[],
  options: SpawnOptions & { check?: boolean; input?: string } = {},
): Promise<RunResult> {
  const { check = true, input, ...spawnOptions } = options;
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...spawnOptions });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // A command that exits without reading its input (diff, true) closes the pipe first: its exit
  // status is the answer, not the EPIPE of writing to it.
  child.stdin?.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') stderr += `stdin: ${err.message}\n`;
  });
  child.stdin?.end(input ?? '');
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(internal(`cannot run ${cmd}`, { cause: err })));
    child.once('close', (c, signal) => resolve(c ?? 128 + (signal ? 9 : 0)));
  });
  if (check && code !== 0) {
    const tail = (stderr || stdout).trim().split('\n').slice(-15).join('\n');
    throw internal(`${cmd} ${args.join(' ')} exited with ${code}${tail ? `:\n${tail}` : ''}`, {
      details: { cmd, args, code },
    });
  }
  return { code, stdout, stderr };
}

/** Runs with inherited stdio (long steps whose progress the user should see). */
export async function runVisible(cmd: string, args: readonly string[], options: SpawnOptions = {}) {
  const child = spawn(cmd, args, { stdio: 'inherit', ...options });
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(internal(`cannot run ${cmd}`, { cause: err })));
    child.once('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) throw internal(`${cmd} ${args.join(' ')} exited with ${code}`, { details: { cmd, code } });
}
