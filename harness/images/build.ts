/**
 * Builds the test images into a cache directory, one OCI layout tarball per image:
 * `<cacheDir>/<id>-<key>.tar`, where the key hashes this builder's sources, the root filesystem's
 * installed package versions and the image's own inputs. A tarball is written as `.partial-<pid>` and
 * renamed into place, so a half-written one is never taken for a finished one.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { invalidArgument, notFound } from '../../src/base/index.ts';
import { readTarballDigest, writeImageTarball } from './oci.ts';
import { SPECS, type ImageSpec } from './specs.ts';
import { Stage, installedVersions } from './stage.ts';

export interface ImageRef {
  /** Short id: pause, busybox, nginx, redis, node-app. */
  id: string;
  /** Full reference containerd will know the image by, e.g. zeropod.local/nginx:1. */
  name: string;
  tarball: string;
  /** Digest of the image manifest (the image's target in containerd). */
  digest: string;
  /** Size of the tarball in bytes. */
  bytes: number;
  /** False when the tarball came from the cache. */
  built: boolean;
  /** Time spent on this image (building, or checking the cache). */
  ms: number;
}

export interface BuildImagesOptions {
  /** A Debian root filesystem with the workloads' packages installed (dpkg database included). */
  rootfs: string;
  cacheDir: string;
  log?: (line: string) => void;
  /** Build only these ids (default: all). */
  only?: readonly string[];
  signal?: AbortSignal;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The builder's own sources (not its tests, test support or CLI): changing any of them rebuilds every image. */
async function builderSources(): Promise<Buffer[]> {
  const skip = (n: string) => n.endsWith('.test.ts') || n === 'cli.ts' || n === 'testing.ts';
  const names = (await readdir(HERE)).filter((n) => n.endsWith('.ts') && !skip(n));
  return Promise.all(names.sort().map((n) => readFile(path.join(HERE, n))));
}

async function cacheKey(spec: ImageSpec, common: Buffer[], versions: string[]): Promise<string> {
  const hash = createHash('sha256');
  const part = (b: Buffer | string) => hash.update(`${Buffer.byteLength(b)}:`).update(b);
  part(spec.id);
  common.forEach(part);
  part(versions.join('\n'));
  for (const input of spec.inputs) part(await readFile(input));
  return hash.digest('hex').slice(0, 16);
}

export async function buildImages(options: BuildImagesOptions): Promise<ImageRef[]> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { rootfs, cacheDir } = options;
  if (!existsSync(path.join(rootfs, 'var/lib/dpkg/status'))) {
    throw notFound('root filesystem has no dpkg database', { details: { rootfs } });
  }
  const specs = options.only ? SPECS.filter((s) => options.only?.includes(s.id)) : SPECS;
  const unknown = options.only?.filter((id) => !SPECS.some((s) => s.id === id)) ?? [];
  if (unknown.length > 0)
    throw invalidArgument('unknown image ids', { details: { unknown, known: SPECS.map((s) => s.id) } });

  await mkdir(cacheDir, { recursive: true });
  const [common, versions] = await Promise.all([builderSources(), installedVersions(rootfs)]);
  const refs: ImageRef[] = [];
  for (const spec of specs) {
    options.signal?.throwIfAborted();
    const started = performance.now();
    const key = await cacheKey(spec, common, versions);
    const tarball = path.join(cacheDir, `${spec.id}-${key}.tar`);
    const cachedDigest = existsSync(tarball) ? await readTarballDigest(tarball) : undefined;
    let digest: string;
    if (cachedDigest !== undefined) {
      digest = cachedDigest;
    } else {
      log(`[images] ${spec.id}: building ${spec.name} (key ${key})`);
      digest = await buildOne(spec, rootfs, cacheDir, tarball);
      await removeStale(cacheDir, spec.id, tarball);
    }
    const ms = Math.round(performance.now() - started);
    const bytes = (await stat(tarball)).size;
    const ref: ImageRef = {
      id: spec.id,
      name: spec.name,
      tarball,
      digest,
      bytes,
      built: cachedDigest === undefined,
      ms,
    };
    log(
      `[images] ${spec.id}: ${ref.built ? 'built' : 'cached'} ${(bytes / 1e6).toFixed(1)} MB in ${ms} ms -> ${tarball}`,
    );
    refs.push(ref);
  }
  return refs;
}

async function buildOne(spec: ImageSpec, rootfs: string, cacheDir: string, tarball: string): Promise<string> {
  const work = await mkdtemp(path.join(cacheDir, `.work-${spec.id}-`));
  const partial = `${tarball}.partial-${process.pid}`;
  try {
    const stageDir = path.join(work, 'root');
    await mkdir(stageDir, { mode: 0o755 });
    await spec.fill(new Stage(rootfs, stageDir));
    const { digest } = await writeImageTarball(
      stageDir,
      path.join(work, 'layout'),
      partial,
      spec.name,
      spec.runtime,
    );
    await rename(partial, tarball);
    return digest;
  } finally {
    await rm(work, { recursive: true, force: true });
    await rm(partial, { force: true });
  }
}

/** Older tarballs of the same image (other keys) are dead weight once the new one is in place. */
async function removeStale(cacheDir: string, id: string, keep: string): Promise<void> {
  const pattern = new RegExp(`^${id.replace(/[-.]/g, '\\$&')}-[0-9a-f]{16}\\.tar$`);
  for (const name of await readdir(cacheDir)) {
    const file = path.join(cacheDir, name);
    if (pattern.test(name) && file !== keep) await rm(file, { force: true });
  }
}
