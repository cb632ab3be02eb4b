/**
 * A container process's stdio as runc's own fds 0-2. Paths are opened here and closed once runc has
 * exited (the container keeps its own copies); fds given by the caller stay the caller's.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { internal, invalidArgument, ZeropodError } from '../base/index.ts';
import type { SpawnStdio } from './run-process.ts';
import type { ProcessStdio, StdioTarget } from './types.ts';

export interface OpenedStdio {
  stdin: SpawnStdio;
  stdout: SpawnStdio;
  stderr: SpawnStdio;
  close(): Promise<void>;
}

export async function openStdio(stdio: ProcessStdio | undefined): Promise<OpenedStdio> {
  const handles: FileHandle[] = [];
  const close = async () => {
    const results = await Promise.allSettled(handles.splice(0).map((h) => h.close()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  };
  const one = async (target: StdioTarget | undefined, flags: 'r' | 'a'): Promise<SpawnStdio> => {
    if (target === undefined) return 'ignore';
    if (typeof target === 'number') {
      if (!Number.isInteger(target) || target < 0) throw invalidArgument(`invalid stdio fd ${target}`);
      return target;
    }
    const h = await open(target, flags, 0o644);
    handles.push(h);
    return h.fd;
  };
  try {
    return {
      stdin: await one(stdio?.stdin, 'r'),
      stdout: await one(stdio?.stdout, 'a'),
      stderr: await one(stdio?.stderr, 'a'),
      close,
    };
  } catch (err) {
    await close();
    throw err instanceof ZeropodError
      ? err
      : internal('cannot open the container stdio', { cause: err, details: { stdio } });
  }
}
