/**
 * The raw baseline: the same image run by plain `runc` (no containerd, no shim) in its own network
 * namespace, checkpointed with `runc checkpoint` and brought back with `runc restore -d`, CRIU's
 * options from the environment's /etc/criu/runc.conf (network-lock skip). The bundle is the image's
 * one layer extracted from the OCI layout tarball in /images, with a config.json like `runc spec`'s
 * (same mount set) plus containerd's default capabilities, the image's command, env and cwd.
 *
 * Checkpoint images and bundles live under /var/lib/zeropod-bench: the same filesystem as the
 * shim's checkpoint images (/var/lib/zeropod-ts/images), so storage is not a difference.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createNetns, type Netns } from './netns.ts';
import { sh, shQuiet } from './sh.ts';
import { pipe } from '../../src/sys/index.ts';
import { decodeCriuStats } from '../../src/criu/index.ts';

export const BASE_DIR = '/var/lib/zeropod-bench';
const RUNC_ROOT = '/run/zeropod-bench/runc';
const CGROUP = 'zeropod-ts/bench';

/** containerd's default capability set for containers (oci.DefaultCapabilities). */
const CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** CRIU cannot dump io_uring; Node 24's libuv creates rings regardless of UV_USE_IO_URING (FACTS.md). */
export const NO_IO_URING_SECCOMP = {
  defaultAction: 'SCMP_ACT_ALLOW',
  architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  syscalls: [
    {
      names: ['io_uring_setup', 'io_uring_enter', 'io_uring_register'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: 38,
    },
  ],
};

export interface ImageConfig {
  args: string[];
  env: string[];
  cwd: string;
  layers: string[];
}

/** Reads an OCI layout tarball's config and layer digests (index.json -> manifest -> config). */
export async function readImage(tarball: string, workDir: string): Promise<ImageConfig> {
  await mkdir(workDir, { recursive: true });
  await sh('tar', ['-xf', tarball, '-C', workDir]);
  const blob = (digest: string) => path.join(workDir, 'blobs/sha256', digest.replace(/^sha256:/, ''));
  const index = JSON.parse(await readFile(path.join(workDir, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  const config = JSON.parse(await readFile(blob(manifest.config.digest), 'utf8')) as {
    config: { Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; WorkingDir?: string };
  };
  const c = config.config;
  return {
    args: [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])],
    env: c.Env ?? [],
    cwd: c.WorkingDir || '/',
    layers: manifest.layers.map((l) => blob(l.digest)),
  };
}

/** /images/<id>-<hash>.tar inside the environment. */
export function imageTarball(imageId: string): string {
  const f = readdirSync('/images').find((n) => n.startsWith(`${imageId}-`) && n.endsWith('.tar'));
  if (!f) throw new Error(`no tarball for image ${imageId} in /images`);
  return path.join('/images', f);
}

export interface RawOptions {
  /** bench id, also the runc container id: zpb-<...> */
  id: string;
  imageId: string;
  /** 1..200: the /30 of 10.99.<slot>.0 */
  slot: number;
  env?: Record<string, string>;
  seccomp?: boolean;
}

export class RawContainer {
  readonly id: string;
  readonly netns: Netns;
  readonly bundle: string;
  readonly images: string;
  readonly work: string;
  /** Our read ends of the container's stdout and stderr (drained, closed on the next run/restore). */
  #stdio: Socket[] = [];

  private constructor(id: string, netns: Netns) {
    this.id = id;
    this.netns = netns;
    this.bundle = path.join(BASE_DIR, id, 'bundle');
    this.images = path.join(BASE_DIR, id, 'checkpoint');
    this.work = path.join(BASE_DIR, id, 'work');
  }

  get ip(): string {
    return this.netns.ip;
  }

  /** Bundle + network namespace; removes what it made if a step fails. */
  static async create(o: RawOptions): Promise<RawContainer> {
    const netns = await createNetns(`zpb-${o.id.replace(/^zpb-/, '')}`, o.slot);
    const c = new RawContainer(o.id, netns);
    try {
      const image = await readImage(imageTarball(o.imageId), path.join(BASE_DIR, o.id, 'image'));
      const rootfs = path.join(c.bundle, 'rootfs');
      await mkdir(rootfs, { recursive: true });
      for (const layer of image.layers) await sh('tar', ['-xf', layer, '-C', rootfs]);
      await rm(path.join(BASE_DIR, o.id, 'image'), { recursive: true, force: true });
      const env = [
        ...image.env.filter((e) => !(e.split('=')[0]! in (o.env ?? {}))),
        ...Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`),
      ];
      await writeFile(
        path.join(c.bundle, 'config.json'),
        JSON.stringify(ociSpec(image, env, netns.path, `${CGROUP}/${o.id}`, o.seccomp ?? false), null, 1),
      );
      return c;
    } catch (err) {
      await c.remove();
      throw err;
    }
  }

  /** `runc run -d`: its stdio are pipes this process keeps open and drains (CRIU restores pipes). */
  async run(): Promise<void> {
    await this.#detached(['run', '--detach', '--bundle', this.bundle, this.id]);
  }

  /** `runc checkpoint` (the process is gone after it); returns its duration in ms. */
  async checkpoint(): Promise<number> {
    await rm(this.images, { recursive: true, force: true });
    await mkdir(this.images, { recursive: true, mode: 0o700 });
    await mkdir(this.work, { recursive: true, mode: 0o700 });
    const started = performance.now();
    await this.#runc(
      ['checkpoint', '--image-path', this.images, '--work-path', this.work, this.id],
      'dump.log',
    );
    return performance.now() - started;
  }

  /** Starts `runc restore -d`; resolves with its duration when it returns. */
  restore(): Promise<number> {
    const started = performance.now();
    return this.#detached(this.#restoreArgs(), 'restore.log').then(() => performance.now() - started);
  }

  /** `runc restore -d` of this container's checkpoint (plus `extra` flags). */
  #restoreArgs(...extra: string[]): string[] {
    return [
      'restore',
      '--detach',
      ...extra,
      '--bundle',
      this.bundle,
      '--image-path',
      this.images,
      '--work-path',
      this.work,
      this.id,
    ];
  }

  /**
   * `criu lazy-pages` (a userfaultfd page server reading the images) started, then
   * `runc restore -d --lazy-pages`: the restore returns before the memory is in. Resolves with the
   * restore's duration and the daemon's exit (the images must stay until it has served every page).
   */
  async restoreLazy(): Promise<{ restoreMs: number; daemonDone: Promise<number> }> {
    const started = performance.now();
    const socket = path.join(this.work, 'lazy-pages.socket');
    await rm(socket, { force: true });
    const daemon = spawn(
      'criu',
      ['lazy-pages', '--images-dir', this.images, '--work-dir', this.work, '--log-file', 'lazy-pages.log'],
      { stdio: 'ignore' },
    );
    const daemonDone = new Promise<number>((resolve) => {
      daemon.once('exit', (code) => resolve(code ?? 128));
      daemon.once('error', () => resolve(127));
    });
    let exited = false;
    void daemonDone.then(() => (exited = true));
    for (let i = 0; i < 2500 && !existsSync(socket); i++) {
      if (exited) throw new Error(`criu lazy-pages exited before serving${this.#criuTail('lazy-pages.log')}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    try {
      await this.#detached(this.#restoreArgs('--lazy-pages'), 'restore.log');
    } catch (err) {
      daemon.kill('SIGKILL');
      throw err;
    }
    return { restoreMs: performance.now() - started, daemonDone };
  }

  /** Removes the checkpoint images (the shim removes its images right after a restore, too). */
  async dropImages(): Promise<void> {
    await rm(this.images, { recursive: true, force: true });
  }

  /** CRIU's own time in the last dump or restore: the last timestamp of its log, in ms. */
  criuMs(action: 'dump' | 'restore'): number | undefined {
    return action === 'restore'
      ? criuRestoreStatsMs(this.work)
      : criuLogMs(path.join(this.work, `${action}.log`));
  }

  async remove(): Promise<void> {
    await shQuiet('runc', ['--root', RUNC_ROOT, 'delete', '--force', this.id]);
    this.#closeStdio();
    await this.netns.remove();
    await rm(path.join(BASE_DIR, this.id), { recursive: true, force: true });
  }

  async #runc(args: string[], criuLog?: string): Promise<void> {
    const r = await sh('runc', ['--root', RUNC_ROOT, ...args], { check: false });
    if (r.code !== 0)
      throw new Error(
        `runc ${args[0]} ${this.id} failed: ${r.stderr.trim()}${criuLog ? this.#criuTail(criuLog) : ''}`,
      );
  }

  /**
   * runc run/restore -d with real pipes (pipe2) as the container's stdio: Node's 'pipe' stdio are
   * socketpairs, which CRIU refuses as external unix sockets. runc exits once the container runs;
   * the container keeps the write ends, and we drain the read ends so it never blocks on a log line.
   */
  #detached(args: string[], criuLog?: string): Promise<void> {
    this.#closeStdio();
    const [inR, inW] = pipe();
    const [outR, outW] = pipe();
    const [errR, errW] = pipe();
    const out = new Socket({ fd: outR, readable: true, writable: false });
    const err = new Socket({ fd: errR, readable: true, writable: false });
    this.#stdio = [out, err];
    let tail = '';
    out.on('error', () => undefined).resume();
    err
      .on('error', () => undefined)
      .setEncoding('utf8')
      .on('data', (d: string) => (tail = (tail + d).slice(-4000)));
    return new Promise((resolve, reject) => {
      const child = spawn('runc', ['--root', RUNC_ROOT, ...args], { stdio: [inR, outW, errW] });
      for (const fd of [inR, inW, outW, errW]) closeSync(fd);
      child.once('error', reject);
      child.once('exit', (code) => {
        if (code === 0) resolve();
        // runc's own error goes to its stderr: our pipe; give it a moment to arrive.
        else
          setTimeout(
            () =>
              reject(
                new Error(
                  `runc ${args[0]} ${this.id} exited ${code}: ${tail.trim()}${criuLog ? this.#criuTail(criuLog) : ''}`,
                ),
              ),
            50,
          );
      });
    });
  }

  #closeStdio(): void {
    for (const s of this.#stdio) s.destroy();
    this.#stdio = [];
  }

  #criuTail(log: string): string {
    const file = path.join(this.work, log);
    if (!existsSync(file)) return '';
    return `\n${file}:\n${readFileSync(file, 'utf8').trim().split('\n').slice(-15).join('\n')}`;
  }
}

/**
 * CRIU's restore time from its stats file (stats-restore in the work dir): the same measure for any
 * log level (the shim's prepared restore logs warnings only, without timestamps), in ms.
 */
export function criuRestoreStatsMs(workDir: string): number | undefined {
  const file = path.join(workDir, 'stats-restore');
  if (!existsSync(file)) return undefined;
  const us = decodeCriuStats(readFileSync(file)).restore?.restoreTimeUs;
  return us === undefined ? undefined : us / 1000;
}

/** CRIU log lines start with "(SS.uuuuuu)" since the tool started: the last one is its run time. */
export function criuLogMs(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  const all = [...text.matchAll(/^\((\d+\.\d+)\)/gm)];
  const last = all[all.length - 1];
  return last ? Number(last[1]) * 1000 : undefined;
}

function ociSpec(
  image: ImageConfig,
  env: string[],
  netnsPath: string,
  cgroupsPath: string,
  seccomp: boolean,
) {
  return {
    ociVersion: '1.2.1',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: image.args,
      env,
      cwd: image.cwd,
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS },
      // 65536 is refused here (no CAP_SYS_RESOURCE); CRI containers inherit 20000 (FACTS.md).
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'bench',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      {
        destination: '/dev/mqueue',
        type: 'mqueue',
        source: 'mqueue',
        options: ['nosuid', 'noexec', 'nodev'],
      },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
    ],
    linux: {
      cgroupsPath,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [
        { type: 'pid' },
        { type: 'network', path: netnsPath },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
      ],
      ...(seccomp ? { seccomp: NO_IO_URING_SECCOMP } : {}),
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** Removes baseline containers, bundles and cgroups an earlier run left (ours only). */
export async function removeStaleRaw(): Promise<string[]> {
  const removed: string[] = [];
  const list = await shQuiet('runc', ['--root', RUNC_ROOT, 'list', '-q']);
  for (const id of list.stdout.split('\n').filter(Boolean)) {
    await shQuiet('runc', ['--root', RUNC_ROOT, 'delete', '--force', id]);
    removed.push(`runc ${id}`);
  }
  if (existsSync(BASE_DIR)) {
    await rm(BASE_DIR, { recursive: true, force: true });
    removed.push(BASE_DIR);
  }
  return removed;
}
