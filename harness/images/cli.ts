/**
 * Builds (or finds cached) test images: `npx tsx harness/images/cli.ts [--rootfs DIR] [--cache DIR] [--only a,b]`.
 * Defaults: the node environment's root filesystem if built (else the probe rootfs) and its image cache.
 */
import { parseArgs } from 'node:util';
import { describeError } from '../../src/base/index.ts';
import { paths, rootfsPath, rootfsReady } from '../env/index.ts';
import { buildImages } from './index.ts';

const { values } = parseArgs({
  options: { rootfs: { type: 'string' }, cache: { type: 'string' }, only: { type: 'string' } },
});
const rootfs = values.rootfs ?? (rootfsReady() ? rootfsPath() : '/var/cache/zeropod-ts/probe-rootfs');
const cacheDir = values.cache ?? paths.images;
try {
  const refs = await buildImages({
    rootfs,
    cacheDir,
    log: (l) => console.log(l),
    ...(values.only && { only: values.only.split(',') }),
  });
  console.table(
    refs.map((r) => ({
      name: r.name,
      MB: +(r.bytes / 1e6).toFixed(1),
      ms: r.ms,
      built: r.built,
      digest: r.digest.slice(0, 19),
      tarball: r.tarball,
    })),
  );
} catch (err) {
  console.error(`images: ${describeError(err)}`);
  process.exitCode = 1;
}
