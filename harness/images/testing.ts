/**
 * Test support: unpack an image tarball and run its workload the way a runtime would (entrypoint +
 * cmd, the image's Env and WorkingDir) under chroot, as PID 1 of fresh mount, network and PID
 * namespaces, then probe it from inside that network namespace. Needs root.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deadlineExceeded, internal } from '../../src/base/index.ts';
import { exec } from './exec.ts';
import type { Descriptor } from './oci.ts';

export interface ImageConfig {
  architecture: string;
  os: string;
  config: {
    Entrypoint?: string[];
    Cmd?: string[];
    Env?: string[];
    WorkingDir?: string;
    ExposedPorts?: object;
    User?: string;
  };
  rootfs: { type: string; diff_ids: string[] };
}

export interface Unpacked {
  dir: string;
  /** The OCI layout (index.json, oci-layout, blobs/). */
  layout: string;
  /** The layer, extracted. */
  root: string;
  index: { manifests: Descriptor[] };
  manifest: { config: Descriptor; layers: Descriptor[]; mediaType: string };
  config: ImageConfig;
  blob(d: Descriptor): string;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function unpack(tarball: string): Promise<Unpacked> {
  const dir = await mkdtemp(path.join(tmpdir(), 'zp-image-'));
  const layout = path.join(dir, 'layout');
  const root = path.join(dir, 'root');
  await exec('mkdir', [layout, root]);
  await exec('tar', ['-xf', tarball, '-C', layout]);
  const blob = (d: Descriptor) => path.join(layout, 'blobs', ...d.digest.split(':'));
  const json = async <T>(file: string) => JSON.parse(await readFile(file, 'utf8')) as T;
  const index = await json<Unpacked['index']>(path.join(layout, 'index.json'));
  const top = index.manifests[0];
  if (top === undefined) throw internal('index.json lists no manifest', { details: { tarball } });
  const manifest = await json<Unpacked['manifest']>(blob(top));
  const config = await json<ImageConfig>(blob(manifest.config));
  for (const layer of manifest.layers) await exec('tar', ['-xf', blob(layer), '-C', root]);
  return {
    dir,
    layout,
    root,
    index,
    manifest,
    config,
    blob,
    [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
  };
}

// $1 = new root, $2 = working dir, rest = argv. Runs as PID 1 of the new namespaces until the final exec.
const SETUP = `set -e
root=$1; wd=$2; shift 2
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=755 tmpfs "$root/dev"
for n in null zero full random urandom; do touch "$root/dev/$n"; mount --bind "/dev/$n" "$root/dev/$n"; done
mount -t tmpfs tmpfs "$root/run"
ip link set lo up
exec unshare --root="$root" --wd="$wd" -- "$@"`;

export interface Running {
  /** The unshare process (host PID namespace); its network namespace is the workload's. */
  child: ChildProcess;
  /** The workload (PID 1 inside), as a host pid; undefined if it ended before it was seen. */
  pid: number | undefined;
  /** Signals the workload (not unshare: it would not forward the signal). */
  kill(signal: NodeJS.Signals): void;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function start(u: Unpacked, opts: { env?: string[]; argv?: string[] } = {}): Promise<Running> {
  const c = u.config.config;
  const argv = opts.argv ?? [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  const env = Object.fromEntries(
    [...(c.Env ?? []), ...(opts.env ?? [])].map((kv) => kv.split(/=(.*)/s).slice(0, 2)),
  );
  const child = spawn(
    'unshare',
    [
      '-m',
      '-n',
      '-p',
      '-f',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      SETUP,
      'sh',
      u.root,
      c.WorkingDir || '/',
      ...argv,
    ],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const host = child.pid;
  if (host === undefined) throw internal('could not spawn unshare');
  const childrenFile = `/proc/${host}/task/${host}/children`;
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  const found = await waitFor(
    () => {
      const first = existsSync(childrenFile) ? readFileSync(childrenFile, 'utf8').trim().split(' ')[0] : '';
      return first ? Number(first) : ended() ? 0 : undefined;
    },
    5000,
    'the workload process',
  );
  const pid = found > 0 ? found : undefined;
  const kill = (signal: NodeJS.Signals) => {
    if (pid === undefined || ended()) return;
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  return {
    child,
    pid,
    kill,
    exited,
    output: () => out,
    async [Symbol.asyncDispose]() {
      if (ended()) return;
      kill('SIGKILL');
      await exited;
    },
  };
}

export async function waitFor<T>(check: () => T | undefined, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw deadlineExceeded(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Runs in the workload's network namespace (host node via nsenter); retries until the server answers.
const PROBE = `
const net = require('node:net');
const [port, payload, until, ms] = [Number(process.argv[1]), process.argv[2], process.argv[3], Number(process.argv[4])];
const deadline = Date.now() + ms;
const attempt = () => {
  let got = '';
  const s = net.connect(port, '127.0.0.1', () => s.write(payload));
  s.setEncoding('utf8');
  s.on('data', (d) => { got += d; if (until && got.includes(until)) s.end(); });
  s.on('end', () => { process.stdout.write(got); process.exit(0); });
  s.on('error', (e) => { if (Date.now() > deadline) { console.error(e.message); process.exit(1); } setTimeout(attempt, 50); });
};
attempt();`;

/** Sends `payload` to 127.0.0.1:port inside the workload's netns; returns the reply. */
export function probe(r: Running, port: number, payload: string, until = '', ms = 10000): Promise<string> {
  const net = `--net=/proc/${r.child.pid ?? 0}/ns/net`;
  return exec('nsenter', [
    net,
    '--',
    process.execPath,
    '-e',
    PROBE,
    String(port),
    payload,
    until,
    String(ms),
  ]);
}

export const httpGet = (r: Running, port: number, p: string) =>
  probe(r, port, `GET ${p} HTTP/1.0\r\nHost: localhost\r\n\r\n`);

/** The body of an HTTP/1.0 response. */
export const body = (response: string) => response.slice(response.indexOf('\r\n\r\n') + 4);
