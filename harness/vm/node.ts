/**
 * The VM as a node: containerd with the `runc` and `zeropod` handlers, configured exactly as in the
 * node environment (harness/env/configure-root.sh), the test images imported, our shim run from the
 * shared project's dist/ (build it on the host first: `npm run build`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { failedPrecondition, internal, invalidArgument } from '../../src/base/index.ts';
import { ensureImages } from '../env/images.ts';
import { ensureRootfs, paths } from '../env/index.ts';
import { PAUSE_IMAGE } from '../images/index.ts';
import { vmExec, vmUp } from './vm.ts';

/**
 * `images`: ids of the test images to import (default all). Importing is slow under emulation (the
 * 136 MB node-app alone takes over a minute), so tiers name what they use; the pause image always.
 */
export async function vmNodeUp(log: (line: string) => void, images?: readonly string[]): Promise<void> {
  if (!existsSync(path.join(paths.project, 'dist/containerd-shim-zeropod-v2'))) {
    throw failedPrecondition('dist/containerd-shim-zeropod-v2 is missing: run `npm run build` first');
  }
  const refs = await ensureImages(await ensureRootfs(log), log);
  await vmUp({ log });
  const started = performance.now();
  const run = async (argv: string[]) => {
    const r = await vmExec(argv);
    if (r.code !== 0)
      throw internal(`in the VM, ${argv.join(' ')} exited with ${r.code}:\n${r.stderr || r.stdout}`);
    return r;
  };
  await run([path.join(paths.project, 'harness/vm/guest/node.sh'), PAUSE_IMAGE]);
  log(`[vm-node] containerd up in ${Math.round(performance.now() - started)} ms`);
  const t = performance.now();
  const wanted = refs.filter((r) => !images || r.id === 'pause' || images.includes(r.id));
  const unknown = (images ?? []).filter((id) => !refs.some((r) => r.id === id));
  if (unknown.length > 0) {
    throw invalidArgument(
      `images: unknown ${unknown.join(', ')}; expected some of ${refs.map((r) => r.id).join(', ')}`,
    );
  }
  for (const r of wanted) {
    await run([
      'ctr',
      '-n',
      'k8s.io',
      'images',
      'import',
      '--no-unpack',
      path.join('/images', path.basename(r.tarball)),
    ]);
  }
  log(`[vm-node] ${wanted.length} images imported in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
