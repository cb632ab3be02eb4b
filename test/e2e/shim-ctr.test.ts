/**
 * What containerd's own client (ctr) can ask of a shim beyond what the CRI uses, runc vs zeropod
 * (see shim-helpers.ts): output to a log file (`--log-uri file://`) and the exit code of `ctr run`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { IMAGES } from '../../harness/images/index.ts';
import { differential } from './shim-helpers.ts';

const RUNTIMES = { runc: 'io.containerd.runc.v2', zeropod: 'io.containerd.zeropod.v2' } as const;

function ctr(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('ctr', ['-n', 'k8s.io', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : undefined) : 0;
      if (code === undefined) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve({ code, stdout, stderr });
    });
  });
}

differential(
  'ctr run --log-uri file://: both streams in the file, the exit code back',
  async (handler) => {
    const id = `diff-ctr-log-${handler}-${process.pid}`;
    const file = `/tmp/${id}.log`;
    rmSync(file, { force: true });
    try {
      const r = await ctr([
        'run',
        '--rm',
        '--runtime',
        RUNTIMES[handler],
        '--cgroup',
        `zeropod-ts/${id}`,
        '--log-uri',
        `file://${file}`,
        IMAGES.busybox,
        id,
        'sh',
        '-c',
        'echo to-out; echo to-err >&2; exit 4',
      ]);
      return { code: r.code, lines: readFileSync(file, 'utf8').split('\n').filter(Boolean).sort() };
    } finally {
      rmSync(file, { force: true });
      await ctr(['task', 'rm', '-f', id]).catch(() => undefined);
      await ctr(['container', 'rm', id]).catch(() => undefined);
    }
  },
  (o) => assert.deepEqual(o, { code: 4, lines: ['to-err', 'to-out'] }),
);
