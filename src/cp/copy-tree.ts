/**
 * The `cp` adapter: copies a directory tree with its owners, modes, times and special files
 * (`cp -a`), staying on one filesystem. Asynchronous: a synchronous spawn in the node-wide daemon
 * stalls every pod it serves for as long as the copy takes.
 */
import { execFile } from 'node:child_process';
import { internal } from '../base/index.ts';

export interface CopyTreeOptions {
  signal?: AbortSignal;
  /** The binary (default `cp` from PATH). */
  binary?: string;
}

/** Copies what is inside `from` into the existing directory `to`; rejects with cp's stderr. */
export function copyTree(from: string, to: string, o: CopyTreeOptions = {}): Promise<void> {
  // --one-file-system: what is mounted below (devpts, mqueue, binds) is not ours to copy.
  const argv = ['-a', '--one-file-system', `${from}/.`, `${to}/`];
  return new Promise((resolve, reject) => {
    execFile(
      o.binary ?? 'cp',
      argv,
      { ...(o.signal ? { signal: o.signal } : {}), killSignal: 'SIGKILL', maxBuffer: 64 * 1024 },
      (err, _stdout, stderr) => {
        if (!err) return resolve();
        const reason = String(stderr).trim().split('\n').slice(-3).join('; ') || err.message;
        reject(internal(`cp ${from} -> ${to} failed: ${reason}`, { cause: err, details: { argv } }));
      },
    );
  });
}
