/** Builds the test images (cached) and imports them into the environment's containerd. */
import path from 'node:path';
import { buildImages, type ImageRef } from '../images/index.ts';
import { buildManagerImage } from '../images/manager/index.ts';
import { exec } from './env.ts';
import { paths } from './paths.ts';

export async function ensureImages(rootfs: string, log: (line: string) => void): Promise<ImageRef[]> {
  const started = performance.now();
  const refs = await buildImages({ rootfs, cacheDir: paths.images, log });
  // The manager's image carries this worktree's bundle (like the shim, run from the worktree).
  const manager = await buildManagerImage({ rootfs, cacheDir: paths.images, project: paths.project, log });
  if (manager) refs.push(manager);
  const built = refs.filter((r) => r.built);
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  log(
    `[images] ${refs.length} images (${built.length} built, ${refs.length - built.length} cached) in ${((performance.now() - started) / 1000).toFixed(1)} s: ` +
      refs.map((r) => `${r.id} ${mib(r.bytes)} MiB`).join(', '),
  );
  return refs;
}

export async function importImages(refs: readonly ImageRef[], log: (line: string) => void): Promise<void> {
  const started = performance.now();
  for (const r of refs) {
    await exec('ctr', [
      '-n',
      'k8s.io',
      'images',
      'import',
      '--no-unpack',
      path.join('/images', path.basename(r.tarball)),
    ]);
  }
  log(`[images] imported into containerd in ${Math.round(performance.now() - started)} ms`);
}
