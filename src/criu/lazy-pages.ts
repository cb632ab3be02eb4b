/**
 * CRIU's lazy-pages daemon: serves a restored process's memory on demand through userfaultfd, so a
 * restore returns before the pages are in and the wake no longer grows with memory size. It reads
 * the dump's page images from `imagePath` and listens on `lazy-pages.socket` in `workPath`, where
 * `criu restore --lazy-pages` (run by `runc restore --lazy-pages --work-path workPath`) finds it.
 * It exits once every page was handed over; the images must stay until then.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { internal } from '../base/index.ts';
import { criuFailureReport, describeCriuFailure } from './criu-log.ts';
import { resolveExecutable } from '../sys/executable.ts';

export interface LazyPagesDaemon {
  /** Resolves when the daemon exits (all pages served, or it failed): its exit code. */
  readonly done: Promise<number>;
  kill(): void;
}

const SOCKET = 'lazy-pages.socket';

export async function startLazyPages(opts: {
  imagePath: string;
  workPath: string;
  binary?: string;
}): Promise<LazyPagesDaemon> {
  const child = spawn(
    opts.binary ?? resolveExecutable('criu'),
    // Default verbosity: -v4 logs every page fault, on the wake's critical path.
    [
      'lazy-pages',
      '--images-dir',
      opts.imagePath,
      '--work-dir',
      opts.workPath,
      '--log-file',
      'lazy-pages.log',
    ],
    { stdio: 'ignore' },
  );
  const done = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.once('error', () => resolve(127));
  });
  const sock = path.join(opts.workPath, SOCKET);
  // The socket appears within milliseconds; bounded wait, and a dead daemon ends it early.
  let exited = false;
  void done.then(() => (exited = true));
  for (let i = 0; i < 500 && !exited; i++) {
    if (existsSync(sock)) return { done, kill: () => child.kill('SIGKILL') };
    await sleep(2);
  }
  child.kill('SIGKILL');
  const report = await criuFailureReport(opts.workPath, 'lazy-pages');
  throw internal(`criu lazy-pages did not start: ${describeCriuFailure(report)}`, {
    details: { ...opts, tail: report.tail },
  });
}
