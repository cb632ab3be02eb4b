/**
 * The installer's image, `zeropod.local/zeropod-installer:dev` (the name config/generic gives it), built
 * like the test images: one OCI layer of files out of the node environment's Debian root filesystem
 * (node with its library closure and the builtins Debian's libnode loads from other packages, criu,
 * nft, bash + ldd), plus what is not a Debian package there: the bundle (`dist/` of this worktree) in
 * /zeropod/dist, koffi with its linux-x64 native part in /zeropod/node_modules, and patchelf.
 *
 * patchelf: the root filesystem has none, and adding it to harness/rootfs/packages.txt would rebuild
 * the root filesystem every running environment sits on. The host's (Debian bookworm's `patchelf`,
 * installed by scripts/setup.sh) is taken instead, with the libraries it names by soname taken from
 * the root filesystem (sid's glibc and libstdc++ are newer than bookworm's, so it runs there); the
 * build runs it inside the staged image to prove it.
 *
 * It lives here, not in harness/images, because every file there is part of the test images' cache
 * key: the images of environments running beside this one are not rebuilt for it. Cached under the
 * images cache as zeropod-installer-<key>.tar, keyed by this file, the root filesystem's package
 * versions, patchelf, the bundle and koffi.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { failedPrecondition, notFound } from '../../src/base/index.ts';
import { exec } from '../images/exec.ts';
import { readTarballDigest, writeImageTarball } from '../images/oci.ts';
import { Stage, installedVersions } from '../images/stage.ts';
import type { ImageRef } from '../images/index.ts';

export const INSTALLER_IMAGE = 'zeropod.local/zeropod-installer:dev';
const ID = 'zeropod-installer';
const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const KOFFI = ['koffi', '@koromix/koffi-linux-x64'];

export interface InstallerImageOptions {
  rootfs: string;
  /** The worktree whose dist/ and node_modules/ go in. */
  project: string;
  cacheDir: string;
  /** The patchelf to take (default /usr/bin/patchelf, the host's). */
  patchelf?: string;
  log: (line: string) => void;
}

/** Files under `dir`, relative, sorted; symlinks listed, not followed. */
async function walk(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(path.join(dir, rel), { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    const p = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...(await walk(dir, p)));
    else out.push(p);
  }
  return out;
}

/** Copies a host directory tree into the image at `inside` (files keep their mode, symlinks stay links). */
async function addHostTree(stage: Stage, hostDir: string, inside: string): Promise<void> {
  for (const rel of await walk(hostDir)) {
    const src = path.join(hostDir, rel);
    const st = await lstat(src);
    if (st.isSymbolicLink()) await stage.link(path.posix.join(inside, rel), await readlink(src));
    else await stage.write(path.posix.join(inside, rel), await readFile(src), st.mode & 0o777);
  }
}

/** Node as Debian builds it loads some builtins (undici, acorn) from other packages' files at start. */
async function externalizedBuiltins(libnode: string): Promise<string[]> {
  const text = (await readFile(libnode)).toString('latin1');
  const found = text.matchAll(/NODE_SHARED_BUILTIN_[A-Z0-9_]+_PATH=(\/[\w./@+-]+)/g);
  return [...new Set(Array.from(found, (m) => m[1] ?? ''))];
}

async function fill(stage: Stage, o: Required<InstallerImageOptions>): Promise<void> {
  for (const link of ['/bin', '/sbin', '/lib', '/lib64']) await stage.add(link);
  await stage.write('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
  await stage.write('/etc/group', 'root:x:0:\n');
  for (const dir of ['/dev', '/proc', '/sys', '/run', '/root', '/etc']) await stage.mkdir(dir);
  await stage.mkdir('/tmp', 0o1777);
  // busybox: a shell and the usual tools for `kubectl exec` into the pod.
  await stage.add('/usr/bin/busybox');
  const applets = await exec('chroot', [stage.rootfs, '/usr/bin/busybox', '--list']);
  for (const applet of applets.split('\n').filter(Boolean).sort())
    await stage.link(`/usr/bin/${applet}`, 'busybox');

  for (const lib of await stage.addWithLibraries('/usr/bin/node')) {
    if (!path.posix.basename(lib).startsWith('libnode.so')) continue;
    for (const file of await externalizedBuiltins(stage.rootfs + lib)) await stage.add(file);
  }
  await stage.addWithLibraries('/usr/sbin/criu');
  await stage.addWithLibraries('/usr/sbin/nft');
  // ldd is a bash script of libc-bin; the installer runs it for each binary's library closure.
  await stage.addWithLibraries('/usr/bin/bash');
  await stage.add('/usr/bin/ldd');

  await stage.write('/usr/bin/patchelf', await readFile(o.patchelf), 0o755);
  const hostLdd = await exec('ldd', [o.patchelf]);
  for (const m of hostLdd.matchAll(/^\s*(\S+\.so[.\d]*)\s+=>/gm)) {
    const soname = m[1] ?? '';
    const inRootfs = `/usr/lib/x86_64-linux-gnu/${soname}`;
    if (!existsSync(stage.rootfs + inRootfs))
      throw notFound(`patchelf needs ${soname}, which the root filesystem lacks`, {
        details: { patchelf: o.patchelf, rootfs: o.rootfs },
      });
    await stage.add(inRootfs);
  }

  await addHostTree(stage, path.join(o.project, 'dist'), '/zeropod/dist');
  for (const pkg of KOFFI)
    await addHostTree(stage, path.join(o.project, 'node_modules', pkg), `/zeropod/node_modules/${pkg}`);

  // What the installer runs, run inside the image as built: a broken closure fails here, not on a node.
  for (const argv of [
    ['/usr/bin/patchelf', '--version'],
    ['/usr/bin/ldd', '/usr/sbin/criu'],
    ['/usr/bin/node', '-e', "require('/zeropod/node_modules/koffi')"],
    ['/usr/bin/node', '/zeropod/dist/zeropod-installer.mjs', '--help'],
  ]) {
    await exec('chroot', [stage.dir, ...argv]).catch((err: unknown) => {
      throw failedPrecondition(`the installer image cannot run ${argv.join(' ')}`, { cause: err });
    });
  }
}

async function cacheKey(o: Required<InstallerImageOptions>): Promise<string> {
  const hash = createHash('sha256');
  const part = (b: Buffer | string) => hash.update(`${Buffer.byteLength(b)}:`).update(b);
  part(await readFile(fileURLToPath(import.meta.url)));
  part((await installedVersions(o.rootfs)).join('\n'));
  part(await readFile(o.patchelf));
  for (const dir of ['dist', ...KOFFI.map((p) => `node_modules/${p}`)]) {
    const root = path.join(o.project, dir);
    for (const rel of await walk(root)) {
      part(`${dir}/${rel}`);
      const st = await lstat(path.join(root, rel));
      part(
        st.isSymbolicLink()
          ? `-> ${await readlink(path.join(root, rel))}`
          : await readFile(path.join(root, rel)),
      );
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/** Builds (or finds in the cache) the installer's image tarball. */
export async function ensureInstallerImage(options: InstallerImageOptions): Promise<ImageRef> {
  const o: Required<InstallerImageOptions> = { patchelf: '/usr/bin/patchelf', ...options };
  if (!existsSync(path.join(o.project, 'dist/zeropod-installer.mjs')))
    throw failedPrecondition(`no bundle in ${o.project}/dist: run \`npm run build\` first`);
  if (!existsSync(o.patchelf))
    throw notFound(`no patchelf at ${o.patchelf}: \`apt-get install patchelf\` (scripts/setup.sh does)`);
  const started = performance.now();
  const key = await cacheKey(o);
  const tarball = path.join(o.cacheDir, `${ID}-${key}.tar`);
  let digest = existsSync(tarball) ? await readTarballDigest(tarball) : undefined;
  const built = digest === undefined;
  if (digest === undefined) {
    o.log(`[images] ${ID}: building ${INSTALLER_IMAGE} (key ${key})`);
    await mkdir(o.cacheDir, { recursive: true });
    const work = await mkdtemp(path.join(o.cacheDir, `.work-${ID}-`));
    const partial = `${tarball}.partial-${process.pid}`;
    try {
      await mkdir(path.join(work, 'root'), { mode: 0o755 });
      await fill(new Stage(o.rootfs, path.join(work, 'root')), o);
      ({ digest } = await writeImageTarball(
        path.join(work, 'root'),
        path.join(work, 'layout'),
        partial,
        INSTALLER_IMAGE,
        {
          cmd: ['node', '/zeropod/dist/zeropod-installer.mjs', '--help'],
          env: [PATH],
          workingDir: '/',
        },
      ));
      await rename(partial, tarball);
    } finally {
      await rm(work, { recursive: true, force: true });
      await rm(partial, { force: true });
    }
    // Older keys of this image are dead weight once the new one is in place.
    for (const name of await readdir(o.cacheDir)) {
      if (new RegExp(`^${ID}-[0-9a-f]{16}\\.tar$`).test(name) && name !== path.basename(tarball))
        await rm(path.join(o.cacheDir, name), { force: true });
    }
  }
  const bytes = (await stat(tarball)).size;
  const ms = Math.round(performance.now() - started);
  o.log(
    `[images] ${ID}: ${built ? 'built' : 'cached'} ${(bytes / 1e6).toFixed(1)} MB in ${ms} ms -> ${tarball}`,
  );
  return { id: ID, name: INSTALLER_IMAGE, tarball, digest, bytes, built, ms };
}
