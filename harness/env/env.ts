/**
 * The node environment: "a kind node without Docker". A Debian sid root filesystem in its own mount,
 * network and PID namespaces, running containerd with the `runc` and `zeropod` handlers and CNI
 * bridge networking. `up` is idempotent, `down` leaves nothing on the host.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { failedPrecondition, internal, unavailable } from '../../src/base/index.ts';
import { paths } from './paths.ts';
import { preflight } from './preflight.ts';
import { ensureRootfs } from './rootfs.ts';
import { run, type RunResult } from './run.ts';

export interface UpOptions {
  log?: (line: string) => void;
  /** Restart even if an environment is already running. */
  fresh?: boolean;
  /** Called once containerd answers, with the environment's init pid, to import images. */
  afterStart?: (initPid: number) => Promise<void>;
  pauseImage: string;
  /** Host directories bound into the environment's root (made before the pivot). */
  mounts?: readonly BindMount[];
  /** Runs after the state directory is wiped and before the environment starts (files for `mounts`). */
  prepare?: () => Promise<void>;
  /**
   * A containerd that has never heard of zeropod: no `zeropod` runtime in its config, no shim on PATH
   * (what the installer starts from). Its containerd-ctl.sh is at /usr/local/sbin/containerd-ctl, the
   * way a host has systemctl at a known place.
   */
  bare?: boolean;
}

export interface BindMount {
  host: string;
  inside: string;
  readonly: boolean;
}

const pidFile = () => path.join(paths.run, 'init.pid');
/** Present in a bare environment's state directory (wiped with it at the next `up`). */
const bareMarker = () => path.join(paths.state, 'bare');

/** Whether the running environment (if any) was started bare. */
export const isBare = (): boolean => existsSync(bareMarker());
const alive = (pid: number) => existsSync(`/proc/${pid}`);

/** The pid (in the host's PID namespace) of the environment's PID 1, or undefined. */
export function initPid(): number | undefined {
  if (!existsSync(pidFile())) return undefined;
  const pid = Number(readFileSync(pidFile(), 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

export function requireInitPid(): number {
  const pid = initPid();
  if (pid === undefined)
    throw unavailable('the node environment is not running: start it with `npm run env -- up`');
  return pid;
}

export async function up(options: UpOptions): Promise<number> {
  const log = options.log ?? ((l: string) => console.log(l));
  preflight();
  const running = initPid();
  if (running !== undefined && !options.fresh) return running;
  if (running !== undefined) await down({ log });

  const rootfs = await ensureRootfs(log);
  rmSync(paths.state, { recursive: true, force: true });
  mkdirSync(paths.state, { recursive: true });
  mkdirSync(paths.run, { recursive: true });
  mkdirSync(paths.logs, { recursive: true });
  mkdirSync(paths.images, { recursive: true });
  if (options.bare === true) writeFileSync(bareMarker(), '');
  await options.prepare?.();
  for (const m of options.mounts ?? []) {
    if (/\s/.test(m.host + m.inside)) throw internal(`bind mount paths must not contain spaces: ${m.host}`);
  }
  const mounts = (options.mounts ?? []).map((m) => `${m.host} ${m.inside} ${m.readonly ? 'ro' : 'rw'}`);

  const started = performance.now();
  const out = openSync(path.join(paths.logs, 'env.log'), 'a');
  const child = spawn(
    'unshare',
    [
      '--mount',
      '--net',
      '--pid',
      '--fork',
      '--propagation',
      'private',
      'bash',
      path.join(paths.project, 'harness/env/init.sh'),
    ],
    {
      detached: true,
      stdio: ['ignore', out, out],
      env: {
        ...process.env,
        ZP_ROOTFS: rootfs,
        ZP_RUN: paths.run,
        ZP_STATE: paths.state,
        ZP_LOGS: paths.logs,
        ZP_PROJECT: paths.project,
        ZP_IMAGES: paths.images,
        ZP_PAUSE_IMAGE: options.pauseImage,
        ZP_MOUNTS: mounts.join('\n'),
        ZP_BARE: options.bare === true ? '1' : '',
      },
    },
  );
  child.unref();
  const unsharePid = child.pid;
  if (unsharePid === undefined) throw internal('could not start unshare');
  const pid = await waitFor(() => forkedChild(unsharePid), 5000, 'the environment init process');
  writeFileSync(pidFile(), `${pid}\n`);
  const sock = `/proc/${pid}/root${paths.containerdSocket}`;
  await waitFor(
    () => (existsSync(sock) ? true : undefined),
    15000,
    `containerd's socket (see ${paths.logs})`,
  );
  log(`[env] containerd up in ${Math.round(performance.now() - started)} ms (init pid ${pid})`);
  await options.afterStart?.(pid);
  return pid;
}

export async function down(options: { log?: (line: string) => void } = {}): Promise<void> {
  const log = options.log ?? ((l: string) => console.log(l));
  const pid = initPid();
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    const gone = await waitFor(() => (alive(pid) ? undefined : true), 15000, 'the environment to stop').catch(
      () => undefined,
    );
    if (!gone) {
      log('[env] init did not stop in 15 s: killing it');
      process.kill(pid, 'SIGKILL');
    }
  }
  rmSync(pidFile(), { force: true });
  removeCgroups(log);
  log('[env] stopped');
}

/** Pod cgroups are made on the host's (shared) cgroup v1 hierarchies under this parent. */
export const cgroupParent = 'zeropod-ts';

function removeCgroups(log: (line: string) => void): void {
  const base = '/sys/fs/cgroup';
  if (!existsSync(base)) return;
  for (const ctrl of readdirSync(base)) {
    const dir = path.join(base, ctrl, cgroupParent);
    if (existsSync(dir)) removeTree(dir, log);
  }
}

function removeTree(dir: string, log: (line: string) => void): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) removeTree(path.join(dir, e.name), log);
  }
  try {
    rmdirSync(dir);
  } catch (err) {
    log(`[env] could not remove cgroup ${dir}: ${(err as Error).message}`);
  }
}

/** argv that runs a command inside the environment (all its namespaces and its root). */
export function execArgv(cmd: string, args: readonly string[], cwd = paths.project): string[] {
  const pid = requireInitPid();
  return [
    'nsenter',
    `--target=${pid}`,
    '--mount',
    '--net',
    '--pid',
    '--root',
    '--',
    'env',
    `--chdir=${cwd}`,
    cmd,
    ...args,
  ];
}

export function exec(
  cmd: string,
  args: readonly string[],
  options: { check?: boolean; input?: string } = {},
): Promise<RunResult> {
  const [nsenter, ...rest] = execArgv(cmd, args);
  return run(nsenter!, rest, options);
}

export function execVisible(
  cmd: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<number> {
  const [nsenter, ...rest] = execArgv(cmd, args);
  const child = spawn(nsenter!, rest, { stdio: 'inherit', ...options });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? 1));
  });
}

/** `criu check` inside the environment; its own words are the error. */
export async function criuCheck(): Promise<string> {
  const r = await exec('criu', ['check'], { check: false });
  const text = (r.stdout + r.stderr).trim();
  if (r.code !== 0 || !text.includes('Looks good')) {
    throw failedPrecondition(`criu check failed inside the node environment:\n${text}`);
  }
  return text;
}

function forkedChild(pid: number): number | undefined {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    const first = Number(kids.split(/\s+/)[0]);
    return first > 0 ? first : undefined;
  } catch {
    return undefined; // unshare has not forked yet (or already exited; waitFor times out then)
  }
}

async function waitFor<T>(probe: () => T | undefined, ms: number, what: string): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw unavailable(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
