/**
 * The zeropod-manager image: Debian's Node.js from the root filesystem (with its libraries and the
 * builtins libnode loads from other packages) and the manager's bundle, dist/zeropod-manager.mjs
 * (`npm run build`). It lives in its own folder with its own cache key (the bundle, this file, the
 * root filesystem's package versions) because the bundle changes with every manager change: the
 * test images' key covers only the files directly in harness/images, so they are not rebuilt for it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { notFound } from '../../../src/base/index.ts';
import type { ImageRef } from '../build.ts';
import { readTarballDigest, writeImageTarball } from '../oci.ts';
import { Stage, installedVersions } from '../stage.ts';

export const MANAGER_IMAGE = 'zeropod.local/zeropod-manager:1';
const ID = 'zeropod-manager';
const HERE = fileURLToPath(import.meta.url);

export const managerBundle = (project: string): string => path.join(project, 'dist', 'zeropod-manager.mjs');

/** libnode names the files of builtins it loads at start (NODE_SHARED_BUILTIN_<NAME>_PATH=<file>). */
async function externalizedBuiltins(libnode: string): Promise<string[]> {
  const text = (await readFile(libnode)).toString('latin1');
  return [
    ...new Set(
      Array.from(text.matchAll(/NODE_SHARED_BUILTIN_[A-Z0-9_]+_PATH=(\/[\w./@+-]+)/g), (m) => m[1] ?? ''),
    ),
  ];
}

async function fill(stage: Stage, bundle: string): Promise<void> {
  for (const link of ['/bin', '/sbin', '/lib', '/lib64']) await stage.add(link);
  await stage.write(
    '/etc/passwd',
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  await stage.write('/etc/group', 'root:x:0:\nnogroup:x:65534:\n');
  await stage.write('/etc/hosts', '127.0.0.1\tlocalhost\n::1\tlocalhost\n');
  for (const dir of ['/dev', '/proc', '/sys', '/run', '/root', '/etc']) await stage.mkdir(dir);
  await stage.mkdir('/tmp', 0o1777);
  for (const lib of await stage.addWithLibraries('/usr/bin/node')) {
    if (!path.posix.basename(lib).startsWith('libnode.so')) continue;
    for (const file of await externalizedBuiltins(stage.rootfs + lib)) await stage.add(file);
  }
  // TLS to the API server verifies against the ServiceAccount's CA; Node's own store is built in.
  await stage.write('/app/zeropod-manager.mjs', await readFile(bundle), 0o755);
}

export interface ManagerImageOptions {
  rootfs: string;
  cacheDir: string;
  project: string;
  log: (line: string) => void;
}

/** Builds (or finds in the cache) the manager's OCI tarball; undefined when the bundle is not built. */
export async function buildManagerImage(o: ManagerImageOptions): Promise<ImageRef | undefined> {
  const bundle = managerBundle(o.project);
  if (!existsSync(bundle)) {
    o.log(`[images] ${ID}: skipped, ${bundle} is missing (npm run build)`);
    return undefined;
  }
  const started = performance.now();
  const hash = createHash('sha256');
  for (const part of [
    await readFile(HERE),
    await readFile(bundle),
    (await installedVersions(o.rootfs)).join('\n'),
  ])
    hash.update(`${Buffer.byteLength(part)}:`).update(part);
  const key = hash.digest('hex').slice(0, 16);
  await mkdir(o.cacheDir, { recursive: true });
  const tarball = path.join(o.cacheDir, `${ID}-${key}.tar`);
  let digest = existsSync(tarball) ? await readTarballDigest(tarball) : undefined;
  const built = digest === undefined;
  if (digest === undefined) {
    if (!existsSync(path.join(o.rootfs, 'usr/bin/node')))
      throw notFound('the root filesystem has no node', { details: { rootfs: o.rootfs } });
    const work = await mkdtemp(path.join(o.cacheDir, `.work-${ID}-`));
    const partial = `${tarball}.partial-${process.pid}`;
    try {
      const stageDir = path.join(work, 'root');
      await mkdir(stageDir, { mode: 0o755 });
      await fill(new Stage(o.rootfs, stageDir), bundle);
      ({ digest } = await writeImageTarball(stageDir, path.join(work, 'layout'), partial, MANAGER_IMAGE, {
        // node-fetch (under @kubernetes/client-node) trips Node 24's deprecation warnings on every start.
        entrypoint: ['/usr/bin/node', '--no-deprecation', '/app/zeropod-manager.mjs'],
        env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        workingDir: '/',
        exposedPorts: [8080],
      }));
      await rename(partial, tarball);
    } finally {
      await rm(work, { recursive: true, force: true });
      await rm(partial, { force: true });
    }
    for (const name of await readdir(o.cacheDir))
      if (new RegExp(`^${ID}-[0-9a-f]{16}\\.tar$`).test(name) && path.join(o.cacheDir, name) !== tarball)
        await rm(path.join(o.cacheDir, name), { force: true });
  }
  const bytes = (await stat(tarball)).size;
  const ms = Math.round(performance.now() - started);
  o.log(
    `[images] ${ID}: ${built ? 'built' : 'cached'} ${(bytes / 1e6).toFixed(1)} MB in ${ms} ms -> ${tarball}`,
  );
  return { id: ID, name: MANAGER_IMAGE, tarball, digest, bytes, built, ms };
}
