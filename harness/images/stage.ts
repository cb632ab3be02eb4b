/**
 * A staging directory that becomes an image's only layer. Files are copied out of a Debian root
 * filesystem (paths of `dpkg -L`, the `ldd` closure of binaries) with their symlinks resolved inside
 * that root, so merged-/usr links such as /lib64 -> usr/lib64 are recreated in the image as links.
 */
import { constants } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { failedPrecondition, notFound } from '../../src/base/index.ts';
import { exec } from './exec.ts';

/** Parts of packages no container needs: documentation, editor and init-system integration. */
const SKIPPED = [
  '/usr/share/doc/',
  '/usr/share/man/',
  '/usr/share/lintian/',
  '/usr/share/vim/',
  '/usr/share/bash-completion/',
  '/usr/share/apport/',
  '/usr/share/initramfs-tools/',
  '/usr/lib/systemd/',
  '/etc/init.d/',
  '/etc/logrotate.d/',
  '/etc/ufw/',
  '/etc/default/',
];

const MAX_LINK_DEPTH = 16;

export class Stage {
  readonly rootfs: string;
  readonly dir: string;
  /** Staging paths already created, so shared parents and libraries are handled once. */
  readonly #made = new Set<string>(['/']);

  constructor(rootfs: string, dir: string) {
    this.rootfs = rootfs;
    this.dir = dir;
  }

  /** Copies `p` (file, directory or symlink chain) from the root filesystem; returns its real path there. */
  async add(p: string, depth = 0): Promise<string> {
    if (depth > MAX_LINK_DEPTH)
      throw failedPrecondition('too many levels of symlinks', { details: { path: p } });
    const parts = path.posix.normalize(p).split('/').filter(Boolean);
    let cur = '';
    for (const [i, part] of parts.entries()) {
      const next = `${cur}/${part}`;
      const last = i === parts.length - 1;
      const st = await lstat(this.rootfs + next).catch((err: unknown) => {
        throw notFound('path missing in the root filesystem', {
          cause: err,
          details: { path: next, rootfs: this.rootfs },
        });
      });
      if (st.isSymbolicLink()) {
        const target = await readlink(this.rootfs + next);
        if (!this.#made.has(next)) {
          await symlink(target, this.dir + next);
          this.#made.add(next);
        }
        cur = await this.add(path.posix.resolve(cur || '/', target), depth + 1);
      } else if (st.isDirectory()) {
        if (!this.#made.has(next)) {
          await mkdir(this.dir + next);
          await chmod(this.dir + next, st.mode & 0o7777);
          this.#made.add(next);
        }
        cur = next;
      } else if (last && st.isFile()) {
        if (!this.#made.has(next)) {
          await copyFile(this.rootfs + next, this.dir + next, constants.COPYFILE_FICLONE);
          await chmod(this.dir + next, st.mode & 0o7777);
          this.#made.add(next);
        }
        cur = next;
      } else {
        throw failedPrecondition('unsupported file type in the root filesystem', { details: { path: next } });
      }
    }
    return cur || '/';
  }

  /** The files of an installed package (`dpkg -L`), minus documentation and init-system files. */
  async addPackage(name: string): Promise<void> {
    const info = path.join(this.rootfs, 'var/lib/dpkg/info');
    const list = await readFile(path.join(info, `${name}.list`), 'utf8').catch(() =>
      readFile(path.join(info, `${name}:amd64.list`), 'utf8').catch((err: unknown) => {
        throw notFound('package not installed in the root filesystem', { cause: err, details: { name } });
      }),
    );
    for (const p of list.split('\n')) {
      if (p === '' || p === '/.' || SKIPPED.some((s) => p.startsWith(s) || `${p}/` === s)) continue;
      await this.add(p);
    }
  }

  /**
   * A binary plus every shared object `ldd` resolves for it (transitively) inside the root
   * filesystem. Returns the real paths of the libraries.
   */
  async addWithLibraries(binary: string): Promise<string[]> {
    await this.add(binary);
    const out = await exec('chroot', [this.rootfs, 'ldd', binary]);
    const libs: string[] = [];
    for (const line of out.split('\n')) {
      if (line.includes('not found'))
        throw notFound('shared library missing', { details: { binary, line: line.trim() } });
      const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
      if (m?.[1] !== undefined) libs.push(await this.add(m[1]));
    }
    return libs;
  }

  /** Writes a generated file, creating missing parent directories (0755). */
  async write(p: string, content: string | Buffer, mode = 0o644): Promise<void> {
    await this.mkdir(path.posix.dirname(p));
    await writeFile(this.dir + p, content);
    await chmod(this.dir + p, mode);
    this.#made.add(p);
  }

  async mkdir(p: string, mode = 0o755): Promise<void> {
    const parts = p.split('/').filter(Boolean);
    let cur = '';
    for (const part of parts) {
      cur = `${cur}/${part}`;
      if (this.#made.has(cur)) continue;
      await mkdir(this.dir + cur);
      await chmod(this.dir + cur, cur === p ? mode : 0o755);
      this.#made.add(cur);
    }
  }

  /** Creates a symlink unless something already lives at `p` (a real file wins over a busybox applet). */
  async link(p: string, target: string): Promise<void> {
    if (this.#made.has(p)) return;
    await this.mkdir(path.posix.dirname(p));
    await symlink(target, this.dir + p);
    this.#made.add(p);
  }
}

/** `Package=Version:Arch` of every installed package, sorted: part of every image's cache key. */
export async function installedVersions(rootfs: string): Promise<string[]> {
  const status = await readFile(path.join(rootfs, 'var/lib/dpkg/status'), 'utf8');
  const out: string[] = [];
  for (const para of status.split(/\n\n+/)) {
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(para)?.[1] ?? '';
    if (!field('Status').endsWith(' installed')) continue;
    out.push(`${field('Package')}=${field('Version')}:${field('Architecture')}`);
  }
  return out.sort();
}
