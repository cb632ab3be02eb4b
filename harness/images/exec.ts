/** Runs a host tool with captured output; a non-zero exit becomes an Internal error carrying stderr's tail. */
import { execFile } from 'node:child_process';
import { internal } from '../../src/base/index.ts';

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export function exec(cmd: string, args: readonly string[], options: ExecOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { ...options, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err === null) return resolve(stdout);
        const tail = stderr.trim().split('\n').slice(-10).join('\n');
        reject(internal(`${cmd} failed${tail ? `: ${tail}` : ''}`, { cause: err, details: { cmd, args } }));
      },
    );
  });
}
